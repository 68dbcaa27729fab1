"""Large-neighbourhood searches that continue from OR-Tools' iterated local search.

:func:`budget_search` runs every round in NumPy (models whose routes have duration budgets
only); :func:`large_neighbourhood_search` ruins in Python and repairs by OR-Tools' descent
(any model). Both stop at a time limit or, reproducibly, after a number of rounds.
"""

from __future__ import annotations

import time

import numpy as np

from gridplan.routing.solver import _ortools
from gridplan.routing.solver.lns.budgets import Budgets
from gridplan.routing.solver.lns.operators import improve
from gridplan.routing.solver.lns.operators import recreate
from gridplan.routing.solver.lns.operators import ruin
from gridplan.routing.solver.lns.operators import seed_empty
from gridplan.routing.solver.lns.pool import RoutePool
from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.params import LnsParams
from gridplan.routing.solver.params import OrtoolsParams


def budget_search(
    model: PrizeVRP,
    routes: list[list[int]],
    params: LnsParams,
    *,
    rng: np.random.Generator,
    time_limit_s: float,
    iteration_limit: int | None = None,
) -> list[list[int]]:
    """Ruin-and-recreate search in Python for models whose routes have duration budgets only.

    Each round ruins the current routes (:func:`~.operators.ruin`), then repairs them
    (:func:`~.operators.improve`: 2-opt, route-tail exchange when ``params.cross``, insertion
    by prize per extra second times a random factor in ``1 +- params.noise``, swaps when
    ``params.swaps``). A route the ruin emptied restarts, with probability
    ``params.seed_empty``, at a random unvisited stop (:func:`~.operators.seed_empty`). The
    result replaces the current solution when its value (prize less weighted travel) is at
    most a threshold below, the threshold falling from ``params.temperature`` mean prizes to 0
    over an epoch of ``params.epoch`` rounds. Each epoch starts a new walk, from empty routes,
    from ``routes`` or from the best so far (``params.epoch_start``). With ``params.pool`` > 0
    every repaired solution's routes go into a :class:`~.pool.RoutePool`, and every
    ``params.pool`` rounds the best disjoint set of pooled routes (found within
    ``params.pool_s`` seconds), repaired, becomes the best and current solution when it is
    better.

    Parameters
    ----------
    model
        A model for which :func:`~.budgets.python_lns_applies`.
    routes
        Starting routes, full node sequences per vehicle.
    params
        The search settings.
    rng
        The only source of randomness.
    time_limit_s, iteration_limit
        Stop after this many seconds or rounds, whichever comes first; with
        ``iteration_limit`` the packing uses CP-SAT's deterministic time and the result
        depends on ``rng`` alone.

    Returns
    -------
    list[list[int]]
        The best routes found (full node sequences).
    """
    t0 = time.perf_counter()
    bud = Budgets.of(model)
    positive = bud.prize[bud.prize > 0]
    # Thresholds in units of the mean prize, so the search walks alike on any prize scale.
    temperature = params.temperature * (float(positive.mean()) if positive.size else 1.0)
    swaps, noise, cross = params.swaps, params.noise, params.cross
    given = [np.asarray(r, dtype=np.int64) for r in routes]
    empty = [np.array([v.start, v.end], dtype=np.int64) for v in model.vehicles]
    best, best_value = given, bud.value(given)
    current = improve(bud, given, rng, swaps=swaps, noise=noise, cross=cross)
    current_value = bud.value(current)
    if current_value > best_value:
        best, best_value = current, current_value
    pool = RoutePool(bud, model) if params.pool > 0 else None
    iteration = 0
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= time_limit_s:
            break
        if iteration_limit is not None and iteration >= iteration_limit:
            break
        if pool is not None and iteration and iteration % params.pool == 0:
            packed = pool.pack(
                best,
                min(params.pool_s, time_limit_s - elapsed),
                deterministic=iteration_limit is not None,
            )
            if packed is not None:
                packed = improve(bud, packed, rng, swaps=swaps, noise=0.0, cross=cross)
                packed_value = bud.value(packed)
                if packed_value > best_value + 1e-9:
                    best, best_value = packed, packed_value
                    current, current_value = packed, packed_value
        if iteration and iteration % params.epoch == 0:
            begin = {"empty": empty, "start": given, "best": best}[params.epoch_start]
            current = improve(bud, list(begin), rng, swaps=swaps, noise=noise, cross=cross)
            current_value = bud.value(current)
        progress = (iteration % params.epoch) / params.epoch
        iteration += 1
        removed = list(ruin(model, [r.tolist() for r in current], rng))
        ruined = [r[~np.isin(r, removed)] for r in current]
        if params.seed_empty > 0:
            ruined = seed_empty(bud, ruined, rng, params.seed_empty)
        cand = improve(bud, ruined, rng, swaps=swaps, noise=noise, cross=cross)
        value = bud.value(cand)
        if pool is not None:
            pool.add(cand)
        threshold = (1.0 - progress) * temperature * rng.random()
        if value >= current_value - threshold:
            current, current_value = cand, value
        if value > best_value + 1e-9:
            best, best_value = cand, value
    return [r.tolist() for r in best]


def large_neighbourhood_search(
    built: _ortools.Built,
    ortools: OrtoolsParams,
    lns: LnsParams,
    routes: list[list[int]],
    *,
    rng: np.random.Generator,
    time_limit_s: float,
    iteration_limit: int | None = None,
) -> tuple[list[list[int]], list[list[int]]] | None:
    """Ruin stops of ``routes`` in Python, re-insert them by OR-Tools' local search, repeat.

    The ILS of OR-Tools perturbs its current solution by small string removals; this outer
    loop also removes whole routes and pieces of every route (:func:`~.operators.ruin`),
    which moves a route to another area in one step. Each ruined solution goes through a
    greedy descent (:class:`~gridplan.routing.solver._ortools.Descent`, with the settings
    ``ortools``; first a greedy re-insertion when ``lns.recreate``); it replaces the current
    one when its routing objective is at most a threshold above, the threshold falling
    linearly from ``lns.temperature`` prize units to 0. Returns the best routes and their
    times, or None when ``routes`` cannot be read back.
    """
    t0 = time.perf_counter()
    descend = _ortools.Descent(built, ortools, time_limit_s=time_limit_s, fast=lns.fast)
    solved = descend([r[1:-1] for r in routes])
    if solved is None:
        return None
    current = best = _ortools.read_routes(built, solved)
    current_cost = best_cost = solved.ObjectiveValue()
    best_times = _ortools.read_times(built, solved)
    iteration = 0
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= time_limit_s:
            break
        if iteration_limit is not None:
            if iteration >= iteration_limit:
                break
            progress = iteration / iteration_limit
        else:
            progress = elapsed / time_limit_s
        iteration += 1
        removed = ruin(built.model, current, rng)
        threshold = (1.0 - progress) * lns.temperature * built.prize_scale * rng.random()
        ruined = [[u for u in r if u not in removed] for r in current]
        if lns.recreate:
            ruined = recreate(built.model, ruined, rng, deadline=t0 + time_limit_s)
        solved = descend([r[1:-1] for r in ruined])
        if solved is None:
            continue
        cost = solved.ObjectiveValue()
        if cost <= current_cost + threshold:
            current, current_cost = _ortools.read_routes(built, solved), cost
            if cost < best_cost:
                best, best_cost, best_times = current, cost, _ortools.read_times(built, solved)
    return best, best_times
