"""The VELUX ACTIVE & Homely integration: one config entry per cloud account."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .const import LOGGER
from .providers import provider_of
from .types import VeluxHomelyConfigEntry


async def async_setup_entry(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> bool:
    """Set up one account: its provider reads the cloud, then the platforms add entities."""
    provider = provider_of(entry)
    await provider.async_setup_entry(hass, entry)
    options = dict(entry.options)

    async def _async_reload_on_new_options(
        hass: HomeAssistant, entry: VeluxHomelyConfigEntry
    ) -> None:
        # Data updates (new tokens) do not reload; changed options do.
        if dict(entry.options) != options:
            LOGGER.debug("Options of %s changed: reloading", entry.title)
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(entry.add_update_listener(_async_reload_on_new_options))
    await hass.config_entries.async_forward_entry_setups(entry, provider.platforms)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> bool:
    """Unload an account: its platforms first, then its live connections."""
    provider = provider_of(entry)
    unloaded = await hass.config_entries.async_unload_platforms(entry, provider.platforms)
    if unloaded:
        await provider.async_unload_entry(hass, entry)
    return unloaded
