"""Rules for ticket types and tickets."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.db import utcnow
from deskbridge.desk.assets.models import Asset
from deskbridge.desk.organisations.models import Customer, Site
from deskbridge.desk.organisations.schemas import NamedQuery
from deskbridge.desk.people.models import EndUser
from deskbridge.desk.resource import Dependent, Resource, WriteItem, _Errors
from deskbridge.desk.tickets import events, schemas
from deskbridge.desk.tickets.models import Ticket, TicketStatus, TicketType

__all__ = ["TicketResource", "TicketTypeResource"]

_STATUS_CHANGE = "status_change"


class TicketTypeResource(Resource[TicketType]):
    """Ticket types."""

    name = "ticket-types"
    label = "ticket type"
    model = TicketType
    create_schema = schemas.TicketTypeCreate
    update_schema = schemas.TicketTypeUpdate
    read_schema = schemas.TicketTypeRead
    filter_schema = NamedQuery
    unique = (("name",),)
    dependents = (Dependent(Ticket.ticket_type_id, "tickets"),)


class TicketResource(Resource[Ticket]):
    """Tickets: placement is derived and checked; status changes stamp the close time."""

    name = "tickets"
    label = "ticket"
    model = Ticket
    create_schema = schemas.TicketCreate
    update_schema = schemas.TicketUpdate
    read_schema = schemas.TicketRead
    filter_schema = schemas.TicketQuery
    search_columns = ("summary",)
    filter_columns = ("status", "ticket_type_id", "customer_id", "site_id", "user_id", "asset_id")
    references: ClassVar[dict[str, tuple[type[Any], str]]] = {
        "ticket_type_id": (TicketType, "ticket type"),
        "user_id": (EndUser, "user"),
        "customer_id": (Customer, "customer"),
        "site_id": (Site, "site"),
        "asset_id": (Asset, "asset"),
    }

    def prepare(self, session: Session, items: list[WriteItem[Ticket]], errors: _Errors) -> None:
        """Fill site and customer from the asset, site or user, refuse contradictions, stamp status changes."""
        placement = _Placement(session, items)
        now = utcnow()
        for item in items:
            if any(k in item.data for k in ("asset_id", "user_id", "site_id", "customer_id")):
                placement.resolve(item, errors)
            status = item.data.get("status")
            if "status" in item.data and status is None:
                errors.add(item.loc("status"), "must be open or closed")
            elif status is not None and (item.obj is None or item.obj.status != status):
                item.data["closed_at"] = now if status == TicketStatus.CLOSED else None
                if item.obj is not None:
                    item.extra[_STATUS_CHANGE] = (TicketStatus(item.obj.status), TicketStatus(status))

    def after_flush(self, session: Session, items: list[WriteItem[Ticket]]) -> None:
        """Publish the status changes of existing tickets (see :mod:`deskbridge.desk.tickets.events`)."""
        origin = session.info.get(events.ORIGIN)
        changes = []
        for item in items:
            if _STATUS_CHANGE in item.extra:
                old, new = item.extra[_STATUS_CHANGE]
                changes.append(events.StatusChange(item.record_id, old, new, origin=origin))
        events.publish(session, changes)


class _Placement:
    """Where assets, users and sites named in a batch of tickets are."""

    def __init__(self, session: Session, items: list[WriteItem[Ticket]]) -> None:
        def ids(key: str) -> set[int]:
            return {v for item in items if (v := item.value(key)) is not None}

        self.assets = {
            r.id: (r.site_id, r.customer_id)
            for r in session.execute(
                select(Asset.id, Asset.site_id, Asset.customer_id).where(Asset.id.in_(ids("asset_id")))
            )
        }
        self.users = {
            r.id: (r.site_id, r.customer_id)
            for r in session.execute(
                select(EndUser.id, EndUser.site_id, EndUser.customer_id).where(EndUser.id.in_(ids("user_id")))
            )
        }
        self.sites = dict(session.execute(select(Site.id, Site.customer_id).where(Site.id.in_(ids("site_id")))).all())
        for site_id, customer_id in [*self.assets.values(), *self.users.values()]:
            self.sites[site_id] = customer_id

    def resolve(self, item: WriteItem[Ticket], errors: _Errors) -> None:
        """Set site and customer: given values win, else the asset's, else the user's; they must agree."""
        data = item.data
        site_id = item.value("site_id")
        if "site_id" not in data:
            if data.get("asset_id") in self.assets:
                site_id = self.assets[data["asset_id"]][0]
            elif data.get("user_id") in self.users and site_id is None:
                site_id = self.users[data["user_id"]][0]
        owner = self.sites.get(site_id) if site_id is not None else None
        customer_id = data["customer_id"] if "customer_id" in data else (owner or item.value("customer_id"))
        if owner is not None and customer_id is not None and owner != customer_id:
            errors.add(item.loc("site_id"), f"site {site_id} belongs to customer {owner}, not {customer_id}")
            return
        data["site_id"] = site_id
        data["customer_id"] = customer_id
