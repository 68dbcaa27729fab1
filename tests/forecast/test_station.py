import dataclasses
import datetime as dt

import geopandas as gpd
import numpy as np
import pytest

from gridplan import InputError
from gridplan.forecast.history import build_history
from gridplan.forecast.station import StationForecast
from gridplan.forecast.station import choose_station_forecast
from gridplan.forecast.station import forecast_hotspots
from gridplan.forecast.station import forecast_prize
from tests._forecast import CONFIG
from tests._forecast import incidents
from tests._forecast import row_grid


@pytest.fixture(scope="module")
def history():
    """400 days: by day M1 is hot for 300 days, then M3 takes over; by night M4 always."""
    spec = []
    for day in range(400):
        when = dt.date(2023, 1, 1) + dt.timedelta(days=day)
        spec += [(1 if day < 300 else 3, f"{when} 12:00"), (4, f"{when} 23:00", 3.0)]
    return build_history(row_grid(), incidents(spec), config=CONFIG)


def test_auto_chooses_per_slice_and_round_trips(history):
    fc = choose_station_forecast(history, CONFIG)
    assert fc.horizon_days == 7 and fc.as_of == dt.date(2024, 2, 5) and not fc.severity
    assert fc.names["day"] != "prior"  # prior counts keep pointing at M1 for weeks
    assert fc.figures["day"]["pai"] > fc.figures["day"]["pai_prior"]
    assert fc.names["night"] == "prior"  # nothing to gain: the first tried stays
    assert StationForecast.from_dict(fc.to_dict()) == fc
    with pytest.raises(InputError, match="choose it again"):
        StationForecast.from_dict({"methods": {}})


def test_a_fixed_baseline_and_severity(history):
    cfg = dataclasses.replace(CONFIG, forecast_method="recency", forecast_severity=True)
    fc = choose_station_forecast(history, cfg)
    assert set(fc.names.values()) == {"recency"} and fc.severity
    with pytest.raises(InputError, match="hot-spot score"):
        choose_station_forecast(history, dataclasses.replace(CONFIG, forecast_method="hotspot"))


def test_the_prize_is_the_forecast_at_the_plan_date(history):
    fc = choose_station_forecast(history, CONFIG)
    micro = row_grid().iloc[2:]
    hot = gpd.GeoDataFrame(
        {
            "id": np.tile(micro["id"].to_numpy(), 2),
            "slice": ["all"] * 4 + ["day"] * 4,
            "score": [9.0, 0.0, 0.0, 0.0] * 2,  # the hot-spot score still says M1
            "rank": [1, 2, 3, 4] * 2,
            "count": [300, 0, 100, 400, 300, 0, 100, 0],
        },
        geometry=list(micro.geometry) * 2,
        crs=micro.crs,
    )
    out = forecast_prize(hot, history, fc, origin="2024-02-05")
    day = out[out["slice"] == "day"].set_index("id")
    assert day["rank"].idxmin() == "M3" and day.loc["M1", "hotspot_score"] == 9.0
    assert out.attrs["forecast"]["origin"] == "2024-02-05"
    assert out.attrs["forecast"]["names"]["day"] == fc.names["day"]
    assert hot["score"].iloc[0] == 9.0  # the input is not changed


def test_forecast_hotspots_makes_the_prize_or_says_why_not():
    from gridplan.analysis.hotspots import compute_hotspots

    spec = []
    for day in range(400):
        when = dt.date(2023, 1, 1) + dt.timedelta(days=day)
        spec += [(1 if day < 300 else 3, f"{when} 12:00"), (4, f"{when} 23:00", 3.0)]
    grid, gdf = row_grid(), incidents(spec)
    hot = compute_hotspots(grid, gdf, config=CONFIG, permutations=0)
    out = forecast_hotspots(hot, grid, gdf, CONFIG)
    assert out.attrs["forecast"]["origin"] == "2024-02-05"
    assert (out["hotspot_score"] == hot["score"]).all()
    day = out[out["slice"] == "day"]
    assert set(day["forecast"]) == {out.attrs["forecast"]["names"]["day"]}
    assert day.set_index("id")["rank"].idxmin() == "M3"
    # too short a history for a year of origins: the hot-spot score stays the prize
    short = incidents(spec[:100])
    hot_short = compute_hotspots(grid, short, config=CONFIG, permutations=0)
    kept = forecast_hotspots(hot_short, grid, short, CONFIG)
    assert kept.attrs["forecast"]["method"] == "hotspot"
    assert "too short" in kept.attrs["forecast"]["reason"]
    assert (kept["score"] == hot_short["score"]).all()
    fixed = dataclasses.replace(CONFIG, forecast_method="hotspot")
    assert forecast_hotspots(hot, grid, gdf, fixed).attrs["forecast"]["method"] == "hotspot"


def test_no_incidents_keep_the_hot_spot_score():
    from gridplan.analysis.hotspots import compute_hotspots

    grid = row_grid()
    empty = incidents([(1, "2024-01-01 12:00")]).iloc[:0]
    hot = compute_hotspots(grid, empty, config=CONFIG, permutations=0)
    out = forecast_hotspots(hot, grid, empty, CONFIG)
    assert out.attrs["forecast"]["method"] == "hotspot"
    assert "no valid time" in out.attrs["forecast"]["reason"]
