"""Cleaning fixes: poor accuracy, clocks that go back, duplicates and jumps of the position.

Each patroller's fixes are checked in the order the device recorded them (a table exported
newest first is read backwards), and every fix left out is listed with its row and reason:

1. **Poor accuracy**: a fix whose reported accuracy is worse than
   :attr:`~gridplan.tracks.params.TrackParams.max_accuracy_m`.
2. **Duplicates**: a fix recorded again, at the same time and place (kept once).
3. **Out of order**: a fix earlier than one recorded before it (the device's clock went back).
4. **Same time**: a fix at the time of the one before it but at another place (the first is
   kept: two devices record as one patroller).
5. **Jumps**: a fix that could only be reached from the fixes around it faster than the mode
   allows (:attr:`~gridplan.tracks.params.TrackParams.max_speed_mps`, plus both fixes'
   accuracy, so GPS noise is no jump). A lone outlier is found between its neighbours; after
   it, the track carries on from the last good fix, so only the jump is rejected. When
   :attr:`~gridplan.tracks.params.TrackParams.reanchor_fixes` fixes in a row agree with each
   other but not with the fix before them, the patroller did move (a lift in a car, a phone
   switched off on the way): they are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridplan._messages import N_
from gridplan._messages import define
from gridplan._validate import FIX_COLUMNS
from gridplan._validate import FIX_ROW
from gridplan._validate import check_fixes
from gridplan.tracks._rejects import iso
from gridplan.tracks._rejects import reject_frame
from gridplan.tracks.params import TrackParams

#: Mean Earth radius, metres (distances between fixes, equirectangular: exact to well under
#: a metre over the few hundred metres between consecutive fixes).
EARTH_RADIUS_M = 6_371_008.8

_R_ACCURACY = define(
    "tracks.poor_accuracy",
    N_(
        "accuracy %(accuracy).0f m is worse than the %(limit).0f m accepted "
        "(TrackParams.max_accuracy_m); the position may be anywhere in that radius"
    ),
)
_R_ORDER = define(
    "tracks.out_of_order",
    N_(
        "time %(time)s is earlier than that of row %(row)d recorded before it (%(before)s): the "
        "device's clock went back; left out (sort the file by time if only its rows are mixed)"
    ),
)
_R_DUPLICATE = define(
    "tracks.duplicate",
    N_("the same fix as row %(row)d (same time and place); kept once"),
)
_R_SAME_TIME = define(
    "tracks.same_time",
    N_(
        "row %(row)d has the same time at another place %(distance).0f m away; the first is "
        "kept: check that only one device records as patroller %(patroller)s"
    ),
)
_R_JUMP = define(
    "tracks.jump",
    N_(
        "reaching this fix from row %(row)d takes %(speed).1f m/s (%(kmh).0f km/h), faster "
        "than the %(limit).1f m/s of %(mode)s: the position jumped; this fix is left out and "
        "the rest of the track kept (if the patroller rode, import with the right mode)"
    ),
)


def _metres(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular x/y in metres around the fixes' mean latitude."""
    lat0 = math.radians(float(np.mean(lat))) if len(lat) else 0.0
    x = np.radians(lon) * EARTH_RADIUS_M * math.cos(lat0)
    y = np.radians(lat) * EARTH_RADIUS_M
    return x, y


class _Track:
    """One patroller's fixes in recorded order, and the rejects found so far."""

    def __init__(self, frame: pd.DataFrame, params: TrackParams, mode: str):
        self.frame = frame
        self.t = frame["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        self.t = self.t.astype(np.int64) / 1e9
        self.x, self.y = _metres(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        acc = frame["accuracy_m"].to_numpy(dtype=float, na_value=np.nan)
        self.acc = np.where(np.isfinite(acc), acc, params.assumed_accuracy_m)
        self.raw_acc = acc
        self.params = params
        self.mode = mode
        self.speed = params.speed_for(mode)
        self.rejects: list[dict] = []
        self.order = np.arange(len(frame))

    def reject(self, i: int, column: str, value: object, reason) -> None:
        row = self.frame.iloc[i]
        self.rejects.append(
            {
                "source": row["source"],
                "row": int(row["row"]),
                "patroller": row["patroller"],
                "time": iso(row["time"]),
                "column": column,
                "value": value,
                "reason": reason,
            }
        )

    def row(self, i: int) -> int:
        return int(self.frame["row"].iat[i])

    def ok(self, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Whether fix ``b`` can be reached from fix ``a`` (positions in the frame)."""
        d = np.hypot(self.x[b] - self.x[a], self.y[b] - self.y[a])
        reach = self.speed * np.abs(self.t[b] - self.t[a]) + self.acc[a] + self.acc[b]
        return d <= reach

    def jump(self, i: int, frm: int) -> None:
        d = float(np.hypot(self.x[i] - self.x[frm], self.y[i] - self.y[frm]))
        dt = max(abs(float(self.t[i] - self.t[frm])), 1e-9)
        reason = _R_JUMP(
            row=self.row(frm),
            speed=d / dt,
            kmh=d / dt * 3.6,
            limit=self.speed,
            mode=self.mode,
        )
        value = f"{self.frame['lon'].iat[i]:.7f},{self.frame['lat'].iat[i]:.7f}"
        self.reject(i, "lon,lat", value, reason)


def _accuracy(track: _Track, keep: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):
        bad = track.raw_acc > track.params.max_accuracy_m
    for i in np.flatnonzero(bad & keep):
        limit = track.params.max_accuracy_m
        reason = _R_ACCURACY(accuracy=float(track.raw_acc[i]), limit=limit)
        track.reject(int(i), "accuracy_m", f"{track.raw_acc[i]:g}", reason)
    keep &= ~bad


def _repeats(track: _Track, keep: np.ndarray) -> None:
    """Reject a fix recorded again (same time and place), wherever in the file it is."""
    f = track.frame[keep]
    again = f.duplicated(["time", "lon", "lat"], keep="first")
    if not again.any():
        return
    first = f.groupby(["time", "lon", "lat"], sort=False)["row"].transform("first")
    index = np.flatnonzero(keep)
    for k in np.flatnonzero(again.to_numpy()):
        i = int(index[k])
        reason = _R_DUPLICATE(row=int(first.iat[k]))
        track.reject(i, "time", iso(track.frame["time"].iat[i]), reason)
        keep[i] = False


def _order(track: _Track, keep: np.ndarray) -> np.ndarray:
    """Reject fixes earlier than one recorded before them; return the positions in time order."""
    pos = np.flatnonzero(keep)
    t = track.t[pos]
    steps = np.diff(t)
    if (steps < 0).sum() > (steps > 0).sum():  # exported newest first: read it backwards
        pos, t = pos[::-1], t[::-1]
    if len(t) == 0:
        return pos
    running = np.maximum.accumulate(t)
    at = np.maximum.accumulate(np.where(t == running, np.arange(len(t)), 0))
    before = np.r_[-np.inf, running[:-1]]
    late = t < before
    for k in np.flatnonzero(late):
        i, j = int(pos[k]), int(pos[at[k - 1]])
        reason = _R_ORDER(
            time=iso(track.frame["time"].iat[i]),
            row=track.row(j),
            before=iso(track.frame["time"].iat[j]),
        )
        track.reject(i, "time", iso(track.frame["time"].iat[i]), reason)
    keep[pos[late]] = False
    return pos[~late]


def _same_time(track: _Track, keep: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Reject fixes at the time of the one before them; return the positions left."""
    t = track.t[pos]
    if len(t) < 2:
        return pos
    new = np.r_[True, t[1:] != t[:-1]]
    first = pos[np.maximum.accumulate(np.where(new, np.arange(len(t)), 0))]
    for k in np.flatnonzero(~new):
        i, j = int(pos[k]), int(first[k])
        d = float(np.hypot(track.x[i] - track.x[j], track.y[i] - track.y[j]))
        if d < 0.01:
            reason = _R_DUPLICATE(row=track.row(j))
        else:
            patroller = str(track.frame["patroller"].iat[i])
            reason = _R_SAME_TIME(row=track.row(j), distance=d, patroller=patroller)
        track.reject(i, "time", iso(track.frame["time"].iat[i]), reason)
    keep[pos[~new]] = False
    return pos[new]


def _spikes(track: _Track, pos: np.ndarray) -> np.ndarray:
    """Reject lone outliers (out of reach of both neighbours, which reach each other)."""
    for _ in range(20):
        n = len(pos)
        if n < 3:
            return pos
        step = track.ok(pos[:-1], pos[1:])
        skip = track.ok(pos[:-2], pos[2:])
        spike = np.zeros(n, dtype=bool)
        spike[1:-1] = ~step[:-1] & ~step[1:] & skip
        spike[0] = not step[0] and bool(step[1])
        # neighbours that are both spikes are a burst: the anchor pass handles them
        spike[1:] &= ~spike[:-1]
        if not spike.any():
            return pos
        for k in np.flatnonzero(spike):
            track.jump(int(pos[k]), int(pos[k - 1] if k else pos[1]))
        pos = pos[~spike]
    return pos


def _anchored(track: _Track, pos: np.ndarray) -> np.ndarray:
    """Reject fixes out of reach of the last good one, unless a real move (see the module)."""
    keep = np.ones(len(pos), dtype=bool)
    need = track.params.reanchor_fixes
    anchor = 0
    for k in range(1, len(pos)):
        if track.ok(pos[anchor], pos[k]):
            anchor = k
            continue
        run = 1
        while (
            run < need
            and k + run < len(pos)
            and track.ok(pos[k + run - 1], pos[k + run])
            and not track.ok(pos[anchor], pos[k + run])
        ):
            run += 1
        if run >= need:
            anchor = k  # the patroller moved: carry on from here
            continue
        keep[k] = False
        track.jump(int(pos[k]), int(pos[anchor]))
    return pos[keep]


def clean_fixes(
    fixes: pd.DataFrame,
    *,
    mode: str | Mapping[str, str] = "walk",
    params: TrackParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave out poor, out-of-order, duplicate and jumping fixes, each with its reason.

    Parameters
    ----------
    fixes
        A FIXES table (:data:`~gridplan._validate.FIX_COLUMNS`), in the order the devices
        recorded it; it is not modified. Its ``row`` column (if any) numbers the rejects.
    mode
        How the patrollers moved (``walk``, ``bicycle``, ``ebike``, ``car``): the speed
        above which a fix is a jump; or patroller -> mode (``walk`` for one not named).
    params
        The thresholds (:class:`~gridplan.tracks.params.TrackParams`).

    Returns
    -------
    tuple of DataFrame
        The fixes kept, sorted by patroller and time, and the fixes left out
        (:data:`~gridplan._validate.TRACK_REJECT_COLUMNS`), each with its reason.

    Raises
    ------
    InputError
        If ``fixes`` is not a FIXES table or ``mode`` is unknown.

    Examples
    --------
    A walker's fixes every 10 s, one 400 m off and one recorded twice:

    >>> import pandas as pd
    >>> fixes = pd.DataFrame({
    ...     "patroller": "V01",
    ...     "time": pd.to_datetime(["2024-06-05 08:00:00", "2024-06-05 08:00:10",
    ...         "2024-06-05 08:00:20", "2024-06-05 08:00:20", "2024-06-05 08:00:30"])
    ...     .tz_localize("Asia/Shanghai"),
    ...     "lon": 121.47, "lat": [31.2300, 31.2301, 31.2340, 31.2340, 31.2303],
    ...     "accuracy_m": [5.0, 5.0, 5.0, 5.0, 80.0], "source": "v01.gpx", "row": [1, 2, 3, 4, 5]})
    >>> kept, rejects = clean_fixes(fixes)
    >>> kept["row"].tolist()
    [1, 2]
    >>> rejects[["row", "reason_id"]].values.tolist()
    [[3, 'tracks.jump'], [4, 'tracks.duplicate'], [5, 'tracks.poor_accuracy']]
    """
    params = TrackParams() if params is None else params
    check_fixes(fixes)
    modes = dict(mode) if isinstance(mode, Mapping) else {}
    for m in modes.values() if modes else (mode,):
        params.speed_for(m)
    frame = fixes.reset_index(drop=True)
    numbered = FIX_ROW in frame.columns
    if not numbered:  # fixes of a feed (the web store's) are numbered in the order given
        frame = frame.assign(**{FIX_ROW: np.arange(1, len(frame) + 1)})
    kept, rejects = [], []
    for pid, part in frame.groupby("patroller", sort=True, dropna=False):
        own = modes.get(str(pid), "walk") if isinstance(mode, Mapping) else mode
        track = _Track(part.reset_index(drop=True), params, own)
        keep = np.ones(len(part), dtype=bool)
        _accuracy(track, keep)
        _repeats(track, keep)
        pos = _order(track, keep)
        pos = _same_time(track, keep, pos)
        pos = _anchored(track, _spikes(track, pos))
        kept.append(track.frame.iloc[pos])
        rejects += track.rejects
    columns = list(FIX_COLUMNS) + [c for c in frame.columns if c not in FIX_COLUMNS]
    out = pd.concat(kept, ignore_index=True) if kept else frame.iloc[:0]
    out = out.sort_values(["patroller", "time"], kind="stable").reset_index(drop=True)
    out = out[columns] if numbered else out[columns].drop(columns=FIX_ROW)
    return out, reject_frame(rejects)


__all__ = ["EARTH_RADIUS_M", "clean_fixes"]
