"""Gateway end of the VELUX ACTIVE local pairing protocol ("Netcom", TCP 25050).

A :class:`NetcomGateway` plays one gateway with real cryptography (X25519,
SHA-512, ChaCha20-Poly1305) and the frames of ``shared/reference/velux-active.md``:
``<type u16 LE><length u16 LE><payload>``; after the ECDH exchange every frame is an
inner frame encrypted with the session key and carried in a ``0x0200`` frame, each
direction with its own nonce counter (big-endian in bytes 4..11).

Its port on 127.0.0.1 is reserved when the gateway is built (a bound socket that does
not listen, so connections are refused) and the listener opens only when
:meth:`NetcomGateway.open` is called (the cloud does that on ``retrieve_key``, unless
the "button" is never pressed). It closes again after one pairing attempt that got as
far as the key request, or when its window (``window`` seconds of the simulator's
clock) has passed.

This module does not share code with the client (:mod:`custom_components.velux_homely.api.netcom`)
on purpose: each side checks the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import hashlib
import hmac
import secrets
import socket
import struct
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PING = 0x0000
PONG = 0x0001
CLOSE = 0x0008
SECURE = 0x0200
ECDH_REQUEST = 0x0201
ECDH_RESPONSE = 0x0202
NONCE_REQUEST = 0x020A
NONCE_RESPONSE = 0x020B
CHALLENGE_REQUEST = 0x020C
CHALLENGE_RESPONSE = 0x020D
KEY_REQUEST = 0x020E
KEY_RESPONSE = 0x020F

STEPS = {
    PING: "ping",
    ECDH_REQUEST: "ecdh",
    KEY_REQUEST: "key",
    NONCE_REQUEST: "nonce",
    CHALLENGE_REQUEST: "challenge",
    CLOSE: "close",
}
"""Step names of the client's requests, as used by the fault knobs."""

RESULT_OK = 0
RESULT_NOK = 1
RESULT_BAD_KEY_ID = 2
RESULT_KEY_TABLE_FULL = 3

DEFAULT_WINDOW = 120.0
"""Seconds the listener stays open after :meth:`NetcomGateway.open`."""

type KeyCallback = Callable[[str, bytes, bytes], None]
"""Called as ``(gateway_id, key_id, key)`` after a successful pairing."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame seen by the gateway: direction, type and payload (inner frame if secure)."""

    direction: str
    """``"rx"`` (from the client) or ``"tx"`` (to the client)."""
    type: int
    payload: bytes
    secure: bool


class _Closed(Exception):
    """End of the connection (EOF, knob or protocol violation by the client)."""


def _frame(frame_type: int, payload: bytes) -> bytes:
    return struct.pack("<HH", frame_type, len(payload)) + payload


def _nonce(counter: int) -> bytes:
    return bytes(4) + counter.to_bytes(8, "big")


class NetcomGateway:
    r"""The Netcom listener of one gateway, with knobs for the failures a client must handle.

    Knobs (attributes, change them at any time):

    * ``button_pressed`` (True): False = :meth:`open` never opens the listener.
    * ``window`` (120.0): seconds (simulator clock) the listener stays open.
    * ``key_result`` (0): result byte of the key request (1 NOK, 2 bad key id, 3 table full).
    * ``challenge_result`` (None): force the challenge result byte; None = verify for real
      (0 ok, 1 wrong digest, 2 unknown key id).
    * ``close_at`` (None): a step name (``ping``, ``ecdh``, ``key``, ``nonce``,
      ``challenge``, ``close``): close the connection when that request arrives.
    * ``reset`` (False): with ``close_at``, reset the connection (RST) instead of closing.
    * ``unexpected_at`` (None): answer that step with an unknown frame type (0x7777).
    * ``garble_at`` (None): answer that (encrypted) step with a frame that fails decryption.
    * ``ecdh_prefix`` (``b"\x01"``): bytes before the gateway's public key in the ECDH
      answer (``b""``, ``b"\x00"`` or ``b"\x01"`` are valid).
    * ``ping_first`` (False): send a ping before every answer (the client must pong).
    * ``next_key`` (None): the key handed out by the next key request (default random).
    * ``gateway_nonce`` (None): the nonce of the nonce answer (default 16 random bytes).
    """

    def __init__(
        self,
        gateway_id: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_key: KeyCallback | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """Reserve a port on ``host``; the listener stays closed until :meth:`open`."""
        self.gateway_id = gateway_id
        self.host = host
        self._clock = clock
        self._on_key = on_key
        self.button_pressed = True
        self.window = DEFAULT_WINDOW
        self.key_result = RESULT_OK
        self.challenge_result: int | None = None
        self.close_at: str | None = None
        self.reset = False
        self.unexpected_at: str | None = None
        self.garble_at: str | None = None
        self.ecdh_prefix = b"\x01"
        self.ping_first = False
        self.next_key: bytes | None = None
        self.gateway_nonce: bytes | None = None

        self.opens = 0
        """Times the listener opened."""
        self.connections = 0
        """Connections accepted."""
        self.pairings = 0
        """Successful pairings (challenge passed, key stored)."""
        self.frames: list[Frame] = []
        """Frames of the last connection (inner frames once encrypted)."""
        self.raw_rx: list[bytes] = []
        """Raw outer frames received on the last connection (header + payload)."""
        self.session_key: bytes | None = None
        """Session key of the last connection (for tests that decrypt ``raw_rx``)."""
        self.paired_keys: list[tuple[bytes, bytes]] = []
        """``(key_id, key)`` of every successful pairing."""

        self._reserved: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._port = self._reserve(0)

    # ------------------------------------------------------------------ listener

    def _reserve(self, port: int) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        self._reserved = sock
        return int(sock.getsockname()[1])

    @property
    def port(self) -> int:
        """Return the port of this gateway's listener (refused while it is closed)."""
        return self._port

    @property
    def is_open(self) -> bool:
        """Return True while the listener accepts a connection."""
        return self._server is not None

    async def open(self) -> bool:
        """Open the listener for one pairing (the user "pressed the button").

        Return False (and stay closed) when ``button_pressed`` is False. Opening an
        open listener restarts its window.
        """
        if not self.button_pressed:
            return False
        self._deadline = self._clock() + self.window
        self._schedule_check()
        if self._server is not None:
            return True
        sock = self._reserved
        if sock is None:  # pragma: no cover - released only by aclose
            self._reserve(self._port)
            sock = self._reserved
            assert sock is not None  # noqa: S101
        self._reserved = None
        sock.listen(4)
        sock.setblocking(False)
        self._server = await asyncio.start_server(self._serve, sock=sock)
        self.opens += 1
        return True

    def close_listener(self) -> None:
        """Stop listening (connections in progress go on); keep the port reserved."""
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
            self._reserve(self._port)

    def check_window(self) -> None:
        """Close the listener when its window has passed (called on clock moves)."""
        if self._deadline is not None and self._clock() >= self._deadline:
            self.close_listener()

    def _schedule_check(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._deadline is None:
            return
        delay = max(0.0, self._deadline - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay + 0.001, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.check_window()
        if self._deadline is not None:
            self._schedule_check()

    async def aclose(self) -> None:
        """Close the listener, every connection and the reserved port."""
        self.close_listener()
        for writer in list(self._writers):
            writer.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None

    # -------------------------------------------------------------- connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.frames = []
        self.raw_rx = []
        self.session_key = None
        self._writers.add(writer)
        conn = _Connection(self, reader, writer)
        try:
            await conn.run()
        except (_Closed, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            if conn.reached_key_request:
                self.close_listener()
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _paired(self, key_id: bytes, key: bytes) -> None:
        self.pairings += 1
        self.paired_keys.append((key_id, key))
        if self._on_key is not None:
            self._on_key(self.gateway_id, key_id, key)


class _Connection:
    """State of one client connection."""

    def __init__(
        self, gateway: NetcomGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.gw = gateway
        self.reader = reader
        self.writer = writer
        self.cipher: ChaCha20Poly1305 | None = None
        self.rx_counter = 0
        self.tx_counter = 0
        self.key_id: bytes | None = None
        self.key: bytes | None = None
        self.nonce: bytes | None = None
        self.reached_key_request = False

    async def run(self) -> None:
        while True:
            frame_type, payload = await self._receive()
            step = STEPS.get(frame_type)
            if step is not None and step == self.gw.close_at:
                self._drop()
            if frame_type == PONG:
                continue
            if frame_type == PING:
                await self._send(PONG, b"")
                continue
            if frame_type == CLOSE:
                raise _Closed
            if self.cipher is None:
                if frame_type != ECDH_REQUEST:
                    raise _Closed
                await self._ecdh(payload)
                continue
            await self._secure_request(frame_type, payload, step or "")

    def _drop(self) -> None:
        if self.gw.reset:
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.transport.abort()
        else:
            self.writer.close()
        raise _Closed

    async def _receive(self) -> tuple[int, bytes]:
        header = await self.reader.readexactly(4)
        frame_type, length = struct.unpack("<HH", header)
        payload = await self.reader.readexactly(length)
        self.gw.raw_rx.append(header + payload)
        if self.cipher is None or frame_type in (PING, PONG):
            # Before the session (and for a plain ping at any time) frames are clear.
            if self.cipher is not None and frame_type == PING:
                raise _Closed  # a clear ping inside the secure session is a violation
            self.gw.frames.append(Frame("rx", frame_type, payload, secure=False))
            return frame_type, payload
        if frame_type != SECURE:
            raise _Closed
        try:
            inner = self.cipher.decrypt(_nonce(self.rx_counter), payload, None)
        except InvalidTag:
            raise _Closed from None
        self.rx_counter += 1
        if len(inner) < 4:
            raise _Closed
        inner_type, inner_length = struct.unpack("<HH", inner[:4])
        if inner_length != len(inner) - 4:
            raise _Closed
        self.gw.frames.append(Frame("rx", inner_type, inner[4:], secure=True))
        return inner_type, inner[4:]

    async def _send(self, frame_type: int, payload: bytes, *, garble: bool = False) -> None:
        self.gw.frames.append(Frame("tx", frame_type, payload, secure=self.cipher is not None))
        if self.cipher is None:
            self.writer.write(_frame(frame_type, payload))
        else:
            sealed = self.cipher.encrypt(_nonce(self.tx_counter), _frame(frame_type, payload), None)
            self.tx_counter += 1
            if garble:
                sealed = bytes([sealed[0] ^ 0x01]) + sealed[1:]
            self.writer.write(_frame(SECURE, sealed))
        await self.writer.drain()

    async def _answer(self, step: str, frame_type: int, payload: bytes) -> None:
        if self.gw.ping_first:
            await self._send(PING, b"")
        if step == self.gw.unexpected_at:
            await self._send(0x7777, b"")
            return
        await self._send(frame_type, payload, garble=step == self.gw.garble_at)

    async def _ecdh(self, payload: bytes) -> None:
        if len(payload) != 33 or payload[0] != 0x01:
            raise _Closed
        try:
            client_key = X25519PublicKey.from_public_bytes(payload[1:])
            private = X25519PrivateKey.generate()
            shared = private.exchange(client_key)
        except ValueError:
            raise _Closed from None
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        await self._answer("ecdh", ECDH_RESPONSE, self.gw.ecdh_prefix + public)
        session_key = hashlib.sha512(shared).digest()[:32]
        self.gw.session_key = session_key
        self.cipher = ChaCha20Poly1305(session_key)

    async def _secure_request(self, frame_type: int, payload: bytes, step: str) -> None:
        if frame_type == KEY_REQUEST:
            self.reached_key_request = True
            result = self.gw.key_result
            if result == RESULT_OK and (len(payload) != 17 or payload[0] != 0x00):
                result = RESULT_BAD_KEY_ID
            key = bytes(32)
            if result == RESULT_OK:
                key = self.gw.next_key or secrets.token_bytes(32)
                self.gw.next_key = None
                self.key_id, self.key = payload[1:], key
            await self._answer(step, KEY_RESPONSE, bytes([result]) + key)
        elif frame_type == NONCE_REQUEST:
            if payload != b"\x00":
                raise _Closed
            self.nonce = self.gw.gateway_nonce or secrets.token_bytes(16)
            await self._answer(step, NONCE_RESPONSE, self.nonce)
        elif frame_type == CHALLENGE_REQUEST:
            result = self._verify_challenge(payload)
            if self.gw.challenge_result is not None:
                result = self.gw.challenge_result
            if result == RESULT_OK and self.key_id is not None and self.key is not None:
                self.gw._paired(self.key_id, self.key)
            await self._answer(step, CHALLENGE_RESPONSE, bytes([result]))
        else:
            raise _Closed

    def _verify_challenge(self, payload: bytes) -> int:
        if self.key_id is None or self.key is None or self.nonce is None or len(payload) != 80:
            return RESULT_NOK
        if payload[:16] != self.key_id:
            return RESULT_BAD_KEY_ID
        expected = hashlib.sha512(self.key_id + self.key + self.nonce).digest()
        return RESULT_OK if hmac.compare_digest(payload[16:], expected) else RESULT_NOK
