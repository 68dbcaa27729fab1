"""What an officer asks the planner for: a :class:`PlanRequest`, checked once, kept as JSON.

A request is the officer's choices for one day's plan: the date, the time slices, the
patrollers on the roster who are available, the minutes per stop of each risk class, the
micro-grids to visit or leave alone, the route-order variant (the solver's seed), how a
patroller's daily duty is shared over the slices, and, for a re-plan, the plan it came from.
The command line builds one from its options, the web UI from its form (and stores it as JSON
in the jobs table), Python code directly. Its checks live here once:

- making a request checks the values on their own (a date, whole numbers, a slice listed
  once, no micro-grid both pinned and excluded) and raises :class:`PlanRequestError`;
- :meth:`PlanRequest.validate` checks them against the station config and the grid (slices
  of the station that apply on that weekday, patrollers of its roster, minutes within the
  policy's bounds, micro-grids of the grid); :func:`~gridplan.routing.planner.plan_patrols`
  calls it;
- :func:`build_request` does both and lists every problem in one error, for a form.

Every problem is a :class:`~gridplan._messages.Message`, so the web UI shows it in the
officer's language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

from gridplan._errors import InputError
from gridplan._errors import PlanRequestError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan.routing.alerts import Alert
from gridplan.routing.alerts import unknown_cells
from gridplan.routing.feedback import ActualPresence
from gridplan.routing.targets import Target
from gridplan.routing.targets import TargetError

if TYPE_CHECKING:
    import geopandas as gpd

    from gridplan.station.config import StationConfig
    from gridplan.station.timeslices import TimeSlice

#: How a patroller's daily on-duty limit is shared over the slices (:attr:`PlanRequest.duty_split`).
DUTY_SPLITS = ("risk", "first")

# Problems of a request (the web UI shows them in the officer's language). Ids are stable:
# stored job errors name them, so the ids of messages that moved here are kept.
_E_DATE = define(
    "request.date", N_("date %(value)r is not a date; write it as YYYY-MM-DD, e.g. 2024-06-01")
)
_E_SEED = define(
    "request.seed",
    N_("variant %(value)r must be a whole number, 0 or more (another number, another route order)"),
)
_E_DUTY_SPLIT = define(
    "request.duty_split",
    N_("duty split %(value)r is unknown; use 'risk' (by the risk in each slice) or 'first'"),
)
_E_PARENT = define(
    "request.parent_id", N_("the plan to re-plan from, %(value)r, must be a plan number")
)
_E_DWELL_NUMBER = define(
    "request.dwell_number",
    N_("minutes per stop %(value)r for %(cls)s must be a whole number"),
)
_E_DWELL_CLASS = define(
    "request.dwell_class",
    N_("minutes per stop are given for %(bad)s, which are not risk classes; use %(classes)s"),
)
_E_DWELL = define(
    "jobs.dwell",
    N_(
        "dwell minutes %(bad)s are outside the policy's %(lo)s-%(hi)s minutes (hot-spot "
        "research: 10-15 minutes of presence); choose values in that range"
    ),
)
_DWELL_VALUE = define("request.dwell_value", N_("%(minutes)s (%(cls)s)"))
_E_UNKNOWN_KEYS = define(
    "request.unknown_keys",
    N_("the plan request has unknown field(s) %(keys)s; the fields are %(known)s"),
)
_E_SLICES_TWICE = define(
    "planner.slices_twice", N_("slices %(slices)s are listed more than once; list each once")
)
_E_TARGETS_TWICE = define(
    "request.targets_twice", N_("targets %(ids)s are listed more than once; give each its own id")
)
_E_PINNED_AND_EXCLUDED = define(
    "problem.pinned_and_excluded",
    N_("micro-grid(s) %(ids)s are both pinned and excluded; choose one"),
)
_E_PINS_UNKNOWN = define(
    "problem.pins_not_in_grid",
    N_(
        "pinned/excluded micro-grid(s) %(ids)s are not in the grid; use micro-grid ids such as "
        "%(examples)s"
    ),
)
_E_PRESENCE_CELLS = define(
    "request.presence_cells",
    N_(
        "the presence feedback names micro-grid(s) %(ids)s that are not in the grid; use the "
        "presence of this station's grid (micro-grid ids such as %(examples)s)"
    ),
)
_E_PRESENCE_DATE = define(
    "request.presence_date",
    N_(
        "the presence feedback is for %(presence)s but the plan is for %(date)s; make it for "
        "the plan's date"
    ),
)
_E_UNKNOWN_PATROLLERS = define(
    "jobs.unknown_patrollers", N_("patrollers %(ids)s are not in the station's roster")
)
_E_NO_PATROLLER = define(
    "jobs.no_patroller", N_("no patroller chosen: tick at least one who is available")
)
_E_UNKNOWN_SLICE = define(
    "problem.unknown_slice",
    N_("unknown time slice %(slice)r; the station config defines %(known)s"),
)
_E_SLICE_DAYS = define(
    "problem.slice_days",
    N_(
        "time slice %(slice)r is for %(days)s shifts but %(date)s is a %(kind)s; pick a slice "
        "whose days include it"
    ),
)
#: The days a time slice applies on (``days`` in the station config) and a date's kind.
_DAYS = {
    "weekday": define("days.weekday", N_("weekday")),
    "weekend": define("days.weekend", N_("weekend")),
    "all": define("days.all", N_("all")),
}
#: The risk classes of the dwell policy, as the officer's form names them.
RISK_CLASS_LABELS = {
    "top": define("risk_class.top", N_("top hot spots")),
    "high": define("risk_class.high", N_("high risk")),
    "other": define("risk_class.other", N_("other")),
}


@dataclasses.dataclass(frozen=True)
class PlanRequest:
    """The officer's choices for one day's plan.

    Made from values of the right type or their text (a form's fields, JSON), normalised:
    ids become tuples, the date a :class:`datetime.date`, numbers ints. Check it against the
    station with :meth:`validate` (the planner does).

    Attributes
    ----------
    date
        The date the shifts start on (a date or ``YYYY-MM-DD``).
    slices
        Slice ids to plan, each once; ``None`` (or none) plans every slice that applies on
        that weekday.
    patrollers
        Roster ids of the patrollers and teams available; ``None`` means the whole roster.
    dwell_min
        Minutes per stop by risk class (``top``, ``high``, ``other``) replacing the policy's;
        classes left out keep the policy's minutes.
    pinned, exclude
        Micro-grid ids to visit in every slice / to leave alone (sorted, each once).
    seed
        The route-order variant: the solver's seed, so another number gives another plan of
        similar quality and the same number the same plan (with a work limit). ``None``
        uses the seed of the solver settings (:class:`~gridplan.routing.solver.SolveParams`).
    duty_split
        How a patroller's daily on-duty limit is shared when they are available longer:
        ``"risk"`` by the risk they can reach in each slice, ``"first"`` in time order (see
        :func:`~gridplan.routing.planner.plan_patrols`).
    parent_id
        The plan this one re-plans (a plan number of the web store), or ``None``.
    targets
        Key road sections and timed targets to serve inside their windows
        (:class:`~gridplan.routing.targets.Target`, or their dicts), each id once.
    alerts
        Red/yellow/blue alerts (:class:`~gridplan.routing.alerts.Alert`, or their
        :meth:`~gridplan.routing.alerts.Alert.to_dict` values); those active in a slice change
        its patrol as the station's ``[patrol.alerts]`` say. Their micro-grids must be in the
        grid.
    presence
        Where patrols actually were (:class:`~gridplan.routing.feedback.ActualPresence`, or
        its :meth:`~gridplan.routing.feedback.ActualPresence.to_dict` values), for this date:
        minutes already spent today count against the daily dosage cap, top hot spots that got
        less than planned over the recent days are worth more, micro-grids missed repeatedly
        are flagged in the plan. ``None``: plan without it. Its micro-grids must be in the grid.

    Raises
    ------
    PlanRequestError
        Listing every value that is wrong on its own: presence for another date, a date that is not one, a negative or
        fractional seed or minute, an unknown duty split, a slice listed twice, a micro-grid
        both pinned and excluded, an empty list of patrollers.

    Examples
    --------
    >>> req = PlanRequest("2024-06-08", slices=["night"], pinned=["S01-B2-M003"], seed=2)
    >>> req.date, req.slices, req.pinned
    (datetime.date(2024, 6, 8), ('night',), ('S01-B2-M003',))
    >>> PlanRequest.from_dict(req.to_dict()) == req
    True
    >>> PlanRequest("8 June", seed=-1)
    Traceback (most recent call last):
    ...
    gridplan._errors.PlanRequestError: date '8 June' is not a date; write it as YYYY-MM-DD, e.g. 2024-06-01; variant -1 must be a whole number, 0 or more (another number, another route order)
    """  # noqa: E501

    date: dt.date
    slices: tuple[str, ...] | None = None
    patrollers: tuple[str, ...] | None = None
    dwell_min: Mapping[str, int] = dataclasses.field(default_factory=dict)
    pinned: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    seed: int | None = None
    duty_split: str = "risk"
    parent_id: int | None = None
    targets: tuple[Target, ...] = ()
    alerts: tuple[Alert, ...] = ()
    presence: ActualPresence | None = None

    def __post_init__(self):
        values, problems = _normalise({f.name: getattr(self, f.name) for f in _FIELDS})
        if problems:
            raise PlanRequestError(problems)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        values = [getattr(self, f.name) for f in _FIELDS]
        return hash(  # dwell_min is a mapping: hashed as its sorted items
            tuple(tuple(sorted(v.items())) if isinstance(v, Mapping) else v for v in values)
        )

    def problems(self, config: StationConfig, grid: gpd.GeoDataFrame) -> list[Message]:
        """Return what is wrong with the request for this station and grid (empty: nothing).

        Slices must be the station's and apply on the date's weekday, patrollers must be on
        its roster, minutes per stop within the policy's ``dwell_bounds_min``, pinned and
        excluded micro-grids in the grid.
        """
        return _station_problems(
            {f.name: getattr(self, f.name) for f in _FIELDS}, config, _micro_ids(grid)
        )

    def validate(self, config: StationConfig, grid: gpd.GeoDataFrame) -> PlanRequest:
        """Return the request if it fits the station and the grid, else raise.

        Raises
        ------
        PlanRequestError
            Listing every problem of :meth:`problems`.
        """
        problems = self.problems(config, grid)
        if problems:
            raise PlanRequestError(problems)
        return self

    def configure(self, config: StationConfig) -> StationConfig:
        """Return ``config`` with the chosen patrollers and minutes per stop.

        The roster keeps only :attr:`patrollers` (in roster order) and the policy's
        ``dwell_min`` takes :attr:`dwell_min`; ``config`` itself when the request changes
        neither. Call :meth:`validate` first.
        """
        roster, policy = config.roster, config.patrol
        if self.patrollers is not None:
            chosen = set(self.patrollers)
            roster = tuple(p for p in roster if p.id in chosen)
        if self.dwell_min:
            merged = {**policy.dwell_min, **self.dwell_min}
            policy = dataclasses.replace(policy, dwell_min=MappingProxyType(merged))
        if roster is config.roster and policy is config.patrol:
            return config
        return dataclasses.replace(config, roster=roster, patrol=policy)

    def to_dict(self) -> dict[str, Any]:
        """Return the request as JSON-ready values (what :meth:`from_dict` reads back)."""
        return {
            "date": self.date.isoformat(),
            "slices": None if self.slices is None else list(self.slices),
            "patrollers": None if self.patrollers is None else list(self.patrollers),
            "dwell_min": dict(self.dwell_min),
            "pinned": list(self.pinned),
            "exclude": list(self.exclude),
            "seed": self.seed,
            "duty_split": self.duty_split,
            "parent_id": self.parent_id,
            "targets": [t.to_dict() for t in self.targets],
            "alerts": [a.to_dict() for a in self.alerts],
            "presence": None if self.presence is None else self.presence.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanRequest:
        """Read a request from :meth:`to_dict`'s values (or a stored job's older ones).

        Fields left out take their defaults; stored jobs of earlier versions, which lacked
        ``duty_split`` and sometimes ``slices``, ``patrollers`` or ``dwell_min`` (or, before
        feedback from tracks, ``presence``), load too.

        Raises
        ------
        PlanRequestError
            On an unknown field, or any problem :class:`PlanRequest` finds in the values.
        """
        known = [f.name for f in _FIELDS]
        unknown = sorted(set(data) - set(known))
        if unknown:
            keys = ", ".join(map(repr, unknown))
            raise PlanRequestError([_E_UNKNOWN_KEYS(keys=keys, known=", ".join(known))])
        if "date" not in data:
            raise PlanRequestError([_E_DATE(value=None)])
        values = dict(data)
        if values.get("dwell_min") is None:
            values.pop("dwell_min", None)
        return cls(**values)


_FIELDS = dataclasses.fields(PlanRequest)


def build_request(
    config: StationConfig, grid: gpd.GeoDataFrame, date: dt.date | str, **choices: Any
) -> PlanRequest:
    """Return the request of these choices, checked on its own and against the station.

    For front ends that show every problem at once (the web UI's plan form).

    Parameters
    ----------
    config
        The station config (slices, roster, patrol policy).
    grid
        The station's 1+5+N grid (its micro-grid ids).
    date, **choices
        The fields of :class:`PlanRequest`, as values or text.

    Returns
    -------
    PlanRequest
        Valid for ``config`` and ``grid``.

    Raises
    ------
    PlanRequestError
        Listing every problem, those of the values and those against the station together.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> build_request(cfg, grid, "2024-06-08", seed="3").seed
    3
    >>> build_request(cfg, grid, "2024-06-08", slices=["noon"], patrollers=["X1"], seed="x")
    Traceback (most recent call last):
    ...
    gridplan._errors.PlanRequestError: variant 'x' must be a whole number, ...
    """
    known = {f.name for f in _FIELDS} - {"date"}
    unknown = sorted(set(choices) - known)
    if unknown:
        msg = f"build_request() got unknown choices {unknown}; use {sorted(known)}"
        raise TypeError(msg)
    defaults = {f.name: f.default for f in _FIELDS if f.name != "date"}
    defaults["dwell_min"] = {}
    values, problems = _normalise({**defaults, **choices, "date": date})
    problems += _station_problems(values, config, _micro_ids(grid))
    if problems:
        raise PlanRequestError(problems)
    return PlanRequest(**values)


def slice_for(config: StationConfig, slice_id: str, date: dt.date) -> TimeSlice:
    """Return the slice ``slice_id`` of ``config``; it must apply on ``date``'s weekday.

    Raises
    ------
    InputError
        An unknown slice (the station's are listed), or one not for that weekday.
    """
    by_id = {s.id: s for s in config.slices}
    if slice_id not in by_id:
        raise InputError(_E_UNKNOWN_SLICE(slice=slice_id, known=", ".join(by_id)))
    ts = by_id[slice_id]
    weekend = date.weekday() >= 5
    if (ts.days == "weekday" and weekend) or (ts.days == "weekend" and not weekend):
        kind = _DAYS["weekend" if weekend else "weekday"]()
        msg = _E_SLICE_DAYS(slice=slice_id, days=_DAYS[ts.days](), date=date.isoformat(), kind=kind)
        raise InputError(msg)
    return ts


def pin_problems(
    pinned: Collection[str], exclude: Collection[str], micro_ids: Sequence[str]
) -> list[Message]:
    """Return what is wrong with micro-grids to pin and exclude: unknown ones, or in both.

    ``micro_ids`` are the grid's micro-grid ids in grid order (the first are given as
    examples).
    """
    pinned, exclude = set(map(str, pinned)), set(map(str, exclude))
    problems = []
    unknown = sorted((pinned | exclude) - set(micro_ids))
    if unknown:
        problems.append(_E_PINS_UNKNOWN(ids=", ".join(unknown), examples=", ".join(micro_ids[:3])))
    both = sorted(pinned & exclude)
    if both:
        problems.append(_E_PINNED_AND_EXCLUDED(ids=", ".join(both)))
    return problems


# --------------------------------------------------------------------------------------------
# the checks, once: of the values on their own, and against the station


def _normalise(values: dict[str, Any]) -> tuple[dict[str, Any], list[Message]]:
    """Return the fields in their types, and the problems of those that cannot be."""
    problems: list[Message] = []
    out = dict(values)
    out["date"] = _date(values["date"], problems)
    out["seed"] = _whole(values["seed"], problems, _E_SEED)
    out["parent_id"] = _whole(values["parent_id"], problems, _E_PARENT)
    out["slices"] = _ids(values["slices"], keep_order=True)
    out["patrollers"] = _ids(values["patrollers"], keep_order=True)
    out["pinned"] = _ids(values["pinned"]) or ()
    out["exclude"] = _ids(values["exclude"]) or ()
    out["dwell_min"] = _dwell(values["dwell_min"], problems)
    out["targets"] = _targets(values["targets"], problems)
    out["alerts"] = _alerts(values["alerts"], problems)
    out["presence"] = _presence(values["presence"], out["date"], problems)
    if out["slices"] is not None:
        raw = values["slices"]
        listed = [raw] if isinstance(raw, str) else [str(s) for s in raw]
        twice = sorted({s for s in listed if listed.count(s) > 1})
        if twice:
            problems.append(_E_SLICES_TWICE(slices=", ".join(twice)))
        out["slices"] = out["slices"] or None  # none listed: every slice of the day
    if out["patrollers"] == ():
        problems.append(_E_NO_PATROLLER())
    if values["duty_split"] not in DUTY_SPLITS:
        problems.append(_E_DUTY_SPLIT(value=values["duty_split"]))
    both = sorted(set(out["pinned"]) & set(out["exclude"]))
    if both:
        problems.append(_E_PINNED_AND_EXCLUDED(ids=", ".join(both)))
    return out, problems


def _date(value: Any, problems: list[Message]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(_E_DATE(value=value))
        return None


def _whole(value: Any, problems: list[Message], error) -> int | None:
    """Return a whole number >= 0 from a number or its text (``None``, ``""``: ``None``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = _as_int(value)
    if number is None or number < 0:
        problems.append(error(value=value))
        return None
    return number


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only ("²".isdigit() is true), and no more than a 64-bit id has
        if re.fullmatch(r"-?[0-9]{1,18}", text):
            return int(text)
    return None


def _ids(value: Any, *, keep_order: bool = False) -> tuple[str, ...] | None:
    """Ids as a tuple (one text is one id): in the order given, or sorted; each once."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    unique = list(dict.fromkeys(str(v) for v in items))
    return tuple(unique if keep_order else sorted(unique))


def _dwell(value: Any, problems: list[Message]) -> Mapping[str, int]:
    out = {}
    for cls, minutes in dict(value or {}).items():
        number = _as_int(minutes)
        if number is None:
            label = RISK_CLASS_LABELS[cls]() if cls in RISK_CLASS_LABELS else str(cls)
            problems.append(_E_DWELL_NUMBER(value=minutes, cls=label))
        else:
            out[str(cls)] = number
    return MappingProxyType(out)


def _targets(value: Any, problems: list[Message]) -> tuple[Target, ...]:
    """Targets from :class:`Target` s or their dicts, each id once."""
    out: list[Target] = []
    for item in value or ():
        if isinstance(item, Target):
            out.append(item)
            continue
        try:
            out.append(Target.from_dict(item if isinstance(item, Mapping) else {}))
        except TargetError as exc:
            problems.extend(exc.problems)
    ids = [t.id for t in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        problems.append(_E_TARGETS_TWICE(ids=", ".join(twice)))
    return tuple(out)


def _alerts(value: Any, problems: list[Message]) -> tuple[Alert, ...]:
    """Alerts from alerts or their dicts (a bad one is a problem, the good ones are kept)."""
    out = []
    for item in value or ():
        try:
            out.append(item if isinstance(item, Alert) else Alert.from_dict(item))
        except InputError as exc:
            problems.append(exc.message or str(exc))
    return tuple(out)


def _presence(value: Any, date: dt.date | None, problems: list[Message]) -> ActualPresence | None:
    """Return the feedback of an :class:`ActualPresence` or its dict, for the date."""
    if value is None:
        return None
    try:
        out = value if isinstance(value, ActualPresence) else ActualPresence.from_dict(value)
    except InputError as exc:
        problems.append(exc.message or str(exc))
        return None
    if date is not None and out.date != date:
        problems.append(_E_PRESENCE_DATE(presence=out.date.isoformat(), date=date.isoformat()))
    return out


def _micro_ids(grid: gpd.GeoDataFrame) -> tuple[str, ...]:
    return tuple(grid.loc[grid["level"] == "micro", "id"].astype(str))


def _station_problems(
    values: Mapping[str, Any], config: StationConfig, micro_ids: Sequence[str]
) -> list[Message]:
    """Problems of normalised values against the station (a value found bad is ``None``)."""
    problems: list[Message] = []
    date, known = values["date"], [s.id for s in config.slices]
    for sid in values["slices"] or ():
        if date is None and sid in known:
            continue  # without a date, whether the slice applies cannot be told
        try:
            slice_for(config, sid, date)
        except InputError as exc:
            problems.append(exc.message or str(exc))
    if values["patrollers"]:
        unknown = sorted(set(values["patrollers"]) - {p.id for p in config.roster})
        if unknown:
            problems.append(_E_UNKNOWN_PATROLLERS(ids=", ".join(unknown)))
    problems += _dwell_problems(values["dwell_min"], config)
    problems += pin_problems(values["pinned"], values["exclude"], micro_ids)
    problems += unknown_cells(values["alerts"], micro_ids)
    presence = values["presence"]
    if presence is not None:
        unknown = sorted(presence.micro_ids() - set(micro_ids))
        if unknown:
            shown = ", ".join(unknown[:10]) + (
                f" (+{len(unknown) - 10})" if len(unknown) > 10 else ""
            )
            examples = ", ".join(micro_ids[:3])
            problems.append(_E_PRESENCE_CELLS(ids=shown, examples=examples))
    return problems


def _dwell_problems(dwell: Mapping[str, int], config: StationConfig) -> list[Message]:
    policy = config.patrol
    classes = list(policy.dwell_min)
    other = [c for c in dwell if c not in classes]
    if other:
        bad = ", ".join(map(repr, other))
        return [_E_DWELL_CLASS(bad=bad, classes=", ".join(classes))]
    lo, hi = policy.dwell_bounds_min
    bad = [
        _DWELL_VALUE(minutes=m, cls=RISK_CLASS_LABELS[c]() if c in RISK_CLASS_LABELS else c)
        for c, m in dwell.items()
        if not lo <= m <= hi
    ]
    return [_E_DWELL(bad=listing(bad), lo=lo, hi=hi)] if bad else []


__all__ = [
    "DUTY_SPLITS",
    "PlanRequest",
    "build_request",
    "pin_problems",
    "slice_for",
]
