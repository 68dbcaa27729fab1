"""Reading presence tables and past plans' stops (io/presence_files.py)."""

import datetime as dt

import pandas as pd
import pyogrio
import pytest

from gridplan import InputError
from gridplan.io.limits import ReadLimits
from gridplan.io.presence_files import read_planned
from gridplan.io.presence_files import read_presence_table

HEADER = "patroller,date,slice,micro_id,minutes\n"


def test_csv_in_utf8_or_gbk_with_escaped_cells(tmp_path):
    utf8 = tmp_path / "p.csv"
    utf8.write_text(HEADER + "'=A01,2024-06-05,day,S01-B1-M001,12.5\n", encoding="utf-8-sig")
    table = read_presence_table(utf8)
    assert table.to_dict("records") == [
        {
            "patroller": "=A01",  # written escaped by gridplan's CSV writer, read back
            "date": dt.date(2024, 6, 5),
            "slice": "day",
            "micro_id": "S01-B1-M001",
            "minutes": 12.5,
        }
    ]
    gbk = tmp_path / "gbk.csv"
    text = "patroller,date,slice,micro_grid,minutes\n义警一队,2024/6/5,day,S01-B1-M001,3\n"
    gbk.write_bytes(text.encode("gbk"))
    assert read_presence_table(gbk)["patroller"].tolist() == ["义警一队"]


def test_geopackage_table_without_geometry(tmp_path):
    path = tmp_path / "compliance.gpkg"
    frame = pd.DataFrame(
        {
            "patroller": ["A01"],
            "date": ["2024-06-05"],
            "slice": ["day"],
            "micro_id": ["S01-B1-M001"],
            "minutes": [7.0],
            "error_min": [0.5],
        }
    )
    pyogrio.write_dataframe(frame, path, layer="patrollers")
    pyogrio.write_dataframe(frame, path, layer="presence", append=True)
    pyogrio.write_dataframe(frame.assign(dwell_min=15, status="missed"), path, layer="stops",
                            append=True)  # fmt: skip
    assert read_presence_table(path)["minutes"].tolist() == [7.0]
    stops = read_planned(path)
    assert stops["status"].tolist() == ["missed"]
    with pytest.raises(InputError, match="has no layer 'nope'"):
        read_presence_table(path, layer="nope")


def test_limits_and_broken_files_are_clear_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "A01,2024-06-05,day,M,1\n" * 3, encoding="utf-8")
    with pytest.raises(InputError, match="IMPORT_MAX_ROWS"):
        read_presence_table(path, limits=ReadLimits(max_rows=2))
    with pytest.raises(InputError, match="file not found"):
        read_presence_table(tmp_path / "none.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"\xff\xfe\x00\x00" + b"\x81" * 10)
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        read_presence_table(latin)
    plan = tmp_path / "old.plan.json"
    plan.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"old\.plan\.json"):
        read_planned(plan)
