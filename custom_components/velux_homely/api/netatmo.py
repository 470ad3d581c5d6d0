"""Asyncio client for the Netatmo API family (VELUX ACTIVE flavour).

The client logs in with OAuth2 (password grant, then refresh grant), keeps its
token fresh, and reads ``homesdata`` / ``homestatus`` and sends ``setstate``
commands. Host, authentication details and paths come from a
:class:`NetatmoFlavour`, so that a plain Netatmo flavour can be added later.

Nothing secret (password, tokens, client secret) is ever logged or put in an
exception message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import json
import logging
import math
import time
from typing import Any, Final

import aiohttp

from .errors import (
    CODE_NEEDS_SIGNATURE,
    ApiError,
    ApiResponseError,
    AuthenticationError,
    CommandError,
    CommunicationError,
    ForbiddenError,
    InvalidResponseError,
    ModuleFailure,
    RateLimitedError,
    SignatureRefusedError,
    SignatureRequiredError,
    TokenEndpointError,
)
from .netatmo_models import HomesData, HomeStatus
from .netatmo_signing import NonceSequencer, SigningKey
from .request_log import RequestLog

_LOGGER = logging.getLogger(__name__)

APP_VERSION: Final = "1.8.0"
DEFAULT_TIMEOUT: Final = 20.0
TOKEN_REFRESH_MARGIN: Final = 120.0
"""Seconds before ``expires_in`` runs out at which the token is refreshed ahead."""
DEFAULT_TOKEN_LIFETIME: Final = 3600.0
"""Lifetime assumed for a token of unknown lifetime.

Used when a token answer has no usable ``expires_in`` (the cloud normally says
10800 s) and for a stored token without ``expires_at`` (counted from the moment
the client was built). An hour is a third of the usual lifetime: the token is
refreshed (one refresh grant, never a password login) well before it could have
expired, instead of being trusted forever. A token the API refuses earlier is
refreshed anyway (codes 2 / 3).
"""

ERROR_TOKEN_INVALID: Final = 2
ERROR_TOKEN_EXPIRED: Final = 3
ERROR_CONCURRENCY_LIMIT: Final = 11
ERROR_SCOPE: Final = 13
ERROR_USAGE_REACHED: Final = 26

RETRY_AFTER_USAGE_REACHED: Final = 900.0
RETRY_AFTER_HTTP_429: Final = 300.0
RETRY_AFTER_CONCURRENCY: Final = 60.0

STOP_POSITION: Final = -1
"""``target_position`` that stops one opener."""

SCENARIO_WAKE_UP: Final = "wake_up"
SCENARIO_BEDTIME: Final = "bedtime"
SCENARIO_AWAY: Final = "away"
SCENARIO_HOME: Final = "home"
"""Leaves departure mode; must be signed."""

PREFERRED_POSITION: Final = -2
"""``target_position`` that sends an opener to its preferred position."""
VELUX_TYPE_WINDOW: Final = "window"
MODE_AUTO: Final = "auto"
MODE_ALGO_DISABLED: Final = "algo_disabled"
MODES: Final = (MODE_AUTO, MODE_ALGO_DISABLED)
"""Values of ``mode`` a command may set (automatic ventilation on / off)."""


@dataclass(frozen=True, slots=True)
class PositionMove:
    """One opener to move in :meth:`NetatmoClient.async_set_positions`.

    ``position`` is 0 (closed) .. 100 (open), -1 (stop) or -2 (preferred position).
    ``velux_type`` decides whether the move must be signed (opening a ``window``).
    """

    module_id: str
    bridge_id: str | None
    position: int
    velux_type: str | None = None

    @property
    def needs_signature(self) -> bool:
        """Return True for a roof window opening (position > 0 or the preferred position)."""
        return self.velux_type == VELUX_TYPE_WINDOW and (
            self.position > 0 or self.position == PREFERRED_POSITION
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NetatmoFlavour:
    """Host, authentication details and paths of one member of the API family."""

    name: str
    base_url: str
    client_id: str
    client_secret: str
    token_path: str = "/oauth2/token"  # noqa: S105
    user_prefix: str | None = None
    scope: str | None = None
    app_type: str | None = None
    app_version: str | None = None
    homesdata_path: str = "/api/homesdata"
    homestatus_path: str = "/api/homestatus"
    setstate_path: str = "/syncapi/v1/setstate"
    gateway_types: tuple[str, ...] = ()


VELUX_ACTIVE: Final = NetatmoFlavour(
    name="VELUX ACTIVE",
    base_url="https://app.velux-active.com",
    # The public client credentials of the VELUX ACTIVE mobile app.
    client_id="5931426da127d981e76bdd3f",
    client_secret="6ae2d89d15e767ae5c56b456b452d319",  # noqa: S106
    user_prefix="velux",
    scope="velux_scopes",
    app_type="app_velux",
    app_version=APP_VERSION,
    gateway_types=("NXG",),
)


OAUTH_AUTH_ERRORS: Final = frozenset({"invalid_grant", "invalid_client"})
"""OAuth2 ``error`` values of the token endpoint that mean "these credentials do not work"."""


class _TokenRejectedError(ApiResponseError):
    """The API refused the access token (error 2 or 3): refresh and retry once."""


class _OAuthError(ApiResponseError):
    """An OAuth2 error answer (``{"error": "invalid_grant"}``)."""

    def __init__(self, message: str, error: str, status: int) -> None:
        """Keep the OAuth2 ``error`` value."""
        super().__init__(message, status=status)
        self.error = error


type TokenCallback = Callable[[dict[str, Any]], None]
type RefusedKeysCallback = Callable[[dict[str, SigningKey]], None]
"""Called with the keys a signed command was refused for (code 9), by gateway id."""


class NetatmoClient:
    """Client of one account of the Netatmo API family."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        flavour: NetatmoFlavour = VELUX_ACTIVE,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token: Mapping[str, Any] | None = None,
        on_token_update: TokenCallback | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        sequencer: NonceSequencer | None = None,
        request_log: RequestLog | None = None,
        on_keys_refused: RefusedKeysCallback | None = None,
    ) -> None:
        """Keep the session, the credentials and a previously stored token.

        ``token`` is a dict as given to ``on_token_update`` earlier
        (``access_token``, ``refresh_token``, ``expires_at``...).
        ``on_token_update`` is called with a copy of the new token whenever one
        arrives, so that the caller can persist it. ``sequencer`` hands out the
        ``(timestamp, nonce)`` pairs of signed commands when a call gives none
        (default: one per client, on ``clock``). ``request_log`` counts every request
        sent (default: one per client). ``on_keys_refused`` is called with the keys the
        cloud refused a signed command for (code 9), before
        :class:`SignatureRefusedError` is raised.
        """
        self._session = session
        self.flavour = flavour
        self.base_url = (base_url or flavour.base_url).rstrip("/")
        self._username = username
        self._password = password
        self._client_id = client_id or flavour.client_id
        self._client_secret = client_secret or flavour.client_secret
        self._token: dict[str, Any] | None = dict(token) if token else None
        self._on_token_update = on_token_update
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._clock = clock
        self._token_lock = asyncio.Lock()
        self._assumed_expiry = clock() + DEFAULT_TOKEN_LIFETIME
        self.sequencer = sequencer or NonceSequencer(clock=clock)
        self.request_log = request_log or RequestLog()
        """Every request sent, token requests included (see :meth:`requests_last_hour`)."""
        self._on_keys_refused = on_keys_refused

    def requests_last_hour(self) -> int:
        """Return how many requests (token requests included) went out in the last hour."""
        return self.request_log.count()

    @property
    def token(self) -> dict[str, Any] | None:
        """Return a copy of the current token (or None before the first login)."""
        return dict(self._token) if self._token else None

    # --- authentication ----------------------------------------------------------------------

    def _token_is_fresh(self) -> bool:
        if not self._token or not self._token.get("access_token"):
            return False
        expires_at = self._token.get("expires_at")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            # A stored token of unknown lifetime: trust it for DEFAULT_TOKEN_LIFETIME.
            expires_at = self._assumed_expiry
        return bool(self._clock() < expires_at - TOKEN_REFRESH_MARGIN)

    async def async_get_access_token(self) -> str:
        """Return a valid access token, refreshing or logging in when needed.

        Refreshes are serialised: callers waiting on the lock reuse the token the
        first one obtained.
        """
        async with self._token_lock:
            if not self._token_is_fresh():
                await self._async_renew_token()
            assert self._token is not None  # noqa: S101
            return str(self._token["access_token"])

    async def async_login(self) -> dict[str, Any]:
        """Log in with the password (ignoring any stored token) and return the token."""
        async with self._token_lock:
            await self._async_password_login()
            assert self._token is not None  # noqa: S101
            return dict(self._token)

    async def async_invalidate_access_token(self, access_token: str) -> None:
        """Forget ``access_token`` (refused elsewhere, e.g. by the realtime WebSocket).

        The next :meth:`async_get_access_token` refreshes it, unless another call
        already replaced it.
        """
        await self._async_invalidate(access_token)

    async def _async_invalidate(self, access_token: str) -> None:
        """Forget an access token the API refused (unless another call replaced it)."""
        async with self._token_lock:
            if self._token and self._token.get("access_token") == access_token:
                self._token = {**self._token, "expires_at": 0}

    async def _async_renew_token(self) -> None:
        refresh_token = (self._token or {}).get("refresh_token")
        if isinstance(refresh_token, str) and refresh_token:
            try:
                await self._async_token_request(
                    {"grant_type": "refresh_token", "refresh_token": refresh_token}
                )
            except AuthenticationError:
                _LOGGER.debug("%s refused the refresh token", self.flavour.name)
            else:
                return
        await self._async_password_login()

    async def _async_password_login(self) -> None:
        if not self._username or not self._password:
            raise AuthenticationError("No valid token and no password to log in with")
        form = {
            "grant_type": "password",
            "username": self._username,
            "password": self._password,
        }
        if self.flavour.user_prefix:
            form["user_prefix"] = self.flavour.user_prefix
        if self.flavour.scope:
            form["scope"] = self.flavour.scope
        if self.flavour.app_version:
            form["app_version"] = self.flavour.app_version
        await self._async_token_request(form)

    async def _async_token_request(self, form: dict[str, str]) -> None:
        grant = form["grant_type"]
        form = {**form, "client_id": self._client_id, "client_secret": self._client_secret}
        try:
            payload = await self._async_send(self.flavour.token_path, data=form)
        except _OAuthError as err:
            if err.error in OAUTH_AUTH_ERRORS:
                # The grant or the client credentials were refused: they do not work.
                raise AuthenticationError(f"{grant} grant refused: {err}") from err
            raise TokenEndpointError(f"{grant} grant failed: {err}") from err
        except ApiResponseError as err:
            # Anything else (an HTML 403 / 404 maintenance page, a Netatmo error
            # object) says nothing about the credentials: try again later.
            raise TokenEndpointError(f"{grant} grant failed: {err}") from err
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise InvalidResponseError(f"{grant} grant answered without an access token")
        lifetime = _lifetime(payload.get("expires_in", payload.get("expire_in")))
        token: dict[str, Any] = {
            "access_token": access_token,
            "refresh_token": payload.get("refresh_token")
            or (self._token or {}).get("refresh_token"),
            "expires_at": self._clock() + (lifetime or DEFAULT_TOKEN_LIFETIME),
            "scope": payload.get("scope"),
        }
        self._token = token
        _LOGGER.debug("%s %s grant succeeded", self.flavour.name, grant)
        if self._on_token_update is not None:
            self._on_token_update(dict(token))

    # --- transport ---------------------------------------------------------------------------

    async def _async_send(
        self,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        bearer: str | None = None,
    ) -> dict[str, Any]:
        """POST to ``path`` and return the decoded JSON object (or raise)."""
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
        started = time.monotonic()
        self.request_log.note()
        try:
            async with self._session.post(
                self.base_url + path,
                data=data,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                status = response.status
                text = await response.text()
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as err:
            _LOGGER.debug("POST %s timed out", path)
            raise CommunicationError(
                f"Timeout after {self._timeout.total} s calling {path}"
            ) from err
        except aiohttp.ClientError as err:
            _LOGGER.debug("POST %s failed: %s", path, type(err).__name__)
            raise CommunicationError(f"Error calling {path}: {err}") from err
        _LOGGER.debug("POST %s -> HTTP %s in %.3f s", path, status, time.monotonic() - started)
        return _parse_response(path, status, text, retry_after)

    async def _async_api(
        self,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call an API endpoint with the access token; refresh and retry once if refused.

        Form calls carry the token in the form (the classic Netatmo style); JSON calls
        carry it as a Bearer header.
        """
        for attempt in range(2):
            access_token = await self.async_get_access_token()
            try:
                if json_body is not None:
                    return await self._async_send(path, json_body=json_body, bearer=access_token)
                return await self._async_send(
                    path, data={**(form or {}), "access_token": access_token}
                )
            except _TokenRejectedError as err:
                _LOGGER.debug("%s refused the access token (code %s)", path, err.code)
                if attempt:
                    raise AuthenticationError("Access token refused after a refresh") from err
                await self._async_invalidate(access_token)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- reads -------------------------------------------------------------------------------

    async def async_get_homes_data(self) -> HomesData:
        """Return the topology: homes, rooms, modules and the user."""
        form = {}
        if self.flavour.gateway_types:
            form["gateway_types"] = "[" + ",".join(self.flavour.gateway_types) + "]"
        payload = await self._async_api(self.flavour.homesdata_path, form=form)
        return HomesData.from_api(payload)

    async def async_get_home_status(
        self, home_id: str, module_types: Mapping[str, str] | None = None
    ) -> HomeStatus:
        """Return the live state of the modules and rooms of one home.

        ``module_types`` (module id -> type from homesdata) types the modules that
        homestatus lists without a ``type``.
        """
        payload = await self._async_api(self.flavour.homestatus_path, form={"home_id": home_id})
        body = payload.get("body")
        home = body.get("home") if isinstance(body, dict) else None
        if not isinstance(home, dict) or not isinstance(home.get("modules"), list):
            # A broken answer, not a home without modules: keep what is known.
            raise InvalidResponseError(f"homestatus of {home_id}: the answer lists no modules")
        return HomeStatus.from_api(payload, home_id, module_types)

    # --- commands ----------------------------------------------------------------------------

    async def async_set_state(self, home_id: str, modules: list[dict[str, Any]]) -> None:
        """Send a ``setstate`` command; raise CommandError for per-module failures."""
        body: dict[str, Any] = {"home": {"id": home_id, "modules": modules}}
        if self.flavour.app_type:
            body["app_type"] = self.flavour.app_type
        payload = await self._async_api(self.flavour.setstate_path, json_body=body)
        answer = payload.get("body")
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if isinstance(errors, list) and errors:
            failures = [
                ModuleFailure(
                    module_id=str(error.get("id") or ""),
                    code=_error_code(error.get("code")),
                    message=error.get("message") if isinstance(error.get("message"), str) else None,
                )
                for error in errors
                if isinstance(error, dict)
            ]
            raise CommandError(failures)

    async def async_set_position(
        self, home_id: str, module_id: str, bridge_id: str | None, position: int
    ) -> None:
        """Move one opener to ``position`` (0 closed .. 100 open; -1 stops it)."""
        module: dict[str, Any] = {"id": module_id, "target_position": position}
        if bridge_id:
            module["bridge"] = bridge_id
        await self.async_set_state(home_id, [module])

    async def async_stop(self, home_id: str, module_id: str, bridge_id: str | None) -> None:
        """Stop one opener."""
        await self.async_set_position(home_id, module_id, bridge_id, STOP_POSITION)

    async def async_stop_movements(self, home_id: str, bridge_id: str) -> None:
        """Stop every opener of a gateway."""
        await self.async_set_state(home_id, [{"id": bridge_id, "stop_movements": "all"}])

    async def async_set_scenario(
        self,
        home_id: str,
        bridge_id: str,
        scenario: str,
        *,
        signing: Mapping[str, SigningKey] | SigningKey | None = None,
        sequencer: NonceSequencer | None = None,
    ) -> None:
        """Run a scenario of a gateway (``wake_up``, ``bedtime``, ``away``, ``home``).

        ``home`` (leaving departure mode) is signed with the gateway's key: ``signing``
        is that key or a mapping gateway id -> key. Without it
        :class:`SignatureRequiredError` is raised before any request.
        """
        entry: dict[str, Any] = {"id": bridge_id, "scenario": scenario}
        signed: dict[str, tuple[str, SigningKey]] = {}
        if scenario == SCENARIO_HOME:
            key = signing if isinstance(signing, SigningKey) else (signing or {}).get(bridge_id)
            if key is None:
                raise SignatureRequiredError([bridge_id])
            timestamp, (nonce,) = (sequencer or self.sequencer).allocate(1)
            entry.update(
                _signed_fields(
                    key, "scenario", scenario, timestamp=timestamp, nonce=nonce, device_id=bridge_id
                )
            )
            signed[bridge_id] = (bridge_id, key)
        await self._async_set_signed_state(home_id, [entry], signed)

    async def async_set_positions(
        self,
        home_id: str,
        moves: Sequence[PositionMove],
        *,
        signing: Mapping[str, SigningKey] | None = None,
        sequencer: NonceSequencer | None = None,
        force: bool = False,
    ) -> None:
        """Move several openers with ONE ``setstate`` call.

        Window openings (:attr:`PositionMove.needs_signature`) are signed with the key
        of the module's gateway (``signing[bridge_id]``); all signed items share one
        timestamp with consecutive nonces from ``sequencer`` (default: the client's).
        ``force`` adds ``"force": true`` to the openings (needed while it rains).

        Raise :class:`SignatureRequiredError` naming every opening without a key, and
        TypeError / ValueError for a position that is not an integer in -2..100, before
        any request.
        """
        if not moves:
            return
        for move in moves:
            position = move.position
            if isinstance(position, bool) or not isinstance(position, int):
                raise TypeError(f"Position of {move.module_id} is not an integer")
            if not PREFERRED_POSITION <= position <= 100:
                raise ValueError(f"Position {position} of {move.module_id} is out of range")
        keys = signing or {}
        missing = [
            move.module_id
            for move in moves
            if move.needs_signature and (move.bridge_id is None or move.bridge_id not in keys)
        ]
        if missing:
            raise SignatureRequiredError(missing)
        signed_count = sum(1 for move in moves if move.needs_signature)
        timestamp, nonces = (
            (sequencer or self.sequencer).allocate(signed_count) if signed_count else (0, [])
        )
        pending = iter(nonces)
        modules: list[dict[str, Any]] = []
        signed: dict[str, tuple[str, SigningKey]] = {}
        for move in moves:
            entry: dict[str, Any] = {"id": move.module_id, "target_position": move.position}
            if move.bridge_id:
                entry["bridge"] = move.bridge_id
            if move.needs_signature:
                assert move.bridge_id is not None  # noqa: S101 - checked above
                signed[move.module_id] = (move.bridge_id, keys[move.bridge_id])
                entry.update(
                    _signed_fields(
                        keys[move.bridge_id],
                        "target_position",
                        move.position,
                        timestamp=timestamp,
                        nonce=next(pending),
                        device_id=move.module_id,
                    )
                )
                if force:
                    entry["force"] = True
            modules.append(entry)
        await self._async_set_signed_state(home_id, modules, signed)

    async def _async_set_signed_state(
        self,
        home_id: str,
        modules: list[dict[str, Any]],
        signed: Mapping[str, tuple[str, SigningKey]],
    ) -> None:
        """Send a ``setstate`` whose items ``signed`` (id -> gateway id, key) are signed.

        A signed item refused with code 9 was signed with a key its gateway does not
        accept: raise :class:`SignatureRefusedError` (after ``on_keys_refused``).
        """
        try:
            await self.async_set_state(home_id, modules)
        except CommandError as err:
            refused = {
                signed[failure.module_id][0]: signed[failure.module_id][1]
                for failure in err.failures
                if failure.code == CODE_NEEDS_SIGNATURE and failure.module_id in signed
            }
            if not refused:
                raise
            if self._on_keys_refused is not None:
                self._on_keys_refused(refused)
            raise SignatureRefusedError(err.failures, tuple(refused)) from err

    async def async_set_silent(
        self, home_id: str, module_id: str, bridge_id: str | None, silent: bool
    ) -> None:
        """Switch the silent mode of an opener on or off."""
        await self.async_set_state(
            home_id, [_module_entry(module_id, bridge_id, silent=bool(silent))]
        )

    async def async_set_mode(
        self, home_id: str, module_id: str, bridge_id: str | None, mode: str
    ) -> None:
        """Switch the automatic ventilation of an opener: ``auto`` or ``algo_disabled``."""
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}")
        await self.async_set_state(home_id, [_module_entry(module_id, bridge_id, mode=mode)])

    async def async_retrieve_key(self, home_id: str, bridge_id: str) -> None:
        """Ask a gateway to open its local pairing listener (then press its button)."""
        await self.async_set_state(home_id, [{"id": bridge_id, "retrieve_key": True}])

    async def async_identify(self, home_id: str, bridge_id: str) -> None:
        """Make a gateway blink."""
        await self.async_set_state(home_id, [{"id": bridge_id, "identify": True}])


def _module_entry(module_id: str, bridge_id: str | None, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": module_id}
    if bridge_id:
        entry["bridge"] = bridge_id
    entry.update(fields)
    return entry


def _signed_fields(
    key: SigningKey, item: str, value: object, *, timestamp: int, nonce: int, device_id: str
) -> dict[str, Any]:
    """Return the fields that sign ``item = value`` of ``device_id``."""
    return {
        "nonce": nonce,
        "timestamp": timestamp,
        "sign_key_id": key.sign_key_id,
        f"hash_{item}": key.sign(
            item, value, timestamp=timestamp, nonce=nonce, device_id=device_id
        ),
    }


def _lifetime(value: Any) -> float | None:
    """Return a usable token lifetime in seconds (a positive finite number), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return float(value)
    return None


def _error_code(value: Any) -> int:
    """Return the code of a per-module failure; 0 when it is missing or not a number."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return 0
    return 0


def _retry_after(header: str | None, default: float) -> float:
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    return default


def _parse_response(path: str, status: int, text: str, retry_after: str | None) -> dict[str, Any]:
    """Turn an HTTP answer into a JSON object or the matching error."""
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    code: int | None = None
    message = f"HTTP {status}"
    if isinstance(error, dict):
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, int) else None
        if isinstance(error.get("message"), str):
            message = error["message"]
    elif isinstance(error, str):
        message = error
        if isinstance(payload, dict) and isinstance(payload.get("error_description"), str):
            message = f"{error}: {payload['error_description']}"

    if code == ERROR_USAGE_REACHED:
        raise RateLimitedError(
            f"{path}: {message}", _retry_after(retry_after, RETRY_AFTER_USAGE_REACHED)
        )
    if code == ERROR_CONCURRENCY_LIMIT:
        raise RateLimitedError(
            f"{path}: {message}", _retry_after(retry_after, RETRY_AFTER_CONCURRENCY)
        )
    if status == 429:
        raise RateLimitedError(
            f"{path}: {message}", _retry_after(retry_after, RETRY_AFTER_HTTP_429)
        )
    if status >= 500:
        raise CommunicationError(f"{path}: server error HTTP {status}")
    if code in (ERROR_TOKEN_INVALID, ERROR_TOKEN_EXPIRED):
        raise _TokenRejectedError(f"{path}: {message}", code=code, status=status)
    if isinstance(error, str):
        raise _OAuthError(f"{path}: {message}", error, status)
    if error is not None:
        error_cls: type[ApiResponseError] = (
            ForbiddenError if status == 403 or code == ERROR_SCOPE else ApiResponseError
        )
        raise error_cls(f"{path}: {message}", code=code, status=status)
    if status >= 400:
        raise ApiResponseError(f"{path}: HTTP {status}", status=status)
    if not isinstance(payload, dict):
        raise InvalidResponseError(f"{path}: the answer is not a JSON object")
    return payload


__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "VELUX_ACTIVE",
    "ApiError",
    "NetatmoClient",
    "NetatmoFlavour",
    "PositionMove",
    "SignatureRequiredError",
]
