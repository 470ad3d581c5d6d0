"""Demo data of the Homely cloud simulator: ids, device models and the two demo locations.

Nothing here imports Home Assistant. Every device is a plain JSON-like dict shaped exactly like
one entry of the `devices` list of `GET /homely/home/{locationId}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_USERNAME = "demo@homely.example"
DEMO_PASSWORD = "homely-demo"

USER_ID = "f8f03628-0346-4a0b-8c01-ac2c6c4196fd"
USER_NAME = "Demo User"

LOCATION_ID = "781107e4-f301-43b7-b433-254caa486758"
LOCATION_NAME = "Demo Home"
GATEWAY_SERIAL = "0200000100A7C3E1"
GATEWAY_ID = "07f6e1c0-700c-467b-8daf-8cb014bb57b9"

CABIN_LOCATION_ID = "36092ca0-d687-454c-82e0-2148e96aaff2"
CABIN_LOCATION_NAME = "Hytta"
CABIN_GATEWAY_SERIAL = "0200000100B51D42"
CABIN_GATEWAY_ID = "b98d3608-d1b5-4499-ba29-e9851a0e6d80"

MOTION_ID = "e5dbd26c-072f-4b69-b761-55eb8fc50527"
"""Motion Sensor Mini of the home."""
MOTION2_ID = "d997760c-6131-4e66-a7a2-eed6225673e8"
"""Alarm Motion Sensor 2 of the home."""
ENTRY_ID = "009c9e76-cbee-437b-9fdb-af04732a8bac"
"""Window Sensor of the home."""
ENTRY2_ID = "44c3a69a-9d81-4ab0-a7f1-ed31bfa434fb"
"""Alarm Entry Sensor 2 of the home."""
SMOKE_ID = "1266ffe3-0779-4de8-8008-388765a8053b"
FLOOD_ID = "472e66d5-169d-4a53-8778-8b3ed7ef0c3f"
HAN_ID = "6a2ddeba-a832-46c9-b2b7-4b556879db62"
THERMOSTAT_ID = "483c74d7-401a-4ecf-855a-31c68bd2d29d"
LOCK_ID = "fd43052d-e6d3-4324-bb86-96a85786c72f"
"""Yale Doorman V2N of the home."""
CABIN_ENTRY_ID = "272751ec-7652-4ab4-bf28-890780bf0eb5"
"""Window Sensor of the cabin."""

MODEL_MOTION_MINI = "Motion Sensor Mini"
MODEL_MOTION_2 = "Alarm Motion Sensor 2"
MODEL_WINDOW = "Window Sensor"
MODEL_ENTRY_2 = "Alarm Entry Sensor 2"
MODEL_SMOKE = "Intelligent Smoke Alarm"
MODEL_FLOOD = "Flood Alarm"
MODEL_HAN = "EMI Norwegian HAN"
MODEL_THERMOSTAT = "ELKO Super TR"
MODEL_LOCK = "Yale Doorman V2N"

MODEL_IDS: dict[str, str] = {
    MODEL_MOTION_MINI: "f3d6000f-fa76-4b95-8cc4-5c6e0b5f2dcb",
    MODEL_MOTION_2: "0c417801-45ae-45cf-aba4-b826dacd081d",
    MODEL_WINDOW: "bb50ca52-2920-4aa5-9864-52564559850e",
    MODEL_ENTRY_2: "41e87a7f-b32e-41e2-b9cf-375cbd40e0ac",
    MODEL_SMOKE: "bc1868e8-2fe0-4f3d-aaf9-92ff0be0caab",
    MODEL_FLOOD: "3367b1f6-a705-4d87-ba3f-18d912db3f38",
    MODEL_HAN: "379eae28-1db8-49d7-a210-90cda52ef3f5",
    MODEL_THERMOSTAT: "6d67198d-3631-45b1-af3a-b944713004b2",
    MODEL_LOCK: "5ce5a1cb-1b82-420d-82d0-8fb50d12b778",
}
"""modelId of every model the simulator knows."""

# A fixed moment in the past: every initial `lastUpdated` is at or after it, and before any
# change made while the simulator runs (those use the current time).
_DAY = "2026-01-14"

StateSpec = tuple[Any, str | None]
FeatureSpec = dict[str, StateSpec]


def _t(clock: str) -> str:
    """Return a `lastUpdated` stamp of the demo day at `clock` ("HH:MM:SS.mmm")."""
    return f"{_DAY}T{clock}Z"


def _diagnostic(strength: int, address: str) -> FeatureSpec:
    return {
        "networklinkstrength": (strength, _t("09:12:04.417")),
        "networklinkaddress": (address, _t("06:01:35.472")),
    }


def _temperature(celsius: float) -> FeatureSpec:
    return {"temperature": (celsius, _t("09:10:23.730"))}


def _battery(voltage: float, *, defect: bool) -> FeatureSpec:
    spec: FeatureSpec = {"low": (False, _t("02:54:34.415"))}
    if defect:
        spec["defect"] = (False, _t("02:54:34.444"))
    spec["voltage"] = (voltage, _t("03:23:20.184"))
    return spec


def _motion() -> dict[str, FeatureSpec]:
    return {
        "alarm": {
            "alarm": (False, _t("08:17:06.109")),
            "tamper": (False, _t("07:17:12.031")),
        },
        "temperature": _temperature(21.4),
        "battery": _battery(2.9, defect=True),
        "diagnostic": _diagnostic(87, "0015BC002C102E91"),
    }


def _entry() -> dict[str, FeatureSpec]:
    return {
        "alarm": {
            "alarm": (False, _t("07:45:51.302")),
            "tamper": (False, _t("07:40:02.118")),
        },
        "temperature": _temperature(19.6),
        "battery": _battery(3.0, defect=True),
        "diagnostic": _diagnostic(74, "0015BC002C102E91"),
    }


def _smoke() -> dict[str, FeatureSpec]:
    return {
        "alarm": {"fire": (False, _t("05:02:18.006"))},
        "temperature": _temperature(22.1),
        "battery": _battery(2.8, defect=False),
        "diagnostic": _diagnostic(91, "0015BC002C102E91"),
    }


def _flood() -> dict[str, FeatureSpec]:
    return {
        "alarm": {"flood": (False, _t("04:08:08.242"))},
        "temperature": _temperature(17.3),
        "battery": _battery(2.9, defect=False),
        "diagnostic": _diagnostic(83, "0015BC002C102E91"),
    }


def _han() -> dict[str, FeatureSpec]:
    return {
        "metering": {
            "summationdelivered": (12_345_670, _t("09:00:07.206")),
            "summationreceived": (0, _t("01:00:02.793")),
            "demand": (1480, _t("09:13:07.180")),
            "check": (False, _t("01:31:57.273")),
        },
        "diagnostic": _diagnostic(98, "0015BC002C102E91"),
    }


def _thermostat() -> dict[str, FeatureSpec]:
    return {
        "thermostat": {
            "LocalTemperature": (2150, _t("09:12:12.871")),
            "AbsMinHeatSetpointLimit": (5, _t("02:36:22.076")),
            "AbsMaxHeatSetpointLimit": (40, _t("02:19:22.773")),
            "OccupiedCoolingSetpoint": (2600, _t("02:36:23.359")),
            "OccupiedHeatingSetpoint": (2200, _t("08:57:03.957")),
            "ControlSequenceOfOperation": (2, _t("02:36:23.833")),
            "SystemMode": (4, _t("02:36:23.960")),
            "mf401": (1800, _t("02:19:22.961")),
            "mf402": (None, None),
            "mf403": ("00", _t("02:36:31.506")),
            "mf404": (15, _t("02:19:23.746")),
            "mf405": (False, _t("02:36:31.827")),
            "mf406": (True, _t("02:39:13.128")),
            "mf407": (None, None),
            "mf408": (1800, _t("08:54:34.031")),
            "mf414": (28, _t("02:36:27.325")),
            "mf415": (True, _t("08:37:39.425")),
            "mf416": ("01010601000A52", _t("02:36:33.859")),
            "mf418": (10, _t("03:25:33.056")),
        },
    }


def _lock() -> dict[str, FeatureSpec]:
    return {
        "lock": {
            # Zigbee Door Lock cluster LockState: 0 not fully locked, 1 locked, 2 unlocked.
            "state": (1, _t("08:02:41.550")),
            "autorelocktime": (30, _t("02:10:11.004")),
            "soundvolume": (1, _t("02:10:11.120")),
        },
        "report": {
            "locked": (True, _t("08:02:41.561")),
            "doorclosed": (True, _t("08:02:39.903")),
            "lowbat": (False, _t("02:10:12.377")),
        },
    }


MODEL_FEATURES: dict[str, Callable[[], dict[str, FeatureSpec]]] = {
    MODEL_MOTION_MINI: _motion,
    MODEL_MOTION_2: _motion,
    MODEL_WINDOW: _entry,
    MODEL_ENTRY_2: _entry,
    MODEL_SMOKE: _smoke,
    MODEL_FLOOD: _flood,
    MODEL_HAN: _han,
    MODEL_THERMOSTAT: _thermostat,
    MODEL_LOCK: _lock,
}
"""Feature/state layout (with demo values) of every model the simulator knows."""

_SERIAL_PREFIX = {MODEL_THERMOSTAT: "000D6F00", MODEL_LOCK: "000B5700"}


def make_device(
    device_id: str,
    model_name: str,
    *,
    name: str,
    serial_number: str,
    location: str = "",
    online: bool = True,
) -> dict[str, Any]:
    """Build one device of `model_name` in the shape of the `/home` response.

    Raises `KeyError` for a model the simulator does not know.
    """
    features = {
        feature: {
            "states": {
                state: {"value": value, "lastUpdated": updated}
                for state, (value, updated) in states.items()
            }
        }
        for feature, states in MODEL_FEATURES[model_name]().items()
    }
    return {
        "id": device_id,
        "name": name,
        "serialNumber": serial_number,
        "location": location,
        "online": online,
        "modelId": MODEL_IDS[model_name],
        "modelName": model_name,
        "features": features,
    }


def serial_for(model_name: str, index: int) -> str:
    """Return a plausible 16 hex digit serial number for a device of `model_name`."""
    prefix = _SERIAL_PREFIX.get(model_name, "0015BC00")
    return f"{prefix}{0x1A016A00 + index:08X}"


@dataclass
class SimLocation:
    """One location (gateway) of the demo user, with its devices."""

    location_id: str
    name: str
    gatewayserial: str
    gateway_id: str
    role: str = "ADMIN"
    alarm_state: str = "DISARMED"
    devices: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the entry of this location in `GET /homely/locations`."""
        return {
            "name": self.name,
            "role": self.role,
            "userId": USER_ID,
            "locationId": self.location_id,
            "gatewayserial": self.gatewayserial,
        }

    def home(self) -> dict[str, Any]:
        """Return the body of `GET /homely/home/{locationId}`."""
        return {
            "locationId": self.location_id,
            "gatewayserial": self.gatewayserial,
            "name": self.name,
            "alarmState": self.alarm_state,
            "userRoleAtLocation": self.role,
            "devices": self.devices,
        }


_HOME_DEVICES: list[tuple[str, str, str, str]] = [
    (MOTION_ID, MODEL_MOTION_MINI, "Motion hallway", "Floor 1 - Entrance"),
    (MOTION2_ID, MODEL_MOTION_2, "Motion living room", "Floor 1 - Living room"),
    (ENTRY_ID, MODEL_WINDOW, "Front door", "Floor 1 - Entrance"),
    (ENTRY2_ID, MODEL_ENTRY_2, "Bedroom window", "Floor 2 - Bedroom"),
    (SMOKE_ID, MODEL_SMOKE, "Smoke alarm", "Floor 2 - Hallway"),
    (FLOOD_ID, MODEL_FLOOD, "Flood alarm", "Basement - Laundry"),
    (HAN_ID, MODEL_HAN, "HAN plug", "Floor 1 - Entrance"),
    (THERMOSTAT_ID, MODEL_THERMOSTAT, "Bathroom floor", ""),
    (LOCK_ID, MODEL_LOCK, "Front door lock", "Floor 1 - Entrance"),
]


def demo_locations() -> dict[str, SimLocation]:
    """Build fresh demo data: the home (one device of every model) and the cabin."""
    home = SimLocation(LOCATION_ID, LOCATION_NAME, GATEWAY_SERIAL, GATEWAY_ID, role="OWNER")
    for index, (device_id, model, name, where) in enumerate(_HOME_DEVICES):
        home.devices.append(
            make_device(
                device_id,
                model,
                name=name,
                serial_number=serial_for(model, index),
                location=where,
            )
        )
    cabin = SimLocation(
        CABIN_LOCATION_ID, CABIN_LOCATION_NAME, CABIN_GATEWAY_SERIAL, CABIN_GATEWAY_ID
    )
    cabin.devices.append(
        make_device(
            CABIN_ENTRY_ID,
            MODEL_WINDOW,
            name="Cabin door",
            serial_number=serial_for(MODEL_WINDOW, 40),
            location="Ground floor - Entrance",
        )
    )
    return {home.location_id: home, cabin.location_id: cabin}
