"""Local pairing with a VELUX ACTIVE gateway ("Netcom", TCP 25050): get its signing key.

Sequence (after the cloud command ``retrieve_key`` and the user pressing the gateway's
button, the gateway opens a TCP listener for a while):

1. ping (``0x0000``) -> empty pong (``0x0001``);
2. ECDH request ``0x0201`` ``0x01 + X25519 public key`` -> ``0x0202`` the gateway's
   key (possibly after one byte 0x00 / 0x01); session key = SHA-512(shared)[:32];
3. from then on every frame is an inner frame encrypted with ChaCha20-Poly1305 (no
   associated data) in the payload of a ``0x0200`` frame; each direction counts its
   own 12-byte nonce from zero (big-endian counter in bytes 4..11);
4. key request ``0x020E`` ``0x00 + key id`` -> ``0x020F`` result + 32-byte key;
5. nonce request ``0x020A`` ``0x00`` -> ``0x020B`` the gateway's nonce;
6. challenge ``0x020C`` ``key id + SHA-512(key id + key + nonce)`` -> ``0x020D`` result;
7. encrypted close ``0x0008``.

Frames are ``<type u16 LE><payload length u16 LE><payload>``; a ping is answered with
a pong at any time. Errors are the :class:`~.errors.PairingError` family. The key is
never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import re
import secrets
import socket
import struct
import time
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import (
    PairingBadKeyIdError,
    PairingConnectionError,
    PairingError,
    PairingHostError,
    PairingKeyTableFullError,
    PairingProtocolError,
    PairingRefusedError,
    PairingResultError,
    PairingTimeoutError,
)
from .netatmo_signing import KEY_ID_SIZE, KEY_SIZE, SigningKey

_LOGGER = logging.getLogger(__name__)

NETCOM_PORT: Final = 25050

FRAME_PING: Final = 0x0000
FRAME_PONG: Final = 0x0001
FRAME_CLOSE: Final = 0x0008
FRAME_SECURE: Final = 0x0200
FRAME_ECDH_REQUEST: Final = 0x0201
FRAME_ECDH_RESPONSE: Final = 0x0202
FRAME_NONCE_REQUEST: Final = 0x020A
FRAME_NONCE_RESPONSE: Final = 0x020B
FRAME_CHALLENGE_REQUEST: Final = 0x020C
FRAME_CHALLENGE_RESPONSE: Final = 0x020D
FRAME_KEY_REQUEST: Final = 0x020E
FRAME_KEY_RESPONSE: Final = 0x020F

MAX_PAYLOAD: Final = 0xFFFF
_TAG_SIZE: Final = 16

_RESULT_ERRORS: Final[dict[int, type[PairingResultError]]] = {
    1: PairingRefusedError,
    2: PairingBadKeyIdError,
    3: PairingKeyTableFullError,
}
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


# --- addresses ------------------------------------------------------------------------------


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    name = host.removesuffix(".")
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return False
    # All-numeric names are (broken) IPv4 addresses, not host names.
    return not labels[-1].isdigit()


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise PairingHostError("The port is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise PairingHostError("The port must be between 1 and 65535")
    return port


def parse_host(value: str, default_port: int = NETCOM_PORT) -> tuple[str, int]:
    """Split ``addr``, ``addr:port``, ``[v6]`` or ``[v6]:port`` into ``(host, port)``.

    A bare IPv6 address (``fe80::1``) is accepted without a port. Raise
    :class:`PairingHostError` (a ValueError) for an empty value, something that is
    neither an IP address nor a host name, or a port outside 1..65535.
    """
    if not isinstance(value, str) or not value.strip():
        raise PairingHostError("The gateway address is empty")
    text = value.strip()
    port = default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise PairingHostError("Missing ] after an IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise PairingHostError("Unexpected text after the IPv6 address")
            port = _port(rest[1:])
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise PairingHostError("Not an IPv6 address between [ ]") from None
    elif text.count(":") > 1:
        host = text
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise PairingHostError("Not an IPv6 address (use [address]:port)") from None
    else:
        host, sep, rest = text.partition(":")
        if sep:
            port = _port(rest)
        if not _valid_host(host):
            raise PairingHostError("Not an IP address or a host name")
    if not 1 <= port <= 65535:
        raise PairingHostError("The port must be between 1 and 65535")
    return host, port


# --- frames ---------------------------------------------------------------------------------


def encode_frame(frame_type: int, payload: bytes = b"") -> bytes:
    """Return ``<type LE u16><length LE u16><payload>``."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("Frame payload too long")
    return struct.pack("<HH", frame_type, len(payload)) + payload


def session_nonce(counter: int) -> bytes:
    """Return the 12-byte nonce of frame number ``counter`` of one direction."""
    return bytes(4) + counter.to_bytes(8, "big")


def session_key(shared_secret: bytes) -> bytes:
    """Return the session key: the first 32 bytes of SHA-512 of the X25519 secret."""
    return hashlib.sha512(shared_secret).digest()[:32]


def challenge_digest(key_id: bytes, key: bytes, nonce: bytes) -> bytes:
    """Return SHA-512(key id + key + gateway nonce)."""
    return hashlib.sha512(key_id + key + nonce).digest()


class _Session:
    """One TCP connection to the gateway, clear until :meth:`secure` is called."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, io_timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._io_timeout = io_timeout
        self._cipher: ChaCha20Poly1305 | None = None
        self._tx = 0
        self._rx = 0

    def secure(self, key: bytes) -> None:
        self._cipher = ChaCha20Poly1305(key)

    async def send(self, frame_type: int, payload: bytes = b"") -> None:
        frame = encode_frame(frame_type, payload)
        if self._cipher is not None:
            sealed = self._cipher.encrypt(session_nonce(self._tx), frame, None)
            self._tx += 1
            frame = encode_frame(FRAME_SECURE, sealed)
        try:
            self._writer.write(frame)
            await asyncio.wait_for(self._writer.drain(), self._io_timeout)
        # A lost connection normally shows on the next read; these are the rare races.
        except TimeoutError:  # pragma: no cover - needs a full socket buffer
            raise PairingConnectionError("The gateway stopped reading") from None
        except OSError as err:  # pragma: no cover - needs a reset between two frames
            raise PairingConnectionError(f"Connection lost: {type(err).__name__}") from None

    async def _read_frame(self) -> tuple[int, bytes]:
        try:
            header = await asyncio.wait_for(self._reader.readexactly(4), self._io_timeout)
            frame_type, length = struct.unpack("<HH", header)
            payload = await asyncio.wait_for(self._reader.readexactly(length), self._io_timeout)
        except TimeoutError:
            raise PairingConnectionError("The gateway stopped answering") from None
        except asyncio.IncompleteReadError:
            raise PairingConnectionError("The gateway closed the connection") from None
        except OSError as err:
            raise PairingConnectionError(f"Connection lost: {type(err).__name__}") from None
        return frame_type, payload

    async def receive(self) -> tuple[int, bytes]:
        """Return the next frame that is not a ping / pong (pings are answered)."""
        while True:
            frame_type, payload = await self._read_frame()
            encrypted = False
            if frame_type == FRAME_SECURE and self._cipher is not None:
                frame_type, payload = self._open(payload)
                encrypted = True
            elif self._cipher is not None and frame_type not in (FRAME_PING, FRAME_PONG):
                raise PairingProtocolError(f"Unencrypted frame 0x{frame_type:04x} in session")
            if frame_type == FRAME_PING:
                if encrypted or self._cipher is None:
                    await self.send(FRAME_PONG)
                else:
                    # A clear ping inside the session gets a clear pong.
                    await self._send_clear(FRAME_PONG)
                continue
            if frame_type == FRAME_PONG:
                continue
            if frame_type == FRAME_CLOSE:
                raise PairingConnectionError("The gateway closed the session")
            return frame_type, payload

    async def _send_clear(self, frame_type: int) -> None:
        self._writer.write(encode_frame(frame_type))
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self._writer.drain(), self._io_timeout)

    async def expect_pong(self) -> None:
        """Wait for the pong of our ping (answering the gateway's pings meanwhile)."""
        while True:
            frame_type, payload = await self._read_frame()
            if frame_type == FRAME_PING:
                await self.send(FRAME_PONG)
                continue
            if frame_type != FRAME_PONG:
                raise PairingProtocolError(f"Expected a pong, got frame 0x{frame_type:04x}")
            if payload:
                raise PairingProtocolError("The pong carries a payload")
            return

    def _open(self, sealed: bytes) -> tuple[int, bytes]:
        assert self._cipher is not None  # noqa: S101
        if len(sealed) < _TAG_SIZE + 4:
            raise PairingProtocolError("Encrypted frame too short")
        try:
            inner = self._cipher.decrypt(session_nonce(self._rx), sealed, None)
        except InvalidTag:
            raise PairingProtocolError("An encrypted frame failed to decrypt") from None
        self._rx += 1
        frame_type, length = struct.unpack("<HH", inner[:4])
        if length != len(inner) - 4:
            raise PairingProtocolError("Inner frame length does not match")
        return frame_type, inner[4:]

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)


class PairingConnectionRefusedError(PairingConnectionError):
    """Every connection attempt over the pairing window was refused.

    The address answers but nothing listens on the port, for the whole time the
    gateway's listener should have opened: most likely not the gateway's address (or
    port). Attempts that got no answer at all end as :class:`PairingTimeoutError`.
    """

    def __init__(self, host: str, port: int, attempts: int, wait: float) -> None:
        """Keep the address and how often it refused."""
        super().__init__(
            f"{host} refused every connection to port {port} for {wait:g} s "
            f"({attempts} attempts); is it the gateway's address?"
        )
        self.host = host
        self.port = port
        self.attempts = attempts


def _refused(err: BaseException) -> bool:
    """Return True when a connection attempt was refused (on every address tried)."""
    if isinstance(err, ExceptionGroup):
        return all(_refused(inner) for inner in err.exceptions)
    return isinstance(err, ConnectionRefusedError)


async def _connect(
    host: str, port: int, wait: float, connect_retry: float, io_timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, retrying until the gateway's listener opens or ``wait`` seconds pass.

    A refused connection is retried too (the listener opens a moment after
    ``retrieve_key``), but when every attempt was refused the error says so.
    """
    deadline = time.monotonic() + wait
    attempts = refused = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempts += 1
        try:
            return await asyncio.wait_for(
                # all_errors: a name with several addresses reports each one's failure
                asyncio.open_connection(host, port, all_errors=True),
                min(remaining, io_timeout),
            )
        except socket.gaierror as err:
            if err.errno != socket.EAI_AGAIN:
                raise PairingHostError("The gateway address cannot be resolved") from None
        except (OSError, TimeoutError, ExceptionGroup) as err:
            if _refused(err):
                refused += 1
            _LOGGER.debug("Netcom listener not open yet (%s)", type(err).__name__)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await asyncio.sleep(min(connect_retry, remaining))
    if attempts and refused == attempts:
        raise PairingConnectionRefusedError(host, port, attempts, wait)
    raise PairingTimeoutError(
        f"The gateway's pairing listener did not open within {wait:g} s "
        f"({attempts} attempts); was the button pressed?"
    )


def _check_result(step: str, code: int) -> None:
    if code:
        raise _RESULT_ERRORS.get(code, PairingResultError)(step, code)


async def async_pair(
    host: str,
    port: int = NETCOM_PORT,
    *,
    key_id: bytes | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - the listener wait, not one operation
    connect_retry: float = 1.0,
    io_timeout: float = 10.0,
) -> SigningKey:
    """Pair with the gateway at ``host``:``port`` and return its signing key.

    Keeps trying to connect every ``connect_retry`` seconds until the listener opens
    (after ``retrieve_key`` and the button press) or ``timeout`` seconds pass. Once
    connected, each answer may take ``io_timeout`` seconds. ``key_id`` (16 bytes) is
    random unless given.
    """
    if not isinstance(host, str) or not host.strip():
        raise PairingHostError("The gateway address is empty")
    host = host.strip().removeprefix("[").removesuffix("]")
    if not _valid_host(host):
        raise PairingHostError("Not an IP address or a host name")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise PairingHostError("The port must be between 1 and 65535")
    if key_id is None:
        key_id = secrets.token_bytes(KEY_ID_SIZE)
    elif len(key_id) != KEY_ID_SIZE:
        raise ValueError("key_id must be 16 bytes")

    reader, writer = await _connect(host, port, timeout, connect_retry, io_timeout)
    session = _Session(reader, writer, io_timeout)
    _LOGGER.debug("Connected to the Netcom listener of %s", host)
    try:
        return await _exchange(session, key_id)
    finally:
        await session.close()


async def _exchange(session: _Session, key_id: bytes) -> SigningKey:
    await session.send(FRAME_PING)
    await session.expect_pong()

    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    await session.send(FRAME_ECDH_REQUEST, b"\x01" + public)
    frame_type, payload = await session.receive()
    if frame_type != FRAME_ECDH_RESPONSE:
        raise PairingProtocolError(f"Expected the ECDH answer, got frame 0x{frame_type:04x}")
    if len(payload) == 33 and payload[0] in (0, 1):
        payload = payload[1:]
    if len(payload) != 32:
        raise PairingProtocolError("The gateway's public key is not 32 bytes")
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(payload))
    except ValueError:
        raise PairingProtocolError("The gateway's public key is not usable") from None
    session.secure(session_key(shared))
    _LOGGER.debug("Netcom session is encrypted")

    try:
        await session.send(FRAME_KEY_REQUEST, b"\x00" + key_id)
        frame_type, payload = await session.receive()
        if frame_type != FRAME_KEY_RESPONSE or not payload:
            raise PairingProtocolError(f"Expected the key answer, got frame 0x{frame_type:04x}")
        _check_result("key", payload[0])
        if len(payload) != 1 + KEY_SIZE:
            raise PairingProtocolError("The key answer is not 33 bytes")
        key = payload[1:]

        await session.send(FRAME_NONCE_REQUEST, b"\x00")
        frame_type, nonce = await session.receive()
        if frame_type != FRAME_NONCE_RESPONSE or not nonce:
            raise PairingProtocolError(f"Expected the nonce answer, got frame 0x{frame_type:04x}")

        await session.send(FRAME_CHALLENGE_REQUEST, key_id + challenge_digest(key_id, key, nonce))
        frame_type, payload = await session.receive()
        if frame_type != FRAME_CHALLENGE_RESPONSE or not payload:
            raise PairingProtocolError(
                f"Expected the challenge answer, got frame 0x{frame_type:04x}"
            )
        _check_result("challenge", payload[0])
    except PairingError as err:
        if not isinstance(err, PairingConnectionError):
            with contextlib.suppress(PairingError):
                await session.send(FRAME_CLOSE)
        raise
    await session.send(FRAME_CLOSE)
    _LOGGER.debug("Netcom pairing succeeded")
    return SigningKey(key_id, key)


__all__ = [
    "NETCOM_PORT",
    "PairingConnectionRefusedError",
    "async_pair",
    "challenge_digest",
    "encode_frame",
    "parse_host",
    "session_key",
    "session_nonce",
]
