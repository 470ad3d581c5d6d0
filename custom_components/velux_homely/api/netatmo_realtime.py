"""Realtime push of the VELUX ACTIVE cloud: a plain WebSocket at ``/ws/``.

:class:`NetatmoRealtimeClient` keeps one connection up: it connects, sends
``Subscribe`` with a fresh access token, checks the ``status`` reply, hands parsed
events to its owner, sends heartbeats (WebSocket pings; a missing pong ends the
connection) and reconnects after any end with a capped exponential backoff, which
goes back to its start after a connection that lived long enough.

Events are hints: :class:`StateUpdate` carries partial homestatus-shaped state of
modules and rooms, :class:`RefreshHint` only says "this home changed, poll it". The
owner keeps polling ``homestatus`` as the source of truth.

The access token travels in the Subscribe message (never in the URL) and is never
logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass, field
import json
import logging
import time
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from .errors import ApiError, AuthenticationError, RateLimitedError
from .netatmo import APP_VERSION

_LOGGER = logging.getLogger(__name__)

WS_PATH: Final = "/ws/"
VELUX_ACTIVE_WS_URL: Final = "wss://app.velux-active.com/ws/"
PUSH_TYPE_EMBEDDED_JSON: Final = "embedded_json"
TOKEN_ERROR_CODES: Final = frozenset({1, 2, 3})
"""Subscribe error codes that mean "this access token is not usable"."""


def ws_url_for(base_url: str) -> str:
    """Return the WebSocket URL of a REST base URL.

    ``https://host[:port]`` -> ``wss://host[:port]/ws/``, ``http://`` -> ``ws://``;
    any path of the base URL is dropped. Raise ValueError for other schemes.
    """
    parts = urlsplit(base_url.strip())
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ValueError("The base URL must be http(s)://host[:port]")
    return f"{scheme}://{parts.netloc}{WS_PATH}"


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """Partial state of one home: module id -> fields, room id -> fields (ids included)."""

    home_id: str
    modules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rooms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefreshHint:
    """Something changed in a home; the event did not say what (poll homestatus)."""

    home_id: str


type RealtimeEvent = StateUpdate | RefreshHint


def _by_id(items: Any) -> dict[str, Mapping[str, Any]] | None:
    if not isinstance(items, list):
        return None
    return {
        item["id"]: item
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]
    }


def _home_id(data: Mapping[str, Any]) -> str | None:
    home = data.get("home")
    if isinstance(home, Mapping) and isinstance(home.get("id"), str) and home["id"]:
        return str(home["id"])
    home_id = data.get("home_id")
    return home_id if isinstance(home_id, str) and home_id else None


def parse_event(message: Any) -> RealtimeEvent | None:
    """Parse one decoded push message; None when it names no home (unknown shape).

    * ``extra_params`` (an object, or a string holding JSON) with ``home.id`` and
      ``home.modules`` / ``home.rooms`` lists -> :class:`StateUpdate`;
    * anything else naming a home (``home.id`` or ``home_id``, in ``extra_params`` or
      at the top) -> :class:`RefreshHint`.
    """
    if not isinstance(message, Mapping):
        return None
    extra = message.get("extra_params")
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            extra = None
    if isinstance(extra, Mapping):
        home = extra.get("home")
        if isinstance(home, Mapping) and isinstance(home.get("id"), str) and home["id"]:
            modules = _by_id(home.get("modules"))
            rooms = _by_id(home.get("rooms"))
            if modules or rooms:
                return StateUpdate(str(home["id"]), modules or {}, rooms or {})
        if (home_id := _home_id(extra)) is not None:
            return RefreshHint(home_id)
    home_id = _home_id(message)
    return RefreshHint(home_id) if home_id is not None else None


# --- client ---------------------------------------------------------------------------------


class _SessionEnded(Exception):
    """A connection attempt or a connection ended (message safe to log)."""


class _SubscriptionRefused(_SessionEnded):
    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code


type TokenGetter = Callable[[], Awaitable[str]]
type TokenInvalidator = Callable[[str], Awaitable[None]]
type EventCallback = Callable[[RealtimeEvent], None]
type ConnectedCallback = Callable[[], None]
type DisconnectedCallback = Callable[[str], None]


class NetatmoRealtimeClient:
    """Supervisor of the realtime WebSocket of one account."""

    def __init__(  # noqa: PLR0917 - the owner's callbacks may be given by position
        self,
        session: aiohttp.ClientSession,
        ws_url: str,
        get_access_token: TokenGetter,
        on_event: EventCallback,
        on_connected: ConnectedCallback | None = None,
        on_disconnected: DisconnectedCallback | None = None,
        *,
        heartbeat: float = 30.0,
        backoff_initial: float = 2.0,
        backoff_max: float = 300.0,
        stable_after: float = 60.0,
        connect_timeout: float = 15.0,
        invalidate_access_token: TokenInvalidator | None = None,
        app_type: str = "app_velux",
        app_version: str = APP_VERSION,
        platform: str = "Android",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the supervisor; :meth:`run` starts it.

        ``get_access_token`` is awaited before every connection (e.g.
        ``NetatmoClient.async_get_access_token``). When the cloud refuses the token of
        a Subscribe, ``invalidate_access_token(token)`` is awaited so that the next
        attempt gets a renewed one. A connection that lived ``stable_after`` seconds
        resets the backoff. ``connect_timeout`` bounds the handshake and the wait for
        the Subscribe reply; ``heartbeat`` is the ping interval (a pong must come
        within half of it).
        """
        self._session = session
        self.ws_url = ws_url
        self._get_access_token = get_access_token
        self._invalidate = invalidate_access_token
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.heartbeat = heartbeat
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.connect_timeout = connect_timeout
        self._app_type = app_type
        self._app_version = app_version
        self._platform = platform
        self._clock = clock
        self._stop = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._connected = False
        self.attempts = 0
        """Connection attempts so far."""
        self.connects = 0
        """Subscriptions accepted so far."""
        self.refusals = 0
        """Subscriptions the cloud refused."""
        self.events = 0
        """Events handed to ``on_event``."""
        self.ignored_events = 0
        """Messages of an unknown shape (logged at debug, not dispatched)."""
        self.last_error: str | None = None
        self.last_disconnect_reason: str | None = None
        self.next_delay: float | None = None
        """The wait before the next attempt while one is pending."""

    @property
    def connected(self) -> bool:
        """Return True while subscribed."""
        return self._connected

    @property
    def stopping(self) -> bool:
        """Return True once :meth:`stop` was called."""
        return self._stop.is_set()

    async def run(self) -> None:
        """Keep one subscription up until :meth:`stop`; reconnect with backoff after any end.

        Returns after :meth:`stop`, or when the credentials are refused for good
        (:class:`AuthenticationError` from ``get_access_token``).
        """
        delay = self.backoff_initial
        while not self._stop.is_set():
            wait = delay
            started = self._clock()
            lived = False
            attempt = asyncio.ensure_future(self._attempt())
            stopper = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait({attempt, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                if not attempt.done():
                    attempt.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await attempt
                elif not attempt.cancelled():
                    attempt.exception()  # seen here even when this task is being cancelled
            if attempt.cancelled():
                break
            try:
                lived = attempt.result()
            except AuthenticationError:
                self.last_error = "authentication failed"
                _LOGGER.debug("Realtime updates stop: the credentials were refused")
                return
            except RateLimitedError as err:
                self.last_error = "rate limited"
                wait = max(delay, err.retry_after or 0.0)
            except (ApiError, _SessionEnded) as err:
                self.last_error = str(err) or type(err).__name__
                _LOGGER.debug("Realtime connection failed: %s", self.last_error)
            if self._stop.is_set():
                break
            if lived and self._clock() - started >= self.stable_after:
                wait = delay = self.backoff_initial
            self.next_delay = wait
            _LOGGER.debug("Reconnecting the realtime connection in %.3f s", wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            self.next_delay = None
            delay = min(max(delay, wait) * 2, self.backoff_max)

    async def _attempt(self) -> bool:
        """Connect and subscribe, then read until the connection ends.

        Return True when the subscription was accepted (the connection lived).
        """
        token = await self._get_access_token()
        self.attempts += 1
        try:
            ws = await self._session.ws_connect(
                self.ws_url,
                heartbeat=self.heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=self.connect_timeout),
            )
        except aiohttp.WSServerHandshakeError as err:
            raise _SessionEnded(f"Handshake refused: HTTP {err.status}") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise _SessionEnded(f"Cannot connect: {type(err).__name__}") from None
        self._ws = ws
        subscribed = False
        reason = "closed by the server"
        try:
            await ws.send_json(self._subscribe_message(token))
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await self._wait_for_status(ws)
            except TimeoutError:
                raise _SessionEnded("No answer to Subscribe") from None
            except _SubscriptionRefused as err:
                self.refusals += 1
                if err.code in TOKEN_ERROR_CODES and self._invalidate is not None:
                    await self._invalidate(token)
                raise
            subscribed = True
            self._connected = True
            self.connects += 1
            _LOGGER.debug("Realtime subscription is up")
            if self._on_connected is not None:
                self._on_connected()
            reason = await self._read(ws)
            return True
        except (aiohttp.ClientError, OSError) as err:
            reason = f"connection lost: {type(err).__name__}"
            if not subscribed:
                raise _SessionEnded(reason) from None
            return True
        finally:
            self._connected = False
            self._ws = None
            with contextlib.suppress(Exception):
                await ws.close()
            if subscribed:
                self.last_disconnect_reason = reason
                _LOGGER.debug("Realtime connection ended: %s", reason)
                if self._on_disconnected is not None and not self.stopping:
                    self._on_disconnected(reason)

    def _subscribe_message(self, token: str) -> dict[str, Any]:
        return {
            "action": "Subscribe",
            "filter": "silent",
            "access_token": token,
            "app_type": self._app_type,
            "platform": self._platform,
            "version": self._app_version,
        }

    async def _wait_for_status(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read until the Subscribe reply; events before it are dispatched."""
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise _SessionEnded(f"Closed before the Subscribe reply ({message.type.name})")
            data = self._decode(message.data)
            if isinstance(data, Mapping) and "status" in data and "push_type" not in data:
                if data["status"] == "ok":
                    return
                error = data.get("error")
                raw_code = error.get("code") if isinstance(error, Mapping) else None
                code = (
                    raw_code
                    if isinstance(raw_code, int) and not isinstance(raw_code, bool)
                    else None
                )
                raise _SubscriptionRefused(
                    code,
                    f"Subscribe refused: status {data['status']!r}"
                    + (f", code {code}" if code is not None else ""),
                )
            self._dispatch(data)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Dispatch events until the connection ends; return why it ended."""
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.TEXT:
                data = self._decode(message.data)
                if isinstance(data, Mapping) and "status" in data and "push_type" not in data:
                    _LOGGER.debug("Realtime status message: %r", data.get("status"))
                    continue
                self._dispatch(data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                self._ignore("binary message")
            elif message.type == aiohttp.WSMsgType.ERROR:
                return f"error: {type(message.data).__name__}"
            else:
                # CLOSE carries the server's code; CLOSING / CLOSED end without one.
                code = message.data if message.type == aiohttp.WSMsgType.CLOSE else ws.close_code
                return "closed" + (f" (code {code})" if code is not None else "")

    def _decode(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return None

    def _ignore(self, what: str) -> None:
        self.ignored_events += 1
        _LOGGER.debug("Ignoring realtime %s", what)

    def _dispatch(self, data: Any) -> None:
        """Parse one message and hand it to the owner; never raise."""
        event = parse_event(data)
        if event is None:
            shape = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            self._ignore(f"message of unknown shape {shape}")
            return
        self.events += 1
        try:
            self._on_event(event)
        except Exception:
            _LOGGER.exception("Error while handling a realtime event")

    async def stop(self) -> None:
        """Stop reconnecting and close the connection (the run task then ends)."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    def diagnostics(self) -> dict[str, Any]:
        """Describe the connection (no token; the URL carries none)."""
        return {
            "url": self.ws_url,
            "connected": self._connected,
            "attempts": self.attempts,
            "connects": self.connects,
            "refusals": self.refusals,
            "events": self.events,
            "ignored_events": self.ignored_events,
            "last_error": self.last_error,
            "last_disconnect_reason": self.last_disconnect_reason,
            "next_delay": self.next_delay,
        }


__all__ = [
    "VELUX_ACTIVE_WS_URL",
    "WS_PATH",
    "NetatmoRealtimeClient",
    "RealtimeEvent",
    "RefreshHint",
    "StateUpdate",
    "parse_event",
    "ws_url_for",
]
