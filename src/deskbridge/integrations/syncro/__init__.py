"""SyncroMSP: customers and assets (and, later, alerts) from the RMM into the desk."""

from __future__ import annotations

from deskbridge.integrations.syncro.plugin import Syncro

__all__ = ["Syncro"]
