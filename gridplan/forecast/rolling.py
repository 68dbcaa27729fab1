"""Rolling-origin back-test of forecast methods, and choosing the one that wins.

For every origin (a local date, e.g. every Monday of a year) each method is fitted on the
days strictly before the origin (:class:`~gridplan.forecast.history.History`), and scored on
the ``horizon_days`` from the origin on, per slice: the micro-grids it ranks highest are taken
until they cover the area share (the rule of :func:`gridplan.analysis.backtesting.select_cells`,
the same micro-grids and share for every method; ties by the prior count, then the id), and

- ``hit_rate``: the horizon's incidents in them / all the horizon's incidents of the slice;
- ``pai``: hit rate / area share taken (Chainey et al. 2008);
- ``pei``: PAI / the PAI of the best possible selection (Hunt 2016);
- ``harm_pai``: the PAI of the incidents weighted by severity.

A slice with no incident in an origin's horizon has NaN figures there and is left out of that
slice's means. :func:`choose_methods` picks, per slice, the method with the best mean PAI
over origins whose horizon ends before a cut-off, so what is reported after the cut-off is
what a station would have seen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan.forecast.history import History
from gridplan.forecast.methods import Blend
from gridplan.forecast.methods import KernelDensity
from gridplan.forecast.methods import Method
from gridplan.forecast.methods import NearRepeat
from gridplan.forecast.methods import PriorCounts
from gridplan.forecast.methods import RecencyWeighted
from gridplan.forecast.methods import RecentCounts
from gridplan.forecast.methods import SliceShrunk

__all__ = [
    "BASELINES",
    "FEW_ORIGINS",
    "HORIZONS",
    "LONG_HORIZON_DAYS",
    "Evaluation",
    "RollingResult",
    "baseline_methods",
    "candidate_methods",
    "choose_methods",
    "choosing_origins",
    "evaluate_forecasts",
    "independent_origins",
    "json_records",
    "parse_horizon",
    "parse_origins",
    "rolling_backtest",
    "select_mask",
]

#: Horizons a station plans for, by name.
HORIZONS = {"7d": 7, "28d": 28, "365d": 365}

#: The simple baselines every report shows next to the chosen method.
BASELINES = ("prior", "last 365d", "recency")

#: Horizons longer than this are chosen on earlier horizons that do not overlap (for 365 days:
#: the years before), not on weekly origins whose horizons share almost every day.
LONG_HORIZON_DAYS = 91

#: Below this many independent origins a standard error means little, and the choice takes the
#: stricter rule of :func:`choose_methods` (a richer method must win at every origin).
FEW_ORIGINS = 10


def parse_horizon(value: str | int) -> int:
    """Return a horizon in days from ``"7d"``, ``"28d"``, ``"365d"`` or a number of days.

    Examples
    --------
    >>> parse_horizon("28d"), parse_horizon(7)
    (28, 7)
    """
    text = str(value).strip().lower()
    if text in HORIZONS:
        return HORIZONS[text]
    m = re.fullmatch(r"(\d+)d?", text)
    if not m or int(m.group(1)) < 1:
        msg = f"horizon {value!r}: use one of {', '.join(HORIZONS)} or a number of days"
        raise InputError(msg)
    return int(m.group(1))


def parse_origins(value: str | int, history: History, horizon_days: int) -> list[dt.date]:
    """Return forecast origins from ``"weekly:2019-01-01..2019-12-31"`` or a count.

    ``weekly:A..B`` is every 7th day from A up to B (``daily:`` and ``monthly:`` also work);
    a count ``N`` (or ``"52"``) is the last ``N`` weekly origins whose horizon ends on or
    before the history's last day. Origins whose horizon runs past the history are dropped.

    Raises
    ------
    InputError
        If the text is not understood, or no origin has a complete horizon.
    """
    text = str(value).strip()
    end = history.day(history.days)  # the day after the last one covered
    if re.fullmatch(r"\d+", text):
        n = int(text)
        last = end - dt.timedelta(days=horizon_days)
        days = [last - dt.timedelta(days=7 * k) for k in range(n)][::-1]
    else:
        m = re.fullmatch(r"(daily|weekly|monthly):(\S+?)\.\.(\S+)", text)
        if not m:
            msg = (
                f"origins {value!r}: write weekly:START..END (or daily:, monthly:), e.g. "
                "weekly:2019-01-01..2019-12-31, or a number of weekly origins such as 52"
            )
            raise InputError(msg)
        try:
            start, stop = pd.Timestamp(m.group(2)), pd.Timestamp(m.group(3))
        except ValueError as exc:
            msg = f"origins {value!r}: {exc}; write dates as YYYY-MM-DD"
            raise InputError(msg) from exc
        freq = {"daily": "D", "weekly": "7D", "monthly": "MS"}[m.group(1)]
        days = [t.date() for t in pd.date_range(start, stop, freq=freq)]
    days = [d for d in days if d > history.first_day and d + dt.timedelta(horizon_days) <= end]
    if not days:
        msg = (
            f"origins {value!r}: no origin after {history.first_day} has its {horizon_days} "
            f"days of horizon before {end} (the day after the last incident); pick earlier "
            "origins or a shorter horizon"
        )
        raise InputError(msg)
    return days


def baseline_methods(*, half_life_days: float = 365.0) -> dict[str, Method]:
    """Return the simple baselines by name: :data:`BASELINES`.

    Examples
    --------
    >>> list(baseline_methods())
    ['prior', 'last 365d', 'recency']
    """
    return {
        "prior": PriorCounts(),
        "last 365d": RecentCounts(365),
        "recency": RecencyWeighted(half_life_days),
    }


def candidate_methods(*, half_life_days: float = 365.0) -> dict[str, Method]:
    """Return the small grid of methods to choose from, by name: baselines and simple ones first.

    ``half_life_days`` is the station's configured half-life (the ``recency`` baseline). The
    rest: longer half-lives, slice shrinkage, kernel density, and each long-term method
    blended with a short-term one (the last month, or near repeats over 100-200 m) at
    weights 0.1 to 1.
    """
    methods: list[Method] = list(baseline_methods(half_life_days=half_life_days).values())
    longs: list[Method] = [
        RecencyWeighted(half_life_days),
        RecencyWeighted(2 * half_life_days),
        SliceShrunk(RecencyWeighted(2 * half_life_days), 5.0),
        PriorCounts(),
    ]
    methods += [*longs[1:3], SliceShrunk(PriorCounts(), 5.0), RecencyWeighted(180)]
    methods += [KernelDensity(longs[0], 50.0), KernelDensity(longs[1], 50.0)]
    shorts: list[Method] = [
        RecencyWeighted(30),
        NearRepeat(7, 100),
        NearRepeat(14, 200),
        NearRepeat(30, 100),
    ]
    for long in longs:
        for short in shorts:
            methods += [Blend((long, short), (1.0, w)) for w in (0.1, 0.25, 0.5, 1.0)]
    out: dict[str, Method] = {}
    for m in methods:
        out.setdefault(_name(m, half_life_days), m)
    return out


def _name(m: Method, half_life_days: float) -> str:
    """Baselines keep short names: ``prior``, ``last 365d``, ``recency``."""
    if m == RecencyWeighted(half_life_days):
        return "recency"
    return m.label


def select_mask(order: np.ndarray, area: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask over ``order``'s last axis: the cells :func:`select_cells` would take.

    Vectorised over any leading axes (origins, slices); the same rule as
    :func:`gridplan.analysis.backtesting.select_cells`.
    """
    cum = np.cumsum(area[order], axis=-1) / area.sum()
    k = (cum < share * (1 - 1e-3)).sum(axis=-1, keepdims=True) + 1
    return np.arange(order.shape[-1]) < np.minimum(k, order.shape[-1])


def _scores(
    values: np.ndarray, tie: np.ndarray, y: np.ndarray, harm: np.ndarray, ctx: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Hit rate, PAI, PEI and harm PAI per origin and slice of one method at one share."""
    id_rank = np.broadcast_to(ctx["id_rank"], values.shape)
    order = np.lexsort((id_rank, -tie, -values), axis=-1)
    mask = select_mask(order, ctx["area"], ctx["share"])
    taken = np.take_along_axis(y, order, axis=-1)
    hits = (taken * mask).sum(axis=-1)
    share = (ctx["area"][order] * mask).sum(axis=-1) / ctx["area"].sum()
    total, harm_total = y.sum(axis=-1), harm.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hit_rate = np.where(total > 0, hits / total, np.nan)
        harm_hits = (np.take_along_axis(harm, order, axis=-1) * mask).sum(axis=-1)
        harm_rate = np.where(harm_total > 0, harm_hits / harm_total, np.nan)
        pai = hit_rate / share
        pei = np.where(ctx["pai_max"] > 0, pai / ctx["pai_max"], np.nan)
    return {
        "incidents": total,
        "cells": mask.sum(axis=-1),
        "hits": hits,
        "hit_rate": hit_rate,
        "pai": pai,
        "pei": pei,
        "harm_pai": harm_rate / share,
    }


@dataclasses.dataclass(frozen=True)
class RollingResult:
    """Outcome of :func:`rolling_backtest`.

    Attributes
    ----------
    table
        One row per origin, slice, area share and method: ``origin``, ``slice``,
        ``area_share``, ``method``, ``incidents``, ``cells``, ``hits``, ``hit_rate``, ``pai``,
        ``pei``, ``harm_pai``.
    methods
        The methods, by name, in the order tried.
    horizon_days
        The horizon scored after every origin.
    """

    table: pd.DataFrame
    methods: Mapping[str, Method]
    horizon_days: int

    @property
    def origins(self) -> list[dt.date]:
        """The origins, in order."""
        return sorted(set(self.table["origin"]))

    def mean(
        self, *, area_share: float = 0.05, origins: tuple[dt.date, dt.date] | None = None
    ) -> pd.DataFrame:
        """Mean figures over origins (``first``..``last`` inclusive), per slice and method."""
        t = self.table[np.isclose(self.table["area_share"], area_share)]
        if origins is not None:
            t = t[(t["origin"] >= origins[0]) & (t["origin"] <= origins[1])]
        cols = ["hit_rate", "pai", "pei", "harm_pai"]
        out = t.groupby(["slice", "method"], sort=False)[cols].mean()
        out["origins"] = t["pai"].notna().groupby([t["slice"], t["method"]], sort=False).sum()
        return out.reset_index()


def rolling_backtest(
    history: History,
    methods: Mapping[str, Method],
    *,
    origins: list[dt.date],
    horizon_days: int,
    area_shares: tuple[float, ...] = (0.05,),
) -> RollingResult:
    """Fit every method at every origin and score the horizon after it, per slice.

    Parameters
    ----------
    history
        The station's history (:func:`~gridplan.forecast.history.build_history`).
    methods
        Methods by name (e.g. :func:`candidate_methods`).
    origins
        Local dates (e.g. :func:`parse_origins`); each method sees only the days before.
    horizon_days
        Days scored from each origin on.
    area_shares
        Shares of the station's area, each in (0, 1].

    Returns
    -------
    RollingResult

    Examples
    --------
    >>> history = build_history(gdf_grid, gdf_incidents, config=cfg)  # doctest: +SKIP
    >>> days = parse_origins("weekly:2019-01-01..2019-12-31", history, 7)  # doctest: +SKIP
    >>> result = rolling_backtest(history, candidate_methods(), origins=days, horizon_days=7)
    ... # doctest: +SKIP
    """
    bad = [s for s in area_shares if not 0 < s <= 1]
    if bad or not area_shares:
        msg = f"area shares {bad or '()'} must be in (0, 1], e.g. (0.01, 0.05, 0.10)"
        raise InputError(msg)
    idx = np.array([history.day_index(d) for d in origins], dtype=np.int64)
    y = history.ahead(idx, horizon_days)
    harm = history.ahead(idx, horizon_days, severity=True)
    tie = history.totals(idx)
    ids = history.ids
    ctx: dict[str, Any] = {"area": history.area_m2, "id_rank": np.argsort(np.argsort(ids))}
    fitted = {name: m.fit_many(history, idx) for name, m in methods.items()}
    frames = []
    for share in area_shares:
        ctx["share"] = share
        ctx["pai_max"] = np.inf
        best = _scores(y.astype(float), y, y, harm, ctx)["pai"]
        ctx["pai_max"] = best
        for name, values in fitted.items():
            cols = _scores(values, tie, y, harm, ctx)
            frame = pd.DataFrame({k: v.reshape(-1) for k, v in cols.items()})
            frame.insert(0, "method", name)
            frame.insert(0, "area_share", float(share))
            frame.insert(0, "slice", np.tile(history.slice_ids, len(origins)))
            frame.insert(0, "origin", np.repeat(np.array(origins, dtype=object), y.shape[1]))
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    return RollingResult(table=table, methods=dict(methods), horizon_days=int(horizon_days))


def choose_methods(
    result: RollingResult,
    *,
    before: dt.date | None = None,
    area_share: float = 0.05,
) -> dict[str, str]:
    """Per slice, the method a station should use, from origins whose horizon ends by ``before``.

    The method with the best mean PAI is found; then every method the data cannot tell from it
    is "as good", and of those the one tried first (baselines and simpler methods come first)
    is chosen. A method earns its place only by beating the simpler ones by more than the
    noise. How much evidence there is decides what "cannot tell" means:

    - **Many independent origins** (:data:`FEW_ORIGINS` or more): the one-standard-error
      rule. A method is as good if its mean PAI is below the best by no more than one
      standard error of the paired difference over the origins. Origins whose horizons
      overlap (weekly origins, 28-day horizons) are not independent: the standard error is
      that of ``origins x step / horizon`` independent ones.
    - **Few independent origins** (e.g. three earlier years for a 365-day horizon): a
      standard error of a handful of values is itself noise. A method is as good unless the
      best beats it at every origin, and a method other than the first tried (prior counts)
      may be chosen only if it beats that one at every origin, of two or more (a tie is not
      a win).

    Returns
    -------
    dict
        ``{slice id: method name}``.

    Raises
    ------
    InputError
        If no origin's horizon ends by ``before``.
    """
    t = result.table[np.isclose(result.table["area_share"], area_share)]
    if before is not None:
        ends = pd.to_datetime(t["origin"]) + pd.Timedelta(days=result.horizon_days)
        t = t[(ends <= pd.Timestamp(before)).to_numpy()]
    if t.empty:
        msg = (
            f"no origin has its {result.horizon_days}-day horizon by {before} at area share "
            f"{area_share:g}; back-test earlier origins to choose from"
        )
        raise InputError(msg)
    order = list(result.methods)
    chosen = {}
    for sid, part in t.groupby("slice", sort=False):
        pai = part.pivot(index="origin", columns="method", values="pai").dropna()
        if pai.empty:
            chosen[str(sid)] = order[0]
            continue
        pai = pai[sorted(pai.columns, key=order.index)]
        chosen[str(sid)] = min(pai.columns[_as_good(pai, result.horizon_days)], key=order.index)
    return chosen


def independent_origins(origins: list[dt.date], horizon_days: int) -> float:
    """How many independent origins ``origins`` are worth: their count, times step / horizon.

    Weekly origins of a 7-day horizon are all independent; 52 weekly origins of a 365-day
    horizon share almost every scored day and are worth one.

    Examples
    --------
    >>> weekly = [dt.date(2019, 1, 1) + dt.timedelta(days=7 * k) for k in range(52)]
    >>> independent_origins(weekly, 7), round(independent_origins(weekly, 28), 1)
    (52.0, 13.0)
    """
    n = len(origins)
    if n < 2:
        return float(n)
    step = float(np.median(np.diff(np.array(sorted(origins), dtype="datetime64[D]")).astype(int)))
    return n * min(1.0, step / horizon_days)


def _as_good(pai: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Mask over ``pai``'s columns (first column: the first tried): as good as the best."""
    values = pai.to_numpy()
    best = int(values.mean(axis=0).argmax())
    diff = values[:, best : best + 1] - values  # (origins, methods), >= 0 on average
    n_eff = independent_origins(list(pai.index), horizon_days)
    if n_eff >= FEW_ORIGINS:
        se = diff.std(axis=0, ddof=1) / math.sqrt(n_eff)
        return diff.mean(axis=0) <= se + 1e-12
    if len(values) < 2:  # one origin tells nothing: the first tried
        return np.arange(values.shape[1]) == 0
    # strict: a tie at an origin counts against the richer method (it did not win there)
    beaten = (diff > 1e-12).all(axis=0)
    wins = (values > values[:, :1] + 1e-12).all(axis=0)
    wins[0] = True
    return ~beaten & wins


def _year_before(first: dt.date, horizon_days: int, step_days: int = 7) -> list[dt.date]:
    """Weekly origins over the year whose horizons end by ``first``."""
    last = first - dt.timedelta(days=horizon_days)
    return [last - dt.timedelta(days=step_days * k) for k in range(52)][::-1]


def choosing_origins(
    before: dt.date, horizon_days: int, *, first_day: dt.date, min_fit_days: int = 1
) -> list[dt.date]:
    """Return the origins a ``horizon_days`` method is chosen on (horizons end by ``before``).

    Up to :data:`LONG_HORIZON_DAYS`: the 52 weekly origins of the year before (each with at
    least ``min_fit_days`` of history). Longer horizons: one origin per horizon, back from
    ``before``, so that the horizons do not overlap (for 365 days, the years before), each
    with at least a horizon of history before it (a year fitted to forecast a year).

    Examples
    --------
    >>> choosing_origins(dt.date(2019, 1, 1), 365, first_day=dt.date(2015, 1, 1))
    [datetime.date(2016, 1, 2), datetime.date(2017, 1, 1), datetime.date(2018, 1, 1)]
    """
    if horizon_days <= LONG_HORIZON_DAYS:
        start = first_day + dt.timedelta(days=min_fit_days)
        return [d for d in _year_before(before, horizon_days) if d >= start]
    start = first_day + dt.timedelta(days=max(min_fit_days, horizon_days))
    out, d = [], before - dt.timedelta(days=horizon_days)
    while d >= start:
        out.append(d)
        d -= dt.timedelta(days=horizon_days)
    return out[::-1]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Forecast methods chosen on earlier origins and reported on later ones.

    Attributes
    ----------
    result
        The rolling back-test over both sets of origins.
    chosen
        ``{slice: method name}`` chosen by :func:`choose_methods` on ``choose_origins``.
    choose_origins, report_origins
        The origins the choice was made on, and those reported.
    area_share
        The area share of the choice and the report.
    """

    result: RollingResult
    chosen: dict[str, str]
    choose_origins: tuple[dt.date, ...]
    report_origins: tuple[dt.date, ...]
    area_share: float

    def means(self) -> pd.DataFrame:
        """Mean figures over the reported origins, per slice and method."""
        window = (self.report_origins[0], self.report_origins[-1])
        return self.result.mean(area_share=self.area_share, origins=window)

    def figures(self) -> pd.DataFrame:
        """Per slice: the chosen method's mean PAI, PEI, hit rate, and the baselines' PAI."""
        m = self.means().set_index(["slice", "method"])
        rows = []
        for sid, name in self.chosen.items():
            pai = {b: float(m.loc[(sid, b), "pai"]) for b in BASELINES}
            own = m.loc[(sid, name)]
            best_simple = max(pai.values())
            rows.append(
                {
                    "slice": sid,
                    "method": name,
                    "pai": float(own["pai"]),
                    "pei": float(own["pei"]),
                    "hit_rate": float(own["hit_rate"]),
                    **{f"pai_{b}": v for b, v in pai.items()},
                    "vs_prior": float(own["pai"]) / pai["prior"] if pai["prior"] else math.nan,
                    "vs_best_simple": float(own["pai"]) / best_simple if best_simple else math.nan,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict: horizon, origins, the chosen methods and their figures."""
        figures = self.figures()
        means = self.means()
        return {
            "horizon_days": self.result.horizon_days,
            "area_share": self.area_share,
            "chosen_on": [str(self.choose_origins[0]), str(self.choose_origins[-1])],
            "reported_on": [str(self.report_origins[0]), str(self.report_origins[-1])],
            "origins": len(self.report_origins),
            "chosen": {
                r["slice"]: {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in r.items()
                    if k != "slice"
                }
                | {"spec": self.result.methods[r["method"]].to_dict()}
                for r in figures.to_dict("records")
            },
            "methods": json_records(means),
        }

    def to_text(self, *, top: int = 3) -> str:
        """Return a report per slice: baselines, the chosen method, the best in hindsight."""
        m = self.means()
        c0, c1 = self.choose_origins[0], self.choose_origins[-1]
        r0, r1 = self.report_origins[0], self.report_origins[-1]
        lines = [
            f"Rolling back-test: horizon {self.result.horizon_days} d, "
            f"{len(self.report_origins)} origins {r0}..{r1}, area {self.area_share:.0%}; "
            f"methods chosen on {len(self.choose_origins)} origins {c0}..{c1}",
            f"{'slice':<10} {'':<9} {'method':<58} {'PAI':>6} {'PEI':>5} {'hit%':>6}",
        ]
        for sid, part in m.groupby("slice", sort=False):
            part = part.set_index("method")
            chosen = self.chosen.get(str(sid))
            hindsight = [n for n in part["pai"].sort_values(ascending=False).index[:top]]
            for role, names in (
                ("baseline", list(BASELINES)),
                ("CHOSEN", [chosen]),
                ("hindsight", hindsight),
            ):
                for name in names:
                    r = part.loc[name]
                    lines.append(
                        f"{sid:<10} {role:<9} {name[:58]:<58} {r['pai']:>6.2f} "
                        f"{r['pei']:>5.2f} {r['hit_rate']:>6.1%}"
                    )
        lines.append("hindsight = best on the reported origins themselves (not a fair choice)")
        return "\n".join(lines)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN as None (JSON-ready)."""
    out = []
    for r in frame.to_dict("records"):
        out.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else _plain(v))
                for k, v in r.items()
            }
        )
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def evaluate_forecasts(
    history: History,
    *,
    horizon_days: int,
    origins: list[dt.date],
    choose_origins: list[dt.date] | None = None,
    methods: Mapping[str, Method] | None = None,
    area_share: float = 0.05,
    half_life_days: float = 365.0,
) -> Evaluation:
    """Choose a method per slice on earlier origins and report it on ``origins``.

    Parameters
    ----------
    history
        The station's history.
    horizon_days
        Days scored after each origin.
    origins
        The origins reported (e.g. every week of 2019).
    choose_origins
        The origins to choose on; by default :func:`choosing_origins` before the first
        reported origin (so the choice never sees what is reported): the 52 weekly origins
        of the year before, or for a long horizon the earlier horizons that do not overlap.
    methods
        Candidates by name (default :func:`candidate_methods`).
    area_share
        Share of the area of the choice and the report.
    half_life_days
        The station's configured half-life (the ``recency`` baseline).

    Raises
    ------
    InputError
        If no choosing origin lies inside the history.
    """
    baselines = baseline_methods(half_life_days=half_life_days)
    methods = baselines | dict(methods or candidate_methods(half_life_days=half_life_days))
    origins = sorted(origins)
    if choose_origins is None:
        choose_origins = choosing_origins(origins[0], horizon_days, first_day=history.first_day)
    choose = sorted(d for d in choose_origins if d > history.first_day)
    if not choose:
        msg = (
            f"no origin to choose on after {history.first_day}: the history must reach at "
            f"least {horizon_days} days before {origins[0]}"
            + (
                f" (a {horizon_days}-day horizon is chosen on earlier horizons, each with as "
                "many days of history before it: import a longer history)"
                if horizon_days > LONG_HORIZON_DAYS
                else ""
            )
        )
        raise InputError(msg)
    both = sorted(set(choose) | set(origins))
    result = rolling_backtest(
        history, methods, origins=both, horizon_days=horizon_days, area_shares=(area_share,)
    )
    chosen = choose_methods(_only(result, choose), before=origins[0], area_share=area_share)
    return Evaluation(
        result=result,
        chosen=chosen,
        choose_origins=tuple(choose),
        report_origins=tuple(origins),
        area_share=area_share,
    )


def _only(result: RollingResult, origins: list[dt.date]) -> RollingResult:
    keep = result.table["origin"].isin(set(origins)).to_numpy()
    return dataclasses.replace(result, table=result.table[keep])
