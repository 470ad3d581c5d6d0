"""Sensors of Homely devices: temperatures, thermostat, HAN meter, batteries, signal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.velux_homely.homely.entity import area_of, as_number
from simulator.homely import HAN_ID, MOTION_ID, THERMOSTAT_ID, HomelySimulator
from tests.helpers import account_sensor, check_account_sensor, device_of, snapshot_devices

from .conftest import HOME, Tick, all_live, ent, settle, until


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the sensors."""
    return (Platform.SENSOR,)


async def test_snapshot(snapshot_entities: Callable[[], Awaitable[None]]) -> None:
    await snapshot_entities()


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


ENERGY_IMPORTED = ent(Platform.SENSOR, HAN_ID, "energy_imported")


async def test_cloud_requests_of_the_last_hour(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    tick: Tick,
) -> None:
    entry = loaded_entry
    requests = account_sensor(entry, "cloud_requests")
    # A diagnostic of the account's own (service) device, off by default.
    account = check_account_sensor(hass, entry, requests, "Homely")

    # Enabled, it comes with the reload Home Assistant does a little later.
    entity_registry.async_update_entity(requests.entity_id(hass), disabled_by=None)
    await tick(RELOAD_AFTER_UPDATE_DELAY + 1)
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    # A live event updates the location: the count is every request of the account,
    # those before the reload (login, locations, reads) included.
    await homely_sim.tick_meter(HAN_ID, wh=10)
    await until(lambda: ENERGY_IMPORTED.state(hass) == "12345.68")
    assert requests.state(hass) == str(len(homely_sim.requests))
    state = requests.current(hass)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "requests"

    # The window slides: an hour later the requests sent until now have left it.
    before = len(homely_sim.requests)
    await tick(1800)
    await tick(1800)
    await homely_sim.tick_meter(HAN_ID, wh=10)
    await until(lambda: ENERGY_IMPORTED.state(hass) == "12345.69")
    assert requests.state(hass) == str(len(homely_sim.requests) - before)
    # The reads meanwhile kept the account device (the cloud does not report it).
    assert device_of(hass, entry, str(entry.unique_id)) == account


async def test_rate_limited_until(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    limited = account_sensor(loaded_entry, "rate_limited_until")
    assert limited.state(hass) == STATE_UNKNOWN

    # The slow read of the demo home is limited for two minutes.
    homely_sim.rate_limit_next(1, retry_after=120, path=HOME)
    reads = homely_sim.count(HOME)
    await tick(1801)
    assert homely_sim.count(HOME) == reads + 1
    until_time = dt_util.parse_datetime(limited.state(hass))
    assert until_time == (dt_util.utcnow() + timedelta(seconds=120)).replace(microsecond=0)

    # Nothing is asked before then; the read after it works and the limit is over.
    await tick(60)
    assert homely_sim.count(HOME) == reads + 1
    assert dt_util.parse_datetime(limited.state(hass)) == until_time
    await tick(62)
    assert homely_sim.count(HOME) == reads + 2
    assert limited.state(hass) == STATE_UNKNOWN
