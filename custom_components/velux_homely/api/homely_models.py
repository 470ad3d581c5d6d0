"""Typed models of the Homely SDK: locations, home (alarm state and devices), live events.

Parsing is lenient: a missing or ``null`` value is *unknown* (``None``), never zero, and a
malformed part of a document is dropped instead of failing the whole document. Only the
parts every caller depends on (ids) are required; :class:`~.errors.InvalidResponseError` is
raised when those are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from .errors import InvalidResponseError

type StateValue = bool | int | float | str | None

ALARM_STATES: Final = frozenset(
    {
        "DISARMED",
        "ARMED_AWAY",
        "ARMED_NIGHT",
        "ARMED_STAY",
        "ARMED_PARTLY",
        "BREACHED",
        "ALARM_PENDING",
        "ALARM_STAY_PENDING",
        "ARM_PENDING",
        "ARM_STAY_PENDING",
        "ARM_NIGHT_PENDING",
        "ARM_AWAY_PENDING",
        "ARMED_NIGHT_PENDING",
        "ARMED_AWAY_PENDING",
    }
)
"""Alarm states the SDK is known to report (others are kept as they come)."""

EVENT_DEVICE_STATE_CHANGED: Final = "device-state-changed"
EVENT_ALARM_STATE_CHANGED: Final = "alarm-state-changed"


def parse_timestamp(raw: Any) -> datetime | None:
    """Parse an ISO 8601 stamp such as ``2022-03-07T10:17:06.109Z`` (None if not one).

    Epoch numbers (seconds, or milliseconds when that large) are accepted too.
    """
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = raw / 1000 if raw > 100_000_000_000 else raw
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _value(raw: Any) -> StateValue:
    """Keep scalar values; anything else (lists, objects) is unknown."""
    if isinstance(raw, bool | int | float | str):
        return raw
    return None


def _text(raw: Any, default: str = "") -> str:
    return raw if isinstance(raw, str) else default


def _optional_text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def _require_id(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidResponseError(f"{what} without {key}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class HomelyLocation:
    """One entry of ``GET /homely/locations``: a gateway the user may read."""

    location_id: str
    name: str
    role: str | None
    user_id: str | None
    gateway_serial: str | None

    @classmethod
    def from_api(cls, raw: Any) -> HomelyLocation:
        """Build a location from its JSON object."""
        if not isinstance(raw, Mapping):
            raise InvalidResponseError("location is not an object")
        location_id = _require_id(raw, "locationId", "location")
        return cls(
            location_id=location_id,
            name=_text(raw.get("name")) or location_id,
            role=_optional_text(raw.get("role")),
            user_id=_optional_text(raw.get("userId")),
            gateway_serial=_optional_text(raw.get("gatewayserial")),
        )


def parse_locations(raw: Any) -> list[HomelyLocation]:
    """Parse the body of ``GET /homely/locations``."""
    if not isinstance(raw, list):
        raise InvalidResponseError("locations is not a list")
    return [HomelyLocation.from_api(item) for item in raw]


@dataclass(frozen=True, slots=True)
class HomelyState:
    """One state of a device feature: its value and when the device reported it."""

    value: StateValue
    last_updated: datetime | None = None

    @classmethod
    def from_api(cls, raw: Any) -> HomelyState:
        """Build a state from ``{"value", "lastUpdated"}`` (anything else is unknown)."""
        if not isinstance(raw, Mapping):
            return cls(None, None)
        return cls(_value(raw.get("value")), parse_timestamp(raw.get("lastUpdated")))


type Features = Mapping[str, Mapping[str, HomelyState]]


def _newer(first: datetime | None, second: datetime | None) -> bool:
    """Return True when stamp ``first`` is newer than ``second`` (unknown is oldest)."""
    if first is None:
        return False
    return second is None or first > second


def _parse_features(raw: Any) -> dict[str, dict[str, HomelyState]]:
    features: dict[str, dict[str, HomelyState]] = {}
    if not isinstance(raw, Mapping):
        return features
    for feature, body in raw.items():
        if not isinstance(feature, str) or not isinstance(body, Mapping):
            continue
        states = body.get("states")
        if not isinstance(states, Mapping):
            continue
        features[feature] = {
            name: HomelyState.from_api(state)
            for name, state in states.items()
            if isinstance(name, str)
        }
    return features


@dataclass(frozen=True, slots=True, kw_only=True)
class HomelyDevice:
    """A device (sensor, HAN plug, thermostat, lock) of a location."""

    device_id: str
    name: str
    serial_number: str | None
    location: str
    online: bool
    model_id: str | None
    model_name: str | None
    features: Features = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: Any) -> HomelyDevice:
        """Build a device from one entry of the ``devices`` list."""
        if not isinstance(raw, Mapping):
            raise InvalidResponseError("device is not an object")
        device_id = _require_id(raw, "id", "device")
        online = raw.get("online")
        return cls(
            device_id=device_id,
            name=_text(raw.get("name")) or device_id,
            serial_number=_optional_text(raw.get("serialNumber")),
            location=_text(raw.get("location")),
            # A device that does not say is taken as online: its states still show.
            online=online if isinstance(online, bool) else True,
            model_id=_optional_text(raw.get("modelId")),
            model_name=_optional_text(raw.get("modelName")),
            features=_parse_features(raw.get("features")),
        )

    def has(self, feature: str, state: str) -> bool:
        """Return True when the device reports ``feature.state`` (even with no value)."""
        return state in self.features.get(feature, {})

    def state(self, feature: str, state: str) -> HomelyState | None:
        """Return ``feature.state`` or None when the device does not have it."""
        return self.features.get(feature, {}).get(state)

    def value(self, feature: str, state: str) -> StateValue:
        """Return the value of ``feature.state`` (None when absent or unknown)."""
        found = self.state(feature, state)
        return None if found is None else found.value

    def merged_with(self, held: HomelyDevice | None) -> HomelyDevice:
        """Return this (freshly read) device with the states ``held`` has newer.

        An entry without any state (its ``features`` missing: a partial answer) tells
        nothing about the device: the device held is kept as it is.
        """
        if held is None:
            return self
        if not self.features and held.features:
            return held
        features: dict[str, dict[str, HomelyState]] | None = None
        for feature, states in self.features.items():
            for name, fetched in states.items():
                kept = held.state(feature, name)
                if kept is None or not _newer(kept.last_updated, fetched.last_updated):
                    continue
                if features is None:
                    features = {f: dict(s) for f, s in self.features.items()}
                features[feature][name] = kept
        return self if features is None else replace(self, features=features)

    def with_change(self, change: HomelyChange) -> HomelyDevice | None:
        """Return the device with ``change`` applied, or None when the change is stale.

        A change older than the state held (by ``lastUpdated``) is stale. A change for a
        feature or state the device did not have before is added.
        """
        held = self.state(change.feature, change.state_name)
        if (
            held is not None
            and held.last_updated is not None
            and change.last_updated is not None
            and change.last_updated < held.last_updated
        ):
            return None
        features = {name: dict(states) for name, states in self.features.items()}
        features.setdefault(change.feature, {})[change.state_name] = HomelyState(
            change.value, change.last_updated
        )
        return replace(self, features=features)


@dataclass(frozen=True, slots=True, kw_only=True)
class HomelyHome:
    """The body of ``GET /homely/home/{locationId}``, plus what live events told us."""

    location_id: str
    name: str
    gateway_serial: str | None
    alarm_state: str | None
    user_role: str | None
    devices: Mapping[str, HomelyDevice] = field(default_factory=dict)
    alarm_changed_by: str | None = None
    """User name of the last alarm change (only live events carry it)."""
    alarm_changed_at: datetime | None = None
    """When the alarm state last changed (only live events carry it)."""
    unidentified: int = 0
    """Entries of the ``devices`` list dropped for want of an id: such a read cannot
    tell which devices are gone."""

    @classmethod
    def from_api(cls, raw: Any) -> HomelyHome:
        """Build a home from its JSON object (devices without an id are dropped).

        A home without a ``devices`` list is invalid, not a home without devices: taking
        it as empty would remove every device of the location.
        """
        if not isinstance(raw, Mapping):
            raise InvalidResponseError("home is not an object")
        location_id = _require_id(raw, "locationId", "home")
        raw_devices = raw.get("devices")
        if not isinstance(raw_devices, list):
            raise InvalidResponseError("home without a devices list")
        devices: dict[str, HomelyDevice] = {}
        unidentified = 0
        for item in raw_devices:
            try:
                device = HomelyDevice.from_api(item)
            except InvalidResponseError:
                unidentified += 1
                continue
            devices[device.device_id] = device
        return cls(
            location_id=location_id,
            name=_text(raw.get("name")) or location_id,
            gateway_serial=_optional_text(raw.get("gatewayserial")),
            alarm_state=_optional_text(raw.get("alarmState")),
            user_role=_optional_text(raw.get("userRoleAtLocation")),
            devices=devices,
            unidentified=unidentified,
        )

    def merged_with(
        self, previous: HomelyHome | None, *, keep_alarm_state: bool = False
    ) -> HomelyHome:
        """Merge this fresh read with ``previous``, the data held (live events included).

        The read decides which devices, features and states exist. Per state, whichever of
        held and read has the newer ``lastUpdated`` wins (an unknown stamp loses to a known
        one; the read wins a tie): a live event applied while the read was under way is
        newer than the read and survives it. The alarm state has no stamp in a read:
        ``keep_alarm_state`` (an alarm event was applied after the read was requested)
        keeps the held one. Who/when of the alarm state are kept while the state is the
        same. When the read dropped entries without an id, the devices held that it
        lacks are kept (one of them may be such an entry): a later complete read decides.
        """
        if previous is None:
            return self
        devices = {
            device_id: device.merged_with(previous.devices.get(device_id))
            for device_id, device in self.devices.items()
        }
        if self.unidentified:
            devices.update(
                (device_id, device)
                for device_id, device in previous.devices.items()
                if device_id not in devices
            )
        merged = replace(self, devices=devices)
        if keep_alarm_state or previous.alarm_state == self.alarm_state:
            merged = replace(
                merged,
                alarm_state=previous.alarm_state,
                alarm_changed_by=previous.alarm_changed_by,
                alarm_changed_at=previous.alarm_changed_at,
            )
        return merged

    def with_device_changes(self, event: DeviceStateChanged) -> HomelyHome | None:
        """Apply the changes of ``event`` to its device; None when nothing changed.

        None means: unknown device, or every change was stale.
        """
        device = self.devices.get(event.device_id)
        if device is None:
            return None
        updated: HomelyDevice | None = None
        for change in event.changes:
            applied = (updated or device).with_change(change)
            if applied is not None:
                updated = applied
        if updated is None:
            return None
        return replace(self, devices={**self.devices, device.device_id: updated})

    def with_alarm_change(self, event: AlarmStateChanged) -> HomelyHome | None:
        """Apply an alarm state change; None when it is older than the change held."""
        if (
            self.alarm_changed_at is not None
            and event.timestamp is not None
            and event.timestamp < self.alarm_changed_at
        ):
            return None
        return replace(
            self,
            alarm_state=event.state,
            alarm_changed_by=event.user_name,
            alarm_changed_at=event.timestamp,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HomelyChange:
    """One state change of a ``device-state-changed`` event."""

    feature: str
    state_name: str
    value: StateValue
    last_updated: datetime | None

    @classmethod
    def from_api(cls, raw: Any) -> HomelyChange | None:
        """Build a change; None when feature or state name is missing."""
        if not isinstance(raw, Mapping):
            return None
        feature = raw.get("feature")
        state_name = raw.get("stateName")
        if not isinstance(feature, str) or not isinstance(state_name, str):
            return None
        if not feature or not state_name:
            return None
        return cls(
            feature=feature,
            state_name=state_name,
            value=_value(raw.get("value")),
            last_updated=parse_timestamp(raw.get("lastUpdated")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStateChanged:
    """A ``device-state-changed`` event."""

    device_id: str
    location_id: str | None
    root_location_id: str | None
    changes: tuple[HomelyChange, ...]

    @property
    def location_candidates(self) -> tuple[str, ...]:
        """Location ids that may name the home, best first (root location, then location)."""
        return tuple(i for i in (self.root_location_id, self.location_id) if i)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmStateChanged:
    """An ``alarm-state-changed`` event."""

    location_id: str | None
    state: str
    user_id: str | None
    user_name: str | None
    timestamp: datetime | None


type HomelyEvent = DeviceStateChanged | AlarmStateChanged


class MalformedEventError(ValueError):
    """The event lacks what its type needs."""


class UnknownEventError(ValueError):
    """The event has a type this client does not handle."""


def parse_event(raw: Any) -> HomelyEvent:
    """Parse the payload of a Socket.IO ``event`` message.

    Raises :class:`UnknownEventError` for a well-formed event of another type and
    :class:`MalformedEventError` for a malformed one.
    """
    if not isinstance(raw, Mapping):
        raise MalformedEventError("event is not an object")
    event_type = raw.get("type")
    # The vendor document calls the body "payload"; servers send "data".
    data = raw.get("data", raw.get("payload"))
    if not isinstance(event_type, str):
        raise MalformedEventError("event without type")
    if event_type == EVENT_DEVICE_STATE_CHANGED:
        return _parse_device_event(data)
    if event_type == EVENT_ALARM_STATE_CHANGED:
        return _parse_alarm_event(data)
    raise UnknownEventError(event_type)


def _parse_device_event(data: Any) -> DeviceStateChanged:
    if not isinstance(data, Mapping):
        raise MalformedEventError("device-state-changed without data")
    device_id = data.get("deviceId")
    if not isinstance(device_id, str) or not device_id:
        raise MalformedEventError("device-state-changed without deviceId")
    raw_changes = data.get("changes")
    if not isinstance(raw_changes, list):
        single = data.get("change")
        raw_changes = [single] if isinstance(single, Mapping) else []
    changes = tuple(
        change for change in map(HomelyChange.from_api, raw_changes) if change is not None
    )
    if not changes:
        raise MalformedEventError("device-state-changed without changes")
    return DeviceStateChanged(
        device_id=device_id,
        location_id=_optional_text(data.get("locationId")),
        root_location_id=_optional_text(data.get("rootLocationId")),
        changes=changes,
    )


def _parse_alarm_event(data: Any) -> AlarmStateChanged:
    if not isinstance(data, Mapping):
        raise MalformedEventError("alarm-state-changed without data")
    state = data.get("state")
    if not isinstance(state, str) or not state:
        raise MalformedEventError("alarm-state-changed without state")
    return AlarmStateChanged(
        location_id=_optional_text(data.get("locationId")),
        state=state,
        user_id=_optional_text(data.get("userId")),
        user_name=_optional_text(data.get("userName")),
        timestamp=parse_timestamp(data.get("timestamp")),
    )
