"""Sensors of Homely devices, chosen from the features each device reports."""

from __future__ import annotations

from dataclasses import dataclass

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

from ..api.homely_models import HomelyDevice
from .coordinator import HomelyLocationCoordinator
from .entity import HomelyDeviceEntity, as_number


@dataclass(frozen=True, kw_only=True)
class HomelySensorDescription(SensorEntityDescription):
    """A sensor: the feature state it reads and how to scale it."""

    feature: str
    state: str
    scale: float = 1
    digits: int | None = None

    def value_fn(self, device: HomelyDevice) -> float | None:
        """Return the scaled value (None when unknown)."""
        return as_number(device.value(self.feature, self.state), self.scale, self.digits)


DESCRIPTIONS: tuple[HomelySensorDescription, ...] = (
    HomelySensorDescription(
        key="temperature",
        feature="temperature",
        state="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
    ),
    HomelySensorDescription(
        key="local_temperature",
        translation_key="local_temperature",
        feature="thermostat",
        state="LocalTemperature",
        scale=100,
        digits=2,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
    ),
    HomelySensorDescription(
        key="heating_setpoint",
        translation_key="heating_setpoint",
        feature="thermostat",
        state="OccupiedHeatingSetpoint",
        scale=100,
        digits=2,
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
    ),
    HomelySensorDescription(
        key="energy_imported",
        translation_key="energy_imported",
        feature="metering",
        state="summationdelivered",
        scale=1000,
        digits=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    ),
    HomelySensorDescription(
        key="energy_exported",
        translation_key="energy_exported",
        feature="metering",
        state="summationreceived",
        scale=1000,
        digits=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    ),
    HomelySensorDescription(
        key="power",
        feature="metering",
        state="demand",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
    ),
    HomelySensorDescription(
        key="battery_voltage",
        translation_key="battery_voltage",
        feature="battery",
        state="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    HomelySensorDescription(
        key="link_strength",
        translation_key="link_strength",
        feature="diagnostic",
        state="networklinkstrength",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
    ),
)


class HomelySensor(HomelyDeviceEntity, SensorEntity):
    """A numeric state of a Homely device."""

    entity_description: HomelySensorDescription

    @property
    def native_value(self) -> float | None:
        """Return the value (None when the device has not reported it)."""
        device = self.device
        return None if device is None else self.entity_description.value_fn(device)


def entities_for(coordinator: HomelyLocationCoordinator, device_id: str) -> list[HomelySensor]:
    """Return the sensors of one device."""
    device = coordinator.data.devices[device_id]
    return [
        HomelySensor(coordinator, device_id, description)
        for description in DESCRIPTIONS
        if device.has(description.feature, description.state)
    ]
