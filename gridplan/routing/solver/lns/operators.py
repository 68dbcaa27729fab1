"""Search moves on duration-budget routes, in NumPy: ruin, repair and local search.

Routes are arrays of node numbers from the start depot to the end depot. The repair
(:func:`improve`) shortens routes by 2-opt (:func:`two_opt`), exchanges route tails
(:func:`two_opt_star`), inserts free stops by prize per extra second (:func:`insert`) and swaps
visited stops for better free ones (:func:`swap_in`); :func:`ruin` and :func:`seed_empty`
perturb a solution before it. :func:`ruin` and :func:`recreate` also serve the OR-Tools LNS.
None of them imports OR-Tools.
"""

from __future__ import annotations

import time

import numpy as np

from gridplan.routing.solver.lns.budgets import Budgets
from gridplan.routing.solver.lns.budgets import allowed_mask
from gridplan.routing.solver.lns.budgets import barred_after
from gridplan.routing.solver.lns.budgets import budget_only
from gridplan.routing.solver.lns.budgets import prefix_lengths
from gridplan.routing.solver.lns.budgets import route_limit
from gridplan.routing.solver.model import PrizeVRP


def ruin(model: PrizeVRP, routes: list[list[int]], rng: np.random.Generator) -> set[int]:
    """Pick stops to remove: a cluster around a stop, a whole route, or a piece of each route.

    Removing a revisit copy also removes the later copies of its group, which may only be
    visited when it is.
    """
    visited = [u for r in routes for u in r[1:-1]]
    if not visited:
        return set()
    mode = int(rng.integers(3))
    if mode == 0:
        seed = visited[int(rng.integers(len(visited)))]
        k = int(rng.integers(3, max(4, min(25, len(visited) // 2) + 1)))
        near = model.travel[model.vehicles[0].profile][seed, visited]
        removed = {visited[i] for i in np.argsort(near, kind="stable")[:k]}
    elif mode == 1:
        used = [r for r in routes if len(r) > 2]
        removed = set(used[int(rng.integers(len(used)))][1:-1])
    else:
        removed = set()
        for r in routes:
            stops = r[1:-1]
            if stops:
                size = int(rng.integers(1, max(2, len(stops) // 2 + 1)))
                first = int(rng.integers(0, len(stops) - size + 1))
                removed.update(stops[first : first + size])
    for g in model.revisit_groups:
        later = False
        for u in g.nodes:
            later = later or u in removed
            if later:
                removed.add(u)
    return removed


def recreate(
    model: PrizeVRP, routes: list[list[int]], rng: np.random.Generator, *, deadline: float
) -> list[list[int]]:
    """Insert unvisited stops greedily by prize per extra second while they fit.

    Only for models whose feasibility is a duration budget per route (no time windows, no
    revisit groups); otherwise ``routes`` come back unchanged and OR-Tools' descent does all
    the re-inserting. Each step takes the stop and position with the highest
    ``prize / detour`` (times a random factor in [0.8, 1.2] that diversifies the repairs).
    """
    if not budget_only(model):
        return routes
    routes = [list(r) for r in routes]
    service = model.service.astype(float)
    prize = model.prize.astype(float)
    visited = {u for r in routes for u in r[1:-1]}
    free = np.array(
        [u for u in model.customers if u not in visited and prize[u] > 0], dtype=np.int64
    )
    noise = rng.uniform(0.8, 1.2, size=model.num_nodes)
    limits, used, allowed = [], [], []
    for k, v in enumerate(model.vehicles):
        limits.append(route_limit(model, k))
        t = model.travel[v.profile]
        r = np.asarray(routes[k])
        used.append(float((service[r[:-1]] + t[r[:-1], r[1:]]).sum()))
        allowed.append(allowed_mask(model, v))
    while free.size and time.perf_counter() < deadline:
        best = None
        for k, v in enumerate(model.vehicles):
            cand = free[allowed[k][free]]
            if not cand.size:
                continue
            t = model.travel[v.profile]
            r = np.asarray(routes[k])
            a, b = r[:-1], r[1:]
            # extra seconds of putting u between a and b: its service plus the detour
            detour = (
                t[a[None, :], cand[:, None]]
                + service[cand][:, None]
                + t[cand[:, None], b[None, :]]
                - t[a, b][None, :]
            )
            fits = detour <= limits[k] - used[k]
            if not fits.any():
                continue
            ratio = np.where(
                fits, (prize[cand] * noise[cand])[:, None] / np.maximum(detour, 1e-9), -1.0
            )
            i, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            if best is None or ratio[i, j] > best[0]:
                best = (ratio[i, j], k, int(cand[i]), j + 1, float(detour[i, j]))
        if best is None:
            break
        _, k, u, pos, extra = best
        routes[k].insert(pos, u)
        used[k] += extra
        free = free[free != u]
    return routes


def two_opt(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Reverse segments of the path ``r`` while that shortens it (best move first).

    Works on asymmetric ``d``: prefix sums give the length of every segment both ways.
    """
    size = len(r)
    if size < 4:
        return r
    i = np.arange(1, size - 1)[:, None]
    j = np.arange(1, size - 1)[None, :]
    upper = j > i
    for _ in range(4 * size):
        fwd = prefix_lengths(d, r)
        bwd = prefix_lengths(d.T, r)
        delta = (
            d[r[i - 1], r[j]]
            + d[r[i], r[j + 1]]
            - d[r[i - 1], r[i]]
            - d[r[j], r[j + 1]]
            + (bwd[j] - bwd[i])
            - (fwd[j] - fwd[i])
        )
        delta = np.where(upper, delta, 0.0)
        flat = int(np.argmin(delta))
        if delta.flat[flat] >= -1e-9:
            break
        x, y = divmod(flat, size - 2)
        x, y = x + 1, y + 1
        r = np.concatenate((r[:x], r[x : y + 1][::-1], r[y + 1 :]))
    return r


def two_opt_star(bud: Budgets, routes: list[np.ndarray], used: list[float]) -> set[int]:
    """Swap the tails of two routes (2-opt*) while that makes them shorter in total.

    Routes with the same end place exchange everything after a cut in each, when both still
    fit their budgets and allowed stops; the best move goes first. The time saved makes
    room for more stops, and one move can hand a whole part of the map to the other route.
    Changes ``routes`` and ``used`` in place; returns the routes that changed.
    """
    changed: set[int] = set()
    heads = [prefix_lengths(bud.dur[k], r) for k, r in enumerate(routes)]
    for _ in range(4 * len(routes)):
        best, move = -1e-6, None
        for p, a in enumerate(routes):
            for q in range(p + 1, len(routes)):
                b = routes[q]
                if a[-1] != b[-1] or (len(a) <= 2 and len(b) <= 2):
                    continue
                da, db = bud.dur[p], bud.dur[q]
                # heads in their own vehicle's durations, tails in the other vehicle's
                head_a, head_b = heads[p], heads[q]
                a_in_b, b_in_a = prefix_lengths(db, a), prefix_lengths(da, b)
                i = np.arange(len(a) - 1)[:, None]  # a keeps a[: i + 1]
                j = np.arange(len(b) - 1)[None, :]  # b keeps b[: j + 1]
                new_a = head_a[i] + da[a[i], b[j + 1]] + (b_in_a[-1] - b_in_a[j + 1])
                new_b = head_b[j] + db[b[j], a[i + 1]] + (a_in_b[-1] - a_in_b[i + 1])
                ok = (new_a <= bud.limit[p] + 1e-9) & (new_b <= bud.limit[q] + 1e-9)
                # no stop in a tail that the other vehicle may not visit
                ok &= barred_after(bud.allowed[q], a)[i] == 0
                ok &= barred_after(bud.allowed[p], b)[j] == 0
                delta = np.where(ok, new_a + new_b - used[p] - used[q], np.inf)
                flat = int(np.argmin(delta))
                if delta.flat[flat] < best:
                    x, y = divmod(flat, len(b) - 1)
                    best = float(delta.flat[flat])
                    move = (p, q, x, y, float(new_a[x, y]), float(new_b[x, y]))
        if move is None:
            break
        p, q, x, y, new_p, new_q = move
        a, b = routes[p], routes[q]
        routes[p] = np.concatenate((a[: x + 1], b[y + 1 :]))
        routes[q] = np.concatenate((b[: y + 1], a[x + 1 :]))
        used[p], used[q] = new_p, new_q
        heads[p], heads[q] = (
            prefix_lengths(bud.dur[p], routes[p]),
            prefix_lengths(bud.dur[q], routes[q]),
        )
        changed.update((p, q))
    return changed


def insert(
    bud: Budgets,
    routes: list[np.ndarray],
    used: list[float],
    free: np.ndarray,
    noise: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Insert free stops, best ``prize * noise / detour`` first, while any fits and pays.

    Each route keeps its matrix of ratios (candidates by arcs); an insertion recomputes only
    the route that changed and strikes the inserted stop from the others.
    """
    tw = bud.travel_weight
    free_mask = np.zeros(len(bud.prize), dtype=bool)
    free_mask[free] = True

    def ratios(k: int):
        cand = np.flatnonzero(free_mask & bud.allowed[k])
        if not cand.size:
            return None
        d, r = bud.dur[k], routes[k]
        a, b = r[:-1], r[1:]
        detour = d[a[None, :], cand[:, None]] + d[cand[:, None], b[None, :]] - d[a, b][None, :]
        fits = detour <= bud.limit[k] - used[k] + 1e-9
        if tw > 0:
            fits &= bud.prize[cand][:, None] - tw * (detour - bud.service[cand][:, None]) > 0
        if not fits.any():
            return None
        ratio = np.where(
            fits, (bud.prize[cand] * noise[cand])[:, None] / np.maximum(detour, 1e-9), -1.0
        )
        return cand, ratio, detour

    tables = [ratios(k) for k in range(len(routes))]
    while True:
        best = None
        for k, table in enumerate(tables):
            if table is None:
                continue
            cand, ratio, detour = table
            i, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            if ratio[i, j] > 0 and (best is None or ratio[i, j] > best[0]):
                best = (ratio[i, j], k, int(cand[i]), j + 1, float(detour[i, j]))
        if best is None:
            break
        _, k, u, pos, extra = best
        routes[k] = np.insert(routes[k], pos, u)
        used[k] += extra
        free_mask[u] = False
        for other, table in enumerate(tables):
            if other != k and table is not None:
                table[1][table[0] == u, :] = -1.0
        tables[k] = ratios(k)
    return routes, free[free_mask[free]]


def swap_in(bud: Budgets, routes: list[np.ndarray], used: list[float], free: np.ndarray) -> bool:
    """Replace one stop by a free stop of higher prize that fits in its place (best gain).

    The free stop goes to its cheapest position in the route without the replaced stop: the
    gap the removal closes, or the cheapest other arc (found among each stop's three cheapest
    arcs, of which at most two touch the removed stop). Changes ``routes`` and ``used`` in
    place; returns whether a swap was made.
    """
    best = None
    for k, r in enumerate(routes):
        cand = free[bud.allowed[k][free]]
        size = len(r)
        if not cand.size or size < 3:
            continue
        d = bud.dur[k]
        a, b = r[:-1], r[1:]
        ins = d[a[None, :], cand[:, None]] + d[cand[:, None], b[None, :]] - d[a, b][None, :]
        top = min(3, ins.shape[1])
        idx3 = np.argsort(ins, axis=1)[:, :top]  # (C, 3) arc numbers
        val3 = np.take_along_axis(ins, idx3, axis=1)
        pos = np.arange(1, size - 1)  # stop positions p; arcs p - 1 and p touch r[p]
        clash = (idx3[:, None, :] == pos[None, :, None] - 1) | (
            idx3[:, None, :] == pos[None, :, None]
        )
        other = np.where(clash, np.inf, val3[:, None, :])  # (C, P, 3)
        pick = np.argmin(other, axis=2)
        other_best = np.take_along_axis(other, pick[..., None], axis=2)[..., 0]
        prev, nxt, mid = r[pos - 1], r[pos + 1], r[pos]
        bridge = d[prev[None, :], cand[:, None]] + d[cand[:, None], nxt[None, :]] - d[prev, nxt]
        saved = d[prev, mid] + d[mid, nxt] - d[prev, nxt]
        cheapest = np.minimum(bridge, other_best)
        ok = cheapest <= (bud.limit[k] - used[k] + 1e-9) + saved[None, :]
        gain = bud.prize[cand][:, None] - bud.prize[mid][None, :]
        if bud.travel_weight > 0:
            extra_travel = (
                cheapest - saved[None, :] - bud.service[cand][:, None] + bud.service[mid][None, :]
            )
            gain = gain - bud.travel_weight * extra_travel
        ok &= gain > 0
        if not ok.any():
            continue
        score = np.where(ok, gain - 1e-9 * cheapest, -np.inf)
        c, q = np.unravel_index(int(np.argmax(score)), score.shape)
        key = (float(gain[c, q]), -float(cheapest[c, q]))
        if best is None or key > best[0]:
            p = int(pos[q])
            if bridge[c, q] <= other_best[c, q]:
                at = p
            else:
                e = int(idx3[c, pick[c, q]])
                at = e + 1 if e < p else e
            best = (key, k, p, int(cand[c]), at, float(cheapest[c, q] - saved[q]))
    if best is None:
        return False
    _, k, p, u, at, extra = best
    routes[k] = np.insert(np.delete(routes[k], p), at, u)
    used[k] += extra
    return True


def seed_empty(
    bud: Budgets, routes: list[np.ndarray], rng: np.random.Generator, chance: float
) -> list[np.ndarray]:
    """Start each empty route, with probability ``chance``, at a random unvisited stop.

    The greedy repair grows an empty route from the stop of best prize per extra second,
    which is near where the other routes already go; a random first stop lets a route move
    to another part of the map (the repair then fills it around that stop).
    """
    visited = np.zeros(len(bud.prize), dtype=bool)
    for r in routes:
        visited[r[1:-1]] = True
    out = list(routes)
    for k, r in enumerate(routes):
        if len(r) > 2 or rng.random() >= chance:
            continue
        free = bud.customers[~visited[bud.customers] & bud.allowed[k][bud.customers]]
        if not free.size:
            continue
        u = int(free[int(rng.integers(free.size))])
        out[k] = np.array([r[0], u, r[-1]], dtype=np.int64)
        visited[u] = True
    return out


def improve(
    bud: Budgets,
    routes: list[np.ndarray],
    rng: np.random.Generator,
    *,
    swaps: bool,
    noise: float = 0.2,
    cross: bool = False,
) -> list[np.ndarray]:
    """Shorten, exchange, insert and swap stops in ``routes`` while that helps.

    Routes are shortened by 2-opt, their tails exchanged (``cross``, :func:`two_opt_star`), free
    stops inserted (:func:`insert`) and visited ones swapped for better (``swaps``).
    """
    visited = np.zeros(len(bud.prize), dtype=bool)
    for r in routes:
        visited[r[1:-1]] = True
    free = bud.customers[~visited[bud.customers]]
    noise = rng.uniform(1.0 - noise, 1.0 + noise, size=len(bud.prize))
    routes = [two_opt(bud.dur[k], r) for k, r in enumerate(routes)]
    used = [bud.duration(k, r) for k, r in enumerate(routes)]
    for _ in range(50):
        if cross and len(routes) > 1:
            for k in two_opt_star(bud, routes, used):
                routes[k] = two_opt(bud.dur[k], routes[k])
                used[k] = bud.duration(k, routes[k])
        before = [len(r) for r in routes]
        routes, free = insert(bud, routes, used, free, noise)
        changed = [k for k, r in enumerate(routes) if len(r) != before[k]]
        if swaps and free.size and swap_in(bud, routes, used, free):
            visited[:] = False
            for r in routes:
                visited[r[1:-1]] = True
            free = bud.customers[~visited[bud.customers]]
            changed = list(range(len(routes)))
        if not changed:
            break
        for k in changed:
            routes[k] = two_opt(bud.dur[k], routes[k])
            used[k] = bud.duration(k, routes[k])
    return routes
