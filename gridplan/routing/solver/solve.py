"""Solve a :class:`~gridplan.routing.solver.model.PrizeVRP`: the public entry points.

:func:`solve_prize_vrp` runs :func:`~gridplan.routing.solver.worker.solve_worker` in one or
more processes, each with its own seeded arc-cost jitter, and keeps the best solution by the
model's true cost. A worker runs OR-Tools' iterated local search (ruin and recreate by string
removals, then local search, with simulated-annealing acceptance in prize units) and then a
large-neighbourhood search (:mod:`~gridplan.routing.solver.lns`: in NumPy on duration-budget
models, compiled by numba on every other model, :mod:`~gridplan.routing.solver.lns.timed`);
:class:`SolveParams` holds the limits and every setting, the default portfolio makes the
second worker's search start from nothing. :func:`variants` returns several distinct good
solutions so patrol routes can rotate across days.

Reproducibility: OR-Tools' search is deterministic, and the seed only sets the jitter and the
large-neighbourhood search's random choices (which stops in ``work_limit // 10`` rounds of
the OR-Tools-repaired search, ``work_limit`` rounds of the NumPy or compiled one). A run
stopped by ``work_limit`` (a number of solutions per worker) before its time limit returns
the same answer for the same model, seed, workers and work limit, on any machine load. A run
stopped by ``time_limit_s`` alone depends on how much work fitted in the time.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.routing.solver.lengthen import lengthen
from gridplan.routing.solver.lns.timed import warm_up
from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.model import PrizeVRPSolution
from gridplan.routing.solver.model import Route
from gridplan.routing.solver.model import Visit
from gridplan.routing.solver.params import SolveParams
from gridplan.routing.solver.worker import WorkerResult
from gridplan.routing.solver.worker import solve_worker


def default_workers() -> int:
    """Return the number of cores this process may run on (at least 1).

    The default of ``workers`` in :func:`solve_prize_vrp` and the planners: one search process
    per core. On Linux it honours CPU affinity (``taskset``, container CPU sets).

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _to_solution(model: PrizeVRP, routes, times, *, runtime_s, iterations) -> PrizeVRPSolution:
    built = [
        Route(k, tuple(Visit(int(u), int(t)) for u, t in zip(r, ts, strict=True)))
        for k, (r, ts) in enumerate(zip(routes, times, strict=True))
    ]
    return PrizeVRPSolution.from_routes(model, built, runtime_s=runtime_s, iterations=iterations)


def _empty(model: PrizeVRP, runtime_s: float) -> PrizeVRPSolution:
    return PrizeVRPSolution.from_routes(
        model, [[v.start, v.end] for v in model.vehicles], runtime_s=runtime_s
    )


def run_calls(fn, calls: list[tuple], workers: int) -> list:
    """Return ``[fn(*args) for args in calls]``, in up to ``workers`` processes when > 1.

    Processes fork where the platform can (no re-import, models shared copy-on-write); results
    come back in call order.
    """
    if workers <= 1 or len(calls) <= 1:
        return [fn(*args) for args in calls]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_die_with_parent
    ) as pool:
        futures = [pool.submit(fn, *args) for args in calls]
        return [f.result() for f in futures]


def _die_with_parent() -> None:
    """End this search process when the process that started it dies (Linux).

    A planner killed mid-search (out of memory, a stopped web job) would otherwise leave its
    search processes running to their time limit on cores nobody uses.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        parent = multiprocessing.parent_process()
        if parent is not None and parent.pid != os.getppid():  # it died before prctl
            os._exit(1)


def _best(model: PrizeVRP, results: list[WorkerResult], t0: float) -> PrizeVRPSolution:
    best = None
    found = sum(r.solutions_found for r in results)
    for res in results:  # job order, so ties go to the lowest worker: deterministic
        for routes, times in res.candidates:
            sol = _to_solution(
                model, routes, times, runtime_s=time.perf_counter() - t0, iterations=found
            )
            sol = lengthen(model, sol)  # routes shorter than an outing worth making
            if not sol.is_feasible(model):
                continue
            if best is None or sol.cost() < best.cost():
                best = sol
    if best is None:
        return _empty(model, time.perf_counter() - t0)
    return dataclasses.replace(best, runtime_s=time.perf_counter() - t0, iterations=found)


def solve_prize_vrp(
    model: PrizeVRP,
    params: SolveParams | None = None,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    work_limit: int | None = None,
    progress: ProgressCallback | None = None,
    arc_factor: np.ndarray | None = None,
    prize_factor: np.ndarray | None = None,
    initial: PrizeVRPSolution | None = None,
) -> PrizeVRPSolution:
    """Solve a prize-collecting VRP by OR-Tools and a large-neighbourhood search, on many cores.

    Parameters
    ----------
    model
        The problem.
    params
        Limits, seed, workers and search settings; ``None`` is ``SolveParams()`` (10 s, seed
        0, one worker per core, the benchmarked search settings).
    time_limit_s, seed, workers, work_limit
        Shorthand for the fields of ``params`` of the same name (see :class:`SolveParams`):
        each one given, not ``None``, replaces that field. ``time_limit_s`` is the
        wall-clock limit of the whole call, model building included, plus process start-up
        of well under a second (and, on a process's first call, loading the compiled
        search: see :func:`~gridplan.routing.solver.lns.timed.warm_up`); with
        ``work_limit`` the result is reproducible regardless of machine load.
    progress
        Called as ``progress("solve", done, total)`` at the start and end.
    arc_factor, prize_factor
        Multipliers of the search objective's arc costs (``(n, n)``) and drop penalties
        (``(n,)``), e.g. to make arcs of earlier variants dearer; the best solution is still
        chosen by the model's true cost.
    initial
        A feasible solution to start from (e.g. one joined from base grids): the compiled
        search continues from its routes instead of OR-Tools' first solution, and it is
        a candidate itself, so the result is never worse.

    Returns
    -------
    PrizeVRPSolution
        Always feasible (re-checked with :meth:`PrizeVRPSolution.is_feasible`); when no route
        can be found every vehicle stays at its start and every node is dropped.

    Raises
    ------
    InputError
        On a time limit, seed, worker count or work limit out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> travel = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    >>> vrp = PrizeVRP(
    ...     travel=(travel,), service=[0, 0, 0], prize=[0, 5, 3],
    ...     vehicles=(Vehicle("walker", max_duration=20),),
    ... )
    >>> sol = solve_prize_vrp(vrp, time_limit_s=1, workers=1, work_limit=50)
    >>> sol.collected_prize, sol.is_feasible(vrp)
    (5, True)
    """
    params = (params or SolveParams()).override(
        time_limit_s=time_limit_s, seed=seed, workers=workers, work_limit=work_limit
    )
    warm_up()  # the compiled search: once per process, before the clock and the workers
    t0 = time.perf_counter()
    workers = default_workers() if params.workers is None else int(params.workers)
    report(progress, "solve", 0, 1)
    if not model.customers:
        report(progress, "solve", 1, 1)
        return _empty(model, time.perf_counter() - t0)
    # Process start-up and reading results back take a little of the budget.
    elapsed = time.perf_counter() - t0
    budget = max(0.1, params.time_limit_s - elapsed - (0.15 if workers > 1 else 0.02))
    each = dataclasses.replace(params, time_limit_s=budget, workers=workers)
    start = None if initial is None else [list(r.nodes) for r in initial.routes]
    calls = [(model, each, w, arc_factor, prize_factor, start) for w in range(workers)]
    results = run_calls(_work, calls, workers)
    if start is not None:  # the starting solution competes too
        times = [[v.time for v in r.visits] for r in initial.routes]
        results.append(WorkerResult(((start, times),), 0, 0.0))
    best = _best(model, results, t0)
    # OR-Tools finds no first solution at all (not even every stop unperformed) on some
    # models that combine revisit groups, a visit window and a short most-wait; another
    # seed's arc jitter usually does, and first visits alone are a feasible part of the model
    for retry in (1, 2, 3):
        if best.iterations or not model.customers:
            break
        again = model if retry < 3 or not model.revisit_groups else first_visits(model)
        seeded = dataclasses.replace(each, seed=params.seed + 7919 * retry)
        calls = [(again, seeded, w, arc_factor, prize_factor, None) for w in range(workers)]
        best = _best(model, run_calls(_work, calls, workers), t0)
    report(progress, "solve", 1, 1)
    return best


def first_visits(model: PrizeVRP) -> PrizeVRP:
    """Return the model without revisits: every revisit copy barred from every vehicle.

    Its solutions are solutions of ``model`` (a copy may stay unvisited).
    """
    later = {u for g in model.revisit_groups for u in g.nodes[1:]}
    allowed = frozenset(model.customers) - later
    vehicles = tuple(
        dataclasses.replace(
            v, allowed_nodes=allowed if v.allowed_nodes is None else v.allowed_nodes - later
        )
        for v in model.vehicles
    )
    return dataclasses.replace(model, vehicles=vehicles, revisit_groups=())


def _work(model, params, worker, arc_factor, prize_factor, initial) -> WorkerResult:
    return solve_worker(
        model, params, worker, arc_factor=arc_factor, prize_factor=prize_factor, initial=initial
    )


def similarity(a: PrizeVRPSolution, b: PrizeVRPSolution) -> float:
    """Jaccard similarity of the undirected arcs two solutions travel (1 = same arcs).

    Arcs of unused vehicles (start straight to end) are ignored; two empty solutions are 1.

    Parameters
    ----------
    a, b
        Two solutions of the same model.

    Returns
    -------
    float
        Shared arcs over all arcs either travels, in [0, 1]: 1 when both walk the same
        streets (in either direction), 0 when they share none.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, PrizeVRPSolution, Vehicle
    >>> travel = np.array([[0, 10, 10, 10], [10, 0, 5, 9], [10, 5, 0, 5], [10, 9, 5, 0]])
    >>> vrp = PrizeVRP(travel=(travel,), service=[0] * 4, prize=[0, 4, 4, 4],
    ...                vehicles=(Vehicle("walker", max_duration=40),))
    >>> loop = PrizeVRPSolution.from_routes(vrp, [[0, 1, 2, 0]])
    >>> similarity(loop, PrizeVRPSolution.from_routes(vrp, [[0, 2, 1, 0]]))  # reversed
    1.0
    >>> similarity(loop, PrizeVRPSolution.from_routes(vrp, [[0, 3, 2, 0]]))
    0.2
    """

    def arcs(sol):
        return {frozenset(arc) for r in sol.routes if r.stops for arc in r.arcs}

    sa, sb = arcs(a), arcs(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


@dataclasses.dataclass(frozen=True)
class VariantSet:
    """Distinct good solutions of one model and their pairwise arc similarity.

    Attributes
    ----------
    solutions
        The variants, the best first; each scores at least ``(1 - tolerance)`` times
        ``best_score``.
    similarity
        ``similarity[i][j]`` is :func:`similarity` of variants ``i`` and ``j`` (1 on the
        diagonal).
    tolerance
        The allowed relative loss of score the set was made with.
    best_score
        Score (collected prize less costs) of the first, best variant.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [2, 0], [2, 1]])
    >>> travel = np.rint(10 * np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)))
    >>> vrp = PrizeVRP(travel=(travel.astype(int),), service=[0] * 6,
    ...                prize=[0, 4, 4, 4, 3, 3], vehicles=(Vehicle("walker", max_duration=50),))
    >>> vs = variants(vrp, 3, tolerance=0.2, time_limit_s=2, workers=1, work_limit=50)
    >>> len(vs.solutions), vs.best_score, round(vs.similarity[0][1], 2)
    (2, 12.0, 0.33)
    >>> print(vs.summary())
    variant 1: score 12, prize 12, max similarity to others 0.33
    variant 2: score 12, prize 12, max similarity to others 0.33

    Only two distinct variants exist within 20 % here, so two come back.
    """

    solutions: tuple[PrizeVRPSolution, ...]
    similarity: tuple[tuple[float, ...], ...]
    tolerance: float
    best_score: float

    def summary(self) -> str:
        """Return one line per variant with its score and its highest similarity."""
        lines = []
        for i, sol in enumerate(self.solutions):
            others = [s for j, s in enumerate(self.similarity[i]) if j != i]
            worst = max(others, default=0.0)
            lines.append(
                f"variant {i + 1}: score {sol.score:g}, prize {sol.collected_prize}, "
                f"max similarity to others {worst:.2f}"
            )
        return "\n".join(lines)


def variants(
    model: PrizeVRP,
    k: int,
    *,
    tolerance: float = 0.05,
    time_limit_s: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    work_limit: int | None = None,
    max_similarity: float = 0.9,
    progress: ProgressCallback | None = None,
    params: SolveParams | None = None,
) -> VariantSet:
    """Return up to ``k`` distinct solutions, each within ``tolerance`` of the best score.

    The first is the best solution :func:`solve_prize_vrp` finds in half the time. Each
    further attempt re-solves with prizes jittered by up to ``tolerance / 2`` and the arcs
    already used made 50 % dearer (a tie-breaking cost), and is kept when its true score is at
    least ``(1 - tolerance) * best`` and its arc similarity to every kept one is at most
    ``max_similarity``. Fewer than ``k`` come back when no more distinct ones were found.

    Parameters
    ----------
    model
        The problem.
    k
        Number of variants wanted (patrol days to rotate over).
    tolerance
        Allowed relative loss of score (collected prize less costs) versus the best.
    time_limit_s, seed, workers, work_limit
        As in :func:`solve_prize_vrp`; ``time_limit_s`` is the budget of all the solves
        together, and with ``work_limit`` the set is reproducible.
    max_similarity
        Largest Jaccard arc similarity allowed between two variants.
    progress
        Called as ``progress("variants", done, k)``.
    params
        Limits and search settings, as in :func:`solve_prize_vrp`.

    Returns
    -------
    VariantSet

    Examples
    --------
    Two walks of the same value around a square of stops (see :class:`VariantSet`):

    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [2, 0], [2, 1]])
    >>> travel = np.rint(10 * np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)))
    >>> vrp = PrizeVRP(travel=(travel.astype(int),), service=[0] * 6,
    ...                prize=[0, 4, 4, 4, 3, 3], vehicles=(Vehicle("walker", max_duration=50),))
    >>> vs = variants(vrp, 3, tolerance=0.2, time_limit_s=2, workers=1, work_limit=50)
    >>> [s.score for s in vs.solutions], vs.similarity[0][1] < 0.9
    ([12.0, 12.0], True)
    """
    _check_variant_args(k, tolerance)
    params = (params or SolveParams()).override(
        time_limit_s=time_limit_s, seed=seed, workers=workers, work_limit=work_limit
    )
    time_limit_s, seed = params.time_limit_s, params.seed
    t0 = time.perf_counter()
    first_budget = time_limit_s / 2 if k > 1 else time_limit_s
    best = solve_prize_vrp(model, params, time_limit_s=first_budget)
    kept = [best]
    report(progress, "variants", 1, k)
    best_score = best.score
    floor = best_score - tolerance * abs(best_score)
    attempts = 3 * (k - 1)
    rng = np.random.default_rng([seed, 7919])
    n = model.num_nodes
    for attempt in range(attempts):
        if len(kept) >= k:
            break
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0.05 and params.work_limit is None:
            break
        per_try = max(0.05, left / max(1, attempts - attempt))
        prize_factor = rng.uniform(1 - tolerance / 2, 1 + tolerance / 2, size=n)
        cand = solve_prize_vrp(
            model,
            params,
            time_limit_s=per_try,
            seed=seed + 1 + attempt,
            prize_factor=prize_factor,
            arc_factor=_dearer_arcs(kept, n),
        )
        if cand.score < floor - 1e-9:
            continue
        if all(similarity(cand, s) <= max_similarity for s in kept):
            kept.append(cand)
            report(progress, "variants", len(kept), k)
    sim = tuple(tuple(similarity(a, b) for b in kept) for a in kept)
    return VariantSet(tuple(kept), sim, tolerance, best_score)


def _check_variant_args(k: int, tolerance: float) -> None:
    if k < 1:
        msg = f"k={k} must be at least 1 variant"
        raise InputError(msg)
    if not 0 <= tolerance < 1:
        msg = f"tolerance={tolerance} must be in [0, 1), e.g. 0.05 for 5 %"
        raise InputError(msg)


def _dearer_arcs(kept: list[PrizeVRPSolution], n: int) -> np.ndarray:
    """Arc-cost factors that make the arcs of the ``kept`` solutions 50 % dearer."""
    arc_factor = np.ones((n, n))
    for sol in kept:
        for r in sol.routes:
            for a, b in r.arcs:
                arc_factor[a, b] = arc_factor[b, a] = 1.5
    return arc_factor


__all__ = [
    "SolveParams",
    "VariantSet",
    "default_workers",
    "run_calls",
    "similarity",
    "solve_prize_vrp",
    "variants",
]
