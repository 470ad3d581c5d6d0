"""Tests of the Homely cloud simulator: REST endpoints, tokens, faults and Socket.IO."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import re
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import socketio

from simulator import homely
from simulator.homely import (
    CABIN_ENTRY_ID,
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    ENTRY_ID,
    FLOOD_ID,
    GATEWAY_ID,
    GATEWAY_SERIAL,
    HAN_ID,
    LOCATION_ID,
    LOCK_ID,
    MOTION_ID,
    SMOKE_ID,
    THERMOSTAT_ID,
    USER_ID,
    HomelySimulator,
    SimRequest,
)

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
WAIT = 2.0
SERVER_DISCONNECT = socketio.AsyncClient.reason.SERVER_DISCONNECT  # "io server disconnect" in JS


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[HomelySimulator]:
    simulator = HomelySimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def call(
    session: aiohttp.ClientSession,
    sim: HomelySimulator,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(
        method, f"{sim.base_url}{path}", json=body, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None)


async def login(session: aiohttp.ClientSession, sim: HomelySimulator) -> dict[str, Any]:
    status, body = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/token",
        body={"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
    )
    assert status == 200
    return body  # type: ignore[no-any-return]


class LiveClient:
    """A python-socketio client recording what the server sends."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.exceptions: asyncio.Queue[Any] = asyncio.Queue()
        self.connect_errors: list[Any] = []
        self.disconnected = asyncio.Event()
        self.disconnect_reason: Any = None
        self.client.on("event", self._on_event)
        self.client.on("exception", self._on_exception)
        self.client.on("connect_error", self._on_connect_error)
        self.client.on("disconnect", self._on_disconnect)

    async def _on_event(self, payload: Any) -> None:
        await self.events.put(payload)

    async def _on_exception(self, payload: Any) -> None:
        await self.exceptions.put(payload)

    async def _on_connect_error(self, data: Any) -> None:
        self.connect_errors.append(data)

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnect_reason = reason
        self.disconnected.set()

    async def connect(
        self, sim: HomelySimulator, location_id: str | None, token: str | None
    ) -> None:
        query = [] if location_id is None else [f"locationId={quote(location_id)}"]
        if token is not None:
            query.append(f"token={quote('Bearer ' + token)}")
        await self.client.connect(
            f"{sim.base_url}?{'&'.join(query)}",
            headers={"Authorization": f"Bearer {token}"},
            transports=["websocket"],
            wait_timeout=WAIT,
        )

    async def next_event(self) -> Any:
        return await asyncio.wait_for(self.events.get(), WAIT)

    async def close(self) -> None:
        await self.client.disconnect()
        await self.client.shutdown()


@pytest.fixture
async def live() -> AsyncIterator[list[LiveClient]]:
    clients: list[LiveClient] = []
    yield clients
    for client in clients:
        await client.close()


async def connected(
    sim: HomelySimulator, live: list[LiveClient], location_id: str, token: str
) -> LiveClient:
    client = LiveClient()
    live.append(client)
    await client.connect(sim, location_id, token)
    return client


# ---------------------------------------------------------------------------- REST: tokens


async def test_login_returns_the_token_shape(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    body = await login(session, sim)
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_expires_in",
        "refresh_token",
        "token_type",
        "not-before-policy",
        "session_state",
        "scope",
    }
    assert body["expires_in"] == 60
    assert body["refresh_expires_in"] == 1800
    assert body["token_type"] == "bearer"
    assert body["access_token"] != body["refresh_token"]
    assert sim.logins == 1
    assert sim.count("/homely/oauth/token") == 1
    assert sim.requests == [
        SimRequest(
            "POST",
            "/homely/oauth/token",
            {"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
            None,
        )
    ]


async def test_login_rejects_bad_credentials_and_follows_password_changes(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/token",
        body={"username": DEMO_USERNAME, "password": "x"},
    )
    assert (status, body) == (401, {"statusCode": 401, "message": "Unauthorized"})
    sim.set_password("new-secret")
    status, _ = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/token",
        body={"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
    )
    assert status == 401
    status, _ = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/token",
        body={"username": DEMO_USERNAME, "password": "new-secret"},
    )
    assert status == 200
    assert sim.logins == 1


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({}, ["username must be a string", "password must be a string"]),
        ({"username": DEMO_USERNAME}, ["password must be a string"]),
        ({"username": 5, "password": DEMO_PASSWORD}, ["username must be a string"]),
        ([1, 2], ["username must be a string", "password must be a string"]),
    ],
)
async def test_login_validates_fields(
    sim: HomelySimulator, session: aiohttp.ClientSession, body: Any, messages: list[str]
) -> None:
    status, answer = await call(session, sim, "POST", "/homely/oauth/token", body=body)
    assert (status, answer) == (400, {"statusCode": 400, "message": messages})


async def test_login_with_a_body_that_is_not_json(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(f"{sim.base_url}/homely/oauth/token", data="user=x") as response:
        assert response.status == 400
    assert sim.requests[0].json == "user=x"


async def test_refresh_rotates_the_refresh_token(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    first = await login(session, sim)
    status, second = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/refresh-token",
        body={"refresh_token": first["refresh_token"]},
    )
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["session_state"] == first["session_state"]
    assert sim.refreshes == 1
    # The old refresh token is used up.
    status, body = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/refresh-token",
        body={"refresh_token": first["refresh_token"]},
    )
    assert (status, body) == (400, {"statusCode": 400, "message": "Refresh token expired"})
    # Both access tokens still work until they expire.
    for token in (first["access_token"], second["access_token"]):
        status, _ = await call(session, sim, "GET", "/homely/locations", token=token)
        assert status == 200
    assert sim.count("/homely/oauth/refresh-token") == 2


async def test_refresh_validates_its_field(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(session, sim, "POST", "/homely/oauth/refresh-token", body={})
    assert (status, body) == (
        400,
        {"statusCode": 400, "message": ["refresh_token must be a string"]},
    )
    status, _ = await call(session, sim, "POST", "/homely/oauth/refresh-token", body="text")
    assert status == 400


async def test_refresh_token_expiry_by_clock_and_by_knob(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    first = await login(session, sim)
    sim.advance(1801)
    status, body = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/refresh-token",
        body={"refresh_token": first["refresh_token"]},
    )
    assert (status, body["message"]) == (400, "Refresh token expired")

    second = await login(session, sim)
    sim.expire_refresh_tokens()
    status, body = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/refresh-token",
        body={"refresh_token": second["refresh_token"]},
    )
    assert (status, body["message"]) == (400, "Refresh token expired")
    # A fresh login gets a working refresh token again.
    third = await login(session, sim)
    status, _ = await call(
        session,
        sim,
        "POST",
        "/homely/oauth/refresh-token",
        body={"refresh_token": third["refresh_token"]},
    )
    assert status == 200
    assert (sim.logins, sim.refreshes) == (3, 1)


async def test_custom_token_lifetimes(socket_enabled: None) -> None:
    sim = HomelySimulator(
        username="a@b.example", password="pw", access_token_lifetime=5, refresh_token_lifetime=9
    )
    await sim.start()
    try:
        async with aiohttp.ClientSession() as session:
            status, body = await call(
                session,
                sim,
                "POST",
                "/homely/oauth/token",
                body={"username": "a@b.example", "password": "pw"},
            )
            assert status == 200
            assert (body["expires_in"], body["refresh_expires_in"]) == (5, 9)
            sim.advance(4.5)
            status, _ = await call(
                session, sim, "GET", "/homely/locations", token=body["access_token"]
            )
            assert status == 200
            sim.advance(1)
            status, _ = await call(
                session, sim, "GET", "/homely/locations", token=body["access_token"]
            )
            assert status == 401
    finally:
        await sim.stop()


# ---------------------------------------------------------------------------- REST: data


async def test_locations(sim: HomelySimulator, session: aiohttp.ClientSession) -> None:
    token = (await login(session, sim))["access_token"]
    status, body = await call(session, sim, "GET", "/homely/locations", token=token)
    assert status == 200
    assert [item["locationId"] for item in body] == [LOCATION_ID, CABIN_LOCATION_ID]
    assert body[0] == {
        "name": "Demo Home",
        "role": "OWNER",
        "userId": USER_ID,
        "locationId": LOCATION_ID,
        "gatewayserial": GATEWAY_SERIAL,
    }
    assert sim.requests[-1].authorization == f"Bearer {token}"


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc", "Bearer "])
async def test_unauthorized_requests(
    sim: HomelySimulator, session: aiohttp.ClientSession, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/homely/locations", f"/homely/home/{LOCATION_ID}"):
        async with session.get(f"{sim.base_url}{path}", headers=headers) as response:
            assert response.status == 401
            assert await response.json() == {"statusCode": 401, "message": "Unauthorized"}


async def test_home_has_every_model_with_the_reference_layout(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    status, home = await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    assert status == 200
    assert home["locationId"] == LOCATION_ID
    assert home["gatewayserial"] == GATEWAY_SERIAL
    assert home["alarmState"] == "DISARMED"
    assert home["userRoleAtLocation"] == "OWNER"
    devices = {device["id"]: device for device in home["devices"]}
    models = {device["modelName"] for device in home["devices"]}
    assert models == {
        "Motion Sensor Mini",
        "Alarm Motion Sensor 2",
        "Window Sensor",
        "Alarm Entry Sensor 2",
        "Intelligent Smoke Alarm",
        "Flood Alarm",
        "EMI Norwegian HAN",
        "ELKO Super TR",
        "Yale Doorman V2N",
    }

    def layout(device_id: str) -> dict[str, set[str]]:
        features = devices[device_id]["features"]
        return {name: set(feature["states"]) for name, feature in features.items()}

    diagnostic = {"networklinkstrength", "networklinkaddress"}
    assert layout(MOTION_ID) == {
        "alarm": {"alarm", "tamper"},
        "temperature": {"temperature"},
        "battery": {"low", "defect", "voltage"},
        "diagnostic": diagnostic,
    }
    assert layout(ENTRY_ID) == layout(MOTION_ID)
    assert layout(SMOKE_ID) == {
        "alarm": {"fire"},
        "temperature": {"temperature"},
        "battery": {"low", "voltage"},
        "diagnostic": diagnostic,
    }
    assert layout(FLOOD_ID)["alarm"] == {"flood"}
    assert layout(HAN_ID) == {
        "metering": {"summationdelivered", "summationreceived", "demand", "check"},
        "diagnostic": diagnostic,
    }
    assert layout(LOCK_ID) == {
        "lock": {"state", "autorelocktime", "soundvolume"},
        "report": {"locked", "doorclosed", "lowbat"},
    }
    thermostat = devices[THERMOSTAT_ID]["features"]["thermostat"]["states"]
    assert thermostat["LocalTemperature"]["value"] == 2150
    assert thermostat["OccupiedHeatingSetpoint"]["value"] == 2200
    assert thermostat["AbsMaxHeatSetpointLimit"]["value"] == 40
    assert thermostat["mf407"] == {"value": None, "lastUpdated": None}
    assert devices[MOTION_ID]["location"] == "Floor 1 - Entrance"
    for device in home["devices"]:
        assert re.fullmatch(r"[0-9A-F]{16}", device["serialNumber"])
        assert device["online"] is True
        for feature in device["features"].values():
            for entry in feature["states"].values():
                assert entry["lastUpdated"] is None or STAMP.match(entry["lastUpdated"])

    status, cabin = await call(
        session, sim, "GET", f"/homely/home/{CABIN_LOCATION_ID}", token=token
    )
    assert status == 200
    assert [device["id"] for device in cabin["devices"]] == [CABIN_ENTRY_ID]
    assert cabin["devices"][0]["modelName"] == "Window Sensor"


async def test_home_of_an_unknown_location_is_forbidden(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    status, body = await call(session, sim, "GET", f"/homely/home/{UNKNOWN_UUID}", token=token)
    assert (status, body) == (
        403,
        {
            "statusCode": 403,
            "message": f"User {USER_ID} has no access to location {UNKNOWN_UUID}",
        },
    )


async def test_access_token_expiry(sim: HomelySimulator, session: aiohttp.ClientSession) -> None:
    token = (await login(session, sim))["access_token"]
    sim.advance(59)
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 200
    sim.advance(1)
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 401
    token = (await login(session, sim))["access_token"]
    await sim.expire_access_tokens()
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 401


async def test_device_knobs_change_rest_state(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    sim.set_online(FLOOD_ID, False)
    new_id = sim.add_device(
        CABIN_LOCATION_ID, "Intelligent Smoke Alarm", name="Cabin smoke", location="Loft"
    )
    plain_id = sim.add_device(CABIN_LOCATION_ID, "Flood Alarm")
    sim.remove_device(MOTION_ID)
    _, home = await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    _, cabin = await call(session, sim, "GET", f"/homely/home/{CABIN_LOCATION_ID}", token=token)
    home_devices = {device["id"]: device for device in home["devices"]}
    cabin_devices = {device["id"]: device for device in cabin["devices"]}
    assert MOTION_ID not in home_devices
    assert home_devices[FLOOD_ID]["online"] is False
    assert cabin_devices[new_id]["name"] == "Cabin smoke"
    assert cabin_devices[new_id]["location"] == "Loft"
    assert set(cabin_devices[new_id]["features"]["alarm"]["states"]) == {"fire"}
    assert cabin_devices[plain_id]["name"] == "Flood Alarm"
    assert cabin_devices[plain_id]["serialNumber"] != cabin_devices[new_id]["serialNumber"]
    with pytest.raises(ValueError, match="Unknown Homely model"):
        sim.add_device(LOCATION_ID, "Toaster")
    with pytest.raises(KeyError):
        sim.remove_device(MOTION_ID)
    with pytest.raises(KeyError):
        sim.set_online("nope", True)


async def test_state_changes_without_sockets_update_rest(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    await sim.change_device(
        ENTRY_ID, "alarm", "alarm", True, last_updated="2026-03-01T10:00:00.000Z"
    )
    await sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    start = sim.state(HAN_ID, "metering", "summationdelivered")
    await sim.tick_meter(HAN_ID)
    token = (await login(session, sim))["access_token"]
    _, home = await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    devices = {device["id"]: device for device in home["devices"]}
    assert devices[ENTRY_ID]["features"]["alarm"]["states"]["alarm"] == {
        "value": True,
        "lastUpdated": "2026-03-01T10:00:00.000Z",
    }
    assert home["alarmState"] == "ARMED_AWAY"
    metering = devices[HAN_ID]["features"]["metering"]["states"]
    assert metering["summationdelivered"]["value"] == start + 10
    assert STAMP.match(metering["summationdelivered"]["lastUpdated"])
    with pytest.raises(KeyError):
        await sim.change_device(ENTRY_ID, "alarm", "fire", True)
    with pytest.raises(KeyError):
        await sim.change_device("nope", "alarm", "alarm", True)


async def test_a_change_the_live_service_does_not_stream(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    token = (await login(session, sim))["access_token"]
    home = await connected(sim, live, LOCATION_ID, token)
    await sim.change_device(ENTRY_ID, "alarm", "alarm", True, emit=False)
    await sim.change_device(MOTION_ID, "alarm", "alarm", True)
    # only the streamed change arrives; REST has both
    assert (await home.next_event())["data"]["deviceId"] == MOTION_ID
    assert home.events.empty()
    assert sim.state(ENTRY_ID, "alarm", "alarm") is True


# ---------------------------------------------------------------------------- REST: faults


async def test_rate_limit_hits_home_only_by_default(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    sim.rate_limit_next(2)
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 200
    for _ in range(2):
        async with session.get(
            f"{sim.base_url}/homely/home/{LOCATION_ID}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "4"
            assert await response.json() == {
                "statusCode": 429,
                "message": "Too Many Requests",
                "retryAfter": 4,
            }
    assert (await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token))[0] == 200
    assert sim.count(f"/homely/home/{LOCATION_ID}") == 3


async def test_rate_limit_any_path_with_fractional_retry(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    sim.rate_limit_next(retry_after=1.5, path=None)
    status, body = await call(session, sim, "POST", "/homely/oauth/token", body={})
    assert (status, body["retryAfter"]) == (429, 1.5)
    assert sim.logins == 0


async def test_rate_limit_without_a_hint(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    sim.rate_limit_next(retry_after=None)
    async with session.get(
        f"{sim.base_url}/homely/home/{LOCATION_ID}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 429
        assert "Retry-After" not in response.headers
        assert await response.json() == {"statusCode": 429, "message": "Too Many Requests"}


async def test_delay_next_counts_the_held_requests(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    sim.delay_next(seconds=0.2, path="/homely/locations")
    request = asyncio.ensure_future(call(session, sim, "GET", "/homely/locations", token=token))
    for _ in range(100):
        if sim.delayed:
            break
        await asyncio.sleep(0.01)
    assert (sim.delayed, sim.in_flight) == (1, 1)
    status, _ = await asyncio.wait_for(request, WAIT)
    assert (status, sim.delayed, sim.in_flight) == (200, 0, 0)


async def test_fail_next(sim: HomelySimulator, session: aiohttp.ClientSession) -> None:
    sim.fail_next()
    status, body = await call(session, sim, "GET", "/homely/locations")
    assert (status, body) == (500, {"statusCode": 500, "message": "Internal Server Error"})
    sim.fail_next(status=503, path="/homely/oauth/token")
    sim.fail_next(status=599)
    # The first matching fault wins: the token call gets 503, the locations call 599.
    status, body = await call(session, sim, "GET", "/homely/locations")
    assert (status, body["message"]) == (599, "Error")
    status, body = await call(session, sim, "POST", "/homely/oauth/token", body={})
    assert (status, body["message"]) == (503, "Service Unavailable")
    assert (await login(session, sim))["token_type"] == "bearer"


async def test_malformed_next(sim: HomelySimulator, session: aiohttp.ClientSession) -> None:
    token = (await login(session, sim))["access_token"]
    sim.malformed_next(path="/homely/home")
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 200
    async with session.get(
        f"{sim.base_url}/homely/home/{LOCATION_ID}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
        with pytest.raises(ValueError, match=r"."):
            await response.json()
    assert (await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token))[0] == 200


async def test_answer_next(sim: HomelySimulator, session: aiohttp.ClientSession) -> None:
    token = (await login(session, sim))["access_token"]
    sim.answer_next({"locationId": LOCATION_ID}, path="/homely/home")
    sim.answer_next(
        "<html>maintenance</html>",
        status=403,
        path="/homely/oauth/token",
        headers={"retry-after": "5"},
    )
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 200
    status, body = await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    assert (status, body) == (200, {"locationId": LOCATION_ID})
    async with session.post(f"{sim.base_url}/homely/oauth/token", json={}) as response:
        assert response.status == 403
        assert response.content_type == "text/html"
        assert await response.text() == "<html>maintenance</html>"
        assert ("retry-after", "5") in [
            (name.decode(), value.decode()) for name, value in response.raw_headers
        ]
    # once only: the next answers are the normal ones
    status, body = await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    assert len(body["devices"]) == 9
    assert (await login(session, sim))["token_type"] == "bearer"


async def test_hold_next_answers_with_the_state_of_the_request(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    token = (await login(session, sim))["access_token"]
    hold = sim.hold_next("/homely/home")
    request = asyncio.ensure_future(
        call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    )
    await asyncio.wait_for(hold.ready.wait(), WAIT)
    # other requests pass; the state changes after the answer was computed
    assert (await call(session, sim, "GET", "/homely/locations", token=token))[0] == 200
    await sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    assert not request.done()
    hold.release()
    status, body = await asyncio.wait_for(request, WAIT)
    assert (status, body["alarmState"]) == (200, "DISARMED")
    status, body = await call(session, sim, "GET", f"/homely/home/{LOCATION_ID}", token=token)
    assert body["alarmState"] == "ARMED_AWAY"


async def test_stop_releases_held_answers(socket_enabled: None) -> None:
    sim = HomelySimulator()
    await sim.start()
    async with aiohttp.ClientSession() as session:
        token = (await login(session, sim))["access_token"]
        hold = sim.hold_next()
        request = asyncio.ensure_future(call(session, sim, "GET", "/homely/locations", token=token))
        await asyncio.wait_for(hold.ready.wait(), WAIT)
        await sim.stop()
        status, _ = await asyncio.wait_for(request, WAIT)
        assert status == 200


async def test_unknown_paths_are_not_recorded(
    sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{sim.base_url}/other") as response:
        assert response.status == 404
    assert sim.requests == []


# ---------------------------------------------------------------------------- Socket.IO


async def test_live_events_reach_the_location(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    token = (await login(session, sim))["access_token"]
    home = await connected(sim, live, LOCATION_ID, token)
    cabin = await connected(sim, live, CABIN_LOCATION_ID, token)
    assert sim.connections(LOCATION_ID) == 1
    assert sim.connections(CABIN_LOCATION_ID) == 1
    assert sim.connect_log == [(LOCATION_ID, token), (CABIN_LOCATION_ID, token)]

    await sim.change_device(ENTRY_ID, "alarm", "alarm", True)
    payload = await home.next_event()
    assert payload["type"] == "device-state-changed"
    data = payload["data"]
    stamp = data["changes"][0]["lastUpdated"]
    assert STAMP.match(stamp)
    assert data == {
        "deviceId": ENTRY_ID,
        "gatewayId": GATEWAY_ID,
        "locationId": LOCATION_ID,
        "modelId": sim.device(ENTRY_ID)["modelId"],
        "rootLocationId": LOCATION_ID,
        "change": {"feature": "alarm", "stateName": "alarm", "value": True, "lastUpdated": stamp},
        "changes": [
            {"feature": "alarm", "stateName": "alarm", "value": True, "lastUpdated": stamp}
        ],
    }

    await sim.change_device(
        CABIN_ENTRY_ID, "temperature", "temperature", 4.5, location_id=UNKNOWN_UUID
    )
    data = (await cabin.next_event())["data"]
    assert (data["locationId"], data["rootLocationId"]) == (UNKNOWN_UUID, CABIN_LOCATION_ID)

    await sim.set_alarm_state(LOCATION_ID, "ARMED_NIGHT", user_name="Kari")
    payload = await home.next_event()
    assert payload["type"] == "alarm-state-changed"
    assert payload["data"]["state"] == "ARMED_NIGHT"
    assert payload["data"]["userName"] == "Kari"
    assert payload["data"]["userId"] == USER_ID
    assert STAMP.match(payload["data"]["timestamp"])

    before = sim.state(HAN_ID, "metering", "summationdelivered")
    await sim.tick_meter(HAN_ID, wh=25, demand=2300)
    changes = (await home.next_event())["data"]["changes"]
    assert [(c["stateName"], c["value"]) for c in changes] == [
        ("summationdelivered", before + 25),
        ("demand", 2300),
    ]

    await sim.emit_raw(LOCATION_ID, {"type": "mystery", "data": None})
    await sim.emit_raw(LOCATION_ID, "garbage")
    assert await home.next_event() == {"type": "mystery", "data": None}
    assert await home.next_event() == "garbage"
    # The cabin socket got its own event only.
    assert cabin.events.empty()
    assert sim.rejected_connects == 0


async def test_connect_without_token_is_refused(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    token = (await login(session, sim))["access_token"]
    for bad in (None, "not-a-token"):
        client = LiveClient()
        live.append(client)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(sim, LOCATION_ID, bad)
        assert client.connect_errors[-1] == {"message": "Invalid JWT"}
    # (The helper always sends the Authorization header too: a header alone is not enough.)
    client = LiveClient()
    live.append(client)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(sim, UNKNOWN_UUID, token)
    assert client.connect_errors[-1] == {
        "message": f"User {USER_ID} has no access to location {UNKNOWN_UUID}"
    }
    sim.advance(61)
    client = LiveClient()
    live.append(client)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(sim, LOCATION_ID, token)
    assert sim.rejected_connects == 4
    assert sim.connect_log == []
    assert sim.connections(LOCATION_ID) == 0


@pytest.mark.parametrize("location_id", ["home-1", None])
async def test_non_uuid_location_gets_exception_then_disconnect(
    sim: HomelySimulator,
    session: aiohttp.ClientSession,
    live: list[LiveClient],
    location_id: str | None,
) -> None:
    token = (await login(session, sim))["access_token"]
    client = LiveClient()
    live.append(client)
    await client.connect(sim, location_id, token)
    exception = await asyncio.wait_for(client.exceptions.get(), WAIT)
    assert exception["statusCode"] == 400
    assert "locationId" in exception["message"]
    await asyncio.wait_for(client.disconnected.wait(), WAIT)
    assert client.disconnect_reason == SERVER_DISCONNECT
    assert sim.rejected_connects == 1
    assert sim.connect_log == []


async def test_hold_next_socket_answers_the_connect_on_release(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    token = (await login(session, sim))["access_token"]
    hold = sim.hold_next_socket()
    client = LiveClient()
    live.append(client)
    attempt = asyncio.ensure_future(client.connect(sim, LOCATION_ID, token))
    await asyncio.wait_for(hold.ready.wait(), WAIT)
    assert not attempt.done()
    assert sim.connections(LOCATION_ID) == 0
    # the next connection is not held
    await connected(sim, live, CABIN_LOCATION_ID, token)
    hold.release()
    await asyncio.wait_for(attempt, WAIT)
    assert sim.connections(LOCATION_ID) == 1


async def test_server_side_disconnect(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    token = (await login(session, sim))["access_token"]
    home = await connected(sim, live, LOCATION_ID, token)
    cabin = await connected(sim, live, CABIN_LOCATION_ID, token)
    await sim.disconnect(LOCATION_ID)
    await asyncio.wait_for(home.disconnected.wait(), WAIT)
    assert home.disconnect_reason == SERVER_DISCONNECT
    assert sim.connections(LOCATION_ID) == 0
    assert sim.connections(CABIN_LOCATION_ID) == 1
    await sim.disconnect()
    await asyncio.wait_for(cabin.disconnected.wait(), WAIT)
    assert sim.connections(CABIN_LOCATION_ID) == 0


async def test_client_side_disconnect_is_tracked(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    token = (await login(session, sim))["access_token"]
    client = await connected(sim, live, LOCATION_ID, token)
    await client.client.disconnect()
    for _ in range(100):
        if sim.connections(LOCATION_ID) == 0:
            break
        await asyncio.sleep(0.01)
    assert sim.connections(LOCATION_ID) == 0


async def test_token_expiry_disconnects_live_sockets(
    sim: HomelySimulator, session: aiohttp.ClientSession, live: list[LiveClient]
) -> None:
    old = (await login(session, sim))["access_token"]
    first = await connected(sim, live, LOCATION_ID, old)
    sim.advance(30)
    new = (await login(session, sim))["access_token"]
    second = await connected(sim, live, LOCATION_ID, new)
    sim.advance(31)
    # Only the socket whose token ran out is dropped.
    assert await sim.enforce_token_expiry() == 1
    await asyncio.wait_for(first.disconnected.wait(), WAIT)
    assert first.disconnect_reason == SERVER_DISCONNECT
    assert not second.disconnected.is_set()
    assert sim.connections(LOCATION_ID) == 1
    await sim.expire_access_tokens()
    await asyncio.wait_for(second.disconnected.wait(), WAIT)
    assert sim.connections(LOCATION_ID) == 0


async def test_stop_closes_live_sockets_and_leaves_no_task(
    socket_enabled: None, live: list[LiveClient]
) -> None:
    before = asyncio.all_tasks()
    sim = HomelySimulator()
    await sim.start()
    async with aiohttp.ClientSession() as session:
        token = (await login(session, sim))["access_token"]
    client = await connected(sim, live, LOCATION_ID, token)
    kicked = await connected(sim, live, "not-a-uuid", token)
    await sim.stop()
    await asyncio.wait_for(client.disconnected.wait(), WAIT)
    await asyncio.wait_for(kicked.disconnected.wait(), WAIT)
    await client.close()
    await kicked.close()
    live.clear()
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()
    assert sim.connections(LOCATION_ID) == 0


def test_public_names() -> None:
    assert homely.DEMO_USERNAME == "demo@homely.example"
    assert homely.DEMO_PASSWORD == "homely-demo"
    assert homely.INVALID_JWT == "Invalid JWT"
    assert homely.REFRESH_EXPIRED == "Refresh token expired"
    for name in homely.__all__:
        assert hasattr(homely, name)


async def test_restart_on_the_same_port_keeps_state(
    socket_enabled: None, live: list[LiveClient]
) -> None:
    sim = HomelySimulator()
    await sim.start()
    try:
        url = sim.base_url
        async with aiohttp.ClientSession() as session:
            token = (await login(session, sim))["access_token"]
            client = await connected(sim, live, LOCATION_ID, token)
            await sim.stop()
            await asyncio.wait_for(client.disconnected.wait(), WAIT)
            await sim.start(port=int(url.rsplit(":", 1)[1]))
            assert sim.base_url == url
            status, _ = await call(session, sim, "GET", "/homely/locations", token=token)
            assert status == 200
            again = await connected(sim, live, LOCATION_ID, token)
            await sim.set_alarm_state(LOCATION_ID, "BREACHED")
            assert (await again.next_event())["data"]["state"] == "BREACHED"
    finally:
        for client in live:
            await client.close()
        live.clear()
        await sim.stop()
