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
  shift bounds on the start and end cumuls and ``max_duration`` as a span upper bound;
  ``max_wait`` bounds the slack (the start cumul stays free, so departure may be late). A
  vehicle's ``min_duration`` is not in the routing model (a lower bound on an active route's
  span stops the insertion heuristics from building any route): short routes are lengthened
  or given up afterwards (:func:`~gridplan.routing.solver.lengthen.lengthen`). The balance
  weight is a global span cost on this dimension.
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

Besides the routing model (:func:`build`, :func:`search_parameters`, :func:`run_search`,
:func:`read_routes`) it holds the OR-Tools side of the large-neighbourhood search
(:class:`Descent`) and the CP-SAT set packing of the route pool (:func:`pack_routes`).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable

import numpy as np
from ortools.constraint_solver import pywrapcp
from ortools.constraint_solver import routing_enums_pb2
from ortools.constraint_solver import routing_heuristic_parameters_pb2
from ortools.constraint_solver import routing_ils_pb2
from ortools.sat.python import cp_model
from ortools.util import optional_boolean_pb2

from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.params import OrtoolsParams

_FSS = routing_enums_pb2.FirstSolutionStrategy
_LSM = routing_enums_pb2.LocalSearchMetaheuristic
_RCS = routing_ils_pb2.RuinCompositionStrategy
_CSS = routing_ils_pb2.CoolingScheduleStrategy
_ISP = routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters.InsertionSortingProperty
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
    params: OrtoolsParams | None = None,
    *,
    representatives: dict[int, int] | None = None,
    arc_factor: np.ndarray | None = None,
    prize_factor: np.ndarray | None = None,
) -> Built:
    """Build the routing model.

    ``representatives`` maps a cover-group index to the node carrying its penalty;
    ``arc_factor`` (``(n, n)``) and ``prize_factor`` (``(n,)``) multiply arc costs and drop
    penalties (seeded jitter for diversification and route variants).
    """
    params = params or OrtoolsParams()
    n = model.num_nodes
    starts = [v.start for v in model.vehicles]
    ends = [v.end for v in model.vehicles]
    manager = pywrapcp.RoutingIndexManager(n, model.num_vehicles, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    scale = prize_scale(model)
    tie = 1 if params.tie_break else 0
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

    time_dim = _add_time(model, manager, routing, transit_idx, scale)
    _add_drops(model, manager, routing, _penalties(model, scale, representatives, prize_factor))
    horizon = model.horizon
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


def _add_time(model: PrizeVRP, manager, routing, transit_idx: dict, scale: int):
    """Add the time dimension: shifts, maximum durations, windows and the balance cost."""
    horizon, n = model.horizon, model.num_nodes
    slack = horizon if model.max_wait is None else int(model.max_wait)
    routing.AddDimensionWithVehicleTransits(
        [transit_idx[v.profile] for v in model.vehicles], slack, horizon, False, "time"
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
    return time_dim


def _penalties(
    model: PrizeVRP,
    scale: int,
    representatives: dict[int, int] | None,
    prize_factor: np.ndarray | None,
) -> np.ndarray:
    """Drop penalty per node: ``scale`` times its prize plus the cover groups it carries."""
    bonus = np.zeros(model.num_nodes, dtype=np.int64)
    for g, node in (representatives or {}).items():
        bonus[node] += model.cover_groups[g].penalty
    penalty = scale * (model.prize + bonus).astype(float)
    if prize_factor is not None:
        penalty = penalty * prize_factor
    return penalty


def _add_drops(model: PrizeVRP, manager, routing, penalty: np.ndarray) -> None:
    """Let every customer be dropped at ``penalty``, and visited only by allowed vehicles."""
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


def search_parameters(
    config: OrtoolsParams,
    *,
    time_limit_s: float | None,
    solution_limit: int | None = None,
    scale: int | None = None,
):
    """OR-Tools search parameters for ``config`` and the limits.

    ``scale`` (:attr:`Built.prize_scale`) turns the annealing temperatures from prize units
    into routing-cost units.
    """
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
    config: OrtoolsParams,
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
    model: PrizeVRP, config: OrtoolsParams, *, time_limit_s: float
) -> tuple[list[list[int]], list[list[int]], float]:
    """Single search (for benchmarks): node sequences, times and seconds."""
    t0 = time.perf_counter()
    built = build(model, config)
    assignment = run_search(built, config, time_limit_s=time_limit_s)
    if assignment is None:
        routes = [[v.start, v.end] for v in model.vehicles]
        return routes, [list(model.schedule(k, r)) for k, r in enumerate(routes)], 0.0
    return read_routes(built, assignment), read_times(built, assignment), time.perf_counter() - t0


def unknown_names(params: OrtoolsParams) -> list[str]:
    """Problems with the OR-Tools names in ``params`` (strategies, sortings, operators)."""
    enums = {
        "first_solution": _FSS.Value,
        "metaheuristic": _LSM.Value,
        "recreate": _FSS.Value,
        "ils_cooling": _CSS.Value,
        "ils_composition": _RCS.Value,
    }
    problems = []
    for name, enum in enums.items():
        allowed = [k for k in enum.keys() if k != "UNSET"]
        problems += _not_in(name, [getattr(params, name)], allowed)
    prefix = "SORTING_PROPERTY_"
    sortings = [k.removeprefix(prefix) for k in _ISP.keys() if k != f"{prefix}UNSPECIFIED"]
    problems += _not_in("recreate_sorting", params.recreate_sorting, sortings)
    fields = pywrapcp.DefaultRoutingSearchParameters().local_search_operators.DESCRIPTOR.fields
    operators = [f.name.removeprefix("use_") for f in fields if f.name.startswith("use_")]
    problems += _not_in("operators", params.operators, operators)
    return problems


def _not_in(name: str, values: Iterable[str], allowed: list[str]) -> list[str]:
    return [
        f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}; pick one of them"
        for value in values
        if value not in allowed
    ]


class Descent:
    """Greedy descents of a built model from given stops, all within one time limit.

    The repair step of :func:`~gridplan.routing.solver.lns.search.large_neighbourhood_search`:
    each call reads the stops into an assignment and lets OR-Tools' local search (whose
    insertion operators put back the stops that pay) descend from it for the time left.
    """

    def __init__(
        self, built: Built, params: OrtoolsParams, *, time_limit_s: float, fast: bool = False
    ):
        self.built = built
        self.t0 = time.perf_counter()
        self.time_limit_s = time_limit_s
        self.params = search_parameters(params, time_limit_s=max(0.05, time_limit_s), scale=None)
        built.routing.CloseModelWithParameters(self.params)
        self.fast = fast
        # The fast descent trusts OR-Tools' local-search filters, which do not see the revisit
        # constraints posted on the solver or the vehicle restrictions: re-check those in CP.
        model = built.model
        self.check = bool(model.revisit_groups) or any(
            v.allowed_nodes is not None for v in model.vehicles
        )

    def __call__(self, stops: list[list[int]]):
        """Descend from ``stops`` (routes without depots); the assignment, or None."""
        routing, manager = self.built.routing, self.built.manager
        left = max(0.01, self.time_limit_s - (time.perf_counter() - self.t0))
        self.params.time_limit.FromMilliseconds(max(1, int(left * 1000)))
        indices = [[manager.NodeToIndex(u) for u in r] for r in stops]
        assignment = routing.ReadAssignmentFromRoutes(indices, True)
        if assignment is None:
            return None
        if self.fast:
            return routing.FastSolveFromAssignmentWithParameters(
                assignment, self.params, self.check
            )
        return routing.SolveFromAssignmentWithParameters(assignment, self.params)


def pack_routes(
    columns: list[tuple[int, Iterable[int], int, bool]],
    caps: list[int],
    time_limit_s: float,
    *,
    deterministic: bool = False,
) -> list[int] | None:
    """Best set of routes that visit no stop twice (CP-SAT set packing); None if none found.

    ``columns`` are ``(class, stops, weight, hinted)``: at most ``caps[class]`` routes of a
    class are chosen, the total weight is maximised, and ``hinted`` ones form CP-SAT's first
    solution. Returns the indices of the chosen columns, ascending. With ``deterministic``
    the limit is CP-SAT's deterministic time, so the answer does not depend on the
    machine's speed.
    """
    cp = cp_model.CpModel()
    chosen = []
    per_class: dict[int, list] = {}
    by_node: dict[int, list] = {}
    for cls, stops, _, hinted in columns:
        x = cp.NewBoolVar("")
        chosen.append(x)
        per_class.setdefault(cls, []).append(x)
        cp.AddHint(x, hinted)
        for u in stops:
            by_node.setdefault(u, []).append(x)
    for cls, xs in per_class.items():
        cp.Add(sum(xs) <= caps[cls])
    for xs in by_node.values():
        if len(xs) > 1:
            cp.AddAtMostOne(xs)
    cp.Maximize(sum(w * x for (_, _, w, _), x in zip(columns, chosen, strict=True)))
    solver = cp_model.CpSolver()
    if deterministic:
        solver.parameters.max_deterministic_time = max(0.01, time_limit_s)
    else:
        solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.num_workers = 1
    status = solver.Solve(cp)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return [i for i, x in enumerate(chosen) if solver.Value(x)]
