"""Reading vector files (GeoJSON, GeoPackage, zipped Shapefile, ...) with clear errors.

All readers go through pyogrio (GDAL), so the formats GDAL reads work; this module turns
GDAL's terse failures into messages that name the file and say how to fix it.

A file is data from outside, and GDAL cannot be interrupted from Python, so nothing reaches
GDAL before it is checked against the caller's :class:`~gridplan.io.limits.ReadLimits`:

- the file's bytes (``max_bytes``); a zip's declared members (:func:`check_zip`: size, bomb
  ratio), their number and names (no ``../`` or absolute paths);
- its content, not its name, decides the format, and only GeoJSON, GeoPackage, Shapefile,
  FlatGeobuf, KML and GML are opened: a GDAL virtual file (``.vrt``, whatever its name) or
  any other format that could make GDAL open another file or a URL is refused; XML with a
  DOCTYPE (external entities) is refused; GDAL's network and schema fetching is turned off
  for the process (:data:`GDAL_SAFE_OPTIONS`);
- a GeoPackage is opened first with Python's :mod:`sqlite3`, read-only: it must be one
  (``gpkg_contents``), hold at most :data:`MAX_LAYERS` layers and no virtual table other than
  its spatial index, and every layer (a view too) is computed there once, row by row, under
  a wall-time bound (``max_seconds``), a row bound (``max_rows``) and a byte bound per value,
  so a view that never ends is refused before GDAL would hang on it;
- a GeoJSON's ``crs`` member must name a CRS (never a link), and JSON is parsed by Python
  only when its nesting is bounded (:data:`MAX_JSON_DEPTH`).

After reading, features (``max_rows``) and vertices (``max_vertices``) are counted, and a
geometry GDAL hands over broken (a ring that is not closed, a ring of one point) is closed
where that is possible and reported either way, feature by feature, in one
:class:`~gridplan.GridplanWarning` (``gdf.attrs["broken_geometries"]``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import time
import warnings
import zipfile
from pathlib import Path
from pathlib import PurePosixPath

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import pyogrio.raw
import pyproj
import shapely
import shapely.errors

from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import check_zip

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


# What a hostile or broken file is refused for (see the module docstring).
_E_FORMAT = define(
    "io.unsupported_content",
    N_(
        "%(path)s: the content is %(found)s, not a vector format gridplan reads; use GeoJSON, "
        "GeoPackage (.gpkg), a zipped Shapefile (.zip), FlatGeobuf, KML or GML"
    ),
)
_KIND_NAMES = {
    "vrt": define("io.kind.vrt", N_("a GDAL virtual file (VRT), which can point at other files")),
    "xml": define("io.kind.xml", N_("XML of an unknown kind")),
    "unknown": define("io.kind.unknown", N_("the content is of an unknown kind")),
}
_E_DOCTYPE = define(
    "io.xml_doctype",
    N_(
        "%(path)s: the XML declares a DOCTYPE (entities that can read other files or URLs); "
        "KML and GML need none: export the file again without it"
    ),
)
_E_ZIP_MEMBERS = define(
    "io.zip_members",
    N_(
        "%(path)s: the zip holds %(n)d files, more than %(limit)d; a zipped Shapefile needs "
        "a dozen: zip only the .shp, .shx, .dbf, .prj and .cpg of the layer"
    ),
)
_E_ZIP_NAME = define(
    "io.zip_member_name",
    N_(
        "%(path)s: the zip member %(member)r has an absolute path or '..' in it; zip the "
        "files again from inside their folder"
    ),
)
_E_ZIP_GPKG = define(
    "io.zip_gpkg",
    N_("%(path)s: holds the GeoPackage %(member)s; unzip it and give the .gpkg itself"),
)
_E_ZIP_MEMBER_KIND = define(
    "io.zip_member_kind",
    N_("%(path)s: the zip member %(member)s does not hold what its name says (%(found)s); %(fix)s"),
)
_FIX_ZIP_AGAIN = define("io.fix.zip_again", N_("export the layer again and zip it anew"))
_E_NO_DBF = define(
    "io.shp_without_dbf",
    N_(
        "%(path)s: the Shapefile has no .dbf, so its features have no attributes (id, level, "
        "...); put the .dbf of the same name beside the .shp (or in the zip)"
    ),
)
_E_BAD_PRJ = define(
    "io.bad_prj",
    N_(
        "%(path)s: the .prj of the Shapefile is not a coordinate reference system GDAL "
        "understands; export the layer again, or delete the .prj and give the CRS (--crs)"
    ),
)
_E_NOT_GPKG = define(
    "io.not_geopackage",
    N_("%(path)s: not a GeoPackage (%(reason)s); export the layers again as GeoPackage"),
)
_GPKG_NOT_SQLITE = define(
    "io.gpkg.not_sqlite", N_("not a readable SQLite database: damaged, cut short or encrypted")
)
_GPKG_PLAIN = define("io.gpkg.plain_sqlite", N_("a plain SQLite database without gpkg_contents"))
_GPKG_VIRTUAL = define(
    "io.gpkg.virtual_table", N_("its table %(table)r is a virtual table of module %(module)s")
)
_GPKG_MISSING = define(
    "io.gpkg.missing_table", N_("gpkg_contents lists %(table)r, which is not in the file")
)
_E_GPKG_LAYERS = define(
    "io.gpkg_layers",
    N_("%(path)s: has %(n)d layers, more than %(limit)d; export only the layers to import"),
)
_E_GPKG_SLOW = define(
    "io.gpkg_slow",
    N_(
        "%(path)s: layer %(layer)r did not finish within %(seconds)s s (a view that never "
        "ends, or far too big); export the layer as a table (QGIS: Export, Save Features As) "
        "or raise IMPORT_TIME_LIMIT_S (environment variable GRIDPLAN_IMPORT_TIME_LIMIT_S)"
    ),
)
_E_GPKG_VIEW = define(
    "io.gpkg_view_slow",
    N_(
        "%(path)s: layer %(layer)r is a view (a query) that SQLite could not compute within "
        "%(seconds)g s: it never ends, or is far too heavy for a layer; export the layer as a "
        "table (QGIS: Export, Save Features As) and import that file"
    ),
)
_E_GPKG_LAYER = define(
    "io.gpkg_layer_error",
    N_("%(path)s: layer %(layer)r cannot be read (%(error)s); export the layer again as a table"),
)
_E_JSON_DEPTH = define(
    "io.json_depth",
    N_(
        "%(path)s: the JSON is nested more than %(limit)d levels deep; GeoJSON needs fewer "
        "than 10: export the layer again"
    ),
)
_E_JSON_CRS = define(
    "io.geojson_crs",
    N_(
        '%(path)s: the GeoJSON\'s "crs" member %(crs)s is not a CRS gridplan knows; delete '
        "the member and give the CRS (--crs), or export the file as EPSG:4326 GeoJSON"
    ),
)
_W_BROKEN = define(
    "io.broken_geometries",
    N_(
        "%(path)s: %(n)d feature(s) had a broken geometry: %(features)s; where a ring was "
        "not closed it was closed, other broken geometries were left empty; redraw them "
        "(every ring needs at least 4 points and must end where it starts)"
    ),
)
_BROKEN_FEATURE = define("io.broken_feature", N_("#%(n)d (%(reason)s)"))

#: A zip with more members than this is refused (a zipped Shapefile has about a dozen).
MAX_ZIP_MEMBERS = 1000
#: Seconds a GeoPackage layer that is a view may take to compute (a table takes a moment);
#: also bounded by ``ReadLimits.max_seconds``.
VIEW_SECONDS = 20.0
#: A GeoPackage with more layers than this is refused.
MAX_LAYERS = 1000
#: JSON nested deeper than this is refused; a GeoJSON MultiPolygon in a collection needs 7.
MAX_JSON_DEPTH = 100
#: JSON files up to this size are parsed by Python to explain why GDAL could not read them.
EXPLAIN_JSON_BYTES = 64 * 1024 * 1024
#: Bytes of one value a GeoPackage layer may hold (its largest geometry or text).
MAX_VALUE_BYTES = 256 * 1024 * 1024
#: GDAL settings that keep data files from making GDAL fetch URLs, schemas or styles.
GDAL_SAFE_OPTIONS = {
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GML_DOWNLOAD_WFS_SCHEMA": "NO",
    "GML_SAVE_RESOLVED_TO": None,
    "LIBKML_RESOLVE_STYLE": "NO",
    "LIBKML_EXTERNAL_STYLE": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".gridplan-never",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
}

_SHP_MAGIC = b"\x00\x00\x27\x0a"
_SPACE = re.compile(rb"\s*")
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


#: What pyogrio raises on a file GDAL cannot make sense of: its own errors (RuntimeError),
#: and for a file cut short, the index and value errors of its array handling.
_GDAL_FAILURES = (RuntimeError, ValueError, IndexError, KeyError, TypeError, OverflowError)


def _sniff(head: bytes) -> str:
    """Return the kind of content that starts with ``head``, whatever the file's name."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(_SHP_MAGIC):
        return "shp"
    if head.startswith(b"fgb\x03"):
        return "fgb"
    if text.startswith((b"{", b"[")):
        return "json"
    if text.startswith(b"<"):
        return _sniff_xml(text)
    return "unknown"


def _sniff_xml(text: bytes) -> str:
    """Return ``doctype``, ``vrt``, ``kml``, ``gml`` or ``xml`` for XML text."""
    pos = 0
    while True:  # the prolog: declaration, processing instructions, comments
        if text.startswith(b"<?", pos):
            end, step = text.find(b"?>", pos), 2
        elif text.startswith(b"<!--", pos):
            end, step = text.find(b"-->", pos), 3
        elif text.startswith(b"<!", pos):
            return "doctype"
        else:
            break
        if end < 0:
            return "xml"
        pos = _SPACE.match(text, end + step).end()
    match = _XML_ROOT.match(text, pos)
    if match is None:
        return "xml"
    root = match.group(2).decode("ascii", "replace")
    if root.lower().startswith("ogrvrt"):
        return "vrt"
    if root == "kml":
        return "kml"
    return "gml" if b"www.opengis.net/gml" in text else "xml"


def _head(path: Path, size: int = 64 * 1024) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def _harden_gdal() -> None:
    """Apply :data:`GDAL_SAFE_OPTIONS` (process-wide: gridplan never needs GDAL's network)."""
    pyogrio.set_gdal_config_options(GDAL_SAFE_OPTIONS)


def _refuse_kind(path: Path, kind: str) -> InputError:
    if kind == "doctype":
        return InputError(_E_DOCTYPE(path=str(path)))
    if kind == "unknown":
        return InputError(_E_UNREADABLE(path=str(path), error=_KIND_NAMES["unknown"]()))
    return InputError(_E_FORMAT(path=str(path), found=_KIND_NAMES.get(kind, _KIND_NAMES["xml"])()))


# --------------------------------------------------------------------------------------------
# zip archives


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return (
        bool(parts)
        and not name.startswith(("/", "\\"))
        and ".." not in parts
        and ":" not in parts[0]
    )


def _zip_names(path: Path, limits: ReadLimits) -> list[str]:
    """Return the file members of a zip after checking sizes, ratios, number and names."""
    check_zip(path, limits)
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
    if len(names) > MAX_ZIP_MEMBERS:
        raise InputError(_E_ZIP_MEMBERS(path=str(path), n=len(names), limit=MAX_ZIP_MEMBERS))
    for name in names:
        if not _safe_member(name):
            raise InputError(_E_ZIP_NAME(path=str(path), member=name))
    return [n for n in names if not n.startswith("__MACOSX")]


def _zip_source(path: Path, limits: ReadLimits) -> _Source:
    """Return the GDAL source of a zipped Shapefile (or one zipped GeoJSON) via /vsizip/."""
    names = _zip_names(path, limits)
    lower = {n.lower(): n for n in names}
    shps = [n for n in names if n.lower().endswith(".shp")]
    gpkgs = [n for n in names if n.lower().endswith(".gpkg")]
    jsons = [n for n in names if n.lower().endswith((".geojson", ".json"))]
    if gpkgs and not shps:
        raise InputError(_E_ZIP_GPKG(path=str(path), member=gpkgs[0]))
    if not shps and len(jsons) != 1:
        found = ", ".join(names[:8]) or _NOTHING()
        raise InputError(_E_NO_SHP(path=str(path), found=found))
    members = shps or jsons
    want = "shp" if shps else "json"
    try:
        with zipfile.ZipFile(path) as zf:
            for member in members:
                with zf.open(member) as fh:
                    kind = _sniff(fh.read(4096))
                if kind != want:
                    found = _KIND_NAMES.get(kind, _KIND_NAMES["unknown"])()
                    msg = _E_ZIP_MEMBER_KIND(
                        path=str(path), member=member, found=found, fix=_FIX_ZIP_AGAIN()
                    )
                    raise InputError(msg)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(_E_BAD_ZIP(path=str(path), error=str(exc))) from exc
    for shp in shps:
        if shp[:-4].lower() + ".dbf" not in lower:
            raise InputError(_E_NO_DBF(path=f"{path}/{shp}"))
    prj = any(s[:-4].lower() + ".prj" in lower for s in shps)
    gdal = f"/vsizip/{path}/{members[0]}" if len(members) == 1 else f"/vsizip/{path}"
    return _Source(gdal, want, prj=prj)


def _shp_source(path: Path) -> _Source:
    siblings = {p.name.lower() for p in path.parent.iterdir() if p.stem == path.stem}
    if path.stem.lower() + ".dbf" not in siblings:
        raise InputError(_E_NO_DBF(path=str(path)))
    return _Source(str(path), "shp", prj=path.stem.lower() + ".prj" in siblings)


# --------------------------------------------------------------------------------------------
# GeoPackage


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_geopackage(path: Path, limits: ReadLimits) -> None:
    """Open a GeoPackage read-only with sqlite3 and compute each layer once, bounded.

    Raises
    ------
    InputError
        If it is not a GeoPackage, has a virtual table other than its spatial index, more
        than :data:`MAX_LAYERS` layers, a layer that is broken, over ``max_rows`` or
        ``max_bytes``, or not computed within ``max_seconds``.
    """
    deadline = [time.monotonic() + limits.max_seconds]
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(_E_NOT_GPKG(path=str(path), reason=_GPKG_NOT_SQLITE())) from exc
    try:
        con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        con.set_progress_handler(lambda: time.monotonic() > deadline[0], 1000)
        layers = _gpkg_layers(con, path, limits)
        views = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='view'")}
        for layer in layers:
            # a table is counted in a moment; a view is a query, which may never end
            budget = min(limits.max_seconds, VIEW_SECONDS) if layer in views else limits.max_seconds
            deadline[0] = time.monotonic() + budget
            try:
                _scan_layer(con, path, layer, limits)
            except InputError as exc:
                if layer in views and exc.message is not None and exc.message.id == "io.gpkg_slow":
                    raise InputError(
                        _E_GPKG_VIEW(path=str(path), layer=layer, seconds=budget)
                    ) from exc
                raise
    finally:
        con.close()


def _gpkg_layers(con: sqlite3.Connection, path: Path, limits: ReadLimits) -> list[str]:
    """Return the layers gpkg_contents lists, after checking the file's tables."""
    try:
        master = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise _slow(path, "sqlite_master", limits) from exc
        raise InputError(_E_NOT_GPKG(path=str(path), reason=_GPKG_NOT_SQLITE())) from exc
    except sqlite3.DatabaseError as exc:
        raise InputError(_E_NOT_GPKG(path=str(path), reason=_GPKG_NOT_SQLITE())) from exc
    objects = {str(name): str(sql or "") for _, name, sql in master}
    if "gpkg_contents" not in objects:
        raise InputError(_E_NOT_GPKG(path=str(path), reason=_GPKG_PLAIN()))
    for name, sql in objects.items():
        module = re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE\s+.*?\bUSING\s+(\w+)", sql, re.I | re.S)
        if module and module.group(1).lower() != "rtree":
            reason = _GPKG_VIRTUAL(table=name, module=module.group(1))
            raise InputError(_E_NOT_GPKG(path=str(path), reason=reason))
    try:
        (n,) = con.execute("SELECT count(*) FROM gpkg_contents").fetchone()
        if n > MAX_LAYERS:
            raise InputError(_E_GPKG_LAYERS(path=str(path), n=n, limit=MAX_LAYERS))
        layers = [str(row[0]) for row in con.execute("SELECT table_name FROM gpkg_contents")]
    except sqlite3.Error as exc:
        raise _layer_error(path, "gpkg_contents", exc, limits) from exc
    for layer in layers:
        if layer not in objects:
            raise InputError(_E_NOT_GPKG(path=str(path), reason=_GPKG_MISSING(table=layer)))
    return layers


def _scan_layer(con: sqlite3.Connection, path: Path, layer: str, limits: ReadLimits) -> None:
    """Compute every value of a layer (a view too) once: rows, bytes and time bounded."""
    try:
        columns = [str(row[1]) for row in con.execute(f"PRAGMA table_xinfo({_quote(layer)})")]
        sizes = "".join(f", sum(length({_quote(c)}))" for c in columns)
        inner = ", ".join(map(_quote, columns)) or "1"
        query = (
            f"SELECT count(*){sizes} FROM "
            f"(SELECT {inner} FROM {_quote(layer)} LIMIT {int(limits.max_rows) + 1})"
        )
        row = con.execute(query).fetchone()
    except sqlite3.Error as exc:
        raise _layer_error(path, layer, exc, limits) from exc
    limits.check("max_rows", row[0], path)
    limits.check("max_bytes", sum(v or 0 for v in row[1:]), path)


def _slow(path: Path, layer: str, limits: ReadLimits) -> InputError:
    return InputError(_E_GPKG_SLOW(path=str(path), layer=layer, seconds=f"{limits.max_seconds:g}"))


def _layer_error(path: Path, layer: str, exc: Exception, limits: ReadLimits) -> InputError:
    if "interrupted" in str(exc):
        return _slow(path, layer, limits)
    return InputError(_E_GPKG_LAYER(path=str(path), layer=layer, error=str(exc)[:200]))


# --------------------------------------------------------------------------------------------
# JSON

_CRS_MEMBER = re.compile(rb'"crs"\s*:\s*')
_CRS_NAMES = re.compile(r"(EPSG:|urn:ogc:def:crs:|https?://www\.opengis\.net/def/crs/)", re.I)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _check_geojson_crs(path: Path, head: bytes) -> None:
    """Refuse a ``crs`` member that is a link or names a CRS that is not known.

    GDAL never follows it, but reads an unknown one as EPSG:4326 without a word, which
    would put a metric grid in the wrong place.
    """
    match = _CRS_MEMBER.search(head)
    if match is None:
        return
    try:
        crs, _ = json.JSONDecoder().raw_decode(head[match.end() :].decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return  # cut off by the 64 KB read: GDAL decides
    if not isinstance(crs, dict) or "type" not in crs:
        return  # not a crs object (a property that happens to be called crs) or null
    props = crs.get("properties")
    name = props.get("name") if isinstance(props, dict) else None
    if crs.get("type") == "name" and isinstance(name, str) and _known_crs(name):
        return
    shown = json.dumps(crs, ensure_ascii=False)[:200]
    raise InputError(_E_JSON_CRS(path=str(path), crs=shown))


def _known_crs(name: str) -> bool:
    if not _CRS_NAMES.match(name):
        return False
    try:
        pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError:
        return False
    return True


def json_depth(data: bytes) -> int:
    """Return how deep arrays and objects nest in JSON ``data``, without recursion.

    Strings are blanked first, so brackets inside them do not count.

    Examples
    --------
    >>> json_depth(b'{"a": [[1, 2], "[[["]}')
    3
    """
    brackets = _JSON_STRING.sub(b'""', data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _explain_json(path: Path) -> Message | None:
    """Return a precise message if a .geojson/.json file is broken JSON, else None."""
    if path.stat().st_size > EXPLAIN_JSON_BYTES:
        return None
    raw = path.read_bytes()
    if json_depth(raw) > MAX_JSON_DEPTH:
        return _E_JSON_DEPTH(path=str(path), limit=MAX_JSON_DEPTH)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _E_NOT_UTF8(path=str(path))
    except json.JSONDecodeError as exc:
        return _E_BROKEN_JSON(path=str(path), line=exc.lineno, column=exc.colno, error=exc.msg)
    except RecursionError:
        return _E_JSON_DEPTH(path=str(path), limit=MAX_JSON_DEPTH)
    if not isinstance(data, dict) or data.get("type") not in _GEOJSON_TYPES:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        return _E_NOT_GEOJSON(path=str(path), kind=str(kind)[:100])
    return None


_GEOJSON_TYPES = (
    "FeatureCollection",
    "Feature",
    "Polygon",
    "MultiPolygon",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "GeometryCollection",
)


# --------------------------------------------------------------------------------------------
# opening and reading


@dataclasses.dataclass(frozen=True)
class _Source:
    """What GDAL is given: its source string, the content's kind, a .prj beside a .shp."""

    gdal: str
    kind: str
    prj: bool = False


def _open(path: Path, limits: ReadLimits) -> _Source:
    """Check a file before GDAL sees it and return the source to give GDAL."""
    check_file(path)
    limits.check("max_bytes", path.stat().st_size, path)
    _harden_gdal()
    head = _head(path)
    kind = _sniff(head)
    if kind == "zip":
        return _zip_source(path, limits)
    if kind == "sqlite":
        _check_geopackage(path, limits)
    elif kind == "json":
        _check_geojson_crs(path, head)
    elif kind == "shp":
        return _shp_source(path)
    elif kind not in ("fgb", "kml", "gml"):
        if kind == "unknown" and path.suffix.lower() in (".geojson", ".json"):
            detail = _explain_json(path)
            if detail:
                raise InputError(detail)
        raise _refuse_kind(path, kind)
    return _Source(str(path), kind)


def _layers(path: Path, source: _Source) -> list[str]:
    try:
        found = pyogrio.list_layers(source.gdal)
    except _GDAL_FAILURES as exc:  # pyogrio's errors are RuntimeErrors; a cut file, others
        raise InputError(_unreadable(path, exc)) from exc
    if len(found) > MAX_LAYERS:
        raise InputError(_E_GPKG_LAYERS(path=str(path), n=len(found), limit=MAX_LAYERS))
    spatial = [str(name) for name, geometry in found if geometry is not None]
    return spatial or [str(name) for name, _ in found]


def list_layers(path: str | Path, *, limits: ReadLimits = ReadLimits()) -> list[str]:  # noqa: B008
    """Return the layer names of a vector file (one for GeoJSON, several for GeoPackage).

    Tables without geometry (QGIS's ``layer_styles``, the plan document of a plan
    GeoPackage) are left out when the file has layers with geometry. The file is checked
    as :func:`read_vector` checks it.

    Raises
    ------
    InputError
        If the file is missing, empty, over a limit, hostile or not a vector file GDAL can
        read.
    """
    path = Path(path)
    return _layers(path, _open(path, limits))


def _unreadable(path: Path, exc: Exception) -> Message:
    if path.suffix.lower() in (".geojson", ".json"):
        detail = _explain_json(path)
        if detail:
            return detail
    return _E_UNREADABLE(path=str(path), error=str(exc).splitlines()[0][:200])


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> gpd.GeoDataFrame:
    """Read one layer of a vector file into a GeoDataFrame, keeping its CRS (may be None).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, zipped Shapefile, FlatGeobuf, KML or GML.
    layer
        Layer name for multi-layer sources such as GeoPackage; the first layer if omitted.
    limits
        Bytes, features, vertices and time the file may take (module docstring).

    Returns
    -------
    GeoDataFrame
        With the file's CRS, or ``crs=None`` when the file has none (callers decide).
        ``attrs["broken_geometries"]`` lists ``(feature number, reason)`` of geometries
        GDAL handed over broken (also announced by a :class:`~gridplan.GridplanWarning`).

    Raises
    ------
    InputError
        If the file is missing, empty, broken, not geodata, over a limit, refused as
        hostile (module docstring), or lacks the requested layer.

    Examples
    --------
    >>> gdf = read_vector("tests/data/grid_clean.geojson")
    >>> len(gdf), gdf.crs.to_epsg()
    (16, 4326)
    """
    path = Path(path)
    source = _open(path, limits)
    if layer is not None or source.kind == "sqlite":
        layers = _layers(path, source)
        if layer is None:
            layer = layers[0]  # the first with geometry, not a style table
        elif layer not in layers:
            msg = _E_NO_LAYER(path=str(path), layer=layer, layers=", ".join(layers[:20]))
            raise InputError(msg)
    gdf = _read(path, source, layer, limits)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise InputError(_E_NO_GEOMETRY(path=str(path)))
    limits.check("max_rows", len(gdf), path)
    limits.check("max_vertices", int(shapely.get_num_coordinates(gdf.geometry.values).sum()), path)
    if source.prj and gdf.crs is None:
        raise InputError(_E_BAD_PRJ(path=str(path)))
    return gdf


def _read(path: Path, source: _Source, layer: str | None, limits: ReadLimits) -> gpd.GeoDataFrame:
    """Read with pyogrio; on broken WKB, read again closing rings and report each feature."""
    options = {"layer": layer, "use_arrow": False, "max_features": int(limits.max_rows) + 1}
    try:
        # GDAL's own warnings (a ring not closed, ...) are reported below in plain words, and
        # shapely's on a NaN coordinate by the callers, which name the features
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="pyogrio")
            try:
                return pyogrio.read_dataframe(source.gdal, on_invalid="raise", **options)
            except shapely.errors.GEOSException:
                gdf = pyogrio.read_dataframe(source.gdal, on_invalid="fix", **options)
                broken = _broken(source.gdal, options)
    except _GDAL_FAILURES as exc:
        if isinstance(exc, pyogrio.errors.GeometryError | pyogrio.errors.FieldError):
            raise InputError(_E_FEATURES(path=str(path), error=str(exc)[:200])) from exc
        raise InputError(_unreadable(path, exc)) from exc
    gdf.attrs["broken_geometries"] = tuple(broken)
    if broken:
        shown = [_BROKEN_FEATURE(n=n, reason=reason) for n, reason in broken[:10]]
        features = listing(shown, more=max(len(broken) - 10, 0))
        msg = _W_BROKEN(path=str(path), n=len(broken), features=features)
        warnings.warn(msg, GridplanWarning, stacklevel=3)
    return gdf


_REASON_UNCLOSED = define("io.reason.unclosed", N_("a ring does not end where it starts"))
_REASON_FEW = define("io.reason.few_points", N_("a line or ring has too few points"))


def _broken(source: str, options: dict) -> list[tuple[int, Message | str]]:
    """Return (feature number, reason) of each geometry whose WKB shapely refuses."""
    wkb = pyogrio.raw.read(
        source, layer=options["layer"], columns=[], max_features=options["max_features"]
    )[2]
    decoded = shapely.from_wkb(wkb, on_invalid="ignore")
    broken = []
    for i in np.flatnonzero(shapely.is_missing(decoded) & (wkb != None)).tolist():  # noqa: E711
        try:
            shapely.from_wkb(wkb[i])
            continue
        except shapely.errors.GEOSException as exc:
            text = str(exc).strip()
        if "closed" in text:
            reason: Message | str = _REASON_UNCLOSED()
        elif "must contain" in text or "number of points" in text:
            reason = _REASON_FEW()
        else:
            reason = text.split(": ", 1)[-1][:200]
        broken.append((i + 1, reason))
    return broken
