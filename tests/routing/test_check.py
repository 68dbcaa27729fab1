"""Plan files and the independent plan checker: round trips, and every tampering caught."""

import copy
import datetime as dt
import json

import geopandas as gpd
import pytest
import shapely
from _lattice import lattice_network
from _lattice import make_config
from _lattice import make_hotspots
from _lattice import patroller
from _plans import plan_checked

from gridplan import GridplanError
from gridplan import InfeasiblePlanError
from gridplan import InputError
from gridplan.io.planfile import load_plan
from gridplan.io.planfile import plan_from_dict
from gridplan.io.planfile import plan_to_dict
from gridplan.io.planfile import save_plan
from gridplan.network.graphs import build_network
from gridplan.routing.check import check_plan
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams

FAST = SolveParams(time_limit_s=5, workers=1, work_limit=300, seed=3)
MORNING = PlanRequest("2024-06-05", slices=["morning"])
MORNING_DAY = PlanRequest("2024-06-05", slices=["morning", "day"])


@pytest.fixture(scope="module")
def plan(net, grid):
    """A walker and a rider in the morning and day slices on the 3 x 3 lattice."""
    cfg = make_config(
        [
            patroller("W1", {"daily": ["06:00-14:00"]}, home_bases=["S01-B1", "S01-B2"]),
            patroller("R1", {"daily": ["06:00-14:00"]}, mode="ebike"),
        ],
        top_share=0.2,
        revisit_gap_min=40,
    )
    return plan_checked(grid, make_hotspots(grid), net, cfg, MORNING_DAY, params=FAST)


@pytest.fixture
def doc(plan):
    return copy.deepcopy(plan_to_dict(plan))


def codes(doc, net, grid=None):
    report = check_plan(plan_from_dict(doc), net, grid=grid)
    return {f.code for f in report.errors}


def first_route(doc, slice_index=0):
    """The route with the most stops in a slice."""
    return max(doc["slices"][slice_index]["routes"], key=lambda r: len(r["stops"]))


def test_save_load_round_trip(plan, tmp_path, net):
    path = save_plan(plan, tmp_path / "day.plan.json")
    again = load_plan(path)
    assert again.to_text() == plan.to_text()
    assert again.cost() == pytest.approx(plan.cost())
    assert again.policy == plan.policy and again.date == plan.date
    assert again.settings["network"]["fingerprint"] == net.fingerprint
    # saving what was read gives the same file: the format is stable
    assert save_plan(again, tmp_path / "again.plan.json").read_text() == path.read_text()
    _routes, stops = again.to_geodataframes()
    assert len(stops) == sum(len(r.stops) for s in plan.slices for r in s.routes)


def test_the_untouched_plan_passes(doc, net, grid):
    assert codes(doc, net, grid) == set()


def test_a_leg_too_short_is_caught(doc, net):
    stop = first_route(doc)["stops"][1]
    prev = first_route(doc)["stops"][0]
    # arrive at the second stop the moment the first ends: the walk between is 200 m+
    stop["arrival"] = prev["departure"]
    leave = dt.datetime.fromisoformat(prev["departure"]) + dt.timedelta(seconds=stop["dwell_s"])
    stop["departure"] = leave.isoformat()
    assert "travel" in codes(doc, net)


def test_a_short_dwell_is_caught(doc, net):
    stop = first_route(doc)["stops"][0]
    stop["dwell_s"] = 300  # 5 minutes, below the policy's 10
    stop["departure"] = stop["arrival"]
    assert "dwell" in codes(doc, net)


def test_raise_for_errors_raises_infeasible_plan_error_with_the_report(doc, net, grid):
    check_plan(plan_from_dict(doc), net, grid=grid).raise_for_errors()  # no error: no raise
    bad = copy.deepcopy(doc)
    stop = first_route(bad)["stops"][0]
    stop["dwell_s"] = 300
    stop["departure"] = stop["arrival"]
    report = check_plan(plan_from_dict(bad), net, grid=grid)
    # two dwell errors, a wait before the next leg, and the presence the metrics report no
    # longer matches the routes
    n = len(report.errors)
    assert {f.code for f in report.errors} == {"dwell", "wait", "metrics"} and n > 3
    expected = rf"(?s)breaks {n} hard constraint.*\[dwell\] morning/R1: stop 1.*plan the day again"
    with pytest.raises(InfeasiblePlanError, match=expected) as exc:
        report.raise_for_errors()
    assert exc.value.report is report and isinstance(exc.value, GridplanError)


def test_leaving_the_home_bases_is_caught(doc, net):
    r = first_route(doc)
    r["duty"]["home_bases"] = [r["stops"][0]["base_id"]]
    assert {p["base_id"] for p in r["stops"]} != {r["stops"][0]["base_id"]}
    assert codes(doc, net) == {"home_base"}


def test_a_route_past_the_availability_is_caught(doc, net):
    r = first_route(doc, 1)  # the morning routes carry on into the day: this one walks back
    assert not r["continues"]
    r["duty"]["window_end"] = r["stops"][-1]["departure"]  # no time left to walk back
    assert "window" in codes(doc, net)


def test_duty_limit_over_the_day_is_caught(doc, net):
    for s in doc["slices"]:
        first_route(doc, doc["slices"].index(s))["duty"]["max_duty_min"] = 30
    assert "duty" in codes(doc, net)


def test_dosage_cap_is_caught(doc, net):
    doc["policy"]["dosage_cap_min"] = 10
    assert "dosage" in codes(doc, net)


def test_revisits_too_close_are_caught(doc, net):
    doc["policy"]["revisit_gap_min"] = 600
    found = codes(doc, net)
    visits = {}
    for s in doc["slices"]:
        for r in s["routes"]:
            for p in r["stops"]:
                visits.setdefault((s["slice"], p["micro_id"]), []).append(p)
    assert any(len(v) > 1 for v in visits.values()), "the fixture plan should revisit"
    assert "revisit" in found


def test_misreported_metrics_are_caught(doc, net):
    m = doc["slices"][0]["metrics"]
    base = next(b for b, v in m["base_visited"].items() if v)
    m["base_visited"][base] = False
    assert codes(doc, net) == {"metrics"}


def messages(doc, net):
    return [f.message for f in check_plan(plan_from_dict(doc), net).errors]


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [
        ("response_coverage", 0.5, "response coverage is reported as 0.5, but the routes give 1"),
        ("response_coverage", None, "response coverage is reported as -"),
        ("risk_covered", 0.999, "risk covered"),
        ("waiting_min", 45.0, "waiting (min) is reported as 45"),
        ("prize", 1, "prize is reported as 1"),
    ],
)
def test_misreported_presence_metrics_are_caught(doc, net, key, value, what):
    # the checker re-times every route minute by minute on networkx's Dijkstra
    doc["slices"][0]["metrics"][key] = value
    found = messages(doc, net)
    assert any(what in m for m in found), found


def test_misreported_top_presence_is_caught(doc, net):
    top = doc["slices"][0]["metrics"]["top_presence"]
    mid = next(iter(top))
    top[mid]["share_of_risk"] = 0.9  # the plan page would say it holds 90 % of the risk
    assert any(f"{mid} share_of_risk" in m for m in messages(doc, net))
    del top[mid]
    assert any("top presence is reported for" in m for m in messages(doc, net))


def test_a_plan_file_without_cell_records_is_read_and_warned(doc, net):
    for s in doc["slices"]:  # as written before issue 17
        del s["cells"]
        for k in ("response_coverage", "waiting_min", "top_presence", "prize", "risk_total"):
            del s["metrics"][k]
        s["metrics"]["incidents_within_8min"] = 1.0
    report = check_plan(plan_from_dict(doc), net)
    assert report.ok
    assert any("no cell records" in f.message for f in report.warnings)


def test_a_path_that_misses_a_stop_is_caught(doc, net):
    r = first_route(doc)
    r["path"] = [r["path"][0], r["path"][-1]]
    assert "path" in codes(doc, net)


def test_overlapping_routes_of_one_patroller_are_caught(doc, net):
    # the day route of the patroller claims to start while its morning route still runs
    _morning, day = doc["slices"]
    r0 = first_route(doc, 0)
    r1 = next(r for r in day["routes"] if r["patroller_id"] == r0["patroller_id"])
    assert r0["stops"] and r1["stops"]
    day["start"] = r1["duty"]["window_start"] = r1["start"] = r0["start"]
    assert "overlap" in codes(doc, net)


def test_a_different_network_is_refused(doc, grid):
    other = lattice_network()
    assert other.fingerprint == lattice_network().fingerprint  # deterministic
    moved = build_network(
        # a street elsewhere in UTM zone 10N (within the zone's area of use)
        gpd.GeoDataFrame(
            geometry=[shapely.LineString([(500_000, 5_000_000), (500_500, 5_000_000)])], crs=26910
        ),
        crs="EPSG:26910",
    )
    report = check_plan(plan_from_dict(doc), moved)
    assert not report.ok and {f.code for f in report.errors} == {"network"}
    with pytest.raises(InputError, match="pass that network"):
        check_plan(plan_from_dict(doc), None)


def test_grid_membership_is_checked(doc, net, grid):
    stop = first_route(doc)["stops"][0]
    stop["base_id"] = "S01-B9"
    assert "grid" in codes(doc, net, grid)


def test_straight_line_plans_are_checked_too(grid):
    cfg = make_config([patroller("W1", {"daily": ["06:00-10:00"]})])
    plan = plan_checked(grid, make_hotspots(grid), None, cfg, MORNING, params=FAST)
    assert plan.settings["network"] is None
    report = check_plan(plan)
    assert report.ok and report.method == "straight_line" and report.legs > 2
    doc = plan_to_dict(plan)
    r = doc["slices"][0]["routes"][0]
    r["duty"]["speed_kph"] = 0.5  # a crawl: no leg fits any more
    assert "travel" in codes(doc, None)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON at line 1"),
        ('{"format": "something-else"}', "not a gridplan plan file"),
        ('{"format": "gridplan-plan", "version": 99}', "newer than this gridplan reads"),
        ('{"format": "gridplan-plan", "version": 1}', "missing key 'date'"),
    ],
)
def test_bad_plan_files(tmp_path, content, match):
    path = tmp_path / "bad.plan.json"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as info:
        load_plan(path)
    assert str(path) in str(info.value)


def test_a_bad_field_names_its_place(tmp_path, doc):
    k = next(i for i, r in enumerate(doc["slices"][0]["routes"]) if r["stops"])
    doc["slices"][0]["routes"][k]["stops"][0]["arrival"] = "half past six"
    path = tmp_path / "bad.plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=rf"slices\[0\]\.routes\[{k}\]\.stops\[0\]\.arrival"):
        load_plan(path)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([1, 2], r"cells\[0\]\.access\.walk: expected \[node, lon, lat\]"),
        (["x", 122.0, 45.0], r"cells\[0\]\.access\.walk: the node 'x' is not an integer"),
        ("walk", r"cells\[0\]\.access\.walk: expected \[node, lon, lat\]"),
    ],
)
def test_a_bad_cell_record_names_its_place(tmp_path, doc, value, match):
    doc["slices"][0]["cells"][0]["access"] = {"walk": value}
    path = tmp_path / "bad.plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=match):
        load_plan(path)


def test_missing_plan_file(tmp_path):
    with pytest.raises(InputError, match="no such plan file"):
        load_plan(tmp_path / "nope.plan.json")
