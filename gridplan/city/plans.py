"""Every station's plan for a day, one Dask task per station.

:func:`plan_station` is the task: it loads one station's grid, config and roster, hot spots
(its hot-spot file, or its incident export through :func:`gridplan.import_incidents` and
:func:`gridplan.compute_hotspots`) and street network, and plans the day with
:func:`gridplan.plan_patrols`, the chain of :func:`gridplan.pipeline.run_station` and
``gridplan plan``. It reads the station's files where it runs, so the workers must see the
city's files at the same paths (one machine, or a shared folder).

:func:`plan_city` submits one task per station and writes each plan as it arrives, on the
machine that submitted them, atomically (:func:`gridplan.io.planfile.save_plan` writes a
temporary file and renames it), so no worker ever writes, and a worker that dies mid-task
leaves no half-written plan: the scheduler runs the task again on another worker. A task that
raises is retried ``retries`` times; a station that still fails is listed in the report and
never stops the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from gridplan._errors import GridplanError
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.city.cityfile import City
from gridplan.city.cityfile import CityStation

if TYPE_CHECKING:
    from distributed import Client

    from gridplan.routing.plan import PatrolPlan


@dataclasses.dataclass(frozen=True)
class CityPlanParams:
    """What every station's plan of the night is made with.

    Attributes
    ----------
    date
        The day planned (``YYYY-MM-DD``, the shifts' start day in each station's time).
    slices
        The slices to plan (default: all of the day's slices).
    time_limit_s
        Solver seconds per slice (each task searches in one process).
    seed
        Solver seed: the same seed, the same plan.
    retries
        Times a station's task is run again after it raised (a worker lost mid-task is
        rescheduled by Dask on its own, up to ``distributed.scheduler.allowed-failures``).
    """

    date: str
    slices: tuple[str, ...] | None = None
    time_limit_s: float = 5.0
    seed: int = 0
    retries: int = 2

    def __post_init__(self):
        problems = []
        try:
            dt.date.fromisoformat(self.date)
        except (TypeError, ValueError):
            problems.append(f"date={self.date!r} must be a day as YYYY-MM-DD, e.g. 2025-06-14")
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            problems.append(f"time_limit_s={self.time_limit_s!r} must be a positive number")
        if not (isinstance(self.retries, int) and self.retries >= 0):
            problems.append(f"retries={self.retries!r} must be 0 or more")
        if problems:
            msg = "CityPlanParams is invalid:\n- " + "\n- ".join(problems)
            raise InputError(msg)


@dataclasses.dataclass(frozen=True)
class CityPlanReport:
    """What :func:`plan_city` did.

    Attributes
    ----------
    written
        Station id -> where its plan was written (a file, a stored plan), in the order the
        plans arrived.
    failed
        Station id -> why its plan failed (after the retries).
    seconds
        Wall-clock seconds of the whole run.
    """

    written: Mapping[str, str]
    failed: Mapping[str, str]
    seconds: float

    def summary(self) -> dict:
        """Return a JSON-able summary: counts, files and failures."""
        return {
            "plans": len(self.written),
            "failed": len(self.failed),
            "written": dict(self.written),
            "failures": dict(self.failed),
            "seconds": round(self.seconds, 2),
        }


def station_hotspots(station: CityStation, config, grid):
    """Return the station's hot spots: its hot-spot file, or made from its incident export."""
    from gridplan.analysis.hotspots import compute_hotspots
    from gridplan.geo.incidents import import_incidents
    from gridplan.io.results import read_hotspots

    if station.hotspots is not None:
        return read_hotspots(station.hotspots)
    if station.incidents is None:
        msg = (
            f"station {station.id}: the city file gives neither incidents (its export) nor "
            "hotspots (a file of `gridplan city hotspots`); add one of them to its entry"
        )
        raise InputError(msg)
    imported = import_incidents(station.incidents, config=config, station=grid)
    return compute_hotspots(grid, imported.incidents, config=config)


def plan_station(station: CityStation, params: CityPlanParams) -> PatrolPlan:
    """Plan one station's day from its files (the task :func:`plan_city` runs on a worker).

    Parameters
    ----------
    station
        The station and its files.
    params
        The day, slices, solver seconds per slice and seed.

    Returns
    -------
    PatrolPlan

    Raises
    ------
    InputError
        If the station's config has another id, or a file is wrong (as ``gridplan plan``).
    """
    from gridplan.geo.grid import load_grid
    from gridplan.network.graphs import build_network
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams
    from gridplan.station.config import load_config

    config = load_config(station.config)
    if config.station_id != station.id:
        msg = (
            f"{station.config}: station.id is {config.station_id!r} but the city file lists "
            f"it as {station.id!r}; make them the same"
        )
        raise InputError(msg)
    grid = load_grid(station.grid)
    hot = station_hotspots(station, config, grid)
    net = None
    if station.streets is not None:
        net = build_network(station.streets, boundary=grid, crs=config.metric_crs)
    request = PlanRequest(params.date, slices=params.slices, seed=params.seed)
    # one search process per task: the cluster's workers are the parallelism
    solve = SolveParams(time_limit_s=params.time_limit_s, seed=params.seed, workers=1)
    return plan_patrols(grid, hot, net, config, request, params=solve)


def plan_inputs(grid, hotspots, network, config, params: CityPlanParams) -> PatrolPlan:
    """Plan one station's day from inputs already read (the task of a stored station).

    ``network`` is the station's :class:`~gridplan.network.graphs.StreetNetwork` (read where
    the task was submitted), a network file of ``gridplan network build`` (read where the
    task runs), or ``None`` for straight lines.
    """
    from gridplan.network.graphs import load_network
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    net = load_network(network) if isinstance(network, str | Path) else network
    request = PlanRequest(params.date, slices=params.slices, seed=params.seed)
    solve = SolveParams(time_limit_s=params.time_limit_s, seed=params.seed, workers=1)
    return plan_patrols(grid, hotspots, net, config, request, params=solve)


def plan_path(out: Path, station_id: str, date: str) -> Path:
    """Return where :func:`plan_city` writes a station's plan: ``OUT/ID/DATE.plan.json``."""
    return out / station_id / f"{date}.plan.json"


def _error_text(future) -> str:
    try:
        exc = future.exception()
    except BaseException as cancelled:  # a cancelled future raises instead of returning it
        exc = cancelled
    return f"{type(exc).__name__}: {exc}"


#: Writes a station's plan where it goes and returns where (a path, a plan id).
PlanWriter = Callable[[str, "PatrolPlan"], str]


def run_station_tasks(
    tasks: Mapping[str, tuple[Callable, tuple]],
    *,
    client: Client,
    retries: int,
    write: PlanWriter,
    progress: ProgressCallback | None = None,
) -> CityPlanReport:
    """Run one task per station on the cluster and write each plan as it arrives.

    Parameters
    ----------
    tasks
        Station id -> ``(function, arguments)`` that returns the station's plan.
    client
        A Dask client.
    retries
        Runs again of a task that raised.
    write
        Called here (not on a worker) with each plan as it arrives; what it returns is
        reported. A write that raises counts as the station's failure.
    progress
        Receives ``("plan STATION: written" or "... failed", done, total)``.

    Returns
    -------
    CityPlanReport
    """
    from distributed import as_completed

    t0 = time.perf_counter()
    futures = {
        client.submit(
            func, *args, key=f"plan-{sid}-{time.time_ns()}", retries=retries, pure=False
        ): sid
        for sid, (func, args) in tasks.items()
    }
    written: dict[str, str] = {}
    failed: dict[str, str] = {}
    total = len(futures)
    report(progress, "plan: submitted", 0, total)
    for future in as_completed(futures):
        sid = futures[future]
        status = "failed"
        if future.status != "finished":
            failed[sid] = _error_text(future)
        else:
            try:
                written[sid] = write(sid, future.result())
                status = "written"
            except GridplanError as exc:
                failed[sid] = f"{type(exc).__name__}: {exc}"
        future.release()
        report(progress, f"plan {sid}: {status}", len(written) + len(failed), total)
    return CityPlanReport(
        written=MappingProxyType(written),
        failed=MappingProxyType(failed),
        seconds=time.perf_counter() - t0,
    )


def plan_city(
    city: City,
    params: CityPlanParams,
    *,
    client: Client,
    out: str | Path,
    progress: ProgressCallback | None = None,
) -> CityPlanReport:
    """Plan every station of ``city`` for ``params.date`` on a Dask cluster.

    Parameters
    ----------
    city
        The stations (see :func:`gridplan.city.cityfile.load_city`).
    params
        The day and solver settings.
    client
        A Dask client (:func:`gridplan.city.cluster.connect`).
    out
        The folder the plans go to, one per station as ``OUT/ID/DATE.plan.json``.
    progress
        Receives ``("plan STATION: written" or "... failed", done, total)`` as each station
        finishes.

    Returns
    -------
    CityPlanReport
        The plans written and the stations that failed, with why.

    Examples
    --------
    >>> with connect() as client:  # doctest: +SKIP
    ...     done = plan_city(load_city("city.toml"), CityPlanParams("2025-06-14"),
    ...                      client=client, out="plans")
    """
    from gridplan.io.planfile import save_plan

    out = Path(out)

    def write(sid: str, plan: PatrolPlan) -> str:
        return str(save_plan(plan, plan_path(out, sid, params.date)))

    tasks = {s.id: (plan_station, (s, params)) for s in city.stations}
    return run_station_tasks(
        tasks, client=client, retries=params.retries, write=write, progress=progress
    )
