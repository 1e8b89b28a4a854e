"""Timestamps the way Syncro writes them: ISO-8601, milliseconds, the tenant's UTC offset (``-06:00``/``-07:00``).

Generated data is placed on a fixed wall clock (no reading of the real clock), so the same seed gives the same
timestamps on every run; only mutations made while the sandbox runs carry the real time.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

__all__ = ["ANCHOR_MS", "EPOCH", "day", "now_stamp", "offset_for", "stamp", "utc_stamp"]

EPOCH = datetime(2018, 1, 1)  # a local wall clock: ``stamp`` adds the offset
ANCHOR_MS = int((datetime(2025, 6, 2, 9, 0) - EPOCH).total_seconds() * 1000)  # "now" of generated data


def offset_for(month: int, day: int) -> str:
    """Return the Mountain-time offset for a local date (daylight time approximated by calendar days)."""
    if 3 < month < 11 or (month == 3 and day >= 10) or (month == 11 and day < 3):
        return "-06:00"
    return "-07:00"


@functools.cache
def _day(number: int) -> tuple[str, str]:
    date = EPOCH + timedelta(days=number)
    return f"{date:%Y-%m-%d}", offset_for(date.month, date.day)


def _time(ms: int) -> str:
    seconds, _ = divmod(ms % 86_400_000, 1000)
    minutes, sec = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour:02d}:{minute:02d}:{sec:02d}"


def stamp(ms: int) -> str:
    """Format milliseconds after ``EPOCH`` (local wall clock) as ``2024-04-03T22:42:04.572-06:00``."""
    date, offset = _day(ms // 86_400_000)
    return f"{date}T{_time(ms)}.{ms % 1000:03d}{offset}"


def day(ms: int) -> str:
    """Format milliseconds after ``EPOCH`` as a ``YYYY-MM-DD`` date."""
    return _day(ms // 86_400_000)[0]


def utc_stamp(ms: int) -> str:
    """Format milliseconds after ``EPOCH`` as a UTC ``Z`` time, as the agent writes (``2024-04-03T13:06:03Z``)."""
    return f"{_day(ms // 86_400_000)[0]}T{_time(ms)}Z"


def now_stamp() -> str:
    """Return the real current time in the tenant's offset."""
    utc = datetime.now(UTC)
    local = utc + timedelta(hours=-6)
    off = offset_for(local.month, local.day)
    local = utc + timedelta(hours=int(off[:3]))
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}{off}"
