"""Sensors of VELUX ACTIVE: room climate, batteries, signal, last seen; the account's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    EntityCategory,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from ..account import AccountUsage, async_add_account_sensors
from ..api.netatmo_models import (
    TYPE_GATEWAY,
    TYPE_SENSOR,
    TYPE_SWITCH,
    BatteryModuleStatus,
)
from .device import ModuleView
from .entity import NetatmoEntity, NetatmoEntityDescription, async_add_module_entities

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


PARTS_PER_MILLION: Final = "ppm"
"""Home Assistant's unit of CO2 (its constant moved between releases; the value did not)."""


@dataclass(frozen=True, kw_only=True)
class NetatmoSensorEntityDescription(NetatmoEntityDescription, SensorEntityDescription):
    """A sensor with the function that reads its value."""

    value_fn: Callable[[ModuleView], StateType | datetime]


def _is_sensor(view: ModuleView) -> bool:
    return view.module.type == TYPE_SENSOR


def _has_battery(view: ModuleView) -> bool:
    return view.module.type in (TYPE_SENSOR, TYPE_SWITCH)


def _battery(view: ModuleView) -> int | None:
    status = view.status
    return status.battery_percent if isinstance(status, BatteryModuleStatus) else None


def _wifi(view: ModuleView) -> int | None:
    return view.gateway.wifi_strength if view.gateway else None


def _last_seen(view: ModuleView) -> datetime | None:
    if view.status is None or view.status.last_seen is None:
        return None
    return dt_util.utc_from_timestamp(view.status.last_seen)


def _room_has_value(view: ModuleView) -> bool:
    return view.available and view.room is not None


SENSORS: tuple[NetatmoSensorEntityDescription, ...] = (
    NetatmoSensorEntityDescription(
        key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        exists_fn=_is_sensor,
        available_fn=_room_has_value,
        value_fn=lambda view: view.room.temperature if view.room else None,
    ),
    NetatmoSensorEntityDescription(
        key="humidity",
        device_class=SensorDeviceClass.HUMIDITY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        exists_fn=_is_sensor,
        available_fn=_room_has_value,
        value_fn=lambda view: view.room.humidity if view.room else None,
    ),
    NetatmoSensorEntityDescription(
        key="co2",
        device_class=SensorDeviceClass.CO2,
        native_unit_of_measurement=PARTS_PER_MILLION,
        state_class=SensorStateClass.MEASUREMENT,
        exists_fn=_is_sensor,
        available_fn=_room_has_value,
        value_fn=lambda view: view.room.co2 if view.room else None,
    ),
    NetatmoSensorEntityDescription(
        key="illuminance",
        device_class=SensorDeviceClass.ILLUMINANCE,
        native_unit_of_measurement=LIGHT_LUX,
        state_class=SensorStateClass.MEASUREMENT,
        exists_fn=_is_sensor,
        available_fn=_room_has_value,
        value_fn=lambda view: view.room.lux if view.room else None,
    ),
    NetatmoSensorEntityDescription(
        key="air_quality",
        translation_key="air_quality",
        state_class=SensorStateClass.MEASUREMENT,
        exists_fn=_is_sensor,
        available_fn=_room_has_value,
        value_fn=lambda view: view.room.air_quality if view.room else None,
    ),
    NetatmoSensorEntityDescription(
        key="battery",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_has_battery,
        value_fn=_battery,
    ),
    NetatmoSensorEntityDescription(
        key="rf_strength",
        translation_key="rf_strength",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        exists_fn=lambda view: (
            view.module.type != TYPE_GATEWAY
            and (
                _has_battery(view)
                or (view.status is not None and view.status.rf_strength is not None)
            )
        ),
        value_fn=lambda view: view.status.rf_strength if view.status else None,
    ),
    NetatmoSensorEntityDescription(
        key="wifi_strength",
        translation_key="wifi_strength",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        exists_fn=lambda view: view.module.type == TYPE_GATEWAY,
        value_fn=_wifi,
    ),
    NetatmoSensorEntityDescription(
        key="secure_position",
        translation_key="secure_position",
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda view: view.module.velux_type == "window",
        value_fn=lambda view: view.opener.secure_position if view.opener else None,
    ),
    NetatmoSensorEntityDescription(
        key="rain_position",
        translation_key="rain_position",
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda view: view.module.velux_type == "window",
        value_fn=lambda view: view.opener.rain_position if view.opener else None,
    ),
    NetatmoSensorEntityDescription(
        key="last_seen",
        translation_key="last_seen",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_last_seen,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the sensors of every module, now and whenever one appears, and the account's."""
    async_add_module_entities(entry, async_add_entities, NetatmoSensor, SENSORS)
    client, coordinator = entry.runtime_data.client, entry.runtime_data.coordinator
    async_add_account_sensors(
        entry,
        async_add_entities,
        manufacturer=coordinator.flavour.manufacturer,
        coordinators=(coordinator,),
        usage=lambda: AccountUsage(
            requests_last_hour=client.requests_last_hour(),
            rate_limited_until=coordinator.rate_limited_until,
        ),
    )


class NetatmoSensor(NetatmoEntity, SensorEntity):
    """A value of a VELUX ACTIVE module or of its room."""

    entity_description: NetatmoSensorEntityDescription

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value."""
        view = self.subject
        return self.entity_description.value_fn(view) if view else None
