"""How often and how long failed processing and deliveries are tried again."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["DELIVERY", "PROCESSING", "Backoff"]


@dataclass(slots=True, frozen=True)
class Backoff:
    """Capped exponential backoff with jitter, and a limit.

    Attributes:
        max_attempts: Attempts in all; after the last one fails, it is given up on.
        base_seconds: The wait after the first failed attempt (before jitter).
        cap_seconds: The longest wait.
    """

    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (from 1).

        That is ``base·2^(attempt-1)``, capped, then a random share between half and all of it, so that many
        failures do not retry in step.
        """
        return self._full(attempt) * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    def _full(self, attempt: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempt - 1, 60))

    def total_seconds(self) -> float:
        """The longest time from the first attempt to giving up (every wait at its full length)."""
        return sum(
            min(self.cap_seconds, self.base_seconds * 2.0 ** min(n - 1, 60)) for n in range(1, self.max_attempts)
        )


PROCESSING = Backoff(max_attempts=10, base_seconds=1.0, cap_seconds=300.0)
"""Inbox events: 10 attempts, waits doubling from 1 s: marked failed after 4 to 9 minutes."""

DELIVERY = Backoff(max_attempts=20, base_seconds=5.0, cap_seconds=3600.0)
"""Outbox deliveries: 20 attempts, waits doubling from 5 s to at most an hour: given up after 5 to 10 hours."""
