"""Fixtures of the Homely provider tests: a frozen clock, fast reconnects, the simulator.

Time is frozen (``freezer``) before the simulator starts, so :func:`tick` moves the clocks
of Home Assistant, of the client and of the simulator together. The live connections are
real Socket.IO sockets on 127.0.0.1: their traffic needs no timer, so tests wait for it
with :func:`until`, which lets the loop run (bounded by the real clock) without moving
the frozen one. The simulator's Engine.IO pings are hours apart, so that moving the clock
by minutes does not time the sockets out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.velux_homely.const import DOMAIN, PROVIDER_HOMELY
from custom_components.velux_homely.homely import HomelyRuntimeData, const
from custom_components.velux_homely.providers import PROVIDERS
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    LOCATION_ID,
    MOTION_ID,
    USER_ID,
    HomelySimulator,
)
from tests.helpers import Ent

HOME = f"/homely/home/{LOCATION_ID}"
CABIN_HOME = f"/homely/home/{CABIN_LOCATION_ID}"
LOGIN = "/homely/oauth/token"
REFRESH = "/homely/oauth/refresh-token"
LOCATIONS = "/homely/locations"
PING_SECONDS = 100_000.0

type Tick = Callable[[float], Awaitable[None]]


def ent(platform: Platform, device_id: str, key: str) -> Ent:
    """Return the entity ``key`` of a Homely device (unique id ``<device id>_<key>``)."""
    return Ent(platform, f"{device_id}_{key}")


PANEL = ent(Platform.ALARM_CONTROL_PANEL, LOCATION_ID, "alarm")
"""The alarm panel of the demo home."""
CABIN_PANEL = ent(Platform.ALARM_CONTROL_PANEL, CABIN_LOCATION_ID, "alarm")
"""The alarm panel of the cabin."""
MOTION = ent(Platform.BINARY_SENSOR, MOTION_ID, "motion")
"""The motion sensor in the demo home's hallway."""


@pytest.fixture(autouse=True)
def fast_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect after a hundredth of a (frozen) second instead of seconds."""
    monkeypatch.setattr(
        const,
        "LIVE_TIMING",
        replace(
            const.LIVE_TIMING,
            backoff_initial=0.01,
            backoff_max=0.05,
            connect_timeout=2.0,
            shutdown_timeout=2.0,
        ),
    )


def real_time() -> float:
    """Return the real monotonic clock (the frozen one does not move)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def until(predicate: Callable[[], bool], limit: float = 20.0) -> None:
    """Let the loop run until ``predicate`` holds (``limit`` real seconds at most)."""
    deadline = real_time() + limit
    while not predicate():
        if real_time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0)


def shows(hass: HomeAssistant, entity: Ent, state: str) -> Callable[[], bool]:
    """Return a predicate for :func:`until`: ``entity`` has the state ``state``."""
    return lambda: entity.state(hass) == state


def entry_data(sim: HomelySimulator, **extra: Any) -> dict[str, Any]:
    """Return the data of a Homely entry that talks to ``sim``."""
    return {
        "provider": PROVIDER_HOMELY,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "base_url": sim.base_url,
        "known_locations": {LOCATION_ID: "Demo Home", CABIN_LOCATION_ID: "Hytta"},
        **extra,
    }


def make_entry(sim: HomelySimulator, *, options: dict[str, Any] | None = None) -> MockConfigEntry:
    """Return a Homely entry for ``sim`` (not added to hass yet)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Homely ({DEMO_USERNAME})",
        unique_id=f"{PROVIDER_HOMELY}:{USER_ID}",
        data=entry_data(sim),
        options={"scan_interval": 2, **(options or {})},
    )


def runtime_of(entry: MockConfigEntry) -> HomelyRuntimeData:
    """Return the runtime data of a loaded Homely entry."""
    data = entry.runtime_data
    assert isinstance(data, HomelyRuntimeData)
    return data


def all_live(entry: MockConfigEntry) -> bool:
    """Return True when every location of the entry has its live connection up."""
    live = runtime_of(entry).live.connections
    return bool(live) and all(connection.connected for connection in live.values())


async def tick_until(tick: Tick, predicate: Callable[[], bool], step: float = 0.1) -> None:
    """Move the clock ``step`` seconds at a time until ``predicate`` holds (backoffs)."""
    for _ in range(600):
        if predicate():
            return
        await tick(step)
    raise AssertionError("condition not reached")


async def reconnected(entry: MockConfigEntry, tick: Tick) -> None:
    """Wait for dropped live connections to notice, then let their backoff run out."""
    connections = runtime_of(entry).live.connections.values()
    await until(lambda: not all_live(entry))
    deadline = real_time() + 20
    while not all_live(entry):
        if real_time() > deadline:
            raise AssertionError("the live connections did not come back")
        await until(
            lambda: (
                all_live(entry)
                or any(connection.next_delay is not None for connection in connections)
            )
        )
        if not all_live(entry):
            await tick(0.1)


def idle(sim: HomelySimulator, entry: MockConfigEntry | None = None) -> bool:
    """Return True when no REST request is in flight and no location is being read."""
    if sim.in_flight:
        return False
    if entry is None or entry.state is not ConfigEntryState.LOADED:
        return True
    return not any(c.reading for c in runtime_of(entry).coordinators.values())


async def settle(hass: HomeAssistant, sim: HomelySimulator) -> None:
    """Let every started read, request and callback finish."""
    for _ in range(3):
        await hass.async_block_till_done()
        entries = hass.config_entries.async_entries(DOMAIN)
        await until(lambda entries=entries: all(idle(sim, e) for e in entries))  # type: ignore[misc]
        for _ in range(20):
            await asyncio.sleep(0)


@pytest.fixture
def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, homely_sim: HomelySimulator) -> Tick:
    """Return a function moving every clock forward and letting what fell due finish."""

    async def _tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass, homely_sim)

    return _tick


@pytest.fixture
async def homely_sim(
    hass: HomeAssistant, socket_enabled: Any, freezer: FrozenDateTimeFactory
) -> AsyncIterator[HomelySimulator]:
    """Start the Homely cloud; on teardown unload our entries before the cloud stops.

    (Stopping the cloud first would leave the live connections half-way.)
    """
    # Tests move the clock by minutes in one step: the server's drops at token expiry
    # (which the renewals ahead of expiry avoid in real time) are left to their own tests.
    sim = HomelySimulator(
        ping_interval=PING_SECONDS, ping_timeout=PING_SECONDS, drop_at_token_expiry=False
    )
    await sim.start()
    yield sim
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await sim.stop()


async def setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add an entry to Home Assistant and set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def platforms() -> tuple[Platform, ...] | None:
    """The platforms ``loaded_entry`` sets up (None: all; platform tests override it)."""
    return None


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    monkeypatch: pytest.MonkeyPatch,
    platforms: tuple[Platform, ...] | None,
) -> AsyncIterator[MockConfigEntry]:
    """Set up a Homely entry on the simulator and wait for both live connections."""
    if platforms is not None:
        monkeypatch.setitem(
            PROVIDERS, PROVIDER_HOMELY, replace(PROVIDERS[PROVIDER_HOMELY], platforms=platforms)
        )
    entry = make_entry(homely_sim)
    await setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
def snapshot_entities(
    hass: HomeAssistant,
    enable_all_entities: None,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> Callable[[], Awaitable[None]]:
    """Return a function that snapshots the entities of ``loaded_entry`` (every one enabled,
    the module's ``platforms`` only)."""

    async def _snapshot() -> None:
        await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)

    return _snapshot


@pytest.fixture
def real_timing(monkeypatch: pytest.MonkeyPatch) -> const.LiveTiming:
    """Use the live timing of a real installation (request it before ``loaded_entry``).

    The other tests shrink the live connections' backoffs to hundredths of a second."""
    timing = replace(const.LiveTiming(), connect_timeout=2.0, shutdown_timeout=2.0)
    monkeypatch.setattr(const, "LIVE_TIMING", timing)
    return timing
