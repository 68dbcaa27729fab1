"""PrizeVRP builders with time windows shared by the compiled search's tests
(tests/routing/solver/lns/)."""

import itertools

import numpy as np

from gridplan.routing.solver import CoverGroup
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Vehicle


def travel_of(xy: np.ndarray, speed: float) -> np.ndarray:
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return np.rint(d / speed).astype(np.int64)


def random_model(seed: int, *, n: int = 30, vehicles: int = 3) -> PrizeVRP:
    """A patrol-like model: every rule of the solver's model, drawn at random."""
    rng = np.random.default_rng(seed)
    places = n - 1 - 2 * 3  # the station, the places, and three revisit groups of 3 copies
    xy = rng.uniform(0, 2000, size=(1 + places, 2))
    copies = [int(u) for u in rng.choice(np.arange(1, 1 + places), size=3, replace=False)]
    xy = np.vstack([xy, np.repeat(xy[copies], 2, axis=0)])
    walk, bike = travel_of(xy, 1.3), travel_of(xy, 4.0)
    size = len(xy)
    groups = []
    for j, u in enumerate(copies):
        nodes = (u, 1 + places + 2 * j, 2 + places + 2 * j)
        groups.append(RevisitGroup(nodes, min_gap=int(rng.integers(900, 2400))))
        for a, b in itertools.permutations(nodes, 2):  # no two copies in a row
            walk[a, b] = bike[a, b] = 10**6
    tw = np.tile([0, 4 * 3600], (size, 1))
    timed = rng.choice(np.arange(1, size), size=size // 4, replace=False)
    opens = rng.integers(0, 3 * 3600, size=len(timed))
    tw[timed] = np.stack([opens, opens + rng.integers(600, 3600, size=len(timed))], axis=1)
    fleet = [
        Vehicle(
            f"v{k}",
            profile=k % 2,
            earliest_start=int(rng.integers(0, 3600)),
            latest_end=4 * 3600,
            max_duration=int(rng.integers(3600, 3 * 3600)),
            allowed_nodes=None if k else frozenset(range(1, size - 4)),
        )
        for k in range(vehicles)
    ]
    covers = tuple(
        CoverGroup(tuple(int(u) for u in rng.choice(np.arange(1, size), 4, replace=False)), 500)
        for _ in range(2)
    )
    return PrizeVRP(
        travel=(walk, bike),
        service=np.r_[0, rng.integers(600, 900, size=size - 1)],
        prize=np.r_[0, rng.integers(1, 100, size=size - 1)],
        vehicles=tuple(fleet),
        time_windows=tw,
        revisit_groups=tuple(groups),
        cover_groups=covers,
        max_wait=300,
        travel_weight=0.001,
        balance_weight=0.0005,
    )


def brute_force_best(model: PrizeVRP) -> int:
    """Highest prize of one vehicle's feasible route over every ordered subset (tiny models)."""
    best = 0
    customers = model.customers
    for size in range(1, len(customers) + 1):
        for order in itertools.permutations(customers, size):
            sol = PrizeVRPSolution.from_routes(model, [list(order)])
            if sol.is_feasible(model):
                best = max(best, sol.collected_prize)
    return best
