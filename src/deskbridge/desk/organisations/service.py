"""Rules for top levels, customers and sites."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from deskbridge.desk import bulk
from deskbridge.desk.assets.models import Asset
from deskbridge.desk.organisations import schemas
from deskbridge.desk.organisations.models import Customer, Site, TopLevel
from deskbridge.desk.people.models import EndUser
from deskbridge.desk.resource import Dependent, Resource, WriteItem, _Errors
from deskbridge.desk.tickets.models import Ticket
from deskbridge.exceptions import ConflictError

__all__ = ["CustomerResource", "SiteResource", "TopLevelResource"]


class TopLevelResource(Resource[TopLevel]):
    """Top levels."""

    name = "top-levels"
    label = "top level"
    model = TopLevel
    create_schema = schemas.TopLevelCreate
    update_schema = schemas.TopLevelUpdate
    read_schema = schemas.TopLevelRead
    filter_schema = schemas.NamedQuery
    unique = (("name",),)
    dependents = (Dependent(Customer.top_level_id, "customers"),)


class CustomerResource(Resource[Customer]):
    """Customers; each is created with a default site."""

    name = "customers"
    label = "customer"
    model = Customer
    create_schema = schemas.CustomerCreate
    update_schema = schemas.CustomerUpdate
    read_schema = schemas.CustomerRead
    filter_schema = schemas.CustomerQuery
    filter_columns = ("top_level_id", "active")
    references = {"top_level_id": (TopLevel, "top level"), "default_site_id": (Site, "site")}
    dependents = (Dependent(Ticket.customer_id, "tickets"),)

    def prepare(self, session: Session, items: list[WriteItem[Customer]], errors: _Errors) -> None:
        """Keep the default site name aside; check a new default site belongs to the customer."""
        site_ids = {item.data["default_site_id"] for item in items if item.data.get("default_site_id")}
        owners: dict[int, int] = dict(
            session.execute(select(Site.id, Site.customer_id).where(Site.id.in_(site_ids))).all()
        )
        for item in items:
            if item.obj is None:
                item.extra["site_name"] = item.data.pop("default_site_name", "Main")
            site_id = item.data.get("default_site_id")
            if site_id is not None and item.obj is not None and owners.get(site_id) != item.obj.id:
                errors.add(item.loc("default_site_id"), f"site {site_id} is not a site of customer {item.obj.id}")
            if "default_site_id" in item.data and site_id is None:
                errors.add(item.loc("default_site_id"), "a customer always has a default site")

    def after_flush(self, session: Session, items: list[WriteItem[Customer]]) -> None:
        """Create the default site of each new customer."""
        new = [item for item in items if item.created]
        if not new:
            return
        site_ids = bulk.insert_rows(
            session,
            bulk.table(Site),
            [{"customer_id": item.record_id, "name": item.extra.get("site_name", "Main")} for item in new],
        )
        customers = bulk.table(Customer)
        session.execute(
            update(customers).where(customers.c.id == bindparam("customer")).values(default_site_id=bindparam("site")),
            [{"customer": item.record_id, "site": site_id} for item, site_id in zip(new, site_ids, strict=True)],
        )

    def before_delete(self, session: Session, obj: Customer) -> None:
        """Delete the customer's sites with it; they refuse if anything still uses them."""
        session.execute(update(Customer).where(Customer.id == obj.id).values(default_site_id=None))
        for site in session.scalars(select(Site).where(Site.customer_id == obj.id)).all():
            SiteResource().delete(session, id=site.id, with_customer=True)


class SiteResource(Resource[Site]):
    """Sites of customers."""

    name = "sites"
    label = "site"
    model = Site
    create_schema = schemas.SiteCreate
    update_schema = schemas.SiteUpdate
    read_schema = schemas.SiteRead
    filter_schema = schemas.SiteQuery
    filter_columns = ("customer_id", "active")
    references = {"customer_id": (Customer, "customer")}
    unique = (("customer_id", "name"),)
    dependents = (
        Dependent(EndUser.site_id, "users"),
        Dependent(Asset.site_id, "assets"),
        Dependent(Ticket.site_id, "tickets"),
    )

    def delete(self, session: Session, *, id: int, with_customer: bool = False) -> None:
        """Delete a site; a customer's default site goes only with its customer."""
        if not with_customer:
            owner = session.scalar(select(Customer.id).where(Customer.default_site_id == id))
            if owner is not None:
                raise ConflictError(
                    f"site {id} is the default site of customer {owner}; make another site the default first"
                )
        super().delete(session, id=id)
