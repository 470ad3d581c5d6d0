"""Live events and reconnections of a loaded Homely entry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.homely import (
    CABIN_ENTRY_ID,
    CABIN_LOCATION_ID,
    ENTRY_ID,
    HAN_ID,
    LOCATION_ID,
    MOTION_ID,
    HomelySimulator,
)
from tests.helpers import state_of

from .conftest import (
    CABIN_HOME,
    HOME,
    REFRESH,
    Tick,
    idle,
    reconnected,
    runtime_of,
    until,
)

MOTION = "binary_sensor.motion_hallway_motion"
PANEL = "alarm_control_panel.demo_home"


def _change(device_id: str, **data: object) -> dict[str, object]:
    """Return a raw ``device-state-changed`` event that sets ``alarm.alarm``."""
    return {
        "type": "device-state-changed",
        "data": {
            "deviceId": device_id,
            **data,
            "changes": [
                {
                    "feature": "alarm",
                    "stateName": "alarm",
                    "value": True,
                    "lastUpdated": "2030-01-01T00:00:00Z",
                }
            ],
        },
    }


async def test_events_change_entities_without_rest_calls(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    calls = len(homely_sim.requests)
    assert state_of(hass, MOTION) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: state_of(hass, MOTION) == "on")

    await homely_sim.tick_meter(HAN_ID, wh=2500, demand=2100)
    await until(lambda: state_of(hass, "sensor.han_plug_power") == "2100")
    assert state_of(hass, "sensor.han_plug_energy_imported") == "12348.17"

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await until(lambda: state_of(hass, PANEL) == "armed_away")
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
    await until(lambda: state_of(hass, "binary_sensor.front_door_opening") == "on")

    # ids that name no location: the device (known in the cabin) decides
    await homely_sim.emit_raw(CABIN_LOCATION_ID, _change(CABIN_ENTRY_ID, locationId="unknown"))
    await until(lambda: state_of(hass, "binary_sensor.cabin_door_opening") == "on")
    # an event for a device of the home, delivered on the cabin's connection
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID, _change(MOTION_ID, rootLocationId=CABIN_LOCATION_ID)
    )
    await until(lambda: state_of(hass, MOTION) == "on")
    # an alarm event without locationId: the connection's location
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID, {"type": "alarm-state-changed", "data": {"state": "ARMED_NIGHT"}}
    )
    await until(lambda: state_of(hass, "alarm_control_panel.hytta") == "armed_night")
    # an unknown device right after the set-up's read: ignored until the next read
    await homely_sim.emit_raw(LOCATION_ID, _change("new-device", rootLocationId=LOCATION_ID))
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_STAY")
    await until(lambda: state_of(hass, PANEL) == "armed_home")
    assert homely_sim.count(HOME) == 1


async def test_stale_changes_are_dropped(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await homely_sim.change_device(
        MOTION_ID, "alarm", "alarm", True, last_updated="2020-01-01T00:00:00.000Z"
    )
    await until(lambda: coordinator.events_stale == 1)
    assert state_of(hass, MOTION) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: state_of(hass, MOTION) == "on")

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await until(lambda: state_of(hass, PANEL) == "armed_away")
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
    await until(lambda: coordinator.events_stale == 2)
    assert state_of(hass, PANEL) == "armed_away"


async def test_a_state_first_seen_in_an_event_gets_its_entity_at_once(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    """A known device reports a state it did not have at the last read (dynamic devices)."""
    assert hass.states.get("binary_sensor.front_door_smoke") is None
    await homely_sim.change_device(ENTRY_ID, "alarm", "fire", True, create=True)
    await until(lambda: hass.states.get("binary_sensor.front_door_smoke") is not None)
    assert state_of(hass, "binary_sensor.front_door_smoke") == "on"
    assert homely_sim.count(HOME) == 1


async def test_server_disconnect_reconnects_with_fresh_token_and_reads_again(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    first_token = homely_sim.connect_log[0][1]
    # a change the live connection never reports (it happens "during the gap")
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_NIGHT"
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(loaded_entry, tick)
    await until(lambda: homely_sim.count(HOME) == 2 and idle(homely_sim, loaded_entry))
    await until(lambda: state_of(hass, PANEL) == "armed_night")
    assert len(homely_sim.connect_log) == 3
    assert homely_sim.connect_log[2][0] == LOCATION_ID
    assert homely_sim.connect_log[2][1] != first_token
    assert homely_sim.count(REFRESH) == 1
    assert homely_sim.count(CABIN_HOME) == 1
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1
    # events flow on the new connection
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: state_of(hass, MOTION) == "on")


async def test_token_expiry_during_the_connections(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    await homely_sim.expire_access_tokens()
    await reconnected(loaded_entry, tick)
    assert len(homely_sim.connect_log) == 4
    await until(
        lambda: (
            homely_sim.count(HOME) == 2
            and homely_sim.count(CABIN_HOME) == 2
            and idle(homely_sim, loaded_entry)
        )
    )
    # both connections share one new token: one refresh
    assert homely_sim.count(REFRESH) == 1
    assert homely_sim.logins == 1
    assert homely_sim.rejected_connects == 0
    assert homely_sim.connect_log[2][1] == homely_sim.connect_log[3][1]
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1
