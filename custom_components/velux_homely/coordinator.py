"""Base coordinator shared by every provider."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import timedelta
from typing import NoReturn

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api.errors import (
    ApiError,
    AuthenticationError,
    CommandError,
    RateLimitedError,
)
from .const import DOMAIN, LOGGER
from .provider import VeluxHomelyConfigEntry

# Home Assistant's default refresh debouncer holds a second request for 10 s;
# after a command we want the confirmation poll within a second or two.
REQUEST_REFRESH_COOLDOWN = 1.0


class VeluxHomelyCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A DataUpdateCoordinator that maps client errors to Home Assistant ones."""

    config_entry: VeluxHomelyConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: VeluxHomelyConfigEntry,
        *,
        name: str,
        update_interval: timedelta | None,
    ) -> None:
        """Set up the coordinator with a short request-refresh cooldown."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=name,
            update_interval=update_interval,
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=REQUEST_REFRESH_COOLDOWN, immediate=True
            ),
        )

    @staticmethod
    def raise_update_error(err: ApiError) -> NoReturn:
        """Raise the Home Assistant error that matches a client error during a refresh."""
        if isinstance(err, AuthenticationError):
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        if isinstance(err, RateLimitedError):
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="rate_limited") from err
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="update_failed",
            translation_placeholders={"error": str(err) or type(err).__name__},
        ) from err

    async def async_run_command[T](self, command: Awaitable[T]) -> T:
        """Await a command and turn client errors into translated user errors."""
        try:
            return await command
        except AuthenticationError as err:
            self.config_entry.async_start_reauth(self.hass)
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except RateLimitedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="rate_limited"
            ) from err
        except CommandError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        except ApiError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err


@callback
def async_remove_stale_devices(
    hass: HomeAssistant, entry: VeluxHomelyConfigEntry, current_ids: Iterable[str]
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
        ids = {ident for domain, ident in device.identifiers if domain == DOMAIN}
        if ids and not ids & keep:
            LOGGER.debug("Removing device %s: no longer reported by the cloud", device.name)
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
