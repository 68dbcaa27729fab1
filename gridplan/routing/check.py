"""An independent checker for patrol plans: re-verify every constraint from the plan itself.

:func:`check_plan` trusts nothing the solver computed. It re-times every leg of every route on
the street network with networkx's own Dijkstra (the planner uses ``scipy.sparse.csgraph``
matrices), or with geodesic distances x the detour factor for a plan made without a network,
and checks each promise the plan makes:

========== ===========================================================================
code       what is checked
========== ===========================================================================
network    the plan was made on this network (fingerprint) and its nodes are in it
travel     every leg leaves enough time to walk or ride it (1 s of rounding allowed)
dwell      departure = arrival + dwell, and the dwell is within the policy's bounds
order      stops numbered 1..n in time order, times inside the route
window     each route starts and ends inside the patroller's availability and the slice
duration   a route's length within its limit; reported duration = end - start
duty       a patroller's minutes on duty over the day within the roster's limit
break      no stretch on duty longer than the roster's break rule allows
overlap    one patroller never on two routes at once
home_base  volunteers stay in their home base grids
revisit    visits per micro-grid per slice within the policy, far enough apart (an alert's
           shorter gap and extra visits on its micro-grids)
dosage     minutes of presence per micro-grid per day within the cap (the visits of an
           alert's minimum presence not counted; less the minutes tracks found it got that
           day, for a plan made with feedback)
alert      each red/yellow alert micro-grid gets the alert's minimum presence in every slice
           the alert overlaps (a warning when nobody on duty could reach it, with why)
path       the street path starts and ends at the right places and passes every stop
distance   the reported distance matches the re-timed legs (5 % + 20 m)
metrics    base-grid coverage and workload agree with the routes; risk covered, response
           coverage (re-timed minute by minute), waiting, top-spot presence and prize too
cover      (warning) a base grid no route visits although someone was on duty
grid       (with a grid) stops name existing micro-grids of the right base grid
target     a key road section or timed target is served inside its window and for its time
           (walk and dwell), and (warning) a target with value not served, with why
========== ===========================================================================

Errors make a plan invalid (``gridplan plan check`` exits 1); warnings are reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import shapely

from gridplan._errors import InfeasiblePlanError
from gridplan._errors import InputError
from gridplan.network.graphs import StreetNetwork
from gridplan.network.matrix import DETOUR_FACTOR
from gridplan.routing.alerts import Alert
from gridplan.routing.alerts import AlertEffect
from gridplan.routing.alerts import alert_effects
from gridplan.routing.plan import PatrolPlan
from gridplan.routing.plan import PatrolRoute
from gridplan.routing.plan import measure_presence
from gridplan.routing.plan import seconds_between
from gridplan.routing.presence import RESPONSE_S
from gridplan.routing.presence import Place
from gridplan.routing.targets import WALK_SPEED_KPH
from gridplan.routing.targets import Target
from gridplan.routing.targets import window_in_slice

#: Seconds of rounding allowed per leg (the planner's matrices hold whole seconds).
LEG_TOLERANCE_S = 1.0

#: How far (m) a stop or a start/end place may be from the route's street path.
PATH_TOLERANCE_M = 2.0

#: Slack on re-computed shares (risk covered, presence; response coverage gets
#: :data:`COVERAGE_TOLERANCE`: travel times re-timed here may differ by a second per leg).
SHARE_TOLERANCE = 1e-6
COVERAGE_TOLERANCE = 0.01
#: Relative and absolute (minutes) slack on the waiting minutes of a slice.
WAITING_TOLERANCE = (0.02, 1.0)

#: Relative and absolute slack on the reported distance of a route.
DISTANCE_TOLERANCE = (0.05, 20.0)

SEVERITIES = ("error", "warning")

_GEOD = pyproj.Geod(ellps="WGS84")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem found in a plan.

    Attributes
    ----------
    code
        What kind of check failed (see the module docs).
    severity
        ``error`` (the plan breaks a constraint) or ``warning``.
    slice_id, patroller_id
        Where, when it applies.
    message
        What is wrong, with the figures.
    """

    code: str
    severity: str
    slice_id: str | None
    patroller_id: str | None
    message: str

    def to_text(self) -> str:
        """One line: severity, place and message."""
        where = "/".join(x for x in (self.slice_id, self.patroller_id) if x)
        return (
            f"{self.severity.upper()} [{self.code}] {where + ': ' if where else ''}{self.message}"
        )


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """Everything :func:`check_plan` found, and how much it looked at.

    Attributes
    ----------
    findings
        Errors and warnings in plan order.
    routes, stops, legs
        How many routes (deployed), stops and legs were checked.
    method
        ``network`` (legs re-timed on the street graph) or ``straight_line``.

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
    >>> report = gp.check_plan(plan)
    >>> report.ok, report.method, len(report.errors)
    (True, 'straight_line', 0)
    >>> print(report.to_text())
    OK: 2 routes, ... stops, ... legs re-timed (straight_line); 0 errors, 0 warnings
    """

    findings: tuple[Finding, ...]
    routes: int
    stops: int
    legs: int
    method: str

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Findings with severity ``error``."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Findings with severity ``warning``."""
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        """Whether the plan keeps every constraint (warnings allowed)."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`~gridplan.InfeasiblePlanError` (holding this report) if there are errors.

        For pipelines that must not hand out a plan breaking a hard constraint, as
        :meth:`gridplan.ValidationReport.raise_for_errors` is for grids.
        """
        if self.ok:
            return
        errors = self.errors
        shown = "\n".join(f.to_text() for f in errors[:10])
        more = f"\n... and {len(errors) - 10} more" if len(errors) > 10 else ""
        msg = (
            f"the plan breaks {len(errors)} hard constraint(s):\n{shown}{more}\nplan the day "
            "again, or correct the plan file and check it again"
        )
        raise InfeasiblePlanError(msg, report=self)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "ok": self.ok,
            "method": self.method,
            "routes": self.routes,
            "stops": self.stops,
            "legs": self.legs,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [dataclasses.asdict(f) for f in self.findings],
        }

    def to_text(self) -> str:
        """Return a human-readable report, findings first."""
        head = (
            f"{'OK' if self.ok else 'INVALID'}: {self.routes} routes, {self.stops} stops, "
            f"{self.legs} legs re-timed ({self.method}); {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings"
        )
        return "\n".join([*(f.to_text() for f in self.findings), head])


class _Findings:
    def __init__(self):
        self.items: list[Finding] = []

    def error(self, code, message, slice_id=None, patroller_id=None):
        self.items.append(Finding(code, "error", slice_id, patroller_id, message))

    def warn(self, code, message, slice_id=None, patroller_id=None):
        self.items.append(Finding(code, "warning", slice_id, patroller_id, message))


def _hhmm(t: dt.datetime) -> str:
    return t.strftime("%H:%M:%S")


class _LegTimer:
    """Seconds and metres of the fastest leg between two places, computed afresh."""

    def __init__(self, network: StreetNetwork | None, detour_factor: float):
        self.network = network
        self.detour = detour_factor
        self._cache: dict[tuple, tuple[float, float] | None] = {}

    def _weight(self, profile: str, speed_kph: float):
        cap = profile == "ride"

        def seconds(u, v, keydict):
            best = math.inf
            for d in keydict.values():
                speed = speed_kph
                if cap and d.get("maxspeed_kph") is not None and np.isfinite(d["maxspeed_kph"]):
                    speed = min(speed, float(d["maxspeed_kph"]))
                best = min(best, float(d["length"]) / (speed / 3.6))
            return best

        return seconds

    def network_leg(self, profile: str, speed_kph: float, a: int, b: int):
        key = (profile, speed_kph, a, b)
        if key not in self._cache:
            G = self.network.graph(profile)
            weight = self._weight(profile, speed_kph)
            if a == b:
                self._cache[key] = (0.0, 0.0)
            else:
                try:
                    secs, path = nx.bidirectional_dijkstra(G, a, b, weight=weight)
                except nx.NetworkXNoPath:
                    self._cache[key] = None
                else:
                    metres = 0.0
                    for u, v in itertools.pairwise(path):
                        edges = G[u][v].values()
                        metres += float(min(edges, key=lambda d: weight(u, v, {0: d}))["length"])
                    self._cache[key] = (float(secs), metres)
        return self._cache[key]

    def straight_leg(self, speed_kph: float, a: tuple[float, float], b: tuple[float, float]):
        _, _, metres = _GEOD.inv(a[0], a[1], b[0], b[1])
        metres = float(metres) * self.detour
        return metres / (speed_kph / 3.6), metres


def _places(route: PatrolRoute) -> list[tuple[str, int | None, tuple[float, float] | None]]:
    d = route.duty
    out = [(route.start_place, d.start_node, d.start_lonlat)]
    out += [(_label(p), p.street_node, (p.lon, p.lat)) for p in route.stops]
    if route.continues:  # the outing goes on from the last stop in the next slice
        return out
    out.append((route.end_place, d.end_node, d.end_lonlat))
    return out


def _exits(route: PatrolRoute) -> list[tuple[str, int | None, tuple[float, float] | None]]:
    """Where each place of :func:`_places` is left: a line target's end, else the place."""
    out = _places(route)
    for i, p in enumerate(route.stops, start=1):
        if p.kind == "line":
            out[i] = (_label(p), p.end_street_node, p.end_lonlat)
    return out


def _label(p) -> str:
    return f"{p.name} ({p.target_id})" if p.target_id else p.micro_id


def _off_network(route: PatrolRoute, G) -> list[tuple[str, int | None]]:
    """Return the route's places (entered and left) whose street node ``G`` lacks."""
    return [
        (place, node)
        for place, node, _ in _places(route) + _exits(route)
        if node is None or node not in G
    ]


def _metric(network: StreetNetwork | None, lonlat: np.ndarray):
    """Return a metric CRS for distances between EPSG:4326 points of the plan."""
    if network is not None:
        return network.crs
    pts = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=4326)
    return pts.estimate_utm_crs()


def _check_route(
    r: PatrolRoute, slice_start, slice_end, policy, timer, method, to_metric, out: _Findings
) -> tuple[int, int]:
    """Check one deployed route; return (stops, legs) checked."""
    _check_times(r, slice_start, slice_end, out)
    _check_stops(r, policy, out)
    if timer is None:  # not on this network: nothing to re-time the legs with
        return len(r.stops), 0
    places = _places(r)
    legs = _check_legs(r, places, timer, method, out, policy.wait_max_min * 60)
    _check_path(r, places, to_metric, out)
    return len(r.stops), legs


def _check_times(r: PatrolRoute, slice_start, slice_end, out: _Findings) -> None:
    """Check a route's times and order: within its window and the slice, its duration."""
    sid, pid, d = r.slice_id, r.patroller_id, r.duty
    if seconds_between(d.window_start, r.start) < 0 or seconds_between(r.end, d.window_end) < 0:
        out.error(
            "window",
            f"route {_hhmm(r.start)}-{_hhmm(r.end)} is outside the availability "
            f"{_hhmm(d.window_start)}-{_hhmm(d.window_end)}",
            sid,
            pid,
        )
    # an outing that goes on past the slice may end after it; its stops start inside it
    goes_on = seconds_between(slice_end, d.window_end) > 0
    late = [p for p in r.stops if seconds_between(p.arrival, slice_end) <= 0]
    ends_late = seconds_between(r.end, slice_end) < 0 and not goes_on
    if seconds_between(slice_start, r.start) < 0 or ends_late or late:
        out.error(
            "window",
            f"route {_hhmm(r.start)}-{_hhmm(r.end)} runs outside the slice "
            f"{_hhmm(slice_start)}-{_hhmm(slice_end)}",
            sid,
            pid,
        )
    length = seconds_between(r.start, r.end)
    if length < 0:
        out.error(
            "duration", f"ends at {_hhmm(r.end)} before it starts at {_hhmm(r.start)}", sid, pid
        )
    if abs(length - r.duration_s) > 1:
        out.error("duration", f"reports {r.duration_s} s but runs {length:.0f} s", sid, pid)
    if length > d.max_duration_s:
        out.error(
            "duration",
            f"runs {length / 60:.1f} min, more than its limit of {d.max_duration_s / 60:.1f} min",
            sid,
            pid,
        )
    if [p.order for p in r.stops] != list(range(1, len(r.stops) + 1)):
        out.error("order", f"stops are numbered {[p.order for p in r.stops]}, not 1..n", sid, pid)


def _check_stops(r: PatrolRoute, policy, out: _Findings) -> None:
    """Check each stop's dwell (its times and the policy's bounds) and home base."""
    sid, pid, d = r.slice_id, r.patroller_id, r.duty
    lo, hi = policy.dwell_bounds_min
    for p in r.stops:
        if p.target_id:  # a target's own dwell and walk: _check_targets
            continue
        dwell = seconds_between(p.arrival, p.departure)
        if abs(dwell - p.dwell_s) > 0.5:
            out.error(
                "dwell",
                f"stop {p.order} {p.micro_id}: {_hhmm(p.arrival)}-{_hhmm(p.departure)} is "
                f"{dwell:.0f} s, but the dwell is {p.dwell_s} s",
                sid,
                pid,
            )
        if not lo * 60 <= p.dwell_s <= hi * 60:
            out.error(
                "dwell",
                f"stop {p.order} {p.micro_id}: dwell {p.dwell_s / 60:g} min is outside the "
                f"policy's {lo}-{hi} min",
                sid,
                pid,
            )
        if d.home_bases and p.base_id not in d.home_bases:
            out.error(
                "home_base",
                f"stop {p.order} {p.micro_id} is in base grid {p.base_id}, outside the home "
                f"bases {', '.join(d.home_bases)}",
                sid,
                pid,
            )


def _check_legs(
    r: PatrolRoute, places, timer, method, out: _Findings, wait_max_s: int | None = None
) -> int:
    """Re-time every leg (enough time, no long wait?) and re-measure the route; return legs."""
    sid, pid, d = r.slice_id, r.patroller_id, r.duty
    departs = [r.start] + [p.departure for p in r.stops]
    arrives = [p.arrival for p in r.stops] + ([] if r.continues else [r.end])
    metres_total = sum(p.walk_m for p in r.stops if p.kind == "line")
    legs = 0
    exits = _exits(r)
    for i, ((a_id, a_node, a_xy), (b_id, b_node, b_xy)) in enumerate(
        zip(exits[:-1], places[1:], strict=True)
    ):
        legs += 1
        if method == "network":
            leg = timer.network_leg(d.profile, d.speed_kph, a_node, b_node)
            if leg is None:
                out.error("travel", f"no {d.profile} path from {a_id} to {b_id}", sid, pid)
                continue
        else:
            leg = timer.straight_leg(d.speed_kph, a_xy, b_xy)
        secs, metres = leg
        metres_total += metres
        gap = seconds_between(departs[i], arrives[i])
        if gap + LEG_TOLERANCE_S < secs:
            out.error(
                "travel",
                f"leg {i + 1} {a_id} -> {b_id}: {gap:.0f} s planned, but it takes "
                f"{secs:.0f} s to {'walk' if d.profile == 'walk' else 'ride'} at "
                f"{d.speed_kph:g} km/h",
                sid,
                pid,
            )
        elif wait_max_s is not None and i > 0 and gap - secs > wait_max_s + LEG_TOLERANCE_S:
            out.error(
                "wait",
                f"leg {i + 1} {a_id} -> {b_id}: waits {(gap - secs) / 60:.0f} min on the way, "
                f"more than the policy's {wait_max_s // 60} min (a patrol, not a post)",
                sid,
                pid,
            )
    rel, absolute = DISTANCE_TOLERANCE
    if abs(metres_total - r.distance_m) > rel * metres_total + absolute:
        out.error(
            "distance",
            f"reports {r.distance_m:.0f} m, the legs re-timed measure {metres_total:.0f} m",
            sid,
            pid,
        )
    return legs


def _check_path(r: PatrolRoute, places, to_metric, out: _Findings) -> None:
    """Check that the drawn street path starts and ends at the route's ends and passes its stops."""
    sid, pid = r.slice_id, r.patroller_id
    path = gpd.GeoSeries([r.path], crs=4326).to_crs(to_metric).iloc[0]
    xy = np.array([xy for _, _, xy in places], dtype=float)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326).to_crs(to_metric)
    ends = shapely.get_coordinates(path)[[0, -1]]
    if np.hypot(*(ends[0] - shapely.get_coordinates(pts.iloc[0])[0])) > PATH_TOLERANCE_M:
        out.error("path", f"the street path does not start at {r.start_place}", sid, pid)
    # where the route is left: a line target's end when an outing goes on from one
    last = gpd.GeoSeries(gpd.points_from_xy(*np.array([_exits(r)[-1][2]]).T), crs=4326)
    last = shapely.get_coordinates(last.to_crs(to_metric).iloc[0])[0]
    if np.hypot(*(ends[1] - last)) > PATH_TOLERANCE_M:
        out.error("path", f"the street path does not end at {r.end_place}", sid, pid)
    far = pts.iloc[1:-1].distance(path).to_numpy() > PATH_TOLERANCE_M
    for p in itertools.compress(r.stops, far):
        out.error("path", f"the street path misses stop {p.order} {p.micro_id}", sid, pid)


def _check_network(plan: PatrolPlan, network: StreetNetwork | None, out: _Findings) -> str:
    info = plan.settings.get("network")
    if info is None:
        if network is not None:
            out.warn(
                "network",
                "the plan was made with straight-line travel times (no street network); legs "
                "are re-timed the same way and the network given is not used",
            )
        return "straight_line"
    if network is None:
        msg = (
            "the plan was made on a street network (fingerprint "
            f"{info.get('fingerprint')}, from {info.get('source')}); pass that network "
            "(gridplan plan check PLAN --network PATH) to re-time its legs"
        )
        raise InputError(msg)
    if info.get("fingerprint") != network.fingerprint:
        out.error(
            "network",
            f"the plan was made on network {info.get('fingerprint')} ({info.get('source')}), "
            f"not on this one ({network.fingerprint}, {network.source}); check it against the "
            "network it was planned on",
        )
    return "network"


def check_plan(
    plan: PatrolPlan,
    network: StreetNetwork | None = None,
    *,
    grid: gpd.GeoDataFrame | None = None,
) -> CheckReport:
    """Re-verify every constraint of ``plan`` from the plan itself and the street network.

    Parameters
    ----------
    plan
        A plan from :func:`~gridplan.routing.planner.plan_patrols` or
        :func:`~gridplan.io.planfile.load_plan`.
    network
        The street network the plan was made on (required when it was made on one; its
        fingerprint must match). Ignored for a straight-line plan.
    grid
        Optional GRID frame: stops must name its micro-grids, in the base grids they say.

    Returns
    -------
    CheckReport
        ``report.ok`` is ``False`` when any constraint is broken.

    Raises
    ------
    InputError
        When the plan was made on a network and none is given, or a route lacks the duty
        record needed to check it (a plan file from an older gridplan).

    Examples
    --------
    >>> report = check_plan(load_plan("day.plan.json"), load_network("net.gpkg"))  # doctest: +SKIP
    >>> report.ok, len(report.warnings)  # doctest: +SKIP
    (True, 0)
    """
    out = _Findings()
    method = _check_network(plan, network, out)
    mismatch = any(f.code == "network" and f.severity == "error" for f in out.items)
    detour = plan.settings.get("detour_factor") or DETOUR_FACTOR
    timer = _LegTimer(network if method == "network" else None, float(detour))
    policy = plan.policy

    lonlat = [(p.lon, p.lat) for s in plan.slices for r in s.routes for p in r.stops] or [
        (0.0, 0.0)
    ]
    to_metric = _metric(network if method == "network" else None, np.array(lonlat))

    n_routes = n_stops = n_legs = 0
    duty_min: dict[str, float] = defaultdict(float)
    duty_limit: dict[str, int] = {}
    rules: dict[str, tuple[int, int]] = {}
    spans: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = defaultdict(list)
    dosage: dict[str, float] = defaultdict(float)
    alerts = _plan_alerts(plan)
    chains: dict[tuple, list[PatrolRoute]] = defaultdict(list)
    for s in plan.slices:
        visits: dict[str, list] = defaultdict(list)
        for r in s.routes:
            if r.duty is None:
                msg = (
                    f"slice {s.slice_id}, route of {r.patroller_id}: no duty record (window, "
                    "limits, nodes); the plan file is from an older gridplan: plan again"
                )
                raise InputError(msg)
            if r.deployed or r.carried:
                chains[(r.patroller_id, r.outing or (s.slice_id, r.part))].append(r)
            if not r.deployed:
                continue
            retime = not (method == "network" and mismatch)
            if method == "network" and retime:
                G = network.graph(r.duty.profile)
                missing = _off_network(r, G)
                if missing:
                    shown = ", ".join(f"{p} (node {n})" for p, n in missing[:3])
                    out.error(
                        "network",
                        f"places not on the {r.duty.profile} network: {shown}",
                        s.slice_id,
                        r.patroller_id,
                    )
                    retime = False
            n_routes += 1
            stops, legs = _check_route(
                r, s.start, s.end, policy, timer if retime else None, method, to_metric, out
            )
            n_stops += stops
            n_legs += legs
            duty_min[r.patroller_id] += seconds_between(r.start, r.end) / 60
            duty_limit[r.patroller_id] = r.duty.max_duty_min
            rules[r.patroller_id] = (r.duty.break_after_min, r.duty.break_min)
            spans[r.patroller_id].append((r.start, r.end, s.slice_id))
            for p in r.stops:
                if p.target_id:  # not micro-grid visits: _check_targets
                    continue
                visits[p.micro_id].append((p.arrival, p, r.patroller_id))
                dosage[p.micro_id] += p.dwell_s / 60
        _check_slice(s, visits, plan, alerts, dosage, out)
        if not mismatch:
            _check_presence(s, _CheckTimes(timer, method, s.cells), out)
    _check_duty(duty_min, duty_limit, spans, rules, out)
    for routes in chains.values():
        _check_outing(routes, policy, out)
    _check_dosage_shares(plan, dosage, policy, out)
    if grid is not None:
        _check_grid(plan, grid, out)
    _check_targets(plan, out)
    return CheckReport(
        findings=tuple(out.items), routes=n_routes, stops=n_stops, legs=n_legs, method=method
    )


def _check_duty(
    duty_min: Mapping[str, float],
    duty_limit: Mapping[str, int],
    spans: Mapping[str, list],
    rules: Mapping[str, tuple[int, int]],
    out: _Findings,
) -> None:
    """Check each patroller's day: the duty limit, routes that overlap, the break rule."""
    for pid, minutes in duty_min.items():
        if minutes > duty_limit[pid] + 1 / 60:
            out.error(
                "duty",
                f"on duty {minutes:.0f} min over the day, more than the roster's limit of "
                f"{duty_limit[pid]} min",
                None,
                pid,
            )
    for pid, items in spans.items():
        items.sort(key=lambda x: x[0].astimezone(dt.UTC))
        for (_a0, a1, sa), (b0, _b1, sb) in itertools.pairwise(items):
            if seconds_between(a1, b0) < 0:
                out.error(
                    "overlap",
                    f"route in {sb} starts at {_hhmm(b0)} before the route in {sa} ends at "
                    f"{_hhmm(a1)}",
                    None,
                    pid,
                )
    for pid, items in spans.items():
        _check_breaks(pid, items, rules.get(pid, (0, 0)), out)


def _check_outing(routes: list[PatrolRoute], policy, out: _Findings) -> None:
    """One outing (its routes over the slices): long enough, and no stay over a stop's dwell.

    An outing shorter than the policy's ``outing_min_min`` is an error unless the
    availability it had was shorter; two stops in a row at one micro-grid are a post, not a
    patrol.
    """
    routes = sorted(routes, key=lambda r: r.start.astimezone(dt.UTC))
    first, last = routes[0], routes[-1]
    pid, sid = first.patroller_id, first.slice_id
    stops = [p for r in routes for p in r.stops]
    if not stops:
        return
    length = seconds_between(first.start, last.end) / 60
    available = seconds_between(first.duty.window_start, max(r.duty.window_end for r in routes))
    least = policy.outing_min_min
    if available / 60 <= least or first.duty.max_duty_min <= least:  # it could not be longer
        least = 0
    if length < least - 1:
        out.error(
            "outing",
            f"outing {_hhmm(first.start)}-{_hhmm(last.end)} lasts {length:.0f} min, less than "
            f"the policy's {policy.outing_min_min} min although {available / 60:.0f} min were "
            "available",
            sid,
            pid,
        )
    for a, b in itertools.pairwise(stops):
        # the same micro-grid next without leaving it long: a post, not a patrol
        if (
            a.micro_id
            and a.micro_id == b.micro_id
            and seconds_between(a.departure, b.arrival) < (policy.revisit_gap_min * 60)
        ):
            stay = seconds_between(a.arrival, b.departure) / 60
            out.error(
                "stay",
                f"stays in {a.micro_id} {_hhmm(a.arrival)}-{_hhmm(b.departure)} ({stay:.0f} min, "
                f"two stops in a row), more than a stop's {policy.dwell_bounds_min[1]} min",
                sid,
                pid,
            )


def _check_dosage_shares(plan: PatrolPlan, dosage: Mapping[str, float], policy, out) -> None:
    """Flag a top hot spot left without presence because other slices spent its cap.

    The daily cap is shared by risk: a micro-grid that is a top hot spot in a slice gets its
    visit there before slices where it is less risky may spend the cap. A plan made with
    feedback from tracks has each micro-grid's cap less the minutes it already got that day.
    """
    feedback = plan.feedback
    spent = {} if feedback is None else feedback.spent_today_min

    def cap_of(mid: str) -> float:
        return max(0.0, policy.dosage_cap_min - spent.get(mid, 0.0))

    for mid, minutes in sorted(dosage.items()):
        if minutes > cap_of(mid) + 1e-6:
            today = f" less the {spent[mid]:g} min it got today" if mid in spent else ""
            out.error(
                "dosage",
                f"{mid} gets {minutes:g} min of presence over the day, more than the cap of "
                f"{policy.dosage_cap_min} min{today}",
            )
    lower: dict[str, float] = defaultdict(float)  # minutes spent where it was not top
    for s in plan.slices:
        for r in s.routes:
            for p in r.stops:
                if p.risk_class != "top" and not p.target_id:
                    lower[p.micro_id] += p.dwell_s / 60
    for s in plan.slices:
        for mid, minutes in s.metrics.top_dwell_min.items():
            used = dosage.get(mid, 0.0)
            if (
                minutes == 0
                and lower[mid] > 0
                and used + policy.dwell_bounds_min[0] > (cap_of(mid) + 1e-6)
            ):
                out.error(
                    "dosage_share",
                    f"{mid} is a top hot spot here but gets no presence: other slices spent "
                    f"{used:g} of its {cap_of(mid):g} min a day (the cap is shared by risk)",
                    s.slice_id,
                )


def _check_slice(s, visits, plan: PatrolPlan, alerts, dosage: dict[str, float], out) -> None:
    """Check a slice's revisits, alert minimums and metrics (the minimums leave ``dosage``)."""
    effects = alert_effects(alerts, s.start, s.end, plan.policy.alerts)
    _check_revisits(s.slice_id, visits, plan.policy, out, effects)
    for mid, minutes in _check_alert_minimums(s, visits, effects, plan, out).items():
        dosage[mid] -= minutes  # the minimum's visits are beyond the daily cap
    _check_metrics(s, visits, out)


def _check_breaks(pid: str, spans: list, rule: tuple[int, int], out: _Findings) -> None:
    """Routes less than a break apart form one stretch on duty: none may outlast the rule."""
    after_min, break_min = rule
    if not after_min or not break_min:
        return
    items = sorted(spans, key=lambda x: x[0].astimezone(dt.UTC))
    stretches = []
    start, end, where = items[0]
    for a, b, sid in items[1:]:
        if seconds_between(end, a) >= break_min * 60:
            stretches.append((start, end, where))
            start = a
        end, where = b, sid
    stretches.append((start, end, where))
    for start, end, where in stretches:
        if seconds_between(start, end) > after_min * 60 + 1:
            out.error(
                "break",
                f"on duty {_hhmm(start)}-{_hhmm(end)} ({seconds_between(start, end) / 60:.0f} "
                f"min) without a {break_min}-minute break; the roster allows {after_min} min",
                where,
                pid,
            )


def _check_revisits(
    slice_id: str,
    visits: Mapping[str, list],
    policy,
    out: _Findings,
    effects: Mapping[str, AlertEffect] | None = None,
) -> None:
    for mid, items in visits.items():
        items.sort(key=lambda x: x[0].astimezone(dt.UTC))
        top = all(p.risk_class == "top" for _, p, _ in items)
        allowed = policy.revisit_max if top else 1
        gap_min = policy.revisit_gap_min
        effect = (effects or {}).get(mid)
        if effect is not None and effect.changes_routes:
            dwell = min(p.dwell_s for _, p, _ in items) // 60
            allowed = max(policy.revisit_max, effect.visits_needed(dwell))
            if effect.revisit_gap_min is not None:
                gap_min = effect.revisit_gap_min
        gap = gap_min * 60
        if len(items) > allowed:
            out.error(
                "revisit",
                f"{mid} ({items[0][1].risk_class}) is visited {len(items)} times; the policy "
                f"allows {allowed}",
                slice_id,
            )
        for (t0, _, p0), (t1, _, p1) in itertools.pairwise(items):
            apart = seconds_between(t0, t1)
            if apart < gap:
                out.error(
                    "revisit",
                    f"{mid}: visits at {_hhmm(t0)} ({p0}) and {_hhmm(t1)} ({p1}) are "
                    f"{apart / 60:.0f} min apart, less than {gap_min} min",
                    slice_id,
                )


#: Why a micro-grid may go without its alert's minimum: nobody on duty could reach it.
_UNREACHED = (
    "no one on duty",
    "excluded by the officer",
    "not reachable from the station",
    "outside the home bases of those on duty",
    "not reachable in time",
)


def _plan_alerts(plan: PatrolPlan) -> tuple[Alert, ...]:
    """Return the alerts the plan recorded (``settings["alerts"]``)."""
    try:
        return tuple(Alert.from_dict(a) for a in plan.settings.get("alerts") or ())
    except InputError as exc:
        msg = f"the plan's settings.alerts: {exc}; plan again, or correct the plan file"
        raise InputError(msg) from None


def _check_alert_minimums(
    s, visits: Mapping[str, list], effects: Mapping[str, AlertEffect], plan, out: _Findings
) -> dict[str, float]:
    """Check each alert micro-grid's minimum presence in slice ``s``.

    Returns micro-grid -> minutes of the visits that make up the minimum (in time order, the
    first visits up to the minimum), which the daily dosage cap does not count.
    """
    exempt: dict[str, float] = {}
    dropped = {d.micro_id: d.reason for d in s.dropped}
    nobody = not any(r.deployed for r in s.routes)
    excluded = set(plan.settings.get("exclude") or ())
    for mid, effect in sorted(effects.items()):
        need = effect.min_presence_min
        if need <= 0:
            continue
        got = 0.0
        for _, p, _ in visits.get(mid, ()):  # sorted by _check_revisits
            if got >= need:
                break
            got += p.dwell_s / 60
        exempt[mid] = got
        if got + 1e-6 >= need:
            continue
        what = (
            f"{effect.level} alert {effect.alert_id}: {mid} gets {got:g} min of presence in "
            f"this slice, the alert needs {need} min"
        )
        why = (
            "no one on duty"
            if nobody
            else "excluded by the officer"
            if mid in excluded
            else dropped.get(mid)
        )
        if why in _UNREACHED:
            out.warn("alert", f"{what}: nobody on duty could reach it ({why})", s.slice_id)
        else:
            out.error("alert", f"{what}; plan again with more patrollers or time", s.slice_id)
    return exempt


def _check_metrics(s, visits: Mapping[str, list], out: _Findings) -> None:
    m = s.metrics
    visited_bases = {p.base_id for items in visits.values() for _, p, _ in items}
    for base, said in m.base_visited.items():
        if bool(said) != (base in visited_bases):
            out.error(
                "metrics",
                f"base grid {base} is reported as {'visited' if said else 'not visited'}, but "
                f"the routes {'do not visit' if said else 'visit'} it",
                s.slice_id,
            )
    on_duty = s.routes
    if on_duty:
        for base in m.base_visited:
            if base not in visited_bases:
                reported = base in m.cover_violations
                out.warn(
                    "cover",
                    f"base grid {base} is not visited although {len(on_duty)} patroller(s) on "
                    f"duty{'' if reported else ' (none of its micro-grids was left to visit)'}",
                    s.slice_id,
                )
    made: dict[str, int] = defaultdict(int)
    for r in s.routes:  # a break rule gives a patroller several routes in a slice
        made[r.patroller_id] += len(r.stops)
    for pid, n in made.items():
        w = m.workload.get(pid)
        if w is not None and w.stops != n:
            out.error(
                "metrics", f"workload says {w.stops} stops, the routes have {n}", s.slice_id, pid
            )


class _CheckTimes:
    """The checker's own travel times for the metrics: networkx Dijkstra, or straight lines."""

    def __init__(self, timer: _LegTimer, method: str, cells):
        self.timer, self.method, self.cells = timer, method, cells
        self._rows: dict[tuple, np.ndarray] = {}

    def leg(self, route: PatrolRoute, a: Place, b: Place) -> float | None:
        d = route.duty
        if self.method != "network":
            return self.timer.straight_leg(d.speed_kph, a.lonlat, b.lonlat)[0]
        try:
            got = self.timer.network_leg(d.profile, d.speed_kph, a.node, b.node)
        except (nx.NodeNotFound, KeyError):
            return None
        return None if got is None else got[0]

    def reach(self, route: PatrolRoute, a: Place) -> np.ndarray:
        d = route.duty
        key = (d.profile, d.speed_kph, a.node if self.method == "network" else a.lonlat)
        if key not in self._rows:
            # whole seconds, as the planner's travel matrices: a cell exactly 8 minutes away
            # is in reach on both sides (the lattice has many at 480.1 s)
            self._rows[key] = np.rint(self._row(d.profile, d.speed_kph, a))
        return self._rows[key]

    def _row(self, profile: str, speed_kph: float, a: Place) -> np.ndarray:
        access = [c.access.get(profile) for c in self.cells]
        row = np.full(len(access), np.inf)
        if self.method == "network":
            G = self.timer.network.graph(profile)
            if a.node is None or a.node not in G:
                return row
            weight = self.timer._weight(profile, speed_kph)
            dist = nx.single_source_dijkstra_path_length(
                G, a.node, cutoff=RESPONSE_S + 1, weight=weight
            )
            for i, acc in enumerate(access):
                if acc is not None and acc[0] in dist:
                    row[i] = dist[acc[0]]
            return row
        for i, acc in enumerate(access):
            if acc is not None and a.lonlat is not None:
                row[i] = self.timer.straight_leg(speed_kph, a.lonlat, acc[1:])[0]
        return row


def _check_presence(s, times: _CheckTimes | None, out: _Findings) -> None:
    """Re-measure the slice's presence metrics from its routes; flag any that disagree.

    ``times`` is ``None`` when the plan is not on this network (nothing to re-time with).
    """
    if times is None:
        return
    m = s.metrics
    if not s.cells:
        if s.routes:
            out.warn(
                "metrics",
                "the plan has no cell records (written by an older gridplan): its response "
                "coverage, waiting and top-spot presence are not re-checked; plan again",
                s.slice_id,
            )
        return
    seen = measure_presence(s.routes, s.cells, times, slice_start=s.start, slice_end=s.end)

    def differs(what: str, said, found, tol: float) -> None:
        if said is None or found is None:
            bad = (said is None) != (found is None)
        else:
            bad = abs(said - found) > tol
        if bad:
            shown = [("-" if v is None else f"{v:.4g}") for v in (said, found)]
            out.error(
                "metrics",
                f"{what} is reported as {shown[0]}, but the routes give {shown[1]}",
                s.slice_id,
            )

    differs("risk covered", m.risk_covered, seen.risk_covered, SHARE_TOLERANCE)
    differs("response coverage", m.response_coverage, seen.response_coverage, COVERAGE_TOLERANCE)
    rel, absolute = WAITING_TOLERANCE
    differs("waiting (min)", m.waiting_min, seen.waiting_min, rel * seen.waiting_min + absolute)
    differs("prize", m.prize, sum(p.prize for r in s.routes for p in r.stops), 0)
    if set(m.top_presence) != set(seen.top_presence):
        out.error(
            "metrics",
            f"top presence is reported for {sorted(m.top_presence)}, the top hot spots are "
            f"{sorted(seen.top_presence)}",
            s.slice_id,
        )
        return
    for mid, t in seen.top_presence.items():
        said = m.top_presence[mid]
        differs(f"{mid} minutes of presence", said.minutes, t.minutes, 1e-3)
        for key in ("share_of_presence", "share_of_risk"):
            differs(f"{mid} {key}", getattr(said, key), getattr(t, key), SHARE_TOLERANCE)


def _check_grid(plan: PatrolPlan, grid: gpd.GeoDataFrame, out: _Findings) -> None:
    from gridplan.geo.grid import micro_grids

    micro = micro_grids(grid)
    parent = dict(zip(micro["id"].astype(str), micro["parent_id"].astype(str), strict=True))
    for s in plan.slices:
        for r in s.routes:
            for p in r.stops:
                if p.target_id:
                    continue  # a key target is no micro-grid
                if p.micro_id not in parent:
                    out.error(
                        "grid",
                        f"stop {p.order} names micro-grid {p.micro_id}, which the grid lacks",
                        s.slice_id,
                        r.patroller_id,
                    )
                elif parent[p.micro_id] != p.base_id:
                    out.error(
                        "grid",
                        f"stop {p.order} {p.micro_id} says base grid {p.base_id}, the grid says "
                        f"{parent[p.micro_id]}",
                        s.slice_id,
                        r.patroller_id,
                    )


def _plan_targets(plan: PatrolPlan, out: _Findings) -> dict[str, Target]:
    """Return the targets the plan was asked for (its settings), by id."""
    targets = {}
    for raw in plan.settings.get("targets") or ():
        try:
            t = Target.from_dict(raw)
        except InputError as exc:
            out.error("target", f"the plan's target {raw.get('id')!r} is invalid: {exc}")
            continue
        targets[t.id] = t
    return targets


def target_windows(
    target: Target, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Return the windows of ``target`` that overlap ``start``-``end`` (tz-aware), unclipped.

    Computed from the target's windows and the station's wall clock, not from the planner.
    """
    out = []
    tz = start.tzinfo
    for offset in (-1, 0, 1, 2):
        day = start.date() + dt.timedelta(days=offset)
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
        for a, b in target.windows_on(day.weekday()):
            lo, hi = midnight + dt.timedelta(minutes=a), midnight + dt.timedelta(minutes=b)
            if seconds_between(lo, end) > 0 and seconds_between(start, hi) > 0:
                out.append((lo, hi))
    return sorted(set(out), key=lambda w: w[0].astimezone(dt.UTC))


def _check_targets(plan: PatrolPlan, out: _Findings) -> None:
    """Each served target inside a window and for its time; valued ones not served, why."""
    targets = _plan_targets(plan, out)
    for s in plan.slices:
        served: dict[str, list] = defaultdict(list)
        for r in s.routes:
            for p in r.stops:
                if not p.target_id:
                    continue
                t = targets.get(p.target_id)
                if t is None:
                    msg = f"stop {p.order} serves target {p.target_id!r}, which the plan lacks"
                    out.error("target", msg, s.slice_id, r.patroller_id)
                    continue
                served[t.id].append(p)
                _check_target_stop(t, p, r, s, out)
        for t in targets.values():
            _check_unserved(t, s, served.get(t.id, []), out)


def _check_target_stop(t: Target, p, r: PatrolRoute, s, out: _Findings) -> None:
    sid, pid = s.slice_id, r.patroller_id
    span = f"{_hhmm(p.arrival)}-{_hhmm(p.departure)}"
    inside = any(
        seconds_between(lo, p.arrival) >= 0 and seconds_between(p.departure, hi) >= 0
        for lo, hi in target_windows(t, s.start, s.end)
    )
    if not inside:
        msg = f"{t.name} ({t.id}) is served {span}, outside its windows {t.windows_text}"
        out.error("target", msg, sid, pid)
    walk = t.length_m / (WALK_SPEED_KPH / 3.6)
    need = walk + t.dwell_min * 60
    if seconds_between(p.arrival, p.departure) + LEG_TOLERANCE_S < need:
        msg = (
            f"{t.name} ({t.id}) is served {span}, less than the {need / 60:.1f} min it takes "
            f"({walk / 60:.1f} min walk + {t.dwell_min} min)"
        )
        out.error("target", msg, sid, pid)
    if not t.mode_allows(r.mode):
        msg = f"{t.name} ({t.id}) is served by a {r.mode} patrol; it allows {', '.join(t.modes)}"
        out.error("target", msg, sid, pid)


def _check_unserved(t: Target, s, served: list, out: _Findings) -> None:
    if t.value <= 0:
        return
    for lo, hi in target_windows(t, s.start, s.end):
        # seconds from the slice start: served in this slice, or left to the one before?
        part = window_in_slice(
            seconds_between(s.start, lo),
            seconds_between(s.start, hi),
            0.0,
            seconds_between(s.start, s.end),
            t.service_s,
        )
        if part is None:
            continue
        t0 = s.start.astimezone(dt.UTC)
        a = (t0 + dt.timedelta(seconds=part[0])).astimezone(s.start.tzinfo)
        b = (t0 + dt.timedelta(seconds=part[1])).astimezone(s.start.tzinfo)
        if any(
            seconds_between(lo, p.arrival) >= 0 and seconds_between(p.arrival, hi) >= 0
            for p in served
        ):
            continue
        able = [
            r
            for r in s.routes
            if t.mode_allows(r.mode)
            and r.duty is not None
            and seconds_between(r.duty.window_start, b) > 0
            and seconds_between(a, r.duty.window_end) > 0
        ]
        if not s.routes:
            why = "nobody is on duty in the slice"
        elif not able:
            modes = f" of mode {', '.join(t.modes)}" if t.modes else ""
            why = f"no patroller{modes} is on duty in the window"
        else:
            why = "the routes on duty then had better value or could not reach it in time"
        out.warn(
            "target",
            f"{t.name} ({t.id}, value {t.value:g} %) is not served in its window "
            f"{lo:%H:%M}-{hi:%H:%M}: {why}",
            s.slice_id,
        )


__all__ = ["CheckReport", "Finding", "check_plan", "target_windows"]
