"""Shared fixtures. Tests build tiny data inline; the real Portland crop lives in data/."""

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "data"


@pytest.fixture
def runner():
    """A click runner for the ``gridplan`` command line (stderr kept apart from stdout)."""
    return CliRunner()


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The bundled demo station: data/boundaries/grid.geojson, data/incidents/, station.toml."""
    return DEMO
