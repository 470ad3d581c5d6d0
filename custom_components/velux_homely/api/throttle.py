"""How often a cloud resource may be read: a budget per window and the cloud's back-off.

:class:`ReadThrottle` keeps, per key (a Homely location, say), the times of the recent
requests and the back-off after rate-limit answers:

* at most ``reads`` requests in any ``window`` seconds;
* after a rate-limit answer, no request before its wait: the first wait is the cloud's
  ``retryAfter`` (``fallback`` without one), each further answer in a row doubles the
  time the limit has lasted since the previous answer (the wait, or longer when the
  budget held the read back meanwhile), the doubling capped at ``cap``; a wait is never
  shorter than the cloud's latest hint (a hint longer than ``cap`` is honoured); a
  successful read resets it.

The clock is injected (``time.monotonic`` by default, looked up at each call).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
import time
from typing import Any


def monotonic() -> float:
    """Return ``time.monotonic()``, looked up at each call (so that test clocks apply)."""
    return time.monotonic()


@dataclass(slots=True)
class _KeyState:
    requests: deque[float] = field(default_factory=deque)
    not_before: float = 0.0
    last_wait: float = 0.0
    last_limited_at: float = 0.0
    limited: int = 0
    held_back: int = 0


class ReadThrottle:
    """Budget and back-off of the reads of one kind of resource, per key."""

    def __init__(
        self,
        *,
        reads: int,
        window: float,
        fallback: float = 60.0,
        cap: float = 900.0,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Allow ``reads`` requests per ``window`` seconds and back off up to ``cap``."""
        self.reads = max(reads, 1)
        self.window = window
        self.fallback = fallback
        self.cap = cap
        self._clock = clock
        self._keys: dict[str, _KeyState] = {}

    def _state(self, key: str) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        now = self._clock()
        while state.requests and state.requests[0] <= now - self.window:
            state.requests.popleft()
        return state

    def wait(self, key: str) -> float:
        """Return the seconds until a request for ``key`` is allowed (0: now)."""
        state = self._state(key)
        now = self._clock()
        wait = max(state.not_before - now, 0.0)
        if len(state.requests) >= self.reads:
            wait = max(wait, state.requests[-self.reads] + self.window - now)
        return wait

    def hold_back(self, key: str) -> float:
        """Count a request held back; return how long it must wait (0: it may go now)."""
        wait = self.wait(key)
        if wait > 0:
            self._state(key).held_back += 1
        return wait

    def note_request(self, key: str) -> None:
        """Count a request sent for ``key``."""
        self._state(key).requests.append(self._clock())

    def note_limited(self, key: str, retry_after: float | None) -> float:
        """Note a rate-limit answer; return the wait before the next request.

        ``cap`` bounds our own doubling and the fallback, not the cloud's hint.
        """
        state = self._state(key)
        now = self._clock()
        if retry_after is not None and retry_after >= 0:
            hint = retry_after
        else:
            hint = min(self.fallback, self.cap)
        doubled = 0.0
        if state.limited:
            lasted = max(state.last_wait, now - state.last_limited_at)
            doubled = min(lasted * 2, self.cap)
        wait = max(doubled, hint)
        state.limited += 1
        state.last_wait = wait
        state.last_limited_at = now
        state.not_before = now + wait
        return wait

    def note_success(self, key: str) -> None:
        """Note a successful read: the back-off starts over."""
        state = self._state(key)
        state.limited = 0
        state.last_wait = 0.0
        state.last_limited_at = 0.0
        state.not_before = 0.0

    def diagnostics(self, key: str) -> dict[str, Any]:
        """Describe the budget and back-off of ``key``."""
        state = self._state(key)
        return {
            "requests_in_window": len(state.requests),
            "wait": round(self.wait(key), 1),
            "rate_limited_in_a_row": state.limited,
            "held_back": state.held_back,
        }
