"""Memory of a rate limit across the set-up retries of a VELUX ACTIVE entry.

When the cloud limits the account during set-up, Home Assistant retries the set-up
every 5 to 80 seconds, each time with a fresh coordinator. Without a memory every
retry would ask the cloud again and start the back-off over while the limit (30-60
minutes in users' reports) lasts. The memory lives in ``hass.data`` (keyed by entry
id) and is forgotten when a read succeeds, when the entry is unloaded and when it is
removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    """A rate limit of one entry: no request before ``until``."""

    until: datetime
    count: int
    """How many rate-limit answers in a row (the back-off grows with it)."""
    backoff: timedelta
    """The back-off that set ``until``."""


DATA_RATE_LIMITS: HassKey[dict[str, RateLimit]] = HassKey(f"{DOMAIN}_velux_rate_limits")


def _limits(hass: HomeAssistant) -> dict[str, RateLimit]:
    """Return the memory, forgetting an entry's limit when it is unloaded or removed."""
    limits = hass.data.get(DATA_RATE_LIMITS)
    if limits is None:
        limits = hass.data[DATA_RATE_LIMITS] = {}

        @callback
        def _entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
            # Set-up retries go SETUP_RETRY -> SETUP_IN_PROGRESS -> SETUP_RETRY; only
            # an unload (or reload) of the entry passes NOT_LOADED.
            if change is ConfigEntryChange.REMOVED or entry.state is ConfigEntryState.NOT_LOADED:
                limits.pop(entry.entry_id, None)

        # Lives as long as Home Assistant (and its hass.data) does.
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _entry_changed)
    return limits


@callback
def async_get_rate_limit(hass: HomeAssistant, entry_id: str) -> RateLimit | None:
    """Return the rate limit remembered for an entry (None when there is none)."""
    limits = hass.data.get(DATA_RATE_LIMITS)
    return limits.get(entry_id) if limits is not None else None


@callback
def async_remember_rate_limit(hass: HomeAssistant, entry_id: str, limit: RateLimit) -> None:
    """Remember that the entry must not ask the cloud before ``limit.until``."""
    _limits(hass)[entry_id] = limit


@callback
def async_forget_rate_limit(hass: HomeAssistant, entry_id: str) -> None:
    """Forget the rate limit of an entry (the cloud answers again)."""
    limits = hass.data.get(DATA_RATE_LIMITS)
    if limits is not None:
        limits.pop(entry_id, None)
