"""Inbound webhooks (notify endpoint, inbox, processor) and the outbox of effects owed to third parties."""
