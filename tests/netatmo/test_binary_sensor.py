"""Binary sensors: rain on the gateway, connectivity of every module."""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant

from simulator.velux import GATEWAY_ID, HOME_ID, SHUTTER_ID, VeluxSimulator
from tests.helpers import state_of

from .conftest import SetupEntry, SnapshotEntities, Tick
from .entities import (
    BLIND,
    CABIN_CONNECTIVITY,
    CABIN_RAIN,
    GATEWAY_CONNECTIVITY,
    RAIN,
    SHUTTER,
    SHUTTER_CONNECTIVITY,
)


async def test_snapshot(hass: HomeAssistant, snapshot_entities: SnapshotEntities) -> None:
    await snapshot_entities(Platform.BINARY_SENSOR)


async def test_rain(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.BINARY_SENSOR,))
    assert state_of(hass, RAIN) == STATE_OFF
    velux_sim.set_raining(HOME_ID, True)
    await tick(60)
    assert state_of(hass, RAIN) == STATE_ON
    assert state_of(hass, CABIN_RAIN) == STATE_OFF


async def test_connectivity(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.BINARY_SENSOR, Platform.COVER))
    shutter = SHUTTER_CONNECTIVITY
    gateway = GATEWAY_CONNECTIVITY
    assert state_of(hass, shutter) == STATE_ON
    assert state_of(hass, gateway) == STATE_ON

    velux_sim.set_reachable(SHUTTER_ID, False)
    await tick(60)
    assert state_of(hass, shutter) == STATE_OFF
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE
    assert state_of(hass, BLIND) == "open"

    # An unreachable gateway takes its modules along; the rain value is unknown then.
    velux_sim.set_reachable(SHUTTER_ID, True)
    velux_sim.set_reachable(GATEWAY_ID, False)
    await tick(60)
    assert state_of(hass, gateway) == STATE_OFF
    assert state_of(hass, RAIN) == STATE_UNAVAILABLE
    assert state_of(hass, shutter) == STATE_OFF
    assert state_of(hass, CABIN_CONNECTIVITY) == STATE_ON

    velux_sim.set_reachable(GATEWAY_ID, True)
    await tick(60)
    assert state_of(hass, gateway) == STATE_ON
    assert state_of(hass, shutter) == STATE_ON
    assert state_of(hass, SHUTTER) == "open"
