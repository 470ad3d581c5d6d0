"""Lock platform: the departure mode of each VELUX ACTIVE gateway."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .netatmo import lock as netatmo_lock
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Commands go one at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's lock module (Homely has none: read-only API)."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        netatmo=netatmo_lock.async_setup_entry,
    )
