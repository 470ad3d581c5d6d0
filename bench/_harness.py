"""What the benchmarks share: they run inside Home Assistant's test harness.

Each benchmark is a pytest module with one test that prints figures; ``run`` starts pytest
on it, and ``preload`` imports, before the harness starts, what Home Assistant would
otherwise import in a worker thread during the run (the harness refuses such threads) and
our package before the harness puts its own ``custom_components`` first.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from pathlib import Path
import sys
from typing import Any, Protocol

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRELOAD = (
    "custom_components.velux_homely.alarm_control_panel",
    "custom_components.velux_homely.binary_sensor",
    "custom_components.velux_homely.config_flow",
    "custom_components.velux_homely.lock",
    "custom_components.velux_homely.sensor",
    "homeassistant.components.alarm_control_panel.condition",
    "homeassistant.components.alarm_control_panel.trigger",
    "homeassistant.components.binary_sensor.trigger",
    "homeassistant.components.lock.condition",
    "homeassistant.components.lock.trigger",
)


def preload() -> None:
    """Import the modules Home Assistant would load in a thread during the benchmark."""
    # Figures only: Home Assistant's set-up chatter would bury them.
    logging.getLogger().setLevel(logging.WARNING)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # not every module exists in every release
            importlib.import_module(name)


class _Quiet:
    """A pytest plugin that keeps Home Assistant's INFO chatter off the terminal."""

    @staticmethod
    def pytest_sessionstart() -> None:
        # The harness's plugin prints INFO records on a root handler (basicConfig).
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.setLevel(logging.WARNING)


def run(path: str) -> int:
    """Run the benchmark module ``path`` in the harness; its test prints the figures."""
    return pytest.main(
        [
            path,
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "setup.cfg"),
            "-W",
            "ignore",
            "--log-level=WARNING",
        ],
        plugins=[_Quiet()],
    )


class _Stoppable(Protocol):
    async def stop(self) -> None: ...


async def unload(hass: Any, entry: Any, sim: _Stoppable) -> None:
    """Unload the benchmark's entry and stop its simulator."""
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await sim.stop()


def main(path: str) -> None:
    """Run the benchmark module ``path`` as a script: exit with the harness's status."""
    sys.exit(run(path))
