"""Errors raised by the cloud clients.

The hierarchy is shared by every provider so that the integration can map
failures to Home Assistant concepts in one place:

* :class:`AuthenticationError` -> reauthentication
* :class:`RateLimitedError` -> keep data, back off (``retry_after`` seconds)
* :class:`CommunicationError` -> temporary failure (timeouts, 5xx, bad JSON)
* :class:`ApiResponseError` -> the service answered with an error code
* :class:`CommandError` -> a command was accepted but failed for some modules
"""

from __future__ import annotations

from dataclasses import dataclass


class ApiError(Exception):
    """Base class of every error raised by the clients."""


class AuthenticationError(ApiError):
    """Credentials or tokens were refused and cannot be renewed."""


class CommunicationError(ApiError):
    """The service could not be reached or answered garbage (timeouts, 5xx)."""


class InvalidResponseError(CommunicationError):
    """The service answered with a body that is not the JSON we expect."""


class RateLimitedError(ApiError):
    """The service asks us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep the server's retry hint (seconds) when it gave one."""
        super().__init__(message)
        self.retry_after = retry_after


class ApiResponseError(ApiError):
    """The service answered with an error code we do not handle specially."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        """Keep the service's error code and the HTTP status."""
        super().__init__(message)
        self.code = code
        self.status = status


class ForbiddenError(ApiResponseError):
    """The account has no access to the requested resource (HTTP 403)."""


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
        return any(failure.code == 9 for failure in self.failures)
