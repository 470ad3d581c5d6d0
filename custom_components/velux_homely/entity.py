"""Base entity and the device life cycle every provider shares.

* :class:`VeluxHomelyEntity`: a coordinator entity bound to one device and one
  description; unique id ``<device id>_<description key>``; available while the last
  read worked, the device is known and the description's ``available_fn`` says so.
* :func:`async_add_entities_for_devices`: entities for the devices known now and for
  every device or state that appears later (no reload needed).
* :func:`async_register_device`: create or update a device and link it to the device it
  is reached through (a Homely sensor to its gateway).
* :func:`async_remove_stale_devices`: detach the devices the cloud no longer reports
  (the account's own service device, see :mod:`.account`, is not one of them).

Both use only registry calls every supported release offers without deprecation: device
info can name the parent only as ``via_device`` (deprecated from 2026.10) or
``via_device_id`` (unknown before), and a device belongs to one config entry from 2026.10
(``remove_config_entry_id`` is deprecated there; a device of our entry alone is removed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, LOGGER
from .coordinator import VeluxHomelyCoordinator


def _exists(_: Any) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class VeluxHomelyEntityDescription[SubjectT](EntityDescription):
    """What every description of every provider has; ``SubjectT`` is what it reads.

    The subject is a VELUX module (``ModuleView``) or a Homely device.
    """

    exists_fn: Callable[[SubjectT], bool] = _exists
    """Whether a subject gets this entity (checked whenever the subject changes)."""
    available_fn: Callable[[SubjectT], bool] | None = None
    """Whether the entity has a value now (None: the provider's default)."""


class VeluxHomelyEntity[CoordinatorT: VeluxHomelyCoordinator[Any], SubjectT](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of one device; subclasses say how to find their subject in the data."""

    _attr_has_entity_name = True
    entity_description: VeluxHomelyEntityDescription[SubjectT]

    def __init__(
        self,
        coordinator: CoordinatorT,
        device_id: str,
        description: VeluxHomelyEntityDescription[SubjectT],
    ) -> None:
        """Bind the entity to its device and description."""
        super().__init__(coordinator)
        self.entity_description = description
        self.device_id = device_id
        self._attr_unique_id = f"{device_id}_{description.key}"

    @property
    def subject(self) -> SubjectT | None:
        """Return what the entity reads in the coordinator's data (None: vanished)."""
        raise NotImplementedError

    def _subject_available(self, subject: SubjectT) -> bool:
        """Return the provider's default availability of a known subject."""
        return True

    @property
    def available(self) -> bool:
        """Return True when the last read worked and the subject has a value."""
        subject = self.subject
        if not super().available or subject is None:
            return False
        available_fn = self.entity_description.available_fn
        if available_fn is not None:
            return available_fn(subject)
        return self._subject_available(subject)


@callback
def async_add_entities_for_devices[SubjectT, DescriptionT: VeluxHomelyEntityDescription[Any]](
    entry: ConfigEntry[Any],
    coordinator: VeluxHomelyCoordinator[Any],
    async_add_entities: AddEntitiesCallback,
    *,
    subjects: Callable[[], Mapping[str, SubjectT]],
    descriptions: Iterable[DescriptionT],
    entity_factory: Callable[[str, DescriptionT], Entity],
) -> None:
    """Add an entity per subject and matching description, now and whenever one appears.

    ``subjects`` returns the coordinator's current subjects by device id. A subject is
    checked again only when it changed (a new object), so a state that first shows in
    a push gets its entity at once; a device that vanishes and comes back gets its
    entities again.
    """
    descriptions = tuple(descriptions)
    added: set[tuple[str, str]] = set()
    seen: dict[str, Any] = {}

    @callback
    def _add_new() -> None:
        if coordinator.data is None:
            return
        current = subjects()
        for device_id in [device_id for device_id in seen if device_id not in current]:
            del seen[device_id]
            added.difference_update({key for key in added if key[0] == device_id})
        entities: list[Entity] = []
        for device_id, subject in current.items():
            if seen.get(device_id) is subject:
                continue
            seen[device_id] = subject
            for description in descriptions:
                key = (device_id, description.key)
                if key not in added and description.exists_fn(subject):
                    added.add(key)
                    entities.append(entity_factory(device_id, description))
        if entities:
            async_add_entities(entities)

    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


@callback
def async_register_device(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    info: DeviceInfo,
    *,
    via_device: dr.DeviceEntry | None = None,
) -> dr.DeviceEntry:
    """Create or update the device of ``info``, reached through ``via_device`` if given.

    ``info`` must not name the parent itself: the link is set on the registry entry.
    """
    registry = dr.async_get(hass)
    device = registry.async_get_or_create(config_entry_id=entry.entry_id, **info)
    if via_device is not None and device.via_device_id != via_device.id:
        device = registry.async_update_device(device.id, via_device_id=via_device.id) or device
    return device


@callback
def _async_detach_device(
    registry: dr.DeviceRegistry, device: dr.DeviceEntry, entry_id: str
) -> None:
    """Remove ``entry_id`` from a device: the device itself when no other entry has it."""
    # From 2026.10 a device belongs to exactly one config entry (``config_entry_id``).
    if getattr(device, "config_entry_id", None) == entry_id or device.config_entries == {entry_id}:
        registry.async_remove_device(device.id)
    else:
        registry.async_update_device(device.id, remove_config_entry_id=entry_id)


@callback
def async_remove_stale_devices(
    hass: HomeAssistant, entry: ConfigEntry[Any], current_ids: Iterable[str]
) -> None:
    """Detach from ``entry`` every device whose id is no longer reported by the cloud."""
    registry = dr.async_get(hass)
    keep = set(current_ids)
    if not keep:
        # An account never empties itself between two reads; an empty answer is a cloud
        # hiccup, and removing every device would lose the user's names and areas.
        LOGGER.debug("The cloud reported no device at all: keeping the devices")
        return
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if device.entry_type is dr.DeviceEntryType.SERVICE:
            continue  # the account itself: not a device the cloud reports
        ids = {ident for domain, ident in device.identifiers if domain == DOMAIN}
        if ids and not ids & keep:
            LOGGER.debug("Removing device %s: no longer reported by the cloud", device.name)
            _async_detach_device(registry, device, entry.entry_id)
