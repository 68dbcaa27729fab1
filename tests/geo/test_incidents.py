"""Importing incident tables: formats, column detection, coordinates, times, rejects."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._validate import INCIDENT_COLUMNS
from gridplan.geo.crs import wgs84_to_bd09
from gridplan.geo.crs import wgs84_to_gcj02
from gridplan.geo.incidents import ImportResult
from gridplan.geo.incidents import import_incidents
from gridplan.io.results import write_incidents
from gridplan.io.results import write_rejects
from gridplan.station.config import default_config

DATA = Path(__file__).parents[1] / "data"
PORTLAND = DATA / "incidents_portland_2019_sample.csv"

HEADER_ZH = "警情编号,经度,纬度,发生时间,案件类别,预警等级"


def write_csv(tmp_path: Path, text: str, name: str = "jq.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def local(text: str, tz: str = "Asia/Shanghai") -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(tz)


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    geod = pyproj.Geod(ellps="WGS84")
    return geod.inv(lon1, lat1, lon2, lat2)[2]


def check_accounting(result: ImportResult) -> None:
    """Every row is kept or rejected, once; shapes are the canonical ones."""
    assert len(result.incidents) + len(result.rejects) == result.n_rows
    rows = list(result.incidents["source_row"]) + list(result.rejects["row"])
    assert len(set(rows)) == len(rows)
    assert list(result.incidents.columns) == [*INCIDENT_COLUMNS, "geometry"]
    assert result.incidents.crs == "EPSG:4326"
    assert list(result.rejects.columns) == ["row", "column", "value", "reason", "reason_id"]
    summary = result.summary()
    assert summary["kept"] + summary["rejected"] == summary["rows_read"]
    assert sum(summary["rejected_by_reason"].values()) == summary["rejected"]
    json.dumps(summary, ensure_ascii=False)


# --------------------------------------------------------------------------- basics


def test_chinese_csv_is_read_with_canonical_columns(tmp_path):
    path = write_csv(
        tmp_path,
        f"{HEADER_ZH}\n"
        "J001,116.3975,39.9087,2024-03-05 14:30,盗窃,红色\n"
        "J002,116.4000,39.9100,2024-03-06 02:15:00,抢劫,黄\n"
        "J003,116.4010,39.9110,2024-03-07 23:59,其他,\n",
    )
    result = import_incidents(path)
    check_accounting(result)
    gdf = result.incidents
    assert gdf["id"].tolist() == ["J001", "J002", "J003"]
    assert gdf["time"].tolist() == [
        local("2024-03-05 14:30"),
        local("2024-03-06 02:15"),
        local("2024-03-07 23:59"),
    ]
    assert str(gdf["time"].dt.tz) == "Asia/Shanghai"
    assert gdf["category"].tolist() == ["盗窃", "抢劫", "其他"]
    assert gdf["alert"].tolist()[:2] == ["red", "yellow"]
    assert gdf["alert"].isna().tolist() == [False, False, True]
    # weight = category x alert weight (defaults: 盗窃 1.0, 抢劫 4.0; red 2, yellow 1.5)
    assert gdf["weight"].tolist() == [2.0, 6.0, 1.0]
    assert gdf["source_row"].tolist() == [2, 3, 4]
    assert gdf["in_station"].all()
    assert gdf.geometry.x.tolist() == [116.3975, 116.4, 116.401]
    summary = result.summary()
    assert summary["columns_used"] == {
        "lon": "经度",
        "lat": "纬度",
        "time": "发生时间",
        "id": "警情编号",
        "category": "案件类别",
        "alert": "预警等级",
    }
    assert summary["encoding"] == "utf-8-sig"
    assert summary["coordinate_system"] == "WGS84 lon/lat"


def test_english_headers_are_matched_ignoring_case_and_spaces(tmp_path):
    path = write_csv(
        tmp_path,
        "Case Number,LONGITUDE,Latitude ,Occur_DateTime,Offense Category\n"
        "A-1,-122.68,45.52,2019-01-01 00:05,Burglary\n",
    )
    result = import_incidents(path)
    assert result.summary()["columns_used"] == {
        "lon": "LONGITUDE",
        "lat": "Latitude",
        "time": "Occur_DateTime",
        "id": "Case Number",
        "category": "Offense Category",
    }
    assert result.incidents["weight"].tolist() == [2.5]


def test_bracketed_units_in_headers_are_ignored(tmp_path):
    path = write_csv(tmp_path, "经度(WGS84),纬度（WGS84）,报警时间\n116.4,39.9,2024-03-05 14:30\n")
    assert len(import_incidents(path).incidents) == 1


def test_utf8_bom_and_gzip(tmp_path):
    text = f"{HEADER_ZH}\nJ1,116.4,39.9,2024-03-05 14:30,盗窃,蓝\n"
    bom = write_csv(tmp_path, text, encoding="utf-8-sig")
    result = import_incidents(bom)
    assert result.incidents["id"].tolist() == ["J1"]
    assert result.summary()["columns_used"]["id"] == "警情编号"  # the BOM is not in the name
    gz = tmp_path / "jq.csv.gz"
    gz.write_bytes(gzip.compress(text.encode("utf-8")))
    assert_geodataframe_equal(import_incidents(gz).incidents, result.incidents)


def test_gbk_csv_with_chinese_headers_is_detected(tmp_path):
    text = (
        "案件编号,经度,纬度,案发时间,警情类别\n"
        "A1,116.4,39.9,2024年3月5日 14时30分,入室盗窃\n"
        "A2,116.5,39.8,2024/3/6 8:05:00,故意伤害\n"
    )
    path = write_csv(tmp_path, text, encoding="gbk")
    result = import_incidents(path)
    check_accounting(result)
    assert result.encoding == "gb18030"
    assert result.incidents["category"].tolist() == ["入室盗窃", "故意伤害"]
    assert result.incidents["weight"].tolist() == [2.5, 3.0]
    assert result.incidents["time"].tolist() == [
        local("2024-03-05 14:30"),
        local("2024-03-06 08:05"),
    ]


def test_explicit_encoding_wins(tmp_path):
    path = write_csv(tmp_path, "经度,纬度,时间\n116.4,39.9,2024-03-05\n", encoding="gbk")
    assert import_incidents(path, encoding="gbk").encoding == "gbk"
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        import_incidents(path, encoding="klingon")


def test_semicolon_and_tab_delimiters(tmp_path):
    semi = write_csv(tmp_path, "lon;lat;time\n116.4;39.9;2024-03-05 10:00\n", name="a.csv")
    tab = write_csv(tmp_path, "lon\tlat\ttime\n116.4\t39.9\t2024-03-05 10:00\n", name="b.txt")
    for path in (semi, tab):
        assert import_incidents(path).incidents.geometry.x.tolist() == [116.4]


def test_title_line_above_the_header_is_skipped(tmp_path):
    text = (
        "朝阳派出所警情明细表,,,\n"  # line 1: title, not the header
        "\n"
        "编号,经度,纬度,发生时间\n"  # line 3: header
        "A1,116.4,39.9,2024/3/5 14:30\n"
        "A2,x,39.9,2024/3/5 14:30\n"
        "制表人：张三,,,\n"  # line 6: footer
    )
    result = import_incidents(write_csv(tmp_path, text, encoding="gbk"))
    check_accounting(result)
    assert result.incidents["source_row"].tolist() == [4]
    assert result.rejects["row"].tolist() == [5, 6]


def test_quoted_crlf_csv_and_utf16_tab_export(tmp_path):
    quoted = (
        '"编号","经度","纬度","发生时间","地址"\r\n'
        '"A1","116.4","39.9","2024-03-05 14:30","朝阳区, 某街"\r\n'
        '"A2","116.5","39.9","2024-03-05 15:30",""\r\n'
    )
    result = import_incidents(write_csv(tmp_path, quoted, encoding="utf-8-sig"))
    assert result.incidents["source_row"].tolist() == [2, 3]
    assert result.columns_ignored == ("地址",)
    # Excel's "Unicode text" export: UTF-16 with BOM, tab-separated
    utf16 = "编号\t经度\t纬度\t发生时间\r\nA1\t116.4\t39.9\t2024/3/5 14:30\r\n"
    result = import_incidents(write_csv(tmp_path, utf16, name="u.txt", encoding="utf-16"))
    assert result.encoding == "utf-16"
    assert result.incidents["time"].tolist() == [local("2024-03-05 14:30")]


def test_padded_cells_are_stripped(tmp_path):
    path = write_csv(
        tmp_path, "id,lon,lat,time,category\n J1 , 116.4 ,39.9 , 2024-03-05 10:00 , 盗窃 \n"
    )
    gdf = import_incidents(path).incidents
    assert gdf["id"].tolist() == ["J1"]
    assert gdf["category"].tolist() == ["盗窃"]
    assert gdf["time"].tolist() == [local("2024-03-05 10:00")]


def test_progress_is_reported(tmp_path):
    path = write_csv(tmp_path, "lon,lat,time\n116.4,39.9,2024-03-05 10:00\n")
    calls = []
    import_incidents(path, progress=lambda stage, done, total: calls.append((done, total)))
    assert calls[0] == (0, 4)
    assert calls[-1] == (4, 4)


def test_input_file_is_not_modified_and_result_is_frozen(tmp_path):
    path = write_csv(tmp_path, "lon,lat,time\n116.4,39.9,2024-03-05 10:00\n")
    before = path.read_bytes()
    result = import_incidents(path)
    assert path.read_bytes() == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.n_rows = 5


# --------------------------------------------------------------------------- columns


def test_missing_coordinate_columns_say_what_was_found_and_how_to_override(tmp_path):
    path = write_csv(tmp_path, "编号,东经度数,北纬度数,发生时间\n1,116.4,39.9,2024-03-05\n")
    with pytest.raises(InputError) as info:
        import_incidents(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "东经度数, 北纬度数" in msg  # the columns found
    assert "经度" in msg and "longitude" in msg  # the names looked for
    assert "--column lon=" in msg


def test_missing_time_column_is_an_input_error(tmp_path):
    path = write_csv(tmp_path, "lon,lat,备注\n116.4,39.9,x\n")
    with pytest.raises(InputError, match=r"cannot find the time column.*备注.*发生时间"):
        import_incidents(path)


def test_column_overrides(tmp_path):
    path = write_csv(tmp_path, "东经度数,北纬度数,when,what\n116.4,39.9,2024-03-05 10:00,盗窃\n")
    result = import_incidents(
        path,
        columns={"lon": "东经度数", "lat": "北纬度数", "time": "WHEN", "category": "what"},
    )
    assert result.incidents["category"].tolist() == ["盗窃"]
    assert result.summary()["columns_used"]["time"] == "when"
    with pytest.raises(InputError, match=r"column 'nope' given for lon is not in the table"):
        import_incidents(path, columns={"lon": "nope"})
    with pytest.raises(InputError, match=r"unknown column role\(s\) 'longitude'"):
        import_incidents(path, columns={"longitude": "东经度数"})


def test_unknown_columns_are_ignored_and_reported(tmp_path):
    path = write_csv(
        tmp_path,
        "id,lon,lat,time,备注,处警民警\nJ1,116.4,39.9,2024-03-05 10:00,夜间,张三\n",
    )
    result = import_incidents(path)
    assert result.summary()["columns_ignored"] == ["备注", "处警民警"]
    assert list(result.incidents.columns) == [*INCIDENT_COLUMNS, "geometry"]


def test_repeated_header_names_are_an_input_error(tmp_path):
    path = write_csv(tmp_path, "lon,lat,time,lat\n116.4,39.9,2024-03-05,1\n")
    with pytest.raises(InputError, match=r"repeats column name\(s\) 'lat'"):
        import_incidents(path)


# --------------------------------------------------------------------------- coordinates


def test_bad_coordinates_are_rejected_with_row_value_and_reason(tmp_path):
    path = write_csv(
        tmp_path,
        "id,lon,lat,time\n"
        "ok1,116.4,39.9,2024-03-05 10:00\n"  # line 2
        "e1,,39.9,2024-03-05 10:00\n"  # line 3: empty
        "e2,abc,39.9,2024-03-05 10:00\n"  # line 4: not a number
        "e3,0,0,2024-03-05 10:00\n"  # line 5: 0/0
        "e4,200.5,39.9,2024-03-05 10:00\n"  # line 6: |lon| > 180
        "e5,116.4,95.1,2024-03-05 10:00\n"  # line 7: |lat| > 90
        "e6,39.91,116.41,2024-03-05 10:00\n"  # line 8: this row swapped
        "e7,500000,4400000,2024-03-05 10:00\n"  # line 9: projected metres
        "ok2,116.5,39.8,2024-03-05 11:00\n",  # line 10
    )
    result = import_incidents(path)
    check_accounting(result)
    assert result.incidents["id"].tolist() == ["ok1", "ok2"]
    assert result.incidents["source_row"].tolist() == [2, 10]
    rejects = result.rejects.set_index("row")
    assert rejects.loc[3, "reason"] == "longitude is missing"
    assert (rejects.loc[4, "column"], rejects.loc[4, "value"]) == ("lon", "abc")
    assert rejects.loc[4, "reason"] == "longitude is not a number"
    assert rejects.loc[5, "reason"] == "coordinates are 0,0 (no location recorded)"
    assert (rejects.loc[6, "value"], rejects.loc[6, "reason"]) == (
        "200.5",
        "longitude is outside -180..180",
    )
    assert rejects.loc[7, "reason"] == "latitude is outside -90..90"
    assert "look swapped in this row" in rejects.loc[8, "reason"]
    assert "projected x/y" in rejects.loc[9, "reason"]
    assert not result.swapped


def test_swapped_lat_lon_columns_are_swapped_back_with_a_warning(tmp_path):
    # the "经度" column holds latitudes and "纬度" longitudes
    path = write_csv(
        tmp_path,
        "经度,纬度,时间\n39.90,116.40,2024-03-05 10:00\n39.91,116.41,2024-03-05 11:00\n"
        "39.92,116.42,2024-03-05 12:00\n",
    )
    result = import_incidents(path)
    assert result.swapped
    assert result.incidents.geometry.x.tolist() == [116.40, 116.41, 116.42]
    assert result.incidents.geometry.y.tolist() == [39.90, 39.91, 39.92]
    assert any("the other way round" in w for w in result.warnings)
    assert result.summary()["swapped"] is True


def test_swapped_columns_detected_by_the_station_where_ranges_cannot_tell(tmp_path):
    # Berlin: lon 13, lat 52 are both valid either way; the station decides
    station = shapely.box(13.3, 52.4, 13.5, 52.6)
    path = write_csv(
        tmp_path, "lon,lat,time\n52.50,13.40,2024-03-05 10:00\n52.51,13.41,2024-03-05 11:00\n"
    )
    result = import_incidents(path, station=station)
    assert result.swapped
    assert result.incidents["in_station"].all()
    assert not import_incidents(path).swapped  # without a station it cannot be known


def test_gcj02_input_is_converted_back_to_wgs84(tmp_path):
    lon = np.array([116.3975, 121.4737, 113.2644])
    lat = np.array([39.9087, 31.2304, 23.1291])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert distance_m(lon, lat, glon, glat).min() > 100  # the offset is real
    rows = "".join(
        f"{float(a)!r},{float(b)!r},2024-03-05 10:00\n" for a, b in zip(glon, glat, strict=True)
    )
    path = write_csv(tmp_path, "lng,lat,time\n" + rows)
    config = dataclasses.replace(default_config(), coordinates="gcj02")
    result = import_incidents(path, config=config)
    gdf = result.incidents
    assert distance_m(lon, lat, gdf.geometry.x, gdf.geometry.y).max() < 0.5
    assert "GCJ-02" in result.summary()["coordinate_system"]


def test_bd09_input_is_converted_back_to_wgs84(tmp_path):
    lon = np.array([116.3975, 114.0579])
    lat = np.array([39.9087, 22.5431])
    blon, blat = wgs84_to_bd09(lon, lat)
    rows = "".join(
        f"{float(a)!r},{float(b)!r},2024-03-05 10:00\n" for a, b in zip(blon, blat, strict=True)
    )
    path = write_csv(tmp_path, "经度,纬度,时间\n" + rows)
    config = dataclasses.replace(default_config(), coordinates="bd09")
    gdf = import_incidents(path, config=config).incidents
    assert distance_m(lon, lat, gdf.geometry.x, gdf.geometry.y).max() < 0.5


def test_projected_xy_in_input_crs_are_transformed(tmp_path):
    lon, lat = np.array([114.30, 114.35]), np.array([30.59, 30.60])  # Wuhan
    tr = pyproj.Transformer.from_crs(4326, 4547, always_xy=True)  # CGCS2000 GK CM 114E
    x, y = tr.transform(lon, lat)
    rows = "".join(
        f"{float(a)!r},{float(b)!r},2024-03-05 10:00\n" for a, b in zip(x, y, strict=True)
    )
    config = dataclasses.replace(default_config(), input_crs="EPSG:4547")
    path = write_csv(tmp_path, "X坐标,Y坐标,时间\n" + rows, name="xy.csv")
    result = import_incidents(path, config=config)
    gdf = result.incidents
    assert distance_m(lon, lat, gdf.geometry.x, gdf.geometry.y).max() < 0.01
    assert result.summary()["columns_used"] == {"x": "X坐标", "y": "Y坐标", "time": "时间"}
    assert not result.swapped
    # Chinese survey convention: X is the northing; detected and swapped back
    rows = "".join(
        f"{float(b)!r},{float(a)!r},2024-03-05 10:00\n" for a, b in zip(x, y, strict=True)
    )
    path = write_csv(tmp_path, "X坐标,Y坐标,时间\n" + rows, name="yx.csv")
    result = import_incidents(path, config=config)
    assert result.swapped
    gdf = result.incidents
    assert distance_m(lon, lat, gdf.geometry.x, gdf.geometry.y).max() < 0.01


def test_xy_columns_in_a_geographic_input_crs_are_lon_lat(tmp_path):
    path = write_csv(tmp_path, "x,y,time\n116.4,39.9,2024-03-05 10:00\n")
    assert import_incidents(path).incidents.geometry.x.tolist() == [116.4]


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "expected", "unknown"),
    [
        ("2024-03-05 14:30", "2024-03-05 14:30", False),
        ("2024/3/5 14:30:00", "2024-03-05 14:30", False),
        ("2024年3月5日 14时30分", "2024-03-05 14:30", False),
        ("2024年3月5日14时30分20秒", "2024-03-05 14:30:20", False),
        ("2024.03.05 14:30", "2024-03-05 14:30", False),
        ("2024-03-05T14:30:00", "2024-03-05 14:30", False),
        ("2024-03-05T06:30:00Z", "2024-03-05 14:30", False),
        ("2024-03-05T14:30:00+08:00", "2024-03-05 14:30", False),
        ("2024-03-04T22:30:00-08:00", "2024-03-05 14:30", False),
        ("20240305143000", "2024-03-05 14:30", False),
        ("45356.6041666667", "2024-03-05 14:30", False),  # Excel serial
        ("2024-03-05", "2024-03-05 00:00", True),
        ("2024年3月5日", "2024-03-05 00:00", True),
        ("Mar 5 2024 2:30 PM", "2024-03-05 14:30", False),
    ],
)
def test_time_formats(tmp_path, text, expected, unknown):
    path = write_csv(tmp_path, f'lon,lat,time\n116.4,39.9,"{text}"\n')
    result = import_incidents(path)
    assert result.incidents["time"].tolist() == [local(expected)]
    assert result.n_time_unknown == int(unknown)


def test_mixed_time_formats_in_one_column(tmp_path):
    values = [
        "2024-03-05 14:30",
        "2024/3/5 14:30:00",
        "2024年3月5日 14时30分",
        "2024-03-05T14:30:00+08:00",
        "2024-03-05T07:30:00+01:00",
        "45356.6041666667",
        "2024-03-05",
        "not a time",
        "2024-02-30 10:00",
        "1850-01-01 10:00",
        "",
    ]
    body = "".join(f"116.4,39.9,{v}\n" for v in values)
    result = import_incidents(write_csv(tmp_path, "lon,lat,time\n" + body))
    check_accounting(result)
    times = result.incidents["time"]
    assert times.iloc[:7].tolist() == [local("2024-03-05 14:30")] * 6 + [local("2024-03-05")]
    assert result.n_time_unknown == 1
    assert any("no time of day" in w and "rows 8" in w for w in result.warnings)
    rejects = result.rejects.set_index("row")
    assert rejects.loc[9, "value"] == "not a time"
    assert rejects.loc[9, "reason"].startswith("time is not a recognised date/time")
    assert rejects.loc[10, "value"] == "2024-02-30 10:00"
    assert rejects.loc[11, "reason"] == "time is outside the years 1900-2100"
    assert rejects.loc[12, "reason"] == "time is missing"


def test_naive_times_use_the_station_timezone(tmp_path):
    path = write_csv(tmp_path, "lon,lat,time\n-122.68,45.52,2019-07-01 12:00\n")
    config = dataclasses.replace(default_config(), timezone="America/Los_Angeles")
    time = import_incidents(path, config=config).incidents["time"].iloc[0]
    assert time == pd.Timestamp("2019-07-01 19:00", tz="UTC")
    assert str(time.tz) == "America/Los_Angeles"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2014-03-02 05:00:00", "2014-03-02 05:00"),  # naive: station time
        ("2014/03/02 05:00:00", "2014-03-02 05:00"),
        ("2014年3月2日 5时00分", "2014-03-02 05:00"),
        ("2014年03月02日 05:00", "2014-03-02 05:00"),
        ("2014-03-02T05:00:00+08:00", "2014-03-01 16:00"),  # an offset: that instant
        ("2014/03/02 05:00:00+00", "2014-03-02 00:00"),  # Toronto's open data
        ("2014/03/02 05:00:00 -0330", "2014-03-02 03:30"),
        ("2014/03/02 05:00Z", "2014-03-02 00:00"),
    ],
)
def test_common_time_layouts_parse_vectorised_in_station_time(
    tmp_path, monkeypatch, written, expected
):
    """211,000 Toronto rows (``2014/03/02 05:00:00+00``) took 34 s row by row; none may now."""
    from gridplan.geo import _parse

    def rowwise(*args):
        raise AssertionError(f"{written!r} fell back to row-by-row parsing")

    monkeypatch.setattr(_parse, "_parse_rowwise", rowwise)
    body = "".join(f"{-79.4 + k / 1000},43.7,{written}\n" for k in range(50))
    config = dataclasses.replace(default_config(), timezone="America/Toronto")
    result = import_incidents(write_csv(tmp_path, "lon,lat,time\n" + body), config=config)
    times = result.incidents["time"]
    assert len(times) == 50 and (times == local(expected, "America/Toronto")).all()
    assert str(times.dt.tz) == "America/Toronto"


def test_rowwise_fallback_keeps_naive_and_aware_values_apart(tmp_path):
    values = ["Mar 5 2024 2:30 PM", "Mar 5 2024 2:30 PM UTC", "5 March 2024", "no time"]
    body = "".join(f"116.4,39.9,{v}\n" for v in values)
    result = import_incidents(write_csv(tmp_path, "lon,lat,time\n" + body))
    assert result.incidents["time"].tolist() == [
        local("2024-03-05 14:30"),
        pd.Timestamp("2024-03-05 14:30", tz="UTC").tz_convert("Asia/Shanghai"),
        local("2024-03-05"),
    ]
    assert result.n_time_unknown == 1 and result.rejects["row"].tolist() == [5]


def test_date_and_hhmm_time_columns(tmp_path):
    path = write_csv(
        tmp_path,
        "OccurDate,OccurTime,OpenDataLat,OpenDataLon\n"
        "2019-01-01,2143,45.52,-122.68\n"  # line 2
        "2019-01-02,5,45.52,-122.68\n"  # line 3: 00:05
        "2019-01-03,,45.52,-122.68\n"  # line 4: time unknown
        "2019-01-04,2460,45.52,-122.68\n",  # line 5: no such time
    )
    config = dataclasses.replace(default_config(), timezone="America/Los_Angeles")
    result = import_incidents(path, config=config)
    check_accounting(result)
    tz = "America/Los_Angeles"
    assert result.incidents["time"].tolist() == [
        local("2019-01-01 21:43", tz),
        local("2019-01-02 00:05", tz),
        local("2019-01-03 00:00", tz),
    ]
    assert result.n_time_unknown == 1
    assert result.rejects.to_dict("records") == [
        {
            "row": 5,
            "column": "OccurTime",
            "value": "2460",
            "reason": "time of day is not HHMM or HH:MM (00:00-23:59)",
            "reason_id": "incidents.time_of_day",
        }
    ]
    assert result.summary()["columns_used"]["time_of_day"] == "OccurTime"


def test_chinese_date_and_time_columns(tmp_path):
    path = write_csv(
        tmp_path,
        "发生日期,发生时刻,经度,纬度\n2024年3月5日,14时30分,116.4,39.9\n2024-03-06,08:05,116.4,39.9\n",
    )
    result = import_incidents(path)
    assert result.incidents["time"].tolist() == [
        local("2024-03-05 14:30"),
        local("2024-03-06 08:05"),
    ]


def test_generic_time_column_beside_a_date_column_is_the_time_of_day(tmp_path):
    path = write_csv(tmp_path, "日期,时间,经度,纬度\n2024-03-05,14:30,116.4,39.9\n")
    assert import_incidents(path).incidents["time"].tolist() == [local("2024-03-05 14:30")]


def test_date_only_table_keeps_rows_at_midnight_and_says_so(tmp_path):
    path = write_csv(tmp_path, "date,lon,lat\n2024-03-05,116.4,39.9\n2024-03-06,116.4,39.9\n")
    result = import_incidents(path)
    assert result.n_time_unknown == 2
    assert result.summary()["time_unknown"] == 2


# --------------------------------------------------------------------------- ids, alerts


def test_duplicate_ids_are_kept_and_counted(tmp_path):
    path = write_csv(
        tmp_path,
        "CaseNumber,lon,lat,time,OffenseCategory\n"
        "19-1,-122.68,45.52,2019-01-01 00:00,Fraud Offenses\n"
        "19-1,-122.68,45.52,2019-01-01 00:00,Larceny Offenses\n"
        "19-2,-122.68,45.52,2019-01-01 00:00,Vandalism\n",
    )
    result = import_incidents(path)
    assert result.incidents["id"].tolist() == ["19-1", "19-1", "19-2"]
    assert result.summary()["duplicate_ids"] == 2
    assert any("2 rows share 1 ids" in w for w in result.warnings)


def test_missing_ids_are_generated_from_the_row_number(tmp_path):
    path = write_csv(tmp_path, "id,lon,lat,time\nA,116.4,39.9,2024-03-05\n,116.4,39.9,2024-03-05\n")
    result = import_incidents(path)
    assert result.incidents["id"].tolist() == ["A", "row-3"]
    assert result.n_generated_ids == 1
    no_id_column = write_csv(tmp_path, "lon,lat,time\n116.4,39.9,2024-03-05\n", name="b.csv")
    assert import_incidents(no_id_column).incidents["id"].tolist() == ["row-2"]


def test_alert_colours_and_weights(tmp_path):
    path = write_csv(
        tmp_path,
        "lon,lat,time,category,警情等级\n"
        "116.4,39.9,2024-03-05,抢劫,红\n"
        "116.4,39.9,2024-03-05,抢劫,Yellow\n"
        "116.4,39.9,2024-03-05,抢劫,蓝色\n"
        "116.4,39.9,2024-03-05,抢劫,橙色\n",
    )
    config = dataclasses.replace(default_config(), category_weights={"抢劫": 3.0})
    result = import_incidents(path, config=config)
    assert result.incidents["alert"].tolist()[:3] == ["red", "yellow", "blue"]
    assert pd.isna(result.incidents["alert"].iloc[3])
    assert result.incidents["weight"].tolist() == [6.0, 4.5, 3.0, 3.0]
    assert any("'橙色'" in w for w in result.warnings)


def test_categories_without_a_weight_are_reported(tmp_path):
    """Toronto's categories are not the NIBRS ones configured: they silently got weight 1."""
    rows = ["Assault"] * 3 + ["Break and Enter"] * 2 + ["robbery", ""]
    body = "".join(f"-79.4,43.7,2014-03-02 05:00,{c}\n" for c in rows)
    result = import_incidents(write_csv(tmp_path, "lon,lat,time,category\n" + body))
    assert dict(result.unweighted_categories) == {"Assault": 3, "Break and Enter": 2}
    summary = result.summary()
    assert summary["unweighted_categories"] == {"Assault": 3, "Break and Enter": 2}
    assert summary["default_weight"] == 1.0
    assert result.incidents["weight"].tolist() == [1.0] * 5 + [4.0, 1.0]  # Robbery: 4
    config = dataclasses.replace(
        default_config(), category_weights={"assault": 3.0, "Break and Enter": 2.5}
    )
    assert import_incidents(tmp_path / "jq.csv", config=config).summary()[
        "unweighted_categories"
    ] == {"robbery": 1}


#: The types ImportResult.summary() documents for each key.
SUMMARY_TYPES = {
    "source": str,
    "format": str,
    "sheet": (str, type(None)),
    "rows_read": int,
    "kept": int,
    "rejected": int,
    "rejected_by_reason": dict,
    "outside_station": int,
    "encoding": (str, type(None)),
    "columns_used": dict,
    "columns_ignored": list,
    "coordinate_system": str,
    "swapped": bool,
    "time_unknown": int,
    "duplicate_ids": int,
    "generated_ids": int,
    "unweighted_categories": dict,
    "default_weight": float,
    "warnings": list,
}


@pytest.mark.parametrize("with_station", [False, True])
def test_summary_round_trips_through_json_with_its_documented_types(tmp_path, with_station):
    """A NumPy bool in ``swapped`` was stored as "False": every web import said "swapped"."""
    path = write_csv(
        tmp_path,
        "id,lon,lat,time,category\n"
        "a,116.40,39.90,2024-03-05 10:00,Assault\n"
        "b,116.60,39.90,2024-03-05,盗窃\n"
        "c,abc,39.90,2024-03-05,盗窃\n",
    )
    station = shapely.box(116.3, 39.8, 116.5, 40.0) if with_station else None
    summary = import_incidents(path, station=station).summary()
    assert json.loads(json.dumps(summary)) == summary
    assert set(summary) == set(SUMMARY_TYPES)
    for key, kind in SUMMARY_TYPES.items():
        assert isinstance(summary[key], kind), key  # a Message is a str
    nested = [*summary["rejected_by_reason"].values(), *summary["unweighted_categories"].values()]
    assert all(type(v) is int for v in nested)
    assert summary["swapped"] is False and summary["outside_station"] == int(with_station)


# --------------------------------------------------------------------------- station


def test_points_outside_the_station_are_kept_and_counted(tmp_path):
    path = write_csv(
        tmp_path,
        "id,lon,lat,time\nin,116.40,39.90,2024-03-05\nout,116.60,39.90,2024-03-05\n",
    )
    station = shapely.box(116.3, 39.8, 116.5, 40.0)
    result = import_incidents(path, station=station)
    assert result.incidents["in_station"].tolist() == [True, False]
    assert result.summary()["outside_station"] == 1
    assert any("outside the station" in w for w in result.warnings)


def test_station_row_of_a_grid_is_used(tmp_path):
    path = write_csv(
        tmp_path,
        "id,lon,lat,time\nin,116.40,39.90,2024-03-05\nout,116.60,39.90,2024-03-05\n",
    )
    grid = gpd.GeoDataFrame(
        {
            "id": ["S01", "S01-B1"],
            "level": ["station", "base"],
            "parent_id": [None, "S01"],
            "name": ["警务室", "一号网格"],
        },
        geometry=[shapely.box(116.3, 39.8, 116.5, 40.0), shapely.box(116.55, 39.8, 116.7, 40.0)],
        crs="EPSG:4326",
    ).to_crs(3857)
    before = grid.copy()
    result = import_incidents(path, station=grid)
    assert result.incidents["in_station"].tolist() == [True, False]
    assert_geodataframe_equal(grid, before)
    with pytest.raises(CRSError, match="station boundary has no CRS"):
        import_incidents(path, station=grid.set_crs(None, allow_override=True))


# --------------------------------------------------------------------------- XLSX


def test_xlsx_with_chinese_headers_and_sheet_rows(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    wb = openpyxl.Workbook()
    wb.active.title = "说明"  # an empty first sheet is skipped
    ws = wb.create_sheet("警情")
    ws.append(["2024年3月警情"])  # sheet row 1 is a title: the header is on row 2
    ws.append(["警情编号", "经度", "纬度", "接警时间", "警情类别", "颜色"])
    ws.append([20240001, 116.4, 39.9, dt.datetime(2024, 3, 5, 14, 30), "盗窃", "红色"])
    ws.append(["J2", "abc", 39.9, "2024-03-05 15:00", "诈骗", None])
    ws.append([])
    ws.append(["J3", 116.41, 39.91, 45356.625, "纠纷", "蓝"])
    path = tmp_path / "警情.xlsx"
    wb.save(path)
    result = import_incidents(path)
    check_accounting(result)
    assert result.sheet == "警情"
    gdf = result.incidents
    assert gdf["id"].tolist() == ["20240001", "J3"]
    assert gdf["time"].tolist() == [local("2024-03-05 14:30"), local("2024-03-05 15:00")]
    assert gdf["source_row"].tolist() == [3, 6]
    assert result.rejects.to_dict("records") == [
        {
            "row": 4,
            "column": "经度",
            "value": "abc",
            "reason": "longitude is not a number",
            "reason_id": "incidents.coordinate_not_number",
        }
    ]
    with pytest.raises(InputError, match=r"has no sheet 'Sheet9'; its sheets are '说明', '警情'"):
        import_incidents(path, sheet="Sheet9")


@pytest.mark.parametrize("data_sheet_has_coordinates", [True, False])
def test_xlsx_whose_first_sheet_is_notes_names_the_sheets(tmp_path, data_sheet_has_coordinates):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["导出说明", "本表由警情系统导出"])
    notes.append(["字段", "含义"])
    wb.create_sheet("统计").append(["月份", "合计"])
    data = wb.create_sheet("警情")
    data.append(["警情编号", "经度" if data_sheet_has_coordinates else "地点", "纬度", "时间"])
    data.append(["J1", 116.4, 39.9, "2024-03-05 14:30"])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as info:
        import_incidents(path)
    msg = str(info.value)
    assert "the first sheet with data, '说明', has no coordinate columns" in msg
    assert "the workbook's sheets are '说明', '统计', '警情'" in msg
    assert "--column" not in msg
    if data_sheet_has_coordinates:
        assert "(sheet(s) with coordinate columns: '警情')" in msg
        assert 'with --sheet "警情" on the command line, or sheet="警情" in Python' in msg
        assert import_incidents(path, sheet="警情").n_rows == 1
    else:
        assert "no sheet has columns named like coordinates). Choose the incident sheet" in msg
        assert '--sheet "统计"' in msg


# --------------------------------------------------------------------------- vector files


def _points(tmp_path: Path, crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"编号": ["P1", "P2"], "发生时间": ["2024-03-05 14:30", "2024-03-06 09:00"]},
        geometry=[shapely.Point(116.40, 39.90), shapely.Point(116.41, 39.91)],
        crs="EPSG:4326",
    ).to_crs(crs)


def test_geojson_and_gpkg_points_are_reprojected(tmp_path):
    gdf = _points(tmp_path, crs="EPSG:3857")
    gdf.to_file(tmp_path / "p.gpkg", driver="GPKG")
    result = import_incidents(tmp_path / "p.gpkg")
    assert result.incidents["id"].tolist() == ["P1", "P2"]
    assert result.incidents["source_row"].tolist() == [1, 2]
    np.testing.assert_allclose(result.incidents.geometry.x, [116.40, 116.41])
    assert "EPSG:3857" in result.summary()["coordinate_system"]
    _points(tmp_path).iloc[:1].to_file(tmp_path / "p.gpkg", layer="second", driver="GPKG")
    assert import_incidents(tmp_path / "p.gpkg", sheet="second").n_rows == 1
    with pytest.raises(InputError, match="has no layer 'third'"):
        import_incidents(tmp_path / "p.gpkg", sheet="third")
    _points(tmp_path).to_file(tmp_path / "p.geojson", driver="GeoJSON")
    result = import_incidents(tmp_path / "p.geojson")
    assert result.incidents["time"].tolist() == [
        local("2024-03-05 14:30"),
        local("2024-03-06 09:00"),
    ]


def test_vector_features_that_are_not_points_are_rejected(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["pt", "poly", "none"], "time": ["2024-03-05"] * 3},
        geometry=[shapely.Point(116.4, 39.9), shapely.box(116, 39, 117, 40), None],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "mixed.geojson", driver="GeoJSON")
    result = import_incidents(tmp_path / "mixed.geojson")
    check_accounting(result)
    assert result.incidents["id"].tolist() == ["pt"]
    assert result.rejects[["row", "value", "reason"]].to_dict("records") == [
        {"row": 2, "value": "Polygon", "reason": "geometry is not a point"},
        {"row": 3, "value": "", "reason": "geometry is missing or empty"},
    ]


def test_geojson_without_crs_member_is_wgs84(tmp_path):
    path = tmp_path / "nocrs.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"time": "2024-03-05 10:00"},
                        "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    assert import_incidents(path).incidents.geometry.x.tolist() == [116.4]


def test_gpkg_without_crs_assumes_the_configured_input_crs(tmp_path):
    gdf = _points(tmp_path).set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.to_file(tmp_path / "nocrs.gpkg", driver="GPKG")
    result = import_incidents(tmp_path / "nocrs.gpkg")
    assert any("has no CRS; assumed crs.input = EPSG:4326" in w for w in result.warnings)
    assert result.incidents.geometry.x.tolist() == [116.40, 116.41]


def test_shapefile_without_prj_is_a_crs_error(tmp_path):
    ascii_names = _points(tmp_path).rename(columns={"编号": "id", "发生时间": "time"})
    ascii_names.to_file(tmp_path / "p.shp", driver="ESRI Shapefile")
    (tmp_path / "p.prj").unlink()
    with pytest.raises(CRSError, match=r"p\.shp: the data has no coordinate reference system"):
        import_incidents(tmp_path / "p.shp")


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
def test_written_incidents_reimport_identically(tmp_path, suffix):
    path = write_csv(
        tmp_path,
        f"{HEADER_ZH}\n"
        "J1,116.3975123456789,39.9087,2024-03-05 14:30,盗窃,红\n"
        "J2,116.6,39.91,2024-03-06 02:15:07,抢劫,\n"
        "J3,bad,39.91,2024-03-06 02:15,抢劫,\n"
        "J4,116.41,39.92,2024-03-07,,blue\n",
    )
    station = shapely.box(116.3, 39.8, 116.5, 40.0)
    first = import_incidents(path, station=station)
    out = write_incidents(first, tmp_path / f"out{suffix}")
    again = import_incidents(out)
    assert_geodataframe_equal(again.incidents, first.incidents)
    assert again.incidents["source_row"].tolist() == [2, 3, 5]
    assert again.incidents["in_station"].tolist() == [True, False, True]
    if suffix == ".geojson":
        data = json.loads(out.read_text(encoding="utf-8"))
        assert "crs" not in data  # RFC 7946: WGS84, no crs member
        assert data["features"][0]["properties"]["time"] == "2024-03-05T14:30:00+08:00"


def test_write_incidents_rejects_unknown_suffix(tmp_path):
    result = import_incidents(write_csv(tmp_path, "lon,lat,time\n116.4,39.9,2024-03-05\n"))
    with pytest.raises(InputError, match=r"unknown output format '\.xls'"):
        write_incidents(result, tmp_path / "out.xls")


def test_write_rejects_is_excel_friendly_utf8(tmp_path):
    path = write_csv(tmp_path, "经度,纬度,时间\n116.4,39.9,2024-03-05\n无,39.9,2024-03-05\n")
    result = import_incidents(path)
    out = write_rejects(result, tmp_path / "rejects.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert back.to_dict("records") == [
        {
            "row": 3,
            "column": "经度",
            "value": "无",
            "reason": "longitude is not a number",
            "reason_id": "incidents.coordinate_not_number",
        }
    ]


# --------------------------------------------------------------------------- broken input


def test_broken_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [\n{"type": "Feat', "utf-8")
    with pytest.raises(InputError, match=r"broken\.geojson: broken JSON at line 2"):
        import_incidents(path)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        import_incidents(path)


def test_header_without_rows(tmp_path):
    path = write_csv(tmp_path, "经度,纬度,时间\n")
    with pytest.raises(InputError, match="has a header but no data rows"):
        import_incidents(path)


def test_png_and_random_binary_are_not_tables(tmp_path):
    png = tmp_path / "map.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(InputError, match=r"map\.png: this is a PNG image, not an incident table"):
        import_incidents(png)
    renamed = tmp_path / "incidents.csv"
    renamed.write_bytes(png.read_bytes())
    with pytest.raises(InputError, match="PNG image"):
        import_incidents(renamed)
    noise = tmp_path / "noise.dat"
    noise.write_bytes(np.random.default_rng(1).bytes(2000) + b"\x00")
    with pytest.raises(InputError, match=r"noise\.dat: holds binary data"):
        import_incidents(noise)


def test_fake_xlsx_is_an_input_error(tmp_path):
    path = tmp_path / "jq.xlsx"
    path.write_text("经度,纬度\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"jq\.xlsx: has the suffix \.xlsx but is not an Excel"):
        import_incidents(path)


def test_file_with_no_good_row_lists_the_first_reasons(tmp_path):
    path = write_csv(
        tmp_path, "lon,lat,time\nabc,39.9,2024-03-05\n116.4,39.9,someday\n,,2024-03-05\n"
    )
    with pytest.raises(InputError) as info:
        import_incidents(path)
    msg = str(info.value)
    assert "none of the 3 rows could be imported" in msg
    assert "row 2 lon='abc': longitude is not a number" in msg
    assert "row 3 time='someday'" in msg


def test_row_numbers_follow_file_lines_across_blank_lines_and_quoted_breaks(tmp_path):
    path = write_csv(
        tmp_path,
        "id,lon,lat,time,category\n"
        "J1,116.4,39.9,2024-03-05,盗窃\n"  # line 2
        "\n"  # line 3 blank
        'J2,116.4,39.9,2024-03-05,"两行\n的类别"\n'  # lines 4-5
        "J3,116.4,39.9,2024-03-05,盗窃,多余,字段\n"  # line 6: too many fields
        "J4,x,39.9,2024-03-05,盗窃\n",  # line 7
    )
    result = import_incidents(path)
    check_accounting(result)
    assert result.incidents["source_row"].tolist() == [2, 4]
    assert result.incidents["category"].tolist() == ["盗窃", "两行\n的类别"]
    assert result.rejects["row"].tolist() == [6, 7]
    assert result.rejects["reason"].iloc[0] == "the line has 7 fields but the header has 5"


# --------------------------------------------------------------------------- invariant


_CELLS = {
    "lon": st.sampled_from(["116.4", "116.45", "", "abc", "200", "0", "39.9"]),
    "lat": st.sampled_from(["39.9", "39.95", "", "x", "95", "0", "116.4"]),
    "time": st.sampled_from(
        ["2024-03-05 14:30", "2024/3/5 8:00", "2024年3月5日", "", "soon", "45356.5", "2399"]
    ),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.fixed_dictionaries(_CELLS), min_size=1, max_size=25))
def test_every_row_is_kept_or_rejected_once(tmp_path, rows):
    body = "".join(f"{r['lon']},{r['lat']},{r['time']}\n" for r in rows)
    path = write_csv(tmp_path, "lon,lat,time\n" + body, name="prop.csv")
    try:
        result = import_incidents(path)
    except InputError as exc:
        assert "none of the" in str(exc)
        return
    check_accounting(result)
    seen = sorted([*result.incidents["source_row"], *result.rejects["row"]])
    assert seen == list(range(2, len(rows) + 2))
    gdf = result.incidents
    assert ((gdf.geometry.x.abs() <= 180) & (gdf.geometry.y.abs() <= 90)).all()
    assert gdf["time"].notna().all()


# --------------------------------------------------------------------------- real data


def test_portland_crop_date_and_time_columns_match_the_datetime_column():
    config = dataclasses.replace(default_config(), timezone="America/Los_Angeles")
    whole = import_incidents(PORTLAND, config=config)
    split = import_incidents(
        PORTLAND, config=config, columns={"date": "OccurDate", "time": "OccurTime"}
    )
    check_accounting(split)
    assert whole.n_rows == split.n_rows == 498
    assert len(split.rejects) == 0
    assert split.summary()["columns_used"] == {
        "lon": "OpenDataLon",
        "lat": "OpenDataLat",
        "date": "OccurDate",
        "time_of_day": "OccurTime",
        "id": "CaseNumber",
        "category": "OffenseCategory",
    }
    assert whole.summary()["columns_used"]["time"] == "occur_datetime"
    assert (split.incidents["time"] == whole.incidents["time"]).all()
    raw = pd.read_csv(PORTLAND, dtype=str)
    expected = pd.to_datetime(raw["occur_datetime"]).dt.tz_localize("America/Los_Angeles")
    assert (split.incidents["time"].dt.tz_convert("UTC") == expected.dt.tz_convert("UTC")).all()
    assert split.incidents["time"].dt.year.eq(2019).all()
    # the study rectangle of the Portland data set
    assert split.incidents.geometry.x.between(-122.708, -122.630).all()
    assert split.incidents.geometry.y.between(45.492, 45.545).all()
    larceny = split.incidents["category"] == "Larceny Offenses"
    assert larceny.any() and (split.incidents.loc[larceny, "weight"] == 1.0).all()


def test_table_without_coordinate_columns_says_which_names_were_looked_for(tmp_path):
    p = tmp_path / "no_coords.csv"
    p.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no_coords\.csv: cannot find the coordinate") as info:
        import_incidents(p)
    assert "Columns in the file: a, b" in str(info.value)
    assert "--column lon=经度" in str(info.value)
