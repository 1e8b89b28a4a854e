"""Desk domain: tickets."""
