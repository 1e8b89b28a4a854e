"""The tables of custom integrations: certificates, integrations, methods, tokens, OAuth states and the call log.

Definitions are stored as JSON in the shape the API shows them (secret fields replaced by ``<field>_set`` flags);
the secret values themselves are sealed together, per row, with :class:`~deskbridge.security.secretbox.SecretBox`
(see :mod:`deskbridge.custom.secrets`). ``certificate_ids`` lists the certificates a definition uses, so that a
certificate in use is not deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime, utcnow
from deskbridge.desk.mixins import RecordMixin

__all__ = [
    "Certificate",
    "CustomCall",
    "CustomIntegration",
    "CustomMethod",
    "CustomOAuthState",
    "CustomToken",
    "CustomTokenLock",
]


class Certificate(RecordMixin, Base):
    """An uploaded certificate (chain in PEM) and, sealed, its private key."""

    __tablename__ = "certificate"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    thumbprint: Mapped[str] = mapped_column(String(40), index=True)
    thumbprint_sha256: Mapped[str] = mapped_column(String(64))
    serial_number: Mapped[str] = mapped_column(String(100))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    cert_pem: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    """The private key as PKCS#8 PEM, sealed for ``certificate:<id>:key``; never returned."""


class CustomIntegration(RecordMixin, Base):
    """A custom integration: its definition (without secrets) and its sealed secrets."""

    __tablename__ = "custom_integration"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Dotted paths of every secret field of the definition, set or not."""
    secrets: Mapped[str | None] = mapped_column(Text)
    """The set secret values as one sealed JSON object ``{dotted path: value}``."""
    certificate_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class CustomMethod(RecordMixin, Base):
    """A method of a custom integration (one HTTP request, with variables and output variables)."""

    __tablename__ = "custom_method"
    __table_args__ = (UniqueConstraint("integration_id", "name"),)

    integration_id: Mapped[int] = mapped_column(ForeignKey("custom_integration.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    secrets: Mapped[str | None] = mapped_column(Text)
    certificate_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class CustomToken(Base):
    """A token of one credential (integration, instance), sealed; kept so rotated refresh tokens survive restarts."""

    __tablename__ = "custom_token"

    credential_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("custom_integration.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CustomTokenLock(Base):
    """Who is asking for a new token of a credential, until when: token requests are single-flight across processes."""

    __tablename__ = "custom_token_lock"

    credential_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomOAuthState(Base):
    """An authorization code flow waiting for the browser to come back: its one-time ``state``, by hash.

    Kept in the database so that the redirect may reach another worker or a restarted desk; taken once (deleted
    by whoever reads it first) and refused after ``expires_at``.
    """

    __tablename__ = "custom_oauth_state"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the ``state``: the value itself is never stored."""
    integration_id: Mapped[int] = mapped_column(ForeignKey("custom_integration.id", ondelete="CASCADE"), index=True)
    method_id: Mapped[int | None] = mapped_column(ForeignKey("custom_method.id", ondelete="CASCADE"), index=True)
    """The method whose own authorization is being authorized; ``None``: the integration's."""
    credential_key: Mapped[str] = mapped_column(String(255))
    redirect_uri: Mapped[str] = mapped_column(Text)
    """The redirect URI of the authorization request; the code exchange must send the same (RFC 6749 §4.1.3)."""
    sealed: Mapped[str | None] = mapped_column(Text)
    """The PKCE ``code_verifier``, sealed for ``custom-oauth-state:<state_hash>`` (``None`` without PKCE)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CustomCall(Base):
    """One call of a method, redacted, kept for the retention period."""

    __tablename__ = "custom_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("custom_integration.id", ondelete="CASCADE"), index=True)
    method_id: Mapped[int | None] = mapped_column(ForeignKey("custom_method.id", ondelete="SET NULL"), index=True)
    origin: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    verb: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
