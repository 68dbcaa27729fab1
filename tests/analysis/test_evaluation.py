"""evaluate_patrols: patrolled against unpatrolled hot spots, before and after, with caveats."""

import json
import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridplan import InputError
from gridplan.analysis.evaluation import CAVEATS
from gridplan.analysis.evaluation import evaluate_patrols

STEP = 1 / 512
X0, Y0 = 121.25, 31.0
TZ = "Asia/Shanghai"
IDS = [f"S01-B1-M{i}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def grid():
    """Six equal cells in a row, S01-B1-M1..M6 from west to east."""
    cells = [shapely.box(X0 + i * STEP, Y0, X0 + (i + 1) * STEP, Y0 + STEP) for i in range(6)]
    outline = shapely.union_all(cells)
    return gpd.GeoDataFrame(
        {
            "id": ["S01", "S01-B1", *IDS],
            "level": ["station", "base"] + ["micro"] * 6,
            "parent_id": [None, "S01", *["S01-B1"] * 6],
            "name": ["站", "基", *"abcdef"],
        },
        geometry=[outline, outline, *cells],
        crs="EPSG:4326",
    )


def incidents(counts: dict[int, tuple[int, int]], *, hour: int = 12):
    """``counts``: cell number (1..6) -> (incidents on 15 January, on 15 April), at ``hour``."""
    xy, times = [], []
    for cell, (before, after) in counts.items():
        x = X0 + (cell - 0.5) * STEP
        xy += [(x, Y0 + 0.5 * STEP)] * (before + after)
        times += [f"2024-01-15 {hour:02d}:00"] * before + [f"2024-04-15 {hour:02d}:00"] * after
    return gpd.GeoDataFrame(
        {"time": pd.Series(pd.to_datetime(times)).dt.tz_localize(TZ)},
        geometry=gpd.points_from_xy([p[0] for p in xy], [p[1] for p in xy]),
        crs="EPSG:4326",
    )


def presence(minutes: dict[int, float], date: str = "2024-04-10"):
    return pd.DataFrame(
        {
            "patroller": "A01",
            "date": date,
            "slice": "day",
            "micro_id": [IDS[c - 1] for c in minutes],
            "minutes": list(minutes.values()),
        }
    )


# before: Q1 (91 days), after: Q2 (91 days), so rates per 30 days are counts x 30 / 91 / cells
BEFORE, AFTER = "2024-01:2024-03", "2024-04:2024-06"
# M1, M2 patrolled (fell 40 -> 20 and 30 -> 24); M3, M4 not (36 -> 30, 24 -> 30); M5 has a
# few; M6 none (never a hot spot)
COUNTS = {1: (40, 20), 2: (30, 24), 3: (36, 30), 4: (24, 30), 5: (2, 9)}


def test_known_counts_give_known_figures(grid):
    ev = evaluate_patrols(
        incidents(COUNTS),
        presence({1: 90, 2: 60, 3: 59, 5: 200}),
        grid,
        before=BEFORE,
        after=AFTER,
        top_n=4,
    )
    assert ev.cells["id"].tolist() == IDS[:4]  # the four busiest before; M5 is fifth
    assert ev.cells["patrolled"].tolist() == [True, True, False, False]  # 59 < 60 minutes
    assert ev.cells[["before", "after"]].values.tolist() == [[40, 20], [30, 24], [36, 30], [24, 30]]
    groups = ev.groups.set_index("group")
    assert groups.loc["patrolled", ["cells", "before", "after"]].tolist() == [2, 70, 44]
    assert groups.loc["not_patrolled", ["cells", "before", "after"]].tolist() == [2, 60, 60]
    rate = 30 / 91 / 2
    assert groups.loc["patrolled", "before_rate"] == pytest.approx(70 * rate)
    assert groups.loc["patrolled", "change"] == pytest.approx(-26 * rate)
    assert groups.loc["patrolled", "change_share"] == pytest.approx(44 / 70 - 1)
    assert groups.loc["not_patrolled", "change"] == pytest.approx(0.0)
    assert ev.difference == pytest.approx(-26 * rate, abs=1e-4)
    assert ev.ratio == pytest.approx((44 / 70) / (60 / 60), abs=1e-4)
    se = math.sqrt(1 / 70 + 1 / 44 + 1 / 60 + 1 / 60)
    lo, hi = ev.interval
    assert lo == pytest.approx(ev.ratio * math.exp(-1.96 * se), abs=1e-3)
    assert hi == pytest.approx(ev.ratio * math.exp(1.96 * se), abs=1e-3)
    assert lo < 1 < hi  # four hot spots cannot tell


def test_the_caveats_are_stated_with_every_result(grid):
    ev = evaluate_patrols(
        incidents(COUNTS), presence({1: 90}), grid, before=BEFORE, after=AFTER, top_n=4
    )
    text = ev.to_text()
    assert "Read with care:" in text
    for caveat in CAVEATS:
        assert str(caveat()) in text
    for word in ("Regression to the mean", "Selection", "Displacement", "Recording", "Small"):
        assert word in text
    summary = json.loads(json.dumps(ev.summary()))
    assert summary["caveats"] == [str(c()) for c in CAVEATS]
    assert summary["groups"][0]["group"] == "patrolled"
    assert "difference in differences" in text and "ratio of ratios" in text


def test_warnings_say_what_the_data_show(grid):
    # M1 alone patrolled: busier before than the others, few incidents, patrolled before too
    ev = evaluate_patrols(
        incidents({1: (40, 8), 2: (10, 12), 3: (10, 9)}),
        pd.concat([presence({1: 120}), presence({1: 90}, date="2024-02-01")]),
        grid,
        before=BEFORE,
        after=AFTER,
        top_n=3,
    )
    ids = [w.id for w in ev.warnings]
    assert "evaluation.busier" in ids and "evaluation.patrolled_before" in ids
    assert "evaluation.few" in ids
    assert "4.0 times the incidents per micro-grid" in ev.to_text()
    assert "1 of the hot spots already had 60 minutes of patrol" in ev.to_text()
    # nobody patrolled: nothing to compare, and overlapping periods are said to overlap
    ev = evaluate_patrols(
        incidents(COUNTS), presence({}), grid, before="2024-01:2024-04", after="2024-04"
    )
    ids = [w.id for w in ev.warnings]
    assert ids[0] == "evaluation.empty_group" and "evaluation.overlap" in ids
    assert ev.difference is None and ev.ratio is None and ev.interval is None
    assert "no patrolled hot spot" in ev.to_text()


def test_chosen_hot_spots_and_one_slice(grid):
    night = incidents({1: (5, 5), 3: (5, 5)}, hour=23)
    day = incidents({1: (20, 10), 3: (20, 20)})
    both = pd.concat([night, day], ignore_index=True)
    ev = evaluate_patrols(
        both, presence({1: 60}), grid, before=BEFORE, after=AFTER, hotspot_ids=[IDS[0], IDS[2]]
    )
    assert ev.cells[["before", "after"]].values.tolist() == [[25, 15], [25, 25]]
    ev = evaluate_patrols(
        both, presence({1: 60}), grid, before=BEFORE, after=AFTER, slice_id="night", top_n=6
    )
    assert ev.slice_id == "night"
    assert ev.cells[["id", "before", "after"]].values.tolist() == [
        [IDS[0], 5, 5],
        [IDS[2], 5, 5],
    ]  # cells without night incidents before are not hot spots


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_n": 0}, "top_n = 0 must be a whole number"),
        ({"min_minutes": -1}, "min_minutes = -1"),
        ({"slice_id": "noon"}, "unknown time slice 'noon'"),
        ({"hotspot_ids": ["S01-B9-M1"]}, "S01-B9-M1 are not micro-grids"),
        ({"before": "someday"}, "is not a date"),
    ],
)
def test_bad_arguments_are_clear_errors(grid, kwargs, match):
    args = {"before": BEFORE, "after": AFTER, **kwargs}
    with pytest.raises(InputError, match=match):
        evaluate_patrols(incidents(COUNTS), presence({1: 60}), grid, **args)


def test_a_bad_presence_table_is_a_clear_error(grid):
    bad = presence({1: 60}).drop(columns="minutes")
    with pytest.raises(InputError, match="presence table lacks columns minutes"):
        evaluate_patrols(incidents(COUNTS), bad, grid, before=BEFORE, after=AFTER)
