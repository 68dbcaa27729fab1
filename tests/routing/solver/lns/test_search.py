"""The large-neighbourhood searches: feasible, better than their start, reproducible."""

import dataclasses

import numpy as np
from _vrp import random_model
from _vrp import two_walkers_on_a_line

from gridplan.routing.solver import LnsParams
from gridplan.routing.solver import OrtoolsParams
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import Route
from gridplan.routing.solver import SolveParams
from gridplan.routing.solver import Visit
from gridplan.routing.solver import _ortools
from gridplan.routing.solver import solve_prize_vrp
from gridplan.routing.solver.lns.budgets import python_lns_applies
from gridplan.routing.solver.lns.search import budget_search
from gridplan.routing.solver.lns.search import large_neighbourhood_search

FAST = {"time_limit_s": 5.0, "workers": 1}
#: The budget search without diversification, route pool or tail exchange.
PLAIN = LnsParams(seed_empty=0.0, noise=0.2, pool=0, cross=False)
POOLED = dataclasses.replace(PLAIN, pool=30)


def test_large_neighbourhood_search_keeps_or_improves_the_routes():
    m = random_model(11, n=25, m=2)
    descent = OrtoolsParams(iterated_local_search=False, metaheuristic="GREEDY_DESCENT")
    built = _ortools.build(m, descent)
    # A poor start: one stop per vehicle.
    start = [[v.start, u, v.end] for v, u in zip(m.vehicles, m.customers, strict=False)]
    rng = np.random.default_rng(3)
    routes, times = large_neighbourhood_search(
        built, descent, LnsParams(), start, rng=rng, time_limit_s=5.0, iteration_limit=20
    )
    sol = PrizeVRPSolution.from_routes(
        m,
        [
            Route(k, tuple(Visit(u, t) for u, t in zip(r, ts, strict=True)))
            for k, (r, ts) in enumerate(zip(routes, times, strict=True))
        ],
    )
    assert sol.violations(m) == []
    assert sol.collected_prize > sum(int(m.prize[r[1]]) for r in start)
    # The phase runs in every worker (lns.share > 0) and a work-limited solve stays
    # reproducible.
    assert SolveParams().lns.share > 0
    a = solve_prize_vrp(m, seed=2, work_limit=100, **FAST)
    b = solve_prize_vrp(m, seed=2, work_limit=100, **FAST)
    assert [r.nodes for r in a.routes] == [r.nodes for r in b.routes]


def test_budget_search_seeding_empty_routes_is_reproducible():
    m = two_walkers_on_a_line()
    params = dataclasses.replace(PLAIN, seed_empty=1.0, noise=0.9)
    limits = {"iteration_limit": 40, "time_limit_s": 30.0}
    a = budget_search(m, [[0, 0], [0, 0]], params, rng=np.random.default_rng(1), **limits)
    b = budget_search(m, [[0, 0], [0, 0]], params, rng=np.random.default_rng(1), **limits)
    assert a == b and sorted(u for r in a for u in r[1:-1]) == [1, 2, 4]


def test_budget_search_improves_a_poor_start_and_is_reproducible():
    m = random_model(12, n=30, m=2)
    start = [[v.start, u, v.end] for v, u in zip(m.vehicles, m.customers, strict=False)]

    def run():
        rng = np.random.default_rng(5)
        return budget_search(m, start, PLAIN, rng=rng, time_limit_s=30.0, iteration_limit=60)

    routes = run()
    sol = PrizeVRPSolution.from_routes(
        m,
        [
            Route(k, tuple(Visit(u, t) for u, t in zip(r, m.schedule(k, r), strict=True)))
            for k, r in enumerate(routes)
        ],
    )
    assert sol.violations(m) == []
    assert sol.collected_prize > sum(int(m.prize[r[1]]) for r in start)
    assert routes == run()
    # Models it cannot judge alone keep OR-Tools' LNS.
    assert python_lns_applies(m)
    assert not python_lns_applies(dataclasses.replace(m, balance_weight=0.1))


def test_budget_search_with_route_pool_is_feasible_and_reproducible():
    m = random_model(21, n=40, m=3)
    start = [[v.start, v.end] for v in m.vehicles]

    def run():
        rng = np.random.default_rng(3)
        return budget_search(m, start, POOLED, rng=rng, time_limit_s=60.0, iteration_limit=90)

    routes = run()
    assert routes == run()
    sol = PrizeVRPSolution.from_routes(
        m,
        [
            Route(k, tuple(Visit(u, t) for u, t in zip(r, m.schedule(k, r), strict=True)))
            for k, r in enumerate(routes)
        ],
    )
    assert sol.violations(m) == []


def test_budget_search_with_cross_is_feasible_and_reproducible():
    m = random_model(23, n=40, m=3)
    start = [[v.start, v.end] for v in m.vehicles]

    def run(cross):
        rng = np.random.default_rng(4)
        return budget_search(
            m,
            start,
            dataclasses.replace(PLAIN, cross=cross),
            rng=rng,
            time_limit_s=60.0,
            iteration_limit=60,
        )

    routes = run(True)
    assert routes == run(True)
    sol = PrizeVRPSolution.from_routes(m, routes)
    assert sol.violations(m) == []
