"""Departure mode of a VELUX ACTIVE gateway, as a lock: locked while the home is left.

Locking runs the ``away`` scenario (every opener closes, the keypad locks them); unlocking
runs the signed ``home`` scenario, which needs the gateway's signing key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.lock import LockEntity, LockEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from ..api.netatmo import SCENARIO_AWAY, SCENARIO_HOME
from ..api.netatmo_models import TYPE_GATEWAY
from ..const import DOMAIN
from .entity import NetatmoEntity, NetatmoEntityDescription, async_add_module_entities

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


@dataclass(frozen=True, kw_only=True)
class NetatmoLockEntityDescription(NetatmoEntityDescription, LockEntityDescription):
    """The departure mode of a gateway."""


LOCKS: tuple[NetatmoLockEntityDescription, ...] = (
    NetatmoLockEntityDescription(
        key="departure",
        translation_key="departure",
        exists_fn=lambda view: view.module.type == TYPE_GATEWAY,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NetatmoConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the departure mode of every gateway, now and whenever one appears."""
    async_add_module_entities(entry, async_add_entities, NetatmoDepartureLock, LOCKS)


class NetatmoDepartureLock(NetatmoEntity, LockEntity):
    """Departure mode: locked while the home is left."""

    entity_description: NetatmoLockEntityDescription

    @property
    def is_locked(self) -> bool | None:
        """Return True in departure mode."""
        view = self.subject
        gateway = view.gateway if view else None
        return gateway.locked if gateway else None

    @property
    def is_locking(self) -> bool | None:
        """Return True while the gateway is entering departure mode."""
        view = self.subject
        gateway = view.gateway if view else None
        return bool(gateway and gateway.locking)

    async def async_lock(self, **kwargs: Any) -> None:
        """Enter departure mode (the ``away`` scenario closes every opener)."""
        await self._async_scenario(SCENARIO_AWAY, locked=True)

    async def async_unlock(self, **kwargs: Any) -> None:
        """Leave departure mode (the signed ``home`` scenario)."""
        if not self.coordinator.can_sign(self.device_id):
            view = self.subject
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="departure_signature_required",
                translation_placeholders={
                    "name": (view.module.name if view else None) or self.device_id
                },
            )
        await self._async_scenario(SCENARIO_HOME, locked=False)

    async def _async_scenario(self, scenario: str, *, locked: bool) -> None:
        view = self.subject
        if view is None:  # pragma: no cover - the entity is removed with its module
            return
        coordinator, home_id, gateway_id = self.coordinator, view.home.id, self.device_id
        openers = [
            module.id for module in view.home.openers if (module.bridge or gateway_id) == gateway_id
        ]
        await coordinator.async_command(
            lambda _: coordinator.client.async_set_scenario(
                home_id, gateway_id, scenario, signing=coordinator.signing_keys()
            ),
            home_id=home_id,
            confirm=openers if locked else (),
        )
        coordinator.async_show_fields(home_id, gateway_id, locked=locked)
