"""Constants of the VELUX ACTIVE provider."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DEFAULT_SCAN_INTERVAL: Final = 60
"""Seconds between two homestatus polls (option ``scan_interval``)."""
MIN_SCAN_INTERVAL: Final = 30

TOPOLOGY_INTERVAL: Final = timedelta(minutes=30)
"""How often homesdata (homes, rooms, modules) is read again."""
SCHEDULE_TOLERANCE: Final = timedelta(seconds=5)
"""A periodic read due within this long is done now: polls start a fraction of a second
off their ideal time, which must not postpone the read by a whole poll interval."""

QUICK_POLL_INTERVAL: Final = timedelta(seconds=3)
"""Poll interval while a commanded movement is being confirmed."""
QUICK_POLL_WINDOW: Final = timedelta(minutes=2)
"""Longest time quick polls run after a command."""

RATE_LIMIT_BACKOFF_MIN: Final = 300.0
RATE_LIMIT_BACKOFF_MAX: Final = 900.0
RATE_LIMIT_HINT_MAX: Final = 3600.0
"""Bounds (seconds) of the poll interval after a rate-limit answer."""

REQUEST_TIMEOUT: Final = 20.0
