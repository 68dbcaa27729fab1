"""Reading vector files (GeoJSON, GeoPackage, zipped Shapefile, ...) with clear errors.

All readers go through pyogrio (GDAL), so every format GDAL reads works; this module turns
GDAL's terse failures into messages that name the file and say how to fix it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyogrio.errors

from gridplan._errors import InputError

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".kml")


def _source(path: Path) -> str:
    """Return the GDAL source string; zipped shapefiles are read through /vsizip/."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.startswith("__MACOSX")]
        except zipfile.BadZipFile as exc:
            msg = f"{path}: not a valid .zip archive ({exc}); re-create the zip of the Shapefile"
            raise InputError(msg) from exc
        shps = [n for n in names if n.lower().endswith(".shp")]
        others = [n for n in names if n.lower().endswith((".gpkg", ".geojson", ".json"))]
        if len(shps) == 1:
            return f"/vsizip/{path}/{shps[0]}"
        if not shps and len(others) == 1:
            return f"/vsizip/{path}/{others[0]}"
        if not shps:
            msg = (
                f"{path}: the zip holds no .shp file (found: {', '.join(names[:8]) or 'nothing'}); "
                "zip the .shp together with its .shx, .dbf and .prj"
            )
            raise InputError(msg)
        return f"/vsizip/{path}"
    return str(path)


def check_file(
    path: Path,
    *,
    kinds: str = "a GeoJSON, GeoPackage or .zip",
    what: str = "the layer",
) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty file.

    ``kinds`` names the accepted file types and ``what`` the thing to export again, so the
    message tells the user what to do.
    """
    if not path.exists():
        msg = f"{path}: file not found; check the path"
        raise InputError(msg)
    if path.is_dir():
        msg = f"{path}: is a folder, not a file; give the path of {kinds}"
        raise InputError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty (0 bytes); export {what} again"
        raise InputError(msg)


def _explain_json(path: Path) -> str | None:
    """Return a precise message if a .geojson/.json file is broken JSON, else None."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        return f"{path}: a GeoJSON file must be UTF-8 text; save it as UTF-8"
    except json.JSONDecodeError as exc:
        return (
            f"{path}: broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
            "the file was probably truncated or edited by hand; export it again"
        )
    if not isinstance(data, dict) or data.get("type") not in (
        "FeatureCollection",
        "Feature",
        "Polygon",
        "MultiPolygon",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "GeometryCollection",
    ):
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        return (
            f"{path}: valid JSON but not GeoJSON (top-level type {kind!r}); "
            "expected a FeatureCollection"
        )
    return None


def list_layers(path: str | Path) -> list[str]:
    """Return the layer names of a vector file (one for GeoJSON, several for GeoPackage).

    Tables without geometry (QGIS's ``layer_styles``, the plan document of a plan
    GeoPackage) are left out when the file has layers with geometry.

    Raises
    ------
    InputError
        If the file is missing, empty or not a vector file GDAL can read.
    """
    path = Path(path)
    check_file(path)
    try:
        found = pyogrio.list_layers(_source(path))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(_unreadable(path, exc)) from exc
    spatial = [str(name) for name, geometry in found if geometry is not None]
    return spatial or [str(name) for name, _ in found]


def _unreadable(path: Path, exc: Exception) -> str:
    if path.suffix.lower() in (".geojson", ".json"):
        detail = _explain_json(path)
        if detail:
            return detail
    return (
        f"{path}: not a vector file GDAL can read ({str(exc).splitlines()[0][:200]}); "
        "use GeoJSON, GeoPackage (.gpkg) or a zipped Shapefile (.zip)"
    )


def read_vector(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer of a vector file into a GeoDataFrame, keeping its CRS (may be None).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, zipped Shapefile, FlatGeobuf or any other GDAL vector format.
    layer
        Layer name for multi-layer sources such as GeoPackage; the first layer if omitted.

    Returns
    -------
    GeoDataFrame
        With the file's CRS, or ``crs=None`` when the file has none (callers decide).

    Raises
    ------
    InputError
        If the file is missing, empty, broken, not geodata, or lacks the requested layer.
    """
    path = Path(path)
    check_file(path)
    src = _source(path)
    if layer is not None:
        layers = list_layers(path)
        if layer not in layers:
            msg = f"{path}: has no layer {layer!r}; its layers are {', '.join(layers)}"
            raise InputError(msg)
    elif path.suffix.lower() == ".gpkg":
        layer = list_layers(path)[0]  # the first with geometry, not a style table
    try:
        gdf = pyogrio.read_dataframe(src, layer=layer, use_arrow=False)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(_unreadable(path, exc)) from exc
    except (pyogrio.errors.GeometryError, pyogrio.errors.FieldError) as exc:
        msg = f"{path}: GDAL could not decode the features ({exc}); export the layer again"
        raise InputError(msg) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        msg = (
            f"{path}: the layer has no geometry column; if it is a table of points, "
            "import it as CSV/XLSX with longitude and latitude columns"
        )
        raise InputError(msg)
    return gdf
