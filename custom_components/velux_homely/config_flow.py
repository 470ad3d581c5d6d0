"""Config flow: a menu of clouds, then one account step per cloud.

Provider packages describe their account form, how to validate it and their options
flow (``<provider>/config_flow.py``, gathered in :class:`~.types.Provider`); this module
owns the flow itself: errors, one entry per account, reauthentication and
reconfiguration. Rarely needed settings sit in the form's collapsed "Advanced settings"
section (:func:`~.types.advanced_section`), shown to every user; its values arrive nested
and are flattened before validation, so providers and entry data see plain keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .api.errors import (
    ApiError,
    AuthenticationError,
    RateLimitedError,
)
from .const import (
    CONF_PROVIDER,
    CONF_TOKEN,
    DOMAIN,
    LOGGER,
    PROVIDER_HOMELY,
    PROVIDER_VELUX,
)
from .providers import PROVIDERS, provider_of
from .types import (
    SECTION_ADVANCED,
    Provider,
    ValidatedAccount,
    ValidationFailed,
    VeluxHomelyConfigEntry,
)

PASSWORD_SCHEMA = vol.Schema(
    {vol.Required(CONF_PASSWORD): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))}
)


def _unique_id(provider: str, account: ValidatedAccount) -> str:
    """Namespace the account id: one e-mail can have both a VELUX and a Homely account."""
    return f"{provider}:{account.unique_id}"


def _flattened(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the account form's input with the advanced section's values at top level."""
    data = {key: value for key, value in user_input.items() if key != SECTION_ADVANCED}
    data.update(user_input.get(SECTION_ADVANCED) or {})
    return data


def _form_keys(spec: Provider) -> set[str]:
    """Return the entry data keys the account form sets (the advanced section's included)."""
    keys: set[str] = set()
    for key, value in spec.account_schema({}).schema.items():
        if str(key) == SECTION_ADVANCED and isinstance(value, section):
            keys.update(str(inner) for inner in value.schema.schema)
        else:
            keys.add(str(key))
    return keys


def _updated_data(
    spec: Provider, entry: VeluxHomelyConfigEntry, account: ValidatedAccount
) -> dict[str, Any]:
    """Return the entry data after new credentials: the validated account over what is kept.

    The form's fields (credentials, service address, app identity) and the tokens come
    from the validation, a field left at its default is dropped; everything else the
    entry stored (a gateway's signing keys, the nonce state, ...) stays as it was.
    """
    replaced = _form_keys(spec) | {CONF_TOKEN}
    kept = {key: value for key, value in entry.data.items() if key not in replaced}
    return {**kept, **account.data, CONF_PROVIDER: spec.key}


def _without_secrets(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return form defaults taken from entry data: never the password or tokens."""
    return {k: v for k, v in data.items() if k not in (CONF_PASSWORD, CONF_TOKEN, CONF_PROVIDER)}


class VeluxHomelyConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a VELUX ACTIVE or Homely account."""

    VERSION = 1
    MINOR_VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick the cloud."""
        return self.async_show_menu(step_id="user", menu_options=list(PROVIDERS))

    async def async_step_velux_active(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the VELUX ACTIVE account."""
        return await self._async_step_account(PROVIDERS[PROVIDER_VELUX], user_input)

    async def async_step_homely(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the Homely account."""
        return await self._async_step_account(PROVIDERS[PROVIDER_HOMELY], user_input)

    async def _async_step_account(
        self, spec: Provider, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Show the provider's account form, validate it and create the entry."""
        errors: dict[str, str] = {}
        defaults: dict[str, Any] = {}
        if user_input is not None:
            data = _flattened(user_input)
            account = await self._async_validate(spec, data, errors)
            if account is not None:
                await self.async_set_unique_id(_unique_id(spec.key, account))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=account.title,
                    data={**account.data, CONF_PROVIDER: spec.key},
                    options=dict(spec.default_options),
                )
            defaults = _without_secrets(data)
        return self.async_show_form(
            step_id=spec.key, data_schema=spec.account_schema(defaults), errors=errors
        )

    async def _async_validate(
        self, spec: Provider, data: Mapping[str, Any], errors: dict[str, str]
    ) -> ValidatedAccount | None:
        """Validate an account; fill ``errors`` with a translated key on failure."""
        try:
            return await spec.async_validate(self.hass, {**data, CONF_PROVIDER: spec.key})
        except AuthenticationError:
            errors["base"] = "invalid_auth"
        except RateLimitedError:
            errors["base"] = "rate_limited"
        except ValidationFailed as err:
            errors["base"] = err.error
        except ApiError as err:
            LOGGER.debug("Cannot reach %s: %s", spec.name, type(err).__name__)
            errors["base"] = "cannot_connect"
        except Exception:
            LOGGER.exception("Unexpected error while validating a %s account", spec.key)
            errors["base"] = "unknown"
        return None

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication when the cloud refused the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the current password of the account."""
        entry: VeluxHomelyConfigEntry = self._get_reauth_entry()
        spec = provider_of(entry)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {
                **_without_secrets(entry.data),
                CONF_PASSWORD: user_input[CONF_PASSWORD],
            }
            account = await self._async_validate(spec, data, errors)
            if account is not None:
                await self.async_set_unique_id(_unique_id(spec.key, account))
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self._async_update_reload_and_abort(
                    entry, _updated_data(spec, entry, account)
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=PASSWORD_SCHEMA,
            errors=errors,
            description_placeholders={
                "username": entry.data[CONF_USERNAME],
                "provider": spec.name,
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials (or the advanced settings) of an account."""
        entry: VeluxHomelyConfigEntry = self._get_reconfigure_entry()
        spec = provider_of(entry)
        errors: dict[str, str] = {}
        defaults = _without_secrets(entry.data)
        if user_input is not None:
            data = _flattened(user_input)
            account = await self._async_validate(spec, data, errors)
            if account is not None:
                await self.async_set_unique_id(_unique_id(spec.key, account))
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self._async_update_reload_and_abort(
                    entry, _updated_data(spec, entry, account)
                )
            defaults = _without_secrets(data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=spec.account_schema(defaults),
            errors=errors,
            description_placeholders={"provider": spec.name},
        )

    @callback
    def _async_update_reload_and_abort(
        self, entry: VeluxHomelyConfigEntry, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Store the new data, reload the entry once and end the flow.

        Newer releases (2026.10) report ``async_update_reload_and_abort`` on an entry with
        an update listener (it could reload the entry a second time); ours reloads only
        on changed options, so the flow schedules the one reload itself.
        """
        self.hass.config_entries.async_update_entry(entry, data=data)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(
            reason="reauth_successful" if self.source == SOURCE_REAUTH else "reconfigure_successful"
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: VeluxHomelyConfigEntry) -> OptionsFlow:
        """Return the options flow of the entry's provider."""
        return provider_of(config_entry).options_flow()
