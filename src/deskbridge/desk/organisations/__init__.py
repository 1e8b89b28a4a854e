"""Desk domain: organisations."""
