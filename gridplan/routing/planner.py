"""Plan a day of patrols: every slice in time order, dosage and duty carried across slices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import MappingProxyType

import geopandas as gpd
import pandas as pd
import shapely

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.config import StationConfig
from gridplan.routing.matrix import DETOUR_FACTOR
from gridplan.routing.model import PrizeVRPSolution
from gridplan.routing.network import StreetNetwork
from gridplan.routing.plan import PatrolPlan
from gridplan.routing.plan import slice_plan
from gridplan.routing.problem import build_problem
from gridplan.routing.problem import slice_for
from gridplan.routing.solve import solve_prize_vrp


def _slices_in_order(config: StationConfig, date: dt.date, slices: Sequence[str] | None):
    if slices is None:
        chosen = []
        weekend = date.weekday() >= 5
        for s in config.slices:
            if s.days == "all" or (s.days == "weekend") == weekend:
                chosen.append(s)
    else:
        if isinstance(slices, str):
            slices = [slices]
        chosen = [slice_for(config, str(sid), date) for sid in slices]
        dupes = sorted({s.id for s in chosen if [c.id for c in chosen].count(s.id) > 1})
        if dupes:
            msg = f"slices {', '.join(dupes)} are listed more than once; list each once"
            raise InputError(msg)
    return sorted(chosen, key=lambda s: s.start_min)


def _compact(model, solution: PrizeVRPSolution) -> PrizeVRPSolution:
    """Re-time every route to leave as early as allowed, when that keeps it feasible.

    The solver may place slack anywhere (a route leaving hours into the shift); the earliest
    schedule of the same stops is what a patroller expects. Revisit gaps can need waiting, so
    the solver's times are kept when the earliest schedule breaks them.
    """
    retimed = PrizeVRPSolution.from_routes(
        model,
        [r.nodes for r in solution.routes],
        runtime_s=solution.runtime_s,
        iterations=solution.iterations,
    )
    return retimed if retimed.is_feasible(model) else solution


def plan_patrols(
    grid: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    network: StreetNetwork | None,
    config: StationConfig,
    *,
    date: dt.date | str,
    slices: Sequence[str] | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
    workers: int | None = None,
    work_limit: int | None = None,
    station_point: shapely.Point | None = None,
    detour_factor: float = DETOUR_FACTOR,
    balance_weight: float = 0.0,
    travel_weight: float = 0.001,
    progress: ProgressCallback | None = None,
) -> PatrolPlan:
    """Plan the patrols of one date: a route per patroller on duty in every slice.

    Slices are planned in the order they start; minutes of presence per micro-grid (the
    dosage cap is per day) and minutes on duty per patroller carry over from one slice to
    the next. A slice with nobody on duty gets an empty :class:`~gridplan.routing.plan.SlicePlan`
    whose metrics say so, rather than an error.

    Parameters
    ----------
    grid
        The 1+5+N GRID frame.
    hotspots
        The hot-spot frame of :func:`gridplan.compute_hotspots` (one row per micro-grid and
        slice).
    network
        The street network (:func:`~gridplan.routing.network.load_network`), or ``None`` for
        straight lines x ``detour_factor`` (flagged in ``settings["matrix_method"]``).
    config
        The station config (roster, patrol policy, slices, timezone).
    date
        The date the shifts start on (``YYYY-MM-DD`` or a date).
    slices
        Slice ids to plan; default every slice that applies on that weekday.
    time_limit_s
        Solver time limit per slice, seconds.
    seed, workers, work_limit
        As in :func:`~gridplan.routing.solve.solve_prize_vrp`; with ``work_limit`` the plan is
        reproducible on any machine load.
    station_point
        Where the station is (EPSG:4326); default a point inside the station polygon.
    detour_factor
        Straight-line fallback only.
    balance_weight, travel_weight
        Prize units per second of the longest route and per second of travel (see
        :meth:`~gridplan.routing.problem.PatrolProblem.to_prize_vrp` for why balance is off
        by default).
    progress
        Called as ``progress("plan", done, total)`` per slice.

    Returns
    -------
    PatrolPlan

    Raises
    ------
    InputError
        Unknown or repeated slices, hot spots without a slice, a station off the network.
    ConfigError
        Roster entries naming grids that do not exist.

    Examples
    --------
    >>> import gridplan as gp  # doctest: +SKIP
    >>> plan = plan_patrols(  # doctest: +SKIP
    ...     grid, hot, net, cfg, date="2024-06-01", slices=["night"], time_limit_s=5, seed=1
    ... )
    >>> print(plan.to_text())  # doctest: +SKIP
    >>> plan.is_feasible()  # doctest: +SKIP
    True
    """
    date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    if time_limit_s <= 0:
        msg = f"time_limit_s={time_limit_s} must be a positive number of seconds per slice"
        raise InputError(msg)
    chosen = _slices_in_order(config, date, slices)
    dosage: dict[str, float] = {}
    duty: dict[str, float] = {}
    plans = []
    methods = set()
    for i, ts in enumerate(chosen):
        report(progress, "plan", i, len(chosen))
        problem = build_problem(
            grid,
            hotspots,
            network,
            config,
            date=date,
            slice_id=ts.id,
            dosage_used=dosage,
            duty_used=duty,
            station_point=station_point,
            detour_factor=detour_factor,
        )
        methods.update(m.method for m in problem.matrices)
        model = problem.to_prize_vrp(balance_weight=balance_weight, travel_weight=travel_weight)
        if problem.on_duty and any(s.copies for s in problem.stops):
            solution = solve_prize_vrp(
                model,
                time_limit_s=time_limit_s,
                seed=seed,
                workers=workers,
                work_limit=work_limit,
            )
            solution = _compact(model, solution)
        else:
            solution = PrizeVRPSolution.from_routes(
                model, [[v.start, v.end] for v in model.vehicles]
            )
        sp = slice_plan(problem, model, solution, network=network)
        for r in sp.routes:
            duty[r.patroller_id] = duty.get(r.patroller_id, 0.0) + r.duration_s / 60
            for stop in r.stops:
                dosage[stop.micro_id] = dosage.get(stop.micro_id, 0.0) + stop.dwell_s / 60
        plans.append(sp)
    report(progress, "plan", len(chosen), len(chosen))
    settings = {
        "workers": workers,
        "work_limit": work_limit,
        "balance_weight": balance_weight,
        "travel_weight": travel_weight,
        "matrix_method": sorted(methods),
        "detour_factor": detour_factor if network is None else None,
        "network": None
        if network is None
        else {"source": network.source, "fingerprint": network.fingerprint, "crs": network.crs},
    }
    return PatrolPlan(
        station_id=config.station_id,
        station_name=config.station_name,
        timezone=config.timezone,
        date=date,
        seed=seed,
        time_limit_s=float(time_limit_s),
        slices=tuple(plans),
        settings=MappingProxyType(settings),
        policy=config.patrol,
    )
