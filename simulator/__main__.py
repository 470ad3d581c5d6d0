"""Run the cloud simulators standalone: ``python -m simulator``.

Prints the service addresses and the demo credentials, then serves until Ctrl+C.
With ``--animate`` the simulated Homely sensors and VELUX climate change by
themselves every few seconds, so a connected Home Assistant shows live updates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random

from . import homely as homely_sim, velux as velux_sim


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
    animation = asyncio.create_task(_animate(homely, velux)) if args.animate else None
    try:
        await asyncio.Event().wait()
    finally:
        if animation:
            animation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await animation
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
        "--realistic", action="store_true", help="openers take 20-45 s for a full move"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
