"""Every export, opened by real GIS readers: GDAL's ogrinfo, QGIS, and gridplan itself.

The data is the demo station S01 as the web UI's test store holds it (grid, 47,907 incidents,
hot spots and a plan, built once per session by ``tests/_web.py``). Each export must show the
expected layers, feature counts, field types and CRS in ``ogrinfo`` (Debian ``gdal-bin``);
the styled ones must open styled in QGIS (Debian ``python3-qgis``); grids, hot spots and plans
must read back into gridplan unchanged.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pyogrio
import pytest
import shapely
from _grids import assert_same_grid
from _ogr import ogrinfo
from _qgis import qgis_layers
from _web import PASSWORD
from _web import csrf_token

from gridplan import InputError
from gridplan import export_plan
from gridplan import load_grid
from gridplan import load_plan
from gridplan import read_hotspots
from gridplan import save_plan
from gridplan import write_csv
from gridplan import write_grid
from gridplan import write_hotspots
from gridplan import write_incidents
from gridplan._validate import GI_CLASSES
from gridplan.io.planfile import plan_to_dict
from gridplan.io.styles import STYLE_NAME
from gridplan.io.styles import grid_style
from gridplan.io.styles import write_gpkg_styles
from gridplan.maps.palette import GI_COLOURS
from gridplan.maps.palette import PATROLLER_COLOURS
from gridplan.routing.check import check_plan
from gridplan.web import store

GRID_FIELDS = {"id": "String", "level": "String", "parent_id": "String", "name": "String"}
HOTSPOT_FIELDS = {
    "id": "String",
    "name": "String",
    "parent_id": "String",
    "slice": "String",
    "count": "Integer64",
    "area_km2": "Real",
    "density_km2": "Real",
    "score": "Real",
    "share": "Real",
    "score_share": "Real",
    "rank": "Integer64",
    "gi_z": "Real",
    "gi_p": "Real",
    "gi_p_sim": "Real",
    "gi_p_fdr": "Real",
    "expected": "Real",
    "excess_p": "Real",
    "excess_p_fdr": "Real",
    "gi_class": "String",
}
INCIDENT_FIELDS = {
    "id": "String",
    "time": "String",
    "category": "String",
    "alert": "String",
    "weight": "Real",
    "in_station": "Integer(Boolean)",
    "source_row": "Integer64",
}
ROUTE_FIELDS = {
    "date": "String",
    "slice": "String",
    "patroller_id": "String",
    "part": "Integer64",
    "name": "String",
    "role": "String",
    "mode": "String",
    "start": "String",
    "end": "String",
    "stops": "Integer64",
    "distance_m": "Real",
    "duration_s": "Integer64",
}
STOP_FIELDS = {
    "date": "String",
    "slice": "String",
    "patroller_id": "String",
    "part": "Integer64",
    "order": "Integer64",
    "micro_id": "String",
    "name": "String",
    "base_id": "String",
    "street": "String",
    "arrival": "String",
    "departure": "String",
    "dwell_min": "Real",
    "prize": "Integer64",
    "score": "Real",
    "risk_rank": "Integer64",
    "gi_class": "String",
    "risk_class": "String",
    "visit": "Integer64",
}


@pytest.fixture(scope="module")
def demo(web_store):
    """Grid, incidents, hot spots and plan of the demo station S01 from the web test store."""
    con = sqlite3.connect(web_store["database"])
    con.row_factory = sqlite3.Row
    try:
        grid = store.load_grid(con, store.latest_grid(con, "S01")["id"])
        hot = store.load_hotspots(con, store.latest_hotspot_run(con, "S01")["id"])
        incidents = store.load_incidents(con, "S01", "America/Los_Angeles")
        plan = store.plan_from_row(store.get_plan_row(con, web_store["plans"]["S01"], "S01"))
    finally:
        con.close()
    routes, stops = plan.to_geodataframes()
    return {
        "grid": grid,
        "hot": hot,
        "incidents": incidents,
        "plan": plan,
        "routes": routes[routes["stops"] > 0],
        "stops": stops,
    }


def assert_layer(layer, *, count, fields, geometry=None, epsg=4326):
    """ogrinfo's view of a layer: count, CRS and (at least) these fields with these types."""
    assert layer.count == count, f"{layer.name}: {layer.count} features, expected {count}"
    assert layer.epsg == epsg, f"{layer.name}: CRS EPSG:{layer.epsg}, expected EPSG:{epsg}"
    if geometry is not None:
        assert layer.geometry == geometry, f"{layer.name}: geometry {layer.geometry}"
    # GDAL's GeoJSON reader types whole numbers by their range (Integer or Integer64)
    got = {k: _whole(layer.fields.get(k)) for k in fields}
    assert got == {k: _whole(v) for k, v in fields.items()}, f"{layer.name}: types {got}"


def _whole(kind: str | None) -> str | None:
    return "Integer" if kind == "Integer64" else kind


# -- GDAL ------------------------------------------------------------------------------------


def test_grid_exports_read_by_gdal(demo, tmp_path):
    grid = demo["grid"]
    n = len(grid)
    one = ogrinfo(write_grid(grid, tmp_path / "grid.gpkg"))
    assert list(one) == ["grid", "layer_styles"]
    assert_layer(one["grid"], count=n, fields=GRID_FIELDS)
    assert one["layer_styles"].geometry == "None" and one["layer_styles"].count == 1

    three = ogrinfo(write_grid(grid, tmp_path / "three.gpkg", three_layers=True))
    assert list(three) == ["station", "base", "micro", "layer_styles"]
    for level in ("station", "base", "micro"):
        part = {k: v for k, v in GRID_FIELDS.items() if k != "level"}
        want = int((grid["level"] == level).sum())
        assert_layer(three[level], count=want, fields=part, geometry="Polygon")

    path = write_grid(grid, tmp_path / "grid.geojson")
    (layer,) = ogrinfo(path).values()
    assert_layer(layer, count=n, fields=GRID_FIELDS)
    assert (tmp_path / "grid.qml").is_file()  # QGIS's default style for grid.geojson
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc  # RFC 7946: WGS 84 longitude/latitude only

    (layer,) = ogrinfo(write_csv(grid, tmp_path / "grid.csv")).values()
    assert_layer(layer, count=n, fields=GRID_FIELDS | {"wkt": "String"}, epsg=None)
    assert layer.geometry == "Unknown (any)"  # GDAL's CSV driver reads the WKT column


def test_hotspot_exports_read_by_gdal(demo, tmp_path):
    hot = demo["hot"]
    for name in ("hot.gpkg", "hot.geojson"):
        layers = ogrinfo(write_hotspots(hot, tmp_path / name))
        assert_layer(layers["hotspots" if name.endswith("gpkg") else "hot"], count=len(hot),
                     fields=HOTSPOT_FIELDS)  # fmt: skip
    assert list(ogrinfo(tmp_path / "hot.gpkg")) == ["hotspots", "layer_styles"]
    (layer,) = ogrinfo(write_hotspots(hot, tmp_path / "hot.csv")).values()
    assert layer.count == len(hot) and "wkt" in layer.fields and layer.geometry != "None"


def test_incident_exports_read_by_gdal(demo, tmp_path):
    inc = demo["incidents"]
    layers = ogrinfo(write_incidents(inc, tmp_path / "inc.gpkg"))
    assert_layer(layers["incidents"], count=len(inc), fields=INCIDENT_FIELDS, geometry="Point")
    (layer,) = ogrinfo(write_incidents(inc, tmp_path / "inc.geojson")).values()
    # GDAL's GeoJSON reader recognises ISO 8601 text with an offset as a date-time
    fields = INCIDENT_FIELDS | {"time": "DateTime"}
    assert_layer(layer, count=len(inc), fields=fields, geometry="Point")
    path = write_incidents(inc, tmp_path / "inc.csv")
    (layer,) = ogrinfo(path, "X_POSSIBLE_NAMES=lon", "Y_POSSIBLE_NAMES=lat").values()
    assert layer.count == len(inc) and layer.geometry == "Point"


def test_plan_exports_read_by_gdal(demo, tmp_path):
    plan, routes, stops = demo["plan"], demo["routes"], demo["stops"]
    assert len(routes) > 1 and len(stops) > 5

    gpkg = ogrinfo(export_plan(plan, tmp_path / "day.gpkg"))
    assert list(gpkg) == ["routes", "stops", "plan", "layer_styles"]
    assert_layer(gpkg["routes"], count=len(routes), fields=ROUTE_FIELDS, geometry="Line String")
    assert_layer(gpkg["stops"], count=len(stops), fields=STOP_FIELDS, geometry="Point")
    assert gpkg["plan"].geometry == "None" and gpkg["plan"].count == 1
    assert gpkg["layer_styles"].count == 2

    (layer,) = ogrinfo(export_plan(plan, tmp_path / "day.geojson")).values()
    assert_layer(layer, count=len(routes) + len(stops), fields={"kind": "String"})

    gpx = ogrinfo(export_plan(plan, tmp_path / "day.gpx"))
    vertices = int(sum(len(g.coords) for g in routes.geometry))
    assert {k: v.count for k, v in gpx.items()} == {
        "waypoints": len(stops),
        "routes": len(routes),
        "tracks": len(routes),
        "route_points": len(stops),
        "track_points": vertices,
    }
    assert all(v.epsg == 4326 for v in gpx.values())

    path = export_plan(plan, tmp_path / "day.csv")
    (layer,) = ogrinfo(path, "X_POSSIBLE_NAMES=lon", "Y_POSSIBLE_NAMES=lat").values()
    assert layer.count == len(stops) and layer.geometry == "Point"
    assert {"patroller_id", "micro_id", "arrive", "leave", "street"} <= set(layer.fields)


def test_web_downloads_read_by_gdal(web_app, web_store, demo, tmp_path):
    client = web_app.test_client()
    token = csrf_token(client)
    form = {"username": "s01-analyst", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 302
    plan_id = web_store["plans"]["S01"]
    wanted = {
        "/downloads/grid.gpkg": {"grid": len(demo["grid"])},
        "/downloads/hotspots.gpkg": {"hotspots": len(demo["hot"])},
        f"/downloads/plans/{plan_id}.gpkg": {"routes": len(demo["routes"]),
                                             "stops": len(demo["stops"]), "plan": 1},
        f"/downloads/plans/{plan_id}.gpx": {"waypoints": len(demo["stops"])},
    }  # fmt: skip
    for url, counts in wanted.items():
        res = client.get(url)
        assert res.status_code == 200, url
        path = tmp_path / url.rsplit("/", 1)[1]
        path.write_bytes(res.data)
        layers = ogrinfo(path)
        assert {k: layers[k].count for k in counts} == counts, url
        assert all(layers[k].epsg == 4326 for k in counts if layers[k].geometry != "None")
        if path.suffix == ".gpkg":
            assert "layer_styles" in layers, f"{url} opens unstyled in QGIS"


# -- round trips -----------------------------------------------------------------------------


def _same_grid(a, b):
    """:func:`_grids.assert_same_grid`, whatever the row order."""
    assert_same_grid(
        a.sort_values("id").reset_index(drop=True), b.sort_values("id").reset_index(drop=True)
    )


@pytest.mark.parametrize("name", ["grid.geojson", "grid.gpkg", "three.gpkg"])
def test_grid_round_trip(demo, tmp_path, name):
    path = write_grid(demo["grid"], tmp_path / name, three_layers=name == "three.gpkg")
    _same_grid(load_grid(path), load_grid(write_grid(demo["grid"], tmp_path / "ref.geojson")))
    _same_grid(load_grid(path), demo["grid"])


@pytest.mark.parametrize("name", ["hot.geojson", "hot.gpkg", "hot.csv"])
def test_hotspot_round_trip(demo, tmp_path, name):
    hot = demo["hot"]
    back = read_hotspots(write_hotspots(hot, tmp_path / name))
    assert list(back.columns) == list(hot.columns)
    plain = [c for c in hot.columns if c != "geometry"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(back[plain]), pd.DataFrame(hot[plain]), check_dtype=False, rtol=1e-12
    )
    moved = shapely.hausdorff_distance(back.geometry.values, hot.to_crs(4326).geometry.values)
    assert float(moved.max()) < 1e-6


@pytest.mark.parametrize("name", ["day.gpkg", "day.plan.json"])
def test_plan_round_trip(demo, web_store, tmp_path, name):
    plan = demo["plan"]
    path = tmp_path / name
    export_plan(plan, path) if name.endswith(".gpkg") else save_plan(plan, path)
    back = load_plan(path)
    assert plan_to_dict(back) == plan_to_dict(plan)
    assert back.to_text() == plan.to_text()


def test_plan_geopackage_edited_in_gis_is_refused(demo, tmp_path):
    path = export_plan(demo["plan"], tmp_path / "day.gpkg")
    stops = pyogrio.read_dataframe(path, layer="stops")
    stops.loc[2, "arrival"] = "2024-06-08T09:99:00-07:00"
    pyogrio.write_dataframe(stops, path, layer="stops")
    with pytest.raises(InputError, match=r"day.gpkg: the map layers no longer match.*feature 3"):
        load_plan(path)


def test_partial_plan_geopackage_names_the_fix(demo, tmp_path):
    pid = demo["routes"]["patroller_id"].iloc[0]
    path = export_plan(demo["plan"], tmp_path / "one.gpkg", patroller=pid)
    assert "plan" not in ogrinfo(path)
    with pytest.raises(InputError, match=r"one.gpkg: .*part of a plan.*--format gpkg"):
        load_plan(path)


def test_plan_check_reads_the_geopackage(demo, tmp_path, web_store):
    from gridplan.network.graphs import load_network

    con = sqlite3.connect(web_store["database"])
    con.row_factory = sqlite3.Row
    network_path = store.latest_network(con, "S01")["path"]
    con.close()
    back = load_plan(export_plan(demo["plan"], tmp_path / "day.gpkg"))
    report = check_plan(back, load_network(network_path), grid=demo["grid"])
    assert report.ok, report.to_text()


# -- QGIS ------------------------------------------------------------------------------------


def test_exports_open_styled_in_qgis(demo, tmp_path):
    grid, hot, plan = demo["grid"], demo["hot"], demo["plan"]
    write_grid(grid, tmp_path / "grid.gpkg")
    write_grid(grid, tmp_path / "three.gpkg", three_layers=True)
    write_grid(grid, tmp_path / "grid.geojson")
    write_hotspots(hot, tmp_path / "hot.gpkg")
    write_hotspots(hot, tmp_path / "hot.geojson")
    write_incidents(demo["incidents"].iloc[:500], tmp_path / "inc.gpkg")
    export_plan(plan, tmp_path / "day.gpkg")
    uris = {
        "grid": f"{tmp_path}/grid.gpkg|layername=grid",
        "base": f"{tmp_path}/three.gpkg|layername=base",
        "micro": f"{tmp_path}/three.gpkg|layername=micro",
        "grid_json": f"{tmp_path}/grid.geojson",
        "hot": f"{tmp_path}/hot.gpkg|layername=hotspots",
        "hot_json": f"{tmp_path}/hot.geojson",
        "inc": f"{tmp_path}/inc.gpkg|layername=incidents",
        "routes": f"{tmp_path}/day.gpkg|layername=routes",
        "stops": f"{tmp_path}/day.gpkg|layername=stops",
    }
    seen = qgis_layers(*uris.values())
    q = {key: seen[uri] for key, uri in uris.items()}
    assert all(v["valid"] and v["crs"] == "EPSG:4326" for v in q.values()), q

    for key in ("grid", "grid_json"):  # one layer: outlines by level, base grids named
        assert q[key]["renderer"] == "categorizedSymbol" and q[key]["attribute"] == "level"
        assert [c[0] for c in q[key]["categories"]] == ["station", "base", "micro"]
        assert q[key]["labels"] and '"name"' in q[key]["label"]
    assert q["base"]["renderer"] == "singleSymbol" and q["base"]["label"] == '"name"'
    assert q["micro"]["count"] == int((grid["level"] == "micro").sum())

    slices = list(dict.fromkeys(hot["slice"]))
    for key in ("hot", "hot_json"):  # one group per slice, only the first switched on
        rules = q[key]["rules"]
        assert [r["active"] for r in rules] == [True] + [False] * (len(slices) - 1)
        assert [r["filter"] for r in rules] == [f"\"slice\" = '{s}'" for s in slices]
        colours = {c["filter"].split("'")[1]: c["colour"] for c in rules[0]["children"]}
        assert colours == {cls: GI_COLOURS[cls] for cls in GI_CLASSES}
    assert [r["filter"] for r in q["inc"]["rules"]][-1] == "ELSE"

    ids = sorted(set(demo["routes"]["patroller_id"]))
    for key in ("routes", "stops"):  # the web map's colour per patroller
        assert q[key]["attribute"] == "patroller_id"
        got = {c[0]: c[2] for c in q[key]["categories"]}
        assert got == {p: PATROLLER_COLOURS[k].lower() for k, p in enumerate(ids)}
    assert q["stops"]["labels"] and q["stops"]["label"] == '"order"'
    assert q["routes"]["count"] == len(demo["routes"])


def test_restyling_keeps_the_users_own_styles(demo, tmp_path):
    path = write_grid(demo["grid"], tmp_path / "grid.gpkg")
    styles = pyogrio.read_dataframe(path, layer="layer_styles")
    mine = styles.iloc[[0]].assign(styleName="my colours", styleQML="<qgis/>", useAsDefault=True)
    pyogrio.write_dataframe(pd.concat([styles, mine]), path, layer="layer_styles",
                            layer_options={"FID": "id"})  # fmt: skip
    write_gpkg_styles(path, {"grid": grid_style()})
    after = pyogrio.read_dataframe(path, layer="layer_styles")
    assert sorted(after["styleName"]) == sorted([STYLE_NAME, "my colours"])
    default = after[after["useAsDefault"].astype(bool)]
    assert list(default["styleName"]) == [STYLE_NAME]  # ours is the default, theirs is kept
