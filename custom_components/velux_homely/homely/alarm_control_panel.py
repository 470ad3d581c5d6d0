"""The alarm of a Homely location, read-only.

The Homely SDK cannot arm or disarm. The panel declares no supported features, so Home
Assistant offers no arm buttons and refuses the arm actions itself; the actions it still
lets through (disarm, trigger) raise a translated "read-only" error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

from homeassistant.components.alarm_control_panel import (
    AlarmControlPanelEntity,
    AlarmControlPanelEntityDescription,
)
from homeassistant.components.alarm_control_panel.const import (
    AlarmControlPanelEntityFeature,
    AlarmControlPanelState,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.homely_models import HomelyHome
from ..const import DOMAIN, LOGGER
from ..entity import (
    VeluxHomelyEntity,
    VeluxHomelyEntityDescription,
    async_add_entities_for_devices,
)
from .coordinator import HomelyLocationCoordinator
from .entity import gateway_device_info

if TYPE_CHECKING:
    from . import HomelyConfigEntry

STATES: Final[dict[str, AlarmControlPanelState]] = {
    "DISARMED": AlarmControlPanelState.DISARMED,
    "ARMED_AWAY": AlarmControlPanelState.ARMED_AWAY,
    "ARMED_NIGHT": AlarmControlPanelState.ARMED_NIGHT,
    "ARMED_STAY": AlarmControlPanelState.ARMED_HOME,
    "ARMED_PARTLY": AlarmControlPanelState.ARMED_HOME,
    "BREACHED": AlarmControlPanelState.TRIGGERED,
    "ALARM_PENDING": AlarmControlPanelState.PENDING,
    "ALARM_STAY_PENDING": AlarmControlPanelState.PENDING,
    "ARM_PENDING": AlarmControlPanelState.ARMING,
    "ARM_STAY_PENDING": AlarmControlPanelState.ARMING,
    "ARM_NIGHT_PENDING": AlarmControlPanelState.ARMING,
    "ARM_AWAY_PENDING": AlarmControlPanelState.ARMING,
    "ARMED_NIGHT_PENDING": AlarmControlPanelState.ARMING,
    "ARMED_AWAY_PENDING": AlarmControlPanelState.ARMING,
}
"""Homely alarm states and the Home Assistant state each one shows as."""

ATTR_CHANGED_AT: Final = "changed_at"
ATTR_HOMELY_STATE: Final = "homely_state"


@dataclass(frozen=True, kw_only=True)
class HomelyAlarmControlPanelEntityDescription(
    VeluxHomelyEntityDescription[HomelyHome], AlarmControlPanelEntityDescription
):
    """The alarm of a location (its subject is the location, not a device)."""


ALARM_CONTROL_PANELS: tuple[HomelyAlarmControlPanelEntityDescription, ...] = (
    # The main feature of the location's device: the entity is named after it.
    HomelyAlarmControlPanelEntityDescription(key="alarm", name=None),
)

_warned: set[str] = set()


def map_state(raw: str | None) -> AlarmControlPanelState | None:
    """Return the Home Assistant state of a Homely alarm state (None when unknown).

    An unknown value is logged once (per value) so that it can be added.
    """
    if raw is None:
        return None
    state = STATES.get(raw.upper())
    if state is None and raw not in _warned:
        _warned.add(raw)
        LOGGER.warning("Unknown Homely alarm state %r: shown as unknown", raw)
    return state


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the alarm panel of every location once the location has been read."""
    for coordinator in entry.runtime_data.coordinators.values():
        _async_add_panel(entry, coordinator, async_add_entities)


@callback
def _async_add_panel(
    entry: HomelyConfigEntry,
    coordinator: HomelyLocationCoordinator,
    async_add_entities: AddEntitiesCallback,
) -> None:
    def _location() -> dict[str, HomelyHome]:
        return {coordinator.location_id: coordinator.data}

    def _panel(_: str, description: HomelyAlarmControlPanelEntityDescription) -> HomelyAlarmPanel:
        return HomelyAlarmPanel(coordinator, description)

    async_add_entities_for_devices(
        entry,
        coordinator,
        async_add_entities,
        subjects=_location,
        descriptions=ALARM_CONTROL_PANELS,
        entity_factory=_panel,
    )


def _read_only() -> NoReturn:
    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="read_only")


class HomelyAlarmPanel(
    VeluxHomelyEntity[HomelyLocationCoordinator, HomelyHome], AlarmControlPanelEntity
):
    """The alarm state of a location, with who changed it last and when."""

    entity_description: HomelyAlarmControlPanelEntityDescription
    _attr_supported_features = AlarmControlPanelEntityFeature(0)
    _attr_code_arm_required = False
    _attr_code_format = None

    def __init__(
        self,
        coordinator: HomelyLocationCoordinator,
        description: HomelyAlarmControlPanelEntityDescription,
    ) -> None:
        """Bind the panel to the location's gateway device."""
        super().__init__(coordinator, coordinator.location_id, description)
        self._attr_device_info = gateway_device_info(coordinator.data)
        self._rendered = self._key()

    @property
    def subject(self) -> HomelyHome | None:
        """Return the location's data."""
        return self.coordinator.home

    def _key(self) -> tuple[Any, ...]:
        home = self.coordinator.data
        return (
            home.alarm_state,
            home.alarm_changed_by,
            home.alarm_changed_at,
            self.coordinator.last_update_success,
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when the alarm (or availability) changed."""
        key = self._key()
        if key == self._rendered:
            return
        self._rendered = key
        super()._handle_coordinator_update()

    @property
    def alarm_state(self) -> AlarmControlPanelState | None:
        """Return the alarm state (None: unknown)."""
        return map_state(self.coordinator.data.alarm_state)

    @property
    def changed_by(self) -> str | None:
        """Return the user who changed the alarm state last (live events only)."""
        return self.coordinator.data.alarm_changed_by

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return when the state changed and the raw Homely state."""
        home = self.coordinator.data
        return {
            ATTR_CHANGED_AT: home.alarm_changed_at.isoformat() if home.alarm_changed_at else None,
            ATTR_HOMELY_STATE: home.alarm_state,
        }

    async def async_alarm_disarm(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_alarm_arm_home(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_alarm_arm_away(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_alarm_arm_night(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_alarm_arm_vacation(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_alarm_arm_custom_bypass(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_alarm_trigger(self, code: str | None = None) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()
