"""The README's reliability section, generated from the scenario tables of the fault matrix.

``docs/reliability.md`` is this module's :func:`render`; ``test_reliability_doc.py`` fails
when the two disagree. After changing a scenario, write the file again::

    .venv/ha-2026.2/bin/python -m tests.faults.reliability
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"

INTRO = """\
## Reliability

Every line below is an automated test (`tests/faults/`): it injects one fault into the
project's cloud simulators, changes the cloud's state meanwhile, lets Home Assistant run on a
frozen clock and checks what you would see. Afterwards every entity of the account equals
what the cloud holds, nothing logged a traceback, the log's error lines carry the translated
message quoted here (none when you see nothing), and a reauthentication is asked for only
when the cloud refused the password. `bench/soak.py` runs both clouds for a simulated day
with faults drawn from these tables and checks the same, plus the request budgets (VELUX
ACTIVE at most 62 reads per home and hour without push, Homely at most 8 `/home` reads per
account and hour while the live connection is up).
"""


@dataclass(frozen=True)
class Line:
    """One scenario of the documentation."""

    fault: str
    sees: str


def _lines(module: object, stop: str) -> list[Line]:
    lines = [
        Line(scenario.name, scenario.sees)
        for table in ("SCENARIOS", "SETUP_SCENARIOS")
        for scenario in getattr(module, table)
    ]
    lines.append(Line("Home Assistant stops during a reconnection", stop))
    return lines


def sections() -> dict[str, list[Line]]:
    """Return the documented scenarios by provider."""
    from . import test_homely, test_velux  # heavy: only when rendering

    return {
        "VELUX ACTIVE": _lines(test_velux, test_velux.HA_STOP_SEES),
        "Homely": _lines(test_homely, test_homely.HA_STOP_SEES),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """Return the reliability section (Markdown)."""
    parts = [INTRO]
    for provider, lines in sections().items():
        parts.append(f"\n### {provider} ({len(lines)} scenarios)\n\n")
        parts.append("| Fault | What you see |\n|---|---|\n")
        parts.extend(f"| {_cell(line.fault)} | {_cell(line.sees)} |\n" for line in lines)
    return "".join(parts)


def main() -> None:
    """Write ``docs/reliability.md``."""
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
