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
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan._validate import NO_CATEGORY
from gridplan._validate import parse_recent
from gridplan.network.graphs import StreetNetwork
from gridplan.network.matrix import UNREACHABLE
from gridplan.network.matrix import route_geometry
from gridplan.routing.feedback import ActualPresence
from gridplan.routing.feedback import MissedFlag
from gridplan.routing.feedback import feedback_notes
from gridplan.routing.feedback import missed_flags
from gridplan.routing.presence import Place
from gridplan.routing.presence import response_coverage
from gridplan.routing.presence import waiting_s
from gridplan.routing.problem import NO_PATH_S
from gridplan.routing.problem import PIN_PRIZE
from gridplan.routing.problem import PRIZE_TOTAL
from gridplan.routing.problem import OnDuty
from gridplan.routing.problem import PatrolProblem
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import Route
from gridplan.routing.solver import Visit
from gridplan.station.roster import PatrolPolicy

#: What the solver optimises, said in every plan (summary, text, plan page).
OBJECTIVE = (
    "The solver maximises prize less travel: a micro-grid's first visit earns its share of the "
    "slice's risk, a second visit half of that and a third a quarter. The objective can "
    "therefore improve while the risk covered (first visits only) falls; both are reported."
)

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


# "Why this stop", in words: the parts a plan page or route sheet joins with "; ". Another
# part (an alert on the micro-grid) is added by the alerts' code after these.
_WHY_RISK = define("plan.why.risk_share", N_("%(share)s of this slice's risk"))
_WHY_RECENT = define("plan.why.recent", N_("%(incidents)s in the %(days)d days to %(date)s"))
_WHY_INCIDENT = define("plan.why.incident_count", N_("%(count)d %(category)s"))
_WHY_ANY = define("plan.why.incidents", N_("%(count)d incidents"))
_WHY_TARGET = define(
    "plan.why.target",
    N_("key target worth %(share)s of this slice's risk, to serve %(window)s"),
)
_WHY_ALERT = {
    "red": define("plan.why.alert_red", N_("red alert until %(until)s")),
    "yellow": define("plan.why.alert_yellow", N_("yellow alert until %(until)s")),
    "blue": define("plan.why.alert_blue", N_("blue alert until %(until)s")),
}


def why_parts(stop: PlannedStop, alerts: Sequence[Mapping[str, Any]] = ()) -> list[Message]:
    """Return why a stop is on the route, as messages to join with "; " (any UI language).

    Parameters
    ----------
    stop
        The stop.
    alerts
        The plan's alerts (``settings["alerts"]``): a stop under one says its colour and
        until when, in the station's time ("red alert until 06-10 20:00").

    Returns
    -------
    list of Message
        Its share of the slice's risk ("12 % of this slice's risk") and, when the hot spots
        carry them, its recent incidents by category ("5 robbery, 2 theft in the 90 days to
        2019-12-31"); a list, so that other reasons (an alert) can be appended.

    Examples
    --------
    >>> stop = dataclasses.replace(STOP, risk_share=0.12, recent=RECENT)  # doctest: +SKIP
    >>> "; ".join(map(str, why_parts(stop)))  # doctest: +SKIP
    "12 % of this slice's risk; 5 robbery in the 90 days to 2019-12-31"
    """
    if stop.target_id and stop.window_start is not None:  # an officer's key target
        window = f"{stop.window_start:%H:%M}-{stop.window_end:%H:%M}"
        return [_WHY_TARGET(share=f"{100 * stop.prize / PRIZE_TOTAL:.0f} %", window=window)]
    parts = [_WHY_RISK(share=f"{100 * stop.risk_share:.0f} %")]
    recent = parse_recent(stop.recent)
    if recent is not None:
        days, to, top = recent
        counts = [
            _WHY_ANY(count=n) if cat == NO_CATEGORY else _WHY_INCIDENT(count=n, category=cat)
            for cat, n in top
        ]
        parts.append(_WHY_RECENT(incidents=listing(counts), days=days, date=to))
    alert = next((a for a in alerts if a.get("id") == stop.alert_id), None)
    if alert is not None and stop.alert in _WHY_ALERT:
        ends = dt.datetime.fromisoformat(str(alert["ends"])).astimezone(stop.arrival.tzinfo)
        parts.append(_WHY_ALERT[stop.alert](until=f"{ends:%m-%d %H:%M}"))
    return parts


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
        Prize units earned for the risk (times an alert's value factor; without the bonus
        that makes a pin or an alert's minimum hard to drop) and the hot-spot score of the
        micro-grid in the slice.
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
    risk_share
        The micro-grid's share of the slice's risk (its score over the slice's total).
    recent
        Its recent incidents in the slice by category, the hot spots' ``recent`` text
        (``""`` when none or unknown). :func:`why_parts` says both in words.
    kind
        ``grid`` (a micro-grid), or for a key road section or timed target ``point`` or
        ``line`` (:mod:`~gridplan.routing.targets`). A target's ``micro_id`` is ``""`` (it is
        no micro-grid visit), ``base_id`` the base grid it starts in (``""`` outside the
        grid), ``name`` the target's name, ``risk_class`` ``"target"``; a line's ``dwell_s``
        is the walk plus the dwell.
    target_id
        The target's id ("" for a micro-grid).
    window_start, window_end
        The target's time window served (``None`` for a micro-grid).
    end_lon, end_lat, end_street_node
        Where a line target's walk ends (``None`` otherwise); ``lon``, ``lat`` and
        ``street_node`` are where it starts.
    walk_m
        Length of a line target's section, metres (0 otherwise).
    end_street
        Name of the street a line target's walk ends on ("" when unknown).
    alert, alert_id
        Colour and id of the strongest alert active on the micro-grid in the slice (the
        plan's ``settings["alerts"]`` hold the alerts), or ``None``.

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
    risk_share: float = 0.0
    recent: str = ""
    kind: str = "grid"
    target_id: str = ""
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    end_lon: float | None = None
    end_lat: float | None = None
    end_street_node: int | None = None
    walk_m: float = 0.0
    end_street: str = ""
    alert: str | None = None
    alert_id: str | None = None

    @property
    def end_lonlat(self) -> tuple[float, float]:
        """Where the patrol leaves the stop (a line target's end, else the stop itself)."""
        if self.end_lon is None or self.end_lat is None:
            return (self.lon, self.lat)
        return (self.end_lon, self.end_lat)


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
    """A micro-grid with risk (or an alert's minimum) no route visits, and why (:data:`REASONS`)."""

    micro_id: str
    risk_class: str
    risk_rank: int
    reason: str


@dataclasses.dataclass(frozen=True)
class Workload:
    """Minutes on the route, kilometres travelled, stops made and minutes spent waiting.

    ``waiting_min`` is route time neither travelling nor at a stop (the route's length less
    its dwell and the travel time of its legs on the patroller's own travel times).
    """

    minutes: float
    km: float
    stops: int
    waiting_min: float = 0.0


@dataclasses.dataclass(frozen=True)
class TopPresence:
    """Presence at a top hot spot against its share of the risk.

    Attributes
    ----------
    minutes
        Minutes of presence planned there (dwell of every visit).
    share_of_presence
        Those minutes over all the minutes of presence planned (0 when there is none).
    share_of_risk
        Its score over the total score (of the slice; for the day, of every slice planned).
    slices
        For the day view: the slices in which it is a top hot spot (empty per slice).
    """

    minutes: float
    share_of_presence: float
    share_of_risk: float
    slices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``slices`` only when set)."""
        out: dict[str, Any] = {
            "minutes": round(self.minutes, 3),
            "share_of_presence": round(self.share_of_presence, 6),
            "share_of_risk": round(self.share_of_risk, 6),
        }
        if self.slices:
            out["slices"] = list(self.slices)
        return out


@dataclasses.dataclass(frozen=True)
class CellRisk:
    """A micro-grid with risk or incidents in a slice: what the metrics weigh, where it is.

    Saved with the plan so the checker can recompute the metrics from the routes.

    Attributes
    ----------
    micro_id
        The micro-grid code.
    score, incidents
        Its hot-spot score and fitting-period incidents in the slice.
    risk_class
        ``top``, ``high`` or ``other``.
    access
        Travel profile (``walk``/``ride``) -> ``(street node or None, lon, lat)`` of the point
        a patrol reaches it at (its access node on that profile's graph).
    """

    micro_id: str
    score: float
    incidents: int
    risk_class: str
    access: Mapping[str, tuple[int | None, float, float]] = dataclasses.field(
        default_factory=lambda: _freeze({})
    )


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
    response_coverage
        Time-resolved response coverage: the share of the slice's fitting-period incidents in
        micro-grids within 8 minutes' travel (``presence.RESPONSE_S``, on each patroller's
        own travel times) of some patroller, averaged over the slice minute by minute. A
        patroller is at its stop while there, on the leg while travelling (a cell counts
        when the place it left or the next place reaches it in 8 minutes less the time
        since leaving or still to go), waiting at the next place, and at its start or end
        place (the station) while on duty but not on its route; outside its duty window it
        covers nothing, so a minute with nobody on duty counts as 0
        (:mod:`gridplan.routing.presence`). ``None`` when the slice has no incidents.
    waiting_min
        Minutes on the routes neither travelling nor at a stop (per patroller: ``workload``).
    top_presence
        Top-class micro-grid -> :class:`TopPresence` (minutes, share of presence, share of
        risk).
    risk_total
        The slice's total hot-spot score (the day's metrics weigh slices by it).
    prize
        Prize units the routes collect, the reward of the solver's objective
        (:data:`OBJECTIVE`): :data:`~gridplan.routing.problem.PRIZE_TOTAL` units are the
        slice's whole risk, revisits count at half and a quarter, a pin adds the whole slice.

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
    response_coverage: float | None = None
    waiting_min: float = 0.0
    top_presence: Mapping[str, TopPresence] = dataclasses.field(default_factory=lambda: _freeze({}))
    risk_total: float = 0.0
    prize: int = 0

    @property
    def prize_share(self) -> float:
        """The prize collected as a share of the slice's risk (above 1 with revisits).

        A pin's or an alert minimum's bonus is not counted (:attr:`PlannedStop.prize`).
        """
        return self.prize / PRIZE_TOTAL

    def to_dict(self) -> dict[str, Any]:
        """Return the metrics as a JSON-ready dict."""
        # field by field: dataclasses.asdict deep-copies, and read-only mappings cannot be
        out: dict[str, Any] = {
            "risk_covered": self.risk_covered,
            "prize": self.prize,
            "prize_share": self.prize_share,
            "risk_total": self.risk_total,
            "longest_top_gap_min": self.longest_top_gap_min,
            "response_coverage": self.response_coverage,
            "waiting_min": self.waiting_min,
            "cover_violations": list(self.cover_violations),
            "workload": {k: dataclasses.asdict(v) for k, v in self.workload.items()},
            "top_presence": {k: v.to_dict() for k, v in self.top_presence.items()},
        }
        for key in ("top_dwell_min", "top_longest_gap_min", "base_visited", "top_not_visited"):
            out[key] = dict(getattr(self, key))
        return out


@dataclasses.dataclass(frozen=True)
class DayMetrics:
    """The day's metrics over the slices planned (see :meth:`PatrolPlan.day_metrics`).

    Attributes
    ----------
    risk_covered
        Share of the day's risk at micro-grids visited in the slice the risk is in: the
        slices' risk covered weighted by each slice's total score.
    prize_share
        The prize collected (:attr:`SliceMetrics.prize_share`) weighted the same way: what
        the solver's objective rewards (:data:`OBJECTIVE`).
    objective
        The solver's cost summed over the slices (lower is better).
    response_coverage
        The slices' response coverage weighted by their length (slices without incidents
        left out); ``None`` when no slice has one.
    waiting_min
        Minutes of waiting on all routes.
    top_presence
        Micro-grid that is a top hot spot in some slice -> :class:`TopPresence` over the day:
        its minutes in every slice, their share of the day's presence, its share of the
        day's risk (its score in every slice over all the slices' scores), and the slices in
        which it is top.
    """

    risk_covered: float
    prize_share: float
    objective: float
    response_coverage: float | None
    waiting_min: float
    top_presence: Mapping[str, TopPresence]

    def to_dict(self) -> dict[str, Any]:
        """Return the day's metrics as a JSON-ready dict."""
        return {
            "risk_covered": self.risk_covered,
            "prize_share": self.prize_share,
            "objective": self.objective,
            "response_coverage": self.response_coverage,
            "waiting_min": self.waiting_min,
            "top_presence": {k: v.to_dict() for k, v in self.top_presence.items()},
        }


def _day_metrics(slices: tuple[SlicePlan, ...]) -> DayMetrics:
    """Weigh the slices' metrics into the day's (see :class:`DayMetrics`)."""
    risk = [s.metrics.risk_total for s in slices]
    total = sum(risk)

    def by_risk(values) -> float:
        return (
            float(sum(v * w for v, w in zip(values, risk, strict=True)) / total) if total else 0.0
        )

    timed = [
        (s.metrics.response_coverage, seconds_between(s.start, s.end))
        for s in slices
        if s.metrics.response_coverage is not None
    ]
    length = sum(w for _, w in timed)
    minutes: dict[str, float] = {}
    for s in slices:
        for r in s.routes:
            for p in r.stops:
                if not p.target_id:  # presence in micro-grids; key targets apart
                    minutes[p.micro_id] = minutes.get(p.micro_id, 0.0) + p.dwell_s / 60
    top: dict[str, list[str]] = {}
    for s in slices:
        for mid in s.metrics.top_presence:
            top.setdefault(mid, []).append(s.slice_id)
    all_min = sum(minutes.values())
    presence = {}
    for mid, where in top.items():
        score = 0.0
        for s in slices:
            cell = next((c for c in s.cells if c.micro_id == mid), None)
            if cell is not None:
                score += cell.score
            elif not s.cells and mid in s.metrics.top_presence:  # a file without cells
                score += s.metrics.top_presence[mid].share_of_risk * s.metrics.risk_total
        presence[mid] = TopPresence(
            minutes=minutes.get(mid, 0.0),
            share_of_presence=minutes.get(mid, 0.0) / all_min if all_min else 0.0,
            share_of_risk=score / total if total else 0.0,
            slices=tuple(where),
        )
    return DayMetrics(
        risk_covered=by_risk([s.metrics.risk_covered for s in slices]),
        prize_share=by_risk([s.metrics.prize_share for s in slices]),
        objective=float(sum(s.cost() for s in slices)),
        response_coverage=sum(v * w for v, w in timed) / length if length else None,
        waiting_min=round(sum(s.metrics.waiting_min for s in slices), 3),
        top_presence=_freeze(presence),
    )


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
    cells
        The micro-grids with risk or incidents in the slice (:class:`CellRisk`): what the
        metrics weigh, saved so the checker can recompute them from the routes.

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
    cells: tuple[CellRisk, ...] = ()

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

    The feedback from tracks the plan was made with, if any, is ``settings["presence"]``
    (:attr:`feedback`); :meth:`missed_flags` and :meth:`feedback_notes` say what it flags.

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

    @property
    def feedback(self) -> ActualPresence | None:
        """Where patrols actually were, as the plan was made with it (``None``: without).

        See :mod:`gridplan.routing.feedback`; kept in ``settings["presence"]``.
        """
        raw = self.settings.get("presence")
        return None if raw is None else ActualPresence.from_dict(raw)

    def missed_flags(self) -> tuple[MissedFlag, ...]:
        """Micro-grids whose planned stops were missed repeatedly over the recent days.

        At least the policy's ``missed_flag_after`` times, most missed first; empty for a
        plan made without feedback. For the officer: the plan page and route sheets show
        them (:meth:`feedback_notes`).
        """
        return missed_flags(self.feedback, self.policy)

    def feedback_notes(self) -> list[Message]:
        """Return what the feedback from tracks did to the plan, one message each.

        The micro-grids flagged as missed, the top hot spots whose value was raised because
        they got less presence than planned, and the minutes spent today that came off the
        daily caps; empty without feedback. Messages render in any language
        (:meth:`~gridplan._messages.Message.render`).
        """
        top = {c.micro_id for s in self.slices for c in s.cells if c.risk_class == "top"}
        return feedback_notes(self.feedback, self.policy, top=top)

    def day_metrics(self) -> DayMetrics:
        """Return the day's metrics over the plan's slices (:class:`DayMetrics`)."""
        return _day_metrics(self.slices)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict: settings, feasibility, the day's and each slice's metrics.

        ``what_is_optimised`` says what the solver optimises (:data:`OBJECTIVE`); ``day``
        holds :meth:`day_metrics`; each slice its metrics, solver cost (``objective``) and
        routes; a plan made with feedback from tracks has ``feedback``: the micro-grids
        flagged as missed (``missed``) and :meth:`feedback_notes` (``notes``).
        """
        out = {
            "station_id": self.station_id,
            "station_name": self.station_name,
            "date": self.date.isoformat(),
            "timezone": self.timezone,
            "seed": self.seed,
            "time_limit_s": self.time_limit_s,
            "cost": self.cost(),
            "feasible": self.is_feasible(),
            "what_is_optimised": OBJECTIVE,
            "day": self.day_metrics().to_dict(),
            "slices": [
                {
                    "slice": s.slice_id,
                    "label": s.label,
                    "nobody_on_duty": s.nobody_on_duty,
                    "objective": s.cost(),
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
                            "stops": [p.micro_id or f"target:{p.target_id}" for p in r.stops],
                        }
                        for r in s.routes
                    ],
                }
                for s in self.slices
            ],
        }
        if self.feedback is not None:
            out["feedback"] = {
                "days": self.feedback.days,
                "missed": [dataclasses.asdict(f) for f in self.missed_flags()],
                "notes": [str(n) for n in self.feedback_notes()],
            }
        return out

    def to_text(self) -> str:
        """Return a human-readable account per slice and route (and the feedback's notes)."""
        lines = [
            f"{self.station_name} ({self.station_id}) patrol plan for {self.date.isoformat()} "
            f"[{self.timezone}], seed {self.seed}, {self.time_limit_s:g} s per slice, "
            f"cost {self.cost():g}"
        ]
        prefix = f"{self.station_id}-"
        d = self.day_metrics()
        lines.append(
            f"Day: risk covered {d.risk_covered:.0%} (prize {d.prize_share:.0%} of the risk, "
            f"objective {d.objective:g}), {_coverage_text(d.response_coverage)}, waiting "
            f"{d.waiting_min:.0f} min"
        )
        lines.append(OBJECTIVE)
        notes = self.feedback_notes()
        if notes:
            lines.append(f"Feedback from tracks ({len(notes)}):")
            lines += [f"  {n}" for n in notes]
        for s in self.slices:
            m = s.metrics
            if s.nobody_on_duty:
                lines.append(
                    f"{s.label}: nobody on duty; {len(s.dropped)} stops unserved; "
                    f"{_coverage_text(m.response_coverage)}"
                )
                continue
            visited = sum(m.base_visited.values())
            lines.append(
                f"{s.label}: risk covered {m.risk_covered:.0%} (prize {m.prize_share:.0%} of "
                f"the risk, objective {s.cost():g}), {_coverage_text(m.response_coverage)}, "
                f"waiting {m.waiting_min:.0f} min, base grids {visited}/{len(m.base_visited)}, "
                f"top hot spots not visited {len(m.top_not_visited)}"
            )
            lines += _top_presence_text(m.top_presence, prefix)
            for r in s.routes:
                who = f"{r.patroller_id} {r.name}" + ("" if r.part == 1 else " after a break")
                if not r.deployed:
                    lines.append(f"  {who}: not deployed")
                    continue
                # codes without the station's prefix (a station id may itself hold dashes)
                stops = " ".join(
                    p.micro_id.removeprefix(prefix) if p.micro_id else p.name for p in r.stops
                )
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
                            "stop_kind": p.kind,
                            "target_id": p.target_id,
                            "window": ""
                            if p.window_start is None
                            else f"{p.window_start:%H:%M}-{p.window_end:%H:%M}",
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
            "gi_class", "risk_class", "visit", "stop_kind", "target_id", "window", "geometry",
        ]  # fmt: skip
        routes = gpd.GeoDataFrame(
            pd.DataFrame(route_rows, columns=route_cols), geometry="geometry", crs="EPSG:4326"
        )
        stops = gpd.GeoDataFrame(
            pd.DataFrame(stop_rows, columns=stop_cols), geometry="geometry", crs="EPSG:4326"
        )
        return routes, stops


def _coverage_text(share: float | None) -> str:
    if share is None:
        return "no incidents to respond to"
    return f"incidents within 8 min of a patroller {share:.0%} of the time"


def _top_presence_text(top: Mapping[str, TopPresence], prefix: str) -> list[str]:
    """One line: each top hot spot's minutes and share of presence against its share of risk."""
    if not top:
        return []
    parts = [
        f"{mid.removeprefix(prefix)} {t.minutes:.0f} min ({t.share_of_presence:.0%} of "
        f"presence, {t.share_of_risk:.0%} of risk)"
        for mid, t in sorted(top.items(), key=lambda kv: -kv[1].share_of_risk)
    ]
    return ["  top hot spots: " + "; ".join(parts)]


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
    lonlat = problem.place_lonlat[od.profile]
    walks = _walks(problem)
    if not walks and (network is None or m.nodes is None):
        xy = lonlat[idx]
        return shapely.LineString(xy if len(xy) > 1 else np.vstack([xy, xy]))
    parts = []
    for (pa, pb), (a, b) in zip(itertools.pairwise(places), itertools.pairwise(idx), strict=True):
        if (pa, pb) in walks:  # a line target: its section as drawn, from node to node
            coords = np.vstack([lonlat[a], walks[pa, pb].coords, lonlat[b]])
        elif network is None or m.nodes is None:
            coords = lonlat[[a, b]]
        else:
            line = route_geometry(network, m.profile, m.nodes[a], m.nodes[b], speed_kph=m.speed_kph)
            coords = np.asarray(line.coords)
        parts.append(coords if not parts else coords[1:])
    return shapely.LineString(np.vstack(parts))


def target_stops(plan: PatrolPlan) -> list[tuple[str, str, PlannedStop]]:
    """Return ``(slice id, patroller id, stop)`` of every target stop of ``plan``, in order."""
    return [
        (s.slice_id, r.patroller_id, p)
        for s in plan.slices
        for r in s.routes
        for p in r.stops
        if p.target_id
    ]


def _distance(problem: PatrolProblem, m, places: list[str]) -> float:
    """Metres along ``places``: street legs, and each line target's section as drawn."""
    walks = _walks(problem)
    idx = [problem.places.index(x) for x in places]
    return float(
        sum(
            walks[pa, pb].length_m if (pa, pb) in walks else m.metres[a, b]
            for (pa, pb), (a, b) in zip(
                itertools.pairwise(places), itertools.pairwise(idx), strict=True
            )
        )
    )


def _walks(problem: PatrolProblem) -> dict[tuple[str, str], Any]:
    """(start place, end place) of each line target in the problem -> the target."""
    return {(t.in_place, t.out_place): t.target for t in problem.targets if t.target.kind == "line"}


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
    workload: dict[str, Workload] = {}
    for k in range(len(problem.on_duty)):
        route = _route(problem, model, solution.routes[k], k, network, at)
        routes.append(route)
        before = workload.get(route.patroller_id, Workload(0.0, 0.0, 0))  # earlier parts
        workload[route.patroller_id] = Workload(
            minutes=round(before.minutes + route.duration_s / 60, 1),
            km=round(before.km + route.distance_m / 1000, 3),
            stops=before.stops + len(route.stops),
        )
    cells = _cells(problem)
    metrics, dropped = _metrics(problem, model, solution, tuple(routes), workload, cells)
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
        cells=cells,
    )


def _route(
    problem: PatrolProblem,
    model: PrizeVRP,
    r: Route,
    k: int,
    network: StreetNetwork | None,
    at: Callable[[float], dt.datetime],
) -> PatrolRoute:
    """Return the route of vehicle ``k`` (the solver's route ``r``)."""
    od = problem.on_duty[k]
    p = od.patroller
    m = problem.matrices[od.profile]
    refs = problem.nodes
    stops: list[PlannedStop] = []
    places = [refs[r.visits[0].node].place]
    for order, vis in enumerate(r.visits[1:-1], start=1):
        tnode = problem.target(vis.node)
        if tnode is not None:  # a key target: entered at its start, left at its end
            stops.append(_target_stop(problem, model, tnode, vis, order, od.profile, network, at))
            places += list(dict.fromkeys([tnode.in_place, tnode.out_place]))
        else:
            stops.append(_planned_stop(problem, model, vis, order, od.profile, network, at))
            places.append(refs[vis.node].place)
    places.append(refs[r.visits[-1].node].place)
    deployed = bool(stops)
    t0 = r.visits[0].time if deployed else od.start_s
    t1 = r.visits[-1].time if deployed else od.start_s
    # an outing goes on from a micro-grid: after a key target, from the one it lies in
    last = problem.target(r.visits[-2].node) if deployed else None
    continues = (
        deployed
        and od.open_end
        and _goes_on(problem, r, stops[-1].dwell_s)
        and (last is None or bool(last.micro_id))
    )
    if continues:  # the outing goes on from the last stop in the next slice
        places = places[:-1]
        t1 = r.visits[-2].time + stops[-1].dwell_s
    elif not deployed and od.carried:  # nothing more to do: the walk back
        places = [od.start_place, od.end_place]
        a, b = problem.places.index(od.start_place), problem.places.index(od.end_place)
        t1 = t0 + int(m.seconds[a, b])
    elif not deployed:
        places = [od.start_place, od.start_place]
    distance = _distance(problem, m, places)
    return PatrolRoute(
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
        end_place=(places[-1] if last is None else last.micro_id) if continues else od.end_place,
        duty=_duty(problem, od, at),
        part=od.part,
        outing=od.outing,
        carried=od.carried,
        continues=continues,
    )


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
        prize=int(model.prize[vis.node]) - _pin_bonus(problem, vis.node),
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
        risk_share=problem.prize_of(s) / PRIZE_TOTAL,
        recent=s.recent,
        alert=None if s.alert is None else s.alert.level,
        alert_id=None if s.alert is None else s.alert.alert_id,
    )


def _target_stop(problem, model, tnode, vis, order, profile, network, at) -> PlannedStop:
    """Return the solver's visit of a target occurrence as stop number ``order``."""
    t = tnode.target
    m = problem.matrices[profile]
    lonlat = problem.place_lonlat[profile]
    i, j = problem.places.index(tnode.in_place), problem.places.index(tnode.out_place)

    def node(k: int) -> int | None:
        return None if m.nodes is None else int(m.nodes[k])

    line = t.kind == "line"
    return PlannedStop(
        order=order,
        micro_id="",  # not a micro-grid visit: no dosage, stay or revisit counts it
        name=t.name,
        base_id=tnode.base_id,
        arrival=at(vis.time),
        dwell_s=t.service_s,
        departure=at(vis.time + t.service_s),
        prize=int(model.prize[vis.node]),
        score=0.0,
        risk_rank=0,
        gi_class="",
        risk_class="target",
        copy=tnode.occurrence + 1,
        lon=float(lonlat[i, 0]),
        lat=float(lonlat[i, 1]),
        node=int(vis.node),
        street_node=node(i),
        street=""
        if network is None or m.nodes is None
        else network.street_name(m.profile, node(i)),
        kind=t.kind,
        target_id=t.id,
        window_start=at(tnode.open_s),
        window_end=at(tnode.close_s),
        end_lon=float(lonlat[j, 0]) if line else None,
        end_lat=float(lonlat[j, 1]) if line else None,
        end_street_node=node(j) if line else None,
        walk_m=round(t.length_m, 1),
        end_street=network.street_name(m.profile, node(j))
        if line and network is not None and m.nodes is not None
        else "",
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


@dataclasses.dataclass(frozen=True)
class Presence:
    """The slice metrics measured from the routes alone (see :func:`measure_presence`)."""

    risk_covered: float
    risk_total: float
    response_coverage: float | None
    waiting_min: float
    waiting_by_patroller: Mapping[str, float]
    top_presence: Mapping[str, TopPresence]


def measure_presence(
    routes: tuple[PatrolRoute, ...],
    cells: tuple[CellRisk, ...],
    times,
    *,
    slice_start: dt.datetime,
    slice_end: dt.datetime,
) -> Presence:
    """Measure a slice's routes: risk covered, response coverage, waiting, top presence.

    Parameters
    ----------
    routes
        The slice's routes, with their duty.
    cells
        The micro-grids with risk or incidents in the slice (:attr:`SlicePlan.cells`).
    times
        A :class:`~gridplan.routing.presence.TravelTimes` whose ``reach`` answers in the
        order of ``cells`` (the planner's matrices, or the checker's own travel times).
    slice_start, slice_end
        The slice.

    Returns
    -------
    Presence
    """
    visited = {p.micro_id for r in routes for p in r.stops if not p.target_id}
    total = float(sum(c.score for c in cells))
    covered = float(sum(c.score for c in cells if c.micro_id in visited))
    waiting: dict[str, float] = {}
    for r in routes:
        waiting[r.patroller_id] = waiting.get(r.patroller_id, 0.0) + waiting_s(r, times) / 60
    dwell_min: dict[str, float] = {}
    for r in routes:
        for p in r.stops:
            if not p.target_id:  # a key target's time is not presence in a micro-grid
                dwell_min[p.micro_id] = dwell_min.get(p.micro_id, 0.0) + p.dwell_s / 60
    all_min = sum(dwell_min.values())
    top = {
        c.micro_id: TopPresence(
            minutes=dwell_min.get(c.micro_id, 0.0),
            share_of_presence=dwell_min.get(c.micro_id, 0.0) / all_min if all_min else 0.0,
            share_of_risk=c.score / total if total > 0 else 0.0,
        )
        for c in cells
        if c.risk_class == "top"
    }
    coverage = response_coverage(
        routes,
        [c.incidents for c in cells],
        times,
        slice_start=slice_start,
        slice_end=slice_end,
    )
    return Presence(
        risk_covered=covered / total if total > 0 else 0.0,
        risk_total=total,
        response_coverage=coverage,
        waiting_min=round(sum(waiting.values()), 3),
        waiting_by_patroller=_freeze({k: round(v, 3) for k, v in waiting.items()}),
        top_presence=_freeze(top),
    )


class _MatrixTimes:
    """Travel times of a slice problem's matrices (by each route's profile and speed)."""

    def __init__(self, problem: PatrolProblem, cells: tuple[CellRisk, ...]):
        self.index = {p: i for i, p in enumerate(problem.places)}
        self.cols = np.array([self.index[c.micro_id] for c in cells], dtype=np.int64)
        self.matrices = {(m.profile, float(m.speed_kph)): m for m in problem.matrices}

    def _seconds(self, route: PatrolRoute) -> np.ndarray:
        return self.matrices[(route.duty.profile, float(route.duty.speed_kph))].seconds

    def leg(self, route: PatrolRoute, a: Place, b: Place) -> float | None:
        sec = self._seconds(route)[self.index[a.id], self.index[b.id]]
        return None if sec == UNREACHABLE else float(sec)

    def reach(self, route: PatrolRoute, a: Place) -> np.ndarray:
        row = self._seconds(route)[self.index[a.id], self.cols].astype(float)
        row[row == UNREACHABLE] = np.inf
        return row


def _cells(problem: PatrolProblem) -> tuple[CellRisk, ...]:
    """Return the micro-grids with risk or incidents and where each profile reaches them."""
    out = []
    for s in problem.stops:
        if s.score <= 0 and s.incidents <= 0:
            continue
        i = problem.places.index(s.id)
        access = {}
        for m, lonlat in zip(problem.matrices, problem.place_lonlat, strict=False):
            node = None if m.nodes is None else int(m.nodes[i])
            access[m.profile] = (node, float(lonlat[i, 0]), float(lonlat[i, 1]))
        out.append(CellRisk(s.id, float(s.score), int(s.incidents), s.risk_class, _freeze(access)))
    return tuple(out)


def _metrics(
    problem: PatrolProblem,
    model: PrizeVRP,
    solution: PrizeVRPSolution,
    routes: tuple[PatrolRoute, ...],
    workload: dict[str, Workload],
    cells: tuple[CellRisk, ...],
) -> tuple[SliceMetrics, tuple[DroppedStop, ...]]:
    """Return the slice's metrics and the stops with risk no route visits, with why."""
    visits_at: dict[str, list[tuple[float, int]]] = {}
    for r in routes:
        for p in r.stops:
            if p.target_id:  # key targets: the plan check's target rules
                continue
            arrival = seconds_between(problem.start, p.arrival)
            visits_at.setdefault(p.micro_id, []).append((arrival, p.dwell_s))
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
        if (s.score > 0 or s.alert_visits) and s.id not in visits_at
    )
    not_visited = {d.micro_id: d.reason for d in dropped if d.risk_class == "top"}
    seen = _measure(problem, routes, cells)
    workload = {
        pid: dataclasses.replace(w, waiting_min=seen.waiting_by_patroller.get(pid, 0.0))
        for pid, w in workload.items()
    }
    metrics = SliceMetrics(
        risk_covered=seen.risk_covered,
        top_dwell_min=_freeze(dwell),
        top_longest_gap_min=_freeze(gaps),
        longest_top_gap_min=max(gaps.values()) if gaps else None,
        base_visited=_freeze(base_visited),
        cover_violations=violations,
        workload=_freeze(workload),
        top_not_visited=_freeze(not_visited),
        response_coverage=seen.response_coverage,
        waiting_min=seen.waiting_min,
        top_presence=seen.top_presence,
        risk_total=seen.risk_total,
        prize=int(sum(p.prize for r in routes for p in r.stops)),
    )
    return metrics, dropped


def _pin_bonus(problem: PatrolProblem, node: int) -> int:
    """Return the part of a node's prize that makes a pin or an alert's minimum hard to drop."""
    ref = problem.nodes[node]
    stop = problem.stop(ref.place)
    pinned = stop.pinned and ref.copy == 0
    alert = stop.alert is not None and ref.copy < stop.alert_visits
    return PIN_PRIZE * (int(pinned) + int(alert))


def _measure(
    problem: PatrolProblem, routes: tuple[PatrolRoute, ...], cells: tuple[CellRisk, ...]
) -> Presence:
    """Measure the routes on the problem's own travel matrices."""
    return measure_presence(
        routes,
        cells,
        _MatrixTimes(problem, cells),
        slice_start=problem.start,
        slice_end=_clock(problem)(problem.horizon_s),
    )
