"""The Desk port (what integrations may do to the desk) and its value types; adapters in ``port.db``/``port.api``."""

from deskbridge.port.base import Applied, Change, Counts, Desk, IntegrationState, RunTicket

__all__ = ["Applied", "Change", "Counts", "Desk", "IntegrationState", "RunTicket"]
