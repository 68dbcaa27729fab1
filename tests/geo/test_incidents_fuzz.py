"""Fuzzing the incident import: any file gives an ImportResult or a GridplanError.

Two properties, checked with a small station polygon:

- Tables written by the csv module (UTF-8, UTF-8 with BOM, GB18030 or UTF-16; comma, tab,
  semicolon or pipe; minimal or full quoting; LF, CRLF or CR line ends) whose cells hold
  random coordinates (NaN, inf, 1e308, swapped, text), random times (impossible ones too)
  and random text (quotes, delimiters, line breaks, NULs, byte-order marks, Chinese): the
  import gives an :class:`ImportResult` in which every data row written is kept or rejected
  once (duplicate ids are kept, so they count among the kept), or a GridplanError.
- Any bytes (broken quotes, mixed and unknown character sets, lone surrogates, binary):
  an ImportResult whose rows are each kept or rejected, or a GridplanError; no other
  exception.

CI runs 200 examples per property. For a longer run set ``GRIDPLAN_FUZZ_EXAMPLES``, e.g.
``GRIDPLAN_FUZZ_EXAMPLES=5000 python3 -m pytest tests/geo/test_incidents_fuzz.py``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import shapely
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan._errors import GridplanError
from gridplan.geo.incidents import ImportResult
from gridplan.geo.incidents import import_incidents

EXAMPLES = int(os.environ.get("GRIDPLAN_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: A small station: 2 km x 2 km around Tian'anmen.
STATION = shapely.box(116.38, 39.89, 116.42, 39.93)

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;\t|\"'\r\n\x00\ufeff \u3000盗窃诈骗经度纬度")),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=12,
)
NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(116.3, 116.5).map(lambda x: f"{x:.6f}"),
    st.floats(39.8, 40.0).map(lambda x: f"{x:.6f}"),
    st.sampled_from(["1e308", "-1e999", "0", "nan", "inf", "", " 116.4 ", "116,4", "１１６.４"]),
    TEXT,
)
TIME = st.one_of(
    st.builds(
        "{:04d}-{:02d}-{:02d} {:02d}:{:02d}".format,
        st.integers(1, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
    ),
    st.builds(
        "{}年{}月{}日 {}时{}分".format,
        st.integers(1890, 2110),
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 24),
        st.integers(0, 60),
    ),
    st.sampled_from(["2024-03-05 14:30", "20240305", "45356.5", "1709620200", "2024-02-30", ""]),
    TEXT,
)
ROW = st.tuples(TEXT, NUMBER, NUMBER, TIME, TEXT)


@st.composite
def tables(draw) -> tuple[bytes, int]:
    """A table written by the csv module, encoded, with the number of data rows in it."""
    rows = draw(st.lists(ROW, min_size=1, max_size=12))
    sep = draw(st.sampled_from([",", "\t", ";", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if any("\r" in cell or "\n" in cell for r in rows for cell in r):
        # the csv module leaves a line break unquoted unless it is in its lineterminator
        quoting = csv.QUOTE_ALL
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(
        st.sampled_from(
            [
                ("id", "lon", "lat", "time", "category"),
                ("警情编号", "经度", "纬度", "发生时间", "案件类别"),
            ]
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, quoting=quoting, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    return out.getvalue().encode(encoding), len(rows)


GARBAGE = st.one_of(
    st.binary(max_size=400),
    st.builds(
        lambda head, body, enc: (head + body).encode(enc, errors="replace"),
        st.sampled_from(["lon,lat,time\n", "经度,纬度,发生时间\r", 'x,y,"date\n', ""]),
        st.text(
            alphabet=st.sampled_from(list(',;"\n\r\x00\ufeff 0123456789.:-年月日盗窃')),
            max_size=300,
        ),
        st.sampled_from(["utf-8", "gbk", "utf-16-le", "utf-16-be", "latin-1"]),
    ),
    st.builds(
        lambda a, b: a.encode("gbk") + b.encode("utf-8") + b"\xed\xa0\x80\n" + a.encode(),
        st.just("经度,纬度,发生时间,类别\n116.40,39.91,2024-03-05 14:30,盗窃\n"),
        st.text(alphabet=st.sampled_from(list(",\n盗窃诈骗116.4039.91")), max_size=80),
    ),
)


def _import(data: bytes) -> ImportResult | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(data)
        try:
            return import_incidents(path, station=STATION)
        except GridplanError:
            return None


@FUZZ
@given(tables())
def test_every_row_written_is_kept_or_rejected_once(table):
    data, n_rows = table
    result = _import(data)
    if result is None:
        return
    kept, rejected = len(result.incidents), len(result.rejects)
    assert kept + rejected == result.n_rows == n_rows
    rows = [*result.incidents["source_row"], *result.rejects["row"]]
    assert len(set(rows)) == len(rows)


@FUZZ
@given(GARBAGE)
def test_any_bytes_give_a_result_or_a_gridplan_error(data):
    result = _import(data)
    if result is not None:
        assert len(result.incidents) + len(result.rejects) == result.n_rows
        assert result.n_rows >= 1
