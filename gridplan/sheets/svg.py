"""The map of a route sheet: an SVG drawing of one route, its stops and its micro-grids.

:func:`route_map_svg` draws a route to scale in its local UTM zone, with numbered stop markers
that never cover each other, the micro-grids it visits (named), a scale bar and a north
arrow. Nothing is fetched (no tiles or fonts), so the sheet prints offline.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyproj

if TYPE_CHECKING:
    import geopandas as gpd

    from gridplan.routing.plan import PatrolRoute

#: Marker radius of a stop on the map (a 5.2 mm disc, its number in 8.5 pt bold).
STOP_RADIUS_MM = 2.6
#: Room between the route's extent and the map's edge: top and bottom (scale bar), and sides.
MAP_FRAME_MM = (9.0, 13.0)
MAP_SIDE_MM = 9.0
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
    """Return the route's path and stops in metres of a local azimuthal equidistant CRS."""
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
    """Return the base and micro-grids of ``grid`` in ``local`` metres, clipped to ``view``."""
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
    (top, bottom), side = MAP_FRAME_MM, MAP_SIDE_MM
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
    """Draw a scale bar in metres on a white plate at the bottom left (and on the board)."""
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
    """Draw a north arrow at the top right (the local projection is north-up)."""
    nx, ny = w - 6.0, 3.0
    board.boxes.append((nx - 2.5, ny + 1.0, nx + 2.5, ny + 12.0))
    return (
        f'<g class="north-arrow"><polygon points="{_f(nx)},{_f(ny + 1.5)} '
        f'{_f(nx - 2)},{_f(ny + 7.5)} {_f(nx)},{_f(ny + 6)} {_f(nx + 2)},{_f(ny + 7.5)}" '
        'fill="#000000"/>'
        f'<text x="{_f(nx)}" y="{_f(ny + 11)}" font-size="3" font-weight="bold" '
        'text-anchor="middle" fill="#000000">N</text></g>'
    )
