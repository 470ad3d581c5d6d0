"""Binary sensors of VELUX ACTIVE: rain on the gateway, connectivity of every module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo_models import TYPE_GATEWAY, GatewayStatus
from .coordinator import ModuleView, VeluxCoordinator
from .entity import VeluxEntity, VeluxEntityDescription, async_add_module_entities


@dataclass(frozen=True, kw_only=True)
class VeluxBinarySensorEntityDescription(VeluxEntityDescription, BinarySensorEntityDescription):
    """A binary sensor with the function that reads its value."""

    value_fn: Callable[[ModuleView], bool | None]


def _raining(view: ModuleView) -> bool | None:
    status = view.status
    return status.is_raining if isinstance(status, GatewayStatus) else None


BINARY_SENSORS: tuple[VeluxBinarySensorEntityDescription, ...] = (
    VeluxBinarySensorEntityDescription(
        key="rain",
        translation_key="rain",
        device_class=BinarySensorDeviceClass.MOISTURE,
        exists_fn=lambda view: view.module.type == TYPE_GATEWAY,
        value_fn=_raining,
    ),
    VeluxBinarySensorEntityDescription(
        key="connectivity",
        translation_key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        # Tells whether the module is reachable, so it has a value when it is not.
        available_fn=lambda view: True,
        value_fn=lambda view: view.reachable,
    ),
)


@callback
def async_setup_binary_sensors(
    coordinator: VeluxCoordinator, async_add_entities: AddEntitiesCallback
) -> None:
    """Add the binary sensors of every module, now and whenever one appears."""
    async_add_module_entities(coordinator, async_add_entities, VeluxBinarySensor, BINARY_SENSORS)


class VeluxBinarySensor(VeluxEntity, BinarySensorEntity):
    """A yes/no value of a VELUX ACTIVE module."""

    entity_description: VeluxBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return the value."""
        view = self.view
        return self.entity_description.value_fn(view) if view else None
