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
import gzip
import io
import warnings
import zipfile
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
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
_E_ENCODING = define(
    "tables.unknown_encoding",
    N_(
        "%(path)s: unknown encoding %(encoding)r; use utf-8, gb18030 (covers GBK/GB2312) or "
        "another Python codec name"
    ),
)
_E_GZIP = define(
    "tables.bad_gzip", N_("%(path)s: the gzip file is damaged (%(error)s); compress the CSV again")
)
_DECODE_FAILS = define(
    "tables.decode_fails", N_("%(encoding)s fails near line %(line)s (%(reason)s)")
)
_E_DECODE = define(
    "tables.cannot_decode",
    N_(
        "%(path)s: cannot decode the text: %(errors)s. The file mixes character sets or is "
        "damaged; save it again as UTF-8 CSV%(fix)s"
    ),
)
#: Command-line advice beside "save it as UTF-8" (the web UI has no encoding field).
ADVICE_ENCODING = define("advice.encoding", N_(", or pass the encoding (--encoding gbk)"))
_E_CSV = define(
    "tables.bad_csv",
    N_("%(path)s: not a readable CSV table (%(error)s); check quotes and delimiters"),
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
_E_CHARSET = define(
    "tables.charset",
    N_(
        "%(path)s: cannot tell the character set (not UTF-8, not GBK/GB18030); save the file "
        "as UTF-8 CSV%(fix)s"
    ),
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
        head = fh.read(4096)
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
    if b"\x00" in head:
        raise InputError(_E_BINARY(path=str(path), head=repr(head[:8])))
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "vector"
    return "csv"


def _decode_sample(data: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    return decoder.decode(data, final=len(data) < _SAMPLE_BYTES)


def _candidate_encodings(path: Path, sample: bytes, encoding: str | None) -> list[str]:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise InputError(_E_ENCODING(path=str(path), encoding=encoding)) from exc
        return [encoding]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    out = []
    for enc in ("utf-8-sig", "gb18030"):
        try:
            _decode_sample(sample, enc)
        except UnicodeDecodeError:
            continue
        out.append(enc)
    if not out:
        from charset_normalizer import from_bytes

        best = from_bytes(sample[:65536]).best()
        if best is not None:
            out.append(best.encoding)
    return out


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
        fields = next(csv.reader([line], delimiter=sep), [])
        if sum(bool(f.strip()) for f in fields) >= 2:
            return index, sep, [f.strip() or f"column {j + 1}" for j, f in enumerate(fields)]
    first = next((ln.rstrip("\r") for ln in lines if ln.strip()), "")
    sep = _sniff_delimiter(first)
    return 0, sep, [f.strip() for f in next(csv.reader([first], delimiter=sep), [])]


def _line_count(raw: bytes, encoding: str) -> int:
    """Count the lines of the file (a final line without a newline counts)."""
    if encoding.startswith("utf-16"):
        text = raw.decode(encoding)
        return text.count("\n") + (0 if text.endswith("\n") else 1)
    return raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)


def _has_padding(raw: bytes, sep: str, encoding: str) -> bool:
    """Whether any cell may start or end with whitespace (so cells must be stripped).

    Stripping a million Python strings costs about a second per column; scanning the bytes
    for blanks next to a delimiter, quote or line break costs a fraction of that. In UTF-8
    and GB18030 these ASCII bytes never occur inside a multi-byte character.
    """
    if encoding.startswith("utf-16") or len(sep.encode()) != 1:
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


def _record_lines(
    text: str, sep: str, n_header: int, skip: int
) -> tuple[list[int], list[tuple[int, int]]]:
    """Return the first line of every data record and the records with too many fields.

    Mirrors pandas' C parser: blank lines are skipped, quoted fields may span lines, and a
    record with more fields than the header is dropped (``on_bad_lines="skip"``).
    """
    stream = io.StringIO(text, newline="")
    for _ in range(skip):  # title lines above the header
        stream.readline()
    reader = csv.reader(stream, delimiter=sep)
    starts: list[int] = []
    bad: list[tuple[int, int]] = []
    previous = skip
    seen_header = False
    for record in reader:
        start = previous + 1
        previous = skip + reader.line_num
        if not record:
            continue
        if not seen_header:
            seen_header = True
            continue
        if len(record) > n_header:
            bad.append((start, len(record)))
            continue
        starts.append(start)
    return starts, bad


def read_csv_table(
    path: Path,
    *,
    encoding: str | None,
    select: Callable[[list[str]], Sequence[str]],
    numeric: Callable[[list[str]], Sequence[str]],
    max_rows: int | None = None,
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
        with blank or malformed lines.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(_E_GZIP(path=str(path), error=str(exc))) from exc
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InputError(_E_EMPTY(path=str(path)))
    sample = raw[:_SAMPLE_BYTES]
    candidates = _candidate_encodings(path, sample, encoding)
    if not candidates:
        raise InputError(_E_CHARSET(path=str(path), fix=ADVICE_ENCODING()))
    failures: list[Message] = []
    for enc in candidates:
        try:
            return _read_csv_as(path, raw, enc, select=select, numeric=numeric, max_rows=max_rows)
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1 if isinstance(exc.object, bytes) else "?"
            failures.append(_DECODE_FAILS(encoding=enc, line=line, reason=exc.reason))
    errors = listing(failures, semicolons=True)
    raise InputError(_E_DECODE(path=str(path), errors=errors, fix=ADVICE_ENCODING()))


def _read_csv_as(
    path: Path,
    raw: bytes,
    encoding: str,
    *,
    select: Callable[[list[str]], Sequence[str]],
    numeric: Callable[[list[str]], Sequence[str]],
    max_rows: int | None = None,
) -> RawTable:
    head_text = _decode_sample(raw[:_SAMPLE_BYTES], encoding)
    head_text = head_text.lstrip("\ufeff")
    skip, sep, header = _find_header(head_text)
    check_header(path, header)
    wanted = [c for c in header if c in set(select(header))]
    numbers = set(numeric(header))
    dtypes = {c: str for c in wanted if c not in numbers}
    lines = _line_count(raw, encoding)
    # Skipping unused columns (usecols) saves time, but pandas then silently keeps records
    # with too many fields instead of dropping them. Use it only when every line provably
    # has as many fields as the header: no quotes and the right number of delimiters.
    simple = (
        not encoding.startswith("utf-16")
        and b'"' not in raw
        and raw.count(sep.encode()) == (len(header) - 1) * lines
    )
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            encoding=encoding,
            encoding_errors="strict",
            skiprows=skip,
            header=0,
            names=header,
            usecols=wanted if simple else None,
            dtype=dtypes,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            index_col=False,
            on_bad_lines="skip",
            skipinitialspace=True,
            low_memory=False,
            nrows=max_rows,
        )
    except pd.errors.ParserError as exc:
        raise InputError(_E_CSV(path=str(path), error=str(exc))) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(_E_CSV_EMPTY(path=str(path))) from exc
    frame = frame[wanted].reset_index(drop=True)
    frame = tidy_strings(frame, strip=_has_padding(raw, sep, encoding))
    n = len(frame)
    table = RawTable(
        frame=frame,
        rows=np.arange(skip + 2, skip + n + 2, dtype=np.int64),
        kind="csv",
        header=header,
        encoding=encoding,
    )
    # Row numbers are file lines; they only differ from index + 2 when the file has blank
    # lines, quoted line breaks or malformed records, which the slow path below accounts for.
    if max_rows is None and lines != skip + n + 1:
        text = raw.decode(encoding, errors="replace").lstrip("\ufeff")
        starts, bad = _record_lines(text, sep, len(header), skip)
        for line, fields in bad:
            table.bad_rows.append(
                (line, "(line)", f"{fields} fields", _R_FIELDS(fields=fields, header=len(header)))
            )
        if len(starts) == n:
            table.rows = np.asarray(starts, dtype=np.int64)
        else:
            table.warnings.append(_W_ROW_NUMBERS())
    return table


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_xlsx_table(path: Path, *, sheet: str | int | None) -> RawTable:
    """Read one sheet of an XLSX workbook (``sheet``, else the first non-empty one)."""
    import openpyxl

    with warnings.catch_warnings():
        # openpyxl warns about styles and data validation it does not read; values are fine
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise InputError(_E_XLSX(path=str(path), error=str(exc))) from exc
        try:
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
                cells = [
                    (i + 1, row)
                    for i, row in enumerate(wb[name].iter_rows(values_only=True))
                    if any(v is not None and str(v).strip() != "" for v in row)
                ]
                if len(cells) >= 2 or (sheet is not None and cells):
                    break
            else:
                msg = _E_NO_DATA_SHEET(path=str(path), sheets=", ".join(names))
                raise InputError(msg)
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
    return RawTable(
        frame=frame, rows=rows, kind="xlsx", header=header, sheet=name, sheets=tuple(names)
    )


def xlsx_headers(path: Path, sheets: Sequence[str]) -> dict[str, list[str]]:
    """Return each named sheet's header: its first row with two or more cells (of 50)."""
    import openpyxl

    out: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for name in sheets:
                rows = wb[name].iter_rows(max_row=50, values_only=True)
                cells = next((r for r in rows if sum(_cell_text(v) != "" for v in r) >= 2), ())
                out[name] = [_cell_text(v) for v in cells if _cell_text(v) != ""]
        finally:
            wb.close()
    return out


def check_header(path: Path, header: Sequence[str]) -> None:
    """Raise :class:`InputError` if column names repeat (the columns would be ambiguous)."""
    dupes = sorted({h for h in header if list(header).count(h) > 1})
    if dupes:
        names = ", ".join(map(repr, dupes))
        raise InputError(_E_DUPLICATE_HEADER(path=str(path), names=names))
