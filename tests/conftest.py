"""Shared fixtures: Home Assistant with our integration and the cloud simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest.mock import PropertyMock, patch

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

if TYPE_CHECKING:
    from simulator.homely import HomelySimulator
    from simulator.velux import VeluxSimulator


VELUX_EPOCH = 1_750_000_000  # 2025-06-15T15:06:40Z
"""Wall clock of the VELUX simulator in every test (keeps ``last_seen`` stable)."""


SNAPSHOT_SET = f"ha{MAJOR_VERSION}.{MINOR_VERSION}"
"""Snapshots are kept per Home Assistant release: its registries serialise differently."""


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshot format, in ``snapshots/<release>/`` next to the test."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Return the snapshot folder of the running Home Assistant release."""
        return str(Path(test_location.filepath).parent / "snapshots" / SNAPSHOT_SET)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return the snapshot assertion of Home Assistant's format, kept per release."""
    return snapshot.use_extension(VersionedSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> Iterator[None]:
    """Let Home Assistant load custom_components/velux_homely in every test."""
    return


@pytest.fixture
def enable_all_entities() -> Iterator[None]:
    """Create the entities that are disabled by default as enabled (for snapshots)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


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
