"""The alarm panel of each location: states, who changed it, and no arming from here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging

from homeassistant.components.alarm_control_panel.const import DOMAIN as ALARM_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.homely import alarm_control_panel
from simulator.homely import LOCATION_ID, HomelySimulator

from .conftest import PANEL, until


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the alarm panels."""
    return (Platform.ALARM_CONTROL_PANEL,)


async def test_snapshot(snapshot_entities: Callable[[], Awaitable[None]]) -> None:
    await snapshot_entities()


@pytest.mark.parametrize(
    ("homely", "shown"),
    [
        ("ARMED_NIGHT", "armed_night"),
        ("ARMED_PARTLY", "armed_home"),
        ("BREACHED", "triggered"),
        ("ALARM_PENDING", "pending"),
        ("ALARM_STAY_PENDING", "pending"),
        ("ARM_PENDING", "arming"),
        ("ARMED_AWAY_PENDING", "arming"),
        ("ARM_NIGHT_PENDING", "arming"),
    ],
)
async def test_alarm_states(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    homely: str,
    shown: str,
) -> None:
    await homely_sim.set_alarm_state(LOCATION_ID, homely)
    await until(lambda: PANEL.state(hass) == shown)


async def test_unknown_alarm_state_is_logged_once(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alarm_control_panel._warned.discard("ARMED_ON_THE_MOON")
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_ON_THE_MOON", user_name="Ola")
    await until(lambda: PANEL.state(hass) == STATE_UNKNOWN)
    attributes = PANEL.attributes(hass)
    assert attributes["homely_state"] == "ARMED_ON_THE_MOON"
    assert attributes["changed_by"] == "Ola"
    await homely_sim.set_alarm_state(LOCATION_ID, "DISARMED")
    await until(lambda: PANEL.state(hass) == "disarmed")
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_ON_THE_MOON", user_name="Kari")
    await until(lambda: PANEL.attributes(hass)["changed_by"] == "Kari")
    warnings = [r for r in caplog.records if "Unknown Homely alarm state" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


async def test_disarm_is_refused(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            ALARM_DOMAIN, "alarm_disarm", {ATTR_ENTITY_ID: PANEL.entity_id(hass)}, blocking=True
        )
    assert err.value.translation_key == "read_only"
    assert PANEL.state(hass) == "disarmed"


@pytest.mark.parametrize(
    "service",
    [
        "alarm_arm_away",
        "alarm_arm_home",
        "alarm_arm_night",
        "alarm_arm_vacation",
        "alarm_arm_custom_bypass",
        "alarm_trigger",
    ],
)
async def test_arm_actions_are_not_offered(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, service: str
) -> None:
    # no supported features: Home Assistant refuses before calling the entity
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            ALARM_DOMAIN, service, {ATTR_ENTITY_ID: PANEL.entity_id(hass)}, blocking=True
        )
    assert PANEL.state(hass) == "disarmed"


async def test_direct_arm_calls_raise_read_only(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    component = hass.data["entity_components"][ALARM_DOMAIN]
    panel = component.get_entity(PANEL.entity_id(hass))
    for method in (
        panel.async_alarm_arm_away,
        panel.async_alarm_arm_home,
        panel.async_alarm_arm_night,
        panel.async_alarm_arm_vacation,
        panel.async_alarm_arm_custom_bypass,
        panel.async_alarm_trigger,
    ):
        with pytest.raises(HomeAssistantError) as err:
            await method()
        assert err.value.translation_key == "read_only"
