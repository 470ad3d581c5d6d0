"""The Netatmo API family: VELUX ACTIVE (KIX 300) accounts; Netatmo accounts next.

Set-up builds the client and the coordinator and reads the cloud once; the platform
modules (``cover``, ``sensor``, ``binary_sensor``, ``button``) add the entities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from ..account import async_keep_request_log
from ..api.netatmo import NetatmoClient
from ..api.netatmo_realtime import NetatmoRealtimeClient, ws_url_for
from ..api.netatmo_signing import NonceSequencer, NonceState, SigningKey
from ..const import CONF_SCAN_INTERVAL, CONF_TOKEN, DOMAIN, LOGGER
from ..types import Provider
from . import config_flow, const, diagnostics
from .const import (
    CONF_NONCE_STATE,
    DEFAULT_SCAN_INTERVAL,
    REALTIME_BACKOFF_INITIAL,
    REALTIME_BACKOFF_MAX,
)
from .coordinator import NetatmoCoordinator
from .flavours import VELUX, build_client
from .issues import async_keys_refused, async_update_signing_issues
from .keys import stored_key, stored_pairs
from .rate_limit import async_get_rate_limit

PLATFORMS: tuple[Platform, ...] = (
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.COVER,
    Platform.LOCK,
    Platform.SENSOR,
    Platform.SWITCH,
)


@dataclass(slots=True)
class NetatmoRuntimeData:
    """The client, the coordinator and the realtime websocket of one account."""

    client: NetatmoClient
    coordinator: NetatmoCoordinator
    realtime: NetatmoRealtimeClient


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

    @callback
    def _store_nonce(state: NonceState) -> None:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_NONCE_STATE: state.as_dict()}
        )

    sequencer = NonceSequencer(
        last_used=NonceState.from_dict(entry.data.get(CONF_NONCE_STATE)), on_update=_store_nonce
    )

    @callback
    def _keys_refused(keys: dict[str, SigningKey]) -> None:
        async_keys_refused(hass, entry, keys)

    client = build_client(
        hass,
        entry.data,
        with_token=True,
        on_token_update=_store_token,
        sequencer=sequencer,
        on_keys_refused=_keys_refused,
    )
    # The requests of the last hour count across reloads (the cloud counts them too).
    client.request_log = async_keep_request_log(hass, entry, client.request_log)
    scan_interval = timedelta(seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
    coordinator = NetatmoCoordinator(
        hass, entry, client, scan_interval=scan_interval, signing_keys=_stored_keys(entry)
    )
    await coordinator.async_config_entry_first_refresh()
    realtime = NetatmoRealtimeClient(
        async_get_clientsession(hass),
        ws_url_for(client.base_url),
        client.async_get_access_token,
        coordinator.async_apply_event,
        lambda: coordinator.async_push_connected(True),
        lambda _reason: coordinator.async_push_connected(False),
        invalidate_access_token=client.async_invalidate_access_token,
        heartbeat=const.REALTIME_HEARTBEAT,
        backoff_initial=REALTIME_BACKOFF_INITIAL,
        backoff_max=REALTIME_BACKOFF_MAX,
    )
    entry.runtime_data = NetatmoRuntimeData(
        client=client, coordinator=coordinator, realtime=realtime
    )
    async_update_signing_issues(hass, entry)
    entry.async_create_background_task(
        hass, realtime.run(), f"{VELUX.api.name} realtime {entry.title}"
    )

    async def _async_stop(_event: Event) -> None:
        await realtime.stop()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop))


def _stored_keys(entry: NetatmoConfigEntry) -> Callable[[], dict[str, SigningKey]]:
    """Return a function giving the signing keys stored in the entry now, by gateway."""
    cache: dict[str, tuple[object, SigningKey | None]] = {}

    def _keys() -> dict[str, SigningKey]:
        keys: dict[str, SigningKey] = {}
        for gateway_id, stored in stored_pairs(entry.data).items():
            cached = cache.get(gateway_id)
            if cached is None or cached[0] is not stored:
                key = stored_key(stored)
                if key is None:
                    LOGGER.warning("The stored signing key of gateway %s is not usable", gateway_id)
                cached = cache[gateway_id] = (stored, key)
            if cached[1] is not None:
                keys[gateway_id] = cached[1]
        return keys

    return _keys


async def async_unload_entry(hass: HomeAssistant, entry: NetatmoConfigEntry) -> None:
    """Close the realtime websocket (Home Assistant stops the coordinator itself)."""
    await entry.runtime_data.realtime.stop()


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
