"""Imports every table so that ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from deskbridge.auth.models import ApiApplication, UsedAssertion
from deskbridge.custom.models import (
    Certificate,
    CustomCall,
    CustomIntegration,
    CustomMethod,
    CustomOAuthState,
    CustomToken,
    CustomTokenLock,
)
from deskbridge.db import Base
from deskbridge.desk.assets.models import Asset, AssetField, AssetGroup, AssetType, CustomField
from deskbridge.desk.links.models import ExternalLink
from deskbridge.desk.organisations.models import Customer, Site, TopLevel
from deskbridge.desk.people.models import Agent, EndUser
from deskbridge.desk.tickets.models import Ticket, TicketType
from deskbridge.integration_settings.models import IntegrationConfig, IntegrationRow
from deskbridge.runs.models import EntityState, Run, SyncLease
from deskbridge.webhooks.models import InboxEvent, OutboxDelivery

__all__ = [
    "Agent",
    "ApiApplication",
    "Asset",
    "AssetField",
    "AssetGroup",
    "AssetType",
    "Base",
    "Certificate",
    "CustomCall",
    "CustomField",
    "CustomIntegration",
    "CustomMethod",
    "CustomOAuthState",
    "CustomToken",
    "CustomTokenLock",
    "Customer",
    "EndUser",
    "EntityState",
    "ExternalLink",
    "InboxEvent",
    "IntegrationConfig",
    "IntegrationRow",
    "OutboxDelivery",
    "Run",
    "Site",
    "SyncLease",
    "Ticket",
    "TicketType",
    "TopLevel",
    "UsedAssertion",
]
