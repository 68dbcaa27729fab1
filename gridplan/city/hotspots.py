"""Hot spots of every station over the city's incidents, with dask-geopandas.

What hot spots need from the incidents adds up: per station, micro-grid and time slice, the
incident count, the sum of the decayed weights and the recent incidents per category
(:func:`gridplan.analysis.hotspots.hotspot_sums`). So the incidents never move: the city's
incidents (GeoParquet) are read in partitions (one per row group), each partition is located
in every station's micro-grids at once (one STRtree of all of them, in each grid's CRS) and
summed per station and micro-grid, and the partitions' sums are added pairwise in a fixed tree
(a few hundred kilobytes each). Then one task per station runs Gi* and the excess test on its
sums (:func:`gridplan.analysis.hotspots.hotspots_from_sums`). A point on the edge between two
stations belongs to both; inside a station it counts once, in its first micro-grid, as
:func:`gridplan.compute_hotspots` counts it.

Period and reference time
    The recency decay is measured back from the end of the analysed period. One station's
    incidents end at another time than the city's, so every station is analysed over the same
    period: ``period`` when given, else the city's: from the day before its first incident to
    the day after its last (UTC days, so that every station's local days are inside).

:func:`city_hotspots_local` is the single-process path (one process, geopandas): the same
partitions summed in the same order, then the same statistics per station. The two give the
same numbers, bit for bit, and the same as :func:`gridplan.compute_hotspots` of a station's
grid over all the city's incidents, to float rounding (scores summed in another order;
``tests/city/test_city_hotspots.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.city.cityfile import City
from gridplan.city.cityfile import CityStation

if TYPE_CHECKING:
    import geopandas as gpd
    from distributed import Client

    from gridplan.analysis.hotspots import HotspotSums
    from gridplan.station.config import StationConfig
    from gridplan.station.timeslices import Period

#: Columns of the city's incidents that hot spots use (those present are read).
INCIDENT_COLUMNS = ("time", "weight", "category", "alert")


@dataclasses.dataclass(frozen=True)
class CityHotspotParams:
    """How the city's hot spots are computed.

    Attributes
    ----------
    period
        Only incidents in this period (``"2019"``, ``"2015:2018"``, see
        :func:`gridplan.station.timeslices.parse_period`); ``None``: the city's whole span
        (see the module docstring).
    permutations
        Gi* permutations; ``None`` takes each station's config.
    retries
        Times a task of :func:`city_hotspots` is run again after it raised (a worker lost
        mid-task is rescheduled by Dask on its own, and the sums it held are recomputed from
        the incidents).
    """

    period: str | None = None
    permutations: int | None = None
    retries: int = 2

    def __post_init__(self):
        if not (isinstance(self.retries, int) and self.retries >= 0):
            msg = f"CityHotspotParams: retries={self.retries!r} must be 0 or more"
            raise InputError(msg)


def _require_incidents(city: City) -> Path:
    if city.incidents is None:
        msg = (
            f'{city.source}: no city incidents; add incidents = "FILE.parquet" (the '
            "imported incidents as GeoParquet) to the city file"
        )
        raise InputError(msg)
    return city.incidents


def _span(times: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    return times.min(), times.max()


def _require_crs(crs, path: Path) -> None:
    if crs is None:
        msg = f"{path}: the incidents have no CRS; write them with one (EPSG:4326)"
        raise InputError(msg)


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names if path.is_file() else None
    except Exception as exc:  # pyarrow raises its own error types for a file that is not parquet
        msg = f"{path}: not a GeoParquet file ({exc}); write the incidents with to_parquet()"
        raise InputError(msg) from exc
    if names is None:  # a folder of parquet files: dask reads the schema
        import dask_geopandas

        names = list(dask_geopandas.read_parquet(path).columns)
    if "time" not in names or "geometry" not in names:
        msg = (
            f"{path}: the city's incidents need 'time' and 'geometry' columns (found: "
            f"{', '.join(names)}); write the imported incidents (gridplan incidents import)"
        )
        raise InputError(msg)
    return [c for c in (*INCIDENT_COLUMNS, "geometry") if c in names]


def city_period(first: pd.Timestamp, last: pd.Timestamp) -> Period:
    """Return the period every station is analysed over: first day - 1 to last day + 1 (UTC)."""
    from gridplan.station.timeslices import Period

    def day(t: pd.Timestamp) -> pd.Timestamp:
        t = pd.Timestamp(t)
        t = t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t
        return t.normalize()

    return Period(day(first) - pd.Timedelta(days=1), day(last) + pd.Timedelta(days=1))


def _period(
    params: CityHotspotParams, span: Callable[[], tuple[pd.Timestamp, pd.Timestamp]]
) -> Period:
    """``params.period``, else the city's period of the incidents' first and last ``span()``."""
    from gridplan.station.timeslices import parse_period

    if params.period is not None:
        return parse_period(params.period)
    times = span()
    if pd.isna(times[0]):
        msg = "the city's incidents have no valid time; nothing to analyse"
        raise InputError(msg)
    return city_period(*times)


@dataclasses.dataclass(frozen=True)
class _Layer:
    """The micro-grids of the stations whose grids share one CRS."""

    crs: object
    geometries: np.ndarray
    station: np.ndarray  # the station (its position in the city) of each micro-grid
    local: np.ndarray  # its row among the station's micro-grids


@dataclasses.dataclass(frozen=True)
class CityGrids:
    """Every station's micro-grids and config: what a partition of incidents is summed over.

    Attributes
    ----------
    ids, configs, n_cells
        Per station, in the city file's order: its id, config and number of micro-grids.
    layers
        The micro-grids, one layer per grid CRS (each station's points are located in its
        grid's CRS, as :func:`gridplan.compute_hotspots` does).
    """

    ids: tuple[str, ...]
    configs: tuple[StationConfig, ...]
    n_cells: tuple[int, ...]
    layers: tuple[_Layer, ...]

    def locate(self, points: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(row, station, cell)``: each point once per station it falls in.

        Sorted by station, then row; ``cell`` is the lowest micro-grid row of the station
        the point intersects (a point on an edge inside a station counts once).
        """
        import shapely

        rows, stations, cells = [], [], []
        for layer in self.layers:
            there = points if points.crs == layer.crs else points.to_crs(layer.crs)
            tree = shapely.STRtree(layer.geometries)
            row, hit = tree.query(np.asarray(there.values), predicate="intersects")
            rows.append(row)
            stations.append(layer.station[hit])
            cells.append(layer.local[hit])
        row, station, cell = (np.concatenate(a).astype(np.int64) for a in (rows, stations, cells))
        order = np.lexsort((cell, row, station))
        row, station, cell = row[order], station[order], cell[order]
        first = np.ones(len(row), dtype=bool)
        first[1:] = (station[1:] != station[:-1]) | (row[1:] != row[:-1])
        return row[first], station[first], cell[first]


@dataclasses.dataclass(frozen=True)
class StationGrid:
    """One station of the city, loaded: its grid and config (for its sums and its hot spots)."""

    station: CityStation
    config: StationConfig
    grid: gpd.GeoDataFrame


def load_station(station: CityStation) -> StationGrid:
    """Load a station's grid and config (a task of the cluster: stations load in parallel)."""
    from gridplan.geo.grid import load_grid
    from gridplan.station.config import load_config

    return StationGrid(station, load_config(station.config), load_grid(station.grid))


def city_grids(stations: Sequence[StationGrid]) -> CityGrids:
    """Return the :class:`CityGrids` of the loaded stations (:func:`load_station`)."""
    from gridplan.geo.grid import micro_grids

    n_cells, by_crs = [], {}
    for k, loaded in enumerate(stations):
        micro = micro_grids(loaded.grid)
        n_cells.append(len(micro))
        by_crs.setdefault(micro.crs, []).append((k, micro.geometry.to_numpy()))
    layers = tuple(
        _Layer(
            crs=crs,
            geometries=np.concatenate([g for _, g in parts]),
            station=np.concatenate([np.full(len(g), k, dtype=np.int64) for k, g in parts]),
            local=np.concatenate([np.arange(len(g), dtype=np.int64) for _, g in parts]),
        )
        for crs, parts in by_crs.items()
    )
    return CityGrids(
        ids=tuple(s.station.id for s in stations),
        configs=tuple(s.config for s in stations),
        n_cells=tuple(n_cells),
        layers=layers,
    )


def partition_sums(
    part: gpd.GeoDataFrame, grids: CityGrids, period: Period
) -> dict[str, HotspotSums]:
    """Return the hot-spot sums of one partition of incidents, per station it reaches."""
    from gridplan.analysis.hotspots import hotspot_sums

    row, station, cell = grids.locate(part.geometry)
    if not len(row):
        return {}
    table = pd.DataFrame(part.drop(columns=part.geometry.name))
    starts = np.flatnonzero(np.r_[True, station[1:] != station[:-1]])
    out = {}
    for a, b in zip(starts, [*starts[1:], len(row)], strict=True):
        k = int(station[a])
        out[grids.ids[k]] = hotspot_sums(
            table.iloc[row[a:b]],
            cell[a:b],
            n_cells=grids.n_cells[k],
            period=period,
            config=grids.configs[k],
        )
    return out


class _Partitions:
    """The city's incidents as a dask-geopandas frame, carried into a task unevaluated.

    A task reads its partition itself (:meth:`read`) and sums it, so a partition of incidents
    never travels between workers: only its sums do.
    """

    def __init__(self, ddf):
        self.ddf = ddf

    def read(self, i: int) -> gpd.GeoDataFrame:
        """Read partition ``i`` in this process."""
        return self.ddf.partitions[i].compute(scheduler="sync")


def _read_and_sum(
    source: _Partitions, i: int, grids: CityGrids, period: Period
) -> dict[str, HotspotSums]:
    return partition_sums(source.read(i), grids, period)


def add_sums(a: Mapping[str, HotspotSums], b: Mapping[str, HotspotSums]) -> dict[str, HotspotSums]:
    """Add two partitions' sums, station by station."""
    out = dict(a)
    for sid, sums in b.items():
        out[sid] = out[sid] + sums if sid in out else sums
    return out


def tree_sum(items: list, add: Callable) -> object:
    """Add ``items`` pairwise, level by level (``((0+1)+(2+3))+...``): a fixed order.

    Floating-point sums depend on their order; both paths add the partitions in this one, so
    they give the same numbers bit for bit. ``add`` may return a delayed or a future.
    """
    if not items:
        return {}
    while len(items) > 1:
        pairs = range(0, len(items) - 1, 2)
        items = [add(items[i], items[i + 1]) for i in pairs] + items[len(items) - len(items) % 2 :]
    return items[0]


def station_hotspots(
    loaded: StationGrid,
    sums: Mapping[str, HotspotSums],
    empty: pd.DataFrame,
    period: Period,
    permutations: int | None,
) -> gpd.GeoDataFrame:
    """Return one station's hot spots from the city's sums (a task of the cluster).

    ``empty`` is an empty frame of the incidents' columns: the sums of a station no incident
    reached.
    """
    from gridplan.analysis.hotspots import hotspot_sums
    from gridplan.analysis.hotspots import hotspots_from_sums
    from gridplan.geo.grid import micro_grids

    config, grid = loaded.config, loaded.grid
    mine = sums.get(loaded.station.id)
    if mine is None:
        none = np.zeros(0, dtype=np.int64)
        n_cells = len(micro_grids(grid))
        mine = hotspot_sums(empty, none, n_cells=n_cells, period=period, config=config)
    return hotspots_from_sums(grid, mine, config=config, period=period, permutations=permutations)


def _row_groups(path: Path) -> list[int]:
    """Rows per row group of the incidents, in the order dask-geopandas reads them."""
    import pyarrow.parquet as pq

    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    sizes = []
    for file in files:
        meta = pq.ParquetFile(file).metadata
        sizes += [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    return sizes


def city_hotspots(
    city: City,
    params: CityHotspotParams,
    *,
    client: Client,
    progress: ProgressCallback | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Compute every station's hot spots over the city's incidents on a Dask cluster.

    Parameters
    ----------
    city
        The stations and the city's incidents (GeoParquet).
    params
        Period, permutations and retries.
    client
        A Dask client (:func:`gridplan.city.cluster.connect`).
    progress
        Receives ``("hotspots STATION", done, total)`` as each station finishes.

    Returns
    -------
    dict
        Station id -> its hot-spot frame (as :func:`gridplan.compute_hotspots`), in the city
        file's order.

    Examples
    --------
    >>> with connect() as client:  # doctest: +SKIP
    ...     hot = city_hotspots(load_city("city.toml"), CityHotspotParams(), client=client)
    """
    import dask
    import dask.dataframe as dd
    import dask_geopandas
    from distributed import as_completed

    path = _require_incidents(city)
    ddf = dask_geopandas.read_parquet(path, columns=_columns(path), split_row_groups=True)
    _require_crs(ddf.crs, path)
    times = dd.read_parquet(path, columns=["time"])["time"]  # the time column alone
    period = _period(params, lambda: dask.compute(times.min(), times.max()))
    loaded = [dask.delayed(load_station, pure=False)(s) for s in city.stations]
    grids = dask.delayed(city_grids, pure=False)(loaded)
    source = dask.delayed(_Partitions(ddf), pure=False, traverse=False)
    parts = [
        dask.delayed(_read_and_sum, pure=False)(source, i, grids, period)
        for i in range(ddf.npartitions)
    ]
    total = tree_sum(parts, dask.delayed(add_sums, pure=False))
    empty = pd.DataFrame(ddf._meta.drop(columns=ddf._meta.geometry.name))
    tasks = [
        dask.delayed(station_hotspots, pure=False)(s, total, empty, period, params.permutations)
        for s in loaded
    ]
    futures = dict(zip(client.compute(tasks, retries=params.retries), city.stations, strict=True))
    report(progress, "hotspots: sums", 0, len(city.stations))
    out: dict[str, gpd.GeoDataFrame] = {}
    for future in as_completed(futures):
        sid = futures[future].id
        out[sid] = future.result()
        report(progress, f"hotspots {sid}", len(out), len(futures))
    return {s.id: out[s.id] for s in city.stations}


def city_hotspots_local(
    city: City,
    params: CityHotspotParams,
    *,
    progress: ProgressCallback | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Compute every station's hot spots in this process (geopandas, no Dask).

    The same as :func:`city_hotspots`: the same partitions (the file's row groups) summed per
    station and added in the same order, then the same statistics per station.
    """
    import geopandas as gpd

    path = _require_incidents(city)
    incidents = gpd.read_parquet(path, columns=_columns(path))
    _require_crs(incidents.crs, path)
    period = _period(params, functools.partial(_span, incidents["time"]))
    loaded = [load_station(s) for s in city.stations]
    grids = city_grids(loaded)
    ends = np.cumsum(_row_groups(path))
    if not len(ends) or ends[-1] != len(incidents):  # a layout read otherwise: one partition
        ends = np.array([len(incidents)])
    parts = [
        partition_sums(incidents.iloc[a:b], grids, period)
        for a, b in zip([0, *ends[:-1]], ends, strict=True)
    ]
    total = tree_sum(parts, add_sums)
    empty = pd.DataFrame(incidents.iloc[:0].drop(columns=incidents.geometry.name))
    del incidents, parts
    out = {}
    for k, station in enumerate(loaded, start=1):
        sid = station.station.id
        out[sid] = station_hotspots(station, total, empty, period, params.permutations)
        report(progress, f"hotspots {sid}", k, len(loaded))
    return out


def write_city_hotspots(hot: Mapping[str, gpd.GeoDataFrame], out: str | Path) -> dict[str, Path]:
    """Write each station's hot spots as ``OUT/ID.hotspots.gpkg`` (atomically); return them.

    Each file is written under a temporary name beside it and renamed, so a file is whole or
    absent; ``gridplan plan --hotspots`` and a city file's ``hotspots`` read them.
    """
    from gridplan.io.results import write_hotspots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for sid, frame in hot.items():
        path = out / f"{sid}.hotspots.gpkg"
        tmp = out / f".{sid}.{os.getpid()}.{time.time_ns()}.hotspots.gpkg"
        try:
            write_hotspots(frame, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        written[sid] = path
    return written
