"""Cloud calls per simulated hour of a Homely account (two locations): live up, live
dropped by the server every minute (token expiry), live down.

Runs Home Assistant's test harness in-process with a Homely entry on the loopback simulator.
Time is scaled (1 simulated hour = 3.6 s; about 25 s in all): token lifetimes, the 30-minute
resync, the 2-minute poll interval and the reconnection backoff all shrink by the same
factor, so the counts are those of a real hour. Prints figures only; asserts nothing about time.

    .venv/ha-2026.2/bin/python bench/homely_rest_budget.py
"""

# ruff: noqa: PLC0415  (project imports wait until pytest has set Home Assistant up)
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
import sys
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import preload, run

if __name__ != "__main__":
    preload()

SCALE = 1 / 1000
"""Real seconds per simulated second."""
HOUR = 3600 * SCALE


def _counts(sim: Any) -> tuple[int, int]:
    home = sum(1 for r in sim.requests if r.path.startswith("/homely/home/"))
    tokens = sum(1 for r in sim.requests if r.path.startswith("/homely/oauth/"))
    return home, tokens


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_rest_budget(
    hass: Any,
    enable_custom_integrations: Any,
    socket_enabled: Any,
    monkeypatch: pytest.MonkeyPatch,
    expected_lingering_timers: bool,
) -> None:
    from socketio.exceptions import ConnectionRefusedError as Refused

    from custom_components.velux_homely.homely import const
    from simulator.homely import CABIN_LOCATION_ID, LOCATION_ID, HomelySimulator
    from tests.homely.conftest import all_live, make_entry, runtime_of, wait_for

    monkeypatch.setattr(
        const,
        "TUNING",
        replace(
            const.TUNING,
            resync_interval=1800 * SCALE,
            backoff_initial=2 * SCALE,
            backoff_max=300 * SCALE,
            stable_after=60 * SCALE,
            first_connect_grace=120 * SCALE,
            home_read_window=900 * SCALE,
        ),
    )
    sim = HomelySimulator(
        access_token_lifetime=60 * SCALE,  # type: ignore[arg-type]
        refresh_token_lifetime=1800 * SCALE,  # type: ignore[arg-type]
    )
    await sim.start()
    entry = make_entry(sim)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await wait_for(lambda: all_live(entry))
        runtime = runtime_of(entry)
        runtime.client._margin = 10 * SCALE
        for coordinator in runtime.coordinators.values():
            coordinator.poll_interval = 120 * SCALE
        print(f"\nSet-up: {len(sim.requests)} calls ({[r.path[8:20] for r in sim.requests]})")

        # live connections up
        home0, tokens0 = _counts(sim)
        await asyncio.sleep(4 * HOUR)
        home1, tokens1 = _counts(sim)
        up_home, up_tokens = (home1 - home0) / 4, (tokens1 - tokens0) / 4
        print(
            f"Live up, per simulated hour (mean of 4), 2 locations: /home {up_home:g}, "
            f"token {up_tokens:g}, total {up_home + up_tokens:g} (budget 8)"
        )

        # live connections dropped by the server every minute: the access tokens live 60 s
        # and the server ends a socket whose token has expired
        home0, tokens0 = _counts(sim)
        connects0 = sum(live.connects for live in runtime.live.values())
        deferred0 = sum(c.resyncs_deferred for c in runtime.coordinators.values())
        loop = asyncio.get_running_loop()
        end = loop.time() + HOUR
        while loop.time() < end:
            await asyncio.sleep(SCALE)  # the server checks each simulated second
            await sim.enforce_token_expiry()
        home1, tokens1 = _counts(sim)
        connects = sum(live.connects for live in runtime.live.values()) - connects0
        deferred = sum(c.resyncs_deferred for c in runtime.coordinators.values()) - deferred0
        print(
            "Live connection dropped by the server every minute (token expiry), "
            f"1 simulated hour, 2 locations: /home {home1 - home0}, token {tokens1 - tokens0}, "
            f"reconnections {connects}, resyncs deferred by the /home budget {deferred} "
            f"(budget: /home at most {const.TUNING.home_reads_per_window} per location "
            "per 15 minutes)"
        )
        await wait_for(lambda: all_live(entry), limit=5 * 300 * SCALE + 5)

        # live connections down: the server refuses every Socket.IO connection
        async def refuse(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            sim.rejected_connects += 1
            raise Refused("Invalid JWT")

        sim.sio.on("connect", handler=refuse)
        await sim.disconnect()
        await wait_for(lambda: not any(c.live_connected for c in runtime.coordinators.values()))
        home0, tokens0 = _counts(sim)
        refused0 = sim.rejected_connects
        await asyncio.sleep(HOUR)
        home1, tokens1 = _counts(sim)
        print(
            f"Live down, 1 simulated hour, 2 locations: /home {home1 - home0}, "
            f"token {tokens1 - tokens0}, refused connection attempts "
            f"{sim.rejected_connects - refused0}"
        )

        # back up: exactly one connection per location
        sim.sio.on("connect", handler=sim._on_connect)
        await wait_for(lambda: all_live(entry), limit=5 * 300 * SCALE + 5)
        await asyncio.sleep(60 * SCALE)
        print(
            "Live connections per location at the end: "
            f"home {sim.connections(LOCATION_ID)}, cabin {sim.connections(CABIN_LOCATION_ID)}"
        )
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await sim.stop()


def main() -> int:
    """Run the benchmark inside Home Assistant's test harness."""
    return run(__file__)


if __name__ == "__main__":
    sys.exit(main())
