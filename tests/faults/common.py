"""What every fault scenario checks, and the tools the scenarios of both providers share.

Once the fault is gone:

* every entity of the entry shows what the cloud holds (the simulator's truth, see
  :mod:`.truth`), nothing stale, no entity of a removed device left;
* no traceback was logged for an expected failure (an error line without one is fine:
  Home Assistant logs "Error fetching ..." once and "... recovered" once), and the error
  lines the user reads carry the scenario's translated message (none when the user is
  meant to see nothing);
* a reauthentication was asked for only when the credentials were refused, and once the
  user entered the new password the entry shows the cloud's truth again;
* the repair issues are the ones the scenario calls for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
import itertools
import json
import logging
from pathlib import Path
import re
import socket
import time
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.velux_homely.const import DOMAIN

OURS = ("custom_components.velux_homely", "homeassistant")
STRINGS = Path(__file__).resolve().parents[2] / "custom_components/velux_homely/strings.json"


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the log lines with a traceback that name this integration."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info is not None
        and record.levelno >= logging.WARNING
        and (
            record.name.startswith(OURS[0])
            or "velux_homely" in record.getMessage()
            or "velux_homely" in str(record.exc_info[1])
        )
    ]


def reauth_flows(hass: HomeAssistant) -> list[str]:
    """Return the sources of the config flows in progress (``reauth`` when one was asked)."""
    return [flow["context"]["source"] for flow in hass.config_entries.flow.async_progress()]


async def reauthenticate(hass: HomeAssistant, password: str) -> None:
    """Enter ``password`` in the reauthentication flow, as the user would."""
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == "reauth"
    ]
    assert len(flows) == 1, flows
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"password": password}
    )
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "reauth_successful"


def assert_equal(shown: dict[str, object], truth: dict[str, object]) -> None:
    """Compare what Home Assistant shows with the cloud's truth, naming every difference."""
    differences = {
        key: (shown.get(key), truth[key]) for key in truth if shown.get(key) != truth[key]
    }
    assert differences == {}, f"shown != truth: {differences}"


def lines(messages: Sequence[str]) -> str:
    """Join log messages for an assertion message."""
    return "\n".join(messages)


# -- what the user reads -------------------------------------------------------------


def translation(key: str) -> str:
    """Return the English text of one of the integration's exception messages."""
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    return str(strings["exceptions"][key]["message"])


def translated(key: str) -> re.Pattern[str]:
    """Return a pattern matching the English message ``key`` with any placeholder values.

    (Home Assistant drops the final full stop of a message it logs.)
    """
    parts = re.split(r"\{[a-z_]+\}", translation(key).removesuffix("."))
    return re.compile(".*".join(re.escape(part) for part in parts), re.DOTALL)


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the error lines of the integration (what the user reads in the log)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.name.startswith(OURS[0])
    ]


def assert_message(caplog: pytest.LogCaptureFixture, key: str | None) -> None:
    """The user read the translated message ``key`` in the log (None: no error line).

    Every error line of the integration carries that message: nothing untranslated.
    """
    found = error_lines(caplog)
    if key is None:
        assert found == [], lines(found)
        return
    pattern = translated(key)
    assert found, f"no error line; expected {translation(key)!r}"
    assert all(pattern.search(line) for line in found), lines(found)


def repair_issues(hass: HomeAssistant) -> set[str]:
    """Return the ids of the integration's repair issues."""
    registry = ir.async_get(hass)
    return {issue_id for domain, issue_id in registry.issues if domain == DOMAIN}


def shown_reason(entry: ConfigEntry[Any]) -> str:
    """Return the reason the integration page shows for an entry that is not loaded."""
    return str(entry.reason or "")


# -- the clock of the cloud's requests -------------------------------------------------


class Stamped[T](list[T]):
    """A simulator's request list that notes the (frozen) clock of every request."""

    def __init__(self, items: Sequence[T], clock: Callable[[], float]) -> None:
        """Start from the requests received so far (their time unknown: ``-inf``)."""
        super().__init__(items)
        self.times: list[float] = [float("-inf")] * len(items)
        self._clock = clock

    def append(self, item: T) -> None:
        """Note the request and when it came."""
        self.times.append(self._clock())
        super().append(item)


def _frozen_monotonic() -> float:
    """Return ``time.monotonic()``, looked up at each call (the test's frozen clock)."""
    return time.monotonic()


def stamp_requests(sim: Any) -> Stamped[Any]:
    """Make the simulator note when each request arrives; return its request list."""
    stamped: Stamped[Any] = Stamped(sim.requests, _frozen_monotonic)
    sim.requests = stamped
    return stamped


def calls_between(
    requests: Stamped[Any], match: Callable[[Any], bool], start: float, end: float
) -> list[float]:
    """Return the clock of the requests ``match`` accepts that came in ``[start, end)``."""
    return [
        moment
        for request, moment in zip(requests, requests.times, strict=True)
        if start <= moment < end and match(request)
    ]


def assert_backoff(
    times: Sequence[float], waits: Callable[[int], float], *, tolerance: float = 1.5
) -> None:
    """Every request of a storm came no sooner than the back-off allows.

    ``times`` are the requests the cloud answered with a rate limit, in order;
    ``waits(k)`` is the shortest wait after ``k`` limited answers in a row (k >= 1). A
    wait that does not grow (a fixed retry hint, a retry at the poll interval) fails:
    the bound doubles. Home Assistant's timers may fire up to a second early.
    """
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    short = [
        (k, round(gap, 1), waits(k))
        for k, gap in enumerate(gaps, start=1)
        if gap < waits(k) - tolerance
    ]
    assert short == [], f"requests sooner than the back-off (k, gap, wait): {short}; gaps {gaps}"


# -- the name service --------------------------------------------------------------------


SIM_DOMAIN = ".sim.test"
"""Host names under this domain resolve to the loopback simulators (while names resolve)."""


@dataclass
class Dns:
    """The name service of the test: resolves ``*.sim.test`` to 127.0.0.1 until broken."""

    broken: bool = False
    """No name resolves."""
    down: set[str] = field(default_factory=set)
    """Names (``velux``, ``homely``) that do not resolve."""
    failures: int = 0
    """Look-ups that failed while broken."""

    def resolves(self, host: str) -> bool:
        """Return True when ``host`` (``<name>.sim.test``) resolves now."""
        return not self.broken and host.split(".", 1)[0] not in self.down

    @staticmethod
    def url(base_url: str, name: str) -> str:
        """Return ``base_url`` (``http://127.0.0.1:port``) with the host name ``name``."""
        return base_url.replace("127.0.0.1", f"{name}{SIM_DOMAIN}")


@contextlib.contextmanager
def name_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dns]:
    """Resolve the simulators' host names in every aiohttp connector (REST and sockets)."""
    dns = Dns()
    original = aiohttp.TCPConnector._resolve_host

    async def resolve(
        connector: aiohttp.TCPConnector, host: str, port: int, traces: Any = None
    ) -> list[ResolveResult]:
        if not host.endswith(SIM_DOMAIN):
            return await original(connector, host, port, traces=traces)
        if not dns.resolves(host):
            dns.failures += 1
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    with monkeypatch.context() as patched:
        patched.setattr(aiohttp.TCPConnector, "_resolve_host", resolve)
        yield dns
