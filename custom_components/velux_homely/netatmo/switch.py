"""Switches of VELUX ACTIVE openers: silent mode, and automatic ventilation of roof windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo import MODE_ALGO_DISABLED, MODE_AUTO, NetatmoClient
from ..api.netatmo_models import TYPE_OPENER
from .device import ModuleView
from .entity import NetatmoEntity, NetatmoEntityDescription, async_add_module_entities

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from . import NetatmoConfigEntry


@dataclass(frozen=True, kw_only=True)
class NetatmoSwitchEntityDescription(NetatmoEntityDescription, SwitchEntityDescription):
    """A switch of an opener: how to read it and the command that sets it."""

    value_fn: Callable[[ModuleView], bool | None]
    field: str
    """The homestatus field the command sets (shown at once)."""
    field_value_fn: Callable[[bool], Any]
    """The field's value for on (True) / off (False)."""
    set_fn: Callable[[NetatmoClient, ModuleView, bool], Awaitable[None]]


SWITCHES: tuple[NetatmoSwitchEntityDescription, ...] = (
    NetatmoSwitchEntityDescription(
        key="silent",
        translation_key="silent",
        entity_category=EntityCategory.CONFIG,
        exists_fn=lambda view: view.module.type == TYPE_OPENER,
        value_fn=lambda view: view.opener.silent if view.opener else None,
        field="silent",
        field_value_fn=lambda on: on,
        set_fn=lambda client, view, on: client.async_set_silent(
            view.home.id, view.module.id, view.bridge_id, on
        ),
    ),
    NetatmoSwitchEntityDescription(
        key="ventilation",
        translation_key="ventilation",
        entity_category=EntityCategory.CONFIG,
        exists_fn=lambda view: view.module.velux_type == "window",
        # "algo_available" (the algorithm could run, but is off) reads as off.
        value_fn=lambda view: (
            view.opener.mode == MODE_AUTO if view.opener and view.opener.mode else None
        ),
        field="mode",
        field_value_fn=lambda on: MODE_AUTO if on else MODE_ALGO_DISABLED,
        set_fn=lambda client, view, on: client.async_set_mode(
            view.home.id, view.module.id, view.bridge_id, MODE_AUTO if on else MODE_ALGO_DISABLED
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the switches of every opener, now and whenever one appears."""
    async_add_module_entities(entry, async_add_entities, NetatmoSwitch, SWITCHES)


class NetatmoSwitch(NetatmoEntity, SwitchEntity):
    """A setting of an opener."""

    entity_description: NetatmoSwitchEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Return the setting."""
        view = self.subject
        return self.entity_description.value_fn(view) if view else None

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the setting on."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the setting off."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        view = self.subject
        if view is None:  # pragma: no cover - the entity is removed with its module
            return
        description, coordinator = self.entity_description, self.coordinator
        await coordinator.async_command(
            lambda data: description.set_fn(coordinator.client, data.modules[view.module.id], on),
            home_id=view.home.id,
        )
        coordinator.async_show_fields(
            view.home.id, view.module.id, **{description.field: description.field_value_fn(on)}
        )
