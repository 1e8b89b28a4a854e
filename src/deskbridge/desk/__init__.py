"""The desk: its records, their services and REST routers."""
