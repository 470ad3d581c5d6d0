"""Sensors of Homely devices: temperatures, thermostat, HAN meter, batteries, signal."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.velux_homely.homely.entity import area_of, as_number
from simulator.homely import MOTION_ID, THERMOSTAT_ID, HomelySimulator
from tests.helpers import snapshot_devices

from .conftest import ent, until


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the sensors."""
    return (Platform.SENSOR,)


@pytest.mark.usefixtures("enable_all_entities")
async def test_snapshot(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


async def test_devices(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """One device per location (the gateway) and per sensor, in the room's area."""
    snapshot_devices(hass, loaded_entry, snapshot)


async def test_link_strength_is_disabled_by_default(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    link = ent(Platform.SENSOR, MOTION_ID, "link_strength")
    entity = entity_registry.async_get(link.entity_id(hass))
    assert entity is not None
    assert entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert link.current(hass) is None


async def test_thermostat_values_are_hundredths(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    measured = ent(Platform.SENSOR, THERMOSTAT_ID, "local_temperature")
    setpoint = ent(Platform.SENSOR, THERMOSTAT_ID, "heating_setpoint")
    assert measured.state(hass) == "21.5"
    assert setpoint.state(hass) == "22.0"
    await homely_sim.change_device(THERMOSTAT_ID, "thermostat", "LocalTemperature", 2380)
    await until(lambda: measured.state(hass) == "23.8")
    await homely_sim.change_device(THERMOSTAT_ID, "thermostat", "OccupiedHeatingSetpoint", None)
    await until(lambda: setpoint.state(hass) == "unknown")


def test_helpers() -> None:
    assert area_of("Floor 1 - Entrance") == "Entrance"
    assert area_of("Kitchen") == "Kitchen"
    assert area_of("") is None
    assert as_number(True) is None
    assert as_number(2380, 100, 2) == 23.8
    assert as_number(5) == 5
