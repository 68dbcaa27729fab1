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
        w *= _per_value(cats, config.weight_for)
    if alerts is not None:
        w *= _per_value(alerts, config.alert_weight)
    return w


def _per_value(values: pd.Series, weight_of) -> np.ndarray:
    """``weight_of(value)`` per value (``None`` for a missing one), once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([*(weight_of(u) for u in uniques), weight_of(None)], dtype=float)
    return table[codes]  # the sentinel -1 takes the last entry: a missing value's weight


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


@dataclasses.dataclass(frozen=True)
class Sums:
    """What an :class:`Aggregate` is made of, in a form that adds up over chunks of incidents.

    Every field is a sum over the incidents (counts, decayed scores, recent incidents per
    category), so the sums of two chunks added (``a + b``) are the sums of both: incidents can
    be summed in partitions, on several machines, and the partial sums added. Two sums add only
    if they were measured against the same reference time, slices and cells.

    Attributes
    ----------
    slice_ids
        ``all``, then the slices' ids: the columns of ``counts`` and ``scores``.
    counts, scores
        ``(cells, slices)`` incident counts and decayed weights.
    recent
        The incidents of the last ``recent_days`` before ``reference`` per cell, slice column
        and category: columns ``cell``, ``col``, ``cat``, ``count`` (one row per key);
        ``None`` when not asked for.
    """

    slice_ids: tuple[str, ...]
    counts: np.ndarray
    scores: np.ndarray
    n_incidents: int
    unassigned: int
    no_time: int
    reference: pd.Timestamp | None
    recent_days: int | None = None
    recent: pd.DataFrame | None = None

    def __add__(self, other: Sums) -> Sums:
        """Return the sums of both chunks (checked to be of the same cells and reference)."""
        if not isinstance(other, Sums):
            return NotImplemented
        same = (
            self.slice_ids == other.slice_ids
            and self.counts.shape == other.counts.shape
            and self.recent_days == other.recent_days
            and (
                self.reference is None
                or other.reference is None
                or self.reference == other.reference
            )
        )
        if not same:
            msg = (
                f"cannot add sums of {self.counts.shape} cells x slices {self.slice_ids} "
                f"(reference {self.reference}, recent {self.recent_days} days) to sums of "
                f"{other.counts.shape} {other.slice_ids} (reference {other.reference}, recent "
                f"{other.recent_days} days); sum every chunk with the same cells, config and "
                "period"
            )
            raise ValueError(msg)
        recent = None
        if self.recent is not None and other.recent is not None:
            both = pd.concat([self.recent, other.recent], ignore_index=True)
            recent = sum_recent(*(both[c].to_numpy() for c in ("cell", "col", "cat", "count")))
        return Sums(
            slice_ids=self.slice_ids,
            counts=self.counts + other.counts,
            scores=self.scores + other.scores,
            n_incidents=self.n_incidents + other.n_incidents,
            unassigned=self.unassigned + other.unassigned,
            no_time=self.no_time + other.no_time,
            reference=self.reference if self.reference is not None else other.reference,
            recent_days=self.recent_days,
            recent=recent,
        )


def local_times(incidents: pd.DataFrame, config: StationConfig) -> pd.Series:
    """Return the incidents' times in the station's timezone (naive times are wall-clock)."""
    times = incidents["time"]
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        msg = (
            f"incidents 'time' must be datetimes, got dtype {times.dtype}; import them with "
            "gridplan.import_incidents or convert with pandas.to_datetime"
        )
        raise InputError(msg)
    if times.dt.tz is None:
        # Naive times are station wall-clock times (the import convention).
        return times.dt.tz_localize(config.timezone, ambiguous="NaT", nonexistent="NaT")
    return times.dt.tz_convert(config.timezone)


def reference_time(
    times: pd.Series, config: StationConfig, period: Period | None
) -> pd.Timestamp | None:
    """Return the time the recency decay is measured back from.

    The end of ``period`` when given, else the latest of ``times`` (:func:`local_times`);
    ``None`` when there is neither.
    """
    if period is not None:
        return period.bounds(config.timezone)[1]
    valid = times.dropna()
    return valid.max() if len(valid) else None


def sum_incidents(
    incidents: pd.DataFrame,
    config: StationConfig,
    period: Period | None,
    *,
    n_cells: int,
    reference: pd.Timestamp | None,
    cells: gpd.GeoDataFrame | None = None,
    cell_index: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    recent_days: int | None = None,
    times: pd.Series | None = None,
    timings: dict[str, float] | None = None,
) -> Sums:
    """Sum the incidents of ``period`` per cell and slice, decayed back from ``reference``.

    Each incident's cell is ``cell_index`` (one per incident, -1 for none), else located in
    ``cells`` (:func:`locate_points`; only the incidents of the period are located).
    ``times`` are :func:`local_times` when already computed; ``timings`` receives the seconds
    of ``slices``, ``join`` and ``aggregate``.
    """
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    times = local_times(incidents, config) if times is None else times
    keep = times.notna().to_numpy().copy()
    no_time = int((~keep).sum())
    if period is not None:
        start, end = period.bounds(config.timezone)
        keep &= ((times >= start) & (times < end)).to_numpy(dtype=bool, na_value=False)
    idx = np.flatnonzero(keep)
    times = times.iloc[idx]
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
        cell = np.asarray(cell_index, dtype=np.int64)[idx]
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
        age_days = scored = np.zeros(0)
    inside = cell >= 0
    slice_ids = (ALL_DAY, *(s.id for s in slices))
    counts = np.zeros((n_cells, len(slice_ids)), dtype=np.int64)
    scores = np.zeros((n_cells, len(slice_ids)), dtype=float)
    counts[:, 0] = np.bincount(cell[inside], minlength=n_cells)
    scores[:, 0] = np.bincount(cell[inside], weights=scored[inside], minlength=n_cells)
    for k in range(len(slices)):
        sel = inside & members[:, k]
        counts[:, k + 1] = np.bincount(cell[sel], minlength=n_cells)
        scores[:, k + 1] = np.bincount(cell[sel], weights=scored[sel], minlength=n_cells)
    timings["aggregate"] = time.perf_counter() - t0
    recent = None
    if recent_days is not None:
        categories = incidents["category"].iloc[idx] if "category" in incidents else None
        recent = count_recent(cell, members, categories, age_days, days=recent_days)
    return Sums(
        slice_ids=slice_ids,
        counts=counts,
        scores=scores,
        n_incidents=len(idx),
        unassigned=int((~inside).sum()),
        no_time=no_time,
        reference=reference,
        recent_days=recent_days,
        recent=recent,
    )


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
    ``recent_days`` before the reference time by category (see :func:`format_recent_sums`).
    """
    timings: dict[str, float] = {}
    times = local_times(incidents, config)
    if reference is None:
        reference = reference_time(times, config, period)
    sums = sum_incidents(
        incidents,
        config,
        period,
        n_cells=len(cells),
        reference=reference,
        cells=cells,
        cell_index=cell_index,
        weights=weights,
        recent_days=recent_days,
        times=times,
        timings=timings,
    )
    return finish_sums(cells, sums, timings=timings)


def finish_sums(
    cells: gpd.GeoDataFrame, sums: Sums, *, timings: dict[str, float] | None = None
) -> Aggregate:
    """Return the :class:`Aggregate` of ``sums`` over ``cells`` (the recent text made)."""
    recent = None
    if sums.recent_days is not None:
        recent = format_recent_sums(
            sums.recent,
            n=len(cells),
            k=len(sums.slice_ids),
            days=sums.recent_days,
            reference=sums.reference,
        )
    return Aggregate(
        cells=cells,
        slice_ids=sums.slice_ids,
        counts=sums.counts,
        scores=sums.scores,
        n_incidents=sums.n_incidents,
        unassigned=sums.unassigned,
        no_time=sums.no_time,
        reference=sums.reference,
        timings=dict(timings or {}),
        recent=recent,
    )


#: Categories kept per cell and slice in :func:`format_recent_sums`.
RECENT_TOP = 3


def count_recent(
    cell: np.ndarray,
    members: np.ndarray,
    categories: pd.Series | None,
    age_days: np.ndarray,
    *,
    days: int,
) -> pd.DataFrame:
    """Count the incidents of the last ``days`` per cell, slice column and category.

    Column ``col`` 0 is the whole day, ``col`` k the k-th slice (``members[:, k - 1]``); a
    missing category counts as ``""``. Returns :func:`sum_recent`'s frame.
    """
    rows = np.flatnonzero((cell >= 0) & (age_days <= days))
    if categories is None:
        cat = np.full(len(rows), "", dtype=object)
    else:
        codes, uniques = pd.factorize(categories.to_numpy()[rows], use_na_sentinel=True)
        text = np.array([*(str(u) for u in uniques), ""], dtype=object)
        cat = text[codes]  # code -1 (a missing category) takes the last: ""
    k = members.shape[1] if members.ndim == 2 else 0
    cells, cols, cats = [cell[rows]], [np.zeros(len(rows), dtype=np.int64)], [cat]
    for col in range(1, 1 + k):
        sel = members[rows, col - 1]
        cells.append(cell[rows[sel]])
        cols.append(np.full(int(sel.sum()), col, dtype=np.int64))
        cats.append(cat[sel])
    cell_, col_, cat_ = (np.concatenate(a) for a in (cells, cols, cats))
    return sum_recent(cell_, col_, cat_, np.ones(len(cell_), dtype=np.int64))


def sum_recent(
    cell: np.ndarray, col: np.ndarray, cat: np.ndarray, count: np.ndarray
) -> pd.DataFrame:
    """Sum ``count`` per (``cell``, ``col``, ``cat``): columns of those names and ``count``."""
    cell = np.asarray(cell, dtype=np.int64)
    col = np.asarray(col, dtype=np.int64)
    cat = np.asarray(cat, dtype=object)
    codes, names = pd.factorize(cat)
    n_cols = int(col.max()) + 1 if len(col) else 1
    key = (cell * n_cols + col) * max(len(names), 1) + codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    total = np.bincount(inverse, weights=count, minlength=len(first))
    return pd.DataFrame(
        {
            "cell": cell[first],
            "col": col[first],
            "cat": cat[first],
            "count": np.rint(total).astype(np.int64),
        }
    )


def format_recent_sums(
    counted: pd.DataFrame | None,
    *,
    n: int,
    k: int,
    days: int,
    reference: pd.Timestamp | None,
) -> np.ndarray:
    """Return an ``(n, k)`` array of the recent incidents by category, as text.

    Each entry is ``""`` when the cell had no incident in the slice in the ``days`` before
    ``reference``, else :func:`~gridplan._validate.format_recent` of the
    :data:`RECENT_TOP` most frequent categories (ties by name). ``counted`` is
    :func:`count_recent`'s (or the sum of several).
    """
    out = np.full((n, k), "", dtype=object)
    if reference is None or counted is None or not len(counted):
        return out
    to = pd.Timestamp(reference).date().isoformat()
    counted = counted.sort_values(
        ["col", "cell", "count", "cat"], ascending=[True, True, False, True], kind="stable"
    )
    col, cell = counted["col"].to_numpy(), counted["cell"].to_numpy()
    cat, count = counted["cat"].to_numpy(), counted["count"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (col[1:] != col[:-1]) | (cell[1:] != cell[:-1])])
    for a, b in zip(starts, [*starts[1:], len(col)], strict=True):
        top = [(str(cat[j]), int(count[j])) for j in range(a, min(b, a + RECENT_TOP))]
        out[int(cell[a]), int(col[a])] = format_recent(days, to, top)
    return out
