"""The web store on both back-ends: SQLite (a station) and PostgreSQL + PostGIS (a bureau).

``store_url`` gives each test an empty store at the newest schema revision on each back-end;
the PostgreSQL cases use the run's throwaway cluster (``tests/_pg.py``) and connect as a role
that owns nothing, as a deployment does, so row-level security applies.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from importlib import resources

import pandas as pd
import pytest
import shapely
from _web import PASSWORD
from _web import S02_TOML
from _web import lattice_station

from gridplan.web import schema_tool
from gridplan.web import store
from gridplan.web.db import StoreError
from gridplan.web.db import connect
from gridplan.web.db import init_store
from gridplan.web.db import transaction

S03_TOML = S02_TOML.replace('id = "S02"', 'id = "S03"').replace("第二", "第三")


def _stations(url: str):
    """Stations S02 and S03 with a grid each and an admin each; the open connection."""
    con = connect(url)
    grid, _hot, _net = lattice_station()
    for toml in (S02_TOML, S03_TOML):
        sid = store.add_station(con, toml)
        g = grid.assign(
            id=grid["id"].str.replace("S02", sid),
            parent_id=grid["parent_id"].map(
                lambda v, sid=sid: v.replace("S02", sid) if isinstance(v, str) else None
            ),
        )
        store.save_grid(con, sid, g, source_name="grid.geojson", username="cli", report={})
        store.add_user(con, f"admin-{sid}", PASSWORD, station_id=sid, role="admin")
    return con


def test_users_and_sessions_on_both_back_ends(store_url):
    con = _stations(store_url)
    try:
        row = store.check_login(con, "ADMIN-s02", PASSWORD)  # the login key: any case
        assert row is not None and row["station_id"] == "S02" and dict(row)["role"] == "admin"
        assert store.check_login(con, "admin-S02", "wrong password!") is None
        with pytest.raises(store.UserError, match="cannot be used"):
            store.add_user(con, "Admin-S02", PASSWORD, station_id="S02", role="officer")
        token = store.start_session(con, row["id"], lifetime_s=3600)
        assert store.session_user(con, token, lifetime_s=3600)["username"] == "admin-S02"
        store.set_user_active(con, row["id"], False)
        assert store.session_user(con, token, lifetime_s=3600) is None
    finally:
        con.close()


def test_grids_targets_alerts_and_jobs_round_trip_on_both_back_ends(store_url):
    con = _stations(store_url)
    try:
        grid = store.load_grid(con, store.latest_grid(con, "S03")["id"])
        assert len(grid) == 13 and grid.crs.to_epsg() == 4326
        assert "S03" in set(grid["id"]) and grid["id"].str.startswith("S03").all()
        assert grid.geometry.is_valid.all()
        micro = grid.loc[grid["level"] == "micro", "id"].tolist()
        start = dt.datetime(2030, 5, 1, 8, tzinfo=dt.UTC)
        alert = store.add_alert(
            con, "S03", level="red", micro_ids=micro[:2], starts=start,
            ends=start + dt.timedelta(hours=5), reason="fights", created_by="admin-S03",
        )  # fmt: skip
        assert [a.id for a in store.list_alerts(con, "S03")] == [alert.id]
        assert store.list_alerts(con, "S02") == []
        with pytest.raises(store.InputError):
            store.get_alert(con, "S02", alert.id)  # another station's
        a = store.add_job(con, "S02", "plan", {"date": "2030-05-01"}, "admin-S02")
        b = store.add_job(con, "S03", "plan", {"date": "2030-05-01"}, "admin-S03")
        assert store.claim_job(con, "host:1", slots=1)["id"] == a
        assert store.claim_job(con, "host:1", slots=1) is None  # the kind's one slot is taken
        assert store.claim_job(con, "host:1", slots=1, kind_slots={"import": 3}) is None
        assert store.claim_job(con, "host:1", slots=0, kind_slots={"plan": 2})["id"] == b
        total = con.execute("SELECT SUM(n_base), COUNT(*) FROM grids").fetchone()
        assert total[0] == 6 and type(total[0]) is int and total[1] == 2  # as SQLite answers
    finally:
        con.close()


def test_check_ins_fixes_and_purge_on_both_back_ends(store_url):
    con = _stations(store_url)
    try:
        at = dt.datetime(2030, 5, 1, 8, tzinfo=dt.UTC)
        fixes = pd.DataFrame(
            {"time": [at, at + dt.timedelta(minutes=1)], "lon": [120.1, 120.2],
             "lat": [30.1, 30.2], "accuracy_m": [5.0, None]}
        )  # fmt: skip
        _batch, n = store.save_track_batch(
            con, "S02", fixes, patroller_id="V09", source_name="a.gpx", username="admin-S02"
        )
        loaded = store.load_fixes(con, "S02", "Asia/Shanghai")
        assert n == 2 and loaded["lon"].tolist() == [120.1, 120.2]
        assert loaded["accuracy_m"].isna().tolist() == [False, True]
        assert store.load_fixes(con, "S03", "Asia/Shanghai").empty
        presence = pd.DataFrame(
            [{"date": "2030-05-01", "slice_id": "am", "patroller_id": "V09", "micro_id": "m",
              "minutes": 2.0, "unknown_minutes": 0.0}]
        )  # fmt: skip
        for _ in range(2):  # kept minutes add up
            counts = store.purge_positions(
                con, "S02", before=at + dt.timedelta(days=1), presence=presence,
                username="retention", retention_days=30,
            )  # fmt: skip
        assert counts["presence_rows"] == 1
        assert store.load_presence(con, "S02")["minutes"].tolist() == [4.0]
        assert store.load_fixes(con, "S02", "Asia/Shanghai").empty
    finally:
        con.close()


def test_a_failed_transaction_leaves_the_store_as_it_was(store_url):
    con = _stations(store_url)
    try:
        with pytest.raises(RuntimeError), transaction(con):
            con.execute("DELETE FROM targets")
            con.execute("UPDATE stations SET name='gone'")
            raise RuntimeError("crash half-way")
        assert {r[0] for r in con.execute("SELECT name FROM stations")} != {"gone"}
    finally:
        con.close()


# --------------------------------------------------------------------------- PostgreSQL only


@pytest.fixture
def pg_url(pg_cluster):
    """An empty PostgreSQL store (the application's role, which owns nothing)."""
    return pg_cluster.new_store()


def test_row_level_security_keeps_a_station_from_another_stations_rows(pg_url):
    _stations(pg_url).close()
    con = connect(pg_url, station="S02")
    try:
        # hand-written SQL with no station filter: the database answers with S02's rows only
        assert {r[0] for r in con.execute("SELECT station_id FROM grids")} == {"S02"}
        features = con.execute("SELECT COUNT(*) FROM grid_features").fetchone()[0]
        assert features == 13  # S02's grid only, of 26
        assert con.execute("SELECT COUNT(*) FROM grids WHERE station_id='S03'").fetchone()[0] == 0
        # nor can it write into another station, or move a row there
        with pytest.raises(Exception, match="row-level security"):
            con.execute(
                "INSERT INTO jobs (station_id, kind, status, params_json, created_at, "
                "created_by) VALUES ('S03', 'plan', 'queued', '{}', 'now', 'x')"
            )
        with pytest.raises(Exception, match="row-level security"):
            con.execute("UPDATE grids SET station_id='S03'")
        assert con.execute("DELETE FROM alerts WHERE station_id='S03'").rowcount == 0
    finally:
        con.close()
    everyone = connect(pg_url)
    try:
        assert everyone.execute("SELECT COUNT(*) FROM grids").fetchone()[0] == 2
    finally:
        everyone.close()


def test_the_application_role_owns_nothing_and_cannot_change_the_schema(pg_url):
    con = connect(pg_url)
    try:
        with pytest.raises(Exception, match=r"must be owner|permission denied"):
            con.execute("ALTER TABLE grids DISABLE ROW LEVEL SECURITY")
        with pytest.raises(Exception, match=r"permission denied|must be owner"):
            con.execute("DROP POLICY station_isolation ON grids")
    finally:
        con.close()


def test_geometries_are_postgis_columns_with_spatial_indexes(pg_url):
    con = _stations(pg_url)
    try:
        types = {
            (r[0], r[1])
            for r in con.execute(
                "SELECT f_table_name, type FROM geometry_columns WHERE f_geometry_column='shape'"
            )
        }
        assert {("grid_features", "GEOMETRY"), ("incidents", "POINT")} <= types
        indexes = {r[0] for r in con.execute("SELECT indexname FROM pg_indexes")}
        assert {"grid_features_shape", "incidents_shape", "alerts_shape"} <= indexes
        grid = store.load_grid(con, store.latest_grid(con, "S02")["id"])
        micro = grid[grid["level"] == "micro"].iloc[0]
        inside = shapely.Point(micro.geometry.representative_point())
        found = con.execute(
            "SELECT id FROM grid_features WHERE level='micro' AND ST_Contains(shape, "
            "ST_SetSRID(ST_MakePoint(?, ?), 4326)) AND grid_id=?",
            (inside.x, inside.y, int(store.latest_grid(con, "S02")["id"])),
        ).fetchall()
        assert [r[0] for r in found] == [micro["id"]]
    finally:
        con.close()


def test_servers_sharing_the_store_claim_each_job_once(pg_url):
    con = _stations(pg_url)
    ids = {store.add_job(con, "S02", "plan", {"n": i}, "x") for i in range(12)}
    con.close()
    claimed: list[int] = []
    lock = threading.Lock()

    def server(name: str) -> None:
        own = connect(pg_url)
        try:
            while (job := store.claim_job(own, name, slots=100)) is not None:
                with lock:
                    claimed.append(int(job["id"]))
        finally:
            own.close()

    threads = [threading.Thread(target=server, args=(f"server-{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # every job once, none twice


def test_a_station_store_moves_into_postgresql_with_everything(tmp_path, pg_url):
    src = tmp_path / "station.sqlite"
    init_store(src)
    _stations(str(src)).close()
    owner = pg_url.replace("gridplan_app@", "gridplan_owner@")  # ids need the sequences' owner
    counts = schema_tool.copy_store(str(src), owner)
    assert counts["grid_features"] == 26 and counts["users"] == 2
    con = connect(pg_url)
    try:
        assert store.check_login(con, "admin-s03", PASSWORD)["station_id"] == "S03"
        # new rows continue after the copied ids
        job = store.add_job(con, "S02", "plan", {}, "x")
        assert job > con.execute("SELECT MIN(id) FROM jobs").fetchone()[0] - 1
        assert len(store.load_grid(con, 1)) == 13
    finally:
        con.close()
    with pytest.raises(StoreError, match="holds stations already"):
        schema_tool.copy_store(str(src), owner)  # not into a store with stations


# --------------------------------------------------------------------------- upgrades


def test_a_schema_7_store_of_the_hand_written_migrations_is_stamped_and_keeps_its_rows(tmp_path):
    """A store made before Alembic (schema.sql and meta, as gridplan did until now)."""
    path = tmp_path / "gridplan.sqlite"
    old = sqlite3.connect(path)
    schema = resources.files("gridplan.web").joinpath("schema.sql").read_text("utf-8")
    old.executescript(schema)
    old.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', '7'), ('created_at', 'then')"
    )
    old.commit()
    old.close()
    con = connect(path)
    store.add_station(con, S02_TOML)
    store.add_user(con, "keeper", PASSWORD, station_id="S02", role="admin")
    con.close()
    before = sqlite3.connect(path).execute("SELECT * FROM users").fetchall()

    assert init_store(path) is False
    assert schema_tool.current(str(path)) == schema_tool.head()
    con = connect(path)
    try:
        assert [tuple(r) for r in con.execute("SELECT * FROM users")] == before
        assert con.execute("SELECT value FROM meta WHERE key='created_at'").fetchone()[0] == "then"
    finally:
        con.close()
    init_store(path)  # once stamped, a start changes nothing
    assert schema_tool.current(str(path)) == schema_tool.head()


def test_gridplan_db_upgrade_makes_and_upgrades_stores(runner, tmp_path, pg_cluster):
    from gridplan.cli import main

    sqlite_path = tmp_path / "new" / "gridplan.sqlite"
    result = runner.invoke(main, ["db", "upgrade", "--database", str(sqlite_path)])
    assert result.exit_code == 0, result.output
    assert f"schema revision {schema_tool.head()}" in result.output
    name = pg_cluster.new_database()
    owner = pg_cluster.url(name, "gridplan_owner")
    result = runner.invoke(main, ["db", "upgrade", "--database", owner])
    assert result.exit_code == 0, result.output
    assert "gridplan_owner@" in result.output
    result = runner.invoke(main, ["db", "grant", "gridplan_app", "--database", owner])
    assert result.exit_code == 0, result.output
    init_store(pg_cluster.url(name))  # the app's check: at the newest revision
    result = runner.invoke(main, ["db", "grant", "bad name;", "--database", owner])
    assert result.exit_code == 2 and "PostgreSQL name" in result.output


def test_the_web_app_refuses_a_postgresql_store_that_is_not_upgraded(pg_cluster):
    from gridplan.web import create_app
    from gridplan.web.db import StoreError

    url = pg_cluster.url(pg_cluster.new_database())
    with pytest.raises(StoreError, match="run gridplan db upgrade"):
        create_app({"TESTING": True, "DATABASE": url, "SECRET_KEY": "t"})


def test_a_logged_in_users_requests_run_in_their_stations_scope(pg_url, tmp_path):
    import flask
    from _web import login

    from gridplan.web import create_app
    from gridplan.web.db import get_db

    _stations(pg_url).close()
    app = create_app(
        {"TESTING": True, "DATABASE": pg_url, "SECRET_KEY": "t", "JOBS_INLINE": True},
        instance_path=str(tmp_path),
    )
    client = app.test_client()
    login(client, "admin-S03")
    with client:
        assert client.get("/").status_code == 200
        assert flask.g.db_station == "S03"
        # whatever a view would ask, the database answers with the user's station only
        rows = get_db().execute("SELECT station_id FROM grids").fetchall()
        assert {r[0] for r in rows} == {"S03"}


def test_a_forked_server_process_opens_its_own_connections(pg_url):
    import os

    con = _stations(pg_url)
    parents = con.execute("SELECT pg_backend_pid()").fetchone()[0]
    con.close()  # back to the pool: a gunicorn master holds such a connection when it forks
    pid = os.fork()
    if pid == 0:  # the child: the parent's pooled socket is not used
        code = 1
        try:
            child = connect(pg_url)
            own = child.execute("SELECT pg_backend_pid()").fetchone()[0]
            stations = child.execute("SELECT COUNT(*) FROM stations").fetchone()[0]
            code = 0 if own != parents and stations == 2 else 1
            child.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    con = connect(pg_url)  # and the parent's pool still works
    try:
        assert con.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 2
    finally:
        con.close()
