"""What a set-up Homely account runs: one coordinator and one live connection per location."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import contextlib
from functools import partial
from typing import Any

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.errors import AuthenticationError
from ..api.homely import HomelyClient
from ..api.homely_models import (
    AlarmStateChanged,
    DeviceStateChanged,
    HomelyEvent,
    HomelyLocation,
)
from ..api.homely_socket import HomelyLiveClient
from ..const import LOGGER
from ..coordinator import async_remove_stale_devices
from ..entity import async_add_entities_for_devices
from ..provider import ProviderRuntime, VeluxHomelyConfigEntry
from . import binary_sensor, lock, sensor
from .alarm_control_panel import HomelyAlarmPanel
from .const import HomelyTuning
from .coordinator import HomelyLocationCoordinator
from .entity import gateway_device_info

type EntityFactory = Callable[[HomelyLocationCoordinator, str], list[Any]]

_DEVICE_ENTITIES: dict[Platform, EntityFactory] = {
    Platform.BINARY_SENSOR: binary_sensor.entities_for,
    Platform.LOCK: lock.entities_for,
    Platform.SENSOR: sensor.entities_for,
}


class HomelyRuntime(ProviderRuntime):
    """The coordinators and live connections of one Homely account."""

    platforms = (
        Platform.ALARM_CONTROL_PANEL,
        Platform.BINARY_SENSOR,
        Platform.LOCK,
        Platform.SENSOR,
    )

    def __init__(
        self,
        hass: HomeAssistant,
        entry: VeluxHomelyConfigEntry,
        session: aiohttp.ClientSession,
        client: HomelyClient,
        *,
        poll_interval: float,
        tuning: HomelyTuning,
    ) -> None:
        """Keep what the locations share: the session, the REST client and the timing."""
        self.hass = hass
        self.entry = entry
        self.session = session
        self.client = client
        self.poll_interval = poll_interval
        self.tuning = tuning
        self.coordinators: dict[str, HomelyLocationCoordinator] = {}
        self.live: dict[str, HomelyLiveClient] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopped = False
        self._reauth_started = False

    # -- start -------------------------------------------------------------------

    async def async_start(self, locations: Iterable[HomelyLocation]) -> None:
        """Read every location once, register the gateways and start the live connections.

        Raises ``ConfigEntryNotReady`` / ``ConfigEntryAuthFailed`` (through the first
        refresh) when a location cannot be read.
        """
        for location in locations:
            coordinator = HomelyLocationCoordinator(
                self.hass,
                self.entry,
                self.client,
                location.location_id,
                location.name,
                poll_interval=self.poll_interval,
                tuning=self.tuning,
                on_resynced=self.async_remove_stale_devices,
            )
            await coordinator.async_config_entry_first_refresh()
            self.coordinators[location.location_id] = coordinator

        registry = dr.async_get(self.hass)
        for coordinator in self.coordinators.values():
            info = gateway_device_info(coordinator.data)
            registry.async_get_or_create(
                config_entry_id=self.entry.entry_id,
                identifiers=info.get("identifiers"),
                name=info.get("name"),
                manufacturer=info.get("manufacturer"),
                model=info.get("model"),
                serial_number=info.get("serial_number"),
            )
        self.async_remove_stale_devices()

        self.entry.async_on_unload(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_hass_stop)
        )
        for location_id, coordinator in self.coordinators.items():
            live = HomelyLiveClient(
                self.session,
                self.client,
                location_id,
                on_event=self._on_event,
                on_connected=self._on_connected,
                on_disconnected=self._on_disconnected,
                on_auth_failed=self._on_auth_failed,
                backoff_initial=self.tuning.backoff_initial,
                backoff_max=self.tuning.backoff_max,
                stable_after=self.tuning.stable_after,
                connect_timeout=self.tuning.connect_timeout,
            )
            self.live[location_id] = live
            self._tasks[location_id] = self.entry.async_create_background_task(
                self.hass, live.run(), f"Homely live connection {location_id}"
            )
            coordinator.async_schedule_resync()

    # -- entities ----------------------------------------------------------------

    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddEntitiesCallback
    ) -> None:
        """Add the entities of ``platform`` for every location (and later devices)."""
        for coordinator in self.coordinators.values():
            if platform is Platform.ALARM_CONTROL_PANEL:
                async_add_entities([HomelyAlarmPanel(coordinator)])
                continue
            factory = _DEVICE_ENTITIES[platform]
            async_add_entities_for_devices(
                self.entry,
                coordinator,
                async_add_entities,
                partial(_device_ids, coordinator),
                partial(_entities, factory, coordinator),
            )

    @callback
    def async_remove_stale_devices(self) -> None:
        """Detach devices no location reports any more (all locations' ids are kept)."""
        current: set[str] = set()
        for location_id, coordinator in self.coordinators.items():
            current.add(location_id)
            current.update(coordinator.data.devices)
        async_remove_stale_devices(self.hass, self.entry, current)

    # -- live events -------------------------------------------------------------

    def _on_event(self, connection_location: str, event: HomelyEvent) -> None:
        """Apply an event to the location it names (the connection's one as fallback)."""
        if isinstance(event, DeviceStateChanged):
            coordinator = self._coordinator_for(event.location_candidates, connection_location)
            if coordinator is not None and event.device_id not in coordinator.data.devices:
                # The ids may name a sub-location: the device decides.
                owner = next(
                    (c for c in self.coordinators.values() if event.device_id in c.data.devices),
                    None,
                )
                coordinator = owner or coordinator
            if coordinator is not None:
                coordinator.async_apply_device_event(event)
            return
        self._apply_alarm(connection_location, event)

    def _apply_alarm(self, connection_location: str, event: AlarmStateChanged) -> None:
        candidates = (event.location_id,) if event.location_id else ()
        coordinator = self._coordinator_for(candidates, connection_location)
        if coordinator is not None:
            coordinator.async_apply_alarm_event(event)

    def _coordinator_for(
        self, candidates: Iterable[str], connection_location: str
    ) -> HomelyLocationCoordinator | None:
        for location_id in (*candidates, connection_location):
            if coordinator := self.coordinators.get(location_id):
                return coordinator
        return None  # pragma: no cover - the connection's location always has one

    def _on_connected(self, location_id: str) -> None:
        if not self._stopped:
            self.coordinators[location_id].async_live_connected()

    def _on_disconnected(self, location_id: str, reason: str) -> None:
        if not self._stopped:
            self.coordinators[location_id].async_live_disconnected()

    def _on_auth_failed(self, err: AuthenticationError) -> None:
        if self._stopped or self._reauth_started:
            return
        self._reauth_started = True
        LOGGER.debug("Homely refused the credentials of %s: asking for them", self.entry.title)
        self.entry.async_start_reauth(self.hass)

    # -- stop --------------------------------------------------------------------

    async def _async_hass_stop(self, _event: Event) -> None:
        await self.async_shutdown()

    async def async_shutdown(self) -> None:
        """Close every live connection, stop reconnecting and cancel scheduled resyncs."""
        if self._stopped:
            return
        self._stopped = True
        await asyncio.gather(*(live.stop() for live in self.live.values()))
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.tuning.shutdown_timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for coordinator in self.coordinators.values():
            await coordinator.async_close()

    # -- diagnostics -------------------------------------------------------------

    async def async_diagnostics(self) -> dict[str, Any]:
        """Return the state of every location, connection and the token (no secrets)."""
        locations: dict[str, Any] = {}
        for location_id, coordinator in self.coordinators.items():
            home = coordinator.data
            live = self.live.get(location_id)
            locations[location_id] = {
                "name": home.name,
                "gatewayserial": home.gateway_serial,
                "alarm_state": home.alarm_state,
                "user_role": home.user_role,
                "coordinator": coordinator.diagnostics(),
                "live": live.diagnostics() if live is not None else None,
                "devices": [
                    {
                        "id": device.device_id,
                        "modelName": device.model_name,
                        "serialNumber": device.serial_number,
                        "online": device.online,
                        "features": {
                            feature: {name: state.value for name, state in states.items()}
                            for feature, states in device.features.items()
                        },
                    }
                    for device in home.devices.values()
                ],
            }
        return {
            "base_url": self.client.base_url,
            "poll_interval_minutes": self.poll_interval / 60,
            "api_calls": dict(self.client.calls),
            "token_status": self.client.token_status(),
            "locations": locations,
        }


def _device_ids(coordinator: HomelyLocationCoordinator) -> Iterable[str]:
    return list(coordinator.data.devices)


def _entities(
    factory: EntityFactory, coordinator: HomelyLocationCoordinator, device_id: str
) -> list[Entity]:
    return list(factory(coordinator, device_id))
