"""Parsing of Homely documents and events: lenient, typed, stale changes dropped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.velux_homely.api.errors import InvalidResponseError
from custom_components.velux_homely.api.homely_models import (
    AlarmStateChanged,
    DeviceStateChanged,
    HomelyChange,
    HomelyDevice,
    HomelyHome,
    HomelyState,
    MalformedEventError,
    UnknownEventError,
    parse_event,
    parse_locations,
    parse_timestamp,
)

T1 = "2026-01-14T09:00:00.000Z"
T2 = "2026-01-14T10:00:00.000Z"


def _home(**extra: Any) -> dict[str, Any]:
    return {
        "locationId": "loc",
        "gatewayserial": "GW",
        "name": "Home",
        "alarmState": "DISARMED",
        "userRoleAtLocation": "ADMIN",
        "devices": [
            {
                "id": "dev",
                "name": "Motion",
                "serialNumber": "SN",
                "location": "Floor 1 - Entrance",
                "online": True,
                "modelId": "m",
                "modelName": "Motion Sensor Mini",
                "features": {
                    "alarm": {"states": {"alarm": {"value": False, "lastUpdated": T2}}},
                    "temperature": {
                        "states": {"temperature": {"value": None, "lastUpdated": None}}
                    },
                    "broken": "not an object",
                    "nostates": {"states": []},
                },
            },
            {"name": "no id"},
            "not a device",
        ],
        **extra,
    }


def test_timestamps() -> None:
    assert parse_timestamp(T1) == datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert parse_timestamp("2026-01-14T09:00:00") == datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert parse_timestamp(1_768_381_200) == datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert parse_timestamp(1_768_381_200_000) == datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert parse_timestamp(10**20) is None
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(None) is None
    assert parse_timestamp(True) is None
    assert parse_timestamp("") is None


def test_locations() -> None:
    locations = parse_locations(
        [
            {
                "name": "Home",
                "role": "ADMIN",
                "userId": "u",
                "locationId": "loc",
                "gatewayserial": "GW",
            },
            {"locationId": "loc2"},
        ]
    )
    assert locations[0].name == "Home"
    assert locations[0].user_id == "u"
    assert locations[0].gateway_serial == "GW"
    assert locations[1].name == "loc2"
    assert locations[1].role is None
    with pytest.raises(InvalidResponseError):
        parse_locations({"locationId": "x"})
    with pytest.raises(InvalidResponseError):
        parse_locations(["x"])
    with pytest.raises(InvalidResponseError):
        parse_locations([{"name": "no id"}])


def test_home_is_lenient() -> None:
    home = HomelyHome.from_api(_home())
    assert list(home.devices) == ["dev"]
    device = home.devices["dev"]
    assert device.value("alarm", "alarm") is False
    assert device.state("alarm", "alarm") == HomelyState(False, parse_timestamp(T2))
    # null value and null stamp: unknown, not zero
    assert device.has("temperature", "temperature")
    assert device.value("temperature", "temperature") is None
    assert device.state("temperature", "temperature") == HomelyState(None, None)
    assert device.value("battery", "low") is None
    assert not device.has("broken", "x")
    assert "nostates" not in device.features
    with pytest.raises(InvalidResponseError):
        HomelyHome.from_api([])
    with pytest.raises(InvalidResponseError):
        HomelyHome.from_api({"devices": []})
    with pytest.raises(InvalidResponseError):
        HomelyDevice.from_api("x")


def test_device_defaults() -> None:
    device = HomelyDevice.from_api(
        {"id": "d", "online": "yes", "features": [], "name": 5, "location": None}
    )
    assert device.online is True
    assert device.name == "d"
    assert device.location == ""
    assert device.features == {}
    assert HomelyState.from_api("x") == HomelyState(None, None)
    odd = HomelyState.from_api({"value": [1, 2], "lastUpdated": 5})
    assert odd.value is None


def _device_event(*changes: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {
        "type": "device-state-changed",
        "data": {
            "deviceId": "dev",
            "locationId": "sub",
            "rootLocationId": "loc",
            "changes": list(changes),
            **data,
        },
    }


def test_device_event_and_stale_changes() -> None:
    home = HomelyHome.from_api(_home())
    event = parse_event(
        _device_event(
            {"feature": "alarm", "stateName": "alarm", "value": True, "lastUpdated": T1},
            {
                "feature": "temperature",
                "stateName": "temperature",
                "value": 21.5,
                "lastUpdated": T1,
            },
        )
    )
    assert isinstance(event, DeviceStateChanged)
    assert event.location_candidates == ("loc", "sub")
    updated = home.with_device_changes(event)
    assert updated is not None
    device = updated.devices["dev"]
    # alarm change is older than the state held (T2): dropped; temperature applied
    assert device.value("alarm", "alarm") is False
    assert device.value("temperature", "temperature") == 21.5
    # the original home is untouched (frozen data)
    assert home.devices["dev"].value("temperature", "temperature") is None

    stale = parse_event(
        _device_event({"feature": "alarm", "stateName": "alarm", "value": True, "lastUpdated": T1})
    )
    assert isinstance(stale, DeviceStateChanged)
    assert home.with_device_changes(stale) is None

    new_state = parse_event(
        _device_event({"feature": "battery", "stateName": "low", "value": True, "lastUpdated": T2})
    )
    assert isinstance(new_state, DeviceStateChanged)
    added = home.with_device_changes(new_state)
    assert added is not None
    assert added.devices["dev"].value("battery", "low") is True

    unknown_device = parse_event(
        {
            "type": "device-state-changed",
            "data": {
                "deviceId": "other",
                "change": {"feature": "a", "stateName": "b", "value": 1, "lastUpdated": None},
            },
        }
    )
    assert isinstance(unknown_device, DeviceStateChanged)
    assert unknown_device.changes == (
        HomelyChange(feature="a", state_name="b", value=1, last_updated=None),
    )
    assert unknown_device.location_candidates == ()
    assert home.with_device_changes(unknown_device) is None


def test_alarm_event() -> None:
    home = HomelyHome.from_api(_home())
    event = parse_event(
        {
            "type": "alarm-state-changed",
            "payload": {
                "locationId": "loc",
                "state": "ARMED_AWAY",
                "userId": "u",
                "userName": "Kari",
                "timestamp": T2,
            },
        }
    )
    assert isinstance(event, AlarmStateChanged)
    armed = home.with_alarm_change(event)
    assert armed is not None
    assert (armed.alarm_state, armed.alarm_changed_by) == ("ARMED_AWAY", "Kari")
    older = AlarmStateChanged(
        location_id="loc",
        state="DISARMED",
        user_id=None,
        user_name=None,
        timestamp=parse_timestamp(T1),
    )
    assert armed.with_alarm_change(older) is None
    # a resync keeps who/when while the state is the same, drops them when it changed
    same = HomelyHome.from_api(_home(alarmState="ARMED_AWAY")).merged_with(armed)
    assert same.alarm_changed_by == "Kari"
    other = HomelyHome.from_api(_home()).merged_with(armed)
    assert other.alarm_changed_by is None
    assert HomelyHome.from_api(_home()).merged_with(None).alarm_changed_at is None


@pytest.mark.parametrize(
    "payload",
    [
        "text",
        {"data": {}},
        {"type": "device-state-changed"},
        {"type": "device-state-changed", "data": {"changes": []}},
        {"type": "device-state-changed", "data": {"deviceId": "d", "changes": []}},
        {
            "type": "device-state-changed",
            "data": {"deviceId": "d", "changes": ["x", {"feature": ""}]},
        },
        {"type": "device-state-changed", "data": {"deviceId": "d", "changes": [{"feature": "a"}]}},
        {"type": "alarm-state-changed", "data": None},
        {"type": "alarm-state-changed", "data": {"state": ""}},
    ],
)
def test_malformed_events(payload: Any) -> None:
    with pytest.raises(MalformedEventError):
        parse_event(payload)


def test_unknown_event_type() -> None:
    with pytest.raises(UnknownEventError):
        parse_event({"type": "device-added", "data": {}})


@pytest.mark.parametrize("devices", ["missing", None, {"id": "dev"}, "dev"])
def test_home_without_a_devices_list_is_invalid(devices: Any) -> None:
    raw = _home()
    if devices == "missing":
        del raw["devices"]
    else:
        raw["devices"] = devices
    with pytest.raises(InvalidResponseError, match="devices"):
        HomelyHome.from_api(raw)
    # an empty list is a home without devices
    assert HomelyHome.from_api(_home(devices=[])).devices == {}


T3 = "2026-01-14T11:00:00.000Z"


def _change(feature: str, state: str, value: Any, stamp: str | None) -> dict[str, Any]:
    return {"feature": feature, "stateName": state, "value": value, "lastUpdated": stamp}


def test_resync_keeps_states_newer_than_the_read() -> None:
    held = HomelyHome.from_api(_home())
    # live events applied while the read was under way
    event = parse_event(
        _device_event(
            _change("alarm", "alarm", True, T3),  # newer than the read's T2
            _change("temperature", "temperature", 21.5, T1),  # the read has no stamp
            _change("battery", "low", True, T3),  # a state the read does not have
        )
    )
    assert isinstance(event, DeviceStateChanged)
    live = held.with_device_changes(event)
    assert live is not None
    fetched = HomelyHome.from_api(_home())
    merged = fetched.merged_with(live)
    device = merged.devices["dev"]
    assert device.state("alarm", "alarm") == HomelyState(True, parse_timestamp(T3))
    assert device.state("temperature", "temperature") == HomelyState(21.5, parse_timestamp(T1))
    # the read decides which states exist
    assert not device.has("battery", "low")
    # the read is newer: it wins
    newer = _home()
    newer["devices"][0]["features"]["alarm"]["states"]["alarm"] = {
        "value": False,
        "lastUpdated": "2026-01-14T12:00:00.000Z",
    }
    assert (
        HomelyHome.from_api(newer).merged_with(live).devices["dev"].value("alarm", "alarm") is False
    )
    # a tie goes to the read; an undated held state loses to a dated read
    tie = parse_event(
        _device_event(
            _change("alarm", "alarm", True, T2), _change("temperature", "temperature", 5, None)
        )
    )
    assert isinstance(tie, DeviceStateChanged)
    tied = held.with_device_changes(tie)
    assert tied is not None
    fresh = HomelyHome.from_api(_home())
    fresh_temp = _home()
    fresh_temp["devices"][0]["features"]["temperature"]["states"]["temperature"] = {
        "value": 19,
        "lastUpdated": T1,
    }
    assert fresh.merged_with(tied).devices["dev"].value("alarm", "alarm") is False
    merged_temp = HomelyHome.from_api(fresh_temp).merged_with(tied).devices["dev"]
    assert merged_temp.value("temperature", "temperature") == 19
    # nothing newer held: the read's device objects are used as they are
    assert fresh.merged_with(held).devices["dev"] is fresh.devices["dev"]
    # devices the read does not list are gone, new ones come
    gone = HomelyHome.from_api(_home(devices=[{"id": "other", "name": "Other"}]))
    assert list(gone.merged_with(live).devices) == ["other"]


def test_resync_keeps_an_alarm_event_applied_after_the_request() -> None:
    held = HomelyHome.from_api(_home())
    event = AlarmStateChanged(
        location_id="loc",
        state="ARMED_AWAY",
        user_id="u",
        user_name="Kari",
        timestamp=parse_timestamp(T3),
    )
    armed = held.with_alarm_change(event)
    assert armed is not None
    fetched = HomelyHome.from_api(_home())  # requested before the event: DISARMED
    kept = fetched.merged_with(armed, keep_alarm_state=True)
    assert (kept.alarm_state, kept.alarm_changed_by) == ("ARMED_AWAY", "Kari")
    assert kept.alarm_changed_at == parse_timestamp(T3)
    # the event came before the request: the read wins
    replaced = fetched.merged_with(armed)
    assert (replaced.alarm_state, replaced.alarm_changed_by) == ("DISARMED", None)


def test_a_partial_read_neither_drops_nor_blanks_a_device() -> None:
    """Entries without an id, or a known device without its states, are a partial answer."""
    held = HomelyHome.from_api(_home(devices=[*_home()["devices"][:1], {"id": "other"}]))
    assert held.unidentified == 0
    # the read lists "other" by its id only, and "dev" without an id: nothing is dropped
    dev = {key: value for key, value in _home()["devices"][0].items() if key != "id"}
    partial = HomelyHome.from_api(_home(devices=[{"id": "other"}, dev]))
    assert partial.unidentified == 1
    merged = partial.merged_with(held)
    assert list(merged.devices) == ["other", "dev"]
    assert merged.devices["dev"] is held.devices["dev"]
    # a known device without states keeps what is held (name and states)
    bare = HomelyHome.from_api(_home(devices=[{"id": "dev"}]))
    assert bare.merged_with(held).devices["dev"] is held.devices["dev"]
    # a complete read decides: "other" is gone
    complete = HomelyHome.from_api(_home(devices=_home()["devices"][:1]))
    assert list(complete.merged_with(merged).devices) == ["dev"]
