"""Constants of the Netatmo-family providers (VELUX ACTIVE)."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DEFAULT_SCAN_INTERVAL: Final = 60
"""Seconds between two homestatus polls without push (option ``scan_interval``)."""
MIN_SCAN_INTERVAL: Final = 30
PUSH_POLL_INTERVAL: Final = timedelta(minutes=30)
"""Poll interval while the realtime websocket is healthy: a safety net for what the
stream missed (at most 15 homestatus per home-hour are allowed; this is 2)."""

CONF_OPEN_IN_RAIN: Final = "open_in_rain"
"""Option: open roof windows while it rains (``force: true``)."""
CONF_SIGNING_KEYS: Final = "signing_keys"
"""Entry data: ``{gateway id: {"sign_key_id": ..., "hash_sign_key": ...}}`` (secrets)."""
CONF_NONCE_STATE: Final = "signing_nonce"
"""Entry data: the last (timestamp, nonce) used by a signed command (never reused)."""
CONF_GATEWAY: Final = "gateway"
CONF_HOST: Final = "host"
CONF_SIGN_KEY_ID: Final = "sign_key_id"
CONF_HASH_SIGN_KEY: Final = "hash_sign_key"

TOPOLOGY_INTERVAL: Final = timedelta(minutes=30)
"""How often homesdata (homes, rooms, modules) is read again."""
TOPOLOGY_RETRY: Final = timedelta(minutes=5)
"""After a failed topology read (the known one kept), when it is tried again."""
SCHEDULE_TOLERANCE: Final = timedelta(seconds=5)
"""A periodic read due within this long is done now: polls start a fraction of a second
off their ideal time, which must not postpone the read by a whole poll interval."""

CONFIRM_FIRST_POLL: Final = 3.0
"""Seconds from a command to the first poll that confirms its movement (without push)."""
CONFIRM_MIN_GAP: Final = 2.0
CONFIRM_MAX_GAP: Final = 30.0
"""Bounds (seconds) between two confirmation polls; in between, the next poll goes right
after the arrival the observed speed predicts."""
CONFIRM_MAX_POLLS: Final = 8
"""Most homestatus reads of a home spent on confirming one command."""
CONFIRM_WINDOW: Final = timedelta(minutes=3)
"""Longest time a movement is followed after a command."""
PUSH_CONFIRM_FALLBACK: Final = 90.0
"""With push, seconds after a command until one poll looks when no arrival was pushed."""

RATE_LIMIT_BACKOFF_MIN: Final = 300.0
RATE_LIMIT_BACKOFF_MAX: Final = 900.0
RATE_LIMIT_HINT_MAX: Final = 3600.0
"""Bounds (seconds) of the poll interval after a rate-limit answer."""

REQUEST_TIMEOUT: Final = 20.0
PAIRING_TIMEOUT: Final = 120.0
"""Seconds the pairing waits for the gateway's listener (the user presses its button)."""

REALTIME_HEARTBEAT: Final = 30.0
"""Seconds between two pings of the realtime websocket."""
REALTIME_BACKOFF_INITIAL: Final = 2.0
REALTIME_BACKOFF_MAX: Final = 300.0
