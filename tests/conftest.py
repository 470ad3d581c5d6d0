"""Shared fixtures: Home Assistant with our integration and the cloud simulators.

Every run also fails on a deprecated use: a log record (Home Assistant reports them in
the log: "Detected that custom integration 'velux_homely' ... will stop working", "The
deprecated constant ... was used from velux_homely") or a warning that names this
integration and a deprecation fails the test it came from, or the run when it came
outside a test (an import during collection, say).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import logging
from pathlib import Path
import re
from typing import TYPE_CHECKING, Any
from unittest.mock import PropertyMock, patch
import warnings

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

if TYPE_CHECKING:
    from simulator.homely import HomelySimulator
    from simulator.velux import VeluxSimulator

DOMAIN = "velux_homely"
DEPRECATION = re.compile(r"deprecat|will stop working|will be removed", re.IGNORECASE)


def names_our_deprecation(text: str) -> bool:
    """Return True when ``text`` names this integration together with a deprecation."""
    return DOMAIN in text and DEPRECATION.search(text) is not None


class DeprecationLog(logging.Handler):
    """Collects the log records that name this integration and a deprecation."""

    def __init__(self) -> None:
        """Collect into ``outside`` until a test opens its own list."""
        super().__init__(logging.NOTSET)
        self.outside: list[str] = []
        self.current: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record when it reports a deprecated use by this integration."""
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to judge
            return
        if names_our_deprecation(message):
            found = self.current if self.current is not None else self.outside
            found.append(f"{record.levelname} {record.name}: {message}")


DEPRECATION_LOG = DeprecationLog()
DEPRECATION_WARNINGS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Watch the log from the start (imports during collection report too)."""
    logging.getLogger().addHandler(DEPRECATION_LOG)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop watching the log."""
    logging.getLogger().removeHandler(DEPRECATION_LOG)


def pytest_warning_recorded(
    warning_message: warnings.WarningMessage, when: str, nodeid: str, location: Any
) -> None:
    """Keep warnings about this integration's deprecated uses (they fail the run)."""
    category = warning_message.category
    from_our_code = "custom_components/velux_homely/" in str(warning_message.filename)
    if names_our_deprecation(f"{warning_message.message} {warning_message.filename}") or (
        from_our_code and issubclass(category, DeprecationWarning | PendingDeprecationWarning)
    ):
        DEPRECATION_WARNINGS.append(
            f"{nodeid or when}: {category.__name__}: {warning_message.message} "
            f"({warning_message.filename}:{warning_message.lineno})"
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the deprecated uses reported outside a test, and the warnings."""
    found = DEPRECATION_LOG.outside + DEPRECATION_WARNINGS
    if found:
        terminalreporter.section("deprecated uses by velux_homely", red=True)
        for line in found:
            terminalreporter.line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run on a deprecated use reported outside a test, or a warning."""
    if DEPRECATION_LOG.outside or DEPRECATION_WARNINGS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def fail_on_deprecations() -> Iterator[None]:
    """Fail the test when Home Assistant logs a deprecated use by this integration.

    Set up before ``hass`` (see ``auto_enable_custom_integrations``) and so torn down
    after it: start-up, the test and the unload all count.
    """
    found: list[str] = []
    DEPRECATION_LOG.current = found
    try:
        yield
    finally:
        DEPRECATION_LOG.current = None
    if found:
        pytest.fail(
            "Home Assistant reported a deprecated use by velux_homely:\n" + "\n".join(found),
            pytrace=False,
        )


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
def snapshot(request: pytest.FixtureRequest) -> SnapshotAssertion:
    """Return the snapshot assertion of Home Assistant's format, kept per release.

    Built like syrupy's own fixture, not from it: an assertion of Home Assistant's
    extension would discover the snapshots of every release under ``snapshots/`` and
    ``--snapshot-update`` would delete those of the other releases as unused.
    """
    options: dict[str, Any] = {}
    if hasattr(request.config.option, "update_new_snapshots_only"):  # syrupy >= 6
        options["update_new_snapshots_only"] = request.config.option.update_new_snapshots_only
    return SnapshotAssertion(
        update_snapshots=request.config.option.update_snapshots,
        extension_class=VersionedSnapshotExtension,
        test_location=PyTestLocation(request.node),
        session=request.session.config._syrupy,  # type: ignore[attr-defined]
        **options,
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    fail_on_deprecations: None, enable_custom_integrations: Any
) -> None:
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
