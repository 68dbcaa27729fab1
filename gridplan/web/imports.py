"""Import grid and incident files: validate, report, store only what passes.

An upload is read from a temporary folder under its own file name (so every message names
the file the officer chose), checked with the same functions as the command line, and stored
in one transaction only when it passes. A rejected upload answers 4xx with the report and
stores nothing; an incident file with some bad rows keeps the good rows and offers the
rejected ones as CSV.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from gridplan._errors import GridplanError
from gridplan.web import data
from gridplan.web import jobs
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.downloads import attachment
from gridplan.web.i18n import translate

bp = Blueprint("imports", __name__, url_prefix="/import")

GRID_TYPES = (".geojson", ".json", ".gpkg", ".zip")
INCIDENT_TYPES = (".csv", ".csv.gz", ".txt", ".xlsx", ".geojson", ".json", ".gpkg")


def _file_name(raw: str) -> str:
    """The upload's base name, safe as a file name (Chinese kept, paths and controls dropped)."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f:*?\"<>|]", "_", name).strip(" .")
    return name[:120] or "upload"


def _suffix_ok(name: str, allowed: tuple[str, ...]) -> bool:
    return any(name.lower().endswith(s) for s in allowed)


def _upload(field: str, allowed: tuple[str, ...]):
    """Return (name, bytes) of the uploaded file, or an error message."""
    f = request.files.get(field)
    if f is None or not f.filename:
        return None, _("Choose a file to upload.")
    name = _file_name(f.filename)
    if not _suffix_ok(name, allowed):
        return None, _(
            "%(name)s: this file type is not accepted here; use one of %(types)s.",
            name=name,
            types=", ".join(allowed),
        )
    content = f.read()
    if not content:
        return None, _("%(name)s is empty (0 bytes); choose the exported file again.", name=name)
    return (name, content), None


def _error(exc: GridplanError, tmp: str):
    """The error's message (or text) with the upload's temporary folder left out."""

    def local(value):
        return value.replace(tmp + "/", "") if type(value) is str else value

    message = exc.message
    if message is None:
        return local(str(exc))
    return message.template(**{k: local(v) for k, v in message.params.items()})


def _rejected(kind: str, message, status: int = 422, **ctx):
    """The import page with ``message`` (a library message is shown in the UI's language)."""
    message = translate(message)
    return render_template("imports.html", kind=kind, error=message, **ctx), status


@bp.get("/")
@requires("import")
def page():
    """The import forms and the station's import history."""
    con = get_db()
    sid = current_user.station_id
    batches = con.execute(
        "SELECT id, source_name, created_at, created_by, n_rows, n_kept, n_rejected, n_already "
        "FROM incident_batches WHERE station_id=? ORDER BY id DESC LIMIT 20",
        (sid,),
    ).fetchall()
    return render_template(
        "imports.html", kind=None, batches=batches, grid_row=store.latest_grid(con, sid)
    )


@bp.post("/grid")
@requires("import")
def grid():
    """Import a 1+5+N grid file as the station's next grid version."""
    from gridplan.geo.grid import load_grid
    from gridplan.geo.validate import validate_grid

    upload, err = _upload("file", GRID_TYPES)
    if err:
        return _rejected("grid", err, 400)
    name, content = upload
    sid = current_user.station_id
    cfg = data.config(sid)
    crs = request.form.get("crs", "").strip() or None
    with tempfile.TemporaryDirectory(prefix="gridplan-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            g = load_grid(path, crs=crs)
            report = validate_grid(g, config=cfg)
        except GridplanError as exc:
            error = _error(exc, str(tmp))
            audit("import_grid_rejected", name, error=error)
            return _rejected("grid", error)
    if not report.ok:
        audit("import_grid_rejected", name, errors=len(report.errors))
        return _rejected(
            "grid",
            _(
                "%(name)s was not imported: %(n)d problems must be fixed first (see the list). "
                "The command line's 'gridplan grids validate --fix' repairs what is safely "
                "repairable.",
                name=name,
                n=len(report.errors),
            ),
            report=report,
        )
    try:
        grid_id, version = store.save_grid(
            get_db(),
            sid,
            g,
            source_name=name,
            username=current_user.username,
            report=report.summary(),
        )
    except GridplanError as exc:
        return _rejected("grid", str(exc))
    audit(
        "import_grid",
        name,
        grid_id=grid_id,
        version=version,
        micro=int((g["level"] == "micro").sum()),
    )
    flash(_("%(name)s imported as grid version %(v)d.", name=name, v=version), "success")
    if report.warnings:
        flash(
            _(
                "%(n)d warnings: %(first)s",
                n=len(report.warnings),
                first=translate(report.warnings[0].message),
            ),
            "warning",
        )
    jobs.start_hotspots(sid, current_user.username)
    return redirect(url_for("overview.index"))


@bp.post("/incidents")
@requires("import")
def incidents():
    """Import an incident export; keep the good rows, report the rest."""
    from gridplan.geo.incidents import import_incidents

    upload, err = _upload("file", INCIDENT_TYPES)
    if err:
        return _rejected("incidents", err, 400)
    name, content = upload
    con = get_db()
    sid = current_user.station_id
    grid_row = store.latest_grid(con, sid)
    if grid_row is None:
        return _rejected(
            "incidents",
            _("Import the station's grid first: incidents are placed in its micro-grids."),
            409,
        )
    cfg = data.config(sid)
    with tempfile.TemporaryDirectory(prefix="gridplan-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            result = import_incidents(path, config=cfg, station=data.grid(grid_row["id"]))
        except GridplanError as exc:
            error = _error(exc, str(tmp))
            audit("import_incidents_rejected", name, error=error)
            return _rejected("incidents", error)
    batch_id, added, already = store.save_incident_batch(
        con, sid, result, source_name=name, username=current_user.username
    )
    audit(
        "import_incidents",
        name,
        batch_id=batch_id,
        added=added,
        already=already,
        rejected=len(result.rejects),
    )
    if added:
        jobs.start_hotspots(sid, current_user.username)
    return redirect(url_for("imports.batch", batch_id=batch_id))


def _batch_row(batch_id: int):
    row = (
        get_db()
        .execute(
            "SELECT * FROM incident_batches WHERE id=? AND station_id=?",
            (batch_id, current_user.station_id),
        )
        .fetchone()
    )
    if row is None:
        abort(404)
    return row


@bp.get("/incidents/<int:batch_id>")
@requires("import")
def batch(batch_id: int):
    """The report of a stored incident import."""
    row = _batch_row(batch_id)
    summary = json.loads(row["summary_json"])
    rejects = _rejects(batch_id)
    rejects = [] if rejects is None else rejects.head(200).to_dict("records")
    return render_template(
        "import_report.html",
        row=row,
        summary=summary,
        messages=summary.get("messages") or {},  # none in batches stored before messages
        rejects=rejects,
        max_upload_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
    )


def _rejects(batch_id: int):
    """The stored rejected rows with their reasons in the UI's language, or None.

    Stores made before the reasons had ids keep their English reasons.
    """
    import pandas as pd

    content = store.batch_rejects_csv(get_db(), batch_id)
    if content is None:
        return None
    rejects = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    params = rejects.pop("reason_params") if "reason_params" in rejects else ""
    if "reason_id" in rejects:
        rejects["reason"] = [
            translate({"id": i, "params": json.loads(p or "{}"), "text": t}) if i else t
            for i, p, t in zip(rejects["reason_id"], params, rejects["reason"], strict=True)
        ]
    return rejects


@bp.get("/incidents/<int:batch_id>/rejects.csv")
@requires("import")
def rejects(batch_id: int):
    """The rejected rows of an import as CSV (UTF-8 with BOM: Excel opens it)."""
    row = _batch_row(batch_id)
    rejects = _rejects(batch_id)
    if rejects is None:
        abort(404)
    # UTF-8 with BOM so that Excel shows Chinese; the reason in the UI's language beside its id
    content = "\ufeff" + rejects.to_csv(index=False)
    stem = Path(row["source_name"]).name.split(".")[0] or "import"
    audit("download", f"rejects {batch_id}")
    return Response(
        content,
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(f"{stem}-rejected.csv")},
    )
