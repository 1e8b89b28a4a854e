"""Request and response bodies of API applications and the integrator module."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.desk.types import Id, Name, WriteModel

__all__ = [
    "ApplicationCreate",
    "ApplicationRead",
    "ApplicationSecret",
    "ApplicationUpdate",
    "IntegratorRead",
    "IntegratorUpdate",
    "TokenResponse",
]


class ApplicationCreate(WriteModel):
    """A new API application logging in as an agent; its secret is returned once."""

    name: Name
    agent_id: Id


class ApplicationUpdate(WriteModel):
    """Changes to an API application."""

    name: Name | None = None
    agent_id: Id | None = None
    active: bool | None = None


class ApplicationRead(BaseModel):
    """An API application (its secret is never shown again)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    client_id: str
    agent_id: int
    is_integrator: bool
    active: bool
    secret_set_at: datetime | None
    created_at: datetime
    key_id: str | None = Field(None, description="The id of the key pair the desk made (automation identity), if any.")
    public_key_pem: str | None = None
    key_created_at: datetime | None = None


class ApplicationSecret(BaseModel):
    """Client credentials, shown this once."""

    client_id: str
    client_secret: str


class IntegratorRead(BaseModel):
    """What the integrator needs to connect (seed 002, "Setup")."""

    api_url: str
    auth_url: str
    tenant: str | None
    client_id: str | None
    login_as_agent_id: int | None
    secret_set_at: datetime | None
    enabled_integrations: list[str] = Field(default_factory=list)


class IntegratorUpdate(WriteModel):
    """The agent the integrator logs in as (an active admin)."""

    login_as_agent_id: Id


class TokenResponse(BaseModel):
    """A successful token answer (RFC 6749 §5.1)."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret
    expires_in: int
    scope: str = "all"
