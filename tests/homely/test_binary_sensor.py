"""Binary sensors of Homely devices, from the features each one reports."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from simulator.homely import LOCK_ID, HomelySimulator
from tests.helpers import state_of

from .conftest import until


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the binary sensors."""
    return (Platform.BINARY_SENSOR,)


@pytest.mark.usefixtures("enable_all_entities")
async def test_snapshot(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


async def test_door_and_battery_of_the_lock(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    assert state_of(hass, "binary_sensor.front_door_lock_door") == "off"
    await homely_sim.change_device(LOCK_ID, "report", "doorclosed", False)
    await until(lambda: state_of(hass, "binary_sensor.front_door_lock_door") == "on")
    await homely_sim.change_device(LOCK_ID, "report", "lowbat", True)
    await until(lambda: state_of(hass, "binary_sensor.front_door_lock_battery") == "on")
