"""Shared fixtures. Tests build tiny data inline; the real Portland crop lives in data/.

Tiny street networks are drawn as offsets in metres and built with ``_networks.street_network``.
"""

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


@pytest.fixture(scope="module")
def net():
    """The 3 x 3 lattice street network of ``test_routing_problem`` (200 m blocks, EPSG:26910)."""
    from test_routing_problem import lattice_network

    return lattice_network()


@pytest.fixture(scope="module")
def grid():
    """The 1+3+9 lattice station grid of ``test_routing_problem`` (modules may override it)."""
    from test_routing_problem import make_grid

    return make_grid()
