"""Test helpers: entity snapshots that hold what a user sees.

``assert_snapshot(hass, entry, "name")`` collects every entity and device of the entry
(state, attributes, registry options, device card) and compares it with
``tests/snapshots/name.json``. Run with ``UPDATE_SNAPSHOTS=1`` to write the files, then
read the diff. The format does not depend on the Home Assistant version.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
import json
import os
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _plain(value: Any) -> Any:
    """Return a JSON-friendly, version-independent form of a value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """Return the state of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def entry_snapshot(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Collect what a user sees of an entry: devices and entities."""
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    devices: dict[str, Any] = {}
    for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
        via = device_registry.async_get(device.via_device_id) if device.via_device_id else None
        key = ",".join(sorted(ident for _, ident in device.identifiers))
        devices[key] = _plain(
            {
                "name": device.name,
                "manufacturer": device.manufacturer,
                "model": device.model,
                "sw_version": device.sw_version,
                "hw_version": device.hw_version,
                "serial_number": device.serial_number,
                "area_id": device.area_id,
                "via_device": sorted(ident for _, ident in via.identifiers) if via else None,
            }
        )
    entities: dict[str, Any] = {}
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        state = hass.states.get(entity.entity_id)
        device = device_registry.async_get(entity.device_id) if entity.device_id else None
        entities[entity.unique_id] = _plain(
            {
                "entity_id": entity.entity_id,
                "device": sorted(ident for _, ident in device.identifiers) if device else None,
                "translation_key": entity.translation_key,
                "original_device_class": entity.original_device_class,
                "entity_category": entity.entity_category,
                "disabled_by": entity.disabled_by,
                "unit_of_measurement": entity.unit_of_measurement,
                "state": state.state if state else None,
                "attributes": dict(state.attributes) if state else None,
            }
        )
    return {
        "devices": dict(sorted(devices.items())),
        "entities": dict(sorted(entities.items())),
    }


def assert_snapshot(hass: HomeAssistant, entry: ConfigEntry, name: str) -> None:
    """Compare the entry's devices and entities with ``tests/snapshots/<name>.json``."""
    path = SNAPSHOTS / f"{name}.json"
    current = json.dumps(entry_snapshot(hass, entry), indent=2, sort_keys=True, ensure_ascii=False)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(current + "\n", encoding="utf-8")
        return
    assert path.exists(), f"missing snapshot {path.name}: run with UPDATE_SNAPSHOTS=1"
    expected = path.read_text(encoding="utf-8").rstrip("\n")
    assert current == expected, f"snapshot {path.name} differs (UPDATE_SNAPSHOTS=1 rewrites it)"
