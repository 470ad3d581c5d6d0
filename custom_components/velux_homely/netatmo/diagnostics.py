"""Diagnostics of a Netatmo-family account: the raw answers and the coordinator's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_SIGNING_KEYS

if TYPE_CHECKING:
    from . import NetatmoConfigEntry


TO_REDACT = {
    "access_token",
    "refresh_token",
    "password",
    "username",
    "email",
    "mail",
    "client_secret",
    "hash_sign_key",
    "sign_key_id",
    "place",
    "location",
    "coordinates",
    "city",
    "admin_access_code",
}


async def async_get_diagnostics(hass: HomeAssistant, entry: NetatmoConfigEntry) -> dict[str, Any]:
    """Return the raw answers and the state of the coordinator, redacted."""
    coordinator = entry.runtime_data.coordinator
    token = coordinator.client.token or {}
    return async_redact_data(
        {
            "base_url": coordinator.client.base_url,
            "token": {"expires_at": token.get("expires_at"), "scope": token.get("scope")},
            "coordinator": coordinator.diagnostics(),
            "realtime": entry.runtime_data.realtime.diagnostics(),
            "signing_keys": sorted(entry.data.get(CONF_SIGNING_KEYS) or {}),
        },
        TO_REDACT,
    )
