"""The plan request: its values, its checks against the station, JSON, and the planner's use."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gridplan import InputError
from gridplan import PlanRequestError
from gridplan.routing.planner import PlanSettings
from gridplan.routing.planner import plan_patrols
from gridplan.routing.request import PlanRequest
from gridplan.routing.request import build_request
from gridplan.station.config import default_config

MICRO = "S01-B1-M001"  # a micro-grid of the lattice grid (conftest ``grid``)


@pytest.fixture(scope="module")
def cfg():
    """The default station config, its evening slice for weekends only."""
    cfg = default_config()
    slices = tuple(
        dataclasses.replace(s, days="weekend") if s.id == "evening" else s for s in cfg.time_slices
    )
    return dataclasses.replace(cfg, time_slices=slices)


def ids(exc: pytest.ExceptionInfo) -> list[str]:
    return [p.id for p in exc.value.problems]


def test_values_are_normalised():
    req = PlanRequest(
        "2024-06-08",
        slices=["night", "morning"],
        patrollers=["V01", "A01", "V01"],
        dwell_min={"top": "12"},
        pinned=["b", "a", "b"],
        exclude="c",
        seed="3",
        parent_id="7",
    )
    assert req.date == dt.date(2024, 6, 8)
    assert req.slices == ("night", "morning")  # as listed; the planner orders them by time
    assert req.patrollers == ("V01", "A01")
    assert dict(req.dwell_min) == {"top": 12}
    assert (req.pinned, req.exclude) == (("a", "b"), ("c",))
    assert (req.seed, req.parent_id) == (3, 7)
    assert PlanRequest(dt.datetime(2024, 6, 8, 9, 30)).date == dt.date(2024, 6, 8)
    assert PlanRequest("2024-06-08", slices=[]).slices is None  # none ticked: every slice
    assert hash(req) == hash(PlanRequest.from_dict(req.to_dict()))


def test_every_problem_of_the_values_is_listed_at_once():
    with pytest.raises(PlanRequestError) as exc:
        PlanRequest(
            "2024-13-01",
            slices=["day", "day"],
            patrollers=[],
            dwell_min={"top": "ten"},
            pinned=[MICRO],
            exclude=[MICRO],
            seed=-1,
            duty_split="fair",
            parent_id="x",
        )
    assert ids(exc) == [
        "request.date",
        "request.seed",
        "request.parent_id",
        "request.dwell_number",
        "planner.slices_twice",
        "jobs.no_patroller",
        "request.duty_split",
        "problem.pinned_and_excluded",
    ]
    text = str(exc.value)
    for part in ("'2024-13-01'", "YYYY-MM-DD", "-1", "'x'", "'ten'", "day", "'fair'", MICRO):
        assert part in text, part
    assert isinstance(exc.value, InputError)  # callers catching InputError keep working


@pytest.mark.parametrize("seed", [1.5, True, "2.0", "-3", "²", "١٢", "9" * 5000])
def test_a_variant_is_a_whole_number(seed):
    with pytest.raises(PlanRequestError, match="must be a whole number, 0 or more"):
        PlanRequest("2024-06-08", seed=seed)


def test_validate_checks_the_request_against_the_station_and_grid(cfg, grid):
    good = PlanRequest("2024-06-08", slices=["evening"], patrollers=["V01"], pinned=[MICRO])
    assert good.validate(cfg, grid) is good
    bad = PlanRequest(
        "2024-06-05",  # a Wednesday
        slices=["evening", "noon"],
        patrollers=["V01", "ZZ"],
        dwell_min={"top": 30, "high": 9, "other": 10},
        pinned=["S01-B9-M999"],
    )
    with pytest.raises(PlanRequestError) as exc:
        bad.validate(cfg, grid)
    assert ids(exc) == [
        "problem.slice_days",
        "problem.unknown_slice",
        "jobs.unknown_patrollers",
        "jobs.dwell",
        "problem.pins_not_in_grid",
    ]
    text = str(exc.value)
    assert "'evening' is for weekend shifts but 2024-06-05 is a weekday" in text
    assert "unknown time slice 'noon'; the station config defines morning, day" in text
    assert "patrollers ZZ are not in the station's roster" in text
    assert "30 (top hot spots), 9 (high risk) are outside the policy's 10-15 minutes" in text
    assert f"S01-B9-M999 are not in the grid; use micro-grid ids such as {MICRO}" in text
    assert bad.problems(cfg, grid) == list(exc.value.problems)
    with pytest.raises(PlanRequestError, match="'lunch', which are not risk classes"):
        PlanRequest("2024-06-08", dwell_min={"lunch": 12}).validate(cfg, grid)


def test_configure_keeps_the_chosen_patrollers_and_minutes(cfg):
    plain = PlanRequest("2024-06-08")
    assert plain.configure(cfg) is cfg
    chosen = PlanRequest("2024-06-08", patrollers=["V02", "A01"], dwell_min={"top": 12})
    out = chosen.configure(cfg)
    assert [p.id for p in out.roster] == ["A01", "V02"]  # roster order
    assert dict(out.patrol.dwell_min) == {"top": 12, "high": 12, "other": 10}
    assert dict(cfg.patrol.dwell_min)["top"] == 15  # the station's config is not changed


def test_json_round_trip_and_rows_of_earlier_versions():
    req = PlanRequest(
        "2024-06-08",
        slices=["morning"],
        patrollers=["V01"],
        dwell_min={"top": 14},
        pinned=[MICRO],
        seed=4,
        duty_split="first",
        parent_id=2,
    )
    stored = json.loads(json.dumps(req.to_dict()))
    assert PlanRequest.from_dict(stored) == req
    # what the plan form stored before requests existed (jobs.params_json)
    old_form = {
        "date": "2024-06-05",
        "slices": None,
        "patrollers": ["V09", "A09"],
        "dwell_min": {"top": 14, "high": 12, "other": 10},
        "pinned": ["S02-B3-M003"],
        "exclude": ["S02-B1-M001"],
        "seed": 0,
        "parent_id": 5,
    }
    old = PlanRequest.from_dict(old_form)
    assert (old.slices, old.patrollers, old.parent_id, old.duty_split) == (
        None,
        ("V09", "A09"),
        5,
        "risk",
    )
    assert PlanRequest.from_dict({"date": "2024-06-05"}) == PlanRequest("2024-06-05")
    assert PlanRequest.from_dict({"date": "2024-06-05", "dwell_min": None}).dwell_min == {}
    with pytest.raises(PlanRequestError, match=r"unknown field.*'time_limit_s'"):
        PlanRequest.from_dict({"date": "2024-06-05", "time_limit_s": 3})
    with pytest.raises(PlanRequestError, match="date None is not a date"):
        PlanRequest.from_dict({"seed": 1})


@given(
    date=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    slices=st.none() | st.lists(st.sampled_from(["morning", "day", "night"]), unique=True),
    patrollers=st.none() | st.lists(st.text(min_size=1, max_size=4), min_size=1, unique=True),
    dwell=st.dictionaries(st.sampled_from(["top", "high", "other"]), st.integers(0, 60)),
    pins=st.lists(st.sampled_from(["a", "b", "c"]), unique=True),
    seed=st.none() | st.integers(0, 10**6),
    split=st.sampled_from(["risk", "first"]),
)
def test_to_dict_from_dict_round_trips(date, slices, patrollers, dwell, pins, seed, split):
    req = PlanRequest(
        date,
        slices=slices,
        patrollers=patrollers,
        dwell_min=dwell,
        pinned=pins[:1],
        exclude=pins[1:],
        seed=seed,
        duty_split=split,
    )
    assert PlanRequest.from_dict(json.loads(json.dumps(req.to_dict()))) == req


def test_build_request_lists_the_values_and_the_station_problems_together(cfg, grid):
    form = {
        "slices": ["noon"],
        "patrollers": ["V01", "ZZ"],
        "dwell_min": {"top": "30", "other": "x"},
        "pinned": ["S01-B9-M999"],
        "seed": "two",
    }
    with pytest.raises(PlanRequestError) as exc:
        build_request(cfg, grid, "8 June", **form)
    assert ids(exc) == [
        "request.date",
        "request.seed",
        "request.dwell_number",
        "problem.unknown_slice",  # reported without a date; 'evening' would not be
        "jobs.unknown_patrollers",
        "jobs.dwell",
        "problem.pins_not_in_grid",
    ]
    req = build_request(cfg, grid, "2024-06-08", slices=["evening"], seed="3")
    assert (req.slices, req.seed) == (("evening",), 3)
    with pytest.raises(TypeError, match=r"unknown choices \[.time_limit_s.\]"):
        build_request(cfg, grid, "2024-06-08", time_limit_s=3)


def test_the_planner_refuses_a_request_the_station_cannot_meet(cfg, grid):
    request = PlanRequest("2024-06-05", slices=["evening"], patrollers=["ZZ"])
    with pytest.raises(PlanRequestError) as exc:
        plan_patrols(grid, None, None, cfg, request)  # refused before anything is computed
    assert ids(exc) == ["problem.slice_days", "jobs.unknown_patrollers"]


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"detour_factor": 0.5}, "detour_factor=0.5 must be a number >= 1"),
        ({"travel_weight": -1}, "travel_weight=-1 must be a number >= 0"),
        ({"balance_weight": float("nan")}, "balance_weight=nan must be a number >= 0"),
        ({"station_point": (1, 2)}, "station_point=\\(1, 2\\) must be a shapely Point"),
    ],
)
def test_plan_settings_check_their_values(values, match):
    with pytest.raises(InputError, match=match):
        PlanSettings(**values)
    assert PlanSettings(station_point=shapely.Point(1, 2)).travel_weight == 0.001
