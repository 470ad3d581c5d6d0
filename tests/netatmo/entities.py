"""The demo account's entities as the registries know them (platform and unique id).

Tests name entities through these, never by a generated entity id: each Home Assistant
release generates ids its own way (2026.10 puts the area first).
"""

from __future__ import annotations

from homeassistant.const import Platform

from simulator.velux import (
    AWNING_ID,
    BLIND_ID,
    GATEWAY_ID,
    SENSOR_ID,
    SHUTTER_ID,
    SMALL_GATEWAY_ID,
    SMALL_SHUTTER_ID,
    SWITCH_ID,
    WINDOW_ID,
)
from tests.helpers import Ent


def cover(module_id: str) -> Ent:
    """Return the cover of an opener."""
    return Ent(Platform.COVER, f"{module_id}_cover")


def sensor(module_id: str, key: str) -> Ent:
    """Return the sensor ``key`` of a module."""
    return Ent(Platform.SENSOR, f"{module_id}_{key}")


def binary_sensor(module_id: str, key: str) -> Ent:
    """Return the binary sensor ``key`` of a module."""
    return Ent(Platform.BINARY_SENSOR, f"{module_id}_{key}")


def button(gateway_id: str, key: str) -> Ent:
    """Return the button ``key`` of a gateway."""
    return Ent(Platform.BUTTON, f"{gateway_id}_{key}")


def switch(module_id: str, key: str) -> Ent:
    """Return the switch ``key`` of an opener."""
    return Ent(Platform.SWITCH, f"{module_id}_{key}")


WINDOW = cover(WINDOW_ID)
SHUTTER = cover(SHUTTER_ID)
BLIND = cover(BLIND_ID)
AWNING = cover(AWNING_ID)
CABIN_SHUTTER = cover(SMALL_SHUTTER_ID)
RAIN = binary_sensor(GATEWAY_ID, "rain")
CABIN_RAIN = binary_sensor(SMALL_GATEWAY_ID, "rain")
GATEWAY_CONNECTIVITY = binary_sensor(GATEWAY_ID, "connectivity")
CABIN_CONNECTIVITY = binary_sensor(SMALL_GATEWAY_ID, "connectivity")
SHUTTER_CONNECTIVITY = binary_sensor(SHUTTER_ID, "connectivity")
DEPARTURE = Ent(Platform.LOCK, f"{GATEWAY_ID}_departure")
TEMPERATURE = sensor(SENSOR_ID, "temperature")
GATEWAY_WIFI = sensor(GATEWAY_ID, "wifi_strength")
CABIN_WIFI = sensor(SMALL_GATEWAY_ID, "wifi_strength")
GATEWAY_LAST_SEEN = sensor(GATEWAY_ID, "last_seen")
SHUTTER_LAST_SEEN = sensor(SHUTTER_ID, "last_seen")
SWITCH_BATTERY = sensor(SWITCH_ID, "battery")
SWITCH_RF = sensor(SWITCH_ID, "rf_strength")
SHUTTER_SILENT = switch(SHUTTER_ID, "silent")
WINDOW_VENTILATION = switch(WINDOW_ID, "ventilation")
SHUTTER_VENTILATION = switch(SHUTTER_ID, "ventilation")
BEDTIME_CABIN = button(SMALL_GATEWAY_ID, "bedtime")
