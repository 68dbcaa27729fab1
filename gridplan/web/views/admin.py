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

from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.params import page_arg
from gridplan.web.security import error_response

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@requires("users")
def users():
    """The station's users and the form to add one."""
    rows = (
        get_db()
        .execute(
            "SELECT id, username, display_name, role, team_id, active, created_at FROM users "
            "WHERE station_id=? AND role<>? ORDER BY username",
            (current_user.station_id, store.BUREAU),
        )
        .fetchall()
    )
    cfg = data.config(current_user.station_id)
    # a lead leads a volunteer team; a patroller may be any roster entry: teams first
    teams = sorted(cfg.roster, key=lambda p: p.role != "volunteer_team")
    return render_template(
        "users.html",
        users=rows,
        teams=teams,
        roles=STATION_ROLES,
        bureau_users=store.bureau_users_of(get_db(), current_user.station_id),
    )


#: the roles a station's admin gives; bureau users span stations, so only the command line
#: makes them (``gridplan users add --role bureau``): no admin grants a station not theirs
STATION_ROLES = tuple(r for r in store.ROLES if r != store.BUREAU)


def _user_error(exc: store.UserError) -> str:
    """What is wrong with the new user, in the page's language."""
    messages = {
        "name": _(
            "Use a user name of 1 to %(n)d characters without spaces.", n=store.MAX_USERNAME_LEN
        ),
        # one answer for a name taken here, elsewhere or reserved: no station's names leak
        "unavailable": _("This user name cannot be used; choose another."),
        "role": _("Choose one of the roles offered."),
        "password_short": _(
            "The password is too short: use at least %(n)d characters.", n=store.MIN_PASSWORD_LEN
        ),
        "password_long": _(
            "The password is too long: use at most %(n)d characters.", n=store.MAX_PASSWORD_LEN
        ),
        "team": _(
            "A volunteer team lead or a patroller needs a team of the roster; other roles have "
            "none."
        ),
    }
    return messages.get(exc.code, str(exc))


@bp.post("/users")
@requires("users")
def add_user():
    """Add a user to the admin's own station."""
    form = request.form
    role = form.get("role", "")
    if role == store.BUREAU:
        return error_response(
            403,
            _(
                "Bureau users read several stations; they are added on the server's command "
                "line (gridplan users add --role bureau --stations ...), not by a station."
            ),
        )
    try:
        user_id = store.add_user(
            get_db(),
            form.get("username", "")[:1000],
            form.get("password", ""),
            station_id=current_user.station_id,
            role=role,
            team_id=(form.get("team_id") or None) if role in store.TEAM_ROLES else None,
            display_name=form.get("display_name", "").strip(),
        )
    except store.UserError as exc:
        return error_response(422, _user_error(exc))
    name = store.get_user(get_db(), user_id)["username"]
    audit("add_user", name, role=role)
    flash(_("User %(name)s added.", name=name), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@requires("users")
def set_active(user_id: int):
    """Enable or disable a login of the station (not one's own); disabling ends its sessions."""
    row = store.get_user(get_db(), user_id)
    if row is None or row["station_id"] != current_user.station_id or row["role"] == store.BUREAU:
        abort(404)
    if user_id == current_user.id:
        return error_response(409, _("You cannot disable your own login."))
    flag = request.form.get("active")
    if flag not in ("0", "1"):
        abort(400, description=_("Say whether to enable (1) or disable (0) the login."))
    active = flag == "1"
    if active and row["login_key"] is None:
        return error_response(
            409,
            _(
                "This login was disabled when the store was upgraded: its user name is the same "
                "as an older user's when case and character width are ignored. Add the person "
                "again under another name."
            ),
        )
    store.set_user_active(get_db(), user_id, active)
    audit("enable_user" if active else "disable_user", row["username"])
    return redirect(url_for("admin.users"))


#: audit entries per page
AUDIT_PAGE = 200


@bp.get("/audit")
@requires("audit")
def audit_log():
    """The station's audit log, newest first (200 per page; pages past the end are empty)."""
    page = page_arg(request.args)
    rows = (
        get_db()
        .execute(
            "SELECT at, username, action, target, detail_json, ip FROM audit WHERE station_id=? "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (current_user.station_id, AUDIT_PAGE, (page - 1) * AUDIT_PAGE),
        )
        .fetchall()
    )
    entries = [{**dict(r), "detail": json.loads(r["detail_json"])} for r in rows]
    return render_template("audit.html", entries=entries, page=page)
