"""Sensor platform: VELUX ACTIVE room climate and batteries, Homely measurements."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .homely import sensor as homely_sensor
from .netatmo import sensor as netatmo_sensor
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Read-only: the coordinators fetch the data.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's sensor module."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        netatmo=netatmo_sensor.async_setup_entry,
        homely=homely_sensor.async_setup_entry,
    )
