"""The cloud account as a device of its own, with what the integration costs the cloud.

Each entry (one cloud account) gets a service device named after the entry and two
diagnostic sensors on it:

* *Cloud requests in the last hour*: every HTTP request the account's client sent, token
  requests included (counted by the client, see :mod:`.api.request_log`; the log outlives
  reloads). Disabled by default.
* *Rate limited until*: until when the cloud limits the account (the integration does not
  ask it before then); unknown while it does not.

Both come from the provider's :class:`AccountUsage` and change whenever one of the entry's
coordinators updates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .api.request_log import RequestLog
from .const import DOMAIN
from .coordinator import VeluxHomelyCoordinator
from .memory import async_recall_or_create

REQUEST_LOG: Final = "request_log"
"""Memory kind (see :mod:`.memory`) of an entry's request log."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountUsage:
    """What the account's client and coordinators know of its use of the cloud."""

    requests_last_hour: int
    rate_limited_until: datetime | None
    """The end of the latest rate limit (None: none); a past time means it is over."""


def _limited_until(usage: AccountUsage) -> datetime | None:
    until = usage.rate_limited_until
    return until if until is not None and until > dt_util.utcnow() else None


@dataclass(frozen=True, kw_only=True)
class AccountSensorEntityDescription(SensorEntityDescription):
    """A sensor of the account device with the function that reads its value."""

    value_fn: Callable[[AccountUsage], StateType | datetime]


ACCOUNT_SENSORS: tuple[AccountSensorEntityDescription, ...] = (
    AccountSensorEntityDescription(
        key="cloud_requests",
        translation_key="cloud_requests",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda usage: usage.requests_last_hour,
    ),
    AccountSensorEntityDescription(
        key="rate_limited_until",
        translation_key="rate_limited_until",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_limited_until,
    ),
)


def account_id(entry: ConfigEntry[Any]) -> str:
    """Return the identifier of the entry's account device (the entry's unique id)."""
    return entry.unique_id or entry.entry_id


@callback
def async_keep_request_log(
    hass: HomeAssistant, entry: ConfigEntry[Any], new: RequestLog
) -> RequestLog:
    """Return the entry's request log: ``new`` at the first set-up, the same one after."""
    return async_recall_or_create(hass, entry.entry_id, REQUEST_LOG, lambda: new)


@callback
def async_add_account_sensors(
    entry: ConfigEntry[Any],
    async_add_entities: AddEntitiesCallback,
    *,
    manufacturer: str,
    coordinators: Iterable[VeluxHomelyCoordinator[Any]],
    usage: Callable[[], AccountUsage],
) -> None:
    """Add the account device's sensors, updated by every coordinator of the entry."""
    coordinators = tuple(coordinators)
    async_add_entities(
        AccountSensor(
            entry, description, manufacturer=manufacturer, coordinators=coordinators, usage=usage
        )
        for description in ACCOUNT_SENSORS
    )


class AccountSensor(SensorEntity):
    """A figure of the account as a whole (always available: the integration knows it)."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: AccountSensorEntityDescription

    def __init__(
        self,
        entry: ConfigEntry[Any],
        description: AccountSensorEntityDescription,
        *,
        manufacturer: str,
        coordinators: tuple[VeluxHomelyCoordinator[Any], ...],
        usage: Callable[[], AccountUsage],
    ) -> None:
        """Bind the sensor to the account device and to what updates it."""
        self.entity_description = description
        self._coordinators = coordinators
        self._usage = usage
        account = account_id(entry)
        self._attr_unique_id = f"{account}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, account)},
            name=entry.title,
            manufacturer=manufacturer,
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Take the current value and follow every coordinator of the entry."""
        await super().async_added_to_hass()
        self._attr_native_value = self.entity_description.value_fn(self._usage())
        for coordinator in self._coordinators:
            self.async_on_remove(coordinator.async_add_listener(self._handle_coordinator_update))

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state when the value changed."""
        value = self.entity_description.value_fn(self._usage())
        if value != self._attr_native_value:
            self._attr_native_value = value
            self.async_write_ha_state()
