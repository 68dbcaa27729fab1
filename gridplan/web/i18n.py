"""Chinese and English for the UI (Flask-Babel, gettext catalogues in ``translations/``).

The language is the user's choice (the switch in the header, kept in the session), else the
browser's preference between zh and en, else Chinese. Route sheets can be printed in either
language whatever the UI shows (:func:`flask_babel.force_locale`).

Messages of the library (reasons of rejected rows, grid problems, import warnings, job errors:
:class:`gridplan._messages.Message`) are rendered in the page's language by :func:`translate`
(the ``tr`` filter in templates); stored ones come back from their ``{"id", "params"}`` JSON.
Advice the library gives for the command line or Python (``--column lon=经度``, ``--crs``) is
replaced by advice about the web's own forms (:data:`WEB_ADVICE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask import g
from flask import request
from flask import session
from flask_babel import Babel
from flask_babel import get_locale
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l

from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import MessageTemplate
from gridplan._messages import define

LANGUAGES = {"zh": "中文", "en": "English"}

#: roster roles, travel modes and the reasons a hot spot went unvisited, as shown in the UI
ROLE_LABELS = {
    "captain": _l("Auxiliary team captain"),
    "auxiliary": _l("Full-time auxiliary"),
    "seasonal": _l("Seasonal auxiliary"),
    "volunteer_team": _l("Volunteer team"),
    "officer": _l("Officer"),
}
MODE_LABELS = {"walk": _l("on foot"), "ebike": _l("e-bike"), "car": _l("car")}
REASON_LABELS = {
    "no one on duty": _l("no one on duty"),
    "dosage cap": _l("daily presence limit reached"),
    "excluded by the officer": _l("excluded by the officer"),
    "no risk in this slice": _l("no risk in this slice"),
    "not reachable from the station": _l("not reachable from the station"),
    "outside the home bases of those on duty": _l("outside the home bases of those on duty"),
    "not reachable in time": _l("not reachable in time"),
    "dropped for better prizes": _l("others were riskier"),
}


#: audit log actions, as shown on the admin's audit page
ACTION_LABELS = {
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "login_failed": _l("Failed login"),
    "login_throttled": _l("Login blocked (too many attempts)"),
    "add_user": _l("User added"),
    "change_password": _l("Password changed"),
    "enable_user": _l("Login enabled"),
    "disable_user": _l("Login disabled"),
    "add_station": _l("Station added"),
    "update_station": _l("Station configuration changed"),
    "add_network": _l("Street network added"),
    "seed_demo": _l("Demo data loaded"),
    "import_grid": _l("Grid imported"),
    "import_grid_rejected": _l("Grid import rejected"),
    "import_incidents": _l("Incidents imported"),
    "import_incidents_rejected": _l("Incident import rejected"),
    "import_failed": _l("Import stopped (limit, cancelled or failed)"),
    "download": _l("Download"),
    "export": _l("Export"),
    "plan": _l("Patrol plan made"),
    "plan_failed": _l("Patrol plan failed"),
    "hotspots_failed": _l("Hot-spot run failed"),
    "import_tracks": _l("Tracks imported"),
    "purge_tracks": _l("Old positions deleted (retention)"),
    "purge_failed": _l("Deleting old positions failed"),
}
#: names of the audit log's details
DETAIL_LABELS = {
    "error": _l("error"),
    "errors": _l("errors"),
    "role": _l("role"),
    "lang": _l("language"),
    "patroller": _l("patroller"),
    "job": _l("job"),
    "batch_id": _l("batch"),
    "added": _l("added"),
    "already": _l("already stored"),
    "rejected": _l("rejected"),
    "grid_id": _l("grid"),
    "version": _l("version"),
    "micro": _l("micro-grids"),
    "date": _l("date"),
    "slices": _l("time slices"),
    "patrollers": _l("patrollers"),
    "changed": _l("changed"),
    "before": _l("before"),
    "retention_days": _l("retention (days)"),
    "fixes": _l("track fixes deleted"),
    "positions": _l("check-in positions deleted"),
    "presence_rows": _l("presence rows kept"),
}
#: grid problem codes (gridplan.geo.validate) as shown with the problem
ISSUE_LABELS = {
    "empty_geometry": _l("no area"),
    "not_polygon": _l("not a polygon"),
    "invalid_geometry": _l("invalid geometry"),
    "unknown_level": _l("unknown level"),
    "missing_id": _l("missing id"),
    "duplicate_id": _l("duplicate id"),
    "no_station": _l("no station"),
    "multiple_stations": _l("several stations"),
    "base_count": _l("number of base grids"),
    "orphan_parent": _l("wrong parent"),
    "outside_parent": _l("outside its parent"),
    "sliver_outside": _l("sliver outside its parent"),
    "overlap": _l("overlap"),
    "sliver_overlap": _l("sliver overlap"),
    "gap": _l("gap"),
    "sliver_gap": _l("sliver gap"),
    "no_micro": _l("no micro-grids"),
}


#: What the web UI says instead of the library's advice for the command line and Python, by the
#: id of that advice (a nested message, see :meth:`gridplan._messages.Message.swap`); each takes
#: a subset of the parameters of the advice it replaces.
WEB_ADVICE: dict[str, MessageTemplate] = {
    "advice.columns": define(
        "web.advice.columns", N_("Choose the columns in the column mapping form")
    ),
    "advice.fix_or_columns": define(
        "web.advice.fix_or_columns",
        N_("Fix the file, or choose the right columns in the column mapping form"),
    ),
    "advice.sheet": define(
        "web.advice.sheet",
        N_(
            'Only the first sheet is read here: move the sheet "%(sheet)s" to the front of the '
            "workbook (or save it alone as CSV) and upload it again"
        ),
    ),
    "advice.encoding": define(
        "web.advice.encoding", N_(" (in Excel: Save As, then choose CSV UTF-8)")
    ),
    "advice.grid_columns": define(
        "web.advice.grid_columns",
        N_("Rename the columns in your GIS, or give one layer per level (station/base/micro)"),
    ),
    "advice.grid_crs": define(
        "web.advice.grid_crs",
        N_(
            "enter the CRS the boundaries were drawn in (e.g. EPSG:4547) in the CRS field and "
            "upload the file again, or re-export the file with a CRS (for a Shapefile, put its "
            ".prj in the zip)"
        ),
    ),
    "advice.grid_real_crs": define(
        "web.advice.grid_real_crs",
        N_("enter the real CRS (e.g. EPSG:4547) in the CRS field and upload the file again"),
    ),
    "advice.grid_layer": define(
        "web.advice.grid_layer",
        N_(
            "keep only the layer with a level column in the file, or name three layers "
            "station, base and micro"
        ),
    ),
    "advice.generate_micro": define(
        "web.advice.generate_micro", N_("import a grid that has micro-grids")
    ),
    # grid problems whose fix is `grids validate --fix`: on the web it is the repair offered
    # on the import page
    "grid.invalid_geometry.fix": define(
        "web.grid.invalid_geometry.fix",
        N_(
            "repair it on the import page (the repair is shown before it is stored), or redraw "
            "the ring without crossing itself"
        ),
    ),
    "grid.sliver_outside.fix": define(
        "web.grid.sliver_outside.fix",
        N_(
            "repair it on the import page to clip the overhang, or snap %(id)s to the boundary "
            "of %(parent)s"
        ),
    ),
    "grid.sliver_overlap.fix": define(
        "web.grid.sliver_overlap.fix",
        N_(
            "repair it on the import page to give the sliver to one grid, or snap %(a)s and "
            "%(b)s together"
        ),
    ),
    "grid.sliver_gap.fix": define(
        "web.grid.sliver_gap.fix",
        N_(
            "repair it on the import page to give each sliver to its neighbour, or snap the "
            "%(children)s"
        ),
    ),
}


def translate(message: Any) -> str:
    """Return a message in the request's language.

    ``message`` is a :class:`~gridplan._messages.Message`, a stored record of one
    (``{"id", "params"[, "text"]}``, see :func:`gridplan.web.store.message_record`) or plain
    text (an older store's English, shown as it is). A record whose id this version does not
    know shows its ``text``. Advice for the command line becomes the web's (:data:`WEB_ADVICE`).
    """
    if isinstance(message, Mapping) and "id" in message:
        try:
            message = Message.from_dict(message)
        except (LookupError, TypeError, ValueError, KeyError):
            return str(message.get("text", message["id"]))
    if isinstance(message, Message):
        return message.swap(WEB_ADVICE).render(_translations().ugettext)
    return "" if message is None else str(message)


def select_locale() -> str:
    """Return the language of this request: session, else browser, else zh."""
    lang = session.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(list(LANGUAGES), default="zh")


def current_lang() -> str:
    """Return ``"zh"`` or ``"en"`` for the current request."""
    return str(get_locale() or "zh").split("_")[0]


def _translations():
    """The request's translations, looked up once per request and locale.

    Flask-Babel's own template callables look the catalogue up on every string (about 80 us
    each; a page has 50 or more); this keeps it on ``g`` while the locale stays the same
    (``force_locale`` for route sheets in the other language changes it).
    """
    locale = get_locale()
    cached = g.get("_gp_translations")
    if cached is None or cached[0] is not locale:
        cached = g._gp_translations = (locale, get_translations())
    return cached[1]


def init_app(app: Flask) -> None:
    """Install Flask-Babel with gridplan's catalogues (the switch is :mod:`.views.i18n`)."""
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["tr"] = translate
    app.jinja_env.globals.update(
        ACTION_LABELS=ACTION_LABELS,
        DETAIL_LABELS=DETAIL_LABELS,
        ISSUE_LABELS=ISSUE_LABELS,
        LANGUAGES=LANGUAGES,
        current_lang=current_lang,
        ROLE_LABELS=ROLE_LABELS,
        MODE_LABELS=MODE_LABELS,
        REASON_LABELS=REASON_LABELS,
    )
