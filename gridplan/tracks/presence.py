"""Presence per micro-grid: the minutes tracks and check-ins put each patroller in each cell.

The method (``docs/tracks.md`` says what it can and cannot tell):

- Between two consecutive fixes of a patroller at most
  :attr:`~gridplan.tracks.params.TrackParams.max_gap_s` apart, the patroller is taken to move
  in a straight line at constant speed, in metres of the grid's metric CRS. The segment is
  cut at the micro-grids' edges and each piece's time goes to its micro-grid (a segment on a
  shared edge counts once); a segment of no length (standing still) goes wholly to the
  micro-grid of its point. Time between fixes further apart is **unknown**, reported per
  patroller and slice, never guessed.
- A check-in pair (:class:`CheckIn`, ``arrived`` then ``left``) puts the patroller in its
  micro-grid between the two times; the track's own pieces of that time give way to it.
- Minutes are cut at the time slices of each shift date (a night slice belongs to the date it
  started on), so one patroller's minutes in one micro-grid are counted once per slice.
- Where a track enters or leaves a micro-grid between two fixes, when exactly is a guess: the
  minutes may be off by up to the interval. ``error_min`` adds half of each interval that
  crosses a micro-grid's edge (entries and exits). A track whose median interval exceeds
  :attr:`~gridplan.tracks.params.TrackParams.coarse_interval_s` is flagged ``coarse``: at a
  60 s refresh a 15-minute stop may be measured a minute or two off, and a walk through a
  corner of a micro-grid missed altogether ("The effect of GPS refresh rate on measuring
  police patrol in micro-places", Crime Science 2021, doi:10.1186/s40163-021-00140-1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._validate import PRESENCE_COLUMNS
from gridplan._validate import check_fixes
from gridplan._validate import check_grid_columns
from gridplan.geo.crs import metric_crs
from gridplan.station.config import StationConfig
from gridplan.station.config import default_config
from gridplan.station.timeslices import TimeSlice
from gridplan.tracks.params import TrackParams

#: Columns of :attr:`TrackPresence.coverage`: per patroller, shift date and slice, the
#: minutes tracked (fixes close enough to interpolate, or check-ins), of them in no
#: micro-grid, the minutes unknown (gaps between fixes), the fixes, their median interval and
#: whether it is coarse.
COVERAGE_COLUMNS = (
    "patroller",
    "date",
    "slice",
    "tracked_min",
    "outside_min",
    "unknown_min",
    "fixes",
    "median_interval_s",
    "coarse",
)

#: Columns of :attr:`TrackPresence.visits`: each continuous stay of a patroller in a
#: micro-grid (times tz-aware), its minutes and their uncertainty, and what shows it.
VISIT_COLUMNS = ("patroller", "micro_id", "start", "end", "minutes", "error_min", "source")

KINDS = ("arrived", "left")

_E_CHECKIN = define(
    "tracks.checkin_invalid",
    N_("check-in of %(patroller)r at %(time)s: %(problem)s"),
)
_W_UNPAIRED = define(
    "tracks.checkin_unpaired",
    N_(
        "check-in %(kind)s of %(patroller)s at %(time)s in %(micro_id)s has no %(other)s to "
        "pair with; it is not counted"
    ),
)
_W_NO_CELL = define(
    "tracks.checkin_no_cell",
    N_(
        "check-in %(kind)s of %(patroller)s at %(time)s is in no micro-grid of the grid "
        "(%(where)s); it is not counted"
    ),
)
_W_COARSE = define(
    "tracks.coarse",
    N_(
        "the fixes of %(patroller)s are %(interval).0f s apart (median), more than %(limit).0f "
        "s: presence per micro-grid may be off by %(error).1f minutes (entries and exits fall "
        "between fixes)"
    ),
)


@dataclasses.dataclass(frozen=True)
class CheckIn:
    """A patroller's check-in at a stop: ``arrived`` or ``left``, when and where.

    The phone page of the web UI (or any other front end) makes them; a pair ``arrived`` then
    ``left`` in the same micro-grid counts as presence there between the two times.

    Attributes
    ----------
    patroller
        The patroller (roster id).
    kind
        ``"arrived"`` or ``"left"``.
    time
        When, tz-aware.
    micro_id
        The micro-grid; else it is found from ``stop`` (by compliance) or ``lon``/``lat``.
    stop
        The plan stop checked in at, ``"slice/patroller/part/order"`` as in the compliance
        report's ``stop_key`` column.
    lon, lat, accuracy_m
        Where the phone was (WGS84) and how sure it was, when known.
    note
        What the patroller wrote.

    Raises
    ------
    InputError
        On an unknown ``kind``, a naive ``time``, or no way to tell the micro-grid.

    Examples
    --------
    >>> import datetime as dt, zoneinfo
    >>> at = dt.datetime(2024, 6, 5, 8, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    >>> CheckIn("V01", "arrived", at, micro_id="S01-B1-M001").kind
    'arrived'
    """

    patroller: str
    kind: str
    time: dt.datetime
    micro_id: str | None = None
    stop: str | None = None
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        problem = None
        if self.kind not in KINDS:
            problem = f"kind {self.kind!r} is not 'arrived' or 'left'"
        elif not isinstance(self.time, dt.datetime) or self.time.utcoffset() is None:
            problem = "the time has no timezone; give it in the station's timezone"
        elif not (self.micro_id or self.stop or (self.lon is not None and self.lat is not None)):
            problem = "give the micro-grid, the plan stop or the position"
        if problem:
            raise InputError(
                _E_CHECKIN(patroller=self.patroller, time=str(self.time), problem=problem)
            )


@dataclasses.dataclass(frozen=True)
class TrackPresence:
    """Where the patrollers were: minutes per micro-grid and slice, what was tracked, visits.

    Attributes
    ----------
    minutes
        PRESENCE table (:data:`~gridplan._validate.PRESENCE_COLUMNS`): minutes per
        patroller, shift date, slice and micro-grid, and ``error_min``, how far off they may
        be because entries and exits fall between fixes.
    coverage
        Per patroller, shift date and slice (:data:`COVERAGE_COLUMNS`): minutes tracked, of
        them outside every micro-grid, minutes unknown (gaps longer than ``max_gap_s``), the
        fixes, their median interval and the ``coarse`` flag.
    visits
        Each continuous stay of a patroller in a micro-grid (:data:`VISIT_COLUMNS`).
    median_interval_s
        The median time between consecutive fixes of all patrollers (``None`` without two).
    coarse
        Whether some patroller's fixes are further apart than ``coarse_interval_s`` (median).
    params
        The settings used.
    warnings
        Coarse tracks, check-ins that could not be counted.

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd, shapely
    >>> grid = gpd.GeoDataFrame(
    ...     {"id": ["S", "S-B1", "S-B1-M1", "S-B1-M2"],
    ...      "level": ["station", "base", "micro", "micro"],
    ...      "parent_id": [None, "S", "S-B1", "S-B1"], "name": ["", "", "", ""]},
    ...     geometry=[shapely.box(0, 0, 200, 100)] * 2
    ...     + [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=32651)
    >>> lonlat = gpd.GeoSeries.from_xy([50, 150], [50, 50], crs=32651).to_crs(4326)
    >>> fixes = pd.DataFrame({"patroller": "V01",
    ...     "time": pd.to_datetime(["2024-06-05 08:00", "2024-06-05 08:02"]).tz_localize(
    ...         "Asia/Shanghai"), "lon": lonlat.x, "lat": lonlat.y, "accuracy_m": float("nan"),
    ...     "source": "test", "row": [1, 2]})
    >>> p = compute_presence(fixes, grid)
    >>> p.minutes[["micro_id", "slice", "minutes", "error_min"]].round(3).values.tolist()
    [['S-B1-M1', 'morning', 1.0, 1.0], ['S-B1-M2', 'morning', 1.0, 1.0]]
    """

    minutes: pd.DataFrame
    coverage: pd.DataFrame
    visits: pd.DataFrame
    median_interval_s: float | None
    coarse: bool
    params: TrackParams
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready dict: totals per patroller and micro-grid, the flags, warnings.

        Returns
        -------
        dict
            ``median_interval_s``, ``coarse``, ``warnings``; ``patrollers``: per patroller
            ``tracked_min``, ``outside_min``, ``unknown_min``, ``fixes``; ``micro_grids``: per
            micro-grid ``minutes`` and ``error_min`` (all patrollers and slices).
        """
        per = self.coverage.groupby("patroller")[
            ["tracked_min", "outside_min", "unknown_min", "fixes"]
        ].sum()
        cells = self.minutes.groupby("micro_id")[["minutes", "error_min"]].sum()
        return {
            "median_interval_s": self.median_interval_s,
            "coarse": bool(self.coarse),
            "warnings": [str(w) for w in self.warnings],
            "patrollers": {
                str(k): {c: round(float(v), 3) for c, v in row.items()} for k, row in per.iterrows()
            },
            "micro_grids": {
                str(k): {c: round(float(v), 3) for c, v in row.items()}
                for k, row in cells.iterrows()
            },
        }


# ----------------------------------------------------------------------------- timeline


@dataclasses.dataclass(frozen=True)
class Timeline:
    """A patrol day as intervals, in seconds since the epoch (UTC), per patroller.

    Attributes
    ----------
    pieces
        ``patroller``, ``micro_id``, ``start``, ``end``, ``seg`` (the segment, -1 for a
        check-in), ``enters``/``leaves`` (the piece begins/ends inside its segment, at a
        micro-grid's edge between two fixes): time in a micro-grid.
    segments
        ``patroller``, ``start``, ``end``, ``seg``: time between fixes close enough to
        interpolate (tracked), and check-ins (``seg`` = -1).
    gaps
        ``patroller``, ``start``, ``end``: unknown time between fixes further apart.
    fix_times
        ``patroller``, ``t``: every fix.
    warnings
        Check-ins that could not be counted.
    seg_s
        Seconds of each segment (by ``seg``).
    """

    pieces: pd.DataFrame
    segments: pd.DataFrame
    gaps: pd.DataFrame
    fix_times: pd.DataFrame
    warnings: tuple[Message, ...] = ()
    seg_s: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _seconds(times: pd.Series) -> np.ndarray:
    utc = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    return utc.astype(np.int64) / 1e9


def micro_cells(grid: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Return the grid's micro-grids (``id``, geometry) in ``crs``."""
    check_grid_columns(grid, ("id", "level", "geometry"))
    micro = grid[grid["level"] == "micro"]
    if micro.empty:
        msg = "the grid has no micro-grids (level 'micro'); pass a 1+5+N grid from load_grid"
        raise InputError(msg)
    return gpd.GeoDataFrame(
        {"id": micro["id"].astype(str).to_numpy()},
        geometry=micro.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )


def _segments(fixes: pd.DataFrame, params: TrackParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consecutive fixes of one patroller: interpolated segments and unknown gaps."""
    f = fixes.sort_values(["patroller", "time"], kind="stable").reset_index(drop=True)
    t = _seconds(f["time"])
    who = f["patroller"].astype(str).to_numpy()
    same = np.r_[who[1:] == who[:-1], False] if len(f) else np.zeros(0, bool)
    nxt = np.arange(1, len(f) + 1)
    a = np.flatnonzero(same)
    b = nxt[a]
    dt_s = t[b] - t[a]
    close = (dt_s <= params.max_gap_s) & (dt_s > 0)
    seg = pd.DataFrame(
        {"patroller": who[a[close]], "start": t[a[close]], "end": t[b[close]],
         "ia": a[close], "ib": b[close]}
    )  # fmt: skip
    far = dt_s > params.max_gap_s
    gaps = pd.DataFrame({"patroller": who[a[far]], "start": t[a[far]], "end": t[b[far]]})
    return seg, gaps


def _pieces(
    seg: pd.DataFrame, x: np.ndarray, y: np.ndarray, cells: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Cut every segment at the micro-grids' edges: (segment, micro-grid, u0, u1) pieces."""
    ax, ay = x[seg["ia"]], y[seg["ia"]]
    bx, by = x[seg["ib"]], y[seg["ib"]]
    length2 = (bx - ax) ** 2 + (by - ay) ** 2
    still = length2 < 1e-6
    geoms = np.asarray(cells.geometry.values)
    tree = shapely.STRtree(geoms)
    out = []
    moving = np.flatnonzero(~still)
    if len(moving):
        lines = shapely.linestrings(
            np.stack([np.c_[ax[moving], ay[moving]], np.c_[bx[moving], by[moving]]], axis=1)
        )
        s_idx, c_idx = tree.query(lines, predicate="intersects")
        inter = shapely.intersection(lines[s_idx], geoms[c_idx])
        parts, which = shapely.get_parts(inter, return_index=True)
        lines_only = shapely.get_type_id(parts) == 1
        parts, which = parts[lines_only], which[lines_only]
        first = shapely.get_coordinates(shapely.get_point(parts, 0))
        last = shapely.get_coordinates(shapely.get_point(parts, -1))
        k = moving[s_idx[which]]
        dx, dy = bx[k] - ax[k], by[k] - ay[k]
        u_a = ((first[:, 0] - ax[k]) * dx + (first[:, 1] - ay[k]) * dy) / length2[k]
        u_b = ((last[:, 0] - ax[k]) * dx + (last[:, 1] - ay[k]) * dy) / length2[k]
        out.append(
            pd.DataFrame(
                {"seg": k, "cell": c_idx[which], "u0": np.clip(np.minimum(u_a, u_b), 0, 1),
                 "u1": np.clip(np.maximum(u_a, u_b), 0, 1)}
            )
        )  # fmt: skip
    standing = np.flatnonzero(still)
    if len(standing):
        s_idx, c_idx = tree.query(shapely.points(ax[standing], ay[standing]), "intersects")
        first_cell = pd.DataFrame({"seg": standing[s_idx], "cell": c_idx}).drop_duplicates("seg")
        out.append(first_cell.assign(u0=0.0, u1=1.0))
    if not out:
        return pd.DataFrame({"seg": [], "cell": [], "u0": [], "u1": []})
    pieces = pd.concat(out, ignore_index=True).sort_values(["seg", "u0"], kind="stable")
    # a segment along a shared edge lies in both micro-grids: each stretch counts once
    before = pieces.groupby("seg")["u1"].cummax().groupby(pieces["seg"]).shift()
    pieces["u0"] = np.maximum(pieces["u0"], before.fillna(0.0))
    return pieces[pieces["u1"] - pieces["u0"] > 1e-9].reset_index(drop=True)


def _clock(time: dt.datetime) -> str:
    return f"{time:%Y-%m-%d %H:%M:%S}"


def _cell_of(cells: gpd.GeoDataFrame, x: float, y: float) -> str | None:
    hits = cells.sindex.query(shapely.Point(x, y), predicate="intersects")
    return str(cells["id"].iat[int(min(hits))]) if len(hits) else None


def _checkin_cells(
    check_ins: Sequence[CheckIn], cells: gpd.GeoDataFrame, warn: list[Message]
) -> list[tuple[CheckIn, str]]:
    """Each check-in with its micro-grid (given, or where its position is); others warned."""
    known = set(cells["id"])
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", cells.crs, always_xy=True)
    out = []
    for c in check_ins:
        cell = c.micro_id if c.micro_id in known else None
        if cell is None and c.lon is not None and c.lat is not None:
            cell = _cell_of(cells, *to_metric.transform(c.lon, c.lat))
        if cell is None:
            where = c.micro_id or c.stop or f"{c.lon},{c.lat}"
            warn.append(
                _W_NO_CELL(kind=c.kind, patroller=c.patroller, time=_clock(c.time), where=where)
            )
            continue
        out.append((c, cell))
    return out


def _checkin_intervals(
    check_ins: Sequence[CheckIn], cells: gpd.GeoDataFrame, warn: list[Message]
) -> pd.DataFrame:
    """Pair each ``arrived`` with the next ``left`` of the patroller in the same micro-grid."""
    rows = []
    placed = sorted(
        _checkin_cells(check_ins, cells, warn), key=lambda p: (p[0].patroller, p[0].time)
    )
    open_: dict[str, tuple[CheckIn, str]] = {}

    def unpaired(c: CheckIn, cell: str) -> None:
        other = "left" if c.kind == "arrived" else "arrived"
        warn.append(
            _W_UNPAIRED(
                kind=c.kind, patroller=c.patroller, time=_clock(c.time), micro_id=cell, other=other
            )
        )

    for c, cell in placed:
        held = open_.pop(c.patroller, None)
        if c.kind == "arrived":
            if held is not None:
                unpaired(*held)
            open_[c.patroller] = (c, cell)
        elif held is not None and held[1] == cell:
            start = held[0].time.timestamp()
            rows.append((c.patroller, cell, start, c.time.timestamp()))
        else:
            if held is not None:
                unpaired(*held)
            unpaired(c, cell)
    for held in open_.values():
        unpaired(*held)
    return pd.DataFrame(rows, columns=["patroller", "micro_id", "start", "end"])


def _subtract(frame: pd.DataFrame, holes: pd.DataFrame) -> pd.DataFrame:
    """Cut the intervals ``holes`` (per patroller) out of ``frame``'s intervals."""
    for h in holes.itertuples(index=False):
        hit = (
            (frame["patroller"] == h.patroller)
            & (frame["start"] < h.end)
            & (frame["end"] > h.start)
        )
        if not hit.any():
            continue
        cut = frame[hit]
        left = cut[cut["start"] < h.start].assign(end=h.start)
        right = cut[cut["end"] > h.end].assign(start=h.end)
        frame = pd.concat([frame[~hit], left, right], ignore_index=True)
    return frame.sort_values(["patroller", "start"], kind="stable").reset_index(drop=True)


def build_timeline(
    fixes: pd.DataFrame,
    cells: gpd.GeoDataFrame,
    *,
    check_ins: Sequence[CheckIn] = (),
    params: TrackParams | None = None,
) -> Timeline:
    """Turn fixes and check-ins into intervals: in a micro-grid, tracked, unknown (the module).

    Parameters
    ----------
    fixes
        A FIXES table.
    cells
        The micro-grids in a metric CRS (:func:`micro_cells`).
    check_ins
        Check-ins; pairs count as presence, and the track's own pieces of that time give way.
    params
        ``max_gap_s`` is read.

    Returns
    -------
    Timeline
        The intervals, and warnings about check-ins that could not be counted.
    """
    params = TrackParams() if params is None else params
    check_fixes(fixes)
    f = fixes.sort_values(["patroller", "time"], kind="stable").reset_index(drop=True)
    f["patroller"] = f["patroller"].astype(str)
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", cells.crs, always_xy=True)
    x, y = to_metric.transform(f["lon"].to_numpy(float), f["lat"].to_numpy(float))
    seg, gaps = _segments(f, params)
    cut = _pieces(seg, np.asarray(x), np.asarray(y), cells)
    s = seg.iloc[cut["seg"].to_numpy()]
    span = (s["end"] - s["start"]).to_numpy()
    pieces = pd.DataFrame(
        {
            "patroller": s["patroller"].to_numpy(),
            "micro_id": cells["id"].to_numpy()[cut["cell"].to_numpy(dtype=int)],
            "start": s["start"].to_numpy() + cut["u0"].to_numpy() * span,
            "end": s["start"].to_numpy() + cut["u1"].to_numpy() * span,
            "seg": cut["seg"].to_numpy(dtype=int),
        }
    )
    # a piece that begins (ends) inside its segment is an entry (exit) between two fixes
    pieces["enters"] = cut["u0"].to_numpy() > 1e-6
    pieces["leaves"] = cut["u1"].to_numpy() < 1 - 1e-6
    segments = pd.DataFrame(
        {"patroller": seg["patroller"], "start": seg["start"], "end": seg["end"],
         "seg": np.arange(len(seg))}
    )  # fmt: skip
    warn: list[Message] = []
    checked = _checkin_intervals(check_ins, cells, warn)
    if len(checked):
        pieces, segments, gaps = (_subtract(t, checked) for t in (pieces, segments, gaps))
        pieces = pd.concat(
            [pieces, checked.assign(seg=-1, enters=False, leaves=False)], ignore_index=True
        ).sort_values(["patroller", "start"], kind="stable")
        segments = pd.concat([segments, checked.drop(columns="micro_id").assign(seg=-1)])
    fix_times = pd.DataFrame({"patroller": f["patroller"].to_numpy(), "t": _seconds(f["time"])})
    return Timeline(
        pieces=pieces.reset_index(drop=True),
        segments=segments.reset_index(drop=True),
        gaps=gaps.reset_index(drop=True),
        fix_times=fix_times,
        warnings=tuple(warn),
        seg_s=(seg["end"] - seg["start"]).to_numpy(),
    )


def visit_table(tl: Timeline) -> pd.DataFrame:
    """Merge each patroller's consecutive pieces in one micro-grid into visits (seconds).

    Columns ``patroller``, ``micro_id``, ``start``, ``end``, ``seconds`` (in the micro-grid),
    ``entry_err``/``exit_err`` (half the interval the entry or exit fell in, 0 for a check-in
    or where the track began or resumed inside) and ``source`` (``track``, ``checkin`` or both).
    """
    p = tl.pieces.sort_values(["patroller", "start"], kind="stable").reset_index(drop=True)
    if p.empty:
        columns = ["patroller", "micro_id", "start", "end", "seconds", "entry_err", "exit_err"]
        return pd.DataFrame(columns=[*columns, "source"])
    prev_end = p["end"].shift()
    new = (
        p["patroller"].ne(p["patroller"].shift())
        | p["micro_id"].ne(p["micro_id"].shift())
        | (p["start"] - prev_end).abs().gt(1e-6)
    )
    g = p.assign(sec=p["end"] - p["start"], checkin=p["seg"] < 0).groupby(new.cumsum())
    v = g.agg(
        patroller=("patroller", "first"),
        micro_id=("micro_id", "first"),
        start=("start", "min"),
        end=("end", "max"),
        seconds=("sec", "sum"),
        first_seg=("seg", "first"),
        enters=("enters", "first"),
        last_seg=("seg", "last"),
        leaves=("leaves", "last"),
        checkins=("checkin", "sum"),
        n=("checkin", "size"),
    ).reset_index(drop=True)
    half = np.r_[tl.seg_s, 0.0] / 2  # index -1 (a check-in) reads the 0 at the end
    v["entry_err"] = np.where(v["enters"], half[v["first_seg"].to_numpy(int)], 0.0)
    v["exit_err"] = np.where(v["leaves"], half[v["last_seg"].to_numpy(int)], 0.0)
    v["source"] = np.select(
        [v["checkins"].eq(0), v["checkins"].eq(v["n"])], ["track", "checkin"], "track+checkin"
    )
    return v[
        ["patroller", "micro_id", "start", "end", "seconds", "entry_err", "exit_err", "source"]
    ]


def slice_windows(
    slices: Iterable[TimeSlice], timezone: str, first: dt.date, last: dt.date
) -> pd.DataFrame:
    """Return the slices of each shift date from ``first`` to ``last``: date, slice, start, end.

    ``start``/``end`` are seconds since the epoch of the slice's wall-clock bounds in
    ``timezone`` (a night slice ends on the next day); weekday or weekend slices only on
    their days.
    """
    rows = []
    day = first
    while day <= last:
        weekend = day.weekday() >= 5
        for s in slices:
            if (s.days == "weekend" and not weekend) or (s.days == "weekday" and weekend):
                continue
            base = pd.Timestamp(day)
            wall = pd.DatetimeIndex(
                [base + pd.Timedelta(minutes=s.start_min),
                 base + pd.Timedelta(minutes=s.start_min + s.duration_min)]
            )  # fmt: skip
            local = wall.tz_localize(timezone, ambiguous=[True, True], nonexistent="shift_forward")
            start, end = (local.as_unit("ns").asi8 / 1e9).tolist()
            rows.append((day.isoformat(), s.id, start, end))
        day += dt.timedelta(days=1)
    return pd.DataFrame(rows, columns=["date", "slice", "start", "end"])


def _overlap(frame: pd.DataFrame, start: float, end: float) -> np.ndarray:
    lo = np.maximum(frame["start"].to_numpy(float), start)
    hi = np.minimum(frame["end"].to_numpy(float), end)
    return np.maximum(hi - lo, 0.0)


def _sum_by(frame: pd.DataFrame, seconds: np.ndarray, keys: list[str]) -> pd.Series:
    sel = seconds > 0
    return frame[sel].assign(sec=seconds[sel]).groupby(keys)["sec"].sum()


def _window_minutes(tl: Timeline, visits: pd.DataFrame, w: Any) -> pd.DataFrame:
    """Minutes and their error per patroller and micro-grid in one window."""
    sec = _sum_by(tl.pieces, _overlap(tl.pieces, w.start, w.end), ["patroller", "micro_id"])
    vs, ve = visits["start"].to_numpy(float), visits["end"].to_numpy(float)
    err = np.where((vs >= w.start) & (vs < w.end), visits["entry_err"], 0.0) + np.where(
        (ve > w.start) & (ve <= w.end), visits["exit_err"], 0.0
    )
    err_sec = _sum_by(visits, err, ["patroller", "micro_id"])
    out = pd.DataFrame({"sec": sec}).join(pd.DataFrame({"err": err_sec}), how="left").fillna(0.0)
    out = out.reset_index()
    return pd.DataFrame(
        {
            "patroller": out["patroller"],
            "date": w.date,
            "slice": w.slice,
            "micro_id": out["micro_id"],
            "minutes": out["sec"] / 60,
            "error_min": out["err"] / 60,
        }
    )


def _window_coverage(
    tl: Timeline, in_grid: pd.Series, intervals: pd.DataFrame, w: Any, params: TrackParams
) -> pd.DataFrame:
    """Tracked, outside, unknown minutes, fixes and their interval per patroller in a window."""
    tracked = _sum_by(tl.segments, _overlap(tl.segments, w.start, w.end), ["patroller"])
    unknown = _sum_by(tl.gaps, _overlap(tl.gaps, w.start, w.end), ["patroller"])
    t = tl.fix_times["t"].to_numpy(float)
    inside = (t >= w.start) & (t < w.end)
    fixes = tl.fix_times[inside].groupby("patroller").size()
    i = intervals[(intervals["t"] >= w.start) & (intervals["t"] < w.end)]
    i = i[i["gap"] <= params.max_gap_s]  # the time between fixes, not the gaps in a track
    median = i.groupby("patroller")["gap"].median()
    who = sorted(set(tracked.index) | set(unknown.index) | set(fixes.index))
    cov = pd.DataFrame(index=pd.Index(who, name="patroller"))
    cov["tracked_min"] = tracked.reindex(who).fillna(0.0) / 60
    grid_min = in_grid.reindex(who).fillna(0.0)
    cov["outside_min"] = np.maximum(cov["tracked_min"] - grid_min, 0.0)
    cov["unknown_min"] = unknown.reindex(who).fillna(0.0) / 60
    cov["fixes"] = fixes.reindex(who).fillna(0).astype(np.int64)
    cov["median_interval_s"] = median.reindex(who)
    cov["coarse"] = cov["median_interval_s"].gt(params.coarse_interval_s)
    cov = cov.reset_index().assign(date=w.date, slice=w.slice)
    return cov[list(COVERAGE_COLUMNS)]


def fix_intervals(tl: Timeline) -> pd.DataFrame:
    """Return the seconds between each fix and the one before of the same patroller.

    Columns ``patroller``, ``t`` (the later fix) and ``gap``.
    """
    ft = tl.fix_times
    same = ft["patroller"].eq(ft["patroller"].shift()).to_numpy()
    gap = ft["t"].diff().to_numpy()
    return pd.DataFrame({"patroller": ft["patroller"], "t": ft["t"], "gap": gap})[same]


def per_window(
    tl: Timeline, windows: pd.DataFrame, params: TrackParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the PRESENCE and coverage tables of a timeline over ``windows`` (see module)."""
    visits = visit_table(tl)
    intervals = fix_intervals(tl)
    minutes, coverage = [], []
    for w in windows.itertuples(index=False):
        m = _window_minutes(tl, visits, w)
        in_grid = m.groupby("patroller")["minutes"].sum()
        minutes.append(m)
        coverage.append(_window_coverage(tl, in_grid, intervals, w, params))
    empty_m = pd.DataFrame(columns=list(PRESENCE_COLUMNS))
    empty_c = pd.DataFrame(columns=list(COVERAGE_COLUMNS))
    m_all = pd.concat([empty_m, *minutes], ignore_index=True) if minutes else empty_m
    c_all = pd.concat([empty_c, *coverage], ignore_index=True) if coverage else empty_c
    m_all = m_all.astype({"minutes": float, "error_min": float})
    c_all = c_all.astype(
        {
            "tracked_min": float,
            "outside_min": float,
            "unknown_min": float,
            "fixes": np.int64,
            "median_interval_s": float,
            "coarse": bool,
        }
    )
    c_all = c_all[(c_all["tracked_min"] > 0) | (c_all["unknown_min"] > 0) | (c_all["fixes"] > 0)]
    return m_all.reset_index(drop=True), c_all.reset_index(drop=True)


def _visit_frame(visits: pd.DataFrame, timezone: str) -> pd.DataFrame:
    def local(seconds: pd.Series) -> pd.Series:
        utc = pd.to_datetime(seconds.to_numpy(float) * 1e9, utc=True)
        return pd.Series(utc.tz_convert(timezone))

    return pd.DataFrame(
        {
            "patroller": visits["patroller"].to_numpy(),
            "micro_id": visits["micro_id"].to_numpy(),
            "start": local(visits["start"]).dt.round("ms").to_numpy(),
            "end": local(visits["end"]).dt.round("ms").to_numpy(),
            "minutes": visits["seconds"].to_numpy(float) / 60,
            "error_min": (visits["entry_err"] + visits["exit_err"]).to_numpy(float) / 60,
            "source": visits["source"].to_numpy(),
        },
        columns=list(VISIT_COLUMNS),
    )


def coarse_warnings(
    intervals: pd.DataFrame, params: TrackParams
) -> tuple[float | None, bool, list[Message]]:
    """Return the median interval of all fixes, whether any track is coarse, and the warnings."""
    real = intervals[intervals["gap"] <= params.max_gap_s]
    median = float(real["gap"].median()) if len(real) else None
    warn = []
    for pid, part in real.groupby("patroller"):
        m = float(part["gap"].median())
        if m > params.coarse_interval_s:
            limit = params.coarse_interval_s
            warn.append(_W_COARSE(patroller=pid, interval=m, limit=limit, error=m / 60))
    return median, bool(warn), warn


def compute_presence(
    fixes: pd.DataFrame,
    grid: gpd.GeoDataFrame,
    config: StationConfig | None = None,
    *,
    check_ins: Sequence[CheckIn] = (),
    slices: Sequence[TimeSlice] | None = None,
    params: TrackParams | None = None,
) -> TrackPresence:
    """Return the minutes each patroller spent in each micro-grid, per shift date and slice.

    Parameters
    ----------
    fixes
        A FIXES table (:func:`~gridplan.tracks.fixes.import_track`, several concatenated).
    grid
        The 1+5+N grid; its micro-grids are cut in the metric CRS (``crs.metric`` of the
        config, else the local UTM zone).
    config
        The station: timezone and time slices (default:
        :func:`~gridplan.station.config.default_config`).
    check_ins
        :class:`CheckIn` s: an ``arrived``/``left`` pair is presence in its micro-grid.
    slices
        Time slices instead of the config's.
    params
        ``max_gap_s`` (longest interval interpolated) and ``coarse_interval_s``.

    Returns
    -------
    TrackPresence
        Minutes per micro-grid and slice, what was tracked and unknown, visits, and the
        coarse-sampling flag with its warnings.

    Raises
    ------
    InputError
        If ``fixes`` is not a FIXES table or ``grid`` has no micro-grids.
    CRSError
        If ``grid`` has no CRS.

    Examples
    --------
    >>> import gridplan as gp
    >>> grid = gp.load_grid("tests/data/grid_clean.geojson")
    >>> cell = grid[grid["level"] == "micro"].iloc[0]
    >>> c = cell.geometry.representative_point()
    >>> import pandas as pd
    >>> fixes = pd.DataFrame({"patroller": "V01", "time": pd.date_range(
    ...     "2024-06-05 08:00", periods=3, freq="1min", tz="Asia/Shanghai"),
    ...     "lon": c.x, "lat": c.y, "accuracy_m": 5.0, "source": "test", "row": [1, 2, 3]})
    >>> p = compute_presence(fixes, grid)
    >>> p.minutes[["micro_id", "minutes"]].to_dict("records") == [
    ...     {"micro_id": cell["id"], "minutes": 2.0}]
    True
    >>> p.coarse, p.median_interval_s
    (True, 60.0)
    """
    config = default_config() if config is None else config
    params = TrackParams() if params is None else params
    check_fixes(fixes)
    crs = metric_crs(grid, crs=config.metric_crs, source=config.source)
    cells = micro_cells(grid, crs)
    tl = build_timeline(fixes, cells, check_ins=check_ins, params=params)
    tz = config.timezone
    days = [t.date() for t in fixes["time"].dt.tz_convert(tz)]
    days += [c.time.astimezone(config.tz).date() for c in check_ins]
    if days:
        windows = slice_windows(
            config.slices if slices is None else slices,
            tz,
            min(days) - dt.timedelta(days=1),
            max(days),
        )
    else:
        windows = pd.DataFrame(columns=["date", "slice", "start", "end"])
    minutes, coverage = per_window(tl, windows, params)
    median, coarse, warn = coarse_warnings(fix_intervals(tl), params)
    return TrackPresence(
        minutes=minutes,
        coverage=coverage,
        visits=_visit_frame(visit_table(tl), tz),
        median_interval_s=median,
        coarse=coarse,
        params=params,
        warnings=tuple([*tl.warnings, *warn]),
    )


#: Columns of :func:`presence_table`: minutes per patroller, shift date, slice and micro-grid,
#: with the time in no micro-grid and the unknown time on rows whose ``micro_id`` is ``""``.
PRESENCE_TABLE_COLUMNS = ("patroller", "date", "slice", "micro_id", "minutes", "unknown_min")

#: Fixes of a patroller further apart than this (seconds) are two outings (the phone was off
#: between two shifts): the time between them is neither presence nor unknown time.
BREAK_S = 3600.0

_OUTING = "\x1f"  # joins a patroller and an outing number while they are measured apart


def presence_table(
    fixes: pd.DataFrame,
    grid: gpd.GeoDataFrame,
    config: StationConfig | None = None,
    *,
    params: TrackParams | None = None,
    break_s: float = BREAK_S,
) -> pd.DataFrame:
    """Return what a day of tracks amounts to, as kept after the fixes are deleted.

    The minutes per micro-grid are those of :func:`compute_presence` (the ones compliance
    reports); each patroller's time in no micro-grid (``outside_min`` of its coverage) and
    unknown time (gaps longer than ``max_gap_s``) are kept on a row of ``micro_id`` ``""``.
    Fixes more than ``break_s`` apart are measured as separate outings, so the hours between
    two shifts are not unknown time.

    Parameters
    ----------
    fixes
        A FIXES table.
    grid, config, params
        As for :func:`compute_presence`.
    break_s
        The longest interval between two fixes of one outing, seconds.

    Returns
    -------
    pandas.DataFrame
        :data:`PRESENCE_TABLE_COLUMNS`, one row per patroller, date, slice and micro-grid
        with minutes or unknown time, sorted.

    Examples
    --------
    >>> import gridplan as gp
    >>> grid = gp.load_grid("tests/data/grid_clean.geojson")
    >>> c = grid[grid["level"] == "micro"].iloc[0].geometry.representative_point()
    >>> fixes = pd.DataFrame({"patroller": "V01", "time": pd.to_datetime(
    ...     ["2024-06-05 08:00", "2024-06-05 08:01", "2024-06-05 08:05", "2024-06-05 18:00",
    ...      "2024-06-05 18:01"]).tz_localize("Asia/Shanghai"),
    ...     "lon": c.x, "lat": c.y, "accuracy_m": 5.0, "source": "test"})
    >>> t = presence_table(fixes, grid)
    >>> t[["slice", "micro_id", "minutes", "unknown_min"]].values.tolist()  # doctest: +ELLIPSIS
    [['evening', 'S01-...', 1.0, 0.0], ['morning', '', 0.0, 4.0], ['morning', 'S01-...', 1.0, 0.0]]
    """
    params = TrackParams() if params is None else params
    check_fixes(fixes)
    columns = list(PRESENCE_TABLE_COLUMNS)
    if fixes.empty:
        return pd.DataFrame(columns=columns)
    f = fixes.sort_values(["patroller", "time"], kind="stable").reset_index(drop=True)
    who = f["patroller"].astype(str)
    gap = f["time"].diff().dt.total_seconds()
    outing = (who.ne(who.shift()) | gap.gt(break_s)).cumsum()
    tagged = f.assign(patroller=who + _OUTING + outing.astype(str))
    p = compute_presence(tagged, grid, config, params=params)
    cells = p.minutes.assign(unknown_min=0.0)[columns]
    cov = p.coverage
    elsewhere = pd.DataFrame(
        {
            "patroller": cov["patroller"],
            "date": cov["date"],
            "slice": cov["slice"],
            "micro_id": "",
            "minutes": cov["outside_min"],
            "unknown_min": cov["unknown_min"],
        }
    )
    out = pd.concat([cells, elsewhere], ignore_index=True)
    out["patroller"] = out["patroller"].str.rsplit(_OUTING, n=1).str[0]
    out = out.groupby(columns[:4], as_index=False, sort=True)[columns[4:]].sum()
    kept = (out["minutes"] > 1e-9) | (out["unknown_min"] > 1e-9)
    return out[kept].reset_index(drop=True)


__all__ = [
    "BREAK_S",
    "COVERAGE_COLUMNS",
    "KINDS",
    "PRESENCE_TABLE_COLUMNS",
    "VISIT_COLUMNS",
    "CheckIn",
    "Timeline",
    "TrackPresence",
    "build_timeline",
    "compute_presence",
    "micro_cells",
    "per_window",
    "presence_table",
    "slice_windows",
    "visit_table",
]
