"""Request and response bodies for end users and agents."""

from __future__ import annotations

from deskbridge.desk.organisations.schemas import NamedQuery
from deskbridge.desk.types import Email, Id, Name, RecordRead

__all__ = [
    "AgentCreate",
    "AgentQuery",
    "AgentRead",
    "AgentUpdate",
    "UserCreate",
    "UserQuery",
    "UserRead",
    "UserUpdate",
]

from deskbridge.desk.types import WriteModel


class UserCreate(WriteModel):
    """A new end user at a site (the customer follows from the site)."""

    name: Name
    email: Email | None = None
    site_id: Id
    active: bool = True


class UserUpdate(WriteModel):
    """Changes to an end user."""

    name: Name | None = None
    email: Email | None = None
    site_id: Id | None = None
    active: bool | None = None


class UserRead(RecordRead):
    """An end user."""

    name: str
    email: str | None
    site_id: int
    customer_id: int
    active: bool


class UserQuery(NamedQuery):
    """End user listing filters (`search` looks in name and email)."""

    customer_id: Id | None = None
    site_id: Id | None = None
    active: bool | None = None


class AgentCreate(WriteModel):
    """A new agent."""

    name: Name
    email: Email | None = None
    is_api_only: bool = False
    is_admin: bool = False
    active: bool = True


class AgentUpdate(WriteModel):
    """Changes to an agent."""

    name: Name | None = None
    email: Email | None = None
    is_api_only: bool | None = None
    is_admin: bool | None = None
    active: bool | None = None


class AgentRead(RecordRead):
    """An agent."""

    name: str
    email: str | None
    is_api_only: bool
    is_admin: bool
    active: bool


class AgentQuery(NamedQuery):
    """Agent listing filters."""

    active: bool | None = None
    is_admin: bool | None = None
