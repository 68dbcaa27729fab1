"""Importing incident tables (警情/案件 exports) into the canonical INCIDENTS GeoDataFrame.

:func:`import_incidents` reads CSV (UTF-8 or GBK/GB18030, optionally gzipped), XLSX, GeoJSON
and GeoPackage files, finds the coordinate, time, category, id and alert columns by their
English or Chinese names, converts GCJ-02/BD-09 or projected coordinates to WGS84, parses
mixed time formats into the station timezone, and accounts for every input row: it is either
kept in ``ImportResult.incidents`` or listed, with its row number, value and reason, in
``ImportResult.rejects``. All steps are vectorised: a million-row CSV takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridplan._errors import ColumnError
from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan._validate import REJECT_COLUMNS
from gridplan.geo import _columns
from gridplan.geo import _parse
from gridplan.geo import _tables
from gridplan.geo.crs import datum_to_wgs84
from gridplan.geo.crs import parse_crs
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import read_vector
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config

_ALERTS = {
    "red": "red",
    "红": "red",
    "红色": "red",
    "红色预警": "red",
    "yellow": "yellow",
    "黄": "yellow",
    "黄色": "yellow",
    "黄色预警": "yellow",
    "blue": "blue",
    "蓝": "blue",
    "蓝色": "blue",
    "蓝色预警": "blue",
}
_TRUE = {"true", "1", "yes", "t", "y", "是"}
_FALSE = {"false", "0", "no", "f", "n", "否"}


# Reasons of rejected rows (ids in the rejects' reason_id column) and import warnings; the
# web UI shows them in the user's language (gridplan._messages).
_R_TIME = define(
    "incidents.time_unreadable",
    N_("time is not a recognised date/time (write e.g. 2024-03-05 14:30)"),
)
_R_TIME_MISSING = define("incidents.time_missing", N_("time is missing"))
_R_IMPOSSIBLE = define(
    "incidents.time_impossible",
    N_(
        "this date or clock time does not exist (month 1-12, a day the month has, hour 0-23, "
        "minute and second 0-59)"
    ),
)
_R_YEARS = define("incidents.time_years", N_("time is outside the years %(first)d-%(last)d"))
_R_TOD = define("incidents.time_of_day", N_("time of day is not HHMM or HH:MM (00:00-23:59)"))
_R_HOUR = define("incidents.hour", N_("hour is not a whole number 0-23"))
_R_DATE_MISSING = define("incidents.date_missing", N_("date is missing"))
_R_DATE = define("incidents.date_unreadable", N_("date is not a recognised date"))
_R_ZERO = define("incidents.zero_coordinates", N_("coordinates are 0,0 (no location recorded)"))
_R_SWAPPED_ROW = define(
    "incidents.swapped_row",
    N_("latitude is outside -90..90; longitude and latitude look swapped in this row"),
)
_R_PROJECTED = define(
    "incidents.looks_projected",
    N_(
        "coordinate is far outside lon/lat ranges; projected x/y? set crs.input and name the "
        "columns x and y"
    ),
)
_R_LON_RANGE = define("incidents.longitude_range", N_("longitude is outside -180..180"))
_R_LAT_RANGE = define("incidents.latitude_range", N_("latitude is outside -90..90"))
_R_COORD_MISSING = define("incidents.coordinate_missing", N_("%(coordinate)s is missing"))
_R_COORD_NAN = define("incidents.coordinate_not_number", N_("%(coordinate)s is not a number"))
_COORDINATES = {
    "longitude": define("coordinate.longitude", N_("longitude")),
    "latitude": define("coordinate.latitude", N_("latitude")),
    "x": define("coordinate.x", N_("x")),
    "y": define("coordinate.y", N_("y")),
}
_R_XY_TRANSFORM = define("incidents.xy_transform", N_("x/y cannot be transformed from %(crs)s"))
_R_XY_AREA = define("incidents.xy_area", N_("x/y is outside the area of %(crs)s"))
_R_NO_GEOMETRY = define("incidents.no_geometry", N_("geometry is missing or empty"))
_R_NOT_POINT = define("incidents.not_point", N_("geometry is not a point"))
_R_POINT_TRANSFORM = define("incidents.point_transform", N_("point cannot be transformed to WGS84"))

_W_SWAPPED = define(
    "incidents.swapped_columns",
    N_(
        "the columns %(lat)r and %(lon)r hold latitude and longitude the other way round; "
        "read %(lon)r as longitude and %(lat)r as latitude"
    ),
)
_W_SWAPPED_XY = define(
    "incidents.swapped_xy",
    N_(
        "the columns %(y)r and %(x)r hold easting and northing the other way round (X = "
        "northing is the Chinese survey convention); read %(x)r as easting"
    ),
)
_W_NO_CRS = define(
    "incidents.layer_no_crs",
    N_("the layer has no CRS; assumed crs.input = %(crs)s from the station config"),
)
_W_DUPLICATES = define(
    "incidents.duplicate_ids",
    N_("%(n)d rows share %(ids)d ids (kept: exports often list one row per offense of a case)"),
)
_W_NO_ID = define("incidents.no_id", N_("%(n)d rows have no id; generated ids 'row-<row number>'"))
_W_ALERTS = define(
    "incidents.unknown_alerts",
    N_("%(n)d alert values are not red/yellow/blue (红/黄/蓝) and were left empty: %(values)s"),
)
_W_NO_TIME = define(
    "incidents.no_time_of_day",
    N_("%(n)d rows have a date but no time of day; kept at 00:00 (rows %(rows)s)"),
)
_W_OUTSIDE = define(
    "incidents.outside_station",
    N_("%(n)d incidents lie outside the station boundary (kept)"),
)
_C_WGS84 = define("incidents.crs_wgs84", N_("WGS84 lon/lat"))
_C_GEOGRAPHIC = define("incidents.crs_geographic", N_("%(crs)s lon/lat transformed to WGS84"))
_C_GCJ02 = define("incidents.crs_gcj02", N_("GCJ-02 (高德/腾讯) lon/lat converted to WGS84"))
_C_BD09 = define("incidents.crs_bd09", N_("BD-09 (百度) lon/lat converted to WGS84"))
_C_PROJECTED = define("incidents.crs_projected", N_("%(crs)s x/y transformed to WGS84"))
_C_REPROJECTED = define("incidents.crs_reprojected", N_("%(crs)s reprojected to WGS84"))
_E_NO_ROWS = define(
    "incidents.no_data_rows",
    N_("%(where)s: the table has a header but no data rows; export the incidents again"),
)
_E_NOTHING_KEPT = define(
    "incidents.nothing_imported",
    N_("%(where)s: none of the %(n)d rows could be imported. First problems: %(first)s. %(fix)s"),
)
_FIRST_PROBLEM = define("incidents.row_problem", N_("row %(row)d %(column)s=%(value)r: %(reason)s"))
#: Advice when no row could be imported (the command line and Python name the columns).
ADVICE_FIX_OR_COLUMNS = define(
    "advice.fix_or_columns",
    N_("Fix the file, or name the right columns explicitly (e.g. --column lon=经度)"),
)
_E_LAYER_NO_CRS = define(
    "incidents.layer_without_crs",
    N_(
        "%(where)s: the data has no coordinate reference system (a Shapefile needs its .prj); "
        "add the .prj or re-export as GeoPackage/GeoJSON with a CRS"
    ),
)
_E_FIRST_SHEET = define(
    "incidents.first_sheet_without_coordinates",
    N_(
        "%(where)s: the first sheet with data, %(sheet)r, has no coordinate columns (its "
        "columns: %(columns)s); the workbook's sheets are %(sheets)s (%(hint)s). %(fix)s"
    ),
)
_SHEETS_WITH_COORDINATES = define(
    "incidents.sheets_with_coordinates", N_("sheet(s) with coordinate columns: %(sheets)s")
)
_NO_SHEET_WITH_COORDINATES = define(
    "incidents.no_sheet_with_coordinates", N_("no sheet has columns named like coordinates")
)
#: Advice to read another sheet of a workbook (the command line and Python choose it).
ADVICE_SHEET = define(
    "advice.sheet",
    N_(
        'Choose the incident sheet with --sheet "%(sheet)s" on the command line, or '
        'sheet="%(sheet)s" in Python'
    ),
)


def _years() -> Message:
    return _R_YEARS(first=_parse.YEARS[0], last=_parse.YEARS[1])


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """The outcome of :func:`import_incidents`: kept incidents, rejected rows and a summary.

    Every input row is accounted for: ``len(incidents) + len(rejects) == n_rows``.

    Attributes
    ----------
    incidents
        The canonical INCIDENTS GeoDataFrame (EPSG:4326 points; columns ``id``, ``time``,
        ``category``, ``alert``, ``weight``, ``in_station``, ``source_row``, ``geometry``).
    rejects
        One row per rejected input row: ``row`` (the number the user sees in the file),
        ``column``, ``value``, ``reason`` (English text, a
        :class:`~gridplan._messages.Message`) and ``reason_id`` (its stable id).
    source
        The file read.
    n_rows
        Data rows read (blank lines and the header excluded).
    warnings
        Recoverable problems worth telling the user (swapped columns, duplicate ids, ...),
        as :class:`~gridplan._messages.Message` strings (English; the web UI translates).
    unweighted_categories
        Categories (as written) that ``scoring.category_weights`` does not list, with their
        kept rows, most rows first: they count with ``scoring.default_weight``.

    Examples
    --------
    >>> result = import_incidents("tests/data/incidents_portland_2019_sample.csv")
    >>> result.n_rows, len(result.incidents), len(result.rejects)
    (498, 498, 0)
    >>> result.summary()["columns_used"]["time"]
    'occur_datetime'
    """

    incidents: gpd.GeoDataFrame
    rejects: pd.DataFrame
    source: str
    n_rows: int
    warnings: tuple[str, ...] = ()
    file_format: str = "csv"
    sheet: str | None = None
    encoding: str | None = None
    columns_used: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    columns_ignored: tuple[str, ...] = ()
    coordinate_system: str = "wgs84"
    swapped: bool = False
    n_time_unknown: int = 0
    n_duplicate_ids: int = 0
    n_generated_ids: int = 0
    unweighted_categories: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    default_weight: float = 1.0

    def summary(self) -> dict[str, Any]:
        """Return counts and choices of the import as a plain dict of JSON types.

        Returns
        -------
        dict
            ``source``, ``format``, ``coordinate_system`` (str); ``sheet``, ``encoding``
            (str or None); ``rows_read``, ``kept``, ``rejected``, ``outside_station``,
            ``time_unknown``, ``duplicate_ids``, ``generated_ids`` (int); ``swapped`` (bool:
            longitude and latitude were swapped back); ``default_weight`` (float);
            ``rejected_by_reason`` and ``unweighted_categories`` (str -> int);
            ``columns_used`` (str -> str); ``columns_ignored`` and ``warnings`` (list of str).
            ``json.loads(json.dumps(summary))`` gives it back unchanged.
        """
        reasons = Counter(self.rejects["reason"].tolist())
        in_station = self.incidents["in_station"].to_numpy(dtype=bool)
        return {
            "source": self.source,
            "format": self.file_format,
            "sheet": self.sheet,
            "rows_read": int(self.n_rows),
            "kept": len(self.incidents),
            "rejected": len(self.rejects),
            "rejected_by_reason": dict(reasons.most_common()),
            "outside_station": int((~in_station).sum()),
            "encoding": self.encoding,
            "columns_used": dict(self.columns_used),
            "columns_ignored": list(self.columns_ignored),
            "coordinate_system": self.coordinate_system,
            "swapped": bool(self.swapped),
            "time_unknown": int(self.n_time_unknown),
            "duplicate_ids": int(self.n_duplicate_ids),
            "generated_ids": int(self.n_generated_ids),
            "unweighted_categories": {
                str(k): int(v) for k, v in self.unweighted_categories.items()
            },
            "default_weight": float(self.default_weight),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------- reject ledger


class _Ledger:
    """First reason per row why it is rejected; rows without a reason are kept."""

    def __init__(self, n: int):
        self.ok = np.ones(n, dtype=bool)
        self.column = np.full(n, "", dtype=object)
        self.value = np.full(n, "", dtype=object)
        self.reason = np.full(n, "", dtype=object)

    def reject(self, mask: Any, column: str, values: Any, reason: Message) -> None:
        m = np.asarray(mask, dtype=bool) & self.ok
        if not m.any():
            return
        self.ok[m] = False
        self.column[m] = column
        self.reason[m] = reason
        if isinstance(values, str):
            self.value[m] = values
        else:
            picked = np.asarray(values, dtype=object)[m]
            self.value[m] = np.array([_parse.show(v) for v in picked], dtype=object)


# --------------------------------------------------------------------------- station


def _station_geometry(station: Any, where: str) -> shapely.Geometry | None:
    if station is None:
        return None
    if isinstance(station, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if station.crs is None:
            msg = (
                f"{where}: the station boundary has no CRS; set it first "
                "(gdf.set_crs('EPSG:4326')) so incidents can be tested against it"
            )
            raise CRSError(msg)
        data = station.to_crs("EPSG:4326")
        if isinstance(data, gpd.GeoDataFrame) and "level" in data.columns:
            rows = data[data["level"] == "station"]
            if not rows.empty:
                data = rows
        geom = shapely.union_all(np.asarray(data.geometry.values))
    elif isinstance(station, shapely.Geometry):
        geom = station
    else:
        msg = (
            f"{where}: station must be a shapely Polygon or a GeoDataFrame (a GRID with a "
            f"'station' row), not {type(station).__name__}"
        )
        raise InputError(msg)
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"{where}: the station boundary is {geom.geom_type}, not a polygon"
        raise InputError(msg)
    geom = shapely.from_wkb(shapely.to_wkb(geom))  # a copy: prepare() must not touch input
    shapely.prepare(geom)
    return geom


# --------------------------------------------------------------------------- coordinates


@dataclasses.dataclass
class _Coords:
    lon: np.ndarray
    lat: np.ndarray
    description: str
    swapped: bool = False
    columns: tuple[str, ...] = ()


def _range_rejects(
    ledger: _Ledger,
    lon: np.ndarray,
    lat: np.ndarray,
    lon_col: str,
    lat_col: str,
    lon_raw: Any,
    lat_raw: Any,
) -> None:
    zero = (lon == 0) & (lat == 0)
    ledger.reject(zero, f"{lon_col},{lat_col}", "0,0", _R_ZERO())
    with np.errstate(invalid="ignore"):
        bad_lon = np.abs(lon) > 180
        bad_lat = np.abs(lat) > 90
        looks_swapped = bad_lat & (np.abs(lon) <= 90) & (np.abs(lat) <= 180)
        projected = (np.abs(lon) > 1000) | (np.abs(lat) > 1000)
    ledger.reject(looks_swapped, lat_col, lat_raw, _R_SWAPPED_ROW())
    ledger.reject(projected, lon_col, lon_raw, _R_PROJECTED())
    ledger.reject(bad_lon, lon_col, lon_raw, _R_LON_RANGE())
    ledger.reject(bad_lat, lat_col, lat_raw, _R_LAT_RANGE())


def _swap_by_range(lon: np.ndarray, lat: np.ndarray, ok: np.ndarray) -> bool:
    """Whole columns swapped: most rows have a valid longitude as 'lat' and vice versa."""
    n = int(ok.sum())
    if n == 0:
        return False
    with np.errstate(invalid="ignore"):
        swapped_like = (np.abs(lat) > 90) & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    return int((swapped_like & ok).sum()) * 2 > n


def _swap_by_station(
    lon: np.ndarray, lat: np.ndarray, ok: np.ndarray, station: shapely.Geometry | None
) -> bool:
    """Whole columns swapped: no point falls in the station, most do once swapped."""
    if station is None or not ok.any():
        return False
    inside = shapely.intersects_xy(station, lon[ok], lat[ok]).mean()
    inside_swapped = shapely.intersects_xy(station, lat[ok], lon[ok]).mean()
    return bool(inside < 0.05 and inside_swapped > 0.5)


def _table_coordinates(
    frame: pd.DataFrame,
    header: list[str],
    cmap: _columns.ColumnMap,
    config: StationConfig,
    ledger: _Ledger,
    station: shapely.Geometry | None,
    where: str,
    warn: list[Message],
) -> _Coords:
    input_crs = parse_crs(config.input_crs, where=f"{where}: crs.input")
    _columns.require_coordinates(cmap, header, where=where)
    if cmap.lon and cmap.lat:
        xcol, ycol, projected = cmap.lon, cmap.lat, False
    else:
        xcol, ycol, projected = cmap.x, cmap.y, input_crs.is_projected
    xraw, yraw = frame[xcol], frame[ycol]
    x, y = _parse.numbers(xraw), _parse.numbers(yraw)
    for raw, num, col, name in ((xraw, x, xcol, "x"), (yraw, y, ycol, "y")):
        label = _COORDINATES[{"x": "longitude", "y": "latitude"}[name] if not projected else name]
        blank = _parse.blank(raw)
        ledger.reject(blank, col, raw, _R_COORD_MISSING(coordinate=label()))
        ledger.reject(~np.isfinite(num), col, raw, _R_COORD_NAN(coordinate=label()))
    if projected:
        return _projected(x, y, xcol, ycol, xraw, yraw, input_crs, ledger, warn)

    ok = ledger.ok & np.isfinite(x) & np.isfinite(y) & ~((x == 0) & (y == 0))
    swapped = _swap_by_range(x, y, ok) or _swap_by_station(x, y, ok, station)
    if swapped:
        x, y, xcol, ycol, xraw, yraw = y, x, ycol, xcol, yraw, xraw
        warn.append(_W_SWAPPED(lat=ycol, lon=xcol))
    _range_rejects(ledger, x, y, xcol, ycol, xraw, yraw)
    good = ledger.ok
    lon, lat = x.copy(), y.copy()
    datum = config.coordinates
    if not input_crs.equals("EPSG:4326") and input_crs.is_geographic:
        tr = pyproj.Transformer.from_crs(input_crs, "EPSG:4326", always_xy=True)
        lon[good], lat[good] = tr.transform(lon[good], lat[good])
        description = _C_GEOGRAPHIC(crs=input_crs.to_string())
    elif datum in ("gcj02", "bd09"):
        lon[good], lat[good] = datum_to_wgs84(lon[good], lat[good], datum)
        description = _C_GCJ02() if datum == "gcj02" else _C_BD09()
    else:
        description = _C_WGS84()
    return _Coords(lon, lat, description, swapped, (xcol, ycol))


def _projected(
    x: np.ndarray,
    y: np.ndarray,
    xcol: str,
    ycol: str,
    xraw: pd.Series,
    yraw: pd.Series,
    crs: pyproj.CRS,
    ledger: _Ledger,
    warn: list[Message],
) -> _Coords:
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    good = ledger.ok.copy()
    swapped = False
    area = crs.area_of_use
    if area is not None and good.any():
        # Chinese survey convention calls the northing X: detect swapped x/y by which reading
        # lands inside the CRS's area of use.
        def inside(lon: np.ndarray, lat: np.ndarray) -> float:
            return float(
                (
                    (lon >= area.west - 1)
                    & (lon <= area.east + 1)
                    & (lat >= area.south - 1)
                    & (lat <= area.north + 1)
                ).mean()
            )

        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            a = inside(*tr.transform(x[good], y[good]))
            b = inside(*tr.transform(y[good], x[good]))
        if a < 0.5 < b:
            swapped = True
            x, y, xcol, ycol, xraw, yraw = y, x, ycol, xcol, yraw, xraw
            warn.append(_W_SWAPPED_XY(y=ycol, x=xcol))
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    with np.errstate(invalid="ignore"):
        lon[good], lat[good] = tr.transform(x[good], y[good])
    failed = good & ~(np.isfinite(lon) & np.isfinite(lat))
    ledger.reject(failed, f"{xcol},{ycol}", xraw, _R_XY_TRANSFORM(crs=crs.to_string()))
    with np.errstate(invalid="ignore"):
        outside = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    ledger.reject(outside, f"{xcol},{ycol}", xraw, _R_XY_AREA(crs=crs.name))
    return _Coords(lon, lat, _C_PROJECTED(crs=crs.to_string()), swapped, (xcol, ycol))


# --------------------------------------------------------------------------- reading


def _reads(cmap: _columns.ColumnMap, header: list[str]) -> list[str]:
    wanted = set(cmap.used().values())
    if set(_columns.GRIDPLAN_COLUMNS) <= set(header):
        wanted |= {"in_station", "source_row"}
    return [c for c in header if c in wanted]


def _read_vector_points(
    path: Path,
    config: StationConfig,
    sheet: str | int | None,
    where: str,
    warn: list[Message],
    limits: ReadLimits,
) -> tuple[pd.DataFrame, np.ndarray, pyproj.CRS, str, str]:
    """Read a GeoJSON/GeoPackage/... layer: attributes, geometries, CRS, description, format."""
    suffix = path.suffix.lower()
    gdf = read_vector(path, layer=None if sheet is None else str(sheet), limits=limits)
    fmt = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}.get(suffix, suffix[1:])
    if gdf.crs is None:
        if suffix in (".gpkg",):
            gdf = gdf.set_crs(parse_crs(config.input_crs, where=f"{where}: crs.input"))
            warn.append(_W_NO_CRS(crs=config.input_crs))
        else:
            raise CRSError(_E_LAYER_NO_CRS(where=where))
    description = (
        _C_WGS84() if gdf.crs.equals("EPSG:4326") else _C_REPROJECTED(crs=gdf.crs.to_string())
    )
    geoms = np.asarray(gdf.geometry.values)
    frame = _tables.tidy_strings(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
    return frame, geoms, gdf.crs, description, fmt


def _vector_coordinates(
    geoms: np.ndarray, crs: pyproj.CRS, ledger: _Ledger
) -> tuple[np.ndarray, np.ndarray]:
    n = len(geoms)
    types = shapely.get_type_id(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    ledger.reject(missing, "geometry", "", _R_NO_GEOMETRY())
    multi_one = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    points = np.where(multi_one, shapely.get_geometry(geoms, 0), geoms)
    not_point = ~missing & (shapely.get_type_id(points) != 0)
    names = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    ledger.reject(not_point, "geometry", names, _R_NOT_POINT())
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    good = ledger.ok
    if good.any():
        xs, ys = shapely.get_x(points[good]), shapely.get_y(points[good])
        if not crs.equals("EPSG:4326"):
            tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            xs, ys = tr.transform(xs, ys)
        lon[good], lat[good] = xs, ys
    coords = np.array([f"{a!r},{b!r}" for a, b in zip(lon, lat, strict=True)], dtype=object)
    with np.errstate(invalid="ignore"):
        ledger.reject(
            good & ~(np.isfinite(lon) & np.isfinite(lat)),
            "geometry",
            coords,
            _R_POINT_TRANSFORM(),
        )
        ledger.reject(np.abs(lon) > 180, "geometry", coords, _R_LON_RANGE())
        ledger.reject(np.abs(lat) > 90, "geometry", coords, _R_LAT_RANGE())
    return lon, lat


# --------------------------------------------------------------------------- time columns


def _table_times(
    frame: pd.DataFrame,
    header: list[str],
    cmap: _columns.ColumnMap,
    config: StationConfig,
    ledger: _Ledger,
    where: str,
    used: dict[str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """Parse the time column(s); return UTC instants and the time-unknown mask."""
    time_col, date_col, tod_col, hour_col = cmap.time, cmap.date, cmap.tod, cmap.hour
    if time_col and date_col and tod_col is None and _parse.looks_like_time_of_day(frame[time_col]):
        time_col, tod_col = None, time_col
    if time_col and date_col and "date" in cmap.explicit and "time" not in cmap.explicit:
        time_col = None
    if time_col is None and date_col is None:
        msg = _columns.describe_missing(
            "time",
            ["time", "date", "tod"],
            header,
            where=where,
            example="--column time=发生时间 (or --column date=发生日期 --column time=发生时刻)",
        )
        raise ColumnError(msg, columns=header, roles=("time",))
    n = len(frame)
    if time_col is not None:
        used["time"] = time_col
        raw = frame[time_col]
        parsed = _parse.parse_datetimes(raw)
        ledger.reject(parsed.missing, time_col, raw, _R_TIME_MISSING())
        ledger.reject(parsed.out_of_range, time_col, raw, _years())
        ledger.reject(parsed.impossible, time_col, raw, _R_IMPOSSIBLE())
        ledger.reject(~parsed.parsed, time_col, raw, _R_TIME())
        unknown = parsed.date_only
        utc = _parse.localise(parsed, config.timezone)
    else:
        used["date"] = date_col
        raw = frame[date_col]
        parsed = _parse.parse_datetimes(raw)
        ledger.reject(parsed.missing, date_col, raw, _R_DATE_MISSING())
        ledger.reject(parsed.out_of_range, date_col, raw, _years())
        ledger.reject(parsed.impossible, date_col, raw, _R_IMPOSSIBLE())
        ledger.reject(~parsed.parsed, date_col, raw, _R_DATE())
        # a date is a local calendar day; aware values are first read in the station zone
        day = parsed.naive.copy()
        aware = ~np.isnat(parsed.utc)
        if aware.any():
            local = pd.DatetimeIndex(parsed.utc[aware]).tz_localize("UTC")
            day[aware] = local.tz_convert(config.timezone).tz_localize(None).as_unit("ns")
        day = pd.DatetimeIndex(day).normalize().as_unit("ns").to_numpy()
        offset = np.zeros(n, dtype="timedelta64[ns]")
        unknown = np.ones(n, dtype=bool)
        if tod_col is not None:
            used["time_of_day"] = tod_col
            traw = frame[tod_col]
            toff, bad, missing = _parse.parse_time_of_day(traw)
            ledger.reject(bad, tod_col, traw, _R_TOD())
            known = ~bad & ~missing
            offset[known] = toff[known]
            unknown = ~known
        elif hour_col is not None:
            used["hour"] = hour_col
            hraw = frame[hour_col]
            hours = _parse.numbers(hraw)
            missing = _parse.blank(hraw)
            with np.errstate(invalid="ignore"):
                good = np.isfinite(hours) & (hours >= 0) & (hours < 24) & (hours % 1 == 0)
            ledger.reject(~missing & ~good, hour_col, hraw, _R_HOUR())
            offset[good] = (hours[good] * 3600e9).astype(np.int64).astype("timedelta64[ns]")
            unknown = ~good
        combined = _parse.Parsed.empty(n)
        combined.naive[:] = day + offset
        utc = _parse.localise(combined, config.timezone)
    years = pd.DatetimeIndex(utc).year.to_numpy()
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnat(utc) & ((years < _parse.YEARS[0]) | (years > _parse.YEARS[1]))
    ledger.reject(out_of_range, time_col or date_col, raw, _years())
    return utc, unknown & ledger.ok


# --------------------------------------------------------------------------- main entry


def import_incidents(
    path: str | Path,
    *,
    config: StationConfig | None = None,
    columns: Mapping[str, str] | None = None,
    station: Any = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    progress: ProgressCallback | None = None,
    limits: ReadLimits = _tables.DEFAULT_LIMITS,
) -> ImportResult:
    r"""Read an incident table into the canonical INCIDENTS GeoDataFrame.

    Parameters
    ----------
    path
        CSV (``.csv``, ``.txt``, ``.csv.gz``; UTF-8, UTF-8 with BOM or GBK/GB18030), XLSX,
        GeoJSON or GeoPackage (point layers in any CRS), including files written by
        :func:`~gridplan.io.results.write_incidents`.
    config
        Station configuration: ``timezone`` for naive times, ``coordinates`` (wgs84, gcj02,
        bd09) for lon/lat columns, ``input_crs`` for projected x/y columns, and the category
        and alert weights. Defaults to :func:`gridplan.station.config.default_config`.
    columns
        Explicit header per role, overriding detection: ``lon``, ``lat``, ``x``, ``y``,
        ``time``, ``date``, ``hour``, ``category``, ``id``, ``alert``. With ``date``, ``time``
        may name a time-of-day column (HHMM integers or HH:MM).
    station
        The station boundary: a shapely polygon in WGS84, or a GeoDataFrame (a GRID, whose
        ``station`` row is used). Points outside are kept with ``in_station=False``.
    sheet
        XLSX sheet name or index (default: the first sheet with data); the layer of a
        GeoPackage.
    encoding
        Character set of a CSV, when detection guesses wrong (e.g. ``"gbk"``).
    progress
        Called as ``progress(stage, done, total)``.
    limits
        What the file may hold: unpacked bytes (``.csv.gz``, the zip of an ``.xlsx``), rows
        and cells (rows times columns). The web UI and the command line read them from
        their settings (:meth:`~gridplan.io.limits.ReadLimits.from_mapping`).

    Returns
    -------
    ImportResult
        Kept incidents, rejected rows (row number, column, value, reason) and a summary.

    Raises
    ------
    InputError
        If the file cannot be read, exceeds a limit (the message names the setting that
        raises it), lacks coordinate or time columns (the message lists the columns found
        and the names looked for), or no row at all is usable.
    CRSError
        If a vector file has no CRS and none can be assumed (a Shapefile without ``.prj``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "jq.csv"
    >>> _ = p.write_text("警情编号,经度,纬度,发生时间,案件类别\n"
    ...                  "J1,116.40,39.91,2024年3月5日 14时30分,盗窃\n"
    ...                  "J2,abc,39.92,2024-03-05 15:00,诈骗\n", encoding="utf-8")
    >>> result = import_incidents(p)
    >>> result.incidents[["id", "category", "weight"]].to_dict("records")
    [{'id': 'J1', 'category': '盗窃', 'weight': 1.0}]
    >>> result.rejects[["row", "column", "value"]].to_dict("records")
    [{'row': 3, 'column': '经度', 'value': 'abc'}]
    """
    config = default_config() if config is None else config
    path = Path(path)
    where = str(path)
    warn: list[Message] = []
    stages = 4
    report(progress, "import incidents: read", 0, stages)
    station_geom = _station_geometry(station, where)
    read = _read_table(path, config, columns, sheet, encoding, where, warn, limits)
    table, cmap, header, geoms = read.table, read.cmap, read.table.header, read.geoms
    warn.extend(table.warnings)
    frame = table.frame.reset_index(drop=True)
    n = len(frame)
    n_rows = n + len(table.bad_rows)
    if n_rows == 0:
        raise InputError(_E_NO_ROWS(where=where))
    ledger = _Ledger(n)
    used: dict[str, str] = {}

    report(progress, "import incidents: coordinates", 1, stages)
    swapped = False
    coord_desc = read.coordinate_system
    if geoms is not None:
        lon, lat = _vector_coordinates(geoms, read.vector_crs, ledger)
    else:
        coords = _table_coordinates(frame, header, cmap, config, ledger, station_geom, where, warn)
        lon, lat, coord_desc, swapped = coords.lon, coords.lat, coords.description, coords.swapped
        roles = ("lon", "lat") if cmap.lon and cmap.lat else ("x", "y")
        used[roles[0]], used[roles[1]] = coords.columns

    report(progress, "import incidents: times", 2, stages)
    utc, time_unknown = _table_times(frame, header, cmap, config, ledger, where, used)

    report(progress, "import incidents: fields", 3, stages)
    keep = ledger.ok
    rows = table.rows
    gridplan_format = set(_columns.GRIDPLAN_COLUMNS) <= set(header)
    source_row = _source_rows(frame, keep, rows, gridplan_format, used)

    ids, no_id, dup = _ids(frame, cmap, keep, rows, used, warn)
    category = _text_column(frame, cmap.category, keep, "category", used)
    alert = _alerts(frame, cmap.alert, keep, used, warn)
    weight = _weights(category, alert, config)

    lon_k, lat_k = lon[keep], lat[keep]
    in_station = _in_station(frame, keep, lon_k, lat_k, station_geom, gridplan_format, used)
    times = pd.DatetimeIndex(utc[keep]).tz_localize("UTC").tz_convert(config.timezone)
    incidents = _incident_frame(
        ids, times, category, alert, weight, in_station, source_row, lon_k, lat_k
    )

    rejects = _rejects_frame(ledger, rows, table.bad_rows)
    if len(incidents) == 0:
        raise _nothing_kept(rejects, where, n_rows)
    n_unknown = int(time_unknown.sum())
    if n_unknown:
        shown = ", ".join(map(str, rows[time_unknown][:5]))
        warn.append(_W_NO_TIME(n=n_unknown, rows=shown + (", ..." if n_unknown > 5 else "")))
    outside = int((~incidents["in_station"]).sum()) if station_geom is not None else 0
    if outside:
        warn.append(_W_OUTSIDE(n=outside))
    used_cols = set(used.values())
    ignored = tuple(c for c in header if c not in used_cols)
    report(progress, "import incidents: done", stages, stages)
    return ImportResult(
        incidents=incidents,
        rejects=rejects,
        source=where,
        n_rows=n_rows,
        warnings=tuple(warn),
        file_format=read.file_format,
        sheet=table.sheet,
        encoding=table.encoding,
        columns_used=MappingProxyType(dict(used)),
        columns_ignored=ignored,
        coordinate_system=coord_desc,
        swapped=bool(swapped),
        n_time_unknown=n_unknown,
        n_duplicate_ids=dup,
        n_generated_ids=int(no_id.sum()),
        unweighted_categories=MappingProxyType(_unweighted(category, config)),
        default_weight=float(config.default_weight),
    )


@dataclasses.dataclass(frozen=True)
class _Read:
    """A table as read, with its columns found (and, for a vector file, its points)."""

    table: _tables.RawTable
    cmap: _columns.ColumnMap
    file_format: str
    geoms: Any = None
    vector_crs: Any = None
    coordinate_system: str = ""


def _read_table(
    path: Path,
    config: StationConfig,
    columns: Mapping[str, str] | None,
    sheet: str | int | None,
    encoding: str | None,
    where: str,
    warn: list[Message],
    limits: ReadLimits,
) -> _Read:
    """Read the rows of a CSV, XLSX or vector file and find its columns."""
    kind = _tables.sniff_kind(path)
    if kind == "vector":
        frame, geoms, vector_crs, coord_desc, fmt = _read_vector_points(
            path, config, sheet, where, warn, limits
        )
        header = list(frame.columns)
        cmap = _columns.find_columns(
            header,
            {k: v for k, v in (columns or {}).items() if k not in ("lon", "lat", "x", "y")},
            where=where,
        )
        table = _tables.RawTable(
            frame=frame,
            rows=np.arange(1, len(frame) + 1, dtype=np.int64),
            kind="vector",
            header=header,
        )
        return _Read(table, cmap, fmt, geoms, vector_crs, coord_desc)
    if kind == "xlsx":
        table = _tables.read_xlsx_table(path, sheet=sheet, limits=limits)
        cmap = _columns.find_columns(table.header, columns, where=where)
        if sheet is None:
            _check_first_sheet(path, table, cmap, where, limits)
        _columns.require_coordinates(cmap, table.header, where=where)
        table.frame = table.frame[_reads(cmap, table.header)]
        return _Read(table, cmap, "xlsx")
    holder: dict[str, _columns.ColumnMap] = {}

    def select(header: list[str]) -> list[str]:
        holder["cmap"] = _columns.find_columns(header, columns, where=where)
        # before reading the rows: a table without coordinates is not worth reading
        _columns.require_coordinates(holder["cmap"], header, where=where)
        return _reads(holder["cmap"], header)

    def numeric(header: list[str]) -> list[str]:
        cm = holder.get("cmap") or _columns.find_columns(header, columns, where=where)
        return [c for c in (cm.lon, cm.lat, cm.x, cm.y) if c]

    table = _tables.read_csv_table(
        path, encoding=encoding, select=select, numeric=numeric, limits=limits
    )
    return _Read(table, holder["cmap"], "csv")


def _ids(
    frame: pd.DataFrame,
    cmap: _columns.ColumnMap,
    keep: np.ndarray,
    rows: np.ndarray,
    used: dict[str, str],
    warn: list[Message],
) -> tuple[pd.Series, np.ndarray, int]:
    """Return the kept rows' ids, which were generated, and how many rows share an id.

    The user's ids are kept (duplicates are normal: one row per offense of a case); a row
    without one gets ``row-<row number>``.
    """
    if cmap.id is not None:
        used["id"] = cmap.id
        ids = _parse.texts(frame[cmap.id])[keep].reset_index(drop=True)
    else:
        ids = pd.Series(pd.NA, index=range(int(keep.sum())), dtype="string")
    no_id = ids.isna().to_numpy()
    if no_id.any():
        ids[no_id] = pd.Series(rows[keep][no_id]).map("row-{}".format).to_numpy()
    ids = ids.astype("string")
    dup = int(ids.duplicated(keep=False).sum())
    if dup:
        n_ids = int(ids[ids.duplicated(keep=False)].nunique())
        warn.append(_W_DUPLICATES(n=dup, ids=n_ids))
    if no_id.any() and cmap.id is not None:
        warn.append(_W_NO_ID(n=int(no_id.sum())))
    return ids, no_id, dup


def _text_column(
    frame: pd.DataFrame, column: str | None, keep: np.ndarray, role: str, used: dict[str, str]
) -> pd.Series:
    """Return a text column's kept values (all missing when the table has no such column)."""
    if column is None:
        return pd.Series(pd.NA, index=range(int(keep.sum())), dtype="string")
    used[role] = column
    return _parse.texts(frame[column])[keep].reset_index(drop=True)


def _alerts(
    frame: pd.DataFrame,
    column: str | None,
    keep: np.ndarray,
    used: dict[str, str],
    warn: list[Message],
) -> pd.Series:
    """Return the kept rows' alert colours (red, yellow, blue); unknown values warn."""
    alert_text = _text_column(frame, column, keep, "alert", used)
    if column is None:
        return alert_text
    folded = alert_text.str.casefold().str.replace(r"\s+", "", regex=True)
    alert = folded.map(_ALERTS, na_action="ignore").astype("string")
    unknown_alert = alert_text[alert.isna() & alert_text.notna()]
    if len(unknown_alert):
        shown = ", ".join(map(repr, unknown_alert.unique()[:5]))
        warn.append(_W_ALERTS(n=len(unknown_alert), values=shown))
    return alert


def _in_station(
    frame: pd.DataFrame,
    keep: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    station_geom: shapely.Geometry | None,
    gridplan_format: bool,
    used: dict[str, str],
) -> np.ndarray:
    """Return whether each kept point lies in the station (or what a gridplan export says)."""
    if station_geom is not None:
        return shapely.intersects_xy(station_geom, lon, lat)
    if gridplan_format and "in_station" in frame:
        stored = frame["in_station"][keep]
        used["in_station"] = "in_station"
        if pd.api.types.is_bool_dtype(stored):
            return stored.to_numpy(dtype=bool)
        return stored.astype(str).str.strip().str.casefold().isin(_TRUE).to_numpy()
    return np.ones(len(lon), dtype=bool)


def _source_rows(
    frame: pd.DataFrame,
    keep: np.ndarray,
    rows: np.ndarray,
    gridplan_format: bool,
    used: dict[str, str],
) -> np.ndarray:
    """Return the kept rows' numbers in the original file (a gridplan export keeps its own)."""
    if gridplan_format and "source_row" in frame:
        stored = _parse.numbers(frame["source_row"])[keep]
        if np.isfinite(stored).all():
            used["source_row"] = "source_row"
            return stored.astype(np.int64)
    return rows[keep]


def _incident_frame(
    ids: pd.Series,
    times: pd.DatetimeIndex,
    category: pd.Series,
    alert: pd.Series,
    weight: np.ndarray,
    in_station: np.ndarray,
    source_row: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> gpd.GeoDataFrame:
    """Assemble the INCIDENTS frame (WGS84 points) from the kept rows' columns."""
    incidents = gpd.GeoDataFrame(
        {
            "id": ids.to_numpy(),
            "time": times,
            "category": category.to_numpy(),
            "alert": alert.to_numpy(),
            "weight": weight,
            "in_station": np.asarray(in_station, dtype=bool),
            "source_row": np.asarray(source_row, dtype=np.int64),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    for col in ("id", "category", "alert"):
        incidents[col] = incidents[col].astype("string")
    return incidents


def _nothing_kept(rejects: pd.DataFrame, where: str, n_rows: int) -> InputError:
    """Return the error for a table none of whose rows is usable, naming the first problems."""
    first = [
        _FIRST_PROBLEM(row=r.row, column=r.column, value=r.value, reason=r.reason)
        for r in rejects.head(5).itertuples()
    ]
    msg = _E_NOTHING_KEPT(
        where=where, n=n_rows, first=listing(first, semicolons=True), fix=ADVICE_FIX_OR_COLUMNS()
    )
    return InputError(msg)


def _check_first_sheet(
    path: Path,
    table: _tables.RawTable,
    cmap: _columns.ColumnMap,
    where: str,
    limits: ReadLimits,
) -> None:
    """Raise if the sheet read by default has no coordinates but the workbook has others.

    A notes or summary sheet often comes first: name the sheets, and the ones with
    coordinate columns, rather than suggest naming columns the sheet does not have.
    """
    others = [s for s in table.sheets if s != table.sheet]
    if (cmap.lon and cmap.lat) or (cmap.x and cmap.y) or not others:
        return
    with_coords = []
    for name, header in _tables.xlsx_headers(path, others, limits=limits).items():
        found = _columns.find_columns(header, None, where=where)
        if (found.lon and found.lat) or (found.x and found.y):
            with_coords.append(name)
    pick = (with_coords or others)[0]
    hint = (
        _SHEETS_WITH_COORDINATES(sheets=", ".join(map(repr, with_coords)))
        if with_coords
        else _NO_SHEET_WITH_COORDINATES()
    )
    msg = _E_FIRST_SHEET(
        where=where,
        sheet=table.sheet,
        columns=", ".join(table.header),
        sheets=", ".join(map(repr, table.sheets)),
        hint=hint,
        fix=ADVICE_SHEET(sheet=pick),
    )
    raise InputError(msg)


def _unweighted(category: pd.Series, config: StationConfig) -> dict[str, int]:
    """Categories without a configured weight -> their rows, most rows first."""
    counts = category.value_counts(dropna=True)
    return {str(c): int(n) for c, n in counts.items() if not config.has_weight(str(c))}


@dataclasses.dataclass(frozen=True)
class ColumnPreview:
    """The columns of an incident table, a few values of each and the role each was given.

    Attributes
    ----------
    source
        The file read.
    file_format
        ``"csv"``, ``"xlsx"`` or ``"vector"`` (GeoJSON, GeoPackage, ...).
    columns
        The headers, in file order (a vector file's attributes, without the geometry).
    samples
        Up to ``n_samples`` non-blank values per column, as text.
    guessed
        ``{role: header}`` as :func:`import_incidents` would read the table with the same
        ``columns``.
    """

    source: str
    file_format: str
    columns: tuple[str, ...]
    samples: Mapping[str, tuple[str, ...]]
    guessed: Mapping[str, str]

    @property
    def has_geometry(self) -> bool:
        """True for vector files: the points come from the geometry, not lon/lat columns."""
        return self.file_format == "vector"


def preview_columns(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    n_samples: int = 3,
    limits: ReadLimits = _tables.DEFAULT_LIMITS,
) -> ColumnPreview:
    """Read an incident table's headers and first values, and the columns found per role.

    For choosing ``columns`` of :func:`import_incidents` when a header is not recognised
    (the web UI's column mapping). The arguments mean what they mean there; only the first
    200 rows are parsed, so ``limits`` bounds the file's bytes, not its rows.

    Returns
    -------
    ColumnPreview
        Headers, sample values and the role each header was given.

    Raises
    ------
    InputError
        If the file cannot be read as a table, or ``columns`` does not fit it.

    Examples
    --------
    >>> pre = preview_columns("tests/data/incidents_portland_2019_sample.csv")
    >>> pre.guessed["time"], pre.samples["OffenseCategory"][:2]
    ('occur_datetime', ('Fraud Offenses', 'Assault Offenses'))
    """
    path = Path(path)
    kind = _tables.sniff_kind(path)
    if kind == "vector":
        gdf = read_vector(path, layer=None if sheet is None else str(sheet), limits=limits)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        frame.columns = [str(c) for c in frame.columns]
    elif kind == "xlsx":
        frame = _tables.read_xlsx_table(path, sheet=sheet, limits=limits).frame
    else:
        frame = _tables.read_csv_table(
            path,
            encoding=encoding,
            select=list,
            numeric=lambda _h: [],
            max_rows=200,
            limits=limits,
        ).frame
    header = [str(c) for c in frame.columns]
    overrides = dict(columns or {})
    if kind == "vector":
        overrides = {k: v for k, v in overrides.items() if k not in ("lon", "lat", "x", "y")}
    cmap = _columns.find_columns(header, overrides, where=str(path))
    samples = {}
    for col in header:
        values = [_parse.show(v).strip() for v in frame[col].head(200).tolist()]
        samples[col] = tuple([v for v in values if v][:n_samples])
    return ColumnPreview(
        source=str(path),
        file_format=kind,
        columns=tuple(header),
        samples=MappingProxyType(samples),
        guessed=MappingProxyType(cmap.used()),
    )


def _weights(category: pd.Series, alert: pd.Series, config: StationConfig) -> np.ndarray:
    codes, uniques = pd.factorize(category, use_na_sentinel=True)
    cat_w = np.array([config.weight_for(str(u)) for u in uniques] + [config.weight_for(None)])
    weight = cat_w[np.where(codes < 0, len(uniques), codes)]
    acodes, auniques = pd.factorize(alert, use_na_sentinel=True)
    al_w = np.array([config.alert_weight(str(u)) for u in auniques] + [config.alert_weight(None)])
    return weight * al_w[np.where(acodes < 0, len(auniques), acodes)]


def _rejects_frame(
    ledger: _Ledger, rows: np.ndarray, bad_rows: list[tuple[int, str, str, Message]]
) -> pd.DataFrame:
    bad = ~ledger.ok
    frame = pd.DataFrame(
        {
            "row": rows[bad],
            "column": ledger.column[bad],
            "value": ledger.value[bad],
            "reason": pd.Series(ledger.reason[bad], dtype=object),
        }
    )
    if bad_rows:
        extra = pd.DataFrame(bad_rows, columns=list(REJECT_COLUMNS[:4]))
        extra["reason"] = pd.Series([r[3] for r in bad_rows], dtype=object)
        frame = pd.concat([frame, extra], ignore_index=True).sort_values("row", kind="stable")
    frame = frame.reset_index(drop=True)
    frame["row"] = frame["row"].astype(np.int64)
    for col in ("column", "value"):
        frame[col] = frame[col].astype(str)
    # the reasons stay Message objects (their text is the English reason) for the web UI;
    # pandas 3 would make an object column of str subclasses plain strings: dtype=object above
    frame["reason_id"] = [getattr(r, "id", "") for r in frame["reason"]]
    return frame
