"""Flavours of the Netatmo API family at the integration level: VELUX ACTIVE today.

A flavour ties a provider key to the client flavour (host, app identity, paths) and to
what the device cards show. A Netatmo account provider will be a second flavour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..api.netatmo import (
    VELUX_ACTIVE as VELUX_ACTIVE_API,
    NetatmoClient,
    NetatmoFlavour,
    RefusedKeysCallback,
)
from ..api.netatmo_models import TYPE_GATEWAY, TYPE_SENSOR, TYPE_SWITCH
from ..api.netatmo_signing import NonceSequencer
from ..const import (
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_TOKEN,
    PROVIDER_VELUX,
)
from .const import REQUEST_TIMEOUT


@dataclass(frozen=True, slots=True, kw_only=True)
class Flavour:
    """One member of the API family as the integration shows it."""

    key: str
    """The provider key (entry data ``provider``)."""
    api: NetatmoFlavour
    manufacturer: str
    module_models: Mapping[str, str]
    """Model shown on the device card, by module type."""
    opener_models: Mapping[str, str]
    """Model of an opener, by ``velux_type``."""
    opener_model: str
    """Model of an opener of an unknown ``velux_type``."""

    @property
    def advanced_defaults(self) -> dict[str, str]:
        """Return the advanced settings of the account form with their defaults."""
        return {
            CONF_CLIENT_ID: self.api.client_id,
            CONF_CLIENT_SECRET: self.api.client_secret,
            CONF_BASE_URL: self.api.base_url,
        }


VELUX: Final = Flavour(
    key=PROVIDER_VELUX,
    api=VELUX_ACTIVE_API,
    manufacturer="VELUX",
    module_models={
        TYPE_GATEWAY: "KIX 300 gateway",
        TYPE_SENSOR: "Indoor climate sensor",
        TYPE_SWITCH: "Departure switch",
    },
    opener_models={
        "window": "Roof window",
        "shutter": "Roller shutter",
        "blind": "Blind",
        "awning_blind": "Awning blind",
        "venetian_blind": "Venetian blind",
    },
    opener_model="Opener",
)


def build_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    flavour: Flavour = VELUX,
    *,
    with_token: bool,
    on_token_update: Callable[[dict[str, Any]], None] | None = None,
    sequencer: NonceSequencer | None = None,
    on_keys_refused: RefusedKeysCallback | None = None,
) -> NetatmoClient:
    """Build a client from config entry data (or config flow input)."""
    return NetatmoClient(
        async_get_clientsession(hass),
        flavour=flavour.api,
        base_url=data.get(CONF_BASE_URL) or None,
        username=data.get(CONF_USERNAME),
        password=data.get(CONF_PASSWORD),
        client_id=data.get(CONF_CLIENT_ID) or None,
        client_secret=data.get(CONF_CLIENT_SECRET) or None,
        token=data.get(CONF_TOKEN) if with_token else None,
        on_token_update=on_token_update,
        request_timeout=REQUEST_TIMEOUT,
        sequencer=sequencer,
        on_keys_refused=on_keys_refused,
    )
