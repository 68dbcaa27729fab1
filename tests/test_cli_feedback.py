"""`gridplan plan --presence/--planned` and `gridplan evaluate` on small stations."""

import json

import geopandas as gpd
import pytest
from _lattice import lattice_network
from _lattice import make_grid
from _lattice import make_hotspots

from gridplan.cli import main
from gridplan.io.export import write_geodata
from gridplan.io.planfile import load_plan
from gridplan.io.results import write_grid
from gridplan.network.graphs import save_network

STATION_TOML = """
[station]
id = "S01"
name = "格子警务室"
timezone = "Asia/Shanghai"

[patrol]
top_share = 0.2

[[roster]]
id = "A01"
name = "辅警 1"
role = "auxiliary"
mode = "walk"
max_duty_min = 480
availability = { daily = ["06:00-07:00"] }
"""
A, B = "S01-B1-M001", "S01-B3-M003"


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    """Lattice station files; last two days' stop list and tracks that missed B twice."""
    d = tmp_path_factory.mktemp("station")
    grid = make_grid()
    write_grid(grid, d / "grid.geojson")
    hot = make_hotspots(grid, [10.5, 1, 1, 1, 1, 1, 1, 1, 10])
    micro = grid[grid["level"] == "micro"].set_index("id")
    hot = hot.assign(geometry=micro.loc[hot["id"], "geometry"].to_numpy())
    write_geodata(gpd.GeoDataFrame(hot, geometry="geometry", crs=grid.crs), d / "hot.geojson")
    save_network(lattice_network(), d / "net.gpkg")
    (d / "station.toml").write_text(STATION_TOML, encoding="utf-8")
    (d / "stops.csv").write_text(
        "date,slice,patroller_id,micro_id,dwell_min\n"
        f"2024-06-03,morning,A01,{A},15\n2024-06-03,morning,A01,{B},15\n"
        f"2024-06-04,morning,A01,{A},15\n2024-06-04,morning,A01,{B},15\n",
        encoding="utf-8",
    )
    (d / "presence.csv").write_text(
        "patroller,date,slice,micro_id,minutes\n"
        f"A01,2024-06-03,morning,{A},16\nA01,2024-06-05,morning,S01-B2-M002,12\n",
        encoding="utf-8",
    )
    (d / "presence-tue.csv").write_text(
        f"patroller,date,slice,micro_grid,minutes\nA01,2024-06-04,morning,{A},15\n",
        encoding="utf-8",
    )
    return d


def plan_args(d, out, *extra):
    return [
        "plan", "--grid", d / "grid.geojson", "--hotspots", d / "hot.geojson",
        "--network", d / "net.gpkg", "--config", d / "station.toml", "--date", "2024-06-05",
        "--slices", "morning", "--time-limit", "1", "--workers", "1", "--seed", "4",
        "--out", out, *extra,
    ]  # fmt: skip


def run(runner, args):
    return runner.invoke(main, [str(a) for a in args])


def said(result) -> str:
    """The output with the paragraph wrapping undone."""
    return " ".join(result.output.split())


def test_plan_with_presence_and_planned_days(runner, station, tmp_path):
    out = tmp_path / "wed.plan.json"
    extra = ["--presence", station / "presence.csv", "--presence", station / "presence-tue.csv"]
    extra += ["--planned", station / "stops.csv"]
    result = run(runner, [*plan_args(station, out, *extra), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["feedback"]["missed"] == [{"micro_id": B, "missed": 2, "days": 7}]
    assert any(
        n.startswith(f"{B}: got 0 of 30 planned minutes") for n in summary["feedback"]["notes"]
    )
    plan = load_plan(out)
    assert plan.feedback.spent_today_min == {"S01-B2-M002": 12.0}
    assert plan.feedback.shortfall(B) == 1.0 and plan.feedback.shortfall(A) == 0.0
    visited = {p.micro_id for s in plan.slices for r in s.routes for p in r.stops}
    assert B in visited  # the under-served corner, worth 1.5 times its risk
    text = run(runner, ["plan", "check", out, "--network", station / "net.gpkg"])
    assert text.exit_code == 0, text.output


def test_presence_days_default_to_the_stations(runner, station, tmp_path):
    """Without --presence-days the station's [patrol] presence_days is the look-back (7 as
    shipped: the test above); with presence_days = 1 the stops of the 3rd are out of it."""
    config = tmp_path / "station.toml"
    config.write_text(
        STATION_TOML.replace("top_share = 0.2", "top_share = 0.2\npresence_days = 1"),
        encoding="utf-8",
    )
    args = plan_args(station, tmp_path / "wed.plan.json")
    args[args.index("--config") + 1] = config
    extra = ["--presence", station / "presence-tue.csv", "--planned", station / "stops.csv"]
    result = run(runner, [*args, *extra])
    assert result.exit_code == 0, result.output
    plan = load_plan(tmp_path / "wed.plan.json")
    assert plan.feedback.days == 1 and dict(plan.feedback.missed) == {B: 1}
    again = run(runner, [*args, *extra, "--presence-days", "2", "--out", tmp_path / "w2.json"])
    assert again.exit_code == 0, again.output
    assert load_plan(tmp_path / "w2.json").feedback.days == 2


def test_plan_text_shows_the_feedback(runner, station, tmp_path):
    out = tmp_path / "wed.plan.json"
    result = run(runner, plan_args(station, out, "--presence", station / "presence.csv"))
    assert result.exit_code == 0, result.output
    assert "Feedback from tracks (1):" in result.output
    assert "already had 12 minutes of presence on 2024-06-05" in said(result)


def test_planned_needs_presence_and_bad_presence_is_named(runner, station, tmp_path):
    out = tmp_path / "x.plan.json"
    result = run(runner, plan_args(station, out, "--planned", station / "stops.csv"))
    assert result.exit_code == 2 and "--planned needs --presence" in said(result)
    bad = tmp_path / "bad.csv"
    bad.write_text("patroller,date,slice,micro_id,minutes\nA01,6/5,morning,X,ten\n", "utf-8")
    result = run(runner, plan_args(station, out, "--presence", bad))
    assert result.exit_code == 2
    assert "bad.csv: 1 bad row(s): row 2: date '6/5' is not a date" in said(result)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("date,slice,micro_id,minutes\n2024-06-05,morning,S01-B9-M001,5\n", "utf-8")
    result = run(runner, plan_args(station, out, "--presence", unknown))
    assert result.exit_code == 2 and "S01-B9-M001 that are not in the grid" in said(result)
    assert not out.exists()


def test_evaluate_reports_groups_and_caveats(runner, station, tmp_path):
    grid = make_grid()
    micro = grid[grid["level"] == "micro"].set_index("id").geometry
    rows = ["id,time,lon,lat,category"]
    # A and B busy before; A patrolled after and quieter, B not
    for mid, before, after in ((A, 12, 4), (B, 10, 9), ("S01-B2-M002", 3, 3)):
        c = micro[mid].representative_point()
        times = ["2024-01-10 12:00"] * before + ["2024-04-10 12:00"] * after
        rows += [f"{mid}-{k},{t},{c.x:.7f},{c.y:.7f},盗窃" for k, t in enumerate(times)]
    (tmp_path / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "presence.csv").write_text(
        f"patroller,date,slice,micro_id,minutes\nA01,2024-04-02,day,{A},300\n", encoding="utf-8"
    )
    args = [
        "evaluate", "--grid", station / "grid.geojson", "--incidents", tmp_path / "incidents.csv",
        "--presence", tmp_path / "presence.csv", "--before", "2024-01:2024-03",
        "--after", "2024-04:2024-06", "--top", "2", "--config", station / "station.toml",
    ]  # fmt: skip
    result = run(runner, args)
    assert result.exit_code == 0, result.output
    text = said(result)
    assert "Patrol evaluation: 2 hot spots" in text and "ratio of ratios: 0.37" in text
    assert "Read with care:" in text and "Regression to the mean" in text
    summary = json.loads(run(runner, [*args, "--json"]).stdout)
    assert [g["before"] for g in summary["groups"]] == [12, 10]
    assert [g["after"] for g in summary["groups"]] == [4, 9]
    assert len(summary["caveats"]) == 5
    result = run(runner, [*args[:-2], "--before", "2024-13"])
    assert result.exit_code == 2
