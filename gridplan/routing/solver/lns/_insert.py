"""Compiled greedy insertion of the time-window search (the recreate step).

:func:`recreate` inserts free stops one at a time, the one of highest value per extra
second first (value: prize times a noise factor drawn per call, plus the cover penalties it
saves, less its weighted travel). Each (stop, route) pair keeps its best position in a table;
an insertion recomputes only the table's column of the route that changed (and the rows of
stops whose worth changed: the next copy of a revisit group, the other stops of a cover group
just covered). Positions are judged by the O(1) interval test; the chosen one is checked in
full (duration, revisit gaps) only where the model needs it, and dropped for this call when it
fails.
"""

from __future__ import annotations

import numba
import numpy as np

from gridplan.routing.solver.lns._routes import detour
from gridplan.routing.solver.lns._routes import extra_cost
from gridplan.routing.solver.lns._routes import fits_between
from gridplan.routing.solver.lns._state import cover_bonus
from gridplan.routing.solver.lns._state import insert_at
from gridplan.routing.solver.lns._state import needs_full_check
from gridplan.routing.solver.lns._state import route_ok
from gridplan.routing.solver.lns._state import with_inserted

NONE = -1.0e300


@numba.njit(cache=True)
def eligible(d, s, u):  # pragma: no cover - compiled
    """Whether ``u`` is free and may be inserted (a revisit copy only after the one before)."""
    if s.route_of[u] >= 0:
        return False
    g = d.group[u]
    if g >= 0 and d.group_rank[u] > 0:
        return s.route_of[d.group_nodes[d.group_ptr[g] + d.group_rank[u] - 1]] >= 0
    return True


@numba.njit(cache=True)
def best_position(d, s, u, k, worth, power):  # pragma: no cover - compiled
    """Best score and position (insert after it) of ``u`` in route ``k`` by the O(1) test."""
    if not d.allowed[k, u]:
        return NONE, -1
    one = np.zeros(1, dtype=np.int64)
    one[0] = u
    row = s.routes[k]
    best, where = NONE, -1
    for i in range(s.size[k] - 1):
        a, b = row[i], row[i + 1]
        net = worth - extra_cost(d, k, a, u, b)
        if net <= 0:
            continue
        score = net**power / (detour(d, k, a, u, b) + 1.0)
        if score <= best:
            continue
        if fits_between(d, k, s.fe[k, i], s.fl[k, i], a, one, 1, b, s.be[k, i + 1], s.bl[k, i + 1]):
            best, where = score, i
    return best, where


@numba.njit(cache=True)
def _fill_row(d, s, u, worth, power, table, pos, row_best, row_route):  # pragma: no cover
    row_best[u], row_route[u] = NONE, -1
    for k in range(len(s.size)):
        table[u, k], pos[u, k] = best_position(d, s, u, k, worth[u], power)
        if table[u, k] > row_best[u]:
            row_best[u], row_route[u] = table[u, k], k


@numba.njit(cache=True)
def _row_max(s, u, table, row_best, row_route):  # pragma: no cover - compiled
    row_best[u], row_route[u] = NONE, -1
    for k in range(len(s.size)):
        if table[u, k] > row_best[u]:
            row_best[u], row_route[u] = table[u, k], k


@numba.njit(cache=True)
def _worth(d, s, u, noise):  # pragma: no cover - compiled
    return d.prize[u] * noise[u] + cover_bonus(d, s, u)


@numba.njit(cache=True)
def recreate(d, s, noise, power, cand):  # pragma: no cover - compiled
    """Insert free stops of ``cand`` greedily while any fits and pays; return how many.

    ``noise`` multiplies each stop's prize; scores are ``net ** power / extra seconds``.
    """
    n, k_count = len(d.service), len(s.size)
    table = np.full((n, k_count), NONE)
    pos = np.full((n, k_count), -1, dtype=np.int64)
    row_best = np.full(n, NONE)
    row_route = np.full(n, -1, dtype=np.int64)
    worth = np.zeros(n)
    live = np.zeros(n, dtype=np.bool_)
    for u in cand:
        if eligible(d, s, u):
            live[u] = True
            worth[u] = _worth(d, s, u, noise)
            _fill_row(d, s, u, worth, power, table, pos, row_best, row_route)
    added = 0
    while True:
        u, top = -1, 0.0
        for v in cand:
            if live[v] and row_best[v] > top:
                u, top = v, row_best[v]
        if u < 0:
            return added
        k = row_route[u]
        i = pos[u, k]
        if needs_full_check(d, k):
            m = with_inserted(s, k, i, u, s.scratch[5])
            if not route_ok(d, s, k, s.scratch[5], m):
                table[u, k] = NONE
                _row_max(s, u, table, row_best, row_route)
                continue
        insert_at(d, s, k, i, u)
        live[u] = False
        added += 1
        _after_insert(d, s, u, k, cand, live, worth, noise, power, table, pos, row_best, row_route)


@numba.njit(cache=True)
def _after_insert(
    d, s, u, k, cand, live, worth, noise, power, table, pos, row_best, row_route
):  # pragma: no cover - compiled
    """Bring the tables up to date after ``u`` went into route ``k``."""
    g = d.group[u]
    if g >= 0:  # the next copy of its revisit group may now be inserted
        nxt = d.group_rank[u] + 1
        if d.group_ptr[g] + nxt < d.group_ptr[g + 1]:
            v = d.group_nodes[d.group_ptr[g] + nxt]
            if d.is_candidate[v] and eligible(d, s, v):
                live[v] = True
                worth[v] = _worth(d, s, v, noise)
                _fill_row(d, s, v, worth, power, table, pos, row_best, row_route)
    for j in range(d.cover_ptr[u], d.cover_ptr[u + 1]):
        c = d.cover_idx[j]
        if s.cover_count[c] != 1:
            continue
        for jj in range(d.cover_node_ptr[c], d.cover_node_ptr[c + 1]):
            v = d.cover_nodes[jj]
            if live[v]:  # its cover bonus is gone
                worth[v] = _worth(d, s, v, noise)
                _fill_row(d, s, v, worth, power, table, pos, row_best, row_route)
    for v in cand:
        if not live[v]:
            continue
        was = table[v, k]
        table[v, k], pos[v, k] = best_position(d, s, v, k, worth[v], power)
        if table[v, k] > row_best[v]:
            row_best[v], row_route[v] = table[v, k], k
        elif row_route[v] == k and table[v, k] < was:
            _row_max(s, v, table, row_best, row_route)
