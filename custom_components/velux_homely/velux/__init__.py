"""The VELUX ACTIVE (KIX 300) provider: account form, validation, options, run time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ..api.netatmo import VELUX_ACTIVE
from ..const import (
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_PROVIDER,
    CONF_SCAN_INTERVAL,
    CONF_TOKEN,
    PROVIDER_VELUX,
)
from ..provider import ProviderSpec, ValidatedAccount, ValidationFailed, VeluxHomelyConfigEntry
from .const import DEFAULT_SCAN_INTERVAL, MIN_SCAN_INTERVAL
from .runtime import async_setup_runtime, build_client

ADVANCED_DEFAULTS: dict[str, str] = {
    CONF_CLIENT_ID: VELUX_ACTIVE.client_id,
    CONF_CLIENT_SECRET: VELUX_ACTIVE.client_secret,
    CONF_BASE_URL: VELUX_ACTIVE.base_url,
}


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
        for key, default in ADVANCED_DEFAULTS.items():
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
    return None if value == ADVANCED_DEFAULTS[key] else value


async def async_validate(hass: HomeAssistant, data: dict[str, Any]) -> ValidatedAccount:
    """Log in with the password, read the homes and describe the entry to create."""
    entry_data: dict[str, Any] = {
        CONF_PROVIDER: PROVIDER_VELUX,
        CONF_USERNAME: str(data[CONF_USERNAME]).strip(),
        CONF_PASSWORD: data[CONF_PASSWORD],
    }
    for key in ADVANCED_DEFAULTS:
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
        title=f"VELUX ACTIVE ({email})",
        data=entry_data,
    )


def options_schema(hass: HomeAssistant, entry: VeluxHomelyConfigEntry) -> vol.Schema:
    """Return the options form: the poll interval in seconds."""
    return vol.Schema(
        {
            vol.Required(
                CONF_SCAN_INTERVAL,
                default=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL),
            ): vol.All(vol.Coerce(int), vol.Range(min=MIN_SCAN_INTERVAL)),
        }
    )


PROVIDER = ProviderSpec(
    key=PROVIDER_VELUX,
    schema=account_schema,
    async_validate=async_validate,
    options_schema=options_schema,
    async_setup_runtime=async_setup_runtime,
    default_options={CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL},
)
