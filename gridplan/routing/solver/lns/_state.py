"""The solution the time-window search works on, and the compiled steps that change it.

:class:`State` holds the routes as rows of one array with, per position, the forward and
backward intervals of :mod:`._routes`, the schedule, and per node the route and position it
is in. :func:`refresh` recomputes one route after a change; :func:`route_ok` checks a route
that is only being considered (its schedule, its duration, the revisit gaps against every
other route); :func:`insert_at` and :func:`remove_at` change a route; :func:`value` is the
search objective.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from gridplan.routing.solver.lns._routes import BIG
from gridplan.routing.solver.lns._routes import arc_cost
from gridplan.routing.solver.lns._routes import backward
from gridplan.routing.solver.lns._routes import forward
from gridplan.routing.solver.lns._routes import schedule


class State(NamedTuple):
    """Routes and what the moves need about them (arrays changed in place)."""

    routes: np.ndarray  # (K, cap) node numbers, start depot to end depot
    size: np.ndarray  # (K,) nodes in each row, depots included
    fe: np.ndarray  # (K, cap) forward intervals
    fl: np.ndarray
    be: np.ndarray  # (K, cap) backward intervals
    bl: np.ndarray
    times: np.ndarray  # (K, cap) the schedule
    duration: np.ndarray  # (K,)
    route_of: np.ndarray  # (n,) route of each node, -1 when not visited
    pos_of: np.ndarray  # (n,)
    node_time: np.ndarray  # (n,) service start of each visited node
    cover_count: np.ndarray  # (C,) visited nodes of each cover group
    scratch: np.ndarray  # (6, cap) for routes under consideration
    mark: np.ndarray  # (n,) -1, or a tentative time while a route is checked


def new_state(d, routes: list[list[int]]) -> State:
    """Allocate a state for model data ``d`` and fill it with ``routes`` (full sequences)."""
    k_count = len(d.start)
    n = len(d.service)
    cap = n + 2  # any node may be on a route (OR-Tools' may visit zero-prize ones)
    state = State(
        routes=np.zeros((k_count, cap), dtype=np.int64),
        size=np.zeros(k_count, dtype=np.int64),
        fe=np.zeros((k_count, cap), dtype=np.int64),
        fl=np.zeros((k_count, cap), dtype=np.int64),
        be=np.zeros((k_count, cap), dtype=np.int64),
        bl=np.zeros((k_count, cap), dtype=np.int64),
        times=np.zeros((k_count, cap), dtype=np.int64),
        duration=np.zeros(k_count, dtype=np.int64),
        route_of=np.full(n, -1, dtype=np.int64),
        pos_of=np.zeros(n, dtype=np.int64),
        node_time=np.zeros(n, dtype=np.int64),
        cover_count=np.zeros(len(d.cover_penalty), dtype=np.int64),
        scratch=np.zeros((6, cap), dtype=np.int64),
        mark=np.full(n, -1, dtype=np.int64),
    )
    load(d, state, routes)
    return state


def load(d, state: State, routes: list[list[int]]) -> None:
    """Put ``routes`` (full node sequences, one per vehicle) into ``state``."""
    for k, r in enumerate(routes):
        state.routes[k, : len(r)] = r
        state.size[k] = len(r)
    refresh_all(d, state)


@numba.njit(cache=True)
def refresh(d, s, k):  # pragma: no cover - compiled
    """Recompute route ``k``'s intervals, schedule and node index; False when infeasible."""
    m = s.size[k]
    nodes = s.routes[k]
    ok = forward(d, k, nodes, m, s.fe[k], s.fl[k])
    ok = backward(d, k, nodes, m, s.be[k], s.bl[k]) and ok
    if ok:
        s.duration[k] = schedule(d, k, nodes, m, s.be[k], s.bl[k], s.times[k])
    else:
        s.duration[k] = BIG
    for i in range(1, m - 1):
        u = nodes[i]
        s.route_of[u] = k
        s.pos_of[u] = i
        s.node_time[u] = s.times[k, i]
    return ok


@numba.njit(cache=True)
def refresh_all(d, s):  # pragma: no cover - compiled
    """Recompute every route and the cover counts from the routes alone."""
    s.route_of[:] = -1
    s.cover_count[:] = 0
    for k in range(len(s.size)):
        refresh(d, s, k)
        for i in range(1, s.size[k] - 1):
            count_covers(d, s, s.routes[k, i], 1)


@numba.njit(cache=True)
def count_covers(d, s, u, step):  # pragma: no cover - compiled
    """Add ``step`` to the visited count of each cover group of node ``u``."""
    for j in range(d.cover_ptr[u], d.cover_ptr[u + 1]):
        s.cover_count[d.cover_idx[j]] += step


@numba.njit(cache=True)
def cover_bonus(d, s, u):  # pragma: no cover - compiled
    """Penalties that visiting ``u`` would save: its cover groups nothing visits yet."""
    bonus = 0.0
    for j in range(d.cover_ptr[u], d.cover_ptr[u + 1]):
        g = d.cover_idx[j]
        if s.cover_count[g] == 0:
            bonus += d.cover_penalty[g]
    return bonus


@numba.njit(cache=True)
def gaps_ok(d, s, k, nodes, m, times):  # pragma: no cover - compiled
    """Whether route ``k`` as ``nodes[:m]`` at ``times`` keeps every revisit gap."""
    return gap_break(d, s, k, nodes, m, times) < 0


@numba.njit(cache=True)
def gap_break(d, s, k, nodes, m, times):  # pragma: no cover - compiled
    """First position of ``nodes[:m]`` (route ``k`` at ``times``) too near another copy, or -1."""
    for i in range(1, m - 1):
        s.mark[nodes[i]] = times[i]
    ok = -1
    for i in range(1, m - 1):
        u = nodes[i]
        g = d.group[u]
        if g < 0:
            continue
        for j in range(d.group_ptr[g], d.group_ptr[g + 1]):
            v = d.group_nodes[j]
            if v == u:
                continue
            if s.mark[v] >= 0:
                t = s.mark[v]
            elif s.route_of[v] >= 0 and s.route_of[v] != k:
                t = s.node_time[v]
            else:
                continue
            if abs(t - times[i]) < d.group_gap[g] and ok < 0:
                ok = i
    for i in range(1, m - 1):
        s.mark[nodes[i]] = -1
    return ok


@numba.njit(cache=True)
def route_ok(d, s, k, nodes, m):  # pragma: no cover - compiled
    """Whether ``nodes[:m]`` is a feasible route for vehicle ``k`` given the other routes.

    Windows, most-wait, shift, longest duration and the revisit gaps with every other route.
    """
    sc = s.scratch
    if not forward(d, k, nodes, m, sc[0], sc[1]):
        return False
    if not backward(d, k, nodes, m, sc[2], sc[3]):
        return False
    if m <= 2:
        return True
    if schedule(d, k, nodes, m, sc[2], sc[3], sc[4]) > d.max_duration[k]:
        return False
    return not d.has_groups or gaps_ok(d, s, k, nodes, m, sc[4])


@numba.njit(cache=True)
def needs_full_check(d, k):  # pragma: no cover - compiled
    """Whether vehicle ``k``'s routes need more than the O(1) interval checks."""
    return d.has_groups or d.max_duration[k] < BIG


@numba.njit(cache=True)
def insert_at(d, s, k, i, u):  # pragma: no cover - compiled
    """Insert ``u`` after position ``i`` of route ``k``."""
    m = s.size[k]
    row = s.routes[k]
    for j in range(m, i + 1, -1):
        row[j] = row[j - 1]
    row[i + 1] = u
    s.size[k] = m + 1
    count_covers(d, s, u, 1)
    refresh(d, s, k)


@numba.njit(cache=True)
def remove_at(d, s, k, i):  # pragma: no cover - compiled
    """Remove the node at position ``i`` of route ``k`` (no refresh: call :func:`refresh`)."""
    row = s.routes[k]
    u = row[i]
    m = s.size[k]
    for j in range(i, m - 1):
        row[j] = row[j + 1]
    s.size[k] = m - 1
    s.route_of[u] = -1
    count_covers(d, s, u, -1)
    return u


@numba.njit(cache=True)
def with_inserted(s, k, i, u, out):  # pragma: no cover - compiled
    """Write route ``k`` with ``u`` after position ``i`` into ``out``; return its size."""
    m = s.size[k]
    row = s.routes[k]
    out[: i + 1] = row[: i + 1]
    out[i + 1] = u
    out[i + 2 : m + 1] = row[i + 1 : m]
    return m + 1


@numba.njit(cache=True)
def value(d, s):  # pragma: no cover - compiled
    """Return the search objective (higher is better) and the total travel (the tie-break).

    Collected prize, less weighted travel, cover penalties, the balance term on the longest
    route, and the prize of every route shorter than its vehicle's shortest outing (the
    repair after the search lengthens or gives up such a route).
    """
    total, travel, span = 0.0, 0, 0
    for k in range(len(s.size)):
        m = s.size[k]
        if m <= 2:
            continue
        row = s.routes[k]
        gained = 0.0
        for i in range(m - 1):
            gained += d.prize[row[i]] - arc_cost(d, k, row[i], row[i + 1])
            travel += d.travel[d.profile[k], row[i], row[i + 1]]
        if s.duration[k] < d.min_duration[k]:
            gained = min(gained, 0.0)
        total += gained
        span = max(span, s.duration[k])
    for g in range(len(s.cover_count)):
        if s.cover_count[g] == 0:
            total -= d.cover_penalty[g]
    return total - d.balance_weight * span, travel
