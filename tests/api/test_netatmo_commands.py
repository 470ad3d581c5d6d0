"""Tests of the signed commands, token lifetime and status parsing of the Netatmo client."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
import hashlib
import hmac
import time
from typing import Any

import aiohttp
import pytest

from custom_components.velux_homely.api.errors import CommandError, SignatureRequiredError
from custom_components.velux_homely.api.netatmo import (
    DEFAULT_TOKEN_LIFETIME,
    TOKEN_REFRESH_MARGIN,
    NetatmoClient,
    PositionMove,
)
from custom_components.velux_homely.api.netatmo_models import (
    BatteryModuleStatus,
    GatewayStatus,
    HomeStatus,
    ModuleStatus,
    OpenerStatus,
)
from custom_components.velux_homely.api.netatmo_signing import NonceSequencer, SigningKey
from simulator.velux import (
    BEDROOM_ID,
    BLIND_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    SENSOR_ID,
    SHUTTER_ID,
    WINDOW_ID,
    VeluxSimulator,
)

TOKEN = "/oauth2/token"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
GATEWAY_2 = "70:ee:50:aa:bb:cc"
WINDOW_2 = "5636133219209999"
KEY_1 = SigningKey(bytes(range(16)), bytes(range(32)))
KEY_2 = SigningKey(bytes(range(16, 32)), bytes(range(32, 64)))
NOW = 1_779_484_789


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_client(
    sim: VeluxSimulator, session: aiohttp.ClientSession, **kwargs: Any
) -> NetatmoClient:
    options: dict[str, Any] = {
        "base_url": sim.base_url,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
    }
    options.update(kwargs)
    return NetatmoClient(session, **options)


# ----------------------------------------------------------------------- token lifetime


async def test_token_without_expires_in_is_refreshed_after_the_default_lifetime(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    velux_sim.omit_token_expiry = True
    now = [time.time()]
    updates: list[dict[str, Any]] = []
    client = make_client(velux_sim, session, clock=lambda: now[0], on_token_update=updates.append)
    await client.async_get_home_status(HOME_ID)
    token = client.token
    assert token is not None
    assert token["expires_at"] == pytest.approx(now[0] + DEFAULT_TOKEN_LIFETIME)
    assert updates[-1]["expires_at"] == token["expires_at"]

    # Shortly before the assumed lifetime runs out, the token is still used.
    now[0] += DEFAULT_TOKEN_LIFETIME - TOKEN_REFRESH_MARGIN - 1
    velux_sim.requests.clear()
    await client.async_get_home_status(HOME_ID)
    assert [r.path for r in velux_sim.requests] == [HOMESTATUS]
    # Then it is refreshed ahead, before the call (not treated as fresh forever).
    now[0] += 2
    velux_sim.requests.clear()
    await client.async_get_home_status(HOME_ID)
    assert [r.path for r in velux_sim.requests] == [TOKEN, HOMESTATUS]
    assert velux_sim.requests[0].form["grant_type"] == "refresh_token"
    assert velux_sim.password_logins == 1


@pytest.mark.parametrize("expires_in", [None, "soon", True, -5, 0, float("nan"), [1]])
async def test_unusable_expires_in_gets_the_default(
    velux_sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    expires_in: Any,
) -> None:
    client = make_client(velux_sim, session, clock=lambda: 1000.0)

    async def answer(path: str, **kwargs: Any) -> dict[str, Any]:
        return {"access_token": "a", "refresh_token": "r", "expires_in": expires_in}

    monkeypatch.setattr(client, "_async_send", answer)
    await client.async_login()
    assert client.token is not None
    assert client.token["expires_at"] == 1000.0 + DEFAULT_TOKEN_LIFETIME


@pytest.mark.parametrize(("expires_in", "lifetime"), [("7200", 7200.0), (10800.0, 10800.0)])
async def test_numeric_expires_in(
    velux_sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    expires_in: Any,
    lifetime: float,
) -> None:
    client = make_client(velux_sim, session, clock=lambda: 1000.0)

    async def answer(path: str, **kwargs: Any) -> dict[str, Any]:
        return {"access_token": "a", "expire_in": expires_in}

    monkeypatch.setattr(client, "_async_send", answer)
    await client.async_login()
    assert client.token is not None
    assert client.token["expires_at"] == 1000.0 + lifetime


async def test_stored_token_without_expiry_is_trusted_for_the_default_lifetime_only(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    first = make_client(velux_sim, session)
    stored = await first.async_login()
    now = [time.time()]
    client = make_client(
        velux_sim,
        session,
        token={**stored, "expires_at": None},
        clock=lambda: now[0],
    )
    velux_sim.requests.clear()
    await client.async_get_home_status(HOME_ID)
    assert [r.path for r in velux_sim.requests] == [HOMESTATUS]
    now[0] += DEFAULT_TOKEN_LIFETIME
    velux_sim.requests.clear()
    await client.async_get_home_status(HOME_ID)
    assert [r.path for r in velux_sim.requests] == [TOKEN, HOMESTATUS]


# ---------------------------------------------------------------------- commands


def expected_hash(  # noqa: PLR0917
    key: SigningKey, item: str, value: Any, ts: int, nonce: int, device: str
) -> str:
    """The reference's formula, written out independently of the client."""
    message = f"{item}{value}{ts}{nonce}{device}".encode()
    digest = hmac.new(key.key, message, hashlib.sha512).digest()
    return base64.b64encode(digest).decode().replace("+", "-").replace("/", "_")


def body(*modules: dict[str, Any]) -> dict[str, Any]:
    return {"home": {"id": HOME_ID, "modules": list(modules)}, "app_type": "app_velux"}


@pytest.fixture
def two_gateways(velux_sim: VeluxSimulator) -> VeluxSimulator:
    velux_sim.move_speed = 0
    velux_sim.add_module(HOME_ID, {"id": GATEWAY_2, "type": "NXG", "name": "Second gateway"})
    velux_sim.add_module(
        HOME_ID,
        {
            "id": WINDOW_2,
            "type": "NXO",
            "bridge": GATEWAY_2,
            "room_id": BEDROOM_ID,
            "velux_type": "window",
        },
        {"current_position": 0},
    )
    velux_sim.add_signing_key(GATEWAY_ID, KEY_1.key_id, KEY_1.key)
    velux_sim.add_signing_key(GATEWAY_2, KEY_2.key_id, KEY_2.key)
    return velux_sim


async def test_set_positions_one_call_signed_with_each_bridge_key(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim = two_gateways
    client = make_client(sim, session)
    sequencer = NonceSequencer(lambda: NOW + 0.5)
    moves = [
        PositionMove(WINDOW_ID, GATEWAY_ID, 40, "window"),
        PositionMove(SHUTTER_ID, GATEWAY_ID, 20, "shutter"),
        PositionMove(WINDOW_2, GATEWAY_2, 30, "window"),
        PositionMove(BLIND_ID, GATEWAY_ID, 0, "blind"),
    ]

    await client.async_set_positions(
        HOME_ID, moves, signing={GATEWAY_ID: KEY_1, GATEWAY_2: KEY_2}, sequencer=sequencer
    )

    assert sim.count(SETSTATE) == 1
    assert sim.setstate_bodies == [
        body(
            {
                "id": WINDOW_ID,
                "target_position": 40,
                "bridge": GATEWAY_ID,
                "nonce": 0,
                "timestamp": NOW,
                "sign_key_id": "AAECAwQFBgcICQoLDA0ODw==",
                "hash_target_position": expected_hash(
                    KEY_1, "target_position", 40, NOW, 0, WINDOW_ID
                ),
            },
            {"id": SHUTTER_ID, "target_position": 20, "bridge": GATEWAY_ID},
            {
                "id": WINDOW_2,
                "target_position": 30,
                "bridge": GATEWAY_2,
                "nonce": 1,
                "timestamp": NOW,
                "sign_key_id": KEY_2.sign_key_id,
                "hash_target_position": expected_hash(
                    KEY_2, "target_position", 30, NOW, 1, WINDOW_2
                ),
            },
            {"id": BLIND_ID, "target_position": 0, "bridge": GATEWAY_ID},
        )
    ]
    assert [sim.target(m) for m in (WINDOW_ID, SHUTTER_ID, WINDOW_2, BLIND_ID)] == [40, 20, 30, 0]
    # The next call in the same second continues the nonces.
    await client.async_set_positions(
        HOME_ID,
        [PositionMove(WINDOW_ID, GATEWAY_ID, 60, "window")],
        signing={GATEWAY_ID: KEY_1},
        sequencer=sequencer,
    )
    last = sim.setstate_bodies[-1]["home"]["modules"][0]
    assert (last["timestamp"], last["nonce"]) == (NOW, 2)
    assert sim.target(WINDOW_ID) == 60


async def test_a_gateway_key_signs_only_its_own_modules(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(two_gateways, session)
    with pytest.raises(CommandError) as err:
        await client.async_set_positions(
            HOME_ID,
            [PositionMove(WINDOW_ID, GATEWAY_ID, 40, "window")],
            signing={GATEWAY_ID: KEY_2},  # the second gateway's key
        )
    assert [(f.module_id, f.code) for f in err.value.failures] == [(WINDOW_ID, 9)]
    assert two_gateways.target(WINDOW_ID) == 0


async def test_missing_key_raises_before_any_request(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(two_gateways, session)
    moves = [
        PositionMove(SHUTTER_ID, GATEWAY_ID, 20, "shutter"),
        PositionMove(WINDOW_ID, GATEWAY_ID, 40, "window"),
        PositionMove(WINDOW_2, GATEWAY_2, 30, "window"),
        PositionMove("orphan", None, 10, "window"),
        PositionMove(BLIND_ID, GATEWAY_ID, 100, "blind"),
    ]
    with pytest.raises(SignatureRequiredError) as err:
        await client.async_set_positions(HOME_ID, moves, signing={GATEWAY_ID: KEY_1})
    assert err.value.module_ids == (WINDOW_2, "orphan")
    with pytest.raises(SignatureRequiredError) as err:
        await client.async_set_positions(HOME_ID, moves)
    assert err.value.module_ids == (WINDOW_ID, WINDOW_2, "orphan")
    assert WINDOW_ID in str(err.value)
    assert two_gateways.requests == []  # not even a login


async def test_closing_stopping_and_preferred_position(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim = two_gateways
    sim.set_position(WINDOW_ID, 30)
    client = make_client(sim, session)
    # Closing and stopping a window need no key.
    await client.async_set_positions(
        HOME_ID,
        [PositionMove(WINDOW_ID, GATEWAY_ID, -1, "window"), PositionMove(WINDOW_2, None, 0)],
    )
    assert sim.setstate_bodies[-1] == body(
        {"id": WINDOW_ID, "target_position": -1, "bridge": GATEWAY_ID},
        {"id": WINDOW_2, "target_position": 0},
    )
    # The preferred position (-2) opens a window: signed.
    with pytest.raises(SignatureRequiredError):
        await client.async_set_positions(
            HOME_ID, [PositionMove(WINDOW_ID, GATEWAY_ID, -2, "window")]
        )
    await client.async_set_positions(
        HOME_ID,
        [PositionMove(WINDOW_ID, GATEWAY_ID, -2, "window")],
        signing={GATEWAY_ID: KEY_1},
    )
    entry = sim.setstate_bodies[-1]["home"]["modules"][0]
    assert entry["hash_target_position"] == expected_hash(
        KEY_1, "target_position", -2, entry["timestamp"], entry["nonce"], WINDOW_ID
    )
    assert sim.target(WINDOW_ID) == 50
    # Nothing to move: nothing sent.
    count = sim.count(SETSTATE)
    await client.async_set_positions(HOME_ID, [])
    assert sim.count(SETSTATE) == count


@pytest.mark.parametrize(
    ("position", "error"),
    [(101, ValueError), (-3, ValueError), (True, TypeError), ("5", TypeError)],
)
async def test_bad_positions_are_refused_before_any_request(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession, position: Any, error: type
) -> None:
    client = make_client(velux_sim, session)
    with pytest.raises(error):
        await client.async_set_positions(HOME_ID, [PositionMove(SHUTTER_ID, GATEWAY_ID, position)])
    assert velux_sim.requests == []


async def test_separate_sequencers_collide_and_the_cloud_refuses_the_pair(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim = two_gateways
    move = [PositionMove(WINDOW_ID, GATEWAY_ID, 40, "window")]
    first = make_client(sim, session, clock=lambda: float(NOW))
    await first.async_set_positions(HOME_ID, move, signing={GATEWAY_ID: KEY_1})
    # A second client with its own fresh sequencer in the same second reuses (NOW, 0).
    second = make_client(sim, session, clock=lambda: float(NOW))
    with pytest.raises(CommandError) as err:
        await second.async_set_positions(HOME_ID, move, signing={GATEWAY_ID: KEY_1})
    assert [(f.module_id, f.code) for f in err.value.failures] == [(WINDOW_ID, 28)]
    # Sharing one sequencer avoids that: the client's own one continues at nonce 1.
    await first.async_set_positions(HOME_ID, move, signing={GATEWAY_ID: KEY_1})
    assert sim.setstate_bodies[-1]["home"]["modules"][0]["nonce"] == 1
    third = make_client(sim, session, clock=lambda: float(NOW), sequencer=first.sequencer)
    await third.async_set_positions(HOME_ID, move, signing={GATEWAY_ID: KEY_1})
    assert sim.setstate_bodies[-1]["home"]["modules"][0]["nonce"] == 2


async def test_force_while_raining(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim = two_gateways
    sim.set_raining(HOME_ID, True)
    client = make_client(sim, session)
    moves = [
        PositionMove(WINDOW_ID, GATEWAY_ID, 40, "window"),
        PositionMove(SHUTTER_ID, GATEWAY_ID, 10, "shutter"),
    ]
    with pytest.raises(CommandError) as err:
        await client.async_set_positions(HOME_ID, moves, signing={GATEWAY_ID: KEY_1})
    assert [(f.module_id, f.code) for f in err.value.failures] == [(WINDOW_ID, 6)]
    await client.async_set_positions(HOME_ID, moves, signing={GATEWAY_ID: KEY_1}, force=True)
    window, shutter = sim.setstate_bodies[-1]["home"]["modules"]
    assert window["force"] is True
    assert "force" not in shutter
    assert sim.target(WINDOW_ID) == 40


async def test_scenario_home_is_signed(
    two_gateways: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim = two_gateways
    client = make_client(sim, session, clock=lambda: float(NOW))
    await client.async_set_scenario(HOME_ID, GATEWAY_ID, "away")
    assert sim.setstate_bodies[-1] == body({"id": GATEWAY_ID, "scenario": "away"})
    assert sim.departure_homes == {HOME_ID}
    with pytest.raises(SignatureRequiredError) as err:
        await client.async_set_scenario(HOME_ID, GATEWAY_ID, "home", signing={GATEWAY_2: KEY_2})
    assert err.value.module_ids == (GATEWAY_ID,)
    await client.async_set_scenario(HOME_ID, GATEWAY_ID, "home", signing={GATEWAY_ID: KEY_1})
    assert sim.setstate_bodies[-1] == body(
        {
            "id": GATEWAY_ID,
            "scenario": "home",
            "nonce": 0,
            "timestamp": NOW,
            "sign_key_id": KEY_1.sign_key_id,
            "hash_scenario": expected_hash(KEY_1, "scenario", "home", NOW, 0, GATEWAY_ID),
        }
    )
    assert sim.departure_homes == set()
    # A key given directly, with an explicit sequencer.
    await client.async_set_scenario(
        HOME_ID, GATEWAY_ID, "home", signing=KEY_1, sequencer=NonceSequencer(lambda: NOW + 10.0)
    )
    entry = sim.setstate_bodies[-1]["home"]["modules"][0]
    assert (entry["timestamp"], entry["nonce"]) == (NOW + 10, 0)


async def test_silent_mode_and_retrieve_key(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    await client.async_set_silent(HOME_ID, SHUTTER_ID, GATEWAY_ID, True)
    await client.async_set_silent(HOME_ID, SHUTTER_ID, None, False)
    await client.async_set_mode(HOME_ID, WINDOW_ID, GATEWAY_ID, "algo_disabled")
    await client.async_set_mode(HOME_ID, WINDOW_ID, GATEWAY_ID, "auto")
    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    with pytest.raises(ValueError, match="turbo"):
        await client.async_set_mode(HOME_ID, WINDOW_ID, GATEWAY_ID, "turbo")
    assert velux_sim.setstate_bodies == [
        body({"id": SHUTTER_ID, "bridge": GATEWAY_ID, "silent": True}),
        body({"id": SHUTTER_ID, "silent": False}),
        body({"id": WINDOW_ID, "bridge": GATEWAY_ID, "mode": "algo_disabled"}),
        body({"id": WINDOW_ID, "bridge": GATEWAY_ID, "mode": "auto"}),
        body({"id": GATEWAY_ID, "retrieve_key": True}),
    ]
    assert velux_sim.module(SHUTTER_ID).status["silent"] is False
    assert velux_sim.module(WINDOW_ID).status["mode"] == "auto"
    assert velux_sim.retrieve_key_requests == [GATEWAY_ID]


# -------------------------------------------------------------------- homestatus


def status_without_types() -> dict[str, Any]:
    return {
        "status": "ok",
        "body": {
            "home": {
                "id": HOME_ID,
                "modules": [
                    {"id": GATEWAY_ID, "is_raining": True, "wifi_strength": 50},
                    {"id": WINDOW_ID, "current_position": 30, "target_position": 30},
                    {"id": SENSOR_ID, "battery_percent": 55},
                    {"id": "unknown-module", "reachable": True},
                    {"id": SHUTTER_ID, "type": "NXO", "current_position": 10},
                ],
                "rooms": [{"id": BEDROOM_ID, "temperature": 200}],
            },
            "errors": [],
        },
    }


def test_home_status_falls_back_to_the_homesdata_type() -> None:
    types = {GATEWAY_ID: "NXG", WINDOW_ID: "NXO", SENSOR_ID: "NXS", SHUTTER_ID: "NXB"}
    status = HomeStatus.from_api(status_without_types(), HOME_ID, types)
    gateway = status.gateway(GATEWAY_ID)
    assert isinstance(gateway, GatewayStatus)
    assert (gateway.type, gateway.is_raining, gateway.reachable) == ("NXG", True, True)
    window = status.opener(WINDOW_ID)
    assert isinstance(window, OpenerStatus)
    assert (window.type, window.current_position) == ("NXO", 30)
    assert isinstance(status.battery_module(SENSOR_ID), BatteryModuleStatus)
    # A type in homestatus wins over homesdata; unknown ids stay untyped.
    assert isinstance(status.opener(SHUTTER_ID), OpenerStatus)
    unknown = status.modules["unknown-module"]
    assert type(unknown) is ModuleStatus
    assert unknown.type == ""
    # Without the mapping (the old behaviour) nothing is typed.
    plain = HomeStatus.from_api(status_without_types(), HOME_ID)
    assert plain.gateway(GATEWAY_ID) is None
    assert type(plain.modules[WINDOW_ID]) is ModuleStatus


async def test_client_passes_module_types(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    await client.async_login()
    velux_sim.reply_next(payload=status_without_types(), path=HOMESTATUS)
    status = await client.async_get_home_status(HOME_ID, {WINDOW_ID: "NXO"})
    assert isinstance(status.opener(WINDOW_ID), OpenerStatus)


def test_merged_applies_a_partial_state() -> None:
    types = {GATEWAY_ID: "NXG", WINDOW_ID: "NXO", SENSOR_ID: "NXS"}
    status = HomeStatus.from_api(status_without_types(), HOME_ID, types)
    merged = status.merged(
        {
            WINDOW_ID: {"id": WINDOW_ID, "target_position": 80},
            GATEWAY_ID: {"is_raining": False},
            "not-listed": {"current_position": 5},
        },
        {BEDROOM_ID: {"id": BEDROOM_ID, "co2": 900}, "other-room": {"co2": 1}},
    )
    window = merged.opener(WINDOW_ID)
    assert window is not None
    assert (window.current_position, window.target_position) == (30, 80)
    gateway = merged.gateway(GATEWAY_ID)
    assert gateway is not None
    assert gateway.is_raining is False
    assert gateway.wifi_strength == 50
    assert "not-listed" not in merged.modules
    assert merged.rooms[BEDROOM_ID].co2 == 900
    assert merged.rooms[BEDROOM_ID].temperature_raw == 200
    assert "other-room" not in merged.rooms
    # The original is untouched; nothing to merge gives an equal status.
    assert status.opener(WINDOW_ID).target_position == 30  # type: ignore[union-attr]
    assert status.merged() == status
    assert HomeStatus(home_id=HOME_ID).merged({WINDOW_ID: {"x": 1}}).modules == {}
