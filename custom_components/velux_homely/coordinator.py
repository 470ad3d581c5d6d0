"""Base coordinator of every provider: error mapping, commands and pushed data."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import timedelta
from typing import Any, NoReturn

from homeassistant.config_entries import ConfigEntry
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
    SignatureRefusedError,
    SignatureRequiredError,
)
from .const import DOMAIN, LOGGER

# Home Assistant's default refresh debouncer holds a second request for 10 s;
# after a command we want the confirmation poll within a second or two.
REQUEST_REFRESH_COOLDOWN = 1.0
MIN_DELAY = 0.1
"""Shortest delay (seconds) a read is scheduled with."""


class VeluxHomelyCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A DataUpdateCoordinator that maps client errors to Home Assistant's.

    Subclasses read the cloud in :meth:`_async_read`. Data a cloud pushes goes through
    :meth:`async_push`, which keeps the next scheduled read where it was: a push is not
    a full read (clouds do not stream every change), so it must not postpone one.
    """

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
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
        self._next_read: float | None = None
        """Loop time of the next scheduled read (None: none scheduled)."""
        self.reading = False
        """True while a read of the cloud is under way."""

    async def _async_read(self) -> DataT:
        """Read the cloud (the subclass's ``_async_update_data``)."""
        raise NotImplementedError

    async def _async_update_data(self) -> DataT:
        self.reading = True
        try:
            return await self._async_read()
        finally:
            self.reading = False
            interval = self.update_interval
            self._next_read = (
                None if interval is None else self.hass.loop.time() + interval.total_seconds()
            )

    @property
    def next_read_in(self) -> float | None:
        """Return the seconds until the next scheduled read (None: none scheduled)."""
        if self._next_read is None:
            return None
        return max(self._next_read - self.hass.loop.time(), 0.0)

    @callback
    def async_push(self, data: DataT) -> None:
        """Apply data the cloud pushed; the next scheduled read keeps its time."""
        if self.reading:
            # The read under way schedules the next one when it ends.
            self.data = data
            self.async_update_listeners()
            return
        self._async_set_data(data, self.next_read_in)

    @callback
    def async_schedule_read(self, delay: float) -> None:
        """Move the next read to ``delay`` seconds from now, keeping the data held."""
        if self.data is not None:
            self._async_set_data(self.data, delay)

    @callback
    def _async_set_data(self, data: DataT, next_read_in: float | None) -> None:
        # async_set_updated_data starts the update interval anew: for that one call
        # the interval is the time the next read should be in. Before the first
        # listener nothing is scheduled: the first one schedules with that interval.
        interval = self.update_interval
        if interval is not None and next_read_in is not None:
            # A zero interval would mean "no polling" to Home Assistant.
            next_read_in = max(next_read_in, MIN_DELAY)
            self.update_interval = timedelta(seconds=next_read_in)
            self._next_read = self.hass.loop.time() + next_read_in
        self.async_set_updated_data(data)
        if self._listeners:
            self.update_interval = interval

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

    def device_names(self, device_ids: Iterable[str]) -> str:
        """Return the names the entry's devices have in the device registry (else their ids)."""
        devices = dr.async_entries_for_config_entry(
            dr.async_get(self.hass), self.config_entry.entry_id
        )
        names = {
            identifier: device.name_by_user or device.name
            for device in devices
            for domain, identifier in device.identifiers
            if domain == DOMAIN
        }
        return ", ".join(
            names.get(device_id) or device_id for device_id in dict.fromkeys(device_ids)
        )

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
        except SignatureRequiredError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="signature_required",
                translation_placeholders={"name": ", ".join(err.module_ids)},
            ) from err
        except SignatureRefusedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="signing_key_refused",
                translation_placeholders={"name": self.device_names(err.gateway_ids)},
            ) from err
        except CommandError as err:
            if reused := err.reused_pair:
                # A pair used before (the nonce state lost, or another tool signing with
                # the same key): the next try gets a new pair.
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="signature_reused",
                    translation_placeholders={"name": self.device_names(reused)},
                ) from err
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
