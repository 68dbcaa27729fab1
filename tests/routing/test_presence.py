"""Time-resolved response coverage and waiting, hand-computed on the lattice station.

The lattice (tests/_lattice.py): nine micro-grids at the junctions of a 3 x 3 street lattice
of 200 m blocks, walked at 4.5 km/h (160 s a block), the station at the centre junction.
Incidents per micro-grid ("count") are 9, 8, ..., 1 in grid order, 45 in all; the corner
S01-B3-M003 (400, 400) holds 1. Eight minutes (480 s) on foot is 600 m: from the station
every junction is within reach (corners 320 s); from the corner S01-B1-M001 (0, 0) all but
the opposite corner (800 m): 44 of 45 incidents.
"""

import datetime as dt

import numpy as np
import pytest
from _lattice import lattice_network
from _lattice import make_config
from _lattice import make_grid
from _lattice import make_hotspots
from _lattice import patroller

from gridplan.routing.plan import slice_plan
from gridplan.routing.presence import covered_minutes
from gridplan.routing.problem import build_problem
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import Route
from gridplan.routing.solver import Visit

ALL, FAR = 1.0, 44 / 45  # the share covered from the station, and from corner (0, 0)


def _problem(*availability: str):
    net = lattice_network()
    grid = make_grid()
    cfg = make_config([patroller("P1", {"daily": list(availability)})], top_share=0.2)
    problem = build_problem(
        grid, make_hotspots(grid), net, cfg, date="2024-06-05", slice_id="morning"
    )
    return net, problem, problem.to_prize_vrp()


def test_nobody_on_duty_for_an_hour_counts_zero():
    # P1 is on duty 07:00-10:00 in the 06:00-10:00 slice; it walks to (0, 0), stays 15 min
    # and walks back, then waits at the station until 10:00
    net, problem, model = _problem("07:00-10:00")
    m001 = problem.node_of("S01-B1-M001", 0)
    sp = slice_plan(problem, model, PrizeVRPSolution.from_routes(model, [[m001]]), network=net)
    (route,) = sp.routes
    tz = problem.start.tzinfo
    assert route.start == dt.datetime(2024, 6, 5, 7, 0, tzinfo=tz)
    assert (route.end - route.start).total_seconds() == 320 + 900 + 320
    # minutes 0-59: nobody on duty (0). Leaving at 3600 s: samples 30, 90, 150 s after
    # leaving reach every cell back through the station (320 + 150 <= 480); at 210 and 270
    # s, the station reaches only its own and the edge cells in time and (0, 0), 110 and 50
    # s ahead, all but the far corner (44/45). 15 minutes at (0, 0) (44/45). Walking back,
    # 10, 70, 130 s after leaving: 44/45; 190, 250, 310 s: the station is near enough for
    # the corners (45/45). Then 154 minutes at the station (45/45).
    expected = (60 * 0 + 3 * ALL + 2 * FAR + 15 * FAR + 3 * FAR + 3 * ALL + 154 * ALL) / 240
    assert sp.metrics.response_coverage == pytest.approx(expected)
    assert sp.metrics.response_coverage < 0.75
    assert sp.metrics.waiting_min == 0.0


def test_a_route_that_waits():
    # P1 on duty all slice; the solver's times say: leave at 0, arrive at (0, 0) only at
    # 920 s (320 s of walking, then 600 s waiting there), stay 900 s, back at 2140 s
    net, problem, model = _problem("06:00-10:00")
    m001 = problem.node_of("S01-B1-M001", 0)
    route = Route(0, (Visit(0, 0), Visit(m001, 920), Visit(0, 2140)))
    sol = PrizeVRPSolution.from_routes(model, [route])
    sp = slice_plan(problem, model, sol, network=net)
    assert sp.metrics.waiting_min == pytest.approx(10.0)
    assert sp.metrics.workload["P1"].waiting_min == pytest.approx(10.0)
    # out: 30, 90, 150 s: 45/45; 210, 270 s: 44/45; waiting at (0, 0) 330..870 s: 10 x 44/45;
    # 15 min at (0, 0); back 3 x 44/45 + 3 x 45/45; then 204 minutes at the station
    expected = (3 * ALL + 2 * FAR + 10 * FAR + 15 * FAR + 3 * FAR + 3 * ALL + 204 * ALL) / 240
    assert sp.metrics.response_coverage == pytest.approx(expected)


def test_covered_minutes_shape_and_the_far_corner():
    net, problem, model = _problem("07:00-10:00")
    m001 = problem.node_of("S01-B1-M001", 0)
    sp = slice_plan(problem, model, PrizeVRPSolution.from_routes(model, [[m001]]), network=net)
    ids = [c.micro_id for c in sp.cells]

    xy = {f"S01-B{i + 1}-M{j + 1:03d}": (i, j) for i in range(3) for j in range(3)}
    xy["station"] = (1, 1)

    class Times:  # the lattice's Manhattan walk: 160 s a block
        def leg(self, route, a, b):
            return self.blocks(a.id, b.id) * 160.0

        def blocks(self, a, b):
            (xa, ya), (xb, yb) = xy[a], xy[b]
            return abs(xa - xb) + abs(ya - yb)

        def reach(self, route, a):
            return np.array([self.blocks(a.id, c) * 160.0 for c in ids])

    cov = covered_minutes(
        sp.routes, Times(), slice_start=sp.start, slice_end=sp.end, n_cells=len(ids)
    )
    assert cov.shape == (240, 9)
    assert not cov[:60].any()  # nobody on duty before 07:00
    far = ids.index("S01-B3-M003")
    at_stop = slice(65, 80)  # at (0, 0) 07:05:20-07:20:20: samples 07:05:30 ... 07:19:30
    assert not cov[at_stop, far].any()
    assert cov[at_stop].sum(axis=1).tolist() == [8] * 15
    assert cov[90:].all()


# --------------------------------------------------------------------------------------------
# The small station C07 (tests/_small_station.py): 1.1 x 1.2 km, walkers cover 600 m in 8 min


@pytest.fixture(scope="module")
def c07(tmp_path_factory):
    from _small_station import small_station

    return small_station(tmp_path_factory.mktemp("c07"))


def _oracle(sp, problem) -> tuple[float, float]:
    """Response coverage and waiting minutes, minute by minute in plain loops (a test oracle)."""
    from gridplan.network.matrix import UNREACHABLE

    cells = [c for c in sp.cells]
    weights = [c.incidents for c in cells]
    index = {p: i for i, p in enumerate(problem.places)}
    mats = {(m.profile, m.speed_kph): m.seconds for m in problem.matrices}

    def secs(route, a, b):
        s = mats[(route.duty.profile, route.duty.speed_kph)][index[a], index[b]]
        return np.inf if s == UNREACHABLE else float(s)

    def rel(t):
        return (t - sp.start).total_seconds()

    covered_sum, waiting = 0.0, 0.0
    for r in sp.routes:
        places = [r.start_place] + [p.micro_id for p in r.stops] + [r.end_place]
        times = [rel(r.start)] + [x for p in r.stops for x in (rel(p.arrival), rel(p.departure))]
        times.append(rel(r.end))
        for k in range(len(places) - 1):  # leg k: leaves at times[2k], arrives times[2k+1]
            gap = times[2 * k + 1] - times[2 * k]
            waiting += gap - min(gap, secs(r, places[k], places[k + 1])) if r.stops else 0.0
    minutes = int((sp.end - sp.start).total_seconds() // 60)
    for m in range(minutes):
        t = 60 * m + 30
        near = set()
        for r in sp.routes:
            if not rel(r.duty.window_start) <= t < rel(r.duty.window_end):
                continue
            places = [r.start_place] + [p.micro_id for p in r.stops] + [r.end_place]
            marks = [rel(r.start)]
            for p in r.stops:
                marks += [rel(p.arrival), rel(p.departure)]
            marks.append(rel(r.end))
            reach = []  # (place, seconds already used)
            if t < marks[0] or not r.stops:
                reach = [(places[0] if t < marks[0] else places[-1], 0.0)]
            elif t >= marks[-1]:
                reach = [(places[-1], 0.0)]
            else:
                for k in range(len(places) - 1):
                    dep, arr = marks[2 * k], marks[2 * k + 1]
                    if dep <= t < arr:
                        T = min(secs(r, places[k], places[k + 1]), arr - dep)
                        e = t - dep
                        reach = [(places[k + 1], max(T - e, 0.0))]
                        if e < T:
                            reach.append((places[k], e))
                    if k + 1 < len(places) - 1 and arr <= t < marks[2 * k + 2]:
                        reach = [(places[k + 1], 0.0)]
            for place, used in reach:
                for i, c in enumerate(cells):
                    if secs(r, place, c.micro_id) + used <= 480:
                        near.add(i)
        covered_sum += sum(weights[i] for i in near) / sum(weights)
    return covered_sum / minutes, waiting / 60


def test_small_station_morning_with_nobody_out_for_an_hour(c07):
    import dataclasses

    from gridplan.routing.check import check_plan
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    # only A01, on foot, and only from 07:00: the slice's first hour has nobody on duty
    a01 = next(p for p in c07.config.roster if p.id == "A01")
    a01 = dataclasses.replace(a01, availability={d: ((7 * 60, 14 * 60),) for d in range(7)})
    cfg = dataclasses.replace(c07.config, roster=(a01,))
    plan = plan_patrols(
        c07.grid,
        c07.hotspots,
        c07.network,
        cfg,
        PlanRequest("2025-06-14", slices=["morning"], seed=1),
        params=SolveParams(time_limit_s=20, workers=1, work_limit=30),
    )
    sp = plan.slice("morning")
    m = sp.metrics
    assert sp.routes and sp.routes[0].stops
    # nobody the first hour (0), and a walker reaches 600 m of a 1.1 x 1.2 km station
    assert m.response_coverage <= 0.75
    coverage, waiting = _oracle(sp, sp.problem)
    assert m.response_coverage == pytest.approx(coverage)
    assert m.waiting_min == pytest.approx(waiting, abs=1e-3)
    assert m.workload["A01"].waiting_min == pytest.approx(waiting, abs=1e-3)
    # the checker re-times the same minutes on its own Dijkstra and agrees
    report = check_plan(plan, c07.network)
    assert not [f for f in report.errors if f.code == "metrics"], report.to_text()
    top = m.top_presence
    assert top and sum(t.share_of_presence for t in top.values()) <= 1 + 1e-9
    # its first two stops only, made to wait 10 minutes before the second
    (r,) = sp.solution.routes
    nodes = [v.node for v in r.visits[:3]] + [r.visits[-1].node]
    times = sp.model.schedule(0, nodes)
    late = Route(
        0,
        tuple(
            Visit(u, t + 600 * (i >= 2)) for i, (u, t) in enumerate(zip(nodes, times, strict=True))
        ),
    )
    assert late.visits[-1].time <= sp.problem.horizon_s
    solution = PrizeVRPSolution.from_routes(sp.model, [late])
    waits = slice_plan(sp.problem, sp.model, solution, network=c07.network)
    assert waits.metrics.waiting_min == pytest.approx(10.0, abs=1e-3)
    coverage, waiting = _oracle(waits, sp.problem)
    assert (waits.metrics.response_coverage, waiting) == (
        pytest.approx(coverage),
        pytest.approx(10.0),
    )
