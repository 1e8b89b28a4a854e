"""The desk side of the Desk port: batch lookups and linked writes, in-process and as ``/api/sync``."""
