"""Street blocks: micro-grids polygonised from a street layer and grouped to a cell's area.

Part of :func:`gridplan.geo.generate.generate_grid` (``shape="blocks"``). Footways, service
roads, paths and the like do not cut blocks; blocks are grouped into micro-grids of at least
``BLOCK_GROUP_SHARE`` of a cell's area with spopt's :class:`~spopt.region.MaxPHeuristic`.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridplan._errors import InputError
from gridplan.geo._cells import PRECISION_M
from gridplan.geo._cells import centroid_keys
from gridplan.geo._cells import edge_lengths
from gridplan.geo._cells import polygonal
from gridplan.geo._regions import connect_components
from gridplan.geo._regions import seeded
from gridplan.geo.crs import require_crs
from gridplan.geo.streets import read_street_lines

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


def _read_streets(streets, mcrs: pyproj.CRS) -> gpd.GeoDataFrame:
    gdf = read_street_lines(streets)
    require_crs(gdf, where="street layer")
    return gdf.to_crs(mcrs)


def block_pieces(
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
    blocks = [shapely.set_precision(f, PRECISION_M) for f in faces[inside]]
    covered = shapely.union_all(blocks) if blocks else shapely.Polygon()
    rest = polygonal(shapely.set_precision(shapely.difference(station, covered), PRECISION_M))
    pieces = [p for p in (*blocks, *shapely.get_parts(rest)) if p.area > 0]
    if not blocks:
        msg = (
            "the streets form no closed block inside the station; check that the street layer "
            "covers the jurisdiction (and is in the right CRS), or use shape='square'"
        )
        raise InputError(msg)
    pieces = [polygonal(p) for p in pieces]
    pieces = [q for p in pieces for q in shapely.get_parts(p)]
    pieces_arr = np.array(pieces, dtype=object)
    return pieces_arr, centroid_keys(pieces_arr, size)


def group_blocks(blocks: np.ndarray, threshold: float, seed: int) -> np.ndarray:
    """Group street blocks into micro-grids of at least ``threshold`` m² with max-p."""
    n = len(blocks)
    areas = shapely.area(blocks)
    if n <= 1 or areas.sum() < 2 * threshold:
        return np.zeros(n, dtype=int)
    adjacency = connect_components(blocks, edge_lengths(blocks))
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    neighbors = {i: [int(j) for j in adjacency[i].indices] for i in range(n)}
    w = W(neighbors, silence_warnings=True)
    cent = shapely.centroid(blocks)
    frame = pd.DataFrame(
        {"x": shapely.get_x(cent), "y": shapely.get_y(cent), "area": areas}, index=range(n)
    )
    frame[["x", "y"]] = (frame[["x", "y"]] - frame[["x", "y"]].mean()) / math.sqrt(threshold)
    with seeded(seed):
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
