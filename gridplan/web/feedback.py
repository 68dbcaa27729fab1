"""What patrols actually did, from the station's store, for the next plan made in the web UI.

A plan job (:func:`gridplan.web.jobs.plan_job`) asked to look back ``days`` days gets an
:class:`~gridplan.routing.feedback.ActualPresence` for its date from :func:`station_presence`:

- **presence** per patroller, shift date, slice and micro-grid over the plan's date and the
  ``days`` days before it. Shift dates whose raw positions are still kept (on or after the
  retention cutoff, :func:`gridplan.web.retention.cutoff`) are measured from the stored track
  fixes and check-ins by :func:`gridplan.tracks.presence.compute_presence`; earlier shift
  dates, whose fixes were deleted, from the presence rows the purge kept
  (:func:`gridplan.web.store.load_presence`). Each date is counted from one source only;
- **what was planned**: the current plan version of each of those days before the date;
- :func:`gridplan.routing.feedback.actual_presence` turns both into the feedback: minutes
  already spent on the date count against the daily dosage cap, top hot spots under-served
  over the recent days gain value, micro-grids whose stops were missed repeatedly are flagged.

Only micro-grids of the station's current grid are kept (an older grid's ids would not be in
the plan). Without any check-in, track or kept presence in those days there is nothing to
feed back: the plan is made as without, and :attr:`StationFeedback.presence` is ``None``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from typing import Any

import geopandas as gpd
import pandas as pd

from gridplan.routing.feedback import ActualPresence
from gridplan.routing.feedback import actual_presence
from gridplan.routing.feedback import planned_stops
from gridplan.station.config import StationConfig
from gridplan.tracks.presence import CheckIn
from gridplan.tracks.presence import compute_presence
from gridplan.web import store

#: Columns of the presence table handed to :func:`~gridplan.routing.feedback.actual_presence`.
_COLUMNS = ["patroller", "date", "slice", "micro_id", "minutes"]


@dataclasses.dataclass(frozen=True)
class StationFeedback:
    """The feedback of a station's store for one plan, and what it was made from.

    Attributes
    ----------
    presence
        The feedback for the plan's request; ``None`` when the store had nothing to feed back.
    days
        How many days before the plan's date were looked at.
    check_ins, fixes, kept_rows, plans
        How many check-ins, track fixes, kept presence rows and earlier plans were used.
    warnings
        What :func:`~gridplan.tracks.presence.compute_presence` could not count (check-ins
        without their pair, coarse tracks), as text.
    """

    presence: ActualPresence | None
    days: int
    check_ins: int = 0
    fixes: int = 0
    kept_rows: int = 0
    plans: int = 0
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return what the feedback was made from, as JSON values (kept with the plan)."""
        return {
            "days": self.days,
            "used": self.presence is not None,
            "check_ins": self.check_ins,
            "fixes": self.fixes,
            "kept_rows": self.kept_rows,
            "plans": self.plans,
        }


def _window(
    config: StationConfig, date: dt.date, days: int
) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The first shift date looked at, and the moments from and before which raw data count.

    A night slice of the plan's date runs past midnight, so the raw data end two midnights
    after it (:func:`~gridplan.routing.feedback.actual_presence` keeps the shift dates it needs).
    """
    first = date - dt.timedelta(days=days)
    start = dt.datetime.combine(first, dt.time(), tzinfo=config.tz)
    end = dt.datetime.combine(date + dt.timedelta(days=2), dt.time(), tzinfo=config.tz)
    return first, start, end


def check_ins_of_rows(rows: list[sqlite3.Row]) -> list[CheckIn]:
    """Stored check-ins (:func:`gridplan.web.store.list_check_ins`) as :class:`CheckIn` s.

    The micro-grid is the stop's; the position is left out, since the phone's place says less
    than the stop it checked in at (and a purged check-in has none).
    """
    return [
        CheckIn(
            patroller=str(r["patroller_id"]),
            kind=str(r["kind"]),
            time=dt.datetime.fromisoformat(r["client_at"]),
            micro_id=str(r["micro_id"]),
            note=r["note"] or "",
        )
        for r in rows
        if r["micro_id"]
    ]


def _measured(
    con: sqlite3.Connection,
    station_id: str,
    config: StationConfig,
    grid: gpd.GeoDataFrame,
    span: tuple[dt.datetime, dt.datetime],
) -> tuple[pd.DataFrame, int, int, tuple[str, ...]]:
    """Presence computed from the raw data of ``span``: table, check-ins, fixes, warnings."""
    since, before = span
    fixes = store.load_fixes(con, station_id, config.timezone, since=since, before=before)
    rows = store.list_check_ins(con, station_id, since=since, before=before)
    check_ins = check_ins_of_rows(rows)
    if fixes.empty and not check_ins:
        return pd.DataFrame(columns=_COLUMNS), 0, 0, ()
    got = compute_presence(fixes, grid, config, check_ins=check_ins)
    table = got.minutes[_COLUMNS]
    return table, len(check_ins), len(fixes), tuple(str(w) for w in got.warnings)


def _kept(
    con: sqlite3.Connection, station_id: str, first: dt.date, cutoff_date: dt.date
) -> pd.DataFrame:
    """Kept presence rows of shift dates from ``first`` to before ``cutoff_date``."""
    rows = store.load_presence(con, station_id)
    rows = rows[(rows["date"] >= first.isoformat()) & (rows["date"] < cutoff_date.isoformat())]
    return rows.rename(columns={"patroller_id": "patroller", "slice_id": "slice"})[_COLUMNS]


def _recent_plans(con: sqlite3.Connection, station_id: str, date: dt.date, days: int) -> list:
    """The current plan version of each of the ``days`` days before ``date``."""
    plans = []
    for back in range(days, 0, -1):
        current = store.current_plan(con, station_id, (date - dt.timedelta(days=back)).isoformat())
        if current is not None:
            plans.append(store.plan_from_row(store.get_plan_row(con, current["id"], station_id)))
    return plans


def station_presence(
    con: sqlite3.Connection,
    station_id: str,
    date: dt.date,
    *,
    days: int,
    grid: gpd.GeoDataFrame,
    config: StationConfig | None = None,
) -> StationFeedback:
    """Return the feedback of the station's stored patrols for the plan of ``date``.

    Parameters
    ----------
    con, station_id
        The store and the station.
    date
        The date of the plan to make.
    days
        How many days before ``date`` to look back over (the plan form's ``presence_days``).
    grid
        The station's current grid: presence is measured in its micro-grids, and only those
        are kept.
    config
        The station config (default: the store's).

    Returns
    -------
    StationFeedback
        ``presence`` is ``None`` when the store holds no check-in, track or kept presence of
        those days.
    """
    from gridplan.web.retention import cutoff

    config = store.station_config(con, station_id) if config is None else config
    first, start, end = _window(config, date, days)
    kept_before = cutoff(config).date()
    # raw data only of the shift dates whose raw data are all still kept
    raw_start = max(start, dt.datetime.combine(kept_before, dt.time(), tzinfo=config.tz))
    measured, n_check_ins, n_fixes, warnings = _measured(
        con, station_id, config, grid, (raw_start, end)
    )
    measured = measured[measured["date"].astype(str) >= kept_before.isoformat()]
    kept = _kept(con, station_id, first, kept_before)
    micro_ids = set(grid.loc[grid["level"] == "micro", "id"].astype(str))
    table = pd.concat([t for t in (kept, measured) if len(t)] or [kept], ignore_index=True)
    table = table[table["micro_id"].astype(str).isin(micro_ids)]
    if table.empty:
        return StationFeedback(None, days, n_check_ins, n_fixes, len(kept), 0, warnings)
    plans = _recent_plans(con, station_id, date, days)
    stops = planned_stops(plans) if plans else None
    if stops is not None:
        stops = stops[stops["micro_id"].isin(micro_ids)]
    presence = actual_presence(table, stops, date, days=days)
    return StationFeedback(
        presence, days, n_check_ins, n_fixes, len(kept), len(plans), warnings=warnings
    )


__all__ = ["StationFeedback", "check_ins_of_rows", "station_presence"]
