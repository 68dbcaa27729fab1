"""Compliance: a day's patrol plan held against where the patrollers' tracks put them.

:func:`compute_compliance` measures presence (:mod:`gridplan.tracks.presence`) over the plan's
own slices and reports

- **per stop**: the minutes the patroller was in the stop's micro-grid within its window
  (from :attr:`~gridplan.tracks.params.TrackParams.early_min` before the planned arrival to
  :attr:`~gridplan.tracks.params.TrackParams.after_min` after the planned departure, never
  into the window of the patroller's previous or next visit of that micro-grid), and a status:
  ``visited`` (at least :attr:`~gridplan.tracks.params.TrackParams.visit_share` of the planned
  dwell), ``late`` (as much, but the longest stay began more than
  :attr:`~gridplan.tracks.params.TrackParams.late_min` after the planned arrival), ``missed``
  (less), ``no_track`` (less, and the track covers under
  :attr:`~gridplan.tracks.params.TrackParams.tracked_share` of the window: not known) or
  ``not_measured`` (a key target outside every micro-grid). A key target's stop is measured in
  the micro-grid its point lies in;
- **per patroller**: stops by status, planned against achieved minutes at the stops, minutes
  tracked and unknown, the median interval between fixes and the coarse flag;
- **per top hot spot** of each slice (the plan's own top class): the minutes planned against
  the minutes any patroller spent there in the slice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridplan._messages import N_
from gridplan._messages import define
from gridplan._validate import check_fixes
from gridplan.geo.crs import metric_crs
from gridplan.routing.plan import PatrolPlan
from gridplan.station.config import StationConfig
from gridplan.tracks._rejects import iso
from gridplan.tracks.params import TrackParams
from gridplan.tracks.presence import CheckIn
from gridplan.tracks.presence import Timeline
from gridplan.tracks.presence import TrackPresence
from gridplan.tracks.presence import build_timeline
from gridplan.tracks.presence import coarse_warnings
from gridplan.tracks.presence import fix_intervals
from gridplan.tracks.presence import micro_cells
from gridplan.tracks.presence import per_window
from gridplan.tracks.presence import visit_table

#: Status of a planned stop, in report order.
STATUSES = ("visited", "late", "missed", "no_track", "not_measured")

#: Columns of :attr:`Compliance.stops`.
STOP_COLUMNS = (
    "stop_key",
    "date",
    "slice",
    "patroller_id",
    "part",
    "order",
    "micro_id",
    "name",
    "kind",
    "risk_class",
    "planned_arrival",
    "planned_departure",
    "dwell_min",
    "window_start",
    "window_end",
    "status",
    "present_min",
    "arrived",
    "late_min",
    "tracked_share",
    "lon",
    "lat",
)

#: Columns of :attr:`Compliance.patrollers`.
PATROLLER_COLUMNS = (
    "patroller_id",
    "name",
    "mode",
    "in_plan",
    "stops",
    *STATUSES,
    "planned_min",
    "present_min",
    "tracked_min",
    "unknown_min",
    "median_interval_s",
    "coarse",
)

#: Columns of :attr:`Compliance.hotspots`.
HOTSPOT_COLUMNS = ("slice", "micro_id", "planned_min", "actual_min", "error_min", "ratio")

_W_NOT_IN_PLAN = define(
    "tracks.not_in_plan",
    N_(
        "tracks of %(patrollers)s are not of any route of the plan: they count for the hot "
        "spots' presence, not for any stop"
    ),
)
_W_NO_FIXES = define(
    "tracks.no_fixes_for",
    N_("no track of %(patrollers)s, who had stops: their stops are no_track"),
)


def stop_key(slice_id: str, patroller_id: str, part: int, order: int) -> str:
    """Return the key of a plan stop, ``"slice/patroller/part/order"`` (check-ins name it)."""
    return f"{slice_id}/{patroller_id}/{part}/{order}"


@dataclasses.dataclass(frozen=True)
class Compliance:
    """A plan held against the tracks: per stop, per patroller and per top hot spot.

    Attributes
    ----------
    station_id, station_name, date, timezone
        The plan's.
    stops
        One row per planned stop (:data:`STOP_COLUMNS`): its key, slice, patroller, order,
        micro-grid, planned times and dwell, the window presence counts in, ``status``
        (:data:`STATUSES`), ``present_min`` (minutes in the micro-grid within the window),
        ``arrived`` (when the longest stay there began; empty for a stop not made),
        ``late_min`` (that against the planned arrival), ``tracked_share`` (of the window)
        and where the stop is.
    patrollers
        One row per patroller of the plan or the tracks (:data:`PATROLLER_COLUMNS`).
    hotspots
        One row per slice and top hot spot of the plan (:data:`HOTSPOT_COLUMNS`): minutes
        planned and spent there by anyone, their error and the ratio.
    presence
        The presence over the plan's slices (:class:`~gridplan.tracks.presence.TrackPresence`).
    params
        The settings used.
    warnings
        Coarse tracks, tracks of patrollers without routes, check-ins not counted.

    Examples
    --------
    The statuses a stop can have, in report order (:func:`compute_compliance` makes one):

    >>> STATUSES
    ('visited', 'late', 'missed', 'no_track', 'not_measured')
    """

    station_id: str
    station_name: str
    date: dt.date
    timezone: str
    stops: pd.DataFrame
    patrollers: pd.DataFrame
    hotspots: pd.DataFrame
    presence: TrackPresence
    params: TrackParams
    warnings: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Return the number of stops per status (every status of :data:`STATUSES`)."""
        found = Counter(self.stops["status"])
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict: stops by status, patrollers, top hot spots, flags.

        Returns
        -------
        dict
            ``station_id``, ``date``, ``stops`` (status -> count), ``coarse``,
            ``median_interval_s``, ``patrollers`` and ``hotspots`` (lists of row dicts, times
            and NaN as JSON allows), ``missed`` (the keys of the stops missed) and
            ``warnings``.
        """
        return {
            "station_id": self.station_id,
            "date": self.date.isoformat(),
            "stops": self.counts(),
            "missed": self.stops.loc[self.stops["status"] == "missed", "stop_key"].tolist(),
            "coarse": bool(self.presence.coarse),
            "median_interval_s": self.presence.median_interval_s,
            "patrollers": _records(self.patrollers),
            "hotspots": _records(self.hotspots),
            "warnings": [str(w) for w in self.warnings],
        }

    def to_text(self) -> str:
        """Return a human-readable account: stops, patrollers, top hot spots, warnings."""
        c = self.counts()
        lines = [
            f"{self.station_name} ({self.station_id}) patrols of {self.date.isoformat()} "
            f"against the plan: {len(self.stops)} stops: "
            + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in c.items() if n)
        ]
        for r in self.stops[self.stops["status"].isin(["missed", "late", "no_track"])].itertuples():
            lines.append(
                f"  {r.status.replace('_', ' ')}: {r.slice} {r.patroller_id} stop {r.order} "
                f"{r.micro_id} {r.planned_arrival:%H:%M}-{r.planned_departure:%H:%M} "
                f"({r.present_min:.1f} of {r.dwell_min:.1f} min)"
            )
        for r in self.patrollers.itertuples():
            interval = "-" if pd.isna(r.median_interval_s) else f"{r.median_interval_s:.0f} s"
            lines.append(
                f"{r.patroller_id}: {r.visited + r.late} of {r.stops} stops made, "
                f"{r.present_min:.1f} of {r.planned_min:.1f} min at stops; tracked "
                f"{r.tracked_min:.0f} min, unknown {r.unknown_min:.0f} min; fixes every "
                f"{interval}{' (coarse)' if r.coarse else ''}"
            )
        for r in self.hotspots.itertuples():
            lines.append(
                f"top hot spot {r.micro_id} ({r.slice}): planned {r.planned_min:.1f} min, "
                f"present {r.actual_min:.1f} ± {r.error_min:.1f} min"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp | dt.datetime):
                v = iso(v)
            elif isinstance(v, float | np.floating) and not np.isfinite(v):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def _windows(plan: PatrolPlan) -> pd.DataFrame:
    rows = [
        (plan.date.isoformat(), s.slice_id, s.start.timestamp(), s.end.timestamp())
        for s in plan.slices
    ]
    return pd.DataFrame(rows, columns=["date", "slice", "start", "end"])


def _stop_rows(plan: PatrolPlan, cells: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the plan's stops with their micro-grid (a key target's: where its point is)."""
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", cells.crs, always_xy=True)
    rows = []
    for s in plan.slices:
        for r in s.routes:
            for p in r.stops:
                cell = p.micro_id
                if not cell:
                    x, y = to_metric.transform(p.lon, p.lat)
                    hits = cells.sindex.query(gpd.points_from_xy([x], [y])[0], "intersects")
                    cell = str(cells["id"].iat[int(min(hits))]) if len(hits) else ""
                rows.append(
                    {
                        "stop_key": stop_key(s.slice_id, r.patroller_id, r.part, p.order),
                        "date": plan.date.isoformat(),
                        "slice": s.slice_id,
                        "patroller_id": r.patroller_id,
                        "part": r.part,
                        "order": p.order,
                        "micro_id": cell,
                        "name": p.name,
                        "kind": p.kind,
                        "risk_class": p.risk_class,
                        "planned_arrival": p.arrival,
                        "planned_departure": p.departure,
                        "dwell_min": p.dwell_s / 60,
                        "lon": p.lon,
                        "lat": p.lat,
                    }
                )
    return pd.DataFrame(rows, columns=[c for c in STOP_COLUMNS if c in rows[0]] if rows else [])


def _stop_windows(stops: pd.DataFrame, params: TrackParams) -> tuple[np.ndarray, np.ndarray]:
    """Seconds (epoch) each stop's presence counts from and to (see the module)."""
    arrive = np.array([t.timestamp() for t in stops["planned_arrival"]], dtype=float)
    leave = np.array([t.timestamp() for t in stops["planned_departure"]], dtype=float)
    start = arrive - params.early_min * 60
    end = leave + params.after_min * 60
    order = np.lexsort((arrive, stops["micro_id"].to_numpy(), stops["patroller_id"].to_numpy()))
    for a, b in itertools.pairwise(order):
        same = (
            stops["patroller_id"].iat[a] == stops["patroller_id"].iat[b]
            and stops["micro_id"].iat[a] == stops["micro_id"].iat[b]
        )
        if same:  # two visits of one micro-grid: their windows meet halfway between them
            middle = (leave[a] + arrive[b]) / 2
            end[a], start[b] = min(end[a], middle), max(start[b], middle)
    return start, end


def _overlaps(frame: pd.DataFrame, start: float, end: float) -> np.ndarray:
    lo = np.maximum(frame["start"].to_numpy(float), start)
    hi = np.minimum(frame["end"].to_numpy(float), end)
    return np.maximum(hi - lo, 0.0)


def _measure(stops: pd.DataFrame, tl: Timeline, params: TrackParams, timezone: str) -> pd.DataFrame:
    """Fill the window, presence, arrival, tracked share and status of every stop."""
    start, end = _stop_windows(stops, params)
    pieces = dict(tuple(tl.pieces.groupby(["patroller", "micro_id"])))
    visits = visit_table(tl)
    stays = dict(tuple(visits.groupby(["patroller", "micro_id"])))
    tracked = dict(tuple(tl.segments.groupby("patroller")))
    empty = pd.DataFrame({"start": [], "end": []})
    present, arrived, share, status = [], [], [], []
    for i, stop in enumerate(stops.itertuples(index=False)):
        key = (stop.patroller_id, stop.micro_id)
        sec = float(_overlaps(pieces.get(key, empty), start[i], end[i]).sum())
        mine = stays.get(key, empty)
        over = _overlaps(mine, start[i], end[i])
        came = np.nan
        if len(over) and over.max() > 0:
            came = max(float(mine["start"].to_numpy(float)[int(np.argmax(over))]), start[i])
        covered = float(_overlaps(tracked.get(stop.patroller_id, empty), start[i], end[i]).sum())
        covered = min(covered / (end[i] - start[i]), 1.0)
        made = sec >= params.visit_share * stop.dwell_min * 60
        late = made and came > stop.planned_arrival.timestamp() + params.late_min * 60
        if not stop.micro_id:
            status.append("not_measured")
        elif made:
            status.append("late" if late else "visited")
        else:
            status.append("no_track" if covered < params.tracked_share else "missed")
        present.append(sec / 60)
        arrived.append(came if made else np.nan)  # a walk through is no arrival
        share.append(covered)

    def local(seconds: np.ndarray) -> pd.Series:
        stamps = pd.to_datetime(np.asarray(seconds, dtype=float) * 1e9, utc=True)
        return pd.Series(stamps.tz_convert(timezone)).dt.round("s")

    out = stops.copy()
    out["window_start"] = local(start).to_numpy()
    out["window_end"] = local(end).to_numpy()
    out["status"] = status
    out["present_min"] = present
    out["arrived"] = local(np.array(arrived)).to_numpy()
    planned = np.array([t.timestamp() for t in stops["planned_arrival"]], dtype=float)
    out["late_min"] = (np.array(arrived) - planned) / 60
    out["tracked_share"] = share
    return out[list(STOP_COLUMNS)]


def _patroller_table(
    plan: PatrolPlan, stops: pd.DataFrame, presence: TrackPresence, intervals: pd.DataFrame
) -> pd.DataFrame:
    """One row per patroller of the plan (and of the tracks): stops, minutes, tracking."""
    names, modes = {}, {}
    for s in plan.slices:
        for r in s.routes:
            names.setdefault(r.patroller_id, r.name)
            modes.setdefault(r.patroller_id, r.mode)
    tracked = sorted(set(presence.coverage["patroller"]) - set(names))
    cov = presence.coverage.groupby("patroller")[["tracked_min", "unknown_min"]].sum()
    real = intervals[intervals["gap"] <= presence.params.max_gap_s]
    median = real.groupby("patroller")["gap"].median()
    rows = []
    for pid in [*names, *tracked]:
        mine = stops[stops["patroller_id"] == pid]
        count = Counter(mine["status"])
        interval = float(median.get(pid, np.nan))
        rows.append(
            {
                "patroller_id": pid,
                "name": names.get(pid, ""),
                "mode": modes.get(pid, ""),
                "in_plan": pid in names,
                "stops": len(mine),
                **{s: int(count.get(s, 0)) for s in STATUSES},
                "planned_min": float(mine["dwell_min"].sum()),
                "present_min": float(mine["present_min"].sum()),
                "tracked_min": float(cov["tracked_min"].get(pid, 0.0)),
                "unknown_min": float(cov["unknown_min"].get(pid, 0.0)),
                "median_interval_s": interval,
                "coarse": bool(interval > presence.params.coarse_interval_s),
            }
        )
    return pd.DataFrame(rows, columns=list(PATROLLER_COLUMNS))


def _hotspot_table(plan: PatrolPlan, presence: TrackPresence) -> pd.DataFrame:
    """Planned against actual minutes at each slice's top hot spots (all patrollers)."""
    per = presence.minutes.groupby(["slice", "micro_id"])[["minutes", "error_min"]].sum()
    rows = []
    for s in plan.slices:
        for mid, planned in s.metrics.top_dwell_min.items():
            actual = float(per["minutes"].get((s.slice_id, mid), 0.0))
            error = float(per["error_min"].get((s.slice_id, mid), 0.0))
            rows.append(
                {
                    "slice": s.slice_id,
                    "micro_id": mid,
                    "planned_min": float(planned),
                    "actual_min": actual,
                    "error_min": error,
                    "ratio": actual / planned if planned else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=list(HOTSPOT_COLUMNS))


def _with_stop_cells(check_ins: Sequence[CheckIn], stops: pd.DataFrame) -> list[CheckIn]:
    """Check-ins that name a plan stop but no micro-grid get the stop's micro-grid."""
    cell_of = dict(zip(stops["stop_key"], stops["micro_id"], strict=True)) if len(stops) else {}
    out = []
    for c in check_ins:
        if not c.micro_id and c.stop in cell_of and cell_of[c.stop]:
            c = dataclasses.replace(c, micro_id=cell_of[c.stop])
        out.append(c)
    return out


def compute_compliance(
    plan: PatrolPlan,
    fixes: pd.DataFrame,
    grid: gpd.GeoDataFrame,
    *,
    check_ins: Sequence[CheckIn] = (),
    config: StationConfig | None = None,
    params: TrackParams | None = None,
) -> Compliance:
    """Hold a day's patrol plan against the tracks (and check-ins) of its patrollers.

    Parameters
    ----------
    plan
        The plan (:func:`~gridplan.routing.planner.plan_patrols` or
        :func:`~gridplan.io.planfile.load_plan`); its slices are the windows of presence and
        its top class (``SliceMetrics.top_dwell_min``) the top hot spots.
    fixes
        The FIXES of the day (:func:`~gridplan.tracks.fixes.import_track`, concatenated);
        each patroller's id is the roster id of its route.
    grid
        The 1+5+N grid the plan was made on.
    check_ins
        :class:`~gridplan.tracks.presence.CheckIn` s; one that names a plan stop
        (:func:`stop_key`) but no micro-grid is counted in the stop's.
    config
        The station, for ``crs.metric`` (default: the local UTM zone).
    params
        The settings (:class:`~gridplan.tracks.params.TrackParams`).

    Returns
    -------
    Compliance
        Per stop, per patroller and per top hot spot, with the presence behind them.

    Raises
    ------
    InputError
        If ``fixes`` is not a FIXES table or ``grid`` has no micro-grids.

    Examples
    --------
    The night shift of 2019-06-01 at the demo station, and a patroller's phone that recorded
    a fix on arriving at and on leaving every stop (``max_gap_s`` is raised to interpolate
    between fixes that far apart; a real track has one every few seconds):

    >>> import pandas as pd
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> plan = gp.plan_patrols(
    ...     grid, hot, None, cfg, gp.PlanRequest("2019-06-01", slices=["night"]),
    ...     params=gp.SolveParams(workers=1, work_limit=5))
    >>> fixes = pd.DataFrame([
    ...     {"patroller": r.patroller_id, "time": pd.Timestamp(t), "lon": p.lon, "lat": p.lat}
    ...     for r in plan.slice("night").routes for p in r.stops
    ...     for t in (p.arrival, p.departure)]).assign(
    ...     accuracy_m=5.0, source="phone", row=lambda f: range(1, len(f) + 1))
    >>> report = compute_compliance(plan, fixes, grid, params=TrackParams(max_gap_s=3600))
    >>> report.counts()["visited"] == len(report.stops), report.presence.coarse
    (True, True)
    >>> report.stops["stop_key"].iloc[0]
    'night/A03/1/1'
    """
    params = TrackParams() if params is None else params
    check_fixes(fixes)
    crs = metric_crs(
        grid,
        crs=None if config is None else config.metric_crs,
        source="" if config is None else config.source,
    )
    cells = micro_cells(grid, crs)
    stops = _stop_rows(plan, cells)
    tl = build_timeline(fixes, cells, check_ins=_with_stop_cells(check_ins, stops), params=params)
    minutes, coverage = per_window(tl, _windows(plan), params)
    intervals = fix_intervals(tl)
    median, coarse, warn = coarse_warnings(intervals, params)
    presence = TrackPresence(
        minutes=minutes,
        coverage=coverage,
        visits=visit_table(tl),
        median_interval_s=median,
        coarse=coarse,
        params=params,
        warnings=tuple([*tl.warnings, *warn]),
    )
    if len(stops):
        stops = _measure(stops, tl, params, plan.timezone)
    else:
        stops = pd.DataFrame(columns=list(STOP_COLUMNS))
    patrollers = _patroller_table(plan, stops, presence, intervals)
    warnings = list(presence.warnings)
    strangers = patrollers.loc[~patrollers["in_plan"], "patroller_id"].tolist()
    if strangers:
        warnings.append(_W_NOT_IN_PLAN(patrollers=", ".join(strangers)))
    untracked = sorted(set(stops["patroller_id"]) - set(fixes["patroller"].astype(str)))
    if untracked:
        warnings.append(_W_NO_FIXES(patrollers=", ".join(untracked)))
    return Compliance(
        station_id=plan.station_id,
        station_name=plan.station_name,
        date=plan.date,
        timezone=plan.timezone,
        stops=stops,
        patrollers=patrollers,
        hotspots=_hotspot_table(plan, presence),
        presence=presence,
        params=params,
        warnings=tuple(warnings),
    )


__all__ = [
    "HOTSPOT_COLUMNS",
    "PATROLLER_COLUMNS",
    "STATUSES",
    "STOP_COLUMNS",
    "Compliance",
    "compute_compliance",
    "stop_key",
]
