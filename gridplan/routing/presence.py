"""Where the patrollers are, minute by minute: response coverage and waiting time of routes.

The planner (:mod:`gridplan.routing.plan`, on the solver's travel matrices) and the plan
checker (:mod:`gridplan.routing.check`, on travel times it computes afresh) both measure a
plan's presence here, each with its own :class:`TravelTimes`, so that a plan file whose
metrics disagree with its routes is found.

Where a patroller is at time ``t`` of a slice (seconds from the slice start):

- outside the duty window of the route (:class:`~gridplan.routing.plan.Duty`): not there, it
  covers nothing (a patroller not on duty is not counted, even at the station);
- on duty before the route starts: at its start place (the station, or the micro-grid its
  roster names); after the route ends: at its end place;
- from arrival to departure of a stop: at the stop;
- on a leg from place ``a`` (left at ``t0``) to ``b`` (arrival ``t1``), which takes ``T``
  seconds of travel: travelling for the first ``T`` seconds, then waiting at ``b`` until
  ``t1`` (a route waits where it goes next). While travelling, ``e = t - t0`` seconds after
  leaving, a micro-grid is within reach ``R`` if ``a`` reaches it in ``R - e`` (back the way
  it came) or ``b`` reaches it in ``R - (T - e)`` (on to the next place).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import numpy as np

#: The response-time target: incidents within this travel time of a patrol count as covered.
RESPONSE_S = 8 * 60

#: Response coverage is sampled once a minute, in the middle of each minute of the slice.
SAMPLE_S = 60


def _seconds(a: dt.datetime, b: dt.datetime) -> float:
    """Real seconds from ``a`` to ``b`` (aware datetimes; UTC, so DST changes count)."""
    return (b.astimezone(dt.UTC) - a.astimezone(dt.UTC)).total_seconds()


@dataclasses.dataclass(frozen=True)
class Place:
    """A place a route passes: its id (``"station"`` or a micro-grid), street node, lon/lat.

    A key road section is entered at its start and left at its end: ``leave`` is where the
    route leaves from (``None``: the place itself).
    """

    id: str
    node: int | None
    lonlat: tuple[float, float] | None
    leave: Place | None = None

    @property
    def exit(self) -> Place:
        """Where the route leaves this place from."""
        return self.leave or self


class TravelTimes(Protocol):
    """Travel seconds on a route's own profile and speed (``route.duty``)."""

    def leg(self, route, a: Place, b: Place) -> float | None:
        """Seconds from ``a`` to ``b`` (``None`` when there is no path)."""

    def reach(self, route, a: Place) -> np.ndarray:
        """Seconds from ``a`` to each weighted micro-grid, ``inf`` where there is no path."""


def route_places(route) -> list[Place]:
    """Return the start place, every stop and the end place of a route, in order."""
    d = route.duty
    start = Place(route.start_place, d.start_node if d else None, d.start_lonlat if d else None)
    end = Place(route.end_place, d.end_node if d else None, d.end_lonlat if d else None)
    stops = [_stop_place(p) for p in route.stops]
    if getattr(route, "continues", False) and stops:  # the outing goes on from the last stop
        end = stops[-1]
    return [start, *stops, end]


def _stop_place(p) -> Place:
    """Return a stop as a place; a key target by its place ids (routing/targets.py)."""
    target = getattr(p, "target_id", "")
    if not target:
        return Place(p.micro_id, p.street_node, (p.lon, p.lat))
    if p.kind != "line":
        return Place(f"target:{target}", p.street_node, (p.lon, p.lat))
    leave = Place(f"target:{target}@end", p.end_street_node, p.end_lonlat)
    return Place(f"target:{target}@start", p.street_node, (p.lon, p.lat), leave)


def waiting_s(route, times: TravelTimes) -> float:
    """Seconds of a route spent neither travelling nor at a stop (0 for a route not deployed).

    The route's length less its dwell and the travel time of each leg; a leg with no path
    counts as all travel.
    """
    if not route.stops:
        return 0.0
    places = route_places(route)
    departs = [route.start] + [p.departure for p in route.stops]
    arrives = [p.arrival for p in route.stops] + [route.end]
    wait = 0.0
    for i in range(len(places) - 1):
        gap = _seconds(departs[i], arrives[i])
        travel = times.leg(route, places[i].exit, places[i + 1])
        wait += max(0.0, gap - (gap if travel is None else travel))
    return wait


def _intervals(route, places, times: TravelTimes, slice_start):
    """Yield ``(t0, t1, a, b, travel_s)``: at place ``a`` when ``b`` is None, else a leg."""
    d = route.duty
    start, end = _seconds(slice_start, route.start), _seconds(slice_start, route.end)
    w0 = _seconds(slice_start, d.window_start) if d else start
    w1 = _seconds(slice_start, d.window_end) if d else end
    yield w0, start, 0, None, 0.0
    if route.stops:
        departs = [start] + [_seconds(slice_start, p.departure) for p in route.stops]
        arrives = [_seconds(slice_start, p.arrival) for p in route.stops] + [end]
        for i in range(len(places) - 1):
            travel = times.leg(route, places[i].exit, places[i + 1])
            gap = arrives[i] - departs[i]
            yield departs[i], arrives[i], i, i + 1, gap if travel is None else min(travel, gap)
            if i < len(route.stops):
                yield arrives[i], departs[i + 1], i + 1, None, 0.0
    yield end, w1, len(places) - 1, None, 0.0


def covered_minutes(
    routes: Sequence,
    times: TravelTimes,
    *,
    slice_start: dt.datetime,
    slice_end: dt.datetime,
    n_cells: int,
    response_s: float = RESPONSE_S,
) -> np.ndarray:
    """Return a ``(minutes, cells)`` boolean array: whether some patroller reaches each cell.

    Each minute of the slice is sampled in its middle (second 30); see the module docstring
    for where a patroller is. ``times.reach`` gives the columns (``n_cells`` of them).
    """
    horizon = _seconds(slice_start, slice_end)
    t = np.arange(SAMPLE_S / 2, horizon, SAMPLE_S)
    covered = np.zeros((len(t), n_cells), dtype=bool)
    for route in routes:
        places = route_places(route)
        rows: dict[int, np.ndarray] = {}

        def row(i: int, places=places, rows=rows, route=route) -> np.ndarray:
            if i not in rows:
                rows[i] = np.asarray(times.reach(route, places[i]), dtype=float)
            return rows[i]

        for t0, t1, a, b, travel in _intervals(route, places, times, slice_start):
            mask = (t >= t0) & (t < t1)
            if not mask.any():
                continue
            if b is None:
                covered[mask] |= row(a)[None, :] <= response_s
                continue
            e = (t[mask] - t0)[:, None]
            moving = e < travel
            back = moving & (row(a)[None, :] + e <= response_s)
            ahead = row(b)[None, :] + np.maximum(travel - e, 0.0) <= response_s
            covered[mask] |= back | ahead
    return covered


def response_coverage(
    routes: Sequence,
    weights: Sequence[float],
    times: TravelTimes,
    *,
    slice_start: dt.datetime,
    slice_end: dt.datetime,
    response_s: float = RESPONSE_S,
) -> float | None:
    """Share of the weighted micro-grids within ``response_s`` of some patroller, minute-averaged.

    Parameters
    ----------
    routes
        The slice's routes (:class:`~gridplan.routing.plan.PatrolRoute`, with their duty).
    weights
        Weight of each micro-grid ``times.reach`` answers for (the slice's incidents there).
    times
        Travel times on each route's profile.
    slice_start, slice_end
        The slice.
    response_s
        The response-time target.

    Returns
    -------
    float or None
        The mean over the slice's minutes of the weighted share of micro-grids some patroller
        on duty could reach in time (0 for a minute when nobody is on duty); ``None`` when the
        weights are all 0 or the slice is empty.

    Examples
    --------
    >>> response_coverage(  # doctest: +SKIP
    ...     sp.routes, weights, times, slice_start=sp.start, slice_end=sp.end
    ... )
    0.41
    """
    w = np.asarray(weights, dtype=float)
    total = float(w.sum())
    covered = covered_minutes(
        routes,
        times,
        slice_start=slice_start,
        slice_end=slice_end,
        n_cells=len(w),
        response_s=response_s,
    )
    if total <= 0 or not len(covered):
        return None
    return float((covered @ w).mean() / total)


__all__ = [
    "RESPONSE_S",
    "SAMPLE_S",
    "Place",
    "TravelTimes",
    "covered_minutes",
    "response_coverage",
    "route_places",
    "waiting_s",
]
