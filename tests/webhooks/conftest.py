"""One webhook desk per backend for the module, SyncroMSP configured (no sandbox needed: nothing calls it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.webhooks.harness import HookDesk, start_hook_desk

SYNCRO = {"url": "http://127.0.0.1:9", "api_key": "T-not-used-by-these-tests"}


@pytest.fixture(scope="module")
def hook_desk(backend: str, database_url_factory: Any) -> Iterator[HookDesk]:
    for desk in start_hook_desk(database_url_factory(backend), backend):
        desk.put_syncro(**SYNCRO, alerting={"enabled": True})
        yield desk


@pytest.fixture
def hd(hook_desk: HookDesk) -> HookDesk:
    """The module's desk with alerting on and no authentication."""
    hook_desk.put_syncro(**SYNCRO, alerting={"enabled": True, "authentication": "none"})
    return hook_desk
