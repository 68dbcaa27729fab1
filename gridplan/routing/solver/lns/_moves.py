"""Compiled local-search moves of the time-window search, after the recreate.

:func:`replace` swaps a visited stop for a free one worth more that fits in its place (a
direct gain of value); :func:`exchange_tails` swaps the tails of two routes (2-opt*) when
that shortens them, which frees time the next insertion can fill. Both judge a move by the
O(1) interval test of :mod:`._routes` and check the chosen one in full where the model needs
it (durations, revisit gaps).
"""

from __future__ import annotations

import numba
import numpy as np

from gridplan.routing.solver.lns._insert import eligible
from gridplan.routing.solver.lns._routes import arc_cost
from gridplan.routing.solver.lns._routes import fits_between
from gridplan.routing.solver.lns._state import count_covers
from gridplan.routing.solver.lns._state import cover_bonus
from gridplan.routing.solver.lns._state import needs_full_check
from gridplan.routing.solver.lns._state import refresh
from gridplan.routing.solver.lns._state import route_ok


@numba.njit(cache=True)
def _loss(d, s, v):  # pragma: no cover - compiled
    """Value lost by taking ``v`` out: its prize and the cover penalties it alone saves."""
    loss = d.prize[v]
    for j in range(d.cover_ptr[v], d.cover_ptr[v + 1]):
        g = d.cover_idx[j]
        if s.cover_count[g] == 1:
            loss += d.cover_penalty[g]
    return loss


@numba.njit(cache=True)
def _removable(d, s, v):  # pragma: no cover - compiled
    """Whether ``v`` may leave its route alone (no later copy of its group is visited)."""
    g = d.group[v]
    if g < 0:
        return True
    j = d.group_ptr[g] + d.group_rank[v] + 1
    return j >= d.group_ptr[g + 1] or s.route_of[d.group_nodes[j]] < 0


@numba.njit(cache=True)
def _gain(d, s, k, i, u, v):  # pragma: no cover - compiled
    """Value gained by serving free ``u`` instead of ``v`` at position ``i`` of route ``k``."""
    a, b = s.routes[k, i - 1], s.routes[k, i + 1]
    worth = d.prize[u] + cover_bonus(d, s, u)
    travel = (
        arc_cost(d, k, a, u) + arc_cost(d, k, u, b) - arc_cost(d, k, a, v) - arc_cost(d, k, v, b)
    )
    return worth - _loss(d, s, v) - travel


@numba.njit(cache=True)
def replace(d, s, cand):  # pragma: no cover - compiled
    """Make the best replacement of a visited stop by a free one of ``cand``; False if none."""
    one = np.zeros(1, dtype=np.int64)
    best, bk, bi, bu = 1e-9, -1, -1, -1
    for k in range(len(s.size)):
        for i in range(1, s.size[k] - 1):
            v = s.routes[k, i]
            if not _removable(d, s, v):
                continue
            for u in cand:
                if not d.allowed[k, u] or not eligible(d, s, u):
                    continue
                if d.group[u] >= 0 and d.group[u] == d.group[v]:
                    continue  # the copy order would break
                gain = _gain(d, s, k, i, u, v)
                if gain <= best:
                    continue
                one[0] = u
                a, b = s.routes[k, i - 1], s.routes[k, i + 1]
                if not fits_between(
                    d, k, s.fe[k, i - 1], s.fl[k, i - 1], a, one, 1, b, s.be[k, i + 1],
                    s.bl[k, i + 1],
                ):  # fmt: skip
                    continue
                if needs_full_check(d, k) and not _replaced_ok(d, s, k, i, u):
                    continue
                best, bk, bi, bu = gain, k, i, u
    if bk < 0:
        return False
    v = s.routes[bk, bi]
    s.route_of[v] = -1
    count_covers(d, s, v, -1)
    s.routes[bk, bi] = bu
    count_covers(d, s, bu, 1)
    refresh(d, s, bk)
    return True


@numba.njit(cache=True)
def _replaced_ok(d, s, k, i, u):  # pragma: no cover - compiled
    m = s.size[k]
    tmp = s.scratch[5]
    tmp[:m] = s.routes[k, :m]
    v = tmp[i]
    tmp[i] = u
    s.route_of[v] = -1  # its gaps no longer count
    ok = route_ok(d, s, k, tmp, m)
    s.route_of[v] = k
    return ok


@numba.njit(cache=True)
def _same_kind(d, p, q):  # pragma: no cover - compiled
    """Whether a route tail's intervals mean the same on vehicles ``p`` and ``q``."""
    return (
        d.profile[p] == d.profile[q] and d.end[p] == d.end[q] and d.latest_end[p] == d.latest_end[q]
    )


@numba.njit(cache=True)
def _tail_allowed(d, s, k, q, j):  # pragma: no cover - compiled
    """Whether vehicle ``k`` may visit every stop of route ``q`` after position ``j``."""
    for x in range(j + 1, s.size[q] - 1):
        if not d.allowed[k, s.routes[q, x]]:
            return False
    return True


@numba.njit(cache=True)
def exchange_tails(d, s):  # pragma: no cover - compiled
    """Make the best 2-opt* move (swap two routes' tails) that saves travel; False if none."""
    none = np.zeros(0, dtype=np.int64)
    best, move = -1e-9, (-1, -1, -1, -1)
    for p in range(len(s.size)):
        for q in range(p + 1, len(s.size)):
            if not _same_kind(d, p, q) or (s.size[p] <= 2 and s.size[q] <= 2):
                continue
            rp, rq = s.routes[p], s.routes[q]
            for i in range(s.size[p] - 1):
                for j in range(s.size[q] - 1):
                    delta = (
                        d.travel[d.profile[p], rp[i], rq[j + 1]]
                        + d.travel[d.profile[q], rq[j], rp[i + 1]]
                        - d.travel[d.profile[p], rp[i], rp[i + 1]]
                        - d.travel[d.profile[q], rq[j], rq[j + 1]]
                    )
                    if delta >= best:
                        continue
                    if not fits_between(
                        d, p, s.fe[p, i], s.fl[p, i], rp[i], none, 0, rq[j + 1], s.be[q, j + 1],
                        s.bl[q, j + 1],
                    ) or not fits_between(
                        d, q, s.fe[q, j], s.fl[q, j], rq[j], none, 0, rp[i + 1], s.be[p, i + 1],
                        s.bl[p, i + 1],
                    ):  # fmt: skip
                        continue
                    if not (_tail_allowed(d, s, p, q, j) and _tail_allowed(d, s, q, p, i)):
                        continue
                    best, move = delta, (p, q, i, j)
    p, q, i, j = move
    if p < 0:
        return False
    return _swap_tails(d, s, p, q, i, j)


@numba.njit(cache=True)
def _swap_tails(d, s, p, q, i, j):  # pragma: no cover - compiled
    """Swap the tails after ``i`` of route ``p`` and after ``j`` of ``q`` if both stay valid."""
    mp, mq = s.size[p], s.size[q]
    new_p = np.concatenate((s.routes[p, : i + 1], s.routes[q, j + 1 : mq]))
    new_q = np.concatenate((s.routes[q, : j + 1], s.routes[p, i + 1 : mp]))
    if needs_full_check(d, p) or needs_full_check(d, q):
        old_p = s.routes[p, :mp].copy()
        if not route_ok(d, s, p, new_p, len(new_p)):
            return False
        # route q is judged against route p as it will be
        s.routes[p, : len(new_p)] = new_p
        s.size[p] = len(new_p)
        refresh(d, s, p)
        if not route_ok(d, s, q, new_q, len(new_q)):
            s.routes[p, :mp] = old_p
            s.size[p] = mp
            refresh(d, s, p)
            refresh(d, s, q)
            return False
    s.routes[p, : len(new_p)] = new_p
    s.size[p] = len(new_p)
    s.routes[q, : len(new_q)] = new_q
    s.size[q] = len(new_q)
    refresh(d, s, p)
    refresh(d, s, q)
    return True
