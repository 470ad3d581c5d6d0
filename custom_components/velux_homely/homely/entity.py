"""Base entity and description of a Homely device, device cards and value helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.homely_models import HomelyDevice, HomelyHome, StateValue
from ..const import DOMAIN
from ..entity import (
    VeluxHomelyEntity,
    VeluxHomelyEntityDescription,
    async_add_entities_for_devices,
)
from .const import GATEWAY_MODEL, MANUFACTURER
from .coordinator import HomelyLocationCoordinator

if TYPE_CHECKING:
    from . import HomelyConfigEntry


def area_of(location: str) -> str | None:
    """Return the area to suggest for a device's ``location`` text.

    Homely writes "<floor> - <room>" ("Floor 1 - Entrance"); Home Assistant areas are
    rooms (floors are a separate concept), so the part after the last " - " is used.
    """
    room = location.rsplit(" - ", 1)[-1].strip()
    return room or None


def gateway_device_info(home: HomelyHome) -> DeviceInfo:
    """Return the device card of a location (its gateway)."""
    return DeviceInfo(
        identifiers={(DOMAIN, home.location_id)},
        name=home.name,
        manufacturer=MANUFACTURER,
        model=GATEWAY_MODEL,
        serial_number=home.gateway_serial,
    )


def device_info(device: HomelyDevice) -> DeviceInfo:
    """Return the device card of a sensor.

    Each read registers it linked to its location's gateway (``async_register_device``).
    """
    info = DeviceInfo(
        identifiers={(DOMAIN, device.device_id)},
        name=device.name,
        model=device.model_name,
        serial_number=device.serial_number,
    )
    if area := area_of(device.location):
        info["suggested_area"] = area
    return info


def as_bool(value: StateValue) -> bool | None:
    """Return a boolean state (None when unknown or not a boolean)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_number(value: StateValue, scale: float = 1, digits: int | None = None) -> float | None:
    """Return a numeric state divided by ``scale`` (None when unknown or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = value / scale if scale != 1 else value
    return round(result, digits) if digits is not None else result


def has(feature: str, state: str) -> Callable[[HomelyDevice], bool]:
    """Return an ``exists_fn``: the device reports ``feature.state``."""
    return lambda device: device.has(feature, state)


def read_bool(feature: str, state: str) -> Callable[[HomelyDevice], bool | None]:
    """Return a ``value_fn`` reading ``feature.state`` as a boolean."""
    return lambda device: as_bool(device.value(feature, state))


def read_number(
    feature: str, state: str, scale: float = 1, digits: int | None = None
) -> Callable[[HomelyDevice], float | None]:
    """Return a ``value_fn`` reading ``feature.state`` as a number divided by ``scale``."""
    return lambda device: as_number(device.value(feature, state), scale, digits)


@dataclass(frozen=True, kw_only=True)
class HomelyEntityDescription(VeluxHomelyEntityDescription[HomelyDevice]):
    """A description of a device's entity: ``exists_fn`` / ``available_fn`` read the device.

    Without ``available_fn`` an entity is available while its device is online.
    """


class HomelyDeviceEntity(VeluxHomelyEntity[HomelyLocationCoordinator, HomelyDevice]):
    """An entity of one device of a location.

    It only writes its state when its own device (or the availability) changed.
    """

    entity_description: HomelyEntityDescription

    def __init__(
        self,
        coordinator: HomelyLocationCoordinator,
        device_id: str,
        description: HomelyEntityDescription,
    ) -> None:
        """Bind the entity to its device."""
        super().__init__(coordinator, device_id, description)
        home = coordinator.data
        self._attr_device_info = device_info(home.devices[device_id])
        self._rendered: tuple[Any, bool] = (home.devices.get(device_id), True)

    @property
    def subject(self) -> HomelyDevice | None:
        """Return the device's current data (None once it vanished)."""
        return self.coordinator.data.devices.get(self.device_id)

    def _subject_available(self, subject: HomelyDevice) -> bool:
        return subject.online

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when this entity's device (or availability) changed."""
        rendered = (self.subject, self.coordinator.last_update_success)
        if rendered[0] is self._rendered[0] and rendered[1] == self._rendered[1]:
            return
        self._rendered = rendered
        super()._handle_coordinator_update()


@callback
def async_add_device_entities[DescriptionT: HomelyEntityDescription](
    entry: HomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
    entity_class: Callable[[HomelyLocationCoordinator, str, DescriptionT], Entity],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add an entity per device and matching description in every location, now and later."""
    descriptions = tuple(descriptions)
    for coordinator in entry.runtime_data.coordinators.values():
        _async_add_location_entities(
            entry, coordinator, async_add_entities, entity_class, descriptions
        )


@callback
def _async_add_location_entities[DescriptionT: HomelyEntityDescription](
    entry: HomelyConfigEntry,
    coordinator: HomelyLocationCoordinator,
    async_add_entities: AddEntitiesCallback,
    entity_class: Callable[[HomelyLocationCoordinator, str, DescriptionT], Entity],
    descriptions: tuple[DescriptionT, ...],
) -> None:
    def _devices() -> Mapping[str, HomelyDevice]:
        return coordinator.data.devices

    def _entity(device_id: str, description: DescriptionT) -> Entity:
        return entity_class(coordinator, device_id, description)

    async_add_entities_for_devices(
        entry,
        coordinator,
        async_add_entities,
        subjects=_devices,
        descriptions=descriptions,
        entity_factory=_entity,
    )
