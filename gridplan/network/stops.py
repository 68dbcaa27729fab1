"""Patrol stops: one access point on the street network per micro-grid.

A patrol "stops" at a micro-grid by reaching a street node and staying there. The access
point of a micro-grid is the network node nearest to its *risk-weighted centre* (the
weighted mean of the incidents inside it, or its representative point when it has none),
chosen among the nodes inside the micro-grid when there are any; otherwise the nearest node
overall is taken and flagged (``inside`` is False). Nearest-node queries use a KD-tree
(:class:`scipy.spatial.cKDTree`) and spatial indexes, never Python loops over nodes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gridplan import settings
from gridplan._errors import InputError
from gridplan.geo.crs import require_crs
from gridplan.geo.grid import micro_grids
from gridplan.network.graphs import Profile
from gridplan.network.graphs import StreetNetwork
from gridplan.station.timeslices import TimeSlice

#: Columns of the frame returned by :func:`access_points`.
ACCESS_COLUMNS = (
    "id",
    "name",
    "parent_id",
    "node",
    "inside",
    "distance_m",
    "centre",
    "weight",
    "score",
    "geometry",
)


def snap_points(
    points: gpd.GeoDataFrame,
    network: StreetNetwork,
    *,
    profile: Profile,
) -> gpd.GeoDataFrame:
    """Return ``points`` with the nearest node of the ``profile`` graph and the distance to it.

    Use it for the station (or any start and end place) before building a travel matrix.

    Parameters
    ----------
    points
        Point GeoDataFrame with a CRS; other geometries are replaced by their representative
        point.
    network
        The :class:`~gridplan.network.graphs.StreetNetwork`.
    profile
        ``"walk"`` or ``"ride"``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326 with new columns ``node`` (int) and ``distance_m``; the geometry
        is unchanged (the original place, not the node).

    Examples
    --------
    >>> station = gpd.GeoDataFrame({"id": ["station"]}, geometry=[pt], crs=4326)  # doctest: +SKIP
    >>> snap_points(station, net, profile="ride")[["id", "node", "distance_m"]]  # doctest: +SKIP
    """
    require_crs(points, where="points")
    nodes = network.node_frame(profile)
    xy = shapely.get_coordinates(points.to_crs(network.crs).geometry.representative_point().values)
    distance, index = cKDTree(nodes[["x", "y"]].to_numpy()).query(xy)
    out = points.copy()
    out["node"] = nodes.index.to_numpy()[index]
    out["distance_m"] = np.round(distance, 2)
    return out.to_crs(settings.OUTPUT_CRS)


def _weighted_points(
    points: gpd.GeoDataFrame, time_slice: TimeSlice | str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (x/y in the frame's CRS, weights) of the incidents of ``time_slice``."""
    gdf = points[points.geometry.notna() & (points.geom_type == "Point")]
    if time_slice is not None:
        if not isinstance(time_slice, TimeSlice):
            msg = (
                f"slice {time_slice!r}: weighting by incidents needs the TimeSlice object (for "
                "example config.slices[0]), not its id, to know which times fall in it"
            )
            raise InputError(msg)
        if "time" not in gdf.columns:
            msg = "the incidents have no 'time' column, so they cannot be split by time slice"
            raise InputError(msg)
        from gridplan.station.timeslices import assign_slices

        mask = assign_slices(gdf["time"], [time_slice])[time_slice.id].to_numpy()
        gdf = gdf[mask]
    column = next((c for c in ("weight", "score") if c in gdf.columns), None)
    weight = (
        pd.to_numeric(gdf[column], errors="coerce").to_numpy(dtype=float)
        if column
        else np.ones(len(gdf))
    )
    ok = np.isfinite(weight) & (weight > 0)
    return shapely.get_coordinates(gdf.geometry.values)[ok], weight[ok]


def access_points(
    grid: gpd.GeoDataFrame,
    hotspots_or_incidents: gpd.GeoDataFrame | None,
    network: StreetNetwork,
    *,
    profile: Profile,
    slice: TimeSlice | str | None = None,
) -> gpd.GeoDataFrame:
    """Return one access point (a network node) per micro-grid.

    Parameters
    ----------
    grid
        The GRID frame (its ``micro`` rows are used; a frame without ``level`` is taken as
        micro-grids).
    hotspots_or_incidents
        The INCIDENTS frame (points with ``weight``, or ``score``): each micro-grid's centre
        is the weighted mean of its incidents, only those of ``slice`` when one is given.
        Or the hot-spot frame of :func:`gridplan.compute_hotspots` (polygons, one row per
        micro-grid and slice): it carries no location inside a micro-grid, so centres are
        representative points, and its ``score`` for ``slice`` (default ``"all"``) is copied.
        ``None``: representative points.
    network
        The :class:`~gridplan.network.graphs.StreetNetwork`.
    profile
        ``"walk"`` or ``"ride"``: whose graph the nodes come from.
    slice
        A :class:`~gridplan.station.timeslices.TimeSlice` (for incidents) or a slice id
        (for hot spots).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326, one row per micro-grid in grid order, the geometry being the access
        node: ``id``, ``name``, ``parent_id`` of the micro-grid, ``node`` (node id in the
        ``profile`` graph), ``inside`` (the node lies in the micro-grid; False means no node
        does and the nearest one outside was taken), ``distance_m`` (node to centre),
        ``centre`` (``"incidents"`` or ``"representative_point"``), ``weight`` (incident
        weight behind the centre, 0 without), ``score`` (hot-spot score, NaN without).

    Raises
    ------
    InputError
        If the grid has no micro-grids or ``slice`` cannot be applied.

    Examples
    --------
    >>> stops = access_points(gdf_grid, gdf_incidents, net, profile="walk")  # doctest: +SKIP
    >>> stops[~stops["inside"]]  # micro-grids without a street node of their own  # doctest: +SKIP
    """
    micro = micro_grids(grid)
    polygons = micro.to_crs(network.crs).geometry.values
    n = len(micro)
    centres = shapely.get_coordinates(shapely.point_on_surface(polygons))
    method = np.full(n, "representative_point", dtype=object)
    weight_sum = np.zeros(n)
    score = np.full(n, np.nan)

    points = hotspots_or_incidents
    if points is not None:
        require_crs(points, where="incidents")
        kinds = set(points.geom_type.dropna())
        if kinds <= {"Point"} and kinds:
            xy, weight = _weighted_points(points.to_crs(network.crs), slice)
            if len(xy):
                hit_point, hit_poly = shapely.STRtree(polygons).query(
                    shapely.points(xy), predicate="within"
                )
                # a point on a shared edge counts once, for the first micro-grid
                first = ~pd.Series(hit_point).duplicated().to_numpy()
                hit_point, hit_poly = hit_point[first], hit_poly[first]
                w = weight[hit_point]
                weight_sum = np.bincount(hit_poly, weights=w, minlength=n)
                sx = np.bincount(hit_poly, weights=w * xy[hit_point, 0], minlength=n)
                sy = np.bincount(hit_poly, weights=w * xy[hit_point, 1], minlength=n)
                has = weight_sum > 0
                centres[has, 0] = sx[has] / weight_sum[has]
                centres[has, 1] = sy[has] / weight_sum[has]
                method[has] = "incidents"
        elif "score" in points.columns and "id" in points.columns:
            slice_id = slice.id if isinstance(slice, TimeSlice) else (slice or "all")
            rows = points[points["slice"] == slice_id] if "slice" in points.columns else points
            if "slice" in points.columns and rows.empty:
                found = ", ".join(map(str, pd.unique(points["slice"])))
                msg = f"the hot spots have no slice {slice_id!r}; slices found: {found}"
                raise InputError(msg)
            lookup = pd.Series(rows["score"].to_numpy(float), index=rows["id"].astype(str))
            score = lookup.reindex(micro["id"].astype(str)).to_numpy(dtype=float)
        else:
            msg = (
                "hotspots_or_incidents must be incident points (with 'weight') or the hot-spot "
                f"frame (with 'id' and 'score'); got geometries {sorted(kinds)} and columns "
                f"{', '.join(map(str, points.columns[:10]))}"
            )
            raise InputError(msg)

    nodes = network.node_frame(profile)
    node_ids = nodes.index.to_numpy()
    node_xy = nodes[["x", "y"]].to_numpy()
    chosen = np.full(n, -1, dtype=np.int64)
    inside = np.zeros(n, dtype=bool)
    hit_node, hit_poly = shapely.STRtree(polygons).query(
        shapely.points(node_xy), predicate="within"
    )
    if len(hit_node):
        d = np.hypot(*(node_xy[hit_node] - centres[hit_poly]).T)
        order = np.lexsort((d, hit_poly))
        first = order[np.r_[True, np.diff(hit_poly[order]) != 0]]
        chosen[hit_poly[first]] = hit_node[first]
        inside[hit_poly[first]] = True
    missing = np.flatnonzero(chosen < 0)
    if len(missing):
        _, nearest = cKDTree(node_xy).query(centres[missing])
        chosen[missing] = nearest
    distance = np.hypot(*(node_xy[chosen] - centres).T)

    out = gpd.GeoDataFrame(
        {
            "id": micro["id"].astype(str).to_numpy(),
            "name": micro["name"].to_numpy() if "name" in micro.columns else None,
            "parent_id": micro["parent_id"].to_numpy() if "parent_id" in micro.columns else None,
            "node": node_ids[chosen].astype(np.int64),
            "inside": inside,
            "distance_m": np.round(distance, 2),
            "centre": method.astype(str),
            "weight": weight_sum,
            "score": score,
        },
        geometry=shapely.points(node_xy[chosen]),
        crs=network.crs,
    )
    return out.to_crs(settings.OUTPUT_CRS)
