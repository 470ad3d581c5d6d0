"""``docs/reliability.md`` (the README's reliability section) matches the scenario tables."""

from __future__ import annotations

from .reliability import DOC, render, sections


def test_every_scenario_says_what_the_user_sees() -> None:
    found = sections()
    assert sum(len(lines) for lines in found.values()) >= 30
    for provider, lines in found.items():
        names = [line.fault for line in lines]
        assert len(names) == len(set(names)), provider
        for line in lines:
            assert line.sees.strip(), line
            assert "\n" not in line.sees, line


def test_the_document_matches_the_scenario_tables() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/reliability.md is out of date: "
        "run .venv/ha-2026.2/bin/python -m tests.faults.reliability"
    )
