"""The fault matrix of VELUX ACTIVE: one fault each, then what the user sees afterwards.

Each scenario of :data:`SCENARIOS` starts from a healthy account (two homes, every
platform, the service reached by its host name), injects one fault, changes the cloud's
state while the fault lasts, lifts the fault and lets Home Assistant run on the frozen
clock: afterwards every entity of the entry shows the cloud's truth (:mod:`.truth`),
nothing logged a traceback, the error lines carry the scenario's translated message (none
when the user sees nothing), the repair issues are the ones the scenario calls for, and a
reauthentication was asked for only when the credentials were refused (then the user
enters the new password and the entry shows the truth again). :data:`SETUP_SCENARIOS` do
the same for faults met while the entry is set up. README's reliability section lists
every scenario with what the user sees (``sees``; see :mod:`.reliability`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.velux_homely.const import DOMAIN, PROVIDER_VELUX
from custom_components.velux_homely.netatmo import const
from custom_components.velux_homely.netatmo.issues import issue_id
from simulator.velux import (
    AWNING_ID,
    BEDROOM_ID,
    BLIND_ID,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    SHUTTER_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    SMALL_ROOM_ID,
    WINDOW_ID,
    VeluxSimulator,
)
from tests.helpers import Ent
from tests.netatmo.conftest import (
    LONG_LIVED,
    SetupEntry,
    make_entry,
    only_platforms,  # noqa: F401 - a fixture setup_entry needs
    runtime_of,
    setup_entry,  # noqa: F401 - a fixture
    velux_sim,  # noqa: F401 - a fixture
)

from .common import (
    NEW_PASSWORD,
    Dns,
    FaultScenario,
    Seen,
    SetupFaultScenario,
    Stamped,
    assert_backoff,
    assert_dns_failed,
    assert_message,
    assert_user_saw,
    calls_between,
    dns_back,
    limited_until_shown,
    lines,
    reauth_flows,
    reauthenticate,
    repair_issues,
    shown_reason,
    stamp_requests,
    tracebacks,
    translated,
)
from .truth import compared, velux_differences

TOKEN = "/oauth2/token"
HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
API = ("/api/", "/syncapi/")
NEW_BLIND = "5636133219200977"
NEW_WINDOW = "5636133219200978"
SLOW = 600.0
"""Seconds a slow cloud takes to answer: far longer than the client's timeout (20 s)."""
LIMIT_CAP = 15 * 60.0
"""Longest wait between two polls of a rate-limited account."""
BACKOFF_FIRST = 5 * 60.0
"""First wait after a rate limit without a longer hint."""
SHUTTER = Ent(Platform.COVER, f"{SHUTTER_ID}_cover")
LIMITED_UNTIL = Ent(Platform.SENSOR, f"{PROVIDER_VELUX}:{DEMO_USERNAME}_rate_limited_until")
"""The account's "Rate limited until" sensor."""

type Tick = Callable[[float], Awaitable[None]]


# -- the clock -----------------------------------------------------------------------


def _real() -> float:
    """Return the real monotonic clock (the frozen one does not move)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def until(predicate: Callable[[], bool], limit: float = 20.0) -> None:
    """Let the loop run until ``predicate`` holds (``limit`` real seconds at most)."""
    deadline = _real() + limit
    while not predicate():
        if _real() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0)


async def settle(hass: HomeAssistant, sim: VeluxSimulator, limit: float = 60.0) -> None:
    """Let what fell due run to its end; a request the slow cloud holds waits for the clock.

    The polls are background tasks of the entry: they are waited for until none is left,
    or until every one left waits for an answer the cloud holds (nothing else moves for a
    hundred turns of the loop). A poll that neither ends nor waits for the cloud within
    ``limit`` real seconds fails the test: a busy machine only makes it slower.
    """
    deadline = _real() + limit
    idle_turns = 0
    seen = (len(sim.requests), sim.delayed)
    while True:
        await hass.async_block_till_done()
        pending = [
            name
            for name in _running(hass)
            if not any(long_lived in name for long_lived in LONG_LIVED)
        ]
        if not pending and all(_realtime_settled(hass)):
            return
        now_seen = (len(sim.requests), sim.delayed)
        idle_turns = idle_turns + 1 if now_seen == seen and sim.delayed else 0
        seen = now_seen
        if idle_turns > 100:
            return
        if _real() > deadline:
            raise AssertionError(f"still running after {limit} s: {pending}")
        await asyncio.sleep(0)


def _running(hass: HomeAssistant) -> list[str]:
    """Return the names of the background tasks under way."""
    return [
        task.get_name()
        for task in hass._background_tasks
        if isinstance(task, asyncio.Task) and not task.done()
    ]


def _realtime_settled(hass: HomeAssistant) -> Iterator[bool]:
    """Say, for each loaded entry, whether its realtime websocket is not half-way through
    connecting (up, waiting to reconnect, or stopped): a handshake or a subscription
    under way must not see the clock jump past its timeout."""
    running = any("realtime" in name for name in _running(hass))
    for entry in hass.config_entries.async_entries(DOMAIN):
        realtime = getattr(getattr(entry, "runtime_data", None), "realtime", None)
        if realtime is not None and entry.state is ConfigEntryState.LOADED:
            yield (
                not running
                or realtime.connected
                or realtime.next_delay is not None
                or realtime.stopping
            )


@pytest.fixture
def tick(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
) -> Tick:
    """Move every clock and let what fell due run (a slow answer waits for the next move)."""

    async def _tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass, velux_sim)

    return _tick


async def advance(
    hass: HomeAssistant, sim: VeluxSimulator, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move the clock without waiting for Home Assistant's tasks (a set-up that waits for
    a slow cloud waits for the clock: ``async_block_till_done`` would wait for ever)."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    for _ in range(100):
        await asyncio.sleep(0)


# -- what Home Assistant shows, what the cloud holds ----------------------------------


def assert_truth(hass: HomeAssistant, entry: MockConfigEntry, sim: VeluxSimulator) -> None:
    """Every entity of the entry shows the cloud's truth (movements finished)."""
    assert compared(hass, entry) > 30
    assert velux_differences(hass, entry, sim) == {}


def change_the_truth(sim: VeluxSimulator, salt: int) -> None:
    """Change the cloud's state while the fault lasts (nothing may be lost)."""
    sim.set_position(SHUTTER_ID, 10 + salt)
    sim.set_room_climate(BEDROOM_ID, temperature=200 + salt, co2=700 + salt)
    sim.set_raining(HOME_ID, salt % 2 == 0)
    sim.set_battery("70:ee:50:3a:2d:4e", 60 + salt)
    sim.set_status(BLIND_ID, silent=salt % 2 == 0)


# -- the entry -------------------------------------------------------------------------


def named_entry(sim: VeluxSimulator) -> MockConfigEntry:
    """Return the demo account's entry reaching ``sim`` by its host name."""
    return make_entry(sim, base_url=Dns.url(sim.base_url, "velux"))


@pytest.fixture(autouse=True)
def quiet_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats of the realtime websocket hours apart (the clock moves by minutes)."""
    monkeypatch.setattr(const, "REALTIME_HEARTBEAT", 100_000.0)


@pytest.fixture
async def stopped_cleanly(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    dns: Dns,
    freezer: FrozenDateTimeFactory,
) -> AsyncIterator[None]:
    """On teardown: lift every fault and unload the entries while the clock moves.

    (A scenario that failed half-way may leave a request waiting for the clock.)
    """
    yield
    velux_sim.clear_faults()
    velux_sim.ws_enabled = False
    dns.broken = False
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is not ConfigEntryState.LOADED:
            continue
        task = asyncio.ensure_future(hass.config_entries.async_unload(entry.entry_id))
        for _ in range(100):
            if task.done():
                break
            await advance(hass, velux_sim, freezer, 5)
        assert task.done()
    await hass.async_block_till_done()


# -- scenarios -------------------------------------------------------------------------


@dataclass
class Context:
    """What a scenario acts on."""

    hass: HomeAssistant
    sim: VeluxSimulator
    entry: MockConfigEntry
    tick: Tick
    freezer: FrozenDateTimeFactory
    dns: Dns
    requests: Stamped[Any]
    caplog: pytest.LogCaptureFixture
    notes: dict[str, Any] = field(default_factory=dict)


type Step = Callable[[Context], Awaitable[None]]


def same_issues(before: set[str], entry_id: str) -> set[str]:
    """The repair issues stay as they were."""
    return before


@dataclass(frozen=True)
class Scenario(FaultScenario[Context]):
    """One fault of VELUX ACTIVE: the shared fields, push and the repair issues."""

    push: bool = False
    """The realtime websocket runs (else polling only)."""
    issues: Callable[[set[str], str], set[str]] = same_issues
    """The repair issues afterwards, from those before and the entry id."""


async def expire_tokens(ctx: Context) -> None:
    ctx.notes["logins"] = ctx.sim.password_logins
    ctx.sim.expire_access_tokens()


async def check_refreshed(ctx: Context) -> None:
    assert ctx.sim.password_logins == ctx.notes["logins"]


async def refuse_refresh(ctx: Context) -> None:
    ctx.sim.expire_access_tokens()
    ctx.sim.refuse_refresh = True
    ctx.notes["logins"] = ctx.sim.password_logins


async def check_password_login(ctx: Context) -> None:
    assert ctx.sim.password_logins == ctx.notes["logins"] + 1


async def change_password(ctx: Context) -> None:
    ctx.sim.set_password(NEW_PASSWORD)
    ctx.sim.revoke_tokens()
    ctx.notes["token requests"] = ctx.sim.count(TOKEN)


async def check_not_hammered(ctx: Context) -> None:
    """The refused password is not tried again and again."""
    assert ctx.sim.count(TOKEN) - ctx.notes["token requests"] <= 4


async def token_endpoint_down(ctx: Context) -> None:
    ctx.sim.expire_access_tokens()
    ctx.sim.fail_next(10_000, status=503, path=TOKEN)


async def token_endpoint_slow(ctx: Context) -> None:
    ctx.sim.expire_access_tokens()
    ctx.sim.delay_next(10_000, seconds=SLOW, path=TOKEN)


async def lift(ctx: Context) -> None:
    ctx.sim.clear_faults()


async def homestatus_down(ctx: Context) -> None:
    ctx.sim.fail_next(10_000, status=500, path=HOMESTATUS)


async def homestatus_slow(ctx: Context) -> None:
    ctx.sim.delay_next(10_000, seconds=SLOW, path=HOMESTATUS)


async def homesdata_down(ctx: Context) -> None:
    """``homesdata`` fails from now on: the next topology read (at 30 minutes) meets it."""
    ctx.notes["homesdata"] = ctx.sim.count(HOMESDATA)
    ctx.sim.fail_next(10_000, status=502, path=HOMESDATA)


async def homesdata_slow(ctx: Context) -> None:
    ctx.notes["homesdata"] = ctx.sim.count(HOMESDATA)
    ctx.sim.delay_next(10_000, seconds=SLOW, path=HOMESDATA)


async def check_homesdata_tried(ctx: Context) -> None:
    # tried at the 30-minute read, then every 5 minutes (not at every poll)
    assert ctx.notes["homesdata"] < ctx.notes["homesdata at heal"] <= ctx.notes["homesdata"] + 2


async def note_homesdata(ctx: Context) -> None:
    ctx.notes["homesdata at heal"] = ctx.sim.count(HOMESDATA)
    ctx.sim.clear_faults()


async def homestatus_garbage(ctx: Context) -> None:
    ctx.sim.malformed_next(10_000, path=HOMESTATUS)


async def homesdata_partial(ctx: Context) -> None:
    ctx.notes["homesdata"] = ctx.sim.count(HOMESDATA)
    ctx.sim.reply_next(10_000, payload={"status": "ok", "body": {"homes": None}}, path=HOMESDATA)


async def homestatus_partial(ctx: Context) -> None:
    ctx.sim.reply_next(
        10_000, payload={"status": "ok", "body": {"home": {"id": HOME_ID}}}, path=HOMESTATUS
    )


# storms


def _storm(kind: str, hint: int | None, most: int) -> Step:
    async def inject(ctx: Context) -> None:
        ctx.notes["storm"] = (kind, hint, most)
        ctx.sim.rate_limit_next(10**6, kind=kind, retry_after=hint)

    return inject


def _storm_waits(kind: str, hint: int | None) -> Callable[[int], float]:
    """The shortest wait after ``k`` limited answers: the cloud's hint (without one, the
    client's default for its error code: 15 minutes for code 26 "usage reached", a minute
    for code 11), never less than 5 minutes doubling up to 15."""
    default = {"http429": 900.0, "error26": 900.0, "error11": 60.0}[kind]
    given = float(hint) if hint is not None else default

    def waits(k: int) -> float:
        return max(given, min(BACKOFF_FIRST * 2.0 ** (k - 1), LIMIT_CAP))

    return waits


async def storm_minute(ctx: Context, minute: int) -> None:
    if limited_until_shown(ctx.hass, LIMITED_UNTIL):
        ctx.notes["limited shown"] = ctx.notes.get("limited shown", 0) + 1


async def check_storm(ctx: Context) -> None:
    """Few calls, ever further apart, and "Rate limited until" showed the limit."""
    kind, hint, most = ctx.notes["storm"]
    times = calls_between(ctx.requests, _api_call, ctx.notes["start"], ctx.notes["cut"])
    assert 2 <= len(times) <= most, times
    assert_backoff(times, _storm_waits(kind, hint))
    assert ctx.notes.get("limited shown", 0) >= 30


def _api_call(request: Any) -> bool:
    return bool(request.path.startswith(API))


async def check_concurrency(ctx: Context) -> None:
    """The two limited answers paused the polls 5, then 10 minutes; then every minute."""
    times = calls_between(ctx.requests, _api_call, ctx.notes["start"], float("inf"))
    assert_backoff(times[:3], _storm_waits("error11", None))
    assert times[3] - times[2] < 120, times


async def limited_concurrency(ctx: Context) -> None:
    ctx.sim.rate_limit_next(2, kind="error11")


# the realtime websocket


async def noticed_the_drop(ctx: Context) -> None:
    """Wait until the realtime client noticed its connection ended (before the clock moves)."""
    await until(lambda: not runtime_of(ctx.entry).coordinator.push_connected)


async def ws_server_drop(ctx: Context) -> None:
    ctx.sim.ws_enabled = False
    await ctx.sim.ws_disconnect()
    await noticed_the_drop(ctx)


async def ws_network_drop(ctx: Context) -> None:
    ctx.sim.ws_enabled = False
    await ctx.sim.ws_disconnect(abort=True)
    await noticed_the_drop(ctx)


async def ws_back(ctx: Context) -> None:
    ctx.sim.ws_enabled = True


async def ws_refused(ctx: Context) -> None:
    ctx.sim.ws_refuse_subscriptions = True
    await ctx.sim.ws_disconnect()
    await noticed_the_drop(ctx)


async def ws_accepted(ctx: Context) -> None:
    ctx.sim.ws_refuse_subscriptions = False


async def ws_stall(ctx: Context) -> None:
    ctx.sim.ws_push_paused = True


async def ws_resume(ctx: Context) -> None:
    ctx.sim.ws_push_paused = False


async def stall_minute(ctx: Context, minute: int) -> None:
    """A minute into the stall, the shutter's move is not shown yet (no push, no poll)."""
    if minute == 1:
        shown = SHUTTER.attributes(ctx.hass).get("current_position")
        assert shown != ctx.sim.position(SHUTTER_ID), shown


async def check_push_back(ctx: Context) -> None:
    """Both homes were polled every minute or so while the push was down; push again."""
    polls = calls_between(
        ctx.requests,
        lambda request: request.path == HOMESTATUS,
        ctx.notes["start"],
        ctx.notes["cut"],
    )
    assert len(polls) >= 4, polls
    coordinator = runtime_of(ctx.entry).coordinator
    for _ in range(30):
        if coordinator.push_connected:
            break
        await ctx.tick(10)
    assert coordinator.push_connected


# the name service


async def dns_fails(ctx: Context) -> None:
    ctx.dns.broken = True


async def check_dns(ctx: Context) -> None:
    assert_dns_failed(ctx, "Name or service not known")


# devices


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


async def move_roof_window(ctx: Context) -> None:
    """The home's roof window goes; one is added to the cabin (no signing key for either)."""
    ctx.sim.remove_module(WINDOW_ID)
    ctx.sim.add_module(
        SMALL_HOME_ID,
        {
            "id": NEW_WINDOW,
            "type": "NXO",
            "name": "Cabin roof window",
            "bridge": SMALL_GATEWAY_ID,
            "room_id": SMALL_ROOM_ID,
            "velux_type": "window",
        },
        {"current_position": 0},
    )


def window_issue_moves(before: set[str], entry_id: str) -> set[str]:
    """The home gateway's repair issue goes, the cabin gateway gets one."""
    assert issue_id(entry_id, GATEWAY_ID) in before
    return {issue_id(entry_id, SMALL_GATEWAY_ID)}


# commands


async def command_in_outage(ctx: Context) -> None:
    ctx.sim.fail_next(1, status=500, path=SETSTATE)
    with pytest.raises(HomeAssistantError) as err:
        await ctx.hass.services.async_call(
            "cover", "close_cover", {"entity_id": SHUTTER.entity_id(ctx.hass)}, blocking=True
        )
    assert err.value.translation_key == "cannot_connect"
    assert translated("cannot_connect").search(str(err.value))
    assert SHUTTER.state(ctx.hass) == "open"  # nothing shown as moving


async def command_after_outage(ctx: Context) -> None:
    await ctx.hass.services.async_call(
        "cover",
        "set_cover_position",
        {"entity_id": SHUTTER.entity_id(ctx.hass), "position": 55},
        blocking=True,
    )
    assert ctx.sim.target(SHUTTER_ID) == 55


async def command_times_out(ctx: Context) -> None:
    """``setstate`` gets no answer: the command fails after the client's timeout."""
    ctx.sim.delay_next(1, seconds=SLOW, path=SETSTATE)
    call = asyncio.ensure_future(
        ctx.hass.services.async_call(
            "cover", "close_cover", {"entity_id": SHUTTER.entity_id(ctx.hass)}, blocking=True
        )
    )
    for _ in range(10):
        if call.done():
            break
        await advance(ctx.hass, ctx.sim, ctx.freezer, 10)
    assert call.done()
    err = call.exception()
    assert isinstance(err, HomeAssistantError)
    assert err.translation_key == "cannot_connect"
    assert translated("cannot_connect").search(str(err))
    assert SHUTTER.state(ctx.hass) == "open"  # nothing shown as moving


async def command_while_limited(ctx: Context) -> None:
    """The account is rate limited: a command is refused with the translated message."""
    ctx.sim.rate_limit_next(10**6, kind="http429")
    await ctx.tick(60)  # a poll meets the limit
    with pytest.raises(HomeAssistantError) as err:
        await ctx.hass.services.async_call(
            "cover", "close_cover", {"entity_id": SHUTTER.entity_id(ctx.hass)}, blocking=True
        )
    assert err.value.translation_key == "rate_limited"
    assert translated("rate_limited").search(str(err.value))
    assert SHUTTER.state(ctx.hass) == "open"


async def clock_jump(ctx: Context) -> None:
    await ctx.tick(5 * 3600)


async def revoke_home(ctx: Context) -> None:
    ctx.sim.revoked_homes.add(SMALL_HOME_ID)


async def check_home_revoked(ctx: Context) -> None:
    # meanwhile the other home stayed available
    assert ctx.notes["home available during"]


async def restore_home(ctx: Context) -> None:
    ctx.sim.revoked_homes.clear()


def _storm_scenario(name: str, sees: str, kind: str, hint: int | None, most: int) -> Scenario:
    return Scenario(
        name,
        sees,
        _storm(kind, hint, most),
        lift,
        during=60 * 60,
        after=20 * 60,
        each_minute=storm_minute,
        check=check_storm,
    )


SCENARIOS = [
    Scenario(
        "access token expired",
        "nothing: the token is refreshed (no password login, no e-mail)",
        expire_tokens,
        check=check_refreshed,
    ),
    Scenario(
        "refresh token refused",
        "nothing: one password login replaces the refused refresh, no reauthentication",
        refuse_refresh,
        check=check_password_login,
    ),
    Scenario(
        "password changed",
        'one reauthentication request and "The cloud refused the credentials" in the log; '
        "entities unavailable until the new password is entered, then everything shows the "
        "cloud's state",
        change_password,
        unavailable_during=True,
        reauth=True,
        message="auth_failed",
        check=check_not_hammered,
    ),
    Scenario(
        "token endpoint 503",
        'entities unavailable while no token can be had ("Reading the cloud failed" in the '
        "log); back by themselves, no reauthentication",
        token_endpoint_down,
        lift,
        unavailable_during=True,
        message="update_failed",
    ),
    Scenario(
        "token endpoint timeout",
        'entities unavailable while no token can be had ("Reading the cloud failed: '
        'Timeout ..."); back by themselves, no reauthentication',
        token_endpoint_slow,
        lift,
        unavailable_during=True,
        message="update_failed",
    ),
    Scenario(
        "homestatus HTTP 500",
        'entities unavailable ("Reading the cloud failed: ... server error HTTP 500"); '
        "back with the first good poll",
        homestatus_down,
        lift,
        unavailable_during=True,
        message="update_failed",
    ),
    Scenario(
        "homestatus timeout",
        'entities unavailable ("Reading the cloud failed: Timeout ..."); back with the '
        "first good poll",
        homestatus_slow,
        lift,
        during=300,
        unavailable_during=True,
        message="update_failed",
    ),
    Scenario(
        "malformed homestatus JSON",
        'entities unavailable ("Reading the cloud failed: ..."); back with the first good poll',
        homestatus_garbage,
        lift,
        unavailable_during=True,
        message="update_failed",
    ),
    Scenario(
        "homestatus without modules",
        "the homes' entities unavailable while the cloud answers without their modules "
        '("Reading the cloud failed: homestatus of ...: the answer lists no modules"); back '
        "with the first full answer, no device removed",
        homestatus_partial,
        lift,
        unavailable_during=True,
        message="update_failed",
    ),
    Scenario(
        "homesdata HTTP 502",
        "entities keep following their homes while the 30-minute topology read fails "
        '(a warning: "Reading the homes of VELUX ACTIVE failed, keeping the ones known"); '
        "the topology is tried again every 5 minutes; devices kept",
        homesdata_down,
        note_homesdata,
        during=31 * 60,
        check=check_homesdata_tried,
    ),
    Scenario(
        "homesdata timeout",
        "entities keep following their homes while the 30-minute topology read times out "
        "(a warning); the topology is tried again every 5 minutes; devices kept",
        homesdata_slow,
        note_homesdata,
        during=31 * 60,
        check=check_homesdata_tried,
    ),
    Scenario(
        "homesdata without homes",
        "entities keep following their homes while the topology answer holds no homes "
        '(a warning: "... the answer holds no list of homes"); no device removed',
        homesdata_partial,
        note_homesdata,
        during=31 * 60,
        check=check_homesdata_tried,
    ),
    _storm_scenario(
        "an hour of 429 without Retry-After",
        'entities keep their values, "Rate limited until" shows the limit; polls wait 15 '
        "minutes (4 calls in the hour)",
        "http429",
        None,
        4,
    ),
    _storm_scenario(
        "an hour of 429 with a short Retry-After",
        'entities keep their values, "Rate limited until" shows the limit; polls wait 5, '
        "10, then 15 minutes, never less than the hint",
        "http429",
        60,
        5,
    ),
    _storm_scenario(
        "an hour of 429 with a long Retry-After",
        'entities keep their values, "Rate limited until" shows the limit; polls wait the '
        "cloud's 20 minutes (3 calls in the hour)",
        "http429",
        1200,
        3,
    ),
    _storm_scenario(
        "an hour of 403 error 26",
        'entities keep their values, "Rate limited until" shows the limit; polls wait 15 '
        "minutes (4 calls in the hour)",
        "error26",
        None,
        4,
    ),
    _storm_scenario(
        "an hour of 403 error 26 with a short Retry-After",
        'entities keep their values, "Rate limited until" shows the limit; polls wait 5, '
        "10, then 15 minutes",
        "error26",
        60,
        5,
    ),
    Scenario(
        "429 error 11 (concurrency)",
        "entities keep their values; polls pause 5, then 10 minutes, then resume",
        limited_concurrency,
        after=25 * 60,
        check=check_concurrency,
    ),
    Scenario(
        "command while rate limited",
        'the command fails with "The cloud is limiting requests from this account ..."; '
        "entities keep their values",
        command_while_limited,
        lift,
        after=25 * 60,
    ),
    Scenario(
        "command during an outage",
        'the command fails with "The cloud cannot be reached: ..."; nothing shown as '
        "moving; the next command works",
        command_in_outage,
        command_after_outage,
    ),
    Scenario(
        "setstate timeout",
        'the command fails after 20 s with "The cloud cannot be reached: Timeout ..."; '
        "nothing shown as moving",
        command_times_out,
        lift,
    ),
    Scenario(
        "DNS failure while running",
        'entities unavailable ("Reading the cloud failed: ... Name or service not known"); '
        "back by themselves when names resolve",
        dns_fails,
        dns_back,
        during=5 * 60,
        unavailable_during=True,
        message="update_failed",
        check=check_dns,
    ),
    Scenario(
        "websocket dropped by the server",
        "nothing: polling every minute meanwhile, push again once the service is back",
        ws_server_drop,
        ws_back,
        push=True,
        check=check_push_back,
    ),
    Scenario(
        "websocket network failure",
        "nothing: polling every minute meanwhile, push again once the network is back",
        ws_network_drop,
        ws_back,
        push=True,
        check=check_push_back,
    ),
    Scenario(
        "websocket subscription refused",
        "nothing: polling every minute meanwhile, push again once subscriptions are accepted",
        ws_refused,
        ws_accepted,
        push=True,
        check=check_push_back,
    ),
    Scenario(
        "websocket stalls",
        "changes show with the 30-minute safety poll instead of at once",
        ws_stall,
        ws_resume,
        during=31 * 60,
        after=31 * 60,
        push=True,
        each_minute=stall_minute,
    ),
    Scenario(
        "module added",
        "its entities appear within 30 minutes (the next topology read), without a reload",
        add_module,
        during=31 * 60,
        check=check_added,
    ),
    Scenario(
        "module removed",
        "its device and entities go within 30 minutes, without a reload",
        remove_module,
        during=31 * 60,
        check=check_removed,
    ),
    Scenario(
        "roof window removed, one added to the other home",
        'the repair issue "Roof windows of ... cannot open yet" moves to the gateway of '
        "the new window; devices follow within 30 minutes",
        move_roof_window,
        during=31 * 60,
        issues=window_issue_moves,
    ),
    Scenario(
        "clock jumps 5 hours",
        "nothing: the token is refreshed and polls go on",
        clock_jump,
    ),
    Scenario(
        "one home revoked (error 21)",
        "that home's entities unavailable, the other home's stay; back once the share returns",
        revoke_home,
        restore_home,
        unavailable_during=None,
        check=check_home_revoked,
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
async def test_fault(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    setup_entry: SetupEntry,  # noqa: F811 - the fixture
    dns: Dns,
    stopped_cleanly: None,
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    scenario: Scenario,
) -> None:
    """One fault, then what the user sees."""
    velux_sim.move_speed = 0
    velux_sim.ws_enabled = scenario.push
    entry = await setup_entry(named_entry(velux_sim))
    assert entry.state is ConfigEntryState.LOADED
    if scenario.push:
        await until(lambda: runtime_of(entry).coordinator.push_connected)
    assert_truth(hass, entry, velux_sim)
    issues = repair_issues(hass)
    assert issues  # the home's roof window has no signing key yet
    ctx = Context(hass, velux_sim, entry, tick, freezer, dns, stamp_requests(velux_sim), caplog)
    ctx.notes["start"] = velux_sim.now()

    await scenario.inject(ctx)
    change_the_truth(velux_sim, 1)
    seen = Seen()
    for minute in range(1, int(scenario.during // 60) + 1):
        await tick(60)
        await scenario.each_minute(ctx, minute)
        state = SHUTTER.current(hass)
        seen.note(unavailable=state is not None and state.state == STATE_UNAVAILABLE)
    ctx.notes["home available during"] = not seen.unavailable
    change_the_truth(velux_sim, 2)
    ctx.notes["cut"] = velux_sim.now()
    await scenario.heal(ctx)
    for _ in range(int(scenario.after // 60)):
        await tick(60)

    await assert_user_saw(
        ctx, scenario, seen, lambda: loaded_again(hass, entry, velux_sim, freezer, tick)
    )
    velux_sim.finish_movements()
    await tick(60)
    assert_truth(hass, entry, velux_sim)
    assert repair_issues(hass) == scenario.issues(issues, entry.entry_id)
    assert not limited_until_shown(hass, LIMITED_UNTIL)


async def loaded_again(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: VeluxSimulator,
    freezer: FrozenDateTimeFactory,
    tick: Tick,
) -> None:
    """Let the entry load again (a reload or a set-up retry)."""
    for _ in range(6 * 40):
        if entry.state is ConfigEntryState.LOADED:
            break
        await advance(hass, sim, freezer, 10)
    assert entry.state is ConfigEntryState.LOADED, entry.state
    await tick(60)


# -- faults at set-up ----------------------------------------------------------------


@dataclass(frozen=True)
class SetupScenario(SetupFaultScenario[VeluxSimulator]):
    """A fault of VELUX ACTIVE met at set-up."""

    most_calls: int = 100
    """Most requests to the cloud while the fault lasts (set-up retries included)."""


def _names_fail(sim: VeluxSimulator, dns: Dns) -> None:
    dns.broken = True


def _token_down(sim: VeluxSimulator, dns: Dns) -> None:
    sim.fail_next(10_000, status=503, path=TOKEN)


def _homesdata_slow(sim: VeluxSimulator, dns: Dns) -> None:
    sim.delay_next(10_000, seconds=SLOW, path=HOMESDATA)


def _limited(sim: VeluxSimulator, dns: Dns) -> None:
    sim.rate_limit_next(10**6, kind="error26")


def _password_changed(sim: VeluxSimulator, dns: Dns) -> None:
    sim.set_password(NEW_PASSWORD)


SETUP_SCENARIOS = [
    SetupScenario(
        "DNS failure at set-up",
        '"Retrying setup: Reading the cloud failed: ... Name or service not known"; loads '
        "by itself once names resolve, no reauthentication",
        _names_fail,
        message="update_failed",
        reason="Name or service not known",
    ),
    SetupScenario(
        "token endpoint 503 at set-up",
        '"Retrying setup: Reading the cloud failed: ..."; loads by itself, no reauthentication',
        _token_down,
        message="update_failed",
    ),
    SetupScenario(
        "homesdata timeout at set-up",
        '"Retrying setup: Reading the cloud failed: Timeout ..."; loads by itself',
        _homesdata_slow,
        message="update_failed",
    ),
    SetupScenario(
        "403 error 26 at set-up",
        '"Retrying setup: The cloud is limiting requests from this account ..."; the set-up '
        "retries do not ask the cloud before the limit ends; loads by itself",
        _limited,
        message="rate_limited",
        during=20 * 60,
        most_calls=3,
    ),
    SetupScenario(
        "password refused at set-up",
        "one reauthentication request; loads once the new password is entered",
        _password_changed,
        reauth=True,
    ),
]


@pytest.mark.parametrize(
    "scenario", SETUP_SCENARIOS, ids=[scenario.name for scenario in SETUP_SCENARIOS]
)
async def test_setup_fault(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    dns: Dns,
    stopped_cleanly: None,
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    scenario: SetupScenario,
) -> None:
    """A fault met at set-up: what the integration page says, then the truth."""
    velux_sim.move_speed = 0
    entry = named_entry(velux_sim)
    entry.add_to_hass(hass)
    scenario.inject(velux_sim, dns)
    requests = stamp_requests(velux_sim)
    task = asyncio.ensure_future(hass.config_entries.async_setup(entry.entry_id))
    for _ in range(60):
        with contextlib.suppress(AssertionError):
            await until(task.done, limit=0.5)
        if task.done():
            break
        await advance(hass, velux_sim, freezer, 5)
    assert task.done()
    await hass.async_block_till_done()

    if scenario.reauth:
        assert entry.state is ConfigEntryState.SETUP_ERROR
        assert reauth_flows(hass) == ["reauth"]
        await reauthenticate(hass, NEW_PASSWORD)
    else:
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert scenario.message is not None
        assert translated(scenario.message).search(shown_reason(entry)), shown_reason(entry)
        assert scenario.reason in shown_reason(entry), shown_reason(entry)
        for _ in range(int(scenario.during // 10)):
            await advance(hass, velux_sim, freezer, 10)
        # not loaded: waiting for the next attempt, or an attempt waits for the cloud
        assert entry.state in (ConfigEntryState.SETUP_RETRY, ConfigEntryState.SETUP_IN_PROGRESS)
        assert len(requests) <= scenario.most_calls, [r.path for r in requests]
    velux_sim.clear_faults()
    dns.broken = False
    await loaded_again(hass, entry, velux_sim, freezer, tick)

    assert tracebacks(caplog) == [], lines(tracebacks(caplog))
    if not scenario.reauth:
        assert reauth_flows(hass) == []
    assert_truth(hass, entry, velux_sim)


# -- Home Assistant stops -------------------------------------------------------------


HA_STOP_SEES = (
    "Home Assistant stops at once while the realtime websocket waits to reconnect: no "
    "traceback, no reconnection afterwards"
)


async def test_home_assistant_stops_while_the_websocket_reconnects(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    setup_entry: SetupEntry,  # noqa: F811 - the fixture
    dns: Dns,
    stopped_cleanly: None,
    tick: Tick,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant stops while the websocket waits to reconnect: no traceback, no
    reconnection after the stop, and every entity still shows the cloud's truth."""
    velux_sim.move_speed = 0
    velux_sim.ws_enabled = True
    entry = await setup_entry(named_entry(velux_sim))
    await until(lambda: velux_sim.ws_subscribers == 1)
    realtime = runtime_of(entry).realtime
    velux_sim.ws_enabled = False
    await velux_sim.ws_disconnect()
    await until(lambda: not realtime.connected)
    await tick(1)
    connections = velux_sim.ws_connections
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    velux_sim.ws_enabled = True
    await tick(600)
    assert realtime.stopping
    assert not realtime.connected
    assert velux_sim.ws_connections == connections
    assert tracebacks(caplog) == [], lines(tracebacks(caplog))
    assert_message(caplog, None)
    assert_truth(hass, entry, velux_sim)


# -- known gaps ---------------------------------------------------------------------------


async def test_a_change_while_the_push_is_down_shows_once_it_is_back(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,  # noqa: F811 - the fixture
    setup_entry: SetupEntry,  # noqa: F811 - the fixture
    dns: Dns,
    stopped_cleanly: None,
    tick: Tick,
) -> None:
    """The shutter moves while the push is down, after the last poll; the push comes back:
    the move shows within a couple of minutes (not at the 30-minute safety poll)."""
    velux_sim.move_speed = 0
    velux_sim.ws_enabled = True
    entry = await setup_entry(named_entry(velux_sim))
    runtime = runtime_of(entry)
    await until(lambda: runtime.coordinator.push_connected)
    velux_sim.ws_enabled = False
    await velux_sim.ws_disconnect()
    await until(lambda: not runtime.coordinator.push_connected)
    for _ in range(3):
        await tick(60)  # polled every minute meanwhile
    velux_sim.set_position(SHUTTER_ID, 33)
    velux_sim.ws_enabled = True
    while not runtime.coordinator.push_connected:
        await tick(runtime.realtime.next_delay or 1.0)
    for _ in range(2):
        await tick(60)
    assert SHUTTER.attributes(hass).get("current_position") == 33
