"""deskbridge: an open, self-hostable integration hub for IT service desks."""

# The one place the version is written: pyproject.toml reads it from here (setuptools ``attr``), so the CLI and the
# integrator need not import ``importlib.metadata`` (some 40 ms of every start) to know it.
__version__ = "0.1.0"

API_VERSION = 1

__all__ = ["API_VERSION", "__version__"]
