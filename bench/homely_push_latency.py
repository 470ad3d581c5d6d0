"""Latency of Homely live events: simulator emit -> Home Assistant state change.

Runs Home Assistant's test harness in-process (pytest-homeassistant-custom-component) with a
Homely entry on the loopback simulator, sends 1,000 HAN meter events over Socket.IO and
prints p50/p99/max in milliseconds. Prints figures only; asserts nothing about time.

    .venv/ha-2026.2/bin/python bench/homely_push_latency.py
"""

# ruff: noqa: PLC0415  (project imports wait until pytest has set Home Assistant up)
from __future__ import annotations

import asyncio
from pathlib import Path
import statistics
import sys
import time
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import main, preload, unload

if __name__ != "__main__":
    preload()

EVENTS = 1000


# Registry stores flush after the measurement: expected, not a leak of ours.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_push_latency(
    hass: Any,
    enable_custom_integrations: Any,
    socket_enabled: Any,
    expected_lingering_timers: bool,
) -> None:
    from homeassistant.const import EVENT_STATE_CHANGED
    from homeassistant.core import Event, callback

    from simulator.homely import HAN_ID, HomelySimulator
    from tests.homely.conftest import all_live, make_entry, until as wait_for

    # The older test harness runs the loop in asyncio debug mode, which slows every
    # callback; measure the integration, not the debugger.
    debug = asyncio.get_running_loop().get_debug()
    asyncio.get_running_loop().set_debug(False)
    sim = HomelySimulator()
    await sim.start()
    entry = make_entry(sim)
    entry.add_to_hass(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await wait_for(lambda: all_live(entry))

        target = "sensor.han_plug_power"
        changed = asyncio.Event()
        seen_at: list[float] = []

        @callback
        def _on_change(event: Event[Any]) -> None:
            if event.data["entity_id"] == target:
                seen_at.append(time.perf_counter())
                changed.set()

        unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, _on_change)
        latencies: list[float] = []
        for index in range(EVENTS):
            changed.clear()
            sent = time.perf_counter()
            await sim.tick_meter(HAN_ID, wh=1, demand=1000 + index)
            await asyncio.wait_for(changed.wait(), 5)
            latencies.append((seen_at[-1] - sent) * 1000)
        unsub()
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(
            f"\nHomely push latency over {EVENTS} events (emit -> state change): "
            f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms"
        )
    finally:
        await unload(hass, entry, sim)
        asyncio.get_running_loop().set_debug(debug)


if __name__ == "__main__":
    main(__file__)
