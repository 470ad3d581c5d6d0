"""Cover platform: VELUX ACTIVE roof windows, shutters, blinds and awnings."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .netatmo import cover as netatmo_cover
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Commands go one at a time: signed commands must never share a nonce.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's cover module."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        netatmo=netatmo_cover.async_setup_entry,
    )
