"""Printable route sheets: one A4 page per patroller (or team) and slice, as HTML and PDF.

A team lead prints a sheet before the shift: the station, date, slice and team; a map of the
route; a table of the stops (order, micro-grid, nearest street, arrival, dwell, departure, a
check box and a ruled cell for notes); the totals and the station's phone number.

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

    from gridplan.roster import Patroller
    from gridplan.routing.plan import PatrolPlan
    from gridplan.routing.plan import PatrolRoute

#: Most stop rows on a sheet's first page (below the map) and on each continuation page.
FIRST_PAGE_ROWS = 15
PAGE_ROWS = 20
#: Size of the map on a sheet (the content width of an A4 page is 186 mm).
SHEET_MAP_MM = (180.0, 80.0)
#: Millimetres of table body a page has for stop rows, below the map on the first page and on
#: a continuation page (A4 less margins, header, table head, totals and footer; see
#: sheets.css). Rows are measured by :func:`_row_height_mm`.
FIRST_PAGE_MM = 118.0
PAGE_MM = 198.0

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
        From the roster (role and mode are codes, see :mod:`gridplan.roster`).
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
        The route map, an SVG document (see :func:`route_map_svg`).
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

    @property
    def pages(self) -> tuple[tuple[SheetRow, ...], ...]:
        """The rows split into printed pages: the first below the map, then continuations.

        A page takes rows while their estimated height fits (long names wrap and make a row
        taller) and at most :data:`FIRST_PAGE_ROWS` / :data:`PAGE_ROWS` of them.
        """
        pages: list[tuple[SheetRow, ...]] = []
        page: list[SheetRow] = []
        # a long team name or slice label wraps and takes room from every page
        header_mm = (
            (
                _text_lines(f"{self.name} ({self.patroller_id})", _HEAD_PT, _TEAM_TEXT_MM)
                + _text_lines(self.slice_label, _HEAD_PT, _SLICE_TEXT_MM)
                - 2
            )
            * _HEAD_PT
            * _LINE
            * _PT_MM
        )
        used = header_mm
        for row in self.rows:
            height = _row_height_mm(row)
            budget, cap = (FIRST_PAGE_MM, FIRST_PAGE_ROWS) if not pages else (PAGE_MM, PAGE_ROWS)
            if page and (used + height > budget or len(page) >= cap):
                pages.append(tuple(page))
                page, used = [], header_mm
            page.append(row)
            used += height
        pages.append(tuple(page))
        return tuple(pages)


# Row geometry of sheets.css (table.stops): cell padding, line height and text widths.
_PT_MM = 25.4 / 72
_ROW_MIN_MM = 8.0
_ROW_PAD_MM = 1.6
_GRID_TEXT_MM = 48.0 - 2.4
_STREET_TEXT_MM = 32.0 - 2.4
# line boxes come out about 1.25 x the font size (measured with WeasyPrint and Noto Sans CJK)
_CODE_PT, _NAME_PT, _STREET_PT, _LINE = 8.5, 9.0, 9.0, 1.26
_HEAD_PT, _TEAM_TEXT_MM, _SLICE_TEXT_MM = 11.0, 186.0 - 19.0, 186.0 - 19.0 - 40.0 - 19.0


def _text_lines(text: str, size_pt: float, width_mm: float) -> int:
    """Lines ``text`` takes in a column, erring long (CJK 1 em, other characters 0.62 em)."""
    if not text:
        return 0
    ems = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.62 for c in text)
    # wrapping at word ends wastes part of each line
    return max(1, math.ceil(ems * size_pt * _PT_MM * 1.1 / width_mm))


def _row_height_mm(row: SheetRow) -> float:
    """Estimated printed height of a stop row (see sheets.css)."""
    code = row.micro_id + (" Top" if row.risk_class == "top" else "")
    grid_mm = _text_lines(code, _CODE_PT, _GRID_TEXT_MM) * _CODE_PT * _LINE * _PT_MM
    if row.name and row.name != row.micro_id:
        grid_mm += _text_lines(row.name, _NAME_PT, _GRID_TEXT_MM) * _NAME_PT * _LINE * _PT_MM
    street_mm = _text_lines(row.street, _STREET_PT, _STREET_TEXT_MM) * _STREET_PT * _LINE * _PT_MM
    return max(_ROW_MIN_MM, max(grid_mm, street_mm) + _ROW_PAD_MM)


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
) -> list[RouteSheet]:
    """Return one :class:`RouteSheet` per deployed route of ``plan``.

    Parameters
    ----------
    plan
        The patrol plan (made by :func:`~gridplan.routing.planner.plan_patrols` or read with
        :func:`~gridplan.routing.planfile.load_plan`).
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
        The 1+5+N grid; when given, the maps outline the micro-grids of the base grids the
        route visits.

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
            out.append(
                RouteSheet(
                    station_name=plan.station_name,
                    station_phone=station_phone,
                    date=plan.date.isoformat(),
                    slice_id=sp.slice_id,
                    slice_label=labels.get(sp.slice_id, sp.label),
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
                        r, width_mm=SHEET_MAP_MM[0], height_mm=SHEET_MAP_MM[1], grid=grid
                    ),
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# Map


def _nice_length(metres: float) -> float:
    """Return the largest 1, 2 or 5 x 10^k metres not above ``metres``."""
    k = math.floor(math.log10(max(metres, 1e-9)))
    for m in (5, 2, 1):
        if m * 10**k <= metres:
            return float(m * 10**k)
    return float(10**k)


def _free_spot(
    p: np.ndarray,
    radius: float,
    placed: list[tuple[np.ndarray, float]],
    box: tuple[float, float, float, float],
) -> np.ndarray:
    """Return the spot nearest ``p`` where a circle of ``radius`` fits.

    Candidates lie on rings around ``p``; a spot fits when the circle overlaps none of the
    ``placed`` circles ``(centre, radius)`` and stays inside ``box``. Else ``p`` itself.
    """
    x0, y0, x1, y1 = box
    for ring in range(8):
        if ring == 0:
            candidates = [p]
        else:
            angles = np.deg2rad(np.arange(-90, 270, 45) + 22.5 * (ring % 2))
            d = ring * (radius + 0.6)
            candidates = [p + d * np.array([math.cos(a), math.sin(a)]) for a in angles]
        for c in candidates:
            inside = x0 + radius <= c[0] <= x1 - radius and y0 + radius <= c[1] <= y1 - radius
            if inside and all(np.hypot(*(c - q)) >= radius + rq + 0.3 for q, rq in placed):
                return np.asarray(c, dtype=float)
    return np.asarray(p, dtype=float)


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


def route_map_svg(
    route: PatrolRoute,
    *,
    width_mm: float = 180.0,
    height_mm: float = 95.0,
    grid: gpd.GeoDataFrame | None = None,
) -> str:
    """Draw a route as a print-ready SVG map (no tiles: works offline, prints in black and white).

    The street path is a solid line; stops are white circles numbered in route order (revisits
    of one place are fanned out with a leader line to the spot); the start is a solid square and
    the end a hollow square around it; a scale bar in metres and a north arrow. With ``grid``,
    the micro-grids of the base grids the route visits are outlined (dotted), the base grids
    dashed, and the visited micro-grids shaded and labelled with their short code. Coordinates
    are projected to a local azimuthal equidistant CRS (metres, north up) around the route.

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
        XML-escaped.

    Examples
    --------
    >>> svg = route_map_svg(plan.slices[0].routes[0], grid=grid)  # doctest: +SKIP
    """
    w, h = float(width_mm), float(height_mm)
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

    path_m, stops_m = project(path), project(stops)

    cells: list[tuple[str, list[np.ndarray], bool, Any]] = []
    bases: list[list[np.ndarray]] = []
    if grid is not None and len(grid):
        from gridplan.geo.crs import require_crs

        require_crs(grid, where="route map grid")
        base_ids = {p.base_id for p in route.stops}
        visited = {p.micro_id for p in route.stops}
        g = grid[grid["id"].isin(base_ids) | grid["parent_id"].isin(base_ids)].to_crs(local)
        for gid, level, geom in zip(g["id"], g["level"], g.geometry, strict=True):
            if geom is None or geom.is_empty:
                continue
            if level == "base":
                bases.append(_rings(geom))
            elif level == "micro":
                cells.append((str(gid), _rings(geom), gid in visited, geom))
    extent = [path_m, stops_m] + [r for rings in bases for r in rings]
    extent += [r for _, rings, _, _ in cells for r in rings]
    allxy = np.vstack(extent)
    (mx0, my0), (mx1, my1) = allxy.min(axis=0), allxy.max(axis=0)
    # frame: 6 mm around, more at the bottom (scale bar) and right (north arrow)
    left, right, top, bottom = 6.0, 11.0, 6.0, 10.0
    span_x, span_y = max(mx1 - mx0, 100.0), max(my1 - my0, 100.0)
    scale = min((w - left - right) / span_x, (h - top - bottom) / span_y)  # mm per metre
    cx, cy = (mx0 + mx1) / 2, (my0 + my1) / 2
    ox, oy = left + (w - left - right) / 2, top + (h - top - bottom) / 2

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
    # grid: visited cells shaded, micro-grids dotted, base grids dashed
    for _, rings, hit, _geom in cells:
        d = " ".join(f"M{_points(mm(r))}Z" for r in rings)
        fill = "#fde9a9" if hit else "none"
        out.append(
            f'<path class="micro" d="{d}" fill="{fill}" fill-rule="evenodd" stroke="#8c8c8c" '
            'stroke-width="0.2" stroke-dasharray="0.6 0.6"/>'
        )
    for rings in bases:
        d = " ".join(f"M{_points(mm(r))}Z" for r in rings)
        out.append(
            f'<path class="base" d="{d}" fill="none" stroke="#555555" stroke-width="0.45" '
            'stroke-dasharray="2.4 1.2"/>'
        )
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
    # start (solid square) and end (hollow square)
    start, end = mm(path_m[[0, -1]])
    out.append(
        f'<rect class="end" x="{_f(end[0] - 2.6)}" y="{_f(end[1] - 2.6)}" width="5.2" '
        'height="5.2" fill="none" stroke="#000000" stroke-width="0.5"/>'
    )
    out.append(
        f'<rect class="start" x="{_f(start[0] - 1.6)}" y="{_f(start[1] - 1.6)}" width="3.2" '
        'height="3.2" fill="#000000"/>'
    )
    # numbered stops, moved off the start and end marks and off each other (revisits)
    radius = 2.5
    spots = mm(stops_m)
    taken: list[tuple[np.ndarray, float]] = [(start, 2.0), (end, 3.0)]
    centres = []
    for spot in spots:
        c = _free_spot(spot, radius, taken, (0.0, 0.0, w, h))
        taken.append((c, radius))
        centres.append(c)
    for spot, c in zip(spots, centres, strict=True):
        if np.hypot(*(c - spot)) > 0.01:
            out.append(
                f'<line class="leader" x1="{_f(spot[0])}" y1="{_f(spot[1])}" x2="{_f(c[0])}" '
                f'y2="{_f(c[1])}" stroke="#000000" stroke-width="0.25"/>'
            )
            out.append(
                f'<circle class="spot" cx="{_f(spot[0])}" cy="{_f(spot[1])}" r="0.6" '
                'fill="#000000"/>'
            )
    for p, c in zip(route.stops, centres, strict=True):
        heavy = p.risk_class == "top"
        out.append(
            f'<g class="stop" data-order="{p.order}">'
            f'<circle cx="{_f(c[0])}" cy="{_f(c[1])}" r="{_f(radius)}" fill="#ffffff" '
            f'stroke="{"#b3261e" if heavy else "#000000"}" '
            f'stroke-width="{"0.7" if heavy else "0.4"}"/>'
            f'<text x="{_f(c[0])}" y="{_f(c[1] + 1.0)}" font-size="2.8" font-weight="bold" '
            f'text-anchor="middle" fill="#000000">{p.order}</text></g>'
        )
    # short codes of the micro-grids to visit, where they hide no stop
    for gid, _, hit, geom in cells:
        if not hit:
            continue
        rp = mm(np.array([geom.representative_point().coords[0][:2]]))[0]
        c = _free_spot(rp, 3.5, taken, (0.0, 0.0, w, h))
        taken.append((c, 3.5))
        short = gid.rsplit("-", 1)[-1]
        out.append(
            f'<text class="cell-label" x="{_f(c[0])}" y="{_f(c[1] + 0.8)}" font-size="2.3" '
            f'fill="#555555" text-anchor="middle">{esc(short)}</text>'
        )
    # scale bar (bottom left) on a white plate
    bar_m = _nice_length((w / 5) / scale)
    bar = bar_m * scale
    label = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m"
    bx, by = 4.0, h - 4.0
    out.append(
        f'<g class="scale-bar"><rect x="{_f(bx - 1.5)}" y="{_f(by - 6.5)}" '
        f'width="{_f(bar + 3)}" height="8" fill="#ffffff" fill-opacity="0.85"/>'
        f'<rect x="{_f(bx)}" y="{_f(by - 1.2)}" width="{_f(bar / 2)}" height="1.2" '
        'fill="#000000" stroke="#000000" stroke-width="0.2"/>'
        f'<rect x="{_f(bx + bar / 2)}" y="{_f(by - 1.2)}" width="{_f(bar / 2)}" height="1.2" '
        'fill="#ffffff" stroke="#000000" stroke-width="0.2"/>'
        f'<text x="{_f(bx)}" y="{_f(by - 2.2)}" font-size="2.6" fill="#000000">'
        f"{esc(label)}</text></g>"
    )
    # north arrow (top right): the local projection is north-up
    nx, ny = w - 6.0, 4.0
    out.append(
        f'<g class="north-arrow"><polygon points="{_f(nx)},{_f(ny + 1.5)} '
        f'{_f(nx - 2)},{_f(ny + 7.5)} {_f(nx)},{_f(ny + 6)} {_f(nx + 2)},{_f(ny + 7.5)}" '
        'fill="#000000"/>'
        f'<text x="{_f(nx)}" y="{_f(ny + 11)}" font-size="3" font-weight="bold" '
        'text-anchor="middle" fill="#000000">N</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)


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
