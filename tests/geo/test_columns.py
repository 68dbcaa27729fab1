"""Finding incident columns by name, choosing them explicitly, and previewing a table's columns."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gridplan._errors import ColumnError
from gridplan._errors import InputError
from gridplan.geo._columns import find_columns
from gridplan.geo.incidents import import_incidents
from gridplan.geo.incidents import preview_columns


def write_csv(tmp_path: Path, text: str, name: str = "jq.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    "header",
    [
        "警情级别",
        "警情等级",
        "预警级别",
        "预警等级",
        "告警级别",
        "警级",
        "紧急程度",
        "警情颜色",
        "级别",
        "等级",
        "Alert Level",
        "警情级别（颜色）",
    ],
)
def test_common_alert_headers_are_recognised(tmp_path, header):
    path = write_csv(
        tmp_path,
        f"经度,纬度,发生时间,{header}\n116.4,39.9,2024-03-05 10:00,红色\n"
        "116.4,39.9,2024-03-05 11:00,黄\n",
    )
    result = import_incidents(path)
    assert result.summary()["columns_used"]["alert"] == header
    assert result.incidents["alert"].tolist() == ["red", "yellow"]


def test_a_generic_level_header_is_not_guessed_beside_another_level_column():
    # 级别 beside 网格级别: which level is the alert is a guess, so neither is taken
    cmap = find_columns(["经度", "纬度", "时间", "级别", "网格级别"], None, where="t.csv")
    assert cmap.alert is None
    # a specific name wins over the generic one, which then stays unused
    cmap = find_columns(["经度", "纬度", "时间", "级别", "警情级别"], None, where="t.csv")
    assert cmap.alert == "警情级别"
    # alone, the generic name is unambiguous
    assert find_columns(["经度", "纬度", "级别"], None, where="t.csv").alert == "级别"


def test_an_empty_override_means_the_table_has_no_such_column():
    columns = ["经度", "纬度", "发生时间", "类型", "编号"]
    cmap = find_columns(columns, {"category": "", "id": "编号"}, where="t.csv")
    assert cmap.category is None and cmap.id == "编号"
    assert cmap.explicit == {"id"}
    assert find_columns(columns, None, where="t.csv").category == "类型"


def test_one_column_for_two_roles_is_an_input_error():
    with pytest.raises(InputError, match=r"\('经度' for lon and lat\); give each role its own"):
        find_columns(["经度", "纬度", "时间"], {"lon": "经度", "lat": "经度"}, where="t.csv")


def test_missing_columns_raise_column_error_with_the_roles_and_the_header(tmp_path):
    path = write_csv(tmp_path, "东经,北纬,时间\n116.4,39.9,2024-03-05\n")
    with pytest.raises(ColumnError) as info:
        import_incidents(path)
    assert info.value.roles == ("lon", "lat")
    assert info.value.columns == ("东经", "北纬", "时间")
    assert "--column lon=" in str(info.value)  # the command line's hint stays
    path = write_csv(tmp_path, "lon,lat,备注\n116.4,39.9,x\n", name="t.csv")
    with pytest.raises(ColumnError) as info:
        import_incidents(path)
    assert info.value.roles == ("time",) and "--column time=" in str(info.value)
    with pytest.raises(ColumnError) as info:
        import_incidents(path, columns={"time": "nope"})
    assert info.value.roles == ("time",)


def test_preview_of_a_gbk_csv_with_odd_headers(tmp_path):
    rows = "".join(f"J{k},116.4{k},39.9{k},2024-03-0{k + 1} 08:00,盗窃\n" for k in range(5))
    path = write_csv(tmp_path, "编号,东经,北纬,何时,案别\n" + rows, encoding="gbk")
    pre = preview_columns(path, n_samples=2)
    assert pre.file_format == "csv" and not pre.has_geometry
    assert pre.columns == ("编号", "东经", "北纬", "何时", "案别")
    assert pre.samples["东经"] == ("116.40", "116.41")
    assert dict(pre.guessed) == {"id": "编号"}
    # with the columns chosen, the import reads what the preview showed
    result = import_incidents(
        path, columns={"lon": "东经", "lat": "北纬", "time": "何时", "category": "案别"}
    )
    assert len(result.incidents) == 5


def test_preview_reads_only_the_head_of_a_long_csv(tmp_path):
    body = "".join(f"{k},116.4,39.9,2024-03-05\n" for k in range(5000))
    pre = preview_columns(write_csv(tmp_path, "id,lon,lat,time\n" + body))
    assert pre.samples["id"] == ("0", "1", "2")
    assert pre.guessed["time"] == "time"


def test_preview_of_xlsx_and_geojson(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["单号", "X值", "Y值", "时刻"])
    wb.active.append(["A1", 116.4, 39.9, "2024-03-05 08:00"])
    wb.save(tmp_path / "jq.xlsx")
    pre = preview_columns(tmp_path / "jq.xlsx")
    assert pre.file_format == "xlsx" and pre.samples["X值"] == ("116.4",)
    gdf = gpd.GeoDataFrame(
        {"编号": ["P1"], "when": ["2024-03-05 14:30"]},
        geometry=[shapely.Point(116.4, 39.9)],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "p.geojson")
    pre = preview_columns(tmp_path / "p.geojson")
    assert pre.has_geometry and pre.columns == ("编号", "when")
    assert dict(pre.guessed) == {"id": "编号"}


def test_preview_of_a_file_that_is_no_table(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(InputError, match="PNG image"):
        preview_columns(path)
