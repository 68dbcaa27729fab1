"""The patrol problem of one date and one time slice, built from the grid, hot spots and roster.

:func:`build_problem` turns the station's data into a :class:`PatrolProblem`: the micro-grids
as stops (with their risk, Gi* class, risk class and dwell from the patrol policy), the
patrollers on duty in the slice on that date, travel matrices per travel profile and speed,
revisit copies of the top-class stops, one soft cover group per base grid, and the dosage
each micro-grid may still receive that day. :meth:`PatrolProblem.to_prize_vrp` then gives the
generic :class:`~gridplan.routing.solver.model.PrizeVRP` the solver works on.

Time base: second 0 is the start of the slice on ``date`` (in the station timezone); every
time in the model is seconds after it. A slice that crosses midnight (22:00-06:00) runs into
the next day; its patrollers are those available in that window, whichever weekday their
window was written on (a Saturday window ``22:00-02:00`` and a Sunday window ``00:00-06:00``
both count for Saturday's night shift).

Prize units: the slice's total risk (sum of hot-spot scores) is :data:`PRIZE_TOTAL` units, so
a stop's prize is its share of the risk times 100,000; ``cover_penalty`` of the policy is in
the same units. Revisit copy ``k`` (0-based) earns ``prize // 2**k`` so first visits win.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import zlib
from collections.abc import Collection
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._errors import ConfigError
from gridplan._errors import InputError
from gridplan._errors import PlanRequestError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan.geo.grid import micro_grids
from gridplan.network.graphs import StreetNetwork
from gridplan.network.matrix import DETOUR_FACTOR
from gridplan.network.matrix import UNREACHABLE
from gridplan.network.matrix import TravelMatrix
from gridplan.network.matrix import travel_matrix
from gridplan.network.stops import access_points
from gridplan.network.stops import snap_points
from gridplan.routing.alerts import Alert
from gridplan.routing.alerts import AlertEffect
from gridplan.routing.alerts import alert_effects
from gridplan.routing.feedback import ActualPresence
from gridplan.routing.feedback import boost_factors
from gridplan.routing.request import pin_problems
from gridplan.routing.request import slice_for
from gridplan.routing.solver import CoverGroup
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Vehicle
from gridplan.routing.targets import Target
from gridplan.routing.targets import TargetNode
from gridplan.routing.targets import add_target_nodes
from gridplan.routing.targets import target_nodes
from gridplan.routing.targets import target_place_frame
from gridplan.routing.targets import target_places
from gridplan.station.config import StationConfig
from gridplan.station.roster import DAY_MIN
from gridplan.station.roster import DEFAULT_ROSTER
from gridplan.station.roster import Patroller
from gridplan.station.roster import PatrolPolicy
from gridplan.station.roster import resolve_home_bases
from gridplan.station.timeslices import TimeSlice
from gridplan.station.timeslices import real_seconds

#: The slice's total risk in prize units.
PRIZE_TOTAL = 100_000

#: Travel seconds put in the model for pairs with no path (the vehicle may not go there).
NO_PATH_S = 10_000_000

#: Id of the station place in travel matrices.
STATION = "station"

RISK_CLASSES = ("top", "high", "other")

#: Extra prize of a pinned stop's first visit: the whole slice's risk, so a pin outweighs any
#: set of unpinned stops it could displace.
PIN_PRIZE = PRIZE_TOTAL

# Errors an officer meets when planning (the web UI shows them in the officer's language).
_E_HOME_BASES = define(
    "problem.roster_home_bases",
    N_(
        "%(where)s: home_bases %(bad)s not in the grid (base grids: %(bases)s; or give "
        "positions, 1 = the first)"
    ),
)
_E_PLACE = define(
    "problem.roster_place",
    N_("%(where)s: %(what)s = %(place)r is neither 'station' nor a micro-grid id of the grid"),
)
_E_ROSTER = define("problem.roster", N_("%(problems)s; %(fix)s"))
_DEFAULT_ENTRY = define(
    "problem.default_roster_entry",
    N_("the built-in default roster (gridplan/data/default_station.toml): roster %(id)r"),
)
_FIX_DEFAULT_ROSTER = define(
    "problem.fix_default_roster",
    N_("replace the default roster with [[roster]] entries in %(source)s"),
)
_FIX_ROSTER = define("problem.fix_roster", N_("fix the [[roster]] entries"))
_E_NO_SLICE_ROWS = define(
    "problem.no_hotspots_for_slice",
    N_(
        "the hot spots have no rows for slice %(slice)r (found: %(found)s); compute them with "
        "the same station config"
    ),
)
_E_STATION_OFF_NETWORK = define(
    "problem.station_off_network",
    N_(
        "the station is %(distance).0f m from the nearest %(profile)s street node: the network "
        "does not reach it; rebuild the network with the station inside its boundary, or pass "
        "station_point="
    ),
)
_E_UNREACHABLE = define(
    "problem.nothing_reachable",
    N_(
        "no micro-grid can be reached from the station and back on the street network; check "
        "that the network covers the station (gridplan network build --boundary)"
    ),
)


@dataclasses.dataclass(frozen=True)
class Stop:
    """One micro-grid as a patrol stop in a slice.

    Attributes
    ----------
    id, name, base_id
        Micro-grid code, name and its base grid.
    score, rank, gi_class
        Hot-spot score, rank (1 = riskiest) and Gi* class in the slice.
    risk_class
        ``top``, ``high`` or ``other`` (by rank and the policy's ``top_share``).
    dwell_s
        Dwell seconds per visit (from the policy's ``dwell_min`` of the class).
    incidents
        Incidents of the fitting period in this micro-grid and slice (hot-spot ``count``).
    copies
        Visits allowed this slice (0 when the dosage cap is used up).
    pinned
        An officer asked for this micro-grid to be visited: its first visit is worth
        :data:`PIN_PRIZE` more, so the solver drops it only when nobody can reach it in time.
    recent
        The hot spots' ``recent`` incidents by category (text, ``""`` when none or not
        known), for the plan's "why this stop".
    alert
        The strongest alert active in the slice on this micro-grid, or ``None``
        (:func:`~gridplan.routing.alerts.alert_effects`).
    alert_visits
        Visits kept like a pin for the alert's minimum presence (:func:`apply_alerts`).
    boost
        Factor on the risk prize of a top hot spot that got less presence than planned over
        the recent days (:func:`apply_feedback`); 1 otherwise.
    """

    id: str
    name: str
    base_id: str
    score: float
    rank: int
    gi_class: str
    risk_class: str
    dwell_s: int
    incidents: int
    copies: int
    pinned: bool = False
    recent: str = ""
    alert: AlertEffect | None = None
    alert_visits: int = 0
    boost: float = 1.0


@dataclasses.dataclass(frozen=True)
class OnDuty:
    """A patroller on duty in the slice: its window in slice seconds and its travel profile.

    Attributes
    ----------
    patroller
        The roster entry.
    start_s, end_s
        Availability intersected with the slice, seconds after the slice start.
    max_duration_s
        Longest route: the window, the duty limit and the duty already spent that day.
    profile
        Index into :attr:`PatrolProblem.matrices`.
    start_place, end_place
        Place ids (``"station"`` or a micro-grid id) where the route starts and ends.
    allowed
        Micro-grid ids this patroller may visit (``None`` = all; from ``home_bases``).
    part
        1 for the first route of the patroller in the slice; a break rule splits a long
        window into parts with a break at the start place between them (2, 3, ...), and so
        does a second window of availability in the slice.
    outing
        The patroller's outing of the day this route is part of (0 when planned without
        outings, slice by slice).
    open_end
        The outing goes on after the slice: ``end_s`` is the outing's end, stops must still
        start inside the slice, and the route may carry on from its last stop into the next
        slice instead of going back.
    carried
        The route carries on an outing from the previous slice: it starts at
        ``start_place``, the micro-grid the patroller was last at.
    min_duration_s
        Shortest route worth going out for (the policy's ``outing_min_min``, or the whole
        availability when shorter); 0 for none.
    """

    patroller: Patroller
    start_s: int
    end_s: int
    max_duration_s: int
    profile: int
    start_place: str
    end_place: str
    allowed: frozenset[str] | None
    part: int = 1
    outing: int = 0
    open_end: bool = False
    carried: bool = False
    min_duration_s: int = 0


@dataclasses.dataclass(frozen=True)
class DutyPart:
    """What the day planner asks of one outing in one slice (see :mod:`~.outings`).

    Attributes
    ----------
    patroller
        The roster entry.
    outing
        Index of the outing among the patroller's outings of the date.
    start_min, end_min
        Wall-clock minutes after midnight of the date: when the outing is available in this
        slice (from the slice start for a carried outing) and when the outing ends (past the
        slice end when it goes on).
    budget_min
        Minutes of duty the outing has left.
    min_min
        Shortest route worth going out for in this part, minutes (0: none).
    start_place
        Where the route starts: the patroller's start place, or the micro-grid a carried
        outing is at.
    free_at
        For a carried outing: when the patroller leaves ``start_place``.
    """

    patroller: Patroller
    outing: int
    start_min: int
    end_min: int
    budget_min: float
    min_min: int = 0
    start_place: str | None = None
    free_at: dt.datetime | None = None

    @property
    def carried(self) -> bool:
        """Whether the part carries on an outing from the previous slice."""
        return self.free_at is not None


@dataclasses.dataclass(frozen=True)
class NodeRef:
    """What a PrizeVRP node stands for: a place id and, for stops, the visit copy (0-based)."""

    place: str
    copy: int | None


@dataclasses.dataclass(frozen=True, eq=False)
class PatrolProblem:
    """Everything needed to plan one slice of one date; build it with :func:`build_problem`.

    Attributes
    ----------
    date
        The date the slice (shift) starts on.
    slice
        The :class:`~gridplan.station.timeslices.TimeSlice`.
    start
        Slice start as a tz-aware datetime in the station timezone (second 0 of the model).
    timezone
        IANA name of the station timezone.
    stops
        Every micro-grid of the grid as a :class:`Stop`, in grid order.
    excluded
        Micro-grid id -> why it is not in the model this slice (``"dosage cap"``,
        ``"not reachable from the station"``, or ``"no risk in this slice"`` for a zero score
        in a base grid that has risk elsewhere).
    on_duty
        The patrollers on duty (:class:`OnDuty`), roster order.
    off_duty
        Roster ids not on duty in this slice.
    matrices
        Travel matrices over the places (``"station"`` then every micro-grid), one per
        distinct (profile, speed) of the patrollers on duty.
    places
        Place ids in matrix order.
    policy
        The patrol policy.
    base_ids
        Base grid ids in grid order.
    dosage_left_min
        Micro-grid id -> minutes of presence it may still get today.
    place_lonlat
        Per matrix, the ``(n, 2)`` longitude/latitude of each place (its access node on that
        profile's graph, or the point used for straight lines).
    not_before_s
        Micro-grid id -> the earliest second of the slice a visit may start there (a visit
        late in the previous slice keeps the revisit gap across the boundary).
    targets
        The key road sections and timed targets whose windows fall in the slice, one
        :class:`~gridplan.routing.targets.TargetNode` per window occurrence; their places
        follow the micro-grids' in :attr:`places` and their nodes come last in :attr:`nodes`.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> problem = gp.build_problem(grid, hot, None, cfg, date="2019-06-01", slice_id="night")
    >>> len(problem.stops), problem.places[:2], problem.off_duty[:2]
    (147, ('station', 'S01-B1-M001'), ('C01', 'A01'))
    >>> print(problem.to_text())
    2019-06-01 夜间 Night 22:00-06:00: 147 stops (top 15, high 15, other 117), ...
    """

    date: dt.date
    slice: TimeSlice
    start: dt.datetime
    timezone: str
    stops: tuple[Stop, ...]
    excluded: Mapping[str, str]
    on_duty: tuple[OnDuty, ...]
    off_duty: tuple[str, ...]
    matrices: tuple[TravelMatrix, ...]
    places: tuple[str, ...]
    policy: PatrolPolicy
    base_ids: tuple[str, ...]
    dosage_left_min: Mapping[str, float]
    place_lonlat: tuple[np.ndarray, ...] = ()
    not_before_s: Mapping[str, int] = dataclasses.field(default_factory=dict)
    targets: tuple[TargetNode, ...] = ()

    def __post_init__(self):
        if len(set(self.places)) != len(self.places) or self.places[:1] != (STATION,):
            msg = f"places must be unique and start with {STATION!r}, got {self.places[:3]}"
            raise InputError(msg)
        for m in self.matrices:
            if m.ids != self.places:
                msg = "every travel matrix must have the places as ids, in order"
                raise InputError(msg)

    @property
    def horizon_s(self) -> int:
        """Slice length in real seconds (an hour less or more across a DST change)."""
        return real_seconds(self.start, self.slice.duration_min)

    def stop(self, micro_id: str) -> Stop:
        """Return the :class:`Stop` of a micro-grid id."""
        return self._stop_index[micro_id]

    @property
    def _stop_index(self) -> dict[str, Stop]:
        cache = self.__dict__.get("_stops_by_id")
        if cache is None:
            cache = {s.id: s for s in self.stops}
            object.__setattr__(self, "_stops_by_id", cache)
        return cache

    def prize_of(self, stop: Stop) -> int:
        """Prize units of the first visit of ``stop`` by its risk (a pin's extra not included)."""
        total = self.__dict__.get("_total_score")
        if total is None:
            total = sum(s.score for s in self.stops if s.score > 0)
            object.__setattr__(self, "_total_score", total)
        if total <= 0 or stop.score <= 0:
            return 0
        return round(stop.score / total * PRIZE_TOTAL)

    @property
    def nodes(self) -> tuple[NodeRef, ...]:
        """PrizeVRP node -> place and copy: station, other depots, then stop copies."""
        cache = self.__dict__.get("_nodes")
        if cache is not None:
            return cache
        refs = [NodeRef(STATION, None)]
        for od in self.on_duty:
            for place in (od.start_place, od.end_place):
                if place != STATION and NodeRef(place, None) not in refs:
                    refs.append(NodeRef(place, None))
        for s in self.stops:
            for k in range(s.copies):
                refs.append(NodeRef(s.id, k))
        refs += [NodeRef(t.in_place, t.occurrence) for t in self.targets]
        out = tuple(refs)
        object.__setattr__(self, "_nodes", out)
        return out

    @property
    def grid_nodes(self) -> tuple[NodeRef, ...]:
        """:attr:`nodes` without the targets' (which :func:`add_target_nodes` appends)."""
        return self.nodes[: len(self.nodes) - len(self.targets)]

    def target(self, node: int) -> TargetNode | None:
        """Return the target occurrence a PrizeVRP node stands for (``None`` for others)."""
        first = len(self.grid_nodes)
        return self.targets[node - first] if node >= first else None

    def node_of(self, place: str, copy: int | None = None) -> int:
        """PrizeVRP node of a place (depot) or of a stop copy."""
        lookup = self.__dict__.get("_node_index")
        if lookup is None:
            lookup = {ref: i for i, ref in enumerate(self.nodes)}
            object.__setattr__(self, "_node_index", lookup)
        try:
            return lookup[NodeRef(place, copy)]
        except KeyError:
            what = f"copy {copy} of {place!r}" if copy is not None else f"depot {place!r}"
            msg = f"{what} is not a node of this problem (excluded, or no such visit)"
            raise InputError(msg) from None

    def to_prize_vrp(
        self, *, balance_weight: float = 0.0, travel_weight: float = 0.001
    ) -> PrizeVRP:
        """Return the slice as a :class:`~gridplan.routing.solver.model.PrizeVRP`.

        Parameters
        ----------
        balance_weight
            Prize units per second of the longest route (balances the workload). Off by
            default: on the demo station a span cost of 0.01 made the current solver collect
            a third of the prize in the evening slice (27,320 vs 88,586 units at 4 s) and
            stall with revisit copies; workload is reported in the plan metrics instead.
        travel_weight
            Prize units per second of travel (prefers shorter walks between equal prizes).

        Returns
        -------
        PrizeVRP
            Nodes as in :attr:`nodes`; one vehicle per entry of :attr:`on_duty`, that is per
            patroller and stretch between breaks (a placeholder that cannot leave the station
            when nobody is on duty: check :attr:`on_duty` first).

        Examples
        --------
        >>> vrp = problem.to_prize_vrp()  # doctest: +SKIP
        >>> vrp.num_vehicles == len(problem.on_duty)  # doctest: +SKIP
        True
        """
        refs = self.grid_nodes  # the targets' nodes: add_target_nodes
        place_index = {p: i for i, p in enumerate(self.places)}
        idx = np.array([place_index[r.place] for r in refs], dtype=np.int64)
        travel = []
        # one visit, then on: two visits of a place in a row would be a post, not a patrol
        copy = np.array([r.copy is not None for r in refs])
        carried = {od.start_place for od in self.on_duty if od.carried}
        before = copy | np.array([r.copy is None and r.place in carried for r in refs])
        same = idx[:, None] == idx[None, :]
        in_a_row = same & before[:, None] & copy[None, :] & ~np.eye(len(refs), dtype=bool)
        reach = []  # travel before the rule, to tell what a patroller can reach at all
        for m in self.matrices:
            sec = m.seconds[np.ix_(idx, idx)].copy()
            sec[sec == UNREACHABLE] = NO_PATH_S
            sec[same] = 0
            reach.append(sec.copy())
            sec[in_a_row] = NO_PATH_S
            travel.append(sec)
        if not travel:  # nobody on duty: a placeholder matrix
            travel.append(np.zeros((len(refs), len(refs)), dtype=np.int64))
            reach = travel
        service = np.zeros(len(refs), dtype=np.int64)
        prize = np.zeros(len(refs), dtype=np.int64)
        copies: dict[str, list[int]] = {}
        for node, r in enumerate(refs):
            if r.copy is None:
                continue
            s = self.stop(r.place)
            service[node] = s.dwell_s
            prize[node] = round(self.prize_of(s) * s.boost) >> r.copy
            if s.pinned and r.copy == 0:
                prize[node] += PIN_PRIZE
            prize[node] = alert_prize(int(prize[node]), s, r.copy)
            copies.setdefault(r.place, []).append(node)
        # the gap runs from the end of a visit to the start of the next (start to start it
        # is a dwell longer): two copies on either side of a break are otherwise a post
        revisits = tuple(
            RevisitGroup(
                tuple(v), revisit_gap_s(self.stop(place), self.policy) + self.stop(place).dwell_s
            )
            for place, v in copies.items()
            if len(v) > 1
        )
        covers = []
        if self.policy.cover_base_grids and self.on_duty:
            for base in self.base_ids:
                nodes = tuple(
                    copies[s.id][0] for s in self.stops if s.base_id == base and s.id in copies
                )
                if nodes:
                    covers.append(CoverGroup(nodes, round(self.policy.cover_penalty), base))
        vehicles = []
        customers = np.array([r.copy is not None for r in refs])
        for od in self.on_duty:
            t = reach[od.profile]
            s_node, e_node = self.node_of(od.start_place), self.node_of(od.end_place)
            # stops the patroller cannot reach from its start or get back from, and stops
            # outside its home base grids
            barred = customers & ((t[s_node] >= NO_PATH_S) | (t[:, e_node] >= NO_PATH_S))
            if od.allowed is not None:
                barred |= customers & np.array([r.place not in od.allowed for r in refs])
            profile = od.profile
            allowed = (
                frozenset(np.flatnonzero(customers & ~barred).tolist()) if barred.any() else None
            )
            vehicles.append(
                Vehicle(
                    od.patroller.id if od.part == 1 else f"{od.patroller.id}#{od.part}",
                    start=s_node,
                    end=e_node,
                    profile=profile,
                    earliest_start=od.start_s,
                    latest_end=od.end_s,
                    max_duration=od.max_duration_s,
                    allowed_nodes=allowed,
                    min_duration=od.min_duration_s or None,
                )
            )
        if not vehicles:
            vehicles.append(Vehicle("nobody", allowed_nodes=frozenset(), latest_end=0))
        vrp = PrizeVRP(
            travel=tuple(travel),
            service=service,
            prize=prize,
            vehicles=tuple(vehicles),
            time_windows=self._windows(vehicles),
            revisit_groups=revisits,
            cover_groups=tuple(covers),
            balance_weight=balance_weight,
            travel_weight=travel_weight,
            max_wait=self.policy.wait_max_min * 60,
            name=f"{self.date.isoformat()} {self.slice.id}",
        )
        return add_target_nodes(vrp, self, no_path_s=NO_PATH_S, unreachable=UNREACHABLE)

    def _windows(self, vehicles: list[Vehicle]) -> np.ndarray | None:
        """Visit windows: inside the slice (for outings that go on) and after ``not_before_s``.

        ``None`` when neither applies (every route ends in the slice, no carried gaps).
        """
        if not (self.not_before_s or any(od.open_end for od in self.on_duty)):
            return None
        last = max([self.horizon_s, *(v.latest_end or 0 for v in vehicles)])
        tw = np.zeros((len(self.grid_nodes), 2), dtype=np.int64)
        tw[:, 1] = last
        for node, ref in enumerate(self.grid_nodes):
            if ref.copy is not None:
                tw[node] = (
                    min(self.not_before_s.get(ref.place, 0), self.horizon_s - 1),
                    self.horizon_s - 1,
                )
        return tw

    def to_text(self) -> str:
        """Return a short account: stops, classes, patrollers on duty, exclusions."""
        classes = {c: sum(s.risk_class == c for s in self.stops) for c in RISK_CLASSES}
        duty = ", ".join(
            f"{od.patroller.id} {_hhmm(self.start, od.start_s)}-{_hhmm(self.start, od.end_s)}"
            for od in self.on_duty
        )
        return (
            f"{self.date.isoformat()} {self.slice.label}: {len(self.stops)} stops "
            f"(top {classes['top']}, high {classes['high']}, other {classes['other']}), "
            f"{len(self.excluded)} excluded, on duty: {duty or 'nobody'}"
        )


def _hhmm(start: dt.datetime, seconds: int) -> str:
    at = start.astimezone(dt.UTC) + dt.timedelta(seconds=int(seconds))
    return at.astimezone(start.tzinfo).strftime("%H:%M")


# --------------------------------------------------------------------------------------------
# Building


def duty_window(patroller: Patroller, ts: TimeSlice, date: dt.date) -> tuple[int, int] | None:
    """Availability of ``patroller`` within slice ``ts`` starting on ``date``, in slice minutes.

    Windows written on the day before (running past midnight), on ``date`` and on the next day
    (for a slice that crosses midnight) all count. When the patroller has two separate windows
    inside the slice, the longest part is returned (one route per patroller and slice).

    Returns
    -------
    tuple of int or None
        ``(start, end)`` minutes after the slice start, or ``None`` when not available.
    """
    s0 = ts.start_min
    s1 = s0 + ts.duration_min
    best = None
    wd = date.weekday()
    for offset in (-1, 0, 1):
        for a, b in patroller.windows_on((wd + offset) % 7):
            lo, hi = max(a + offset * DAY_MIN, s0), min(b + offset * DAY_MIN, s1)
            if hi > lo and (best is None or hi - lo > best[1] - best[0]):
                best = (lo, hi)
    if best is None:
        return None
    return best[0] - s0, best[1] - s0


def break_parts(
    start_s: int, end_s: int, *, after_s: int, break_s: int, since_s: int = 0
) -> list[tuple[int, int]]:
    """Split a duty window into stretches of at most ``after_s`` with breaks between them.

    Parameters
    ----------
    start_s, end_s
        The window, seconds.
    after_s, break_s
        The break rule: at most ``after_s`` on duty, then a break of ``break_s``.
    since_s
        Time already on duty without a break when the window starts.

    Returns
    -------
    list of (start, end)
        The stretches in time order; the breaks are the gaps between them. When the duty
        already done leaves no time, the window starts with a break.

    Examples
    --------
    >>> break_parts(0, 8 * 3600, after_s=4 * 3600, break_s=1800)
    [(0, 14400), (16200, 28800)]
    >>> break_parts(0, 3 * 3600, after_s=4 * 3600, break_s=1800, since_s=3 * 3600)
    [(0, 3600), (5400, 10800)]
    """
    parts = []
    t = start_s
    budget = max(0, after_s - since_s)
    if budget == 0:
        t += break_s
        budget = after_s
    while t < end_s:
        stop = min(end_s, t + budget)
        parts.append((t, stop))
        t = stop + break_s
        budget = after_s
    return parts


def _risk_classes(ranks: np.ndarray, scores: np.ndarray, top_share: float) -> np.ndarray:
    n = len(ranks)
    k = max(1, math.ceil(top_share * n))
    out = np.full(n, "other", dtype=object)
    positive = scores > 0
    out[positive & (ranks <= 2 * k)] = "high"
    out[positive & (ranks <= k)] = "top"
    return out


def _place_points(grid: gpd.GeoDataFrame, station_point: shapely.Point | None) -> gpd.GeoDataFrame:
    if station_point is None:
        station_row = grid[grid["level"] == "station"]
        station_point = shapely.point_on_surface(station_row.to_crs(grid.crs).geometry.iloc[0])
        crs = grid.crs
    else:
        crs = "EPSG:4326"
    return gpd.GeoDataFrame({"id": [STATION]}, geometry=[station_point], crs=crs)


def config_for_grid(config: StationConfig, grid: gpd.GeoDataFrame) -> StationConfig:
    """Return ``config`` with the roster's home-base positions turned into the grid's ids.

    See :func:`~gridplan.station.roster.resolve_home_bases`; the same config when nothing changes.
    """
    base_ids = grid.loc[grid["level"] == "base", "id"].astype(str).tolist()
    roster = resolve_home_bases(config.roster, base_ids)
    return config if roster is config.roster else dataclasses.replace(config, roster=roster)


def _check_roster(config: StationConfig, base_ids: tuple[str, ...], micro: set[str]) -> None:
    """Raise :class:`ConfigError` naming each roster entry that names a grid not in the grid."""
    problems: list[Message] = []
    for p in config.roster:
        where = _roster_entry(p, config)
        bad = [b for b in p.home_bases if b not in base_ids]
        if bad:
            problems.append(
                _E_HOME_BASES(where=where, bad=", ".join(map(repr, bad)), bases=", ".join(base_ids))
            )
        for what in ("start", "end"):
            place = getattr(p, what)
            if place != STATION and place not in micro:
                problems.append(_E_PLACE(where=where, what=what, place=place))
    if not problems:
        return
    default = any(p.source.startswith(DEFAULT_ROSTER) for p in config.roster)
    fix = _FIX_DEFAULT_ROSTER(source=config.source) if default else _FIX_ROSTER()
    raise ConfigError(_E_ROSTER(problems=listing(problems, semicolons=True), fix=fix))


def _roster_entry(p: Patroller, config: StationConfig) -> Message | str:
    """Where a roster entry came from, for messages (the default roster's words translated)."""
    if p.source == f"{DEFAULT_ROSTER}: roster {p.id!r}":
        return _DEFAULT_ENTRY(id=p.id)
    return p.source or f"{config.source}: roster {p.id!r}"


def build_problem(
    grid: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    network: StreetNetwork | None,
    config: StationConfig,
    *,
    date: dt.date | str,
    slice_id: str,
    dosage_used: Mapping[str, float] | None = None,
    duty_used: Mapping[str, float] | None = None,
    station_point: shapely.Point | None = None,
    detour_factor: float = DETOUR_FACTOR,
    since_break: Mapping[str, float] | None = None,
    pinned: Collection[str] = (),
    exclude: Collection[str] = (),
    duty_cap: Mapping[str, float] | None = None,
    dosage_left: Mapping[str, float] | None = None,
    parts: Collection[DutyPart] | None = None,
    not_before: Mapping[str, dt.datetime] | None = None,
    seed: int = 0,
    targets: Collection[Target] = (),
    alerts: Collection[Alert] = (),
    presence: ActualPresence | None = None,
) -> PatrolProblem:
    """Build the :class:`PatrolProblem` of one slice on one date.

    Parameters
    ----------
    grid
        The 1+5+N GRID frame (station, bases, micros).
    hotspots
        The frame of :func:`gridplan.compute_hotspots` (``id``, ``slice``, ``score``,
        ``rank``, ``gi_class``, ``count``).
    network
        The street network; ``None`` uses straight lines x ``detour_factor`` (flagged in the
        matrices' ``method``).
    config
        The station config with its ``roster``, ``patrol`` policy and slices.
    date
        The date the shift starts on (``YYYY-MM-DD`` or a date).
    slice_id
        A slice id of ``config.slices``.
    dosage_used
        Minutes of presence each micro-grid already got today (earlier slices).
    duty_used
        Minutes each patroller already spent on duty today (earlier slices).
    duty_cap
        Minutes each listed patroller may spend on duty in this slice at most (the share of
        the day's limit :func:`~gridplan.routing.planner.plan_patrols` gives the slice);
        default what is left of the day's limit.
    station_point
        Where the station is (EPSG:4326); default a point inside the station polygon.
    detour_factor
        Straight-line fallback only.
    since_break
        Minutes each patroller has been on duty without a break when this slice starts
        (duty running on from the previous slice). A patroller with a break rule
        (``break_after_min``, ``break_min``) whose window would run longer gets one route per
        stretch, with the break taken at its start place in between (:func:`break_parts`).
    pinned
        Micro-grid ids an officer wants visited (see :attr:`Stop.pinned`).
    exclude
        Micro-grid ids an officer wants left alone (roadworks, an event, a sensitive site):
        they get no stop, with the reason "excluded by the officer".
    dosage_left
        Minutes of presence each micro-grid may get in this slice (the day planner shares
        the daily cap over the slices by risk); default what ``dosage_used`` leaves of the cap.
    parts
        The outings on duty in this slice (:class:`DutyPart`, from the day planner); default
        each patroller's availability in this slice alone, cut by the break rule
        (``duty_used``, ``duty_cap`` and ``since_break`` apply then).
    not_before
        Micro-grid id -> the earliest time a visit may start there (a visit late in the
        previous slice keeps its revisit gap).
    seed
        Seeds the random dwell within the policy's ``dwell_spread_min``.
    targets
        Key road sections and timed targets (:class:`~gridplan.routing.targets.Target`):
        each window occurrence in the slice becomes a node served inside its window.
    alerts
        Red/yellow/blue alerts (:class:`~gridplan.routing.alerts.Alert`); those active in the
        slice change its stops as the policy's ``alerts`` say (:func:`apply_alerts`).
    presence
        Where patrols actually were (:class:`~gridplan.routing.feedback.ActualPresence`):
        minutes spent today count as ``dosage_used``, and top hot spots under-served over the
        recent days are worth more (:func:`apply_feedback`).

    Returns
    -------
    PatrolProblem
        With no patrollers on duty when nobody is available: the planner reports that.

    Raises
    ------
    InputError
        Unknown slice (the valid ones are listed), a slice not for this weekday, hot spots
        without the slice, a grid without micro-grids, a station not on the network.
    ConfigError
        A patroller's ``home_bases`` or ``start``/``end`` names a grid that does not exist.

    Examples
    --------
    >>> problem = build_problem(  # doctest: +SKIP
    ...     grid, hot, net, cfg, date="2024-06-01", slice_id="night"
    ... )
    >>> print(problem.to_text())  # doctest: +SKIP
    """
    date = dt.date.fromisoformat(date) if isinstance(date, str) else date
    ts = slice_for(config, slice_id, date)
    policy = config.patrol
    config = config_for_grid(config, grid)
    micro = micro_grids(grid)
    if (grid["level"] == "station").sum() != 1 and station_point is None:
        msg = "the grid needs exactly one station row, or pass station_point="
        raise InputError(msg)
    base_ids = tuple(grid.loc[grid["level"] == "base", "id"].astype(str))
    micro_ids = tuple(micro["id"].astype(str))
    problems = pin_problems(pinned, exclude, micro_ids)
    if problems:
        raise PlanRequestError(problems)
    risk = _slice_risk(hotspots, slice_id, micro_ids, policy.top_share)
    used = _used_today(dosage_used, presence)
    left = {m: policy.dosage_cap_min - float(used.get(m, 0.0)) for m in micro_ids}
    if dosage_left is not None:
        left = {m: min(left[m], float(dosage_left.get(m, 0.0))) for m in micro_ids}
    start = dt.datetime.combine(
        date, dt.time(ts.start_min // 60, ts.start_min % 60), tzinfo=config.tz
    )
    horizon = real_seconds(start, ts.duration_min)
    after = _not_before(start, not_before or {}, micro_ids, horizon)
    dwell = _random_dwell(policy, micro_ids, risk.risk_class, (seed, date.toordinal(), ts.id))
    stops, excluded = _stops(
        micro,
        risk,
        policy,
        left,
        pinned=set(map(str, pinned)),
        exclude=set(map(str, exclude)),
        dwell_min=dwell,
        late={m for m, t in after.items() if t >= horizon},
    )
    stops = _alerted(stops, excluded, alerts, (start, horizon), policy, (left, used))
    stops = apply_feedback(stops, boost_factors(presence, policy))
    _check_roster(config, base_ids, set(micro_ids))
    if parts is None:
        chosen, off = _available(config, ts, date, start, dict(duty_used or {}), duty_cap)
    else:
        chosen, off = _from_parts(config, ts, start, parts), []
        busy = {part.patroller.id for part in parts}
        off = [p.id for p in config.roster if p.id not in busy]
    people = [c[0] if isinstance(c[0], Patroller) else c[0].patroller for c in chosen]
    keys = list(dict.fromkeys((p.profile, p.speed_kph) for p in people))
    tnodes, used = _targets_in(targets, start, ts, micro)
    places = (STATION, *micro_ids, *target_places(used))
    matrices, lonlat = _matrices(
        grid, micro, network, keys, station_point, detour_factor, targets=used
    )
    if matrices:
        stops = _drop_unreachable(stops, excluded, matrices)
    if parts is None:
        on_duty = _on_duty(chosen, stops, keys, dict(since_break or {}), off)
    else:
        on_duty = _parts_on_duty(chosen, stops, keys, horizon)
    return PatrolProblem(
        date=date,
        slice=ts,
        start=start,
        timezone=config.timezone,
        stops=tuple(stops),
        excluded=dict(excluded),
        on_duty=tuple(on_duty),
        off_duty=tuple(off),
        matrices=tuple(matrices),
        places=places,
        policy=policy,
        base_ids=base_ids,
        dosage_left_min=left,
        place_lonlat=tuple(lonlat),
        targets=tnodes,
        not_before_s={m: t for m, t in after.items() if 0 < t < horizon},
    )


def _used_today(
    dosage_used: Mapping[str, float] | None, presence: ActualPresence | None
) -> dict[str, float]:
    """Minutes each micro-grid got today: earlier slices, and what tracks found before."""
    used = {m: float(v) for m, v in (dosage_used or {}).items()}
    if presence is not None:
        for m, minutes in presence.spent_today_min.items():
            used[m] = used.get(m, 0.0) + minutes
    return used


def _targets_in(
    targets: Collection[Target], start: dt.datetime, ts: TimeSlice, micro: gpd.GeoDataFrame
) -> tuple[tuple[TargetNode, ...], list[Target]]:
    """Return the targets' window occurrences in the slice, and the targets they are of."""
    nodes = target_nodes(
        tuple(targets),
        start=start,
        start_min=ts.start_min,
        duration_min=ts.duration_min,
        micro=micro,
        prize_total=PRIZE_TOTAL,
    )
    return nodes, list({t.target.id: t.target for t in nodes}.values())


def _matrices(
    grid: gpd.GeoDataFrame,
    micro: gpd.GeoDataFrame,
    network: StreetNetwork | None,
    keys: list[tuple[str, float]],
    station_point: shapely.Point | None,
    detour_factor: float,
    *,
    targets: list[Target] = (),
) -> tuple[list[TravelMatrix], list[np.ndarray]]:
    """Travel matrices over the places, and the places' lon/lat, per (profile, speed)."""
    matrices, lonlat = [], []
    for profile, speed in keys:
        frame = _place_frame(grid, micro, network, profile, station_point)
        if targets:  # their places after the micro-grids' (routing/targets.py)
            extra = target_place_frame(targets, network, profile, frame.crs)
            frame = gpd.GeoDataFrame(pd.concat([frame, extra], ignore_index=True), crs=frame.crs)
        lonlat.append(shapely.get_coordinates(frame.to_crs("EPSG:4326").geometry.values))
        matrices.append(
            travel_matrix(
                frame,
                network,
                profile=profile,
                speed_kph=speed,
                detour_factor=detour_factor,
                allow_unreachable=True,
            )
        )
    return matrices, lonlat


@dataclasses.dataclass(frozen=True)
class _SliceRisk:
    """The hot-spot columns of one slice, in micro-grid order (missing values filled)."""

    score: np.ndarray
    rank: np.ndarray
    gi_class: pd.Series
    count: np.ndarray
    risk_class: np.ndarray
    recent: np.ndarray | None = None


def _slice_risk(
    hotspots: pd.DataFrame, slice_id: str, micro_ids: tuple[str, ...], top_share: float
) -> _SliceRisk:
    """Risk per micro-grid in this slice: score, rank, Gi* class, incidents, risk class."""
    missing_cols = [c for c in ("id", "slice", "score", "rank", "gi_class") if c not in hotspots]
    if missing_cols:
        msg = f"hotspots lacks column(s) {', '.join(missing_cols)}; pass compute_hotspots output"
        raise InputError(msg)
    rows = hotspots[hotspots["slice"] == slice_id]
    if rows.empty:
        found = ", ".join(map(str, pd.unique(hotspots["slice"])))
        raise InputError(_E_NO_SLICE_ROWS(slice=slice_id, found=found))
    rows = rows.set_index(rows["id"].astype(str))
    rows = rows[~rows.index.duplicated()].reindex(list(micro_ids))
    score = rows["score"].to_numpy(dtype=float)
    score = np.where(np.isfinite(score), np.maximum(score, 0.0), 0.0)
    rank = rows["rank"].to_numpy(dtype=float)
    rank = np.where(np.isfinite(rank), rank, len(micro_ids) + 1).astype(np.int64)
    gi = rows["gi_class"].astype(object).where(rows["gi_class"].notna(), "not_significant")
    counts = rows["count"].to_numpy(dtype=float) if "count" in rows else np.zeros(len(rows))
    counts = np.where(np.isfinite(counts), counts, 0).astype(np.int64)
    classes = _risk_classes(rank, score, top_share)
    recent = None
    if "recent" in rows:  # optional: hot-spot files from before it have none
        recent = rows["recent"].map(lambda v: v if isinstance(v, str) else "").to_numpy()
    return _SliceRisk(score, rank, gi, counts, classes, recent)


def _stops(
    micro: gpd.GeoDataFrame,
    risk: _SliceRisk,
    policy: PatrolPolicy,
    left: Mapping[str, float],
    *,
    pinned: set[str],
    exclude: set[str],
    dwell_min: Mapping[str, int] | None = None,
    late: Collection[str] = (),
) -> tuple[list[Stop], dict[str, str]]:
    """Every micro-grid as a stop with its visits this slice, and why some get none.

    ``dwell_min`` gives a micro-grid's minutes per visit (default its class's); a micro-grid
    in ``late`` was visited too late in the previous slice to be visited again in this one.
    """
    micro_ids = tuple(micro["id"].astype(str))
    score = risk.score
    # a micro-grid without risk in this slice earns nothing: leave it out of the model unless
    # its base grid has no risk at all (then it is what the base's cover group can visit)
    parents = micro["parent_id"].astype(str).to_numpy()
    risky_bases = set(parents[score > 0])
    names = micro["name"].astype(str).to_numpy() if "name" in micro else np.array(micro_ids)
    stops = []
    excluded: dict[str, str] = {}
    for i, mid in enumerate(micro_ids):
        cls = str(risk.risk_class[i])
        minutes = int(policy.dwell_min[cls]) if dwell_min is None else int(dwell_min[mid])
        fit = int(left[mid] // minutes) if minutes > 0 else 0
        copies = min(policy.revisit_max if cls == "top" else 1, max(fit, 0))
        if mid in exclude:
            copies = 0
            excluded[mid] = "excluded by the officer"
        elif copies == 0:
            excluded[mid] = "dosage cap"
        elif mid in late:
            copies = 0
            excluded[mid] = "revisit gap"
        elif score[i] <= 0 and parents[i] in risky_bases and mid not in pinned:
            copies = 0
            excluded[mid] = "no risk in this slice"
        stops.append(
            Stop(
                id=mid,
                name=str(names[i]),
                base_id=str(parents[i]),
                score=float(score[i]),
                rank=int(risk.rank[i]),
                gi_class=str(risk.gi_class.iloc[i]),
                risk_class=cls,
                dwell_s=minutes * 60,
                incidents=int(risk.count[i]),
                copies=copies,
                pinned=mid in pinned,
                recent="" if risk.recent is None else str(risk.recent[i]),
            )
        )
    return stops, excluded


def _alerted(
    stops: list[Stop],
    excluded: dict[str, str],
    alerts: Collection[Alert],
    window: tuple[dt.datetime, int],
    policy: PatrolPolicy,
    dosage: tuple[Mapping[str, float], Mapping[str, float]],
) -> list[Stop]:
    """Return the stops with the alerts active in the slice applied (``window``: start, s).

    ``dosage``: the minutes each micro-grid may get in this slice, and those it got today.
    """
    if not alerts:
        return stops
    start, horizon = window
    left, used = dosage
    room = {m: policy.dosage_cap_min - float(used.get(m, 0.0)) for m in left}
    effects = alert_effects(alerts, start, start + dt.timedelta(seconds=horizon), policy.alerts)
    return apply_alerts(stops, excluded, effects, policy, left, room=room)


def apply_alerts(
    stops: list[Stop],
    excluded: dict[str, str],
    effects: Mapping[str, AlertEffect],
    policy: PatrolPolicy,
    left: Mapping[str, float],
    *,
    room: Mapping[str, float] | None = None,
) -> list[Stop]:
    """Return the stops with the alerts of the slice applied (``excluded`` updated).

    A micro-grid under an alert carries it (blue too, for the plan and route sheets). Under
    an alert that changes routes (red and yellow by default) it may be visited like a top
    hot spot (up to ``revisit_max`` times, within what the dosage cap leaves), but at least
    the visits its minimum presence needs, whatever the cap or its risk in the slice: those
    are kept like a pin (:func:`alert_prize`). A micro-grid the officer excluded stays out.
    ``room``: minutes each micro-grid may still get today (the daily cap), for the fillers
    an alert with several visits needs (:func:`_fillers`).
    """
    out = []
    for s in stops:
        effect = effects.get(s.id)
        if effect is None:
            out.append(s)
            continue
        if not effect.changes_routes or excluded.get(s.id) == "excluded by the officer":
            out.append(dataclasses.replace(s, alert=effect))
            continue
        # the longest stop the policy allows: the minimum in as few visits as it can
        dwell_min = max(s.dwell_s // 60, policy.dwell_bounds_min[1])
        needed = effect.visits_needed(dwell_min)
        fit = int(max(left.get(s.id, 0.0), 0.0) // dwell_min) if dwell_min > 0 else 0
        copies = max(s.copies, needed, min(policy.revisit_max, fit))
        if copies > 0 and excluded.get(s.id) in ("dosage cap", "no risk in this slice"):
            del excluded[s.id]
        out.append(
            dataclasses.replace(
                s, copies=copies, dwell_s=dwell_min * 60, alert=effect, alert_visits=needed
            )
        )
    if any(s.alert_visits > 1 for s in out):
        out = _fillers(out, excluded, room or {})
    return out


def _fillers(stops: list[Stop], excluded: dict[str, str], room: Mapping[str, float]) -> list[Stop]:
    """Put micro-grids without risk or share of the cap here back in the model, once each.

    They earn nothing (a prize by risk). An alert's visits are a revisit gap apart and a
    patrol may not wait that long: with nothing else worth a visit in the slice it needs
    somewhere to walk between them, or it cannot meet the minimum at all (the lattice with no
    risk and a red alert got no patrol). A filler stays within the daily cap (``room``).
    """
    dwell = {s.id: s.dwell_s / 60 for s in stops}
    back = {
        mid
        for mid, why in excluded.items()
        if why in ("no risk in this slice", "dosage cap") and room.get(mid, 0.0) >= dwell[mid]
    }
    for mid in back:
        del excluded[mid]
    return [dataclasses.replace(s, copies=1) if s.id in back else s for s in stops]


def apply_feedback(stops: list[Stop], factors: Mapping[str, float]) -> list[Stop]:
    """Return the stops with the under-served top hot spots' value raised.

    ``factors`` (:func:`~gridplan.routing.feedback.boost_factors`): micro-grid id -> factor
    on its risk prize. Only a stop of the ``top`` class in this slice takes it: the boost
    sends presence back to the hot spots that need it, not to a place merely missed where it
    matters little.
    """
    if not factors:
        return stops
    return [
        dataclasses.replace(s, boost=factors[s.id])
        if s.risk_class == "top" and s.id in factors
        else s
        for s in stops
    ]


def alert_prize(prize: int, stop: Stop, copy: int) -> int:
    """Prize of visit ``copy`` (0-based) of ``stop`` under its alert.

    The risk prize times the alert's ``value_factor``; the visits of the alert's minimum
    presence earn :data:`PIN_PRIZE` more, so the solver drops them only when nobody can
    reach them in time.
    """
    if stop.alert is None:
        return prize
    out = round(prize * stop.alert.value_factor)
    if copy < stop.alert_visits:
        out += PIN_PRIZE
    return out


def revisit_gap_s(stop: Stop, policy: PatrolPolicy) -> int:
    """Seconds between two visits of ``stop``: its alert's gap, else the policy's."""
    if stop.alert is not None and stop.alert.revisit_gap_min is not None:
        return stop.alert.revisit_gap_min * 60
    return policy.revisit_gap_min * 60


def _available(
    config: StationConfig,
    ts: TimeSlice,
    date: dt.date,
    start: dt.datetime,
    duty: Mapping[str, float],
    duty_cap: Mapping[str, float] | None,
) -> tuple[list[tuple[Patroller, int, int, int]], list[str]]:
    """Who is on duty in the slice: ``(patroller, start_s, end_s, max_s)``, and who is not."""
    chosen: list[tuple[Patroller, int, int, int]] = []
    off = []
    for p in config.roster:
        window = duty_window(p, ts, date)
        left_duty = int(p.max_duty_min - float(duty.get(p.id, 0.0)))
        if duty_cap is not None and p.id in duty_cap:
            left_duty = min(left_duty, int(duty_cap[p.id]))
        if window is None or left_duty <= 0:
            off.append(p.id)
            continue
        # windows are wall-clock minutes; the model counts real seconds
        lo, hi = real_seconds(start, window[0]), real_seconds(start, window[1])
        chosen.append((p, lo, hi, min(hi - lo, left_duty * 60)))
    return chosen, off


def _place_frame(
    grid: gpd.GeoDataFrame,
    micro: gpd.GeoDataFrame,
    network: StreetNetwork | None,
    profile: str,
    station_point: shapely.Point | None,
) -> gpd.GeoDataFrame:
    """Return the places of one travel profile: the station, then each micro-grid's access.

    On a network each place stands at its street node (the station at most 1 km from one);
    without one at a point inside the micro-grid.
    """
    station = _place_points(grid, station_point)
    if network is None:
        pts = gpd.GeoDataFrame(
            {"id": list(micro["id"].astype(str))},
            geometry=micro.geometry.representative_point().values,
            crs=micro.crs,
        )
        return gpd.GeoDataFrame(
            pd.concat([station.to_crs(micro.crs), pts], ignore_index=True), geometry="geometry"
        )
    st = snap_points(station, network, profile=profile)
    if float(st["distance_m"].iloc[0]) > 1000:
        distance = float(st["distance_m"].iloc[0])
        raise InputError(_E_STATION_OFF_NETWORK(distance=distance, profile=profile))
    pts = access_points(grid, None, network, profile=profile)
    frame = gpd.GeoDataFrame(
        pd.concat(
            [st[["id", "node", "geometry"]], pts[["id", "node", "geometry"]]], ignore_index=True
        ),
        geometry="geometry",
    )
    nodes = network.node_frame(profile).loc[frame["node"].to_numpy(np.int64)]
    return frame.set_geometry(
        gpd.GeoSeries(nodes.geometry.to_numpy(), crs=network.crs).to_crs(frame.crs).values
    )


def _drop_unreachable(
    stops: list[Stop], excluded: dict[str, str], matrices: list[TravelMatrix]
) -> list[Stop]:
    """Leave out stops no profile on duty can reach from and back to the station.

    Adds them to ``excluded``; raises when no stop at all can be reached.
    """
    n = len(stops) + 1  # the station and the micro-grids (targets' places follow)
    ok = np.zeros(n, dtype=bool)
    for m in matrices:
        ok |= (m.seconds[0, :n] != UNREACHABLE) & (m.seconds[:n, 0] != UNREACHABLE)
    for i, s in enumerate(stops):
        if not ok[i + 1] and s.id not in excluded:
            excluded[s.id] = "not reachable from the station"
    if not ok[1:].any():
        raise InputError(_E_UNREACHABLE())
    return [dataclasses.replace(s, copies=0) if s.id in excluded else s for s in stops]


def _on_duty(
    chosen: list[tuple[Patroller, int, int, int]],
    stops: list[Stop],
    keys: list[tuple[str, float]],
    carried: Mapping[str, float],
    off: list[str],
) -> list[OnDuty]:
    """One :class:`OnDuty` per patroller and stretch between breaks (break-owed ones to ``off``)."""
    on_duty = []
    for p, start_s, end_s, max_s in chosen:
        allowed = None
        if p.home_bases:
            allowed = frozenset(s.id for s in stops if s.base_id in p.home_bases)
        parts = [(start_s, end_s)]
        if p.break_after_min > 0 and p.break_min > 0:
            parts = break_parts(
                start_s,
                end_s,
                after_s=p.break_after_min * 60,
                break_s=p.break_min * 60,
                # duty runs on (the pause counting) only into a window that starts less
                # than a break after the slice start
                since_s=int(float(carried.get(p.id, 0.0)) * 60) + start_s
                if p.id in carried and start_s < p.break_min * 60
                else 0,
            )
        if not parts:  # the break it is owed fills its whole window
            off.append(p.id)
            continue
        total = sum(b - a for a, b in parts)
        for k, (a, b) in enumerate(parts, start=1):
            # the day's duty budget is shared by the parts in proportion to their length
            share = max_s if len(parts) == 1 else int(max_s * (b - a) / total)
            on_duty.append(
                OnDuty(
                    patroller=p,
                    start_s=a,
                    end_s=b,
                    max_duration_s=min(b - a, share),
                    profile=keys.index((p.profile, p.speed_kph)),
                    start_place=p.start,
                    end_place=p.start if k < len(parts) else p.end,
                    allowed=allowed,
                    part=k,
                )
            )
    return on_duty


def _not_before(
    start: dt.datetime, after: Mapping[str, dt.datetime], micro_ids: tuple[str, ...], horizon: int
) -> dict[str, int]:
    """Seconds of the slice before which each micro-grid may not be visited (from ``after``)."""
    out = {}
    for mid in micro_ids:
        t = after.get(mid)
        if t is not None:
            out[mid] = max(0, math.ceil((t - start).total_seconds()))
    return {m: min(t, horizon) for m, t in out.items()}


def _random_dwell(
    policy: PatrolPolicy, micro_ids: tuple[str, ...], classes: np.ndarray, key: tuple
) -> dict[str, int]:
    """Minutes per visit of each micro-grid: its class's, moved at random by the spread.

    Drawn uniformly from ``dwell_min[class] +- dwell_spread_min`` inside ``dwell_bounds_min``,
    seeded by ``key`` (the plan's seed, the date and the slice), so a variant or another day
    gets other minutes and the same plan the same ones.
    """
    lo, hi = policy.dwell_bounds_min
    spread = policy.dwell_spread_min
    rng = np.random.default_rng([int(key[0]), int(key[1]), zlib.crc32(str(key[2]).encode())])
    draws = rng.integers(-spread, spread + 1, size=len(micro_ids)) if spread else None
    out = {}
    for i, mid in enumerate(micro_ids):
        base = int(policy.dwell_min[str(classes[i])])
        out[mid] = base if draws is None else int(np.clip(base + draws[i], lo, hi))
    return out


def _from_parts(
    config: StationConfig, ts: TimeSlice, start: dt.datetime, parts: Collection[DutyPart]
) -> list[tuple[DutyPart, int, int, int]]:
    """``(part, start_s, end_s, max_s)`` of each outing on duty in the slice, in roster order.

    ``end_s`` is the outing's end (after the slice when it goes on); a carried outing starts
    when the patroller is free at its micro-grid.
    """
    order = {p.id: i for i, p in enumerate(config.roster)}
    out = []
    for part in sorted(parts, key=lambda x: (order.get(x.patroller.id, 0), x.start_min)):
        lo = real_seconds(start, part.start_min - ts.start_min)
        if part.free_at is not None:
            lo = max(lo, math.ceil((part.free_at - start).total_seconds()))
        hi = real_seconds(start, part.end_min - ts.start_min)
        budget_s = int(part.budget_min * 60)
        if hi > lo and budget_s > 0:
            out.append((part, lo, hi, min(hi - lo, budget_s)))
    return out


def _parts_on_duty(
    chosen: list[tuple[DutyPart, int, int, int]],
    stops: list[Stop],
    keys: list[tuple[str, float]],
    horizon: int,
) -> list[OnDuty]:
    """One :class:`OnDuty` per outing on duty in the slice (numbered per patroller)."""
    on_duty = []
    seen: dict[str, int] = {}
    for part, start_s, end_s, max_s in chosen:
        p = part.patroller
        seen[p.id] = seen.get(p.id, 0) + 1
        allowed = None
        if p.home_bases:
            allowed = frozenset(s.id for s in stops if s.base_id in p.home_bases)
        on_duty.append(
            OnDuty(
                patroller=p,
                start_s=start_s,
                end_s=end_s,
                max_duration_s=max_s,
                profile=keys.index((p.profile, p.speed_kph)),
                start_place=part.start_place or p.start,
                end_place=p.end,
                allowed=allowed,
                part=seen[p.id],
                outing=part.outing,
                open_end=end_s > horizon,
                carried=part.carried,
                min_duration_s=min(int(part.min_min) * 60, max_s),
            )
        )
    return on_duty


__all__ = [
    "NO_PATH_S",
    "PRIZE_TOTAL",
    "DutyPart",
    "NodeRef",
    "OnDuty",
    "PatrolProblem",
    "Stop",
    "alert_prize",
    "apply_alerts",
    "apply_feedback",
    "break_parts",
    "build_problem",
    "duty_window",
]
