"""Micro-grid cells: square or hexagon lattices clipped to the station, and merging crumbs.

Part of :func:`gridplan.geo.generate.generate_grid` (step 2 of its pipeline). Everything here
works in the station's metric CRS on NumPy arrays of shapely polygons ("pieces").
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy import sparse

#: A clipped cell smaller than this share of a full cell is merged into a neighbour.
SLIVER_SHARE = 0.3

#: Coordinates are snapped to 1 mm so that neighbouring cells share vertices exactly.
PRECISION_M = 0.001
#: A shared edge shorter than this is a touching corner, not rook contiguity.
MIN_EDGE_M = 0.01


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
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


def lattice_pieces(
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
    clipped = shapely.set_precision(clipped, PRECISION_M)
    pieces, keys = [], []
    for geom, r, c in zip(clipped, row[hit], col[hit], strict=True):
        for part in shapely.get_parts(polygonal(geom)):
            if part.area > 0:
                pieces.append(part)
                keys.append((int(r), int(c)))
    return np.array(pieces, dtype=object), np.array(keys, dtype=float).reshape(-1, 2)


def centroid_keys(pieces: np.ndarray, size: float) -> np.ndarray:
    """Row/column keys from centroids, rows one cell high counted from the south."""
    cent = shapely.centroid(pieces)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    return np.column_stack([np.floor(y / size), x])


# --- merging -------------------------------------------------------------------------------


def edge_lengths(pieces: np.ndarray) -> sparse.csr_matrix:
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
    ok = shared > MIN_EDGE_M
    left, right, shared = left[ok], right[ok], shared[ok]
    mat = sparse.coo_matrix((shared, (left, right)), shape=(n, n))
    return (mat + mat.T).tocsr()


def merge_small(pieces: np.ndarray, min_area: float) -> np.ndarray:
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
    mat = edge_lengths(pieces).tocoo()
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


def dissolve_groups(
    pieces: np.ndarray, keys: np.ndarray, group: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Union pieces by group; a group keeps the key of its largest piece."""
    areas = shapely.area(pieces)
    out, out_keys = [], []
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        geom = pieces[idx[0]] if len(idx) == 1 else shapely.union_all(pieces[idx])
        geom = polygonal(shapely.set_precision(geom, PRECISION_M))
        out.append(geom)
        out_keys.append(keys[idx[np.argmax(areas[idx])]])
    return np.array(out, dtype=object), np.array(out_keys, dtype=float).reshape(-1, 2)
