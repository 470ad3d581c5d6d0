"""Cover platform: the entities come from the entry's provider."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .provider import VeluxHomelyConfigEntry

# Commands go one at a time: signed commands must never share a nonce.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the cover entities of the entry's provider."""
    entry.runtime_data.async_setup_platform(Platform.COVER, async_add_entities)
