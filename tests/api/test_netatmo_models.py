"""Parsing of homesdata / homestatus tolerates missing and odd values."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.velux_homely.api.errors import InvalidResponseError
from custom_components.velux_homely.api.netatmo_models import (
    GatewayStatus,
    HomesData,
    HomeStatus,
    ModuleStatus,
    OpenerStatus,
    StatusError,
    tenths_to_celsius,
)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"status": "ok"},
        {"status": "ok", "body": []},
        {"status": "ok", "body": {}},
        {"status": "ok", "body": {"user": {"email": "a@b.example"}}},
        {"status": "ok", "body": {"homes": None}},
        {"status": "ok", "body": {"homes": {"id": "h1"}}},
    ],
)
def test_homesdata_without_a_list_of_homes_is_refused(payload: dict[str, Any]) -> None:
    # Read as "no homes", such an answer would remove every device of the account.
    with pytest.raises(InvalidResponseError, match="no list of homes"):
        HomesData.from_api(payload)


def test_empty_answers() -> None:
    assert HomesData.from_api({"body": {"homes": []}}) == HomesData()
    status = HomeStatus.from_api({"body": {"home": "x"}}, "h1")
    assert (status.home_id, dict(status.modules), dict(status.rooms), status.errors) == (
        "h1",
        {},
        {},
        (),
    )


def test_odd_values_are_dropped() -> None:
    payload: dict[str, Any] = {
        "body": {
            "homes": [
                {"id": "h1", "modules": [{"id": "m1"}, {"no": "id"}, "junk"], "rooms": None},
                {"id": 5},
            ],
            "user": {"mail": "A@B.example", "_id": "u1"},
        }
    }
    homes = HomesData.from_api(payload)
    assert homes.user_email == "A@B.example"
    assert homes.user_id == "u1"
    assert len(homes.homes) == 1
    home = homes.homes[0]
    assert home.rooms == ()
    assert home.modules[0].type == ""
    assert home.modules[0].modules_bridged == ()
    assert home.room(None) is None


def test_status_types_and_errors() -> None:
    payload: dict[str, Any] = {
        "body": {
            "home": {
                "id": "h1",
                "modules": [
                    {"id": "g", "type": "NXG", "reachable": False, "pairing": 3},
                    {
                        "id": "o",
                        "type": "NXO",
                        "current_position": 30.0,
                        "target_position": True,
                        "silent": "no",
                    },
                    {"id": "x", "type": "NXZ", "reachable": True, "firmware_revision": 7},
                ],
                "rooms": [{"id": "r", "temperature": -5}],
            },
            "errors": [{"id": "o", "code": 6}, {"id": "g"}],
        }
    }
    status = HomeStatus.from_api(payload, "ignored")
    assert status.home_id == "h1"
    gateway = status.gateway("g")
    assert isinstance(gateway, GatewayStatus)
    assert gateway.reachable is False
    assert gateway.pairing is None
    assert gateway.firmware is None
    opener = status.opener("o")
    assert isinstance(opener, OpenerStatus)
    assert (opener.current_position, opener.target_position, opener.silent) == (30, None, None)
    assert opener.is_moving is False
    other = status.modules["x"]
    assert type(other) is ModuleStatus
    assert (other.reachable, other.firmware_revision) == (True, 7)
    assert status.errors == (StatusError(id="o", code=6), StatusError(id="g", code=0))
    assert status.rooms["r"].temperature == -0.5
    assert status.rooms["r"].humidity is None
    assert tenths_to_celsius(None) is None
    assert tenths_to_celsius(249) == 24.9


def test_moving_opener() -> None:
    opener = OpenerStatus.from_api(
        {"id": "o", "type": "NXO", "current_position": 10, "target_position": 60}
    )
    assert opener.is_moving is True
    stopping = OpenerStatus.from_api(
        {"id": "o", "type": "NXO", "current_position": 10, "target_position": -1}
    )
    assert stopping.is_moving is False
