"""`gridplan plan`, `gridplan plan check` and `gridplan export` on the 3 x 3 lattice station."""

import json
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
from _lattice import lattice_network
from _lattice import make_grid
from _lattice import make_hotspots

from gridplan.cli import main
from gridplan.io.export import write_geodata
from gridplan.io.results import write_grid
from gridplan.network.graphs import save_network

STATION_TOML = """
[station]
id = "S01"
name = "格子警务室"
timezone = "Asia/Shanghai"

[patrol]
revisit_gap_min = 40

[[roster]]
id = "V01"
name = "义警 1"
role = "volunteer_team"
mode = "walk"
members = 2
max_duty_min = 240
availability = { daily = ["06:00-09:00"] }
home_bases = ["S01-B1", "S01-B2"]

[[roster]]
id = "A01"
name = "辅警 1"
role = "auxiliary"
mode = "ebike"
max_duty_min = 480
availability = { daily = ["06:00-10:00"] }
"""


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    """Grid, hot spots, network cache and config files of the lattice station."""
    d = tmp_path_factory.mktemp("station")
    grid = make_grid()
    write_grid(grid, d / "grid.geojson")
    hot = make_hotspots(grid)
    micro = grid[grid["level"] == "micro"].set_index("id")
    hot = hot.assign(geometry=micro.loc[hot["id"], "geometry"].to_numpy())
    write_geodata(gpd.GeoDataFrame(hot, geometry="geometry", crs=grid.crs), d / "hot.geojson")
    save_network(lattice_network(), d / "net.gpkg")
    (d / "station.toml").write_text(STATION_TOML, encoding="utf-8")
    return d


def plan_args(d: Path, out: Path, *extra):
    return [
        "plan", "--grid", d / "grid.geojson", "--hotspots", d / "hot.geojson",
        "--network", d / "net.gpkg", "--config", d / "station.toml", "--date", "2024-06-05",
        "--slices", "morning", "--time-limit", "2", "--workers", "1", "--seed", "4",
        "--out", out, *extra,
    ]  # fmt: skip


def run(runner, args):
    return runner.invoke(main, [str(a) for a in args])


def said(result) -> str:
    """The output with the paragraph wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def planned(station):
    from click.testing import CliRunner

    # beside its network: the plan records it as "net.gpkg", relative to its own folder
    out = station / "day.plan.json"
    result = run(CliRunner(), plan_args(station, out, "--json"))
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def test_plan_writes_a_plan_that_checks(runner, planned, station):
    out, summary = planned
    assert out.is_file() and summary["out"] == [str(out)]
    assert summary["feasible"] is True and summary["slices"][0]["slice"] == "morning"
    routes = summary["slices"][0]["routes"]
    assert {r["patroller_id"] for r in routes} == {"V01", "A01"}
    assert any(r["stops"] for r in routes)
    # the plan names its network, so the check needs no --network
    result = run(runner, ["plan", "check", out, "--grid", station / "grid.geojson", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["method"] == "network" and report["legs"] >= 3


def test_check_exits_1_on_a_tampered_plan(runner, planned, station, tmp_path):
    out, _ = planned
    doc = json.loads(out.read_text(encoding="utf-8"))
    route = max(doc["slices"][0]["routes"], key=lambda r: len(r["stops"]))
    route["stops"][0]["dwell_s"] = 120
    route["stops"][0]["departure"] = route["stops"][0]["arrival"]
    bad = tmp_path / "bad.plan.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = run(runner, ["plan", "check", bad, "--network", station / "net.gpkg"])
    assert result.exit_code == 1
    assert "ERROR [dwell]" in result.output and "INVALID" in result.output


def _planted(planned, folder: Path, ref: str) -> Path:
    """A copy of the plan in ``folder`` whose settings.network.path is ``ref``."""
    doc = json.loads(planned[0].read_text(encoding="utf-8"))
    doc["settings"]["network"]["path"] = ref
    path = folder / "planted.plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_plan_records_its_network_relative_to_its_folder_or_not_at_all(
    runner, planned, station, tmp_path
):
    doc = json.loads(planned[0].read_text(encoding="utf-8"))
    assert doc["settings"]["network"]["path"] == "net.gpkg"
    elsewhere = tmp_path / "day.plan.json"
    assert run(runner, plan_args(station, elsewhere)).exit_code == 0
    info = json.loads(elsewhere.read_text(encoding="utf-8"))["settings"]["network"]
    assert "path" not in info and info["fingerprint"] == doc["settings"]["network"]["fingerprint"]
    result = run(runner, ["plan", "check", elsewhere])
    assert result.exit_code == 2 and "--network PATH" in said(result)


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("{abs}", "is an absolute path"),
        ("../station/net.gpkg", "steps out of the file's folder with '..'"),
        ("sub/../../net.gpkg", "steps out of the file's folder with '..'"),
        ("C:\\Windows\\net.gpkg", "is an absolute path"),
        ("\\\\server\\share\\net.gpkg", "is an absolute path"),
        ("link/net.gpkg", "leads out of the file's folder through a symbolic link"),
    ],
)
def test_a_plan_file_cannot_lead_check_out_of_its_folder(
    runner, planned, station, tmp_path, ref, reason
):
    (tmp_path / "link").symlink_to(station, target_is_directory=True)
    ref = ref.format(abs=station / "net.gpkg")
    plan = _planted(planned, tmp_path, ref)
    result = run(runner, ["plan", "check", plan])
    assert result.exit_code == 2, result.output
    text = said(result)
    assert f"settings.network.path {ref!r} {reason}" in text and "--network PATH" in text
    assert "Traceback" not in result.output
    # named on the command line, the same network is used
    ok = run(runner, ["plan", "check", plan, "--network", station / "net.gpkg"])
    assert ok.exit_code == 0, ok.output


def test_a_plan_file_may_name_a_network_in_a_folder_below_it(runner, planned, station, tmp_path):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "n.gpkg").write_bytes((station / "net.gpkg").read_bytes())
    result = run(runner, ["plan", "check", _planted(planned, tmp_path, "nets/n.gpkg")])
    assert result.exit_code == 0, result.output


def test_check_of_a_broken_file_is_a_clear_error(runner, tmp_path):
    bad = tmp_path / "broken.plan.json"
    bad.write_text("{", encoding="utf-8")
    result = run(runner, ["plan", "check", bad])
    assert result.exit_code == 2
    assert "not valid JSON" in said(result) and "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["geojson", "gpx", "csv", "gpkg"])
def test_export_formats_read_by_gdal(runner, planned, tmp_path, fmt):
    out, summary = planned
    target = tmp_path / f"day.{fmt}"
    result = run(runner, ["export", out, "--format", fmt, "--out", target])
    assert result.exit_code == 0, result.output
    n_stops = sum(len(r["stops"]) for s in summary["slices"] for r in s["routes"])
    if fmt == "csv":
        text = target.read_text(encoding="utf-8-sig").splitlines()
        assert text[0].startswith(
            "date,slice,patroller_id,patroller,mode,order,micro_id,name,base_id,street,arrive"
        )
        assert len(text) == n_stops + 1
        return
    layer = {"geojson": None, "gpx": "waypoints", "gpkg": "stops"}[fmt]
    cmd = (
        ["ogrinfo", "-so", str(target), layer] if layer else ["ogrinfo", "-so", "-al", str(target)]
    )
    info = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if fmt == "geojson":
        doc = json.loads(target.read_text())
        kinds = [f["properties"]["kind"] for f in doc["features"]]
        assert kinds.count("stop") == n_stops and "route" in kinds
        assert "crs" not in doc  # RFC 7946: WGS 84 only, no crs member
    else:
        assert f"Feature Count: {n_stops}" in info


def test_export_one_patroller_gpx(runner, planned, tmp_path):
    out, summary = planned
    pid = next(r["patroller_id"] for r in summary["slices"][0]["routes"] if r["stops"])
    target = tmp_path / "one.gpx"
    result = run(runner, ["export", out, "--patroller", pid, "--out", target])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert f"<name>{pid} 1." in text and "<trkseg>" in text and "<rte>" in text
    result = run(runner, ["export", out, "--patroller", "NOPE", "--out", target])
    assert result.exit_code == 2 and "patrollers on duty" in said(result)


def test_variants_are_written_beside_the_plan(runner, station, tmp_path):
    out = tmp_path / "rot.plan.json"
    result = run(runner, plan_args(station, out, "--variants", "2", "--json"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["out"] == [str(out), str(tmp_path / "rot.v2.plan.json")]
    assert [v["index"] for v in summary["variants"]] == [1, 2]
    for path in summary["out"]:
        check = ["plan", "check", path, "--network", station / "net.gpkg"]
        assert run(runner, check).exit_code == 0


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"--date": "8 June"}, "YYYY-MM-DD"),
        ({"--slices": "noon"}, "unknown time slice 'noon'"),
        ({"--time-limit": "0"}, "must be > 0"),
    ],
)
def test_bad_plan_options(runner, station, tmp_path, change, match):
    args = plan_args(station, tmp_path / "x.plan.json")
    for key, value in change.items():
        args[args.index(key) + 1] = value
    result = run(runner, args)
    assert result.exit_code == 2, result.output
    assert match in said(result) and "Traceback" not in result.output


def test_duty_split_option(runner, station, tmp_path):
    out = tmp_path / "first.plan.json"
    result = run(runner, plan_args(station, out, "--duty-split", "first", "--json"))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["settings"]["duty_split"] == "first"
    result = run(runner, plan_args(station, out, "--duty-split", "fair"))
    assert result.exit_code == 2 and "'fair' is not one of 'risk', 'first'" in said(result)


def test_plan_needs_its_inputs(runner):
    result = run(runner, ["plan", "--date", "2024-06-05"])
    assert result.exit_code == 2
    assert "--grid" in said(result) and "--hotspots" in said(result)


def test_a_bad_roster_is_exit_2(runner, station, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(STATION_TOML.replace('home_bases = ["S01-B1", "S01-B2"]', 'home_bases = ["B9"]'))
    args = plan_args(station, tmp_path / "x.plan.json")
    args[args.index("--config") + 1] = bad
    result = run(runner, args)
    assert result.exit_code == 2 and "home_bases 'B9' not in the grid" in said(result)


def test_a_station_off_the_network_is_exit_2(runner, station, tmp_path):
    far = tmp_path / "far.toml"
    # the station door 10 km east of the lattice streets
    far.write_text(
        STATION_TOML.replace(
            'timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\nlocation = [-122.55, 45.51]'
        )
    )
    args = plan_args(station, tmp_path / "x.plan.json")
    args[args.index("--config") + 1] = far
    result = run(runner, args)
    assert result.exit_code == 2, result.output
    assert "the network does not reach it" in said(result)


def test_a_variant_outside_the_tolerance_names_its_slice_and_date(planned):
    import dataclasses
    from types import MappingProxyType

    from gridplan.cli import _variant_line
    from gridplan.io.planfile import load_plan

    out, _ = planned
    plan = load_plan(out)
    scores = {
        "morning": {"score": 8.5, "best_score": 10.0, "within_tolerance": False},
        "day": {"score": 9.9, "best_score": 10.0, "within_tolerance": True},
    }
    variant = {"index": 2, "of": 2, "tolerance": 0.05, "slices": scores, "similarity": [0.4, 1.0]}
    line = _variant_line(out, dataclasses.replace(plan, variant=MappingProxyType(variant)))
    assert line.endswith(
        "(outside the 5 % tolerance: slice morning on 2024-06-05 scores 8.5, the best 10)"
    )
    assert "day" not in line.split("tolerance")[1]  # the slice within it is not named
    scores["morning"]["within_tolerance"] = True
    line = _variant_line(out, dataclasses.replace(plan, variant=MappingProxyType(variant)))
    assert "tolerance" not in line and "similarity to the best 0.40" in line


def test_plan_serves_targets_from_a_layer_and_check_verifies_their_windows(
    runner, station, tmp_path
):
    import datetime as dt

    import shapely
    from _targets import lonlat
    from _targets import market_street
    from _targets import school_gate
    from _targets import targets_frame

    layer = targets_frame([school_gate(), market_street()])
    layer.loc[2] = ["bad", "菜市场", "soon", 5.0, 10, shapely.Point(lonlat(0, 0))]
    layer.to_file(tmp_path / "targets.geojson", driver="GeoJSON")
    out = tmp_path / "t.plan.json"
    result = run(runner, plan_args(station, out, "--targets", tmp_path / "targets.geojson"))
    assert result.exit_code == 0, result.output
    assert "target left out: targets.geojson, feature 3 (菜市场): window 'soon'" in result.stderr
    assert "targets: 2 visits inside their windows, to 2 of 2 targets" in result.stdout
    assert "walk 中山路 " in result.stdout and "(window 07:00-09:00)" in result.stdout
    net = station / "net.gpkg"
    checked = run(
        runner, ["plan", "check", out, "--network", net, "--grid", station / "grid.geojson"]
    )
    assert checked.exit_code == 0, checked.output
    # moved out of its window, the school gate visit is an error of plan check
    doc = json.loads(out.read_text(encoding="utf-8"))
    for route in doc["slices"][0]["routes"]:
        for stop in route["stops"]:
            if stop.get("target_id") == "gate":
                for key in ("arrival", "departure"):
                    at = dt.datetime.fromisoformat(stop[key]) + dt.timedelta(hours=2)
                    stop[key] = at.isoformat()
    # the exports say which stops are targets
    run(runner, ["export", out, "--format", "csv", "--out", tmp_path / "t.csv"])
    csv = (tmp_path / "t.csv").read_text(encoding="utf-8-sig")
    assert ",line,market,07:00-09:00," in csv and ",point,gate,07:30-08:15," in csv
    run(runner, ["export", out, "--format", "gpx", "--out", tmp_path / "t.gpx"])
    gpx = (tmp_path / "t.gpx").read_text(encoding="utf-8")
    assert "一小校门; key target, window 07:30-08:15</desc>" in gpx
    bad = tmp_path / "moved.plan.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = run(runner, ["plan", "check", bad, "--network", net])
    assert result.exit_code == 1
    assert "ERROR [target] morning/" in result.output and "outside its windows" in result.output


def test_a_targets_file_without_a_usable_target_is_exit_2(runner, station, tmp_path):
    import shapely

    gpd.GeoDataFrame(
        {"name": ["x"], "windows": ["never"]}, geometry=[shapely.Point(0, 0)], crs=4326
    ).to_file(tmp_path / "t.geojson", driver="GeoJSON")
    result = run(
        runner, plan_args(station, tmp_path / "p.json", "--targets", tmp_path / "t.geojson")
    )
    assert result.exit_code == 2
    assert "t.geojson has no usable target" in said(result)
