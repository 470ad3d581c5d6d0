"""Covers: what the user sees and the exact commands the cloud receives."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from homeassistant.components.cover import (
    ATTR_CURRENT_POSITION,
    ATTR_POSITION,
    CoverEntityFeature,
    CoverState,
)
from homeassistant.components.cover.const import DOMAIN as COVER_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_SUPPORTED_FEATURES,
    SERVICE_CLOSE_COVER,
    SERVICE_OPEN_COVER,
    SERVICE_SET_COVER_POSITION,
    SERVICE_STOP_COVER,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.api.errors import SignatureRequiredError
from custom_components.velux_homely.api.netatmo_signing import NonceSequencer
from custom_components.velux_homely.const import DOMAIN
from simulator.velux import (
    AWNING_ID,
    BEDROOM_ID,
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
from tests.helpers import Ent, act, current, state_of

from .conftest import (
    KEY,
    KEY_ID,
    SetupEntry,
    SnapshotEntities,
    Tick,
    calls,
    keyed_entry,
    make_entry,
    runtime_of,
)
from .entities import AWNING, BLIND, CABIN_SHUTTER, SHUTTER, WINDOW, cover

HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
HOME_STATUS = f"{HOMESTATUS}:{HOME_ID}"
CABIN_STATUS = f"{HOMESTATUS}:{SMALL_HOME_ID}"
SECOND_WINDOW_ID = "5636133219200999"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def setstate_body(module_id: str, position: int, bridge: str = GATEWAY_ID) -> dict[str, Any]:
    return {
        "home": {
            "id": HOME_ID,
            "modules": [{"id": module_id, "target_position": position, "bridge": bridge}],
        },
        "app_type": "app_velux",
    }


async def call(hass: HomeAssistant, service: str, entity: Ent | list[Ent], **data: Any) -> None:
    await act(hass, COVER_DOMAIN, service, entity, **data)


def shown(hass: HomeAssistant, entity: Ent) -> tuple[str, int | None]:
    state = entity.current(hass)
    assert state is not None
    return state.state, state.attributes.get(ATTR_CURRENT_POSITION)


async def test_snapshot(hass: HomeAssistant, snapshot_entities: SnapshotEntities) -> None:
    await snapshot_entities(Platform.COVER)
    assert shown(hass, SHUTTER) == (CoverState.OPEN, 100)
    window = current(hass, WINDOW)
    assert window is not None
    assert window.state == CoverState.CLOSED
    assert window.attributes["device_class"] == "window"


async def test_a_roof_window_without_key_closes_and_stops_only(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.move_speed = 0
    velux_sim.set_position(WINDOW_ID, 30)
    entry = await setup_entry(platforms=(Platform.COVER,))
    window = current(hass, WINDOW)
    assert window is not None
    assert window.attributes[ATTR_SUPPORTED_FEATURES] == (
        CoverEntityFeature.CLOSE | CoverEntityFeature.STOP
    )
    shutter = current(hass, SHUTTER)
    assert shutter is not None
    assert shutter.attributes[ATTR_SUPPORTED_FEATURES] & CoverEntityFeature.OPEN
    # A repair issue says how to get the gateway's key.
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"signing_key_{entry.entry_id}_{GATEWAY_ID}")
    assert issue is not None
    assert issue.translation_key == "signing_key_missing"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["gateway"] == "VELUX ACTIVE gateway"
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, f"signing_key_{entry.entry_id}_{SMALL_GATEWAY_ID}"
        )
        is None
    )  # the cabin has no roof window

    # Opening is not offered; the entity refuses it too if asked directly.
    component = hass.data["entity_components"][COVER_DOMAIN]
    with pytest.raises(HomeAssistantError) as err:
        await component.get_entity(WINDOW.entity_id(hass)).async_open_cover()
    assert err.value.translation_key == "signature_required"
    assert "Pair with the gateway" in str(err.value)
    assert velux_sim.setstate_bodies == []

    await call(hass, SERVICE_CLOSE_COVER, WINDOW)
    await call(hass, SERVICE_STOP_COVER, WINDOW)
    assert velux_sim.setstate_bodies == [
        setstate_body(WINDOW_ID, 0),
        setstate_body(WINDOW_ID, -1),
    ]


@pytest.mark.parametrize(
    "stored",
    [
        {"sign_key_id": "not base64!", "hash_sign_key": b64(KEY)},
        {"sign_key_id": b64(KEY_ID), "hash_sign_key": b64(bytes(31))},
        {"sign_key_id": b64(KEY_ID)},
        "garbage",
    ],
    ids=["bad_id", "short_key", "missing_key", "not_a_mapping"],
)
async def test_an_unusable_stored_key_keeps_the_repair_issue_open(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, stored: Any
) -> None:
    """A key that cannot sign does not open the windows: the issue says how to get one."""
    entry = await setup_entry(
        make_entry(velux_sim, signing_keys={GATEWAY_ID: stored}), platforms=(Platform.COVER,)
    )
    window = current(hass, WINDOW)
    assert window is not None
    assert not window.attributes[ATTR_SUPPORTED_FEATURES] & CoverEntityFeature.OPEN
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"signing_key_{entry.entry_id}_{GATEWAY_ID}")
    assert issue is not None
    assert issue.translation_key == "signing_key_missing"


async def test_a_roof_window_with_its_key_opens_signed(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    window = current(hass, WINDOW)
    assert window is not None
    assert window.attributes[ATTR_SUPPORTED_FEATURES] & CoverEntityFeature.SET_POSITION
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"signing_key_{entry.entry_id}_{GATEWAY_ID}")
        is None
    )

    await call(hass, SERVICE_SET_COVER_POSITION, WINDOW, **{ATTR_POSITION: 40})
    sent = velux_sim.setstate_bodies[-1]["home"]["modules"]
    assert len(sent) == 1
    module = sent[0]
    assert module["id"] == WINDOW_ID
    assert module["target_position"] == 40
    assert module["nonce"] == 0
    assert len(module["hash_target_position"]) == 88
    assert module["sign_key_id"] == base64.urlsafe_b64encode(KEY_ID).decode()
    assert "force" not in module
    # The simulator checks every signature: the window moves (45 s for a full move).
    assert shown(hass, WINDOW) == (CoverState.OPENING, 0)
    for _ in range(8):
        await tick(3)
    assert shown(hass, WINDOW) == (CoverState.OPEN, 40)
    assert velux_sim.position(WINDOW_ID) == 40

    # A second opening in the same second gets the next nonce.
    await call(hass, SERVICE_OPEN_COVER, WINDOW)
    await call(hass, SERVICE_CLOSE_COVER, WINDOW)
    await call(hass, SERVICE_OPEN_COVER, WINDOW)
    pairs = [
        (body["home"]["modules"][0]["timestamp"], body["home"]["modules"][0]["nonce"])
        for body in velux_sim.setstate_bodies
        if "timestamp" in body["home"]["modules"][0]
    ]
    assert len(pairs) == 3
    assert len(set(pairs)) == 3
    assert velux_sim.target(WINDOW_ID) == 100


async def test_nonces_are_never_reused_across_a_restart(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    await call(hass, SERVICE_OPEN_COVER, WINDOW)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # The clock has not moved: a new run must not start the same second at nonce 0.
    await call(hass, SERVICE_SET_COVER_POSITION, WINDOW, **{ATTR_POSITION: 50})
    first, second = (body["home"]["modules"][0] for body in velux_sim.setstate_bodies)
    assert (first["timestamp"], first["nonce"]) != (second["timestamp"], second["nonce"])
    assert velux_sim.target(WINDOW_ID) == 50


@pytest.mark.parametrize("cause", ["gateway_reset", "wrong_key"])
async def test_a_key_the_gateway_refuses_is_explained_and_repaired(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    cause: str,
) -> None:
    """A stored key the gateway does not know: a message naming the gateway, a repair issue.

    After a reset the gateway's key table is empty; a pasted key can be well formed and
    still wrong. Either way the cloud refuses the signed opening with code 9.
    """
    if cause == "gateway_reset":
        entry = keyed_entry(velux_sim)
        velux_sim.remove_signing_keys(GATEWAY_ID)
    else:
        velux_sim.add_signing_key(GATEWAY_ID, KEY_ID, KEY)
        entry = make_entry(
            velux_sim,
            signing_keys={
                GATEWAY_ID: {"sign_key_id": b64(KEY_ID), "hash_sign_key": b64(KEY[::-1])}
            },
        )
    await setup_entry(entry, platforms=(Platform.COVER,))
    stored = dict(entry.data["signing_keys"])
    issues = ir.async_get(hass)
    issue_id = f"signing_key_{entry.entry_id}_{GATEWAY_ID}"
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_OPEN_COVER, WINDOW)
    assert err.value.translation_key == "signing_key_refused"
    assert err.value.translation_placeholders == {"name": "VELUX ACTIVE gateway"}
    message = str(err.value)
    assert "VELUX ACTIVE gateway no longer accepts the stored signing key" in message
    assert "Pair with the gateway" in message
    assert WINDOW_ID not in message
    assert ": 9" not in message
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "signing_key_refused"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["gateway"] == "VELUX ACTIVE gateway"
    assert issue.learn_more_url == f"/config/integrations/integration/{DOMAIN}"
    # Nothing pretends to move; the key stays stored and Open stays offered (the
    # user decides what to do with the key).
    assert shown(hass, WINDOW) == (CoverState.CLOSED, 0)
    assert entry.data["signing_keys"] == stored
    window = current(hass, WINDOW)
    assert window is not None
    assert window.attributes[ATTR_SUPPORTED_FEATURES] & CoverEntityFeature.OPEN

    # The reads that follow keep the issue open; closing still works.
    await tick(60)
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "signing_key_refused"
    await call(hass, SERVICE_CLOSE_COVER, WINDOW)
    assert velux_sim.setstate_bodies[-1] == setstate_body(WINDOW_ID, 0)


async def test_a_signed_command_refused_as_a_repeat_is_explained(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    """Code 28 (a timestamp and nonce used before) reads as a translated message.

    Here the nonce state is lost (a restored backup, say) within the second of the last
    signed command: the pair it handed out is handed out again.
    """
    entry = await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    await call(hass, SERVICE_OPEN_COVER, WINDOW)
    timestamp = velux_sim.setstate_bodies[-1]["home"]["modules"][0]["timestamp"]
    runtime_of(entry).client.sequencer = NonceSequencer(clock=lambda: timestamp)

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_SET_COVER_POSITION, WINDOW, **{ATTR_POSITION: 50})
    assert err.value.translation_key == "signature_reused"
    assert err.value.translation_placeholders == {"name": "Roof window"}
    assert "Roof window" in str(err.value)
    assert ": 28" not in str(err.value)
    # Not a key problem: no repair issue, and the next attempt gets a new pair.
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"signing_key_{entry.entry_id}_{GATEWAY_ID}")
        is None
    )
    await call(hass, SERVICE_SET_COVER_POSITION, WINDOW, **{ATTR_POSITION: 50})
    assert velux_sim.target(WINDOW_ID) == 50


async def test_windows_of_a_group_open_in_one_signed_setstate(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.add_module(
        HOME_ID,
        {
            "id": SECOND_WINDOW_ID,
            "type": "NXO",
            "name": "Attic window",
            "bridge": GATEWAY_ID,
            "room_id": BEDROOM_ID,
            "velux_type": "window",
        },
    )
    await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    await call(hass, SERVICE_OPEN_COVER, [WINDOW, cover(SECOND_WINDOW_ID), SHUTTER])
    assert len(velux_sim.setstate_bodies) == 1
    modules = {module["id"]: module for module in velux_sim.setstate_bodies[0]["home"]["modules"]}
    assert set(modules) == {WINDOW_ID, SECOND_WINDOW_ID, SHUTTER_ID}
    windows = [modules[WINDOW_ID], modules[SECOND_WINDOW_ID]]
    assert {window["timestamp"] for window in windows} == {windows[0]["timestamp"]}
    assert sorted(window["nonce"] for window in windows) == [0, 1]
    assert "nonce" not in modules[SHUTTER_ID]  # shutters are not signed
    assert velux_sim.target(WINDOW_ID) == 100
    assert velux_sim.target(SECOND_WINDOW_ID) == 100
    assert shown(hass, cover(SECOND_WINDOW_ID))[0] == CoverState.OPENING


THIRD_WINDOW_ID = "5636133219200998"


async def test_a_cover_group_of_three_roof_windows_opens_in_one_setstate(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A cover group made in Home Assistant (its ``group`` cover platform) opens them all.

    One setstate: the three windows share one timestamp with nonces 0, 1 and 2.
    """
    for module_id, name in ((SECOND_WINDOW_ID, "Attic window"), (THIRD_WINDOW_ID, "Loft window")):
        velux_sim.add_module(
            HOME_ID,
            {
                "id": module_id,
                "type": "NXO",
                "name": name,
                "bridge": GATEWAY_ID,
                "room_id": BEDROOM_ID,
                "velux_type": "window",
            },
        )
    windows = [WINDOW, cover(SECOND_WINDOW_ID), cover(THIRD_WINDOW_ID)]
    await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    group_entry = MockConfigEntry(
        domain="group",
        title="Roof windows",
        options={
            "group_type": "cover",
            "name": "Roof windows",
            "entities": [window.entity_id(hass) for window in windows],
            "hide_members": False,
        },
    )
    group_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(group_entry.entry_id)
    await hass.async_block_till_done()
    group = entity_registry.async_get_entity_id(COVER_DOMAIN, "group", group_entry.entry_id)
    assert group is not None
    group_state = hass.states.get(group)
    assert group_state is not None
    assert group_state.attributes[ATTR_SUPPORTED_FEATURES] & CoverEntityFeature.OPEN

    await hass.services.async_call(
        COVER_DOMAIN, SERVICE_OPEN_COVER, {ATTR_ENTITY_ID: group}, blocking=True
    )

    assert len(velux_sim.setstate_bodies) == 1
    modules = velux_sim.setstate_bodies[0]["home"]["modules"]
    assert sorted(module["id"] for module in modules) == sorted(
        [WINDOW_ID, SECOND_WINDOW_ID, THIRD_WINDOW_ID]
    )
    assert len({module["timestamp"] for module in modules}) == 1
    assert sorted(module["nonce"] for module in modules) == [0, 1, 2]
    assert all(module["target_position"] == 100 for module in modules)
    for module_id in (WINDOW_ID, SECOND_WINDOW_ID, THIRD_WINDOW_ID):
        assert velux_sim.target(module_id) == 100  # every signature checked out
    await hass.async_block_till_done()
    assert [shown(hass, window)[0] for window in windows] == [CoverState.OPENING] * 3


async def test_opening_in_rain_is_refused_unless_allowed(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    velux_sim.set_raining(HOME_ID, True)
    await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_OPEN_COVER, WINDOW)
    assert err.value.translation_key == "raining"
    assert "raining" in str(err.value)
    assert velux_sim.setstate_bodies == []
    # Closing works in rain.
    await call(hass, SERVICE_CLOSE_COVER, WINDOW)


async def test_opening_in_rain_when_allowed_is_forced(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.set_raining(HOME_ID, True)
    await setup_entry(keyed_entry(velux_sim, open_in_rain=True), platforms=(Platform.COVER,))
    await call(hass, SERVICE_SET_COVER_POSITION, WINDOW, **{ATTR_POSITION: 20})
    module = velux_sim.setstate_bodies[-1]["home"]["modules"][0]
    assert module["force"] is True
    assert velux_sim.target(WINDOW_ID) == 20


@pytest.mark.parametrize(
    ("entity", "module_id"),
    [(SHUTTER, SHUTTER_ID), (BLIND, BLIND_ID), (AWNING, AWNING_ID)],
    ids=["shutter", "blind", "awning"],
)
async def test_commands(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    entity: Ent,
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
        await call(hass, service, entity, **data)
        await tick(3)  # the first confirmation poll
        assert shown(hass, entity)[1] == position

    assert velux_sim.setstate_bodies == [
        setstate_body(module_id, 100),
        setstate_body(module_id, 0),
        setstate_body(module_id, 30),
        setstate_body(module_id, -1),
    ]
    assert shown(hass, entity)[0] == CoverState.OPEN


async def test_a_movement_is_confirmed_with_few_polls(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """A real shutter takes 30 s for a full move: 100 -> 40 takes 18 s."""
    await setup_entry(platforms=(Platform.COVER,))
    seen = len(velux_sim.requests)
    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 40})
    # The target shows at once; nothing is read yet.
    assert calls(velux_sim, seen) == [SETSTATE]
    assert shown(hass, SHUTTER) == (CoverState.CLOSING, 100)

    await tick(3)  # a first look: 10 % done
    assert shown(hass, SHUTTER) == (CoverState.CLOSING, 90)
    await tick(2)  # a second look gives the speed
    assert shown(hass, SHUTTER) == (CoverState.CLOSING, 83)
    # The next look is right after the arrival the speed predicts (18 s, + 2 s; the
    # speed read from whole percents and reads Home Assistant starts up to 0.5 s late
    # may put it a second or two earlier): none before 17 s.
    coordinator = runtime_of_entry(hass)
    for _ in range(12):
        await tick(1)
        assert calls(velux_sim, seen) == [SETSTATE, HOME_STATUS, HOME_STATUS], (
            hass.loop.time(),
            [r.path for r in velux_sim.requests[seen:]],
            {key: (m.samples, m.reads, m.started) for key, m in coordinator._movements.items()},
            coordinator.update_interval,
        )
    await tick(4)
    assert shown(hass, SHUTTER) == (CoverState.OPEN, 40)
    assert calls(velux_sim, seen) == [SETSTATE, HOME_STATUS, HOME_STATUS, HOME_STATUS]
    assert coordinator.polls_for_commands == 3

    # Confirmed: back to the normal interval (60 s from the last read of every home).
    seen = len(velux_sim.requests)
    await tick(30)
    assert calls(velux_sim, seen) == []
    await tick(12)
    assert calls(velux_sim, seen) == [HOME_STATUS, CABIN_STATUS]


async def test_confirmation_polls_of_a_single_home_account_are_counted(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    velux_sim.remove_home(SMALL_HOME_ID)
    await setup_entry(platforms=(Platform.COVER,))
    await tick(20)
    seen = len(velux_sim.requests)
    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 40})
    for _ in range(25):
        await tick(1)
    assert shown(hass, SHUTTER) == (CoverState.OPEN, 40)
    # Every read after the command confirmed it (the normal poll is due at 60 s).
    assert calls(velux_sim, seen) == [SETSTATE, HOME_STATUS, HOME_STATUS, HOME_STATUS]
    assert runtime_of_entry(hass).polls_for_commands == 3
    # The normal poll that follows is not counted.
    await tick(60)
    assert calls(velux_sim, seen).count(HOME_STATUS) == 4
    assert runtime_of_entry(hass).polls_for_commands == 3


def runtime_of_entry(hass: HomeAssistant) -> Any:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    return runtime_of(entry).coordinator


async def test_confirmation_polls_read_only_the_commanded_home(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    await tick(20)
    seen = len(velux_sim.requests)

    # The cabin's shutter opens (30 s); meanwhile the shutter at home moves too.
    await call(hass, SERVICE_OPEN_COVER, CABIN_SHUTTER)
    velux_sim.set_position(SHUTTER_ID, 70)
    await tick(3)
    await tick(2)
    assert calls(velux_sim, seen) == [SETSTATE, CABIN_STATUS, CABIN_STATUS]
    assert velux_sim.setstate_bodies[-1]["home"]["id"] == SMALL_HOME_ID
    # The home kept its last status until the normal poll reads every home again.
    assert shown(hass, SHUTTER)[1] == 100
    seen = len(velux_sim.requests)
    await tick(35)
    assert calls(velux_sim, seen) == [HOME_STATUS, CABIN_STATUS]
    assert shown(hass, SHUTTER)[1] == 70
    await tick(60)
    assert shown(hass, CABIN_SHUTTER) == (CoverState.OPEN, 100)
    assert velux_sim.position(SMALL_SHUTTER_ID) == 100


async def test_a_window_that_stops_short_is_shown_stopped(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """An obstacle (or rain on the sash) stops the window at 30 % of the way to 100 %."""
    await setup_entry(keyed_entry(velux_sim), platforms=(Platform.COVER,))
    velux_sim.stop_short(WINDOW_ID, 30)
    seen = len(velux_sim.requests)
    await call(hass, SERVICE_OPEN_COVER, WINDOW)
    for _ in range(40):
        await tick(3)
    assert shown(hass, WINDOW) == (CoverState.OPEN, 30)
    commanded = [path for path in calls(velux_sim, seen) if path == HOME_STATUS]
    # Followed with at most 8 reads of its home (some are the normal polls of 60 s).
    assert len(commanded) <= 8 + 2


async def test_following_a_movement_gives_up(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    velux_sim.move_speed = 0.1  # 60 % takes 10 minutes
    await setup_entry(platforms=(Platform.COVER,))
    await tick(30)
    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 40})
    coordinator = runtime_of_entry(hass)
    for _ in range(60):
        await tick(3)
    assert coordinator.polls_for_commands <= 8
    assert not coordinator.confirming
    assert shown(hass, SHUTTER)[0] == CoverState.CLOSING


async def test_target_shows_before_the_cloud_confirms(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    await call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 20})
    assert shown(hass, SHUTTER) == (CoverState.CLOSING, 100)
    # Stopping shows the cover as standing still at once.
    await call(hass, SERVICE_STOP_COVER, SHUTTER)
    assert shown(hass, SHUTTER)[0] == CoverState.OPEN


async def test_a_module_moved_to_another_bridge_is_commanded_through_it(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    second_gateway = "70:ee:50:3a:9f:9f"
    velux_sim.add_module(HOME_ID, {"id": second_gateway, "type": "NXG", "name": "Second gateway"})
    await setup_entry(platforms=(Platform.COVER,))
    # The cloud moved the shutter to the home's other gateway; the data has the old one.
    velux_sim.set_bridge(SHUTTER_ID, second_gateway)
    seen = len(velux_sim.requests)
    await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    # Refused (code 21), the topology is read again, the command goes out once more.
    assert velux_sim.setstate_bodies == [
        setstate_body(SHUTTER_ID, 0),
        setstate_body(SHUTTER_ID, 0, bridge=second_gateway),
    ]
    assert calls(velux_sim, seen)[:2] == [SETSTATE, "/api/homesdata"]
    assert velux_sim.target(SHUTTER_ID) == 0


async def test_the_bridge_homestatus_reports_is_used_at_once(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """homestatus already says the shutter moved to the other gateway; homesdata is older."""
    second_gateway = "70:ee:50:3a:9f:9f"
    velux_sim.add_module(HOME_ID, {"id": second_gateway, "type": "NXG", "name": "Second gateway"})
    await setup_entry(platforms=(Platform.COVER,))
    velux_sim.set_bridge(SHUTTER_ID, second_gateway)
    await tick(60)  # a normal poll: homestatus only (homesdata is read every 30 minutes)
    seen = len(velux_sim.requests)
    await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    # One setstate, through the current bridge; no refusal, no topology read.
    assert velux_sim.setstate_bodies == [setstate_body(SHUTTER_ID, 0, bridge=second_gateway)]
    assert calls(velux_sim, seen) == [SETSTATE]
    assert velux_sim.target(SHUTTER_ID) == 0


async def test_command_errors(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.COVER,))

    velux_sim.rate_limit_next(1, path=SETSTATE)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "rate_limited"

    velux_sim.fail_next(1, status=500, path=SETSTATE)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "cannot_connect"

    # An unreachable module: the cloud answers with a per-module error.
    velux_sim.set_reachable(SHUTTER_ID, False)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "command_failed"

    # Nothing was shown as moving.
    assert state_of(hass, SHUTTER) == CoverState.OPEN


async def test_a_command_refused_for_the_credentials_asks_for_them(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    before = velux_sim.target(SHUTTER_ID)
    velux_sim.set_password("a-new-password")
    velux_sim.revoke_tokens()
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, SERVICE_CLOSE_COVER, SHUTTER)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [(flow["context"]["source"], flow["context"]["entry_id"]) for flow in flows] == [
        ("reauth", entry.entry_id)
    ]
    assert velux_sim.target(SHUTTER_ID) == before  # the cloud refused it
    assert shown(hass, SHUTTER)[0] == CoverState.OPEN  # nothing pretends it moves


async def test_a_command_the_client_cannot_sign_is_explained(
    hass: HomeAssistant, setup_entry: SetupEntry
) -> None:
    # The entities check for the key first; should the client still find one missing
    # (a key removed meanwhile), the user reads which module needs one.
    entry = await setup_entry(platforms=(Platform.COVER,))
    coordinator = runtime_of(entry).coordinator

    async def refused() -> None:
        raise SignatureRequiredError([WINDOW_ID])

    with pytest.raises(HomeAssistantError) as err:
        await coordinator.async_run_command(refused())
    assert err.value.translation_key == "signature_required"
    assert err.value.translation_placeholders == {"name": WINDOW_ID}


async def test_a_cancelled_command_does_not_hold_the_ones_that_joined_it(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """A script restarted while its command waited for others to join (a group): the
    command that joined it still goes out, and later commands are not stuck."""
    entry = await setup_entry(platforms=(Platform.COVER,))
    coordinator = runtime_of(entry).coordinator
    modules = coordinator.data.modules
    seen = len(velux_sim.requests)
    leader = hass.async_create_task(coordinator.async_move(modules[SHUTTER_ID], 40))
    await asyncio.sleep(0)
    joined = hass.async_create_task(coordinator.async_move(modules[BLIND_ID], 30))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.wait_for(joined, 5)
    assert calls(velux_sim, seen) == [SETSTATE]
    assert velux_sim.setstate_bodies[-1] == setstate_body(BLIND_ID, 30)
    assert leader.cancelled()

    # a move of the same opener that replaced the cancelled one in the batch goes out
    seen = len(velux_sim.requests)
    leader = hass.async_create_task(coordinator.async_move(modules[BLIND_ID], 50))
    await asyncio.sleep(0)
    joined = hass.async_create_task(coordinator.async_move(modules[BLIND_ID], 60))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.wait_for(joined, 5)
    assert calls(velux_sim, seen) == [SETSTATE]
    assert velux_sim.setstate_bodies[-1] == setstate_body(BLIND_ID, 60)

    await asyncio.wait_for(
        call(hass, SERVICE_SET_COVER_POSITION, SHUTTER, **{ATTR_POSITION: 20}), 5
    )
    assert velux_sim.setstate_bodies[-1] == setstate_body(SHUTTER_ID, 20)
    assert shown(hass, SHUTTER) == (CoverState.CLOSING, 100)
