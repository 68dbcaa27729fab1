"""Whole routes by labelling: the best single route through the free stops, vehicle by vehicle.

The greedy recreate and the ruin of :mod:`~gridplan.routing.solver.lns.timed` change a few
stops at a time; where the best route differs from the one found by a whole cluster of
stops spread over the day (Cordeau's pr05 with one vehicle: 591 against the optimum 595),
no such step leads from one to the other. :func:`label_routes` builds routes whole, by the
capped labelling algorithm of :mod:`._labels`: for the first vehicle the best route through
every stop, for the next the best through the stops left, and so on. The time-window search
then starts from these routes where they are worth more than the ones it was given.

It applies to models whose rules a single route's labels can see: windows, the vehicle's
earliest start and latest end, allowed stops, a most-wait (kept on the earliest schedule),
the longest duration (counted from the departure that serves the first stop on time) and
weighted travel. Revisit groups and cover groups tie routes and stops together, so
models with them are left to the search alone (:func:`applies`). Every route is checked
in full before it is used.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from gridplan.routing.solver.lns import _kernels
from gridplan.routing.solver.lns import _labels

if TYPE_CHECKING:
    from gridplan.routing.solver.lns.timed import TimedData

#: Models with more candidate stops than this are left to the search (the reach tables take
#: ``stops ** 2 / 8`` bytes and the labels grow with the stops).
MOST_STOPS = 400
#: The most labels one route may make (about 70 bytes each for 300 stops).
BUDGET = 1_500_000


def applies(data: TimedData) -> bool:
    """Whether labelling can build ``data``'s routes (see the module's description)."""
    return (
        not data.has_groups
        and len(data.cover_penalty) == 0
        and 0 < len(data.customers) <= MOST_STOPS
    )


def label_route(
    data: TimedData, k: int, free: np.ndarray, prize: np.ndarray, per_stop: int
) -> list[int]:
    """Return the best route found for vehicle ``k`` through the stops ``free`` marks.

    A full node sequence (start depot to end depot); ``prize`` replaces the model's prizes
    (e.g. with noise); at most ``per_stop`` labels are kept at each stop.
    """
    start, end = int(data.start[k]), int(data.end[k])
    stops = data.customers[free[data.customers] & data.allowed[k, data.customers]]
    stops = stops[(stops != start) & (stops != end)]
    if len(stops) == 0:
        return [start, end]
    local = np.concatenate([stops, [start, end]])
    travel = data.travel[data.profile[k]][np.ix_(local, local)]
    cost = data.travel_weight * travel
    if data.arc_factor.shape[0] > 1:
        cost = cost * data.arc_factor[np.ix_(local, local)]
    service = data.service[local]
    close = data.close[stops]
    tables = _labels.reach_tables(travel, service, close)
    path, _ = _labels.best_route(
        tables,
        travel,
        np.ascontiguousarray(cost, dtype=float),
        service,
        data.open[stops],
        close,
        prize[stops].astype(float),
        int(max(data.earliest_start[k], data.open[start])),
        int(min(data.latest_end[k], data.close[end])),
        int(data.max_wait),
        int(data.max_duration[k]),
        int(per_stop),
        BUDGET,
    )
    return [start, *stops[path].tolist(), end]


def label_routes(
    data: TimedData, per_stop: int, prize: np.ndarray | None = None
) -> list[list[int]]:
    """Return one route per vehicle, each the best found through the stops the earlier left.

    Every route is checked in full (:func:`~._kernels.route_ok`); one that breaks a rule
    is left empty (the labels keep the rules on their own schedule, the check on the
    search's).
    """
    prize = data.prize if prize is None else prize
    empty = [[int(a), int(b)] for a, b in zip(data.start, data.end, strict=True)]
    state = _kernels.new_state(data, empty)
    free = np.ones(len(data.service), dtype=bool)
    out = []
    for k in range(len(empty)):
        route = label_route(data, k, free, prize, per_stop)
        row = np.zeros(state.routes.shape[1], dtype=np.int64)
        row[: len(route)] = route
        if len(route) > 2 and not _kernels.route_ok(data, state, k, row, len(route)):
            route = empty[k]
        free[route[1:-1]] = False
        out.append(route)
    return out


#: The labels kept per stop in the first pass of :func:`label_routes_within` (each later
#: pass doubles it); more keeps more partial routes alive and finds better ones, slower.
FIRST_PER_STOP = 50


def label_routes_within(
    data: TimedData, most_per_stop: int, seconds: float | None
) -> list[list[int]]:
    """Return the best of :func:`label_routes` with 50, 100, ... up to ``most_per_stop`` per stop.

    Each pass takes about twice the time of the one before; a pass starts only while its
    expected time (twice the last) still fits in ``seconds``. ``None``: one pass with
    ``most_per_stop``, which depends on the model alone (for searches stopped by a work
    limit).
    """
    if seconds is None:
        return label_routes(data, most_per_stop)
    t0 = time.perf_counter()
    per_stop, best = min(FIRST_PER_STOP, most_per_stop), None
    while True:
        began = time.perf_counter()
        best = better(data, best, label_routes(data, per_stop))
        spent = time.perf_counter() - began
        left = seconds - (time.perf_counter() - t0)
        if per_stop >= most_per_stop or 2.0 * spent > left:
            return best
        per_stop = min(2 * per_stop, most_per_stop)


def better(
    data: TimedData, routes: list[list[int]] | None, other: list[list[int]]
) -> list[list[int]]:
    """Return the better of two sets of routes by the search's value (``routes`` on a tie)."""
    if routes is None:
        return other
    mine = _kernels.value(data, _kernels.new_state(data, routes))
    theirs = _kernels.value(data, _kernels.new_state(data, other))
    return other if _kernels._better(theirs[0], theirs[1], mine[0], mine[1]) else routes
