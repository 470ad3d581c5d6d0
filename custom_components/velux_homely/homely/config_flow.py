"""Config flow side of a Homely account: account form, validation, options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
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

from ..api.homely import DEFAULT_BASE_URL, HomelyClient
from ..api.homely_models import HomelyLocation
from ..const import CONF_BASE_URL, CONF_LOCATIONS, CONF_SCAN_INTERVAL
from ..types import ValidatedAccount, ValidationFailed, advanced_section
from .const import CONF_KNOWN_LOCATIONS, DEFAULT_SCAN_INTERVAL, MAX_SCAN_INTERVAL, MIN_SCAN_INTERVAL

DEFAULT_OPTIONS: dict[str, Any] = {CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL}


def account_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Return the account form: e-mail, password and, collapsed, the service address."""
    return vol.Schema(
        {
            vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, vol.UNDEFINED)): (
                TextSelector(
                    TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
                )
            ),
            vol.Required(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
            ),
            **advanced_section(
                {
                    vol.Optional(
                        CONF_BASE_URL, default=defaults.get(CONF_BASE_URL, DEFAULT_BASE_URL)
                    ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
                }
            ),
        }
    )


def build_client(hass: HomeAssistant, data: Mapping[str, Any]) -> HomelyClient:
    """Build a client from config entry data (or config flow input)."""
    return HomelyClient(
        async_get_clientsession(hass),
        str(data[CONF_USERNAME]).strip(),
        str(data[CONF_PASSWORD]),
        base_url=str(data.get(CONF_BASE_URL) or DEFAULT_BASE_URL).strip().rstrip("/"),
    )


def known_locations(locations: list[HomelyLocation]) -> dict[str, str]:
    """Return ``{location id: name}`` as cached in the entry."""
    return {location.location_id: location.name for location in locations}


async def async_validate(hass: HomeAssistant, data: dict[str, Any]) -> ValidatedAccount:
    """Log in and list the locations; the account needs at least one."""
    client = build_client(hass, data)
    locations = await client.async_get_locations()
    if not locations:
        raise ValidationFailed("no_locations")
    username = client.username
    user_id = next((location.user_id for location in locations if location.user_id), None)
    account: dict[str, Any] = {
        CONF_USERNAME: username,
        CONF_PASSWORD: data[CONF_PASSWORD],
        CONF_KNOWN_LOCATIONS: known_locations(locations),
    }
    if client.base_url != DEFAULT_BASE_URL:
        account[CONF_BASE_URL] = client.base_url
    return ValidatedAccount(
        unique_id=user_id or username.lower(),
        title=f"Homely ({username})",
        data=account,
    )


def _options_schema(known: Mapping[str, str]) -> vol.Schema:
    """Return the options form from the locations cached in the entry."""
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


def scan_interval_minutes(options: Mapping[str, Any]) -> int:
    """Return the poll interval of ``options`` within the form's bounds.

    Earlier versions allowed (and defaulted to) intervals the read budget could not keep:
    such a value stands for the shortest one it keeps.
    """
    minutes = int(options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
    return min(max(minutes, MIN_SCAN_INTERVAL), MAX_SCAN_INTERVAL)


def _suggested_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the options form shows: the entry's options, the interval in bounds."""
    return {**options, CONF_SCAN_INTERVAL: scan_interval_minutes(options)}


class HomelyOptionsFlow(OptionsFlow):
    """Options of a Homely account."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the settings."""
        return await self.async_step_homely(user_input)

    async def async_step_homely(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask which locations to show and how often to poll without a live connection."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        known: Mapping[str, str] = self.config_entry.data.get(CONF_KNOWN_LOCATIONS) or {}
        return self.async_show_form(
            step_id="homely",
            data_schema=self.add_suggested_values_to_schema(
                _options_schema(known), _suggested_options(self.config_entry.options)
            ),
        )
