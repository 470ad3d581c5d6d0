"""Loopback simulator of the VELUX ACTIVE cloud (Netatmo API family).

An :mod:`aiohttp` server that follows ``shared/reference/velux-active.md``: OAuth2
token endpoint (password grant with ``user_prefix=velux``, rotating refresh tokens),
``homesdata``, ``homestatus``, ``setstate`` (with signed commands), ``getscenarios``
and ``getuser``, plus knobs that inject the failures the integration must survive
(expired tokens, rate limits, timeouts, 5xx, garbage JSON, odd answers).

Movements and token expiry use a simulated clock (``time.monotonic()`` plus an
offset that :meth:`VeluxSimulator.advance` moves forward); positions are computed
when read, so the simulator never runs a background task of its own.

Signed commands are checked against a key table per gateway (filled by local pairing
through :mod:`simulator.netcom`, or by :meth:`VeluxSimulator.add_signing_key`).
``retrieve_key`` opens that gateway's Netcom listener.

The realtime WebSocket lives at ``/ws/`` on the same app: a client subscribes with an
access token and then gets a push (``push_type: embedded_json``) whenever a module or
room changes (commands, arrivals, knobs). Arrivals are published when
:meth:`VeluxSimulator.advance` passes them, and also in real time when
``realtime_arrivals`` is on (a timer per movement, not a task).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass, field
import hashlib
import hmac
import json
import math
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from .netcom import NetcomGateway
from .velux_model import (
    AWNING_ID,
    BEDROOM_ID,
    BLIND_ID,
    DEFAULT_PREFERRED_POSITION,
    GATEWAY,
    GATEWAY_ID,
    HOME_ID,
    LIVING_ROOM_ID,
    OPENER,
    REALISTIC_TRAVEL_TIMES,
    ROOM_CLIMATE_KEYS,
    SENSOR,
    SENSOR_ID,
    SENSOR_ROOM_ID,
    SHUTTER_ID,
    SMALL_GATEWAY_ID,
    SMALL_HOME_ID,
    SMALL_ROOM_ID,
    SMALL_SHUTTER_ID,
    SWITCH,
    SWITCH_ID,
    USER_ID,
    WINDOW_ID,
    Home,
    Module,
    Room,
    battery_millivolts,
    battery_state,
    demo_homes,
    demo_modules,
    new_module,
    signal_state,
)

__all__ = [
    "AWNING_ID",
    "BEDROOM_ID",
    "BLIND_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "GATEWAY_ID",
    "HOME_ID",
    "LIVING_ROOM_ID",
    "REALISTIC_TRAVEL_TIMES",
    "SCENARIOS",
    "SENSOR_ID",
    "SENSOR_ROOM_ID",
    "SHUTTER_ID",
    "SMALL_GATEWAY_ID",
    "SMALL_HOME_ID",
    "SMALL_ROOM_ID",
    "SMALL_SHUTTER_ID",
    "SWITCH_ID",
    "USER_ID",
    "WINDOW_ID",
    "WS_PATH",
    "NetcomGateway",
    "SimRequest",
    "VeluxSimulator",
    "sign_command",
    "sign_key_id_of",
]

DEMO_USERNAME = "demo@velux.example"
DEMO_PASSWORD = "velux-demo"
DEFAULT_CLIENT_ID = "5931426da127d981e76bdd3f"
DEFAULT_CLIENT_SECRET = "6ae2d89d15e767ae5c56b456b452d319"

TOKEN_PATH = "/oauth2/token"
HOMESDATA_PATH = "/api/homesdata"
HOMESTATUS_PATH = "/api/homestatus"
SYNC_HOMESTATUS_PATH = "/syncapi/v1/homestatus"
SETSTATE_PATH = "/syncapi/v1/setstate"
GETSCENARIOS_PATH = "/syncapi/v1/getscenarios"
GETUSER_PATH = "/api/getuser"
WS_PATH = "/ws/"

SCENARIOS = ("wake_up", "bedtime", "away", "home")
"""Scenarios a gateway accepts in setstate (``home`` must be signed)."""
RATE_LIMIT_KINDS = ("http429", "error26", "error11")
"""Kinds accepted by :meth:`VeluxSimulator.rate_limit_next`."""

CODE_MISSING_TOKEN = 1
CODE_INVALID_TOKEN = 2
CODE_EXPIRED_TOKEN = 3
CODE_UNREACHABLE = 6
CODE_NEEDS_SIGNATURE = 9
CODE_MISSING_ARGS = 10
CODE_INVALID_ID = 21
CODE_NONCE_REUSED = 28
CODE_SUBSCRIPTION_REFUSED = 500
"""Error code of a Subscribe the ``ws_refuse_subscriptions`` knob refuses."""

_OPENED_BY_WAKE_UP = frozenset({"shutter", "blind", "venetian_blind"})
_MALFORMED_BODY = '{"status": "ok", "body": {"homes": [{"id": '


@dataclass
class SimRequest:
    """One request received by the simulator."""

    method: str
    path: str
    form: dict[str, str]
    json: Any
    authorization: str | None


@dataclass(eq=False)
class _WsClient:
    """One WebSocket connection of the realtime endpoint."""

    ws: web.WebSocketResponse
    request: web.Request
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    subscribed: bool = False
    closing: bool = False


@dataclass
class _Fault:
    """A pending fault injected by a knob."""

    kind: str
    remaining: int
    path: str | None
    status: int = 500
    seconds: float = 0.0
    rate_kind: str = "http429"
    retry_after: int | None = None
    payload: Any = None


def sign_command(
    key: bytes, item: str, value: object, *, timestamp: int, nonce: int, device_id: str
) -> str:
    """Return the signature the cloud expects for a signed setstate item.

    ``base64url(HMAC-SHA512(key, item + str(value) + str(timestamp) + str(nonce) + device_id))``
    with ``=`` padding kept (88 characters).
    """
    message = f"{item}{value}{timestamp}{nonce}{device_id}".encode()
    digest = hmac.new(key, message, hashlib.sha512).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def sign_key_id_of(key_id: bytes) -> str:
    """Return the ``sign_key_id`` of a 16-byte key id: base64url with padding."""
    return base64.urlsafe_b64encode(key_id).decode("ascii")


def _error(status: int, code: int, message: str) -> web.Response:
    """Return a Netatmo error answer."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _oauth_error(error: str) -> web.Response:
    """Return an OAuth2 error answer (HTTP 400)."""
    return web.json_response({"error": error}, status=400)


def _as_int(value: object) -> int | None:
    """Return ``value`` when it is a real integer (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _parse_types(raw: str | None) -> set[str] | None:
    """Parse ``gateway_types`` (``[NXG]``, ``NXG,NXB`` or a JSON list) into a set."""
    if not raw:
        return None
    return {part.strip(" \"'") for part in raw.strip("[]").split(",") if part.strip(" \"'")}


class VeluxSimulator:
    """A VELUX ACTIVE cloud on the loopback interface.

    Holds two homes (:data:`HOME_ID` "Home" and :data:`SMALL_HOME_ID` "Cabin"),
    records every request and offers knobs for state changes and injected faults.
    """

    def __init__(
        self,
        *,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        move_speed: float | None = None,
        access_token_lifetime: int = 10800,
        epoch: float | None = None,
        travel_times: Mapping[str, float] | None = None,
        realistic: bool = True,
        realtime_arrivals: bool = False,
    ) -> None:
        """Build the demo account.

        Openers move as real ones do (:data:`REALISTIC_TRAVEL_TIMES`, 20-45 s for a full
        move) unless ``move_speed`` is given (percent per simulated second, the same for
        every opener; 0 = instant moves) or ``realistic`` is False (20 %/s).
        ``epoch`` freezes the wall clock (``last_seen``, ``time_server``) at that Unix
        time plus :meth:`advance` offsets, which keeps snapshots stable.
        ``travel_times`` gives seconds of a full move (0 -> 100) per ``velux_type``
        and wins over ``move_speed`` for those types; ``realistic=True`` uses
        :data:`REALISTIC_TRAVEL_TIMES` (20-45 s). ``realtime_arrivals`` publishes
        arrival events in real time too (otherwise only :meth:`advance` and reads do).
        """
        self.username = username
        self.password = password
        self.client_id = client_id
        self.client_secret = client_secret
        self._move_speed = 20.0 if move_speed is None else move_speed
        self.access_token_lifetime = access_token_lifetime
        self.refuse_refresh = False
        self.omit_token_expiry = False
        """Answer tokens without ``expires_in`` / ``expire_in`` (they still expire)."""
        self.travel_times: dict[str, float] = dict(travel_times if travel_times is not None else {})
        if realistic and travel_times is None and move_speed is None:
            self.travel_times = dict(REALISTIC_TRAVEL_TIMES)
        self.realtime_arrivals = realtime_arrivals
        self.sign_key: bytes | None = None
        """A legacy key valid for EVERY gateway (next to the per-gateway table)."""
        self.sign_key_id: str | None = None
        """The key id of :attr:`sign_key`; None = any key id goes with that key."""
        self.signing_keys: dict[str, dict[str, bytes]] = {}
        """Key table per gateway: gateway id -> {sign_key_id: key}."""

        self.ws_extra_params_as_string = False
        """Send ``extra_params`` of pushes as a JSON string."""
        self.ws_unknown_layout = False
        """Send pushes whose ``extra_params`` only name ``home_id``."""
        self.ws_refuse_subscriptions = False
        """Refuse every Subscribe (error status, then close)."""
        self.revoked_homes: set[str] = set()
        """Homes whose share was revoked: homestatus answers error 21 (homesdata still lists
        them, as it does for a while)."""
        self.bare_homes: set[str] = set()
        """Homes that homesdata lists without their ``modules`` (a partial answer)."""
        self.ws_enabled = True
        """False: the realtime service is down (``/ws/`` answers HTTP 503)."""
        self.ws_push_paused = False
        """Stop pushing events (heartbeats are still answered)."""
        self.ws_stalled = False
        """Stall every connection: no pushes, no replies, no pongs."""
        self.ws_connections = 0
        """WebSocket connections accepted so far."""
        self.ws_subscriptions = 0
        """Successful subscriptions so far."""
        self.ws_refused = 0
        """Refused subscriptions so far."""
        self.ws_messages: list[Any] = []
        """Every message received on the WebSocket (decoded JSON, or the text)."""
        self.pushed_events: list[dict[str, Any]] = []
        """Every state event published (as sent, before the string knob), subscribers or not."""

        self.requests: list[SimRequest] = []
        self.issued_tokens: list[str] = []
        """Every access and refresh token issued so far (secrets a log must never show)."""
        self.setstate_bodies: list[dict[str, Any]] = []
        self.password_logins = 0
        self.refresh_logins = 0
        self.identify_requests: list[str] = []
        self.retrieve_key_requests: list[str] = []
        self.last_scenario: dict[str, str] = {}
        self.departure_homes: set[str] = set()

        self._epoch = epoch
        self._offset = 0.0
        self._access_tokens: dict[str, float] = {}
        self._refresh_tokens: set[str] = set()
        self._used_nonces: set[tuple[int, int]] = set()
        self._netcom: dict[str, NetcomGateway] = {}
        self._pending_opens: list[str] = []
        self._ws_clients: set[_WsClient] = set()
        self._published: dict[str, dict[str, dict[str, Any]]] = {}
        self._published_rooms: dict[str, dict[str, dict[str, Any]]] = {}
        self._arrival_timer: asyncio.TimerHandle | None = None
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._stopping = asyncio.Event()
        self._faults: list[_Fault] = []
        self.delayed = 0
        """Requests a ``delay_next`` fault holds right now (they wait for the clock to move)."""
        self._homes: dict[str, Home] = {home.id: home for home in demo_homes()}
        self._modules: dict[str, Module] = {}
        for home_id, module, status in demo_modules():
            self.add_module(home_id, module, status)
        self._publish()

        self.app = web.Application(middlewares=[self._middleware])
        self.app.router.add_post(TOKEN_PATH, self._handle_token)
        self.app.router.add_route("*", HOMESDATA_PATH, self._handle_homesdata)
        self.app.router.add_route("*", HOMESTATUS_PATH, self._handle_homestatus)
        self.app.router.add_post(SYNC_HOMESTATUS_PATH, self._handle_homestatus)
        self.app.router.add_post(SETSTATE_PATH, self._handle_setstate)
        self.app.router.add_post(GETSCENARIOS_PATH, self._handle_getscenarios)
        self.app.router.add_route("*", GETUSER_PATH, self._handle_getuser)
        self.app.router.add_get(WS_PATH, self._handle_ws)
        self.app.router.add_route("*", "/{tail:.*}", self._handle_unknown)

    # ------------------------------------------------------------------ server

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving on ``host``:``port`` (0 = a free port)."""
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            self.app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving; delayed requests are released at once.

        WebSocket clients get a close frame (1001), Netcom listeners and their
        reserved ports are closed.
        """
        self._stopping.set()
        if self._arrival_timer is not None:
            self._arrival_timer.cancel()
            self._arrival_timer = None
        await self.ws_disconnect()
        for gateway in self._netcom.values():
            await gateway.aclose()
        self._netcom.clear()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` of the running server."""
        if self._port is None:
            raise RuntimeError("The simulator is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def ws_url(self) -> str:
        """Return ``ws://127.0.0.1:<port>/ws/`` of the running server."""
        return "ws" + self.base_url.removeprefix("http") + WS_PATH

    def count(self, path: str) -> int:
        """Return how many requests were made to ``path``."""
        return sum(1 for request in self.requests if request.path == path)

    # ------------------------------------------------------------------- clock

    def now(self) -> float:
        """Return the simulated monotonic clock (movements, token expiry)."""
        return time.monotonic() + self._offset

    def wall_time(self) -> int:
        """Return the simulated Unix time (``last_seen``, ``time_server``)."""
        base = time.time() if self._epoch is None else self._epoch
        return int(base + self._offset)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward.

        Movements that end meanwhile are published (arrival events) and Netcom
        listeners whose window passed close.
        """
        self._offset += seconds
        for gateway in self._netcom.values():
            gateway.check_window()
        self._publish()

    def finish_movements(self) -> None:
        """Put every opener at the end of its movement (its target, or an obstacle)."""
        now = self.now()
        for module in self._modules.values():
            if module.type == OPENER:
                end = module.end()
                if end != module.target:
                    module.obstacle = None
                module.jump(end, now)
        self._publish()

    @property
    def move_speed(self) -> float:
        """Return the speed (percent per simulated second) of openers without a travel time."""
        return self._move_speed

    @move_speed.setter
    def move_speed(self, speed: float) -> None:
        """Move every opener at ``speed`` from now on (0 = instant; travel times dropped)."""
        self._move_speed = speed
        self.travel_times = {}

    def speed(self, module_id: str) -> float:
        """Return the speed of an opener in percent per simulated second (0 = instant)."""
        return self._speed(self._modules[module_id])

    def _speed(self, module: Module) -> float:
        travel = self.travel_times.get(module.velux_type or "")
        if travel is None:
            return self.move_speed
        return 100.0 / travel if travel > 0 else 0.0

    def stop_short(self, module_id: str, position: int | None) -> None:
        """Make the next movement of an opener across ``position`` stop there.

        An obstacle (or rain on the sash): the opener stops at ``position`` and then
        reports it as its current and target position. None removes the obstacle.
        Applies to a movement in progress too.
        """
        self._modules[module_id].obstacle = position
        self._publish()

    # ------------------------------------------------------------------- state

    def module(self, module_id: str) -> Module:
        """Return the internal state of a module (for assertions)."""
        return self._modules[module_id]

    def position(self, module_id: str) -> int:
        """Return the current (rounded) position of an opener."""
        module = self._modules[module_id]
        return round(module.position(self.now(), self._speed(module)))

    def target(self, module_id: str) -> int:
        """Return the target position of an opener (where it stopped after an obstacle)."""
        module = self._modules[module_id]
        module.settle(self.now(), self._speed(module))
        return module.target

    def set_raining(self, home_id: str, raining: bool) -> None:
        """Set ``is_raining`` on the gateways of a home.

        Rain also sends the home's windows down to their ``rain_position``.
        """
        now = self.now()
        for module in self._home_modules(home_id):
            if module.type == GATEWAY:
                module.status["is_raining"] = raining
            elif raining and module.velux_type == "window":
                rain_position = int(module.status.get("rain_position", 0))
                if module.target > rain_position:
                    module.move_to(rain_position, now, self._speed(module))
        self._publish(home_id)

    def set_position(self, module_id: str, position: int) -> None:
        """Put an opener at ``position`` (current and target)."""
        self._modules[module_id].jump(position, self.now())
        self._publish()

    def set_reachable(self, module_id: str, reachable: bool) -> None:
        """Make a module (un)reachable; an unreachable gateway takes its modules along."""
        module = self._modules[module_id]
        if module.reachable and not reachable:
            module.frozen_last_seen = self.wall_time()
            now = self.now()
            for item in [module, *self._bridged(module.id)]:
                if item.type == OPENER:
                    item.stop(now, self._speed(item))
        elif reachable:
            module.frozen_last_seen = None
        module.reachable = reachable
        self._publish()

    def set_room_climate(self, room_id: str, **values: Any) -> None:
        """Set climate values of a room (``temperature`` in tenths); None removes a value."""
        unknown = set(values) - ROOM_CLIMATE_KEYS
        if unknown:
            raise ValueError(f"Unknown room climate keys: {sorted(unknown)}")
        room = self._room(room_id)
        for key, value in values.items():
            if value is None:
                room.climate.pop(key, None)
            else:
                room.climate[key] = value
        self._publish()

    def set_battery(self, module_id: str, percent: int) -> None:
        """Set the battery charge of an NXS / NXD."""
        self._modules[module_id].battery_percent = percent
        self._publish()

    def set_status(self, module_id: str, **values: Any) -> None:
        """Override static homestatus keys of a module (``wifi_strength``, ``mode``...)."""
        self._modules[module_id].status.update(values)
        self._publish()

    def add_module(
        self, home_id: str, module: dict[str, Any], status: dict[str, Any] | None = None
    ) -> None:
        """Add a module given as its homesdata entry plus optional homestatus keys.

        A ``room_id`` that does not exist yet creates that room.
        """
        home = self._homes[home_id]
        item = new_module(home_id, module, status, self.now())
        if item.room_id is not None and item.room_id not in home.rooms:
            home.rooms[item.room_id] = Room(item.room_id, f"Room {item.room_id}")
        self._modules[item.id] = item
        if self._published:
            self._publish()

    def remove_module(self, module_id: str) -> None:
        """Remove a module (modules bridged by a removed gateway stay)."""
        del self._modules[module_id]

    def set_bridge(self, module_id: str, bridge_id: str) -> None:
        """Move a module to another bridge (its homesdata ``bridge`` changes)."""
        self._modules[module_id].bridge = bridge_id
        self._publish()

    def remove_home_gateways(self) -> None:
        """Remove every gateway and the modules they bridge (an account without NXG)."""
        gateways = {m.id for m in self._modules.values() if m.type == GATEWAY}
        for module_id in [
            m.id for m in self._modules.values() if m.id in gateways or m.bridge in gateways
        ]:
            del self._modules[module_id]

    def add_home(self, home_id: str, name: str) -> None:
        """Add an empty home to the account."""
        self._homes[home_id] = Home(id=home_id, name=name)

    def remove_home(self, home_id: str) -> None:
        """Remove a home and its modules from the account."""
        del self._homes[home_id]
        for module_id in [m.id for m in self._home_modules(home_id)]:
            del self._modules[module_id]

    # ------------------------------------------------------------------ tokens

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (Netatmo code 3)."""
        for token in self._access_tokens:
            self._access_tokens[token] = -math.inf

    def revoke_tokens(self) -> None:
        """Forget every access and refresh token (code 2 / ``invalid_grant``)."""
        self._access_tokens.clear()
        self._refresh_tokens.clear()

    def set_password(self, password: str) -> None:
        """Change the account password (the old one now gives ``invalid_grant``)."""
        self.password = password

    # ------------------------------------------------------------ signing keys

    def add_signing_key(self, gateway_id: str, key_id: bytes | str, key: bytes) -> str:
        """Add a key to a gateway's key table; return its ``sign_key_id``.

        ``key_id`` is the 16-byte id or its ``sign_key_id`` string. A gateway's key
        signs only the commands of that gateway's modules.
        """
        sign_key_id = key_id if isinstance(key_id, str) else sign_key_id_of(key_id)
        self.signing_keys.setdefault(gateway_id, {})[sign_key_id] = key
        return sign_key_id

    def remove_signing_keys(self, gateway_id: str) -> None:
        """Empty a gateway's key table."""
        self.signing_keys.pop(gateway_id, None)

    def _key_for(self, gateway_id: str | None, sign_key_id: object) -> bytes | None:
        if not isinstance(sign_key_id, str):
            return None
        key = self.signing_keys.get(gateway_id or "", {}).get(sign_key_id)
        if key is not None:
            return key
        if self.sign_key is not None and self.sign_key_id in (None, sign_key_id):
            return self.sign_key
        return None

    # ------------------------------------------------------------------ netcom

    def netcom(self, gateway_id: str) -> NetcomGateway:
        """Return the Netcom listener of a gateway (its port is reserved on first use)."""
        gateway = self._netcom.get(gateway_id)
        if gateway is None:
            gateway = NetcomGateway(gateway_id, clock=self.now, on_key=self._paired)
            self._netcom[gateway_id] = gateway
        return gateway

    def _paired(self, gateway_id: str, key_id: bytes, key: bytes) -> None:
        self.add_signing_key(gateway_id, key_id, key)

    # ------------------------------------------------------------------ faults

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """Answer the next ``count`` requests (to ``path`` prefix) with HTTP ``status``."""
        self._add_fault(_Fault("fail", count, path, status=status))

    def delay_next(self, count: int = 1, *, seconds: float = 30.0, path: str | None = None) -> None:
        """Hold the next ``count`` requests for ``seconds`` of real time (released at stop)."""
        self._add_fault(_Fault("delay", count, path, seconds=seconds))

    def rate_limit_next(
        self,
        count: int = 1,
        *,
        kind: str = "http429",
        path: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Rate-limit the next ``count`` requests.

        Kinds: ``http429`` (HTTP 429 code 26 "Maximum api usage reached"), ``error26``
        (HTTP 403 code 26 "User usage reached"), ``error11`` (HTTP 429 code 11 "Failed
        to enter concurrency limited section"). ``retry_after`` adds a Retry-After header.
        """
        if kind not in RATE_LIMIT_KINDS:
            raise ValueError(f"Unknown rate limit kind {kind!r}")
        self._add_fault(_Fault("rate", count, path, rate_kind=kind, retry_after=retry_after))

    def malformed_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Answer the next ``count`` requests with HTTP 200 and invalid JSON."""
        self._add_fault(_Fault("malformed", count, path))

    def reply_next(
        self, count: int = 1, *, payload: Any, status: int = 200, path: str | None = None
    ) -> None:
        """Answer the next ``count`` requests (to ``path`` prefix) with ``payload`` verbatim.

        A string is sent as an HTML page (a proxy's maintenance page); anything else as
        JSON, e.g. ``{"status": "ok", "body": {}}`` for an answer without homes.
        """
        self._add_fault(_Fault("reply", count, path, status=status, payload=payload))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining > 0:
            self._faults.append(fault)

    async def _apply_faults(self, path: str) -> web.StreamResponse | None:
        for fault in list(self._faults):
            if fault.path is not None and not path.startswith(fault.path):
                continue
            if fault.path is None and path == WS_PATH:
                continue  # the WebSocket only gets faults aimed at it
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            if fault.kind == "delay":
                self.delayed += 1
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), fault.seconds)
                finally:
                    self.delayed -= 1
                continue
            return self._fault_response(fault)
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> web.Response:
        if fault.kind == "malformed":
            return web.Response(text=_MALFORMED_BODY, content_type="application/json")
        if fault.kind == "reply":
            if isinstance(fault.payload, str):
                return web.Response(
                    status=fault.status, text=fault.payload, content_type="text/html"
                )
            return web.json_response(fault.payload, status=fault.status)
        if fault.kind == "rate":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            if fault.rate_kind == "error26":
                status, code, message = 403, 26, "User usage reached"
            elif fault.rate_kind == "error11":
                status, code, message = 429, 11, "Failed to enter concurrency limited section"
            else:
                status, code, message = 429, 26, "Maximum api usage reached"
            return web.json_response(
                {"error": {"code": code, "message": message}}, status=status, headers=headers
            )
        if fault.status >= 500:
            return web.Response(
                status=fault.status,
                text=f"<html><body><h1>{fault.status} Server Error</h1></body></html>",
                content_type="text/html",
            )
        return _error(fault.status, fault.status, "Injected failure")

    # ------------------------------------------------------------- HTTP layer

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.path == WS_PATH:
            # Not recorded in ``requests``; only faults aimed at the path apply.
            fault = await self._apply_faults(request.path)
            if fault is not None:
                return fault
            return await handler(request)
        form: dict[str, str] = dict(request.query)
        payload: Any = None
        if request.can_read_body:
            if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                posted = await request.post()
                form.update({k: v for k, v in posted.items() if isinstance(v, str)})
            else:
                text = await request.text()
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = None
        self.requests.append(
            SimRequest(
                method=request.method,
                path=request.path,
                form=form,
                json=payload,
                authorization=request.headers.get("Authorization"),
            )
        )
        if request.path == SETSTATE_PATH and isinstance(payload, dict):
            self.setstate_bodies.append(payload)
        fault = await self._apply_faults(request.path)
        if fault is not None:
            return fault
        request["sim_form"] = form
        request["sim_json"] = payload
        response: web.StreamResponse = await handler(request)
        return response

    def _ok(self, body: Any) -> web.Response:
        return web.json_response(
            {"status": "ok", "body": body, "time_exec": 0.012, "time_server": self.wall_time()}
        )

    def _authorize(self, request: web.Request) -> web.Response | None:
        """Return an error answer unless the request carries a valid access token."""
        header = request.headers.get("Authorization", "")
        token: Any = None
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        if not token:
            token = request["sim_form"].get("access_token")
        payload = request["sim_json"]
        if not token and isinstance(payload, dict):
            token = payload.get("access_token")
        problem = self._token_problem(token)
        if problem is not None:
            status, code, message = problem
            return _error(status, code, message)
        return None

    def _token_problem(self, token: object) -> tuple[int, int, str] | None:
        """Return ``(HTTP status, code, message)`` when ``token`` is not usable."""
        if not token:
            return 401, CODE_MISSING_TOKEN, "Access token is missing"
        expires_at = self._access_tokens.get(str(token))
        if expires_at is None:
            return 403, CODE_INVALID_TOKEN, "Invalid access token"
        if expires_at <= self.now():
            return 403, CODE_EXPIRED_TOKEN, "Access token expired"
        return None

    @staticmethod
    def _param(request: web.Request, name: str) -> str | None:
        """Return a parameter from the JSON body or the form / query."""
        payload = request["sim_json"]
        if isinstance(payload, dict) and payload.get(name) is not None:
            return str(payload[name])
        value: str | None = request["sim_form"].get(name)
        return value

    async def _handle_token(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["sim_form"]
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return _oauth_error("invalid_client")
        grant = form.get("grant_type")
        if grant == "password":
            if (
                form.get("user_prefix") != "velux"
                or form.get("username", "").casefold() != self.username.casefold()
                or form.get("password") != self.password
            ):
                return _oauth_error("invalid_grant")
            self.password_logins += 1
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if self.refuse_refresh or refresh not in self._refresh_tokens:
                return _oauth_error("invalid_grant")
            self._refresh_tokens.discard(refresh)
            self.refresh_logins += 1
        else:
            return _oauth_error("unsupported_grant_type")
        access = f"{USER_ID}|{secrets.token_hex(16)}"
        refresh = f"{USER_ID}|{secrets.token_hex(16)}"
        self._access_tokens[access] = self.now() + self.access_token_lifetime
        self._refresh_tokens.add(refresh)
        self.issued_tokens += (access, refresh)
        answer: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "scope": ["all_scopes"],
        }
        if not self.omit_token_expiry:
            answer["expires_in"] = self.access_token_lifetime
            answer["expire_in"] = self.access_token_lifetime
        return web.json_response(answer)

    async def _handle_homesdata(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        types = _parse_types(self._param(request, "gateway_types"))
        wanted = self._param(request, "home_id")
        homes = [
            self._home_data(home, types)
            for home in self._homes.values()
            if wanted is None or home.id == wanted
        ]
        for home in homes:
            if home["id"] in self.bare_homes:
                del home["modules"]
        user = {
            "id": USER_ID,
            "email": self.username,
            "language": "en-US",
            "locale": "en-GB",
            "country": "DK",
            "feel_like_algorithm": 0,
            "unit_pressure": 0,
            "unit_system": 0,
            "unit_wind": 0,
        }
        return self._ok({"homes": homes, "user": user})

    async def _handle_homestatus(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        home_id = self._param(request, "home_id")
        if home_id is None:
            return _error(400, CODE_MISSING_ARGS, "Missing arguments")
        if home_id not in self._homes or home_id in self.revoked_homes:
            return _error(400, CODE_INVALID_ID, "Invalid id")
        return self._ok(self._home_status(home_id))

    async def _handle_getscenarios(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        home_id = self._param(request, "home_id")
        if home_id is None:
            return _error(400, CODE_MISSING_ARGS, "Missing arguments")
        if home_id not in self._homes:
            return _error(400, CODE_INVALID_ID, "Invalid id")
        scenarios = [
            {
                "type": scenario,
                "id": scenario,
                "category": "velux",
                "customizable": scenario != "home",
                "editable": scenario != "home",
                "deletable": False,
            }
            for scenario in SCENARIOS
        ]
        return self._ok({"home": {"id": home_id, "scenarios": scenarios}})

    async def _handle_getuser(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        return self._ok(
            {
                "_id": USER_ID,
                "not_associable": False,
                "mail": self.username,
                "account_validation": {"validated_mail": True, "validation_date": 1_612_345_000},
                "fb_chatbot_available": False,
                "app_telemetry": True,
                "administrative": {
                    "unit": 0,
                    "windunit": 0,
                    "pressureunit": 0,
                    "feel_like_algo": 0,
                    "reg_locale": "en-GB",
                    "lang": "en",
                },
            }
        )

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return _error(404, 404, "Not found")

    # ---------------------------------------------------------------- setstate

    async def _handle_setstate(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        payload = request["sim_json"]
        home = payload.get("home") if isinstance(payload, dict) else None
        if (
            not isinstance(home, dict)
            or "id" not in home
            or not isinstance(home.get("modules"), list)
        ):
            return _error(400, CODE_MISSING_ARGS, "Missing arguments")
        home_id = str(home["id"])
        if home_id not in self._homes:
            return _error(400, CODE_INVALID_ID, "Invalid id")
        errors: list[dict[str, Any]] = []
        self._pending_opens = []
        for entry in home["modules"]:
            code = self._apply_entry(home_id, entry)
            if code is not None:
                module_id = entry.get("id") if isinstance(entry, dict) else None
                errors.append({"code": code, "id": module_id})
        opens, self._pending_opens = self._pending_opens, []
        for gateway_id in opens:
            await self.netcom(gateway_id).open()
        self._publish(home_id)
        body: dict[str, Any] = {"home": {"id": home_id}}
        if errors:
            body["errors"] = errors
        return self._ok(body)

    def _apply_entry(self, home_id: str, entry: object) -> int | None:
        """Apply one module entry of a setstate call; return an error code or None."""
        if not isinstance(entry, dict):
            return CODE_INVALID_ID
        module = self._modules.get(str(entry.get("id")))
        if module is None or module.home_id != home_id:
            return CODE_INVALID_ID
        bridge = entry.get("bridge")
        if bridge is not None and module.bridge is not None and str(bridge) != module.bridge:
            return CODE_INVALID_ID
        if module.type == GATEWAY:
            return self._apply_gateway(module, entry)
        if module.type == OPENER:
            return self._apply_opener(module, entry)
        return CODE_INVALID_ID

    def _apply_gateway(self, module: Module, entry: dict[str, Any]) -> int | None:
        if not {"stop_movements", "scenario", "identify", "retrieve_key"} & entry.keys():
            return CODE_INVALID_ID
        if "stop_movements" in entry and entry["stop_movements"] != "all":
            return CODE_INVALID_ID
        scenario = entry.get("scenario")
        if "scenario" in entry and scenario not in SCENARIOS:
            return CODE_INVALID_ID
        if not self._reachable(module):
            return CODE_UNREACHABLE
        if scenario == "home":
            code = self._check_signature(entry, "scenario", scenario, module.id, module.id)
            if code is not None:
                return code
        now = self.now()
        if "stop_movements" in entry:
            for item in self._bridged(module.id):
                if item.type == OPENER:
                    item.stop(now, self._speed(item))
        if isinstance(scenario, str):
            self._run_scenario(module, scenario)
        if entry.get("identify") is True:
            self.identify_requests.append(module.id)
        if entry.get("retrieve_key") is True:
            self.retrieve_key_requests.append(module.id)
            self._pending_opens.append(module.id)
        return None

    def _run_scenario(self, gateway: Module, scenario: str) -> None:
        now = self.now()
        self.last_scenario[gateway.home_id] = scenario
        if scenario == "away":
            self.departure_homes.add(gateway.home_id)
            gateway.status["locked"] = True  # departure mode: the gateway locks
        elif scenario == "home":
            self.departure_homes.discard(gateway.home_id)
            gateway.status["locked"] = False
        for item in self._bridged(gateway.id):
            if item.type != OPENER or not self._reachable(item):
                continue
            if scenario == "wake_up" and item.velux_type in _OPENED_BY_WAKE_UP:
                item.move_to(100, now, self._speed(item))
            elif scenario in ("bedtime", "away"):
                item.move_to(0, now, self._speed(item))

    def _apply_opener(self, module: Module, entry: dict[str, Any]) -> int | None:
        if not {"target_position", "silent", "mode"} & entry.keys():
            return CODE_INVALID_ID
        value = _as_int(entry.get("target_position"))
        if "target_position" in entry and (value is None or not -2 <= value <= 100):
            return CODE_INVALID_ID
        if "silent" in entry and not isinstance(entry["silent"], bool):
            return CODE_INVALID_ID
        if "mode" in entry and entry["mode"] not in ("auto", "algo_disabled"):
            return CODE_INVALID_ID
        if not self._reachable(module):
            return CODE_UNREACHABLE
        if value is not None and module.velux_type == "window" and value not in (0, -1):
            if self._raining(module) and entry.get("force") is not True:
                return CODE_UNREACHABLE
            code = self._check_signature(entry, "target_position", value, module.id, module.bridge)
            if code is not None:
                return code
        if "silent" in entry:
            module.status["silent"] = entry["silent"]
        if "mode" in entry:
            module.status["mode"] = entry["mode"]
        now = self.now()
        speed = self._speed(module)
        if value == -1:
            module.stop(now, speed)
        elif value == -2:
            module.move_to(DEFAULT_PREFERRED_POSITION, now, speed)
        elif value is not None:
            module.move_to(value, now, speed)
        return None

    def _check_signature(
        self,
        entry: dict[str, Any],
        item: str,
        value: object,
        device_id: str,
        gateway_id: str | None,
    ) -> int | None:
        """Return 9 for a missing / wrong signature, 28 for a reused pair, else None.

        The key comes from the key table of ``gateway_id`` (the module's bridge) by
        ``sign_key_id``, or is the legacy :attr:`sign_key` valid for every gateway.
        """
        timestamp = _as_int(entry.get("timestamp"))
        nonce = _as_int(entry.get("nonce"))
        given = entry.get(f"hash_{item}")
        if timestamp is None or nonce is None or not isinstance(given, str):
            return CODE_NEEDS_SIGNATURE
        key = self._key_for(gateway_id, entry.get("sign_key_id"))
        if key is None:
            return CODE_NEEDS_SIGNATURE
        expected = sign_command(
            key, item, value, timestamp=timestamp, nonce=nonce, device_id=device_id
        )
        if not hmac.compare_digest(expected, given):
            return CODE_NEEDS_SIGNATURE
        if (timestamp, nonce) in self._used_nonces:
            return CODE_NONCE_REUSED
        self._used_nonces.add((timestamp, nonce))
        return None

    # --------------------------------------------------------------- rendering

    def _room(self, room_id: str) -> Room:
        for home in self._homes.values():
            if room_id in home.rooms:
                return home.rooms[room_id]
        raise KeyError(room_id)

    def _home_modules(self, home_id: str) -> list[Module]:
        return [m for m in self._modules.values() if m.home_id == home_id]

    def _bridged(self, gateway_id: str) -> list[Module]:
        return [m for m in self._modules.values() if m.bridge == gateway_id]

    def _reachable(self, module: Module) -> bool:
        if not module.reachable:
            return False
        bridge = self._modules.get(module.bridge) if module.bridge else None
        return bridge is None or bridge.reachable

    def _raining(self, module: Module) -> bool:
        bridge = self._modules.get(module.bridge) if module.bridge else None
        return bridge is not None and bool(bridge.status.get("is_raining"))

    def _last_seen(self, module: Module) -> int:
        if module.frozen_last_seen is not None:
            return module.frozen_last_seen
        bridge = self._modules.get(module.bridge) if module.bridge else None
        if bridge is not None and bridge.frozen_last_seen is not None:
            return bridge.frozen_last_seen
        return self.wall_time() - (5 if module.type == GATEWAY else 40)

    def _home_data(self, home: Home, types: set[str] | None) -> dict[str, Any]:
        modules = self._home_modules(home.id)
        if types is not None:
            kept = {m.id for m in modules if m.type in types}
            modules = [m for m in modules if m.id in kept or m.bridge in kept]
        rooms = [
            {
                "id": room.id,
                "name": room.name,
                "type": room.type,
                "module_ids": [m.id for m in modules if m.room_id == room.id],
            }
            for room in home.rooms.values()
        ]
        return {
            "id": home.id,
            "name": home.name,
            "altitude": home.altitude,
            "coordinates": list(home.coordinates),
            "country": home.country,
            "timezone": home.timezone,
            "rooms": rooms,
            "modules": [self._module_data(m) for m in modules],
            "schedules": [],
            "persons": [],
        }

    def _module_data(self, module: Module) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": module.id,
            "type": module.type,
            "name": module.name,
            "setup_date": module.setup_date,
        }
        if module.type == GATEWAY:
            data["reachable"] = module.reachable
            data["modules_bridged"] = [m.id for m in self._bridged(module.id)]
        if module.bridge is not None:
            data["bridge"] = module.bridge
        if module.room_id is not None:
            data["room_id"] = module.room_id
        if module.velux_type is not None:
            data["velux_type"] = module.velux_type
        data.update(module.extra)
        return data

    def _home_status(self, home_id: str) -> dict[str, Any]:
        now = self.now()
        modules: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for module in self._home_modules(home_id):
            if module.type == OPENER:
                module.settle(now, self._speed(module))
        for module in self._home_modules(home_id):
            reachable = self._reachable(module)
            item: dict[str, Any] = {"id": module.id, "type": module.type}
            if module.type == GATEWAY:
                item.update(module.status)
                item["busy"] = any(
                    m.type == OPENER and m.moving(now, self._speed(m))
                    for m in self._bridged(module.id)
                )
            else:
                if module.bridge is not None:
                    item["bridge"] = module.bridge
                item["reachable"] = reachable
                item.update(module.status)
            if module.type == OPENER:
                item["velux_type"] = module.velux_type
                item["current_position"] = round(module.position(now, self._speed(module)))
                item["target_position"] = module.target
            if module.battery_percent is not None:
                percent = module.battery_percent
                item["battery_percent"] = percent
                item["battery_level"] = battery_millivolts(percent)
                item["battery_state"] = battery_state(percent)
            if module.type in (SENSOR, SWITCH):
                item["rf_state"] = signal_state(int(item.get("rf_strength", 70)))
            item["last_seen"] = self._last_seen(module)
            modules.append(item)
            if not reachable:
                errors.append({"code": CODE_UNREACHABLE, "id": module.id})
        rooms = [{"id": room.id, **room.climate} for room in self._homes[home_id].rooms.values()]
        return {"home": {"id": home_id, "modules": modules, "rooms": rooms}, "errors": errors}

    # ---------------------------------------------------------------- pushes

    def _push_view(self, home_id: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """Return the state a push compares: modules (no ``last_seen``) and rooms.

        A moving opener leaves ``current_position`` out, so that a push carries the
        start (target) and the end (current == target) of a movement, not every step.
        """
        now = self.now()
        status = self._home_status(home_id)
        modules: dict[str, dict[str, Any]] = {}
        for item in status["home"]["modules"]:
            view = {key: value for key, value in item.items() if key != "last_seen"}
            module = self._modules[item["id"]]
            if module.type == OPENER and module.moving(now, self._speed(module)):
                view.pop("current_position", None)
            modules[item["id"]] = view
        rooms = {room["id"]: room for room in status["home"]["rooms"]}
        return modules, rooms

    @staticmethod
    def _diff(
        published: dict[str, dict[str, Any]], current: Mapping[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Return ``[{"id", changed fields}]`` and remember ``current``; new ids are silent."""
        changes: list[dict[str, Any]] = []
        for item_id, view in current.items():
            before = published.get(item_id)
            if before is None:
                published[item_id] = dict(view)
                continue
            changed = {
                key: value
                for key, value in view.items()
                if key not in before or before[key] != value
            }
            before.update(view)
            for key in set(before) - set(view) - {"current_position"}:
                del before[key]
            if changed:
                changes.append({"id": item_id, **changed})
        for item_id in set(published) - set(current):
            del published[item_id]
        return changes

    def _publish(self, home_id: str | None = None) -> None:
        """Push what changed since the last publication (of one home, or of all)."""
        for hid in [home_id] if home_id is not None else list(self._homes):
            if hid not in self._homes:
                continue
            modules, rooms = self._push_view(hid)
            changed_modules = self._diff(self._published.setdefault(hid, {}), modules)
            changed_rooms = self._diff(self._published_rooms.setdefault(hid, {}), rooms)
            if changed_modules or changed_rooms:
                home: dict[str, Any] = {"id": hid, "modules": changed_modules}
                if changed_rooms:
                    home["rooms"] = changed_rooms
                self._push_state(hid, home)
        self._schedule_arrivals()

    def _push_state(self, home_id: str, home: dict[str, Any]) -> None:
        extra: Any = {"home_id": home_id} if self.ws_unknown_layout else {"home": home}
        if self.ws_extra_params_as_string:
            extra = json.dumps(extra)
        message = {"push_type": "embedded_json", "extra_params": extra}
        self.pushed_events.append(message)
        if not self.ws_push_paused:
            self._broadcast(json.dumps(message))

    def _broadcast(self, text: str) -> None:
        if self.ws_stalled:
            return
        for client in self._ws_clients:
            if client.subscribed:
                client.queue.put_nowait(("text", text))

    def _schedule_arrivals(self) -> None:
        """With ``realtime_arrivals``, wake up when the next movement ends."""
        if self._arrival_timer is not None:
            self._arrival_timer.cancel()
            self._arrival_timer = None
        if not self.realtime_arrivals or self._runner is None:
            return
        now = self.now()
        ends = [
            arrival
            for module in self._modules.values()
            if module.type == OPENER
            and (arrival := module.arrival(self._speed(module))) is not None
            and arrival > now
        ]
        if ends:
            delay = min(ends) - now + 0.001
            self._arrival_timer = asyncio.get_running_loop().call_later(delay, self._publish)

    # ------------------------------------------------------------- WebSocket

    @property
    def ws_subscribers(self) -> int:
        """Return how many connections are subscribed right now."""
        return sum(1 for client in self._ws_clients if client.subscribed)

    async def wait_for_ws_subscribers(self, count: int = 1, *, within: float = 5.0) -> None:
        """Wait until ``count`` connections are subscribed (TimeoutError otherwise)."""
        async with asyncio.timeout(within):
            while self.ws_subscribers < count:  # noqa: ASYNC110 - a test helper that polls
                await asyncio.sleep(0)

    async def ws_disconnect(self, *, abort: bool = False, grace: float = 2.0) -> int:
        """End every WebSocket connection from the server side; return how many.

        A close frame (1001 "going away") by default; ``abort`` drops the TCP
        connection without one (a network failure).
        """
        clients = list(self._ws_clients)
        for client in clients:
            transport = client.request.transport
            if abort and transport is not None:
                transport.abort()
            else:
                client.queue.put_nowait(("close", 1001))
        # Loop turns, not timers: tests run on a frozen clock (``grace`` is real seconds).
        deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + grace
        while any(client in self._ws_clients for client in clients):
            if time.clock_gettime(time.CLOCK_MONOTONIC) > deadline:
                break
            await asyncio.sleep(0)
        return len(clients)

    async def ws_send_raw(self, payload: Any) -> None:
        """Send ``payload`` (a string verbatim, else as JSON) to every subscriber."""
        self._broadcast(payload if isinstance(payload, str) else json.dumps(payload))
        await asyncio.sleep(0)

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        if not self.ws_enabled:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.ws_connections += 1
        client = _WsClient(ws, request)
        self._ws_clients.add(client)
        writer = asyncio.create_task(self._ws_writer(client))
        try:
            async for message in ws:
                if self.ws_stalled:
                    continue
                if message.type == WSMsgType.PING:
                    client.queue.put_nowait(("pong", message.data))
                elif message.type == WSMsgType.TEXT:
                    self._ws_message(client, message.data)
        finally:
            self._ws_clients.discard(client)
            if client.closing:
                # Let the writer finish the closing handshake it started.
                await asyncio.wait({writer}, timeout=2.0)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await ws.close()
        return ws

    @staticmethod
    async def _ws_writer(client: _WsClient) -> None:
        """Send what the handler and the pushes queued, in order."""
        while True:
            kind, data = await client.queue.get()
            try:
                if kind == "text":
                    await client.ws.send_str(data)
                elif kind == "pong":
                    await client.ws.pong(data)
                else:
                    client.closing = True
                    await client.ws.close(code=data)
                    return
            except ConnectionError:
                return

    def _ws_message(self, client: _WsClient, text: str) -> None:
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = text
        self.ws_messages.append(data)

        def refuse(code: int, message: str) -> None:
            client.queue.put_nowait(
                (
                    "text",
                    json.dumps({"status": "error", "error": {"code": code, "message": message}}),
                )
            )
            if not client.subscribed:
                self.ws_refused += 1
                client.queue.put_nowait(("close", 1008))

        if not isinstance(data, dict) or data.get("action") != "Subscribe":
            refuse(CODE_MISSING_ARGS, "Unknown action")
            return
        problem = self._token_problem(data.get("access_token"))
        if problem is not None:
            refuse(problem[1], problem[2])
            return
        if self.ws_refuse_subscriptions:
            refuse(CODE_SUBSCRIPTION_REFUSED, "Subscription refused")
            return
        if not client.subscribed:
            client.subscribed = True
            self.ws_subscriptions += 1
        client.queue.put_nowait(("text", json.dumps({"status": "ok"})))
