"""Request and response bodies for top levels, customers and sites."""

from __future__ import annotations

from pydantic import Field

from deskbridge.desk.types import Id, ListQuery, LongText, Name, RecordRead, ShortText, WriteModel

__all__ = [
    "CustomerCreate",
    "CustomerQuery",
    "CustomerRead",
    "CustomerUpdate",
    "NamedQuery",
    "SiteCreate",
    "SiteQuery",
    "SiteRead",
    "SiteUpdate",
    "TopLevelCreate",
    "TopLevelRead",
    "TopLevelUpdate",
]


class NamedQuery(ListQuery):
    """Listing filters for records with a name."""

    search: ShortText | None = Field(None, description="Case-insensitive part of the name.")


class TopLevelCreate(WriteModel):
    """A new top level."""

    name: Name


class TopLevelUpdate(WriteModel):
    """Changes to a top level."""

    name: Name | None = None


class TopLevelRead(RecordRead):
    """A top level."""

    name: str


class CustomerCreate(WriteModel):
    """A new customer; a default site named ``default_site_name`` is created with it."""

    name: Name
    top_level_id: Id | None = None
    active: bool = True
    address: LongText | None = None
    default_site_name: Name = Field("Main", description="Name of the site created with the customer.")


class CustomerUpdate(WriteModel):
    """Changes to a customer."""

    name: Name | None = None
    top_level_id: Id | None = None
    active: bool | None = None
    address: LongText | None = None
    default_site_id: Id | None = Field(None, description="One of this customer's sites.")


class CustomerRead(RecordRead):
    """A customer."""

    name: str
    top_level_id: int | None
    active: bool
    address: str | None
    default_site_id: int | None


class CustomerQuery(NamedQuery):
    """Customer listing filters."""

    top_level_id: Id | None = None
    active: bool | None = None


class SiteCreate(WriteModel):
    """A new site of a customer."""

    customer_id: Id
    name: Name
    address: LongText | None = None
    active: bool = True


class SiteUpdate(WriteModel):
    """Changes to a site (it stays with its customer)."""

    name: Name | None = None
    address: LongText | None = None
    active: bool | None = None


class SiteRead(RecordRead):
    """A site."""

    customer_id: int
    name: str
    address: str | None
    active: bool


class SiteQuery(NamedQuery):
    """Site listing filters."""

    customer_id: Id | None = None
    active: bool | None = None
