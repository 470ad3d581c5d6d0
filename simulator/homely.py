"""Loopback simulator of the Homely SDK cloud: REST under `/homely/...` plus Socket.IO.

Follows `shared/reference/homely.md`: JSON bodies, errors `{"statusCode": N, "message": ...}`,
rotating refresh tokens, `429` with `retryAfter` on demand, and live events on the Socket.IO
event `event` with payload `{"type", "data"}`. A simulated clock (`advance`) drives token
expiry; knobs inject faults. Nothing here imports Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import parse_qs
import uuid

from aiohttp import web
import socketio

from .homely_data import (
    CABIN_ENTRY_ID,
    CABIN_GATEWAY_ID,
    CABIN_GATEWAY_SERIAL,
    CABIN_LOCATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    ENTRY2_ID,
    ENTRY_ID,
    FLOOD_ID,
    GATEWAY_ID,
    GATEWAY_SERIAL,
    HAN_ID,
    LOCATION_ID,
    LOCK_ID,
    MODEL_FEATURES,
    MOTION2_ID,
    MOTION_ID,
    SMOKE_ID,
    THERMOSTAT_ID,
    USER_ID,
    USER_NAME,
    SimLocation,
    demo_locations,
    make_device,
    serial_for,
)

__all__ = [
    "CABIN_ENTRY_ID",
    "CABIN_GATEWAY_ID",
    "CABIN_GATEWAY_SERIAL",
    "CABIN_LOCATION_ID",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "ENTRY2_ID",
    "ENTRY_ID",
    "FLOOD_ID",
    "GATEWAY_ID",
    "GATEWAY_SERIAL",
    "HAN_ID",
    "INVALID_JWT",
    "LOCATION_ID",
    "LOCK_ID",
    "MOTION2_ID",
    "MOTION_ID",
    "REFRESH_EXPIRED",
    "SMOKE_ID",
    "THERMOSTAT_ID",
    "USER_ID",
    "HomelySimulator",
    "SimHold",
    "SimRequest",
]

_LOGGER = logging.getLogger(__name__)

INVALID_JWT = "Invalid JWT"
"""`message` of the refused Socket.IO connect without a valid `token` query parameter."""
REFRESH_EXPIRED = "Refresh token expired"
"""`message` of the HTTP 400 answer of a refresh with an expired, rotated or unknown token."""

EVENT = "event"
"""The single Socket.IO event name every live message uses."""


@dataclass
class SimRequest:
    """One REST request the simulator received (Socket.IO traffic is not recorded)."""

    method: str
    path: str
    json: Any
    authorization: str | None


@dataclass
class _Fault:
    kind: str  # "rate_limit" | "fail" | "malformed" | "answer" | "delay"
    remaining: int
    path: str | None
    status: int = 500
    retry_after: float | None = 4
    body: Any = None
    headers: dict[str, str] | None = None

    def matches(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


class SimHold:
    """A held answer (`hold_next`): computed when the request arrives, sent on `release`."""

    def __init__(self) -> None:
        """Create the hold; nothing is held until a matching request arrives."""
        self.ready = asyncio.Event()
        """Set once the answer is computed and waits to be sent."""
        self._release = asyncio.Event()

    def release(self) -> None:
        """Send the held answer (at once if the request has not arrived yet)."""
        self._release.set()

    async def until_released(self) -> None:
        """Wait for `release`."""
        await self._release.wait()


@dataclass
class _RefreshToken:
    expires_at: float
    session_state: str


def _error(status: int, message: str | list[str], **extra: Any) -> web.Response:
    body: dict[str, Any] = {"statusCode": status, "message": message, **extra}
    return web.json_response(body, status=status)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _bearer(value: str | None) -> str | None:
    """Return the token of a `Bearer <token>` value (scheme case-insensitive), else None."""
    if value is None or value[:6].lower() != "bearer":
        return None
    token = value[6:].strip()
    return token or None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class HomelySimulator:
    """The Homely cloud (REST + Socket.IO) on a loopback port, with knobs for tests."""

    def __init__(
        self,
        *,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        access_token_lifetime: int = 60,
        refresh_token_lifetime: int = 1800,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        drop_at_token_expiry: bool = True,
    ) -> None:
        """Create the simulator with the demo data; call `start` to serve it.

        ``ping_interval`` / ``ping_timeout`` are Engine.IO's (seconds); tests that move a
        frozen clock by minutes make them long, so that pings do not end the sockets.
        ``drop_at_token_expiry``: the server ends a socket when the token it was opened
        with expires, as the real one does.
        """
        self.drop_at_token_expiry = drop_at_token_expiry
        self._expiry_timers: set[asyncio.TimerHandle] = set()
        self.username = username
        self._password = password
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.locations: dict[str, SimLocation] = demo_locations()
        """Locations of the user by id (REST state; edit freely in tests)."""

        self.requests: list[SimRequest] = []
        self.issued_tokens: list[str] = []
        """Every access and refresh token issued so far (secrets a log must never show)."""
        self.logins = 0
        """Successful `POST /homely/oauth/token` calls."""
        self.refreshes = 0
        """Successful `POST /homely/oauth/refresh-token` calls."""
        self.connect_log: list[tuple[str, str]] = []
        self.rejected_connects = 0
        self.in_flight = 0
        """REST requests received and not answered yet."""
        self.delayed = 0
        """Of those, the ones a `delay_next` fault holds (they wait for the clock to move)."""
        self.expiry_drops = 0
        """Sockets the server ended because their token expired."""
        self.refuse_sockets = False
        """Refuse every Socket.IO connection (the live service is down)."""
        self.base_url = ""

        self._offset = 0.0
        self._access: dict[str, float] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._faults: list[_Fault] = []
        self._holds: list[tuple[str | None, SimHold]] = []
        self._socket_holds: list[SimHold] = []
        self._every_hold: list[SimHold] = []
        self._sockets: dict[str, dict[str, str]] = {}
        self._sid_location: dict[str, str] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._event_id = 0
        self._added = 0
        self._runner: web.AppRunner | None = None

        self.sio: Any = socketio.AsyncServer(
            async_mode="aiohttp",
            logger=False,
            engineio_logger=False,
            cors_allowed_origins="*",
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )
        # Keep every Engine.IO/Socket.IO background task (pings, handlers) so `stop` can end
        # them: Home Assistant's test harness fails on lingering tasks.
        self.sio.eio.start_background_task = self._background
        self.sio.on("connect", handler=self._on_connect)
        self.sio.on("disconnect", handler=self._on_disconnect)

        self.app = web.Application(middlewares=[self._middleware])
        self.app.router.add_post("/homely/oauth/token", self._handle_token)
        self.app.router.add_post("/homely/oauth/refresh-token", self._handle_refresh)
        self.app.router.add_get("/homely/locations", self._handle_locations)
        self.app.router.add_get("/homely/home/{location_id}", self._handle_home)
        self.sio.attach(self.app)

    # ------------------------------------------------------------------ life cycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on `host:port` (port 0: a free one); sets `base_url`."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}"

    async def stop(self) -> None:
        """Disconnect every socket, stop the server and end every background task."""
        for timer in self._expiry_timers:
            timer.cancel()
        self._expiry_timers.clear()
        for hold in self._every_hold:
            hold.release()
        await self.disconnect()
        if self.sio.eio.sockets:
            await self.sio.eio.disconnect()
        if self.sio.eio.service_task_handle is not None:  # None once stopped: stop twice
            await self.sio.shutdown()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _background(self, target: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        return self._spawn(target(*args, **kwargs))

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ clock and tokens

    def now(self) -> float:
        """Return the simulated monotonic clock (`time.monotonic()` plus `advance`s)."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward (tokens expire by it)."""
        self._offset += seconds

    def _timestamp(self) -> str:
        moment = datetime.now(UTC) + timedelta(seconds=self._offset)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _access_valid(self, token: str | None) -> bool:
        expires_at = self._access.get(token) if token else None
        return expires_at is not None and expires_at > self.now()

    def _issue(self, session_state: str) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        now = self.now()
        self._access[access] = now + self.access_token_lifetime
        self._refresh[refresh] = _RefreshToken(now + self.refresh_token_lifetime, session_state)
        self.issued_tokens += (access, refresh)
        return {
            "access_token": access,
            "expires_in": self.access_token_lifetime,
            "refresh_expires_in": self.refresh_token_lifetime,
            "refresh_token": refresh,
            "token_type": "bearer",
            "not-before-policy": 0,
            "session_state": session_state,
            "scope": "",
        }

    def set_password(self, password: str) -> None:
        """Change the account password (later logins with the old one get 401)."""
        self._password = password

    async def expire_access_tokens(self) -> None:
        """Expire every issued access token now and disconnect the sockets that used one."""
        now = self.now()
        for token in self._access:
            self._access[token] = min(self._access[token], now)
        await self.enforce_token_expiry()

    async def enforce_token_expiry(self) -> int:
        """Disconnect live sockets whose access token has expired; return how many."""
        expired = [
            sid
            for sids in self._sockets.values()
            for sid, token in sids.items()
            if not self._access_valid(token)
        ]
        for sid in expired:
            await self.sio.disconnect(sid)
        return len(expired)

    def expire_refresh_tokens(self) -> None:
        """Expire every issued refresh token: refreshes answer 400 "Refresh token expired"."""
        now = self.now()
        for refresh in self._refresh.values():
            refresh.expires_at = min(refresh.expires_at, now)

    # ------------------------------------------------------------------ faults

    def rate_limit_next(
        self, count: int = 1, *, retry_after: float | None = 4, path: str | None = "/homely/home"
    ) -> None:
        """Answer the next `count` requests under `path` (None: any) with HTTP 429.

        `retry_after` goes in the JSON `retryAfter` and the `Retry-After` header; None
        sends neither (a 429 without a hint).
        """
        self._faults.append(_Fault("rate_limit", count, path, 429, retry_after))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._faults.clear()

    def delay_next(self, count: int = 1, *, seconds: float = 30.0, path: str | None = None) -> None:
        """Answer the next `count` requests under `path` (None: any) after `seconds`."""
        self._faults.append(_Fault("delay", count, path, 200, seconds))

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """Answer the next `count` requests under `path` (None: any) with `status`."""
        self._faults.append(_Fault("fail", count, path, status))

    def malformed_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Answer the next `count` requests under `path` (None: any) with broken JSON."""
        self._faults.append(_Fault("malformed", count, path, 200))

    def answer_next(
        self,
        body: Any,
        *,
        status: int = 200,
        count: int = 1,
        path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `count` requests under `path` (None: any) with `body` as-is.

        A `str` body is sent as text (an HTML error page, say); anything else as JSON.
        `headers` are added to the answer exactly as spelt.
        """
        self._faults.append(_Fault("answer", count, path, status, body=body, headers=headers))

    def hold_next(self, path: str | None = None) -> SimHold:
        """Hold the answer of the next request under `path` until `release` is called.

        The answer is computed when the request arrives (the state it shows is that of
        then) and sent later: a slow cloud whose answer is overtaken by live events.
        """
        hold = SimHold()
        self._holds.append((path, hold))
        self._every_hold.append(hold)
        return hold

    def hold_next_socket(self) -> SimHold:
        """Hold the next Socket.IO connection half-way until `release` is called.

        The server has the connection but answers its CONNECT only on `release` (then it
        accepts or refuses it as usual): a live service slow to let a client in. `ready`
        is set once the connection is held.
        """
        hold = SimHold()
        self._socket_holds.append(hold)
        self._every_hold.append(hold)
        return hold

    def _take_hold(self, path: str) -> SimHold | None:
        for held_path, hold in self._holds:
            if held_path is None or path.startswith(held_path):
                self._holds.remove((held_path, hold))
                return hold
        return None

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ REST

    def count(self, path: str) -> int:
        """Return how many REST requests had exactly this path."""
        return sum(1 for request in self.requests if request.path == path)

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not request.path.startswith("/homely/"):
            return await handler(request)
        body: Any = None
        if request.can_read_body:
            text = await request.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        request["sim_json"] = body
        self.requests.append(
            SimRequest(request.method, request.path, body, request.headers.get("Authorization"))
        )
        _LOGGER.debug("Homely simulator: %s %s", request.method, request.path)
        self.in_flight += 1
        try:
            hold = self._take_hold(request.path)
            response = await self._answer(request, handler)
            if hold is not None:
                hold.ready.set()
                await hold.until_released()
        finally:
            self.in_flight -= 1
        return response

    async def _answer(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        fault = self._take_fault(request.path)
        if fault is None:
            return await handler(request)
        if fault.kind == "delay":
            # A slow cloud: the answer comes after ``retry_after`` seconds of loop time.
            self.delayed += 1
            try:
                await asyncio.sleep(fault.retry_after or 0.0)
            finally:
                self.delayed -= 1
            return await handler(request)
        if fault.kind == "answer":
            if isinstance(fault.body, str):
                answer = web.Response(
                    status=fault.status, text=fault.body, content_type="text/html"
                )
            else:
                answer = web.json_response(fault.body, status=fault.status)
            for name, value in (fault.headers or {}).items():
                answer.headers[name] = value
            return answer
        if fault.kind == "rate_limit":
            if fault.retry_after is None:
                return _error(429, "Too Many Requests")
            retry_after = _number(fault.retry_after)
            response = _error(429, "Too Many Requests", retryAfter=retry_after)
            response.headers["Retry-After"] = str(retry_after)
            return response
        if fault.kind == "fail":
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            return _error(fault.status, phrase)
        return web.Response(
            status=200, text='{"statusCode": 200, "devices": [', content_type="application/json"
        )

    def _authorized(self, request: web.Request) -> bool:
        return self._access_valid(_bearer(request.headers.get("Authorization")))

    async def _handle_token(self, request: web.Request) -> web.Response:
        body = request["sim_json"]
        data = body if isinstance(body, dict) else {}
        missing = [
            f"{name} must be a string"
            for name in ("username", "password")
            if not isinstance(data.get(name), str)
        ]
        if missing:
            return _error(400, missing)
        if data["username"] != self.username or data["password"] != self._password:
            return _error(401, "Unauthorized")
        self.logins += 1
        return web.json_response(self._issue(str(uuid.uuid4())))

    async def _handle_refresh(self, request: web.Request) -> web.Response:
        body = request["sim_json"]
        token = body.get("refresh_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            return _error(400, ["refresh_token must be a string"])
        # Rotation: a refresh token works once; expired, used and unknown ones all get 400.
        refresh = self._refresh.pop(token, None)
        if refresh is None or refresh.expires_at <= self.now():
            return _error(400, REFRESH_EXPIRED)
        self.refreshes += 1
        return web.json_response(self._issue(refresh.session_state))

    async def _handle_locations(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "Unauthorized")
        return web.json_response([location.summary() for location in self.locations.values()])

    async def _handle_home(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "Unauthorized")
        location_id = request.match_info["location_id"]
        location = self.locations.get(location_id)
        if location is None:
            return _error(403, f"User {USER_ID} has no access to location {location_id}")
        return web.json_response(location.home())

    # ------------------------------------------------------------------ Socket.IO

    def connections(self, location_id: str) -> int:
        """Return how many sockets are connected for the location now."""
        return len(self._sockets.get(location_id, {}))

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if self._socket_holds:
            hold = self._socket_holds.pop(0)
            hold.ready.set()
            await hold.until_released()
        query = parse_qs(environ.get("QUERY_STRING", ""))
        location_id = query.get("locationId", [None])[0]
        access = _bearer(query.get("token", [None])[0])
        if self.refuse_sockets:
            self.rejected_connects += 1
            raise socketio.exceptions.ConnectionRefusedError("Service unavailable")
        if access is None or not self._access_valid(access):
            self.rejected_connects += 1
            raise socketio.exceptions.ConnectionRefusedError(INVALID_JWT)
        if location_id is None or not _is_uuid(location_id):
            self.rejected_connects += 1
            self._spawn(self._kick(sid, location_id))
            return True
        if location_id not in self.locations:
            self.rejected_connects += 1
            raise socketio.exceptions.ConnectionRefusedError(
                f"User {USER_ID} has no access to location {location_id}"
            )
        self._sockets.setdefault(location_id, {})[sid] = access
        self._sid_location[sid] = location_id
        self.connect_log.append((location_id, access))
        if self.drop_at_token_expiry:
            delay = max(self._access[access] - self.now(), 0.0)
            handle = asyncio.get_running_loop().call_later(delay, self._token_expired, sid)
            self._expiry_timers.add(handle)
        return True

    def _token_expired(self, sid: str) -> None:
        """End a socket whose token has expired (if it is still there)."""
        self._expiry_timers = {timer for timer in self._expiry_timers if not timer.cancelled()}
        location_id = self._sid_location.get(sid)
        token = self._sockets.get(location_id or "", {}).get(sid)
        if token is not None and not self._access_valid(token):
            self.expiry_drops += 1
            self._spawn(self.sio.disconnect(sid))

    async def _kick(self, sid: str, location_id: str | None) -> None:
        """Send an `exception` event, then disconnect (a non-UUID locationId)."""
        for _ in range(200):  # the CONNECT packet goes out right after the connect handler
            if self.sio.manager.is_connected(sid, "/"):
                break
            await asyncio.sleep(0.005)  # pragma: no cover
        message = f"locationId must be a UUID (got {location_id!r})"
        await self.sio.emit("exception", {"statusCode": 400, "message": message}, to=sid)
        await self.sio.disconnect(sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        location_id = self._sid_location.pop(sid, None)
        if location_id is not None:
            self._sockets.get(location_id, {}).pop(sid, None)

    async def disconnect(self, location_id: str | None = None) -> None:
        """Disconnect the live sockets of the location (None: all) from the server side."""
        if location_id is None:
            sids = list(self._sid_location)
        else:
            sids = list(self._sockets.get(location_id, {}))
        for sid in sids:
            await self.sio.disconnect(sid)

    async def drop_network(self, location_id: str | None = None) -> int:
        """Cut the live sockets of the location (None: all) without a goodbye; return how many."""
        sids = (
            list(self._sid_location)
            if location_id is None
            else list(self._sockets.get(location_id, {}))
        )
        for sid in sids:
            environ = self.sio.get_environ(sid, "/") or {}
            request = environ.get("aiohttp.request")
            transport = request.transport if request is not None else None
            if transport is not None:
                transport.abort()  # the TCP connection goes, no Socket.IO goodbye
            else:  # pragma: no cover - every socket comes through aiohttp
                await self.sio.disconnect(sid)
        return len(sids)

    async def emit_raw(self, location_id: str, payload: Any) -> None:
        """Send `payload` as-is on the `event` event to the sockets of the location."""
        for sid in list(self._sockets.get(location_id, {})):
            await self.sio.emit(EVENT, payload, to=sid)

    async def _emit(self, location_id: str, event_type: str, data: dict[str, Any]) -> None:
        await self.emit_raw(location_id, {"type": event_type, "data": data})

    # ------------------------------------------------------------------ state changes

    def _find(self, device_id: str) -> tuple[SimLocation, dict[str, Any]]:
        for location in self.locations.values():
            for device in location.devices:
                if device["id"] == device_id:
                    return location, device
        raise KeyError(device_id)

    def device(self, device_id: str) -> dict[str, Any]:
        """Return the REST state of a device (the live dict; KeyError if unknown)."""
        return self._find(device_id)[1]

    def state(self, device_id: str, feature: str, state: str) -> Any:
        """Return the current value of one state of a device."""
        return self.device(device_id)["features"][feature]["states"][state]["value"]

    async def change_device(
        self,
        device_id: str,
        feature: str,
        state: str,
        value: Any,
        *,
        last_updated: str | None = None,
        location_id: str | None = None,
        create: bool = False,
        emit: bool = True,
    ) -> None:
        """Set one state and emit `device-state-changed` to the location's sockets.

        `last_updated` defaults to the simulated now; `location_id` sets the event's
        `locationId` (a sub-location; `rootLocationId` stays the home). Raises `KeyError` for
        an unknown device, feature or state, unless `create` adds the state to the device.
        `emit=False` changes the REST state only: a change the live service does not
        stream (some setups stream only a subset).
        """
        if create:
            features = self.device(device_id)["features"]
            states = features.setdefault(feature, {"states": {}})["states"]
            states.setdefault(state, {"value": None, "lastUpdated": None})
        await self._change(
            device_id, [(feature, state, value)], last_updated, location_id, emit=emit
        )

    async def _change(
        self,
        device_id: str,
        updates: list[tuple[str, str, Any]],
        last_updated: str | None,
        location_id: str | None = None,
        *,
        emit: bool = True,
    ) -> None:
        location, device = self._find(device_id)
        stamp = last_updated or self._timestamp()
        changes = []
        for feature, state, value in updates:
            entry = device["features"][feature]["states"][state]
            entry["value"] = value
            entry["lastUpdated"] = stamp
            changes.append(
                {"feature": feature, "stateName": state, "value": value, "lastUpdated": stamp}
            )
        data = {
            "deviceId": device_id,
            "gatewayId": location.gateway_id,
            "locationId": location_id or location.location_id,
            "modelId": device["modelId"],
            "rootLocationId": location.location_id,
            "change": dict(changes[0]),
            "changes": changes,
        }
        if emit:
            await self._emit(location.location_id, "device-state-changed", data)

    async def tick_meter(self, device_id: str, wh: int = 10, demand: int | None = None) -> None:
        """Add `wh` to the HAN import counter (and set `demand`), emitting one event."""
        _, device = self._find(device_id)
        metering = device["features"]["metering"]["states"]
        updates: list[tuple[str, str, Any]] = [
            ("metering", "summationdelivered", metering["summationdelivered"]["value"] + wh)
        ]
        if demand is not None:
            updates.append(("metering", "demand", demand))
        await self._change(device_id, updates, None)

    async def set_alarm_state(
        self, location_id: str, state: str, *, user_name: str | None = USER_NAME
    ) -> None:
        """Set the alarm state of a location and emit `alarm-state-changed`.

        `user_name=None` sends an event that names no user (an alarm going off).
        """
        location = self.locations[location_id]
        location.alarm_state = state
        self._event_id += 1
        data: dict[str, Any] = {
            "locationId": location_id,
            "state": state,
            "timestamp": self._timestamp(),
            "eventId": self._event_id,
        }
        if user_name is not None:
            data.update(userId=USER_ID, userName=user_name)
        await self._emit(location_id, "alarm-state-changed", data)

    def set_online(self, device_id: str, online: bool) -> None:
        """Set a device's `online` flag (REST state only, no event)."""
        self.device(device_id)["online"] = online

    def add_device(
        self, location_id: str, model_name: str, *, name: str | None = None, location: str = ""
    ) -> str:
        """Add a device of a known model to a location (REST only); return its new id."""
        if model_name not in MODEL_FEATURES:
            raise ValueError(f"Unknown Homely model {model_name!r}")
        self._added += 1
        device_id = str(uuid.uuid4())
        self.locations[location_id].devices.append(
            make_device(
                device_id,
                model_name,
                name=name or model_name,
                serial_number=serial_for(model_name, 100 + self._added),
                location=location,
            )
        )
        return device_id

    def remove_device(self, device_id: str) -> None:
        """Remove a device (REST only); KeyError if unknown."""
        location, device = self._find(device_id)
        location.devices.remove(device)
