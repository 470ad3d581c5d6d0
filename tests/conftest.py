"""Shared fixtures: Home Assistant with our integration and the cloud simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simulator.homely import HomelySimulator
    from simulator.velux import VeluxSimulator


VELUX_EPOCH = 1_790_000_000.0  # 2026-09-21T14:13:20Z


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> Iterator[None]:
    """Let Home Assistant load custom_components/velux_homely in every test."""
    return


@pytest.fixture
async def velux_sim(socket_enabled: Any) -> AsyncIterator[VeluxSimulator]:
    """Start a VELUX ACTIVE cloud on 127.0.0.1 for one test."""
    from simulator.velux import VeluxSimulator

    # A fixed wall clock keeps last_seen values (and so snapshots) stable.
    sim = VeluxSimulator(epoch=VELUX_EPOCH)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def homely_sim(socket_enabled: Any) -> AsyncIterator[HomelySimulator]:
    """Start a Homely cloud (REST + Socket.IO) on 127.0.0.1 for one test."""
    from simulator.homely import HomelySimulator

    sim = HomelySimulator()
    await sim.start()
    yield sim
    await sim.stop()
