"""deskbridge: an open, self-hostable integration hub for IT service desks."""

from importlib import metadata

try:
    __version__ = metadata.version("deskbridge")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"

API_VERSION = 1

__all__ = ["API_VERSION", "__version__"]
