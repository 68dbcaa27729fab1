"""The compiled time-window search: feasible on every kind of model, exact where it can be.

Random models mix every rule a patrol slice has (windows, a most-wait, revisit groups with
gaps, cover groups, longest durations, allowed stops, two travel profiles); every route the
search returns is re-checked by the model's own :meth:`PrizeVRPSolution.violations`. Small
instances are compared with an exhaustive search.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver.lns import _kernels
from gridplan.routing.solver.lns.timed import knobs
from gridplan.routing.solver.lns.timed import new_walk
from gridplan.routing.solver.lns.timed import timed_data
from gridplan.routing.solver.lns.timed import timed_search
from gridplan.routing.solver.lns.timed import warm_up
from gridplan.routing.solver.model import Route
from gridplan.routing.solver.model import Visit
from gridplan.routing.solver.params import LnsParams
from tests._timed_models import brute_force_best
from tests._timed_models import random_model
from tests._timed_models import travel_of


@pytest.fixture(scope="module", autouse=True)
def compiled():
    """Compile the search first (the first compile in a fresh clone outlasts a time limit)."""
    warm_up()


def as_solution(model: PrizeVRP, routes, times) -> PrizeVRPSolution:
    built = [
        Route(k, tuple(Visit(u, t) for u, t in zip(r, ts, strict=True)))
        for k, (r, ts) in enumerate(zip(routes, times, strict=True))
    ]
    return PrizeVRPSolution.from_routes(model, built)


#: the search's moves that are off by default, all on
EVERY_MOVE = LnsParams(segment=0.5, crossover=1.0, restart=30, relocate=True)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("params", [LnsParams(), EVERY_MOVE], ids=["default", "every-move"])
def test_every_route_of_the_search_keeps_every_rule_of_the_model(seed, params):
    model = random_model(seed)
    routes, times, rounds = timed_search(
        model, None, params, seed=seed, time_limit_s=30, iteration_limit=150
    )
    sol = as_solution(model, routes, times)
    assert rounds == 150
    assert sol.violations(model) == []
    assert sol.collected_prize > 0


def test_the_search_is_reproducible_by_rounds():
    model = random_model(11)
    runs = [
        timed_search(model, None, LnsParams(), seed=3, time_limit_s=30, iteration_limit=100)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_the_search_continues_from_given_routes_and_never_ends_worse():
    model = random_model(5)
    first, times, _ = timed_search(
        model, None, LnsParams(), seed=1, time_limit_s=30, iteration_limit=5
    )
    start = as_solution(model, first, times)
    again, times2, _ = timed_search(
        model, first, LnsParams(), seed=2, time_limit_s=30, iteration_limit=200
    )
    assert as_solution(model, again, times2).cost() <= start.cost() + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_on_small_instances_the_search_finds_the_optimum(seed):
    rng = np.random.default_rng(100 + seed)
    xy = rng.uniform(0, 100, size=(7, 2))
    travel = travel_of(xy, 1.0)
    opens = rng.integers(0, 150, size=7)
    tw = np.stack([opens, opens + rng.integers(20, 80, size=7)], axis=1)
    tw[0] = (0, 300)
    model = PrizeVRP(
        travel=(travel,),
        service=np.r_[0, rng.integers(5, 20, size=6)],
        prize=np.r_[0, rng.integers(1, 30, size=6)],
        vehicles=(Vehicle("v", latest_end=300),),
        time_windows=tw,
    )
    routes, times, _ = timed_search(
        model, None, LnsParams(), seed=seed, time_limit_s=30, iteration_limit=300
    )
    sol = as_solution(model, routes, times)
    assert sol.is_feasible(model)
    assert sol.collected_prize == brute_force_best(model)


@pytest.mark.parametrize("seed", range(6))
def test_the_constant_time_insertion_test_agrees_with_a_full_schedule(seed):
    """fits_between says yes exactly when the route with the stop inserted has a schedule."""
    model = random_model(seed, n=24, vehicles=2)
    data = timed_data(model)
    routes, _, _ = timed_search(
        model, None, LnsParams(), seed=seed, time_limit_s=30, iteration_limit=20
    )
    state = _kernels.new_state(data, routes)
    one = np.zeros(1, dtype=np.int64)
    full = state.scratch[5]
    checked = 0
    for k in range(model.num_vehicles):
        for u in model.customers:
            if state.route_of[u] >= 0:
                continue
            one[0] = u
            for i in range(state.size[k] - 1):
                a, b = state.routes[k, i], state.routes[k, i + 1]
                quick = _kernels.fits_between(
                    data, k, state.fe[k, i], state.fl[k, i], a, one, 1, b,
                    state.be[k, i + 1], state.bl[k, i + 1],
                )  # fmt: skip
                m = _kernels.with_inserted(state, k, i, u, full)
                slow = _kernels.forward(data, k, full, m, state.scratch[0], state.scratch[1])
                assert quick == slow
                checked += 1
    assert checked > 50


def _routetravel_of(model: PrizeVRP, state, k: int) -> int:
    row = state.routes[k, : state.size[k]]
    t = model.travel[model.vehicles[k].profile]
    return int(sum(t[a, b] for a, b in itertools.pairwise(row)))


@pytest.mark.parametrize("seed", range(6))
def test_or_opt_keeps_every_rule_and_the_stops_and_only_shortens_routes(seed):
    model = random_model(seed, n=36, vehicles=2)
    data = timed_data(model)
    params = LnsParams(or_opt=False)  # routes or-opt has not polished yet
    routes, _, _ = timed_search(model, None, params, seed=seed, time_limit_s=30, iteration_limit=5)
    state = _kernels.new_state(data, routes)
    visited = sorted(u for r in routes for u in r[1:-1])
    for _ in range(50):
        before = [_routetravel_of(model, state, k) for k in range(model.num_vehicles)]
        if not _kernels.or_opt(data, state):
            break
        after = [_routetravel_of(model, state, k) for k in range(model.num_vehicles)]
        assert sum(after) < sum(before)
        assert all(a <= b for a, b in zip(after, before, strict=True))
    rows = [state.routes[k, : state.size[k]].tolist() for k in range(model.num_vehicles)]
    times = [state.times[k, : state.size[k]].tolist() for k in range(model.num_vehicles)]
    assert sorted(u for r in rows for u in r[1:-1]) == visited
    assert as_solution(model, rows, times).violations(model) == []


def test_or_opt_puts_a_stop_left_out_of_order_back_on_the_way():
    """Stops on a line visited 1, 3, 2, 4 (no windows): or-opt walks them in order."""
    xy = np.array([[0, 0], [100, 0], [200, 0], [300, 0], [400, 0]], dtype=float)
    model = PrizeVRP(
        travel=(travel_of(xy, 1.0),),
        service=[0, 10, 10, 10, 10],
        prize=[0, 1, 1, 1, 1],
        vehicles=(Vehicle("v", latest_end=10_000),),
        time_windows=[[0, 10_000]] * 5,
    )
    data = timed_data(model)
    state = _kernels.new_state(data, [[0, 1, 3, 2, 4, 0]])
    assert _kernels.or_opt(data, state)
    assert state.routes[0, :6].tolist() in ([0, 1, 2, 3, 4, 0], [0, 4, 3, 2, 1, 0])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("crossover", [0.0, 1.0])
def test_a_stuck_walk_starts_afresh_and_the_best_of_all_walks_is_kept(seed, crossover):
    """Afresh: from empty routes, or (crossover) from two elites' common stops."""
    model = random_model(seed)
    data = timed_data(model)
    state = _kernels.new_state(data, [[v.start, v.end] for v in model.vehicles])
    walk = new_walk(state)
    _kernels.seed(seed)
    _kernels.start(data, state, walk)
    settings = knobs(data, LnsParams(restart=15, crossover=crossover))
    walk_bests, fresh = [], 0
    for _ in range(300):
        before = walk.figures[1]
        _kernels.rounds(data, state, walk, settings, 1)
        fresh += walk.figures[1] < before - 1e-9  # only a fresh walk lowers a walk's best
        walk_bests.append(walk.figures[1])
        assert walk.figures[4] >= max(walk_bests) - 1e-9
    assert fresh >= 2
    if crossover:
        assert walk.figures[7] >= 2  # elites were kept, so later walks recombined them
    state.routes[:], state.size[:] = walk.top, walk.top_size
    _kernels.refresh_all(data, state)
    assert _kernels.value(data, state)[0] == pytest.approx(walk.figures[4])
    k_count = model.num_vehicles
    routes = [state.routes[k, : state.size[k]].tolist() for k in range(k_count)]
    times = [state.times[k, : state.size[k]].tolist() for k in range(k_count)]
    assert as_solution(model, routes, times).violations(model) == []


@pytest.mark.parametrize("seed", range(6))
def test_the_segment_move_keeps_every_rule_and_each_stop_once(seed):
    model = random_model(seed)
    data = timed_data(model)
    state = _kernels.new_state(data, [[v.start, v.end] for v in model.vehicles])
    walk = new_walk(state)
    _kernels.seed(seed)
    _kernels.start(data, state, walk)
    moved = 0
    for _ in range(60):
        noise = np.ones(model.num_nodes)
        moved += _kernels.segment_move(data, state, noise, 10)
        k_count = model.num_vehicles
        routes = [state.routes[k, : state.size[k]].tolist() for k in range(k_count)]
        times = [state.times[k, : state.size[k]].tolist() for k in range(k_count)]
        assert as_solution(model, routes, times).violations(model) == []
        stops = [u for r in routes for u in r[1:-1]]
        assert len(stops) == len(set(stops))
        assert all(state.route_of[u] == k for k, r in enumerate(routes) for u in r[1:-1])
        assert state.cover_count.tolist() == [
            sum(u in stops for u in g.nodes) for g in model.cover_groups
        ]
    assert moved > 0


def _chain_ok(model: PrizeVRP, route: list[int]) -> bool:
    t, here = 0, route[0]
    for u in route[1:]:
        t = max(t + model.service[here] + model.travel[0][here, u], model.time_windows[u, 0])
        if t > model.time_windows[u, 1]:
            return False
        here = u
    return True


@pytest.mark.parametrize("seed", range(10))
def test_the_beam_finds_the_best_chain_between_two_stops_when_it_can_see_them_all(seed):
    """With four stops to choose from the beam keeps every label: its chain is the optimum."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, size=(7, 2))
    travel = travel_of(xy, 1.0)
    tw = np.tile([0, 3000], (7, 1))
    tw[1:] = np.sort(rng.integers(0, 3000, size=(6, 2)), axis=1)
    tw[1:, 1] += 400
    tw[[1, 2], :] = [[0, 3000], [0, 3000]]  # the two ends of the gap
    model = PrizeVRP(
        travel=(travel,),
        service=np.r_[0, rng.integers(20, 120, size=6)],
        prize=np.r_[0, 0, 0, rng.integers(1, 50, size=4)],
        vehicles=(Vehicle("v", latest_end=3000),),
        time_windows=tw,
    )
    data = timed_data(model)
    state = _kernels.new_state(data, [[0, 1, 2, 0]])
    best = 0
    for r in range(1, 5):
        for chain in itertools.permutations(range(3, 7), r):
            if _chain_ok(model, [0, 1, *chain, 2, 0]):
                best = max(best, int(model.prize[list(chain)].sum()))
    out = np.zeros(_kernels.BEAM_DEPTH, dtype=np.int64)
    found = _kernels.beam_chain(data, state, 0, 1, 2, np.ones(7), 0.0, 4, out)
    chain = out[:found].tolist()
    assert _chain_ok(model, [0, 1, *chain, 2, 0])
    assert int(model.prize[chain].sum()) == best
