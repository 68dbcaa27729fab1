"""Route sheets of a plan: print-ready HTML and PDF, in Chinese or English.

Volunteer team leads and patrollers see their own team's sheets only; asking for another
team's is a 404, as for any item of another station.
"""

from __future__ import annotations

from importlib import resources

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask_babel import force_locale
from flask_login import current_user

from gridplan._errors import GridplanError
from gridplan._errors import InputError
from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.db import get_db
from gridplan.web.i18n import LANGUAGES
from gridplan.web.i18n import current_lang
from gridplan.web.i18n import translate
from gridplan.web.security import add_nonce
from gridplan.web.security import error_response
from gridplan.web.security import script_parts
from gridplan.web.views.downloads import attachment
from gridplan.web.views.plans import plan_row_or_404

# The sheet template lives with the Flask-free route sheets (gridplan/sheets/templates), which
# render it outside Flask too; the blueprint adds that folder to the app's template search.
bp = Blueprint(
    "sheetviews",
    __name__,
    url_prefix="/plans",
    template_folder=str(resources.files("gridplan.sheets").joinpath("templates")),
)


def _sheets(plan_id: int):
    """(sheets, lang, plan row) for the request's filters; 404 for what the user may not see."""
    from gridplan.sheets.route_sheets import route_sheets

    row = plan_row_or_404(plan_id)
    if not current_user.can("sheets"):
        abort(403)
    patroller = request.args.get("patroller") or None
    if current_user.team_only:
        if patroller not in (None, current_user.team_id):
            abort(404)
        patroller = current_user.team_id
    slices = request.args.getlist("slice") or None
    lang = request.args.get("lang") or current_lang()
    if lang not in LANGUAGES:
        lang = current_lang()
    plan = data.cached(("plan", plan_id), lambda: store.plan_from_row(row))
    cfg = data.config(current_user.station_id)
    station = store.get_station(get_db(), current_user.station_id)
    # a newer version of the date supersedes this plan: its sheets say so on every page
    current = store.current_plan(get_db(), current_user.station_id, row["date"])["version"]
    superseded_by = current if current != row["version"] else None
    key = (plan_id, lang, patroller, tuple(slices or ()), station["phone"], superseded_by)
    try:
        # sheets of a plan never change; their SVG maps take ~80 ms each to draw
        sheets = data.cached(
            ("sheets", *key),
            lambda: route_sheets(
                plan,
                station_phone=station["phone"],
                slice_labels=data.slice_labels(cfg, lang),
                patroller=patroller,
                slices=slices,
                roster=cfg.roster,
                grid=data.grid(row["grid_id"]),
                version=row["version"],
                superseded_by=superseded_by,
            ),
            size=64,
        )
    except InputError as exc:
        if current_user.team_only:
            abort(404)
        return None, lang, row, error_response(404, translate(exc.message or str(exc)))
    if current_user.team_only and not sheets:
        abort(404)
    return sheets, lang, key, None


def _html(sheets, lang: str, key: tuple) -> list[str]:
    """The sheets' HTML, split for :func:`add_nonce` (made once per plan, language, filter)."""
    from gridplan.sheets.route_sheets import TEMPLATE
    from gridplan.sheets.route_sheets import sheets_context

    def render() -> list[str]:
        with force_locale(lang):
            return script_parts(render_template(TEMPLATE, **sheets_context(sheets, lang=lang)))

    return data.cached(("sheets_html", *key), render, size=64)


@bp.get("/<int:plan_id>/sheets")
def sheets(plan_id: int):
    """The route sheets as one printable HTML page (A4, one sheet per page)."""
    sheets, lang, key, err = _sheets(plan_id)
    if err is not None:
        return err
    return add_nonce(_html(sheets, lang, key))


@bp.get("/<int:plan_id>/sheets.pdf")
def sheets_pdf(plan_id: int):
    """The route sheets as a PDF made on the server (Chinese fonts embedded)."""
    from gridplan.sheets.route_sheets import render_pdf

    sheets, lang, key, err = _sheets(plan_id)
    if err is not None:
        return err
    row = plan_row_or_404(plan_id)
    try:
        # WeasyPrint takes about a second per page: a plan's PDF is made once per process
        html = "<script".join(_html(sheets, lang, key))
        pdf = data.cached(("sheets_pdf", *key), lambda: render_pdf(html), size=32)
    except GridplanError as exc:  # WeasyPrint or its libraries missing: say what to install
        return error_response(501, str(exc))
    audit(
        "export", f"plan {plan_id} sheets.pdf", lang=lang, patroller=request.args.get("patroller")
    )
    who = request.args.get("patroller") or (
        current_user.team_id if current_user.team_only else "all"
    )
    superseded = "-superseded" if key[-1] is not None else ""
    name = f"route-sheets-{row['date']}-v{row['version']}{superseded}-{who}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": attachment(name)},
    )
