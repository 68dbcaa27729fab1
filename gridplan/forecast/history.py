"""A station's incident history as per-day counts per micro-grid and slice, built once.

Every forecast method and the rolling back-test derive what they need from these arrays, so
fitting at a hundred origins costs array slices, not a hundred joins:

``cum[d, s, c]``
    Incidents of slice ``s`` in micro-grid ``c`` on the days before day ``d`` (day 0 is
    :attr:`History.first_day`). What a forecast may use at an origin ``o`` is exactly
    ``cum[:o + 1]`` (the days before ``o``): nothing of day ``o`` or later, so nothing leaks.
``harm[d, s, c]``
    The same with every incident weighted by its severity (category x alert weight).

A day is the station's local calendar day of the incident time, as in
:class:`~gridplan.station.timeslices.Period`; slice 0 is the whole day (``all``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.signal import lfilter

from gridplan._errors import InputError
from gridplan.analysis.join import check_incidents
from gridplan.analysis.join import incident_weights
from gridplan.analysis.join import locate_points
from gridplan.analysis.join import micro_cells
from gridplan.geo.crs import metric_crs
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config
from gridplan.station.timeslices import ALL_DAY
from gridplan.station.timeslices import assign_slices

__all__ = ["History", "build_history"]

#: Spacing of the points sampled in each micro-grid to integrate the spatial kernels.
KERNEL_SAMPLE_M = 50.0


@dataclasses.dataclass(frozen=True)
class History:
    """Per-day cumulative counts per micro-grid and slice (see the module docstring).

    Attributes
    ----------
    cells
        The micro-grids, in grid order (``id``, ``name``, ``parent_id``, geometry).
    slice_ids
        ``all`` then the station's slices.
    first_day
        The local date of day 0.
    cum, harm
        ``(days + 1, slices, cells)`` cumulative counts and severity-weighted counts.
    area_m2
        Area of every micro-grid in the metric CRS.
    samples
        ``(points, 3)``: x, y (metres) and the micro-grid index of points sampled in each
        micro-grid (for the kernels).
    unassigned
        Incidents in the history's days that fall in no micro-grid (left out).
    """

    cells: gpd.GeoDataFrame
    slice_ids: tuple[str, ...]
    first_day: dt.date
    cum: np.ndarray
    harm: np.ndarray
    area_m2: np.ndarray
    samples: np.ndarray
    unassigned: int = 0
    _cache: dict[Any, np.ndarray] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def days(self) -> int:
        """Number of days covered (day indices 0 .. days - 1)."""
        return self.cum.shape[0] - 1

    @property
    def last_day(self) -> dt.date:
        """The local date of the last day covered."""
        return self.first_day + dt.timedelta(days=self.days - 1)

    @property
    def ids(self) -> np.ndarray:
        """Micro-grid ids, in grid order."""
        return self.cells["id"].to_numpy(dtype=str)

    def day_index(self, day: dt.date | str | pd.Timestamp) -> int:
        """Return the index of a local date (may lie outside ``0 .. days``)."""
        return (pd.Timestamp(day).date() - self.first_day).days

    def day(self, index: int) -> dt.date:
        """Return the local date of a day index."""
        return self.first_day + dt.timedelta(days=int(index))

    def totals(self, origins: np.ndarray, *, severity: bool = False) -> np.ndarray:
        """``(origins, slices, cells)`` counts of every day before each origin."""
        return (self.harm if severity else self.cum)[_clip(origins, self.days)]

    def window(self, origins: np.ndarray, days: int, *, severity: bool = False) -> np.ndarray:
        """``(origins, slices, cells)`` counts of the ``days`` days before each origin."""
        cum = self.harm if severity else self.cum
        o = _clip(origins, self.days)
        return cum[o] - cum[np.maximum(o - int(days), 0)]

    def ahead(self, origins: np.ndarray, days: int, *, severity: bool = False) -> np.ndarray:
        """``(origins, slices, cells)`` counts of the ``days`` days from each origin on."""
        cum = self.harm if severity else self.cum
        o = _clip(origins, self.days)
        return cum[_clip(o + int(days), self.days)] - cum[o]

    def decayed(self, origins: np.ndarray, half_life_days: float, *, severity: bool = False):
        """``(origins, slices, cells)``: incidents before each origin, halved per half-life.

        An incident of day ``d`` weighs ``0.5 ** ((o - d) / half_life_days)`` at origin ``o``
        (the day before the origin weighs ``0.5 ** (1 / half_life_days)``).
        """
        key = ("decayed", float(half_life_days), severity)
        if key not in self._cache:
            cum = self.harm if severity else self.cum
            daily = np.diff(cum, axis=0)
            r = 0.5 ** (1.0 / float(half_life_days))
            # y[t] = r * (y[t-1] + x[t-1]): the decayed sum of the days before day t
            out = np.zeros_like(cum)
            out[1:] = lfilter([r], [1.0, -r], daily, axis=0)
            self._cache[key] = out
        return self._cache[key][_clip(origins, self.days)]

    def neighbours(self) -> np.ndarray:
        """``(cells, cells)`` 0/1: queen contiguity (micro-grids sharing an edge or a corner)."""
        key = ("neighbours",)
        if key not in self._cache:
            geoms = self.cells.geometry
            i, j = geoms.sindex.query(geoms, predicate="intersects")
            out = np.zeros((len(geoms), len(geoms)))
            out[i, j] = 1.0
            np.fill_diagonal(out, 0.0)
            self._cache[key] = out
        return self._cache[key]

    def kernel(self, bandwidth_m: float) -> np.ndarray:
        """``(cells, cells)``: how a Gaussian kernel spreads each micro-grid over the others.

        Entry ``[i, j]`` is the share of a unit spread evenly over micro-grid ``j`` that a
        kernel of ``bandwidth_m`` (standard deviation, metres) puts in micro-grid ``i``; the
        mass it puts outside the station is lost (edges are not boosted).
        """
        key = ("kernel", float(bandwidth_m))
        if key not in self._cache:
            self._cache[key] = _kernel(self.samples, self.area_m2, float(bandwidth_m))
        return self._cache[key]


def _clip(origins, days: int) -> np.ndarray:
    return np.clip(np.asarray(origins, dtype=np.int64), 0, days)


#: Sample-pair distances computed at once when integrating a kernel (memory, not speed).
_KERNEL_CHUNK = 2_000_000


def _kernel(samples: np.ndarray, area: np.ndarray, bandwidth: float) -> np.ndarray:
    """Mean kernel density at micro-grid i's points from micro-grid j's, times i's area.

    ``samples`` are sorted by micro-grid and every micro-grid has at least one; the pairs are
    taken a block of micro-grids at a time, so a station of thousands stays in memory.
    """
    xy, owner = samples[:, :2], samples[:, 2].astype(np.int64)
    n = len(area)
    per_cell = np.bincount(owner, minlength=n)
    starts = np.concatenate([[0], np.cumsum(per_cell)])
    rows = max(int(per_cell.max()), _KERNEL_CHUNK // len(xy))
    out = np.zeros((n, n))
    first = 0
    while first < n:
        last = int(np.searchsorted(starts, starts[first] + rows, side="right")) - 1
        last = min(max(last, first + 1), n)
        block = xy[starts[first] : starts[last]]
        d2 = ((block[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
        density = np.exp(-d2 / (2 * bandwidth**2)) / (2 * np.pi * bandwidth**2)
        by_col = np.add.reduceat(density, starts[:-1], axis=1)
        out[first:last] = np.add.reduceat(by_col, starts[first:last] - starts[first], axis=0)
        first = last
    return out / np.outer(per_cell, per_cell) * area[:, None]


def _samples(cells_metric: gpd.GeoSeries) -> np.ndarray:
    """Points on a :data:`KERNEL_SAMPLE_M` lattice inside each micro-grid (at least one)."""
    rows = []
    step = KERNEL_SAMPLE_M
    for i, geom in enumerate(cells_metric):
        x0, y0, x1, y1 = geom.bounds
        xs = np.arange(x0 + step / 2, x1, step)
        ys = np.arange(y0 + step / 2, y1, step)
        gx, gy = np.meshgrid(xs, ys)
        pts = gpd.points_from_xy(gx.ravel(), gy.ravel())
        inside = np.asarray(geom.contains(pts), dtype=bool) if len(pts) else np.zeros(0, bool)
        if not inside.any():
            p = geom.representative_point()
            rows.append((p.x, p.y, i))
            continue
        rows.extend((x, y, i) for x, y in zip(gx.ravel()[inside], gy.ravel()[inside], strict=True))
    return np.asarray(rows, dtype=float)


def _cumulative(daily: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """``(days + 1, slices, cells)`` sums of the days before each day, in float32.

    float32 halves the memory of a long history; counts stay exact up to 16 million.
    """
    out = np.zeros((shape[0] + 1, *shape[1:]), dtype=np.float32)
    np.cumsum(daily.reshape(shape), axis=0, dtype=np.float32, out=out[1:])
    return out


def _local_days(incidents: gpd.GeoDataFrame, config: StationConfig) -> pd.Series:
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


def build_history(
    grid: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    config: StationConfig | None = None,
    first_day: dt.date | str | None = None,
    last_day: dt.date | str | None = None,
) -> History:
    """Count incidents per local day, slice and micro-grid once, for every forecast.

    Parameters
    ----------
    grid
        The 1+5+N GRID frame; its micro-grids are forecast.
    incidents
        The INCIDENTS frame (``time``, point geometry; ``weight`` or ``category``/``alert``
        for severity).
    config
        Station configuration (slices, timezone, severity weights, metric CRS).
    first_day, last_day
        Local dates the history covers (default: the first and last incident's).

    Returns
    -------
    History

    Raises
    ------
    InputError
        If the grid has no micro-grids, the incidents lack valid times, or ``last_day`` is
        before ``first_day``.

    Examples
    --------
    >>> history = build_history(gdf_grid, gdf_incidents, config=cfg)  # doctest: +SKIP
    >>> history.first_day, history.days, history.slice_ids  # doctest: +SKIP
    """
    config = config or default_config()
    cells = micro_cells(grid)
    check_incidents(incidents)
    times = _local_days(incidents, config)
    valid = times.notna().to_numpy()
    if not valid.any():
        msg = "the incidents have no valid time; import them with gridplan.import_incidents"
        raise InputError(msg)
    day = times.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    first = np.datetime64(pd.Timestamp(first_day).date()) if first_day else day[valid].min()
    last = np.datetime64(pd.Timestamp(last_day).date()) if last_day else day[valid].max()
    if last < first:
        msg = f"last_day {last} is before first_day {first}; swap them"
        raise InputError(msg)
    n_days = int((last - first).astype(int)) + 1
    index = (day - first).astype("timedelta64[D]").astype(np.int64)
    keep = valid & (index >= 0) & (index < n_days)
    points = incidents.geometry
    if incidents.crs != cells.crs:
        points = points.to_crs(cells.crs)
    cell = locate_points(cells.geometry, np.asarray(points.values))
    members = assign_slices(times, config.slices, tz=config.timezone).to_numpy()
    weights = incident_weights(incidents, config)
    inside = keep & (cell >= 0)
    shape = (n_days, 1 + members.shape[1], len(cells))
    flat, w = [], []
    for s in range(shape[1]):
        sel = inside if s == 0 else inside & members[:, s - 1]
        flat.append((index[sel] * shape[1] + s) * shape[2] + cell[sel])
        w.append(weights[sel])
    flat_all, w_all = np.concatenate(flat), np.concatenate(w)
    metric = cells.to_crs(metric_crs(cells, crs=config.metric_crs, source=config.source))
    return History(
        cells=cells,
        slice_ids=(ALL_DAY, *(s.id for s in config.slices)),
        first_day=pd.Timestamp(first).date(),
        cum=_cumulative(np.bincount(flat_all, minlength=math.prod(shape)), shape),
        harm=_cumulative(np.bincount(flat_all, w_all, minlength=math.prod(shape)), shape),
        area_m2=metric.area.to_numpy(),
        samples=_samples(metric.geometry),
        unassigned=int((keep & (cell < 0)).sum()),
    )
