"""Import grid and incident files: validate, report, store only what passes.

A request never reads an uploaded file: it keeps the upload under its own file name (so every
message names the file the officer chose, :mod:`gridplan.web.uploads`), queues an import job
(:mod:`gridplan.web.importjob`, in a job process with the read limits) and goes to the job's
page, which reloads until the job has ended and then shows what comes next: the import report,
the overview, the column mapping, the proposed repairs, or the import page with the reason
(4xx). The file is checked with the same functions as the command line and stored in one
transaction only when it passes; an incident file with some bad rows keeps the good rows and
offers the rejected ones as CSV.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from gridplan.io.limits import ReadLimits
from gridplan.web import jobs
from gridplan.web import store
from gridplan.web import uploads
from gridplan.web.auth import audit
from gridplan.web.auth import client_ip
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import translate
from gridplan.web.security import error_response
from gridplan.web.views.downloads import attachment

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


#: Uploads made on a page of their own (which shows their errors): the step of the same name.
_OTHER_PAGES = ("targets", "tracks")


def _rejected(kind: str, message, status: int = 422, **ctx):
    """The import page with ``message`` (a library message is shown in the UI's language)."""
    if kind == "targets":  # a targets layer is uploaded on the Targets page
        from gridplan.web.views.targets import page_with_error

        return page_with_error(message, status)
    if kind == "tracks":  # a track file is uploaded on the Tracks page
        from gridplan.web.views.tracks import page_with_error as tracks_error

        return tracks_error(message, status)
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
    grid_row = store.latest_grid(con, sid)
    report = json.loads(grid_row["report_json"] or "{}") if grid_row else {}
    return render_template(
        "imports.html",
        kind=None,
        batches=batches,
        grid_row=grid_row,
        grid_repairs=report.get("repairs") or [],
    )


def _keep(kind: str, name: str, content: bytes, **options) -> uploads.Pending:
    return uploads.keep(
        kind,
        name,
        content,
        user_id=current_user.id,
        station_id=current_user.station_id,
        options=options,
    )


def _find(token: str, kind: str) -> uploads.Pending | None:
    return uploads.find(token, kind, user_id=current_user.id, station_id=current_user.station_id)


def _pending(kind: str) -> uploads.Pending:
    """The upload the form's token names, if it is this user's and this step's (else 404)."""
    pending = _find(request.form.get("token", ""), kind)
    if pending is None:
        msg = _(
            "This upload is no longer waiting (it was imported, cancelled or is more than a "
            "few hours old); upload the file again."
        )
        abort(make_response(error_response(404, msg)))
    return pending


def _start(pending: uploads.Pending, step: str, **choices):
    """Queue the import job that reads ``pending`` and go to its page."""
    params = {
        "token": pending.token,
        "name": pending.name,
        "step": step,
        "ip": client_ip(),
        **choices,
    }
    job_id = jobs.start_import(current_user.station_id, current_user.username, params)
    return redirect(url_for("imports.job", job_id=job_id))


def upload_file(field: str, allowed: tuple[str, ...]):
    """Return (name, bytes) of the uploaded file, or an error message (for other pages)."""
    return _upload(field, allowed)


def start_import_of(kind: str, name: str, content: bytes, **choices):
    """Keep an upload of ``kind`` and queue its import job (a step of the same name).

    ``choices`` go to the job's step (the tracks page's patroller, datum and columns).
    """
    return _start(_keep(kind, name, content), kind, **choices)


@bp.post("/cancel")
@requires("import")
def cancel():
    """Drop an upload that waits for its job, the column mapping or the repairs."""
    pending = _find(request.form.get("token", ""), request.form.get("kind", ""))
    if pending is not None:
        jobs.cancel_imports(current_user.station_id, pending.token)
        uploads.discard(pending)
        audit("import_cancelled", pending.name)
    return redirect(url_for("imports.page"))


# --------------------------------------------------------------------------- the job


def _job_or_404(job_id: int):
    """Return the current user's import job ``job_id`` (an upload is its sender's alone)."""
    row = store.get_job(get_db(), job_id, current_user.station_id)
    if row is None or row["kind"] != "import" or row["created_by"] != current_user.username:
        abort(404)
    return row


@bp.get("/jobs/<int:job_id>")
@requires("import")
def job(job_id: int):
    """An import's page: it reloads while the file is read, then shows what comes next."""
    row = _job_or_404(job_id)
    params = json.loads(row["params_json"])
    kind = "grid" if params["step"].startswith("grid") else "incidents"
    kind = params["step"] if params["step"] in _OTHER_PAGES else kind
    if row["status"] in ("queued", "running"):
        limits = ReadLimits.from_mapping(current_app.config)
        return render_template(
            "import_job.html", job=row, params=params, kind=kind, limit_s=limits.max_seconds
        )
    if row["status"] != "done":
        uploads.discard_token(
            params["token"], user_id=current_user.id, station_id=current_user.station_id
        )
        return _rejected(kind, job_reason(row))
    outcome = uploads.outcome(
        params["token"], job_id, user_id=current_user.id, station_id=current_user.station_id
    )
    if outcome is None:  # expired, or cancelled as it ended
        return _gone(kind, params, row)
    for record in outcome.get("flashes", ()):
        flash(translate(record), "warning")
    return _OUTCOMES[outcome["next"]](kind, params, outcome)


@bp.get("/jobs/<int:job_id>.json")
@requires("import")
def job_status(job_id: int):
    """An import job's state as JSON: status, stage, and the page to go on to."""
    row = _job_or_404(job_id)
    failed = row["status"] in ("failed", "interrupted")
    return jsonify(
        id=row["id"],
        status=row["status"],
        stage=row["stage"],
        error=job_reason(row) if failed else None,
        error_code=row["error_code"],
        url=url_for("imports.job", job_id=row["id"]),
    )


def job_reason(row) -> str:
    """Why import job ``row`` failed, in the page's language."""
    code = row["error_code"]
    if code == "interrupted":
        return _(
            "Interrupted: the import's process stopped giving signs of life (the server was "
            "stopped or ran out of memory). Upload the file again."
        )
    if code == "crashed":
        return _("The import's process stopped unexpectedly. Upload the file again.")
    if code == "internal":
        return _("Internal error; the server log has the details. Upload the file again.")
    return translate(store.job_error(row))


def _gone(kind: str, params: dict, row):
    """A finished job whose outcome is no longer kept: its result, or upload again."""
    if row["result_id"]:
        return _stored(kind, params, {"result_id": row["result_id"]})
    msg = _(
        "This upload is no longer waiting (it was imported, cancelled or is more than a "
        "few hours old); upload the file again."
    )
    return _rejected(kind, msg, 410)


def _stored(kind: str, params: dict, outcome: dict):
    """Stored: the incident import's report, or the overview with the grid's version."""
    if kind == "incidents":
        return redirect(url_for("imports.batch", batch_id=outcome["result_id"]))
    if kind == "targets":
        from gridplan.web.views.targets import stored

        return stored(params, outcome)
    if kind == "tracks":
        return redirect(url_for("tracks.batch", batch_id=outcome["result_id"]))
    name, version, n = params["name"], outcome.get("version"), outcome.get("repairs", 0)
    if n:
        text = _(
            "%(name)s imported as grid version %(v)d after %(n)d repairs.",
            name=name,
            v=version,
            n=n,
        )
        flash(text, "success")
    elif version is not None:
        flash(_("%(name)s imported as grid version %(v)d.", name=name, v=version), "success")
    if outcome.get("n_warnings"):
        first = translate(outcome["warnings"][0])
        flash(_("%(n)d warnings: %(first)s", n=outcome["n_warnings"], first=first), "warning")
    return redirect(url_for("overview.index"))


def _rejected_outcome(kind: str, params: dict, outcome: dict):
    report = outcome.get("report")
    return _rejected(kind, outcome["error"], outcome["status"], report=report)


def _repairs_outcome(kind: str, params: dict, outcome: dict):
    """The proposed repairs of a kept grid, as the job found them."""
    pending = _find(params["token"], "grid")
    if pending is None:
        return _gone(kind, params, {"result_id": None})
    rows = [
        {**r, "action": REPAIR_LABELS.get(r["action"], r["action"])}
        for r in pending.options.get("repair_rows", ())
    ]
    return render_template(
        "imports.html",
        kind="grid",
        repair=rows,
        repair_report=pending.options.get("repair_report", {}),
        pending=pending,
    ), outcome["status"]


def _mapping_outcome(kind: str, params: dict, outcome: dict):
    pending = _find(params["token"], "incidents")
    if pending is None:
        return _gone(kind, params, {"result_id": None})
    missing = outcome.get("missing", ())
    return _mapping(
        pending,
        outcome["columns"],
        missing=missing,
        error=outcome["error"],
        status=outcome["status"],
    )


_OUTCOMES = {
    "stored": _stored,
    "rejected": _rejected_outcome,
    "repairs": _repairs_outcome,
    "mapping": _mapping_outcome,
}


# --------------------------------------------------------------------------- grids


@bp.post("/grid")
@requires("import")
def grid():
    """Check a 1+5+N grid file (in a job); store it as the next version, or offer repairs."""
    upload, err = _upload("file", GRID_TYPES)
    if err:
        return _rejected("grid", err, 400)
    name, content = upload
    crs = request.form.get("crs", "").strip() or None
    return _start(_keep("grid", name, content, crs=crs), "grid")


#: What fix_grid does, as the import report names it.
REPAIR_LABELS = {
    "make_valid": _l("ring made valid"),
    "clip_to_parent": _l("clipped to its parent grid"),
    "clip_overlap": _l("overlap with a neighbour removed"),
    "fill_gap": _l("gap given to this grid"),
}


@bp.post("/grid/repair")
@requires("import")
def repair_grid():
    """Store a kept grid, with the repairs the officer saw, as the station's next version.

    A grid valid without them (the repairs only clear warnings) may be kept as it is.
    """
    pending = _pending("grid")
    return _start(pending, "grid_repair", as_is=bool(request.form.get("as_is")))


# --------------------------------------------------------------------------- incidents

#: Roles the column mapping offers, in the order of the form.
MAPPED_ROLES = ("lon", "lat", "time", "category", "id", "alert")

ROLE_LABELS = {
    "lon": _l("Longitude"),
    "lat": _l("Latitude"),
    "time": _l("Time"),
    "category": _l("Category"),
    "id": _l("Incident id"),
    "alert": _l("Alert level"),
    "x": _l("x (easting)"),
    "y": _l("y (northing)"),
    "date": _l("Date"),
    "tod": _l("Time of day"),
    "hour": _l("Hour"),
}


@bp.post("/incidents")
@requires("import")
def incidents():
    """Import an incident export (in a job); keep the good rows, report the rest.

    When a column is not recognised (or the officer asked to check them), the column
    mapping is shown instead and the file waits for it.
    """
    upload, err = _upload("file", INCIDENT_TYPES)
    if err:
        return _rejected("incidents", err, 400)
    name, content = upload
    if store.latest_grid(get_db(), current_user.station_id) is None:
        return _rejected(
            "incidents",
            _("Import the station's grid first: incidents are placed in its micro-grids."),
            409,
        )
    pending = _keep("incidents", name, content)
    return _start(pending, "incidents", review=bool(request.form.get("review")))


@bp.post("/incidents/columns")
@requires("import")
def incident_columns():
    """Import a kept incident file with the columns the officer chose (in a job)."""
    pending = _pending("incidents")
    columns = {role: request.form.get(role, "").strip() for role in MAPPED_ROLES}
    chosen = [v for v in columns.values() if v]
    if len(chosen) != len(set(chosen)):
        twice = sorted({v for v in chosen if chosen.count(v) > 1})
        return _mapping(
            pending,
            columns,
            error=_(
                "Each column can hold only one thing; %(cols)s is chosen more than once.",
                cols=", ".join(twice),
            ),
        )
    return _start(pending, "columns", columns=columns)


def _preview(pending: uploads.Pending):
    """The column preview the import job kept with the upload (the file is not read here)."""
    from gridplan.geo.incidents import ColumnPreview

    kept = pending.options["preview"]
    return ColumnPreview(
        source=kept["source"],
        file_format=kept["file_format"],
        columns=tuple(kept["columns"]),
        samples={k: tuple(v) for k, v in kept["samples"].items()},
        guessed=dict(kept["guessed"]),
    )


def _mapping(
    pending: uploads.Pending,
    columns: dict[str, str] | None,
    *,
    missing=(),
    error=None,
    status: int = 422,
):
    """The column-mapping form for a kept incident file, from the job's preview."""
    preview = _preview(pending)
    hidden = ("lon", "lat", "x", "y") if preview.has_geometry else ()
    roles = [r for r in MAPPED_ROLES if r not in hidden]
    if columns is None:
        chosen = dict(preview.guessed)
    else:  # a column the file does not have (a stale or forged choice) shows as unchosen
        chosen = {k: v for k, v in columns.items() if v in preview.columns}
    wanted = {_FORM_ROLE.get(r, r) for r in missing}
    missing_labels = [str(ROLE_LABELS[r]) for r in MAPPED_ROLES if r in wanted]
    other = {
        str(ROLE_LABELS[r]): h
        for r, h in preview.guessed.items()
        if r not in roles
        and r not in hidden
        and r in ROLE_LABELS
        # beside a full date-time column, date and hour columns are not read
        and not ("time" in preview.guessed and r in ("date", "tod", "hour"))
    }
    return render_template(
        "import_columns.html",
        pending=pending,
        preview=preview,
        roles=roles,
        labels=ROLE_LABELS,
        chosen=chosen,
        missing=_(", ").join(missing_labels),
        other=other,
        error=translate(error) if error is not None else None,
    ), status


#: Roles not in the form, named by the one that stands for them there.
_FORM_ROLE = {"x": "lon", "y": "lat", "date": "time", "tod": "time", "hour": "time"}


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
        role_labels=ROLE_LABELS,
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
    from gridplan.io.csvsafe import frame_csv_text  # formula-looking cells get a quote

    content = frame_csv_text(rejects)
    stem = Path(row["source_name"]).name.split(".")[0] or "import"
    audit("download", f"rejects {batch_id}")
    return Response(
        content,
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(f"{stem}-rejected.csv")},
    )
