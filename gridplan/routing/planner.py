"""Plan a day of patrols: every slice in time order, dosage and duty carried across slices.

:func:`plan_patrols` plans what a :class:`~gridplan.routing.request.PlanRequest` asks for
(the officer's choices) with :class:`~gridplan.routing.solver.SolveParams` (how long and how
the solver searches) and :class:`PlanSettings` (how the day is modelled); :func:`plan_variants`
plans several distinct days to rotate over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import json
import math
from collections.abc import Callable
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.network.graphs import StreetNetwork
from gridplan.network.matrix import DETOUR_FACTOR
from gridplan.routing.alerts import Alert
from gridplan.routing.alerts import active_in
from gridplan.routing.decompose import should_decompose
from gridplan.routing.decompose import solve_by_base
from gridplan.routing.dosage import dosage_shares
from gridplan.routing.dosage import slice_allowance
from gridplan.routing.outings import Outing
from gridplan.routing.outings import OutingState
from gridplan.routing.outings import day_outings
from gridplan.routing.outings import outing_floor
from gridplan.routing.plan import PatrolPlan
from gridplan.routing.plan import SlicePlan
from gridplan.routing.plan import seconds_between
from gridplan.routing.plan import slice_plan
from gridplan.routing.problem import DutyPart
from gridplan.routing.problem import PatrolProblem
from gridplan.routing.problem import build_problem
from gridplan.routing.problem import config_for_grid
from gridplan.routing.request import PlanRequest
from gridplan.routing.request import slice_for
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import SolveParams
from gridplan.routing.solver import default_workers
from gridplan.routing.solver import solve_prize_vrp
from gridplan.routing.solver.lengthen import lengthen
from gridplan.station.config import StationConfig
from gridplan.station.timeslices import TimeSlice

#: Share of a large slice's time spent base grid by base grid before the whole-station search.
SPLIT_SHARE = 0.4


@dataclasses.dataclass(frozen=True)
class PlanSettings:
    """How the planner models a station's day, beyond the officer's request.

    Neither the officer's choices (:class:`~gridplan.routing.request.PlanRequest`) nor how the
    solver searches (:class:`~gridplan.routing.solver.SolveParams`, which knows nothing of
    stations): where routes start and end, the travel estimate without a street network, and
    the weights of the objective. The defaults are what the CLI and the web UI plan with.

    Attributes
    ----------
    station_point
        Where routes start and end (EPSG:4326); ``None``: the config's ``station.location``,
        else a point inside the station polygon.
    detour_factor
        Straight-line travel times are multiplied by it when there is no street network.
    balance_weight, travel_weight
        Prize units per second of the longest route and per second of travel (see
        :meth:`~gridplan.routing.problem.PatrolProblem.to_prize_vrp` for why balance is off by
        default).

    Examples
    --------
    >>> PlanSettings(travel_weight=0.01).detour_factor
    1.3
    >>> PlanSettings(detour_factor=0.5)
    Traceback (most recent call last):
    ...
    gridplan._errors.InputError: PlanSettings: detour_factor=0.5 must be a number >= 1
    """

    station_point: shapely.Point | None = None
    detour_factor: float = DETOUR_FACTOR
    balance_weight: float = 0.0
    travel_weight: float = 0.001

    def __post_init__(self):
        problems = []
        if self.station_point is not None and not isinstance(self.station_point, shapely.Point):
            problems.append(f"station_point={self.station_point!r} must be a shapely Point")
        for name, low in (("detour_factor", 1), ("balance_weight", 0), ("travel_weight", 0)):
            value = getattr(self, name)
            if not (_is_number(value) and math.isfinite(value) and value >= low):
                problems.append(f"{name}={value!r} must be a number >= {low}")
        if problems:
            msg = "PlanSettings: " + "; ".join(problems)
            raise InputError(msg)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _slices_in_order(
    config: StationConfig, date: dt.date, slices: Sequence[str] | None
) -> list[TimeSlice]:
    """Return the slices to plan (all of the weekday for ``None``) in the order they start."""
    if slices is None:
        weekend = date.weekday() >= 5
        chosen = [s for s in config.slices if s.days == "all" or (s.days == "weekend") == weekend]
    else:
        chosen = [slice_for(config, sid, date) for sid in slices]
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
    request: PlanRequest,
    *,
    params: SolveParams | None = None,
    settings: PlanSettings = PlanSettings(),
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
        The street network (:func:`~gridplan.network.graphs.load_network`), or ``None`` for
        straight lines x ``settings.detour_factor`` (flagged in ``settings["matrix_method"]``).
    config
        The station config (roster, patrol policy, slices, timezone).
    request
        What the officer asks for: the date, slices, patrollers, minutes per stop, pinned and
        excluded micro-grids, the variant (seed) and how duty is shared over the slices
        (``duty_split``: ``"risk"`` gives each slice a share of a patroller's daily limit by
        the risk per hour they can reach in it times their hours available in it,
        :func:`duty_shares`, and what a slice leaves unused goes on to the next; ``"first"``
        lets the slices take it in time order, so early slices may use it up and leave the
        evening, often the riskiest, without volunteers), and where patrols actually were
        (``presence``, :mod:`~gridplan.routing.feedback`: minutes spent today come off each
        micro-grid's daily cap, under-served top hot spots are worth more, micro-grids missed
        repeatedly are flagged in :attr:`~gridplan.routing.plan.PatrolPlan.feedback`). Checked
        against ``config`` and ``grid`` first
        (:meth:`~gridplan.routing.request.PlanRequest.validate`).
    params
        How each slice is solved (:class:`~gridplan.routing.solver.SolveParams`):
        ``time_limit_s`` is per slice; with ``work_limit`` the plan is reproducible on any
        machine load. The request's seed, when it has one, replaces ``params.seed``.
        ``None``: ``SolveParams()`` (10 s per slice, one worker per core).
    settings
        Where routes start, the straight-line detour factor and the objective's weights.
    progress
        Called as ``progress("plan", done, total)`` per slice.

    Returns
    -------
    PatrolPlan

    Raises
    ------
    PlanRequestError
        A request that does not fit the station: unknown slices or slices not of that
        weekday, patrollers not on the roster, minutes per stop out of bounds, micro-grids
        not in the grid (every problem listed).
    InputError
        Hot spots without a slice, a station off the network.
    ConfigError
        Roster entries naming grids that do not exist.

    Examples
    --------
    >>> import gridplan as gp  # doctest: +SKIP
    >>> request = gp.PlanRequest("2024-06-01", slices=["night"], seed=1)  # doctest: +SKIP
    >>> plan = plan_patrols(  # doctest: +SKIP
    ...     grid, hot, net, cfg, request, params=gp.SolveParams(time_limit_s=5)
    ... )
    >>> print(plan.to_text())  # doctest: +SKIP
    >>> plan.is_feasible()  # doctest: +SKIP
    True
    """
    plans = plan_variants(
        grid,
        hotspots,
        network,
        config,
        request,
        variants=1,
        params=params,
        settings=settings,
        progress=progress,
    )
    return plans[0]


def _place_arcs(problem, solution) -> set[tuple[str, str]]:
    """Return the (from place, to place) legs the routes of a solution walk."""
    refs = problem.nodes
    out = set()
    for r in solution.routes:
        for a, b in itertools.pairwise(r.nodes):
            out.add((refs[a].place, refs[b].place))
    return out


def _dearer_arcs(problem, model, *, used: set[tuple[str, str]], factor: float) -> np.ndarray:
    """Return arc-cost factors making the legs in ``used`` (by place) ``factor`` times dearer."""
    places = [ref.place for ref in problem.nodes]
    n = model.num_nodes
    out = np.ones((n, n))
    if used:
        index: dict[str, list[int]] = {}
        for i, p in enumerate(places):
            index.setdefault(p, []).append(i)
        for a, b in used:
            for i in index.get(a, ()):
                for j in index.get(b, ()):
                    out[i, j] = out[j, i] = factor
    return out


@dataclasses.dataclass
class _Day:
    """One variant's day so far: what its slices planned, used and left to the next.

    The planner's accumulator, changed as each slice is planned (so not frozen); one per
    variant, since each variant's day carries its own dosage, duty and outings.

    Attributes
    ----------
    dosage
        Minutes of presence each micro-grid got in the slices planned so far.
    unused
        Minutes of each micro-grid's dosage share that earlier slices left unused.
    last_visit
        When each micro-grid's latest visit started (for the revisit gap across slices).
    duty
        Minutes each patroller was on duty so far.
    outings
        ``(patroller, outing)`` -> :class:`~gridplan.routing.outings.OutingState`.
    slices
        The slice plans so far.
    arcs
        ``(slice, from place, to place)`` legs walked over the day (for the similarity of
        variants).
    scores
        Slice id -> the variant's ``score``, the first variant's ``best_score`` and
        whether it is ``within_tolerance``.
    """

    dosage: dict[str, float] = dataclasses.field(default_factory=dict)
    unused: dict[str, float] = dataclasses.field(default_factory=dict)
    last_visit: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)
    duty: dict[str, float] = dataclasses.field(default_factory=dict)
    outings: dict[tuple[str, int], OutingState] = dataclasses.field(default_factory=dict)
    slices: list[SlicePlan] = dataclasses.field(default_factory=list)
    arcs: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    scores: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def parts(self, ts: TimeSlice, outings: Sequence[Outing], outing_min: int) -> list[DutyPart]:
        """Return the outings on duty in slice ``ts``, each carried on from where it stands."""
        end = ts.start_min + ts.duration_min
        out = []
        for o in outings:
            cut = o.overlap(ts.start_min, end)
            state = self.outings.get(o.key, OutingState())
            if cut is None:
                continue
            p = o.patroller
            if o.budget_min is None:  # first come: what the day's limit has left
                budget = p.max_duty_min - self.duty.get(p.id, 0.0)
            else:
                budget = o.budget_min - state.used_min
            if budget <= 0:
                continue
            carried = state.place is not None
            least = 0 if carried else outing_floor(outing_min, o.end_min - cut[0], p)
            if budget < least:  # too little duty left for an outing worth making
                continue
            out.append(
                DutyPart(
                    patroller=p,
                    outing=o.index,
                    start_min=cut[0],
                    end_min=o.end_min,
                    budget_min=budget,
                    min_min=least,
                    start_place=state.place,
                    free_at=state.free_at,
                )
            )
        return out

    def not_before(self, gap_min: int) -> dict[str, dt.datetime]:
        """When each micro-grid visited so far may be visited again."""
        return {m: t + dt.timedelta(minutes=gap_min) for m, t in self.last_visit.items()}

    def score(self, slice_id: str, score: float, best_score: float, tolerance: float) -> None:
        """Record the variant's score in a slice against the first variant's."""
        self.scores[slice_id] = {
            "score": round(score, 3),
            "best_score": round(best_score, 3),
            "within_tolerance": bool(score >= best_score - tolerance * abs(best_score) - 1e-9),
        }

    def add(self, sp: SlicePlan, walked: set[tuple[str, str]], allowance: dict[str, float]) -> None:
        """Add a planned slice: its legs, duty, outings, dosage and unused dosage shares."""
        self.arcs |= {(sp.slice_id, a, b) for a, b in walked}
        got: dict[str, float] = {}
        for r, od in zip(sp.routes, sp.problem.on_duty, strict=True):
            minutes = r.duration_s / 60
            self.duty[r.patroller_id] = self.duty.get(r.patroller_id, 0.0) + minutes
            key = (r.patroller_id, od.outing)
            state = self.outings.get(key, OutingState())
            went = state.went_out or r.deployed or od.carried
            self.outings[key] = OutingState(
                used_min=state.used_min + minutes,
                place=r.end_place if r.continues else None,
                free_at=r.end if r.continues else None,
                went_out=went,
            )
            for stop in r.stops:
                if stop.target_id:  # a target's time is its own, not the cell's dosage
                    continue
                got[stop.micro_id] = got.get(stop.micro_id, 0.0) + stop.dwell_s / 60
                self.dosage[stop.micro_id] = self.dosage.get(stop.micro_id, 0.0) + stop.dwell_s / 60
                last = self.last_visit.get(stop.micro_id)
                if last is None or seconds_between(last, stop.arrival) > 0:
                    self.last_visit[stop.micro_id] = stop.arrival
        self.unused = {m: max(0.0, a - got.get(m, 0.0)) for m, a in allowance.items()}
        self.slices.append(sp)


@dataclasses.dataclass(frozen=True)
class _Planning:
    """What every slice of every variant is planned with (the inputs, checked once)."""

    grid: gpd.GeoDataFrame
    hotspots: pd.DataFrame
    network: StreetNetwork | None
    config: StationConfig
    request: PlanRequest
    params: SolveParams
    settings: PlanSettings
    tolerance: float
    outings: tuple[Outing, ...]
    dosage: dict[str, dict[str, float]]

    def problem(self, ts: TimeSlice, day: _Day, allowance: dict[str, float]) -> PatrolProblem:
        """Build a slice's problem, given what the variant's earlier slices used."""
        policy = self.config.patrol
        return build_problem(
            self.grid,
            self.hotspots,
            self.network,
            self.config,
            date=self.request.date,
            slice_id=ts.id,
            dosage_used=day.dosage,
            dosage_left=allowance,
            parts=day.parts(ts, self.outings, policy.outing_min_min),
            not_before=day.not_before(policy.revisit_gap_min),
            station_point=self.settings.station_point,
            detour_factor=self.settings.detour_factor,
            pinned=self.request.pinned,
            exclude=self.request.exclude,
            seed=self.params.seed,
            targets=self.request.targets,
            alerts=self.request.alerts,
            presence=self.request.presence,
        )

    def model(self, problem: PatrolProblem) -> PrizeVRP:
        """Return the slice's PrizeVRP with the settings' weights."""
        return problem.to_prize_vrp(
            balance_weight=self.settings.balance_weight,
            travel_weight=self.settings.travel_weight,
        )

    def solve(
        self,
        problem: PatrolProblem,
        model: PrizeVRP,
        k: int,
        *,
        best_score: float | None,
        used: set[tuple[str, str]],
    ) -> PrizeVRPSolution:
        """Solve variant ``k`` of a slice; variants after the first avoid the legs ``used``.

        A variant is solved with the legs of the earlier ones 1.5 times dearer, then 1.25 and
        1.1 times while it scores outside the tolerance of the first; the best try is kept.
        """
        if not (problem.on_duty and any(s.copies for s in problem.stops)):
            return PrizeVRPSolution.from_routes(model, [[v.start, v.end] for v in model.vehicles])
        seed = self.params.seed
        if k == 0:
            return self._solve(problem, model, seed)
        floor = best_score - self.tolerance * abs(best_score)
        tries = []
        for attempt, factor in enumerate((1.5, 1.25, 1.1)):
            dearer = functools.partial(_dearer_arcs, used=used, factor=factor)
            cand = self._solve(problem, model, seed + 101 * k + attempt, dearer)
            tries.append(cand)
            if cand.score >= floor - 1e-9:
                break
        return max(tries, key=lambda sol: sol.score)

    def _solve(
        self,
        problem: PatrolProblem,
        model: PrizeVRP,
        seed: int,
        dearer: Callable[[PatrolProblem, PrizeVRP], np.ndarray] | None = None,
    ) -> PrizeVRPSolution:
        """Solve a slice (base grid by base grid when big), then re-time it early."""
        params = self.params
        solution = None
        arcs = None if dearer is None else dearer(problem, model)
        whole_s = params.time_limit_s
        if should_decompose(problem, model):
            # base grid by base grid first, then the whole station from the joined routes:
            # patrollers whose base grid ran out of work go where hot spots are left
            whole_s = params.time_limit_s * (1.0 - SPLIT_SHARE)
            solution = solve_by_base(
                problem,
                model,
                time_limit_s=params.time_limit_s * SPLIT_SHARE,
                seed=seed,
                workers=default_workers() if params.workers is None else params.workers,
                work_limit=params.work_limit,
                balance_weight=self.settings.balance_weight,
                travel_weight=self.settings.travel_weight,
                arc_factor=dearer,
                params=params,
            )
        solution = solve_prize_vrp(
            model,
            params.override(seed=seed, time_limit_s=whole_s),
            arc_factor=arcs,
            initial=solution,
        )
        return _compact(model, lengthen(model, solution))

    def plans(self, days: list[_Day], methods: set[str]) -> list[PatrolPlan]:
        """Return the variants' plans from their days."""
        network, settings, params = self.network, self.settings, self.params
        recorded = {
            "workers": params.workers,
            "work_limit": params.work_limit,
            "balance_weight": settings.balance_weight,
            "travel_weight": settings.travel_weight,
            "duty_split": self.request.duty_split,
            "pinned": list(self.request.pinned),
            "exclude": list(self.request.exclude),
            "targets": [t.to_dict() for t in self.request.targets],
            "alerts": _alerts_of_day(self.request.alerts, days[0].slices),
            **_presence_of(self.request),
            **_forecast_of(self.hotspots),
            "matrix_method": sorted(methods),
            "detour_factor": settings.detour_factor if network is None else None,
            "network": None
            if network is None
            else {"source": network.source, "fingerprint": network.fingerprint, "crs": network.crs},
        }
        config = self.config
        return [
            PatrolPlan(
                station_id=config.station_id,
                station_name=config.station_name,
                timezone=config.timezone,
                date=self.request.date,
                seed=params.seed,
                time_limit_s=float(params.time_limit_s),
                slices=tuple(day.slices),
                settings=MappingProxyType(recorded),
                policy=config.patrol,
                variant=self._variant(days, k),
            )
            for k, day in enumerate(days)
        ]

    def _variant(self, days: list[_Day], k: int) -> MappingProxyType | None:
        if len(days) == 1:
            return None
        scores = days[k].scores
        return MappingProxyType(
            {
                "index": k + 1,
                "of": len(days),
                "tolerance": self.tolerance,
                "slices": scores,
                "within_tolerance": all(v["within_tolerance"] for v in scores.values()),
                "similarity": [_jaccard(days[k].arcs, day.arcs) for day in days],
            }
        )


def plan_variants(
    grid: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    network: StreetNetwork | None,
    config: StationConfig,
    request: PlanRequest,
    *,
    variants: int = 3,
    tolerance: float = 0.05,
    params: SolveParams | None = None,
    settings: PlanSettings = PlanSettings(),
    progress: ProgressCallback | None = None,
) -> list[PatrolPlan]:
    """Plan ``variants`` distinct patrol days, each within ``tolerance`` of the best, to rotate.

    Variant 1 is :func:`plan_patrols`' plan. For each slice, variant ``k`` is solved with the
    legs that variants ``1..k-1`` walk in that slice made dearer, so it takes other streets
    and another order, and is kept when its score (prize collected less costs) is at least
    ``(1 - tolerance)`` times variant 1's in that slice; otherwise it is solved again with a
    milder penalty, and after three tries the best try is kept and flagged. Dosage and duty
    carry over within each variant's own day. Big slices
    (:func:`~gridplan.routing.decompose.should_decompose`) are solved base grid by base grid
    (:func:`~gridplan.routing.decompose.solve_by_base`) for ``SPLIT_SHARE`` of the time, then
    as a whole station from the joined routes, variants too.

    Parameters
    ----------
    variants
        How many plans (days to rotate over); 1 gives :func:`plan_patrols`' plan.
    tolerance
        Allowed relative loss of score versus the best, per slice (0.05 = 5 %).
    params
        As for :func:`plan_patrols`; ``time_limit_s`` is per slice and variant (a variant
        outside the tolerance may take up to three times as long).
    grid, hotspots, network, config, request, settings, progress
        As for :func:`plan_patrols`.

    Returns
    -------
    list of PatrolPlan
        ``variants`` plans; each plan's ``variant`` holds its ``index``, ``of``,
        ``tolerance``, per slice ``score`` and ``best_score`` and whether it is
        ``within_tolerance``, and ``similarity`` (Jaccard of the legs walked, 1 = same) to
        every variant.

    Raises
    ------
    InputError
        ``variants`` or ``tolerance`` out of range, and as for :func:`plan_patrols`.

    Examples
    --------
    >>> request = PlanRequest("2024-06-01")  # doctest: +SKIP
    >>> days = plan_variants(grid, hot, net, cfg, request, variants=3)  # doctest: +SKIP
    >>> [round(d.variant["similarity"][0], 2) for d in days]  # doctest: +SKIP
    [1.0, 0.42, 0.38]
    """
    if int(variants) != variants or variants < 1:
        msg = f"variants={variants!r} must be a whole number of plans, at least 1"
        raise InputError(msg)
    if not 0 <= tolerance < 1:
        msg = f"tolerance={tolerance!r} must be in [0, 1), e.g. 0.05 for 5 %"
        raise InputError(msg)
    request = request.validate(config, grid)
    config = config_for_grid(request.configure(config), grid)
    chosen = _slices_in_order(config, request.date, request.slices)
    if settings.station_point is None and config.location is not None:
        settings = dataclasses.replace(settings, station_point=shapely.Point(config.location))
    micro = grid[grid["level"] == "micro"]
    micro_ids = micro["id"].astype(str).tolist()
    outings = day_outings(
        config.roster,
        request.date,
        chosen,
        hotspots=hotspots,
        base_of=dict(zip(micro_ids, micro["parent_id"].astype(str), strict=True)),
        outing_min=config.patrol.outing_min_min,
        by_risk=request.duty_split == "risk",
    )
    planning = _Planning(
        grid,
        hotspots,
        network,
        config,
        request,
        (params or SolveParams()).override(seed=request.seed),
        settings,
        tolerance,
        outings,
        dosage_shares(
            hotspots,
            micro_ids,
            chosen,
            config.patrol,
            spent_today=None if request.presence is None else request.presence.spent_today_min,
        ),
    )
    days = [_Day() for _ in range(int(variants))]
    methods: set[str] = set()
    steps = len(chosen) * len(days)
    for i, ts in enumerate(chosen):
        used: set[tuple[str, str]] = set()  # legs the variants so far walk in this slice
        best_score = None
        for k, day in enumerate(days):
            report(progress, "plan", i * len(days) + k, steps)
            allowance = slice_allowance(planning.dosage, ts.id, day.unused)
            problem = planning.problem(ts, day, allowance)
            methods.update(m.method for m in problem.matrices)
            model = planning.model(problem)
            solution = planning.solve(problem, model, k, best_score=best_score, used=used)
            if k == 0:
                best_score = solution.score
            day.score(ts.id, solution.score, best_score, tolerance)
            walked = _place_arcs(problem, solution)
            used |= walked
            day.add(slice_plan(problem, model, solution, network=network), walked, allowance)
    report(progress, "plan", steps, steps)
    return planning.plans(days, methods)


def _alerts_of_day(alerts: Sequence[Alert], slices: Sequence[SlicePlan]) -> list[dict[str, Any]]:
    """Return the alerts active in a planned slice, as JSON (what drove the plan)."""
    return [a.to_dict() for a in alerts if any(active_in(a, sp.start, sp.end) for sp in slices)]


def _forecast_of(hotspots: pd.DataFrame) -> dict[str, Any]:
    """``{"forecast": ...}``: which forecast made the prizes, for the plan's settings.

    From the frame's ``attrs["forecast"]`` (:func:`gridplan.forecast.station.forecast_hotspots`)
    or, from a hot-spot file that lost them, its ``forecast`` column (method per slice); empty
    for a frame that has neither (the hot-spot score was the prize).
    """
    recorded = hotspots.attrs.get("forecast")
    if recorded:
        return {"forecast": json.loads(json.dumps(recorded))}
    if "forecast" in hotspots.columns:
        names = hotspots.groupby("slice", sort=False)["forecast"].first()
        return {"forecast": {"names": {str(k): str(v) for k, v in names.items()}}}
    return {}


def _presence_of(request: PlanRequest) -> dict[str, Any]:
    """Return the feedback that drove the plan, for its settings (nothing without feedback)."""
    if request.presence is None:
        return {}
    return {"presence": request.presence.to_dict()}


def _jaccard(a: set, b: set) -> float:
    """Jaccard similarity of two sets of legs, as undirected pairs (1 when both empty)."""

    def undirected(arcs):
        return {(s, frozenset((x, y))) for s, x, y in arcs if x != y}

    ua, ub = undirected(a), undirected(b)
    if not ua and not ub:
        return 1.0
    return round(len(ua & ub) / len(ua | ub), 3)
