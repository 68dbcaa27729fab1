"""Solver tests on tiny instances whose optimum is reasoned by hand and re-checked by brute force.

Each solve is capped by a work budget (``work_limit``) so the tests are reproducible and fast.
"""

import dataclasses
import itertools

import numpy as np
import pytest

from gridplan._errors import InputError
from gridplan.routing.solver import CoverGroup
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Route
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver import Visit
from gridplan.routing.solver import similarity
from gridplan.routing.solver import solve_prize_vrp
from gridplan.routing.solver import variants

FAST = {"time_limit_s": 5.0, "work_limit": 300, "workers": 1}


def solve(model, **kw):
    sol = solve_prize_vrp(model, **{**FAST, **kw})
    assert sol.violations(model) == []
    return sol


def brute_force_prize(model):
    """Best collected prize by enumeration (no windows or revisit groups)."""
    customers = model.customers
    best = 0
    for owner in itertools.product(range(-1, model.num_vehicles), repeat=len(customers)):
        ok = True
        for k, v in enumerate(model.vehicles):
            mine = [u for u, o in zip(customers, owner, strict=True) if o == k]
            if v.allowed_nodes is not None and not set(mine) <= v.allowed_nodes:
                ok = False
                break
            if not any(_fits(model, k, [v.start, *p, v.end]) for p in itertools.permutations(mine)):
                ok = False
                break
        if ok:
            got = sum(int(model.prize[u]) for u, o in zip(customers, owner, strict=True) if o >= 0)
            best = max(best, got)
    return best


def _fits(model, k, nodes):
    v = model.vehicles[k]
    times = model.schedule(k, nodes)
    duration = times[-1] - times[0]
    return times[-1] <= model.vehicle_latest_end(k) and (
        v.max_duration is None or duration <= v.max_duration
    )


def line(xs):
    x = np.asarray(xs)
    return np.abs(x[:, None] - x[None, :])


def test_team_orienteering_two_vehicles_optimum():
    # Depot at 0; customers at +3 (5), +5 (8), -2 (3), -4 (4), +6 (7); budget 10 per vehicle.
    # +6 needs 12 for the round trip, so it is dropped; one vehicle takes +3,+5 (13), the other
    # -2,-4 (7): 20 is optimal.
    m = PrizeVRP(
        travel=(line([0, 3, 5, -2, -4, 6]),),
        service=[0] * 6,
        prize=[0, 5, 8, 3, 4, 7],
        vehicles=(Vehicle("a", max_duration=10), Vehicle("b", max_duration=10)),
    )
    sol = solve(m)
    assert sol.collected_prize == 20 == brute_force_prize(m)
    assert sol.dropped == (5,)
    assert sorted(sorted(r.stops) for r in sol.routes) == [[1, 2], [3, 4]]


def test_service_time_counts_against_the_shift():
    # Three customers 10 s from the depot and from each other, 30 s dwell each, 100 s shift:
    # two fit (2*30 + 30 travel = 90), three do not (130). Keep the two best prizes.
    travel = np.full((4, 4), 10)
    np.fill_diagonal(travel, 0)
    m = PrizeVRP(
        travel=(travel,),
        service=[0, 30, 30, 30],
        prize=[0, 4, 9, 7],
        vehicles=(Vehicle("walker", max_duration=100),),
    )
    sol = solve(m)
    assert sol.collected_prize == 16 == brute_force_prize(m)
    assert [v.time for v in sol.routes[0].visits] == [0, 10, 50, 90]


def test_revisit_gap_holds_across_vehicles():
    # Copies 1 and 2 of one hot spot, 10 s from the depot; visits at least 100 s apart. Two
    # vehicles could both arrive at 10 s, so one must wait: both copies are collected and
    # their start times differ by >= 100 s although they are on different routes.
    travel = np.array([[0, 10, 10, 5], [10, 0, 0, 10], [10, 0, 0, 10], [5, 10, 10, 0]])
    vehicles = (Vehicle("a", latest_end=150), Vehicle("b", latest_end=150))
    m = PrizeVRP(
        travel=(travel,),
        service=[0, 20, 20, 0],
        prize=[0, 10, 10, 1],
        vehicles=vehicles,
        revisit_groups=(RevisitGroup((1, 2), 100),),
    )
    sol = solve(m)
    assert sol.collected_prize == 21
    times = {v.node: v.time for r in sol.routes for v in r.visits[1:-1]}
    assert times[2] - times[1] >= 100

    # With shifts ending at 100 s the second visit cannot fit: copy 2 is dropped, never
    # copy 1 (copy k + 1 only after copy k), even though copy 2 is worth more.
    short = PrizeVRP(
        travel=(travel,),
        service=[0, 20, 20, 0],
        prize=[0, 10, 15, 1],
        vehicles=(Vehicle("a", latest_end=100), Vehicle("b", latest_end=100)),
        revisit_groups=(RevisitGroup((1, 2), 100),),
    )
    sol = solve(short)
    assert sol.collected_prize == 11 and 2 in sol.dropped and 1 not in sol.dropped


def test_cover_group_forces_one_visit():
    # Node 1 (prize 5) is near; nodes 2, 3 (prize 0) form a base grid that must be visited once
    # (penalty 100). Budget 60: 0-1-0 = 20, 0-3-0 = 60, 0-2-0 = 70 (too far), 0-1-3-0 = 70.
    # Covering via node 3 (cost 5) beats collecting node 1 (cost 100). The representative
    # first picked is 3, the cheaper detour.
    travel = np.array([[0, 10, 35, 30], [10, 0, 30, 30], [35, 30, 0, 10], [30, 30, 10, 0]])
    m = PrizeVRP(
        travel=(travel,),
        service=[0] * 4,
        prize=[0, 5, 0, 0],
        vehicles=(Vehicle("a", max_duration=60),),
        cover_groups=(CoverGroup((2, 3), 100, "B1"),),
    )
    sol = solve(m)
    assert sol.routes[0].stops == (3,)
    assert sol.cover_violations == () and sol.cost() == 5


def test_cover_group_reached_only_through_a_later_candidate():
    # Node 2 is the cheaper detour (so the first representative) but lies outside the time
    # window it would be reached in; only node 3 can cover the group, so the representative
    # has to move from 2 to 3.
    travel = np.array([[0, 10, 25, 30], [10, 0, 30, 30], [25, 30, 0, 10], [30, 30, 10, 0]])
    m = PrizeVRP(
        travel=(travel,),
        service=[0] * 4,
        prize=[0, 5, 0, 0],
        time_windows=[[0, 60], [0, 60], [0, 5], [0, 60], [0, 60]][:4],
        vehicles=(Vehicle("a", max_duration=60),),
        cover_groups=(CoverGroup((2, 3), 100, "B1"),),
    )
    sol = solve(m)
    assert sol.routes[0].stops == (3,) and sol.cover_violations == ()


def test_nodes_no_vehicle_may_visit_are_dropped():
    travel = line([0, 1, 2])
    m = PrizeVRP(
        travel=(travel,),
        service=[0] * 3,
        prize=[0, 5, 9],
        vehicles=(Vehicle("a", max_duration=10, allowed_nodes={1}),),
    )
    sol = solve(m)
    assert sol.routes[0].stops == (1,) and sol.dropped == (2,)


def test_nodes_some_vehicles_may_not_visit():
    # East (+) stops are allowed only to "east", west (-) only to "west"; each vehicle can
    # reach one side within its budget of 10. (OR-Tools 9.15 rejected the Python list of
    # SetAllowedVehiclesForIndex, so this case once crashed.)
    m = PrizeVRP(
        travel=(line([0, 2, 4, -2, -4]),),
        service=[0] * 5,
        prize=[0, 3, 5, 4, 6],
        vehicles=(
            Vehicle("west", max_duration=10, allowed_nodes={3, 4}),
            Vehicle("east", max_duration=10, allowed_nodes={1, 2}),
        ),
    )
    sol = solve(m)
    assert sol.collected_prize == 18 == brute_force_prize(m)
    assert sorted(sol.routes[0].stops) == [3, 4] and sorted(sol.routes[1].stops) == [1, 2]


def test_shift_end_and_max_duration():
    # Far customer 4 (prize 50) needs 40 s each way. Vehicle "late" may start at 0 but must be
    # back by 60; vehicle "short" may last 50 s. Neither reaches it; both collect nearby ones.
    travel = line([0, 5, -5, 10, 40])
    m = PrizeVRP(
        travel=(travel,),
        service=[0, 5, 5, 5, 0],
        prize=[0, 3, 3, 4, 50],
        vehicles=(
            Vehicle("late", earliest_start=0, latest_end=60),
            Vehicle("short", earliest_start=100, max_duration=50),
        ),
    )
    sol = solve(m)
    assert 4 in sol.dropped
    assert sol.collected_prize == 10 == brute_force_prize(m)
    assert sol.routes[0].visits[-1].time <= 60
    assert sol.routes[1].visits[0].time >= 100 and sol.routes[1].duration <= 50


def test_profiles_and_distinct_start_end_nodes():
    # Walking takes 3x as long as riding. The walker starts at node 0 and ends at node 1, the
    # rider starts and ends at node 1. Budgets of 30 s: the walker can only do the customer on
    # its way (node 2, between 0 and 1); the rider (20 s) exactly reaches customers 3 and 4.
    x = [0, 10, 5, 18, 20]
    ride = line(x)
    walk = 3 * ride
    walk[0, 2] = walk[2, 0] = walk[2, 1] = walk[1, 2] = 15  # a footpath
    m = PrizeVRP(
        travel=(walk, ride),
        service=[0] * 5,
        prize=[0, 0, 2, 6, 7],
        vehicles=(
            Vehicle("walker", start=0, end=1, profile=0, max_duration=30),
            Vehicle("rider", start=1, end=1, profile=1, max_duration=20),
        ),
    )
    sol = solve(m)
    assert sol.collected_prize == 15 == brute_force_prize(m)
    walker, rider = sol.routes
    assert walker.nodes == (0, 2, 1)
    assert rider.nodes[0] == rider.nodes[-1] == 1 and sorted(rider.stops) == [3, 4]


def test_balance_weight_prefers_even_routes():
    # Four equal customers at +-1 and +-2 from the depot; two vehicles. Without balance one
    # vehicle may take all; with a balance weight the longest route is as short as possible.
    travel = line([0, 1, 2, -1, -2])
    m = PrizeVRP(
        travel=(travel,),
        service=[0, 1, 1, 1, 1],
        prize=[0, 5, 5, 5, 5],
        vehicles=(Vehicle("a", max_duration=100), Vehicle("b", max_duration=100)),
        balance_weight=0.01,
    )
    sol = solve(m)
    assert sol.collected_prize == 20
    assert sol.span == 6  # 0 -> 1 -> 2 -> 0 with two 1 s stops


def random_model(seed, n=25, m=3):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    travel = np.ceil(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    prize = rng.integers(1, 10, size=n)
    prize[0] = 0
    vehicles = tuple(Vehicle(f"v{k}", max_duration=150) for k in range(m))
    return PrizeVRP(travel=(travel.astype(int),), service=[0] * n, prize=prize, vehicles=vehicles)


def test_same_seed_same_answer_in_deterministic_mode():
    m = random_model(3)
    a = solve(m, seed=4, work_limit=150)
    b = solve(m, seed=4, work_limit=150)
    assert [r.nodes for r in a.routes] == [r.nodes for r in b.routes]
    assert a.iterations == b.iterations >= 150


def test_two_workers_are_deterministic_too():
    m = random_model(5, n=15, m=2)
    a = solve(m, seed=1, workers=2, work_limit=100)
    b = solve(m, seed=1, workers=2, work_limit=100)
    assert [r.nodes for r in a.routes] == [r.nodes for r in b.routes]
    assert a.iterations == b.iterations >= 200  # both workers ran their budget


def test_variants_are_distinct_and_within_tolerance():
    m = random_model(7)
    vs = variants(m, 3, tolerance=0.1, time_limit_s=6, seed=2, workers=1, work_limit=150)
    assert len(vs.solutions) == 3
    best = vs.solutions[0].score
    for i, sol in enumerate(vs.solutions):
        assert sol.is_feasible(m)
        assert sol.score >= (1 - 0.1) * best
        assert vs.similarity[i][i] == 1.0
        for j in range(i):
            assert vs.similarity[i][j] == vs.similarity[j][i] < 0.9
    assert "variant 3" in vs.summary()


def test_similarity_of_identical_and_disjoint():
    m = random_model(3, n=10, m=1)
    a = solve(m)
    assert similarity(a, a) == 1.0
    empty = solve_prize_vrp(
        PrizeVRP(
            travel=m.travel,
            service=m.service,
            prize=m.prize,
            vehicles=(Vehicle("v", max_duration=0),),
        ),
        **FAST,
    )
    assert similarity(a, empty) == 0.0


def test_bad_arguments():
    m = random_model(1, n=5, m=1)
    with pytest.raises(InputError, match="time_limit_s=0"):
        solve_prize_vrp(m, time_limit_s=0)
    with pytest.raises(InputError, match="workers=0"):
        solve_prize_vrp(m, workers=0)
    with pytest.raises(InputError, match="k=0"):
        variants(m, 0)


def test_worker_portfolio_runs_each_config_and_stays_deterministic():
    # Worker w runs configs[w % len(configs)]: two differently tuned searches, best kept.
    from gridplan.routing.solver.solve import DEFAULT_CONFIG

    other = dataclasses.replace(
        DEFAULT_CONFIG, ils_cooling="LINEAR", jitter=0.0, operators=("cross_exchange",)
    )
    m = random_model(5, n=15, m=2)
    kw = {"seed": 1, "workers": 2, "work_limit": 100, "_config": (DEFAULT_CONFIG, other)}
    a = solve(m, **kw)
    b = solve(m, **kw)
    assert [r.nodes for r in a.routes] == [r.nodes for r in b.routes]
    assert a.iterations == b.iterations >= 200  # both workers ran their budget
    single = solve(m, seed=1, workers=1, work_limit=100, _config=other)
    assert a.collected_prize >= single.collected_prize


def test_search_parameters_carry_the_ruin_and_recreate_settings():
    from gridplan.routing.solver import _ortools
    from gridplan.routing.solver.solve import DEFAULT_CONFIG

    config = dataclasses.replace(
        DEFAULT_CONFIG,
        ils_random_walk=6,
        ils_close_routes=1,
        ils_composition="RUN_ALL_RANDOMLY",
        ils_cooling="LINEAR",
        recreate="LOCAL_CHEAPEST_INSERTION",
        recreate_sorting=("RANDOM",),
    )
    params = _ortools.search_parameters(config, time_limit_s=1.0, scale=100)
    ils = params.iterated_local_search_parameters
    rr = ils.ruin_recreate_parameters
    kinds = [r.WhichOneof("strategy") for r in rr.ruin_strategies]
    assert kinds == ["sisr", "random_walk", "spatially_close_routes"]
    assert rr.ruin_strategies[1].random_walk.num_removed_visits == 6
    assert rr.ruin_composition_strategy == 2  # RUN_ALL_RANDOMLY
    sa = ils.reference_solution_acceptance_strategy.simulated_annealing
    assert sa.cooling_schedule_strategy == 2  # LINEAR
    assert (sa.initial_temperature, sa.final_temperature) == (
        DEFAULT_CONFIG.ils_temperature[0] * 100,
        DEFAULT_CONFIG.ils_temperature[1] * 100,
    )
    sorting = rr.recreate_strategy.parameters.local_cheapest_insertion
    assert list(sorting.insertion_sorting_properties) == [8]  # SORTING_PROPERTY_RANDOM


def test_ruin_removes_later_revisit_copies_with_an_earlier_one():
    from gridplan.routing.solver import _ortools

    # Copies 1, 2, 3 of one hot spot; whichever copy a ruin removes, the later ones go too
    # (copy k + 1 may only be visited with copy k).
    m = PrizeVRP(
        travel=(line([0, 1, 1, 1, 2, 3]),),
        service=[0] * 6,
        prize=[0, 8, 4, 2, 5, 5],
        vehicles=(Vehicle("a", max_duration=100), Vehicle("b", max_duration=100)),
        revisit_groups=(RevisitGroup((1, 2, 3), 0),),
    )
    routes = [[0, 1, 4, 2, 0], [0, 5, 3, 0]]
    rng = np.random.default_rng(0)
    for _ in range(50):
        removed = _ortools._ruin(m, routes, rng)
        assert removed <= {1, 2, 3, 4, 5} and removed
        for copy, later in ((1, {2, 3}), (2, {3})):
            if copy in removed:
                assert later <= removed
    # The Python re-insertion knows duration budgets only: with revisit gaps it leaves the
    # routes to OR-Tools' descent, and the solver gives such models no LNS time by default.
    ruined = [[0, 4, 0], [0, 0]]
    assert _ortools._recreate(m, ruined, rng, deadline=float("inf")) == ruined
    budget = dataclasses.replace(m, revisit_groups=())
    assert _ortools._recreate(budget, ruined, rng, deadline=float("inf")) != ruined


def test_large_neighbourhood_search_keeps_or_improves_the_routes():
    from gridplan.routing.solver import _ortools
    from gridplan.routing.solver.solve import DEFAULT_CONFIG

    m = random_model(11, n=25, m=2)
    descent = dataclasses.replace(
        DEFAULT_CONFIG, iterated_local_search=False, metaheuristic="GREEDY_DESCENT"
    )
    built = _ortools.build(m, config=descent)
    # A poor start: one stop per vehicle.
    start = [[v.start, u, v.end] for v, u in zip(m.vehicles, m.customers, strict=False)]
    rng = np.random.default_rng(3)
    routes, times = _ortools.large_neighbourhood_search(
        built, descent, start, rng=rng, time_limit_s=5.0, iteration_limit=20
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
    # The phase runs in every worker (DEFAULT_CONFIG.lns_share > 0) and a work-limited solve
    # stays reproducible.
    assert DEFAULT_CONFIG.lns_share > 0
    a = solve(m, seed=2, work_limit=100)
    b = solve(m, seed=2, work_limit=100)
    assert [r.nodes for r in a.routes] == [r.nodes for r in b.routes]


def test_two_opt_reaches_a_local_optimum_on_asymmetric_travel():
    from gridplan.routing.solver import _ortools

    rng = np.random.default_rng(8)
    d = rng.uniform(1, 100, size=(9, 9))
    start = np.array([0, 3, 7, 1, 5, 2, 6, 4, 8])
    r = _ortools._two_opt(d, start)

    def length(p):
        return d[p[:-1], p[1:]].sum()

    assert r[0] == 0 and r[-1] == 8 and sorted(r) == list(range(9))
    assert length(r) <= length(start)
    # No single segment reversal shortens it further (lengths recomputed from scratch).
    for i in range(1, 8):
        for j in range(i + 1, 8):
            flipped = np.concatenate((r[:i], r[i : j + 1][::-1], r[j + 1 :]))
            assert length(flipped) >= length(r) - 1e-9


def test_swap_in_trades_a_stop_for_a_better_one_that_fits():
    from gridplan.routing.solver import _ortools

    # A line: depot 0 at x=0, stops 1 (x=4, prize 1) and 2 (x=5, prize 9) and 3 (x=20, prize 50).
    x = np.array([0, 4, 5, 20])
    travel = np.abs(x[:, None] - x[None, :])
    m = PrizeVRP(
        travel=(travel,),
        service=[0, 0, 0, 0],
        prize=[0, 1, 9, 50],
        vehicles=(Vehicle("v", max_duration=10),),
    )
    bud = _ortools._Budgets.of(m)
    assert not bud.allowed[0][3]  # 40 s there and back: never a candidate
    routes = [np.array([0, 1, 0])]
    used = [8.0]
    assert _ortools._swap_in(bud, routes, used, np.array([2, 3]))
    assert routes[0].tolist() == [0, 2, 0] and used == [10.0]
    assert not _ortools._swap_in(bud, routes, used, np.array([1, 3]))


def test_seed_empty_starts_empty_routes_at_an_unvisited_reachable_stop():
    from gridplan.routing.solver import _ortools

    x = np.array([0, 4, 5, 20, 3])
    travel = np.abs(x[:, None] - x[None, :])
    m = PrizeVRP(
        travel=(travel,),
        service=[0] * 5,
        prize=[0, 1, 9, 50, 2],
        vehicles=(Vehicle("v", max_duration=10), Vehicle("w", max_duration=10)),
    )
    bud = _ortools._Budgets.of(m)
    rng = np.random.default_rng(0)
    routes = [np.array([0, 1, 0]), np.array([0, 0])]
    seen = set()
    for _ in range(30):
        out = _ortools._seed_empty(bud, routes, rng, 1.0)
        assert out[0] is routes[0] and len(out[1]) == 3
        seen.add(int(out[1][1]))
    assert seen == {2, 4}  # never the visited stop 1 nor stop 3, 40 s there and back
    assert _ortools._seed_empty(bud, routes, rng, 0.0)[1].tolist() == [0, 0]
    budget = dict(iteration_limit=40, time_limit_s=30.0, seed_empty=1.0, noise=0.9)
    a = _ortools.budget_search(m, [[0, 0], [0, 0]], rng=np.random.default_rng(1), **budget)
    b = _ortools.budget_search(m, [[0, 0], [0, 0]], rng=np.random.default_rng(1), **budget)
    assert a == b and sorted(u for r in a for u in r[1:-1]) == [1, 2, 4]


def test_budget_search_improves_a_poor_start_and_is_reproducible():
    from gridplan.routing.solver import _ortools

    m = random_model(12, n=30, m=2)
    start = [[v.start, u, v.end] for v, u in zip(m.vehicles, m.customers, strict=False)]

    def run():
        rng = np.random.default_rng(5)
        return _ortools.budget_search(m, start, rng=rng, time_limit_s=30.0, iteration_limit=60)

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
    assert _ortools._python_lns_applies(m)
    assert not _ortools._python_lns_applies(dataclasses.replace(m, balance_weight=0.1))


def test_default_workers_counts_the_cores_this_process_may_use():
    import os

    from gridplan.routing.solver import default_workers

    assert default_workers() == len(os.sched_getaffinity(0))


def test_route_pool_keeps_the_shortest_order_and_packs_routes_of_two_solutions():
    from gridplan.routing.solver import _ortools

    # Stops on a line at x = 1..6, depot at 0; each route may travel 20.
    x = np.arange(7)
    m = PrizeVRP(
        travel=(np.abs(x[:, None] - x[None, :]),),
        service=[0] * 7,
        prize=[0, 5, 5, 1, 4, 4, 1],
        vehicles=(Vehicle("v", max_duration=20), Vehicle("w", max_duration=20)),
    )
    bud = _ortools._Budgets.of(m)
    pool = _ortools._RoutePool(bud, m)
    assert pool.members == [[0, 1]]  # same budget and stops: one class
    route = np.array  # routes are arrays of node numbers, depot to depot
    pool.add([route([0, 2, 1, 3, 0]), route([0, 0])])
    pool.add([route([0, 1, 2, 3, 0]), route([0, 4, 6, 0])])  # same stops as above, shorter
    assert pool.size == 2
    kept = pool.routes[0][frozenset({1, 2, 3})]
    assert kept[0] == 6 and kept[1].tolist() == [0, 1, 2, 3, 0]
    # Solution B (value 15) shares stop 1 with A's first route (values 11 + 5).
    b = [route([0, 1, 3, 6, 0]), route([0, 4, 5, 0])]
    packed = pool.pack(b, 5.0, deterministic=True)
    assert sorted(r.tolist() for r in packed) == [[0, 1, 2, 3, 0], [0, 4, 5, 0]]
    assert bud.value(packed) == 19 > bud.value(b)
    assert pool.size == 4  # the hint went into the pool


def test_budget_search_with_route_pool_is_feasible_and_reproducible():
    from gridplan.routing.solver import _ortools

    m = random_model(21, n=40, m=3)
    start = [[v.start, v.end] for v in m.vehicles]

    def run():
        rng = np.random.default_rng(3)
        return _ortools.budget_search(
            m, start, rng=rng, time_limit_s=60.0, iteration_limit=90, pool_every=30
        )

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


def _plane_model(points, budgets, allowed=None):
    """Depot 0 and end 1 on a plane, travel = rounded euclidean distance x 10."""
    xy = np.asarray(points, dtype=float)
    travel = np.rint(10 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    allowed = allowed or [None] * len(budgets)
    return PrizeVRP(
        travel=(travel.astype(np.int64),),
        service=[0] * len(xy),
        prize=[0, 0] + [1] * (len(xy) - 2),
        vehicles=tuple(
            Vehicle(f"v{k}", start=0, end=1, max_duration=b, allowed_nodes=a)
            for k, (b, a) in enumerate(zip(budgets, allowed, strict=True))
        ),
    )


def test_cross_swaps_the_tails_of_two_crossing_routes():
    from gridplan.routing.solver import _ortools

    # Start (0, 0), end (10, 0); stops 2 (2, 1), 3 (8, -1), 4 (2, -1), 5 (8, 1). Routes
    # 0-2-3-1 and 0-4-5-1 cross in the middle; swapping their tails uncrosses them.
    pts = [(0, 0), (10, 0), (2, 1), (8, -1), (2, -1), (8, 1)]
    m = _plane_model(pts, [200, 200])
    bud = _ortools._Budgets.of(m)
    routes = [np.array([0, 2, 3, 1]), np.array([0, 4, 5, 1])]
    used = [bud.duration(k, r) for k, r in enumerate(routes)]
    before = sum(used)
    assert _ortools._cross(bud, routes, used) == {0, 1}
    assert [r.tolist() for r in routes] == [[0, 2, 5, 1], [0, 4, 3, 1]]
    assert used == [bud.duration(k, r) for k, r in enumerate(routes)]
    assert sum(used) == before - 2 * (round(10 * np.hypot(6, 2)) - 60)
    # Already uncrossed: nothing to do.
    assert _ortools._cross(bud, routes, used) == set()


def test_cross_keeps_budgets_and_allowed_stops():
    from gridplan.routing.solver import _ortools

    # As above with stop 6 (9, -2) after stop 3: the swap saves time in total but makes
    # vehicle 1's route 0-4-3-6-1 longer (118 against 107).
    pts = [(0, 0), (10, 0), (2, 1), (8, -1), (2, -1), (8, 1), (9, -2)]
    routes0 = [[0, 2, 3, 6, 1], [0, 4, 5, 1]]

    def cross(budgets, allowed=None):
        bud = _ortools._Budgets.of(_plane_model(pts, budgets, allowed))
        routes = [np.array(r) for r in routes0]
        used = [bud.duration(k, r) for k, r in enumerate(routes)]
        assert used == [121, 107]
        changed = _ortools._cross(bud, routes, used)
        assert used == [bud.duration(k, r) for k, r in enumerate(routes)]
        return changed, [r.tolist() for r in routes]

    assert cross([200, 200]) == ({0, 1}, [[0, 2, 5, 1], [0, 4, 3, 6, 1]])
    # Vehicle 1 may not visit stop 6, or has 110 s only: no move.
    assert cross([200, 200], [None, (2, 3, 4, 5)]) == (set(), routes0)
    assert cross([200, 110]) == (set(), routes0)


def test_budget_search_with_cross_is_feasible_and_reproducible():
    from gridplan.routing.solver import _ortools

    m = random_model(23, n=40, m=3)
    start = [[v.start, v.end] for v in m.vehicles]

    def run(cross):
        rng = np.random.default_rng(4)
        return _ortools.budget_search(
            m, start, rng=rng, time_limit_s=60.0, iteration_limit=60, cross=cross
        )

    routes = run(True)
    assert routes == run(True)
    sol = PrizeVRPSolution.from_routes(m, routes)
    assert sol.violations(m) == []
