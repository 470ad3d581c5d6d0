"""Tests of the realtime WebSocket client against the simulator and scripted servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.velux_homely.api.errors import AuthenticationError, RateLimitedError
from custom_components.velux_homely.api.netatmo import APP_VERSION, NetatmoClient
from custom_components.velux_homely.api.netatmo_realtime import (
    VELUX_ACTIVE_WS_URL,
    NetatmoRealtimeClient,
    RealtimeEvent,
    RefreshHint,
    StateUpdate,
    parse_event,
    ws_url_for,
)
from simulator.velux import (
    BEDROOM_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    SHUTTER_ID,
    WINDOW_ID,
    VeluxSimulator,
)


async def until(condition: Callable[[], bool], within: float = 3.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polls state of another task
            await asyncio.sleep(0.002)


class Owner:
    """Collects what the realtime client hands over."""

    def __init__(self) -> None:
        self.events: list[RealtimeEvent] = []
        self.connected = 0
        self.disconnected: list[str] = []

    def on_event(self, event: RealtimeEvent) -> None:
        self.events.append(event)

    def on_connected(self) -> None:
        self.connected += 1

    def on_disconnected(self, reason: str) -> None:
        self.disconnected.append(reason)


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


@pytest.fixture
def api(sim: VeluxSimulator, session: aiohttp.ClientSession) -> NetatmoClient:
    return NetatmoClient(
        session, base_url=sim.base_url, username=DEMO_USERNAME, password=DEMO_PASSWORD
    )


@contextlib.asynccontextmanager
async def running(client: NetatmoRealtimeClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        await client.stop()
        await asyncio.wait_for(task, 3)


def make(
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    api: NetatmoClient,
    owner: Owner,
    **kwargs: Any,
) -> NetatmoRealtimeClient:
    options: dict[str, Any] = {
        "backoff_initial": 0.02,
        "backoff_max": 0.2,
        "heartbeat": 5.0,
        "connect_timeout": 2.0,
        "invalidate_access_token": api.async_invalidate_access_token,
    }
    options.update(kwargs)
    return NetatmoRealtimeClient(
        session,
        sim.ws_url,
        api.async_get_access_token,
        owner.on_event,
        owner.on_connected,
        owner.on_disconnected,
        **options,
    )


# ------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://app.velux-active.com", VELUX_ACTIVE_WS_URL),
        ("https://app.velux-active.com/", "wss://app.velux-active.com/ws/"),
        ("http://127.0.0.1:8701", "ws://127.0.0.1:8701/ws/"),
        (" HTTPS://host:8443/api/x ", "wss://host:8443/ws/"),
        ("ws://h", "ws://h/ws/"),
    ],
)
def test_ws_url_for(base_url: str, expected: str) -> None:
    assert ws_url_for(base_url) == expected


@pytest.mark.parametrize("base_url", ["ftp://host", "host:80", "https://", ""])
def test_ws_url_for_refuses(base_url: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        ws_url_for(base_url)


def test_parse_event_shapes() -> None:
    home = {
        "id": "h",
        "modules": [{"id": "m", "target_position": 5}, {"no": "id"}, "x", {"id": ""}],
        "rooms": [{"id": "r", "co2": 700}],
    }
    update = StateUpdate(
        "h", {"m": {"id": "m", "target_position": 5}}, {"r": {"id": "r", "co2": 700}}
    )
    assert parse_event({"push_type": "embedded_json", "extra_params": {"home": home}}) == update
    assert parse_event({"extra_params": json.dumps({"home": home})}) == update
    assert parse_event({"extra_params": {"home": {"id": "h", "rooms": [{"id": "r"}]}}}) == (
        StateUpdate("h", {}, {"r": {"id": "r"}})
    )
    # Something that only names a home is a hint to poll it.
    assert parse_event({"extra_params": {"home_id": "h"}}) == RefreshHint("h")
    assert parse_event({"extra_params": '{"home_id": "h"}'}) == RefreshHint("h")
    assert parse_event({"extra_params": {"home": {"id": "h"}}}) == RefreshHint("h")
    assert parse_event({"extra_params": {"home": {"id": "h", "modules": []}}}) == RefreshHint("h")
    assert parse_event({"push_type": "x", "home_id": "h"}) == RefreshHint("h")
    assert parse_event({"extra_params": "{broken", "home": {"id": "h"}}) == RefreshHint("h")
    # Unknown shapes.
    message: object
    for message in (
        None,
        [],
        "text",
        {},
        {"push_type": "embedded_json"},
        {"extra_params": "{broken"},
        {"extra_params": {"home": {"id": 5}}},
        {"extra_params": {"home_id": ""}},
        {"extra_params": 7},
    ):
        assert parse_event(message) is None, message


# ------------------------------------------------------------------ against the sim


async def test_subscribe_and_state_events(
    sim: VeluxSimulator, session: aiohttp.ClientSession, api: NetatmoClient
) -> None:
    owner = Owner()
    client = make(sim, session, api, owner)
    assert not client.connected
    async with running(client):
        await until(lambda: client.connected)
        token = api.token
        assert token is not None
        assert sim.ws_messages == [
            {
                "action": "Subscribe",
                "filter": "silent",
                "access_token": token["access_token"],
                "app_type": "app_velux",
                "platform": "Android",
                "version": APP_VERSION,
            }
        ]
        assert owner.connected == 1
        sim.set_position(SHUTTER_ID, 30)
        sim.set_room_climate(BEDROOM_ID, co2=900)
        sim.ws_extra_params_as_string = True
        sim.set_raining(HOME_ID, True)
        sim.ws_unknown_layout = True
        sim.set_position(WINDOW_ID, 0)  # unchanged: no event
        sim.set_status(GATEWAY_ID, wifi_strength=90)
        await until(lambda: len(owner.events) == 4)
        assert owner.events == [
            StateUpdate(
                HOME_ID,
                {SHUTTER_ID: {"id": SHUTTER_ID, "current_position": 30, "target_position": 30}},
                {},
            ),
            StateUpdate(HOME_ID, {}, {BEDROOM_ID: {"id": BEDROOM_ID, "co2": 900}}),
            StateUpdate(HOME_ID, {GATEWAY_ID: {"id": GATEWAY_ID, "is_raining": True}}, {}),
            RefreshHint(HOME_ID),
        ]
        assert client.events == 4
    assert not client.connected
    assert owner.disconnected == []  # a stop is not a disconnection to report
    assert sim.ws_subscribers == 0


async def test_unknown_messages_are_counted_not_dropped_silently(
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    api: NetatmoClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = Owner()
    client = make(sim, session, api, owner)
    async with running(client):
        await until(lambda: client.connected)
        await sim.ws_send_raw({"push_type": "something_else", "extra_params": {"x": 1}})
        await sim.ws_send_raw("not json")
        await sim.ws_send_raw({"status": "ok"})  # a late status is not an event
        await sim.ws_send_raw({"extra_params": {"home_id": HOME_ID}})
        await until(lambda: len(owner.events) == 1)
    assert owner.events == [RefreshHint(HOME_ID)]
    assert client.ignored_events == 2
    assert "unknown shape ['extra_params', 'push_type']" in caplog.text
    assert client.diagnostics()["ignored_events"] == 2


async def test_reconnects_after_a_drop_with_a_fresh_token(
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    api: NetatmoClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = Owner()
    client = make(sim, session, api, owner)
    async with running(client):
        await until(lambda: client.connected)
        first = sim.ws_messages[-1]["access_token"]
        # The server drops the connection and the token expired meanwhile.
        sim.expire_access_tokens()
        await sim.ws_disconnect()
        await until(lambda: owner.connected == 2)
        assert owner.disconnected == ["closed (code 1001)"]
        tokens = [message["access_token"] for message in sim.ws_messages]
        # The expired token is refused (code 3), invalidated, refreshed, and accepted.
        assert tokens == [first, first, tokens[-1]]
        assert tokens[-1] != first
        assert client.refusals == 1
        assert sim.refresh_logins == 1
        assert (client.attempts, client.connects) == (3, 2)
        # A dropped TCP connection (no close frame) is a disconnection too.
        await sim.ws_disconnect(abort=True)
        await until(lambda: owner.connected == 3)
        assert len(owner.disconnected) == 2
    for message in sim.ws_messages:
        assert message["access_token"] not in caplog.text
        assert message["access_token"].split("|")[-1] not in caplog.text


async def test_backoff_grows_is_capped_and_resets_after_a_stable_connection(
    sim: VeluxSimulator, session: aiohttp.ClientSession, api: NetatmoClient
) -> None:
    now = [1000.0]
    owner = Owner()
    client = make(
        sim,
        session,
        api,
        owner,
        backoff_initial=0.05,
        backoff_max=0.2,
        stable_after=60,
        clock=lambda: now[0],
    )
    sim.ws_refuse_subscriptions = True
    delays: list[float] = []

    def record() -> bool:
        if client.next_delay is not None and (not delays or delays[-1] != client.next_delay):
            delays.append(client.next_delay)
        elif client.next_delay is None and delays and delays[-1] != 0:
            delays.append(0)
        return client.refusals >= 5

    async with running(client):
        await until(record)
        grown = [d for d in delays if d]
        assert grown[:4] == [0.05, 0.1, 0.2, 0.2]
        assert set(grown[4:]) <= {0.2}
        assert client.last_error == "Subscribe refused: status 'error', code 500"
        sim.ws_refuse_subscriptions = False
        await until(lambda: client.connected)
        # A connection that did not live long keeps the grown backoff ...
        await sim.ws_disconnect()
        await until(lambda: client.next_delay is not None)
        assert client.next_delay == 0.2
        await until(lambda: client.connected)
        # ... one that lived stable_after seconds resets it.
        now[0] += 61
        await sim.ws_disconnect()
        await until(lambda: client.next_delay is not None)
        assert client.next_delay == 0.05


async def test_stalled_stream_is_detected_by_the_heartbeat(
    sim: VeluxSimulator, session: aiohttp.ClientSession, api: NetatmoClient
) -> None:
    owner = Owner()
    client = make(sim, session, api, owner, heartbeat=0.2, connect_timeout=0.3)
    async with running(client):
        await until(lambda: client.connected)
        sim.ws_stalled = True  # no pushes, no pongs, no replies
        await until(lambda: bool(owner.disconnected), within=3)
        assert owner.disconnected[0].startswith("error")
        # While stalled, Subscribe gets no answer.
        await until(lambda: client.last_error == "No answer to Subscribe", within=3)
        sim.ws_stalled = False
        await until(lambda: owner.connected == 2, within=3)


async def test_handshake_and_connection_failures(
    sim: VeluxSimulator, session: aiohttp.ClientSession, api: NetatmoClient
) -> None:
    owner = Owner()
    sim.fail_next(path="/ws/", status=503)
    client = make(sim, session, api, owner)
    async with running(client):
        await until(lambda: client.connected)
    assert client.attempts == 2
    assert client.last_error == "Handshake refused: HTTP 503"
    # Nobody listens: "Cannot connect", and stop() ends the backoff at once.
    dead = NetatmoRealtimeClient(
        session,
        "ws://127.0.0.1:1/ws/",
        api.async_get_access_token,
        owner.on_event,
        backoff_initial=30,
    )
    async with running(dead):
        await until(lambda: dead.next_delay is not None)
    assert dead.last_error == "Cannot connect: ClientConnectorError"
    assert dead.stopping


async def test_stop_while_waiting_for_the_subscribe_reply(
    sim: VeluxSimulator, session: aiohttp.ClientSession, api: NetatmoClient
) -> None:
    sim.ws_stalled = True
    client = make(sim, session, api, Owner(), connect_timeout=30)
    async with running(client) as task:
        await until(lambda: client.attempts == 1 and sim.ws_connections == 1)
        await asyncio.sleep(0.05)
    assert task.done()
    assert not client.connected


async def test_credentials_refused_ends_the_loop(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    async def refused() -> str:
        raise AuthenticationError("no")

    client = NetatmoRealtimeClient(session, sim.ws_url, refused, Owner().on_event)
    await asyncio.wait_for(client.run(), 2)
    assert client.last_error == "authentication failed"
    assert sim.ws_connections == 0


async def test_rate_limited_token_waits_at_least_retry_after(
    sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    async def limited() -> str:
        raise RateLimitedError("slow down", retry_after=1.5)

    client = NetatmoRealtimeClient(
        session, sim.ws_url, limited, Owner().on_event, backoff_initial=0.01
    )
    async with running(client):
        await until(lambda: client.next_delay is not None)
        assert client.next_delay == 1.5
        assert client.last_error == "rate limited"


async def test_a_failing_event_handler_does_not_end_the_stream(
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    api: NetatmoClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[RealtimeEvent] = []

    def handler(event: RealtimeEvent) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise RuntimeError("boom")

    client = NetatmoRealtimeClient(session, sim.ws_url, api.async_get_access_token, handler)
    async with running(client):
        await until(lambda: client.connected)
        sim.set_position(SHUTTER_ID, 10)
        sim.set_position(SHUTTER_ID, 20)
        await until(lambda: len(seen) == 2)
        assert client.connected
    assert "Error while handling a realtime event" in caplog.text
    assert set(client.diagnostics()) == {
        "url",
        "connected",
        "attempts",
        "connects",
        "refusals",
        "events",
        "ignored_events",
        "last_error",
        "last_disconnect_reason",
        "next_delay",
    }
    assert client.diagnostics()["url"] == sim.ws_url


# ------------------------------------------------------------------- scripted server

type Handler = Callable[[web.WebSocketResponse], Awaitable[None]]


@contextlib.asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[str]:
    async def endpoint(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # the Subscribe
        await handler(ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws/", endpoint)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}/ws/"
    finally:
        await runner.cleanup()


async def test_events_before_the_status_and_odd_messages(session: aiohttp.ClientSession) -> None:
    async def handler(ws: web.WebSocketResponse) -> None:
        await ws.send_json({"extra_params": {"home_id": "early"}})
        await ws.send_json({"status": "ok"})
        await ws.send_bytes(b"\x00")
        await ws.send_json({"extra_params": {"home_id": "late"}})
        await ws.close(code=4000)

    owner = Owner()
    async with scripted(handler) as url:

        async def token() -> str:
            return "secret-token"

        client = NetatmoRealtimeClient(
            session, url, token, owner.on_event, None, owner.on_disconnected, backoff_initial=5
        )
        async with running(client):
            await until(lambda: client.last_disconnect_reason is not None)
    assert owner.events == [RefreshHint("early"), RefreshHint("late")]
    assert client.ignored_events == 1  # the binary message
    assert client.last_disconnect_reason == "closed (code 4000)"
    assert owner.disconnected == ["closed (code 4000)"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"status": "failed"}, "Subscribe refused: status 'failed'"),
        ({"status": "error", "error": {"code": True}}, "Subscribe refused: status 'error'"),
        (None, "Closed before the Subscribe reply (CLOSE)"),
    ],
)
async def test_subscribe_failures(
    session: aiohttp.ClientSession, socket_enabled: None, reply: Any, error: str
) -> None:
    invalidated: list[str] = []

    async def handler(ws: web.WebSocketResponse) -> None:
        if reply is not None:
            await ws.send_json(reply)
        await ws.close()

    async def token() -> str:
        return "t"

    async def invalidate(value: str) -> None:
        invalidated.append(value)

    async with scripted(handler) as url:
        client = NetatmoRealtimeClient(
            session,
            url,
            token,
            Owner().on_event,
            backoff_initial=5,
            invalidate_access_token=invalidate,
        )
        async with running(client):
            await until(lambda: client.next_delay is not None)
    assert client.last_error == error
    assert client.connects == 0
    assert invalidated == []  # only token codes invalidate the token
