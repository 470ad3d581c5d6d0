"""Set-up, tokens, polling rhythm, failures, dynamic devices and diagnostics."""

from __future__ import annotations

import base64
from datetime import timedelta
import json
import logging
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed_exact

from custom_components.velux_homely.const import CONF_SCAN_INTERVAL, CONF_TOKEN
from custom_components.velux_homely.diagnostics import async_get_config_entry_diagnostics
from custom_components.velux_homely.netatmo import NetatmoRuntimeData
from custom_components.velux_homely.netatmo.diagnostics import redact_user
from simulator.velux import (
    BLIND_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_ID,
    HOME_ID,
    LIVING_ROOM_ID,
    SHUTTER_ID,
    SMALL_HOME_ID,
    SMALL_SHUTTER_ID,
    USER_ID,
    VeluxSimulator,
)
from tests.helpers import act, current, entry_state, find_device, state_of

from .conftest import SetupEntry, Tick, calls, make_entry, settle
from .entities import BLIND, CABIN_SHUTTER, SHUTTER, WINDOW, cover

HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
NEW_ID = "5636133219200999"


async def test_tokens_are_stored_and_reused(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    assert entry.state is ConfigEntryState.LOADED
    assert velux_sim.password_logins == 1
    token = entry.data[CONF_TOKEN]
    assert set(token) == {"access_token", "refresh_token", "expires_at", "scope"}

    # A restart uses the stored token: no new login (and no "new login" e-mail).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (velux_sim.password_logins, velux_sim.refresh_logins) == (1, 0)

    # A rotated refresh token is stored at once, without a reload.
    velux_sim.expire_access_tokens()
    await tick(60)
    assert velux_sim.refresh_logins == 1
    new = entry.data[CONF_TOKEN]
    assert new["refresh_token"] != token["refresh_token"]
    runtime = entry.runtime_data
    assert isinstance(runtime, NetatmoRuntimeData)
    assert runtime.coordinator.client.token == new
    assert state_of(hass, SHUTTER) == "open"

    # After a restart, an expired access token is refreshed, not replaced by a login.
    velux_sim.expire_access_tokens()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert (velux_sim.password_logins, velux_sim.refresh_logins) == (1, 2)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry_state(entry) is ConfigEntryState.NOT_LOADED


async def test_refused_credentials_start_reauth(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    velux_sim.refuse_refresh = True
    velux_sim.set_password("changed")
    velux_sim.expire_access_tokens()
    await tick(60)

    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["step_id"] == "reauth_confirm"
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE


async def test_refused_credentials_at_setup(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    entry = await setup_entry(make_entry(velux_sim, password="wrong"))
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("fault", ["fail", "rate", "malformed"])
async def test_cloud_trouble_at_setup_retries(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, fault: str
) -> None:
    if fault == "fail":
        velux_sim.fail_next(1, status=503, path=HOMESDATA)
    elif fault == "rate":
        velux_sim.rate_limit_next(1, path=HOMESDATA)
    else:
        velux_sim.malformed_next(1, path=HOMESDATA)
    entry = await setup_entry()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_server_errors_make_entities_unavailable_then_recover(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    # Both homes fail twice (the poll fails), then once more only the home.
    velux_sim.fail_next(5, status=500, path=HOMESTATUS)
    await tick(60)
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE
    await tick(60)
    await tick(60)
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE
    assert state_of(hass, CABIN_SHUTTER) == "closed"
    velux_sim.set_position(SHUTTER_ID, 55)
    await tick(60)
    state = current(hass, SHUTTER)
    assert state is not None
    assert state.state == "open"
    assert state.attributes["current_position"] == 55
    # Logged once when it went away and once when it came back.
    assert caplog.text.count("Error fetching") == 1
    assert caplog.text.count("data recovered") == 1
    assert caplog.text.count("Reading Home of VELUX ACTIVE failed") == 1
    assert caplog.text.count("Home answers again") == 1


async def test_one_home_failing_leaves_the_others_available(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """A share revoked: the cabin answers error 21 for good; the home is not affected."""
    await setup_entry(platforms=(Platform.COVER,))
    velux_sim.revoked_homes.add(SMALL_HOME_ID)
    velux_sim.set_position(SHUTTER_ID, 60)
    await tick(60)
    assert state_of(hass, CABIN_SHUTTER) == STATE_UNAVAILABLE
    state = current(hass, SHUTTER)
    assert state is not None
    assert (state.state, state.attributes["current_position"]) == ("open", 60)
    for _ in range(5):
        await tick(60)
    assert state_of(hass, CABIN_SHUTTER) == STATE_UNAVAILABLE
    velux_sim.revoked_homes.clear()
    await tick(60)
    assert state_of(hass, CABIN_SHUTTER) == "closed"


async def test_a_failing_confirmation_poll_leaves_the_other_home_available(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """The cabin's share is revoked right after a command: only the cabin goes away."""
    await setup_entry(platforms=(Platform.COVER,))
    await tick(20)
    await act(hass, "cover", "open_cover", CABIN_SHUTTER)
    velux_sim.revoked_homes.add(SMALL_HOME_ID)
    seen = len(velux_sim.requests)
    await tick(3)  # the confirmation poll reads the cabin only, and fails
    assert calls(velux_sim, seen) == [f"{HOMESTATUS}:{SMALL_HOME_ID}"]
    assert state_of(hass, CABIN_SHUTTER) == STATE_UNAVAILABLE
    state = current(hass, SHUTTER)
    assert state is not None
    assert (state.state, state.attributes["current_position"]) == ("open", 100)
    # Its movement is not followed any more (no read every few seconds of a home that
    # fails); the next normal poll reads both homes: the home's news shows, the cabin
    # stays away.
    velux_sim.set_position(SHUTTER_ID, 60)
    seen = len(velux_sim.requests)
    for _ in range(40):
        await tick(1)
    assert calls(velux_sim, seen) == [f"{HOMESTATUS}:{HOME_ID}", f"{HOMESTATUS}:{SMALL_HOME_ID}"]
    state = current(hass, SHUTTER)
    assert state is not None
    assert (state.state, state.attributes["current_position"]) == ("open", 60)
    assert state_of(hass, CABIN_SHUTTER) == STATE_UNAVAILABLE


async def test_rate_limit_keeps_values_and_backs_off(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    await act(hass, "cover", "set_cover_position", SHUTTER, position=40)
    assert state_of(hass, SHUTTER) == "closing"
    # "Concurrency limit" (code 11) hints at 60 s: we wait at least 5 minutes.
    velux_sim.rate_limit_next(2, kind="error11", path=HOMESTATUS)
    polls = velux_sim.count(HOMESTATUS)

    # The quick poll is refused: values stay, quick polls stop, next poll in 5 minutes.
    await tick(3)
    assert velux_sim.count(HOMESTATUS) == polls + 1
    assert state_of(hass, SHUTTER) == "closing"
    for _ in range(9):
        await tick(30)
    assert velux_sim.count(HOMESTATUS) == polls + 1
    await tick(30)
    assert velux_sim.count(HOMESTATUS) == polls + 2
    assert state_of(hass, SHUTTER) == "closing"  # still the last known values

    # Refused again: 10 minutes this time.
    await tick(300)
    assert velux_sim.count(HOMESTATUS) == polls + 2
    await tick(300)
    assert velux_sim.count(HOMESTATUS) == polls + 4
    state = current(hass, SHUTTER)
    assert state is not None
    assert (state.state, state.attributes["current_position"]) == ("open", 40)

    # Back to the normal interval.
    await tick(60)
    assert velux_sim.count(HOMESTATUS) == polls + 6
    assert caplog.text.count("limits the requests") == 1
    assert caplog.text.count("answers again") == 1


async def test_command_while_backing_off_waits_for_the_next_poll(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    velux_sim.rate_limit_next(1, kind="error11", path=HOMESTATUS)
    await tick(60)  # refused: next poll in 5 minutes
    seen = len(velux_sim.requests)

    # The command is sent and its target shows at once, but nothing is polled for it.
    await act(hass, "cover", "set_cover_position", SHUTTER, position=40)
    assert calls(velux_sim, seen) == [SETSTATE]
    assert state_of(hass, SHUTTER) == "closing"
    runtime = entry.runtime_data
    assert isinstance(runtime, NetatmoRuntimeData)
    assert not runtime.coordinator.confirming
    for _ in range(5):
        await tick(3)
    await tick(300 - 5 * 3 - 10)
    assert calls(velux_sim, seen) == [SETSTATE]
    assert state_of(hass, SHUTTER) == "closing"

    # The poll at the back-off time reads every home and confirms the movement.
    await tick(10)
    assert calls(velux_sim, seen) == [
        SETSTATE,
        f"{HOMESTATUS}:{HOME_ID}",
        f"{HOMESTATUS}:{SMALL_HOME_ID}",
    ]
    state = current(hass, SHUTTER)
    assert state is not None
    assert (state.state, state.attributes["current_position"]) == ("open", 40)
    assert runtime.coordinator.rate_limited_count == 0
    assert runtime.coordinator.update_interval == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("kind", "retry_after", "wait"),
    [("http429", 1200, 1200), ("http429", None, 900), ("error26", None, 900)],
)
async def test_retry_hint_is_honoured(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    kind: str,
    retry_after: int | None,
    wait: int,
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    velux_sim.rate_limit_next(1, kind=kind, path=HOMESTATUS, retry_after=retry_after)
    await tick(60)
    polls = velux_sim.count(HOMESTATUS)
    await tick(wait - 10)
    assert velux_sim.count(HOMESTATUS) == polls
    await tick(10)
    assert velux_sim.count(HOMESTATUS) == polls + 2
    assert state_of(hass, SHUTTER) == "open"


async def test_topology_every_30_minutes_adds_and_removes_devices(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    await setup_entry()
    assert velux_sim.count(HOMESDATA) == 1
    velux_sim.add_module(
        HOME_ID,
        {
            "id": NEW_ID,
            "type": "NXO",
            "name": "New shutter",
            "bridge": GATEWAY_ID,
            "room_id": LIVING_ROOM_ID,
            "velux_type": "venetian_blind",
        },
        {"current_position": 30},
    )
    velux_sim.remove_module(BLIND_ID)
    for _ in range(29):
        await tick(60)
    assert velux_sim.count(HOMESDATA) == 1
    assert current(hass, cover(NEW_ID)) is None
    assert find_device(hass, BLIND_ID) is not None

    await tick(60)
    assert velux_sim.count(HOMESDATA) == 2
    state = current(hass, cover(NEW_ID))
    assert state is not None
    assert (state.state, state.attributes["current_position"]) == ("open", 30)
    assert state.attributes["device_class"] == "blind"
    device = find_device(hass, NEW_ID)
    assert device is not None
    assert device.model == "Venetian blind"
    assert find_device(hass, BLIND_ID) is None
    assert not BLIND.registered(hass)
    assert current(hass, BLIND) is None


async def cabin_listed_bare(velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick) -> None:
    """Set up, then let the 30-minute topology read list the cabin without its modules."""
    await setup_entry()
    velux_sim.bare_homes.add(SMALL_HOME_ID)
    for _ in range(30):
        await tick(60)


async def test_a_home_listed_without_its_modules_once_keeps_its_devices(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    """A topology answer that lists the cabin without its modules is a partial answer:
    the cabin's devices stay (and show the cabin's state); only when the next topology
    read agrees is the cabin gone."""
    await cabin_listed_bare(velux_sim, setup_entry, tick)
    assert velux_sim.count(HOMESDATA) == 2
    assert find_device(hass, SMALL_SHUTTER_ID) is not None
    assert state_of(hass, CABIN_SHUTTER) == "closed"  # as the cabin reports
    # read again at the next poll: still bare, the cabin is gone
    await tick(60)
    assert velux_sim.count(HOMESDATA) == 3
    assert find_device(hass, SMALL_SHUTTER_ID) is None
    assert current(hass, CABIN_SHUTTER) is None
    assert state_of(hass, SHUTTER) == "open"


async def test_a_kept_home_stays_while_the_topology_read_that_would_confirm_it_fails(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await cabin_listed_bare(velux_sim, setup_entry, tick)
    velux_sim.fail_next(1, status=500, path=HOMESDATA)
    await tick(60)
    assert velux_sim.count(HOMESDATA) == 3  # the failed one
    assert find_device(hass, SMALL_SHUTTER_ID) is not None
    assert state_of(hass, CABIN_SHUTTER) == "closed"


async def test_a_home_listed_bare_once_then_whole_again_is_kept(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    await cabin_listed_bare(velux_sim, setup_entry, tick)
    velux_sim.bare_homes.clear()
    await tick(60)
    assert velux_sim.count(HOMESDATA) == 3
    assert find_device(hass, SMALL_SHUTTER_ID) is not None
    assert state_of(hass, CABIN_SHUTTER) == "closed"  # as the cabin reports
    # and the topology is read every 30 minutes again
    for _ in range(29):
        await tick(60)
    assert velux_sim.count(HOMESDATA) == 3


async def test_topology_is_not_postponed_by_scheduling_jitter(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # Set up 0.95 s past a whole second. Home Assistant starts polls at a whole second
    # plus at most 0.5 s: each one starts some 0.5 s "early" against the set-up time.
    freezer.tick(timedelta(seconds=(0.95 - time.time()) % 1))
    await setup_entry(platforms=(Platform.COVER,))
    start = time.time()

    async def run_until(elapsed: float) -> None:
        # Timers run at their time, like in a running event loop.
        while time.time() - start < elapsed:
            freezer.tick(timedelta(seconds=0.25))
            async_fire_time_changed_exact(hass)
            await settle(hass)

    await run_until(29 * 60 + 30)
    assert velux_sim.count(HOMESDATA) == 1
    await run_until(30 * 60 + 1)
    assert velux_sim.count(HOMESDATA) == 2  # at the 30th poll, not the 31st


async def test_options_change_the_poll_interval(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 120, "open_in_rain": False}
    )
    assert entry.options == {CONF_SCAN_INTERVAL: 120, "open_in_rain": False}
    await hass.async_block_till_done()
    polls = velux_sim.count(HOMESTATUS)
    await tick(60)
    assert velux_sim.count(HOMESTATUS) == polls
    await tick(60)
    assert velux_sim.count(HOMESTATUS) == polls + 2


async def test_homes_without_gateway_are_ignored(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.add_home("5e1f2a3b4c5d6e7f80901a2d", "Empty")
    await setup_entry(platforms=(Platform.COVER,))
    assert velux_sim.count(HOMESTATUS) == 2
    assert [r.form["home_id"] for r in velux_sim.requests if r.path == HOMESTATUS] == [
        HOME_ID,
        "5e1f2a3b4c5d6e7f80901a2c",
    ]


async def test_diagnostics_hold_no_secret(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    key_id = velux_sim.add_signing_key(GATEWAY_ID, bytes(range(100, 116)), bytes(range(32)))
    hash_sign_key = base64.b64encode(bytes(range(32))).decode()
    entry = await setup_entry(
        make_entry(
            velux_sim,
            signing_keys={GATEWAY_ID: {"sign_key_id": key_id, "hash_sign_key": hash_sign_key}},
        ),
        platforms=(Platform.COVER,),
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["runtime"]["signing_keys"] == [GATEWAY_ID]
    runtime = diagnostics["runtime"]
    assert runtime["coordinator"]["last_update_success"] is True
    assert runtime["coordinator"]["update_interval"] == 60
    assert runtime["coordinator"]["homesdata"]["body"]["homes"][0]["id"] == HOME_ID
    assert runtime["coordinator"]["homestatus"][HOME_ID]["body"]["home"]["id"] == HOME_ID
    # The user block: who the account is (id, e-mail, country) is redacted; settings
    # that explain how values are shown are kept.
    assert runtime["coordinator"]["homesdata"]["body"]["user"] == {
        "id": "**REDACTED**",
        "email": "**REDACTED**",
        "country": "**REDACTED**",
        "language": "en-US",
        "locale": "en-GB",
        "feel_like_algorithm": 0,
        "unit_pressure": 0,
        "unit_system": 0,
        "unit_wind": 0,
    }
    assert runtime["coordinator"]["homesdata"]["body"]["homes"][0]["coordinates"] == (
        "**REDACTED**"
    )
    text = json.dumps(diagnostics)
    token = entry.data[CONF_TOKEN]
    for secret in (
        DEMO_PASSWORD,
        DEMO_USERNAME,
        token["access_token"],
        token["refresh_token"],
        key_id,
        hash_sign_key,
        entry.data["signing_keys"][GATEWAY_ID]["hash_sign_key"],
        USER_ID,
    ):
        assert secret not in text
    assert "55.68" not in text  # home coordinates


@pytest.mark.parametrize(
    "homes_data",
    [None, {"status": "ok"}, {"body": None}, {"body": {"homes": []}}, {"body": {"user": "x"}}],
)
def test_diagnostics_of_homesdata_without_a_user_block(homes_data: Any) -> None:
    assert redact_user(homes_data) == homes_data


async def test_no_secret_in_debug_logs(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = bytes(range(32))
    key_id = velux_sim.add_signing_key(GATEWAY_ID, bytes(range(100, 116)), key)
    entry = await setup_entry(
        make_entry(
            velux_sim,
            signing_keys={
                GATEWAY_ID: {"sign_key_id": key_id, "hash_sign_key": base64.b64encode(key).decode()}
            },
        ),
        platforms=(Platform.COVER,),
    )
    await act(hass, "cover", "open_cover", WINDOW)
    signature = velux_sim.setstate_bodies[-1]["home"]["modules"][0]["hash_target_position"]
    first = dict(entry.data[CONF_TOKEN])
    velux_sim.expire_access_tokens()
    await tick(60)
    second = dict(entry.data[CONF_TOKEN])
    await act(hass, "cover", "close_cover", SHUTTER)
    assert "Finished fetching" in caplog.text
    for secret in (
        DEMO_PASSWORD,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
        key_id,
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        signature,
    ):
        assert secret.split("|")[-1] not in caplog.text
