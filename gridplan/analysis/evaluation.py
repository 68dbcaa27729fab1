"""Does it work? Incidents in patrolled and unpatrolled hot spots, before and after.

:func:`evaluate_patrols` takes the station's hot spots of a *before* period (the ``top_n``
micro-grids by incidents then, or a list given), splits them by the presence tracks found
there in an *after* period (at least ``min_minutes``: patrolled; less: not), and counts the
incidents of each group in both periods:

- per group: micro-grids, incidents before and after, and the rate per micro-grid per 30
  days in each period (periods of different lengths compare), its change and relative change;
- the **difference in differences**: the patrolled group's change in that rate less the
  unpatrolled group's (negative: incidents fell more, or rose less, where patrols were);
- the **ratio of ratios** ``(after_p / before_p) / (after_u / before_u)`` with a rough 95 %
  interval (counts taken as Poisson and nothing else as varying:
  ``exp(log ratio +- 1.96 sqrt(1/a + 1/b + 1/c + 1/d))``); below 1 favours patrols.

Caveats, stated with every result (:data:`CAVEATS`), because such a comparison is not an
experiment (the hot-spot policing trials randomise which hot spots are patrolled; Braga,
Turchan, Papachristos & Hureau 2019, Campbell Systematic Reviews, doi:10.1002/cl2.1046):

- **regression to the mean**: places picked for many incidents in one period tend to have
  fewer in the next, patrolled or not; the unpatrolled hot spots show how much, but only if
  the two groups were alike before;
- **selection**: patrols go where the risk is highest or rising, or where patrollers like to
  go; the two groups may differ in ways the counts do not show;
- **displacement and diffusion**: crime may move to the streets next door, or fall there
  too (diffusion of benefits); unpatrolled hot spots near patrolled ones are not untouched;
- **recording**: patrols see and record incidents that would otherwise go unreported, so
  recorded incidents can rise where patrols are, even when crime falls;
- **small numbers**: a few incidents more or less change the figures a lot; the interval
  says how much chance alone can do, and it is wide.

Specific warnings (:attr:`PatrolEvaluation.warnings`) add what the data show: a group that is
empty or has few incidents, hot spots already patrolled in the before period, patrolled hot
spots that were busier before than the others, periods that overlap.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._validate import presence_frame
from gridplan.analysis._aggregate import aggregate
from gridplan.analysis._aggregate import check_incidents
from gridplan.analysis._aggregate import locate_points
from gridplan.analysis._aggregate import micro_cells
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config
from gridplan.station.timeslices import ALL_DAY
from gridplan.station.timeslices import Period
from gridplan.station.timeslices import parse_period

#: Days the rates are given per.
RATE_DAYS = 30

#: Fewer incidents than this in a group and period: the figures rest on small numbers.
FEW_INCIDENTS = 20

#: Patrolled hot spots busier before than the others by this factor: regression to the mean
#: alone may make them fall more.
BUSIER = 1.25

#: Groups, in report order.
GROUPS = ("patrolled", "not_patrolled")

#: Columns of :attr:`PatrolEvaluation.cells`.
CELL_COLUMNS = (
    "id",
    "name",
    "before",
    "after",
    "minutes_before",
    "minutes_after",
    "patrolled",
)

#: Columns of :attr:`PatrolEvaluation.groups`.
GROUP_COLUMNS = (
    "group",
    "cells",
    "before",
    "after",
    "before_rate",
    "after_rate",
    "change",
    "change_share",
)

CAVEAT_MEAN = define(
    "evaluation.caveat.regression",
    N_(
        "Regression to the mean: places picked because they had many incidents tend to have "
        "fewer later, patrolled or not. The unpatrolled hot spots show how much, but only if "
        "the two groups were alike before."
    ),
)
CAVEAT_SELECTION = define(
    "evaluation.caveat.selection",
    N_(
        "Selection: patrols went where the risk was highest or rising, or where patrollers "
        "chose to go; the groups may differ in ways the counts do not show. This is not a "
        "randomised trial."
    ),
)
CAVEAT_DISPLACEMENT = define(
    "evaluation.caveat.displacement",
    N_(
        "Displacement and diffusion: crime may move to nearby streets, or fall there too; "
        "unpatrolled hot spots next to patrolled ones are not untouched."
    ),
)
CAVEAT_RECORDING = define(
    "evaluation.caveat.recording",
    N_(
        "Recording: patrols see and record incidents that would otherwise go unreported, so "
        "recorded incidents can rise where patrols are even when crime falls."
    ),
)
CAVEAT_SMALL = define(
    "evaluation.caveat.small_numbers",
    N_(
        "Small numbers: a few incidents more or less change these figures a lot; the interval "
        "shows how much chance alone can do."
    ),
)
#: What every evaluation says with its figures.
CAVEATS = (CAVEAT_MEAN, CAVEAT_SELECTION, CAVEAT_DISPLACEMENT, CAVEAT_RECORDING, CAVEAT_SMALL)

_W_EMPTY = define(
    "evaluation.empty_group",
    N_(
        "no %(group)s hot spot: there is nothing to compare with; change the minutes that "
        "make a hot spot patrolled, or take more hot spots"
    ),
)
_W_FEW = define(
    "evaluation.few",
    N_(
        "the %(group)s hot spots had %(n)d incidents %(period)s: too few for the change to "
        "mean much"
    ),
)
_W_BUSIER = define(
    "evaluation.busier",
    N_(
        "the patrolled hot spots had %(ratio).1f times the incidents per micro-grid of the "
        "others before: regression to the mean alone would make them fall more"
    ),
)
_W_PATROLLED_BEFORE = define(
    "evaluation.patrolled_before",
    N_(
        "%(n)d of the hot spots already had %(min).0f minutes of patrol or more in the before "
        "period: it is not a period without patrols"
    ),
)
_W_OVERLAP = define(
    "evaluation.overlap",
    N_("the before and after periods overlap: incidents in both count twice"),
)
_GROUP_NAMES = {
    "patrolled": define("evaluation.group.patrolled", N_("patrolled")),
    "not_patrolled": define("evaluation.group.not_patrolled", N_("unpatrolled")),
}
_PERIODS = {
    "before": define("evaluation.period.before", N_("in the before period")),
    "after": define("evaluation.period.after", N_("in the after period")),
}


@dataclasses.dataclass(frozen=True)
class PatrolEvaluation:
    """Incidents in patrolled and unpatrolled hot spots, before and after (see the module).

    Attributes
    ----------
    before, after
        The two periods.
    slice_id
        The time slice counted (``"all"``: the whole day).
    min_minutes
        Minutes of presence in the after period that make a hot spot patrolled.
    cells
        One row per hot spot (:data:`CELL_COLUMNS`): incidents before and after, minutes of
        presence in each period, and whether it counts as patrolled.
    groups
        One row per group (:data:`GROUP_COLUMNS`): micro-grids, incidents, rates per
        micro-grid per :data:`RATE_DAYS` days, their change and relative change.
    difference
        The difference in differences of those rates (patrolled change less unpatrolled
        change), ``None`` when a group is empty.
    ratio, interval
        The ratio of ratios and its rough 95 % interval, ``None`` when a count is 0.
    warnings
        What the data show to be careful about (beside :data:`CAVEATS`).

    Examples
    --------
    Two hot spots patrolled, two not; incidents fell by half in the first and not in the
    others:

    >>> import geopandas as gpd, pandas as pd, shapely
    >>> grid = gpd.GeoDataFrame({
    ...     "id": ["S", "S-B1", "S-B1-M1", "S-B1-M2", "S-B1-M3", "S-B1-M4"],
    ...     "level": ["station", "base", "micro", "micro", "micro", "micro"],
    ...     "parent_id": [None, "S", "S-B1", "S-B1", "S-B1", "S-B1"],
    ...     "name": ["", "", "a", "b", "c", "d"]},
    ...     geometry=[shapely.box(0, 0, 4, 1)] * 2 + [shapely.box(i, 0, i + 1, 1)
    ...                                              for i in range(4)], crs=32650)
    >>> points, times = [], []
    >>> for cell, (before, after) in enumerate([(10, 5), (10, 5), (10, 10), (10, 10)]):
    ...     points += [shapely.Point(cell + 0.5, 0.5)] * (before + after)
    ...     times += ["2024-01-15"] * before + ["2024-02-15"] * after
    >>> incidents = gpd.GeoDataFrame({"time": pd.to_datetime(times)}, geometry=points,
    ...                              crs=32650)
    >>> presence = {"date": "2024-02-10", "slice": "day", "minutes": 120,
    ...             "micro_id": ["S-B1-M1", "S-B1-M2"]}
    >>> ev = evaluate_patrols(incidents, presence, grid, before="2024-01", after="2024-02")
    >>> ev.groups[["group", "cells", "before", "after"]].values.tolist()
    [['patrolled', 2, 20, 10], ['not_patrolled', 2, 20, 20]]
    >>> ev.ratio
    0.5
    """

    before: Period
    after: Period
    slice_id: str
    min_minutes: float
    cells: pd.DataFrame
    groups: pd.DataFrame
    difference: float | None
    ratio: float | None
    interval: tuple[float, float] | None
    warnings: tuple[Message, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict: periods, groups, the two figures, warnings and caveats."""
        return {
            "before": str(self.before),
            "after": str(self.after),
            "slice": self.slice_id,
            "min_minutes": self.min_minutes,
            "rate_days": RATE_DAYS,
            "groups": json_records(self.groups),
            "difference_in_differences": self.difference,
            "ratio_of_ratios": self.ratio,
            "ratio_interval_95": None if self.interval is None else list(self.interval),
            "cells": json_records(self.cells),
            "warnings": [str(w) for w in self.warnings],
            "caveats": [str(c()) for c in CAVEATS],
        }

    def to_text(self) -> str:
        """Return the report: the groups, the two figures, then the warnings and caveats."""
        lines = [
            f"Patrol evaluation: {len(self.cells)} hot spots, before {self.before} "
            f"({self.before.days} d), after {self.after} ({self.after.days} d), "
            f"slice {self.slice_id}; patrolled = {self.min_minutes:g} min of presence or more "
            "in the after period",
            f"{'group':<14} {'cells':>5} {'before':>7} {'after':>7} "
            f"{'rate before':>12} {'rate after':>11} {'change':>8}",
        ]
        for r in self.groups.itertuples(index=False):
            share = "" if _missing(r.change_share) else f" ({r.change_share:+.0%})"
            lines.append(
                f"{_GROUP_NAMES[r.group]():<14} {r.cells:>5} {r.before:>7} {r.after:>7} "
                f"{_num(r.before_rate):>12} {_num(r.after_rate):>11} "
                f"{_num(r.change, sign=True):>8}{share}"
            )
        lines.append(f"rates: incidents per micro-grid per {RATE_DAYS} days")
        if self.difference is not None:
            lines.append(
                f"difference in differences: {self.difference:+.2f} incidents per micro-grid "
                f"per {RATE_DAYS} days (below 0: fewer where patrols were)"
            )
        if self.ratio is not None and self.interval is not None:
            lo, hi = self.interval
            lines.append(
                f"ratio of ratios: {self.ratio:.2f} (rough 95 % interval {lo:.2f}-{hi:.2f}; "
                "below 1 favours patrols; an interval that spans 1 is no evidence either way)"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append("Read with care:")
        lines += [f"- {c()}" for c in CAVEATS]
        return "\n".join(lines)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts (NumPy numbers as Python ones, NaN as None)."""
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean[k] = v
        out.append(clean)
    return out


def _missing(value: Any) -> bool:
    return value is None or not math.isfinite(value)


def _num(value: float | None, *, sign: bool = False) -> str:
    if _missing(value):
        return "-"
    return f"{value:+.2f}" if sign else f"{value:.2f}"


def _hot_spots(
    cells: gpd.GeoDataFrame, before: np.ndarray, top_n: int, hotspot_ids: Sequence[str] | None
) -> np.ndarray:
    """Return the hot spots' rows: the ids given, else the ``top_n`` busiest before (by id)."""
    ids = cells["id"].to_numpy(dtype=str)
    if hotspot_ids is not None:
        wanted = [str(i) for i in hotspot_ids]
        unknown = sorted(set(wanted) - set(ids))
        if unknown:
            msg = (
                f"hot spots {', '.join(unknown[:10])} are not micro-grids of the grid; use ids "
                f"such as {', '.join(ids[:3])}"
            )
            raise InputError(msg)
        return np.flatnonzero(np.isin(ids, wanted))
    order = np.lexsort((ids, -before))
    order = order[before[order] > 0]
    return np.sort(order[:top_n])


def _minutes_in(table: pd.DataFrame, period: Period, ids: np.ndarray) -> np.ndarray:
    first, last = period.first.date(), period.last.date()
    rows = table[(table["date"] >= first) & (table["date"] <= last)]
    by_cell = rows.groupby("micro_id")["minutes"].sum()
    return by_cell.reindex(ids).fillna(0.0).to_numpy(dtype=float)


def _group_rows(frame: pd.DataFrame, before: Period, after: Period) -> pd.DataFrame:
    rows = []
    for group, patrolled in zip(GROUPS, (True, False), strict=True):
        part = frame[frame["patrolled"] == patrolled]
        n, b, a = len(part), int(part["before"].sum()), int(part["after"].sum())
        rate_b = b / n / before.days * RATE_DAYS if n else None
        rate_a = a / n / after.days * RATE_DAYS if n else None
        change = None if rate_b is None else rate_a - rate_b
        share = rate_a / rate_b - 1 if rate_b else None
        rows.append((group, n, b, a, rate_b, rate_a, change, share))
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))


def _ratio(groups: pd.DataFrame) -> tuple[float | None, tuple[float, float] | None]:
    """Ratio of ratios and its rough 95 % interval (counts as Poisson), or None."""
    p, u = groups.iloc[0], groups.iloc[1]
    counts = [p["before"], p["after"], u["before"], u["after"]]
    if min(counts) <= 0:
        return None, None
    ratio = (p["after"] / p["before"]) / (u["after"] / u["before"])
    se = math.sqrt(sum(1.0 / c for c in counts))
    lo, hi = ratio * math.exp(-1.96 * se), ratio * math.exp(1.96 * se)
    return round(float(ratio), 4), (round(float(lo), 4), round(float(hi), 4))


def _warnings(
    frame: pd.DataFrame, groups: pd.DataFrame, before: Period, after: Period, min_minutes: float
) -> list[Message]:
    out: list[Message] = []
    for r in groups.itertuples(index=False):
        name = _GROUP_NAMES[r.group]()
        if r.cells == 0:
            out.append(_W_EMPTY(group=name))
            continue
        for period in ("before", "after"):
            n = getattr(r, period)
            if n < FEW_INCIDENTS:
                out.append(_W_FEW(group=name, n=n, period=_PERIODS[period]()))
    p, u = groups.iloc[0], groups.iloc[1]
    if (
        p["cells"]
        and u["cells"]
        and u["before_rate"]
        and p["before_rate"] > BUSIER * u["before_rate"]
    ):
        out.append(_W_BUSIER(ratio=p["before_rate"] / u["before_rate"]))
    already = int((frame["minutes_before"] >= min_minutes).sum())
    if already:
        out.append(_W_PATROLLED_BEFORE(n=already, min=min_minutes))
    if before.first <= after.last and after.first <= before.last:
        out.append(_W_OVERLAP())
    return out


def evaluate_patrols(
    incidents: gpd.GeoDataFrame,
    presence: Any,
    grid: gpd.GeoDataFrame,
    *,
    before: Period | str | tuple,
    after: Period | str | tuple,
    top_n: int = 20,
    min_minutes: float = 60.0,
    hotspot_ids: Sequence[str] | None = None,
    slice_id: str = ALL_DAY,
    config: StationConfig | None = None,
) -> PatrolEvaluation:
    """Compare incidents in patrolled and unpatrolled hot spots before and after patrols.

    Read the module docstring (and the result's caveats) before the figures: this is not a
    randomised trial, and the figures can mislead.

    Parameters
    ----------
    incidents
        The INCIDENTS frame (:func:`~gridplan.import_incidents`) covering both periods.
    presence
        Minutes of presence per micro-grid and shift date (a presence table, see
        :func:`~gridplan._validate.presence_frame`).
    grid
        The 1+5+N GRID frame.
    before, after
        The periods (whole days, inclusive: ``"2024-01:2024-03"``, see
        :func:`~gridplan.parse_period`); the hot spots are those of ``before``, patrols are
        counted in ``after``.
    top_n
        How many micro-grids, the busiest of ``before``, are the hot spots (those without
        incidents then are not).
    min_minutes
        Minutes of presence in ``after`` that make a hot spot patrolled.
    hotspot_ids
        The hot spots' micro-grid ids instead of the ``top_n`` busiest.
    slice_id
        Count only incidents of this time slice (``"all"``: the whole day).
    config
        The station config (timezone, slices); default :func:`~gridplan.default_config`.

    Returns
    -------
    PatrolEvaluation

    Raises
    ------
    InputError
        Bad periods, ``top_n`` below 1, negative ``min_minutes``, an unknown slice or hot
        spot, incidents without times, a presence table with missing columns or bad rows.

    Examples
    --------
    >>> ev = evaluate_patrols(incidents, presence, grid, before="2024-01:2024-03",
    ...                       after="2024-04:2024-06")  # doctest: +SKIP
    >>> print(ev.to_text())  # doctest: +SKIP
    """
    config = config or default_config()
    before, after = parse_period(before), parse_period(after)
    if isinstance(top_n, bool) or int(top_n) != top_n or top_n < 1:
        msg = f"top_n = {top_n!r} must be a whole number of hot spots, 1 or more"
        raise InputError(msg)
    if not (math.isfinite(min_minutes) and min_minutes >= 0):
        msg = f"min_minutes = {min_minutes!r} must be a number of minutes, 0 or more"
        raise InputError(msg)
    known = [ALL_DAY, *(s.id for s in config.slices)]
    if slice_id not in known:
        msg = f"unknown time slice {slice_id!r}; the station config defines {', '.join(known)}"
        raise InputError(msg)
    check_incidents(incidents)
    table = presence_frame(presence)
    cells = micro_cells(grid)
    points = incidents.geometry
    if incidents.crs != cells.crs:
        points = points.to_crs(cells.crs)
    where = locate_points(cells.geometry, np.asarray(points.values))
    counts = {}
    for name, period in (("before", before), ("after", after)):
        agg = aggregate(cells, incidents, config, period, cell_index=where)
        counts[name] = agg.counts[:, agg.slice_ids.index(slice_id)]
    hot = _hot_spots(cells, counts["before"], int(top_n), hotspot_ids)
    ids = cells["id"].to_numpy(dtype=str)[hot]
    frame = pd.DataFrame(
        {
            "id": ids,
            "name": cells["name"].to_numpy(dtype=str)[hot],
            "before": counts["before"][hot].astype(int),
            "after": counts["after"][hot].astype(int),
            "minutes_before": _minutes_in(table, before, ids),
            "minutes_after": _minutes_in(table, after, ids),
        }
    )
    frame["patrolled"] = frame["minutes_after"] >= min_minutes
    groups = _group_rows(frame, before, after)
    p, u = groups.iloc[0], groups.iloc[1]
    difference = None
    if not (_missing(p["change"]) or _missing(u["change"])):
        difference = p["change"] - u["change"]
    ratio, interval = _ratio(groups)
    return PatrolEvaluation(
        before=before,
        after=after,
        slice_id=slice_id,
        min_minutes=float(min_minutes),
        cells=frame,
        groups=groups,
        difference=None if difference is None else round(float(difference), 4),
        ratio=ratio,
        interval=interval,
        warnings=tuple(_warnings(frame, groups, before, after, min_minutes)),
    )


__all__ = [
    "CAVEATS",
    "CELL_COLUMNS",
    "GROUP_COLUMNS",
    "RATE_DAYS",
    "PatrolEvaluation",
    "evaluate_patrols",
]
