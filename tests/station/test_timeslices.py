import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan import InputError
from gridplan.station.config import config_from_mapping
from gridplan.station.config import default_config
from gridplan.station.timeslices import Period
from gridplan.station.timeslices import TimeSlice
from gridplan.station.timeslices import assign_slices
from gridplan.station.timeslices import parse_period
from gridplan.station.timeslices import shift_date

NIGHT = TimeSlice("night", 22 * 60, 6 * 60)
SPLIT = config_from_mapping({"time": {"split_weekend": True}})


def series(*texts, tz=None):
    s = pd.Series(pd.to_datetime(list(texts), format="ISO8601"))
    return s.dt.tz_localize(tz) if tz else s


def slice_of(frame: pd.DataFrame) -> list[str]:
    return [",".join(frame.columns[row]) for row in frame.to_numpy()]


def test_start_is_inclusive_and_end_exclusive():
    t = series(
        "2024-03-01 05:59:59",
        "2024-03-01 06:00",
        "2024-03-01 09:59",
        "2024-03-01 10:00",
        "2024-03-01 21:59:59",
        "2024-03-01 22:00",
        "2024-03-02 00:00",
    )
    got = slice_of(assign_slices(t, default_config()))
    assert got == ["night", "morning", "morning", "day", "evening", "night", "night"]


def test_night_after_midnight_belongs_to_the_previous_evenings_shift():
    # 2024-03-02 is a Saturday; its 02:00 is part of Friday night's (weekday) shift, and
    # Monday 02:00 is part of Sunday night's (weekend) shift.
    t = series("2024-03-02 02:00", "2024-03-02 23:00", "2024-03-04 02:00", "2024-03-04 23:00")
    assert shift_date(t, NIGHT).dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-01",
        "2024-03-02",
        "2024-03-03",
        "2024-03-04",
    ]
    got = slice_of(assign_slices(t, SPLIT))
    assert got == ["night_wd", "night_we", "night_we", "night_wd"]


def test_weekend_split_of_day_slices_uses_the_calendar_day():
    # Friday, Saturday, Sunday, Monday at noon
    t = series("2024-03-01 12:00", "2024-03-02 12:00", "2024-03-03 12:00", "2024-03-04 12:00")
    assert slice_of(assign_slices(t, SPLIT)) == ["day_wd", "day_we", "day_we", "day_wd"]
    assert [s.id for s in SPLIT.slices][:2] == ["morning_wd", "morning_we"]


def test_shift_date_of_a_daytime_slice_is_the_calendar_date():
    day = TimeSlice("day", 10 * 60, 16 * 60)
    t = series("2024-03-02 02:00", "2024-03-02 12:00")
    assert shift_date(t, day).dt.day.tolist() == [2, 2]


def test_wall_clock_time_is_used_across_dst_changes():
    # US DST starts 2019-03-10 02:00 (clocks jump to 03:00) and ends 2019-11-03 02:00.
    tz = "America/Los_Angeles"
    t = series(
        "2019-03-10 01:59",
        "2019-03-10 03:00",
        "2019-03-10 05:59",
        "2019-03-10 06:00",
        "2019-11-03 01:30",
        tz=None,
    ).dt.tz_localize(tz, ambiguous=True)
    got = slice_of(assign_slices(t, [NIGHT, TimeSlice("morning", 6 * 60, 10 * 60)]))
    assert got == ["night", "night", "night", "morning", "night"]


def test_aware_times_are_converted_to_the_station_timezone():
    # 20:30 UTC is 04:30 next day in Shanghai: the night shift of the UTC date; 23:30 UTC is
    # 07:30 in Shanghai, in the morning slice.
    t = series("2024-03-01 20:30", "2024-03-01 23:30", tz="UTC")
    cfg = default_config()
    assert cfg.timezone == "Asia/Shanghai"
    assert slice_of(assign_slices(t, cfg)) == ["night", "morning"]
    assert shift_date(t, NIGHT, tz=cfg.timezone).dt.day.tolist() == [1, 2]


def test_overlapping_and_gapped_user_slices():
    rush = TimeSlice("rush", 7 * 60, 9 * 60)
    late = TimeSlice("late", 8 * 60, 12 * 60)
    t = series("2024-03-01 07:30", "2024-03-01 08:30", "2024-03-01 13:00")
    m = assign_slices(t, [rush, late])
    assert m.to_numpy().tolist() == [[True, False], [True, True], [False, False]]


def test_missing_times_belong_to_no_slice_and_index_is_kept():
    t = pd.Series(pd.to_datetime(["2024-03-01 12:00", None]), index=[10, 20])
    m = assign_slices(t, default_config())
    assert list(m.index) == [10, 20]
    assert m.loc[20].sum() == 0
    assert pd.isna(shift_date(t, NIGHT).loc[20])


def test_non_datetime_input_is_rejected():
    with pytest.raises(InputError, match="must be datetimes"):
        assign_slices(pd.Series(["2024-03-01 12:00"]), default_config())
    with pytest.raises(InputError, match="TimeSlice objects"):
        assign_slices(series("2024-03-01"), ["night"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 60 * 24 * 60), min_size=1, max_size=50))
def test_default_and_split_slices_partition_every_time(minutes):
    t = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="min"))
    for cfg in (default_config(), SPLIT):
        m = assign_slices(t, cfg).to_numpy()
        assert (m.sum(axis=1) == 1).all()


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("2015:2018", "2015-01-01", "2018-12-31"),
        ("2019", "2019-01-01", "2019-12-31"),
        ("2019-02", "2019-02-01", "2019-02-28"),
        ("2019-02:2019-03", "2019-02-01", "2019-03-31"),
        ("2019-01-15:2019-02-14", "2019-01-15", "2019-02-14"),
        (("2019-01-15", dt.date(2019, 2, 14)), "2019-01-15", "2019-02-14"),
        ((pd.Timestamp("2019-01-15 13:00"), "2019-02-14"), "2019-01-15", "2019-02-14"),
    ],
)
def test_parse_period(value, first, last):
    p = parse_period(value)
    assert (p.first, p.last) == (pd.Timestamp(first), pd.Timestamp(last))
    assert parse_period(p) is p
    assert parse_period(str(p)) == p


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("2019:2015", "before it starts"),
        ("last year", "not a date"),
        ("2019-13-01", "not a date"),
        (("2019",), "START:END"),
        ("2019-01-01 10:00:2019-02-01", "dates only"),
    ],
)
def test_parse_period_errors(value, match):
    with pytest.raises(InputError, match=match):
        parse_period(value)


def test_period_bounds_cover_the_whole_last_day():
    p = parse_period("2019")
    start, end = p.bounds("America/Los_Angeles")
    assert str(start) == "2019-01-01 00:00:00-08:00"
    assert str(end) == "2020-01-01 00:00:00-08:00"
    assert p.days == 365
    assert Period(*p.bounds(None)) == (pd.Timestamp("2019-01-01"), pd.Timestamp("2020-01-01"))
    assert np.isclose((end - start).total_seconds() / 86400, 365)
