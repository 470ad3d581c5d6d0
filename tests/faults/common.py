"""What every fault scenario checks once the fault is gone.

* every entity shows what the cloud holds (the simulator's truth), nothing stale;
* no traceback was logged for an expected failure (an error line without one is fine:
  Home Assistant logs "Error fetching ..." once and "... recovered" once);
* a reauthentication was asked for only when the credentials were refused.
"""

from __future__ import annotations

from collections.abc import Iterable
import logging

from homeassistant.core import HomeAssistant
import pytest

OURS = ("custom_components.velux_homely", "homeassistant")


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


def assert_equal(shown: dict[str, object], truth: dict[str, object]) -> None:
    """Compare what Home Assistant shows with the cloud's truth, naming every difference."""
    differences = {
        key: (shown.get(key), truth[key]) for key in truth if shown.get(key) != truth[key]
    }
    assert differences == {}, f"shown != truth: {differences}"


def lines(messages: Iterable[str]) -> str:
    """Join log messages for an assertion message."""
    return "\n".join(messages)
