"""The Homely live client against the simulator's Socket.IO server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from custom_components.velux_homely.api.errors import AuthenticationError
from custom_components.velux_homely.api.homely import HomelyClient
from custom_components.velux_homely.api.homely_models import (
    AlarmStateChanged,
    DeviceStateChanged,
    HomelyEvent,
)
from custom_components.velux_homely.api.homely_socket import HomelyLiveClient, redact
from simulator.homely import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    LOCATION_ID,
    MOTION_ID,
    HomelySimulator,
)

REFRESH = "/homely/oauth/refresh-token"


class Harness:
    """A live client plus what its callbacks saw."""

    def __init__(self, session: aiohttp.ClientSession, sim: HomelySimulator, **kwargs: Any):
        self.sim = sim
        self.client = HomelyClient(session, DEMO_USERNAME, DEMO_PASSWORD, base_url=sim.base_url)
        self.events: list[tuple[str, HomelyEvent]] = []
        self.connected: list[str] = []
        self.disconnected: list[tuple[str, str]] = []
        self.auth_failed: list[AuthenticationError] = []
        options: dict[str, Any] = {
            "backoff_initial": 0.01,
            "backoff_max": 0.04,
            "connect_timeout": 2.0,
            **kwargs,
        }
        self.live = HomelyLiveClient(
            session,
            self.client,
            LOCATION_ID,
            on_event=lambda loc, event: self.events.append((loc, event)),
            on_connected=self.connected.append,
            on_disconnected=lambda loc, reason: self.disconnected.append((loc, reason)),
            on_auth_failed=self.auth_failed.append,
            **options,
        )
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.live.run())

    async def stop(self) -> None:
        await self.live.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 3)


async def wait_for(predicate: Callable[[], bool], limit: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def connected_times(harness: Harness, count: int) -> Callable[[], bool]:
    """Return a predicate for :func:`wait_for`: ``harness`` has seen ``count`` connections."""
    return lambda: len(harness.connected) == count


@pytest.fixture
async def session(socket_enabled: Any) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def harness(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> AsyncIterator[Harness]:
    live = Harness(session, homely_sim)
    live.start()
    await wait_for(lambda: live.live.connected)
    yield live
    await live.stop()


def test_url_has_only_location_and_token() -> None:
    client = HomelyClient(None, "u", "p", base_url="https://sdk.example")  # type: ignore[arg-type]
    live = HomelyLiveClient(
        None,  # type: ignore[arg-type]
        client,
        LOCATION_ID,
        on_event=lambda loc, event: None,
        on_connected=lambda loc: None,
    )
    url = live.url("a.b/c+d")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://sdk.example"
    assert parse_qs(parts.query) == {"locationId": [LOCATION_ID], "token": ["Bearer a.b/c+d"]}
    assert "a.b/c+d" not in redact(url)
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"


async def test_events_are_dispatched(harness: Harness, homely_sim: HomelySimulator) -> None:
    assert harness.connected == [LOCATION_ID]
    assert homely_sim.connections(LOCATION_ID) == 1
    token = harness.client._tokens.access_token  # type: ignore[union-attr]
    assert homely_sim.connect_log == [(LOCATION_ID, token)]

    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await wait_for(lambda: len(harness.events) == 2)
    device_event = harness.events[0][1]
    assert isinstance(device_event, DeviceStateChanged)
    assert device_event.device_id == MOTION_ID
    assert device_event.changes[0].value is True
    alarm_event = harness.events[1][1]
    assert isinstance(alarm_event, AlarmStateChanged)
    assert (alarm_event.state, alarm_event.user_name) == ("ARMED_AWAY", "Kari")
    assert harness.live.diagnostics()["events"] == 2


async def test_unknown_and_malformed_messages_are_ignored(
    harness: Harness, homely_sim: HomelySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.velux_homely")
    await homely_sim.emit_raw(LOCATION_ID, {"type": "device-added", "data": {}})
    await homely_sim.emit_raw(LOCATION_ID, {"type": "device-state-changed", "data": {}})
    await homely_sim.emit_raw(LOCATION_ID, "garbage")
    await homely_sim.sio.emit("exception", {"message": "odd"})
    await homely_sim.set_alarm_state(LOCATION_ID, "DISARMED")
    await wait_for(lambda: len(harness.events) == 1)
    assert "unknown type 'device-added'" in caplog.text
    assert caplog.text.count("Ignoring malformed Homely event") == 2
    assert "Ignoring Socket.IO message 'exception'" in caplog.text
    assert harness.live.connected


async def test_a_failing_handler_does_not_kill_the_connection(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(session, homely_sim)

    def boom(location: str, event: HomelyEvent) -> None:
        raise RuntimeError("handler bug")

    harness.live._on_event = boom
    harness.start()
    try:
        await wait_for(lambda: harness.live.connected)
        await homely_sim.set_alarm_state(LOCATION_ID, "DISARMED")
        await wait_for(lambda: "Error while handling a Homely event" in caplog.text)
        assert harness.live.connected
    finally:
        await harness.stop()


async def test_server_disconnect_reconnects_with_a_fresh_token(
    harness: Harness, homely_sim: HomelySimulator
) -> None:
    first_token = homely_sim.connect_log[0][1]
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: len(harness.connected) == 2)
    assert harness.disconnected == [(LOCATION_ID, "server disconnect")]
    assert homely_sim.count(REFRESH) == 1
    assert len(homely_sim.connect_log) == 2
    assert homely_sim.connect_log[1][1] != first_token
    assert homely_sim.connections(LOCATION_ID) == 1
    assert harness.live.last_disconnect_reason == "server disconnect"


async def test_token_expiry_during_a_connection(
    harness: Harness, homely_sim: HomelySimulator
) -> None:
    await homely_sim.expire_access_tokens()
    await wait_for(lambda: len(harness.connected) == 2)
    assert homely_sim.count(REFRESH) == 1
    assert homely_sim.rejected_connects == 0
    assert homely_sim.connections(LOCATION_ID) == 1


async def test_refused_connect_is_retried_with_a_new_token(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    harness = Harness(session, homely_sim)
    # the client believes its token is valid; the server already expired it
    await harness.client.async_login()
    await homely_sim.expire_access_tokens()
    harness.start()
    try:
        await wait_for(lambda: harness.live.connected)
        assert homely_sim.rejected_connects == 1
        assert harness.live.attempts == 2
        assert homely_sim.count(REFRESH) == 1
        assert harness.live.last_error is not None
    finally:
        await harness.stop()


async def test_backoff_grows_and_is_capped(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.velux_homely")
    harness = Harness(session, homely_sim, backoff_initial=0.01, backoff_max=0.03)
    homely_sim.fail_next(4, status=503, path="/homely/oauth/token")
    harness.start()
    try:
        await wait_for(lambda: harness.live.connected)
    finally:
        await harness.stop()
    delays = re.findall(
        r"Reconnecting the Homely live connection of \S+ in ([\d.]+) s", caplog.text
    )
    assert delays == ["0.010", "0.020", "0.030", "0.030"]
    assert homely_sim.count("/homely/oauth/token") == 5


async def test_rate_limited_token_waits_retry_after(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    harness = Harness(session, homely_sim)
    homely_sim.rate_limit_next(1, retry_after=0.2, path="/homely/oauth/token")
    harness.start()
    try:
        await wait_for(lambda: harness.live.next_delay is not None)
        assert harness.live.next_delay == 0.2
        assert harness.live.last_error == "rate limited"
        await wait_for(lambda: harness.live.connected)
    finally:
        await harness.stop()


async def test_bad_credentials_stop_the_supervisor(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    harness = Harness(session, homely_sim)
    homely_sim.set_password("changed")
    harness.start()
    assert harness.task is not None
    await asyncio.wait_for(harness.task, 3)
    assert len(harness.auth_failed) == 1
    assert harness.live.last_error == "authentication failed"
    assert homely_sim.connect_log == []


async def test_stop_while_waiting_to_reconnect(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    harness = Harness(session, homely_sim, backoff_initial=30.0, backoff_max=60.0)
    harness.start()
    await wait_for(lambda: harness.live.connected)
    await homely_sim.disconnect(LOCATION_ID)
    await wait_for(lambda: harness.live.next_delay == 30.0)
    await harness.stop()
    assert harness.live.stopping
    assert len(homely_sim.connect_log) == 1


async def test_stop_ends_the_connection_without_reconnect(
    harness: Harness, homely_sim: HomelySimulator
) -> None:
    await harness.stop()
    assert homely_sim.connections(LOCATION_ID) == 0
    assert harness.disconnected == []
    assert len(homely_sim.connect_log) == 1
    assert not harness.live.diagnostics()["connected"]


async def test_stable_connection_resets_the_backoff(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    harness = Harness(
        session, homely_sim, stable_after=0.0, settled_after=0.0, backoff_initial=0.02
    )
    harness.start()
    try:
        for expected in (2, 3):
            await wait_for(lambda: harness.live.connected)
            await homely_sim.disconnect(LOCATION_ID)
            await wait_for(connected_times(harness, expected))
            assert harness.live.last_delay == 0.0  # a healthy connection: at once
    finally:
        await harness.stop()


async def test_unreachable_server(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    harness = Harness(session, homely_sim)
    await harness.client.async_login()
    await homely_sim.stop()
    harness.start()
    try:
        await wait_for(lambda: harness.live.attempts >= 2)
        assert not harness.live.connected
        assert harness.live.last_error
    finally:
        await harness.stop()


async def test_library_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    from custom_components.velux_homely.api import homely_socket

    homely_socket._install_log_filter()
    homely_socket._install_log_filter()
    logger = logging.getLogger("engineio.client")
    with caplog.at_level(logging.INFO, logger="engineio.client"):
        logger.info(
            "Attempting WebSocket connection to %s", "wss://x/?token=Bearer%20secret123&b=1"
        )
    assert "secret123" not in caplog.text
    assert "token=***" in caplog.text


def _slow_server_connect(sim: HomelySimulator, delay: float) -> asyncio.Event:
    """Make the server accept Socket.IO connections only after ``delay`` seconds.

    Return an event set once the server is done waiting (it answers the CONNECT then).
    """
    accept = sim._on_connect
    waited = asyncio.Event()

    async def slow(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        await asyncio.sleep(delay)
        waited.set()
        return await accept(sid, environ, auth)

    sim.sio.on("connect", handler=slow)
    return waited


@pytest.mark.parametrize(
    ("delay", "grace"),
    [
        (0.2, 5.0),
        pytest.param(
            1.5,
            0.05,
            marks=pytest.mark.xfail(
                strict=True,
                reason="cancelling the library's connect has no effect: stop() waits for "
                "the server's answer whatever the grace",
            ),
        ),
    ],
)
async def test_stop_while_connecting(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, delay: float, grace: float
) -> None:
    """Stop lets an attempt under way end within its grace, or gives up after the grace.

    Which one happened is told by the server (did it answer the attempt before the stop
    returned?), not by the wall clock: the bounds on the elapsed time only catch a stop
    that waited for the longer of the two, with a margin a busy machine does not eat.
    """
    answered = _slow_server_connect(homely_sim, delay)
    harness = Harness(session, homely_sim, stop_grace=grace)
    harness.start()
    await wait_for(lambda: harness.live._connect_task is not None)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await harness.stop()
    elapsed = loop.time() - started
    if delay < grace:
        assert answered.is_set()  # the attempt was let to end
        assert elapsed < grace
    else:
        assert not answered.is_set()  # the grace ran out first
        assert elapsed < delay
    await wait_for(lambda: homely_sim.connections(LOCATION_ID) == 0)
    await wait_for(answered.is_set, limit=delay + 5.0)
    await asyncio.sleep(0.1)
    assert homely_sim.connections(LOCATION_ID) == 0
    assert harness.connected == []


async def test_cancel_while_connecting(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    _slow_server_connect(homely_sim, 0.2)
    harness = Harness(session, homely_sim)
    harness.start()
    await wait_for(lambda: harness.live._connect_task is not None)
    assert harness.task is not None
    harness.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await harness.task
    await wait_for(lambda: homely_sim.connections(LOCATION_ID) == 0)
    assert harness.connected == []


async def test_a_connection_is_renewed_before_its_token_expires(
    session: aiohttp.ClientSession, socket_enabled: Any
) -> None:
    """Tokens live 3 s here; the server ends a socket whose token expired."""
    sim = HomelySimulator(access_token_lifetime=3, drop_at_token_expiry=True)
    await sim.start()
    harness = Harness(session, sim, rollover_lead=0.5)
    harness.start()
    try:
        await wait_for(lambda: harness.live.connected)
        most = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + 4.0
        while loop.time() < end:
            most = max(most, sim.connections(LOCATION_ID))
            await asyncio.sleep(0.01)
        assert harness.live.rollovers >= 2
        assert sim.expiry_drops == 0
        assert most <= 2
        await wait_for(lambda: sim.connections(LOCATION_ID) == 1)  # the overlap is short
        # one connection as far as the owner can tell: no reconnection, no resync needed
        assert harness.connected == [LOCATION_ID]
        assert harness.disconnected == []
        await sim.change_device(MOTION_ID, "alarm", "alarm", True)
        await wait_for(lambda: any(isinstance(e, DeviceStateChanged) for _, e in harness.events))
    finally:
        await harness.stop()
        await sim.stop()


async def test_short_lived_connections_back_off(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    """A server that ends every connection at once (rate limiting): no reconnection storm."""
    harness = Harness(session, homely_sim, stable_after=5.0, backoff_initial=0.02)
    harness.start()
    try:
        delays = []
        for expected in (2, 3, 4):
            await wait_for(lambda: harness.live.connected)
            await homely_sim.disconnect(LOCATION_ID)
            await wait_for(connected_times(harness, expected))
            delays.append(harness.live.last_delay)
        assert delays == [0.02, 0.04, 0.04]
    finally:
        await harness.stop()
