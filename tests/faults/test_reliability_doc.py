"""The README's reliability section matches the scenario tables."""

from __future__ import annotations

# Imported while the tests are collected, as every test module imports the integration
# (the harness puts its own ``custom_components`` first once a test runs).
from . import test_homely, test_velux  # noqa: F401
from .reliability import render, section_in_readme, sections


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
    assert section_in_readme() == render(), (
        "the README's reliability section is out of date: "
        "run .venv/ha-2026.2/bin/python -m tests.faults.reliability"
    )
