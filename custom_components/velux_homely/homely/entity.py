"""Base entity of a Homely device, device cards and value helpers."""

from __future__ import annotations

from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription

from ..api.homely_models import HomelyDevice, HomelyHome, StateValue
from ..const import DOMAIN
from ..entity import VeluxHomelyEntity
from .const import GATEWAY_MODEL, MANUFACTURER
from .coordinator import HomelyLocationCoordinator


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


def device_info(home: HomelyHome, device: HomelyDevice) -> DeviceInfo:
    """Return the device card of a sensor, reached through its location's gateway."""
    info = DeviceInfo(
        identifiers={(DOMAIN, device.device_id)},
        name=device.name,
        model=device.model_name,
        serial_number=device.serial_number,
        via_device=(DOMAIN, home.location_id),
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


class HomelyDeviceEntity(VeluxHomelyEntity[HomelyLocationCoordinator]):
    """An entity of one device of a location.

    It is unavailable while the device is offline (unless its description says
    ``available_when_offline``) and only writes its state when its own device changed.
    """

    def __init__(
        self,
        coordinator: HomelyLocationCoordinator,
        device_id: str,
        description: EntityDescription,
    ) -> None:
        """Bind the entity to its device."""
        super().__init__(coordinator, device_id, description)
        home = coordinator.data
        self._attr_device_info = device_info(home, home.devices[device_id])
        self._available_when_offline: bool = getattr(description, "available_when_offline", False)
        self._rendered: tuple[Any, bool] = (home.devices.get(device_id), True)

    @property
    def device(self) -> HomelyDevice | None:
        """Return the device's current data (None once it vanished)."""
        return self.coordinator.data.devices.get(self.device_id)

    @property
    def available(self) -> bool:
        """Return False when the cloud is unreachable or the device is offline."""
        device = self.device
        return (
            super().available
            and device is not None
            and (device.online or self._available_when_offline)
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when this entity's device (or availability) changed."""
        rendered = (self.device, self.coordinator.last_update_success)
        if rendered[0] is self._rendered[0] and rendered[1] == self._rendered[1]:
            return
        self._rendered = rendered
        super()._handle_coordinator_update()
