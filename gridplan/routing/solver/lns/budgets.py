"""Duration-budget view of a :class:`~gridplan.routing.solver.model.PrizeVRP` for the search.

On models whose routes are limited by a duration budget only (no time windows, no revisit
groups) a route is feasible exactly when the sum of its arcs' service-plus-travel times fits
the vehicle's budget. :class:`Budgets` holds those times as float arrays per vehicle, so the
operators (:mod:`~gridplan.routing.solver.lns.operators`) can judge moves with NumPy alone.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.model import Vehicle


def route_limit(model: PrizeVRP, k: int) -> int:
    """Longest duration vehicle ``k``'s route may have: its shift or its maximum duration."""
    v = model.vehicles[k]
    limit = model.vehicle_latest_end(k) - v.earliest_start
    if v.max_duration is not None:
        limit = min(limit, v.max_duration)
    return limit


def allowed_mask(model: PrizeVRP, v: Vehicle) -> np.ndarray:
    """Boolean mask of the nodes vehicle ``v`` may visit."""
    mask = np.ones(model.num_nodes, dtype=bool)
    if v.allowed_nodes is not None:
        mask[:] = False
        mask[list(v.allowed_nodes)] = True
    return mask


def budget_only(model: PrizeVRP) -> bool:
    """Whether a route is feasible exactly when its duration fits (no windows, no revisits).

    A minimum duration (an outing worth making) is not a budget either.
    """
    return (
        model.time_windows is None
        and not model.revisit_groups
        and all(v.min_duration is None for v in model.vehicles)
    )


def python_lns_applies(model: PrizeVRP) -> bool:
    """Whether the Python search can judge the model's solutions on its own.

    :func:`~gridplan.routing.solver.lns.search.budget_search` knows duration budgets, prizes
    and weighted travel, not windows, revisits, cover groups or the balance term.
    """
    return budget_only(model) and not model.cover_groups and model.balance_weight == 0


@dataclasses.dataclass
class Budgets:
    """Duration-budget view of a model for the Python search (float arrays, per vehicle).

    ``dur[k][a, b]`` is the service at ``a`` plus vehicle ``k``'s travel to ``b``: a route's
    duration is the sum over its arcs. ``value`` of a solution is its collected prize less
    ``travel_weight`` times its travel, the routing objective without balance or cover terms.
    """

    dur: list[np.ndarray]
    travel: list[np.ndarray]
    limit: list[float]
    allowed: list[np.ndarray]
    prize: np.ndarray
    service: np.ndarray
    travel_weight: float
    customers: np.ndarray

    @classmethod
    def of(cls, model: PrizeVRP) -> Budgets:
        """Return the budget view of ``model`` (stops a vehicle cannot reach are barred)."""
        service = model.service.astype(float)
        travel = {p: t.astype(float) for p, t in enumerate(model.travel)}
        dur = {p: t + service[:, None] for p, t in travel.items()}
        limits, allowed = [], []
        for k, v in enumerate(model.vehicles):
            limit = route_limit(model, k)
            limits.append(float(limit))
            mask = allowed_mask(model, v)
            # Stops the vehicle cannot reach and leave within its budget are never candidates.
            d = dur[v.profile]
            mask &= d[v.start, :] + d[:, v.end] <= limit + 1e-9
            allowed.append(mask)
        return cls(
            dur=[dur[v.profile] for v in model.vehicles],
            travel=[travel[v.profile] for v in model.vehicles],
            limit=limits,
            allowed=allowed,
            prize=model.prize.astype(float),
            service=service,
            travel_weight=float(model.travel_weight),
            customers=np.array([u for u in model.customers if model.prize[u] > 0], dtype=np.int64),
        )

    def duration(self, k: int, r: np.ndarray) -> float:
        """Duration of vehicle ``k``'s route ``r`` (full node sequence)."""
        return float(self.dur[k][r[:-1], r[1:]].sum())

    def value(self, routes: list[np.ndarray]) -> float:
        """Return the collected prize of ``routes`` less ``travel_weight`` times their travel."""
        prize = sum(float(self.prize[r[1:-1]].sum()) for r in routes)
        if self.travel_weight == 0:
            return prize
        travel = sum(float(self.travel[k][r[:-1], r[1:]].sum()) for k, r in enumerate(routes))
        return prize - self.travel_weight * travel


def prefix_lengths(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Length of the path ``r`` up to each of its nodes under ``d`` (0 at the first)."""
    return np.concatenate(([0.0], np.cumsum(d[r[:-1], r[1:]])))


def barred_after(allowed: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Count the stops after each node of the path ``r`` that ``allowed`` bars (0 at the end)."""
    return np.append(np.cumsum(~allowed[r[1:-1]][::-1])[::-1], 0)
