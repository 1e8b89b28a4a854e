"""Fixtures for the SyncroMSP tests: a fresh desk per test (the integration's settings and links are desk-wide)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Desk, start_desk


@pytest.fixture
def fresh_desk(backend: str, database_url_factory: Any) -> Iterator[Desk]:
    """A desk of this test's own, on ``backend``."""
    yield from start_desk(database_url_factory(backend), backend)
