"""Chinese and English for the UI (Flask-Babel, gettext catalogues in ``translations/``).

The language is the user's choice (the switch in the header, kept in the session), else the
browser's preference between zh and en, else Chinese. Route sheets can be printed in either
language whatever the UI shows (:func:`flask_babel.force_locale`).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import g
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import Babel
from flask_babel import get_locale
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l

LANGUAGES = {"zh": "中文", "en": "English"}

bp = Blueprint("i18n", __name__)

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


def select_locale() -> str:
    """Return the language of this request: session, else browser, else zh."""
    lang = session.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(list(LANGUAGES), default="zh")


def current_lang() -> str:
    """Return ``"zh"`` or ``"en"`` for the current request."""
    return str(get_locale() or "zh").split("_")[0]


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@bp.get("/lang/<code>")
def switch(code: str):
    """Switch the UI language and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("overview.index")))


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
    """Install Flask-Babel with gridplan's catalogues and the language switch."""
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
    )
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        current_lang=current_lang,
        ROLE_LABELS=ROLE_LABELS,
        MODE_LABELS=MODE_LABELS,
        REASON_LABELS=REASON_LABELS,
    )
