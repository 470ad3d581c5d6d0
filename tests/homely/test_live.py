"""Live events and reconnections of a loaded Homely entry."""

from __future__ import annotations

from homeassistant.const import Platform
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

from .conftest import (
    CABIN_HOME,
    CABIN_PANEL,
    HOME,
    MOTION,
    PANEL,
    REFRESH,
    Tick,
    all_live,
    ent,
    idle,
    reconnected,
    runtime_of,
    shows,
    until,
)

FRONT_DOOR = ent(Platform.BINARY_SENSOR, ENTRY_ID, "opening")


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
    assert MOTION.state(hass) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")

    await homely_sim.tick_meter(HAN_ID, wh=2500, demand=2100)
    await until(lambda: ent(Platform.SENSOR, HAN_ID, "power").state(hass) == "2100")
    assert ent(Platform.SENSOR, HAN_ID, "energy_imported").state(hass) == "12348.17"

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await until(lambda: PANEL.state(hass) == "armed_away")
    attributes = PANEL.attributes(hass)
    assert attributes["changed_by"] == "Kari"
    assert attributes["homely_state"] == "ARMED_AWAY"
    assert attributes["changed_at"] is not None
    # the cabin's panel did not move
    assert CABIN_PANEL.state(hass) == "disarmed"
    assert len(homely_sim.requests) == calls


async def test_event_for_a_sub_location_and_unknown_ids(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    sub_location = "7d3f7a5e-1111-4f3e-9a6b-2b1c0d5e8f00"
    await homely_sim.change_device(ENTRY_ID, "alarm", "alarm", True, location_id=sub_location)
    await until(lambda: FRONT_DOOR.state(hass) == "on")

    # ids that name no location: the device (known in the cabin) decides
    await homely_sim.emit_raw(CABIN_LOCATION_ID, _change(CABIN_ENTRY_ID, locationId="unknown"))
    await until(lambda: ent(Platform.BINARY_SENSOR, CABIN_ENTRY_ID, "opening").state(hass) == "on")
    # an event for a device of the home, delivered on the cabin's connection
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID, _change(MOTION_ID, rootLocationId=CABIN_LOCATION_ID)
    )
    await until(lambda: MOTION.state(hass) == "on")
    # an alarm event without locationId: the connection's location
    await homely_sim.emit_raw(
        CABIN_LOCATION_ID, {"type": "alarm-state-changed", "data": {"state": "ARMED_NIGHT"}}
    )
    await until(lambda: CABIN_PANEL.state(hass) == "armed_night")
    # an unknown device right after the set-up's read: ignored until the next read
    await homely_sim.emit_raw(LOCATION_ID, _change("new-device", rootLocationId=LOCATION_ID))
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_STAY")
    await until(lambda: PANEL.state(hass) == "armed_home")
    assert homely_sim.count(HOME) == 1


async def test_stale_changes_are_dropped(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = runtime_of(loaded_entry).coordinators[LOCATION_ID]
    await homely_sim.change_device(
        MOTION_ID, "alarm", "alarm", True, last_updated="2020-01-01T00:00:00.000Z"
    )
    await until(lambda: coordinator.events_stale == 1)
    assert MOTION.state(hass) == "off"
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await until(lambda: PANEL.state(hass) == "armed_away")
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
    assert PANEL.state(hass) == "armed_away"


async def test_a_state_first_seen_in_an_event_gets_its_entity_at_once(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    """A known device reports a state it did not have at the last read (dynamic devices)."""
    smoke = ent(Platform.BINARY_SENSOR, ENTRY_ID, "smoke")
    assert smoke.current(hass) is None
    await homely_sim.change_device(ENTRY_ID, "alarm", "fire", True, create=True)
    await until(lambda: smoke.current(hass) is not None)
    assert smoke.state(hass) == "on"
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
    await until(lambda: PANEL.state(hass) == "armed_night")
    assert len(homely_sim.connect_log) == 3
    assert homely_sim.connect_log[2][0] == LOCATION_ID
    assert homely_sim.connect_log[2][1] != first_token
    assert homely_sim.count(REFRESH) == 1
    assert homely_sim.count(CABIN_HOME) == 1
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1
    # events flow on the new connection
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: MOTION.state(hass) == "on")


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


async def test_connections_are_renewed_before_their_tokens_expire(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    """The server ends a connection when its token expires (60 s): none is ever ended."""
    homely_sim.drop_at_token_expiry = True
    runtime = runtime_of(loaded_entry)
    reads = homely_sim.count(HOME), homely_sim.count(CABIN_HOME)
    for second in range(1, 301):
        await tick(1)
        if second % 20 == 0:
            await homely_sim.change_device(MOTION_ID, "alarm", "alarm", second % 40 == 0)
            expected = "on" if second % 40 == 0 else "off"
            await until(shows(hass, MOTION, expected))
        assert homely_sim.connections(LOCATION_ID) <= 2
    assert homely_sim.expiry_drops == 0
    assert all_live(loaded_entry)
    assert sum(live.rollovers for live in runtime.live.connections.values()) >= 8
    # no reconnection, so no read to catch up on lost events
    assert (homely_sim.count(HOME), homely_sim.count(CABIN_HOME)) == reads
    assert homely_sim.connections(LOCATION_ID) == 1
