"""PrizeVRP and its solutions: validation, scheduling, costs and violations (no solver)."""

import numpy as np
import pytest

from gridplan._errors import InputError
from gridplan.routing.solver import CoverGroup
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Route
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver import Visit


def line_model(**kw):
    """Depot 0 at x=0 and customers at x = 3, 5, -2, -4 on a line."""
    x = np.array([0, 3, 5, -2, -4])
    travel = np.abs(x[:, None] - x[None, :])
    args = {
        "travel": (travel,),
        "service": [0] * 5,
        "prize": [0, 5, 8, 3, 4],
        "vehicles": (Vehicle("a", max_duration=10), Vehicle("b", max_duration=10)),
    }
    args.update(kw)
    return PrizeVRP(**args)


def test_arrays_are_read_only_copies():
    service = np.zeros(5, dtype=int)
    m = line_model(service=service)
    service[1] = 99
    assert m.service[1] == 0
    with pytest.raises(ValueError, match="read-only"):
        m.prize[1] = 7
    assert m.num_nodes == 5 and m.customers == (1, 2, 3, 4) and m.depots == {0}


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"prize": [1, 5, 8, 3, 4]}, "depot nodes \\[0\\] must have prize 0"),
        ({"prize": [0, -5, 8, 3, 4]}, "negative"),
        ({"service": [0, 0, 0]}, "service has shape"),
        ({"travel": (np.zeros((4, 4)),)}, "travel\\[0\\] has shape"),
        ({"vehicles": (Vehicle("a", profile=1),)}, "profile 1 but only 1"),
        ({"vehicles": (Vehicle("a", end=9),)}, "end node 9"),
        ({"vehicles": ()}, "no vehicles"),
        ({"revisit_groups": (RevisitGroup((0, 1), 60),)}, "depots or out of range"),
        ({"cover_groups": (CoverGroup((7,), 10, "B1"),)}, "'B1'.*out of range"),
        ({"service": [0, 1.5, 0, 0, 0]}, "whole numbers"),
    ],
)
def test_invalid_models_name_the_problem(kw, match):
    with pytest.raises(InputError, match=match):
        line_model(**kw)


def test_value_types_validate():
    with pytest.raises(InputError, match="two or more distinct"):
        RevisitGroup((3,), 60)
    with pytest.raises(InputError, match="min_gap"):
        RevisitGroup((1, 2), -1)
    with pytest.raises(InputError, match="latest_end=5 is before earliest_start=10"):
        Vehicle("v", earliest_start=10, latest_end=5)
    with pytest.raises(InputError, match="no nodes"):
        CoverGroup((), 5, "B2")
    assert Vehicle("v", allowed_nodes=[1, 2]).allowed_nodes == frozenset({1, 2})


def test_from_routes_schedules_and_scores():
    m = line_model(service=[0, 2, 2, 0, 0], vehicles=(Vehicle("a", max_duration=20),))
    sol = PrizeVRPSolution.from_routes(m, [[1, 2]])
    assert sol.routes[0].nodes == (0, 1, 2, 0)
    # 0 -> 1 (3), serve 2, -> 2 (2), serve 2, -> 0 (5)
    assert [v.time for v in sol.routes[0].visits] == [0, 3, 7, 14]
    assert sol.collected_prize == 13 and sol.dropped == (3, 4) and sol.dropped_prize == 7
    assert sol.cost() == 7 and sol.score == 13 and sol.travel == 10 and sol.span == 14
    assert sol.is_feasible(m)
    assert "prize 13" in sol.summary()


def test_violations_are_found_independently():
    m = line_model(
        revisit_groups=(RevisitGroup((1, 2), 100),),
        vehicles=(Vehicle("a", max_duration=10), Vehicle("b", latest_end=12)),
    )
    too_fast = Route(0, (Visit(0, 0), Visit(1, 1), Visit(0, 10)))
    late = Route(1, (Visit(0, 0), Visit(2, 5), Visit(0, 13)))
    sol = PrizeVRPSolution.from_routes(m, [too_fast, late])
    problems = "\n".join(sol.violations(m))
    assert "reaches 1 at 1 s but cannot be there before 3 s" in problems
    assert "ends at 13 s after 12 s" in problems
    assert "less than 100 s apart" in problems
    assert not sol.is_feasible(m)

    over = PrizeVRPSolution.from_routes(m, [[1, 2], []])
    assert not any("lasts" in v for v in over.violations(m))  # exactly 10 s is allowed
    twice = PrizeVRPSolution.from_routes(m, [[3], [3]])
    assert "node 3 visited more than once" in twice.violations(m)
    skip = PrizeVRPSolution.from_routes(m, [[2], []])
    assert any("copy 2 visited without copy 1" in v for v in skip.violations(m))


def test_duration_window_and_allowed_nodes_checks():
    tw = np.array([[0, 100], [0, 100], [50, 60], [0, 100], [0, 100]])
    m = line_model(
        time_windows=tw,
        vehicles=(Vehicle("a", max_duration=8, allowed_nodes={1}),),
    )
    sol = PrizeVRPSolution.from_routes(m, [[2]])
    problems = "\n".join(sol.violations(m))
    assert "node 2 is not in its allowed nodes" in problems
    # waits for the window: served at 50, back at 55; lasts 55 s > 8 s
    assert sol.routes[0].visits[1].time == 50
    assert "lasts 55 s, more than 8 s" in problems


def test_cover_violation_costs_its_penalty():
    m = line_model(cover_groups=(CoverGroup((3, 4), 50, "west"),))
    sol = PrizeVRPSolution.from_routes(m, [[1, 2], []])
    assert sol.cover_violations == (0,)
    assert sol.cost() == 7 + 50 and sol.score == 13 - 50
    assert sol.is_feasible(m)  # cover groups are soft


def test_unused_vehicle_is_not_deployed():
    # start 0, end 2 is 5 s apart but the shift is 1 s: the vehicle cannot move, which is fine
    m = line_model(vehicles=(Vehicle("a", start=0, end=2, max_duration=1),), prize=[0, 5, 0, 3, 4])
    sol = PrizeVRPSolution.from_routes(m, [[]])
    assert sol.routes[0].nodes == (0, 2) and sol.is_feasible(m)
    assert sol.span == 0 and sol.dropped == (1, 3, 4)
