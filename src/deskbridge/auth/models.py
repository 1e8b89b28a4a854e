"""API applications: client credentials that log in as an agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskbridge.db import Base, UTCDateTime
from deskbridge.desk.mixins import RecordMixin

__all__ = ["ApiApplication", "UsedAssertion"]


class ApiApplication(RecordMixin, Base):
    """A client id and secret (stored only as an argon2 hash) that log in as an agent.

    ``secret_version`` grows each time the secret is regenerated; tokens carry it, so a new secret ends the old
    secret's tokens at once.

    An application may also hold a key pair the desk made (an *automation identity*, used by the ``desk``
    authorization of custom integrations): the token endpoint accepts JWT assertions signed with its private key
    (kept sealed) and checked with its public key.
    """

    __tablename__ = "api_application"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    secret_version: Mapped[int] = mapped_column(default=0)
    secret_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    is_integrator: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(64))
    private_key: Mapped[str | None] = mapped_column(Text)
    """The private key (PKCS#8 PEM) sealed for ``application:<id>:key``; never returned."""
    key_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedAssertion(Base):
    """The ``jti`` of every JWT assertion the token endpoint accepted, until it expires: a replay is refused."""

    __tablename__ = "used_assertion"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
