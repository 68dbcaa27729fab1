"""Retention of raw positions: old track fixes and check-in positions give way to presence.

Tracks and check-ins are station data under the same roles and station boundary as the rest.
Raw positions are kept ``[tracks] retention_days`` (station config, default 90) and then
deleted; what stays is *presence*, minutes per date, slice, patroller and micro-grid, and the
check-ins themselves (stop, times, whether they were inside the micro-grid, note) without their
positions. Each deletion is audited (``purge_tracks``).

:func:`purge_station` runs from ``gridplan tracks purge`` and, once a day per station, as a
``purge`` job of the server's job queue (:mod:`gridplan.web.jobs`).

Presence is computed here by :func:`presence_of_fixes`, a deliberately simple estimate until
the tracks package's own presence replaces it: between two fixes of a patroller at most
:data:`MAX_GAP_S` apart, the first half of the interval counts in the first fix's micro-grid and
the second half in the second's; a longer interval is unknown time, kept as such, up to
:data:`MAX_UNKNOWN_S` (longer: a break between two tracks, not counted). A fix inside a
micro-grid shows where the phone was, not that it patrolled there.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan.station.config import StationConfig
from gridplan.station.timeslices import assign_slices
from gridplan.station.timeslices import shift_date
from gridplan.web import store

#: the longest interval between two fixes that counts as presence (longer: unknown time)
MAX_GAP_S = 120.0
#: an interval longer than this is a break between two tracks (the phone was off between two
#: outings), neither presence nor unknown time
MAX_UNKNOWN_S = 3600.0
#: the user name of purges that no person started (the server's daily run)
RETENTION_USER = "retention"


def cutoff(config: StationConfig, *, today: dt.date | None = None) -> dt.datetime:
    """The moment before which raw positions are deleted: local midnight, retention days ago."""
    today = today or dt.datetime.now(config.tz).date()
    first_kept = today - dt.timedelta(days=config.track_retention_days)
    return dt.datetime.combine(first_kept, dt.time(), tzinfo=config.tz)


def _slice_and_date(times: pd.Series, config: StationConfig) -> tuple[list[str], list[str]]:
    """Each time's slice (the first that holds it; '' for none) and the date of its shift."""
    member = assign_slices(times, config)
    slice_ids = [""] * len(times)
    local = times.dt.tz_convert(config.timezone)
    dates = local.dt.strftime("%Y-%m-%d").tolist()
    for s in reversed(config.slices):  # the first slice that holds a time wins
        hit = member[s.id].to_numpy()
        if not hit.any():
            continue
        shift = shift_date(times, s, tz=config.timezone).dt.strftime("%Y-%m-%d").to_numpy()
        for i in np.flatnonzero(hit):
            slice_ids[i], dates[i] = s.id, shift[i]
    return slice_ids, dates


def _cells(fixes: pd.DataFrame, grid: gpd.GeoDataFrame | None) -> list[str]:
    """The micro-grid of each fix ('' outside every micro-grid, or without a grid)."""
    if grid is None or fixes.empty:
        return [""] * len(fixes)
    micro = grid.loc[grid["level"] == "micro", ["id", "geometry"]].to_crs(4326)
    points = gpd.GeoDataFrame(
        {"n": np.arange(len(fixes))},
        geometry=gpd.points_from_xy(fixes["lon"], fixes["lat"]),
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, micro, how="left", predicate="within")
    joined = joined.sort_values("n").drop_duplicates("n")
    return ["" if pd.isna(v) else str(v) for v in joined["id"]]


def presence_of_fixes(
    fixes: pd.DataFrame,
    grid: gpd.GeoDataFrame | None,
    config: StationConfig,
    *,
    owned: pd.Series | None = None,
    max_gap_s: float = MAX_GAP_S,
) -> pd.DataFrame:
    """Minutes per date, slice, patroller and micro-grid of a FIXES table (see the module).

    Each interval between consecutive fixes of a patroller belongs to its first fix; with
    ``owned`` (a boolean per fix) only the intervals of owned fixes are counted, so that fixes
    deleted in two runs are counted once. Returns the columns of
    :data:`gridplan.web.store.PRESENCE_COLUMNS`.
    """
    columns = list(store.PRESENCE_COLUMNS)
    if fixes.empty:
        return pd.DataFrame(columns=columns)
    df = fixes.reset_index(drop=True).assign(
        owned=True if owned is None else np.asarray(owned, dtype=bool)
    )
    df = df.sort_values(["patroller", "time"], kind="stable").reset_index(drop=True)
    slice_ids, dates = _slice_and_date(df["time"], config)
    df = df.assign(slice_id=slice_ids, date=dates, micro_id=_cells(df, grid))
    parts = []
    for _who, track in df.groupby("patroller", sort=True):
        if len(track) < 2:
            continue
        gap_s = track["time"].diff().dt.total_seconds().to_numpy()[1:]
        first, second = track.iloc[:-1], track.iloc[1:]
        keep = first["owned"].to_numpy()
        bridged = gap_s <= max_gap_s
        half = np.where(bridged, gap_s / 120.0, 0.0)  # minutes: half the gap
        unknown = np.where(bridged | (gap_s > MAX_UNKNOWN_S), 0.0, gap_s / 60.0)
        for side, minutes, lost in ((first, half, unknown), (second, half, 0.0 * unknown)):
            parts.append(
                pd.DataFrame(
                    {
                        "date": side["date"].to_numpy()[keep],
                        "slice_id": side["slice_id"].to_numpy()[keep],
                        "patroller_id": side["patroller"].astype(str).to_numpy()[keep],
                        "micro_id": np.where(bridged, side["micro_id"].to_numpy(), "")[keep],
                        "minutes": minutes[keep],
                        "unknown_minutes": lost[keep],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out = out.groupby(columns[:4], as_index=False, sort=True)[columns[4:]].sum()
    return out[(out["minutes"] > 0) | (out["unknown_minutes"] > 0)].reset_index(drop=True)


def _fixes_to_purge(
    con: sqlite3.Connection, station_id: str, config: StationConfig, before: dt.datetime
) -> tuple[pd.DataFrame, pd.Series]:
    """Fixes before ``before`` and each patroller's next one, and which of them go.

    The next fix ends the last interval of the fixes that go; it stays, and its own
    intervals are counted by a later purge.
    """
    old = store.load_fixes(con, station_id, config.timezone, before=before)
    if old.empty:
        return old, pd.Series([], dtype=bool)
    later = store.next_fixes(
        con, station_id, config.timezone, at=before, patrollers=old["patroller"].unique()
    )
    both = pd.concat([old, later], ignore_index=True) if not later.empty else old
    owned = pd.Series([True] * len(old) + [False] * len(later))
    return both, owned


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
    fixes, owned = _fixes_to_purge(con, station_id, config, before)
    grid = None
    if not fixes.empty:
        grid_row = store.latest_grid(con, station_id)
        grid = store.load_grid(con, grid_row["id"]) if grid_row is not None else None
    presence = presence_of_fixes(fixes, grid, config, owned=owned)
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
