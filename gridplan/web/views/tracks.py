"""Import patrol tracks: GPX from phones, CSV/XLSX exports of vehicle and radio location systems.

An officer or administrator uploads a track file, says whose it is (a roster entry, or the
file's own patroller column), the datum of its lon/lat (WGS 84, GCJ-02, BD-09) and, when the
file's headers are not recognised, which column holds what. As every upload, the file is read
in an import job (:mod:`gridplan.web.importjob`) with the server's read limits, through
:func:`gridplan.tracks.fixes.import_track`; the fixes kept are stored as one batch of the
station (:func:`gridplan.web.store.save_track_batch`, audited) and the report lists the fixes
left out with their row and reason. Tracks are station data: only the station's officers and
administrators import and see them; volunteer leads and patrollers do not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import translate
from gridplan.web.views import imports

bp = Blueprint("tracks", __name__, url_prefix="/tracks")

#: Track files the page takes.
TRACK_TYPES = (".gpx", ".gpx.gz", ".csv", ".csv.gz", ".txt", ".xlsx")

#: Datums of the lon/lat a file may be in, as the form offers them ("" the default).
DATUM_LABELS = {
    "": _l("Default (GPX: WGS-84; tables: the station's setting)"),
    "wgs84": _l("WGS-84 (GPS, GPX)"),
    "gcj02": _l("GCJ-02 (Amap, Tencent)"),
    "bd09": _l("BD-09 (Baidu)"),
}

#: Roles a table's columns can be named for, in the order of the form.
COLUMN_LABELS = {
    "patroller": _l("Patroller"),
    "time": _l("Time"),
    "lon": _l("Longitude"),
    "lat": _l("Latitude"),
    "accuracy": _l("Accuracy (m)"),
}

#: How the patrollers moved, as the form offers it ("" each one's mode in the roster): the
#: speed above which a fix is a jump (:data:`gridplan.tracks.params.MAX_SPEED_MPS`).
MODE_LABELS = {
    "": _l("As the roster says (on foot for those not in it)"),
    "walk": _l("On foot"),
    "bicycle": _l("Bicycle"),
    "ebike": _l("E-bike"),
    "car": _l("Car"),
}

#: Longest column name the form takes.
MAX_COLUMN_CHARS = 100


def _page(*, error: str | None = None, status: int = 200, form=None):
    """The upload form and the station's recent track imports."""
    cfg = data.config(current_user.station_id)
    batches = (
        get_db()
        .execute(
            "SELECT id, patroller_id, source_name, created_at, created_by, n_fixes, n_rejected "
            "FROM track_batches WHERE station_id=? ORDER BY id DESC LIMIT 30",
            (current_user.station_id,),
        )
        .fetchall()
    )
    return render_template(
        "tracks.html",
        roster=cfg.roster,
        batches=batches,
        datums=DATUM_LABELS,
        modes=MODE_LABELS,
        column_labels=COLUMN_LABELS,
        form=form or {},
        error=error,
        types=", ".join(TRACK_TYPES),
    ), status


@bp.get("/")
@requires("import")
def page():
    """The track upload form and the station's track imports."""
    return _page()


def page_with_error(message, status: int):
    """The tracks page with ``message`` (a library message in the page's language)."""
    return _page(error=translate(message), status=status)


def _choices(form) -> tuple[dict, str | None]:
    """The form's patroller, datum and columns, or what is wrong with them (translated)."""
    cfg = data.config(current_user.station_id)
    patroller = form.get("patroller", "").strip()
    ids = [p.id for p in cfg.roster]
    if patroller and patroller not in ids:
        msg = _(
            "%(id)s is not in the station's roster; choose one of %(ids)s.",
            id=patroller[:40],
            ids=", ".join(ids),
        )
        return {}, msg
    datum = form.get("datum", "").strip()
    if datum not in DATUM_LABELS:
        msg = _("Unknown datum %(d)s; choose one of the list.", d=datum[:20])
        return {}, msg
    mode = form.get("mode", "").strip()
    if mode not in MODE_LABELS:
        return {}, _("Unknown way of moving %(m)s; choose one of the list.", m=mode[:20])
    columns = {role: form.get(f"col_{role}", "").strip() for role in COLUMN_LABELS}
    if any(len(v) > MAX_COLUMN_CHARS for v in columns.values()):
        return {}, _("A column name is at most %(n)d characters.", n=MAX_COLUMN_CHARS)
    chosen = [v for v in columns.values() if v]
    if len(chosen) != len(set(chosen)):
        twice = sorted({v for v in chosen if chosen.count(v) > 1})
        msg = _(
            "Each column can hold only one thing; %(cols)s is chosen more than once.",
            cols=", ".join(twice),
        )
        return {}, msg
    return {"patroller": patroller, "datum": datum, "mode": mode, "columns": columns}, None


@bp.post("/")
@requires("import")
def upload():
    """Read a track file in an import job; its report (or the reason it failed) follows."""
    choices, err = _choices(request.form)
    if err:
        return _page(error=err, status=400, form=request.form)
    upload_, err = imports.upload_file("file", TRACK_TYPES)
    if err:
        return _page(error=err, status=400, form=request.form)
    name, content = upload_
    return imports.start_import_of("tracks", name, content, **choices)


def _batch_or_404(batch_id: int):
    row = (
        get_db()
        .execute(
            "SELECT * FROM track_batches WHERE id=? AND station_id=?",
            (batch_id, current_user.station_id),
        )
        .fetchone()
    )
    if row is None:
        abort(404)
    return row


def _rejects(summary: dict) -> list[dict]:
    """The rejected fixes kept with a batch, their reasons in the page's language."""
    return [{**r, "reason": translate(r["reason"])} for r in summary.get("rejects", ())]


@bp.get("/<int:batch_id>")
@requires("import")
def batch(batch_id: int):
    """The report of a stored track import: fixes kept per patroller, fixes left out and why."""
    row = _batch_or_404(batch_id)
    summary = json.loads(row["summary_json"] or "{}")
    rejects = _rejects(summary)
    return render_template(
        "track_report.html",
        row=row,
        summary=summary,
        patrollers=summary.get("patrollers") or {},
        warnings=[translate(w) for w in summary.get("warnings", ())],
        rejects=rejects[:200],
        n_shown=min(len(rejects), 200),
        datums=DATUM_LABELS,
        reasons=_reason_counts(summary, rejects),
        plans=_plans_of(summary.get("patrollers") or {}),
    )


def _plans_of(patrollers: dict) -> list:
    """The station's current plans of the days a track covers (their Compliance pages)."""
    days = sorted({t[:10] for p in patrollers.values() for t in (p["first"], p["last"]) if t})
    rows = [(d, store.current_plan(get_db(), current_user.station_id, d)) for d in days[:10]]
    return [{"id": r["id"], "version": r["version"], "date": d} for d, r in rows if r is not None]


def _reason_counts(summary: dict, rejects: list[dict]) -> list[tuple[str, int]]:
    """Each reason a fix was left out (in the page's language) and how many."""
    texts = {}
    for r, raw in zip(rejects, summary.get("rejects", ()), strict=True):
        reason = raw["reason"]
        texts.setdefault(reason.get("id") if isinstance(reason, dict) else reason, r["reason"])
    counts = summary.get("rejected_by_reason") or {}
    return [(texts.get(k, k), int(n)) for k, n in counts.items()]


@bp.get("/<int:batch_id>/rejects.csv")
@requires("import")
def rejects_csv(batch_id: int):
    """The rejected fixes of a track import as CSV (spreadsheet-safe, UTF-8 with BOM)."""
    from gridplan.io.csvsafe import frame_csv_text
    from gridplan.web.views.downloads import attachment

    row = _batch_or_404(batch_id)
    rejects = _rejects(json.loads(row["summary_json"] or "{}"))
    columns = ["row", "patroller", "time", "column", "value", "reason"]
    frame = pd.DataFrame.from_records(rejects, columns=columns)
    stem = Path(row["source_name"]).name.split(".")[0] or "track"
    audit("download", f"track rejects {batch_id}")
    return Response(
        frame_csv_text(frame),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(f"{stem}-rejected.csv")},
    )
