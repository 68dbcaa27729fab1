"""The search moves on duration-budget routes: ruin, recreate, 2-opt, 2-opt*, swaps, seeding."""

import dataclasses

import numpy as np
from _vrp import line
from _vrp import plane_model
from _vrp import two_walkers_on_a_line

from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver.lns.budgets import Budgets
from gridplan.routing.solver.lns.operators import recreate
from gridplan.routing.solver.lns.operators import ruin
from gridplan.routing.solver.lns.operators import seed_empty
from gridplan.routing.solver.lns.operators import swap_in
from gridplan.routing.solver.lns.operators import two_opt
from gridplan.routing.solver.lns.operators import two_opt_star


def test_ruin_removes_later_revisit_copies_with_an_earlier_one():
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
        removed = ruin(m, routes, rng)
        assert removed <= {1, 2, 3, 4, 5} and removed
        for copy, later in ((1, {2, 3}), (2, {3})):
            if copy in removed:
                assert later <= removed
    # The Python re-insertion knows duration budgets only: with revisit gaps it leaves the
    # routes to OR-Tools' descent, and the solver gives such models no LNS time by default.
    ruined = [[0, 4, 0], [0, 0]]
    assert recreate(m, ruined, rng, deadline=float("inf")) == ruined
    budget = dataclasses.replace(m, revisit_groups=())
    assert recreate(budget, ruined, rng, deadline=float("inf")) != ruined


def test_two_opt_reaches_a_local_optimum_on_asymmetric_travel():
    rng = np.random.default_rng(8)
    d = rng.uniform(1, 100, size=(9, 9))
    start = np.array([0, 3, 7, 1, 5, 2, 6, 4, 8])
    r = two_opt(d, start)

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
    # A line: depot 0 at x=0, stops 1 (x=4, prize 1) and 2 (x=5, prize 9) and 3 (x=20, prize 50).
    x = np.array([0, 4, 5, 20])
    travel = np.abs(x[:, None] - x[None, :])
    m = PrizeVRP(
        travel=(travel,),
        service=[0, 0, 0, 0],
        prize=[0, 1, 9, 50],
        vehicles=(Vehicle("v", max_duration=10),),
    )
    bud = Budgets.of(m)
    assert not bud.allowed[0][3]  # 40 s there and back: never a candidate
    routes = [np.array([0, 1, 0])]
    used = [8.0]
    assert swap_in(bud, routes, used, np.array([2, 3]))
    assert routes[0].tolist() == [0, 2, 0] and used == [10.0]
    assert not swap_in(bud, routes, used, np.array([1, 3]))


def test_seed_empty_starts_empty_routes_at_an_unvisited_reachable_stop():
    m = two_walkers_on_a_line()
    bud = Budgets.of(m)
    rng = np.random.default_rng(0)
    routes = [np.array([0, 1, 0]), np.array([0, 0])]
    seen = set()
    for _ in range(30):
        out = seed_empty(bud, routes, rng, 1.0)
        assert out[0] is routes[0] and len(out[1]) == 3
        seen.add(int(out[1][1]))
    assert seen == {2, 4}  # never the visited stop 1 nor stop 3, 40 s there and back
    assert seed_empty(bud, routes, rng, 0.0)[1].tolist() == [0, 0]


def test_two_opt_star_swaps_the_tails_of_two_crossing_routes():
    # Start (0, 0), end (10, 0); stops 2 (2, 1), 3 (8, -1), 4 (2, -1), 5 (8, 1). Routes
    # 0-2-3-1 and 0-4-5-1 cross in the middle; swapping their tails uncrosses them.
    pts = [(0, 0), (10, 0), (2, 1), (8, -1), (2, -1), (8, 1)]
    m = plane_model(pts, [200, 200])
    bud = Budgets.of(m)
    routes = [np.array([0, 2, 3, 1]), np.array([0, 4, 5, 1])]
    used = [bud.duration(k, r) for k, r in enumerate(routes)]
    before = sum(used)
    assert two_opt_star(bud, routes, used) == {0, 1}
    assert [r.tolist() for r in routes] == [[0, 2, 5, 1], [0, 4, 3, 1]]
    assert used == [bud.duration(k, r) for k, r in enumerate(routes)]
    assert sum(used) == before - 2 * (round(10 * np.hypot(6, 2)) - 60)
    # Already uncrossed: nothing to do.
    assert two_opt_star(bud, routes, used) == set()


def test_two_opt_star_keeps_budgets_and_allowed_stops():
    # As above with stop 6 (9, -2) after stop 3: the swap saves time in total but makes
    # vehicle 1's route 0-4-3-6-1 longer (118 against 107).
    pts = [(0, 0), (10, 0), (2, 1), (8, -1), (2, -1), (8, 1), (9, -2)]
    routes0 = [[0, 2, 3, 6, 1], [0, 4, 5, 1]]

    def cross(budgets, allowed=None):
        bud = Budgets.of(plane_model(pts, budgets, allowed))
        routes = [np.array(r) for r in routes0]
        used = [bud.duration(k, r) for k, r in enumerate(routes)]
        assert used == [121, 107]
        changed = two_opt_star(bud, routes, used)
        assert used == [bud.duration(k, r) for k, r in enumerate(routes)]
        return changed, [r.tolist() for r in routes]

    assert cross([200, 200]) == ({0, 1}, [[0, 2, 5, 1], [0, 4, 3, 6, 1]])
    # Vehicle 1 may not visit stop 6, or has 110 s only: no move.
    assert cross([200, 200], [None, (2, 3, 4, 5)]) == (set(), routes0)
    assert cross([200, 110]) == (set(), routes0)
