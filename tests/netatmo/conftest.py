"""Fixtures of the VELUX ACTIVE provider tests."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import contextlib
from dataclasses import replace
from datetime import timedelta
import socket
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.velux_homely.const import (
    CONF_BASE_URL,
    CONF_PROVIDER,
    CONF_SCAN_INTERVAL,
    DOMAIN,
    PROVIDER_VELUX,
)
from custom_components.velux_homely.netatmo import PLATFORMS, NetatmoRuntimeData
from custom_components.velux_homely.providers import PROVIDERS
from simulator.velux import DEMO_PASSWORD, DEMO_USERNAME, GATEWAY_ID, VeluxSimulator
from tests.conftest import VELUX_EPOCH

HOMESTATUS = "/api/homestatus"

type SetupEntry = Callable[..., Awaitable[MockConfigEntry]]
type Tick = Callable[[float], Awaitable[None]]
type SnapshotEntities = Callable[[Platform], Awaitable[MockConfigEntry]]


@pytest.fixture
async def velux_sim(
    socket_enabled: Any, freezer: FrozenDateTimeFactory
) -> AsyncIterator[VeluxSimulator]:
    """A VELUX ACTIVE cloud with a fixed wall clock, moving 20 % per simulated second.

    Time is frozen before the simulator starts, so that ``tick`` moves the clocks of
    Home Assistant and of the simulator together.
    """
    sim = VeluxSimulator(epoch=VELUX_EPOCH)
    # Polling is what most tests look at: the realtime service is down unless a test
    # turns it on (see the realtime tests).
    sim.ws_enabled = False
    await sim.start()
    yield sim
    await sim.stop()


def calls(sim: VeluxSimulator, since: int = 0) -> list[str]:
    """Return the paths requested since the log had ``since`` entries.

    A homestatus request is noted with the home it read: ``/api/homestatus:<home id>``.
    """
    return [
        f"{request.path}:{request.form.get('home_id')}"
        if request.path == HOMESTATUS
        else request.path
        for request in sim.requests[since:]
    ]


def make_entry(sim: VeluxSimulator, **data: Any) -> MockConfigEntry:
    """Return the config entry the config flow would create for the demo account."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"VELUX ACTIVE ({DEMO_USERNAME})",
        unique_id=f"{PROVIDER_VELUX}:{DEMO_USERNAME}",
        data={
            CONF_PROVIDER: PROVIDER_VELUX,
            CONF_USERNAME: DEMO_USERNAME,
            CONF_PASSWORD: DEMO_PASSWORD,
            CONF_BASE_URL: sim.base_url,
            **data,
        },
        options={CONF_SCAN_INTERVAL: 60},
    )


KEY = bytes(range(32))
"""The signing key the tests give the home's gateway."""
KEY_ID = bytes(range(100, 116))


def keyed_entry(sim: VeluxSimulator, **options: Any) -> MockConfigEntry:
    """Return an entry holding the home gateway's signing key (the simulator knows it too)."""
    sign_key_id = sim.add_signing_key(GATEWAY_ID, KEY_ID, KEY)
    entry = make_entry(
        sim,
        signing_keys={
            GATEWAY_ID: {
                "sign_key_id": sign_key_id,
                "hash_sign_key": base64.b64encode(KEY).decode(),
            }
        },
    )
    return MockConfigEntry(
        domain=entry.domain,
        title=entry.title,
        unique_id=entry.unique_id,
        data=entry.data,
        options={**entry.options, **options},
    )


@pytest.fixture
def setup_entry(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    only_platforms: Callable[[tuple[Platform, ...]], None],
) -> SetupEntry:
    """Return a function that sets up an entry (only ``platforms`` when given)."""

    async def _setup(
        entry: MockConfigEntry | None = None, platforms: tuple[Platform, ...] | None = None
    ) -> MockConfigEntry:
        entry = entry or make_entry(velux_sim)
        entry.add_to_hass(hass)
        only_platforms(platforms or PLATFORMS)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    return _setup


@pytest.fixture
def snapshot_entities(
    hass: HomeAssistant,
    setup_entry: SetupEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    enable_all_entities: None,
) -> SnapshotEntities:
    """Return a function that sets up one platform, every entity enabled, and snapshots it."""

    async def _snapshot(platform: Platform) -> MockConfigEntry:
        entry = await setup_entry(platforms=(platform,))
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
        return entry

    return _snapshot


@pytest.fixture
def only_platforms(monkeypatch: pytest.MonkeyPatch) -> Callable[[tuple[Platform, ...]], None]:
    """Return a function that limits the platforms VELUX ACTIVE entries set up (and unload)."""

    def _only(platforms: tuple[Platform, ...]) -> None:
        monkeypatch.setitem(
            PROVIDERS, PROVIDER_VELUX, replace(PROVIDERS[PROVIDER_VELUX], platforms=platforms)
        )

    return _only


def runtime_of(entry: ConfigEntry) -> NetatmoRuntimeData:
    """Return the runtime data of a loaded VELUX ACTIVE entry."""
    data = entry.runtime_data
    assert isinstance(data, NetatmoRuntimeData)
    return data


@pytest.fixture
def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Tick:
    """Return a function moving Home Assistant's and the simulator's clocks forward."""

    async def _tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass)

    return _tick


LONG_LIVED = ("realtime", "live connection")
"""Names of the background tasks that run as long as the entry (never waited for)."""


def _long_lived(task: asyncio.Future[Any]) -> bool:
    """Whether a background task runs as long as the entry.

    An executor job started outside a tracked task is a background task too: a plain future,
    without a name (never long-lived).
    """
    return isinstance(task, asyncio.Task) and any(name in task.get_name() for name in LONG_LIVED)


async def settle(hass: HomeAssistant) -> None:
    """Wait for what fell due: scheduled polls run as background tasks of the entry."""
    while True:
        await hass.async_block_till_done()
        pending = [
            task for task in hass._background_tasks if not task.done() and not _long_lived(task)
        ]
        if not pending:
            return
        await asyncio.wait(pending)


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """Yield a port on 127.0.0.1 where connection attempts get no answer at all.

    A listener that never accepts, its queue full: the kernel drops further attempts
    (as a host that is off or filtered does), so a connect waits until its timeout.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
