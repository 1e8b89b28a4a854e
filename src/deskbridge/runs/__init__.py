"""Runs of integration entities, their leases, and Last Sync / Last Error."""
