"""Desk domain: links."""
