"""Reads of ``/home``: their rhythm, the read budget, rate limits and what a read changes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from simulator.homely import (
    CABIN_ENTRY_ID,
    ENTRY_ID,
    FLOOD_ID,
    LOCATION_ID,
    MOTION_ID,
    HomelySimulator,
)

from .conftest import (
    CABIN_HOME,
    HOME,
    LOGIN,
    MOTION,
    PANEL,
    REFRESH,
    Tick,
    ent,
    idle,
    reconnected,
    runtime_of,
    settle,
    until,
)

BINARY_SENSOR = Platform.BINARY_SENSOR
SENSOR = Platform.SENSOR


async def _go_offline(hass: HomeAssistant, sim: HomelySimulator, entry: MockConfigEntry) -> None:
    """Take the home's live connection down for good (the service refuses sockets)."""
    sim.refuse_sockets = True
    await sim.disconnect(LOCATION_ID)
    coordinator = runtime_of(entry).coordinators[LOCATION_ID]
    await until(lambda: not coordinator.live_connected)
    await settle(hass, sim)


async def test_slow_read_while_live_and_device_added_and_removed(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    old_flood = ent(BINARY_SENSOR, FLOOD_ID, "moisture")
    old_flood_id = old_flood.entity_id(hass)
    await tick(1790)
    assert homely_sim.count(HOME) == 1
    # events do not postpone the slow read
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")

    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Basement flood")
    homely_sim.remove_device(FLOOD_ID)
    await tick(11)
    assert homely_sim.count(HOME) == 2
    assert ent(BINARY_SENSOR, new_id, "moisture").state(hass) == "off"
    devices = dr.async_get(hass)
    ids = {
        ident
        for device in dr.async_entries_for_config_entry(devices, loaded_entry.entry_id)
        for _, ident in device.identifiers
    }
    assert FLOOD_ID not in ids
    assert new_id in ids
    assert not old_flood.registered(hass)
    assert hass.states.get(old_flood_id) is None
    # the cabin's devices are kept (it was read too, once, at its own time)
    assert CABIN_ENTRY_ID in ids
    # the next read is 30 minutes away again
    await tick(1790)
    assert homely_sim.count(HOME) == 2
    await tick(11)
    assert homely_sim.count(HOME) == 3


async def test_offline_device_is_unavailable(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    homely_sim.set_online(MOTION_ID, False)
    await tick(1801)
    assert MOTION.state(hass) == STATE_UNAVAILABLE
    assert ent(SENSOR, MOTION_ID, "temperature").state(hass) == STATE_UNAVAILABLE
    assert ent(BINARY_SENSOR, MOTION_ID, "connectivity").state(hass) == "off"
    assert ent(BINARY_SENSOR, ENTRY_ID, "opening").state(hass) == "off"
    homely_sim.set_online(MOTION_ID, True)
    await tick(1801)
    assert MOTION.state(hass) == "off"


async def test_polls_while_the_connection_is_down(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """Without live events the options' interval applies (8 minutes: the entry's 2 is
    shorter than the read budget keeps); a failing read makes the entities unavailable."""
    await _go_offline(hass, homely_sim, loaded_entry)
    await tick(481)
    assert homely_sim.count(HOME) == 2
    assert homely_sim.count(CABIN_HOME) == 1
    assert MOTION.state(hass) == "off"
    # REST down too: the entities go unavailable, polling goes on
    homely_sim.fail_next(1, status=502, path=HOME)
    await tick(481)
    assert homely_sim.count(HOME) == 3
    assert MOTION.state(hass) == STATE_UNAVAILABLE
    await tick(481)
    assert homely_sim.count(HOME) == 4
    assert MOTION.state(hass) == "off"
    diagnostics = runtime_of(loaded_entry).coordinators[LOCATION_ID].diagnostics()
    assert diagnostics["reads_held_back"] == 0


async def test_a_stored_interval_shorter_than_the_budget_allows_reads_every_8_minutes(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """An entry made with the earlier default (2 minutes, below what the read budget of 2
    reads per 15 minutes allows) loads and polls every 8 minutes: none held back."""
    assert loaded_entry.options["scan_interval"] == 2
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await _go_offline(hass, homely_sim, loaded_entry)
    reads = homely_sim.count(HOME)
    for _ in range(7):  # an hour
        await tick(478)
        assert homely_sim.count(HOME) == reads
        await tick(4)
        reads += 1
        assert homely_sim.count(HOME) == reads
    assert coordinator.reads_held_back == 0
    assert runtime_of(loaded_entry).poll_interval == timedelta(minutes=8)


async def test_rate_limited_read_keeps_data_and_honours_retry_after(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    homely_sim.rate_limit_next(1, retry_after=4, path=HOME)
    await tick(1801)
    assert homely_sim.count(HOME) == 2
    assert MOTION.state(hass) == "off"
    # a reconnection right away does not call /home before retryAfter...
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(loaded_entry, tick)
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 2
    # ...but right after it
    await tick(6)
    assert homely_sim.count(HOME) == 3
    assert MOTION.state(hass) == "off"
    # then the slow rhythm again
    await tick(1790)
    assert homely_sim.count(HOME) == 3


@pytest.mark.usefixtures("real_timing")
async def test_a_lasting_sign_in_limit_is_asked_ever_less_often(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """The sign-in answers 429 (retryAfter 30) for an hour while the live service is down."""
    homely_sim.refuse_sockets = True
    for location_id in runtime_of(loaded_entry).coordinators:
        await homely_sim.disconnect(location_id)
    homely_sim.rate_limit_next(10**6, retry_after=30, path=LOGIN)
    homely_sim.rate_limit_next(10**6, retry_after=30, path=REFRESH)
    tokens = homely_sim.count(LOGIN) + homely_sim.count(REFRESH)
    for _ in range(120):  # one simulated hour, 30 s at a time
        await tick(30)
    # the reads of the two locations wait 30, 60, 120 ... 900 s: a handful each (at a
    # fixed 30 s they would ask about 120 times each); the live connections back off too
    assert homely_sim.count(LOGIN) + homely_sim.count(REFRESH) - tokens <= 60
    assert MOTION.state(hass) == "off"  # the last state is kept
    homely_sim.clear_faults()
    homely_sim.refuse_sockets = False
    await tick(900)
    await settle(hass, homely_sim)
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")


async def test_a_lasting_rate_limit_is_asked_ever_less_often(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """retryAfter first, then doubling (never below the hint), capped at 15 minutes."""
    homely_sim.rate_limit_next(1000, retry_after=4, path=HOME)
    await tick(1801)
    assert homely_sim.count(HOME) == 2
    seen = [homely_sim.count(HOME)]
    for _ in range(120):  # one simulated hour, 30 s at a time
        await tick(30)
        seen.append(homely_sim.count(HOME))
    # 4, 8, 16, 32, 64, 128, 256, 512, 900, 900... seconds apart: a handful an hour
    assert seen[-1] - seen[0] <= 11
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")
    # the limit clears: the next read works and the rhythm is the slow one again
    homely_sim.clear_faults()
    await tick(900)
    reads = homely_sim.count(HOME)
    await tick(1790)
    assert homely_sim.count(HOME) == reads


async def test_a_long_retry_after_is_waited_out(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    homely_sim.rate_limit_next(1, retry_after=300, path=HOME)
    await tick(1801)
    assert homely_sim.count(HOME) == 2
    await tick(290)
    assert homely_sim.count(HOME) == 2
    await tick(11)
    assert homely_sim.count(HOME) == 3


async def test_read_failure_while_live_keeps_entities(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    homely_sim.fail_next(1, status=500, path=HOME)
    await tick(1801)
    assert homely_sim.count(HOME) == 2
    assert MOTION.state(hass) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")


async def test_unknown_model_and_odd_values(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    odd_id = "0b7a7d4e-7e0e-4c3e-8f3c-1c2d3e4f5a6b"
    odd: dict[str, Any] = {
        "id": odd_id,
        "name": "Mystery",
        "serialNumber": None,
        "location": "",
        "online": True,
        "modelId": None,
        "modelName": None,
        "features": {
            "alarm": {"states": {"alarm": {"value": 1, "lastUpdated": None}}},
            "temperature": {"states": {"temperature": {"value": "warm", "lastUpdated": None}}},
            "battery": {"states": {"low": {"value": "true", "lastUpdated": None}}},
        },
    }
    homely_sim.locations[LOCATION_ID].devices.append(odd)
    await tick(1801)
    assert ent(BINARY_SENSOR, odd_id, "alarm").state(hass) == "on"
    assert ent(BINARY_SENSOR, odd_id, "battery_low").state(hass) == "on"
    assert ent(SENSOR, odd_id, "temperature").state(hass) == STATE_UNKNOWN


async def test_unload_during_a_read(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, freezer: Any
) -> None:
    hold = homely_sim.hold_next(HOME)
    freezer.tick(1801)
    async_fire_time_changed(hass)
    await until(hold.ready.is_set)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    hold.release()
    await until(lambda: idle(homely_sim))
    freezer.tick(3600)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2


async def test_event_of_a_new_device_reads_the_location_again(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    await tick(301)
    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Boiler room flood")
    await homely_sim.change_device(new_id, "alarm", "flood", True)
    await until(lambda: homely_sim.count(HOME) == 2)
    await settle(hass, homely_sim)
    assert ent(BINARY_SENSOR, new_id, "moisture").state(hass) == "on"

    # a second newcomer right after that read waits for the next regular read
    other_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Attic flood")
    await homely_sim.change_device(other_id, "alarm", "flood", True)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await until(lambda: PANEL.state(hass) == "armed_away")
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 2
    assert ent(BINARY_SENSOR, other_id, "moisture").current(hass) is None


async def test_flapping_connection_reads_within_the_budget(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """The server drops the sockets on every token expiry (each minute at worst)."""
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    # the first drop after set-up: reconnect and read at once (2 reads in 15 minutes)
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_NIGHT"
    await homely_sim.expire_access_tokens()
    await reconnected(loaded_entry, tick)
    await until(lambda: homely_sim.count(HOME) == 2 and idle(homely_sim, loaded_entry))
    await until(lambda: PANEL.state(hass) == "armed_night")
    assert homely_sim.count(CABIN_HOME) == 2
    # further drops: reconnected each time, but no /home read beyond the budget...
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_AWAY"
    for _ in range(5):
        await homely_sim.expire_access_tokens()
        await reconnected(loaded_entry, tick)
        await tick(2)
    assert homely_sim.count(HOME) == 2
    assert homely_sim.count(CABIN_HOME) == 2
    assert homely_sim.rejected_connects == 0
    assert PANEL.state(hass) == "armed_night"
    # ...and one read, for when the oldest read leaves the 15-minute window
    assert coordinator.reads_held_back == 5
    assert coordinator.diagnostics()["read_budget"]["requests_in_window"] == 2
    await tick(900)
    assert homely_sim.count(HOME) == 3
    assert PANEL.state(hass) == "armed_away"
    assert homely_sim.count(CABIN_HOME) == 3


async def test_a_poll_and_a_reconnection_in_the_same_window_read_once(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(loaded_entry, tick)
    await until(lambda: homely_sim.count(HOME) == 2 and idle(homely_sim, loaded_entry))
    # a drop that no reconnection follows soon: the poll falls due, the budget holds it
    await _go_offline(hass, homely_sim, loaded_entry)
    await tick(121)
    assert homely_sim.count(HOME) == 2
    # the connection comes back within the window: still one pending read
    homely_sim.refuse_sockets = False
    await tick(1)
    await until(lambda: runtime_of(loaded_entry).coordinators[LOCATION_ID].live_connected)
    await tick(60)
    assert homely_sim.count(HOME) == 2
    await tick(900 - 180)
    assert homely_sim.count(HOME) == 3


async def test_unknown_device_does_not_read_beyond_the_budget(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    await tick(301)
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(loaded_entry, tick)
    await until(lambda: homely_sim.count(HOME) == 2 and idle(homely_sim, loaded_entry))
    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Boiler room flood")
    await tick(301)
    await homely_sim.change_device(new_id, "alarm", "flood", True)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await until(lambda: PANEL.state(hass) == "armed_away")
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 2
    assert ent(BINARY_SENSOR, new_id, "moisture").current(hass) is None
    # it shows with the read the budget allows
    await tick(300)
    assert homely_sim.count(HOME) == 3
    assert ent(BINARY_SENSOR, new_id, "moisture").current(hass) is not None


async def test_unknown_device_soon_after_a_read_shows_when_the_gap_has_passed(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """A device added 2 minutes after the last read: read again 5 minutes after it."""
    await tick(120)
    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Boiler room flood")
    await homely_sim.change_device(new_id, "alarm", "flood", True)
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 1
    await tick(170)
    assert homely_sim.count(HOME) == 1
    await tick(15)  # 5 minutes (and a second) after the read: not 30 minutes
    assert homely_sim.count(HOME) == 2
    assert ent(BINARY_SENSOR, new_id, "moisture").state(hass) == "on"


def _ghost_change(device_id: str, value: bool) -> dict[str, Any]:
    """Return a raw ``device-state-changed`` of the home's device ``device_id`` (flood)."""
    stamp = "2030-01-01T00:00:00Z"
    change = {"feature": "alarm", "stateName": "flood", "value": value, "lastUpdated": stamp}
    return {
        "type": "device-state-changed",
        "data": {
            "deviceId": device_id,
            "locationId": LOCATION_ID,
            "rootLocationId": LOCATION_ID,
            "change": change,
            "changes": [change],
        },
    }


async def test_events_of_a_device_home_never_lists_read_once(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """A device whose events arrive but that ``/home`` does not list (say, a sensor
    removed in the app that still sends): one read looks for it, then its events read
    nothing more; the regular reads go on, and the first that lists it shows it."""
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    ghost = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Ghost flood")
    hidden = homely_sim.device(ghost)
    homely_sim.remove_device(ghost)
    moisture = ent(BINARY_SENSOR, ghost, "moisture")

    async def one_event_a_minute(minutes: int) -> None:
        for minute in range(minutes):
            await tick(60)
            applied = coordinator.events_applied
            await homely_sim.emit_raw(LOCATION_ID, _ghost_change(ghost, minute % 2 == 0))
            # a known sensor's change behind it: the ghost's event has been handled
            await homely_sim.change_device(MOTION_ID, "temperature", "temperature", minute)
            await until(lambda applied=applied: coordinator.events_applied == applied + 1)  # type: ignore[misc]
            await settle(hass, homely_sim)

    # the first hour: set-up's read, the one read 5 minutes after it, the 30-minute resync
    await one_event_a_minute(60)
    assert homely_sim.count(HOME) == 3
    assert moisture.current(hass) is None
    # the second hour: the regular rhythm only (2 reads), as without the ghost
    await one_event_a_minute(60)
    assert homely_sim.count(HOME) == 5
    assert homely_sim.count(CABIN_HOME) == 5
    assert moisture.current(hass) is None
    # the device shows up in /home: the next regular read gives it its entities
    homely_sim.locations[LOCATION_ID].devices.append(hidden)
    await one_event_a_minute(30)
    assert homely_sim.count(HOME) == 6
    assert moisture.state(hass) == "off"
    # from then on its events apply at once, without a read
    await homely_sim.emit_raw(LOCATION_ID, _ghost_change(ghost, True))
    await until(lambda: moisture.state(hass) == "on")
    assert homely_sim.count(HOME) == 6


async def test_a_second_event_during_the_read_it_caused_reads_nothing_more(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
    freezer: Any,
) -> None:
    """The read that looks for an unlisted device is under way when the device sends
    again: that read answers for both events (no read once the budget allows)."""
    await tick(301)
    ghost = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Ghost flood")
    homely_sim.remove_device(ghost)
    hold = homely_sim.hold_next(HOME)
    await homely_sim.emit_raw(LOCATION_ID, _ghost_change(ghost, True))
    await until(hold.ready.is_set)
    await homely_sim.emit_raw(LOCATION_ID, _ghost_change(ghost, False))
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await until(lambda: PANEL.state(hass) == "armed_away")
    hold.release()
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 2
    # the budget frees a read 15 minutes after set-up's: none goes, the resync is due
    await tick(1000)
    assert homely_sim.count(HOME) == 2
    await homely_sim.emit_raw(LOCATION_ID, _ghost_change(ghost, True))
    await tick(700)
    assert homely_sim.count(HOME) == 2
    await tick(110)  # 30 minutes after the read that looked for it
    assert homely_sim.count(HOME) == 3


async def test_read_answer_does_not_undo_newer_live_events(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
    freezer: Any,
) -> None:
    # the cloud computes the /home answer, then events overtake it
    hold = homely_sim.hold_next(HOME)
    freezer.tick(1801)
    async_fire_time_changed(hass)
    await until(hold.ready.is_set)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: PANEL.state(hass) == "armed_away" and MOTION.state(hass) == "on")
    hold.release()
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 2
    assert PANEL.state(hass) == "armed_away"
    assert PANEL.attributes(hass)["changed_by"] == "Kari"
    assert MOTION.state(hass) == "on"
    # the states the events did not touch come from the read; the next read wins as usual
    homely_sim.locations[LOCATION_ID].alarm_state = "DISARMED"
    await tick(1801)
    assert homely_sim.count(HOME) == 3
    assert PANEL.state(hass) == "disarmed"
    assert MOTION.state(hass) == "on"


@pytest.mark.parametrize("live", [True, False])
async def test_home_without_devices_list_removes_nothing(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
    live: bool,
) -> None:
    devices = dr.async_get(hass)
    before = {
        device.id for device in dr.async_entries_for_config_entry(devices, loaded_entry.entry_id)
    }
    body = dict(homely_sim.locations[LOCATION_ID].home())
    del body["devices"]
    body["alarmState"] = "ARMED_AWAY"
    homely_sim.answer_next(body, path=HOME)
    if not live:
        await _go_offline(hass, homely_sim, loaded_entry)
    await tick(1801 if live else 481)
    assert homely_sim.count(HOME) == 2
    after = {
        device.id for device in dr.async_entries_for_config_entry(devices, loaded_entry.entry_id)
    }
    assert after == before
    assert MOTION.registered(hass)
    # nothing of the invalid answer was taken
    assert PANEL.state(hass) == ("disarmed" if live else STATE_UNAVAILABLE)
    # the next good read brings everything back
    await tick(1801 if live else 900)
    assert homely_sim.count(HOME) == 3
    assert MOTION.state(hass) == "off"
    assert PANEL.state(hass) == "disarmed"


async def test_reads_leave_the_budget_window(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(loaded_entry, tick)
    await until(lambda: homely_sim.count(HOME) == 2 and idle(homely_sim, loaded_entry))
    # 15 minutes on, both reads are out of the window by the next reconnection
    await tick(901)
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_STAY"
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(loaded_entry, tick)
    await until(lambda: homely_sim.count(HOME) == 3 and idle(homely_sim, loaded_entry))
    await until(lambda: PANEL.state(hass) == "armed_home")
    assert coordinator.reads_held_back == 0


async def test_a_reconnection_during_a_read_is_followed_by_one_more_read(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
    freezer: Any,
) -> None:
    """The read after a reconnection is under way when the connection drops and comes back
    again: its answer may predate what the live service lost in the second gap, so one
    more read follows as soon as the budget allows (not at the 30-minute resync)."""
    live = runtime_of(loaded_entry).live.connections[LOCATION_ID]

    async def advance(seconds: float) -> None:
        """Move the clock while a read is held at the cloud (nothing waits for it)."""
        freezer.tick(seconds)
        async_fire_time_changed(hass)
        for _ in range(20):
            await asyncio.sleep(0)

    async def reconnects(count: int) -> None:
        for _ in range(100):
            if live.connects == count and live.connected:
                return
            await until(lambda: live.connected or live.next_delay is not None)
            await advance(0.1)
        raise AssertionError("not reconnected")

    await tick(10)
    hold = homely_sim.hold_next(HOME)
    await homely_sim.disconnect(LOCATION_ID)
    await reconnects(2)
    await until(hold.ready.is_set)
    assert homely_sim.count(HOME) == 2
    # the cloud has computed that read's answer; the connection drops again and the
    # alarm is armed while no connection is up (the live service sends it to nobody)
    await homely_sim.disconnect(LOCATION_ID)
    await until(lambda: not live.connected)
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_NIGHT"
    await reconnects(3)
    # the answer is slow to come (a few seconds)
    await advance(3)
    hold.release()
    await settle(hass, homely_sim)
    assert PANEL.state(hass) == "disarmed"
    # the set-up's read and that one fill the budget: the next read waits for the
    # set-up's to leave the 15-minute window
    await tick(600)
    assert homely_sim.count(HOME) == 2
    await tick(300)
    assert homely_sim.count(HOME) == 3
    assert PANEL.state(hass) == "armed_night"
    # then the slow rhythm again
    await tick(1790)
    assert homely_sim.count(HOME) == 3
