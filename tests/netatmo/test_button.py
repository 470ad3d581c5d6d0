"""Gateway buttons: scenarios, stop all movements, identify."""

from __future__ import annotations

from typing import Any

from homeassistant.components.button.const import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.cover import ATTR_CURRENT_POSITION, CoverState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from simulator.velux import (
    GATEWAY_ID,
    HOME_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    VeluxSimulator,
)
from tests.helpers import Ent, act

from .conftest import SetupEntry, SnapshotEntities, Tick, calls
from .entities import BEDTIME_CABIN, SHUTTER, button

HOMESTATUS = "/api/homestatus"


def body(gateway: str, home: str = HOME_ID, **command: Any) -> dict[str, Any]:
    return {"home": {"id": home, "modules": [{"id": gateway, **command}]}, "app_type": "app_velux"}


async def press(hass: HomeAssistant, entity: Ent) -> None:
    await act(hass, BUTTON_DOMAIN, SERVICE_PRESS, entity)


def cover(hass: HomeAssistant, entity: Ent) -> tuple[str, int]:
    state = entity.current(hass)
    assert state is not None
    return state.state, state.attributes[ATTR_CURRENT_POSITION]


async def test_snapshot(hass: HomeAssistant, snapshot_entities: SnapshotEntities) -> None:
    await snapshot_entities(Platform.BUTTON)


async def test_scenarios_and_stop(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    velux_sim.move_speed = 20  # 100 -> 0 in 5 s
    await setup_entry(platforms=(Platform.BUTTON, Platform.COVER))
    seen = len(velux_sim.requests)

    # Bedtime closes the shutter (100 -> 0 takes 5 s) and the blind: their home is read.
    await press(hass, button(GATEWAY_ID, "bedtime"))
    assert velux_sim.setstate_bodies == [body(GATEWAY_ID, scenario="bedtime")]
    assert calls(velux_sim, seen) == ["/syncapi/v1/setstate", f"{HOMESTATUS}:{HOME_ID}"]
    assert cover(hass, SHUTTER) == (CoverState.CLOSING, 100)
    await tick(3)
    assert cover(hass, SHUTTER) == (CoverState.CLOSING, 40)

    await press(hass, button(GATEWAY_ID, "stop_movements"))
    assert velux_sim.setstate_bodies[-1] == body(GATEWAY_ID, stop_movements="all")
    await tick(1)
    assert cover(hass, SHUTTER) == (CoverState.OPEN, 40)
    polls = velux_sim.count(HOMESTATUS)
    await tick(3)
    await tick(3)
    assert velux_sim.count(HOMESTATUS) == polls  # nothing moves: normal interval again

    await press(hass, button(GATEWAY_ID, "wake_up"))
    assert velux_sim.setstate_bodies[-1] == body(GATEWAY_ID, scenario="wake_up")
    assert cover(hass, SHUTTER) == (CoverState.OPENING, 40)
    await tick(3)
    assert cover(hass, SHUTTER) == (CoverState.OPEN, 100)

    await press(hass, BEDTIME_CABIN)
    assert velux_sim.setstate_bodies[-1] == body(
        SMALL_GATEWAY_ID, home=SMALL_HOME_ID, scenario="bedtime"
    )


async def test_identify(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.BUTTON,))
    polls = velux_sim.count(HOMESTATUS)
    await press(hass, button(GATEWAY_ID, "identify"))
    assert velux_sim.setstate_bodies == [body(GATEWAY_ID, identify=True)]
    assert velux_sim.identify_requests == [GATEWAY_ID]
    assert velux_sim.count(HOMESTATUS) == polls  # nothing to confirm
