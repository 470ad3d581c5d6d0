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

from collections.abc import Awaitable, Callable, Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
import itertools
import json
import logging
from pathlib import Path
import re
import socket
import time
from typing import Any, Protocol

import aiohttp
from aiohttp.abc import ResolveResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest

from custom_components.velux_homely.const import DOMAIN
from tests.helpers import Ent

OURS = ("custom_components.velux_homely", "homeassistant")
NEW_PASSWORD = "a-new-password"
"""The password a scenario changes the account's to."""
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


# -- scenarios ---------------------------------------------------------------------


class FaultContext(Protocol):
    """What a scenario of either provider acts on (each test module has its own)."""

    hass: HomeAssistant
    caplog: pytest.LogCaptureFixture
    dns: Dns
    notes: dict[str, Any]


async def nothing(ctx: object) -> None:
    """No step."""


async def no_minute(ctx: object, minute: int) -> None:
    """No step."""


@dataclass(frozen=True)
class FaultScenario[C]:
    """One fault: how to inject it, lift it, and what the user sees meanwhile."""

    name: str
    sees: str
    """What the user sees (one line of the README)."""
    inject: Callable[[C], Awaitable[None]]
    heal: Callable[[C], Awaitable[None]] = nothing
    during: float = 180.0
    """Seconds the fault lasts."""
    after: float = 20 * 60.0
    """Seconds Home Assistant runs after the fault is lifted."""
    unavailable_during: bool | None = False
    """True: the entities are unavailable meanwhile; False: they keep a value."""
    reauth: bool = False
    message: str | None = None
    """Translation key of the error line the user reads in the log (None: no error line)."""
    each_minute: Callable[[C, int], Awaitable[None]] = no_minute
    """Runs after every simulated minute of the fault."""
    check: Callable[[C], Awaitable[None]] = nothing
    """Further checks once the scenario ran."""


@dataclass
class Seen:
    """Whether the entities were seen unavailable, and available, while the fault lasted."""

    unavailable: bool = False
    available: bool = False

    def note(self, unavailable: bool) -> None:
        """Note what a minute of the fault showed."""
        if unavailable:
            self.unavailable = True
        else:
            self.available = True


async def assert_user_saw[C: FaultContext](
    ctx: C,
    scenario: FaultScenario[C],
    seen: Seen,
    loaded_again: Callable[[], Awaitable[None]],
) -> None:
    """Check the log, the reauthentication (entering the new password when one is asked
    for) and the availability the scenario promises, then its own checks."""
    assert tracebacks(ctx.caplog) == [], lines(tracebacks(ctx.caplog))
    assert_message(ctx.caplog, scenario.message)
    if scenario.reauth:
        assert reauth_flows(ctx.hass) == ["reauth"]
        await scenario.check(ctx)
        await reauthenticate(ctx.hass, NEW_PASSWORD)
        await loaded_again()
    else:
        assert reauth_flows(ctx.hass) == []
        await scenario.check(ctx)
    if scenario.unavailable_during is True:
        assert seen.unavailable
    elif scenario.unavailable_during is False:
        assert not seen.unavailable
        assert seen.available


@dataclass(frozen=True)
class SetupFaultScenario[S]:
    """A fault met while the entry is set up (Home Assistant starts, or a reload)."""

    name: str
    sees: str
    """What the user sees (one line of the README)."""
    inject: Callable[[S, Dns], None]
    message: str | None = None
    """Translation key of the reason the integration page shows (None: it loads)."""
    reauth: bool = False
    during: float = 5 * 60.0
    """Seconds the fault lasts after the first set-up attempt."""
    reason: str = ""
    """Text the reason on the integration page contains besides the message."""


def limited_until_shown(hass: HomeAssistant, sensor: Ent) -> bool:
    """Return True when the account's "Rate limited until" ``sensor`` shows a time to come."""
    state = sensor.current(hass)
    moment = dt_util.parse_datetime(state.state) if state is not None else None
    return isinstance(moment, datetime) and moment > dt_util.utcnow()


async def dns_back(ctx: FaultContext) -> None:
    """Names resolve again (how many look-ups failed is noted)."""
    ctx.notes["dns failures"] = ctx.dns.failures
    ctx.dns.broken = False


def assert_dns_failed(ctx: FaultContext, error: str) -> None:
    """Look-ups failed more than once, and an error line names ``error``."""
    assert ctx.notes["dns failures"] >= 2
    assert any(error in line for line in error_lines(ctx.caplog))
