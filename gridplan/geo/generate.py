"""Generate a 1+5+N grid (一个警务室 + 5 个基础网格 + N 个微网格) for a station jurisdiction.

The pipeline, all in the station's metric CRS (:func:`gridplan.geo.crs.metric_crs`):

1. **Station.** The boundary polygons are dissolved into one station geometry.
2. **Micro-grids (微网格).** One of three layouts:

   - ``"square"``: square cells of ``cell_size_m`` on a lattice anchored at multiples of the
     cell size in the metric CRS (so the same boundary always gets the same lattice);
   - ``"hex"``: pointy-top hexagons (two vertical edges, rows run west-east, every other row is
     shifted by half a cell) whose area equals that of a ``cell_size_m`` square, i.e. a
     circumradius of ``cell_size_m * sqrt(2 / (3 * sqrt(3)))`` (about 0.62 x the cell size);
   - ``"blocks"``: street blocks polygonised from a street layer (footways, service roads,
     paths and the like do not cut blocks), grouped into micro-grids of roughly a cell's area
     with spopt's :class:`~spopt.region.MaxPHeuristic` (each micro-grid reaches at least
     ``0.7 x cell area``).

   Cells are clipped to the station. A clipped piece smaller than ``SLIVER_SHARE`` (30 %) of a
   full cell is merged into the neighbour with which it shares the longest edge, so no
   micro-grid is a useless crumb; a crumb with no edge neighbour (a detached scrap of the
   station) joins the nearest micro-grid.
3. **Base grids (基础网格).** The micro-grids are grouped into ``base_count`` contiguous base
   grids of balanced *workload*: ``0.5 x incident share + 0.5 x area share`` per micro-grid
   (area share only when no incidents are given; incidents count by their ``weight`` column if
   they have one). The grouping is spopt's automatic zoning procedure
   (:class:`spopt.region.AZP`, Openshaw & Rao 1995) with a custom objective: the sum of squared
   relative deviations of each base's workload from the mean, plus a small compactness term
   (normalised moment of inertia) so that bases stay round rather than snake-like. AZP only
   makes moves that keep every region contiguous, which is exactly the constraint here; it
   starts from spopt's region-k-means on the micro-grid centroids (compact, contiguous, but
   unbalanced). spopt's other methods do not fit: Skater, Ward and Spenc optimise attribute
   homogeneity, region-k-means ignores balance, and max-p chooses the number of regions
   itself. Contiguity is rook contiguity (a shared edge of positive length). Micro-grids cut
   off from the rest (e.g. by a river that splits the station) are attached to the nearest
   part when they are too small to make a base on their own; larger parts get their share of
   the bases (largest remainder on workload).
4. **Codes and names.** Station ``S01`` (from ``station_id``); bases ``S01-B1`` ...
   ``S01-B5`` numbered from north-west to south-east by centroid (ascending ``x - y`` in the
   metric CRS); micro-grids ``S01-B3-M001`` ... numbered within their base in row-major order
   (north to south, then west to east, rows one cell high). Names are ``station_name``,
   ``第1基础网格`` ... and ``微网格 B3-M001`` (the base number keeps micro names unique
   across the station). Base and station geometries are the unions of their micro-grids, so
   the hierarchy nests exactly.

The returned frame has ``attrs["balance"]``: the method, each base's workload share, incident
weight, area and micro-grid count, and the max/min workload ratio.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from gridplan import settings
from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.config import StationConfig
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import parse_crs
from gridplan.geo.crs import require_crs
from gridplan.geo.streets import read_street_lines

SHAPES = ("square", "hex", "blocks")

#: A clipped cell smaller than this share of a full cell is merged into a neighbour.
SLIVER_SHARE = 0.3

#: Grouping street blocks: each micro-grid reaches at least this share of a cell's area.
BLOCK_GROUP_SHARE = 0.7

#: Street blocks smaller than this share of a cell are traffic islands and road scraps.
TINY_BLOCK_SHARE = 0.02

#: ``highway`` values that do not separate blocks (paths through a block, driveways, ...).
NON_BLOCK_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "steps",
        "cycleway",
        "pedestrian",
        "service",
        "track",
        "bridleway",
        "corridor",
        "elevator",
        "platform",
        "proposed",
        "construction",
        "abandoned",
        "raceway",
        "bus_stop",
        "escape",
        "via_ferrata",
        "services",
        "rest_area",
    }
)

#: Weight of the incident share in a micro-grid's workload (the rest is its area share).
INCIDENT_WORKLOAD_SHARE = 0.5

# Coordinates are snapped to 1 mm so that neighbouring cells share vertices exactly.
_PRECISION_M = 0.001
# A shared edge shorter than this is a touching corner, not rook contiguity.
_MIN_EDGE_M = 0.01
# Weight of the border-length term against the balance term in the AZP objective.
_BORDER_WEIGHT = 0.01
# Up to this many micro-grids, AZP also runs from a region-k-means start (too slow beyond).
_RESTART_MAX_CELLS = 400


def generate_grid(
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry,
    *,
    crs: str | int | pyproj.CRS | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | str | Path | None = None,
    cell_size_m: float | None = None,
    shape: str = "square",
    station_id: str | None = None,
    station_name: str | None = None,
    base_count: int | None = None,
    config: StationConfig | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> gpd.GeoDataFrame:
    """Generate a 1+5+N grid (station, base grids, micro-grids) for a jurisdiction.

    Parameters
    ----------
    boundary
        The station jurisdiction: polygons in any CRS (dissolved into one station), or a shapely
        (Multi)Polygon together with ``crs``.
    crs
        CRS of ``boundary`` when it is a bare shapely geometry.
    incidents
        Points (any CRS) that weigh the workload; their ``weight`` column is used when present,
        otherwise each point counts 1. Without incidents, bases are balanced on area alone.
    streets
        Street lines (GeoDataFrame or a vector/OSM file path); required for ``shape="blocks"``.
    cell_size_m
        Edge of a square micro-grid in metres (hexagons have the same area). Default: the
        config's ``grid.cell_size_m``, else :data:`gridplan.settings.CELL_SIZE_M` (200 m).
    shape
        ``"square"``, ``"hex"`` (pointy-top) or ``"blocks"``.
    station_id
        Station code that prefixes every grid code. Default: the config's, else ``"S01"``.
    station_name
        Station name. Default: the config's ``station.name``.
    base_count
        Number of base grids. Default: the config's ``grid.base_count``, else 5.
    config
        Station configuration (also supplies ``crs.metric``).
    seed
        Seed of the regionalisation heuristics; the same inputs and seed give the same grid.
    progress
        Progress callback, called with stages ``"micro-grids"`` and ``"base grids"``.

    Returns
    -------
    GeoDataFrame
        A canonical GRID frame in EPSG:4326 (columns ``id``, ``level``, ``parent_id``,
        ``name``, ``geometry``; rows station, bases, micro-grids) with ``attrs["balance"]``.

    Raises
    ------
    InputError
        If the boundary has no polygon area, ``shape`` is unknown, the streets are missing or
        form no block, or the station is too small for ``base_count`` micro-grids.
    CRSError
        If an input has no CRS.

    Examples
    --------
    >>> import shapely
    >>> box = shapely.box(500_000, 5_000_000, 501_000, 5_000_800)
    >>> grid = generate_grid(box, crs="EPSG:32650", cell_size_m=200)
    >>> grid.level.value_counts().to_dict()
    {'micro': 20, 'base': 5, 'station': 1}
    >>> grid.id.iloc[:3].tolist()
    ['S01', 'S01-B1', 'S01-B2']
    """
    if shape not in SHAPES:
        msg = f"shape={shape!r} is not a grid layout; use one of {', '.join(SHAPES)}"
        raise InputError(msg)
    cell_size_m = _pick(cell_size_m, config and config.cell_size_m, settings.CELL_SIZE_M)
    station_id = _pick(station_id, config and config.station_id, "S01")
    station_name = _pick(station_name, config and config.station_name, "社区警务室")
    base_count = int(_pick(base_count, config and config.base_grid_count, 5))
    if not cell_size_m > 0:
        msg = f"cell_size_m={cell_size_m!r} must be a positive number of metres, e.g. 200"
        raise InputError(msg)
    if base_count < 1:
        msg = f"base_count={base_count!r} must be at least 1 (the 1+5+N rule uses 5)"
        raise InputError(msg)
    if shape == "blocks" and streets is None:
        msg = "shape='blocks' needs a street layer: pass streets=<lines or file path>"
        raise InputError(msg)

    station, mcrs = _station_geometry(boundary, crs=crs, config=config)
    cell_area = cell_size_m**2
    report(progress, "micro-grids", 0, 3)
    if shape == "blocks":
        pieces, keys = _block_pieces(station, streets, mcrs, cell_size_m)
    else:
        pieces, keys = _lattice_pieces(station, cell_size_m, shape)
    report(progress, "micro-grids", 1, 3)
    min_area = (TINY_BLOCK_SHARE if shape == "blocks" else SLIVER_SHARE) * cell_area
    groups = _merge_small(pieces, min_area)
    pieces, keys = _dissolve_groups(pieces, keys, groups)
    if shape == "blocks":
        groups = _group_blocks(pieces, BLOCK_GROUP_SHARE * cell_area, seed)
        pieces, keys = _dissolve_groups(pieces, keys, groups)
        keys = _centroid_keys(pieces, cell_size_m)
    report(progress, "micro-grids", 2, 3)
    adjacency = _edge_lengths(pieces)
    report(progress, "micro-grids", 3, 3)

    if len(pieces) < base_count:
        msg = (
            f"the station ({station.area / 1e6:.3f} km²) holds only {len(pieces)} micro-grid(s) "
            f"of {cell_size_m:g} m, fewer than base_count={base_count}; use a smaller "
            "cell_size_m or fewer base grids"
        )
        raise InputError(msg)

    areas = shapely.area(pieces)
    incident_weight = _incident_weights(incidents, pieces, mcrs)
    workload = _workload(areas, incident_weight)
    report(progress, "base grids", 0, 1)
    labels = _regionalise(pieces, adjacency, workload, base_count, seed)
    report(progress, "base grids", 1, 1)

    return _assemble(
        pieces=pieces,
        keys=keys,
        labels=labels,
        workload=workload,
        incident_weight=incident_weight,
        areas=areas,
        mcrs=mcrs,
        station_id=str(station_id),
        station_name=str(station_name),
        base_count=base_count,
        cell_size_m=float(cell_size_m),
        shape=shape,
        has_incidents=incidents is not None and incident_weight.sum() > 0,
    )


def _pick(*values):
    for value in values:
        if value is not None and value != "" and value is not False:
            return value
    return None


# --- station ------------------------------------------------------------------------------


def _station_geometry(boundary, *, crs, config) -> tuple[shapely.Geometry, pyproj.CRS]:
    """Dissolve the boundary into one polygonal geometry in the metric CRS."""
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gpd.GeoSeries(boundary.geometry).reset_index(drop=True))
        if gdf.crs is None and crs is not None:
            gdf = gdf.set_crs(parse_crs(crs, where="crs"))
        require_crs(gdf, where="station boundary")
    elif isinstance(boundary, shapely.Geometry):
        if crs is None:
            msg = (
                "the station boundary is a bare shapely geometry without a CRS; pass crs=, "
                "e.g. generate_grid(polygon, crs='EPSG:4326')"
            )
            raise CRSError(msg)
        gdf = gpd.GeoDataFrame(geometry=[boundary], crs=parse_crs(crs, where="crs"))
    else:
        msg = (
            f"boundary must be a GeoDataFrame, GeoSeries or shapely geometry, not "
            f"{type(boundary).__name__}; read the file first with gridplan.geo.read_vector"
        )
        raise InputError(msg)
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    polys = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        kinds = ", ".join(sorted(set(geoms.geom_type))) or "nothing"
        msg = (
            f"the station boundary holds no polygon (found: {kinds}); give the jurisdiction "
            "as a Polygon or MultiPolygon layer"
        )
        raise InputError(msg)
    mcrs = metric_crs(gdf, crs=config.metric_crs if config is not None else None)
    projected = polys.to_crs(mcrs).make_valid()
    station = _polygonal(shapely.union_all(projected.values))
    station = _polygonal(shapely.set_precision(station, _PRECISION_M))
    if station.is_empty or station.area <= 0:
        msg = "the station boundary has no area after dissolving; check the polygons"
        raise InputError(msg)
    return station, mcrs


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of ``geom`` (as a Polygon or MultiPolygon)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon) and p.area > 0]
    extra = [
        q
        for p in shapely.get_parts(geom)
        if isinstance(p, shapely.MultiPolygon | shapely.GeometryCollection)
        for q in shapely.get_parts(p)
        if isinstance(q, shapely.Polygon) and q.area > 0
    ]
    parts += extra
    if not parts:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    return shapely.union_all(parts)


# --- micro-grid pieces -----------------------------------------------------------------------


def _lattice_pieces(
    station: shapely.Geometry, size: float, shape: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return clipped lattice cells (exploded to single polygons) and their (row, col) keys."""
    minx, miny, maxx, maxy = station.bounds
    if shape == "square":
        x0 = math.floor(minx / size) * size
        y0 = math.floor(miny / size) * size
        nx = max(1, math.ceil((maxx - x0) / size))
        ny = max(1, math.ceil((maxy - y0) / size))
        col, row = np.meshgrid(np.arange(nx), np.arange(ny))
        col, row = col.ravel(), row.ravel()
        cells = shapely.box(
            x0 + col * size, y0 + row * size, x0 + (col + 1) * size, y0 + (row + 1) * size
        )
    else:
        # pointy-top hexagon of the same area as a size x size square
        radius = size * math.sqrt(2.0 / (3.0 * math.sqrt(3.0)))
        half_w = math.sqrt(3.0) * radius / 2.0
        half_r = radius / 2.0
        x0 = math.floor(minx / (2 * half_w)) * 2 * half_w - 2 * half_w
        y0 = math.floor(miny / (3 * half_r)) * 3 * half_r - 3 * half_r
        nx = math.ceil((maxx - x0) / (2 * half_w)) + 2
        ny = math.ceil((maxy - y0) / (3 * half_r)) + 2
        col, row = np.meshgrid(np.arange(nx), np.arange(ny))
        col, row = col.ravel(), row.ravel()
        # Vertices are computed from integer multiples of half a hexagon's width and half its
        # radius, so neighbouring hexagons share bit-identical vertices.
        kx = 2 * col + (row % 2)  # centre x in units of half_w
        ky = 3 * row  # centre y in units of half_r
        dx = np.array([1, 0, -1, -1, 0, 1])
        dy = np.array([1, 2, 1, -1, -2, -1])
        xs = x0 + (kx[:, None] + dx[None, :]) * half_w
        ys = y0 + (ky[:, None] + dy[None, :]) * half_r
        coords = np.stack([xs, ys], axis=-1)
        coords = np.concatenate([coords, coords[:, :1]], axis=1)
        cells = shapely.polygons(coords)
    tree = shapely.STRtree(cells)
    hit = tree.query(station, predicate="intersects")
    hit.sort()
    clipped = shapely.intersection(cells[hit], station)
    clipped = shapely.set_precision(clipped, _PRECISION_M)
    pieces, keys = [], []
    for geom, r, c in zip(clipped, row[hit], col[hit], strict=True):
        for part in shapely.get_parts(_polygonal(geom)):
            if part.area > 0:
                pieces.append(part)
                keys.append((int(r), int(c)))
    return np.array(pieces, dtype=object), np.array(keys, dtype=float).reshape(-1, 2)


def _read_streets(streets, mcrs: pyproj.CRS) -> gpd.GeoDataFrame:
    gdf = read_street_lines(streets)
    require_crs(gdf, where="street layer")
    return gdf.to_crs(mcrs)


def _block_pieces(
    station: shapely.Geometry, streets, mcrs: pyproj.CRS, size: float
) -> tuple[np.ndarray, np.ndarray]:
    """Polygonise street blocks inside the station; the station is covered without gaps."""
    gdf = _read_streets(streets, mcrs)
    if "highway" in gdf.columns:
        highway = gdf["highway"].astype("string").str.strip().str.lower()
        gdf = gdf[~highway.isin(NON_BLOCK_HIGHWAYS).fillna(False).to_numpy(dtype=bool)]
    lines = gdf.geometry[gdf.geometry.notna()].values
    lines = lines[np.isin(shapely.get_type_id(lines), [1, 2, 5])]  # (Multi)LineString, rings
    if len(lines) == 0:
        msg = (
            "the street layer holds no street line (after leaving out footways, service roads "
            "and paths); give a layer of LineStrings with the streets of the station"
        )
        raise InputError(msg)
    clipped = shapely.intersection(lines, station)
    clipped = clipped[~shapely.is_empty(clipped)]
    network = shapely.union_all([*clipped, shapely.boundary(station)])  # nodes the lines
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(network)))
    faces = faces[shapely.area(faces) > 0]
    inside = shapely.contains_properly(station, shapely.point_on_surface(faces))
    blocks = [shapely.set_precision(f, _PRECISION_M) for f in faces[inside]]
    covered = shapely.union_all(blocks) if blocks else shapely.Polygon()
    rest = _polygonal(shapely.set_precision(shapely.difference(station, covered), _PRECISION_M))
    pieces = [p for p in (*blocks, *shapely.get_parts(rest)) if p.area > 0]
    if not blocks:
        msg = (
            "the streets form no closed block inside the station; check that the street layer "
            "covers the jurisdiction (and is in the right CRS), or use shape='square'"
        )
        raise InputError(msg)
    pieces = [_polygonal(p) for p in pieces]
    pieces = [q for p in pieces for q in shapely.get_parts(p)]
    pieces_arr = np.array(pieces, dtype=object)
    return pieces_arr, _centroid_keys(pieces_arr, size)


def _centroid_keys(pieces: np.ndarray, size: float) -> np.ndarray:
    """Row/column keys from centroids, rows one cell high counted from the south."""
    cent = shapely.centroid(pieces)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    return np.column_stack([np.floor(y / size), x])


# --- merging -------------------------------------------------------------------------------


def _edge_lengths(pieces: np.ndarray) -> sparse.csr_matrix:
    """Symmetric matrix of shared-edge lengths (rook contiguity) between pieces."""
    n = len(pieces)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    tree = shapely.STRtree(pieces)
    left, right = tree.query(pieces, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    bounds = shapely.boundary(pieces)
    shared = shapely.length(shapely.intersection(bounds[left], bounds[right]))
    ok = shared > _MIN_EDGE_M
    left, right, shared = left[ok], right[ok], shared[ok]
    mat = sparse.coo_matrix((shared, (left, right)), shape=(n, n))
    return (mat + mat.T).tocsr()


def _merge_small(pieces: np.ndarray, min_area: float) -> np.ndarray:
    """Merge pieces smaller than ``min_area`` into neighbours; return a group label per piece.

    The smallest crumb goes first into the neighbour sharing its longest edge (ties: the larger
    neighbour, then the lower index). A crumb with no edge neighbour joins the nearest group.
    """
    n = len(pieces)
    group = np.arange(n)
    if n <= 1:
        return group
    area = {i: float(a) for i, a in enumerate(shapely.area(pieces))}
    edges: dict[int, dict[int, float]] = {i: {} for i in range(n)}
    mat = _edge_lengths(pieces).tocoo()
    for i, j, length in zip(mat.row, mat.col, mat.data, strict=True):
        edges[int(i)][int(j)] = float(length)
    members = {i: [i] for i in range(n)}
    tree = None
    while len(members) > 1:
        small = [g for g in members if area[g] < min_area]
        if not small:
            break
        g = min(small, key=lambda k: (area[k], k))
        if edges[g]:
            target = max(edges[g], key=lambda k: (edges[g][k], area[k], -k))
        else:
            if tree is None:
                tree = shapely.STRtree(pieces)
            others = np.array([i for i in range(n) if group[i] != g])
            dist = shapely.distance(shapely.union_all(pieces[members[g]]), pieces[others])
            target = int(group[others[int(np.argmin(dist))]])
        # merge g into target
        for k, length in edges.pop(g).items():
            edges[k].pop(g, None)
            if k != target:
                edges[target][k] = edges[target].get(k, 0.0) + length
                edges[k][target] = edges[k].get(target, 0.0) + length
        members[target].extend(members.pop(g))
        area[target] += area.pop(g)
        group[members[target]] = target
    return group


def _dissolve_groups(
    pieces: np.ndarray, keys: np.ndarray, group: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Union pieces by group; a group keeps the key of its largest piece."""
    areas = shapely.area(pieces)
    out, out_keys = [], []
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        geom = pieces[idx[0]] if len(idx) == 1 else shapely.union_all(pieces[idx])
        geom = _polygonal(shapely.set_precision(geom, _PRECISION_M))
        out.append(geom)
        out_keys.append(keys[idx[np.argmax(areas[idx])]])
    return np.array(out, dtype=object), np.array(out_keys, dtype=float).reshape(-1, 2)


def _group_blocks(blocks: np.ndarray, threshold: float, seed: int) -> np.ndarray:
    """Group street blocks into micro-grids of at least ``threshold`` m² with max-p."""
    n = len(blocks)
    areas = shapely.area(blocks)
    if n <= 1 or areas.sum() < 2 * threshold:
        return np.zeros(n, dtype=int)
    adjacency = _connect_components(blocks, _edge_lengths(blocks))
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    neighbors = {i: [int(j) for j in adjacency[i].indices] for i in range(n)}
    w = W(neighbors, silence_warnings=True)
    cent = shapely.centroid(blocks)
    frame = pd.DataFrame(
        {"x": shapely.get_x(cent), "y": shapely.get_y(cent), "area": areas}, index=range(n)
    )
    frame[["x", "y"]] = (frame[["x", "y"]] - frame[["x", "y"]].mean()) / math.sqrt(threshold)
    with _seeded(seed):
        model = MaxPHeuristic(
            frame,
            w,
            ["x", "y"],
            "area",
            threshold,
            top_n=2,
            max_iterations_construction=3,
            max_iterations_sa=1,
        )
        model.solve()
    labels = np.asarray(model.labels_, dtype=int)
    # max-p labels areas left out of every region with 0 or a negative; keep them as their own
    # micro-grid group so no area is lost, and merge them later if small.
    bad = labels <= 0
    if bad.any():
        labels = labels.copy()
        labels[bad] = labels.max() + 1 + np.arange(bad.sum())
    return labels


# --- workload and base grids ----------------------------------------------------------------


def _incident_weights(incidents, pieces: np.ndarray, mcrs: pyproj.CRS) -> np.ndarray:
    """Sum of incident weights (or counts) per micro-grid; a point on an edge counts once."""
    out = np.zeros(len(pieces))
    if incidents is None:
        return out
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = f"incidents must be a GeoDataFrame of points, not {type(incidents).__name__}"
        raise InputError(msg)
    require_crs(incidents, where="incidents")
    pts = incidents.geometry.to_crs(mcrs).values
    if "weight" in incidents.columns:
        weight = pd.to_numeric(incidents["weight"], errors="coerce").fillna(0.0).to_numpy(float)
    else:
        weight = np.ones(len(incidents))
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    pts, weight = pts[ok], weight[ok]
    if len(pts) == 0:
        return out
    tree = shapely.STRtree(pieces)
    point_idx, piece_idx = tree.query(pts, predicate="intersects")
    order = np.lexsort((piece_idx, point_idx))
    point_idx, piece_idx = point_idx[order], piece_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    np.add.at(out, piece_idx[first], weight[point_idx[first]])
    return out


def _workload(areas: np.ndarray, incident_weight: np.ndarray) -> np.ndarray:
    area_share = areas / areas.sum()
    total = incident_weight.sum()
    if total <= 0:
        return area_share
    share = INCIDENT_WORKLOAD_SHARE
    return share * incident_weight / total + (1 - share) * area_share


def _connect_components(pieces: np.ndarray, adjacency: sparse.csr_matrix) -> sparse.csr_matrix:
    """Link every connected component to its nearest other component (virtual edges)."""
    adj = adjacency.tocsr().copy()
    while True:
        n_comp, comp = csgraph.connected_components(adj, directed=False)
        if n_comp <= 1:
            return adj
        adj = _link_smallest(pieces, adj, comp, np.bincount(comp).astype(float))


def _link_smallest(
    pieces: np.ndarray, adj: sparse.csr_matrix, comp: np.ndarray, size: np.ndarray
) -> sparse.csr_matrix:
    """Add one virtual edge from the smallest component to the nearest other component."""
    small = int(np.argmin(size))
    inside = np.flatnonzero(comp == small)
    outside = np.flatnonzero(comp != small)
    tree = shapely.STRtree(pieces[outside])
    (src, dst), dist = tree.query_nearest(pieces[inside], return_distance=True, all_matches=False)
    best = int(np.argmin(dist))
    i, j = int(inside[src[best]]), int(outside[dst[best]])
    adj = adj.tolil()
    adj[i, j] = adj[j, i] = _MIN_EDGE_M  # tiny length: never the preferred link elsewhere
    return adj.tocsr()


def _regionalise(
    pieces: np.ndarray,
    adjacency: sparse.csr_matrix,
    workload: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """Label micro-grids with ``k`` contiguous, workload-balanced regions."""
    n = len(pieces)
    if k == 1:
        return np.zeros(n, dtype=int)
    target = workload.sum() / k
    adj = adjacency.tocsr().copy()
    # Parts of the station that cannot carry half a base on their own are tied to the nearest
    # other part; the rest keep their own bases.
    while True:
        n_comp, comp = csgraph.connected_components(adj, directed=False)
        if n_comp == 1:
            break
        load = np.bincount(comp, weights=workload, minlength=n_comp)
        counts = np.bincount(comp, minlength=n_comp)
        if n_comp <= k and load.min() >= 0.5 * target and _alloc_ok(load, counts, k):
            break
        adj = _link_smallest(pieces, adj, comp, load)
    n_comp, comp = csgraph.connected_components(adj, directed=False)
    load = np.bincount(comp, weights=workload, minlength=n_comp)
    counts = np.bincount(comp, minlength=n_comp)
    quota = _allocate(load, counts, k)

    cent = shapely.centroid(pieces)
    xy = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    area = shapely.area(pieces)
    labels = np.full(n, -1, dtype=int)
    next_label = 0
    for c in range(n_comp):
        idx = np.flatnonzero(comp == c)
        k_c = int(quota[c])
        if k_c == 1:
            labels[idx] = next_label
        else:
            sub = adj[idx][:, idx].tocsr()
            labels[idx] = next_label + _azp_balanced(
                sub, xy[idx], area[idx], workload[idx], k_c, seed
            )
        next_label += k_c
    return labels


def _alloc_ok(load: np.ndarray, counts: np.ndarray, k: int) -> bool:
    quota = _allocate(load, counts, k)
    return bool((quota >= 1).all() and (quota <= counts).all() and quota.sum() == k)


def _allocate(load: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Largest-remainder split of ``k`` regions over components (each at least one)."""
    n = len(load)
    raw = load / load.sum() * k
    quota = np.maximum(1, np.floor(raw)).astype(int)
    quota = np.minimum(quota, counts)
    while quota.sum() < k:
        room = quota < counts
        gap = np.where(room, raw - quota, -np.inf)
        quota[int(np.argmax(gap))] += 1
    while quota.sum() > k:
        spare = quota > 1
        gap = np.where(spare, quota - raw, -np.inf)
        quota[int(np.argmax(gap))] -= 1
    assert len(quota) == n
    return quota


class _seeded:
    """Seed Python's and NumPy's global generators (spopt uses them) and restore them after."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self._py = random.getstate()
        self._np = np.random.get_state()  # noqa: NPY002
        random.seed(self.seed)
        np.random.seed(self.seed)  # noqa: NPY002 - spopt draws from the global generator
        return self

    def __exit__(self, *exc):
        random.setstate(self._py)
        np.random.set_state(self._np)  # noqa: NPY002
        return False


def _balance_objective_class():
    from spopt.region.objective_function import ObjectiveFunction

    class BalanceObjective(ObjectiveFunction):
        """Squared relative workload deviation plus a penalty on the length of base borders.

        ``attr`` column 0 is the workload. ``edges`` holds the shared-edge lengths between
        micro-grids divided by a length scale; the border term is the total length of edges
        whose two sides lie in different regions, which keeps base grids compact and their
        borders smooth. The change of a move is computed from the moving cell's edges only.
        """

        def __init__(self, n_regions: int, edges: sparse.csr_matrix, border_weight: float):
            super().__init__()
            self.n_regions = n_regions
            self.edges = edges.tocsr()
            self.border_weight = border_weight

        def __call__(self, labels, attr):
            load = np.bincount(labels.astype(int), weights=attr[:, 0])
            mean_load = attr[:, 0].sum() / self.n_regions
            balance = float((((load - mean_load) / mean_load) ** 2).sum())
            coo = self.edges.tocoo()
            cut = coo.data[labels[coo.row] != labels[coo.col]].sum() / 2
            return balance + self.border_weight * float(cut)

        def update(self, moving_area, recipient_region, labels, attr):
            donor = labels[moving_area]
            mean_load = attr[:, 0].sum() / self.n_regions
            w = attr[moving_area, 0]
            load_d = attr[labels == donor, 0].sum()
            load_r = attr[labels == recipient_region, 0].sum()
            balance = (
                ((load_d - w - mean_load) ** 2 + (load_r + w - mean_load) ** 2)
                - ((load_d - mean_load) ** 2 + (load_r - mean_load) ** 2)
            ) / mean_load**2
            row = slice(self.edges.indptr[moving_area], self.edges.indptr[moving_area + 1])
            nbr_labels = labels[self.edges.indices[row]]
            lengths = self.edges.data[row]
            cut = lengths[nbr_labels == donor].sum() - lengths[nbr_labels == recipient_region].sum()
            return float(balance + self.border_weight * cut)

    return BalanceObjective


def _azp_balanced(
    adj: sparse.csr_matrix,
    xy: np.ndarray,
    area: np.ndarray,
    workload: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """AZP with a balance objective, started from spatially constrained Ward clustering."""
    import warnings

    from libpysal.weights import W
    from spopt.region import RegionKMeansHeuristic
    from spopt.region import WardSpatial
    from spopt.region.azp import AZPOrig

    n = adj.shape[0]
    scale = math.sqrt(area.sum() / k)
    coords = (xy - xy.mean(axis=0)) / scale
    binary = adj.copy()
    binary.data = np.ones_like(binary.data)
    neighbors = {i: [int(j) for j in binary[i].indices if j != i] for i in range(n)}
    w = W(neighbors, silence_warnings=True)
    frame = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1]})
    # Border lengths in units of the station's side (sqrt of its area): cutting one more cell
    # edge must buy a clear gain in balance.
    edges = adj / math.sqrt(area.sum())
    objective = _balance_objective_class()(k, edges, _BORDER_WEIGHT)
    attr = workload.reshape(-1, 1)
    starts = []
    with _seeded(seed):
        with warnings.catch_warnings():
            # sklearn warns when the connectivity graph needs completing; ours is connected
            warnings.simplefilter("ignore", UserWarning)
            ward = WardSpatial(frame, w, ["x", "y"], n_clusters=k)
            ward.solve()
        starts.append(np.asarray(ward.labels_, dtype=int))
        if n <= _RESTART_MAX_CELLS:
            # region-k-means is slow on thousands of cells but gives a second compact start
            rkm = RegionKMeansHeuristic(coords, k, w, drop_islands=True, seed=seed)
            rkm.solve()
            starts.append(np.asarray(rkm.labels_, dtype=int))
    best, best_value = None, math.inf
    for i, initial in enumerate(starts):
        with _seeded(seed + i):
            azp = AZPOrig(random_state=seed + i)
            azp.fit_from_scipy_sparse_matrix(
                binary, attr, k, initial_labels=initial, objective_func=objective
            )
        labels = np.asarray(azp.labels_, dtype=int)
        value = objective(labels, attr)
        if value < best_value - 1e-12:
            best, best_value = labels, value
    _, labels = np.unique(best, return_inverse=True)
    return labels


# --- assembling the frame -------------------------------------------------------------------


def _assemble(
    *,
    pieces: np.ndarray,
    keys: np.ndarray,
    labels: np.ndarray,
    workload: np.ndarray,
    incident_weight: np.ndarray,
    areas: np.ndarray,
    mcrs: pyproj.CRS,
    station_id: str,
    station_name: str,
    base_count: int,
    cell_size_m: float,
    shape: str,
    has_incidents: bool,
) -> gpd.GeoDataFrame:
    region_ids = np.unique(labels)
    base_geoms = {r: _polygonal(shapely.union_all(pieces[labels == r])) for r in region_ids}
    # north-west to south-east: ascending x - y of the base centroid
    order = sorted(
        region_ids,
        key=lambda r: (base_geoms[r].centroid.x - base_geoms[r].centroid.y, int(r)),
    )
    base_no = {r: i + 1 for i, r in enumerate(order)}
    station_geom = _polygonal(shapely.union_all(list(base_geoms.values())))

    ids, levels, parents, names, geoms = (
        [station_id],
        ["station"],
        [None],
        [station_name],
        [station_geom],
    )
    micro_rows: list[tuple[str, str, str, str, Any]] = []
    balance_rows = {}
    for r in order:
        b = base_no[r]
        base_id = f"{station_id}-B{b}"
        ids.append(base_id)
        levels.append("base")
        parents.append(station_id)
        names.append(f"第{b}基础网格")
        geoms.append(base_geoms[r])
        idx = np.flatnonzero(labels == r)
        # row-major: north to south (descending row), then west to east
        idx = idx[np.lexsort((keys[idx, 1], -keys[idx, 0]))]
        width = max(3, len(str(len(idx))))
        for m, i in enumerate(idx, start=1):
            code = f"M{m:0{width}d}"
            micro_rows.append(
                (f"{base_id}-{code}", "micro", base_id, f"微网格 B{b}-{code}", pieces[i])
            )
        balance_rows[base_id] = {
            "workload": float(workload[idx].sum()),
            "incidents": float(incident_weight[idx].sum()),
            "area_m2": float(areas[idx].sum()),
            "micro_count": len(idx),
        }
    for row in micro_rows:
        ids.append(row[0])
        levels.append(row[1])
        parents.append(row[2])
        names.append(row[3])
        geoms.append(row[4])

    gdf = gpd.GeoDataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "level": pd.Series(levels, dtype=object),
            "parent_id": pd.Series(parents, dtype=object),
            "name": pd.Series(names, dtype=object),
        },
        geometry=gpd.GeoSeries(geoms, crs=mcrs),
    ).to_crs(settings.OUTPUT_CRS)
    loads = [v["workload"] for v in balance_rows.values()]
    gdf.attrs["balance"] = {
        "method": "spopt AZP (balanced workload + compactness), region-k-means start",
        "workload_basis": "0.5 incidents + 0.5 area" if has_incidents else "area",
        "shape": shape,
        "cell_size_m": cell_size_m,
        "metric_crs": mcrs.to_string(),
        "bases": balance_rows,
        "max_min_ratio": float(max(loads) / min(loads)) if min(loads) > 0 else math.inf,
        "max_deviation": float(max(abs(x * base_count - 1) for x in loads)),
    }
    return gdf


def balance_table(grid: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the per-base balance figures of a generated grid as a table.

    Parameters
    ----------
    grid
        A frame returned by :func:`generate_grid` (it carries ``attrs["balance"]``).

    Returns
    -------
    DataFrame
        One row per base grid: ``workload`` (share of the station, sums to 1), ``incidents``
        (incident weight), ``area_m2`` and ``micro_count``.

    Raises
    ------
    InputError
        If the frame carries no balance figures (it was not made by :func:`generate_grid`).

    Examples
    --------
    >>> import shapely
    >>> grid = generate_grid(shapely.box(0, 0, 1000, 800), crs="EPSG:32650")
    >>> balance_table(grid).shape
    (5, 4)
    """
    info = grid.attrs.get("balance")
    if not info:
        msg = (
            "the grid carries no balance figures (attrs['balance']); they exist only on a "
            "frame returned by generate_grid"
        )
        raise InputError(msg)
    return pd.DataFrame.from_dict(info["bases"], orient="index")
