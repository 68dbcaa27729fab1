from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _networks import X0
from _networks import Y0
from _networks import street_network
from _networks import xy

from gridplan import InputError
from gridplan.network.graphs import StreetNetwork
from gridplan.network.graphs import build_network
from gridplan.network.stops import ACCESS_COLUMNS
from gridplan.network.stops import access_points
from gridplan.network.stops import snap_points
from gridplan.station.timeslices import TimeSlice

ROOT = Path(__file__).parents[2]
B4_OSM_BZ2 = ROOT / "tests" / "data" / "network_portland_b4.osm.bz2"


@pytest.fixture(scope="module")
def ladder() -> StreetNetwork:
    """Two parallel streets (y=0 and y=200, x 0..400) joined by rungs every 100 m.

    Each street is one line with a vertex at every rung, so they connect there. Junctions
    (kept by simplification) are at x = 100, 200, 300 on both streets; the corners are bends.
    """
    streets = [[(x, y) for x in range(0, 401, 100)] for y in (0, 200)]
    streets += [[(x, 0), (x, 200)] for x in range(0, 401, 100)]
    return street_network(streets)


def grid(*cells) -> gpd.GeoDataFrame:
    """A station, one base grid and the micro-grids ``cells`` ((x0, y0, x1, y1) each)."""
    boxes = [shapely.box(*xy(c[0], c[1]), *xy(c[2], c[3])) for c in cells]
    n = len(boxes)
    union = shapely.union_all(boxes)
    return gpd.GeoDataFrame(
        {
            "id": ["S01", "S01-B1"] + [f"S01-B1-M{i + 1:03d}" for i in range(n)],
            "level": ["station", "base"] + ["micro"] * n,
            "parent_id": [None, "S01"] + ["S01-B1"] * n,
            "name": ["所", "基础网格"] + [f"微网格{i + 1}" for i in range(n)],
        },
        geometry=[union, union, *boxes],
        crs=26910,
    ).to_crs(4326)


def node_xy(net, profile, nodes):
    frame = net.node_frame(profile)
    return np.round(frame.loc[list(nodes), ["x", "y"]].to_numpy() - [X0, Y0], 3) + 0.0


def test_representative_points_and_the_inside_preference(ladder):
    # M001 (x 50..250, y -20..80) holds junctions (100,0) and (200,0); M002 (x 310..390,
    # y 20..180) holds none
    gdf = grid((50, -20, 250, 80), (310, 20, 390, 180))
    stops = access_points(gdf, None, ladder, profile="walk")
    assert list(stops.columns) == list(ACCESS_COLUMNS)
    assert stops.crs.to_epsg() == 4326
    assert stops["id"].tolist() == ["S01-B1-M001", "S01-B1-M002"]
    assert stops["name"].tolist() == ["微网格1", "微网格2"]
    assert stops["inside"].tolist() == [True, False]
    assert (stops["centre"] == "representative_point").all()
    at = node_xy(ladder, "walk", stops["node"])
    micro = gdf[gdf["level"] == "micro"].to_crs(26910).geometry.to_numpy()
    assert shapely.contains_xy(micro[0], *(at[0] + [X0, Y0]))
    # M002's nearest junction is outside: (300 or 400, 0 or 200), flagged
    assert at[1][0] in (300, 400)
    centre = shapely.get_coordinates(shapely.point_on_surface(micro[1]))[0] - [X0, Y0]
    assert stops["distance_m"].iloc[1] == pytest.approx(np.hypot(*(at[1] - centre)), abs=0.01)
    assert np.isnan(stops["score"]).all() and (stops["weight"] == 0).all()


def test_incidents_pull_the_access_point_to_the_risk(ladder):
    # one micro-grid holding junctions (100,0), (200,0), (300,0) and the rungs' feet
    gdf = grid((60, -40, 340, 60))
    times = pd.to_datetime(["2024-03-01 02:00", "2024-03-01 03:00", "2024-03-01 14:00"])
    incidents = gpd.GeoDataFrame(
        {
            "id": ["1", "2", "3"],
            "time": times.tz_localize("Asia/Shanghai"),
            "weight": [3.0, 1.0, 50.0],
        },
        geometry=[
            shapely.Point(xy(290, 10)),
            shapely.Point(xy(270, 10)),
            shapely.Point(xy(110, -10)),
        ],
        crs=26910,
    ).to_crs(4326)
    # all incidents: weighted centre (3*290 + 270 + 50*110) / 54 = 117.8 -> junction (100, 0)
    stops = access_points(gdf, incidents, ladder, profile="walk")
    assert node_xy(ladder, "walk", stops["node"])[0] == pytest.approx([100, 0])
    assert stops["centre"].iloc[0] == "incidents" and stops["weight"].iloc[0] == 54
    # night slice only: (3*290 + 270) / 4 = 285 -> junction (300, 0)
    night = TimeSlice("night", 22 * 60, 6 * 60)
    stops = access_points(gdf, incidents, ladder, profile="walk", slice=night)
    assert node_xy(ladder, "walk", stops["node"])[0] == pytest.approx([300, 0])
    assert stops["weight"].iloc[0] == 4 and stops["distance_m"].iloc[0] == pytest.approx(
        np.hypot(15, 10), abs=0.01
    )
    with pytest.raises(InputError, match="needs the TimeSlice object"):
        access_points(gdf, incidents, ladder, profile="walk", slice="night")


def test_hot_spot_scores_are_copied(ladder):
    gdf = grid((60, -40, 340, 60), (60, 140, 340, 240))
    micro = gdf[gdf["level"] == "micro"]
    hot = gpd.GeoDataFrame(
        {
            "id": list(micro["id"]) * 2,
            "slice": ["all", "all", "night", "night"],
            "score": [1.0, 2.0, 5.0, 0.5],
        },
        geometry=list(micro.geometry) * 2,
        crs=4326,
    )
    stops = access_points(gdf, hot, ladder, profile="walk", slice="night")
    assert stops["score"].tolist() == [5.0, 0.5]
    assert access_points(gdf, hot, ladder, profile="ride")["score"].tolist() == [1.0, 2.0]
    with pytest.raises(InputError, match="the hot spots have no slice 'dawn'; slices found: all"):
        access_points(gdf, hot, ladder, profile="walk", slice="dawn")


def test_snap_points(ladder):
    station = gpd.GeoDataFrame(
        {"id": ["station"]}, geometry=[shapely.Point(xy(195, 30))], crs=26910
    )
    out = snap_points(station, ladder, profile="ride")
    assert node_xy(ladder, "ride", out["node"])[0] == pytest.approx([200, 0])
    assert out["distance_m"].iloc[0] == pytest.approx(np.hypot(5, 30), abs=0.01)
    assert out.crs.to_epsg() == 4326 and "node" not in station.columns


def test_bad_grids(ladder):
    with pytest.raises(InputError, match="grid has no micro-grids"):
        access_points(grid((0, 0, 100, 100)).iloc[:2], None, ladder, profile="walk")
    with pytest.raises(InputError, match="profile 'car' is unknown"):
        access_points(grid((0, 0, 100, 100)), None, ladder, profile="car")
    points = gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(InputError, match="must be incident points"):
        access_points(grid((0, 0, 100, 100)), points, ladder, profile="walk")


@pytest.mark.slow
def test_access_points_on_real_micro_grids():
    gdf = gpd.read_file(ROOT / "data" / "boundaries" / "grid.geojson")
    b4 = gdf[(gdf["id"] == "S01-B4") | (gdf["parent_id"] == "S01-B4")]
    net = build_network(B4_OSM_BZ2, boundary=b4, buffer_m=100, crs="EPSG:26910")
    for profile in ("walk", "ride"):
        stops = access_points(b4, None, net, profile=profile)
        assert len(stops) == 15 and stops["node"].is_unique
        assert stops["inside"].all()  # downtown blocks: every micro-grid has a junction
        micro = b4[b4["level"] == "micro"].reset_index(drop=True)
        joined = [
            poly.buffer(1e-9).contains(pt)
            for poly, pt in zip(micro.geometry, stops.geometry, strict=True)
        ]
        assert all(joined)
        assert stops["distance_m"].max() < 150
