"""Button platform: the entities come from the entry's provider."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .provider import VeluxHomelyConfigEntry

# Commands go one at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the button entities of the entry's provider."""
    entry.runtime_data.async_setup_platform(Platform.BUTTON, async_add_entities)
