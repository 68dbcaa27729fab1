"""Solve a large slice base grid by base grid: the "5" of the 1+5+N grid as a decomposition.

At about a thousand micro-grids one OR-Tools search over the whole station spends its time
limit building a first solution (measured on ``benchmarks/patrol_scale.py``: 14 patrollers,
1,001 nodes, 10 s collected 4-12 % of what the force could). Stations already divide the
work by base grid, so :func:`solve_by_base` does the same: it gives each patroller on duty one
base grid (volunteers one of their home bases; the others where the risk per patrol minute is
highest), solves each base grid's smaller problem on its own (in parallel on the machine's
cores), and joins the routes into one solution of the whole model. Revisit copies never span
base grids, so the joined solution is feasible when every part is; it is re-checked anyway,
and :func:`solve_by_base` falls back to the whole-station search if it is not.
:func:`should_decompose` says when splitting pays. The planner splits for part of a slice's
time only (``planner.SPLIT_SHARE``) and then lets the whole-station search continue from the
joined routes (``solve_prize_vrp(initial=...)``), so that a patroller whose base grid ran out
of work goes where hot spots are left.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from gridplan.routing.problem import OnDuty
from gridplan.routing.problem import PatrolProblem
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import Route
from gridplan.routing.solver import SolveParams
from gridplan.routing.solver import Visit
from gridplan.routing.solver import run_calls
from gridplan.routing.solver import solve_prize_vrp

#: Slices whose model has more nodes than this are solved base grid by base grid ...
DECOMPOSE_NODES = 400

#: ... and so are slices over this many nodes with at least two patrollers per base grid.
#: Measured at 10 s on 2 workers (patrol_scale models, 14 patrollers): 220 nodes 101,126 vs
#: 68,952 prize units whole, 330 nodes 91,211 vs 43,301. The demo's 158-node slices with 4-6
#: patrollers stay whole: split, they collected 10-20 % less (80,372 vs 90,261).
DECOMPOSE_NODES_CREWED = 200


def should_decompose(problem: PatrolProblem, model: PrizeVRP) -> bool:
    """Whether :func:`solve_by_base` should solve this slice (see the thresholds above)."""
    if len(problem.base_ids) < 2 or len(problem.on_duty) < 2 or problem.targets:
        return False  # a target belongs to no one base grid
    if model.num_nodes > DECOMPOSE_NODES:
        return True
    crewed = len(problem.on_duty) >= 2 * len(problem.base_ids)
    return crewed and model.num_nodes > DECOMPOSE_NODES_CREWED


def assign_bases(problem: PatrolProblem) -> dict[str, list[OnDuty]]:
    """Give each patroller on duty one base grid, in proportion to the risk there.

    Patrollers with home bases are placed first (fewest choices first), each in the base grid
    whose share of the slice's risk most exceeds its share of the patrol minutes assigned so
    far; a base grid with risk gets someone before any gets a second when the force allows.

    Returns
    -------
    dict
        Base grid id -> the :class:`~gridplan.routing.problem.OnDuty` entries working there
        (base grids without risk or without anyone are left out).
    """
    risk: dict[str, float] = dict.fromkeys(problem.base_ids, 0.0)
    for s in problem.stops:
        if s.copies:
            risk[s.base_id] += problem.prize_of(s)
    bases = [b for b in problem.base_ids if risk[b] > 0]
    total_risk = sum(risk[b] for b in bases) or 1.0
    total_cap = sum(od.max_duration_s for od in problem.on_duty) or 1

    def options(od: OnDuty) -> list[str]:
        if od.allowed is None:
            return bases
        mine = {s.base_id for s in problem.stops if s.copies and s.id in od.allowed}
        return [b for b in bases if b in mine]

    order = sorted(
        problem.on_duty,
        key=lambda od: (od.allowed is None, len(options(od)), -od.max_duration_s),
    )
    minutes = dict.fromkeys(bases, 0)
    out: dict[str, list[OnDuty]] = {}
    for od in order:
        choice = options(od)
        if not choice:
            continue
        empty = [b for b in choice if not out.get(b)]
        pool = empty or choice
        best = max(pool, key=lambda b: risk[b] / total_risk - minutes[b] / total_cap)
        out.setdefault(best, []).append(od)
        minutes[best] += od.max_duration_s
    return {b: out[b] for b in problem.base_ids if b in out}


def _part(problem: PatrolProblem, base: str, crew: list[OnDuty]) -> PatrolProblem:
    stops = tuple(
        s if s.base_id == base else dataclasses.replace(s, copies=0) for s in problem.stops
    )
    return dataclasses.replace(problem, stops=stops, on_duty=tuple(crew), base_ids=(base,))


def _solve_part(
    model: PrizeVRP, params: SolveParams, arc_factor: np.ndarray | None
) -> PrizeVRPSolution:
    return solve_prize_vrp(model, params, arc_factor=arc_factor)


def solve_by_base(
    problem: PatrolProblem,
    model: PrizeVRP,
    *,
    time_limit_s: float,
    seed: int = 0,
    workers: int = 1,
    work_limit: int | None = None,
    balance_weight: float = 0.0,
    travel_weight: float = 0.001,
    arc_factor: Callable[[PatrolProblem, PrizeVRP], np.ndarray] | None = None,
    params: SolveParams | None = None,
) -> PrizeVRPSolution | None:
    """Solve ``model`` (``problem.to_prize_vrp()``) one base grid at a time and join the routes.

    Parameters
    ----------
    problem, model
        The slice and its PrizeVRP (built with the same weights as given here).
    time_limit_s
        Wall-clock budget for all base grids together.
    seed, work_limit
        As for :func:`~gridplan.routing.solver.solve.solve_prize_vrp`, per base grid.
    workers
        Base grids solved at once (one process each).
    arc_factor
        Called with each base grid's problem and model, returns per-arc cost factors (the
        planner's variants make earlier variants' legs dearer with it).
    params
        Search settings of each base grid's solve; the keywords above replace its limits,
        seed and workers.

    Returns
    -------
    PrizeVRPSolution or None
        A feasible solution of ``model``, or ``None`` when the parts do not join into one
        (the caller then solves the whole model).
    """
    t0 = time.perf_counter()
    crews = assign_bases(problem)
    if len(crews) < 2:
        return None
    parts = [_part(problem, b, crew) for b, crew in crews.items()]
    models = [
        p.to_prize_vrp(balance_weight=balance_weight, travel_weight=travel_weight) for p in parts
    ]
    workers = max(1, min(workers, len(parts)))
    rounds = -(-len(parts) // workers)
    per = max(0.5, (time_limit_s - (time.perf_counter() - t0)) / rounds - 0.2)
    each = (params or SolveParams()).override(
        time_limit_s=per, seed=seed, workers=1, work_limit=work_limit
    )
    calls = [
        (m, each, None if arc_factor is None else arc_factor(p, m))
        for p, m in zip(parts, models, strict=True)
    ]
    solutions = run_calls(_solve_part, calls, workers)

    # join: sub-model nodes and vehicles back to the whole model's
    vehicle_of = {id(od): k for k, od in enumerate(problem.on_duty)}
    routes: list[Route | None] = [None] * model.num_vehicles
    for part, sol in zip(parts, solutions, strict=True):
        refs = part.nodes
        for r in sol.routes:
            k = vehicle_of[id(part.on_duty[r.vehicle])]
            visits = tuple(
                Visit(problem.node_of(refs[v.node].place, refs[v.node].copy), v.time)
                for v in r.visits
            )
            routes[k] = Route(k, visits)
    for k, v in enumerate(model.vehicles):
        if routes[k] is None:
            start = v.earliest_start
            routes[k] = Route(k, (Visit(v.start, start), Visit(v.end, start)))
    joined = PrizeVRPSolution.from_routes(
        model,
        routes,
        runtime_s=time.perf_counter() - t0,
        iterations=sum(s.iterations for s in solutions),
    )
    return joined if joined.is_feasible(model) else None


__all__ = [
    "DECOMPOSE_NODES",
    "DECOMPOSE_NODES_CREWED",
    "assign_bases",
    "should_decompose",
    "solve_by_base",
]
