"""Cloud calls of a VELUX ACTIVE account (two homes): steady state, commands, rate limits.

Runs Home Assistant's test harness in-process with a VELUX ACTIVE entry on the loopback
simulator. Time travels (``freezer``): Home Assistant's, the client's and the simulator's
clocks move together in small steps, so a simulated hour takes a few real seconds. Timers
fire at their exact time (``async_fire_time_changed_exact``; the plain helper fires up to
0.5 s early, which turns a 60 s interval into 59 s and a 3 s one into 2 s), at most one step
late. Prints figures only; asserts nothing about time.

    .venv/ha-2026.2/bin/python bench/velux_poll_budget.py
"""

# ruff: noqa: PLC0415  (project imports wait until pytest has set Home Assistant up)
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import main, preload, unload

if __name__ != "__main__":
    preload()

if TYPE_CHECKING:
    from simulator.velux import SimRequest

HOUR = 3600
STEP = 0.5
"""Simulated seconds per clock step during the hour-long phases."""
FINE_STEP = 0.1
"""Simulated seconds per clock step while a command is followed."""
NETATMO_HOURLY_GUIDELINE = 500
"""Netatmo's published guideline: requests per user and hour."""

OAUTH = "/oauth2/token"
HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"


def _home_of(request: SimRequest) -> str | None:
    """Return the ``home_id`` a request asked about (query, form or JSON body)."""
    if isinstance(request.json, dict) and request.json.get("home_id") is not None:
        return str(request.json["home_id"])
    return request.form.get("home_id")


def _counts(requests: list[SimRequest]) -> Counter[str]:
    """Count requests per path, and homestatus per home (``homestatus:<home id>``)."""
    counts: Counter[str] = Counter()
    for request in requests:
        counts[request.path] += 1
        if request.path == HOMESTATUS:
            counts[f"{HOMESTATUS}:{_home_of(request)}"] += 1
    return counts


class Clock:
    """Moves Home Assistant's and the simulator's frozen clocks forward together."""

    def __init__(self, hass: Any, freezer: Any, sim: Any) -> None:
        """Start at simulated second 0."""
        self.hass = hass
        self.freezer = freezer
        self.sim = sim
        self.elapsed = 0.0
        self.calls: list[tuple[float, str]] = []
        """Simulated second (step resolution) and path of every call seen since set-up."""

    async def tick(self, seconds: float) -> None:
        """Move time forward, run what became due and note when homestatus was called."""
        from pytest_homeassistant_custom_component.common import (
            async_fire_time_changed_exact,
        )

        seen = len(self.sim.requests)
        self.freezer.tick(timedelta(seconds=seconds))
        self.elapsed += seconds
        async_fire_time_changed_exact(self.hass)
        from tests.netatmo.conftest import settle

        await settle(self.hass)
        self.note(seen)

    def note(self, seen: int) -> None:
        """Note the calls made since the request log had ``seen`` entries."""
        self.calls.extend((self.elapsed, r.path) for r in self.sim.requests[seen:])

    def times(self, path: str, since: float) -> list[float]:
        """Return the simulated seconds after ``since`` of the calls to ``path`` since then."""
        return [t - since for t, p in self.calls if p == path and t >= since]

    async def until_poll(self, step: float = STEP) -> None:
        """Step until the next homestatus call (so that windows hold whole intervals)."""
        seen = self.sim.count(HOMESTATUS)
        while self.sim.count(HOMESTATUS) == seen:
            await self.tick(step)

    async def run_for(self, seconds: float, step: float = STEP) -> Counter[str]:
        """Let ``seconds`` pass; return the calls made meanwhile."""
        seen = len(self.sim.requests)
        end = self.elapsed + seconds
        while self.elapsed < end - 1e-9:
            await self.tick(min(step, end - self.elapsed))
        return _counts(self.sim.requests[seen:])


# Registry stores flush after the measurement: expected, not a leak of ours.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_poll_budget(
    hass: Any,
    enable_custom_integrations: Any,
    socket_enabled: Any,
    freezer: Any,
    expected_lingering_timers: bool,
) -> None:
    from homeassistant.components.cover import ATTR_CURRENT_POSITION, ATTR_POSITION, CoverState
    from homeassistant.components.cover.const import DOMAIN as COVER_DOMAIN
    from homeassistant.const import ATTR_ENTITY_ID, SERVICE_SET_COVER_POSITION

    from custom_components.velux_homely.netatmo import NetatmoRuntimeData
    from simulator.velux import HOME_ID, SMALL_HOME_ID, VeluxSimulator
    from tests.conftest import VELUX_EPOCH as EPOCH
    from tests.netatmo.conftest import make_entry
    from tests.netatmo.entities import SHUTTER

    # Time is frozen (the freezer fixture) before the simulator reads its clock.
    # Polling only (the realtime service is down), openers at 20 %/s.
    sim = VeluxSimulator(epoch=EPOCH, move_speed=20)
    sim.ws_enabled = False
    await sim.start()
    entry = make_entry(sim)
    entry.add_to_hass(hass)
    clock = Clock(hass, freezer, sim)
    # asyncio's debug mode measures callbacks on the frozen clock: every step looks "slow".
    slow_callback_duration = hass.loop.slow_callback_duration
    hass.loop.slow_callback_duration = 10 * HOUR
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        runtime = entry.runtime_data
        assert isinstance(runtime, NetatmoRuntimeData)
        coordinator = runtime.coordinator
        normal = coordinator.normal_interval
        # The client's default clock is the real time.time (bound at import, before time
        # was frozen): give it the frozen one, or its token never ages here.
        coordinator.client._clock = time.time
        setup = _counts(sim.requests)
        print(
            f"\nSet-up: {len(sim.requests)} calls (token {setup[OAUTH]}, homesdata "
            f"{setup[HOMESDATA]}, homestatus {setup[HOMESTATUS]}); poll interval "
            f"{normal.total_seconds():g} s, access token lifetime "
            f"{sim.access_token_lifetime} s, Home Assistant's refresh offset "
            f"{getattr(coordinator, '_microsecond', float('nan')):.2f} s"
        )

        # 1. Steady state: one simulated hour at the default interval, from a poll on.
        await clock.until_poll()
        start = clock.elapsed
        hour = await clock.run_for(HOUR)
        total = sum(n for path, n in hour.items() if ":" not in path)
        print(
            f"1. Steady state, 1 simulated hour at {normal.total_seconds():g} s: homestatus "
            f"per home-hour: home {hour[f'{HOMESTATUS}:{HOME_ID}']}, cabin "
            f"{hour[f'{HOMESTATUS}:{SMALL_HOME_ID}']}; homesdata {hour[HOMESDATA]}; "
            f"token {hour[OAUTH]}; total {total} "
            f"({100 * total / NETATMO_HOURLY_GUIDELINE:.1f} % of Netatmo's "
            f"{NETATMO_HOURLY_GUIDELINE}/hour per user)"
        )
        rest = await clock.run_for(2 * HOUR)
        three = hour + rest
        total3 = sum(n for path, n in three.items() if ":" not in path)
        print(
            f"   Over one token lifetime (3 simulated hours), per hour: homestatus "
            f"{three[HOMESTATUS] / 3:g}, homesdata {three[HOMESDATA] / 3:.3g}, token "
            f"{three[OAUTH] / 3:.2g}, total {total3 / 3:.4g}; token calls at s "
            f"{clock.times(OAUTH, 0)}, homesdata at s {clock.times(HOMESDATA, 0)} (from set-up; "
            f"window from s {start:g})"
        )

        # 2. A cover command, confirmed by quick polls.
        async def set_position(position: int) -> tuple[float, int]:
            """Send the command; return its simulated second and the log length before it."""
            seen = len(sim.requests)
            await hass.services.async_call(
                COVER_DOMAIN,
                SERVICE_SET_COVER_POSITION,
                {ATTR_ENTITY_ID: SHUTTER.entity_id(hass), ATTR_POSITION: position},
                blocking=True,
            )
            clock.note(seen)
            return clock.elapsed, seen

        def shown(position: int) -> bool:
            state = hass.states.get(SHUTTER.entity_id(hass))
            return (
                state is not None
                and state.attributes.get(ATTR_CURRENT_POSITION) == position
                and state.state not in (CoverState.OPENING, CoverState.CLOSING)
            )

        async def follow(position: int, started: float, limit: float = 180) -> tuple[float, float]:
            """Step until the final position shows and the normal interval is back."""
            shown_after = normal_after = None
            while clock.elapsed - started < limit:
                if shown_after is None and shown(position):
                    shown_after = clock.elapsed - started
                if (
                    normal_after is None
                    and not coordinator.confirming
                    and coordinator.update_interval == normal
                ):
                    normal_after = clock.elapsed - started
                if shown_after is not None and normal_after is not None:
                    return shown_after, normal_after
                await clock.tick(FINE_STEP)
            nan = float("nan")
            return (
                nan if shown_after is None else shown_after,
                nan if normal_after is None else normal_after,
            )

        assert shown(100)
        await clock.run_for(normal.total_seconds() / 2)  # halfway between two normal polls
        started, seen = await set_position(0)
        after_command = _counts(sim.requests[seen:])
        shown_after, normal_after = await follow(0, started)
        quick = _counts(sim.requests[seen:])
        in_call = after_command[f"{HOMESTATUS}:{HOME_ID}"]
        polls = quick[f"{HOMESTATUS}:{HOME_ID}"]
        times = sorted({round(t, 1) for t in clock.times(HOMESTATUS, started)})
        print(
            f"2. Set position 100 -> 0 ({sim.move_speed:g} %/s, {100 / sim.move_speed:g} s of "
            f"movement): {in_call} poll in the service call + {polls - in_call} quick polls "
            f"of the shutter's home ({quick[HOMESTATUS]} homestatus: home "
            f"{quick[f'{HOMESTATUS}:{HOME_ID}']}, cabin "
            f"{quick[f'{HOMESTATUS}:{SMALL_HOME_ID}']}; "
            f"{quick[SETSTATE]} setstate); final position shown after {shown_after:.1f} s; "
            f"normal interval back after {normal_after:.1f} s; polls at s {times} after the "
            f"command"
        )

        confirmed = clock.elapsed
        await clock.run_for(5, FINE_STEP)
        started, seen = await set_position(100)
        in_call = _counts(sim.requests[seen:])[f"{HOMESTATUS}:{HOME_ID}"]
        shown_after, normal_after = await follow(100, started)
        polls = _counts(sim.requests[seen:])[f"{HOMESTATUS}:{HOME_ID}"]
        times = sorted({round(t, 1) for t in clock.times(HOMESTATUS, started)})
        second = f"{times[1]:.1f} s" if len(times) > 1 else "never"
        print(
            f"   Second command (0 -> 100) {started - confirmed:.1f} s after the first was "
            f"confirmed: {in_call} poll in the service call; second confirmation poll after "
            f"{second}; {polls - in_call} quick polls; final position shown after "
            f"{shown_after:.1f} s; normal interval back after {normal_after:.1f} s; polls at "
            f"s {times}"
        )

        # 3. Rate limited: the next call answers 403 code 26 "User usage reached".
        await clock.run_for(normal.total_seconds() + 5)
        sim.rate_limit_next(count=1, kind="error26")
        seen = len(sim.requests)
        while coordinator.rate_limited_count == 0 and clock.elapsed < started + 2 * HOUR:
            await clock.tick(STEP)
        limited = sim.requests[seen:]
        delay = coordinator.update_interval
        print(
            f"3. Rate limit (error26) on {limited[-1].path if limited else '-'}: next poll "
            f"in {delay.total_seconds() if delay else float('nan'):g} s "
            f"(confirming {coordinator.confirming})"
        )
        limited_at = clock.elapsed
        after_limit = await clock.run_for(60)
        # A command during the back-off: sent and shown, but polled only at the back-off time.
        _, seen = await set_position(0)
        in_backoff = _counts(sim.requests[seen:])
        state = hass.states.get(SHUTTER.entity_id(hass))
        print(
            f"   A command 60 s into the back-off: {in_backoff[SETSTATE]} setstate, "
            f"{in_backoff[HOMESTATUS]} homestatus in the service call; shown as "
            f"{state.state if state else '-'}; confirming {coordinator.confirming}"
        )
        after_limit += in_backoff + await clock.run_for(HOUR - 60)
        total = sum(n for path, n in after_limit.items() if ":" not in path)
        first = clock.times(HOMESTATUS, limited_at + 1e-6)
        resumed = f"{first[0]:.1f} s" if first else "never"
        print(
            f"   The following simulated hour (command included): homestatus "
            f"{after_limit[HOMESTATUS]}, setstate {after_limit[SETSTATE]}, "
            f"homesdata {after_limit[HOMESDATA]}, token {after_limit[OAUTH]}, total {total}; "
            f"first poll after {resumed}; interval at the end "
            f"{coordinator.update_interval.total_seconds() if coordinator.update_interval else 0:g}"
            f" s, rate-limited count {coordinator.rate_limited_count}"
        )
    finally:
        await unload(hass, entry, sim)
        hass.loop.slow_callback_duration = slow_callback_duration


if __name__ == "__main__":
    main(__file__)
