"""Validating and repairing 1+5+N grids.

:func:`validate_grid` finds every problem of a GRID frame at once and returns a
:class:`ValidationReport` of :class:`GridIssue` objects, each with a stable ``code``, the
feature it concerns, a message with figures (areas in m2, shares in %) and a one-sentence fix.
:func:`fix_grid` repairs what is safely repairable (invalid rings, sliver overlaps, sliver
overhangs and sliver gaps) and lists each :class:`Repair`; anything larger stays reported.

All areas are computed in the metric CRS (the station's ``crs.metric`` or the local UTM zone).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridplan import settings
from gridplan._errors import InputError
from gridplan._errors import ValidationError
from gridplan._messages import LEVELS
from gridplan._messages import LEVELS_PLURAL
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import require_crs
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config

#: Overlaps, gaps and overhangs smaller than this (1 dm2) are floating-point noise of the
#: boolean operations, far below any digitising precision, and are never reported.
NOISE_AREA_M2 = 0.01

SEVERITIES = ("error", "warning")

_LEVEL_NAMES = {"station": "station", "base": "base grid", "micro": "micro-grid"}
_PARENT_LEVEL = {"base": "station", "micro": "base"}
_REQUIRED = ("id", "level", "parent_id")

# Problems, fixes and repairs as messages (gridplan._messages): English here and in the CLI,
# the user's language in the web UI. Figures (areas, shares) are filled in as text.
_GRID = define("level.grid", N_("grid"))
_GRIDS = define("level.grid.plural", N_("grids"))
_NEAR = define("grid.near", N_(" near %(lon).6f, %(lat).6f"))
_M = {
    "empty": define("grid.empty_geometry", N_("%(what)s %(id)s has no geometry")),
    "empty.fix": define(
        "grid.empty_geometry.fix", N_("draw the boundary of %(id)s or delete the feature")
    ),
    "not_polygon": define("grid.not_polygon", N_("%(what)s %(id)s is a %(type)s, not a polygon")),
    "not_polygon.fix": define(
        "grid.not_polygon.fix", N_("replace the geometry of %(id)s with its area polygon")
    ),
    "no_area": define("grid.no_area", N_("%(what)s %(id)s has no area")),
    "no_area.reason": define("grid.no_area.reason", N_("%(what)s %(id)s has no area (%(reason)s)")),
    "no_area.fix": define(
        "grid.no_area.fix", N_("draw the boundary of %(id)s as a real area or delete the feature")
    ),
    "invalid": define(
        "grid.invalid_geometry", N_("%(what)s %(id)s has an invalid geometry: %(reason)s")
    ),
    "invalid.fix": define(
        "grid.invalid_geometry.fix",
        N_(
            "run validate with --fix (shapely.make_valid) or redraw the ring without crossing "
            "itself"
        ),
    ),
    "unknown_level": define(
        "grid.unknown_level",
        N_("grid %(id)s has level %(level)r; allowed: station, base, micro"),
    ),
    "unknown_level.fix": define(
        "grid.unknown_level.fix", N_("set level to station, base or micro")
    ),
    "missing_id": define("grid.missing_id", N_("%(n)d feature(s) (rows %(rows)s) have no id")),
    "missing_id.fix": define(
        "grid.missing_id.fix", N_("give every grid a unique code such as S01-B3-M017")
    ),
    "duplicate_id": define(
        "grid.duplicate_id", N_("id %(id)s is used by %(n)d features (rows %(rows)s)")
    ),
    "duplicate_id.fix": define(
        "grid.duplicate_id.fix", N_("give each grid its own code, e.g. renumber the later copies")
    ),
    "no_station": define("grid.no_station", N_("the grid has no station (辖区) boundary")),
    "no_station.fix": define(
        "grid.no_station.fix",
        N_("add one feature with level 'station' covering the whole jurisdiction"),
    ),
    "multiple_stations": define(
        "grid.multiple_stations",
        N_("the grid has %(n)d station boundaries (%(ids)s); a 1+5+N grid has one"),
    ),
    "multiple_stations.fix": define(
        "grid.multiple_stations.fix",
        N_("load one station's grid per file, or merge the station polygons into one"),
    ),
    "base_count": define(
        "grid.base_count",
        N_(
            "station %(id)s has %(n)d base grid(s); the 1+5+N rule of this station expects "
            "%(expected)d"
        ),
    ),
    "base_count.grid": define(
        "grid.base_count.grid",
        N_("the grid has %(n)d base grid(s); the 1+5+N rule of this station expects %(expected)d"),
    ),
    "base_count.fix": define(
        "grid.base_count.fix",
        N_(
            "split or merge base grids to make %(expected)d, or set grid.base_count in the "
            "station config"
        ),
    ),
    "no_parent": define("grid.no_parent", N_("%(what)s %(id)s has no parent_id")),
    "unknown_parent": define(
        "grid.unknown_parent",
        N_("%(what)s %(id)s has parent_id %(parent)r, which is not the id of any grid"),
    ),
    "wrong_parent": define(
        "grid.wrong_parent",
        N_("%(what)s %(id)s has parent_id %(parent)r, which is a %(found)s, not a %(want)s"),
    ),
    "parent.fix": define(
        "grid.orphan_parent.fix", N_("set parent_id of %(id)s to the id of the %(want)s it lies in")
    ),
    "outside": define(
        "grid.outside_parent",
        N_(
            "%(what)s %(id)s has %(area)s (%(share)s of its area) outside its %(parent_level)s "
            "%(parent)s%(near)s"
        ),
    ),
    "outside.fix": define(
        "grid.outside_parent.fix",
        N_(
            "redraw %(id)s inside %(parent)s, or set its parent_id to the %(parent_level)s it "
            "lies in"
        ),
    ),
    "sliver_outside.fix": define(
        "grid.sliver_outside.fix",
        N_("run with --fix to clip the overhang, or snap %(id)s to the boundary of %(parent)s"),
    ),
    "overlap": define(
        "grid.overlap",
        N_(
            "%(what)s %(a)s and %(b)s overlap by %(area)s (%(share_a)s of %(a)s, %(share_b)s of "
            "%(b)s)%(near)s"
        ),
    ),
    "overlap.fix": define(
        "grid.overlap.fix",
        N_("redraw the shared boundary of %(a)s and %(b)s so each place belongs to one grid"),
    ),
    "sliver_overlap.fix": define(
        "grid.sliver_overlap.fix",
        N_("run with --fix to give the sliver to one grid, or snap %(a)s and %(b)s together"),
    ),
    "no_children": define(
        "grid.no_children", N_("%(what)s %(id)s has no %(children)s (%(area)s uncovered)")
    ),
    "gap": define(
        "grid.gap",
        N_(
            "%(what)s %(id)s: %(area)s (%(share)s of its area) is not covered by its "
            "%(children)s%(near)s"
        ),
    ),
    "gap.fix": define(
        "grid.gap.fix",
        N_("extend the %(children)s of %(id)s to cover it, or add a %(child)s there"),
    ),
    "sliver_gap.fix": define(
        "grid.sliver_gap.fix",
        N_("run with --fix to give each sliver to its neighbour, or snap the %(children)s"),
    ),
    "no_micro": define("grid.no_micro", N_("the grid has no micro-grids (微网格) yet")),
    "no_micro.fix": define(
        "grid.no_micro.fix",
        N_("generate micro-grids for each base grid, or load a file that has them"),
    ),
    "make_valid": define(
        "grid.repair.make_valid", N_("made valid (%(reason)s): %(parts)d polygon part(s), %(area)s")
    ),
    "make_valid.dropped": define(
        "grid.repair.make_valid.dropped",
        N_(
            "made valid (%(reason)s): %(parts)d polygon part(s), %(area)s; dropped %(dropped)d "
            "zero-area part(s)"
        ),
    ),
    "clip_to_parent": define(
        "grid.repair.clip_to_parent",
        N_("removed %(area)s (%(share)s) lying outside its %(parent_level)s %(parent)s"),
    ),
    "clip_overlap": define(
        "grid.repair.clip_overlap",
        N_("removed the %(area)s it shared with %(other)s, which keeps it"),
    ),
    "fill_gap": define(
        "grid.repair.fill_gap",
        N_("took the %(area)s gap%(near)s in %(what)s %(parent)s (shared boundary %(length).1f m)"),
    ),
}


def _what(level: str, *, plural: bool = False) -> Message:
    """Return the level as a word (``micro-grid``), ``grid`` for an unknown level."""
    if plural:
        return LEVELS_PLURAL[level]() if level in LEVELS_PLURAL else _GRIDS()
    return LEVELS[level]() if level in LEVELS else _GRID()


@dataclasses.dataclass(frozen=True)
class GridIssue:
    """One problem found in a grid.

    Attributes
    ----------
    severity
        ``"error"`` (the grid is not usable as is) or ``"warning"`` (usable; worth a look).
    code
        Short stable identifier such as ``"overlap"`` or ``"sliver_gap"``.
    feature_id
        The grid the issue is about, or None for whole-grid issues (``"no_station"``).
    message
        What is wrong and where, with figures (a :class:`~gridplan._messages.Message`, whose
        text is English, when made by :func:`validate_grid`).
    fix
        How to fix it, one sentence (a message too).
    other_id
        The second grid involved (the other side of an overlap), if any.
    area_m2
        The area concerned (overlap, gap, overhang) in square metres, if any.

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> issue = validate_grid(load_grid("tests/data/grid_bowtie.geojson")).errors[0]
    >>> issue.severity, issue.code, issue.feature_id
    ('error', 'invalid_geometry', 'S01-B1-M001')
    >>> print(issue.to_text())
    ERROR   invalid_geometry  S01-B1-M001: micro-grid S01-B1-M001 has an invalid geometry: ...
    """

    severity: str
    code: str
    feature_id: str | None
    message: str
    fix: str
    other_id: str | None = None
    area_m2: float | None = None

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            msg = f"GridIssue severity {self.severity!r}; use 'error' or 'warning'"
            raise ValueError(msg)

    def to_text(self) -> str:
        """Return the issue as one line: severity, code, feature, message and fix."""
        fid = self.feature_id if self.feature_id is not None else "-"
        return f"{self.severity.upper():<7} {self.code:<17} {fid}: {self.message}. Fix: {self.fix}"

    def to_record(self) -> dict[str, Any]:
        """Return the issue as a JSON-serialisable dict (message and fix as English text)."""
        return {**dataclasses.asdict(self), "message": str(self.message), "fix": str(self.fix)}


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """Every issue found by :func:`validate_grid`.

    Attributes
    ----------
    issues
        All issues, in the order the checks ran.
    counts
        ``(level, number of features)`` pairs of the validated grid.

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> report = validate_grid(load_grid("tests/data/grid_bowtie.geojson"))
    >>> report.ok, [i.code for i in report.errors]
    (False, ['invalid_geometry', 'gap'])
    >>> report.summary()["features"]
    {'station': 1, 'base': 5, 'micro': 10}
    >>> report.raise_for_errors()
    Traceback (most recent call last):
    gridplan._errors.ValidationError: the grid has 2 error(s):
    ...
    """

    issues: tuple[GridIssue, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[GridIssue, ...]:
        """The issues of severity ``"error"``."""
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[GridIssue, ...]:
        """The issues of severity ``"warning"``."""
        return tuple(i for i in self.issues if i.severity == "warning")

    def by_code(self, code: str) -> tuple[GridIssue, ...]:
        """Return the issues with this code."""
        return tuple(i for i in self.issues if i.code == code)

    def summary(self) -> dict[str, Any]:
        """Return counts: ``ok``, ``errors``, ``warnings``, ``codes`` and ``features``."""
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "codes": dict(Counter(i.code for i in self.issues)),
            "features": dict(self.counts),
        }

    def to_text(self) -> str:
        """Return one line per issue, errors first, then warnings."""
        if not self.issues:
            return "OK: no problems found"
        return "\n".join(i.to_text() for i in (*self.errors, *self.warnings))

    def to_records(self) -> list[dict[str, Any]]:
        """Return the issues as JSON-serialisable dicts (errors first)."""
        return [i.to_record() for i in (*self.errors, *self.warnings)]

    def raise_for_errors(self) -> None:
        """Raise :class:`~gridplan.ValidationError` (holding this report) if there are errors."""
        if self.ok:
            return
        errors = self.errors
        shown = "\n".join(i.to_text() for i in errors[:10])
        more = f"\n... and {len(errors) - 10} more" if len(errors) > 10 else ""
        msg = f"the grid has {len(errors)} error(s):\n{shown}{more}"
        raise ValidationError(msg, report=self)

    def __str__(self) -> str:
        return self.to_text()


@dataclasses.dataclass(frozen=True)
class Repair:
    """One change made by :func:`fix_grid`.

    Attributes
    ----------
    feature_id
        The grid whose geometry changed.
    action
        ``"make_valid"``, ``"clip_to_parent"``, ``"clip_overlap"`` or ``"fill_gap"``.
    detail
        What was done, with figures (a :class:`~gridplan._messages.Message` when made by
        :func:`fix_grid`).

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> fixed, repairs = fix_grid(load_grid("tests/data/grid_bowtie.geojson"))
    >>> repairs[0].feature_id, repairs[0].action
    ('S01-B1-M001', 'make_valid')
    """

    feature_id: str
    action: str
    detail: str

    def to_text(self) -> str:
        """Return the repair as one line."""
        return f"{self.action:<15} {self.feature_id}: {self.detail}"

    def to_record(self) -> dict[str, Any]:
        """Return the repair as a JSON-serialisable dict (the detail as English text)."""
        return {**dataclasses.asdict(self), "detail": str(self.detail)}


# --------------------------------------------------------------------------------------------
# shared preparation


@dataclasses.dataclass
class _Grid:
    """The grid as plain arrays in the metric CRS (internal working form)."""

    ids: list[str]
    levels: list[str]
    parents: list[str | None]
    geoms: np.ndarray  # metric, polygonal or None (None = unusable)
    crs: pyproj.CRS
    to_lonlat: pyproj.Transformer
    parent_row: list[int | None]  # row of the parent with the right level, or None

    def where(self, geom) -> Message | str:
        """Return ' near lon, lat' for the largest part of ``geom`` ("" without one)."""
        if geom is None or shapely.is_empty(geom):
            return ""
        parts = shapely.get_parts(geom)
        part = parts[int(np.argmax(shapely.area(parts)))] if len(parts) else geom
        pt = shapely.point_on_surface(part)
        lon, lat = self.to_lonlat.transform(pt.x, pt.y)
        return _NEAR(lon=float(lon), lat=float(lat))


def _check_frame(gdf: gpd.GeoDataFrame) -> None:
    missing = [c for c in _REQUIRED if c not in gdf.columns]
    if missing:
        msg = (
            f"the grid lacks column(s) {', '.join(missing)}; found "
            f"{', '.join(map(str, gdf.columns))}; load it with gridplan.geo.grid.load_grid, "
            "which returns id, level, parent_id, name, geometry"
        )
        raise InputError(msg)
    require_crs(gdf, where="grid")


def _text(value: object) -> str | None:
    if value is None:
        return None
    try:
        if value != value:  # NaN / NA
            return None
    except (TypeError, ValueError):
        return None
    text = str(value).strip()
    return text or None


def _polygonal(geom, min_area: float = NOISE_AREA_M2) -> Any:
    """Return the polygonal parts of ``geom`` with area above ``min_area``, or None."""
    if geom is None or shapely.is_empty(geom):
        return None
    parts = [
        p
        for p in shapely.get_parts(shapely.get_parts(geom))
        if p.geom_type == "Polygon" and p.area > min_area
    ]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return shapely.MultiPolygon(parts)


def _prepare(gdf: gpd.GeoDataFrame, config: StationConfig) -> tuple[_Grid, np.ndarray]:
    """Return the working grid and the raw metric geometries (possibly invalid/None)."""
    present = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    if not config.metric_crs and not present.any():
        # Nothing to measure: every feature is reported as empty; any metric CRS will do.
        mcrs = pyproj.CRS("EPSG:3857")
    else:
        mcrs = metric_crs(gdf, crs=config.metric_crs, source=config.source)
    raw = gdf.geometry.to_crs(mcrs).to_numpy()
    geoms = np.empty(len(raw), dtype=object)
    for i, g in enumerate(raw):
        if g is None or shapely.is_empty(g) or g.geom_type not in ("Polygon", "MultiPolygon"):
            geoms[i] = None
        elif g.is_valid:
            geoms[i] = g if g.area > NOISE_AREA_M2 else None
        else:
            geoms[i] = _polygonal(shapely.make_valid(g))
    ids = [_text(v) or "" for v in gdf["id"]]
    levels = [_text(v) or "" for v in gdf["level"]]
    parents = [_text(v) for v in gdf["parent_id"]]
    first_row: dict[tuple[str, str], int] = {}
    for i, (fid, lv) in enumerate(zip(ids, levels, strict=True)):
        first_row.setdefault((fid, lv), i)
    parent_row = [
        first_row.get((p, _PARENT_LEVEL[lv])) if lv in _PARENT_LEVEL and p else None
        for lv, p in zip(levels, parents, strict=True)
    ]
    to_lonlat = pyproj.Transformer.from_crs(mcrs, settings.OUTPUT_CRS, always_xy=True)
    return _Grid(ids, levels, parents, geoms, mcrs, to_lonlat, parent_row), raw


def _m2(area: float) -> str:
    return f"{area:,.1f} m2"


def _pct(share: float) -> str:
    if 0 < share < 0.0001:
        return "<0.01%"
    return f"{100 * share:.2f}%" if share < 0.1 else f"{100 * share:.1f}%"


# --------------------------------------------------------------------------------------------
# checks


def _check_geometries(gdf: gpd.GeoDataFrame, grid: _Grid) -> Iterable[GridIssue]:
    orig = gdf.geometry.to_numpy()
    for i, g in enumerate(orig):
        fid = grid.ids[i]
        what = _what(grid.levels[i])
        if g is None or shapely.is_empty(g):
            yield GridIssue(
                "error",
                "empty_geometry",
                fid,
                _M["empty"](what=what, id=fid),
                _M["empty.fix"](id=fid),
            )
        elif g.geom_type not in ("Polygon", "MultiPolygon"):
            yield GridIssue(
                "error",
                "not_polygon",
                fid,
                _M["not_polygon"](what=what, id=fid, type=g.geom_type),
                _M["not_polygon.fix"](id=fid),
            )
        elif grid.geoms[i] is None:
            text = (
                _M["no_area"](what=what, id=fid)
                if g.is_valid
                else _M["no_area.reason"](what=what, id=fid, reason=shapely.is_valid_reason(g))
            )
            yield GridIssue("error", "empty_geometry", fid, text, _M["no_area.fix"](id=fid))
        elif not g.is_valid:
            reason = shapely.is_valid_reason(g)
            yield GridIssue(
                "error",
                "invalid_geometry",
                fid,
                _M["invalid"](what=what, id=fid, reason=reason),
                _M["invalid.fix"](),
            )


def _check_ids_and_levels(grid: _Grid) -> Iterable[GridIssue]:
    for i, lv in enumerate(grid.levels):
        if lv not in _LEVEL_NAMES:
            yield GridIssue(
                "error",
                "unknown_level",
                grid.ids[i],
                _M["unknown_level"](id=grid.ids[i], level=lv),
                _M["unknown_level.fix"](),
            )
    rows: dict[str, list[int]] = {}
    for i, fid in enumerate(grid.ids):
        rows.setdefault(fid, []).append(i)
    for fid, where in rows.items():
        rows_text = ", ".join(str(r + 1) for r in where[:10])
        if not fid:
            yield GridIssue(
                "error",
                "missing_id",
                None,
                _M["missing_id"](n=len(where), rows=rows_text),
                _M["missing_id.fix"](),
            )
        elif len(where) > 1:
            yield GridIssue(
                "error",
                "duplicate_id",
                fid,
                _M["duplicate_id"](id=fid, n=len(where), rows=rows_text),
                _M["duplicate_id.fix"](),
            )


def _check_stations(grid: _Grid, config: StationConfig) -> Iterable[GridIssue]:
    stations = [i for i, lv in enumerate(grid.levels) if lv == "station"]
    bases = [i for i, lv in enumerate(grid.levels) if lv == "base"]
    if not stations:
        yield GridIssue(
            "error",
            "no_station",
            None,
            _M["no_station"](),
            _M["no_station.fix"](),
        )
    elif len(stations) > 1:
        yield GridIssue(
            "error",
            "multiple_stations",
            grid.ids[stations[1]],
            _M["multiple_stations"](
                n=len(stations), ids=", ".join(grid.ids[i] for i in stations[:5])
            ),
            _M["multiple_stations.fix"](),
        )
    expected = config.base_grid_count
    if len(stations) <= 1:
        groups = [(grid.ids[stations[0]] if stations else None, bases)]
    else:
        groups = [(grid.ids[s], [b for b in bases if grid.parent_row[b] == s]) for s in stations]
    for sid, members in groups:
        if len(members) != expected:
            n = len(members)
            text = (
                _M["base_count"](id=sid, n=n, expected=expected)
                if sid
                else _M["base_count.grid"](n=n, expected=expected)
            )
            yield GridIssue(
                "error", "base_count", sid, text, _M["base_count.fix"](expected=expected)
            )


def _check_parents(grid: _Grid) -> Iterable[GridIssue]:
    levels_of: dict[str, set[str]] = {}
    for fid, lv in zip(grid.ids, grid.levels, strict=True):
        levels_of.setdefault(fid, set()).add(lv)
    for i, lv in enumerate(grid.levels):
        if lv not in _PARENT_LEVEL or grid.parent_row[i] is not None:
            continue
        fid, parent = grid.ids[i], grid.parents[i]
        what, want = _what(lv), _what(_PARENT_LEVEL[lv])
        if parent is None:
            text = _M["no_parent"](what=what, id=fid)
        elif parent not in levels_of:
            text = _M["unknown_parent"](what=what, id=fid, parent=parent)
        else:
            kinds = levels_of[parent]
            found = (
                _what(next(iter(kinds)))
                if len(kinds) == 1
                else "/".join(sorted(_LEVEL_NAMES.get(x, x) for x in kinds))
            )
            text = _M["wrong_parent"](what=what, id=fid, parent=parent, found=found, want=want)
        yield GridIssue("error", "orphan_parent", fid, text, _M["parent.fix"](id=fid, want=want))


def _check_outside(grid: _Grid, config: StationConfig) -> Iterable[GridIssue]:
    rows = [
        i
        for i, p in enumerate(grid.parent_row)
        if p is not None and grid.geoms[i] is not None and grid.geoms[p] is not None
    ]
    if not rows:
        return
    kids = grid.geoms[rows]
    pars = grid.geoms[[grid.parent_row[i] for i in rows]]
    outside = shapely.difference(kids, pars)
    out_area = shapely.area(outside)
    share = out_area / shapely.area(kids)
    sliver = max(config.sliver_area_m2, NOISE_AREA_M2)
    for k in np.flatnonzero((share > config.area_tolerance) | (out_area > sliver)):
        i = rows[k]
        fid, pid = grid.ids[i], grid.parents[i]
        what = _what(grid.levels[i])
        pname = _what(_PARENT_LEVEL[grid.levels[i]])
        text = _M["outside"](
            what=what,
            id=fid,
            area=_m2(out_area[k]),
            share=_pct(share[k]),
            parent_level=pname,
            parent=pid,
            near=grid.where(outside[k]),
        )
        if share[k] > config.area_tolerance:
            severity, code = "error", "outside_parent"
            fix = _M["outside.fix"](id=fid, parent=pid, parent_level=pname)
        else:
            severity, code = "warning", "sliver_outside"
            fix = _M["sliver_outside.fix"](id=fid, parent=pid)
        yield GridIssue(severity, code, fid, text, fix, other_id=pid, area_m2=float(out_area[k]))


def _sibling_pairs(grid: _Grid) -> tuple[np.ndarray, np.ndarray]:
    """Return index pairs (i < j) of same-level grids whose geometries intersect."""
    usable = np.flatnonzero([g is not None for g in grid.geoms])
    if len(usable) < 2:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    geoms = grid.geoms[usable]
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    levels = np.asarray(grid.levels, dtype=object)[usable]
    keep = (a < b) & (levels[a] == levels[b])
    return usable[a[keep]], usable[b[keep]]


def _overlaps(grid: _Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (i, j, intersection geometry, area) of same-level overlaps above noise."""
    i, j = _sibling_pairs(grid)
    if not len(i):
        return i, j, np.empty(0, dtype=object), np.empty(0)
    # Neighbours in a tessellation only touch; skip them before the costlier intersection.
    real = ~shapely.touches(grid.geoms[i], grid.geoms[j])
    i, j = i[real], j[real]
    inter = shapely.intersection(grid.geoms[i], grid.geoms[j])
    area = shapely.area(inter)
    keep = area > NOISE_AREA_M2
    return i[keep], j[keep], inter[keep], area[keep]


def _check_overlaps(grid: _Grid, config: StationConfig) -> Iterable[GridIssue]:
    i, j, inter, area = _overlaps(grid)
    areas = shapely.area(grid.geoms[i]), shapely.area(grid.geoms[j])
    for k in range(len(i)):
        a, b = grid.ids[i[k]], grid.ids[j[k]]
        text = _M["overlap"](
            what=_what(grid.levels[i[k]], plural=True),
            a=a,
            b=b,
            area=_m2(area[k]),
            share_a=_pct(area[k] / areas[0][k]),
            share_b=_pct(area[k] / areas[1][k]),
            near=grid.where(inter[k]),
        )
        if area[k] > config.sliver_area_m2:
            severity, code = "error", "overlap"
            fix = _M["overlap.fix"](a=a, b=b)
        else:
            severity, code = "warning", "sliver_overlap"
            fix = _M["sliver_overlap.fix"](a=a, b=b)
        yield GridIssue(severity, code, a, text, fix, other_id=b, area_m2=float(area[k]))


def _children(grid: _Grid) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for i, p in enumerate(grid.parent_row):
        if p is not None and grid.geoms[i] is not None:
            kids.setdefault(p, []).append(i)
    return kids


def _gaps(grid: _Grid, parent: int, kids: list[int]) -> Any:
    """Return the part of ``parent`` not covered by ``kids`` (polygonal or None)."""
    cover = shapely.union_all(grid.geoms[kids]) if kids else None
    if cover is None:
        return grid.geoms[parent]
    return _polygonal(shapely.difference(grid.geoms[parent], cover))


def _check_gaps(grid: _Grid, config: StationConfig) -> Iterable[GridIssue]:
    has_micro = "micro" in grid.levels
    kids = _children(grid)
    sliver = max(config.sliver_area_m2, NOISE_AREA_M2)
    for p, lv in enumerate(grid.levels):
        if grid.geoms[p] is None or lv not in ("station", "base"):
            continue
        if lv == "base" and not has_micro:
            continue
        members = kids.get(p, [])
        if lv == "station" and not members:
            continue  # reported as base_count / orphan_parent already
        gap = _gaps(grid, p, members)
        area = 0.0 if gap is None else float(gap.area)
        share = area / grid.geoms[p].area
        if share <= config.area_tolerance and area <= sliver:
            continue
        fid = grid.ids[p]
        child_level = "base" if lv == "station" else "micro"
        children = _what(child_level, plural=True)
        if not members:
            text = _M["no_children"](what=_what(lv), id=fid, children=children, area=_m2(area))
        else:
            text = _M["gap"](
                what=_what(lv),
                id=fid,
                area=_m2(area),
                share=_pct(share),
                children=children,
                near=grid.where(gap),
            )
        if share > config.area_tolerance:
            fix = _M["gap.fix"](children=children, id=fid, child=_what(child_level))
            yield GridIssue("error", "gap", fid, text, fix, area_m2=area)
        else:
            fix = _M["sliver_gap.fix"](children=children)
            yield GridIssue("warning", "sliver_gap", fid, text, fix, area_m2=area)
    if not has_micro and "base" in grid.levels:
        yield GridIssue(
            "warning",
            "no_micro",
            None,
            _M["no_micro"](),
            _M["no_micro.fix"](),
        )


def validate_grid(
    gdf: gpd.GeoDataFrame,
    *,
    config: StationConfig | None = None,
    progress: ProgressCallback | None = None,
) -> ValidationReport:
    """Check a 1+5+N grid and report every problem at once.

    Checks: empty, non-polygon and invalid geometries (with shapely's reason); missing and
    duplicate ids; unknown levels; no or several stations; the base-grid count
    (``config.base_grid_count``); orphan parents (missing, or of the wrong level); children
    outside their parent; overlaps between grids of one level; gaps (station area not covered
    by base grids, base area not covered by micro-grids). Overhangs and gaps above
    ``config.area_tolerance`` of the area are errors, smaller ones above
    ``config.sliver_area_m2`` warnings; overlaps above ``sliver_area_m2`` are errors, smaller
    ones warnings.

    Parameters
    ----------
    gdf
        A GRID frame (``id``, ``level``, ``parent_id``, ``geometry``) in any CRS.
    config
        Station config for the tolerances and the metric CRS; defaults if None.
    progress
        Optional callback ``progress(stage, done, total)``.

    Returns
    -------
    ValidationReport
        ``report.ok`` is False when there is any error; ``report.to_text()`` prints it.

    Raises
    ------
    InputError
        If the frame lacks the id, level or parent_id column.
    CRSError
        If the frame has no CRS.

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> report = validate_grid(load_grid("tests/data/grid_clean.geojson"))
    >>> report.ok, report.summary()["errors"]
    (True, 0)
    """
    config = config or default_config()
    _check_frame(gdf)
    grid, _ = _prepare(gdf, config)
    stages = (
        ("geometry", lambda: _check_geometries(gdf, grid)),
        ("ids", lambda: _check_ids_and_levels(grid)),
        ("stations", lambda: _check_stations(grid, config)),
        ("parents", lambda: _check_parents(grid)),
        ("outside", lambda: _check_outside(grid, config)),
        ("overlaps", lambda: _check_overlaps(grid, config)),
        ("gaps", lambda: _check_gaps(grid, config)),
    )
    issues: list[GridIssue] = []
    for done, (stage, check) in enumerate(stages):
        report(progress, f"validate: {stage}", done, len(stages))
        issues.extend(check())
    report(progress, "validate", len(stages), len(stages))
    counts = tuple((lv, grid.levels.count(lv)) for lv in ("station", "base", "micro"))
    return ValidationReport(issues=tuple(issues), counts=counts)


# --------------------------------------------------------------------------------------------
# repairs


def _fix_invalid(
    gdf: gpd.GeoDataFrame, grid: _Grid, raw: np.ndarray, changed: set[int]
) -> list[Repair]:
    repairs = []
    orig = gdf.geometry.to_numpy()
    for i, g in enumerate(raw):
        if g is None or shapely.is_empty(g) or g.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        if g.is_valid and orig[i].is_valid:
            continue
        reason = shapely.is_valid_reason(orig[i] if not orig[i].is_valid else g)
        fixed = grid.geoms[i]  # _prepare already made it valid, polygonal parts only
        if fixed is None:
            continue  # nothing polygonal left: leave it reported, never drop the feature
        if g.is_valid:  # invalid only in the source CRS: repair there too
            fixed = grid.geoms[i] = _polygonal(shapely.make_valid(g)) or g
        changed.add(i)
        made = shapely.make_valid(g)
        dropped = len(shapely.get_parts(shapely.get_parts(made))) - len(shapely.get_parts(fixed))
        figures = {
            "reason": reason,
            "parts": len(shapely.get_parts(fixed)),
            "area": _m2(fixed.area),
        }
        if dropped > 0:
            detail = _M["make_valid.dropped"](**figures, dropped=dropped)
        else:
            detail = _M["make_valid"](**figures)
        repairs.append(Repair(grid.ids[i], "make_valid", detail))
    return repairs


def _fix_outside(grid: _Grid, config: StationConfig, changed: set[int]) -> list[Repair]:
    repairs = []
    sliver = max(config.sliver_area_m2, NOISE_AREA_M2)
    for level in ("base", "micro"):
        for i, p in enumerate(grid.parent_row):
            if grid.levels[i] != level or p is None:
                continue
            kid, par = grid.geoms[i], grid.geoms[p]
            if kid is None or par is None:
                continue
            out_area = shapely.difference(kid, par).area
            # Only what validate_grid reports as a sliver overhang: smaller overhangs are
            # accepted noise (often just map-projection curvature of long edges), larger ones
            # need a human.
            if out_area <= sliver or out_area / kid.area > config.area_tolerance:
                continue
            clipped = _polygonal(shapely.intersection(kid, par))
            if clipped is None:
                continue
            grid.geoms[i] = clipped
            changed.add(i)
            detail = _M["clip_to_parent"](
                area=_m2(out_area),
                share=_pct(out_area / kid.area),
                parent_level=_what(_PARENT_LEVEL[level]),
                parent=grid.parents[i],
            )
            repairs.append(Repair(grid.ids[i], "clip_to_parent", detail))
    return repairs


def _fix_overlaps(grid: _Grid, config: StationConfig, changed: set[int]) -> list[Repair]:
    repairs = []
    i_s, j_s, _, areas = _overlaps(grid)
    for i, j, first_area in zip(i_s, j_s, areas, strict=True):
        if first_area > config.sliver_area_m2:
            continue
        gi, gj = grid.geoms[i], grid.geoms[j]
        area = shapely.intersection(gi, gj).area  # geometries may have changed since
        if area <= NOISE_AREA_M2:
            continue
        # The overlap stays with the grid of which it is the larger share, so the relative
        # change of either grid is as small as possible.
        keep, lose = (i, j) if area / gi.area >= area / gj.area else (j, i)
        clipped = _polygonal(shapely.difference(grid.geoms[lose], grid.geoms[keep]))
        if clipped is None:
            continue
        grid.geoms[lose] = clipped
        changed.add(int(lose))
        repairs.append(
            Repair(
                grid.ids[lose],
                "clip_overlap",
                _M["clip_overlap"](area=_m2(area), other=grid.ids[keep]),
            )
        )
    return repairs


def _fill_gaps(grid: _Grid, config: StationConfig, changed: set[int]) -> list[Repair]:
    repairs = []
    sliver = max(config.sliver_area_m2, NOISE_AREA_M2)
    for level in ("station", "base"):
        kids = _children(grid)
        for p, lv in enumerate(grid.levels):
            members = kids.get(p, [])
            if lv != level or grid.geoms[p] is None or not members:
                continue
            gap = _gaps(grid, p, members)
            # Only what validate_grid reports as a sliver gap; a larger gap needs a human.
            if (
                gap is None
                or gap.area <= sliver
                or gap.area / grid.geoms[p].area > config.area_tolerance
            ):
                continue
            for piece in shapely.get_parts(gap):
                best, best_len = None, 0.0
                edge = piece.boundary
                near = np.asarray(members)[shapely.dwithin(grid.geoms[members], piece, 1e-3)]
                for k in near.tolist():
                    shared = shapely.intersection(edge, shapely.buffer(grid.geoms[k], 1e-3))
                    if shared.length > best_len:
                        best, best_len = k, shared.length
                if best is None:
                    continue
                merged = _polygonal(shapely.make_valid(shapely.union(grid.geoms[best], piece)))
                if merged is None:
                    continue
                grid.geoms[best] = merged
                changed.add(best)
                repairs.append(
                    Repair(
                        grid.ids[best],
                        "fill_gap",
                        _M["fill_gap"](
                            area=_m2(piece.area),
                            near=grid.where(piece),
                            what=_what(lv),
                            parent=grid.ids[p],
                            length=float(best_len),
                        ),
                    )
                )
    return repairs


def fix_grid(
    gdf: gpd.GeoDataFrame,
    *,
    config: StationConfig | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[gpd.GeoDataFrame, tuple[Repair, ...]]:
    """Repair what is safely repairable in a grid and list each repair.

    In order: invalid geometries are made valid (``shapely.make_valid``, polygonal parts only,
    zero-area parts dropped); a child's overhang outside its parent is clipped when it is at
    most ``config.area_tolerance`` of the child's area; overlaps between grids of one level of
    at most ``config.sliver_area_m2`` are removed from the grid of which they are the smaller
    share; gaps in a parent's cover are given to the child with the longest shared boundary
    when the whole gap is within ``area_tolerance`` or the piece is at most ``sliver_area_m2``.
    Anything larger is left for :func:`validate_grid` to report. No feature is ever dropped
    and features that need no repair keep their exact coordinates.

    Parameters
    ----------
    gdf
        A GRID frame in any CRS; not modified.
    config
        Station config for the tolerances and the metric CRS; defaults if None.
    progress
        Optional callback ``progress(stage, done, total)``.

    Returns
    -------
    tuple[GeoDataFrame, tuple[Repair, ...]]
        The repaired grid in EPSG:4326 and the repairs made (empty if none were needed).

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> fixed, repairs = fix_grid(load_grid("tests/data/grid_bowtie.geojson"))
    >>> [r.action for r in repairs]
    ['make_valid']
    """
    config = config or default_config()
    _check_frame(gdf)
    grid, raw = _prepare(gdf, config)
    changed: set[int] = set()
    report(progress, "fix: invalid geometry", 0, 4)
    repairs = _fix_invalid(gdf, grid, raw, changed)
    report(progress, "fix: overhangs", 1, 4)
    repairs += _fix_outside(grid, config, changed)
    report(progress, "fix: overlaps", 2, 4)
    repairs += _fix_overlaps(grid, config, changed)
    report(progress, "fix: gaps", 3, 4)
    repairs += _fill_gaps(grid, config, changed)
    report(progress, "fix", 4, 4)
    out = gdf.to_crs(settings.OUTPUT_CRS)
    rows = sorted(i for i in changed if grid.geoms[i] is not None)
    if rows:
        back = gpd.GeoSeries(grid.geoms[rows], crs=grid.crs).to_crs(settings.OUTPUT_CRS)
        back = back.to_numpy()
        # Reprojection can make a freshly clipped, nearly collinear ring cross itself.
        for k in np.flatnonzero(~shapely.is_valid(back)):
            back[k] = _polygonal(shapely.make_valid(back[k]), min_area=0.0) or back[k]
        geom = out.geometry.to_numpy().copy()
        geom[rows] = back
        out[out.geometry.name] = gpd.GeoSeries(geom, index=out.index, crs=settings.OUTPUT_CRS)
    return out, tuple(repairs)


def changed_area_m2(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    *,
    config: StationConfig | None = None,
) -> dict[str, float]:
    """Return the area each repaired feature gained or lost, in m2, per feature id.

    ``after`` is the result of :func:`fix_grid` on ``before`` (same rows, same order). The
    area is that of the symmetric difference in the metric CRS, with an invalid ``before``
    geometry first made valid (making a ring valid alone changes no area). Features whose
    geometry did not change (beyond a micrometre of reprojection) are left out.

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> grid = load_grid("tests/data/grid_bowtie.geojson")
    >>> fixed, _ = fix_grid(grid)
    >>> {k: round(v, 1) for k, v in changed_area_m2(grid, fixed).items()}
    {'S01-B1-M001': 0.0}
    """
    config = config or default_config()
    if len(before) != len(after):
        msg = (
            f"changed_area_m2: the grids have {len(before)} and {len(after)} features; pass a "
            "grid and the result of fix_grid on it"
        )
        raise InputError(msg)
    mcrs = metric_crs(before, crs=config.metric_crs)
    old = before.geometry.to_crs(mcrs).to_numpy()
    new = after.geometry.to_crs(mcrs).to_numpy()
    out: dict[str, float] = {}
    for fid, a, b in zip(before["id"], old, new, strict=True):
        # a micrometre: what two reprojections leave of an unchanged vertex
        if a is None or b is None or shapely.equals_exact(a, b, tolerance=1e-6):
            continue
        a = a if a.is_valid else shapely.make_valid(a)
        out[str(fid)] = float(shapely.symmetric_difference(a, b).area)
    return out
