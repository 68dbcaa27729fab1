"""Make plans the way every test should: plan, then re-check with the independent checker.

Every plan a test makes goes through :func:`checked`: the plan checker must pass it, and a
save/load round trip must keep it (and pass again).
"""

from __future__ import annotations

from gridplan.io.planfile import plan_from_dict
from gridplan.io.planfile import plan_to_dict
from gridplan.routing.check import check_plan
from gridplan.routing.planner import plan_patrols


def checked(plan, network, grid=None):
    """Assert ``plan`` passes the checker before and after a file round trip; return it."""
    report = check_plan(plan, network, grid=grid)
    assert report.ok, report.to_text()
    assert plan.is_feasible(), plan.violations()
    again = plan_from_dict(plan_to_dict(plan))
    assert again.to_text() == plan.to_text()
    assert check_plan(again, network, grid=grid).ok
    return plan


def plan_checked(grid, hotspots, network, config, request, **kwargs):
    """:func:`plan_patrols`, then :func:`checked`."""
    plan = plan_patrols(grid, hotspots, network, config, request, **kwargs)
    return checked(plan, network, grid)
