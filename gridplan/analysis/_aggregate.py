"""Incidents per micro-grid and slice: the join and the decayed scores behind hot spots.

Shared by :mod:`gridplan.analysis.hotspots` and :mod:`gridplan.analysis.backtesting` (a
private module of the analysis stage: its names are public to the package, not to users).

Score
    Each incident adds ``weight * 0.5 ** (age_days / half_life_days)``: its severity weight
    (category x alert colour, see the station config) halved for every half-life of age,
    measured back from the end of the analysed period (or from the latest incident).

Spatial join
    A point belongs to the micro-grid it intersects. A point exactly on an edge or corner
    shared by several micro-grids is counted once, in the one that comes first in the grid
    (lowest row), so totals never double count.
"""

from __future__ import annotations

import dataclasses
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._errors import InputError
from gridplan._validate import format_recent
from gridplan.geo.crs import require_crs
from gridplan.geo.grid import micro_grids
from gridplan.station.config import StationConfig
from gridplan.station.timeslices import ALL_DAY
from gridplan.station.timeslices import Period
from gridplan.station.timeslices import assign_slices

_SECONDS_PER_DAY = 86_400.0


def micro_cells(grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the micro-grid rows of a GRID frame, re-indexed 0..n-1, in grid order.

    Raises
    ------
    InputError
        If the frame lacks ``id``/``level`` or has no micro-grids.
    """
    cells = micro_grids(grid)
    out = gpd.GeoDataFrame(
        {
            "id": cells["id"].astype(str).to_numpy(),
            "name": (
                cells["name"].fillna("").astype(str).to_numpy()
                if "name" in cells
                else np.full(len(cells), "", dtype=object)
            ),
            "parent_id": (
                cells["parent_id"].to_numpy(dtype=object)
                if "parent_id" in cells
                else np.full(len(cells), None, dtype=object)
            ),
        },
        geometry=cells.geometry.to_numpy(),
        crs=grid.crs,
    )
    return out


def locate_points(cells: gpd.GeoSeries | np.ndarray, points: np.ndarray) -> np.ndarray:
    """Return the index of the micro-grid each point falls in, or -1 if none.

    A point on an edge or corner shared by several micro-grids goes to the lowest index, so
    every point inside the grid is counted exactly once.

    Parameters
    ----------
    cells
        Polygons, in the same CRS as ``points``.
    points
        Shapely points (missing geometries are allowed and give -1).

    Returns
    -------
    numpy.ndarray
        int64 index per point.
    """
    geoms = np.asarray(cells.values if isinstance(cells, gpd.GeoSeries) else cells)
    points = np.asarray(points)
    n = len(geoms)
    tree = shapely.STRtree(geoms)
    point_ix, cell_ix = tree.query(points, predicate="intersects")
    out = np.full(len(points), n, dtype=np.int64)
    np.minimum.at(out, point_ix, cell_ix.astype(np.int64))
    out[out == n] = -1
    return out


def incident_weights(incidents: pd.DataFrame, config: StationConfig) -> np.ndarray:
    if "weight" in incidents.columns:
        w = pd.to_numeric(incidents["weight"], errors="coerce").to_numpy(dtype=float)
        return np.where(np.isfinite(w), w, config.default_weight)
    cats = incidents["category"] if "category" in incidents.columns else None
    alerts = incidents["alert"] if "alert" in incidents.columns else None
    w = np.ones(len(incidents))
    if cats is not None:
        w *= np.array([config.weight_for(None if pd.isna(c) else c) for c in cats], dtype=float)
    if alerts is not None:
        w *= np.array([config.alert_weight(None if pd.isna(a) else a) for a in alerts])
    return w


def check_incidents(incidents: gpd.GeoDataFrame) -> None:
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = (
            "incidents must be a GeoDataFrame (from gridplan.import_incidents), got "
            f"{type(incidents).__name__}"
        )
        raise InputError(msg)
    require_crs(incidents, where="incidents")
    if "time" not in incidents.columns:
        msg = (
            f"incidents lack a 'time' column (columns: {', '.join(map(str, incidents.columns))}); "
            "import them with gridplan.import_incidents"
        )
        raise InputError(msg)


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """Counts and scores per micro-grid (rows) and slice (columns, ``all`` first)."""

    cells: gpd.GeoDataFrame
    slice_ids: tuple[str, ...]
    counts: np.ndarray
    scores: np.ndarray
    n_incidents: int
    unassigned: int
    no_time: int
    reference: pd.Timestamp | None
    timings: dict[str, float]
    recent: np.ndarray | None = None


def aggregate(
    cells: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    config: StationConfig,
    period: Period | None,
    *,
    reference: pd.Timestamp | None = None,
    cell_index: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    recent_days: int | None = None,
) -> Aggregate:
    """Join incidents to cells and sum counts and decayed weights per cell and slice.

    ``cell_index`` (from :func:`locate_points` on the same incidents) skips the join;
    ``weights`` (one per incident) replaces the incidents' severity weights; with
    ``recent_days``, ``recent`` holds per cell and slice the incidents of the last
    ``recent_days`` before the reference time by category (see :func:`recent_categories`).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    times = incidents["time"]
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        msg = (
            f"incidents 'time' must be datetimes, got dtype {times.dtype}; import them with "
            "gridplan.import_incidents or convert with pandas.to_datetime"
        )
        raise InputError(msg)
    if times.dt.tz is None:
        # Naive times are station wall-clock times (the import convention).
        times = times.dt.tz_localize(config.timezone, ambiguous="NaT", nonexistent="NaT")
    else:
        times = times.dt.tz_convert(config.timezone)
    keep = times.notna().to_numpy().copy()
    no_time = int((~keep).sum())
    if period is not None:
        start, end = period.bounds(config.timezone)
        keep &= ((times >= start) & (times < end)).to_numpy(dtype=bool, na_value=False)
        if reference is None:
            reference = end
    idx = np.flatnonzero(keep)
    times = times.iloc[idx]
    if reference is None and len(times):
        reference = times.max()
    slices = config.slices
    members = assign_slices(times, slices, tz=config.timezone).to_numpy()
    timings["slices"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if cell_index is None:
        points = incidents.geometry
        if incidents.crs != cells.crs:
            points = points.to_crs(cells.crs)
        cell = locate_points(cells.geometry, np.asarray(points.values)[idx])
    else:
        cell = np.asarray(cell_index)[idx]
    timings["join"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if weights is None:
        weights = incident_weights(incidents, config)
    weights = np.asarray(weights, dtype=float)[idx]
    if len(times):
        age_s = (reference - times).dt.total_seconds().to_numpy(dtype=float)
        age_days = np.maximum(age_s, 0.0) / _SECONDS_PER_DAY
        scored = weights * np.power(0.5, age_days / config.half_life_days)
    else:
        scored = np.zeros(0)
    n = len(cells)
    inside = cell >= 0
    slice_ids = (ALL_DAY, *(s.id for s in slices))
    counts = np.zeros((n, len(slice_ids)), dtype=np.int64)
    scores = np.zeros((n, len(slice_ids)), dtype=float)
    counts[:, 0] = np.bincount(cell[inside], minlength=n)
    scores[:, 0] = np.bincount(cell[inside], weights=scored[inside], minlength=n)
    for k in range(len(slices)):
        sel = inside & members[:, k]
        counts[:, k + 1] = np.bincount(cell[sel], minlength=n)
        scores[:, k + 1] = np.bincount(cell[sel], weights=scored[sel], minlength=n)
    timings["aggregate"] = time.perf_counter() - t0
    recent = None
    if recent_days is not None:
        categories = (
            incidents["category"].iloc[idx]
            if "category" in incidents
            else pd.Series([""] * len(idx))
        )
        age = age_days if len(times) else np.zeros(0)
        recent = recent_categories(
            cell, members, categories.to_numpy(), age, n=n, days=recent_days, reference=reference
        )
    return Aggregate(
        cells=cells,
        slice_ids=slice_ids,
        counts=counts,
        scores=scores,
        n_incidents=len(idx),
        unassigned=int((~inside).sum()),
        no_time=no_time,
        reference=reference,
        timings=timings,
        recent=recent,
    )


#: Categories kept per cell and slice in :func:`recent_categories`.
RECENT_TOP = 3


def recent_categories(
    cell: np.ndarray,
    members: np.ndarray,
    categories: np.ndarray,
    age_days: np.ndarray,
    *,
    n: int,
    days: int,
    reference: pd.Timestamp | None,
) -> np.ndarray:
    """Return an ``(n, 1 + slices)`` array of the recent incidents by category, as text.

    Each entry is ``""`` when the cell had no incident in the slice in the ``days`` before
    ``reference``, else :func:`~gridplan._validate.format_recent` of the
    :data:`RECENT_TOP` most frequent categories (ties by name).
    """
    k = members.shape[1] if members.ndim == 2 else 0
    out = np.full((n, 1 + k), "", dtype=object)
    if reference is None or not len(cell):
        return out
    to = pd.Timestamp(reference).date().isoformat()
    recent = (cell >= 0) & (age_days <= days)
    cats = np.array(["" if pd.isna(c) else str(c) for c in categories], dtype=object)
    for col in range(1 + k):
        sel = recent if col == 0 else recent & members[:, col - 1]
        if not sel.any():
            continue
        frame = pd.DataFrame({"cell": cell[sel], "cat": cats[sel]})
        counted = frame.groupby(["cell", "cat"]).size().reset_index(name="count")
        counted = counted.sort_values(["cell", "count", "cat"], ascending=[True, False, True])
        for c, part in counted.groupby("cell"):
            top = [(str(a), int(b)) for a, b in part[["cat", "count"]].to_numpy()[:RECENT_TOP]]
            out[int(c), col] = format_recent(days, to, top)
    return out
