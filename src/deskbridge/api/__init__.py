"""Shared pieces of the REST API: dependencies, responses and error handling."""
