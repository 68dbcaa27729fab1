"""Roles, the login requirement, the audit log and the station boundary.

Every page needs a login. A user belongs to one station and has one role:

- ``admin``: everything of the station, and its users;
- ``officer``: import, plan and export for the station;
- ``volunteer_lead``: the route sheets and the patrol phone page of their own team only;
- ``analyst``: read and export;
- ``patroller``: the patrol phone page and route sheets of the one roster entry they are
  (``team_id``), as a volunteer lead;
- ``bureau``: a branch bureau's commander, over a set of stations (``user_stations``), read
  only: the bureau page (:mod:`gridplan.web.views.bureau`) of all of them, and any one of them
  as an analyst sees it after picking it there (the *viewed* station, kept in the session and
  checked against the set on every request). Without a viewed station a bureau user has no
  station: station pages lead back to the bureau page. Each request into a station is in that
  station's audit log (``bureau_read``). Bureau users are made and changed on the command line
  only (``gridplan users add --role bureau --stations ...``, ``gridplan users stations``): a
  station's admin cannot grant another station.

Views get the station from the logged-in user, never from the URL, and look items up by id
*and* station, so another station's grid, plan or job is a plain 404 whatever the URL says.
The login and logout pages are :mod:`gridplan.web.views.auth`.

Each login is a row of the store's ``sessions`` table; the session cookie holds its token
(:meth:`User.get_id`), and every request looks it up, so logout, a password change and
disabling the user end a session on the server, whatever copy of the cookie is left.
"""

from __future__ import annotations

import functools
import re

from flask import Flask
from flask import abort
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user

from gridplan.web import store
from gridplan.web.db import get_db
from gridplan.web.db import scope_station
from gridplan.web.db import scope_stations

login_manager = LoginManager()

ROLE_NAMES = {
    "admin": _l("Administrator"),
    "officer": _l("Officer"),
    "volunteer_lead": _l("Volunteer team lead"),
    "analyst": _l("Analyst"),
    "patroller": _l("Patroller"),
    "bureau": _l("Bureau (read-only)"),
}

#: the session key of the station a bureau user is viewing
BUREAU_STATION = "bureau_station"
#: endpoints a bureau user reaches without viewing a station
_BUREAU_OWN = ("bureau.", "auth.", "i18n.")

#: endpoints open without a login
PUBLIC = {"auth.login", "static", "i18n.switch", "overview.favicon"}


class User(UserMixin):
    """The logged-in user (a row of the ``users`` table)."""

    def __init__(self, row, token: str):
        self.id = int(row["id"])
        self.token = token
        self.username = row["username"]
        self.station_id = row["station_id"]
        self.role = row["role"]
        self.team_id = row["team_id"]
        self.display_name = row["display_name"] or row["username"]
        self.home_station = row["station_id"]
        #: a bureau user's stations (empty for the other roles)
        self.stations: tuple[str, ...] = ()
        #: the name of the station a bureau user is viewing
        self.viewing_name = ""

    @property
    def viewing(self) -> bool:
        """Whether this is a bureau user looking into one of its stations."""
        return self.role == store.BUREAU and self.station_id is not None

    @property
    def team_only(self) -> bool:
        """Whether the user sees one roster entry's routes only (a volunteer lead, a patroller)."""
        return self.role in store.TEAM_ROLES

    def get_id(self) -> str:
        """Return what Flask-Login keeps in the session: the session's token, not the user id."""
        return self.token

    def can(self, action: str) -> bool:
        """Whether the role allows ``action`` (import, plan, export, read, sheets, users, patrol).

        ``patrol`` is the phone page's check-ins, for the roles tied to one team.
        """
        allowed = {
            "admin": {"import", "plan", "export", "read", "sheets", "users", "audit"},
            "officer": {"import", "plan", "export", "read", "sheets"},
            "analyst": {"export", "read", "sheets"},
            "volunteer_lead": {"sheets", "patrol"},
            "patroller": {"sheets", "patrol"},
            # read-only over its stations; a station's pages only while viewing one
            "bureau": {"bureau", "export", "read", "sheets"},
        }
        if self.role == store.BUREAU and action != "bureau" and self.station_id is None:
            return False
        return action in allowed[self.role]


def session_lifetime_s() -> float:
    """``PERMANENT_SESSION_LIFETIME`` in seconds: how long a login lasts at most."""
    from flask import current_app

    lifetime = current_app.permanent_session_lifetime
    return lifetime.total_seconds()


@login_manager.user_loader
def _load(token: str):
    row = store.session_user(get_db(), str(token), lifetime_s=session_lifetime_s())
    if row is None:
        return None
    user = User(row, str(token))
    if user.role == store.BUREAU:
        _bureau_scope(user)
    else:
        scope_station(row["station_id"])
    return user


def _bureau_scope(user: User) -> None:
    """Scope a bureau user's request: its viewed station, or on bureau pages all its stations.

    A viewed station that left the set (it was changed on the command line) is forgotten.
    """
    con = get_db()
    user.stations = store.user_stations(con, user.id)
    viewed = session.get(BUREAU_STATION)
    if viewed not in user.stations:
        session.pop(BUREAU_STATION, None)
        viewed = None
    if viewed is None or request.blueprint == "bureau":
        user.station_id = None
        if user.stations:
            scope_stations(user.stations)
        else:
            scope_station("")  # no station: every station's rows stay hidden
        return
    user.station_id = viewed
    station = store.get_station(con, viewed)
    user.viewing_name = station["name"] if station is not None else viewed
    scope_station(viewed)


def log_in(row) -> User:
    """Start a new session of user ``row`` in a fresh cookie; return the user.

    Nothing of the cookie from before the login is kept but the language, and the session's
    token is new, so a session planted before the login is worthless after it.
    """
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    user = User(row, store.start_session(get_db(), row["id"], lifetime_s=session_lifetime_s()))
    scope_station(row["station_id"])
    if user.role == store.BUREAU:
        user.station_id = None
    login_user(user)
    return user


def requires(action: str):
    """Decorate a view so that only roles allowed to ``action`` reach it (else 403)."""

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.can(action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return deco


def client_ip() -> str:
    """Return the client address for the audit log."""
    return request.remote_addr or ""


def audit(action: str, target: str = "", **detail) -> None:
    """Log ``action`` by the current user in the audit log.

    The entry is the station's the user is in; a bureau user's outside a station its home's.
    """
    station = None
    if current_user.is_authenticated:
        station = current_user.station_id or current_user.home_station
    store.audit(
        get_db(),
        current_user.username if current_user.is_authenticated else "-",
        station,
        action,
        target,
        detail,
        client_ip(),
    )


_PERIODS_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_limit(text: str) -> tuple[int, int]:
    """``"10 per minute"`` (or ``10/minute``) -> (10, 60): attempts and window seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:per|/)\s*(second|minute|hour|day)s?\s*", text or "")
    if not match:
        msg = (
            f"rate limit {text!r}: write it as 'N per second|minute|hour|day', e.g. '10 per minute'"
        )
        raise ValueError(msg)
    return int(match.group(1)), _PERIODS_S[match.group(2)]


#: The login throttle's settings, each with whose failed logins it counts. The first is the
#: lock a person meets after typos; it spares the others behind the same address (a station's
#: intranet often shows one NAT address for all its computers).
THROTTLES = (
    ("LOGIN_RATE_LIMIT", ("ip", "username")),
    ("LOGIN_RATE_LIMIT_PER_USER", ("username",)),
    ("LOGIN_RATE_LIMIT_PER_ADDRESS", ("ip",)),
)


def init_app(app: Flask) -> None:
    """Require a login for every page but the login form, static files and the language switch."""
    for key, _fields in THROTTLES:  # a typo in a limit fails at start, not at the first login
        try:
            parse_limit(app.config[key])
        except ValueError as exc:
            msg = f"setting {key}: {exc}"
            raise ValueError(msg) from None
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @app.before_request
    def _require_login():
        if request.endpoint in PUBLIC or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            if request.accept_mimetypes.best == "application/json":
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None

    @app.before_request
    def _bureau_boundary():
        """A bureau user: station pages only while viewing a station; each such read audited."""
        if not current_user.is_authenticated or current_user.role != store.BUREAU:
            return None
        endpoint = request.endpoint or ""
        if endpoint in PUBLIC or endpoint.startswith(_BUREAU_OWN):
            return None
        if not current_user.viewing:
            if request.method not in ("GET", "HEAD"):
                abort(403)
            return redirect(url_for("bureau.index"))
        if request.method in ("GET", "HEAD"):
            audit("bureau_read", request.path[:300])
        return None

    app.jinja_env.globals.update(ROLE_NAMES=ROLE_NAMES)
