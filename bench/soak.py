"""A simulated day of both providers under random faults: nothing lost, budgets kept, no
secret in the log.

Runs Home Assistant's test harness in-process with one VELUX ACTIVE entry (two homes, the
home gateway's signing key stored) and one Homely entry (two locations) on the loopback
simulators, reached by host names through the test's name service (so that names can stop
resolving). The Homely cloud ends every live connection whose token expired, as the real
one does. The clock is frozen and moved a minute at a time (5 s at a time for two minutes
after a cover command, so that its confirmation polls run as they would); within a step it
stops at every timer that falls due, in order (a renewal due 5 s before its token expires
runs before the server's end of that connection, as in real time). The sockets are real;
their pings are hours apart. VELUX ACTIVE's realtime service runs for the first half of the
run and is switched off for the second half (polling only: the 62-per-home budget is about
that). Over the run:

* faults drawn from each provider's fault matrix (``tests/faults``), seeded (the same seed
  gives the same run), one at a time per provider: every class comes round once (in a
  shuffled order) before any comes again; each lasts 2-12 minutes, then lifts, with
  10-30 minutes between two (more after a fault whose recovery needs a topology read or a
  resync); token expiries, a clock jump and a state first seen in an event are events (they
  lift as they happen); a changed password is lifted by the user entering the new one in
  the reauthentication Home Assistant asked for; every third clock hour has no fault, so
  that the budgets of healthy hours get measured;
* random changes of the clouds' state (positions, rain, room climate, battery; alarm states,
  motion and door sensors, temperatures, the HAN meter) and random cover commands through
  Home Assistant's services (open, close, set position, stop); each lift also changes the
  truth, which the recovery must bring;
* every record of ``custom_components.velux_homely``, ``homeassistant``, ``aiohttp``,
  ``socketio`` and ``engineio`` at DEBUG (the Socket.IO / Engine.IO clients' own loggers
  too) is scanned for the passwords (the changed ones too), the client secret, the signing
  key and id and every access / refresh token the simulators issued; planted samples check
  the scanner first.

Every entity of both entries is compared with the simulator's truth (``tests/faults/truth``)
at every step. The time to recover runs from a fault's lift until every entity equals the
truth with the provider healthy again (last read successful, no rate-limit back-off, live
connections up), checked at every step. The last hour (40 % of a shorter run) has no new
fault, the last 10 minutes no change; then every entity is compared once more.

Budgets per clock hour of simulated time (hour 0 includes the set-up), as issue 8 states:

* VELUX ACTIVE, per home: its ``homestatus`` reads plus half of the account's ``homesdata``
  reads at most 62 (a poll a minute and the topology twice), plus ``CONFIRM_MAX_POLLS``
  confirmation reads for each command sent to the home;
* Homely, per account: ``/home`` and ``/locations`` reads at most 8 in the hours where the
  live connections stayed up and no Homely fault was injected; in the other hours the
  integration's read budget (2 per location in any 15 minutes: 8 per location-hour).

Token calls are counted apart (not in the budgets) and printed per hour.

Exits non-zero and lists it when something was lost: an entity that differs from the truth
at the end, a fault not recovered before the next one or the end, a provider differing from
the truth for over 10 minutes with no fault to blame, a budget exceeded, a secret in a log
record, a traceback naming the integration, a reauthentication asked for while the password
was right (or not asked for when it was wrong), a cover command that failed otherwise than
with a user error or never finished, a step that never settled, live connections not as
they should be at the end. ``--trace FROM-TO`` prints the integration's log records between
two simulated seconds. About 3 minutes for 24 simulated hours on two cores.

    .venv/ha-2026.2/bin/python bench/soak.py [--seed N] [--hours H] [--trace FROM-TO]
"""

# ruff: noqa: PLC0415  (project imports wait until pytest has set Home Assistant up)
from __future__ import annotations

import argparse
import asyncio
import base64
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
import copy
from dataclasses import dataclass, field
from datetime import timedelta
import logging
import os
from pathlib import Path
import random
import re
import statistics
import sys
import time
import traceback
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import preload, run

if __name__ != "__main__":
    preload()

REAL_TIME = time.time
REAL_MONOTONIC = time.monotonic
"""The real clocks, as the integration's clients bind them as defaults at import."""

SEED_ENV = "VELUX_HOMELY_SOAK_SEED"
HOURS_ENV = "VELUX_HOMELY_SOAK_HOURS"
TRACE_ENV = "VELUX_HOMELY_SOAK_TRACE"
DEFAULT_SEED = 20260302
DEFAULT_HOURS = 24.0

STEP = 60.0
"""Simulated seconds per step."""
FINE_STEP = 5.0
FINE_FOR = 120.0
"""After a cover command the clock moves ``FINE_STEP`` at a time for ``FINE_FOR`` seconds."""
QUIET_END = 600.0
"""Seconds at the end without state changes or commands."""
FAULT_FREE_END = 3600.0
"""Seconds at the end without a new fault (at most 40 % of the run)."""
FAULT_MINUTES = (2, 12)
GAP_MINUTES = (10, 30)
QUIET_EVERY = 3
"""Every third clock hour has no fault of either provider (the budgets of healthy hours)."""
STALE_LIMIT = 600.0
"""Longest a provider may differ from the truth with no fault active or recovering."""
SETTLE_LIMIT = 60.0
"""Real seconds a step may take to settle before it is reported (a hang, not a slow box)."""
IDLE_TURNS = 100
"""Loop turns without progress after which the work left waits for the clock."""
CALM_TURNS = 5
"""Loop turns with nothing under way and nothing to run that end a step."""
MAX_SUBSTEPS = 400
"""Most timer stops within one step (then the rest of the step is moved at once)."""
SLOW = 600.0
"""Seconds a slow cloud takes to answer: far longer than the clients' timeouts (20 s)."""
CLOCK_JUMP = 1800.0
"""Seconds the clock jumps at once (the host slept)."""
REAUTH_WAIT = 40 * 60.0
"""Longest a changed password may go unnoticed after its fault's time (then it is lost)."""

VELUX_HOME_BUDGET = 62
HOMELY_HEALTHY_BUDGET = 8
HOMELY_LOCATION_BUDGET = 8
"""/home per location and clock hour the integration's read budget allows (2 per 15 min)."""

WATCHED_LOGGERS = (
    "custom_components.velux_homely",
    "homeassistant",
    "aiohttp",
    "socketio",
    "engineio",
)
DEBUG_LOGGERS = (*WATCHED_LOGGERS, "socketio.client", "engineio.client", "bench.soak")
"""Loggers set to DEBUG for the run (the library clients' own loggers too, as a user
turning on debug logging for them would)."""
TRACED_LOGGERS = ("custom_components.velux_homely", "bench.soak")
"""Loggers whose records ``--trace`` prints."""
LONG_LIVED = ("realtime", "live connection")
BIG = 10**6
"""Count of a fault knob that lasts until the fault is lifted (``clear_faults``)."""

TOKEN = "/oauth2/token"  # noqa: S105 - a path
HOMESDATA = "/api/homesdata"
HOMESTATUS = "/api/homestatus"
SETSTATE = "/syncapi/v1/setstate"
HOME_PREFIX = "/homely/home/"
LOCATIONS = "/homely/locations"
OAUTH = "/homely/oauth/"

KEY_ID = bytes(range(16))
SIGN_KEY = bytes(range(100, 132))

ALARM_STATES = (
    "DISARMED",
    "ARMED_AWAY",
    "ARMED_NIGHT",
    "ARMED_STAY",
    "ARM_PENDING",
    "ALARM_PENDING",
    "BREACHED",
)
"""Homely alarm states the soak sets."""

_LOGGER = logging.getLogger("bench.soak")
_RUN = re.compile(r"[A-Za-z0-9_\-]{16,}")


def real_time() -> float:
    """Return the real monotonic clock (the frozen one moves only with the steps)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


# --------------------------------------------------------------------------- log watch


class LogWatch(logging.Handler):
    """Scans every record of the watched loggers for secrets; keeps warnings and tracebacks.

    Tokens are looked for among the runs of URL-safe characters of a record (message,
    arguments, exception and stack text); the few fixed secrets are searched as they are.
    """

    def __init__(
        self,
        fixed: dict[str, str],
        token_sources: dict[str, list[str]],
        clock: Callable[[], float],
        window: tuple[float, float] | None,
    ) -> None:
        """Watch for ``fixed`` secrets (label -> text) and the tokens the lists gain.

        The records of the integration and of the soak itself whose simulated second
        (``clock``) lies in ``window`` are kept for :attr:`trace`.
        """
        super().__init__(logging.DEBUG)
        self.clock = clock
        self.window = window
        self.trace: list[str] = []
        self.fixed = fixed
        self.sources = token_sources
        self._seen = dict.fromkeys(token_sources, 0)
        self._tokens: dict[int, dict[str, str]] = defaultdict(dict)
        self.records = 0
        self.redacted = 0
        """Records of the Socket.IO / Engine.IO loggers with a token redacted."""
        self.hits: list[tuple[str, str]] = []
        """Label of the secret and where it was found."""
        self.problems: list[logging.LogRecord] = []
        """Records at WARNING or above (any logger)."""
        self.traces: list[tuple[logging.LogRecord, str]] = []
        self.planted_found = 0
        """Planted samples the self-test found."""

    @property
    def token_count(self) -> int:
        """Return how many issued tokens are looked for."""
        return sum(len(tokens) for tokens in self._tokens.values())

    def _learn(self) -> None:
        for label, issued in self.sources.items():
            seen = self._seen[label]
            for token in issued[seen:]:
                # A VELUX token is "<user id>|<random>": the random part is the secret.
                secret = token.rsplit("|", 1)[-1]
                self._tokens[len(secret)][secret] = label
            self._seen[label] = len(issued)

    def emit(self, record: logging.LogRecord) -> None:
        """Scan one record."""
        if record.levelno >= logging.WARNING:
            self.problems.append(record)
        exc_text = ""
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = "".join(traceback.format_exception(*record.exc_info))
            if record.levelno >= logging.WARNING:
                self.traces.append((record, exc_text))
        if self.window is not None and record.name.startswith(TRACED_LOGGERS):
            moment = self.clock()
            if self.window[0] <= moment <= self.window[1]:
                self.trace.append(f"{moment:8.0f} {record.name}: {record.getMessage()[:300]}")
        if not record.name.startswith(WATCHED_LOGGERS):
            return
        self.records += 1
        try:
            message = record.getMessage()
        except Exception:  # a broken record still gets its parts scanned
            message = str(record.msg)
        parts = [message, exc_text, record.exc_text or "", record.stack_info or ""]
        if isinstance(record.args, tuple):
            parts.extend(str(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            parts.extend(str(arg) for arg in record.args.values())
        text = "\n".join(parts)
        if record.name.startswith(("socketio", "engineio")) and "***" in text:
            self.redacted += 1
        for label, secret in self.fixed.items():
            if secret in text:
                self._hit(record, label)
        self._learn()
        for match in _RUN.finditer(text):
            run_text = match.group()
            for length, tokens in self._tokens.items():
                for start in range(len(run_text) - length + 1):
                    found = tokens.get(run_text[start : start + length])
                    if found is not None:
                        self._hit(record, found)

    def _hit(self, record: logging.LogRecord, label: str) -> None:
        where = (
            f"a {record.levelname} record of {record.name} "
            f"({record.pathname.rsplit('/', 1)[-1]}:{record.lineno}: {str(record.msg)[:80]!r})"
        )
        self.hits.append((label, where))

    def self_test(self, samples: list[tuple[str, str]]) -> list[str]:
        """Log each (label, text) sample; return the labels not found (their hits go)."""
        logger = logging.getLogger("homeassistant.soak_canary")
        missing = []
        for label, text in samples:
            before = len(self.hits)
            logger.debug("canary %s", text)
            if label in {found for found, _ in self.hits[before:]}:
                self.planted_found += 1
            else:
                missing.append(label)
            del self.hits[before:]
        return missing


def integration_tracebacks(watch: LogWatch) -> list[str]:
    """Return the logged tracebacks that name the integration."""
    found = []
    for record, text in watch.traces:
        if record.name.startswith("custom_components.velux_homely") or "velux_homely" in text:
            last = text.strip().splitlines()[-1] if text.strip() else ""
            found.append(f"{record.levelname} {record.name}: {record.getMessage()[:120]} / {last}")
    return found


# --------------------------------------------------------------------------- faults


type Action = Callable[["Soak", "Fault"], Awaitable[None]]


async def _nothing(soak: Soak, fault: Fault) -> None:
    """Nothing to do."""


@dataclass(frozen=True)
class FaultClass:
    """One class of the fault matrix: how it starts, what it does meanwhile, how it lifts."""

    provider: str
    name: str
    inject: Action
    lift: Action = _nothing
    during: Action = _nothing
    """Run at every step while the fault lasts."""
    one_shot: bool = False
    """The fault is an event (tokens expire, the clock jumps): it lifts as it is injected."""
    reauth: bool = False
    """The password changed: a reauthentication must be asked for; the lift answers it."""
    gap_after: float = 0.0
    """Least simulated seconds before the next fault (a recovery that needs a slow read)."""

    @property
    def websocket(self) -> bool:
        """Return True for a fault of VELUX ACTIVE's realtime service."""
        return "websocket" in self.name


@dataclass
class Fault:
    """One drawn fault."""

    kind: FaultClass
    start: float
    end: float
    seed: int
    rng: random.Random = field(init=False)
    injected_at: float | None = None
    lifted_at: float | None = None
    recovered_after: float | None = None
    interrupted: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Give the fault its own random stream (its parameters, flapping)."""
        self.rng = random.Random(self.seed)


# VELUX ACTIVE


async def v_token_expired(soak: Soak, fault: Fault) -> None:
    soak.velux.expire_access_tokens()


async def v_refresh_refused(soak: Soak, fault: Fault) -> None:
    soak.velux.expire_access_tokens()
    soak.velux.refuse_refresh = True


async def v_refresh_accepted(soak: Soak, fault: Fault) -> None:
    soak.velux.refuse_refresh = False


async def v_password_changed(soak: Soak, fault: Fault) -> None:
    soak.velux.set_password(soak.new_password("VELUX"))
    soak.velux.revoke_tokens()


async def v_token_endpoint_down(soak: Soak, fault: Fault) -> None:
    soak.velux.expire_access_tokens()
    soak.velux.fail_next(BIG, status=fault.rng.choice((500, 502, 503)), path=TOKEN)


async def v_token_endpoint_slow(soak: Soak, fault: Fault) -> None:
    soak.velux.expire_access_tokens()
    soak.velux.delay_next(BIG, seconds=SLOW, path=TOKEN)


async def v_homestatus_down(soak: Soak, fault: Fault) -> None:
    soak.velux.fail_next(BIG, status=fault.rng.choice((500, 502, 503)), path=HOMESTATUS)


async def v_homestatus_slow(soak: Soak, fault: Fault) -> None:
    soak.velux.delay_next(BIG, seconds=SLOW, path=HOMESTATUS)


async def v_homestatus_garbage(soak: Soak, fault: Fault) -> None:
    soak.velux.malformed_next(BIG, path=HOMESTATUS)


async def v_homestatus_partial(soak: Soak, fault: Fault) -> None:
    from simulator.velux import HOME_ID

    payload = {"status": "ok", "body": {"home": {"id": HOME_ID}}}
    soak.velux.reply_next(BIG, payload=payload, path=HOMESTATUS)


async def v_homesdata_down(soak: Soak, fault: Fault) -> None:
    soak.velux.fail_next(BIG, status=fault.rng.choice((500, 502, 503)), path=HOMESDATA)


async def v_homesdata_slow(soak: Soak, fault: Fault) -> None:
    soak.velux.delay_next(BIG, seconds=SLOW, path=HOMESDATA)


async def v_error26_storm(soak: Soak, fault: Fault) -> None:
    soak.velux.rate_limit_next(BIG, kind="error26")


async def v_http429_hint(soak: Soak, fault: Fault) -> None:
    soak.velux.rate_limit_next(BIG, kind="http429", retry_after=fault.rng.choice((60, 1200)))


async def v_concurrency(soak: Soak, fault: Fault) -> None:
    soak.velux.rate_limit_next(2, kind="error11")


async def v_clear(soak: Soak, fault: Fault) -> None:
    soak.velux.clear_faults()


async def v_ws_server_drop(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_enabled = False
    await soak.velux.ws_disconnect()


async def v_ws_network_drop(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_enabled = False
    await soak.velux.ws_disconnect(abort=True)


async def v_ws_back(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_enabled = True


async def v_ws_refused(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_refuse_subscriptions = True
    await soak.velux.ws_disconnect()


async def v_ws_accepted(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_refuse_subscriptions = False


async def v_ws_stall(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_push_paused = True


async def v_ws_resume(soak: Soak, fault: Fault) -> None:
    soak.velux.ws_push_paused = False


async def v_names_fail(soak: Soak, fault: Fault) -> None:
    soak.dns.down.add("velux")


async def v_names_back(soak: Soak, fault: Fault) -> None:
    soak.dns.down.discard("velux")


NEW_BLIND = "5636133219200977"


async def v_module_added(soak: Soak, fault: Fault) -> None:
    from simulator.velux import BEDROOM_ID, GATEWAY_ID, HOME_ID

    soak.velux.add_module(
        HOME_ID,
        {
            "id": NEW_BLIND,
            "type": "NXO",
            "name": "New blind",
            "bridge": GATEWAY_ID,
            "room_id": BEDROOM_ID,
            "velux_type": "blind",
        },
        {"current_position": fault.rng.randint(0, 100)},
    )


async def v_module_gone(soak: Soak, fault: Fault) -> None:
    soak.velux.remove_module(NEW_BLIND)


async def v_module_removed(soak: Soak, fault: Fault) -> None:
    from simulator.velux import AWNING_ID

    fault.notes["position"] = soak.velux.position(AWNING_ID)
    soak.velux.remove_module(AWNING_ID)


async def v_module_back(soak: Soak, fault: Fault) -> None:
    from simulator.velux import AWNING_ID, GATEWAY_ID, HOME_ID, LIVING_ROOM_ID

    soak.velux.add_module(
        HOME_ID,
        {
            "id": AWNING_ID,
            "type": "NXO",
            "name": "Awning blind",
            "bridge": GATEWAY_ID,
            "room_id": LIVING_ROOM_ID,
            "velux_type": "awning_blind",
        },
        {"current_position": fault.notes["position"], "silent": True},
    )


async def v_home_revoked(soak: Soak, fault: Fault) -> None:
    from simulator.velux import SMALL_HOME_ID

    soak.velux.revoked_homes.add(SMALL_HOME_ID)


async def v_home_restored(soak: Soak, fault: Fault) -> None:
    soak.velux.revoked_homes.clear()


async def v_clock_jump(soak: Soak, fault: Fault) -> None:
    await soak.jump(CLOCK_JUMP)
    soak.postpone(CLOCK_JUMP)


async def answer_reauth(soak: Soak, fault: Fault) -> None:
    """The user enters the new password in the reauthentication Home Assistant asked for."""
    await soak.reauthenticate(fault.kind.provider)


TOPOLOGY = 35 * 60.0
"""A recovery that waits for the next topology read or resync (every 30 minutes)."""

VELUX_FAULTS = (
    FaultClass("VELUX", "access token expired (one-shot)", v_token_expired, one_shot=True),
    FaultClass("VELUX", "refresh token refused", v_refresh_refused, v_refresh_accepted),
    FaultClass(
        "VELUX", "password changed (reauth)", v_password_changed, answer_reauth, reauth=True
    ),
    FaultClass("VELUX", "token endpoint 5xx", v_token_endpoint_down, v_clear),
    FaultClass("VELUX", "token endpoint timeout", v_token_endpoint_slow, v_clear),
    FaultClass("VELUX", "homestatus 5xx", v_homestatus_down, v_clear),
    FaultClass("VELUX", "homestatus timeout", v_homestatus_slow, v_clear),
    FaultClass("VELUX", "malformed homestatus JSON", v_homestatus_garbage, v_clear),
    FaultClass("VELUX", "homestatus without modules", v_homestatus_partial, v_clear),
    FaultClass("VELUX", "homesdata 5xx", v_homesdata_down, v_clear),
    FaultClass("VELUX", "homesdata timeout", v_homesdata_slow, v_clear),
    FaultClass("VELUX", "403 error 26 storm", v_error26_storm, v_clear, gap_after=15 * 60),
    FaultClass("VELUX", "429 with Retry-After", v_http429_hint, v_clear, gap_after=20 * 60),
    FaultClass("VELUX", "429 error 11 (concurrency)", v_concurrency, v_clear),
    FaultClass("VELUX", "DNS failure", v_names_fail, v_names_back),
    FaultClass(
        "VELUX", "module added, removed at lift", v_module_added, v_module_gone, gap_after=TOPOLOGY
    ),
    FaultClass(
        "VELUX", "module removed, back at lift", v_module_removed, v_module_back, gap_after=TOPOLOGY
    ),
    FaultClass("VELUX", "one home revoked (error 21)", v_home_revoked, v_home_restored),
    FaultClass("VELUX", "clock jumps 30 minutes (one-shot)", v_clock_jump, one_shot=True),
    FaultClass("VELUX", "websocket dropped by server", v_ws_server_drop, v_ws_back),
    FaultClass("VELUX", "websocket network failure", v_ws_network_drop, v_ws_back),
    FaultClass("VELUX", "websocket subscription refused", v_ws_refused, v_ws_accepted),
    FaultClass("VELUX", "websocket stalls", v_ws_stall, v_ws_resume, gap_after=TOPOLOGY),
)

# Homely


async def h_tokens_expired(soak: Soak, fault: Fault) -> None:
    # The server ends the sockets whose token expired; the refresh token is gone too.
    soak.homely.expire_refresh_tokens()
    await soak.homely.expire_access_tokens()


async def h_access_expired(soak: Soak, fault: Fault) -> None:
    await soak.homely.expire_access_tokens()


async def h_password_changed(soak: Soak, fault: Fault) -> None:
    soak.homely.set_password(soak.new_password("Homely"))
    soak.homely.expire_refresh_tokens()
    await soak.homely.expire_access_tokens()


async def h_token_endpoint_down(soak: Soak, fault: Fault) -> None:
    soak.homely.fail_next(BIG, status=fault.rng.choice((500, 502, 503)), path=OAUTH)
    await soak.homely.expire_access_tokens()


async def h_token_endpoint_slow(soak: Soak, fault: Fault) -> None:
    soak.homely.delay_next(BIG, seconds=SLOW, path=OAUTH)
    await soak.homely.expire_access_tokens()


async def h_home_down(soak: Soak, fault: Fault) -> None:
    soak.homely.fail_next(BIG, status=fault.rng.choice((500, 502, 503)), path=HOME_PREFIX)


async def h_home_slow(soak: Soak, fault: Fault) -> None:
    soak.homely.delay_next(BIG, seconds=SLOW, path=HOME_PREFIX)


async def h_home_limited(soak: Soak, fault: Fault) -> None:
    soak.homely.rate_limit_next(BIG, retry_after=fault.rng.choice((4, 4, 10, 30)), path=HOME_PREFIX)


async def h_home_limited_no_hint(soak: Soak, fault: Fault) -> None:
    soak.homely.rate_limit_next(BIG, retry_after=None, path=HOME_PREFIX)


async def h_home_garbage(soak: Soak, fault: Fault) -> None:
    soak.homely.malformed_next(BIG, path=HOME_PREFIX)


async def h_home_partial(soak: Soak, fault: Fault) -> None:
    """``/home`` of the home answers devices without their fields (an id only, or no id)."""
    from simulator.homely import ENTRY_ID, LOCATION_ID, MOTION_ID

    home = soak.homely.locations[LOCATION_ID]
    body = home.home()
    devices: list[dict[str, Any]] = []
    for device in body["devices"]:
        if device["id"] == MOTION_ID:
            devices.append({"id": MOTION_ID})
        elif device["id"] == ENTRY_ID:
            devices.append({key: value for key, value in device.items() if key != "id"})
        else:
            devices.append(device)
    soak.homely.answer_next(
        {**body, "devices": devices}, count=BIG, path=f"{HOME_PREFIX}{LOCATION_ID}"
    )


async def h_clear(soak: Soak, fault: Fault) -> None:
    soak.homely.clear_faults()


async def h_server_drop(soak: Soak, fault: Fault) -> None:
    await soak.homely.disconnect()


async def h_server_flaps(soak: Soak, fault: Fault) -> None:
    if fault.rng.random() < 0.3:
        await soak.homely.disconnect()


async def h_network_drop(soak: Soak, fault: Fault) -> None:
    await soak.homely.drop_network()


async def h_network_flaps(soak: Soak, fault: Fault) -> None:
    if fault.rng.random() < 0.3:
        await soak.homely.drop_network()


async def h_refused(soak: Soak, fault: Fault) -> None:
    soak.homely.refuse_sockets = True
    await soak.homely.disconnect()


async def h_accepted(soak: Soak, fault: Fault) -> None:
    soak.homely.refuse_sockets = False


async def h_refused_and_limited(soak: Soak, fault: Fault) -> None:
    await h_refused(soak, fault)
    soak.homely.rate_limit_next(BIG, retry_after=4, path=HOME_PREFIX)


async def h_accepted_and_clear(soak: Soak, fault: Fault) -> None:
    soak.homely.refuse_sockets = False
    soak.homely.clear_faults()


async def h_names_fail(soak: Soak, fault: Fault) -> None:
    soak.dns.down.add("homely")
    await soak.homely.drop_network()


async def h_names_back(soak: Soak, fault: Fault) -> None:
    soak.dns.down.discard("homely")


async def h_device_added(soak: Soak, fault: Fault) -> None:
    from simulator.homely import LOCATION_ID

    fault.notes["device"] = soak.homely.add_device(
        LOCATION_ID, fault.rng.choice(("Flood Alarm", "Alarm Motion Sensor 2")), name="New"
    )


async def h_device_gone(soak: Soak, fault: Fault) -> None:
    soak.homely.remove_device(fault.notes["device"])


async def h_device_removed(soak: Soak, fault: Fault) -> None:
    from simulator.homely import FLOOD_ID

    fault.notes["device"] = copy.deepcopy(soak.homely.device(FLOOD_ID))
    soak.homely.remove_device(FLOOD_ID)


async def h_device_back(soak: Soak, fault: Fault) -> None:
    from simulator.homely import LOCATION_ID

    soak.homely.locations[LOCATION_ID].devices.append(fault.notes["device"])


async def h_new_state(soak: Soak, fault: Fault) -> None:
    """A state the device never reported arrives in a live event."""
    from simulator.homely import ENTRY2_ID

    value = fault.rng.random() < 0.5
    await soak.homely.change_device(ENTRY2_ID, "alarm", "fire", value, create=True)


HOMELY_FAULTS = (
    FaultClass(
        "Homely", "access + refresh tokens expired (one-shot)", h_tokens_expired, one_shot=True
    ),
    FaultClass("Homely", "access token expired (one-shot)", h_access_expired, one_shot=True),
    FaultClass(
        "Homely", "password changed (reauth)", h_password_changed, answer_reauth, reauth=True
    ),
    FaultClass("Homely", "token endpoints 5xx", h_token_endpoint_down, h_clear),
    FaultClass("Homely", "token endpoints timeout", h_token_endpoint_slow, h_clear),
    FaultClass("Homely", "/home 5xx", h_home_down, h_clear),
    FaultClass("Homely", "/home timeout", h_home_slow, h_clear),
    FaultClass("Homely", "/home 429 with retryAfter", h_home_limited, h_clear, gap_after=TOPOLOGY),
    FaultClass(
        "Homely",
        "/home 429 without retryAfter",
        h_home_limited_no_hint,
        h_clear,
        gap_after=TOPOLOGY,
    ),
    FaultClass("Homely", "malformed /home JSON", h_home_garbage, h_clear),
    FaultClass("Homely", "/home devices missing fields", h_home_partial, h_clear),
    FaultClass("Homely", "socket dropped by server (flaps)", h_server_drop, during=h_server_flaps),
    FaultClass("Homely", "socket network drop (flaps)", h_network_drop, during=h_network_flaps),
    FaultClass("Homely", "socket refused", h_refused, h_accepted),
    FaultClass(
        "Homely",
        "socket refused + /home 429",
        h_refused_and_limited,
        h_accepted_and_clear,
        gap_after=TOPOLOGY,
    ),
    FaultClass("Homely", "DNS failure", h_names_fail, h_names_back),
    FaultClass(
        "Homely", "device added, removed at lift", h_device_added, h_device_gone, gap_after=TOPOLOGY
    ),
    FaultClass(
        "Homely",
        "device removed, back at lift",
        h_device_removed,
        h_device_back,
        gap_after=TOPOLOGY,
    ),
    FaultClass("Homely", "state first seen in an event (one-shot)", h_new_state, one_shot=True),
)


def schedule(
    classes: tuple[FaultClass, ...], rng: random.Random, last_start: float, push_off_at: float
) -> list[Fault]:
    """Draw the faults of one provider: every class once in a shuffled round, then again.

    No fault overlaps a quiet hour; websocket faults come only while the realtime service
    runs (first in a round drawn while it runs).
    """
    faults: list[Fault] = []
    deck: list[FaultClass] = []
    moment = rng.uniform(*GAP_MINUTES) * 60 / 2
    while True:
        if not deck:
            deck = list(classes)
            rng.shuffle(deck)
            if moment < push_off_at:
                # the realtime service runs only for the first half: its faults first
                deck.sort(key=lambda kind: kind.websocket)
        kind = deck.pop()
        duration = 0.0 if kind.one_shot else rng.randint(*FAULT_MINUTES) * 60.0
        if kind.one_shot and kind.name.startswith("clock"):
            duration = CLOCK_JUMP
        hour = int(moment // 3600)
        if is_quiet(hour) or (moment + duration > (hour + 1) * 3600 and is_quiet(hour + 1)):
            moment = (hour + 2 if is_quiet(hour + 1) else hour + 1) * 3600.0
            moment += rng.uniform(0, 10) * 60
        if moment + duration > last_start:
            return faults
        if kind.websocket and moment + duration > push_off_at:
            continue
        faults.append(Fault(kind, moment, moment + duration, rng.randrange(2**32)))
        gap = max(rng.uniform(*GAP_MINUTES) * 60, kind.gap_after)
        moment += duration + gap


def is_quiet(hour: int) -> bool:
    """Return True for the clock hours without any fault (every third)."""
    return hour % QUIET_EVERY == QUIET_EVERY - 1


# --------------------------------------------------------------------------- the soak


@dataclass
class Hour:
    """What one clock hour saw."""

    velux_reads: Counter[str] = field(default_factory=Counter)
    """homestatus per home id."""
    velux_homesdata: int = 0
    velux_tokens: int = 0
    velux_commands: Counter[str] = field(default_factory=Counter)
    velux_total: int = 0
    velux_log: list[tuple[float, str, str | None]] = field(default_factory=list)
    """Simulated second, path and home of every call."""
    homely_home: Counter[str] = field(default_factory=Counter)
    homely_locations: int = 0
    homely_tokens: int = 0
    homely_total: int = 0
    velux_fault: bool = False
    homely_fault: bool = False
    push_down: bool = False
    push_up: bool = False
    homely_live_down: bool = False


class Soak:
    """Both entries, both clouds, the clock and everything noted on the way."""

    def __init__(  # noqa: PLR0917
        self,
        hass: Any,
        freezer: Any,
        velux: Any,
        homely: Any,
        dns: Any,
        seed: int,
        push_off_at: float,
    ) -> None:
        """Keep the actors (the entries come once set up)."""
        self.hass = hass
        self.push_off_at = push_off_at
        """Simulated second at which VELUX ACTIVE's realtime service is switched off."""
        self.freezer = freezer
        self.velux = velux
        self.homely = homely
        self.dns = dns
        self.rng = random.Random(seed * 7919 + 1)
        self.elapsed = 0.0
        self.steps = 0
        self.substeps = 0
        self.fine_steps = 0
        self.fine_until = -1.0
        self.velux_entry: Any = None
        self.homely_entry: Any = None
        self.watch: LogWatch | None = None
        self.hours: dict[int, Hour] = defaultdict(Hour)
        self._velux_seen = 0
        self._homely_seen = 0
        self.active: dict[str, Fault | None] = {"VELUX": None, "Homely": None}
        self.recovering: dict[str, Fault | None] = {"VELUX": None, "Homely": None}
        self.differs_since: dict[str, float | None] = {"VELUX": None, "Homely": None}
        self.stale: dict[str, float] = {"VELUX": 0.0, "Homely": 0.0}
        self.stale_what: dict[str, str] = {"VELUX": "", "Homely": ""}
        self.changes: Counter[str] = Counter()
        self.commands: list[tuple[asyncio.Task[Any], str, str, float]] = []
        self.command_results: Counter[str] = Counter()
        self.passwords: dict[str, str] = {}
        self.password_changes = 0
        self.reauths = 0
        self.problems: list[str] = []
        """What went wrong on the way (lost at the end)."""
        self.plan: dict[str, list[Fault]] = {}
        self.last_start = 0.0
        """No fault starts after this simulated second."""
        self.unsettled: list[str] = []

    # -- clock ---------------------------------------------------------------------

    @property
    def hour(self) -> Hour:
        """Return the current clock hour's record."""
        return self.hours[int(self.elapsed // 3600)]

    def next_timer(self) -> float | None:
        """Return the seconds until the next timer of the loop falls due (None: none)."""
        loop = self.hass.loop
        whens = [handle.when() for handle in loop._scheduled if not handle.cancelled()]
        return None if not whens else max(min(whens) - loop.time(), 0.0)

    async def tick(self, seconds: float) -> None:
        """Move every clock ``seconds`` on, stopping at each timer that falls due meanwhile.

        Timers run in the order of their time, as they would with a clock that flows
        (a renewal due 5 s before a token expires runs before the server's end of that
        connection at its expiry).
        """
        end = self.elapsed + seconds
        stops = 0
        while end - self.elapsed > 1e-6:
            left = end - self.elapsed
            due = self.next_timer()
            step = left
            if due is not None and stops < MAX_SUBSTEPS and due + 0.001 < left:
                step = max(due + 0.001, 0.001)
            await self._move(step, exact=step < left)
            stops += 1
        self.substeps += stops
        self.note_calls()

    def postpone(self, seconds: float) -> None:
        """Move the faults still to come ``seconds`` later (after a clock jump, which both
        providers live through: the gaps between faults stay as drawn)."""
        for provider, faults in self.plan.items():
            active = self.active[provider]
            if active is not None and not active.kind.one_shot:
                active.end += seconds
            kept = []
            for fault in faults:
                if fault.injected_at is None:
                    fault.start += seconds
                    fault.end += seconds
                    if fault.start > self.last_start:
                        continue
                kept.append(fault)
            faults[:] = kept

    async def jump(self, seconds: float) -> None:
        """Move the clock at once (the host slept): every timer overdue fires together."""
        await self._move(seconds, exact=False)
        self.note_calls()

    async def _move(self, seconds: float, *, exact: bool) -> None:
        from pytest_homeassistant_custom_component.common import (
            async_fire_time_changed,
            async_fire_time_changed_exact,
        )

        self.freezer.tick(timedelta(seconds=seconds))
        self.elapsed += seconds
        if exact:
            async_fire_time_changed_exact(self.hass)
        else:
            async_fire_time_changed(self.hass)
        await self.settle()

    def _busy(self) -> list[Any]:
        """Return what is under way and does not wait for the clock (as far as is known).

        A cover command waits for its confirmation or a slow cloud, on the clock: it is
        left out (it is harvested after the steps).
        """
        hass = self.hass
        busy: list[Any] = [
            task
            for task in (*hass._tasks, *hass._background_tasks)
            if not task.done()
            # an executor job is a plain future: waited for
            and not (
                isinstance(task, asyncio.Task)
                and (any(name in task.get_name() for name in LONG_LIVED) or _is_command(task))
            )
        ]
        if self.homely.in_flight > self.homely.delayed:
            busy.append("Homely request")
        entry = self.homely_entry
        if entry is not None and _loaded(entry):
            runtime = entry.runtime_data
            busy += [
                f"Homely read {c.location_id}" for c in runtime.coordinators.values() if c.reading
            ]
            busy += [
                f"Homely connect {location}"
                for location, live in runtime.live.connections.items()
                if live._connect_task is not None
            ]
        entry = self.velux_entry
        if entry is not None and _loaded(entry):
            realtime = entry.runtime_data.realtime
            running = any(
                not task.done() and "realtime" in task.get_name() for task in hass._background_tasks
            )
            if running and not (
                realtime.connected or realtime.next_delay is not None or realtime.stopping
            ):
                busy.append("VELUX realtime connecting")
        return busy

    async def settle(self) -> None:
        """Let what fell due run to its end.

        Work that does not move for ``IDLE_TURNS`` turns of the loop waits for the clock
        (a request the slow cloud holds, a timeout, a back-off): the next step moves it.
        (Home Assistant's ``async_block_till_done`` would wait for such work for ever on a
        frozen clock.) A step that keeps moving without ending for ``SETTLE_LIMIT`` real
        seconds is noted (a hang, reported as lost): a busy machine only makes it slower.
        """
        loop = self.hass.loop
        deadline = real_time() + SETTLE_LIMIT
        idle = calm = 0
        seen: tuple[Any, ...] = ()
        while True:
            await asyncio.sleep(0)
            busy = self._busy()
            if not busy:
                # nothing known under way and nothing ready to run, a few turns in a row
                # (a request just answered has its continuation still to run)
                calm = calm + 1 if not loop._ready else 0
                if calm >= CALM_TURNS:
                    break
                continue
            calm = 0
            now = (
                len(self.velux.requests),
                len(self.homely.requests),
                self.velux.delayed,
                self.homely.delayed,
                self.homely.in_flight,
                len(loop._ready),
                tuple(id(item) if isinstance(item, asyncio.Task) else item for item in busy),
            )
            idle = idle + 1 if now == seen and not loop._ready else 0
            seen = now
            if idle > IDLE_TURNS:
                break
            if real_time() > deadline:
                self.unsettled.append(f"s {self.elapsed:.0f}: {busy}")
                break
        for _ in range(20):  # socket messages on both live connections
            await asyncio.sleep(0)

    def note_calls(self) -> None:
        """Count the calls made since the last step in the current hour."""
        hour = self.hour
        for request in self.velux.requests[self._velux_seen :]:
            home_id = request.form.get("home_id")
            hour.velux_log.append((self.elapsed, request.path, home_id))
            hour.velux_total += 1
            if request.path == HOMESTATUS:
                hour.velux_reads[str(home_id)] += 1
            elif request.path == HOMESDATA:
                hour.velux_homesdata += 1
            elif request.path == TOKEN:
                hour.velux_tokens += 1
            elif request.path == SETSTATE:
                body: dict[str, Any] = request.json if isinstance(request.json, dict) else {}
                home = body.get("home")
                home_id = home.get("id") if isinstance(home, dict) else None
                hour.velux_commands[str(home_id)] += 1
        self._velux_seen = len(self.velux.requests)
        for request in self.homely.requests[self._homely_seen :]:
            hour.homely_total += 1
            if request.path.startswith(HOME_PREFIX):
                hour.homely_home[request.path.removeprefix(HOME_PREFIX)] += 1
            elif request.path == LOCATIONS:
                hour.homely_locations += 1
            elif request.path.startswith(OAUTH):
                hour.homely_tokens += 1
        self._homely_seen = len(self.homely.requests)

    # -- what is shown and what is true -----------------------------------------------

    def entity_id(self, platform: str, unique_id: str) -> str | None:
        """Return the entity id of one of our entities (None: not registered)."""
        from tests.helpers import find_entity_id

        return find_entity_id(self.hass, platform, unique_id)

    def differences(self, provider: str) -> dict[str, tuple[object, object]]:
        """Return every entity of the provider's entry that is not the cloud's truth."""
        from tests.faults.truth import homely_differences, velux_differences

        if provider == "VELUX":
            return velux_differences(self.hass, self.velux_entry, self.velux)
        return homely_differences(self.hass, self.homely_entry, self.homely)

    def compared(self, provider: str) -> int:
        """Return how many entities of the provider's entry have a state."""
        from tests.faults.truth import compared

        return compared(self.hass, self.velux_entry if provider == "VELUX" else self.homely_entry)

    def healthy(self, provider: str) -> bool:
        """Return True when the provider reads and listens normally again.

        VELUX ACTIVE: the last poll succeeded, no rate-limit back-off, the realtime push
        up while its service runs. Homely: every location read and live.
        """
        from tests.homely.conftest import all_live

        entry = self.velux_entry if provider == "VELUX" else self.homely_entry
        if not _loaded(entry):
            return False
        if provider == "VELUX":
            coordinator = entry.runtime_data.coordinator
            return bool(
                coordinator.last_update_success
                and not coordinator.backing_off
                and (coordinator.push_connected or not self.velux.ws_enabled)
            )
        coordinators = entry.runtime_data.coordinators.values()
        return all_live(entry) and all(c.last_update_success for c in coordinators)

    async def check(self) -> None:
        """Note recoveries, how long a provider differed with no fault to blame, and
        reauthentications asked for while the password was right."""
        for provider in ("VELUX", "Homely"):
            differs = self.differences(provider)
            pending = self.recovering[provider]
            if pending is not None and not differs and self.healthy(provider):
                assert pending.lifted_at is not None
                pending.recovered_after = self.elapsed - pending.lifted_at
                self.recovering[provider] = None
            blamed = self.active[provider] is not None or self.recovering[provider] is not None
            if not differs or blamed:
                self.differs_since[provider] = None
            else:
                since = self.differs_since[provider]
                if since is None:
                    self.differs_since[provider] = since = self.elapsed
                if self.elapsed - since > self.stale[provider]:
                    self.stale[provider] = self.elapsed - since
                    self.stale_what[provider] = f"{differs} at s {self.elapsed:.0f}"
            fault = self.active[provider]
            expected = fault is not None and fault.kind.reauth
            if self.reauth_flows(provider) and not expected:
                self.problems.append(
                    f"{provider}: a reauthentication was asked for at s {self.elapsed:.0f} "
                    "although the password was right"
                )
                await self.reauthenticate(provider)  # the user answers it all the same

    # -- passwords -------------------------------------------------------------------

    def new_password(self, provider: str) -> str:
        """Return a new password for the provider's account (watched for in the log)."""
        self.password_changes += 1
        password = f"{provider.lower()}-changed-{self.password_changes}-{self.rng.randrange(10**6)}"
        self.passwords[provider] = password
        if self.watch is not None:
            self.watch.fixed[f"{provider} changed password"] = password
        return password

    def reauth_flows(self, provider: str) -> list[dict[str, Any]]:
        """Return the reauthentication flows in progress for the provider's entry."""
        entry = self.velux_entry if provider == "VELUX" else self.homely_entry
        return [
            flow
            for flow in self.hass.config_entries.flow.async_progress()
            if flow["context"].get("source") == "reauth"
            and flow["context"].get("entry_id") == entry.entry_id
        ]

    def drop_flows(self, provider: str) -> None:
        """Abort the provider's reauthentication flows (the problem is already noted)."""
        for flow in self.reauth_flows(provider):
            self.hass.config_entries.flow.async_abort(flow["flow_id"])

    async def reauthenticate(self, provider: str) -> None:
        """Enter the new password in the reauthentication flow Home Assistant started."""
        from homeassistant.data_entry_flow import FlowResultType

        flows = self.reauth_flows(provider)
        if len(flows) != 1:
            self.problems.append(
                f"{provider}: {len(flows)} reauthentication flows for a changed password at "
                f"s {self.elapsed:.0f} (one expected)"
            )
            self.drop_flows(provider)
            return
        result = await self.hass.config_entries.flow.async_configure(
            flows[0]["flow_id"], {"password": self.passwords[provider]}
        )
        if result.get("type") is not FlowResultType.ABORT or result.get("reason") != (
            "reauth_successful"
        ):
            self.problems.append(f"{provider}: the reauthentication ended with {result}")
        self.reauths += 1
        await self.settle()

    # -- faults --------------------------------------------------------------------

    async def faults_due(self, plan: dict[str, list[Fault]]) -> None:
        """Lift the faults whose time is over, inject those whose time has come."""
        for provider, faults in plan.items():
            fault = self.active[provider]
            if fault is not None and self.elapsed >= fault.end - 1e-6:
                if (
                    fault.kind.reauth
                    and not self.reauth_flows(provider)
                    and self.elapsed - fault.end < REAUTH_WAIT
                ):
                    # The changed password shows at the next call to the cloud (a poll can
                    # be 30 minutes away while the push runs): the user answers once asked.
                    continue
                await self.lift(provider, fault)
            for fault in faults:
                if fault.injected_at is None and self.elapsed >= fault.start - 1e-6:
                    if (pending := self.recovering[provider]) is not None:
                        pending.interrupted = True
                        left = self.differences(provider)
                        pending.notes["left"] = (
                            f"{len(left)} entities differ, e.g. {dict(list(left.items())[:3])}; "
                            f"healthy: {self.healthy(provider)}"
                        )
                        self.recovering[provider] = None
                    fault.injected_at = self.elapsed
                    if provider == "VELUX":
                        self.hour.velux_fault = True
                    else:
                        self.hour.homely_fault = True
                    _LOGGER.debug("%s fault injected: %s", provider, fault.kind.name)
                    self.active[provider] = fault
                    await fault.kind.inject(self, fault)
                    if fault.kind.one_shot:
                        await self.settle()
                        await self.lift(provider, fault)
                    break
            fault = self.active[provider]
            if fault is not None and fault.injected_at != self.elapsed:
                await fault.kind.during(self, fault)

    async def lift(self, provider: str, fault: Fault) -> None:
        """Lift a fault and change the truth: from now on its recovery is timed."""
        await fault.kind.lift(self, fault)
        await self.nudge(provider)
        fault.lifted_at = self.elapsed
        _LOGGER.debug("%s lifted: %s", provider, fault.kind.name)
        self.active[provider] = None
        self.recovering[provider] = fault
        await self.settle()
        if not self.differences(provider) and self.healthy(provider):
            fault.recovered_after = 0.0
            self.recovering[provider] = None

    async def nudge(self, provider: str) -> None:
        """Change the provider's truth as a fault lifts: its recovery must pick it up."""
        from simulator.homely import CABIN_ENTRY_ID, MOTION_ID
        from simulator.velux import BEDROOM_ID

        rng = self.rng
        if provider == "VELUX":
            climate = self.velux._room(BEDROOM_ID).climate
            self.velux.set_room_climate(BEDROOM_ID, temperature=climate["temperature"] % 90 + 171)
            self.velux.set_position(rng.choice(self.openers()), rng.randint(0, 100))
        else:
            for device_id in (MOTION_ID, CABIN_ENTRY_ID):
                value = self.homely.state(device_id, "temperature", "temperature")
                await self.homely.change_device(
                    device_id, "temperature", "temperature", round(value % 10 + 15.3, 1)
                )
        self.changes[f"{provider} nudge at a lift"] += 1

    # -- the world moves -------------------------------------------------------------

    def openers(self) -> list[str]:
        """Return the openers the VELUX cloud has now (one may be removed by a fault)."""
        return [module_id for module_id in OPENERS if module_id in self.velux._modules]

    def chance(self, per_minute: float, seconds: float) -> bool:
        """Return True with probability ``per_minute`` scaled to a step of ``seconds``."""
        return self.rng.random() < per_minute * seconds / 60

    async def change_world(self, seconds: float) -> None:
        """Random changes in both clouds (each state changes at most once per step)."""
        from simulator.homely import HAN_ID, THERMOSTAT_ID
        from simulator.velux import BEDROOM_ID, HOME_ID, SENSOR_ID, SMALL_HOME_ID

        rng, velux, homely = self.rng, self.velux, self.homely
        if self.chance(0.03, seconds):
            velux.set_position(rng.choice(self.openers()), rng.randint(0, 100))
            self.changes["VELUX position"] += 1
        if self.chance(0.01, seconds):
            home_id = rng.choice((HOME_ID, SMALL_HOME_ID))
            raining = any(
                m.status.get("is_raining") for m in velux._home_modules(home_id) if m.type == "NXG"
            )
            velux.set_raining(home_id, not raining)
            self.changes["VELUX rain"] += 1
        climate: dict[str, int] = {}
        if self.chance(0.1, seconds):
            climate["temperature"] = rng.randint(170, 260)
        if self.chance(0.05, seconds):
            climate["humidity"] = rng.randint(30, 75)
        if self.chance(0.05, seconds):
            climate["co2"] = rng.randint(400, 1600)
        if self.chance(0.02, seconds):
            climate["lux"] = rng.randint(0, 2000)
        if climate:
            velux.set_room_climate(BEDROOM_ID, **climate)
            self.changes["VELUX climate"] += 1
        if self.chance(0.01, seconds):
            velux.set_battery(SENSOR_ID, rng.randint(5, 100))
            self.changes["VELUX battery"] += 1

        if self.chance(0.04, seconds):
            location_id = rng.choice(list(homely.locations))
            await homely.set_alarm_state(location_id, rng.choice(ALARM_STATES))
            self.changes["Homely alarm"] += 1
        for device_id, _key in HOMELY_BINARY:
            if self.chance(0.05, seconds):
                value = homely.state(device_id, "alarm", "alarm")
                await homely.change_device(device_id, "alarm", "alarm", not value)
                self.changes["Homely motion/door"] += 1
        for device_id, key, feature, name, _scale in HOMELY_NUMBERS:
            if key == "temperature" and self.chance(0.05, seconds):
                value = round(rng.uniform(12, 26), 1)
                await homely.change_device(device_id, feature, name, value)
                self.changes["Homely temperature"] += 1
        if self.chance(0.03, seconds):
            value = rng.randint(1800, 2500)
            await homely.change_device(THERMOSTAT_ID, "thermostat", "LocalTemperature", value)
            self.changes["Homely temperature"] += 1
        if self.chance(0.5, seconds):
            await homely.tick_meter(HAN_ID, wh=rng.randint(1, 60), demand=rng.randint(100, 6000))
            self.changes["Homely meter"] += 1

    def command(self, seconds: float) -> bool:
        """Maybe send a random cover command (it runs on; return True when one went)."""
        if not self.chance(0.04, seconds):
            return False
        rng = self.rng
        module_id = rng.choice(self.openers())
        entity_id = self.entity_id("cover", f"{module_id}_cover")
        if entity_id is None or not _loaded(self.velux_entry):
            return False
        service, data = rng.choice(
            (
                ("open_cover", {}),
                ("close_cover", {}),
                ("set_cover_position", {"position": rng.randint(0, 100)}),
                ("stop_cover", {}),
            )
        )
        call = self.hass.services.async_call(
            "cover", service, {"entity_id": entity_id, **data}, blocking=True
        )
        task = asyncio.ensure_future(call)
        self.commands.append((task, module_id, service, self.elapsed))
        return True

    async def harvest_commands(self, *, final: bool = False) -> list[str]:
        """Note how the finished commands ended; return those that never finished."""
        from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

        for _ in range(20):
            await asyncio.sleep(0)
        hung: list[str] = []
        running = []
        for task, module_id, service, sent in self.commands:
            if not task.done():
                if final:
                    task.cancel()
                    hung.append(f"{service} {module_id} sent at s {sent:.0f}")
                else:
                    running.append((task, module_id, service, sent))
                continue
            err = task.exception()
            if err is None:
                self.command_results["done"] += 1
            elif isinstance(err, HomeAssistantError):
                kind = "refused" if isinstance(err, ServiceValidationError) else "failed"
                key = err.translation_key or type(err).__name__
                self.command_results[f"{kind}: {key}"] += 1
            else:
                self.command_results[f"error: {type(err).__name__}: {err}"] += 1
        self.commands = running
        return hung

    # -- one step ------------------------------------------------------------------

    async def step(self, plan: dict[str, list[Fault]], total: float) -> None:
        """One step: faults, changes, a command maybe, the clock, the checks."""
        from tests.homely.conftest import all_live

        seconds = FINE_STEP if self.elapsed < self.fine_until else STEP
        seconds = min(seconds, total - self.elapsed)
        if self.velux.ws_enabled and self.elapsed >= self.push_off_at:
            _LOGGER.debug("VELUX ACTIVE realtime service switched off for the rest of the run")
            self.velux.ws_enabled = False
            await self.velux.ws_disconnect()
        await self.faults_due(plan)
        seconds = min(seconds, max(total - self.elapsed, 0.0))
        quiet = self.elapsed >= total - QUIET_END
        if not quiet:
            await self.change_world(seconds)
            if self.command(seconds):
                self.fine_until = self.elapsed + FINE_FOR
        hour = self.hour
        hour.velux_fault |= self.active["VELUX"] is not None
        hour.homely_fault |= self.active["Homely"] is not None
        if seconds > 0:
            await self.tick(seconds)
        self.steps += 1
        self.fine_steps += seconds == FINE_STEP
        await self.harvest_commands()
        hour = self.hour
        if _loaded(self.velux_entry):
            push = self.velux_entry.runtime_data.coordinator.push_connected
            hour.push_down |= not push
            hour.push_up |= push
        hour.homely_live_down |= not (_loaded(self.homely_entry) and all_live(self.homely_entry))
        hour.velux_fault |= self.active["VELUX"] is not None
        hour.homely_fault |= self.active["Homely"] is not None
        await self.check()


_COMMANDS = (
    "async_open_cover",
    "async_close_cover",
    "async_set_cover_position",
    "async_stop_cover",
)


def _is_command(task: asyncio.Task[Any]) -> bool:
    """Return True for the task of a cover command (it may wait for the clock)."""
    return getattr(task.get_coro(), "__qualname__", "").endswith(_COMMANDS)


def _loaded(entry: Any) -> bool:
    from homeassistant.config_entries import ConfigEntryState

    return entry is not None and entry.state is ConfigEntryState.LOADED


OPENERS: tuple[str, ...] = ()
HOMELY_BINARY: tuple[tuple[str, str], ...] = ()
HOMELY_NUMBERS: tuple[tuple[str, str, str, str, float], ...] = ()


def _bind_ids() -> None:
    """Fill the id tables (the simulators are imported once pytest has set up)."""
    global OPENERS, HOMELY_BINARY, HOMELY_NUMBERS  # noqa: PLW0603
    from simulator import homely as h, velux as v

    OPENERS = (v.SHUTTER_ID, v.BLIND_ID, v.AWNING_ID, v.WINDOW_ID, v.SMALL_SHUTTER_ID)
    HOMELY_BINARY = (
        (h.MOTION_ID, "motion"),
        (h.MOTION2_ID, "motion"),
        (h.ENTRY_ID, "opening"),
        (h.ENTRY2_ID, "opening"),
        (h.CABIN_ENTRY_ID, "opening"),
    )
    HOMELY_NUMBERS = (
        (h.MOTION_ID, "temperature", "temperature", "temperature", 1),
        (h.ENTRY_ID, "temperature", "temperature", "temperature", 1),
        (h.SMOKE_ID, "temperature", "temperature", "temperature", 1),
        (h.CABIN_ENTRY_ID, "temperature", "temperature", "temperature", 1),
        (h.THERMOSTAT_ID, "local_temperature", "thermostat", "LocalTemperature", 100),
        (h.HAN_ID, "power", "metering", "demand", 1),
        (h.HAN_ID, "energy_imported", "metering", "summationdelivered", 1000),
    )


def _frozen_clock_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the integration's clients default to the frozen clocks.

    They bind ``time.time`` / ``time.monotonic`` as default arguments at import, which
    happened before the clock was frozen: without this their tokens never age here and
    a websocket that lived for hours looks a second old.
    """
    from custom_components.velux_homely.api.netatmo import NetatmoClient
    from custom_components.velux_homely.api.netatmo_realtime import NetatmoRealtimeClient
    from custom_components.velux_homely.api.netatmo_signing import NonceSequencer

    def frozen_time() -> float:
        return time.time()

    def frozen_monotonic() -> float:
        return time.monotonic()

    swap = {REAL_TIME: frozen_time, REAL_MONOTONIC: frozen_monotonic}
    for init in (NetatmoClient.__init__, NetatmoRealtimeClient.__init__, NonceSequencer.__init__):
        if init.__defaults__:
            defaults = tuple(swap.get(value, value) for value in init.__defaults__)
            monkeypatch.setattr(init, "__defaults__", defaults)
        if init.__kwdefaults__:
            kwdefaults = {key: swap.get(value, value) for key, value in init.__kwdefaults__.items()}
            monkeypatch.setattr(init, "__kwdefaults__", kwdefaults)


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{max(values):g} / {statistics.median(values):g}"


def _seconds(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{max(values):.0f} / {statistics.median(values):.0f}"


def report(soak: Soak, plan: dict[str, list[Fault]], watch: LogWatch, took: float) -> list[str]:
    """Print the table; return what was lost or exceeded."""
    from custom_components.velux_homely.netatmo.const import CONFIRM_MAX_POLLS
    from simulator.homely import CABIN_LOCATION_ID, LOCATION_ID
    from simulator.velux import HOME_ID, SMALL_HOME_ID

    lost: list[str] = []
    print(
        f"\nSoak: {soak.elapsed / 3600:g} simulated hours, {soak.steps} steps "
        f"({soak.fine_steps} of {FINE_STEP:g} s, {soak.substeps} timer stops), run time "
        f"{took:.0f} s; {soak.password_changes} password changes answered by "
        f"{soak.reauths} reauthentications"
    )
    print(
        f"\n{'provider':8} {'fault class':44} {'injected':>8} {'recovered':>9} "
        f"{'interrupted':>11}   time to recover, s (max / median)"
    )
    for provider, classes in (("VELUX", VELUX_FAULTS), ("Homely", HOMELY_FAULTS)):
        for kind in classes:
            faults = [f for f in plan[provider] if f.kind is kind and f.lifted_at is not None]
            recovered = [f.recovered_after for f in faults if f.recovered_after is not None]
            interrupted = sum(f.interrupted for f in faults)
            print(
                f"{provider:8} {kind.name:44} {len(faults):8} {len(recovered):9} "
                f"{interrupted:11}   {_seconds(recovered)}"
            )
            for fault in faults:
                if fault.recovered_after is None:
                    what = "interrupted by the next fault" if fault.interrupted else "never"
                    left = fault.notes.get("left", "")
                    lost.append(
                        f"{provider} {kind.name} lifted at s {fault.lifted_at:.0f}: "
                        f"recovered {what}" + (f" ({left})" if left else "")
                    )
    for provider in ("VELUX", "Homely"):
        if soak.active[provider] is not None:
            lost.append(f"{provider}: a fault was still active at the end")

    hours = sorted(soak.hours)
    print(
        f"\nCalls per clock hour. VELUX per home: homestatus + half of the account's "
        f"homesdata, budget {VELUX_HOME_BUDGET} + {CONFIRM_MAX_POLLS} per command to the "
        f"home; token calls apart. Homely per account: /home + /locations, budget "
        f"{HOMELY_HEALTHY_BUDGET} in the hours with the live connections up and no Homely "
        f"fault, else {HOMELY_LOCATION_BUDGET} /home per location; token calls apart."
    )
    print(
        f"{'hour':>4} {'VELUX home':>10} {'cabin':>6} {'hdata':>5} {'token':>5} {'cmds':>4} "
        f"{'all':>4} {'push':>5} {'fault':>5}  {'Homely reads':>12} {'token':>5} {'all':>4} "
        f"{'live':>5} {'fault':>5}"
    )
    per_home: dict[str, list[float]] = defaultdict(list)
    velux_totals: list[float] = []
    homely_totals: list[float] = []
    velux_tokens: list[float] = []
    homely_tokens: list[float] = []
    healthy_reads: list[float] = []
    other_reads: list[float] = []
    for index in hours:
        hour = soak.hours[index]
        if index * 3600 >= soak.elapsed:
            continue  # the instant the run ends (its calls go unlisted)
        share = hour.velux_homesdata / 2
        rows = []
        for home_id in (HOME_ID, SMALL_HOME_ID):
            reads = hour.velux_reads[home_id] + share
            commands = hour.velux_commands[home_id]
            rows.append(reads)
            budget = VELUX_HOME_BUDGET + CONFIRM_MAX_POLLS * commands
            per_home["fault" if hour.velux_fault else "no fault"].append(reads)
            if not commands and not hour.velux_fault:
                per_home["idle"].append(reads)
            if not hour.push_up:
                per_home["push down"].append(reads)
            if not hour.push_down:
                per_home["push up"].append(reads)
            if reads > budget:
                times = [
                    f"{moment % 3600:.0f}{'' if path == HOMESTATUS else ' ' + path}"
                    for moment, path, home in hour.velux_log
                    if home in (home_id, None) and path in (HOMESTATUS, HOMESDATA)
                ]
                lost.append(
                    f"VELUX hour {index}: {reads:g} reads for home {home_id} "
                    f"(budget {budget} with {commands} commands); reads at s {times}"
                )
        velux_totals.append(hour.velux_total)
        homely_totals.append(hour.homely_total)
        velux_tokens.append(hour.velux_tokens)
        homely_tokens.append(hour.homely_tokens)
        reads = sum(hour.homely_home.values()) + hour.homely_locations
        healthy = not hour.homely_fault and not hour.homely_live_down
        (healthy_reads if healthy else other_reads).append(reads)
        if healthy and reads > HOMELY_HEALTHY_BUDGET:
            lost.append(
                f"Homely hour {index}: {reads} /home + /locations with the live connections "
                f"up (budget {HOMELY_HEALTHY_BUDGET}): {dict(hour.homely_home)}, "
                f"{hour.homely_locations} /locations"
            )
        for location_id in (LOCATION_ID, CABIN_LOCATION_ID):
            if hour.homely_home[location_id] > HOMELY_LOCATION_BUDGET:
                lost.append(
                    f"Homely hour {index}: {hour.homely_home[location_id]} /home of "
                    f"{location_id} (budget {HOMELY_LOCATION_BUDGET} per location)"
                )
        print(
            f"{index:4} {rows[0]:10g} {rows[1]:6g} {hour.velux_homesdata:5} "
            f"{hour.velux_tokens:5} {sum(hour.velux_commands.values()):4} "
            f"{hour.velux_total:4} {'down' if hour.push_down else 'up':>5} "
            f"{'yes' if hour.velux_fault else '':>5}  {reads:12} {hour.homely_tokens:5} "
            f"{hour.homely_total:4} {'down' if hour.homely_live_down else 'up':>5} "
            f"{'yes' if hour.homely_fault else '':>5}"
        )
    print(
        f"VELUX reads per home-hour, max / median: {len(per_home['no fault'])} home-hours "
        f"without a VELUX fault {_spread(per_home['no fault'])}, "
        f"{len(per_home['fault'])} with one {_spread(per_home['fault'])}; push down "
        f"throughout {_spread(per_home['push down'])}, push up throughout "
        f"{_spread(per_home['push up'])}; without a command or fault "
        f"{_spread(per_home['idle'])}. Token calls per hour {_spread(velux_tokens)}; all "
        f"VELUX calls per hour {_spread(velux_totals)}"
    )
    print(
        f"Homely reads per account-hour, max / median: {len(healthy_reads)} hours live up "
        f"without fault {_spread(healthy_reads)} (budget {HOMELY_HEALTHY_BUDGET}), "
        f"{len(other_reads)} other hours {_spread(other_reads)} (budget "
        f"{2 * HOMELY_LOCATION_BUDGET}). Token calls per hour {_spread(homely_tokens)}; all "
        f"Homely calls per hour {_spread(homely_totals)}; server ends at token expiry "
        f"{soak.homely.expiry_drops}"
    )

    print(f"\nState changes: {dict(soak.changes)}\nCover commands: {dict(soak.command_results)}")
    for provider in ("VELUX", "Homely"):
        stale = soak.stale[provider]
        print(
            f"{provider}: longest difference from the truth with no fault active or "
            f"recovering: {stale:.0f} s {soak.stale_what[provider]}"
        )
        if stale > STALE_LIMIT:
            lost.append(f"{provider} differed from the truth for {stale:.0f} s without a fault")
    for outcome in soak.command_results:
        if outcome.startswith("error"):
            lost.append(f"a cover command failed unexpectedly: {outcome}")
    lost += soak.problems
    lost += [f"a step did not settle within {SETTLE_LIMIT:g} s: {what}" for what in soak.unsettled]

    traces = integration_tracebacks(watch)
    print(
        f"Log: {watch.records} records scanned at DEBUG, {watch.token_count} issued tokens "
        f"and {len(watch.fixed)} fixed secrets looked for: {len(watch.hits)} found (the "
        f"scanner found {watch.planted_found} planted samples first); "
        f"{len(traces)} tracebacks naming the integration; {watch.redacted} records of the "
        f"Socket.IO / Engine.IO clients had a token redacted by the integration's filter; "
        f"warnings and errors:"
    )
    grouped = Counter(
        f"{record.levelname} {record.name}: {record.msg}"[:150] for record in watch.problems
    )
    for line, count in sorted(grouped.items()):
        print(f"  {count:5} x {line}")
    lost.extend(f"secret logged: {label} in {where}" for label, where in dict.fromkeys(watch.hits))
    lost.extend(f"traceback: {trace}" for trace in traces)
    if watch.window is not None:
        print(f"\nTrace of simulated seconds {watch.window[0]:g}-{watch.window[1]:g}:")
        for line in watch.trace:
            print(f"  {line}")
    return lost


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_soak(  # noqa: PLR0917
    hass: Any,
    enable_custom_integrations: Any,
    socket_enabled: Any,
    freezer: Any,
    monkeypatch: pytest.MonkeyPatch,
    expected_lingering_timers: bool,
) -> None:
    from homeassistant.config_entries import ConfigEntryState
    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_fire_time_changed,
    )

    from custom_components.velux_homely.netatmo import const as netatmo_const
    from simulator.homely import DEMO_PASSWORD as HOMELY_PASSWORD, HomelySimulator
    from simulator.velux import (
        DEFAULT_CLIENT_SECRET,
        DEMO_PASSWORD as VELUX_PASSWORD,
        GATEWAY_ID,
        VeluxSimulator,
    )
    from tests.conftest import VELUX_EPOCH
    from tests.faults.common import Dns, name_service
    from tests.homely.conftest import PING_SECONDS, all_live, make_entry as homely_entry
    from tests.netatmo.conftest import make_entry as velux_entry

    _bind_ids()
    seed = int(os.environ.get(SEED_ENV, DEFAULT_SEED))
    total = float(os.environ.get(HOURS_ENV, DEFAULT_HOURS)) * 3600
    started = real_time()

    # The clock moves by minutes: pings hours apart keep the sockets up meanwhile.
    monkeypatch.setattr(netatmo_const, "REALTIME_HEARTBEAT", 100_000.0)
    _frozen_clock_defaults(monkeypatch)
    # Debug mode times callbacks on the frozen clock (every step looks slow) and slows all.
    loop = asyncio.get_running_loop()
    debug, slow = loop.get_debug(), loop.slow_callback_duration
    loop.set_debug(False)
    loop.slow_callback_duration = 10 * total
    # Clock hours: start on the hour.
    now = dt_util.utcnow()
    freezer.tick(timedelta(seconds=3600 - (now.timestamp() % 3600)))
    async_fire_time_changed(hass)

    velux = VeluxSimulator(epoch=VELUX_EPOCH, realtime_arrivals=True)
    # The Homely cloud ends every live connection whose token expired (the real one does).
    homely = HomelySimulator(
        ping_interval=PING_SECONDS, ping_timeout=PING_SECONDS, drop_at_token_expiry=True
    )
    sign_key_id = velux.add_signing_key(GATEWAY_ID, KEY_ID, SIGN_KEY)
    hash_sign_key = base64.b64encode(SIGN_KEY).decode()
    rng = random.Random(seed)
    last_start = total - min(FAULT_FREE_END, 0.4 * total)
    push_off_at = (total // 7200) * 3600 if total >= 4 * 3600 else total / 2
    plan = {
        provider: schedule(classes, random.Random(rng.randrange(2**32)), last_start, push_off_at)
        for provider, classes in (("VELUX", VELUX_FAULTS), ("Homely", HOMELY_FAULTS))
    }
    dns_context = name_service(monkeypatch)
    dns = dns_context.__enter__()
    soak = Soak(hass, freezer, velux, homely, dns, seed, push_off_at)
    soak.plan, soak.last_start = plan, last_start
    soak.passwords = {"VELUX": VELUX_PASSWORD, "Homely": HOMELY_PASSWORD}
    window = None
    if trace := os.environ.get(TRACE_ENV):
        low, _, high = trace.partition("-")
        window = (float(low), float(high or low))
    watch = LogWatch(
        {
            "VELUX password": VELUX_PASSWORD,
            "Homely password": HOMELY_PASSWORD,
            "VELUX client secret": DEFAULT_CLIENT_SECRET,
            "hash_sign_key": hash_sign_key,
            "hash_sign_key (url-safe)": base64.urlsafe_b64encode(SIGN_KEY).decode(),
            "signing key (hex)": SIGN_KEY.hex(),
            "sign_key_id": sign_key_id,
        },
        {"VELUX token": velux.issued_tokens, "Homely token": homely.issued_tokens},
        lambda: soak.elapsed,
        window,
    )
    soak.watch = watch
    levels = {name: logging.getLogger(name).level for name in DEBUG_LOGGERS}
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root = logging.getLogger()
    # The harness prints (and pytest keeps) every record: the summary lists them instead.
    others = {handler: handler.level for handler in root.handlers}
    for handler in others:
        handler.setLevel(logging.CRITICAL + 1)
    root.addHandler(watch)

    await velux.start()
    await homely.start()
    entry_v = velux_entry(velux)
    entry_v = MockConfigEntry(
        domain=entry_v.domain,
        title=entry_v.title,
        unique_id=entry_v.unique_id,
        data={
            **entry_v.data,
            "base_url": Dns.url(velux.base_url, "velux"),
            "signing_keys": {
                GATEWAY_ID: {"sign_key_id": sign_key_id, "hash_sign_key": hash_sign_key}
            },
        },
        options=entry_v.options,
    )
    entry_h = homely_entry(homely)
    entry_h = MockConfigEntry(
        domain=entry_h.domain,
        title=entry_h.title,
        unique_id=entry_h.unique_id,
        data={**entry_h.data, "base_url": Dns.url(homely.base_url, "homely")},
        options=entry_h.options,
    )
    lost: list[str] = []
    try:
        for entry in (entry_v, entry_h):
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        soak.velux_entry, soak.homely_entry = entry_v, entry_h
        deadline = real_time() + 20
        while not (all_live(entry_h) and entry_v.runtime_data.coordinator.push_connected):
            assert real_time() < deadline, "the live connections did not come up"
            await asyncio.sleep(0)
        await soak.settle()
        soak.note_calls()
        await soak.check()
        missing = watch.self_test(
            [
                ("Homely token", f"/socket.io/?token=Bearer%20{homely.issued_tokens[-2]}&EIO=4"),
                ("Homely token", f"{{'refresh_token': '{homely.issued_tokens[-1]}'}}"),
                ("VELUX token", f"access_token={velux.issued_tokens[-2].replace('|', '%7C')}"),
                ("VELUX password", f"password={VELUX_PASSWORD}&user_prefix=velux"),
                ("hash_sign_key", f"{{'hash_sign_key': '{hash_sign_key}'}}"),
            ]
        )
        lost += [f"the log scanner missed a planted {label}" for label in missing]
        while soak.elapsed < total - 1e-6:
            await soak.step(plan, total)
        hung = await soak.harvest_commands(final=True)
        lost += [f"a cover command never finished: {what}" for what in hung]
        took = real_time() - started
        lost += report(soak, plan, watch, took)
        for provider in ("VELUX", "Homely"):
            differences = soak.differences(provider)
            print(
                f"End: {provider} {soak.compared(provider) - len(differences)} of "
                f"{soak.compared(provider)} entities equal the truth"
            )
            lost += [
                f"{provider} at the end: {key} shows {shown!r}, the cloud holds {truth!r}"
                for key, (shown, truth) in differences.items()
            ]
        for entry in (entry_v, entry_h):
            if entry.state is not ConfigEntryState.LOADED:
                lost.append(f"{entry.title} is {entry.state} at the end")
        flows = [f["context"]["source"] for f in hass.config_entries.flow.async_progress()]
        if flows:
            lost.append(f"config flows started: {flows}")
        sockets = {loc: homely.connections(loc) for loc in homely.locations}
        if any(count != 1 for count in sockets.values()):
            lost.append(f"Homely live connections per location at the end: {sockets}")
        subscribers = 1 if velux.ws_enabled else 0
        if velux.ws_subscribers != subscribers:
            lost.append(
                f"VELUX realtime subscribers at the end: {velux.ws_subscribers} "
                f"(expected {subscribers})"
            )
    finally:
        velux.clear_faults()
        homely.clear_faults()
        dns.down.clear()
        for entry in (entry_v, entry_h):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        # Answers a slow cloud still holds go out before the clouds stop.
        freezer.tick(timedelta(seconds=SLOW))
        async_fire_time_changed(hass)
        deadline = real_time() + 20
        while (velux.delayed or homely.in_flight) and real_time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0)
        await velux.stop()
        await homely.stop()
        dns_context.__exit__(None, None, None)
        root.removeHandler(watch)
        for handler, level in others.items():
            handler.setLevel(level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        loop.set_debug(debug)
        loop.slow_callback_duration = slow
    if lost:
        print(f"\nLOST ({len(lost)}):")
        for line in lost:
            print(f"  - {line}")
        pytest.fail(f"{len(lost)} things lost or exceeded (listed above)", pytrace=False)
    print("\nNothing lost: every entity equals the truth, every budget kept, no secret logged.")


def main() -> int:
    """Run the soak inside Home Assistant's test harness."""
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS, help="simulated hours")
    parser.add_argument(
        "--trace",
        metavar="FROM-TO",
        help="print the log records of the integration between these simulated seconds",
    )
    args = parser.parse_args()
    os.environ[SEED_ENV] = str(args.seed)
    os.environ[HOURS_ENV] = str(args.hours)
    if args.trace:
        os.environ[TRACE_ENV] = args.trace
    started = real_time()
    code = int(run(__file__))
    print(f"Wall time {real_time() - started:.0f} s (seed {args.seed}, {args.hours:g} hours)")
    return code


if __name__ == "__main__":
    sys.exit(main())
