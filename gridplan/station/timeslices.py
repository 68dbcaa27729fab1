"""Time slices: which patrol shift(s) an incident belongs to, and analysis periods.

A :class:`TimeSlice` is a daily window such as 22:00-06:00. Its start is
inclusive and its end exclusive, at minute precision of the station's wall-clock time, so an
incident at 05:59:59 is in the night slice and one at 06:00 in the morning slice. A slice that
crosses midnight belongs to the *shift date* it started on: an incident at 02:00 on a Saturday
is part of Friday's night shift, which matters when slices are split into weekday and weekend
versions (``days = "weekday"`` / ``"weekend"``; Saturday and Sunday shifts are the weekend).

Only wall-clock fields are used, so daylight-saving changes cannot move an incident into
another slice: 02:30 local time is 02:30 whether the offset that day is -7 or -8 hours.

Slices are not required to be disjoint. :func:`assign_slices` therefore returns a boolean
membership matrix (one column per slice) in which an incident may be in several slices, or in
none (a gap between user-defined slices).

Analysis periods (``"2015:2018"``, ``"2019-01-01:2019-06-30"``) are whole days and are parsed
by :func:`parse_period`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

import numpy as np
import pandas as pd

from gridplan._errors import ConfigError
from gridplan._errors import InputError
from gridplan.station._toml import describe

if TYPE_CHECKING:
    from gridplan.station.config import StationConfig

#: Id of the whole-day pseudo slice that hot-spot results and back-tests add to the
#: configured slices.
ALL_DAY = "all"

_MIN_PER_DAY = 24 * 60
# 1970-01-01 was a Thursday; with Monday = 0 its weekday number is 3.
_EPOCH_WEEKDAY = 3

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclasses.dataclass(frozen=True)
class TimeSlice:
    """A daily patrol time window, such as 22:00-06:00.

    Attributes
    ----------
    id
        Short code used in tables and file names (letters, digits, ``_``, ``-``).
    start_min, end_min
        Minutes after midnight; ``end_min <= start_min`` means the slice crosses midnight.
    name_zh, name_en
        Display names.
    days
        ``"all"``, ``"weekday"`` or ``"weekend"``: the days the shift *starts* on.

    Raises
    ------
    ConfigError
        On an invalid id, a minute outside 0..1439, a zero-length slice or unknown ``days``.

    Examples
    --------
    >>> night = TimeSlice("night", 22 * 60, 6 * 60, name_en="Night")
    >>> night.crosses_midnight, night.duration_min
    (True, 480)
    >>> night.label
    'Night 22:00-06:00'
    """

    id: str
    start_min: int
    end_min: int
    name_zh: str = ""
    name_en: str = ""
    days: str = "all"

    def __post_init__(self):
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", self.id or ""):
            msg = (
                f"time slice id {self.id!r} is not a valid id; use letters, digits, '_' or '-' "
                "(for example 'night')"
            )
            raise ConfigError(msg)
        for name in ("start_min", "end_min"):
            value = getattr(self, name)
            if not 0 <= value < 24 * 60:
                msg = f"time slice {self.id!r}: {name}={value} is outside 0..1439 minutes"
                raise ConfigError(msg)
        if self.start_min == self.end_min:
            msg = (
                f"time slice {self.id!r} starts and ends at the same time "
                f"({format_minutes(self.start_min)}); give it a length, e.g. 22:00-06:00"
            )
            raise ConfigError(msg)
        if self.days not in ("all", "weekday", "weekend"):
            msg = f"time slice {self.id!r}: days={self.days!r}; use 'all', 'weekday' or 'weekend'"
            raise ConfigError(msg)

    @property
    def crosses_midnight(self) -> bool:
        """Whether the slice runs past midnight into the next day."""
        return self.end_min <= self.start_min

    @property
    def duration_min(self) -> int:
        """Length of the slice in minutes."""
        return (self.end_min - self.start_min) % (24 * 60)

    @property
    def label(self) -> str:
        """Human label such as ``夜间 Night 22:00-06:00``."""
        names = " ".join(n for n in (self.name_zh, self.name_en) if n) or self.id
        span = f"{format_minutes(self.start_min)}-{format_minutes(self.end_min)}"
        suffix = {"all": "", "weekday": " (weekday/工作日)", "weekend": " (weekend/周末)"}
        return f"{names} {span}{suffix[self.days]}"


def format_minutes(minutes: int) -> str:
    """Format minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def real_seconds(start: dt.datetime, minutes: int) -> int:
    """Return the real seconds from ``start`` to the wall-clock time ``minutes`` later.

    DST-aware: a night slice across the spring change is an hour shorter in real seconds.

    Examples
    --------
    >>> import zoneinfo
    >>> la = zoneinfo.ZoneInfo("America/Los_Angeles")
    >>> real_seconds(dt.datetime(2024, 3, 9, 22, tzinfo=la), 8 * 60) / 3600
    7.0
    """
    wall = start + dt.timedelta(minutes=int(minutes))  # same tzinfo: wall-clock arithmetic
    return int((wall.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds())


def parse_hhmm(value: Any, *, where: str) -> int:
    """Parse ``"HH:MM"`` (or a TOML local time) into minutes after midnight."""
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    m = _TIME_RE.match(str(value).strip())
    if m:
        hours, minutes = int(m.group(1)), int(m.group(2))
        if hours == 24 and minutes == 0:
            return 0
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
    msg = (
        f"{where} = {describe(value)} is not a time of day; write it as HH:MM, for example '22:00'"
    )
    raise ConfigError(msg)


def _wall_clock(times: pd.Series, tz: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (day number since 1970-01-01, minute of day, valid mask) of local wall time."""
    s = times if isinstance(times, pd.Series) else pd.Series(times)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        msg = (
            f"incident times must be datetimes, got dtype {s.dtype}; parse them first "
            "(gridplan.geo.incidents.import_incidents does) or use pandas.to_datetime"
        )
        raise InputError(msg)
    if s.dt.tz is not None:
        if tz is not None:
            s = s.dt.tz_convert(tz)
        # Drop the offset and keep the local wall-clock reading: slices are defined on it.
        s = s.dt.tz_localize(None)
    values = s.to_numpy(dtype="datetime64[ns]")
    valid = ~np.isnat(values)
    minutes = values.astype("datetime64[m]").astype(np.int64)
    minutes = np.where(valid, minutes, 0)
    day = np.floor_divide(minutes, _MIN_PER_DAY)
    minute_of_day = minutes - day * _MIN_PER_DAY
    return day, minute_of_day, valid


def _slice_mask(day: np.ndarray, minute: np.ndarray, valid: np.ndarray, s: TimeSlice):
    """Return (membership mask, shift day number) of one slice."""
    if s.crosses_midnight:
        early = minute < s.end_min  # the part after midnight: the shift began the day before
        inside = early | (minute >= s.start_min)
        shift_day = day - early.astype(np.int64)
    else:
        inside = (minute >= s.start_min) & (minute < s.end_min)
        shift_day = day
    if s.days != "all":
        weekend = (shift_day + _EPOCH_WEEKDAY) % 7 >= 5
        inside &= weekend if s.days == "weekend" else ~weekend
    return inside & valid, shift_day


def _as_slices(slices: Iterable[TimeSlice] | StationConfig) -> tuple[TimeSlice, ...]:
    if not isinstance(slices, Iterable):  # a StationConfig (not imported: it imports us)
        return slices.slices
    out = tuple(slices)
    bad = [s for s in out if not isinstance(s, TimeSlice)]
    if bad:
        msg = (
            f"slices must be TimeSlice objects (or a StationConfig), got {bad[0]!r}; "
            "take them from load_config(...).slices"
        )
        raise InputError(msg)
    return out


def assign_slices(
    times: pd.Series,
    slices: Iterable[TimeSlice] | StationConfig,
    *,
    tz: str | None = None,
) -> pd.DataFrame:
    """Return which time slices each incident time falls in, as a boolean matrix.

    Parameters
    ----------
    times
        Incident times. Timezone-aware times are converted to ``tz`` (when given) and read as
        local wall-clock time; naive times are taken as local wall-clock time already.
        Missing times (NaT) belong to no slice.
    slices
        The slices to test, such as ``config.slices``, or a :class:`StationConfig` (then its
        effective slices and timezone are used).
    tz
        IANA timezone of the station; defaults to the config's when ``slices`` is a config.

    Returns
    -------
    pandas.DataFrame
        Same index as ``times``, one boolean column per slice id in slice order. With the
        default (disjoint) slices every valid time is in exactly one column; overlapping user
        slices can put a time in several, gaps between slices in none.

    Raises
    ------
    InputError
        If ``times`` are not datetimes or ``slices`` are not :class:`TimeSlice` objects.

    Examples
    --------
    >>> import pandas as pd
    >>> from gridplan.station.config import default_config
    >>> t = pd.Series(pd.to_datetime(["2024-03-01 02:00", "2024-03-01 06:00"]))
    >>> assign_slices(t, default_config()).astype(int)
       morning  day  evening  night
    0        0    0        0      1
    1        1    0        0      0
    """
    if not isinstance(slices, Iterable) and tz is None:  # a StationConfig
        tz = slices.timezone
    slices = _as_slices(slices)
    index = times.index if isinstance(times, pd.Series) else pd.RangeIndex(len(times))
    day, minute, valid = _wall_clock(times, tz)
    data = {s.id: _slice_mask(day, minute, valid, s)[0] for s in slices}
    return pd.DataFrame(data, index=index, columns=[s.id for s in slices], dtype=bool)


def shift_date(times: pd.Series, time_slice: TimeSlice, *, tz: str | None = None) -> pd.Series:
    """Return the date on which the shift of ``time_slice`` containing each time started.

    For a slice that crosses midnight (22:00-06:00) a time after midnight (02:00) belongs to
    the shift that started the evening before, so its shift date is the previous calendar
    day. For other slices, and for times outside the slice, it is the calendar date.

    Parameters
    ----------
    times
        Incident times, read as in :func:`assign_slices`.
    time_slice
        The slice.
    tz
        IANA timezone to read timezone-aware times in.

    Returns
    -------
    pandas.Series
        Naive ``datetime64`` dates (midnight) with the index of ``times``; NaT where the time
        is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from gridplan.station.timeslices import TimeSlice
    >>> night = TimeSlice("night", 22 * 60, 6 * 60)
    >>> t = pd.Series(pd.to_datetime(["2024-03-02 02:00", "2024-03-02 23:00"]))
    >>> shift_date(t, night).dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-01', '2024-03-02']
    """
    index = times.index if isinstance(times, pd.Series) else pd.RangeIndex(len(times))
    day, minute, valid = _wall_clock(times, tz)
    _, shift_day = _slice_mask(day, minute, valid, time_slice)
    out = shift_day.astype("datetime64[D]").astype("datetime64[s]")
    out[~valid] = np.datetime64("NaT")
    return pd.Series(out, index=index, name="shift_date")


class Period(NamedTuple):
    """An analysis period of whole days, ``first`` to ``last`` inclusive (naive dates).

    Made by :func:`parse_period` from ``"2019"``, ``"2019-02"``, ``"2015:2018"`` or a pair of
    dates; ``str()`` gives it back as ``first:last``.

    Attributes
    ----------
    first, last
        The first and last day (midnight, no timezone).

    Examples
    --------
    >>> p = parse_period("2019")
    >>> str(p), p.days
    ('2019-01-01:2019-12-31', 365)
    >>> p.bounds("Asia/Shanghai")[1]
    Timestamp('2020-01-01 00:00:00+0800', tz='Asia/Shanghai')
    """

    first: pd.Timestamp
    last: pd.Timestamp

    def bounds(self, tz: str | None) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Return ``(start, end)``: midnight of ``first`` and midnight after ``last`` in ``tz``.

        ``start`` is inclusive and ``end`` exclusive, so every time on the last day counts.
        """
        start, end = self.first, self.last + pd.Timedelta(days=1)
        if tz is None:
            return start, end
        # Midnight can be skipped or repeated by a DST change in a few zones; take the first
        # valid instant so the period still covers the whole day.
        kw = {"ambiguous": True, "nonexistent": "shift_forward"}
        return start.tz_localize(tz, **kw), end.tz_localize(tz, **kw)

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        return f"{self.first:%Y-%m-%d}:{self.last:%Y-%m-%d}"


_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{1,2}$")


def _day(value, *, end: bool, where: str) -> pd.Timestamp:
    """Parse one end of a period: a year, a year-month, a date or a timestamp."""
    if isinstance(value, pd.Timestamp | dt.date):
        ts = pd.Timestamp(value)
        return (ts.tz_localize(None) if ts.tz is not None else ts).normalize()
    text = str(value).strip()
    try:
        if _YEAR.match(text):
            return pd.Timestamp(year=int(text), month=12 if end else 1, day=31 if end else 1)
        if _MONTH.match(text):
            first = pd.Timestamp(f"{text}-01")
            return (first + pd.offsets.MonthEnd(0)) if end else first
        ts = pd.Timestamp(text)
    except ValueError as exc:
        msg = (
            f"{where}: {value!r} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD, "
            "e.g. '2015:2018' or '2019-01-01:2019-12-31'"
        )
        raise InputError(msg) from exc
    if ts is pd.NaT:
        msg = f"{where}: {value!r} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD"
        raise InputError(msg)
    return (ts.tz_localize(None) if ts.tz is not None else ts).normalize()


def parse_period(value: str | tuple | Period) -> Period:
    """Parse an analysis period of whole days.

    Parameters
    ----------
    value
        ``"START:END"`` or a ``(start, end)`` pair, both ends inclusive; each end is a year
        (``2015``), a month (``2019-03``), a date (``2019-03-31``) or a timestamp (its time of
        day is ignored). A single year, month or date is that whole span: ``"2019"`` is
        2019-01-01 to 2019-12-31. A :class:`Period` is returned unchanged.

    Returns
    -------
    Period

    Raises
    ------
    InputError
        If an end is not a date or the period ends before it starts.

    Examples
    --------
    >>> str(parse_period("2015:2018"))
    '2015-01-01:2018-12-31'
    >>> str(parse_period("2019-02"))
    '2019-02-01:2019-02-28'
    >>> str(parse_period(("2019-01-01", "2019-06-30")))
    '2019-01-01:2019-06-30'
    """
    if isinstance(value, Period):
        return value
    where = f"period {value!r}"
    if isinstance(value, str):
        parts = value.split(":") if value.count(":") == 1 else [value]
        if len(value.split(":")) > 2:
            # "2019-01-01 10:00:2019-02-01" is ambiguous: ask for dates only.
            msg = f"{where}: write START:END with dates only, e.g. '2019-01-01:2019-12-31'"
            raise InputError(msg)
    elif isinstance(value, tuple | list) and len(value) == 2:
        parts = list(value)
    else:
        msg = f"{where}: give 'START:END' or a (start, end) pair, e.g. '2015:2018'"
        raise InputError(msg)
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    first = _day(parts[0], end=False, where=where)
    last = _day(parts[1], end=True, where=where)
    if last < first:
        msg = f"{where}: ends ({last:%Y-%m-%d}) before it starts ({first:%Y-%m-%d}); swap them"
        raise InputError(msg)
    return Period(first, last)
