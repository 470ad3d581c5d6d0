"""Binary sensor platform: the entities come from the entry's provider."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .provider import VeluxHomelyConfigEntry

# Read-only: the coordinator fetches the data.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the binary sensor entities of the entry's provider."""
    entry.runtime_data.async_setup_platform(Platform.BINARY_SENSOR, async_add_entities)
