"""Test helpers shared by both providers."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from syrupy.assertion import SnapshotAssertion


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """Return the state of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def snapshot_devices(hass: HomeAssistant, entry: ConfigEntry, snapshot: SnapshotAssertion) -> None:
    """Compare every device of the entry, and which device each hangs off, with snapshots."""
    registry = dr.async_get(hass)
    devices = sorted(
        dr.async_entries_for_config_entry(registry, entry.entry_id),
        key=lambda device: sorted(device.identifiers),
    )
    assert devices
    via: dict[str, str | None] = {}
    for device in devices:
        name = ",".join(sorted(ident for _, ident in device.identifiers))
        assert device == snapshot(name=name)
        parent = registry.async_get(device.via_device_id) if device.via_device_id else None
        via[name] = ",".join(sorted(i for _, i in parent.identifiers)) if parent else None
    assert via == snapshot(name="via_devices")


def entry_contents(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Return what a user sees of an entry (devices, entities, states) to compare in memory."""
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    return {
        "devices": {
            ",".join(sorted(ident for _, ident in device.identifiers)): (
                device.name,
                device.name_by_user,
                device.area_id,
                device.model,
                device.via_device_id,
            )
            for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
        },
        "entities": {
            entity.unique_id: (
                entity.entity_id,
                entity.name,
                entity.area_id,
                entity.disabled_by,
                state.state if (state := hass.states.get(entity.entity_id)) else None,
                dict(state.attributes) if state else None,
            )
            for entity in er.async_entries_for_config_entry(entities, entry.entry_id)
        },
    }
