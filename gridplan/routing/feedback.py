"""Feedback into plans: where patrols actually were, as the next plan takes it into account.

Tracks and check-ins say how many minutes patrollers spent in each micro-grid per shift date
and slice: the tracks stage's presence table (``TrackPresence.minutes`` of
:func:`gridplan.tracks.presence.compute_presence`, the ``presence`` table of a compliance
GeoPackage), or a table of the station's own with the same columns. An
:class:`ActualPresence` (made by :func:`actual_presence` for a plan's date) carries what the
planner needs of them, and a :class:`~gridplan.routing.request.PlanRequest` carries it
(``presence``), so plan files and stored web jobs keep what drove the plan:

- **today** (``spent_today_min``): the minutes each micro-grid already got on the plan's date.
  They count against the daily ``dosage_cap_min`` before it is shared over the slices
  (:func:`~gridplan.routing.dosage.dosage_shares`), so a re-plan of the evening after a day of
  tracks does not send patrols back to a hot spot that had its presence;
- **the recent days** (the ``days`` days before the date): per micro-grid the minutes planned
  and the minutes actually spent there. A micro-grid that is a top hot spot in a slice and got
  less than planned is worth ``1 + underserved_boost * shortfall`` times its risk in that
  slice (``shortfall``: the share of the planned minutes it did not get; the policy's
  ``underserved_boost``, :func:`boost_factors`);
- **missed stops** (``missed``): per micro-grid, the planned stops of those days that were not
  made. One missed at least ``missed_flag_after`` times is flagged to the officer in the plan
  (:func:`missed_flags`, :attr:`~gridplan.routing.plan.PatrolPlan.feedback`): a gate that is
  locked, a dog, a place too far for the time given: something to ask the patrollers about
  rather than plan around.

What counts as planned and missed (:func:`actual_presence`):

- the plans of the recent days (:class:`~gridplan.routing.plan.PatrolPlan` s, or their stop
  lists: one row per planned stop with ``date``, ``slice``, ``micro_id`` and ``dwell_min``,
  such as ``gridplan export --format csv`` writes) say what was planned. A stop list with a
  ``status`` column (``Compliance.stops`` of
  :func:`~gridplan.tracks.compliance.compute_compliance`: ``visited``, ``late``, ``missed``,
  ``no_track``, ...) is taken at its word: ``missed`` stops are missed, and only ``visited``,
  ``late`` and ``missed`` stops count as planned minutes (the others were not measured);
- otherwise a stop is measured when the presence table has any row of its date and slice (no
  tracks at all in a slice is not known, and counts neither way), and made when the minutes
  anyone spent in its micro-grid in that slice cover at least ``visit_share`` (half) of its
  dwell, stops of one micro-grid and slice taking those minutes in turn. A patroller whose
  phone was off while others' were on looks as if their stops were missed: the compliance
  report tells those apart (``no_track``);
- a micro-grid's actual minutes are those of the days with a plan (all the recent days when
  no plan is given: then there is nothing planned to fall short of, and no boost).

Without presence, plans are made as before: the request's ``presence`` is ``None``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

import numpy as np
import pandas as pd

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._validate import presence_frame
from gridplan._validate import table_frame

if TYPE_CHECKING:
    from gridplan.routing.plan import PatrolPlan
    from gridplan.station.roster import PatrolPolicy

#: Recent days looked back over by default.
DEFAULT_DAYS = 7

#: Share of a stop's dwell that presence in its micro-grid must cover for the stop to count as
#: made (as the tracks stage's ``visit_share``).
VISIT_SHARE = 0.5

#: Statuses of a compliance report's stops that were measured (the others were not known).
MEASURED = ("visited", "late", "missed")

#: Columns of a planned-stops table (:func:`planned_stops`); ``status`` is optional.
PLANNED_COLUMNS = ("date", "slice", "micro_id", "dwell_min")

_E_FIELDS = define(
    "feedback.fields",
    N_("presence feedback: %(problem)s; the fields are %(known)s"),
)
_E_DATE = define(
    "feedback.date",
    N_("presence feedback: date %(value)r is not a date; write it as YYYY-MM-DD"),
)
_E_DAYS = define(
    "feedback.days",
    N_("presence feedback: days %(value)r must be a whole number of days, 1 or more"),
)
_E_VALUES = define(
    "feedback.values",
    N_(
        "presence feedback: %(field)s must map micro-grid ids to minutes of 0 or more (missed: "
        "whole stops); %(bad)s are not"
    ),
)
#: A micro-grid flagged because its planned stops were missed (the plan page, route sheets).
MISSED_NOTE = define(
    "feedback.missed",
    N_(
        "%(id)s: %(n)d planned stops missed in the last %(days)d days; ask the patrollers "
        "why (no access, too far, unsafe) before it is missed again"
    ),
)
#: A top hot spot whose value was raised because it got less presence than planned.
UNDERSERVED_NOTE = define(
    "feedback.underserved",
    N_(
        "%(id)s: got %(actual).0f of %(planned).0f planned minutes in the last %(days)d days; "
        "worth %(factor).2f times its risk where it is a top hot spot"
    ),
)
#: Presence already spent on the plan's date, counted against the daily cap.
SPENT_NOTE = define(
    "feedback.spent_today",
    N_(
        "%(n)d micro-grids already had %(minutes).0f minutes of presence on %(date)s; each "
        "one's daily cap of %(cap)d minutes is reduced by its minutes"
    ),
)


@dataclasses.dataclass(frozen=True)
class ActualPresence:
    """Where patrols actually were, for the plan of one date (see the module docstring).

    Made by :func:`actual_presence` from a presence table, or from :meth:`to_dict`'s values;
    the maps are micro-grid id -> value, sorted by id, without zeros.

    Attributes
    ----------
    date
        The date of the plan this feedback is for (a date or ``YYYY-MM-DD``).
    days
        How many days before ``date`` the recent figures cover.
    spent_today_min
        Minutes each micro-grid already got on ``date`` (all slices).
    recent_planned_min, recent_actual_min
        Minutes planned at each micro-grid over the recent days (stops measured), and the
        minutes spent there on the days with a plan.
    missed
        Planned stops at each micro-grid over the recent days that were not made.

    Raises
    ------
    InputError
        A date that is not one, ``days`` below 1, minutes that are not numbers of 0 or more.

    Examples
    --------
    >>> p = ActualPresence("2024-06-08", spent_today_min={"M1": 30},
    ...                    recent_planned_min={"M1": 60, "M2": 45},
    ...                    recent_actual_min={"M1": 60, "M2": 15}, missed={"M2": 2})
    >>> p.shortfall("M1"), p.shortfall("M2"), p.shortfall("M3")
    (0.0, 0.6667, 0.0)
    >>> ActualPresence.from_dict(p.to_dict()) == p
    True
    """

    date: dt.date
    days: int = DEFAULT_DAYS
    spent_today_min: Mapping[str, float] = dataclasses.field(default_factory=dict)
    recent_planned_min: Mapping[str, float] = dataclasses.field(default_factory=dict)
    recent_actual_min: Mapping[str, float] = dataclasses.field(default_factory=dict)
    missed: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        date = _date(self.date)
        if date is None:
            raise InputError(_E_DATE(value=self.date))
        object.__setattr__(self, "date", date)
        days = self.days
        if isinstance(days, bool) or not isinstance(days, int | float) or days != int(days):
            raise InputError(_E_DAYS(value=days))
        if int(days) < 1:
            raise InputError(_E_DAYS(value=days))
        object.__setattr__(self, "days", int(days))
        for name in ("spent_today_min", "recent_planned_min", "recent_actual_min", "missed"):
            whole = name == "missed"
            object.__setattr__(self, name, _minutes(getattr(self, name), name, whole=whole))

    def __hash__(self) -> int:
        return hash(
            (
                self.date,
                self.days,
                *(tuple(getattr(self, n).items()) for n in _MAPS),
            )
        )

    def micro_ids(self) -> set[str]:
        """Every micro-grid the feedback names."""
        return {m for n in _MAPS for m in getattr(self, n)}

    def shortfall(self, micro_id: str) -> float:
        """Share of a micro-grid's planned recent minutes it did not get (0 to 1, 4 decimals).

        0 when nothing was planned there.
        """
        planned = self.recent_planned_min.get(micro_id, 0.0)
        if planned <= 0:
            return 0.0
        actual = self.recent_actual_min.get(micro_id, 0.0)
        return round(max(0.0, planned - actual) / planned, 4)

    def to_dict(self) -> dict[str, Any]:
        """Return the feedback as JSON-ready values (what :meth:`from_dict` reads back)."""
        return {
            "date": self.date.isoformat(),
            "days": self.days,
            **{n: dict(getattr(self, n)) for n in _MAPS},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActualPresence:
        """Read feedback from :meth:`to_dict`'s values; fields left out are empty.

        Raises
        ------
        InputError
            On a value that is not a mapping, an unknown or missing field, or a bad value.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(data, Mapping):
            problem = f"expected a mapping, found {type(data).__name__}"
            raise InputError(_E_FIELDS(problem=problem, known=", ".join(known)))
        unknown = sorted(set(data) - set(known))
        if unknown or "date" not in data:
            problem = f"unknown field(s) {', '.join(map(repr, unknown))}" if unknown else "no date"
            raise InputError(_E_FIELDS(problem=problem, known=", ".join(known)))
        return cls(**{k: v for k, v in data.items() if v is not None})


_MAPS = ("spent_today_min", "recent_planned_min", "recent_actual_min", "missed")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _minutes(value: Any, name: str, *, whole: bool) -> Mapping[str, float | int]:
    """Return a micro-grid -> number map, checked, sorted by id, zeros left out."""
    items = dict(value or {}) if isinstance(value, Mapping | type(None)) else None
    if items is None:
        raise InputError(_E_VALUES(field=name, bad=repr(value)[:80]))
    out: dict[str, float | int] = {}
    bad = []
    for key, number in items.items():
        ok = isinstance(number, int | float) and not isinstance(number, bool)
        if not ok or not math.isfinite(number) or number < 0 or (whole and number != int(number)):
            bad.append(f"{key}: {number!r}")
            continue
        if number > 0:
            out[str(key)] = int(number) if whole else round(float(number), 2)
    if bad:
        raise InputError(_E_VALUES(field=name, bad=", ".join(bad[:5])))
    return MappingProxyType(dict(sorted(out.items())))


def planned_stops(planned: Any) -> pd.DataFrame:
    """Return the planned stops of plans or a stop list: one row per stop of a micro-grid.

    Parameters
    ----------
    planned
        A :class:`~gridplan.routing.plan.PatrolPlan`, a table (DataFrame, mapping of columns,
        sequence of rows) with :data:`PLANNED_COLUMNS` and optionally ``status``, such as a
        plan's CSV stop list or the stops of a compliance report, or a list of plans and
        DataFrames. Key targets' stops (no micro-grid) are left out.

    Returns
    -------
    pandas.DataFrame
        ``date`` (:class:`datetime.date`), ``slice``, ``micro_id``, ``dwell_min`` and
        ``status`` (``""`` when not known).

    Raises
    ------
    InputError
        A table without those columns or with a bad date or dwell.
    """
    if planned is None:
        return pd.DataFrame(columns=[*PLANNED_COLUMNS, "status"])
    parts = [planned]
    if isinstance(planned, list | tuple) and any(
        _is_plan(p) or isinstance(p, pd.DataFrame) for p in planned
    ):
        parts = list(planned)  # plans and stop tables, not rows of one table
    frames = [_plan_stops([p]) if _is_plan(p) else _table_stops(p) for p in parts]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _is_plan(value: Any) -> bool:
    return hasattr(value, "slices") and hasattr(value, "date")


def _plan_stops(plans: Iterable[PatrolPlan]) -> pd.DataFrame:
    rows = [
        (plan.date, s.slice_id, p.micro_id, p.dwell_s / 60, "")
        for plan in plans
        for s in plan.slices
        for r in s.routes
        for p in r.stops
        if p.micro_id
    ]
    return pd.DataFrame(rows, columns=[*PLANNED_COLUMNS, "status"])


def _table_stops(data: Any) -> pd.DataFrame:
    what = "planned stops"
    frame = table_frame(data, what=what, columns=PLANNED_COLUMNS)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "micro_grid" in frame.columns and "micro_id" not in frame.columns:
        frame = frame.rename(columns={"micro_grid": "micro_id"})
    missing = [c for c in PLANNED_COLUMNS if c not in frame.columns]
    if missing:
        msg = (
            f"{what} lack columns {', '.join(missing)}; give plan files or their stop lists "
            "(gridplan export --format csv), or a compliance report's stops"
        )
        raise InputError(msg)
    frame = frame[frame["micro_id"].notna() & (frame["micro_id"].astype(str).str.strip() != "")]
    # the presence table's checks, with the dwell in the place of the minutes
    checked = presence_frame(
        frame.rename(columns={"dwell_min": "minutes"})[["date", "slice", "micro_id", "minutes"]],
        what=what,
    )
    status = frame["status"] if "status" in frame.columns else pd.Series("", index=frame.index)
    return pd.DataFrame(
        {
            "date": checked["date"].to_numpy(),
            "slice": checked["slice"].to_numpy(),
            "micro_id": checked["micro_id"].to_numpy(),
            "dwell_min": checked["minutes"].to_numpy(),
            "status": status.fillna("").astype(str).str.strip().str.lower().to_numpy(),
        }
    )


def actual_presence(
    presence: Any,
    planned: Any = None,
    date: dt.date | str | None = None,
    *,
    days: int = DEFAULT_DAYS,
    visit_share: float = VISIT_SHARE,
) -> ActualPresence:
    """Return the feedback of a presence table for the plan of ``date``.

    Parameters
    ----------
    presence
        Minutes per patroller, shift date, slice and micro-grid (columns ``patroller``,
        ``date``, ``slice``, ``micro_id`` or ``micro_grid``, ``minutes``): the tracks stage's
        presence table, a DataFrame, a mapping of columns or a sequence of rows
        (:func:`~gridplan._validate.presence_frame`).
    planned
        What was planned over the recent days: their plans (:class:`PatrolPlan` s) or stop
        lists (:func:`planned_stops`); ``None``: nothing known, so no shortfall and no stop
        missed, only today's minutes.
    date
        The date of the plan to make.
    days
        How many days before ``date`` to look back over.
    visit_share
        Share of a stop's dwell presence must cover for the stop to count as made (when the
        stop list has no ``status``).

    Returns
    -------
    ActualPresence

    Raises
    ------
    InputError
        A presence table or stop list with missing columns or bad rows (each named), a bad
        date, ``days`` below 1 or ``visit_share`` outside (0, 1].

    Examples
    --------
    Stops of 15 minutes at M1 and M2 on each of the two days before, and a day of tracks
    that found patrols at M1 both days but at M2 for 2 minutes only; 20 minutes at M1 so far
    on the 8th:

    >>> stops = {"date": ["2024-06-06", "2024-06-06", "2024-06-07", "2024-06-07"],
    ...          "slice": "day", "micro_id": ["M1", "M2", "M1", "M2"], "dwell_min": 15}
    >>> tracks = {"patroller": "A1", "date": ["2024-06-06", "2024-06-06", "2024-06-07",
    ...           "2024-06-08"], "slice": "day", "micro_id": ["M1", "M2", "M1", "M1"],
    ...           "minutes": [16, 2, 14, 20]}
    >>> p = actual_presence(tracks, stops, "2024-06-08")
    >>> dict(p.spent_today_min), dict(p.missed), p.shortfall("M2")
    ({'M1': 20.0}, {'M2': 2}, 0.9333)
    """
    if date is None:
        msg = "actual_presence() needs the date of the plan to make (YYYY-MM-DD)"
        raise InputError(msg)
    day = _date(date)
    if day is None:
        raise InputError(_E_DATE(value=date))
    if not 0 < visit_share <= 1:
        msg = f"visit_share = {visit_share!r} must be a share in (0, 1], e.g. 0.5"
        raise InputError(msg)
    if isinstance(days, bool) or int(days) != days or days < 1:
        raise InputError(_E_DAYS(value=days))
    table = presence_frame(presence)
    first = day - dt.timedelta(days=int(days))
    today = table[table["date"] == day]
    recent = table[(table["date"] >= first) & (table["date"] < day)]
    stops = planned_stops(planned)
    stops = stops[(stops["date"] >= first) & (stops["date"] < day)]
    measured, missed = _measured_and_missed(stops, recent, visit_share)
    if planned is not None:
        recent = recent[recent["date"].isin(set(stops["date"]))]
    return ActualPresence(
        date=day,
        days=int(days),
        spent_today_min=_sums(today, "minutes"),
        recent_planned_min=_sums(measured, "dwell_min"),
        recent_actual_min=_sums(recent, "minutes"),
        missed=missed,
    )


def _sums(frame: pd.DataFrame, column: str) -> dict[str, float]:
    if frame.empty:
        return {}
    return {str(k): float(v) for k, v in frame.groupby("micro_id")[column].sum().items()}


def _measured_and_missed(
    stops: pd.DataFrame, presence: pd.DataFrame, visit_share: float
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return the stops that were measured, and per micro-grid how many of them were missed.

    Stops with a status (a compliance report's) are taken at their word; the others are
    measured against the presence table.
    """
    if stops.empty:
        return stops, {}
    known = stops[stops["status"] != ""]
    judged = known[known["status"].isin(MEASURED)]
    missed = judged[judged["status"] == "missed"].groupby("micro_id").size()
    out = {str(k): int(v) for k, v in missed.items()}
    rest = stops[stops["status"] == ""]
    tracked = set(zip(presence["date"], presence["slice"], strict=True))
    keys = zip(rest["date"], rest["slice"], strict=True)
    measured = rest.loc[np.array([k in tracked for k in keys], dtype=bool)]
    spent = presence.groupby(["date", "slice", "micro_id"])["minutes"].sum().to_dict()
    for (date, slice_id, mid), group in measured.groupby(["date", "slice", "micro_id"]):
        left = float(spent.get((date, slice_id, mid), 0.0))
        for dwell in group["dwell_min"]:  # the stops take the minutes in turn
            if left >= visit_share * dwell - 1e-9:
                left -= min(dwell, left)
            else:
                out[str(mid)] = out.get(str(mid), 0) + 1
    return pd.concat([judged, measured], ignore_index=True), out


def boost_factors(presence: ActualPresence | None, policy: PatrolPolicy) -> dict[str, float]:
    """Return the value factor of each under-served micro-grid (where it is a top hot spot).

    ``1 + policy.underserved_boost * shortfall`` for each micro-grid with planned minutes it
    did not all get; empty without presence or with ``underserved_boost = 0``.

    Examples
    --------
    >>> from gridplan.station.roster import PatrolPolicy
    >>> p = ActualPresence("2024-06-08", recent_planned_min={"M1": 60, "M2": 60},
    ...                    recent_actual_min={"M1": 60, "M2": 15})
    >>> boost_factors(p, PatrolPolicy())
    {'M2': 1.375}
    """
    if presence is None or policy.underserved_boost <= 0:
        return {}
    out = {}
    for mid in presence.recent_planned_min:
        short = presence.shortfall(mid)
        if short > 0:
            out[mid] = round(1.0 + policy.underserved_boost * short, 4)
    return out


@dataclasses.dataclass(frozen=True)
class MissedFlag:
    """A micro-grid whose planned stops were missed repeatedly over the recent days.

    Attributes
    ----------
    micro_id
        The micro-grid.
    missed
        Planned stops missed there.
    days
        Over how many days.
    """

    micro_id: str
    missed: int
    days: int

    def message(self) -> Message:
        """Return the flag as a message for the officer (any language: the web UI renders it)."""
        return MISSED_NOTE(id=self.micro_id, n=self.missed, days=self.days)


def missed_flags(presence: ActualPresence | None, policy: PatrolPolicy) -> tuple[MissedFlag, ...]:
    """Return the micro-grids missed at least ``policy.missed_flag_after`` times, most first.

    Examples
    --------
    >>> from gridplan.station.roster import PatrolPolicy
    >>> p = ActualPresence("2024-06-08", missed={"M1": 1, "M2": 3, "M3": 2})
    >>> [(f.micro_id, f.missed) for f in missed_flags(p, PatrolPolicy())]
    [('M2', 3), ('M3', 2)]
    """
    if presence is None:
        return ()
    flagged = [
        MissedFlag(mid, n, presence.days)
        for mid, n in presence.missed.items()
        if n >= policy.missed_flag_after
    ]
    return tuple(sorted(flagged, key=lambda f: (-f.missed, f.micro_id)))


def feedback_notes(
    presence: ActualPresence | None, policy: PatrolPolicy, *, top: Iterable[str] = ()
) -> list[Message]:
    """Return what the feedback did to a plan, as messages for the officer.

    The micro-grids flagged as missed first, then the under-served ones among ``top`` (the
    micro-grids that were top hot spots in a planned slice, so their value was raised), then
    one line on the minutes spent today.
    """
    if presence is None:
        return []
    notes = [f.message() for f in missed_flags(presence, policy)]
    factors = boost_factors(presence, policy)
    for mid in sorted(set(top) & set(factors), key=lambda m: (-factors[m], m)):
        notes.append(
            UNDERSERVED_NOTE(
                id=mid,
                actual=presence.recent_actual_min.get(mid, 0.0),
                planned=presence.recent_planned_min[mid],
                days=presence.days,
                factor=factors[mid],
            )
        )
    if presence.spent_today_min:
        notes.append(
            SPENT_NOTE(
                n=len(presence.spent_today_min),
                minutes=sum(presence.spent_today_min.values()),
                date=presence.date.isoformat(),
                cap=policy.dosage_cap_min,
            )
        )
    return notes


__all__ = [
    "DEFAULT_DAYS",
    "MISSED_NOTE",
    "PLANNED_COLUMNS",
    "SPENT_NOTE",
    "UNDERSERVED_NOTE",
    "VISIT_SHARE",
    "ActualPresence",
    "MissedFlag",
    "actual_presence",
    "boost_factors",
    "feedback_notes",
    "missed_flags",
    "planned_stops",
]
