"""Schemathesis against /openapi.json on a real server: no generated input may produce a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import Desk, start_desk

MAX_EXAMPLES = 25


@pytest.fixture
def fuzz_desk(backend: str, database_url_factory: Any) -> Iterator[Desk]:
    """A desk of its own: the fuzzer deletes and changes records at random."""
    yield from start_desk(database_url_factory(backend), backend)


def test_no_input_causes_a_server_error(fuzz_desk: Desk) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_desk.base_url}/openapi.json")
    headers = {"Authorization": fuzz_desk.admin.headers["Authorization"]}
    # Give the fuzzer some records to hit with small ids.
    for path, body in [("/api/customers", {"name": "Fuzz"}), ("/api/asset-types", {"name": "FuzzType"})]:
        fuzz_desk.admin.post(path, json=body).raise_for_status()
    failures: list[str] = []
    statuses: set[int] = set()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=fuzz_desk.base_url, headers=headers)
            statuses.add(response.status_code // 100)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r:.300} -> {response.status_code}")

        check()
    assert operations >= 60
    assert {2, 4} <= statuses, statuses
    assert not failures, "\n".join(failures[:20])
