"""Writing tracks and compliance reports: cleaned fixes, rejected fixes, CSV and GeoPackage.

- :func:`write_fixes`: the FIXES of a track import as CSV (``lon``/``lat`` columns, times
  ISO 8601 with the offset), GeoJSON or a GeoPackage layer ``fixes`` styled per patroller;
  :func:`gridplan.tracks.fixes.import_track` reads each of them back.
- :func:`write_track_rejects`: the rejected fixes as CSV, one row each with its file, row and
  reason.
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
from gridplan._validate import TRACK_REJECT_COLUMNS
from gridplan._validate import check_fixes
from gridplan.io import styles
from gridplan.io.csvsafe import write_frame_csv
from gridplan.io.export import iso_times
from gridplan.io.export import write_geodata
from gridplan.tracks.compliance import Compliance
from gridplan.tracks.fixes import TrackImport

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
            text[known] = iso_times(times[known])
            out[col] = text
    for col in ("dwell_min", "present_min", "late_min", "tracked_share"):
        if col in out.columns:
            out[col] = out[col].astype(float).round(3)
    return out


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
    stops = _plain(report.stops)
    if suffix == ".csv":
        paths = compliance_paths(path)
        write_frame_csv(stops, paths[0])
        write_frame_csv(report.patrollers, paths[1])
        write_frame_csv(report.hotspots, paths[2])
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
    "compliance_paths",
    "write_compliance",
    "write_fixes",
    "write_track_rejects",
]
