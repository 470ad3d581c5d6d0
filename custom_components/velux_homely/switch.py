"""Switch platform: silent mode and automatic ventilation of VELUX ACTIVE openers."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .netatmo import switch as netatmo_switch
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Commands go one at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's switch module."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        netatmo=netatmo_switch.async_setup_entry,
    )
