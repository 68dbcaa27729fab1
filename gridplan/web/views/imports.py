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
import warnings
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from gridplan._errors import ColumnError
from gridplan._errors import GridplanError
from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan._messages import Message
from gridplan.web import data
from gridplan.web import jobs
from gridplan.web import store
from gridplan.web import uploads
from gridplan.web.auth import audit
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
    grid_row = store.latest_grid(con, sid)
    report = json.loads(grid_row["report_json"] or "{}") if grid_row else {}
    return render_template(
        "imports.html",
        kind=None,
        batches=batches,
        grid_row=grid_row,
        grid_repairs=report.get("repairs") or [],
    )


def _clean(exc: GridplanError, pending: uploads.Pending):
    """The error's message (or text) without the server-side folder of the upload."""
    message = exc.message
    if message is None:
        return _local(str(exc), pending)
    return _local(message, pending)


def _local(value, pending: uploads.Pending):
    """``value`` (text or a message, its nested ones too) without the upload's folder."""
    if isinstance(value, Message):
        return value.template(**{k: _local(v, pending) for k, v in value.params.items()})
    folder = str(pending.folder) + "/"
    return value.replace(folder, "") if type(value) is str else value


def _keep(kind: str, name: str, content: bytes, **options) -> uploads.Pending:
    return uploads.keep(
        kind,
        name,
        content,
        user_id=current_user.id,
        station_id=current_user.station_id,
        options=options,
    )


def _pending(kind: str) -> uploads.Pending:
    """The upload the form's token names, if it is this user's and this step's (else 404)."""
    pending = uploads.find(
        request.form.get("token", ""),
        kind,
        user_id=current_user.id,
        station_id=current_user.station_id,
    )
    if pending is None:
        msg = _(
            "This upload is no longer waiting (it was imported, cancelled or is more than a "
            "few hours old); upload the file again."
        )
        abort(make_response(error_response(404, msg)))
    return pending


@bp.post("/cancel")
@requires("import")
def cancel():
    """Drop an upload that waits for the column mapping or the repairs."""
    pending = uploads.find(
        request.form.get("token", ""),
        request.form.get("kind", ""),
        user_id=current_user.id,
        station_id=current_user.station_id,
    )
    if pending is not None:
        uploads.discard(pending)
        audit("import_cancelled", pending.name)
    return redirect(url_for("imports.page"))


# --------------------------------------------------------------------------- grids


@bp.post("/grid")
@requires("import")
def grid():
    """Check a 1+5+N grid file; store it as the next version, or offer its repairs."""
    upload, err = _upload("file", GRID_TYPES)
    if err:
        return _rejected("grid", err, 400)
    name, content = upload
    crs = request.form.get("crs", "").strip() or None
    pending = _keep("grid", name, content, crs=crs)
    try:
        g, report = _check_grid(pending)
        fixed, repairs, after = _repairs(g, report)
    except GridplanError as exc:
        uploads.discard(pending)
        audit("import_grid_rejected", name, error=_clean(exc, pending))
        return _rejected("grid", _clean(exc, pending))
    if report.ok and (not repairs or not after.ok):
        uploads.discard(pending)
        return _store_grid(name, g, report.summary(), warnings=report.warnings)
    if not repairs or not after.ok:
        uploads.discard(pending)
        audit("import_grid_rejected", name, errors=len(report.errors))
        return _rejected("grid", _unrepairable(name, report, after, repairs), report=after)
    records = [r.to_record() for r in repairs]
    pending = uploads.update(pending, repairs=records)
    audit("import_grid_repairs_offered", name, repairs=len(records))
    return render_template(
        "imports.html",
        kind="grid",
        repair=_repair_rows(g, fixed, report, repairs),
        repair_report=report,
        pending=pending,
    ), (200 if report.ok else 422)


def _check(g):
    from gridplan.geo.validate import validate_grid

    return validate_grid(g, config=data.config(current_user.station_id))


def _check_grid(pending: uploads.Pending):
    """Load and validate a kept grid upload: ``(grid, report)``.

    The library's warnings about the file (parents derived from overlaps, a metric CRS meant
    for a neighbouring area) are flashed in the UI's language.
    """
    from gridplan.geo.grid import load_grid

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        g = load_grid(pending.path, crs=pending.options.get("crs"))
        report = _check(g)
    for w in caught:
        if issubclass(w.category, GridplanWarning):
            flash(translate(_local(w.message.args[0], pending)), "warning")
        else:  # not ours: on to the usual handling
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return g, report


def _repairs(g, report):
    """What ``fix_grid`` changes: ``(repaired grid, repairs, its report)``.

    A grid without any issue is returned as it is, without trying.
    """
    from gridplan.geo.validate import fix_grid

    if not report.issues:
        return g, (), report
    fixed, repairs = fix_grid(g, config=data.config(current_user.station_id))
    return fixed, repairs, _check(fixed)


def _unrepairable(name: str, report, after, repairs) -> str:
    if not repairs:
        return _(
            "%(name)s was not imported: %(n)d problems must be fixed first (see the list); "
            "none of them can be repaired automatically.",
            name=name,
            n=len(report.errors),
        )
    return _(
        "%(name)s was not imported: %(r)d problems can be repaired automatically, but the %(n)d "
        "listed here cannot; fix them in the file and upload it again.",
        name=name,
        r=len(repairs),
        n=len(after.errors),
    )


#: What fix_grid does, as the import report names it.
REPAIR_LABELS = {
    "make_valid": _l("ring made valid"),
    "clip_to_parent": _l("clipped to its parent grid"),
    "clip_overlap": _l("overlap with a neighbour removed"),
    "fill_gap": _l("gap given to this grid"),
}


def _repair_rows(before, after, report, repairs) -> list[dict]:
    """One row per proposed repair: feature, its problems, the repair, the area it changes."""
    from gridplan.geo.validate import changed_area_m2

    areas = changed_area_m2(before, after, config=data.config(current_user.station_id))
    parent = dict(zip(before["id"].astype(str), before["parent_id"], strict=True))
    rows = []
    for r in repairs:
        rows.append(
            {
                "feature_id": r.feature_id,
                "problems": _problems_of(r, report, parent.get(r.feature_id)),
                "action": REPAIR_LABELS.get(r.action, r.action),
                "detail": r.detail,
                "area_m2": areas.get(r.feature_id, 0.0),
            }
        )
    return rows


def _problems_of(repair, report, parent_id) -> list[str]:
    """The codes of the issues a repair answers (a gap is reported on the parent it is in)."""
    codes = {i.code for i in report.issues if repair.feature_id in (i.feature_id, i.other_id)}
    if repair.action == "fill_gap":
        codes |= {i.code for i in report.issues if i.feature_id == parent_id and "gap" in i.code}
    return sorted(codes)


@bp.post("/grid/repair")
@requires("import")
def repair_grid():
    """Store a kept grid, with the repairs the officer saw, as the station's next version.

    A grid valid without them (the repairs only clear warnings) may be kept as it is.
    """
    pending = _pending("grid")
    try:
        g, report = _check_grid(pending)
        fixed, repairs, after = _repairs(g, report)
    except GridplanError as exc:
        uploads.discard(pending)
        return _rejected("grid", _clean(exc, pending))
    if request.form.get("as_is") and report.ok:  # valid as it is: the officer keeps it so
        uploads.discard(pending)
        return _store_grid(pending.name, g, report.summary(), warnings=report.warnings)
    records = [r.to_record() for r in repairs]
    if records != pending.options.get("repairs") or not after.ok:
        uploads.discard(pending)
        audit("import_grid_rejected", pending.name, error="repairs changed")
        return _rejected(
            "grid",
            _(
                "%(name)s was not imported: its repairs are no longer the ones shown (the "
                "station settings changed meanwhile); upload the file again.",
                name=pending.name,
            ),
            409,
        )
    summary = {**after.summary(), "repaired": True, "repairs": records}
    summary["before_repair"] = report.summary()
    response = _store_grid(pending.name, fixed, summary, warnings=after.warnings, repairs=records)
    uploads.discard(pending)
    return response


def _store_grid(name: str, g, summary: dict, *, warnings=(), repairs=None):
    """Store ``g`` as the next grid version, audit it and go to the overview."""
    sid = current_user.station_id
    try:
        grid_id, version = store.save_grid(
            get_db(), sid, g, source_name=name, username=current_user.username, report=summary
        )
    except GridplanError as exc:
        return _rejected("grid", str(exc))
    detail = {"grid_id": grid_id, "version": version, "micro": int((g["level"] == "micro").sum())}
    if repairs is not None:
        detail.update(repaired=True, repairs=repairs)
    audit("import_grid", name, **detail)
    if repairs:
        flash(
            _(
                "%(name)s imported as grid version %(v)d after %(n)d repairs.",
                name=name,
                v=version,
                n=len(repairs),
            ),
            "success",
        )
    else:
        flash(_("%(name)s imported as grid version %(v)d.", name=name, v=version), "success")
    if warnings:
        flash(
            _("%(n)d warnings: %(first)s", n=len(warnings), first=translate(warnings[0].message)),
            "warning",
        )
    jobs.start_hotspots(sid, current_user.username)
    return redirect(url_for("overview.index"))


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
    """Import an incident export; keep the good rows, report the rest.

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
    if request.form.get("review"):
        return _mapping(pending, None, status=200)
    return _import_incidents(pending, None)


@bp.post("/incidents/columns")
@requires("import")
def incident_columns():
    """Import a kept incident file with the columns the officer chose."""
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
    return _import_incidents(pending, columns)


def _import_incidents(pending: uploads.Pending, columns: dict[str, str] | None):
    """Import a kept incident file; the mapping form again when its columns do not fit."""
    from gridplan.geo.incidents import import_incidents

    con = get_db()
    sid = current_user.station_id
    grid_row = store.latest_grid(con, sid)
    name = pending.name
    try:
        result = import_incidents(
            pending.path,
            config=data.config(sid),
            station=data.grid(grid_row["id"]),
            columns=columns,
        )
    except ColumnError as exc:
        audit("import_incidents_columns", name, missing=list(exc.roles))
        return _mapping(pending, columns, missing=exc.roles)
    except GridplanError as exc:
        msg = _clean(exc, pending)
        audit("import_incidents_rejected", name, error=msg)
        if isinstance(exc, InputError):  # the wrong columns, perhaps: let the officer choose
            return _mapping(pending, columns, error=msg)
        uploads.discard(pending)
        return _rejected("incidents", msg)
    batch_id, added, already = store.save_incident_batch(
        con, sid, result, source_name=name, username=current_user.username
    )
    uploads.discard(pending)
    detail = {"batch_id": batch_id, "added": added, "already": already}
    if columns is not None:
        detail["columns"] = {k: v for k, v in columns.items() if v}
    audit("import_incidents", name, rejected=len(result.rejects), **detail)
    if added:
        jobs.start_hotspots(sid, current_user.username)
    return redirect(url_for("imports.batch", batch_id=batch_id))


def _mapping(
    pending: uploads.Pending,
    columns: dict[str, str] | None,
    *,
    missing=(),
    error=None,
    status: int = 422,
):
    """The column-mapping form for a kept incident file (a rejection if it is no table)."""
    from gridplan.geo.incidents import preview_columns

    try:
        preview = preview_columns(pending.path)
    except GridplanError as exc:
        uploads.discard(pending)
        return _rejected("incidents", error or _clean(exc, pending))
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
