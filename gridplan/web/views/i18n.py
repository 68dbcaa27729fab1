"""The language switch in the page header.

The languages, the catalogues and the translation of library messages are
:mod:`gridplan.web.i18n`.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import request
from flask import session
from flask import url_for

from gridplan.web.i18n import LANGUAGES
from gridplan.web.security import safe_next

bp = Blueprint("i18n", __name__)


@bp.get("/lang/<code>")
def switch(code: str):
    """Switch the UI language and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("overview.index")))
