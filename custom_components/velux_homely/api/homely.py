"""Asyncio REST client of the Homely SDK (``https://sdk.iotiliti.cloud/homely``).

The session is injected (Home Assistant's shared ``aiohttp.ClientSession``). Tokens are
fetched only when a call needs one: the access token is refreshed a little ahead of the
expiry the server announced, refreshes are serialised, and a refused refresh falls back to a
full login. Nothing here logs or raises a token or the password.

Reads of ``/home`` go through a :class:`~.throttle.ReadThrottle` per location: at most
two in any 15 minutes, and after a 429 no read before ``retryAfter`` (doubling while the
limit lasts, the doubling up to 15 minutes; a longer ``retryAfter`` is waited out). A read
the budget does not allow is not sent: it raises :class:`~.errors.ReadHeldBackError` with
the time it may go. A 429 of the token endpoints (:class:`TokenRateLimitedError`) is not
charged to the location: nothing was asked of ``/home``.

Only a 401 on login means refused credentials (:class:`AuthenticationError`, which asks the
user for new ones). A refresh the server refuses (400 "Refresh token expired", 401) leads to
a full login; any other error of the token endpoints (403 or an HTML page of a proxy in
maintenance, 404, 5xx) is a :class:`CommunicationError` that set-up and polls retry by
themselves.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import logging
from typing import Any, Final

import aiohttp

from .errors import (
    ApiResponseError,
    AuthenticationError,
    CommunicationError,
    ForbiddenError,
    InvalidResponseError,
    RateLimitedError,
    ReadHeldBackError,
)
from .homely_models import HomelyHome, HomelyLocation, parse_locations
from .request_log import RequestLog
from .throttle import ReadThrottle, monotonic

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://sdk.iotiliti.cloud"
API_PREFIX: Final = "/homely"
PATH_LOGIN: Final = f"{API_PREFIX}/oauth/token"
PATH_REFRESH: Final = f"{API_PREFIX}/oauth/refresh-token"
PATH_LOCATIONS: Final = f"{API_PREFIX}/locations"
PATH_HOME: Final = f"{API_PREFIX}/home"

DEFAULT_REFRESH_MARGIN: Final = 10.0
"""Seconds before the announced expiry at which a token counts as expired."""
DEFAULT_TIMEOUT: Final = 20.0
HOME_READS_PER_WINDOW: Final = 2
HOME_READ_WINDOW: Final = 15 * 60.0
"""Homely throttles ``/home`` after a handful of calls: at most this many reads of a
location in any window of this many seconds."""
RATE_LIMIT_FALLBACK: Final = 60.0
"""Wait (seconds) after a 429 without ``retryAfter``."""
RATE_LIMIT_CAP: Final = 15 * 60.0
"""Longest wait (seconds) our doubling reaches after rate-limit answers in a row (the
cloud's own ``retryAfter`` is honoured even when longer)."""
_DEFAULT_ACCESS_LIFETIME: Final = 60.0
_DEFAULT_REFRESH_LIFETIME: Final = 1800.0


@dataclass(frozen=True, slots=True)
class _Tokens:
    access_token: str
    refresh_token: str | None
    access_expires_at: float
    refresh_expires_at: float


def _lifetime(raw: Any, default: float) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return float(raw)
    return default


def _error_message(body: Any, status: int) -> str:
    """Return the server's error text (``message`` may be a string or a list)."""
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, list):
            return "; ".join(str(item) for item in message)
        if isinstance(message, str) and message:
            return message
    return f"HTTP {status}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Return the value of header ``name`` (spelt in any case), None when absent."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _retry_after(body: Any, headers: Mapping[str, str]) -> float | None:
    """Return the retry hint of a 429 answer: JSON ``retryAfter``, else ``Retry-After``."""
    candidates: list[Any] = []
    if isinstance(body, Mapping):
        candidates.append(body.get("retryAfter"))
    candidates.append(_header(headers, "Retry-After"))
    for candidate in candidates:
        if isinstance(candidate, bool) or candidate is None:
            continue
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None


class TokenRateLimitedError(RateLimitedError):
    """The token endpoint (login or refresh) answered 429: no resource was asked."""


class _RefreshRefused(Exception):
    """The server refused the refresh token (expired, rotated or unknown)."""


class HomelyClient:
    """Client of the Homely REST API for one account."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = monotonic,
        home_throttle: ReadThrottle | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        """Keep the credentials; nothing is sent before a call needs a token."""
        self._session = session
        self._username = username
        self._password = password
        self.base_url = base_url.rstrip("/")
        self._margin = refresh_margin
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._tokens: _Tokens | None = None
        self._token_lock = asyncio.Lock()
        self.home_throttle = home_throttle or ReadThrottle(
            reads=HOME_READS_PER_WINDOW,
            window=HOME_READ_WINDOW,
            fallback=RATE_LIMIT_FALLBACK,
            cap=RATE_LIMIT_CAP,
            clock=clock,
        )
        """Budget and back-off of the ``/home`` reads, per location."""
        self.calls: Counter[str] = Counter()
        """Requests sent, by kind: ``login``, ``refresh``, ``locations``, ``home``."""
        self.request_log = request_log or RequestLog(clock=clock)
        """Every request sent, token requests included (see :meth:`requests_last_hour`)."""

    @property
    def username(self) -> str:
        """Return the account's user name (e-mail)."""
        return self._username

    def requests_last_hour(self) -> int:
        """Return how many requests (token requests included) went out in the last hour."""
        return self.request_log.count()

    @property
    def has_token(self) -> bool:
        """Return True when an access token is held (valid or not)."""
        return self._tokens is not None

    def token_status(self) -> dict[str, Any]:
        """Describe the tokens held, without the tokens (for diagnostics)."""
        tokens = self._tokens
        if tokens is None:
            return {"has_token": False}
        now = self._clock()
        return {
            "has_token": True,
            "access_expires_in": round(tokens.access_expires_at - now, 1),
            "refresh_expires_in": round(tokens.refresh_expires_at - now, 1),
        }

    # -- tokens ------------------------------------------------------------------

    async def async_login(self) -> None:
        """Log in with user name and password (always a new token pair)."""
        async with self._token_lock:
            await self._login()

    def access_token_expires_in(self, token: str) -> float | None:
        """Return the seconds ``token`` is used for still (None: not the token held)."""
        tokens = self._tokens
        if tokens is None or tokens.access_token != token:
            return None
        return tokens.access_expires_at - self._clock()

    async def async_get_access_token(
        self, *, rejected: str | None = None, min_validity: float = 0.0
    ) -> str:
        """Return a valid access token, refreshing or logging in when needed.

        ``rejected`` is a token the server refused although it had not expired yet: when
        it is still the token held, a new one is fetched (once, even when several callers
        report the same token). ``min_validity``: the token held is renewed when it would
        expire within that many seconds (a live connection renewing ahead of expiry).
        """
        async with self._token_lock:
            tokens = self._tokens
            now = self._clock()
            if (
                tokens is not None
                and tokens.access_token != rejected
                and now + min_validity < tokens.access_expires_at
            ):
                return tokens.access_token
            if (
                tokens is not None
                and tokens.refresh_token is not None
                and now < tokens.refresh_expires_at
            ):
                try:
                    return await self._refresh(tokens.refresh_token)
                except _RefreshRefused:
                    _LOGGER.debug("Homely refused the refresh token: logging in again")
            return await self._login()

    async def _login(self) -> str:
        self.calls["login"] += 1
        _LOGGER.debug("Logging in to Homely")
        body = await self._token_request(
            PATH_LOGIN, {"username": self._username, "password": self._password}
        )
        return self._store_tokens(body)

    async def _refresh(self, refresh_token: str) -> str:
        self.calls["refresh"] += 1
        _LOGGER.debug("Refreshing the Homely access token")
        body = await self._token_request(PATH_REFRESH, {"refresh_token": refresh_token})
        return self._store_tokens(body)

    async def _token_request(self, path: str, payload: dict[str, str]) -> Any:
        """POST to a token endpoint and return the answer.

        Raises :class:`AuthenticationError` for a 401 on login, :class:`_RefreshRefused`
        for a 400/401 on refresh, :class:`TokenRateLimitedError` for a 429 and
        :class:`CommunicationError` for anything else (a 403 or a maintenance page is not
        a verdict on the credentials).
        """
        status, body, headers = await self._request("POST", path, json_body=payload)
        if status < 400:
            return body
        message = _error_message(body, status)
        if status == 429:
            raise TokenRateLimitedError(
                f"Homely rate limited {path}", retry_after=_retry_after(body, headers)
            )
        if path == PATH_LOGIN and status == 401:
            raise AuthenticationError(f"Homely refused the credentials: {message}")
        if path == PATH_REFRESH and status in (400, 401):
            raise _RefreshRefused(message)
        raise CommunicationError(f"Homely answered {status} on {path}: {message}")

    def _store_tokens(self, body: Any) -> str:
        if not isinstance(body, Mapping):
            raise InvalidResponseError("token answer is not an object")
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise InvalidResponseError("token answer without access_token")
        refresh = body.get("refresh_token")
        now = self._clock()
        access_life = _lifetime(body.get("expires_in"), _DEFAULT_ACCESS_LIFETIME)
        refresh_life = _lifetime(body.get("refresh_expires_in"), _DEFAULT_REFRESH_LIFETIME)
        self._tokens = _Tokens(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            access_expires_at=now + self._usable(access_life),
            refresh_expires_at=now + self._usable(refresh_life),
        )
        return access

    def _usable(self, lifetime: float) -> float:
        """Return how long a token of ``lifetime`` seconds is used (margin, at most half)."""
        return max(lifetime - self._margin, lifetime / 2)

    # -- resources ---------------------------------------------------------------

    async def async_get_locations(self) -> list[HomelyLocation]:
        """Return the locations (gateways) the user may read."""
        self.calls["locations"] += 1
        return parse_locations(await self._get(PATH_LOCATIONS))

    async def async_get_home(self, location_id: str) -> HomelyHome:
        """Return the alarm state and the devices of one location (within the budget)."""
        throttle = self.home_throttle
        if (wait := throttle.hold_back(location_id)) > 0:
            raise ReadHeldBackError(
                f"Homely /home of {location_id} held back for {wait:.0f} s", retry_after=wait
            )
        # A token first: a rate-limited token endpoint sends nothing to /home.
        token = await self.async_get_access_token()
        throttle.note_request(location_id)
        self.calls["home"] += 1
        try:
            body = await self._get(f"{PATH_HOME}/{location_id}", token=token)
        except TokenRateLimitedError:
            raise
        except RateLimitedError as err:
            err.retry_after = throttle.note_limited(location_id, err.retry_after)
            raise
        home = HomelyHome.from_api(body)
        throttle.note_success(location_id)
        return home

    async def _get(self, path: str, *, token: str | None = None) -> Any:
        """GET a resource with the access token; one retry with a new token on a 401."""
        if token is None:
            token = await self.async_get_access_token()
        status, body, headers = await self._request("GET", path, token=token)
        if status == 401:
            _LOGGER.debug("Homely refused the access token on %s: fetching a new one", path)
            token = await self.async_get_access_token(rejected=token)
            status, body, headers = await self._request("GET", path, token=token)
        self._raise_for_status(path, status, body, headers)
        return body

    def _raise_for_status(
        self, path: str, status: int, body: Any, headers: Mapping[str, str]
    ) -> None:
        if status < 400:
            return
        message = f"Homely answered {status} on {path}: {_error_message(body, status)}"
        if status == 429:
            raise RateLimitedError(message, retry_after=_retry_after(body, headers))
        if status == 403:
            raise ForbiddenError(message, status=status)
        if status >= 500:
            raise CommunicationError(message)
        raise ApiResponseError(message, status=status)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: dict[str, str] | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """Send one request; return status, decoded JSON body (None if empty) and headers."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.request_log.note()
        try:
            async with self._session.request(
                method,
                f"{self.base_url}{path}",
                json=json_body,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                text = await response.text()
                status = response.status
                answer_headers = dict(response.headers)
        except TimeoutError as err:
            raise CommunicationError(f"Timeout talking to Homely ({path})") from err
        except aiohttp.ClientError as err:
            raise CommunicationError(f"Cannot reach Homely ({path}): {type(err).__name__}") from err
        body: Any = None
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError as err:
                if status < 400:
                    raise InvalidResponseError(f"Homely sent no JSON on {path}") from err
        return status, body, answer_headers
