"""Hostile and broken vector files: each gives a frame or an InputError naming the problem.

The files are made here, small: a GeoPackage whose layer is a recursive view, zip bombs,
path-traversal and crowded zips, VRT and DOCTYPE XML in disguise, deep JSON, unclosed rings.
"""

import json
import sqlite3
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from gridplan._errors import GridplanError
from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan.geo.grid import load_grid
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import GDAL_SAFE_OPTIONS
from gridplan.io.vector import MAX_JSON_DEPTH
from gridplan.io.vector import MAX_ZIP_MEMBERS
from gridplan.io.vector import json_depth
from gridplan.io.vector import list_layers
from gridplan.io.vector import read_vector

CLEAN = Path(__file__).parents[1] / "data" / "grid_clean.geojson"


def feature(coords, **props):
    geometry = {"type": "Polygon", "coordinates": coords}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def geojson(path, features, **extra):
    path.write_text(json.dumps({"type": "FeatureCollection", **extra, "features": features}))
    return path


SQUARE = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]


@pytest.fixture
def gpkg(tmp_path):
    """The clean grid as a GeoPackage with one layer ``grid``."""
    path = tmp_path / "grid.gpkg"
    pyogrio.write_dataframe(gpd.read_file(CLEAN), path, layer="grid", driver="GPKG")
    return path


def add_view(path, name, select):
    """Register a view ``name`` as a feature layer of the GeoPackage."""
    with sqlite3.connect(path) as con:
        con.execute(f"CREATE VIEW {name} AS {select}")
        con.execute(
            "INSERT INTO gpkg_contents(table_name, data_type, identifier, srs_id) "
            "VALUES (?, 'features', ?, 4326)",
            (name, name),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', 4326, 0, 0)", (name,)
        )
    return path


RECURSIVE = (
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
    "SELECT r.x AS fid, g.geom AS geom, g.id AS id, g.level AS level FROM r, grid g"
)


def test_a_recursive_view_is_refused_within_the_time_limit(gpkg):
    add_view(gpkg, "endless", RECURSIVE)
    start = time.monotonic()
    with pytest.raises(InputError, match=r"grid\.gpkg: layer 'endless' is a view .* within 1 s"):
        read_vector(gpkg, layer="endless", limits=ReadLimits(max_seconds=1))
    with pytest.raises(InputError, match="export the layer as a table"):
        list_layers(gpkg, limits=ReadLimits(max_seconds=1))
    with pytest.raises(InputError, match="endless"):
        load_grid(gpkg, limits=ReadLimits(max_seconds=1))
    assert time.monotonic() - start < 20


def test_a_view_gets_its_own_short_budget_whatever_the_time_limit(gpkg, monkeypatch):
    # a table is counted in a moment; a view that has not ended after VIEW_SECONDS never will
    import gridplan.io.vector as vector

    monkeypatch.setattr(vector, "VIEW_SECONDS", 1.0)
    add_view(gpkg, "endless", RECURSIVE)
    start = time.monotonic()
    with pytest.raises(InputError, match=r"layer 'endless' is a view .* within 1 s"):
        read_vector(gpkg, layer="endless")  # the default limits: 120 s
    assert time.monotonic() - start < 10
    assert vector.ReadLimits().max_seconds > 1


def test_a_view_over_the_row_limit_is_refused_before_gdal(gpkg):
    endless = (
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
        "SELECT x AS fid, (SELECT geom FROM grid LIMIT 1) AS geom, 'S' AS id FROM r"
    )
    add_view(gpkg, "endless", endless)
    with pytest.raises(InputError, match=r"the number of rows \(1,001\) exceeds .*IMPORT_MAX_ROWS"):
        read_vector(gpkg, layer="endless", limits=ReadLimits(max_rows=1000))


def test_a_view_that_ends_is_read(gpkg):
    add_view(gpkg, "micro", "SELECT fid, geom, id, level FROM grid WHERE level = 'micro'")
    assert len(read_vector(gpkg, layer="micro")) == 10


def test_a_geopackage_table_over_the_row_limit_is_refused(gpkg):
    with pytest.raises(InputError, match=r"number of rows \(6\)"):
        read_vector(gpkg, limits=ReadLimits(max_rows=5))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84), "not a GeoPackage"),
        (lambda p: p.write_bytes(b"\x8f\x11" * 4096), "not a vector file GDAL can read"),
    ],
    ids=["truncated", "encrypted"],
)
def test_a_damaged_or_encrypted_geopackage_is_refused(tmp_path, make, message):
    path = tmp_path / "grid.gpkg"
    make(path)
    with pytest.raises(InputError, match=message):
        read_vector(path)


def test_a_cut_geopackage_is_refused(gpkg):
    data = gpkg.read_bytes()
    gpkg.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"grid\.gpkg"):
        read_vector(gpkg)


def test_a_plain_sqlite_database_is_not_a_geopackage(tmp_path):
    path = tmp_path / "plain.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match=r"not a GeoPackage \(a plain SQLite database"):
        list_layers(path)


def test_a_geopackage_with_a_foreign_virtual_table_is_refused(gpkg):
    with sqlite3.connect(gpkg) as con:
        con.execute("CREATE VIRTUAL TABLE words USING fts4(body)")
    with pytest.raises(InputError, match="virtual table of module fts4"):
        read_vector(gpkg)


def test_a_geopackage_with_too_many_layers_is_refused(gpkg, monkeypatch):
    import gridplan.io.vector as vector

    monkeypatch.setattr(vector, "MAX_LAYERS", 3)
    for k in range(4):
        add_view(gpkg, f"v{k}", "SELECT fid, geom, id FROM grid")
    with pytest.raises(InputError, match="has 5 layers, more than 3"):
        list_layers(gpkg)


def zip_with(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_gdal_unpacks_it(tmp_path):
    path = tmp_path / "grid.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("grid.geojson", "w", force_zip64=True) as fh:
            fh.write(b'{"type": "FeatureCollection", "features": [' + b" " * (64 << 20) + b"]}")
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match="compression bomb"):
        read_vector(path)
    with pytest.raises(InputError, match="unpacked size"):
        list_layers(path, limits=ReadLimits(max_bytes=1 << 20))


def test_a_file_over_the_byte_limit_is_refused(tmp_path):
    path = geojson(tmp_path / "grid.geojson", [feature(SQUARE, id="S")] * 50)
    with pytest.raises(InputError, match=r"grid\.geojson: the unpacked size .* IMPORT_MAX_MB"):
        read_vector(path, limits=ReadLimits(max_bytes=1000))


def test_features_and_vertices_are_counted_against_the_limits(tmp_path):
    path = geojson(tmp_path / "grid.geojson", [feature(SQUARE, id=str(k)) for k in range(5)])
    assert len(read_vector(path, limits=ReadLimits(max_rows=5, max_vertices=25))) == 5
    with pytest.raises(InputError, match=r"number of rows \(5\)"):
        read_vector(path, limits=ReadLimits(max_rows=4))
    with pytest.raises(InputError, match=r"number of vertices \(25\).*IMPORT_MAX_VERTICES"):
        read_vector(path, limits=ReadLimits(max_vertices=24))


def test_a_polygon_of_a_million_vertices_is_refused_by_the_vertex_limit(tmp_path):
    angle = np.linspace(0, 2 * np.pi, 1_000_000, endpoint=False)
    ring = np.column_stack([np.cos(angle), np.sin(angle)]).round(7).tolist()
    path = geojson(tmp_path / "big.geojson", [feature([[*ring, ring[0]]])])
    with pytest.raises(InputError, match=r"number of vertices \(1,000,001\)"):
        read_vector(path, limits=ReadLimits(max_vertices=1_000_000))


@pytest.mark.parametrize("name", ["../../x.shp", "/etc/x.shp", "a/../../x.shp", "..\\x.shp"])
def test_zip_members_that_leave_the_archive_are_refused(tmp_path, name):
    path = zip_with(tmp_path / "grid.zip", {name: b"\x00\x00\x27\x0a"})
    with pytest.raises(InputError, match=r"absolute path or '\.\.'"):
        read_vector(path)


def test_a_zip_of_thousands_of_members_is_refused(tmp_path):
    members = {f"f{k}.txt": b"" for k in range(MAX_ZIP_MEMBERS + 1)}
    path = zip_with(tmp_path / "grid.zip", members)
    with pytest.raises(InputError, match=f"holds {MAX_ZIP_MEMBERS + 1} files"):
        read_vector(path)


def write_shapefile(folder, name="grid"):
    pyogrio.write_dataframe(gpd.read_file(CLEAN), folder / f"{name}.shp", driver="ESRI Shapefile")
    return folder / f"{name}.shp"


def test_a_shapefile_without_its_dbf_is_refused(tmp_path):
    shp = write_shapefile(tmp_path)
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(InputError, match=r"grid\.shp: the Shapefile has no \.dbf"):
        read_vector(shp)
    members = {p.name: p.read_bytes() for p in tmp_path.glob("grid.*")}
    archive = zip_with(tmp_path / "grid.zip", members)
    with pytest.raises(InputError, match=r"grid\.zip/grid\.shp: the Shapefile has no \.dbf"):
        read_vector(archive)


def test_a_shapefile_with_a_garbage_prj_is_refused(tmp_path):
    shp = write_shapefile(tmp_path)
    shp.with_suffix(".prj").write_text("GARBAGE[[[ not a CRS")
    with pytest.raises(InputError, match=r"\.prj of the Shapefile is not a coordinate reference"):
        read_vector(shp)


def test_a_zip_member_that_is_not_what_its_name_says_is_refused(tmp_path):
    vrt = b"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/etc/passwd"
    path = zip_with(tmp_path / "grid.zip", {"grid.shp": vrt, "grid.dbf": b""})
    with pytest.raises(InputError, match="GDAL virtual file"):
        read_vector(path)


def test_a_zipped_geopackage_must_be_unzipped_first(tmp_path, gpkg):
    path = zip_with(tmp_path / "grid.zip", {"grid.gpkg": gpkg.read_bytes()})
    with pytest.raises(InputError, match="unzip it"):
        read_vector(path)


VRT = """<OGRVRTDataSource>
  <OGRVRTLayer name="passwd"><SrcDataSource>CSV:/etc/passwd</SrcDataSource></OGRVRTLayer>
</OGRVRTDataSource>"""


@pytest.mark.parametrize("name", ["grid.json", "grid.geojson", "grid.gml", "grid.kml", "x.vrt"])
def test_a_vrt_is_refused_whatever_its_name(tmp_path, name):
    path = tmp_path / name
    path.write_text(VRT)
    with pytest.raises(InputError, match=r"GDAL virtual file \(VRT\)"):
        read_vector(path)
    with pytest.raises(InputError, match="VRT"):
        list_layers(path)


XXE = """<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&x;</name>
<Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates>
</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"""


@pytest.mark.parametrize("name", ["grid.kml", "grid.gml"])
def test_xml_with_a_doctype_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_text(XXE)
    with pytest.raises(InputError, match="DOCTYPE"):
        read_vector(path)


def test_kml_without_a_doctype_is_read(tmp_path):
    path = tmp_path / "grid.kml"
    path.write_text(XXE.replace(XXE.splitlines()[1], "").replace("&x;", "S01"))
    gdf = read_vector(path)
    assert gdf.geometry.iloc[0].geom_type == "Polygon"


def test_gdal_is_told_to_fetch_nothing():
    read_vector(CLEAN)
    assert pyogrio.get_gdal_config_option("GML_SKIP_RESOLVE_ELEMS") == "ALL"
    assert pyogrio.get_gdal_config_option("GML_DOWNLOAD_WFS_SCHEMA") == "NO"
    assert pyogrio.get_gdal_config_option("LIBKML_EXTERNAL_STYLE") == "NO"
    assert pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS") == ".gridplan-never"
    assert set(GDAL_SAFE_OPTIONS) >= {"GML_SKIP_RESOLVE_ELEMS", "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS"}


def test_json_nested_100000_levels_is_refused_without_recursion(tmp_path):
    path = tmp_path / "deep.geojson"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match=f"nested more than {MAX_JSON_DEPTH} levels"):
        read_vector(path)


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth(b'{"a": "[[[{{{", "b": [[1], {"c": "\\"]]"}]}') == 3
    assert json_depth(b"[" * 10_000 + b"]" * 10_000) == 10_000
    assert json_depth(b"17") == 0


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "name", "properties": {"name": "EPSG:999999"}},
        {"type": "name", "properties": {"name": "/etc/passwd"}},
        {"type": "link", "properties": {"href": "http://127.0.0.1:9/x.prj", "type": "wkt"}},
    ],
    ids=["unknown", "file", "link"],
)
def test_a_geojson_crs_member_that_is_not_a_known_crs_is_refused(tmp_path, crs):
    path = geojson(tmp_path / "grid.geojson", [feature(SQUARE, id="S")], crs=crs)
    with pytest.raises(InputError, match=r'grid\.geojson: the GeoJSON\'s "crs" member .*\(--crs\)'):
        read_vector(path)


def test_a_geojson_crs_member_naming_a_known_crs_is_read(tmp_path):
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}}
    path = geojson(tmp_path / "grid.geojson", [feature(SQUARE, id="S")], crs=crs)
    assert read_vector(path).crs.to_epsg() == 4547


def test_unclosed_and_short_rings_are_reported_per_feature_not_raised(tmp_path):
    features = [
        feature(SQUARE, id="ok"),
        feature([[[0, 0], [1, 0], [1, 1], [0, 1]]], id="open"),
        feature([[[0, 0]]], id="point"),
    ]
    path = geojson(tmp_path / "grid.geojson", features)
    with pytest.warns(GridplanWarning, match=r"2 feature\(s\) had a broken geometry") as caught:
        gdf = read_vector(path)
    text = str(caught[0].message)
    assert "#2 (a ring does not end where it starts)" in text
    assert "#3 (a line or ring has too few points)" in text
    assert gdf.geometry.iloc[1].equals(shapely.Polygon(SQUARE[0]))
    assert gdf.geometry.iloc[2] is None
    assert [n for n, _ in gdf.attrs["broken_geometries"]] == [2, 3]


def test_huge_coordinates_give_a_frame_or_an_input_error(tmp_path):
    ring = [[[0, 0], [1e308, 0], [1e308, 1e308], [0, 1e308], [0, 0]]]
    path = geojson(tmp_path / "grid.geojson", [feature(ring, id="S", level="station")])
    assert len(read_vector(path)) == 1
    with pytest.raises(GridplanError, match=r"coordinates reach x=1e\+308, y=1e\+308"):
        load_grid(path)
