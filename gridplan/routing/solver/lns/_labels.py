"""The compiled core of the route labelling (numba): the best single route through given stops.

A *label* is a partial route from the start depot: its last stop, the service start there
(as early as the route allows), its net prize (prizes less weighted travel) and the set of
stops it visited (a bit set). Labels are extended in the order of their times (a heap), to
every stop still reachable in its window; a label that cannot beat another at the same stop
is dropped. Label ``A`` beats ``B`` at stop ``v`` when it is there no later, has no less net
prize, and every stop ``A`` visited that ``B`` could still reach from ``v`` is one ``B``
visited too: ``A`` can then make any route ``B`` can make, at least as well. This is the
dominance of the exact elementary labelling algorithms (Righini and Salani's for the
orienteering problem with time windows), with the "could still reach" part read from
tables: per stop, the other stops sorted by the latest service start from which they are
reachable, and the bit sets of each prefix of that order.

What makes it a heuristic is a cap: at most ``per_stop`` labels stay at a stop (the lowest
net prize goes when a better one comes) and at most ``budget`` are made in all. With 100
per stop it finds the proven optimum of Cordeau's pr05 (240 stops) in about a second.

Everything is in local numbers: the caller passes the candidate stops' own arrays with the
start depot as row ``c`` and the end depot as row ``c + 1`` of the travel matrix.
"""

from __future__ import annotations

import numba
import numpy as np

#: Longest durations from this on are no limit (the search's ``BIG`` is 2 ** 58).
LONG = np.int64(1) << np.int64(57)


@numba.njit(cache=True)
def _push(ht, hi, size, t, idx):  # pragma: no cover - compiled
    """Push label ``idx`` of time ``t`` on the heap of ``size`` items; return the new size."""
    i = size
    ht[i], hi[i] = t, idx
    while i > 0:
        p = (i - 1) // 2
        if ht[p] <= ht[i]:
            break
        ht[p], ht[i] = ht[i], ht[p]
        hi[p], hi[i] = hi[i], hi[p]
        i = p
    return size + 1


@numba.njit(cache=True)
def _pop(ht, hi, size):  # pragma: no cover - compiled
    """Pop the label of the earliest time; return it and the new size."""
    idx = hi[0]
    size -= 1
    ht[0], hi[0] = ht[size], hi[size]
    i = 0
    while True:
        left, right, m = 2 * i + 1, 2 * i + 2, i
        if left < size and ht[left] < ht[m]:
            m = left
        if right < size and ht[right] < ht[m]:
            m = right
        if m == i:
            return idx, size
        ht[m], ht[i] = ht[i], ht[m]
        hi[m], hi[i] = hi[i], hi[m]
        i = m


@numba.njit(cache=True)
def reach_tables(travel, service, close):  # pragma: no cover - compiled
    """Per stop ``u`` (and the start depot, row ``c``): the stops by latest start at ``u``.

    Returns ``late`` (the latest service start at ``u`` from which each stop is reached in
    its window, descending), ``order`` (those stops) and ``masks`` (``masks[u, r]``: the bit
    set of the first ``r`` stops of ``order[u]``).
    """
    c = len(close)
    words = (c + 63) // 64
    late = np.empty((c + 1, c), dtype=np.int64)
    order = np.empty((c + 1, c), dtype=np.int64)
    masks = np.zeros((c + 1, c + 1, words), dtype=np.uint64)
    for u in range(c + 1):
        row = np.empty(c, dtype=np.int64)
        for w in range(c):
            row[w] = close[w] - travel[u, w] - service[u]
        o = np.argsort(-row, kind="mergesort")
        for j in range(c):
            w = o[j]
            order[u, j], late[u, j] = w, row[w]
            masks[u, j + 1] = masks[u, j]
            masks[u, j + 1, w // 64] |= np.uint64(1) << np.uint64(w % 64)
    return late, order, masks


@numba.njit(cache=True)
def _reachable(late, u, t):  # pragma: no cover - compiled
    """How many stops of ``order[u]`` are reachable when the service at ``u`` starts at ``t``."""
    lo, hi = 0, late.shape[1]
    while lo < hi:
        mid = (lo + hi) // 2
        if late[u, mid] >= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True)
def _bit(w, v):  # pragma: no cover - compiled
    """Word ``w`` of the bit set of stop ``v`` alone (-1: no stop)."""
    if v >= 0 and w == v // 64:
        return np.uint64(1) << np.uint64(v % 64)
    return np.uint64(0)


@numba.njit(cache=True)
def _covered(bits, a, plus_a, b, plus_b, mask):  # pragma: no cover - compiled
    """Whether label ``a``'s stops (and ``plus_a``) within ``mask`` are ``b``'s (and ``plus_b``)."""
    for w in range(bits.shape[1]):
        x = bits[a, w] | _bit(w, plus_a)
        if (x & mask[w]) & ~(bits[b, w] | _bit(w, plus_b)):
            return False
    return True


@numba.njit(cache=True)
def best_route(tables, travel, cost, service, open_, close, prize, start_time, end_by,
               max_wait, longest, per_stop, budget):  # fmt: skip  # pragma: no cover - compiled
    """Return the best route found (local stop numbers in order) and the labels made.

    ``tables`` is :func:`reach_tables`' result; ``travel`` and ``cost`` are ``(c + 2)``
    square (row ``c`` the start depot, ``c + 1`` the end depot; ``cost`` is the weighted
    travel taken off the prize); ``service`` has ``c + 2`` entries. The route leaves the
    start at ``start_time`` or later and must reach the end depot by ``end_by``; no service
    starts more than ``max_wait`` after the arrival (the earliest schedule); a route is out
    at most ``longest`` from the latest departure that serves its first stop as early.
    """
    late, order, _ = tables
    c = len(open_)
    home, words = c + 1, (c + 63) // 64
    node = np.empty(budget, dtype=np.int64)
    tm = np.empty(budget, dtype=np.int64)
    pr = np.empty(budget)
    parent = np.empty(budget, dtype=np.int64)
    begin = np.empty(budget, dtype=np.int64)
    bits = np.zeros((budget, words), dtype=np.uint64)
    alive = np.zeros(budget, dtype=np.bool_)
    front = np.full((c, per_stop), -1, dtype=np.int64)
    count = np.zeros(c, dtype=np.int64)
    ht, hi = np.empty(budget, dtype=np.int64), np.empty(budget, dtype=np.int64)
    node[0], tm[0], pr[0], parent[0], alive[0] = c, start_time, 0.0, -1, True
    begin[0] = start_time
    used, size = 1, _push(ht, hi, 0, start_time, 0)
    best, best_p = 0, -cost[c, home]
    while size > 0:
        a, size = _pop(ht, hi, size)
        if not alive[a]:
            continue
        u = node[a]
        back = pr[a] - cost[u, home]
        if tm[a] + service[u] + travel[u, home] <= end_by and back > best_p + 1e-9:
            best, best_p = a, back
        for j in range(_reachable(late, u, tm[a])):
            v = order[u, j]
            if prize[v] <= 0 or bits[a, v // 64] & (np.uint64(1) << np.uint64(v % 64)):
                continue
            arrive = tm[a] + service[u] + travel[u, v]
            t = max(open_[v], arrive)
            if t - arrive > max_wait or t + service[v] + travel[v, home] > end_by:
                continue
            b0 = t - service[u] - travel[u, v] if u == c else begin[a]
            if t + service[v] + travel[v, home] - b0 > longest:
                continue
            p = pr[a] + prize[v] - cost[u, v]
            out = t - b0 if longest < LONG else -1  # (-1: durations do not matter)
            slot = _place(tables, bits, tm, pr, begin, alive, front, count, a, v, t, out, p)
            if slot < 0:
                continue
            if used == budget:
                return _path(best, node, parent), used
            node[used], tm[used], pr[used], parent[used], alive[used] = v, t, p, a, True
            begin[used] = b0
            bits[used] = bits[a]
            bits[used, v // 64] |= np.uint64(1) << np.uint64(v % 64)
            front[v, slot] = used
            size = _push(ht, hi, size, t, used)
            used += 1
    return _path(best, node, parent), used


@numba.njit(cache=True)
def _place(tables, bits, tm, pr, begin, alive, front, count, a, v, t, out, p):  # pragma: no cover
    """Return the slot in ``v``'s front for label ``a`` extended to ``v``, or -1.

    The new label serves ``v`` at ``t``, ``out`` seconds after its departure (-1 where the
    vehicle has no longest duration), with net prize ``p``. A label beats another when it is
    no later, out no longer and worth no less (and the stops condition of the module's
    description holds).

    Returns -1 when a label there beats it (or the front is full of better ones); drops the
    labels it beats.
    """
    late, _, masks = tables
    reach = masks[v, _reachable(late, v, t)]
    for x in range(count[v]):
        b = front[v, x]
        no_worse = tm[b] <= t and pr[b] >= p and (out < 0 or tm[b] - begin[b] <= out)
        if no_worse and _covered(bits, b, -1, a, v, reach):
            return -1
    x = 0
    while x < count[v]:
        b = front[v, x]
        if t <= tm[b] and p >= pr[b] and (out < 0 or out <= tm[b] - begin[b]):
            if _covered(bits, a, v, b, -1, masks[v, _reachable(late, v, tm[b])]):
                alive[b] = False
                count[v] -= 1
                front[v, x] = front[v, count[v]]
                continue
        x += 1
    if count[v] < front.shape[1]:
        count[v] += 1
        return count[v] - 1
    worst, worst_p = 0, pr[front[v, 0]]
    for x in range(1, count[v]):
        if pr[front[v, x]] < worst_p:
            worst, worst_p = x, pr[front[v, x]]
    if worst_p >= p:
        return -1
    alive[front[v, worst]] = False
    return worst


@numba.njit(cache=True)
def _path(best, node, parent):  # pragma: no cover - compiled
    """Return the local stops of label ``best``'s route, first to last (without the depots)."""
    length, x = 0, best
    while parent[x] >= 0:
        length += 1
        x = parent[x]
    out = np.empty(length, dtype=np.int64)
    x = best
    for i in range(length - 1, -1, -1):
        out[i] = node[x]
        x = parent[x]
    return out
