"""The whole chain once: load grid -> validate -> import -> hot spots -> network -> plan.

A station folder holds what the chain reads, laid out as the bundled demo data (``data/``)::

    station.toml                 the station config
    boundaries/grid.geojson      the 1+5+N grid
    incidents/*.csv[.gz]         the incident export (the first file in name order)
    streets/*.osm.pbf            an OpenStreetMap extract (optional)

:func:`run_station` runs every stage on it and returns a :class:`StationRun`. The command line
(``gridplan demo``), the web UI's demo store (:func:`gridplan.web.demo.seed_demo`), the web
benchmark and the web tests call it, and then write files or fill a store from the result, so
the chain is wired in one place.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback

if TYPE_CHECKING:
    import geopandas as gpd

    from gridplan.geo.incidents import ImportResult
    from gridplan.geo.validate import ValidationReport
    from gridplan.network.graphs import StreetNetwork
    from gridplan.routing.plan import PatrolPlan
    from gridplan.station.config import StationConfig

#: The day the demo plans patrols for (a Saturday of the demo's incident years).
DEMO_PLAN_DATE = "2024-06-08"


def find_demo_data(data_dir: str | Path | None = None) -> Path:
    """Locate the bundled demo data folder (``data/`` of a source checkout).

    Parameters
    ----------
    data_dir
        A folder to use instead; it must hold ``boundaries/grid.geojson``.

    Returns
    -------
    Path
        ``data_dir``, else ``./data``, else the ``data/`` beside the gridplan package.

    Raises
    ------
    InputError
        If none of them holds ``boundaries/grid.geojson``.
    """
    candidates = (
        [Path(data_dir)] if data_dir else [Path.cwd() / "data", Path(__file__).parents[1] / "data"]
    )
    for folder in candidates:
        if (folder / "boundaries" / "grid.geojson").is_file():
            return folder
    msg = (
        f"demo data not found in {', '.join(str(c) for c in candidates)}; run from the gridplan "
        "source folder (it has data/boundaries/grid.geojson) or pass --data DIR"
    )
    raise InputError(msg)


def incident_file(data: Path) -> Path:
    """Return the incident export of a station folder: the first ``incidents/*.csv*``.

    Raises
    ------
    InputError
        If the folder has none.
    """
    found = sorted((data / "incidents").glob("*.csv*"))
    if not found:
        msg = f"{data / 'incidents'}: no incident export (*.csv or *.csv.gz); put one there"
        raise InputError(msg)
    return found[0]


def street_extract(data: Path) -> Path | None:
    """Return the OpenStreetMap extract of a station folder (``streets/*.osm.pbf``), if any."""
    return next(iter(sorted((data / "streets").glob("*.osm.pbf"))), None)


@dataclasses.dataclass(frozen=True)
class StationRun:
    """What :func:`run_station` made, stage by stage.

    Attributes
    ----------
    data
        The station folder read.
    config
        The station config.
    grid
        The 1+5+N grid (:func:`gridplan.load_grid`, or the one passed in).
    report
        The grid's validation report.
    incidents_file
        The incident export read.
    imported
        The import result: kept incidents, rejected rows, summary.
    hotspots
        The hot spots per micro-grid and slice, with the station's forecast as the plan prize
        (``score``; the hot-spot score in ``hotspot_score``, the choice and its back-test in
        ``attrs["forecast"]``, see :func:`gridplan.forecast.station.forecast_hotspots`).
    streets
        The street extract read, or ``None`` (no extract, or no network asked for).
    network
        The street network built from it, or ``None``.
    plan
        The patrol plan of the day asked for, or ``None``.
    seconds
        Wall-clock seconds per stage: ``grid``, ``validate``, ``import``, ``hotspots``,
        ``forecast``, ``network``, ``plan`` (the stages that ran).
    """

    data: Path
    config: StationConfig
    grid: gpd.GeoDataFrame
    report: ValidationReport
    incidents_file: Path
    imported: ImportResult
    hotspots: gpd.GeoDataFrame
    streets: Path | None
    network: StreetNetwork | None
    plan: PatrolPlan | None
    seconds: Mapping[str, float]


def run_station(
    data: str | Path | None = None,
    *,
    config: StationConfig | None = None,
    grid: gpd.GeoDataFrame | None = None,
    network: bool = True,
    plan_date: str | None = DEMO_PLAN_DATE,
    slices: Sequence[str] | None = None,
    time_limit_s: float = 3.0,
    seed: int = 1,
    work_limit: int | None = None,
    progress: ProgressCallback | None = None,
) -> StationRun:
    """Run the chain on a station folder: grid, validation, import, hot spots, network, plan.

    Parameters
    ----------
    data
        The station folder (see the module docstring); default :func:`find_demo_data`.
    config
        The station config (default: ``station.toml`` of the folder), for a caller that
        already parsed it (the web store).
    grid
        A grid to use instead of ``boundaries/grid.geojson`` (a generated lattice).
    network
        Build the street network from ``streets/*.osm.pbf`` (when there is one); without it
        the plan uses straight lines.
    plan_date
        The day to plan patrols for; ``None`` makes no plan.
    slices
        The slices of that day to plan (default: all).
    time_limit_s, seed, work_limit
        Solver seconds per slice, seed and work limit of :func:`gridplan.plan_patrols` (with a
        work limit the plan is the same on any machine load).
    progress
        Receives ``(stage, done, total)`` from the long stages (import, hot spots, network,
        plan).

    Returns
    -------
    StationRun
        Every stage's result.

    Raises
    ------
    GridplanError
        Whatever a stage raises on bad input (a missing file, a broken grid, ...).

    Examples
    --------
    >>> run = run_station(network=False, plan_date=None)  # doctest: +SKIP
    >>> run.hotspots["slice"].nunique()  # doctest: +SKIP
    5
    """
    from gridplan.analysis.hotspots import compute_hotspots
    from gridplan.forecast.station import forecast_hotspots
    from gridplan.geo.grid import load_grid
    from gridplan.geo.incidents import import_incidents
    from gridplan.geo.validate import validate_grid
    from gridplan.network.graphs import build_network
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams
    from gridplan.station.config import load_config

    folder = find_demo_data(data)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now

    cfg = config if config is not None else load_config(folder / "station.toml")
    if grid is None:
        grid = load_grid(folder / "boundaries" / "grid.geojson")
        lap("grid")
    report = validate_grid(grid, config=cfg)
    lap("validate")
    source = incident_file(folder)
    imported = import_incidents(source, config=cfg, station=grid, progress=progress)
    lap("import")
    hot = compute_hotspots(grid, imported.incidents, config=cfg, progress=progress)
    lap("hotspots")
    hot = forecast_hotspots(hot, grid, imported.incidents, cfg)
    lap("forecast")
    streets = street_extract(folder) if network else None
    net = None
    if streets is not None:
        net = build_network(streets, boundary=grid, crs=cfg.metric_crs, progress=progress)
        lap("network")
    plan = None
    if plan_date is not None:
        plan = plan_patrols(
            grid,
            hot,
            net,
            cfg,
            PlanRequest(plan_date, slices=slices, seed=seed),
            params=SolveParams(time_limit_s=time_limit_s, work_limit=work_limit),
            progress=progress,
        )
        lap("plan")
    return StationRun(
        data=folder,
        config=cfg,
        grid=grid,
        report=report,
        incidents_file=source,
        imported=imported,
        hotspots=hot,
        streets=streets,
        network=net,
        plan=plan,
        seconds=MappingProxyType(seconds),
    )
