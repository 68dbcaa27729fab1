"""A bureau's figures: per station of a bureau user's set, as the store has them.

The bureau page (:mod:`gridplan.web.views.bureau`) shows, for each station a commander of a
branch bureau (分局) reads: its newest plan (date, version, the risk it covers), its hot spots
now, the minutes patrols were present in its micro-grids and how the plans of the last days
were kept (stops made or missed, :func:`gridplan.tracks.compliance.compute_compliance` through
the Compliance page's cached reports), and its active alerts. Nothing is estimated: a figure
the store cannot give (no plan, no tracks, no check-ins) is ``None`` and the page says so.

Presence is what :mod:`gridplan.web.retention` keeps (the ``presence`` rows of purged days)
plus what the fixes still stored amount to (:func:`gridplan.web.retention.kept_presence`, the
same computation), so a window across the retention cut-off counts every minute once.
Dates are the station's own: the window is the :data:`DAYS` whole days before today in the
station's timezone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence

import pandas as pd

from gridplan._validate import HOT_CLASSES
from gridplan.station.roster import ALERT_LEVELS
from gridplan.web import data
from gridplan.web import retention
from gridplan.web import store

#: whole days, up to yesterday (station time), that presence and compliance count
DAYS = 7


@dataclasses.dataclass(frozen=True)
class StationFigures:
    """One station's row of the bureau page.

    Attributes
    ----------
    station_id, name, timezone
        The station's.
    since, until
        The window of presence and compliance (station dates, both included).
    plan_id, plan_date, plan_version, risk_covered
        The newest plan (latest date, newest version) and the share of the risk it covers
        (:attr:`gridplan.routing.plan.DayMetrics.risk_covered`); ``None`` without a plan.
    hot_spots
        Micro-grids in a hot class of the all-day slice of the current hot-spot run; ``None``
        without one.
    presence_min, patrollers
        Minutes patrols were present in the station's micro-grids in the window and how many
        patrollers that was; ``None`` and 0 without tracks then.
    plans_measured, stops
        Current plans of the window's dates, and their stops by compliance status
        (:data:`gridplan.tracks.compliance.STATUSES`).
    alerts
        Active alerts now, by level (red, yellow, blue).
    """

    station_id: str
    name: str
    timezone: str
    since: dt.date
    until: dt.date
    plan_id: int | None
    plan_date: str | None
    plan_version: int | None
    risk_covered: float | None
    hot_spots: int | None
    presence_min: float | None
    patrollers: int
    plans_measured: int
    stops: dict[str, int]
    alerts: dict[str, int]

    @property
    def compliance(self) -> float | None:
        """Stops made (visited or late) of the stops measured (made or missed); ``None``: none.

        Stops without a track (``no_track``) or outside every micro-grid are not known either
        way, so they count in neither.
        """
        made = self.stops.get("visited", 0) + self.stops.get("late", 0)
        measured = made + self.stops.get("missed", 0)
        return made / measured if measured else None

    @property
    def open_alerts(self) -> int:
        """Active alerts now, of every level."""
        return sum(self.alerts.values())

    def to_row(self) -> dict:
        """The figures as one CSV row (shares as fractions, empty where unknown)."""
        return {
            "station_id": self.station_id,
            "station": self.name,
            "plan_date": self.plan_date,
            "plan_version": self.plan_version,
            "risk_covered": self.risk_covered,
            "hot_spots": self.hot_spots,
            "window": f"{self.since.isoformat()}/{self.until.isoformat()}",
            "presence_min": None if self.presence_min is None else round(self.presence_min, 1),
            "patrollers": self.patrollers,
            "plans_measured": self.plans_measured,
            **{f"stops_{k}": v for k, v in self.stops.items()},
            "compliance": self.compliance,
            **{f"alerts_{k}": self.alerts.get(k, 0) for k in ALERT_LEVELS},
        }


def window(timezone: str, *, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The :data:`DAYS` whole days before today in ``timezone``: ``(first, last)``."""
    import zoneinfo

    today = (now or dt.datetime.now(dt.UTC)).astimezone(zoneinfo.ZoneInfo(timezone)).date()
    return today - dt.timedelta(days=DAYS), today - dt.timedelta(days=1)


def _newest_plan(con, sid: str):
    return con.execute(
        "SELECT id, date, version, summary_json FROM plans WHERE station_id=? "
        "ORDER BY date DESC, version DESC LIMIT 1",
        (sid,),
    ).fetchone()


def _hot_spots(con, sid: str) -> int | None:
    grid_row = store.latest_grid(con, sid)
    run = store.latest_hotspot_run(con, sid)
    if grid_row is None or run is None or run["grid_id"] != grid_row["id"]:
        return None
    hot = data.hotspots(run["id"])
    allday = hot[hot["slice"] == "all"]
    return int(allday["gi_class"].isin(HOT_CLASSES).sum())


def _presence(con, sid: str, cfg, since: dt.date, until: dt.date) -> tuple[float | None, int]:
    """Minutes present in micro-grids and patrollers, kept presence plus stored fixes."""
    tz = cfg.tz
    start = dt.datetime.combine(since, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    grid_row = store.latest_grid(con, sid)
    utc = [t.astimezone(dt.UTC).isoformat(timespec="seconds") for t in (start, end)]
    mark = con.execute(
        "SELECT COUNT(*), COALESCE(MAX(batch_id), 0) FROM track_fixes "
        "WHERE station_id=? AND time>=? AND time<?",
        (sid, *utc),
    ).fetchone()
    kept_mark = con.execute(
        "SELECT COUNT(*), COALESCE(MAX(computed_at), '') FROM presence "
        "WHERE station_id=? AND date>=? AND date<=?",
        (sid, since.isoformat(), until.isoformat()),
    ).fetchone()

    def make() -> tuple[float | None, int]:
        kept = store.load_presence(con, sid)
        kept = kept[(kept["date"] >= since.isoformat()) & (kept["date"] <= until.isoformat())]
        fixes = store.load_fixes(con, sid, cfg.timezone, since=start, before=end)
        grid = data.grid(grid_row["id"]) if grid_row is not None and len(fixes) else None
        raw = retention.kept_presence(fixes, grid, cfg)
        if not raw.empty:
            raw = raw[(raw["date"].astype(str) >= since.isoformat())
                      & (raw["date"].astype(str) <= until.isoformat())]  # fmt: skip
        both = (
            pd.concat([f for f in (kept, raw) if not f.empty], ignore_index=True)
            if (not kept.empty or not raw.empty)
            else pd.DataFrame(columns=list(store.PRESENCE_COLUMNS))
        )
        if both.empty:
            return None, 0
        inside = both[both["micro_id"] != ""]
        return float(inside["minutes"].sum()), int(both["patroller_id"].nunique())

    key = ("bureau_presence", sid, since, until, *mark, *kept_mark, grid_row and grid_row["id"])
    return data.cached(key, make, size=64)


def _compliance(con, sid: str, since: dt.date, until: dt.date) -> tuple[int, dict[str, int]]:
    """Current plans of the window's dates and their stops by status."""
    from gridplan.tracks.compliance import STATUSES
    from gridplan.web.views.compliance import plan_report

    rows = con.execute(
        "SELECT * FROM plans WHERE station_id=? AND date>=? AND date<=? ORDER BY date, version",
        (sid, since.isoformat(), until.isoformat()),
    ).fetchall()
    current = {r["date"]: r for r in rows}  # the newest version of each date wins
    stops = dict.fromkeys(STATUSES, 0)
    for row in current.values():
        _plan, (report, _n_fixes, _n_check_ins) = plan_report(row, sid)
        for status, n in report.counts().items():
            stops[status] += n
    return len(current), stops


def station_figures(con, sid: str, *, now: dt.datetime | None = None) -> StationFigures:
    """The bureau page's figures of station ``sid`` (see :class:`StationFigures`)."""
    now = now or dt.datetime.now(dt.UTC)
    station = store.get_station(con, sid)
    cfg = data.config(sid)
    since, until = window(cfg.timezone, now=now)
    plan = _newest_plan(con, sid)
    risk = None
    if plan is not None:
        risk = data.cached(
            ("bureau_risk", plan["id"]),
            lambda: json.loads(plan["summary_json"]).get("day", {}).get("risk_covered"),
            size=512,
        )
    presence_min, patrollers = _presence(con, sid, cfg, since, until)
    n_plans, stops = _compliance(con, sid, since, until)
    levels = [a.level for a in store.list_alerts(con, sid, start=now)]
    return StationFigures(
        station_id=sid,
        name=station["name"] or sid,
        timezone=cfg.timezone,
        since=since,
        until=until,
        plan_id=plan["id"] if plan is not None else None,
        plan_date=plan["date"] if plan is not None else None,
        plan_version=plan["version"] if plan is not None else None,
        risk_covered=risk,
        hot_spots=_hot_spots(con, sid),
        presence_min=presence_min,
        patrollers=patrollers,
        plans_measured=n_plans,
        stops=stops,
        alerts={k: levels.count(k) for k in ALERT_LEVELS},
    )


#: the columns the table sorts by, with each row's key (unknown figures sort last)
SORT_KEYS = {
    "station": lambda f: f.station_id,
    "plan": lambda f: f.plan_date,
    "risk": lambda f: f.risk_covered,
    "hot": lambda f: f.hot_spots,
    "presence": lambda f: f.presence_min,
    "compliance": lambda f: f.compliance,
    "alerts": lambda f: f.open_alerts,
}


def sort_figures(
    figures: Sequence[StationFigures], column: str, *, descending: bool = False
) -> list[StationFigures]:
    """``figures`` ordered by ``column`` (a key of :data:`SORT_KEYS`), unknown ones last."""
    key = SORT_KEYS.get(column, SORT_KEYS["station"])
    known = [f for f in figures if key(f) is not None]
    unknown = [f for f in figures if key(f) is None]
    return sorted(known, key=key, reverse=descending) + sorted(unknown, key=SORT_KEYS["station"])


def figures_frame(figures: Sequence[StationFigures]) -> pd.DataFrame:
    """The figures as a table, one row per station (the CSV export)."""
    return pd.DataFrame([f.to_row() for f in figures])
