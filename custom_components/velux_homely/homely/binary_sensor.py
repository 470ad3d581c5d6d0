"""Binary sensors of Homely devices, chosen from the features each device reports.

Motion and entry sensors report the same features (``alarm.alarm`` is "motion seen" on
one and "open" on the other), so the features decide *that* the device has a trigger
sensor and only its class comes from the model name: "motion" -> motion; "window",
"entry", "door" -> opening; any other model with ``alarm.alarm`` -> a plain "Alarm"
sensor without a device class.

The Yale Doorman's lock state is a binary sensor of device class ``lock`` (on: unlocked),
the way Home Assistant shows a lock it cannot operate (the Homely API is read-only), and
"Jammed" (a problem sensor) says when the bolt stopped short of the locked position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.homely_models import HomelyDevice
from .entity import (
    HomelyDeviceEntity,
    HomelyEntityDescription,
    as_bool,
    as_number,
    async_add_device_entities,
    has,
    read_bool,
)

if TYPE_CHECKING:
    from . import HomelyConfigEntry

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


# Zigbee Door Lock cluster LockState (lock.state): 0 not fully locked, 1 locked, 2 unlocked.
LOCK_STATE_NOT_FULLY_LOCKED: Final = 0
LOCK_STATE_LOCKED: Final = 1
LOCK_STATE_UNLOCKED: Final = 2


def _lock_state(device: HomelyDevice) -> float | None:
    return as_number(device.value("lock", "state"))


def has_lock(device: HomelyDevice) -> bool:
    """Return True when the device reports a lock state."""
    return device.has("lock", "state") or device.has("report", "locked")


def is_locked(device: HomelyDevice) -> bool | None:
    """Return whether the door is locked: ``lock.state`` when known, else ``report.locked``.

    A bolt that is not fully out (jammed) does not lock the door.
    """
    state = _lock_state(device)
    if state == LOCK_STATE_LOCKED:
        return True
    if state in (LOCK_STATE_UNLOCKED, LOCK_STATE_NOT_FULLY_LOCKED):
        return False
    return as_bool(device.value("report", "locked"))


def is_jammed(device: HomelyDevice) -> bool | None:
    """Return whether the bolt stopped short of the locked position (None: unknown)."""
    state = _lock_state(device)
    return None if state is None else state == LOCK_STATE_NOT_FULLY_LOCKED


@dataclass(frozen=True, kw_only=True)
class HomelyBinarySensorEntityDescription(HomelyEntityDescription, BinarySensorEntityDescription):
    """A binary state of a device."""

    value_fn: Callable[[HomelyDevice], bool | None]


BINARY_SENSORS: tuple[HomelyBinarySensorEntityDescription, ...] = (
    HomelyBinarySensorEntityDescription(
        key="motion",
        device_class=BinarySensorDeviceClass.MOTION,
        exists_fn=lambda device: trigger_kind(device) == "motion",
        value_fn=read_bool("alarm", "alarm"),
    ),
    HomelyBinarySensorEntityDescription(
        key="opening",
        device_class=BinarySensorDeviceClass.OPENING,
        exists_fn=lambda device: trigger_kind(device) == "opening",
        value_fn=read_bool("alarm", "alarm"),
    ),
    HomelyBinarySensorEntityDescription(
        key="alarm",
        translation_key="alarm",
        exists_fn=lambda device: trigger_kind(device) == "alarm",
        value_fn=read_bool("alarm", "alarm"),
    ),
    HomelyBinarySensorEntityDescription(
        key="smoke",
        device_class=BinarySensorDeviceClass.SMOKE,
        exists_fn=has("alarm", "fire"),
        value_fn=read_bool("alarm", "fire"),
    ),
    HomelyBinarySensorEntityDescription(
        key="moisture",
        device_class=BinarySensorDeviceClass.MOISTURE,
        exists_fn=has("alarm", "flood"),
        value_fn=read_bool("alarm", "flood"),
    ),
    HomelyBinarySensorEntityDescription(
        # The main feature of its device: the entity is named after the device.
        key="lock",
        name=None,
        device_class=BinarySensorDeviceClass.LOCK,
        exists_fn=has_lock,
        value_fn=lambda device: _invert(is_locked(device)),
    ),
    HomelyBinarySensorEntityDescription(
        key="jammed",
        translation_key="jammed",
        device_class=BinarySensorDeviceClass.PROBLEM,
        exists_fn=has("lock", "state"),
        value_fn=is_jammed,
    ),
    HomelyBinarySensorEntityDescription(
        key="door",
        device_class=BinarySensorDeviceClass.DOOR,
        exists_fn=has("report", "doorclosed"),
        value_fn=lambda device: _invert(as_bool(device.value("report", "doorclosed"))),
    ),
    HomelyBinarySensorEntityDescription(
        key="tamper",
        device_class=BinarySensorDeviceClass.TAMPER,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=has("alarm", "tamper"),
        value_fn=read_bool("alarm", "tamper"),
    ),
    HomelyBinarySensorEntityDescription(
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
    HomelyBinarySensorEntityDescription(
        key="battery_defect",
        translation_key="battery_defect",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=has("battery", "defect"),
        value_fn=read_bool("battery", "defect"),
    ),
    HomelyBinarySensorEntityDescription(
        key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda device: device.online,
        # Tells whether the device is online, so it has a value when it is not.
        available_fn=lambda device: True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the binary sensors of every device, now and whenever one appears."""
    async_add_device_entities(entry, async_add_entities, HomelyBinarySensor, BINARY_SENSORS)


class HomelyBinarySensor(HomelyDeviceEntity, BinarySensorEntity):
    """A binary state of a Homely device."""

    entity_description: HomelyBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return the state (None when the device has not reported it)."""
        device = self.subject
        return None if device is None else self.entity_description.value_fn(device)
