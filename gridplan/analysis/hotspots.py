"""Hot spots per micro-grid and time slice: counts, density, weighted score and their classes.

:func:`compute_hotspots` joins incidents to the micro-grids of a 1+5+N grid, aggregates them
per micro-grid and time slice, runs the Getis-Ord Gi* hot-spot statistic and the excess test
on each slice, and classes each micro-grid hot, cold or neither with one of them.

Score and spatial join
    Each incident adds its severity weight halved for every half-life of age, in the
    micro-grid it falls in, counted once (:mod:`gridplan.analysis._aggregate`). Points in no
    micro-grid are counted in ``attrs["unassigned"]`` of the result rather than silently
    dropped.

Sums over chunks
    What the statistics need from the incidents adds up per micro-grid and slice (counts,
    decayed scores, recent incidents per category): :func:`hotspot_sums` sums a chunk of
    incidents, chunks' sums add with ``+``, and :func:`hotspots_from_sums` computes the
    frame from them, the same as :func:`compute_hotspots` over all the incidents (to float
    rounding of the scores' sums). The city's hot spots (:mod:`gridplan.city.hotspots`) sum
    the partitions of a city's incidents this way, on several workers.

Getis-Ord Gi*
    Binary Queen contiguity and the score as the variable (:mod:`gridplan.analysis.gistar`),
    with the analytical z-score and p-value and a conditional-permutation pseudo p-value.
    A micro-grid without neighbours (an island) has no local neighbourhood to test: its Gi*
    is reported as NaN and ``not_significant``. p-values are corrected for multiple testing
    with the Benjamini-Hochberg false discovery rate per slice when ``config.fdr`` is set.

Excess test
    Each micro-grid's incident count against what the station's mean density predicts for its
    area (Choynowski's probability map, binomial given the slice's total;
    :mod:`gridplan.analysis.excess`), with the same FDR. It finds a single hot micro-grid among
    quiet ones, which Gi* by construction does not.

Classes (``gi_class``)
    ``hotspots.classes`` of the station config: ``gistar`` classes by Gi*
    (``hot_99`` ... ``cold_99``), ``excess`` by the excess test (``above_99`` ...
    ``below_99``), ``auto`` (the default) by the excess test on a small station, one with
    fewer than ``hotspots.small_station_cells`` (60) micro-grids, and by Gi* on the others.
    Measured: the 36-micro-grid test station (``tests/_small_station.py``) has no Gi* hot
    spot in any slice although three micro-grids hold 57 % of its incidents; the excess test
    classes its night hot spot hot at night and all day, and its two day hot spots by day.
    The demo (147 micro-grids) keeps Gi*. Both tests' p-values are in the frame whichever
    classes it.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan._validate import COLD_CLASSES
from gridplan._validate import HOT_CLASSES
from gridplan._validate import check_hotspot_columns
from gridplan.analysis._aggregate import Aggregate
from gridplan.analysis._aggregate import Sums
from gridplan.analysis._aggregate import aggregate
from gridplan.analysis._aggregate import check_incidents
from gridplan.analysis._aggregate import finish_sums
from gridplan.analysis._aggregate import micro_cells
from gridplan.analysis._aggregate import sum_incidents
from gridplan.analysis.excess import excess_test
from gridplan.analysis.gistar import classify_gi
from gridplan.analysis.gistar import fdr_bh
from gridplan.analysis.gistar import gi_star
from gridplan.analysis.gistar import queen_adjacency
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import to_output_crs
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config
from gridplan.station.timeslices import Period
from gridplan.station.timeslices import parse_period

#: Days before the end of the analysed period whose incidents the ``recent`` column counts.
RECENT_DAYS = 90


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
        Station configuration: time slices, timezone, half-life, hot-spot settings. Defaults to
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
        Long format in EPSG:4326, one row per micro-grid and slice: the whole-day slice ``all``
        first, then ``config.slices``; within a slice the grid's order. Columns ``id``, ``name``,
        ``parent_id``, ``slice``, ``count``, ``area_km2``, ``density_km2``, ``score`` (weight x
        recency decay), ``share`` and ``score_share`` (of the station's total in that slice; NaN if
        the slice has no incidents), ``rank`` (1 = highest score; ties by count, then id),
        ``gi_z``, ``gi_p`` (two-sided normal), ``gi_p_sim`` (two-sided permutation pseudo p),
        ``gi_p_fdr`` (Benjamini-Hochberg adjusted p of the one used for inference; NaN when
        ``config.fdr`` is off), ``expected`` (incidents at the station's mean density),
        ``excess_p`` (two-sided binomial p of ``count`` against ``expected``), ``excess_p_fdr``
        and ``gi_class``: the hot-spot class, by Gi* (``hot_99`` ... ``cold_99``,
        :data:`~gridplan._validate.GI_CLASSES`) or by the excess test (``above_99`` ...
        ``below_99``, :data:`~gridplan._validate.EXCESS_CLASSES`) as ``config``'s
        ``hotspots.classes`` decides (see the module docstring); ``recent``: the incidents
        of the :data:`RECENT_DAYS` before the end of the analysed period (or the latest
        incident) by category, as text ``"90d to 2020-01-01: 盗窃 5; 抢劫 2"`` (the three
        most frequent, see :func:`~gridplan._validate.format_recent`; ``""`` when there were
        none), so a plan can say why a stop matters.
        ``attrs`` holds ``unassigned`` (incidents in no micro-grid), ``incidents`` (analysed),
        ``no_time`` (skipped for lack of a valid time), ``period``, ``reference_time``,
        ``hot_classes`` (``"gistar"`` or ``"excess"``) and ``timings`` (seconds per stage).

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
    permutations = _permutations(config, permutations)
    period = parse_period(period) if period is not None else None
    cells = micro_cells(grid)
    check_incidents(incidents)
    report(progress, "hotspots: join and aggregate", 0, _STAGES)
    agg = aggregate(cells, incidents, config, period, recent_days=RECENT_DAYS)
    return _statistics(cells, agg, config, period, permutations, t_start, progress)


#: The sums of :func:`hotspot_sums`: add them (``a + b``) over chunks of the incidents.
HotspotSums = Sums


def hotspot_sums(
    incidents: pd.DataFrame,
    cell_index: np.ndarray,
    *,
    n_cells: int,
    period: Period | str | tuple,
    config: StationConfig | None = None,
) -> HotspotSums:
    """Sum a chunk of incidents per micro-grid and slice: the part of hot spots that adds up.

    The counts, decayed scores and recent incidents of :func:`compute_hotspots` are sums over
    the incidents, so they can be computed over chunks (partitions of a city's incidents, on
    several machines) and added: ``sum(chunks)`` is the sums of all, and
    :func:`hotspots_from_sums` computes the statistics on it. The recency decay is measured
    back from the end of ``period``, the same for every chunk.

    Parameters
    ----------
    incidents
        The chunk: ``time`` and ``weight`` (or ``category``/``alert``) columns, as in
        :func:`compute_hotspots`; no geometry is needed.
    cell_index
        The micro-grid of each incident: its row among the grid's micro-grids (in grid order,
        as :func:`gridplan.geo.grid.micro_grids` gives them), -1 for none. A point on an edge
        belongs to the first micro-grid it touches (as :func:`compute_hotspots` counts it).
    n_cells
        The grid's number of micro-grids.
    period
        The analysed period (see :func:`gridplan.station.timeslices.parse_period`).
    config
        Station configuration (slices, timezone, half-life, weights); defaults to
        :func:`gridplan.default_config`.

    Returns
    -------
    HotspotSums
        Counts and scores per micro-grid and slice, incident totals and recent categories.

    Raises
    ------
    InputError
        If the times are not datetimes or ``cell_index`` does not match the incidents.

    Examples
    --------
    >>> parts = [hotspot_sums(c, where(c), n_cells=n, period=p) for c in chunks]  # doctest: +SKIP
    >>> sums = functools.reduce(operator.add, parts)  # doctest: +SKIP
    >>> gdf_hot = hotspots_from_sums(gdf_grid, sums, period=p)  # doctest: +SKIP
    """
    config = config or default_config()
    period = parse_period(period)
    cell_index = np.asarray(cell_index, dtype=np.int64)
    if len(cell_index) != len(incidents) or (len(cell_index) and cell_index.max() >= n_cells):
        msg = (
            f"cell_index has {len(cell_index)} entries up to {cell_index.max(initial=-1)} for "
            f"{len(incidents)} incidents and {n_cells} micro-grids; give one micro-grid row "
            "(0 to n_cells - 1, or -1) per incident"
        )
        raise InputError(msg)
    reference = period.bounds(config.timezone)[1]
    return sum_incidents(
        incidents,
        config,
        period,
        n_cells=n_cells,
        reference=reference,
        cell_index=cell_index,
        recent_days=RECENT_DAYS,
    )


def hotspots_from_sums(
    grid: gpd.GeoDataFrame,
    sums: HotspotSums,
    *,
    config: StationConfig | None = None,
    period: Period | str | tuple | None = None,
    permutations: int | None = None,
    progress: ProgressCallback | None = None,
) -> gpd.GeoDataFrame:
    """Compute hot spots from the sums of a station's incidents (see :func:`hotspot_sums`).

    Parameters
    ----------
    grid
        The 1+5+N GRID frame the sums were made on.
    sums
        The sums of every chunk of the incidents, added.
    config, permutations, progress
        As :func:`compute_hotspots`; ``config`` must be the one the sums were made with.
    period
        The period the sums were made over (for ``attrs["period"]``).

    Returns
    -------
    geopandas.GeoDataFrame
        The frame of :func:`compute_hotspots` over the same incidents and period.

    Raises
    ------
    InputError
        If the sums are not of the grid's micro-grids, or as :func:`compute_hotspots`.
    """
    t_start = time.perf_counter()
    config = config or default_config()
    permutations = _permutations(config, permutations)
    period = parse_period(period) if period is not None else None
    cells = micro_cells(grid)
    if sums.counts.shape[0] != len(cells):
        msg = (
            f"the sums are of {sums.counts.shape[0]} micro-grids, the grid has {len(cells)}; "
            "sum the incidents over this grid's micro-grids"
        )
        raise InputError(msg)
    agg = finish_sums(cells, sums)
    return _statistics(cells, agg, config, period, permutations, t_start, progress)


_STAGES = 4


def _statistics(
    cells: gpd.GeoDataFrame,
    agg: Aggregate,
    config: StationConfig,
    period: Period | None,
    permutations: int,
    t_start: float,
    progress: ProgressCallback | None,
) -> gpd.GeoDataFrame:
    """Gi*, the excess test and the classes of the aggregated incidents: the hot-spot frame."""
    timings = dict(agg.timings)
    report(progress, "hotspots: contiguity", 1, _STAGES)
    t0 = time.perf_counter()
    adjacency = queen_adjacency(cells.geometry)
    timings["weights"] = time.perf_counter() - t0

    report(progress, "hotspots: Gi*", 2, _STAGES)
    t0 = time.perf_counter()
    z, p_norm, p_sim = gi_star(agg.scores, adjacency, permutations=permutations, seed=config.seed)
    timings["gi"] = time.perf_counter() - t0

    report(progress, "hotspots: assemble", 3, _STAGES)
    t0 = time.perf_counter()
    p_used = p_sim if config.gi_inference == "permutation" else p_norm
    p_fdr = _fdr(p_used, config)
    area_km2 = _area_km2(cells, config)
    expected, excess_p = excess_test(agg.counts, area_km2)
    excess_fdr = _fdr(excess_p, config)
    method = class_method_for(config, len(cells))
    if method == "excess":
        gi_class = classify_gi(
            agg.counts - expected, excess_fdr if config.fdr else excess_p, names=("above", "below")
        )
    else:
        gi_class = classify_gi(z, p_fdr if config.fdr else p_used)
    stats = {
        "gi_z": z,
        "gi_p": p_norm,
        "gi_p_sim": p_sim,
        "gi_p_fdr": p_fdr,
        "expected": expected,
        "excess_p": excess_p,
        "excess_p_fdr": excess_fdr,
        "gi_class": gi_class,
    }
    out = _long_frame(cells, agg, area_km2, stats)
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
            "hot_classes": method,
            "timings": timings,
        }
    )
    report(progress, "hotspots: done", _STAGES, _STAGES)
    return out


def class_method_for(config: StationConfig, n_cells: int) -> str:
    """Return how a station of ``n_cells`` micro-grids is classed: ``"gistar"`` or ``"excess"``.

    ``hotspots.classes = "auto"`` takes the excess test when the station has fewer than
    ``hotspots.small_station_cells`` micro-grids, Gi* otherwise; ``"gistar"`` and ``"excess"``
    are taken as they are.

    Examples
    --------
    >>> from gridplan.station.config import default_config
    >>> class_method_for(default_config(), 36), class_method_for(default_config(), 147)
    ('excess', 'gistar')
    """
    if config.hot_classes != "auto":
        return config.hot_classes
    return "excess" if n_cells < config.small_station_cells else "gistar"


def _fdr(p: np.ndarray, config: StationConfig) -> np.ndarray:
    """Benjamini-Hochberg adjusted p per slice (column); NaN everywhere when FDR is off."""
    out = np.full(p.shape, np.nan)
    if config.fdr:
        for c in range(p.shape[1]):
            out[:, c] = fdr_bh(p[:, c])
    return out


def _area_km2(cells: gpd.GeoDataFrame, config: StationConfig) -> np.ndarray:
    mcrs = metric_crs(cells, crs=config.metric_crs, source=config.source)
    return cells.to_crs(mcrs).area.to_numpy() / 1e6


def _permutations(config: StationConfig, permutations: int | None) -> int:
    """Return the number of Gi* permutations to draw, checked against the inference asked for."""
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
    return permutations


def _long_frame(
    cells: gpd.GeoDataFrame,
    agg: Aggregate,
    area_km2: np.ndarray,
    stats: dict[str, np.ndarray],
) -> gpd.GeoDataFrame:
    """Assemble the long hot-spot frame: one row per micro-grid and slice, slice-major.

    ``stats`` holds the (cells, slices) arrays of the columns from ``gi_z`` to ``gi_class``.
    """
    n, k = agg.counts.shape
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
            **{name: long(values) for name, values in stats.items()},
            "recent": long(agg.recent) if agg.recent is not None else "",
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
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
        ``cold_cells`` (significant at 90 % or more, :data:`~gridplan._validate.HOT_CLASSES`
        and :data:`~gridplan._validate.COLD_CLASSES`), ``top_id``, ``top_name``,
        ``top_count``, ``top_score`` (the rank-1 micro-grid) and ``top5pct_share`` (share of
        the slice's incidents in its top-ranked 5 % of micro-grids, at least one cell).

    Examples
    --------
    >>> hotspot_summary(gdf_hot)[["slice", "incidents", "hot_cells"]]  # doctest: +SKIP
    """
    check_hotspot_columns(gdf)
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
                "hot_cells": int(cls.isin(HOT_CLASSES).sum()),
                "cold_cells": int(cls.isin(COLD_CLASSES).sum()),
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
