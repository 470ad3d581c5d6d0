"""Diagnostics of a Netatmo-family account: the raw answers and the coordinator's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
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
USER_FIELDS_KEPT = frozenset(
    {"language", "locale", "feel_like_algorithm", "unit_pressure", "unit_system", "unit_wind"}
)
"""Fields of homesdata's ``body.user`` shown as they are: how values are displayed.

Every other field (``id``, ``email``, ``country`` and whatever the cloud adds) may say who
the user is and is redacted. ``TO_REDACT`` goes by key name and cannot do this: ``id`` also
names every home and module.
"""


def redact_user(homes_data: Any) -> Any:
    """Return raw homesdata with its user block redacted but for display settings."""
    body = homes_data.get("body") if isinstance(homes_data, Mapping) else None
    if not isinstance(body, Mapping) or not isinstance(user := body.get("user"), Mapping):
        return homes_data
    redacted = {key: value if key in USER_FIELDS_KEPT else REDACTED for key, value in user.items()}
    return {**homes_data, "body": {**body, "user": redacted}}


async def async_get_diagnostics(hass: HomeAssistant, entry: NetatmoConfigEntry) -> dict[str, Any]:
    """Return the raw answers and the state of the coordinator, redacted."""
    coordinator = entry.runtime_data.coordinator
    token = coordinator.client.token or {}
    state = coordinator.diagnostics()
    state["homesdata"] = redact_user(state.get("homesdata"))
    return async_redact_data(
        {
            "base_url": coordinator.client.base_url,
            "token": {"expires_at": token.get("expires_at"), "scope": token.get("scope")},
            "coordinator": state,
            "realtime": entry.runtime_data.realtime.diagnostics(),
            "signing_keys": sorted(entry.data.get(CONF_SIGNING_KEYS) or {}),
        },
        TO_REDACT,
    )
