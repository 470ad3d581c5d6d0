"""What a user sees of a Homely account: every platform, and the read-only actions."""

from __future__ import annotations

from homeassistant.components.alarm_control_panel import DOMAIN as ALARM_DOMAIN
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.homely.entity import area_of, as_number
from simulator.homely import LOCK_ID, THERMOSTAT_ID, HomelySimulator
from tests.helpers import assert_snapshot, state_of

from .conftest import wait_for

LOCK = "lock.front_door_lock"
PANEL = "alarm_control_panel.demo_home"


async def test_snapshot(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert_snapshot(hass, loaded_entry, "homely_all")


async def test_disarm_is_refused(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            ALARM_DOMAIN, "alarm_disarm", {ATTR_ENTITY_ID: PANEL}, blocking=True
        )
    assert err.value.translation_key == "read_only"
    assert state_of(hass, PANEL) == "disarmed"


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
            ALARM_DOMAIN, service, {ATTR_ENTITY_ID: PANEL}, blocking=True
        )
    assert state_of(hass, PANEL) == "disarmed"


async def test_direct_arm_calls_raise_read_only(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    component = hass.data["entity_components"][ALARM_DOMAIN]
    panel = component.get_entity(PANEL)
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


@pytest.mark.parametrize("service", ["lock", "unlock"])
async def test_lock_actions_are_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, service: str
) -> None:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(LOCK_DOMAIN, service, {ATTR_ENTITY_ID: LOCK}, blocking=True)
    assert err.value.translation_key == "read_only"
    assert state_of(hass, LOCK) == "locked"
    component = hass.data["entity_components"][LOCK_DOMAIN]
    with pytest.raises(HomeAssistantError):
        await component.get_entity(LOCK).async_open()


async def test_lock_and_door_states(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    await homely_sim.change_device(LOCK_ID, "lock", "state", 2)
    await wait_for(lambda: state_of(hass, LOCK) == "unlocked")
    await homely_sim.change_device(LOCK_ID, "lock", "state", 0)
    await wait_for(lambda: state_of(hass, LOCK) == "jammed")
    # lock.state unknown: report.locked decides
    await homely_sim.change_device(LOCK_ID, "lock", "state", None)
    await wait_for(lambda: state_of(hass, LOCK) == "locked")
    await homely_sim.change_device(LOCK_ID, "report", "locked", False)
    await wait_for(lambda: state_of(hass, LOCK) == "unlocked")
    assert state_of(hass, "binary_sensor.front_door_lock_door") == "off"
    await homely_sim.change_device(LOCK_ID, "report", "doorclosed", False)
    await wait_for(lambda: state_of(hass, "binary_sensor.front_door_lock_door") == "on")
    await homely_sim.change_device(LOCK_ID, "report", "lowbat", True)
    await wait_for(lambda: state_of(hass, "binary_sensor.front_door_lock_battery") == "on")


async def test_thermostat_values_are_hundredths(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    assert state_of(hass, "sensor.bathroom_floor_measured_temperature") == "21.5"
    assert state_of(hass, "sensor.bathroom_floor_heating_setpoint") == "22.0"
    await homely_sim.change_device(THERMOSTAT_ID, "thermostat", "LocalTemperature", 2380)
    await wait_for(lambda: state_of(hass, "sensor.bathroom_floor_measured_temperature") == "23.8")
    await homely_sim.change_device(THERMOSTAT_ID, "thermostat", "OccupiedHeatingSetpoint", None)
    await wait_for(lambda: state_of(hass, "sensor.bathroom_floor_heating_setpoint") == "unknown")


def test_helpers() -> None:
    assert area_of("Floor 1 - Entrance") == "Entrance"
    assert area_of("Kitchen") == "Kitchen"
    assert area_of("") is None
    assert as_number(True) is None
    assert as_number(2380, 100, 2) == 23.8
    assert as_number(5) == 5
