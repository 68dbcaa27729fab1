"""Loading and writing 1+5+N grid boundaries (one station, five base grids, N micro-grids).

Two input conventions are understood:

(a) **one layer** with a ``level`` column (``station`` / ``base`` / ``micro``, or the Chinese
    辖区 / 基础网格 / 微网格) plus ``id``, ``parent_id`` and ``name``. Chinese and English header
    aliases are accepted (编号, 网格编码, code; 上级编号, parent; 名称, 网格名称; 层级, type, ...).
(b) **three layers**, one per level: the layers of a GeoPackage named like station / base / micro
    (or 辖区 / 基础网格 / 微网格), or three files given as
    ``layers={"station": p1, "base": p2, "micro": p3}``. The level comes from the layer.

In both, a base grid's ``parent_id`` may be missing (the station's id is implied when there is
one station); a micro-grid's may be missing too and is then derived from the base grid it
overlaps most, with a :class:`~gridplan.GridplanWarning` saying so. Null or empty geometries
are kept, for :func:`gridplan.geo.validate.validate_grid` to report.

Whatever the input CRS, :func:`load_grid` returns the canonical GRID frame in EPSG:4326 with
columns ``id``, ``level``, ``parent_id``, ``name``, ``geometry``, rows ordered station, bases,
micro-grids. :func:`gridplan.io.results.write_grid` writes GeoJSON or GeoPackage that load back the
same.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan import settings
from gridplan._errors import CRSError
from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import define
from gridplan._messages import listing
from gridplan._validate import GRID_COLUMNS
from gridplan._validate import GRID_LEVELS
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import parse_crs
from gridplan.geo.crs import require_crs
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import list_layers
from gridplan.io.vector import read_vector

#: Accepted spellings of each level value (compared after :func:`_norm`).
LEVEL_ALIASES: Mapping[str, tuple[str, ...]] = {
    "station": (
        "station",
        "policestation",
        "communitypolicestation",
        "jurisdiction",
        "precinct",
        "level1",
        "辖区",
        "警务室",
        "社区警务室",
        "警务区",
        "责任区",
    ),
    "base": (
        "base",
        "basegrid",
        "basic",
        "basicgrid",
        "grid",
        "level2",
        "基础网格",
        "基本网格",
        "网格",
    ),
    "micro": (
        "micro",
        "microgrid",
        "micro-grid",
        "microcell",
        "cell",
        "level3",
        "微网格",
        "微格",
        "微网格单元",
    ),
}

#: Accepted header spellings of each canonical column, in order of preference.
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "id": (
        "id",
        "code",
        "gridid",
        "gridcode",
        "编号",
        "网格编码",
        "网格编号",
        "网格代码",
        "编码",
        "代码",
    ),
    "level": (
        "level",
        "gridlevel",
        "gridtype",
        "type",
        "kind",
        "层级",
        "网格层级",
        "级别",
        "网格类型",
        "类型",
    ),
    "parent_id": (
        "parentid",
        "parent",
        "parentcode",
        "上级编号",
        "上级编码",
        "上级网格",
        "上级网格编码",
        "父级编号",
        "所属网格",
        "上级",
    ),
    "name": ("name", "gridname", "名称", "网格名称", "名字"),
}

# Why a grid file cannot be loaded; the web UI shows them in the user's language
# (gridplan._messages). Advice for the command line or Python is a message of its own
# (``advice.*``), which the web UI replaces with advice about its forms.
_IN_LAYER = define("grid.in_layer", N_("%(path)s (layer %(layer)r)"))
_E_MISSING_COLUMNS = define(
    "grid.missing_columns",
    N_(
        "%(where)s: missing required column(s) %(missing)s; found %(found)s; expected "
        "%(expected)s. %(fix)s"
    ),
)
_NO_ATTRIBUTES = define("grid.no_attribute_columns", N_("no attribute columns"))
_EXPECTED = define("grid.expected_column", N_("%(column)s (or %(aliases)s)"))
#: Advice when a grid's columns are not recognised (Python and the command line).
ADVICE_GRID_COLUMNS = define(
    "advice.grid_columns",
    N_(
        "Rename the columns, pass columns={'id': 'YOUR_COLUMN', ...}, or give one layer per "
        "level (station/base/micro)"
    ),
)
_E_NO_CRS = define(
    "grid.no_crs", N_("%(where)s: the file has no coordinate reference system; %(fix)s")
)
#: Advice when a grid file has no CRS.
ADVICE_GRID_CRS = define(
    "advice.grid_crs",
    N_(
        "pass the CRS the boundaries were drawn in, e.g. crs='EPSG:4547' (CLI: --crs EPSG:4547), "
        "or re-export the file with a CRS (for a Shapefile, put its .prj in the zip)"
    ),
)
_E_METRES = define(
    "grid.degrees_but_metres",
    N_(
        "%(where)s: the file says its CRS is %(crs)s (degrees) but its coordinates reach "
        "x=%(x)s, y=%(y)s, which are metres, not lon/lat; %(fix)s"
    ),
)
_E_NOT_FINITE = define(
    "grid.not_finite",
    N_(
        "%(where)s: feature(s) %(features)s have coordinates that are not finite numbers (NaN "
        "or infinite); correct or redraw them in your GIS"
    ),
)
#: Advice when a grid file's CRS is wrong.
ADVICE_GRID_REAL_CRS = define(
    "advice.grid_real_crs", N_("pass the real CRS, e.g. crs='EPSG:4547' (CLI: --crs)")
)
_FEATURE_TYPE = define("grid.feature_type", N_("%(id)r (feature #%(n)d, %(type)s)"))
_E_NOT_POLYGON = define(
    "grid.not_polygons.one",
    N_(
        "%(where)s: grid boundaries must be polygons, but %(features)s is not; keep only the "
        "area features of the layer (convert lines to polygons in your GIS first)"
    ),
)
_E_NOT_POLYGONS = define(
    "grid.not_polygons",
    N_(
        "%(where)s: grid boundaries must be polygons, but %(features)s are not; keep only the "
        "area features of the layer (convert lines to polygons in your GIS first)"
    ),
)
_E_EMPTY_ID = define(
    "grid.empty_ids",
    N_(
        "%(where)s: feature(s) %(features)s have an empty %(column)r (id); give every grid a "
        "unique code such as S01-B3-M017"
    ),
)
_LEVEL_VALUE = define("grid.level_value", N_("%(value)r (feature %(features)s)"))
_EMPTY = define("grid.empty_value", N_("(empty)"))
_E_LEVELS = define(
    "grid.unknown_levels",
    N_("%(where)s: unknown value(s) in column %(column)r: %(values)s; allowed: %(allowed)s"),
)
_W_PARENTS = define(
    "grid.derived_parents",
    N_(
        "%(where)s: %(n)d grid(s) had no parent_id; each was assigned to the parent grid it "
        "overlaps most (%(assigned)s); add a parent_id column to make this explicit"
    ),
)
_E_NO_FEATURES = define(
    "grid.no_features", N_("%(where)s: the grid has no features; export the boundaries again")
)
_E_LAYERS = define("grid.several_layers", N_("%(path)s: has %(n)d layers (%(layers)s); %(fix)s"))
#: Advice when a grid file has several layers.
ADVICE_GRID_LAYER = define(
    "advice.grid_layer",
    N_(
        "pass layer= (CLI: --layer) to choose the one with a level column, or name three "
        "layers station, base and micro"
    ),
)
_E_NO_MICRO = define(
    "grid.no_micro_grids",
    N_(
        "grid has no micro-grids (level values: %(levels)s); hot spots and patrols work per "
        "micro-grid, so %(fix)s"
    ),
)
_NONE = define("grid.none", N_("none"))
#: Advice when a grid has no micro-grids.
ADVICE_GENERATE = define(
    "advice.generate_micro", N_("generate them with 'gridplan grids generate'")
)

_LAYER_HINTS: Mapping[str, tuple[str, ...]] = {
    "station": ("station", "辖区", "警务室", "jurisdiction"),
    "base": ("base", "基础网格", "基本网格"),
    "micro": ("micro", "微网格", "微格"),
}


def _norm(value: object) -> str:
    """Normalise a header or level value for alias lookup: lower case, no spaces/-/_."""
    return re.sub(r"[\s\-_./]+", "", str(value).strip().lower())


_LEVEL_LOOKUP = {_norm(a): level for level, names in LEVEL_ALIASES.items() for a in names}


def _allowed_levels() -> str:
    return ", ".join(f"{lv} ({'/'.join(LEVEL_ALIASES[lv][-3:])})" for lv in GRID_LEVELS)


def _layer_level(name: str) -> str | None:
    """Return the level a layer name stands for, or None."""
    key = _norm(name)
    if key in _LEVEL_LOOKUP:
        return _LEVEL_LOOKUP[key]
    hits = {lv for lv, hints in _LAYER_HINTS.items() if any(h in key for h in hints)}
    return hits.pop() if len(hits) == 1 else None


def _find_columns(
    gdf: gpd.GeoDataFrame, columns: Mapping[str, str] | None, where: str
) -> dict[str, str]:
    """Map canonical column names to the source's headers (explicit ``columns`` first)."""
    found: dict[str, str] = {}
    present = [c for c in gdf.columns if c != gdf.geometry.name]
    for canonical, source in (columns or {}).items():
        if canonical not in COLUMN_ALIASES:
            msg = (
                f"columns={{{canonical!r}: {source!r}}}: unknown target {canonical!r}; "
                f"use one of {', '.join(COLUMN_ALIASES)}"
            )
            raise InputError(msg)
        if source not in present:
            msg = (
                f"{where}: columns maps {canonical!r} to {source!r}, but the file has no such "
                f"column; its columns are {', '.join(map(str, present)) or 'none'}"
            )
            raise InputError(msg)
        found[canonical] = source
    by_norm: dict[str, str] = {}
    for col in present:
        by_norm.setdefault(_norm(col), col)
    for canonical, aliases in COLUMN_ALIASES.items():
        if canonical in found:
            continue
        for alias in aliases:
            col = by_norm.get(_norm(alias))
            if col is not None and col not in found.values():
                found[canonical] = col
                break
    return found


def _missing_columns_error(where: str, gdf: gpd.GeoDataFrame, missing: list[str]) -> InputError:
    present = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    expected = listing(
        [
            _EXPECTED(column=c, aliases=", ".join(COLUMN_ALIASES[c][1:4]))
            for c in ("id", "level", "parent_id", "name")
        ],
        semicolons=True,
    )
    msg = _E_MISSING_COLUMNS(
        where=where,
        missing=", ".join(missing),
        found=", ".join(present) or _NO_ATTRIBUTES(),
        expected=expected,
        fix=ADVICE_GRID_COLUMNS(),
    )
    return InputError(msg)


def id_text(value: object) -> str | None:
    """Return an id as text; integral floats lose their '.0', missing values become None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


def _figure(value: float) -> str:
    """Return a coordinate as a short figure: ``4513209``, or ``1e+308`` when huge."""
    return f"{value:.0f}" if abs(value) < 1e12 else f"{value:.3g}"


def _check_crs(gdf: gpd.GeoDataFrame, crs, where: str) -> gpd.GeoDataFrame:
    """Give the frame a CRS (the file's, or ``crs`` when it has none) and sanity-check it."""
    if gdf.crs is None:
        if crs is None:
            raise CRSError(_E_NO_CRS(where=where, fix=ADVICE_GRID_CRS()))
        return gdf.set_crs(parse_crs(crs, where=where))
    coords, rows = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    if not np.isfinite(coords).all():
        bad = np.unique(rows[~np.isfinite(coords).all(axis=1)]) + 1
        features = listing([f"#{n}" for n in bad[:10].tolist()], more=max(len(bad) - 10, 0))
        raise InputError(_E_NOT_FINITE(where=where, features=features))
    if gdf.crs.is_geographic and len(coords):
        (minx, miny), (maxx, maxy) = coords.min(axis=0), coords.max(axis=0)
        if not (-180.5 <= minx and maxx <= 180.5 and -90.5 <= miny and maxy <= 90.5):
            if crs is not None:
                return gdf.set_crs(parse_crs(crs, where=where), allow_override=True)
            msg = _E_METRES(
                where=where,
                crs=gdf.crs.to_string(),
                x=_figure(minx if minx < -180.5 else maxx),
                y=_figure(miny if miny < -90.5 else maxy),
                fix=ADVICE_GRID_REAL_CRS(),
            )
            raise CRSError(msg)
    return gdf


def _check_geometry(gdf: gpd.GeoDataFrame, ids: list[str], where: str) -> gpd.GeoSeries:
    """Return 2-D geometries; raise if any feature is not a polygon (None/empty pass)."""
    geoms = gdf.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    # -1 is None; 3 Polygon, 6 MultiPolygon; empty polygons keep their type id.
    bad = [i for i, t in enumerate(types) if t not in (-1, 3, 6) and not shapely.is_empty(geoms[i])]
    if bad:
        shown = [_FEATURE_TYPE(id=ids[i], n=i + 1, type=geoms[i].geom_type) for i in bad[:5]]
        features = listing(shown, more=max(len(bad) - 5, 0))
        template = _E_NOT_POLYGON if len(bad) == 1 else _E_NOT_POLYGONS
        raise InputError(template(where=where, features=features))
    return gpd.GeoSeries(shapely.force_2d(geoms), crs=gdf.crs)


def _canonical(
    gdf: gpd.GeoDataFrame,
    *,
    where: str,
    columns: Mapping[str, str] | None,
    level: str | None,
    crs,
) -> gpd.GeoDataFrame:
    """Turn one source layer into canonical columns (still in its own CRS)."""
    cols = _find_columns(gdf, columns, where)
    required = ["id"] if level else ["id", "level"]
    missing = [c for c in required if c not in cols]
    if missing:
        raise _missing_columns_error(where, gdf, missing)
    gdf = _check_crs(gdf, crs, where)
    ids = [id_text(v) for v in gdf[cols["id"]].tolist()]
    no_id = [i + 1 for i, v in enumerate(ids) if v is None]
    if no_id:
        features = "#" + ", #".join(map(str, no_id[:10]))
        raise InputError(_E_EMPTY_ID(where=where, features=features, column=cols["id"]))
    if level:
        levels = [level] * len(gdf)
    else:
        levels = []
        unknown: dict[str | None, list[str]] = {}
        for fid, raw in zip(ids, gdf[cols["level"]].tolist(), strict=True):
            lv = _LEVEL_LOOKUP.get(_norm(raw)) if id_text(raw) is not None else None
            if lv is None:
                unknown.setdefault(str(raw) if id_text(raw) is not None else None, []).append(fid)
            levels.append(lv or "")
        if unknown:
            shown = [
                _LEVEL_VALUE(
                    value=_EMPTY() if val is None else val, features=", ".join(map(repr, fids[:3]))
                )
                for val, fids in list(unknown.items())[:5]
            ]
            msg = _E_LEVELS(
                where=where,
                column=cols["level"],
                values=listing(shown, semicolons=True),
                allowed=_allowed_levels(),
            )
            raise InputError(msg)
    if "parent_id" in cols:
        parents = [id_text(v) for v in gdf[cols["parent_id"]].tolist()]
    else:
        parents = [None] * len(gdf)
    if "name" in cols:
        names = [
            id_text(n) if id_text(n) is not None else fid
            for n, fid in zip(gdf[cols["name"]].tolist(), ids, strict=True)
        ]
    else:
        names = list(ids)
    geometry = _check_geometry(gdf, ids, where)
    parents = [None if lv == "station" else p for lv, p in zip(levels, parents, strict=True)]
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "level": pd.Series(levels, dtype=object),
            "parent_id": pd.Series(parents, dtype=object),
            "name": pd.Series(names, dtype=object),
        },
        geometry=geometry.values,
        crs=gdf.crs,
    )


def _derive_parents(grid: gpd.GeoDataFrame, where: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Fill missing parent ids: bases get the only station; otherwise largest overlap.

    Returns the new frame and the ids of the features whose parent was derived by overlap.
    """
    grid = grid.copy()
    derived: list[str] = []
    for child, parent in (("base", "station"), ("micro", "base")):
        need = (grid["level"] == child) & grid["parent_id"].isna()
        if not need.any():
            continue
        parents = grid[grid["level"] == parent]
        if child == "base" and len(parents) == 1:
            grid.loc[need, "parent_id"] = parents["id"].iloc[0]
            continue
        if parents.empty or not (grid.geometry.notna() & ~grid.geometry.is_empty).any():
            continue  # nothing to place (the validation says what is wrong)
        mcrs = metric_crs(grid)
        kids = grid[need].to_crs(mcrs)
        pars = parents.to_crs(mcrs)
        kid_geoms = shapely.make_valid(kids.geometry.to_numpy())
        par_geoms = shapely.make_valid(pars.geometry.to_numpy())
        tree = shapely.STRtree(par_geoms)
        ki, pi = tree.query(kid_geoms, predicate="intersects")
        area = shapely.area(shapely.intersection(kid_geoms[ki], par_geoms[pi]))
        best: dict[int, tuple[float, int]] = {}
        for k, p, a in zip(ki.tolist(), pi.tolist(), area.tolist(), strict=True):
            if a > 0 and a > best.get(k, (0.0, -1))[0]:
                best[k] = (a, p)
        for k, (_, p) in best.items():
            row = kids.index[k]
            grid.loc[row, "parent_id"] = pars["id"].iloc[p]
            derived.append(str(grid.loc[row, "id"]))
    if derived:
        shown = ", ".join(
            f"{fid} -> {grid.loc[grid['id'] == fid, 'parent_id'].iloc[0]}" for fid in derived[:5]
        )
        assigned = listing([shown], more=max(len(derived) - 5, 0))
        msg = _W_PARENTS(where=where, n=len(derived), assigned=assigned)
        warnings.warn(msg, GridplanWarning, stacklevel=3)
    return grid, derived


def _finish(parts: list[gpd.GeoDataFrame], where: str) -> gpd.GeoDataFrame:
    frames = [p.to_crs(settings.OUTPUT_CRS) for p in parts if len(p)]
    if not frames:
        raise InputError(_E_NO_FEATURES(where=where))
    grid = pd.concat(frames, ignore_index=True)
    grid = gpd.GeoDataFrame(grid, geometry="geometry", crs=settings.OUTPUT_CRS)
    grid, derived = _derive_parents(grid, where)
    rank = grid["level"].map({lv: i for i, lv in enumerate(GRID_LEVELS)})
    order = np.argsort(rank.to_numpy(), kind="stable")
    grid = grid.iloc[order].reset_index(drop=True)
    grid.attrs["derived_parent_ids"] = tuple(derived)
    grid.attrs["source"] = where
    return grid[list(GRID_COLUMNS)]


def _three_layer_names(layers: list[str]) -> dict[str, str] | None:
    """Return {level: layer} if the file's layers name the three levels, else None."""
    if len(layers) < 2:
        return None
    matched: dict[str, list[str]] = {}
    for name in layers:
        lv = _layer_level(name)
        if lv:
            matched.setdefault(lv, []).append(name)
    if set(matched) >= {"station", "base"} and all(len(v) == 1 for v in matched.values()):
        return {lv: names[0] for lv, names in matched.items()}
    return None


def load_grid(
    path: str | Path | None,
    *,
    layer: str | None = None,
    layers: Mapping[str, str | Path] | None = None,
    crs: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> gpd.GeoDataFrame:
    """Load 1+5+N grid boundaries into the canonical GRID frame (EPSG:4326).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, zipped Shapefile or any GDAL vector file. ``None`` when
        ``layers`` names one file per level.
    layer
        Read this layer of a multi-layer file as convention (a) (one layer, ``level`` column).
    layers
        Convention (b), one layer per level: ``{"station": ..., "base": ..., "micro": ...}``.
        With ``path`` the values are layer names in that file; without, they are file paths.
        ``micro`` may be left out for a 1+5 grid that has no micro-grids yet. A multi-layer
        GeoPackage whose layers are named like station/base/micro (or 辖区/基础网格/微网格) is
        read this way automatically.
    crs
        CRS of files that have none (e.g. a Shapefile without .prj). Ignored when the file
        declares a plausible CRS.
    columns
        Explicit header mapping ``{"id": "GRID_CODE", "level": "TYPE", ...}`` for headers the
        built-in aliases do not recognise.
    limits
        What each file may take (bytes, features, vertices, time); see
        :class:`~gridplan.io.limits.ReadLimits`.

    Returns
    -------
    GeoDataFrame
        Columns ``id``, ``level``, ``parent_id``, ``name``, ``geometry`` in EPSG:4326, rows
        ordered station, bases, micro-grids. ``attrs["derived_parent_ids"]`` lists the grids
        whose parent was derived from overlap (also announced by a GridplanWarning).

    Raises
    ------
    InputError
        If the file is missing, empty, broken or not geodata; a required column is missing; a
        feature is not a polygon; or a level value is unknown.
    CRSError
        If the file has no CRS and ``crs`` is not given.

    Examples
    --------
    >>> grid = load_grid("tests/data/grid_clean.geojson")
    >>> grid["level"].value_counts().to_dict()
    {'micro': 10, 'base': 5, 'station': 1}
    """
    if layers is not None:
        layers = dict(layers)
        unknown = set(layers) - set(GRID_LEVELS)
        if unknown or not {"station", "base"} <= set(layers):
            msg = (
                f"layers={sorted(layers)}: give one layer per level with the keys "
                "'station', 'base' and (optionally) 'micro'"
            )
            raise InputError(msg)
        if path is None:
            sources = [(lv, Path(p), None) for lv, p in layers.items()]
        else:
            sources = [(lv, Path(path), str(name)) for lv, name in layers.items()]
        return _load_layers(sources, crs=crs, columns=columns, limits=limits)
    if path is None:
        msg = "load_grid needs a path, or layers={'station': ..., 'base': ..., 'micro': ...}"
        raise InputError(msg)
    path = Path(path)
    if layer is None:
        names = list_layers(path, limits=limits)
        by_level = _three_layer_names(names)
        if by_level is not None:
            sources = [(lv, path, name) for lv, name in by_level.items()]
            return _load_layers(sources, crs=crs, columns=columns, limits=limits)
        if len(names) > 1:
            if "grid" in names:
                layer = "grid"
            else:
                msg = _E_LAYERS(
                    path=str(path),
                    n=len(names),
                    layers=", ".join(names[:20]),
                    fix=ADVICE_GRID_LAYER(),
                )
                raise InputError(msg)
    where = f"{path}" if layer is None else _IN_LAYER(path=str(path), layer=layer)
    gdf = read_vector(path, layer=layer, limits=limits)
    part = _canonical(gdf, where=where, columns=columns, level=None, crs=crs)
    return _finish([part], where)


def _load_layers(sources, *, crs, columns, limits: ReadLimits) -> gpd.GeoDataFrame:
    parts = []
    for level, path, name in sources:
        where = f"{path}" if name is None else _IN_LAYER(path=str(path), layer=name)
        gdf = read_vector(path, layer=name, limits=limits)
        parts.append(_canonical(gdf, where=where, columns=columns, level=level, crs=crs))
    where = ", ".join(sorted({str(p) for _, p, _ in sources}))
    return _finish(parts, where)


def micro_grids(grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the micro-grid rows of a GRID frame, re-indexed 0..n-1, in grid order.

    Every stage that works per micro-grid (hot spots, patrol stops, patrol problems) starts
    here, so they all check the frame the same way.

    Raises
    ------
    InputError
        If ``grid`` is not a GeoDataFrame with ``id`` and ``level``, has no micro-grids, or
        repeats a micro-grid id.
    CRSError
        If it has no CRS.

    Examples
    --------
    >>> micro_grids(load_grid("tests/data/grid_clean.geojson"))["level"].unique().tolist()
    ['micro']
    """
    if not isinstance(grid, gpd.GeoDataFrame):
        msg = f"grid must be a GeoDataFrame (from gridplan.load_grid), got {type(grid).__name__}"
        raise InputError(msg)
    require_crs(grid, where="grid")
    missing = [c for c in ("id", "level") if c not in grid.columns]
    if missing:
        msg = (
            f"grid lacks column(s) {', '.join(missing)}; load it with gridplan.load_grid so it "
            "has id, level, parent_id, name"
        )
        raise InputError(msg)
    cells = grid[grid["level"] == "micro"]
    if cells.empty:
        levels = sorted(map(str, grid["level"].dropna().unique()))
        msg = _E_NO_MICRO(levels=", ".join(levels) or _NONE(), fix=ADVICE_GENERATE())
        raise InputError(msg)
    ids = cells["id"].astype(str)
    dupes = ids[ids.duplicated()].unique().tolist()
    if dupes:
        msg = f"grid has repeated micro-grid ids {dupes[:5]}; each micro-grid needs its own id"
        raise InputError(msg)
    return cells.reset_index(drop=True)
