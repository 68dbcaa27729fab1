"""Writing tracks and compliance reports: cleaned fixes, rejected fixes, CSV and GeoPackage.

- :func:`write_fixes`: the FIXES of a track import as CSV (``lon``/``lat`` columns, times
  ISO 8601 with the offset), GeoJSON or a GeoPackage layer ``fixes`` styled per patroller;
  :func:`gridplan.tracks.fixes.import_track` reads each of them back.
- :func:`write_track_rejects`: the rejected fixes as CSV, one row each with its file, row and
  reason.
- :func:`read_check_ins`: the check-ins CSV a plan's page of the web UI downloads (one row per
  "arrived" or "left" pressed on the phone page), as
  :class:`~gridplan.tracks.presence.CheckIn` s for compliance (:func:`check_ins_from_frame`
  for such a table already in memory).
- :func:`compliance_tables`: a compliance report's three tables as plain frames (times as
  ISO 8601 text), as the CSV files and the web UI's downloads hold them.
- :func:`write_compliance`: a compliance report as three CSV files (``NAME.csv`` the stops,
  ``NAME.patrollers.csv``, ``NAME.hotspots.csv``) or one GeoPackage with the layers ``stops``
  (points styled by status), ``hotspots`` (the top hot spots' polygons when the grid is
  given, styled by the share of the planned minutes spent there) and the tables
  ``patrollers`` and ``presence``.

Every CSV goes through :mod:`gridplan.io.csvsafe`; every layer is WGS84.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import define
from gridplan._messages import listing
from gridplan._validate import TRACK_REJECT_COLUMNS
from gridplan._validate import check_fixes
from gridplan.io import styles
from gridplan.io.csvsafe import unescape_cell
from gridplan.io.csvsafe import write_frame_csv
from gridplan.io.export import iso_times
from gridplan.io.export import write_geodata
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import exceeded
from gridplan.io.vector import check_file
from gridplan.tracks.compliance import Compliance
from gridplan.tracks.fixes import TrackImport
from gridplan.tracks.presence import KINDS
from gridplan.tracks.presence import CheckIn

_TIME_COLUMNS = (
    "planned_arrival",
    "planned_departure",
    "window_start",
    "window_end",
    "arrived",
)


def _suffix(path: Path, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        msg = f"{path}: unknown output format {suffix!r}; use {', '.join(allowed)}"
        raise InputError(msg)
    return suffix


def write_fixes(data: TrackImport | pd.DataFrame, path: str | Path) -> Path:
    """Write fixes as CSV, GeoJSON or GeoPackage (layer ``fixes``), chosen by the suffix.

    Parameters
    ----------
    data
        A :class:`~gridplan.tracks.fixes.TrackImport` or a FIXES table.
    path
        ``.csv``, ``.geojson`` or ``.gpkg``; an existing file is replaced.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        On another suffix or a table that is not a FIXES table.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from gridplan.tracks.fixes import import_track
    >>> fixes = pd.DataFrame({"patroller": "V01", "time": pd.date_range(
    ...     "2024-06-05 08:00", periods=3, freq="5s", tz="Asia/Shanghai"), "lon": 121.47,
    ...     "lat": [31.23, 31.23005, 31.2301], "accuracy_m": 5.0, "source": "phone",
    ...     "row": [1, 2, 3]})
    >>> out = write_fixes(fixes, pathlib.Path(tempfile.mkdtemp()) / "fixes.gpkg")
    >>> back = import_track(out).fixes
    >>> bool((back["time"] == fixes["time"]).all()), back["patroller"].tolist()
    (True, ['V01', 'V01', 'V01'])
    """
    fixes = data.fixes if isinstance(data, TrackImport) else data
    path = Path(path)
    suffix = _suffix(path, (".csv", ".geojson", ".json", ".gpkg"))
    check_fixes(fixes, what=f"{path}: the fixes")
    out = pd.DataFrame(
        {
            "patroller": fixes["patroller"].astype(str),
            "time": iso_times(fixes["time"]),
            "accuracy_m": fixes["accuracy_m"].astype(float),
            "source": fixes["source"].astype(str),
            "row": fixes["row"].astype(np.int64)
            if "row" in fixes
            else np.arange(1, len(fixes) + 1, dtype=np.int64),
        }
    )
    if suffix == ".csv":
        out["lon"] = fixes["lon"].round(8)
        out["lat"] = fixes["lat"].round(8)
        return write_frame_csv(out, path)
    layer = gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(fixes["lon"], fixes["lat"]), crs="EPSG:4326"
    )
    write_geodata(layer, path, layer="fixes", replace=True, precision=9)
    ids = sorted(out["patroller"].unique())
    return styles.style_file(path, "fixes", styles.fix_style(ids))


def write_track_rejects(data: TrackImport | pd.DataFrame, path: str | Path) -> Path:
    r"""Write the rejected fixes as CSV (UTF-8 with BOM): file, row, patroller, time, reason.

    Parameters
    ----------
    data
        A :class:`~gridplan.tracks.fixes.TrackImport` or its ``rejects``.
    path
        The ``.csv`` file (replaced if it exists).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from gridplan.tracks.fixes import import_track
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "v01.csv").write_text(
    ...     "time,lon,lat\n2024-06-05 08:00:00,121.47,31.23\n2024-06-05 08:00:05,abc,31.23\n",
    ...     encoding="utf-8")
    >>> result = import_track(folder / "v01.csv", patroller="V01")
    >>> out = write_track_rejects(result, folder / "v01.rejects.csv")
    >>> out.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[1:6]
    ['3', 'V01', '2024-06-05T08:00:05+08:00', 'lon', 'abc']
    """
    rejects = data.rejects if isinstance(data, TrackImport) else data
    frame = rejects.loc[:, list(TRACK_REJECT_COLUMNS)].copy()
    frame["reason"] = frame["reason"].astype(str)
    return write_frame_csv(frame, Path(path))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with times as ISO 8601 text with the offset ("" when missing)."""
    out = frame.copy()
    for col in _TIME_COLUMNS:
        if col in out.columns:
            times = pd.Series(pd.DatetimeIndex(out[col]), index=out.index)
            text = pd.Series("", index=out.index, dtype=object)
            known = times.notna()
            if known.any():  # a column of no time at all (no stop made) has no timezone
                text[known] = iso_times(times[known])
            out[col] = text
    for col in ("dwell_min", "present_min", "late_min", "tracked_share"):
        if col in out.columns:
            out[col] = out[col].astype(float).round(3)
    return out


#: Columns a check-ins table must have (the web UI's check-ins CSV has them and more:
#: ``stop_key``, ``lon``, ``lat``, ``accuracy_m`` and ``note`` are read when present).
CHECK_IN_COLUMNS = ("patroller", "kind", "time", "micro_id")

_E_CHECKIN_COLUMNS = define(
    "tracks.checkin_columns",
    N_(
        "%(where)s: the columns %(missing)s are missing (found: %(found)s); give the check-ins "
        "CSV that a plan's page of the web UI downloads (Check-ins as CSV)"
    ),
)
_E_CHECKIN_ROWS = define(
    "tracks.checkin_rows",
    N_("%(where)s: %(n)d check-ins cannot be read: %(first)s; fix those rows or leave them out"),
)
_R_CHECKIN_KIND = define(
    "tracks.checkin_kind", N_("row %(row)d: kind %(value)r is not arrived or left")
)
_R_CHECKIN_TIME = define(
    "tracks.checkin_time",
    N_(
        "row %(row)d: time %(value)r is not a date and time with its offset "
        "(2024-06-05T08:00:00+08:00)"
    ),
)
_R_CHECKIN_WHERE = define(
    "tracks.checkin_where",
    N_("row %(row)d: neither the micro-grid nor the stop nor the position is given"),
)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _check_in_time(value: str):
    try:
        time = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(time) or time.tzinfo is None else time.to_pydatetime()


def check_ins_from_frame(frame: pd.DataFrame, *, where: str = "check-ins") -> list[CheckIn]:
    """Return the check-ins of a table with :data:`CHECK_IN_COLUMNS` (cells as text).

    ``time`` is ISO 8601 with its offset; ``micro_id`` or ``stop_key`` (or ``lon``/``lat``)
    says where. Spreadsheet escapes (a leading ``'``) are undone.

    Raises
    ------
    InputError
        If a column is missing, or rows have an unknown kind, a time without its offset or
        no place (the first rows named, counting the header as row 1).
    """
    missing = [c for c in CHECK_IN_COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns[:20])) or "-"
        raise InputError(_E_CHECKIN_COLUMNS(where=where, missing=", ".join(missing), found=found))
    text = frame.astype(object).where(frame.notna(), "").map(lambda v: unescape_cell(str(v)))
    out, problems = [], []
    for k, r in enumerate(text.to_dict("records")):
        row = k + 2
        time = _check_in_time(r["time"])
        lon, lat = _number(r.get("lon", "")), _number(r.get("lat", ""))
        place = r["micro_id"] or r.get("stop_key", "") or (lon is not None and lat is not None)
        if r["kind"] not in KINDS:
            problems.append(_R_CHECKIN_KIND(row=row, value=r["kind"]))
        elif time is None:
            problems.append(_R_CHECKIN_TIME(row=row, value=r["time"]))
        elif not place:
            problems.append(_R_CHECKIN_WHERE(row=row))
        else:
            out.append(
                CheckIn(
                    patroller=r["patroller"],
                    kind=r["kind"],
                    time=time,
                    micro_id=r["micro_id"] or None,
                    stop=r.get("stop_key") or None,
                    lon=lon,
                    lat=lat,
                    accuracy_m=_number(r.get("accuracy_m", "")),
                    note=r.get("note", ""),
                )
            )
    if problems:
        first = listing(problems[:5], semicolons=True)
        raise InputError(_E_CHECKIN_ROWS(where=where, n=len(problems), first=first))
    return out


def read_check_ins(path: str | Path, *, limits: ReadLimits | None = None) -> list[CheckIn]:
    r"""Read the check-ins CSV a plan's page of the web UI downloads (see the module).

    Parameters
    ----------
    path
        The CSV (UTF-8, with or without a byte-order mark).
    limits
        ``max_bytes`` and ``max_rows`` bound what the file may hold.

    Returns
    -------
    list of CheckIn
        One per row, in the file's order.

    Raises
    ------
    InputError
        If the file is missing, empty, too big or not such a table (see
        :func:`check_ins_from_frame`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "check-ins.csv"
    >>> _ = p.write_text("patroller,kind,time,micro_id\n"
    ...                  "V01,arrived,2024-06-05T08:00:00+08:00,S01-B1-M001\n", encoding="utf-8")
    >>> [(c.patroller, c.kind, c.micro_id) for c in read_check_ins(p)]
    [('V01', 'arrived', 'S01-B1-M001')]
    """
    path = Path(path)
    limits = ReadLimits() if limits is None else limits
    check_file(path, kinds=_CHECK_IN_FILE(), what=_CHECK_INS())
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise InputError(exceeded("max_bytes", size, limits.max_bytes, path))
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=limits.max_rows + 1
        )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(_E_CHECKIN_UNREADABLE(where=str(path), problem=str(exc)[:200])) from None
    if len(frame) > limits.max_rows:
        raise InputError(exceeded("max_rows", len(frame), limits.max_rows, path))
    return check_ins_from_frame(frame, where=str(path))


_CHECK_IN_FILE = define("tracks.checkin_file", N_("a check-ins CSV"))
_CHECK_INS = define("tracks.checkin_what", N_("the check-ins"))
_E_CHECKIN_UNREADABLE = define(
    "tracks.checkin_unreadable",
    N_("%(where)s cannot be read as CSV (%(problem)s); download the check-ins CSV again"),
)


def compliance_tables(report: Compliance) -> dict[str, pd.DataFrame]:
    """Return a report's ``stops``, ``patrollers`` and ``hotspots`` as its CSV files hold them.

    Times are ISO 8601 text with their offset, minutes rounded to 0.001.

    Examples
    --------
    >>> tables = compliance_tables(report)  # doctest: +SKIP
    >>> list(tables)  # doctest: +SKIP
    ['stops', 'patrollers', 'hotspots']
    """
    return {
        "stops": _plain(report.stops),
        "patrollers": report.patrollers.copy(),
        "hotspots": report.hotspots.copy(),
    }


def compliance_paths(path: str | Path) -> tuple[Path, ...]:
    """Return the files :func:`write_compliance` writes for ``path``.

    A ``.csv`` gives ``NAME.csv`` (stops), ``NAME.patrollers.csv`` and ``NAME.hotspots.csv``;
    a ``.gpkg`` itself.
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return (path,)
    stem = path.name[: -len(path.suffix)]
    return (
        path,
        path.with_name(f"{stem}.patrollers.csv"),
        path.with_name(f"{stem}.hotspots.csv"),
    )


def write_compliance(
    report: Compliance, path: str | Path, *, grid: gpd.GeoDataFrame | None = None
) -> tuple[Path, ...]:
    """Write a compliance report as CSV files or one GeoPackage (see the module).

    Parameters
    ----------
    report
        From :func:`~gridplan.tracks.compliance.compute_compliance`.
    path
        ``NAME.csv`` (three files, :func:`compliance_paths`) or ``NAME.gpkg``; replaced.
    grid
        The grid: the GeoPackage's ``hotspots`` layer gets the micro-grids' polygons
        (without it, it is a table).

    Returns
    -------
    tuple of Path
        The files written.

    Raises
    ------
    InputError
        On another suffix.

    Examples
    --------
    >>> report = compute_compliance(plan, fixes, grid)  # doctest: +SKIP
    >>> write_compliance(report, "day.csv")  # doctest: +SKIP
    (PosixPath('day.csv'), PosixPath('day.patrollers.csv'), PosixPath('day.hotspots.csv'))
    >>> write_compliance(report, "day.gpkg", grid=grid)  # doctest: +SKIP
    (PosixPath('day.gpkg'),)
    """
    path = Path(path)
    suffix = _suffix(path, (".csv", ".gpkg"))
    tables = compliance_tables(report)
    stops = tables["stops"]
    if suffix == ".csv":
        paths = compliance_paths(path)
        for table, out in zip(tables.values(), paths, strict=True):
            write_frame_csv(table, out)
        return paths
    points = gpd.GeoDataFrame(
        stops.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(stops["lon"], stops["lat"]),
        crs="EPSG:4326",
    )
    write_geodata(points, path, layer="stops", replace=True)
    hot = report.hotspots
    if grid is not None and len(hot):
        cells = grid[grid["level"] == "micro"].set_index("id").geometry.to_crs("EPSG:4326")
        hot = hot[hot["micro_id"].isin(cells.index)]
        layer = gpd.GeoDataFrame(
            hot, geometry=cells.loc[hot["micro_id"]].to_numpy(), crs="EPSG:4326"
        )
        write_geodata(layer, path, layer="hotspots")
    else:
        pyogrio.write_dataframe(pd.DataFrame(hot), path, layer="hotspots")
    pyogrio.write_dataframe(report.patrollers, path, layer="patrollers")
    pyogrio.write_dataframe(report.presence.minutes, path, layer="presence")
    styled = {"stops": styles.compliance_stop_style()}
    if grid is not None:
        styled["hotspots"] = styles.compliance_hotspot_style()
    styles.write_gpkg_styles(path, styled)
    return (path,)


__all__ = [
    "CHECK_IN_COLUMNS",
    "check_ins_from_frame",
    "compliance_paths",
    "compliance_tables",
    "read_check_ins",
    "write_compliance",
    "write_fixes",
    "write_track_rejects",
]
