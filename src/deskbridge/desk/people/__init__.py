"""Desk domain: people."""
