"""Reading hostile and broken incident tables: no crash, no bomb, no row lost in silence."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from gridplan._errors import InputError
from gridplan.geo import _tables
from gridplan.geo.incidents import ImportResult
from gridplan.geo.incidents import import_incidents
from gridplan.geo.incidents import preview_columns
from gridplan.io.limits import ReadLimits

HEADER = "警情编号,经度,纬度,发生时间,案件类别\n"


def row(i: int, category: str = "盗窃", time_: str = "2024-03-05 14:30") -> str:
    return f"J{i},116.40,39.91,{time_},{category}\n"


def write(tmp_path: Path, data: bytes, name: str = "jq.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def accounted(result: ImportResult) -> ImportResult:
    rows = list(result.incidents["source_row"]) + list(result.rejects["row"])
    assert len(rows) == len(set(rows)) == result.n_rows
    return result


def reasons(result: ImportResult) -> dict[int, str]:
    return dict(zip(result.rejects["row"], result.rejects["reason_id"], strict=True))


# --------------------------------------------------------------------------- line breaks, cells


def test_cr_only_line_endings_are_read(tmp_path):
    text = HEADER + row(1) + row(2, "诈骗") + "J3,abc,39.91,2024-03-05 14:30,x\n"
    path = write(tmp_path, text.replace("\n", "\r").encode("gbk"))
    result = accounted(import_incidents(path))
    assert list(result.incidents["category"]) == ["盗窃", "诈骗"]
    assert list(result.incidents["source_row"]) == [2, 3]
    assert reasons(result) == {4: "incidents.coordinate_not_number"}


def test_a_cell_over_128_kb_beside_blank_and_odd_lines(tmp_path):
    big = "x" * 200_000
    text = HEADER + row(1) + "\n" + f'J2,116.40,39.91,2024-03-05 14:30,"{big}"\n' + row(3)
    result = accounted(import_incidents(write(tmp_path, (text + '"odd\n').encode())))
    assert list(result.incidents["source_row"]) == [2, 4, 5]
    assert result.incidents["category"][1] == big
    assert reasons(result) == {6: "tables.unclosed_quote"}


def test_a_very_long_header_line_and_a_line_without_newline(tmp_path):
    path = write(tmp_path, (HEADER.strip() + "," + "y" * 300_000 + "\n" + row(1)).encode())
    assert len(accounted(import_incidents(path)).incidents) == 1
    one_line = write(tmp_path, ("经度,纬度," + "x" * 3_000_000).encode(), "one.csv")
    with pytest.raises(InputError, match=r"no data rows|cannot find"):
        import_incidents(one_line)


def test_an_unclosed_quote_rejects_the_line_where_it_opened(tmp_path):
    text = HEADER + row(1) + 'J2,116.40,39.91,2024-03-05 14:30,"盗窃\n' + row(3) + row(4)
    result = accounted(import_incidents(write(tmp_path, text.encode())))
    assert list(result.incidents["source_row"]) == [2, 4, 5]
    assert reasons(result) == {3: "tables.unclosed_quote"}
    assert result.rejects["value"][0].startswith("J2,116.40")


# --------------------------------------------------------------------------- NUL, BOM, binary


def test_a_nul_in_a_cell_is_removed_and_named(tmp_path):
    text = HEADER + row(1) + row(2, "盗\x00窃") + row(3)
    result = accounted(import_incidents(write(tmp_path, text.encode())))
    assert list(result.incidents["category"]) == ["盗窃"] * 3
    warning = next(w for w in result.warnings if w.id == "tables.nul_removed")
    assert "1 lines held NUL bytes" in warning and "(lines 3)" in warning


def test_a_stray_nul_in_the_first_bytes_is_not_binary(tmp_path):
    text = HEADER.replace("经度", "经\x00度") + row(1)
    assert len(import_incidents(write(tmp_path, text.encode())).incidents) == 1
    noise = bytes(range(256)) * 8
    with pytest.raises(InputError, match="holds binary data"):
        import_incidents(write(tmp_path, noise, "noise.csv"))


def test_a_byte_order_mark_in_the_middle_is_dropped(tmp_path):
    text = "\ufeff" + HEADER + row(1) + "\ufeff" + row(2) + "\ufeff" + HEADER + row(3)
    result = accounted(import_incidents(write(tmp_path, text.encode())))
    assert list(result.incidents["id"]) == ["J1", "J2", "J3"]
    assert reasons(result) == {4: "incidents.coordinate_not_number"}


def test_utf16_without_bom_is_text(tmp_path):
    for encoding in ("utf-16-le", "utf-16-be"):
        path = write(tmp_path, (HEADER + row(1) + row(2)).encode(encoding), f"{encoding}.csv")
        result = import_incidents(path)
        assert list(result.incidents["category"]) == ["盗窃", "盗窃"]
        assert result.encoding == encoding


# --------------------------------------------------------------------------- character sets


def test_a_utf8_line_in_a_gbk_file_is_rejected_not_misread(tmp_path):
    # GBK would decode these UTF-8 bytes without an error, as other characters
    data = (HEADER + row(1) + row(2)).encode("gbk") + row(3, "入室盗窃").encode()
    data += row(4).encode("gbk")
    result = accounted(import_incidents(write(tmp_path, data)))
    assert list(result.incidents["category"]) == ["盗窃", "盗窃", "盗窃"]
    assert result.encoding == "gb18030"
    assert result.rejects[["row", "reason_id"]].values.tolist() == [
        [4, "tables.line_other_charset"]
    ]
    assert "in UTF-8 while the rest of the file is in GB18030" in result.rejects["reason"][0]
    assert "入室盗窃" in result.rejects["value"][0]


def test_gbk_lines_in_a_utf8_file_are_rejected_with_their_numbers(tmp_path):
    data = (HEADER + row(1) + row(2) + row(3)).encode() + row(4, "盗窃").encode("gbk")
    data += row(5).encode() + row(6, "抢劫").encode("gbk")
    result = accounted(import_incidents(write(tmp_path, data)))
    assert list(result.incidents["source_row"]) == [2, 3, 4, 6]
    assert result.encoding == "utf-8"
    assert reasons(result) == {5: "tables.line_other_charset", 7: "tables.line_other_charset"}


def test_a_line_in_no_character_set_is_rejected_with_its_number(tmp_path):
    # \xed\xa0\x80 is a lone surrogate in UTF-8, and no GB18030 text either
    data = (HEADER + row(1)).encode() + row(2).encode()[:-1] + b"\xed\xa0\x80\n" + row(3).encode()
    result = accounted(import_incidents(write(tmp_path, data)))
    assert list(result.incidents["source_row"]) == [2, 4]
    rejected = result.rejects.iloc[0]
    assert rejected["row"] == 3 and rejected["reason_id"] == "tables.line_undecodable"
    assert "not valid UTF-8 text" in rejected["reason"] and "at byte 40" in rejected["reason"]


# --------------------------------------------------------------------------- times, coordinates


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-05 25:61",
        "2024-02-30",
        "2023-02-29 10:00",
        "2024年2月30日 10时",
        "2024/13/01 10:00",
    ],
)
def test_impossible_dates_and_clock_times_are_rejected(tmp_path, value):
    text = HEADER + row(1, time_=value) + row(2, time_="2024-02-29 23:59:59")
    result = accounted(import_incidents(write(tmp_path, text.encode())))
    assert result.rejects[["row", "value", "reason_id"]].values.tolist() == [
        [2, value, "incidents.time_impossible"]
    ]
    assert "does not exist" in result.rejects["reason"][0]
    assert str(result.incidents["time"][0]) == "2024-02-29 23:59:59+08:00"


def test_dates_far_outside_the_years_and_odd_coordinates_are_rejected(tmp_path):
    text = (
        HEADER
        + row(1, time_="9999-12-31 10:00")
        + row(2, time_="0001-01-01")
        + "J3,nan,39.91,2024-03-05 14:30,x\n"
        + "J4,inf,-inf,2024-03-05 14:30,x\n"
        + "J5,1e308,1e308,2024-03-05 14:30,x\n"
        + row(6)
    )
    result = accounted(import_incidents(write(tmp_path, text.encode())))
    assert list(result.incidents["source_row"]) == [7]
    assert reasons(result) == {
        2: "incidents.time_years",
        3: "incidents.time_years",
        4: "incidents.coordinate_not_number",
        5: "incidents.coordinate_not_number",
        6: "incidents.looks_projected",
    }


# --------------------------------------------------------------------------- wide and big files


def test_a_header_of_100000_columns_is_read_in_seconds(tmp_path):
    extra = ",".join(f"c{i}" for i in range(100_000))
    text = HEADER.strip() + "," + extra + "\n" + row(1) + '"J2",116.4,39.91,2024-03-05,x,1,2\n'
    start = time.perf_counter()
    result = accounted(import_incidents(write(tmp_path, text.encode())))
    assert time.perf_counter() - start < 30
    assert list(result.incidents["id"]) == ["J1", "J2"]


def test_rows_and_cells_are_limited_before_the_rows_are_parsed(tmp_path, monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("parsed before the limits were checked")

    monkeypatch.setattr(_tables, "_pandas_csv", parse)
    path = write(tmp_path, (HEADER + "".join(row(i) for i in range(50))).encode())
    with pytest.raises(
        InputError, match=r"number of rows \(50\) exceeds the limit of 10.*MAX_ROWS"
    ):
        import_incidents(path, limits=ReadLimits(max_rows=10))
    with pytest.raises(InputError, match=r"number of cells \(250\).*IMPORT_MAX_CELLS"):
        import_incidents(path, limits=ReadLimits(max_cells=100))


def test_a_gzip_bomb_is_stopped_and_a_truncated_gzip_named(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(HEADER.encode())
        for _ in range(64):
            fh.write(b"\n" * (1024 * 1024))
    with pytest.raises(InputError, match="compression bomb"):
        import_incidents(bomb)
    small = write(tmp_path, gzip.compress((HEADER + row(1)).encode()), "small.csv.gz")
    with pytest.raises(InputError, match=r"unpacked size .* IMPORT_MAX_MB"):
        preview_columns(small, limits=ReadLimits(max_bytes=20))
    plain = write(tmp_path, (HEADER + row(1)).encode())
    with pytest.raises(InputError, match="unpacked size"):
        import_incidents(plain, limits=ReadLimits(max_bytes=20))
    cut = write(tmp_path, gzip.compress((HEADER + row(1) * 500).encode())[:-30], "cut.csv.gz")
    with pytest.raises(InputError, match=r"cut\.csv\.gz: the \.gz file is damaged"):
        import_incidents(cut)


# --------------------------------------------------------------------------- XLSX


def workbook(path: Path, n: int = 3, edit=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["经度", "纬度", "发生时间", "类别"])
    for i in range(n):
        ws.append([116.4, 39.9, dt.datetime(2024, 3, 5, 14, i), "盗窃"])
    if edit is not None:
        edit(wb)
    wb.save(path)
    return path


def rewrite(path: Path, member: str, change) -> Path:
    """Rewrite one member of a zip (``change(bytes) -> bytes``, or None to drop it)."""
    out = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == member:
                data = change(data)
            if data is not None:
                zout.writestr(info.filename, data)
    return out


def test_an_xlsx_whose_dimension_understates_the_sheet_is_read_whole(tmp_path):
    sheet = "xl/worksheets/sheet1.xml"
    path = rewrite(
        workbook(tmp_path / "jq.xlsx", 20),
        sheet,
        lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:D5"/>', xml),
    )
    with zipfile.ZipFile(path) as zf:
        assert b'<dimension ref="A1:D5"/>' in zf.read(sheet)
    result = accounted(import_incidents(path))
    assert len(result.incidents) == 20 and result.incidents["source_row"].max() == 21


def test_xlsx_limits_bomb_and_rows(tmp_path):
    path = workbook(tmp_path / "jq.xlsx", 30)
    with pytest.raises(InputError, match=r"number of rows \(11\).*IMPORT_MAX_ROWS"):
        import_incidents(path, limits=ReadLimits(max_rows=10))
    with pytest.raises(InputError, match="number of cells"):
        import_incidents(path, limits=ReadLimits(max_cells=40))
    bomb = rewrite(path, "xl/worksheets/sheet1.xml", lambda xml: xml + b" " * (60 * 1024 * 1024))
    with pytest.raises(InputError, match="compression bomb"):
        import_incidents(bomb)


def test_broken_and_disguised_workbooks_are_named(tmp_path):
    path = workbook(tmp_path / "jq.xlsx", 2)
    sheet = "xl/worksheets/sheet1.xml"
    # a cell pointing into a shared-string table that is not there
    shared = rewrite(
        path,
        sheet,
        lambda xml: re.sub(
            rb'(<c r="D2")[^>]*><is><t>[^<]*</t></is></c>', rb'\1 t="s"><v>7</v></c>', xml
        ),
    )
    with pytest.raises(InputError, match=r"not a readable \.xlsx workbook \(IndexError"):
        import_incidents(shared)
    docx = tmp_path / "report.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    with pytest.raises(
        InputError, match=r"report\.xlsx: has the suffix \.xlsx but is not an Excel"
    ):
        import_incidents(docx)


def test_formula_cells_and_many_sheets(tmp_path):
    def edit(wb):
        wb.active["A3"] = "=1+1"  # a formula without a cached value: no longitude
        for i in range(300):
            wb.create_sheet(f"s{i}")

    result = accounted(import_incidents(workbook(tmp_path / "jq.xlsx", 3, edit)))
    assert list(result.incidents["source_row"]) == [2, 4]
    assert reasons(result) == {3: "incidents.coordinate_missing"}
    assert len(preview_columns(tmp_path / "jq.xlsx").columns) == 4


def test_a_brace_that_is_not_utf8_is_not_read_as_geojson(tmp_path):
    # found by the fuzz test: pyogrio raised UnicodeDecodeError on b"{\x80"
    assert _tables.sniff_kind(write(tmp_path, b"{\x80\x81,x\n")) == "csv"
    assert _tables.sniff_kind(write(tmp_path, b'{"type": "FeatureCollection"', "a.csv")) == "vector"
    for data in (b"{\x80", b"{\xc2"):
        with pytest.raises(InputError):
            import_incidents(write(tmp_path, data))


def test_a_first_data_row_with_too_many_fields_is_rejected_like_the_others(tmp_path):
    # pandas reads an over-long first record as carrying an index column, warns and cuts it
    text = "lon,lat,time\n116.4,39.9,2024-03-05 14:30,x\n116.4,39.9,2024-03-05 14:30\n"
    result = accounted(import_incidents(write(tmp_path, (text + "1,2,3,4\n").encode())))
    assert list(result.incidents["source_row"]) == [3]
    assert result.rejects[["row", "value"]].values.tolist() == [[2, "4 fields"], [4, "4 fields"]]


def test_a_long_line_of_far_too_many_fields_is_rejected_without_parsing_it(tmp_path):
    # 2.5 million fields on one 5 MB line: pandas built them all (1 GB, 9 s) to drop the line
    path = tmp_path / "calls.csv"
    good = "120.1535,30.2515,2024-03-05 14:30,盗窃\n"
    path.write_text("lon,lat,time,category\n" + good + "x," * 2_500_000 + "\n" + good)
    result = import_incidents(path)
    assert len(result.incidents) == 2
    assert result.rejects["row"].tolist() == [3]
    assert "2500001 fields" in result.rejects["value"].iloc[0]
    assert result.incidents["source_row"].tolist() == [2, 4]


def test_an_old_mac_gbk_file_with_one_utf8_line_keeps_its_gbk_rows(tmp_path):
    # Excel "CSV (Macintosh)" in GBK, with a line pasted from a UTF-8 export: bare CRs
    # must be line breaks before the lines are decoded one by one
    rows = ["编号,经度,纬度,发案时间,案由"]
    rows += [f"A{i},120.1535,30.2515,2024-03-05 14:{i:02d},盗窃" for i in range(5)]
    data = (
        "\r".join(rows).encode("gbk")
        + b"\r"
        + "B1,120.1535,30.2515,2024-03-05 15:00,电动车被盗\r".encode()
    )
    path = tmp_path / "mac.csv"
    path.write_bytes(data)
    result = import_incidents(path)
    assert len(result.incidents) == 5
    assert result.rejects["row"].tolist() == [7]
    assert result.rejects["reason_id"].tolist() == ["tables.line_other_charset"]
