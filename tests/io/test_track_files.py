"""write_fixes, write_track_rejects and write_compliance: files that read back and open in GIS."""

import pandas as pd
import pyogrio
import pytest
from _tracks import LATTICE_CRS
from _tracks import lattice_day
from _tracks import plan_fixes

from gridplan import InputError
from gridplan.io.csvsafe import unescape_cell
from gridplan.io.track_files import compliance_paths
from gridplan.io.track_files import write_compliance
from gridplan.io.track_files import write_fixes
from gridplan.io.track_files import write_track_rejects
from gridplan.tracks.compliance import compute_compliance
from gridplan.tracks.fixes import import_track


@pytest.fixture(scope="module")
def report():
    plan, grid, _ = lattice_day()
    fixes = plan_fixes(plan, LATTICE_CRS, every_s=10)
    return compute_compliance(plan, fixes, grid), grid, fixes


@pytest.mark.parametrize("suffix", [".csv", ".gpkg", ".geojson"])
def test_fixes_read_back_to_the_same_fixes(report, tmp_path, suffix):
    _, _, fixes = report
    fixes = fixes.assign(patroller=fixes["patroller"].replace({"P1": "=HYPERLINK(1)"}))
    out = write_fixes(fixes, tmp_path / f"fixes{suffix}")
    back = import_track(out, mode="car").fixes
    mine = fixes.sort_values(["patroller", "time"], kind="stable").reset_index(drop=True)
    assert back["patroller"].tolist() == mine["patroller"].tolist()
    assert (back["time"] == mine["time"]).all()
    assert (back[["lon", "lat"]] - mine[["lon", "lat"]]).abs().max().max() < 1e-8
    if suffix == ".gpkg":
        assert {"fixes", "layer_styles"} <= {n for n, _ in pyogrio.list_layers(out)}
    if suffix == ".csv":
        text = out.read_text(encoding="utf-8-sig")
        assert "'=HYPERLINK(1)" in text  # a spreadsheet shows it as text


def test_rejects_csv_keeps_file_row_and_reason(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "人员编号,定位时间,经度,纬度\nV1,2024-06-05 08:00,121.47,31.23\nV1,,121.47,31.23\n"
    )
    result = import_track(path)
    out = write_track_rejects(result, tmp_path / "t.rejects.csv")
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert table.columns.tolist() == [
        "source", "row", "patroller", "time", "column", "value", "reason", "reason_id",
    ]  # fmt: skip
    assert table.iloc[0][["row", "column", "reason_id"]].tolist() == [
        "3",
        "定位时间",
        "tracks.time_missing",
    ]


def test_compliance_as_three_csv_files(report, tmp_path):
    rep, _, _ = report
    paths = write_compliance(rep, tmp_path / "day.csv")
    assert paths == compliance_paths(tmp_path / "day.csv")
    assert [p.name for p in paths] == ["day.csv", "day.patrollers.csv", "day.hotspots.csv"]
    stops = pd.read_csv(paths[0], encoding="utf-8-sig")
    assert len(stops) == len(rep.stops) and set(stops["status"]) == {"visited"}
    assert stops["planned_arrival"].str.endswith("+08:00").all()
    hot = pd.read_csv(paths[2], encoding="utf-8-sig")
    assert hot["micro_id"].tolist() == rep.hotspots["micro_id"].tolist()
    assert unescape_cell(stops["stop_key"].iat[0]) == rep.stops["stop_key"].iat[0]


def test_compliance_as_a_styled_geopackage(report, tmp_path):
    rep, grid, _ = report
    (path,) = write_compliance(rep, tmp_path / "day.gpkg", grid=grid)
    layers = dict(pyogrio.list_layers(path))
    assert layers["stops"] == "Point" and layers["hotspots"] == "Polygon"
    assert layers["patrollers"] is None and layers["presence"] is None
    styles = pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)
    assert set(styles["f_table_name"]) == {"stops", "hotspots"}
    stops = pyogrio.read_dataframe(path, layer="stops")
    assert stops.crs.to_epsg() == 4326 and len(stops) == len(rep.stops)
    (plain,) = write_compliance(rep, tmp_path / "plain.gpkg")
    assert dict(pyogrio.list_layers(plain))["hotspots"] is None


def test_unknown_formats_are_refused(report, tmp_path):
    rep, _, fixes = report
    with pytest.raises(InputError, match=r"unknown output format '\.xlsx'"):
        write_compliance(rep, tmp_path / "day.xlsx")
    with pytest.raises(InputError, match=r"unknown output format '\.shp'"):
        write_fixes(fixes, tmp_path / "fixes.shp")


def test_gdal_and_qgis_open_the_report_styled(report, tmp_path):
    from _ogr import ogrinfo
    from _qgis import qgis_layers

    rep, grid, _ = report
    (path,) = write_compliance(rep, tmp_path / "day.gpkg", grid=grid)
    layers = ogrinfo(path)
    assert layers["stops"].geometry == "Point" and layers["stops"].epsg == 4326
    assert layers["stops"].count == len(rep.stops) and layers["hotspots"].geometry == "Polygon"
    assert layers["patrollers"].count == len(rep.patrollers)
    drawn = qgis_layers(f"{path}|layername=stops", f"{path}|layername=hotspots")
    stops = drawn[f"{path}|layername=stops"]
    assert stops["renderer"] == "categorizedSymbol" and stops["attribute"] == "status"
    assert stops["label"] == '"order"'
    assert drawn[f"{path}|layername=hotspots"]["renderer"] == "RuleRenderer"
