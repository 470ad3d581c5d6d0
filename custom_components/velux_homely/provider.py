"""Contracts between the generic integration code and the providers.

Every provider package (``velux``, ``homely``) exports ``PROVIDER``, a
:class:`ProviderSpec`. The config flow only talks to the spec; set-up stores
the :class:`ProviderRuntime` the spec builds as ``entry.runtime_data``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
import voluptuous as vol

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddEntitiesCallback


class ProviderRuntime(ABC):
    """What a set-up config entry holds at run time."""

    platforms: tuple[Platform, ...] = ()
    options_at_setup: Mapping[str, Any] = {}
    """The entry options the runtime was built with (set by ``async_setup_entry``)."""

    @abstractmethod
    def async_setup_platform(
        self, platform: Platform, async_add_entities: AddEntitiesCallback
    ) -> None:
        """Add the entities of ``platform`` now and whenever new devices appear."""

    @abstractmethod
    async def async_diagnostics(self) -> dict[str, Any]:
        """Return diagnostics (the caller redacts known secrets once more)."""

    async def async_shutdown(self) -> None:
        """Close live connections and cancel background work (on unload)."""


type VeluxHomelyConfigEntry = ConfigEntry[ProviderRuntime]


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
class ProviderSpec:
    """Everything the config flow and set-up need to know about a provider."""

    key: str
    schema: Callable[[bool, Mapping[str, Any]], vol.Schema]
    """Account step schema: (show_advanced_options, defaults) -> schema."""
    async_validate: Callable[[HomeAssistant, dict[str, Any]], Awaitable[ValidatedAccount]]
    """Log in with the user input (plus ``provider``) and prove the account works."""
    options_schema: Callable[[HomeAssistant, VeluxHomelyConfigEntry], vol.Schema]
    """Schema of the options step; defaults come from the entry's options."""
    async_setup_runtime: Callable[
        [HomeAssistant, VeluxHomelyConfigEntry], Awaitable[ProviderRuntime]
    ]
    """Build clients and coordinators and do the first refresh."""
    default_options: Mapping[str, Any] = field(default_factory=dict)
    """Options a new entry starts with."""
