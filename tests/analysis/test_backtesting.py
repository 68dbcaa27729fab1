import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridplan import GridplanWarning
from gridplan import InputError
from gridplan.analysis.backtesting import BacktestResult
from gridplan.analysis.backtesting import _ranking_order
from gridplan.analysis.backtesting import backtest
from gridplan.analysis.backtesting import parse_period
from gridplan.analysis.backtesting import select_cells
from gridplan.station.config import config_from_mapping

STEP = 1 / 512
X0, Y0 = 121.25, 31.0
TZ = "Asia/Shanghai"
CFG = config_from_mapping({"scoring": {"half_life_days": 30.0}})


@pytest.fixture
def grid():
    """Four equal cells in a row, M1..M4 from west to east."""
    cells = [shapely.box(X0 + i * STEP, Y0, X0 + (i + 1) * STEP, Y0 + STEP) for i in range(4)]
    rows = [
        {"id": "S01", "level": "station", "parent_id": None, "name": "站", "geometry": None},
        {"id": "S01-B1", "level": "base", "parent_id": "S01", "name": "基", "geometry": None},
    ]
    rows[0]["geometry"] = rows[1]["geometry"] = shapely.union_all(cells)
    rows += [
        {"id": f"M{i + 1}", "level": "micro", "parent_id": "S01-B1", "name": "", "geometry": c}
        for i, c in enumerate(cells)
    ]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def incidents(spec):
    """spec: list of (cell number 1..4, time, weight)."""
    xy = [(X0 + (c - 0.5) * STEP, Y0 + 0.5 * STEP) for c, _, _ in spec]
    return gpd.GeoDataFrame(
        {
            "id": [f"I{k}" for k in range(len(spec))],
            "time": pd.Series(pd.to_datetime([t for _, t, _ in spec])).dt.tz_localize(TZ),
            "weight": [float(w) for _, _, w in spec],
        },
        geometry=gpd.points_from_xy([p[0] for p in xy], [p[1] for p in xy]),
        crs="EPSG:4326",
    )


@pytest.fixture
def gdf_incidents():
    """Fit 2018: M1 three old heavy incidents, M4 two fresh light ones. Score 2019: M1 1, M3 1,
    M4 2. All at noon (day slice)."""
    return incidents(
        [(1, "2018-01-01 12:00", 5000)] * 3
        + [(4, "2018-12-31 12:00", 1)] * 2
        + [(1, "2019-03-01 12:00", 1), (3, "2019-05-01 12:00", 1)]
        + [(4, "2019-07-01 12:00", 1)] * 2
    )


def row(bt: BacktestResult, method: str, share: float, slice_id: str = "all") -> pd.Series:
    t = bt.table
    sel = (t["method"] == method) & (t["slice"] == slice_id) & np.isclose(t["area_share"], share)
    assert sel.sum() == 1
    return t[sel].iloc[0]


def test_hand_checked_hit_rate_pai_pei(grid, gdf_incidents):
    bt = backtest(
        grid, gdf_incidents, fit="2018", score="2019", config=CFG, area_shares=(0.25, 0.3, 0.5)
    )
    # gridplan (recency): M4 (2 fresh) > M1 (3 a year old, half-life 30 d) > M2 = M3 (by id).
    # baseline: M1 (3) > M4 (2). severity: M1 (weight 5000) > M4. Best: M4 (2) > M1 = M3 (1).
    g, b, s = (row(bt, m, 0.25) for m in ("gridplan", "baseline", "severity"))
    assert (g["cells"], g["hits"], g["hit_rate"]) == (1, 2, 0.5)
    assert g["area_share_actual"] == pytest.approx(0.25, rel=1e-4)
    assert g["pai"] == pytest.approx(2.0, rel=1e-4)
    assert g["pei"] == pytest.approx(1.0, rel=1e-4)
    assert (b["hits"], b["hit_rate"]) == (1, 0.25)
    assert b["pai"] == pytest.approx(1.0, rel=1e-4)
    assert b["pei"] == pytest.approx(0.5, rel=1e-4)
    assert s["hits"] == 1
    # 30 % is more than one cell: whole cells until the share is reached, so two (50 %).
    for share in (0.3, 0.5):
        for m in ("gridplan", "baseline"):
            r = row(bt, m, share)
            assert (r["cells"], r["hits"]) == (2, 3)
            assert r["area_share_actual"] == pytest.approx(0.5, rel=1e-4)
            assert r["pai"] == pytest.approx(1.5, rel=1e-4)
            assert r["pei"] == pytest.approx(1.0, rel=1e-4)
    assert bt.pai("gridplan", area_share=0.25) == pytest.approx(2.0, rel=1e-4)
    assert bt.not_worse(area_share=0.25)
    assert (bt.fit_incidents, bt.score_incidents, bt.cells) == (5, 4, 4)


def test_slices_without_score_incidents_have_nan_pai(grid, gdf_incidents):
    bt = backtest(grid, gdf_incidents, fit="2018", score="2019", config=CFG, area_shares=(0.25,))
    night = row(bt, "gridplan", 0.25, "night")
    assert night["incidents"] == 0
    assert math.isnan(night["hit_rate"]) and math.isnan(night["pai"]) and math.isnan(night["pei"])
    day = row(bt, "gridplan", 0.25, "day")
    assert day["pai"] == pytest.approx(2.0, rel=1e-4)
    assert "n/a" in bt.to_text()


def test_ranking_score_uses_the_severity_weighted_score(grid, gdf_incidents):
    bt = backtest(
        grid,
        gdf_incidents,
        fit="2018",
        score="2019",
        config=CFG,
        area_shares=(0.25,),
        ranking="score",
    )
    assert set(bt.table["method"]) == {"gridplan", "baseline"}
    assert row(bt, "gridplan", 0.25)["hits"] == 1


def test_summary_is_json_ready_and_text_names_both_periods(grid, gdf_incidents):
    bt = backtest(grid, gdf_incidents, fit=parse_period("2018"), score="2019", config=CFG)
    summary = bt.summary()
    json.dumps(summary, allow_nan=False)
    assert summary["fit"] == "2018-01-01:2018-12-31"
    assert set(summary["all_day"]) == {"1%", "5%", "10%"}
    assert summary["all_day"]["5%"]["gridplan"]["pai"] == pytest.approx(2.0, rel=1e-4)
    assert summary["not_worse_than_baseline_at_5pct"] is True
    text = bt.to_text()
    assert "fit 2018-01-01:2018-12-31" in text and "score 2019-01-01:2019-12-31" in text
    assert "gridplan" in text and "baseline" in text


def test_selection_takes_whole_cells_until_the_share_is_reached():
    order = np.array([2, 0, 1, 3])
    areas = np.array([1.0, 1.0, 2.0, 4.0])  # total 8
    assert select_cells(order, areas, 0.25).tolist() == [2]
    assert select_cells(order, areas, 0.26).tolist() == [2, 0]
    assert select_cells(order, areas, 1.0).tolist() == [2, 0, 1, 3]


def test_ties_are_broken_by_count_then_id(grid):
    # Reference 2019-01-01 00:00, half-life 30 d: M3 two incidents 60 d old (2 x 0.25) ties
    # with M2 one incident 30 d old (0.5); M3 has more incidents and ranks first. M1 and M4
    # have none and follow by id. Score period: one incident in each cell.
    gdf = incidents(
        [(3, "2018-11-02 00:00", 1)] * 2
        + [(2, "2018-12-02 00:00", 1)]
        + [(c, "2019-06-01 12:00", 1) for c in (1, 2, 3, 4)]
    )
    bt = backtest(grid, gdf, fit="2018", score="2019", config=CFG, area_shares=(0.25, 0.75))
    first = row(bt, "gridplan", 0.25)
    assert first["hits"] == 1
    ranked = bt.table[(bt.table["slice"] == "all") & (bt.table["method"] == "gridplan")]
    assert ranked["cells"].tolist() == [1, 3]
    # the full order behind that choice: value, then count, then id
    order = _ranking_order(
        np.array([0.0, 0.5, 0.5, 0.0]), np.array([0, 1, 2, 0]), np.array(["M1", "M2", "M3", "M4"])
    )
    assert order.tolist() == [2, 1, 0, 3]


def test_overlapping_periods_warn(grid, gdf_incidents):
    with pytest.warns(GridplanWarning, match="overlaps"):
        backtest(grid, gdf_incidents, fit="2018:2019", score="2019", config=CFG)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"area_shares": (0.0,)}, "must be in"),
        ({"area_shares": (1.5,)}, "must be in"),
        ({"ranking": "magic"}, "recency, score"),
        ({"fit": "someday"}, "not a date"),
    ],
)
def test_bad_arguments(grid, gdf_incidents, kwargs, match):
    args = {"fit": "2018", "score": "2019", "config": CFG} | kwargs
    with pytest.raises(InputError, match=match):
        backtest(grid, gdf_incidents, **args)


def test_harm_pai_weights_score_incidents_by_severity(grid):
    # Fit: M2 saw the most incidents. Score 2019: M1 one robbery-like incident of weight 4,
    # M2 two of weight 1. By count M2 holds 2/3 of the incidents, by harm only 2/6.
    gdf = incidents(
        [(2, "2018-06-01 12:00", 1)] * 3
        + [(1, "2019-03-01 12:00", 4)]
        + [(2, "2019-04-01 12:00", 1)] * 2
    )
    bt = backtest(grid, gdf, fit="2018", score="2019", config=CFG, area_shares=(0.25,))
    b = row(bt, "baseline", 0.25)
    assert b["hit_rate"] == pytest.approx(2 / 3)
    assert b["harm_hit_rate"] == pytest.approx(2 / 6)
    assert b["harm_pai"] == pytest.approx((2 / 6) / 0.25, rel=1e-4)
    assert "harmPAI" in bt.to_text()
    assert bt.summary()["all_day"]["25%"]["baseline"]["harm_pai"] == pytest.approx(4 / 3, rel=1e-4)
