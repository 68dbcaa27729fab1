"""The route pool: routes met by the search, recombined by set packing.

Walks of the budget search end in different local optima whose routes are often good in
different parts of the map; packing the best disjoint set of the routes met so far keeps the
best of each. The packing itself is CP-SAT's (:func:`gridplan.routing.solver._ortools.pack_routes`).
"""

from __future__ import annotations

import numpy as np

from gridplan.routing.solver import _ortools
from gridplan.routing.solver.lns.budgets import Budgets
from gridplan.routing.solver.model import PrizeVRP


class RoutePool:
    """Routes met by the search, for recombination by set packing (CP-SAT).

    Vehicles that share profile, start, end, budget and allowed stops form a class; a pooled
    route fits every vehicle of its class. For each class and set of stops the pool keeps the
    shortest route found. :meth:`pack` picks at most one route per vehicle, no stop twice,
    of the highest total value (prize less weighted travel).
    """

    def __init__(self, bud: Budgets, model: PrizeVRP):
        self.bud = bud
        keys: dict[tuple, int] = {}
        self.vehicle_class = []
        for k, v in enumerate(model.vehicles):
            key = (v.profile, v.start, v.end, bud.limit[k], bud.allowed[k].tobytes())
            self.vehicle_class.append(keys.setdefault(key, len(keys)))
        self.members = [
            [k for k, c in enumerate(self.vehicle_class) if c == cls] for cls in range(len(keys))
        ]
        self.routes: list[dict[frozenset, tuple[float, np.ndarray]]] = [{} for _ in keys]

    @property
    def size(self) -> int:
        """Number of pooled routes (distinct sets of stops per vehicle class)."""
        return sum(len(table) for table in self.routes)

    def add(self, routes: list[np.ndarray]) -> None:
        """Pool the non-empty routes of a solution (one route per vehicle)."""
        for k, r in enumerate(routes):
            if len(r) <= 2:
                continue
            stops = frozenset(r[1:-1].tolist())
            table = self.routes[self.vehicle_class[k]]
            length = float(self.bud.travel[k][r[:-1], r[1:]].sum())
            known = table.get(stops)
            if known is None or length < known[0] - 1e-9:
                table[stops] = (length, r)

    def pack(
        self, hint: list[np.ndarray], time_limit_s: float, *, deterministic: bool = False
    ) -> list[np.ndarray] | None:
        """Best combination of pooled routes found in the time, or None if none is found.

        ``hint`` (routes per vehicle, usually the best so far) is CP-SAT's first solution.
        With ``deterministic`` the limit is CP-SAT's deterministic time, so the answer does not
        depend on the machine's speed.
        """
        bud = self.bud
        self.add(hint)
        scale = 1000.0
        hint_sets = {
            (self.vehicle_class[k], frozenset(r[1:-1].tolist())) for k, r in enumerate(hint)
        }
        columns = []  # (class, stops, weight, hinted)
        routes = []
        for cls, table in enumerate(self.routes):
            for stops, (length, r) in table.items():
                value = float(bud.prize[r[1:-1]].sum()) - bud.travel_weight * length
                if value <= 0:
                    continue
                columns.append((cls, stops, round(value * scale), (cls, stops) in hint_sets))
                routes.append(r)
        if not columns:
            return None
        caps = [len(m) for m in self.members]
        chosen = _ortools.pack_routes(columns, caps, time_limit_s, deterministic=deterministic)
        if chosen is None:
            return None
        out: list[np.ndarray | None] = [None] * len(self.vehicle_class)
        for i in chosen:
            k = next(k for k in self.members[columns[i][0]] if out[k] is None)
            out[k] = routes[i]
        for k, r in enumerate(out):
            if r is None:
                out[k] = np.array([hint[k][0], hint[k][-1]], dtype=np.int64)
        return out
