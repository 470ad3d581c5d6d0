"""The clients count every request they send to their cloud, over a sliding hour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from custom_components.velux_homely.api.errors import CommunicationError, ReadHeldBackError
from custom_components.velux_homely.api.homely import HomelyClient
from custom_components.velux_homely.api.netatmo import NetatmoClient
from custom_components.velux_homely.api.request_log import REQUEST_LOG_WINDOW, RequestLog
from simulator.homely import (
    DEMO_PASSWORD as HOMELY_PASSWORD,
    DEMO_USERNAME as HOMELY_USERNAME,
    LOCATION_ID,
    HomelySimulator,
)
from simulator.velux import DEMO_PASSWORD, DEMO_USERNAME, HOME_ID, VeluxSimulator


class FakeClock:
    """A clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def session(socket_enabled: Any) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def test_the_window_slides() -> None:
    clock = FakeClock()
    log = RequestLog(clock=clock)
    assert log.window == REQUEST_LOG_WINDOW == 3600
    assert log.count() == 0
    log.note()
    clock.now += 1800
    log.note()
    log.note()
    assert log.count() == 3
    # exactly an hour old: out of the window
    clock.now += 1800
    assert log.count() == 2
    clock.now += 1799.9
    assert log.count() == 2
    clock.now += 0.1
    assert log.count() == 0


async def test_netatmo_counts_token_and_api_requests(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    clock = FakeClock()
    log = RequestLog(clock=clock)
    client = NetatmoClient(
        session,
        base_url=velux_sim.base_url,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        request_log=log,
    )
    assert client.request_log is log
    assert client.requests_last_hour() == 0
    await client.async_get_homes_data()
    await client.async_get_home_status(HOME_ID)
    # the password grant, homesdata, homestatus
    assert client.requests_last_hour() == len(velux_sim.requests) == 3

    # A request that does not get an answer was sent all the same.
    velux_sim.fail_next(1, status=500)
    with pytest.raises(CommunicationError):
        await client.async_get_home_status(HOME_ID)
    assert client.requests_last_hour() == len(velux_sim.requests) == 4
    clock.now += REQUEST_LOG_WINDOW
    assert client.requests_last_hour() == 0
    # A client of its own counts in a log of its own.
    assert NetatmoClient(session, base_url=velux_sim.base_url).requests_last_hour() == 0


async def test_homely_counts_token_and_api_requests(
    homely_sim: HomelySimulator, session: aiohttp.ClientSession
) -> None:
    client = HomelyClient(
        session,
        HOMELY_USERNAME,
        HOMELY_PASSWORD,
        base_url=homely_sim.base_url,
        clock=homely_sim.now,
    )
    await client.async_get_locations()
    await client.async_get_home(LOCATION_ID)
    await client.async_get_home(LOCATION_ID)
    # login, locations, two reads
    assert client.requests_last_hour() == len(homely_sim.requests) == 4
    # A read the budget holds back is not sent, so not counted.
    with pytest.raises(ReadHeldBackError):
        await client.async_get_home(LOCATION_ID)
    assert client.requests_last_hour() == len(homely_sim.requests) == 4
    homely_sim.advance(REQUEST_LOG_WINDOW)
    assert client.requests_last_hour() == 0
