"""The Homely provider: account form, validation, options and the runtime factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ..api.errors import ApiError, AuthenticationError
from ..api.homely import DEFAULT_BASE_URL, HomelyClient
from ..api.homely_models import HomelyLocation
from ..const import (
    CONF_BASE_URL,
    CONF_LOCATIONS,
    CONF_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    PROVIDER_HOMELY,
)
from ..provider import (
    ProviderRuntime,
    ProviderSpec,
    ValidatedAccount,
    ValidationFailed,
    VeluxHomelyConfigEntry,
)
from . import const
from .const import (
    CONF_KNOWN_LOCATIONS,
    DEFAULT_SCAN_INTERVAL,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .runtime import HomelyRuntime

__all__ = ["PROVIDER"]


def _schema(advanced: bool, defaults: Mapping[str, Any]) -> vol.Schema:
    """Return the account form: e-mail, password and (advanced) the service address."""
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, vol.UNDEFINED)): (
            TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username"))
        ),
        vol.Required(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        ),
    }
    if advanced:
        fields[
            vol.Optional(CONF_BASE_URL, default=defaults.get(CONF_BASE_URL, DEFAULT_BASE_URL))
        ] = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
    return vol.Schema(fields)


def _base_url(data: Mapping[str, Any]) -> str:
    return str(data.get(CONF_BASE_URL) or DEFAULT_BASE_URL).strip().rstrip("/")


def _client(hass: HomeAssistant, data: Mapping[str, Any]) -> HomelyClient:
    return HomelyClient(
        async_get_clientsession(hass),
        str(data[CONF_USERNAME]).strip(),
        str(data[CONF_PASSWORD]),
        base_url=_base_url(data),
    )


def _known(locations: list[HomelyLocation]) -> dict[str, str]:
    return {location.location_id: location.name for location in locations}


async def _async_validate(hass: HomeAssistant, data: dict[str, Any]) -> ValidatedAccount:
    """Log in and list the locations; the account needs at least one."""
    client = _client(hass, data)
    locations = await client.async_get_locations()
    if not locations:
        raise ValidationFailed("no_locations")
    username = client.username
    user_id = next((location.user_id for location in locations if location.user_id), None)
    account: dict[str, Any] = {
        CONF_USERNAME: username,
        CONF_PASSWORD: data[CONF_PASSWORD],
        CONF_KNOWN_LOCATIONS: _known(locations),
    }
    if client.base_url != DEFAULT_BASE_URL:
        account[CONF_BASE_URL] = client.base_url
    return ValidatedAccount(
        unique_id=user_id or username.lower(),
        title=f"Homely ({username})",
        data=account,
    )


def _options_schema(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> vol.Schema:
    """Return the options form from the locations cached in the entry."""
    known: Mapping[str, str] = entry.data.get(CONF_KNOWN_LOCATIONS) or {}
    choices = [
        SelectOptionDict(value=location_id, label=name) for location_id, name in known.items()
    ]
    return vol.Schema(
        {
            vol.Optional(CONF_LOCATIONS): SelectSelector(
                SelectSelectorConfig(options=choices, multiple=True, mode=SelectSelectorMode.LIST)
            ),
            vol.Required(CONF_SCAN_INTERVAL, default=DEFAULT_SCAN_INTERVAL): vol.All(
                NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_SCAN_INTERVAL,
                        max=MAX_SCAN_INTERVAL,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                        unit_of_measurement="min",
                    )
                ),
                vol.Coerce(int),
            ),
        }
    )


def selected_locations(
    locations: list[HomelyLocation], options: Mapping[str, Any]
) -> list[HomelyLocation]:
    """Return the locations the options select (none selected, or none left: all)."""
    wanted = set(options.get(CONF_LOCATIONS) or ())
    chosen = [location for location in locations if location.location_id in wanted]
    if wanted and not chosen:
        LOGGER.warning("None of the selected Homely locations exists any more: showing all")
    return chosen or locations


async def _async_setup_runtime(
    hass: HomeAssistant, entry: VeluxHomelyConfigEntry
) -> ProviderRuntime:
    """List the locations (cached list as fallback), then read and connect each one."""
    client = _client(hass, entry.data)
    cached: Mapping[str, str] = entry.data.get(CONF_KNOWN_LOCATIONS) or {}
    try:
        locations = await client.async_get_locations()
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except ApiError as err:
        if not cached:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err
        LOGGER.debug("Listing Homely locations failed (%s): using the cached list", err)
        locations = [
            HomelyLocation(
                location_id=location_id, name=name, role=None, user_id=None, gateway_serial=None
            )
            for location_id, name in cached.items()
        ]
    else:
        if _known(locations) != dict(cached):
            hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_KNOWN_LOCATIONS: _known(locations)}
            )
    minutes = float(entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
    runtime = HomelyRuntime(
        hass,
        entry,
        async_get_clientsession(hass),
        client,
        poll_interval=max(minutes, MIN_SCAN_INTERVAL) * 60,
        tuning=const.TUNING,
    )
    await runtime.async_start(selected_locations(locations, entry.options))
    return runtime


PROVIDER = ProviderSpec(
    key=PROVIDER_HOMELY,
    schema=_schema,
    async_validate=_async_validate,
    options_schema=_options_schema,
    async_setup_runtime=_async_setup_runtime,
    default_options={CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL},
)
