"""Tests of the simulator's realtime WebSocket, its state pushes and the movement options."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
from typing import Any

import aiohttp
import pytest

from simulator.velux import (
    BEDROOM_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    REALISTIC_TRAVEL_TIMES,
    SENSOR_ID,
    SHUTTER_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    SMALL_SHUTTER_ID,
    WINDOW_ID,
    VeluxSimulator,
)

HOME = HOME_ID


_OPEN: list[aiohttp.ClientWebSocketResponse] = []


async def connect(
    session: aiohttp.ClientSession, url: str, **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url, **kwargs)
    _OPEN.append(ws)
    return ws


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        try:
            yield client_session
        finally:
            while _OPEN:
                await _OPEN.pop().close()


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[VeluxSimulator]:
    simulator = VeluxSimulator(move_speed=10, epoch=1_700_000_000)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def login(session: aiohttp.ClientSession, sim: VeluxSimulator) -> str:
    form = {
        "grant_type": "password",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "user_prefix": "velux",
    }
    async with session.post(sim.base_url + "/oauth2/token", data=form) as resp:
        return str((await resp.json())["access_token"])


def subscribe_message(token: Any) -> dict[str, Any]:
    return {
        "action": "Subscribe",
        "filter": "silent",
        "access_token": token,
        "app_type": "app_velux",
        "platform": "Android",
        "version": "1.8.0",
    }


async def receive(ws: aiohttp.ClientWebSocketResponse, within: float = 2.0) -> aiohttp.WSMessage:
    return await asyncio.wait_for(ws.receive(), within)


async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    message = await receive(ws)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def subscribed(
    session: aiohttp.ClientSession, sim: VeluxSimulator, **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    token = await login(session, sim)
    ws = await connect(session, sim.ws_url, **kwargs)
    await ws.send_json(subscribe_message(token))
    assert await receive_json(ws) == {"status": "ok"}
    return ws


async def setstate(
    session: aiohttp.ClientSession, sim: VeluxSimulator, *entries: dict[str, Any]
) -> dict[str, Any]:
    token = await login(session, sim)
    async with session.post(
        sim.base_url + "/syncapi/v1/setstate",
        json={"home": {"id": HOME, "modules": list(entries)}},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        return dict(await resp.json())


def event(*modules: dict[str, Any], rooms: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    home: dict[str, Any] = {"id": HOME, "modules": list(modules)}
    if rooms is not None:
        home["rooms"] = rooms
    return {"push_type": "embedded_json", "extra_params": {"home": home}}


# ------------------------------------------------------------------ subscribing


async def test_subscribe_and_heartbeat(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    assert sim.ws_url == sim.base_url.replace("http://", "ws://") + "/ws/"
    token = await login(session, sim)
    ws = await connect(session, sim.ws_url, autoping=False)
    await ws.send_json(subscribe_message(token))
    assert await receive_json(ws) == {"status": "ok"}
    assert (sim.ws_connections, sim.ws_subscriptions, sim.ws_subscribers) == (1, 1, 1)
    assert sim.ws_messages == [subscribe_message(token)]
    # Heartbeats (WebSocket pings) are answered.
    await ws.ping(b"hb")
    message = await receive(ws)
    assert (message.type, message.data) == (aiohttp.WSMsgType.PONG, b"hb")
    # The WebSocket is not recorded as a REST request.
    assert [r.path for r in sim.requests] == ["/oauth2/token"]
    await ws.close()
    await sim.wait_for_ws_subscribers(0)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("bogus-token", 2),
        (None, 1),
        ("not json", 10),
        ({"action": "Unsubscribe"}, 10),
        (["Subscribe"], 10),
    ],
)
async def test_refused_subscriptions(
    sim: VeluxSimulator, session: aiohttp.ClientSession, message: Any, code: int
) -> None:
    ws = await connect(session, sim.ws_url)
    if message == "not json":
        await ws.send_str("not json")
    elif isinstance(message, dict | list):
        await ws.send_json(message)
    else:
        await ws.send_json(subscribe_message(message))
    reply = await receive_json(ws)
    assert reply["status"] == "error"
    assert reply["error"]["code"] == code
    closing = await receive(ws)
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1008
    assert (sim.ws_subscriptions, sim.ws_refused) == (0, 1)


async def test_expired_token_and_refuse_knob(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    token = await login(session, sim)
    sim.expire_access_tokens()
    ws = await connect(session, sim.ws_url)
    await ws.send_json(subscribe_message(token))
    assert (await receive_json(ws))["error"] == {"code": 3, "message": "Access token expired"}
    await ws.close()
    sim.ws_refuse_subscriptions = True
    ws = await connect(session, sim.ws_url)
    await ws.send_json(subscribe_message(await login(session, sim)))
    assert (await receive_json(ws))["error"]["code"] == 500
    assert (await receive(ws)).type == aiohttp.WSMsgType.CLOSE
    assert sim.ws_refused == 2
    # A later unknown message on a subscribed connection is answered but keeps it open.
    sim.ws_refuse_subscriptions = False
    ws = await subscribed(session, sim)
    await ws.send_json({"action": "Hello"})
    assert (await receive_json(ws))["status"] == "error"
    await ws.send_json(subscribe_message(await login(session, sim)))
    assert await receive_json(ws) == {"status": "ok"}
    assert sim.ws_subscriptions == 1  # the same connection subscribed once


# ----------------------------------------------------------------------- pushes


async def test_command_and_arrival_events(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await subscribed(session, sim)
    await setstate(session, sim, {"id": SHUTTER_ID, "bridge": GATEWAY_ID, "target_position": 40})
    # The command: the target and the gateway's busy flag (the moving position is left out).
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "busy": True}, {"id": SHUTTER_ID, "target_position": 40}
    )
    sim.advance(3)  # 100 -> 70: still moving, nothing to say
    sim.advance(3.1)  # arrived
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "busy": False}, {"id": SHUTTER_ID, "current_position": 40}
    )
    # Stopping mid-way is an event too.
    await setstate(session, sim, {"id": SHUTTER_ID, "target_position": 100})
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "busy": True}, {"id": SHUTTER_ID, "target_position": 100}
    )
    sim.advance(2)
    await setstate(session, sim, {"id": SHUTTER_ID, "target_position": -1})
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "busy": False},
        {"id": SHUTTER_ID, "current_position": 60, "target_position": 60},
    )
    assert sim.pushed_events[-1] == event(
        {"id": GATEWAY_ID, "busy": False},
        {"id": SHUTTER_ID, "current_position": 60, "target_position": 60},
    )


async def test_knob_events(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    sim.move_speed = 0
    ws = await subscribed(session, sim)
    sim.set_position(WINDOW_ID, 60)
    assert await receive_json(ws) == event(
        {"id": WINDOW_ID, "current_position": 60, "target_position": 60}
    )
    sim.set_raining(HOME, True)
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "is_raining": True},
        {"id": WINDOW_ID, "current_position": 5, "target_position": 5},
    )
    sim.set_room_climate(BEDROOM_ID, temperature=230)
    assert await receive_json(ws) == event(rooms=[{"id": BEDROOM_ID, "temperature": 230}])
    sim.set_battery(SENSOR_ID, 10)
    assert await receive_json(ws) == event(
        {
            "id": SENSOR_ID,
            "battery_percent": 10,
            "battery_level": 2340,
            "battery_state": "very_low",
        }
    )
    sim.set_status(GATEWAY_ID, wifi_strength=80)
    assert await receive_json(ws) == event({"id": GATEWAY_ID, "wifi_strength": 80})
    sim.set_reachable(SHUTTER_ID, False)
    assert await receive_json(ws) == event({"id": SHUTTER_ID, "reachable": False})
    # A change of another home names that home; nothing changed: nothing sent.
    sim.set_position(SMALL_SHUTTER_ID, 30)
    message = await receive_json(ws)
    assert message["extra_params"]["home"]["id"] == SMALL_HOME_ID
    assert message["extra_params"]["home"]["modules"][0]["id"] == SMALL_SHUTTER_ID
    count = len(sim.pushed_events)
    sim.set_status(GATEWAY_ID, wifi_strength=80)
    sim.advance(100)
    assert len(sim.pushed_events) == count
    # Silent / mode commands, a new bridge and a removed climate value.
    await setstate(session, sim, {"id": WINDOW_ID, "silent": True})
    assert await receive_json(ws) == event({"id": WINDOW_ID, "silent": True})
    sim.set_bridge(SMALL_SHUTTER_ID, SMALL_GATEWAY_ID)  # unchanged
    sim.set_room_climate(BEDROOM_ID, lux=None, co2=700)
    assert await receive_json(ws) == event(rooms=[{"id": BEDROOM_ID, "co2": 700}])
    sim.set_room_climate(BEDROOM_ID, lux=5)
    assert await receive_json(ws) == event(rooms=[{"id": BEDROOM_ID, "lux": 5}])


async def test_layout_knobs_and_raw_messages(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim.move_speed = 0
    ws = await subscribed(session, sim)
    sim.ws_extra_params_as_string = True
    sim.set_position(SHUTTER_ID, 10)
    message = await receive_json(ws)
    assert message["push_type"] == "embedded_json"
    assert isinstance(message["extra_params"], str)
    assert (
        json.loads(message["extra_params"])
        == event({"id": SHUTTER_ID, "current_position": 10, "target_position": 10})["extra_params"]
    )
    sim.ws_extra_params_as_string = False
    sim.ws_unknown_layout = True
    sim.set_position(SHUTTER_ID, 20)
    assert await receive_json(ws) == {
        "push_type": "embedded_json",
        "extra_params": {"home_id": HOME},
    }
    await sim.ws_send_raw({"push_type": "something_else"})
    assert await receive_json(ws) == {"push_type": "something_else"}
    await sim.ws_send_raw("plain text")
    assert (await receive(ws)).data == "plain text"


async def test_every_subscriber_gets_events_but_not_unsubscribed_ones(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim.move_speed = 0
    first = await subscribed(session, sim)
    second = await subscribed(session, sim)
    idle = await connect(session, sim.ws_url, autoping=False)
    sim.set_position(SHUTTER_ID, 10)
    expected = event({"id": SHUTTER_ID, "current_position": 10, "target_position": 10})
    assert await receive_json(first) == expected
    assert await receive_json(second) == expected
    await idle.ping(b"x")
    assert (await receive(idle)).type == aiohttp.WSMsgType.PONG  # no event came before
    assert (sim.ws_connections, sim.ws_subscriptions, sim.ws_subscribers) == (3, 2, 2)


async def test_paused_and_stalled_streams(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim.move_speed = 0
    ws = await subscribed(session, sim, autoping=False)
    sim.ws_push_paused = True
    sim.set_position(SHUTTER_ID, 10)
    assert len(sim.pushed_events) == 1  # published, not delivered
    await ws.ping(b"1")
    message = await receive(ws)
    assert (message.type, message.data) == (aiohttp.WSMsgType.PONG, b"1")
    sim.ws_push_paused = False
    sim.ws_stalled = True
    sim.set_position(SHUTTER_ID, 20)
    await ws.ping(b"2")
    await ws.send_json({"action": "Hello"})
    with pytest.raises(TimeoutError):
        await receive(ws, within=0.3)
    sim.ws_stalled = False
    sim.set_position(SHUTTER_ID, 30)
    assert await receive_json(ws) == event(
        {"id": SHUTTER_ID, "current_position": 30, "target_position": 30}
    )


@pytest.mark.parametrize("abort", [False, True])
async def test_server_side_disconnect(
    sim: VeluxSimulator, session: aiohttp.ClientSession, abort: bool
) -> None:
    ws = await subscribed(session, sim)
    assert await sim.ws_disconnect(abort=abort) == 1
    message = await receive(ws)
    if abort:
        assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    else:
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 1001)
    assert sim.ws_subscribers == 0
    assert await sim.ws_disconnect() == 0


async def test_faults_aimed_at_the_websocket(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(path="/ws/", status=503)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(session, sim.ws_url)
    assert err.value.status == 503
    # A fault for any path is left for the REST API.
    sim.fail_next(status=502)
    ws = await connect(session, sim.ws_url)
    await ws.close()
    async with session.post(sim.base_url + "/api/getuser") as resp:
        assert resp.status == 502


async def test_stop_closes_websockets(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    sim = VeluxSimulator()
    await sim.start()
    ws = await subscribed(session, sim)
    await sim.stop()
    assert (await receive(ws)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_realtime_arrivals(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    sim = VeluxSimulator(move_speed=100, realtime_arrivals=True)
    await sim.start()
    try:
        ws = await subscribed(session, sim)
        await setstate(session, sim, {"id": SHUTTER_ID, "target_position": 90})
        assert (await receive_json(ws))["extra_params"]["home"]["modules"][1] == {
            "id": SHUTTER_ID,
            "target_position": 90,
        }
        # 10 % at 100 %/s: the arrival comes after 0.1 s without any advance().
        assert await receive_json(ws) == event(
            {"id": GATEWAY_ID, "busy": False}, {"id": SHUTTER_ID, "current_position": 90}
        )
    finally:
        await sim.stop()


# -------------------------------------------------------------------- movements


def test_realistic_travel_times() -> None:
    sim = VeluxSimulator(realistic=True)
    assert sim.travel_times == REALISTIC_TRAVEL_TIMES
    assert all(20 <= seconds <= 60 for seconds in REALISTIC_TRAVEL_TIMES.values())
    assert sim.speed(WINDOW_ID) == pytest.approx(100 / 45)
    assert sim.speed(SHUTTER_ID) == pytest.approx(100 / 30)
    assert sim.speed(SENSOR_ID) == sim.move_speed  # not an opener type
    window = sim.module(WINDOW_ID)
    window.move_to(100, sim.now(), sim.speed(WINDOW_ID))
    sim.advance(22.5)
    assert sim.position(WINDOW_ID) == 50
    sim.advance(22.6)
    assert sim.position(WINDOW_ID) == 100
    custom = VeluxSimulator(travel_times={"shutter": 0, "window": 10})
    assert custom.speed(SHUTTER_ID) == 0  # instant
    assert custom.speed(WINDOW_ID) == 10
    # openers move like real ones by default; a speed of the tests' own wins
    assert VeluxSimulator().travel_times == REALISTIC_TRAVEL_TIMES
    assert VeluxSimulator(move_speed=20).travel_times == {}
    assert VeluxSimulator(realistic=False).speed(WINDOW_ID) == 20
    fixed = VeluxSimulator()
    fixed.move_speed = 0
    assert fixed.speed(WINDOW_ID) == 0


async def test_window_stops_short(sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    sim.sign_key = bytes(32)  # not needed: the window is opened through the model
    ws = await subscribed(session, sim)
    sim.stop_short(WINDOW_ID, 30)
    window = sim.module(WINDOW_ID)
    window.move_to(100, sim.now(), sim.speed(WINDOW_ID))
    sim.advance(2)
    assert sim.position(WINDOW_ID) == 20
    assert sim.target(WINDOW_ID) == 100
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "busy": True}, {"id": WINDOW_ID, "target_position": 100}
    )
    sim.advance(2)  # would be at 40: stopped at the obstacle
    assert await receive_json(ws) == event(
        {"id": GATEWAY_ID, "busy": False},
        {"id": WINDOW_ID, "current_position": 30, "target_position": 30},
    )
    assert (sim.position(WINDOW_ID), sim.target(WINDOW_ID)) == (30, 30)
    assert window.obstacle is None  # used up
    # An obstacle off the path does nothing; finish_movements honours one on the path.
    sim.stop_short(WINDOW_ID, 10)
    window.move_to(60, sim.now(), sim.speed(WINDOW_ID))
    sim.finish_movements()
    assert (sim.position(WINDOW_ID), sim.target(WINDOW_ID)) == (60, 60)
    window.move_to(0, sim.now(), sim.speed(WINDOW_ID))
    sim.finish_movements()
    assert (sim.position(WINDOW_ID), sim.target(WINDOW_ID)) == (10, 10)
    # Removing it before it is reached lets the movement go on.
    sim.stop_short(WINDOW_ID, 5)
    window.move_to(0, sim.now(), sim.speed(WINDOW_ID))
    sim.stop_short(WINDOW_ID, None)
    sim.advance(5)
    assert sim.position(WINDOW_ID) == 0
    # Rendering settles an obstacle even without advance().
    sim.stop_short(WINDOW_ID, 50)
    window.move_to(100, sim.now() - 10, sim.speed(WINDOW_ID))
    assert sim.target(WINDOW_ID) == 50
    assert window.arrival(0) is None
