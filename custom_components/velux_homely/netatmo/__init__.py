"""The Netatmo API family: VELUX ACTIVE (KIX 300) accounts; Netatmo accounts next.

Set-up builds the client and the coordinator and reads the cloud once; the platform
modules (``cover``, ``sensor``, ``binary_sensor``, ``button``) add the entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.util import dt as dt_util

from ..api.netatmo import NetatmoClient
from ..const import CONF_SCAN_INTERVAL, CONF_TOKEN, DOMAIN, LOGGER
from ..types import Provider
from . import config_flow, diagnostics
from .const import DEFAULT_SCAN_INTERVAL
from .coordinator import NetatmoCoordinator
from .flavours import VELUX, build_client
from .rate_limit import async_get_rate_limit

PLATFORMS: tuple[Platform, ...] = (
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.COVER,
    Platform.SENSOR,
)


@dataclass(slots=True)
class NetatmoRuntimeData:
    """The client and coordinator of one account."""

    client: NetatmoClient
    coordinator: NetatmoCoordinator


type NetatmoConfigEntry = ConfigEntry[NetatmoRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: NetatmoConfigEntry) -> None:
    """Build the client and coordinator of an entry and read the cloud once.

    While a rate limit met by an earlier attempt lasts, fail at once without asking
    the cloud: Home Assistant retries the set-up every 5 to 80 seconds.
    """
    limit = async_get_rate_limit(hass, entry.entry_id)
    if limit is not None and dt_util.utcnow() < limit.until:
        LOGGER.debug(
            "%s limits %s until %s: not asking the cloud yet",
            VELUX.api.name,
            entry.title,
            limit.until,
        )
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="rate_limited")

    @callback
    def _store_token(token: dict[str, Any]) -> None:
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_TOKEN: token})

    client = build_client(hass, entry.data, with_token=True, on_token_update=_store_token)
    scan_interval = timedelta(seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
    coordinator = NetatmoCoordinator(hass, entry, client, scan_interval=scan_interval)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = NetatmoRuntimeData(client=client, coordinator=coordinator)


async def async_unload_entry(hass: HomeAssistant, entry: NetatmoConfigEntry) -> None:
    """Nothing runs besides the coordinator, which Home Assistant stops itself."""


VELUX_ACTIVE = Provider(
    key=VELUX.key,
    name=VELUX.api.name,
    platforms=PLATFORMS,
    account_schema=config_flow.account_schema,
    async_validate=config_flow.async_validate,
    options_flow=config_flow.NetatmoOptionsFlow,
    default_options=config_flow.DEFAULT_OPTIONS,
    async_setup_entry=async_setup_entry,
    async_unload_entry=async_unload_entry,
    async_get_diagnostics=diagnostics.async_get_diagnostics,
)
"""The VELUX ACTIVE provider."""
