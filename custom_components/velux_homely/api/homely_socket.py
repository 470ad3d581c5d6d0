"""Live events of one Homely location over Socket.IO, with a supervisor that reconnects.

One :class:`HomelyLiveClient` owns at most one connection for its location at any time
(two during the second or so of a renewal): its :meth:`~HomelyLiveClient.run` coroutine
(one task) connects, renews the connection before its token expires, and reconnects when
the session ends. The server ends connections itself ("io server disconnect") on token
expiry and rate limiting, and the library does not reconnect those, so automatic
reconnection of the library stays off.

When to reconnect:

* a session (a first connection and its renewals) that was up ``stable_after`` seconds
  and then ended is replaced at once (with a fresh token after a server disconnect): a
  drop at token expiry is normal;
* refusals, errors, and a connection the server ends within ``stable_after`` seconds of
  opening (a refusal in all but name) wait an exponential backoff, never shorter than the
  cloud's ``retryAfter``; so does a second session in a row that ended before
  ``settled_after`` seconds other than at its token's expiry (a server that accepts
  connections and ends each one after a few seconds);
* a renewal that fails keeps the connection it was to replace and is tried again after a
  growing delay (the cloud's ``retryAfter`` honoured), not in a loop.

The access token travels in the connection URL (``token=Bearer <token>``), so the
Socket.IO/Engine.IO loggers are switched off for our clients and a filter redacts tokens
from anything those loggers print anyway; our own messages never include the URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import logging
import re
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import socketio

from .errors import ApiError, AuthenticationError, RateLimitedError
from .homely import HomelyClient
from .homely_models import HomelyEvent, UnknownEventError, parse_event
from .throttle import monotonic

_LOGGER = logging.getLogger(__name__)

SOCKETIO_PATH: Final = "socket.io"
SERVER_DISCONNECT: Final = str(socketio.AsyncClient.reason.SERVER_DISCONNECT)
"""Reason python-socketio gives when the server ended the connection."""
EVENT_NAME: Final = "event"
SETTLED_AFTER: Final = 60.0
"""A session up this long (or one that ended at its token's expiry) ended normally."""

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

    def __init__(self, message: str, *, token_refused: bool = False) -> None:
        """Keep whether the server refused the token (then the next attempt renews it)."""
        super().__init__(message)
        self.token_refused = token_refused


@dataclass
class _Renewal:
    """When and how a session's connection is next renewed."""

    at: float | None
    """Clock time of the next renewal (None: the token does not expire)."""
    delay: float
    """Wait after the next failed renewal (doubles on each failure)."""
    rejected: str | None = None
    """A token the server refused (the next renewal asks for another)."""


class _Connection:
    """One Socket.IO connection; a location has one, two during a token renewal."""

    def __init__(self, sio: Any, expires_at: float | None) -> None:
        """Keep the client and when its token expires (by the client's clock)."""
        self.sio = sio
        self.expires_at = expires_at
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.watcher: asyncio.Future[None] | None = None


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
        stable_after: float = 5.0,
        settled_after: float = SETTLED_AFTER,
        connect_timeout: float = 15.0,
        stop_grace: float = 2.0,
        rollover_lead: float = 5.0,
        renewal_backoff_max: float = 900.0,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Prepare the supervisor; :meth:`run` starts it."""
        self._session_http = session
        self._client = client
        self.location_id = location_id
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._on_auth_failed = on_auth_failed
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        """A session up this long and then ended is replaced at once; a shorter one counts
        as a refusal (backoff)."""
        self.settled_after = settled_after
        """A session up this long ended normally; two shorter ones in a row back off."""
        self.rollover_lead = rollover_lead
        """Seconds before its token expires at which a connection is replaced by a new one."""
        self.renewal_backoff_max = renewal_backoff_max
        """Longest wait (seconds) between two attempts of a failing renewal (the connection
        to replace is still up meanwhile)."""
        self.connect_timeout = connect_timeout
        self.stop_grace = stop_grace
        """Seconds a connection attempt may go on after :meth:`stop` before it is cancelled."""
        self._clock = clock
        self._stop = asyncio.Event()
        self._connections: set[_Connection] = set()
        self._connect_task: asyncio.Future[Any] | None = None
        self._last_token: str | None = None
        self._ended_at_expiry = False
        """The latest session ended at (or just before) its connection's token expiry."""
        """The token of the latest connection (the one the server may have ended)."""
        self.connected = False
        self.connects = 0
        """Successful connections so far (renewals not counted)."""
        self.rollovers = 0
        """Connections replaced before their token expired."""
        self.renewal_failures = 0
        """Renewals that failed (each one tried again later)."""
        self.attempts = 0
        """Connection attempts so far (successful or not)."""
        self.events = 0
        """Events received and dispatched."""
        self.last_disconnect_reason: str | None = None
        self.last_error: str | None = None
        self.next_delay: float | None = None
        """The wait before the next attempt while one is pending."""
        self.last_delay: float | None = None
        """The wait before the latest reconnection (0: at once)."""

    @property
    def stopping(self) -> bool:
        """Return True once :meth:`stop` was called."""
        return self._stop.is_set()

    def url(self, token: str) -> str:
        """Return the connection URL: only ``locationId`` and ``token`` in the query."""
        query = urlencode({"locationId": self.location_id, "token": f"Bearer {token}"})
        return f"{self._client.base_url}?{query}"

    async def run(self) -> None:
        """Keep one connection up until :meth:`stop`; reconnect after any end.

        A session that was up ``stable_after`` seconds and then ended (the server ends a
        connection whose token expired, a network blip) is replaced at once; refusals,
        errors and sessions the server ends sooner back off exponentially. A new token is
        fetched when the held one is about to expire, the server refused it, or the
        server ended the session (on token expiry or rate limiting, says the service).
        """
        _install_log_filter()
        delay = self.backoff_initial
        rejected: str | None = None
        # The previous session ended early (before settled_after, not at token expiry).
        early_end = False
        while not self._stop.is_set():
            token: str | None = None
            wait = delay
            lived = 0.0
            try:
                token = await self._client.async_get_access_token(
                    rejected=rejected, min_validity=self._min_validity
                )
                rejected = None
                lived = await self._session(token)
                if self.last_disconnect_reason == SERVER_DISCONNECT:
                    # The server ends connections on token expiry: the next one renews it.
                    rejected = self._last_token
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
            except _ConnectFailed as err:
                self.last_error = str(err)
                if err.token_refused:
                    rejected = token  # the next attempt fetches a new one
                _LOGGER.debug(
                    "Homely live connection of %s failed: %s", self.location_id, self.last_error
                )
            except ApiError as err:
                self.last_error = redact(str(err)) or type(err).__name__
                _LOGGER.debug(
                    "Homely live connection of %s failed: %s", self.location_id, self.last_error
                )
            if self._stop.is_set():
                break
            settled = lived >= self.settled_after or self._ended_at_expiry
            if lived >= self.stable_after and (settled or not early_end):
                # A session that was up ended (token expiry, a server restart): at once.
                # Only once in a row for sessions that end early: a server that accepts
                # connections and ends each one after a few seconds is backed off.
                wait, delay = 0.0, self.backoff_initial
                early_end = not settled
            else:
                delay = min(max(delay, wait) * 2, self.backoff_max)
            self.next_delay = self.last_delay = wait
            _LOGGER.debug(
                "Reconnecting the Homely live connection of %s in %.3f s",
                self.location_id,
                wait,
            )
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
            self.next_delay = None

    @property
    def _min_validity(self) -> float:
        """Seconds a token must still be valid to open (or renew) a connection with it."""
        return self.rollover_lead * 3

    def _renew_at(self, connection: _Connection) -> float | None:
        """Return when a connection is to be replaced by a new one (None: never)."""
        if connection.expires_at is None:
            return None
        return connection.expires_at - self.rollover_lead

    async def _session(self, token: str) -> float:
        """Connect, then keep the location connected across token expiries.

        Before a connection's token expires a new connection is opened with a fresh
        token and the old one closed once the new one is up (a second or so of overlap):
        the server never ends a connection at expiry and no event is lost. Should the
        server end the old one before the new one is up (a slow renewal), ``on_connected``
        is called again, as after a reconnection. A renewal that fails is tried again
        after a growing delay while the old connection stays up. Return how long the
        session lived (from its first connection) when it ended.
        """
        connection = await self._open(token)
        self._last_token = token
        started = self._clock()
        self.connected = True
        self.connects += 1
        _LOGGER.debug("Homely live connection of %s is up", self.location_id)
        self._on_connected(self.location_id)
        renewal = _Renewal(self._renew_at(connection), self.backoff_initial)
        try:
            while await self._until_renewal(connection, renewal.at):
                successor = await self._renew(renewal)
                if successor is None:
                    if self.stopping:
                        break
                    continue
                connection = await self._hand_over(connection, successor, renewal)
        finally:
            lived = self._clock() - started
            await self._ended(connection)
        return lived

    async def _until_renewal(self, connection: _Connection, renew_at: float | None) -> bool:
        """Wait until ``renew_at``; return False when the connection ended first (or stop)."""
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(connection.ended.wait()),
            asyncio.ensure_future(self._stop.wait()),
        ]
        if renew_at is not None:
            waits.append(asyncio.ensure_future(asyncio.sleep(max(renew_at - self._clock(), 0.0))))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return not (self._stop.is_set() or connection.ended.is_set())

    async def _renew(self, renewal: _Renewal) -> _Connection | None:
        """Open the successor connection with a fresh token, or return None.

        On failure the next attempt is scheduled after a growing delay (the cloud's
        ``retryAfter`` honoured) while the old connection stays up.
        """
        fresh: str | None = None
        try:
            fresh = await self._client.async_get_access_token(
                rejected=renewal.rejected, min_validity=self._min_validity
            )
            renewal.rejected = None
            successor = await self._open(fresh)
        except AuthenticationError:
            raise
        except (ApiError, _ConnectFailed) as err:
            if self.stopping:
                return None
            # Keep the old one (it may still end first); try again a little later.
            wait = renewal.delay
            if isinstance(err, RateLimitedError) and err.retry_after:
                wait = max(wait, err.retry_after)
            if isinstance(err, _ConnectFailed) and err.token_refused:
                renewal.rejected = fresh
            renewal.delay = min(max(renewal.delay, wait) * 2, self.renewal_backoff_max)
            renewal.at = self._clock() + wait
            self.renewal_failures += 1
            _LOGGER.debug(
                "Renewing the Homely live connection of %s failed (%s): trying again in %.1f s",
                self.location_id,
                redact(str(err)) or type(err).__name__,
                wait,
            )
            return None
        self._last_token = fresh
        return successor

    async def _hand_over(
        self, old: _Connection, successor: _Connection, renewal: _Renewal
    ) -> _Connection:
        """Close ``old`` now that ``successor`` is up; return the successor."""
        renewal.at = self._renew_at(successor)
        renewal.delay = self.backoff_initial
        self.rollovers += 1
        _LOGGER.debug("Homely live connection of %s renewed", self.location_id)
        # The server may end the old one before the new one is up (a renewal slower than
        # the time left): events in between were lost, as after a reconnection, so the
        # owner reads again.
        gap = old.ended.is_set()
        await self._close(old)
        if gap and not self.stopping:
            self._on_connected(self.location_id)
        return successor

    async def _ended(self, connection: _Connection) -> None:
        """Close the session's last connection and tell the owner why it ended."""
        self.connected = False
        self._ended_at_expiry = (
            connection.expires_at is not None
            and self._clock() >= connection.expires_at - self.rollover_lead
        )
        await self._close(connection)
        reason = connection.reason or "transport closed"
        self.last_disconnect_reason = reason
        _LOGGER.debug("Homely live connection of %s ended: %s", self.location_id, reason)
        if self._on_disconnected is not None and not self.stopping:
            self._on_disconnected(self.location_id, reason)

    async def _open(self, token: str) -> _Connection:
        """Connect with ``token``; raise :class:`_ConnectFailed` when it cannot be set up."""
        sio = socketio.AsyncClient(
            reconnection=False,
            logger=False,
            engineio_logger=False,
            http_session=self._session_http,
        )
        expires_in = self._client.access_token_expires_in(token)
        connection = _Connection(sio, None if expires_in is None else self._clock() + expires_in)
        refusal: list[str] = []

        async def _on_disconnect(reason: Any = None) -> None:
            if connection.reason is None:
                connection.reason = str(reason) if reason is not None else "unknown"
            connection.ended.set()

        async def _on_event(data: Any) -> None:
            self._dispatch(data)

        async def _on_other(event: str, *args: Any) -> None:
            _LOGGER.debug(
                "Ignoring Socket.IO message %r of the Homely live connection of %s",
                event,
                self.location_id,
            )

        async def _on_connect_error(data: Any = None) -> None:
            refusal.append(redact(str(data)))
            _LOGGER.debug(
                "Homely refused the live connection of %s: %s", self.location_id, refusal[-1]
            )

        sio.on("disconnect", handler=_on_disconnect)
        sio.on(EVENT_NAME, handler=_on_event)
        sio.on("connect_error", handler=_on_connect_error)
        sio.on("*", handler=_on_other)
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
                raise _ConnectFailed("stopped")
            try:
                connect.result()
            except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError) as err:
                message = redact(str(err)) or type(err).__name__
                words = " ".join([message, *refusal]).lower()
                raise _ConnectFailed(
                    message, token_refused="jwt" in words or "token" in words
                ) from None
            if sio.eio.state != "connected":
                raise _ConnectFailed("closed while connecting")
        except BaseException:
            await self._close(connection)
            raise
        self._connections.add(connection)
        connection.watcher = asyncio.ensure_future(self._watch(connection))
        return connection

    @staticmethod
    async def _watch(connection: _Connection) -> None:
        """Note when the transport of a connection ends (whatever ended it)."""
        with contextlib.suppress(Exception):
            await connection.sio.eio.wait()
        connection.ended.set()

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

    async def _close(self, connection: _Connection) -> None:
        """End a connection whatever state it is in."""
        self._connections.discard(connection)
        if connection.reason is None:
            connection.reason = "closed by us"
        with contextlib.suppress(Exception):
            await connection.sio.disconnect()
        with contextlib.suppress(Exception):
            await connection.sio.eio.disconnect(abort=True)
        watcher = connection.watcher
        if watcher is not None and not watcher.done():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

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
        """Stop reconnecting and close the connections (the run task then ends)."""
        self._stop.set()
        if self._connect_task is not None:
            return  # the run task closes the client once the attempt has ended
        for connection in list(self._connections):
            await self._close(connection)

    def diagnostics(self) -> dict[str, Any]:
        """Describe the connection, without the URL or the token."""
        return {
            "connected": self.connected,
            "connects": self.connects,
            "rollovers": self.rollovers,
            "renewal_failures": self.renewal_failures,
            "attempts": self.attempts,
            "events": self.events,
            "last_disconnect_reason": self.last_disconnect_reason,
            "last_error": self.last_error,
            "next_delay": self.next_delay,
        }
