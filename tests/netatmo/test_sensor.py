"""Sensors: room climate with unit conversion, batteries, diagnostics."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest

from simulator.velux import BEDROOM_ID, SENSOR_ID, SWITCH_ID, VeluxSimulator
from tests.helpers import account_sensor, check_account_sensor, device_of, state_of

from .conftest import HOMESTATUS, SetupEntry, SnapshotEntities, Tick
from .entities import (
    CABIN_WIFI,
    GATEWAY_LAST_SEEN,
    GATEWAY_WIFI,
    SHUTTER_LAST_SEEN,
    SWITCH_BATTERY,
    SWITCH_RF,
    sensor,
)


async def test_snapshot(hass: HomeAssistant, snapshot_entities: SnapshotEntities) -> None:
    await snapshot_entities(Platform.SENSOR)
    assert state_of(hass, sensor(SENSOR_ID, "temperature")) == "21.5"


async def test_diagnostic_sensors_are_disabled_by_default(
    hass: HomeAssistant, setup_entry: SetupEntry, entity_registry: er.EntityRegistry
) -> None:
    await setup_entry(platforms=(Platform.SENSOR,))
    # Signal and last seen are diagnostics, off by default.
    for wanted in (
        sensor(SENSOR_ID, "rf_strength"),
        sensor(SENSOR_ID, "last_seen"),
        GATEWAY_WIFI,
    ):
        entity = entity_registry.async_get(wanted.entity_id(hass))
        assert entity is not None, wanted
        assert entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert entity.entity_category is not None


async def test_values_and_conversions(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.SENSOR,))
    velux_sim.set_room_climate(
        BEDROOM_ID, temperature=249, humidity=55, co2=900, lux=300, air_quality=3
    )
    velux_sim.set_battery(SENSOR_ID, 12)
    velux_sim.set_battery(SWITCH_ID, 47)
    await tick(60)

    assert state_of(hass, sensor(SENSOR_ID, "temperature")) == "24.9"
    assert state_of(hass, sensor(SENSOR_ID, "humidity")) == "55"
    assert state_of(hass, sensor(SENSOR_ID, "co2")) == "900"
    assert state_of(hass, sensor(SENSOR_ID, "illuminance")) == "300"
    assert state_of(hass, sensor(SENSOR_ID, "air_quality")) == "3"
    assert state_of(hass, sensor(SENSOR_ID, "battery")) == "12"
    assert state_of(hass, SWITCH_BATTERY) == "47"

    # A value the cloud stops sending becomes unknown.
    velux_sim.set_room_climate(BEDROOM_ID, co2=None)
    await tick(60)
    assert state_of(hass, sensor(SENSOR_ID, "co2")) == STATE_UNKNOWN


async def test_unreachable_sensor(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.SENSOR,))
    velux_sim.set_reachable(SENSOR_ID, False)
    await tick(60)
    assert state_of(hass, sensor(SENSOR_ID, "temperature")) == STATE_UNAVAILABLE
    assert state_of(hass, sensor(SENSOR_ID, "battery")) == STATE_UNAVAILABLE
    assert state_of(hass, SWITCH_BATTERY) == "100"

    velux_sim.set_reachable(SENSOR_ID, True)
    await tick(60)
    assert state_of(hass, sensor(SENSOR_ID, "temperature")) == "21.5"


@pytest.mark.usefixtures("enable_all_entities")
async def test_diagnostic_sensors(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.SENSOR,))
    assert state_of(hass, sensor(SENSOR_ID, "rf_strength")) == "64"
    assert state_of(hass, SWITCH_RF) == "74"
    assert state_of(hass, GATEWAY_WIFI) == "58"
    assert state_of(hass, CABIN_WIFI) == "78"
    # The simulator reports sensors seen 40 s and gateways 5 s before its clock.
    assert state_of(hass, sensor(SENSOR_ID, "last_seen")) == "2025-06-15T15:06:00+00:00"
    assert state_of(hass, GATEWAY_LAST_SEEN) == ("2025-06-15T15:06:35+00:00")
    assert state_of(hass, SHUTTER_LAST_SEEN) == "2025-06-15T15:06:00+00:00"


async def test_cloud_requests_of_the_last_hour(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    entity_registry: er.EntityRegistry,
) -> None:
    entry = await setup_entry(platforms=(Platform.SENSOR,))
    requests = account_sensor(entry, "cloud_requests")
    # A diagnostic of the account's own (service) device, off by default.
    account = check_account_sensor(hass, entry, requests, "VELUX")

    # Enabled, it comes with the reload Home Assistant does a little later.
    entity_registry.async_update_entity(requests.entity_id(hass), disabled_by=None)
    await tick(RELOAD_AFTER_UPDATE_DELAY + 1)
    # The count outlives the reload: the login and reads before it are in it too.
    assert requests.state(hass) == str(len(velux_sim.requests))
    state = requests.current(hass)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "requests"
    assert state.attributes["state_class"] == "measurement"

    await tick(60)
    assert requests.state(hass) == str(len(velux_sim.requests))
    # The window slides: an hour later the requests sent until now have left it.
    before = len(velux_sim.requests)
    for _ in range(60):
        await tick(60)
    assert requests.state(hass) == str(len(velux_sim.requests) - before)
    # The topology reads meanwhile kept the account device (the cloud does not report it).
    assert device_of(hass, entry, str(entry.unique_id)) == account


async def test_rate_limited_until(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(platforms=(Platform.SENSOR,))
    limited = account_sensor(entry, "rate_limited_until")
    assert limited.state(hass) == STATE_UNKNOWN
    state = limited.current(hass)
    assert state is not None
    assert state.attributes["device_class"] == "timestamp"

    # The cloud limits the account: no poll before the end of its hint (10 minutes).
    velux_sim.rate_limit_next(1, path=HOMESTATUS, retry_after=600)
    await tick(60)
    until = dt_util.parse_datetime(limited.state(hass))
    assert until == (dt_util.utcnow() + timedelta(seconds=600)).replace(microsecond=0)

    polls = velux_sim.count(HOMESTATUS)
    await tick(530)
    assert velux_sim.count(HOMESTATUS) == polls
    assert dt_util.parse_datetime(limited.state(hass)) == until
    # The first poll after it works: the limit is over.
    await tick(75)
    assert velux_sim.count(HOMESTATUS) > polls
    assert limited.state(hass) == STATE_UNKNOWN
