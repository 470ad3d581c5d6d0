"""Set-up, unload and recovery of a Homely entry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.velux_homely.const import DOMAIN
from simulator.homely import (
    CABIN_ENTRY_ID,
    CABIN_LOCATION_ID,
    LOCATION_ID,
    LOCK_ID,
    MOTION_ID,
    HomelySimulator,
)
from tests.helpers import device_of, entry_state

from .conftest import (
    CABIN_HOME,
    CABIN_PANEL,
    HOME,
    LOCATIONS,
    LOGIN,
    MOTION,
    PANEL,
    Tick,
    all_live,
    ent,
    make_entry,
    runtime_of,
    settle,
    setup as _setup,
    tick_until,
    until,
)


async def test_setup_reads_once_and_connects_each_location(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    await until(lambda: all_live(entry))
    # one login, the locations, one /home per location; the first connection adds no resync
    assert [r.path for r in homely_sim.requests] == [LOGIN, LOCATIONS, HOME, CABIN_HOME]
    assert homely_sim.connections(LOCATION_ID) == 1
    assert homely_sim.connections(CABIN_LOCATION_ID) == 1
    token = homely_sim.requests[-1].authorization
    assert [f"Bearer {t}" for _, t in homely_sim.connect_log] == [token, token]

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry_state(entry) is ConfigEntryState.NOT_LOADED
    await until(lambda: homely_sim.connections(LOCATION_ID) == 0)
    assert homely_sim.connections(CABIN_LOCATION_ID) == 0
    assert len(homely_sim.connect_log) == 2


async def test_a_throttled_location_at_startup_follows_when_the_limit_clears(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick
) -> None:
    """Set-up keeps what it could read; the throttled location is read after retryAfter."""
    homely_sim.rate_limit_next(1, retry_after=4, path=HOME)
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert CABIN_PANEL.current(hass) is not None
    assert PANEL.current(hass) is None
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    # the first connection does not read before the limit allows
    assert homely_sim.count(HOME) == 1
    await tick(3)
    assert homely_sim.count(HOME) == 1
    await tick(3)
    assert homely_sim.count(HOME) == 2
    assert PANEL.state(hass) == "disarmed"
    assert MOTION.state(hass) == "off"
    assert homely_sim.count(CABIN_HOME) == 1


async def test_every_location_throttled_at_startup_loads_and_follows(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick
) -> None:
    """/home answers 429 for an hour from the start: set-up keeps the location list, the
    live connections start, and the locations show once the limit clears (no reload)."""
    homely_sim.rate_limit_next(100_000, retry_after=4, path="/homely/home")
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert PANEL.current(hass) is None
    assert CABIN_PANEL.current(hass) is None
    runtime = runtime_of(entry)
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    # meanwhile: changes the live service streams, and one it does not
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_AWAY"
    for _ in range(120):  # one simulated hour, 30 s at a time
        await tick(30)
    assert entry.state is ConfigEntryState.LOADED
    assert runtime_of(entry) is runtime
    assert PANEL.current(hass) is None
    # no set-up retry: one login and one list; /home 4, 8, 16 ... 900 s apart
    assert homely_sim.count(LOGIN) == 1
    assert homely_sim.count(LOCATIONS) == 1
    assert 2 <= homely_sim.count(HOME) <= 12
    assert 2 <= homely_sim.count(CABIN_HOME) <= 12
    homely_sim.clear_faults()
    await tick(901)
    assert PANEL.state(hass) == "armed_away"
    assert MOTION.state(hass) == "on"
    assert CABIN_PANEL.state(hass) == "disarmed"
    assert all_live(entry)
    assert homely_sim.count(LOGIN) == 1
    assert homely_sim.count(LOCATIONS) == 1


async def _loaded_and_reloaded(hass: HomeAssistant, homely_sim: HomelySimulator) -> MockConfigEntry:
    """Set up an entry and reload it: each location was read twice (the read budget)."""
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    await until(lambda: all_live(entry))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    return entry


async def test_every_location_held_back_at_a_setup_retry_loads(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick
) -> None:
    """A reload while the read budget is spent: set-up reads nothing and still loads."""
    entry = await _loaded_and_reloaded(hass, homely_sim)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # two reads per location in 15 minutes: the third set-up holds its reads back
    assert entry.state is ConfigEntryState.LOADED
    assert homely_sim.count(HOME) == 2
    # the last read stands in (the alarm was armed since: the read brings it)
    assert PANEL.state(hass) == "disarmed"
    assert MOTION.state(hass) == "off"
    homely_sim.locations[LOCATION_ID].alarm_state = "ARMED_AWAY"
    await until(lambda: all_live(entry))
    await tick(899)
    assert homely_sim.count(HOME) == 2
    await tick(2)
    assert homely_sim.count(HOME) == 3
    assert PANEL.state(hass) == "armed_away"


async def test_live_changes_outlive_a_reload_that_reads_nothing(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick
) -> None:
    """What live events brought since the last read stands in after a reload too."""
    entry = await _loaded_and_reloaded(hass, homely_sim)
    # live events after the second read: someone arms the alarm, the hallway sees motion
    await homely_sim.set_alarm_state(LOCATION_ID, "ARMED_AWAY")
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await until(lambda: PANEL.state(hass) == "armed_away" and MOTION.state(hass) == "on")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert homely_sim.count(HOME) == 2  # the budget is spent: nothing read
    assert PANEL.state(hass) == "armed_away"
    assert MOTION.state(hass) == "on"


async def test_bad_credentials_at_setup_start_reauth(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    homely_sim.set_password("changed")
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_cached_locations_when_listing_fails(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    homely_sim.fail_next(1, status=503, path=LOCATIONS)
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert set(runtime_of(entry).coordinators) == {LOCATION_ID, CABIN_LOCATION_ID}


async def test_listing_fails_without_cache(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    homely_sim.fail_next(1, status=503, path=LOCATIONS)
    entry = make_entry(homely_sim)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={k: v for k, v in entry.data.items() if k != "known_locations"},
        options=entry.options,
    )
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert homely_sim.count(HOME) == 0


async def test_location_list_is_cached_in_the_entry(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    homely_sim.locations[CABIN_LOCATION_ID].name = "Hytta ved sjøen"
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.data["known_locations"] == {
        LOCATION_ID: "Demo Home",
        CABIN_LOCATION_ID: "Hytta ved sjøen",
    }


async def test_home_unreachable_at_setup(hass: HomeAssistant, homely_sim: HomelySimulator) -> None:
    """The cabin loads; the home is read again once its live connection is up."""
    homely_sim.fail_next(1, status=500, path=HOME)
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 2
    assert PANEL.state(hass) == "disarmed"


async def test_every_location_unreachable_at_setup(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    homely_sim.fail_next(2, status=500, path="/homely/home")
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert homely_sim.connect_log == []


async def test_options_select_locations(hass: HomeAssistant, homely_sim: HomelySimulator) -> None:
    entry = make_entry(homely_sim, options={"locations": [CABIN_LOCATION_ID]})
    await _setup(hass, entry)
    await until(lambda: all_live(entry))
    assert set(runtime_of(entry).coordinators) == {CABIN_LOCATION_ID}
    assert homely_sim.count(HOME) == 0
    assert homely_sim.connections(LOCATION_ID) == 0
    assert CABIN_PANEL.current(hass) is not None
    assert PANEL.current(hass) is None


async def test_options_with_vanished_locations_show_all(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    entry = make_entry(homely_sim, options={"locations": ["gone"]})
    await _setup(hass, entry)
    assert set(runtime_of(entry).coordinators) == {LOCATION_ID, CABIN_LOCATION_ID}


async def test_stale_devices_are_removed_at_setup(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    entry = make_entry(homely_sim)
    entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "deleted-device")}, name="Old"
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert device_of(hass, entry, "deleted-device") is None
    gateway = device_of(hass, entry, LOCATION_ID)
    assert gateway is not None
    assert (gateway.name, gateway.model, gateway.manufacturer) == (
        "Demo Home",
        "Homely gateway",
        "Homely",
    )


async def test_a_stale_device_another_entry_has_too_stays_there(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    entry = make_entry(homely_sim)
    entry.add_to_hass(hass)
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    registry = dr.async_get(hass)
    for config_entry in (entry, other):
        registry.async_get_or_create(
            config_entry_id=config_entry.entry_id,
            identifiers={(DOMAIN, "deleted-device")},
            name="Old",
        )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert device_of(hass, entry, "deleted-device") is None
    kept = device_of(hass, other, "deleted-device")
    assert kept is not None
    assert kept.name == "Old"


async def test_lock_entities_of_earlier_versions_are_removed(
    hass: HomeAssistant, homely_sim: HomelySimulator
) -> None:
    """Version 0.2 had a lock entity for the Yale Doorman; its state is a binary sensor now."""
    entry = make_entry(homely_sim)
    entry.add_to_hass(hass)
    entities = er.async_get(hass)
    old = entities.async_get_or_create(
        Platform.LOCK, DOMAIN, f"{LOCK_ID}_lock", config_entry=entry, original_name=None
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entities.async_get(old.entity_id) is None
    assert hass.states.get(old.entity_id) is None
    registered = er.async_entries_for_config_entry(entities, entry.entry_id)
    assert not [entity for entity in registered if entity.domain == Platform.LOCK]
    assert ent(Platform.BINARY_SENSOR, LOCK_ID, "lock").state(hass) == "off"


async def test_sensors_hang_off_their_location_gateway(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    gateway = device_of(hass, loaded_entry, LOCATION_ID)
    cabin = device_of(hass, loaded_entry, CABIN_LOCATION_ID)
    assert gateway is not None
    assert cabin is not None
    for device_id, parent in ((MOTION_ID, gateway), (LOCK_ID, gateway), (CABIN_ENTRY_ID, cabin)):
        device = device_of(hass, loaded_entry, device_id)
        assert device is not None
        assert device.via_device_id == parent.id
    assert gateway.via_device_id is None


async def test_credentials_refused_while_reconnecting_start_reauth(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    homely_sim.set_password("changed")
    homely_sim.expire_refresh_tokens()
    await homely_sim.expire_access_tokens()
    await tick_until(tick, lambda: bool(hass.config_entries.flow.async_progress()))
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    live = runtime_of(loaded_entry).live.connections.values()
    await until(lambda: all(not connection.connected for connection in live))
    assert homely_sim.connections(LOCATION_ID) == 0


async def test_home_assistant_stop_closes_connections(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry
) -> None:
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    await until(lambda: homely_sim.connections(LOCATION_ID) == 0)
    assert homely_sim.connections(CABIN_LOCATION_ID) == 0
    assert len(homely_sim.connect_log) == 2


MAINTENANCE = "<html><body><h1>403 Forbidden</h1>Back soon</body></html>"


async def test_forbidden_login_at_setup_is_retried_not_reauth(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick
) -> None:
    homely_sim.answer_next(MAINTENANCE, status=403, count=2, path=LOGIN)
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    # the cached locations stand in for the list; the home's read met the second 403
    assert entry.state is ConfigEntryState.LOADED
    assert hass.config_entries.flow.async_progress() == []
    assert [r.path for r in homely_sim.requests[:4]] == [LOGIN, LOGIN, LOGIN, CABIN_HOME]
    await until(lambda: all_live(entry))
    await settle(hass, homely_sim)
    assert homely_sim.count(HOME) == 1
    assert PANEL.state(hass) == "disarmed"
    assert hass.config_entries.flow.async_progress() == []


async def test_forbidden_login_everywhere_at_setup_is_retried_not_reauth(
    hass: HomeAssistant, homely_sim: HomelySimulator, tick: Tick
) -> None:
    homely_sim.answer_next(MAINTENANCE, status=403, count=3, path=LOGIN)
    entry = make_entry(homely_sim)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert hass.config_entries.flow.async_progress() == []
    assert [r.path for r in homely_sim.requests] == [LOGIN, LOGIN, LOGIN]
    await tick(120)
    await until(lambda: entry.state is ConfigEntryState.LOADED)
    await until(lambda: all_live(entry))
    assert hass.config_entries.flow.async_progress() == []


async def test_forbidden_login_while_reconnecting_is_retried_not_reauth(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: MockConfigEntry, tick: Tick
) -> None:
    homely_sim.expire_refresh_tokens()
    homely_sim.fail_next(3, status=403, path=LOGIN)
    await homely_sim.expire_access_tokens()
    await tick_until(tick, lambda: len(homely_sim.connect_log) == 4 and all_live(loaded_entry))
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []
    # refused refreshes fell back to logins; the refused logins were tried again
    assert homely_sim.count(LOGIN) == 5
    assert homely_sim.logins == 2
