"""Prepare the demo Home Assistant: onboard it and add both simulated accounts.

Run by scripts/demo once Home Assistant is starting. It goes through the same
onboarding and config-flow HTTP API the web interface uses. Without ``--velux`` and
``--homely`` (``scripts/demo --no-accounts``) it only onboards: the user ``demo`` exists
and no account is added.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import aiohttp

USER = "demo"
PASSWORD = "demo-demo"  # noqa: S105 - the demo's published login
VELUX_ACCOUNT = {"username": "demo@velux.example", "password": "velux-demo"}
# Onboarding adds these; they need the internet, which the demo does not assume.
OFFLINE_UNUSABLE = {"radio_browser", "met"}
HOMELY_ACCOUNT = {"username": "demo@homely.example", "password": "homely-demo"}


async def _wait_for(session: aiohttp.ClientSession, ha: str) -> None:
    for _ in range(600):
        try:
            async with session.get(f"{ha}/api/onboarding") as resp:
                if resp.status in (200, 401, 403, 404):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("Home Assistant did not start within 5 minutes")


async def _token_from_code(session: aiohttp.ClientSession, ha: str, code: str) -> str:
    async with session.post(
        f"{ha}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": f"{ha}/"},
    ) as resp:
        resp.raise_for_status()
        return str((await resp.json())["access_token"])


async def _onboard_or_login(session: aiohttp.ClientSession, ha: str) -> str:
    client_id = f"{ha}/"
    async with session.get(f"{ha}/api/onboarding") as resp:
        steps = await resp.json() if resp.status == 200 else []
    pending = {step["step"] for step in steps if not step["done"]}
    if "user" in pending:
        async with session.post(
            f"{ha}/api/onboarding/users",
            json={
                "client_id": client_id,
                "name": "Demo",
                "username": USER,
                "password": PASSWORD,
                "language": "en",
            },
        ) as resp:
            resp.raise_for_status()
            token = await _token_from_code(session, ha, (await resp.json())["auth_code"])
    else:
        async with session.post(
            f"{ha}/auth/login_flow",
            json={
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
        ) as resp:
            flow = await resp.json()
        async with session.post(
            f"{ha}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": client_id, "username": USER, "password": PASSWORD},
        ) as resp:
            token = await _token_from_code(session, ha, (await resp.json())["result"])
    headers = {"Authorization": f"Bearer {token}"}
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": client_id, "redirect_uri": client_id}),
    ):
        if step in pending:
            async with session.post(
                f"{ha}/api/onboarding/{step}", json=body, headers=headers
            ) as resp:
                resp.raise_for_status()
    return token


async def _confirm_http_config(session: aiohttp.ClientSession, ha: str, token: str) -> None:
    """Confirm a pending HTTP configuration (a port other than 8123), as its dialog asks.

    From Home Assistant 2026.11 ``http:`` in YAML is migrated to storage as a trial that
    reverts to port 8123 after five minutes unless the user confirms it; releases without
    that answer the command with an error, which is fine.
    """
    async with session.ws_connect(f"{ha.replace('http', 'ws', 1)}/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise SystemExit("The websocket API refused the demo's token")
        await ws.send_json({"id": 1, "type": "http/config"})
        config = await ws.receive_json()
        if not config.get("success") or not config["result"].get("pending"):
            return
        await ws.send_json({"id": 2, "type": "http/config/promote"})
        if (await ws.receive_json()).get("success"):
            port = config["result"]["pending"].get("server_port")
            print(f"    confirmed the HTTP configuration (port {port})")


async def _remove_offline_extras(
    session: aiohttp.ClientSession, ha: str, headers: dict[str, str]
) -> None:
    """Remove what onboarding adds but cannot work without internet (radio browser).

    Onboarding creates those entries in the background, so look a few times.
    """
    for _ in range(20):
        async with session.get(f"{ha}/api/config/config_entries/entry", headers=headers) as resp:
            entries = await resp.json()
        unusable = [entry for entry in entries if entry["domain"] in OFFLINE_UNUSABLE]
        for entry in unusable:
            async with session.delete(
                f"{ha}/api/config/config_entries/entry/{entry['entry_id']}", headers=headers
            ):
                pass
        if unusable:
            return
        await asyncio.sleep(0.5)


def _fit_form(account: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """Place the account's values as the form asks: a field inside a section is nested.

    (A collapsed section such as "Advanced settings" arrives as ``type: expandable`` with its
    own schema; the same form without sections takes every value at the top level.)
    """
    data = dict(account)
    for field in form.get("data_schema") or []:
        if field.get("type") == "expandable":
            inner = {f["name"] for f in field.get("schema", [])}
            data[field["name"]] = {k: data.pop(k) for k in list(data) if k in inner}
    return data


async def _add_account(
    session: aiohttp.ClientSession,
    ha: str,
    headers: dict[str, str],
    provider: str,
    account: dict[str, Any],
) -> None:
    async with session.post(
        f"{ha}/api/config/config_entries/flow",
        json={"handler": "velux_homely"},
        headers=headers,
    ) as resp:
        resp.raise_for_status()
        flow = await resp.json()
    url = f"{ha}/api/config/config_entries/flow/{flow['flow_id']}"
    async with session.post(url, json={"next_step_id": provider}, headers=headers) as resp:
        resp.raise_for_status()
        form = await resp.json()
    async with session.post(url, json=_fit_form(account, form), headers=headers) as resp:
        result = await resp.json()
    if result.get("type") == "create_entry":
        print(f"    added {result['title']}")
    elif result.get("reason") == "already_configured":
        print(f"    {provider}: already added")
    else:
        print(f"    {provider}: {result.get('errors') or result.get('reason')}")


async def main(args: argparse.Namespace) -> None:
    """Onboard Home Assistant and add the simulated accounts."""
    async with aiohttp.ClientSession() as session:
        await _wait_for(session, args.ha)
        async with session.get(f"{args.ha}/api/onboarding") as resp:
            first_run = resp.status == 200 and not all(s["done"] for s in await resp.json())
        token = await _onboard_or_login(session, args.ha)
        headers = {"Authorization": f"Bearer {token}"}
        await _confirm_http_config(session, args.ha, token)
        if args.velux or args.homely:
            print("==> Adding the simulated accounts")
        if args.velux:
            await _add_account(
                session, args.ha, headers, "velux_active", {**VELUX_ACCOUNT, "base_url": args.velux}
            )
        if args.homely:
            await _add_account(
                session, args.ha, headers, "homely", {**HOMELY_ACCOUNT, "base_url": args.homely}
            )
        if first_run:
            await _remove_offline_extras(session, args.ha, headers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ha", required=True)
    parser.add_argument("--velux", help="the VELUX simulator's address: add its account")
    parser.add_argument("--homely", help="the Homely simulator's address: add its account")
    asyncio.run(main(parser.parse_args()))
