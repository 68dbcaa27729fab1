"""`gridplan tracks import` and `gridplan compliance` on GPX tracks of a lattice plan."""

import json

import pytest
from _tracks import LATTICE_CRS
from _tracks import lattice_day
from _tracks import route_fixes
from _tracks import write_gpx

from gridplan.cli import main
from gridplan.io.planfile import save_plan
from gridplan.io.results import write_grid


def run(runner, args):
    return runner.invoke(main, [str(a) for a in args])


def said(result) -> str:
    """The output with the paragraph wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved lattice plan, its grid, and one GPX per deployed route (5 s, one point bad)."""
    d = tmp_path_factory.mktemp("tracks")
    plan, grid, _ = lattice_day()
    save_plan(plan, d / "day.plan.json")
    write_grid(grid, d / "grid.geojson")
    tracks = {}
    for r in (r for s in plan.slices for r in s.routes if r.deployed):
        fixes = route_fixes(r, LATTICE_CRS)
        fixes.loc[40, "lat"] += 0.01  # a 1 km jump
        tracks[r.patroller_id] = write_gpx(fixes, d / f"{r.patroller_id}.gpx")
    return d, plan, tracks


def test_tracks_import_writes_fixes_and_rejects(runner, files, tmp_path):
    _, _, tracks = files
    pid, gpx = next(iter(tracks.items()))
    out = tmp_path / "fixes.gpkg"
    result = run(runner, ["tracks", "import", gpx, "--patroller", pid, "--mode", "car", "-o", out])
    assert result.exit_code == 0, result.output
    assert "1 rejected" in result.output and "row 41" in result.output
    assert out.is_file() and (tmp_path / "fixes.rejects.csv").is_file()
    result = run(runner, ["tracks", "import", gpx, "--patroller", pid, "--json"])
    summary = json.loads(result.output)
    assert summary["rejected_by_reason"] == {"tracks.jump": 1} and summary["kept"] > 100
    assert summary["patrollers"][pid]["median_interval_s"] == 5.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tracks", "import", "{gpx}"], "whose track is this? A GPX file does not say"),
        (["tracks", "import", "{dir}/none.gpx", "--patroller", "X"], "file not found"),
        (["tracks", "import", "{gpx}", "--patroller", "X", "--mode", "boat"], "Invalid value"),
    ],
)
def test_tracks_import_bad_input_is_a_clear_error(runner, files, args, message):
    d, _, tracks = files
    gpx = next(iter(tracks.values()))
    result = run(runner, [a.format(gpx=gpx, dir=d) for a in args])
    assert result.exit_code == 2 and message in said(result)
    assert "Traceback" not in result.output


def test_compliance_reports_and_writes_csv_and_gpkg(runner, files, tmp_path):
    d, plan, tracks = files
    specs = [f"{pid}={path}" for pid, path in tracks.items()]
    args = ["compliance", d / "day.plan.json", "--grid", d / "grid.geojson"]
    for spec in specs:
        args += ["--tracks", spec]
    result = run(runner, [*args, "-o", tmp_path / "day.csv"])
    assert result.exit_code == 0, result.output
    assert "stops made" in result.output and "top hot spot" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {
        "day.csv",
        "day.patrollers.csv",
        "day.hotspots.csv",
    }
    result = run(runner, [*args, "--json", "-o", tmp_path / "day.gpkg"])
    summary = json.loads(result.output)
    n_stops = sum(len(r.stops) for s in plan.slices for r in s.routes)
    assert summary["stops"]["visited"] == n_stops and summary["missed"] == []
    assert summary["out"] == [str(tmp_path / "day.gpkg")]
    assert {i["rejected"] for i in summary["imports"]} == {1}


def test_compliance_takes_a_gpx_named_after_its_patroller(runner, files, tmp_path):
    d, _, tracks = files
    pid, gpx = next(iter(tracks.items()))
    args = ["compliance", d / "day.plan.json", "--grid", d / "grid.geojson", "--tracks", gpx]
    result = run(runner, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["imports"][0]["patrollers"].keys() == {pid}


def test_compliance_bad_input(runner, files, tmp_path):
    d, _, tracks = files
    gpx = next(iter(tracks.values()))
    anonymous = tmp_path / "track.gpx"
    anonymous.write_bytes(gpx.read_bytes())
    base = ["compliance", d / "day.plan.json", "--grid", d / "grid.geojson"]
    result = run(runner, [*base, "--tracks", anonymous])
    assert result.exit_code == 2 and "--tracks ID=" in said(result)
    result = run(runner, [*base, "--tracks", f"P1={gpx}", "-o", gpx])
    assert result.exit_code == 2 and "never overwrites an input" in said(result)
    result = run(runner, ["compliance", d / "grid.geojson", "--grid", d / "grid.geojson",
                          "--tracks", f"P1={gpx}"])  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output


def check_ins_csv(plan, path, *, patrollers=None, note="'=1+1"):
    """The check-ins CSV of the web UI's plan page: arrived and left at every stop on time."""
    import pandas as pd

    from gridplan.io.csvsafe import frame_csv_text
    from gridplan.tracks.compliance import stop_key

    rows = []
    for s in plan.slices:
        for r in s.routes:
            if patrollers is not None and r.patroller_id not in patrollers:
                continue
            for p in r.stops:
                for kind, at in (("arrived", p.arrival), ("left", p.departure)):
                    rows.append(
                        {"slice": s.slice_id, "slice_name": s.slice_id, "patroller": r.patroller_id,
                         "stop": p.order, "micro_id": p.micro_id,
                         "planned_arrival": p.arrival.isoformat(), "kind": kind,
                         "time": at.isoformat(), "received": at.isoformat(), "lon": p.lon,
                         "lat": p.lat, "accuracy_m": 8.0, "inside": True, "distance_m": 0.0,
                         "note": note, "user": "phone",
                         "stop_key": stop_key(s.slice_id, r.patroller_id, r.part, p.order)}
                    )  # fmt: skip
    path.write_text(frame_csv_text(pd.DataFrame(rows)), encoding="utf-8")
    return path


def test_compliance_counts_check_ins_next_to_tracks(runner, files, tmp_path):
    d, plan, tracks = files
    routes = [r for s in plan.slices for r in s.routes if r.deployed and r.stops]
    first, others = routes[0].patroller_id, {r.patroller_id for r in routes[1:]}
    base = ["compliance", d / "day.plan.json", "--grid", d / "grid.geojson", "--json"]
    # check-ins alone: every stop checked in at on time is visited
    every = check_ins_csv(plan, tmp_path / "all.csv")
    result = run(runner, [*base, "--checkins", every])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    n_stops = sum(len(r.stops) for r in routes)
    assert summary["stops"]["visited"] == n_stops and summary["check_ins"] == 2 * n_stops
    # one patroller's track and the others' check-ins: both count
    some = check_ins_csv(plan, tmp_path / "some.csv", patrollers=others)
    result = run(runner, [*base, "--tracks", f"{first}={tracks[first]}", "--checkins", some])
    summary = json.loads(result.output)
    assert summary["stops"]["visited"] == n_stops and summary["stops"]["no_track"] == 0
    # without them, the others' stops have no track
    result = run(runner, [*base, "--tracks", f"{first}={tracks[first]}"])
    n_others = sum(len(r.stops) for r in routes[1:])
    assert json.loads(result.output)["stops"]["no_track"] == n_others > 0


def test_compliance_bad_check_ins_are_a_clear_error(runner, files, tmp_path):
    d, plan, _ = files
    base = ["compliance", d / "day.plan.json", "--grid", d / "grid.geojson"]
    result = run(runner, base)
    assert result.exit_code == 2 and "--checkins" in said(result)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("who,when\nV01,08:00\n", encoding="utf-8")
    result = run(runner, [*base, "--checkins", wrong])
    assert result.exit_code == 2 and "patroller, kind, time, micro_id are missing" in said(result)
    bad = check_ins_csv(plan, tmp_path / "bad.csv")
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("+", " ").replace("arrived", "came").replace("left", "came")
    bad.write_text("\n".join(lines), encoding="utf-8")
    result = run(runner, [*base, "--checkins", bad])
    assert result.exit_code == 2 and "row 3: kind 'came' is not arrived or left" in said(result)
    result = run(runner, [*base, "--checkins", tmp_path / "none.csv"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = run(runner, [*base, "--checkins", bad, "-o", bad])
    assert result.exit_code == 2 and "never overwrites an input" in said(result)
