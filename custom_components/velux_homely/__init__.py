"""The VELUX ACTIVE & Homely integration."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .const import CONF_PROVIDER, LOGGER
from .provider import VeluxHomelyConfigEntry
from .registry import PROVIDERS


async def async_setup_entry(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> bool:
    """Set up one account: build its provider runtime and forward its platforms."""
    spec = PROVIDERS[entry.data[CONF_PROVIDER]]
    runtime = await spec.async_setup_runtime(hass, entry)
    runtime.options_at_setup = dict(entry.options)
    entry.runtime_data = runtime
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> bool:
    """Unload an account: its platforms first, then its live connections."""
    runtime = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(entry, runtime.platforms)
    if unloaded:
        await runtime.async_shutdown()
    return unloaded


async def _async_update_listener(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> None:
    """Reload when the options change; ignore data updates (such as new tokens)."""
    if dict(entry.options) != dict(entry.runtime_data.options_at_setup):
        LOGGER.debug("Options of %s changed: reloading", entry.title)
        hass.config_entries.async_schedule_reload(entry.entry_id)
