"""Times in the UI: the station's local time, labelled with its zone; the store keeps UTC.

Every time a page shows goes through the ``localtime`` Jinja filter, which converts the
store's UTC timestamps to the timezone of the user's station (``[station] timezone``) and
labels them: ``2024-06-08 14:05 (北京时间)`` for the zones of China Standard Time, else the
IANA name, ``2024-06-08 14:05 (America/Los_Angeles)``. Tables show the label once, in the
column heading (``tz_label()``), and the bare time in the cells (``label=False``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from flask import Flask
from flask import g
from flask_babel import gettext as _
from flask_login import current_user

#: IANA zones that are China Standard Time (UTC+8 all year): labelled "Beijing time".
CHINA_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})


def zone_label(timezone: str) -> str:
    """Return how the UI names ``timezone``: "Beijing time" (北京时间) or its IANA name."""
    return _("Beijing time") if timezone in CHINA_ZONES else timezone


def format_local(
    value: str | dt.datetime | None, timezone: str, *, label: bool = True, seconds: bool = False
) -> str:
    """Return a stored UTC time (ISO text or datetime) as local time in ``timezone``.

    Naive values are taken as UTC, as the store writes them; an empty value gives ``""`` and
    text that is not ISO 8601 is returned as it is.

    Examples
    --------
    >>> format_local("2024-06-08T06:05:00+00:00", "America/Los_Angeles")
    '2024-06-07 23:05 (America/Los_Angeles)'
    """
    if value is None or value == "":
        return ""
    try:
        t = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    local = t.astimezone(zoneinfo.ZoneInfo(timezone))
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} ({zone_label(timezone)})" if label else text


def station_timezone() -> str:
    """The timezone of the signed-in user's station (UTC before sign-in)."""
    tz = g.get("_gp_timezone")
    if tz is None:
        tz = "UTC"
        # a bureau user outside a station has none: its pages give each station's zone
        if current_user and current_user.is_authenticated and current_user.station_id:
            from gridplan.web import data

            tz = data.config(current_user.station_id).timezone
        g._gp_timezone = tz
    return tz


def init_app(app: Flask) -> None:
    """Register the ``localtime`` filter and the ``tz_label()`` template global."""

    def localtime(value, label: bool = True, seconds: bool = False) -> str:
        return format_local(value, station_timezone(), label=label, seconds=seconds)

    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["tz_label"] = lambda: zone_label(station_timezone())
