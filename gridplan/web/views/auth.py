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
from flask_login import login_user
from flask_login import logout_user

from gridplan.web import store
from gridplan.web.auth import THROTTLES
from gridplan.web.auth import User
from gridplan.web.auth import audit
from gridplan.web.auth import client_ip
from gridplan.web.auth import parse_limit
from gridplan.web.db import get_db
from gridplan.web.i18n import safe_next

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


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; log in on a right name and password."""
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")
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
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session.permanent = True
            login_user(User(row))
            audit("login")
            return redirect(safe_next(request.args.get("next"), url_for("overview.index")))
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so no other site can log a user out)."""
    if current_user.is_authenticated:
        audit("logout")
    logout_user()
    session.pop("_fresh", None)
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))
