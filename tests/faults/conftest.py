"""Fixtures of the fault matrix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .common import Dns, name_service


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dns]:
    """The name service of the simulators' host names (tests break it)."""
    with name_service(monkeypatch) as service:
        yield service
