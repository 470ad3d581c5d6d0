"""Lock platform: the Yale Doorman lock state of Homely."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .homely import lock as homely_lock
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Read-only: the Homely API cannot lock or unlock.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's lock module."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        homely=homely_lock.async_setup_entry,
    )
