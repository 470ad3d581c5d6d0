"""Tests of signing keys, signatures and the nonce sequencer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

import pytest

from custom_components.velux_homely.api.netatmo_signing import (
    InvalidSigningKeyError,
    NonceSequencer,
    NonceState,
    SigningKey,
    parse_signing_key,
    sign,
)

KEY_ID = bytes(range(16))
KEY = bytes(range(100, 132))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------------- keys


def test_signing_key_properties_and_repr() -> None:
    key = SigningKey(KEY_ID, KEY)
    assert key.sign_key_id == "AAECAwQFBgcICQoLDA0ODw=="
    assert key.sign_key_id == base64.urlsafe_b64encode(KEY_ID).decode()
    assert key.hash_sign_key == base64.urlsafe_b64encode(KEY).decode()
    assert key.hash_sign_key.endswith("=")
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert key.hash_sign_key not in text
        assert key.hash_sign_key.rstrip("=") not in text
        assert base64.b64encode(KEY).decode().rstrip("=") not in text
        assert KEY.hex() not in text
        assert str(KEY) not in text
        assert key.sign_key_id not in text
    assert key == SigningKey(KEY_ID, KEY)
    with pytest.raises(AttributeError):
        key.key = b""  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key_id", "key", "field"),
    [
        (bytes(15), KEY, "sign_key_id"),
        (bytes(17), KEY, "sign_key_id"),
        (KEY_ID, bytes(31), "hash_sign_key"),
        ("x" * 16, KEY, "sign_key_id"),
        (KEY_ID, bytearray(32), "hash_sign_key"),
    ],
)
def test_signing_key_sizes(key_id: Any, key: Any, field: str) -> None:
    with pytest.raises(InvalidSigningKeyError) as err:
        SigningKey(key_id, key)
    assert err.value.field == field


def _variants(data: bytes) -> list[str]:
    standard = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [
        standard,
        url,
        standard.rstrip("="),
        url.rstrip("="),
        f"  {url}\n",
        f"\t{standard.rstrip('=')} ",
    ]


def test_parse_signing_key_accepts_both_alphabets_and_optional_padding() -> None:
    # Bytes chosen so that the encodings hold '+' / '/' (standard) and '-' / '_' (url-safe).
    key_id = bytes([0xFB, 0xFF, 0xBF] * 5 + [0xFE])
    key = bytes([0xFB, 0xEF, 0xFF] * 10 + [0x3E, 0x3F])
    assert "+" in base64.b64encode(key).decode()
    assert "_" in base64.urlsafe_b64encode(key).decode()
    for id_text in _variants(key_id):
        for key_text in _variants(key):
            parsed = parse_signing_key(id_text, key_text)
            assert parsed == SigningKey(key_id, key)
    parsed = parse_signing_key(*_variants(key_id)[:1], *_variants(key)[:1])
    assert parse_signing_key(parsed.sign_key_id, parsed.hash_sign_key) == parsed


@pytest.mark.parametrize(
    ("sign_key_id", "hash_sign_key", "field"),
    [
        ("", base64.b64encode(KEY).decode(), "sign_key_id"),
        ("   ", base64.b64encode(KEY).decode(), "sign_key_id"),
        (base64.b64encode(bytes(15)).decode(), base64.b64encode(KEY).decode(), "sign_key_id"),
        (base64.b64encode(bytes(17)).decode(), base64.b64encode(KEY).decode(), "sign_key_id"),
        (base64.b64encode(KEY_ID).decode(), base64.b64encode(bytes(31)).decode(), "hash_sign_key"),
        (base64.b64encode(KEY_ID).decode(), base64.b64encode(bytes(33)).decode(), "hash_sign_key"),
        (base64.b64encode(KEY_ID).decode(), "not base64 at all!", "hash_sign_key"),
        (base64.b64encode(KEY_ID).decode(), KEY.hex(), "hash_sign_key"),  # hex is not base64
        ("AAECAwQF BgcICQoLDA0ODw==", base64.b64encode(KEY).decode(), "sign_key_id"),
        ("AAECAwQFBgcICQoLDA0ODw===", base64.b64encode(KEY).decode(), "sign_key_id"),
        ("AAEC=AwQFBgcICQoLDA0ODw", base64.b64encode(KEY).decode(), "sign_key_id"),
        ("A" * 21, base64.b64encode(KEY).decode(), "sign_key_id"),  # 4n+1 characters
        (None, base64.b64encode(KEY).decode(), "sign_key_id"),
        (base64.b64encode(KEY_ID).decode(), 32, "hash_sign_key"),
    ],
)
def test_parse_signing_key_refuses(sign_key_id: Any, hash_sign_key: Any, field: str) -> None:
    with pytest.raises(InvalidSigningKeyError) as err:
        parse_signing_key(sign_key_id, hash_sign_key)
    assert err.value.field == field
    assert isinstance(err.value, ValueError)
    message = str(err.value)
    assert field in message
    if isinstance(hash_sign_key, str) and len(hash_sign_key) > 8:
        assert hash_sign_key not in message
    if isinstance(sign_key_id, str) and len(sign_key_id.strip()) > 8:
        assert sign_key_id.strip() not in message


def test_parse_signing_key_22_characters_is_16_bytes() -> None:
    parsed = parse_signing_key("A" * 22, "B" * 43)
    assert parsed.key_id == bytes(16)
    assert len(parsed.key) == 32


# ----------------------------------------------------------------------- signing


def test_sign_reference_example() -> None:
    """The reference's example message, computed independently."""
    message = b"target_position" + b"14" + b"1779484789" + b"0" + b"5636133219200932"
    digest = hmac.new(KEY, message, hashlib.sha512).digest()
    expected = base64.b64encode(digest).decode().replace("+", "-").replace("/", "_")
    result = sign(
        KEY, "target_position", 14, timestamp=1779484789, nonce=0, device_id="5636133219200932"
    )
    assert result == expected
    assert len(result) == 88
    assert result.endswith("==")
    assert (
        SigningKey(KEY_ID, KEY).sign(
            "target_position", 14, timestamp=1779484789, nonce=0, device_id="5636133219200932"
        )
        == result
    )


def test_sign_scenario_and_inputs_matter() -> None:
    base = sign(KEY, "scenario", "home", timestamp=1, nonce=0, device_id="70:ee:50:3a:1b:2c")
    message = b"scenariohome10" + b"70:ee:50:3a:1b:2c"
    assert (
        base == base64.urlsafe_b64encode(hmac.new(KEY, message, hashlib.sha512).digest()).decode()
    )
    others = {
        sign(KEY, "scenario", "home", timestamp=2, nonce=0, device_id="70:ee:50:3a:1b:2c"),
        sign(KEY, "scenario", "home", timestamp=1, nonce=1, device_id="70:ee:50:3a:1b:2c"),
        sign(KEY, "scenario", "away", timestamp=1, nonce=0, device_id="70:ee:50:3a:1b:2c"),
        sign(KEY, "scenario", "home", timestamp=1, nonce=0, device_id="70:ee:50:3a:1b:2d"),
        sign(bytes(32), "scenario", "home", timestamp=1, nonce=0, device_id="70:ee:50:3a:1b:2c"),
    }
    assert base not in others
    assert len(others) == 5


# ------------------------------------------------------------------------ nonces


def test_sequencer_same_second_continues_and_new_second_restarts() -> None:
    clock = Clock(1_779_484_789.2)
    updates: list[NonceState] = []
    seq = NonceSequencer(clock, on_update=updates.append)
    initial = seq.state  # a local: mypy would keep seq.state narrowed to None below
    assert initial is None
    assert seq.allocate(3) == (1_779_484_789, [0, 1, 2])
    clock.now = 1_779_484_789.9
    assert seq.allocate(1) == (1_779_484_789, [3])
    assert seq.allocate() == (1_779_484_789, [4])
    clock.now = 1_779_484_790.0
    assert seq.allocate(2) == (1_779_484_790, [0, 1])
    assert seq.state == NonceState(1_779_484_790, 2)
    assert updates == [
        NonceState(1_779_484_789, 3),
        NonceState(1_779_484_789, 4),
        NonceState(1_779_484_789, 5),
        NonceState(1_779_484_790, 2),
    ]


def test_sequencer_clock_going_backwards_never_reuses() -> None:
    clock = Clock(1000.5)
    seq = NonceSequencer(clock)
    used: set[tuple[int, int]] = set()

    def take(count: int) -> None:
        timestamp, nonces = seq.allocate(count)
        for nonce in nonces:
            assert (timestamp, nonce) not in used
            used.add((timestamp, nonce))

    take(2)
    clock.now = 990.0  # NTP stepped the clock back
    take(3)
    assert seq.state == NonceState(1000, 5)
    clock.now = 1000.9
    take(1)
    clock.now = 1001.0
    take(1)
    assert seq.state == NonceState(1001, 1)
    assert len(used) == 7


def test_sequencer_restart_never_uses_a_persisted_timestamp() -> None:
    clock = Clock(2000.1)
    first = NonceSequencer(clock)
    first.allocate(2)
    saved = first.state
    assert saved is not None
    # The save was taken here, but more nonces went out before the restart.
    first.allocate(5)

    # Restart within the same second: the next timestamp lies beyond the saved one.
    second = NonceSequencer(clock, last_used=saved)
    assert second.state == NonceState(2000, 0)
    assert second.allocate(1) == (2001, [0])
    # Only the timestamp needs persisting.
    third = NonceSequencer(Clock(1500.0), last_used=saved.timestamp)
    assert third.allocate(2) == (2001, [0, 1])
    assert third.allocate(1) == (2001, [2])
    # A clock well past the persisted timestamp is used as is.
    fourth = NonceSequencer(Clock(3000.7), last_used=2000)
    assert fourth.allocate(1) == (3000, [0])
    # Round trip through JSON-friendly data.
    assert NonceState.from_dict(NonceState(5, 7).as_dict()) == NonceState(5, 7)
    assert NonceSequencer(clock, last_used=NonceState.from_dict({"timestamp": 2100})).allocate(
        1
    ) == (2101, [0])


@pytest.mark.parametrize(
    "data",
    [None, {}, {"timestamp": "1"}, {"timestamp": True}, {"timestamp": 1, "next_nonce": -1}, []],
)
def test_nonce_state_from_bad_data(data: Any) -> None:
    assert NonceState.from_dict(data) is None


def test_sequencer_ignores_a_bool_last_used_and_refuses_bad_counts() -> None:
    seq = NonceSequencer(Clock(10.0), last_used=True)  # a bool (an int to mypy)
    assert seq.state is None
    for count in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="positive"):
            seq.allocate(count)  # type: ignore[arg-type]
    assert seq.state is None


async def test_sequencer_concurrent_coroutines_get_disjoint_pairs() -> None:
    seq = NonceSequencer(Clock(5000.0))
    results: list[tuple[int, list[int]]] = []

    async def command(count: int) -> None:
        pair = seq.allocate(count)
        await asyncio.sleep(0)  # both allocate before either "sends"
        results.append(pair)

    await asyncio.gather(command(2), command(3), command(1))
    pairs = [(timestamp, nonce) for timestamp, nonces in results for nonce in nonces]
    assert len(pairs) == len(set(pairs)) == 6
    assert sorted(nonce for _, nonce in pairs) == [0, 1, 2, 3, 4, 5]
