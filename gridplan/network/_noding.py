"""Junctions a line layer leaves out: streets that cross or meet without a shared vertex.

OpenStreetMap ways share a node wherever they meet, but line layers exported from survey or
CAD data often do not: two streets drawn across each other, or a side street ending on the
middle of a main street's segment. Without a shared vertex the graph has no junction there,
and a patrol cannot turn. :func:`node_lines` adds the missing vertices, on both lines:

- where two lines cross or touch (their intersection points);
- where a line ends within ``snap_m`` of another line's segment (a side street drawn a
  little short or long; the vertex goes where the end projects onto the other line).

Lines on different levels never meet, as OSM's convention has it: a ``bridge`` over a
street, a ``tunnel`` under it, a different ``layer``. Those crossings are counted and kept
apart. :func:`snap_vertices` then cuts every line into segments of at most :data:`SEGMENT_M`,
so that clipping to the station keeps a street that passes through it between two far
vertices, and gives vertices within ``snap_m`` one node.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import shapely

#: Longest segment after noding, metres: clipping keeps each street piece near the station.
SEGMENT_M = 50.0
_YES = frozenset({"yes", "true", "1", "viaduct", "building_passage", "culvert", "covered"})


@dataclasses.dataclass(frozen=True)
class Noding:
    """What :func:`node_lines` did: junctions added, crossings kept apart by level."""

    joined: int  # places where a vertex was added to one or both lines
    apart: int  # crossings of lines on different levels


def levels(frame: pd.DataFrame, columns: dict[str, str]) -> np.ndarray:
    """Each line's level: ``layer`` (default 0), then bridge and tunnel flags, as text."""
    n = len(frame)

    def column(key: str) -> list[str]:
        name = columns.get(key)
        if name is None:
            return [""] * n
        return ["" if v is None or v != v else str(v).strip().lower() for v in frame[name]]

    layer = [v or "0" for v in column("layer")]
    bridge = ["b" if v in _YES else "" for v in column("bridge")]
    tunnel = ["t" if v in _YES else "" for v in column("tunnel")]
    return np.array([f"{a}|{b}|{c}" for a, b, c in zip(layer, bridge, tunnel, strict=True)])


def node_lines(lines: np.ndarray, level: np.ndarray, *, snap_m: float) -> tuple[np.ndarray, Noding]:
    """Return the lines (metric CRS) with vertices where they meet, and what was added.

    Parameters
    ----------
    lines
        LineStrings in a metric CRS.
    level
        A label per line (:func:`levels`); only lines of the same level are joined.
    snap_m
        A line end this close to another line's segment meets it there.
    """
    tree = shapely.STRtree(lines)
    left, right = tree.query(lines, predicate="dwithin", distance=snap_m)
    pair = left < right
    left, right = left[pair], right[pair]
    same = level[left] == level[right]
    apart = int((~same & shapely.crosses(lines[left], lines[right])).sum())
    # ends meet whatever the level (a bridge's ends join the street it starts from);
    # interiors cross without meeting unless on the same level
    found = [
        _meeting_points(lines, left[same], right[same]),
        _end_projections(lines, left, right, snap_m),
        _end_projections(lines, right, left, snap_m),
    ]
    owner = np.concatenate([f[0] for f in found])
    points = np.concatenate([f[1] for f in found])
    keep = np.isfinite(points).all(axis=1)
    noded, added = _insert(lines, owner[keep], points[keep])
    return noded, Noding(joined=added, apart=apart)


def snap_vertices(lines: np.ndarray, level: np.ndarray, *, snap_m: float):
    """Vertices of ``lines`` and a node label for each: vertices within ``snap_m`` share one.

    Interior vertices of lines on different levels never share a node (a bridge over a
    street); the end of a line joins whatever is there.

    Returns
    -------
    coords, owner, label
        Every vertex's coordinates, its line and its node label (0 .. nodes - 1).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    original = shapely.get_coordinates(lines)
    coords, owner = shapely.get_coordinates(shapely.segmentize(lines, SEGMENT_M), return_index=True)
    n = len(coords)
    starts = np.searchsorted(owner, np.arange(len(lines) + 1))
    is_end = np.zeros(n, dtype=bool)
    is_end[starts[:-1][np.diff(starts) > 0]] = True
    is_end[starts[1:][np.diff(starts) > 0] - 1] = True
    pairs = cKDTree(coords).query_pairs(snap_m, output_type="ndarray")
    a, b = pairs[:, 0], pairs[:, 1]
    ok = (level[owner[a]] == level[owner[b]]) | is_end[a] | is_end[b]
    adjacency = coo_matrix((np.ones(int(ok.sum())), (a[ok], b[ok])), shape=(n, n))
    _, label = connected_components(adjacency, directed=False)
    return coords, owner, _number_originals_first(coords, original, label)


def _number_originals_first(coords: np.ndarray, original: np.ndarray, label: np.ndarray):
    """Renumber nodes: the line layer's own vertices first, in their order, then the rest.

    The node ids of a layer then do not depend on the points cutting added between them.
    """
    as_complex = coords[:, 0] + 1j * coords[:, 1]
    is_original = np.isin(as_complex, original[:, 0] + 1j * original[:, 1])
    n = len(coords)
    key = np.where(is_original, np.arange(n), n + np.arange(n))
    first = np.full(label.max() + 1 if n else 0, 2 * n)
    np.minimum.at(first, label, key)
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[label]


def _meeting_points(lines, left, right) -> tuple[np.ndarray, np.ndarray]:
    """Where each pair of lines meets: (owner line, point) for both lines of the pair."""
    if len(left) == 0:
        return np.empty(0, dtype=np.intp), np.empty((0, 2))
    meet = shapely.intersection(lines[left], lines[right])
    coords, index = shapely.get_coordinates(meet, return_index=True)
    owner = np.concatenate([left[index], right[index]])
    return owner, np.concatenate([coords, coords])


def _end_projections(lines, ends_of, onto, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the ends of ``lines[ends_of]`` near ``lines[onto]`` fall on it: (onto, point)."""
    owners, points = [np.empty(0, dtype=np.intp)], [np.empty((0, 2))]
    if len(ends_of) == 0:
        return owners[0], points[0]
    for end in (shapely.get_point(lines[ends_of], 0), shapely.get_point(lines[ends_of], -1)):
        near = shapely.distance(end, lines[onto]) <= snap_m
        target = lines[onto][near]
        at = shapely.line_interpolate_point(target, shapely.line_locate_point(target, end[near]))
        owners.append(onto[near])
        points.append(shapely.get_coordinates(at))
    return np.concatenate(owners), np.concatenate(points)


def _insert(lines: np.ndarray, owner: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, int]:
    """Add ``points`` as vertices of their ``owner`` lines; return the lines and the places."""
    out = lines.copy()
    added = []
    order = np.argsort(owner, kind="stable")
    owner, points = owner[order], points[order]
    bounds = np.flatnonzero(np.diff(owner)) + 1
    for chunk in np.split(np.arange(len(owner)), bounds):
        if len(chunk) == 0:
            continue
        i = owner[chunk[0]]
        coords = shapely.get_coordinates(lines[i])
        new = np.unique(points[chunk], axis=0)
        gap = np.min(np.hypot(*(coords[:, None, :] - new[None, :, :]).transpose(2, 0, 1)), axis=0)
        new = new[gap > 1e-6]
        if len(new) == 0:
            continue
        along = shapely.line_locate_point(lines[i], shapely.points(coords))
        at = shapely.line_locate_point(lines[i], shapely.points(new))
        merged = np.concatenate([coords, new])
        rank = np.argsort(np.concatenate([along, at]), kind="stable")
        out[i] = shapely.linestrings(merged[rank])
        added.append(new)
    # a junction is one place, whether one line or both lacked the vertex there
    places = np.unique(np.concatenate(added).round(3), axis=0) if added else ()
    return out, len(places)
