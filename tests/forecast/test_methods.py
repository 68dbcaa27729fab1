import dataclasses

import numpy as np
import pytest

from gridplan import InputError
from gridplan.forecast.history import build_history
from gridplan.forecast.methods import Blend
from gridplan.forecast.methods import KernelDensity
from gridplan.forecast.methods import NearRepeat
from gridplan.forecast.methods import PriorCounts
from gridplan.forecast.methods import RecencyWeighted
from gridplan.forecast.methods import RecentCounts
from gridplan.forecast.methods import SliceShrunk
from gridplan.forecast.methods import intensity_frame
from gridplan.forecast.methods import method_from_dict
from tests._forecast import CONFIG
from tests._forecast import incidents
from tests._forecast import row_grid

ALL_METHODS = [
    PriorCounts(),
    PriorCounts(severity=True),
    RecentCounts(10),
    RecencyWeighted(5.0),
    SliceShrunk(PriorCounts(), 4.0),
    KernelDensity(RecencyWeighted(30.0), 100.0),
    NearRepeat(3.0, 200.0),
    Blend((PriorCounts(), NearRepeat(3.0, 200.0)), (1.0, 0.5)),
]


@pytest.fixture
def history():
    """M1: 4 old incidents (January, day); M2: 2 old at night and one recent by day; M4: 1
    recent, weight 5, evening. Origin 2024-02-01 (day 31)."""
    spec = [(1, f"2024-01-0{d} 12:00") for d in (1, 2, 3, 4)]
    spec += [(2, "2024-01-02 23:00"), (2, "2024-01-03 23:00"), (2, "2024-01-30 12:00")]
    spec += [(4, "2024-01-31 18:00", 5.0)]
    spec += [(3, "2024-02-01 12:00"), (3, "2024-02-05 12:00")]  # at and after the origin
    return build_history(row_grid(), incidents(spec), config=CONFIG)


def test_baselines_count_what_they_say(history):
    origin = "2024-02-01"
    assert PriorCounts().fit(history, origin)[0].tolist() == [4, 3, 0, 1]
    assert PriorCounts(severity=True).fit(history, origin)[0].tolist() == [4, 3, 0, 5]
    assert RecentCounts(10).fit(history, origin)[0].tolist() == [0, 1, 0, 1]
    assert PriorCounts().fit(history, origin)[4].tolist() == [0, 2, 0, 0]  # night
    rec = RecencyWeighted(5.0).fit(history, origin)[0]
    # M4's incident is a day old, M2's latest two days, M1's newest 28 days
    assert rec[3] == pytest.approx(0.5**0.2)
    assert rec[1] == pytest.approx(0.5 ** (2 / 5) + 0.5 ** (29 / 5) + 0.5 ** (30 / 5))
    assert np.argsort(-rec).tolist()[:2] == [3, 1]


def test_slice_shrinkage_pulls_a_sparse_cell_toward_the_station_split(history):
    raw = PriorCounts().fit(history, "2024-02-01")
    shrunk = SliceShrunk(PriorCounts(), 4.0).fit(history, "2024-02-01")
    assert shrunk[0].tolist() == raw[0].tolist()  # whole day unchanged
    # station split: day 5/8, night 2/8, evening 1/8. M2 (3 incidents: 1 day, 2 night):
    # night share (2 + 4 * 2/8) / (3 + 4) = 3/7, times 3 incidents
    assert shrunk[4, 1] == pytest.approx(3 * 3 / 7)
    assert shrunk[2, 1] == pytest.approx(3 * (1 + 4 * 5 / 8) / 7)
    # slice shares of a micro-grid still sum to its whole-day value (disjoint slices)
    assert shrunk[1:].sum(axis=0) == pytest.approx(raw[0])


def test_kernel_density_spreads_to_neighbours(history):
    kde = KernelDensity(PriorCounts(), 100.0).fit(history, "2024-02-01")[0]
    assert kde[2] > 0  # M3 had nothing, its neighbours did
    assert kde[0] > kde[2]


def test_near_repeat_favours_the_neighbours_of_recent_incidents(history):
    nr = NearRepeat(3.0, 200.0).fit(history, "2024-02-01")[0]
    assert nr[2] > nr[0]  # M3 sits between two recent incidents, M1's are a month old


def test_blend_sums_normalised_parts(history):
    a, b = PriorCounts(), RecentCounts(10)
    out = Blend((a, b), (1.0, 2.0)).fit(history, "2024-02-01")[0]
    expected = np.array([4, 3, 0, 1]) / 8 + 2 * np.array([0, 1, 0, 1]) / 2
    assert out == pytest.approx(expected)


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.label)
def test_no_method_sees_the_origin_day_or_later(method, history):
    """Incidents at or after the origin never change the fit (no leakage)."""
    spec = [(1, f"2024-01-0{d} 12:00") for d in (1, 2, 3, 4)] + [(2, "2024-01-30 12:00")]
    later = [*spec, (3, "2024-02-01 00:00"), (4, "2024-02-01 12:00"), (3, "2024-03-01 08:00")]
    grid = row_grid()
    kw = {"config": CONFIG, "first_day": "2024-01-01", "last_day": "2024-03-31"}
    before = method.fit(build_history(grid, incidents(spec), **kw), "2024-02-01")
    after = method.fit(build_history(grid, incidents(later), **kw), "2024-02-01")
    assert np.array_equal(before, after)
    after_day = method.fit(build_history(grid, incidents(later), **kw), "2024-02-02")
    assert not np.array_equal(before, after_day)  # the test could fail: a day later it sees them


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.label)
def test_methods_round_trip_through_dicts(method):
    assert method_from_dict(method.to_dict()) == method


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: RecentCounts(0), "days=0 must be a positive number"),
        (lambda: RecencyWeighted(-1), "half_life_days=-1"),
        (lambda: Blend((PriorCounts(),), ()), "as many weights as parts"),
        (lambda: method_from_dict({"kind": "magic"}), "'kind' must be one of"),
        (lambda: method_from_dict({"kind": "recency", "hl": 3}), r"parameter\(s\) \['hl'\]"),
    ],
)
def test_bad_parameters_say_what_to_write(make, match):
    with pytest.raises(InputError, match=match):
        make()


def test_methods_are_frozen_and_the_frame_is_long(history):
    with pytest.raises(dataclasses.FrozenInstanceError):
        PriorCounts().severity = True  # type: ignore[misc]
    frame = intensity_frame(history, PriorCounts().fit(history, "2024-02-01"))
    assert len(frame) == 4 * 5 and frame.columns.tolist() == ["id", "slice", "forecast"]
    assert frame.iloc[0].tolist() == ["M1", "all", 4.0]
