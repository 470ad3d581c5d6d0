"""Binary sensors of Homely devices, from the features each one reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely import lock
from simulator.homely import LOCK_ID, HomelySimulator

from .conftest import ent, until

LOCK = ent(Platform.BINARY_SENSOR, LOCK_ID, "lock")
JAMMED = ent(Platform.BINARY_SENSOR, LOCK_ID, "jammed")


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the binary sensors."""
    return (Platform.BINARY_SENSOR,)


async def test_snapshot(snapshot_entities: Callable[[], Awaitable[None]]) -> None:
    await snapshot_entities()


async def test_door_and_battery_of_the_lock(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    door = ent(Platform.BINARY_SENSOR, LOCK_ID, "door")
    assert door.state(hass) == "off"
    await homely_sim.change_device(LOCK_ID, "report", "doorclosed", False)
    await until(lambda: door.state(hass) == "on")
    battery = ent(Platform.BINARY_SENSOR, LOCK_ID, "battery_low")
    await homely_sim.change_device(LOCK_ID, "report", "lowbat", True)
    await until(lambda: battery.state(hass) == "on")


async def test_the_lock_state_is_a_read_only_lock_sensor(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The Yale Doorman shows as Home Assistant shows a lock it cannot operate."""
    state = LOCK.current(hass)
    assert state is not None
    assert state.attributes[ATTR_DEVICE_CLASS] == BinarySensorDeviceClass.LOCK
    # named after its device, like the lock entity it replaces
    assert state.attributes["friendly_name"] == "Front door lock"
    assert state.state == "off"  # locked
    assert JAMMED.state(hass) == "off"
    assert JAMMED.attributes(hass)[ATTR_DEVICE_CLASS] == BinarySensorDeviceClass.PROBLEM
    # no lock entity, so no lock or unlock button that could only fail
    assert hass.states.async_entity_ids(Platform.LOCK) == []


async def test_lock_states(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    # on: unlocked
    await homely_sim.change_device(LOCK_ID, "lock", "state", 2)
    await until(lambda: LOCK.state(hass) == "on")
    assert JAMMED.state(hass) == "off"
    # the bolt stopped short: not locked, and jammed
    await homely_sim.change_device(LOCK_ID, "lock", "state", 0)
    await until(lambda: JAMMED.state(hass) == "on")
    assert LOCK.state(hass) == "on"
    await homely_sim.change_device(LOCK_ID, "lock", "state", 1)
    await until(lambda: LOCK.state(hass) == "off")
    assert JAMMED.state(hass) == "off"
    # lock.state unknown: report.locked decides, whether it is jammed is unknown
    await homely_sim.change_device(LOCK_ID, "lock", "state", None)
    await until(lambda: JAMMED.state(hass) == "unknown")
    assert LOCK.state(hass) == "off"
    await homely_sim.change_device(LOCK_ID, "report", "locked", False)
    await until(lambda: LOCK.state(hass) == "on")


async def test_homely_has_no_lock_platform(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The lock platform (the VELUX departure mode) adds nothing for a Homely account."""
    added: list[object] = []
    await lock.async_setup_entry(hass, loaded_entry, lambda entities, *_: added.extend(entities))
    assert added == []
