# ruff: noqa: E501 - corpus data: long literal lines are the files themselves
"""A corpus of hostile and broken input files, built on demand: builders, not tests.

Each :class:`Hostile` is one file as a careless exporter or an attacker would hand it to a
station: broken encodings and line endings, impossible values, compression bombs, a
GeoPackage view that never ends, external entities, paths that lead out of the folder.
:func:`build_corpus` writes them all into a folder (nothing large is kept in the repository:
a bomb is a few hundred kilobytes until something inflates it).

``tests/test_hostile_cli.py`` runs every file through each command-line reader of its kind,
``tests/web/test_hostile_web.py`` through the web import, and
``benchmarks/hostile_corpus.py`` prints the time and memory each one takes.

The expectations are what a station needs: ``refused`` files give a clear message naming the
file and no traceback; ``partial`` files keep their good rows (``kept``) and reject the others
with row and reason (``rejected``); ``ok`` files import whole.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

GRID_FILE = Path(__file__).parent / "data" / "grid_clean.geojson"
#: a point inside micro-grid S01-B2-M1 of ``grid_clean.geojson`` (Hangzhou, WGS84)
LON, LAT = 120.1535, 30.2515
HEADER = "lon,lat,time,category\n"
GOOD = f"{LON},{LAT},2024-03-05 14:30,盗窃\n"
MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Hostile:
    """One file of the corpus and what gridplan must do with it."""

    name: str
    kind: str  # incidents | grid | lines | osm | config | plan
    expect: str  # refused | partial | ok | any (no crash is all that is asked)
    what: str
    kept: int | None = None
    rejected: int | None = None
    heavy: bool = False  # a bomb or a hang: run only in a guarded subprocess


_BUILDERS: list[tuple[Hostile, Callable[[Path], None]]] = []

#: the limits a hostile file meets in the tests (environment variables, as a user sets them),
#: lowered so that the row, vertex and time limits are reached quickly
LIMITS_ENV = {
    "GRIDPLAN_IMPORT_MAX_ROWS": "100",
    "GRIDPLAN_IMPORT_MAX_VERTICES": "100000",
    "GRIDPLAN_IMPORT_TIME_LIMIT_S": "10",
}
#: a guarded run is killed past these
TIMEOUT_S = 120
MEMORY_LIMIT = 3 * 1024**3


def commands(kind: str, path: Path, out: Path) -> list[list[str]]:
    """The ``gridplan`` command lines that read a corpus file of ``kind``."""
    grid = str(GRID_FILE)
    return {
        "incidents": [["incidents", "import", path, "--grid", grid, "--out", out / "i.csv", "--json"]],
        "grid": [["grids", "validate", path]],
        "lines": [["network", "build", "--lines", path, "--boundary", grid, "--out", out / "n.gpkg"]],
        "osm": [["network", "build", "--osm", path, "--boundary", grid, "--out", out / "n.gpkg"]],
        "config": [
            ["grids", "validate", grid, "--config", path],
            ["stations", "add", path, "--instance", out / "instance"],
        ],
        "plan": [["plan", "check", path]],
    }[kind]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Run:
    """How a guarded ``gridplan`` process ended."""

    code: int
    out: str
    err: str
    seconds: float
    peak_rss: int  # bytes
    timed_out: bool


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_guarded(args, *, env=None, timeout_s: float = TIMEOUT_S) -> Run:
    """Run ``gridplan args`` as its own process under a memory limit and a timeout.

    The peak resident memory is the process's own (``wait4``), not the test runner's.
    """
    cmd = [sys.executable, "-c", "from gridplan.cli import main; main()", *map(str, args)]
    env = {**os.environ, **LIMITS_ENV, **(env or {})}
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_limit_memory,
    )
    streams = {"out": b"", "err": b""}

    def drain(name, pipe):
        streams[name] = pipe.read()

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout)),
        threading.Thread(target=drain, args=("err", proc.stderr)),
    ]
    for t in readers:
        t.start()
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > timeout_s:
            timed_out = True
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    proc.stdout.close()
    proc.stderr.close()
    return Run(
        code=proc.returncode,
        out=streams["out"].decode(errors="replace"),
        err=streams["err"].decode(errors="replace"),
        seconds=time.monotonic() - start,
        peak_rss=usage.ru_maxrss * 1024,
        timed_out=timed_out,
    )


def hostile(name: str, kind: str, expect: str, what: str, **kw):
    """Register ``func(path)`` as the builder of corpus file ``name``."""

    def wrap(func: Callable[[Path], None]) -> Callable[[Path], None]:
        _BUILDERS.append((Hostile(name, kind, expect, what, **kw), func))
        return func

    return wrap


def _text(name, kind, expect, what, text, *, encoding="utf-8", **kw):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    hostile(name, kind, expect, what, **kw)(lambda p: p.write_bytes(data))


def build_corpus(folder: Path) -> list[tuple[Hostile, Path]]:
    """Write every corpus file into ``folder``; return each with its path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for case, build in _BUILDERS:
        path = folder / case.name
        build(path)
        out.append((case, path))
    return out


def cases() -> list[Hostile]:
    """The corpus, without building it (for test ids)."""
    return [case for case, _ in _BUILDERS]


# --------------------------------------------------------------------------- incident CSV

_text(
    "cr_only.csv",
    "incidents",
    "ok",
    "old-Mac CR-only line ends",
    (HEADER + GOOD * 3).replace("\n", "\r"),
    kept=3,
)
_text(
    "crlf.csv",
    "incidents",
    "ok",
    "Windows CRLF line ends",
    (HEADER + GOOD * 3).replace("\n", "\r\n"),
    kept=3,
)
_text(
    "mixed_line_ends.csv",
    "incidents",
    "ok",
    "LF, CRLF and CR mixed",
    HEADER + GOOD + GOOD.replace("\n", "\r\n") + GOOD.replace("\n", "\r"),
    kept=3,
)
_text(
    "long_cell_blank_line.csv",
    "incidents",
    "ok",
    "a 200 KB cell next to a blank line",
    HEADER + GOOD + "\n" + f'{LON},{LAT},2024-03-05 14:30,"{"盗" * 70000}"\n' + GOOD,
    kept=3,
)
_text(
    "long_line.csv",
    "incidents",
    "any",
    "one 5 MB line without a newline",
    HEADER + "x," * (2_500_000),
)
_text(
    "nul_in_cell.csv",
    "incidents",
    "ok",
    "a NUL byte inside a cell",
    HEADER + f"{LON},{LAT},2024-03-05 14:30,盗\x00窃\n" + GOOD,
    kept=2,
)
_text(
    "nul_in_header_area.csv",
    "incidents",
    "ok",
    "a NUL byte in the first 4 KB",
    HEADER + f"{LON},{LAT},2024-03-05 14:30,盗\x00\n" + GOOD * 2,
    kept=3,
)
_text(
    "impossible_time.csv",
    "incidents",
    "partial",
    "the time 25:61 and 2024-02-30",
    HEADER + GOOD + f"{LON},{LAT},2024-03-05 25:61,盗窃\n" + f"{LON},{LAT},2024-02-30 10:00,盗窃\n",
    kept=1,
    rejected=2,
)
_text(
    "mixed_encoding.csv",
    "incidents",
    "partial",
    "GBK file with one UTF-8 line",
    (HEADER + GOOD * 3).encode("gbk")
    + f"{LON},{LAT},2024-03-05 14:30,电动车被盗窃了\n".encode()
    + GOOD.encode("gbk"),
    kept=4,
    rejected=1,
)
_text(
    "utf16_no_bom.csv",
    "incidents",
    "any",
    "UTF-16-LE without a BOM",
    (HEADER + GOOD * 3).encode("utf-16-le"),
)
_text(
    "utf16_bom.csv",
    "incidents",
    "ok",
    "UTF-16 with BOM",
    (HEADER + GOOD * 3).encode("utf-16"),
    kept=3,
)
_text(
    "bom_in_middle.csv",
    "incidents",
    "ok",
    "a BOM before a data line",
    HEADER + "\ufeff" + GOOD + GOOD,
    kept=2,
)
_text(
    "unterminated_quote.csv",
    "incidents",
    "any",
    "a quote that never closes",
    HEADER + GOOD + f'{LON},{LAT},2024-03-05 14:30,"盗窃\n' + GOOD * 50,
)
_text(
    "wide_header.csv",
    "incidents",
    "refused",
    "100,000 columns",
    ",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("1" for _ in range(100_000)) + "\n",
)
_text("header_only.csv", "incidents", "refused", "a header and no rows", HEADER)
_text("blank_lines_only.csv", "incidents", "refused", "only blank lines", "\n\n\r\n  \n")
_text("empty.csv", "incidents", "refused", "0 bytes", b"")
_text(
    "png_as.csv",
    "incidents",
    "refused",
    "a PNG image named .csv",
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
)
_text(
    "random_binary.csv",
    "incidents",
    "refused",
    "random bytes",
    bytes((i * 7919 + 13) % 256 for i in range(20000)),
)
_text(
    "pdf_as.csv",
    "incidents",
    "refused",
    "a PDF named .csv",
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
)
_text(
    "formulas.csv",
    "incidents",
    "ok",
    "formula cells (CSV injection)",
    HEADER
    + f"{LON},{LAT},2024-03-05 14:30,=cmd|' /C calc'!A0\n"
    + f'{LON},{LAT},2024-03-05 14:31,=HYPERLINK("http://x")\n'
    + f"{LON},{LAT},2024-03-05 14:32,+1+1\n"
    + f"{LON},{LAT},2024-03-05 14:33,@SUM(1)\n",
    kept=4,
)
_text(
    "nan_inf_coords.csv",
    "incidents",
    "partial",
    "NaN, inf and 1e308 coordinates",
    HEADER
    + GOOD
    + "nan,30.25,2024-03-05 14:30,盗窃\ninf,-inf,2024-03-05 14:30,盗窃\n1e308,1e308,2024-03-05 14:30,盗窃\n",
    kept=1,
    rejected=3,
)
_text(
    "semicolons.csv",
    "incidents",
    "ok",
    "semicolon separated (European Excel)",
    (HEADER + GOOD * 2).replace(",", ";"),
    kept=2,
)
_text(
    "excel_sep_line.csv",
    "incidents",
    "any",
    "Excel's sep=; first line",
    "sep=;\n" + (HEADER + GOOD * 2).replace(",", ";"),
)
_text(
    "quoted_newlines.csv",
    "incidents",
    "ok",
    "quoted cells with line breaks",
    HEADER + f'{LON},{LAT},2024-03-05 14:30,"盗\n窃"\n' + GOOD,
    kept=2,
)
_text(
    "duplicate_headers.csv",
    "incidents",
    "any",
    "the same header twice",
    "lon,lon,lat,time,category\n" + f"{LON},{LON},{LAT},2024-03-05 14:30,盗窃\n",
)
_text(
    "nul_header.csv",
    "incidents",
    "any",
    "NUL bytes in the header",
    "lon\x00,lat,time\x00,category\n" + GOOD,
)
_text(
    "lone_surrogates.csv",
    "incidents",
    "partial",
    "UTF-8 encoded surrogates on one line",
    (HEADER + GOOD * 2).encode()
    + f"{LON},{LAT},2024-03-05 14:30,".encode()
    + b"\xed\xa0\x80\xed\xb0\x80\n"
    + GOOD.encode(),
    kept=3,
    rejected=1,
)
_text(
    "control_chars.csv",
    "incidents",
    "ok",
    "control and bidi characters in cells",
    HEADER + f"{LON},{LAT},2024-03-05 14:30,盗\x1b[31m窃\u202e\x08\n" + GOOD,
    kept=2,
)
_text(
    "script_category.csv",
    "incidents",
    "ok",
    "HTML in a category",
    HEADER
    + f"{LON},{LAT},2024-03-05 14:30,<script>alert(1)</script>\n"
    + f"{LON},{LAT},2024-03-05 14:31,<img src=x onerror=alert(1)>\n",
    kept=2,
)
_text(
    "far_dates.csv",
    "incidents",
    "partial",
    "years 0001, 9999 and 1e20 as a number",
    HEADER
    + GOOD
    + f"{LON},{LAT},0001-01-01 00:00,盗窃\n{LON},{LAT},9999-12-31 23:59,盗窃\n{LON},{LAT},100000000000000000000,盗窃\n",
    kept=1,
    rejected=3,
)
_text(
    "swapped_header_garbage.csv",
    "incidents",
    "refused",
    "a header of numbers only",
    "1,2,3,4\n" + GOOD * 2,
)
_text(
    "tab_separated.txt",
    "incidents",
    "ok",
    "tab separated .txt",
    (HEADER + GOOD * 2).replace(",", "\t"),
    kept=2,
)
_text(
    "gbk_title_line.csv",
    "incidents",
    "ok",
    "GBK with a title line above the header",
    ("某派出所警情明细表\n" + HEADER + GOOD * 2).encode("gbk"),
    kept=2,
)
_text(
    "many_rows_over_limit.csv",
    "incidents",
    "refused",
    "more rows than GRIDPLAN_IMPORT_MAX_ROWS allows in the test (50)",
    HEADER + GOOD * 200,
)
_text(
    "deep_json.geojson",
    "incidents",
    "refused",
    "JSON nested 100,000 levels",
    "[" * 100_000 + "]" * 100_000,
)


@hostile("bomb.csv.gz", "incidents", "refused", "510 KB gzip inflating to 500 MB", heavy=True)
def _gzip_bomb(path: Path) -> None:
    # a gzip file may hold several members one after the other (RFC 1952): compress 1 MB
    # once and repeat the member, as a bomb maker would
    member = gzip.compress(b"1" * MB, compresslevel=9)
    path.write_bytes(gzip.compress(HEADER.encode()) + member * 500)


@hostile("truncated.csv.gz", "incidents", "refused", "a gzip cut in the middle")
def _gzip_cut(path: Path) -> None:
    path.write_bytes(gzip.compress((HEADER + GOOD * 2000).encode())[:300])


@hostile("binary.csv.gz", "incidents", "refused", "gzip of random bytes")
def _gzip_binary(path: Path) -> None:
    path.write_bytes(gzip.compress(bytes((i * 31 + 7) % 256 for i in range(50000))))


@hostile("good.csv.gz", "incidents", "ok", "a sound gzip export", kept=20)
def _gzip_good(path: Path) -> None:
    path.write_bytes(gzip.compress((HEADER + GOOD * 20).encode()))


# --------------------------------------------------------------------------- XLSX


def _xlsx(path: Path, rows, *, mutate: Callable[[dict[str, bytes]], None] | None = None):
    """Write ``rows`` with openpyxl, then let ``mutate`` rewrite the zip's members."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    if mutate is None:
        return
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    mutate(members)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


_ROWS = [["lon", "lat", "time", "category"]] + [
    [LON, LAT, f"2024-03-05 14:{m:02d}", "盗窃"] for m in range(20)
]


@hostile(
    "dimension_understated.xlsx", "incidents", "ok", "<dimension> says A1:D4 for 21 rows", kept=20
)
def _xlsx_dimension(path: Path) -> None:
    def shrink(m):
        sheet = m["xl/worksheets/sheet1.xml"].decode()
        start = sheet.index("<dimension ref=")
        end = sheet.index("/>", start)
        m["xl/worksheets/sheet1.xml"] = (
            sheet[:start] + '<dimension ref="A1:D4"' + sheet[end:]
        ).encode()

    _xlsx(path, _ROWS, mutate=shrink)


@hostile("formula_cells.xlsx", "incidents", "ok", "formula and HYPERLINK cells", kept=2)
def _xlsx_formulas(path: Path) -> None:
    _xlsx(
        path,
        [
            _ROWS[0],
            [LON, LAT, "2024-03-05 14:30", '=HYPERLINK("http://x","y")'],
            [LON, LAT, "2024-03-05 14:31", "=1+1"],
        ],
    )


@hostile("no_shared_strings.xlsx", "incidents", "refused", "sharedStrings.xml missing")
def _xlsx_no_strings(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["lon", "lat"])
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    members["xl/worksheets/sheet1.xml"] = (
        sheet.replace('t="inlineStr"', 't="s"').replace("<is><t>lon</t></is>", "<v>5</v>").encode()
    )
    members.pop("xl/sharedStrings.xml", None)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@hostile("docx_as.xlsx", "incidents", "refused", "a Word document named .xlsx")
def _docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")


@hostile("truncated.xlsx", "incidents", "refused", "an xlsx cut in half")
def _xlsx_cut(path: Path) -> None:
    _xlsx(path, _ROWS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@hostile("bomb.xlsx", "incidents", "refused", "an xlsx whose sheet inflates to 300 MB", heavy=True)
def _xlsx_bomb(path: Path) -> None:
    _xlsx(path, _ROWS[:2])
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            if name == "xl/worksheets/sheet1.xml":
                with zf.open(name, "w", force_zip64=True) as fh:
                    fh.write(data.replace(b"</sheetData>", b""))
                    for _ in range(300):
                        fh.write(b" " * MB)
                    fh.write(b"</sheetData></worksheet>")
            else:
                zf.writestr(name, data)


@hostile("xxe.xlsx", "incidents", "any", "an external entity in the sheet XML")
def _xlsx_xxe(path: Path) -> None:
    def inject(m):
        sheet = m["xl/worksheets/sheet1.xml"].decode()
        decl = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        sheet = sheet.replace("?>", "?>" + decl, 1).replace("盗窃", "&e;", 1)
        m["xl/worksheets/sheet1.xml"] = sheet.encode()

    _xlsx(path, _ROWS[:3], mutate=inject)


@hostile("many_sheets.xlsx", "incidents", "ok", "300 empty sheets before the data", kept=3)
def _xlsx_sheets(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "空"
    for i in range(299):
        wb.create_sheet(f"s{i}")
    ws = wb.create_sheet("data")
    for row in _ROWS[:4]:
        ws.append(row)
    wb.save(path)


_text(
    "old_xls.xls",
    "incidents",
    "refused",
    "an old binary .xls",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
)


# --------------------------------------------------------------------------- grids (GeoJSON)


def _fc(features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


def _feature(fid, level, parent, coords, gtype="Polygon"):
    return {
        "type": "Feature",
        "properties": {"id": fid, "level": level, "parent_id": parent},
        "geometry": {"type": gtype, "coordinates": coords},
    }


_SQUARE = [[[120.15, 30.25], [120.16, 30.25], [120.16, 30.254], [120.15, 30.254], [120.15, 30.25]]]
_OPEN = [[[120.15, 30.25], [120.16, 30.25], [120.16, 30.254], [120.15, 30.254]]]


def _grid_with(coords_micro, gtype="Polygon") -> str:
    return _fc(
        [
            _feature("S01", "station", None, _SQUARE),
            _feature("S01-B1", "base", "S01", _SQUARE),
            _feature("S01-B1-M1", "micro", "S01-B1", coords_micro, gtype),
        ]
    )


_text(
    "unclosed_ring.geojson",
    "grid",
    "refused",
    "a ring whose last point is not its first",
    _grid_with(_OPEN),
)
_text(
    "two_point_ring.geojson",
    "grid",
    "refused",
    "a ring of two points",
    _grid_with([[[120.15, 30.25], [120.16, 30.25]]]),
)
_text(
    "one_point_ring.geojson",
    "grid",
    "refused",
    "a ring of one point",
    _grid_with([[[120.15, 30.25]]]),
)
_text("empty_ring.geojson", "grid", "refused", "an empty polygon", _grid_with([]))
_text(
    "nan_coords.geojson",
    "grid",
    "refused",
    "NaN in coordinates",
    _grid_with(
        [[[120.15, 30.25], [float("nan"), 30.25], [120.16, 30.254], [120.15, 30.25]]]
    ).replace("NaN", "NaN"),
)
_text(
    "huge_coords.geojson",
    "grid",
    "refused",
    "coordinates of 1e308",
    _grid_with([[[1e308, 1e308], [-1e308, 1e308], [0, -1e308], [1e308, 1e308]]]),
)
_text(
    "point_grid.geojson",
    "grid",
    "refused",
    "micro-grids that are points",
    _grid_with([120.155, 30.252], "Point"),
)
_text(
    "null_geometry.geojson",
    "grid",
    "refused",
    "a feature without geometry",
    _fc([{"type": "Feature", "properties": {"id": "S01", "level": "station"}, "geometry": None}]),
)
_text(
    "no_features.geojson",
    "grid",
    "refused",
    "a FeatureCollection without features",
    '{"type": "FeatureCollection"}',
)
_text(
    "features_not_list.geojson",
    "grid",
    "refused",
    "features is an object",
    '{"type": "FeatureCollection", "features": {"a": 1}}',
)
_text("truncated.geojson", "grid", "refused", "JSON cut in the middle", _grid_with(_SQUARE)[:150])
_text("not_geojson.geojson", "grid", "refused", "valid JSON, not GeoJSON", '{"hello": [1, 2, 3]}')
_text(
    "deep_nesting.geojson",
    "grid",
    "refused",
    "JSON nested 100,000 levels",
    '{"type": "FeatureCollection", "features": ' + "[" * 100_000 + "]" * 100_000 + "}",
)
_text(
    "gbk.geojson",
    "grid",
    "any",
    "GBK-encoded GeoJSON",
    _fc(
        [
            _feature("S01", "station", None, _SQUARE)
            | {"properties": {"id": "S01", "level": "station", "name": "警务室"}}
        ]
    ),
    encoding="gbk",
)
_text("utf16.geojson", "grid", "any", "UTF-16 GeoJSON", _grid_with(_SQUARE), encoding="utf-16")
_text(
    "self_parent.geojson",
    "grid",
    "refused",
    "a micro-grid that is its own parent",
    _fc([_feature("S01", "station", None, _SQUARE), _feature("M1", "micro", "M1", _SQUARE)]),
)
_text(
    "parent_cycle.geojson",
    "grid",
    "refused",
    "parents in a cycle",
    _fc(
        [
            _feature("A", "base", "B", _SQUARE),
            _feature("B", "base", "A", _SQUARE),
            _feature("M", "micro", "A", _SQUARE),
        ]
    ),
)
_text(
    "dangling_parent.geojson",
    "grid",
    "refused",
    "a parent that does not exist",
    _fc([_feature("S01", "station", None, _SQUARE), _feature("M1", "micro", "NOPE", _SQUARE)]),
)
_text(
    "unknown_crs.geojson",
    "grid",
    "refused",
    "a crs member naming an unknown CRS",
    json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}},
            "features": json.loads(_grid_with(_SQUARE))["features"],
        }
    ),
)
_text(
    "properties_array.geojson",
    "grid",
    "refused",
    "properties as an array",
    _fc(
        [
            {
                "type": "Feature",
                "properties": [1, 2],
                "geometry": {"type": "Polygon", "coordinates": _SQUARE},
            }
        ]
    ),
)
_text(
    "bowtie_everywhere.geojson",
    "grid",
    "refused",
    "self-crossing rings",
    _grid_with(
        [[[120.15, 30.25], [120.16, 30.254], [120.16, 30.25], [120.15, 30.254], [120.15, 30.25]]]
    ),
)
_text(
    "mixed_id_types.geojson",
    "grid",
    "any",
    "ids as numbers, strings, booleans and objects",
    _fc(
        [
            _feature("S01", "station", None, _SQUARE),
            _feature(7, "base", "S01", _SQUARE),
            _feature(True, "micro", 7, _SQUARE),
            _feature({"x": 1}, "micro", 7, _SQUARE),
        ]
    ),
)
_text(
    "script_names.geojson",
    "grid",
    "any",
    "HTML and formulas in names",
    _fc(
        [
            {
                "type": "Feature",
                "properties": {
                    "id": "S01",
                    "level": "station",
                    "name": "<script>alert(1)</script>=cmd|' /C calc'!A0",
                },
                "geometry": {"type": "Polygon", "coordinates": _SQUARE},
            }
        ]
    ),
)
_text(
    "vrt_as.geojson",
    "grid",
    "refused",
    "a GDAL VRT pointing at /etc/passwd",
    '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>',
)
_text(
    "vsicurl_in_json.geojson",
    "grid",
    "refused",
    "a GDAL network path as content",
    "/vsicurl/http://127.0.0.1:9/x.geojson",
)
_text(
    "kml_xxe.kml",
    "grid",
    "refused",
    "KML with an external entity",
    '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY e SYSTEM "file:///etc/passwd">]><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&e;</name><Polygon><outerBoundaryIs><LinearRing><coordinates>120.15,30.25 120.16,30.25 120.16,30.254 120.15,30.25</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>',
)
_text(
    "billion_laughs.kml",
    "grid",
    "refused",
    "KML entity expansion (billion laughs)",
    '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&i;</name><Point><coordinates>120.15,30.25</coordinates></Point></Placemark></Document></kml>',
)


@hostile(
    "million_vertices.geojson",
    "grid",
    "refused",
    "a micro-grid of 1,000,000 vertices (limit lowered to 100,000 in the test)",
    heavy=True,
)
def _many_vertices(path: Path) -> None:
    import numpy as np

    t = np.linspace(0, 2 * np.pi, 1_000_000, endpoint=False)
    ring = (
        np.column_stack([120.155 + 0.004 * np.cos(t), 30.252 + 0.002 * np.sin(t)]).round(7).tolist()
    )
    path.write_text(_grid_with([[*ring, ring[0]]]))


# --------------------------------------------------------------------------- GeoPackage


def _gpkg(path: Path, sql: str = "") -> None:
    """A real one-layer GeoPackage of the clean grid, then ``sql`` run on it."""
    import geopandas as gpd

    gpd.read_file(GRID_FILE).to_file(path, layer="grid", driver="GPKG")
    if sql:
        con = sqlite3.connect(path)
        con.executescript(sql)
        con.commit()
        con.close()


_RECURSIVE_VIEW = """
CREATE VIEW endless AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)
SELECT n AS fid, geom, 'x' || n AS id, 'micro' AS level, 'S01' AS parent_id FROM r, grid LIMIT -1;
INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('endless', 'features', 'endless', 4326);
INSERT INTO gpkg_geometry_columns VALUES ('endless', 'geom', 'POLYGON', 4326, 0, 0);
DELETE FROM gpkg_geometry_columns WHERE table_name = 'grid';
DELETE FROM gpkg_contents WHERE table_name = 'grid';
"""


@hostile(
    "recursive_view.gpkg", "grid", "refused", "a layer that is a view which never ends", heavy=True
)
def _gpkg_view(path: Path) -> None:
    _gpkg(path, _RECURSIVE_VIEW)


@hostile(
    "recursive_view_incidents.gpkg",
    "incidents",
    "refused",
    "an incident layer that is a never-ending view",
    heavy=True,
)
def _gpkg_view_incidents(path: Path) -> None:
    _gpkg(path, _RECURSIVE_VIEW)


@hostile("plain_sqlite.gpkg", "grid", "refused", "a SQLite database that is no GeoPackage")
def _plain_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()


@hostile("truncated.gpkg", "grid", "refused", "a GeoPackage cut in half")
def _gpkg_cut(path: Path) -> None:
    _gpkg(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@hostile("no_layers.gpkg", "grid", "refused", "a GeoPackage with its only layer dropped")
def _gpkg_empty(path: Path) -> None:
    _gpkg(path, "DELETE FROM gpkg_geometry_columns; DELETE FROM gpkg_contents; DROP TABLE grid;")


@hostile("trigger.gpkg", "grid", "any", "a trigger and a view calling load_extension")
def _gpkg_trigger(path: Path) -> None:
    _gpkg(
        path,
        "CREATE VIEW evil AS SELECT load_extension('/tmp/x.so') AS x; CREATE TRIGGER t AFTER INSERT ON grid BEGIN SELECT load_extension('/tmp/x.so'); END;",
    )


@hostile("many_layers.gpkg", "grid", "any", "a GeoPackage of 2,000 attribute tables")
def _gpkg_many(path: Path) -> None:
    sql = "".join(
        f"CREATE TABLE t{i} (fid INTEGER PRIMARY KEY, a); INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES ('t{i}', 'attributes', 't{i}');"
        for i in range(2000)
    )
    _gpkg(path, sql)


_text(
    "random.gpkg",
    "grid",
    "refused",
    "random bytes named .gpkg",
    b"SQLite format 3\x00" + bytes((i * 13) % 256 for i in range(8192)),
)


# --------------------------------------------------------------------------- zipped Shapefiles


def _shapefile_members(tmp: Path) -> dict[str, bytes]:
    import geopandas as gpd

    folder = tmp.parent / (tmp.name + ".d")
    folder.mkdir(exist_ok=True)
    gpd.read_file(GRID_FILE).to_file(folder / "grid.shp")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@functools.cache
def _zip_bomb_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("grid.geojson", "w", force_zip64=True) as fh:
            for _ in range(1024):
                fh.write(b" " * MB)
    return buffer.getvalue()


@hostile("zip_bomb.zip", "grid", "refused", "1 MB zip inflating to 1 GB", heavy=True)
def _zip_bomb(path: Path) -> None:
    path.write_bytes(_zip_bomb_bytes())


@hostile("zip_traversal.zip", "grid", "any", "member names leading out of the folder")
def _zip_traversal(path: Path) -> None:
    members = _shapefile_members(path)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr("../../" + name, data)


@hostile("zip_no_dbf.zip", "grid", "refused", "a Shapefile without its .dbf")
def _zip_no_dbf(path: Path) -> None:
    members = _shapefile_members(path)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            if not name.endswith(".dbf"):
                zf.writestr(name, data)


@hostile("zip_garbage_prj.zip", "grid", "any", "a Shapefile whose .prj is garbage")
def _zip_prj(path: Path) -> None:
    members = _shapefile_members(path)
    members["grid.prj"] = b"GEOGCS[\x00\xff garbage"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@hostile("zip_many_members.zip", "grid", "refused", "5,000 members, no .shp")
def _zip_many(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(5000):
            zf.writestr(f"f{i}.txt", b"x")


@hostile("zip_nested.zip", "grid", "refused", "a zip inside a zip")
def _zip_nested(path: Path) -> None:
    inner = path.with_suffix(".inner")
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("a.txt", b"x")
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(inner, "inner.zip")
    inner.unlink()


@hostile(
    "zip_lying_sizes.zip",
    "grid",
    "refused",
    "a zip whose header understates the inflated size",
    heavy=True,
)
def _zip_lying(path: Path) -> None:
    _zip_bomb(path)
    data = bytearray(path.read_bytes())
    # central directory: patch the declared uncompressed size of the (zip64) member to 1 KB
    i = data.rfind(b"PK\x01\x02")
    data[i + 24 : i + 28] = (1024).to_bytes(4, "little")
    path.write_bytes(bytes(data))


_text("fake.zip", "grid", "refused", "a text file named .zip", "not a zip")


# --------------------------------------------------------------------------- street lines, OSM


def _lines(features) -> str:
    return _fc([{"type": "Feature", "properties": {"name": "路"}, "geometry": g} for g in features])


_text(
    "lines_points.geojson",
    "lines",
    "refused",
    "points instead of street lines",
    _lines([{"type": "Point", "coordinates": [120.155, 30.252]}]),
)
_text(
    "lines_nan.geojson",
    "lines",
    "any",
    "street lines with NaN vertices",
    _lines(
        [
            {
                "type": "LineString",
                "coordinates": [[120.15, 30.25], [float("nan"), 30.251], [120.16, 30.252]],
            }
        ]
    ),
)
_text(
    "lines_degenerate.geojson",
    "lines",
    "any",
    "lines of one point and zero length",
    _lines(
        [
            {"type": "LineString", "coordinates": [[120.15, 30.25]]},
            {"type": "LineString", "coordinates": [[120.15, 30.25], [120.15, 30.25]]},
        ]
    ),
)
_text("lines_empty.geojson", "lines", "refused", "an empty FeatureCollection", _lines([]))
_text(
    "lines_far.geojson",
    "lines",
    "refused",
    "streets on another continent",
    _lines([{"type": "LineString", "coordinates": [[-122.6, 45.5], [-122.59, 45.5]]}]),
)
_text(
    "osm_garbage.osm.pbf",
    "osm",
    "refused",
    "random bytes named .osm.pbf",
    bytes((i * 17) % 256 for i in range(4096)),
)
_text(
    "osm_truncated.osm",
    "osm",
    "refused",
    "OSM XML cut in the middle",
    '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="30.25" lon="120.15"/><way id="2"><nd ref="1"/>',
)
_text(
    "osm_laughs.osm",
    "osm",
    "refused",
    "OSM XML entity expansion",
    '<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]><osm version="0.6"><node id="1" lat="30.25" lon="120.15"><tag k="name" v="&g;"/></node></osm>',
)
_text(
    "osm_xxe.osm",
    "osm",
    "refused",
    "OSM XML with an external entity",
    '<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY e SYSTEM "file:///etc/passwd">]><osm version="0.6"><node id="1" lat="30.25" lon="120.15"><tag k="name" v="&e;"/></node></osm>',
)

# --------------------------------------------------------------------------- station config (TOML)

_text(
    "syntax_error.toml",
    "config",
    "refused",
    "a TOML syntax error",
    '[station]\nid = "S01"\nname = 警务室\n',
)
_text(
    "wrong_type.toml",
    "config",
    "refused",
    "a slice start that is a number",
    '[station]\nid = "S01"\n[slices.night]\nstart = 22\nend = "06:00"\n',
)
_text(
    "bad_timezone.toml",
    "config",
    "refused",
    "an unknown time zone",
    '[station]\nid = "S01"\ntimezone = "Mars/Olympus"\n',
)
_text(
    "deep.toml",
    "config",
    "refused",
    "inline tables nested 10,000 levels",
    "a = " + "{b = " * 10_000 + "1" + "}" * 10_000 + "\n",
)
_text("nul.toml", "config", "refused", "a NUL byte in the TOML", '[station]\nid = "S\x0001"\n')
_text(
    "gbk.toml",
    "config",
    "refused",
    "a GBK-encoded TOML",
    '[station]\nid = "S01"\nname = "警务室"\n',
    encoding="gbk",
)
_text(
    "negative_weight.toml",
    "config",
    "refused",
    "a negative category weight",
    '[station]\nid = "S01"\n[scoring.category_weights]\n"盗窃" = -5\n',
)
_text(
    "unknown_key.toml",
    "config",
    "refused",
    "a misspelt section",
    '[station]\nid = "S01"\n[slcies.night]\nstart = "22:00"\n',
)
_text(
    "path_station_id.toml",
    "config",
    "refused",
    "a station id with a path in it",
    '[station]\nid = "../../etc"\nname = "x"\n',
)

# --------------------------------------------------------------------------- plan files

_text("plan_broken.plan.json", "plan", "refused", "broken JSON", '{"format": "gridplan-plan", ')
_text(
    "plan_deep.plan.json",
    "plan",
    "refused",
    "JSON nested 100,000 levels",
    "[" * 100_000 + "]" * 100_000,
)
_text(
    "plan_wrong_types.plan.json",
    "plan",
    "refused",
    "a plan whose fields have the wrong types",
    '{"format": "gridplan-plan", "version": "x", "routes": 5, "slices": "a"}',
)


@functools.cache
def _real_plan() -> dict:
    """A real plan of the lattice station (saved with the path of its network cache)."""
    import tempfile

    from _lattice import lattice_network
    from _lattice import make_config
    from _lattice import make_grid
    from _lattice import make_hotspots
    from _lattice import patroller

    from gridplan.io.planfile import plan_to_dict
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    grid = make_grid()
    config = make_config([patroller("A01", {"daily": ["06:00-10:00"]})])
    plan = plan_patrols(
        grid,
        make_hotspots(grid),
        lattice_network(),
        config,
        PlanRequest("2024-06-05", slices=["morning"]),
        params=SolveParams(time_limit_s=1, workers=1),
    )
    doc = plan_to_dict(plan)
    doc["settings"]["network"] = {"path": str(Path(tempfile.gettempdir()) / "net.gpkg")}
    return doc


def _plan_naming(network_path: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        doc = json.loads(json.dumps(_real_plan()))
        doc["settings"]["network"]["path"] = network_path
        path.write_text(json.dumps(doc), encoding="utf-8")

    return build


hostile("plan_etc_passwd.plan.json", "plan", "refused", "a plan naming /etc/passwd as its network")(
    _plan_naming("/etc/passwd")
)
hostile(
    "plan_traversal.plan.json", "plan", "refused", "a plan naming ../../etc/shadow as its network"
)(_plan_naming("../../../../../../etc/shadow"))
hostile(
    "plan_proc.plan.json", "plan", "refused", "a plan naming /proc/self/environ as its network"
)(_plan_naming("/proc/self/environ"))
