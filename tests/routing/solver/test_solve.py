"""The solver on tiny instances whose optimum is reasoned by hand and re-checked by brute force.

Each solve is capped by a work budget (``work_limit``) so the tests are reproducible and fast.
"""

import itertools

import numpy as np
import pytest
from _vrp import line
from _vrp import random_model

from gridplan._errors import InputError
from gridplan.routing.solver import CoverGroup
from gridplan.routing.solver import LnsParams
from gridplan.routing.solver import OrtoolsParams
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import SolveParams
from gridplan.routing.solver import Vehicle
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
    with pytest.raises(InputError, match="work_limit=0 must be a positive number"):
        solve_prize_vrp(m, SolveParams(time_limit_s=1), work_limit=0)


def test_worker_portfolio_runs_each_config_and_stays_deterministic():
    # Worker w runs configs[w % len(configs)]: two differently tuned searches, best kept.

    other = (
        OrtoolsParams(ils_cooling="LINEAR", jitter=0.0, operators=("cross_exchange",)),
        LnsParams(),
    )
    m = random_model(5, n=15, m=2)
    kw = {"seed": 1, "workers": 2, "work_limit": 100, "params": SolveParams(portfolio=(other,))}
    a = solve(m, **kw)
    b = solve(m, **kw)
    assert [r.nodes for r in a.routes] == [r.nodes for r in b.routes]
    assert a.iterations == b.iterations >= 200  # both workers ran their budget
    single = solve(
        m, seed=1, workers=1, work_limit=100, params=SolveParams(ortools=other[0], lns=other[1])
    )
    assert a.collected_prize >= single.collected_prize


def test_default_workers_counts_the_cores_this_process_may_use():
    import os

    from gridplan.routing.solver import default_workers

    assert default_workers() == len(os.sched_getaffinity(0))


def test_params_and_keywords_give_the_same_answer():
    # The keywords are shorthand for the fields of SolveParams: the same run either way.
    m = random_model(9, n=20, m=2)
    by_keywords = solve(m, seed=3, workers=1, work_limit=120)
    params = SolveParams(time_limit_s=5.0, seed=3, workers=1, work_limit=120)
    by_params = solve_prize_vrp(m, params)
    assert [r.visits for r in by_keywords.routes] == [r.visits for r in by_params.routes]
    # A keyword replaces the field; one left at None keeps it.
    again = solve_prize_vrp(m, params.override(seed=4), seed=None)
    other = solve_prize_vrp(m, params, seed=4)
    assert [r.visits for r in again.routes] == [r.visits for r in other.routes]


def test_arc_and_prize_factors_steer_the_search_not_the_cost():
    # Making the arcs of the best routes dear and one prize worthless moves the search; the
    # solution is still costed by the model. The factors weigh OR-Tools' objective, so the
    # search here repairs through OR-Tools (the Python budget search ignores them).
    m = random_model(3, n=12, m=1)
    ortools_lns = SolveParams(lns=LnsParams(python=False))
    best = solve(m, seed=2, params=ortools_lns)
    n = m.num_nodes
    arcs = np.ones((n, n))
    for a, b in best.routes[0].arcs:
        arcs[a, b] = arcs[b, a] = 50.0
    prizes = np.ones(n)
    prizes[best.routes[0].stops[0]] = 0.0
    steered = solve(m, seed=2, params=ortools_lns, arc_factor=arcs, prize_factor=prizes)
    assert steered.routes[0].arcs != best.routes[0].arcs
    assert steered.cost() == PrizeVRPSolution.from_routes(m, steered.routes).cost()
