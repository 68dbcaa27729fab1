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
