"""Binary sensors of VELUX ACTIVE: rain on the gateway, connectivity of every module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo_models import TYPE_GATEWAY
from .device import ModuleView
from .entity import NetatmoEntity, NetatmoEntityDescription, async_add_module_entities

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


@dataclass(frozen=True, kw_only=True)
class NetatmoBinarySensorEntityDescription(NetatmoEntityDescription, BinarySensorEntityDescription):
    """A binary sensor with the function that reads its value."""

    value_fn: Callable[[ModuleView], bool | None]


def _raining(view: ModuleView) -> bool | None:
    return view.gateway.is_raining if view.gateway else None


BINARY_SENSORS: tuple[NetatmoBinarySensorEntityDescription, ...] = (
    NetatmoBinarySensorEntityDescription(
        key="rain",
        translation_key="rain",
        device_class=BinarySensorDeviceClass.MOISTURE,
        exists_fn=lambda view: view.module.type == TYPE_GATEWAY,
        value_fn=_raining,
    ),
    NetatmoBinarySensorEntityDescription(
        key="connectivity",
        translation_key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        # Tells whether the module is reachable, so it has a value when it is not
        # (but none when its home could not be read).
        available_fn=lambda view: view.home_ok,
        value_fn=lambda view: view.reachable,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the binary sensors of every module, now and whenever one appears."""
    async_add_module_entities(entry, async_add_entities, NetatmoBinarySensor, BINARY_SENSORS)


class NetatmoBinarySensor(NetatmoEntity, BinarySensorEntity):
    """A yes/no value of a VELUX ACTIVE module."""

    entity_description: NetatmoBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return the value."""
        view = self.subject
        return self.entity_description.value_fn(view) if view else None
