"""Coordinate reference systems: checks, the metric working CRS, and Chinese map datums.

gridplan stores and exports WGS84 (EPSG:4326) and computes areas and distances in a projected
metric CRS: the one named in the station config, or the local UTM zone. GCJ-02 (Amap, Tencent,
Google China) and BD-09 (Baidu) are obfuscated datums that PROJ does not know; they are
converted to WGS84 with the ``coordTransform`` package.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pyproj.exceptions

from gridplan import settings
from gridplan._errors import CRSError


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
        prefix = f"{where}: " if where else ""
        msg = (
            f"{prefix}unknown CRS {value!r}; give an EPSG code such as 'EPSG:4326' (WGS84) or "
            "'EPSG:4547' (CGCS2000 / 3-degree Gauss-Kruger CM 114E)"
        )
        raise CRSError(msg) from exc


def require_crs(gdf: gpd.GeoDataFrame, *, where: str) -> None:
    """Raise :class:`CRSError` if ``gdf`` has no CRS."""
    if gdf.crs is None:
        msg = (
            f"{where}: the data has no coordinate reference system; add a .prj to the "
            "Shapefile, re-export with a CRS, or pass the CRS explicitly (--crs EPSG:4326)"
        )
        raise CRSError(msg)


def metric_crs(gdf: gpd.GeoDataFrame, *, crs: str | None = None) -> pyproj.CRS:
    """Return the projected metric CRS to compute in.

    Parameters
    ----------
    gdf
        Data with a CRS; its extent picks the UTM zone.
    crs
        Explicit CRS (the station config's ``crs.metric``); must be projected in metres.

    Raises
    ------
    CRSError
        If ``crs`` is geographic or not in metres, or ``gdf`` has no CRS.
    """
    if crs:
        out = parse_crs(crs, where="crs.metric")
        unit = out.axis_info[0].unit_name if out.axis_info else ""
        if not out.is_projected or unit not in ("metre", "meter"):
            msg = (
                f"crs.metric {crs!r} is not a projected CRS in metres (unit: {unit or 'degrees'}); "
                "use a UTM or Gauss-Kruger CRS such as 'EPSG:32650' or 'EPSG:4547'"
            )
            raise CRSError(msg)
        return out
    require_crs(gdf, where="metric CRS")
    if gdf.crs.is_projected:
        unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else ""
        if unit in ("metre", "meter"):
            return pyproj.CRS(gdf.crs)
    return pyproj.CRS(gdf.estimate_utm_crs())


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
