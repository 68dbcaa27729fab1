"""Importing patrol tracks: GPX from phones, CSV/XLSX from vehicle and radio location systems.

:func:`import_track` reads one file into the FIXES table (:data:`~gridplan._validate.FIX_COLUMNS`):
one row per position a device recorded, with the patroller, the time (tz-aware, station
time), WGS84 lon/lat, the accuracy when the device gave one, the file and the row. It reads

- **GPX** 1.0 and 1.1 (:mod:`gridplan.tracks._gpx`): every track and route point with a time;
  a time without a zone is the station's wall-clock time;
- **CSV** (UTF-8, GBK/GB18030, ``.csv.gz``) and **XLSX** exports, through the incident
  readers (:mod:`gridplan.geo.tables`): the patroller, time, longitude, latitude and accuracy
  columns are found by their Chinese or English names (:data:`TRACK_COLUMN_NAMES`:
  人员编号, 定位时间, 经度, 纬度, 精度, ...); lon/lat in GCJ-02 (Amap, Tencent) or BD-09 (Baidu)
  are converted to WGS84 exactly as incident coordinates are
  (:func:`gridplan.geo.crs.datum_to_wgs84`);
- **GeoPackage/GeoJSON** point layers, such as the cleaned fixes gridplan writes.

Every row is accounted for: it is a fix, or a reject naming the file, the row (a GPX point's
number in the file), what is wrong and how to fix it; then :func:`~gridplan.tracks.clean.
clean_fixes` leaves out poor, out-of-order, duplicate and jumping fixes, each a reject too.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan._validate import FIX_COLUMNS
from gridplan._validate import FIX_ROW
from gridplan.geo.crs import DATUMS
from gridplan.geo.crs import datum_to_wgs84
from gridplan.geo.tables import DEFAULT_LIMITS
from gridplan.geo.tables import cell_blank
from gridplan.geo.tables import cell_numbers
from gridplan.geo.tables import cell_texts
from gridplan.geo.tables import find_named_columns
from gridplan.geo.tables import parse_times
from gridplan.geo.tables import read_point_table
from gridplan.geo.tables import show_cell
from gridplan.geo.tables import table_kind
from gridplan.io.csvsafe import unescape_cell
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import check_file
from gridplan.io.vector import read_vector
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config
from gridplan.tracks import _gpx
from gridplan.tracks._rejects import iso
from gridplan.tracks._rejects import reject_frame
from gridplan.tracks.clean import clean_fixes
from gridplan.tracks.params import TrackParams

#: Header names looked for per role (compared ignoring case, spaces, ``_`` and a bracketed
#: unit), in order of preference. Location systems name the patroller by person, device,
#: vehicle or call sign.
TRACK_COLUMN_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "lon": ("经度", "lon", "lng", "long", "longitude", "gps经度", "wgs84经度", "x经度"),
        "lat": ("纬度", "lat", "latitude", "gps纬度", "wgs84纬度", "y纬度"),
        "time": (
            "定位时间",
            "gps时间",
            "上报时间",
            "采集时间",
            "回传时间",
            "时间",
            "time",
            "timestamp",
            "datetime",
            "gpstime",
            "fixtime",
            "recordedat",
        ),
        "patroller": (
            "patroller",
            "人员编号",
            "巡逻员编号",
            "警员编号",
            "队员编号",
            "辅警编号",
            "人员",
            "巡逻员",
            "终端编号",
            "终端号",
            "设备编号",
            "设备号",
            "车牌号",
            "车牌",
            "车辆编号",
            "呼号",
            "patrollerid",
            "officer",
            "officerid",
            "unit",
            "unitid",
            "device",
            "deviceid",
            "vehicle",
            "vehicleid",
            "callsign",
        ),
        "accuracy": (
            "精度",
            "定位精度",
            "水平精度",
            "误差",
            "accuracym",
            "accuracy",
            "hacc",
            "horizontalaccuracy",
        ),
    }
)

_TRACK_FILES = define("tracks.kinds", N_("a GPX, CSV or XLSX file"))
_THE_TRACK = define("tracks.what", N_("the track"))
_R_PATROLLER = define(
    "tracks.patroller_missing",
    N_(
        "the patroller is missing; fill it in, or import the rows of one patroller with --patroller"
    ),
)
_R_TIME_MISSING = define("tracks.time_missing", N_("time is missing; a fix needs its time"))
_R_TIME = define(
    "tracks.time_unreadable",
    N_("time is not a recognised date and time (write e.g. 2024-06-05 14:30:05)"),
)
_R_IMPOSSIBLE = define(
    "tracks.time_impossible",
    N_("this date or clock time does not exist (month 1-12, a day the month has, hour 0-23)"),
)
_R_YEARS = define("tracks.time_years", N_("time is outside the years 1900-2100"))
_R_DATE_ONLY = define(
    "tracks.time_date_only", N_("time has a date but no time of day; a fix needs its time")
)
_R_GPX_TIME = define(
    "tracks.gpx_no_time",
    N_(
        "the point has no time (or one that is not ISO 8601, e.g. 2024-06-05T14:30:05Z), so it "
        "cannot be placed in time; record tracks with time stamps"
    ),
)
_R_COORD_MISSING = define("tracks.coordinate_missing", N_("%(coordinate)s is missing"))
_R_COORD_NAN = define("tracks.coordinate_not_number", N_("%(coordinate)s is not a number"))
_LONGITUDE = define("tracks.longitude", N_("longitude"))
_LATITUDE = define("tracks.latitude", N_("latitude"))
_R_ZERO = define("tracks.zero", N_("coordinates are 0,0 (the device had no position)"))
_R_LON = define("tracks.longitude_range", N_("longitude is outside -180..180"))
_R_LAT = define(
    "tracks.latitude_range",
    N_("latitude is outside -90..90 (are longitude and latitude swapped?)"),
)
_R_GEOMETRY = define("tracks.not_point", N_("the feature is not a point"))
_E_NO_PATROLLER = define(
    "tracks.patroller_needed",
    N_(
        "%(where)s: whose track is this? A %(format)s file does not say; pass --patroller ID "
        "on the command line, or patroller= in Python"
    ),
)
_E_NO_SUCH_PATROLLER = define(
    "tracks.no_such_patroller",
    N_("%(where)s: no row is of patroller %(patroller)r; the file has %(found)s"),
)
_E_NO_TIMES = define(
    "tracks.no_times",
    N_(
        "%(where)s: none of the %(n)d points has a time: this is a planned route, not a "
        "recorded track; export the track the phone recorded"
    ),
)
_E_NOTHING = define(
    "tracks.nothing_kept",
    N_("%(where)s: none of the %(n)d fixes can be used. First problems: %(first)s"),
)
_FIRST = define("tracks.row_problem", N_("row %(row)d %(column)s=%(value)r: %(reason)s"))
_E_DATUM = define(
    "tracks.unknown_datum",
    N_("%(where)s: coordinates %(datum)r are not one of %(datums)s"),
)
_W_OTHERS = define(
    "tracks.other_patrollers",
    N_("%(n)d rows of other patrollers (%(patrollers)s) were not imported"),
)


@dataclasses.dataclass(frozen=True)
class TrackImport:
    """The outcome of :func:`import_track`: fixes kept, fixes rejected, what was read.

    Every row (GPX point) read is a fix or a reject, except rows of other patrollers when
    one was asked for: ``len(fixes) + len(rejects) + n_other_patrollers == n_read``.

    Attributes
    ----------
    fixes
        The FIXES table (:data:`~gridplan._validate.FIX_COLUMNS` and ``row``, the row or GPX
        point number), sorted by patroller and time.
    rejects
        One row per fix left out (:data:`~gridplan._validate.TRACK_REJECT_COLUMNS`): file,
        row or GPX point number, patroller and time when known, column, value and reason
        (a :class:`~gridplan._messages.Message`; ``reason_id`` its stable id).
    source
        The file read.
    n_read
        Rows (GPX points) read.
    file_format
        ``gpx``, ``csv``, ``xlsx`` or ``vector``.
    mode
        How the patrollers moved (the speed limit of the jump test; ``ID=mode, ...`` when
        given per patroller).
    datum
        The datum lon/lat were read in (``wgs84``, ``gcj02``, ``bd09``); a vector layer's
        CRS is transformed instead.
    encoding, sheet
        The character set of a CSV, the sheet of a workbook (``None`` otherwise).
    columns_used
        Role -> header of a table's columns (GPX: empty).
    n_other_patrollers
        Rows of other patrollers left aside when ``patroller`` named one.
    warnings
        What is worth telling the user beside the rejects.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v01.gpx"
    >>> _ = p.write_text(
    ...     '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
    ...     '<trk><trkseg>'
    ...     '<trkpt lat="31.2300" lon="121.4700"><time>2024-06-05T08:00:00</time></trkpt>'
    ...     '<trkpt lat="31.2301" lon="121.4700"><time>2024-06-05T08:00:05</time></trkpt>'
    ...     '<trkpt lat="31.2400" lon="121.4700"><time>2024-06-05T08:00:10</time></trkpt>'
    ...     '<trkpt lat="31.2302" lon="121.4700"><time>2024-06-05T08:00:15</time></trkpt>'
    ...     '</trkseg></trk></gpx>', encoding="utf-8")
    >>> result = import_track(p, patroller="V01")
    >>> len(result.fixes), result.rejects["row"].tolist(), result.rejects["reason_id"].tolist()
    (3, [3], ['tracks.jump'])
    >>> print(result.fixes["time"].iloc[0])
    2024-06-05 08:00:00+08:00
    """

    fixes: pd.DataFrame
    rejects: pd.DataFrame
    source: str
    n_read: int
    file_format: str
    mode: str = "walk"
    datum: str = "wgs84"
    encoding: str | None = None
    sheet: str | None = None
    columns_used: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    n_other_patrollers: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def patrollers(self) -> tuple[str, ...]:
        """The patrollers with fixes, sorted."""
        return tuple(sorted(self.fixes["patroller"].unique()))

    def summary(self) -> dict[str, Any]:
        """Return counts and choices of the import as a plain dict of JSON types.

        Returns
        -------
        dict
            ``source``, ``format``, ``mode``, ``datum``, ``encoding``, ``sheet``; ``rows_read``,
            ``kept``, ``rejected``, ``other_patrollers`` (int); ``rejected_by_reason`` (reason
            id -> count); ``columns_used``; ``warnings``; ``patrollers``: per patroller its
            ``fixes``, ``first`` and ``last`` time (ISO 8601) and ``median_interval_s``.
        """
        per = {}
        for pid, part in self.fixes.groupby("patroller", sort=True):
            gaps = part["time"].diff().dt.total_seconds().dropna()
            per[str(pid)] = {
                "fixes": len(part),
                "first": iso(part["time"].iloc[0]),
                "last": iso(part["time"].iloc[-1]),
                "median_interval_s": float(gaps.median()) if len(gaps) else None,
            }
        return {
            "source": self.source,
            "format": self.file_format,
            "mode": self.mode,
            "datum": self.datum,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "rows_read": int(self.n_read),
            "kept": len(self.fixes),
            "rejected": len(self.rejects),
            "other_patrollers": int(self.n_other_patrollers),
            "rejected_by_reason": dict(Counter(self.rejects["reason_id"]).most_common()),
            "columns_used": dict(self.columns_used),
            "warnings": [str(w) for w in self.warnings],
            "patrollers": per,
        }


class _Ledger:
    """The first reason per row why it is rejected; rows without one are kept."""

    def __init__(self, rows: np.ndarray, source: str):
        self.rows = rows
        self.source = source
        self.ok = np.ones(len(rows), dtype=bool)
        self.records: dict[int, dict[str, Any]] = {}

    def reject(self, mask: Any, column: str, values: Any, reason: Message) -> None:
        hit = np.asarray(mask, dtype=bool) & self.ok
        for i in np.flatnonzero(hit):
            value = values if isinstance(values, str) else show_cell(values[i])
            self.records[int(i)] = {
                "source": self.source,
                "row": int(self.rows[i]),
                "column": column,
                "value": value,
                "reason": reason,
            }
        self.ok &= ~hit

    def rejects(self, patroller: np.ndarray, utc: np.ndarray, timezone: str) -> list[dict]:
        out = []
        for i, record in self.records.items():
            t = utc[i]
            when = (
                "" if np.isnat(t) else iso(pd.Timestamp(t).tz_localize("UTC").tz_convert(timezone))
            )
            who = patroller[i]
            out.append({**record, "patroller": "" if who is None else who, "time": when})
        return out


@dataclasses.dataclass
class _Read:
    """What a reader found, before rows are checked: cells and their parsed values."""

    rows: np.ndarray
    patroller: np.ndarray  # object: str or None
    utc: np.ndarray  # datetime64[ns] UTC, NaT where none
    lon: np.ndarray
    lat: np.ndarray
    accuracy: np.ndarray
    ledger: _Ledger
    file_format: str
    lonlat_columns: tuple[str, str] = ("lon", "lat")
    lon_raw: Any = None
    lat_raw: Any = None
    encoding: str | None = None
    sheet: str | None = None
    columns_used: Mapping[str, str] = dataclasses.field(default_factory=dict)
    extra_rejects: list[dict] = dataclasses.field(default_factory=list)
    n_other: int = 0
    others: tuple[str, ...] = ()
    warnings: list[Message] = dataclasses.field(default_factory=list)
    converted: bool = False  # lon/lat already WGS84 (a vector layer's CRS)


def _patrollers(cells: pd.Series | None, patroller: str | None, n: int) -> np.ndarray:
    if cells is None:
        return np.full(n, patroller, dtype=object)
    texts = cell_texts(cells)
    # an id gridplan wrote with a quote in front (a spreadsheet would run it) reads back as is
    return np.array([None if pd.isna(v) else unescape_cell(str(v)) for v in texts], dtype=object)


def _only(
    who: np.ndarray, patroller: str | None, has_column: bool, where: str
) -> tuple[np.ndarray, int, tuple[str, ...]]:
    """Rows of ``patroller`` in a table naming several; the count and names of the others."""
    if patroller is None or not has_column:
        return np.ones(len(who), dtype=bool), 0, ()
    mine = who == patroller
    if not mine.any():
        found = sorted({p for p in who if p is not None})
        shown = ", ".join(map(repr, found[:10])) + (" ..." if len(found) > 10 else "")
        raise InputError(_E_NO_SUCH_PATROLLER(where=where, patroller=patroller, found=shown))
    others = ~mine & np.array([p is not None for p in who], dtype=bool)
    names = tuple(sorted({p for p in who[others]}))
    return ~others, int(others.sum()), names


def _times(read_cells: pd.Series, ledger: _Ledger, column: str, timezone: str) -> np.ndarray:
    parsed = parse_times(read_cells, timezone)
    values = read_cells.to_numpy(dtype=object)
    ledger.reject(parsed.missing, column, values, _R_TIME_MISSING())
    ledger.reject(parsed.out_of_range, column, values, _R_YEARS())
    ledger.reject(parsed.impossible, column, values, _R_IMPOSSIBLE())
    ledger.reject(parsed.unreadable, column, values, _R_TIME())
    ledger.reject(parsed.date_only, column, values, _R_DATE_ONLY())
    return parsed.utc


def _from_table(
    path: Path,
    patroller: str | None,
    columns: Mapping[str, str] | None,
    encoding: str | None,
    sheet: str | int | None,
    timezone: str,
    limits: ReadLimits,
) -> _Read:
    required = ("time", "lon", "lat") + (("patroller",) if patroller is None else ())
    table = read_point_table(
        path,
        names=TRACK_COLUMN_NAMES,
        required=required,
        numeric=("lon", "lat", "accuracy"),
        columns=columns,
        encoding=encoding,
        sheet=sheet,
        limits=limits,
        example="--column patroller=人员编号 (or --patroller ID for one patroller's file)",
    )
    has_column = "patroller" in table.columns
    who = _patrollers(table.column("patroller"), patroller, len(table.frame))
    keep, n_other, others = _only(who, patroller, has_column, str(path))
    frame, rows, who = table.frame[keep].reset_index(drop=True), table.rows[keep], who[keep]
    n = len(frame)
    ledger = _Ledger(rows, str(path))
    if has_column:
        blank = np.array([p is None for p in who], dtype=bool)
        ledger.reject(blank, table.columns["patroller"], "", _R_PATROLLER())

    def column(role: str) -> pd.Series | None:
        header = table.columns.get(role)
        return None if header is None else frame[header]

    utc = _times(column("time"), ledger, table.columns["time"], timezone)
    lon_raw, lat_raw = column("lon"), column("lat")
    acc = column("accuracy")
    accuracy = np.full(n, np.nan) if acc is None else cell_numbers(acc)
    extra = [
        {"source": str(path), "row": row, "patroller": "", "time": "", "column": col,
         "value": value, "reason": reason}
        for row, col, value, reason in table.bad_rows
    ]  # fmt: skip
    return _Read(
        rows=rows,
        patroller=who,
        utc=utc,
        lon=cell_numbers(lon_raw),
        lat=cell_numbers(lat_raw),
        accuracy=np.where(accuracy >= 0, accuracy, np.nan),
        ledger=ledger,
        file_format=table.file_format,
        lonlat_columns=(table.columns["lon"], table.columns["lat"]),
        lon_raw=lon_raw.to_numpy(dtype=object),
        lat_raw=lat_raw.to_numpy(dtype=object),
        encoding=table.encoding,
        sheet=table.sheet,
        columns_used=dict(table.columns),
        extra_rejects=extra,
        n_other=n_other,
        others=others,
        warnings=list(table.warnings),
    )


def _from_gpx(path: Path, patroller: str | None, timezone: str, limits: ReadLimits) -> _Read:
    if patroller is None:
        raise InputError(_E_NO_PATROLLER(where=str(path), format="GPX"))
    points = _gpx.read_gpx(path, timezone=timezone, limits=limits)
    no_time = np.isnat(points.utc)
    if no_time.all():
        raise InputError(_E_NO_TIMES(where=str(path), n=len(no_time)))
    ledger = _Ledger(points.number, str(path))
    ledger.reject(no_time, "time", np.array(points.part, dtype=object), _R_GPX_TIME())
    return _Read(
        rows=points.number,
        patroller=np.full(len(no_time), patroller, dtype=object),
        utc=points.utc,
        lon=points.lon,
        lat=points.lat,
        accuracy=points.accuracy_m,
        ledger=ledger,
        file_format="gpx",
        lon_raw=points.lon,
        lat_raw=points.lat,
    )


def _from_vector(
    path: Path,
    patroller: str | None,
    columns: Mapping[str, str] | None,
    sheet: str | int | None,
    timezone: str,
    limits: ReadLimits,
) -> _Read:
    gdf = read_vector(path, layer=None if sheet is None else str(sheet), limits=limits)
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
    names = {k: v for k, v in TRACK_COLUMN_NAMES.items() if k not in ("lon", "lat")}
    found = find_named_columns(list(attrs.columns), names, columns, where=str(path))
    if patroller is None and "patroller" not in found:
        raise InputError(_E_NO_PATROLLER(where=str(path), format="GeoPackage/GeoJSON"))
    if "time" not in found:
        raise InputError(_E_NO_TIMES(where=str(path), n=len(attrs)))
    has_column = "patroller" in found
    who = _patrollers(attrs[found["patroller"]] if has_column else None, patroller, len(attrs))
    keep, n_other, others = _only(who, patroller, has_column, str(path))
    attrs, who = attrs[keep].reset_index(drop=True), who[keep]
    rows = np.flatnonzero(keep).astype(np.int64) + 1
    ledger = _Ledger(rows, str(path))
    geoms = gdf.geometry.to_numpy()[keep]
    point = np.array([g is not None and g.geom_type == "Point" for g in geoms], dtype=bool)
    kinds = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    ledger.reject(~point, "geometry", kinds, _R_GEOMETRY())
    lon = np.array([g.x if p else np.nan for g, p in zip(geoms, point, strict=True)])
    lat = np.array([g.y if p else np.nan for g, p in zip(geoms, point, strict=True)])
    if has_column:
        ledger.reject(np.array([p is None for p in who]), found["patroller"], "", _R_PATROLLER())
    utc = _times(attrs[found["time"]], ledger, found["time"], timezone)
    acc = np.full(len(attrs), np.nan)
    if "accuracy" in found:
        acc = cell_numbers(attrs[found["accuracy"]])
    return _Read(
        rows=rows,
        patroller=who,
        utc=utc,
        lon=lon,
        lat=lat,
        accuracy=np.where(acc >= 0, acc, np.nan),
        ledger=ledger,
        file_format="vector",
        lon_raw=lon,
        lat_raw=lat,
        columns_used=dict(found),
        n_other=n_other,
        others=others,
        converted=True,
    )


def _coordinates(read: _Read, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Reject unusable lon/lat; return them in WGS84 (NaN where rejected)."""
    ledger = read.ledger
    lon_col, lat_col = read.lonlat_columns
    for raw, num, col, name in (
        (read.lon_raw, read.lon, lon_col, _LONGITUDE),
        (read.lat_raw, read.lat, lat_col, _LATITUDE),
    ):
        cells = pd.Series(raw, dtype=object)
        ledger.reject(cell_blank(cells), col, raw, _R_COORD_MISSING(coordinate=name()))
        ledger.reject(~np.isfinite(num), col, raw, _R_COORD_NAN(coordinate=name()))
    lon, lat = read.lon.astype(float), read.lat.astype(float)
    with np.errstate(invalid="ignore"):
        ledger.reject((lon == 0) & (lat == 0), f"{lon_col},{lat_col}", "0,0", _R_ZERO())
        ledger.reject(np.abs(lon) > 180, lon_col, read.lon_raw, _R_LON())
        ledger.reject(np.abs(lat) > 90, lat_col, read.lat_raw, _R_LAT())
    out_lon, out_lat = np.full(len(lon), np.nan), np.full(len(lat), np.nan)
    good = ledger.ok
    if read.converted:
        out_lon[good], out_lat[good] = lon[good], lat[good]
    else:
        out_lon[good], out_lat[good] = datum_to_wgs84(lon[good], lat[good], datum)
    return out_lon, out_lat


def _fixes(read: _Read, lon: np.ndarray, lat: np.ndarray, source: str, tz: str) -> pd.DataFrame:
    good = read.ledger.ok
    times = pd.DatetimeIndex(read.utc[good]).tz_localize("UTC").tz_convert(tz)
    frame = pd.DataFrame(
        {
            "patroller": pd.Series(read.patroller[good], dtype=object).astype(str).to_numpy(),
            "time": times,
            "lon": lon[good],
            "lat": lat[good],
            "accuracy_m": read.accuracy[good].astype(float),
            "source": source,
            "row": read.rows[good].astype(np.int64),
        }
    )
    return frame[[*FIX_COLUMNS, FIX_ROW]]


def _read(path, patroller, columns, encoding, sheet, timezone, limits) -> _Read:
    check_file(path, kinds=_TRACK_FILES(), what=_THE_TRACK())
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gpx"] or suffixes[-2:] == [".gpx", ".gz"]:
        return _from_gpx(path, patroller, timezone, limits)
    if table_kind(path) == "vector":
        return _from_vector(path, patroller, columns, sheet, timezone, limits)
    return _from_table(path, patroller, columns, encoding, sheet, timezone, limits)


def import_track(
    path: str | Path,
    *,
    patroller: str | None = None,
    mode: str | Mapping[str, str] = "walk",
    config: StationConfig | None = None,
    datum: str | None = None,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    params: TrackParams | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> TrackImport:
    r"""Read a patrol track file into the FIXES table and clean it.

    Parameters
    ----------
    path
        GPX 1.0/1.1 (``.gpx``, ``.gpx.gz``), CSV (``.csv``, ``.txt``, ``.csv.gz``; UTF-8 or
        GBK/GB18030), XLSX, or a GeoPackage/GeoJSON point layer (gridplan's cleaned fixes).
    patroller
        Whose track it is: needed for GPX and for tables without a patroller column; for a
        table with one, only this patroller's rows are read.
    mode
        How the patroller moved: ``walk``, ``bicycle``, ``ebike`` or ``car`` (the speed
        above which a fix is a jump); or patroller -> mode for a table of several
        (``walk`` for one not named).
    config
        The station: ``timezone`` for times without a zone, ``coordinates`` for the datum of
        a table's lon/lat. Defaults to :func:`gridplan.station.config.default_config`.
    datum
        ``wgs84``, ``gcj02`` or ``bd09``: the datum of the lon/lat (default: the config's
        ``coordinates`` for tables, ``wgs84`` for GPX as the GPX standard says).
    columns
        Explicit header per role (``patroller``, ``time``, ``lon``, ``lat``, ``accuracy``).
    encoding
        Character set of a CSV when detection guesses wrong (e.g. ``"gbk"``).
    sheet
        XLSX sheet (name or index), or a GeoPackage's layer.
    params
        Cleaning thresholds (:class:`~gridplan.tracks.params.TrackParams`).
    limits
        What the file may hold (:class:`~gridplan.io.limits.ReadLimits`).

    Returns
    -------
    TrackImport
        The fixes, the rejects (file, row, reason) and a summary.

    Raises
    ------
    InputError
        If the file cannot be read, exceeds a limit, lacks the time or coordinate columns,
        does not say whose track it is, or has no usable fix at all.

    Examples
    --------
    A GBK-encoded export of a vehicle location system, in GCJ-02 coordinates:

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "avl.csv"
    >>> _ = p.write_bytes("车牌号,定位时间,经度,纬度\n"
    ...                   "沪A1234,2024-06-05 08:00:00,121.474,31.228\n"
    ...                   "沪A1234,2024-06-05 08:00:10,,31.229\n".encode("gbk"))
    >>> result = import_track(p, mode="car", datum="gcj02")
    >>> result.patrollers, result.summary()["encoding"], result.rejects["reason_id"].tolist()
    (('沪A1234',), 'gb18030', ['tracks.coordinate_missing'])
    >>> round(float(result.fixes["lon"].iloc[0]), 4)  # WGS84
    121.4695
    """
    config = default_config() if config is None else config
    params = TrackParams() if params is None else params
    for m in mode.values() if isinstance(mode, Mapping) else (mode,):
        params.speed_for(m)
    path = Path(path)
    where = str(path)
    read = _read(path, patroller, columns, encoding, sheet, config.timezone, limits)
    if datum is None:
        datum = "wgs84" if read.file_format == "gpx" else config.coordinates
    if datum not in DATUMS:
        raise InputError(_E_DATUM(where=where, datum=datum, datums=", ".join(DATUMS)))
    lon, lat = _coordinates(read, datum)
    fixes = _fixes(read, lon, lat, where, config.timezone)
    kept, cleaned = clean_fixes(fixes, mode=mode, params=params)
    records = read.ledger.rejects(read.patroller, read.utc, config.timezone) + read.extra_rejects
    rejects = pd.concat([reject_frame(records), cleaned], ignore_index=True)
    rejects = rejects.sort_values(["source", "row"], kind="stable").reset_index(drop=True)
    n_read = len(read.rows) + len(read.extra_rejects) + read.n_other
    if kept.empty:
        first = [
            _FIRST(row=r.row, column=r.column, value=r.value, reason=r.reason)
            for r in rejects.head(5).itertuples()
        ]
        n = len(read.rows) + len(read.extra_rejects)
        raise InputError(_E_NOTHING(where=where, n=n, first=listing(first, semicolons=True)))
    warn = list(read.warnings)
    if read.n_other:
        shown = ", ".join(read.others[:10]) + (" ..." if len(read.others) > 10 else "")
        warn.append(_W_OTHERS(n=read.n_other, patrollers=shown))
    return TrackImport(
        fixes=kept,
        rejects=rejects,
        source=where,
        n_read=n_read,
        file_format=read.file_format,
        mode=mode if isinstance(mode, str) else ", ".join(f"{k}={v}" for k, v in mode.items()),
        datum=datum if not read.converted else "wgs84",
        encoding=read.encoding,
        sheet=read.sheet,
        columns_used=MappingProxyType(dict(read.columns_used)),
        n_other_patrollers=read.n_other,
        warnings=tuple(warn),
    )


__all__ = ["TRACK_COLUMN_NAMES", "TrackImport", "import_track"]
