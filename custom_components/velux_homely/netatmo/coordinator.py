"""Coordinator of a Netatmo-family account (VELUX ACTIVE): reads, pushes and commands.

Reads:

* ``homesdata`` (homes, rooms, modules) at set-up and every 30 minutes;
* one ``homestatus`` per home at every poll: every ``scan_interval`` without push, every
  30 minutes while the realtime websocket is healthy (a safety net);
* each home's health is its own: a home whose read fails keeps its last status and its
  entities are unavailable until it answers again; only when every home fails is the
  whole read failed.

Commands show their target at once. Their movement is confirmed by the pushes that
follow; without push by a few polls of that home only: the first 3 s after the command,
then right after the arrival the observed speed predicts (at most 8 polls, 3 minutes,
never closer than 2 s apart). With push, a movement whose arrival was not pushed 90 s
after the command is looked at once and from then on polled as without push. An opener
whose position stops changing short of its target (two reads at least 2 s apart) has
stopped (obstacle, rain). A home whose read fails is not followed any more.

An event that only names its home reads that home at once, then at most once per scan
interval while such events go on. A home whose read failed is read again at the scan
interval, push or not. What is pushed while a read is under way is kept: a home that was
not read keeps what is shown, and the pushes after a home's answer are merged into it.

When the cloud limits requests: keep the last values, stop confirmation polls and poll
much less often until a poll succeeds again; a command sent meanwhile shows its target
but starts no poll. A limit met during set-up is remembered across Home Assistant's
set-up retries (see :mod:`.rate_limit`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..api.errors import (
    ApiError,
    AuthenticationError,
    CommandError,
    RateLimitedError,
    TokenEndpointError,
)
from ..api.netatmo import NetatmoClient, PositionMove
from ..api.netatmo_models import TYPE_GATEWAY, Home, HomesData, HomeStatus, OpenerStatus
from ..api.netatmo_realtime import RealtimeEvent, RefreshHint, StateUpdate
from ..api.netatmo_signing import SigningKey
from ..const import LOGGER
from ..coordinator import MIN_DELAY, VeluxHomelyCoordinator
from ..entity import async_register_device, async_remove_stale_devices
from .const import (
    CONFIRM_FIRST_POLL,
    CONFIRM_MAX_GAP,
    CONFIRM_MAX_POLLS,
    CONFIRM_MIN_GAP,
    CONFIRM_WINDOW,
    PUSH_CONFIRM_FALLBACK,
    PUSH_POLL_INTERVAL,
    RATE_LIMIT_BACKOFF_MAX,
    RATE_LIMIT_BACKOFF_MIN,
    RATE_LIMIT_HINT_MAX,
    SCHEDULE_TOLERANCE,
    TOPOLOGY_INTERVAL,
    TOPOLOGY_RETRY,
)
from .device import ModuleView, device_info
from .flavours import VELUX, Flavour
from .issues import async_update_signing_issues
from .rate_limit import (
    RateLimit,
    async_forget_rate_limit,
    async_get_rate_limit,
    async_remember_rate_limit,
)

if TYPE_CHECKING:
    from . import NetatmoConfigEntry

CODE_INVALID_ID = 21
"""setstate error of a module the cloud does not know under that bridge (it moved)."""
BATCH_YIELDS = 3
"""Loop turns a command waits for the commands of a group or scene to join it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NetatmoData:
    """The homes with a gateway (topology), their latest status and every module's view.

    ``modules`` is built once per read (or push, or command) by :meth:`build`: entities
    read their module from it instead of searching the homes.
    """

    homes: Mapping[str, Home]
    status: Mapping[str, HomeStatus]
    modules: Mapping[str, ModuleView]
    failed_homes: frozenset[str] = frozenset()
    """Homes whose latest read failed (their last status is kept, their entities unavailable)."""
    stopped: frozenset[str] = frozenset()
    """Openers that stopped short of their target."""

    @classmethod
    def build(
        cls,
        homes: Mapping[str, Home],
        status: Mapping[str, HomeStatus],
        *,
        failed_homes: frozenset[str] = frozenset(),
        stopped: frozenset[str] = frozenset(),
    ) -> NetatmoData:
        """Join topology and status into the per-module index."""
        return cls(
            homes=homes,
            status=status,
            failed_homes=failed_homes,
            stopped=stopped,
            modules={
                module.id: ModuleView.build(
                    home,
                    module,
                    status.get(home.id),
                    home_ok=home.id in status and home.id not in failed_homes,
                    stopped=module.id in stopped,
                )
                for home in homes.values()
                for module in home.modules
            },
        )

    def with_status(self, home_status: HomeStatus) -> NetatmoData:
        """Return the data with one home's status replaced."""
        return NetatmoData.build(
            self.homes,
            {**self.status, home_status.home_id: home_status},
            failed_homes=self.failed_homes,
            stopped=self.stopped,
        )


@dataclass(slots=True)
class _Movement:
    """A commanded (or awaited) opener whose movement is being confirmed."""

    home_id: str
    target: int | None
    started: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    """(loop time, current position) of each read of its home since the command that
    found it somewhere else."""
    last_read: float | None = None
    """Loop time of the latest read of its home since the command (None: none yet)."""
    reads: int = 0
    """Reads of its home since the command (at most ``CONFIRM_MAX_POLLS``)."""


@dataclass(slots=True)
class _Batch:
    """Moves of one home gathered from the commands of a group or scene."""

    moves: dict[str, PositionMove] = field(default_factory=dict)
    force: bool = False
    done: asyncio.Future[None] | None = None


class NetatmoCoordinator(VeluxHomelyCoordinator[NetatmoData]):
    """Reads one account, applies its pushes and sends its commands."""

    config_entry: NetatmoConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: NetatmoConfigEntry,
        client: NetatmoClient,
        *,
        scan_interval: timedelta,
        flavour: Flavour = VELUX,
        signing_keys: Callable[[], Mapping[str, SigningKey]] = dict,
    ) -> None:
        """Set up the coordinator with the account's client and poll interval.

        ``signing_keys`` returns the keys stored now, by gateway id.
        """
        super().__init__(
            hass, entry, name=f"{flavour.api.name} {entry.title}", update_interval=scan_interval
        )
        self.client = client
        self.flavour = flavour
        self.signing_keys = signing_keys
        self.normal_interval = scan_interval
        self.push_connected = False
        self._push_dropped = False
        """The realtime websocket was up and is down now (read every home once it is back)."""
        self.homes_data: HomesData | None = None
        self._topology_next: datetime | None = None
        self._devices_outdated = False
        self._movements: dict[str, _Movement] = {}
        self._hinted: set[str] = set()
        """Homes an event said changed without saying how: read at the next read."""
        self._hint_read_at: dict[str, float] = {}
        self._emptied_homes: set[str] = set()
        """Known homes the latest topology listed without modules (kept that once)."""
        """Loop time of the latest read of each home for a hint (one per scan interval)."""
        self._read_homes: set[str] = set()
        """Homes the latest read read (a confirmation poll reads only some)."""
        self._home_read_at: dict[str, float] = {}
        """Loop time of the latest successful read of each home."""
        self._failed_homes: set[str] = set()
        """Homes whose latest read failed (kept across failed polls: logged once)."""
        self._last_read_at: float | None = None
        """Loop time of the end of the latest read (a failed home is read again from it)."""
        self._events = 0
        """State updates pushed so far (orders them against the answers of a read)."""
        self._events_in_read: list[tuple[int, StateUpdate]] = []
        """State updates pushed while a read is under way (replayed onto its answers)."""
        self._batches: dict[str, _Batch] = {}
        self._all_read_at: float | None = None
        """Loop time of the latest read of every home."""
        self._backoff: timedelta | None = None
        """The poll interval set after a rate-limit answer, until a poll succeeds."""
        self.rate_limited_count = 0
        self.polls_for_commands = 0
        """homestatus reads spent on confirming commands (diagnostics, benchmarks)."""
        if (limit := async_get_rate_limit(hass, entry.entry_id)) is not None:
            # A set-up retry after a rate limit: the back-off goes on growing.
            self.rate_limited_count = limit.count
            self._backoff = limit.backoff

    # -- state -------------------------------------------------------------------

    @property
    def cadence(self) -> timedelta:
        """Return the time between two reads of every home in the current push state."""
        return PUSH_POLL_INTERVAL if self.push_connected else self.normal_interval

    @property
    def confirming(self) -> bool:
        """Return True while movements after a command are being confirmed."""
        return bool(self._movements)

    def can_sign(self, bridge_id: str | None) -> bool:
        """Return True when a signing key of that gateway is stored."""
        return bridge_id is not None and bridge_id in self.signing_keys()

    def is_raining(self, bridge_id: str | None) -> bool:
        """Return True when the gateway reports rain."""
        view = self.data.modules.get(bridge_id) if bridge_id else None
        gateway = view.gateway if view else None
        return bool(gateway and gateway.is_raining)

    @property
    def has_data(self) -> bool:
        """Return True once a refresh succeeded (``data`` is None during set-up)."""
        return self.data is not None

    @property
    def rate_limited_until(self) -> datetime | None:
        """Return the end of the latest rate limit (None: none since the last good poll).

        No poll goes out before it, set-up retries and reloads included.
        """
        limit = async_get_rate_limit(self.hass, self.config_entry.entry_id)
        return None if limit is None else limit.until

    @property
    def backing_off(self) -> bool:
        """Return True while polls are spaced out after a rate-limit answer."""
        return self.rate_limited_count > 0 and self._backoff is not None

    # -- reads -------------------------------------------------------------------

    async def _async_read(self) -> NetatmoData:
        """Read the topology when due, then the status of the homes due."""
        now = dt_util.utcnow()
        try:
            data = await self._async_fetch(now)
        except RateLimitedError as err:
            return self._rate_limited(err, now)
        except ApiError as err:
            if self.backing_off:
                # Nothing says the limit is over: keep the long interval.
                self._hold_backoff(now)
            else:
                # Push or not, a failed read is tried again at the scan interval.
                self.update_interval = self.normal_interval
            self.raise_update_error(err)
        if self.rate_limited_count:
            LOGGER.info(
                "%s answers again; polling every %s", self.flavour.api.name, self.normal_interval
            )
            self.rate_limited_count = 0
            self._backoff = None
        async_forget_rate_limit(self.hass, self.config_entry.entry_id)
        self._follow_movements(data)
        self.update_interval = timedelta(seconds=max(self._next_read_delay(), MIN_DELAY))
        return data

    async def _async_fetch(self, now: datetime) -> NetatmoData:
        homes = await self._async_read_topology(now)
        last = self.data.status if self.data is not None else {}
        failed = self._failed_homes
        to_read = self._homes_to_read(homes, last)
        # Hints that arrive while this read is under way are read next time.
        hinted = set(self._hinted)
        read_before = dict(self._home_read_at)
        self._events_in_read.clear()
        status, errors, answered = await self._async_read_homes(homes, to_read, last)
        self._hinted -= hinted
        self._last_read_at = self.hass.loop.time()
        for home_id in hinted & to_read:
            self._hint_read_at[home_id] = self._last_read_at
        self._keep_pushes(homes, status, answered)
        if len(to_read) == len(homes):
            # The normal read was made (even if it failed: its retry is the failed
            # homes', at the poll interval).
            self._all_read_at = self._last_read_at
        if errors and failed.issuperset(homes):
            # Every home failed: the whole read failed. When only some did (a read of
            # the homes of a command or of a push hint among them), each home's
            # entities follow their own home's health.
            raise errors[0]
        self._read_homes = {home_id for home_id in to_read if home_id not in failed}
        failed.intersection_update(homes)
        read_at = self.hass.loop.time()
        data = NetatmoData.build(
            homes,
            status,
            failed_homes=frozenset(failed),
            stopped=self._stopped(
                status,
                last,
                judged={
                    home_id
                    for home_id in self._read_homes
                    if read_at - read_before.get(home_id, float("-inf")) >= CONFIRM_MIN_GAP
                },
            ),
        )
        if self._devices_outdated:
            self._devices_outdated = False
            self._sync_devices(data)
        return data

    async def _async_read_topology(self, now: datetime) -> dict[str, Home]:
        """Read ``homesdata`` when it is due; return the homes that have a gateway."""
        fresh = False
        if (
            self.homes_data is None
            or self._topology_next is None
            or now >= self._topology_next - SCHEDULE_TOLERANCE
        ):
            try:
                self.homes_data = await self.client.async_get_homes_data()
            except (RateLimitedError, AuthenticationError, TokenEndpointError):
                raise  # the account's trouble
            except ApiError as err:
                if self.homes_data is None:
                    raise
                # The topology read every 30 minutes failed: the homes are still there;
                # read their state with the topology we have and try it again later.
                LOGGER.warning(
                    "Reading the homes of %s failed, keeping the ones known (%s)",
                    self.flavour.api.name,
                    err,
                )
                self._topology_next = now + TOPOLOGY_RETRY
            else:
                fresh = True
                self._topology_next = now + TOPOLOGY_INTERVAL
                self._devices_outdated = True
        homes = {home.id: home for home in self.homes_data.homes if home.gateways}
        if not homes:
            # No gateway at all is most likely a hiccup of the cloud (the devices are
            # kept): read the topology again at the next poll, not in 30 minutes.
            self._topology_next = now
        return self._keep_emptied(homes, now, fresh=fresh)

    def _keep_emptied(
        self, homes: dict[str, Home], now: datetime, *, fresh: bool
    ) -> dict[str, Home]:
        """Keep a known home the topology lists without its modules, once.

        Such an answer is most likely partial: the home is kept as it was and the
        topology read again at the next poll; when that read agrees, the home is gone.
        """
        known = self.data.homes if self.data is not None else {}
        listed = {home.id: home for home in self.homes_data.homes} if self.homes_data else {}
        self._emptied_homes &= listed.keys()
        if not fresh:
            # No new answer (the topology was not due, or its read failed): a kept home
            # stays kept until one confirms it.
            for home_id in self._emptied_homes & known.keys():
                homes[home_id] = known[home_id]
            return homes
        for home_id, home in known.items():
            emptied = home_id in listed and not listed[home_id].modules
            if not emptied:
                self._emptied_homes.discard(home_id)
            elif home_id not in self._emptied_homes:
                LOGGER.debug(
                    "The topology lists %s without modules: kept until read again", home_id
                )
                self._emptied_homes.add(home_id)
                homes[home_id] = home
                self._topology_next = now
        return homes

    async def _async_read_homes(
        self,
        homes: Mapping[str, Home],
        to_read: set[str],
        last: Mapping[str, HomeStatus],
    ) -> tuple[dict[str, HomeStatus], list[ApiError], dict[str, int]]:
        """Read ``homestatus`` of the homes ``to_read``; keep the last status of the others.

        A home that fails keeps its last status and is marked failed (its entities
        unavailable); return the statuses, the errors met and, for each home that
        answered, how many state updates had been pushed when its answer came.
        """
        failed = self._failed_homes
        # A read before the normal poll is due confirms commands (it may read every
        # home: an account of one home).
        confirming = (
            {movement.home_id for movement in self._movements.values()}
            if self._normal_read_due_in() > SCHEDULE_TOLERANCE.total_seconds()
            else set()
        )
        status: dict[str, HomeStatus] = {}
        errors: list[ApiError] = []
        answered: dict[str, int] = {}
        for home_id, home in homes.items():
            if home_id not in to_read:
                if home_id in last:
                    status[home_id] = last[home_id]
                continue
            types = {module.id: module.type for module in home.modules}
            if home_id in confirming:
                self.polls_for_commands += 1
            try:
                status[home_id] = await self.client.async_get_home_status(home_id, types)
            except (RateLimitedError, AuthenticationError, TokenEndpointError):
                raise  # the account's trouble, not this home's
            except ApiError as err:
                errors.append(err)
                if home_id not in failed:
                    LOGGER.warning(
                        "Reading %s of %s failed: its entities are unavailable until it "
                        "answers (%s)",
                        home.name or home_id,
                        self.flavour.api.name,
                        err,
                    )
                failed.add(home_id)
                if home_id in last:
                    status[home_id] = last[home_id]
            else:
                answered[home_id] = self._events
                self._home_read_at[home_id] = self.hass.loop.time()
                if home_id in failed:
                    LOGGER.info("%s answers again", home.name or home_id)
                failed.discard(home_id)
        return status, errors, answered

    def _keep_pushes(
        self, homes: Mapping[str, Home], status: dict[str, HomeStatus], answered: Mapping[str, int]
    ) -> None:
        """Keep what was pushed while the read was under way.

        A home that did not answer keeps its status as shown now (pushes included); the
        updates pushed after a home's answer came are merged into that answer.
        """
        shown = self.data.status if self.data is not None else {}
        for home_id in homes:
            if home_id not in answered and home_id in shown:
                status[home_id] = shown[home_id]
        for count, event in self._events_in_read:
            seen = answered.get(event.home_id)
            if seen is not None and count > seen and event.home_id in status:
                status[event.home_id] = status[event.home_id].merged(event.modules, event.rooms)
        self._events_in_read.clear()

    def _stopped(
        self,
        status: Mapping[str, HomeStatus],
        last: Mapping[str, HomeStatus],
        *,
        judged: set[str],
    ) -> frozenset[str]:
        """Return the openers that stopped short of their target (obstacle, rain).

        Such an opener reports the same position and target in two reads in a row.
        Only the homes in ``judged`` can show a new stop: two reads a moment apart
        (a push hint right after a poll) see a slow opener at the same position.
        """
        previous = self.data.stopped if self.data is not None else frozenset()
        stopped: set[str] = set()
        for home_id, home_status in status.items():
            before = last.get(home_id)
            for module_id, module in home_status.modules.items():
                if not isinstance(module, OpenerStatus) or not module.is_moving:
                    continue
                movement = self._movements.get(module_id)
                if movement is not None and not movement.samples:
                    continue  # the first look after a command: the motor may not run yet
                old = before.opener(module_id) if before is not None else None
                unchanged = (
                    old is not None
                    and old is not module
                    and old.current_position == module.current_position
                    and old.target_position == module.target_position
                )
                if module_id in previous and (unchanged or old is module):
                    stopped.add(module_id)  # still where it stopped
                elif unchanged and home_id in judged:
                    stopped.add(module_id)
        return frozenset(stopped)

    def _sync_devices(self, data: NetatmoData) -> None:
        """Register every module's device under its gateway; drop vanished ones."""
        gateways = {
            module_id: async_register_device(
                self.hass, self.config_entry, device_info(view, self.flavour)
            )
            for module_id, view in data.modules.items()
            if view.module.type == TYPE_GATEWAY
        }
        for view in data.modules.values():
            if view.module.type != TYPE_GATEWAY:
                async_register_device(
                    self.hass,
                    self.config_entry,
                    device_info(view, self.flavour),
                    via_device=gateways.get(view.bridge_id or ""),
                )
        async_remove_stale_devices(self.hass, self.config_entry, data.modules)
        async_update_signing_issues(self.hass, self.config_entry, data)

    def _normal_read_due_in(self) -> float:
        if self._all_read_at is None:
            return 0.0
        return self._all_read_at + self.cadence.total_seconds() - self.hass.loop.time()

    def _homes_to_read(self, homes: Mapping[str, Home], last: Mapping[str, HomeStatus]) -> set[str]:
        """Return every home, or for a confirmation poll the homes of the movements.

        A confirmation poll still reads every home when a normal poll fell due
        meanwhile, and a home without a status yet is always read.
        """
        awaited = (
            {movement.home_id for movement in self._movements.values()}
            | self._hinted
            | self._failed_homes
        )
        if not awaited or self._normal_read_due_in() <= SCHEDULE_TOLERANCE.total_seconds():
            return set(homes)
        return {home_id for home_id in homes if home_id in awaited or home_id not in last}

    # -- confirmation of movements -------------------------------------------------

    def _follow_movements(self, data: NetatmoData) -> None:
        """Note where the followed openers are; forget those that arrived or stopped.

        An opener whose home failed to answer is not followed either: its entities are
        unavailable, and the normal poll reads that home again.
        """
        now = self.hass.loop.time()
        for module_id, movement in list(self._movements.items()):
            view = data.modules.get(module_id)
            status = view.opener if view else None
            if (
                status is None
                or view is None
                or not view.moving
                or movement.home_id in data.failed_homes
            ):
                del self._movements[module_id]
                continue
            if movement.home_id in self._read_homes:
                movement.last_read = now
                movement.reads += 1
                position = status.current_position
                if position is not None and (
                    not movement.samples or movement.samples[-1][1] != position
                ):
                    movement.samples.append((now, position))
            if (
                now - movement.started > CONFIRM_WINDOW.total_seconds()
                or movement.reads >= CONFIRM_MAX_POLLS
            ):
                LOGGER.debug("Giving up following %s", module_id)
                del self._movements[module_id]

    def _confirm_delay(self) -> float | None:
        """Return the seconds until the next read for a hint or a movement (None: none)."""
        if self.backing_off:
            return None
        now = self.hass.loop.time()
        delays: list[float] = [
            # A home an event names is read at once, then at most once per scan interval
            # while such events go on: never more than polling would cost.
            self._hint_read_at.get(home_id, float("-inf"))
            + self.normal_interval.total_seconds()
            - now
            for home_id in self._hinted
        ]
        for movement in self._movements.values():
            if self.push_connected and movement.last_read is None:
                delays.append(movement.started + PUSH_CONFIRM_FALLBACK - now)
                continue
            # Without push, or no push told the arrival by the fallback read: polls,
            # never closer than the minimum gap (a moving opener seen twice at the
            # same position would look stopped).
            samples = movement.samples
            if len(samples) < 2 or movement.target is None:
                delays.append(max(movement.started + CONFIRM_FIRST_POLL - now, CONFIRM_MIN_GAP))
                continue
            (t0, p0), (t1, p1) = samples[-2], samples[-1]
            speed = abs(p1 - p0) / max(t1 - t0, 0.001)  # unchanged: the longest gap
            remaining = abs(movement.target - p1) / max(speed, 0.001)
            # Home Assistant's timer may fire a second early: look 2 s after the arrival.
            delays.append(min(max(remaining + 2.0, CONFIRM_MIN_GAP), CONFIRM_MAX_GAP))
        return max(min(delays), 0.0) if delays else None

    def _next_read_delay(self) -> float:
        """Return the seconds until the next read.

        The earliest of: a confirmation poll, a home that failed (read again at the scan
        interval, push or not), the normal read.
        """
        delays = [max(self._normal_read_due_in(), 0.0)]
        if (confirm := self._confirm_delay()) is not None:
            delays.append(confirm)
        if self._failed_homes and self._last_read_at is not None:
            retry_at = self._last_read_at + self.normal_interval.total_seconds()
            delays.append(max(retry_at - self.hass.loop.time(), 0.0))
        return min(delays)

    @callback
    def _reschedule(self) -> None:
        """Move the next read to what the movements and the push state need now.

        A read under way schedules the next one when it ends (hints, movements and the
        push state included): nothing is moved meanwhile.
        """
        if self.data is not None and not self.backing_off and not self.reading:
            self.async_schedule_read(self._next_read_delay())

    # -- rate limits ---------------------------------------------------------------

    def _rate_limited(self, err: RateLimitedError, now: datetime) -> NetatmoData:
        """Keep the last data, stop confirmation polls and poll much less often."""
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
                "%s limits the requests of this account; keeping the last values "
                "and polling again in %d s",
                self.flavour.api.name,
                delay,
            )
        return self.data

    def _hold_backoff(self, now: datetime) -> None:
        """Stop confirmation polls and wait the back-off before the next read.

        The deadline is remembered, so that Home Assistant's set-up retries and a
        reload do not ask the cloud before it.
        """
        assert self._backoff is not None  # noqa: S101
        self._movements.clear()
        self.update_interval = self._backoff
        if self.rate_limited_count:
            # Remembered across set-up retries and reloads (see .rate_limit).
            async_remember_rate_limit(
                self.hass,
                self.config_entry.entry_id,
                RateLimit(
                    until=now + self._backoff,
                    count=self.rate_limited_count,
                    backoff=self._backoff,
                ),
            )

    # -- push ----------------------------------------------------------------------

    @callback
    def async_push_connected(self, connected: bool) -> None:
        """Stretch the poll interval while the realtime websocket is up; restore it after.

        When it comes back after a drop, every home is read once: what changed after the
        last poll of the outage was pushed to nobody.
        """
        if connected == self.push_connected:
            return
        self.push_connected = connected
        if connected and self._push_dropped and self.data is not None:
            self._hinted.update(self.data.homes)
        self._push_dropped = not connected
        LOGGER.debug(
            "%s realtime push %s: polling every %s",
            self.flavour.api.name,
            "up" if connected else "down",
            self.cadence,
        )
        self._reschedule()

    @callback
    def async_apply_event(self, event: RealtimeEvent) -> None:
        """Merge what an event carries into the data at once (or read its home)."""
        data = self.data
        if data is None or event.home_id not in data.homes:
            LOGGER.debug("Realtime event of an unknown home: ignored until the next read")
            return
        if isinstance(event, RefreshHint) or event.home_id not in data.status:
            self._async_read_home_soon(event.home_id)
            return
        self._apply_update(data, event)

    def _apply_update(self, data: NetatmoData, event: StateUpdate) -> None:
        self._events += 1
        if self.reading:
            self._events_in_read.append((self._events, event))
        merged = data.status[event.home_id].merged(event.modules, event.rooms)
        stopped = set(data.stopped)
        for module_id in event.modules:
            stopped.discard(module_id)
        updated = NetatmoData.build(
            data.homes,
            {**data.status, event.home_id: merged},
            failed_homes=data.failed_homes,
            stopped=frozenset(stopped),
        )
        for module_id in event.modules:
            movement = self._movements.get(module_id)
            view = updated.modules.get(module_id)
            if movement is not None and (view is None or not view.moving):
                del self._movements[module_id]
        self.async_push(updated)
        if not self._movements:
            self._reschedule()

    @callback
    def _async_read_home_soon(self, home_id: str) -> None:
        """Read a home an event says changed without saying how."""
        self._hinted.add(home_id)
        self._reschedule()

    # -- commands ------------------------------------------------------------------

    async def async_command(
        self,
        send: Callable[[NetatmoData], Awaitable[Any]],
        *,
        home_id: str,
        targets: Mapping[str, int] | None = None,
        confirm: Iterable[str] = (),
    ) -> None:
        """Send a command, show its targets at once, then confirm its movements.

        ``send`` builds the command from the current data: when the cloud refuses it
        because a module moved to another bridge (code 21), the topology is read again
        and the command sent once more. ``targets`` maps opener ids to the position
        they were sent to (shown at once); ``confirm`` lists further openers whose
        movement is awaited. While backing off after a rate limit, the targets are shown
        but nothing is polled before the next poll.
        """
        await self.async_run_command(self._async_send(send))
        if not targets and not confirm:
            return
        if targets:
            self._set_targets(home_id, targets)
        if self.backing_off:
            LOGGER.debug("Rate limited: the command is confirmed at the next poll")
            return
        now = self.hass.loop.time()
        for module_id in (*(targets or {}), *confirm):
            target = (targets or {}).get(module_id)
            if target is not None and target < 0:
                target = None
            self._movements[module_id] = _Movement(home_id=home_id, target=target, started=now)
        if not targets and not self.push_connected:
            # A scenario: only the cloud knows where it sends the openers. (Should the
            # debouncer drop this request during a read, the movements above are
            # followed once that read ends.)
            await self.async_request_refresh()
            return
        self._reschedule()

    async def _async_send(self, send: Callable[[NetatmoData], Awaitable[Any]]) -> None:
        try:
            await send(self.data)
        except CommandError as err:
            if not any(failure.code == CODE_INVALID_ID for failure in err.failures):
                raise
            LOGGER.debug("A module moved to another bridge: reading the topology again")
            self._topology_next = None
            await self.async_refresh()
            await send(self.data)

    async def async_move(self, view: ModuleView, position: int, *, force: bool = False) -> None:
        """Move an opener; the moves of a group or scene go out as one ``setstate``.

        Commands of the same home that arrive within a few loop turns (the entities of
        one service call) join one call: window openings share one timestamp with
        consecutive nonces.
        """
        home_id = view.home.id
        batch = self._batches.get(home_id)
        leader = batch is None
        if batch is None:
            batch = self._batches[home_id] = _Batch()
        own = batch.moves[view.module.id] = PositionMove(
            module_id=view.module.id,
            bridge_id=view.bridge_id,
            position=position,
            velux_type=view.module.velux_type,
        )
        batch.force = batch.force or force
        if not leader:
            if batch.done is None:
                batch.done = self.hass.loop.create_future()
            # Shielded: one follower cancelled leaves the others' outcome alone.
            await asyncio.shield(batch.done)
            return
        try:
            for _ in range(BATCH_YIELDS):
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            # The leader's call was cancelled (a script restarted): the moves of the
            # others that joined it still go out.
            del self._batches[home_id]
            if batch.moves.get(view.module.id) is own:  # (a later move may replace it)
                del batch.moves[view.module.id]
            if batch.done is not None:
                self.config_entry.async_create_background_task(
                    self.hass, self._async_send_joined(home_id, batch), "velux batch"
                )
            raise
        del self._batches[home_id]
        await self._async_send_batch(home_id, batch)

    async def _async_send_batch(self, home_id: str, batch: _Batch) -> None:
        """Send the moves of a batch as one command; its followers get the outcome."""
        moves = dict(batch.moves)

        async def _send(data: NetatmoData) -> None:
            current = [
                replace(move, bridge_id=data.modules[module_id].bridge_id)
                if module_id in data.modules
                else move
                for module_id, move in moves.items()
            ]
            await self.client.async_set_positions(
                home_id, current, signing=self.signing_keys(), force=batch.force
            )

        try:
            await self.async_command(
                _send,
                home_id=home_id,
                targets={module_id: move.position for module_id, move in moves.items()},
            )
        except BaseException as err:
            if batch.done is not None and not batch.done.done():
                batch.done.set_exception(err)
            raise
        if batch.done is not None and not batch.done.done():
            batch.done.set_result(None)

    async def _async_send_joined(self, home_id: str, batch: _Batch) -> None:
        """Send the moves that joined a cancelled leader (the followers get the error)."""
        with contextlib.suppress(Exception):
            await self._async_send_batch(home_id, batch)

    def _set_targets(self, home_id: str, targets: Mapping[str, int]) -> None:
        """Show new target positions before the cloud confirms them."""
        home_status = self.data.status.get(home_id)
        if home_status is None:
            return
        shown: dict[str, dict[str, Any]] = {}
        for module_id, target in targets.items():
            status = home_status.opener(module_id)
            if status is not None:
                # A stop (negative target) is shown as "stays where it is".
                shown[module_id] = {
                    "target_position": target if target >= 0 else status.current_position
                }
        # Merged into the answer itself: a push of another module of the home keeps it.
        self.data = NetatmoData.build(
            self.data.homes,
            {**self.data.status, home_id: home_status.merged(shown)},
            failed_homes=self.data.failed_homes,
            stopped=self.data.stopped - set(targets),
        )
        self.async_update_listeners()

    @callback
    def async_show_fields(self, home_id: str, module_id: str, **fields: Any) -> None:
        """Show module fields a command just set (silent, mode, locked) before a read."""
        home_status = self.data.status.get(home_id)
        if home_status is None or module_id not in home_status.modules:
            return
        # ``fields`` are the answer's own keys: a push of another module keeps them.
        self.data = self.data.with_status(home_status.merged({module_id: fields}))
        self.async_update_listeners()

    def diagnostics(self) -> dict[str, Any]:
        """Return the state of the coordinator and the raw answers it holds."""
        return {
            "last_update_success": self.last_update_success,
            "update_interval": self.update_interval.total_seconds()
            if self.update_interval
            else None,
            "normal_interval": self.normal_interval.total_seconds(),
            "push_connected": self.push_connected,
            "confirming": sorted(self._movements),
            "polls_for_commands": self.polls_for_commands,
            "rate_limited_count": self.rate_limited_count,
            "failed_homes": sorted(self.data.failed_homes) if self.data else [],
            "homesdata": dict(self.homes_data.raw) if self.homes_data else None,
            "homestatus": {
                home_id: dict(status.raw) for home_id, status in self.data.status.items()
            }
            if self.data
            else None,
        }
