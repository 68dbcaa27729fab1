"""Printable route sheets: one A4 page per patroller (or team) and slice, as HTML and PDF.

A team lead prints a sheet before the shift: the station, date, plan version, slice and team;
a map of the route; a table of the stops (order, micro-grid, nearest street, arrival, dwell,
departure, a check box and a ruled cell for notes); the totals and the station's phone number.
A sheet is one page wherever its stops fit beside a readable map (compact rows if need be,
see :func:`sheet_layout`); a longer route prints its rows, then a page that is all map. The
map is scaled to the route, and its numbered stop markers never cover each other. A sheet of
a superseded plan version says so at the top of every page.

:func:`route_sheets` turns a :class:`~gridplan.routing.plan.PatrolPlan` into
:class:`RouteSheet` values (times already formatted in the station timezone, the map already
drawn by :func:`route_map_svg`); :func:`render_sheets_html` renders them with the template
``sheets/sheets.html`` outside Flask (the web UI renders the same template with its own
Jinja environment and :func:`sheets_context`); :func:`render_pdf` makes the PDF with
WeasyPrint. Everything here works offline: no tiles, fonts or scripts are fetched; the print
CSS is inlined, so a saved HTML file or the PDF needs nothing else.

Nothing here imports Flask.
"""

from __future__ import annotations

import dataclasses
import gettext
import html
import math
import unicodedata
import zoneinfo
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING
from typing import Any

import numpy as np
import pyproj

from gridplan._errors import GridplanError
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import define

if TYPE_CHECKING:
    import geopandas as gpd
    import jinja2

    from gridplan.routing.plan import PatrolPlan
    from gridplan.routing.plan import PatrolRoute
    from gridplan.station.roster import Patroller

#: Printable area of an A4 page (210 x 297 mm less the @page margins of sheets.css).
PAGE_MM = (186.0, 277.0)
#: A one-page sheet keeps its map at least this tall; when the stop table leaves less room
#: (even with compact rows), the table gets the page and the map a page of its own after it.
MIN_MAP_MM = 70.0
#: Marker radius of a stop on the map (a 5.2 mm disc, its number in 8.5 pt bold).
STOP_RADIUS_MM = 2.6

TEMPLATE = "sheets/sheets.html"
#: The HTML ``lang`` of each UI language (it also picks the CJK glyph variants in the PDF).
HTML_LANG = {"zh": "zh-CN", "zh_CN": "zh-CN", "zh-CN": "zh-CN", "en": "en"}

_PDF_INSTALL = (
    "pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"
)


@dataclasses.dataclass(frozen=True)
class SheetRow:
    """One stop line of a route sheet.

    Attributes
    ----------
    order
        1-based position on the route.
    micro_id, name, base_id
        Micro-grid code, its name and its base grid.
    street
        Nearest street name ("" when unknown).
    arrival, departure
        ``HH:MM`` in the station timezone.
    dwell_min
        Minutes of presence.
    risk_class
        ``top``, ``high`` or ``other``.
    visit
        Visit number of this micro-grid in the slice (1 = first).
    """

    order: int
    micro_id: str
    name: str
    base_id: str
    street: str
    arrival: str
    dwell_min: float
    departure: str
    risk_class: str = ""
    visit: int = 1


@dataclasses.dataclass(frozen=True)
class SheetPage:
    """One printed page of a route sheet.

    Attributes
    ----------
    rows
        The stop rows printed on the page (none on a map page).
    map
        Whether the route map is on the page: above the rows, or alone on a map page.
    """

    rows: tuple[SheetRow, ...]
    map: bool


@dataclasses.dataclass(frozen=True)
class SheetLayout:
    """How a route sheet fills A4 pages (see :func:`sheet_layout`).

    Attributes
    ----------
    pages
        The printed pages in order: one page with the map above all the rows wherever they
        fit; else the rows on one or more pages, then a map page.
    density
        ``normal``, or ``compact`` (smaller rows) when that keeps the sheet on one page.
    map_mm
        Width and height of the map.
    """

    pages: tuple[SheetPage, ...]
    density: str
    map_mm: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class RouteSheet:
    """Everything printed on the sheet(s) of one route: header, map, stop rows and totals.

    Attributes
    ----------
    station_name, station_phone
        From the plan and the station config ("" when no phone is configured).
    date
        The plan date, ISO ``YYYY-MM-DD``.
    slice_id, slice_label
        The slice and its label (e.g. ``早间 Morning 06:00-10:00``).
    patroller_id, name, role, mode
        From the roster (role and mode are codes, see :mod:`gridplan.station.roster`).
    members
        People in the team, ``None`` when the roster was not given.
    part
        1, or 2, 3, ... for a route after a break in the same slice.
    start, end
        Leaving and coming back, ``HH:MM`` in the station timezone.
    rows
        One :class:`SheetRow` per stop, in route order.
    total_stops, total_dwell_min, distance_km, duration_min
        Totals of the route.
    map_svg
        The route map, an SVG document (see :func:`route_map_svg`) of ``layout.map_mm``.
    layout
        The pages, row density and map size (see :func:`sheet_layout`).
    version
        The plan's version number for its date, printed beside the date (``None``: not known).
    superseded_by
        The current version of the date when this plan is an earlier one: every page then
        says "Superseded by vN - do not use".
    """

    station_name: str
    station_phone: str
    date: str
    slice_id: str
    slice_label: str
    patroller_id: str
    name: str
    role: str
    mode: str
    members: int | None
    part: int
    start: str
    end: str
    rows: tuple[SheetRow, ...]
    total_stops: int
    total_dwell_min: float
    distance_km: float
    duration_min: float
    map_svg: str
    layout: SheetLayout
    version: int | None = None
    superseded_by: int | None = None

    @property
    def pages(self) -> tuple[SheetPage, ...]:
        """The printed pages (see :class:`SheetLayout`)."""
        return self.layout.pages


# Heights of the fixed parts of a page in sheets.css, in mm (measured with WeasyPrint and
# Noto Sans CJK, rounded up): the header with one-line team and slice, the "superseded"
# banner, the map's legend, the table head, the totals, a "continued" line and the footer.
_HEAD_MM, _BANNER_MM, _LEGEND_MM, _THEAD_MM = 30.0, 13.0, 7.5, 9.5
_TOTALS_MM, _CONTINUED_MM, _FOOT_MM, _SLACK_MM = 16.0, 7.0, 11.0, 3.0

# Row geometry of table.stops in sheets.css: text widths, line height (1.15 in the CSS;
# measured rows come out at 1.15 x the font size per line with Noto Sans CJK), and per
# density the least row height, cell padding and borders, and the font sizes (pt).
_PT_MM = 25.4 / 72
_GRID_TEXT_MM = 44.0 - 2.4
_STREET_TEXT_MM = 38.0 - 2.4
_LINE = 1.18
_TOP_BADGE_MM = 0.5  # the boxed "Top" mark makes its line a little taller
_DENSITY = {
    # name: (least row height, padding and borders, code, name and street pt)
    "normal": (8.0, 1.9, 8.0, 8.0, 8.5),
    "compact": (6.4, 1.3, 7.0, 7.0, 7.5),
}
_HEAD_PT, _TEAM_TEXT_MM, _SLICE_TEXT_MM = 11.0, 186.0 - 19.0, 186.0 - 19.0 - 40.0 - 19.0
# the title (15 pt, line height 1.3) beside the page number; the English title is the longer
_TITLE_PT, _TITLE_TEXT_MM, _TITLE = 15.0, 186.0 - 24.0, " · Patrol route sheet"


def _text_lines(text: str, size_pt: float, width_mm: float) -> int:
    """Lines ``text`` takes in a column, erring long (CJK 1 em, other characters 0.62 em)."""
    if not text:
        return 0
    ems = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.62 for c in text)
    # wrapping at word ends wastes part of each line
    return max(1, math.ceil(ems * size_pt * _PT_MM * 1.1 / width_mm))


def _row_height_mm(row: SheetRow, density: str = "normal") -> float:
    """Estimated printed height of a stop row (see sheets.css)."""
    least, pad, code_pt, name_pt, street_pt = _DENSITY[density]
    top = row.risk_class == "top"
    code = row.micro_id + (" Top" if top else "")
    grid_mm = _text_lines(code, code_pt, _GRID_TEXT_MM) * code_pt * _LINE * _PT_MM
    grid_mm += _TOP_BADGE_MM if top else 0.0
    if row.name and row.name != row.micro_id:
        grid_mm += _text_lines(row.name, name_pt, _GRID_TEXT_MM) * name_pt * _LINE * _PT_MM
    street_mm = _text_lines(row.street, street_pt, _STREET_TEXT_MM) * street_pt * _LINE * _PT_MM
    return max(least, max(grid_mm, street_mm) + pad)


def _header_mm(station: str, team: str, slice_label: str, *, banner: bool) -> float:
    """Height of a page's header: long station names, team names and slice labels wrap."""
    title = _text_lines(station + _TITLE, _TITLE_PT, _TITLE_TEXT_MM) - 1
    extra = _text_lines(team, _HEAD_PT, _TEAM_TEXT_MM) - 1
    extra += _text_lines(slice_label, _HEAD_PT, _SLICE_TEXT_MM) - 1
    return (
        _HEAD_MM
        + title * _TITLE_PT * 1.3 * _PT_MM
        + extra * _HEAD_PT * _LINE * _PT_MM
        + (_BANNER_MM if banner else 0.0)
    )


def sheet_layout(
    rows: Sequence[SheetRow], *, header_mm: float = _HEAD_MM, map_aspect: float = 1.0
) -> SheetLayout:
    """Lay a route sheet out on A4 pages.

    One page with the map above the stop table wherever the rows leave the map at least
    :data:`MIN_MAP_MM`, with normal rows or else compact ones; the map is as tall as the
    route's shape needs at the page width, up to the room left. A longer route prints its
    rows on one or more pages and the map on a page of its own after them, as large as the
    page allows.

    Parameters
    ----------
    rows
        The stop rows, whose printed heights are estimated from their text.
    header_mm
        Height of each page's header (see sheets.css).
    map_aspect
        Height / width of the route's extent (its map then fills the width).

    Returns
    -------
    SheetLayout
    """
    width, height = PAGE_MM
    fixed = header_mm + _THEAD_MM + _TOTALS_MM + _FOOT_MM + _SLACK_MM
    for density in _DENSITY:
        room = height - fixed - _LEGEND_MM - sum(_row_height_mm(r, density) for r in rows)
        if room >= MIN_MAP_MM:
            needed = _MAP_FRAME_MM[0] + _MAP_FRAME_MM[1] + map_aspect * (width - 2 * _MAP_SIDE_MM)
            map_h = round(min(room, max(MIN_MAP_MM, needed)), 1)
            return SheetLayout((SheetPage(tuple(rows), True),), density, (width, map_h))
    pages: list[SheetPage] = []
    page: list[SheetRow] = []
    used = 0.0
    for row in rows:
        budget = height - fixed - (_CONTINUED_MM if pages else 0.0)
        h = _row_height_mm(row)
        if page and used + h > budget:
            pages.append(SheetPage(tuple(page), False))
            page, used = [], 0.0
        page.append(row)
        used += h
    pages.append(SheetPage(tuple(page), False))
    map_h = round(height - header_mm - _LEGEND_MM - _FOOT_MM - _SLACK_MM, 1)
    return SheetLayout((*pages, SheetPage((), True)), "normal", (width, map_h))


def _hhmm(t, tz: zoneinfo.ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%H:%M")


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


_UNKNOWN = {
    "slice": define(
        "sheets.unknown_slice",
        N_("unknown slice %(bad)s; this plan has %(valid)s; pick one of those slice ids"),
    ),
    "patroller": define(
        "sheets.unknown_patroller",
        N_("unknown patroller %(bad)s; this plan has %(valid)s; pick one of those patroller ids"),
    ),
}


def _unknown(what: str, bad: Iterable[str], valid: Iterable[str]) -> InputError:
    valid = list(valid)
    shown = ", ".join(repr(b) for b in bad)
    return InputError(_UNKNOWN[what](bad=shown, valid=", ".join(valid) if valid else "none"))


def route_sheets(
    plan: PatrolPlan,
    *,
    station_phone: str = "",
    slice_labels: Mapping[str, str] | None = None,
    patroller: str | None = None,
    slices: Sequence[str] | None = None,
    roster: Sequence[Patroller] = (),
    grid: gpd.GeoDataFrame | None = None,
    version: int | None = None,
    superseded_by: int | None = None,
) -> list[RouteSheet]:
    """Return one :class:`RouteSheet` per deployed route of ``plan``.

    Parameters
    ----------
    plan
        The patrol plan (made by :func:`~gridplan.routing.planner.plan_patrols` or read with
        :func:`~gridplan.io.planfile.load_plan`).
    station_phone
        Printed on every sheet (the station config's ``station.phone``).
    slice_labels
        Slice id -> label to print instead of the plan's (e.g. a label in the UI language).
    patroller
        Only this patroller's (or team's) sheets.
    slices
        Only these slices.
    roster
        The station roster, for the number of members of each team (left out when empty).
    grid
        The 1+5+N grid; when given, the maps outline the micro-grids and base grids around
        the route and shade those it visits.
    version
        The plan's version number for its date, printed beside the date.
    superseded_by
        The newer version that replaces this plan, if any: every page then says it is
        superseded and must not be used.

    Returns
    -------
    list of RouteSheet
        Ordered by slice start, then patroller id, then part. Routes without stops are left out.

    Raises
    ------
    InputError
        If ``patroller`` or a slice id is not in the plan; the message lists the valid ones.

    Examples
    --------
    >>> sheets = route_sheets(plan, station_phone=cfg.phone, patroller="V1")  # doctest: +SKIP
    >>> pdf = render_pdf(render_sheets_html(sheets, lang="zh"))  # doctest: +SKIP
    """
    if slices is not None:
        slices = [slices] if isinstance(slices, str) else list(slices)
        bad = [s for s in slices if s not in plan.slice_ids]
        if bad:
            raise _unknown("slice", bad, plan.slice_ids)
    if patroller is not None:
        ids = sorted({r.patroller_id for s in plan.slices for r in s.routes})
        if patroller not in ids:
            raise _unknown("patroller", [patroller], ids)
    tz = zoneinfo.ZoneInfo(plan.timezone)
    labels = dict(slice_labels or {})
    members = {p.id: p.members for p in roster}
    out = []
    for sp in sorted(plan.slices, key=lambda s: s.start):
        if slices is not None and sp.slice_id not in slices:
            continue
        routes = sorted(sp.routes, key=lambda r: (r.patroller_id, r.part))
        for r in routes:
            if not r.deployed or (patroller is not None and r.patroller_id != patroller):
                continue
            rows = tuple(
                SheetRow(
                    order=p.order,
                    micro_id=p.micro_id,
                    name=p.name,
                    base_id=p.base_id,
                    street=p.street,
                    arrival=_hhmm(p.arrival, tz),
                    dwell_min=_minutes(p.dwell_s),
                    departure=_hhmm(p.departure, tz),
                    risk_class=p.risk_class,
                    visit=p.copy,
                )
                for p in r.stops
            )
            team = f"{r.name} ({r.patroller_id})"
            label = labels.get(sp.slice_id, sp.label)
            layout = sheet_layout(
                rows,
                header_mm=_header_mm(
                    plan.station_name, team, label, banner=superseded_by is not None
                ),
                map_aspect=route_aspect(r),
            )
            out.append(
                RouteSheet(
                    station_name=plan.station_name,
                    station_phone=station_phone,
                    date=plan.date.isoformat(),
                    slice_id=sp.slice_id,
                    slice_label=label,
                    patroller_id=r.patroller_id,
                    name=r.name,
                    role=r.role,
                    mode=r.mode,
                    members=members.get(r.patroller_id),
                    part=r.part,
                    start=_hhmm(r.start, tz),
                    end=_hhmm(r.end, tz),
                    rows=rows,
                    total_stops=len(rows),
                    total_dwell_min=_minutes(sum(p.dwell_s for p in r.stops)),
                    distance_km=round(r.distance_m / 1000, 2),
                    duration_min=_minutes(r.duration_s),
                    map_svg=route_map_svg(
                        r, width_mm=layout.map_mm[0], height_mm=layout.map_mm[1], grid=grid
                    ),
                    layout=layout,
                    version=version,
                    superseded_by=superseded_by,
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# Map


#: Room between the route's extent and the map's edge: top and bottom (scale bar), and sides.
_MAP_FRAME_MM = (9.0, 13.0)
_MAP_SIDE_MM = 9.0
#: A map shows at least this many metres each way, so a short route is not blown up.
_MIN_SPAN_M = 300.0
#: Clear space kept between markers, labels and the marks around them.
_GAP_MM = 0.4


def _nice_length(metres: float) -> float:
    """Return the largest 1, 2 or 5 x 10^k metres not above ``metres``."""
    k = math.floor(math.log10(max(metres, 1e-9)))
    for m in (5, 2, 1):
        if m * 10**k <= metres:
            return float(m * 10**k)
    return float(10**k)


def _route_xy(route: PatrolRoute) -> tuple[np.ndarray, np.ndarray, pyproj.CRS]:
    """The route's path and stops in metres of a local azimuthal equidistant CRS (north up)."""
    path = np.asarray(route.path.coords, dtype=float)[:, :2]
    stops = np.array([(p.lon, p.lat) for p in route.stops], dtype=float).reshape(-1, 2)
    everything = np.vstack([path, stops])
    lon0, lat0 = (everything.min(axis=0) + everything.max(axis=0)) / 2
    local = pyproj.CRS.from_dict(
        {"proj": "aeqd", "lat_0": float(lat0), "lon_0": float(lon0), "datum": "WGS84"}
    )
    to_local = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True)

    def project(lonlat: np.ndarray) -> np.ndarray:
        x, y = to_local.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    return project(path), project(stops), local


def _span_m(path_m: np.ndarray, stops_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower corner and size (metres) of the route's extent, at least :data:`_MIN_SPAN_M`."""
    allxy = np.vstack([path_m, stops_m])
    lo, hi = allxy.min(axis=0), allxy.max(axis=0)
    size = np.maximum(hi - lo, _MIN_SPAN_M)
    return (lo + hi) / 2 - size / 2, size


def route_aspect(route: PatrolRoute) -> float:
    """Height / width of the area a route's map shows (see :func:`route_map_svg`)."""
    path_m, stops_m, _ = _route_xy(route)
    _, size = _span_m(path_m, stops_m)
    return float(size[1] / size[0])


@dataclasses.dataclass
class _Board:
    """What is already drawn on a map (mm, y down), for placing markers and labels clear of it.

    ``discs`` are ``(x, y, r)``, ``boxes`` are ``(x0, y0, x1, y1)``; everything placed stays
    inside ``frame``.
    """

    frame: tuple[float, float, float, float]
    discs: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = dataclasses.field(default_factory=list)

    def _clear(self, lo: np.ndarray, hi: np.ndarray, r: float, avoid=()) -> np.ndarray:
        """Which shapes fit: boxes ``lo``..``hi`` (n x 2) rounded by ``r`` (0 for a box)."""
        x0, y0, x1, y1 = self.frame
        ok = (lo[:, 0] - r >= x0) & (lo[:, 1] - r >= y0) & (hi[:, 0] + r <= x1)
        ok &= hi[:, 1] + r <= y1
        for cx, cy, cr in [*self.discs, *avoid]:
            dx = np.maximum(np.maximum(lo[:, 0] - cx, cx - hi[:, 0]), 0)
            dy = np.maximum(np.maximum(lo[:, 1] - cy, cy - hi[:, 1]), 0)
            ok &= np.hypot(dx, dy) >= r + cr + _GAP_MM
        for bx0, by0, bx1, by1 in self.boxes:
            dx = np.maximum(np.maximum(lo[:, 0] - bx1, bx0 - hi[:, 0]), 0)
            dy = np.maximum(np.maximum(lo[:, 1] - by1, by0 - hi[:, 1]), 0)
            ok &= np.hypot(dx, dy) >= r + _GAP_MM
        return ok

    def place(
        self,
        p: np.ndarray,
        *,
        radius: float = 0.0,
        half: tuple[float, float] = (0.0, 0.0),
        reach_mm: float | None = None,
        avoid: Sequence[tuple[float, float, float]] = (),
    ) -> np.ndarray | None:
        """Take the free spot nearest ``p`` for a disc of ``radius`` or a box of ``half`` sizes.

        Discs in ``avoid`` are kept clear this time only. Returns the spot's centre, or
        ``None`` if there is none within ``reach_mm`` (default: anywhere on the map).
        """
        step = max(radius, min(half) if min(half) > 0 else 1.0, 1.0)
        rings = [np.asarray(p, dtype=float)[None, :]]
        for k in range(1, 24):
            a = np.deg2rad(np.arange(-90.0, 270.0, 15.0) + 7.5 * (k % 2))
            rings.append(p + k * step * np.column_stack([np.cos(a), np.sin(a)]))
        cand = np.vstack(rings)
        if reach_mm is None:  # then anywhere on the map, nearest first
            x0, y0, x1, y1 = self.frame
            gx, gy = np.meshgrid(np.arange(x0, x1, 1.0), np.arange(y0, y1, 1.0))
            far = np.column_stack([gx.ravel(), gy.ravel()])
            far = far[np.argsort(np.hypot(*(far - p).T), kind="stable")]
            cand = np.vstack([cand, far])
        else:
            cand = cand[np.hypot(*(cand - p).T) <= reach_mm]
        hw = np.asarray(half, dtype=float)
        ok = np.flatnonzero(self._clear(cand - hw, cand + hw, radius, avoid))
        if not len(ok):
            return None
        c = cand[ok[0]]
        if radius > 0:
            self.discs.append((float(c[0]), float(c[1]), float(radius)))
        else:
            self.boxes.append((c[0] - hw[0], c[1] - hw[1], c[0] + hw[0], c[1] + hw[1]))
        return c


def _f(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _points(xy: np.ndarray) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in xy)


def _rings(geom) -> list[np.ndarray]:
    """Exterior and interior rings of a Polygon or MultiPolygon."""
    polys = getattr(geom, "geoms", [geom])
    out = []
    for poly in polys:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        out.append(np.asarray(poly.exterior.coords)[:, :2])
        out += [np.asarray(r.coords)[:, :2] for r in poly.interiors]
    return out


def _grid_in_view(
    grid: gpd.GeoDataFrame, local: pyproj.CRS, view: tuple[float, float, float, float]
) -> gpd.GeoDataFrame:
    """The base and micro-grids of ``grid`` in ``local`` metres, clipped to ``view``."""
    import shapely

    from gridplan.geo.crs import require_crs

    require_crs(grid, where="route map grid")
    g = grid[grid["level"].isin(["base", "micro"])].to_crs(local)
    g = g[g.intersects(shapely.box(*view))]
    return g.set_geometry(shapely.clip_by_rect(g.geometry.to_numpy(), *view))


def route_map_svg(
    route: PatrolRoute,
    *,
    width_mm: float = 186.0,
    height_mm: float = 100.0,
    grid: gpd.GeoDataFrame | None = None,
) -> str:
    """Draw a route as a print-ready SVG map (no tiles: works offline, prints in black and white).

    The map shows the route's own extent with a margin (at least 300 m each way), not the
    whole station. The street path is a solid line; stops are white discs numbered in route
    order, which never cover each other: a stop that would is moved to the nearest free spot
    and tied to its place by a leader line (revisits of one place fan out the same way). The
    start is a solid square, the end a hollow square around it; a scale bar in metres and a
    north arrow. With ``grid``, the micro-grids in view are outlined (dotted), the base grids
    dashed, and the micro-grids the route visits shaded and labelled with their short code
    where that hides nothing. Coordinates are projected to a local azimuthal equidistant CRS
    (metres, north up) around the route.

    Parameters
    ----------
    route
        A :class:`~gridplan.routing.plan.PatrolRoute` (path and stops in EPSG:4326).
    width_mm, height_mm
        Printed size of the map.
    grid
        The 1+5+N grid (any CRS, ``id``/``level``/``parent_id`` columns), or ``None``.

    Returns
    -------
    str
        A standalone SVG document (``<svg xmlns=...>``), also valid inline in HTML. All text is
        XML-escaped. Stop markers are ``<g class="stop">`` with a ``circle``; micro-grid labels
        are ``<g class="cell-label">`` with the ``rect`` they occupy.

    Examples
    --------
    >>> svg = route_map_svg(plan.slices[0].routes[0], grid=grid)  # doctest: +SKIP
    """
    w, h = float(width_mm), float(height_mm)
    path_m, stops_m, local = _route_xy(route)
    lo, size = _span_m(path_m, stops_m)
    (top, bottom), side = _MAP_FRAME_MM, _MAP_SIDE_MM
    scale = min((w - 2 * side) / size[0], (h - top - bottom) / size[1])  # mm per metre
    cx, cy = lo + size / 2
    ox, oy = side + (w - 2 * side) / 2, top + (h - top - bottom) / 2
    view = (cx - ox / scale, cy - (h - oy) / scale, cx + (w - ox) / scale, cy + oy / scale)

    def mm(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([ox + (xy[:, 0] - cx) * scale, oy - (xy[:, 1] - cy) * scale])

    esc = html.escape
    title = f"{route.patroller_id} {route.name}".strip()
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="route-map" width="{_f(w)}mm" '
        f'height="{_f(h)}mm" viewBox="0 0 {_f(w)} {_f(h)}" role="img" '
        f'aria-label="{esc(title)}" font-family="Noto Sans CJK SC, Source Han Sans SC, '
        f'Microsoft YaHei, sans-serif">',
        f"<title>{esc(title)}</title>",
        f'<rect x="0" y="0" width="{_f(w)}" height="{_f(h)}" fill="#ffffff" stroke="#000000" '
        'stroke-width="0.3"/>',
    ]
    visited = {p.micro_id for p in route.stops}
    cells = _grid_in_view(grid, local, view) if grid is not None and len(grid) else None
    if cells is not None:
        out += _grid_paths(cells, visited, mm)
    # the street path: a white casing under a solid line keeps it readable over the grid
    pts = _points(mm(path_m))
    out.append(
        f'<polyline class="casing" points="{pts}" fill="none" stroke="#ffffff" '
        'stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>'
    )
    out.append(
        f'<polyline class="route" points="{pts}" fill="none" stroke="#1d4f9c" '
        'stroke-width="0.8" stroke-linejoin="round" stroke-linecap="round"/>'
    )
    # scale bar (bottom left) and north arrow (top right) first: markers keep clear of them
    board = _Board((0.0, 0.0, w, h))
    out.append(_scale_bar(w, h, scale, board))
    out.append(_north_arrow(w, board))
    start, end = mm(path_m[[0, -1]])
    board.boxes += [(*(start - 1.6), *(start + 1.6)), (*(end - 2.6), *(end + 2.6))]
    out.append(
        f'<rect class="end" x="{_f(end[0] - 2.6)}" y="{_f(end[1] - 2.6)}" width="5.2" '
        'height="5.2" fill="none" stroke="#000000" stroke-width="0.5"/>'
    )
    out.append(
        f'<rect class="start" x="{_f(start[0] - 1.6)}" y="{_f(start[1] - 1.6)}" width="3.2" '
        'height="3.2" fill="#000000"/>'
    )
    out += _stop_markers(route, mm(stops_m), board)
    if cells is not None:
        out += _cell_labels(cells, visited, mm, board)
    out.append("</svg>")
    return "\n".join(out)


def _grid_paths(cells: gpd.GeoDataFrame, visited: set[str], mm) -> list[str]:
    """Micro-grids dotted (visited ones shaded), then base grids dashed, as SVG paths."""
    out = []
    for level in ("micro", "base"):
        sub = cells[cells["level"] == level]
        for gid, geom in zip(sub["id"], sub.geometry, strict=True):
            rings = [] if geom is None or geom.is_empty else _rings(geom)
            if not rings:
                continue
            d = " ".join(f"M{_points(mm(r))}Z" for r in rings)
            if level == "micro":
                fill = "#fde9a9" if gid in visited else "none"
                out.append(
                    f'<path class="micro" d="{d}" fill="{fill}" fill-rule="evenodd" '
                    'stroke="#8c8c8c" stroke-width="0.2" stroke-dasharray="0.6 0.6"/>'
                )
            else:
                out.append(
                    f'<path class="base" d="{d}" fill="none" stroke="#555555" '
                    'stroke-width="0.45" stroke-dasharray="2.4 1.2"/>'
                )
    return out


def _stop_markers(route: PatrolRoute, spots: np.ndarray, board: _Board) -> list[str]:
    """Numbered stop discs, none covering another or another stop's spot; leader lines."""
    radius = STOP_RADIUS_MM
    centres = []
    for spot in spots:
        # the exact spots of the other stops stay visible (a dot where a leader line ends)
        near = np.hypot(*(spots - spot).T) > 0.05
        others = [(float(x), float(y), 0.6) for x, y in spots[near]]
        c = board.place(spot, radius=radius, avoid=others)
        centres.append(spot if c is None else c)
    out = []
    for spot, c in zip(spots, centres, strict=True):
        gap = np.hypot(*(c - spot))
        if gap > 0.05:
            edge = c + (spot - c) * (radius / gap)  # the line ends at the disc's edge
            out.append(
                f'<line class="leader" x1="{_f(spot[0])}" y1="{_f(spot[1])}" x2="{_f(edge[0])}" '
                f'y2="{_f(edge[1])}" stroke="#000000" stroke-width="0.3"/>'
            )
            out.append(
                f'<circle class="spot" cx="{_f(spot[0])}" cy="{_f(spot[1])}" r="0.6" '
                'fill="#000000"/>'
            )
    for p, c in zip(route.stops, centres, strict=True):
        heavy = p.risk_class == "top"
        size = 3.0 if p.order < 100 else 2.3
        out.append(
            f'<g class="stop" data-order="{p.order}">'
            f'<circle cx="{_f(c[0])}" cy="{_f(c[1])}" r="{_f(radius)}" fill="#ffffff" '
            f'stroke="{"#b3261e" if heavy else "#000000"}" '
            f'stroke-width="{"0.7" if heavy else "0.4"}"/>'
            f'<text x="{_f(c[0])}" y="{_f(c[1] + size * 0.36)}" font-size="{_f(size)}" '
            f'font-weight="bold" text-anchor="middle" fill="#000000">{p.order}</text></g>'
        )
    return out


def _cell_labels(cells: gpd.GeoDataFrame, visited: set[str], mm, board: _Board) -> list[str]:
    """Short codes of the visited micro-grids, on a white plate, where they hide nothing."""
    out = []
    font = 2.3
    for gid, geom in zip(cells["id"], cells.geometry, strict=True):
        if gid not in visited or geom is None or geom.is_empty:
            continue
        short = str(gid).rsplit("-", 1)[-1]
        half = (len(short) * font * 0.32 + 0.5, font * 0.5 + 0.3)
        anchor = mm(np.array([geom.representative_point().coords[0][:2]]))[0]
        c = board.place(anchor, half=half, reach_mm=6.0)
        if c is None:
            continue
        out.append(
            f'<g class="cell-label"><rect x="{_f(c[0] - half[0])}" y="{_f(c[1] - half[1])}" '
            f'width="{_f(2 * half[0])}" height="{_f(2 * half[1])}" fill="#ffffff" '
            f'fill-opacity="0.8"/><text x="{_f(c[0])}" y="{_f(c[1] + font * 0.35)}" '
            f'font-size="{_f(font)}" fill="#444444" text-anchor="middle">'
            f"{html.escape(short)}</text></g>"
        )
    return out


def _scale_bar(w: float, h: float, scale: float, board: _Board) -> str:
    """A scale bar in metres on a white plate at the bottom left (and on the board)."""
    bar_m = _nice_length((w / 5) / scale)
    bar = bar_m * scale
    label = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m"
    bx, by = 4.0, h - 3.0
    board.boxes.append((bx - 1.5, by - 6.5, bx + bar + 1.5, by + 1.5))
    return (
        f'<g class="scale-bar"><rect x="{_f(bx - 1.5)}" y="{_f(by - 6.5)}" '
        f'width="{_f(bar + 3)}" height="8" fill="#ffffff" fill-opacity="0.85"/>'
        f'<rect x="{_f(bx)}" y="{_f(by - 1.2)}" width="{_f(bar / 2)}" height="1.2" '
        'fill="#000000" stroke="#000000" stroke-width="0.2"/>'
        f'<rect x="{_f(bx + bar / 2)}" y="{_f(by - 1.2)}" width="{_f(bar / 2)}" height="1.2" '
        'fill="#ffffff" stroke="#000000" stroke-width="0.2"/>'
        f'<text x="{_f(bx)}" y="{_f(by - 2.2)}" font-size="2.6" fill="#000000">'
        f"{html.escape(label)}</text></g>"
    )


def _north_arrow(w: float, board: _Board) -> str:
    """A north arrow at the top right (the local projection is north-up)."""
    nx, ny = w - 6.0, 3.0
    board.boxes.append((nx - 2.5, ny + 1.0, nx + 2.5, ny + 12.0))
    return (
        f'<g class="north-arrow"><polygon points="{_f(nx)},{_f(ny + 1.5)} '
        f'{_f(nx - 2)},{_f(ny + 7.5)} {_f(nx)},{_f(ny + 6)} {_f(nx + 2)},{_f(ny + 7.5)}" '
        'fill="#000000"/>'
        f'<text x="{_f(nx)}" y="{_f(ny + 11)}" font-size="3" font-weight="bold" '
        'text-anchor="middle" fill="#000000">N</text></g>'
    )


# --------------------------------------------------------------------------------------------
# HTML and PDF


def _translations_for(lang: str) -> gettext.NullTranslations:
    """Return the compiled catalogue for ``lang`` in ``gridplan/web/translations``, if any."""
    from babel.support import Translations

    base = resources.files("gridplan.web").joinpath("translations")
    locales = [lang.replace("-", "_")]
    if lang.startswith("zh"):
        locales += ["zh_CN", "zh_Hans_CN", "zh"]
    return Translations.load(str(base), locales=locales, domain="messages")


def sheets_environment(translations: gettext.NullTranslations | None = None) -> jinja2.Environment:
    """Return a Jinja environment for the sheet templates outside Flask (CLI, tests, notebooks).

    It loads ``gridplan/web/templates``, autoescapes, and has ``jinja2.ext.i18n`` installed
    with new-style gettext (as Flask-Babel does): ``translations`` when given, else null
    translations (the English msgids).
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gridplan.web", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    if translations is None:
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    else:
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


def sheets_css() -> str:
    """Return the print CSS (``gridplan/web/static/css/sheets.css``) that the template inlines."""
    path = resources.files("gridplan.web").joinpath("static", "css", "sheets.css")
    return path.read_text(encoding="utf-8")


def sheets_context(sheets: Sequence[RouteSheet], *, lang: str = "zh") -> dict[str, Any]:
    """Return the variables of ``sheets/sheets.html``.

    In the web UI: ``render_template(TEMPLATE, **sheets_context(sheets, lang=locale))``
    under ``flask_babel.force_locale``.
    """
    from markupsafe import Markup

    return {
        "sheets": list(sheets),
        "html_lang": HTML_LANG.get(lang, lang.replace("_", "-")),
        "sheets_css": Markup(sheets_css()),  # our own file, inlined so the page needs nothing
    }


def render_sheets_html(
    sheets: Sequence[RouteSheet],
    *,
    lang: str = "zh",
    env: jinja2.Environment | None = None,
    translations: gettext.NullTranslations | None = None,
) -> str:
    """Render route sheets as one self-contained HTML document (one A4 page per sheet page).

    Parameters
    ----------
    sheets
        From :func:`route_sheets`.
    lang
        ``zh`` or ``en``: the document language and, without ``translations``, the compiled
        catalogue looked up in ``gridplan/web/translations`` (English text when there is none).
    env
        A Jinja environment with the i18n extension (default :func:`sheets_environment`).
        ``translations``, when given, are installed into it.
    translations
        A gettext translations object (e.g. ``babel.support.Translations``).

    Returns
    -------
    str
        The HTML; the print CSS is inlined and nothing is loaded from elsewhere.

    Examples
    --------
    >>> html = render_sheets_html(route_sheets(plan), lang="en")  # doctest: +SKIP
    """
    if env is None:
        env = sheets_environment(translations or _translations_for(lang))
    elif translations is not None:
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env.get_template(TEMPLATE).render(**sheets_context(sheets, lang=lang))


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render the HTML of :func:`render_sheets_html` as a PDF with WeasyPrint.

    Chinese text needs a CJK font installed where this runs (Debian: ``fonts-noto-cjk``);
    WeasyPrint embeds the glyphs used.

    Parameters
    ----------
    html
        A complete HTML document.
    base_url
        Where relative links resolve (the sheets have none).

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    GridplanError
        If WeasyPrint or the Pango library it needs is missing; the message says what to
        install.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint is there but Pango is not
        msg = (
            f"PDF route sheets need WeasyPrint and Pango, which cannot be loaded ({exc}); "
            f"install them with: {_PDF_INSTALL}. Meanwhile print the HTML sheets from the "
            "browser."
        )
        raise GridplanError(msg) from exc
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
