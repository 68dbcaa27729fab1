"""One search process: OR-Tools' iterated local search, a large-neighbourhood search, touch-up.

:func:`~gridplan.routing.solver.solve.solve_prize_vrp` runs :func:`solve_worker` once per
worker process and keeps the best of all their candidates by the model's true cost.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from gridplan.routing.solver import _ortools
from gridplan.routing.solver.lns.budgets import budget_only
from gridplan.routing.solver.lns.budgets import python_lns_applies
from gridplan.routing.solver.lns.search import budget_search
from gridplan.routing.solver.lns.search import large_neighbourhood_search
from gridplan.routing.solver.lns.timed import timed_search
from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.params import LnsParams
from gridplan.routing.solver.params import OrtoolsParams
from gridplan.routing.solver.params import SolveParams

_INT_MAX = 2**62

#: Candidate routes and their times, one pair per phase that found a solution.
Candidates = list[tuple[list[list[int]], list[list[int]]]]


@dataclasses.dataclass(frozen=True)
class WorkerResult:
    """Candidate routes from one worker (picklable)."""

    candidates: tuple[tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]], ...]
    solutions_found: int
    seconds: float


@dataclasses.dataclass
class _Worker:
    """What every phase of one worker builds its OR-Tools models from."""

    model: PrizeVRP
    ortools: OrtoolsParams
    lns: LnsParams
    arc_factor: np.ndarray
    prize_factor: np.ndarray | None
    reps: dict[int, int]  # cover group -> node carrying its penalty
    t0: float
    given_arc_factor: np.ndarray | None = None  # the caller's, without the jitter

    def build(self, ortools: OrtoolsParams) -> _ortools.Built:
        """Build the routing model with the current representatives and factors."""
        return _ortools.build(
            self.model,
            ortools,
            representatives=self.reps,
            arc_factor=self.arc_factor,
            prize_factor=self.prize_factor,
        )

    def descent(self) -> tuple[OrtoolsParams, _ortools.Built]:
        """Build the model again for a plain greedy descent (the LNS and polish steps)."""
        descent = dataclasses.replace(
            self.ortools,
            iterated_local_search=False,
            metaheuristic="GREEDY_DESCENT",
            lean_operators=self.ortools.lean_operators or self.lns.lean,
        )
        return descent, self.build(descent)

    def left(self, limit_s: float) -> float:
        """Seconds left of ``limit_s`` since the worker started (at least 0.05)."""
        return max(0.05, limit_s - (time.perf_counter() - self.t0))


def solve_worker(
    model: PrizeVRP,
    params: SolveParams,
    worker: int,
    *,
    arc_factor: np.ndarray | None = None,
    prize_factor: np.ndarray | None = None,
    initial: list[list[int]] | None = None,
) -> WorkerResult:
    """One worker: iterated local search, large-neighbourhood search, cover-group touch-up.

    With ``initial`` routes (full node sequences per vehicle) on a model the compiled search
    takes, OR-Tools' ILS is skipped and the search starts from them.

    The ILS (settings ``params.search(worker)``) starts from scratch; the LNS continues from
    its result for ``lns.share`` of the time on duration-budget models (``lns.share_timed``
    on the others): in Python (:func:`~.lns.search.budget_search`, then an OR-Tools descent
    for ``lns.polish`` of that time) where :func:`~.lns.budgets.python_lns_applies`, else
    :func:`~.lns.search.large_neighbourhood_search`. On models with cover groups a few short
    descents then move each group's penalty onto a node the routes visit.

    ``params.seed`` and ``worker`` seed the arc-cost jitter (``ortools.jitter``) and the
    LNS's choices, the only random inputs: OR-Tools' own search is deterministic, so with a
    ``params.work_limit`` that stops before the time limit (the LNS then runs
    ``work_limit // 10`` rounds, ``work_limit`` in Python) the result depends on the seed
    only. ``arc_factor`` (``(n, n)``) and ``prize_factor`` (``(n,)``) multiply arc costs and
    drop penalties of the search objective.
    """
    t0 = time.perf_counter()
    ortools, lns = params.search(worker)
    rng = np.random.default_rng([params.seed, worker])
    n = model.num_nodes
    factor = np.ones((n, n)) if arc_factor is None else np.asarray(arc_factor, dtype=float)
    if ortools.jitter > 0 and (params.seed != 0 or worker != 0):
        factor = factor * rng.uniform(1.0, 1.0 + ortools.jitter, size=(n, n))
    candidates_of = cover_candidates(model)
    reps = {g: order[0] for g, order in enumerate(candidates_of)}
    w = _Worker(model, ortools, lns, factor, prize_factor, reps, t0, arc_factor)
    built = w.build(ortools)
    found = [0]

    def count():
        found[0] += 1

    built.routing.AddAtSolutionCallback(count)
    main_s = params.time_limit_s * (0.9 if model.cover_groups else 1.0)
    share = lns.share if budget_only(model) else lns.share_timed
    limit = params.work_limit
    # With a work limit the time limit is only a safety cap: the ILS may use all of it, so
    # that the limit on solutions, not the clock, ends it (the LNS is bounded by rounds then).
    ils_s = main_s if limit is not None else main_s * (1.0 - share)
    timed = share > 0 and lns.python and not python_lns_applies(model)
    if timed and (initial is not None or share >= 1):
        assignment = None
    else:
        assignment = _ortools.run_search(built, ortools, time_limit_s=ils_s, solution_limit=limit)
    if assignment is None and not timed:
        return WorkerResult((), found[0], time.perf_counter() - t0)
    if assignment is None:  # the compiled search starts from ``initial`` or empty routes
        routes, candidates = initial, []
    else:
        routes = _ortools.read_routes(built, assignment)
        candidates = [(routes, _ortools.read_times(built, assignment))]
    if timed:
        candidates += _timed_lns(w, routes, params, worker, main_s=main_s, found=found)
    elif share > 0 and lns.python:
        candidates += _python_lns(w, routes, rng, main_s=main_s, iteration_limit=limit)
    elif share > 0:
        candidates += _ortools_lns(w, routes, rng, main_s=main_s, work_limit=limit)
    candidates += _touch_up(w, candidates[-1][0], candidates_of, params.time_limit_s)
    frozen = tuple(
        (tuple(tuple(r) for r in rs), tuple(tuple(t) for t in ts)) for rs, ts in candidates
    )
    return WorkerResult(frozen, found[0], time.perf_counter() - t0)


def _python_lns(
    w: _Worker,
    routes: list[list[int]],
    rng: np.random.Generator,
    *,
    main_s: float,
    iteration_limit: int | None,
) -> Candidates:
    """Run the budget search, then OR-Tools' descent for ``lns.polish`` of its time."""
    left = w.left(main_s)
    polish_s = left * w.lns.polish
    routes = budget_search(
        w.model,
        routes,
        w.lns,
        rng=rng,
        time_limit_s=left - polish_s,
        iteration_limit=iteration_limit,
    )
    out = [(routes, [list(w.model.schedule(k, r)) for k, r in enumerate(routes)])]
    if polish_s > 0:
        descent, polish_built = w.descent()
        polished = _ortools.run_search(
            polish_built, descent, time_limit_s=w.left(main_s), initial=[r[1:-1] for r in routes]
        )
        if polished is not None:
            out.append(
                (
                    _ortools.read_routes(polish_built, polished),
                    _ortools.read_times(polish_built, polished),
                )
            )
    return out


def _timed_lns(
    w: _Worker,
    routes: list[list[int]] | None,
    params: SolveParams,
    worker: int,
    *,
    main_s: float,
    found: list[int],
) -> Candidates:
    """Run the compiled time-window search from the ILS's routes (:mod:`~.lns.timed`).

    Its rounds count as solutions found (``found[0]``).
    """
    best, times, rounds = timed_search(
        w.model,
        routes,
        w.lns,
        seed=params.seed * 7919 + worker,
        time_limit_s=w.left(main_s),
        iteration_limit=params.work_limit,
        arc_factor=w.given_arc_factor,
        prize_factor=w.prize_factor,
    )
    found[0] += rounds
    return [(best, times)]


def _ortools_lns(
    w: _Worker,
    routes: list[list[int]],
    rng: np.random.Generator,
    *,
    main_s: float,
    work_limit: int | None,
) -> Candidates:
    """Run the large-neighbourhood search whose repair is OR-Tools' descent."""
    descent, lns_built = w.descent()
    improved = large_neighbourhood_search(
        lns_built,
        descent,
        w.lns,
        routes,
        rng=rng,
        time_limit_s=w.left(main_s),
        iteration_limit=None if work_limit is None else max(1, work_limit // 10),
    )
    return [] if improved is None else [improved]


def _touch_up(
    w: _Worker, routes: list[list[int]], candidates_of: list[list[int]], time_limit_s: float
) -> Candidates:
    """Re-balance stops against cover penalties once representatives sit on visited nodes."""
    touch = dataclasses.replace(
        w.ortools, iterated_local_search=False, metaheuristic="GREEDY_DESCENT"
    )
    out = []
    for _ in range(3 if w.model.cover_groups else 0):
        # Representatives move to visited nodes (the routing objective then counts those
        # groups as covered) or, for uncovered groups, to their next candidate; a short
        # descent from the current routes then re-balances stops against cover penalties.
        moved = moved_representatives(w.model, w.reps, routes, candidates_of)
        if moved == w.reps:
            break
        w.reps = moved
        rebuilt = w.build(touch)
        again = _ortools.run_search(
            rebuilt, touch, time_limit_s=w.left(time_limit_s), initial=[r[1:-1] for r in routes]
        )
        if again is None:
            break
        routes = _ortools.read_routes(rebuilt, again)
        out.append((routes, _ortools.read_times(rebuilt, again)))
    return out


def cover_candidates(model: PrizeVRP) -> list[list[int]]:
    """Each cover group's nodes, best representative first.

    Highest prize first, then the cheapest detour from any vehicle's start to its end.
    """
    out = []
    for group in model.cover_groups:

        def detour(u: int) -> int:
            return min(
                (
                    int(model.travel[v.profile][v.start, u])
                    + int(model.service[u])
                    + int(model.travel[v.profile][u, v.end])
                    for v in model.vehicles
                    if v.allowed_nodes is None or u in v.allowed_nodes
                ),
                default=_INT_MAX,
            )

        out.append(sorted(group.nodes, key=lambda u: (-int(model.prize[u]), detour(u), u)))
    return out


def moved_representatives(
    model: PrizeVRP, reps: dict[int, int], routes: list[list[int]], candidates: list[list[int]]
) -> dict[int, int]:
    """Move representatives: onto a visited node, or to the next candidate if none is."""
    visited = {u for r in routes for u in r[1:-1]}
    out = dict(reps)
    for g, order in enumerate(candidates):
        if out[g] in visited:
            continue
        hits = [u for u in order if u in visited]
        if hits:
            out[g] = hits[0]
        else:
            out[g] = order[(order.index(out[g]) + 1) % len(order)]
    return out
