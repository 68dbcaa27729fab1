"""The contracts between pipeline stages: the columns of each table, and their checks.

Each stage checks what it is given at its entry with one of the ``check_*`` functions here, so
a table from the wrong stage (or a hand-made one) fails with a message naming the missing
columns and where a right one comes from. The column sets are defined here once; the stages
import them from here (ground floor: no numba, no folium, nothing from another stage).

GRID
    The 1+5+N grid of :func:`gridplan.load_grid`: one station, its base grids, their
    micro-grids (:data:`GRID_COLUMNS`, levels :data:`GRID_LEVELS`).
INCIDENTS
    The incidents of :func:`gridplan.import_incidents` (:data:`INCIDENT_COLUMNS`) and its
    rejected rows (:data:`REJECT_COLUMNS`).
HOTSPOTS
    The long frame of :func:`gridplan.compute_hotspots`, one row per micro-grid and slice
    (:data:`HOTSPOT_COLUMNS`); hot-spot files, summaries and planning need only
    :data:`HOTSPOT_KEY_COLUMNS`, hot-spot maps :data:`HOTSPOT_MAP_COLUMNS`. ``gi_class`` is the
    hot-spot class: the Gi* classes :data:`GI_CLASSES` on large stations, the excess classes
    :data:`EXCESS_CLASSES` on small ones (:func:`class_method` tells which).
    ``recent`` (recent incidents by category, for a plan's "why this stop") is optional
    wherever it is read: hot-spot files written before it lack it.
FIXES
    Where patrollers were, as their phones and vehicles recorded it
    (:func:`gridplan.tracks.fixes.import_track`): one row per fix (:data:`FIX_COLUMNS`, and
    :data:`FIX_ROW` where it came from), times tz-aware in the station's timezone, WGS84
    lon/lat; the fixes rejected on reading or cleaning, each with its file, row and reason
    (:data:`TRACK_REJECT_COLUMNS`).
PRESENCE
    Minutes per patroller, shift date, time slice and micro-grid that tracks and check-ins
    put there (:func:`gridplan.tracks.presence.compute_presence`, :data:`PRESENCE_COLUMNS`).
    Feedback into plans and evaluations read any table with :data:`PRESENCE_KEY_COLUMNS`
    (:func:`presence_frame`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gridplan._errors import InputError

#: Levels of the 1+5+N grid, top down.
GRID_LEVELS = ("station", "base", "micro")

#: Columns of the canonical GRID frame, in order.
GRID_COLUMNS = ("id", "level", "parent_id", "name", "geometry")

#: Columns of the canonical INCIDENTS GeoDataFrame, in order.
INCIDENT_COLUMNS = ("id", "time", "category", "alert", "weight", "in_station", "source_row")

#: Columns of ``ImportResult.rejects`` (``reason_id`` is the reason's language-independent id).
REJECT_COLUMNS = ("row", "column", "value", "reason", "reason_id")

#: Columns of the FIXES table, in order: ``patroller`` (text), ``time`` (tz-aware),
#: ``lon``/``lat`` (WGS84 degrees), ``accuracy_m`` (metres, NaN when the device gave none) and
#: ``source`` (the file or feed it came from).
FIX_COLUMNS = ("patroller", "time", "lon", "lat", "accuracy_m", "source")

#: The optional column of the FIXES table: ``row``, a fix's row (or GPX point number) in its
#: source, which track imports add and rejects name (fixes without it are numbered 1, 2, ...).
FIX_ROW = "row"

#: Columns of a track import's rejects: the file, the row (or GPX point number), the
#: patroller and time when known, the column or element, its value and the reason.
TRACK_REJECT_COLUMNS = (
    "source",
    "row",
    "patroller",
    "time",
    "column",
    "value",
    "reason",
    "reason_id",
)

#: Columns of the PRESENCE table: minutes (and their uncertainty) per patroller, shift date
#: (the date the slice started on), slice and micro-grid.
PRESENCE_COLUMNS = ("patroller", "date", "slice", "micro_id", "minutes", "error_min")

#: Gi* classes, hottest first, as in ArcGIS's ``Gi_Bin`` (confidence 99/95/90 %).
GI_CLASSES = (
    "hot_99",
    "hot_95",
    "hot_90",
    "not_significant",
    "cold_90",
    "cold_95",
    "cold_99",
)

#: Classes of the excess test for small stations (:mod:`gridplan.analysis.excess`): a
#: micro-grid with significantly more (``above``) or fewer (``below``) incidents than the
#: station's mean density predicts, at confidence 99/95/90 %.
EXCESS_CLASSES = (
    "above_99",
    "above_95",
    "above_90",
    "not_significant",
    "below_90",
    "below_95",
    "below_99",
)

#: Every value of ``gi_class``: the Gi* classes, then the excess classes (hottest first).
HOTSPOT_CLASSES = (*GI_CLASSES, *(c for c in EXCESS_CLASSES if c not in GI_CLASSES))

#: The classes counted as hot spots (maps outline them, summaries count them).
HOT_CLASSES = ("hot_99", "hot_95", "hot_90", "above_99", "above_95", "above_90")

#: The classes counted as cold spots.
COLD_CLASSES = ("cold_90", "cold_95", "cold_99", "below_90", "below_95", "below_99")

#: How a hot-spot frame was classed (``hotspots.classes`` of the station config, resolved).
CLASS_METHODS = ("gistar", "excess")

#: Columns of the frame returned by :func:`gridplan.compute_hotspots`, in order.
HOTSPOT_COLUMNS = (
    "id",
    "name",
    "parent_id",
    "slice",
    "count",
    "area_km2",
    "density_km2",
    "score",
    "share",
    "score_share",
    "rank",
    "gi_z",
    "gi_p",
    "gi_p_sim",
    "gi_p_fdr",
    "expected",
    "excess_p",
    "excess_p_fdr",
    "gi_class",
    "recent",
    "geometry",
)

#: How the ``recent`` hot-spot column writes a missing category.
NO_CATEGORY = "?"


def format_recent(days: int, to: str, top: Iterable[tuple[str, int]]) -> str:
    """Return the ``recent`` hot-spot text: ``"90d to 2020-01-01: 盗窃 2; 抢劫 1"``.

    Plain text that GIS tools show as it is; a category's ``;`` becomes ``,`` and a missing
    one is :data:`NO_CATEGORY`. ``""`` when ``top`` is empty.
    """
    parts = [f"{(c or NO_CATEGORY).replace(';', ',').strip() or NO_CATEGORY} {n}" for c, n in top]
    return f"{days}d to {to}: " + "; ".join(parts) if parts else ""


def parse_recent(text: object) -> tuple[int, str, list[tuple[str, int]]] | None:
    """Return ``(days, to, [(category, count), ...])`` of a ``recent`` text, or ``None``.

    ``None`` for an empty or missing value (a hot-spot file from before the column) or one
    not in the format of :func:`format_recent`.
    """
    if not isinstance(text, str) or ": " not in text:
        return None
    head, _, body = text.partition(": ")
    days, _, to = head.partition("d to ")
    try:
        top = []
        for part in body.split("; "):
            cat, _, n = part.rpartition(" ")
            top.append((cat, int(n)))
        return int(days), to, top
    except ValueError:
        return None


#: The hot-spot columns that hot-spot files keep and summaries, web maps and planning read.
HOTSPOT_KEY_COLUMNS = ("id", "slice", "score", "rank", "gi_class", "count")

#: The hot-spot columns a hot-spot map draws.
HOTSPOT_MAP_COLUMNS = (*HOTSPOT_KEY_COLUMNS, "density_km2", "gi_z")

_FROM_HOTSPOTS = (
    "pass the result of gridplan.compute_hotspots or a GeoJSON written by 'gridplan hotspots'"
)


def class_method(classes: Iterable[object]) -> str:
    """Return how hot-spot classes were made: ``"excess"`` or ``"gistar"``.

    The classes name their test (``above_*``/``below_*`` only come from the excess test), so a
    hot-spot file, a plan's stops or a stored run say it without the frame's ``attrs``. Classes
    that are all ``not_significant`` (or none) read as ``"gistar"``.

    Examples
    --------
    >>> class_method(["not_significant", "above_95"]), class_method(["hot_99"])
    ('excess', 'gistar')
    """
    excess_only = set(EXCESS_CLASSES) - set(GI_CLASSES)
    return "excess" if any(str(c) in excess_only for c in classes) else "gistar"


def missing_columns(frame: pd.DataFrame, required: Iterable[str]) -> list[str]:
    """Return the columns of ``required`` (in its order) that ``frame`` lacks."""
    return [c for c in required if c not in frame.columns]


def _check(frame: pd.DataFrame, required: Iterable[str], what: str, fix: str) -> None:
    missing = missing_columns(frame, required)
    if missing:
        msg = f"{what} lacks columns {', '.join(missing)}; {fix}"
        raise InputError(msg)


def check_grid_columns(
    grid: pd.DataFrame,
    required: Iterable[str] = GRID_COLUMNS,
    *,
    what: str = "grid",
    fix: str = "pass a 1+5+N grid from gridplan.load_grid (columns "
    + ", ".join(GRID_COLUMNS)
    + ")",
) -> None:
    """Raise :class:`~gridplan.InputError` naming the GRID columns ``grid`` lacks.

    Parameters
    ----------
    grid
        The frame to check.
    required
        The columns this stage reads (default: all of :data:`GRID_COLUMNS`).
    what
        How the message names the frame, with the file when there is one.
    fix
        What to do instead (default: where a grid comes from).
    """
    _check(grid, required, what, fix)


def check_incident_columns(
    incidents: pd.DataFrame,
    required: Iterable[str] = INCIDENT_COLUMNS,
    *,
    what: str = "incident table",
    fix: str = "pass the result of gridplan.import_incidents",
) -> None:
    """Raise :class:`~gridplan.InputError` naming the INCIDENTS columns the frame lacks.

    Parameters are those of :func:`check_grid_columns`, for :data:`INCIDENT_COLUMNS`.
    """
    _check(incidents, required, what, fix)


#: The columns of a presence table that feedback into plans and evaluations read: minutes per
#: shift date, time slice and micro-grid, and who spent them (``patroller``, optional). The
#: tracks stage's PRESENCE table has them (and ``error_min``); ``micro_grid`` is read as
#: ``micro_id``.
PRESENCE_KEY_COLUMNS = tuple(c for c in PRESENCE_COLUMNS if c != "error_min")

#: Rows shown in the message of a presence table with bad rows.
_BAD_ROWS_SHOWN = 5


def presence_frame(data: Any, *, what: str = "presence table") -> pd.DataFrame:
    """Return a presence table in its types, or raise naming every column and row that is bad.

    Parameters
    ----------
    data
        A table with :data:`PRESENCE_KEY_COLUMNS` (``patroller`` may be left out; headers are
        matched without case or surrounding spaces, ``micro_grid`` is ``micro_id``): a
        DataFrame, a mapping of column name to values, or a sequence of row mappings.
    what
        How messages name the table (the file, when there is one).

    Returns
    -------
    pandas.DataFrame
        :data:`PRESENCE_KEY_COLUMNS`: ``patroller``, ``slice`` and ``micro_id`` text, ``date``
        :class:`datetime.date` objects and ``minutes`` floats, one row per input row.

    Raises
    ------
    InputError
        Columns missing, or rows whose date is not a date, whose minutes are not a number of
        0 or more, or whose slice or micro-grid is empty (the first rows named, counting the
        header as row 1 as a spreadsheet does).

    Examples
    --------
    >>> t = presence_frame({"date": ["2024-06-05"], "slice": ["day"],
    ...                     "micro_grid": ["S01-B1-M001"], "minutes": ["12.5"]})
    >>> t.to_dict("records")
    [{'patroller': '', 'date': datetime.date(2024, 6, 5), 'slice': 'day', 'micro_id': 'S01-B1-M001', 'minutes': 12.5}]
    """  # noqa: E501
    frame = table_frame(data, what=what, columns=PRESENCE_KEY_COLUMNS)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.rename(columns={"micro_grid": "micro_id"})
    if "patroller" not in frame.columns:
        frame["patroller"] = ""
    _check(
        frame,
        PRESENCE_KEY_COLUMNS,
        what,
        "give one row per patroller, shift date (YYYY-MM-DD), slice and micro-grid with its "
        "minutes (gridplan's track presence, or a table of your own)",
    )
    frame = frame[list(PRESENCE_KEY_COLUMNS)].reset_index(drop=True)
    text = {c: frame[c].map(_cell_text) for c in ("patroller", "slice", "micro_id")}
    dates = _dates(frame["date"].map(_cell_text))
    minutes = pd.to_numeric(frame["minutes"], errors="coerce")
    no_date = dates.isna().to_numpy()
    no_minutes = ~(np.isfinite(minutes.to_numpy(dtype=float)) & (minutes.to_numpy() >= 0))
    empty = (text["slice"] == "").to_numpy() | (text["micro_id"] == "").to_numpy()
    bad = []
    for i in np.flatnonzero(no_date | no_minutes | empty).tolist():
        if no_date[i]:
            problem = f"date {frame['date'].iloc[i]!r} is not a date (YYYY-MM-DD)"
        elif no_minutes[i]:
            problem = f"minutes {frame['minutes'].iloc[i]!r} is not a number of 0 or more"
        else:
            problem = "the slice or the micro-grid is empty"
        bad.append(f"row {i + 2}: {problem}")
    if bad:
        more = f" and {len(bad) - _BAD_ROWS_SHOWN} more" if len(bad) > _BAD_ROWS_SHOWN else ""
        msg = (
            f"{what}: {len(bad)} bad row(s): {'; '.join(bad[:_BAD_ROWS_SHOWN])}{more}; correct "
            "them (the header is row 1)"
        )
        raise InputError(msg)
    return pd.DataFrame(
        {
            "patroller": text["patroller"].astype(object),
            "date": pd.Series([d.date() for d in dates], index=frame.index, dtype=object),
            "slice": text["slice"].astype(object),
            "micro_id": text["micro_id"].astype(object),
            "minutes": minutes.astype(float),
        }
    )


def table_frame(data: Any, *, what: str, columns: Iterable[str]) -> pd.DataFrame:
    """Return a table as a DataFrame (a DataFrame is copied).

    ``data`` is a DataFrame, a mapping of columns (or of one row's values) or a sequence of
    row mappings.

    Raises
    ------
    InputError
        If ``data`` is none of these (naming ``what`` and the ``columns`` expected).
    """
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, Mapping) and all(np.ndim(v) == 0 for v in data.values()):
        data = [dict(data)]  # one row
    try:
        return pd.DataFrame(data)
    except (TypeError, ValueError) as exc:
        msg = f"{what}: not a table ({exc}); give rows with columns {', '.join(columns)}"
        raise InputError(msg) from None


def _dates(text: pd.Series) -> pd.Series:
    """Return dates written YYYY-MM-DD (a time after it ignored) or YYYY/M/D; else NaT.

    Nothing looser: ``8 June`` would be read as a June of some year.
    """
    parts = text.astype(str).str.extract(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:$|[T ])")
    numbers = parts[[0, 2, 3]].apply(pd.to_numeric)
    numbers.columns = ["year", "month", "day"]
    return pd.to_datetime(numbers, errors="coerce")


def _cell_text(value: Any) -> str:
    """Return a cell as stripped text ('' for a missing one)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def check_hotspot_columns(
    hotspots: pd.DataFrame,
    required: Iterable[str] = HOTSPOT_KEY_COLUMNS,
    *,
    what: str = "hot-spot table",
    fix: str = _FROM_HOTSPOTS,
) -> None:
    """Raise :class:`~gridplan.InputError` naming the hot-spot columns the frame lacks.

    Parameters are those of :func:`check_grid_columns`, for :data:`HOTSPOT_KEY_COLUMNS` (or
    :data:`HOTSPOT_MAP_COLUMNS`, :data:`HOTSPOT_COLUMNS`).
    """
    _check(hotspots, required, what, fix)


def check_fixes(
    fixes: pd.DataFrame,
    required: Iterable[str] = FIX_COLUMNS,
    *,
    what: str = "fix table",
    fix: str = "pass the fixes of gridplan.import_track (TrackImport.fixes)",
) -> None:
    """Raise :class:`~gridplan.InputError` unless ``fixes`` is a FIXES table.

    The columns of :data:`FIX_COLUMNS` (or ``required``) must be there, ``time`` must hold
    timezone-aware datetimes and ``lon``/``lat`` numbers.

    Parameters are those of :func:`check_grid_columns`, for :data:`FIX_COLUMNS`.
    """
    _check(fixes, required, what, fix)
    if "time" in fixes.columns and not isinstance(fixes["time"].dtype, pd.DatetimeTZDtype):
        msg = (
            f"{what}: column time is {fixes['time'].dtype}, not timezone-aware datetimes; "
            f"{fix}, or localise the times (Series.dt.tz_localize(station timezone))"
        )
        raise InputError(msg)
    for col in ("lon", "lat"):
        if col in fixes.columns and not pd.api.types.is_numeric_dtype(fixes[col]):
            msg = f"{what}: column {col} is {fixes[col].dtype}, not numbers; {fix}"
            raise InputError(msg)
