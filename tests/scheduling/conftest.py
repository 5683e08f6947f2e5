"""Fixtures for the scheduling tests. Helpers live in uniquely named modules
(tests/scheduling/radicale_support.py, booking_support.py): import those, never conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scheduling.radicale_support import RadicaleServer, running_radicale


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[RadicaleServer]:
    """A real Radicale CalDAV server without authentication (any user name works and owns
    /<user>/), storage in tmp_path; stopped after the test."""
    with running_radicale(tmp_path / "radicale") as server:
        yield server


@pytest.fixture
def radicale_url(radicale: RadicaleServer) -> str:
    """The root URL of the `radicale` fixture's server, e.g. http://127.0.0.1:40123/."""
    return radicale.url
