"""Agents' credentials: API applications, the token endpoint, and the integrator module."""
