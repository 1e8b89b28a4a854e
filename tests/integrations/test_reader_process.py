"""The integrator's source reader child: batches, logs, errors, partial listings, early stops and its lifetime."""

from __future__ import annotations

import logging
import os
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest
from pydantic import BaseModel

from deskbridge.exceptions import ConfigurationError, FatalSyncError
from deskbridge.integrations.base import (
    Draft,
    EntitySpec,
    Integration,
    RecordFailure,
    SourceRecord,
    SyncContext,
)
from deskbridge.integrations.reader import ReaderProcess
from deskbridge.integrations.syncro.plugin import Syncro
from deskbridge.integrations.syncro.settings import SyncroSettings
from deskbridge.integrator.logs import log_context
from deskbridge.sandbox.syncro import SyncroSandbox
from tests.processes import alive, parent_and_child, sigkill_and_check_child_ends

CANARY = "T-reader-canary-5c1f0e9b77"


class _Nothing(BaseModel):
    pass


class Partial(Integration):
    """Yields three records and says the listing was not complete (importable by name, so it runs in the child)."""

    name: ClassVar[str] = "partial_for_tests"
    title: ClassVar[str] = "Partial"
    entities: ClassVar[tuple[EntitySpec, ...]] = (EntitySpec("things", "Things", "customers"),)
    settings_model: ClassVar[type[BaseModel]] = _Nothing
    extract_ahead: ClassVar[bool] = True

    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        logging.getLogger("tests.partial").warning("partial.listing pid=%d", os.getpid())
        for i in range(3):
            yield SourceRecord(str(i), {"id": i})
        ctx.complete = False

    def transform(self, *, ctx: SyncContext, entity: str, batch: Sequence[SourceRecord]) -> list[Draft | RecordFailure]:
        return []


class Desky(Partial):
    """Wrongly says its extract does not use the desk."""

    def extract(self, *, ctx: SyncContext, entity: str) -> Iterator[SourceRecord]:
        ctx.desk.records("customers", ids=[1])
        yield SourceRecord("1", {})


def _ctx(settings: BaseModel, *, batch_size: int = 1000) -> SyncContext:
    return SyncContext(desk=None, settings=settings, batch_size=batch_size)  # type: ignore[arg-type]


@pytest.fixture
def reader() -> Iterator[ReaderProcess]:
    process = ReaderProcess()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SyncroSandbox]:
    with SyncroSandbox(customers=30, assets=250, seed=5, api_key=CANARY) as box:
        yield box


def test_batches_are_read_in_the_child_and_its_logs_carry_the_run(
    reader: ReaderProcess, sandbox: SyncroSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ctx = _ctx(SyncroSettings(url=sandbox.url, api_key=CANARY), batch_size=100)
    with log_context(run_id="77", integration="syncro", entity="assets"):
        batches = list(reader.batches(Syncro(), ctx, "assets"))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [r.external_id for b in batches for r in b] == [str(a) for a in sandbox.store.asset_ids()]
    assert ctx.complete
    requests = [r for r in caplog.records if r.getMessage().startswith("http.request")]
    assert len(requests) == 3  # one page of 100 per request
    assert {r.process for r in requests} == {reader.pid} and reader.pid != os.getpid()
    assert CANARY not in caplog.text
    # The same child serves the next listing.
    pid = reader.pid
    customers = list(reader.batches(Syncro(), _ctx(SyncroSettings(url=sandbox.url, api_key=CANARY)), "customers"))
    assert sum(len(b) for b in customers) == 30 and reader.pid == pid


def test_a_partial_listing_is_reported_to_the_parent(reader: ReaderProcess, caplog: pytest.LogCaptureFixture) -> None:
    ctx = _ctx(_Nothing())
    assert ReaderProcess.can_read(Partial())
    batches = list(reader.batches(Partial(), ctx, "things"))
    assert [r.raw for b in batches for r in b] == [{"id": 0}, {"id": 1}, {"id": 2}]
    assert ctx.complete is False
    assert f"partial.listing pid={reader.pid}" in caplog.text


def test_an_error_of_the_source_is_raised_as_its_own_class_and_the_child_goes_on(
    reader: ReaderProcess, sandbox: SyncroSandbox
) -> None:
    bad = _ctx(SyncroSettings(url=sandbox.url, api_key="not-the-key"))
    with pytest.raises(ConfigurationError, match="401"):
        list(reader.batches(Syncro(), bad, "customers"))
    pid = reader.pid
    good = _ctx(SyncroSettings(url=sandbox.url, api_key=CANARY))
    assert sum(len(b) for b in reader.batches(Syncro(), good, "customers")) == 30
    assert reader.pid == pid


def test_an_extract_that_uses_the_desk_fails_clearly(reader: ReaderProcess) -> None:
    with pytest.raises(FatalSyncError, match=r"cannot use the desk \(ctx\.desk\.records\)"):
        list(reader.batches(Desky(), _ctx(_Nothing()), "things"))


def test_stopping_early_ends_the_child(reader: ReaderProcess, sandbox: SyncroSandbox) -> None:
    ctx = _ctx(SyncroSettings(url=sandbox.url, api_key=CANARY), batch_size=10)
    batches = reader.batches(Syncro(), ctx, "assets")
    assert len(next(batches)) == 10
    pid = reader.pid
    assert pid is not None and alive(pid)
    batches.close()
    assert not alive(pid) and reader.pid is None
    assert sum(len(b) for b in reader.batches(Syncro(), ctx, "customers")) == 30  # a new child


def test_closing_while_a_listing_waits_on_a_slow_page_kills_the_child(reader: ReaderProcess) -> None:
    with SyncroSandbox(customers=5, assets=5, seed=5, api_key=CANARY, latency_ms=6_000) as slow:
        ctx = _ctx(SyncroSettings(url=slow.url, api_key=CANARY))
        batches = reader.batches(Syncro(), ctx, "customers")
        outcome: list[BaseException] = []

        def consume() -> None:
            try:
                next(batches)
            except BaseException as exc:  # noqa: BLE001 - kept for the assertion
                outcome.append(exc)

        thread = threading.Thread(target=consume)
        thread.start()
        deadline = time.monotonic() + 10
        while reader.pid is None and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = reader.pid
        assert pid is not None
        time.sleep(0.5)  # the child is waiting for the first page
        started = time.monotonic()
        reader.close()
        thread.join(timeout=10)
        assert time.monotonic() - started < 4  # not the 6 s the page takes
        assert not thread.is_alive() and not alive(pid)
        assert len(outcome) == 1 and isinstance(outcome[0], FatalSyncError), outcome
        batches.close()


def test_classes_that_cannot_be_imported_by_name_keep_the_thread() -> None:
    class Local(Partial):
        pass

    assert not ReaderProcess.can_read(Local())
    assert ReaderProcess.can_read(Syncro())


_PARENT = textwrap.dedent(
    """
    import sys, time
    from deskbridge.integrations.reader import ReaderProcess

    if __name__ == "__main__":
        reader = ReaderProcess()
        reader.start()
        print(reader.pid, flush=True)
        time.sleep(600)
    """
)


def test_a_killed_integrator_takes_its_reader_child_with_it() -> None:
    with parent_and_child(_PARENT) as (proc, child):
        sigkill_and_check_child_ends(proc, child, what="the reader child")
