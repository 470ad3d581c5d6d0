"""State model of the VELUX ACTIVE simulator: homes, rooms, modules and openers.

Kept apart from the HTTP layer (:mod:`simulator.velux`) so that the rendering of
``homesdata`` / ``homestatus`` and the movement of openers can be read on their own.
Positions move on a simulated clock and are computed lazily, so no background task
ever runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------
# Identifiers of the demo account
# ---------------------------------------------------------------------------

USER_ID = "5c8e7d6b5a4f3e2d1c0b9a88"
"""Id of the demo user (``getuser._id``; also the prefix of issued tokens)."""

HOME_ID = "5e1f2a3b4c5d6e7f80901a2b"
"""The main demo home ("Home")."""
GATEWAY_ID = "70:ee:50:3a:1b:2c"
"""NXG gateway of :data:`HOME_ID`."""
WINDOW_ID = "5636133219200932"
"""NXO roof window (``velux_type`` ``window``) in the bedroom."""
SHUTTER_ID = "5636133219200933"
"""NXO roller shutter in the living room."""
BLIND_ID = "5636133219200934"
"""NXO interior blind in the bedroom."""
AWNING_ID = "5636133219200935"
"""NXO awning blind in the living room."""
SENSOR_ID = "70:ee:50:3a:2d:4e"
"""NXS indoor climate sensor in the bedroom."""
SWITCH_ID = "70:ee:50:3a:3f:50"
"""NXD departure switch (no room)."""
BEDROOM_ID = "2140374911"
"""Room with the window, the blind and the climate sensor (climate values)."""
SENSOR_ROOM_ID = BEDROOM_ID
"""The room whose climate the NXS measures (same as :data:`BEDROOM_ID`)."""
LIVING_ROOM_ID = "2140374912"
"""Room with the shutter and the awning (no climate values)."""

SMALL_HOME_ID = "5e1f2a3b4c5d6e7f80901a2c"
"""The second demo home ("Cabin")."""
SMALL_GATEWAY_ID = "70:ee:50:4b:5c:6d"
"""NXG gateway of :data:`SMALL_HOME_ID`."""
SMALL_SHUTTER_ID = "5636133219200940"
"""NXO roller shutter of the cabin."""
SMALL_ROOM_ID = "2140374920"
"""The cabin's only room."""

GATEWAY = "NXG"
OPENER = "NXO"
SENSOR = "NXS"
SWITCH = "NXD"

VELUX_TYPES = ("window", "shutter", "blind", "awning_blind", "venetian_blind")
"""Values of ``velux_type`` of an NXO."""
ROOM_CLIMATE_KEYS = frozenset(
    {
        "temperature",
        "humidity",
        "co2",
        "lux",
        "air_quality",
        "algo_status",
        "algo_schedule_start",
        "auto_close_ts",
        "max_comfort_co2",
        "max_comfort_humidity",
        "min_comfort_humidity",
        "max_comfort_temperature",
        "min_comfort_temperature",
    }
)
"""Keys accepted by :meth:`simulator.velux.VeluxSimulator.set_room_climate`."""

DEFAULT_PREFERRED_POSITION = 50
"""Where ``target_position: -2`` ("preferred position") sends an opener."""

REALISTIC_TRAVEL_TIMES: dict[str, float] = {
    "window": 45.0,
    "shutter": 30.0,
    "blind": 20.0,
    "awning_blind": 25.0,
    "venetian_blind": 35.0,
}
"""Seconds of a full move (0 -> 100) per ``velux_type``, for ``travel_times``."""


def battery_state(percent: int) -> str:
    """Return the Netatmo battery state word of a charge in percent."""
    if percent >= 90:
        return "full"
    if percent >= 65:
        return "high"
    if percent >= 40:
        return "medium"
    if percent >= 15:
        return "low"
    return "very_low"


def battery_millivolts(percent: int) -> int:
    """Return a plausible battery voltage (two AA cells) of a charge in percent."""
    return 2200 + percent * 14


def signal_state(strength: int) -> str:
    """Return the state word of an RF / Wi-Fi strength (lower is better, as Netatmo)."""
    if strength <= 60:
        return "full"
    if strength <= 70:
        return "high"
    if strength <= 85:
        return "medium"
    return "low"


@dataclass
class Room:
    """A room of a home; its climate (if any) is measured by an NXS."""

    id: str
    name: str
    type: str = "custom"
    climate: dict[str, Any] = field(default_factory=dict)


@dataclass
class Home:
    """A home of the account."""

    id: str
    name: str
    timezone: str = "Europe/Copenhagen"
    country: str = "DK"
    altitude: int = 24
    coordinates: tuple[float, float] = (12.57, 55.68)
    rooms: dict[str, Room] = field(default_factory=dict)


@dataclass
class Module:
    """A module (NXG, NXO, NXS, NXD) and its live state.

    ``status`` holds the homestatus keys that only change through commands or knobs
    (``mode``, ``silent``, ``is_raining``, firmware, ...). Positions are a movement
    from ``start_position`` at ``start_time`` (simulated clock) toward ``target``.
    """

    id: str
    type: str
    home_id: str
    name: str
    setup_date: int
    bridge: str | None = None
    room_id: str | None = None
    velux_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    reachable: bool = True
    frozen_last_seen: int | None = None
    start_position: float = 0.0
    start_time: float = 0.0
    target: int = 0
    battery_percent: int | None = None
    obstacle: int | None = None
    """A position where the next movement across it stops short (obstacle, rain)."""

    def end(self) -> int:
        """Return where the current movement ends: an obstacle on the way, else the target."""
        low, high = sorted((self.start_position, float(self.target)))
        if self.obstacle is not None and low < self.obstacle < high:
            return self.obstacle
        return self.target

    def position(self, now: float, speed: float) -> float:
        """Return the exact position of an opener at simulated time ``now``."""
        end = self.end()
        distance = end - self.start_position
        if speed <= 0 or distance == 0:
            return float(end)
        travelled = speed * max(0.0, now - self.start_time)
        if travelled >= abs(distance):
            return float(end)
        return self.start_position + travelled * (1 if distance > 0 else -1)

    def arrival(self, speed: float) -> float | None:
        """Return the simulated time the current movement ends (None when instant / idle)."""
        distance = abs(self.end() - self.start_position)
        if speed <= 0 or distance == 0:
            return None
        return self.start_time + distance / speed

    def settle(self, now: float, speed: float) -> None:
        """Turn a movement that stopped at its obstacle into a stop there."""
        end = self.end()
        if end != self.target and self.position(now, speed) == float(end):
            self.start_position = float(end)
            self.start_time = now
            self.target = end
            self.obstacle = None

    def move_to(self, target: int, now: float, speed: float) -> None:
        """Start a movement from the current position toward ``target``."""
        self.settle(now, speed)
        self.start_position = self.position(now, speed)
        self.start_time = now
        self.target = target

    def stop(self, now: float, speed: float) -> None:
        """Stop where the opener is now."""
        self.settle(now, speed)
        here = round(self.position(now, speed))
        self.start_position = float(here)
        self.start_time = now
        self.target = here

    def jump(self, position: int, now: float) -> None:
        """Put the opener at ``position`` without movement."""
        self.start_position = float(position)
        self.start_time = now
        self.target = position

    def moving(self, now: float, speed: float) -> bool:
        """Return True while the opener has not reached the end of its movement."""
        return self.position(now, speed) != float(self.end())


_GATEWAY_STATUS: dict[str, Any] = {
    "wifi_strength": 58,
    "wifi_state": "full",
    "locked": False,
    "locking": False,
    "secure": True,
    "calibrating": False,
    "pairing": False,
    "is_raining": False,
    "hardware_version": 1,
    "firmware_revision_netatmo": 46,
    "firmware_revision_thirdparty": "33.1.7",
}
_OPENER_STATUS: dict[str, Any] = {
    "mode": "algo_disabled",
    "silent": False,
    "manufacturer": "VELUX",
    "firmware_revision": 16,
}
_BATTERY_STATUS: dict[str, Any] = {"rf_strength": 62, "firmware_revision": 50}


def default_status(module_type: str, velux_type: str | None) -> dict[str, Any]:
    """Return the default static homestatus keys of a new module."""
    if module_type == GATEWAY:
        return dict(_GATEWAY_STATUS)
    if module_type == OPENER:
        status = dict(_OPENER_STATUS)
        if velux_type == "window":
            status.update(secure_position=10, rain_position=5)
        return status
    if module_type in (SENSOR, SWITCH):
        return dict(_BATTERY_STATUS)
    return {}


def new_module(
    home_id: str, module: dict[str, Any], status: dict[str, Any] | None, now: float
) -> Module:
    """Build a :class:`Module` from a homesdata entry and optional homestatus keys."""
    data = dict(module)
    module_id = str(data.pop("id"))
    module_type = str(data.pop("type"))
    velux_type = data.pop("velux_type", None)
    if module_type == OPENER and velux_type is None:
        velux_type = "shutter"
    result = Module(
        id=module_id,
        type=module_type,
        home_id=home_id,
        name=str(data.pop("name", f"{module_type} {module_id}")),
        setup_date=int(data.pop("setup_date", 1_650_000_000)),
        bridge=data.pop("bridge", None),
        room_id=data.pop("room_id", None),
        velux_type=velux_type,
        status=default_status(module_type, velux_type),
    )
    data.pop("modules_bridged", None)
    result.reachable = bool(data.pop("reachable", True))
    result.extra = data
    extra_status = dict(status or {})
    for key in ("id", "type", "bridge", "velux_type", "last_seen"):
        extra_status.pop(key, None)
    result.reachable = bool(extra_status.pop("reachable", result.reachable))
    current = extra_status.pop("current_position", 0 if module_type == OPENER else None)
    target = extra_status.pop("target_position", current)
    if current is not None:
        result.jump(int(current), now)
        if target is not None and int(target) != int(current):
            result.target = int(target)
    if module_type in (SENSOR, SWITCH):
        result.battery_percent = int(extra_status.pop("battery_percent", 90))
        for key in ("battery_level", "battery_state", "rf_state"):
            extra_status.pop(key, None)
    result.status.update(extra_status)
    return result


def demo_homes() -> list[Home]:
    """Return the homes of the demo account (rooms only; modules come separately)."""
    home = Home(id=HOME_ID, name="Home")
    home.rooms[BEDROOM_ID] = Room(
        BEDROOM_ID,
        "Bedroom",
        "bedroom",
        {
            "temperature": 215,
            "humidity": 48,
            "co2": 640,
            "lux": 120,
            "air_quality": 1,
            "algo_status": 1,
            "algo_schedule_start": 0,
            "auto_close_ts": 0,
            "max_comfort_co2": 1150,
            "max_comfort_humidity": 70,
            "min_comfort_humidity": 30,
            "max_comfort_temperature": 240,
            "min_comfort_temperature": 180,
        },
    )
    home.rooms[LIVING_ROOM_ID] = Room(LIVING_ROOM_ID, "Living room", "livingroom")
    cabin = Home(
        id=SMALL_HOME_ID,
        name="Cabin",
        timezone="Europe/Oslo",
        country="NO",
        altitude=310,
        coordinates=(10.75, 61.11),
    )
    cabin.rooms[SMALL_ROOM_ID] = Room(SMALL_ROOM_ID, "Cabin", "livingroom")
    return [home, cabin]


def demo_modules() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Return ``(home_id, homesdata entry, homestatus keys)`` of every demo module."""
    return [
        (
            HOME_ID,
            {
                "id": GATEWAY_ID,
                "type": GATEWAY,
                "name": "VELUX ACTIVE gateway",
                "setup_date": 1_612_345_678,
                "subtype": "EU",
                "pincode_enabled": False,
            },
            {},
        ),
        (
            HOME_ID,
            {
                "id": WINDOW_ID,
                "type": OPENER,
                "name": "Roof window",
                "setup_date": 1_612_345_900,
                "bridge": GATEWAY_ID,
                "room_id": BEDROOM_ID,
                "velux_type": "window",
            },
            {"current_position": 0, "mode": "auto", "firmware_revision": 17},
        ),
        (
            HOME_ID,
            {
                "id": SHUTTER_ID,
                "type": OPENER,
                "name": "Roller shutter",
                "setup_date": 1_612_346_000,
                "bridge": GATEWAY_ID,
                "room_id": LIVING_ROOM_ID,
                "velux_type": "shutter",
            },
            {"current_position": 100, "mode": "algo_available"},
        ),
        (
            HOME_ID,
            {
                "id": BLIND_ID,
                "type": OPENER,
                "name": "Blackout blind",
                "setup_date": 1_612_346_100,
                "bridge": GATEWAY_ID,
                "room_id": BEDROOM_ID,
                "velux_type": "blind",
            },
            {"current_position": 100, "manufacturer": "Netatmo"},
        ),
        (
            HOME_ID,
            {
                "id": AWNING_ID,
                "type": OPENER,
                "name": "Awning blind",
                "setup_date": 1_612_346_200,
                "bridge": GATEWAY_ID,
                "room_id": LIVING_ROOM_ID,
                "velux_type": "awning_blind",
            },
            {"current_position": 0, "silent": True},
        ),
        (
            HOME_ID,
            {
                "id": SENSOR_ID,
                "type": SENSOR,
                "name": "Indoor climate sensor",
                "setup_date": 1_612_346_300,
                "bridge": GATEWAY_ID,
                "room_id": BEDROOM_ID,
            },
            {"battery_percent": 82, "rf_strength": 64, "firmware_revision": 52},
        ),
        (
            HOME_ID,
            {
                "id": SWITCH_ID,
                "type": SWITCH,
                "name": "Departure switch",
                "setup_date": 1_612_346_400,
                "bridge": GATEWAY_ID,
            },
            {"battery_percent": 100, "rf_strength": 74, "firmware_revision": 44},
        ),
        (
            SMALL_HOME_ID,
            {
                "id": SMALL_GATEWAY_ID,
                "type": GATEWAY,
                "name": "Cabin gateway",
                "setup_date": 1_640_000_000,
                "subtype": "EU",
                "pincode_enabled": False,
            },
            {"wifi_strength": 78, "wifi_state": "medium"},
        ),
        (
            SMALL_HOME_ID,
            {
                "id": SMALL_SHUTTER_ID,
                "type": OPENER,
                "name": "Cabin shutter",
                "setup_date": 1_640_000_300,
                "bridge": SMALL_GATEWAY_ID,
                "room_id": SMALL_ROOM_ID,
                "velux_type": "shutter",
            },
            {"current_position": 0},
        ),
    ]
