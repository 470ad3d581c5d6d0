"""Errors raised by the cloud clients.

The hierarchy is shared by every provider so that the integration can map
failures to Home Assistant concepts in one place:

* :class:`AuthenticationError` -> reauthentication
* :class:`RateLimitedError` -> keep data, back off (``retry_after`` seconds); its
  :class:`ReadHeldBackError` says the client's own budget held the request back
* :class:`CommunicationError` -> temporary failure (timeouts, 5xx, bad JSON)
* :class:`ApiResponseError` -> the service answered with an error code
* :class:`CommandError` -> a command was accepted but failed for some modules
* :class:`SignatureRequiredError` -> a command needs a signing key we do not have
* :class:`SignatureRefusedError` -> a signed command was refused: the gateway does not
  accept the key it was signed with
* :class:`PairingError` and subclasses -> local pairing with a gateway (Netcom) failed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ApiError(Exception):
    """Base class of every error raised by the clients."""


class AuthenticationError(ApiError):
    """Credentials or tokens were refused and cannot be renewed."""


class CommunicationError(ApiError):
    """The service could not be reached or answered garbage (timeouts, 5xx)."""


class TokenEndpointError(CommunicationError):
    """The token endpoint failed (not a verdict on the credentials): every read fails."""


class InvalidResponseError(CommunicationError):
    """The service answered with a body that is not the JSON we expect."""


class RateLimitedError(ApiError):
    """The service asks us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep the server's retry hint (seconds) when it gave one."""
        super().__init__(message)
        self.retry_after = retry_after


class ReadHeldBackError(RateLimitedError):
    """The client held a read back to stay within its budget: nothing was sent.

    ``retry_after`` is when the budget allows the read.
    """


class ApiResponseError(ApiError):
    """The service answered with an error code we do not handle specially."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        """Keep the service's error code and the HTTP status."""
        super().__init__(message)
        self.code = code
        self.status = status


class ForbiddenError(ApiResponseError):
    """The account has no access to the requested resource (HTTP 403)."""


CODE_NEEDS_SIGNATURE = 9
"""Per-module command error: the command must be signed (missing or wrong signature)."""
CODE_PAIR_REUSED = 28
"""Per-module command error: the (timestamp, nonce) pair of a signature was used before."""


@dataclass(frozen=True, slots=True)
class ModuleFailure:
    """One module for which a command failed."""

    module_id: str
    code: int
    message: str | None = None


class CommandError(ApiError):
    """A command was answered but failed for one or more modules."""

    def __init__(self, failures: list[ModuleFailure]) -> None:
        """Keep the per-module failures."""
        codes = ", ".join(f"{f.module_id}: {f.code}" for f in failures)
        super().__init__(f"Command failed for {codes}")
        self.failures = failures

    @property
    def needs_signature(self) -> bool:
        """Return True when the cloud asked for a signed command (code 9)."""
        return any(failure.code == CODE_NEEDS_SIGNATURE for failure in self.failures)

    @property
    def reused_pair(self) -> tuple[str, ...]:
        """Return the modules refused for a (timestamp, nonce) pair used before (code 28)."""
        return tuple(f.module_id for f in self.failures if f.code == CODE_PAIR_REUSED)


class SignatureRefusedError(CommandError):
    """A signed command was refused with code 9: the gateway does not accept the key.

    The command carried a signature made with a stored key (a command without a key
    raises :class:`SignatureRequiredError` before any request), so the gateway does
    not know that key: it was reset (which clears its key table) or the key is wrong.
    ``gateway_ids`` names the gateways whose keys signed the refused items.
    """

    def __init__(self, failures: list[ModuleFailure], gateway_ids: Iterable[str]) -> None:
        """Keep the per-module failures and the gateways whose keys were refused."""
        super().__init__(failures)
        self.gateway_ids: tuple[str, ...] = tuple(gateway_ids)


class SignatureRequiredError(ApiError):
    """A command must be signed but no signing key is known for the module's gateway.

    Raised before any request is sent; ``module_ids`` names the modules concerned.
    """

    def __init__(self, module_ids: Iterable[str]) -> None:
        """Keep the ids of the modules that need a signed command."""
        self.module_ids: tuple[str, ...] = tuple(module_ids)
        super().__init__(
            "A signing key is needed for " + (", ".join(self.module_ids) or "this command")
        )


# --- local pairing with a gateway (Netcom, TCP 25050) --------------------------------------


class PairingError(ApiError):
    """Local pairing with a gateway failed (base class)."""


class PairingHostError(PairingError, ValueError):
    """The gateway address is not usable (empty, not an address or name, bad port)."""


class PairingTimeoutError(PairingError):
    """The gateway's pairing listener never opened (button not pressed in time)."""


class PairingConnectionError(PairingError):
    """The connection was refused, reset or went silent during the pairing."""


class PairingProtocolError(PairingError):
    """The gateway broke the protocol: unexpected frame, bad length, decryption failure."""


class PairingResultError(PairingError):
    """The gateway answered a key request or a challenge with a failure code.

    ``step`` is ``"key"`` (key request) or ``"challenge"``; ``code`` the result byte.
    Subclasses name the documented codes; other codes raise this class itself.
    """

    def __init__(self, step: str, code: int, message: str | None = None) -> None:
        """Keep the step and the gateway's result code."""
        super().__init__(message or f"The gateway refused the {step} request (code {code})")
        self.step = step
        self.code = code


class PairingRefusedError(PairingResultError):
    """Result code 1 ("NOK"): the gateway refused the request."""


class PairingBadKeyIdError(PairingResultError):
    """Result code 2: the gateway did not accept the key id."""


class PairingKeyTableFullError(PairingResultError):
    """Result code 3: the gateway's key table is full (remove a paired client first)."""
