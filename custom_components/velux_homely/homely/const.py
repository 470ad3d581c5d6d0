"""Constants and timing of the Homely provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import math
from typing import Final

from ..api.homely import HOME_READ_WINDOW, HOME_READS_PER_WINDOW

CONF_KNOWN_LOCATIONS: Final = "known_locations"
"""Entry data: ``{location id: name}`` of the account, cached for the options form."""

MIN_SCAN_INTERVAL: Final = math.ceil(HOME_READ_WINDOW / HOME_READS_PER_WINDOW / 60)
"""The shortest poll interval (minutes) the client's read budget keeps: 8 (it reads a
location at most twice in 15 minutes). A shorter one stored by an earlier version (whose
minimum was 1, its default 2) is raised to this."""
DEFAULT_SCAN_INTERVAL: Final = MIN_SCAN_INTERVAL
"""Minutes between ``/home`` polls while the live connection is down."""
MAX_SCAN_INTERVAL: Final = 60

RESYNC_INTERVAL: Final = timedelta(minutes=30)
"""How often a location is read again while its live connection is up."""
FIRST_CONNECT_GRACE: Final = 120.0
"""No read on the first connection when ``/home`` was read this recently (seconds)."""
UNKNOWN_DEVICE_READ_GAP: Final = 5 * 60.0
"""An event of a device added since the last read reads the location again, at most once
per this many seconds after the previous read."""

MANUFACTURER: Final = "Homely"
GATEWAY_MODEL: Final = "Homely gateway"


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveTiming:
    """Timing of the live connections (tests shrink it; nothing else changes it)."""

    backoff_initial: float = 2.0
    """First wait (seconds) before reconnecting a live connection."""
    backoff_max: float = 300.0
    """Longest wait (seconds) between reconnection attempts."""
    stable_after: float = 5.0
    """A session (a connection and its renewals) up this long and then ended is replaced at
    once and resets the backoff; one the server ends sooner counts as a refusal."""
    renewal_backoff_max: float = 15 * 60.0
    """Longest wait (seconds) between two attempts of a failing renewal (the connection to
    replace stays up meanwhile)."""
    connect_timeout: float = 15.0
    """Seconds to wait for the Socket.IO namespace to accept a connection."""
    shutdown_timeout: float = 5.0
    """Seconds to wait for a live connection to close on unload before cancelling it."""


LIVE_TIMING = LiveTiming()

TOKEN_BACKOFF_MAX: Final = 15 * 60.0
"""Longest wait (seconds) between two reads while the sign-in answers 429."""
