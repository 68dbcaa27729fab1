"""Outings, dosage by risk and patrols-not-posts, on the lattice and on the small station.

The small station (tests/_small_station.py: 1.32 km², 36 micro-grids in Chengdu, a hot spot
that peaks at night, volunteers free across the 10:00 and 16:00 slice boundaries) is planned
with the shipped policy, as a new station would: the issue-17 acceptance rules.
"""

import datetime as dt

import pytest
from _lattice import make_config
from _lattice import make_grid
from _lattice import make_hotspots
from _lattice import patroller
from _plans import plan_checked
from _small_station import DATE
from _small_station import small_station

import gridplan as gp
from gridplan.routing.check import check_plan
from gridplan.routing.dosage import dosage_shares
from gridplan.routing.outings import patroller_outings
from gridplan.station.config import default_config

FAST = gp.SolveParams(workers=1, time_limit_s=4)


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    return small_station(tmp_path_factory.mktemp("c07"))


@pytest.fixture(scope="module")
def whole_day(station):
    request = gp.PlanRequest(DATE, seed=1)
    return gp.plan_patrols(
        station.grid, station.hotspots, station.network, station.config, request, params=FAST
    )


@pytest.fixture(scope="module")
def night_alone(station):
    request = gp.PlanRequest(DATE, slices=["night"], seed=1)
    return gp.plan_patrols(
        station.grid, station.hotspots, station.network, station.config, request, params=FAST
    )


def test_a_volunteer_free_across_a_slice_boundary_has_whole_outings():
    cfg = default_config()
    v01 = next(p for p in cfg.roster if p.id == "V01")  # free 09:00-11:30 and 15:00-17:30
    day = dt.date(2025, 6, 14)
    assert patroller_outings(v01, day, cfg.slices) == [(540, 690, False), (900, 1050, False)]
    # the break rule cuts an outing, slices do not
    a01 = next(p for p in cfg.roster if p.id == "A01")  # 06:00-14:00, break after 240
    assert patroller_outings(a01, day, cfg.slices) == [(360, 600, False), (630, 840, True)]


def test_the_dosage_cap_goes_where_the_risk_is(station):
    policy = station.config.patrol
    micro = station.grid[station.grid["level"] == "micro"]["id"].tolist()
    shares = dosage_shares(station.hotspots, micro, station.config.slices, policy)
    night = shares[station.night_spot]
    assert sum(night.values()) <= policy.dosage_cap_min + 1e-9
    # its riskiest slice gets the most, and every slice with risk at least one visit
    assert max(night, key=night.get) == "night"
    assert all(m >= policy.dwell_bounds_min[0] for m in night.values())


def test_every_slice_s_top_hot_spot_gets_presence_in_that_slice(whole_day, station):
    hot = station.hotspots
    for sp in whole_day.slices:
        rows = hot[hot["slice"] == sp.slice_id]
        top = str(rows.sort_values("rank")["id"].iloc[0])
        assert sp.metrics.top_dwell_min[top] > 0, (sp.slice_id, top)
    assert whole_day.slice("night").metrics.top_dwell_min[station.night_spot] >= 30


def test_the_whole_day_covers_the_night_as_the_night_alone(whole_day, night_alone):
    day_night = whole_day.slice("night").metrics.risk_covered
    alone = night_alone.slice("night").metrics.risk_covered
    assert day_night >= 0.95 * alone


def test_no_stay_over_the_dwell_bound_and_no_short_outing(whole_day, station):
    report = check_plan(whole_day, station.network, grid=station.grid)
    assert report.ok, report.to_text()
    hi = whole_day.policy.dwell_bounds_min[1] * 60
    for sp in whole_day.slices:
        for r in sp.routes:
            assert all(p.dwell_s <= hi for p in r.stops)
            for a, b in zip(r.stops, r.stops[1:], strict=False):
                assert a.micro_id != b.micro_id
    # outings: routes of one (patroller, outing) over the day, from first start to last end
    outings = {}
    for sp in whole_day.slices:
        for r in sp.routes:
            if r.deployed or r.carried:
                outings.setdefault((r.patroller_id, r.outing), []).append(r)
    assert outings
    for routes in outings.values():
        if not any(r.stops for r in routes):
            continue
        length = (routes[-1].end - routes[0].start).total_seconds() / 60
        available = (routes[-1].duty.window_end - routes[0].duty.window_start).total_seconds()
        assert length >= 45 - 1 or available / 60 <= 45, routes[0].patroller_id


def test_an_outing_is_carried_across_the_slice_boundary():
    # one walker free 09:00-11:30 on the lattice: one outing over the morning and day slices
    grid = make_grid()
    from _lattice import lattice_network

    net = lattice_network()
    cfg = make_config([patroller("V1", {"daily": ["09:00-11:30"]}, max_duty_min=150)])
    request = gp.PlanRequest("2024-06-05", slices=["morning", "day"], seed=2)
    plan = plan_checked(grid, make_hotspots(grid), net, cfg, request, params=FAST)
    morning = plan.slice("morning").routes
    day = plan.slice("day").routes
    assert len(morning) == 1 and len(day) == 1
    first, second = morning[0], day[0]
    assert first.continues and first.end_place == first.stops[-1].micro_id
    assert second.carried and second.start_place == first.end_place
    assert second.start >= first.end and second.end_place == "station"
    assert (second.end - first.start).total_seconds() >= 45 * 60
    # not a post: the carried part does not start where the last one stopped
    if second.stops:
        assert second.stops[0].micro_id != first.stops[-1].micro_id
