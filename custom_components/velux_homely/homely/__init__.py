"""The Homely alarm: one coordinator and one live connection per location.

Set-up lists the locations (the list cached in the entry when the cloud cannot be
reached), reads each selected location once and opens the live connections; the
platform modules (``alarm_control_panel``, ``binary_sensor``, ``sensor``) add the
entities. The Yale Doorman's lock state is a binary sensor (the API cannot lock); the
lock entities of earlier versions are removed at set-up.

A location that cannot be read at set-up does not hold the others back: it is read again
when the client allows and its devices and entities appear then, without a reload. When
no location could be read because of a rate limit or the read budget, set-up still
succeeds (a set-up retry would only log in and list the locations again, a limit that
lasts an hour costing dozens of calls); only when every location failed for another
reason does set-up fail and Home Assistant retry it. The last read of each location is
remembered across set-ups (see ``..memory``): a reload within the read budget shows it
until the next read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..account import async_keep_request_log
from ..api.errors import ApiError, AuthenticationError
from ..api.homely import HomelyClient
from ..api.homely_models import HomelyHome, HomelyLocation
from ..const import CONF_LOCATIONS, CONF_SCAN_INTERVAL, DOMAIN, LOGGER, PROVIDER_HOMELY
from ..entity import async_register_device, async_remove_stale_devices
from ..memory import async_recall_or_create
from ..types import Provider
from . import config_flow, diagnostics
from .const import CONF_KNOWN_LOCATIONS, MAX_SCAN_INTERVAL, MIN_SCAN_INTERVAL
from .coordinator import HomelyLocationCoordinator
from .entity import device_info, gateway_device_info
from .live import HomelyLive

PLATFORMS: tuple[Platform, ...] = (
    Platform.ALARM_CONTROL_PANEL,
    Platform.BINARY_SENSOR,
    Platform.SENSOR,
)


LAST_READS = "homely_last_reads"
"""Memory kind (see ..memory): what each location showed, across set-ups."""


@dataclass(slots=True)
class HomelyRuntimeData:
    """The client, the coordinators (by location id) and the live connections."""

    client: HomelyClient
    coordinators: dict[str, HomelyLocationCoordinator]
    live: HomelyLive
    poll_interval: timedelta


type HomelyConfigEntry = ConfigEntry[HomelyRuntimeData]


def selected_locations(
    locations: list[HomelyLocation], options: Mapping[str, Any]
) -> list[HomelyLocation]:
    """Return the locations the options select (none selected, or none left: all)."""
    wanted = set(options.get(CONF_LOCATIONS) or ())
    chosen = [location for location in locations if location.location_id in wanted]
    if wanted and not chosen:
        LOGGER.warning("None of the selected Homely locations exists any more: showing all")
    return chosen or locations


async def _async_list_locations(
    hass: HomeAssistant, entry: HomelyConfigEntry, client: HomelyClient
) -> list[HomelyLocation]:
    """List the account's locations; the cached list when the cloud cannot be reached."""
    cached: Mapping[str, str] = entry.data.get(CONF_KNOWN_LOCATIONS) or {}
    try:
        locations = await client.async_get_locations()
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except ApiError as err:
        if not cached:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err
        LOGGER.debug("Listing Homely locations failed (%s): using the cached list", err)
        return [
            HomelyLocation(
                location_id=location_id, name=name, role=None, user_id=None, gateway_serial=None
            )
            for location_id, name in cached.items()
        ]
    known = config_flow.known_locations(locations)
    if known != dict(cached):
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_KNOWN_LOCATIONS: known}
        )
    return locations


@callback
def _async_remove_lock_entities(hass: HomeAssistant, entry: HomelyConfigEntry) -> None:
    """Remove the read-only lock entities (unique id ``<device>_lock``) of version 0.2.

    The Yale Doorman now shows as a binary sensor of device class ``lock``.
    """
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.domain == Platform.LOCK:
            LOGGER.debug("Removing %s: the lock state is a binary sensor now", entity.entity_id)
            registry.async_remove(entity.entity_id)


async def async_setup_entry(hass: HomeAssistant, entry: HomelyConfigEntry) -> None:
    """Read every selected location once, then open the live connections."""
    _async_remove_lock_entities(hass, entry)
    client = config_flow.build_client(hass, entry.data)
    # The read budget and a rate limit outlive a set-up retry or a reload (see ..memory).
    client.home_throttle = async_recall_or_create(
        hass, entry.entry_id, "homely_home_reads", lambda: client.home_throttle
    )
    client.request_log = async_keep_request_log(hass, entry, client.request_log)
    locations = selected_locations(await _async_list_locations(hass, entry, client), entry.options)
    minutes = config_flow.scan_interval_minutes(entry.options)
    if minutes != entry.options.get(CONF_SCAN_INTERVAL, minutes):
        LOGGER.debug(
            "Homely poll interval %s min is outside %d-%d min: polling every %d min",
            entry.options[CONF_SCAN_INTERVAL],
            MIN_SCAN_INTERVAL,
            MAX_SCAN_INTERVAL,
            minutes,
        )
    poll_interval = timedelta(minutes=minutes)
    coordinators: dict[str, HomelyLocationCoordinator] = {}
    last_reads: dict[str, HomelyHome] = async_recall_or_create(
        hass, entry.entry_id, LAST_READS, dict
    )

    @callback
    def _on_read(location_id: str, home: HomelyHome) -> None:
        """Keep the location's devices, under its gateway; detach those no location reports."""
        last_reads[location_id] = home
        gateway = async_register_device(hass, entry, gateway_device_info(home))
        for device in home.devices.values():
            async_register_device(hass, entry, device_info(device), via_device=gateway)
        current: set[str] = set()
        for other_id, coordinator in coordinators.items():
            other = home if other_id == location_id else coordinator.home
            if other is None:
                return  # a location not read yet: its devices cannot be told apart
            current.add(other_id)
            current.update(other.devices)
        async_remove_stale_devices(hass, entry, current)

    for location in locations:
        coordinator = coordinators[location.location_id] = HomelyLocationCoordinator(
            hass,
            entry,
            client,
            location.location_id,
            location.name,
            poll_interval=poll_interval,
            on_read=_on_read,
        )
        if (remembered := last_reads.get(location.location_id)) is not None:
            # What an earlier set-up read stands in until the next read (a reload).
            coordinator.data = remembered
    unread: list[ConfigEntryNotReady] = []
    for coordinator in coordinators.values():
        try:
            await coordinator.async_config_entry_first_refresh()
        except ConfigEntryNotReady as err:
            LOGGER.debug(
                "Homely %s could not be read yet (%s): it follows when it can",
                coordinator.location_name,
                err.__cause__,
            )
            unread.append(err)
    if (
        unread
        and len(unread) == len(coordinators)
        and not any(coordinator.throttled for coordinator in coordinators.values())
    ):
        raise unread[0]
    entry.runtime_data = HomelyRuntimeData(
        client=client,
        coordinators=coordinators,
        live=HomelyLive(hass, entry, async_get_clientsession(hass), client, coordinators),
        poll_interval=poll_interval,
    )
    entry.runtime_data.live.async_start()


async def async_unload_entry(hass: HomeAssistant, entry: HomelyConfigEntry) -> None:
    """Close the live connections (Home Assistant stops the coordinators itself).

    What each location shows now (its last read and the live events since) stands in
    after a reload until the next read.
    """
    await entry.runtime_data.live.async_stop()
    last_reads: dict[str, HomelyHome] = async_recall_or_create(
        hass, entry.entry_id, LAST_READS, dict
    )
    for location_id, coordinator in entry.runtime_data.coordinators.items():
        if coordinator.data is not None:
            last_reads[location_id] = coordinator.data


PROVIDER = Provider(
    key=PROVIDER_HOMELY,
    name="Homely",
    platforms=PLATFORMS,
    account_schema=config_flow.account_schema,
    async_validate=config_flow.async_validate,
    options_flow=config_flow.HomelyOptionsFlow,
    default_options=config_flow.DEFAULT_OPTIONS,
    async_setup_entry=async_setup_entry,
    async_unload_entry=async_unload_entry,
    async_get_diagnostics=diagnostics.async_get_diagnostics,
)
"""The Homely provider."""
