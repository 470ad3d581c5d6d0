"""Diagnostics: what the provider reports, with every secret redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_PROVIDER
from .providers import provider_of
from .types import VeluxHomelyConfigEntry

TO_REDACT = {
    # credentials and tokens
    "password",
    "username",
    "access_token",
    "refresh_token",
    "token",
    "client_secret",
    "hash_sign_key",
    "sign_key_id",
    "session_state",
    # personal data
    "email",
    "mail",
    "userId",
    "user_id",
    "userName",
    "user_name",
    "changed_by",
    # places and serial numbers
    "place",
    "location",
    "coordinates",
    "city",
    "gatewayserial",
    "gateway_serial",
    "serialNumber",
    "serial_number",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: VeluxHomelyConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    return {
        "entry": {
            "title": "**REDACTED**",
            "provider": entry.data[CONF_PROVIDER],
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "runtime": async_redact_data(
            await provider_of(entry).async_get_diagnostics(hass, entry), TO_REDACT
        ),
    }
