"""Types every provider shares: the typed config entry and the provider contract.

A provider is a package (``netatmo``, ``homely``) of the same shape: ``__init__.py``
(set-up, unload and its :class:`Provider`), ``config_flow.py`` (account form, validation,
options), ``coordinator.py``, ``entity.py``, ``diagnostics.py`` and one module per
platform with an ``async_setup_entry`` like a Home Assistant platform's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry, OptionsFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
import voluptuous as vol

if TYPE_CHECKING:
    from .homely import HomelyRuntimeData
    from .netatmo import NetatmoRuntimeData

type VeluxHomelyConfigEntry = ConfigEntry[NetatmoRuntimeData | HomelyRuntimeData]
"""A config entry of this integration: one cloud account."""

SECTION_ADVANCED: Final = "advanced"
"""The account form's collapsed section of rarely needed settings (service address, app
identity). The flow receives its values nested: ``user_input["advanced"]["base_url"]``."""


def advanced_section(fields: Mapping[vol.Marker, Any]) -> dict[vol.Marker, Any]:
    """Return the account form's entry of the collapsed "Advanced settings" section."""
    return {vol.Required(SECTION_ADVANCED): section(vol.Schema(dict(fields)), {"collapsed": True})}


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatedAccount:
    """The result of a successful account validation in the config flow."""

    unique_id: str
    title: str
    data: dict[str, Any]


class ValidationFailed(Exception):
    """The account works but cannot be used; ``error`` is a translated error key."""

    def __init__(self, error: str) -> None:
        """Keep the error key (for example ``no_homes``)."""
        super().__init__(error)
        self.error = error


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """What the generic code (set-up, config flow, diagnostics) knows of a provider."""

    key: str
    """Entry data ``provider`` and the id of the config flow's account step."""
    name: str
    """The cloud's name as users know it (``VELUX ACTIVE``, ``Homely``)."""
    platforms: tuple[Platform, ...]
    account_schema: Callable[[Mapping[str, Any]], vol.Schema]
    """Account step schema from the defaults (flat, as in entry data); rarely needed
    settings go in :func:`advanced_section`, whose values the flow flattens again."""
    async_validate: Callable[[HomeAssistant, dict[str, Any]], Awaitable[ValidatedAccount]]
    """Log in with the user input and prove the account works."""
    options_flow: Callable[[], OptionsFlow]
    default_options: Mapping[str, Any]
    """Options a new entry starts with."""
    async_setup_entry: Callable[[HomeAssistant, Any], Awaitable[None]]
    """Build clients and coordinators, read the cloud once, set ``entry.runtime_data``."""
    async_unload_entry: Callable[[HomeAssistant, Any], Awaitable[None]]
    """Close live connections and cancel background work (after the platforms unloaded)."""
    async_get_diagnostics: Callable[[HomeAssistant, Any], Awaitable[dict[str, Any]]]
    """Diagnostics of a loaded entry (the caller redacts known secrets once more)."""
