"""Spreadsheet-safe CSV: the one place where gridplan writes CSV.

A cell of an uploaded export that begins with ``=``, ``+``, ``-`` or ``@`` (after leading
blanks), or with a tab, carriage return or line feed, is read as a formula by Excel and
LibreOffice (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``): CSV injection. Following OWASP
(https://owasp.org/www-community/attacks/CSV_Injection), such a text cell is written with a
single quote in front, which spreadsheets show as text. Numbers stay numbers: numeric
columns are never touched and a text cell that is a plain number (``-3.5``, ``+12``,
``-1.2e3``) is left as it is, so negative coordinates still open as numbers.

The escape is reversible: a text cell that already begins with a quote in front of what
would be escaped gets one more quote, and :func:`unescape_cell` removes exactly one, so a
file gridplan writes and reads back gives the same text.

Every CSV writer of the package goes through :func:`write_frame_csv` or :func:`frame_csv_text`
(``tests/io/test_csvsafe.py`` looks for any other ``to_csv`` or ``csv.writer``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

#: Characters that start a formula in Excel, LibreOffice and Google Sheets.
FORMULA_CHARS = "=+-@"
#: Control characters that make a spreadsheet split or re-read a cell.
CONTROL_CHARS = "\t\r\n"

_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_BLANKS = re.compile(r"\s*")
# a cheap first pass over a column: only cells this finds can need the quote
_CANDIDATE = r"^(?:\s*')*(?:[\t\r\n]|\s*[=+\-@])"


def needs_escape(text: str) -> bool:
    r"""Whether a spreadsheet would read the text cell ``text`` as a formula (or as its escape).

    Examples
    --------
    >>> [needs_escape(t) for t in ("=1+1", " @SUM(1)", "-3.5", "'=1", "东街", "\tx")]
    [True, True, False, True, False, True]
    """
    i = 0
    while i < len(text):
        if text[i] in CONTROL_CHARS:
            return _NUMBER.fullmatch(text, i) is None
        j = _BLANKS.match(text, i).end()
        if j == len(text) or _NUMBER.fullmatch(text, j):
            return False
        if text[j] in FORMULA_CHARS:
            return True
        if text[j] != "'":
            return False
        i = j + 1  # a quote in front of what would be escaped: escaped in turn
    return False


def escape_cell(value: Any) -> Any:
    r"""Return ``value`` with a quote in front if it is text a spreadsheet would run.

    Examples
    --------
    >>> escape_cell("=HYPERLINK(\"http://x\")"), escape_cell("-3.5"), escape_cell(-3.5)
    ('\'=HYPERLINK("http://x")', '-3.5', -3.5)
    """
    if isinstance(value, str) and needs_escape(value):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell`: ``unescape_cell(escape_cell(x)) == x`` for every text.

    Examples
    --------
    >>> unescape_cell("'=1+1"), unescape_cell("'plain"), unescape_cell("''=1")
    ('=1+1', "'plain", "'=1")
    """
    if isinstance(value, str) and value.startswith("'") and needs_escape(value[1:]):
        return value[1:]
    return value


def _escape_column(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    text = column.map(lambda v: v if isinstance(v, str) else "")
    hits = text.str.contains(_CANDIDATE, regex=True).to_numpy(dtype=bool)
    if not hits.any():
        return column
    out = column.astype(object).copy()
    out[hits] = [escape_cell(v) for v in out[hits]]
    return out


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``df`` whose text cells and headers are escaped (see the module).

    Examples
    --------
    >>> frame = pd.DataFrame({"category": ["=1+1", "盗窃"], "lon": [-122.6, 120.1]})
    >>> safe_frame(frame).to_dict("list")
    {'category': ["'=1+1", '盗窃'], 'lon': [-122.6, 120.1]}
    """
    out = pd.DataFrame(
        {i: _escape_column(df.iloc[:, i]) for i in range(df.shape[1])}, index=df.index
    )
    out.columns = [escape_cell(str(c)) for c in df.columns]
    return out


def frame_csv_text(df: pd.DataFrame, *, bom: bool = True) -> str:
    """Return ``df`` as spreadsheet-safe CSV text (no index), with a byte-order mark.

    The mark makes Excel on Chinese Windows read the text as UTF-8.
    """
    text = safe_frame(df).to_csv(index=False)
    return "\ufeff" + text if bom else text


def write_frame_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as spreadsheet-safe UTF-8-with-BOM CSV (no index); return the path."""
    path = Path(path)
    safe_frame(df).to_csv(path, index=False, encoding="utf-8-sig")
    return path


__all__ = [
    "escape_cell",
    "frame_csv_text",
    "needs_escape",
    "safe_frame",
    "unescape_cell",
    "write_frame_csv",
]
