"""Point tables for other stages: CSV and XLSX exports read as incident tables are read.

Vehicle and radio location systems (车载/电台定位) export the positions of patrols as the same
kind of table that police systems export incidents in: CSV in UTF-8 or GBK/GB18030 (sometimes
gzipped) or XLSX, with Chinese or English headers and often a title line above them. This
module lends the incident readers (:mod:`gridplan.geo._tables`, :mod:`gridplan.geo._text`)
and cell parsers (:mod:`gridplan.geo._parse`) to the stages that read such tables
(:mod:`gridplan.tracks`), with the columns found by the names each stage lists. As for
incidents, a row keeps the number the user sees in the file, a line that cannot be read is
listed with its reason, and every :class:`~gridplan.io.limits.ReadLimits` limit applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from gridplan._errors import ColumnError
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan.geo import _columns
from gridplan.geo import _parse
from gridplan.geo import _tables
from gridplan.io.limits import ReadLimits

#: What a reader may take from a file unless told otherwise (the incident readers' default).
DEFAULT_LIMITS = _tables.DEFAULT_LIMITS

_E_MISSING = define(
    "tables.points.missing_columns",
    N_(
        "%(where)s: cannot find the %(roles)s column(s). Columns in the file: %(columns)s. "
        "Names looked for (ignoring case, spaces and '_') - %(looked)s. Name the columns "
        "explicitly, e.g. %(example)s"
    ),
)
_E_UNKNOWN_ROLES = define(
    "tables.points.unknown_roles",
    N_("%(where)s: unknown column role(s) %(roles)s; use %(known)s"),
)
_E_NOT_IN_TABLE = define(
    "tables.points.not_in_table",
    N_(
        "%(where)s: column %(header)r given for %(role)s is not in the table; its columns "
        "are: %(columns)s"
    ),
)
_E_TWICE = define(
    "tables.points.one_column_twice",
    N_("%(where)s: column %(header)r is named for both %(roles)s; give each its own column"),
)


@dataclasses.dataclass(frozen=True)
class PointTable:
    """The cells of a table's columns found by name, and where each row came from.

    Attributes
    ----------
    frame
        The cells of the columns found, as read (CSV: text and numbers; XLSX: Python values).
    rows
        Per row of ``frame``, its number in the file (CSV: the line, the header is line 1;
        XLSX: the sheet row).
    columns
        Role -> header of the columns found.
    header
        Every header of the table, in file order.
    file_format
        ``"csv"`` or ``"xlsx"``.
    encoding, sheet
        The character set of a CSV and the sheet of a workbook read (``None`` otherwise).
    bad_rows
        ``(row, column, value, reason)`` of lines that could not be read as rows.
    warnings
        What the reader noticed (row numbers that may be off, characters replaced, ...).
    """

    frame: pd.DataFrame
    rows: np.ndarray
    columns: Mapping[str, str]
    header: tuple[str, ...]
    file_format: str
    encoding: str | None = None
    sheet: str | None = None
    bad_rows: tuple[tuple[int, str, str, Message], ...] = ()
    warnings: tuple[Message, ...] = ()

    def column(self, role: str) -> pd.Series | None:
        """Return the cells of the column found for ``role`` (``None`` when none was)."""
        header = self.columns.get(role)
        return None if header is None else self.frame[header].reset_index(drop=True)


def table_kind(path: str | Path) -> str:
    """Return ``"csv"``, ``"xlsx"`` or ``"vector"`` from a file's suffix and first bytes.

    Raises
    ------
    InputError
        If the file is missing, empty, a folder or clearly not a table (an image, a PDF, ...).
    """
    return _tables.sniff_kind(Path(path))


def find_named_columns(
    header: Sequence[str],
    names: Mapping[str, Sequence[str]],
    overrides: Mapping[str, str] | None = None,
    *,
    where: str,
) -> dict[str, str]:
    """Assign headers to roles: explicit ``overrides`` first, then the first name listed.

    Headers are compared as incident headers are (case, spaces, ``_``/``-``/``.`` and a
    bracketed unit such as ``经度(WGS84)`` ignored); a column serves one role only, and roles
    claim columns in the order of ``names``.

    Raises
    ------
    InputError
        If an override names an unknown role or one column for two roles.
    ColumnError
        If an override names a column the table does not have.
    """
    header = [str(c) for c in header]
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        msg = _E_UNKNOWN_ROLES(
            where=where, roles=", ".join(map(repr, unknown)), known=", ".join(names)
        )
        raise InputError(msg)
    folded = {c: _columns.normalise(c) for c in header}
    chosen: dict[str, str] = {}
    for role, wanted in overrides.items():
        hit = wanted if wanted in header else None
        hit = hit or next((c for c in header if folded[c] == _columns.normalise(wanted)), None)
        if hit is None:
            msg = _E_NOT_IN_TABLE(
                where=where, header=str(wanted), role=role, columns=", ".join(header)
            )
            raise ColumnError(msg, columns=header, roles=(role,))
        other = next((r for r, h in chosen.items() if h == hit), None)
        if other is not None:
            raise InputError(_E_TWICE(where=where, header=hit, roles=f"{other} and {role}"))
        chosen[role] = hit
    taken = set(chosen.values())
    for role, wanted_names in names.items():
        if role in chosen:
            continue
        for name in map(_columns.normalise, wanted_names):
            hit = next((c for c in header if c not in taken and folded[c] == name), None)
            if hit is not None:
                chosen[role] = hit
                taken.add(hit)
                break
    return chosen


def _require(
    found: Mapping[str, str],
    required: Sequence[str],
    header: Sequence[str],
    names: Mapping[str, Sequence[str]],
    where: str,
    example: str,
) -> None:
    missing = [r for r in required if r not in found]
    if not missing:
        return
    looked = "; ".join(f"{role}: {', '.join(names[role])}" for role in missing)
    msg = _E_MISSING(
        where=where,
        roles="/".join(missing),
        columns=", ".join(map(str, header)) or "-",
        looked=looked,
        example=example,
    )
    raise ColumnError(msg, columns=header, roles=tuple(missing))


def read_point_table(
    path: str | Path,
    *,
    names: Mapping[str, Sequence[str]],
    required: Sequence[str],
    numeric: Sequence[str] = ("lon", "lat"),
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    example: str = "--column lon=经度",
) -> PointTable:
    """Read a CSV (``.csv``, ``.csv.gz``, any of its character sets) or XLSX point table.

    Parameters
    ----------
    path
        The file.
    names
        Role -> header names looked for, folded as :func:`find_named_columns` folds them,
        in order of preference; roles claim columns in this order.
    required
        Roles the table must have (the error lists the file's columns and the names).
    numeric
        Roles whose CSV columns may be parsed as numbers straight away (coordinates).
    columns
        Explicit role -> header, overriding detection.
    encoding
        Character set of a CSV when detection guesses wrong (e.g. ``"gbk"``).
    sheet
        XLSX sheet name or index (default: the first sheet with data).
    limits
        What the file may hold (unpacked bytes, rows, cells).
    example
        The override to suggest when a required column is missing.

    Returns
    -------
    PointTable
        The columns found, their cells and the row numbers.

    Raises
    ------
    InputError
        If the file cannot be read as a table, exceeds a limit or lacks a required column.
    """
    path = Path(path)
    where = str(path)
    if table_kind(path) == "xlsx":
        table = _tables.read_xlsx_table(path, sheet=sheet, limits=limits)
        found = find_named_columns(table.header, names, columns, where=where)
        _require(found, required, table.header, names, where, example)
        frame = table.frame[list(dict.fromkeys(found.values()))]
        kind = "xlsx"
    else:
        holder: dict[str, dict[str, str]] = {}

        def select(header: list[str]) -> list[str]:
            holder["found"] = find_named_columns(header, names, columns, where=where)
            _require(holder["found"], required, header, names, where, example)
            return list(holder["found"].values())

        def number_columns(header: list[str]) -> list[str]:
            found = holder.get("found") or {}
            return [found[r] for r in numeric if r in found]

        table = _tables.read_csv_table(
            path, encoding=encoding, select=select, numeric=number_columns, limits=limits
        )
        found, frame, kind = holder["found"], table.frame, "csv"
    return PointTable(
        frame=frame.reset_index(drop=True),
        rows=np.asarray(table.rows, dtype=np.int64),
        columns=MappingProxyType(dict(found)),
        header=tuple(table.header),
        file_format=kind,
        encoding=table.encoding,
        sheet=table.sheet,
        bad_rows=tuple(table.bad_rows),
        warnings=tuple(table.warnings),
    )


def cell_numbers(values: pd.Series) -> np.ndarray:
    """Return cells as floats: NaN where empty or not a number."""
    return _parse.numbers(values)


def cell_blank(values: pd.Series) -> np.ndarray:
    """Return whether each cell is missing or only whitespace."""
    return _parse.blank(values)


def cell_texts(values: pd.Series) -> pd.Series:
    """Return cells as stripped strings (``string`` dtype, ``<NA>`` when empty)."""
    return _parse.texts(values)


def show_cell(value: object) -> str:
    """Return a cell as the user typed it, for a rejected row's ``value``."""
    return _parse.show(value)


@dataclasses.dataclass(frozen=True)
class ParsedTimes:
    """Date-time cells parsed as the incident readers parse them.

    Attributes
    ----------
    utc
        ``datetime64[ns]`` instants in UTC; NaT where a cell gave none. Cells without a zone
        are wall-clock times of the station's timezone.
    missing, unreadable, impossible, out_of_range, date_only
        Per cell: empty; not a date and time in any known layout; a layout known but a
        date or clock time that does not exist; a year outside 1900-2100; a date without a
        time of day.
    """

    utc: np.ndarray
    missing: np.ndarray
    unreadable: np.ndarray
    impossible: np.ndarray
    out_of_range: np.ndarray
    date_only: np.ndarray


def parse_times(values: pd.Series, timezone: str) -> ParsedTimes:
    """Parse a column of dates and times (ISO 8601, ``2024年3月5日 14时30分``, Excel, epoch ...).

    Parameters
    ----------
    values
        The cells.
    timezone
        IANA timezone that cells without a zone are read in (the station's).

    Returns
    -------
    ParsedTimes
        UTC instants and why each cell without one has none.
    """
    parsed = _parse.parse_datetimes(values)
    utc = _parse.localise(parsed, timezone)
    unreadable = ~parsed.parsed & ~parsed.missing
    return ParsedTimes(
        utc=utc,
        missing=parsed.missing.copy(),
        unreadable=unreadable,
        impossible=parsed.impossible.copy(),
        out_of_range=parsed.out_of_range.copy(),
        date_only=parsed.date_only & ~np.isnat(utc),
    )


__all__ = [
    "DEFAULT_LIMITS",
    "ParsedTimes",
    "PointTable",
    "cell_blank",
    "cell_numbers",
    "cell_texts",
    "find_named_columns",
    "parse_times",
    "read_point_table",
    "show_cell",
    "table_kind",
]
