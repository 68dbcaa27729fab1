"""Routes worth going out for: lengthen the short ones, or give them up.

A vehicle's ``min_duration`` (the shortest outing worth making) is not in the OR-Tools model:
a lower bound on an active route's span stops the insertion heuristics from building any
route, since every route starts short. :func:`lengthen` therefore repairs a solution: a route
that visits something but lasts less than its vehicle's minimum gets more stops, the most
valuable first (cheapest insertion among the nodes nobody visits), until it is long enough;
when no feasible stop can be added, the route is given up (the vehicle stays at its start).
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


def _try_insert(
    model: PrizeVRP, routes: list, k: int, visited: set[int]
) -> PrizeVRPSolution | None:
    """Return a solution with one more stop on route ``k``, adding least time (or None)."""
    nodes = list(routes[k].nodes)
    best, best_len = None, None
    for u in _candidates(model, k, nodes, visited):
        for pos in range(1, len(nodes)):
            trial = list(routes)
            trial[k] = [*nodes[:pos], u, *nodes[pos:]]
            sol = PrizeVRPSolution.from_routes(model, trial)
            if not sol.is_feasible(model):
                continue
            length = sol.routes[k].duration
            if best_len is None or length < best_len:
                best, best_len = sol, length
        if best is not None:
            return best  # the most valuable node that fits, at its cheapest place
    return None


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
                current = PrizeVRPSolution.from_routes(model, routes)
                break
            current = grown
    return PrizeVRPSolution.from_routes(
        model,
        current.routes,
        runtime_s=solution.runtime_s,
        iterations=solution.iterations,
    )


__all__ = ["lengthen"]
