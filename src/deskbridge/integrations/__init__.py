"""Integration plugins: the contract, discovery, stored settings, the sync pipeline, and built-in integrations."""
