"""Constants of the VELUX ACTIVE & Homely integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "velux_homely"
LOGGER: Final = logging.getLogger(__package__)

CONF_PROVIDER: Final = "provider"
CONF_BASE_URL: Final = "base_url"
CONF_CLIENT_ID: Final = "client_id"
CONF_CLIENT_SECRET: Final = "client_secret"  # noqa: S105 - a key name
CONF_TOKEN: Final = "token"  # noqa: S105 - a key name
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_LOCATIONS: Final = "locations"

PROVIDER_VELUX: Final = "velux_active"
PROVIDER_HOMELY: Final = "homely"
