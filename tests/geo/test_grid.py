import itertools
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from _grids import assert_same_grid
from shapely.geometry import box

from gridplan._errors import CRSError
from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan._validate import GRID_COLUMNS
from gridplan.geo.grid import load_grid
from gridplan.geo.validate import validate_grid
from gridplan.io.results import write_grid

DATA = Path(__file__).parents[1] / "data"
CLEAN = DATA / "grid_clean.geojson"


@pytest.fixture(scope="module")
def clean():
    """The 1+5+10 lon/lat grid near Hangzhou: S01, S01-B1..B5, two micro-grids per base."""
    return load_grid(CLEAN)


def frame(records, crs="EPSG:4326"):
    """A GeoDataFrame from (properties dict, geometry) pairs, every column kept as text."""
    props = pd.DataFrame([r[0] for r in records]).astype(object)
    return gpd.GeoDataFrame(props, geometry=[r[1] for r in records], crs=crs)


def write_geojson(gdf, path):
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON")
    return path


def zip_shapefile(gdf, folder, name="grid", **kwargs):
    shp = folder / f"{name}.shp"
    pyogrio.write_dataframe(gdf, shp, driver="ESRI Shapefile", **kwargs)
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.glob(f"{name}.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    return archive


def as_records(grid, rename=None, levels=None):
    rename = rename or {}
    out = []
    for row in grid.itertuples():
        props = {
            rename.get("id", "id"): row.id,
            rename.get("level", "level"): (levels or {}).get(row.level, row.level),
            rename.get("parent_id", "parent_id"): row.parent_id,
            rename.get("name", "name"): row.name,
        }
        out.append((props, row.geometry))
    return out


# -- convention (a): one layer with a level column ---------------------------------------------


def test_load_clean_geojson_gives_the_canonical_frame(clean):
    assert list(clean.columns) == list(GRID_COLUMNS)
    assert clean.crs == "EPSG:4326"
    assert clean["level"].tolist() == ["station"] + ["base"] * 5 + ["micro"] * 10
    assert clean["id"].iloc[:3].tolist() == ["S01", "S01-B1", "S01-B2"]
    assert clean["parent_id"].iloc[0] is None
    assert clean.loc[clean["id"] == "S01-B3-M002", "parent_id"].item() == "S01-B3"
    assert clean["name"].iloc[0] == "和平社区警务室"
    assert set(clean.geom_type) == {"Polygon"}


def test_chinese_headers_levels_and_leading_zeros():
    grid = load_grid(DATA / "grid_zh.geojson")
    assert grid["id"].iloc[:3].tolist() == ["01", "0101", "0102"]
    assert grid["level"].value_counts().to_dict() == {"micro": 10, "base": 5, "station": 1}
    assert grid.loc[grid["id"] == "0105002", "parent_id"].item() == "0105"
    assert grid.loc[grid["id"] == "0101", "name"].item() == "第1基础网格"
    assert validate_grid(grid).ok


def test_english_aliases_and_rows_reordered(clean, tmp_path):
    levels = {"station": "Police Station", "base": "Basic Grid", "micro": "Micro-grid"}
    records = as_records(
        clean,
        rename={"id": "Code", "level": "TYPE", "parent_id": "Parent", "name": "Grid Name"},
        levels=levels,
    )
    path = write_geojson(frame(records[::-1]), tmp_path / "en.geojson")
    grid = load_grid(path)
    assert grid["level"].tolist() == ["station"] + ["base"] * 5 + ["micro"] * 10
    assert set(grid["id"]) == set(clean["id"])
    assert grid["name"].iloc[0] == "和平社区警务室"


def test_numeric_ids_become_text_without_decimals(tmp_path):
    records = [
        ({"id": 7, "level": "station", "parent_id": None}, box(0, 0, 2, 1)),
        ({"id": 71, "level": "base", "parent_id": 7}, box(0, 0, 1, 1)),
        ({"id": 72, "level": "base", "parent_id": 7.0}, box(1, 0, 2, 1)),
    ]
    gdf = gpd.GeoDataFrame(
        pd.DataFrame([r[0] for r in records]), geometry=[r[1] for r in records], crs=4326
    )
    grid = load_grid(write_geojson(gdf, tmp_path / "n.geojson"))
    assert grid["id"].tolist() == ["7", "71", "72"]
    assert grid["parent_id"].tolist() == [None, "7", "7"]
    assert grid["name"].tolist() == ["7", "71", "72"]  # no name column: the id is the name


def test_columns_mapping_for_unknown_headers(clean, tmp_path):
    records = as_records(
        clean, rename={"id": "GRID_CD", "level": "LVL", "parent_id": "UP", "name": "NM"}
    )
    path = write_geojson(frame(records), tmp_path / "odd.geojson")
    with pytest.raises(
        InputError,
        match=r"missing required column\(s\) id, level; found GRID_CD, LVL, UP, NM; expected id",
    ) as info:
        load_grid(path)
    assert "columns=" in str(info.value)
    grid = load_grid(
        path, columns={"id": "GRID_CD", "level": "LVL", "parent_id": "UP", "name": "NM"}
    )
    assert_same_grid(grid, clean)
    with pytest.raises(InputError, match="has no such column"):
        load_grid(path, columns={"id": "CODE"})


def test_non_polygon_feature_is_named(clean, tmp_path):
    records = as_records(clean)
    records[7] = (records[7][0], records[7][1].centroid)
    with pytest.raises(
        InputError, match=r"'S01-B1-M002' \(feature #8, Point\) is not; keep only the area"
    ):
        load_grid(write_geojson(frame(records), tmp_path / "pt.geojson"))


def test_unknown_level_value_shows_value_and_allowed(clean, tmp_path):
    records = as_records(clean)
    records[3][0]["level"] = "社区"
    with pytest.raises(
        InputError,
        match=r"unknown value\(s\) in column 'level': '社区' \(feature 'S01-B3'\); allowed: st",
    ):
        load_grid(write_geojson(frame(records), tmp_path / "lv.geojson"))


def test_missing_id_is_an_error(clean, tmp_path):
    records = as_records(clean)
    records[2][0]["id"] = None
    with pytest.raises(InputError, match=r"feature\(s\) #3 have an empty 'id'"):
        load_grid(write_geojson(frame(records), tmp_path / "noid.geojson"))


def test_duplicate_ids_load_and_are_left_to_validation(clean, tmp_path):
    records = as_records(clean)
    records[15][0]["id"] = "S01-B5-M001"
    grid = load_grid(write_geojson(frame(records), tmp_path / "dup.geojson"))
    assert [i.code for i in validate_grid(grid).errors] == ["duplicate_id"]


# -- CRS ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_shapefile_without_prj_needs_a_crs(clean, tmp_path):
    utm = clean.to_crs("EPSG:32651")
    archive = zip_shapefile(frame(as_records(utm), crs=None), tmp_path)
    with zipfile.ZipFile(archive) as zf:
        assert not any(n.endswith(".prj") for n in zf.namelist())
    with pytest.raises(CRSError, match=r"grid\.zip.*no coordinate reference system; pass .*crs="):
        load_grid(archive)
    grid = load_grid(archive, crs="EPSG:32651")
    assert grid.crs == "EPSG:4326"
    assert_same_grid(grid, clean)


def test_metres_in_a_lonlat_file_are_caught(clean, tmp_path):
    utm = clean.to_crs("EPSG:32651").set_crs("EPSG:4326", allow_override=True)
    path = tmp_path / "wrong.gpkg"
    pyogrio.write_dataframe(frame(as_records(utm)), path, layer="grid")
    with pytest.raises(CRSError, match=r"coordinates reach x=\d+, y=\d+, which are metres"):
        load_grid(path)
    assert_same_grid(load_grid(path, crs="EPSG:32651"), clean)


def test_zipped_shapefile_with_chinese_names_in_cgcs2000(tmp_path):
    zh = load_grid(DATA / "grid_zh.geojson")
    gk = zh.to_crs("EPSG:4549")  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
    levels = {"station": "辖区", "base": "基础网格", "micro": "微网格"}
    rename = {"id": "编号", "level": "层级", "parent_id": "上级", "name": "名称"}
    archive = zip_shapefile(
        frame(as_records(gk, rename, levels), crs="EPSG:4549"), tmp_path, encoding="UTF-8"
    )
    grid = load_grid(archive)
    assert grid.crs == "EPSG:4326"
    assert grid["name"].tolist() == zh["name"].tolist()
    assert grid["id"].tolist() == zh["id"].tolist()
    assert grid["parent_id"].tolist() == zh["parent_id"].tolist()
    assert_same_grid(grid, zh)


# -- unreadable files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.geojson", b"", "the file is empty"),
        ("notes.txt", "网格说明：第一网格\n".encode(), "not a vector file GDAL can read"),
        ("map.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a vector file GDAL can read"),
        ("table.json", b'{"rows": [1, 2]}', "valid JSON but not GeoJSON"),
    ],
)
def test_files_that_are_not_geodata(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_grid(path)


def test_broken_json_names_the_place():
    with pytest.raises(
        InputError, match=r"grid_broken\.geojson: broken JSON at line \d+, column \d+"
    ):
        load_grid(DATA / "grid_broken.geojson")


def test_missing_file():
    with pytest.raises(InputError, match="file not found"):
        load_grid(DATA / "no_such_grid.geojson")


# -- convention (b): one layer per level -----------------------------------------------------


def _level_frames(grid, *, parents=True):
    out = {}
    for level in ("station", "base", "micro"):
        part = grid[grid["level"] == level].drop(columns="level")
        if not parents or level == "station":
            part = part.drop(columns="parent_id")
        out[level] = part.reset_index(drop=True)
    return out


def test_geopackage_three_layers_with_derived_parents(clean, tmp_path):
    path = tmp_path / "three.gpkg"
    names = {"station": "辖区", "base": "基础网格", "micro": "微网格"}
    for level, part in _level_frames(clean, parents=False).items():
        pyogrio.write_dataframe(
            part.to_crs("EPSG:32651"), path, layer=names[level], append=path.exists()
        )
    with pytest.warns(
        GridplanWarning, match=r"10 grid\(s\) had no parent_id.*S01-B1-M001 -> S01-B1"
    ):
        grid = load_grid(path)
    assert_same_grid(grid, clean)
    assert len(grid.attrs["derived_parent_ids"]) == 10


def test_three_files_by_level(clean, tmp_path):
    paths = {}
    for level, part in _level_frames(clean).items():
        paths[level] = write_geojson(part, tmp_path / f"{level}.geojson")
    grid = load_grid(None, layers=paths)
    assert_same_grid(grid, clean)
    assert grid.attrs["derived_parent_ids"] == ()


def test_layers_by_name_and_an_ambiguous_geopackage(clean, tmp_path):
    path = tmp_path / "many.gpkg"
    for name, part in zip(("a", "b", "c"), _level_frames(clean).values(), strict=True):
        pyogrio.write_dataframe(part, path, layer=name, append=path.exists())
    pyogrio.write_dataframe(clean, path, layer="all_grids", append=True)
    with pytest.raises(InputError, match=r"has 4 layers \(a, b, c, all_grids\); pass layer="):
        load_grid(path)
    assert_same_grid(load_grid(path, layer="all_grids"), clean)
    grid = load_grid(path, layers={"station": "a", "base": "b", "micro": "c"})
    assert_same_grid(grid, clean)
    with pytest.raises(InputError, match="has no layer 'zzz'"):
        load_grid(path, layer="zzz")


def test_layers_need_station_and_base(tmp_path):
    with pytest.raises(InputError, match="'station', 'base'"):
        load_grid(None, layers={"micro": tmp_path / "m.geojson"})


# -- writing ---------------------------------------------------------------------------------


def test_geojson_round_trip(clean, tmp_path):
    path = write_grid(clean, tmp_path / "out.geojson")
    assert_same_grid(load_grid(path), clean)


@pytest.mark.parametrize("three_layers", [False, True])
def test_geopackage_round_trip(clean, tmp_path, three_layers):
    path = write_grid(clean.to_crs("EPSG:32651"), tmp_path / "out.gpkg", three_layers=three_layers)
    expected = ["station", "base", "micro"] if three_layers else ["grid"]
    # plus the QGIS styles of those layers (gridplan.io.styles)
    assert [name for name, _ in pyogrio.list_layers(path)] == [*expected, "layer_styles"]
    assert_same_grid(load_grid(path), clean)
    write_grid(clean, path)  # an existing file is replaced, not appended to
    assert [name for name, _ in pyogrio.list_layers(path)] == ["grid", "layer_styles"]


def _signed_area(ring):
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def test_written_geojson_follows_rfc7946(clean, tmp_path):
    grid = clean.to_crs("EPSG:32651")
    station = grid.geometry.iloc[0]
    holed = shapely.Polygon(station.exterior, [station.centroid.buffer(30).exterior])
    geoms = grid.geometry.to_numpy().copy()
    geoms[0] = holed
    grid["geometry"] = shapely.orient_polygons(geoms, exterior_cw=True)  # the wrong way round
    path = write_grid(grid, tmp_path / "rfc.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc
    assert len(doc["features"]) == 16
    rings = 0
    for feature in doc["features"]:
        exterior, *holes = feature["geometry"]["coordinates"]
        assert _signed_area(exterior) > 0  # counter-clockwise
        assert all(_signed_area(h) < 0 for h in holes)  # clockwise
        assert all(120 < x < 121 and 30 < y < 31 for x, y in exterior)  # lon, lat order
        rings += 1 + len(holes)
    assert rings == 17
    assert doc["features"][0]["properties"] == {
        "id": "S01",
        "level": "station",
        "parent_id": None,
        "name": "和平社区警务室",
    }


def test_write_grid_rejects_bad_targets(clean, tmp_path):
    with pytest.raises(InputError, match=r"unknown suffix '\.shp'"):
        write_grid(clean, tmp_path / "g.shp")
    with pytest.raises(InputError, match="three layers need a GeoPackage"):
        write_grid(clean, tmp_path / "g.geojson", three_layers=True)
    with pytest.raises(InputError, match="lacks column"):
        write_grid(clean.drop(columns="level"), tmp_path / "g.geojson")


def test_null_geometry_and_z_coordinates(tmp_path):
    doc = json.loads(CLEAN.read_text(encoding="utf-8"))
    for feature in doc["features"]:
        rings = feature["geometry"]["coordinates"]
        feature["geometry"]["coordinates"] = [[[x, y, 12.5] for x, y in ring] for ring in rings]
    doc["features"][3]["geometry"] = None
    path = tmp_path / "z.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    grid = load_grid(path)
    assert len(grid) == 16
    assert not grid.has_z.any()
    assert grid.geometry.isna().tolist() == [False] * 3 + [True] + [False] * 12
    report = validate_grid(grid)
    assert ("empty_geometry", "S01-B3") in [(i.code, i.feature_id) for i in report.errors]


def test_micro_grids_is_the_one_gate_for_per_micro_grid_stages():
    from gridplan.geo.grid import micro_grids

    grid = load_grid(DATA / "grid_clean.geojson")
    micro = micro_grids(grid)
    assert set(micro["level"]) == {"micro"} and list(micro.index) == list(range(len(micro)))
    with pytest.raises(InputError, match="grid has no micro-grids"):
        micro_grids(grid[grid["level"] != "micro"])
    twice = pd.concat([grid, grid[grid["level"] == "micro"].iloc[:1]])
    with pytest.raises(InputError, match="repeated micro-grid ids"):
        micro_grids(twice)
    with pytest.raises(InputError, match="lacks column"):
        micro_grids(grid.drop(columns="level"))
