"""Plan a day of patrols: every slice in time order, dosage and duty carried across slices."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Collection
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import define
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.network.graphs import StreetNetwork
from gridplan.network.matrix import DETOUR_FACTOR
from gridplan.routing.decompose import should_decompose
from gridplan.routing.decompose import solve_by_base
from gridplan.routing.plan import PatrolPlan
from gridplan.routing.plan import seconds_between
from gridplan.routing.plan import slice_plan
from gridplan.routing.problem import build_problem
from gridplan.routing.problem import config_for_grid
from gridplan.routing.problem import slice_for
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import SolveParams
from gridplan.routing.solver import default_workers
from gridplan.routing.solver import solve_prize_vrp
from gridplan.station.config import StationConfig

# Errors an officer can meet when planning (the web UI shows them in the officer's language).
_E_SLICES_TWICE = define(
    "planner.slices_twice", N_("slices %(slices)s are listed more than once; list each once")
)


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
            raise InputError(_E_SLICES_TWICE(slices=", ".join(dupes)))
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
    pinned: Collection[str] = (),
    exclude: Collection[str] = (),
    duty_split: str = "risk",
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
        As in :func:`~gridplan.routing.solver.solve.solve_prize_vrp`; with ``work_limit`` the
        plan is reproducible on any machine load.
    station_point
        Where routes start and end (EPSG:4326); default the config's ``station.location``,
        else a point inside the station polygon.
    detour_factor
        Straight-line fallback only.
    balance_weight, travel_weight
        Prize units per second of the longest route and per second of travel (see
        :meth:`~gridplan.routing.problem.PatrolProblem.to_prize_vrp` for why balance is off
        by default).
    pinned, exclude
        Micro-grid ids an officer wants visited / left alone in every slice (see
        :func:`~gridplan.routing.problem.build_problem`); recorded in ``settings``.
    duty_split
        How a patroller's daily on-duty limit is shared when their availability that day is
        longer: ``"risk"`` (default) gives each slice a share by the risk per hour they can
        reach in it (their home base grids) times their hours available in it
        (:func:`duty_shares`), and what a slice leaves unused goes on to the next;
        ``"first"`` lets the slices take it in time order, so early slices may use it up
        and leave the evening (often the riskiest) without volunteers.
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
    plans = plan_variants(
        grid,
        hotspots,
        network,
        config,
        date=date,
        variants=1,
        slices=slices,
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        work_limit=work_limit,
        station_point=station_point,
        detour_factor=detour_factor,
        balance_weight=balance_weight,
        travel_weight=travel_weight,
        pinned=pinned,
        exclude=exclude,
        duty_split=duty_split,
        progress=progress,
    )
    return plans[0]


def duty_shares(
    grid: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    config: StationConfig,
    slices: Sequence[Any],
    date: dt.date,
) -> dict[str, dict[str, float]]:
    """Share each patroller's daily on-duty limit over the slices by the risk they can reach.

    Only patrollers available longer than their ``max_duty_min`` that day get shares (for the
    others the limit never binds). A slice's weight is the patroller's minutes available in
    it times the risk per minute there: the slice's total hot-spot score in the patroller's
    home base grids (all, without home bases) over the slice's length. The limit is split in
    proportion to the weights, no slice getting more than the patroller's minutes in it (the
    excess goes to the others); with no risk anywhere, by minutes available.

    Parameters
    ----------
    grid
        The 1+5+N GRID frame (for each micro-grid's base grid).
    hotspots
        The hot-spot frame (``id``, ``slice``, ``score``).
    config
        The station config (roster).
    slices
        The :class:`~gridplan.station.timeslices.TimeSlice` objects planned that day.
    date
        The date the shifts start on.

    Returns
    -------
    dict
        ``{patroller_id: {slice_id: minutes}}``; the minutes of a patroller add up to their
        ``max_duty_min`` (or to all their available minutes, when fewer).

    Examples
    --------
    >>> import gridplan as gp, datetime as dt
    >>> from gridplan.routing.problem import slice_for
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> micro = grid[grid["level"] == "micro"]
    >>> day = dt.date(2024, 6, 8)
    >>> slices = [slice_for(cfg, s, day) for s in ("morning", "evening")]
    >>> hot = pd.DataFrame({"id": list(micro["id"]) * 2, "slice": ["morning"] * len(micro)
    ...                     + ["evening"] * len(micro), "score": [1.0] * len(micro)
    ...                     + [3.0] * len(micro)})
    >>> shares = duty_shares(grid, hot, cfg, slices, day)
    >>> {pid: {s: round(m) for s, m in by_slice.items()} for pid, by_slice in shares.items()}
    {'V02': {'morning': 25, 'evening': 125}}

    V02 may walk 150 minutes a day and is free 60 minutes in the morning and 150 in the
    evening, where the risk per hour is three times higher; V01 (60 + 90 minutes) can use its
    whole limit anyway, so it gets no shares.
    """
    from gridplan.routing.problem import duty_window

    config = config_for_grid(config, grid)
    micro = grid[grid["level"] == "micro"]
    base_of = dict(zip(micro["id"].astype(str), micro["parent_id"].astype(str), strict=True))
    hot = pd.DataFrame(
        {
            "slice": hotspots["slice"].astype(str).to_numpy(),
            "base": hotspots["id"].astype(str).map(base_of).to_numpy(),
            "score": pd.to_numeric(hotspots["score"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    risk = hot.groupby(["slice", "base"])["score"].sum()
    with_risk = set(risk.index.get_level_values(0))
    out: dict[str, dict[str, float]] = {}
    for p in config.roster:
        avail = {}
        for ts in slices:
            window = duty_window(p, ts, date)
            if window is not None:
                avail[ts.id] = float(window[1] - window[0])
        if sum(avail.values()) <= p.max_duty_min:
            continue
        weight = {}
        for ts in slices:
            if ts.id not in avail or ts.id not in with_risk:
                weight[ts.id] = 0.0
                continue
            in_slice = risk.loc[ts.id]
            if p.home_bases:
                in_slice = in_slice[in_slice.index.isin(list(p.home_bases))]
            weight[ts.id] = avail[ts.id] * float(in_slice.sum()) / max(ts.duration_min, 1)
        weight = {s: w for s, w in weight.items() if s in avail}
        if not any(w > 0 for w in weight.values()):
            weight = dict(avail)
        out[p.id] = _fill(float(p.max_duty_min), avail, weight)
    return out


def _fill(budget: float, caps: dict[str, float], weight: dict[str, float]) -> dict[str, float]:
    """Split ``budget`` in proportion to ``weight``, none above its cap (water filling)."""
    share = dict.fromkeys(caps, 0.0)
    free = {k for k in caps if weight.get(k, 0.0) > 0}
    while free and budget > 1e-9:
        total = sum(weight[k] for k in free)
        full = {k for k in free if budget * weight[k] / total >= caps[k] - share[k]}
        if not full:
            for k in free:
                share[k] += budget * weight[k] / total
            break
        for k in full:
            budget -= caps[k] - share[k]
            share[k] = caps[k]
        free -= full
    return share


def _since_break(sp, config: StationConfig, before: dict[str, float]) -> dict[str, float]:
    """Minutes each patroller with a break rule is on duty without a break at the slice end.

    Only a route that runs up to the end of the slice (less than a break before it) carries
    over, counted from its start to the slice end; when it is the slice's first route and
    starts less than a break after the slice start, what was carried in counts too.
    """
    rule = {p.id: p.break_min * 60 for p in config.roster if p.break_after_min and p.break_min}
    out = {}
    for pid, break_s in rule.items():
        routes = [r for r in sp.routes if r.patroller_id == pid and r.deployed]
        if not routes:
            continue
        last = max(routes, key=lambda r: r.start.astimezone(dt.UTC))
        if seconds_between(last.end, sp.end) >= break_s:
            continue
        # a pause shorter than a break is still duty: count up to the end of the slice
        stretch = seconds_between(last.start, sp.end) / 60
        if last.part == 1 and seconds_between(sp.start, last.start) < break_s:
            stretch = before.get(pid, 0.0) + seconds_between(sp.start, sp.end) / 60
        out[pid] = stretch
    return out


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


def plan_variants(
    grid: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    network: StreetNetwork | None,
    config: StationConfig,
    *,
    date: dt.date | str,
    variants: int = 3,
    tolerance: float = 0.05,
    slices: Sequence[str] | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
    workers: int | None = None,
    work_limit: int | None = None,
    station_point: shapely.Point | None = None,
    detour_factor: float = DETOUR_FACTOR,
    balance_weight: float = 0.0,
    travel_weight: float = 0.001,
    pinned: Collection[str] = (),
    exclude: Collection[str] = (),
    duty_split: str = "risk",
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
    (:func:`~gridplan.routing.decompose.solve_by_base`), variants too.

    Parameters
    ----------
    variants
        How many plans (days to rotate over); 1 gives :func:`plan_patrols`' plan.
    tolerance
        Allowed relative loss of score versus the best, per slice (0.05 = 5 %).
    time_limit_s
        Solver time per slice and variant (a variant outside the tolerance may take up to
        three times as long).
    grid, hotspots, network, config, date, slices, seed, workers, work_limit, station_point,
    detour_factor, balance_weight, travel_weight, pinned, exclude, progress
        As for :func:`plan_patrols`.

    Returns
    -------
    list of PatrolPlan
        ``variants`` plans; each plan's ``variant`` holds its ``index``, ``of``,
        ``tolerance``, per slice ``score`` and ``best_score`` and whether it is
        ``within_tolerance``, and ``similarity`` (Jaccard of the legs walked, 1 = same) to
        every variant.

    Examples
    --------
    >>> days = plan_variants(grid, hot, net, cfg, date="2024-06-01", variants=3)  # doctest: +SKIP
    >>> [round(d.variant["similarity"][0], 2) for d in days]  # doctest: +SKIP
    [1.0, 0.42, 0.38]
    """
    date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    if time_limit_s <= 0:
        msg = f"time_limit_s={time_limit_s} must be a positive number of seconds per slice"
        raise InputError(msg)
    if int(variants) != variants or variants < 1:
        msg = f"variants={variants!r} must be a whole number of plans, at least 1"
        raise InputError(msg)
    if not 0 <= tolerance < 1:
        msg = f"tolerance={tolerance!r} must be in [0, 1), e.g. 0.05 for 5 %"
        raise InputError(msg)
    chosen = _slices_in_order(config, date, slices)
    config = config_for_grid(config, grid)
    if duty_split not in ("risk", "first"):
        msg = f"duty_split={duty_split!r} is unknown; use 'risk' or 'first'"
        raise InputError(msg)
    shares = duty_shares(grid, hotspots, config, chosen, date) if duty_split == "risk" else {}
    carry: list[dict[str, float]] = [{} for _ in range(int(variants))]

    params = SolveParams(
        time_limit_s=time_limit_s, seed=seed, workers=workers, work_limit=work_limit
    )

    def _solve(problem, model, seed_k, dearer=None):
        """Solve a slice (base grid by base grid when big), then re-time it early."""
        solution = None
        if should_decompose(problem, model):
            solution = solve_by_base(
                problem,
                model,
                time_limit_s=time_limit_s,
                seed=seed_k,
                workers=default_workers() if workers is None else workers,
                work_limit=work_limit,
                balance_weight=balance_weight,
                travel_weight=travel_weight,
                arc_factor=dearer,
                params=params,
            )
        if solution is None:
            solution = solve_prize_vrp(
                model,
                params.override(seed=seed_k),
                arc_factor=None if dearer is None else dearer(problem, model),
            )
        return _compact(model, solution)

    if station_point is None and config.location is not None:
        station_point = shapely.Point(config.location)
    k_total = int(variants)
    dosage: list[dict[str, float]] = [{} for _ in range(k_total)]
    duty: list[dict[str, float]] = [{} for _ in range(k_total)]
    since: list[dict[str, float]] = [{} for _ in range(k_total)]  # on duty since a break
    plans: list[list] = [[] for _ in range(k_total)]
    arcs: list[set] = [set() for _ in range(k_total)]  # legs walked over the whole day
    scores: list[dict[str, dict[str, Any]]] = [{} for _ in range(k_total)]
    methods = set()
    steps = len(chosen) * k_total
    for i, ts in enumerate(chosen):
        used: set[tuple[str, str]] = set()
        best_score = None
        for k in range(k_total):
            report(progress, "plan", i * k_total + k, steps)
            # this slice's share of each patroller's day, plus what earlier slices left
            cap = {
                pid: share[ts.id] + carry[k].get(pid, 0.0)
                for pid, share in shares.items()
                if ts.id in share
            }
            problem = build_problem(
                grid,
                hotspots,
                network,
                config,
                date=date,
                slice_id=ts.id,
                dosage_used=dosage[k],
                duty_used=duty[k],
                since_break=since[k],
                station_point=station_point,
                detour_factor=detour_factor,
                pinned=pinned,
                exclude=exclude,
                duty_cap=cap,
            )
            methods.update(m.method for m in problem.matrices)
            model = problem.to_prize_vrp(balance_weight=balance_weight, travel_weight=travel_weight)
            solvable = problem.on_duty and any(s.copies for s in problem.stops)
            if not solvable:
                solution = PrizeVRPSolution.from_routes(
                    model, [[v.start, v.end] for v in model.vehicles]
                )
            elif k == 0:
                solution = _solve(problem, model, seed)
            else:
                floor = best_score - tolerance * abs(best_score)
                tries = []
                for attempt, factor in enumerate((1.5, 1.25, 1.1)):
                    cand = _solve(
                        problem,
                        model,
                        seed + 101 * k + attempt,
                        functools.partial(_dearer_arcs, used=used, factor=factor),
                    )
                    tries.append(cand)
                    if cand.score >= floor - 1e-9:
                        break
                solution = max(tries, key=lambda sol: sol.score)
            if k == 0:
                best_score = solution.score
            scores[k][ts.id] = {
                "score": round(solution.score, 3),
                "best_score": round(best_score, 3),
                "within_tolerance": bool(
                    solution.score >= best_score - tolerance * abs(best_score) - 1e-9
                ),
            }
            walked = _place_arcs(problem, solution)
            used |= walked
            arcs[k] |= {(ts.id, a, b) for a, b in walked}
            sp = slice_plan(problem, model, solution, network=network)
            since[k] = _since_break(sp, config, since[k])
            spent: dict[str, float] = {}
            for r in sp.routes:
                spent[r.patroller_id] = spent.get(r.patroller_id, 0.0) + r.duration_s / 60
                duty[k][r.patroller_id] = duty[k].get(r.patroller_id, 0.0) + r.duration_s / 60
                for stop in r.stops:
                    dosage[k][stop.micro_id] = dosage[k].get(stop.micro_id, 0.0) + stop.dwell_s / 60
            for pid, allowed in cap.items():
                carry[k][pid] = max(0.0, allowed - spent.get(pid, 0.0))
            plans[k].append(sp)
    report(progress, "plan", steps, steps)
    settings = {
        "workers": workers,
        "work_limit": work_limit,
        "balance_weight": balance_weight,
        "travel_weight": travel_weight,
        "duty_split": duty_split,
        "pinned": sorted(map(str, pinned)),
        "exclude": sorted(map(str, exclude)),
        "matrix_method": sorted(methods),
        "detour_factor": detour_factor if network is None else None,
        "network": None
        if network is None
        else {"source": network.source, "fingerprint": network.fingerprint, "crs": network.crs},
    }
    out = []
    for k in range(k_total):
        variant = None
        if k_total > 1:
            sim = [_jaccard(arcs[k], arcs[j]) for j in range(k_total)]
            variant = MappingProxyType(
                {
                    "index": k + 1,
                    "of": k_total,
                    "tolerance": tolerance,
                    "slices": scores[k],
                    "within_tolerance": all(v["within_tolerance"] for v in scores[k].values()),
                    "similarity": sim,
                }
            )
        out.append(
            PatrolPlan(
                station_id=config.station_id,
                station_name=config.station_name,
                timezone=config.timezone,
                date=date,
                seed=seed,
                time_limit_s=float(time_limit_s),
                slices=tuple(plans[k]),
                settings=MappingProxyType(settings),
                policy=config.patrol,
                variant=variant,
            )
        )
    return out


def _jaccard(a: set, b: set) -> float:
    """Jaccard similarity of two sets of legs, as undirected pairs (1 when both empty)."""

    def undirected(arcs):
        return {(s, frozenset((x, y))) for s, x, y in arcs if x != y}

    ua, ub = undirected(a), undirected(b)
    if not ua and not ub:
        return 1.0
    return round(len(ua & ub) / len(ua | ub), 3)
