"""Tiny PrizeVRP builders shared by the solver tests (tests/routing/solver/)."""

import numpy as np

from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import Vehicle


def line(xs):
    """Travel-time matrix of points on a line at ``xs``."""
    x = np.asarray(xs)
    return np.abs(x[:, None] - x[None, :])


def random_model(seed, n=25, m=3):
    """``n`` random points in a 100 x 100 square, prizes 1-9, ``m`` vehicles of 150 s from 0."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    travel = np.ceil(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    prize = rng.integers(1, 10, size=n)
    prize[0] = 0
    vehicles = tuple(Vehicle(f"v{k}", max_duration=150) for k in range(m))
    return PrizeVRP(travel=(travel.astype(int),), service=[0] * n, prize=prize, vehicles=vehicles)


def plane_model(points, budgets, allowed=None):
    """Depot 0 and end 1 on a plane, travel = rounded euclidean distance x 10."""
    xy = np.asarray(points, dtype=float)
    travel = np.rint(10 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    allowed = allowed or [None] * len(budgets)
    return PrizeVRP(
        travel=(travel.astype(np.int64),),
        service=[0] * len(xy),
        prize=[0, 0] + [1] * (len(xy) - 2),
        vehicles=tuple(
            Vehicle(f"v{k}", start=0, end=1, max_duration=b, allowed_nodes=a)
            for k, (b, a) in enumerate(zip(budgets, allowed, strict=True))
        ),
    )


def two_walkers_on_a_line():
    """Stops at x = 4, 5, 20, 3 (prizes 1, 9, 50, 2), two walkers of 10 s from 0: 20 is too far."""
    return PrizeVRP(
        travel=(line([0, 4, 5, 20, 3]),),
        service=[0] * 5,
        prize=[0, 1, 9, 50, 2],
        vehicles=(Vehicle("v", max_duration=10), Vehicle("w", max_duration=10)),
    )
