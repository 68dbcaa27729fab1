"""`gridplan city plan --store`: the web UI's stations planned on a cluster, saved in the store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import gridplan as gp
from gridplan.cli import main
from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.db import init_store

DATE = "2025-06-14"


@pytest.fixture(scope="module")
def database(city, tmp_path_factory):
    """A store with C01 and C02 (grid and hot spots, no network) and C03 (a grid only)."""
    path = tmp_path_factory.mktemp("store") / "gridplan.sqlite"
    init_store(path)
    con = connect(path)
    try:
        for sid in ("C01", "C02", "C03"):
            folder = city.parent / sid
            store.add_station(con, (folder / "station.toml").read_text(encoding="utf-8"))
            grid = gp.load_grid(folder / "grid.geojson")
            grid_id, _ = store.save_grid(
                con, sid, grid, source_name="grid.geojson", username="test", report={}
            )
            if sid == "C03":
                continue
            cfg = store.station_config(con, sid)
            incidents = gp.import_incidents(folder / "incidents.csv", config=cfg).incidents
            hot = gp.compute_hotspots(grid, incidents, config=cfg, permutations=0)
            store.save_hotspots(con, sid, grid_id, hot, n_incidents=len(incidents), username="t")
    finally:
        con.close()
    return path


def test_each_stored_station_gets_its_plan_and_one_without_hot_spots_is_listed(database):
    args = ["city", "plan", "--date", DATE, "--time-limit", "1", "--slices", "night"]
    args += ["--store", str(database)]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 1, result.output  # C03 has no hot spots
    summary = json.loads(result.stdout)
    assert sorted(summary["written"]) == ["C01", "C02"]
    assert "no hot spots for its current grid" in summary["failures"]["C03"]
    con = connect(database)
    try:
        for sid in ("C01", "C02"):
            current = store.current_plan(con, sid, DATE)
            row = store.get_plan_row(con, current["id"], sid)
            plan = store.plan_from_row(row)
            assert plan.station_id == sid and plan.is_feasible()
            assert [s.slice_id for s in plan.slices] == ["night"]
            assert row["created_by"] == "city-plan"
            assert summary["written"][sid] == f"plan {row['id']} version {row['version']}"
        assert store.current_plan(con, "C03", DATE) is None
    finally:
        con.close()


def test_the_plan_command_wants_a_city_file_and_out_or_a_store(tmp_path):
    for extra in ([], ["--out", str(tmp_path)], ["--store", "x.sqlite", str(tmp_path / "c.toml")]):
        result = CliRunner().invoke(main, ["city", "plan", "--date", DATE, *extra])
        assert result.exit_code == 2 and "a CITY file and --out DIR, or --store" in result.output
    result = CliRunner().invoke(main, ["city", "plan", "--date", DATE, "--store", "nope.sqlite"])
    assert result.exit_code == 2 and "nope.sqlite: no store there" in result.stderr


@pytest.fixture(scope="module")
def database_pg(database, pg_cluster) -> str:
    """The store of ``database`` copied into PostgreSQL + PostGIS; the application's URL."""
    from _pg import APP
    from _pg import OWNER

    from gridplan.web import schema_tool

    name = pg_cluster.new_database()
    owner = pg_cluster.url(name, OWNER)
    schema_tool.upgrade(owner)
    schema_tool.copy_store(str(database), owner)
    schema_tool.grant(owner, APP)
    return pg_cluster.url(name)


def _versions(database: str, sid: str) -> list[int]:
    con = connect(database)
    try:
        rows = con.execute(
            "SELECT version FROM plans WHERE station_id=? AND date=? ORDER BY version",
            (sid, DATE),
        ).fetchall()
        return [int(r["version"]) for r in rows]
    finally:
        con.close()


def test_a_postgresql_store_by_url_and_by_gridplan_database_url(database_pg, monkeypatch):
    args = ["city", "plan", "--date", DATE, "--time-limit", "1", "--slices", "night"]
    args += ["--workers", "1", "--json"]
    before = {sid: _versions(database_pg, sid) for sid in ("C01", "C02")}
    result = CliRunner().invoke(main, [*args, "--stations", "C01", "--store", database_pg])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["written"]) == ["C01"]

    monkeypatch.setenv("GRIDPLAN_DATABASE_URL", database_pg)  # no --store, no CITY file
    result = CliRunner().invoke(main, [*args, "--stations", "C02,C03"])
    assert result.exit_code == 1, result.output  # C03 has no hot spots
    summary = json.loads(result.stdout)
    assert sorted(summary["written"]) == ["C02"] and "no hot spots" in summary["failures"]["C03"]

    con = connect(database_pg)
    try:
        assert con.dialect == "postgresql"
        for sid in ("C01", "C02"):
            # one new version, saved whole by the command (the app's role: every station)
            assert _versions(database_pg, sid) == [*before[sid], len(before[sid]) + 1]
            row = store.get_plan_row(con, store.current_plan(con, sid, DATE)["id"], sid)
            assert row["created_by"] == "city-plan" and store.plan_from_row(row).is_feasible()
        audit = con.execute("SELECT COUNT(*) FROM audit WHERE username='city-plan'").fetchone()
        assert audit[0] >= 2
    finally:
        con.close()


def test_an_unreachable_postgresql_store_is_named_without_its_password(pg_cluster):
    from _dask import free_port

    url = f"postgresql://gridplan_app:s3cret@127.0.0.1:{free_port()}/gridplan"
    result = CliRunner().invoke(main, ["city", "plan", "--date", DATE, "--store", url])
    assert result.exit_code == 2, result.output
    assert "cannot connect to the store" in result.stderr
    assert "gridplan_app:***@127.0.0.1" in result.stderr and "s3cret" not in result.output
