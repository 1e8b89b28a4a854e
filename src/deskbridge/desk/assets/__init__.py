"""Desk domain: assets."""
