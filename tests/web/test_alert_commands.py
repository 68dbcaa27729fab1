"""Alerts in the web store and `gridplan alerts add|list|end`; `gridplan plan --alerts FILE`.

A small store of its own: the lattice station as S02 (two stations to keep apart: S03 has
the same grid under its own ids) and nothing else, so these tests run in seconds.
"""

import datetime as dt
import json
import sqlite3

import pytest
from _lattice import make_hotspots
from _web import S02_TOML
from _web import lattice_station

from gridplan.cli import main
from gridplan.io.planfile import load_plan
from gridplan.routing.alerts import alerts_from_json
from gridplan.web import store
from gridplan.web.db import SCHEMA_VERSION
from gridplan.web.db import connect
from gridplan.web.db import init_store
from gridplan.web.migrations import STEPS

CELL = "S02-B3-M003"


@pytest.fixture
def instance(tmp_path):
    """An instance folder whose store holds stations S02 and S03 with the lattice grid."""
    database = tmp_path / "gridplan.sqlite"
    init_store(database)
    con = connect(database)
    try:
        for sid in ("S02", "S03"):
            sid = store.add_station(con, S02_TOML.replace('"S02"', f'"{sid}"'), source="t")
            grid, _, _ = lattice_station()
            for col in ("id", "parent_id"):
                grid[col] = [
                    v.replace("S02", sid) if isinstance(v, str) else None for v in grid[col]
                ]
            store.save_grid(con, sid, grid, source_name="g", username="t", report={})
    finally:
        con.close()
    return tmp_path


def run(runner, instance, *args):
    return runner.invoke(main, [*map(str, args), "--instance", str(instance)])


def audit_actions(instance):
    con = sqlite3.connect(instance / "gridplan.sqlite")
    try:
        return [tuple(r) for r in con.execute("SELECT action, target, username FROM audit")]
    finally:
        con.close()


def test_add_list_and_end_an_alert(runner, instance):
    added = run(
        runner, instance, "alerts", "add", "--station", "S02", "--level", "red",
        "--cells", f"{CELL}, S02-B3-M002", "--hours", "72", "--reason", "robbery series",
        "--by", "officer 1",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output.startswith("alert 1 added: red S02-B3-M002, S02-B3-M003")
    assert "(Asia/Shanghai) [active] robbery series (by officer 1)" in added.output

    listed = run(runner, instance, "alerts", "list", "--station", "S02", "--json")
    (alert,) = alerts_from_json(listed.output)
    assert alert.level == "red" and alert.micro_ids == ("S02-B3-M002", CELL)
    assert round((alert.ends - alert.starts).total_seconds() / 3600) == 72
    assert alert.starts.utcoffset() == dt.timedelta(hours=8)  # station time
    other = run(runner, instance, "alerts", "list", "--station", "S03")
    assert other.exit_code == 0 and "no active alerts" in other.output  # S02's stays S02's
    assert run(runner, instance, "alerts", "end", "1", "--station", "S03").exit_code == 2

    ended = run(runner, instance, "alerts", "end", "1", "--station", "S02", "--by", "chief")
    assert ended.exit_code == 0, ended.output
    assert "[ended " in ended.output and "by chief" in ended.output
    assert "no active alerts" in run(runner, instance, "alerts", "list", "--station", "S02").output
    past = run(runner, instance, "alerts", "list", "--station", "S02", "--all")
    assert "ended" in past.output and "robbery series" in past.output
    again = run(runner, instance, "alerts", "end", "1", "--station", "S02")
    assert again.exit_code == 2 and "alert 1 is already over" in again.output
    assert audit_actions(instance) == [
        ("add_alert", "1", "officer 1"),
        ("end_alert", "1", "chief"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--level", "orange", "--cells", CELL, "--hours", "2"],
            "alert colour 'orange' is unknown; use red, yellow or blue",
        ),
        (
            ["--level", "red", "--cells", "S02-B9-M999", "--hours", "2"],
            "micro-grid(s) S02-B9-M999 are not in the station's grid; use micro-grid ids such as",
        ),
        (
            ["--level", "red", "--cells", CELL, "--until", "2001-01-01 08:00"],
            "the alert ends at 2001-01-01T08:00:00+08:00, not after it starts",
        ),
        (
            ["--level", "red", "--cells", CELL, "--until", "tomorrow"],
            "'tomorrow' is not a time YYYY-MM-DD HH:MM in the station's time (Asia/Shanghai)",
        ),
        (["--level", "red", "--cells", CELL], "give how long the alert lasts"),
        (["--level", "red", "--hours", "3"], "the alert names no micro-grid"),
    ],
)
def test_bad_alerts_are_exit_2_with_the_value_and_the_fix(runner, instance, args, message):
    result = run(runner, instance, "alerts", "add", "--station", "S02", "--reason", "why", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert audit_actions(instance) == []


def test_an_area_adds_the_micro_grids_it_overlaps(runner, instance, tmp_path):
    grid, _, _ = lattice_station()
    cell = grid.loc[grid["id"] == CELL, "geometry"].iloc[0]
    inside = cell.buffer(-0.0003)  # well inside the cell: only it
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps({"type": "Feature", "geometry": inside.__geo_interface__}))
    result = run(
        runner, instance, "alerts", "add", "--station", "S02", "--level", "yellow",
        "--area", area, "--hours", "5", "--reason", "market",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (alert,) = alerts_from_json(
        run(runner, instance, "alerts", "list", "--station", "S02", "--json").output
    )
    assert alert.micro_ids == (CELL,) and json.loads(alert.area)["type"] == "Polygon"
    area.write_text("not json")
    bad = run(
        runner, instance, "alerts", "add", "--station", "S02", "--level", "red",
        "--area", area, "--hours", "5", "--reason", "x",
    )  # fmt: skip
    assert bad.exit_code == 2
    assert f"the area {area} cannot be read" in " ".join(bad.output.split())


def test_alerts_active_in_a_window_and_never_another_stations(instance):
    con = connect(instance / "gridplan.sqlite")
    try:
        tz = store.station_config(con, "S02").tz
        t0 = dt.datetime(2024, 6, 5, 6, tzinfo=tz)
        kw = {"micro_ids": [CELL], "reason": "r", "created_by": "me"}
        a = store.add_alert(
            con, "S02", level="red", starts=t0, ends=t0 + dt.timedelta(hours=4), **kw
        )
        store.add_alert(
            con, "S02", level="blue", starts=t0 + dt.timedelta(days=2),
            ends=t0 + dt.timedelta(days=3), **kw,
        )  # fmt: skip
        day = store.list_alerts(con, "S02", start=t0, end=t0 + dt.timedelta(days=1))
        assert [x.id for x in day] == [a.id]
        assert store.list_alerts(con, "S03") == []
        with pytest.raises(Exception, match=f"alert {a.id} is not an alert of station S03"):
            store.get_alert(con, "S03", a.id)
    finally:
        con.close()


def test_a_version_5_store_gets_the_alerts_table(tmp_path):
    """The v5 -> v6 step makes the table schema.sql makes (columns and index)."""
    assert SCHEMA_VERSION == max(STEPS) + 1 and "CREATE TABLE alerts" in STEPS[5]
    old = tmp_path / "old.sqlite"
    init_store(old)
    con = sqlite3.connect(old)
    with (
        con
    ):  # a version 5 store: without the alerts, what versions 7 and 8 added, and Alembic's stamp
        for table in (
            "user_stations",
            "alerts",
            "check_ins",
            "track_fixes",
            "track_batches",
            "presence",
        ):
            con.execute(f"DROP TABLE {table}")
        con.execute("DROP TABLE alembic_version")
        con.execute("UPDATE meta SET value='5' WHERE key='schema_version'")
    con.close()
    init_store(old)
    fresh = tmp_path / "fresh.sqlite"
    init_store(fresh)
    a, b = connect(old), connect(fresh)
    try:
        for sql in ("PRAGMA table_info(alerts)", "PRAGMA index_list(alerts)"):
            assert [tuple(r)[1:3] for r in a.execute(sql)] == [
                tuple(r)[1:3] for r in b.execute(sql)
            ]
        version = a.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION
    finally:
        a.close()
        b.close()


def test_plan_takes_the_alerts_file_and_check_verifies_them(runner, instance, tmp_path):
    from gridplan.io.export import write_geodata
    from gridplan.io.results import write_grid
    from gridplan.network.graphs import save_network

    grid, _, net = lattice_station()
    hot = make_hotspots(grid, [100, 90, 80, 70, 60, 50, 40, 30, 0])
    micro = grid[grid["level"] == "micro"].set_index("id")
    hot = hot.assign(geometry=micro.loc[hot["id"], "geometry"].to_numpy())
    write_grid(grid, tmp_path / "grid.geojson")
    write_geodata(hot.set_geometry("geometry", crs=grid.crs), tmp_path / "hot.geojson")
    save_network(net, tmp_path / "net.gpkg")
    (tmp_path / "station.toml").write_text(S02_TOML, encoding="utf-8")
    con = connect(instance / "gridplan.sqlite")
    try:
        tz = store.station_config(con, "S02").tz
        t0 = dt.datetime(2024, 6, 5, 0, tzinfo=tz)
        store.add_alert(
            con, "S02", level="red", micro_ids=[CELL], starts=t0,
            ends=t0 + dt.timedelta(hours=72), reason="robbery", created_by="me",
        )  # fmt: skip
    finally:
        con.close()
    alerts = tmp_path / "alerts.json"
    listed = run(runner, instance, "alerts", "list", "--station", "S02", "--json", "--all")
    alerts.write_text(listed.output, encoding="utf-8")
    out = tmp_path / "day.plan.json"
    args = [
        "plan", "--grid", tmp_path / "grid.geojson", "--hotspots", tmp_path / "hot.geojson",
        "--network", tmp_path / "net.gpkg", "--config", tmp_path / "station.toml",
        "--date", "2024-06-05", "--slices", "morning", "--time-limit", "2", "--workers", "1",
        "--out", out,
    ]  # fmt: skip
    result = runner.invoke(main, [str(a) for a in [*args, "--alerts", alerts]])
    assert result.exit_code == 0, result.output
    plan = load_plan(out)
    got = sum(p.dwell_s for r in plan.slices[0].routes for p in r.stops if p.micro_id == CELL)
    assert got >= 30 * 60 and plan.settings["alerts"][0]["micro_ids"] == [CELL]
    checked = runner.invoke(main, ["plan", "check", str(out)])
    assert checked.exit_code == 0, checked.output
    # a plan file whose alert asks for more than the routes give fails the check
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc["policy"]["alerts"]["red"]["min_presence_min"] = 60
    bad = tmp_path / "bad.plan.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    checked = runner.invoke(
        main, ["plan", "check", str(bad), "--network", str(tmp_path / "net.gpkg")]
    )
    assert checked.exit_code == 1
    assert f"ERROR [alert] morning: red alert 1: {CELL} gets" in checked.output
    assert "the alert needs 60 min" in checked.output

    alerts.write_text('[{"id": "1"}]', encoding="utf-8")
    result = runner.invoke(main, [str(a) for a in [*args[:-1], tmp_path / "x.plan.json",
                                                      "--alerts", alerts]])  # fmt: skip
    assert result.exit_code == 2
    assert f"{alerts}: alert 1: alert '1': missing level" in " ".join(result.output.split())
