"""Signed commands of the VELUX ACTIVE cloud: signing keys, signatures and nonces.

Opening a roof window and leaving departure mode need a signature made with the
gateway's signing key (obtained by local pairing, see :mod:`.netcom`, or pasted by
the user)::

    hash = base64url(HMAC-SHA512(key, item + str(value) + str(timestamp) + str(nonce)
                                 + device_id))

with ``=`` padding kept (88 characters). The cloud refuses a ``(timestamp, nonce)``
pair it has seen before (code 28), so every signed item gets a pair from a
:class:`NonceSequencer`.

The key is a secret: it never appears in a ``repr``, a log line or an exception.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import hashlib
import hmac
import re
import time
from typing import Any, Final

KEY_ID_SIZE: Final = 16
"""Bytes of a sign key id."""
KEY_SIZE: Final = 32
"""Bytes of a hash sign key."""
SIGNATURE_SIZE: Final = 88
"""Characters of a signature (base64 of 64 bytes, padded)."""

FIELD_SIGN_KEY_ID: Final = "sign_key_id"
FIELD_HASH_SIGN_KEY: Final = "hash_sign_key"

_BASE64 = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")


class InvalidSigningKeyError(ValueError):
    """A sign key id or hash sign key is not base64 of the right number of bytes.

    ``field`` is ``"sign_key_id"`` or ``"hash_sign_key"``; the message never holds the value.
    """

    def __init__(self, field: str) -> None:
        """Name the field that is wrong."""
        size = KEY_ID_SIZE if field == FIELD_SIGN_KEY_ID else KEY_SIZE
        super().__init__(f"{field} must be base64 of exactly {size} bytes")
        self.field = field


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    """A gateway's signing key: a 16-byte key id and a 32-byte key."""

    key_id: bytes
    key: bytes

    def __post_init__(self) -> None:
        """Refuse ids and keys of the wrong size."""
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise InvalidSigningKeyError(FIELD_SIGN_KEY_ID)
        if not isinstance(self.key, bytes) or len(self.key) != KEY_SIZE:
            raise InvalidSigningKeyError(FIELD_HASH_SIGN_KEY)

    @property
    def sign_key_id(self) -> str:
        """Return the key id as the cloud wants it: base64url with padding."""
        return _b64url(self.key_id)

    @property
    def hash_sign_key(self) -> str:
        """Return the key as stored in the config entry: base64url with padding."""
        return _b64url(self.key)

    def sign(self, item: str, value: object, *, timestamp: int, nonce: int, device_id: str) -> str:
        """Return the signature of one item with this key (see :func:`sign`)."""
        return sign(self.key, item, value, timestamp=timestamp, nonce=nonce, device_id=device_id)

    def __repr__(self) -> str:
        """Describe the key without revealing it (nor its id)."""
        return "SigningKey(<redacted>)"

    __str__ = __repr__


def _decode(value: object, size: int, field: str) -> bytes:
    """Decode standard or url-safe base64 (padding optional) of exactly ``size`` bytes."""
    if not isinstance(value, str):
        raise InvalidSigningKeyError(field)
    text = value.strip()
    if not text or not _BASE64.fullmatch(text):
        raise InvalidSigningKeyError(field)
    text = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        raise InvalidSigningKeyError(field)
    text += "=" * (-len(text) % 4)
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern rules these out
        raise InvalidSigningKeyError(field) from None
    if len(decoded) != size:
        raise InvalidSigningKeyError(field)
    return decoded


def parse_signing_key(sign_key_id: str, hash_sign_key: str) -> SigningKey:
    """Parse a pasted or stored key pair.

    Both values may be standard or url-safe base64, with or without padding, with
    surrounding whitespace. Raise :class:`InvalidSigningKeyError` naming the first
    field that is not base64 of 16 (id) / 32 (key) bytes.
    """
    key_id = _decode(sign_key_id, KEY_ID_SIZE, FIELD_SIGN_KEY_ID)
    key = _decode(hash_sign_key, KEY_SIZE, FIELD_HASH_SIGN_KEY)
    return SigningKey(key_id, key)


def sign(
    key: bytes, item: str, value: object, *, timestamp: int, nonce: int, device_id: str
) -> str:
    """Return ``base64url(HMAC-SHA512(key, item + value + timestamp + nonce + device_id))``.

    ``=`` padding is kept (88 characters). For an opener the device id is the module
    id, for a scenario the gateway id.
    """
    message = f"{item}{value}{timestamp}{nonce}{device_id}".encode()
    return _b64url(hmac.new(key, message, hashlib.sha512).digest())


# --- nonces ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NonceState:
    """High-water mark of a :class:`NonceSequencer`: the last timestamp and its next nonce."""

    timestamp: int
    next_nonce: int

    def as_dict(self) -> dict[str, int]:
        """Return a JSON-friendly form (for a config entry or a store)."""
        return {"timestamp": self.timestamp, "next_nonce": self.next_nonce}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> NonceState | None:
        """Parse :meth:`as_dict` output; None when it is missing or not usable."""
        if not isinstance(data, Mapping):
            return None
        timestamp = data.get("timestamp")
        next_nonce = data.get("next_nonce", 0)
        if (
            isinstance(timestamp, bool)
            or not isinstance(timestamp, int)
            or isinstance(next_nonce, bool)
            or not isinstance(next_nonce, int)
            or next_nonce < 0
        ):
            return None
        return cls(timestamp, next_nonce)


type NonceCallback = Callable[[NonceState], None]


class NonceSequencer:
    """Hands out ``(timestamp, nonce)`` pairs that are never used twice.

    * Allocations with the same timestamp continue the nonces where the previous
      one stopped (0, 1, 2, ... in a fresh second).
    * A clock that goes backwards keeps the highest timestamp used so far and
      continues its nonces, so pairs keep increasing.
    * After a restart, pass the persisted state (or only its ``timestamp``) as
      ``last_used``: no timestamp at or below it is used again, so even nonces
      handed out after the last save are never repeated. The first timestamp may
      then lie up to one second ahead of the clock.

    ``allocate`` is synchronous: two coroutines that allocate before either sends get
    disjoint pairs. ``on_update`` is called after every allocation with the new state
    so that the caller can persist it.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        last_used: int | NonceState | None = None,
        *,
        on_update: NonceCallback | None = None,
    ) -> None:
        """Start from nothing or from the state of a previous run."""
        self._clock = clock
        self._on_update = on_update
        self._timestamp: int | None = None
        self._next = 0
        self._floor: int | None = None
        if isinstance(last_used, NonceState):
            self._floor = last_used.timestamp
        elif isinstance(last_used, int) and not isinstance(last_used, bool):
            self._floor = last_used

    @property
    def state(self) -> NonceState | None:
        """Return the high-water mark (None before the first allocation of a fresh run).

        After a restart without allocations the restored mark is returned, so that
        persisting it again never loses it.
        """
        if self._timestamp is not None:
            return NonceState(self._timestamp, self._next)
        if self._floor is not None:
            return NonceState(self._floor, 0)
        return None

    def allocate(self, count: int = 1) -> tuple[int, list[int]]:
        """Return one timestamp and ``count`` consecutive unused nonces for it."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        now = int(self._clock())
        if self._timestamp is None:
            if self._floor is not None and now <= self._floor:
                now = self._floor + 1
            self._timestamp, self._next = now, 0
        elif now > self._timestamp:
            self._timestamp, self._next = now, 0
        first = self._next
        self._next += count
        timestamp = self._timestamp
        if self._on_update is not None:
            self._on_update(NonceState(timestamp, self._next))
        return timestamp, list(range(first, first + count))


__all__ = [
    "KEY_ID_SIZE",
    "KEY_SIZE",
    "InvalidSigningKeyError",
    "NonceSequencer",
    "NonceState",
    "SigningKey",
    "parse_signing_key",
    "sign",
]
