"""The patrol force and the patrol policy of a station.

A community police station patrols with a "1+3+N" auxiliary set-up (1 team captain, 3
full-time auxiliaries 辅警, N seasonal ones) and volunteer patrol teams (义警, often retirees
walking in pairs). Each :class:`Patroller` says when it is available, how it moves and where it
starts; the :class:`PatrolPolicy` says how long a stop lasts, how often hot spots are revisited
and how much presence a place may get in a day. Both come from the station TOML
(``[[roster]]`` and ``[patrol]``, see ``default_station.toml``) and are validated here.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import re
from collections.abc import Mapping
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from gridplan._errors import ConfigError
from gridplan.station._toml import typed

ROLES = ("captain", "auxiliary", "seasonal", "volunteer_team", "officer")
MODES = ("walk", "ebike", "car")
#: Default speeds in km/h: walking on a patrol beat, an e-bike in city traffic, a car in town.
MODE_SPEED_KPH = {"walk": 4.5, "ebike": 15.0, "car": 25.0}
#: The travel network profile each mode uses (see :mod:`gridplan.network.graphs`).
MODE_PROFILE = {"walk": "walk", "ebike": "ride", "car": "ride"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Day keys of availability (and of key targets' windows) -> the days they stand for.
DAY_GROUPS = {
    "daily": DAYS,
    "weekdays": DAYS[:5],
    "weekend": DAYS[5:],
    **{d: (d,) for d in DAYS},
}
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAY_MIN = 24 * 60
#: The ``source`` of patrollers from ``default_station.toml``, named in messages.
DEFAULT_ROSTER = "the built-in default roster (gridplan/data/default_station.toml)"


@dataclasses.dataclass(frozen=True)
class Patroller:
    """One auxiliary, officer or volunteer team that walks or rides patrol routes.

    Attributes
    ----------
    id, name
        Code (unique in the roster) and display name.
    role
        ``captain``, ``auxiliary`` (full-time 辅警), ``seasonal``, ``volunteer_team`` (义警) or
        ``officer``.
    mode, speed_kph
        ``walk``, ``ebike`` or ``car``, and the travel speed (default by mode).
    availability
        Per weekday (0 = Monday) the windows ``(start_min, end_min)`` in minutes after midnight;
        ``end_min`` may exceed 1440 for a window that runs past midnight.
    max_duty_min
        Longest time on duty in one day.
    start, end
        Where routes start and end: ``"station"`` or a micro-grid id.
    home_bases
        Base grids the patroller keeps to (volunteers usually patrol their own); empty = all.
        Each is a base grid id, or a position among the grid's base grids in id order
        (``1`` the first, ``-1`` the last; past either end the nearest one), so a roster can
        fit any grid: :func:`resolve_home_bases` turns positions into ids.
    members
        People in the team (volunteers walk in pairs).
    break_after_min, break_min
        After this many minutes on duty a break of ``break_min`` minutes (0 = no rule).
    source
        Where the entry came from, for messages: ``station.toml: roster 'V01'``, or
        :data:`DEFAULT_ROSTER`.

    Examples
    --------
    Usually read from the ``[[roster]]`` entries of a station file:

    >>> from gridplan.station.config import load_config
    >>> captain = load_config("data/station.toml").roster[0]
    >>> captain.id, captain.mode, captain.profile, captain.windows_on(0)
    ('C01', 'ebike', 'ride', ((480, 1080),))

    or built directly, e.g. a volunteer pair walking 19:00-21:00 on Saturdays:

    >>> team = Patroller(
    ...     "V01", "义警 1", "volunteer_team", "walk", 4.0,
    ...     availability={5: ((19 * 60, 21 * 60),)}, max_duty_min=120, members=2,
    ... )
    >>> team.profile, team.windows_on(5), team.windows_on(0)
    ('walk', ((1140, 1260),), ())
    """

    id: str
    name: str
    role: str
    mode: str
    speed_kph: float
    availability: Mapping[int, tuple[tuple[int, int], ...]]
    max_duty_min: int
    start: str = "station"
    end: str = "station"
    home_bases: tuple[str | int, ...] = ()
    members: int = 1
    break_after_min: int = 0
    break_min: int = 0
    source: str = dataclasses.field(default="", compare=False)

    @property
    def profile(self) -> str:
        """Street-network profile: ``walk`` or ``ride``."""
        return MODE_PROFILE[self.mode]

    def windows_on(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """Availability windows on a weekday (0 = Monday), in minutes after that midnight."""
        return self.availability.get(weekday, ())


#: The most recent days a plan looks back over for what patrols actually did (``presence_days``).
MAX_PRESENCE_DAYS = 90

#: Colours of an alert (三色预警), strongest first.
ALERT_LEVELS = ("red", "yellow", "blue")


@dataclasses.dataclass(frozen=True)
class AlertPolicy:
    """What an alert of one colour does to the patrol of the micro-grids it covers.

    Attributes
    ----------
    value_factor
        A stop's prize (its share of the slice's risk) is multiplied by it (1 = unchanged).
    revisit_gap_min
        Minutes between two visits of an alert micro-grid in a slice, replacing the policy's
        ``revisit_gap_min``; ``None`` keeps the policy's.
    min_presence_min
        Minutes of presence each alert micro-grid gets in every slice the alert overlaps
        (0 = none): the visits needed for it are kept like pinned ones, beyond the dosage cap.

    Examples
    --------
    >>> AlertPolicy(3.0, 30, 30).min_presence_min
    30
    """

    value_factor: float = 1.0
    revisit_gap_min: int | None = None
    min_presence_min: int = 0

    @property
    def changes_routes(self) -> bool:
        """Whether the alert changes plans (blue, by default, is only shown)."""
        return (
            self.value_factor != 1.0
            or self.revisit_gap_min is not None
            or self.min_presence_min > 0
        )


def _default_alert_policies() -> Mapping[str, AlertPolicy]:
    return MappingProxyType(
        {
            "red": AlertPolicy(3.0, 30, 30),
            "yellow": AlertPolicy(1.5, 45, 15),
            "blue": AlertPolicy(1.0, None, 0),
        }
    )


@dataclasses.dataclass(frozen=True)
class PatrolPolicy:
    """How patrols present themselves at hot spots (hot-spot policing research defaults).

    Attributes
    ----------
    dwell_min
        Minutes of presence per stop by risk class ``top``/``high``/``other``: about 10-15
        minutes is the Koper curve's optimum (Koper 1995; Telep, Mitchell & Weisburd 2014).
    dwell_bounds_min
        Allowed range of a dwell time.
    top_share
        Share of micro-grids (by risk, per slice) in the ``top`` class; ``high`` is the next
        equal share.
    revisit_max, revisit_gap_min
        Top-class micro-grids may be visited up to ``revisit_max`` times per slice, the next
        visit at least ``revisit_gap_min`` minutes after the last one ended (spread over the
        shift).
    dosage_cap_min
        Most minutes of presence one micro-grid gets in a day, so no street is over-policed.
    cover_base_grids, cover_penalty
        Visit every base grid at least once per slice when anyone is on duty (soft, with this
        penalty in prize units; violations are reported).
    dwell_spread_min
        Each stop's dwell is drawn at random (seeded by the plan's variant) within this many
        minutes either side of its class's ``dwell_min``, inside ``dwell_bounds_min``, so
        patrols are less predictable (Koper: 10-15 min; the Sacramento trial: 12-16 min in
        random order); 0 keeps every dwell at its class's minutes.
    wait_max_min
        Most minutes a patroller may wait between two stops. A patrol walks on rather than
        standing at a corner: time with nothing better to do ends the outing (back at the
        station) instead of a wait at a street node.
    outing_min_min
        Shortest outing worth sending a patroller on, minutes (start to return); shorter only
        when the patroller's continuous availability is itself shorter.
    alerts
        Alert colour (``red``, ``yellow``, ``blue``) -> :class:`AlertPolicy`.
    underserved_boost
        Feedback from tracks (:mod:`gridplan.routing.feedback`): a micro-grid that is a top
        hot spot in a slice and got less presence than planned over the recent days is worth
        ``1 + underserved_boost * shortfall`` times its risk, ``shortfall`` being the share of
        the planned minutes it did not get (0.5: a hot spot that got none is worth 1.5 times
        as much). 0 turns it off. Without presence nothing changes.
    missed_flag_after
        A micro-grid whose planned stops were missed this many times over the recent days is
        flagged to the officer in the plan (:attr:`~gridplan.routing.plan.PatrolPlan.feedback`).
    presence_days
        How many days before a plan's date the web UI's plan form looks back over for what
        patrols actually did (check-ins, tracks and their kept presence; the officer may
        change it per plan or switch it off).

    Examples
    --------
    The ``[patrol]`` table of a station file, or these defaults:

    >>> policy = PatrolPolicy()
    >>> dict(policy.dwell_min), policy.revisit_max, policy.dosage_cap_min
    ({'top': 15, 'high': 12, 'other': 10}, 3, 90)
    >>> import dataclasses
    >>> dataclasses.replace(policy, revisit_max=1).revisit_max
    1
    """

    dwell_min: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: MappingProxyType({"top": 15, "high": 12, "other": 10})
    )
    dwell_bounds_min: tuple[int, int] = (10, 15)
    top_share: float = 0.1
    revisit_max: int = 3
    revisit_gap_min: int = 60
    dosage_cap_min: int = 90
    cover_base_grids: bool = True
    cover_penalty: float = 1000.0
    dwell_spread_min: int = 2
    wait_max_min: int = 5
    outing_min_min: int = 45
    alerts: Mapping[str, AlertPolicy] = dataclasses.field(default_factory=_default_alert_policies)
    underserved_boost: float = 0.5
    missed_flag_after: int = 2
    presence_days: int = 7


def _err(where: str, text: str) -> ConfigError:
    return ConfigError(f"{where}: {text}")


def parse_windows(value: Any, *, where: str) -> tuple[tuple[int, int], ...]:
    """Parse ``["08:00-12:00", "22:00-02:00"]`` into minute windows (end may pass 1440)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        msg = f'{value!r} is not a list of windows; write e.g. ["08:00-12:00", "14:00-18:00"]'
        raise _err(where, msg)
    out = []
    for item in items:
        m = _WINDOW_RE.match(str(item))
        if not m:
            msg = f'window {item!r} is not HH:MM-HH:MM; write e.g. "22:00-02:00"'
            raise _err(where, msg)
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise _err(where, f"window {item!r} has an impossible time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            end += DAY_MIN  # runs past midnight
        out.append((start, end))
    out.sort()
    for (s1, e1), (s2, _) in itertools.pairwise(out):
        if s2 < e1:
            msg = f"windows overlap (the one from {s1 // 60:02d}:{s1 % 60:02d}); merge them"
            raise _err(where, msg)
    return tuple(out)


def _availability(raw: Any, *, where: str) -> dict[int, tuple[tuple[int, int], ...]]:
    if not isinstance(raw, Mapping) or not raw:
        msg = (
            "availability must be a table of day -> windows, e.g. "
            '{ weekdays = ["08:00-12:00"], sat = ["09:00-11:00"] }'
        )
        raise _err(where, msg)
    days: dict[int, tuple[tuple[int, int], ...]] = {}
    # general keys first, so "weekdays" can be refined by "fri"
    order = sorted(raw, key=lambda k: -len(DAY_GROUPS.get(str(k).lower(), ())))
    for key in order:
        group = DAY_GROUPS.get(str(key).lower())
        if group is None:
            msg = f"unknown day {key!r}; use {', '.join(DAYS)}, weekdays, weekend or daily"
            raise _err(where, msg)
        windows = parse_windows(raw[key], where=f"{where}.{key}")
        for d in group:
            days[DAYS.index(d)] = windows
    return days


def parse_patroller(raw: Any, *, index: int, source: str) -> Patroller:
    """Validate one ``[[roster]]`` entry."""
    where = f"{source}: roster[{index}]"
    if not isinstance(raw, Mapping):
        raise _err(where, "must be a table with id, role, mode and availability")
    known = {
        "id", "name", "role", "mode", "speed_kph", "availability", "max_duty_min", "start",
        "end", "home_bases", "members", "break_after_min", "break_min",
    }  # fmt: skip
    unknown = sorted(set(raw) - known)
    if unknown:
        msg = f"unknown key(s) {', '.join(unknown)}; known keys are {', '.join(sorted(known))}"
        raise _err(where, msg)
    missing = [k for k in ("id", "role", "mode", "availability") if k not in raw]
    if missing:
        raise _err(where, f"lacks {', '.join(missing)}")
    pid = typed(raw["id"], str, where=where, key="id", example='id = "A01"')
    where = f"{source}: roster {pid!r}"
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", pid):
        raise _err(where, "id may only contain letters, digits, '_' and '-' (e.g. 'A01')")
    role = typed(raw["role"], str, where=where, key="role", example='role = "auxiliary"')
    mode = typed(raw["mode"], str, where=where, key="mode", example='mode = "walk"')
    if role not in ROLES:
        raise _err(where, f"role {role!r} is unknown; use one of {', '.join(ROLES)}")
    if mode not in MODES:
        raise _err(where, f"mode {mode!r} is unknown; use one of {', '.join(MODES)}")
    numbers = {
        "speed_kph": (float, MODE_SPEED_KPH[mode]),
        "max_duty_min": (int, 480),
        "members": (int, 2 if role == "volunteer_team" else 1),
        "break_after_min": (int, 0),
        "break_min": (int, 0),
    }
    speed, max_duty, members, break_after, break_len = (
        typed(raw.get(key, default), kind, where=where, key=key, example=f"{key} = {default}")
        for key, (kind, default) in numbers.items()
    )
    if not 1 <= speed <= 80:
        raise _err(where, f"speed_kph = {speed:g} is implausible; use 1-80 km/h")
    if not 0 < max_duty <= DAY_MIN:
        raise _err(where, f"max_duty_min = {max_duty} must be in 1..1440")
    if members < 1:
        raise _err(where, f"members = {members} must be at least 1")
    if break_after < 0 or break_len < 0 or (break_after == 0) != (break_len == 0):
        raise _err(where, "give both break_after_min and break_min (minutes, > 0), or neither")
    bases = raw.get("home_bases", [])
    if isinstance(bases, str | int):
        bases = [bases]
    if not isinstance(bases, list) or not all(_is_base_ref(b) for b in bases):
        msg = (
            f"home_bases = {bases!r}: give base grid ids or positions among the grid's base "
            'grids (1 = the first, -1 = the last), e.g. ["S01-B1", "S01-B2"] or [1, 2]'
        )
        raise _err(where, msg)
    text = {
        key: typed(raw.get(key, default), str, where=where, key=key, example=f'{key} = "{ex}"')
        for key, default, ex in (
            ("name", pid, "辅警 1"),
            ("start", "station", "station"),
            ("end", raw.get("start", "station"), "S01-B1-M001"),
        )
    }
    return Patroller(
        id=pid,
        name=text["name"],
        role=role,
        mode=mode,
        speed_kph=speed,
        availability=MappingProxyType(
            _availability(raw["availability"], where=f"{where}: availability")
        ),
        max_duty_min=max_duty,
        start=text["start"],
        end=text["end"],
        home_bases=tuple(b if isinstance(b, int) else str(b) for b in bases),
        members=members,
        break_after_min=break_after,
        break_min=break_len,
        source=where,
    )


def _is_base_ref(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value != 0) or (isinstance(value, str) and bool(value))


def _natural(text: str) -> tuple:
    """Sort key putting S01-B2 before S01-B10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def resolve_home_bases(
    roster: tuple[Patroller, ...], base_ids: Sequence[str]
) -> tuple[Patroller, ...]:
    """Turn home-base positions into the base grid ids of a grid.

    Position ``n`` is the n-th base grid in id order (``S01-B2`` before ``S01-B10``), ``-n``
    the n-th from the end; a position past either end is the nearest base grid, so the
    default roster's ``[1, 2]`` and ``[-2, -1]`` fit a grid of any size. Ids are kept as
    they are (:func:`~gridplan.routing.problem.build_problem` checks them).

    Parameters
    ----------
    roster
        The patrollers, as read from the station config.
    base_ids
        The ids of the grid's base grids.

    Returns
    -------
    tuple of Patroller
        The roster with ids only (the same objects when there is nothing to resolve).

    Examples
    --------
    >>> team = Patroller("V01", "义警", "volunteer_team", "walk", 4.5, {}, 150, home_bases=(1, -1))
    >>> resolve_home_bases((team,), ["T07-B10", "T07-B2", "T07-B1"])[0].home_bases
    ('T07-B1', 'T07-B10')
    """
    ordered = sorted(map(str, base_ids), key=_natural)
    if not ordered or not any(isinstance(b, int) for p in roster for b in p.home_bases):
        return roster
    out = []
    for p in roster:
        ids = []
        for b in p.home_bases:
            if isinstance(b, int):
                k = min(max(b, 1), len(ordered)) - 1 if b > 0 else max(len(ordered) + b, 0)
                b = ordered[k]
            if b not in ids:
                ids.append(b)
        out.append(dataclasses.replace(p, home_bases=tuple(ids)))
    return tuple(out)


def parse_roster(raw: Any, *, source: str) -> tuple[Patroller, ...]:
    """Validate the ``[[roster]]`` list; ids must be unique."""
    if not isinstance(raw, list):
        raise _err(source, "roster must be a list of [[roster]] tables")
    roster = tuple(parse_patroller(r, index=i, source=source) for i, r in enumerate(raw))
    counts = collections.Counter(p.id for p in roster)  # linear: rosters may be long
    dupes = sorted(i for i, n in counts.items() if n > 1)
    if dupes:
        msg = f"roster ids must be unique; repeated: {', '.join(dupes)}; give each its own id"
        raise _err(source, msg)
    return roster


def parse_alert_policies(raw: Any, *, source: str) -> Mapping[str, AlertPolicy]:
    """Validate the ``[patrol.alerts.<colour>]`` tables (colours left out keep the defaults)."""
    where = f"{source}: patrol.alerts"
    if not isinstance(raw, Mapping):
        msg = "must be tables per colour, e.g. [patrol.alerts.red] value_factor = 3.0"
        raise _err(where, msg)
    unknown = sorted(set(raw) - set(ALERT_LEVELS))
    if unknown:
        msg = f"unknown colour(s) {', '.join(unknown)}; use {', '.join(ALERT_LEVELS)}"
        raise _err(where, msg)
    out = dict(_default_alert_policies())
    for level, table in raw.items():
        key = f"patrol.alerts.{level}"
        table = typed(table, Mapping, where=source, key=key, example="{ value_factor = 3.0 }")
        extra = sorted(set(table) - {"value_factor", "revisit_gap_min", "min_presence_min"})
        if extra:
            msg = (
                f"unknown key(s) {', '.join(extra)}; known keys are value_factor, "
                "revisit_gap_min, min_presence_min"
            )
            raise _err(f"{source}: {key}", msg)
        base = out[level]
        factor = typed(
            table.get("value_factor", base.value_factor),
            float,
            where=source,
            key=f"{key}.value_factor",
            example="value_factor = 3.0",
        )
        gap = table.get("revisit_gap_min", base.revisit_gap_min)
        if gap is not None:
            gap = typed(gap, int, where=source, key=f"{key}.revisit_gap_min", example="30")
        minimum = typed(
            table.get("min_presence_min", base.min_presence_min),
            int,
            where=source,
            key=f"{key}.min_presence_min",
            example="min_presence_min = 30",
        )
        if factor < 1 or (gap is not None and gap < 0) or minimum < 0:
            msg = (
                f"value_factor = {factor:g} must be >= 1, revisit_gap_min and "
                "min_presence_min >= 0 (an alert never lowers a micro-grid's value)"
            )
            raise _err(f"{source}: {key}", msg)
        out[level] = AlertPolicy(factor, gap, minimum)
    return MappingProxyType(out)


def parse_policy(raw: Mapping[str, Any], *, source: str) -> PatrolPolicy:
    """Validate the ``[patrol]`` table."""
    where = f"{source}: patrol"

    def get(key: str, kind: type, example: str) -> Any:
        return typed(raw[key], kind, where=source, key=f"patrol.{key}", example=example)

    dwell_raw = get("dwell_min", Mapping, "dwell_min = { top = 15, high = 12, other = 10 }")
    dwell = {
        str(k): typed(v, int, where=source, key=f"patrol.dwell_min.{k}", example=f"{k} = 12")
        for k, v in dwell_raw.items()
    }
    bounds = get("dwell_bounds_min", list, "dwell_bounds_min = [10, 15]")
    if len(bounds) != 2:
        msg = f"dwell_bounds_min = {bounds!r} must be two minutes [lowest, highest], e.g. [10, 15]"
        raise _err(where, msg)
    lo, hi = (
        typed(x, int, where=source, key="patrol.dwell_bounds_min", example="[10, 15]")
        for x in bounds
    )
    policy = PatrolPolicy(
        dwell_min=MappingProxyType(dwell),
        dwell_bounds_min=(lo, hi),
        top_share=get("top_share", float, "top_share = 0.1"),
        revisit_max=get("revisit_max", int, "revisit_max = 3"),
        revisit_gap_min=get("revisit_gap_min", int, "revisit_gap_min = 60"),
        dosage_cap_min=get("dosage_cap_min", int, "dosage_cap_min = 90"),
        cover_base_grids=get("cover_base_grids", bool, "cover_base_grids = true"),
        cover_penalty=get("cover_penalty", float, "cover_penalty = 1000.0"),
        dwell_spread_min=get("dwell_spread_min", int, "dwell_spread_min = 2"),
        wait_max_min=get("wait_max_min", int, "wait_max_min = 5"),
        outing_min_min=get("outing_min_min", int, "outing_min_min = 45"),
        alerts=parse_alert_policies(raw.get("alerts", {}), source=source),
        underserved_boost=get("underserved_boost", float, "underserved_boost = 0.5"),
        missed_flag_after=get("missed_flag_after", int, "missed_flag_after = 2"),
        presence_days=get("presence_days", int, "presence_days = 7"),
    )
    if set(dwell) != {"top", "high", "other"}:
        raise _err(where, "dwell_min needs exactly the classes top, high and other")
    if not 0 < lo <= hi:
        raise _err(where, f"dwell_bounds_min = [{lo}, {hi}] must be increasing and positive")
    for cls, minutes in dwell.items():
        if not lo <= minutes <= hi:
            msg = f"dwell_min.{cls} = {minutes} lies outside dwell_bounds_min [{lo}, {hi}]"
            raise _err(where, msg)
    if not 0 < policy.top_share < 0.5:
        raise _err(where, f"top_share = {policy.top_share:g} must be in (0, 0.5)")
    if policy.revisit_max < 1 or policy.revisit_gap_min < 0:
        raise _err(where, "revisit_max must be >= 1 and revisit_gap_min >= 0")
    for key in ("dwell_spread_min", "wait_max_min", "outing_min_min"):
        if getattr(policy, key) < 0:
            raise _err(where, f"{key} = {getattr(policy, key)} must be 0 or more minutes")
    if policy.underserved_boost < 0:
        msg = f"underserved_boost = {policy.underserved_boost:g} must be 0 (off) or more"
        raise _err(where, msg)
    if policy.missed_flag_after < 1:
        msg = f"missed_flag_after = {policy.missed_flag_after} must be 1 or more missed stops"
        raise _err(where, msg)
    if not 1 <= policy.presence_days <= MAX_PRESENCE_DAYS:
        msg = (
            f"presence_days = {policy.presence_days} must be a whole number of days from 1 to "
            f"{MAX_PRESENCE_DAYS}; write e.g. presence_days = 7"
        )
        raise _err(where, msg)
    if policy.dosage_cap_min < hi:
        msg = f"dosage_cap_min = {policy.dosage_cap_min} is shorter than one stop ({hi} min)"
        raise _err(where, msg)
    return policy
