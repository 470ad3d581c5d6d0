"""The lock state of a Yale Doorman (read-only: the Homely API cannot lock or unlock)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

from homeassistant.components.lock import LockEntity, LockEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.homely_models import HomelyDevice
from ..const import DOMAIN
from .entity import HomelyDeviceEntity, HomelyEntityDescription, as_bool, async_add_device_entities

if TYPE_CHECKING:
    from . import HomelyConfigEntry

# Zigbee Door Lock cluster LockState (lock.state): 0 not fully locked, 1 locked, 2 unlocked.
LOCK_STATE_NOT_FULLY_LOCKED: Final = 0
LOCK_STATE_LOCKED: Final = 1
LOCK_STATE_UNLOCKED: Final = 2


def has_lock(device: HomelyDevice) -> bool:
    """Return True when the device reports a lock state."""
    return device.has("lock", "state") or device.has("report", "locked")


def is_locked(device: HomelyDevice) -> bool | None:
    """Return the lock state: ``lock.state`` when clear, else ``report.locked``."""
    state = device.value("lock", "state")
    if not isinstance(state, bool) and state == LOCK_STATE_LOCKED:
        return True
    if not isinstance(state, bool) and state == LOCK_STATE_UNLOCKED:
        return False
    return as_bool(device.value("report", "locked"))


def is_jammed(device: HomelyDevice) -> bool:
    """Return True when the lock reports that it is not fully locked."""
    state = device.value("lock", "state")
    return not isinstance(state, bool) and state == LOCK_STATE_NOT_FULLY_LOCKED


@dataclass(frozen=True, kw_only=True)
class HomelyLockEntityDescription(HomelyEntityDescription, LockEntityDescription):
    """A lock state of a device."""


LOCKS: tuple[HomelyLockEntityDescription, ...] = (
    # The main feature of its device: the entity is named after the device.
    HomelyLockEntityDescription(key="lock", name=None, exists_fn=has_lock),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a lock per device with a lock state, now and whenever one appears."""
    async_add_device_entities(entry, async_add_entities, HomelyLock, LOCKS)


def _read_only() -> NoReturn:
    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="read_only")


class HomelyLock(HomelyDeviceEntity, LockEntity):
    """A door lock whose state Home Assistant can show but not change."""

    entity_description: HomelyLockEntityDescription

    @property
    def is_locked(self) -> bool | None:
        """Return True when locked (None: unknown)."""
        device = self.subject
        return None if device is None else is_locked(device)

    @property
    def is_jammed(self) -> bool | None:
        """Return True when the bolt did not reach the locked position."""
        device = self.subject
        return None if device is None else is_jammed(device)

    async def async_lock(self, **kwargs: Any) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_unlock(self, **kwargs: Any) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()

    async def async_open(self, **kwargs: Any) -> None:
        """Refuse: the Homely API is read-only."""
        _read_only()
