"""Covers of VELUX ACTIVE: roof windows, shutters, blinds and awnings (NXO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.cover import (
    ATTR_POSITION,
    CoverDeviceClass,
    CoverEntity,
    CoverEntityDescription,
    CoverEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo import STOP_POSITION
from ..api.netatmo_models import TYPE_OPENER, OpenerStatus
from ..const import DOMAIN
from .const import CONF_OPEN_IN_RAIN
from .coordinator import NetatmoCoordinator
from .entity import NetatmoEntity, NetatmoEntityDescription, async_add_module_entities

if TYPE_CHECKING:
    from . import NetatmoConfigEntry

DEVICE_CLASSES = {
    "window": CoverDeviceClass.WINDOW,
    "shutter": CoverDeviceClass.SHUTTER,
    "blind": CoverDeviceClass.BLIND,
    "venetian_blind": CoverDeviceClass.BLIND,
    "awning_blind": CoverDeviceClass.AWNING,
}
WINDOW = "window"


@dataclass(frozen=True, kw_only=True)
class NetatmoCoverEntityDescription(NetatmoEntityDescription, CoverEntityDescription):
    """An opener cover."""


COVERS: tuple[NetatmoCoverEntityDescription, ...] = (
    NetatmoCoverEntityDescription(
        key="cover",
        # The main feature of its device: the entity is named after the device.
        name=None,
        exists_fn=lambda view: view.module.type == TYPE_OPENER,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a cover per opener, now and whenever one appears."""
    async_add_module_entities(entry, async_add_entities, NetatmoCover, COVERS)


class NetatmoCover(NetatmoEntity, CoverEntity):
    """A VELUX window, shutter, blind or awning.

    A roof window opens only with its gateway's signing key: without one it offers
    close and stop (and a repair issue says how to pair the gateway).
    """

    entity_description: NetatmoCoverEntityDescription

    def __init__(
        self,
        coordinator: NetatmoCoordinator,
        module_id: str,
        description: NetatmoCoverEntityDescription,
    ) -> None:
        """Set the device class from the opener's VELUX type."""
        super().__init__(coordinator, module_id, description)
        self._velux_type = coordinator.data.modules[module_id].module.velux_type
        self._attr_device_class = DEVICE_CLASSES.get(self._velux_type or "")

    @property
    def supported_features(self) -> CoverEntityFeature:
        """Return close and stop, plus open and set position when the opener can open."""
        features = CoverEntityFeature.CLOSE | CoverEntityFeature.STOP
        view = self.subject
        if self._velux_type != WINDOW or (
            view is not None and self.coordinator.can_sign(view.bridge_id)
        ):
            features |= CoverEntityFeature.OPEN | CoverEntityFeature.SET_POSITION
        return features

    @property
    def _status(self) -> OpenerStatus | None:
        view = self.subject
        return view.opener if view else None

    @property
    def current_cover_position(self) -> int | None:
        """Return the position: 0 closed, 100 fully open."""
        status = self._status
        return status.current_position if status else None

    @property
    def is_closed(self) -> bool | None:
        """Return True when fully closed."""
        position = self.current_cover_position
        return None if position is None else position == 0

    def _moving_toward(self, direction: int) -> bool:
        view = self.subject
        status = view.opener if view else None
        if view is None or status is None or not view.moving:
            return False
        delta = (status.target_position or 0) - (status.current_position or 0)
        return delta * direction > 0

    @property
    def is_opening(self) -> bool:
        """Return True while moving toward a more open target."""
        return self._moving_toward(1)

    @property
    def is_closing(self) -> bool:
        """Return True while moving toward a more closed target."""
        return self._moving_toward(-1)

    async def async_open_cover(self, **kwargs: Any) -> None:
        """Open fully."""
        await self._async_move(100)

    async def async_close_cover(self, **kwargs: Any) -> None:
        """Close fully."""
        await self._async_move(0)

    async def async_set_cover_position(self, **kwargs: Any) -> None:
        """Move to a position."""
        await self._async_move(int(kwargs[ATTR_POSITION]))

    async def async_stop_cover(self, **kwargs: Any) -> None:
        """Stop where it is."""
        await self._async_move(STOP_POSITION)

    async def _async_move(self, position: int) -> None:
        view = self.subject
        if view is None:  # pragma: no cover - the entity is removed with its module
            return
        force = False
        if self._velux_type == WINDOW and position > 0:
            name = view.module.name or self.device_id
            if not self.coordinator.can_sign(view.bridge_id):
                # Opening a roof window must be signed with the gateway's key.
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="signature_required",
                    translation_placeholders={"name": name},
                )
            if self.coordinator.is_raining(view.bridge_id):
                if not self.coordinator.config_entry.options.get(CONF_OPEN_IN_RAIN, False):
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="raining",
                        translation_placeholders={"name": name},
                    )
                force = True
        await self.coordinator.async_move(view, position, force=force)
