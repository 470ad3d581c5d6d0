"""The HAN meter in the Energy dashboard, as Home Assistant's own validation sees it."""

from __future__ import annotations

from typing import Any

from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder.core import Recorder
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.velux_homely.const import DOMAIN
from simulator.homely import HAN_ID

from .conftest import Tick

UNIFIED_GRID = "stat_energy_from" in energy_data.GridSourceType.__annotations__
"""From 2026.10 a grid source is one import/export pair (before: lists of flows)."""
GRID_POWER = UNIFIED_GRID or "power" in energy_data.GridSourceType.__annotations__
"""Whether a grid source takes a power sensor (2026.2 and newer)."""


@pytest.fixture
async def mock_recorder_before_hass(
    async_test_recorder: RecorderInstanceContextManager,
) -> None:
    """Prepare the recorder before Home Assistant starts (autouse fixtures need hass)."""


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the sensors."""
    return (Platform.SENSOR,)


def han_sensor(hass: HomeAssistant, key: str) -> str:
    """Return the entity id of the HAN meter's sensor ``key``, from the entity registry."""
    entity_id = er.async_get(hass).async_get_entity_id(Platform.SENSOR, DOMAIN, f"{HAN_ID}_{key}")
    assert entity_id is not None, key
    return entity_id


def grid_source(imported: str, exported: str, power: str) -> dict[str, Any]:
    """Return a grid source of the energy preferences in this release's format."""
    if UNIFIED_GRID:
        return {
            "type": "grid",
            "stat_energy_from": imported,
            "stat_energy_to": exported,
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": None,
            "stat_compensation": None,
            "entity_energy_price_export": None,
            "number_energy_price_export": None,
            "stat_rate": power,
            "cost_adjustment_day": 0.0,
        }
    source: dict[str, Any] = {
        "type": "grid",
        "flow_from": [
            {
                "stat_energy_from": imported,
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "flow_to": [
            {
                "stat_energy_to": exported,
                "stat_compensation": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "cost_adjustment_day": 0.0,
    }
    if GRID_POWER:
        source["power"] = [{"stat_rate": power}]
    return source


async def validate_grid(hass: HomeAssistant, source: dict[str, Any]) -> list[dict[str, Any]]:
    """Put ``source`` in the energy preferences; return the issues the validation finds."""
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update({"energy_sources": [source]})  # type: ignore[typeddict-item]
    result = (await async_validate(hass)).as_dict()
    assert all(not issues for key, issues in result.items() if key != "energy_sources")
    (issues,) = result["energy_sources"]
    return list(issues)


async def test_han_meter_passes_the_energy_validation(
    recorder_mock: Recorder, hass: HomeAssistant, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    imported = han_sensor(hass, "energy_imported")
    exported = han_sensor(hass, "energy_exported")
    power = han_sensor(hass, "power")
    # The recorder compiles statistics every 5 minutes: the latest period, which the
    # meter's values span.
    await async_wait_recording_done(hass)
    await tick(600)
    do_adhoc_statistics(hass)
    await async_wait_recording_done(hass)

    assert await validate_grid(hass, grid_source(imported, exported, power)) == []

    # The validation does look at the sensors: power is no energy meter.
    issues = {
        issue["type"]: issue["affected_entities"]
        for issue in await validate_grid(hass, grid_source(power, exported, power))
    }
    assert set(issues["entity_unexpected_device_class"]) == {(power, "power")}
