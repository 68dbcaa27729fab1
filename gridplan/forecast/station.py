"""The forecast a station plans with: chosen once, stored, and turned into the plan prize.

:func:`choose_station_forecast` runs the rolling back-test on the station's own last year
(``[forecast]`` of the station config) and returns a :class:`StationForecast`: the method per
slice and its back-test figures next to the baselines'. It is plain data (``to_dict`` /
``from_dict``), so a front end stores it per station and does not re-run the back-test for
every plan. :func:`forecast_prize` fits it at the plan's date and puts it in the hot-spot
frame's ``score`` (the plan prize), keeping the hot-spot score as ``hotspot_score``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan.forecast.history import History
from gridplan.forecast.history import build_history
from gridplan.forecast.methods import Method
from gridplan.forecast.methods import method_from_dict
from gridplan.forecast.rolling import LONG_HORIZON_DAYS
from gridplan.forecast.rolling import baseline_methods
from gridplan.forecast.rolling import candidate_methods
from gridplan.forecast.rolling import choose_methods
from gridplan.forecast.rolling import choosing_origins
from gridplan.forecast.rolling import parse_horizon
from gridplan.forecast.rolling import rolling_backtest
from gridplan.station.config import StationConfig

__all__ = [
    "StationForecast",
    "choose_station_forecast",
    "forecast_hotspots",
    "forecast_prize",
    "weighted",
]


#: Days of history a choosing origin needs before it, and how many such origins a choice needs
#: (weekly origins; a long horizon is chosen on one or more earlier horizons that do not
#: overlap, and on one alone the choice is prior counts).
MIN_FIT_DAYS = 90
MIN_ORIGINS = 26


def weighted(history: History) -> History:
    """Return the history with every incident counted by its severity weight."""
    return dataclasses.replace(history, cum=history.harm, _cache={})


@dataclasses.dataclass(frozen=True)
class StationForecast:
    """The forecast method per slice a station plans with, and how it back-tested.

    Attributes
    ----------
    methods
        ``{slice id: method}``.
    names
        ``{slice id: method name}`` as the back-test reports it.
    horizon_days, severity
        The horizon it was chosen for; whether incidents count with their severity.
    as_of
        The day the choice was made (origins before it).
    figures
        Per slice: ``pai``, ``pei``, ``hit_rate`` of the chosen method and ``pai_prior``,
        ``pai_last 365d``, ``pai_recency`` of the baselines, mean over the year of origins.
    """

    methods: dict[str, Method]
    names: dict[str, str]
    horizon_days: int
    severity: bool
    as_of: dt.date
    figures: dict[str, dict[str, float | None]]

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (:meth:`from_dict` reads it back)."""
        return {
            "methods": {s: m.to_dict() for s, m in self.methods.items()},
            "names": dict(self.names),
            "horizon_days": self.horizon_days,
            "severity": self.severity,
            "as_of": self.as_of.isoformat(),
            "figures": self.figures,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StationForecast:
        """Rebuild a stored forecast.

        Raises
        ------
        InputError
            If a key is missing or a method is not understood.
        """
        try:
            return cls(
                methods={s: method_from_dict(m) for s, m in data["methods"].items()},
                names=dict(data["names"]),
                horizon_days=int(data["horizon_days"]),
                severity=bool(data["severity"]),
                as_of=dt.date.fromisoformat(data["as_of"]),
                figures=dict(data["figures"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"stored forecast is incomplete or damaged ({exc}); choose it again"
            raise InputError(msg) from exc


def choose_station_forecast(
    history: History, config: StationConfig, *, as_of: dt.date | str | None = None
) -> StationForecast:
    """Choose the station's forecast per slice as its ``[forecast]`` section says.

    ``method = "auto"``: the rolling back-test on the weekly origins of the year before
    ``as_of`` (default: the day after the history's last day; horizons end by it), or for a
    long horizon on the earlier horizons that do not overlap
    (:func:`~gridplan.forecast.rolling.choosing_origins`), picks per slice
    (:func:`~gridplan.forecast.rolling.choose_methods`); a baseline name fixes it. The
    figures are the means over those origins: the evidence the choice was made on.

    Raises
    ------
    InputError
        If the history is too short for a year of origins, or ``method = "hotspot"`` (the
        hot-spot score is not a forecast method).

    Examples
    --------
    >>> fc = choose_station_forecast(history, cfg)  # doctest: +SKIP
    >>> fc.names["night"], fc.figures["night"]["pai"]  # doctest: +SKIP
    """
    if config.forecast_method == "hotspot":
        msg = "forecast.method = 'hotspot' uses the hot-spot score; there is nothing to choose"
        raise InputError(msg)
    horizon = parse_horizon(config.forecast_horizon)
    as_of = pd.Timestamp(as_of).date() if as_of is not None else history.day(history.days)
    scored = weighted(history) if config.forecast_severity else history
    origins = choosing_origins(
        as_of, horizon, first_day=history.first_day, min_fit_days=MIN_FIT_DAYS
    )
    needed = MIN_ORIGINS if horizon <= LONG_HORIZON_DAYS else 1
    if len(origins) < needed:
        what = (
            f"weekly origins with {MIN_FIT_DAYS} days of history before them"
            if horizon <= LONG_HORIZON_DAYS
            else f"earlier {horizon}-day horizons with as many days of history before them"
        )
        msg = (
            f"the incidents from {history.first_day} are too short a history to back-test a "
            f"{horizon}-day forecast before {as_of} ({len(origins)} {what}; {needed} needed); "
            "import more, or set forecast.method = 'recency'"
        )
        raise InputError(msg)
    methods = baseline_methods(half_life_days=config.half_life_days)
    if config.forecast_method == "auto":
        methods |= candidate_methods(half_life_days=config.half_life_days)
    result = rolling_backtest(scored, methods, origins=origins, horizon_days=horizon)
    chosen = choose_methods(result)
    names = (
        chosen
        if config.forecast_method == "auto"
        else dict.fromkeys(chosen, config.forecast_method)
    )
    means = result.mean().set_index(["slice", "method"])
    figures: dict[str, dict[str, float | None]] = {}
    for sid, name in names.items():
        row = {k: means.loc[(sid, name), k] for k in ("pai", "pei", "hit_rate")}
        row |= {f"pai_{b}": means.loc[(sid, b), "pai"] for b in baseline_methods()}
        figures[sid] = {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
    return StationForecast(
        methods={s: result.methods[n] for s, n in names.items()},
        names=names,
        horizon_days=horizon,
        severity=config.forecast_severity,
        as_of=as_of,
        figures=figures,
    )


def forecast_prize(
    hotspots: gpd.GeoDataFrame,
    history: History,
    forecast: StationForecast,
    *,
    origin: dt.date | str,
) -> gpd.GeoDataFrame:
    """Return the hot-spot frame with the forecast at ``origin`` as its ``score`` (the prize).

    The hot-spot score moves to ``hotspot_score``; ``rank`` is recomputed per slice (1 = the
    highest forecast; ties by count, then id); ``attrs["forecast"]`` holds
    :meth:`StationForecast.to_dict` and the origin.

    Raises
    ------
    InputError
        If the frame has a slice or micro-grid the history does not.
    """
    scored = weighted(history) if forecast.severity else history
    index = scored.day_index(origin)
    ids = {c: k for k, c in enumerate(history.ids)}
    slices = {s: k for k, s in enumerate(history.slice_ids)}
    missing = sorted(set(hotspots["slice"]) - set(slices)) + sorted(
        set(hotspots["id"].astype(str)) - set(ids)
    )
    if missing:
        msg = f"hot spots name slices or micro-grids the history lacks: {missing[:5]}"
        raise InputError(msg)
    out = hotspots.copy()
    out["hotspot_score"] = out["score"]
    values = np.zeros(len(out))
    for sid, rows in out.groupby("slice", sort=False).indices.items():
        method = forecast.methods.get(sid) or forecast.methods["all"]
        fitted = method.fit(scored, index)[slices[sid]]
        cells = out["id"].astype(str).to_numpy()[rows]
        values[rows] = fitted[[ids[c] for c in cells]]
        counts = out["count"].to_numpy()[rows] if "count" in out else np.zeros(len(rows))
        order = np.lexsort((cells, -counts, -values[rows]))
        rank = np.empty(len(rows), dtype=np.int64)
        rank[order] = np.arange(1, len(rows) + 1)
        out.loc[out.index[rows], "rank"] = rank
    out["score"] = values
    out.attrs = dict(hotspots.attrs) | {
        "forecast": forecast.to_dict() | {"origin": pd.Timestamp(origin).date().isoformat()}
    }
    return out


def forecast_hotspots(
    hotspots: gpd.GeoDataFrame,
    grid: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    config: StationConfig,
    *,
    forecast: StationForecast | None = None,
) -> gpd.GeoDataFrame:
    """Return the hot-spot frame with the station's forecast as the plan prize (``score``).

    The forecast is chosen as ``[forecast]`` says (:func:`choose_station_forecast`, unless
    ``forecast`` is given) and fitted at the day after the latest incident. Columns added:
    ``hotspot_score`` (the hot-spot score: severity x recency), ``forecast`` (the method's
    name in the row's slice). ``attrs["forecast"]`` records the choice and its figures.

    With ``method = "hotspot"``, or a history too short to back-test (less than a year and a
    horizon), the hot-spot score stays the prize and ``attrs["forecast"]`` says why.

    Examples
    --------
    >>> hot = compute_hotspots(gdf_grid, gdf_incidents, config=cfg)  # doctest: +SKIP
    >>> prize = forecast_hotspots(hot, gdf_grid, gdf_incidents, cfg)  # doctest: +SKIP
    >>> prize.attrs["forecast"]["names"]  # doctest: +SKIP
    """
    if config.forecast_method == "hotspot":
        return _hotspot_prize(hotspots, "forecast.method = 'hotspot' in the station config")
    try:
        history = build_history(grid, incidents, config=config)
        if forecast is None:
            forecast = choose_station_forecast(history, config)
    except InputError as exc:  # no incident with a time, too short a history
        return _hotspot_prize(hotspots, str(exc))
    origin = history.day(history.days)
    out = forecast_prize(hotspots, history, forecast, origin=origin)
    out["forecast"] = out["slice"].map(forecast.names).fillna(forecast.names.get("all", ""))
    return out


def _hotspot_prize(hotspots: gpd.GeoDataFrame, reason: str) -> gpd.GeoDataFrame:
    out = hotspots.copy()
    out["hotspot_score"] = out["score"]
    out["forecast"] = "hotspot"
    out.attrs = dict(hotspots.attrs) | {"forecast": {"method": "hotspot", "reason": reason}}
    return out
