"""Departure mode of each gateway, as a lock."""

from __future__ import annotations

import base64

from homeassistant.components.lock.const import DOMAIN as LOCK_DOMAIN, LockState
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.velux_homely.const import DOMAIN
from simulator.velux import GATEWAY_ID, HOME_ID, SHUTTER_ID, VeluxSimulator
from tests.helpers import resolve, state_of

from .conftest import KEY, KEY_ID, SetupEntry, SnapshotEntities, Tick, keyed_entry, make_entry
from .entities import DEPARTURE, SHUTTER

LOCK = DEPARTURE


async def call(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(
        LOCK_DOMAIN, service, {ATTR_ENTITY_ID: resolve(hass, LOCK)}, blocking=True
    )


async def test_snapshot(hass: HomeAssistant, snapshot_entities: SnapshotEntities) -> None:
    await snapshot_entities(Platform.LOCK)


async def test_locking_runs_away_and_closes_the_openers(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.LOCK, Platform.COVER))
    assert state_of(hass, LOCK) == LockState.UNLOCKED
    await call(hass, "lock")
    assert velux_sim.setstate_bodies[-1] == {
        "home": {"id": HOME_ID, "modules": [{"id": GATEWAY_ID, "scenario": "away"}]},
        "app_type": "app_velux",
    }
    assert state_of(hass, LOCK) == LockState.LOCKED
    for _ in range(20):
        await tick(3)
    assert state_of(hass, LOCK) == LockState.LOCKED
    assert velux_sim.position(SHUTTER_ID) == 0
    assert state_of(hass, SHUTTER) == "closed"


async def test_unlocking_needs_the_gateway_key(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    await setup_entry(platforms=(Platform.LOCK,))
    await call(hass, "lock")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "unlock")
    assert err.value.translation_key == "departure_signature_required"
    assert len(velux_sim.setstate_bodies) == 1
    assert state_of(hass, LOCK) == LockState.LOCKED


async def test_unlocking_with_the_key_is_signed(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = keyed_entry(velux_sim)
    sign_key_id = entry.data["signing_keys"][GATEWAY_ID]["sign_key_id"]
    await setup_entry(entry, platforms=(Platform.LOCK,))
    await call(hass, "lock")
    await call(hass, "unlock")
    module = velux_sim.setstate_bodies[-1]["home"]["modules"][0]
    assert module["scenario"] == "home"
    assert module["sign_key_id"] == sign_key_id
    assert len(module["hash_scenario"]) == 88
    assert HOME_ID not in velux_sim.departure_homes  # the simulator accepted the signature
    assert state_of(hass, LOCK) == LockState.UNLOCKED
    await tick(60)
    assert state_of(hass, LOCK) == LockState.UNLOCKED


async def test_unlocking_with_a_key_the_gateway_refuses_says_so(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    """A reset gateway no longer knows the stored key: the user is told to pair again."""
    entry = make_entry(
        velux_sim,
        signing_keys={
            GATEWAY_ID: {
                "sign_key_id": base64.b64encode(KEY_ID).decode(),
                "hash_sign_key": base64.b64encode(KEY).decode(),
            }
        },
    )
    await setup_entry(entry, platforms=(Platform.LOCK,))
    await call(hass, "lock")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "unlock")
    assert err.value.translation_key == "signing_key_refused"
    assert err.value.translation_placeholders == {"name": "VELUX ACTIVE gateway"}
    assert GATEWAY_ID not in str(err.value)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"signing_key_{entry.entry_id}_{GATEWAY_ID}")
    assert issue is not None
    assert issue.translation_key == "signing_key_refused"
    assert HOME_ID in velux_sim.departure_homes
    assert state_of(hass, LOCK) == LockState.LOCKED


async def test_departure_set_in_the_app_shows(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.LOCK,))
    velux_sim.set_status(GATEWAY_ID, locked=True)
    await tick(60)
    assert state_of(hass, LOCK) == LockState.LOCKED
