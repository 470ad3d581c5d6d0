"""Tests of the VELUX ACTIVE cloud simulator: auth, reads, commands, signing and faults."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
import time
from typing import Any

import aiohttp
import pytest

from simulator.velux import (
    AWNING_ID,
    BEDROOM_ID,
    BLIND_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    LIVING_ROOM_ID,
    SENSOR_ID,
    SHUTTER_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    SMALL_ROOM_ID,
    SMALL_SHUTTER_ID,
    SWITCH_ID,
    USER_ID,
    WINDOW_ID,
    VeluxSimulator,
    sign_command,
)
from simulator.velux_model import battery_state, signal_state

KEY = bytes(range(32))
KEY_ID = base64.urlsafe_b64encode(bytes(range(16))).decode()


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[VeluxSimulator]:
    simulator = VeluxSimulator(move_speed=0, epoch=1_700_000_000)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def login_form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "user_prefix": "velux",
        "scope": "velux_scopes",
    }
    form.update(overrides)
    return form


async def post_form(
    session: aiohttp.ClientSession, sim: VeluxSimulator, path: str, form: dict[str, str]
) -> tuple[int, Any]:
    async with session.post(sim.base_url + path, data=form) as resp:
        return resp.status, await resp.json(content_type=None)


async def post_json(
    session: aiohttp.ClientSession,
    sim: VeluxSimulator,
    path: str,
    body: Any,
    token: str | None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.post(sim.base_url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def login(session: aiohttp.ClientSession, sim: VeluxSimulator) -> dict[str, Any]:
    status, data = await post_form(session, sim, "/oauth2/token", login_form())
    assert status == 200
    return dict(data)


@pytest.fixture
async def token(sim: VeluxSimulator, session: aiohttp.ClientSession) -> str:
    return str((await login(session, sim))["access_token"])


async def homestatus(
    session: aiohttp.ClientSession, sim: VeluxSimulator, token: str, home_id: str = HOME_ID
) -> dict[str, Any]:
    status, data = await post_json(
        session, sim, "/syncapi/v1/homestatus", {"home_id": home_id}, token
    )
    assert status == 200, data
    return dict(data["body"])


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


async def modules(
    session: aiohttp.ClientSession, sim: VeluxSimulator, token: str, home_id: str = HOME_ID
) -> dict[str, dict[str, Any]]:
    return by_id((await homestatus(session, sim, token, home_id))["home"]["modules"])


async def setstate(
    session: aiohttp.ClientSession,
    sim: VeluxSimulator,
    token: str,
    *entries: dict[str, Any],
    home_id: str = HOME_ID,
) -> dict[str, Any]:
    status, data = await post_json(
        session,
        sim,
        "/syncapi/v1/setstate",
        {"app_type": "app_velux", "home": {"id": home_id, "modules": list(entries)}},
        token,
    )
    assert status == 200, data
    assert data["status"] == "ok"
    return dict(data["body"])


def signed(
    item: str, value: Any, device_id: str, *, timestamp: int = 1_779_484_789, nonce: int = 0
) -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "nonce": nonce,
        "sign_key_id": KEY_ID,
        f"hash_{item}": sign_command(
            KEY, item, value, timestamp=timestamp, nonce=nonce, device_id=device_id
        ),
    }


# ---------------------------------------------------------------------------- auth


async def test_password_login(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    data = await login(session, sim)
    assert set(data) == {"access_token", "refresh_token", "scope", "expires_in", "expire_in"}
    assert data["expires_in"] == data["expire_in"] == 10800
    assert data["scope"] == ["all_scopes"]
    assert data["access_token"].startswith(f"{USER_ID}|")
    assert sim.password_logins == 1
    assert sim.refresh_logins == 0
    request = sim.requests[0]
    assert request.method == "POST"
    assert request.path == "/oauth2/token"
    assert request.form["user_prefix"] == "velux"
    assert request.json is None
    assert request.authorization is None
    assert sim.count("/oauth2/token") == 1


async def test_username_is_case_insensitive(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    status, _ = await post_form(
        session, sim, "/oauth2/token", login_form(username=DEMO_USERNAME.upper())
    )
    assert status == 200


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"password": "wrong"}, "invalid_grant"),
        ({"username": "other@velux.example"}, "invalid_grant"),
        ({"user_prefix": "netatmo"}, "invalid_grant"),
        ({"client_id": "nope"}, "invalid_client"),
        ({"client_secret": "nope"}, "invalid_client"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ],
)
async def test_login_errors(
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    overrides: dict[str, str],
    error: str,
) -> None:
    status, data = await post_form(session, sim, "/oauth2/token", login_form(**overrides))
    assert status == 400
    assert data == {"error": error}
    assert sim.password_logins == 0


async def test_token_endpoint_wants_a_form(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    status, data = await post_json(session, sim, "/oauth2/token", login_form(), None)
    assert (status, data) == (400, {"error": "invalid_client"})
    assert sim.requests[0].json == login_form()


async def test_refresh_rotates(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    first = await login(session, sim)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    status, second = await post_form(session, sim, "/oauth2/token", form)
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert sim.refresh_logins == 1
    # The old refresh token is gone once used.
    status, data = await post_form(session, sim, "/oauth2/token", form)
    assert (status, data) == (400, {"error": "invalid_grant"})
    # The new one works, unless the server refuses refreshes.
    sim.refuse_refresh = True
    form["refresh_token"] = second["refresh_token"]
    status, data = await post_form(session, sim, "/oauth2/token", form)
    assert (status, data) == (400, {"error": "invalid_grant"})
    sim.refuse_refresh = False
    status, _ = await post_form(session, sim, "/oauth2/token", form)
    assert status == 200
    assert sim.refresh_logins == 2


async def test_set_password(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    sim.set_password("new-secret")
    status, data = await post_form(session, sim, "/oauth2/token", login_form())
    assert (status, data) == (400, {"error": "invalid_grant"})
    status, _ = await post_form(session, sim, "/oauth2/token", login_form(password="new-secret"))
    assert status == 200


async def test_access_token_errors(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    path = "/api/getuser"
    status, data = await post_form(session, sim, path, {})
    assert status == 401
    assert data["error"]["code"] == 1
    status, data = await post_form(session, sim, path, {"access_token": "bogus"})
    assert (status, data["error"]["code"]) == (403, 2)
    status, _ = await post_form(session, sim, path, {"access_token": token})
    assert status == 200
    sim.expire_access_tokens()
    status, data = await post_form(session, sim, path, {"access_token": token})
    assert (status, data) == (403, {"error": {"code": 3, "message": "Access token expired"}})
    # A fresh token works again.
    fresh = (await login(session, sim))["access_token"]
    status, _ = await post_form(session, sim, path, {"access_token": fresh})
    assert status == 200
    # Tokens expire on the simulated clock.
    sim.advance(10_801)
    status, data = await post_form(session, sim, path, {"access_token": fresh})
    assert (status, data["error"]["code"]) == (403, 3)


async def test_revoke_tokens(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    data = await login(session, sim)
    sim.revoke_tokens()
    status, body = await post_form(
        session, sim, "/api/getuser", {"access_token": data["access_token"]}
    )
    assert (status, body["error"]["code"]) == (403, 2)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": data["refresh_token"],
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    status, body = await post_form(session, sim, "/oauth2/token", form)
    assert (status, body) == (400, {"error": "invalid_grant"})


async def test_short_token_lifetime(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    sim = VeluxSimulator(access_token_lifetime=60, username="a@b.c", password="pw")
    await sim.start()
    try:
        form = login_form(username="a@b.c", password="pw")
        status, data = await post_form(session, sim, "/oauth2/token", form)
        assert (status, data["expires_in"]) == (200, 60)
        sim.advance(59)
        token = data["access_token"]
        status, _ = await post_form(session, sim, "/api/getuser", {"access_token": token})
        assert status == 200
        sim.advance(2)
        status, _ = await post_form(session, sim, "/api/getuser", {"access_token": token})
        assert status == 403
    finally:
        await sim.stop()


# --------------------------------------------------------------------------- reads


async def test_getuser(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    status, data = await post_form(session, sim, "/api/getuser", {"access_token": token})
    assert status == 200
    assert data["status"] == "ok"
    assert data["time_server"] == 1_700_000_000
    assert data["body"]["mail"] == DEMO_USERNAME
    assert data["body"]["_id"] == USER_ID


async def test_homesdata(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    status, data = await post_form(
        session, sim, "/api/homesdata", {"access_token": token, "gateway_types": "[NXG]"}
    )
    assert status == 200
    assert set(data) == {"status", "body", "time_exec", "time_server"}
    body = data["body"]
    assert body["user"]["email"] == DEMO_USERNAME
    homes = by_id(body["homes"])
    assert [home["name"] for home in body["homes"]] == ["Home", "Cabin"]
    home = homes[HOME_ID]
    assert set(home) >= {"id", "name", "modules", "rooms", "schedules", "persons"}
    mods = by_id(home["modules"])
    assert set(mods) == {
        GATEWAY_ID,
        WINDOW_ID,
        SHUTTER_ID,
        BLIND_ID,
        AWNING_ID,
        SENSOR_ID,
        SWITCH_ID,
    }
    gateway = mods[GATEWAY_ID]
    assert gateway["type"] == "NXG"
    assert gateway["subtype"] == "EU"
    assert gateway["reachable"] is True
    assert gateway["pincode_enabled"] is False
    assert gateway["modules_bridged"] == [
        WINDOW_ID,
        SHUTTER_ID,
        BLIND_ID,
        AWNING_ID,
        SENSOR_ID,
        SWITCH_ID,
    ]
    assert "bridge" not in gateway
    assert {
        mid: mods[mid]["velux_type"] for mid in (WINDOW_ID, SHUTTER_ID, BLIND_ID, AWNING_ID)
    } == {
        WINDOW_ID: "window",
        SHUTTER_ID: "shutter",
        BLIND_ID: "blind",
        AWNING_ID: "awning_blind",
    }
    window = mods[WINDOW_ID]
    assert set(window) == {"id", "type", "name", "bridge", "room_id", "velux_type", "setup_date"}
    assert window["bridge"] == GATEWAY_ID
    assert mods[SENSOR_ID]["type"] == "NXS"
    assert mods[SENSOR_ID]["room_id"] == BEDROOM_ID
    assert mods[SWITCH_ID]["type"] == "NXD"
    assert "room_id" not in mods[SWITCH_ID]
    rooms = by_id(home["rooms"])
    assert rooms[BEDROOM_ID]["module_ids"] == [WINDOW_ID, BLIND_ID, SENSOR_ID]
    assert rooms[LIVING_ROOM_ID]["module_ids"] == [SHUTTER_ID, AWNING_ID]
    cabin = homes[SMALL_HOME_ID]
    assert [m["id"] for m in cabin["modules"]] == [SMALL_GATEWAY_ID, SMALL_SHUTTER_ID]
    assert by_id(cabin["rooms"])[SMALL_ROOM_ID]["module_ids"] == [SMALL_SHUTTER_ID]


async def test_homesdata_filters(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    status, data = await post_form(
        session, sim, "/api/homesdata", {"access_token": token, "home_id": SMALL_HOME_ID}
    )
    assert status == 200
    assert [home["id"] for home in data["body"]["homes"]] == [SMALL_HOME_ID]
    # A gateway type nobody has leaves the homes without modules.
    status, data = await post_form(
        session, sim, "/api/homesdata", {"access_token": token, "gateway_types": '["NBG"]'}
    )
    assert all(home["modules"] == [] for home in data["body"]["homes"])
    # Bearer header and GET both work on /api.
    async with session.get(
        sim.base_url + "/api/homesdata", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200


async def test_homestatus(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    status, data = await post_form(
        session, sim, "/api/homestatus", {"access_token": token, "home_id": HOME_ID}
    )
    assert status == 200
    body = data["body"]
    assert body["errors"] == []
    assert body["home"]["id"] == HOME_ID
    mods = by_id(body["home"]["modules"])
    gateway = mods[GATEWAY_ID]
    assert "reachable" not in gateway
    for key in (
        "wifi_strength",
        "wifi_state",
        "locked",
        "locking",
        "secure",
        "busy",
        "calibrating",
        "pairing",
        "is_raining",
        "last_seen",
        "hardware_version",
        "firmware_revision_netatmo",
        "firmware_revision_thirdparty",
    ):
        assert key in gateway, key
    assert gateway["busy"] is False
    assert gateway["last_seen"] == 1_700_000_000 - 5
    window = mods[WINDOW_ID]
    assert window == {
        "id": WINDOW_ID,
        "type": "NXO",
        "bridge": GATEWAY_ID,
        "current_position": 0,
        "target_position": 0,
        "mode": "auto",
        "reachable": True,
        "velux_type": "window",
        "silent": False,
        "manufacturer": "VELUX",
        "last_seen": 1_700_000_000 - 40,
        "firmware_revision": 17,
        "secure_position": 10,
        "rain_position": 5,
    }
    assert "secure_position" not in mods[SHUTTER_ID]
    assert mods[SHUTTER_ID]["current_position"] == 100
    assert mods[BLIND_ID]["manufacturer"] == "Netatmo"
    sensor = mods[SENSOR_ID]
    assert sensor["battery_percent"] == 82
    assert sensor["battery_state"] == "high"
    assert sensor["battery_level"] == 2200 + 82 * 14
    assert sensor["rf_state"] == "high"
    assert sensor["reachable"] is True
    assert mods[SWITCH_ID]["battery_state"] == "full"
    assert mods[SWITCH_ID]["rf_state"] == "medium"
    rooms = by_id(body["home"]["rooms"])
    assert rooms[BEDROOM_ID]["temperature"] == 215
    assert rooms[BEDROOM_ID]["co2"] == 640
    assert rooms[LIVING_ROOM_ID] == {"id": LIVING_ROOM_ID}
    # JSON alias with a Bearer header answers the same.
    assert await homestatus(session, sim, token) == body
    cabin = await modules(session, sim, token, SMALL_HOME_ID)
    assert set(cabin) == {SMALL_GATEWAY_ID, SMALL_SHUTTER_ID}
    assert cabin[SMALL_GATEWAY_ID]["wifi_state"] == "medium"


async def test_homestatus_errors(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    status, data = await post_json(session, sim, "/syncapi/v1/homestatus", {}, token)
    assert (status, data["error"]["code"]) == (400, 10)
    status, data = await post_json(
        session, sim, "/syncapi/v1/homestatus", {"home_id": "nope"}, token
    )
    assert (status, data["error"]["code"]) == (400, 21)
    status, data = await post_json(
        session, sim, "/syncapi/v1/homestatus", {"home_id": HOME_ID}, "bogus"
    )
    assert (status, data["error"]["code"]) == (403, 2)


async def test_getscenarios(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    status, data = await post_form(
        session, sim, "/syncapi/v1/getscenarios", {"access_token": token, "home_id": HOME_ID}
    )
    assert status == 200
    scenarios = data["body"]["home"]["scenarios"]
    assert [s["type"] for s in scenarios] == ["wake_up", "bedtime", "away", "home"]
    status, data = await post_json(
        session, sim, "/syncapi/v1/getscenarios", {"home_id": "nope"}, token
    )
    assert (status, data["error"]["code"]) == (400, 21)
    status, data = await post_json(session, sim, "/syncapi/v1/getscenarios", {}, token)
    assert (status, data["error"]["code"]) == (400, 10)


async def test_unknown_endpoint(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    status, data = await post_form(session, sim, "/api/getstationsdata", {})
    assert (status, data["error"]["code"]) == (404, 404)
    assert sim.count("/api/getstationsdata") == 1


# ---------------------------------------------------------------------- state knobs


async def test_state_knobs(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    sim.set_position(SHUTTER_ID, 40)
    sim.set_battery(SENSOR_ID, 10)
    sim.set_room_climate(BEDROOM_ID, temperature=249, humidity=55, lux=None)
    sim.set_status(GATEWAY_ID, wifi_strength=90)
    with pytest.raises(ValueError, match="pressure"):
        sim.set_room_climate(BEDROOM_ID, pressure=1000)
    with pytest.raises(KeyError):
        sim.set_room_climate("nope", temperature=1)
    body = await homestatus(session, sim, token)
    mods = by_id(body["home"]["modules"])
    assert mods[SHUTTER_ID]["current_position"] == mods[SHUTTER_ID]["target_position"] == 40
    assert sim.position(SHUTTER_ID) == sim.target(SHUTTER_ID) == 40
    assert mods[SENSOR_ID]["battery_state"] == "very_low"
    assert mods[GATEWAY_ID]["wifi_strength"] == 90
    room = by_id(body["home"]["rooms"])[BEDROOM_ID]
    assert (room["temperature"], room["humidity"]) == (249, 55)
    assert "lux" not in room


@pytest.mark.parametrize(
    ("percent", "state"),
    [(95, "full"), (70, "high"), (50, "medium"), (20, "low"), (5, "very_low")],
)
def test_battery_states(percent: int, state: str) -> None:
    assert battery_state(percent) == state


def test_signal_states() -> None:
    assert [signal_state(v) for v in (50, 65, 80, 95)] == ["full", "high", "medium", "low"]


async def test_reachability(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.set_reachable(SENSOR_ID, False)
    sim.advance(100)
    body = await homestatus(session, sim, token)
    mods = by_id(body["home"]["modules"])
    assert mods[SENSOR_ID]["reachable"] is False
    assert mods[SENSOR_ID]["last_seen"] == 1_700_000_000
    assert mods[WINDOW_ID]["last_seen"] == 1_700_000_100 - 40
    assert body["errors"] == [{"code": 6, "id": SENSOR_ID}]
    sim.set_reachable(SENSOR_ID, True)
    assert (await modules(session, sim, token))[SENSOR_ID]["reachable"] is True
    # An unreachable gateway takes its modules along and refuses commands.
    sim.set_reachable(GATEWAY_ID, False)
    sim.advance(100)
    body = await homestatus(session, sim, token)
    mods = by_id(body["home"]["modules"])
    assert mods[SHUTTER_ID]["reachable"] is False
    assert mods[SHUTTER_ID]["last_seen"] == 1_700_000_100
    assert {e["id"] for e in body["errors"]} == {
        GATEWAY_ID,
        WINDOW_ID,
        SHUTTER_ID,
        BLIND_ID,
        AWNING_ID,
        SENSOR_ID,
        SWITCH_ID,
    }
    _, data = await post_form(session, sim, "/api/homesdata", {"access_token": token})
    gateway = by_id(by_id(data["body"]["homes"])[HOME_ID]["modules"])[GATEWAY_ID]
    assert gateway["reachable"] is False
    result = await setstate(
        session,
        sim,
        token,
        {"id": SHUTTER_ID, "bridge": GATEWAY_ID, "target_position": 0},
        {"id": GATEWAY_ID, "identify": True},
    )
    assert result["errors"] == [{"code": 6, "id": SHUTTER_ID}, {"code": 6, "id": GATEWAY_ID}]


async def test_topology_knobs(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    new_gateway = "70:ee:50:aa:bb:cc"
    sim.add_module(HOME_ID, {"id": new_gateway, "type": "NXG", "name": "Second gateway"})
    sim.add_module(
        HOME_ID,
        {
            "id": "99",
            "type": "NXO",
            "bridge": new_gateway,
            "room_id": "777",
            "velux_type": "venetian_blind",
        },
        {"current_position": 30, "target_position": 60, "battery_percent": 50},
    )
    sim.add_module(HOME_ID, {"id": "98", "type": "NXO", "bridge": new_gateway})
    sim.add_module(
        HOME_ID, {"id": "97", "type": "NXD", "reachable": False}, {"battery_percent": 30}
    )
    sim.set_bridge(SHUTTER_ID, new_gateway)
    sim.remove_module(AWNING_ID)
    _, data = await post_form(session, sim, "/api/homesdata", {"access_token": token})
    home = by_id(data["body"]["homes"])[HOME_ID]
    mods = by_id(home["modules"])
    assert AWNING_ID not in mods
    assert mods[new_gateway]["modules_bridged"] == [SHUTTER_ID, "99", "98"]
    assert SHUTTER_ID not in mods[GATEWAY_ID]["modules_bridged"]
    assert mods[SHUTTER_ID]["bridge"] == new_gateway
    assert mods["98"]["velux_type"] == "shutter"
    assert by_id(home["rooms"])["777"] == {
        "id": "777",
        "name": "Room 777",
        "type": "custom",
        "module_ids": ["99"],
    }
    status_mods = await modules(session, sim, token)
    assert status_mods["99"]["current_position"] == 60  # move_speed=0: instant
    assert status_mods["99"]["target_position"] == 60
    assert status_mods["99"]["battery_percent"] == 50
    assert status_mods["97"]["reachable"] is False
    assert status_mods["97"]["battery_state"] == "low"
    # The old bridge id is now refused for the moved module.
    result = await setstate(
        session, sim, token, {"id": SHUTTER_ID, "bridge": GATEWAY_ID, "target_position": 0}
    )
    assert result["errors"] == [{"code": 21, "id": SHUTTER_ID}]
    sim.add_home("abc", "Flat")
    sim.add_module("abc", {"id": "70:ee:50:00:00:01", "type": "NXG"})
    _, data = await post_form(session, sim, "/api/homesdata", {"access_token": token})
    assert [h["name"] for h in data["body"]["homes"]] == ["Home", "Cabin", "Flat"]
    sim.remove_home("abc")
    _, data = await post_form(session, sim, "/api/homesdata", {"access_token": token})
    assert [h["name"] for h in data["body"]["homes"]] == ["Home", "Cabin"]
    with pytest.raises(KeyError):
        sim.module("70:ee:50:00:00:01")


async def test_remove_home_gateways(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.remove_home_gateways()
    status, data = await post_form(session, sim, "/api/homesdata", {"access_token": token})
    assert status == 200
    assert [home["modules"] for home in data["body"]["homes"]] == [[], []]


# ------------------------------------------------------------------------ commands


async def test_move_on_simulated_clock(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    sim = VeluxSimulator(move_speed=20)
    await sim.start()
    try:
        token = str((await login(session, sim))["access_token"])
        result = await setstate(
            session, sim, token, {"id": SHUTTER_ID, "bridge": GATEWAY_ID, "target_position": 0}
        )
        assert result == {"home": {"id": HOME_ID}}
        mods = await modules(session, sim, token)
        assert mods[SHUTTER_ID]["target_position"] == 0
        assert 99 <= mods[SHUTTER_ID]["current_position"] <= 100
        assert mods[GATEWAY_ID]["busy"] is True
        sim.advance(2.5)
        assert 48 <= (await modules(session, sim, token))[SHUTTER_ID]["current_position"] <= 50
        # Stop the module where it is (-1).
        await setstate(session, sim, token, {"id": SHUTTER_ID, "target_position": -1})
        here = sim.position(SHUTTER_ID)
        sim.advance(10)
        mods = await modules(session, sim, token)
        assert mods[SHUTTER_ID]["current_position"] == mods[SHUTTER_ID]["target_position"] == here
        # Preferred position (-2), then stop everything on the bridge.
        await setstate(session, sim, token, {"id": SHUTTER_ID, "target_position": -2})
        assert sim.target(SHUTTER_ID) == 50
        await setstate(session, sim, token, {"id": SHUTTER_ID, "target_position": 0})
        sim.advance(1)
        await setstate(session, sim, token, {"id": GATEWAY_ID, "stop_movements": "all"})
        stopped = sim.position(SHUTTER_ID)
        assert sim.target(SHUTTER_ID) == stopped
        assert 0 < stopped < 50
        # Moving up, then finish_movements jumps to the target.
        await setstate(session, sim, token, {"id": SHUTTER_ID, "target_position": 100})
        sim.finish_movements()
        mods = await modules(session, sim, token)
        assert mods[SHUTTER_ID]["current_position"] == 100
        assert mods[GATEWAY_ID]["busy"] is False
    finally:
        await sim.stop()


async def test_silent_and_mode(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    result = await setstate(
        session,
        sim,
        token,
        {"id": SHUTTER_ID, "bridge": GATEWAY_ID, "silent": True, "mode": "auto"},
    )
    assert "errors" not in result
    mods = await modules(session, sim, token)
    assert mods[SHUTTER_ID]["silent"] is True
    assert mods[SHUTTER_ID]["mode"] == "auto"
    assert sim.setstate_bodies[-1]["home"]["modules"][0]["silent"] is True
    assert sim.count("/syncapi/v1/setstate") == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "unknown", "target_position": 0},
        {"id": SMALL_SHUTTER_ID, "target_position": 0},
        {"id": SHUTTER_ID},
        {"id": SHUTTER_ID, "target_position": 101},
        {"id": SHUTTER_ID, "target_position": True},
        {"id": SHUTTER_ID, "target_position": "50"},
        {"id": SHUTTER_ID, "silent": "yes"},
        {"id": SHUTTER_ID, "mode": "turbo"},
        {"id": SENSOR_ID, "target_position": 0},
        {"id": GATEWAY_ID, "target_position": 0},
        {"id": GATEWAY_ID, "stop_movements": "some"},
        {"id": GATEWAY_ID, "scenario": "party"},
    ],
)
async def test_invalid_entries(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str, entry: dict[str, Any]
) -> None:
    result = await setstate(session, sim, token, entry)
    assert result["errors"] == [{"code": 21, "id": entry["id"]}]
    assert sim.target(SHUTTER_ID) == 100


async def test_invalid_setstate_bodies(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    path = "/syncapi/v1/setstate"
    status, data = await post_json(session, sim, path, {"home": {"id": HOME_ID}}, token)
    assert (status, data["error"]["code"]) == (400, 10)
    status, data = await post_json(
        session, sim, path, {"home": {"id": "nope", "modules": []}}, token
    )
    assert (status, data["error"]["code"]) == (400, 21)
    status, data = await post_json(
        session, sim, path, {"home": {"id": HOME_ID, "modules": ["x"]}}, token
    )
    assert data["body"]["errors"] == [{"code": 21, "id": None}]
    async with session.post(
        sim.base_url + path, data="{not json", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 400
    status, data = await post_json(session, sim, path, {"home": {}}, None)
    assert (status, data["error"]["code"]) == (401, 1)
    assert sim.requests[-1].json == {"home": {}}
    assert len(sim.setstate_bodies) == 4


async def test_scenarios(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    sim.set_position(WINDOW_ID, 30)
    sim.set_position(SHUTTER_ID, 0)
    sim.set_position(BLIND_ID, 0)
    await setstate(session, sim, token, {"id": GATEWAY_ID, "scenario": "wake_up"})
    assert (sim.target(SHUTTER_ID), sim.target(BLIND_ID)) == (100, 100)
    assert sim.target(WINDOW_ID) == 30
    assert sim.target(AWNING_ID) == 0
    assert sim.last_scenario == {HOME_ID: "wake_up"}
    await setstate(session, sim, token, {"id": GATEWAY_ID, "scenario": "bedtime"})
    assert {sim.target(m) for m in (WINDOW_ID, SHUTTER_ID, BLIND_ID, AWNING_ID)} == {0}
    sim.set_position(SHUTTER_ID, 100)
    sim.set_reachable(BLIND_ID, False)
    sim.set_position(BLIND_ID, 100)
    await setstate(session, sim, token, {"id": GATEWAY_ID, "scenario": "away"})
    assert sim.target(SHUTTER_ID) == 0
    assert sim.target(BLIND_ID) == 100  # unreachable modules do not move
    assert sim.departure_homes == {HOME_ID}
    # Leaving departure mode must be signed.
    result = await setstate(session, sim, token, {"id": GATEWAY_ID, "scenario": "home"})
    assert result["errors"] == [{"code": 9, "id": GATEWAY_ID}]
    assert sim.departure_homes == {HOME_ID}
    sim.sign_key, sim.sign_key_id = KEY, KEY_ID
    result = await setstate(
        session,
        sim,
        token,
        {"id": GATEWAY_ID, "scenario": "home", **signed("scenario", "home", GATEWAY_ID)},
    )
    assert "errors" not in result
    assert sim.departure_homes == set()
    assert sim.last_scenario[HOME_ID] == "home"


async def test_identify_and_retrieve_key(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    await setstate(
        session,
        sim,
        token,
        {"id": GATEWAY_ID, "identify": True},
        {"id": GATEWAY_ID, "retrieve_key": True},
    )
    await setstate(
        session, sim, token, {"id": SMALL_GATEWAY_ID, "identify": True}, home_id=SMALL_HOME_ID
    )
    assert sim.identify_requests == [GATEWAY_ID, SMALL_GATEWAY_ID]
    assert sim.retrieve_key_requests == [GATEWAY_ID]


async def test_window_needs_signature(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.set_position(WINDOW_ID, 20)
    # Closing and stopping are unsigned; opening is not.
    result = await setstate(session, sim, token, {"id": WINDOW_ID, "target_position": 0})
    assert "errors" not in result
    assert sim.target(WINDOW_ID) == 0
    result = await setstate(
        session,
        sim,
        token,
        {"id": WINDOW_ID, "bridge": GATEWAY_ID, "target_position": 14},
        {"id": SHUTTER_ID, "bridge": GATEWAY_ID, "target_position": 14},
    )
    assert result["errors"] == [{"code": 9, "id": WINDOW_ID}]
    assert sim.target(WINDOW_ID) == 0
    assert sim.target(SHUTTER_ID) == 14


async def test_signed_window(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.sign_key, sim.sign_key_id = KEY, KEY_ID
    good = signed("target_position", 14, WINDOW_ID)
    assert len(good["hash_target_position"]) == 88
    # Wrong hash, wrong key id, missing fields.
    for bad in (
        {
            **good,
            "hash_target_position": signed("target_position", 15, WINDOW_ID)[
                "hash_target_position"
            ],
        },
        {**good, "sign_key_id": "other"},
        {**good, "nonce": "0"},
        {key: value for key, value in good.items() if key != "timestamp"},
    ):
        result = await setstate(
            session, sim, token, {"id": WINDOW_ID, "target_position": 14, **bad}
        )
        assert result["errors"] == [{"code": 9, "id": WINDOW_ID}]
    result = await setstate(session, sim, token, {"id": WINDOW_ID, "target_position": 14, **good})
    assert "errors" not in result
    assert sim.target(WINDOW_ID) == 14
    # Reusing the (timestamp, nonce) pair is refused; the next nonce works.
    result = await setstate(session, sim, token, {"id": WINDOW_ID, "target_position": 14, **good})
    assert result["errors"] == [{"code": 28, "id": WINDOW_ID}]
    result = await setstate(
        session,
        sim,
        token,
        {
            "id": WINDOW_ID,
            "target_position": 30,
            **signed("target_position", 30, WINDOW_ID, nonce=1),
        },
    )
    assert "errors" not in result
    assert sim.target(WINDOW_ID) == 30
    # Without a configured key id, any key id is accepted.
    sim.sign_key_id = None
    result = await setstate(
        session,
        sim,
        token,
        {
            "id": WINDOW_ID,
            "target_position": 40,
            **signed("target_position", 40, WINDOW_ID, nonce=2),
            "sign_key_id": "x",
        },
    )
    assert "errors" not in result


async def test_rain(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    sim.sign_key, sim.sign_key_id = KEY, KEY_ID
    sim.set_position(WINDOW_ID, 60)
    sim.set_raining(HOME_ID, True)
    mods = await modules(session, sim, token)
    assert mods[GATEWAY_ID]["is_raining"] is True
    assert mods[WINDOW_ID]["target_position"] == 5  # rain_position
    entry = {"id": WINDOW_ID, "target_position": 50, **signed("target_position", 50, WINDOW_ID)}
    result = await setstate(session, sim, token, entry)
    assert result["errors"] == [{"code": 6, "id": WINDOW_ID}]
    # The refused command did not use up the nonce.
    result = await setstate(session, sim, token, {**entry, "force": True})
    assert "errors" not in result
    assert sim.target(WINDOW_ID) == 50
    sim.set_raining(HOME_ID, False)
    assert (await modules(session, sim, token))[GATEWAY_ID]["is_raining"] is False
    assert (await modules(session, sim, token, SMALL_HOME_ID))[SMALL_GATEWAY_ID][
        "is_raining"
    ] is False


def test_sign_command_matches_reference_example() -> None:
    import hashlib
    import hmac

    message = b"target_position" + b"14" + b"1779484789" + b"0" + b"5636133219200932"
    expected = base64.b64encode(hmac.new(KEY, message, hashlib.sha512).digest()).decode()
    expected = expected.replace("+", "-").replace("/", "_")
    assert (
        sign_command(
            KEY, "target_position", 14, timestamp=1779484789, nonce=0, device_id="5636133219200932"
        )
        == expected
    )


# -------------------------------------------------------------------------- faults


async def test_fail_next(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    sim.fail_next(2, path="/api/homestatus")
    form = {"access_token": token, "home_id": HOME_ID}
    status, _ = await post_form(session, sim, "/api/getuser", form)
    assert status == 200
    for _ in range(2):
        async with session.post(sim.base_url + "/api/homestatus", data=form) as resp:
            assert resp.status == 500
            assert resp.content_type == "text/html"
    status, _ = await post_form(session, sim, "/api/homestatus", form)
    assert status == 200
    sim.fail_next(status=400)
    status, data = await post_form(session, sim, "/oauth2/token", login_form())
    assert (status, data["error"]["code"]) == (400, 400)
    sim.fail_next(0)
    status, _ = await post_form(session, sim, "/oauth2/token", login_form())
    assert status == 200
    assert sim.count("/api/homestatus") == 3


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("http429", 429, 26), ("error26", 403, 26), ("error11", 429, 11)],
)
async def test_rate_limit_next(  # noqa: PLR0917
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    token: str,
    kind: str,
    status: int,
    code: int,
) -> None:
    sim.rate_limit_next(kind=kind, retry_after=60)
    async with session.post(sim.base_url + "/api/getuser", data={"access_token": token}) as resp:
        assert resp.status == status
        assert resp.headers["Retry-After"] == "60"
        assert (await resp.json())["error"]["code"] == code
    status_ok, _ = await post_form(session, sim, "/api/getuser", {"access_token": token})
    assert status_ok == 200


async def test_rate_limit_without_retry_after(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim.rate_limit_next(path="/oauth2/token")
    async with session.post(sim.base_url + "/oauth2/token", data=login_form()) as resp:
        assert resp.status == 429
        assert "Retry-After" not in resp.headers
        assert await resp.json() == {"error": {"code": 26, "message": "Maximum api usage reached"}}
    with pytest.raises(ValueError, match="kind"):
        sim.rate_limit_next(kind="slow")


async def test_malformed_next(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.malformed_next(path="/syncapi/v1/")
    async with session.post(
        sim.base_url + "/syncapi/v1/homestatus",
        json={"home_id": HOME_ID},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 200
        with pytest.raises(ValueError):  # noqa: PT011
            await resp.json()
    await homestatus(session, sim, token)


async def test_reply_next(sim: VeluxSimulator, session: aiohttp.ClientSession, token: str) -> None:
    sim.reply_next(payload={"status": "ok", "body": {}}, path="/api/homesdata")
    sim.reply_next(payload="<html>Maintenance</html>", status=403, path="/oauth2/token")
    form = {"access_token": token}
    status, data = await post_form(session, sim, "/api/homesdata", form)
    assert (status, data) == (200, {"status": "ok", "body": {}})
    async with session.post(sim.base_url + "/oauth2/token", data=login_form()) as resp:
        assert (resp.status, resp.content_type) == (403, "text/html")
        assert await resp.text() == "<html>Maintenance</html>"
    # Each answer was used once.
    status, data = await post_form(session, sim, "/api/homesdata", form)
    assert (status, [home["id"] for home in data["body"]["homes"]]) == (
        200,
        [HOME_ID, SMALL_HOME_ID],
    )
    status, _ = await post_form(session, sim, "/oauth2/token", login_form())
    assert status == 200


async def test_delay_next_triggers_client_timeouts(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.delay_next(seconds=30, path="/api/getuser")
    timeout = aiohttp.ClientTimeout(total=0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with session.post(
            sim.base_url + "/api/getuser", data={"access_token": token}, timeout=timeout
        ):
            pass
    assert time.monotonic() - started < 5
    # A short delay only slows the answer down; a delay combines with other faults.
    sim.delay_next(seconds=0.01)
    sim.fail_next(status=503)
    async with session.post(sim.base_url + "/api/getuser", data={"access_token": token}) as resp:
        assert resp.status == 503
    status, _ = await post_form(session, sim, "/api/getuser", {"access_token": token})
    assert status == 200
    sim.delay_next(seconds=0.01)
    sim.clear_faults()
    status, _ = await post_form(session, sim, "/api/getuser", {"access_token": token})
    assert status == 200


async def test_stop_releases_delayed_requests(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    sim = VeluxSimulator()
    await sim.start()
    sim.delay_next(seconds=30)
    request = asyncio.create_task(session.post(sim.base_url + "/oauth2/token", data=login_form()))
    for _ in range(500):
        if sim.requests:
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 5
    with contextlib.suppress(aiohttp.ClientError):
        (await request).release()
    assert time.monotonic() - started < 5
    with pytest.raises(RuntimeError):
        VeluxSimulator().base_url  # noqa: B018


async def test_restart_and_standalone_app(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    sim = VeluxSimulator()
    assert isinstance(sim.app, aiohttp.web.Application)
    await sim.start()
    port = int(sim.base_url.rsplit(":", 1)[1])
    await sim.stop()
    await sim.stop()
    await sim.start(port=port)
    try:
        await login(session, sim)
    finally:
        await sim.stop()


async def test_reads_need_a_token(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    for path in ("/api/homesdata", "/api/homestatus", "/syncapi/v1/getscenarios"):
        status, data = await post_form(session, sim, path, {"access_token": "bogus"})
        assert (status, data["error"]["code"]) == (403, 2), path
    status, data = await post_json(session, sim, "/syncapi/v1/setstate", {}, "bogus")
    assert (status, data["error"]["code"]) == (403, 2)


async def test_other_module_types(
    sim: VeluxSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    sim.add_module(HOME_ID, {"id": "x1", "type": "NXB", "bridge": GATEWAY_ID}, {"foo": 1})
    mods = await modules(session, sim, token)
    assert mods["x1"] == {
        "id": "x1",
        "type": "NXB",
        "bridge": GATEWAY_ID,
        "reachable": True,
        "foo": 1,
        "last_seen": 1_700_000_000 - 40,
    }
    result = await setstate(session, sim, token, {"id": "x1", "target_position": 0})
    assert result["errors"] == [{"code": 21, "id": "x1"}]


async def test_movement_reaches_target(socket_enabled: None) -> None:
    sim = VeluxSimulator(move_speed=10)
    sim.module(SHUTTER_ID).move_to(0, sim.now(), sim.move_speed)
    sim.advance(4)
    assert 59 <= sim.position(SHUTTER_ID) <= 60
    sim.advance(7)
    assert sim.position(SHUTTER_ID) == 0
    assert not sim.module(SHUTTER_ID).moving(sim.now(), sim.move_speed)
