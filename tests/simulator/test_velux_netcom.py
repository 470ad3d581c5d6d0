"""Tests of the simulator's gateway pairing (retrieve_key -> Netcom) and its key tables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import hashlib
import struct
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import pytest

from custom_components.velux_homely.api.errors import (
    CommandError,
    PairingKeyTableFullError,
)
from custom_components.velux_homely.api.netatmo import NetatmoClient, PositionMove
from custom_components.velux_homely.api.netatmo_signing import SigningKey
from custom_components.velux_homely.api.netcom import PairingConnectionRefusedError, async_pair
from simulator.velux import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    SMALL_SHUTTER_ID,
    WINDOW_ID,
    NetcomGateway,
    VeluxSimulator,
    sign_command,
    sign_key_id_of,
)
from tests.helpers import listening


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[VeluxSimulator]:
    simulator = VeluxSimulator(move_speed=0, epoch=1_700_000_000)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: VeluxSimulator) -> AsyncIterator[NetatmoClient]:
    async with aiohttp.ClientSession() as session:
        yield NetatmoClient(
            session, base_url=sim.base_url, username=DEMO_USERNAME, password=DEMO_PASSWORD
        )


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110 - polls state of another task
            await asyncio.sleep(0.005)


async def pair(sim: VeluxSimulator, gateway_id: str = GATEWAY_ID, **kwargs: Any) -> SigningKey:
    options: dict[str, Any] = {"timeout": 2.0, "connect_retry": 0.02}
    options.update(kwargs)
    return await async_pair("127.0.0.1", sim.netcom(gateway_id).port, **options)


async def test_retrieve_key_opens_the_listener_and_pairing_fills_the_table(
    sim: VeluxSimulator, client: NetatmoClient
) -> None:
    netcom = sim.netcom(GATEWAY_ID)
    assert sim.netcom(GATEWAY_ID) is netcom
    assert not netcom.is_open
    # Before retrieve_key the port refuses connections.
    with pytest.raises(PairingConnectionRefusedError):
        await pair(sim, timeout=0.15)

    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    assert listening(netcom)
    assert not sim.netcom(SMALL_GATEWAY_ID).is_open
    assert sim.netcom(SMALL_GATEWAY_ID).port != netcom.port
    key = await pair(sim)

    assert sim.signing_keys == {GATEWAY_ID: {key.sign_key_id: key.key}}
    await until(lambda: not netcom.is_open)
    # The paired key opens the window of that gateway.
    await client.async_set_positions(
        HOME_ID, [PositionMove(WINDOW_ID, GATEWAY_ID, 35, "window")], signing={GATEWAY_ID: key}
    )
    assert sim.target(WINDOW_ID) == 35


async def test_listener_opens_while_the_client_waits(
    sim: VeluxSimulator, client: NetatmoClient
) -> None:
    pairing = asyncio.create_task(pair(sim))
    await asyncio.sleep(0.1)
    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    key = await pairing
    assert key.sign_key_id in sim.signing_keys[GATEWAY_ID]


async def test_button_not_pressed(sim: VeluxSimulator, client: NetatmoClient) -> None:
    sim.netcom(GATEWAY_ID).button_pressed = False
    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    assert sim.retrieve_key_requests == [GATEWAY_ID]
    assert not sim.netcom(GATEWAY_ID).is_open
    with pytest.raises(PairingConnectionRefusedError):
        await pair(sim, timeout=0.15)
    assert sim.signing_keys == {}


async def test_window_on_the_simulated_clock(sim: VeluxSimulator, client: NetatmoClient) -> None:
    netcom = sim.netcom(GATEWAY_ID)
    netcom.window = 120
    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    sim.advance(119)
    assert netcom.is_open
    sim.advance(1.5)
    assert not listening(netcom)
    with pytest.raises(PairingConnectionRefusedError):
        await pair(sim, timeout=0.15)
    # A second retrieve_key opens it again.
    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    assert netcom.is_open
    assert netcom.opens == 2


async def test_failed_pairing_stores_nothing_and_closes(
    sim: VeluxSimulator, client: NetatmoClient
) -> None:
    sim.netcom(GATEWAY_ID).key_result = 3
    await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    with pytest.raises(PairingKeyTableFullError):
        await pair(sim)
    assert sim.signing_keys == {}
    await until(lambda: not sim.netcom(GATEWAY_ID).is_open)


async def test_unreachable_gateway_does_not_open(
    sim: VeluxSimulator, client: NetatmoClient
) -> None:
    sim.set_reachable(GATEWAY_ID, False)
    with pytest.raises(CommandError) as err:
        await client.async_retrieve_key(HOME_ID, GATEWAY_ID)
    assert [(f.module_id, f.code) for f in err.value.failures] == [(GATEWAY_ID, 6)]
    assert not sim.netcom(GATEWAY_ID).is_open


async def test_each_gateway_key_signs_only_its_modules(
    sim: VeluxSimulator, client: NetatmoClient
) -> None:
    small_key = SigningKey(bytes(range(16)), bytes(32))
    main_key = SigningKey(bytes(range(1, 17)), bytes(range(32)))
    assert sim.add_signing_key(SMALL_GATEWAY_ID, small_key.key_id, small_key.key) == (
        small_key.sign_key_id
    )
    sim.add_signing_key(GATEWAY_ID, main_key.sign_key_id, main_key.key)
    # The cabin's key does not open the main home's window, with or without its id.
    with pytest.raises(CommandError) as err:
        await client.async_set_positions(
            HOME_ID,
            [PositionMove(WINDOW_ID, GATEWAY_ID, 20, "window")],
            signing={GATEWAY_ID: small_key},
        )
    assert err.value.failures[0].code == 9
    await client.async_set_positions(
        HOME_ID,
        [PositionMove(WINDOW_ID, GATEWAY_ID, 20, "window")],
        signing={GATEWAY_ID: main_key},
    )
    assert sim.target(WINDOW_ID) == 20
    # Leaving departure mode in the cabin needs the cabin's key.
    with pytest.raises(CommandError):
        await client.async_set_scenario(SMALL_HOME_ID, SMALL_GATEWAY_ID, "home", signing=main_key)
    await client.async_set_scenario(SMALL_HOME_ID, SMALL_GATEWAY_ID, "home", signing=small_key)
    # Removing a table forgets its keys.
    sim.remove_signing_keys(GATEWAY_ID)
    with pytest.raises(CommandError):
        await client.async_set_positions(
            HOME_ID,
            [PositionMove(WINDOW_ID, GATEWAY_ID, 30, "window")],
            signing={GATEWAY_ID: main_key},
        )
    assert sim.target(SMALL_SHUTTER_ID) == 0


async def test_legacy_key_is_valid_for_every_gateway(sim: VeluxSimulator) -> None:
    key = bytes(range(32))
    sim.sign_key = key
    sim.sign_key_id = sign_key_id_of(bytes(16))
    entry = {
        "timestamp": 5,
        "nonce": 0,
        "sign_key_id": sim.sign_key_id,
        "hash_scenario": sign_command(
            key, "scenario", "home", timestamp=5, nonce=0, device_id=SMALL_GATEWAY_ID
        ),
    }
    assert (
        sim._check_signature(entry, "scenario", "home", SMALL_GATEWAY_ID, SMALL_GATEWAY_ID) is None
    )
    assert sim._check_signature(entry, "scenario", "home", SMALL_GATEWAY_ID, GATEWAY_ID) == 28
    entry["sign_key_id"] = 5
    assert sim._check_signature(entry, "scenario", "home", SMALL_GATEWAY_ID, GATEWAY_ID) == 9


async def test_stop_closes_listeners(socket_enabled: None) -> None:
    sim = VeluxSimulator()
    await sim.start()
    netcom = sim.netcom(GATEWAY_ID)
    await netcom.open()
    port = netcom.port
    await sim.stop()
    assert not netcom.is_open
    with pytest.raises(PairingConnectionRefusedError):
        await async_pair("127.0.0.1", port, timeout=0.1, connect_retry=0.02)


# ------------------------------------------------ the gateway against a raw client


class RawClient:
    """A client written out by hand: it can break the protocol on purpose."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.cipher: ChaCha20Poly1305 | None = None
        self.tx = 0
        self.rx = 0

    @classmethod
    async def connect(cls, gateway: NetcomGateway) -> RawClient:
        return cls(*await asyncio.open_connection("127.0.0.1", gateway.port))

    def write(self, frame_type: int, payload: bytes = b"", *, clear: bool = False) -> None:
        frame = struct.pack("<HH", frame_type, len(payload)) + payload
        if self.cipher is not None and not clear:
            sealed = self.cipher.encrypt(bytes(4) + self.tx.to_bytes(8, "big"), frame, None)
            self.tx += 1
            frame = struct.pack("<HH", 0x0200, len(sealed)) + sealed
        self.writer.write(frame)

    def write_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def read(self) -> tuple[int, bytes]:
        frame_type, length = struct.unpack("<HH", await self.reader.readexactly(4))
        payload = await self.reader.readexactly(length)
        if self.cipher is not None and frame_type == 0x0200:
            inner = self.cipher.decrypt(bytes(4) + self.rx.to_bytes(8, "big"), payload, None)
            self.rx += 1
            frame_type = struct.unpack("<H", inner[:2])[0]
            payload = inner[4:]
        return frame_type, payload

    async def closed(self) -> bool:
        """Return True when the gateway ends the connection without answering."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), 2)
        except ConnectionError:
            return True
        return data == b""

    async def secure(self) -> None:
        private = X25519PrivateKey.generate()
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.write(0x0201, b"\x01" + public)
        frame_type, payload = await self.read()
        assert frame_type == 0x0202
        shared = private.exchange(X25519PublicKey.from_public_bytes(payload[-32:]))
        self.cipher = ChaCha20Poly1305(hashlib.sha512(shared).digest()[:32])


@pytest.fixture
async def gateway(socket_enabled: None) -> AsyncIterator[NetcomGateway]:
    gw = NetcomGateway("gw")
    await gw.open()
    yield gw
    await gw.aclose()


async def test_gateway_answers_pings_in_both_modes(gateway: NetcomGateway) -> None:
    client = await RawClient.connect(gateway)
    client.write(0x0000)
    assert await client.read() == (0x0001, b"")
    client.write(0x0001)  # a stray pong is ignored
    await client.secure()
    client.write(0x0000)
    assert await client.read() == (0x0001, b"")
    client.write(0x0008)
    assert await client.closed()
    # The connection ended before any key request: the listener stays open.
    assert gateway.is_open


async def break_before_session(client: RawClient) -> None:
    client.write(0x020E, b"\x00" + bytes(16))


async def bad_ecdh_payload(client: RawClient) -> None:
    client.write(0x0201, b"\x02" + bytes(32))


async def low_order_ecdh_key(client: RawClient) -> None:
    client.write(0x0201, b"\x01" + bytes(32))


async def clear_ping_in_session(client: RawClient) -> None:
    await client.secure()
    client.write(0x0000, clear=True)


async def clear_request_in_session(client: RawClient) -> None:
    await client.secure()
    client.write(0x020E, b"\x00" + bytes(16), clear=True)


async def garbage_secure_frame(client: RawClient) -> None:
    await client.secure()
    client.write_raw(struct.pack("<HH", 0x0200, 20) + bytes(20))


async def short_inner_frame(client: RawClient) -> None:
    await client.secure()
    assert client.cipher is not None
    sealed = client.cipher.encrypt(bytes(12), b"\x0e\x02", None)
    client.write_raw(struct.pack("<HH", 0x0200, len(sealed)) + sealed)


async def wrong_inner_length(client: RawClient) -> None:
    await client.secure()
    assert client.cipher is not None
    sealed = client.cipher.encrypt(bytes(12), b"\x0e\x02\x20\x00\x00", None)
    client.write_raw(struct.pack("<HH", 0x0200, len(sealed)) + sealed)


async def bad_nonce_request(client: RawClient) -> None:
    await client.secure()
    client.write(0x020A, b"\x01")


async def unknown_request(client: RawClient) -> None:
    await client.secure()
    client.write(0x0300)


@pytest.mark.parametrize(
    "script",
    [
        break_before_session,
        bad_ecdh_payload,
        low_order_ecdh_key,
        clear_ping_in_session,
        clear_request_in_session,
        garbage_secure_frame,
        short_inner_frame,
        wrong_inner_length,
        bad_nonce_request,
        unknown_request,
    ],
)
async def test_gateway_drops_clients_that_break_the_protocol(
    gateway: NetcomGateway, script: Callable[[RawClient], Any]
) -> None:
    client = await RawClient.connect(gateway)
    await script(client)
    assert await client.closed()
    assert gateway.paired_keys == []


async def test_gateway_checks_the_key_request_and_the_challenge(gateway: NetcomGateway) -> None:
    client = await RawClient.connect(gateway)
    await client.secure()
    # A challenge before any key: NOK.
    client.write(0x020C, bytes(80))
    assert await client.read() == (0x020D, b"\x01")
    # A key request with a short id: bad key id, and no key.
    client.write(0x020E, b"\x00" + bytes(15))
    assert await client.read() == (0x020F, b"\x02" + bytes(32))
    key_id = bytes(range(16))
    client.write(0x020E, b"\x00" + key_id)
    frame_type, payload = await client.read()
    assert (frame_type, payload[0], len(payload)) == (0x020F, 0, 33)
    key = payload[1:]
    client.write(0x020A, b"\x00")
    _, nonce = await client.read()
    assert len(nonce) == 16
    # Another key id, then a wrong digest, then the right answer.
    client.write(0x020C, bytes(16) + hashlib.sha512(key_id + key + nonce).digest())
    assert await client.read() == (0x020D, b"\x02")
    client.write(0x020C, key_id + bytes(64))
    assert await client.read() == (0x020D, b"\x01")
    assert gateway.paired_keys == []
    client.write(0x020C, key_id + hashlib.sha512(key_id + key + nonce).digest())
    assert await client.read() == (0x020D, b"\x00")
    assert gateway.paired_keys == [(key_id, key)]
    client.write(0x0008)
    assert await client.closed()
    await until(lambda: not gateway.is_open)


async def test_reopening_restarts_the_window_and_aclose_ends_connections(
    socket_enabled: None,
) -> None:
    now = [0.0]
    gw = NetcomGateway("gw", clock=lambda: now[0])
    gw.window = 10
    assert await gw.open()
    now[0] = 8
    assert await gw.open()  # already open: the window starts again
    now[0] = 15
    gw.check_window()
    assert gw.is_open
    assert gw.opens == 1
    client = await RawClient.connect(gw)
    await until(lambda: gw.connections == 1)
    gw.close_listener()
    gw.close_listener()  # twice is fine
    await gw.aclose()
    assert await client.closed()
