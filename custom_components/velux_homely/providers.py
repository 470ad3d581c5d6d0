"""The providers of this build, and how a platform hands an entry to its provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import CONF_PROVIDER, PROVIDER_HOMELY, PROVIDER_VELUX
from .homely import PROVIDER as HOMELY, HomelyRuntimeData
from .netatmo import VELUX_ACTIVE, NetatmoRuntimeData
from .types import Provider, VeluxHomelyConfigEntry

if TYPE_CHECKING:
    from .homely import HomelyConfigEntry
    from .netatmo import NetatmoConfigEntry

PROVIDERS: dict[str, Provider] = {
    PROVIDER_VELUX: VELUX_ACTIVE,
    PROVIDER_HOMELY: HOMELY,
}
"""Every provider by entry data ``provider``, in the order the config flow's menu shows."""


def provider_of(entry: VeluxHomelyConfigEntry) -> Provider:
    """Return the provider of an entry."""
    return PROVIDERS[entry.data[CONF_PROVIDER]]


type PlatformSetup[EntryT] = Callable[[HomeAssistant, EntryT, AddEntitiesCallback], Awaitable[None]]


async def async_setup_provider_platform(
    hass: HomeAssistant,
    entry: VeluxHomelyConfigEntry,
    async_add_entities: AddEntitiesCallback,
    *,
    netatmo: PlatformSetup[NetatmoConfigEntry] | None = None,
    homely: PlatformSetup[HomelyConfigEntry] | None = None,
) -> None:
    """Run the platform module of the entry's provider (none: the provider has no such entity)."""
    data = entry.runtime_data
    if isinstance(data, NetatmoRuntimeData) and netatmo is not None:
        await netatmo(hass, cast("NetatmoConfigEntry", entry), async_add_entities)
    elif isinstance(data, HomelyRuntimeData) and homely is not None:
        await homely(hass, cast("HomelyConfigEntry", entry), async_add_entities)
