"""Compiled ruin of the time-window search: which stops to take out before the recreate.

Three ways, chosen at random each round: stops near a random stop (a cluster, by travel
time), strings of consecutive stops in the routes passing near a random stop (after
Christiaens and Vanden Berghe's SISR), or stops picked at random. Removing a revisit copy also
removes the later copies of its group (they may be visited only when it is). After the
removal every route is made feasible again: with a most-wait, taking a stop out can leave a
gap the route may not wait through, and then the stop where the schedule breaks goes too.
"""

# numba compiles the legacy np.random calls to its own per-process generator, seeded by
# _walk.seed: the Generator API the rule asks for is not what compiled code draws from.
# ruff: noqa: NPY002

from __future__ import annotations

import numba
import numpy as np

from gridplan.routing.solver.lns._state import gap_break
from gridplan.routing.solver.lns._state import refresh
from gridplan.routing.solver.lns._state import remove_at


@numba.njit(cache=True)
def _visited(s):  # pragma: no cover - compiled
    count = 0
    for k in range(len(s.size)):
        count += max(0, s.size[k] - 2)
    out = np.empty(count, dtype=np.int64)
    j = 0
    for k in range(len(s.size)):
        for i in range(1, s.size[k] - 1):
            out[j] = s.routes[k, i]
            j += 1
    return out


@numba.njit(cache=True)
def _by_nearness(d, seed, visited):  # pragma: no cover - compiled
    """``visited`` ordered by travel time from ``seed`` (the seed first)."""
    near = np.empty(len(visited))
    for j in range(len(visited)):
        v = visited[j]
        near[j] = min(d.travel[0, seed, v], d.travel[0, v, seed])
    return visited[np.argsort(near)]


@numba.njit(cache=True)
def _strings(d, s, seed, visited, q, out):  # pragma: no cover - compiled
    """Mark strings of consecutive stops in the routes nearest ``seed`` until ``q`` are."""
    taken = 0
    done = np.zeros(len(s.size), dtype=np.bool_)
    for v in _by_nearness(d, seed, visited):
        if taken >= q:
            break
        k = s.route_of[v]
        if done[k]:
            continue
        done[k] = True
        stops = s.size[k] - 2
        length = np.random.randint(1, min(stops, max(1, q - taken), 10) + 1)
        first = max(1, min(s.pos_of[v] - np.random.randint(0, length), stops - length + 1))
        for i in range(first, first + length):
            out[s.routes[k, i]] = True
        taken += length
    return taken


@numba.njit(cache=True)
def choose(d, s, q):  # pragma: no cover - compiled
    """Mark about ``q`` visited stops to remove (``out[u]`` True), by one of three ways."""
    out = np.zeros(len(d.service), dtype=np.bool_)
    visited = _visited(s)
    if len(visited) == 0:
        return out
    q = min(q, len(visited))
    seed = visited[np.random.randint(0, len(visited))]
    mode = np.random.randint(0, 3)
    if mode == 0:
        for v in _by_nearness(d, seed, visited)[:q]:
            out[v] = True
    elif mode == 1:
        _strings(d, s, seed, visited, q, out)
    else:
        for v in np.random.permutation(visited)[:q]:
            out[v] = True
    _later_copies(d, out)
    return out


@numba.njit(cache=True)
def _later_copies(d, out):  # pragma: no cover - compiled
    for g in range(len(d.group_gap)):
        later = False
        for j in range(d.group_ptr[g], d.group_ptr[g + 1]):
            later = later or out[d.group_nodes[j]]
            if later:
                out[d.group_nodes[j]] = True


@numba.njit(cache=True)
def remove_marked(d, s, out):  # pragma: no cover - compiled
    """Take the marked stops out of every route and make each route feasible again.

    Mending a route can remove more stops (and the later copies of their groups), so this
    repeats until no marked stop is left in any route.
    """
    again = True
    while again:
        again = False
        for k in range(len(s.size)):
            i = 1
            changed = False
            while i < s.size[k] - 1:
                if out[s.routes[k, i]]:
                    remove_at(d, s, k, i)
                    changed = True
                else:
                    i += 1
            if changed and mend(d, s, k, out):
                again = True


@numba.njit(cache=True)
def mend(d, s, k, out):  # pragma: no cover - compiled
    """Remove stops from route ``k`` where its schedule breaks until it is feasible.

    Returns whether a removed stop has later revisit copies (now marked in ``out``) that
    may sit in other routes.
    """
    more = False
    while s.size[k] > 2:
        m = s.size[k]
        if refresh(d, s, k):
            if not d.has_groups:
                break
            # the schedule moved: a revisit copy may now be too near another copy
            i = gap_break(d, s, k, s.routes[k], m, s.times[k])
            if i < 0:
                break
        else:
            i = 1
            while i < m - 1 and s.fe[k, i] <= s.fl[k, i]:
                i += 1
        u = remove_at(d, s, k, min(i, m - 2))
        out[u] = True
        g = d.group[u]
        if g >= 0:
            for j in range(d.group_ptr[g] + d.group_rank[u] + 1, d.group_ptr[g + 1]):
                v = d.group_nodes[j]
                if s.route_of[v] >= 0:
                    out[v] = True
                    more = True
    if s.size[k] <= 2:
        refresh(d, s, k)
    return more
