"""Coordinator of a VELUX ACTIVE account: topology now and then, live state often.

* ``homesdata`` (homes, rooms, modules) at set-up and every 30 minutes;
* one ``homestatus`` per home at every poll (the ``scan_interval`` option);
* after a command, quick polls every 3 s until the commanded openers reached
  their target (at most 2 minutes); they read only the homes of those openers,
  the other homes keep their last status (and are read when a normal poll
  falls due meanwhile);
* when the cloud limits requests: keep the last values, stop quick polls and
  poll much less often until a poll succeeds again (another failure meanwhile,
  such as a timeout, keeps the long interval); a command sent meanwhile shows
  its target but starts no poll. A limit met during set-up is remembered across
  Home Assistant's set-up retries (see :mod:`.rate_limit`).

A read due within ``SCHEDULE_TOLERANCE`` is done now: polls start a fraction of a
second off their ideal time, which must not postpone it by a whole interval.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from ..api.errors import ApiError, RateLimitedError
from ..api.netatmo import NetatmoClient
from ..api.netatmo_models import TYPE_GATEWAY, Home, HomesData, HomeStatus, OpenerStatus
from ..const import LOGGER
from ..coordinator import VeluxHomelyCoordinator
from ..entity import async_remove_stale_devices
from .const import (
    QUICK_POLL_INTERVAL,
    QUICK_POLL_WINDOW,
    RATE_LIMIT_BACKOFF_MAX,
    RATE_LIMIT_BACKOFF_MIN,
    RATE_LIMIT_HINT_MAX,
    SCHEDULE_TOLERANCE,
    TOPOLOGY_INTERVAL,
)
from .device import ModuleView, device_info
from .flavours import VELUX, Flavour
from .rate_limit import (
    RateLimit,
    async_forget_rate_limit,
    async_get_rate_limit,
    async_remember_rate_limit,
)

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class NetatmoData:
    """The homes with a gateway (topology), their latest status and every module's view.

    ``modules`` is built once per refresh (or command) by :meth:`build`: entities read
    their module from it instead of searching the homes.
    """

    homes: Mapping[str, Home]
    status: Mapping[str, HomeStatus]
    modules: Mapping[str, ModuleView]

    @classmethod
    def build(cls, homes: Mapping[str, Home], status: Mapping[str, HomeStatus]) -> NetatmoData:
        """Join topology and status into the per-module index."""
        return cls(
            homes=homes,
            status=status,
            modules={
                module.id: ModuleView.build(home, module, status.get(home.id))
                for home in homes.values()
                for module in home.modules
            },
        )

    def with_status(self, home_status: HomeStatus) -> NetatmoData:
        """Return the data with one home's status replaced."""
        return NetatmoData.build(self.homes, {**self.status, home_status.home_id: home_status})


class NetatmoCoordinator(VeluxHomelyCoordinator[NetatmoData]):
    """Polls one account of the Netatmo API family (VELUX ACTIVE)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: NetatmoConfigEntry,
        client: NetatmoClient,
        *,
        scan_interval: timedelta,
        flavour: Flavour = VELUX,
    ) -> None:
        """Set up the coordinator with the account's client and poll interval."""
        super().__init__(
            hass, entry, name=f"{flavour.api.name} {entry.title}", update_interval=scan_interval
        )
        self.client = client
        self.flavour = flavour
        self.normal_interval = scan_interval
        self.homes_data: HomesData | None = None
        self._topology_next: datetime | None = None
        self._devices_outdated = False
        self._pending: dict[str, str] = {}
        """Commanded or awaited opener id -> id of its home."""
        self._quick_until: datetime | None = None
        self._all_read_at: datetime | None = None
        """When the latest poll that read every home started."""
        self._backoff: timedelta | None = None
        """The poll interval set after a rate-limit answer, until a poll succeeds."""
        self.rate_limited_count = 0
        if (limit := async_get_rate_limit(hass, entry.entry_id)) is not None:
            # A set-up retry after a rate limit: the back-off goes on growing.
            self.rate_limited_count = limit.count
            self._backoff = limit.backoff

    @property
    def quick_polling(self) -> bool:
        """Return True while movements after a command are being confirmed."""
        return self._quick_until is not None

    @property
    def has_data(self) -> bool:
        """Return True once a refresh succeeded (``data`` is None during set-up)."""
        return self.data is not None

    @property
    def backing_off(self) -> bool:
        """Return True while polls are spaced out after a rate-limit answer."""
        return (
            self.rate_limited_count > 0
            and self._backoff is not None
            and self.update_interval == self._backoff
        )

    async def _async_read(self) -> NetatmoData:
        """Read the topology when due, then the status of every home."""
        now = dt_util.utcnow()
        try:
            data = await self._async_fetch(now)
        except RateLimitedError as err:
            return self._rate_limited(err, now)
        except ApiError as err:
            if self.rate_limited_count and self._backoff is not None:
                # Nothing says the limit is over: keep the long interval.
                self._hold_backoff(now)
            else:
                self._schedule_next(now)
            self.raise_update_error(err)
        if self.rate_limited_count:
            LOGGER.info("VELUX ACTIVE answers again; polling every %s", self.normal_interval)
            self.rate_limited_count = 0
        async_forget_rate_limit(self.hass, self.config_entry.entry_id)
        self._track_pending(data)
        self._schedule_next(now)
        return data

    async def _async_fetch(self, now: datetime) -> NetatmoData:
        if (
            self.homes_data is None
            or self._topology_next is None
            or now >= self._topology_next - SCHEDULE_TOLERANCE
        ):
            self.homes_data = await self.client.async_get_homes_data()
            self._topology_next = now + TOPOLOGY_INTERVAL
            self._devices_outdated = True
        homes = self._homes(self.homes_data)
        if not homes:
            # No gateway at all is most likely a hiccup of the cloud (the devices are
            # kept): read the topology again at the next poll, not in 30 minutes.
            self._topology_next = now
        last = self.data.status if self.data is not None else {}
        to_read = self._homes_to_read(homes, last, now)
        status: dict[str, HomeStatus] = {}
        for home_id in homes:
            if home_id in to_read:
                status[home_id] = await self.client.async_get_home_status(home_id)
            else:
                status[home_id] = last[home_id]
        if len(to_read) == len(homes):
            self._all_read_at = now
        data = NetatmoData.build(homes, status)
        if self._devices_outdated:
            self._devices_outdated = False
            self._sync_devices(data)
        return data

    def _sync_devices(self, data: NetatmoData) -> None:
        """Create the gateway devices first (the others hang off them); drop vanished ones."""
        registry = dr.async_get(self.hass)
        for view in data.modules.values():
            if view.module.type == TYPE_GATEWAY:
                registry.async_get_or_create(
                    config_entry_id=self.config_entry.entry_id,
                    **device_info(view, self.flavour),
                )
        async_remove_stale_devices(self.hass, self.config_entry, data.modules)

    @staticmethod
    def _homes(homes_data: HomesData) -> dict[str, Home]:
        return {home.id: home for home in homes_data.homes if home.gateways}

    def _homes_to_read(
        self, homes: Mapping[str, Home], last: Mapping[str, HomeStatus], now: datetime
    ) -> set[str]:
        """Return every home, or during quick polls the homes awaiting a movement.

        A quick poll still reads every home when a normal poll fell due meanwhile,
        and a home without a status yet is always read.
        """
        if (
            not self.quick_polling
            or self._all_read_at is None
            or now >= self._all_read_at + self.normal_interval - SCHEDULE_TOLERANCE
        ):
            return set(homes)
        awaited = set(self._pending.values())
        return {home_id for home_id in homes if home_id in awaited or home_id not in last}

    def _rate_limited(self, err: RateLimitedError, now: datetime) -> NetatmoData:
        """Keep the last data, stop quick polls and poll much less often."""
        self.rate_limited_count += 1
        backoff = min(
            RATE_LIMIT_BACKOFF_MIN * 2 ** (self.rate_limited_count - 1), RATE_LIMIT_BACKOFF_MAX
        )
        delay = max(min(err.retry_after or 0.0, RATE_LIMIT_HINT_MAX), backoff)
        self._backoff = timedelta(seconds=delay)
        self._hold_backoff(now)
        if self.data is None:
            self.raise_update_error(err)
        if self.rate_limited_count == 1:
            LOGGER.warning(
                "VELUX ACTIVE limits the requests of this account; keeping the last values "
                "and polling again in %d s",
                delay,
            )
        return self.data

    def _hold_backoff(self, now: datetime) -> None:
        """Stop quick polls and wait the back-off before the next read.

        During set-up (no data yet) the deadline is remembered, so that Home
        Assistant's set-up retries do not ask the cloud before it.
        """
        assert self._backoff is not None  # noqa: S101
        self._pending.clear()
        self._quick_until = None
        self.update_interval = self._backoff
        if not self.has_data:
            async_remember_rate_limit(
                self.hass,
                self.config_entry.entry_id,
                RateLimit(
                    until=now + self._backoff,
                    count=self.rate_limited_count,
                    backoff=self._backoff,
                ),
            )

    def _track_pending(self, data: NetatmoData) -> None:
        """Forget the commanded openers that reached their target."""
        for module_id in list(self._pending):
            view = data.modules.get(module_id)
            status = view.opener if view else None
            if status is None or not status.is_moving:
                del self._pending[module_id]

    def _schedule_next(self, now: datetime) -> None:
        """Poll quickly while movements are confirmed, else at the normal interval."""
        if self._pending and self._quick_until is not None and now < self._quick_until:
            self.update_interval = QUICK_POLL_INTERVAL
            return
        if self._quick_until is not None:
            LOGGER.debug("Movements confirmed (or given up): back to %s", self.normal_interval)
        self._pending.clear()
        self._quick_until = None
        self._backoff = None
        self.update_interval = self.normal_interval

    async def async_command(
        self,
        command: Awaitable[Any],
        *,
        home_id: str,
        targets: Mapping[str, int] | None = None,
        confirm: Iterable[str] = (),
    ) -> None:
        """Send a command, show its targets at once, then confirm them by quick polls.

        ``targets`` maps opener ids to the position they were sent to (shown
        optimistically); ``confirm`` lists further openers whose movement is awaited.
        Without either (identify), nothing is polled. While backing off after a rate
        limit, the targets are shown but nothing is polled before the next poll.
        """
        await self.async_run_command(command)
        if not targets and not confirm:
            return
        if targets:
            self._set_targets(home_id, targets)
        if self.backing_off:
            LOGGER.debug("Rate limited: the command is confirmed at the next poll")
            return
        for module_id in (*(targets or {}), *confirm):
            self._pending[module_id] = home_id
        self._quick_until = dt_util.utcnow() + QUICK_POLL_WINDOW
        self.update_interval = QUICK_POLL_INTERVAL
        await self.async_request_refresh()

    def _set_targets(self, home_id: str, targets: Mapping[str, int]) -> None:
        """Show new target positions before the cloud confirms them."""
        home_status = self.data.status.get(home_id)
        if home_status is None:
            return
        modules = dict(home_status.modules)
        for module_id, target in targets.items():
            status = modules.get(module_id)
            if isinstance(status, OpenerStatus):
                # A stop (negative target) is shown as "stays where it is".
                shown = target if target >= 0 else status.current_position
                modules[module_id] = replace(status, target_position=shown)
        self.data = self.data.with_status(replace(home_status, modules=modules))
        self.async_update_listeners()

    def diagnostics(self) -> dict[str, Any]:
        """Return the state of the coordinator and the raw answers it holds."""
        return {
            "last_update_success": self.last_update_success,
            "update_interval": self.update_interval.total_seconds()
            if self.update_interval
            else None,
            "normal_interval": self.normal_interval.total_seconds(),
            "quick_polling": self.quick_polling,
            "pending": sorted(self._pending),
            "rate_limited_count": self.rate_limited_count,
            "homesdata": dict(self.homes_data.raw) if self.homes_data else None,
            "homestatus": {
                home_id: dict(status.raw) for home_id, status in self.data.status.items()
            }
            if self.data
            else None,
        }
