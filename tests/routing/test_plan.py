"""Plan objects from a hand-made solution: times, paths, metrics, reasons, frames."""

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest
import shapely
from _lattice import lattice_network
from _lattice import make_config
from _lattice import make_grid
from _lattice import make_hotspots
from _lattice import patroller

from gridplan.routing.plan import PatrolPlan
from gridplan.routing.plan import slice_plan
from gridplan.routing.problem import build_problem
from gridplan.routing.solver import PrizeVRPSolution


@pytest.fixture(scope="module")
def case():
    """Two walkers 06:00-10:00 on 2024-06-05 (Shanghai), one kept to base grid S01-B3.

    Scores 9..1 in grid order; top_share 0.2 makes M001 and M002 of S01-B1 top class.
    """
    net = lattice_network()
    grid = make_grid()
    hot = make_hotspots(grid)
    cfg = make_config(
        [
            patroller("P1", {"daily": ["06:00-10:00"]}, name="巡逻一"),
            patroller("P2", {"daily": ["07:00-10:00"]}, home_bases=["S01-B3"]),
        ],
        top_share=0.2,
        revisit_gap_min=15,
    )
    problem = build_problem(grid, hot, net, cfg, date="2024-06-05", slice_id="morning")
    return net, grid, problem, problem.to_prize_vrp()


def test_hand_made_solution_to_plan(case):
    net, _grid, problem, model = case
    m1 = [problem.node_of("S01-B1-M001", k) for k in range(2)]
    m2 = problem.node_of("S01-B1-M002", 0)
    b3 = problem.node_of("S01-B3-M001", 0)
    # P1: M001, M002 (both top, 15-minute dwells), M001 again; P2: its own base grid
    sol = PrizeVRPSolution.from_routes(model, [[0, m1[0], m2, m1[1], 0], [0, b3, 0]])
    # M001 visits start at 320 s and 320 + 900 + 160 + 900 + 160 = 2440 s: the second starts
    # 1220 s >= 15 min after the first ended
    assert sol.is_feasible(model), sol.violations(model)
    sp = slice_plan(problem, model, sol, network=net)
    assert sp.is_feasible()
    r1, r2 = sp.routes
    assert (r1.patroller_id, r1.name, r1.mode) == ("P1", "巡逻一", "walk")
    assert [s.micro_id for s in r1.stops] == ["S01-B1-M001", "S01-B1-M002", "S01-B1-M001"]
    assert [s.copy for s in r1.stops] == [1, 1, 2]
    tz = problem.start.tzinfo
    first = r1.stops[0]
    # the station is the lattice centre (junction 200, 200); M001 is at (0, 0): 400 m walk
    assert first.arrival == dt.datetime(2024, 6, 5, 6, 5, 20, tzinfo=tz)
    assert first.arrival.utcoffset() == dt.timedelta(hours=8)
    assert first.departure - first.arrival == dt.timedelta(minutes=15)
    assert (first.risk_rank, first.gi_class, first.risk_class) == (1, "hot_95", "top")
    assert r1.stops[2].prize == r1.stops[0].prize // 2
    assert r1.distance_m == pytest.approx(400 + 200 + 200 + 400, abs=1)
    assert r1.duration_s == 320 + 900 + 160 + 900 + 160 + 900 + 320
    # P2 may start only at 07:00
    assert r2.start == dt.datetime(2024, 6, 5, 7, 0, tzinfo=tz)
    # street paths start and end at the station node and pass every stop
    station_xy = problem.place_lonlat[0][0]
    for r in (r1, r2):
        assert r.path.coords[0] == pytest.approx(tuple(station_xy))
        assert r.path.coords[-1] == pytest.approx(tuple(station_xy))
        for s in r.stops:
            assert r.path.distance(shapely.Point(s.lon, s.lat)) < 1e-7

    m = sp.metrics
    assert m.risk_covered == pytest.approx((9 + 8 + 3) / 45)  # M001, M002 and S01-B3-M001
    assert m.top_dwell_min == {"S01-B1-M001": 30.0, "S01-B1-M002": 15.0}
    # the longest time without presence, the slice's start and end included (06:00-10:00):
    # M001 is visited at 320 s and 2440 s (15 min each), so its longest wait is after
    # 3340 s; M002 (one visit) likewise
    slice_s = 4 * 3600
    gaps = dict(m.top_longest_gap_min)
    assert gaps["S01-B1-M001"] == pytest.approx((slice_s - 2440 - 900) / 60)
    assert set(gaps) == {"S01-B1-M001", "S01-B1-M002"}
    assert gaps["S01-B1-M002"] > (slice_s - 3 * 3600) / 60
    assert m.longest_top_gap_min == pytest.approx(max(gaps.values()))
    assert dict(m.base_visited) == {"S01-B1": True, "S01-B2": False, "S01-B3": True}
    assert m.cover_violations == ("S01-B2",)
    assert m.workload["P2"].stops == 1
    assert m.workload["P2"].km == pytest.approx(0.8, abs=0.01)  # (200, 200) to (400, 0) and back
    assert m.top_not_visited == {}
    # presence at the top hot spots against their share of the risk (scores 9 and 8 of 45):
    # M001 30 min, M002 15 min, S01-B3-M001 (class other) 10 min of the 55 planned
    tp = m.top_presence
    assert set(tp) == {"S01-B1-M001", "S01-B1-M002"}
    assert tp["S01-B1-M001"].minutes == 30.0
    assert tp["S01-B1-M001"].share_of_presence == pytest.approx(30 / 55)
    assert tp["S01-B1-M002"].share_of_presence == pytest.approx(15 / 55)
    assert tp["S01-B1-M001"].share_of_risk == pytest.approx(9 / 45)
    assert m.risk_total == pytest.approx(45.0)
    # the prize: first visits of M001 and M002, half of M001 again, S01-B3-M001
    stops = [p for r in sp.routes for p in r.stops]
    assert m.prize == sum(p.prize for p in stops) and m.prize_share == m.prize / 100_000
    assert m.waiting_min == 0.0 and m.workload["P1"].waiting_min == 0.0
    # the metrics serialise for --json and the web UI; the old "any stop at any time"
    # figure (read 100 % here) is gone
    d = json.loads(json.dumps(m.to_dict()))
    assert d["workload"]["P2"]["km"] == pytest.approx(0.8, abs=0.01)
    assert "incidents_within_8min" not in d
    assert 0 < d["response_coverage"] <= 1


def test_reasons_for_unvisited_top_hot_spots(case):
    net, _grid, problem, model = case
    # P2 (kept to S01-B3) visits nothing; P1 nothing: top spots are dropped for better prizes
    sol = PrizeVRPSolution.from_routes(model, [[0, 0], [0, 0]])
    sp = slice_plan(problem, model, sol, network=net)
    assert set(sp.metrics.top_not_visited.values()) == {"dropped for better prizes"}
    assert not any(r.deployed for r in sp.routes)
    # nobody goes out, but P1 is on duty at the station (the lattice centre, 400 m on foot
    # from the farthest corner) all slice: every incident is within 8 minutes all the time
    assert sp.metrics.response_coverage == pytest.approx(1.0)
    assert sp.metrics.waiting_min == 0.0
    reasons = {d.micro_id: d.reason for d in sp.dropped}
    assert len(reasons) == 9


def test_reason_not_reachable_in_time_and_home_bases():
    net = lattice_network()
    grid = make_grid()
    hot = make_hotspots(grid)
    # a 20-minute window cannot fit a 15-minute top stop 400 m away (and back) on foot
    cfg = make_config(
        [patroller("V1", {"daily": ["06:00-06:20"]}, home_bases=["S01-B1", "S01-B3"])]
    )
    problem = build_problem(grid, hot, net, cfg, date="2024-06-05", slice_id="morning")
    model = problem.to_prize_vrp()
    sp = slice_plan(problem, model, PrizeVRPSolution.from_routes(model, [[0, 0]]), network=net)
    reasons = {d.micro_id: d.reason for d in sp.dropped}
    assert reasons["S01-B1-M001"] == "not reachable in time"
    assert reasons["S01-B2-M002"] == "outside the home bases of those on duty"


def test_plan_object(case):
    net, _grid, problem, model = case
    sol = PrizeVRPSolution.from_routes(model, [[0, problem.node_of("S01-B2-M001", 0), 0], [0, 0]])
    sp = slice_plan(problem, model, sol, network=net)
    plan = PatrolPlan(
        station_id="S01",
        station_name="警务室",
        timezone="Asia/Shanghai",
        date=problem.date,
        seed=0,
        time_limit_s=1.0,
        slices=(sp,),
    )
    assert plan.is_feasible() and plan.cost() == sol.cost()
    assert plan.slice("morning") is sp
    with pytest.raises(KeyError, match="has morning"):
        plan.slice("night")
    text = plan.to_text()
    assert "P1 巡逻一 (walk) 06:00-" in text and "P2 P2: not deployed" in text
    summary = json.loads(json.dumps(plan.summary()))
    assert summary["feasible"] is True
    assert summary["slices"][0]["routes"][0]["stops"] == ["S01-B2-M001"]
    routes, stops = plan.to_geodataframes()
    assert routes.crs.to_epsg() == 4326 and stops.crs.to_epsg() == 4326
    assert list(routes["patroller_id"]) == ["P1", "P2"]
    assert list(stops["micro_id"]) == ["S01-B2-M001"]
    assert stops["arrival"].iloc[0].endswith("+08:00")
    assert (routes.geometry.geom_type == "LineString").all()


def test_plan_text_shortens_codes_of_a_station_id_with_dashes(case):
    # station HZ-XH07: its codes are HZ-XH07-B2-M001, shown as B2-M001, not XH07-B2-M001
    net, _grid, problem, model = case
    sol = PrizeVRPSolution.from_routes(model, [[0, problem.node_of("S01-B2-M001", 0), 0], [0, 0]])
    sp = slice_plan(problem, model, sol, network=net)

    def renamed(stop):
        return dataclasses.replace(stop, micro_id=stop.micro_id.replace("S01-", "HZ-XH07-", 1))

    routes = tuple(
        dataclasses.replace(r, stops=tuple(renamed(p) for p in r.stops)) for r in sp.routes
    )
    plan = PatrolPlan(
        station_id="HZ-XH07",
        station_name="西溪第七警务室",
        timezone="Asia/Shanghai",
        date=problem.date,
        seed=0,
        time_limit_s=1.0,
        slices=(dataclasses.replace(sp, routes=routes),),
    )
    text = plan.to_text()
    assert ": B2-M001" in text, text
    assert "XH07-B2-M001" not in text.split("\n", 1)[1], text


def test_a_tampered_plan_is_not_feasible(case):
    net, _grid, problem, model = case
    m1 = problem.node_of("S01-B1-M001", 0)
    good = PrizeVRPSolution.from_routes(model, [[0, m1, 0], [0, 0]])
    r = good.routes[0]
    early = type(r)(r.vehicle, (r.visits[0], type(r.visits[1])(m1, 10), r.visits[2]))
    bad = PrizeVRPSolution.from_routes(model, [early, good.routes[1]])
    sp = slice_plan(problem, model, bad, network=net)
    assert not sp.is_feasible()
    assert any("cannot be there before" in v for v in sp.violations())
    assert np.isfinite(sp.cost())


def test_the_longest_gap_counts_the_slice_start_and_end_and_overlapping_visits():
    from gridplan.routing.plan import _longest_gap_s

    hour = 3600
    assert _longest_gap_s([], 4 * hour) == 4 * hour  # never visited: the whole slice
    assert _longest_gap_s([(3 * hour, 900)], 4 * hour) == 3 * hour  # waited from the start
    assert _longest_gap_s([(600, 900), (2000, 900)], 4 * hour) == 4 * hour - 2900
    # two patrollers at once: presence lasts until the later one leaves
    assert _longest_gap_s([(0, 3000), (100, 200), (5000, 900)], 2 * hour) == 2000


def test_why_this_stop_in_words(case, tmp_path):
    from babel.support import Translations

    from gridplan.io.planfile import load_plan
    from gridplan.io.planfile import save_plan
    from gridplan.routing.plan import why_parts

    net, grid, problem, _model = case
    hot = make_hotspots(grid)
    hot["recent"] = ""
    hot.loc[hot["id"] == "S01-B1-M001", "recent"] = "90d to 2024-06-01: 抢劫 5; 盗窃 2"
    cfg = make_config([patroller("P1", {"daily": ["06:00-10:00"]})], top_share=0.2)
    with_recent = build_problem(grid, hot, net, cfg, date="2024-06-05", slice_id="morning")
    vrp = with_recent.to_prize_vrp()
    m001, m002 = (with_recent.node_of(f"S01-B1-M00{k}", 0) for k in (1, 2))
    sp = slice_plan(
        with_recent, vrp, PrizeVRPSolution.from_routes(vrp, [[m001, m002]]), network=net
    )
    first, second = sp.routes[0].stops
    # M001 has a score of 9 of the slice's 45; M002 8 of 45, and no recent incidents
    assert first.risk_share == pytest.approx(0.2) and first.recent.startswith("90d")
    assert "; ".join(map(str, why_parts(first))) == (
        "20 % of this slice's risk; 5 抢劫, 2 盗窃 in the 90 days to 2024-06-01"
    )
    assert [str(m) for m in why_parts(second)] == ["18 % of this slice's risk"]
    from importlib import resources

    catalogues = str(resources.files("gridplan.web").joinpath("translations"))
    zh = Translations.load(catalogues, locales=["zh"], domain="messages")
    assert [m.render(zh.gettext) for m in why_parts(first)] == [
        "占本时段风险的20 %",
        "截至2024-06-01的90天内：抢劫 5起、盗窃 2起",
    ]
    # the plan file keeps both; hot spots without the column (older files) say the share only
    path = save_plan(
        PatrolPlan("S01", "警务室", "Asia/Shanghai", problem.date, 1, 1.0, (sp,)),
        tmp_path / "p.json",
    )
    again = load_plan(path).slices[0].routes[0].stops[0]
    assert (again.risk_share, again.recent) == (first.risk_share, first.recent)
    model_old = problem.to_prize_vrp()
    old = slice_plan(
        problem,
        model_old,
        PrizeVRPSolution.from_routes(model_old, [[problem.node_of("S01-B1-M001", 0)], []]),
        network=net,
    )
    assert [str(m) for m in why_parts(old.routes[0].stops[0])] == ["20 % of this slice's risk"]


def test_day_metrics_weigh_slices_by_risk_and_length(case):
    net, _grid, problem, model = case
    m001 = problem.node_of("S01-B1-M001", 0)
    sol = PrizeVRPSolution.from_routes(model, [[m001], []])
    morning = slice_plan(problem, model, sol, network=net)
    hour = dt.timedelta(hours=4)
    # a second slice, 4 h later, with a third of the risk, less covered and no incidents
    later = dataclasses.replace(
        morning,
        slice_id="day",
        start=morning.start + hour,
        end=morning.end + hour,
        metrics=dataclasses.replace(
            morning.metrics, risk_covered=0.1, risk_total=15.0, response_coverage=None,
            waiting_min=7.0, prize=5_000,
        ),
        cells=(),
        objective=3.0,
        solution=None,
    )  # fmt: skip
    plan = PatrolPlan("S01", "警务室", "Asia/Shanghai", problem.date, 1, 1.0, (morning, later))
    d = plan.day_metrics()
    m = morning.metrics
    assert m.risk_total == 45.0 and m.risk_covered == pytest.approx(9 / 45)
    assert d.risk_covered == pytest.approx((9 + 0.1 * 15) / (45 + 15))
    assert d.prize_share == pytest.approx((m.prize_share * 45 + 0.05 * 15) / 60)
    assert d.response_coverage == pytest.approx(m.response_coverage)  # the other has none
    assert d.waiting_min == pytest.approx(m.waiting_min + 7.0)
    assert d.objective == pytest.approx(morning.cost() + 3.0)
    # M001 is top in both; its 15 min (morning) and its two visits' share of the day's
    # presence (the later slice's routes are the morning's: 30 of 30 min)
    top = d.top_presence["S01-B1-M001"]
    assert top.slices == ("morning", "day") and top.minutes == 30.0
    assert top.share_of_presence == 1.0
    # its score is 9 in the morning; the later slice keeps no cells: its share there counts
    assert top.share_of_risk == pytest.approx((9 + 9 / 45 * 15) / 60)
    summary = plan.summary()
    assert summary["day"]["risk_covered"] == pytest.approx(d.risk_covered)
    assert "half" in summary["what_is_optimised"] and "quarter" in summary["what_is_optimised"]
    text = plan.to_text()
    assert text.splitlines()[1].startswith("Day: risk covered 18% (prize")
    assert "incidents within 8 min of a patroller" in text and "waiting" in text
