"""Base entity and description of the modules of a Netatmo-family account."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..entity import (
    VeluxHomelyEntity,
    VeluxHomelyEntityDescription,
    async_add_entities_for_devices,
)
from .coordinator import NetatmoCoordinator
from .device import ModuleView, device_info

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


@dataclass(frozen=True, kw_only=True)
class NetatmoEntityDescription(VeluxHomelyEntityDescription[ModuleView]):
    """A description of a module's entity: ``exists_fn`` / ``available_fn`` read its view.

    Without ``available_fn`` an entity is available while its home was read and its
    module is reachable.
    """


class NetatmoEntity(VeluxHomelyEntity[NetatmoCoordinator, ModuleView]):
    """An entity of one module."""

    entity_description: NetatmoEntityDescription

    def __init__(
        self,
        coordinator: NetatmoCoordinator,
        module_id: str,
        description: NetatmoEntityDescription,
    ) -> None:
        """Bind the entity to its module."""
        super().__init__(coordinator, module_id, description)
        self._attr_device_info = device_info(
            coordinator.data.modules[module_id], coordinator.flavour
        )

    @property
    def subject(self) -> ModuleView | None:
        """Return the module's topology and latest state."""
        return self.coordinator.data.modules.get(self.device_id)

    def _subject_available(self, subject: ModuleView) -> bool:
        return subject.available


@callback
def async_add_module_entities[DescriptionT: NetatmoEntityDescription](
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
    entity_class: Callable[[NetatmoCoordinator, str, DescriptionT], Entity],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add an entity per module and matching description, now and whenever one appears."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities_for_devices(
        entry,
        coordinator,
        async_add_entities,
        subjects=lambda: coordinator.data.modules,
        descriptions=descriptions,
        entity_factory=lambda module_id, description: entity_class(
            coordinator, module_id, description
        ),
    )
