"""Finding integration plugins: the ``deskbridge.integrations`` entry points, plus ones registered in code.

Loading is lazy and each plugin is isolated: one that fails to import, or does not keep the contract, is logged by
name and left out; it never takes the hub down. Tests register fakes with :func:`register` instead of mocking.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points

from deskbridge.exceptions import NotFoundError
from deskbridge.integrations.base import INTERFACE_VERSION, Integration

__all__ = ["ENTRY_POINT_GROUP", "broken", "get", "installed", "register", "unregister"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "deskbridge.integrations"

_lock = threading.Lock()
_loaded: dict[str, Integration] | None = None
_broken: dict[str, str] = {}
_registered: dict[str, Integration] = {}


def _check(plugin: object, ep_name: str) -> Integration:
    if not isinstance(plugin, Integration):
        raise TypeError(f"{type(plugin).__name__} is not a deskbridge.integrations.base.Integration")
    if plugin.interface_version != INTERFACE_VERSION:
        raise TypeError(
            f"it implements interface {plugin.interface_version}; this deskbridge needs {INTERFACE_VERSION}"
        )
    if plugin.name != ep_name:
        raise TypeError(f"it calls itself {plugin.name!r} but is registered as {ep_name!r}")
    if not plugin.entities:
        raise TypeError("it declares no entities")
    return plugin


def _load() -> dict[str, Integration]:
    global _loaded
    with _lock:
        if _loaded is None:
            found: dict[str, Integration] = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    factory = ep.load()
                    found[ep.name] = _check(factory(), ep.name)
                except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the hub down
                    _broken[ep.name] = f"{type(exc).__name__}: {exc}"
                    logger.error("plugin.broken name=%s error=%s", ep.name, _broken[ep.name])
            _loaded = found
        return _loaded


def installed() -> dict[str, Integration]:
    """Every working integration by name: the entry points, then those registered in code."""
    return {**_load(), **_registered}


def broken() -> dict[str, str]:
    """Plugins that failed to load, with the reason."""
    _load()
    return dict(_broken)


def get(name: str) -> Integration:
    """Return the integration called ``name`` or raise :class:`NotFoundError` listing the installed ones."""
    plugins = installed()
    if name not in plugins:
        known = ", ".join(sorted(plugins)) or "none"
        why = f" (it failed to load: {_broken[name]})" if name in _broken else ""
        raise NotFoundError(f"no integration is called {name!r}{why}; installed: {known}")
    return plugins[name]


def register(plugin: Integration) -> None:
    """Install ``plugin`` in this process (for tests and embedding)."""
    _registered[plugin.name] = _check(plugin, plugin.name)


def unregister(name: str) -> None:
    """Remove a plugin installed with :func:`register`."""
    _registered.pop(name, None)
