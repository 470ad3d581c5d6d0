"""Silent mode of every opener and automatic ventilation of roof windows."""

from __future__ import annotations

from homeassistant.components.switch.const import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
import pytest

from simulator.velux import GATEWAY_ID, HOME_ID, SHUTTER_ID, WINDOW_ID, VeluxSimulator
from tests.helpers import Ent, act, current, state_of

from .conftest import SetupEntry, SnapshotEntities, Tick
from .entities import SHUTTER_SILENT, SHUTTER_VENTILATION, WINDOW_VENTILATION

SILENT = SHUTTER_SILENT
VENTILATION = WINDOW_VENTILATION


async def call(hass: HomeAssistant, service: str, entity: Ent) -> None:
    await act(hass, SWITCH_DOMAIN, service, entity)


async def test_snapshot(hass: HomeAssistant, snapshot_entities: SnapshotEntities) -> None:
    await snapshot_entities(Platform.SWITCH)
    # Ventilation exists for roof windows only.
    assert current(hass, SHUTTER_VENTILATION) is None


async def test_silent_mode(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.SWITCH,))
    assert state_of(hass, SILENT) == STATE_OFF
    await call(hass, "turn_on", SILENT)
    assert velux_sim.setstate_bodies[-1] == {
        "home": {
            "id": HOME_ID,
            "modules": [{"id": SHUTTER_ID, "bridge": GATEWAY_ID, "silent": True}],
        },
        "app_type": "app_velux",
    }
    assert state_of(hass, SILENT) == STATE_ON
    await tick(60)
    assert state_of(hass, SILENT) == STATE_ON
    await call(hass, "turn_off", SILENT)
    assert velux_sim.setstate_bodies[-1]["home"]["modules"][0]["silent"] is False
    assert state_of(hass, SILENT) == STATE_OFF


@pytest.mark.parametrize(("mode", "shown"), [("auto", STATE_ON), ("algo_available", STATE_OFF)])
async def test_ventilation_reads_the_mode(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    mode: str,
    shown: str,
) -> None:
    await setup_entry(platforms=(Platform.SWITCH,))
    velux_sim.set_status(WINDOW_ID, mode=mode)
    await tick(60)
    assert state_of(hass, VENTILATION) == shown


async def test_ventilation_commands(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.SWITCH,))
    await call(hass, "turn_on", VENTILATION)
    assert velux_sim.setstate_bodies[-1]["home"]["modules"] == [
        {"id": WINDOW_ID, "bridge": GATEWAY_ID, "mode": "auto"}
    ]
    assert state_of(hass, VENTILATION) == STATE_ON
    await call(hass, "turn_off", VENTILATION)
    assert velux_sim.setstate_bodies[-1]["home"]["modules"] == [
        {"id": WINDOW_ID, "bridge": GATEWAY_ID, "mode": "algo_disabled"}
    ]
    await tick(60)
    assert state_of(hass, VENTILATION) == STATE_OFF
    assert velux_sim.module(WINDOW_ID).status["mode"] == "algo_disabled"
