"""Retention of raw positions: old track fixes and check-in positions give way to presence.

Tracks and check-ins are station data under the same roles and station boundary as the rest.
Raw positions are kept ``[tracks] retention_days`` (station config, default 90) and then
deleted; what stays is *presence*, minutes per date, slice, patroller and micro-grid, and the
check-ins themselves (stop, times, whether they were inside the micro-grid, note) without their
positions. Each deletion is audited (``purge_tracks``).

:func:`purge_station` runs from ``gridplan tracks purge`` and, once a day per station, as a
``purge`` job of the server's job queue (:mod:`gridplan.web.jobs`).

Presence is what :func:`gridplan.tracks.presence.presence_table` makes of the fixes to delete:
the minutes per micro-grid that compliance reports
(:func:`~gridplan.tracks.presence.compute_presence`: interpolated between fixes at most
``max_gap_s`` apart, cut at the micro-grids' edges and the slices of each shift date), with
time in no micro-grid and unknown time (longer gaps) on a row of micro-grid ``''``; fixes
more than :data:`~gridplan.tracks.presence.BREAK_S` apart are two outings, the time between
them neither. The first fix each patroller has after the cut-off ends the last interval of the
fixes deleted; it stays, and its own intervals count in a later purge, so a track deleted in
two runs is counted once. A station without a grid keeps no presence.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import geopandas as gpd
import pandas as pd

from gridplan.station.config import StationConfig
from gridplan.tracks.presence import presence_table
from gridplan.web import store

#: the user name of purges that no person started (the server's daily run)
RETENTION_USER = "retention"


def cutoff(config: StationConfig, *, today: dt.date | None = None) -> dt.datetime:
    """The moment before which raw positions are deleted: local midnight, retention days ago."""
    today = today or dt.datetime.now(config.tz).date()
    first_kept = today - dt.timedelta(days=config.track_retention_days)
    return dt.datetime.combine(first_kept, dt.time(), tzinfo=config.tz)


def kept_presence(
    fixes: pd.DataFrame, grid: gpd.GeoDataFrame | None, config: StationConfig
) -> pd.DataFrame:
    """What fixes amount to, in the store's presence columns (:data:`store.PRESENCE_COLUMNS`).

    :func:`gridplan.tracks.presence.presence_table` renamed: ``slice`` -> ``slice_id``,
    ``patroller`` -> ``patroller_id``, ``unknown_min`` -> ``unknown_minutes``. Without a grid
    there is no micro-grid to keep presence in: no rows.
    """
    columns = list(store.PRESENCE_COLUMNS)
    if grid is None or fixes.empty:
        return pd.DataFrame(columns=columns)
    table = presence_table(fixes, grid, config)
    renamed = table.rename(
        columns={"slice": "slice_id", "patroller": "patroller_id", "unknown_min": "unknown_minutes"}
    )
    return renamed[columns]


def _fixes_to_purge(
    con: sqlite3.Connection, station_id: str, config: StationConfig, before: dt.datetime
) -> pd.DataFrame:
    """Fixes before ``before`` and each patroller's next one (see the module).

    The next fix ends the last interval of the fixes that go; it stays, and its own
    intervals are counted by a later purge.
    """
    old = store.load_fixes(con, station_id, config.timezone, before=before)
    if old.empty:
        return old
    later = store.next_fixes(
        con, station_id, config.timezone, at=before, patrollers=old["patroller"].unique()
    )
    return pd.concat([old, later], ignore_index=True) if not later.empty else old


def purge_station(
    con: sqlite3.Connection,
    station_id: str,
    *,
    today: dt.date | None = None,
    username: str = RETENTION_USER,
    ip: str = "",
) -> dict[str, int | str]:
    """Delete the station's raw positions older than its retention, keeping presence; audited.

    Returns the counts (``fixes``, ``positions``, ``presence_rows``) and the ``before`` date.
    """
    config = store.station_config(con, station_id)
    before = cutoff(config, today=today)
    fixes = _fixes_to_purge(con, station_id, config, before)
    grid = None
    if not fixes.empty:
        grid_row = store.latest_grid(con, station_id)
        grid = store.load_grid(con, grid_row["id"]) if grid_row is not None else None
    presence = kept_presence(fixes, grid, config)
    counts = store.purge_positions(
        con,
        station_id,
        before=before,
        presence=presence,
        username=username,
        retention_days=config.track_retention_days,
        ip=ip,
    )
    return {**counts, "before": before.date().isoformat()}


def purge_all(
    con: sqlite3.Connection, *, today: dt.date | None = None, username: str = RETENTION_USER
) -> dict[str, dict[str, int | str]]:
    """:func:`purge_station` for every station of the store, by station id."""
    ids = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
    return {sid: purge_station(con, sid, today=today, username=username) for sid in ids}
