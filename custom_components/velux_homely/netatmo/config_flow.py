"""Config flow side of a Netatmo-family account: account form, validation, options."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ..api.errors import (
    PairingBadKeyIdError,
    PairingConnectionError,
    PairingError,
    PairingHostError,
    PairingKeyTableFullError,
    PairingProtocolError,
    PairingResultError,
    PairingTimeoutError,
)
from ..api.netatmo_models import TYPE_GATEWAY
from ..api.netatmo_signing import InvalidSigningKeyError, SigningKey, parse_signing_key
from ..api.netcom import NETCOM_PORT, PairingConnectionRefusedError, async_pair, parse_host
from ..const import CONF_BASE_URL, CONF_PROVIDER, CONF_SCAN_INTERVAL, CONF_TOKEN, LOGGER
from ..types import ValidatedAccount, ValidationFailed, advanced_section
from .const import (
    CONF_GATEWAY,
    CONF_HASH_SIGN_KEY,
    CONF_HOST,
    CONF_OPEN_IN_RAIN,
    CONF_SIGN_KEY_ID,
    CONF_SIGNING_KEYS,
    DEFAULT_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
    PAIRING_TIMEOUT,
)
from .device import ModuleView
from .flavours import VELUX, build_client
from .issues import async_update_signing_issues

DEFAULT_OPTIONS: dict[str, Any] = {
    CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL,
    CONF_OPEN_IN_RAIN: False,
}


def account_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Return the account form: e-mail, password and, collapsed, the app identity."""
    advanced: dict[vol.Marker, Any] = {}
    for key, default in VELUX.advanced_defaults.items():
        selector_type = TextSelectorType.URL if key == CONF_BASE_URL else TextSelectorType.TEXT
        advanced[vol.Optional(key, default=defaults.get(key, default))] = TextSelector(
            TextSelectorConfig(type=selector_type)
        )
    return vol.Schema(
        {
            vol.Required(
                CONF_USERNAME, default=defaults.get(CONF_USERNAME, vol.UNDEFINED)
            ): TextSelector(
                TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
            ),
            vol.Required(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
            ),
            **advanced_section(advanced),
        }
    )


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
            vol.Required(CONF_OPEN_IN_RAIN): BooleanSelector(),
        }
    )


PAIRING_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (PairingHostError, "invalid_host"),
    (PairingTimeoutError, "pair_timeout"),
    (PairingBadKeyIdError, "pair_bad_key_id"),
    (PairingKeyTableFullError, "pair_key_table_full"),
    (PairingResultError, "pair_refused"),
    (PairingConnectionRefusedError, "pair_connection_refused"),
    (PairingConnectionError, "pair_connection"),
    (PairingProtocolError, "pair_protocol"),
)
"""Pairing failures and the translated error each one shows in the form."""


class NetatmoOptionsFlow(OptionsFlow):
    """Options of a VELUX ACTIVE account: settings, and the gateways' signing keys.

    Step ids (``init`` menu: ``settings``, ``signing_key``, ``pair_gateway``) and field
    names are a contract other tools rely on.
    """

    def __init__(self) -> None:
        """Start with no pairing under way."""
        self._pairing: asyncio.Task[SigningKey] | None = None
        self._pair_input: dict[str, Any] = {}
        self._pair_address: tuple[str, int] = ("", NETCOM_PORT)
        """The address of the latest pairing (shown in its errors)."""
        self._pair_error: str | None = None
        self._paired: SigningKey | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the settings and the two ways to get a gateway's signing key."""
        return self.async_show_menu(
            step_id="init", menu_options=["settings", "signing_key", "pair_gateway"]
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the poll interval and whether roof windows may open in rain."""
        if user_input is not None:
            return self.async_create_entry(data={**self.config_entry.options, **user_input})
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                _settings_schema(), {**DEFAULT_OPTIONS, **self.config_entry.options}
            ),
        )

    # -- the gateways --------------------------------------------------------------

    def _gateways(self) -> dict[str, ModuleView] | None:
        """Return the gateways by id (None while the entry is not loaded)."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return None
        data = self.config_entry.runtime_data.coordinator.data
        return {
            module_id: view
            for module_id, view in data.modules.items()
            if view.module.type == TYPE_GATEWAY
        }

    @staticmethod
    def _gateway_field(gateways: Mapping[str, ModuleView]) -> dict[vol.Marker, Any]:
        """Ask which gateway when the account has more than one."""
        if len(gateways) < 2:
            return {}
        options = [
            SelectOptionDict(
                value=gateway_id, label=f"{view.module.name or gateway_id} ({gateway_id})"
            )
            for gateway_id, view in gateways.items()
        ]
        return {
            vol.Required(CONF_GATEWAY): SelectSelector(
                SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
            )
        }

    @staticmethod
    def _chosen(gateways: Mapping[str, ModuleView], user_input: Mapping[str, Any]) -> str | None:
        chosen = user_input.get(CONF_GATEWAY) if len(gateways) > 1 else next(iter(gateways), None)
        return chosen if isinstance(chosen, str) and chosen in gateways else None

    def _store_key(self, gateway_id: str, key: SigningKey) -> ConfigFlowResult:
        """Keep a gateway's key in the entry (no reload) and close its repair issue."""
        entry = self.config_entry
        keys = dict(entry.data.get(CONF_SIGNING_KEYS) or {})
        keys[gateway_id] = {
            CONF_SIGN_KEY_ID: key.sign_key_id,
            CONF_HASH_SIGN_KEY: key.hash_sign_key,
        }
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_SIGNING_KEYS: keys}
        )
        async_update_signing_issues(self.hass, entry)
        entry.runtime_data.coordinator.async_update_listeners()
        LOGGER.info("Stored the signing key of gateway %s", gateway_id)
        return self.async_create_entry(data=dict(entry.options))

    # -- paste a key ---------------------------------------------------------------

    async def async_step_signing_key(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take a signing key as the VELUX app or another tool shows it."""
        gateways = self._gateways()
        if gateways is None:
            return self.async_abort(reason="not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            gateway_id = self._chosen(gateways, user_input)
            try:
                key = parse_signing_key(
                    str(user_input.get(CONF_SIGN_KEY_ID, "")),
                    str(user_input.get(CONF_HASH_SIGN_KEY, "")),
                )
            except InvalidSigningKeyError as err:
                errors[err.field] = f"invalid_{err.field}"
            else:
                if gateway_id is None:
                    errors[CONF_GATEWAY] = "unknown_gateway"
                else:
                    return self._store_key(gateway_id, key)
        schema = vol.Schema(
            {
                **self._gateway_field(gateways),
                vol.Required(CONF_SIGN_KEY_ID): TextSelector(),
                vol.Required(CONF_HASH_SIGN_KEY): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
            }
        )
        return self.async_show_form(step_id="signing_key", data_schema=schema, errors=errors)

    # -- pair with the gateway -----------------------------------------------------

    async def async_step_pair_gateway(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the gateway's LAN address, then pair while the user presses its button."""
        gateways = self._gateways()
        if gateways is None:
            return self.async_abort(reason="not_loaded")
        errors: dict[str, str] = {}
        if self._pair_error is not None:
            errors["base"] = self._pair_error
            self._pair_error = None
        elif user_input is not None:
            gateway_id = self._chosen(gateways, user_input)
            try:
                host, port = parse_host(str(user_input.get(CONF_HOST, "")))
            except PairingHostError:
                errors[CONF_HOST] = "invalid_host"
            else:
                if gateway_id is None:
                    errors[CONF_GATEWAY] = "unknown_gateway"
                else:
                    self._pair_input = {CONF_GATEWAY: gateway_id, CONF_HOST: user_input[CONF_HOST]}
                    self._pair_address = (host, port)
                    self._pairing = self.hass.async_create_task(
                        self._async_pair(gateways[gateway_id], host, port)
                    )
                    return await self.async_step_pair_wait()
        schema = vol.Schema(
            {
                **self._gateway_field(gateways),
                vol.Required(CONF_HOST): TextSelector(),
            }
        )
        return self.async_show_form(
            step_id="pair_gateway",
            data_schema=self.add_suggested_values_to_schema(schema, self._pair_input),
            errors=errors,
            description_placeholders={
                "port": str(NETCOM_PORT),
                "host": self._pair_address[0],
                "host_port": str(self._pair_address[1]),
            },
        )

    async def _async_pair(self, gateway: ModuleView, host: str, port: int) -> SigningKey:
        coordinator = self.config_entry.runtime_data.coordinator
        await coordinator.async_run_command(
            coordinator.client.async_retrieve_key(gateway.home.id, gateway.module.id)
        )
        LOGGER.debug("Waiting for the pairing listener of gateway %s", gateway.module.id)
        return await async_pair(host, port, timeout=PAIRING_TIMEOUT)

    async def async_step_pair_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show progress until the pairing ended; then store the key or show the error."""
        task = self._pairing
        assert task is not None  # noqa: S101 - only reached after the form started one
        if not task.done():
            return self.async_show_progress(
                step_id="pair_wait", progress_action="pair_gateway", progress_task=task
            )
        self._pairing = None
        try:
            key = task.result()
        except HomeAssistantError as err:
            LOGGER.debug("Asking the gateway for a key failed: %s", err)
            self._pair_error = "retrieve_key_failed"
        except PairingError as err:
            self._pair_error = next(
                (error for kind, error in PAIRING_ERRORS if isinstance(err, kind)), "pair_protocol"
            )
            LOGGER.debug("Pairing failed: %s", type(err).__name__)
        else:
            self._paired = key
            return self.async_show_progress_done(next_step_id="pair_done")
        return self.async_show_progress_done(next_step_id="pair_gateway")

    @callback
    def async_remove(self) -> None:
        """Stop a pairing under way when the dialog is closed.

        Left running, it would go on knocking on the gateway and could take a key from
        its table that nobody stores.
        """
        if self._pairing is not None and not self._pairing.done():
            LOGGER.debug("Pairing abandoned: the dialog was closed")
            self._pairing.cancel()
        self._pairing = None

    async def async_step_pair_done(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Store the key the gateway handed out."""
        assert self._paired is not None  # noqa: S101 - only reached after a pairing
        return self._store_key(self._pair_input[CONF_GATEWAY], self._paired)
