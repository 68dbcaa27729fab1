"""The large-neighbourhood search for every model: time windows, revisits, covers, breaks.

:func:`timed_search` continues from OR-Tools' routes (or from nothing) with rounds of ruin and
greedy re-insertion and local search, compiled by numba (:mod:`._kernels`), with
the acceptance of the budget search (a threshold falling to 0 over each epoch). It knows
every rule of a :class:`~gridplan.routing.solver.model.PrizeVRP`: each node's window, each
vehicle's earliest start, latest end and longest duration, the most-wait, allowed stops,
revisit groups with their gaps and order, cover groups (their penalties are part of the
value) and the balance term; a route shorter than its vehicle's shortest outing counts for
nothing (the repair after the search lengthens it or gives it up).

Moves are judged in O(1) by forward and backward intervals of service starts per route
(:mod:`._kernels`); duration limits and revisit gaps, which depend on the whole schedule, are
checked in full for the move that is about to be made only.

:class:`TimedData` is the model as flat arrays for the compiled code.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import NamedTuple

import numpy as np

from gridplan.routing.solver.lns import _kernels
from gridplan.routing.solver.lns import labels
from gridplan.routing.solver.lns._kernels import BIG
from gridplan.routing.solver.model import CoverGroup
from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.model import RevisitGroup
from gridplan.routing.solver.model import Vehicle
from gridplan.routing.solver.params import LnsParams


class TimedData(NamedTuple):
    """A :class:`PrizeVRP` as arrays (times in whole seconds, ``BIG`` for "no limit")."""

    travel: np.ndarray  # (P, n, n) int64
    arc_factor: np.ndarray  # (n, n), or (1, 1) for none
    travel_weight: float
    profile: np.ndarray  # (K,)
    service: np.ndarray  # (n,)
    open: np.ndarray  # (n,) windows
    close: np.ndarray
    prize: np.ndarray  # (n,) float, times the prize factor
    earliest_start: np.ndarray  # (K,)
    latest_end: np.ndarray
    max_duration: np.ndarray
    min_duration: np.ndarray
    start: np.ndarray
    end: np.ndarray
    allowed: np.ndarray  # (K, n) bool
    max_wait: int
    has_groups: bool
    group: np.ndarray  # (n,) revisit group of each node, -1 for none
    group_rank: np.ndarray  # (n,) copy number within its group
    group_ptr: np.ndarray  # (G + 1,) CSR of the groups' nodes, in copy order
    group_nodes: np.ndarray
    group_gap: np.ndarray  # (G,)
    cover_ptr: np.ndarray  # (n + 1,) CSR: the cover groups of each node
    cover_idx: np.ndarray
    cover_node_ptr: np.ndarray  # (C + 1,) CSR: the nodes of each cover group
    cover_nodes: np.ndarray
    cover_penalty: np.ndarray  # (C,) float
    balance_weight: float
    customers: np.ndarray  # nodes worth visiting: a prize or a cover group
    is_candidate: np.ndarray  # (n,) bool
    granular: bool  # moves look at each stop's nearest stops only (large models)
    near: np.ndarray  # (n, NEAR) the nearest candidates of each node, -1 padded


def timed_data(
    model: PrizeVRP,
    *,
    arc_factor: np.ndarray | None = None,
    prize_factor: np.ndarray | None = None,
) -> TimedData:
    """Return ``model`` as arrays for the compiled search (factors as in the solver)."""
    n = model.num_nodes
    vehicles = model.vehicles
    prize = model.prize.astype(float)
    if prize_factor is not None:
        prize = prize * np.asarray(prize_factor, dtype=float)
    windows = model.time_windows
    groups = _groups(model)
    covers = _covers(model)
    in_cover = np.diff(covers[0]) > 0
    depots = np.zeros(n, dtype=bool)
    depots[list(model.depots)] = True
    is_candidate = ~depots & ((prize > 0) | in_cover)
    allowed = np.zeros((len(vehicles), n), dtype=bool)
    for k, v in enumerate(vehicles):
        if v.allowed_nodes is None:
            allowed[k] = ~depots
        else:
            allowed[k, list(v.allowed_nodes)] = True
    return TimedData(
        travel=np.stack(model.travel).astype(np.int64),
        arc_factor=(np.ones((1, 1)) if arc_factor is None else np.asarray(arc_factor, dtype=float)),
        travel_weight=float(model.travel_weight),
        profile=np.array([v.profile for v in vehicles], dtype=np.int64),
        service=model.service.astype(np.int64),
        open=np.zeros(n, dtype=np.int64) if windows is None else windows[:, 0].astype(np.int64),
        close=np.full(n, BIG, dtype=np.int64) if windows is None else windows[:, 1].copy(),
        prize=prize,
        earliest_start=_per_vehicle(model, lambda k, v: v.earliest_start),
        latest_end=_per_vehicle(model, lambda k, v: model.vehicle_latest_end(k)),
        max_duration=_per_vehicle(model, lambda k, v: v.max_duration),
        min_duration=_per_vehicle(model, lambda k, v: v.min_duration or 0),
        start=_per_vehicle(model, lambda k, v: v.start),
        end=_per_vehicle(model, lambda k, v: v.end),
        allowed=allowed,
        max_wait=int(BIG if model.max_wait is None else model.max_wait),
        has_groups=bool(model.revisit_groups),
        **groups,
        cover_ptr=covers[0],
        cover_idx=covers[1],
        cover_node_ptr=covers[2],
        cover_nodes=covers[3],
        cover_penalty=np.array([g.penalty for g in model.cover_groups], dtype=float),
        balance_weight=float(model.balance_weight),
        customers=np.flatnonzero(is_candidate).astype(np.int64),
        is_candidate=is_candidate,
        **_neighbours(model, is_candidate),
    )


#: Models with more candidate stops than this search granular neighbourhoods: a stop is
#: inserted only next to one of its NEAR nearest stops (or into an empty route) and replaced
#: only by one of them, as in HGS; on smaller models the full scan is cheap and finds more.
GRANULAR_FROM = 300
NEAR = 40


def _neighbours(model: PrizeVRP, is_candidate: np.ndarray) -> dict:
    """Each node's NEAR nearest candidate stops by travel either way (first profile)."""
    n = model.num_nodes
    cand = np.flatnonzero(is_candidate)
    if len(cand) <= GRANULAR_FROM:
        return {"granular": False, "near": np.full((n, 1), -1, dtype=np.int64)}
    t = model.travel[0]
    gap = np.minimum(t[:, cand], t[cand, :].T).astype(float)
    gap[cand, np.arange(len(cand))] = np.inf  # not itself
    order = np.argpartition(gap, NEAR, axis=1)[:, :NEAR]
    order = np.take_along_axis(order, np.argsort(np.take_along_axis(gap, order, 1), 1), 1)
    return {"granular": True, "near": cand[order].astype(np.int64)}


def _per_vehicle(model: PrizeVRP, get) -> np.ndarray:
    values = [get(k, v) for k, v in enumerate(model.vehicles)]
    return np.array([BIG if x is None else x for x in values], dtype=np.int64)


def _groups(model: PrizeVRP) -> dict[str, np.ndarray]:
    n = model.num_nodes
    group = np.full(n, -1, dtype=np.int64)
    rank = np.zeros(n, dtype=np.int64)
    ptr, nodes = [0], []
    for g, rg in enumerate(model.revisit_groups):
        group[list(rg.nodes)] = g
        rank[list(rg.nodes)] = np.arange(len(rg.nodes))
        nodes.extend(rg.nodes)
        ptr.append(len(nodes))
    return {
        "group": group,
        "group_rank": rank,
        "group_ptr": np.array(ptr, dtype=np.int64),
        "group_nodes": np.array(nodes, dtype=np.int64),
        "group_gap": np.array([g.min_gap for g in model.revisit_groups], dtype=np.int64),
    }


def _covers(model: PrizeVRP) -> tuple[np.ndarray, ...]:
    """CSR tables: cover groups per node, and nodes per cover group."""
    n = model.num_nodes
    of_node: list[list[int]] = [[] for _ in range(n)]
    node_ptr, nodes = [0], []
    for c, g in enumerate(model.cover_groups):
        for u in g.nodes:
            of_node[u].append(c)
        nodes.extend(g.nodes)
        node_ptr.append(len(nodes))
    ptr = np.cumsum([0] + [len(x) for x in of_node]).astype(np.int64)
    idx = np.array([c for x in of_node for c in x], dtype=np.int64)
    return ptr, idx, np.array(node_ptr, dtype=np.int64), np.array(nodes, dtype=np.int64)


def knobs(data: TimedData, params: LnsParams) -> _kernels.Knobs:
    """Return the walk's settings for ``data`` (thresholds in units of its mean prize)."""
    positive = data.prize[data.prize > 0]
    mean = float(positive.mean()) if positive.size else 1.0
    return _kernels.Knobs(
        temperature=params.temperature * mean,
        epoch=int(params.epoch),
        noise=float(params.noise),
        power=float(params.power),
        most_removed=int(params.most_removed),
        replace=bool(params.swaps),
        tails=bool(params.cross),
        relocate=bool(params.relocate),
        or_opt=bool(params.or_opt),
        restart=int(params.restart),
        crossover=float(params.crossover),
        segment=float(params.segment),
    )


def timed_search(
    model: PrizeVRP,
    routes: list[list[int]] | None,
    params: LnsParams,
    *,
    seed: int,
    time_limit_s: float,
    iteration_limit: int | None = None,
    arc_factor: np.ndarray | None = None,
    prize_factor: np.ndarray | None = None,
) -> tuple[list[list[int]], list[list[int]], int]:
    """Search from ``routes`` (full node sequences; ``None``: empty) and return the best.

    Stops after ``time_limit_s`` seconds or, reproducibly, ``iteration_limit`` rounds
    (whichever comes first); the result depends on ``seed`` alone when the rounds end it.
    Returns the best routes (full node sequences), their service-start times and the
    number of rounds run.
    """
    t0 = time.perf_counter()
    data = timed_data(model, arc_factor=arc_factor, prize_factor=prize_factor)
    if routes is None:
        routes = [[v.start, v.end] for v in model.vehicles]
    routes = _feasible_or_empty(model, data, routes)
    if params.labels > 0 and labels.applies(data):
        seconds = None if iteration_limit is not None else time_limit_s * params.labels_share
        built = labels.label_routes_within(data, params.labels, seconds)
        routes = labels.better(data, routes, built)
    state = _kernels.new_state(data, routes)
    walk = new_walk(state)
    _kernels.seed(int(seed) % (2**32))
    _kernels.start(data, state, walk)
    settings = knobs(data, params)
    chunk = 1
    while True:
        done = int(walk.figures[3])
        if iteration_limit is not None and done >= iteration_limit:
            break
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            break
        count = chunk if iteration_limit is None else min(chunk, iteration_limit - done)
        began = time.perf_counter()
        _kernels.rounds(data, state, walk, settings, count)
        spent = time.perf_counter() - began
        # about 20 calls a second: the time limit is kept within ~50 ms
        chunk = max(1, min(4 * chunk, int(count * 0.05 / max(spent, 1e-6))))
    state.routes[:] = walk.top
    state.size[:] = walk.top_size
    _kernels.refresh_all(data, state)
    out_routes = [state.routes[k, : state.size[k]].tolist() for k in range(model.num_vehicles)]
    out_times = [state.times[k, : state.size[k]].tolist() for k in range(model.num_vehicles)]
    return out_routes, out_times, int(walk.figures[3])


#: How many ended walks' bests the search keeps for recombination (``LnsParams.crossover``).
ELITES = 8


def new_walk(state: _kernels.State) -> _kernels.Walk:
    """Return an empty walk's memory for routes shaped as ``state``'s."""
    k_count, cap = state.routes.shape
    return _kernels.Walk(
        current=np.zeros((k_count, cap), dtype=np.int64),
        current_size=np.zeros(k_count, dtype=np.int64),
        best=np.zeros((k_count, cap), dtype=np.int64),
        best_size=np.zeros(k_count, dtype=np.int64),
        top=np.zeros((k_count, cap), dtype=np.int64),
        top_size=np.zeros(k_count, dtype=np.int64),
        elite=np.zeros((ELITES, k_count, cap), dtype=np.int64),
        elite_size=np.zeros((ELITES, k_count), dtype=np.int64),
        elite_fig=np.zeros((ELITES, 2)),
        figures=np.zeros(8),
    )


def _feasible_or_empty(model, data, routes):
    """``routes`` where each route is feasible for the search, else the vehicle's empty route."""
    out = []
    probe = _kernels.new_state(data, [[v.start, v.end] for v in model.vehicles])
    for k, r in enumerate(routes):
        r = [int(u) for u in r]
        m = len(r)
        row = np.zeros(probe.routes.shape[1], dtype=np.int64)
        row[:m] = r
        ok = m >= 2 and _kernels.route_ok(data, probe, k, row, m)
        out.append(r if ok else [model.vehicles[k].start, model.vehicles[k].end])
        if ok:
            probe.routes[k, :m] = r
            probe.size[k] = m
            _kernels.refresh(data, probe, k)
    return out


@functools.cache
def warm_up() -> None:
    """Compile the search once per process (from numba's disk cache when it is there).

    The first call ever on an installation compiles it (about 20 s on a slow core) and
    writes numba's cache beside the package; later processes load that in well under a
    second. :func:`~gridplan.routing.solver.solve.solve_prize_vrp` calls this before its
    clock starts and before it forks its workers, which then share the compiled code.
    """
    travel = np.array([[0, 5, 5, 5], [5, 0, 10**6, 5], [5, 10**6, 0, 5], [5, 5, 5, 0]])
    model = PrizeVRP(
        travel=(travel,),
        service=[0, 1, 1, 1],
        prize=[0, 3, 3, 2],
        vehicles=(Vehicle("warm", latest_end=100, max_duration=90),),
        time_windows=[[0, 100]] * 4,
        revisit_groups=(RevisitGroup((1, 2), min_gap=3),),
        cover_groups=(CoverGroup((3,), 1),),
        max_wait=5,
    )
    timed_search(model, None, LnsParams(), seed=0, time_limit_s=60, iteration_limit=3)
    plain = dataclasses.replace(model, revisit_groups=(), cover_groups=())
    labels.label_routes(timed_data(plain), 10)  # the labelling's kernels too
