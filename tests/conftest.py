"""Shared fixtures. Tests build tiny data inline; the real Portland crop lives in data/.

``tests/`` mirrors ``gridplan/`` (``tests/geo/test_grid.py`` tests ``gridplan/geo/grid.py``).
What several test modules share is a helper module here, importable from every folder because
pytest puts this folder on ``sys.path``: ``_lattice`` (the 3 x 3 lattice station),
``_networks`` (street networks drawn in metres: ``street_network``), ``_plans``, ``_vrp``,
``_web``, ``_browser``, ``_maps``, ``_grids``, ``_ogr``, ``_qgis``. No test module imports
another (``test_architecture.py`` checks). The folders have no ``__init__.py``, so each test
file's name is unique across ``tests/``.
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
    """The 3 x 3 lattice street network of ``_lattice`` (200 m blocks, EPSG:26910)."""
    from _lattice import lattice_network

    return lattice_network()


@pytest.fixture(scope="module")
def grid():
    """The 1+3+9 lattice station grid of ``_lattice`` (modules may override it)."""
    from _lattice import make_grid

    return make_grid()


@pytest.fixture(scope="session")
def web_store(tmp_path_factory):
    """The web UI's test store (``tests/_web.py``): demo station S01 and lattice station S02,
    one plan each and one user per role in both. Built once (about a minute); tests that
    write get a copy through ``web_app``."""
    from _web import build_store

    instance = tmp_path_factory.mktemp("web-instance")
    info = build_store(instance)
    return {**info, "instance": instance}


@pytest.fixture
def web_app(web_store, tmp_path):
    """A Flask app on a private copy of ``web_store`` (jobs run inline, 1 s per slice)."""
    import shutil

    from gridplan.web import create_app

    database = tmp_path / "gridplan.sqlite"
    shutil.copyfile(web_store["database"], database)
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(database),
            "SECRET_KEY": "test",
            "JOBS_INLINE": True,
            "PLAN_TIME_LIMIT_S": 1.0,
            "PLAN_WORKERS": 1,
        },
        instance_path=str(tmp_path),
    )


@pytest.fixture
def client(web_app):
    """A test client of ``web_app`` (not logged in)."""
    return web_app.test_client()


@pytest.fixture(scope="session")
def patrol_store(tmp_path_factory):
    """The patrol phone page's test store (``tests/_patrol.py``): lattice stations S02 and
    S03 with a morning plan for today each, patrollers of V09 and A09, a lead, an officer.
    Built once (a few seconds); tests that write get a copy through ``patrol_app``."""
    from _patrol import build_patrol_store

    instance = tmp_path_factory.mktemp("patrol-instance")
    return {**build_patrol_store(instance), "instance": instance}


@pytest.fixture
def patrol_app(patrol_store, tmp_path):
    """A Flask app on a private copy of ``patrol_store`` (jobs inline)."""
    import shutil

    from gridplan.web import create_app

    database = tmp_path / "gridplan.sqlite"
    shutil.copyfile(patrol_store["database"], database)
    shutil.copytree(patrol_store["instance"] / "networks", tmp_path / "networks")
    return create_app(
        {"TESTING": True, "DATABASE": str(database), "SECRET_KEY": "test", "JOBS_INLINE": True},
        instance_path=str(tmp_path),
    )
