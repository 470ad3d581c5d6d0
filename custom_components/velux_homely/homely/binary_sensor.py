"""Binary sensors of Homely devices, chosen from the features each device reports.

Motion and entry sensors report the same features (``alarm.alarm`` is "motion seen" on
one and "open" on the other), so the features decide *that* the device has a trigger
sensor and only its class comes from the model name: "motion" -> motion; "window",
"entry", "door" -> opening; any other model with ``alarm.alarm`` -> a plain "Alarm"
sensor without a device class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory

from ..api.homely_models import HomelyDevice
from .coordinator import HomelyLocationCoordinator
from .entity import HomelyDeviceEntity, as_bool

_MOTION_WORDS = ("motion",)
_OPENING_WORDS = ("window", "entry", "door")


def trigger_kind(device: HomelyDevice) -> str | None:
    """Return ``motion``, ``opening`` or ``alarm`` for a device with ``alarm.alarm``."""
    if not device.has("alarm", "alarm"):
        return None
    model = (device.model_name or "").lower()
    if any(word in model for word in _MOTION_WORDS):
        return "motion"
    if any(word in model for word in _OPENING_WORDS):
        return "opening"
    return "alarm"


def _invert(value: bool | None) -> bool | None:
    return None if value is None else not value


@dataclass(frozen=True, kw_only=True)
class HomelyBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor: when a device has it and how to read it."""

    exists_fn: Callable[[HomelyDevice], bool]
    value_fn: Callable[[HomelyDevice], bool | None]
    available_when_offline: bool = False


def _has(feature: str, state: str) -> Callable[[HomelyDevice], bool]:
    return lambda device: device.has(feature, state)


def _read(feature: str, state: str) -> Callable[[HomelyDevice], bool | None]:
    return lambda device: as_bool(device.value(feature, state))


DESCRIPTIONS: tuple[HomelyBinarySensorDescription, ...] = (
    HomelyBinarySensorDescription(
        key="motion",
        device_class=BinarySensorDeviceClass.MOTION,
        exists_fn=lambda device: trigger_kind(device) == "motion",
        value_fn=_read("alarm", "alarm"),
    ),
    HomelyBinarySensorDescription(
        key="opening",
        device_class=BinarySensorDeviceClass.OPENING,
        exists_fn=lambda device: trigger_kind(device) == "opening",
        value_fn=_read("alarm", "alarm"),
    ),
    HomelyBinarySensorDescription(
        key="alarm",
        translation_key="alarm",
        exists_fn=lambda device: trigger_kind(device) == "alarm",
        value_fn=_read("alarm", "alarm"),
    ),
    HomelyBinarySensorDescription(
        key="smoke",
        device_class=BinarySensorDeviceClass.SMOKE,
        exists_fn=_has("alarm", "fire"),
        value_fn=_read("alarm", "fire"),
    ),
    HomelyBinarySensorDescription(
        key="moisture",
        device_class=BinarySensorDeviceClass.MOISTURE,
        exists_fn=_has("alarm", "flood"),
        value_fn=_read("alarm", "flood"),
    ),
    HomelyBinarySensorDescription(
        key="door",
        device_class=BinarySensorDeviceClass.DOOR,
        exists_fn=_has("report", "doorclosed"),
        value_fn=lambda device: _invert(as_bool(device.value("report", "doorclosed"))),
    ),
    HomelyBinarySensorDescription(
        key="tamper",
        device_class=BinarySensorDeviceClass.TAMPER,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_has("alarm", "tamper"),
        value_fn=_read("alarm", "tamper"),
    ),
    HomelyBinarySensorDescription(
        key="battery_low",
        device_class=BinarySensorDeviceClass.BATTERY,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda device: device.has("battery", "low") or device.has("report", "lowbat"),
        value_fn=lambda device: as_bool(
            device.value("battery", "low")
            if device.has("battery", "low")
            else device.value("report", "lowbat")
        ),
    ),
    HomelyBinarySensorDescription(
        key="battery_defect",
        translation_key="battery_defect",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=_has("battery", "defect"),
        value_fn=_read("battery", "defect"),
    ),
    HomelyBinarySensorDescription(
        key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda device: True,
        value_fn=lambda device: device.online,
        available_when_offline=True,
    ),
)


class HomelyBinarySensor(HomelyDeviceEntity, BinarySensorEntity):
    """A binary state of a Homely device."""

    entity_description: HomelyBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """Return the state (None when the device has not reported it)."""
        device = self.device
        return None if device is None else self.entity_description.value_fn(device)


def entities_for(
    coordinator: HomelyLocationCoordinator, device_id: str
) -> list[HomelyBinarySensor]:
    """Return the binary sensors of one device."""
    device = coordinator.data.devices[device_id]
    return [
        HomelyBinarySensor(coordinator, device_id, description)
        for description in DESCRIPTIONS
        if description.exists_fn(device)
    ]
