"""Feedback into plans (routing/feedback.py): presence today, under-served hot spots, misses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from types import MappingProxyType

import pandas as pd
import pytest
from _lattice import make_config
from _lattice import make_hotspots
from _lattice import patroller
from _plans import checked
from _plans import plan_checked

from gridplan import InputError
from gridplan import PlanRequestError
from gridplan.io.planfile import plan_from_dict
from gridplan.io.planfile import plan_to_dict
from gridplan.routing.check import check_plan
from gridplan.routing.dosage import dosage_shares
from gridplan.routing.feedback import ActualPresence
from gridplan.routing.feedback import actual_presence
from gridplan.routing.feedback import boost_factors
from gridplan.routing.feedback import missed_flags
from gridplan.routing.feedback import planned_stops
from gridplan.routing.planner import plan_patrols
from gridplan.routing.problem import build_problem
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams
from gridplan.station.roster import PatrolPolicy
from gridplan.station.timeslices import TimeSlice

FAST = SolveParams(time_limit_s=5, workers=1, work_limit=300, seed=3)
A, B = "S01-B1-M001", "S01-B3-M003"  # opposite corners of the lattice (conftest ``grid``)
# two top hot spots at opposite corners, A a little riskier; the rest low
SCORES = [10.5, 1, 1, 1, 1, 1, 1, 1, 10]


def minutes_at(plan) -> dict[str, float]:
    """Planned minutes per micro-grid over the plan's day."""
    out: dict[str, float] = {}
    for s in plan.slices:
        for r in s.routes:
            for p in r.stops:
                out[p.micro_id] = out.get(p.micro_id, 0.0) + p.dwell_s / 60
    return out


def presence_rows(plan, skip=()):
    """A presence table as a day of tracks that found every planned stop but those in ``skip``."""
    return [
        {
            "patroller": r.patroller_id,
            "date": plan.date.isoformat(),
            "slice": s.slice_id,
            "micro_grid": p.micro_id,
            "minutes": p.dwell_s / 60,
        }
        for s in plan.slices
        for r in s.routes
        for p in r.stops
        if p.micro_id not in skip
    ]


# --------------------------------------------------------------------------------------------
# the value type and what it is made from


def test_actual_presence_counts_today_recent_and_missed_stops():
    stops = pd.DataFrame(
        {
            "date": ["2024-06-06", "2024-06-06", "2024-06-06", "2024-06-07", "2024-06-07"],
            "slice": ["day", "day", "day", "day", "night"],
            "micro_id": ["M1", "M1", "M2", "M2", "M3"],
            "dwell_min": [15, 15, 12, 12, 10],
        }
    )
    tracks = pd.DataFrame(
        {
            "patroller": ["A1", "A2", "A1", "A1", "A1", "A1", "A1"],
            "date": [f"2024-{d}" for d in ("06-06", "06-06", "06-06", "06-07", "06-08", "06-08")]
            + ["2024-05-30"],
            "slice": ["day", "day", "day", "day", "morning", "day", "day"],
            "micro_id": ["M1", "M1", "M2", "M9", "M1", "M1", "M1"],
            "minutes": [10, 12, 5, 30, 20, 5.5, 99],
        }
    )
    p = actual_presence(tracks, stops, "2024-06-08", days=7)
    assert p.date == dt.date(2024, 6, 8) and p.days == 7
    assert dict(p.spent_today_min) == {"M1": 25.5}
    # M1: 22 min for two 15-min stops: the first takes 15, the second has 7 (< 7.5): missed;
    # M2: 5 of 12 on the 6th, nothing on the 7th; the night of the 7th had no tracks at all
    assert dict(p.missed) == {"M1": 1, "M2": 2}
    assert dict(p.recent_planned_min) == {"M1": 30.0, "M2": 24.0}
    # the 30th of May is before the window; M9 is no planned stop's but was patrolled
    assert dict(p.recent_actual_min) == {"M1": 22.0, "M2": 5.0, "M9": 30.0}
    assert p.shortfall("M1") == pytest.approx(8 / 30, abs=1e-4)
    assert p.shortfall("M2") == pytest.approx(19 / 24, abs=1e-4)
    # a shorter window leaves the 6th out
    q = actual_presence(tracks, stops, "2024-06-08", days=1)
    assert dict(q.missed) == {"M2": 1} and dict(q.recent_actual_min) == {"M9": 30.0}


def test_a_compliance_report_is_taken_at_its_word():
    stops = {
        "date": "2024-06-07",
        "slice": "day",
        "micro_id": ["M1", "M2", "M3", "M4", ""],
        "dwell_min": 15,
        "status": ["missed", "visited", "no_track", "late", "not_measured"],
    }
    tracks = {"date": ["2024-06-07"], "slice": ["day"], "micro_id": ["M2"], "minutes": [14]}
    p = actual_presence(tracks, stops, "2024-06-08")
    assert dict(p.missed) == {"M1": 1}
    assert dict(p.recent_planned_min) == {"M1": 15, "M2": 15, "M4": 15}  # no_track: unknown
    assert dict(p.recent_actual_min) == {"M2": 14}


def test_without_plans_only_today_and_the_actual_minutes_count():
    tracks = {"date": ["2024-06-08", "2024-06-07"], "slice": "day", "micro_id": "M1"}
    tracks["minutes"] = [10, 20]
    p = actual_presence(tracks, None, "2024-06-08")
    assert dict(p.spent_today_min) == {"M1": 10} and dict(p.recent_actual_min) == {"M1": 20}
    assert not p.missed and not p.recent_planned_min and p.shortfall("M1") == 0
    assert boost_factors(p, PatrolPolicy()) == {} and missed_flags(p, PatrolPolicy()) == ()


def test_planned_stops_of_plans_and_tables(net, grid):
    cfg = make_config([patroller("P1", {"daily": ["06:00-07:00"]})])
    plan = plan_checked(
        grid, make_hotspots(grid), net, cfg, PlanRequest("2024-06-05", slices=["morning"]),
        params=FAST,
    )  # fmt: skip
    table = planned_stops(plan)
    n = sum(len(r.stops) for r in plan.slices[0].routes)
    assert len(table) == n and set(table["date"]) == {dt.date(2024, 6, 5)}
    both = planned_stops([plan, table.drop(columns="status")])
    assert len(both) == 2 * n


@pytest.mark.parametrize(
    ("presence", "match"),
    [
        ({"date": ["2024-06-08"], "slice": ["day"], "micro_id": ["M1"]}, "lacks columns minutes"),
        (
            {"date": ["8 June", "2024-06-08"], "slice": "day", "micro_id": "M1", "minutes": 5},
            r"1 bad row\(s\): row 2: date '8 June' is not a date",
        ),
        (
            {"date": "2024-06-08", "slice": "day", "micro_id": "M1", "minutes": [5, -1, "x"]},
            r"row 3: minutes -1 is not a number of 0 or more; row 4: minutes 'x'",
        ),
        ({"date": "2024-06-08", "slice": "", "micro_id": "M1", "minutes": [5]}, "is empty"),
        (42, "not a table"),
    ],
)
def test_a_bad_presence_table_is_a_clear_error(presence, match):
    with pytest.raises(InputError, match=match):
        actual_presence(presence, None, "2024-06-08")


def test_bad_arguments_and_values_are_clear_errors():
    ok = {"date": "2024-06-08", "slice": "day", "micro_id": "M1", "minutes": 5}
    with pytest.raises(InputError, match="needs the date"):
        actual_presence(ok)
    with pytest.raises(InputError, match="days 0 must be a whole number"):
        actual_presence(ok, None, "2024-06-08", days=0)
    with pytest.raises(InputError, match="visit_share"):
        actual_presence(ok, None, "2024-06-08", visit_share=0)
    with pytest.raises(InputError, match="planned stops lack columns dwell_min"):
        actual_presence(
            ok, {"date": ["2024-06-07"], "slice": "day", "micro_id": "M1"}, "2024-06-08"
        )
    with pytest.raises(InputError, match=r"missed must map .*M1: 1.5"):
        ActualPresence("2024-06-08", missed={"M1": 1.5})
    with pytest.raises(InputError, match=r"spent_today_min must map .*M1: -3"):
        ActualPresence("2024-06-08", spent_today_min={"M1": -3})
    with pytest.raises(InputError, match="date 'June' is not a date"):
        ActualPresence("June")
    with pytest.raises(InputError, match=r"unknown field\(s\) 'minutes'"):
        ActualPresence.from_dict({"date": "2024-06-08", "minutes": {}})


def test_value_type_normalises_and_round_trips():
    p = ActualPresence(
        dt.datetime(2024, 6, 8, 9),
        days=3.0,
        spent_today_min={"M2": 1, "M1": 0},
        missed={"M3": 2.0},
    )
    assert p.date == dt.date(2024, 6, 8) and p.days == 3
    assert dict(p.spent_today_min) == {"M2": 1.0} and dict(p.missed) == {"M3": 2}
    assert isinstance(p.missed, MappingProxyType) and p.micro_ids() == {"M2", "M3"}
    back = ActualPresence.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back == p and hash(back) == hash(p)


def test_boost_and_flags_follow_the_policy():
    p = ActualPresence(
        "2024-06-08",
        recent_planned_min={"M1": 60, "M2": 40, "M3": 30},
        recent_actual_min={"M1": 15, "M2": 50},
        missed={"M1": 3, "M3": 1},
    )
    assert boost_factors(p, PatrolPolicy()) == {"M1": 1.375, "M3": 1.5}  # M2 got more
    assert boost_factors(p, PatrolPolicy(underserved_boost=0)) == {}
    assert [f.micro_id for f in missed_flags(p, PatrolPolicy())] == ["M1"]
    flags = missed_flags(p, PatrolPolicy(missed_flag_after=1))
    assert [(f.micro_id, f.missed, f.days) for f in flags] == [("M1", 3, 7), ("M3", 1, 7)]
    assert flags[0].message().id == "feedback.missed"
    assert str(flags[0].message()).startswith("M1: 3 planned stops missed in the last 7 days")


# --------------------------------------------------------------------------------------------
# the request carries it


def test_the_request_carries_presence_through_json_and_old_dicts_load(grid):
    p = ActualPresence("2024-06-05", spent_today_min={A: 20}, missed={B: 2})
    req = PlanRequest("2024-06-05", slices=["morning"], presence=p.to_dict())
    assert req.presence == p
    stored = json.loads(json.dumps(req.to_dict()))
    assert stored["presence"]["missed"] == {B: 2}
    back = PlanRequest.from_dict(stored)
    assert back == req and hash(back) == hash(req)
    # a stored job of before the feedback has no presence; one with null neither
    old = {k: v for k, v in stored.items() if k != "presence"}
    assert PlanRequest.from_dict(old).presence is None
    assert PlanRequest.from_dict({**old, "presence": None}).presence is None
    assert PlanRequest("2024-06-05").to_dict()["presence"] is None


def test_the_request_names_what_is_wrong_with_its_presence(grid):
    cfg = make_config([patroller("P1", {"daily": ["06:00-07:00"]})])
    with pytest.raises(PlanRequestError) as info:
        PlanRequest("2024-06-05", presence={"date": "2024-06-04"})
    assert [m.id for m in info.value.problems] == ["request.presence_date"]
    assert "is for 2024-06-04 but the plan is for 2024-06-05" in str(info.value)
    with pytest.raises(PlanRequestError) as info:
        PlanRequest("2024-06-05", presence={"date": "2024-06-05", "missed": {"M": "x"}})
    assert [m.id for m in info.value.problems] == ["feedback.values"]
    req = PlanRequest(
        "2024-06-05", presence={"date": "2024-06-05", "missed": {"S01-B9-M001": 2, A: 1}}
    )
    with pytest.raises(PlanRequestError, match=r"names micro-grid\(s\) S01-B9-M001 that are not"):
        req.validate(cfg, grid)


# --------------------------------------------------------------------------------------------
# the effects: the cap, the prize, the flags


def test_the_daily_cap_is_reduced_by_the_minutes_spent_today():
    slices = [TimeSlice("morning", 6 * 60, 10 * 60), TimeSlice("night", 22 * 60, 6 * 60)]
    hot = pd.DataFrame(
        {
            "id": ["M1", "M1", "M2", "M2"],
            "slice": ["morning", "night", "morning", "night"],
            "score": [1.0, 2.0, 2.0, 2.0],
            "rank": [2, 1, 1, 2],
        }
    )
    policy = PatrolPolicy(dwell_spread_min=0)
    before = dosage_shares(hot, ["M1", "M2"], slices, policy)
    # one micro-grid in ten is top (up to 3 visits of 15 min), the next high (one of 12)
    assert before == {
        "M1": {"morning": 12.0, "night": 45.0},
        "M2": {"morning": 45.0, "night": 12.0},
    }
    after = dosage_shares(hot, ["M1", "M2"], slices, policy, spent_today={"M1": 50, "M2": 80})
    # M1 has 40 minutes left: a visit in each slice (15 at night first, then 12), the 13 left
    # where more visits fit (the night); M2 has 10, less than a visit anywhere: by risk
    assert after == {
        "M1": {"morning": 12.0, "night": 28.0},
        "M2": {"morning": 5.0, "night": 5.0},
    }
    after = dosage_shares(hot, ["M1", "M2"], slices, policy, spent_today={"M1": 70, "M2": 100})
    # 20 left: the riskier night's visit (15), the 5 left by risk (1:2); nothing left of M2
    assert after["M1"] == pytest.approx({"morning": 5 / 3, "night": 15 + 10 / 3})
    assert after["M2"] == {"morning": 0.0, "night": 0.0}
    assert dosage_shares(hot, ["M1", "M2"], slices, policy, spent_today={}) == before


def test_a_problem_counts_today_against_the_cap_and_boosts_top_hot_spots(net, grid):
    cfg = make_config([patroller("P1", {"daily": ["06:00-10:00"]})], top_share=0.2)
    hot = make_hotspots(grid, SCORES)
    p = ActualPresence(
        "2024-06-05",
        spent_today_min={A: 80},
        recent_planned_min={B: 60, "S01-B2-M002": 60},
        recent_actual_min={B: 20},
    )
    plain = build_problem(grid, hot, net, cfg, date="2024-06-05", slice_id="morning")
    fed = build_problem(grid, hot, net, cfg, date="2024-06-05", slice_id="morning", presence=p)
    # 10 of A's 90 minutes are left: not enough for a 15-minute visit
    assert fed.dosage_left_min[A] == 10 and fed.excluded[A] == "dosage cap"
    assert fed.stop(A).copies == 0 and plain.stop(A).copies == 3
    # B, a top hot spot, got 20 of 60 planned minutes: 1 + 0.5 x 2/3; B2-M002 is not top
    assert fed.stop(B).boost == pytest.approx(1 + 0.5 * 2 / 3, abs=1e-4)
    assert fed.stop("S01-B2-M002").boost == 1.0
    plain_vrp, fed_vrp = plain.to_prize_vrp(), fed.to_prize_vrp()
    for k in range(3):
        base = plain.prize_of(plain.stop(B))
        assert fed_vrp.prize[fed.node_of(B, k)] == round(base * fed.stop(B).boost) >> k
        assert plain_vrp.prize[plain.node_of(B, k)] == base >> k
    mid = "S01-B2-M002"
    assert fed_vrp.prize[fed.node_of(mid, 0)] == plain_vrp.prize[plain.node_of(mid, 0)]


def test_a_plan_after_days_of_tracks_serves_the_underserved_hot_spot_and_flags_it(net, grid):
    # Monday and Tuesday the walker has two hours and both corners are planned; the tracks
    # find every stop but those at B. On Wednesday the walker has 50 minutes: one corner.
    cfg = make_config(
        [patroller("P1", {"mon": ["06:00-08:00"], "tue": ["06:00-08:00"], "wed": ["06:00-06:50"]})],
        top_share=0.2,
        dwell_spread_min=0,
    )  # underserved_boost and missed_flag_after as shipped (0.5, 2)
    hot = make_hotspots(grid, SCORES)
    past = [
        plan_patrols(grid, hot, net, cfg, PlanRequest(d, slices=["morning"]), params=FAST)
        for d in ("2024-06-03", "2024-06-04")
    ]
    assert all(minutes_at(p).get(B) for p in past) and all(minutes_at(p).get(A) for p in past)
    tracks = pd.DataFrame([row for p in past for row in presence_rows(p, skip={B})])
    feedback = actual_presence(tracks, past, "2024-06-05")
    assert feedback.shortfall(B) == 1.0 and feedback.missed[B] >= 2 and A not in feedback.missed

    wednesday = PlanRequest("2024-06-05", slices=["morning"])
    without = plan_checked(grid, hot, net, cfg, wednesday, params=FAST)
    assert A in minutes_at(without) and B not in minutes_at(without)
    request = dataclasses.replace(wednesday, presence=feedback)
    plan = plan_checked(grid, hot, net, cfg, request, params=FAST)
    assert minutes_at(plan).get(B, 0) > minutes_at(without).get(B, 0)
    assert [f.micro_id for f in plan.missed_flags()] == [B]
    assert plan.feedback == feedback and plan.settings["presence"]["missed"][B] >= 2
    notes = plan.feedback_notes()
    assert [n.id for n in notes] == ["feedback.missed", "feedback.underserved"]
    assert f"{B}: got 0 of" in notes[1] and "worth 1.50 times" in notes[1]
    assert "Feedback from tracks (2):" in plan.to_text()
    summary = plan.summary()["feedback"]
    assert summary["missed"] == [{"micro_id": B, "missed": feedback.missed[B], "days": 7}]
    assert without.feedback is None and without.feedback_notes() == []
    assert "presence" not in without.settings and "feedback" not in without.summary()


def test_the_checker_holds_a_plan_to_the_cap_left_after_today(net, grid):
    cfg = make_config([patroller("P1", {"daily": ["10:00-16:00"]})], top_share=0.2)
    hot = make_hotspots(grid, SCORES)
    day = PlanRequest("2024-06-05", slices=["day"])
    p = ActualPresence("2024-06-05", spent_today_min={A: 80})
    plan = plan_checked(grid, hot, net, cfg, dataclasses.replace(day, presence=p), params=FAST)
    assert A not in minutes_at(plan) and plan.slices[0].problem.excluded[A] == "dosage cap"
    assert "minutes of presence on 2024-06-05" in plan.feedback_notes()[-1]
    # the plan made without the tracks visits A; held to the cap left after them, it fails
    plain = plan_patrols(grid, hot, net, cfg, day, params=FAST)
    assert minutes_at(plain).get(A, 0) > 10
    settings = MappingProxyType({**plain.settings, "presence": p.to_dict()})
    tampered = dataclasses.replace(plain, settings=settings)
    report = check_plan(tampered, net)
    errors = [f.message for f in report.findings if f.code == "dosage"]
    assert any("less the 80 min it got today" in m for m in errors), errors
    checked(plain, net, grid)


def test_plan_files_keep_the_feedback_and_older_files_load():
    p = ActualPresence("2024-06-05", missed={A: 2})
    from gridplan.routing.plan import PatrolPlan

    plan = PatrolPlan(
        station_id="S01",
        station_name="x",
        timezone="Asia/Shanghai",
        date=dt.date(2024, 6, 5),
        seed=0,
        time_limit_s=1.0,
        slices=(),
        settings=MappingProxyType({"presence": p.to_dict()}),
        policy=PatrolPolicy(underserved_boost=0.25, missed_flag_after=3),
    )
    doc = json.loads(json.dumps(plan_to_dict(plan)))
    back = plan_from_dict(doc)
    assert back.feedback == p and back.policy.underserved_boost == 0.25
    assert back.missed_flags() == ()  # 2 misses, flagged from 3 on
    for key in ("underserved_boost", "missed_flag_after"):
        del doc["policy"][key]
    older = plan_from_dict(doc)
    assert (older.policy.underserved_boost, older.policy.missed_flag_after) == (0.5, 2)


# --------------------------------------------------------------------------------------------
# with the tracks stage: its compliance report's presence and stops, as a file


def test_a_compliance_report_file_gives_the_feedback(tmp_path):
    from _tracks import LATTICE_CRS
    from _tracks import lattice_day
    from _tracks import plan_fixes

    from gridplan.io.presence_files import read_planned
    from gridplan.io.presence_files import read_presence_table
    from gridplan.io.track_files import write_compliance
    from gridplan.tracks.compliance import compute_compliance

    plan, grid, _ = lattice_day()
    p1 = next(r for r in plan.slices[0].routes if r.patroller_id == "P1")
    skipped = p1.stops[0]  # P1 walks through its first stop
    fixes = plan_fixes(plan, LATTICE_CRS, skip={"P1": {skipped.order}})
    report = compute_compliance(plan, fixes, grid)
    path = write_compliance(report, tmp_path / "day.gpkg", grid=grid)[0]
    presence, stops = read_presence_table(path), read_planned(path)
    feedback = actual_presence(presence, stops, "2024-06-06")
    missed = report.stops[report.stops["status"] == "missed"].groupby("micro_id").size()
    assert dict(feedback.missed) == {k: int(v) for k, v in missed.items()}
    assert skipped.micro_id in feedback.missed
    # the presence the report measured, as the plan's planned minutes were held against
    assert feedback.recent_actual_min == pytest.approx(
        report.presence.minutes.groupby("micro_id")["minutes"].sum().to_dict(), abs=0.01
    )
    # the same from the report in memory
    again = actual_presence(report.presence.minutes, report.stops, "2024-06-06")
    assert again.missed == feedback.missed
    assert again.recent_planned_min == pytest.approx(dict(feedback.recent_planned_min))
