"""Run the cloud simulators standalone: ``python -m simulator``.

Prints the service addresses and the demo credentials, then serves until Ctrl+C.
With ``--animate`` the simulated Homely sensors and VELUX climate change by
themselves every few seconds, so a connected Home Assistant shows live updates.

With ``--control-port`` a third server, on its own port and only under ``/_sim/``, lets
another process drive the simulation (the browser test arms the Homely alarm with it);
the cloud ports never answer those paths:

- ``GET /_sim/health``: the two service addresses;
- ``POST /_sim/homely/alarm`` with ``{"state": "ARMED_AWAY"}`` (optional
  ``"location_id"``, default the demo home): sets the state and emits the live event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re

from aiohttp import web

from . import homely as homely_sim, velux as velux_sim

_ALARM_STATE = re.compile(r"[A-Z][A-Z_]{1,40}")


async def _animate(homely: homely_sim.HomelySimulator, velux: velux_sim.VeluxSimulator) -> None:
    """Change a few simulated values every few seconds."""
    step = 0
    temperature = 215
    while True:
        await asyncio.sleep(5)
        step += 1
        await homely.tick_meter(homely_sim.HAN_ID, wh=random.randint(5, 20))
        if step % 3 == 0:
            await homely.change_device(homely_sim.MOTION_ID, "alarm", "alarm", step % 6 == 0)
        if step % 8 == 0:
            await homely.change_device(homely_sim.ENTRY_ID, "alarm", "alarm", step % 16 == 0)
        if step % 4 == 0:
            temperature += random.choice((-2, -1, 1, 2))
            velux.set_room_climate(velux_sim.SENSOR_ROOM_ID, temperature=temperature)


def _control_app(
    homely: homely_sim.HomelySimulator, velux: velux_sim.VeluxSimulator
) -> web.Application:
    """Build the control server: test hooks under ``/_sim/`` only (see the module docstring)."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"velux": velux.base_url, "homely": homely.base_url})

    async def alarm(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "a JSON body is required"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "a JSON object is required"}, status=400)
        state = body.get("state")
        location_id = body.get("location_id", homely_sim.LOCATION_ID)
        if not isinstance(state, str) or not _ALARM_STATE.fullmatch(state):
            return web.json_response({"error": "state: an alarm state like ARMED_AWAY"}, status=400)
        if location_id not in homely.locations:
            return web.json_response({"error": f"unknown location {location_id!r}"}, status=404)
        await homely.set_alarm_state(location_id, state)
        return web.json_response({"location_id": location_id, "state": state})

    app = web.Application()
    app.router.add_get("/_sim/health", health)
    app.router.add_post("/_sim/homely/alarm", alarm)
    return app


async def _serve(args: argparse.Namespace) -> None:
    velux = velux_sim.VeluxSimulator(realistic=args.realistic, realtime_arrivals=True)
    homely = homely_sim.HomelySimulator()
    await velux.start(args.host, args.velux_port)
    await homely.start(args.host, args.homely_port)
    print(f"VELUX ACTIVE cloud: {velux.base_url}")
    print(f"  log in with {velux_sim.DEMO_USERNAME} / {velux_sim.DEMO_PASSWORD}")
    print(f"  realtime push: {velux.ws_url}")
    for gateway_id in (velux_sim.GATEWAY_ID, velux_sim.SMALL_GATEWAY_ID):
        port = velux.netcom(gateway_id).port
        print(f"  gateway {gateway_id}: pairing on 127.0.0.1:{port} after retrieve_key")
    print(f"Homely cloud:       {homely.base_url}")
    print(f"  log in with {homely_sim.DEMO_USERNAME} / {homely_sim.DEMO_PASSWORD}")
    print("Use these addresses as the service address (advanced mode) in the config flow.")
    control: web.AppRunner | None = None
    if args.control_port is not None:
        control = web.AppRunner(_control_app(homely, velux), access_log=None)
        await control.setup()
        await web.TCPSite(control, args.host, args.control_port).start()
        print(f"Control (tests):    http://{args.host}:{control.addresses[0][1]}/_sim/", flush=True)
    animation = asyncio.create_task(_animate(homely, velux)) if args.animate else None
    try:
        await asyncio.Event().wait()
    finally:
        if animation:
            animation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await animation
        if control is not None:
            await control.cleanup()
        await homely.stop()
        await velux.stop()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--velux-port", type=int, default=8701)
    parser.add_argument("--homely-port", type=int, default=8702)
    parser.add_argument("--animate", action="store_true", help="change values by themselves")
    parser.add_argument(
        "--control-port",
        type=int,
        default=None,
        help="serve the test hooks under /_sim/ on this port (0: a free one; default: none)",
    )
    parser.add_argument(
        "--realistic", action="store_true", help="openers take 20-45 s for a full move"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
