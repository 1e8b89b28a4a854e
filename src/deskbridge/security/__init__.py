"""Secrets at rest, password hashing and redaction."""
