"""The route pool: shortest route per set of stops, best disjoint packing."""

import numpy as np

from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver.lns.budgets import Budgets
from gridplan.routing.solver.lns.pool import RoutePool


def test_route_pool_keeps_the_shortest_order_and_packs_routes_of_two_solutions():
    # Stops on a line at x = 1..6, depot at 0; each route may travel 20.
    x = np.arange(7)
    m = PrizeVRP(
        travel=(np.abs(x[:, None] - x[None, :]),),
        service=[0] * 7,
        prize=[0, 5, 5, 1, 4, 4, 1],
        vehicles=(Vehicle("v", max_duration=20), Vehicle("w", max_duration=20)),
    )
    bud = Budgets.of(m)
    pool = RoutePool(bud, m)
    assert pool.members == [[0, 1]]  # same budget and stops: one class
    route = np.array  # routes are arrays of node numbers, depot to depot
    pool.add([route([0, 2, 1, 3, 0]), route([0, 0])])
    pool.add([route([0, 1, 2, 3, 0]), route([0, 4, 6, 0])])  # same stops as above, shorter
    assert pool.size == 2
    kept = pool.routes[0][frozenset({1, 2, 3})]
    assert kept[0] == 6 and kept[1].tolist() == [0, 1, 2, 3, 0]
    # Solution B (value 15) shares stop 1 with A's first route (values 11 + 5).
    b = [route([0, 1, 3, 6, 0]), route([0, 4, 5, 0])]
    packed = pool.pack(b, 5.0, deterministic=True)
    assert sorted(r.tolist() for r in packed) == [[0, 1, 2, 3, 0], [0, 4, 5, 0]]
    assert bud.value(packed) == 19 > bud.value(b)
    assert pool.size == 4  # the hint went into the pool
