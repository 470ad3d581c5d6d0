"""Test helpers shared by both providers.

Tests find entities and devices through the registries, never by a generated entity id:
each release generates them its own way (2026.10 puts the area first:
``sensor.entrance_motion_hallway_temperature``), and users may rename them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, EntityCategory, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from syrupy.assertion import SnapshotAssertion

from custom_components.velux_homely.const import DOMAIN
from simulator.netcom import NetcomGateway


def state_of(hass: HomeAssistant, entity: str | Ent) -> str:
    """Return the state of an entity (an entity id or an :class:`Ent`) that must exist."""
    entity_id = entity.entity_id(hass) if isinstance(entity, Ent) else entity
    state = hass.states.get(entity_id)
    assert state is not None, entity
    return state.state


def entry_state(entry: ConfigEntry) -> ConfigEntryState:
    """Return the state of ``entry`` now.

    For a state checked again after it changed: mypy would carry the first
    ``assert entry.state is ...`` over the awaits in between and call the second impossible.
    """
    return entry.state


def listening(gateway: NetcomGateway) -> bool:
    """Return whether the simulated gateway's pairing listener is open now.

    For a listener checked again after it opened or closed (see :func:`entry_state`).
    """
    return gateway.is_open


def current(hass: HomeAssistant, entity: str | Ent) -> State | None:
    """Return the state object of an entity id or an :class:`Ent` (None: no such state)."""
    if isinstance(entity, Ent):
        return entity.current(hass)
    return hass.states.get(entity)


def resolve(hass: HomeAssistant, entity: str | Ent) -> str:
    """Return the entity id of an :class:`Ent` (an entity id is returned as it is)."""
    return entity.entity_id(hass) if isinstance(entity, Ent) else entity


async def act(
    hass: HomeAssistant, domain: str, service: str, entity: str | Ent | list[Ent], **data: Any
) -> None:
    """Call ``domain.service`` on entities (ids or :class:`Ent`) as a user would, blocking."""
    entities = entity if isinstance(entity, list) else [entity]
    await hass.services.async_call(
        domain,
        service,
        {ATTR_ENTITY_ID: [resolve(hass, one) for one in entities], **data},
        blocking=True,
    )


def find_entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str | None:
    """Return the entity id of our entity ``unique_id`` on ``platform`` (None: not registered)."""
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)


def entity_id_of(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """Return the entity id of our entity ``unique_id`` on ``platform``, which must exist."""
    entity_id = find_entity_id(hass, platform, unique_id)
    assert entity_id is not None, (platform, unique_id)
    return entity_id


class Ent(NamedTuple):
    """One of our entities as the registry knows it: platform domain and unique id."""

    platform: str
    unique_id: str

    def entity_id(self, hass: HomeAssistant) -> str:
        """Return its entity id (it must be registered)."""
        return entity_id_of(hass, self.platform, self.unique_id)

    def registered(self, hass: HomeAssistant) -> bool:
        """Return True when the entity registry has it."""
        return find_entity_id(hass, self.platform, self.unique_id) is not None

    def current(self, hass: HomeAssistant) -> State | None:
        """Return its state object (None: not registered or no state, e.g. disabled)."""
        entity_id = find_entity_id(hass, self.platform, self.unique_id)
        return None if entity_id is None else hass.states.get(entity_id)

    def state(self, hass: HomeAssistant) -> str:
        """Return its state, which must exist."""
        return state_of(hass, self.entity_id(hass))

    def attributes(self, hass: HomeAssistant) -> dict[str, Any]:
        """Return the attributes of its state, which must exist."""
        state = self.current(hass)
        assert state is not None, self
        return dict(state.attributes)


def device_of(hass: HomeAssistant, entry: ConfigEntry, identifier: str) -> dr.DeviceEntry | None:
    """Return the entry's device with our identifier ``identifier`` (None: not registered)."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if (DOMAIN, identifier) in device.identifiers:
            return device
    return None


def find_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """Return our device with the identifier ``identifier`` in any entry (None: none).

    ``async_get_device(identifiers=...)`` refuses this on 2026.10 (identifiers are unique
    per config entry only)."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if (device := device_of(hass, entry, identifier)) is not None:
            return device
    return None


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


def account_sensor(entry: ConfigEntry, key: str) -> Ent:
    """Return the sensor ``key`` of the account's own (service) device."""
    return Ent(Platform.SENSOR, f"{entry.unique_id}_{key}")


def check_account_sensor(
    hass: HomeAssistant, entry: ConfigEntry, sensor: Ent, manufacturer: str
) -> dr.DeviceEntry:
    """Assert the sensor is a diagnostic, off by default, of the account's service device.

    Return that device."""
    registered = er.async_get(hass).async_get(sensor.entity_id(hass))
    assert registered is not None
    assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert registered.entity_category is EntityCategory.DIAGNOSTIC
    account = device_of(hass, entry, str(entry.unique_id))
    assert account is not None
    assert registered.device_id == account.id
    assert (account.entry_type, account.name, account.manufacturer) == (
        dr.DeviceEntryType.SERVICE,
        entry.title,
        manufacturer,
    )
    return account
