"""clean_fixes: each reason a fix is left out, and what is kept around it."""

import numpy as np
import pandas as pd
import pytest
from _tracks import fixes_at

from gridplan import InputError
from gridplan.tracks.clean import clean_fixes
from gridplan.tracks.params import TrackParams


def walker(xs, *, every=10, start="08:00:00", ys=None, **kwargs):
    """Fixes along x (metres) every ``every`` seconds; ``ys`` defaults to 50."""
    t0 = pd.Timestamp(f"2024-06-05 {start}")
    times = [(t0 + pd.Timedelta(seconds=every * k)).strftime("%H:%M:%S") for k in range(len(xs))]
    ys = [50.0] * len(xs) if ys is None else ys
    return fixes_at(list(zip(xs, ys, strict=True)), times, **kwargs)


def reasons(rejects):
    return rejects[["row", "reason_id"]].values.tolist()


def test_a_clean_walk_keeps_everything_and_the_input_is_untouched():
    fixes = walker([0, 12, 24, 36, 48])
    before = fixes.copy()
    kept, rejects = clean_fixes(fixes)
    assert kept["row"].tolist() == [1, 2, 3, 4, 5] and rejects.empty
    pd.testing.assert_frame_equal(fixes, before)


def test_gps_noise_of_a_standing_walker_is_no_jump():
    rng = np.random.default_rng(1)
    xs = list(50 + rng.normal(0, 5, 720))
    ys = list(50 + rng.normal(0, 5, 720))
    kept, rejects = clean_fixes(walker(xs, ys=ys, every=5))
    assert rejects.empty and len(kept) == 720


def test_poor_accuracy():
    fixes = walker([0, 12, 24])
    fixes["accuracy_m"] = [5.0, 80.0, np.nan]
    kept, rejects = clean_fixes(fixes)
    assert reasons(rejects) == [[2, "tracks.poor_accuracy"]] and kept["row"].tolist() == [1, 3]
    assert rejects["reason"].iat[0].startswith("accuracy 80 m is worse than the 50 m accepted")
    assert rejects[["column", "value"]].values.tolist() == [["accuracy_m", "80"]]
    _, rejects = clean_fixes(fixes, params=TrackParams(max_accuracy_m=100))
    assert rejects.empty


def test_a_clock_that_goes_back_loses_only_its_fix():
    fixes = walker([0, 12, 24, 36]).iloc[[0, 1, 3, 2]].reset_index(drop=True)
    fixes["row"] = [1, 2, 3, 4]
    kept, rejects = clean_fixes(fixes)
    assert reasons(rejects) == [[4, "tracks.out_of_order"]]
    assert "earlier than that of row 3 recorded before it" in rejects["reason"].iat[0]
    assert kept["row"].tolist() == [1, 2, 3]


def test_a_table_exported_newest_first_is_read_backwards():
    fixes = walker([0, 12, 24, 36]).iloc[::-1].reset_index(drop=True)
    kept, rejects = clean_fixes(fixes)
    assert rejects.empty and kept["time"].is_monotonic_increasing


def test_duplicates_and_two_places_at_one_time():
    fixes = walker([0, 12, 24])
    dup = fixes.iloc[[1]].assign(row=4)
    other = fixes.iloc[[2]].assign(row=5, lon=fixes["lon"].iat[2] + 0.0003)
    kept, rejects = clean_fixes(pd.concat([fixes, dup, other], ignore_index=True))
    assert reasons(rejects) == [[4, "tracks.duplicate"], [5, "tracks.same_time"]]
    assert rejects["reason"].iat[0] == "the same fix as row 2 (same time and place); kept once"
    assert "row 3 has the same time at another place" in rejects["reason"].iat[1]
    assert kept["row"].tolist() == [1, 2, 3]


def test_a_lone_jump_is_rejected_and_the_rest_of_the_track_kept():
    xs = [0, 12, 24, 900, 48, 60, 72]
    kept, rejects = clean_fixes(walker(xs))
    assert reasons(rejects) == [[4, "tracks.jump"]]
    assert "reaching this fix from row 3 takes" in rejects["reason"].iat[0]
    assert "faster than the 3.0 m/s of walk" in rejects["reason"].iat[0]
    assert kept["row"].tolist() == [1, 2, 3, 5, 6, 7]


def test_a_bad_first_fix_is_the_one_rejected():
    kept, rejects = clean_fixes(walker([900, 12, 24, 36, 48]))
    assert reasons(rejects) == [[1, "tracks.jump"]]
    assert kept["row"].tolist() == [2, 3, 4, 5]


def test_a_burst_of_two_jumps_is_rejected():
    kept, rejects = clean_fixes(walker([0, 12, 900, 905, 48, 60, 72]))
    assert reasons(rejects) == [[3, "tracks.jump"], [4, "tracks.jump"]]
    assert kept["row"].tolist() == [1, 2, 5, 6, 7]


def test_a_real_move_is_kept_from_its_first_fix_on():
    # a lift: 2 km in 30 s, then walking on there; three fixes agree with each other
    xs = [0, 12, 24, 2000, 2012, 2024, 2036]
    kept, rejects = clean_fixes(walker(xs))
    assert rejects.empty and len(kept) == 7
    strict = TrackParams(reanchor_fixes=5)
    kept, rejects = clean_fixes(walker(xs), params=strict)
    assert reasons(rejects) == [
        [4, "tracks.jump"],
        [5, "tracks.jump"],
        [6, "tracks.jump"],
        [7, "tracks.jump"],
    ]


def test_the_speed_is_the_mode_s_and_may_differ_per_patroller():
    ride = walker([0, 80, 160, 240])  # 8 m/s
    walk = walker([0, 12, 24, 36], patroller="V02")
    both = pd.concat([ride, walk], ignore_index=True)
    _, rejects = clean_fixes(both)
    assert set(rejects["patroller"]) == {"V01"}
    _, rejects = clean_fixes(both, mode={"V01": "ebike"})
    assert rejects.empty
    _, rejects = clean_fixes(both, mode="car")
    assert rejects.empty


def test_a_table_that_is_not_fixes_is_refused():
    with pytest.raises(InputError, match="fix table lacks columns accuracy_m, source; pass"):
        clean_fixes(pd.DataFrame({"patroller": [], "time": [], "lon": [], "lat": []}))
    naive = walker([0, 12]).assign(time=lambda f: f["time"].dt.tz_localize(None))
    with pytest.raises(InputError, match="not timezone-aware"):
        clean_fixes(naive)
    with pytest.raises(InputError, match="mode 'boat'"):
        clean_fixes(walker([0, 12]), mode="boat")


def test_fixes_of_a_feed_without_rows_are_numbered_in_order():
    fixes = walker([0, 12, 900, 36]).drop(columns="row")
    kept, rejects = clean_fixes(fixes)
    assert reasons(rejects) == [[3, "tracks.jump"]]
    assert "row" not in kept.columns and len(kept) == 3
