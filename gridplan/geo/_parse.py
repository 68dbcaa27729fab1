"""Parsing table cells: numbers, text, dates and times as police exports write them.

Vectorised: each date/time layout is parsed with one call over the rows still unparsed (ISO
first, then year-first Chinese forms such as ``2024年3月5日 14时30分``, then pandas' guess), and
only leftovers go row by row. Numbers are read as Excel serials, ``YYYYMMDD[HHMM[SS]]`` or Unix
epochs. Used by :mod:`gridplan.geo.incidents`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

# A clock time followed by a zone designator: 14:30Z, 14:30:00 UTC, +08, +0800, +08:00.
_AWARE_RE = r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
# 2024-3-5, 2024/03/05, 2024.3.5, 2024年3月5日, each optionally followed by 14:30[:00],
# 14时30分[20秒] or 14点30分.
_LOOSE_RE = (
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时点]\s*(?:(\d{1,2})\s*[:：分]?\s*(?:(\d{1,2})(?:\.\d+)?\s*秒?)?)?)?$"
)
_COMPACT_RE = r"^(\d{4})(\d{2})(\d{2})(?:[\sT]?(\d{2})(\d{2})(\d{2})?)?$"
_TOD_RE = r"^(\d{1,2})\s*[:：时点]\s*(?:(\d{1,2})\s*[:：分]?\s*(?:(\d{1,2})(?:\.\d+)?\s*秒?)?)?$"
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")
_EXCEL_SERIAL_RANGE = (20000.0, 80000.0)  # 1954-10-03 .. 2119-01-10
YEARS = (1900, 2100)
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


# --------------------------------------------------------------------------- numbers / text


def show(value: Any) -> str:
    """Render a cell for the rejects table the way the user typed it."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def numbers(values: pd.Series) -> np.ndarray:
    """Cells as floats; NaN where empty or not a number."""
    if pd.api.types.is_bool_dtype(values):
        return np.full(len(values), np.nan)
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if values.dtype == object:
        cells = [v.strip() if isinstance(v, str) else v for v in values]
        cleaned = pd.Series(
            [np.nan if isinstance(v, (bool, dt.date, dt.time)) else v for v in cells],
            dtype=object,
        )
    else:
        cleaned = values  # text columns are tidied (stripped, "" -> NaN) when read
    return np.asarray(pd.to_numeric(cleaned, errors="coerce"), dtype=float)


def blank(values: pd.Series) -> np.ndarray:
    """Whether each cell is missing or only whitespace.

    Text columns of CSV and vector files are tidied when read (stripped, empty -> NaN), so
    only the Python objects of XLSX cells need looking at one by one.
    """
    missing = values.isna().to_numpy(dtype=bool)
    if values.dtype != object:
        return missing
    empty = np.array([isinstance(v, str) and not v.strip() for v in values], dtype=bool)
    return missing | empty


def texts(values: pd.Series) -> pd.Series:
    """Cells as stripped strings (``string`` dtype, <NA> when empty)."""
    if values.dtype == object:
        conv = [
            None if (v is None or (isinstance(v, float) and np.isnan(v))) else show(v).strip()
            for v in values
        ]
        out = pd.Series(conv, index=values.index, dtype="string")
        return out.mask(out == "")
    if pd.api.types.is_float_dtype(values):
        values = pd.Series([show(v) for v in values], index=values.index, dtype=object)
        return values.astype("string").mask(values == "")
    return values.astype("string")


# --------------------------------------------------------------------------- times


@dataclasses.dataclass
class Parsed:
    """Parsed instants: naive local wall times or UTC, per row, plus flags."""

    naive: np.ndarray  # datetime64[ns], NaT where not naive
    utc: np.ndarray  # datetime64[ns] (UTC), NaT where not aware
    date_only: np.ndarray  # bool
    missing: np.ndarray  # bool
    out_of_range: np.ndarray  # bool: a date, but outside YEARS
    impossible: np.ndarray  # bool: a date and time in a known layout that does not exist

    @classmethod
    def empty(cls, n: int) -> Parsed:
        nat = np.full(n, np.datetime64("NaT", "ns"))
        flags = [np.zeros(n, bool) for _ in range(4)]
        return cls(nat, nat.copy(), *flags)

    @property
    def parsed(self) -> np.ndarray:
        done = ~(np.isnat(self.naive) & np.isnat(self.utc))
        return done | self.out_of_range | self.impossible

    def put(self, where: np.ndarray, result: Any) -> np.ndarray:
        """Store a pandas parse result at positions ``where``; return which rows it parsed.

        Dates outside the plausible years are flagged rather than stored: they are typos
        (``2399``) and would not fit pandas' nanosecond range anyway.
        """
        result = pd.DatetimeIndex(result)
        aware = result.tz is not None
        values = result.tz_convert("UTC").tz_localize(None) if aware else result
        found = ~np.asarray(values.isna())
        lo, hi = pd.Timestamp(f"{YEARS[0]}-01-01"), pd.Timestamp(f"{YEARS[1] + 1}-01-01")
        inside = found & np.asarray((values >= lo) & (values < hi))
        self.out_of_range[where[found & ~inside]] = True
        target = self.utc if aware else self.naive
        target[where[inside]] = values[inside].as_unit("ns").to_numpy()
        return found


def _quiet_to_datetime(values: Any, **kwargs: Any) -> pd.Series | pd.DatetimeIndex:
    with warnings.catch_warnings():
        # pandas warns when it falls back to dateutil; we only use the result
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(values, errors="coerce", **kwargs)


def _parse_with_format(out: Parsed, pos: np.ndarray, text: pd.Series, fmt: str) -> np.ndarray:
    """Parse ``text`` (values at positions ``pos``) with ``fmt``; returns the parsed mask."""
    if fmt.endswith("%z"):
        # offsets may differ per row: read them all as UTC instants
        ok = out.put(pos, _quiet_to_datetime(text, format=fmt, utc=True))
        if not ok.all():
            # %z wants minutes: "+00" and "+08" become "+0000" and "+0800"
            rest = ~ok
            hours = _quiet_to_datetime(text[rest] + "00", format=fmt, utc=True)
            ok[rest] = out.put(pos[rest], hours)
        return ok
    try:
        res = _quiet_to_datetime(text, format=fmt)
    except ValueError:
        # naive and offset-carrying strings mixed: parse the two groups separately
        aware = text.str.contains(_AWARE_RE, regex=True).to_numpy(dtype=bool)
        ok = np.zeros(len(text), dtype=bool)
        for group, utc in ((~aware, False), (aware, True)):
            if group.any():
                try:
                    res = _quiet_to_datetime(text[group], format=fmt, utc=utc)
                except ValueError:
                    continue
                ok[group] = out.put(pos[group], res)
        return ok
    return out.put(pos, res)


def _from_components(out: Parsed, pos: np.ndarray, parts: pd.DataFrame) -> np.ndarray:
    """Assemble datetimes from extracted year/month/day/hour/minute/second strings.

    Values that do not exist (2024-02-30, 25:61) are flagged ``impossible``: pandas would
    roll them over into the next day or month.
    """
    nums = parts.apply(pd.to_numeric, errors="coerce")
    nums.columns = ["year", "month", "day", "hour", "minute", "second"][: nums.shape[1]]
    date_only = nums["hour"].isna().to_numpy() if "hour" in nums else np.ones(len(nums), bool)
    nums = nums.fillna({c: 0 for c in ("hour", "minute", "second") if c in nums})
    real = _real_components(nums)
    out.impossible[pos[~real]] = True
    ok = ~real
    if real.any():
        ok[real] = out.put(pos[real], _quiet_to_datetime(nums[real]))
    out.date_only[pos[ok & real & date_only]] = True
    return ok


def _real_components(nums: pd.DataFrame) -> np.ndarray:
    """Whether each row's year/month/day[/hour/minute/second] name an existing instant."""
    year, month, day = (nums[c].to_numpy(dtype=float) for c in ("year", "month", "day"))
    with np.errstate(invalid="ignore"):
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        index = np.clip(np.nan_to_num(month, nan=1.0), 1, 12).astype(int) - 1
        days = _DAYS_IN_MONTH[index] + (leap & (month == 2))
        real = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
        for column, top in (("hour", 23), ("minute", 59), ("second", 59)):
            if column in nums:
                value = nums[column].to_numpy(dtype=float)
                real &= (value >= 0) & (value <= top)
    return real


def _from_numbers(out: Parsed, pos: np.ndarray, x: np.ndarray) -> None:
    """Excel serial dates, YYYYMMDD[HHMM[SS]] numbers and Unix epoch seconds/milliseconds."""
    lo, hi = _EXCEL_SERIAL_RANGE
    serial = (x >= lo) & (x < hi)
    if serial.any():
        seconds = np.round(x[serial] * 86400.0).astype(np.int64)
        out.naive[pos[serial]] = _EXCEL_EPOCH + seconds.astype("timedelta64[s]")
        out.date_only[pos[serial]] = np.equal(np.mod(x[serial], 1.0), 0.0)
    whole = np.isfinite(x) & np.equal(np.mod(np.nan_to_num(x), 1.0), 0.0)
    for lo_, hi_, fmt in (
        (19000101, 21001231, "%Y%m%d"),
        (190001010000, 210012312359, "%Y%m%d%H%M"),
        (19000101000000, 21001231235959, "%Y%m%d%H%M%S"),
    ):
        sel = whole & (x >= lo_) & (x <= hi_)
        if sel.any():
            text = pd.Series(x[sel].astype(np.int64).astype(str))
            res = _quiet_to_datetime(text, format=fmt)
            out.put(pos[sel], res)
            if fmt == "%Y%m%d":
                out.date_only[pos[sel]] = True
    for lo_, hi_, unit in ((9.46e8, 4.1e9, "s"), (9.46e11, 4.1e12, "ms")):
        sel = (x >= lo_) & (x < hi_)
        if sel.any():
            res = _quiet_to_datetime(x[sel], unit=unit, utc=True)
            out.put(pos[sel], res)


_ISO_RE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)?"
)
# The numeric zone designator ending an aware value, with the blanks before it.
_ZONE_RE = re.compile(r"(?<=\d)\s*([zZ]|[+-]\d{2}(?::?\d{2})?)$")
_CLOCK_FIELDS = ("%Y", "%m", "%d", "%H", "%M", "%S")


def _guess_format(value: str) -> str | None:
    """Guess a strptime format from one sample value.

    ISO 8601 first; then year-first layouts with any separators, which covers Chinese
    exports (``2024年3月5日 14时30分`` -> ``%Y年%m月%d日 %H时%M分``, ``2024/3/5 14:30``); then
    pandas' own guesser (month names, US order).
    """
    if _ISO_RE.fullmatch(value):
        return "ISO8601"
    if re.search(_AWARE_RE, value):
        # an offset after another layout (2014/03/02 05:00:00+00): that layout, then %z
        zone = _ZONE_RE.search(value)
        body = _guess_format(value[: zone.start()]) if zone else None
        if body is None or body == "ISO8601" or "%z" in body:
            return None  # UTC/GMT words and the like: left to the row-wise parser
        return body + value[zone.start() : zone.start(1)] + "%z"
    tokens = re.findall(r"\d+|\D+", value)
    digits = [t for t in tokens if t[0].isdigit()]
    if (
        3 <= len(digits) <= 6
        and len(digits[0]) == 4
        and all(len(t) <= 2 for t in digits[1:])
        and not any(c.isalpha() and c.isascii() for t in tokens for c in t if t not in "T")
    ):
        fields = iter(_CLOCK_FIELDS)
        return "".join(next(fields) if t[0].isdigit() else t.replace("%", "%%") for t in tokens)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return guess_datetime_format(value)


def _parse_text(out: Parsed, pos: np.ndarray, text: pd.Series) -> None:
    """Parse stripped, non-empty strings: learnt formats first, row-wise fallback last.

    A format is guessed from one value still unparsed and applied to all of them in one
    vectorised call; a column in one layout costs one pass, a mix a few.
    """
    text = text.reset_index(drop=True)
    todo = np.ones(len(text), dtype=bool)
    tried: set[str] = set()
    for _ in range(8):
        if not todo.any():
            return
        fmt = None
        for value in text[todo].head(64).unique():
            guess = _guess_format(value)
            if guess is not None and guess not in tried:
                fmt = guess
                break
        if fmt is None:
            break
        tried.add(fmt)
        idx = np.flatnonzero(todo)
        got = _parse_with_format(out, pos[idx], text[todo], fmt)
        done = idx[got]
        if fmt == "ISO8601":
            # ISO date-only strings ("2024-03-05") parse to midnight: the time is unknown
            naive = out.naive[pos[done]]
            midnight = ~np.isnat(naive) & (naive == naive.astype("datetime64[D]"))
            if midnight.any():
                short = text.iloc[done[midnight]].str.len().to_numpy() <= 10
                out.date_only[pos[done[midnight][short]]] = True
        elif not ("%H" in fmt or "%I" in fmt):
            out.date_only[pos[done]] = True
        todo[done] = False
    for pattern in (_LOOSE_RE, _COMPACT_RE):
        if not todo.any():
            return
        idx = np.flatnonzero(todo)
        parts = text[todo].str.extract(pattern)
        matched = parts[0].notna().to_numpy()
        if matched.any():
            got = _from_components(out, pos[idx[matched]], parts[matched])
            todo[idx[matched][got]] = False
    if todo.any():
        idx = np.flatnonzero(todo)
        x = pd.to_numeric(text[todo], errors="coerce").to_numpy(dtype=float)
        finite = np.isfinite(x)
        if finite.any():
            _from_numbers(out, pos[idx[finite]], x[finite])
            todo[idx] = ~out.parsed[pos[idx]]
    if todo.any():
        _parse_rowwise(out, pos[todo], text[todo])


def _parse_rowwise(out: Parsed, pos: np.ndarray, text: pd.Series) -> None:
    """Last resort for formats the vectorised steps miss (``Mar 5 2024 2:30 PM``, ...).

    Each distinct value is parsed once; the results are stored in two calls (naive, aware).
    """
    cache: dict[str, pd.Timestamp | None] = {}
    stamps: dict[bool, tuple[list[int], list[pd.Timestamp]]] = {False: ([], []), True: ([], [])}
    for p, value in zip(pos, text, strict=True):
        if value not in cache:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ts = pd.Timestamp(value)
            except (ValueError, TypeError, OverflowError):
                ts = None
            cache[value] = None if ts is None or ts is pd.NaT else ts
        ts = cache[value]
        if ts is None:
            continue
        rows, values = stamps[ts.tzinfo is not None]
        rows.append(p)
        values.append(ts)
        if ts.tzinfo is None and ts == ts.normalize() and not re.search(r"\d\s*[:时点]", value):
            out.date_only[p] = True
    for aware, (rows, values) in stamps.items():
        if rows:
            index = pd.to_datetime(values, utc=True) if aware else pd.DatetimeIndex(values)
            out.put(np.asarray(rows, dtype=np.int64), index)


def parse_datetimes(values: pd.Series) -> Parsed:
    """Parse a column of dates/times of any supported kind (vectorised per kind)."""
    n = len(values)
    out = Parsed.empty(n)
    values = values.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(values):
        out.missing[:] = values.isna().to_numpy()
        out.put(np.arange(n), values)
        return out
    if pd.api.types.is_bool_dtype(values):
        out.missing[:] = values.isna().to_numpy()
        return out
    if pd.api.types.is_numeric_dtype(values):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        out.missing[:] = np.isnan(x)
        _from_numbers(out, np.arange(n), x)
        return out
    out.missing[:] = blank(values)
    if values.dtype == object:
        kinds = np.array([_kind(v) for v in values], dtype=object)
        for kind in ("datetime", "date"):
            sel = kinds == kind
            if sel.any():
                stamps = [pd.Timestamp(v) for v in values[sel]]
                aware = np.array([s.tzinfo is not None for s in stamps], dtype=bool)
                pos = np.flatnonzero(sel)
                if (~aware).any():
                    out.put(pos[~aware], [s for s, a in zip(stamps, aware, strict=True) if not a])
                if aware.any():
                    out.put(
                        pos[aware],
                        pd.to_datetime(
                            [s for s, a in zip(stamps, aware, strict=True) if a], utc=True
                        ),
                    )
                if kind == "date":
                    out.date_only[pos] = True
        sel = kinds == "number"
        if sel.any():
            x = np.array([float(v) for v in values[sel]], dtype=float)
            _from_numbers(out, np.flatnonzero(sel), x)
        sel = (kinds == "text") & ~out.missing
        if sel.any():
            text = pd.Series([v.strip() for v in values[sel]], dtype=object).astype(str)
            _parse_text(out, np.flatnonzero(sel), text)
        return out
    keep = ~out.missing
    if keep.any():
        _parse_text(out, np.flatnonzero(keep), values[keep])
    return out


def _kind(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, (dt.datetime, np.datetime64)):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def parse_time_of_day(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse HHMM integers, HH:MM[:SS], 14时30分 or Excel times to offsets from midnight.

    Returns ``(offset timedelta64[ns], bad, missing)``.
    """
    values = values.reset_index(drop=True)
    n = len(values)
    offset = np.full(n, np.timedelta64("NaT", "ns"))
    missing = blank(values)
    seconds = np.full(n, np.nan)
    if values.dtype == object:
        clock = np.array([isinstance(v, (dt.time, dt.datetime)) for v in values], dtype=bool)
        for i in np.flatnonzero(clock):
            t = values[i].time() if isinstance(values[i], dt.datetime) else values[i]
            seconds[i] = t.hour * 3600 + t.minute * 60 + t.second
    else:
        clock = np.zeros(n, dtype=bool)
    rest = ~missing & ~clock
    if rest.any():
        x = numbers(values[rest])
        idx = np.flatnonzero(rest)
        whole = np.isfinite(x) & np.equal(np.mod(np.nan_to_num(x), 1.0), 0.0)
        hhmm = whole & (x >= 0) & (x <= 2359) & (np.mod(np.nan_to_num(x), 100) < 60)
        seconds[idx[hhmm]] = (x[hhmm] // 100) * 3600 + np.mod(x[hhmm], 100) * 60
        frac = np.isfinite(x) & ~whole & (x > 0) & (x < 1)  # Excel time as fraction of a day
        seconds[idx[frac]] = np.round(x[frac] * 86400)
        text_rows = ~np.isfinite(x)
        if text_rows.any() and not pd.api.types.is_numeric_dtype(values):
            tidx = idx[text_rows]
            text = pd.Series([str(v).strip() for v in values[tidx]], dtype=object).astype(str)
            parts = text.str.extract(_TOD_RE).apply(pd.to_numeric, errors="coerce")
            h, m, s = (parts[i].fillna(0).to_numpy() for i in range(3))
            good = parts[0].notna().to_numpy() & (h < 24) & (m < 60) & (s < 60)
            seconds[tidx[good]] = h[good] * 3600 + m[good] * 60 + np.floor(s[good])
    good = np.isfinite(seconds)
    offset[good] = (seconds[good] * 1e9).astype(np.int64).astype("timedelta64[ns]")
    bad = ~missing & ~good
    return offset, bad, missing


def looks_like_time_of_day(values: pd.Series) -> bool:
    """Whether a column's first values are all times of day (so it pairs with a date column)."""
    sample = values.dropna().head(200)
    if sample.empty:
        return False
    _, bad, missing = parse_time_of_day(sample)
    if bad.any():
        return False
    # a full date such as 20240305 is not a time of day (HHMM only goes to 2359)
    return not missing.all()


def localise(parsed: Parsed, tz: str) -> np.ndarray:
    """Combine naive (local) and UTC instants into UTC datetime64[ns]."""
    utc = parsed.utc.copy()
    naive = ~np.isnat(parsed.naive)
    if naive.any():
        idx = pd.DatetimeIndex(parsed.naive[naive])
        # Ambiguous wall times (the repeated hour when DST ends) are read as the first
        # occurrence; non-existent ones (the skipped hour) move forward, as a clock would.
        local = idx.tz_localize(
            tz, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward"
        )
        utc[naive] = local.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()
    return utc
