"""Odd answers of the cloud: nothing of the user's set-up is lost, nothing waits for the user.

* a ``homesdata`` answer without its list of homes, or with an empty list, removes no
  device (nor the user's names, areas and disabled entities);
* a failing token endpoint (maintenance page, ``invalid_request``) is retried, it does
  not ask the user to sign in again;
* a rate limit met during set-up is respected by Home Assistant's set-up retries;
* a failure right after a rate limit keeps the long poll interval;
* a command failure with an odd error code gives the translated error.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.velux_homely.const import CONF_TOKEN, DOMAIN
from custom_components.velux_homely.netatmo.rate_limit import async_get_rate_limit
from simulator.velux import GATEWAY_ID, HOME_ID, SHUTTER_ID, SMALL_HOME_ID, VeluxSimulator
from tests.helpers import act, entry_contents, entry_state, find_device, state_of

from .conftest import SetupEntry, Tick, calls, make_entry, runtime_of, settle
from .entities import SHUTTER

TOKEN = "/oauth2/token"
HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
RAIN_UNIQUE_ID = f"{GATEWAY_ID}_rain"
READ_ALL = [HOMESDATA, f"{HOMESTATUS}:{HOME_ID}", f"{HOMESTATUS}:{SMALL_HOME_ID}"]
MAINTENANCE_PAGE = "<html><body><h1>403 Forbidden</h1>Back soon</body></html>"


async def customise(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    area_registry: ar.AreaRegistry,
) -> None:
    """Do what users do: rename a device, put it in an area, disable an entity."""
    device = find_device(hass, SHUTTER_ID)
    assert device is not None
    kitchen = area_registry.async_create("Kitchen")
    device_registry.async_update_device(
        device.id, name_by_user="Kitchen shutter", area_id=kitchen.id
    )
    entity_id = entity_registry.async_get_entity_id("binary_sensor", DOMAIN, RAIN_UNIQUE_ID)
    assert entity_id is not None
    entity_registry.async_update_entity(entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.async_block_till_done()


def assert_customisation_kept(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, entity_registry: er.EntityRegistry
) -> None:
    device = find_device(hass, SHUTTER_ID)
    assert device is not None
    assert device.name_by_user == "Kitchen shutter"
    entity_id = entity_registry.async_get_entity_id("binary_sensor", DOMAIN, RAIN_UNIQUE_ID)
    assert entity_id is not None
    entry = entity_registry.async_get(entity_id)
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.USER


async def until_topology_read(tick: Tick, sim: VeluxSimulator) -> None:
    """Run the polls until the next homesdata read (every 30 minutes)."""
    reads = sim.count(HOMESDATA)
    for _ in range(30):
        await tick(60)
        if sim.count(HOMESDATA) > reads:
            return
    raise AssertionError("homesdata was not read again")


# --------------------------------------------------------------------- homesdata


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "ok", "body": {}},
        {"status": "ok"},
        {"status": "ok", "body": {"homes": None, "user": {"email": "demo@velux.example"}}},
    ],
    ids=["empty_body", "no_body", "homes_null"],
)
async def test_homesdata_without_homes_keeps_every_device(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    area_registry: ar.AreaRegistry,
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any],
) -> None:
    entry = await setup_entry()
    await customise(hass, device_registry, entity_registry, area_registry)
    before = entry_contents(hass, entry)
    coordinator = runtime_of(entry).coordinator

    # The answer is refused: the topology and every device stay, and the homes are
    # read with the topology known (their entities stay available).
    velux_sim.reply_next(1, payload=payload, path=HOMESDATA)
    seen = len(velux_sim.requests)
    await until_topology_read(tick, velux_sim)
    assert calls(velux_sim, seen)[-3:] == READ_ALL
    assert coordinator.last_update_success
    assert "no list of homes" in caplog.text
    assert state_of(hass, SHUTTER) == "open"
    assert coordinator.homes_data is not None
    assert [home.id for home in coordinator.homes_data.homes] == [HOME_ID, SMALL_HOME_ID]
    assert entry_contents(hass, entry) == before
    assert_customisation_kept(hass, device_registry, entity_registry)

    # The topology is read again 5 minutes later (not at every poll).
    seen = len(velux_sim.requests)
    for _ in range(4):
        await tick(60)
    assert HOMESDATA not in calls(velux_sim, seen)
    await tick(60)
    assert calls(velux_sim, seen).count(HOMESDATA) == 1
    assert entry_contents(hass, entry) == before
    assert_customisation_kept(hass, device_registry, entity_registry)


async def test_homesdata_with_no_homes_keeps_every_device(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    area_registry: ar.AreaRegistry,
) -> None:
    entry = await setup_entry()
    await customise(hass, device_registry, entity_registry, area_registry)
    before = entry_contents(hass, entry)

    # A valid but empty answer: the devices are kept (an account never empties itself
    # between two reads), the entities have no value meanwhile.
    velux_sim.reply_next(
        1, payload={"status": "ok", "body": {"homes": [], "user": {}}}, path=HOMESDATA
    )
    seen = len(velux_sim.requests)
    await until_topology_read(tick, velux_sim)
    assert calls(velux_sim, seen)[-1] == HOMESDATA
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE
    after = entry_contents(hass, entry)
    assert after["devices"] == before["devices"]
    assert after["entities"].keys() == before["entities"].keys()
    assert_customisation_kept(hass, device_registry, entity_registry)

    # The topology is read again at the next poll, not in 30 minutes.
    seen = len(velux_sim.requests)
    await tick(60)
    assert calls(velux_sim, seen) == READ_ALL
    assert entry_contents(hass, entry) == before
    seen = len(velux_sim.requests)
    await tick(60)
    assert calls(velux_sim, seen) == READ_ALL[1:]


# -------------------------------------------------------------------- token endpoint


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (403, MAINTENANCE_PAGE),
        (404, "<html><body>Not found</body></html>"),
        (400, {"error": "invalid_request"}),
    ],
)
async def test_token_endpoint_trouble_at_setup_is_retried(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    status: int,
    payload: Any,
) -> None:
    velux_sim.reply_next(1, payload=payload, status=status, path=TOKEN)
    entry = await setup_entry(platforms=(Platform.COVER,))
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert hass.config_entries.flow.async_progress() == []  # no "sign in again"

    # Home Assistant retries the set-up by itself, and it works.
    await tick(15)
    assert entry_state(entry) is ConfigEntryState.LOADED
    assert state_of(hass, SHUTTER) == "open"
    assert velux_sim.password_logins == 1


async def test_token_endpoint_trouble_during_refresh_is_retried(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    velux_sim.expire_access_tokens()
    velux_sim.reply_next(1, payload=MAINTENANCE_PAGE, status=403, path=TOKEN)
    seen = len(velux_sim.requests)
    await tick(60)
    assert calls(velux_sim, seen) == [HOMESTATUS + f":{HOME_ID}", TOKEN]
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE
    assert entry.state is ConfigEntryState.LOADED
    assert hass.config_entries.flow.async_progress() == []

    # The next poll refreshes the token (no password login, no "new login" e-mail).
    await tick(60)
    assert state_of(hass, SHUTTER) == "open"
    assert (velux_sim.password_logins, velux_sim.refresh_logins) == (1, 1)
    assert hass.config_entries.flow.async_progress() == []


# ------------------------------------------------------------ rate limit at set-up


async def test_rate_limit_at_setup_is_respected_by_the_retries(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # "Concurrency limit" hints at 60 s: the back-off is 5 minutes, then 10.
    velux_sim.rate_limit_next(2, kind="error11", path=HOMESDATA)
    entry = await setup_entry(platforms=(Platform.COVER,))
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert "limiting requests" in entry.reason
    assert calls(velux_sim) == [TOKEN, HOMESDATA]
    assert entry.data[CONF_TOKEN]

    # Home Assistant retries the set-up (after 10, 30, 70, 150, 230 s) without a
    # single request to the cloud.
    caplog.clear()
    for _ in range(29):
        await tick(10)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert calls(velux_sim) == [TOKEN, HOMESDATA]
    assert caplog.text.count("not asking the cloud yet") >= 4
    assert "limiting requests" in (entry.reason or "")

    # The first retry after 5 minutes asks again and is refused again: 10 minutes now.
    for _ in range(3):
        await tick(10)
    assert calls(velux_sim) == [TOKEN, HOMESDATA, HOMESDATA]
    assert entry.state is ConfigEntryState.SETUP_RETRY
    limit = async_get_rate_limit(hass, entry.entry_id)
    assert limit is not None
    assert (limit.count, limit.backoff.total_seconds()) == (2, 600)
    for _ in range(58):
        await tick(10)
    assert calls(velux_sim) == [TOKEN, HOMESDATA, HOMESDATA]

    # Then the next retry (when it falls due: releases space them differently, at most
    # 10 minutes apart) works, with the stored token, and the memory is gone.
    for _ in range(60):
        if entry_state(entry) is ConfigEntryState.LOADED:
            break
        await tick(10)
    assert entry_state(entry) is ConfigEntryState.LOADED
    assert calls(velux_sim)[:6] == [TOKEN, HOMESDATA, HOMESDATA, *READ_ALL]
    assert state_of(hass, SHUTTER) == "open"
    assert async_get_rate_limit(hass, entry.entry_id) is None
    coordinator = runtime_of(entry).coordinator
    assert coordinator.rate_limited_count == 0
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == 60


async def test_failure_after_a_rate_limit_at_setup_keeps_the_back_off(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    velux_sim.rate_limit_next(1, kind="error11", path=HOMESDATA)
    velux_sim.fail_next(1, status=503, path=HOMESDATA)
    entry = await setup_entry(platforms=(Platform.COVER,))
    # The retry after 5 minutes (at 310 s) meets a server error: the limit may well
    # last, so the retries keep quiet another 5 minutes.
    for _ in range(32):
        await tick(10)
    assert calls(velux_sim) == [TOKEN, HOMESDATA, HOMESDATA]
    assert entry.state is ConfigEntryState.SETUP_RETRY
    for _ in range(28):
        await tick(10)
    assert calls(velux_sim) == [TOKEN, HOMESDATA, HOMESDATA]
    assert entry.state is ConfigEntryState.SETUP_RETRY
    for _ in range(10):
        await tick(10)
    assert entry_state(entry) is ConfigEntryState.LOADED
    assert calls(velux_sim)[:6] == [TOKEN, HOMESDATA, HOMESDATA, *READ_ALL]


@pytest.mark.parametrize("action", ["unload", "remove"])
async def test_rate_limit_memory_outlives_a_reload_not_a_removal(
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    action: str,
) -> None:
    velux_sim.rate_limit_next(1, kind="error26", path=HOMESDATA)
    entry = await setup_entry(platforms=(Platform.COVER,))
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert async_get_rate_limit(hass, entry.entry_id) is not None
    if action == "remove":
        await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        assert async_get_rate_limit(hass, entry.entry_id) is None
        return
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert async_get_rate_limit(hass, entry.entry_id) is not None

    # Set up again by the user during the limit: the cloud is not asked before its end.
    seen = len(velux_sim.requests)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert calls(velux_sim, seen) == []
    for _ in range(16):
        await tick(60)
    assert entry_state(entry) is ConfigEntryState.LOADED
    assert calls(velux_sim, seen)[:3] == READ_ALL
    assert async_get_rate_limit(hass, entry.entry_id) is None


async def test_a_rate_limit_met_while_loaded_outlives_a_reload(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, tick: Tick
) -> None:
    entry = await setup_entry(platforms=(Platform.COVER,))
    velux_sim.rate_limit_next(1, kind="error26", path=HOMESTATUS)
    await tick(60)
    assert state_of(hass, SHUTTER) == "open"  # the last values stay
    seen = len(velux_sim.requests)
    assert not await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert calls(velux_sim, seen) == []  # the reload did not ask the cloud again
    assert entry.state is ConfigEntryState.SETUP_RETRY
    for _ in range(16):
        await tick(60)
    assert entry_state(entry) is ConfigEntryState.LOADED
    assert state_of(hass, SHUTTER) == "open"


async def test_rate_limit_memory_is_per_entry(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry
) -> None:
    velux_sim.rate_limit_next(1, kind="error26", path=HOMESDATA)
    limited = await setup_entry(platforms=(Platform.COVER,))
    assert limited.state is ConfigEntryState.SETUP_RETRY
    other = MockConfigEntry(
        domain=DOMAIN,
        title="VELUX ACTIVE (other)",
        unique_id="velux:other@velux.example",
        data=dict(make_entry(velux_sim).data),
    )
    other = await setup_entry(other, platforms=(Platform.COVER,))
    assert other.state is ConfigEntryState.LOADED
    assert async_get_rate_limit(hass, limited.entry_id) is not None
    assert async_get_rate_limit(hass, other.entry_id) is None


# ------------------------------------------------------------- rate limit when loaded


async def time_out_next_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: VeluxSimulator,
    *,
    after: float,
    requests: int = 1,
) -> None:
    """Start the poll due in ``after`` seconds and let its ``requests`` (held) time out.

    The clocks are frozen: the client's 0.2 s timeout fires when the clocks move on.
    """
    freezer.tick(timedelta(seconds=after))
    async_fire_time_changed(hass)
    for _ in range(requests):
        seen = len(sim.requests)
        for _ in range(1000):
            if len(sim.requests) > seen:
                break
            await asyncio.sleep(0)
        assert len(sim.requests) > seen, "the poll sent nothing"
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
    await settle(hass)


@pytest.mark.parametrize("failure", ["server_error", "timeout"])
async def test_failure_right_after_a_rate_limit_keeps_the_back_off(  # noqa: PLR0917
    hass: HomeAssistant,
    velux_sim: VeluxSimulator,
    setup_entry: SetupEntry,
    tick: Tick,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    with patch("custom_components.velux_homely.netatmo.flavours.REQUEST_TIMEOUT", 0.2):
        entry = await setup_entry(platforms=(Platform.COVER,))
    coordinator = runtime_of(entry).coordinator
    velux_sim.rate_limit_next(1, kind="error11", path=HOMESTATUS)
    await tick(60)
    polls = velux_sim.count(HOMESTATUS)
    # Every home fails (a home that answers would say the limit is over).
    if failure == "timeout":
        velux_sim.delay_next(2, seconds=5, path=HOMESTATUS)
        await time_out_next_poll(hass, freezer, velux_sim, after=300, requests=2)
    else:
        velux_sim.fail_next(2, status=503, path=HOMESTATUS)
        await tick(300)
    assert velux_sim.count(HOMESTATUS) == polls + 2
    assert state_of(hass, SHUTTER) == STATE_UNAVAILABLE

    if failure == "timeout":
        assert "Timeout after 0.2 s" in caplog.text
    # Still limited as far as we know: the next poll waits the back-off again.
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == 300
    assert coordinator.backing_off
    for _ in range(4):
        await tick(60)
    await tick(50)
    assert velux_sim.count(HOMESTATUS) == polls + 2
    await tick(10)
    assert velux_sim.count(HOMESTATUS) == polls + 4
    assert state_of(hass, SHUTTER) == "open"
    assert coordinator.update_interval.total_seconds() == 60
    assert coordinator.rate_limited_count == 0


# ------------------------------------------------------------------------ commands


@pytest.mark.parametrize("code", [None, "busy", {"n": 1}])
async def test_command_failure_with_an_odd_code_is_translated(
    hass: HomeAssistant, velux_sim: VeluxSimulator, setup_entry: SetupEntry, code: Any
) -> None:
    await setup_entry(platforms=(Platform.COVER,))
    velux_sim.reply_next(
        1,
        payload={
            "status": "ok",
            "body": {"home": {"id": HOME_ID}, "errors": [{"id": SHUTTER_ID, "code": code}]},
        },
        path=SETSTATE,
    )
    with pytest.raises(HomeAssistantError) as err:
        await act(hass, "cover", "close_cover", SHUTTER)
    assert err.value.translation_key == "command_failed"
    assert str(err.value) == (
        f"The cloud did not carry out the command: Command failed for {SHUTTER_ID}: 0"
    )
    assert state_of(hass, SHUTTER) == "open"
