"""Live events of one Homely location over Socket.IO, with a supervisor that reconnects.

One :class:`HomelyLiveClient` owns at most one connection for its location at any time:
its :meth:`~HomelyLiveClient.run` coroutine (one task) connects, waits for the connection
to end, then reconnects with a fresh access token after an exponential backoff. The server
ends connections itself ("io server disconnect") on token expiry and rate limiting, and the
library does not reconnect those, so automatic reconnection of the library stays off.

The access token travels in the connection URL (``token=Bearer <token>``), so the
Socket.IO/Engine.IO loggers are switched off for our clients and a filter redacts tokens
from anything those loggers print anyway; our own messages never include the URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import logging
import re
import time
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import socketio

from .errors import ApiError, AuthenticationError, RateLimitedError
from .homely import HomelyClient
from .homely_models import HomelyEvent, UnknownEventError, parse_event

_LOGGER = logging.getLogger(__name__)

SOCKETIO_PATH: Final = "socket.io"
EVENT_NAME: Final = "event"

_TOKEN_RE = re.compile(r"(token=|Bearer(?:%20|\+|\s)+)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace tokens (``token=...``, ``Bearer ...``) in ``text`` with ``***``."""
    return _TOKEN_RE.sub(r"\1***", text)


class _RedactFilter(logging.Filter):
    """Rewrite records of the Socket.IO/Engine.IO loggers so that no token gets out."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # pragma: no cover - a broken record of the library
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


_FILTER = _RedactFilter()


def _install_log_filter() -> None:
    """Attach the redacting filter to the library loggers (once)."""
    for name in ("socketio", "socketio.client", "engineio", "engineio.client"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an ended attempt's error as seen (it is handled, or of no interest)."""
    if not future.cancelled():
        future.exception()


class _ConnectFailed(Exception):
    """A connection attempt failed (message already redacted)."""


type EventCallback = Callable[[str, HomelyEvent], None]
type ConnectedCallback = Callable[[str], None]
type DisconnectedCallback = Callable[[str, str], None]
type AuthFailedCallback = Callable[[AuthenticationError], None]
type Sleep = Callable[[float], Awaitable[None]]


class HomelyLiveClient:
    """Supervisor of the live connection of one location."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client: HomelyClient,
        location_id: str,
        *,
        on_event: EventCallback,
        on_connected: ConnectedCallback,
        on_disconnected: DisconnectedCallback | None = None,
        on_auth_failed: AuthFailedCallback | None = None,
        backoff_initial: float = 2.0,
        backoff_max: float = 300.0,
        stable_after: float = 60.0,
        connect_timeout: float = 15.0,
        stop_grace: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the supervisor; :meth:`run` starts it."""
        self._session = session
        self._client = client
        self.location_id = location_id
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._on_auth_failed = on_auth_failed
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.connect_timeout = connect_timeout
        self.stop_grace = stop_grace
        """Seconds a connection attempt may go on after :meth:`stop` before it is cancelled."""
        self._clock = clock
        self._stop = asyncio.Event()
        self._sio: Any = None
        self._connect_task: asyncio.Future[Any] | None = None
        self.connected = False
        self.connects = 0
        """Successful connections so far."""
        self.attempts = 0
        """Connection attempts so far (successful or not)."""
        self.events = 0
        """Events received and dispatched."""
        self.last_disconnect_reason: str | None = None
        self.last_error: str | None = None
        self.next_delay: float | None = None
        """The wait before the next attempt while one is pending."""

    @property
    def stopping(self) -> bool:
        """Return True once :meth:`stop` was called."""
        return self._stop.is_set()

    def url(self, token: str) -> str:
        """Return the connection URL: only ``locationId`` and ``token`` in the query."""
        query = urlencode({"locationId": self.location_id, "token": f"Bearer {token}"})
        return f"{self._client.base_url}?{query}"

    async def run(self) -> None:
        """Keep one connection up until :meth:`stop`; reconnect with backoff after any end."""
        _install_log_filter()
        delay = self.backoff_initial
        rejected: str | None = None
        while not self._stop.is_set():
            token: str | None = None
            wait = delay
            started = self._clock()
            lived = False
            try:
                token = await self._client.async_get_access_token(rejected=rejected)
                rejected = None
                lived = await self._connect_and_wait(token)
            except AuthenticationError as err:
                self.last_error = "authentication failed"
                _LOGGER.warning(
                    "Homely refused the credentials: live updates of %s stop", self.location_id
                )
                if self._on_auth_failed is not None:
                    self._on_auth_failed(err)
                return
            except RateLimitedError as err:
                self.last_error = "rate limited"
                wait = max(delay, err.retry_after or 0.0)
            except (ApiError, _ConnectFailed) as err:
                self.last_error = redact(str(err)) or type(err).__name__
                _LOGGER.debug(
                    "Homely live connection of %s failed: %s", self.location_id, self.last_error
                )
            if self._stop.is_set():
                break
            # Whatever ended the connection, the next one uses a token fetched anew.
            rejected = token
            if lived and self._clock() - started >= self.stable_after:
                wait = delay = self.backoff_initial
            self.next_delay = wait
            _LOGGER.debug(
                "Reconnecting the Homely live connection of %s in %.3f s",
                self.location_id,
                wait,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            self.next_delay = None
            delay = min(max(delay, wait) * 2, self.backoff_max)

    async def _connect_and_wait(self, token: str) -> bool:
        """Connect with ``token`` and wait for the connection to end.

        Return True when the connection was up; raise :class:`_ConnectFailed` when it could
        not be set up.
        """
        disconnect_reason: list[str] = []
        sio = socketio.AsyncClient(
            reconnection=False,
            logger=False,
            engineio_logger=False,
            http_session=self._session,
        )

        async def _on_disconnect(reason: Any = None) -> None:
            disconnect_reason.append(str(reason) if reason is not None else "unknown")

        async def _on_event(data: Any) -> None:
            self._dispatch(data)

        async def _on_other(event: str, *args: Any) -> None:
            _LOGGER.debug(
                "Ignoring Socket.IO message %r of the Homely live connection of %s",
                event,
                self.location_id,
            )

        async def _on_connect_error(data: Any = None) -> None:
            _LOGGER.debug(
                "Homely refused the live connection of %s: %s",
                self.location_id,
                redact(str(data)),
            )

        sio.on("disconnect", handler=_on_disconnect)
        sio.on(EVENT_NAME, handler=_on_event)
        sio.on("connect_error", handler=_on_connect_error)
        sio.on("*", handler=_on_other)
        self._sio = sio
        self.attempts += 1
        try:
            connect = asyncio.ensure_future(
                sio.connect(
                    self.url(token),
                    headers={"Authorization": f"Bearer {token}"},
                    transports=["websocket"],
                    socketio_path=SOCKETIO_PATH,
                    wait_timeout=self.connect_timeout,
                )
            )
            connect.add_done_callback(_retrieve)
            self._connect_task = connect
            stop_wait = asyncio.ensure_future(self._stop.wait())
            try:
                done, _ = await asyncio.wait(
                    {connect, stop_wait}, return_when=asyncio.FIRST_COMPLETED
                )
            except asyncio.CancelledError:
                await self._settle(connect, self.stop_grace)
                raise
            finally:
                stop_wait.cancel()
                self._connect_task = None
            if connect not in done:
                # stop() during the attempt: let it end, then close what it opened
                await self._settle(connect, self.stop_grace)
                return False
            try:
                connect.result()
            except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError) as err:
                raise _ConnectFailed(redact(str(err)) or type(err).__name__) from None
            if self.stopping:
                return True
            if sio.eio.state != "connected":
                raise _ConnectFailed("closed while connecting")
            self.connected = True
            self.connects += 1
            _LOGGER.debug("Homely live connection of %s is up", self.location_id)
            self._on_connected(self.location_id)
            await sio.eio.wait()
            return True
        finally:
            was_connected = self.connected
            self.connected = False
            self._sio = None
            await self._close(sio)
            if was_connected:
                reason = disconnect_reason[0] if disconnect_reason else "transport closed"
                self.last_disconnect_reason = reason
                _LOGGER.debug("Homely live connection of %s ended: %s", self.location_id, reason)
                if self._on_disconnected is not None and not self.stopping:
                    self._on_disconnected(self.location_id, reason)

    @staticmethod
    async def _settle(connect: asyncio.Future[Any], grace: float) -> None:
        """Let a connection attempt end (cancel it after ``grace`` seconds).

        Cancelling the library's connect half-way can leave a socket open behind it, so
        an attempt gets the chance to finish first; the caller then closes the client.
        """
        await asyncio.wait({connect}, timeout=grace)
        for _ in range(3):
            if connect.done():
                break
            connect.cancel()
            await asyncio.wait({connect}, timeout=0.5)

    @staticmethod
    async def _close(sio: Any) -> None:
        """End a client whatever state it is in."""
        with contextlib.suppress(Exception):
            await sio.disconnect()
        with contextlib.suppress(Exception):
            await sio.eio.disconnect(abort=True)

    def _dispatch(self, data: Any) -> None:
        """Parse one ``event`` message and hand it to the owner; never raise."""
        try:
            event = parse_event(data)
        except UnknownEventError as err:
            _LOGGER.debug("Ignoring Homely event of unknown type %r", str(err))
            return
        except ValueError as err:
            _LOGGER.debug("Ignoring malformed Homely event: %s", err)
            return
        self.events += 1
        try:
            self._on_event(self.location_id, event)
        except Exception:
            _LOGGER.exception("Error while handling a Homely event")

    async def stop(self) -> None:
        """Stop reconnecting and close the connection (the run task then ends)."""
        self._stop.set()
        if self._connect_task is not None:
            return  # the run task closes the client once the attempt has ended
        sio = self._sio
        if sio is not None:
            await self._close(sio)

    def diagnostics(self) -> dict[str, Any]:
        """Describe the connection, without the URL or the token."""
        return {
            "connected": self.connected,
            "connects": self.connects,
            "attempts": self.attempts,
            "events": self.events,
            "last_disconnect_reason": self.last_disconnect_reason,
            "last_error": self.last_error,
            "next_delay": self.next_delay,
        }
