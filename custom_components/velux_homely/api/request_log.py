"""How many requests a client sent to its cloud lately: a sliding window of send times.

Both clouds limit requests per account and hour (VELUX / Netatmo: about 500 per user-hour),
so each client notes every HTTP request it sends, token requests included, on a monotonic
clock (``time.monotonic`` by default, looked up at each call). The log is a plain object:
the integration keeps one per account across reloads, so the count covers the whole hour.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final

from .throttle import monotonic

REQUEST_LOG_WINDOW: Final = 3600.0
"""Seconds the log looks back (an hour: the clouds count per hour)."""


class RequestLog:
    """The send times of the requests of the last ``window`` seconds."""

    def __init__(
        self, *, window: float = REQUEST_LOG_WINDOW, clock: Callable[[], float] = monotonic
    ) -> None:
        """Look back ``window`` seconds on ``clock``."""
        self.window = window
        self._clock = clock
        self._sent: deque[float] = deque()

    def note(self) -> None:
        """Count a request sent now."""
        self._sent.append(self._clock())
        self._forget_old()

    def count(self) -> int:
        """Return how many requests were sent in the last ``window`` seconds."""
        self._forget_old()
        return len(self._sent)

    def _forget_old(self) -> None:
        oldest = self._clock() - self.window
        while self._sent and self._sent[0] <= oldest:
            self._sent.popleft()
