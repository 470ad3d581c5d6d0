"""Fixtures of the Homely provider tests: fast timing and a set-up entry on the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.const import DOMAIN, PROVIDER_HOMELY
from custom_components.velux_homely.homely import const
from custom_components.velux_homely.homely.runtime import HomelyRuntime
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    LOCATION_ID,
    USER_ID,
    HomelySimulator,
)


@dataclass
class SleepRecorder:
    """Stands in for asyncio.sleep in the set-up retries: records, does not wait."""

    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def fast_tuning(monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
    """Shrink every wait of the Homely runtime (backoff, set-up retries)."""
    recorder = SleepRecorder()
    monkeypatch.setattr(
        const,
        "TUNING",
        replace(
            const.TUNING,
            backoff_initial=0.01,
            backoff_max=0.05,
            stable_after=60.0,
            connect_timeout=2.0,
            shutdown_timeout=2.0,
            sleep=recorder,
        ),
    )
    return recorder


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


async def wait_for(predicate: Callable[[], bool], limit: float = 5.0) -> None:
    """Let the loop run until ``predicate`` holds (socket traffic is real I/O)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def resyncs_idle(entry: MockConfigEntry) -> bool:
    """Return True when no location of the entry is in the middle of a ``/home`` resync.

    The simulator counts a request when it arrives; the integration is done with it only
    when the resync task has finished, so tests wait for both before looking at state.
    """
    return all(
        coordinator._resync_task is None or coordinator._resync_task.done()
        for coordinator in runtime_of(entry).coordinators.values()
    )


def runtime_of(entry: MockConfigEntry) -> HomelyRuntime:
    """Return the Homely runtime of a loaded entry."""
    runtime = entry.runtime_data
    assert isinstance(runtime, HomelyRuntime)
    return runtime


def all_live(entry: MockConfigEntry) -> bool:
    """Return True when every location of the entry has its live connection up."""
    runtime = runtime_of(entry)
    return bool(runtime.live) and all(live.connected for live in runtime.live.values())


@pytest.fixture
async def homely_sim(hass: Any, socket_enabled: Any) -> Any:
    """Start the Homely cloud; on teardown unload our entries before the cloud stops.

    (Stopping the cloud first would leave the live connections half-way.)
    """
    from homeassistant.config_entries import ConfigEntryState

    sim = HomelySimulator()
    await sim.start()
    yield sim
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await sim.stop()


@pytest.fixture
async def loaded_entry(hass: Any, homely_sim: HomelySimulator) -> Any:
    """Set up a Homely entry on the simulator and wait for both live connections."""
    from homeassistant.config_entries import ConfigEntryState

    entry = make_entry(homely_sim)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: all_live(entry))
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
