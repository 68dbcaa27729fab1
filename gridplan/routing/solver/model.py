"""A generic prize-collecting vehicle routing problem and its solution (no solver here).

:class:`PrizeVRP` is the immutable problem the patrol planner builds per time slice: integer
travel-time matrices (one per travel profile, e.g. walking and e-bike), dwell (service) seconds
and a prize per node, optional node time windows, heterogeneous vehicles (patrollers) with their
own start and end places and shifts, revisit groups (copies of one place that must be visited at
least ``min_gap`` seconds apart, across all vehicles), soft cover groups ("visit at least one of
these") and a balance weight. :class:`PrizeVRPSolution` holds routes with arrival times and
re-checks every constraint from the model in :meth:`PrizeVRPSolution.is_feasible`.

Time conventions: a route's cumulative time at a node is the time service *starts* there
(arrival, possibly after waiting). Leaving node ``i`` for ``j`` takes ``service[i]`` then
``travel[p][i, j]``. Time windows, revisit gaps, shift ends and maximum durations are all on
these service-start times; a route's duration is end time minus start time.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterable
from collections.abc import Sequence

import numpy as np

from gridplan._errors import InputError


def _frozen_array(values, *, dtype, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        msg = f"PrizeVRP: {name} cannot be read as a {np.dtype(dtype).name} array ({exc})"
        raise InputError(msg) from exc
    if arr.ndim != ndim:
        msg = f"PrizeVRP: {name} must be {ndim}-dimensional, got shape {arr.shape}"
        raise InputError(msg)
    arr.setflags(write=False)
    return arr


def _int_array(values, *, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        as_float = np.asarray(arr, dtype=float)
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
            msg = (
                f"PrizeVRP: {name} must hold whole numbers (seconds or prize units); "
                "round them before building the problem"
            )
            raise InputError(msg)
    return _frozen_array(values, dtype=np.int64, name=name, ndim=ndim)


@dataclasses.dataclass(frozen=True)
class Vehicle:
    """One patroller or team: where and when its route starts and ends.

    Attributes
    ----------
    name
        Label shown in summaries (e.g. the patroller id).
    start, end
        Start and end node (may differ). Depot nodes carry no prize and cannot be visited.
    profile
        Index into :attr:`PrizeVRP.travel` (e.g. 0 = walking, 1 = e-bike).
    earliest_start
        Earliest departure time, seconds.
    latest_end
        Latest return time at ``end``, seconds; ``None`` means the problem horizon.
    max_duration
        Longest route (end time minus start time), seconds; ``None`` means no limit.
    allowed_nodes
        Nodes this vehicle may visit; ``None`` means every non-depot node.
    min_duration
        Shortest route when the vehicle visits anything (end time minus start time), seconds:
        an outing shorter than this is not worth making; ``None`` means no minimum.

    Raises
    ------
    InputError
        On a negative or non-integer node, profile or time, or ``latest_end`` before
        ``earliest_start``.

    Examples
    --------
    A walker who leaves node 0 at 08:00 (in seconds of the day) and is back by 10:00:

    >>> from gridplan.routing.solver import Vehicle
    >>> v = Vehicle("A01", start=0, end=0, earliest_start=8 * 3600, latest_end=10 * 3600)
    >>> v.max_duration is None, v.allowed_nodes is None
    (True, True)
    """

    name: str
    start: int = 0
    end: int = 0
    profile: int = 0
    earliest_start: int = 0
    latest_end: int | None = None
    max_duration: int | None = None
    allowed_nodes: frozenset[int] | None = None
    min_duration: int | None = None

    def __post_init__(self):
        if self.allowed_nodes is not None and not isinstance(self.allowed_nodes, frozenset):
            object.__setattr__(self, "allowed_nodes", frozenset(int(v) for v in self.allowed_nodes))
        for name in ("start", "end", "profile", "earliest_start"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                msg = f"vehicle {self.name!r}: {name}={value!r} must be a non-negative integer"
                raise InputError(msg)
        for name in ("latest_end", "max_duration", "min_duration"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 0):
                msg = f"vehicle {self.name!r}: {name}={value!r} must be a non-negative integer"
                raise InputError(msg)
        if self.latest_end is not None and self.latest_end < self.earliest_start:
            msg = (
                f"vehicle {self.name!r}: latest_end={self.latest_end} is before "
                f"earliest_start={self.earliest_start}; swap or widen the shift"
            )
            raise InputError(msg)


@dataclasses.dataclass(frozen=True)
class RevisitGroup:
    """Copies of one place: visits at least ``min_gap`` seconds apart, copy k+1 after copy k.

    The copies are separate nodes (zero travel between them) so a place can be visited more
    than once per slice, by any vehicles. Any two visited copies start service at least
    ``min_gap`` seconds apart, and copy ``k + 1`` may be visited only when copy ``k`` is.

    Attributes
    ----------
    nodes
        The copy nodes, in visiting order (two or more, distinct).
    min_gap
        Least seconds between the service starts of any two visited copies.

    Raises
    ------
    InputError
        With fewer than two distinct nodes or a negative gap.

    Examples
    --------
    Nodes 2 and 3 are the same hot spot, to be visited twice at least 10 minutes apart:

    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, PrizeVRPSolution, RevisitGroup, Vehicle
    >>> travel = np.full((4, 4), 60)
    >>> np.fill_diagonal(travel, 0)
    >>> vrp = PrizeVRP(
    ...     travel=(travel,), service=[0, 0, 0, 0], prize=[0, 5, 3, 3],
    ...     vehicles=(Vehicle("walker"),), revisit_groups=(RevisitGroup((2, 3), min_gap=600),),
    ... )
    >>> PrizeVRPSolution.from_routes(vrp, [[2, 1, 3]]).violations(vrp)
    ['revisit group (2, 3): visits at 60 s and 180 s are less than 600 s apart']
    """

    nodes: tuple[int, ...]
    min_gap: int

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(int(v) for v in self.nodes))
        if len(self.nodes) < 2 or len(set(self.nodes)) != len(self.nodes):
            msg = f"RevisitGroup needs two or more distinct copy nodes, got {self.nodes}"
            raise InputError(msg)
        if self.min_gap < 0:
            msg = f"RevisitGroup {self.nodes}: min_gap={self.min_gap} must be >= 0 seconds"
            raise InputError(msg)


@dataclasses.dataclass(frozen=True)
class CoverGroup:
    """Soft constraint: visit at least one node of ``nodes``, else pay ``penalty`` (prize units).

    Used, for example, for "every base grid visited at least once per slice".

    Attributes
    ----------
    nodes
        The nodes of the group (at least one).
    penalty
        Cost, in prize units, when none of them is visited.
    name
        Label for summaries (e.g. the base grid id).

    Raises
    ------
    InputError
        With no nodes or a negative penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import CoverGroup, PrizeVRP, PrizeVRPSolution, Vehicle
    >>> travel = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    >>> vrp = PrizeVRP(
    ...     travel=(travel,), service=[0, 0, 0], prize=[0, 5, 3],
    ...     vehicles=(Vehicle("walker"),), cover_groups=(CoverGroup((2,), 100, name="B2"),),
    ... )
    >>> sol = PrizeVRPSolution.from_routes(vrp, [[1]])
    >>> sol.cover_violations, sol.cost()
    ((0,), 103.0)
    """

    nodes: tuple[int, ...]
    penalty: int
    name: str = ""

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(int(v) for v in self.nodes))
        if not self.nodes:
            msg = f"CoverGroup {self.name!r} has no nodes; drop the group or give it nodes"
            raise InputError(msg)
        if self.penalty < 0:
            msg = f"CoverGroup {self.name!r}: penalty={self.penalty} must be >= 0"
            raise InputError(msg)


@dataclasses.dataclass(frozen=True)
class PrizeVRP:
    """Immutable prize-collecting VRP; arrays are copied and stored read-only.

    Attributes
    ----------
    travel
        One ``(n, n)`` integer travel-time matrix in seconds per travel profile.
    service
        Dwell seconds per node (``(n,)``); depots should have 0.
    prize
        Non-negative integer prize per node; dropping a node costs its prize. Depots have 0.
    vehicles
        The vehicles (at least one).
    time_windows
        Optional ``(n, 2)`` earliest and latest service start per node, seconds.
    revisit_groups
        Copies of one place visited at least ``min_gap`` apart (see :class:`RevisitGroup`).
    cover_groups
        Soft "visit at least one" groups (see :class:`CoverGroup`).
    balance_weight
        Cost per second of the longest route's duration (a span cost that balances routes),
        in prize units per second; 0 disables it.
    travel_weight
        Cost per second of travel, in prize units; 0 means travel only breaks ties (the Team
        Orienteering objective).
    max_wait
        Most seconds a vehicle may wait between leaving one node and serving the next
        (the return to the end depot included); ``None`` means any wait. Departure from the
        start may still be delayed.
    name
        Label for summaries.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> travel = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    >>> vrp = PrizeVRP(
    ...     travel=(travel,),
    ...     service=[0, 60, 60],
    ...     prize=[0, 5, 3],
    ...     vehicles=(Vehicle("walker", max_duration=100),),
    ... )
    >>> vrp.num_nodes, vrp.num_vehicles
    (3, 1)
    """

    travel: tuple[np.ndarray, ...]
    service: np.ndarray
    prize: np.ndarray
    vehicles: tuple[Vehicle, ...]
    time_windows: np.ndarray | None = None
    revisit_groups: tuple[RevisitGroup, ...] = ()
    cover_groups: tuple[CoverGroup, ...] = ()
    balance_weight: float = 0.0
    travel_weight: float = 0.0
    max_wait: int | None = None
    name: str = ""

    def __post_init__(self):
        travel = self.travel
        if isinstance(travel, np.ndarray) and travel.ndim == 2:
            travel = (travel,)
        travel = tuple(_int_array(t, name=f"travel[{p}]", ndim=2) for p, t in enumerate(travel))
        if not travel:
            msg = "PrizeVRP: travel needs at least one (n, n) matrix"
            raise InputError(msg)
        object.__setattr__(self, "travel", travel)
        object.__setattr__(self, "service", _int_array(self.service, name="service", ndim=1))
        object.__setattr__(self, "prize", _int_array(self.prize, name="prize", ndim=1))
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "revisit_groups", tuple(self.revisit_groups))
        object.__setattr__(self, "cover_groups", tuple(self.cover_groups))
        if self.time_windows is not None:
            tw = _int_array(self.time_windows, name="time_windows", ndim=2)
            object.__setattr__(self, "time_windows", tw)
        self._validate()

    def _validate(self):
        n = len(self.prize)
        problems = []
        for p, t in enumerate(self.travel):
            if t.shape != (n, n):
                problems.append(f"travel[{p}] has shape {t.shape}, expected ({n}, {n})")
            elif np.any(t < 0):
                i, j = np.argwhere(t < 0)[0]
                problems.append(f"travel[{p}][{i}, {j}] = {t[i, j]} is negative")
        if self.service.shape != (n,):
            problems.append(f"service has shape {self.service.shape}, expected ({n},)")
        elif np.any(self.service < 0):
            problems.append(
                f"service has negative values at nodes {np.flatnonzero(self.service < 0)[:5]}"
            )
        if np.any(self.prize < 0):
            problems.append(
                f"prize has negative values at nodes {np.flatnonzero(self.prize < 0)[:5]}"
            )
        if self.time_windows is not None:
            tw = self.time_windows
            if tw.shape != (n, 2):
                problems.append(f"time_windows has shape {tw.shape}, expected ({n}, 2)")
            elif np.any(tw[:, 0] > tw[:, 1]):
                bad = np.flatnonzero(tw[:, 0] > tw[:, 1])[:5]
                problems.append(f"time_windows open after they close at nodes {list(bad)}")
        if not self.vehicles:
            problems.append("no vehicles; add at least one Vehicle")
        depots = self.depots
        for v in self.vehicles:
            if not isinstance(v, Vehicle):
                problems.append(f"vehicles must be Vehicle objects, got {type(v).__name__}")
                continue
            for what in ("start", "end"):
                node = getattr(v, what)
                if node >= n:
                    problems.append(f"vehicle {v.name!r}: {what} node {node} is not in 0..{n - 1}")
            if v.profile >= len(self.travel):
                problems.append(
                    f"vehicle {v.name!r}: profile {v.profile} but only {len(self.travel)} "
                    "travel matrices"
                )
            if v.allowed_nodes is not None:
                bad = sorted(u for u in v.allowed_nodes if not 0 <= u < n or u in depots)
                if bad:
                    problems.append(
                        f"vehicle {v.name!r}: allowed_nodes {bad[:5]} are depots or out of range"
                    )
        depot_list = sorted(d for d in depots if d < n)
        if depot_list and np.any(self.prize[depot_list] != 0):
            problems.append(f"depot nodes {depot_list} must have prize 0")
        seen: set[int] = set()
        for g in self.revisit_groups:
            bad = [u for u in g.nodes if not 0 <= u < n or u in depots]
            if bad:
                problems.append(f"revisit group {g.nodes}: nodes {bad} are depots or out of range")
            if seen.intersection(g.nodes):
                problems.append(f"revisit group {g.nodes} shares nodes with another group")
            seen.update(g.nodes)
        for g in self.cover_groups:
            bad = [u for u in g.nodes if not 0 <= u < n or u in depots]
            if bad:
                problems.append(f"cover group {g.name!r}: nodes {bad} are depots or out of range")
        if self.max_wait is not None and (int(self.max_wait) != self.max_wait or self.max_wait < 0):
            problems.append(f"max_wait={self.max_wait!r} must be a non-negative integer")
        if self.balance_weight < 0 or self.travel_weight < 0:
            problems.append(
                f"balance_weight={self.balance_weight} and travel_weight={self.travel_weight} "
                "must be >= 0"
            )
        if problems:
            msg = f"PrizeVRP {self.name!r} is invalid:\n- " + "\n- ".join(problems)
            raise InputError(msg)

    @property
    def num_nodes(self) -> int:
        """Number of nodes, depots included."""
        return len(self.prize)

    @property
    def num_vehicles(self) -> int:
        """Number of vehicles."""
        return len(self.vehicles)

    @property
    def depots(self) -> frozenset[int]:
        """Nodes that are a start or an end of some vehicle."""
        return frozenset(v.start for v in self.vehicles) | frozenset(v.end for v in self.vehicles)

    @property
    def customers(self) -> tuple[int, ...]:
        """Visitable (non-depot) nodes, ascending."""
        depots = self.depots
        return tuple(i for i in range(self.num_nodes) if i not in depots)

    @functools.cached_property
    def horizon(self) -> int:
        """Latest time anything can happen: a safe upper bound on every route's end time."""
        generous = sum(int(t.max()) for t in self.travel) * self.num_nodes
        generous += int(self.service.sum())
        ends = []
        for v in self.vehicles:
            if v.latest_end is not None:
                ends.append(v.latest_end)
            elif v.max_duration is not None:
                ends.append(v.earliest_start + v.max_duration)
            else:
                ends.append(v.earliest_start + generous)
        if self.time_windows is not None:
            ends.append(int(self.time_windows[:, 1].max()))
        return int(max(ends))

    def vehicle_latest_end(self, k: int) -> int:
        """Latest end time of vehicle ``k`` (its own or the horizon)."""
        v = self.vehicles[k]
        return self.horizon if v.latest_end is None else v.latest_end

    def route_travel(self, k: int, nodes: Sequence[int]) -> int:
        """Total travel seconds of vehicle ``k`` along ``nodes`` (start and end included)."""
        t = self.travel[self.vehicles[k].profile]
        idx = np.asarray(nodes, dtype=np.int64)
        return int(t[idx[:-1], idx[1:]].sum()) if len(idx) > 1 else 0

    def schedule(self, k: int, nodes: Sequence[int]) -> tuple[int, ...]:
        """Earliest service-start times of vehicle ``k`` along ``nodes`` (waiting for windows).

        The start is the vehicle's earliest start, or later when a window needs it: with a
        ``max_wait``, a wait longer than that is moved back onto the route before it, down to
        the departure (which is delayed rather than waiting on the street).
        """
        v = self.vehicles[k]
        t = self.travel[v.profile]
        times = [v.earliest_start]
        for a, b in itertools.pairwise(nodes):
            arrive = times[-1] + int(self.service[a]) + int(t[a, b])
            if self.time_windows is not None:
                arrive = max(arrive, int(self.time_windows[b, 0]))
            times.append(arrive)
        if self.max_wait is not None and self.time_windows is not None:
            for i in range(1, len(times)):
                a, b = nodes[i - 1], nodes[i]
                wait = times[i] - times[i - 1] - int(self.service[a]) - int(t[a, b])
                if wait > self.max_wait:  # leave everything before later instead
                    shift = wait - self.max_wait
                    times[:i] = [x + shift for x in times[:i]]
        return tuple(times)


@dataclasses.dataclass(frozen=True)
class Visit:
    """A stop on a route: ``node`` with service starting at ``time`` seconds.

    Attributes
    ----------
    node
        Node index in the :class:`PrizeVRP`.
    time
        Service start (arrival, or the depot departure and return), seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> travel = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    >>> vrp = PrizeVRP(
    ...     travel=(travel,), service=[0, 60, 60], prize=[0, 5, 3],
    ...     vehicles=(Vehicle("walker", max_duration=200),),
    ... )
    >>> route = PrizeVRPSolution.from_routes(vrp, [[1, 2]]).routes[0]
    >>> route.visits[1]
    Visit(node=1, time=10)
    """

    node: int
    time: int


@dataclasses.dataclass(frozen=True)
class Route:
    """The visits of one vehicle, start and end depots included.

    Attributes
    ----------
    vehicle
        Index of the vehicle in :attr:`PrizeVRP.vehicles`.
    visits
        The :class:`Visit` objects in order, from the start depot to the end depot.

    Examples
    --------
    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> travel = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    >>> vrp = PrizeVRP(
    ...     travel=(travel,), service=[0, 60, 60], prize=[0, 5, 3],
    ...     vehicles=(Vehicle("walker", max_duration=200),),
    ... )
    >>> route = PrizeVRPSolution.from_routes(vrp, [[1, 2]]).routes[0]
    >>> route.nodes, route.stops, route.duration
    ((0, 1, 2, 0), (1, 2), 145)
    """

    vehicle: int
    visits: tuple[Visit, ...]

    @property
    def nodes(self) -> tuple[int, ...]:
        """Node sequence, depots included."""
        return tuple(v.node for v in self.visits)

    @property
    def stops(self) -> tuple[int, ...]:
        """Visited non-depot nodes in order."""
        return tuple(v.node for v in self.visits[1:-1])

    @property
    def duration(self) -> int:
        """End time minus start time, seconds."""
        return self.visits[-1].time - self.visits[0].time

    @property
    def arcs(self) -> frozenset[tuple[int, int]]:
        """Directed arcs travelled."""
        nodes = self.nodes
        return frozenset(itertools.pairwise(nodes))


@dataclasses.dataclass(frozen=True)
class PrizeVRPSolution:
    """Routes of a :class:`PrizeVRP` with their prize, drops and cover violations.

    Build with :meth:`from_routes`; the derived fields are computed from the model once.

    Attributes
    ----------
    routes
        One :class:`Route` per vehicle, in vehicle order. An unused vehicle's route is
        ``start -> end`` and is not checked for timing: the vehicle is simply not deployed.
    collected_prize
        Sum of prizes of visited nodes.
    dropped
        Non-depot nodes not visited.
    cover_violations
        Indices of cover groups with no visited node.
    travel
        Total travel seconds (each vehicle on its own profile).
    span
        Longest duration among vehicles that visit something, seconds.
    objective
        ``cost()`` value, stored.
    dropped_prize
        Sum of prizes of dropped nodes.
    runtime_s, iterations
        Solver statistics (0 when built by hand).

    Examples
    --------
    Usually returned by :func:`~gridplan.routing.solver.solve.solve_prize_vrp`; built by hand here:

    >>> import numpy as np
    >>> from gridplan.routing.solver import PrizeVRP, Vehicle
    >>> travel = np.array([[0, 10, 10], [10, 0, 5], [10, 5, 0]])
    >>> vrp = PrizeVRP(
    ...     travel=(travel,), service=[0, 60, 60], prize=[0, 5, 3],
    ...     vehicles=(Vehicle("walker", max_duration=200),),
    ... )
    >>> sol = PrizeVRPSolution.from_routes(vrp, [[1, 2]])
    >>> sol.collected_prize, sol.dropped, sol.is_feasible(vrp)
    (8, (), True)
    >>> print(sol.summary())
    prize 8, cost 0, travel 25 s, dropped 0, cover violations 0, 0.0 s, 0 iterations
      vehicle 0: 1 2  [145 s]
    """

    routes: tuple[Route, ...]
    collected_prize: int
    dropped: tuple[int, ...]
    cover_violations: tuple[int, ...]
    travel: int
    span: int
    objective: float
    dropped_prize: int = 0
    runtime_s: float = 0.0
    iterations: int = 0

    @classmethod
    def from_routes(
        cls,
        model: PrizeVRP,
        routes: Iterable[Sequence[int]] | Iterable[Route],
        *,
        runtime_s: float = 0.0,
        iterations: int = 0,
    ) -> PrizeVRPSolution:
        """Build a solution from node sequences (times from :meth:`PrizeVRP.schedule`) or Routes.

        A node sequence may omit the depots; they are added.
        """
        built = []
        for k, r in enumerate(routes):
            if isinstance(r, Route):
                built.append(r)
                continue
            v = model.vehicles[k]
            nodes = [int(u) for u in r]
            if not nodes or nodes[0] != v.start or len(nodes) == 1:
                nodes = [v.start, *nodes]
            if nodes[-1] != v.end or len(nodes) == 1:
                nodes = [*nodes, v.end]
            times = model.schedule(k, nodes)
            built.append(Route(k, tuple(Visit(u, t) for u, t in zip(nodes, times, strict=True))))
        if len(built) != model.num_vehicles:
            msg = f"solution has {len(built)} routes for {model.num_vehicles} vehicles"
            raise InputError(msg)
        visited = [u for r in built for u in r.stops]
        visited_set = set(visited)
        dropped = tuple(u for u in model.customers if u not in visited_set)
        collected = int(sum(int(model.prize[u]) for u in visited_set if u < model.num_nodes))
        violations = tuple(
            i for i, g in enumerate(model.cover_groups) if not visited_set.intersection(g.nodes)
        )
        travel = sum(model.route_travel(r.vehicle, r.nodes) for r in built)
        span = max((r.duration for r in built if r.stops), default=0)
        dropped_prize = int(model.prize.sum()) - collected
        penalty = sum(model.cover_groups[i].penalty for i in violations)
        objective = (
            dropped_prize + penalty + model.travel_weight * travel + model.balance_weight * span
        )
        return cls(
            routes=tuple(built),
            collected_prize=collected,
            dropped=dropped,
            cover_violations=violations,
            travel=int(travel),
            span=int(span),
            objective=float(objective),
            dropped_prize=int(dropped_prize),
            runtime_s=runtime_s,
            iterations=iterations,
        )

    @property
    def score(self) -> float:
        """Collected prize less cover penalties and travel/balance costs (higher is better)."""
        return self.collected_prize - (self.objective - self.dropped_prize)

    def cost(self) -> float:
        """Return dropped prize + cover penalties + travel and balance costs (lower is better)."""
        return self.objective

    def violations(self, model: PrizeVRP) -> list[str]:
        """Every hard-constraint violation, re-checked from the model (empty when feasible)."""
        out = []
        n = model.num_nodes
        if len(self.routes) != model.num_vehicles:
            return [f"{len(self.routes)} routes for {model.num_vehicles} vehicles"]
        depots = model.depots
        times: dict[int, int] = {}
        for k, r in enumerate(self.routes):
            v = model.vehicles[k]
            label = f"vehicle {k} ({v.name})"
            nodes = r.nodes
            if r.vehicle != k:
                out.append(f"{label}: route says vehicle {r.vehicle}")
            if len(nodes) < 2 or nodes[0] != v.start or nodes[-1] != v.end:
                out.append(f"{label}: route {nodes} must run from {v.start} to {v.end}")
                continue
            if any(not 0 <= u < n for u in nodes):
                out.append(f"{label}: unknown node in {nodes}")
                continue
            if len(nodes) == 2:
                continue  # an unused vehicle stays put: no timing to check
            t = model.travel[v.profile]
            for a, b in zip(r.visits[:-1], r.visits[1:], strict=True):
                earliest = a.time + int(model.service[a.node]) + int(t[a.node, b.node])
                if b.time < earliest:
                    out.append(
                        f"{label}: reaches {b.node} at {b.time} s but cannot be there before "
                        f"{earliest} s"
                    )
                elif model.max_wait is not None and b.time - earliest > model.max_wait:
                    out.append(
                        f"{label}: waits {b.time - earliest} s before {b.node}, more than "
                        f"{model.max_wait} s"
                    )
            for vis in r.visits[1:-1]:
                if vis.node in depots:
                    out.append(f"{label}: visits depot {vis.node} mid-route")
                if vis.node in times:
                    out.append(f"node {vis.node} visited more than once")
                times[vis.node] = vis.time
                if v.allowed_nodes is not None and vis.node not in v.allowed_nodes:
                    out.append(f"{label}: node {vis.node} is not in its allowed nodes")
            if model.time_windows is not None:
                for vis in r.visits:
                    lo, hi = model.time_windows[vis.node]
                    if not lo <= vis.time <= hi:
                        out.append(
                            f"{label}: node {vis.node} served at {vis.time} s outside its "
                            f"window [{lo}, {hi}]"
                        )
            if r.visits[0].time < v.earliest_start:
                out.append(f"{label}: starts at {r.visits[0].time} s before {v.earliest_start} s")
            latest = model.vehicle_latest_end(k)
            if r.visits[-1].time > latest:
                out.append(f"{label}: ends at {r.visits[-1].time} s after {latest} s")
            if v.max_duration is not None and r.duration > v.max_duration:
                out.append(f"{label}: lasts {r.duration} s, more than {v.max_duration} s")
            if v.min_duration is not None and r.duration < v.min_duration:
                out.append(f"{label}: lasts {r.duration} s, less than {v.min_duration} s")
        for g in model.revisit_groups:
            seen = [u in times for u in g.nodes]
            for k in range(1, len(seen)):
                if seen[k] and not seen[k - 1]:
                    out.append(
                        f"revisit group {g.nodes}: copy {g.nodes[k]} visited without copy "
                        f"{g.nodes[k - 1]}"
                    )
            at = sorted(times[u] for u in g.nodes if u in times)
            for a, b in itertools.pairwise(at):
                if b - a < g.min_gap:
                    out.append(
                        f"revisit group {g.nodes}: visits at {a} s and {b} s are less than "
                        f"{g.min_gap} s apart"
                    )
        return out

    def is_feasible(self, model: PrizeVRP) -> bool:
        """Whether every hard constraint of ``model`` holds (see :meth:`violations`)."""
        return not self.violations(model)

    def summary(self) -> str:
        """Return a short human-readable account of the solution."""
        lines = [
            f"prize {self.collected_prize}, cost {self.cost():g}, travel {self.travel} s, "
            f"dropped {len(self.dropped)}, cover violations {len(self.cover_violations)}, "
            f"{self.runtime_s:.1f} s, {self.iterations} iterations"
        ]
        for r in self.routes:
            stops = " ".join(str(u) for u in r.stops) or "(unused)"
            lines.append(f"  vehicle {r.vehicle}: {stops}  [{r.duration} s]")
        return "\n".join(lines)
