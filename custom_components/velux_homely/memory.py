"""What an entry remembers across its set-ups: rate limits and read budgets.

Home Assistant builds a new client and coordinator at every set-up (a retry after a
failed one, a reload). A rate limit lasts 30-60 minutes in users' reports and a read
budget spans 15 minutes: forgetting them at each set-up would ask the cloud again at
once. They live in ``hass.data`` by entry and kind, and are forgotten when the entry is
removed (a rate limit also ends by itself at its deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

DATA_MEMORY: HassKey[dict[tuple[str, str], Any]] = HassKey(f"{DOMAIN}_memory")


def _memory(hass: HomeAssistant) -> dict[tuple[str, str], Any]:
    memory = hass.data.get(DATA_MEMORY)
    if memory is None:
        memory = hass.data[DATA_MEMORY] = {}

        @callback
        def _entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
            if change is ConfigEntryChange.REMOVED:
                for key in [key for key in memory if key[0] == entry.entry_id]:
                    del memory[key]

        # Lives as long as Home Assistant (and its hass.data) does.
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _entry_changed)
    return memory


@callback
def async_recall[T](hass: HomeAssistant, entry_id: str, kind: str) -> T | None:
    """Return what the entry remembers of ``kind`` (None: nothing)."""
    memory = hass.data.get(DATA_MEMORY)
    return cast("T | None", memory.get((entry_id, kind)) if memory is not None else None)


@callback
def async_recall_or_create[T](
    hass: HomeAssistant, entry_id: str, kind: str, factory: Callable[[], T]
) -> T:
    """Return what the entry remembers of ``kind``, made by ``factory`` the first time."""
    memory = _memory(hass)
    key = (entry_id, kind)
    if key not in memory:
        memory[key] = factory()
    return cast("T", memory[key])


@callback
def async_remember(hass: HomeAssistant, entry_id: str, kind: str, value: Any) -> None:
    """Remember ``value`` of ``kind`` for the entry."""
    _memory(hass)[(entry_id, kind)] = value


@callback
def async_forget(hass: HomeAssistant, entry_id: str, kind: str) -> None:
    """Forget what the entry remembers of ``kind``."""
    memory = hass.data.get(DATA_MEMORY)
    if memory is not None:
        memory.pop((entry_id, kind), None)
