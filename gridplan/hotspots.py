"""Hot spots per micro-grid and time slice: counts, density, weighted score and Getis-Ord Gi*.

:func:`compute_hotspots` joins incidents to the micro-grids of a 1+5+N grid, aggregates them
per micro-grid and time slice, and runs the Getis-Ord Gi* hot-spot statistic on each slice.

Score
    Each incident adds ``weight * 0.5 ** (age_days / half_life_days)``: its severity weight
    (category x alert colour, see the station config) halved for every half-life of age,
    measured back from the end of the analysed period (or from the latest incident).

Spatial join
    A point belongs to the micro-grid it intersects. A point exactly on an edge or corner
    shared by several micro-grids is counted once, in the one that comes first in the grid
    (lowest row), so totals never double count. Points in no micro-grid are counted in
    ``attrs["unassigned"]`` of the result rather than silently dropped.

Getis-Ord Gi*
    Local G with the focal cell included (``star``), binary Queen contiguity of the
    micro-grids (built once, reused for every slice) and the score as the variable. The
    z-score and two-sided normal p-value come from :class:`esda.G_Local` (the analytical
    inference ArcGIS reports). The conditional-permutation pseudo p-value follows esda's
    ``crand`` algorithm (the same random neighbour draws shared by every cell, Anselin 1995)
    in a numba kernel compiled once and cached on disk, which runs all slices in one pass.
    esda's own generic kernel is recompiled in every new process (about 30 s on a two-core
    machine, longer with ``n_jobs > 1`` because each worker compiles again), which would
    dominate a hot-spot run; the results are the same given the same random draws.
    A micro-grid without neighbours (an island) has no local neighbourhood to test: its Gi*
    is reported as NaN and ``not_significant``. p-values are corrected for multiple testing
    with the Benjamini-Hochberg false discovery rate per slice when ``config.fdr`` is set.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy import stats

from gridplan import styles
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan._validate import check_hotspot_columns
from gridplan.export import write_csv
from gridplan.export import write_geodata
from gridplan.geo._io import check_file
from gridplan.geo._io import read_vector
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import require_crs
from gridplan.geo.crs import to_output_crs
from gridplan.geo.grid import micro_grids
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config
from gridplan.station.timeslices import ALL_DAY
from gridplan.station.timeslices import Period
from gridplan.station.timeslices import assign_slices
from gridplan.station.timeslices import parse_period

#: Gi* classes, hottest first, as in ArcGIS's ``Gi_Bin`` (confidence 99/95/90 %).
GI_CLASSES = (
    "hot_99",
    "hot_95",
    "hot_90",
    "not_significant",
    "cold_90",
    "cold_95",
    "cold_99",
)

#: Columns of the frame returned by :func:`compute_hotspots`, in order.
HOTSPOT_COLUMNS = (
    "id",
    "name",
    "parent_id",
    "slice",
    "count",
    "area_km2",
    "density_km2",
    "score",
    "share",
    "score_share",
    "rank",
    "gi_z",
    "gi_p",
    "gi_p_sim",
    "gi_p_fdr",
    "gi_class",
    "geometry",
)

_SECONDS_PER_DAY = 86_400.0


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


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


def _incident_weights(incidents: pd.DataFrame, config: StationConfig) -> np.ndarray:
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


def _check_incidents(incidents: gpd.GeoDataFrame) -> None:
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


# --------------------------------------------------------------------------------------------
# Aggregation (shared with the back-test)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Aggregate:
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


def _aggregate(
    cells: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    config: StationConfig,
    period: Period | None,
    *,
    reference: pd.Timestamp | None = None,
    cell_index: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> _Aggregate:
    """Join incidents to cells and sum counts and decayed weights per cell and slice.

    ``cell_index`` (from :func:`locate_points` on the same incidents) skips the join;
    ``weights`` (one per incident) replaces the incidents' severity weights.
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
        weights = _incident_weights(incidents, config)
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
    return _Aggregate(
        cells=cells,
        slice_ids=slice_ids,
        counts=counts,
        scores=scores,
        n_incidents=len(idx),
        unassigned=int((~inside).sum()),
        no_time=no_time,
        reference=reference,
        timings=timings,
    )


# --------------------------------------------------------------------------------------------
# Getis-Ord Gi*
# --------------------------------------------------------------------------------------------


def queen_adjacency(cells: gpd.GeoSeries) -> sparse.csr_array:
    """Binary Queen contiguity of polygons as a CSR matrix without self-links.

    Built with :meth:`libpysal.graph.Graph.build_contiguity` (shared vertices, ``rook=False``).
    Islands are rows without entries.
    """
    from libpysal import graph

    geoms = gpd.GeoSeries(np.asarray(cells.values), crs=cells.crs)  # positional ids 0..n-1
    n = len(geoms)
    if n < 2:
        return sparse.csr_array((n, n), dtype=float)
    with warnings.catch_warnings():
        # libpysal warns about islands and disconnected components; an island micro-grid is
        # legitimate (a detached block) and is reported as NaN/not_significant below.
        warnings.filterwarnings("ignore", message=".*(island|disconnected|not fully connected).*")
        g = graph.Graph.build_contiguity(geoms, rook=False)
    adj = g.adjacency
    focal = adj.index.get_level_values(0).to_numpy(dtype=np.int64)
    neighbor = adj.index.get_level_values(1).to_numpy(dtype=np.int64)
    keep = (focal != neighbor) & (adj.to_numpy() > 0)
    a = sparse.csr_array(
        (np.ones(int(keep.sum())), (focal[keep], neighbor[keep])), shape=(n, n), dtype=float
    )
    a.sum_duplicates()
    a.sort_indices()
    return a


def _forksafe_threads() -> None:
    """Run numba's parallel kernels on a threading layer that survives ``fork()``.

    numba's default order takes GNU OpenMP when Intel TBB is missing, and a process that
    forked after the OpenMP pool started kills itself (SIGTERM, "fork() called from a process
    already using GNU OpenMP") the first time it runs a parallel kernel: a gunicorn worker
    forked from a server that had computed hot spots, a solver worker forked by a planner.
    ``forksafe`` takes TBB (also thread-safe; installed with gridplan where wheels exist) or
    numba's own work queue. A layer the user chose with ``NUMBA_THREADING_LAYER`` is kept.
    Must run before the first parallel kernel of the process; later calls change nothing.
    """
    import os

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "forksafe"


@numba.njit(parallel=True, cache=True)
def _gi_star_larger(y, indptr, indices, permuted_ids):  # pragma: no cover - compiled
    """Count, per cell and slice, random neighbourhoods with a Gi* lag >= the observed one.

    ``y`` is (cells, slices); binary weights with self-weight 1 (Gi*). Random neighbour j of
    cell i is ``permuted_ids[r, j]`` among the other cells (ids >= i shift up by one), as in
    esda.crand.
    """
    n, k = y.shape
    p = permuted_ids.shape[0]
    larger = np.zeros((n, k), dtype=np.int64)
    for i in numba.prange(n):
        start = indptr[i]
        card = indptr[i + 1] - start
        if card == 0:
            continue
        observed = np.empty(k)
        acc = np.empty(k)
        count = np.zeros(k, dtype=np.int64)
        for c in range(k):
            observed[c] = y[i, c]
        for j in range(card):
            nb = indices[start + j]
            for c in range(k):
                observed[c] += y[nb, c]
        for r in range(p):
            for c in range(k):
                acc[c] = y[i, c]
            for j in range(card):
                nb = permuted_ids[r, j]
                if nb >= i:
                    nb += 1
                for c in range(k):
                    acc[c] += y[nb, c]
            for c in range(k):
                if acc[c] >= observed[c]:
                    count[c] += 1
        for c in range(k):
            larger[i, c] = count[c]
    return larger


def _permuted_ids(n: int, max_card: int, permutations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((permutations, max_card), dtype=np.int64)
    for r in range(permutations):
        out[r] = rng.choice(n - 1, size=max_card, replace=False)
    return out


def gi_star(
    y: np.ndarray,
    adjacency: sparse.csr_array,
    *,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return Gi* z-scores, two-sided normal p-values and two-sided pseudo p-values.

    Parameters
    ----------
    y
        Values, shape (cells,) or (cells, slices).
    adjacency
        Binary contiguity without self-links (:func:`queen_adjacency`).
    permutations
        Conditional permutations for the pseudo p-values; 0 gives NaN pseudo p-values.
    seed
        Seed of the random neighbour draws.

    Returns
    -------
    tuple of numpy.ndarray
        ``z``, ``p_norm``, ``p_sim``, each shaped like ``y``; NaN for islands and for slices
        whose values are all zero or all equal (nothing to test).
    """
    from esda.getisord import G_Local
    from libpysal import graph

    y = np.asarray(y, dtype=float)
    flat = y.ndim == 1
    y2 = y.reshape(len(y), -1)
    n, k = y2.shape
    z = np.full((n, k), np.nan)
    p_norm = np.full((n, k), np.nan)
    p_sim = np.full((n, k), np.nan)
    card = np.diff(adjacency.indptr)
    island = card == 0
    if n < 2 or island.all():
        return (z[:, 0], p_norm[:, 0], p_sim[:, 0]) if flat else (z, p_norm, p_sim)
    star = graph.Graph.from_sparse((adjacency + sparse.eye_array(n, format="csr")).tocsr())
    testable = np.array([y2[:, c].sum() > 0 and np.ptp(y2[:, c]) > 0 for c in range(k)])
    for c in np.flatnonzero(testable):
        with np.errstate(divide="ignore", invalid="ignore"):
            g = G_Local(y2[:, c], star, transform="B", star=True, permutations=0)
        z[:, c] = g.Zs
    p_norm = 2.0 * stats.norm.sf(np.abs(z))
    if permutations > 0 and testable.any():
        ids = _permuted_ids(n, int(card.max()), permutations, seed)
        cols = np.flatnonzero(testable)
        _forksafe_threads()
        larger = _gi_star_larger(
            np.ascontiguousarray(y2[:, cols]),
            adjacency.indptr.astype(np.int64),
            adjacency.indices.astype(np.int64),
            ids,
        )
        # esda's "directed" pseudo p takes the tail the observation lies in; doubling it (capped
        # at 1) gives the two-sided pseudo p comparable with the two-sided normal p.
        tail = np.minimum(larger, permutations - larger)
        p_sim[:, cols] = np.minimum(1.0, 2.0 * (tail + 1.0) / (permutations + 1.0))
    z[island] = np.nan
    p_norm[island] = np.nan
    p_sim[island] = np.nan
    if flat:
        return z[:, 0], p_norm[:, 0], p_sim[:, 0]
    return z, p_norm, p_sim


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, ignoring (and keeping) NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def classify_gi(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Gi* class per cell: ``hot_99`` ... ``cold_99`` from z's sign and the p-value.

    A cell is significant at confidence c when ``p < 1 - c``; NaN z or p is
    ``not_significant``.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    out = np.full(z.shape, "not_significant", dtype=object)
    ok = np.isfinite(z) & np.isfinite(p)
    for alpha, level in ((0.10, "90"), (0.05, "95"), (0.01, "99")):
        sig = ok & (p < alpha)
        out[sig & (z > 0)] = f"hot_{level}"
        out[sig & (z < 0)] = f"cold_{level}"
    return out


def _ranks(score: np.ndarray, count: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """1 = highest score; ties broken by higher count, then by id (deterministic)."""
    order = np.lexsort((ids, -count, -score))
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    return rank


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def compute_hotspots(
    grid: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    config: StationConfig | None = None,
    period: Period | str | tuple | None = None,
    permutations: int | None = None,
    progress: ProgressCallback | None = None,
) -> gpd.GeoDataFrame:
    """Compute hot-spot statistics per micro-grid and time slice.

    Parameters
    ----------
    grid
        The 1+5+N GRID frame; only its ``micro`` rows are used.
    incidents
        The INCIDENTS frame (``time``, ``weight``, point ``geometry``); other CRSs than the
        grid's are reprojected.
    config
        Station configuration: time slices, timezone, half-life, Gi* settings. Defaults to
        :func:`gridplan.default_config`.
    period
        Only incidents in this period (see :func:`gridplan.station.timeslices.parse_period`); the
        recency decay is measured back from its end. ``None`` uses every incident and measures
        back from the latest one.
    permutations
        Gi* conditional permutations; ``None`` takes ``config.gi_permutations``, 0 skips them
        (``gi_p_sim`` is NaN then).
    progress
        Progress callback, see :mod:`gridplan._progress`.

    Returns
    -------
    geopandas.GeoDataFrame
        Long format in EPSG:4326, one row per micro-grid and slice: the whole-day slice
        ``all`` first, then ``config.slices``; within a slice the grid's order. Columns
        ``id``, ``name``, ``parent_id``, ``slice``, ``count``, ``area_km2``, ``density_km2``,
        ``score`` (weight x recency decay), ``share`` and ``score_share`` (of the station's
        total in that slice; NaN if the slice has no incidents), ``rank`` (1 = highest score;
        ties by count, then id), ``gi_z``, ``gi_p`` (two-sided normal), ``gi_p_sim``
        (two-sided permutation pseudo p), ``gi_p_fdr`` (Benjamini-Hochberg adjusted p of the
        one used for inference; NaN when ``config.fdr`` is off) and ``gi_class`` (see
        :data:`GI_CLASSES`). ``attrs`` holds ``unassigned`` (incidents in no micro-grid),
        ``incidents`` (analysed), ``no_time`` (skipped for lack of a valid time),
        ``period``, ``reference_time`` and ``timings`` (seconds per stage).

    Raises
    ------
    InputError
        If the grid has no micro-grids, the incidents lack times, or permutation inference is
        asked for without permutations.

    Examples
    --------
    >>> gdf_hot = compute_hotspots(gdf_grid, gdf_incidents, period="2019")  # doctest: +SKIP
    >>> gdf_hot[gdf_hot["slice"] == "night"].nsmallest(3, "rank")  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    config = config or default_config()
    permutations = config.gi_permutations if permutations is None else int(permutations)
    if permutations < 0:
        msg = f"permutations={permutations}; use 0 (none) or a positive number such as 999"
        raise InputError(msg)
    if config.gi_inference == "permutation" and permutations == 0:
        msg = (
            "hotspots.inference = 'permutation' needs permutations (got 0); pass "
            "permutations=999 or set hotspots.inference = 'normal'"
        )
        raise InputError(msg)
    period = parse_period(period) if period is not None else None
    cells = micro_cells(grid)
    _check_incidents(incidents)
    stages = 4
    report(progress, "hotspots: join and aggregate", 0, stages)
    agg = _aggregate(cells, incidents, config, period)
    timings = dict(agg.timings)

    report(progress, "hotspots: contiguity", 1, stages)
    t0 = time.perf_counter()
    adjacency = queen_adjacency(cells.geometry)
    timings["weights"] = time.perf_counter() - t0

    report(progress, "hotspots: Gi*", 2, stages)
    t0 = time.perf_counter()
    z, p_norm, p_sim = gi_star(agg.scores, adjacency, permutations=permutations, seed=config.seed)
    timings["gi"] = time.perf_counter() - t0

    report(progress, "hotspots: assemble", 3, stages)
    t0 = time.perf_counter()
    p_used = p_sim if config.gi_inference == "permutation" else p_norm
    p_fdr = np.full(p_used.shape, np.nan)
    if config.fdr:
        for c in range(p_used.shape[1]):
            p_fdr[:, c] = fdr_bh(p_used[:, c])
    gi_class = classify_gi(z, p_fdr if config.fdr else p_used)

    n, k = agg.counts.shape
    mcrs = metric_crs(cells, crs=config.metric_crs, source=config.source)
    area_km2 = cells.to_crs(mcrs).area.to_numpy() / 1e6
    ids = cells["id"].to_numpy(dtype=str)
    totals = agg.counts.sum(axis=0).astype(float)
    score_totals = agg.scores.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = agg.counts / area_km2[:, None]
        share = agg.counts / np.where(totals > 0, totals, np.nan)
        score_share = agg.scores / np.where(score_totals > 0, score_totals, np.nan)
    rank = np.column_stack(
        [_ranks(agg.scores[:, c], agg.counts[:, c], ids) for c in range(k)]
    ).reshape(n, k)

    def long(a: np.ndarray) -> np.ndarray:
        return a.T.reshape(-1)  # slice-major: every cell of 'all', then the next slice

    take = np.tile(np.arange(n), k)
    geometry = to_output_crs(cells[["geometry"]]).geometry.to_numpy()[take]
    out = gpd.GeoDataFrame(
        {
            "id": ids[take],
            "name": cells["name"].to_numpy()[take],
            "parent_id": cells["parent_id"].to_numpy()[take],
            "slice": np.repeat(np.array(agg.slice_ids, dtype=object), n),
            "count": long(agg.counts),
            "area_km2": area_km2[take],
            "density_km2": long(density),
            "score": long(agg.scores),
            "share": long(share),
            "score_share": long(score_share),
            "rank": long(rank),
            "gi_z": long(z),
            "gi_p": long(p_norm),
            "gi_p_sim": long(p_sim),
            "gi_p_fdr": long(p_fdr),
            "gi_class": long(gi_class),
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
    timings["assemble"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    out.attrs.update(
        {
            "unassigned": agg.unassigned,
            "incidents": agg.n_incidents,
            "no_time": agg.no_time,
            "period": str(period) if period is not None else None,
            "reference_time": agg.reference.isoformat() if agg.reference is not None else None,
            "slices": list(agg.slice_ids),
            "permutations": permutations,
            "gi_inference": config.gi_inference,
            "timings": timings,
        }
    )
    report(progress, "hotspots: done", stages, stages)
    return out


def hotspot_summary(gdf: pd.DataFrame) -> pd.DataFrame:
    """Summarise a :func:`compute_hotspots` result per slice.

    Parameters
    ----------
    gdf
        The long hot-spot frame.

    Returns
    -------
    pandas.DataFrame
        One row per slice (in the frame's order): ``slice``, ``incidents``, ``score``,
        ``cells``, ``active_cells`` (with at least one incident), ``hot_cells`` and
        ``cold_cells`` (Gi* significant at 90 % or more), ``top_id``, ``top_name``,
        ``top_count``, ``top_score`` (the rank-1 micro-grid) and ``top5pct_share`` (share of
        the slice's incidents in its top-ranked 5 % of micro-grids, at least one cell).

    Examples
    --------
    >>> hotspot_summary(gdf_hot)[["slice", "incidents", "hot_cells"]]  # doctest: +SKIP
    """
    check_hotspot_columns(gdf, {"id", "slice", "count", "score", "rank", "gi_class"})
    rows = []
    for sid, part in gdf.groupby("slice", sort=False):
        part = part.sort_values("rank")
        total = int(part["count"].sum())
        top = part.iloc[0]
        n_top = max(1, int(np.ceil(0.05 * len(part))))
        cls = part["gi_class"].astype(str)
        rows.append(
            {
                "slice": sid,
                "incidents": total,
                "score": float(part["score"].sum()),
                "cells": len(part),
                "active_cells": int((part["count"] > 0).sum()),
                "hot_cells": int(cls.str.startswith("hot").sum()),
                "cold_cells": int(cls.str.startswith("cold").sum()),
                "top_id": str(top["id"]),
                "top_name": str(top.get("name", "") or ""),
                "top_count": int(top["count"]),
                "top_score": float(top["score"]),
                "top5pct_share": (
                    float(part["count"].iloc[:n_top].sum() / total) if total else float("nan")
                ),
            }
        )
    return pd.DataFrame(rows)


#: Columns a hot-spot file needs to plan patrols from it.
PLANNING_COLUMNS = ("id", "slice", "score", "rank", "gi_class", "count")


def read_hotspots(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a hot-spot file written by ``gridplan hotspots --out`` (GeoJSON or GeoPackage).

    Parameters
    ----------
    path
        The file; CSV exports of ``--csv`` work too (geometry as WKT).
    layer
        GeoPackage layer (default: the first).

    Returns
    -------
    GeoDataFrame
        The long frame of :func:`compute_hotspots`: one row per micro-grid and slice.

    Raises
    ------
    InputError
        Missing or unreadable file, or a file without the hot-spot columns (named).

    Examples
    --------
    >>> hot = read_hotspots("out/hotspots.geojson")  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        check_file(path)
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"id": str, "slice": str})
        geometry = None
        if "wkt" in frame:
            geometry = gpd.GeoSeries.from_wkt(frame.pop("wkt"), crs="EPSG:4326")
        hot = gpd.GeoDataFrame(frame, geometry=geometry)
    else:
        hot = read_vector(path, layer=layer)
    missing = [c for c in PLANNING_COLUMNS if c not in hot.columns]
    if missing:
        msg = (
            f"{path}: not a hot-spot file: it lacks the column(s) {', '.join(missing)}; make "
            "one with `gridplan hotspots --grid GRID --incidents FILE --out PATH`"
        )
        raise InputError(msg)
    hot = hot.copy()
    hot["id"] = hot["id"].astype(str)
    hot["slice"] = hot["slice"].astype(str)
    return hot


def write_hotspots(
    hot: gpd.GeoDataFrame, path: str | Path, *, layer: str = "hotspots", qml: bool = True
) -> Path:
    """Write hot spots as GeoJSON (RFC 7946), a GeoPackage layer or CSV with WKT, styled.

    Parameters
    ----------
    hot
        The frame of :func:`compute_hotspots` (one row per micro-grid and slice).
    path
        ``.geojson``/``.json``, ``.gpkg`` or ``.csv`` (UTF-8 with BOM, geometry as WKT).
        An existing GeoJSON or CSV is replaced; a GeoPackage keeps its other layers.
    layer
        GeoPackage layer name.
    qml
        GeoJSON only: also write the QGIS style as ``<stem>.qml`` beside it. A GeoPackage
        carries it in its ``layer_styles`` table: Gi* classes coloured as on gridplan's
        maps, one group per slice in QGIS's layer panel (see :mod:`gridplan.styles`).

    Returns
    -------
    Path
        The file written; :func:`read_hotspots` reads it back.

    Raises
    ------
    InputError
        If the frame lacks the hot-spot columns or the suffix is not supported.

    Examples
    --------
    >>> write_hotspots(hot, "hotspots.gpkg")  # doctest: +SKIP
    PosixPath('hotspots.gpkg')
    """
    path = Path(path)
    missing = [c for c in PLANNING_COLUMNS if c not in hot.columns]
    if missing:
        msg = (
            f"cannot write {path}: the frame lacks the hot-spot column(s) {', '.join(missing)}; "
            "pass the result of compute_hotspots"
        )
        raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(hot, path)
    write_geodata(hot, path, layer=layer)
    style = styles.hotspot_style(hot["slice"].astype(str))
    return styles.style_file(path, layer, style, qml=qml)
