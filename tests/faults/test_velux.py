"""The fault matrix of VELUX ACTIVE: one fault each, then what the user sees afterwards.

Each scenario starts from a healthy account, injects one fault, changes the cloud's state
while the fault lasts, lifts the fault and lets Home Assistant run: afterwards every
entity shows the cloud's truth, nothing logged a traceback, and a reauthentication was
asked for only when the credentials were refused. The README's reliability section lists
the scenarios with what the user sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
import socket
import time
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.velux_homely.netatmo import const
from simulator.velux import (
    AWNING_ID,
    BEDROOM_ID,
    BLIND_ID,
    GATEWAY_ID,
    HOME_ID,
    SENSOR_ID,
    SHUTTER_ID,
    SMALL_HOME_ID,
    SMALL_SHUTTER_ID,
    WINDOW_ID,
    VeluxSimulator,
)
from tests.helpers import Ent
from tests.netatmo.conftest import (
    LONG_LIVED,
    SetupEntry,
    Tick,
    make_entry,
    only_platforms,  # noqa: F401 - a fixture setup_entry needs
    runtime_of,
    setup_entry,  # noqa: F401 - a fixture
    velux_sim,  # noqa: F401 - a fixture
)

from .common import assert_equal, lines, reauth_flows, tracebacks

TOKEN = "/oauth2/token"
HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
OPENERS = (SHUTTER_ID, BLIND_ID, AWNING_ID, WINDOW_ID, SMALL_SHUTTER_ID)
NEW_BLIND = "5636133219200977"
PLATFORMS = (Platform.COVER, Platform.SENSOR, Platform.BINARY_SENSOR)


async def settle(hass: HomeAssistant, limit: float = 2.0) -> None:
    """Let what fell due run; a request held by a slow cloud waits for the clock to move."""
    deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + limit
    while time.clock_gettime(time.CLOCK_MONOTONIC) < deadline:
        await hass.async_block_till_done()
        pending = [
            task
            for task in hass._background_tasks
            if not task.done() and not any(name in task.get_name() for name in LONG_LIVED)
        ]
        if not pending:
            return
        await asyncio.sleep(0)


@pytest.fixture
def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Tick:
    """Move every clock and let what fell due run (a slow answer waits for the next move)."""

    async def _tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass)

    return _tick


def shown(hass: HomeAssistant) -> dict[str, object]:
    """Return what Home Assistant shows of the account (positions, rain, climate)."""
    result: dict[str, object] = {}
    for module_id in (*OPENERS, NEW_BLIND):
        state = Ent(Platform.COVER, f"{module_id}_cover").current(hass)
        if state is not None and state.state != STATE_UNAVAILABLE:
            result[module_id] = state.attributes.get("current_position")
        elif state is not None:
            result[module_id] = STATE_UNAVAILABLE
    rain = Ent(Platform.BINARY_SENSOR, f"{GATEWAY_ID}_rain").current(hass)
    result["rain"] = rain.state if rain else None
    temperature = Ent(Platform.SENSOR, f"{SENSOR_ID}_temperature").current(hass)
    result["temperature"] = temperature.state if temperature else None
    return result


def truth(sim: VeluxSimulator) -> dict[str, object]:
    """Return what the cloud holds."""
    result: dict[str, object] = {
        module_id: sim.position(module_id)
        for module_id in (*OPENERS, NEW_BLIND)
        if module_id in sim._modules
    }
    result["rain"] = "on" if sim.module(GATEWAY_ID).status.get("is_raining") else "off"
    climate = sim._room(BEDROOM_ID).climate
    result["temperature"] = str(climate["temperature"] / 10)
    return result


@dataclass
class Context:
    """What a scenario acts on."""

    hass: HomeAssistant
    sim: VeluxSimulator
    entry: MockConfigEntry
    tick: Tick
    freezer: FrozenDateTimeFactory
    notes: dict[str, Any] = field(default_factory=dict)


type Step = Callable[[Context], Awaitable[None]]


async def nothing(ctx: Context) -> None:
    """No step."""


@dataclass(frozen=True)
class Scenario:
    """One fault: how to inject it, lift it, and what the user sees meanwhile."""

    name: str
    inject: Step
    heal: Step = nothing
    during: float = 180.0
    """Seconds the fault lasts."""
    after: float = 20 * 60.0
    """Seconds Home Assistant runs after the fault is lifted."""
    unavailable_during: bool | None = None
    """True: the entities are unavailable meanwhile; False: they keep a value."""
    reauth: bool = False
    push: bool = False
    check: Step = nothing
    """Further checks once the scenario ran."""


def change_the_truth(sim: VeluxSimulator, salt: int) -> None:
    """Change the cloud's state while the fault lasts (nothing may be lost)."""
    sim.set_position(SHUTTER_ID, 10 + salt)
    sim.set_room_climate(BEDROOM_ID, temperature=200 + salt)
    sim.set_raining(HOME_ID, salt % 2 == 0)


async def expire_tokens(ctx: Context) -> None:
    ctx.sim.expire_access_tokens()


async def refuse_refresh(ctx: Context) -> None:
    ctx.sim.expire_access_tokens()
    ctx.sim.refuse_refresh = True
    ctx.notes["logins"] = ctx.sim.password_logins


async def check_password_login(ctx: Context) -> None:
    assert ctx.sim.password_logins == ctx.notes["logins"] + 1


async def change_password(ctx: Context) -> None:
    ctx.sim.set_password("a-new-password")
    ctx.sim.revoke_tokens()


async def token_endpoint_down(ctx: Context) -> None:
    ctx.sim.expire_access_tokens()
    ctx.sim.fail_next(4, status=503, path=TOKEN)


async def homestatus_down(ctx: Context) -> None:
    ctx.sim.fail_next(6, status=500, path=HOMESTATUS)


async def homestatus_slow(ctx: Context) -> None:
    ctx.sim.delay_next(4, seconds=40, path=HOMESTATUS)


async def homesdata_down(ctx: Context) -> None:
    ctx.sim.fail_next(1, status=502, path=HOMESDATA)


async def homestatus_garbage(ctx: Context) -> None:
    ctx.sim.malformed_next(4, path=HOMESTATUS)


async def homesdata_partial(ctx: Context) -> None:
    ctx.sim.reply_next(1, payload={"status": "ok", "body": {"homes": None}}, path=HOMESDATA)


async def homestatus_partial(ctx: Context) -> None:
    ctx.sim.reply_next(
        2, payload={"status": "ok", "body": {"home": {"id": HOME_ID}}}, path=HOMESTATUS
    )


async def limited_with_hint(ctx: Context) -> None:
    ctx.sim.rate_limit_next(1, kind="http429", retry_after=1200, path=HOMESTATUS)
    ctx.notes["reads"] = ctx.sim.count(HOMESTATUS)


async def check_few_reads(ctx: Context) -> None:
    # one limited answer, then nothing until the hint ran out, then the normal rhythm
    assert ctx.sim.count(HOMESTATUS) - ctx.notes["reads"] <= 1 + 2 * 20


async def limited_storm(ctx: Context) -> None:
    ctx.sim.rate_limit_next(3, kind="error26", path=HOMESTATUS)


async def limited_concurrency(ctx: Context) -> None:
    ctx.sim.rate_limit_next(2, kind="error11")


async def ws_server_drop(ctx: Context) -> None:
    ctx.sim.ws_enabled = False
    await ctx.sim.ws_disconnect()


async def ws_network_drop(ctx: Context) -> None:
    ctx.sim.ws_enabled = False
    await ctx.sim.ws_disconnect(abort=True)


async def ws_back(ctx: Context) -> None:
    ctx.sim.ws_enabled = True


async def ws_refused(ctx: Context) -> None:
    ctx.sim.ws_refuse_subscriptions = True
    await ctx.sim.ws_disconnect()


async def ws_accepted(ctx: Context) -> None:
    ctx.sim.ws_refuse_subscriptions = False


async def ws_stall(ctx: Context) -> None:
    ctx.sim.ws_push_paused = True


async def ws_resume(ctx: Context) -> None:
    ctx.sim.ws_push_paused = False


async def add_module(ctx: Context) -> None:
    ctx.sim.add_module(
        HOME_ID,
        {
            "id": NEW_BLIND,
            "type": "NXO",
            "name": "New blind",
            "bridge": GATEWAY_ID,
            "room_id": BEDROOM_ID,
            "velux_type": "blind",
        },
    )


async def check_added(ctx: Context) -> None:
    assert Ent(Platform.COVER, f"{NEW_BLIND}_cover").registered(ctx.hass)


async def remove_module(ctx: Context) -> None:
    ctx.sim.remove_module(AWNING_ID)


async def check_removed(ctx: Context) -> None:
    assert not Ent(Platform.COVER, f"{AWNING_ID}_cover").registered(ctx.hass)


async def command_in_outage(ctx: Context) -> None:
    ctx.sim.fail_next(1, status=500, path=SETSTATE)
    shutter = Ent(Platform.COVER, f"{SHUTTER_ID}_cover")
    with pytest.raises(HomeAssistantError) as err:
        await ctx.hass.services.async_call(
            "cover", "close_cover", {"entity_id": shutter.entity_id(ctx.hass)}, blocking=True
        )
    assert err.value.translation_key == "cannot_connect"
    assert shutter.state(ctx.hass) == "open"  # nothing shown as moving


async def command_after_outage(ctx: Context) -> None:
    shutter = Ent(Platform.COVER, f"{SHUTTER_ID}_cover")
    await ctx.hass.services.async_call(
        "cover",
        "set_cover_position",
        {"entity_id": shutter.entity_id(ctx.hass), "position": 55},
        blocking=True,
    )
    assert ctx.sim.target(SHUTTER_ID) == 55


async def clock_jump(ctx: Context) -> None:
    await ctx.tick(5 * 3600)


async def revoke_home(ctx: Context) -> None:
    ctx.sim.revoked_homes.add(SMALL_HOME_ID)


async def check_home_revoked(ctx: Context) -> None:
    # meanwhile the other home stayed available
    assert ctx.notes.get("home_available_during", True)


async def restore_home(ctx: Context) -> None:
    ctx.sim.revoked_homes.clear()


SCENARIOS = [
    Scenario("access token expired", expire_tokens, unavailable_during=False),
    Scenario(
        "refresh token refused",
        refuse_refresh,
        unavailable_during=False,
        check=check_password_login,
    ),
    Scenario("password changed", change_password, reauth=True),
    Scenario("token endpoint 503", token_endpoint_down, unavailable_during=True),
    Scenario("homestatus HTTP 500", homestatus_down, unavailable_during=True),
    Scenario("homestatus timeout", homestatus_slow, during=300, unavailable_during=True),
    Scenario("homesdata HTTP 502", homesdata_down, during=31 * 60),
    Scenario("malformed homestatus JSON", homestatus_garbage, unavailable_during=True),
    Scenario("homesdata without homes", homesdata_partial, during=31 * 60),
    Scenario("homestatus without modules", homestatus_partial),
    Scenario(
        "429 with Retry-After",
        limited_with_hint,
        after=25 * 60,
        unavailable_during=False,
        check=check_few_reads,
    ),
    Scenario("403 error 26 storm", limited_storm, after=45 * 60, unavailable_during=False),
    Scenario("429 error 11 (concurrency)", limited_concurrency, after=25 * 60),
    Scenario("websocket dropped by the server", ws_server_drop, ws_back, push=True),
    Scenario("websocket network failure", ws_network_drop, ws_back, push=True),
    Scenario("websocket subscription refused", ws_refused, ws_accepted, push=True),
    Scenario("websocket stalls", ws_stall, ws_resume, during=31 * 60, after=31 * 60, push=True),
    Scenario("module added", add_module, during=31 * 60, check=check_added),
    Scenario("module removed", remove_module, during=31 * 60, check=check_removed),
    Scenario("command during an outage", command_in_outage, command_after_outage),
    Scenario("clock jumps 5 hours", clock_jump, unavailable_during=False),
    Scenario("one home revoked (error 21)", revoke_home, restore_home, check=check_home_revoked),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
async def test_fault(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    setup_entry: SetupEntry,  # noqa: F811 - the fixture
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    scenario: Scenario,
) -> None:
    monkeypatch.setattr(const, "REALTIME_HEARTBEAT", 100_000.0)
    velux_sim.move_speed = 0
    velux_sim.ws_enabled = scenario.push
    entry = await setup_entry(platforms=PLATFORMS)
    assert entry.state is ConfigEntryState.LOADED
    ctx = Context(hass, velux_sim, entry, tick, freezer)
    assert_equal(shown(hass), truth(velux_sim))

    await scenario.inject(ctx)
    change_the_truth(velux_sim, 1)
    unavailable_seen = available_seen = False
    for _ in range(int(scenario.during // 60)):
        await tick(60)
        state = Ent(Platform.COVER, f"{SHUTTER_ID}_cover").current(hass)
        if state is not None and state.state == STATE_UNAVAILABLE:
            unavailable_seen = True
        else:
            available_seen = True
        ctx.notes.setdefault("home_available_during", True)
        if state is None or state.state == STATE_UNAVAILABLE:
            ctx.notes["home_available_during"] = False
    change_the_truth(velux_sim, 2)
    await scenario.heal(ctx)
    for _ in range(int(scenario.after // 60)):
        await tick(60)

    assert tracebacks(caplog) == [], lines(tracebacks(caplog))
    if scenario.reauth:
        assert reauth_flows(hass) == ["reauth"]
        return
    assert reauth_flows(hass) == []
    if scenario.unavailable_during is True:
        assert unavailable_seen
    elif scenario.unavailable_during is False:
        assert not unavailable_seen
        assert available_seen
    velux_sim.finish_movements()
    await tick(60)
    assert_equal(shown(hass), truth(velux_sim))
    await scenario.check(ctx)


async def _no_such_host(*args: Any, **kwargs: Any) -> Any:
    raise OSError(socket.EAI_NONAME, "Name or service not known")


async def test_dns_failure(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service address does not resolve: set-up is retried, no traceback, no reauth;
    once names resolve again the account loads by itself."""
    entry = make_entry(velux_sim, base_url=velux_sim.base_url.replace("127.0.0.1", "localhost"))
    entry.add_to_hass(hass)
    with monkeypatch.context() as broken:
        broken.setattr(aiohttp.TCPConnector, "_resolve_host", _no_such_host)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass) == []
    assert tracebacks(caplog) == []


async def test_home_assistant_stops_while_the_websocket_reconnects(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    setup_entry: SetupEntry,  # noqa: F811 - the fixture
    tick: Tick,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(const, "REALTIME_HEARTBEAT", 100_000.0)
    velux_sim.ws_enabled = True
    entry = await setup_entry(platforms=PLATFORMS)
    realtime = runtime_of(entry).realtime
    velux_sim.ws_enabled = False
    await velux_sim.ws_disconnect()
    await tick(1)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    await tick(600)
    assert realtime.stopping
    assert not realtime.connected
    assert velux_sim.ws_connections <= 3
    assert tracebacks(caplog) == []
