"""Alarm control panel platform: the alarm of each Homely location."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .homely import alarm_control_panel as homely_alarm_control_panel
from .providers import async_setup_provider_platform
from .types import VeluxHomelyConfigEntry

# Read-only: the Homely API cannot arm or disarm.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Hand the entry to its provider's alarm control panel module."""
    await async_setup_provider_platform(
        hass,
        entry,
        async_add_entities,
        homely=homely_alarm_control_panel.async_setup_entry,
    )
