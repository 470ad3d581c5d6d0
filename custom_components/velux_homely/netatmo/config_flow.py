"""Config flow side of a Netatmo-family account: account form, validation, options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ..const import CONF_BASE_URL, CONF_PROVIDER, CONF_SCAN_INTERVAL, CONF_TOKEN
from ..types import ValidatedAccount, ValidationFailed
from .const import DEFAULT_SCAN_INTERVAL, MIN_SCAN_INTERVAL
from .flavours import VELUX, build_client

DEFAULT_OPTIONS: dict[str, Any] = {CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL}


def account_schema(advanced: bool, defaults: Mapping[str, Any]) -> vol.Schema:
    """Return the account form: e-mail and password (plus app identity when advanced)."""
    fields: dict[vol.Marker, Any] = {
        vol.Required(
            CONF_USERNAME, default=defaults.get(CONF_USERNAME, vol.UNDEFINED)
        ): TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")),
        vol.Required(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        ),
    }
    if advanced:
        for key, default in VELUX.advanced_defaults.items():
            selector_type = TextSelectorType.URL if key == CONF_BASE_URL else TextSelectorType.TEXT
            fields[vol.Optional(key, default=defaults.get(key, default))] = TextSelector(
                TextSelectorConfig(type=selector_type)
            )
    return vol.Schema(fields)


def _normalise(key: str, value: Any) -> str | None:
    """Return an advanced value worth storing (None when empty or the default)."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if key == CONF_BASE_URL:
        value = value.rstrip("/")
    return None if value == VELUX.advanced_defaults[key] else value


async def async_validate(hass: HomeAssistant, data: dict[str, Any]) -> ValidatedAccount:
    """Log in with the password, read the homes and describe the entry to create."""
    entry_data: dict[str, Any] = {
        CONF_PROVIDER: VELUX.key,
        CONF_USERNAME: str(data[CONF_USERNAME]).strip(),
        CONF_PASSWORD: data[CONF_PASSWORD],
    }
    for key in VELUX.advanced_defaults:
        value = _normalise(key, data.get(key))
        if value is not None:
            entry_data[key] = value
    client = build_client(hass, entry_data, with_token=False)
    await client.async_login()
    homes_data = await client.async_get_homes_data()
    if not any(home.gateways for home in homes_data.homes):
        raise ValidationFailed("no_homes")
    email = homes_data.user_email or entry_data[CONF_USERNAME]
    entry_data[CONF_TOKEN] = client.token
    return ValidatedAccount(
        unique_id=email.lower() if email else str(homes_data.user_id),
        title=f"{VELUX.api.name} ({email})",
        data=entry_data,
    )


def _settings_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_SCAN_INTERVAL): vol.All(
                vol.Coerce(int), vol.Range(min=MIN_SCAN_INTERVAL)
            ),
        }
    )


class NetatmoOptionsFlow(OptionsFlow):
    """Options of a VELUX ACTIVE account."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the settings."""
        return await self.async_step_velux_active(user_input)

    async def async_step_velux_active(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the poll interval in seconds."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="velux_active",
            data_schema=self.add_suggested_values_to_schema(
                _settings_schema(), {**DEFAULT_OPTIONS, **self.config_entry.options}
            ),
        )
