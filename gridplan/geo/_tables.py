"""Reading raw incident tables (CSV, CSV.gz, XLSX, vector files) with user-visible row numbers.

The readers return the cells as they are (strings for CSV, Python values for XLSX) together
with the row number a user sees when opening the file: the file line for CSV (the header is
line 1) and the sheet row for XLSX. Interpreting the cells is :mod:`gridplan.geo.incidents`'
job. Character sets are tried in the order Chinese police exports use them: UTF-8 (with or
without BOM), then GB18030 (a superset of GBK/GB2312), then charset-normalizer's guess.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import sys
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gridplan._errors import GridplanError
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan.geo import _text
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import check_zip
from gridplan.io.limits import read_gzip
from gridplan.io.vector import check_file

_R_FIELDS = define(
    "tables.too_many_fields", N_("the line has %(fields)d fields but the header has %(header)d")
)
_W_ROW_NUMBERS = define(
    "tables.row_numbers",
    N_("row numbers may be off: the CSV has quoting the reader could not match line by line"),
)
_E_NOT_TABLE = define(
    "tables.not_a_table",
    N_(
        "%(path)s: this is %(what)s, not an incident table; give a CSV, XLSX, GeoJSON or "
        "GeoPackage file.%(hint)s"
    ),
)
_SAVE_AS = define("tables.hint.save_as_xlsx", N_(" Save it as .xlsx or CSV."))
_E_NOT_WORKBOOK = define(
    "tables.not_a_workbook",
    N_(
        "%(path)s: has the suffix %(suffix)s but is not an Excel workbook (.xlsx is a zip "
        "archive); open it in Excel and save it as .xlsx or CSV"
    ),
)
_E_BINARY = define(
    "tables.binary",
    N_(
        "%(path)s: holds binary data (first bytes %(head)s), not a text table; give a CSV, XLSX, "
        "GeoJSON or GeoPackage file"
    ),
)
_TABLE_FILES = define("tables.kinds", N_("a CSV, XLSX or GeoJSON file"))
_THE_TABLE = define("tables.what", N_("the incident table"))
_E_CSV = define(
    "tables.bad_csv",
    N_("%(path)s: not a readable CSV table (%(error)s); check quotes and delimiters"),
)
_R_UNCLOSED = define(
    "tables.unclosed_quote",
    N_(
        'a quote (") opens on this line and never closes, which would make the rest of the '
        "file one cell; the line was skipped: close or remove the quote"
    ),
)
_UNCLOSED_MANY = define(
    "tables.unclosed_quotes",
    N_("more than %(lines)d lines open a quote that never closes"),
)
_E_CSV_EMPTY = define(
    "tables.csv_empty", N_("%(path)s: the file is empty; export the incident table again")
)
_E_NO_SHEET = define(
    "tables.no_sheet", N_("%(path)s: has no sheet %(sheet)r; its sheets are %(sheets)s")
)
_E_NO_DATA_SHEET = define(
    "tables.no_data_sheet",
    N_("%(path)s: no sheet holds a header and data rows (sheets: %(sheets)s)"),
)
_E_SHEET_NO_ROWS = define(
    "tables.sheet_without_rows",
    N_("%(path)s: sheet %(sheet)r has a header (row %(row)d) but no data rows"),
)
_E_EMPTY = define(
    "tables.empty",
    N_("%(path)s: the file is empty (no header, no rows); export the incident table again"),
)
_E_XLSX = define(
    "tables.bad_xlsx",
    N_("%(path)s: not a readable .xlsx workbook (%(error)s); save it again from Excel"),
)
_E_DUPLICATE_HEADER = define(
    "tables.duplicate_header",
    N_(
        "%(path)s: the header repeats column name(s) %(names)s; rename them so that every "
        "column has its own name"
    ),
)

_SAMPLE_BYTES = 1 << 20
_HEAD_BYTES = 4096  # what sniff_kind reads
#: What a reader may take from a file unless told otherwise (frozen, so shared).
DEFAULT_LIMITS = ReadLimits()
#: Field size the csv module accepts (its default is 128 KB); the read limits bound a file.
_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)
#: Lines with a quote that never closes, skipped one by one before the file is refused.
_MAX_UNCLOSED = 20
#: Columns above which a table with quotes is read with usecols (see _read_csv_as).
_WIDE_HEADER = 256
#: Lines longer than this many bytes are checked for far more fields than the header has ...
_LONG_LINE_BYTES = 256 * 1024
#: ... namely more than this many beyond it (such a line is emptied before pandas parses it).
_EXTRA_FIELDS = 1000
_DELIMITERS = (",", "\t", ";", "|")

#: Leading bytes of common non-table files, to say what a file is instead of "cannot parse".
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", define("tables.file.png", N_("a PNG image"))),
    (b"\xff\xd8\xff", define("tables.file.jpeg", N_("a JPEG image"))),
    (b"GIF8", define("tables.file.gif", N_("a GIF image"))),
    (b"%PDF", define("tables.file.pdf", N_("a PDF document"))),
    (b"\xd0\xcf\x11\xe0", define("tables.file.office", N_("an old Office file (.xls/.doc)"))),
    (b"Rar!", define("tables.file.rar", N_("a RAR archive"))),
    (b"7z\xbc\xaf", define("tables.file.7z", N_("a 7-Zip archive"))),
)


@dataclasses.dataclass
class RawTable:
    """Cells of one table and where each row came from."""

    frame: pd.DataFrame
    rows: np.ndarray
    kind: str
    header: list[str]
    encoding: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    bad_rows: list[tuple[int, str, str, Message]] = dataclasses.field(default_factory=list)
    warnings: list[Message] = dataclasses.field(default_factory=list)


def sniff_kind(path: Path) -> str:
    """Return ``"csv"``, ``"xlsx"`` or ``"vector"`` from the suffix and the first bytes.

    Raises
    ------
    InputError
        If the file is missing, empty, a folder, or clearly not a table (an image, a PDF, ...).
    """
    check_file(path, kinds=_TABLE_FILES(), what=_THE_TABLE())
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-1] if suffixes else ""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            hint = _SAVE_AS() if what.id == "tables.file.office" else ""
            raise InputError(_E_NOT_TABLE(path=str(path), what=what(), hint=hint))
    if head.startswith(b"SQLite format 3\x00"):
        return "vector"
    if head.startswith(b"PK\x03\x04"):
        if suffix in (".xlsx", ".xlsm"):
            return "xlsx"
        try:
            with zipfile.ZipFile(path) as zf:
                if "xl/workbook.xml" in zf.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
        return "vector"
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raise InputError(_E_NOT_WORKBOOK(path=str(path), suffix=suffix))
    if head.startswith(b"\x1f\x8b"):
        return "csv"
    if suffix in (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml", ".zip"):
        return "vector"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    if _text.utf16_without_bom(head) is not None:
        return "csv"
    if _text.looks_binary(head):
        # a stray NUL in a cell is text; many control bytes are not
        raise InputError(_E_BINARY(path=str(path), head=repr(head[:8])))
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and _utf8_head(head):
        return "vector"  # GeoJSON is UTF-8 (RFC 7946): a "{" in another charset is text
    return "csv"


def _utf8_head(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _HEAD_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def _decode_sample(data: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(data, final=len(data) < _SAMPLE_BYTES)


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _find_header(head_text: str) -> tuple[int, str, list[str]]:
    """Return the header's 0-based line index, the delimiter and the column names.

    The header is the first line with at least two non-empty fields: Chinese statistical
    exports often start with a title line (``XX派出所警情明细表``) that is not the header.
    """
    lines = head_text.split("\n")
    for index, line in enumerate(lines[:50]):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        sep = _sniff_delimiter(line)
        fields = next(_csv_reader([line], sep), [])
        if sum(bool(f.strip()) for f in fields) >= 2:
            return index, sep, [f.strip() or f"column {j + 1}" for j, f in enumerate(fields)]
    first = next((ln.rstrip("\r") for ln in lines if ln.strip()), "")
    sep = _sniff_delimiter(first)
    return 0, sep, [f.strip() for f in next(_csv_reader([first], sep), [])]


def _csv_reader(lines: Iterable[str], sep: str) -> Iterator[list[str]]:
    """Return :func:`csv.reader` over ``lines`` as pandas reads them, for cells of any size.

    The csv module refuses fields over 128 KB by default, a limit of its own that the read
    limits (:class:`~gridplan.io.limits.ReadLimits`) replace; raising it never lowers it for
    another caller.
    """
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    return csv.reader(lines, delimiter=sep, skipinitialspace=True)


def _line_count(data: bytes) -> int:
    """Count the lines of the file (a final line without a newline counts)."""
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _has_padding(raw: bytes, sep: str) -> bool:
    """Whether any cell may start or end with whitespace (so cells must be stripped).

    Stripping a million Python strings costs about a second per column; scanning the bytes
    for blanks next to a delimiter, quote or line break costs a fraction of that. In UTF-8
    and GB18030 these ASCII bytes never occur inside a multi-byte character.
    """
    if len(sep.encode()) != 1:
        return True
    if b"\xe3\x80\x80" in raw or b"\xa1\xa1" in raw:  # full-width space (UTF-8, GBK)
        return True
    arr = np.frombuffer(raw, dtype=np.uint8)
    blanks = np.flatnonzero((arr == 0x20) | (arr == 0x09))
    if blanks.size == 0:
        return False
    bounds = np.array([ord(sep), 0x0A, 0x0D, 0x22], dtype=np.uint8)
    before = arr[np.maximum(blanks - 1, 0)]
    after = arr[np.minimum(blanks + 1, arr.size - 1)]
    at_edge = (blanks == 0) | (blanks == arr.size - 1)
    return bool(at_edge.any() or np.isin(before, bounds).any() or np.isin(after, bounds).any())


def tidy_strings(frame: pd.DataFrame, *, strip: bool = True) -> pd.DataFrame:
    """Return a copy with text cells stripped and empty text as missing (NaN)."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_string_dtype(values) and values.dtype != object:
            if strip:
                values = values.str.strip()
                out[col] = values.mask(values == "")
    return out


def _records(text: str, sep: str, skip: int) -> Iterator[tuple[int, list[str]]]:
    """Yield each record below the title lines with the file line it starts on.

    Mirrors pandas' C parser: quoted fields may span lines; blank lines give empty records.
    """
    stream = io.StringIO(text, newline="")
    for _ in range(skip):  # title lines above the header
        stream.readline()
    reader = _csv_reader(stream, sep)
    previous = skip
    for record in reader:
        start = previous + 1
        previous = skip + reader.line_num
        yield start, record


def _record_lines(
    text: str, sep: str, n_header: int, skip: int
) -> tuple[list[int], list[tuple[int, int]], list[bool]]:
    """Return the first lines of the data records and the records with too many fields.

    The third list says, for each record in order, whether it has too many fields. Mirrors
    pandas' C parser: blank lines are skipped, quoted fields may span lines, and a record
    with more fields than the header is dropped (``on_bad_lines="skip"``).
    """
    starts: list[int] = []
    bad: list[tuple[int, int]] = []
    is_bad: list[bool] = []
    seen_header = False
    for start, record in _records(text, sep, skip):
        if not record:
            continue
        if not seen_header:
            seen_header = True
            continue
        is_bad.append(len(record) > n_header)
        if is_bad[-1]:
            bad.append((start, len(record)))
            continue
        starts.append(start)
    return starts, bad, is_bad


def _read_bytes(path: Path, limits: ReadLimits) -> bytes:
    """Return the file's bytes, inflated if gzipped, within ``limits.max_bytes``."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return read_gzip(path, limits)
    limits.check("max_bytes", path.stat().st_size, path)
    return path.read_bytes()


def read_csv_table(
    path: Path,
    *,
    encoding: str | None,
    select: Callable[[list[str]], Sequence[str]],
    numeric: Callable[[list[str]], Sequence[str]],
    max_rows: int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> RawTable:
    """Read a CSV (or .csv.gz) file.

    Parameters
    ----------
    path
        The file.
    encoding
        Explicit character set, or None to detect it.
    select
        Called with the header; returns the columns to read (others are skipped for speed).
    numeric
        Called with the header; returns the columns pandas may parse as numbers (coordinates).
    max_rows
        Read only the first rows (a preview); their row numbers are then not reconciled
        with blank or malformed lines, and the row limits are not checked.
    limits
        Unpacked bytes, rows and cells (rows times header columns) the file may have; rows
        and cells are checked from the line count before the rows are parsed.

    Raises
    ------
    InputError
        If the file is empty, exceeds a limit, cannot be decoded or parsed as a table.
    """
    raw = _read_bytes(path, limits)
    if not raw.strip(b"\xef\xbb\xbf\xff\xfe \t\r\n\x00"):
        raise InputError(_E_EMPTY(path=str(path)))
    decoded = _text.decode_csv(str(path), raw, encoding)
    del raw  # the decoded copy is all that is needed now: a big file is held once
    table = _read_csv_as(
        path, decoded, select=select, numeric=numeric, max_rows=max_rows, limits=limits
    )
    table.warnings[:0] = decoded.warnings
    return table


def _read_csv_as(
    path: Path,
    decoded: _text.Decoded,
    *,
    select: Callable[[list[str]], Sequence[str]],
    numeric: Callable[[list[str]], Sequence[str]],
    max_rows: int | None,
    limits: ReadLimits,
) -> RawTable:
    data, encoding = decoded.data, decoded.encoding
    head_text = _decode_sample(data[:_SAMPLE_BYTES], encoding).lstrip("\ufeff")
    skip, sep, header = _find_header(head_text)
    check_header(path, header)
    bad_rows = [(line, "(line)", shown, reason) for line, shown, reason in decoded.bad_lines]
    if not encoding.startswith("utf-16"):
        data = _drop_overlong_lines(data, sep, len(header), bad_rows)
    lines = _line_count(data)
    if max_rows is None:
        # the line count bounds the records: refuse a huge table before parsing it
        estimate = max(lines - skip - 1, 0)
        limits.check("max_rows", estimate, path)
        limits.check("max_cells", estimate * len(header), path)
    selected = set(select(header))
    wanted = [c for c in header if c in selected]
    numbers = set(numeric(header))
    dtypes = {c: str for c in wanted if c not in numbers}
    # Skipping unused columns (usecols) saves time, but pandas then silently keeps records
    # with too many fields instead of dropping them. Use it only when every line provably
    # has as many fields as the header: no quotes and the right number of delimiters.
    simple = b'"' not in data and data.count(sep.encode()) == (len(header) - 1) * lines
    # A wide table (an attacker's 100,000 columns) is read with usecols all the same: pandas
    # builds one Series per column read. Its records with too many fields are then found
    # and dropped with the csv module (_reconcile_rows), as pandas would have.
    wide = not simple and len(header) > _WIDE_HEADER and max_rows is None
    options = {
        "sep": sep,
        "encoding": encoding,
        "skiprows": skip,
        "names": header,
        "usecols": wanted if simple or wide else None,
        "dtype": dtypes,
        "nrows": max_rows,
    }
    frame, data = _parse_unclosed(path, data, options, bad_rows)
    drop = wide or bool(frame.attrs.get("kept_long"))
    frame = frame[wanted].reset_index(drop=True)
    frame = tidy_strings(frame, strip=_has_padding(data, sep))
    n = len(frame)
    table = RawTable(
        frame=frame,
        rows=np.arange(skip + 2, skip + n + 2, dtype=np.int64),
        kind="csv",
        header=header,
        encoding=decoded.label,
        bad_rows=bad_rows,
    )
    # Row numbers are file lines; they only differ from index + 2 when the file has blank
    # lines, quoted line breaks or malformed records, which the slow path below accounts for.
    if drop or (max_rows is None and lines != skip + n + 1):
        _reconcile_rows(table, data.decode(encoding, errors="replace"), sep, skip, drop=drop)
    if max_rows is None:
        limits.check("max_rows", len(table.frame) + len(table.bad_rows), path)
    return table


def _drop_overlong_lines(data: bytes, sep: str, width: int, bad_rows: list) -> bytes:
    """Empty the long lines that have far more fields than the header; list them as bad.

    Such a line is rejected anyway (too many fields), but pandas' parser first builds every
    field of it: a 5 MB line of commas took a gigabyte and nine seconds. Only lines over
    :data:`_LONG_LINE_BYTES` are counted, so ordinary files pay one scan for line breaks.
    The line break stays, so the lines after keep their numbers.
    """
    if len(data) <= _LONG_LINE_BYTES or len(sep.encode()) != 1:
        return data
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(data)]])
    pieces, kept_from = [], 0
    for i in np.flatnonzero(ends - starts > _LONG_LINE_BYTES).tolist():
        fields = data.count(sep.encode(), int(starts[i]), int(ends[i])) + 1
        if fields > width + _EXTRA_FIELDS:
            shown = f"{fields} fields"
            bad_rows.append((i + 1, "(line)", shown, _R_FIELDS(fields=fields, header=width)))
            pieces.append(data[kept_from : int(starts[i])])
            kept_from = int(ends[i])
    if not pieces:
        return data
    return b"".join([*pieces, data[kept_from:]])


def _reconcile_rows(table: RawTable, text: str, sep: str, skip: int, *, drop: bool) -> None:
    """Give each row its file line; list records with too many fields as bad rows.

    With ``drop``, the frame still holds those records (read with usecols) and they are
    dropped from it.
    """
    width = len(table.header)
    try:
        starts, bad, is_bad = _record_lines(text.lstrip("\ufeff"), sep, width, skip)
    except csv.Error:
        starts, bad, is_bad = [], [], []
    if drop and len(is_bad) == len(table.frame):
        table.frame = table.frame[~np.asarray(is_bad, dtype=bool)].reset_index(drop=True)
    for line, fields in bad:
        table.bad_rows.append(
            (line, "(line)", f"{fields} fields", _R_FIELDS(fields=fields, header=width))
        )
    table.bad_rows.sort(key=lambda bad_row: bad_row[0])
    if len(starts) == len(table.frame):
        table.rows = np.asarray(starts, dtype=np.int64)
    else:
        table.warnings.append(_W_ROW_NUMBERS())


def _parse_unclosed(
    path: Path, data: bytes, options: dict[str, Any], bad_rows: list
) -> tuple[pd.DataFrame, bytes]:
    """Parse with pandas; a line whose quote never closes is rejected and the rest parsed.

    An opening quote that is never closed would make the rest of the file one cell: pandas
    stops with "EOF inside string". The line where that record starts is blanked (so line
    numbers stay), listed in ``bad_rows``, and the file parsed again.
    """
    for _ in range(_MAX_UNCLOSED):
        try:
            return _pandas_csv(path, data, options), data
        except _Unclosed:
            text = data.decode(options["encoding"], errors="replace")
            line = _last_record_start(text, options["sep"], options["skiprows"])
            if line is None:
                break
            bad_rows.append((line, "(line)", _line_text(text, line), _R_UNCLOSED()))
            data = _blank_line(data, line)
    msg = _E_CSV(path=str(path), error=_UNCLOSED_MANY(lines=_MAX_UNCLOSED))
    raise InputError(msg)


class _Unclosed(Exception):
    """pandas found a quoted field that runs to the end of the file."""


def _pandas_csv(path: Path, data: bytes, options: dict[str, Any]) -> pd.DataFrame:
    """Parse with pandas; ``frame.attrs["kept_long"]`` says it kept a record too long.

    pandas drops records with more fields than the header (``on_bad_lines="skip"``) except
    the first data record, which it reads as having an index column: with
    ``index_col=False`` it then warns and cuts the record. The caller drops that record.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = _pandas_parse(path, data, options)
    kept_long = False
    for warning in caught:
        if issubclass(warning.category, pd.errors.ParserWarning):
            kept_long = True
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    frame.attrs["kept_long"] = kept_long
    return frame


def _pandas_parse(path: Path, data: bytes, options: dict[str, Any]) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.BytesIO(data),
            encoding_errors="replace",
            header=0,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            index_col=False,
            on_bad_lines="skip",
            skipinitialspace=True,
            low_memory=False,
            **options,
        )
    except pd.errors.ParserError as exc:
        if "EOF inside string" in str(exc):
            raise _Unclosed() from exc
        raise InputError(_E_CSV(path=str(path), error=str(exc))) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(_E_CSV_EMPTY(path=str(path))) from exc


def _last_record_start(text: str, sep: str, skip: int) -> int | None:
    """Return the line the last record starts on (where a never-closed quote opened)."""
    last = None
    for start, record in _records(text, sep, skip):
        if record:
            last = start
    return None if last is None or last <= skip + 1 else last


def _line_text(text: str, line: int) -> str:
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)][:80]


def _blank_line(data: bytes, line: int) -> bytes:
    """Empty line ``line`` (1-based) of ``data``, keeping its line break."""
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
    end = data.find(b"\n", start)
    return data[:start] + (data[end:] if end >= 0 else b"")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _open_workbook(path: Path, limits: ReadLimits) -> Any:
    """Open an .xlsx read-only after checking it is a workbook and no zip bomb."""
    import openpyxl

    check_zip(path, limits)  # an .xlsx is a zip: refuse a bomb before openpyxl unpacks it
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    if not any(name.startswith("xl/") for name in names):
        # a Word or PowerPoint file, or another zip, renamed to .xlsx
        raise InputError(_E_NOT_WORKBOOK(path=str(path), suffix=path.suffix or ".xlsx"))
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises what its XML parsing of a broken file hits
        raise InputError(_E_XLSX(path=str(path), error=_exception_text(exc))) from exc


def _exception_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _sheet_rows(ws: Any, path: Path, limits: ReadLimits) -> list[tuple[int, tuple]]:
    """Return the sheet's non-empty rows with their row numbers, within the row/cell limits.

    Read-only openpyxl trusts the sheet's ``<dimension>`` element, which some exporters
    write too small (rows past it would be dropped without a word): it is reset, so that
    every row in the sheet's XML is read.
    """
    ws.reset_dimensions()
    out = []
    n_cells = 0
    for index, row in enumerate(ws.iter_rows(values_only=True)):
        n_cells += len(row)
        if index >= limits.max_rows:
            limits.check("max_rows", index + 1, path)
        if n_cells > limits.max_cells:
            limits.check("max_cells", n_cells, path)
        if any(v is not None and str(v).strip() != "" for v in row):
            out.append((index + 1, row))
    return out


def _pick_sheet(
    wb: Any, path: Path, sheet: str | int | None, limits: ReadLimits
) -> tuple[str, list[tuple[int, tuple]]]:
    """Return the sheet to read (``sheet``, else the first with data) and its rows."""
    names = list(wb.sheetnames)
    if sheet is not None:
        if isinstance(sheet, int) and 0 <= sheet < len(names):
            sheet = names[sheet]
        if sheet not in names:
            shown = ", ".join(map(repr, names))
            raise InputError(_E_NO_SHEET(path=str(path), sheet=sheet, sheets=shown))
        order = [str(sheet)]
    else:
        order = names
    for name in order:
        cells = _sheet_rows(wb[name], path, limits)
        if len(cells) >= 2 or (sheet is not None and cells):
            return name, cells
    raise InputError(_E_NO_DATA_SHEET(path=str(path), sheets=", ".join(names)))


def read_xlsx_table(
    path: Path, *, sheet: str | int | None, limits: ReadLimits = DEFAULT_LIMITS
) -> RawTable:
    """Read one sheet of an XLSX workbook (``sheet``, else the first non-empty one).

    Raises
    ------
    InputError
        If the file is not a readable workbook, a zip bomb, has no such sheet or no data,
        or exceeds the row or cell limit.
    """
    with warnings.catch_warnings():
        # openpyxl warns about styles and data validation it does not read; values are fine
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        wb = _open_workbook(path, limits)
        try:
            name, cells = _pick_sheet(wb, path, sheet, limits)
            names = tuple(wb.sheetnames)
        except GridplanError:
            raise
        except Exception as exc:  # a damaged sheet: missing shared strings, bad XML, ...
            raise InputError(_E_XLSX(path=str(path), error=_exception_text(exc))) from exc
        finally:
            wb.close()
    # the header is the first row with two or more cells; a title row above it is skipped
    start = next(
        (i for i, (_, r) in enumerate(cells) if sum(_cell_text(v) != "" for v in r) >= 2), 0
    )
    cells = cells[start:]
    header_row, header_cells = cells[0]
    width = max(len(r) for _, r in cells)
    header = []
    for j in range(width):
        value = header_cells[j] if j < len(header_cells) else None
        text = _cell_text(value)
        header.append(text or f"column {j + 1}")
    if not cells[1:]:
        raise InputError(_E_SHEET_NO_ROWS(path=str(path), sheet=name, row=header_row))
    check_header(path, header)
    data = [tuple(r) + (None,) * (width - len(r)) for _, r in cells[1:]]
    frame = pd.DataFrame.from_records(data, columns=range(width))
    frame.columns = header
    frame = frame.astype(object)
    rows = np.asarray([i for i, _ in cells[1:]], dtype=np.int64)
    return RawTable(frame=frame, rows=rows, kind="xlsx", header=header, sheet=name, sheets=names)


def xlsx_headers(
    path: Path, sheets: Sequence[str], *, limits: ReadLimits = DEFAULT_LIMITS
) -> dict[str, list[str]]:
    """Return each named sheet's header: its first row with two or more cells (of 50)."""
    out: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        wb = _open_workbook(path, limits)
        try:
            for name in sheets:
                ws = wb[name]
                ws.reset_dimensions()
                rows = ws.iter_rows(max_row=50, values_only=True)
                cells = next((r for r in rows if sum(_cell_text(v) != "" for v in r) >= 2), ())
                out[name] = [_cell_text(v) for v in cells if _cell_text(v) != ""]
        except Exception as exc:  # a damaged sheet: missing shared strings, bad XML, ...
            raise InputError(_E_XLSX(path=str(path), error=_exception_text(exc))) from exc
        finally:
            wb.close()
    return out


def check_header(path: Path, header: Sequence[str]) -> None:
    """Raise :class:`InputError` if column names repeat (the columns would be ambiguous)."""
    counts = Counter(header)
    dupes = sorted(h for h, n in counts.items() if n > 1)
    if dupes:
        names = ", ".join(map(repr, dupes))
        raise InputError(_E_DUPLICATE_HEADER(path=str(path), names=names))
