"""The outing repair: short routes grow, or are given up without breaking revisit order."""

import numpy as np

from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver.lengthen import lengthen


def test_giving_up_a_route_drops_the_later_copies_it_left_orphaned():
    """Node 1 is copy 1 and node 2 copy 2 of one place; the short route holds copy 1.

    Nothing can make route 0 long enough (its window is shorter than its minimum), so it is
    given up; copy 2 on route 1 may not stay without copy 1 (found on the S02 lattice with a
    red alert: the repaired plan was infeasible and the whole slice was left empty).
    """
    travel = np.array([[0, 60, 60], [60, 0, 0], [60, 0, 0]])
    vrp = PrizeVRP(
        travel=(travel,),
        service=[0, 600, 600],
        prize=[0, 100, 50],
        vehicles=(
            # it may only visit copy 1: it cannot take copy 2 over from the other route
            Vehicle("short", min_duration=3000, latest_end=2000, allowed_nodes=frozenset({1})),
            Vehicle("long"),
        ),
        revisit_groups=(RevisitGroup((1, 2), min_gap=0),),
    )
    start = PrizeVRPSolution.from_routes(vrp, [[0, 1, 0], [0, 2, 0]])
    assert not start.is_feasible(vrp)
    repaired = lengthen(vrp, start)
    assert repaired.is_feasible(vrp), repaired.violations(vrp)
    assert [r.stops for r in repaired.routes] == [(), ()]  # copy 2 went with copy 1
