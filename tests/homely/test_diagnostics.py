"""Diagnostics and logs of a Homely entry never hold a secret."""

from __future__ import annotations

import json
import logging

from homeassistant.core import HomeAssistant
import pytest

from custom_components.velux_homely.diagnostics import async_get_config_entry_diagnostics
from simulator.homely import (
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    GATEWAY_SERIAL,
    LOCATION_ID,
    MOTION_ID,
    USER_ID,
    HomelySimulator,
)

from .conftest import Tick, all_live, make_entry, reconnected, until


def _secrets(sim: HomelySimulator) -> set[str]:
    """Every token the simulator saw or issued to us, and the password."""
    found = {DEMO_PASSWORD}
    found.update(token for _, token in sim.connect_log)
    for request in sim.requests:
        if request.authorization:
            found.add(request.authorization.removeprefix("Bearer "))
        if isinstance(request.json, dict) and "refresh_token" in request.json:
            found.add(request.json["refresh_token"])
    found.update(sim._access)
    found.update(sim._refresh)
    return found


async def test_no_secret_in_logs(
    hass: HomeAssistant,
    homely_sim: HomelySimulator,
    caplog: pytest.LogCaptureFixture,
    tick: Tick,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("socketio", "socketio.client", "engineio", "engineio.client", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    entry = make_entry(homely_sim)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await until(lambda: all_live(entry))
    await homely_sim.change_device(MOTION_ID, "alarm", "alarm", True)
    await homely_sim.disconnect(LOCATION_ID)
    await reconnected(entry, tick)
    assert len(homely_sim.connect_log) == 3
    await homely_sim.expire_access_tokens()
    await reconnected(entry, tick)
    assert len(homely_sim.connect_log) == 5
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    text = caplog.text
    assert "Homely live connection" in text
    secrets = _secrets(homely_sim)
    assert len(secrets) > 4
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []


async def test_diagnostics(
    hass: HomeAssistant, homely_sim: HomelySimulator, loaded_entry: object
) -> None:
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)  # type: ignore[arg-type]
    dumped = json.dumps(diagnostics, default=str)
    for secret in (*_secrets(homely_sim), DEMO_USERNAME, USER_ID, GATEWAY_SERIAL):
        assert secret not in dumped
    runtime = diagnostics["runtime"]
    assert runtime["api_calls"] == {"login": 1, "locations": 1, "home": 2}
    assert runtime["token_status"]["has_token"] is True
    home = runtime["locations"][LOCATION_ID]
    assert home["live"]["connected"] is True
    assert home["coordinator"]["live_connected"] is True
    assert home["gatewayserial"] == "**REDACTED**"
    motion = next(d for d in home["devices"] if d["id"] == MOTION_ID)
    assert motion["features"]["alarm"]["alarm"] is False
    assert motion["serialNumber"] == "**REDACTED**"
    assert set(runtime["locations"]) == {LOCATION_ID, CABIN_LOCATION_ID}
