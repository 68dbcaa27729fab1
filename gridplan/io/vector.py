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
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".kml")

# Why a file cannot be read; the web UI shows them in the user's language (gridplan._messages).
_E_BAD_ZIP = define(
    "io.bad_zip",
    N_("%(path)s: not a valid .zip archive (%(error)s); re-create the zip of the Shapefile"),
)
_E_NO_SHP = define(
    "io.zip_without_shp",
    N_(
        "%(path)s: the zip holds no .shp file (found: %(found)s); zip the .shp together with "
        "its .shx, .dbf and .prj"
    ),
)
_NOTHING = define("io.nothing", N_("nothing"))
_E_NOT_FOUND = define("io.not_found", N_("%(path)s: file not found; check the path"))
_E_FOLDER = define("io.folder", N_("%(path)s: is a folder, not a file; give the path of %(kinds)s"))
_E_EMPTY = define("io.empty", N_("%(path)s: the file is empty (0 bytes); export %(what)s again"))
_LAYER_FILES = define("io.kinds.layer", N_("a GeoJSON, GeoPackage or .zip"))
_THE_LAYER = define("io.what.layer", N_("the layer"))
_E_NOT_UTF8 = define(
    "io.geojson_not_utf8", N_("%(path)s: a GeoJSON file must be UTF-8 text; save it as UTF-8")
)
_E_BROKEN_JSON = define(
    "io.broken_json",
    N_(
        "%(path)s: broken JSON at line %(line)d, column %(column)d: %(error)s; the file was "
        "probably truncated or edited by hand; export it again"
    ),
)
_E_NOT_GEOJSON = define(
    "io.not_geojson",
    N_(
        "%(path)s: valid JSON but not GeoJSON (top-level type %(kind)r); expected a "
        "FeatureCollection"
    ),
)
_E_UNREADABLE = define(
    "io.unreadable",
    N_(
        "%(path)s: not a vector file GDAL can read (%(error)s); use GeoJSON, GeoPackage (.gpkg) "
        "or a zipped Shapefile (.zip)"
    ),
)
_E_NO_LAYER = define(
    "io.no_layer", N_("%(path)s: has no layer %(layer)r; its layers are %(layers)s")
)
_E_FEATURES = define(
    "io.bad_features",
    N_("%(path)s: GDAL could not decode the features (%(error)s); export the layer again"),
)
_E_NO_GEOMETRY = define(
    "io.no_geometry",
    N_(
        "%(path)s: the layer has no geometry column; if it is a table of points, import it as "
        "CSV/XLSX with longitude and latitude columns"
    ),
)


def _source(path: Path) -> str:
    """Return the GDAL source string; zipped shapefiles are read through /vsizip/."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.startswith("__MACOSX")]
        except zipfile.BadZipFile as exc:
            raise InputError(_E_BAD_ZIP(path=str(path), error=str(exc))) from exc
        shps = [n for n in names if n.lower().endswith(".shp")]
        others = [n for n in names if n.lower().endswith((".gpkg", ".geojson", ".json"))]
        if len(shps) == 1:
            return f"/vsizip/{path}/{shps[0]}"
        if not shps and len(others) == 1:
            return f"/vsizip/{path}/{others[0]}"
        if not shps:
            found = ", ".join(names[:8]) or _NOTHING()
            raise InputError(_E_NO_SHP(path=str(path), found=found))
        return f"/vsizip/{path}"
    return str(path)


def check_file(
    path: Path,
    *,
    kinds: str | Message | None = None,
    what: str | Message | None = None,
) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty file.

    ``kinds`` names the accepted file types (default: a GeoJSON, GeoPackage or .zip) and
    ``what`` the thing to export again (default: the layer), so the message tells the user
    what to do.
    """
    if not path.exists():
        raise InputError(_E_NOT_FOUND(path=str(path)))
    if path.is_dir():
        raise InputError(_E_FOLDER(path=str(path), kinds=kinds or _LAYER_FILES()))
    if path.stat().st_size == 0:
        raise InputError(_E_EMPTY(path=str(path), what=what or _THE_LAYER()))


def _explain_json(path: Path) -> Message | None:
    """Return a precise message if a .geojson/.json file is broken JSON, else None."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        return _E_NOT_UTF8(path=str(path))
    except json.JSONDecodeError as exc:
        return _E_BROKEN_JSON(path=str(path), line=exc.lineno, column=exc.colno, error=exc.msg)
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
        return _E_NOT_GEOJSON(path=str(path), kind=kind)
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


def _unreadable(path: Path, exc: Exception) -> Message:
    if path.suffix.lower() in (".geojson", ".json"):
        detail = _explain_json(path)
        if detail:
            return detail
    return _E_UNREADABLE(path=str(path), error=str(exc).splitlines()[0][:200])


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
            msg = _E_NO_LAYER(path=str(path), layer=layer, layers=", ".join(layers))
            raise InputError(msg)
    elif path.suffix.lower() == ".gpkg":
        layer = list_layers(path)[0]  # the first with geometry, not a style table
    try:
        gdf = pyogrio.read_dataframe(src, layer=layer, use_arrow=False)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(_unreadable(path, exc)) from exc
    except (pyogrio.errors.GeometryError, pyogrio.errors.FieldError) as exc:
        raise InputError(_E_FEATURES(path=str(path), error=str(exc))) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise InputError(_E_NO_GEOMETRY(path=str(path)))
    return gdf
