"""The providers this build supports, in the order the menu shows them."""

from __future__ import annotations

from .const import PROVIDER_HOMELY, PROVIDER_VELUX
from .homely import PROVIDER as HOMELY
from .provider import ProviderSpec
from .velux import PROVIDER as VELUX

PROVIDERS: dict[str, ProviderSpec] = {
    PROVIDER_VELUX: VELUX,
    PROVIDER_HOMELY: HOMELY,
}
