"""Sensors of Homely devices, chosen from the features each device reports; the account's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..account import AccountUsage, async_add_account_sensors
from ..api.homely_models import HomelyDevice
from .const import MANUFACTURER
from .entity import (
    HomelyDeviceEntity,
    HomelyEntityDescription,
    async_add_device_entities,
    has,
    read_number,
)

if TYPE_CHECKING:
    from . import HomelyConfigEntry


@dataclass(frozen=True, kw_only=True)
class HomelySensorEntityDescription(HomelyEntityDescription, SensorEntityDescription):
    """A numeric state of a device."""

    value_fn: Callable[[HomelyDevice], float | None]


SENSORS: tuple[HomelySensorEntityDescription, ...] = (
    HomelySensorEntityDescription(
        key="temperature",
        exists_fn=has("temperature", "temperature"),
        value_fn=read_number("temperature", "temperature"),
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
    ),
    HomelySensorEntityDescription(
        key="local_temperature",
        exists_fn=has("thermostat", "LocalTemperature"),
        value_fn=read_number("thermostat", "LocalTemperature", 100, 2),
        translation_key="local_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
    ),
    HomelySensorEntityDescription(
        key="heating_setpoint",
        exists_fn=has("thermostat", "OccupiedHeatingSetpoint"),
        value_fn=read_number("thermostat", "OccupiedHeatingSetpoint", 100, 2),
        translation_key="heating_setpoint",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
    ),
    HomelySensorEntityDescription(
        key="energy_imported",
        exists_fn=has("metering", "summationdelivered"),
        value_fn=read_number("metering", "summationdelivered", 1000, 3),
        translation_key="energy_imported",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    ),
    HomelySensorEntityDescription(
        key="energy_exported",
        exists_fn=has("metering", "summationreceived"),
        value_fn=read_number("metering", "summationreceived", 1000, 3),
        translation_key="energy_exported",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    ),
    HomelySensorEntityDescription(
        key="power",
        exists_fn=has("metering", "demand"),
        value_fn=read_number("metering", "demand"),
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
    ),
    HomelySensorEntityDescription(
        key="battery_voltage",
        exists_fn=has("battery", "voltage"),
        value_fn=read_number("battery", "voltage"),
        translation_key="battery_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    HomelySensorEntityDescription(
        key="link_strength",
        exists_fn=has("diagnostic", "networklinkstrength"),
        value_fn=read_number("diagnostic", "networklinkstrength"),
        translation_key="link_strength",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the sensors of every device, now and whenever one appears, and the account's."""
    async_add_device_entities(entry, async_add_entities, HomelySensor, SENSORS)
    runtime = entry.runtime_data
    coordinators = runtime.coordinators.values()

    def _usage() -> AccountUsage:
        limits = [c.rate_limited_until for c in coordinators if c.rate_limited_until is not None]
        return AccountUsage(
            requests_last_hour=runtime.client.requests_last_hour(),
            rate_limited_until=max(limits, default=None),
        )

    async_add_account_sensors(
        entry,
        async_add_entities,
        manufacturer=MANUFACTURER,
        coordinators=coordinators,
        usage=_usage,
    )


class HomelySensor(HomelyDeviceEntity, SensorEntity):
    """A numeric state of a Homely device."""

    entity_description: HomelySensorEntityDescription

    @property
    def native_value(self) -> float | None:
        """Return the value (None when the device has not reported it)."""
        device = self.subject
        return None if device is None else self.entity_description.value_fn(device)
