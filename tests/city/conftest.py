"""Fixtures of the city tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _city import small_city


@pytest.fixture(scope="session")
def city(tmp_path_factory) -> Path:
    """Four small stations (C01..C04) 1.5 km apart, each with its roster, incident export and
    streets; the city's incidents: theirs and 200 beyond them (GeoParquet)."""
    return small_city(tmp_path_factory.mktemp("city"), 4)
