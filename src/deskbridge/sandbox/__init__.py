"""Faithful emulators of third-party APIs, for the demo, the tests and the benchmarks.

Names are imported lazily, so ``deskbridge --help`` does not load Starlette and uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deskbridge.sandbox.syncro import DEFAULT_API_KEY, Faults, RateLimit, SyncroSandbox, SyncroStore

__all__ = ["DEFAULT_API_KEY", "Faults", "RateLimit", "SyncroSandbox", "SyncroStore"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("deskbridge.sandbox.syncro"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
