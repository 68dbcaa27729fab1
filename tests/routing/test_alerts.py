"""Red/yellow/blue alerts: the values, their effects, the problem under an alert, the plan check.

The Hypothesis round trip runs 200 examples; set ``GRIDPLAN_FUZZ_EXAMPLES`` for longer runs.
"""

import dataclasses
import datetime as dt
import itertools
import os

import pytest
from _lattice import make_config
from _lattice import make_hotspots
from _lattice import patroller
from _plans import checked
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan import InputError
from gridplan.io.planfile import plan_from_dict
from gridplan.io.planfile import plan_to_dict
from gridplan.routing.alerts import Alert
from gridplan.routing.alerts import active_in
from gridplan.routing.alerts import alert_effects
from gridplan.routing.alerts import alerts_from_json
from gridplan.routing.alerts import alerts_to_json
from gridplan.routing.check import check_plan
from gridplan.routing.plan import why_parts
from gridplan.routing.planner import plan_patrols
from gridplan.routing.problem import PIN_PRIZE
from gridplan.routing.problem import build_problem
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams
from gridplan.station.roster import PatrolPolicy

FAST = SolveParams(time_limit_s=3, workers=1, work_limit=300, seed=3)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2024, 6, 5, 0, 0, tzinfo=SHANGHAI)
LOW = "S01-B3-M003"  # the least risky micro-grid of the lattice
EXAMPLES = int(os.environ.get("GRIDPLAN_FUZZ_EXAMPLES", "200"))


def alert(level="red", cells=(LOW,), hours=72, start=T0, **kw):
    return Alert(
        kw.pop("id", "1"),
        level,
        tuple(cells),
        start,
        start + dt.timedelta(hours=hours),
        kw.pop("reason", "robbery series"),
        kw.pop("created_by", "officer"),
        kw.pop("created_at", start),
        **kw,
    )


# --------------------------------------------------------------------------- the values


def test_an_alert_round_trips_and_knows_when_it_is_active():
    a = alert(area='{"type": "Point", "coordinates": [121.4, 31.2]}')
    assert Alert.from_dict(a.to_dict()) == a
    assert alerts_from_json(alerts_to_json([a])) == (a,)
    assert active_in(a, T0 - dt.timedelta(hours=1), T0 + dt.timedelta(minutes=1))
    assert not active_in(a, T0 - dt.timedelta(hours=1), T0)  # ends where the alert starts
    assert not active_in(a, a.ends, a.ends + dt.timedelta(hours=1))  # expires by itself
    ended = dataclasses.replace(a, ended_at=T0 + dt.timedelta(hours=2), ended_by="chief")
    assert ended.until == T0 + dt.timedelta(hours=2)
    assert not active_in(ended, T0 + dt.timedelta(hours=3), T0 + dt.timedelta(hours=4))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"level": "orange"}, "alert colour 'orange' is unknown; use red, yellow or blue"),
        ({"cells": ()}, "names no micro-grid"),
        ({"hours": -1}, "not after it starts"),
        ({"reason": "  "}, "needs a reason"),
        ({"created_by": ""}, "needs who declared it"),
        ({"start": dt.datetime(2024, 6, 5)}, "with its UTC offset"),
        ({"id": "a b"}, "alert id 'a b'"),
    ],
)
def test_bad_alerts_are_refused_with_the_value_and_the_fix(kw, match):
    with pytest.raises(InputError, match=match):
        alert(**kw)


def test_alerts_from_json_names_the_file_and_the_alert():
    with pytest.raises(InputError, match=r"a\.json: not JSON"):
        alerts_from_json("{", source="a.json")
    with pytest.raises(InputError, match=r"a\.json: alert 1: .*missing micro_ids, starts, ends"):
        alerts_from_json('[{"id": "1", "level": "red"}]', source="a.json")


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    level=st.sampled_from(["red", "yellow", "blue"]),
    cells=st.lists(st.from_regex(r"S01-B[1-3]-M00[1-9]", fullmatch=True), min_size=1),
    minutes=st.integers(1, 10_000),
    offset=st.integers(-14 * 60, 14 * 60),
    reason=st.text(min_size=1, max_size=50).filter(str.strip),
)
def test_any_valid_alert_round_trips_through_json(level, cells, minutes, offset, reason):
    tz = dt.timezone(dt.timedelta(minutes=offset))
    start = dt.datetime(2024, 6, 5, 8, tzinfo=tz)
    a = alert(level, cells, start=start, hours=minutes / 60, reason=reason)
    assert alerts_from_json(alerts_to_json([a])) == (a,)


def test_the_strongest_active_alert_wins_per_micro_grid():
    policies = PatrolPolicy().alerts
    end = T0 + dt.timedelta(hours=8)
    fx = alert_effects(
        [
            alert("blue", ["A", "B"], id="b"),
            alert("red", ["B"], id="r"),
            alert("yellow", ["A"], id="y"),
            alert("red", ["A"], id="old", start=T0 - dt.timedelta(hours=80)),  # expired
        ],
        T0,
        end,
        policies,
    )
    assert (fx["A"].alert_id, fx["A"].level, fx["A"].min_presence_min) == ("y", "yellow", 15)
    assert (fx["B"].alert_id, fx["B"].value_factor, fx["B"].revisit_gap_min) == ("r", 3.0, 30)
    assert not alert_effects([alert("blue", ["A"])], T0, end, policies)["A"].changes_routes


# --------------------------------------------------------------------------- the problem


def problem_with(grid, net, alerts, **policy):
    cfg = make_config([patroller("P1", {"daily": ["06:00-10:00"]})], **policy)
    hot = make_hotspots(grid, [100, 90, 80, 70, 60, 50, 40, 30, 0])
    return build_problem(grid, hot, net, cfg, date="2024-06-05", slice_id="morning", alerts=alerts)


def test_a_red_alert_raises_the_value_shortens_the_gap_and_keeps_its_minimum(net, grid):
    plain = problem_with(grid, net, [])
    assert plain.stop(LOW).copies == 0  # no risk in the slice: not in the model
    assert plain.excluded[LOW] == "no risk in this slice"
    cell = "S01-B3-M002"  # risk 30, "other" class: one visit, prize by risk only
    red = problem_with(grid, net, [alert("red", [LOW, cell])])
    low, other = red.stop(LOW), red.stop(cell)
    assert LOW not in red.excluded
    # minimum 30 min in the longest stops the policy allows (15 min): two visits kept like
    # pins, up to revisit_max (3) in all
    assert (low.alert.level, low.alert_visits, low.copies, low.dwell_s) == ("red", 2, 3, 900)
    vrp = red.to_prize_vrp()
    first = red.node_of(cell, 0)
    assert vrp.prize[first] == round(plain.prize_of(plain.stop(cell)) * 3) + PIN_PRIZE
    assert all(vrp.prize[red.node_of(LOW, k)] >= PIN_PRIZE for k in range(2))
    assert vrp.prize[red.node_of(LOW, 2)] < PIN_PRIZE
    gaps = {tuple(g.nodes): g.min_gap for g in vrp.revisit_groups}
    assert gaps[tuple(red.node_of(LOW, k) for k in range(3))] == 30 * 60 + 900  # from the end
    assert other.copies == 3


def test_the_dosage_cap_never_removes_an_alerts_minimum(net, grid):
    hot_cell = "S01-B1-M001"
    used = {hot_cell: 90.0}  # the day's cap is spent
    cfg = make_config([patroller("P1", {"daily": ["06:00-10:00"]})])
    hot = make_hotspots(grid)
    args = (grid, hot, net, cfg)
    kw = {"date": "2024-06-05", "slice_id": "morning", "dosage_used": used}
    assert build_problem(*args, **kw).excluded[hot_cell] == "dosage cap"
    yellow = build_problem(*args, **kw, alerts=[alert("yellow", [hot_cell])])
    stop = yellow.stop(hot_cell)
    assert (stop.copies, stop.alert_visits) == (1, 1)  # 15 min: one stop of 15
    assert hot_cell not in yellow.excluded


def test_blue_is_shown_but_does_not_change_the_problem(net, grid):
    plain = problem_with(grid, net, [])
    blue = problem_with(grid, net, [alert("blue", [LOW, "S01-B1-M001"])])
    assert blue.stop(LOW).alert.level == "blue"
    assert blue.stop(LOW).copies == 0
    a, b = plain.to_prize_vrp(), blue.to_prize_vrp()
    assert (a.prize == b.prize).all()
    assert [g.min_gap for g in a.revisit_groups] == [g.min_gap for g in b.revisit_groups]


def test_an_alert_outside_the_slice_changes_nothing(net, grid):
    later = alert("red", [LOW], start=T0 + dt.timedelta(hours=12))
    assert problem_with(grid, net, [later]).stop(LOW).alert is None


def test_the_request_checks_the_alert_micro_grids(net, grid):
    cfg = make_config([patroller("P1", {"daily": ["06:00-10:00"]})])
    request = PlanRequest("2024-06-05", alerts=[alert("red", ["S01-B9-M999"]).to_dict()])
    assert PlanRequest.from_dict(request.to_dict()) == request
    with pytest.raises(InputError, match=r"alert 1 names micro-grid.*S01-B9-M999.*not in the grid"):
        request.validate(cfg, grid)


# --------------------------------------------------------------------------- plans and checks


def plan_alert(grid, net, alerts, window="06:00-07:30", slices=("morning",), **policy):
    cfg = make_config([patroller("P1", {"daily": [window]})], cover_base_grids=False, **policy)
    hot = make_hotspots(grid, [100, 90, 80, 70, 60, 50, 40, 30, 0])
    request = PlanRequest("2024-06-05", slices=list(slices), alerts=alerts)
    return plan_patrols(grid, hot, net, cfg, request, params=FAST)


def visits_of(plan, mid):
    return [p for s in plan.slices for r in s.routes for p in r.stops if p.micro_id == mid]


def test_a_plan_gives_a_red_cell_its_minimum_and_records_the_alert(net, grid):
    red = alert("red", [LOW], id="R7")
    plan = checked(plan_alert(grid, net, [red]), net, grid)
    stops = visits_of(plan, LOW)
    assert sum(p.dwell_s for p in stops) >= 30 * 60
    assert {(p.alert, p.alert_id) for p in stops} == {("red", "R7")}
    arrivals = sorted(p.arrival for p in stops)
    assert all((b - a).total_seconds() >= 30 * 60 for a, b in itertools.pairwise(arrivals))
    assert plan.settings["alerts"] == [red.to_dict()]
    again = plan_from_dict(plan_to_dict(plan))
    assert again.policy.alerts == plan.policy.alerts
    assert [p.alert_id for p in visits_of(again, LOW)] == [p.alert_id for p in stops]
    # why this stop, in words: the alert's colour and end in the station's time
    ends = red.ends.astimezone(stops[0].arrival.tzinfo)
    why = [str(m) for m in why_parts(stops[0], plan.settings["alerts"])]
    assert why[-1] == f"red alert until {ends:%m-%d %H:%M}"
    assert not any("alert" in m for m in map(str, why_parts(stops[0])))


def test_check_plan_finds_a_missed_minimum_and_a_short_gap(net, grid):
    red = alert("red", [LOW], id="R7")
    plan = plan_alert(grid, net, [red])
    # the same plan, but the alert now asks for 45 minutes and a 90-minute gap
    policy = dataclasses.replace(
        plan.policy,
        alerts={**plan.policy.alerts, "red": dataclasses.replace(plan.policy.alerts["red"])},
    )
    stricter = dataclasses.replace(policy.alerts["red"], min_presence_min=45, revisit_gap_min=90)
    changed = dataclasses.replace(
        plan, policy=dataclasses.replace(policy, alerts={**policy.alerts, "red": stricter})
    )
    report = check_plan(changed, net, grid=grid)
    found = {(f.code, f.severity) for f in report.findings}
    assert ("alert", "error") in found and ("revisit", "error") in found
    msg = next(f.message for f in report.findings if f.code == "alert")
    assert "red alert R7: S01-B3-M003 gets 30 min of presence in this slice" in msg
    assert "needs 45 min" in msg


def test_check_plan_warns_when_nobody_could_reach_the_alert_cell(net, grid):
    red = alert("red", [LOW], id="R7")
    cfg = make_config(
        [patroller("P1", {"daily": ["06:00-07:30"]}, home_bases=["S01-B1"])],
        cover_base_grids=False,
    )
    hot = make_hotspots(grid)
    request = PlanRequest("2024-06-05", slices=["morning"], alerts=[red])
    plan = plan_patrols(grid, hot, net, cfg, request, params=FAST)
    report = check_plan(plan, net, grid=grid)
    assert report.ok, report.to_text()
    (warning,) = [f for f in report.findings if f.code == "alert"]
    assert warning.severity == "warning"
    assert "nobody on duty could reach it (outside the home bases of those on duty)" in (
        warning.message
    )


def test_the_minimum_is_not_counted_against_the_daily_cap(net, grid):
    hot_cell = "S01-B1-M001"
    plan = plan_alert(
        grid,
        net,
        [alert("red", [hot_cell], hours=24)],
        window="06:00-22:00",
        slices=("morning", "day", "evening"),
        dosage_cap_min=45,  # less than three slices' minimums
    )
    report = check_plan(plan, net, grid=grid)
    assert report.ok, report.to_text()
    minutes = sum(p.dwell_s for p in visits_of(plan, hot_cell)) / 60
    assert minutes > plan.policy.dosage_cap_min  # 30 min in each of three slices at least
    for s in plan.slices:
        got = sum(p.dwell_s for r in s.routes for p in r.stops if p.micro_id == hot_cell)
        assert got >= 30 * 60, s.slice_id


def test_an_alert_cell_the_officer_excluded_stays_out_with_a_warning(net, grid):
    red = alert("red", [LOW, "S01-B3-M002"], id="R7")
    cfg = make_config([patroller("P1", {"daily": ["06:00-08:00"]})], cover_base_grids=False)
    hot = make_hotspots(grid, [100, 90, 80, 70, 60, 50, 40, 30, 0])
    request = PlanRequest("2024-06-05", slices=["morning"], alerts=[red], exclude=[LOW])
    plan = plan_patrols(grid, hot, net, cfg, request, params=FAST)
    assert not visits_of(plan, LOW)
    assert sum(p.dwell_s for p in visits_of(plan, "S01-B3-M002")) >= 30 * 60
    report = check_plan(plan, net, grid=grid)
    assert report.ok, report.to_text()
    (warning,) = [f for f in report.findings if f.code == "alert"]
    assert warning.severity == "warning" and LOW in warning.message
    assert "(excluded by the officer)" in warning.message


def test_a_red_alert_never_leaves_the_slice_without_patrols():
    """The solver's only candidate had a route under the 45-minute outing minimum, and was
    thrown away whole before the outing repair could lengthen it: nobody patrolled."""
    from _web import S02_TOML
    from _web import lattice_station

    from gridplan.station.config import config_from_toml

    grid, hot, net = lattice_station()
    cfg = config_from_toml(S02_TOML)
    t0 = dt.datetime(2026, 12, 7, 16, 40, tzinfo=cfg.tz)
    red = Alert("1", "red", ("S02-B3-M003",), t0, t0 + dt.timedelta(hours=72), "r", "me", t0)
    request = PlanRequest("2026-12-08", slices=["morning"], alerts=[red], seed=0)
    plan = checked(plan_patrols(grid, hot, net, cfg, request, params=FAST), net, grid)
    stops = visits_of(plan, "S02-B3-M003")
    assert sum(p.dwell_s for p in stops) >= 30 * 60


def test_a_red_alert_is_met_on_a_station_without_risk_in_the_slice(net, grid):
    """Nothing else worth a visit: the cells without risk are where the patrol walks between
    the alert's two visits (waits are at most 5 minutes)."""
    cfg = make_config([patroller("P1", {"daily": ["06:00-10:00"]})], cover_base_grids=False)
    hot = make_hotspots(grid, [0] * 9)
    request = PlanRequest("2024-06-05", slices=["morning"], alerts=[alert("red", [LOW])])
    plan = checked(plan_patrols(grid, hot, net, cfg, request, params=FAST), net, grid)
    assert sum(p.dwell_s for p in visits_of(plan, LOW)) >= 30 * 60
