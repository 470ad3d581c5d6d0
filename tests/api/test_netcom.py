"""Tests of the Netcom pairing client against the simulated gateway and raw scripted peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import hashlib
import logging
import socket
import struct
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import pytest

from custom_components.velux_homely.api.errors import (
    ApiError,
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
from custom_components.velux_homely.api.netatmo_signing import SigningKey
from custom_components.velux_homely.api.netcom import (
    NETCOM_PORT,
    PairingConnectionRefusedError,
    async_pair,
    challenge_digest,
    encode_frame,
    parse_host,
    session_key,
    session_nonce,
)
from simulator.netcom import NetcomGateway
from tests.helpers import listening
from tests.netatmo.conftest import silent_port

KEY_ID = bytes(range(0xA0, 0xB0))
KEY = bytes(range(0x40, 0x60))
GATEWAY_NONCE = b"gateway-nonce-16"


@pytest.fixture
async def gateway(socket_enabled: None) -> AsyncIterator[NetcomGateway]:
    gw = NetcomGateway("70:ee:50:3a:1b:2c")
    gw.next_key = KEY
    gw.gateway_nonce = GATEWAY_NONCE
    yield gw
    await gw.aclose()


async def pair(gw: NetcomGateway, **kwargs: Any) -> SigningKey:
    options: dict[str, Any] = {"key_id": KEY_ID, "timeout": 3.0, "connect_retry": 0.02}
    options.update(kwargs)
    return await async_pair("127.0.0.1", gw.port, **options)


# ------------------------------------------------------------------------ success


async def test_pairing_exact_frames(gateway: NetcomGateway) -> None:
    assert await gateway.open()
    key = await pair(gateway)

    assert key == SigningKey(KEY_ID, KEY)
    assert gateway.pairings == 1
    assert gateway.paired_keys == [(KEY_ID, KEY)]
    await until(lambda: not gateway.is_open)  # one pairing per opening
    received = [(f.type, f.payload, f.secure) for f in gateway.frames if f.direction == "rx"]
    assert [(t, s) for t, _, s in received] == [
        (0x0000, False),
        (0x0201, False),
        (0x020E, True),
        (0x020A, True),
        (0x020C, True),
        (0x0008, True),
    ]
    assert received[0][1] == b""
    assert received[1][1][0] == 0x01
    assert len(received[1][1]) == 33
    assert received[2][1] == b"\x00" + KEY_ID
    assert received[3][1] == b"\x00"
    assert received[4][1] == KEY_ID + hashlib.sha512(KEY_ID + KEY + GATEWAY_NONCE).digest()
    assert received[5][1] == b""

    # The raw bytes: a clear ping, the ECDH request, then 0x0200 frames whose payload
    # decrypts with nonces 0, 1, 2, 3 of the client's direction.
    raw = gateway.raw_rx
    assert raw[0] == b"\x00\x00\x00\x00"
    assert raw[1][:5] == b"\x01\x02\x21\x00\x01"
    assert gateway.session_key is not None
    cipher = ChaCha20Poly1305(gateway.session_key)
    inner = []
    for counter, frame in enumerate(raw[2:]):
        frame_type, length = struct.unpack("<HH", frame[:4])
        assert frame_type == 0x0200
        assert length == len(frame) - 4
        nonce = b"\x00\x00\x00\x00" + counter.to_bytes(8, "big")
        inner.append(cipher.decrypt(nonce, frame[4:], None))
    assert inner == [
        b"\x0e\x02\x11\x00\x00" + KEY_ID,
        b"\x0a\x02\x01\x00\x00",
        b"\x0c\x02\x50\x00" + KEY_ID + hashlib.sha512(KEY_ID + KEY + GATEWAY_NONCE).digest(),
        b"\x08\x00\x00\x00",
    ]


@pytest.mark.parametrize("prefix", [b"", b"\x00", b"\x01"])
async def test_ecdh_answer_with_or_without_prefix(gateway: NetcomGateway, prefix: bytes) -> None:
    gateway.ecdh_prefix = prefix
    await gateway.open()
    assert (await pair(gateway)).key == KEY


async def test_random_key_id_and_gateway_pings(gateway: NetcomGateway) -> None:
    gateway.ping_first = True
    gateway.next_key = None
    gateway.gateway_nonce = None
    await gateway.open()
    key = await pair(gateway, key_id=None)
    assert (key.key_id, key.key) == gateway.paired_keys[0]
    assert key.key_id != KEY_ID
    # The client answered each gateway ping with a pong (clear before the session).
    pongs = [f.secure for f in gateway.frames if f.direction == "rx" and f.type == 0x0001]
    assert pongs == [False, True, True, True]


async def test_listener_that_opens_late(gateway: NetcomGateway) -> None:
    task = asyncio.create_task(pair(gateway, connect_retry=0.02))
    await asyncio.sleep(0.15)
    assert not task.done()  # still knocking on a closed port
    await gateway.open()
    assert (await task).key == KEY
    assert gateway.connections == 1


async def test_key_never_logged(gateway: NetcomGateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    task = asyncio.create_task(pair(gateway, connect_retry=0.02))
    await asyncio.sleep(0.05)
    await gateway.open()
    key = await task
    assert "Netcom pairing succeeded" in caplog.text
    for secret in (KEY.hex(), key.hash_sign_key, key.hash_sign_key.rstrip("="), repr(KEY)):
        assert secret not in caplog.text


# ------------------------------------------------------------------------- errors


async def test_a_port_refused_all_along_is_told_apart(gateway: NetcomGateway) -> None:
    """Nothing listens at that address and port for the whole window: not a timeout."""
    gateway.button_pressed = False
    assert not await gateway.open()
    started = time.monotonic()
    with pytest.raises(PairingConnectionRefusedError) as err:
        await pair(gateway, timeout=0.3, connect_retry=0.05)
    assert time.monotonic() - started < 2
    assert (err.value.host, err.value.port) == ("127.0.0.1", gateway.port)
    assert err.value.attempts > 2  # kept knocking: the listener may open late
    assert f"127.0.0.1 refused every connection to port {gateway.port}" in str(err.value)
    assert isinstance(err.value, PairingConnectionError)
    assert gateway.connections == 0


async def test_no_answer_at_all_is_a_timeout(socket_enabled: None) -> None:
    with silent_port() as port:
        started = time.monotonic()
        with pytest.raises(PairingTimeoutError, match="button") as err:
            await async_pair("127.0.0.1", port, timeout=0.4, connect_retry=0.05, io_timeout=0.1)
        assert time.monotonic() - started < 2
    assert not isinstance(err.value, PairingConnectionRefusedError)


async def test_refused_then_no_answer_is_a_timeout(socket_enabled: None) -> None:
    """Refused at first, then attempts get no answer: a timeout, not a refusal."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as listener:
        listener.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = int(listener.getsockname()[1])
        task = asyncio.create_task(
            async_pair("127.0.0.1", port, timeout=0.6, connect_retry=0.05, io_timeout=0.1)
        )
        await asyncio.sleep(0.2)
        assert not task.done()
        listener.listen(0)  # a queue that is never accepted from, and fills up
        fillers = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(4)]
        for filler in fillers:
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        try:
            with pytest.raises(PairingTimeoutError) as err:
                await task
        finally:
            for filler in fillers:
                filler.close()
    assert not isinstance(err.value, PairingConnectionRefusedError)


@pytest.mark.parametrize("step", ["ping", "ecdh", "key", "nonce", "challenge"])
@pytest.mark.parametrize("reset", [False, True])
async def test_connection_dropped_mid_way(gateway: NetcomGateway, step: str, reset: bool) -> None:
    gateway.close_at = step
    gateway.reset = reset
    await gateway.open()
    with pytest.raises(PairingConnectionError):
        await pair(gateway)
    assert gateway.paired_keys == [] or step == "close"


async def test_drop_after_the_challenge_is_harmless(gateway: NetcomGateway) -> None:
    gateway.close_at = "close"
    await gateway.open()
    assert (await pair(gateway)).key == KEY


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1, PairingRefusedError),
        (2, PairingBadKeyIdError),
        (3, PairingKeyTableFullError),
        (7, PairingResultError),
    ],
)
async def test_key_request_results(
    gateway: NetcomGateway, code: int, error: type[PairingResultError]
) -> None:
    gateway.key_result = code
    await gateway.open()
    with pytest.raises(error) as err:
        await pair(gateway)
    assert type(err.value) is error
    assert (err.value.step, err.value.code) == ("key", code)
    assert isinstance(err.value, PairingError)
    assert isinstance(err.value, ApiError)
    # The client said goodbye (encrypted close) and nothing was stored.
    await until(lambda: not gateway.is_open)
    assert gateway.frames[-1].type == 0x0008
    assert gateway.paired_keys == []


@pytest.mark.parametrize(("code", "error"), [(1, PairingRefusedError), (2, PairingBadKeyIdError)])
async def test_challenge_results(
    gateway: NetcomGateway, code: int, error: type[PairingResultError]
) -> None:
    gateway.challenge_result = code
    await gateway.open()
    with pytest.raises(error) as err:
        await pair(gateway)
    assert (err.value.step, err.value.code) == ("challenge", code)
    assert gateway.paired_keys == []


@pytest.mark.parametrize("step", ["ecdh", "key", "nonce", "challenge"])
async def test_unexpected_answer(gateway: NetcomGateway, step: str) -> None:
    gateway.unexpected_at = step
    await gateway.open()
    with pytest.raises(PairingProtocolError, match="0x7777"):
        await pair(gateway)


@pytest.mark.parametrize("step", ["key", "nonce", "challenge"])
async def test_answer_that_fails_decryption(gateway: NetcomGateway, step: str) -> None:
    gateway.garble_at = step
    await gateway.open()
    with pytest.raises(PairingProtocolError, match="decrypt"):
        await pair(gateway)


@pytest.mark.parametrize("prefix", [b"\x02", b"\x00\x00", b"\x01" + bytes(32)])
async def test_bad_ecdh_answer(gateway: NetcomGateway, prefix: bytes) -> None:
    gateway.ecdh_prefix = prefix
    await gateway.open()
    with pytest.raises(PairingProtocolError):
        await pair(gateway)


async def test_window_closes_the_listener(socket_enabled: None) -> None:
    now = [100.0]
    gw = NetcomGateway("gw", clock=lambda: now[0])
    try:
        gw.window = 30
        await gw.open()
        now[0] = 129.0
        gw.check_window()
        assert gw.is_open
        now[0] = 130.0
        gw.check_window()
        assert not listening(gw)
        # closed again: its port refuses connections
        with pytest.raises(PairingConnectionRefusedError):
            await async_pair("127.0.0.1", gw.port, timeout=0.1, connect_retry=0.02)
        # Reopening works on the same port; a real-time window closes it too.
        gw.window = 0.05
        port = gw.port
        await gw.open()
        assert gw.port == port
        now[0] += 1  # the simulated clock passed the window: the timer closes it
        await asyncio.sleep(0.2)
        assert not listening(gw)
        assert gw.opens == 2
    finally:
        await gw.aclose()


# -------------------------------------------------------------- raw scripted peers

type Script = Callable[["RawPeer"], Awaitable[None]]


class RawPeer:
    """A gateway written out by hand in the test: exact bytes, no simulator logic."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.cipher: ChaCha20Poly1305 | None = None
        self.tx = 0
        self.rx = 0

    async def read(self) -> tuple[int, bytes]:
        frame_type, length = struct.unpack("<HH", await self.reader.readexactly(4))
        payload = await self.reader.readexactly(length)
        if self.cipher is not None and frame_type == 0x0200:
            inner = self.cipher.decrypt(session_nonce(self.rx), payload, None)
            self.rx += 1
            frame_type, _ = struct.unpack("<HH", inner[:4])
            payload = inner[4:]
        return frame_type, payload

    async def send(self, frame_type: int, payload: bytes = b"", *, clear: bool = False) -> None:
        frame = struct.pack("<HH", frame_type, len(payload)) + payload
        if self.cipher is not None and not clear:
            frame = encode_frame(0x0200, self.cipher.encrypt(session_nonce(self.tx), frame, None))
            self.tx += 1
        self.writer.write(frame)
        await self.writer.drain()

    async def hello(self) -> None:
        assert await self.read() == (0x0000, b"")
        await self.send(0x0001)
        frame_type, payload = await self.read()
        assert frame_type == 0x0201
        private = X25519PrivateKey.generate()
        await self.send(0x0202, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        shared = private.exchange(X25519PublicKey.from_public_bytes(payload[1:]))
        self.cipher = ChaCha20Poly1305(hashlib.sha512(shared).digest()[:32])


@contextlib.asynccontextmanager
async def raw_peer(script: Script) -> AsyncIterator[int]:
    """Serve ``script``; on exit let it end (cancelled after 2 s; its errors do not matter)."""
    tasks: set[asyncio.Task[Any]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            with contextlib.suppress(Exception):
                await script(RawPeer(reader, writer))
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
        if tasks:
            await asyncio.wait(tasks, timeout=2)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server.close()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110 - polls state of another task
            await asyncio.sleep(0.005)


async def pong_with_payload(peer: RawPeer) -> None:
    await peer.read()
    await peer.send(0x0001, b"x")


async def ping_answered_with_other_frame(peer: RawPeer) -> None:
    await peer.read()
    await peer.send(0x0202, bytes(32))


async def short_public_key(peer: RawPeer) -> None:
    await peer.read()
    await peer.send(0x0001)
    await peer.read()
    await peer.send(0x0202, bytes(31))


async def clear_frame_in_session(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await peer.send(0x020F, b"\x00" + KEY, clear=True)


async def short_key_answer(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await peer.send(0x020F, b"\x00" + KEY[:31])


async def empty_key_answer(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await peer.send(0x020F)


async def empty_nonce_answer(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await peer.send(0x020F, b"\x00" + KEY)
    await peer.read()
    await peer.send(0x020B)


async def tiny_encrypted_frame(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await peer.send(0x0200, b"\x00" * 10, clear=True)


async def wrong_inner_length(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    assert peer.cipher is not None
    inner = struct.pack("<HH", 0x020F, 40) + b"\x00" + KEY
    sealed = peer.cipher.encrypt(session_nonce(peer.tx), inner, None)
    await peer.send(0x0200, sealed, clear=True)


async def low_order_public_key(peer: RawPeer) -> None:
    await peer.read()
    await peer.send(0x0001)
    await peer.read()
    await peer.send(0x0202, bytes(32))  # X25519 refuses an all-zero shared secret


async def gateway_closes_the_session(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await peer.send(0x0008)


async def silent_after_hello(peer: RawPeer) -> None:
    await peer.hello()
    await peer.read()
    await asyncio.sleep(1)


@pytest.mark.parametrize(
    ("script", "error", "match"),
    [
        (pong_with_payload, PairingProtocolError, "payload"),
        (ping_answered_with_other_frame, PairingProtocolError, "pong"),
        (short_public_key, PairingProtocolError, "32 bytes"),
        (clear_frame_in_session, PairingProtocolError, "Unencrypted"),
        (short_key_answer, PairingProtocolError, "33 bytes"),
        (empty_key_answer, PairingProtocolError, "key answer"),
        (empty_nonce_answer, PairingProtocolError, "nonce answer"),
        (tiny_encrypted_frame, PairingProtocolError, "too short"),
        (wrong_inner_length, PairingProtocolError, "length"),
        (low_order_public_key, PairingProtocolError, "not usable"),
        (gateway_closes_the_session, PairingConnectionError, "closed the session"),
        (silent_after_hello, PairingConnectionError, "stopped answering"),
    ],
)
async def test_protocol_violations(
    socket_enabled: None, script: Script, error: type[PairingError], match: str
) -> None:
    async with raw_peer(script) as port:
        with pytest.raises(error, match=match):
            await async_pair("127.0.0.1", port, key_id=KEY_ID, timeout=2, io_timeout=0.3)


async def test_raw_peer_full_exchange_and_helpers(socket_enabled: None) -> None:
    """A hand-written gateway proves the client against the reference, not the simulator."""
    seen: list[tuple[int, bytes]] = []

    async def script(peer: RawPeer) -> None:
        # The gateway pings before its pong and inside the session, encrypted and in
        # clear: the client answers each the same way.
        assert await peer.read() == (0x0000, b"")
        await peer.send(0x0000)
        assert await peer.read() == (0x0001, b"")
        await peer.send(0x0001)
        frame_type, payload = await peer.read()
        assert frame_type == 0x0201
        private = X25519PrivateKey.generate()
        await peer.send(0x0202, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        shared = private.exchange(X25519PublicKey.from_public_bytes(payload[1:]))
        peer.cipher = ChaCha20Poly1305(hashlib.sha512(shared).digest()[:32])
        seen.append(await peer.read())
        await peer.send(0x0000)
        seen.append(await peer.read())
        await peer.send(0x0000, clear=True)
        header = await peer.reader.readexactly(4)
        seen.append((int.from_bytes(header[:2], "little"), b"clear"))
        await peer.send(0x020F, b"\x00" + KEY)
        seen.append(await peer.read())
        await peer.send(0x020B, b"n" * 8)
        seen.append(await peer.read())
        await peer.send(0x020D, b"\x00")
        seen.append(await peer.read())

    async with raw_peer(script) as port:
        key = await async_pair("127.0.0.1", port, key_id=KEY_ID, timeout=2, io_timeout=1)
    assert key == SigningKey(KEY_ID, KEY)
    assert seen == [
        (0x020E, b"\x00" + KEY_ID),
        (0x0001, b""),
        (0x0001, b"clear"),
        (0x020A, b"\x00"),
        (0x020C, KEY_ID + challenge_digest(KEY_ID, KEY, b"n" * 8)),
        (0x0008, b""),
    ]
    assert session_nonce(0) == bytes(12)
    assert session_nonce(258) == bytes(10) + b"\x01\x02"
    assert session_key(b"s") == hashlib.sha512(b"s").digest()[:32]
    assert encode_frame(0x020E, b"ab") == b"\x0e\x02\x02\x00ab"
    with pytest.raises(ValueError, match="long"):
        encode_frame(0x0200, bytes(70000))


# ------------------------------------------------------------------------ addresses


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("192.168.1.20", ("192.168.1.20", NETCOM_PORT)),
        (" 192.168.1.20:26000 ", ("192.168.1.20", 26000)),
        ("gateway.local", ("gateway.local", NETCOM_PORT)),
        ("gateway.local.:1", ("gateway.local.", 1)),
        ("velux-gw", ("velux-gw", NETCOM_PORT)),
        ("[fe80::1]:25050", ("fe80::1", 25050)),
        ("[::1]", ("::1", NETCOM_PORT)),
        ("fe80::1%eth0", ("fe80::1%eth0", NETCOM_PORT)),
        ("2001:db8::5", ("2001:db8::5", NETCOM_PORT)),
        ("host:65535", ("host", 65535)),
    ],
)
def test_parse_host(value: str, expected: tuple[str, int]) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "host:0",
        "host:65536",
        "host:-1",
        "host:port",
        "host:",
        "host:\uff12\uff15",  # full-width digits
        "999.1.1.1",
        "1.2.3",
        "bad host",
        "a..b",
        "-gw.local",
        "gw-.local",
        "http://gw.local",
        "gw.local/path",
        "[1.2.3.4]:80",
        "[fe80::1",
        "[fe80::1]x",
        "[fe80::1]:99999",
        "fe80::zz",
        "a" * 64 + ".local",
        ("a" * 60 + ".") * 5 + "b",
    ],
)
def test_parse_host_refuses(value: str) -> None:
    with pytest.raises(PairingHostError) as err:
        parse_host(value)
    assert isinstance(err.value, ValueError)


def test_parse_host_refuses_non_text_and_bad_default() -> None:
    with pytest.raises(PairingHostError):
        parse_host(None)  # type: ignore[arg-type]
    with pytest.raises(PairingHostError):
        parse_host("host", default_port=0)


@pytest.mark.parametrize(
    ("host", "port"),
    [("", 25050), (" ", 25050), ("bad host", 25050), ("gw", 0), ("gw", 65536), ("gw", True)],
)
async def test_async_pair_refuses_bad_addresses_at_once(host: str, port: Any) -> None:
    with pytest.raises(PairingHostError):
        await async_pair(host, port, timeout=5)


async def test_async_pair_refuses_a_bad_key_id() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        await async_pair("127.0.0.1", key_id=b"short")


def _resolver(errno: int) -> Callable[..., Awaitable[Any]]:
    """Return a name lookup that fails with ``errno`` (tests never ask a real DNS)."""

    async def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(errno, "lookup failed")

    return getaddrinfo


async def test_async_pair_unresolvable_name(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name does not exist: said at once, not retried.
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", _resolver(socket.EAI_NONAME))
    with pytest.raises(PairingHostError) as err:
        await async_pair("gateway.invalid", timeout=1, connect_retry=0.1)
    assert "cannot be resolved" in str(err.value)


async def test_async_pair_lookup_failing_temporarily_is_retried(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A resolver that cannot answer now: retried until the timeout.
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", _resolver(socket.EAI_AGAIN))
    with pytest.raises(PairingTimeoutError):
        await async_pair("gateway.example", timeout=0.5, connect_retry=0.1)
