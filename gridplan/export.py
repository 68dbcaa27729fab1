"""Writing results for other tools: RFC 7946 GeoJSON, GeoPackage and CSV.

GeoJSON follows RFC 7946: WGS84 longitude/latitude, counter-clockwise exterior rings, no
``crs`` member, 7 decimals (about 1 cm). CSV files are UTF-8 with a byte-order mark so that
Excel on Chinese Windows opens them correctly, and carry the geometry as WKT.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gridplan._errors import InputError
from gridplan.geo.crs import to_output_crs

GEO_SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


def _prepare(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a WGS84 copy with RFC 7946 ring orientation and datetime columns as text."""
    out = to_output_crs(gdf)
    out = out.set_geometry(shapely.orient_polygons(out.geometry.values, exterior_cw=False))
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if isinstance(out[col].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
            out[col]
        ):
            # ISO 8601 with the UTC offset keeps the station's local time readable and exact.
            out[col] = out[col].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return out


def write_geodata(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame as RFC 7946 GeoJSON or as a GeoPackage layer, chosen by suffix.

    Parameters
    ----------
    gdf
        Data with a CRS; it is reprojected to EPSG:4326.
    path
        ``.geojson``/``.json`` or ``.gpkg``. An existing GeoJSON is replaced; a GeoPackage
        keeps its other layers and only ``layer`` is replaced.
    layer
        GeoPackage layer name (default: the file stem).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    InputError
        If the suffix is not a supported vector format.

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, pathlib
    >>> gdf = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> p = write_geodata(gdf, pathlib.Path(tempfile.mkdtemp()) / "a.geojson")
    >>> p.suffix
    '.geojson'
    """
    path = Path(path)
    driver = GEO_SUFFIXES.get(path.suffix.lower())
    if driver is None:
        msg = (
            f"{path}: cannot tell the output format from the suffix {path.suffix!r}; "
            "use .geojson or .gpkg"
        )
        raise InputError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = _prepare(gdf)
    if driver == "GeoJSON":
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(
            out, path, driver="GeoJSON", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"}
        )
    else:
        pyogrio.write_dataframe(out, path, driver="GPKG", layer=layer or path.stem)
    return path


def write_csv(df: pd.DataFrame, path: str | Path, *, geometry: str = "wkt") -> Path:
    """Write a (Geo)DataFrame as UTF-8-with-BOM CSV; geometry as WKT (``geometry="wkt"``).

    With ``geometry="lonlat"`` point geometry is written as ``lon``/``lat`` columns and other
    geometry as representative-point coordinates; ``geometry="none"`` drops it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(df, gpd.GeoDataFrame):
        gdf = _prepare(df)
        geom = gdf.geometry
        table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        if geometry == "wkt":
            table["wkt"] = shapely.to_wkt(geom.values, rounding_precision=7)
        elif geometry == "lonlat":
            pts = geom.representative_point()
            table["lon"] = pts.x.round(7)
            table["lat"] = pts.y.round(7)
    else:
        table = df
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path
