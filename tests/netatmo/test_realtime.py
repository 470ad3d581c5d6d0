"""Realtime push: changes show at once, polling stretches while it is healthy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from datetime import timedelta
import time
from typing import Any

from homeassistant.components.cover import ATTR_CURRENT_POSITION, CoverState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.velux_homely.netatmo import const
from simulator.velux import (
    BEDROOM_ID,
    GATEWAY_ID,
    HOME_ID,
    SHUTTER_ID,
    SMALL_HOME_ID,
    SMALL_SHUTTER_ID,
    VeluxSimulator,
)
from tests.helpers import Ent, act, current, state_of

from .conftest import SetupEntry, Tick, calls, runtime_of, settle
from .entities import CABIN_RAIN, CABIN_SHUTTER, RAIN, SHUTTER, SHUTTER_SILENT, TEMPERATURE

HOMESTATUS = "/api/homestatus"


async def until(predicate: Callable[[], object], limit: float = 10.0) -> None:
    """Let the loop run (socket traffic) until ``predicate()`` holds."""
    deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + limit
    while not predicate():
        assert time.clock_gettime(time.CLOCK_MONOTONIC) < deadline, "condition not reached"
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def slow_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ping hours apart: the tests move the (frozen) clock by minutes at a time."""
    monkeypatch.setattr(const, "REALTIME_HEARTBEAT", 100_000.0)


async def pushed(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    platforms: tuple[Platform, ...] = (Platform.COVER, Platform.SENSOR, Platform.BINARY_SENSOR),
) -> MockConfigEntry:
    """Set up an entry with the realtime service up and wait for its subscription."""
    velux_sim.ws_enabled = True
    velux_sim.realtime_arrivals = True
    entry = await setup_entry(platforms=platforms)
    coordinator = runtime_of(entry).coordinator
    await until(lambda: coordinator.push_connected)
    return entry


async def test_pushed_changes_show_without_a_read(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await pushed(hass, velux_sim, setup_entry)
    seen = len(velux_sim.requests)
    velux_sim.set_room_climate(BEDROOM_ID, temperature=249)
    await until(lambda: state_of(hass, TEMPERATURE) == "24.9")
    velux_sim.set_raining(HOME_ID, True)
    await until(lambda: state_of(hass, RAIN) == "on")
    assert calls(velux_sim, seen) == []


async def test_a_command_is_confirmed_by_the_pushes(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await pushed(hass, velux_sim, setup_entry)
    seen = len(velux_sim.requests)
    await act(hass, "cover", "set_cover_position", SHUTTER, position=40)
    assert state_of(hass, SHUTTER) == CoverState.CLOSING
    for _ in range(17):  # 18 s of travel
        await tick(1)
    assert state_of(hass, SHUTTER) == CoverState.CLOSING
    await tick(1)
    # the arrival is pushed (a socket message: the loop runs, the clock stays)
    await until(lambda: state_of(hass, SHUTTER) == CoverState.OPEN)
    state = current(hass, SHUTTER)
    assert state is not None
    assert state.attributes[ATTR_CURRENT_POSITION] == 40
    assert [path for path in calls(velux_sim, seen) if path.startswith(HOMESTATUS)] == []
    await tick(120)  # no fallback poll once the arrival was pushed
    assert [path for path in calls(velux_sim, seen) if path.startswith(HOMESTATUS)] == []


async def test_a_slow_movement_without_pushes_is_followed_to_its_target(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """The socket is up but says nothing; the move (150 s) outlasts the fallback.

    Right after the fallback read, an event names the home without saying what
    changed: that read, a moment later, sees the shutter at the same position, which
    must not make it look stopped.
    """
    entry = await pushed(hass, velux_sim, setup_entry)
    realtime = runtime_of(entry).realtime
    velux_sim.ws_push_paused = True
    velux_sim.move_speed = 0.4  # 100 -> 40 takes 150 s; 64 % from 89 s to 91 s
    seen = len(velux_sim.requests)
    await act(hass, "cover", "set_cover_position", SHUTTER, position=40)
    hinted = False
    for _ in range(330):  # 165 s, half a second at a time
        await tick(0.5)
        assert state_of(hass, SHUTTER) == CoverState.CLOSING or velux_sim.position(SHUTTER_ID) == 40
        if not hinted and any(path.startswith(HOMESTATUS) for path in calls(velux_sim, seen)):
            hinted = True
            events = realtime.events + 1
            await velux_sim.ws_send_raw(
                {"push_type": "embedded_json", "extra_params": {"home_id": HOME_ID}}
            )
            await until(lambda: realtime.events >= events)  # noqa: B023 - awaited here
    assert hinted
    state = current(hass, SHUTTER)
    assert state is not None
    assert (state.state, state.attributes[ATTR_CURRENT_POSITION]) == (CoverState.OPEN, 40)
    reads = [path for path in calls(velux_sim, seen) if path.startswith(HOMESTATUS)]
    assert 0 < len(reads) <= 8


async def test_polling_stretches_while_push_is_healthy_and_comes_back_without(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await pushed(hass, velux_sim, setup_entry)
    seen = len(velux_sim.requests)
    for _ in range(60):  # one idle hour
        await tick(60)
    reads = [path for path in calls(velux_sim, seen) if path.startswith(HOMESTATUS)]
    assert reads.count(f"{HOMESTATUS}:{HOME_ID}") == 2
    assert reads.count(f"{HOMESTATUS}:{SMALL_HOME_ID}") == 2

    # The realtime service goes down: polling every minute is back.
    velux_sim.ws_enabled = False
    await velux_sim.ws_disconnect()
    coordinator = runtime_of(hass.config_entries.async_entries()[0]).coordinator
    await until(lambda: not coordinator.push_connected)
    seen = len(velux_sim.requests)
    await tick(61)
    assert f"{HOMESTATUS}:{HOME_ID}" in calls(velux_sim, seen)
    # ...and when it is back, the long interval again.
    velux_sim.ws_enabled = True
    realtime = runtime_of(hass.config_entries.async_entries()[0]).realtime
    for _ in range(10):
        await tick(60)
        # each attempt runs on the socket: let it end before the clock moves on
        await until(lambda: realtime.connected or realtime.next_delay is not None)
        if coordinator.push_connected:
            break
    assert coordinator.push_connected
    seen = len(velux_sim.requests)
    for _ in range(29):
        await tick(60)
    # Each home is read once (what changed after the last poll was pushed to nobody),
    # then not again before the 30-minute safety read.
    reads = [path for path in calls(velux_sim, seen) if path.startswith(HOMESTATUS)]
    assert sorted(reads) == sorted([f"{HOMESTATUS}:{HOME_ID}", f"{HOMESTATUS}:{SMALL_HOME_ID}"])


async def test_an_event_of_unknown_layout_reads_its_home(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await pushed(hass, velux_sim, setup_entry)
    velux_sim.ws_unknown_layout = True
    seen = len(velux_sim.requests)
    realtime = runtime_of(hass.config_entries.async_entries()[0]).realtime
    events = realtime.events
    velux_sim.set_room_climate(BEDROOM_ID, temperature=199)
    await until(lambda: realtime.events > events)
    await tick(1)
    assert state_of(hass, TEMPERATURE) == "19.9"
    assert calls(velux_sim, seen) == [f"{HOMESTATUS}:{HOME_ID}"]


async def test_a_hinted_home_failing_leaves_the_others_available(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """A hint for the cabin, whose share was just revoked: only the cabin goes away.

    With push up the next read of every home is 30 minutes away: the home must not be
    unavailable meanwhile.
    """
    await pushed(hass, velux_sim, setup_entry)
    velux_sim.ws_unknown_layout = True
    realtime = runtime_of(hass.config_entries.async_entries()[0]).realtime
    events = realtime.events
    velux_sim.set_raining(SMALL_HOME_ID, True)
    velux_sim.revoked_homes.add(SMALL_HOME_ID)
    await until(lambda: realtime.events > events)
    seen = len(velux_sim.requests)
    await tick(1)
    assert calls(velux_sim, seen) == [f"{HOMESTATUS}:{SMALL_HOME_ID}"]
    assert state_of(hass, CABIN_RAIN) == "unavailable"
    assert state_of(hass, CABIN_SHUTTER) == "unavailable"
    assert state_of(hass, SHUTTER) == CoverState.OPEN
    assert state_of(hass, RAIN) == "off"
    # Pushes of the home still show.
    velux_sim.ws_unknown_layout = False
    velux_sim.set_raining(HOME_ID, True)
    await until(lambda: state_of(hass, RAIN) == "on")
    assert state_of(hass, CABIN_SHUTTER) == "unavailable"


async def test_extra_params_as_a_json_string(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await pushed(hass, velux_sim, setup_entry)
    velux_sim.ws_extra_params_as_string = True
    velux_sim.set_status(GATEWAY_ID, is_raining=True)
    await until(lambda: state_of(hass, RAIN) == "on")


async def test_garbage_events_are_ignored(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await pushed(hass, velux_sim, setup_entry)
    realtime = runtime_of(entry).realtime
    await velux_sim.ws_send_raw({"push_type": "something_else"})
    await velux_sim.ws_send_raw("not json")
    await until(lambda: realtime.ignored_events >= 2)
    await velux_sim.ws_send_raw(
        {
            "push_type": "embedded_json",
            "extra_params": {"home": {"id": "elsewhere", "modules": [{"id": "x"}]}},
        }
    )
    velux_sim.set_room_climate(BEDROOM_ID, temperature=231)
    await until(lambda: state_of(hass, TEMPERATURE) == "23.1")
    assert SHUTTER_ID in runtime_of(entry).coordinator.data.modules
    assert "x" not in runtime_of(entry).coordinator.data.modules


def more_events_than(realtime: Any, count: int) -> Callable[[], bool]:
    """Return a condition: the realtime client has received more than ``count`` events."""
    return lambda: bool(realtime.events > count)


def shown_position(
    hass: HomeAssistant, velux_sim: VeluxSimulator, cover: Ent, module_id: str
) -> bool:
    """Return True when the cover is available and shows the opener's position."""
    state = current(hass, cover)
    return (
        state is not None
        and state.state != "unavailable"
        and state.attributes.get(ATTR_CURRENT_POSITION) == velux_sim.position(module_id)
    )


async def test_a_failed_safety_read_is_tried_again_at_the_scan_interval(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """With push up the next read is 30 minutes away: a read that fails is tried again at
    the scan interval, not left unavailable until then."""
    await pushed(hass, velux_sim, setup_entry)
    velux_sim.fail_next(2, status=500, path=HOMESTATUS)
    for _ in range(30):
        await tick(60)
        if state_of(hass, SHUTTER) == "unavailable":
            break
    assert state_of(hass, SHUTTER) == "unavailable"
    assert state_of(hass, CABIN_SHUTTER) == "unavailable"
    coordinator = runtime_of(hass.config_entries.async_entries()[0]).coordinator
    due = coordinator.next_read_in
    assert due is not None
    assert 0 < due <= 60
    # pushes meanwhile do not bring the retry forward (each would be a failing read)
    realtime = runtime_of(hass.config_entries.async_entries()[0]).realtime
    for step in range(3):
        arrived = more_events_than(realtime, realtime.events)
        velux_sim.set_room_climate(BEDROOM_ID, temperature=210 + step)
        await until(arrived)
        assert coordinator.next_read_in == pytest.approx(due)
    seen = len(velux_sim.requests)
    await tick(61)
    assert sorted(calls(velux_sim, seen)) == [
        f"{HOMESTATUS}:{HOME_ID}",
        f"{HOMESTATUS}:{SMALL_HOME_ID}",
    ]
    assert shown_position(hass, velux_sim, SHUTTER, SHUTTER_ID)
    assert shown_position(hass, velux_sim, CABIN_SHUTTER, SMALL_SHUTTER_ID)


async def test_a_home_that_failed_the_safety_read_is_read_again_alone(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await pushed(hass, velux_sim, setup_entry)
    velux_sim.revoked_homes.add(SMALL_HOME_ID)
    for _ in range(30):
        await tick(60)
        if state_of(hass, CABIN_SHUTTER) == "unavailable":
            break
    assert state_of(hass, CABIN_SHUTTER) == "unavailable"
    assert state_of(hass, SHUTTER) == CoverState.OPEN
    velux_sim.revoked_homes.discard(SMALL_HOME_ID)
    seen = len(velux_sim.requests)
    await tick(61)
    assert calls(velux_sim, seen) == [f"{HOMESTATUS}:{SMALL_HOME_ID}"]
    assert shown_position(hass, velux_sim, CABIN_SHUTTER, SMALL_SHUTTER_ID)


async def test_a_switched_field_outlives_a_push_of_its_home(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """Silent mode shown on after the command stays on when a push of the home's rooms
    arrives (the cloud holds it on, and pushed nothing of the command)."""
    await pushed(hass, velux_sim, setup_entry, (Platform.SENSOR, Platform.SWITCH))
    assert state_of(hass, SHUTTER_SILENT) == "off"
    velux_sim.ws_push_paused = True
    await act(hass, "switch", "turn_on", SHUTTER_SILENT)
    assert state_of(hass, SHUTTER_SILENT) == "on"
    assert velux_sim.module(SHUTTER_ID).status["silent"] is True
    velux_sim.ws_push_paused = False
    velux_sim.set_room_climate(BEDROOM_ID, temperature=249)
    await until(lambda: state_of(hass, TEMPERATURE) == "24.9")
    assert state_of(hass, SHUTTER_SILENT) == "on"


async def test_a_target_shown_after_a_command_outlives_a_push_of_its_home(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await pushed(hass, velux_sim, setup_entry, (Platform.COVER, Platform.SENSOR))
    velux_sim.ws_push_paused = True  # the cloud pushes nothing of the command
    await act(hass, "cover", "set_cover_position", SHUTTER, position=40)
    assert state_of(hass, SHUTTER) == CoverState.CLOSING
    velux_sim.ws_push_paused = False
    velux_sim.set_room_climate(BEDROOM_ID, temperature=249)
    await until(lambda: state_of(hass, TEMPERATURE) == "24.9")
    assert state_of(hass, SHUTTER) == CoverState.CLOSING


def reads(velux_sim: VeluxSimulator, since: int) -> list[str]:
    """Return the homestatus reads since the log had ``since`` entries."""
    return [path for path in calls(velux_sim, since) if path.startswith(HOMESTATUS)]


async def read_held(hass: HomeAssistant, velux_sim: VeluxSimulator, freezer: Any) -> None:
    """Move the clock by 2 s and wait until the read that fell due is held (Home
    Assistant schedules a read up to half a second after its time)."""
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await until(lambda: velux_sim.delayed == 1, limit=3)


async def test_a_push_during_a_read_of_another_home_is_kept(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    freezer: Any,
) -> None:
    """A hint reads the home; the cabin's push that arrives meanwhile stays shown."""
    await pushed(hass, velux_sim, setup_entry)
    realtime = runtime_of(hass.config_entries.async_entries()[0]).realtime
    velux_sim.ws_unknown_layout = True
    events = realtime.events
    velux_sim.set_room_climate(BEDROOM_ID, temperature=199)
    await until(lambda: realtime.events > events)
    velux_sim.delay_next(1, seconds=0.5, path=HOMESTATUS)
    seen = len(velux_sim.requests)
    await read_held(hass, velux_sim, freezer)
    velux_sim.ws_unknown_layout = False
    velux_sim.set_raining(SMALL_HOME_ID, True)
    await until(lambda: state_of(hass, CABIN_RAIN) == "on")
    freezer.tick(timedelta(seconds=1))  # the held answer goes out
    await settle(hass)
    assert velux_sim.delayed == 0
    # the pushed cabin is not read again: what was pushed stays shown
    assert reads(velux_sim, seen) == [f"{HOMESTATUS}:{HOME_ID}"]
    assert state_of(hass, TEMPERATURE) == "19.9"
    assert state_of(hass, CABIN_RAIN) == "on"


async def test_a_push_after_its_home_was_read_is_kept(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    freezer: Any,
) -> None:
    """The safety read reads the home, then waits for the cabin: a push of the home in
    between stays shown once the read ends."""
    await pushed(hass, velux_sim, setup_entry)
    seen = len(velux_sim.requests)
    velux_sim.delay_next(2, seconds=0.5, path=HOMESTATUS)
    for _ in range(31):  # to the safety read, 30 minutes after the last
        freezer.tick(timedelta(seconds=60))
        async_fire_time_changed(hass)
        with contextlib.suppress(AssertionError):
            await until(lambda: velux_sim.delayed == 1, limit=0.05)
        if velux_sim.delayed:
            break
    assert reads(velux_sim, seen) == [f"{HOMESTATUS}:{HOME_ID}"]
    freezer.tick(timedelta(seconds=1))  # the home's answer goes out, the cabin's is held
    await until(lambda: len(reads(velux_sim, seen)) == 2 and velux_sim.delayed == 1)
    velux_sim.set_raining(HOME_ID, True)
    await until(lambda: state_of(hass, RAIN) == "on")
    freezer.tick(timedelta(seconds=1))  # the cabin's answer goes out
    await settle(hass)
    assert velux_sim.delayed == 0
    assert reads(velux_sim, seen) == [f"{HOMESTATUS}:{HOME_ID}", f"{HOMESTATUS}:{SMALL_HOME_ID}"]
    assert state_of(hass, RAIN) == "on"


async def test_events_of_unknown_layout_cost_at_most_a_read_per_scan_interval(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """Events that only name their home: the first is read at once, those that follow
    within the scan interval (60 s) together at its end: never more than polling costs."""
    await pushed(hass, velux_sim, setup_entry)
    velux_sim.ws_unknown_layout = True
    realtime = runtime_of(hass.config_entries.async_entries()[0]).realtime
    seen = len(velux_sim.requests)
    for step in range(20):  # an event every 3 s for a minute
        arrived = more_events_than(realtime, realtime.events)
        velux_sim.set_room_climate(BEDROOM_ID, temperature=200 + step)
        await until(arrived)
        await tick(3)
        if step == 0:
            assert state_of(hass, TEMPERATURE) == "20.0"  # at once
    await tick(3)
    assert reads(velux_sim, seen) == [f"{HOMESTATUS}:{HOME_ID}"] * 2
    assert state_of(hass, TEMPERATURE) == "21.9"
