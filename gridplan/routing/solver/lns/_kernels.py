"""The compiled core of the time-window search (numba), in one module.

Everything numba compiles for :mod:`~gridplan.routing.solver.lns.timed` lives here, because
numba's disk cache is keyed on the file of each function and not on the functions it calls
(which it compiles in): kernels spread over several files could run stale code after an edit
to one of them. Every kernel takes the model as a :class:`~.timed.TimedData` named tuple.

**Routes and slack.** A route is a row of node numbers from the start depot to the end depot.
For each position ``i`` the search keeps two intervals of service-start times (Savelsbergh's
forward and backward slack, extended to a most-wait ``W``):

- ``fe[i], fl[i]``: the service starts at ``i`` some schedule of the route *up to* ``i`` can
  reach (windows, the vehicle's earliest start, at most ``W`` seconds of waiting per arc);
- ``be[i], bl[i]``: the service starts at ``i`` from which the route *after* ``i`` can still
  be completed (windows, the vehicle's latest end, the most-wait).

Both are intervals, because the reachable starts of the next stop, ``[t + d, t + d + W]`` for
``t`` in an interval, form an interval. Joining a prefix that ends at ``a`` to a suffix that
begins at ``b`` through new stops is feasible exactly when the forward interval carried along
the new arcs meets ``b``'s backward interval: :func:`fits_between` checks it in constant time.
A route's schedule (:func:`schedule`) starts as late as it can and then serves each stop as
early as it can: the shortest duration of all its feasible schedules.

**The state.** :class:`State` holds the routes as rows of one array with these intervals,
the schedule, and per node the route and position it is in. :func:`refresh` recomputes one
route after a change; :func:`route_ok` checks a route only being considered (its schedule,
its duration, the revisit gaps against every other route); :func:`value` is the objective.

**Recreate** (:func:`recreate`): free stops go in one at a time, the one of highest value
per extra second first (prize times a noise factor drawn per round, plus the cover penalties
it saves, less its weighted travel). Each (stop, route) pair keeps its best position in a
table; an insertion recomputes only the column of the route that changed (and the rows of
stops whose worth changed). Positions are judged by the O(1) test; the chosen one is checked
in full (duration, revisit gaps) only where the model needs it.

**Ruin** (:func:`choose`, :func:`remove_marked`), one of three ways each round: stops near a
random stop (by travel time), strings of consecutive stops in the routes passing near it
(after Christiaens and Vanden Berghe's SISR), or stops at random. Removing a revisit copy
removes the later copies of its group; with a most-wait, taking a stop out can leave a gap a
route may not wait through, and the stop where its schedule breaks goes too (:func:`mend`).

**Local search** after each recreate: :func:`replace` swaps a visited stop for a free one
worth more; :func:`exchange_tails` swaps two routes' tails (2-opt*), :func:`or_opt` moves a
string of 1-3 stops within its route and :func:`relocate` moves a stop to another route,
each when that saves travel, which frees time the next insertion fills (tried first in the
routes the moves changed: :func:`improve`).

**The walk** (:func:`rounds`): ruin, recreate, local search and threshold acceptance, many
rounds per call; :class:`Walk` carries the current and best routes between calls, so the
Python driver stops between calls at its time limit while a work limit (rounds) stays exact.
A walk whose best has not gained value for ``Knobs.restart`` rounds gives way to a new one
from empty routes (:func:`_fresh`); the best of all walks (``Walk.top``) is the result.
"""

# numba compiles the legacy np.random calls to its own per-process generator, seeded by
# seed(): the Generator API the rule asks for is not what compiled code draws from.
# ruff: noqa: NPY002

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

# --- Routes: schedules, slack and the O(1) test ---------------------------------------------------

#: Larger than any time of any model (seconds), small enough that sums never overflow.
BIG = np.int64(1) << np.int64(58)


@numba.njit(cache=True)
def arc(d, k, a, b):  # pragma: no cover - compiled
    """Service at ``a`` plus vehicle ``k``'s travel from ``a`` to ``b``."""
    return d.service[a] + d.travel[d.profile[k], a, b]


@numba.njit(cache=True)
def forward(d, k, nodes, m, fe, fl):  # pragma: no cover - compiled
    """Fill forward intervals of ``nodes[:m]`` on vehicle ``k``; False when none exists."""
    u = nodes[0]
    fe[0] = max(d.earliest_start[k], d.open[u])
    fl[0] = d.close[u]
    ok = fe[0] <= fl[0]
    for i in range(1, m):
        a, b = nodes[i - 1], nodes[i]
        t = arc(d, k, a, b)
        fe[i] = max(d.open[b], fe[i - 1] + t)
        fl[i] = min(d.close[b], fl[i - 1] + t + d.max_wait)
        if i == m - 1:
            fl[i] = min(fl[i], d.latest_end[k])
        ok = ok and fe[i] <= fl[i]
    return ok


@numba.njit(cache=True)
def backward(d, k, nodes, m, be, bl):  # pragma: no cover - compiled
    """Fill backward intervals of ``nodes[:m]`` on vehicle ``k``; False when none exists."""
    last = nodes[m - 1]
    be[m - 1] = d.open[last]
    bl[m - 1] = min(d.close[last], d.latest_end[k])
    ok = be[m - 1] <= bl[m - 1]
    for i in range(m - 2, -1, -1):
        a, b = nodes[i], nodes[i + 1]
        t = arc(d, k, a, b)
        be[i] = max(d.open[a], be[i + 1] - t - d.max_wait)
        bl[i] = min(d.close[a], bl[i + 1] - t)
        if i == 0:
            be[i] = max(be[i], d.earliest_start[k])
        ok = ok and be[i] <= bl[i]
    return ok


@numba.njit(cache=True)
def schedule(d, k, nodes, m, be, bl, times):  # pragma: no cover - compiled
    """Start as late as the route allows, then serve each stop as early as it can.

    ``be``/``bl`` are the route's backward intervals; fills ``times`` and returns the
    duration, the least of all the route's feasible schedules.
    """
    times[0] = bl[0]
    for i in range(1, m):
        times[i] = max(times[i - 1] + arc(d, k, nodes[i - 1], nodes[i]), be[i])
    return times[m - 1] - times[0]


@numba.njit(cache=True)
def fits_between(d, k, lo, hi, a, us, nu, b, be_b, bl_b):  # pragma: no cover - compiled
    """Whether stops ``us[:nu]`` fit between ``a`` (forward interval lo..hi) and ``b``.

    ``be_b``/``bl_b`` is ``b``'s backward interval in the route being joined. O(nu).
    """
    prev = a
    for j in range(nu):
        u = us[j]
        t = arc(d, k, prev, u)
        lo = max(d.open[u], lo + t)
        hi = min(d.close[u], hi + t + d.max_wait)
        if lo > hi:
            return False
        prev = u
    t = arc(d, k, prev, b)
    lo = max(lo + t, be_b)
    hi = min(hi + t + d.max_wait, bl_b)
    return lo <= hi


@numba.njit(cache=True)
def joins(d, s, k, p, i, q, j):  # pragma: no cover - compiled
    """Whether vehicle ``k`` can serve route ``p`` up to position ``i``, then ``q`` from ``j`` on.

    :func:`fits_between` with no stop between, read from the state's intervals (``p`` and
    ``q`` may be the same route: a removal).
    """
    t = arc(d, k, s.routes[p, i], s.routes[q, j])
    return max(s.fe[p, i] + t, s.be[q, j]) <= min(s.fl[p, i] + t + d.max_wait, s.bl[q, j])


@numba.njit(cache=True)
def arc_cost(d, k, a, b):  # pragma: no cover - compiled
    """Weighted travel of vehicle ``k`` from ``a`` to ``b`` (times the arc factor, if any)."""
    t = d.travel[d.profile[k], a, b]
    if d.arc_factor.shape[0] > 1:
        return d.travel_weight * t * d.arc_factor[a, b]
    return d.travel_weight * t


# --- The state and the steps that change it -------------------------------------------------------


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


# --- Recreate: greedy insertion -------------------------------------------------------------------

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


@numba.njit(cache=True, inline="always")
def _best_in(r, u, first, last, worth, power):  # pragma: no cover - compiled
    """Best score and position of ``u`` after positions ``first .. last - 1`` of route ``r``.

    ``r`` is :func:`_route_view`: the arrays this needs, taken out of the model and state
    once. The loop over positions stays inside this one call: calling a kernel per position
    with a tuple of arrays costs numba's reference counting of each array, 15 times the
    test itself. Score: ``net ** power`` per extra second; ``(NONE, -1)`` when ``u`` fits
    and pays nowhere in the range.
    """
    tt, svc, opn, cls, wait, tw, af, fe, fl, be, bl, row = r
    best, where = NONE, -1
    for i in range(first, last):
        a, b = row[i], row[i + 1]
        if af.shape[0] > 1:
            extra = tt[a, u] * af[a, u] + tt[u, b] * af[u, b] - tt[a, b] * af[a, b]
        else:
            extra = tt[a, u] + tt[u, b] - tt[a, b]
        net = worth - tw * extra
        if net <= 0:
            continue
        dau, dub = svc[a] + tt[a, u], svc[u] + tt[u, b]
        lo, hi = max(opn[u], fe[i] + dau), min(cls[u], fl[i] + dau + wait)
        if lo > hi or max(lo + dub, be[i + 1]) > min(hi + dub + wait, bl[i + 1]):
            continue
        if power != 1.0:
            net = net**power
        score = net / (dau + dub - svc[a] - tt[a, b] + 1.0)
        if score > best:
            best, where = score, i
    return best, where


@numba.njit(cache=True, inline="always")
def _route_view(d, s, k):  # pragma: no cover - compiled
    """Return the arrays :func:`_best_in` reads for route ``k``."""
    return (
        d.travel[d.profile[k]], d.service, d.open, d.close, d.max_wait, d.travel_weight,
        d.arc_factor, s.fe[k], s.fl[k], s.be[k], s.bl[k], s.routes[k],
    )  # fmt: skip


@numba.njit(cache=True)
def best_position(r, size, allowed, u, worth, power):  # pragma: no cover - compiled
    """Best score and position (insert after it) of ``u`` in a route by the O(1) test.

    ``r`` is the route's :func:`_route_view`, ``size`` its length, ``allowed`` whether its
    vehicle may visit ``u``.
    """
    if not allowed:
        return NONE, -1
    return _best_in(r, u, 0, size - 1, worth, power)


@numba.njit(cache=True)
def _fill_row(d, s, u, cols, worth, power, table, pos, row_best, row_route):  # pragma: no cover
    """Best positions of ``u`` in the routes ``cols`` marks (the others: none)."""
    if d.granular:
        _fill_row_near(d, s, u, cols, worth, power, table, pos)
    else:
        for k in range(len(s.size)):
            table[u, k], pos[u, k] = NONE, -1
            if cols[k]:
                table[u, k], pos[u, k] = best_position(
                    _route_view(d, s, k), s.size[k], d.allowed[k, u], u, worth[u], power
                )
    _row_max(s, u, table, row_best, row_route)


@numba.njit(cache=True)
def _fill_row_near(d, s, u, cols, worth, power, table, pos):  # pragma: no cover - compiled
    """Granular: only the positions next to ``u``'s nearest stops, and empty routes."""
    for k in range(len(s.size)):
        table[u, k], pos[u, k] = NONE, -1
        if cols[k] and s.size[k] == 2 and d.allowed[k, u]:
            table[u, k], pos[u, k] = _best_in(_route_view(d, s, k), u, 0, 1, worth[u], power)
    for w in d.near[u]:
        if w < 0:
            break
        k = s.route_of[w]
        if k < 0 or not cols[k] or not d.allowed[k, u]:
            continue
        i = s.pos_of[w]
        score, where = _best_in(_route_view(d, s, k), u, i - 1, i + 1, worth[u], power)
        if score > table[u, k]:
            table[u, k], pos[u, k] = score, where


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
def recreate(d, s, noise, power, cand, cols, full):  # pragma: no cover - compiled
    """Insert free stops of ``cand`` greedily while any fits and pays; return how many.

    ``noise`` multiplies each stop's prize; scores are ``net ** power / extra seconds``.
    At first a stop is tried in the routes ``cols`` marks only, unless ``full`` marks it:
    after a recreate has run to its end, the routes a local search move left alone take no
    stop they did not take before (see :func:`improve`). Routes it inserts into are then
    tried for every stop.
    """
    n, k_count = len(d.service), len(s.size)
    table = np.full((n, k_count), NONE)
    pos = np.full((n, k_count), -1, dtype=np.int64)
    row_best = np.full(n, NONE)
    row_route = np.full(n, -1, dtype=np.int64)
    worth = np.zeros(n)
    live = np.zeros(n, dtype=np.bool_)
    every = np.ones(k_count, dtype=np.bool_)
    for u in cand:
        if eligible(d, s, u):
            live[u] = True
            worth[u] = _worth(d, s, u, noise)
            _fill_row(d, s, u, every if full[u] else cols, worth, power, table, pos, row_best,
                      row_route)  # fmt: skip
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
        _after_insert(
            d, s, u, k, cand, live, worth, noise, power, every, table, pos, row_best, row_route
        )


@numba.njit(cache=True)
def _after_insert(
    d, s, u, k, cand, live, worth, noise, power, every, table, pos, row_best, row_route
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
                _fill_row(d, s, v, every, worth, power, table, pos, row_best, row_route)
    for j in range(d.cover_ptr[u], d.cover_ptr[u + 1]):
        c = d.cover_idx[j]
        if s.cover_count[c] != 1:
            continue
        for jj in range(d.cover_node_ptr[c], d.cover_node_ptr[c + 1]):
            v = d.cover_nodes[jj]
            if live[v]:  # its cover bonus is gone
                worth[v] = _worth(d, s, v, noise)
                _fill_row(d, s, v, every, worth, power, table, pos, row_best, row_route)
    r, size = _route_view(d, s, k), s.size[k]
    for v in cand:
        if not live[v]:
            continue
        was = table[v, k]
        table[v, k], pos[v, k] = best_position(r, size, d.allowed[k, v], v, worth[v], power)
        if table[v, k] > row_best[v]:
            row_best[v], row_route[v] = table[v, k], k
        elif row_route[v] == k and table[v, k] < was:
            _row_max(s, v, table, row_best, row_route)


# --- Ruin -----------------------------------------------------------------------------------------


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


# --- Local search ---------------------------------------------------------------------------------


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
    """Replace visited stops by free ones of ``cand`` worth more; False if none is.

    One pass over the routes: each visited stop in turn gives way to the free stop that
    gains most in its place, if any does (the route's intervals are refreshed at once, so
    later stops of the pass are judged on the route as it now is).
    """
    one = np.zeros(1, dtype=np.int64)
    done = False
    for k in range(len(s.size)):
        for i in range(1, s.size[k] - 1):
            v = s.routes[k, i]
            if not _removable(d, s, v):
                continue
            best, bu = 1e-9, -1
            for u in d.near[v] if d.granular else cand:
                if u < 0:
                    break
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
                best, bu = gain, u
            if bu >= 0:
                s.route_of[v] = -1
                count_covers(d, s, v, -1)
                s.routes[k, i] = bu
                count_covers(d, s, bu, 1)
                refresh(d, s, k)
                done = True
    return done


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
                    if not (joins(d, s, p, p, i, q, j + 1) and joins(d, s, q, q, j, p, i + 1)):
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


@numba.njit(cache=True)
def _travel_saved(d, s, k, i):  # pragma: no cover - compiled
    """Travel saved by taking the stop at position ``i`` out of route ``k``."""
    t = d.travel[d.profile[k]]
    a, v, b = s.routes[k, i - 1], s.routes[k, i], s.routes[k, i + 1]
    return t[a, v] + t[v, b] - t[a, b]


@numba.njit(cache=True)
def relocate(d, s):  # pragma: no cover - compiled
    """Move one stop to another route where it costs less travel; False when none does.

    The route it leaves must stay feasible (the most-wait can forbid a removal); the best
    saving goes first.
    """
    one = np.zeros(1, dtype=np.int64)
    best, move = 0, (-1, -1, -1, -1)
    for k in range(len(s.size)):
        for i in range(1, s.size[k] - 1):
            v = s.routes[k, i]
            saved = _travel_saved(d, s, k, i)
            if saved <= best:
                continue
            if not joins(d, s, k, k, i - 1, k, i + 1):  # the most-wait can forbid a removal
                continue
            one[0] = v
            for k2 in range(len(s.size)):
                if k2 == k or s.size[k2] <= 2 or not d.allowed[k2, v]:
                    continue
                t = d.travel[d.profile[k2]]
                row = s.routes[k2]
                for j in range(s.size[k2] - 1):
                    gain = saved - (t[row[j], v] + t[v, row[j + 1]] - t[row[j], row[j + 1]])
                    if gain <= best:
                        continue
                    if fits_between(
                        d, k2, s.fe[k2, j], s.fl[k2, j], row[j], one, 1, row[j + 1],
                        s.be[k2, j + 1], s.bl[k2, j + 1],
                    ):  # fmt: skip
                        best, move = gain, (k, i, k2, j)
    k, i, k2, j = move
    if k < 0:
        return False
    return _relocated(d, s, k, i, k2, j)


@numba.njit(cache=True)
def _relocated(d, s, k, i, k2, j):  # pragma: no cover - compiled
    """Move the stop at ``i`` of route ``k`` after position ``j`` of ``k2`` if all stays valid."""
    v = s.routes[k, i]
    if needs_full_check(d, k) or needs_full_check(d, k2):
        m = s.size[k]
        left = np.concatenate((s.routes[k, :i], s.routes[k, i + 1 : m]))
        s.route_of[v] = -1
        ok = route_ok(d, s, k, left, m - 1)
        if ok:
            m2 = with_inserted(s, k2, j, v, s.scratch[5])
            ok = route_ok(d, s, k2, s.scratch[5], m2)
        s.route_of[v] = k
        if not ok:
            return False
    remove_at(d, s, k, i)
    refresh(d, s, k)
    insert_at(d, s, k2, j, v)
    return True


@numba.njit(cache=True)
def or_opt(d, s):  # pragma: no cover - compiled
    """Move a string of 1-3 stops elsewhere in its own route where that saves travel.

    Or-opt, the best move of each route; the route must stay feasible (and no shorter than
    its vehicle's shortest outing). Less travel leaves slack the next insertion can use.
    Returns whether any route changed.
    """
    moved = False
    for k in range(len(s.size)):
        if s.size[k] >= 4:
            moved = _or_opt_route(d, s, k) or moved
    return moved


@numba.njit(cache=True)
def _or_opt_route(d, s, k):  # pragma: no cover - compiled
    t = d.travel[d.profile[k]]
    row, m = s.routes[k], s.size[k]
    best, move = 0, (-1, -1, -1)
    for i in range(1, m - 1):
        for e in range(i, min(i + 3, m - 1)):  # the string is row[i .. e]
            first, last = row[i], row[e]
            out = t[row[i - 1], first] + t[last, row[e + 1]] - t[row[i - 1], row[e + 1]]
            if out <= best:
                continue
            for j in range(m - 1):  # put it between row[j] and row[j + 1]
                if i - 1 <= j <= e:
                    continue
                a, b = row[j], row[j + 1]
                gain = out - (t[a, first] + t[last, b] - t[a, b])
                if gain > best and _moved_ok(d, s, k, i, e, j):
                    best, move = gain, (i, e, j)
    i, e, j = move
    if i < 0:
        return False
    size = _with_moved(s, k, i, e, j, s.scratch[5])
    s.routes[k, :size] = s.scratch[5, :size]
    refresh(d, s, k)
    return True


@numba.njit(cache=True)
def _with_moved(s, k, i, e, j, out):  # pragma: no cover - compiled
    """Write route ``k`` with its stops ``i .. e`` moved after position ``j`` into ``out``."""
    row, m = s.routes[k], s.size[k]
    n = 0
    for x in range(m):
        if i <= x <= e:
            continue
        out[n] = row[x]
        n += 1
        if x == j:
            for y in range(i, e + 1):
                out[n] = row[y]
                n += 1
    return n


@numba.njit(cache=True)
def _moved_ok(d, s, k, i, e, j):  # pragma: no cover - compiled
    tmp = s.scratch[5]
    m = _with_moved(s, k, i, e, j, tmp)
    if not route_ok(d, s, k, tmp, m):
        return False
    times = s.scratch[4]  # the schedule route_ok made
    return d.min_duration[k] == 0 or times[m - 1] - times[0] >= d.min_duration[k]


# --- The walk -------------------------------------------------------------------------------------


class Walk(NamedTuple):
    """A walk's memory between calls of :func:`rounds` (arrays changed in place)."""

    current: np.ndarray  # (K, cap) the accepted routes
    current_size: np.ndarray  # (K,)
    best: np.ndarray  # (K, cap) the best routes met
    best_size: np.ndarray  # (K,)
    top: np.ndarray  # (K, cap) the best routes of all walks (restarts: Knobs.restart)
    top_size: np.ndarray  # (K,)
    elite: np.ndarray  # (E, K, cap) the bests of ended walks, for recombination
    elite_size: np.ndarray  # (E, K)
    elite_fig: np.ndarray  # (E, 2) their value and travel
    # [current value, best value, best travel, round, top value, top travel,
    #  round of the walk's last improvement, elites kept]
    figures: np.ndarray


class Knobs(NamedTuple):
    """The walk's settings, as numbers (see :class:`~..params.LnsParams`)."""

    temperature: float  # acceptance threshold at the start of an epoch, in prize units
    epoch: int  # rounds of one walk before it restarts from the best
    noise: float  # prizes times a factor in 1 +- noise, drawn per round
    power: float  # insertion score: net prize ** power / extra seconds
    most_removed: int  # the ruin removes 1 .. this many stops
    replace: bool  # local search: visited stops swapped for free ones worth more
    tails: bool  # local search: 2-opt* between routes when it saves travel
    relocate: bool  # local search: a stop moved to another route when it saves travel
    or_opt: bool  # local search: strings of 1-3 stops moved within their route
    restart: int  # rounds without a better best after which a fresh walk starts (0: never)
    crossover: float  # chance that a new walk starts from two elites' common stops
    segment: float  # chance that a round's ruin is the segment move instead


#: The segment move's beam: labels kept per depth, and the most stops of a new segment.
BEAM_WIDTH = 24
BEAM_DEPTH = 12
POOL = 40  # the stops of least detour the beam considers


@numba.njit(cache=True)
def _segment_pool(d, s, k, i, j):  # pragma: no cover - compiled
    """Return the stops that may fill the gap between positions ``i`` and ``j`` of route ``k``.

    Free stops and those of the segment itself, that vehicle ``k`` may visit, of no revisit
    group, and that fit alone between the gap's two ends.
    """
    a, b = s.routes[k, i], s.routes[k, j]
    one = np.zeros(1, dtype=np.int64)
    out = np.empty(len(d.customers), dtype=np.int64)
    count = 0
    for u in d.customers:
        if d.group[u] >= 0 or not d.allowed[k, u]:
            continue
        if s.route_of[u] >= 0 and not (s.route_of[u] == k and i < s.pos_of[u] < j):
            continue
        one[0] = u
        if fits_between(d, k, s.fe[k, i], s.fl[k, i], a, one, 1, b, s.be[k, j], s.bl[k, j]):
            out[count] = u
            count += 1
    if count <= POOL:
        return out[:count]
    tt = d.travel[d.profile[k]]
    detour = np.empty(count)
    for x in range(count):
        detour[x] = tt[a, out[x]] + tt[out[x], b]
    return out[:count][np.argsort(detour)[:POOL]]


@numba.njit(cache=True)
def _key(u):  # pragma: no cover - compiled
    """Return a number per stop whose sums tell sets of stops apart (almost always)."""
    return ((u + 1) * 0x9E3779B97F4A7C15) & 0x1FFFFFFFFFFFFFFF


@numba.njit(cache=True)
def beam_chain(d, s, k, i, j, noise, rate, depth, out):  # pragma: no cover - compiled
    """Find the best chain of stops between positions ``i`` and ``j`` of route ``k`` (a beam).

    A label is a chain from the gap's first end with its interval of service starts (as in
    :func:`fits_between`); each depth extends every label by every stop of the pool that
    still lets the chain reach the gap's other end, and keeps the ``BEAM_WIDTH`` best by
    noisy prize less ``rate`` per second used; labels with the same stops and last stop keep
    the earliest. Writes the chain of the highest prize (ties: the earliest) into ``out``
    and returns its length.
    """
    pool = _segment_pool(d, s, k, i, j)
    a, b = s.routes[k, i], s.routes[k, j]
    be_b, bl_b, wait, c = s.be[k, j], s.bl[k, j], d.max_wait, len(pool)
    w_cap = BEAM_WIDTH
    paths = np.zeros((w_cap, depth), dtype=np.int64)
    lo, hi = np.zeros(w_cap, dtype=np.int64), np.zeros(w_cap, dtype=np.int64)
    gain, prize = np.zeros(w_cap), np.zeros(w_cap)
    keys = np.zeros(w_cap, dtype=np.int64)
    origin = s.fe[k, i]
    lo[0], hi[0], labels = origin, s.fl[k, i], 1
    best_prize, best_lo, best_len = 0.0, origin, 0
    n_child = w_cap * max(c, 1)
    c_parent = np.zeros(n_child, dtype=np.int64)
    c_node = np.zeros(n_child, dtype=np.int64)
    c_lo, c_hi = np.zeros(n_child, dtype=np.int64), np.zeros(n_child, dtype=np.int64)
    c_score = np.zeros(n_child)
    for level in range(depth):
        kids = 0
        for p in range(labels):
            prev = a if level == 0 else paths[p, level - 1]
            for u in pool:
                seen = False
                for q in range(level):
                    seen = seen or paths[p, q] == u
                if seen:
                    continue
                t = arc(d, k, prev, u)
                l2, h2 = max(d.open[u], lo[p] + t), min(d.close[u], hi[p] + t + wait)
                if l2 > h2:
                    continue
                tb = arc(d, k, u, b)
                if max(l2 + tb, be_b) > min(h2 + tb + wait, bl_b):
                    continue
                c_parent[kids], c_node[kids], c_lo[kids], c_hi[kids] = p, u, l2, h2
                c_score[kids] = gain[p] + d.prize[u] * noise[u] - (rate + 1e-9) * (l2 - origin)
                kids += 1
        if kids == 0:
            break
        order = np.argsort(-c_score[:kids])
        n_paths = np.zeros((w_cap, depth), dtype=np.int64)
        n_lo, n_hi = np.zeros(w_cap, dtype=np.int64), np.zeros(w_cap, dtype=np.int64)
        n_gain, n_prize = np.zeros(w_cap), np.zeros(w_cap)
        n_keys = np.zeros(w_cap, dtype=np.int64)
        taken = 0
        for x in order:
            if taken == w_cap:
                break
            p, u = c_parent[x], c_node[x]
            key = (keys[p] + _key(u)) & 0x1FFFFFFFFFFFFFFF
            twin = False
            for y in range(taken):
                twin = twin or (n_keys[y] == key and n_paths[y, level] == u)
            if twin:
                continue
            n_paths[taken, :level] = paths[p, :level]
            n_paths[taken, level] = u
            n_lo[taken], n_hi[taken], n_keys[taken] = c_lo[x], c_hi[x], key
            n_gain[taken] = c_score[x] + (rate + 1e-9) * (c_lo[x] - origin)
            n_prize[taken] = prize[p] + d.prize[u]
            if n_prize[taken] > best_prize + 1e-9 or (
                n_prize[taken] > best_prize - 1e-9 and c_lo[x] < best_lo
            ):
                best_prize, best_lo, best_len = n_prize[taken], c_lo[x], level + 1
                out[: level + 1] = n_paths[taken, : level + 1]
            taken += 1
        paths, lo, hi, gain, prize, keys = n_paths, n_lo, n_hi, n_gain, n_prize, n_keys
        labels = taken
    return best_len


@numba.njit(cache=True)
def segment_move(d, s, noise, most):  # pragma: no cover - compiled
    """Replace a random segment of a random route by :func:`beam_chain`'s best chain.

    The segment has 0 .. ``most`` stops (0: only add stops), none of a revisit group;
    returns False (nothing changed) when no segment can be taken or the route would break
    a rule the intervals do not see (longest duration, revisit gaps).
    """
    k = np.random.randint(0, len(s.size))
    m = s.size[k]
    i = np.random.randint(0, m - 1)
    length = np.random.randint(0, min(most, m - 2 - i) + 1)
    j = i + 1 + length
    for x in range(i + 1, j):
        if d.group[s.routes[k, x]] >= 0:
            return False
    span = max(s.times[k, m - 1] - s.times[k, 0], 1)
    got = 0.0
    for x in range(1, m - 1):
        got += d.prize[s.routes[k, x]]
    chain = np.zeros(BEAM_DEPTH, dtype=np.int64)
    depth = min(BEAM_DEPTH, length + 4)
    n = beam_chain(d, s, k, i, j, noise, got / span, depth, chain)
    new_m = m - length + n
    if new_m > s.routes.shape[1]:
        return False
    row = s.scratch[5]
    row[: i + 1] = s.routes[k, : i + 1]
    row[i + 1 : i + 1 + n] = chain[:n]
    row[i + 1 + n : new_m] = s.routes[k, j:m]
    if needs_full_check(d, k) and not route_ok(d, s, k, row, new_m):
        return False
    for x in range(i + 1, j):
        s.route_of[s.routes[k, x]] = -1
        count_covers(d, s, s.routes[k, x], -1)
    for x in range(n):
        count_covers(d, s, chain[x], 1)
    s.routes[k, :new_m] = row[:new_m]
    s.size[k] = new_m
    refresh(d, s, k)
    return True


@numba.njit(cache=True)
def seed(value):  # pragma: no cover - compiled
    """Seed the compiled code's random numbers (per process)."""
    np.random.seed(value)


@numba.njit(cache=True)
def start(d, s, w):  # pragma: no cover - compiled
    """Make the state's routes the walk's current and best (after a first recreate)."""
    noise = np.ones(len(d.service))
    _recreate_all(d, s, noise, 1.0)
    v, travel = _adopt(d, s, w)
    w.top[:] = s.routes
    w.top_size[:] = s.size
    w.figures[4], w.figures[5] = v, travel


@numba.njit(cache=True)
def _adopt(d, s, w):  # pragma: no cover - compiled
    """Make the state's routes the walk's current and best (and the top if better than it).

    Returns their value and travel.
    """
    v, travel = value(d, s)
    w.current[:] = s.routes
    w.current_size[:] = s.size
    w.best[:] = s.routes
    w.best_size[:] = s.size
    w.figures[0], w.figures[1], w.figures[2] = v, v, travel
    if _better(v, travel, w.figures[4], w.figures[5]):  # a new walk may begin above the top
        w.top[:] = s.routes
        w.top_size[:] = s.size
        w.figures[4], w.figures[5] = v, travel
    return v, travel


@numba.njit(cache=True)
def _fresh(d, s, w, knobs, it):  # pragma: no cover - compiled
    """Start a new walk from empty routes (noisy first recreate); the top stays."""
    for k in range(len(s.size)):
        s.routes[k, 0], s.routes[k, 1] = d.start[k], d.end[k]
        s.size[k] = 2
    refresh_all(d, s)
    noise = 1.0 + knobs.noise * (2.0 * np.random.random(len(d.service)) - 1.0)
    _recreate_all(d, s, noise, knobs.power)
    _adopt(d, s, w)
    w.figures[6] = it


@numba.njit(cache=True)
def _remember(w):  # pragma: no cover - compiled
    """Keep the ending walk's best among the elites (unless kept already or worse than all)."""
    v, travel = w.figures[1], w.figures[2]
    count = int(w.figures[7])
    worst = 0
    for e in range(count):
        if abs(w.elite_fig[e, 0] - v) < 1e-9 and abs(w.elite_fig[e, 1] - travel) < 1e-6:
            return
        fig = w.elite_fig
        if _better(fig[worst, 0], fig[worst, 1], fig[e, 0], fig[e, 1]):
            worst = e
    if count < len(w.elite_fig):
        worst = count
        w.figures[7] = count + 1
    elif not _better(v, travel, w.elite_fig[worst, 0], w.elite_fig[worst, 1]):
        return
    w.elite[worst] = w.best
    w.elite_size[worst] = w.best_size
    w.elite_fig[worst, 0], w.elite_fig[worst, 1] = v, travel


@numba.njit(cache=True)
def _recombine(d, s, w, knobs, it):  # pragma: no cover - compiled
    """Start a new walk from one elite's routes less the stops another elite leaves out.

    What two good solutions share is kept in the first one's order; the stops where they
    disagree go back in by the noisy recreate and the local search (path relinking's idea,
    as a guided ruin).
    """
    count = int(w.figures[7])
    a = np.random.randint(0, count)
    b = (a + 1 + np.random.randint(0, count - 1)) % count
    _restore(d, s, w.elite[a], w.elite_size[a])
    in_b = np.zeros(len(d.service), dtype=np.bool_)
    for k in range(len(s.size)):
        for i in range(1, w.elite_size[b, k] - 1):
            in_b[w.elite[b, k, i]] = True
    out = np.zeros(len(d.service), dtype=np.bool_)
    for k in range(len(s.size)):
        for i in range(1, s.size[k] - 1):
            out[s.routes[k, i]] = not in_b[s.routes[k, i]]
    _later_copies(d, out)
    remove_marked(d, s, out)
    noise = 1.0 + knobs.noise * (2.0 * np.random.random(len(d.service)) - 1.0)
    _recreate_all(d, s, noise, knobs.power)
    improve(d, s, knobs, noise)
    _adopt(d, s, w)
    w.figures[6] = it


@numba.njit(cache=True)
def _better(v, travel, than_v, than_travel):  # pragma: no cover - compiled
    return v > than_v + 1e-9 or (v >= than_v - 1e-9 and travel < than_travel)


@numba.njit(cache=True)
def _restore(d, s, routes, size):  # pragma: no cover - compiled
    s.routes[:] = routes
    s.size[:] = size
    refresh_all(d, s)


@numba.njit(cache=True)
def _recreate_all(d, s, noise, power):  # pragma: no cover - compiled
    every = np.ones(len(s.size), dtype=np.bool_)
    return recreate(d, s, noise, power, d.customers, every, np.ones(len(d.service), np.bool_))


@numba.njit(cache=True)
def improve(d, s, knobs, noise):  # pragma: no cover - compiled
    """Local search after the recreate: 2-opt*, or-opt and replacements, then insertion.

    After each pass of the moves the stops go back in, tried first in the routes the moves
    changed only, and in every route for the stops a move freed (and the members of a cover
    group such a stop alone visited).
    """
    routes, size, route_of = s.routes.copy(), s.size.copy(), s.route_of.copy()
    cols = np.zeros(len(s.size), dtype=np.bool_)
    full = np.zeros(len(d.service), dtype=np.bool_)
    for _ in range(20):
        changed = knobs.tails and exchange_tails(d, s)
        changed = (knobs.relocate and relocate(d, s)) or changed
        changed = (knobs.or_opt and or_opt(d, s)) or changed
        changed = (knobs.replace and replace(d, s, d.customers)) or changed
        if not changed:
            return
        _changes(d, s, routes, size, route_of, cols, full)
        recreate(d, s, noise, knobs.power, d.customers, cols, full)
        routes[:], size[:], route_of[:] = s.routes, s.size, s.route_of


@numba.njit(cache=True)
def _changes(d, s, routes, size, route_of, cols, full):  # pragma: no cover - compiled
    """Mark the routes that differ from ``routes`` and the stops no longer visited."""
    for k in range(len(s.size)):
        cols[k] = size[k] != s.size[k]
        for i in range(min(size[k], s.size[k])):
            cols[k] = cols[k] or routes[k, i] != s.routes[k, i]
    full[:] = False
    for u in range(len(d.service)):
        if route_of[u] >= 0 and s.route_of[u] < 0:
            full[u] = True
            for j in range(d.cover_ptr[u], d.cover_ptr[u + 1]):
                g = d.cover_idx[j]
                for jj in range(d.cover_node_ptr[g], d.cover_node_ptr[g + 1]):
                    full[d.cover_nodes[jj]] = True


@numba.njit(cache=True)
def rounds(d, s, w, knobs, count):  # pragma: no cover - compiled
    """Run ``count`` rounds of ruin, recreate and threshold acceptance."""
    n = len(d.service)
    visited_cap = max(4, len(d.customers) // 3)
    cols = np.zeros(len(s.size), dtype=np.bool_)
    full = np.zeros(n, dtype=np.bool_)
    for _ in range(count):
        it = int(w.figures[3])
        w.figures[3] += 1
        if knobs.restart > 0 and it - w.figures[6] >= knobs.restart:
            _remember(w)  # the walk is stuck: a new one from nothing or from two elites
            if w.figures[7] >= 2 and np.random.random() < knobs.crossover:
                _recombine(d, s, w, knobs, it)
            else:
                _fresh(d, s, w, knobs, it)
        elif it > 0 and it % knobs.epoch == 0:  # a new walk from the best so far
            _restore(d, s, w.best, w.best_size)
            w.figures[0] = w.figures[1]
        progress = (it % knobs.epoch) / knobs.epoch
        q = np.random.randint(1, min(knobs.most_removed, visited_cap) + 1)
        routes, size, route_of = s.routes.copy(), s.size.copy(), s.route_of.copy()
        # (with the segment move off the random numbers are drawn as before it existed)
        segment = knobs.segment > 0 and np.random.random() < knobs.segment
        noise = 1.0 + knobs.noise * (2.0 * np.random.random(n) - 1.0) if segment else d.prize
        if not (segment and segment_move(d, s, noise, 10)):
            remove_marked(d, s, choose(d, s, q))
        # the routes the ruin left alone take no stop now that they did not take before
        _changes(d, s, routes, size, route_of, cols, full)
        if not segment:
            noise = 1.0 + knobs.noise * (2.0 * np.random.random(n) - 1.0)
        recreate(d, s, noise, knobs.power, d.customers, cols, full)
        improve(d, s, knobs, noise)
        v, travel = value(d, s)
        threshold = (1.0 - progress) * knobs.temperature * np.random.random()
        if v >= w.figures[0] - threshold:
            w.current[:] = s.routes
            w.current_size[:] = s.size
            w.figures[0] = v
        if v > w.figures[1] + 1e-9:  # a better value (not only less travel) resets the clock
            w.figures[6] = it
        if _better(v, travel, w.figures[1], w.figures[2]):
            w.best[:] = s.routes
            w.best_size[:] = s.size
            w.figures[1], w.figures[2] = v, travel
            if _better(v, travel, w.figures[4], w.figures[5]):
                w.top[:] = s.routes
                w.top_size[:] = s.size
                w.figures[4], w.figures[5] = v, travel
        if v < w.figures[0]:
            _restore(d, s, w.current, w.current_size)
