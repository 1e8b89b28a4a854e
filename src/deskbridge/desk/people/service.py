"""Rules for end users and agents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.auth.models import ApiApplication
from deskbridge.desk.assets.models import Asset
from deskbridge.desk.organisations.models import Site
from deskbridge.desk.people import schemas
from deskbridge.desk.people.models import Agent, EndUser
from deskbridge.desk.resource import Dependent, Resource, WriteItem, _Errors
from deskbridge.desk.tickets.models import Ticket

__all__ = ["AgentResource", "UserResource", "site_owners"]


def site_owners(session: Session, site_ids: set[int]) -> dict[int, int]:
    """Return ``{site id: customer id}`` for the given sites."""
    if not site_ids:
        return {}
    return dict(session.execute(select(Site.id, Site.customer_id).where(Site.id.in_(site_ids))).all())


class UserResource(Resource[EndUser]):
    """End users; their customer is the customer of their site."""

    name = "users"
    label = "user"
    model = EndUser
    create_schema = schemas.UserCreate
    update_schema = schemas.UserUpdate
    read_schema = schemas.UserRead
    filter_schema = schemas.UserQuery
    search_columns = ("name", "email")
    filter_columns = ("customer_id", "site_id", "active")
    references = {"site_id": (Site, "site")}
    dependents = (Dependent(Asset.user_id, "assets"), Dependent(Ticket.user_id, "tickets"))

    def prepare(self, session: Session, items: list[WriteItem[EndUser]], errors: _Errors) -> None:
        """Derive the customer from the site."""
        owners = site_owners(session, {item.data["site_id"] for item in items if item.data.get("site_id")})
        for item in items:
            if "site_id" in item.data:
                if item.data["site_id"] is None:
                    errors.add(item.loc("site_id"), "a user must belong to a site")
                else:
                    item.data["customer_id"] = owners[item.data["site_id"]]


class AgentResource(Resource[Agent]):
    """Agents; only admins may see or change them."""

    name = "agents"
    label = "agent"
    model = Agent
    create_schema = schemas.AgentCreate
    update_schema = schemas.AgentUpdate
    read_schema = schemas.AgentRead
    filter_schema = schemas.AgentQuery
    filter_columns = ("active", "is_admin")
    admin_only = True
    unique = (("name",), ("email",))
    dependents = (Dependent(ApiApplication.agent_id, "API applications"),)
