"""A rate limit of a Netatmo-family entry, remembered across its set-ups.

When the cloud limits the account, the limit (30-60 minutes in users' reports) outlives
the coordinator: Home Assistant's set-up retries (every 5 to 80 seconds) and a reload
must not ask the cloud again before it ends. See :mod:`..memory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant, callback

from ..memory import async_forget, async_recall, async_remember

KIND = "netatmo_rate_limit"


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    """A rate limit of one entry: no request before ``until``."""

    until: datetime
    count: int
    """How many rate-limit answers in a row (the back-off grows with it)."""
    backoff: timedelta
    """The back-off that set ``until``."""


@callback
def async_get_rate_limit(hass: HomeAssistant, entry_id: str) -> RateLimit | None:
    """Return the rate limit remembered for an entry (None when there is none)."""
    return async_recall(hass, entry_id, KIND)


@callback
def async_remember_rate_limit(hass: HomeAssistant, entry_id: str, limit: RateLimit) -> None:
    """Remember that the entry must not ask the cloud before ``limit.until``."""
    async_remember(hass, entry_id, KIND, limit)


@callback
def async_forget_rate_limit(hass: HomeAssistant, entry_id: str) -> None:
    """Forget the rate limit of an entry (the cloud answers again)."""
    async_forget(hass, entry_id, KIND)
