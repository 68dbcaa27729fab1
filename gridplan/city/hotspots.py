"""Hot spots of every station over the city's incidents, with dask-geopandas.

The city's incidents (GeoParquet) are read in partitions; each partition is joined to every
station's micro-grids at once (:func:`dask_geopandas.sjoin`, the micro-grids broadcast to
every partition), and each incident is kept once per station whose micro-grids it falls in
(a point on the edge between two stations belongs to both; inside a station
:func:`gridplan.compute_hotspots` counts it once). The joined incidents are written to a
scratch folder partitioned by station (``station=ID/``), so no worker ever holds more than a
partition of the city and one station's incidents. Then one task per station reads its
incidents and runs :func:`gridplan.compute_hotspots` on them with the station's grid and
config: Gi* and the excess test exactly as for one station.

Period and reference time
    The recency decay is measured back from the end of the analysed period. One station's
    incidents end at another time than the city's, so every station is analysed over the same
    period: ``period`` when given, else the city's: from the day before its first incident to
    the day after its last (UTC days, so that every station's local days are inside).

:func:`city_hotspots_local` is the single-process path (one process, geopandas): the same
join, then :func:`gridplan.compute_hotspots` per station. The two give the same numbers, and
the same as :func:`gridplan.compute_hotspots` of a station's grid over all the city's
incidents (``tests/city/test_city_hotspots.py``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.city.cityfile import City
from gridplan.city.cityfile import CityStation

if TYPE_CHECKING:
    import geopandas as gpd
    from distributed import Client

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
    """

    period: str | None = None
    permutations: int | None = None


def _require_incidents(city: City) -> Path:
    if city.incidents is None:
        msg = (
            f'{city.source}: no city incidents; add incidents = "FILE.parquet" (the '
            "imported incidents as GeoParquet) to the city file"
        )
        raise InputError(msg)
    return city.incidents


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


def _period(params: CityHotspotParams, times: tuple[pd.Timestamp, pd.Timestamp]) -> Period:
    from gridplan.station.timeslices import parse_period

    if params.period is not None:
        return parse_period(params.period)
    if pd.isna(times[0]):
        msg = "the city's incidents have no valid time; nothing to analyse"
        raise InputError(msg)
    return city_period(*times)


def city_cells(city: City, crs) -> gpd.GeoDataFrame:
    """Return every station's micro-grids in ``crs``: columns ``station``, ``geometry``."""
    import geopandas as gpd

    from gridplan.geo.grid import load_grid
    from gridplan.geo.grid import micro_grids

    parts = []
    for station in city.stations:
        micro = micro_grids(load_grid(station.grid)).to_crs(crs)
        parts.append(
            gpd.GeoDataFrame(
                {"station": [station.id] * len(micro)}, geometry=micro.geometry.values, crs=crs
            )
        )
    cells = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(cells, geometry="geometry", crs=crs)


def _once_per_station(joined: pd.DataFrame) -> pd.DataFrame:
    """Keep each incident once per station (a point on an edge joins two micro-grids)."""
    keys = pd.DataFrame({"row": joined.index.to_numpy(), "station": joined["station"].to_numpy()})
    out = joined[~keys.duplicated().to_numpy()]
    return out.drop(columns=["index_right"])


def station_hotspots(
    station: CityStation,
    incidents: gpd.GeoDataFrame,
    period: Period,
    permutations: int | None,
) -> gpd.GeoDataFrame:
    """Return one station's hot spots over the incidents given (a task of the cluster)."""
    from gridplan.analysis.hotspots import compute_hotspots
    from gridplan.geo.grid import load_grid
    from gridplan.station.config import load_config

    config = load_config(station.config)
    grid = load_grid(station.grid)
    return compute_hotspots(
        grid, incidents, config=config, period=period, permutations=permutations
    )


def _read_station_part(
    station: CityStation,
    folder: Path,
    empty: gpd.GeoDataFrame,
    period: Period,
    permutations: int | None,
) -> gpd.GeoDataFrame:
    """Read a station's joined incidents from the scratch folder and compute its hot spots."""
    import geopandas as gpd

    part = folder / f"station={station.id}"
    incidents = gpd.read_parquet(part) if part.is_dir() else empty
    incidents = incidents.drop(columns=["station"], errors="ignore")
    if incidents.crs is None:
        incidents = incidents.set_crs(empty.crs)
    return station_hotspots(station, incidents, period, permutations)


def city_hotspots(
    city: City,
    params: CityHotspotParams,
    *,
    client: Client,
    scratch: str | Path,
    progress: ProgressCallback | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Compute every station's hot spots over the city's incidents on a Dask cluster.

    Parameters
    ----------
    city
        The stations and the city's incidents (GeoParquet).
    params
        Period and permutations.
    client
        A Dask client (:func:`gridplan.city.cluster.connect`).
    scratch
        A folder the workers and this process share, for the joined incidents (removed
        after).
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
    ...     hot = city_hotspots(load_city("city.toml"), CityHotspotParams(), client=client,
    ...                         scratch="out")
    """
    import dask
    import dask_geopandas
    from distributed import as_completed

    path = _require_incidents(city)
    ddf = dask_geopandas.read_parquet(path, columns=_columns(path), split_row_groups=True)
    if ddf.crs is None:
        msg = f"{path}: the incidents have no CRS; write them with one (EPSG:4326)"
        raise InputError(msg)
    period = _period(params, dask.compute(ddf["time"].min(), ddf["time"].max()))
    cells = dask_geopandas.from_geopandas(city_cells(city, ddf.crs), npartitions=1)
    joined = dask_geopandas.sjoin(ddf, cells, predicate="intersects")
    joined = joined.map_partitions(_once_per_station)
    Path(scratch).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".city-join-", dir=scratch))
    try:
        report(progress, "hotspots: join", 0, len(city.stations))
        joined.to_parquet(folder, partition_on=["station"], write_index=False)
        empty = ddf._meta
        futures = {
            client.submit(
                _read_station_part, s, folder, empty, period, params.permutations, pure=False
            ): s.id
            for s in city.stations
        }
        out: dict[str, gpd.GeoDataFrame] = {}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            report(progress, f"hotspots {futures[future]}", len(out), len(futures))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {s.id: out[s.id] for s in city.stations}


def city_hotspots_local(
    city: City,
    params: CityHotspotParams,
    *,
    progress: ProgressCallback | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Compute every station's hot spots in this process (geopandas, no Dask).

    The same as :func:`city_hotspots`: one join of the city's incidents to every station's
    micro-grids, then :func:`gridplan.compute_hotspots` per station over the same period.
    """
    import geopandas as gpd

    path = _require_incidents(city)
    incidents = gpd.read_parquet(path, columns=_columns(path))
    period = _period(params, (incidents["time"].min(), incidents["time"].max()))
    cells = city_cells(city, incidents.crs)
    joined = _once_per_station(gpd.sjoin(incidents, cells, predicate="intersects"))
    del incidents
    groups = dict(iter(joined.groupby("station", sort=False)))
    empty = joined.iloc[:0]
    out = {}
    for k, station in enumerate(city.stations, start=1):
        part = groups.pop(station.id, empty).drop(columns=["station"])
        out[station.id] = station_hotspots(station, part, period, params.permutations)
        report(progress, f"hotspots {station.id}", k, len(city.stations))
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
