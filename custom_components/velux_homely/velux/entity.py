"""Base entity and device info of VELUX ACTIVE modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo_models import (
    TYPE_GATEWAY,
    TYPE_OPENER,
    TYPE_SENSOR,
    TYPE_SWITCH,
    GatewayStatus,
    OpenerStatus,
)
from ..const import DOMAIN
from ..entity import VeluxHomelyEntity, async_add_entities_for_devices
from .const import (
    GATEWAY_MODEL,
    MANUFACTURER,
    OPENER_MODEL,
    OPENER_MODELS,
    SENSOR_MODEL,
    SWITCH_MODEL,
)
from .coordinator import ModuleView, VeluxCoordinator


def _always(_: ModuleView) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class VeluxEntityDescription(EntityDescription):
    """Fields shared by every VELUX ACTIVE entity description."""

    exists_fn: Callable[[ModuleView], bool] = _always
    """Whether the module gets this entity (checked when the module appears)."""
    available_fn: Callable[[ModuleView], bool] = lambda view: view.reachable
    """Whether the entity has a value now (default: the module is reachable)."""


def model_of(view: ModuleView) -> str:
    """Return the model shown on the device card."""
    module = view.module
    if module.type == TYPE_GATEWAY:
        return GATEWAY_MODEL
    if module.type == TYPE_SENSOR:
        return SENSOR_MODEL
    if module.type == TYPE_SWITCH:
        return SWITCH_MODEL
    if module.type == TYPE_OPENER:
        return OPENER_MODELS.get(module.velux_type or "", OPENER_MODEL)
    return module.type


def device_info_for(view: ModuleView) -> DeviceInfo:
    """Return the device of a module; every module but the gateway hangs off it."""
    module, status = view.module, view.status
    manufacturer = MANUFACTURER
    sw_version: str | None = None
    hw_version: str | None = None
    if isinstance(status, GatewayStatus):
        sw_version = status.firmware
        hw_version = None if status.hardware_version is None else str(status.hardware_version)
    elif status is not None and status.firmware_revision is not None:
        sw_version = str(status.firmware_revision)
    if isinstance(status, OpenerStatus) and status.manufacturer:
        manufacturer = status.manufacturer
    info = DeviceInfo(
        identifiers={(DOMAIN, module.id)},
        name=module.name or model_of(view),
        manufacturer=manufacturer,
        model=model_of(view),
        model_id=module.type,
        sw_version=sw_version,
        hw_version=hw_version,
    )
    if view.room_name:
        info["suggested_area"] = view.room_name
    if module.type != TYPE_GATEWAY and view.bridge_id:
        info["via_device"] = (DOMAIN, view.bridge_id)
    return info


class VeluxEntity(VeluxHomelyEntity[VeluxCoordinator]):
    """An entity of one VELUX ACTIVE module."""

    entity_description: VeluxEntityDescription

    def __init__(
        self,
        coordinator: VeluxCoordinator,
        view: ModuleView,
        description: VeluxEntityDescription,
    ) -> None:
        """Bind the entity to its module."""
        super().__init__(coordinator, view.module.id, description)
        self._attr_device_info = device_info_for(view)

    @property
    def view(self) -> ModuleView | None:
        """Return the module's topology and latest state."""
        return self.coordinator.data.view(self.device_id)

    @property
    def available(self) -> bool:
        """Return True when the last poll worked and the module has a value."""
        view = self.view
        return super().available and view is not None and self.entity_description.available_fn(view)


@callback
def async_add_module_entities[DescriptionT: VeluxEntityDescription](
    coordinator: VeluxCoordinator,
    async_add_entities: AddEntitiesCallback,
    entity_class: Callable[[VeluxCoordinator, ModuleView, DescriptionT], Entity],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add an entity per module and matching description, now and whenever a module appears."""
    descriptions = tuple(descriptions)

    def _entities(module_id: str) -> list[Entity]:
        view = coordinator.data.view(module_id)
        if view is None:
            return []
        return [
            entity_class(coordinator, view, description)
            for description in descriptions
            if description.exists_fn(view)
        ]

    async_add_entities_for_devices(
        coordinator.config_entry,
        coordinator,
        async_add_entities,
        coordinator.module_ids,
        _entities,
    )
