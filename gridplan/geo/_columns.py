"""Finding the columns of an incident table by their English or Chinese header names.

Police exports name the same field many ways (``经度``, ``lng``, ``OpenDataLon``, ...). Headers
are compared after :func:`normalise`, which ignores case, spaces, ``_``/``-``/``.`` and a
bracketed unit suffix such as ``经度(WGS84)``. Each role lists its names in order of preference;
the first name present wins, and a column serves at most one role.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from collections.abc import Sequence

from gridplan._errors import ColumnError
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan._messages import listing

#: Roles a user may name explicitly with ``columns={role: header}`` (``--column role=header``).
ROLES = ("lon", "lat", "x", "y", "time", "date", "hour", "category", "id", "alert")

#: Header names looked for, per role, in order of preference (compared after normalise()).
NAMES: dict[str, tuple[str, ...]] = {
    "lon": (
        "经度",
        "lon",
        "lng",
        "long",
        "longitude",
        "opendatalon",
        "gpslng",
        "gpslon",
        "gps经度",
        "经度坐标",
        "wgs84经度",
        "lonwgs84",
    ),
    "lat": (
        "纬度",
        "lat",
        "latitude",
        "opendatalat",
        "gpslat",
        "gps纬度",
        "纬度坐标",
        "wgs84纬度",
        "latwgs84",
    ),
    "x": ("x坐标", "x", "xcoord", "xcoordinate", "pointx", "横坐标", "easting", "坐标x"),
    "y": ("y坐标", "y", "ycoord", "ycoordinate", "pointy", "纵坐标", "northing", "坐标y"),
    # a full date and time in one column
    "time": (
        "发生时间",
        "案发时间",
        "发案时间",
        "报警时间",
        "接警时间",
        "受理时间",
        "时间",
        "发生日期时间",
        "occurdatetime",
        "datetime",
        "occurredat",
        "incidenttime",
        "time",
        "timestamp",
    ),
    "date": (
        "发生日期",
        "案发日期",
        "发案日期",
        "报警日期",
        "接警日期",
        "日期",
        "occurdate",
        "date",
        "incidentdate",
    ),
    # time of day beside a date column: HHMM integers or HH:MM
    "tod": (
        "发生时刻",
        "案发时刻",
        "报警时刻",
        "接警时刻",
        "时刻",
        "occurtime",
        "timeofday",
    ),
    "hour": ("发生小时", "小时", "occurhour", "hour"),
    "category": (
        "案件类别",
        "警情类别",
        "案件类型",
        "警情类型",
        "案由",
        "类别",
        "类型",
        "案件性质",
        "警情性质",
        "offensecategory",
        "category",
        "crimetype",
        "type",
        "offensetype",
    ),
    "id": (
        "编号",
        "案件编号",
        "警情编号",
        "接警编号",
        "案件号",
        "序号",
        "id",
        "casenumber",
        "caseid",
        "incidentid",
        "fid",
    ),
    "alert": (
        "预警等级",
        "警情等级",
        "警情级别",
        "预警级别",
        "告警等级",
        "告警级别",
        "警情级",
        "警级",
        "紧急程度",
        "紧急等级",
        "紧急级别",
        "预警颜色",
        "警情颜色",
        "颜色",
        "alert",
        "alertlevel",
        "alertcolour",
        "alertcolor",
        "warninglevel",
        "colour",
        "color",
        # generic names last: used only when unambiguous (see _GENERIC)
        "等级",
        "级别",
        "level",
    ),
}

#: Names too general to trust on their own: a role takes such a column only when no other
#: header of the table contains one of the words (``级别`` beside ``网格级别`` is ambiguous).
_GENERIC: dict[str, tuple[str, ...]] = {"alert": ("等级", "级别", "level")}

#: Order in which roles claim columns (a column serves one role only).
_CLAIM_ORDER = ("lon", "lat", "x", "y", "id", "category", "alert", "time", "date", "tod", "hour")

#: Columns gridplan itself writes (write_incidents); a table with all of them is our own export.
GRIDPLAN_COLUMNS = ("id", "time", "category", "alert", "weight", "in_station", "source_row")

_E_MISSING = define(
    "columns.missing",
    N_(
        "%(where)s: cannot find the %(kind)s column(s). Columns in the file: %(columns)s. "
        "Names looked for (ignoring case, spaces and '_') - %(looked)s. %(fix)s"
    ),
)
#: Advice to name the columns (on the command line or in Python).
ADVICE_COLUMNS = define(
    "advice.columns",
    N_(
        "Name the columns explicitly, e.g. %(example)s on the command line, or columns={...} "
        "in Python"
    ),
)
_E_UNKNOWN_ROLES = define(
    "columns.unknown_roles",
    N_(
        "%(where)s: unknown column role(s) %(roles)s in the column overrides; use %(known)s "
        "(for example --column lon=经度)"
    ),
)
_E_NOT_IN_TABLE = define(
    "columns.not_in_table",
    N_(
        "%(where)s: column %(header)r given for %(role)s is not in the table; its columns "
        "are: %(columns)s"
    ),
)
_NONE = define("columns.none", N_("(none)"))
_FOR_ROLES = define("columns.for_roles", N_("%(header)r for %(roles)s"))
_E_ONE_COLUMN_TWICE = define(
    "columns.one_column_for_several_roles",
    N_(
        "%(where)s: one column is named for several roles (%(clashes)s); give each role its "
        "own column"
    ),
)
#: What is missing, as the message names it.
KINDS = {
    "coordinate": define("columns.kind.coordinate", N_("coordinate (longitude/latitude or x/y)")),
    "time": define("columns.kind.time", N_("time")),
}

_BRACKETS = re.compile(r"[\(（\[【][^\)）\]】]*[\)）\]】]")
_SEPARATORS = re.compile(r"[\s_\-\.·:：/]+")


def normalise(name: object) -> str:
    """Fold a header for matching: case, spaces, separators and a bracketed unit are ignored."""
    text = str(name).replace("\ufeff", "").strip()
    text = _BRACKETS.sub("", text) or text
    return _SEPARATORS.sub("", text).casefold()


@dataclasses.dataclass(frozen=True)
class ColumnMap:
    """The header chosen for each role (None when absent); ``tod`` is a time-of-day column."""

    lon: str | None = None
    lat: str | None = None
    x: str | None = None
    y: str | None = None
    time: str | None = None
    date: str | None = None
    tod: str | None = None
    hour: str | None = None
    category: str | None = None
    id: str | None = None
    alert: str | None = None
    explicit: frozenset[str] = frozenset()

    def used(self) -> dict[str, str]:
        """Return ``{role: header}`` for the roles that found a column."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name != "explicit" and value is not None:
                out[field.name] = value
        return out


def _match(columns: Sequence[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    folded = normalise(wanted)
    for column in columns:
        if normalise(column) == folded:
            return column
    return None


def find_columns(
    columns: Sequence[str], overrides: Mapping[str, str] | None, *, where: str
) -> ColumnMap:
    """Assign headers to roles: explicit ``overrides`` first, then the known names.

    An override of ``""`` says the table has no column for that role: it stays empty and
    is not detected either (the web UI's column mapping sends every role it shows).

    Raises
    ------
    ColumnError
        If an override names a column the table does not have.
    InputError
        If an override names an unknown role, or one column for two roles.
    """
    columns = [str(c) for c in columns]
    chosen: dict[str, str] = {}
    overrides = dict(overrides or {})
    # an empty header says "the table has no column for this role": no detection either
    absent = {role for role, header in overrides.items() if header == ""}
    unknown = sorted(set(overrides) - set(ROLES))
    if unknown:
        msg = _E_UNKNOWN_ROLES(
            where=where, roles=", ".join(map(repr, unknown)), known=", ".join(ROLES)
        )
        raise InputError(msg)
    for role, header in overrides.items():
        if header is None or role in absent:
            continue
        found = _match(columns, str(header))
        if found is None:
            msg = _E_NOT_IN_TABLE(
                where=where, header=str(header), role=role, columns=", ".join(columns) or _NONE()
            )
            raise ColumnError(msg, columns=columns, roles=(role,))
        chosen[role] = found
    _check_distinct(chosen, where)
    taken = set(chosen.values())
    folded = {c: normalise(c) for c in columns}
    by_name: dict[str, list[str]] = {}
    for column in columns:
        by_name.setdefault(folded[column], []).append(column)
    for role in _CLAIM_ORDER:
        if role in chosen or role in absent:
            continue
        if role == "tod" and "time" in chosen and "date" in chosen:
            continue
        hit = _detect(role, columns, taken, folded, by_name)
        if hit is not None:
            chosen[role] = hit
            taken.add(hit)
    return ColumnMap(**chosen, explicit=frozenset(k for k, v in overrides.items() if v))


def _check_distinct(chosen: Mapping[str, str], where: str) -> None:
    """Raise :class:`InputError` if one column is named for two roles."""
    roles_of: dict[str, list[str]] = {}
    for role, header in chosen.items():
        roles_of.setdefault(header, []).append(role)
    clashes = [
        _FOR_ROLES(header=h, roles=" and ".join(r)) for h, r in roles_of.items() if len(r) > 1
    ]
    if clashes:
        msg = _E_ONE_COLUMN_TWICE(where=where, clashes=listing(clashes, semicolons=True))
        raise InputError(msg)


def _detect(
    role: str,
    columns: Sequence[str],
    taken: set[str],
    folded: Mapping[str, str],
    by_name: Mapping[str, list[str]],
) -> str | None:
    """Return the first free column with one of the role's names, or None.

    ``by_name`` lists the columns per folded name, so that a header of many thousand
    columns costs one pass, not one per name looked for.
    """
    generic = _GENERIC.get(role, ())
    for name in NAMES[role]:
        hit = next((c for c in by_name.get(name, ()) if c not in taken), None)
        if hit is None:
            continue
        if name in generic and any(
            c != hit and c not in taken and any(w in folded[c] for w in generic) for c in columns
        ):
            return None  # e.g. 级别 beside 案件级别: which one is meant is a guess
        return hit
    return None


def describe_missing(
    kind: str, roles: Sequence[str], columns: Sequence[str], *, where: str, example: str
) -> Message:
    """Build the message for a required column that could not be found (``kind`` of KINDS)."""
    looked = "; ".join(f"{role}: {', '.join(NAMES[role])}" for role in roles)
    return _E_MISSING(
        where=where,
        kind=KINDS[kind](),
        columns=", ".join(map(str, columns)) or _NONE(),
        looked=looked,
        fix=ADVICE_COLUMNS(example=example),
    )


def require_coordinates(cmap: ColumnMap, columns: Sequence[str], *, where: str) -> None:
    """Raise :class:`InputError` unless ``cmap`` has a lon/lat or an x/y column pair."""
    if (cmap.lon and cmap.lat) or (cmap.x and cmap.y):
        return
    msg = describe_missing(
        "coordinate",
        ["lon", "lat", "x", "y"],
        columns,
        where=where,
        example="--column lon=经度 --column lat=纬度",
    )
    raise ColumnError(msg, columns=columns, roles=("lon", "lat"))
