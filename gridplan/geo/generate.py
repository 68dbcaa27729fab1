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

This module holds steps 1 and 4 and the public entry points; the micro-grid cells are made in
:mod:`gridplan.geo._cells` (lattices, merging crumbs) and :mod:`gridplan.geo._blocks` (street
blocks), the base grids in :mod:`gridplan.geo._regions`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridplan import settings
from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.geo._blocks import BLOCK_GROUP_SHARE as BLOCK_GROUP_SHARE
from gridplan.geo._blocks import NON_BLOCK_HIGHWAYS as NON_BLOCK_HIGHWAYS
from gridplan.geo._blocks import TINY_BLOCK_SHARE as TINY_BLOCK_SHARE
from gridplan.geo._blocks import block_pieces
from gridplan.geo._blocks import group_blocks
from gridplan.geo._cells import PRECISION_M
from gridplan.geo._cells import SLIVER_SHARE as SLIVER_SHARE
from gridplan.geo._cells import centroid_keys
from gridplan.geo._cells import dissolve_groups
from gridplan.geo._cells import edge_lengths
from gridplan.geo._cells import lattice_pieces
from gridplan.geo._cells import merge_small
from gridplan.geo._cells import polygonal
from gridplan.geo._regions import INCIDENT_WORKLOAD_SHARE as INCIDENT_WORKLOAD_SHARE
from gridplan.geo._regions import compute_workload
from gridplan.geo._regions import incident_weights
from gridplan.geo._regions import regionalise
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import parse_crs
from gridplan.geo.crs import require_crs
from gridplan.station.config import StationConfig

SHAPES = ("square", "hex", "blocks")


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
        pieces, keys = block_pieces(station, streets, mcrs, cell_size_m)
    else:
        pieces, keys = lattice_pieces(station, cell_size_m, shape)
    report(progress, "micro-grids", 1, 3)
    min_area = (TINY_BLOCK_SHARE if shape == "blocks" else SLIVER_SHARE) * cell_area
    groups = merge_small(pieces, min_area)
    pieces, keys = dissolve_groups(pieces, keys, groups)
    if shape == "blocks":
        groups = group_blocks(pieces, BLOCK_GROUP_SHARE * cell_area, seed)
        pieces, keys = dissolve_groups(pieces, keys, groups)
        keys = centroid_keys(pieces, cell_size_m)
    report(progress, "micro-grids", 2, 3)
    adjacency = edge_lengths(pieces)
    report(progress, "micro-grids", 3, 3)

    if len(pieces) < base_count:
        msg = (
            f"the station ({station.area / 1e6:.3f} km²) holds only {len(pieces)} micro-grid(s) "
            f"of {cell_size_m:g} m, fewer than base_count={base_count}; use a smaller "
            "cell_size_m or fewer base grids"
        )
        raise InputError(msg)

    areas = shapely.area(pieces)
    incident_weight = incident_weights(incidents, pieces, mcrs)
    workload = compute_workload(areas, incident_weight)
    report(progress, "base grids", 0, 1)
    labels = regionalise(pieces, adjacency, workload, base_count, seed)
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
    mcrs = metric_crs(
        gdf,
        crs=config.metric_crs if config is not None else None,
        source=config.source if config is not None else "",
    )
    projected = polys.to_crs(mcrs).make_valid()
    station = polygonal(shapely.union_all(projected.values))
    station = polygonal(shapely.set_precision(station, PRECISION_M))
    if station.is_empty or station.area <= 0:
        msg = "the station boundary has no area after dissolving; check the polygons"
        raise InputError(msg)
    return station, mcrs


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
    base_geoms = {r: polygonal(shapely.union_all(pieces[labels == r])) for r in region_ids}
    # north-west to south-east: ascending x - y of the base centroid
    order = sorted(
        region_ids,
        key=lambda r: (base_geoms[r].centroid.x - base_geoms[r].centroid.y, int(r)),
    )
    base_no = {r: i + 1 for i, r in enumerate(order)}
    station_geom = polygonal(shapely.union_all(list(base_geoms.values())))

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
