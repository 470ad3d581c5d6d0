"""Covers: what the user sees and the exact commands the cloud receives."""

from __future__ import annotations

from typing import Any

from homeassistant.components.cover import (
    ATTR_CURRENT_POSITION,
    ATTR_POSITION,
    DOMAIN as COVER_DOMAIN,
    SERVICE_CLOSE_COVER,
    SERVICE_OPEN_COVER,
    SERVICE_SET_COVER_POSITION,
    SERVICE_STOP_COVER,
    CoverState,
)
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from simulator.velux import (
    AWNING_ID,
    BLIND_ID,
    GATEWAY_ID,
    HOME_ID,
    SHUTTER_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    SMALL_SHUTTER_ID,
    WINDOW_ID,
    VeluxSimulator,
)

from .conftest import SetupEntry, Tick, calls

HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
SHUTTER = "cover.roller_shutter"
BLIND = "cover.blackout_blind"
AWNING = "cover.awning_blind"
WINDOW = "cover.roof_window"
CABIN_SHUTTER = "cover.cabin_shutter"
HOME_STATUS = f"{HOMESTATUS}:{HOME_ID}"
CABIN_STATUS = f"{HOMESTATUS}:{SMALL_HOME_ID}"


def setstate_body(module_id: str, position: int) -> dict[str, Any]:
    return {
        "home": {
            "id": HOME_ID,
            "modules": [{"id": module_id, "target_position": position, "bridge": GATEWAY_ID}],
        },
        "app_type": "app_velux",
    }


async def call(hass: HomeAssistant, service: str, entity_id: str, **data: Any) -> None:
    await hass.services.async_call(
        COVER_DOMAIN, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )


@pytest.mark.usefixtures("enable_all_entities")
async def test_snapshot(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    shutter = hass.states.get(SHUTTER)
    assert shutter is not None
    assert shutter.state == CoverState.OPEN
    assert shutter.attributes[ATTR_CURRENT_POSITION] == 100
    window = hass.states.get(WINDOW)
    assert window is not None
    assert window.state == CoverState.CLOSED
    assert window.attributes["device_class"] == "window"


@pytest.mark.parametrize(
    ("entity_id", "module_id"),
    [(SHUTTER, SHUTTER_ID), (BLIND, BLIND_ID), (AWNING, AWNING_ID)],
)
async def test_commands(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    entity_id: str,
    module_id: str,
) -> None:
    velux_sim.move_speed = 0
    velux_sim.set_position(module_id, 50)
    await setup_entry(platforms=(Platform.COVER,))

    for service, data, position in (
        (SERVICE_OPEN_COVER, {}, 100),
        (SERVICE_CLOSE_COVER, {}, 0),
        (SERVICE_SET_COVER_POSITION, {ATTR_POSITION: 30}, 30),
        (SERVICE_STOP_COVER, {}, 30),
    ):
        await call(hass, service, entity_id, **data)
        await tick(1)  # past the 1 s cooldown between two confirmation polls
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes.get(ATTR_CURRENT_POSITION) == position

    assert velux_sim.setstate_bodies == [
        setstate_body(module_id, 100),
        setstate_body(module_id, 0),
        setstate_body(module_id, 30),
        setstate_body(module_id, -1),
    ]
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == CoverState.OPEN


async def test_movement_is_followed_by_quick_polls(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    seen = len(velux_sim.requests)

    # 100 -> 40 at 20 %/s takes 3 simulated seconds.
    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 40})

    # Right after the command, only the home of the shutter is read.
    assert calls(velux_sim, seen) == [SETSTATE, HOME_STATUS]
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.CLOSING
    assert state.attributes[ATTR_CURRENT_POSITION] == 100

    await tick(3)
    assert calls(velux_sim, seen) == [SETSTATE, HOME_STATUS, HOME_STATUS]
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.OPEN
    assert state.attributes[ATTR_CURRENT_POSITION] == 40

    # Confirmed: back to the normal interval (60 s), which reads every home.
    seen = len(velux_sim.requests)
    await tick(3)
    await tick(30)
    assert calls(velux_sim, seen) == []
    await tick(30)
    assert calls(velux_sim, seen) == [HOME_STATUS, CABIN_STATUS]

    # A second command a few seconds later is confirmed just as fast.
    await tick(4)
    velux_sim.move_speed = 10  # 40 -> 100 takes 6 simulated seconds
    seen = len(velux_sim.requests)
    await call(hass, SERVICE_OPEN_COVER, SHUTTER)
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.OPENING
    await tick(3)
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.OPENING
    assert state.attributes[ATTR_CURRENT_POSITION] == 70
    await tick(3)
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.OPEN
    assert state.attributes[ATTR_CURRENT_POSITION] == 100
    assert calls(velux_sim, seen) == [SETSTATE, HOME_STATUS, HOME_STATUS, HOME_STATUS]


async def test_quick_polls_read_only_the_commanded_home(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    await tick(30)  # halfway between two normal polls
    seen = len(velux_sim.requests)

    # The cabin's shutter opens (5 s); meanwhile the shutter at home moves too.
    await call(hass, SERVICE_OPEN_COVER, CABIN_SHUTTER)
    velux_sim.set_position(SHUTTER_ID, 70)
    await tick(3)
    await tick(3)
    assert calls(velux_sim, seen) == [SETSTATE, CABIN_STATUS, CABIN_STATUS, CABIN_STATUS]
    assert velux_sim.setstate_bodies[-1]["home"]["id"] == SMALL_HOME_ID
    cabin = hass.states.get(CABIN_SHUTTER)
    assert cabin is not None
    assert (cabin.state, cabin.attributes[ATTR_CURRENT_POSITION]) == (CoverState.OPEN, 100)
    # The home kept its last status until the normal poll reads every home again.
    shutter = hass.states.get(SHUTTER)
    assert shutter is not None
    assert shutter.attributes[ATTR_CURRENT_POSITION] == 100
    seen = len(velux_sim.requests)
    await tick(60)
    assert calls(velux_sim, seen) == [HOME_STATUS, CABIN_STATUS]
    shutter = hass.states.get(SHUTTER)
    assert shutter is not None
    assert shutter.attributes[ATTR_CURRENT_POSITION] == 70
    assert velux_sim.position(SMALL_SHUTTER_ID) == 100


async def test_target_shows_before_the_cloud_confirms(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    # The confirmation poll gets no answer: the commanded target is shown anyway.
    velux_sim.rate_limit_next(5, path=HOMESTATUS)

    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 20})

    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.CLOSING
    assert state.attributes[ATTR_CURRENT_POSITION] == 100

    # Stopping shows the cover as standing still at once.
    velux_sim.rate_limit_next(5, path=HOMESTATUS)
    await call(hass, SERVICE_STOP_COVER, SHUTTER)
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.OPEN


async def test_quick_polls_give_up_after_two_minutes(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    velux_sim.move_speed = 0.1  # 60 % takes 10 minutes
    await setup_entry(platforms=(Platform.COVER,))
    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 40})
    seen = len(velux_sim.requests)

    for _ in range(40):
        await tick(3)
    # Every 3 s the shutter's home; the cabin only when its normal poll falls due (within
    # the scheduling tolerance of 60 s after the last poll that read it: at 57 and 114 s).
    full = [HOME_STATUS, CABIN_STATUS]
    assert calls(velux_sim, seen) == (
        [HOME_STATUS] * 18 + full + [HOME_STATUS] * 18 + full + [HOME_STATUS] * 2
    )
    seen = len(velux_sim.requests)
    for _ in range(5):
        await tick(3)
    assert calls(velux_sim, seen) == []
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.CLOSING


async def test_window_closes_but_opening_needs_a_signature(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.move_speed = 0
    velux_sim.set_position(WINDOW_ID, 30)
    await setup_entry(platforms=(Platform.COVER,))

    for service, data in (
        (SERVICE_OPEN_COVER, {}),
        (SERVICE_SET_COVER_POSITION, {ATTR_POSITION: 50}),
    ):
        with pytest.raises(HomeAssistantError) as err:
            await call(hass, service, WINDOW, **data)
        assert err.value.translation_key == "signature_required"
        assert str(err.value) == (
            "Opening the roof window Roof window needs a signed command, which is not "
            "supported yet. Closing it works"
        )
    assert velux_sim.setstate_bodies == []

    await call(hass, SERVICE_CLOSE_COVER, WINDOW)
    await call(hass, SERVICE_SET_COVER_POSITION, WINDOW, **{ATTR_POSITION: 0})
    await call(hass, SERVICE_STOP_COVER, WINDOW)
    assert velux_sim.setstate_bodies == [
        setstate_body(WINDOW_ID, 0),
        setstate_body(WINDOW_ID, 0),
        setstate_body(WINDOW_ID, -1),
    ]
    state = hass.states.get(WINDOW)
    assert state is not None
    assert state.state == CoverState.CLOSED


async def test_command_errors(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.COVER,))

    # The cloud refuses the module (it now hangs off another gateway).
    velux_sim.set_bridge(SHUTTER_ID, SMALL_GATEWAY_ID)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "command_failed"

    velux_sim.rate_limit_next(1, path=SETSTATE)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "rate_limited"

    velux_sim.fail_next(1, status=500, path=SETSTATE)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "cannot_connect"

    # Nothing was shown as moving.
    state = hass.states.get(SHUTTER)
    assert state is not None
    assert state.state == CoverState.OPEN
