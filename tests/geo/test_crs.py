import zipfile

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from gridplan import CRSError
from gridplan import GridplanWarning
from gridplan import InputError
from gridplan.geo.crs import bd09_to_wgs84
from gridplan.geo.crs import gcj02_to_wgs84
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import parse_crs
from gridplan.geo.crs import wgs84_to_bd09
from gridplan.geo.crs import wgs84_to_gcj02
from gridplan.io.vector import list_layers
from gridplan.io.vector import read_vector


def test_broken_json_names_line_and_column(tmp_path):
    p = tmp_path / "grid.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature",', encoding="utf-8")
    with pytest.raises(InputError, match=r"grid\.geojson: broken JSON at line 1, column \d+"):
        read_vector(p)


def test_json_that_is_not_geojson(tmp_path):
    p = tmp_path / "list.json"
    p.write_text('{"stations": [1, 2]}', encoding="utf-8")
    with pytest.raises(InputError, match="not GeoJSON"):
        read_vector(p)


def test_empty_and_missing_and_not_geodata(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_vector(empty)
    with pytest.raises(InputError, match="not found"):
        read_vector(tmp_path / "nope.gpkg")
    png = tmp_path / "photo.gpkg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(InputError, match="not a vector file GDAL can read"):
        read_vector(png)


def test_zipped_shapefile_and_layers(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["B1"], "name": ["第一网格"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    )
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / "base.shp", encoding="UTF-8")
    z = tmp_path / "base.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    back = read_vector(z)
    assert back["name"].tolist() == ["第一网格"] and back.crs.to_epsg() == 4326
    gpkg = tmp_path / "g.gpkg"
    gdf.to_file(gpkg, layer="base")
    gdf.to_file(gpkg, layer="micro")
    assert list_layers(gpkg) == ["base", "micro"]
    with pytest.raises(InputError, match="no layer 'station'; its layers are base, micro"):
        read_vector(gpkg, layer="station")


def test_zip_without_shapefile(tmp_path):
    z = tmp_path / "docs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match=r"no \.shp file"):
        read_vector(z)


def test_metric_crs_is_local_utm_or_configured():
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(116.4, 39.9)], crs=4326)
    assert metric_crs(gdf).to_epsg() == 32650
    assert metric_crs(gdf, crs="EPSG:4547").to_epsg() == 4547
    with pytest.raises(CRSError, match="not a projected CRS in metres"):
        metric_crs(gdf, crs="EPSG:4490")
    with pytest.raises(CRSError, match="no coordinate reference system"):
        metric_crs(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]))
    with pytest.raises(CRSError, match="unknown CRS 'EPSG:999999'"):
        parse_crs("EPSG:999999")


def _helsinki(size_m=1000.0):
    """A square station of ``size_m`` in central Helsinki (24.94E 60.17N), in WGS84."""
    utm = pyproj.CRS("EPSG:32635")
    x, y = pyproj.Transformer.from_crs(4326, utm, always_xy=True).transform(24.94, 60.17)
    box = shapely.box(x, y, x + size_m, y + size_m)
    return gpd.GeoDataFrame({"id": ["S07"]}, geometry=[box], crs=utm).to_crs(4326)


def test_a_metric_crs_for_another_continent_is_refused():
    """The demo's UTM 10N copied to a station in Finland gave 193 m cells for 200 m."""
    with pytest.raises(CRSError) as info:
        metric_crs(_helsinki(), crs="EPSG:26910", source="helsinki.toml")
    msg = str(info.value)
    assert msg.startswith("helsinki.toml: crs.metric 'EPSG:26910' (NAD83 / UTM zone 10N) is ")
    assert "meant for North America - between 126°W and 120°W" in msg
    assert "(longitude -126..-119.99, latitude 30.54..81.8)" in msg
    assert "but the data lie at longitude 24.94..24.96, latitude 60.17..60.18" in msg
    assert "(lengths off by 3.6 % there)" in msg
    assert 'set crs.metric = "EPSG:32635" (WGS 84 / UTM zone 35N)' in msg
    assert metric_crs(_helsinki(), crs="EPSG:32635").to_epsg() == 32635
    assert metric_crs(_helsinki()).to_epsg() == 32635  # no crs.metric: the local zone


def test_data_reaching_past_the_area_of_use_warn():
    # Portland's UTM 10N (126-120W) for data from 121W to 118.5W: centre inside, east end not
    lines = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(-122.0, 45.5), (-118.5, 45.6)])], crs=4326
    )
    with pytest.warns(GridplanWarning, match=r"part of the data lies outside it \(the data lie"):
        assert metric_crs(lines, crs="EPSG:26910").to_epsg() == 26910
    near = gpd.GeoDataFrame(geometry=[shapely.Point(-119.5, 45.5)], crs=4326)
    assert metric_crs(near, crs="EPSG:26910").to_epsg() == 26910  # within 1 degree: quiet


def test_generating_a_grid_refuses_the_wrong_zone_and_keeps_200_m_cells():
    from gridplan.geo.generate import generate_grid
    from gridplan.station.config import config_from_mapping

    copied = config_from_mapping({"crs": {"metric": "EPSG:26910"}}, source="station.toml")
    with pytest.raises(CRSError, match=r"station.toml: crs.metric 'EPSG:26910'.*EPSG:32635"):
        generate_grid(_helsinki(), config=copied)
    own = config_from_mapping({"crs": {"metric": "EPSG:32635"}}, source="station.toml")
    grid = generate_grid(_helsinki(), config=own)
    sides = np.sqrt(grid[grid["level"] == "micro"].to_crs(32635).area)
    assert np.isclose(sides.max(), 200.0, rtol=1e-6)


def test_the_demo_station_keeps_its_utm_zone():
    from pathlib import Path

    from gridplan.geo.grid import load_grid
    from gridplan.station.config import load_config

    root = Path(__file__).parents[2]
    cfg = load_config(root / "data" / "station.toml")
    grid = load_grid(root / "data" / "boundaries" / "grid.geojson")
    assert cfg.metric_crs == "EPSG:26910"
    assert metric_crs(grid, crs=cfg.metric_crs, source=cfg.source).to_epsg() == 26910


@pytest.mark.parametrize(
    ("forward", "inverse"), [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)]
)
def test_chinese_datums_round_trip(forward, inverse):
    rng = np.random.default_rng(1)
    lon = rng.uniform(100, 122, 200)
    lat = rng.uniform(22, 42, 200)
    flon, flat = forward(lon, lat)
    # the obfuscation moves points by hundreds of metres in China ...
    geod = pyproj.Geod(ellps="WGS84")
    _, _, shift = geod.inv(lon, lat, flon, flat)
    assert np.median(shift) > 100
    # ... and the inverse brings them back within 10 cm
    blon, blat = inverse(flon, flat)
    _, _, err = geod.inv(lon, lat, blon, blat)
    assert err.max() < 0.1


def test_gcj02_known_point():
    # Tiananmen: WGS84 (116.391265, 39.907339) is shown by Amap at about (116.397510, 39.908740)
    lon, lat = wgs84_to_gcj02(np.array([116.391265]), np.array([39.907339]))
    assert abs(lon[0] - 116.39751) < 2e-4 and abs(lat[0] - 39.90874) < 2e-4
