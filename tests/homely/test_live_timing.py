"""Live connections on their real timing: backoffs of seconds to minutes, 60-s tokens.

The other Homely tests shrink the backoffs to hundredths of a second and move the clock a
minute at a time, which hides how often a connection is really attempted. These keep the
timing of a real installation (only the connect and shutdown timeouts stay short) and move
the clock a few seconds at a time, so that renewals ahead of token expiry happen as they
would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import cast

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.api.homely import HomelyClient
from custom_components.velux_homely.api.homely_socket import HomelyLiveClient
from custom_components.velux_homely.homely.const import LiveTiming
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    LOCATION_ID,
    MOTION_ID,
    HomelySimulator,
)

from .conftest import LOGIN, MOTION, REFRESH, Tick, all_live, runtime_of, shows, until

TOKEN_PATHS = (LOGIN, REFRESH)


def token_requests(sim: HomelySimulator) -> int:
    """Return how many requests the token endpoints got."""
    return sum(1 for request in sim.requests if request.path in TOKEN_PATHS)


def _connects(live: HomelyLiveClient, count: int) -> Callable[[], bool]:
    """Return a predicate for :func:`until`: ``live`` has connected ``count`` times."""
    return lambda: live.connects == count


async def run_for(tick: Tick, seconds: int, step: int = 1) -> None:
    """Move the clock ``seconds`` forward, ``step`` seconds at a time."""
    for _ in range(seconds // step):
        await tick(step)


async def test_ordinary_drops_between_renewals_reconnect_at_once(
    hass: HomeAssistant,
    real_timing: LiveTiming,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
) -> None:
    """A connection renewed every 45 s lives on: each drop is followed by a new one at once.

    (A session's life counts from its first connection, not from its latest renewal.)
    """
    homely_sim.drop_at_token_expiry = True
    live = runtime_of(loaded_entry).live.connections[LOCATION_ID]
    for drop in range(1, 7):
        await run_for(tick, 100)
        assert live.rollovers >= 2 * drop
        await homely_sim.disconnect(LOCATION_ID)
        # back without any time passing: no backoff
        await until(_connects(live, drop + 1), limit=5)
        await until(lambda: homely_sim.connections(LOCATION_ID) == 1, limit=5)
        on = drop % 2 == 1
        await homely_sim.change_device(MOTION_ID, "alarm", "alarm", on)
        await until(shows(hass, MOTION, "on" if on else "off"), limit=5)
    assert live.last_delay == 0.0
    assert homely_sim.expiry_drops == 0
    assert homely_sim.rejected_connects == 0


async def test_a_server_that_ends_every_connection_early_is_backed_off(
    hass: HomeAssistant,
    real_timing: LiveTiming,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
) -> None:
    """Each connection is ended 6 s after it opened: once at once, then ever later."""
    live = runtime_of(loaded_entry).live.connections[LOCATION_ID]
    await run_for(tick, 70)  # the first session has settled
    delays: list[float] = []
    for drop in range(1, 6):
        live.last_delay = None  # set again when the next attempt is decided
        await homely_sim.disconnect(LOCATION_ID)
        await until(lambda: live.last_delay is not None)
        # read again: mypy would keep the None assigned above over the awaits
        delay = cast("float | None", live.last_delay)
        assert delay is not None
        delays.append(delay)
        # wait for the new connection (moving the clock past the backoff), then 6 s more
        for _ in range(400):
            if live.connected and live.connects == drop + 1:
                break
            await tick(1)
        assert live.connects == drop + 1
        await run_for(tick, 6)
    assert delays[0] == 0.0  # a settled session ended: at once
    assert delays[1] == 0.0  # the first early end: at once too
    assert delays[2:] == sorted(delays[2:])
    assert 0.0 < delays[2] < delays[3] < delays[4]
    assert homely_sim.rejected_connects == 0


async def test_a_failing_renewal_is_retried_ever_less_often(
    hass: HomeAssistant,
    real_timing: LiveTiming,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
) -> None:
    """The service refuses new sockets for an hour; the open ones stay up meanwhile."""
    runtime = runtime_of(loaded_entry)
    attempts = {key: live.attempts for key, live in runtime.live.connections.items()}
    tokens = token_requests(homely_sim)
    homely_sim.refuse_sockets = True
    for minute in range(60):
        await run_for(tick, 60, step=5)
        if minute == 1:
            # 45 s after its token was fetched, then 2, 4, 8, 16 and 32 s later
            assert all(
                live.attempts - attempts[key] <= 6 for key, live in runtime.live.connections.items()
            )
        if minute % 10 == 9:
            # the connections opened before stay up: events show at once
            on = minute % 20 == 9
            await homely_sim.change_device(MOTION_ID, "alarm", "alarm", on)
            await until(shows(hass, MOTION, "on" if on else "off"), limit=5)
    # renewals tried 2, 4, 8... s after one another, up to 15 minutes apart: a handful
    tried = {key: live.attempts - attempts[key] for key, live in runtime.live.connections.items()}
    assert all(0 < count <= 12 for count in tried.values()), tried
    assert homely_sim.rejected_connects == sum(tried.values())
    assert token_requests(homely_sim) - tokens <= 16
    assert all(live.connects == 1 for live in runtime.live.connections.values())
    # the service is back and the server ends the connections whose token expired:
    # new ones at once
    homely_sim.refuse_sockets = False
    assert await homely_sim.enforce_token_expiry() == 2
    await until(lambda: all(live.connects == 2 for live in runtime.live.connections.values()))
    await until(lambda: all_live(loaded_entry))
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1


async def test_a_rate_limited_renewal_waits_retry_after(
    hass: HomeAssistant,
    real_timing: LiveTiming,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    tick: Tick,
) -> None:
    """The token endpoint answers 429 (retryAfter 600) at the renewal: nothing before that."""
    runtime = runtime_of(loaded_entry)
    # both locations renew at the same time: each meets a 429
    homely_sim.rate_limit_next(2, retry_after=600, path=REFRESH)
    await run_for(tick, 50)
    assert homely_sim.count(REFRESH) == 2
    renewed = sum(live.rollovers for live in runtime.live.connections.values())
    assert renewed == 0
    sent = len(homely_sim.requests), len(homely_sim.connect_log)
    await run_for(tick, 590, step=5)
    assert (len(homely_sim.requests), len(homely_sim.connect_log)) == sent
    await run_for(tick, 15, step=5)
    # one new token for both
    assert homely_sim.count(REFRESH) == 3
    assert all(live.rollovers == 1 for live in runtime.live.connections.values())
    assert all(live.connects == 1 for live in runtime.live.connections.values())


class _Bare:
    """A live client of one location without Home Assistant around it."""

    def __init__(self, session: aiohttp.ClientSession, sim: HomelySimulator) -> None:
        """Build the clients; :meth:`start` runs the live one."""
        timing = LiveTiming()
        self.client = HomelyClient(session, DEMO_USERNAME, DEMO_PASSWORD, base_url=sim.base_url)
        self.live = HomelyLiveClient(
            session,
            self.client,
            LOCATION_ID,
            on_event=lambda location, event: None,
            on_connected=lambda location: None,
            backoff_initial=timing.backoff_initial,
            backoff_max=timing.backoff_max,
            stable_after=timing.stable_after,
            connect_timeout=2.0,
        )
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the live client."""
        self.task = asyncio.ensure_future(self.live.run())

    async def stop(self) -> None:
        """Stop the live client and wait for it to end."""
        await self.live.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)


@pytest.fixture
async def bare(hass: HomeAssistant, homely_sim: HomelySimulator) -> AsyncIterator[_Bare]:
    """Return a live client of the demo home on Home Assistant's HTTP session."""
    bare = _Bare(async_get_clientsession(hass), homely_sim)
    yield bare
    await bare.stop()


async def test_refused_connections_reuse_the_token_held(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick, bare: _Bare
) -> None:
    """The live service refuses connections for an hour: a token is fetched only when the
    one held is about to expire, not for every attempt."""
    homely_sim.refuse_sockets = True
    bare.start()
    await until(lambda: bare.live.next_delay is not None)
    # attempts 0, 2, 6, 14 and 30 s in: all with the token of the login
    await run_for(tick, 31)
    assert homely_sim.rejected_connects == 5
    assert token_requests(homely_sim) == 1
    await run_for(tick, 3600 - 31)
    refused = homely_sim.rejected_connects
    # 2, 4, 8 ... 256, then 300 s apart
    assert 18 <= refused <= 20
    # a new token for each attempt more than 35 s after the token was fetched
    assert token_requests(homely_sim) <= refused - 4
    assert homely_sim.connect_log == []
    homely_sim.refuse_sockets = False
    await run_for(tick, 300, step=5)
    await until(lambda: bare.live.connected)
    assert homely_sim.connections(LOCATION_ID) == 1
