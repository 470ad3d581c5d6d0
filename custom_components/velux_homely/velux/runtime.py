"""Run-time side of a VELUX ACTIVE config entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from ..api.netatmo import NetatmoClient
from ..const import (
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_SCAN_INTERVAL,
    CONF_TOKEN,
    DOMAIN,
    LOGGER,
)
from ..provider import ProviderRuntime, VeluxHomelyConfigEntry
from .binary_sensor import async_setup_binary_sensors
from .button import async_setup_buttons
from .const import DEFAULT_SCAN_INTERVAL, REQUEST_TIMEOUT
from .coordinator import VeluxCoordinator
from .cover import async_setup_covers
from .rate_limit import async_get_rate_limit
from .sensor import async_setup_sensors

TO_REDACT = {
    "access_token",
    "refresh_token",
    "password",
    "username",
    "email",
    "mail",
    "client_secret",
    "hash_sign_key",
    "sign_key_id",
    "place",
    "location",
    "coordinates",
    "city",
    "admin_access_code",
}

_PLATFORM_SETUP: dict[Platform, Callable[[VeluxCoordinator, AddEntitiesCallback], None]] = {
    Platform.BINARY_SENSOR: async_setup_binary_sensors,
    Platform.BUTTON: async_setup_buttons,
    Platform.COVER: async_setup_covers,
    Platform.SENSOR: async_setup_sensors,
}


class VeluxRuntime(ProviderRuntime):
    """The client and coordinator of one VELUX ACTIVE account."""

    platforms = (Platform.BINARY_SENSOR, Platform.BUTTON, Platform.COVER, Platform.SENSOR)

    def __init__(self, coordinator: VeluxCoordinator) -> None:
        """Keep the account's coordinator."""
        self.coordinator = coordinator

    @callback
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddEntitiesCallback
    ) -> None:
        """Add the entities of ``platform`` now and whenever new modules appear."""
        _PLATFORM_SETUP[platform](self.coordinator, async_add_entities)

    async def async_diagnostics(self) -> dict[str, Any]:
        """Return the raw answers and the state of the coordinator, redacted."""
        token = self.coordinator.client.token or {}
        return async_redact_data(
            {
                "base_url": self.coordinator.client.base_url,
                "token": {
                    "expires_at": token.get("expires_at"),
                    "scope": token.get("scope"),
                },
                "coordinator": self.coordinator.diagnostics(),
            },
            TO_REDACT,
        )


def build_client(
    hass: HomeAssistant,
    data: dict[str, Any],
    *,
    with_token: bool,
    on_token_update: Callable[[dict[str, Any]], None] | None = None,
) -> NetatmoClient:
    """Build a client from config entry data (or config flow input)."""
    return NetatmoClient(
        async_get_clientsession(hass),
        base_url=data.get(CONF_BASE_URL) or None,
        username=data.get(CONF_USERNAME),
        password=data.get(CONF_PASSWORD),
        client_id=data.get(CONF_CLIENT_ID) or None,
        client_secret=data.get(CONF_CLIENT_SECRET) or None,
        token=data.get(CONF_TOKEN) if with_token else None,
        on_token_update=on_token_update,
        request_timeout=REQUEST_TIMEOUT,
    )


async def async_setup_runtime(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> VeluxRuntime:
    """Build the client and coordinator of an entry and read the cloud once.

    While a rate limit met by an earlier attempt lasts, fail at once without asking
    the cloud: Home Assistant retries the set-up every 5 to 80 seconds.
    """
    limit = async_get_rate_limit(hass, entry.entry_id)
    if limit is not None and dt_util.utcnow() < limit.until:
        LOGGER.debug(
            "VELUX ACTIVE limits %s until %s: not asking the cloud yet", entry.title, limit.until
        )
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="rate_limited")

    @callback
    def _store_token(token: dict[str, Any]) -> None:
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_TOKEN: token})

    client = build_client(hass, dict(entry.data), with_token=True, on_token_update=_store_token)
    scan_interval = timedelta(seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
    coordinator = VeluxCoordinator(hass, entry, client, scan_interval=scan_interval)
    await coordinator.async_config_entry_first_refresh()
    return VeluxRuntime(coordinator)
