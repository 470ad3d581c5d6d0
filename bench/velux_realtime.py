"""VELUX ACTIVE with and without realtime push: homestatus per idle hour, per command, the
delay from the cloud reporting a final position to Home Assistant showing it, and the set-up
of a large account (3 homes x 60 modules).

Runs Home Assistant's test harness in-process on the loopback simulator with realistic
openers (a shutter takes 30 s for a full move). The clock is frozen and moved 0.25 s at a
time while a command is followed, a minute at a time while idle; the websocket is real.
Prints figures only.

    .venv/ha-2026.2/bin/python bench/velux_realtime.py
"""

# ruff: noqa: PLC0415  (project imports wait until pytest has set Home Assistant up)
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
import sys
import time
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import main, preload, unload

if __name__ != "__main__":
    preload()

HOMESTATUS = "/api/homestatus"


def _homestatus(sim: Any, since: int, home_id: str | None = None) -> int:
    return sum(
        1
        for request in sim.requests[since:]
        if request.path == HOMESTATUS
        and (home_id is None or request.form.get("home_id") == home_id)
    )


async def _spin(predicate: Any, limit: float = 10.0) -> None:
    deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + limit
    while not predicate():
        if time.clock_gettime(time.CLOCK_MONOTONIC) > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0)


def command_figures(
    label: str, idle: int, per_command: int, arrived_at: float | None, shown_at: float | None
) -> str:
    """Return the printed line of one run (with or without push).

    ``arrived_at`` / ``shown_at``: seconds after the command when the cloud reported
    the final position / Home Assistant showed it (None: not seen while followed).
    """
    travel = (
        "final position not seen in the cloud"
        if arrived_at is None
        else f"{arrived_at:.1f} s of travel"
    )
    if shown_at is None:
        shown = "not seen in Home Assistant"
    elif arrived_at is None:
        shown = f"shown {shown_at:.2f} s after the command"
    else:
        shown = f"shown {shown_at - arrived_at:.2f} s after the cloud reported it"
    return (
        f"{label}: homestatus per home in an idle hour {idle}; a shutter move "
        f"100 -> 10 % ({travel}) cost {per_command} homestatus; final position {shown}"
    )


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_realtime(  # noqa: PLR0917
    hass: Any,
    enable_custom_integrations: Any,
    socket_enabled: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    expected_lingering_timers: bool,
) -> None:
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    from custom_components.velux_homely.netatmo import NetatmoRuntimeData, const
    from simulator.velux import HOME_ID, SHUTTER_ID, SMALL_HOME_ID, VeluxSimulator
    from tests.conftest import VELUX_EPOCH
    from tests.netatmo.conftest import make_entry, settle
    from tests.netatmo.entities import SHUTTER

    # The clock moves by minutes: pings an hour apart keep the socket up meanwhile.
    monkeypatch.setattr(const, "REALTIME_HEARTBEAT", 100_000.0)

    async def tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass)
        for _ in range(50):  # socket messages
            await asyncio.sleep(0)

    async def measure(push: bool) -> None:
        sim = VeluxSimulator(epoch=VELUX_EPOCH, realtime_arrivals=True)
        sim.ws_enabled = push
        await sim.start()
        entry = make_entry(sim)
        entry.add_to_hass(hass)
        try:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            runtime = entry.runtime_data
            assert isinstance(runtime, NetatmoRuntimeData)
            coordinator = runtime.coordinator
            if push:
                await _spin(lambda: coordinator.push_connected)
            label = "with push" if push else "without push"

            seen = len(sim.requests)
            for _ in range(60):
                await tick(60)
            idle = _homestatus(sim, seen, HOME_ID)

            seen = len(sim.requests)
            await hass.services.async_call(
                "cover",
                "set_cover_position",
                {"entity_id": SHUTTER.entity_id(hass), "position": 10},
                blocking=True,
            )
            arrived_at: float | None = None
            shown_at: float | None = None
            elapsed = 0.0
            while shown_at is None and elapsed < 180:
                await tick(0.25)
                elapsed += 0.25
                if arrived_at is None and sim.position(SHUTTER_ID) == 10:
                    arrived_at = elapsed
                state = hass.states.get(SHUTTER.entity_id(hass))
                if state is not None and state.attributes.get("current_position") == 10:
                    shown_at = elapsed
            per_command = _homestatus(sim, seen, HOME_ID)
            print(command_figures(label, idle, per_command, arrived_at, shown_at))
        finally:
            await unload(hass, entry, sim)

    await measure(push=False)
    await measure(push=True)

    # A large account: 3 homes x 60 modules.
    sim = VeluxSimulator(epoch=VELUX_EPOCH)
    sim.ws_enabled = False
    sim.remove_home(HOME_ID)
    sim.remove_home(SMALL_HOME_ID)
    for number in range(3):
        home_id = f"5e1f2a3b4c5d6e7f8090{number:04d}"
        gateway = f"70:ee:50:00:{number:02x}:00"
        sim.add_home(home_id, f"House {number}")
        sim.add_module(home_id, {"id": gateway, "type": "NXG", "name": f"Gateway {number}"})
        for module in range(59):
            sim.add_module(
                home_id,
                {
                    "id": f"56361332{number:02d}{module:06d}",
                    "type": "NXO",
                    "name": f"Blind {number}-{module}",
                    "bridge": gateway,
                    "room_id": f"room{number}",
                    "velux_type": "blind",
                },
            )
    await sim.start()
    entry = make_entry(sim)
    entry.add_to_hass(hass)
    started = time.clock_gettime(time.CLOCK_MONOTONIC)  # the frozen clocks do not move
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        took = time.clock_gettime(time.CLOCK_MONOTONIC) - started
        homes = len(entry.runtime_data.coordinator.data.homes)
        modules = len(entry.runtime_data.coordinator.data.modules)
        print(
            f"Set-up of {homes} homes / {modules} modules: {len(sim.requests)} calls "
            f"({[r.path for r in sim.requests]}), {took:.2f} s (goal: under 1 s, at most "
            f"{1 + 2 * homes} calls)"
        )
    finally:
        await unload(hass, entry, sim)


if __name__ == "__main__":
    main(__file__)
