"""The read budget and back-off the clients apply before a request goes out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.velux_homely.api.errors import RateLimitedError, ReadHeldBackError
from custom_components.velux_homely.api.homely import HomelyClient
from custom_components.velux_homely.api.throttle import ReadThrottle
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    LOCATION_ID,
    HomelySimulator,
)

HOME = f"/homely/home/{LOCATION_ID}"
LOGIN = "/homely/oauth/token"


class FakeClock:
    """A clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_per_window_and_key() -> None:
    clock = FakeClock()
    throttle = ReadThrottle(reads=2, window=900, clock=clock)
    assert throttle.wait("a") == 0
    throttle.note_request("a")
    clock.now += 100
    throttle.note_request("a")
    # a third read waits for the first to leave the window; other keys are free
    assert throttle.wait("a") == pytest.approx(800)
    assert throttle.wait("b") == 0
    clock.now += 800
    assert throttle.wait("a") == 0
    assert throttle.diagnostics("a")["requests_in_window"] == 1


def test_back_off_doubles_never_below_the_hint_capped_and_resets() -> None:
    clock = FakeClock()
    throttle = ReadThrottle(reads=1000, window=900, fallback=60, cap=900, clock=clock)
    waits = [throttle.note_limited("a", 4) for _ in range(10)]
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert throttle.wait("a") == pytest.approx(900)
    # a long hint wins over the doubling, a missing one uses the fallback
    throttle.note_success("a")
    assert throttle.wait("a") == 0
    assert throttle.note_limited("a", 4) == 4
    assert throttle.note_limited("a", 300) == 300
    throttle.note_success("a")
    assert throttle.note_limited("a", None) == 60


def test_a_hint_longer_than_the_cap_is_honoured() -> None:
    """The 15-minute cap bounds our doubling, never the cloud's own retryAfter."""
    clock = FakeClock()
    throttle = ReadThrottle(reads=1000, window=900, fallback=60, cap=900, clock=clock)
    assert throttle.note_limited("a", 5000) == 5000
    assert throttle.wait("a") == pytest.approx(5000)
    clock.now += 4999
    assert throttle.wait("a") == pytest.approx(1)
    # the doubling goes on from there, capped; a later long hint wins again
    assert throttle.note_limited("a", 4) == 900
    assert throttle.note_limited("a", 1200) == 1200
    assert throttle.note_limited("a", None) == 900


def test_the_back_off_never_shrinks_after_the_budget_spaced_the_answers() -> None:
    """The budget held the reads back 15 minutes between two 429s: the next wait doubles
    from the time the limit lasted, not from the previous (short) wait."""
    clock = FakeClock()
    throttle = ReadThrottle(reads=2, window=900, fallback=60, cap=900, clock=clock)
    assert throttle.note_limited("a", 4) == 4
    clock.now += 5
    assert throttle.note_limited("a", 4) == 10
    clock.now += 900
    assert throttle.note_limited("a", 4) == 900
    clock.now += 900
    assert throttle.note_limited("a", 4) == 900


def test_held_back_reads_are_counted() -> None:
    clock = FakeClock()
    throttle = ReadThrottle(reads=1, window=10, clock=clock)
    assert throttle.hold_back("a") == 0
    throttle.note_request("a")
    assert throttle.hold_back("a") == pytest.approx(10)
    assert throttle.diagnostics("a") == {
        "requests_in_window": 1,
        "wait": 10.0,
        "rate_limited_in_a_row": 0,
        "held_back": 1,
    }


@pytest.fixture
async def client(homely_sim: HomelySimulator) -> AsyncIterator[HomelyClient]:
    clock = FakeClock()
    session = aiohttp.ClientSession()
    client = HomelyClient(session, DEMO_USERNAME, DEMO_PASSWORD, base_url=homely_sim.base_url)
    client.home_throttle = ReadThrottle(reads=2, window=900, clock=clock)
    yield client
    await session.close()


async def test_the_client_sends_no_read_beyond_the_budget(
    client: HomelyClient, homely_sim: HomelySimulator
) -> None:
    await client.async_get_home(LOCATION_ID)
    await client.async_get_home(LOCATION_ID)
    with pytest.raises(ReadHeldBackError) as held:
        await client.async_get_home(LOCATION_ID)
    assert held.value.retry_after == pytest.approx(900)
    assert homely_sim.count(HOME) == 2
    assert client.calls["home"] == 2
    # another location has its own budget
    await client.async_get_home(CABIN_LOCATION_ID)


async def test_the_client_waits_out_a_rate_limit(
    client: HomelyClient, homely_sim: HomelySimulator
) -> None:
    homely_sim.rate_limit_next(1, retry_after=4, path=HOME)
    with pytest.raises(RateLimitedError) as limited:
        await client.async_get_home(LOCATION_ID)
    assert not isinstance(limited.value, ReadHeldBackError)
    assert limited.value.retry_after == 4
    with pytest.raises(ReadHeldBackError):
        await client.async_get_home(LOCATION_ID)
    assert homely_sim.count(HOME) == 1


async def test_a_rate_limited_login_is_not_charged_to_the_home_reads(
    client: HomelyClient, homely_sim: HomelySimulator
) -> None:
    """A 429 of the token endpoint says nothing of /home: neither budget nor back-off."""
    homely_sim.rate_limit_next(1, retry_after=600, path=LOGIN)
    with pytest.raises(RateLimitedError) as limited:
        await client.async_get_home(LOCATION_ID)
    assert limited.value.retry_after == 600
    assert client.home_throttle.diagnostics(LOCATION_ID) == {
        "requests_in_window": 0,
        "wait": 0.0,
        "rate_limited_in_a_row": 0,
        "held_back": 0,
    }
    assert client.calls["home"] == 0
    # the next read goes out (the token endpoint's own limit is the caller's business)
    await client.async_get_home(LOCATION_ID)
    await client.async_get_home(LOCATION_ID)
    assert [request.path for request in homely_sim.requests] == [LOGIN, LOGIN, HOME, HOME]
