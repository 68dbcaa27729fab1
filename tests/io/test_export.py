import json
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridplan import InputError
from gridplan.io.export import write_csv
from gridplan.io.export import write_geodata


@pytest.fixture
def gdf_cw():
    """Two polygons in a metric CRS, the first with a clockwise exterior ring."""
    cw = shapely.Polygon([(0, 0), (0, 100), (100, 100), (100, 0)])
    ccw = shapely.box(100, 0, 200, 100)
    return gpd.GeoDataFrame(
        {
            "id": ["M001", "M002"],
            "name": ["东街", "西街"],
            "time": pd.to_datetime(["2024-03-05 14:30", "2024-03-06 02:00"]).tz_localize(
                "Asia/Shanghai"
            ),
        },
        geometry=[cw, ccw],
        crs="EPSG:32650",
    )


def test_geojson_is_rfc7946(tmp_path, gdf_cw):
    p = write_geodata(gdf_cw, tmp_path / "out.geojson")
    doc = json.loads(p.read_text(encoding="utf-8"))
    assert "crs" not in doc
    for feat in doc["features"]:
        ring = shapely.LinearRing(feat["geometry"]["coordinates"][0])
        assert ring.is_ccw, "RFC 7946 wants counter-clockwise exterior rings"
        lon, lat = feat["geometry"]["coordinates"][0][0]
        assert 100 < lon < 130 and 0 <= lat < 10  # lon/lat order, WGS84 (UTM 50N at the equator)
    assert doc["features"][0]["properties"]["name"] == "东街"
    assert doc["features"][0]["properties"]["time"] == "2024-03-05T14:30:00+08:00"
    assert gdf_cw.geometry.iloc[0].exterior.is_ccw is False  # input not mutated


def test_geopackage_keeps_srs_and_other_layers(tmp_path, gdf_cw):
    p = tmp_path / "out.gpkg"
    write_geodata(gdf_cw, p, layer="a")
    write_geodata(gdf_cw.iloc[:1], p, layer="b")
    # GDAL's own reader (Debian gdal-bin, installed by the README test command) sees it
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(p), "a"], capture_output=True, text=True, check=True
    )
    assert "Feature Count: 2" in info.stdout and "WGS 84" in info.stdout
    back = gpd.read_file(p, layer="b")
    assert len(back) == 1 and back.crs.to_epsg() == 4326


def test_csv_has_bom_and_wkt(tmp_path, gdf_cw):
    p = write_csv(gdf_cw, tmp_path / "out.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(p, encoding="utf-8-sig")
    assert list(table.columns) == ["id", "name", "time", "wkt"]
    assert shapely.from_wkt(table["wkt"][0]).geom_type == "Polygon"


def test_unknown_suffix(tmp_path, gdf_cw):
    with pytest.raises(InputError, match=r"\.shp.*use \.geojson or \.gpkg"):
        write_geodata(gdf_cw, tmp_path / "out.shp")
