"""Key road sections and timed targets (重点路段、重点时段): what they are and how they are read.

A :class:`Target` is a place an officer wants patrolled at set times, beside the hot spots:

- a **point target** (a school gate, a market entrance): be there for ``dwell_min`` minutes
  inside one of its time windows;
- a **line target** (a market street, a school road): walk the section from its first to its
  last vertex, then stay ``dwell_min`` more minutes (0 by default) at its end. The walk is
  timed along the section as drawn at walking speed (:data:`WALK_SPEED_KPH`), whatever the
  patroller rides: a rider pushes the bike along a market street.

**Value**: ``value`` is a share of the slice's risk in per cent. A target of value 10 is
worth as much as a micro-grid holding 10 % of the slice's incidents-weighted risk (the top
hot spot of a station typically holds 5-15 %). Each occurrence of a window in a slice is
worth that much on its own (a school gate with two windows in the day slice is two visits).

**Time windows** are written like the roster's availability: ``07:30-08:15;16:30-17:30``
(every day), with an optional day key before a window, ``weekdays 07:30-08:15; sat
09:00-10:00`` (keys ``mon`` .. ``sun``, ``weekdays``, ``weekend``, ``daily``). A window may run
past midnight (``22:00-01:00``). The visit (or the walk and its dwell) must lie wholly inside
the window; a window cut by a slice boundary is served in the part inside the slice.

**Modes**: ``modes`` lists the travel modes (``walk``, ``ebike``, ``car``) of patrollers who
may serve the target; empty means anyone.

:func:`read_targets` reads them from a layer (GeoJSON, GeoPackage, ...: Point = point target,
LineString = line target; columns ``name``, ``windows``, ``value``, ``dwell_min``, optional
``id`` and ``modes``), keeping the good features and naming each bad one.
:func:`target_nodes` gives the occurrences of a slice that the problem turns into solver
nodes; :func:`add_target_nodes` appends them to the slice's PrizeVRP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import re
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing
from gridplan.io.limits import ReadLimits
from gridplan.station.roster import DAY_GROUPS as ROSTER_DAYS
from gridplan.station.roster import DAY_MIN
from gridplan.station.roster import DAYS
from gridplan.station.roster import MODE_SPEED_KPH
from gridplan.station.roster import MODES
from gridplan.station.timeslices import real_seconds

#: Speed a line target is walked at, km/h.
WALK_SPEED_KPH = MODE_SPEED_KPH["walk"]

#: Value of a target when none is given: 5 % of the slice's risk.
DEFAULT_VALUE = 5.0

#: Minutes at a point target when none are given (the patrol policy's top dwell).
DEFAULT_POINT_DWELL_MIN = 15

#: The longest line target, metres (a longer walk is a route of its own).
MAX_LINE_M = 5000.0

#: Day keys of a window (the roster's, see :mod:`gridplan.station.roster`).
DAY_GROUPS: Mapping[str, tuple[int, ...]] = {
    key: tuple(DAYS.index(d) for d in days) for key, days in ROSTER_DAYS.items()
}

_GEOD = pyproj.Geod(ellps="WGS84")
_WINDOW = re.compile(r"^(?:([a-z]+)\s+)?(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

# What is wrong with a target (the web UI shows it in the officer's language).
_E_WINDOW = define(
    "targets.window",
    N_(
        "window %(value)r is not [day ]HH:MM-HH:MM; write e.g. 07:30-08:15;16:30-17:30 or "
        "weekdays 07:30-08:15"
    ),
)
_E_DAY = define(
    "targets.day",
    N_("window %(value)r names day %(day)r; use mon..sun, weekdays, weekend or daily"),
)
_E_NO_WINDOW = define(
    "targets.no_window", N_("no time window; give one or more, e.g. 07:30-08:15;16:30-17:30")
)
_E_OVERLAP = define(
    "targets.overlap", N_("windows %(a)s and %(b)s overlap on %(day)s; merge them into one")
)
_E_NAME = define(
    "targets.name", N_("the target has no name; give it one (e.g. 中山路 or 一小校门)")
)
_E_VALUE = define(
    "targets.value",
    N_("value %(value)r must be a number from 0 to 100 (per cent of the slice's risk)"),
)
_E_DWELL = define(
    "targets.dwell", N_("dwell %(value)r must be whole minutes from 0 to 240 (time present)")
)
_E_MODES = define("targets.modes", N_("modes %(value)r must be among %(modes)s, or empty for all"))
_E_GEOMETRY = define(
    "targets.geometry",
    N_(
        "geometry %(kind)s is not a target; draw a point (a gate) or a line (a street section "
        "walked from its first to its last point)"
    ),
)
_E_LINE_LONG = define(
    "targets.line_long",
    N_("the section is %(metres).0f m long, more than %(limit).0f m; split it into sections"),
)
_E_LINE_SHORT = define(
    "targets.line_short", N_("the section is %(metres).1f m long; draw it at least 10 m long")
)
_E_SHORT_WINDOW = define(
    "targets.short_window",
    N_(
        "window %(window)s is %(minutes)d min but the target takes %(need)d min to serve; "
        "widen the window or shorten the dwell"
    ),
)
_E_FEATURE = define("targets.feature", N_("%(file)s, feature %(n)d (%(name)s): %(problems)s"))
_E_NO_CRS = define(
    "targets.no_crs",
    N_("%(file)s has no coordinate reference system; save it with one (e.g. EPSG:4326)"),
)
_E_NONE_GOOD = define("targets.none_good", N_("%(file)s has no usable target: %(problems)s"))


def _hhmm(minutes: int) -> str:
    minutes %= DAY_MIN
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_windows(text: Any) -> tuple[tuple[tuple[str, int, int], ...], list[Message]]:
    """Parse window text into ``(day key, start, end)`` minutes, and the problems found.

    Windows are separated by ``;`` (or ``；``, ``,``); each is ``HH:MM-HH:MM`` with an
    optional day key before it. An end before the start runs past midnight (end + 1440).

    Examples
    --------
    >>> parse_windows("07:30-08:15; weekdays 16:30-17:30")
    ((('daily', 450, 495), ('weekdays', 990, 1050)), [])
    >>> parse_windows("7h30")[1]
    [Message('targets.window', {'value': '7h30'})]
    """
    raw = "" if text is None else str(text)
    items = [s.strip().lower() for s in re.split(r"[;；,，]", raw) if s.strip()]
    if not items:
        return (), [_E_NO_WINDOW()]
    out, problems = [], []
    for item in items:
        m = _WINDOW.match(item)
        if not m:
            problems.append(_E_WINDOW(value=item))
            continue
        day = m.group(1) or "daily"
        if day not in DAY_GROUPS:
            problems.append(_E_DAY(value=item, day=day))
            continue
        h1, m1, h2, m2 = (int(g) for g in m.groups()[1:])
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            problems.append(_E_WINDOW(value=item))
            continue
        start, end = h1 * 60 + m1, h2 * 60 + m2
        out.append((day, start, end if end > start else end + DAY_MIN))
    if not problems:
        problems += _overlaps(out)
    return tuple(out), problems


def _overlaps(windows: Sequence[tuple[str, int, int]]) -> list[Message]:
    for d in range(7):
        spans = sorted((a, b) for day, a, b in windows if d in DAY_GROUPS[day])
        for (a0, b0), (a1, b1) in itertools.pairwise(spans):
            if a1 < b0:
                a, b = f"{_hhmm(a0)}-{_hhmm(b0)}", f"{_hhmm(a1)}-{_hhmm(b1)}"
                return [_E_OVERLAP(a=a, b=b, day=DAYS[d])]
    return []


def format_windows(windows: Iterable[tuple[str, int, int]]) -> str:
    """Return windows as the text :func:`parse_windows` reads (``daily`` left out)."""
    parts = []
    for day, a, b in windows:
        text = f"{_hhmm(a)}-{_hhmm(b)}"
        parts.append(text if day == "daily" else f"{day} {text}")
    return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class Target:
    """A key road section (line) or a timed point target.

    Attributes
    ----------
    id
        Unique id within the station (letters, digits, ``-``, ``_``).
    name
        What the officer calls it (中山路, 一小校门).
    coords
        ``(lon, lat)`` vertices in EPSG:4326: one for a point, two or more for a line (walked
        from the first to the last).
    windows
        ``(day key, start minute, end minute)`` (see :func:`parse_windows`; text is read too).
    value
        Per cent of the slice's risk one served occurrence is worth (module docs).
    dwell_min
        Minutes present (for a line, after the walk); default 15 for a point, 0 for a line.
    modes
        Travel modes allowed to serve it (empty: all).

    Raises
    ------
    InputError
        Listing every problem (``exc.problems``): no name, bad windows, a value or dwell out
        of range, an unknown mode, a geometry that is neither a point nor a line.

    Examples
    --------
    >>> gate = Target("gate", "一小校门", ((122.68, 45.52),), "07:30-08:15;16:30-17:30")
    >>> gate.kind, gate.dwell_min, gate.windows_text
    ('point', 15, '07:30-08:15; 16:30-17:30')
    >>> Target.from_dict(gate.to_dict()) == gate
    True
    """

    id: str
    name: str
    coords: tuple[tuple[float, float], ...]
    windows: tuple[tuple[str, int, int], ...]
    value: float = DEFAULT_VALUE
    dwell_min: int | None = None
    modes: tuple[str, ...] = ()

    def __post_init__(self):
        values, problems = _normalise(self)
        if problems:
            raise TargetError(problems)
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @property
    def kind(self) -> str:
        """``point`` or ``line``."""
        return "point" if len(self.coords) == 1 else "line"

    @property
    def geometry(self) -> shapely.Point | shapely.LineString:
        """The target in EPSG:4326."""
        if self.kind == "point":
            return shapely.Point(self.coords[0])
        return shapely.LineString(self.coords)

    @property
    def length_m(self) -> float:
        """Length of a line target along the earth (0 for a point)."""
        return _length_m(self.coords)

    @property
    def walk_s(self) -> int:
        """Seconds to walk a line target at :data:`WALK_SPEED_KPH` (0 for a point)."""
        return _walk_s(self.length_m)

    @property
    def service_s(self) -> int:
        """Seconds one visit takes: the walk (a line) plus the dwell."""
        return self.walk_s + int(self.dwell_min) * 60

    @property
    def windows_text(self) -> str:
        """The windows as text (``07:30-08:15; weekdays 16:30-17:30``)."""
        return format_windows(self.windows)

    def mode_allows(self, mode: str) -> bool:
        """Whether a patroller of ``mode`` may serve the target."""
        return not self.modes or mode in self.modes

    def windows_on(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """``(start, end)`` minutes of the windows on a weekday (0 = Monday)."""
        return tuple((a, b) for day, a, b in self.windows if weekday in DAY_GROUPS[day])

    def occurrences(
        self, start_min: int, duration_min: int, date: dt.date
    ) -> list[tuple[int, int]]:
        """Windows inside a slice that starts ``start_min`` after midnight of ``date``.

        Returns ``(open, close)`` minutes after the slice start, clipped to the slice, in time
        order; windows of the day before and after count (a slice past midnight, a window
        past midnight). A window cut by the slice's start belongs to the slice before when
        its part there can take the visit (:func:`window_in_slice`), so it is served once.
        """
        s0, s1 = start_min, start_min + duration_min
        out = set()
        for offset in (-1, 0, 1):
            for a, b in self.windows_on((date.weekday() + offset) % 7):
                lo, hi = a + offset * DAY_MIN, b + offset * DAY_MIN
                part = window_in_slice(lo, hi, s0, s1, self.service_s / 60)
                if part is not None:
                    out.add((part[0] - s0, part[1] - s0))
        return sorted(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (what :meth:`from_dict` reads)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "coords": [list(c) for c in self.coords],
            "windows": self.windows_text,
            "value": self.value,
            "dwell_min": self.dwell_min,
            "modes": list(self.modes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """Read :meth:`to_dict`'s values (``kind`` is implied by the coordinates)."""
        return cls(
            id=data.get("id"),
            name=data.get("name"),
            coords=data.get("coords"),
            windows=data.get("windows"),
            value=data.get("value", DEFAULT_VALUE),
            dwell_min=data.get("dwell_min"),
            modes=data.get("modes") or (),
        )


class TargetError(InputError):
    """One or more problems of a target; ``problems`` lists them as messages."""

    def __init__(self, problems: Sequence[Message | str]):
        self.problems = list(problems)
        text = listing(self.problems, semicolons=True) if self.problems else ""
        super().__init__(text)


def _normalise(t: Target) -> tuple[dict[str, Any], list[Message]]:
    problems: list[Message] = []
    out: dict[str, Any] = {}
    out["name"] = str(t.name or "").strip()
    if not out["name"]:
        problems.append(_E_NAME())
    # ids are letters, digits, - and _ (they go into URLs and place ids); else from the name
    out["id"] = _slug(str(t.id or "")) or _slug(out["name"]) or "target"
    out["coords"] = _coords(t.coords, problems)
    windows = t.windows
    if isinstance(windows, str) or windows is None:
        windows, found = parse_windows(windows)
        problems += found
    else:
        windows = tuple((str(d), int(a), int(b)) for d, a, b in windows)
        problems += [] if windows else [_E_NO_WINDOW()]
    out["windows"] = windows
    out["value"] = _number(t.value, 0, 100, problems, _E_VALUE, whole=False)
    line = out["coords"] is not None and len(out["coords"]) > 1
    dwell = t.dwell_min
    if dwell is None or (isinstance(dwell, str) and not dwell.strip()):
        dwell = 0 if line else DEFAULT_POINT_DWELL_MIN
    out["dwell_min"] = _number(dwell, 0, 240, problems, _E_DWELL, whole=True)
    modes = t.modes
    modes = [m.strip() for m in re.split(r"[;,\s]+", modes)] if isinstance(modes, str) else modes
    modes = tuple(dict.fromkeys(str(m).lower() for m in (modes or ()) if str(m).strip()))
    if any(m not in MODES for m in modes):
        problems.append(_E_MODES(value=", ".join(modes), modes=", ".join(MODES)))
    out["modes"] = modes
    if not problems:
        problems += _fits(out["coords"], out["windows"], out["dwell_min"])
    return out, problems


def _slug(text: str) -> str:
    return re.sub(r"[^\w-]+", "-", text.strip()).strip("-")[:64]


def _coords(value: Any, problems: list[Message]) -> tuple[tuple[float, float], ...] | None:
    if isinstance(value, str):  # the geometry type a layer's feature has instead
        problems.append(_E_GEOMETRY(kind=value))
        return None
    try:
        coords = tuple((float(x), float(y)) for x, y, *_ in value)
    except (TypeError, ValueError):
        problems.append(_E_GEOMETRY(kind=type(value).__name__))
        return None
    ok = coords and all(math.isfinite(v) for c in coords for v in c)
    ok = ok and all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in coords)
    if not ok:
        problems.append(_E_GEOMETRY(kind=repr(value)[:60]))
        return None
    return coords


def _number(value, lo, hi, problems, error, *, whole: bool):
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        problems.append(error(value=value))
        return value
    if not math.isfinite(number) or not lo <= number <= hi or (whole and number % 1):
        problems.append(error(value=value))
        return value
    return int(number) if whole else number


def window_in_slice(a: float, b: float, s0: float, s1: float, need: float):
    """Return the part of window ``a``-``b`` a slice ``s0``-``s1`` serves, or ``None``.

    All in one unit (minutes, seconds). The part must take ``need`` (the visit); a window
    that began before the slice is left to the slice before unless the part before ``s0`` is
    too short for the visit (slices follow each other, so each window is served in one slice).
    """
    lo, hi = max(a, s0), min(b, s1)
    if hi <= lo or hi - lo < need:  # none of it in the slice, or too little
        return None
    if a < s0 and s0 - a >= need:
        return None
    return lo, hi


def _length_m(coords: Sequence[tuple[float, float]]) -> float:
    if len(coords) < 2:
        return 0.0
    lon, lat = np.array(coords, dtype=float).T
    return float(_GEOD.line_length(lon, lat))


def _walk_s(metres: float) -> int:
    return math.ceil(metres / (WALK_SPEED_KPH / 3.6))


def _fits(coords, windows, dwell_min: int) -> list[Message]:
    """Return what needs the whole target: the line's length, windows long enough."""
    problems = []
    metres = _length_m(coords)
    if len(coords) > 1:
        if metres > MAX_LINE_M:
            problems.append(_E_LINE_LONG(metres=metres, limit=MAX_LINE_M))
        elif metres < 10:
            problems.append(_E_LINE_SHORT(metres=metres))
    need = math.ceil((_walk_s(metres) + dwell_min * 60) / 60)
    for _, a, b in windows:
        if b - a < need:
            text = f"{_hhmm(a)}-{_hhmm(b)}"
            problems.append(_E_SHORT_WINDOW(window=text, minutes=b - a, need=need))
    return problems


# --------------------------------------------------------------------------------------------
# Reading a layer


def targets_from_frame(gdf, *, source: str) -> tuple[tuple[Target, ...], list[Message]]:
    """Read targets from a GeoDataFrame's rows; return the good ones and each bad one's problem.

    Parameters
    ----------
    gdf
        Points and lines with columns ``name``, ``windows`` and optional ``id``, ``value``,
        ``dwell_min``, ``modes``; any CRS (it must be set).
    source
        The file name, for messages.
    """
    if gdf.crs is None:
        return (), [_E_NO_CRS(file=source)]
    gdf = gdf.to_crs(4326)
    good: list[Target] = []
    bad: list[Message] = []
    seen: set[str] = set()
    for n, (_, row) in enumerate(gdf.iterrows(), start=1):
        name = _cell(row, "name")
        try:
            target = Target(
                id=_cell(row, "id") or f"T{n}",
                name=name,
                coords=_feature_coords(row.geometry),
                windows=_cell(row, "windows"),
                value=_cell(row, "value", DEFAULT_VALUE),
                dwell_min=_cell(row, "dwell_min"),
                modes=_cell(row, "modes") or (),
            )
        except TargetError as exc:
            problems = listing(exc.problems, semicolons=True)
            bad.append(_E_FEATURE(file=source, n=n, name=name or "-", problems=problems))
            continue
        if target.id in seen:
            target = dataclasses.replace(target, id=f"{target.id}-{n}")
        seen.add(target.id)
        good.append(target)
    return tuple(good), bad


def _cell(row, key: str, default: Any = None) -> Any:
    value = row.get(key, default)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return str(value).strip() if key in ("id", "name", "windows", "modes") else value


def _feature_coords(geom) -> Any:
    if geom is None or geom.is_empty:
        return "empty"
    if geom.geom_type == "MultiLineString" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type not in ("Point", "LineString"):
        return geom.geom_type
    return shapely.get_coordinates(geom).tolist()


def read_targets(
    path: str | Path,
    *,
    layer: str | None = None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> tuple[tuple[Target, ...], list[Message]]:
    """Read targets from a vector layer: the good features, and a message per bad one.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage or any format :func:`~gridplan.io.vector.read_vector` reads.
    layer
        Layer of a multi-layer file.
    limits
        What the file may take (:class:`~gridplan.io.limits.ReadLimits`).

    Returns
    -------
    targets, rejected
        The targets; one message per rejected feature naming it (number and name).

    Raises
    ------
    InputError
        The file cannot be read, or none of its features is a usable target.

    Examples
    --------
    >>> targets, rejected = read_targets("targets.geojson")  # doctest: +SKIP
    """
    from gridplan.io.vector import read_vector

    gdf = read_vector(path, layer=layer, limits=limits)
    targets, bad = targets_from_frame(gdf, source=Path(path).name)
    if not targets:
        raise InputError(_E_NONE_GOOD(file=Path(path).name, problems=listing(bad) or "-"))
    return targets, bad


# --------------------------------------------------------------------------------------------
# Targets in a slice's problem


@dataclasses.dataclass(frozen=True)
class TargetNode:
    """One occurrence of a target's window in a slice: a node of the slice's PrizeVRP.

    Attributes
    ----------
    target
        The :class:`Target`.
    occurrence
        0-based number of the window occurrence in the slice.
    open_s, close_s
        The window, seconds after the slice start: the visit (walk and dwell) lies inside.
    prize
        Prize units of serving it (its value's share of the slice's prize total).
    micro_id, base_id
        The micro-grid and base grid the target starts in (``""`` outside the grid).
    """

    target: Target
    occurrence: int
    open_s: int
    close_s: int
    prize: int
    micro_id: str = ""
    base_id: str = ""

    @property
    def in_place(self) -> str:
        """Place id where the visit starts (a line target's first vertex)."""
        return in_place(self.target)

    @property
    def out_place(self) -> str:
        """Place id where the visit ends (a line target's last vertex)."""
        return out_place(self.target)

    @property
    def latest_start_s(self) -> int:
        """Latest service start that still ends inside the window."""
        return self.close_s - self.target.service_s


def in_place(target: Target) -> str:
    """Travel-matrix place id where a visit of ``target`` starts."""
    return f"target:{target.id}" + ("@start" if target.kind == "line" else "")


def out_place(target: Target) -> str:
    """Travel-matrix place id where a visit of ``target`` ends (= the start for a point)."""
    return f"target:{target.id}@end" if target.kind == "line" else in_place(target)


def target_places(targets: Sequence[Target]) -> tuple[str, ...]:
    """Place ids of the targets, each once: a point's one place, a line's start and end."""
    out: list[str] = []
    for t in targets:
        out += [in_place(t)] if t.kind == "point" else [in_place(t), out_place(t)]
    return tuple(dict.fromkeys(out))


def target_nodes(
    targets: Sequence[Target],
    *,
    start: dt.datetime,
    start_min: int,
    duration_min: int,
    micro,
    prize_total: int,
) -> tuple[TargetNode, ...]:
    """Return the occurrences of the targets' windows in a slice, as problem nodes.

    Parameters
    ----------
    targets
        The targets of the request.
    start
        The slice start (tz-aware; second 0 of the model).
    start_min, duration_min
        The slice on the wall clock: minutes after midnight of ``start``'s date, and length.
    micro
        The micro-grids (``id``, ``parent_id``, geometry), to say where each target lies.
    prize_total
        Prize units of the slice's whole risk (a value of 100 is worth this much).
    """
    if not targets:
        return ()
    where = _where(targets, micro)
    out = []
    for t in targets:
        for k, (lo, hi) in enumerate(t.occurrences(start_min, duration_min, start.date())):
            open_s, close_s = real_seconds(start, lo), real_seconds(start, hi)
            if close_s - open_s < t.service_s:
                continue  # a DST change ate the window
            prize = round(t.value / 100 * prize_total)
            out.append(TargetNode(t, k, open_s, close_s, prize, *where[t.id]))
    return tuple(out)


def _where(targets: Sequence[Target], micro) -> dict[str, tuple[str, str]]:
    """Target id -> (micro-grid id, base grid id) of the cell its first vertex lies in."""
    import geopandas as gpd

    pts = gpd.GeoDataFrame(
        {"tid": [t.id for t in targets]},
        geometry=[shapely.Point(t.coords[0]) for t in targets],
        crs=4326,
    ).to_crs(micro.crs)
    cells = micro[["id", "parent_id", "geometry"]]
    hit = gpd.sjoin(pts, cells, how="left", predicate="within")
    out = {}
    for tid, mid, pid in zip(hit["tid"], hit["id"], hit["parent_id"], strict=True):
        if tid not in out:
            out[tid] = (
                "" if mid is None or mid != mid else str(mid),
                "" if pid != pid else str(pid or ""),
            )
    return out


def target_place_frame(targets: Sequence[Target], network, profile: str, crs):
    """Return the targets' places (:func:`target_places`) as points for a travel matrix.

    On a network each place stands at its nearest street node of ``profile`` (column
    ``node``; the geometry is the node's); without one at the vertex itself. ``crs`` is the
    CRS of the frame the places join.
    """
    import geopandas as gpd

    from gridplan.network.stops import snap_points

    ids, pts = [], []
    for t in targets:
        ends = [t.coords[0]] if t.kind == "point" else [t.coords[0], t.coords[-1]]
        for place, xy in zip(dict.fromkeys([in_place(t), out_place(t)]), ends, strict=True):
            if place not in ids:
                ids.append(place)
                pts.append(shapely.Point(xy))
    frame = gpd.GeoDataFrame({"id": ids}, geometry=pts, crs=4326)
    if network is None:
        return frame.to_crs(crs)
    snapped = snap_points(frame, network, profile=profile)
    nodes = network.node_frame(profile).loc[snapped["node"].to_numpy(np.int64)]
    geometry = gpd.GeoSeries(nodes.geometry.to_numpy(), crs=network.crs).to_crs(crs).values
    return gpd.GeoDataFrame(
        {"id": ids, "node": snapped["node"].to_numpy(np.int64)}, geometry=geometry, crs=crs
    )


def add_target_nodes(vrp, problem, *, no_path_s: int, unreachable: int):
    """Return ``vrp`` (the slice's model over its micro-grid nodes) with the target nodes.

    The target nodes are appended after the model's nodes, in :attr:`problem.targets` order.
    Travel *into* a target is to its in-place (a line's first vertex) and travel *out of* it
    from its out-place (a line's last vertex): the rows of a target node are its out-place's
    and its columns its in-place's, so a line target's matrix is not symmetric. Every node
    gets a time window (the slice for the others, the target's window less its service for a
    target); vehicles whose mode the target does not allow, or who cannot reach it and get
    back, may not serve it.
    """
    nodes = problem.targets
    if not nodes:
        return vrp
    n0, m = vrp.num_nodes, len(nodes)
    refs = problem.nodes
    index = {p: i for i, p in enumerate(problem.places)}
    rows = np.array([index[r.place] for r in refs[:n0]] + [index[t.out_place] for t in nodes])
    cols = np.array([index[r.place] for r in refs[:n0]] + [index[t.in_place] for t in nodes])
    travel = []
    for p, old in enumerate(vrp.travel):
        mat = problem.matrices[p].seconds if problem.matrices else np.zeros((len(index),) * 2)
        sec = np.asarray(mat, dtype=np.int64)[np.ix_(rows, cols)]
        sec[sec == unreachable] = no_path_s
        sec[:n0, :n0] = old
        sec[np.arange(n0, n0 + m), np.arange(n0, n0 + m)] = 0
        travel.append(sec)
    horizon = max(vrp.horizon, problem.horizon_s)
    windows = np.zeros((n0 + m, 2), dtype=np.int64)
    windows[:, 1] = horizon
    last = problem.horizon_s - 1  # a visit starts inside the slice (plan check: window)
    if vrp.time_windows is not None:  # the model's own (carried revisit gaps, outings)
        windows[:n0] = vrp.time_windows
    else:
        windows[[u for u in range(n0) if u not in vrp.depots], 1] = last
    for i, t in enumerate(nodes):
        windows[n0 + i] = (t.open_s, min(t.latest_start_s, last))
    service = np.concatenate([vrp.service, [t.target.service_s for t in nodes]])
    prize = np.concatenate([vrp.prize, [t.prize for t in nodes]])
    vehicles = tuple(
        _with_targets(vrp, v, od, travel[v.profile], nodes, n0, no_path_s)
        for v, od in zip(vrp.vehicles, problem.on_duty, strict=False)
    ) + tuple(vrp.vehicles[len(problem.on_duty) :])
    return dataclasses.replace(
        vrp,
        travel=tuple(travel),
        service=service,
        prize=prize,
        time_windows=windows,
        vehicles=vehicles,
    )


def _with_targets(vrp, v, od, t, nodes, n0: int, no_path_s: int):
    """Vehicle ``v`` with the target nodes it may serve added to its allowed nodes."""
    ok = []
    for i, node in enumerate(nodes):
        k = n0 + i
        mode_ok = not node.target.modes or od.patroller.mode in node.target.modes
        base_ok = od.allowed is None or node.micro_id in od.allowed
        reach = t[v.start, k] < no_path_s and t[k, v.end] < no_path_s
        if mode_ok and base_ok and reach:
            ok.append(k)
    if v.allowed_nodes is None and len(ok) == len(nodes):
        return v
    allowed = set(range(n0)) - vrp.depots if v.allowed_nodes is None else set(v.allowed_nodes)
    return dataclasses.replace(v, allowed_nodes=frozenset(allowed | set(ok)))


__all__ = [
    "DEFAULT_VALUE",
    "WALK_SPEED_KPH",
    "Target",
    "TargetError",
    "TargetNode",
    "add_target_nodes",
    "format_windows",
    "in_place",
    "out_place",
    "parse_windows",
    "read_targets",
    "target_nodes",
    "target_place_frame",
    "target_places",
    "targets_from_frame",
    "window_in_slice",
]
