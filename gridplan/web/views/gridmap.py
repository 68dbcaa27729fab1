"""The grid map: station, base and micro-grid layers, hot spots per slice, incidents."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang
from gridplan.web.security import add_nonce
from gridplan.web.security import error_response
from gridplan.web.security import script_parts

bp = Blueprint("gridmap", __name__, url_prefix="/map")


@bp.get("/")
@requires("read")
def page():
    """The map page: the map frame fills the window below the header."""
    grid_row = store.latest_grid(get_db(), current_user.station_id)
    return render_template("gridmap.html", grid_row=grid_row)


@bp.get("/frame")
@requires("read")
def frame():
    """The folium map itself (shown in the page's frame; also fine to open on its own)."""
    from gridplan.maps.webmaps import grid_map

    con = get_db()
    sid = current_user.station_id
    grid_row = store.latest_grid(con, sid)
    if grid_row is None:
        return error_response(404, _("No grid yet."))
    run = store.latest_hotspot_run(con, sid)
    run_id = run["id"] if run is not None and run["grid_id"] == grid_row["id"] else None
    last_batch = con.execute(
        "SELECT COALESCE(MAX(id), 0) FROM incident_batches WHERE station_id=?", (sid,)
    ).fetchone()[0]
    lang = current_lang()
    alerts = store.list_alerts(con, sid, start=dt.datetime.now(dt.UTC))
    tiles = current_app.config["TILES"]
    static = url_for("static", filename="")

    def render() -> list[str]:
        cfg = data.config(sid)
        m = grid_map(
            data.grid(grid_row["id"]),
            data.hotspots(run_id) if run_id else None,
            data.incidents(sid, cfg.timezone) if last_batch else None,
            slice_labels=data.slice_labels(cfg, lang),
            lang=lang,
            tiles=tiles,
            attribution=current_app.config["TILES_ATTRIBUTION"] or None,
            static_url=static,
            alerts=alerts,
        )
        return script_parts(m.get_root().render())

    shown = tuple((a.id, a.until) for a in alerts)  # an alert added, ended or expired: anew
    html = data.cached(
        ("grid_map", grid_row["id"], run_id, last_batch, lang, tiles, shown), render, size=16
    )
    return add_nonce(html)
