"""Coordinator of one Homely location: ``/home`` reads on Home Assistant's schedule, live pushes.

* While the location's live connection is up, ``/home`` is read every 30 minutes (changes
  arrive live; some setups stream only a subset, so a slow read stays); while it is down,
  at the poll interval of the options.
* Live events are applied at once with :meth:`async_push`, which keeps the next read where
  it was (a push is not a read).
* A reconnection reads the location again (events during the gap are lost), except the
  first connection right after set-up's read. A reconnection while a read is under way
  (whose answer may predate the gap) is followed by one more read as soon as the client
  allows. These reads do not go through Home Assistant's refresh debouncer, which drops
  or defers a request made while a refresh runs (and a push cancels a deferred one).
* An event of a device the data does not hold reads the location again (a device added
  since the last read): at once, or :data:`~.const.UNKNOWN_DEVICE_READ_GAP` after the
  previous read. When a read that started after such an event still does not list the
  device, its events read nothing more: it shows with the first regular read that lists it.
* The client decides whether a read may go (its budget per location, the cloud's
  ``retryAfter`` with a growing back-off): a read held back or rate limited keeps the data
  and is tried again when the client says.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import math
from typing import TYPE_CHECKING, Any, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..api.errors import ApiError, AuthenticationError, RateLimitedError, ReadHeldBackError
from ..api.homely import RATE_LIMIT_FALLBACK, HomelyClient, TokenRateLimitedError
from ..api.homely_models import AlarmStateChanged, DeviceStateChanged, HomelyHome
from ..const import LOGGER
from ..coordinator import MIN_DELAY, VeluxHomelyCoordinator
from .const import (
    FIRST_CONNECT_GRACE,
    RESYNC_INTERVAL,
    TOKEN_BACKOFF_MAX,
    UNKNOWN_DEVICE_READ_GAP,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from . import HomelyConfigEntry


class HomelyLocationCoordinator(VeluxHomelyCoordinator[HomelyHome]):
    """The state of one location: alarm and devices."""

    config_entry: HomelyConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HomelyConfigEntry,
        client: HomelyClient,
        location_id: str,
        name: str,
        *,
        poll_interval: timedelta,
        on_read: Callable[[str, HomelyHome], None] | None = None,
    ) -> None:
        """Set up the coordinator of ``location_id`` (polling until the live connection is up)."""
        super().__init__(hass, entry, name=f"Homely {name}", update_interval=poll_interval)
        self.client = client
        self.location_id = location_id
        self.location_name = name
        self.poll_interval = poll_interval
        self.resync_interval = RESYNC_INTERVAL
        self.unknown_device_read_gap = UNKNOWN_DEVICE_READ_GAP
        self._on_read = on_read
        self.live_connected = False
        self._ever_connected = False
        self.last_read: datetime | None = None
        self._alarm_events = 0
        """Alarm events applied so far (a read keeps an alarm state applied after it)."""
        self.rate_limited_until: datetime | None = None
        """When the latest rate limit of the cloud on ``/home`` ends (None: none since the
        last read); the client holds reads back until then."""
        self.throttled = False
        self._token_backoff = 0.0
        """The current wait (seconds) after the sign-in answered 429 (0: none)."""
        """The latest read was rate limited or held back by the read budget: it goes
        again when the client allows (not an error of the location)."""
        self._read_again = False
        """A reconnection happened during the read under way: one more read follows."""
        self._read_task: asyncio.Task[None] | None = None
        """The read :meth:`async_read_soon` started last."""
        self._read_pending = False
        """That read has not started reading yet."""
        self._unknown_pending: set[str] = set()
        """Devices the data lacks whose events came since the read that will look for them
        started (or none has succeeded since)."""
        self._unknown_checking: frozenset[str] = frozenset()
        """The devices of ``_unknown_pending`` the read under way looks for."""
        self._unknown_ignored: set[str] = set()
        """Devices a read after their event did not list: their events read nothing."""
        self.reads = 0
        self.reads_held_back = 0
        self.events_applied = 0
        self.events_stale = 0
        self.events_ignored = 0
        """Events of devices a read after their first event did not list."""

    @property
    def home(self) -> HomelyHome | None:
        """Return the data held (None before the first successful read)."""
        return cast("HomelyHome | None", self.data)

    @property
    def cadence(self) -> timedelta:
        """Return the time between two reads in the current live state."""
        return self.resync_interval if self.live_connected else self.poll_interval

    # -- reads -------------------------------------------------------------------

    async def _async_read(self) -> HomelyHome:
        """Read ``/home``; when asked to during the read, schedule one more."""
        self._read_again = False
        self._read_pending = False
        self._unknown_checking = frozenset(self._unknown_pending)
        try:
            return await self._async_read_home()
        finally:
            self._unknown_checking = frozenset()
            if self._read_again:
                self._read_again = False
                wait = self.client.home_throttle.wait(self.location_id)
                # Home Assistant's timer may fire up to a second early: one more second.
                delay = math.ceil(wait) + 1 if wait > 0 else MIN_DELAY
                self.update_interval = timedelta(seconds=delay)
                LOGGER.debug(
                    "Reading Homely %s once more in %.0f s (reconnected during a read)",
                    self.location_name,
                    delay,
                )

    async def _async_read_home(self) -> HomelyHome:
        """Read ``/home`` and merge it with what live events brought meanwhile."""
        alarm_events_before = self._alarm_events
        self.update_interval = self.cadence
        try:
            home = await self.client.async_get_home(self.location_id)
        except RateLimitedError as err:
            held = self.home
            self.throttled = True
            wait = err.retry_after if err.retry_after is not None else RATE_LIMIT_FALLBACK
            if isinstance(err, TokenRateLimitedError):
                # The /home throttle does not see the sign-in's limit: back off here,
                # doubling while it lasts (never shorter than the cloud's hint).
                self._token_backoff = min(max(wait, self._token_backoff * 2), TOKEN_BACKOFF_MAX)
                wait = max(wait, self._token_backoff)
            # The data held stays (live events still arrive); the read goes when allowed
            # (Home Assistant's timer may fire up to a second early: one more second).
            self.update_interval = timedelta(seconds=math.ceil(wait) + 1)
            if isinstance(err, ReadHeldBackError):
                self.reads_held_back += 1
            else:
                self.rate_limited_until = dt_util.utcnow() + timedelta(seconds=wait)
            LOGGER.debug("Reading Homely %s again in %.0f s (%s)", self.location_name, wait, err)
            if held is None:
                self.raise_update_error(err)
            return held
        except AuthenticationError as err:
            self.throttled = False
            self.raise_update_error(err)
        except ApiError as err:
            self.throttled = False
            held = self.home
            if held is not None and self.live_connected:
                LOGGER.debug(
                    "Reading Homely %s failed (%s); live updates continue",
                    self.location_name,
                    type(err).__name__,
                )
                return held
            self.raise_update_error(err)
        self.throttled = False
        self._token_backoff = 0.0
        self.reads += 1
        self.last_read = dt_util.utcnow()
        self.rate_limited_until = None
        self._sort_unknown_devices(home)
        # Live events may have changed the data while the read was under way.
        merged = home.merged_with(
            self.home, keep_alarm_state=self._alarm_events != alarm_events_before
        )
        if self._on_read is not None:
            self._on_read(self.location_id, merged)
        return merged

    @callback
    def async_read_soon(self) -> None:
        """Read as soon as the client allows, without Home Assistant's debouncer.

        A read under way is followed by one more (its answer may predate what made this
        one necessary); a read about to start needs no second one. A read the budget or
        a rate limit holds back sends nothing and schedules itself for when it may go.
        """
        if self.reading:
            self._read_again = True
            return
        if self._read_pending:
            return
        self._read_pending = True
        task = self._read_task = self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"Homely read {self.location_id}"
        )
        task.add_done_callback(self._read_done)

    @callback
    def _read_done(self, task: asyncio.Task[None]) -> None:
        """Forget a read that ended (or never started: Home Assistant stopping)."""
        if task is self._read_task:
            self._read_task = None
            self._read_pending = False

    def _seconds_since_read(self) -> float | None:
        if self.last_read is None:
            return None
        return (dt_util.utcnow() - self.last_read).total_seconds()

    # -- live connection ---------------------------------------------------------

    @callback
    def async_live_connected(self) -> None:
        """Read again after a reconnection: events during the gap were lost."""
        self.live_connected = True
        first = not self._ever_connected
        self._ever_connected = True
        since = self._seconds_since_read()
        if first and since is not None and since < FIRST_CONNECT_GRACE:
            # Set-up has just read /home: the next read is the slow one.
            self.async_schedule_read(self.resync_interval.total_seconds() - since)
            return
        self.async_read_soon()

    @callback
    def async_live_disconnected(self) -> None:
        """Poll at the options' interval until the live connection is back."""
        self.live_connected = False
        due = self.next_read_in
        poll = self.poll_interval.total_seconds()
        if due is None or due > poll:
            self.async_schedule_read(poll)

    # -- live events -------------------------------------------------------------

    @callback
    def async_apply_device_event(self, event: DeviceStateChanged) -> bool:
        """Apply a device change at once; return False when unknown or stale."""
        current = self.home
        if current is None:
            return False
        updated = current.with_device_changes(event)
        if updated is None:
            if event.device_id in current.devices:
                self.events_stale += 1
                LOGGER.debug("Dropping stale change of Homely device %s", event.device_id)
            elif event.device_id in self._unknown_ignored:
                self.events_ignored += 1
            elif event.device_id not in self._unknown_checking:
                # (one the read under way looks for waits for its answer)
                self._unknown_pending.add(event.device_id)
                self._read_for_unknown_device(event.device_id)
            return False
        self.events_applied += 1
        self.async_push(updated)
        return True

    def _sort_unknown_devices(self, home: HomelyHome) -> None:
        """After a read: the devices it looked for and did not find are ignored from now on."""
        listed = home.devices
        found = (self._unknown_ignored | self._unknown_pending) & listed.keys()
        missing = self._unknown_checking - listed.keys()
        if missing:
            LOGGER.debug(
                "Homely %s does not list device(s) %s that sent events: ignoring their events "
                "until a read lists them",
                self.location_name,
                ", ".join(sorted(missing)),
            )
        self._unknown_ignored = (self._unknown_ignored | missing) - found
        self._unknown_pending -= self._unknown_checking | found

    def _read_for_unknown_device(self, device_id: str) -> None:
        """Read the location again soon: a device was added since the last read."""
        since = self._seconds_since_read()
        if since is not None and since < self.unknown_device_read_gap:
            # Read when the gap has passed (sooner if a read is due before then).
            wait = self.unknown_device_read_gap - since
            if self.next_read_in is None or self.next_read_in > wait:
                self.async_schedule_read(wait)
            LOGGER.debug(
                "Change of unknown Homely device %s: reading %s again in %.0f s",
                device_id,
                self.name,
                wait,
            )
            return
        LOGGER.debug("Change of unknown Homely device %s: reading %s again", device_id, self.name)
        self.async_read_soon()

    @callback
    def async_apply_alarm_event(self, event: AlarmStateChanged) -> bool:
        """Apply an alarm state change at once; return False when stale."""
        current = self.home
        if current is None:
            return False
        updated = current.with_alarm_change(event)
        if updated is None:
            self.events_stale += 1
            LOGGER.debug("Dropping stale alarm state change of %s", self.location_name)
            return False
        self.events_applied += 1
        self._alarm_events += 1
        self.async_push(updated)
        return True

    def diagnostics(self) -> dict[str, Any]:
        """Describe the scheduling state."""
        return {
            "live_connected": self.live_connected,
            "poll_interval": self.poll_interval.total_seconds(),
            "resync_interval": self.resync_interval.total_seconds(),
            "next_read_in": None if self.next_read_in is None else round(self.next_read_in),
            "reads": self.reads,
            "reads_held_back": self.reads_held_back,
            "throttled": self.throttled,
            "last_read": self.last_read.isoformat() if self.last_read else None,
            "read_budget": self.client.home_throttle.diagnostics(self.location_id),
            "events_applied": self.events_applied,
            "events_stale": self.events_stale,
            "events_ignored": self.events_ignored,
            "last_update_success": self.last_update_success,
        }
