"""Coordinate reference systems: checks, the metric working CRS, and Chinese map datums.

gridplan stores and exports WGS84 (EPSG:4326) and computes areas and distances in a projected
metric CRS: the one named in the station config, or the local UTM zone. GCJ-02 (Amap, Tencent,
Google China) and BD-09 (Baidu) are obfuscated datums that PROJ does not know; they are
converted to WGS84 with the ``coordTransform`` package.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pyproj
import pyproj.exceptions

from gridplan import settings
from gridplan._errors import CRSError
from gridplan._errors import GridplanWarning
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define

#: Data may reach this far (degrees) past a CRS's area of use before a warning: UTM's scale
#: error 1 degree past a zone's edge is under 0.2 %.
AREA_MARGIN_DEG = 1.0

# What is wrong with a CRS; the web UI shows them in the user's language (gridplan._messages).
_E_UNKNOWN = define(
    "crs.unknown",
    N_(
        "unknown CRS %(value)r; give an EPSG code such as 'EPSG:4326' (WGS84) or 'EPSG:4547' "
        "(CGCS2000 / 3-degree Gauss-Kruger CM 114E)"
    ),
)
_E_DATUM = define(
    "crs.unknown_datum",
    N_("coordinate datum %(datum)r is not one gridplan converts; use one of %(datums)s"),
)
_WHERE = define("crs.where", N_("%(where)s: %(message)s"))
_E_NO_CRS = define(
    "crs.missing",
    N_(
        "%(where)s: the data has no coordinate reference system; add a .prj to the Shapefile, "
        "re-export with a CRS, or pass the CRS explicitly (--crs EPSG:4326)"
    ),
)
_E_NOT_METRIC = define(
    "crs.not_metric",
    N_(
        "crs.metric %(crs)r is not a projected CRS in metres (unit: %(unit)s); use a UTM or "
        "Gauss-Kruger CRS such as 'EPSG:32650' or 'EPSG:4547'"
    ),
)
_DEGREES = define("crs.unit.degrees", N_("degrees"))
_MEANT = define(
    "crs.area.meant",
    N_(
        "%(key)s %(name)r (%(crs)s) is meant for %(area)s (longitude %(west)g..%(east)g, "
        "latitude %(south)g..%(north)g)"
    ),
)
_PLACE = define(
    "crs.area.place",
    N_("the data lie at longitude %(west).2f..%(east).2f, latitude %(south).2f..%(north).2f"),
)
_FIX = define(
    "crs.area.fix", N_('set crs.metric = "%(code)s" (%(name)s), or "" for the local UTM zone')
)
_SCALE = define("crs.area.scale", N_(" (lengths off by %(percent).1f %% there)"))
_E_AREA = define(
    "crs.area.outside",
    N_("%(meant)s, but %(place)s: distances and areas would be wrong%(scale)s; %(fix)s"),
)
_W_AREA = define(
    "crs.area.partly_outside",
    N_(
        "%(meant)s; part of the data lies outside it (%(place)s), where lengths are less exact; "
        'if the data are right, set crs.metric = "" to use the local UTM zone (%(code)s)'
    ),
)


def parse_crs(value: str | int | pyproj.CRS, *, where: str = "") -> pyproj.CRS:
    """Parse a CRS given as ``EPSG:4547``, ``4547``, WKT or PROJ string.

    Raises
    ------
    CRSError
        If PROJ does not know it; the message names ``where`` and the value.
    """
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as exc:
        msg = _E_UNKNOWN(value=value if isinstance(value, str | int) else str(value))
        raise CRSError(_WHERE(where=where, message=msg) if where else msg) from exc


def require_crs(gdf: gpd.GeoDataFrame, *, where: str) -> None:
    """Raise :class:`CRSError` if ``gdf`` has no CRS."""
    if gdf.crs is None:
        raise CRSError(_E_NO_CRS(where=where))


def metric_crs(gdf: gpd.GeoDataFrame, *, crs: str | None = None, source: str = "") -> pyproj.CRS:
    """Return the projected metric CRS to compute in.

    Parameters
    ----------
    gdf
        Data with a CRS; its extent picks the UTM zone.
    crs
        Explicit CRS (the station config's ``crs.metric``); must be projected in metres and
        meant for where the data lie (:func:`check_area_of_use`).
    source
        Where ``crs`` came from (the station config file), for messages.

    Raises
    ------
    CRSError
        If ``crs`` is geographic or not in metres, the data lie outside its area of use, or
        ``gdf`` has no CRS.

    Warns
    -----
    GridplanWarning
        If part of the data lies more than :data:`AREA_MARGIN_DEG` outside its area of use.
    """
    if crs:
        out = parse_crs(crs, where=f"{source}: crs.metric" if source else "crs.metric")
        unit = out.axis_info[0].unit_name if out.axis_info else ""
        if not out.is_projected or unit not in ("metre", "meter"):
            raise CRSError(_E_NOT_METRIC(crs=crs, unit=unit or _DEGREES()))
        check_area_of_use(out, gdf, key=f"{source}: crs.metric" if source else "crs.metric")
        return out
    require_crs(gdf, where="metric CRS")
    if gdf.crs.is_projected:
        unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else ""
        if unit in ("metre", "meter"):
            return pyproj.CRS(gdf.crs)
    return pyproj.CRS(gdf.estimate_utm_crs())


def _lonlat_bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """Return the data's extent in WGS84 degrees (None without a CRS or geometry)."""
    if gdf.crs is None or gdf.empty:
        return None
    bounds = gdf.total_bounds
    if not np.isfinite(bounds).all():
        return None
    if gdf.crs.is_geographic and gdf.crs.equals("EPSG:4326"):
        return tuple(float(b) for b in bounds)
    tr = pyproj.Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
    return tuple(float(b) for b in tr.transform_bounds(*bounds))


def _inside(area, lon: float, lat: float, margin: float) -> bool:
    if not area.south - margin <= lat <= area.north + margin:
        return False
    west, east = area.west - margin, area.east + margin
    if area.west <= area.east:
        return west <= lon <= east
    return lon >= west or lon <= east  # the area crosses the antimeridian


def check_area_of_use(crs: pyproj.CRS, gdf: gpd.GeoDataFrame, *, key: str = "crs.metric") -> None:
    """Refuse a metric CRS meant for another part of the world than the data.

    A station file copied from the demo keeps its UTM zone 10N: in Finland that silently
    gives 193 m cells for 200 m and wrong areas. The CRS's area of use (from the EPSG
    database) is checked against the data's extent.

    Parameters
    ----------
    crs
        The projected CRS to compute in.
    gdf
        The data (any CRS); without a CRS or geometry nothing is checked.
    key
        Where the CRS was configured, for the message (``station.toml: crs.metric``).

    Raises
    ------
    CRSError
        If the centre of the data lies outside the area of use; the message names the CRS,
        its area, where the data lie and the local UTM zone to use instead.

    Warns
    -----
    GridplanWarning
        If the centre lies inside but part of the data more than :data:`AREA_MARGIN_DEG`
        outside.

    Examples
    --------
    >>> helsinki = gpd.GeoDataFrame(geometry=gpd.points_from_xy([24.9], [60.2]), crs=4326)
    >>> check_area_of_use(pyproj.CRS("EPSG:32635"), helsinki)  # UTM 35N: fine
    >>> check_area_of_use(pyproj.CRS("EPSG:26910"), helsinki)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gridplan._errors.CRSError: crs.metric 'EPSG:26910' (NAD83 / UTM zone 10N) is meant for ...
    """
    area = crs.area_of_use
    bounds = _lonlat_bounds(gdf)
    if area is None or bounds is None:
        return
    west, south, east, north = bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    corners = ((west, south), (west, north), (east, south), (east, north))
    if all(_inside(area, x, y, AREA_MARGIN_DEG) for x, y in corners):
        return
    suggested = pyproj.CRS(gdf.estimate_utm_crs())
    code = suggested.to_string()
    name = crs.to_string() if crs.to_epsg() else crs.name
    place = _PLACE(west=west, east=east, south=south, north=north)
    meant = _MEANT(
        key=key,
        name=name,
        crs=crs.name,
        area=area.name.split(". ")[0],
        west=area.west,
        east=area.east,
        south=area.south,
        north=area.north,
    )
    if not _inside(area, lon, lat, 0.0):
        fix = _FIX(code=code, name=suggested.name)
        scale = _scale_error(crs, lon, lat)
        raise CRSError(_E_AREA(meant=meant, place=place, scale=scale, fix=fix))
    msg = _W_AREA(meant=meant, place=place, code=code)
    warnings.warn(msg, GridplanWarning, stacklevel=3)


def _scale_error(crs: pyproj.CRS, lon: float, lat: float) -> Message | str:
    """`` (lengths off by 3.6 % there)`` from the projection's scale factor, or ``""``."""
    try:
        factors = pyproj.Proj(crs).get_factors(lon, lat)
    except pyproj.exceptions.ProjError:
        return ""
    k = float(factors.meridional_scale)
    if not np.isfinite(k) or abs(k - 1) < 0.005:
        return ""
    return _SCALE(percent=abs(k - 1) * 100)


def to_output_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy in WGS84 lon/lat (EPSG:4326)."""
    require_crs(gdf, where="export")
    return gdf.to_crs(settings.OUTPUT_CRS)


def _converter(name: str):
    try:
        import coordTransform
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        msg = "GCJ-02/BD-09 conversion needs coordTransform: pip install coordTransform"
        raise CRSError(msg) from exc
    return getattr(coordTransform, name)


def _as_arrays(out) -> tuple[np.ndarray, np.ndarray]:
    lng, lat = out
    return np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)


def _invert(forward: str, approx: str, lon: np.ndarray, lat: np.ndarray):
    """Invert a forward datum shift by fixed-point iteration from the package's approximation.

    coordTransform's inverses are one-step approximations (error up to a few metres); three
    iterations of its exact forward transform bring the error under a millimetre.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        return lon.copy(), lat.copy()
    fwd = _converter(forward)
    wlon, wlat = _as_arrays(_converter(approx)(lon.tolist(), lat.tolist()))
    for _ in range(3):
        flon, flat = _as_arrays(fwd(wlon.tolist(), wlat.tolist()))
        wlon = wlon - (flon - lon)
        wlat = wlat - (flat - lat)
    return wlon, wlat


def gcj02_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 (Amap, Tencent) lon/lat arrays to WGS84, to better than 1 mm.

    Points outside China are returned unchanged, as the GCJ-02 definition prescribes.
    """
    return _invert("wgs84_to_gcj02", "gcj02_to_wgs84", lon, lat)


def bd09_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 (Baidu) lon/lat arrays to WGS84, to better than 1 mm."""
    return _invert("wgs84_to_bd09", "bd09_to_wgs84", lon, lat)


#: Lon/lat datums gridplan converts to WGS84: WGS84 itself, GCJ-02 (Amap, Tencent) and BD-09
#: (Baidu), as ``crs.coordinates`` of the station config names them.
DATUMS = ("wgs84", "gcj02", "bd09")


def datum_to_wgs84(lon: np.ndarray, lat: np.ndarray, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert lon/lat arrays in ``datum`` (one of :data:`DATUMS`) to WGS84.

    The one conversion of lon/lat columns that incident tables
    (:func:`gridplan.geo.incidents.import_incidents`) and patrol tracks
    (:func:`gridplan.tracks.fixes.import_track`) share: ``wgs84`` is returned as a copy,
    ``gcj02`` and ``bd09`` go through :func:`gcj02_to_wgs84` and :func:`bd09_to_wgs84`.

    Raises
    ------
    CRSError
        If ``datum`` is not one of :data:`DATUMS`.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(np.array([121.47]), np.array([31.23]))
    >>> back = datum_to_wgs84(lon, lat, "gcj02")
    >>> [round(float(v[0]), 6) for v in back]
    [121.47, 31.23]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if datum == "wgs84":
        return lon.copy(), lat.copy()
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise CRSError(_E_DATUM(datum=datum, datums=", ".join(DATUMS)))


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat arrays to GCJ-02 (for tests and exports to Chinese web maps)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        return lon.copy(), lat.copy()
    return _as_arrays(_converter("wgs84_to_gcj02")(lon.tolist(), lat.tolist()))


def wgs84_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat arrays to BD-09."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        return lon.copy(), lat.copy()
    return _as_arrays(_converter("wgs84_to_bd09")(lon.tolist(), lat.tolist()))
