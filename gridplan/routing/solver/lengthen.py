"""Routes worth going out for: lengthen the short ones, or give them up.

A vehicle's ``min_duration`` (the shortest outing worth making) is not in the OR-Tools model:
a lower bound on an active route's span stops the insertion heuristics from building any
route, since every route starts short. :func:`lengthen` therefore repairs a solution: a route
that visits something but lasts less than its vehicle's minimum gets more stops, the most
valuable first (cheapest insertion among the nodes nobody visits, then stops taken over from
other routes, which loses no prize), until it is long enough; when no feasible stop can be
added, the route is given up (the vehicle stays at its start).
"""

from __future__ import annotations

from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.model import PrizeVRPSolution
from gridplan.routing.solver.model import Route

#: Nodes tried per insertion, by prize (then nearness): bounds the work on big slices.
CANDIDATES = 40


def _short(model: PrizeVRP, route: Route) -> bool:
    least = model.vehicles[route.vehicle].min_duration
    return bool(route.stops) and least is not None and route.duration < least


def _candidates(model: PrizeVRP, k: int, nodes: list[int], visited: set[int]) -> list[int]:
    """Unvisited nodes vehicle ``k`` may visit, the most valuable and nearest first."""
    v = model.vehicles[k]
    t = model.travel[v.profile]
    allowed = v.allowed_nodes
    out = [
        u
        for u in model.customers
        if u not in visited and (allowed is None or u in allowed) and t[nodes[0], u] < 10**6
    ]
    near = {u: int(min(t[a, u] for a in nodes)) for u in out}
    out.sort(key=lambda u: (-int(model.prize[u]), near[u], u))
    return out[:CANDIDATES]


def _feasible_but_short(model: PrizeVRP, sol: PrizeVRPSolution, k: int) -> bool:
    """Whether ``sol`` breaks nothing but route ``k``'s minimum duration (it is growing)."""
    short = f"vehicle {k} ({model.vehicles[k].name}): lasts "
    return all(v.startswith(short) and ", less than " in v for v in sol.violations(model))


def _moves(model: PrizeVRP, routes: list, k: int, visited: set[int]) -> list[tuple[int, int]]:
    """``(node, route it leaves or -1)``: unvisited nodes first, then other routes' stops.

    Taking a stop from another route loses no prize, so it is tried when nothing unvisited
    fits.
    """
    nodes = list(routes[k].nodes)
    out = [(u, -1) for u in _candidates(model, k, nodes, visited)]
    allowed = model.vehicles[k].allowed_nodes
    t = model.travel[model.vehicles[k].profile]
    taken = [
        (u, j)
        for j, r in enumerate(routes)
        if j != k
        for u in r.stops
        if allowed is None or u in allowed
    ]
    # the nearest few only: each trial re-checks the whole solution (big slices have 1,000s)
    taken.sort(key=lambda uj: (int(min(t[a, uj[0]] for a in nodes)), uj))
    return out + taken[:CANDIDATES]


def _try_insert(
    model: PrizeVRP, routes: list, k: int, visited: set[int]
) -> PrizeVRPSolution | None:
    """Return a solution with one more stop on route ``k``, adding least time (or None)."""
    nodes = list(routes[k].nodes)
    best, best_len = None, None
    for u, j in _moves(model, routes, k, visited):
        for pos in range(1, len(nodes)):
            trial = list(routes)
            trial[k] = [*nodes[:pos], u, *nodes[pos:]]
            if j >= 0:
                trial[j] = [x for x in routes[j].nodes if x != u]
            sol = PrizeVRPSolution.from_routes(model, trial)
            if not _feasible_but_short(model, sol, k):
                continue
            length = sol.routes[k].duration
            if best_len is None or length < best_len:
                best, best_len = sol, length
        if best is not None:
            return best  # the most valuable node that fits, at its cheapest place
    return None


def _without_orphans(model: PrizeVRP, routes: list) -> list[list[int]]:
    """Drop revisit copies whose earlier copy no route visits any more (a route given up).

    Copy k+1 may only be visited with copy k; giving up a route that held copy k would
    otherwise leave the other routes infeasible.
    """
    nodes = [list(r.nodes) if isinstance(r, Route) else list(r) for r in routes]
    visited = {u for r in nodes for u in r[1:-1]}
    orphans: set[int] = set()
    for g in model.revisit_groups:
        gone = [i for i, u in enumerate(g.nodes) if u not in visited]
        if gone:
            orphans.update(g.nodes[gone[0] + 1 :])
    return [[u for u in r if u not in orphans] for r in nodes]


def lengthen(model: PrizeVRP, solution: PrizeVRPSolution) -> PrizeVRPSolution:
    """Return ``solution`` with every route at least its vehicle's ``min_duration``.

    Short routes get stops inserted (the most valuable unvisited node that fits, where it
    adds least time) until long enough; a route that cannot be made long enough is emptied.
    Other routes keep their times. A solution with no short route is returned as it is.
    """
    if not any(_short(model, r) for r in solution.routes):
        return solution
    current = solution
    for k in range(model.num_vehicles):
        while _short(model, current.routes[k]):
            visited = {u for r in current.routes for u in r.stops}
            routes = list(current.routes)
            grown = _try_insert(model, routes, k, visited)
            if grown is None:
                v = model.vehicles[k]
                routes[k] = [v.start, v.end]
                current = PrizeVRPSolution.from_routes(model, _without_orphans(model, routes))
                break
            current = grown
    return PrizeVRPSolution.from_routes(
        model,
        current.routes,
        runtime_s=solution.runtime_s,
        iterations=solution.iterations,
    )


__all__ = ["lengthen"]
