"""Cloud calls per simulated hour of a Homely account (two locations): set-up while /home
is rate limited for an hour, live up, live dropped by the server every minute (token
expiry), live down, a lasting rate limit. Calls are split by endpoint: /home, /locations
and the token endpoints (login and refresh).

Runs Home Assistant's test harness in-process with a Homely entry on the loopback simulator,
on a frozen clock moved 10 s at a time (the sockets are real; their pings are hours apart so
that moving the clock does not end them). About 30 s in all. Prints figures only.

    .venv/ha-2026.2/bin/python bench/homely_rest_budget.py
"""

# ruff: noqa: PLC0415  (project imports wait until pytest has set Home Assistant up)
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import sys
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import main, preload, unload

if __name__ != "__main__":
    preload()

HOUR = 3600
STEP = 10


def _counts(sim: Any) -> tuple[int, int, int]:
    """Return the requests so far to /home, /locations and the token endpoints."""
    home = sum(1 for r in sim.requests if r.path.startswith("/homely/home/"))
    locations = sum(1 for r in sim.requests if r.path == "/homely/locations")
    tokens = sum(1 for r in sim.requests if r.path.startswith("/homely/oauth/"))
    return home, locations, tokens


def _split(before: tuple[int, int, int], after: tuple[int, int, int], hours: float = 1) -> str:
    """Describe the calls between two counts, per hour."""
    home, locations, tokens = ((a - b) / hours for a, b in zip(after, before, strict=True))
    return f"/home {home:g}, /locations {locations:g}, token {tokens:g}"


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_rest_budget(
    hass: Any,
    enable_custom_integrations: Any,
    socket_enabled: Any,
    freezer: Any,
    expected_lingering_timers: bool,
) -> None:
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    from simulator.homely import CABIN_LOCATION_ID, LOCATION_ID, HomelySimulator
    from tests.homely.conftest import PING_SECONDS, all_live, make_entry, runtime_of, settle, until

    sim = HomelySimulator(ping_interval=PING_SECONDS, ping_timeout=PING_SECONDS)
    await sim.start()

    async def run_for(seconds: int, *, drop_expired: bool = False) -> None:
        for _ in range(seconds // STEP):
            freezer.tick(timedelta(seconds=STEP))
            async_fire_time_changed(hass)
            if drop_expired:
                # the server ends a socket whose token has expired
                await sim.enforce_token_expiry()
            await settle(hass, sim)

    entry = make_entry(sim)
    entry.add_to_hass(hass)
    try:
        # /home answers 429 from the start for an hour: set-up keeps the location list
        sim.rate_limit_next(100_000, retry_after=4, path="/homely/home")
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await until(lambda: all_live(entry))
        await settle(hass, sim)
        runtime = runtime_of(entry)
        counts0 = (0, 0, 0)
        await run_for(HOUR)
        counts1 = _counts(sim)
        sim.clear_faults()
        await run_for(15 * 60)
        read = all(c.home is not None for c in runtime.coordinators.values())
        print(
            f"\nSet-up with /home rate limited for its first hour (retryAfter 4), "
            f"2 locations, that hour: {_split(counts0, counts1)}; set-up state "
            f"{entry.state.value}, both locations read within 15 minutes of the limit "
            f"clearing: {read}"
        )

        counts0 = _counts(sim)
        await run_for(4 * HOUR)
        counts1 = _counts(sim)
        print(
            "Live up, per simulated hour (mean of 4), 2 locations: "
            f"{_split(counts0, counts1, 4)} (budget: 8 /home per account-hour)"
        )

        counts0 = _counts(sim)
        live = runtime.live.connections.values()
        connects0 = sum(connection.connects for connection in live)
        held0 = sum(c.reads_held_back for c in runtime.coordinators.values())
        await run_for(HOUR, drop_expired=True)
        counts1 = _counts(sim)
        connects = sum(connection.connects for connection in live) - connects0
        held = sum(c.reads_held_back for c in runtime.coordinators.values()) - held0
        print(
            "Live connection dropped by the server at every token expiry, 1 simulated hour, "
            f"2 locations: {_split(counts0, counts1)}, "
            f"reconnections {connects}, reads held back by the /home budget {held} "
            "(budget: at most 2 /home per location per 15 minutes)"
        )

        sim.refuse_sockets = True
        await sim.disconnect()
        await until(lambda: not any(c.live_connected for c in runtime.coordinators.values()))
        counts0 = _counts(sim)
        refused0 = sim.rejected_connects
        await run_for(HOUR)
        counts1 = _counts(sim)
        print(
            f"Live down, 1 simulated hour, 2 locations: {_split(counts0, counts1)}, "
            f"refused connection attempts {sim.rejected_connects - refused0}"
        )

        sim.refuse_sockets = False
        await run_for(10 * 60)
        await until(lambda: all_live(entry))
        sim.rate_limit_next(100_000, retry_after=4, path="/homely/home")
        await run_for(HOUR)
        counts0 = _counts(sim)
        await run_for(HOUR)
        counts1 = _counts(sim)
        sim.clear_faults()
        print(
            f"/home rate limited for hours (retryAfter 4), second hour, 2 locations: "
            f"{_split(counts0, counts1)}"
        )
        await run_for(HOUR)
        print(
            "Live connections per location at the end: "
            f"home {sim.connections(LOCATION_ID)}, cabin {sim.connections(CABIN_LOCATION_ID)}"
        )
    finally:
        await unload(hass, entry, sim)


if __name__ == "__main__":
    main(__file__)
