"""Button platform: the VELUX ACTIVE gateway's scenarios and commands."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .netatmo import button as netatmo_button
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Commands go one at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's button module."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        netatmo=netatmo_button.async_setup_entry,
    )
