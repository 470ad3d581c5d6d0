"""Live events, reconnects, resyncs and polling of a loaded Homely entry."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.const import DOMAIN
from custom_components.velux_homely.homely import alarm_control_panel
from simulator.homely import (
    CABIN_ENTRY_ID,
    CABIN_LOCATION_ID,
    ENTRY_ID,
    FLOOD_ID,
    HAN_ID,
    LOCATION_ID,
    MOTION_ID,
    HomelySimulator,
)
from tests.helpers import state_of

from .conftest import all_live, resyncs_idle, runtime_of, wait_for

HOME = f"/homely/home/{LOCATION_ID}"
CABIN_HOME = f"/homely/home/{CABIN_LOCATION_ID}"
REFRESH = "/homely/oauth/refresh-token"
MOTION = "binary_sensor.motion_hallway_motion"
PANEL = "alarm_control_panel.demo_home"


async def _fire_resync(
    hass: HomeAssistant, entry: MockConfigEntry, location_id: str, expected: float
) -> None:
    """Check when the location's next resync is due and run it now.

    Home Assistant's ``async_fire_time_changed`` runs every timer of the loop, including
    the Socket.IO ping timeouts, which would end the live connections; so only the
    coordinator's own timer is fired.
    """
    coordinator = runtime_of(entry).coordinators[location_id]
    due = coordinator.next_resync_in
    assert due is not None
    assert expected - 5 <= due <= expected
    coordinator._async_timer_fired(dt_util.utcnow())
    await hass.async_block_till_done()


async def test_events_change_entities_without_rest_calls(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    calls = len(homely_sim.requests)
    assert state_of(hass, MOTION) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await wait_for(lambda: state_of(hass, MOTION) == "on")

    await homely_sim.tick_meter(HAN_ID, wh=2500, demand=2100)
    await wait_for(lambda: state_of(hass, "sensor.han_plug_power") == "2100")
    assert state_of(hass, "sensor.han_plug_energy_imported") == "12348.17"

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await wait_for(lambda: state_of(hass, PANEL) == "armed_away")
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["changed_by"] == "Kari"
    assert panel.attributes["homely_state"] == "ARMED_AWAY"
    assert panel.attributes["changed_at"] is not None
    # the cabin's panel did not move
    assert state_of(hass, "alarm_control_panel.hytta") == "disarmed"
    assert len(homely_sim.requests) == calls


async def test_event_for_a_sub_location_and_unknown_ids(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    sub_location = "7d3f7a5e-1111-4f3e-9a6b-2b1c0d5e8f00"
    await homely_sim.change_device(ENTRY_ID, "alarm", "alarm", True, location_id=sub_location)
    await wait_for(lambda: state_of(hass, "binary_sensor.front_door_opening") == "on")

    # ids that name no location: the device (known in the cabin) decides
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID,
        {
            "type": "device-state-changed",
            "data": {
                "deviceId": CABIN_ENTRY_ID,
                "locationId": "unknown",
                "changes": [
                    {
                        "feature": "alarm",
                        "stateName": "alarm",
                        "value": True,
                        "lastUpdated": "2030-01-01T00:00:00Z",
                    }
                ],
            },
        },
    )
    await wait_for(lambda: state_of(hass, "binary_sensor.cabin_door_opening") == "on")
    # an event for a device of the home, delivered on the cabin's connection
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID,
        {
            "type": "device-state-changed",
            "data": {
                "deviceId": MOTION_ID,
                "rootLocationId": CABIN_LOCATION_ID,
                "changes": [
                    {
                        "feature": "alarm",
                        "stateName": "alarm",
                        "value": True,
                        "lastUpdated": "2030-01-01T00:00:00Z",
                    }
                ],
            },
        },
    )
    await wait_for(lambda: state_of(hass, MOTION) == "on")
    # an alarm event without locationId: the connection's location
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID,
        {"type": "alarm-state-changed", "data": {"state": "ARMED_NIGHT"}},
    )
    await wait_for(lambda: state_of(hass, "alarm_control_panel.hytta") == "armed_night")
    # an unknown device: ignored until a resync shows it
    await homely_sim.emit_raw(
        LOCATION_ID,
        {
            "type": "device-state-changed",
            "data": {
                "deviceId": "new-device",
                "rootLocationId": LOCATION_ID,
                "changes": [{"feature": "alarm", "stateName": "alarm", "value": True}],
            },
        },
    )
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_STAY")
    await wait_for(lambda: state_of(hass, PANEL) == "armed_home")


async def test_stale_changes_are_dropped(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await homely_sim.change_device(
        MOTION_ID, "alarm", "alarm", True, last_updated="2020-01-01T00:00:00.000Z"
    )
    await wait_for(lambda: coordinator.events_stale == 1)
    assert state_of(hass, MOTION) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await wait_for(lambda: state_of(hass, MOTION) == "on")

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await wait_for(lambda: state_of(hass, PANEL) == "armed_away")
    await homely_sim.emit_raw(
        LOCATION_ID,
        {
            "type": "alarm-state-changed",
            "data": {
                "locationId": LOCATION_ID,
                "state": "DISARMED",
                "timestamp": "2020-01-01T00:00:00Z",
            },
        },
    )
    await wait_for(lambda: coordinator.events_stale == 2)
    assert state_of(hass, PANEL) == "armed_away"


@pytest.mark.parametrize(
    ("homely", "shown"),
    [
        ("ARMED_NIGHT", "armed_night"),
        ("ARMED_PARTLY", "armed_home"),
        ("BREACHED", "triggered"),
        ("ALARM_PENDING", "pending"),
        ("ALARM_STAY_PENDING", "pending"),
        ("ARM_PENDING", "arming"),
        ("ARMED_AWAY_PENDING", "arming"),
        ("ARM_NIGHT_PENDING", "arming"),
    ],
)
async def test_alarm_states(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    homely: str,
    shown: str,
) -> None:
    await homely_sim.set_alarm_state(LOCATION_ID, homely)
    await wait_for(lambda: state_of(hass, PANEL) == shown)


async def test_unknown_alarm_state_is_logged_once(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alarm_control_panel._warned.discard("ARMED_ON_THE_MOON")
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_ON_THE_MOON", user_name="Ola")
    await wait_for(lambda: state_of(hass, PANEL) == STATE_UNKNOWN)
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["homely_state"] == "ARMED_ON_THE_MOON"
    assert panel.attributes["changed_by"] == "Ola"
    await homely_sim.set_alarm_state(LOCATION_ID, "DISARMED")
    await wait_for(lambda: state_of(hass, PANEL) == "disarmed")
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_ON_THE_MOON", user_name="Kari")
    await wait_for(lambda: hass.states.get(PANEL).attributes["changed_by"] == "Kari")
    warnings = [r for r in caplog.records if "Unknown Homely alarm state" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


async def test_server_disconnect_reconnects_with_fresh_token_and_resyncs(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    first_token = homely_sim.connect_log[0][1]
    # a change the live connection never reports (it happens "during the gap")
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_NIGHT"
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    await wait_for(lambda: state_of(hass, PANEL) == "armed_night")
    assert len(homely_sim.connect_log) == 3
    assert homely_sim.connect_log[2][0] == LOCATION_ID
    assert homely_sim.connect_log[2][1] != first_token
    assert homely_sim.count(REFRESH) == 1
    assert homely_sim.count(CABIN_HOME) == 1
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1
    # events flow on the new connection
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await wait_for(lambda: state_of(hass, MOTION) == "on")


async def test_token_expiry_during_the_connections(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    await homely_sim.expire_access_tokens()
    await wait_for(lambda: len(homely_sim.connect_log) == 4 and all_live(loaded_entry))
    await wait_for(
        lambda: (
            homely_sim.count(HOME) == 2
            and homely_sim.count(CABIN_HOME) == 2
            and resyncs_idle(loaded_entry)
        )
    )
    # both connections share one new token: one refresh
    assert homely_sim.count(REFRESH) == 1
    assert homely_sim.logins == 1
    assert homely_sim.rejected_connects == 0
    assert homely_sim.connect_log[2][1] == homely_sim.connect_log[3][1]
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1


async def test_slow_resync_while_live_and_device_added_and_removed(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    due = coordinator.next_resync_in
    assert due is not None
    assert 1795 <= due <= 1800
    # events do not postpone the slow resync
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await wait_for(lambda: state_of(hass, MOTION) == "on")
    after_event = coordinator.next_resync_in
    assert after_event is not None
    assert after_event <= due
    assert homely_sim.count(HOME) == 1

    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Basement flood")
    homely_sim.remove_device(FLOOD_ID)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    await wait_for(lambda: hass.states.get("binary_sensor.basement_flood_moisture") is not None)
    devices = dr.async_get(hass)
    await wait_for(lambda: devices.async_get_device(identifiers={(DOMAIN, FLOOD_ID)}) is None)
    assert devices.async_get_device(identifiers={(DOMAIN, new_id)}) is not None
    assert er.async_get(hass).async_get("binary_sensor.flood_alarm_moisture") is None
    assert hass.states.get("binary_sensor.flood_alarm_moisture") is None
    # the cabin's devices are kept although only the home was re-read
    assert devices.async_get_device(identifiers={(DOMAIN, CABIN_ENTRY_ID)}) is not None
    assert homely_sim.count(CABIN_HOME) == 1
    # the next resync is 30 minutes away again
    next_due = coordinator.next_resync_in
    assert next_due is not None
    assert next_due > 1790


async def test_offline_device_is_unavailable(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    homely_sim.set_online(MOTION_ID, False)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: state_of(hass, MOTION) == STATE_UNAVAILABLE)
    assert state_of(hass, "sensor.motion_hallway_temperature") == STATE_UNAVAILABLE
    assert state_of(hass, "binary_sensor.motion_hallway_connectivity") == "off"
    assert state_of(hass, "binary_sensor.front_door_opening") == "off"
    homely_sim.set_online(MOTION_ID, True)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: state_of(hass, MOTION) == "off")


async def test_polls_at_the_option_interval_while_the_connection_is_down(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    # no new token can be had: the connection stays down (REST still has a valid token)
    homely_sim.fail_next(10_000, status=503, path="/homely/oauth")
    await homely_sim.disconnect(LOCATION_ID)
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await wait_for(lambda: not coordinator.live_connected)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 120)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    assert homely_sim.count(CABIN_HOME) == 1
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 120)
    await wait_for(lambda: homely_sim.count(HOME) == 3 and resyncs_idle(loaded_entry))
    assert state_of(hass, MOTION) == "off"
    # REST down too: the entities go unavailable, polling goes on
    homely_sim.fail_next(1, status=502, path=HOME)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 120)
    await wait_for(lambda: state_of(hass, MOTION) == STATE_UNAVAILABLE)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 120)
    await wait_for(lambda: state_of(hass, MOTION) == "off")


async def test_rate_limited_resync_keeps_data_and_honours_retry_after(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    # room for a third /home call in the window (the throttled one counts too)
    coordinator.tuning = replace(coordinator.tuning, home_reads_per_window=3)
    homely_sim.rate_limit_next(1, retry_after=0.4, path=HOME)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    limited_at = asyncio.get_running_loop().time()
    assert state_of(hass, MOTION) == "off"
    assert 0 < coordinator.diagnostics()["rate_limited_for"] <= 0.4
    # a reconnect within the window does not call /home before retryAfter...
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: len(homely_sim.connect_log) == 3 and coordinator.live_connected)
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2
    # ...but right after it (the real timer fires by itself)
    await wait_for(lambda: homely_sim.count(HOME) == 3 and resyncs_idle(loaded_entry))
    assert asyncio.get_running_loop().time() - limited_at >= 0.35
    assert state_of(hass, MOTION) == "off"
    await wait_for(lambda: (coordinator.next_resync_in or 0) > 1790)


async def test_timer_firing_early_waits_for_retry_after(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    homely_sim.rate_limit_next(1, retry_after=300, path=HOME)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    coordinator._async_timer_fired(dt_util.utcnow())
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2
    due = coordinator.next_resync_in
    assert due is not None
    assert due > 290


async def test_resync_failure_while_live_keeps_entities(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    homely_sim.fail_next(1, status=500, path=HOME)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    assert state_of(hass, MOTION) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await wait_for(lambda: state_of(hass, MOTION) == "on")


async def test_unknown_model_and_odd_values(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    odd: dict[str, Any] = {
        "id": "0b7a7d4e-7e0e-4c3e-8f3c-1c2d3e4f5a6b",
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
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: hass.states.get("binary_sensor.mystery_alarm") is not None)
    await hass.async_block_till_done()
    assert state_of(hass, "binary_sensor.mystery_alarm") == "on"
    assert state_of(hass, "binary_sensor.mystery_battery") == "on"
    assert state_of(hass, "sensor.mystery_temperature") == STATE_UNKNOWN


async def test_unload_during_a_resync_and_after(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    coordinator.async_start_resync()
    coordinator.async_start_resync()  # one at a time
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert coordinator.next_resync_in is None
    # a closed coordinator neither reads nor schedules
    await coordinator.async_resync()
    coordinator.async_start_resync()
    coordinator.async_schedule_resync()
    assert coordinator.next_resync_in is None
    assert homely_sim.count(HOME) <= 2


async def test_event_of_a_new_device_reads_the_location_again(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    coordinator.tuning = replace(coordinator.tuning, unknown_device_resync_gap=0)
    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Boiler room flood")
    await homely_sim.change_device(new_id, "alarm", "flood", True)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    await wait_for(lambda: hass.states.get("binary_sensor.boiler_room_flood_moisture") is not None)
    assert state_of(hass, "binary_sensor.boiler_room_flood_moisture") == "on"

    # a second newcomer right after that read waits for the next regular resync
    coordinator.tuning = replace(coordinator.tuning, unknown_device_resync_gap=300)
    other_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Attic flood")
    await homely_sim.change_device(other_id, "alarm", "flood", True)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await wait_for(lambda: state_of(hass, PANEL) == "armed_away")
    assert homely_sim.count(HOME) == 2
    assert hass.states.get("binary_sensor.attic_flood_moisture") is None


async def test_flapping_connection_resyncs_within_the_read_budget(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    """The server drops the sockets on every token expiry (each minute at worst)."""
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    # the first drop after set-up: reconnect and resync at once (2 reads in 15 minutes)
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_NIGHT"
    await homely_sim.expire_access_tokens()
    await wait_for(
        lambda: (
            len(homely_sim.connect_log) == 4
            and all_live(loaded_entry)
            and homely_sim.count(HOME) == 2
            and resyncs_idle(loaded_entry)
        )
    )
    await wait_for(lambda: state_of(hass, PANEL) == "armed_night")
    assert homely_sim.count(CABIN_HOME) == 2
    # further drops: reconnected each time, but no /home read beyond the budget...
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_AWAY"
    for drop in range(1, 6):
        await homely_sim.expire_access_tokens()
        await wait_for(
            lambda drop=drop: len(homely_sim.connect_log) == 4 + 2 * drop and all_live(loaded_entry)
        )
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2
    assert homely_sim.count(CABIN_HOME) == 2
    assert homely_sim.rejected_connects == 0
    assert state_of(hass, PANEL) == "armed_night"
    # ...and one resync pending, for when the oldest read leaves the 15-minute window
    assert coordinator.resyncs_deferred == 5
    assert coordinator.diagnostics()["home_reads_in_window"] == 2
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 900)
    await wait_for(lambda: homely_sim.count(HOME) == 3 and resyncs_idle(loaded_entry))
    await wait_for(lambda: state_of(hass, PANEL) == "armed_away")
    assert homely_sim.count(CABIN_HOME) == 2
    next_due = coordinator.next_resync_in
    assert next_due is not None
    assert next_due > 1790


async def test_reconnect_within_the_budget_replaces_the_poll_of_the_disconnection(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    await wait_for(lambda: coordinator.live_connected)
    # a drop that the reconnection does not follow soon: polls at the option interval
    homely_sim.fail_next(1, status=503, path="/homely/oauth")
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: not coordinator.live_connected)
    due = coordinator.next_resync_in
    assert due is not None
    assert due <= 120
    # back within the budget window: the poll would be a third read in 15 minutes
    await wait_for(lambda: coordinator.live_connected)
    due = coordinator.next_resync_in
    assert due is not None
    assert 880 < due <= 900
    assert homely_sim.count(HOME) == 2
    # a later drop keeps a sooner pending resync
    coordinator.poll_interval = 3600
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: not coordinator.live_connected)
    due = coordinator.next_resync_in
    assert due is not None
    assert due <= 900


async def test_unknown_device_does_not_read_beyond_the_budget(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    coordinator.tuning = replace(coordinator.tuning, unknown_device_resync_gap=0)
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    new_id = homely_sim.add_device(LOCATION_ID, "Flood Alarm", name="Boiler room flood")
    await wait_for(lambda: coordinator.live_connected)
    await homely_sim.change_device(new_id, "alarm", "flood", True)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await wait_for(lambda: state_of(hass, PANEL) == "armed_away")
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2
    assert hass.states.get("binary_sensor.boiler_room_flood_moisture") is None


async def test_resync_answer_does_not_undo_newer_live_events(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    # the cloud computes the /home answer, then events overtake it
    hold = homely_sim.hold_next(HOME)
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await asyncio.wait_for(hold.ready.wait(), 5)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await wait_for(lambda: state_of(hass, PANEL) == "armed_away" and state_of(hass, MOTION) == "on")
    hold.release()
    await wait_for(lambda: resyncs_idle(loaded_entry))
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2
    assert state_of(hass, PANEL) == "armed_away"
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["changed_by"] == "Kari"
    assert state_of(hass, MOTION) == "on"
    # the states the events did not touch come from the read; the next read wins as usual
    homely_sim.locations[LOCATION_ID].alarm_state = "DISARMED"
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: homely_sim.count(HOME) == 3 and resyncs_idle(loaded_entry))
    await wait_for(lambda: state_of(hass, PANEL) == "disarmed")
    assert state_of(hass, MOTION) == "on"


@pytest.mark.parametrize("live", [True, False])
async def test_home_without_devices_list_removes_nothing(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, live: bool
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
        homely_sim.fail_next(10_000, status=503, path="/homely/oauth")
        await homely_sim.disconnect(LOCATION_ID)
        coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
        await wait_for(lambda: not coordinator.live_connected)
        await _fire_resync(hass, loaded_entry, LOCATION_ID, 120)
    else:
        await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    await hass.async_block_till_done()
    after = {
        device.id for device in dr.async_entries_for_config_entry(devices, loaded_entry.entry_id)
    }
    assert after == before
    assert devices.async_get_device(identifiers={(DOMAIN, MOTION_ID)}) is not None
    assert er.async_get(hass).async_get(MOTION) is not None
    # nothing of the invalid answer was taken
    assert state_of(hass, PANEL) in ("disarmed", STATE_UNAVAILABLE)
    # the next good read brings everything back
    await _fire_resync(hass, loaded_entry, LOCATION_ID, 1800 if live else 120)
    await wait_for(lambda: homely_sim.count(HOME) == 3 and resyncs_idle(loaded_entry))
    await wait_for(lambda: state_of(hass, MOTION) == "off" and state_of(hass, PANEL) == "disarmed")


async def test_reads_leave_the_budget_window(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: homely_sim.count(HOME) == 2 and resyncs_idle(loaded_entry))
    await wait_for(lambda: coordinator.live_connected)
    # a short window: the two reads are out of it by the next reconnection
    coordinator.tuning = replace(coordinator.tuning, home_read_window=0.05)
    await asyncio.sleep(0.06)
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_STAY"
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: homely_sim.count(HOME) == 3 and resyncs_idle(loaded_entry))
    await wait_for(lambda: state_of(hass, PANEL) == "armed_home")
    assert coordinator.resyncs_deferred == 0
