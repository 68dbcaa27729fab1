"""City hot spots with dask-geopandas: the same numbers as one process and as one station."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal

import gridplan as gp
from gridplan._errors import InputError
from gridplan.city.cityfile import load_city
from gridplan.city.cluster import connect
from gridplan.city.hotspots import CityHotspotParams
from gridplan.city.hotspots import city_hotspots
from gridplan.city.hotspots import city_hotspots_local
from gridplan.cli import main
from gridplan.station.timeslices import parse_period

PERIOD = "2023-06-01:2025-05-31"


def _same_bits(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    columns = [c for c in a.columns if c != "geometry"]
    pd.testing.assert_frame_equal(a[columns], b[columns], check_exact=True)
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()


def test_dask_and_single_process_and_one_station_give_the_same_hot_spots(city, tmp_path):
    # the city's incidents are in row groups of 400: five partitions, summed and added
    chosen = load_city(city).select(["C01", "C03"])  # C02's and C04's incidents: beyond them
    # only the incidents away from C02: no partition reaches it
    incidents = gpd.read_parquet(chosen.incidents)
    c02 = gp.load_grid(load_city(city).select(["C02"]).stations[0].grid)
    away = tmp_path / "away.parquet"
    incidents[~incidents.intersects(c02.union_all())].to_parquet(away, row_group_size=300)
    lonely = dataclasses.replace(load_city(city).select(["C01", "C02"]), incidents=away)
    params = CityHotspotParams(period=PERIOD, permutations=99)
    with connect(workers=2) as client:
        spread = city_hotspots(chosen, params, client=client)
        spread_lonely = city_hotspots(lonely, params, client=client)
    local = city_hotspots_local(chosen, params)
    assert list(spread) == list(local) == ["C01", "C03"]
    for station in chosen.stations:
        _same_bits(spread[station.id], local[station.id])  # the same sums in the same order
        # the station's grid over every incident of the city: the same numbers
        alone = gp.compute_hotspots(
            gp.load_grid(station.grid),
            incidents,
            config=gp.load_config(station.config),
            period=parse_period(PERIOD),
            permutations=99,
        )
        assert_geodataframe_equal(spread[station.id], alone)
        assert spread[station.id].attrs["incidents"] == 410  # its own, none from beyond
        assert spread[station.id]["gi_class"].astype(str).str.startswith("above").any()
    local_lonely = city_hotspots_local(lonely, params)
    for sid in ("C01", "C02"):
        _same_bits(spread_lonely[sid], local_lonely[sid])
    # C01's own incidents are all there (in other partitions: scores to float rounding)
    pd.testing.assert_series_equal(spread_lonely["C01"]["count"], spread["C01"]["count"])
    assert spread_lonely["C02"].attrs["incidents"] == 0
    assert int(spread_lonely["C02"]["count"].sum()) == 0
    assert (spread_lonely["C02"]["recent"] == "").all()


def test_the_city_period_spans_the_incidents_a_day_either_side(city):
    hot = city_hotspots_local(load_city(city).select(["C02"]), CityHotspotParams(permutations=0))
    assert hot["C02"].attrs["period"] == "2023-05-31:2025-06-01"


def test_gridplan_city_hotspots_writes_one_file_per_station(city, tmp_path):
    out = tmp_path / "hot"
    args = ["city", "hotspots", str(city), "--stations", "C03,C01", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--permutations", "0", "--single-process", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["stations"]) == ["C03", "C01"]
    assert sorted(p.name for p in out.iterdir()) == ["C01.hotspots.gpkg", "C03.hotspots.gpkg"]
    hot = gp.read_hotspots(out / "C03.hotspots.gpkg")
    assert int(hot.loc[hot["slice"] == "all", "count"].sum()) == 410


def test_a_bad_city_file_names_the_station_and_the_key(city, tmp_path):
    bad = city.with_name("bad.toml")
    bad.write_text(
        city.read_text(encoding="utf-8").replace('grid = "C02/grid.geojson"', 'grid = "nope.gj"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["city", "hotspots", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert (
        "station 2 (C02): grid = 'nope.gj'" in result.stderr and "does not exist" in result.stderr
    )
    result = CliRunner().invoke(
        main, ["city", "plan", str(city), "--date", "2025-06-14", "--stations", "C09", "--out", "x"]
    )
    assert (
        result.exit_code == 2
        and "no station 'C09'; the city has C01, C02, C03, C04" in result.stderr
    )


def test_retries_must_be_zero_or_more():
    with pytest.raises(InputError, match=r"retries=-1 must be 0 or more"):
        CityHotspotParams(retries=-1)
