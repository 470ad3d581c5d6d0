"""Diagnostics of a Homely account: every location, its connection and the token state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant

if TYPE_CHECKING:
    from . import HomelyConfigEntry


async def async_get_diagnostics(hass: HomeAssistant, entry: HomelyConfigEntry) -> dict[str, Any]:
    """Return the state of every location, connection and the token (no secrets)."""
    data = entry.runtime_data
    locations: dict[str, Any] = {}
    for location_id, coordinator in data.coordinators.items():
        home = coordinator.home
        locations[location_id] = {
            "name": coordinator.location_name,
            "gatewayserial": home.gateway_serial if home else None,
            "alarm_state": home.alarm_state if home else None,
            "user_role": home.user_role if home else None,
            "coordinator": coordinator.diagnostics(),
            "live": data.live.diagnostics(location_id),
            "devices": [
                {
                    "id": device.device_id,
                    "modelName": device.model_name,
                    "serialNumber": device.serial_number,
                    "online": device.online,
                    "features": {
                        feature: {name: state.value for name, state in states.items()}
                        for feature, states in device.features.items()
                    },
                }
                for device in (home.devices.values() if home else ())
            ],
        }
    return {
        "base_url": data.client.base_url,
        "poll_interval_minutes": data.poll_interval.total_seconds() / 60,
        "api_calls": dict(data.client.calls),
        "token_status": data.client.token_status(),
        "locations": locations,
    }
