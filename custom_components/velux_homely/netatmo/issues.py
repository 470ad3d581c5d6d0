"""Repair issues of a Netatmo-family account: roof windows that cannot open.

A roof window opens only with a signed command, signed with the key of its gateway.
While a gateway with roof windows has no usable key, a repair issue says how to get one (the
account's options: ``signing_key`` or ``pair_gateway``); it goes away once the key is
stored, and when the gateway or its windows leave the account.

A gateway can also refuse the key stored for it (the cloud answers a signed command with
code 9): a reset clears the gateway's key table, and a pasted key can be well formed and
still wrong. The key is kept (only the user replaces it), and the gateway's issue says that
it refuses the key and how to get a new one, until another key is stored for it. The
refusal is remembered across the entry's set-ups (see :mod:`..memory`), not across a
restart of Home Assistant: the next refused command raises the issue again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ..api.netatmo import VELUX_TYPE_WINDOW
from ..api.netatmo_signing import SigningKey
from ..const import DOMAIN
from ..memory import async_recall, async_recall_or_create
from .keys import usable_keys

if TYPE_CHECKING:
    from . import NetatmoConfigEntry
    from .coordinator import NetatmoData

ISSUE_PREFIX = "signing_key_"
KEY_MISSING = "signing_key_missing"
"""Translation key of the issue of a gateway with roof windows and no usable key."""
KEY_REFUSED = "signing_key_refused"
"""Translation key of the issue of a gateway that refused its stored key."""
REFUSED_KIND = "netatmo_refused_keys"
"""Memory kind: the stored keys gateways refused, by gateway id."""


def issue_id(entry_id: str, gateway_id: str) -> str:
    """Return the id of the repair issue of one gateway."""
    return f"{ISSUE_PREFIX}{entry_id}_{gateway_id}"


@callback
def async_keys_refused(
    hass: HomeAssistant, entry: NetatmoConfigEntry, keys: Mapping[str, SigningKey]
) -> None:
    """Remember that gateways refused these keys (code 9) and open their issues."""
    refused: dict[str, SigningKey] = async_recall_or_create(
        hass, entry.entry_id, REFUSED_KIND, dict
    )
    refused.update(keys)
    async_update_signing_issues(hass, entry)


def _refused(hass: HomeAssistant, entry_id: str, keys: Mapping[str, SigningKey]) -> set[str]:
    """Return the gateways that refused the key stored now; forget older refusals."""
    refused: dict[str, SigningKey] | None = async_recall(hass, entry_id, REFUSED_KIND)
    if not refused:
        return set()
    for gateway_id, key in list(refused.items()):
        if keys.get(gateway_id) != key:
            del refused[gateway_id]  # another key was stored since (or none is)
    return set(refused)


@callback
def async_update_signing_issues(
    hass: HomeAssistant, entry: NetatmoConfigEntry, data: NetatmoData | None = None
) -> None:
    """Open an issue for every gateway with roof windows and no key, or a refused key.

    Close the others. ``data`` is the coordinator's data (default: the loaded entry's).
    """
    if data is None:
        runtime = getattr(entry, "runtime_data", None)
        data = runtime.coordinator.data if runtime is not None else None
    if data is None:
        return
    # Only a key that parses signs: a stored pair that does not keeps the issue open.
    keys = usable_keys(entry.data)
    needed: dict[str, tuple[str, str]] = {}
    for view in data.modules.values():
        bridge_id = view.bridge_id
        if view.module.velux_type == VELUX_TYPE_WINDOW and bridge_id and bridge_id not in keys:
            gateway = data.modules.get(bridge_id)
            needed[bridge_id] = (
                (gateway.module.name if gateway else None) or bridge_id,
                KEY_MISSING,
            )
    for gateway_id in _refused(hass, entry.entry_id, keys):
        if (gateway := data.modules.get(gateway_id)) is not None:
            needed[gateway_id] = (gateway.module.name or gateway_id, KEY_REFUSED)
    registry = ir.async_get(hass)
    prefix = issue_id(entry.entry_id, "")
    for (domain, existing), _issue in list(registry.issues.items()):
        if (
            domain == DOMAIN
            and existing.startswith(prefix)
            and existing.removeprefix(prefix) not in needed
        ):
            ir.async_delete_issue(hass, DOMAIN, existing)
    for gateway_id, (name, translation_key) in needed.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id(entry.entry_id, gateway_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=translation_key,
            translation_placeholders={
                "gateway": name,
                "account": entry.title,
                "options_url": f"/config/integrations/integration/{DOMAIN}",
            },
            learn_more_url=f"/config/integrations/integration/{DOMAIN}",
        )
