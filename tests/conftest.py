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


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "both_stores: run the test on an SQLite and a PostgreSQL store (web_app, client)",
    )


def pytest_generate_tests(metafunc):
    """Tests marked ``both_stores`` run once per back-end of the store."""
    if "store_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_stores"
    ):
        metafunc.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL + PostGIS cluster for the run (``tests/_pg.py``)."""
    from _pg import Cluster
    from _pg import bindir

    if bindir() is None:
        pytest.skip(
            "PostgreSQL with PostGIS is not installed (apt-get install postgresql "
            "postgresql-15-postgis-3): the PostgreSQL cases of the store did not run"
        )
    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def store_backend(request) -> str:
    """The store's back-end: ``sqlite`` unless the test is marked ``both_stores``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """An empty store at the newest schema revision on each back-end (a path or a URL)."""
    if request.param == "sqlite":
        from gridplan.web.db import init_store

        path = tmp_path / "gridplan.sqlite"
        init_store(path)
        return str(path)
    return request.getfixturevalue("pg_cluster").new_store()


@pytest.fixture(scope="session")
def web_store_pg(web_store, pg_cluster) -> str:
    """``web_store`` copied into a PostgreSQL template database; return its name."""
    from _pg import OWNER

    from gridplan.web import schema_tool
    from gridplan.web.dialect import dispose_engines

    name = pg_cluster.new_database()
    owner = pg_cluster.url(name, OWNER)
    schema_tool.upgrade(owner)
    schema_tool.copy_store(web_store["database"], owner)
    schema_tool.grant(owner, "gridplan_app")
    dispose_engines()  # a template has no open connections
    return name


def _store_copy(request, backend: str, store_info, template_fixture: str, tmp_path) -> str:
    """A private copy of a test store on the test's back-end: a file, or a PostgreSQL URL."""
    import shutil

    if backend == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        template = request.getfixturevalue(template_fixture)
        return cluster.url(cluster.new_database(template=template))
    database = tmp_path / "gridplan.sqlite"
    shutil.copyfile(store_info["database"], database)
    return str(database)


def _dispose(database: str) -> None:
    """Close the pooled connections of a test's PostgreSQL store (the cluster has few)."""
    from gridplan.web.dialect import dispose_engine

    dispose_engine(database)


@pytest.fixture
def web_app(request, store_backend, web_store, tmp_path):
    """A Flask app on a private copy of ``web_store`` (jobs run inline, 1 s per slice).

    On SQLite, or on PostgreSQL too for tests marked ``both_stores``.
    """
    from gridplan.web import create_app

    database = _store_copy(request, store_backend, web_store, "web_store_pg", tmp_path)
    if store_backend == "postgresql":
        request.addfinalizer(lambda: _dispose(database))
    return create_app(
        {
            "TESTING": True,
            "DATABASE": database,
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


@pytest.fixture(scope="session")
def patrol_store_pg(patrol_store, pg_cluster) -> str:
    """``patrol_store`` copied into a PostgreSQL template database; return its name."""
    from _pg import OWNER

    from gridplan.web import schema_tool
    from gridplan.web.dialect import dispose_engines

    name = pg_cluster.new_database()
    owner = pg_cluster.url(name, OWNER)
    schema_tool.upgrade(owner)
    schema_tool.copy_store(patrol_store["database"], owner)
    schema_tool.grant(owner, "gridplan_app")
    dispose_engines()
    return name


@pytest.fixture
def patrol_app(request, store_backend, patrol_store, tmp_path):
    """A Flask app on a private copy of ``patrol_store`` (jobs inline).

    On SQLite, or on PostgreSQL too for tests marked ``both_stores``.
    """
    import shutil

    from gridplan.web import create_app

    database = _store_copy(request, store_backend, patrol_store, "patrol_store_pg", tmp_path)
    if store_backend == "postgresql":
        request.addfinalizer(lambda: _dispose(database))
    shutil.copytree(patrol_store["instance"] / "networks", tmp_path / "networks")
    return create_app(
        {"TESTING": True, "DATABASE": database, "SECRET_KEY": "test", "JOBS_INLINE": True},
        instance_path=str(tmp_path),
    )
