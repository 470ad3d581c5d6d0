"""What every entity of an entry must show: the simulator's truth, entity by entity.

The expectations are written here from the cloud's data as the simulator holds it (the
body ``/home`` or ``homestatus`` would answer), independently of the integration's own
value functions: a fault may leave any entity stale, so every entity the entity registry
holds for the entry is compared, and every entity the cloud's devices call for must be
there (an entity of a removed device must be gone).

Entities disabled by default have no state to compare; they are only allowed to exist.
A number is compared as a number (``"19.0"`` equals ``19``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
import math
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

if TYPE_CHECKING:
    from simulator.homely import HomelySimulator
    from simulator.velux import VeluxSimulator

ANY = object()
"""An expected value that matches anything (a counter that moves on)."""


@dataclass(frozen=True)
class Expected:
    """The state (and attributes) one entity must show."""

    state: object
    """A state text, a number, or :data:`ANY`."""
    attributes: Mapping[str, object] = field(default_factory=dict)
    enabled: bool = True
    """False: disabled by default (no state is compared)."""


def _same(shown: object, truth: object) -> bool:
    if truth is ANY:
        return True
    if isinstance(truth, bool) or not isinstance(truth, int | float):
        return shown == truth
    try:
        number = float(str(shown))
    except ValueError:
        return False
    return math.isclose(number, float(truth), rel_tol=1e-9, abs_tol=1e-9)


def differences(
    hass: HomeAssistant, entry: ConfigEntry[Any], expected: Mapping[str, Expected]
) -> dict[str, tuple[object, object]]:
    """Return ``{unique id: (shown, truth)}`` of every entity that differs from the truth.

    An entity the registry holds that the cloud does not call for shows as
    ``("registered", None)``; one the cloud calls for that is missing as
    ``(None, truth)``.
    """
    found: dict[str, tuple[object, object]] = {}
    registry = er.async_get(hass)
    seen: set[str] = set()
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        seen.add(entity.unique_id)
        truth = expected.get(entity.unique_id)
        if truth is None:
            found[entity.unique_id] = ("registered", None)
            continue
        if entity.disabled_by is not None or not truth.enabled:
            continue
        state = hass.states.get(entity.entity_id)
        if state is None:
            found[entity.unique_id] = (None, truth.state)
            continue
        if not _same(state.state, truth.state):
            found[entity.unique_id] = (state.state, truth.state)
            continue
        for name, value in truth.attributes.items():
            if state.state != STATE_UNAVAILABLE and not _same(state.attributes.get(name), value):
                found[f"{entity.unique_id}.{name}"] = (state.attributes.get(name), value)
    for unique_id, truth in expected.items():
        if truth.enabled and unique_id not in seen:
            found[unique_id] = (None, truth.state)
    return found


def compared(hass: HomeAssistant, entry: ConfigEntry[Any]) -> int:
    """Return how many entities of the entry have a state (the ones compared)."""
    registry = er.async_get(hass)
    return sum(
        1
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
        if entity.disabled_by is None and hass.states.get(entity.entity_id) is not None
    )


def _on_off(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return STATE_UNKNOWN


def _number(value: object, scale: float = 1, digits: int | None = None) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return STATE_UNKNOWN
    result = value / scale
    return round(result, digits) if digits is not None else result


def _account(entry: ConfigEntry[Any]) -> dict[str, Expected]:
    """The account device's sensors: no rate limit in force once a fault is over."""
    account = entry.unique_id or entry.entry_id
    return {
        f"{account}_rate_limited_until": Expected(STATE_UNKNOWN),
        f"{account}_cloud_requests": Expected(ANY, enabled=False),
    }


# -- Homely ---------------------------------------------------------------------------

HOMELY_ALARM = {
    "DISARMED": "disarmed",
    "ARMED_AWAY": "armed_away",
    "ARMED_NIGHT": "armed_night",
    "ARMED_STAY": "armed_home",
    "ARMED_PARTLY": "armed_home",
    "BREACHED": "triggered",
    "ALARM_PENDING": "pending",
    "ALARM_STAY_PENDING": "pending",
    "ARM_PENDING": "arming",
    "ARM_STAY_PENDING": "arming",
    "ARM_NIGHT_PENDING": "arming",
    "ARM_AWAY_PENDING": "arming",
    "ARMED_NIGHT_PENDING": "arming",
    "ARMED_AWAY_PENDING": "arming",
}
"""What Home Assistant shows for each alarm state of the Homely documentation."""


class _Device:
    """One device of a ``/home`` answer, read the way the documentation describes it."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id = str(raw["id"])
        self.model = str(raw.get("modelName") or "").lower()
        self.online = raw.get("online") is not False
        self.states: dict[str, dict[str, object]] = {
            feature: {name: state.get("value") for name, state in body["states"].items()}
            for feature, body in (raw.get("features") or {}).items()
        }

    def has(self, feature: str, state: str) -> bool:
        return state in self.states.get(feature, {})

    def value(self, feature: str, state: str) -> object:
        return self.states.get(feature, {}).get(state)


def _homely_locked(device: _Device) -> object:
    """The Yale Doorman: 1 locked, 0 (not fully locked) and 2 unlocked; else report.locked."""
    state = device.value("lock", "state")
    if state == 1:
        return True
    if state in (0, 2):
        return False
    return device.value("report", "locked")


def _invert(value: object) -> object:
    return not value if isinstance(value, bool) else None


def _homely_device(device: _Device) -> dict[str, Expected]:
    """Every entity a device's features call for, with the state it must show."""
    values: dict[str, tuple[object, bool]] = {}
    """key -> (shown value, whether it shows while the device is offline)."""
    if device.has("alarm", "alarm"):
        if "motion" in device.model:
            kind = "motion"
        elif any(word in device.model for word in ("window", "entry", "door")):
            kind = "opening"
        else:
            kind = "alarm"
        values[kind] = (_on_off(device.value("alarm", "alarm")), False)
    binary = {
        "smoke": ("alarm", "fire"),
        "moisture": ("alarm", "flood"),
        "tamper": ("alarm", "tamper"),
        "battery_defect": ("battery", "defect"),
    }
    for key, (feature, state) in binary.items():
        if device.has(feature, state):
            values[key] = (_on_off(device.value(feature, state)), False)
    if device.has("lock", "state") or device.has("report", "locked"):
        values["lock"] = (_on_off(_invert(_homely_locked(device))), False)
    if device.has("lock", "state"):
        lock_state = device.value("lock", "state")
        values["jammed"] = (_on_off(None if lock_state is None else lock_state == 0), False)
    if device.has("report", "doorclosed"):
        values["door"] = (_on_off(_invert(device.value("report", "doorclosed"))), False)
    if device.has("battery", "low"):
        values["battery_low"] = (_on_off(device.value("battery", "low")), False)
    elif device.has("report", "lowbat"):
        values["battery_low"] = (_on_off(device.value("report", "lowbat")), False)
    values["connectivity"] = (_on_off(device.online), True)
    numbers = {
        "temperature": ("temperature", "temperature", 1, None),
        "local_temperature": ("thermostat", "LocalTemperature", 100, 2),
        "heating_setpoint": ("thermostat", "OccupiedHeatingSetpoint", 100, 2),
        "energy_imported": ("metering", "summationdelivered", 1000, 3),
        "energy_exported": ("metering", "summationreceived", 1000, 3),
        "power": ("metering", "demand", 1, None),
        "battery_voltage": ("battery", "voltage", 1, None),
    }
    for key, (feature, state, scale, digits) in numbers.items():
        if device.has(feature, state):
            values[key] = (_number(device.value(feature, state), scale, digits), False)
    expected = {
        f"{device.id}_{key}": Expected(
            value if device.online or always else STATE_UNAVAILABLE,
        )
        for key, (value, always) in values.items()
    }
    if device.has("diagnostic", "networklinkstrength"):
        expected[f"{device.id}_link_strength"] = Expected(ANY, enabled=False)
    return expected


def homely_expected(
    sim: HomelySimulator, entry: ConfigEntry[Any], *, locations: Iterable[str] | None = None
) -> dict[str, Expected]:
    """Return what every entity of a Homely entry must show (``locations``: those shown)."""
    wanted = set(locations) if locations is not None else set(sim.locations)
    expected = _account(entry)
    for location in sim.locations.values():
        if location.location_id not in wanted:
            continue
        expected[f"{location.location_id}_alarm"] = Expected(
            HOMELY_ALARM.get(location.alarm_state, STATE_UNKNOWN),
            {"homely_state": location.alarm_state},
        )
        for raw in location.devices:
            expected.update(_homely_device(_Device(raw)))
    return expected


def homely_differences(
    hass: HomeAssistant, entry: ConfigEntry[Any], sim: HomelySimulator
) -> dict[str, tuple[object, object]]:
    """Return the entities of a Homely entry that differ from the cloud's truth."""
    return differences(hass, entry, homely_expected(sim, entry))


# -- VELUX ACTIVE ---------------------------------------------------------------------

_CLIMATE = {
    "temperature": ("temperature", 10),
    "humidity": ("humidity", 1),
    "co2": ("co2", 1),
    "illuminance": ("lux", 1),
    "air_quality": ("air_quality", 1),
}
"""Sensor key -> (room climate key, scale) of the indoor climate sensor (NXS)."""
GATEWAY_BUTTONS = ("wake_up", "bedtime", "stop_movements", "identify")


def _velux_module(
    module: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    rooms: Mapping[str, Mapping[str, Any]],
    *,
    home_ok: bool,
    in_error: bool,
) -> dict[str, Expected]:
    """Every entity a module calls for, with the state it must show."""
    module_id, kind = str(module["id"]), module["type"]
    status = status or {}
    reachable = bool(status) and status.get("reachable") is not False and not in_error
    available = home_ok and reachable

    def shown(value: object) -> object:
        return value if available else STATE_UNAVAILABLE

    expected: dict[str, Expected] = {
        f"{module_id}_connectivity": Expected(_on_off(reachable) if home_ok else STATE_UNAVAILABLE),
        f"{module_id}_last_seen": Expected(ANY, enabled=False),
    }
    if kind == "NXG":
        expected[f"{module_id}_rain"] = Expected(shown(_on_off(status.get("is_raining"))))
        locked = status.get("locked")
        lock = "locking" if status.get("locking") else ("locked" if locked else "unlocked")
        expected[f"{module_id}_departure"] = Expected(shown(lock))
        for key in GATEWAY_BUTTONS:
            expected[f"{module_id}_{key}"] = Expected(shown(STATE_UNKNOWN))
        expected[f"{module_id}_wifi_strength"] = Expected(ANY, enabled=False)
    elif kind == "NXO":
        position = status.get("current_position")
        state = STATE_UNKNOWN if position is None else ("closed" if position == 0 else "open")
        expected[f"{module_id}_cover"] = Expected(shown(state), {"current_position": position})
        expected[f"{module_id}_silent"] = Expected(shown(_on_off(status.get("silent"))))
        if module.get("velux_type") == "window":
            mode = status.get("mode")
            expected[f"{module_id}_ventilation"] = Expected(
                shown(_on_off(None if mode is None else mode == "auto"))
            )
            for key in ("secure_position", "rain_position"):
                expected[f"{module_id}_{key}"] = Expected(shown(_number(status.get(key))))
        if status.get("rf_strength") is not None:
            expected[f"{module_id}_rf_strength"] = Expected(ANY, enabled=False)
    else:  # NXS, NXD: batteries
        expected[f"{module_id}_battery"] = Expected(shown(_number(status.get("battery_percent"))))
        expected[f"{module_id}_rf_strength"] = Expected(ANY, enabled=False)
        if kind == "NXS":
            room = rooms.get(str(module.get("room_id")))
            for key, (name, scale) in _CLIMATE.items():
                value = _number(room.get(name), scale) if room is not None else STATE_UNKNOWN
                expected[f"{module_id}_{key}"] = Expected(
                    value if available and room is not None else STATE_UNAVAILABLE
                )
    return expected


def velux_expected(sim: VeluxSimulator, entry: ConfigEntry[Any]) -> dict[str, Expected]:
    """Return what every entity of a VELUX ACTIVE entry must show.

    Homes are those ``homesdata`` lists with a gateway; a home whose ``homestatus`` is
    refused (a revoked share) shows its modules unavailable.
    """
    expected = _account(entry)
    for home_id, home in sim._homes.items():
        body = sim._home_data(home, {"NXG"})
        if not any(module["type"] == "NXG" for module in body["modules"]):
            continue
        answer = sim._home_status(home_id)
        statuses = {item["id"]: item for item in answer["home"]["modules"]}
        rooms = {room["id"]: room for room in answer["home"]["rooms"]}
        errors = {error["id"] for error in answer["errors"]}
        home_ok = home_id not in sim.revoked_homes
        for module in body["modules"]:
            expected.update(
                _velux_module(
                    module,
                    statuses.get(module["id"]),
                    rooms,
                    home_ok=home_ok,
                    in_error=module["id"] in errors,
                )
            )
    return expected


def velux_differences(
    hass: HomeAssistant, entry: ConfigEntry[Any], sim: VeluxSimulator
) -> dict[str, tuple[object, object]]:
    """Return the entities of a VELUX ACTIVE entry that differ from the cloud's truth."""
    return differences(hass, entry, velux_expected(sim, entry))


type Differences = Callable[[], dict[str, tuple[object, object]]]
