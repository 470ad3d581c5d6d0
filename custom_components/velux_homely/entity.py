"""Base entity shared by every provider."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import VeluxHomelyCoordinator
from .provider import VeluxHomelyConfigEntry


class VeluxHomelyEntity[CoordinatorT: VeluxHomelyCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity bound to one device of a provider.

    Subclasses set ``_attr_device_info`` (or override ``device_info``); the unique
    id is ``<device id>_<description key>``.
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: CoordinatorT,
        device_id: str,
        description: EntityDescription,
    ) -> None:
        """Bind the entity to its device and description."""
        super().__init__(coordinator)
        self.entity_description = description
        self.device_id = device_id
        self._attr_unique_id = f"{device_id}_{description.key}"


@callback
def async_add_entities_for_devices(
    entry: VeluxHomelyConfigEntry,
    coordinator: VeluxHomelyCoordinator[Any],
    async_add_entities: AddEntitiesCallback,
    device_ids: Callable[[], Iterable[str]],
    entities_for: Callable[[str], Iterable[Entity]],
) -> None:
    """Add entities for the devices known now and for every device that appears later.

    ``device_ids`` lists the ids in the coordinator's current data;
    ``entities_for`` builds the entities of one device. A device that vanishes and
    comes back gets its entities again.
    """
    known: set[str] = set()

    @callback
    def _add_new() -> None:
        current = set(device_ids())
        known.intersection_update(current)
        new_ids = [device_id for device_id in device_ids() if device_id not in known]
        if not new_ids:
            return
        known.update(new_ids)
        entities = [entity for device_id in new_ids for entity in entities_for(device_id)]
        if entities:
            async_add_entities(entities)

    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))
