"""The automation blueprints of blueprints/automation/velux_homely, with both clouds.

Each test copies the blueprints into the configuration folder of the test's Home
Assistant, creates an automation from one of them with real VELUX ACTIVE and Homely entries
against the simulators, makes the situation happen in a simulator and checks what the
user would see: the commands the VELUX cloud got, the windows, departure mode and the
notification.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
import json
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock.const import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.velux_homely.const import DOMAIN
from simulator.homely import LOCATION_ID, HomelySimulator
from simulator.velux import GATEWAY_ID, HOME_ID, WINDOW_ID, VeluxSimulator
from tests.conftest import VELUX_EPOCH
from tests.helpers import Ent, state_of
from tests.homely.conftest import (
    PANEL,
    PING_SECONDS,
    all_live,
    make_entry as homely_entry,
    until,
)
from tests.netatmo.conftest import make_entry as velux_entry, settle

ROOT = Path(__file__).parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / "velux_homely"
INTEGRATION = ROOT / "custom_components" / "velux_homely"
RAIN = Ent(Platform.BINARY_SENSOR, f"{GATEWAY_ID}_rain")
WINDOW = Ent(Platform.COVER, f"{WINDOW_ID}_cover")
DEPARTURE = Ent(Platform.LOCK, f"{GATEWAY_ID}_departure")

type Tick = Callable[[float], Awaitable[None]]


def close_window() -> dict[str, Any]:
    """Return the setstate that closes the roof window."""
    return {
        "home": {
            "id": HOME_ID,
            "modules": [{"id": WINDOW_ID, "target_position": 0, "bridge": GATEWAY_ID}],
        },
        "app_type": "app_velux",
    }


DEPARTURE_ON = {
    "home": {"id": HOME_ID, "modules": [{"id": GATEWAY_ID, "scenario": "away"}]},
    "app_type": "app_velux",
}
"""The setstate that turns departure mode on (the gateway's away scenario)."""


def test_every_blueprint_points_at_this_repository() -> None:
    """Each blueprint's ``source_url`` (re-import) names its own file in the repository of
    the manifest, and the README offers its raw address to import it."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    repository = manifest["issue_tracker"].removesuffix("/issues")
    assert manifest["documentation"].startswith(repository)
    raw = repository.replace("https://github.com/", "https://raw.githubusercontent.com/")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files = sorted(BLUEPRINTS.glob("*.yaml"))
    assert len(files) == 3
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        source_url = f"{repository}/blob/main/{relative}"
        assert f"source_url: {source_url}\n" in path.read_text(encoding="utf-8")
        assert f"{raw}/main/{relative}" in readme


@pytest.fixture
def blueprints(hass: HomeAssistant, tmp_path: Path) -> None:
    """Give the test's Home Assistant a configuration folder holding our blueprints."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, hass.config.path("blueprints/automation/velux_homely"))


@pytest.fixture
async def clouds(
    hass: HomeAssistant, socket_enabled: Any, freezer: FrozenDateTimeFactory
) -> AsyncIterator[tuple[VeluxSimulator, HomelySimulator]]:
    """Start both clouds on the frozen clock; unload our entries before they stop."""
    velux = VeluxSimulator(epoch=VELUX_EPOCH)
    velux.ws_enabled = False  # polling, as in the VELUX ACTIVE tests
    homely = HomelySimulator(
        ping_interval=PING_SECONDS, ping_timeout=PING_SECONDS, drop_at_token_expiry=False
    )
    await velux.start()
    await homely.start()
    yield velux, homely
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await homely.stop()
    await velux.stop()


@pytest.fixture
def velux_sim(clouds: tuple[VeluxSimulator, HomelySimulator]) -> VeluxSimulator:
    """The VELUX ACTIVE cloud."""
    return clouds[0]


@pytest.fixture
def homely_sim(clouds: tuple[VeluxSimulator, HomelySimulator]) -> HomelySimulator:
    """The Homely cloud."""
    return clouds[1]


@pytest.fixture
def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, homely_sim: HomelySimulator) -> Tick:
    """Return a function moving every clock forward and letting what fell due finish."""

    async def _tick(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await settle(hass)
        await until(lambda: not homely_sim.in_flight)
        await hass.async_block_till_done()

    return _tick


@pytest.fixture
async def entries(
    hass: HomeAssistant,
    blueprints: None,
    velux_sim: VeluxSimulator,
    homely_sim: HomelySimulator,
    tick: Tick,
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Set up a VELUX ACTIVE and a Homely account; the roof window is open."""
    velux, homely = velux_entry(velux_sim), homely_entry(homely_sim)
    for entry in (velux, homely):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await until(lambda: all_live(homely))
    velux_sim.set_position(WINDOW_ID, 60)
    await tick(60)
    assert state_of(hass, WINDOW) == "open"
    return velux, homely


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Create an automation from our blueprint ``name`` with ``inputs``; it must be on."""
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"use_blueprint": {"path": f"velux_homely/{name}", "input": inputs}}},
    )
    await hass.async_block_till_done()
    (automation,) = hass.states.async_all("automation")
    assert automation.state == "on", automation


async def until_closed(hass: HomeAssistant, velux_sim: VeluxSimulator, tick: Tick) -> None:
    """Let the window move until Home Assistant shows it closed."""
    for _ in range(40):
        if state_of(hass, WINDOW) == "closed":
            break
        await tick(3)
    assert state_of(hass, WINDOW) == "closed"
    assert velux_sim.position(WINDOW_ID) == 0


@pytest.mark.usefixtures("entries")
async def test_close_roof_windows_when_raining(
    hass: HomeAssistant, velux_sim: VeluxSimulator, tick: Tick
) -> None:
    await use_blueprint(
        hass,
        "close_roof_windows_when_raining.yaml",
        {"rain_sensor": RAIN.entity_id(hass), "windows": [WINDOW.entity_id(hass)]},
    )
    await tick(60)
    assert velux_sim.setstate_bodies == []  # dry: nothing happens

    velux_sim.set_raining(HOME_ID, True)
    await tick(60)
    assert state_of(hass, RAIN) == "on"
    assert velux_sim.setstate_bodies == [close_window()]
    await until_closed(hass, velux_sim, tick)

    # Rain that goes on sends nothing more.
    await tick(60)
    assert velux_sim.setstate_bodies == [close_window()]


@pytest.mark.usefixtures("entries")
async def test_departure_when_armed_away(
    hass: HomeAssistant, velux_sim: VeluxSimulator, homely_sim: HomelySimulator, tick: Tick
) -> None:
    await use_blueprint(
        hass,
        "departure_when_armed_away.yaml",
        {
            "alarm_panel": PANEL.entity_id(hass),
            "windows": [WINDOW.entity_id(hass)],
            "departure": [DEPARTURE.entity_id(hass)],
        },
    )
    assert state_of(hass, DEPARTURE) == LockState.UNLOCKED
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_NIGHT", user_name="Kari")
    await until(lambda: PANEL.state(hass) == "armed_night")
    await tick(1)
    assert velux_sim.setstate_bodies == []  # only "away" counts

    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await until(lambda: PANEL.state(hass) == "armed_away")
    await tick(1)
    # The window is closed first, then departure mode goes on.
    assert velux_sim.setstate_bodies == [close_window(), DEPARTURE_ON]
    assert state_of(hass, DEPARTURE) == LockState.LOCKED
    assert HOME_ID in velux_sim.departure_homes
    await until_closed(hass, velux_sim, tick)
    assert state_of(hass, DEPARTURE) == LockState.LOCKED


@pytest.mark.usefixtures("entries")
async def test_departure_without_windows(
    hass: HomeAssistant, velux_sim: VeluxSimulator, homely_sim: HomelySimulator, tick: Tick
) -> None:
    """Without windows of its own, departure mode alone closes them."""
    await use_blueprint(
        hass,
        "departure_when_armed_away.yaml",
        {"alarm_panel": PANEL.entity_id(hass), "departure": [DEPARTURE.entity_id(hass)]},
    )
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await until(lambda: PANEL.state(hass) == "armed_away")
    await tick(1)
    assert velux_sim.setstate_bodies == [DEPARTURE_ON]
    await until_closed(hass, velux_sim, tick)


@pytest.mark.usefixtures("entries")
@pytest.mark.parametrize(
    ("breach_by", "message"),
    [
        (None, "The alarm went off. It was armed by Kari."),
        # A name in the breach itself is not who armed it.
        ("Ola", "The alarm went off. It was armed by Kari."),
    ],
)
async def test_notify_when_alarm_triggered(
    hass: HomeAssistant, homely_sim: HomelySimulator, breach_by: str | None, message: str
) -> None:
    notified = async_mock_service(hass, "notify", "mobile_app_phone")
    await use_blueprint(
        hass,
        "notify_when_alarm_triggered.yaml",
        {"alarm_panel": PANEL.entity_id(hass), "notify_action": "notify.mobile_app_phone"},
    )
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY", user_name="Kari")
    await until(lambda: PANEL.state(hass) == "armed_away")
    await hass.async_block_till_done()
    assert notified == []

    await homely_sim.set_alarm_state(LOCATION_ID, "BREACHED", user_name=breach_by)
    await until(lambda: PANEL.state(hass) == "triggered")
    await hass.async_block_till_done()
    assert [call.data for call in notified] == [
        {"title": "Demo Home: alarm triggered", "message": message}
    ]


@pytest.mark.usefixtures("entries")
async def test_notify_when_nobody_is_named(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    """Homely named nobody: the message says so; further actions get it too."""
    notified = async_mock_service(hass, "notify", "notify")
    announced = async_mock_service(hass, "test", "announce")
    await use_blueprint(
        hass,
        "notify_when_alarm_triggered.yaml",
        {
            "alarm_panel": PANEL.entity_id(hass),
            "extra_actions": [
                {"action": "test.announce", "data": {"text": "{{ title }} - {{ message }}"}}
            ],
        },
    )
    await homely_sim.set_alarm_state(LOCATION_ID, "ALARM_PENDING", user_name=None)
    await until(lambda: PANEL.state(hass) == "pending")
    await homely_sim.set_alarm_state(LOCATION_ID, "BREACHED", user_name=None)
    await until(lambda: PANEL.state(hass) == "triggered")
    await hass.async_block_till_done()
    message = "The alarm went off. Homely did not say who armed it."
    assert [call.data for call in notified] == [
        {"title": "Demo Home: alarm triggered", "message": message}
    ]
    assert [call.data for call in announced] == [
        {"text": f"Demo Home: alarm triggered - {message}"}
    ]
