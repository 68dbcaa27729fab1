"""Typed patrol plans: who goes where, when, for how long, and why; with per-slice metrics.

A :class:`PatrolPlan` (one date) holds a :class:`SlicePlan` per time slice; each has a
:class:`PatrolRoute` per patroller on duty with its ordered :class:`PlannedStop` s (times are
tz-aware datetimes in the station timezone), the stops left out and why, and
:class:`SliceMetrics`. :func:`slice_plan` converts a solver solution of a
:class:`~gridplan.routing.problem.PatrolProblem` into a :class:`SlicePlan`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import zoneinfo
from collections.abc import Callable
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.network.graphs import StreetNetwork
from gridplan.network.matrix import UNREACHABLE
from gridplan.network.matrix import route_geometry
from gridplan.routing.problem import NO_PATH_S
from gridplan.routing.problem import OnDuty
from gridplan.routing.problem import PatrolProblem
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import Route
from gridplan.routing.solver import Visit
from gridplan.station.roster import PatrolPolicy

#: The response-time target: incidents within this travel time of a patrol count as covered.
RESPONSE_S = 8 * 60

REASONS = (
    "no one on duty",
    "dosage cap",
    "excluded by the officer",
    "no risk in this slice",
    "not reachable from the station",
    "outside the home bases of those on duty",
    "not reachable in time",
    "dropped for better prizes",
)


def seconds_between(a: dt.datetime, b: dt.datetime) -> float:
    """Return the real seconds from ``a`` to ``b`` (negative when ``b`` is earlier).

    Python subtracts and compares aware datetimes that share a tzinfo as wall clocks, an hour
    off across a DST change; plan times all share the station's zone, so compare them here.
    """
    return (b.astimezone(dt.UTC) - a.astimezone(dt.UTC)).total_seconds()


def _freeze(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclasses.dataclass(frozen=True)
class PlannedStop:
    """One stop of a route.

    Attributes
    ----------
    order
        1-based position on the route.
    micro_id, name, base_id
        The micro-grid code, its name and its base grid.
    arrival, departure
        Start and end of the dwell, tz-aware in the station timezone.
    dwell_s
        Dwell seconds.
    prize, score
        Prize units earned and the hot-spot score of the micro-grid in the slice.
    risk_rank, gi_class, risk_class
        Why it was chosen: rank (1 = riskiest), Gi* class and ``top``/``high``/``other``.
    copy
        Visit number in the slice for this micro-grid (1 = first visit).
    lon, lat
        Where the patrol stands (the access node).
    node
        The PrizeVRP node (``-1`` in a plan read from a file).
    street_node
        The street-network node of the access point (``None`` when planned without a
        network); the plan checker re-times the legs between these nodes.
    street
        Name of the street where the patrol stands ("" when unknown), for route sheets.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> stop = plan.slice("night").routes[0].stops[0]
    >>> stop.order, stop.micro_id.startswith("S01-B"), stop.risk_class in ("top", "high", "other")
    (1, True, True)
    >>> (stop.departure - stop.arrival).total_seconds() == stop.dwell_s
    True
    """

    order: int
    micro_id: str
    name: str
    base_id: str
    arrival: dt.datetime
    dwell_s: int
    departure: dt.datetime
    prize: int
    score: float
    risk_rank: int
    gi_class: str
    risk_class: str
    copy: int
    lon: float
    lat: float
    node: int
    street_node: int | None = None
    street: str = ""


@dataclasses.dataclass(frozen=True)
class Duty:
    """What the plan promised about one patroller in one slice, for the plan checker.

    Attributes
    ----------
    window_start, window_end
        Availability within the slice (station timezone): the route must start and end
        inside it.
    max_duration_s
        Longest route in this slice (the window, the duty limit and duty spent earlier).
    max_duty_min
        The roster's on-duty limit for the whole day.
    profile, speed_kph
        Street-network profile (``walk``/``ride``) and speed the legs were timed with.
    home_bases
        Base grids the patroller keeps to (empty = all).
    start_node, end_node
        Street nodes of the start and end places (``None`` without a network).
    start_lonlat, end_lonlat
        Where the start and end places are (EPSG:4326).
    break_after_min, break_min
        The roster's break rule (0 = none): no stretch on duty longer than
        ``break_after_min`` without a break of ``break_min``.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> duty = plan.slice("night").routes[0].duty
    >>> duty.profile, duty.speed_kph, duty.max_duty_min, (duty.break_after_min, duty.break_min)
    ('ride', 15.0, 480, (240, 30))
    >>> print(duty.window_start, duty.window_end)
    2019-06-01 22:00:00-07:00 2019-06-02 02:00:00-07:00
    """

    window_start: dt.datetime
    window_end: dt.datetime
    max_duration_s: int
    max_duty_min: int
    profile: str
    speed_kph: float
    home_bases: tuple[str, ...] = ()
    start_node: int | None = None
    end_node: int | None = None
    start_lonlat: tuple[float, float] | None = None
    end_lonlat: tuple[float, float] | None = None
    break_after_min: int = 0
    break_min: int = 0


@dataclasses.dataclass(frozen=True)
class PatrolRoute:
    """The route of one patroller in one slice.

    Attributes
    ----------
    patroller_id, name, role, mode
        From the roster.
    slice_id
        The slice.
    stops
        Ordered :class:`PlannedStop` s (empty when the patroller is not deployed).
    path
        The street path from the start place through every stop to the end place, a
        LineString in EPSG:4326 (straight segments when planned without a network).
    distance_m, duration_s
        Travelled metres and start-to-end seconds.
    start, end
        Leaving the start place and arriving at the end place (station timezone).
    start_place, end_place
        ``"station"`` or a micro-grid id.
    duty
        The :class:`Duty` the route was planned under.
    part
        1, or 2, 3, ... for the patroller's later routes in the same slice (after a break,
        or another window of availability).
    outing
        The patroller's outing of the day this route is part of (0: planned slice by slice).
    carried
        The route carries on the outing of the previous slice from ``start_place``.
    continues
        The outing carries on into the next slice from ``end_place``, the last stop (no walk
        back here).

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> route = plan.slice("night").routes[0]
    >>> route.patroller_id, route.mode, route.part, route.start_place
    ('A03', 'ebike', 1, 'station')
    >>> len(route.stops) > 0, route.path.geom_type, route.distance_m > 0
    (True, 'LineString', True)
    """

    patroller_id: str
    name: str
    role: str
    mode: str
    slice_id: str
    stops: tuple[PlannedStop, ...]
    path: shapely.LineString
    distance_m: float
    duration_s: int
    start: dt.datetime
    end: dt.datetime
    start_place: str = "station"
    end_place: str = "station"
    duty: Duty | None = None
    part: int = 1
    outing: int = 0
    carried: bool = False
    continues: bool = False

    @property
    def deployed(self) -> bool:
        """Whether the route visits anything."""
        return bool(self.stops)


@dataclasses.dataclass(frozen=True)
class DroppedStop:
    """A micro-grid with risk that no route visits, and why (one of :data:`REASONS`)."""

    micro_id: str
    risk_class: str
    risk_rank: int
    reason: str


@dataclasses.dataclass(frozen=True)
class Workload:
    """Minutes on the route, kilometres travelled and stops made by one patroller."""

    minutes: float
    km: float
    stops: int


@dataclasses.dataclass(frozen=True)
class SliceMetrics:
    """How well a slice plan puts presence where the risk is.

    Attributes
    ----------
    risk_covered
        Share of the slice's total hot-spot score at micro-grids visited at least once.
    top_dwell_min
        Top-class micro-grid -> minutes of presence planned (0 when not visited).
    top_longest_gap_min
        Top-class micro-grid -> the longest time in the slice without presence there, minutes:
        from the slice start to the first arrival, between leaving and the next visit, or from
        the last departure to the slice end; the whole slice when it is not visited.
    longest_top_gap_min
        The largest of those, or ``None``.
    base_visited
        Base grid -> whether any of its micro-grids is visited.
    cover_violations
        Base grids not visited although someone was on duty.
    workload
        Patroller id -> :class:`Workload`.
    top_not_visited
        Top-class micro-grid not visited -> reason (one of :data:`REASONS`).
    incidents_within_8min
        Share of the slice's fitting-period incidents in micro-grids within an 8-minute
        travel time of a stop some patroller makes; ``None`` when there are no incidents.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> m = plan.slice("night").metrics
    >>> 0 < m.risk_covered <= 1, sorted(m.base_visited)
    (True, ['S01-B1', 'S01-B2', 'S01-B3', 'S01-B4', 'S01-B5'])
    >>> list(m.workload)
    ['A03']
    """

    risk_covered: float
    top_dwell_min: Mapping[str, float]
    top_longest_gap_min: Mapping[str, float]
    longest_top_gap_min: float | None
    base_visited: Mapping[str, bool]
    cover_violations: tuple[str, ...]
    workload: Mapping[str, Workload]
    top_not_visited: Mapping[str, str]
    incidents_within_8min: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the metrics as a JSON-ready dict."""
        # field by field: dataclasses.asdict deep-copies, and read-only mappings cannot be
        out: dict[str, Any] = {
            "risk_covered": self.risk_covered,
            "longest_top_gap_min": self.longest_top_gap_min,
            "incidents_within_8min": self.incidents_within_8min,
            "cover_violations": list(self.cover_violations),
            "workload": {k: dataclasses.asdict(v) for k, v in self.workload.items()},
        }
        for key in ("top_dwell_min", "top_longest_gap_min", "base_visited", "top_not_visited"):
            out[key] = dict(getattr(self, key))
        return out


@dataclasses.dataclass(frozen=True)
class SlicePlan:
    """The routes of one slice, what was left out, the metrics and the model behind them.

    ``problem``, ``model`` and ``solution`` are kept so the plan can be re-checked against its
    model; they do not take part in comparisons and are not saved in plan files (see
    :func:`~gridplan.io.planfile.save_plan`; :func:`~gridplan.routing.check.check_plan`
    re-checks a saved plan against the street network instead). ``objective`` is the solver
    cost, kept when the solution is not.

    Attributes
    ----------
    slice_id, label
        The slice id and its label (``夜间 Night 22:00-06:00``).
    start, end
        Slice start and end on the plan's date (station timezone).
    routes
        One :class:`PatrolRoute` per patroller on duty (and per part after a break); empty
        when nobody is on duty.
    dropped
        Micro-grids with risk that no route visits, each with the reason.
    metrics
        The :class:`SliceMetrics`.
    off_duty
        Roster ids not on duty in this slice.
    problem, model, solution
        The :class:`~gridplan.routing.problem.PatrolProblem`, its
        :class:`~gridplan.routing.solver.model.PrizeVRP` and the solver's
        :class:`~gridplan.routing.solver.model.PrizeVRPSolution` (``None`` in a plan read from
        a file).
    objective
        The solver cost.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> night = plan.slice("night")
    >>> night.label, night.nobody_on_duty, night.is_feasible()
    ('夜间 Night 22:00-06:00', False, True)
    >>> night.off_duty
    ('C01', 'A01', 'A02', 'N01', 'V01', 'V02')
    """

    slice_id: str
    label: str
    start: dt.datetime
    end: dt.datetime
    routes: tuple[PatrolRoute, ...]
    dropped: tuple[DroppedStop, ...]
    metrics: SliceMetrics
    off_duty: tuple[str, ...] = ()
    problem: PatrolProblem | None = dataclasses.field(default=None, compare=False, repr=False)
    model: PrizeVRP | None = dataclasses.field(default=None, compare=False, repr=False)
    solution: PrizeVRPSolution | None = dataclasses.field(default=None, compare=False, repr=False)
    objective: float | None = None

    @property
    def nobody_on_duty(self) -> bool:
        """Whether no patroller was available in this slice."""
        return not self.routes

    def cost(self) -> float:
        """Return the solver cost (dropped prize + cover penalties + travel and balance costs)."""
        if self.solution is not None:
            return self.solution.cost()
        return 0.0 if self.objective is None else float(self.objective)

    def violations(self) -> list[str]:
        """Hard-constraint violations re-checked by the PrizeVRP model, plus plan checks."""
        out = []
        if self.model is not None and self.solution is not None and self.routes:
            out += self.solution.violations(self.model)

        def earlier(t: dt.datetime, limit: dt.datetime) -> bool:
            return seconds_between(limit, t) < 0

        for r in self.routes:
            for a, b in itertools.pairwise(r.stops):
                if earlier(b.arrival, a.departure):
                    out.append(f"{r.patroller_id}: stop {b.order} starts before {a.order} ends")
            if r.stops and (
                earlier(r.stops[0].arrival, r.start) or earlier(r.end, r.stops[-1].departure)
            ):
                out.append(f"{r.patroller_id}: stops outside the route's start and end")
            # an outing that goes on past the slice may end after it (its stops start inside)
            goes_on = r.duty is not None and earlier(self.end, r.duty.window_end)
            late = any(not earlier(p.arrival, self.end) for p in r.stops)
            if earlier(r.start, self.start) or late or (earlier(self.end, r.end) and not goes_on):
                out.append(f"{r.patroller_id}: route runs outside the slice")
        return out

    def is_feasible(self) -> bool:
        """Whether :meth:`violations` is empty."""
        return not self.violations()


@dataclasses.dataclass(frozen=True)
class PatrolPlan:
    """The patrol plan of one station and date: a :class:`SlicePlan` per slice, in time order.

    Attributes
    ----------
    station_id, station_name, timezone
        From the station config.
    date
        The date the shifts start on.
    seed, time_limit_s
        Solver seed and time limit per slice.
    slices
        The slice plans.
    settings
        Other settings used (workers, work limit, weights, network method and fingerprint),
        JSON-ready.
    policy
        The patrol policy the plan follows (dwell, revisits, dosage cap, base-grid cover).
    variant
        For one of several plan variants (:func:`~gridplan.routing.planner.plan_variants`):
        ``index`` (1 = best), ``of``, ``best_cost``, ``tolerance`` and ``similarity`` to the
        other variants; ``None`` for a single plan.

    Examples
    --------
    The night shift of 2019-06-01 at the demo station, planned without a street network
    (``work_limit`` makes the solver deterministic):

    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> plan.slice_ids, plan.is_feasible(), plan.settings["matrix_method"]
    (('night',), True, ['straight_line'])
    >>> print(plan.to_text())
    波特兰中心示范警务室 (Portland Central demo) (S01) patrol plan for 2019-06-01 ...
    夜间 Night 22:00-06:00: risk covered ...
      A03 专职辅警 3 Auxiliary 3 (ebike) 22:00-...
    >>> routes, stops = plan.to_geodataframes()
    >>> len(stops) == sum(len(r.stops) for r in plan.slice("night").routes)
    True
    """

    station_id: str
    station_name: str
    timezone: str
    date: dt.date
    seed: int
    time_limit_s: float
    slices: tuple[SlicePlan, ...]
    settings: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _freeze({}))
    policy: PatrolPolicy = dataclasses.field(default_factory=PatrolPolicy)
    variant: Mapping[str, Any] | None = None

    def cost(self) -> float:
        """Sum of the slices' solver costs (lower is better)."""
        return float(sum(s.cost() for s in self.slices))

    def violations(self) -> list[str]:
        """Every violation, prefixed by its slice."""
        return [f"{s.slice_id}: {v}" for s in self.slices for v in s.violations()]

    def is_feasible(self) -> bool:
        """Whether every slice passes its PrizeVRP check and the plan's own checks."""
        return not self.violations()

    def slice(self, slice_id: str) -> SlicePlan:
        """Return the plan of ``slice_id``."""
        for s in self.slices:
            if s.slice_id == slice_id:
                return s
        msg = f"no slice {slice_id!r} in the plan; it has {', '.join(self.slice_ids)}"
        raise KeyError(msg)

    @property
    def slice_ids(self) -> tuple[str, ...]:
        """Slice ids in plan order."""
        return tuple(s.slice_id for s in self.slices)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict: settings, feasibility, and per slice metrics and routes."""
        return {
            "station_id": self.station_id,
            "station_name": self.station_name,
            "date": self.date.isoformat(),
            "timezone": self.timezone,
            "seed": self.seed,
            "time_limit_s": self.time_limit_s,
            "cost": self.cost(),
            "feasible": self.is_feasible(),
            "slices": [
                {
                    "slice": s.slice_id,
                    "label": s.label,
                    "nobody_on_duty": s.nobody_on_duty,
                    "metrics": s.metrics.to_dict(),
                    "routes": [
                        {
                            "patroller_id": r.patroller_id,
                            "part": r.part,
                            "name": r.name,
                            "mode": r.mode,
                            "start": r.start.isoformat() if r.deployed else None,
                            "end": r.end.isoformat() if r.deployed else None,
                            "distance_m": r.distance_m,
                            "stops": [p.micro_id for p in r.stops],
                        }
                        for r in s.routes
                    ],
                }
                for s in self.slices
            ],
        }

    def to_text(self) -> str:
        """Return a human-readable account per slice and route."""
        lines = [
            f"{self.station_name} ({self.station_id}) patrol plan for {self.date.isoformat()} "
            f"[{self.timezone}], seed {self.seed}, {self.time_limit_s:g} s per slice, "
            f"cost {self.cost():g}"
        ]
        prefix = f"{self.station_id}-"
        for s in self.slices:
            m = s.metrics
            if s.nobody_on_duty:
                lines.append(f"{s.label}: nobody on duty; {len(s.dropped)} stops unserved")
                continue
            inc = "n/a" if m.incidents_within_8min is None else f"{m.incidents_within_8min:.0%}"
            visited = sum(m.base_visited.values())
            lines.append(
                f"{s.label}: risk covered {m.risk_covered:.0%}, incidents within 8 min {inc}, "
                f"base grids {visited}/{len(m.base_visited)}, top hot spots not visited "
                f"{len(m.top_not_visited)}"
            )
            for r in s.routes:
                who = f"{r.patroller_id} {r.name}" + ("" if r.part == 1 else " after a break")
                if not r.deployed:
                    lines.append(f"  {who}: not deployed")
                    continue
                # codes without the station's prefix (a station id may itself hold dashes)
                stops = " ".join(p.micro_id.removeprefix(prefix) for p in r.stops)
                lines.append(
                    f"  {who} ({r.mode}) {r.start:%H:%M}-{r.end:%H:%M}: "
                    f"{len(r.stops)} stops, {r.distance_m / 1000:.1f} km: {stops}"
                )
        return "\n".join(lines)

    def to_geodataframes(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Return ``(routes, stops)`` GeoDataFrames in EPSG:4326 for exporters.

        Times are ISO 8601 strings with the UTC offset of the station timezone.
        """
        route_rows, stop_rows = [], []
        for s in self.slices:
            for r in s.routes:
                route_rows.append(
                    {
                        "date": self.date.isoformat(),
                        "slice": s.slice_id,
                        "patroller_id": r.patroller_id,
                        "part": r.part,
                        "name": r.name,
                        "role": r.role,
                        "mode": r.mode,
                        "start": r.start.isoformat(),
                        "end": r.end.isoformat(),
                        "stops": len(r.stops),
                        "distance_m": round(r.distance_m, 1),
                        "duration_s": r.duration_s,
                        "geometry": r.path,
                    }
                )
                for p in r.stops:
                    stop_rows.append(
                        {
                            "date": self.date.isoformat(),
                            "slice": s.slice_id,
                            "patroller_id": r.patroller_id,
                            "part": r.part,
                            "order": p.order,
                            "micro_id": p.micro_id,
                            "name": p.name,
                            "base_id": p.base_id,
                            "street": p.street,
                            "arrival": p.arrival.isoformat(),
                            "departure": p.departure.isoformat(),
                            "dwell_min": p.dwell_s / 60,
                            "prize": p.prize,
                            "score": p.score,
                            "risk_rank": p.risk_rank,
                            "gi_class": p.gi_class,
                            "risk_class": p.risk_class,
                            "visit": p.copy,
                            "geometry": shapely.Point(p.lon, p.lat),
                        }
                    )
        route_cols = [
            "date", "slice", "patroller_id", "part", "name", "role", "mode", "start", "end",
            "stops", "distance_m", "duration_s", "geometry",
        ]  # fmt: skip
        stop_cols = [
            "date", "slice", "patroller_id", "part", "order", "micro_id", "name", "base_id",
            "street", "arrival", "departure", "dwell_min", "prize", "score", "risk_rank",
            "gi_class", "risk_class", "visit", "geometry",
        ]  # fmt: skip
        routes = gpd.GeoDataFrame(
            pd.DataFrame(route_rows, columns=route_cols), geometry="geometry", crs="EPSG:4326"
        )
        stops = gpd.GeoDataFrame(
            pd.DataFrame(stop_rows, columns=stop_cols), geometry="geometry", crs="EPSG:4326"
        )
        return routes, stops


# --------------------------------------------------------------------------------------------
# Conversion


def _clock(problem: PatrolProblem):
    tz = zoneinfo.ZoneInfo(problem.timezone)
    start_utc = problem.start.astimezone(dt.UTC)

    def at(seconds: int) -> dt.datetime:
        # absolute time (a DST change inside the slice shifts the wall clock, not the plan)
        return (start_utc + dt.timedelta(seconds=int(seconds))).astimezone(tz)

    return at


def _path(problem, network, k, places) -> shapely.LineString:
    od = problem.on_duty[k]
    m = problem.matrices[od.profile]
    idx = [problem.places.index(p) for p in places]
    if network is None or m.nodes is None:
        xy = problem.place_lonlat[od.profile][idx]
        return shapely.LineString(xy if len(xy) > 1 else np.vstack([xy, xy]))
    parts = []
    for a, b in itertools.pairwise(idx):
        line = route_geometry(network, m.profile, m.nodes[a], m.nodes[b], speed_kph=m.speed_kph)
        coords = np.asarray(line.coords)
        parts.append(coords if not parts else coords[1:])
    return shapely.LineString(np.vstack(parts))


def _reason(problem: PatrolProblem, model: PrizeVRP, micro_id: str) -> str:
    if micro_id in problem.excluded:
        return problem.excluded[micro_id]
    if not problem.on_duty:
        return "no one on duty"
    node = problem.node_of(micro_id, 0)
    allowed = [
        k for k, od in enumerate(problem.on_duty) if od.allowed is None or micro_id in od.allowed
    ]
    if not allowed:
        return "outside the home bases of those on duty"
    for k in allowed:
        v = model.vehicles[k]
        t = model.travel[v.profile]
        need = int(t[v.start, node]) + int(model.service[node]) + int(t[node, v.end])
        limit = min(v.max_duration or need, (v.latest_end or 0) - v.earliest_start)
        if need <= limit and t[v.start, node] < NO_PATH_S:
            return "dropped for better prizes"
    return "not reachable in time"


def slice_plan(
    problem: PatrolProblem,
    model: PrizeVRP,
    solution: PrizeVRPSolution,
    *,
    network: StreetNetwork | None,
) -> SlicePlan:
    """Turn a solver solution of ``problem.to_prize_vrp()`` into a :class:`SlicePlan`.

    Parameters
    ----------
    problem
        The slice problem.
    model
        ``problem.to_prize_vrp()`` as solved.
    solution
        The solution of ``model``.
    network
        The street network the matrices were built on (for the street paths), or ``None``.

    Returns
    -------
    SlicePlan

    Examples
    --------
    >>> model = problem.to_prize_vrp()  # doctest: +SKIP
    >>> sp = slice_plan(problem, model, solve_prize_vrp(model), network=net)  # doctest: +SKIP
    """
    at = _clock(problem)
    routes = []
    visits: list[_StopVisit] = []
    workload: dict[str, Workload] = {}
    for k in range(len(problem.on_duty)):
        route, seen = _route(problem, model, solution.routes[k], k, network, at)
        routes.append(route)
        visits += seen
        before = workload.get(route.patroller_id, Workload(0.0, 0.0, 0))  # earlier parts
        workload[route.patroller_id] = Workload(
            minutes=round(before.minutes + route.duration_s / 60, 1),
            km=round(before.km + route.distance_m / 1000, 3),
            stops=before.stops + len(route.stops),
        )
    metrics, dropped = _metrics(problem, model, solution, visits, workload)
    return SlicePlan(
        slice_id=problem.slice.id,
        label=problem.slice.label,
        start=at(0),
        end=at(problem.horizon_s),
        routes=tuple(routes),
        dropped=dropped,
        metrics=metrics,
        off_duty=problem.off_duty,
        problem=problem,
        model=model,
        solution=solution,
        objective=float(solution.cost()),
    )


@dataclasses.dataclass(frozen=True)
class _StopVisit:
    """A visit of a route, for the slice metrics: where, when, how long, on which matrix."""

    micro_id: str
    time: int
    dwell_s: int
    profile: int
    place: int


def _route(
    problem: PatrolProblem,
    model: PrizeVRP,
    r: Route,
    k: int,
    network: StreetNetwork | None,
    at: Callable[[float], dt.datetime],
) -> tuple[PatrolRoute, list[_StopVisit]]:
    """Return the route of vehicle ``k`` (the solver's route ``r``) and its visits."""
    od = problem.on_duty[k]
    p = od.patroller
    m = problem.matrices[od.profile]
    refs = problem.nodes
    stops, seen = [], []
    for order, vis in enumerate(r.visits[1:-1], start=1):
        stop = _planned_stop(problem, model, vis, order, od.profile, network, at)
        stops.append(stop)
        place = problem.places.index(stop.micro_id)
        seen.append(_StopVisit(stop.micro_id, vis.time, stop.dwell_s, od.profile, place))
    deployed = bool(stops)
    places = [refs[v.node].place for v in r.visits]
    t0 = r.visits[0].time if deployed else od.start_s
    t1 = r.visits[-1].time if deployed else od.start_s
    continues = deployed and od.open_end and _goes_on(problem, r, stops[-1].dwell_s)
    if continues:  # the outing goes on from the last stop in the next slice
        places = places[:-1]
        t1 = r.visits[-2].time + stops[-1].dwell_s
    elif not deployed and od.carried:  # nothing more to do: the walk back
        places = [od.start_place, od.end_place]
        a, b = problem.places.index(od.start_place), problem.places.index(od.end_place)
        t1 = t0 + int(m.seconds[a, b])
    elif not deployed:
        places = [od.start_place, od.start_place]
    idx = [problem.places.index(x) for x in places]
    distance = float(sum(m.metres[a, b] for a, b in itertools.pairwise(idx)))
    route = PatrolRoute(
        patroller_id=p.id,
        name=p.name,
        role=p.role,
        mode=p.mode,
        slice_id=problem.slice.id,
        stops=tuple(stops),
        path=_path(problem, network, k, places),
        distance_m=distance,
        duration_s=int(t1 - t0),
        start=at(t0),
        end=at(t1),
        start_place=od.start_place,
        end_place=places[-1] if continues else od.end_place,
        duty=_duty(problem, od, at),
        part=od.part,
        outing=od.outing,
        carried=od.carried,
        continues=continues,
    )
    return route, seen


def _goes_on(problem: PatrolProblem, r: Route, last_dwell_s: int) -> bool:
    """Whether a route's last stop keeps the patroller busy up to the slice end.

    Then the outing carries on from there into the next slice; a route whose stops end
    earlier had nothing better to do and walks back.
    """
    free = r.visits[-2].time + last_dwell_s
    return free >= problem.horizon_s - problem.policy.wait_max_min * 60


def _planned_stop(
    problem: PatrolProblem,
    model: PrizeVRP,
    vis: Visit,
    order: int,
    profile: int,
    network: StreetNetwork | None,
    at: Callable[[float], dt.datetime],
) -> PlannedStop:
    """Return the solver's visit ``vis`` as stop number ``order`` of a route on ``profile``."""
    ref = problem.nodes[vis.node]
    s = problem.stop(ref.place)
    i = problem.places.index(ref.place)
    m = problem.matrices[profile]
    lonlat = problem.place_lonlat[profile]
    return PlannedStop(
        order=order,
        micro_id=s.id,
        name=s.name,
        base_id=s.base_id,
        arrival=at(vis.time),
        dwell_s=s.dwell_s,
        departure=at(vis.time + s.dwell_s),
        prize=int(model.prize[vis.node]),
        score=s.score,
        risk_rank=s.rank,
        gi_class=s.gi_class,
        risk_class=s.risk_class,
        copy=int(ref.copy) + 1,
        lon=float(lonlat[i, 0]),
        lat=float(lonlat[i, 1]),
        node=int(vis.node),
        street_node=None if m.nodes is None else int(m.nodes[i]),
        street=""
        if network is None or m.nodes is None
        else network.street_name(m.profile, int(m.nodes[i])),
    )


def _duty(problem: PatrolProblem, od: OnDuty, at: Callable[[float], dt.datetime]) -> Duty:
    """Return what a route was planned under: window, limits, profile, ends, break rule."""
    p = od.patroller
    m = problem.matrices[od.profile]
    lonlat = problem.place_lonlat[od.profile]
    i_start, i_end = problem.places.index(od.start_place), problem.places.index(od.end_place)
    return Duty(
        window_start=at(od.start_s),
        window_end=at(od.end_s),
        max_duration_s=int(od.max_duration_s),
        max_duty_min=int(p.max_duty_min),
        profile=m.profile,
        speed_kph=float(m.speed_kph),
        home_bases=tuple(p.home_bases),
        start_node=None if m.nodes is None else int(m.nodes[i_start]),
        end_node=None if m.nodes is None else int(m.nodes[i_end]),
        start_lonlat=(float(lonlat[i_start, 0]), float(lonlat[i_start, 1])),
        end_lonlat=(float(lonlat[i_end, 0]), float(lonlat[i_end, 1])),
        break_after_min=int(p.break_after_min),
        break_min=int(p.break_min),
    )


def _longest_gap_s(visits: list[tuple[int, int]], slice_s: int) -> float:
    """Longest time in the slice without presence: before, between and after the visits.

    ``visits`` are (arrival, dwell) in seconds from the slice start. A cell never visited
    goes the whole slice without presence; one visited once, from the start to its arrival
    or from its departure to the end.
    """
    longest, present_until = 0, 0
    for arrival, dwell in sorted(visits):  # visits of two patrollers may overlap
        longest = max(longest, arrival - present_until)
        present_until = max(present_until, arrival + dwell)
    return float(max(longest, slice_s - present_until))


def _metrics(
    problem: PatrolProblem,
    model: PrizeVRP,
    solution: PrizeVRPSolution,
    visits: list[_StopVisit],
    workload: dict[str, Workload],
) -> tuple[SliceMetrics, tuple[DroppedStop, ...]]:
    """Return the slice's metrics and the stops with risk no route visits, with why."""
    visits_at: dict[str, list[tuple[int, int]]] = {}
    covered = np.zeros(len(problem.places), dtype=bool)
    for v in visits:
        visits_at.setdefault(v.micro_id, []).append((v.time, v.dwell_s))
        seconds = problem.matrices[v.profile].seconds[v.place]
        covered |= (seconds != UNREACHABLE) & (seconds <= RESPONSE_S)
    total = sum(s.score for s in problem.stops)
    risk_covered = sum(s.score for s in problem.stops if s.id in visits_at)
    top = [s for s in problem.stops if s.risk_class == "top"]
    dwell = {s.id: sum(d for _, d in visits_at.get(s.id, [])) / 60 for s in top}
    slice_s = problem.slice.duration_min * 60
    gaps = {s.id: _longest_gap_s(visits_at.get(s.id, []), slice_s) / 60 for s in top}
    base_visited = {b: False for b in problem.base_ids}
    for mid in visits_at:
        base_visited[problem.stop(mid).base_id] = True
    violations = tuple(model.cover_groups[i].name for i in solution.cover_violations)
    dropped = tuple(
        DroppedStop(s.id, s.risk_class, s.rank, _reason(problem, model, s.id))
        for s in problem.stops
        if s.score > 0 and s.id not in visits_at
    )
    not_visited = {d.micro_id: d.reason for d in dropped if d.risk_class == "top"}
    incidents = np.array([s.incidents for s in problem.stops], dtype=float)
    inc_share = None
    if incidents.sum() > 0:
        inc_share = float(incidents[covered[1:]].sum() / incidents.sum())
    metrics = SliceMetrics(
        risk_covered=float(risk_covered / total) if total > 0 else 0.0,
        top_dwell_min=_freeze(dwell),
        top_longest_gap_min=_freeze(gaps),
        longest_top_gap_min=max(gaps.values()) if gaps else None,
        base_visited=_freeze(base_visited),
        cover_violations=violations,
        workload=_freeze(workload),
        top_not_visited=_freeze(not_visited),
        incidents_within_8min=inc_share,
    )
    return metrics, dropped
