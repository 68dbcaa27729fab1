"""Red/yellow/blue alerts (三色预警): list, declare and end them; the map to pick micro-grids.

Officers and admins of a station declare and end its alerts; the other roles that read the
station see them. Nobody sees another station's alerts. Times in the form are the station's
local time; the store keeps UTC (:func:`gridplan.web.store.add_alert`).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from gridplan._errors import InputError
from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import client_ip
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang
from gridplan.web.i18n import translate
from gridplan.web.security import add_nonce
from gridplan.web.security import error_response
from gridplan.web.security import script_parts

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

_ID_LIST = re.compile(r"[\s,;，；]+")
#: the longest alert the form takes (a longer one is a standing order, not an alert)
MAX_HOURS = 24 * 90


def _state(alert, now: dt.datetime) -> str:
    if alert.ended_at is not None and alert.ended_at < alert.ends:
        return "ended"
    if alert.until <= now:
        return "expired"
    return "upcoming" if alert.starts > now else "active"


@bp.get("/")
@requires("read")
def index():
    """The station's alerts, active ones first, and (officers, admins) the form to add one."""
    con = get_db()
    sid = current_user.station_id
    now = dt.datetime.now(dt.UTC)
    items = [(a, _state(a, now)) for a in store.list_alerts(con, sid)]
    current = [x for x in items if x[1] in ("active", "upcoming")]
    past = [x for x in items if x[1] not in ("active", "upcoming")][:100]
    cfg = data.config(sid)
    grid_row = store.latest_grid(con, sid)
    return render_template(
        "alerts.html",
        current=current,
        past=past,
        can_edit=current_user.can("plan"),
        grid_row=grid_row,
        policy=cfg.patrol.alerts,
        default_until=(now.astimezone(cfg.tz) + dt.timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M"),
    )


def _form_window(form, tz) -> tuple[dt.datetime, dt.datetime]:
    """The window of the form: from now until ``until`` (station time), else for ``hours``.

    An end time, when given, wins over the duration (the form pre-fills 72 hours).

    Raises
    ------
    InputError
        With the problem in the page's language.
    """
    start = dt.datetime.now(tz).replace(second=0, microsecond=0)
    hours, until = form.get("hours", "").strip(), form.get("until", "").strip()
    if hours and not until:
        try:
            value = float(hours)
        except ValueError:
            value = math.nan
        if not 0 < value <= MAX_HOURS:
            msg = _(
                "Duration %(value)s is not a number of hours between 0 and %(max)d; write e.g. 72.",
                value=hours[:20],
                max=MAX_HOURS,
            )
            raise InputError(msg)
        return start, start + dt.timedelta(hours=value)
    if until:
        try:
            end = dt.datetime.fromisoformat(until[:20]).replace(tzinfo=tz)
        except ValueError:
            msg = _(
                "End %(value)s is not a date and time; write it as YYYY-MM-DD HH:MM.",
                value=until[:20],
            )
            raise InputError(msg) from None
        return start, end
    raise InputError(_("Give how long the alert lasts: hours, or an end time."))


@bp.post("/")
@requires("plan")
def add():
    """Declare an alert on the micro-grids of the form (checked; 422 with why when bad)."""
    form = request.form
    sid = current_user.station_id
    cfg = data.config(sid)
    try:
        starts, ends = _form_window(form, cfg.tz)
        alert = store.add_alert(
            get_db(),
            sid,
            level=form.get("level", "")[:20],
            micro_ids=[c for c in _ID_LIST.split(form.get("cells", "")[:20000]) if c],
            starts=starts,
            ends=ends,
            reason=form.get("reason", "")[:1000].strip(),
            created_by=current_user.username,
            ip=client_ip(),
        )
    except InputError as exc:
        return error_response(422, translate(exc.message or str(exc)))
    flash(_("Alert %(id)s declared.", id=alert.id), "success")
    return redirect(url_for("alerts.index"))


@bp.post("/<int:alert_id>/end")
@requires("plan")
def end(alert_id: int):
    """End an active alert of the station now (404 for another station's, 409 when over)."""
    con = get_db()
    sid = current_user.station_id
    try:
        store.get_alert(con, sid, str(alert_id))
    except InputError as exc:
        return error_response(404, translate(exc.message or str(exc)))
    try:
        store.end_alert(con, sid, str(alert_id), by=current_user.username, ip=client_ip())
    except InputError as exc:
        return error_response(409, translate(exc.message or str(exc)))
    flash(_("Alert %(id)s ended.", id=alert_id), "success")
    return redirect(url_for("alerts.index"))


@bp.get("/frame")
@requires("read")
def frame():
    """The grid map to pick micro-grids from, with the active alerts on it."""
    from gridplan.maps.webmaps import alert_pick_map

    con = get_db()
    sid = current_user.station_id
    grid_row = store.latest_grid(con, sid)
    if grid_row is None:
        return error_response(404, _("No grid yet."))
    active = store.list_alerts(con, sid, start=dt.datetime.now(dt.UTC))
    m = alert_pick_map(
        data.grid(grid_row["id"]),
        active,
        lang=current_lang(),
        tiles=current_app.config["TILES"],
        attribution=current_app.config["TILES_ATTRIBUTION"] or None,
        static_url=url_for("static", filename=""),
    )
    return add_nonce(script_parts(m.get_root().render()))
