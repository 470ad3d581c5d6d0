"""Coordinator of one Homely location: ``/home`` resyncs and live events.

The coordinator has no ``update_interval``: it schedules its own resyncs so that live
events (applied with ``async_set_updated_data``, which would otherwise push the next poll
back) never starve the slow resync, and so that a ``retryAfter`` is always honoured.
While the live connection is up a location is re-read every 30 minutes; while it is down,
at the poll interval of the options.

Every (re)connection is followed by a resync (events during the gap are lost), but the
server drops connections on token expiry, so a flapping connection would flood ``/home``:
a reconnection resyncs at once only while the location had fewer than
``home_reads_per_window`` reads in the last ``home_read_window``; otherwise its resync is
scheduled for when the window allows (one timer, so never a second pending one).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import contextlib
from datetime import datetime
from typing import Any, cast

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..api.errors import ApiError, AuthenticationError, RateLimitedError
from ..api.homely import HomelyClient
from ..api.homely_models import AlarmStateChanged, DeviceStateChanged, HomelyHome
from ..const import LOGGER
from ..coordinator import VeluxHomelyCoordinator
from ..provider import VeluxHomelyConfigEntry
from .const import HomelyTuning


class HomelyLocationCoordinator(VeluxHomelyCoordinator[HomelyHome]):
    """The state of one location: alarm and devices."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: VeluxHomelyConfigEntry,
        client: HomelyClient,
        location_id: str,
        name: str,
        *,
        poll_interval: float,
        tuning: HomelyTuning,
        on_resynced: Callable[[], None] | None = None,
    ) -> None:
        """Set up the coordinator of ``location_id`` (no polling until scheduled)."""
        super().__init__(hass, entry, name=f"Homely {name}", update_interval=None)
        self.client = client
        self.location_id = location_id
        self.location_name = name
        self.poll_interval = poll_interval
        self.tuning = tuning
        self._on_resynced = on_resynced
        self.live_connected = False
        self._ever_connected = False
        self._timer: CALLBACK_TYPE | None = None
        self._timer_due = 0.0
        self._timer_job = HassJob(self._async_timer_fired, cancel_on_shutdown=True)
        self._resync_task: asyncio.Task[None] | None = None
        self._not_before = 0.0
        """Loop time before which no ``/home`` call is made (a ``retryAfter``)."""
        self._retry_in: float | None = None
        self._closed = False
        self.last_resync: datetime | None = None
        self._last_resync_loop_time: float | None = None
        self._home_reads: deque[float] = deque()
        """Loop times of the recent ``/home`` requests (within ``home_read_window``)."""
        self._alarm_events = 0
        """Alarm events applied so far (a read keeps an alarm state applied after it)."""
        self.resyncs = 0
        self.resyncs_deferred = 0
        self.events_applied = 0
        self.events_stale = 0

    @property
    def _current(self) -> HomelyHome | None:
        """Return the data held (None before the first successful read)."""
        return cast("HomelyHome | None", self.data)

    # -- fetching ----------------------------------------------------------------

    async def _async_update_data(self) -> HomelyHome:
        """Read ``/home``; at set-up, wait out rate limits a few times."""
        attempt = 0
        while True:
            attempt += 1
            self._note_home_read()
            alarm_events_before = self._alarm_events
            try:
                home = await self.client.async_get_home(self.location_id)
            except RateLimitedError as err:
                wait = err.retry_after
                self._note_rate_limit(wait)
                if self._current is not None:
                    # Keep what we have (live events still arrive); try again later.
                    LOGGER.debug(
                        "Homely rate limited the resync of %s; next try in %.0f s",
                        self.location_name,
                        self._retry_in or 0,
                    )
                    return self._current
                if attempt >= self.tuning.startup_attempts:
                    self.raise_update_error(err)
                delay = min(
                    wait if wait is not None else self.tuning.rate_limit_fallback,
                    self.tuning.startup_retry_cap,
                )
                LOGGER.debug(
                    "Homely rate limited the first read of %s; trying again in %.1f s",
                    self.location_name,
                    delay,
                )
                await self.tuning.sleep(delay)
                continue
            except AuthenticationError as err:
                self.raise_update_error(err)
            except ApiError as err:
                if self._current is not None and self.live_connected:
                    LOGGER.debug(
                        "Resync of %s failed (%s); live updates continue",
                        self.location_name,
                        type(err).__name__,
                    )
                    return self._current
                self.raise_update_error(err)
            self.resyncs += 1
            self.last_resync = dt_util.utcnow()
            self._last_resync_loop_time = self.hass.loop.time()
            return home.merged_with(
                self._current, keep_alarm_state=self._alarm_events != alarm_events_before
            )

    def _note_home_read(self) -> None:
        self._home_reads.append(self.hass.loop.time())
        self._home_read_wait()  # forget the reads that left the window

    def _home_read_wait(self) -> float:
        """Return the seconds until one more ``/home`` read fits in the budget (0: now)."""
        now = self.hass.loop.time()
        window = self.tuning.home_read_window
        reads = self._home_reads
        while reads and reads[0] <= now - window:
            reads.popleft()
        budget = max(self.tuning.home_reads_per_window, 1)
        if len(reads) < budget:
            return 0.0
        return max(reads[-budget] + window - now, 0.0)

    def _note_rate_limit(self, retry_after: float | None) -> None:
        wait = retry_after if retry_after is not None else self.tuning.rate_limit_fallback
        self._retry_in = wait
        self._not_before = max(self._not_before, self.hass.loop.time() + wait)

    async def async_resync(self) -> None:
        """Re-read ``/home`` now (unless rate limited) and schedule the next resync."""
        if self._closed:
            return
        wait = self._not_before - self.hass.loop.time()
        if wait > 0:
            self.async_schedule_resync(wait)
            return
        self._retry_in = None
        await self.async_refresh()
        if self.last_update_success and self._on_resynced is not None:
            self._on_resynced()
        self.async_schedule_resync(self._retry_in)

    @callback
    def async_start_resync(self) -> None:
        """Start a resync in the background unless one is running."""
        if self._closed or (self._resync_task is not None and not self._resync_task.done()):
            return
        self._resync_task = self.config_entry.async_create_background_task(
            self.hass, self.async_resync(), f"Homely resync {self.location_id}"
        )

    @callback
    def async_schedule_resync(self, delay: float | None = None) -> None:
        """Schedule the next resync: ``delay`` seconds, or the interval of the live state."""
        self._cancel_timer()
        if self._closed:
            return
        if delay is None:
            delay = self.tuning.resync_interval if self.live_connected else self.poll_interval
        delay = max(delay, self._not_before - self.hass.loop.time(), 0.0)
        self._timer_due = self.hass.loop.time() + delay
        self._timer = async_call_later(self.hass, delay, self._timer_job)

    @callback
    def _schedule_resync_within(self, delay: float) -> None:
        """Resync in ``delay`` seconds at the latest (a sooner scheduled one is kept)."""
        due = self.next_resync_in
        if due is None or due > delay:
            self.async_schedule_resync(delay)

    @property
    def next_resync_in(self) -> float | None:
        """Return the seconds until the scheduled resync (None when none is scheduled)."""
        if self._timer is None:
            return None
        return self._timer_due - self.hass.loop.time()

    @callback
    def _async_timer_fired(self, _now: datetime) -> None:
        self._timer = None
        self.async_start_resync()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    # -- live connection ---------------------------------------------------------

    @callback
    def async_live_connected(self) -> None:
        """Resync after a (re)connection: events during the gap were lost."""
        self.live_connected = True
        first = not self._ever_connected
        self._ever_connected = True
        recent = (
            self._last_resync_loop_time is not None
            and self.hass.loop.time() - self._last_resync_loop_time
            < self.tuning.first_connect_grace
        )
        if first and recent:
            # Set-up has just read /home: no second read for the first connection.
            self.async_schedule_resync()
            return
        wait = self._home_read_wait()
        if wait <= 0:
            self.async_start_resync()
            return
        # The connection flaps (token expiry): resync when the budget allows. This replaces
        # whatever was scheduled (the poll of the disconnection would read /home too), and
        # every further reconnection computes the same moment: one pending resync.
        self.resyncs_deferred += 1
        self.async_schedule_resync(wait)
        LOGGER.debug(
            "Homely live connection of %s is back; resync in %.0f s (read budget used)",
            self.location_name,
            self.next_resync_in or 0,
        )

    @callback
    def async_live_disconnected(self) -> None:
        """Poll at the options' interval until the live connection is back."""
        self.live_connected = False
        self._schedule_resync_within(self.poll_interval)

    @callback
    def async_apply_device_event(self, event: DeviceStateChanged) -> bool:
        """Apply a device change at once; return False when unknown or stale."""
        current = self._current
        if current is None:
            return False
        updated = current.with_device_changes(event)
        if updated is None:
            if event.device_id in current.devices:
                self.events_stale += 1
                LOGGER.debug("Dropping stale change of Homely device %s", event.device_id)
            else:
                self._resync_for_unknown_device(event.device_id)
            return False
        self.events_applied += 1
        self.async_set_updated_data(updated)
        return True

    def _resync_for_unknown_device(self, device_id: str) -> None:
        """Read the location again soon: a device was added since the last read."""
        last = self._last_resync_loop_time
        gap = self.tuning.unknown_device_resync_gap
        if (last is not None and self.hass.loop.time() - last < gap) or self._home_read_wait() > 0:
            LOGGER.debug(
                "Change of unknown Homely device %s: it shows after the next resync", device_id
            )
            return
        LOGGER.debug("Change of unknown Homely device %s: reading %s again", device_id, self.name)
        self.async_start_resync()

    @callback
    def async_apply_alarm_event(self, event: AlarmStateChanged) -> bool:
        """Apply an alarm state change at once; return False when stale."""
        current = self._current
        if current is None:
            return False
        updated = current.with_alarm_change(event)
        if updated is None:
            self.events_stale += 1
            LOGGER.debug("Dropping stale alarm state change of %s", self.location_name)
            return False
        self.events_applied += 1
        self._alarm_events += 1
        self.async_set_updated_data(updated)
        return True

    # -- life cycle --------------------------------------------------------------

    async def async_close(self) -> None:
        """Stop scheduling and cancel a running resync."""
        self._closed = True
        self._cancel_timer()
        task = self._resync_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.async_shutdown()

    def diagnostics(self) -> dict[str, Any]:
        """Describe the scheduling state."""
        retry = self._not_before - self.hass.loop.time()
        self._home_read_wait()  # forget the reads that left the window
        return {
            "live_connected": self.live_connected,
            "poll_interval": self.poll_interval,
            "resyncs": self.resyncs,
            "resyncs_deferred": self.resyncs_deferred,
            "home_reads_in_window": len(self._home_reads),
            "last_resync": self.last_resync.isoformat() if self.last_resync else None,
            "rate_limited_for": round(retry, 1) if retry > 0 else 0,
            "events_applied": self.events_applied,
            "events_stale": self.events_stale,
            "last_update_success": self.last_update_success,
            "resync_interval": self.tuning.resync_interval,
        }
