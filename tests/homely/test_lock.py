"""The Yale Doorman's lock state (read-only)."""

from __future__ import annotations

from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from simulator.homely import LOCK_ID, HomelySimulator
from tests.helpers import state_of

from .conftest import until

LOCK = "lock.front_door_lock"


@pytest.fixture
def platforms() -> tuple[Platform, ...]:
    """Only the locks."""
    return (Platform.LOCK,)


async def test_snapshot(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


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


async def test_lock_states(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    await homely_sim.change_device(LOCK_ID, "lock", "state", 2)
    await until(lambda: state_of(hass, LOCK) == "unlocked")
    await homely_sim.change_device(LOCK_ID, "lock", "state", 0)
    await until(lambda: state_of(hass, LOCK) == "jammed")
    # lock.state unknown: report.locked decides
    await homely_sim.change_device(LOCK_ID, "lock", "state", None)
    await until(lambda: state_of(hass, LOCK) == "locked")
    await homely_sim.change_device(LOCK_ID, "report", "locked", False)
    await until(lambda: state_of(hass, LOCK) == "unlocked")
