"""The live connections of a Homely account: one per location, events to coordinators.

Each location gets a :class:`~..api.homely_socket.HomelyLiveClient` whose supervisor task
reconnects by itself. Events go to the coordinator of the location they name (the root
location first; a device known in another location decides), connection changes switch
the coordinator between its live and polling rhythm, and refused credentials start a
reauthentication once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
import contextlib
from typing import TYPE_CHECKING, Any

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant

from ..api.errors import AuthenticationError
from ..api.homely import HomelyClient
from ..api.homely_models import AlarmStateChanged, DeviceStateChanged, HomelyEvent
from ..api.homely_socket import HomelyLiveClient
from ..const import LOGGER
from . import const
from .coordinator import HomelyLocationCoordinator

if TYPE_CHECKING:
    from . import HomelyConfigEntry


class HomelyLive:
    """The live connections of one account."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HomelyConfigEntry,
        session: aiohttp.ClientSession,
        client: HomelyClient,
        coordinators: Mapping[str, HomelyLocationCoordinator],
    ) -> None:
        """Keep what the connections need; :meth:`async_start` opens them."""
        self.hass = hass
        self.entry = entry
        self.session = session
        self.client = client
        self.coordinators = coordinators
        self.timing = const.LIVE_TIMING
        self.connections: dict[str, HomelyLiveClient] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopped = False
        self._reauth_started = False

    def async_start(self) -> None:
        """Open one live connection per location (each reconnects by itself)."""
        self.entry.async_on_unload(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_hass_stop)
        )
        for location_id in self.coordinators:
            live = HomelyLiveClient(
                self.session,
                self.client,
                location_id,
                on_event=self._on_event,
                on_connected=self._on_connected,
                on_disconnected=self._on_disconnected,
                on_auth_failed=self._on_auth_failed,
                backoff_initial=self.timing.backoff_initial,
                backoff_max=self.timing.backoff_max,
                stable_after=self.timing.stable_after,
                renewal_backoff_max=self.timing.renewal_backoff_max,
                connect_timeout=self.timing.connect_timeout,
            )
            self.connections[location_id] = live
            self._tasks[location_id] = self.entry.async_create_background_task(
                self.hass, live.run(), f"Homely live connection {location_id}"
            )

    # -- events ------------------------------------------------------------------

    def _on_event(self, connection_location: str, event: HomelyEvent) -> None:
        """Apply an event to the location it names (the connection's one as fallback)."""
        if isinstance(event, DeviceStateChanged):
            coordinator = self._coordinator_for(event.location_candidates, connection_location)
            home = coordinator.home if coordinator is not None else None
            if home is not None and event.device_id not in home.devices:
                # The ids may name a sub-location: the device decides.
                owner = next(
                    (
                        c
                        for c in self.coordinators.values()
                        if c.home is not None and event.device_id in c.home.devices
                    ),
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
        await self.async_stop()

    async def async_stop(self) -> None:
        """Close every live connection and stop reconnecting."""
        if self._stopped:
            return
        self._stopped = True
        await asyncio.gather(*(live.stop() for live in self.connections.values()))
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.timing.shutdown_timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def diagnostics(self, location_id: str) -> dict[str, Any] | None:
        """Describe the live connection of a location (no URL, no token)."""
        live = self.connections.get(location_id)
        return live.diagnostics() if live is not None else None
