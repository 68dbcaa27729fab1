"""Officers pin micro-grids (visit them) and exclude others (leave them alone) to re-plan."""

import pytest
from _lattice import make_config
from _lattice import make_hotspots
from _lattice import patroller
from _plans import plan_checked

from gridplan import InputError
from gridplan.routing.problem import build_problem
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams

FAST = SolveParams(time_limit_s=3, workers=1, work_limit=300, seed=3)
MORNING = PlanRequest("2024-06-05", slices=["morning"])


def stops_of(plan):
    return {p.micro_id for s in plan.slices for r in s.routes for p in r.stops}


def test_a_pinned_low_risk_grid_is_visited_and_an_excluded_hot_spot_is_not(net, grid):
    # 35 minutes from the centre: time for about two stops; the risk sits in S01-B1
    scores = [100, 90, 80, 1, 1, 1, 1, 1, 1]
    hot = make_hotspots(grid, scores)
    cfg = make_config([patroller("P1", {"daily": ["06:00-06:35"]})], cover_base_grids=False)
    plain = plan_checked(grid, hot, net, cfg, MORNING, params=FAST)
    low = "S01-B3-M003"
    assert low not in stops_of(plain)
    # the plan spends its 35 minutes in S01-B1 (M002 and M003 with their shorter dwells
    # collect more risk than M001 with another stop); the officer excludes one it visits
    assert stops_of(plain) <= {"S01-B1-M001", "S01-B1-M002", "S01-B1-M003"}
    hottest = min(stops_of(plain))

    plan = plan_checked(
        grid,
        hot,
        net,
        cfg,
        PlanRequest("2024-06-05", slices=["morning"], pinned=[low], exclude=[hottest]),
        params=FAST,
    )
    assert low in stops_of(plan)
    assert hottest not in stops_of(plan)
    dropped = {d.micro_id: d.reason for d in plan.slices[0].dropped}
    assert dropped[hottest] == "excluded by the officer"
    assert plan.settings["pinned"] == [low] and plan.settings["exclude"] == [hottest]
    # the pin's bonus makes the visit hard to drop; it is not risk, so the stop's prize and
    # the slice's prize share leave it out (a share of 100 %+ of the risk read as nonsense)
    pin_stop = next(p for r in plan.slices[0].routes for p in r.stops if p.micro_id == low)
    assert pin_stop.prize < 100_000
    assert plan.slices[0].metrics.prize_share <= 1.0


def test_unknown_or_contradictory_pins_are_refused(net, grid):
    cfg = make_config([patroller("P1", {"daily": ["06:00-07:00"]})])
    hot = make_hotspots(grid)
    with pytest.raises(InputError, match="S01-B9-M999 are not in the grid"):
        build_problem(
            grid, hot, net, cfg, date="2024-06-05", slice_id="morning", pinned=["S01-B9-M999"]
        )
    with pytest.raises(InputError, match="both pinned and excluded"):
        build_problem(
            grid,
            hot,
            net,
            cfg,
            date="2024-06-05",
            slice_id="morning",
            pinned=["S01-B1-M001"],
            exclude=["S01-B1-M001"],
        )
