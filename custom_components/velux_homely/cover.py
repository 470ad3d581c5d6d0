"""Cover platform: VELUX ACTIVE roof windows, shutters, blinds and awnings."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .netatmo import cover as netatmo_cover
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# The covers of one service call (a group, a scene) run together, so that their moves
# go out as one setstate; the coordinator hands out the nonces of signed ones.
PARALLEL_UPDATES = 0


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
