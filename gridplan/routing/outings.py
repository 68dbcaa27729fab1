"""Outings: a patroller's continuous availability on a date, whichever slices it spans.

A patroller free 09:00-11:30 makes one outing, although the slices split at 10:00: the
planner plans its part in each slice and carries the patroller on from where the last part
left it (:class:`OutingState`). Outings are cut only by the break rule (at most
``break_after_min`` on duty, then ``break_min`` at the start place) and by the ends of the
slices planned. Each outing gets a share of the patroller's daily on-duty limit by the risk it
can reach (:func:`day_outings`), never less than the policy's ``outing_min_min`` unless the
availability itself is shorter: a share that small goes to the patroller's other outings.

Times are wall-clock minutes after midnight of the plan's date (a night slice runs past 1440).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from collections.abc import Sequence

import pandas as pd

from gridplan.routing._shares import water_fill
from gridplan.station.roster import DAY_MIN
from gridplan.station.roster import Patroller
from gridplan.station.timeslices import TimeSlice


@dataclasses.dataclass(frozen=True)
class Outing:
    """One continuous stretch a patroller is available and may be out on patrol.

    Attributes
    ----------
    patroller
        The roster entry.
    index
        1, 2, ... in time order among the patroller's outings of the date.
    start_min, end_min
        Wall-clock minutes after midnight of the date (``end_min`` may pass 1440).
    budget_min
        Minutes of duty the outing may use (its share of ``max_duty_min``); ``None`` when the
        day's limit is taken first come (``duty_split = "first"``).
    after_break
        Whether a break at the start place comes right before it (the break rule split a
        longer availability).

    Examples
    --------
    >>> from gridplan.station.roster import parse_patroller
    >>> p = parse_patroller({"id": "V1", "role": "volunteer_team", "mode": "walk",
    ...                      "availability": {"daily": ["09:00-11:30"]}}, index=0, source="x")
    >>> Outing(p, 1, 540, 690, 150.0).overlap(600, 960)
    (600, 690)
    """

    patroller: Patroller
    index: int
    start_min: int
    end_min: int
    budget_min: float | None = None
    after_break: bool = False

    @property
    def key(self) -> tuple[str, int]:
        """``(patroller id, index)``: the outing's identity within a plan."""
        return (self.patroller.id, self.index)

    @property
    def length_min(self) -> int:
        """Minutes from its start to its end."""
        return self.end_min - self.start_min

    def overlap(self, start_min: int, end_min: int) -> tuple[int, int] | None:
        """Return the part of the outing inside ``[start_min, end_min)``, or ``None``."""
        lo, hi = max(self.start_min, start_min), min(self.end_min, end_min)
        return (lo, hi) if hi > lo else None


@dataclasses.dataclass(frozen=True)
class OutingState:
    """Where an outing stands at the end of the slices planned so far.

    Attributes
    ----------
    used_min
        Minutes of duty its parts used so far.
    place
        The micro-grid the patroller is at when the outing carries on into the next slice
        (``None``: back at the start place, or not out yet).
    free_at
        When the patroller leaves ``place`` (tz-aware), when carrying on.
    went_out
        Whether any part of it went out (a later part that starts from the station is then
        another outing, and must be worth making on its own).
    """

    used_min: float = 0.0
    place: str | None = None
    free_at: dt.datetime | None = None
    went_out: bool = False


def outing_floor(outing_min: int, available_min: float, p: Patroller) -> int:
    """Return the shortest outing a patroller must make when it goes out, minutes.

    The policy's ``outing_min_min``; no minimum when the availability left, or the
    patroller's whole day (``max_duty_min``), is no longer than that (then any outing is as
    long as one can be).
    """
    if available_min <= outing_min or p.max_duty_min <= outing_min:
        return 0
    return int(outing_min)


def _windows(p: Patroller, date: dt.date) -> list[tuple[int, int]]:
    """Return the windows from the day before to the day after, merged where they touch."""
    wd = date.weekday()
    raw = sorted(
        (a + offset * DAY_MIN, b + offset * DAY_MIN)
        for offset in (-1, 0, 1)
        for a, b in p.windows_on((wd + offset) % 7)
    )
    merged: list[tuple[int, int]] = []
    for a, b in raw:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _spans(slices: Sequence[TimeSlice]) -> list[tuple[int, int]]:
    """Return the stretches of the day the chosen slices cover, merged where they touch."""
    out: list[tuple[int, int]] = []
    for ts in sorted(slices, key=lambda s: s.start_min):
        a, b = ts.start_min, ts.start_min + ts.duration_min
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _stretches(p: Patroller, a: int, b: int) -> list[tuple[int, int, bool]]:
    """Cut ``[a, b)`` by the break rule: ``(start, end, after_break)`` in time order."""
    if not (p.break_after_min > 0 and p.break_min > 0):
        return [(a, b, False)]
    out, t = [], a
    while t < b:
        end = min(b, t + p.break_after_min)
        out.append((t, end, bool(out)))
        t = end + p.break_min
    return out


def patroller_outings(
    p: Patroller, date: dt.date, slices: Sequence[TimeSlice]
) -> list[tuple[int, int, bool]]:
    """Return a patroller's outings on ``date`` within the slices: ``(start, end, after_break)``."""
    out = []
    for wa, wb in _windows(p, date):
        for sa, sb in _spans(slices):
            lo, hi = max(wa, sa), min(wb, sb)
            if hi > lo:
                out += _stretches(p, lo, hi)
    return sorted(out)


def _risk_per_min(
    hotspots: pd.DataFrame, base_of: Mapping[str, str], slices: Sequence[TimeSlice]
) -> dict[str, pd.Series]:
    """Per slice, the hot-spot score per base grid divided by the slice's minutes."""
    frame = pd.DataFrame(
        {
            "slice": hotspots["slice"].astype(str).to_numpy(),
            "base": hotspots["id"].astype(str).map(base_of).to_numpy(),
            "score": pd.to_numeric(hotspots["score"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    risk = frame.groupby(["slice", "base"])["score"].sum()
    out = {}
    for ts in slices:
        rows = (
            risk.loc[ts.id] if ts.id in risk.index.get_level_values(0) else pd.Series(dtype=float)
        )
        out[ts.id] = rows / max(ts.duration_min, 1)
    return out


def _weight(
    p: Patroller, span: tuple[int, int], slices: Sequence[TimeSlice], risk: dict[str, pd.Series]
) -> float:
    """Risk an outing can reach: minutes in each slice times the risk per minute there."""
    total = 0.0
    for ts in slices:
        cut = (max(span[0], ts.start_min), min(span[1], ts.start_min + ts.duration_min))
        if cut[1] <= cut[0]:
            continue
        rows = risk[ts.id]
        if p.home_bases:
            rows = rows[rows.index.isin(list(p.home_bases))]
        total += (cut[1] - cut[0]) * float(rows.sum())
    return total


def _share(budget: float, lengths: list[float], weights: list[float], floor: float) -> list[float]:
    """Split ``budget`` over outings by weight, none above its length nor below the floor.

    Water filling by weight (by length when no outing has any weight); an outing whose share
    would be under ``min(floor, its length)`` gets nothing and the others share again.
    """
    live = [i for i in range(len(lengths)) if lengths[i] > 0]
    while True:
        weight = [
            weights[i] if any(weights[j] > 0 for j in live) else lengths[i]
            for i in range(len(lengths))
        ]
        caps = [lengths[i] if i in live else 0.0 for i in range(len(lengths))]
        share = water_fill(budget, caps, weight)
        short = [i for i in live if share[i] < min(floor, lengths[i]) - 1e-6]
        if not short:
            return share
        live.remove(min(short, key=lambda i: (share[i], -i)))


def day_outings(
    roster: Sequence[Patroller],
    date: dt.date,
    slices: Sequence[TimeSlice],
    *,
    hotspots: pd.DataFrame,
    base_of: Mapping[str, str],
    outing_min: int,
    by_risk: bool = True,
) -> tuple[Outing, ...]:
    """Every patroller's outings on ``date`` within ``slices``, with their duty budgets.

    Parameters
    ----------
    roster
        The patrollers (home bases resolved to base grid ids).
    date
        The date the day's first slice starts on.
    slices
        The slices planned that day.
    hotspots
        The hot-spot frame (``id``, ``slice``, ``score``).
    base_of
        Micro-grid id -> base grid id.
    outing_min
        The policy's shortest outing worth making, minutes.
    by_risk
        Share each patroller's ``max_duty_min`` over its outings by the risk each can reach
        (``duty_split = "risk"``); ``False`` leaves ``budget_min`` at ``None`` (first come).

    Returns
    -------
    tuple of Outing
        In patroller order, then time order; outings given no minutes have ``budget_min`` 0.
    """
    risk = _risk_per_min(hotspots, base_of, slices)
    out: list[Outing] = []
    for p in roster:
        spans = patroller_outings(p, date, slices)
        budgets: list[float | None] = [None] * len(spans)
        if by_risk and spans:
            lengths = [float(b - a) for a, b, _ in spans]
            weights = [_weight(p, (a, b), slices, risk) for a, b, _ in spans]
            budgets = list(_share(float(p.max_duty_min), lengths, weights, float(outing_min)))
        for k, ((a, b, after), budget) in enumerate(zip(spans, budgets, strict=True), start=1):
            out.append(Outing(p, k, a, b, budget, after))
    return tuple(out)


__all__ = ["Outing", "OutingState", "day_outings", "outing_floor", "patroller_outings"]
