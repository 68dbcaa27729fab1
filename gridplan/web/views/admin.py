"""Users of the station and its audit log (admins only)."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import abort
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
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@requires("users")
def users():
    """The station's users and the form to add one."""
    rows = (
        get_db()
        .execute(
            "SELECT id, username, display_name, role, team_id, active, created_at FROM users "
            "WHERE station_id=? ORDER BY username",
            (current_user.station_id,),
        )
        .fetchall()
    )
    cfg = data.config(current_user.station_id)
    teams = [p for p in cfg.roster if p.role == "volunteer_team"] or list(cfg.roster)
    return render_template("users.html", users=rows, teams=teams, roles=store.ROLES)


@bp.post("/users")
@requires("users")
def add_user():
    """Add a user to the admin's own station."""
    form = request.form
    role = form.get("role", "")
    try:
        store.add_user(
            get_db(),
            form.get("username", ""),
            form.get("password", ""),
            station_id=current_user.station_id,
            role=role,
            team_id=(form.get("team_id") or None) if role == "volunteer_lead" else None,
            display_name=form.get("display_name", "").strip(),
        )
    except InputError as exc:
        from gridplan.web.security import error_response

        return error_response(422, str(exc))
    audit("add_user", form.get("username", ""), role=role)
    flash(_("User %(name)s added.", name=form.get("username", "")), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@requires("users")
def set_active(user_id: int):
    """Enable or disable a login of the station (not one's own)."""
    row = store.get_user(get_db(), user_id)
    if row is None or row["station_id"] != current_user.station_id:
        abort(404)
    if user_id == current_user.id:
        from gridplan.web.security import error_response

        return error_response(409, _("You cannot disable your own login."))
    active = request.form.get("active") == "1"
    store.set_user_active(get_db(), user_id, active)
    audit("enable_user" if active else "disable_user", row["username"])
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@requires("audit")
def audit_log():
    """The station's audit log, newest first (200 per page)."""
    page = max(int(request.args.get("page", "1") or 1), 1)
    rows = (
        get_db()
        .execute(
            "SELECT at, username, action, target, detail_json, ip FROM audit WHERE station_id=? "
            "ORDER BY id DESC LIMIT 200 OFFSET ?",
            (current_user.station_id, (page - 1) * 200),
        )
        .fetchall()
    )
    entries = [{**dict(r), "detail": json.loads(r["detail_json"])} for r in rows]
    return render_template("audit.html", entries=entries, page=page)
