"""OR-Tools adapter of a :class:`~gridplan.routing.solver.model.PrizeVRP` (sole ortools import).

Modelling choices
-----------------
- **Objective scaling.** OR-Tools minimises an integer cost. A dropped node costs
  ``prize_scale * prize`` through a one-node disjunction; arcs cost their travel seconds times
  ``1 + prize_scale * travel_weight``. When ``travel_weight`` is 0 (Team Orienteering),
  ``prize_scale`` exceeds the longest total travel any solution can have, so one prize unit
  always outweighs all travel and travel only breaks ties (shorter routes leave slack for more
  stops, which also guides the search).
- **Time.** One dimension "time" with per-vehicle transit evaluators (service of the origin
  plus that vehicle's profile travel), slack for waiting, node windows on the cumul variables,
  shift bounds on the start and end cumuls and ``max_duration`` as a span upper bound. The
  balance weight is a global span cost on this dimension.
- **Revisit groups.** Copies are separate nodes; constraints on ``ActiveVar`` make copy k+1
  active only with copy k, and on ``CumulVar`` make copy k+1 start at least ``min_gap`` after
  copy k when active. Ordering the copies in time loses nothing (they are interchangeable) and
  makes consecutive gaps imply all pairwise gaps.
- **Cover groups** (soft "visit at least one") have no exact counterpart in the routing
  objective, whose penalties are per node. Each group adds its penalty to the drop penalty of
  one *representative* node (at first its highest-prize node). The routing objective is then an
  upper bound on the true cost; after each search round the representative moves to a node
  of the group that the solution already visits, so the bound is tight for the solution kept.
  The true cost (``PrizeVRPSolution.cost``) counts each uncovered group once.
"""

from __future__ import annotations

import dataclasses
import itertools
import time

import numpy as np
from ortools.constraint_solver import pywrapcp
from ortools.constraint_solver import routing_enums_pb2
from ortools.constraint_solver import routing_heuristic_parameters_pb2
from ortools.constraint_solver import routing_ils_pb2
from ortools.sat.python import cp_model
from ortools.util import optional_boolean_pb2

from gridplan.routing.solver.model import PrizeVRP

_FSS = routing_enums_pb2.FirstSolutionStrategy
_LSM = routing_enums_pb2.LocalSearchMetaheuristic
_RCS = routing_ils_pb2.RuinCompositionStrategy
_CSS = routing_ils_pb2.CoolingScheduleStrategy
_ISP = routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.InsertionSortingProperty
_INT_MAX = 2**62
_BOOL_TRUE = optional_boolean_pb2.BOOL_TRUE
_BOOL_FALSE = optional_boolean_pb2.BOOL_FALSE
# Large-neighbourhood operators that re-run insertion heuristics on whole paths: slow per move.
_EXPENSIVE_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_relocate_expensive_chain",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
)


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """How one OR-Tools search runs (first solution, metaheuristic, operators)."""

    first_solution: str = "PATH_CHEAPEST_ARC"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    iterated_local_search: bool = False
    extra_operators: bool = False
    gls_lambda: float = 0.1
    tie_break: bool = True
    ils_removed: int = 10
    ils_sequence: int = 10
    ils_auto_temperature: bool = False
    ils_temperature: tuple[float, float] | None = None  # prize units, start and end
    recreate: str = "LOCAL_CHEAPEST_INSERTION"
    lean_operators: bool = False
    ils_cooling: str = "EXPONENTIAL"
    ils_random_walk: int = 0  # > 0 adds a random-walk ruin removing this many visits
    ils_close_routes: int = 0  # > 0 adds a ruin of this many spatially close routes
    ils_composition: str = "RUN_ONE_RANDOMLY"  # how several ruins combine
    recreate_sorting: tuple[str, ...] = ()  # LocalCheapestInsertion node orders, e.g. "RANDOM"
    operators: tuple[str, ...] = ()  # extra local-search operators, e.g. "relocate_and_make_active"
    jitter: float | None = None  # arc-cost jitter of this worker; None: solve_worker's argument
    lns_share: float = 0.0  # share of the budget for the large-neighbourhood phase after the ILS
    lns_share_timed: float = 0.0  # the same for models with time windows or revisit groups
    lns_temperature: float = 2.0  # LNS threshold start: prize units; budget_search: mean prizes
    lns_recreate: bool = False  # LNS re-inserts by prize per extra second before the descent
    lns_fast: bool = False  # LNS descends with FastSolveFromAssignmentWithParameters
    lns_lean: bool = False  # LNS descends without the expensive operators
    lns_python: bool = False  # LNS in Python (budget_search) where the model allows it
    lns_polish: float = 0.05  # share of the LNS time for OR-Tools' descent after budget_search
    lns_epoch: int = 150  # budget_search rounds per walk
    lns_epoch_start: str = "best"  # where each budget_search walk starts: empty, start, best
    lns_swaps: bool = True  # budget_search swaps visited stops for better unvisited ones
    lns_seed_empty: float = 0.0  # chance that budget_search starts an emptied route at random
    lns_noise: float = 0.2  # budget_search's repair ranks by prize per second times 1 +- this
    lns_pool: int = 0  # > 0: budget_search packs its pooled routes every this many rounds
    lns_pool_s: float = 0.5  # time limit of one set packing (seconds)
    lns_cross: bool = False  # budget_search also swaps route tails (2-opt*) when that saves time


@dataclasses.dataclass
class Built:
    """A closed OR-Tools routing model and what is needed to read solutions back."""

    model: PrizeVRP
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension
    prize_scale: int
    callbacks: list  # keep transit matrices alive


def prize_scale(model: PrizeVRP) -> int:
    """Integer weight of one prize unit, above the longest possible total travel."""
    total = 0
    for k, v in enumerate(model.vehicles):
        bound = model.vehicle_latest_end(k) - v.earliest_start
        if v.max_duration is not None:
            bound = min(bound, v.max_duration)
        total += max(bound, 0)
    return int(total) + 1


def build(
    model: PrizeVRP,
    *,
    representatives: dict[int, int] | None = None,
    config: SearchConfig | None = None,
    arc_factor: np.ndarray | None = None,
    prize_factor: np.ndarray | None = None,
) -> Built:
    """Build the routing model.

    ``representatives`` maps a cover-group index to the node carrying its penalty;
    ``arc_factor`` (``(n, n)``) and ``prize_factor`` (``(n,)``) multiply arc costs and drop
    penalties (seeded jitter for diversification and route variants).
    """
    config = config or SearchConfig()
    n = model.num_nodes
    starts = [v.start for v in model.vehicles]
    ends = [v.end for v in model.vehicles]
    manager = pywrapcp.RoutingIndexManager(n, model.num_vehicles, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    scale = prize_scale(model)
    tie = 1 if config.tie_break else 0
    arc_weight = tie + round(scale * model.travel_weight)
    keep = []

    transit_idx = {}
    cost_idx = {}
    for p in sorted({v.profile for v in model.vehicles}):
        travel = model.travel[p]
        transit = travel + model.service[:, None]
        keep.append(transit)
        transit_idx[p] = routing.RegisterTransitMatrix(transit.tolist())
        cost = travel * arc_weight
        if arc_factor is not None:
            cost = np.rint(cost * arc_factor).astype(np.int64)
        cost_idx[p] = routing.RegisterTransitMatrix(cost.tolist())
    for k, v in enumerate(model.vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_idx[v.profile], k)

    horizon = model.horizon
    routing.AddDimensionWithVehicleTransits(
        [transit_idx[v.profile] for v in model.vehicles], horizon, horizon, False, "time"
    )
    time_dim = routing.GetDimensionOrDie("time")
    for k, v in enumerate(model.vehicles):
        latest = model.vehicle_latest_end(k)
        time_dim.CumulVar(routing.Start(k)).SetRange(v.earliest_start, latest)
        time_dim.CumulVar(routing.End(k)).SetRange(v.earliest_start, latest)
        if v.max_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(v.max_duration, k)
    if model.time_windows is not None:
        for node in range(n):
            lo, hi = (int(x) for x in model.time_windows[node])
            if node in model.depots:
                for k, v in enumerate(model.vehicles):
                    if v.start == node:
                        time_dim.CumulVar(routing.Start(k)).SetMin(lo)
                    if v.end == node:
                        time_dim.CumulVar(routing.End(k)).SetMax(hi)
            else:
                time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(lo, hi)
    if model.balance_weight > 0:
        time_dim.SetGlobalSpanCostCoefficient(max(1, round(scale * model.balance_weight)))

    bonus = np.zeros(n, dtype=np.int64)
    for g, node in (representatives or {}).items():
        bonus[node] += model.cover_groups[g].penalty
    penalty = scale * (model.prize + bonus).astype(float)
    if prize_factor is not None:
        penalty = penalty * prize_factor
    for node in model.customers:
        index = manager.NodeToIndex(node)
        routing.AddDisjunction([index], round(penalty[node]), 1)

    everyone = set(range(model.num_vehicles))
    for node in model.customers:
        allowed = [
            k
            for k, v in enumerate(model.vehicles)
            if v.allowed_nodes is None or node in v.allowed_nodes
        ]
        if not allowed:
            routing.ActiveVar(manager.NodeToIndex(node)).SetMax(0)
        elif len(allowed) < len(everyone):
            # SetAllowedVehiclesForIndex would say the same, but OR-Tools 9.15's Python
            # binding rejects every list for its absl::Span argument; -1 means "not visited".
            routing.VehicleVar(manager.NodeToIndex(node)).SetValues([-1, *allowed])

    solver = routing.solver()
    for g in model.revisit_groups:
        idx = [manager.NodeToIndex(u) for u in g.nodes]
        for a, b in itertools.pairwise(idx):
            active_a, active_b = routing.ActiveVar(a), routing.ActiveVar(b)
            solver.Add(active_b <= active_a)
            big = horizon + g.min_gap
            solver.Add(
                time_dim.CumulVar(b) + big * (1 - active_b) >= time_dim.CumulVar(a) + g.min_gap
            )

    # Times as early as possible: start at the shift start, serve each stop on arrival.
    for k in range(model.num_vehicles):
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
    return Built(model, manager, routing, time_dim, scale, keep)


def search_parameters(
    config: SearchConfig,
    *,
    time_limit_s: float | None,
    solution_limit: int | None = None,
    scale: int | None = None,
):
    """OR-Tools search parameters for ``config`` and the limits."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = _FSS.Value.Value(config.first_solution)
    params.local_search_metaheuristic = _LSM.Value.Value(config.metaheuristic)
    params.guided_local_search_lambda_coefficient = config.gls_lambda
    if config.iterated_local_search:
        params.use_iterated_local_search = True
        ils = params.iterated_local_search_parameters
        rr = ils.ruin_recreate_parameters
        sisr = rr.ruin_strategies.add().sisr
        sisr.avg_num_removed_visits = config.ils_removed
        sisr.max_removed_sequence_size = config.ils_sequence
        sisr.bypass_factor = 0.01
        if config.ils_random_walk > 0:
            rr.ruin_strategies.add().random_walk.num_removed_visits = config.ils_random_walk
        if config.ils_close_routes > 0:
            rr.ruin_strategies.add().spatially_close_routes.num_ruined_routes = (
                config.ils_close_routes
            )
        if len(rr.ruin_strategies) > 1:
            rr.ruin_composition_strategy = _RCS.Value.Value(config.ils_composition)
        rr.recreate_strategy.heuristic = _FSS.Value.Value(config.recreate)
        if config.recreate_sorting:
            lci = rr.recreate_strategy.parameters.local_cheapest_insertion
            lci.insertion_sorting_properties.extend(
                _ISP.Value(f"SORTING_PROPERTY_{name}") for name in config.recreate_sorting
            )
        sa = ils.reference_solution_acceptance_strategy.simulated_annealing
        sa.cooling_schedule_strategy = _CSS.Value.Value(config.ils_cooling)
        if config.ils_auto_temperature:
            sa.automatic_temperatures = True
        elif config.ils_temperature is not None and scale is not None:
            sa.initial_temperature = config.ils_temperature[0] * scale
            sa.final_temperature = config.ils_temperature[1] * scale
    if config.lean_operators:
        ops = params.local_search_operators
        for name in _EXPENSIVE_OPERATORS:
            setattr(ops, name, _BOOL_FALSE)
    if config.extra_operators:
        ops = params.local_search_operators
        for name in (
            "use_extended_swap_active",
            "use_relocate_and_make_active",
            "use_exchange_and_make_active",
            "use_inactive_lns",
            "use_path_lns",
        ):
            setattr(ops, name, _BOOL_TRUE)
    for name in config.operators:
        setattr(params.local_search_operators, f"use_{name}", _BOOL_TRUE)
    if time_limit_s is not None:
        params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    return params


def read_routes(built: Built, assignment) -> list[list[int]]:
    """Node sequences (depots included) of every vehicle in ``assignment``."""
    routing, manager = built.routing, built.manager
    out = []
    for k in range(built.model.num_vehicles):
        index = routing.Start(k)
        nodes = [manager.IndexToNode(index)]
        while not routing.IsEnd(index):
            index = assignment.Value(routing.NextVar(index))
            nodes.append(manager.IndexToNode(index))
        out.append(nodes)
    return out


def read_times(built: Built, assignment) -> list[list[int]]:
    """Service-start times along every route (minimum cumul values)."""
    routing, dim = built.routing, built.time_dim
    out = []
    for k in range(built.model.num_vehicles):
        index = routing.Start(k)
        times = [assignment.Min(dim.CumulVar(index))]
        while not routing.IsEnd(index):
            index = assignment.Value(routing.NextVar(index))
            times.append(assignment.Min(dim.CumulVar(index)))
        out.append(times)
    return out


def run_search(
    built: Built,
    config: SearchConfig,
    *,
    time_limit_s: float | None,
    solution_limit: int | None = None,
    initial: list[list[int]] | None = None,
):
    """One OR-Tools search, from ``initial`` stops when given; returns the assignment or None."""
    params = search_parameters(
        config, time_limit_s=time_limit_s, solution_limit=solution_limit, scale=built.prize_scale
    )
    routing = built.routing
    if initial is None:
        if config.iterated_local_search:
            return routing.SolveWithIteratedLocalSearch(params)
        return routing.SolveWithParameters(params)
    routing.CloseModelWithParameters(params)
    manager = built.manager
    stops = [[manager.NodeToIndex(u) for u in r] for r in initial]
    start = routing.ReadAssignmentFromRoutes(stops, True)
    if start is None:
        return routing.SolveWithParameters(params)
    return routing.SolveFromAssignmentWithParameters(start, params)


def solve_simple(
    model: PrizeVRP, config: SearchConfig, *, time_limit_s: float
) -> tuple[list[list[int]], list[list[int]], float]:
    """Single search (for benchmarks): node sequences, times and seconds."""
    t0 = time.perf_counter()
    built = build(model, config=config)
    assignment = run_search(built, config, time_limit_s=time_limit_s)
    if assignment is None:
        routes = [[v.start, v.end] for v in model.vehicles]
        return routes, [list(model.schedule(k, r)) for k, r in enumerate(routes)], 0.0
    return read_routes(built, assignment), read_times(built, assignment), time.perf_counter() - t0


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


def _ruin(model: PrizeVRP, routes: list[list[int]], rng: np.random.Generator) -> set[int]:
    """Pick stops to remove: a cluster around a stop, a whole route, or a piece of each route.

    Removing a revisit copy also removes the later copies of its group, which may only be
    visited when it is.
    """
    visited = [u for r in routes for u in r[1:-1]]
    if not visited:
        return set()
    mode = int(rng.integers(3))
    if mode == 0:
        seed = visited[int(rng.integers(len(visited)))]
        k = int(rng.integers(3, max(4, min(25, len(visited) // 2) + 1)))
        near = model.travel[model.vehicles[0].profile][seed, visited]
        removed = {visited[i] for i in np.argsort(near, kind="stable")[:k]}
    elif mode == 1:
        used = [r for r in routes if len(r) > 2]
        removed = set(used[int(rng.integers(len(used)))][1:-1])
    else:
        removed = set()
        for r in routes:
            stops = r[1:-1]
            if stops:
                size = int(rng.integers(1, max(2, len(stops) // 2 + 1)))
                first = int(rng.integers(0, len(stops) - size + 1))
                removed.update(stops[first : first + size])
    for g in model.revisit_groups:
        later = False
        for u in g.nodes:
            later = later or u in removed
            if later:
                removed.add(u)
    return removed


def _budget_only(model: PrizeVRP) -> bool:
    """Whether a route is feasible exactly when its duration fits (no windows, no revisits)."""
    return model.time_windows is None and not model.revisit_groups


def _python_lns_applies(model: PrizeVRP) -> bool:
    """Whether :func:`budget_search` can judge the model's solutions on its own.

    It knows duration budgets, prizes and weighted travel, not windows, revisits, cover
    groups or the balance term.
    """
    return _budget_only(model) and not model.cover_groups and model.balance_weight == 0


def _recreate(
    model: PrizeVRP, routes: list[list[int]], rng: np.random.Generator, *, deadline: float
) -> list[list[int]]:
    """Insert unvisited stops greedily by prize per extra second while they fit.

    Only for models whose feasibility is a duration budget per route (no time windows, no
    revisit groups); otherwise ``routes`` come back unchanged and OR-Tools' descent does all
    the re-inserting. Each step takes the stop and position with the highest
    ``prize / detour`` (times a random factor in [0.8, 1.2] that diversifies the repairs).
    """
    if not _budget_only(model):
        return routes
    routes = [list(r) for r in routes]
    service = model.service.astype(float)
    prize = model.prize.astype(float)
    visited = {u for r in routes for u in r[1:-1]}
    free = np.array(
        [u for u in model.customers if u not in visited and prize[u] > 0], dtype=np.int64
    )
    noise = rng.uniform(0.8, 1.2, size=model.num_nodes)
    limits, used, allowed = [], [], []
    for k, v in enumerate(model.vehicles):
        limit = model.vehicle_latest_end(k) - v.earliest_start
        if v.max_duration is not None:
            limit = min(limit, v.max_duration)
        limits.append(limit)
        t = model.travel[v.profile]
        r = np.asarray(routes[k])
        used.append(float((service[r[:-1]] + t[r[:-1], r[1:]]).sum()))
        mask = np.ones(model.num_nodes, dtype=bool)
        if v.allowed_nodes is not None:
            mask[:] = False
            mask[list(v.allowed_nodes)] = True
        allowed.append(mask)
    while free.size and time.perf_counter() < deadline:
        best = None
        for k, v in enumerate(model.vehicles):
            cand = free[allowed[k][free]]
            if not cand.size:
                continue
            t = model.travel[v.profile]
            r = np.asarray(routes[k])
            a, b = r[:-1], r[1:]
            # extra seconds of putting u between a and b: its service plus the detour
            detour = (
                t[a[None, :], cand[:, None]]
                + service[cand][:, None]
                + t[cand[:, None], b[None, :]]
                - t[a, b][None, :]
            )
            fits = detour <= limits[k] - used[k]
            if not fits.any():
                continue
            ratio = np.where(
                fits, (prize[cand] * noise[cand])[:, None] / np.maximum(detour, 1e-9), -1.0
            )
            i, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            if best is None or ratio[i, j] > best[0]:
                best = (ratio[i, j], k, int(cand[i]), j + 1, float(detour[i, j]))
        if best is None:
            break
        _, k, u, pos, extra = best
        routes[k].insert(pos, u)
        used[k] += extra
        free = free[free != u]
    return routes


@dataclasses.dataclass
class _Budgets:
    """Duration-budget view of a model for the Python search (float arrays, per vehicle).

    ``dur[k][a, b]`` is the service at ``a`` plus vehicle ``k``'s travel to ``b``: a route's
    duration is the sum over its arcs. ``value`` of a solution is its collected prize less
    ``travel_weight`` times its travel, the routing objective without balance or cover terms.
    """

    dur: list[np.ndarray]
    travel: list[np.ndarray]
    limit: list[float]
    allowed: list[np.ndarray]
    prize: np.ndarray
    service: np.ndarray
    travel_weight: float
    customers: np.ndarray

    @classmethod
    def of(cls, model: PrizeVRP) -> _Budgets:
        service = model.service.astype(float)
        travel = {p: t.astype(float) for p, t in enumerate(model.travel)}
        dur = {p: t + service[:, None] for p, t in travel.items()}
        limits, allowed = [], []
        for k, v in enumerate(model.vehicles):
            limit = model.vehicle_latest_end(k) - v.earliest_start
            if v.max_duration is not None:
                limit = min(limit, v.max_duration)
            limits.append(float(limit))
            mask = np.ones(model.num_nodes, dtype=bool)
            if v.allowed_nodes is not None:
                mask[:] = False
                mask[list(v.allowed_nodes)] = True
            # Stops the vehicle cannot reach and leave within its budget are never candidates.
            d = dur[v.profile]
            mask &= d[v.start, :] + d[:, v.end] <= limit + 1e-9
            allowed.append(mask)
        return cls(
            dur=[dur[v.profile] for v in model.vehicles],
            travel=[travel[v.profile] for v in model.vehicles],
            limit=limits,
            allowed=allowed,
            prize=model.prize.astype(float),
            service=service,
            travel_weight=float(model.travel_weight),
            customers=np.array([u for u in model.customers if model.prize[u] > 0], dtype=np.int64),
        )

    def duration(self, k: int, r: np.ndarray) -> float:
        return float(self.dur[k][r[:-1], r[1:]].sum())

    def value(self, routes: list[np.ndarray]) -> float:
        prize = sum(float(self.prize[r[1:-1]].sum()) for r in routes)
        if self.travel_weight == 0:
            return prize
        travel = sum(float(self.travel[k][r[:-1], r[1:]].sum()) for k, r in enumerate(routes))
        return prize - self.travel_weight * travel


def _prefix(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Length of the path ``r`` up to each of its nodes under ``d`` (0 at the first)."""
    return np.concatenate(([0.0], np.cumsum(d[r[:-1], r[1:]])))


def _barred_after(allowed: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Count the stops after each node of the path ``r`` that ``allowed`` bars (0 at the end)."""
    return np.append(np.cumsum(~allowed[r[1:-1]][::-1])[::-1], 0)


def _two_opt(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Reverse segments of the path ``r`` while that shortens it (best move first).

    Works on asymmetric ``d``: prefix sums give the length of every segment both ways.
    """
    size = len(r)
    if size < 4:
        return r
    i = np.arange(1, size - 1)[:, None]
    j = np.arange(1, size - 1)[None, :]
    upper = j > i
    for _ in range(4 * size):
        fwd = _prefix(d, r)
        bwd = _prefix(d.T, r)
        delta = (
            d[r[i - 1], r[j]]
            + d[r[i], r[j + 1]]
            - d[r[i - 1], r[i]]
            - d[r[j], r[j + 1]]
            + (bwd[j] - bwd[i])
            - (fwd[j] - fwd[i])
        )
        delta = np.where(upper, delta, 0.0)
        flat = int(np.argmin(delta))
        if delta.flat[flat] >= -1e-9:
            break
        x, y = divmod(flat, size - 2)
        x, y = x + 1, y + 1
        r = np.concatenate((r[:x], r[x : y + 1][::-1], r[y + 1 :]))
    return r


def _cross(bud: _Budgets, routes: list[np.ndarray], used: list[float]) -> set[int]:
    """Swap the tails of two routes (2-opt*) while that makes them shorter in total.

    Routes with the same end place exchange everything after a cut in each, when both still
    fit their budgets and allowed stops; the best move goes first. The time saved makes
    room for more stops, and one move can hand a whole part of the map to the other route.
    Changes ``routes`` and ``used`` in place; returns the routes that changed.
    """
    changed: set[int] = set()
    heads = [_prefix(bud.dur[k], r) for k, r in enumerate(routes)]
    for _ in range(4 * len(routes)):
        best, move = -1e-6, None
        for p, a in enumerate(routes):
            for q in range(p + 1, len(routes)):
                b = routes[q]
                if a[-1] != b[-1] or (len(a) <= 2 and len(b) <= 2):
                    continue
                da, db = bud.dur[p], bud.dur[q]
                # heads in their own vehicle's durations, tails in the other vehicle's
                head_a, head_b = heads[p], heads[q]
                a_in_b, b_in_a = _prefix(db, a), _prefix(da, b)
                i = np.arange(len(a) - 1)[:, None]  # a keeps a[: i + 1]
                j = np.arange(len(b) - 1)[None, :]  # b keeps b[: j + 1]
                new_a = head_a[i] + da[a[i], b[j + 1]] + (b_in_a[-1] - b_in_a[j + 1])
                new_b = head_b[j] + db[b[j], a[i + 1]] + (a_in_b[-1] - a_in_b[i + 1])
                ok = (new_a <= bud.limit[p] + 1e-9) & (new_b <= bud.limit[q] + 1e-9)
                # no stop in a tail that the other vehicle may not visit
                ok &= _barred_after(bud.allowed[q], a)[i] == 0
                ok &= _barred_after(bud.allowed[p], b)[j] == 0
                delta = np.where(ok, new_a + new_b - used[p] - used[q], np.inf)
                flat = int(np.argmin(delta))
                if delta.flat[flat] < best:
                    x, y = divmod(flat, len(b) - 1)
                    best = float(delta.flat[flat])
                    move = (p, q, x, y, float(new_a[x, y]), float(new_b[x, y]))
        if move is None:
            break
        p, q, x, y, new_p, new_q = move
        a, b = routes[p], routes[q]
        routes[p] = np.concatenate((a[: x + 1], b[y + 1 :]))
        routes[q] = np.concatenate((b[: y + 1], a[x + 1 :]))
        used[p], used[q] = new_p, new_q
        heads[p], heads[q] = _prefix(bud.dur[p], routes[p]), _prefix(bud.dur[q], routes[q])
        changed.update((p, q))
    return changed


def _insert(
    bud: _Budgets,
    routes: list[np.ndarray],
    used: list[float],
    free: np.ndarray,
    noise: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Insert free stops, best ``prize * noise / detour`` first, while any fits and pays.

    Each route keeps its matrix of ratios (candidates by arcs); an insertion recomputes only
    the route that changed and strikes the inserted stop from the others.
    """
    tw = bud.travel_weight
    free_mask = np.zeros(len(bud.prize), dtype=bool)
    free_mask[free] = True

    def ratios(k: int):
        cand = np.flatnonzero(free_mask & bud.allowed[k])
        if not cand.size:
            return None
        d, r = bud.dur[k], routes[k]
        a, b = r[:-1], r[1:]
        detour = d[a[None, :], cand[:, None]] + d[cand[:, None], b[None, :]] - d[a, b][None, :]
        fits = detour <= bud.limit[k] - used[k] + 1e-9
        if tw > 0:
            fits &= bud.prize[cand][:, None] - tw * (detour - bud.service[cand][:, None]) > 0
        if not fits.any():
            return None
        ratio = np.where(
            fits, (bud.prize[cand] * noise[cand])[:, None] / np.maximum(detour, 1e-9), -1.0
        )
        return cand, ratio, detour

    tables = [ratios(k) for k in range(len(routes))]
    while True:
        best = None
        for k, table in enumerate(tables):
            if table is None:
                continue
            cand, ratio, detour = table
            i, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            if ratio[i, j] > 0 and (best is None or ratio[i, j] > best[0]):
                best = (ratio[i, j], k, int(cand[i]), j + 1, float(detour[i, j]))
        if best is None:
            break
        _, k, u, pos, extra = best
        routes[k] = np.insert(routes[k], pos, u)
        used[k] += extra
        free_mask[u] = False
        for other, table in enumerate(tables):
            if other != k and table is not None:
                table[1][table[0] == u, :] = -1.0
        tables[k] = ratios(k)
    return routes, free[free_mask[free]]


def _swap_in(bud: _Budgets, routes: list[np.ndarray], used: list[float], free: np.ndarray) -> bool:
    """Replace one stop by a free stop of higher prize that fits in its place (best gain).

    The free stop goes to its cheapest position in the route without the replaced stop: the
    gap the removal closes, or the cheapest other arc (found among each stop's three cheapest
    arcs, of which at most two touch the removed stop). Changes ``routes`` and ``used`` in
    place; returns whether a swap was made.
    """
    best = None
    for k, r in enumerate(routes):
        cand = free[bud.allowed[k][free]]
        size = len(r)
        if not cand.size or size < 3:
            continue
        d = bud.dur[k]
        a, b = r[:-1], r[1:]
        ins = d[a[None, :], cand[:, None]] + d[cand[:, None], b[None, :]] - d[a, b][None, :]
        top = min(3, ins.shape[1])
        idx3 = np.argsort(ins, axis=1)[:, :top]  # (C, 3) arc numbers
        val3 = np.take_along_axis(ins, idx3, axis=1)
        pos = np.arange(1, size - 1)  # stop positions p; arcs p - 1 and p touch r[p]
        clash = (idx3[:, None, :] == pos[None, :, None] - 1) | (
            idx3[:, None, :] == pos[None, :, None]
        )
        other = np.where(clash, np.inf, val3[:, None, :])  # (C, P, 3)
        pick = np.argmin(other, axis=2)
        other_best = np.take_along_axis(other, pick[..., None], axis=2)[..., 0]
        prev, nxt, mid = r[pos - 1], r[pos + 1], r[pos]
        bridge = d[prev[None, :], cand[:, None]] + d[cand[:, None], nxt[None, :]] - d[prev, nxt]
        saved = d[prev, mid] + d[mid, nxt] - d[prev, nxt]
        cheapest = np.minimum(bridge, other_best)
        ok = cheapest <= (bud.limit[k] - used[k] + 1e-9) + saved[None, :]
        gain = bud.prize[cand][:, None] - bud.prize[mid][None, :]
        if bud.travel_weight > 0:
            extra_travel = (
                cheapest - saved[None, :] - bud.service[cand][:, None] + bud.service[mid][None, :]
            )
            gain = gain - bud.travel_weight * extra_travel
        ok &= gain > 0
        if not ok.any():
            continue
        score = np.where(ok, gain - 1e-9 * cheapest, -np.inf)
        c, q = np.unravel_index(int(np.argmax(score)), score.shape)
        key = (float(gain[c, q]), -float(cheapest[c, q]))
        if best is None or key > best[0]:
            p = int(pos[q])
            if bridge[c, q] <= other_best[c, q]:
                at = p
            else:
                e = int(idx3[c, pick[c, q]])
                at = e + 1 if e < p else e
            best = (key, k, p, int(cand[c]), at, float(cheapest[c, q] - saved[q]))
    if best is None:
        return False
    _, k, p, u, at, extra = best
    routes[k] = np.insert(np.delete(routes[k], p), at, u)
    used[k] += extra
    return True


def _seed_empty(
    bud: _Budgets, routes: list[np.ndarray], rng: np.random.Generator, chance: float
) -> list[np.ndarray]:
    """Start each empty route, with probability ``chance``, at a random unvisited stop.

    The greedy repair grows an empty route from the stop of best prize per extra second,
    which is near where the other routes already go; a random first stop lets a route move
    to another part of the map (the repair then fills it around that stop).
    """
    visited = np.zeros(len(bud.prize), dtype=bool)
    for r in routes:
        visited[r[1:-1]] = True
    out = list(routes)
    for k, r in enumerate(routes):
        if len(r) > 2 or rng.random() >= chance:
            continue
        free = bud.customers[~visited[bud.customers] & bud.allowed[k][bud.customers]]
        if not free.size:
            continue
        u = int(free[int(rng.integers(free.size))])
        out[k] = np.array([r[0], u, r[-1]], dtype=np.int64)
        visited[u] = True
    return out


def _improve(
    bud: _Budgets,
    routes: list[np.ndarray],
    rng: np.random.Generator,
    *,
    swaps: bool,
    noise: float = 0.2,
    cross: bool = False,
) -> list[np.ndarray]:
    """Shorten, exchange, insert and swap stops in ``routes`` while that helps.

    Routes are shortened by 2-opt, their tails exchanged (``cross``, :func:`_cross`), free
    stops inserted (:func:`_insert`) and visited ones swapped for better (``swaps``).
    """
    visited = np.zeros(len(bud.prize), dtype=bool)
    for r in routes:
        visited[r[1:-1]] = True
    free = bud.customers[~visited[bud.customers]]
    noise = rng.uniform(1.0 - noise, 1.0 + noise, size=len(bud.prize))
    routes = [_two_opt(bud.dur[k], r) for k, r in enumerate(routes)]
    used = [bud.duration(k, r) for k, r in enumerate(routes)]
    for _ in range(50):
        if cross and len(routes) > 1:
            for k in _cross(bud, routes, used):
                routes[k] = _two_opt(bud.dur[k], routes[k])
                used[k] = bud.duration(k, routes[k])
        before = [len(r) for r in routes]
        routes, free = _insert(bud, routes, used, free, noise)
        changed = [k for k, r in enumerate(routes) if len(r) != before[k]]
        if swaps and free.size and _swap_in(bud, routes, used, free):
            visited[:] = False
            for r in routes:
                visited[r[1:-1]] = True
            free = bud.customers[~visited[bud.customers]]
            changed = list(range(len(routes)))
        if not changed:
            break
        for k in changed:
            routes[k] = _two_opt(bud.dur[k], routes[k])
            used[k] = bud.duration(k, routes[k])
    return routes


class _RoutePool:
    """Routes met by the search, for recombination by set packing (CP-SAT).

    Vehicles that share profile, start, end, budget and allowed stops form a class; a pooled
    route fits every vehicle of its class. For each class and set of stops the pool keeps the
    shortest route found. :meth:`pack` picks at most one route per vehicle, no stop twice,
    of the highest total value (prize less weighted travel).
    """

    def __init__(self, bud: _Budgets, model: PrizeVRP):
        self.bud = bud
        keys: dict[tuple, int] = {}
        self.vehicle_class = []
        for k, v in enumerate(model.vehicles):
            key = (v.profile, v.start, v.end, bud.limit[k], bud.allowed[k].tobytes())
            self.vehicle_class.append(keys.setdefault(key, len(keys)))
        self.members = [
            [k for k, c in enumerate(self.vehicle_class) if c == cls] for cls in range(len(keys))
        ]
        self.routes: list[dict[frozenset, tuple[float, np.ndarray]]] = [{} for _ in keys]

    @property
    def size(self) -> int:
        """Number of pooled routes (distinct sets of stops per vehicle class)."""
        return sum(len(table) for table in self.routes)

    def add(self, routes: list[np.ndarray]) -> None:
        """Pool the non-empty routes of a solution (one route per vehicle)."""
        for k, r in enumerate(routes):
            if len(r) <= 2:
                continue
            stops = frozenset(r[1:-1].tolist())
            table = self.routes[self.vehicle_class[k]]
            length = float(self.bud.travel[k][r[:-1], r[1:]].sum())
            known = table.get(stops)
            if known is None or length < known[0] - 1e-9:
                table[stops] = (length, r)

    def pack(
        self, hint: list[np.ndarray], time_limit_s: float, *, deterministic: bool = False
    ) -> list[np.ndarray] | None:
        """Best combination of pooled routes found in the time, or None if none is found.

        ``hint`` (routes per vehicle, usually the best so far) is CP-SAT's first solution.
        With ``deterministic`` the limit is CP-SAT's deterministic time, so the answer does not
        depend on the machine's speed.
        """
        bud = self.bud
        self.add(hint)
        scale = 1000.0
        cp = cp_model.CpModel()
        chosen = []  # (class, route, variable, weight)
        by_node: dict[int, list] = {}
        hint_sets = {
            (self.vehicle_class[k], frozenset(r[1:-1].tolist())) for k, r in enumerate(hint)
        }
        for cls, table in enumerate(self.routes):
            per_class = []
            for stops, (length, r) in table.items():
                value = float(bud.prize[r[1:-1]].sum()) - bud.travel_weight * length
                if value <= 0:
                    continue
                x = cp.NewBoolVar("")
                per_class.append(x)
                chosen.append((cls, r, x, round(value * scale)))
                cp.AddHint(x, (cls, stops) in hint_sets)
                for u in stops:
                    by_node.setdefault(u, []).append(x)
            if per_class:
                cp.Add(sum(per_class) <= len(self.members[cls]))
        if not chosen:
            return None
        for xs in by_node.values():
            if len(xs) > 1:
                cp.AddAtMostOne(xs)
        cp.Maximize(sum(w * x for _, _, x, w in chosen))
        solver = cp_model.CpSolver()
        if deterministic:
            solver.parameters.max_deterministic_time = max(0.01, time_limit_s)
        else:
            solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
        solver.parameters.num_workers = 1
        status = solver.Solve(cp)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        out: list[np.ndarray | None] = [None] * len(self.vehicle_class)
        for cls, r, x, _ in chosen:
            if solver.Value(x):
                k = next(k for k in self.members[cls] if out[k] is None)
                out[k] = r
        for k, r in enumerate(out):
            if r is None:
                out[k] = np.array([hint[k][0], hint[k][-1]], dtype=np.int64)
        return out


def budget_search(
    model: PrizeVRP,
    routes: list[list[int]],
    *,
    rng: np.random.Generator,
    time_limit_s: float,
    iteration_limit: int | None = None,
    temperature: float = 2.0,
    epoch: int = 150,
    epoch_start: str = "best",
    swaps: bool = True,
    seed_empty: float = 0.0,
    noise: float = 0.2,
    pool_every: int = 0,
    pool_s: float = 0.5,
    cross: bool = False,
) -> list[list[int]]:
    """Ruin-and-recreate search in Python for models whose routes have duration budgets only.

    Each round ruins the current routes (:func:`_ruin`), shortens every route by 2-opt,
    inserts unvisited stops by prize per extra second, swaps visited stops for better unvisited
    ones, and repeats the last three while they help (:func:`_improve`). The result replaces the
    current solution when its value (prize less weighted travel) is at most a threshold below,
    the threshold falling from ``temperature`` mean prizes to 0 over an epoch of ``epoch``
    rounds. One walk settles within a few hundred rounds, in a local optimum that differs
    from walk to walk, so each epoch starts a new walk: from empty routes (``epoch_start``
    "empty"), from ``routes`` ("start") or from the best so far ("best"). Without OR-Tools in
    the loop a round takes milliseconds. Returns the best routes (full node sequences).

    Diversification: the repair ranks stops by prize per extra second times a random factor
    in ``1 +- noise`` drawn per round, and a route the ruin emptied restarts, with probability
    ``seed_empty``, at a random unvisited stop (:func:`_seed_empty`), so that a route can move
    to another part of the map. On the weak TOP instances (10 s, 2 workers, same runs) noise
    0.9 and seed_empty 1 gave mean gap 1.79 -> 1.21 % and 1.84 -> 1.41 % over noise 0.2 alone.

    Recombination: with ``pool_every`` > 0 every repaired solution's routes go into a
    :class:`_RoutePool`, and every ``pool_every`` rounds CP-SAT picks the best set of pooled
    routes that visit no stop twice (for at most ``pool_s`` seconds, deterministic time when
    ``iteration_limit`` is set). Walks end in different local optima whose routes are often
    good in different parts of the map; packing them keeps the best of each. A better packing,
    repaired, becomes the best and current solution. On 27 TOP instances (10 s, 2 workers,
    seeds 0 and 1) ``pool_every`` 300 gave mean gap 0.20 -> 0.16 %; 100 was worse than 300.

    Re-partition: with ``cross`` the repair also exchanges route tails (:func:`_cross`), which
    moves a part of the map from one route to another in one step. Without it a walk on the
    two-vehicle TOP instances often settles with the map split the wrong way (p4.2.i at 885
    or 886 instead of 918); on p4.2.h, p4.2.i, p4.4.o and p4.2.l (10 s, 2 workers, seeds 0
    and 3-5, same run) it gave mean gap 0.94 -> 0.45 % and max 3.49 -> 1.98 %.
    """
    t0 = time.perf_counter()
    bud = _Budgets.of(model)
    positive = bud.prize[bud.prize > 0]
    # Thresholds in units of the mean prize, so the search walks alike on any prize scale.
    temperature *= float(positive.mean()) if positive.size else 1.0
    given = [np.asarray(r, dtype=np.int64) for r in routes]
    empty = [np.array([v.start, v.end], dtype=np.int64) for v in model.vehicles]
    best, best_value = given, bud.value(given)
    current = _improve(bud, given, rng, swaps=swaps, noise=noise, cross=cross)
    current_value = bud.value(current)
    if current_value > best_value:
        best, best_value = current, current_value
    pool = _RoutePool(bud, model) if pool_every > 0 else None
    iteration = 0
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= time_limit_s:
            break
        if iteration_limit is not None and iteration >= iteration_limit:
            break
        if pool is not None and iteration and iteration % pool_every == 0:
            packed = pool.pack(
                best,
                min(pool_s, time_limit_s - elapsed),
                deterministic=iteration_limit is not None,
            )
            if packed is not None:
                packed = _improve(bud, packed, rng, swaps=swaps, noise=0.0, cross=cross)
                packed_value = bud.value(packed)
                if packed_value > best_value + 1e-9:
                    best, best_value = packed, packed_value
                    current, current_value = packed, packed_value
        if iteration and iteration % epoch == 0:
            begin = {"empty": empty, "start": given, "best": best}[epoch_start]
            current = _improve(bud, list(begin), rng, swaps=swaps, noise=noise, cross=cross)
            current_value = bud.value(current)
        progress = (iteration % epoch) / epoch
        iteration += 1
        removed = list(_ruin(model, [r.tolist() for r in current], rng))
        ruined = [r[~np.isin(r, removed)] for r in current]
        if seed_empty > 0:
            ruined = _seed_empty(bud, ruined, rng, seed_empty)
        cand = _improve(bud, ruined, rng, swaps=swaps, noise=noise, cross=cross)
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
    built: Built,
    config: SearchConfig,
    routes: list[list[int]],
    *,
    rng: np.random.Generator,
    time_limit_s: float,
    iteration_limit: int | None = None,
) -> tuple[list[list[int]], list[list[int]]] | None:
    """Ruin stops of ``routes`` in Python, re-insert them by OR-Tools' local search, repeat.

    The ILS of OR-Tools perturbs its current solution by small string removals; this outer
    loop also removes whole routes and pieces of every route, which moves a route to another
    area in one step. Each ruined solution goes through a greedy descent (whose insertion
    operators put back the stops that pay); it replaces the current one when its routing
    objective is at most a threshold above, the threshold falling linearly from
    ``config.lns_temperature`` prize units to 0. Returns the best routes and their times, or
    None when ``routes`` cannot be read back.
    """
    routing, manager = built.routing, built.manager
    t0 = time.perf_counter()
    params = search_parameters(config, time_limit_s=max(0.05, time_limit_s), scale=None)
    routing.CloseModelWithParameters(params)
    # The fast descent trusts OR-Tools' local-search filters, which do not see the revisit
    # constraints posted on the solver or the vehicle restrictions: re-check those in CP.
    model = built.model
    fast = config.lns_fast
    check = bool(model.revisit_groups) or any(v.allowed_nodes is not None for v in model.vehicles)

    def descend(stops: list[list[int]]):
        left = max(0.01, time_limit_s - (time.perf_counter() - t0))
        params.time_limit.FromMilliseconds(max(1, int(left * 1000)))
        indices = [[manager.NodeToIndex(u) for u in r] for r in stops]
        assignment = routing.ReadAssignmentFromRoutes(indices, True)
        if assignment is None:
            return None
        if fast:
            return routing.FastSolveFromAssignmentWithParameters(assignment, params, check)
        return routing.SolveFromAssignmentWithParameters(assignment, params)

    solved = descend([r[1:-1] for r in routes])
    if solved is None:
        return None
    current = best = read_routes(built, solved)
    current_cost = best_cost = solved.ObjectiveValue()
    best_times = read_times(built, solved)
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
        removed = _ruin(built.model, current, rng)
        threshold = (1.0 - progress) * config.lns_temperature * built.prize_scale * rng.random()
        ruined = [[u for u in r if u not in removed] for r in current]
        if config.lns_recreate:
            ruined = _recreate(built.model, ruined, rng, deadline=t0 + time_limit_s)
        solved = descend([r[1:-1] for r in ruined])
        if solved is None:
            continue
        cost = solved.ObjectiveValue()
        if cost <= current_cost + threshold:
            current, current_cost = read_routes(built, solved), cost
            if cost < best_cost:
                best, best_cost, best_times = current, cost, read_times(built, solved)
    return best, best_times


@dataclasses.dataclass(frozen=True)
class WorkerResult:
    """Candidate routes from one worker (picklable)."""

    candidates: tuple[tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]], ...]
    solutions_found: int
    seconds: float


def solve_worker(
    model: PrizeVRP,
    config: SearchConfig,
    *,
    seed: int,
    worker: int,
    time_limit_s: float,
    solution_limit: int | None = None,
    prize_factor: np.ndarray | None = None,
    arc_factor: np.ndarray | None = None,
    jitter: float = 0.1,
) -> WorkerResult:
    """One worker: iterated local search, large-neighbourhood search, cover-group touch-up.

    The ILS starts from scratch; the LNS continues from its result for ``config.lns_share`` of
    the time on duration-budget models (``lns_share_timed`` on the others): in Python
    (:func:`budget_search`, then an OR-Tools descent for ``lns_polish`` of that time) where
    :func:`_python_lns_applies`, else :func:`large_neighbourhood_search`.

    ``seed`` and ``worker`` seed the arc-cost jitter (``jitter`` = up to 10 % by default) and
    the LNS's choices, the only random inputs: OR-Tools' own search is deterministic, so with a
    ``solution_limit`` that stops before the time limit (the LNS then runs
    ``solution_limit // 10`` rounds, ``solution_limit`` in Python) the result depends on the seed
    only.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, worker])
    n = model.num_nodes
    factor = np.ones((n, n)) if arc_factor is None else np.asarray(arc_factor, dtype=float)
    if config.jitter is not None:
        jitter = config.jitter
    if jitter > 0 and (seed != 0 or worker != 0):
        factor = factor * rng.uniform(1.0, 1.0 + jitter, size=(n, n))
    candidates_of = cover_candidates(model)
    reps = {g: order[0] for g, order in enumerate(candidates_of)}
    built = build(
        model, representatives=reps, config=config, arc_factor=factor, prize_factor=prize_factor
    )
    found = [0]

    def count():
        found[0] += 1

    built.routing.AddAtSolutionCallback(count)
    main_s = time_limit_s * (0.9 if model.cover_groups else 1.0)
    share = config.lns_share if _budget_only(model) else config.lns_share_timed
    # With a solution limit the time limit is only a safety cap: the ILS may use all of it, so
    # that the limit on solutions, not the clock, ends it (the LNS is bounded by rounds then).
    ils_s = main_s if solution_limit is not None else main_s * (1.0 - share)
    assignment = run_search(built, config, time_limit_s=ils_s, solution_limit=solution_limit)
    if assignment is None:
        return WorkerResult((), found[0], time.perf_counter() - t0)
    routes = read_routes(built, assignment)
    candidates = [(routes, read_times(built, assignment))]

    def descent_model():
        """Build the model again for a plain greedy descent (the LNS and polish steps)."""
        descent = dataclasses.replace(
            config,
            iterated_local_search=False,
            metaheuristic="GREEDY_DESCENT",
            lean_operators=config.lean_operators or config.lns_lean,
        )
        again = build(
            model,
            representatives=reps,
            config=descent,
            arc_factor=factor,
            prize_factor=prize_factor,
        )
        return descent, again

    if share > 0 and config.lns_python and _python_lns_applies(model):
        left = max(0.05, main_s - (time.perf_counter() - t0))
        polish_s = left * config.lns_polish
        found_routes = budget_search(
            model,
            routes,
            rng=rng,
            time_limit_s=left - polish_s,
            iteration_limit=solution_limit,
            temperature=config.lns_temperature,
            epoch=config.lns_epoch,
            epoch_start=config.lns_epoch_start,
            swaps=config.lns_swaps,
            seed_empty=config.lns_seed_empty,
            noise=config.lns_noise,
            pool_every=config.lns_pool,
            pool_s=config.lns_pool_s,
            cross=config.lns_cross,
        )
        routes = found_routes
        candidates.append((routes, [list(model.schedule(k, r)) for k, r in enumerate(routes)]))
        if polish_s > 0:
            descent, polish_built = descent_model()
            left = max(0.05, main_s - (time.perf_counter() - t0))
            polished = run_search(
                polish_built, descent, time_limit_s=left, initial=[r[1:-1] for r in routes]
            )
            if polished is not None:
                routes = read_routes(polish_built, polished)
                candidates.append((routes, read_times(polish_built, polished)))
    elif share > 0:
        descent, lns_built = descent_model()
        improved = large_neighbourhood_search(
            lns_built,
            descent,
            routes,
            rng=rng,
            time_limit_s=max(0.05, main_s - (time.perf_counter() - t0)),
            iteration_limit=None if solution_limit is None else max(1, solution_limit // 10),
        )
        if improved is not None:
            routes = improved[0]
            candidates.append(improved)
    touch = dataclasses.replace(config, iterated_local_search=False, metaheuristic="GREEDY_DESCENT")
    for _ in range(3 if model.cover_groups else 0):
        # Representatives move to visited nodes (the routing objective then counts those
        # groups as covered) or, for uncovered groups, to their next candidate; a short
        # descent from the current routes then re-balances stops against cover penalties.
        moved = moved_representatives(model, reps, routes, candidates_of)
        if moved == reps:
            break
        reps = moved
        rebuilt = build(
            model,
            representatives=reps,
            config=touch,
            arc_factor=factor,
            prize_factor=prize_factor,
        )
        left = max(0.05, time_limit_s - (time.perf_counter() - t0))
        again = run_search(rebuilt, touch, time_limit_s=left, initial=[r[1:-1] for r in routes])
        if again is None:
            break
        routes = read_routes(rebuilt, again)
        candidates.append((routes, read_times(rebuilt, again)))
    frozen = tuple(
        (tuple(tuple(r) for r in rs), tuple(tuple(t) for t in ts)) for rs, ts in candidates
    )
    return WorkerResult(frozen, found[0], time.perf_counter() - t0)
