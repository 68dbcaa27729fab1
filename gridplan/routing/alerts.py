"""三色预警: an officer's red, yellow or blue alert on micro-grids for a time window.

An :class:`Alert` names micro-grids (or an area, kept for the map, resolved to the
micro-grids it touches), a colour, a window (``starts`` to ``ends``), why, who declared it and
when. It expires by itself at ``ends``; an officer may end it early (``ended_at``). While it is
active in a slice, :func:`alert_effects` gives each of its micro-grids what the station's
policy for that colour (:class:`~gridplan.station.roster.AlertPolicy`, ``[patrol.alerts.*]``)
does: a higher value, a shorter revisit gap and a minimum presence. Of several alerts on one
micro-grid the strongest colour wins (red over yellow over blue; then the later end).

The planner applies the effects (:func:`~gridplan.routing.problem.build_problem`), the plan
records the alerts, and :func:`~gridplan.routing.check.check_plan` verifies the minimums.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

import shapely
import shapely.geometry

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan.station.roster import ALERT_LEVELS
from gridplan.station.roster import AlertPolicy

if TYPE_CHECKING:
    import geopandas as gpd

_E_LEVEL = define(
    "alerts.level",
    N_("alert colour %(value)r is unknown; use red, yellow or blue"),
)
_E_ID = define(
    "alerts.id",
    N_("alert id %(value)r must be letters, digits, '-' or '_' (e.g. A12)"),
)
_E_CELLS = define(
    "alerts.cells",
    N_("the alert names no micro-grid; list micro-grid ids (e.g. S01-B2-M003) or draw an area"),
)
_E_TIME = define(
    "alerts.time",
    N_(
        "alert %(what)s %(value)r is not a date and time with its UTC offset; write it like "
        "2024-06-08T20:00:00+08:00"
    ),
)
_E_ORDER = define(
    "alerts.order",
    N_("the alert ends at %(ends)s, not after it starts at %(starts)s; give a later end"),
)
_E_REASON = define(
    "alerts.reason",
    N_("the alert needs a reason (e.g. 'robbery series on Main St'), at most 500 characters"),
)
_E_BY = define("alerts.by", N_("the alert needs who declared it (a name, at most 100 characters)"))
_E_ENDED = define(
    "alerts.ended",
    N_("the alert was ended at %(ended)s, before it was declared at %(created)s"),
)
_E_FIELDS = define(
    "alerts.fields",
    N_("alert %(where)s: %(problem)s; the fields are %(known)s"),
)
_E_UNKNOWN_CELLS = define(
    "alerts.unknown_cells",
    N_(
        "alert %(id)s names micro-grid(s) %(ids)s that are not in the grid; use micro-grid "
        "ids such as %(examples)s"
    ),
)

_E_NOT_IN_GRID = define(
    "alerts.not_in_grid",
    N_(
        "micro-grid(s) %(ids)s are not in the station's grid; use micro-grid ids such as "
        "%(examples)s"
    ),
)
_E_AREA = define(
    "alerts.area",
    N_(
        "the area %(source)s cannot be read (%(problem)s); give GeoJSON polygons in longitude "
        "and latitude (EPSG:4326), e.g. as drawn on the map"
    ),
)
_E_AREA_EMPTY = define(
    "alerts.area_empty",
    N_("the area %(source)s touches no micro-grid of the station's grid; draw it over the grid"),
)
_E_UNKNOWN_ALERT = define(
    "alerts.unknown",
    N_("alert %(id)s is not an alert of station %(station)s; list them with gridplan alerts list"),
)
_E_OVER = define(
    "alerts.over",
    N_("alert %(id)s is already over (since %(until)s); nothing to end"),
)
#: Largest area file read (GeoJSON text), bytes.
MAX_AREA_BYTES = 1 << 20

_ID = re.compile(r"[A-Za-z0-9_\-]{1,40}")


@dataclasses.dataclass(frozen=True)
class Alert:
    """A red, yellow or blue alert on micro-grids for a time window.

    Attributes
    ----------
    id
        Its id (the web store's number as text, or any short name for a file-based plan).
    level
        ``red``, ``yellow`` or ``blue``.
    micro_ids
        The micro-grids it covers (sorted, each once).
    starts, ends
        The window, tz-aware datetimes; it is active from ``starts`` until ``ends``.
    reason, created_by, created_at
        Why, who declared it and when (tz-aware).
    ended_at, ended_by
        When and by whom it was ended early, or ``None``.
    area
        The drawn or uploaded area it was declared on, as GeoJSON geometry text in EPSG:4326
        (kept for the map), or ``None``.

    Raises
    ------
    InputError
        An unknown colour, no micro-grid, a naive or impossible time, an end not after the
        start, an empty reason (the message says which and how to fix it).

    Examples
    --------
    >>> import datetime as dt
    >>> tz = dt.timezone(dt.timedelta(hours=8))
    >>> a = Alert("7", "red", ("S01-B2-M003",), dt.datetime(2024, 6, 8, 20, tzinfo=tz),
    ...           dt.datetime(2024, 6, 11, 20, tzinfo=tz), "robbery series", "officer 1",
    ...           dt.datetime(2024, 6, 8, 19, tzinfo=tz))
    >>> Alert.from_dict(a.to_dict()) == a
    True
    >>> active_in(a, dt.datetime(2024, 6, 9, 22, tzinfo=tz), dt.datetime(2024, 6, 10, 6, tzinfo=tz))
    True
    """

    id: str
    level: str
    micro_ids: tuple[str, ...]
    starts: dt.datetime
    ends: dt.datetime
    reason: str
    created_by: str
    created_at: dt.datetime
    ended_at: dt.datetime | None = None
    ended_by: str | None = None
    area: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "id", str(self.id))
        ids = [self.micro_ids] if isinstance(self.micro_ids, str) else self.micro_ids
        object.__setattr__(self, "micro_ids", tuple(sorted({str(m).strip() for m in ids} - {""})))
        problems = alert_problems(self)
        if problems:
            raise InputError(listing(problems, semicolons=True))

    @property
    def until(self) -> dt.datetime:
        """When it stops being active: its end, or when it was ended early."""
        if self.ended_at is not None and self.ended_at < self.ends:
            return max(self.ended_at, self.starts)
        return self.ends

    def active_at(self, when: dt.datetime) -> bool:
        """Whether the alert is active at ``when`` (tz-aware)."""
        return self.starts <= when < self.until

    def to_dict(self) -> dict[str, Any]:
        """Return the alert as JSON-ready values (what :meth:`from_dict` reads back)."""

        def iso(t):
            return None if t is None else t.isoformat()

        return {
            "id": self.id,
            "level": self.level,
            "micro_ids": list(self.micro_ids),
            "starts": iso(self.starts),
            "ends": iso(self.ends),
            "reason": self.reason,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "ended_at": iso(self.ended_at),
            "ended_by": self.ended_by,
            "area": self.area,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Read an alert from :meth:`to_dict`'s values.

        Raises
        ------
        InputError
            A field missing or unknown, or any problem :class:`Alert` finds in the values.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        where = repr(data.get("id")) if isinstance(data, Mapping) else "?"
        if not isinstance(data, Mapping):
            msg = _E_FIELDS(where=where, problem="not a JSON object", known=", ".join(known))
            raise InputError(msg)
        unknown = sorted(set(data) - set(known))
        required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
        missing = [k for k in required if k not in data]
        if unknown or missing:
            problem = ", ".join(
                x
                for x in (
                    f"unknown {', '.join(unknown)}" if unknown else "",
                    f"missing {', '.join(missing)}" if missing else "",
                )
                if x
            )
            raise InputError(_E_FIELDS(where=where, problem=problem, known=", ".join(known)))
        values = dict(data)
        for name in ("starts", "ends", "created_at", "ended_at"):
            values[name] = _parse_time(values.get(name), name)
        micro = values["micro_ids"]
        values["micro_ids"] = (micro,) if isinstance(micro, str) else tuple(micro or ())
        return cls(**values)


def _parse_time(value: Any, what: str) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(_E_TIME(what=what, value=value)) from None


def alert_problems(alert: Alert) -> list[Message]:
    """Return what is wrong with an alert's values on their own (empty: nothing)."""
    problems: list[Message] = []
    if alert.level not in ALERT_LEVELS:
        problems.append(_E_LEVEL(value=alert.level))
    if not _ID.fullmatch(alert.id):
        problems.append(_E_ID(value=alert.id))
    if not alert.micro_ids:
        problems.append(_E_CELLS())
    times = {}
    for what in ("starts", "ends", "created_at", "ended_at"):
        value = getattr(alert, what)
        if value is None and what == "ended_at":
            continue
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            problems.append(_E_TIME(what=what, value=str(value)))
        else:
            times[what] = value
    if "starts" in times and "ends" in times and times["ends"] <= times["starts"]:
        problems.append(_E_ORDER(ends=alert.ends.isoformat(), starts=alert.starts.isoformat()))
    if "ended_at" in times and "created_at" in times and times["ended_at"] < times["created_at"]:
        problems.append(
            _E_ENDED(ended=alert.ended_at.isoformat(), created=alert.created_at.isoformat())
        )
    if not isinstance(alert.reason, str) or not alert.reason.strip() or len(alert.reason) > 500:
        problems.append(_E_REASON())
    if not isinstance(alert.created_by, str) or not alert.created_by.strip():
        problems.append(_E_BY())
    elif len(alert.created_by) > 100:
        problems.append(_E_BY())
    return problems


def unknown_cells(alerts: Iterable[Alert], micro_ids: Sequence[str]) -> list[Message]:
    """Return a message per alert naming micro-grids not in ``micro_ids`` (grid order)."""
    known = set(micro_ids)
    out = []
    for a in alerts:
        bad = [m for m in a.micro_ids if m not in known]
        if bad:
            out.append(
                _E_UNKNOWN_CELLS(
                    id=a.id, ids=", ".join(bad[:10]), examples=", ".join(list(micro_ids)[:3])
                )
            )
    return out


def cell_problems(ids: Iterable[str], micro_ids: Sequence[str]) -> list[Message]:
    """Return a message naming the ids that are not micro-grids of the grid (empty: none)."""
    known = set(micro_ids)
    bad = sorted({str(i) for i in ids} - known)
    if not bad:
        return []
    return [_E_NOT_IN_GRID(ids=", ".join(bad[:10]), examples=", ".join(list(micro_ids)[:3]))]


def read_area(text: str | bytes, *, source: str = "<area>") -> shapely.Geometry:
    """Return the polygons of a GeoJSON text (a geometry, Feature or FeatureCollection) as one.

    Raises
    ------
    InputError
        Not JSON, not GeoJSON, no polygon, coordinates outside longitude/latitude, or more
        than :data:`MAX_AREA_BYTES`; the message names ``source``.
    """
    if len(text) > MAX_AREA_BYTES:
        problem = f"{len(text)} bytes, more than {MAX_AREA_BYTES}"
        raise InputError(_E_AREA(source=source, problem=problem))
    try:
        data = json.loads(text)
        if data.get("type") == "FeatureCollection":
            geoms = [f["geometry"] for f in data["features"]]
        elif data.get("type") == "Feature":
            geoms = [data["geometry"]]
        else:
            geoms = [data]
        shapes = [shapely.geometry.shape(g) for g in geoms if g]
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InputError(_E_AREA(source=source, problem=str(exc)[:200])) from None
    polygons = [g for g in shapes if g.geom_type in ("Polygon", "MultiPolygon") and g.area > 0]
    if not polygons:
        raise InputError(_E_AREA(source=source, problem="no polygon"))
    area = shapely.make_valid(shapely.union_all(polygons))
    minx, miny, maxx, maxy = area.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(_E_AREA(source=source, problem="coordinates are not longitude/latitude"))
    return area


def cells_in_area(
    grid: gpd.GeoDataFrame, area: shapely.Geometry, *, source: str = "<area>"
) -> tuple[str, ...]:
    """Return the micro-grids the area (EPSG:4326) overlaps (touching an edge is not enough).

    Raises
    ------
    InputError
        When it overlaps none.
    """
    micro = grid[grid["level"] == "micro"].to_crs("EPSG:4326")
    hit = micro.geometry.intersects(area) & ~micro.geometry.touches(area)
    ids = tuple(micro.loc[hit.to_numpy(), "id"].astype(str))
    if not ids:
        raise InputError(_E_AREA_EMPTY(source=source))
    return ids


def area_geojson(area: shapely.Geometry) -> str:
    """Return the area as GeoJSON geometry text (what :attr:`Alert.area` keeps)."""
    return json.dumps(shapely.geometry.mapping(area))


def unknown_alert(alert_id: str, station_id: str) -> Message:
    """Return the message for an alert id that is not one of the station's."""
    return _E_UNKNOWN_ALERT(id=alert_id, station=station_id)


def alert_over(alert: Alert) -> Message:
    """Return the message for ending an alert that is already over."""
    return _E_OVER(id=alert.id, until=alert.until.isoformat(sep=" ", timespec="minutes"))


def active_in(alert: Alert, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether ``alert`` is active at some time in ``[start, end)`` (tz-aware datetimes)."""
    return alert.starts < end and start < alert.until


@dataclasses.dataclass(frozen=True)
class AlertEffect:
    """What the strongest alert active in a slice does to one micro-grid.

    Attributes
    ----------
    alert_id, level, ends
        The alert that wins (strongest colour, then the latest end) and when it ends.
    value_factor, revisit_gap_min, min_presence_min
        Its colour's :class:`~gridplan.station.roster.AlertPolicy`.
    """

    alert_id: str
    level: str
    ends: dt.datetime
    value_factor: float = 1.0
    revisit_gap_min: int | None = None
    min_presence_min: int = 0

    @property
    def changes_routes(self) -> bool:
        """Whether the effect changes plans (blue, by default, is only shown)."""
        return (
            self.value_factor != 1.0
            or self.revisit_gap_min is not None
            or self.min_presence_min > 0
        )

    def visits_needed(self, dwell_min: int) -> int:
        """Visits of ``dwell_min`` minutes that give the minimum presence."""
        if self.min_presence_min <= 0 or dwell_min <= 0:
            return 0
        return math.ceil(self.min_presence_min / dwell_min)


def alert_effects(
    alerts: Iterable[Alert],
    start: dt.datetime,
    end: dt.datetime,
    policies: Mapping[str, AlertPolicy],
) -> dict[str, AlertEffect]:
    """Return micro-grid id -> the effect of the strongest alert active in ``[start, end)``.

    Parameters
    ----------
    alerts
        The alerts (any; those not active in the window are ignored).
    start, end
        The slice's window, tz-aware.
    policies
        Colour -> policy (the station's ``patrol.alerts``).

    Examples
    --------
    >>> import datetime as dt
    >>> from gridplan.station.roster import PatrolPolicy
    >>> t = dt.datetime(2024, 6, 8, 20, tzinfo=dt.UTC)
    >>> make = lambda i, level: Alert(i, level, ("M1",), t, t + dt.timedelta(hours=72),
    ...                               "why", "me", t)
    >>> fx = alert_effects([make("1", "yellow"), make("2", "red")], t, t + dt.timedelta(hours=8),
    ...                    PatrolPolicy().alerts)
    >>> fx["M1"].level, fx["M1"].value_factor, fx["M1"].min_presence_min
    ('red', 3.0, 30)
    """
    best: dict[str, tuple[tuple, AlertEffect]] = {}
    for a in alerts:
        if not active_in(a, start, end):
            continue
        pol = policies.get(a.level, AlertPolicy())
        key = (-ALERT_LEVELS.index(a.level), a.until)
        effect = AlertEffect(
            a.id, a.level, a.until, pol.value_factor, pol.revisit_gap_min, pol.min_presence_min
        )
        for mid in a.micro_ids:
            if mid not in best or key > best[mid][0]:
                best[mid] = (key, effect)
    return {mid: effect for mid, (_, effect) in best.items()}


def alerts_to_json(alerts: Iterable[Alert]) -> str:
    """Return alerts as the JSON list ``gridplan alerts list --json`` writes."""
    return json.dumps([a.to_dict() for a in alerts], ensure_ascii=False, indent=2)


def alerts_from_json(text: str, *, source: str = "<alerts>") -> tuple[Alert, ...]:
    """Read the JSON list of :func:`alerts_to_json` (or one alert object).

    Raises
    ------
    InputError
        Naming ``source`` and the alert at fault, with what is wrong.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        msg = f"{source}: not JSON ({exc}); give the file `gridplan alerts list --json` writes"
        raise InputError(msg) from None
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        msg = f"{source}: must be a JSON list of alerts, as `gridplan alerts list --json` writes"
        raise InputError(msg)
    out = []
    for i, item in enumerate(items):
        try:
            out.append(Alert.from_dict(item))
        except InputError as exc:
            raise InputError(f"{source}: alert {i + 1}: {exc}") from None
    return tuple(out)


__all__ = [
    "Alert",
    "AlertEffect",
    "active_in",
    "alert_effects",
    "alert_problems",
    "alerts_from_json",
    "alerts_to_json",
    "area_geojson",
    "cell_problems",
    "cells_in_area",
    "read_area",
    "unknown_cells",
]
