"""Fixtures of the browser test: the demo (simulator + Home Assistant) and Debian's chromium.

The demo is started the way a person starts it, with ``scripts/demo --no-accounts`` (so the
test adds the accounts through the web interface), on ports of its own and with a fresh
configuration under ``.artifacts/browser/ha-config``. Its output goes to
``.artifacts/browser/demo.log``; screenshots go to ``.artifacts/browser/``.

Environment: ``VH_BROWSER_HA_PORT`` (18123), ``VH_BROWSER_SIM_PORT`` (18701: VELUX, +1 Homely,
+2 the simulator's control hooks), ``VH_BROWSER_CHROMIUM`` (/usr/bin/chromium),
``VH_BROWSER_DOCS=1`` (copy the screenshots to docs/browser/ after a passing run).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from playwright.sync_api import BrowserContext, Page, sync_playwright
import pytest

PROJECT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT / ".artifacts" / "browser"
DOCS = PROJECT / "docs" / "browser"
# What the demo prints once onboarding is done (scripts/demo).
READY_LINE = "Home Assistant is running on"
# Fresh machine: the demo's first start installs Home Assistant (scripts/check prepares it
# before the test, so this is only a safety net).
START_TIMEOUT = 15 * 60
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Demo:
    """The running demo: where Home Assistant and the simulators answer."""

    ha: str
    velux: str
    homely: str
    control: str
    log: Path


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the demo's whole process group: SIGINT like Ctrl+C, then harder."""
    for sig, wait in ((signal.SIGINT, 60), (signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    # Children that outlived the script (its group is its own session).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def demo() -> Iterator[Demo]:
    """Start ``scripts/demo --no-accounts`` with a fresh configuration; stop it afterwards."""
    ha_port = int(os.environ.get("VH_BROWSER_HA_PORT", "18123"))
    sim_port = int(os.environ.get("VH_BROWSER_SIM_PORT", "18701"))
    ports = (ha_port, sim_port, sim_port + 1, sim_port + 2)
    busy = [port for port in ports if not _port_free(port)]
    if busy:
        pytest.fail(f"ports {busy} are taken (VH_BROWSER_HA_PORT / VH_BROWSER_SIM_PORT)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    config = ARTIFACTS / "ha-config"
    shutil.rmtree(config, ignore_errors=True)
    log_path = ARTIFACTS / "demo.log"
    env = {
        **os.environ,
        "HA_PORT": str(ha_port),
        "VELUX_PORT": str(sim_port),
        "HOMELY_PORT": str(sim_port + 1),
        "SIM_CONTROL_PORT": str(sim_port + 2),
        "DEMO_CONFIG": str(config.relative_to(PROJECT)),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "scripts/demo", "--no-accounts"],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in log_path.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"scripts/demo ended ({process.returncode}):\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the demo did not start in {START_TIMEOUT} s:\n{_tail(log_path)}")
            time.sleep(1)
        yield Demo(
            ha=f"http://localhost:{ha_port}",
            velux=f"http://127.0.0.1:{sim_port}",
            homely=f"http://127.0.0.1:{sim_port + 1}",
            control=f"http://127.0.0.1:{sim_port + 2}",
            log=log_path,
        )
    finally:
        _stop(process)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def page(demo: Demo) -> Iterator[Page]:
    """A page of Debian's chromium, headless, with a profile of its own."""
    chromium = os.environ.get("VH_BROWSER_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context: BrowserContext = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
            timezone_id="Europe/Oslo",
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def publish_screenshots() -> None:
    """Copy the run's screenshots to docs/browser/ (VH_BROWSER_DOCS=1)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    for old in DOCS.glob("*.png"):
        old.unlink()
    for shot in sorted(ARTIFACTS.glob("*.png")):
        shutil.copy2(shot, DOCS / shot.name)
