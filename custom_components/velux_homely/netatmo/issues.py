"""Repair issues of a Netatmo-family account: roof windows that cannot open yet.

A roof window opens only with a signed command, signed with the key of its gateway.
While a gateway with roof windows has no usable key, a repair issue says how to get one (the
account's options: ``signing_key`` or ``pair_gateway``); it goes away once the key is
stored, and when the gateway or its windows leave the account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ..api.netatmo import VELUX_TYPE_WINDOW
from ..const import DOMAIN
from .keys import usable_keys

if TYPE_CHECKING:
    from . import NetatmoConfigEntry
    from .coordinator import NetatmoData

ISSUE_PREFIX = "signing_key_"


def issue_id(entry_id: str, gateway_id: str) -> str:
    """Return the id of the repair issue of one gateway."""
    return f"{ISSUE_PREFIX}{entry_id}_{gateway_id}"


@callback
def async_update_signing_issues(
    hass: HomeAssistant, entry: NetatmoConfigEntry, data: NetatmoData | None = None
) -> None:
    """Open an issue for every gateway with roof windows and no key; close the others.

    ``data`` is the coordinator's data (default: the loaded entry's).
    """
    if data is None:
        runtime = getattr(entry, "runtime_data", None)
        data = runtime.coordinator.data if runtime is not None else None
    if data is None:
        return
    # Only a key that parses signs: a stored pair that does not keeps the issue open.
    keys = usable_keys(entry.data)
    needed: dict[str, str] = {}
    for view in data.modules.values():
        bridge_id = view.bridge_id
        if view.module.velux_type == VELUX_TYPE_WINDOW and bridge_id and bridge_id not in keys:
            gateway = data.modules.get(bridge_id)
            needed[bridge_id] = (gateway.module.name if gateway else None) or bridge_id
    registry = ir.async_get(hass)
    prefix = issue_id(entry.entry_id, "")
    for (domain, existing), _issue in list(registry.issues.items()):
        if (
            domain == DOMAIN
            and existing.startswith(prefix)
            and existing.removeprefix(prefix) not in needed
        ):
            ir.async_delete_issue(hass, DOMAIN, existing)
    for gateway_id, name in needed.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id(entry.entry_id, gateway_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="signing_key_missing",
            translation_placeholders={
                "gateway": name,
                "account": entry.title,
                "options_url": f"/config/integrations/integration/{DOMAIN}",
            },
            learn_more_url=f"/config/integrations/integration/{DOMAIN}",
        )
