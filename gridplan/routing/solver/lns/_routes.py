"""Compiled route arithmetic of the time-window search: schedules, slack and O(1) move checks.

A route is a row of node numbers from the start depot to the end depot. For each position
``i`` the search keeps two intervals of service-start times (Savelsbergh's forward and
backward slack, extended to a most-wait):

- ``fe[i], fl[i]``: the service starts at ``i`` some schedule of the route *up to* ``i`` can
  reach (windows, the vehicle's earliest start, and at most ``W`` seconds of waiting per arc);
- ``be[i], bl[i]``: the service starts at ``i`` from which the route *after* ``i`` can still
  be completed (windows, the vehicle's latest end, the most-wait).

Both are intervals, because the reachable starts of the next stop, ``[t + d, t + d + W]`` for
``t`` in an interval, form an interval. Joining a prefix that ends at ``a`` to a suffix that
begins at ``b`` through new stops is feasible exactly when the forward interval carried along
the new arcs meets ``b``'s backward interval, which is what :func:`fits_between` checks in
constant time. The schedule a route is given (:func:`schedule`) starts as late as it can and
then serves each stop as early as it can: the shortest duration of all its feasible
schedules.

Everything here is compiled by numba and takes a :class:`~.timed.TimedData` named tuple.
"""

from __future__ import annotations

import numba
import numpy as np

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
def detour(d, k, a, u, b):  # pragma: no cover - compiled
    """Extra seconds of serving ``u`` between ``a`` and ``b`` (its service included)."""
    return arc(d, k, a, u) + arc(d, k, u, b) - arc(d, k, a, b)


@numba.njit(cache=True)
def arc_cost(d, k, a, b):  # pragma: no cover - compiled
    """Weighted travel of vehicle ``k`` from ``a`` to ``b`` (times the arc factor, if any)."""
    t = d.travel[d.profile[k], a, b]
    if d.arc_factor.shape[0] > 1:
        return d.travel_weight * t * d.arc_factor[a, b]
    return d.travel_weight * t


@numba.njit(cache=True)
def extra_cost(d, k, a, u, b):  # pragma: no cover - compiled
    """Extra weighted travel of serving ``u`` between ``a`` and ``b``."""
    return arc_cost(d, k, a, u) + arc_cost(d, k, u, b) - arc_cost(d, k, a, b)
