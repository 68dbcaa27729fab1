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
