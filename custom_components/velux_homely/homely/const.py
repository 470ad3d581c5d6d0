"""Constants and timing of the Homely provider."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

CONF_KNOWN_LOCATIONS: Final = "known_locations"
"""Entry data: ``{location id: name}`` of the account, cached for the options form."""

DEFAULT_SCAN_INTERVAL: Final = 2
"""Minutes between ``/home`` polls while the live connection is down."""
MIN_SCAN_INTERVAL: Final = 1
MAX_SCAN_INTERVAL: Final = 60

MANUFACTURER: Final = "Homely"
GATEWAY_MODEL: Final = "Homely gateway"


@dataclass(frozen=True, slots=True, kw_only=True)
class HomelyTuning:
    """Timing of the Homely runtime (tests shrink it; nothing else changes it)."""

    resync_interval: float = 30 * 60
    """Seconds between ``/home`` resyncs of a location while its live connection is up."""
    backoff_initial: float = 2.0
    """First wait (seconds) before reconnecting a live connection."""
    backoff_max: float = 300.0
    """Longest wait (seconds) between reconnection attempts."""
    stable_after: float = 60.0
    """A connection that lived this long resets the reconnection backoff."""
    connect_timeout: float = 15.0
    """Seconds to wait for the Socket.IO namespace to accept a connection."""
    first_connect_grace: float = 120.0
    """No resync on the first connection when ``/home`` was read this recently (seconds)."""
    unknown_device_resync_gap: float = 5 * 60
    """An event of a device we do not know (added since the last read) resyncs the location,
    at most once per this many seconds after the previous read."""
    home_reads_per_window: int = 2
    """At most this many ``/home`` reads of a location (set-up and resyncs count) in any
    ``home_read_window`` before a reconnection resyncs it: a reconnection beyond that
    schedules its resync for when the window allows (the server drops live connections
    on token expiry, every minute at worst, and rate limits ``/home`` after a few calls)."""
    home_read_window: float = 15 * 60
    """The window (seconds) of ``home_reads_per_window``."""
    startup_attempts: int = 3
    """``/home`` attempts at set-up when rate limited, before set-up is retried later."""
    startup_retry_cap: float = 30.0
    """Longest wait (seconds) between those attempts (``retryAfter`` is honoured below it)."""
    rate_limit_fallback: float = 60.0
    """Wait (seconds) after a 429 without ``retryAfter``."""
    shutdown_timeout: float = 5.0
    """Seconds to wait for a live connection to close on unload before cancelling it."""
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    """How the set-up waits between rate-limited attempts."""


TUNING = HomelyTuning()
