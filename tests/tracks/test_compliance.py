"""compute_compliance on a real plan of the lattice station and GPX tracks made from it.

Each deployed route's street path is walked (ridden) as planned, sampled every 5 s (or 60 s)
with 5 m of Gaussian noise, written as a phone's GPX and imported back (``_tracks``). The truth
is where the patroller was, second by second, without noise.
"""

import json

import pandas as pd
import pytest
from _tracks import LATTICE_CRS
from _tracks import lattice_day
from _tracks import plan_fixes
from _tracks import route_fixes
from _tracks import stop_truth
from _tracks import truth_minutes
from _tracks import write_gpx

from gridplan.tracks.compliance import compute_compliance
from gridplan.tracks.compliance import stop_key
from gridplan.tracks.fixes import import_track
from gridplan.tracks.params import TrackParams
from gridplan.tracks.presence import CheckIn


@pytest.fixture(scope="module")
def day():
    """The lattice plan (P1 walks 06:00-08:30, A1 rides 07:30-10:00), its grid and network."""
    return lattice_day()


def routes(plan):
    return [r for s in plan.slices for r in s.routes if r.deployed]


def busiest(plan):
    """The route with the most stops."""
    return max(routes(plan), key=lambda r: len(r.stops))


def gpx_fixes(plan, folder, *, every_s=5.0, skip=None, seed=0):
    """Write each patroller's synthetic track as GPX and import it as gridplan would."""
    skip = skip or {}
    parts = []
    for k, r in enumerate(routes(plan)):
        fixes = route_fixes(
            r, LATTICE_CRS, every_s=every_s, seed=seed + k, skip=skip.get(r.patroller_id, ())
        )
        path = write_gpx(fixes, folder / f"{r.patroller_id}-{r.part}.gpx")
        result = import_track(path, patroller=r.patroller_id, mode=r.mode)
        assert result.rejects.empty, result.rejects.head().to_string()
        parts.append(result.fixes)
    return pd.concat(parts, ignore_index=True)


def test_the_plan_has_top_hot_spots_and_two_patrollers_on_the_move(day):
    plan, _, _ = day
    assert len(routes(plan)) >= 2 and {r.mode for r in routes(plan)} == {"walk", "ebike"}
    assert len(plan.slices[0].metrics.top_dwell_min) == 2


def test_presence_per_top_hot_spot_within_10_percent_of_the_truth(day, tmp_path):
    plan, grid, _ = day
    fixes = gpx_fixes(plan, tmp_path)
    report = compute_compliance(plan, fixes, grid)
    truth = truth_minutes(plan, grid, LATTICE_CRS)
    assert len(report.hotspots) == 2
    for r in report.hotspots.itertuples():
        expected = truth[(r.slice, r.micro_id)]
        assert expected >= r.planned_min > 0
        assert r.actual_min == pytest.approx(expected, rel=0.10), r
        assert 0 < r.error_min < 1  # entries and exits between 5 s fixes: seconds
    assert not report.presence.coarse and report.presence.median_interval_s == 5.0
    # every micro-grid, not only the top ones
    per = report.presence.minutes.groupby(["slice", "micro_id"])["minutes"].sum()
    for key, minutes in truth.items():
        assert per[key] == pytest.approx(minutes, rel=0.10, abs=0.2), key


def test_a_track_that_follows_the_plan_makes_every_stop(day, tmp_path):
    plan, grid, _ = day
    report = compute_compliance(plan, gpx_fixes(plan, tmp_path), grid)
    assert report.counts() == {
        "visited": len(report.stops),
        "late": 0,
        "missed": 0,
        "no_track": 0,
        "not_measured": 0,
    }
    assert (report.stops["present_min"] >= report.stops["dwell_min"]).all()
    assert (report.stops["late_min"] <= 0).all()  # in the micro-grid before the stop point
    for row in report.patrollers.itertuples():
        assert row.visited == row.stops > 0 and row.present_min >= row.planned_min
        assert row.unknown_min == 0 and not row.coarse


def _two_to_skip(plan, grid):
    """Two stops of a route whose skipping leaves under a third of their dwell in their window."""
    route = busiest(plan)
    params = TrackParams()
    chosen = []
    for p in route.stops:
        lo = p.arrival.timestamp() - params.early_min * 60
        hi = p.departure.timestamp() + params.after_min * 60
        skip = (*chosen, p.order)
        if (
            all(
                stop_truth(route, grid, LATTICE_CRS, q, lo_q, hi_q, skip=skip) < q.dwell_s / 180
                for q, lo_q, hi_q in [
                    (s, s.arrival.timestamp() - 600, s.departure.timestamp() + 1800)
                    for s in route.stops
                    if s.order in skip
                ]
            )
            and stop_truth(route, grid, LATTICE_CRS, p, lo, hi, skip=skip) < p.dwell_s / 180
        ):
            chosen.append(p.order)
        if len(chosen) == 2:
            return route, tuple(chosen)
    raise AssertionError(f"no two stops of {route.patroller_id} to skip")


def test_a_track_that_skips_two_stops_shows_exactly_those_two_missed(day, tmp_path):
    plan, grid, _ = day
    route, skipped = _two_to_skip(plan, grid)
    who = route.patroller_id
    fixes = gpx_fixes(plan, tmp_path, skip={who: skipped})
    report = compute_compliance(plan, fixes, grid)
    missed = {stop_key("morning", who, route.part, k) for k in skipped}
    assert set(report.summary()["missed"]) == missed
    status = report.stops.set_index("stop_key")["status"]
    assert (status.drop(list(missed)) == "visited").all(), status.to_dict()
    assert report.stops.loc[report.stops["status"] == "missed", "arrived"].isna().all()
    row = report.patrollers.set_index("patroller_id").loc[who]
    assert row["missed"] == 2 and row["visited"] == row["stops"] - 2


def test_at_a_60_s_refresh_the_error_is_reported_not_hidden(day, tmp_path):
    plan, grid, _ = day
    fine = compute_compliance(plan, gpx_fixes(plan, tmp_path), grid)
    coarse = compute_compliance(plan, gpx_fixes(plan, tmp_path, every_s=60.0), grid)
    assert coarse.presence.coarse and coarse.presence.median_interval_s == 60.0
    assert coarse.patrollers["coarse"].all()
    assert any(w.id == "tracks.coarse" for w in coarse.warnings)
    assert (coarse.hotspots["error_min"] > 0).all()
    assert (coarse.hotspots["error_min"] > 5 * fine.hotspots["error_min"]).all()
    summary = json.loads(json.dumps(coarse.summary()))
    assert summary["coarse"] is True and summary["hotspots"][0]["error_min"] > 0
    assert "coarse" in coarse.to_text()


def test_a_patroller_running_late_is_late(day):
    plan, grid, _ = day
    fixes = plan_fixes(plan, LATTICE_CRS)
    late = fixes.assign(time=fixes["time"] + pd.Timedelta(minutes=10))
    report = compute_compliance(plan, late, grid)
    for _, stops in report.stops.groupby("patroller_id"):
        assert (stops["status"] == "late").all(), stops["status"].tolist()
        assert stops["late_min"].between(5, 10).all()


def test_a_stop_without_track_is_not_known_and_check_ins_fill_it(day):
    plan, grid, _ = day
    fixes = plan_fixes(plan, LATTICE_CRS)
    route = busiest(plan)
    who = route.patroller_id
    p = route.stops[len(route.stops) // 2]
    lo = p.arrival - pd.Timedelta(minutes=20)
    hi = p.departure + pd.Timedelta(minutes=40)
    mine = fixes["patroller"] == who
    hole = fixes[~(mine & fixes["time"].between(lo, hi))]
    report = compute_compliance(plan, hole, grid)
    key = stop_key("morning", who, route.part, p.order)
    row = report.stops.set_index("stop_key").loc[key]
    assert row["status"] == "no_track" and row["tracked_share"] == 0
    assert report.patrollers.set_index("patroller_id").loc[who, "unknown_min"] >= 60
    checks = [
        CheckIn(who, "arrived", p.arrival, stop=key),
        CheckIn(who, "left", p.departure, stop=key),
    ]
    again = compute_compliance(plan, hole, grid, check_ins=checks)
    row = again.stops.set_index("stop_key").loc[key]
    assert row["status"] == "visited" and row["present_min"] == pytest.approx(p.dwell_s / 60)


def test_tracks_of_someone_not_in_the_plan_and_a_patroller_without_track(day):
    plan, grid, _ = day
    fixes = plan_fixes(plan, LATTICE_CRS)
    stranger = fixes[fixes["patroller"] == "P1"].assign(patroller="X9")
    only = pd.concat([fixes[fixes["patroller"] == "A1"], stranger], ignore_index=True)
    report = compute_compliance(plan, only, grid)
    ids = [w.id for w in report.warnings]
    assert "tracks.not_in_plan" in ids and "tracks.no_fixes_for" in ids
    table = report.patrollers.set_index("patroller_id")
    assert not table.loc["X9", "in_plan"] and table.loc["X9", "stops"] == 0
    p1 = report.stops[report.stops["patroller_id"] == "P1"]
    assert (p1["status"] == "no_track").all()
    # X9's minutes count at the hot spots all the same
    assert (report.hotspots["actual_min"] > 0).all()
