"""Buttons of the VELUX ACTIVE gateway: scenarios, stop all movements, identify."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.button import (
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo import SCENARIO_BEDTIME, SCENARIO_WAKE_UP, NetatmoClient
from ..api.netatmo_models import TYPE_GATEWAY
from .device import ModuleView
from .entity import NetatmoEntity, NetatmoEntityDescription, async_add_module_entities

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


@dataclass(frozen=True, kw_only=True)
class NetatmoButtonEntityDescription(NetatmoEntityDescription, ButtonEntityDescription):
    """A gateway button with the command it sends."""

    press_fn: Callable[[NetatmoClient, str, str], Awaitable[None]]
    """(client, home id, gateway id) -> command."""
    moves_openers: bool = True
    """Whether the command moves openers (then their movement is followed quickly)."""


def _is_gateway(view: ModuleView) -> bool:
    return view.module.type == TYPE_GATEWAY


BUTTONS: tuple[NetatmoButtonEntityDescription, ...] = (
    NetatmoButtonEntityDescription(
        key="wake_up",
        translation_key="wake_up",
        exists_fn=_is_gateway,
        press_fn=lambda client, home, gateway: client.async_set_scenario(
            home, gateway, SCENARIO_WAKE_UP
        ),
    ),
    NetatmoButtonEntityDescription(
        key="bedtime",
        translation_key="bedtime",
        exists_fn=_is_gateway,
        press_fn=lambda client, home, gateway: client.async_set_scenario(
            home, gateway, SCENARIO_BEDTIME
        ),
    ),
    NetatmoButtonEntityDescription(
        key="stop_movements",
        translation_key="stop_movements",
        exists_fn=_is_gateway,
        press_fn=lambda client, home, gateway: client.async_stop_movements(home, gateway),
    ),
    NetatmoButtonEntityDescription(
        key="identify",
        translation_key="identify",
        device_class=ButtonDeviceClass.IDENTIFY,
        entity_category=EntityCategory.CONFIG,
        exists_fn=_is_gateway,
        press_fn=lambda client, home, gateway: client.async_identify(home, gateway),
        moves_openers=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the buttons of every gateway, now and whenever one appears."""
    async_add_module_entities(entry, async_add_entities, NetatmoButton, BUTTONS)


class NetatmoButton(NetatmoEntity, ButtonEntity):
    """A command of a VELUX ACTIVE gateway."""

    entity_description: NetatmoButtonEntityDescription

    async def async_press(self) -> None:
        """Send the command; follow the openers it moves."""
        view = self.subject
        if view is None:  # pragma: no cover - the entity is removed with its module
            return
        description = self.entity_description
        openers = (
            [
                module.id
                for module in view.home.openers
                if (module.bridge or self.device_id) == self.device_id
            ]
            if description.moves_openers
            else []
        )
        client, home_id = self.coordinator.client, view.home.id
        await self.coordinator.async_command(
            lambda _: description.press_fn(client, home_id, self.device_id),
            home_id=home_id,
            confirm=openers,
        )
