"""compute_presence on hand-made tracks whose minutes are known exactly.

The station of ``_tracks.two_cells``: micro-grids M1 (x 0-100 m) and M2 (x 100-200 m), y 0-100,
in UTM 51N; times on 2024-06-05, Asia/Shanghai (the default slices: morning 06-10, day 10-16,
evening 16-22, night 22-06).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from _tracks import at
from _tracks import fixes_at
from _tracks import two_cells

from gridplan import InputError
from gridplan.station.config import default_config
from gridplan.tracks.params import TrackParams
from gridplan.tracks.presence import CheckIn
from gridplan.tracks.presence import compute_presence

GRID = two_cells()


def minutes(p, **where):
    m = p.minutes
    for k, v in where.items():
        m = m[m[k] == v]
    return m.set_index("micro_id")["minutes"].round(4).to_dict()


def coverage(p, **where):
    c = p.coverage
    for k, v in where.items():
        c = c[c[k] == v]
    return c.iloc[0]


def test_a_walk_across_the_edge_splits_its_time_by_distance():
    # 150 m in 120 s: 50 m in M1 (40 s), 100 m in M2 (80 s)
    p = compute_presence(fixes_at([(50, 50), (200, 50)], ["08:00:00", "08:02:00"]), GRID)
    assert minutes(p) == pytest.approx({"S-B1-M1": 40 / 60, "S-B1-M2": 80 / 60}, abs=1e-4)
    assert set(p.minutes["slice"]) == {"morning"} and set(p.minutes["date"]) == {"2024-06-05"}
    # the entry into M2 falls between the fixes: half the interval either side is the error
    assert p.minutes.set_index("micro_id")["error_min"].to_dict() == {
        "S-B1-M1": 1.0,
        "S-B1-M2": 1.0,
    }
    visits = p.visits
    assert visits["micro_id"].tolist() == ["S-B1-M1", "S-B1-M2"]
    assert visits["start"].iat[1] == pd.Timestamp("2024-06-05 08:00:40", tz="Asia/Shanghai")


def test_standing_still_counts_wholly_with_no_error():
    times = [f"08:{m:02d}:00" for m in range(11)]
    p = compute_presence(fixes_at([(30, 30)] * 11, times), GRID)
    assert minutes(p) == {"S-B1-M1": 10.0}
    assert p.minutes["error_min"].tolist() == [0.0]
    cov = coverage(p)
    assert (cov["tracked_min"], cov["outside_min"], cov["unknown_min"], cov["fixes"]) == (
        10.0,
        0.0,
        0.0,
        11,
    )


def test_a_gap_longer_than_max_gap_is_unknown_time():
    fix = fixes_at([(30, 30), (30, 30), (160, 30), (160, 30)], ["08:00", "08:01", "08:06", "08:07"])
    p = compute_presence(fix, GRID)
    assert minutes(p) == {"S-B1-M1": 1.0, "S-B1-M2": 1.0}
    cov = coverage(p)
    assert (cov["tracked_min"], cov["unknown_min"]) == (2.0, 5.0)
    wide = compute_presence(fix, GRID, params=TrackParams(max_gap_s=600))
    assert coverage(wide)["unknown_min"] == 0
    assert sum(minutes(wide).values()) == pytest.approx(7.0)


def test_minutes_are_cut_at_slice_boundaries():
    p = compute_presence(fixes_at([(30, 30)] * 3, ["09:59:00", "10:00:00", "10:01:00"]), GRID)
    assert minutes(p, slice="morning") == {"S-B1-M1": 1.0}
    assert minutes(p, slice="day") == {"S-B1-M1": 1.0}


def test_a_night_after_midnight_belongs_to_the_shift_date_before():
    p = compute_presence(fixes_at([(30, 30)] * 2, ["02:00:00", "02:01:00"]), GRID)
    assert p.minutes[["date", "slice", "minutes"]].values.tolist() == [["2024-06-04", "night", 1.0]]


def test_a_walk_along_a_shared_edge_counts_once():
    p = compute_presence(fixes_at([(100, 10), (100, 90)], ["08:00:00", "08:01:00"]), GRID)
    assert sum(minutes(p).values()) == pytest.approx(1.0)


def test_time_outside_every_micro_grid():
    # 300 m east in 120 s: 100 m in M2 (from x = 100), then 100 m beyond the station
    p = compute_presence(fixes_at([(100, 50), (300, 50)], ["08:00:00", "08:02:00"]), GRID)
    assert minutes(p) == {"S-B1-M2": 1.0}
    cov = coverage(p)
    assert cov["tracked_min"] == 2.0 and cov["outside_min"] == pytest.approx(1.0, abs=1e-4)


def test_check_ins_count_between_arrived_and_left_and_outrank_the_track():
    fix = fixes_at([(160, 30), (160, 30)], ["08:00:00", "08:02:00"])
    checks = [
        CheckIn("V01", "arrived", at("07:50"), micro_id="S-B1-M1"),
        CheckIn("V01", "left", at("08:01"), micro_id="S-B1-M1"),
    ]
    p = compute_presence(fix, GRID, check_ins=checks)
    assert minutes(p) == {"S-B1-M1": 11.0, "S-B1-M2": 1.0}
    assert coverage(p)["tracked_min"] == 12.0
    assert p.visits.set_index("micro_id")["source"].to_dict() == {
        "S-B1-M1": "checkin",
        "S-B1-M2": "track",
    }


def test_a_check_in_is_placed_by_its_position_and_unpaired_ones_are_warned():
    lon, lat = fixes_at([(150, 50)], ["08:00"])[["lon", "lat"]].iloc[0]
    checks = [
        CheckIn("V01", "arrived", at("08:00"), lon=lon, lat=lat),
        CheckIn("V01", "left", at("08:05"), lon=lon, lat=lat),
        CheckIn("V01", "left", at("09:00"), micro_id="S-B1-M1"),
        CheckIn("V01", "arrived", at("09:30"), lon=130.0, lat=10.0),
    ]
    empty = fixes_at([], [])
    p = compute_presence(empty, GRID, check_ins=checks)
    assert minutes(p) == {"S-B1-M2": 5.0}
    ids = [w.id for w in p.warnings]
    assert ids == ["tracks.checkin_no_cell", "tracks.checkin_unpaired"]
    assert "has no arrived to pair with" in p.warnings[1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "came"}, "kind 'came' is not 'arrived' or 'left'"),
        ({"time": at("08:00").replace(tzinfo=None)}, "has no timezone"),
        ({"micro_id": None}, "give the micro-grid, the plan stop or the position"),
    ],
)
def test_a_check_in_is_checked(kwargs, match):
    args = {"patroller": "V01", "kind": "arrived", "time": at("08:00"), "micro_id": "M", **kwargs}
    with pytest.raises(InputError, match=match):
        CheckIn(**args)


def test_a_coarse_track_is_flagged_with_its_error():
    xs = np.linspace(10, 190, 11)
    times = [f"08:{m:02d}:00" for m in range(11)]
    p = compute_presence(fixes_at([(x, 50) for x in xs], times), GRID)
    assert p.median_interval_s == 60.0 and p.coarse and bool(coverage(p)["coarse"])
    assert p.minutes["error_min"].sum() == pytest.approx(1.0)  # one exit, one entry, 30 s each
    assert [w.id for w in p.warnings] == ["tracks.coarse"]
    fine = compute_presence(
        fixes_at([(x, 50) for x in xs], times), GRID, params=TrackParams(coarse_interval_s=90)
    )
    assert not fine.coarse and not fine.warnings


def test_other_slices_and_timezones_come_from_the_config():
    cfg = dataclasses.replace(default_config(), timezone="UTC")
    p = compute_presence(fixes_at([(30, 30)] * 2, ["08:00", "08:01"]), GRID, cfg)
    # 08:00 in Shanghai is 00:00 UTC: the night shift of the day before
    assert p.minutes[["date", "slice"]].values.tolist() == [["2024-06-04", "night"]]
    one = cfg.slices[0]
    p = compute_presence(fixes_at([(30, 30)] * 2, ["08:00", "08:01"]), GRID, cfg, slices=[one])
    assert p.minutes.empty


def test_bad_inputs():
    with pytest.raises(InputError, match="fix table lacks columns"):
        compute_presence(pd.DataFrame({"patroller": ["V"]}), GRID)
    with pytest.raises(InputError, match="no micro-grids"):
        compute_presence(fixes_at([(30, 30)], ["08:00"]), GRID[GRID["level"] != "micro"])


def test_summary_is_json_ready():
    import json

    p = compute_presence(fixes_at([(50, 50), (200, 50)], ["08:00:00", "08:02:00"]), GRID)
    summary = json.loads(json.dumps(p.summary()))
    assert summary["patrollers"]["V01"]["tracked_min"] == 2.0
    assert summary["micro_grids"]["S-B1-M2"]["minutes"] == pytest.approx(1.333, abs=1e-3)
