"""The login and logout pages.

The roles, the login every other page requires and the audit log are :mod:`gridplan.web.auth`.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import logout_user

from gridplan.web import store
from gridplan.web.auth import THROTTLES
from gridplan.web.auth import audit
from gridplan.web.auth import client_ip
from gridplan.web.auth import log_in
from gridplan.web.auth import parse_limit
from gridplan.web.db import get_db
from gridplan.web.security import safe_next

bp = Blueprint("auth", __name__)


def _throttled(username: str) -> str | None:
    """The setting whose limit a login attempt would break, or ``None``.

    Failed logins are counted in the audit log, so every server process and every restart
    sees the same counts: per user name and client address (``LOGIN_RATE_LIMIT``), per user
    name from any address (``LOGIN_RATE_LIMIT_PER_USER``, against guessing one password from
    many hosts) and per address for any user name (``LOGIN_RATE_LIMIT_PER_ADDRESS``, against
    one host trying many names).
    """
    from flask import current_app

    now = dt.datetime.now(dt.UTC)
    who = {"ip": client_ip(), "username": username}
    for key, fields in THROTTLES:
        attempts, window_s = parse_limit(current_app.config[key])
        since = (now - dt.timedelta(seconds=window_s)).isoformat(timespec="seconds")
        if store.failed_logins(get_db(), since=since, **{f: who[f] for f in fields}) >= attempts:
            return key
    return None


#: the longest user name a login form may send (longer ones are refused before any lookup)
MAX_LOGIN_NAME_CHARS = 256


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; log in on a right name and password."""
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")
        if len(username) > MAX_LOGIN_NAME_CHARS:
            abort(400, description=_("The user name is too long."))
        name = store.login_name(username)
        limit = _throttled(username)
        if limit is not None:
            store.audit(
                get_db(), name, None, "login_throttled", detail={"limit": limit}, ip=client_ip()
            )
            abort(429, description=limit)
        row = store.check_login(get_db(), username, request.form.get("password", ""))
        if row is None:
            store.audit(get_db(), name, None, "login_failed", ip=client_ip())
            error = _("Wrong user name or password.")
            status = 401
        else:
            log_in(row)
            audit("login")
            return redirect(safe_next(request.args.get("next"), url_for("overview.index")))
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so no other site can log a user out).

    The session ends in the store too: a copy of the cookie opens nothing afterwards.
    """
    if current_user.is_authenticated:
        audit("logout")
        store.end_session(get_db(), current_user.token)
    logout_user()
    session.pop("_fresh", None)
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))


def _password_problem(form) -> tuple[int, str] | None:
    """(status, message) of what is wrong with a password change form, else None."""
    new = form.get("new_password", "")
    if new != form.get("repeat_password", ""):
        return 422, _("The two new passwords differ; type the same new password twice.")
    if len(new) < store.MIN_PASSWORD_LEN:
        return 422, _(
            "The new password is too short: use at least %(n)d characters.",
            n=store.MIN_PASSWORD_LEN,
        )
    if len(new) > store.MAX_PASSWORD_LEN:
        return 422, _(
            "The new password is too long: use at most %(n)d characters.",
            n=store.MAX_PASSWORD_LEN,
        )
    return None


@bp.route("/account/password", methods=["GET", "POST"])
def password():
    """Change one's own password (the current one is asked for).

    A wrong current password counts as a failed login of the user (the login throttle holds
    it); a change ends every other session of the user and gives this one a new token.
    """
    if request.method == "GET":
        return render_template("password.html")
    name = store.login_name(current_user.username)
    limit = _throttled(current_user.username)
    if limit is not None:
        abort(429, description=limit)
    if not store.check_password_of(get_db(), current_user.id, request.form.get("password", "")):
        store.audit(get_db(), name, current_user.station_id, "login_failed", ip=client_ip())
        return render_template("password.html", error=_("The current password is wrong.")), 403
    problem = _password_problem(request.form)
    if problem is not None:
        return render_template("password.html", error=problem[1]), problem[0]
    store.set_password(get_db(), current_user.id, request.form["new_password"])
    audit("change_password")
    log_in(store.get_user(get_db(), current_user.id))
    flash(_("Your password is changed; your other sessions have ended."), "success")
    return redirect(url_for("overview.index"))
