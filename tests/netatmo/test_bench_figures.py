"""The VELUX benchmark's printed figures (bench/velux_realtime.py), without running it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "velux_realtime.py"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Load the benchmark module without the harness's preloading (it sets log levels)."""
    harness = ModuleType("_harness")
    harness.preload = lambda: None  # type: ignore[attr-defined]
    harness.main = lambda _path: None  # type: ignore[attr-defined]
    harness.unload = lambda *_args: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "_harness", harness)
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("velux_realtime_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figures_of_a_run_that_saw_everything(bench: ModuleType) -> None:
    assert bench.command_figures("with push", 2, 0, 27.0, 27.25) == (
        "with push: homestatus per home in an idle hour 2; a shutter move 100 -> 10 % "
        "(27.0 s of travel) cost 0 homestatus; final position shown 0.25 s after the "
        "cloud reported it"
    )


def test_a_final_position_never_seen_is_said_not_seen(bench: ModuleType) -> None:
    # Neither in the cloud nor in Home Assistant within the 180 s followed.
    assert bench.command_figures("without push", 60, 8, None, None) == (
        "without push: homestatus per home in an idle hour 60; a shutter move 100 -> 10 % "
        "(final position not seen in the cloud) cost 8 homestatus; final position not "
        "seen in Home Assistant"
    )
    # Seen in the cloud, never shown.
    assert bench.command_figures("without push", 60, 8, 27.0, None).endswith(
        "(27.0 s of travel) cost 8 homestatus; final position not seen in Home Assistant"
    )
