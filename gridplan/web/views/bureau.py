"""The bureau page: a branch bureau's (分局) stations at once, and the way into each.

A ``bureau`` user (:mod:`gridplan.web.auth`) reads a set of stations and nothing else. This
page shows them on one city map (boundaries, current hot spots, active alerts; offline assets
and the server's tile setting as every map) and in one table of figures per station
(:mod:`gridplan.web.bureau`), sortable by any column and downloadable as CSV. From a row or a
map marker the commander opens a station read-only: its pages then work as for an analyst,
under a banner naming the station, until they come back here. A station outside the set is a
plain 404, whatever the URL; every read of a station's data is in that station's audit log.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from gridplan.web import bureau
from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import BUREAU_STATION
from gridplan.web.auth import client_ip
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang
from gridplan.web.security import add_nonce
from gridplan.web.security import error_response
from gridplan.web.security import script_parts

bp = Blueprint("bureau", __name__, url_prefix="/bureau")


def _audit_each(action: str, target: str, stations) -> None:
    """One audit entry per station read: each station's log shows the bureau's reads."""
    con = get_db()
    for sid in stations:
        store.audit(con, current_user.username, sid, action, target, ip=client_ip())


def _figures() -> list[bureau.StationFigures]:
    con = get_db()
    now = dt.datetime.now(dt.UTC)
    return [bureau.station_figures(con, sid, now=now) for sid in current_user.stations]


@bp.get("/")
@requires("bureau")
def index():
    """The city map and the table of the bureau's stations (leaving any station viewed)."""
    session.pop(BUREAU_STATION, None)
    column = request.args.get("sort", "station")
    if column not in bureau.SORT_KEYS:
        column = "station"
    descending = request.args.get("desc") == "1"
    figures = bureau.sort_figures(_figures(), column, descending=descending)
    _audit_each("bureau_overview", "/bureau/", current_user.stations)
    return render_template(
        "bureau.html",
        figures=figures,
        sort=column,
        desc=descending,
        days=bureau.DAYS,
    )


def _lines(f: bureau.StationFigures) -> tuple[str, ...]:
    """A station marker's popup lines, in the page's language."""
    plan = (
        _("Newest plan %(date)s v%(version)s", date=f.plan_date, version=f.plan_version)
        if f.plan_date
        else _("No plan yet.")
    )
    risk = (
        _("Risk covered %(pct)s", pct="%.0f%%" % (100 * f.risk_covered))
        if f.risk_covered is not None
        else ""
    )
    hot = (
        _("Hot spots: %(n)s", n=f.hot_spots) if f.hot_spots is not None else _("No hot spots yet.")
    )
    alerts = _("Active alerts: %(n)d", n=f.open_alerts)
    return tuple(x for x in (plan, risk, hot, alerts) if x)


@bp.get("/map")
@requires("bureau")
def city_map():
    """The city map itself (shown in the page's frame)."""
    from gridplan.maps.webmaps import CityStation
    from gridplan.maps.webmaps import city_map as make_map

    con = get_db()
    now = dt.datetime.now(dt.UTC)
    lang = current_lang()
    tiles = current_app.config["TILES"]
    parts, key = [], []
    for sid in current_user.stations:
        grid_row = store.latest_grid(con, sid)
        if grid_row is None:
            continue
        run = store.latest_hotspot_run(con, sid)
        run_id = run["id"] if run is not None and run["grid_id"] == grid_row["id"] else None
        alerts = store.list_alerts(con, sid, start=now)
        f = bureau.station_figures(con, sid, now=now)
        lines = _lines(f)
        parts.append((sid, f.name, grid_row["id"], run_id, alerts, lines))
        key.append((sid, grid_row["id"], run_id, tuple((a.id, a.until) for a in alerts), lines))
    if not parts:
        return error_response(404, _("None of the bureau's stations has a grid yet."))

    def render() -> list[str]:
        stations = [
            CityStation(
                sid,
                name,
                data.grid(grid_id),
                data.hotspots(run_id) if run_id else None,
                alerts,
                url=url_for("bureau.open_station", station_id=sid),
                lines=lines,
            )
            for sid, name, grid_id, run_id, alerts, lines in parts
        ]
        m = make_map(
            stations,
            lang=lang,
            tiles=tiles,
            attribution=current_app.config["TILES_ATTRIBUTION"] or None,
            static_url=url_for("static", filename=""),
        )
        return script_parts(m.get_root().render())

    html = data.cached(("city_map", lang, tiles, tuple(key)), render, size=8)
    _audit_each("bureau_map", "/bureau/map", [p[0] for p in parts])
    return add_nonce(html)


@bp.get("/figures.csv")
@requires("bureau")
def figures_csv():
    """The table as spreadsheet-safe CSV (one row per station)."""
    from gridplan.io.csvsafe import frame_csv_text
    from gridplan.web.views.downloads import attachment

    figures = _figures()
    name = f"bureau-{dt.datetime.now(dt.UTC):%Y%m%d}.csv"
    _audit_each("export", name, current_user.stations)
    return Response(
        frame_csv_text(bureau.figures_frame(figures)),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(name)},
    )


@bp.get("/stations/<station_id>")
@requires("bureau")
def open_station(station_id: str):
    """View one of the bureau's stations read-only (another station: 404)."""
    if station_id not in current_user.stations:
        abort(404)
    session[BUREAU_STATION] = station_id
    store.audit(
        get_db(), current_user.username, station_id, "bureau_open", station_id, ip=client_ip()
    )
    return redirect(url_for("overview.index"))
