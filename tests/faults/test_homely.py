"""The fault matrix of Homely: one fault each, then what the user sees afterwards.

Each scenario of :data:`SCENARIOS` starts from a healthy account (both demo locations read,
both live connections up, the service reached by its host name), injects one fault,
changes the cloud's state while the fault lasts (live events, and changes the live service
does not stream), lifts the fault and lets Home Assistant run on the frozen clock:
afterwards every entity of the entry shows the cloud's truth (:mod:`.truth`), nothing
logged a traceback, the error lines carry the scenario's translated message (none when the
user sees nothing), every location has exactly one live connection again, and a
reauthentication was asked for only when the credentials were refused (then the user
enters the new password and the entry shows the truth again). :data:`SETUP_SCENARIOS` do
the same for faults met while the entry is set up. README's reliability section lists
every scenario with what the user sees (``sees``; see :mod:`.reliability`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.velux_homely.api.homely import RATE_LIMIT_FALLBACK
from custom_components.velux_homely.const import DOMAIN, PROVIDER_HOMELY
from custom_components.velux_homely.homely.const import MIN_SCAN_INTERVAL
from simulator.homely import (
    CABIN_ENTRY_ID,
    CABIN_LOCATION_ID,
    DEMO_USERNAME,
    ENTRY_ID,
    FLOOD_ID,
    HAN_ID,
    LOCATION_ID,
    MOTION_ID,
    USER_ID,
    HomelySimulator,
)
from tests.helpers import Ent, device_of
from tests.homely.conftest import (
    CABIN_HOME,
    CABIN_PANEL,
    HOME,
    LOCATIONS,
    LOGIN,
    MOTION,
    PANEL,
    REFRESH,
    all_live,
    ent,
    entry_data,
    fast_reconnects,  # noqa: F401 - an autouse fixture
    homely_sim,  # noqa: F401 - a fixture
    runtime_of,
    until,
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
from .truth import compared, homely_differences

OAUTH = "/homely/oauth/"
"""Both token endpoints (login and refresh)."""
HOMES = "/homely/home/"
"""``/home`` of every location."""
ALARM_STATES = ("DISARMED", "ARMED_AWAY", "ARMED_NIGHT")
SLOW = 600.0
"""Seconds a slow cloud takes to answer: far longer than the client's timeout (20 s), so
that the client gives up a whole step of the clock before the answer would come."""
LIMIT_CAP = 15 * 60.0
"""Longest wait between two reads of a rate-limited location (issue 8)."""
HOURLY_READS = 8
"""Most reads of one location in an hour of a lasting rate limit (issue 8)."""
POLL = MIN_SCAN_INTERVAL * 60.0
"""Seconds between polls without a live connection (the entry's 2 minutes, shorter than
the read budget keeps, count as 8): a fault that ends the live connections shows from the
first poll, this long after."""

FRONT_DOOR = ent(Platform.BINARY_SENSOR, ENTRY_ID, "opening")
CABIN_DOOR = ent(Platform.BINARY_SENSOR, CABIN_ENTRY_ID, "opening")
TEMPERATURE = ent(Platform.SENSOR, MOTION_ID, "temperature")
DOOR_TEMPERATURE = ent(Platform.SENSOR, ENTRY_ID, "temperature")
POWER = ent(Platform.SENSOR, HAN_ID, "power")
SMOKE = ent(Platform.BINARY_SENSOR, ENTRY_ID, "smoke")
"""Appears when the window sensor first reports ``alarm.fire``."""
OLD_FLOOD = ent(Platform.BINARY_SENSOR, FLOOD_ID, "moisture")
LIMITED_UNTIL = Ent(Platform.SENSOR, f"{PROVIDER_HOMELY}:{USER_ID}_rate_limited_until")
"""The account's "Rate limited until" sensor."""

type Tick = Callable[[float], Awaitable[None]]


# -- what Home Assistant shows, what the cloud holds ------------------------------


def _on_off(value: Any) -> str:
    return "unknown" if value is None else ("on" if value else "off")


def _shown_state(hass: HomeAssistant, entity: Ent) -> str | None:
    state = entity.current(hass)
    return None if state is None else state.state


def _shown_alarm(hass: HomeAssistant, panel: Ent) -> str | None:
    state = panel.current(hass)
    if state is None or state.state == STATE_UNAVAILABLE:
        return None if state is None else STATE_UNAVAILABLE
    return str(state.attributes.get("homely_state"))


def shown(hass: HomeAssistant) -> dict[str, object]:
    """Return what Home Assistant shows of the values a scenario changes."""
    return {
        "alarm": _shown_alarm(hass, PANEL),
        "cabin alarm": _shown_alarm(hass, CABIN_PANEL),
        "motion": _shown_state(hass, MOTION),
        "temperature": _shown_state(hass, TEMPERATURE),
        "power": _shown_state(hass, POWER),
        "front door": _shown_state(hass, FRONT_DOOR),
        "front door temperature": _shown_state(hass, DOOR_TEMPERATURE),
        "cabin door": _shown_state(hass, CABIN_DOOR),
    }


def truth(sim: HomelySimulator) -> dict[str, object]:
    """Return what the cloud holds (the same keys as :func:`shown`)."""
    return {
        "alarm": sim.locations[LOCATION_ID].alarm_state,
        "cabin alarm": sim.locations[CABIN_LOCATION_ID].alarm_state,
        "motion": _on_off(sim.state(MOTION_ID, "alarm", "alarm")),
        "temperature": str(sim.state(MOTION_ID, "temperature", "temperature")),
        "power": str(sim.state(HAN_ID, "metering", "demand")),
        "front door": _on_off(sim.state(ENTRY_ID, "alarm", "alarm")),
        "front door temperature": str(sim.state(ENTRY_ID, "temperature", "temperature")),
        "cabin door": _on_off(sim.state(CABIN_ENTRY_ID, "alarm", "alarm")),
    }


STREAMED = ("alarm", "motion", "temperature", "power")
"""The keys :func:`change_the_truth` changes with a live event (the others only by REST)."""


def streamed_shown(hass: HomeAssistant, sim: HomelySimulator) -> bool:
    """Return True when every streamed value shows what the cloud holds."""
    now, held = shown(hass), truth(sim)
    return all(now[key] == held[key] for key in STREAMED)


async def change_the_truth(sim: HomelySimulator, salt: int) -> None:
    """Change the cloud's state while the fault lasts (nothing may be lost).

    Live events for the home; changes the live service does not stream (the front
    door, the cabin) show only with a read of ``/home``.
    """
    await sim.set_alarm_state(LOCATION_ID, ALARM_STATES[salt % 3])
    await sim.change_device(MOTION_ID, "alarm", "alarm", salt % 2 == 1)
    await sim.change_device(MOTION_ID, "temperature", "temperature", 20.0 + salt / 2)
    await sim.change_device(HAN_ID, "metering", "demand", 1500 + salt)
    await sim.change_device(ENTRY_ID, "alarm", "alarm", salt % 2 == 1, emit=False)
    await sim.change_device(ENTRY_ID, "temperature", "temperature", 18.0 + salt, emit=False)
    await sim.change_device(CABIN_ENTRY_ID, "alarm", "alarm", salt % 2 == 1, emit=False)
    sim.locations[CABIN_LOCATION_ID].alarm_state = ALARM_STATES[(salt + 1) % 3]


def assert_truth(hass: HomeAssistant, entry: MockConfigEntry, sim: HomelySimulator) -> None:
    """Every entity of the entry shows the cloud's truth."""
    assert compared(hass, entry) > 50
    assert homely_differences(hass, entry, sim) == {}


# -- the clock -----------------------------------------------------------------------


def quiet(hass: HomeAssistant, sim: HomelySimulator) -> bool:
    """Return True when nothing but an answer a slow cloud holds is under way.

    A request that ``delay_next`` holds waits for the clock to move (as the client's
    timeout does): the clock moves on while it waits.
    """
    if sim.in_flight > sim.delayed:
        return False
    if sim.delayed:
        return True
    for entry in hass.config_entries.async_entries(DOMAIN):
        data = getattr(entry, "runtime_data", None)
        coordinators = getattr(data, "coordinators", {})
        if any(coordinator.reading for coordinator in coordinators.values()):
            return False
    return True


async def settle(hass: HomeAssistant, sim: HomelySimulator) -> None:
    """Let every started read, request and callback finish (a delayed answer excepted)."""
    for _ in range(3):
        await hass.async_block_till_done()
        await until(lambda: quiet(hass, sim), limit=60)
        for _ in range(20):
            await asyncio.sleep(0)


@pytest.fixture
def tick(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    homely_sim: HomelySimulator,  # noqa: F811 - the fixture
) -> Tick:
    """Move every clock and let what fell due run (a slow answer waits for the next move)."""

    async def _tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass, homely_sim)

    return _tick


# -- the entry -------------------------------------------------------------------------


def named_entry(sim: HomelySimulator, *, cached: bool = True) -> MockConfigEntry:
    """Return a Homely entry that reaches ``sim`` by its host name (``cached``: the entry
    knows the account's locations, as every entry the config flow made does)."""
    data = entry_data(sim, base_url=Dns.url(sim.base_url, "homely"))
    if not cached:
        del data["known_locations"]
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Homely ({DEMO_USERNAME})",
        unique_id=f"{PROVIDER_HOMELY}:{USER_ID}",
        data=data,
        options={"scan_interval": 2},
    )


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,  # noqa: F811 - the fixture
    dns: Dns,
    freezer: FrozenDateTimeFactory,
) -> AsyncIterator[MockConfigEntry]:
    """A loaded Homely entry with both live connections up."""
    entry = named_entry(homely_sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    yield entry
    await unload(hass, entry, homely_sim, dns, freezer)


async def unload(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: HomelySimulator,
    dns: Dns,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Lift every fault and unload the entry, moving the clock while it closes.

    (A scenario that failed half-way may leave a request waiting for the clock: the
    unload would wait for it forever on a frozen clock.)
    """
    sim.clear_faults()
    sim.refuse_sockets = False
    sim.drop_at_token_expiry = False
    dns.broken = False
    if entry.state is ConfigEntryState.LOADED:
        task = asyncio.ensure_future(hass.config_entries.async_unload(entry.entry_id))
        for _ in range(100):
            for _ in range(50):
                await asyncio.sleep(0)
            if task.done():
                break
            freezer.tick(timedelta(seconds=5))
            async_fire_time_changed(hass)
        assert task.done()
        assert task.result()
        await hass.async_block_till_done()
    # The simulator stops only once the answers a slow cloud holds went out.
    freezer.tick(timedelta(seconds=SLOW))
    async_fire_time_changed(hass)
    await until(lambda: sim.in_flight == 0)


# -- scenarios -------------------------------------------------------------------------


@dataclass
class Context:
    """What a scenario acts on."""

    hass: HomeAssistant
    sim: HomelySimulator
    entry: MockConfigEntry
    tick: Tick
    dns: Dns
    requests: Stamped[Any]
    caplog: pytest.LogCaptureFixture
    notes: dict[str, Any] = field(default_factory=dict)


type Step = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True)
class Scenario(FaultScenario[Context]):
    """One fault of Homely: the shared fields, and the live connections'."""

    after: float = 31 * 60.0
    """Seconds Home Assistant runs after the fault is lifted (a slow resync included)."""
    streamed_during: bool = True
    """Live events show at once while the fault lasts (once the connections are back)."""
    ends_live: bool = False
    """The fault ends the live connections at once (events right then are lost)."""
    fine: bool = False
    """Move the clock to every read that falls due (not a minute at a time)."""


# -- the live connections --------------------------------------------------------


def steady(entry: MockConfigEntry) -> bool:
    """Return True when every location has one live connection up and none being opened."""
    connections = runtime_of(entry).live.connections.values()
    return all_live(entry) and all(
        len(c._connections) == 1 and c._connect_task is None for c in connections
    )


async def server_ends_connections(ctx: Context) -> None:
    """End every live connection from the server side and wait until they are back."""
    await until(lambda: steady(ctx.entry))
    await ctx.sim.disconnect()
    connections = runtime_of(ctx.entry).live.connections.values()
    await until(lambda: not any(c.connected for c in connections))
    await live_again(ctx.entry, ctx.tick)


async def live_again(entry: MockConfigEntry, tick: Tick) -> None:
    """Let the live connections come back: attempts run in real time, backoffs on the clock."""
    connections = runtime_of(entry).live.connections.values()
    for _ in range(100):
        await until(lambda: all_live(entry) or any(c.next_delay is not None for c in connections))
        if all_live(entry):
            return
        await tick(0.1)
    raise AssertionError("the live connections did not come back")


async def noticed_the_drop(ctx: Context) -> None:
    """Wait until every live connection noticed it was ended (before the clock moves)."""
    connections = runtime_of(ctx.entry).live.connections.values()
    await until(lambda: not any(c.connected for c in connections))


async def run_minute(ctx: Context, fine: bool) -> None:
    """Move the clock one minute: at once, or to every read that falls due meanwhile."""
    if not fine:
        await ctx.tick(60)
        return
    left = 60.0
    while left > 1e-6:
        coordinators = runtime_of(ctx.entry).coordinators.values()
        due = [c.next_read_in for c in coordinators if c.next_read_in is not None]
        step = min([left, *(max(seconds + 0.1, 1.0) for seconds in due)])
        await ctx.tick(step)
        left -= step


# -- the faults ---------------------------------------------------------------------


def _note_counts(ctx: Context) -> None:
    assert steady(ctx.entry)
    ctx.notes["home reads"] = ctx.sim.count(HOME), ctx.sim.count(CABIN_HOME)
    ctx.notes["logins"] = ctx.sim.logins
    ctx.notes["login requests"] = ctx.sim.count(LOGIN)
    ctx.notes["token requests"] = ctx.sim.count(LOGIN) + ctx.sim.count(REFRESH)


async def expire_tokens(ctx: Context) -> None:
    _note_counts(ctx)
    await ctx.sim.expire_access_tokens()
    await noticed_the_drop(ctx)


async def check_refreshed_not_logged_in(ctx: Context) -> None:
    assert ctx.sim.logins == ctx.notes["logins"]
    await check_reconnected_and_read(ctx)


async def refuse_refresh(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.expire_refresh_tokens()
    await ctx.sim.expire_access_tokens()
    await noticed_the_drop(ctx)


async def check_one_password_login(ctx: Context) -> None:
    assert ctx.sim.logins == ctx.notes["logins"] + 1
    await check_reconnected_and_read(ctx)


async def change_password(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.set_password(NEW_PASSWORD)
    ctx.sim.expire_refresh_tokens()
    await ctx.sim.expire_access_tokens()


async def check_live_stopped(ctx: Context) -> None:
    live = runtime_of(ctx.entry).live.connections.values()
    await until(lambda: all(not connection.connected for connection in live))
    assert ctx.sim.connections(LOCATION_ID) == ctx.sim.connections(CABIN_LOCATION_ID) == 0
    # the old password is not tried again and again
    assert ctx.sim.count(LOGIN) - ctx.notes["login requests"] <= 4


async def token_endpoint_down(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.fail_next(10_000, status=503, path=OAUTH)
    await ctx.sim.expire_access_tokens()


async def refresh_slow(ctx: Context) -> None:
    """The refresh endpoint answers after the client gave up (and rotates the token then)."""
    _note_counts(ctx)
    ctx.sim.delay_next(10_000, seconds=SLOW, path=REFRESH)
    await ctx.sim.expire_access_tokens()


async def login_slow(ctx: Context) -> None:
    """The refresh token is gone and the login endpoint answers after the client gave up."""
    _note_counts(ctx)
    ctx.sim.delay_next(10_000, seconds=SLOW, path=LOGIN)
    ctx.sim.expire_refresh_tokens()
    await ctx.sim.expire_access_tokens()


async def check_token_timeouts(ctx: Context) -> None:
    """The token requests timed out meanwhile; once answered, both locations were read."""
    tried = ctx.sim.count(LOGIN) + ctx.sim.count(REFRESH) - ctx.notes["token requests"]
    assert tried >= 2
    await check_read_after_heal(ctx)


async def check_read_after_heal(ctx: Context) -> None:
    """Both connections came back and each location was read again after the fault."""
    assert all(c.connects >= 2 for c in runtime_of(ctx.entry).live.connections.values())
    healed = ctx.notes["reads at heal"]
    assert ctx.sim.count(HOME) > healed[0]
    assert ctx.sim.count(CABIN_HOME) > healed[1]


async def lift(ctx: Context) -> None:
    ctx.sim.clear_faults()


async def home_down(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.fail_next(10_000, status=500, path=HOMES)


async def check_reads_were_tried(ctx: Context) -> None:
    assert ctx.notes["tried during"] >= 1


async def note_tried(ctx: Context) -> None:
    """Lift a fault of ``/home``, noting how many reads of the home met it."""
    ctx.notes["tried during"] = ctx.sim.count(HOME) - ctx.notes["home reads"][0]
    ctx.sim.clear_faults()


async def home_slow(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.delay_next(10_000, seconds=SLOW, path=HOMES)


async def home_garbage(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.malformed_next(10_000, path=HOMES)


async def home_without_location(ctx: Context) -> None:
    _note_counts(ctx)
    body = dict(ctx.sim.locations[LOCATION_ID].home())
    del body["locationId"]
    ctx.sim.answer_next(body, count=10_000, path=HOME)


async def partial_minute(ctx: Context, minute: int) -> None:
    """The partial answer (read at minute 30) neither removes nor blanks a device."""
    device = device_of(ctx.hass, ctx.entry, MOTION_ID)
    assert device is not None
    assert device.name == "Motion hallway"
    assert FRONT_DOOR.registered(ctx.hass)
    assert _shown_state(ctx.hass, FRONT_DOOR) in ("on", "off")
    assert _shown_state(ctx.hass, MOTION) in ("on", "off")
    assert _shown_state(ctx.hass, TEMPERATURE) not in ("unknown", STATE_UNAVAILABLE)


async def device_without_fields(ctx: Context) -> None:
    _note_counts(ctx)
    body = ctx.sim.locations[LOCATION_ID].home()
    devices: list[dict[str, Any]] = []
    for device in body["devices"]:
        if device["id"] == MOTION_ID:
            devices.append({"id": MOTION_ID})  # everything but the id missing
        elif device["id"] == ENTRY_ID:
            devices.append({key: value for key, value in device.items() if key != "id"})
        else:
            devices.append(device)
    ctx.sim.answer_next({**body, "devices": devices}, count=10_000, path=HOME)


async def storm(ctx: Context) -> None:
    """``/home`` answers 429 with ``retryAfter`` 4 s for an hour."""
    _note_counts(ctx)
    ctx.notes["hint"] = 4.0
    ctx.sim.rate_limit_next(10**6, retry_after=4, path=HOMES)
    await ctx.sim.disconnect()
    await noticed_the_drop(ctx)


async def storm_without_hint(ctx: Context) -> None:
    """``/home`` answers 429 without a hint for an hour."""
    _note_counts(ctx)
    ctx.notes["hint"] = None
    ctx.sim.rate_limit_next(10**6, retry_after=None, path=HOMES)
    await ctx.sim.disconnect()
    await noticed_the_drop(ctx)


async def storm_minute(ctx: Context, minute: int) -> None:
    """The server also ends the live connections while it rate limits (every 5 minutes)."""
    if limited_until_shown(ctx.hass, LIMITED_UNTIL):
        ctx.notes["limited shown"] = ctx.notes.get("limited shown", 0) + 1
    if minute % 5 == 0:
        await server_ends_connections(ctx)


async def storm_over(ctx: Context) -> None:
    ctx.sim.clear_faults()


def _path_is(path: str) -> Callable[[Any], bool]:
    """Return a test of a request: is it to ``path``?"""
    return lambda request: bool(request.path == path)


async def check_storm(ctx: Context) -> None:
    """Few reads, ever further apart: the back-off doubles from the cloud's hint (or a
    minute without one) up to 15 minutes, whatever the budget and the reconnections did;
    the account's "Rate limited until" sensor showed the limit meanwhile."""
    hint = ctx.notes["hint"]
    first = hint if hint is not None else RATE_LIMIT_FALLBACK
    start = ctx.notes["storm start"]
    for path in (HOME, CABIN_HOME):
        times = calls_between(ctx.requests, _path_is(path), start, ctx.notes["cut"])
        assert 3 <= len(times) <= HOURLY_READS, (path, times)
        assert_backoff(times, lambda k: min(first * 2.0 ** (k - 1), LIMIT_CAP))
    assert ctx.notes.get("limited shown", 0) >= 1


async def server_drop(ctx: Context) -> None:
    _note_counts(ctx)
    await ctx.sim.disconnect()
    await noticed_the_drop(ctx)


async def network_drop(ctx: Context) -> None:
    _note_counts(ctx)
    assert await ctx.sim.drop_network() == 2
    await noticed_the_drop(ctx)


async def check_reconnected_and_read(ctx: Context) -> None:
    """Both connections came back, and each location was read right after (not at the
    slow resync: the fault lasted minutes)."""
    assert all(c.connects == 2 for c in runtime_of(ctx.entry).live.connections.values())
    before, healed = ctx.notes["home reads"], ctx.notes["reads at heal"]
    assert healed[0] > before[0]
    assert healed[1] > before[1]


async def dns_fails(ctx: Context) -> None:
    """The service's name stops resolving and the network drops the live connections."""
    _note_counts(ctx)
    ctx.dns.broken = True
    assert await ctx.sim.drop_network() == 2
    await noticed_the_drop(ctx)


async def check_dns(ctx: Context) -> None:
    assert_dns_failed(ctx, "ClientConnectorDNSError")
    await check_read_after_heal(ctx)


async def drop_at_expiry(ctx: Context) -> None:
    """The connections opened from now on are ended by the server when their token expires."""
    _note_counts(ctx)
    ctx.sim.drop_at_token_expiry = True


async def expiry_minute(ctx: Context, minute: int) -> None:
    """Every event sent while a connection is up shows at once."""
    await until(lambda: steady(ctx.entry))
    await ctx.sim.change_device(MOTION_ID, "temperature", "temperature", 10.0 + minute)
    await until(lambda: TEMPERATURE.state(ctx.hass) == str(10.0 + minute))


async def no_expiry_drops(ctx: Context) -> None:
    ctx.sim.drop_at_token_expiry = False


async def check_no_backoff(ctx: Context) -> None:
    assert ctx.sim.expiry_drops > 0
    for live in runtime_of(ctx.entry).live.connections.values():
        assert live.last_delay in (None, 0.0), live.diagnostics()


async def slow_renewal_minute(ctx: Context, minute: int) -> None:
    """Minute 2: the renewals wait at the server while it ends the old connections."""
    if minute == 1:
        await until(lambda: steady(ctx.entry))
        ctx.notes["holds"] = [ctx.sim.hold_next_socket(), ctx.sim.hold_next_socket()]
    if minute != 2:
        return
    holds = ctx.notes["holds"]
    await until(lambda: all(hold.ready.is_set() for hold in holds))
    await until(lambda: ctx.sim.connections(LOCATION_ID) == 0)
    await until(lambda: ctx.sim.connections(CABIN_LOCATION_ID) == 0)
    # no connection is up: the live service sends this change to nobody
    await ctx.sim.change_device(MOTION_ID, "temperature", "temperature", 30.5)
    ctx.sim.locations[LOCATION_ID].alarm_state = "ARMED_STAY"
    for hold in holds:
        hold.release()
    await until(lambda: steady(ctx.entry))
    # the renewed connections read what they missed, as after a reconnection
    await until(lambda: TEMPERATURE.state(ctx.hass) == "30.5")
    await until(lambda: _shown_alarm(ctx.hass, PANEL) == "ARMED_STAY")


async def refuse_sockets(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.sim.refuse_sockets = True
    await ctx.sim.disconnect()


async def accept_sockets(ctx: Context) -> None:
    ctx.sim.refuse_sockets = False


async def check_polled_within_budget(ctx: Context) -> None:
    """Without live connections each location was polled, two reads per 15 minutes at most."""
    assert ctx.sim.rejected_connects > 0
    before, healed = ctx.notes["home reads"], ctx.notes["reads at heal"]
    for location in (0, 1):
        assert 1 <= healed[location] - before[location] <= 4, (before, healed)


async def add_and_remove(ctx: Context) -> None:
    _note_counts(ctx)
    ctx.notes["new"] = ctx.sim.add_device(LOCATION_ID, "Flood Alarm", name="Boiler room flood")
    ctx.sim.remove_device(FLOOD_ID)


async def new_device_reports(ctx: Context, minute: int) -> None:
    """Minute 6: the new device's first live event reads the location at once."""
    if minute != 6:
        return
    new = ent(Platform.BINARY_SENSOR, ctx.notes["new"], "moisture")
    assert not new.registered(ctx.hass)
    assert OLD_FLOOD.registered(ctx.hass)
    await ctx.sim.change_device(ctx.notes["new"], "alarm", "flood", True)
    await until(lambda: new.registered(ctx.hass) and not OLD_FLOOD.registered(ctx.hass))
    await settle(ctx.hass, ctx.sim)
    assert new.state(ctx.hass) == "on"
    assert ctx.sim.count(HOME) == ctx.notes["home reads"][0] + 1


async def check_added_and_removed(ctx: Context) -> None:
    assert ent(Platform.BINARY_SENSOR, ctx.notes["new"], "moisture").state(ctx.hass) == "on"
    assert not OLD_FLOOD.registered(ctx.hass)
    assert device_of(ctx.hass, ctx.entry, FLOOD_ID) is None
    assert device_of(ctx.hass, ctx.entry, ctx.notes["new"]) is not None


async def new_state(ctx: Context) -> None:
    _note_counts(ctx)
    assert SMOKE.current(ctx.hass) is None
    await ctx.sim.change_device(ENTRY_ID, "alarm", "fire", True, create=True)
    await until(lambda: SMOKE.current(ctx.hass) is not None)
    assert SMOKE.state(ctx.hass) == "on"
    assert ctx.sim.count(HOME) == ctx.notes["home reads"][0]


async def check_new_state(ctx: Context) -> None:
    assert SMOKE.state(ctx.hass) == "on"


async def clock_jump(ctx: Context) -> None:
    _note_counts(ctx)
    await ctx.tick(5 * 3600)


async def check_logged_in_again(ctx: Context) -> None:
    """The refresh token expired in the jump: one password login, no reauthentication."""
    assert ctx.sim.logins == ctx.notes["logins"] + 1


SCENARIOS = [
    Scenario(
        "access token expired",
        "nothing: the live connections come back at once with a refreshed token and read "
        "what they missed",
        expire_tokens,
        ends_live=True,
        check=check_refreshed_not_logged_in,
    ),
    Scenario(
        "refresh token refused",
        "nothing: one password login replaces the refused refresh, no reauthentication",
        refuse_refresh,
        ends_live=True,
        check=check_one_password_login,
    ),
    Scenario(
        "password changed",
        'one reauthentication request and "The cloud refused the credentials" in the log; '
        "live updates stopped and, from the next poll (8 minutes at the default interval), "
        "entities unavailable until the new password is entered, then everything shows the "
        "cloud's state",
        change_password,
        during=POLL + 2 * 60,
        unavailable_during=True,
        streamed_during=False,
        reauth=True,
        message="auth_failed",
        check=check_live_stopped,
    ),
    Scenario(
        "token endpoint 503",
        "entities unavailable from the first poll (8 minutes after the live connections "
        'ended, at the default interval) while no token can be had ("Reading the cloud '
        'failed" in the log); back by themselves afterwards, no reauthentication',
        token_endpoint_down,
        lift,
        during=POLL + 2 * 60,
        unavailable_during=True,
        streamed_during=False,
        message="update_failed",
    ),
    Scenario(
        "refresh endpoint timeout",
        "entities unavailable from the first poll (8 minutes after the live connections "
        "ended, at the default interval) while the token cannot be refreshed "
        '("Reading the cloud failed: Timeout ..." in the log); back by themselves '
        "afterwards, no reauthentication",
        refresh_slow,
        lift,
        during=POLL + 4 * 60,
        unavailable_during=True,
        streamed_during=False,
        message="update_failed",
        check=check_token_timeouts,
    ),
    Scenario(
        "login endpoint timeout",
        "entities unavailable from the first poll (8 minutes after the live connections "
        'ended, at the default interval) while no login answers ("Reading the cloud '
        'failed"); back by themselves afterwards, no reauthentication',
        login_slow,
        lift,
        during=POLL + 4 * 60,
        unavailable_during=True,
        streamed_during=False,
        message="update_failed",
        check=check_token_timeouts,
    ),
    Scenario(
        "home HTTP 500",
        "nothing while live updates flow; the next read catches up",
        home_down,
        note_tried,
        during=31 * 60,
        check=check_reads_were_tried,
    ),
    Scenario(
        "home timeout",
        "nothing while live updates flow; the next read catches up",
        home_slow,
        note_tried,
        during=31 * 60,
        check=check_reads_were_tried,
    ),
    Scenario(
        "malformed home JSON",
        "nothing while live updates flow; the next read catches up",
        home_garbage,
        note_tried,
        during=31 * 60,
        check=check_reads_were_tried,
    ),
    Scenario(
        "home without locationId",
        "nothing while live updates flow; the answer is ignored",
        home_without_location,
        note_tried,
        during=31 * 60,
        check=check_reads_were_tried,
    ),
    Scenario(
        "home with devices missing fields",
        "nothing lost: devices and entities stay, the next full answer catches up",
        device_without_fields,
        note_tried,
        during=31 * 60,
        each_minute=partial_minute,
        check=check_reads_were_tried,
    ),
    Scenario(
        "an hour of 429 with retryAfter",
        'entities keep their last state, live updates flow, "Rate limited until" shows the '
        "limit; at most 8 reads a location, ever further apart (doubling up to 15 minutes)",
        storm,
        storm_over,
        during=60 * 60,
        ends_live=True,
        fine=True,
        each_minute=storm_minute,
        check=check_storm,
    ),
    Scenario(
        "an hour of 429 without retryAfter",
        'entities keep their last state, live updates flow, "Rate limited until" shows the '
        "limit; reads wait a minute, then ever longer (up to 15 minutes)",
        storm_without_hint,
        storm_over,
        during=60 * 60,
        ends_live=True,
        fine=True,
        each_minute=storm_minute,
        check=check_storm,
    ),
    Scenario(
        "live connection dropped by the server",
        "nothing: reconnected with a fresh token, missed changes read at once",
        server_drop,
        ends_live=True,
        check=check_reconnected_and_read,
    ),
    Scenario(
        "live connection cut by the network",
        "nothing: reconnected, missed changes read at once",
        network_drop,
        ends_live=True,
        check=check_reconnected_and_read,
    ),
    Scenario(
        "DNS failure while running",
        "entities unavailable once a poll fails (8 minutes after the live connections "
        'ended, at the default interval; "Reading the cloud failed: Cannot reach Homely '
        '(...): ClientConnectorDNSError"); reconnected and read again by themselves when '
        "names resolve",
        dns_fails,
        dns_back,
        during=POLL + 2 * 60,
        unavailable_during=True,
        streamed_during=False,
        ends_live=True,
        message="update_failed",
        check=check_dns,
    ),
    Scenario(
        "server ends live connections at token expiry",
        "nothing: connections renewed or reconnected at once, no growing backoff, every "
        "event shows",
        drop_at_expiry,
        no_expiry_drops,
        during=10 * 60,
        each_minute=expiry_minute,
        check=check_no_backoff,
    ),
    Scenario(
        "server ends live connections while their renewal is slow",
        "nothing: what the live service sent in the gap is read at once",
        drop_at_expiry,
        no_expiry_drops,
        each_minute=slow_renewal_minute,
        check=check_no_backoff,
    ),
    Scenario(
        "live service refuses connections",
        "entities keep their values and follow by polling (within the read budget); live "
        "again once connections are accepted",
        refuse_sockets,
        accept_sockets,
        during=20 * 60,
        streamed_during=False,
        check=check_polled_within_budget,
    ),
    Scenario(
        "device added and one removed",
        "the new device's entities appear with its first event and the removed one's go, "
        "without a reload",
        add_and_remove,
        during=10 * 60,
        each_minute=new_device_reports,
        check=check_added_and_removed,
    ),
    Scenario(
        "state first seen in a live event",
        "its entity appears at once, without a read",
        new_state,
        check=check_new_state,
    ),
    Scenario(
        "clock jumps 5 hours",
        "nothing: tokens, connections and reads catch up (one password login)",
        clock_jump,
        check=check_logged_in_again,
    ),
]


def _unavailable(hass: HomeAssistant) -> bool:
    shown_now = (
        _shown_state(hass, PANEL),
        _shown_state(hass, MOTION),
        _shown_state(hass, CABIN_PANEL),
    )
    return STATE_UNAVAILABLE in shown_now


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
async def test_fault(  # noqa: PLR0917
    hass: HomeAssistant,
    homely_sim: HomelySimulator,  # noqa: F811 - the fixture
    entry: MockConfigEntry,
    dns: Dns,
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    scenario: Scenario,
) -> None:
    """One fault, then what the user sees."""
    assert_truth(hass, entry, homely_sim)
    requests = stamp_requests(homely_sim)
    ctx = Context(hass, homely_sim, entry, tick, dns, requests, caplog)

    ctx.notes["storm start"] = homely_sim.now()
    await scenario.inject(ctx)
    await change_the_truth(homely_sim, 1)
    if scenario.streamed_during and not scenario.ends_live:
        await until(lambda: streamed_shown(hass, homely_sim))
    seen = Seen()
    for minute in range(1, int(scenario.during // 60) + 1):
        await run_minute(ctx, scenario.fine)
        await scenario.each_minute(ctx, minute)
        seen.note(unavailable=_unavailable(hass))
    if scenario.streamed_during:
        await until(lambda: steady(entry))
    await change_the_truth(homely_sim, 2)
    if scenario.streamed_during:
        await until(lambda: streamed_shown(hass, homely_sim))
    ctx.notes["reads at heal"] = homely_sim.count(HOME), homely_sim.count(CABIN_HOME)
    ctx.notes["cut"] = homely_sim.now()
    await scenario.heal(ctx)
    for _ in range(int(scenario.after // 60)):
        await tick(60)

    await assert_user_saw(
        ctx, scenario, seen, lambda: loaded_again(hass, entry, homely_sim, freezer, tick)
    )
    await live_again(entry, tick)
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1
    assert_truth(hass, entry, homely_sim)
    assert not limited_until_shown(hass, LIMITED_UNTIL)
    assert repair_issues(hass) == set()  # Homely raises none: every fault here passes


async def advance(
    hass: HomeAssistant, sim: HomelySimulator, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move the clock without waiting for Home Assistant's tasks to finish.

    A set-up (or a set-up retry) is a task Home Assistant waits for; one that waits for a
    slow cloud waits for the clock: ``async_block_till_done`` would wait for ever.
    """
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await until(lambda: quiet(hass, sim), limit=60)
    for _ in range(50):
        await asyncio.sleep(0)


async def loaded_again(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: HomelySimulator,
    freezer: FrozenDateTimeFactory,
    tick: Tick,
) -> None:
    """Let the entry load again (a reload or set-up retry) with both connections up."""
    for _ in range(40 * 6):
        if entry.state is ConfigEntryState.LOADED and all_live(entry):
            break
        await advance(hass, sim, freezer, 10)
    assert entry.state is ConfigEntryState.LOADED, entry.state
    await until(lambda: all_live(entry))
    # the locations a set-up retry could not read yet (the read budget) follow
    await tick(16 * 60)


# -- faults at set-up ----------------------------------------------------------------


@dataclass(frozen=True)
class SetupScenario(SetupFaultScenario[HomelySimulator]):
    """A fault of Homely met at set-up."""

    cached: bool = True
    """The entry knows the account's locations (every entry the config flow made does)."""
    loads: bool = False
    """The entry loads at once anyway."""


def _locations_down(sim: HomelySimulator, dns: Dns) -> None:
    sim.fail_next(10_000, status=500, path=LOCATIONS)


def _locations_slow(sim: HomelySimulator, dns: Dns) -> None:
    sim.delay_next(10_000, seconds=SLOW, path=LOCATIONS)


def _names_fail(sim: HomelySimulator, dns: Dns) -> None:
    dns.broken = True


def _login_down(sim: HomelySimulator, dns: Dns) -> None:
    sim.fail_next(10_000, status=503, path=LOGIN)


def _password_changed(sim: HomelySimulator, dns: Dns) -> None:
    sim.set_password(NEW_PASSWORD)


SETUP_SCENARIOS = [
    SetupScenario(
        "locations HTTP 500 at set-up",
        "nothing: the locations the entry remembers are read and go live",
        _locations_down,
        loads=True,
    ),
    SetupScenario(
        "locations timeout at set-up",
        "nothing but a slower start: the locations the entry remembers are used",
        _locations_slow,
        loads=True,
    ),
    SetupScenario(
        "locations HTTP 500 at set-up, no remembered locations",
        '"Retrying setup: The cloud cannot be reached" on the integration page; loads by '
        "itself once the cloud answers",
        _locations_down,
        cached=False,
        message="cannot_connect",
    ),
    SetupScenario(
        "locations timeout at set-up, no remembered locations",
        '"Retrying setup: The cloud cannot be reached: Timeout ..."; loads by itself once '
        "the cloud answers",
        _locations_slow,
        cached=False,
        message="cannot_connect",
    ),
    SetupScenario(
        "DNS failure at set-up",
        '"Retrying setup: Reading the cloud failed: Cannot reach Homely (...): '
        'ClientConnectorDNSError"; loads by itself once names resolve, no reauthentication',
        _names_fail,
        message="update_failed",
        reason="ClientConnectorDNSError",
    ),
    SetupScenario(
        "login endpoint 503 at set-up",
        '"Retrying setup: Reading the cloud failed: ..."; loads by itself, no reauthentication',
        _login_down,
        message="update_failed",
    ),
    SetupScenario(
        "password refused at set-up",
        "one reauthentication request; loads once the new password is entered",
        _password_changed,
        reauth=True,
    ),
]


async def _set_up(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: HomelySimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Set the entry up; a slow cloud's answer needs the clock to move meanwhile.

    (Home Assistant's ``async_block_till_done`` would wait for the set-up, which waits for
    the clock: the clock moves without it until the set-up is done.)
    """
    entry.add_to_hass(hass)
    task = asyncio.ensure_future(hass.config_entries.async_setup(entry.entry_id))
    for _ in range(60):
        with contextlib.suppress(AssertionError):
            await until(task.done, limit=0.5)
        if task.done():
            break
        freezer.tick(timedelta(seconds=5))
        async_fire_time_changed(hass)
    assert task.done()
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "scenario", SETUP_SCENARIOS, ids=[scenario.name for scenario in SETUP_SCENARIOS]
)
async def test_setup_fault(  # noqa: PLR0917
    hass: HomeAssistant,
    homely_sim: HomelySimulator,  # noqa: F811 - the fixture
    dns: Dns,
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    scenario: SetupScenario,
) -> None:
    """A fault met at set-up: what the integration page says, then the truth."""
    entry = named_entry(homely_sim, cached=scenario.cached)
    scenario.inject(homely_sim, dns)
    try:
        await _set_up(hass, entry, homely_sim, freezer)
        if scenario.reauth:
            assert entry.state is ConfigEntryState.SETUP_ERROR
            assert reauth_flows(hass) == ["reauth"]
            await reauthenticate(hass, NEW_PASSWORD)
        elif scenario.loads:
            assert entry.state is ConfigEntryState.LOADED
        else:
            assert entry.state is ConfigEntryState.SETUP_RETRY
            assert scenario.message is not None
            assert translated(scenario.message).search(shown_reason(entry)), shown_reason(entry)
            assert scenario.reason in shown_reason(entry), shown_reason(entry)
            for _ in range(int(scenario.during // 10)):
                await advance(hass, homely_sim, freezer, 10)
            # not loaded: waiting for the next attempt, or an attempt waits for the cloud
            assert entry.state in (
                ConfigEntryState.SETUP_RETRY,
                ConfigEntryState.SETUP_IN_PROGRESS,
            )
        homely_sim.clear_faults()
        dns.broken = False
        await loaded_again(hass, entry, homely_sim, freezer, tick)

        assert tracebacks(caplog) == [], lines(tracebacks(caplog))
        if not scenario.reauth:
            assert reauth_flows(hass) == []
        assert homely_sim.connections(LOCATION_ID) == 1
        assert homely_sim.connections(CABIN_LOCATION_ID) == 1
        assert_truth(hass, entry, homely_sim)
    finally:
        await unload(hass, entry, homely_sim, dns, freezer)


# -- Home Assistant stops -------------------------------------------------------------


HA_STOP_SEES = (
    "Home Assistant stops at once while a live connection is half-way through "
    "reconnecting: no traceback, no task or socket left behind"
)


async def test_home_assistant_stops_while_a_live_connection_reconnects(  # noqa: PLR0917
    hass: HomeAssistant,
    homely_sim: HomelySimulator,  # noqa: F811 - the fixture
    entry: MockConfigEntry,
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant stops while one live connection waits to reconnect and the other's
    attempt is half-way: no traceback, no task left behind, no socket left open, and
    every entity still shows the cloud's truth (nothing blanked on the way out)."""
    runtime = runtime_of(entry)
    tasks = list(runtime.live._tasks.values())
    hold = homely_sim.hold_next_socket()
    homely_sim.refuse_sockets = True
    await homely_sim.disconnect()
    await until(lambda: all(c.next_delay is not None for c in runtime.live.connections.values()))
    freezer.tick(timedelta(seconds=0.1))
    async_fire_time_changed(hass)
    await until(hold.ready.is_set)
    await until(lambda: any(c.next_delay is not None for c in runtime.live.connections.values()))
    # one location waits for its next attempt, the other's attempt is half-way
    assert sum(c._connect_task is not None for c in runtime.live.connections.values()) == 1
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    # The stop waits for the attempt on the (frozen) clock: move it without blocking on
    # the stop itself.
    for _ in range(40):
        if all(task.done() for task in tasks):
            break
        freezer.tick(timedelta(seconds=0.5))
        async_fire_time_changed(hass)
        with contextlib.suppress(AssertionError):
            await until(lambda: all(task.done() for task in tasks), limit=0.05)
    assert all(task.done() for task in tasks)
    hold.release()
    await hass.async_block_till_done()
    await tick(60)
    assert all(live.stopping for live in runtime.live.connections.values())
    assert not any(live.connected for live in runtime.live.connections.values())
    assert homely_sim.connections(LOCATION_ID) == homely_sim.connections(CABIN_LOCATION_ID) == 0
    assert tracebacks(caplog) == [], lines(tracebacks(caplog))
    assert_message(caplog, None)
    assert_truth(hass, entry, homely_sim)
