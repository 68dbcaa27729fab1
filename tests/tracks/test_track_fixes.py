"""import_track: GPX variants, GBK tables with Chinese headers, datums, every reject, accounting."""

import dataclasses
import gzip

import numpy as np
import pandas as pd
import pytest

from gridplan import InputError
from gridplan._errors import ColumnError
from gridplan.geo.crs import wgs84_to_bd09
from gridplan.geo.crs import wgs84_to_gcj02
from gridplan.geo.incidents import import_incidents
from gridplan.station.config import default_config
from gridplan.tracks.fixes import import_track

GPX11 = "http://www.topografix.com/GPX/1/1"
GPX10 = "http://www.topografix.com/GPX/1/0"


def gpx(points: str, *, ns: str = GPX11, creator: str = "test", version: str = "1.1") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><gpx version="{version}" creator="{creator}" '
        f'xmlns="{ns}">{points}</gpx>'
    )


def trk(*times, lat0=31.23, lon=121.47, step=0.00005, extra=""):
    """One track segment walking north, a point per time (``None``: no <time>)."""
    pts = []
    for k, t in enumerate(times):
        when = "" if t is None else f"<time>{t}</time>"
        pts.append(f'<trkpt lat="{lat0 + k * step:.6f}" lon="{lon}">{when}{extra}</trkpt>')
    return "<trk><trkseg>" + "".join(pts) + "</trkseg></trk>"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_gpx_11_times_with_a_zone_are_read_in_station_time(tmp_path):
    path = write(tmp_path, "a.gpx", gpx(trk("2024-06-05T00:00:00Z", "2024-06-05T00:00:05Z")))
    result = import_track(path, patroller="V01")
    assert result.file_format == "gpx" and result.datum == "wgs84"
    assert [str(t) for t in result.fixes["time"]] == [
        "2024-06-05 08:00:00+08:00",
        "2024-06-05 08:00:05+08:00",
    ]
    assert result.fixes["patroller"].tolist() == ["V01", "V01"]
    assert result.fixes["row"].tolist() == [1, 2] and result.fixes["source"].iat[0] == str(path)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/Los_Angeles"])
def test_gpx_10_times_without_a_zone_are_station_wall_clock(tmp_path, tz):
    text = gpx(trk("2024-06-05T08:00:00", "2024-06-05T08:00:05"), ns=GPX10, version="1.0")
    path = write(tmp_path, "b.gpx", text)
    config = dataclasses.replace(default_config(), timezone=tz)
    result = import_track(path, patroller="V01", config=config)
    first = result.fixes["time"].iat[0]
    assert str(first.tz) == tz and first.strftime("%H:%M:%S") == "08:00:00"


def test_segments_and_routes_are_numbered_in_file_order(tmp_path):
    two = trk("2024-06-05T08:00:00+08:00", "2024-06-05T08:00:05+08:00").replace(
        "</trkseg><",
        "</trkseg><trkseg>"
        '<trkpt lat="31.2302" lon="121.47"><time>2024-06-05T08:00:10+08:00</time></trkpt>'
        "</trkseg><",
        1,
    )
    route = (
        '<rte><rtept lat="31.2303" lon="121.47"><time>2024-06-05T08:00:15+08:00</time></rtept>'
        "</rte>"
    )
    result = import_track(write(tmp_path, "c.gpx", gpx(two + route)), patroller="V01")
    assert result.fixes["row"].tolist() == [1, 2, 3, 4] and result.n_read == 4


def test_a_gpx_point_without_time_is_rejected_by_its_number(tmp_path):
    text = gpx(trk("2024-06-05T08:00:00+08:00", None, "2024-06-05T08:00:10+08:00"))
    result = import_track(write(tmp_path, "d.gpx", text), patroller="V01")
    assert result.fixes["row"].tolist() == [1, 3]
    bad = result.rejects.iloc[0]
    assert (bad["row"], bad["reason_id"], bad["value"]) == (
        2,
        "tracks.gpx_no_time",
        "trk 1 trkseg 1",
    )
    assert "time stamps" in bad["reason"] and bad["patroller"] == "V01"


def test_a_gpx_without_any_time_is_a_planned_route(tmp_path):
    path = write(tmp_path, "plan.gpx", gpx(trk(None, None)))
    with pytest.raises(InputError, match="planned route, not a recorded track"):
        import_track(path, patroller="V01")


def test_accuracy_from_extensions_osmand_hdop_and_other_hdop(tmp_path):
    ext = "<extensions><accuracy>7.5</accuracy></extensions>"
    t = ("2024-06-05T08:00:00+08:00", "2024-06-05T08:00:05+08:00")
    a = import_track(write(tmp_path, "e.gpx", gpx(trk(*t, extra=ext))), patroller="V01")
    assert a.fixes["accuracy_m"].tolist() == [7.5, 7.5]
    hdop = "<hdop>4</hdop>"
    b = import_track(
        write(tmp_path, "f.gpx", gpx(trk(*t, extra=hdop), creator="OsmAnd~ 4.6")), patroller="V"
    )
    assert b.fixes["accuracy_m"].tolist() == [4.0, 4.0]  # OsmAnd writes metres as hdop
    c = import_track(write(tmp_path, "g.gpx", gpx(trk(*t, extra=hdop))), patroller="V")
    assert c.fixes["accuracy_m"].tolist() == [20.0, 20.0]  # HDOP x 5 m


def test_a_gzipped_gpx_is_read(tmp_path):
    text = gpx(trk("2024-06-05T08:00:00+08:00", "2024-06-05T08:00:05+08:00"))
    path = tmp_path / "h.gpx.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert len(import_track(path, patroller="V01").fixes) == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<gpx><trk>", "not a readable GPX file"),
        (
            '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]><gpx>&a;</gpx>',
            "declares a DOCTYPE",
        ),
        (gpx(""), "holds no track or route points"),
    ],
)
def test_broken_or_hostile_gpx_is_an_input_error(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        import_track(write(tmp_path, "x.gpx", text), patroller="V01")


def test_a_gpx_needs_to_be_told_whose_track_it_is(tmp_path):
    path = write(tmp_path, "i.gpx", gpx(trk("2024-06-05T08:00:00+08:00")))
    with pytest.raises(InputError, match=r"whose track is this\? .*--patroller ID"):
        import_track(path)


GBK_TABLE = (
    "某派出所车载定位导出\n"
    "人员编号,定位时间,经度(WGS84),纬度(WGS84),定位精度(米),速度\n"
    "A01,2024/6/5 8:00:00,121.4700,31.2300,5,1\n"
    "A01,2024年6月5日 8时00分10秒,121.4701,31.2301,6,1\n"
    "A02,2024-06-05 08:00:00,121.4800,31.2400,,0\n"
)


def test_a_gbk_csv_with_a_title_line_and_chinese_headers(tmp_path):
    result = import_track(write(tmp_path, "avl.csv", GBK_TABLE, "gbk"), mode="car")
    assert result.encoding == "gb18030" and result.file_format == "csv"
    assert dict(result.columns_used) == {
        "lon": "经度(WGS84)",
        "lat": "纬度(WGS84)",
        "time": "定位时间",
        "patroller": "人员编号",
        "accuracy": "定位精度(米)",
    }
    assert result.patrollers == ("A01", "A02")
    assert result.fixes["row"].tolist() == [3, 4, 5]  # file lines: title 1, header 2
    assert result.fixes["accuracy_m"].iloc[:2].tolist() == [5.0, 6.0]
    assert np.isnan(result.fixes["accuracy_m"].iat[2])
    assert result.fixes["time"].iat[1].strftime("%H:%M:%S") == "08:00:10"


def test_one_patroller_of_a_table_and_the_others_counted(tmp_path):
    path = write(tmp_path, "avl.csv", GBK_TABLE, "gbk")
    result = import_track(path, patroller="A01")
    assert result.patrollers == ("A01",) and result.n_other_patrollers == 1
    assert len(result.fixes) + len(result.rejects) + result.n_other_patrollers == result.n_read
    assert any("A02" in w for w in result.warnings)
    with pytest.raises(InputError, match=r"no row is of patroller 'B9'; the file has 'A01', 'A02'"):
        import_track(path, patroller="B9")


def test_a_table_without_a_patroller_column_needs_one(tmp_path):
    path = write(tmp_path, "one.csv", "time,lon,lat\n2024-06-05 08:00,121.47,31.23\n")
    with pytest.raises(ColumnError, match=r"cannot find the patroller column.*--patroller ID"):
        import_track(path)
    assert import_track(path, patroller="V07").patrollers == ("V07",)


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_chinese_datums_are_converted_exactly_as_incidents_are(tmp_path, datum):
    lon = np.array([121.4700, 121.4712, 121.4725])
    lat = np.array([31.2300, 31.2304, 31.2309])
    to = wgs84_to_gcj02 if datum == "gcj02" else wgs84_to_bd09
    x, y = to(lon, lat)
    rows = "".join(
        f"V1,2024-06-05 08:00:{10 * k:02d},{float(a)!r},{float(b)!r}\n"
        for k, (a, b) in enumerate(zip(x, y, strict=True))
    )
    path = write(tmp_path, "t.csv", "人员编号,时间,经度,纬度\n" + rows)
    config = dataclasses.replace(default_config(), coordinates=datum)
    result = import_track(path, config=config, mode="car")
    assert result.datum == datum
    np.testing.assert_allclose(result.fixes["lon"], lon, atol=1e-8)
    np.testing.assert_allclose(result.fixes["lat"], lat, atol=1e-8)
    incidents = import_incidents(path, config=config).incidents
    assert result.fixes["lon"].tolist() == incidents.geometry.x.tolist()
    assert result.fixes["lat"].tolist() == incidents.geometry.y.tolist()
    # --crs overrides the station's datum
    plain = import_track(path, config=config, datum="wgs84", mode="car")
    assert plain.fixes["lon"].tolist() == pytest.approx(x.tolist())


def test_an_xlsx_export(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["终端号", "GPS时间", "经度", "纬度"])
    ws.append(["T1", pd.Timestamp("2024-06-05 08:00:00").to_pydatetime(), 121.47, 31.23])
    ws.append(["T1", pd.Timestamp("2024-06-05 08:00:05").to_pydatetime(), 121.47, 31.2301])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    result = import_track(path)
    assert result.file_format == "xlsx" and result.patrollers == ("T1",)
    assert result.fixes["row"].tolist() == [2, 3]


BAD_ROWS = (
    "人员编号,定位时间,经度,纬度\n"
    "V1,2024-06-05 08:00:00,121.47,31.23\n"  # line 2: kept
    ",2024-06-05 08:00:05,121.47,31.23\n"  # 3: no patroller
    "V1,,121.47,31.23\n"  # 4: no time
    "V1,soon,121.47,31.23\n"  # 5: unreadable
    "V1,2024-02-30 08:00:00,121.47,31.23\n"  # 6: impossible date
    "V1,2024-06-05,121.47,31.23\n"  # 7: date only
    "V1,2024-06-05 08:00:10,,31.23\n"  # 8: no longitude
    "V1,2024-06-05 08:00:15,121.47,北\n"  # 9: latitude not a number
    "V1,2024-06-05 08:00:20,0,0\n"  # 10: 0,0
    "V1,2024-06-05 08:00:25,181,31.23\n"  # 11: longitude range
    "V1,2024-06-05 08:00:30,121.47,91\n"  # 12: latitude range
    "V1,2024-06-05 08:00:35,121.47,31.2301\n"  # 13: kept
)


def test_every_reading_reject_names_its_row_column_value_and_reason(tmp_path):
    result = import_track(write(tmp_path, "bad.csv", BAD_ROWS))
    assert result.fixes["row"].tolist() == [2, 13]
    got = result.rejects[["row", "column", "value", "reason_id"]].values.tolist()
    assert got == [
        [3, "人员编号", "", "tracks.patroller_missing"],
        [4, "定位时间", "", "tracks.time_missing"],
        [5, "定位时间", "soon", "tracks.time_unreadable"],
        [6, "定位时间", "2024-02-30 08:00:00", "tracks.time_impossible"],
        [7, "定位时间", "2024-06-05", "tracks.time_date_only"],
        [8, "经度", "", "tracks.coordinate_missing"],
        [9, "纬度", "北", "tracks.coordinate_not_number"],
        [10, "经度,纬度", "0,0", "tracks.zero"],
        [11, "经度", "181", "tracks.longitude_range"],
        [12, "纬度", "91", "tracks.latitude_range"],
    ]
    assert (result.rejects["source"] == str(tmp_path / "bad.csv")).all()
    assert result.rejects["reason"].iat[5] == "longitude is missing"
    assert len(result.fixes) + len(result.rejects) == result.n_read == 12
    summary = result.summary()
    assert summary["rejected"] == 10 and summary["rejected_by_reason"]["tracks.zero"] == 1


def test_a_table_with_no_usable_row_names_the_first_problems(tmp_path):
    path = write(tmp_path, "none.csv", "人员编号,定位时间,经度,纬度\nV1,,121.47,31.23\n")
    with pytest.raises(InputError, match=r"none of the 1 fixes can be used.*row 2 定位时间"):
        import_track(path)


def test_a_table_without_a_time_column_says_what_was_looked_for(tmp_path):
    path = write(tmp_path, "nt.csv", "人员编号,经度,纬度\nV1,121.47,31.23\n")
    with pytest.raises(ColumnError, match=r"cannot find the time column.*定位时间"):
        import_track(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        import_track(tmp_path / "nothing.gpx", patroller="V01")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(InputError, match="export the track again"):
        import_track(tmp_path / "empty.csv", patroller="V01")


def test_unknown_mode_and_datum(tmp_path):
    path = write(tmp_path, "one.csv", "time,lon,lat\n2024-06-05 08:00,121.47,31.23\n")
    with pytest.raises(InputError, match="mode 'horse' is not one of walk, bicycle, ebike, car"):
        import_track(path, patroller="V", mode="horse")
    with pytest.raises(InputError, match="coordinates 'utm' are not one of wgs84, gcj02, bd09"):
        import_track(path, patroller="V", datum="utm")
