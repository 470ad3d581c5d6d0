"""Tests of the Netatmo-family client (VELUX ACTIVE flavour) against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
import time
from typing import Any

import aiohttp
import pytest

from custom_components.velux_homely.api.errors import (
    ApiResponseError,
    AuthenticationError,
    CommandError,
    CommunicationError,
    ForbiddenError,
    InvalidResponseError,
    RateLimitedError,
)
from custom_components.velux_homely.api.netatmo import (
    VELUX_ACTIVE,
    NetatmoClient,
    _parse_response,
    _TokenRejectedError,
)
from custom_components.velux_homely.api.netatmo_models import (
    BatteryModuleStatus,
    GatewayStatus,
    OpenerStatus,
)
from simulator.velux import (
    AWNING_ID,
    BEDROOM_ID,
    BLIND_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    SENSOR_ID,
    SHUTTER_ID,
    SMALL_HOME_ID,
    SWITCH_ID,
    USER_ID,
    WINDOW_ID,
    VeluxSimulator,
)

TOKEN = "/oauth2/token"
HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


class Tokens:
    """Collects what the client hands to ``on_token_update``."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def __call__(self, token: dict[str, Any]) -> None:
        self.updates.append(token)


def make_client(
    sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    tokens: Tokens | None = None,
    **kwargs: Any,
) -> NetatmoClient:
    options: dict[str, Any] = {
        "base_url": sim.base_url,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "on_token_update": tokens,
    }
    options.update(kwargs)
    return NetatmoClient(session, **options)


async def test_password_login_and_token_callback(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    tokens = Tokens()
    client = make_client(velux_sim, session, tokens)
    before = time.time()

    homes = await client.async_get_homes_data()

    assert [(r.method, r.path) for r in velux_sim.requests] == [
        ("POST", TOKEN),
        ("POST", HOMESDATA),
    ]
    assert velux_sim.requests[0].form == {
        "grant_type": "password",
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "user_prefix": "velux",
        "scope": "velux_scopes",
        "app_version": VELUX_ACTIVE.app_version,
        "client_id": VELUX_ACTIVE.client_id,
        "client_secret": VELUX_ACTIVE.client_secret,
    }
    assert len(tokens.updates) == 1
    token = tokens.updates[0]
    assert set(token) == {"access_token", "refresh_token", "expires_at", "scope"}
    assert token["access_token"].startswith(USER_ID)
    assert token["refresh_token"].startswith(USER_ID)
    assert before + 10800 <= token["expires_at"] <= time.time() + 10800
    assert token["scope"] == ["all_scopes"]
    assert client.token == token
    # homesdata carries the token in the form and asks for the NXG gateways.
    assert velux_sim.requests[1].form == {
        "access_token": token["access_token"],
        "gateway_types": "[NXG]",
    }
    assert homes.user_email == DEMO_USERNAME
    assert homes.user_id == USER_ID
    assert [home.id for home in homes.homes] == [HOME_ID, SMALL_HOME_ID]
    home = homes.home(HOME_ID)
    assert home is not None
    assert home.name == "Home"
    assert [m.id for m in home.gateways] == [GATEWAY_ID]
    assert [m.id for m in home.openers] == [WINDOW_ID, SHUTTER_ID, BLIND_ID, AWNING_ID]
    assert [m.id for m in home.sensors] == [SENSOR_ID]
    assert [m.id for m in home.switches] == [SWITCH_ID]
    window = home.module(WINDOW_ID)
    assert window is not None
    assert (window.velux_type, window.bridge, window.room_id) == ("window", GATEWAY_ID, BEDROOM_ID)
    bedroom = home.room(BEDROOM_ID)
    assert bedroom is not None
    assert bedroom.name == "Bedroom"
    assert set(bedroom.module_ids) == {WINDOW_ID, BLIND_ID, SENSOR_ID}
    gateway = home.module(GATEWAY_ID)
    assert gateway is not None
    assert gateway.subtype == "EU"
    assert SHUTTER_ID in gateway.modules_bridged
    assert homes.home("nope") is None
    assert home.module("nope") is None


async def test_home_status(velux_sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(velux_sim, session)
    velux_sim.set_raining(HOME_ID, True)

    status = await client.async_get_home_status(HOME_ID)

    assert velux_sim.requests[-1].form["home_id"] == HOME_ID
    assert status.home_id == HOME_ID
    gateway = status.gateway(GATEWAY_ID)
    assert isinstance(gateway, GatewayStatus)
    assert gateway.is_raining is True
    assert gateway.reachable is True  # no reachable key: present means reachable
    assert gateway.wifi_strength == 58
    assert gateway.hardware_version == 1
    assert gateway.firmware == "46 / 33.1.7"
    assert gateway.pairing is False
    shutter = status.opener(SHUTTER_ID)
    assert isinstance(shutter, OpenerStatus)
    assert (shutter.current_position, shutter.target_position) == (100, 100)
    assert shutter.mode == "algo_available"
    assert shutter.reachable is True
    assert shutter.velux_type == "shutter"
    assert shutter.is_moving is False
    window = status.opener(WINDOW_ID)
    assert window is not None
    assert (window.secure_position, window.rain_position, window.firmware_revision) == (10, 5, 17)
    assert status.opener(GATEWAY_ID) is None
    sensor = status.battery_module(SENSOR_ID)
    assert isinstance(sensor, BatteryModuleStatus)
    assert (sensor.battery_percent, sensor.battery_state, sensor.rf_strength) == (82, "high", 64)
    assert sensor.last_seen is not None
    assert status.battery_module(SHUTTER_ID) is None
    assert status.gateway(SHUTTER_ID) is None
    room = status.rooms[BEDROOM_ID]
    assert room.temperature_raw == 215
    assert room.temperature == 21.5
    assert (room.min_comfort_temperature, room.max_comfort_temperature) == (18.0, 24.0)
    assert (room.humidity, room.co2, room.lux, room.air_quality) == (48, 640, 120, 1)
    assert status.errors == ()


async def test_stored_token_is_reused(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    first = make_client(velux_sim, session)
    await first.async_get_homes_data()
    assert velux_sim.password_logins == 1

    tokens = Tokens()
    second = make_client(velux_sim, session, tokens, token=first.token)
    await second.async_get_home_status(HOME_ID)

    assert velux_sim.password_logins == 1
    assert velux_sim.refresh_logins == 0
    assert tokens.updates == []


async def test_expired_access_token_is_refreshed(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    tokens = Tokens()
    client = make_client(velux_sim, session, tokens)
    await client.async_get_homes_data()
    old = client.token
    assert old is not None
    velux_sim.expire_access_tokens()
    velux_sim.requests.clear()

    await client.async_get_home_status(HOME_ID)

    assert [r.path for r in velux_sim.requests] == [HOMESTATUS, TOKEN, HOMESTATUS]
    assert velux_sim.requests[1].form == {
        "grant_type": "refresh_token",
        "refresh_token": old["refresh_token"],
        "client_id": VELUX_ACTIVE.client_id,
        "client_secret": VELUX_ACTIVE.client_secret,
    }
    assert (velux_sim.password_logins, velux_sim.refresh_logins) == (1, 1)
    # The rotated refresh token is handed over at once.
    assert len(tokens.updates) == 2
    new = tokens.updates[-1]
    assert new["refresh_token"] != old["refresh_token"]
    assert velux_sim.requests[2].form["access_token"] == new["access_token"]


async def test_token_refreshed_ahead_of_expiry(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    first = make_client(velux_sim, session)
    await first.async_get_homes_data()
    token = first.token
    assert token is not None
    now = [time.time()]
    client = make_client(velux_sim, session, token=token, clock=lambda: now[0])
    await client.async_get_home_status(HOME_ID)
    assert velux_sim.refresh_logins == 0

    # 100 s before expiry the token is renewed before the call, not after a refusal.
    now[0] = token["expires_at"] - 100
    velux_sim.requests.clear()
    await client.async_get_home_status(HOME_ID)

    assert [r.path for r in velux_sim.requests] == [TOKEN, HOMESTATUS]
    assert velux_sim.refresh_logins == 1


async def test_refused_refresh_falls_back_to_password(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session, token={"access_token": "old", "refresh_token": "x"})

    await client.async_get_home_status(HOME_ID)

    assert [r.path for r in velux_sim.requests] == [HOMESTATUS, TOKEN, TOKEN, HOMESTATUS]
    assert [r.form["grant_type"] for r in velux_sim.requests if r.path == TOKEN] == [
        "refresh_token",
        "password",
    ]
    assert (velux_sim.password_logins, velux_sim.refresh_logins) == (1, 0)


async def test_refused_password_raises_authentication_error(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    velux_sim.refuse_refresh = True
    velux_sim.set_password("changed")
    client = make_client(velux_sim, session, token={"access_token": "old", "refresh_token": "x"})

    with pytest.raises(AuthenticationError) as err:
        await client.async_get_home_status(HOME_ID)

    assert DEMO_PASSWORD not in str(err.value)
    assert "x" not in str(err.value).split()
    assert velux_sim.password_logins == 0


async def test_no_password_and_no_token(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session, username=None, password=None)
    with pytest.raises(AuthenticationError):
        await client.async_get_homes_data()
    assert velux_sim.requests == []


async def test_login_checks_password_even_with_a_token(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session, password="wrong", token={"access_token": "a"})
    with pytest.raises(AuthenticationError):
        await client.async_login()
    assert [r.form["grant_type"] for r in velux_sim.requests] == ["password"]


async def test_wrong_client_credentials(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session, client_id="other", client_secret="other-secret")
    with pytest.raises(AuthenticationError):
        await client.async_login()
    assert velux_sim.requests[0].form["client_id"] == "other"
    assert velux_sim.requests[0].form["client_secret"] == "other-secret"


async def test_concurrent_calls_refresh_once(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    tokens = Tokens()
    client = make_client(velux_sim, session, tokens)
    await client.async_get_homes_data()

    # Expired on the server: both calls are refused, exactly one refresh follows.
    velux_sim.expire_access_tokens()
    await asyncio.gather(
        client.async_get_home_status(HOME_ID), client.async_get_home_status(SMALL_HOME_ID)
    )
    assert velux_sim.refresh_logins == 1

    # Expired locally: both calls wait on one refresh before asking anything.
    stale = {**(client.token or {}), "expires_at": 0}
    other = make_client(velux_sim, session, token=stale)
    velux_sim.requests.clear()
    await asyncio.gather(*(other.async_get_home_status(HOME_ID) for _ in range(3)))
    assert velux_sim.refresh_logins == 2
    assert [r.path for r in velux_sim.requests] == [TOKEN, HOMESTATUS, HOMESTATUS, HOMESTATUS]
    assert velux_sim.password_logins == 1


async def test_token_refused_after_refresh(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(velux_sim, session)
    await client.async_login()
    calls: list[str] = []

    async def refuse(path: str, **kwargs: Any) -> dict[str, Any]:
        calls.append(path)
        if path == TOKEN:
            return {"access_token": "fresh", "expires_in": 10800}
        raise _TokenRejectedError("refused", code=2, status=403)

    monkeypatch.setattr(client, "_async_send", refuse)
    with pytest.raises(AuthenticationError):
        await client.async_get_home_status(HOME_ID)
    assert calls == [HOMESTATUS, TOKEN, HOMESTATUS]
    # The refresh answer had no refresh token: the previous one is kept.
    assert client.token is not None
    assert client.token["refresh_token"]


@pytest.mark.parametrize(
    ("kind", "retry_after", "expected"),
    [
        ("http429", None, 900.0),
        ("error26", None, 900.0),
        ("error11", None, 60.0),
        ("http429", 1234, 1234.0),
    ],
)
async def test_rate_limits(
    velux_sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    kind: str,
    retry_after: int | None,
    expected: float,
) -> None:
    client = make_client(velux_sim, session)
    await client.async_login()
    velux_sim.rate_limit_next(1, kind=kind, path=HOMESTATUS, retry_after=retry_after)

    with pytest.raises(RateLimitedError) as err:
        await client.async_get_home_status(HOME_ID)

    assert err.value.retry_after == expected
    # The next call works again.
    await client.async_get_home_status(HOME_ID)


async def test_server_error(velux_sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(velux_sim, session)
    await client.async_login()
    velux_sim.fail_next(1, status=502, path=HOMESTATUS)
    with pytest.raises(CommunicationError, match="HTTP 502") as err:
        await client.async_get_home_status(HOME_ID)
    assert not isinstance(err.value, InvalidResponseError)


async def test_server_error_on_token_endpoint(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    velux_sim.fail_next(1, status=503, path=TOKEN)
    client = make_client(velux_sim, session)
    with pytest.raises(CommunicationError):
        await client.async_get_homes_data()
    # A failing token endpoint is no reason to give up the account.
    await client.async_get_homes_data()


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (403, "<html><body><h1>403 Forbidden</h1>Maintenance</body></html>"),
        (404, "<html><body><h1>404 Not Found</h1></body></html>"),
        (400, {"error": "invalid_request"}),
        (400, {"error": "unsupported_grant_type"}),
        (401, {"error": {"code": 1, "message": "Something else"}}),
    ],
)
async def test_token_endpoint_trouble_is_not_an_authentication_failure(
    velux_sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    status: int,
    payload: Any,
) -> None:
    velux_sim.reply_next(1, payload=payload, status=status, path=TOKEN)
    client = make_client(velux_sim, session)
    with pytest.raises(CommunicationError) as err:
        await client.async_get_homes_data()
    assert not isinstance(err.value, AuthenticationError)
    assert [r.path for r in velux_sim.requests] == [TOKEN]
    # The cloud is back: the same client logs in without any help.
    await client.async_get_homes_data()
    assert velux_sim.password_logins == 1


async def test_token_endpoint_trouble_during_refresh_keeps_the_refresh_token(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    token = await client.async_login()
    stale = make_client(velux_sim, session, token={**token, "expires_at": 0})
    velux_sim.requests.clear()
    velux_sim.reply_next(1, payload="<html>Maintenance</html>", status=403, path=TOKEN)

    with pytest.raises(CommunicationError):
        await stale.async_get_home_status(HOME_ID)
    # No password login: the refresh token was not refused, the endpoint was down.
    assert [r.form["grant_type"] for r in velux_sim.requests] == ["refresh_token"]

    await stale.async_get_home_status(HOME_ID)
    assert [r.path for r in velux_sim.requests] == [TOKEN, TOKEN, HOMESTATUS]
    assert (velux_sim.password_logins, velux_sim.refresh_logins) == (1, 1)


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "ok", "body": {}},
        {"status": "ok"},
        {"status": "ok", "body": {"homes": None, "user": {"email": DEMO_USERNAME}}},
    ],
)
async def test_homesdata_without_homes_is_invalid(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession, payload: dict[str, Any]
) -> None:
    client = make_client(velux_sim, session)
    await client.async_login()
    velux_sim.reply_next(1, payload=payload, path=HOMESDATA)
    with pytest.raises(InvalidResponseError):
        await client.async_get_homes_data()
    homes = await client.async_get_homes_data()
    assert [home.id for home in homes.homes] == [HOME_ID, SMALL_HOME_ID]


async def test_malformed_json(velux_sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(velux_sim, session)
    await client.async_login()
    velux_sim.malformed_next(1, path=HOMESDATA)
    with pytest.raises(InvalidResponseError):
        await client.async_get_homes_data()


async def test_timeout(velux_sim: VeluxSimulator, session: aiohttp.ClientSession) -> None:
    client = make_client(velux_sim, session, request_timeout=0.1)
    await client.async_login()
    velux_sim.delay_next(1, seconds=10, path=HOMESTATUS)
    started = time.monotonic()
    with pytest.raises(CommunicationError, match="Timeout"):
        await client.async_get_home_status(HOME_ID)
    assert time.monotonic() - started < 2


async def test_connection_refused(session: aiohttp.ClientSession, socket_enabled: Any) -> None:
    sim = VeluxSimulator()
    await sim.start()
    base_url = sim.base_url
    await sim.stop()
    client = NetatmoClient(session, base_url=base_url, username="a", password="b")
    with pytest.raises(CommunicationError):
        await client.async_login()


async def test_set_state_and_convenience_commands(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    await client.async_set_position(HOME_ID, SHUTTER_ID, GATEWAY_ID, 40)
    await client.async_stop(HOME_ID, SHUTTER_ID, GATEWAY_ID)
    await client.async_set_position(HOME_ID, SHUTTER_ID, None, 0)
    await client.async_stop_movements(HOME_ID, GATEWAY_ID)
    await client.async_set_scenario(HOME_ID, GATEWAY_ID, "wake_up")
    await client.async_identify(HOME_ID, GATEWAY_ID)

    def body(*modules: dict[str, Any]) -> dict[str, Any]:
        return {"home": {"id": HOME_ID, "modules": list(modules)}, "app_type": "app_velux"}

    assert velux_sim.setstate_bodies == [
        body({"id": SHUTTER_ID, "target_position": 40, "bridge": GATEWAY_ID}),
        body({"id": SHUTTER_ID, "target_position": -1, "bridge": GATEWAY_ID}),
        body({"id": SHUTTER_ID, "target_position": 0}),
        body({"id": GATEWAY_ID, "stop_movements": "all"}),
        body({"id": GATEWAY_ID, "scenario": "wake_up"}),
        body({"id": GATEWAY_ID, "identify": True}),
    ]
    setstate = [r for r in velux_sim.requests if r.path == SETSTATE]
    token = client.token
    assert token is not None
    assert all(r.authorization == f"Bearer {token['access_token']}" for r in setstate)
    assert velux_sim.identify_requests == [GATEWAY_ID]


async def test_command_failure_per_module(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    with pytest.raises(CommandError) as err:
        await client.async_set_position(HOME_ID, WINDOW_ID, GATEWAY_ID, 30)
    assert err.value.needs_signature
    assert [(f.module_id, f.code) for f in err.value.failures] == [(WINDOW_ID, 9)]

    velux_sim.set_reachable(SHUTTER_ID, False)
    with pytest.raises(CommandError) as err:
        await client.async_set_position(HOME_ID, SHUTTER_ID, GATEWAY_ID, 30)
    assert not err.value.needs_signature
    assert str(err.value) == f"Command failed for {SHUTTER_ID}: 6"


async def test_command_failure_with_odd_codes(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    errors = [
        {"id": SHUTTER_ID, "code": None},
        {"id": BLIND_ID, "code": "busy"},
        {"id": AWNING_ID, "code": "9"},
        {"id": WINDOW_ID, "code": 28.0},
        {"id": None, "code": True},
        {"id": GATEWAY_ID},
        {"id": SENSOR_ID, "code": ["x"]},
        {"id": SWITCH_ID, "code": "nan"},
        "junk",
    ]
    velux_sim.reply_next(
        1,
        payload={"status": "ok", "body": {"home": {"id": HOME_ID}, "errors": errors}},
        path=SETSTATE,
    )
    with pytest.raises(CommandError) as err:
        await client.async_set_position(HOME_ID, SHUTTER_ID, GATEWAY_ID, 30)
    assert [(f.module_id, f.code) for f in err.value.failures] == [
        (SHUTTER_ID, 0),
        (BLIND_ID, 0),
        (AWNING_ID, 9),
        (WINDOW_ID, 28),
        ("", 0),
        (GATEWAY_ID, 0),
        (SENSOR_ID, 0),
        (SWITCH_ID, 0),
    ]
    assert err.value.needs_signature


async def test_unknown_home_is_an_api_error(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(velux_sim, session)
    with pytest.raises(ApiResponseError) as err:
        await client.async_get_home_status("nope")
    assert (err.value.code, err.value.status) == (21, 400)


async def test_no_secret_in_debug_logs(
    velux_sim: VeluxSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(velux_sim, session)
    await client.async_get_homes_data()
    first = client.token
    velux_sim.expire_access_tokens()
    await client.async_get_home_status(HOME_ID)
    velux_sim.refuse_refresh = True
    velux_sim.expire_access_tokens()
    await client.async_set_position(HOME_ID, SHUTTER_ID, GATEWAY_ID, 10)
    velux_sim.set_password("other")
    velux_sim.expire_access_tokens()
    with pytest.raises(AuthenticationError):
        await client.async_get_home_status(HOME_ID)
    second = client.token

    assert "grant succeeded" in caplog.text  # the client did log at DEBUG
    assert first is not None
    assert second is not None
    secrets = {
        DEMO_PASSWORD,
        VELUX_ACTIVE.client_secret,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    }
    for secret in secrets:
        assert secret not in caplog.text
        # Tokens are "<user id>|<random>": the random part must not leak either.
        assert secret.split("|")[-1] not in caplog.text


@pytest.mark.parametrize(
    ("status", "text", "error", "check"),
    [
        (400, '{"error": "invalid_request"}', ApiResponseError, "invalid_request"),
        (
            400,
            '{"error": "invalid_grant", "error_description": "bad"}',
            ApiResponseError,
            "invalid_grant: bad",
        ),
        (403, '{"error": {"code": 13, "message": "scope"}}', ForbiddenError, "scope"),
        (400, '{"error": {"code": 21}}', ApiResponseError, "HTTP 400"),
        (404, "not json", ApiResponseError, "HTTP 404"),
        (200, "[1, 2]", InvalidResponseError, "JSON object"),
        (429, "", RateLimitedError, "HTTP 429"),
    ],
)
def test_parse_response_errors(status: int, text: str, error: type[Exception], check: str) -> None:
    with pytest.raises(error, match=check):
        _parse_response("/p", status, text, None)


def test_parse_response_bad_retry_after() -> None:
    with pytest.raises(RateLimitedError) as err:
        _parse_response("/p", 429, "", "soon")
    assert err.value.retry_after == 300.0


def test_token_without_expiry_is_fresh() -> None:
    client = NetatmoClient(None, token={"access_token": "a"})  # type: ignore[arg-type]
    assert client._token_is_fresh()
    assert NetatmoClient(None).token is None  # type: ignore[arg-type]


async def test_token_answer_without_access_token(
    velux_sim: VeluxSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(velux_sim, session)

    async def empty(path: str, **kwargs: Any) -> dict[str, Any]:
        return {"refresh_token": "r"}

    monkeypatch.setattr(client, "_async_send", empty)
    with pytest.raises(InvalidResponseError):
        await client.async_login()
    assert client.token is None
