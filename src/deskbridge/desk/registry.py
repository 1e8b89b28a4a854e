"""Every desk resource, in the order the API documents them."""

from __future__ import annotations

from typing import Any

from deskbridge.desk.assets.service import (
    AssetFieldResource,
    AssetGroupResource,
    AssetResource,
    AssetTypeResource,
    CustomFieldResource,
)
from deskbridge.desk.organisations.service import CustomerResource, SiteResource, TopLevelResource
from deskbridge.desk.people.service import AgentResource, UserResource
from deskbridge.desk.resource import Resource
from deskbridge.desk.tickets.service import TicketResource, TicketTypeResource

__all__ = ["RESOURCES", "resource"]

RESOURCES: tuple[Resource[Any], ...] = (
    TopLevelResource(),
    CustomerResource(),
    SiteResource(),
    UserResource(),
    AgentResource(),
    AssetGroupResource(),
    AssetTypeResource(),
    AssetFieldResource(),
    CustomFieldResource(),
    AssetResource(),
    TicketTypeResource(),
    TicketResource(),
)
_BY_NAME = {r.name: r for r in RESOURCES}


def resource(name: str) -> Resource[Any]:
    """Return the resource served at ``/api/<name>``."""
    return _BY_NAME[name]
