"""The gateways' signing keys as an entry stores them, parsed.

Entry data ``signing_keys`` maps a gateway id to ``{"sign_key_id": ..., "hash_sign_key":
...}``. Only a pair that parses can sign: everything that decides whether a roof window
can open (the cover's features, the repair issue) goes through :func:`stored_key`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api.netatmo_signing import InvalidSigningKeyError, SigningKey, parse_signing_key
from .const import CONF_HASH_SIGN_KEY, CONF_SIGN_KEY_ID, CONF_SIGNING_KEYS


def stored_key(stored: object) -> SigningKey | None:
    """Return the key of one stored pair (None: missing fields or not a key)."""
    if not isinstance(stored, Mapping):
        return None
    sign_key_id = stored.get(CONF_SIGN_KEY_ID)
    hash_sign_key = stored.get(CONF_HASH_SIGN_KEY)
    if not isinstance(sign_key_id, str) or not isinstance(hash_sign_key, str):
        return None
    try:
        return parse_signing_key(sign_key_id, hash_sign_key)
    except InvalidSigningKeyError:
        return None


def stored_pairs(data: Mapping[str, Any]) -> dict[str, object]:
    """Return the stored pairs of entry data by gateway id (as stored, unparsed)."""
    keys = data.get(CONF_SIGNING_KEYS)
    return dict(keys) if isinstance(keys, Mapping) else {}


def usable_keys(data: Mapping[str, Any]) -> dict[str, SigningKey]:
    """Return the keys of entry data that parse, by gateway id."""
    return {
        gateway_id: key
        for gateway_id, stored in stored_pairs(data).items()
        if (key := stored_key(stored)) is not None
    }
