"""Paging through a SyncroMSP list, one record at a time, and knowing whether the listing was complete.

A :class:`Listing` fetches one page at a time and yields its records, so memory stays flat however long the list
(only the ids seen are kept, to drop repeats and to check the count). It stops at ``meta.total_pages``, at an empty
page, or, when SyncroMSP sends no ``meta.total_pages``, at a page shorter than the page size.

**504 on a page.** SyncroMSP's gateway answers 504 when a page takes too long to build (large asset pages do). The
listing then asks for the same *position* with a smaller page: page 7 at 100 a page starts at record 600, which at
50 a page is page 13. The new size is the largest one not over half the old size that divides the offset, so the
position stays exact and no record is skipped or repeated; the rest of the listing keeps the smaller size. Below
``min_per_page`` it gives up with :class:`~deskbridge.exceptions.RetriableError`.

**Completeness.** :attr:`Listing.complete` is true only when the listing ran to its normal end, saw at least as many
distinct records as the ``meta.total_entries`` of the last page, and that count did not change between pages.
Paging by offset skips records when others before the cursor are deleted meanwhile (everything after moves up);
the distinct count alone cannot tell, because the deleted records were counted when seen, so a changed total marks
the listing incomplete too (erring on the safe side: a record deleted further on changes it as well). Records
inserted before the cursor push others onto the next page: they are yielded once, and the count catches the new
ones that were never seen. A caller that deactivates what a listing did not return must check :attr:`complete`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from deskbridge.exceptions import FatalSyncError, RetriableError
from deskbridge.integrations.syncro.errors import PageTimeoutError

__all__ = ["Listing", "Page", "smaller_page_size"]

logger = logging.getLogger(__name__)

Record = dict[str, Any]


@dataclass(slots=True, frozen=True)
class Page:
    """One page as SyncroMSP sent it.

    Attributes:
        records: The page's records.
        meta: Its ``meta`` object, or ``None`` when it had none.
    """

    records: list[Any]
    meta: Mapping[str, Any] | None


Fetch = Callable[[int, int, Callable[[int], None]], Page]
"""Fetches ``(page, per_page, count)``; calls ``count(attempts)`` with the requests it made, even when it fails.

Raises :class:`PageTimeoutError` for a 504, so that the listing can retry with a smaller page.
"""


def smaller_page_size(per_page: int, offset: int, floor: int) -> int | None:
    """Return the page size to retry ``offset`` with after a 504, or ``None`` when none is left.

    It is the largest size not over half of ``per_page`` and not under ``floor`` that divides ``offset``, so that
    ``offset // size + 1`` is a page that starts exactly there.
    """
    for size in range(per_page // 2, max(floor, 1) - 1, -1):
        if offset % size == 0:
            return size
    return None


def _count(value: object) -> int | None:
    """Return ``value`` as a whole number when it is one (SyncroMSP may send numbers as text), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class Listing(Iterator[Record]):
    """The records of one SyncroMSP list, fetched page by page as they are consumed.

    Iterate it once (it is its own iterator). Its counters grow as it goes and are final when it is exhausted,
    closed or has raised; any failure mid-listing raises the deskbridge error for its cause and leaves
    :attr:`complete` false.

    Args:
        fetch: Fetches one page (see :data:`Fetch`).
        what: The list, for messages, e.g. ``"GET /customer_assets"``.
        per_page: The page size to ask for.
        min_per_page: The smallest page size 504s may bring it down to.

    Attributes:
        complete: The listing ended normally and saw every record SyncroMSP counts.
        reason: Why it is not complete (``None`` once it is).
        error: The error it raised, if any.
        pages: Pages received.
        requests: HTTP requests sent, retries included.
        records: Records yielded.
        duplicates: Records dropped because their id was already yielded (records inserted while paging push
            others onto the next page).
        total_entries: ``meta.total_entries`` of the last page, when SyncroMSP sent it.
        per_page: The page size in use (smaller than asked after a 504, or what SyncroMSP says it serves).
    """

    def __init__(self, fetch: Fetch, *, what: str, per_page: int, min_per_page: int = 5) -> None:
        self.what = what
        self.per_page = per_page
        self.min_per_page = min_per_page
        self.complete = False
        self.reason: str | None = "the listing has not finished"
        self.error: BaseException | None = None
        self.pages = 0
        self.requests = 0
        self.records = 0
        self.duplicates = 0
        self.total_entries: int | None = None
        self._fetch = fetch
        self._records = self._run()

    def __repr__(self) -> str:
        state = "complete" if self.complete else "incomplete"
        return f"<Listing {self.what} {state} pages={self.pages} records={self.records} requests={self.requests}>"

    def __iter__(self) -> Listing:
        return self

    def __next__(self) -> Record:
        try:
            return next(self._records)
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = exc
            self.reason = f"failed: {exc}" if str(exc) else f"failed: {type(exc).__name__}"
            raise

    def close(self) -> None:
        """Stop the listing (it stays incomplete unless it had already finished)."""
        self._records.close()
        if not self.complete and self.error is None:
            self.reason = "stopped before its end"

    def __enter__(self) -> Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _counted(self, attempts: int) -> None:
        self.requests += attempts

    def _run(self) -> Generator[Record, None, None]:
        page, size = 1, self.per_page
        longest = 0  # the longest page seen at this size: tells a short (last) page when meta gives no size
        seen: set[object] = set()
        without_id = 0
        moved: tuple[int, int] | None = None  # the first change of meta.total_entries between two pages
        while True:
            try:
                result = self._fetch(page, size, self._counted)
            except PageTimeoutError as exc:
                offset = (page - 1) * size
                smaller = smaller_page_size(size, offset, self.min_per_page)
                if smaller is None:
                    raise RetriableError(
                        f"{self.what}: 504 (gateway timeout) for page {page} even at {size} records a page, the "
                        f"smallest allowed; try again later"
                    ) from exc
                logger.warning(
                    "syncro.page_size.reduced list=%s page=%d per_page=%d next_page=%d next_per_page=%d",
                    self.what,
                    page,
                    size,
                    offset // smaller + 1,
                    smaller,
                )
                page, size, longest = offset // smaller + 1, smaller, 0
                self.per_page = size
                continue
            self.pages += 1
            meta = result.meta or {}
            served = _count(meta.get("per_page"))
            if served and served != size:
                if page > 1:
                    raise FatalSyncError(
                        f"{self.what}: asked for page {page} at {size} records a page but SyncroMSP served "
                        f"{served} a page, so the position in the list is lost"
                    )
                # The server pages with its own size from the start (a cap): number the pages in its units.
                size = self.per_page = served
            total_pages = _count(meta.get("total_pages"))
            total_entries = _count(meta.get("total_entries"))
            if total_entries is not None:
                if self.total_entries is not None and total_entries != self.total_entries and moved is None:
                    moved = (self.total_entries, total_entries)
                self.total_entries = total_entries
            fresh = 0
            for record in result.records:
                if not isinstance(record, dict):
                    logger.warning("syncro.record.skipped list=%s page=%d reason=not-an-object", self.what, page)
                    continue
                key = record.get("id")
                if key is None:
                    without_id += 1
                elif key in seen:
                    self.duplicates += 1
                    continue
                else:
                    seen.add(key)
                fresh += 1
                self.records += 1
                yield record
            received = len(result.records)
            logger.debug("syncro.page list=%s page=%d per_page=%d records=%d", self.what, page, size, received)
            if received == 0:
                break
            if total_pages is not None:
                if page >= total_pages:
                    break
            elif received < size and (served or received < longest):
                break
            if fresh == 0:
                # A whole page of records already seen: the server ignores `page`, or records are moving under us.
                self.reason = f"page {page} held only records already seen; stopped to avoid looping"
                logger.warning("syncro.listing.stuck list=%s page=%d", self.what, page)
                return
            longest = max(longest, received)
            page += 1
        distinct = len(seen) + without_id
        if self.total_entries is not None and distinct < self.total_entries:
            self.reason = (
                f"saw {distinct} distinct records but SyncroMSP counts {self.total_entries}: records were skipped "
                f"because others were added, deleted or moved while paging"
            )
        elif moved is not None:
            self.reason = (
                f"SyncroMSP's count went from {moved[0]} to {moved[1]} records while paging: records may have moved "
                f"past the pages already read"
            )
        else:
            self.complete, self.reason = True, None
        if not self.complete:
            logger.warning("syncro.listing.incomplete list=%s %s", self.what, self.reason)
            return
        logger.info(
            "syncro.listing.done list=%s pages=%d records=%d requests=%d duplicates=%d",
            self.what,
            self.pages,
            self.records,
            self.requests,
            self.duplicates,
        )
