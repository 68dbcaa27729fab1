"""Key road sections and timed targets: windows, layers, the problem's nodes, plans, checks.

The window round trips are Hypothesis tests: ``GRIDPLAN_FUZZ_EXAMPLES`` examples each (default
200); a longer run::

    GRIDPLAN_FUZZ_EXAMPLES=5000 python3 -m pytest -q -p no:cacheprovider \
        tests/routing/test_targets.py -k fuzz
"""

import dataclasses
import datetime as dt
import json
import os

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _lattice import lattice_network
from _lattice import make_config
from _lattice import make_grid
from _lattice import make_hotspots
from _lattice import patroller
from _plans import checked
from _targets import lonlat
from _targets import market_street
from _targets import school_gate
from _targets import targets_frame
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan._errors import InputError
from gridplan.io.planfile import plan_from_dict
from gridplan.io.planfile import plan_to_dict
from gridplan.routing.check import check_plan
from gridplan.routing.plan import target_stops
from gridplan.routing.planner import plan_patrols
from gridplan.routing.problem import build_problem
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams
from gridplan.routing.targets import Target
from gridplan.routing.targets import TargetError
from gridplan.routing.targets import parse_windows
from gridplan.routing.targets import read_targets

FRIDAY = "2024-06-07"
EXAMPLES = int(os.environ.get("GRIDPLAN_FUZZ_EXAMPLES", "200"))
PARAMS = SolveParams(workers=1, work_limit=3000, seed=1)


@pytest.fixture(scope="module")
def lattice():
    grid = make_grid()
    return grid, make_hotspots(grid), lattice_network()


def walker_config(mode="walk"):
    return make_config([patroller("W1", {"daily": ["06:00-22:00"]}, mode=mode)])


# --- windows and targets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("07:30-08:15;16:30-17:30", (("daily", 450, 495), ("daily", 990, 1050))),
        ("weekdays 07:30-08:15； sat 09:00-10:00", (("weekdays", 450, 495), ("sat", 540, 600))),
        ("22:00-01:00", (("daily", 1320, 1500),)),
    ],
)
def test_windows_are_parsed_and_written_back(text, windows):
    parsed, problems = parse_windows(text)
    assert (parsed, problems) == (windows, [])
    assert parse_windows(Target("x", "x", ((0, 0),), text, dwell_min=0).windows_text)[0] == windows


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no time window"),
        ("7h30-8h", "is not \\[day \\]HH:MM-HH:MM"),
        ("mo 07:00-08:00", "names day 'mo'"),
        ("25:00-26:00", "is not"),
        ("07:00-09:00; 08:00-10:00", "overlap on mon"),
        ("07:30-07:35", "is 5 min but the target takes 15 min"),
    ],
)
def test_bad_windows_say_what_is_wrong(text, match):
    with pytest.raises(TargetError, match=match):
        Target("gate", "gate", ((0, 0),), text)


def test_a_target_lists_every_problem_and_round_trips_through_json():
    with pytest.raises(TargetError) as info:
        Target("", "", ((0, 0),), "x", value=150, dwell_min=2.5, modes="bike")
    text = str(info.value)
    for part in ("no name", "window 'x'", "value 150", "dwell 2.5", "modes 'bike'"):
        assert part in text
    assert Target("a/b c", "x", ((0, 0),), "07:00-08:00").id == "a-b-c"
    street = market_street(modes=("walk",))
    assert Target.from_dict(json.loads(json.dumps(street.to_dict()))) == street
    assert street.kind == "line" and 190 < street.length_m < 210
    assert street.service_s == street.walk_s + 5 * 60


def test_a_layer_keeps_good_features_and_names_bad_ones(tmp_path):
    frame = targets_frame([school_gate(), market_street()])
    bad = gpd.GeoDataFrame(
        {"id": ["p", "q"], "name": ["菜市场", "broken"], "windows": ["18:00-19:00", "soon"]},
        geometry=[shapely.box(0, 0, 0.001, 0.001), shapely.Point(lonlat(0, 0))],
        crs=4326,
    )
    path = tmp_path / "targets.geojson"
    gpd.GeoDataFrame(pd_concat([frame, bad]), geometry="geometry", crs=4326).to_file(
        path, driver="GeoJSON"
    )
    targets, rejected = read_targets(path)
    assert [t.id for t in targets] == ["gate", "market"]
    assert [t.kind for t in targets] == ["point", "line"]
    assert len(rejected) == 2
    assert "targets.geojson, feature 3 (菜市场): geometry Polygon is not a target" in rejected[0]
    assert "feature 4 (broken): window 'soon'" in rejected[1]


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_a_layer_without_a_good_feature_is_refused(tmp_path):
    path = tmp_path / "t.geojson"
    gpd.GeoDataFrame(
        {"name": ["x"], "windows": ["never"]}, geometry=[shapely.Point(0, 0)], crs=4326
    ).to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match=r"t.geojson has no usable target: .*feature 1 \(x\)"):
        read_targets(path)


def test_a_request_keeps_its_targets_and_refuses_an_id_twice():
    req = PlanRequest(FRIDAY, targets=[school_gate(), market_street().to_dict()])
    assert PlanRequest.from_dict(json.loads(json.dumps(req.to_dict()))) == req
    with pytest.raises(InputError, match="targets gate are listed more than once"):
        PlanRequest(FRIDAY, targets=[school_gate(), school_gate()])


# --- the problem ------------------------------------------------------------------------------


def test_a_line_target_is_entered_at_its_start_and_left_at_its_end(lattice):
    grid, hot, net = lattice
    street = market_street()
    problem = build_problem(
        grid, hot, net, walker_config(), date=FRIDAY, slice_id="morning", targets=[street]
    )
    vrp = problem.to_prize_vrp()
    node = len(problem.nodes) - 1
    assert problem.target(node).target == street
    sec = problem.matrices[0].seconds
    start = problem.places.index("target:market@start")
    end = problem.places.index("target:market@end")
    corner = problem.places.index("S01-B1-M001")  # the micro-grid at (0, 0)
    station = 0  # at (200, 200), the street's east end
    # into the street: to its west end; out of it: from its east end
    assert vrp.travel[0][station, node] == sec[station, start] > 0
    assert vrp.travel[0][node, station] == sec[end, station] == 0
    assert vrp.travel[0][corner - 0, node] == sec[corner, start]
    corner_node = problem.node_of("S01-B1-M001", 0)
    assert vrp.travel[0][corner_node, node] == sec[corner, start]
    assert vrp.travel[0][node, corner_node] == sec[end, corner]
    assert sec[corner, start] != sec[end, corner]
    assert not np.array_equal(vrp.travel[0], vrp.travel[0].T)


def test_each_window_in_the_slice_is_a_node_served_inside_it(lattice):
    grid, hot, net = lattice
    gate = school_gate(windows="07:30-08:15;09:00-09:30;weekend 06:00-07:00")
    problem = build_problem(
        grid, hot, net, walker_config(), date=FRIDAY, slice_id="morning", targets=[gate]
    )
    assert [(t.open_s, t.close_s) for t in problem.targets] == [(5400, 8100), (10800, 12600)]
    vrp = problem.to_prize_vrp()
    n = vrp.num_nodes
    assert vrp.time_windows[n - 2].tolist() == [5400, 8100 - 15 * 60]
    assert vrp.time_windows[n - 1].tolist() == [10800, 12600 - 15 * 60]
    assert (vrp.time_windows[: n - 2, 0] == 0).all()
    # visits start inside the slice (the station's window is the slice's end)
    assert (vrp.time_windows[1 : n - 2, 1] == problem.horizon_s - 1).all()
    assert vrp.prize[n - 1] == 30_000
    evening = build_problem(
        grid, hot, net, walker_config(), date=FRIDAY, slice_id="evening", targets=[gate]
    )
    assert evening.targets == () and evening.to_prize_vrp().time_windows is None


def test_a_target_for_riders_only_is_barred_to_walkers(lattice):
    grid, hot, net = lattice
    problem = build_problem(
        grid, hot, net, walker_config(), date=FRIDAY, slice_id="morning",
        targets=[school_gate(modes="car")],
    )  # fmt: skip
    vrp = problem.to_prize_vrp()
    assert vrp.num_nodes - 1 not in vrp.vehicles[0].allowed_nodes


# --- plans and checks -------------------------------------------------------------------------


def _plan(lattice, targets, config=None):
    grid, hot, net = lattice
    req = PlanRequest(FRIDAY, slices=["morning"], targets=targets)
    return plan_patrols(grid, hot, net, config or walker_config(), req, params=PARAMS)


def _target_stops(plan):
    return [p for s in plan.slices for r in s.routes for p in r.stops if p.target_id]


def test_a_plan_serves_the_school_gate_and_the_street_inside_their_windows(lattice):
    grid, _, net = lattice
    plan = checked(_plan(lattice, [school_gate(), market_street()]), net, grid)
    stops = {p.target_id: p for p in _target_stops(plan)}
    gate, street = stops["gate"], stops["market"]
    assert (gate.kind, gate.name, gate.risk_class) == ("point", "一小校门", "target")
    assert dt.time(7, 30) <= gate.arrival.time() and gate.departure.time() <= dt.time(8, 15)
    assert gate.dwell_s == 15 * 60
    assert dt.time(7) <= street.arrival.time() and street.departure.time() <= dt.time(9)
    assert street.end_lonlat != (street.lon, street.lat)
    route = next(r for r in plan.slices[0].routes if street in r.stops)
    # the path walks the section: both its ends are on it
    walked = gpd.GeoSeries([route.path], crs=4326).to_crs(26910).iloc[0]
    for end in (lonlat(0, 200), lonlat(200, 200)):
        assert walked.distance(gpd.GeoSeries([shapely.Point(end)], crs=4326).to_crs(26910)[0]) < 1
    again = plan_from_dict(json.loads(json.dumps(plan_to_dict(plan))))

    def key(p):
        return (p.target_id, p.kind, p.arrival, p.departure, p.window_start, p.window_end,
                p.end_street_node, p.walk_m)  # fmt: skip

    assert [key(p) for p in _target_stops(again)] == [key(p) for p in _target_stops(plan)]


def test_a_target_stop_is_no_micro_grid_visit(lattice):
    plan = _plan(lattice, [school_gate()])
    gate = _target_stops(plan)[0]
    # no dosage, stay, revisit or risk-covered count takes it for a micro-grid
    assert (gate.micro_id, gate.base_id, gate.risk_class) == ("", "S01-B3", "target")
    m = plan.slices[0].metrics
    micro = [p for r in plan.slices[0].routes for p in r.stops if not p.target_id]
    top = sum(p.dwell_s for p in micro if p.risk_class == "top") / 60
    assert sum(m.top_dwell_min.values()) == pytest.approx(top)


def test_the_checker_finds_a_target_served_outside_its_window_or_too_briefly(lattice):
    _, _, net = lattice
    plan = _plan(lattice, [school_gate(), market_street()])
    late = dt.timedelta(hours=1)

    def edit(fn):
        s = plan.slices[0]
        routes = []
        for r in s.routes:
            stops = tuple(fn(p) if p.target_id else p for p in r.stops)
            routes.append(dataclasses.replace(r, stops=stops))
        return dataclasses.replace(plan, slices=(dataclasses.replace(s, routes=tuple(routes)),))

    moved = edit(
        lambda p: dataclasses.replace(p, arrival=p.arrival + late, departure=p.departure + late)
    )
    codes = [f.message for f in check_plan(moved, net).findings if f.code == "target"]
    assert any("一小校门 (gate) is served 08:" in m and "outside its windows" in m for m in codes)
    short = edit(lambda p: dataclasses.replace(p, departure=p.arrival + dt.timedelta(minutes=2)))
    found = [f.message for f in check_plan(short, net).errors if f.code == "target"]
    assert any("中山路 (market)" in m and "min walk + 5 min" in m for m in found)


def test_the_checker_says_why_a_valued_target_was_not_served(lattice):
    _, _, net = lattice
    plan = _plan(lattice, [school_gate(modes="car")])
    assert _target_stops(plan) == []
    warnings = [f.message for f in check_plan(plan, net).warnings if f.code == "target"]
    assert warnings == [
        "一小校门 (gate, value 30 %) is not served in its window 07:30-08:15: no patroller "
        "of mode car is on duty in the window"
    ]


@pytest.mark.parametrize(
    ("windows", "day", "evening"),
    [
        ("15:30-16:30", [(19800, 21600)], []),  # 30 min before 16:00 take the visit
        ("15:50-16:30", [], [(0, 1800)]),  # 10 min before 16:00 do not: the evening serves it
    ],
)
def test_a_window_cut_by_a_slice_start_is_served_in_one_slice(lattice, windows, day, evening):
    grid, hot, net = lattice
    gate = school_gate(windows=windows)
    found = {}
    for sid in ("day", "evening"):
        problem = build_problem(
            grid, hot, net, walker_config(), date=FRIDAY, slice_id=sid, targets=[gate]
        )
        found[sid] = [(t.open_s, t.close_s) for t in problem.targets]
    assert found == {"day": day, "evening": evening}


_DAYS = st.sampled_from(["daily", "weekdays", "weekend", "mon", "sat", "sun"])


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(_DAYS, st.integers(0, 1439), st.integers(15, 600)), max_size=4))
def test_fuzz_windows_written_are_read_back_or_refused_with_a_reason(items):
    windows = tuple((day, a, a + length) for day, a, length in items)
    text = "; ".join(
        f"{d} {a // 60:02d}:{a % 60:02d}-{b // 60 % 24:02d}:{b % 60:02d}" for d, a, b in windows
    )
    parsed, problems = parse_windows(text)
    if not windows:
        assert problems and "no time window" in problems[0]
    elif problems:  # only overlapping windows of one day are refused
        assert len(problems) == 1 and "overlap on" in problems[0]
    else:
        assert parsed == tuple((d, a, b) for d, a, b in windows)
        assert parse_windows(Target("t", "t", ((0, 0),), parsed, dwell_min=0).windows_text) == (
            parsed,
            [],
        )


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_any_window_text_is_read_or_refused_never_crashes(text):
    parsed, problems = parse_windows(text)
    assert bool(problems) != bool(parsed) or (problems and not parsed)
    for _, a, b in parsed:
        assert 0 <= a < b <= a + 1440


def test_a_short_target_outing_does_not_empty_the_plan(lattice):
    """A volunteer whose home bases hold only the street would make a 10-minute outing.

    The search's candidates all had that route shorter than the outing minimum, and were all
    thrown away: the plan came out empty. The short route is now grown or given up instead.
    """
    grid, hot, net = lattice
    config = make_config(
        [
            patroller(
                "V01", {"daily": ["06:00-09:00"]}, role="volunteer_team",
                home_bases=["S01-B1", "S01-B2"], max_duty_min=240,
            ),
            patroller("A01", {"daily": ["06:00-10:00"]}, mode="ebike"),
        ],
        revisit_gap_min=40,
    )  # fmt: skip
    req = PlanRequest(
        "2024-06-05", slices=["morning"], targets=[school_gate(), market_street()], seed=4
    )
    params = SolveParams(workers=1, work_limit=2000, seed=4)
    plan = checked(plan_patrols(grid, hot, net, config, req, params=params), net, grid)
    routes = {r.patroller_id: r for r in plan.slices[0].routes}
    assert len(routes["A01"].stops) >= 5
    assert {p.target_id for *_, p in target_stops(plan)} >= {"gate"}


def test_a_window_at_the_slice_end_is_no_node_and_visits_start_inside_the_slice(lattice):
    """The demo day's check found a dwell-0 target visited at 10:00:00, the morning's end."""
    grid, hot, net = lattice
    gate = school_gate(windows="10:00-11:00; 09:00-10:00", dwell_min=0)
    problem = build_problem(
        grid, hot, net, walker_config(), date=FRIDAY, slice_id="morning", targets=[gate]
    )
    assert [(t.open_s, t.close_s) for t in problem.targets] == [(10800, 14400)]
    assert problem.to_prize_vrp().time_windows[-1].tolist() == [10800, 14400 - 1]


def test_why_a_target_stop_is_on_the_route(lattice):
    from gridplan.routing.plan import why_parts

    gate = _target_stops(_plan(lattice, [school_gate()]))[0]
    assert [str(m) for m in why_parts(gate)] == [
        "key target worth 30 % of this slice's risk, to serve 07:30-08:15"
    ]


def test_a_model_without_a_first_solution_is_solved_with_another_seed():
    # Station S02 (an auxiliary out 06:00-07:30, a volunteer team 06:00-10:00) and a school
    # gate 07:30-08:15: with one worker and seed 0, OR-Tools found no first solution (not
    # even every stop unperformed) and the whole plan came out empty
    from _web import S02_TOML
    from _web import lattice_station

    import gridplan as gp
    from gridplan.station.config import config_from_toml

    grid, hot, net = lattice_station()
    cfg = config_from_toml(S02_TOML, source="S02")
    request = gp.PlanRequest(
        "2024-06-05", slices=["morning"], targets=(school_gate(windows="07:30-08:15", value=40),)
    )
    plan = gp.plan_patrols(
        grid, hot, net, cfg, request, params=gp.SolveParams(time_limit_s=1, workers=1, seed=0)
    )
    sp = plan.slices[0]
    assert sp.solution.iterations > 0
    assert any(r.stops for r in sp.routes)
