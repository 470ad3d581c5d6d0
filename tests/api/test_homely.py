"""The Homely REST client against the simulator: tokens, resources and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from custom_components.velux_homely.api.errors import (
    ApiResponseError,
    AuthenticationError,
    CommunicationError,
    ForbiddenError,
    InvalidResponseError,
    RateLimitedError,
)
from custom_components.velux_homely.api.homely import HomelyClient, _retry_after
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_SERIAL,
    LOCATION_ID,
    USER_ID,
    HomelySimulator,
)

LOGIN = "/homely/oauth/token"
REFRESH = "/homely/oauth/refresh-token"
HOME = f"/homely/home/{LOCATION_ID}"


class Clock:
    """A clock the tests move by hand (shared with the simulator's offset)."""

    def __init__(self, sim: HomelySimulator) -> None:
        self.sim = sim

    def __call__(self) -> float:
        return self.sim.now()

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)


@pytest.fixture
async def session(socket_enabled: Any) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _client(
    session: aiohttp.ClientSession, sim: HomelySimulator, *, password: str = DEMO_PASSWORD
) -> HomelyClient:
    return HomelyClient(
        session, DEMO_USERNAME, password, base_url=sim.base_url + "/", clock=Clock(sim)
    )


async def test_locations_and_home(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    client = _client(session, homely_sim)
    assert not client.has_token
    assert client.token_status() == {"has_token": False}
    locations = await client.async_get_locations()
    assert [(loc.location_id, loc.user_id) for loc in locations] == [
        (LOCATION_ID, USER_ID),
        (CABIN_LOCATION_ID, USER_ID),
    ]
    home = await client.async_get_home(LOCATION_ID)
    assert home.gateway_serial == GATEWAY_SERIAL
    assert home.alarm_state == "DISARMED"
    assert len(home.devices) == 9
    # one login served both calls, with the token as Bearer header
    assert [r.path for r in homely_sim.requests] == [LOGIN, "/homely/locations", HOME]
    assert homely_sim.requests[0].json == {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    token = homely_sim.requests[1].authorization
    assert token is not None
    assert token.startswith("Bearer ")
    assert homely_sim.requests[2].authorization == token
    assert client.calls == {"login": 1, "locations": 1, "home": 1}
    status = client.token_status()
    assert status["has_token"] is True
    assert 0 < status["access_expires_in"] <= 60
    assert client.username == DEMO_USERNAME


async def test_refresh_ahead_of_expiry_then_login_when_refused(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    client = _client(session, homely_sim)
    clock = Clock(homely_sim)
    first = await client.async_get_access_token()
    # still inside the lifetime minus the margin: same token, no call
    clock.advance(45)
    assert await client.async_get_access_token() == first
    # within the margin of the 60 s lifetime: refreshed before the server expires it
    clock.advance(6)
    second = await client.async_get_access_token()
    assert second != first
    assert homely_sim.refreshes == 1
    assert homely_sim.requests[-1].path == REFRESH
    # the server refuses the refresh token ("Refresh token expired"): full login
    homely_sim.expire_refresh_tokens()
    clock.advance(55)
    third = await client.async_get_access_token()
    assert third not in (first, second)
    assert [r.path for r in homely_sim.requests] == [LOGIN, REFRESH, REFRESH, LOGIN]
    # the refresh token's own lifetime passed: straight to login, no doomed refresh
    clock.advance(1800)
    await client.async_get_access_token()
    assert [r.path for r in homely_sim.requests][-1] == LOGIN
    assert homely_sim.count(REFRESH) == 2


async def test_refreshes_are_serialised(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    client = _client(session, homely_sim)
    await client.async_get_access_token()
    Clock(homely_sim).advance(55)
    tokens = await asyncio.gather(*(client.async_get_access_token() for _ in range(5)))
    assert len(set(tokens)) == 1
    assert homely_sim.count(REFRESH) == 1


async def test_rejected_token_is_replaced_once(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    client = _client(session, homely_sim)
    first = await client.async_get_access_token()
    renewed = await asyncio.gather(
        client.async_get_access_token(rejected=first),
        client.async_get_access_token(rejected=first),
    )
    assert renewed[0] == renewed[1] != first
    assert homely_sim.count(REFRESH) == 1


async def test_401_on_a_resource_fetches_a_new_token(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    client = _client(session, homely_sim)
    await client.async_get_locations()
    await homely_sim.expire_access_tokens()
    await client.async_get_home(LOCATION_ID)
    assert [r.path for r in homely_sim.requests] == [
        LOGIN,
        "/homely/locations",
        HOME,
        REFRESH,
        HOME,
    ]
    homely_sim.fail_next(2, status=401, path=HOME)
    with pytest.raises(ApiResponseError) as err:
        await client.async_get_home(LOCATION_ID)
    assert err.value.status == 401


async def test_bad_credentials(session: aiohttp.ClientSession, homely_sim: HomelySimulator) -> None:
    client = _client(session, homely_sim, password="wrong")
    with pytest.raises(AuthenticationError) as err:
        await client.async_get_locations()
    assert "wrong" not in str(err.value)
    assert homely_sim.count("/homely/locations") == 0
    with pytest.raises(AuthenticationError):
        await client.async_login()


async def test_login_rate_limited(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    homely_sim.rate_limit_next(1, retry_after=7, path=LOGIN)
    with pytest.raises(RateLimitedError) as err:
        await _client(session, homely_sim).async_login()
    assert err.value.retry_after == 7


@pytest.mark.parametrize("status", [500, 503, 404, 403, 400])
async def test_token_endpoint_failures_are_temporary(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, status: int
) -> None:
    # only a 401 on login says the credentials are wrong: anything else is retried later
    homely_sim.fail_next(1, status=status, path=LOGIN)
    client = _client(session, homely_sim)
    with pytest.raises(CommunicationError) as err:
        await client.async_login()
    assert not isinstance(err.value, AuthenticationError)
    assert f"{status}" in str(err.value)
    # and the next try works
    await client.async_login()
    assert [r.path for r in homely_sim.requests] == [LOGIN, LOGIN]


async def test_maintenance_page_on_login_is_temporary(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    page = "<html><body><h1>403 Forbidden</h1>Down for maintenance</body></html>"
    homely_sim.answer_next(page, status=403, path=LOGIN)
    client = _client(session, homely_sim)
    with pytest.raises(CommunicationError, match="HTTP 403"):
        await client.async_get_locations()
    assert homely_sim.count("/homely/locations") == 0
    assert len(await client.async_get_locations()) == 2


@pytest.mark.parametrize("status", [403, 404, 500, 502])
async def test_refresh_failure_other_than_refused_is_temporary(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, status: int
) -> None:
    client = _client(session, homely_sim)
    await client.async_login()
    first = await client.async_get_access_token()
    Clock(homely_sim).advance(55)
    homely_sim.fail_next(1, status=status, path=REFRESH)
    with pytest.raises(CommunicationError):
        await client.async_get_access_token()
    # no login was tried; the next call refreshes with the same refresh token
    assert homely_sim.count(LOGIN) == 1
    assert await client.async_get_access_token() != first
    assert [r.path for r in homely_sim.requests] == [LOGIN, REFRESH, REFRESH]
    assert homely_sim.refreshes == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"statusCode": 400, "message": "Refresh token expired"}),
        (400, {"statusCode": 400, "message": ["refresh_token must be a string"]}),
        (401, {"statusCode": 401, "message": "Unauthorized"}),
    ],
)
async def test_refused_refresh_logs_in(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, status: int, body: Any
) -> None:
    client = _client(session, homely_sim)
    await client.async_login()
    Clock(homely_sim).advance(55)
    homely_sim.answer_next(body, status=status, path=REFRESH)
    await client.async_get_access_token()
    assert [r.path for r in homely_sim.requests] == [LOGIN, REFRESH, LOGIN]
    assert homely_sim.logins == 2


async def test_refresh_failure_is_not_a_login(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    client = _client(session, homely_sim)
    await client.async_login()
    Clock(homely_sim).advance(55)
    homely_sim.fail_next(1, status=503, path=REFRESH)
    with pytest.raises(CommunicationError):
        await client.async_get_access_token()
    assert homely_sim.count(LOGIN) == 1


async def test_resource_errors(session: aiohttp.ClientSession, homely_sim: HomelySimulator) -> None:
    homely_sim.rate_limit_next(1, retry_after=4)
    with pytest.raises(RateLimitedError) as limited:
        await _client(session, homely_sim).async_get_home(LOCATION_ID)
    assert limited.value.retry_after == 4
    # a client holds reads back after a 429 or two reads: each check uses a fresh one

    with pytest.raises(ForbiddenError) as forbidden:
        await _client(session, homely_sim).async_get_home("00000000-0000-0000-0000-000000000000")
    assert forbidden.value.status == 403
    assert "no access" in str(forbidden.value)

    homely_sim.fail_next(1, status=502, path=HOME)
    with pytest.raises(CommunicationError):
        await _client(session, homely_sim).async_get_home(LOCATION_ID)

    homely_sim.malformed_next(1, path=HOME)
    with pytest.raises(InvalidResponseError):
        await _client(session, homely_sim).async_get_home(LOCATION_ID)

    homely_sim.fail_next(1, status=400, path=HOME)
    with pytest.raises(ApiResponseError) as bad:
        await _client(session, homely_sim).async_get_home(LOCATION_ID)
    assert bad.value.status == 400


async def test_retry_after_header_in_any_case(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator
) -> None:
    limited = {"statusCode": 429, "message": "Too Many Requests"}
    homely_sim.answer_next(limited, status=429, path=HOME, headers={"retry-after": "9"})
    with pytest.raises(RateLimitedError) as lower:
        await _client(session, homely_sim).async_get_home(LOCATION_ID)
    assert lower.value.retry_after == 9
    homely_sim.answer_next(limited, status=429, path=HOME, headers={"RETRY-AFTER": "3.5"})
    with pytest.raises(RateLimitedError) as upper:
        await _client(session, homely_sim).async_get_home(LOCATION_ID)
    assert upper.value.retry_after == 3.5
    # the JSON retryAfter wins over the header
    homely_sim.answer_next(
        {**limited, "retryAfter": 4}, status=429, path=HOME, headers={"retry-after": "9"}
    )
    with pytest.raises(RateLimitedError) as both:
        await _client(session, homely_sim).async_get_home(LOCATION_ID)
    assert both.value.retry_after == 4
    homely_sim.answer_next(limited, status=429, path=LOGIN, headers={"retry-after": "6"})
    with pytest.raises(RateLimitedError) as login:
        await _client(session, homely_sim).async_login()
    assert login.value.retry_after == 6


def test_retry_after_lookup_ignores_the_header_spelling() -> None:
    # aiohttp spells well-known header names the canonical way; other mappings may not
    assert _retry_after(None, {"retry-after": "9"}) == 9
    assert _retry_after(None, {"RETRY-AFTER": "2.5", "Other": "1"}) == 2.5
    assert _retry_after({"retryAfter": 4}, {"retry-after": "9"}) == 4
    assert _retry_after({"retryAfter": "soon"}, {"retry-after": "later"}) is None
    assert _retry_after(None, {}) is None


@pytest.mark.parametrize("devices", ["missing", None, {"id": "x"}, "none"])
async def test_home_without_a_devices_list_is_invalid(
    session: aiohttp.ClientSession, homely_sim: HomelySimulator, devices: Any
) -> None:
    body = dict(homely_sim.locations[LOCATION_ID].home())
    if devices == "missing":
        del body["devices"]
    else:
        body["devices"] = devices
    homely_sim.answer_next(body, path=HOME)
    client = _client(session, homely_sim)
    with pytest.raises(InvalidResponseError, match="devices"):
        await client.async_get_home(LOCATION_ID)
    assert len((await client.async_get_home(LOCATION_ID)).devices) == 9


async def test_unreachable(session: aiohttp.ClientSession, homely_sim: HomelySimulator) -> None:
    base = homely_sim.base_url
    await homely_sim.stop()
    client = HomelyClient(session, DEMO_USERNAME, DEMO_PASSWORD, base_url=base)
    with pytest.raises(CommunicationError):
        await client.async_get_locations()


async def test_timeout(session: aiohttp.ClientSession, socket_enabled: Any) -> None:
    from aiohttp import web

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.json_response({})

    app = web.Application()
    app.router.add_post(LOGIN, slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        client = HomelyClient(
            session, DEMO_USERNAME, DEMO_PASSWORD, base_url=f"http://127.0.0.1:{port}", timeout=0.05
        )
        with pytest.raises(CommunicationError, match="Timeout"):
            await client.async_login()
    finally:
        await runner.cleanup()


async def test_odd_token_answers(session: aiohttp.ClientSession, socket_enabled: Any) -> None:
    from aiohttp import web

    answers: list[Any] = [
        ["not", "an", "object"],
        {"token_type": "bearer"},
        {"access_token": "abc", "expires_in": "soon", "refresh_token": None},
    ]

    async def token(request: web.Request) -> web.Response:
        return web.json_response(answers.pop(0))

    async def rate_limited(request: web.Request) -> web.Response:
        return web.Response(status=429, text="slow down", headers={"Retry-After": "later"})

    app = web.Application()
    app.router.add_post(LOGIN, token)
    app.router.add_get("/homely/locations", rate_limited)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    clock_value = [0.0]
    try:
        client = HomelyClient(
            session,
            DEMO_USERNAME,
            DEMO_PASSWORD,
            base_url=f"http://127.0.0.1:{port}",
            clock=lambda: clock_value[0],
        )
        with pytest.raises(InvalidResponseError):
            await client.async_login()
        with pytest.raises(InvalidResponseError):
            await client.async_login()
        await client.async_login()
        # unknown lifetime: the documented 60 s (minus the margin); no refresh token
        assert client.token_status()["access_expires_in"] == 50
        with pytest.raises(RateLimitedError) as err:
            await client.async_get_locations()
        assert err.value.retry_after is None
        assert "HTTP 429" in str(err.value)
    finally:
        await runner.cleanup()
