"""The import job: an upload is read, checked and stored in a job process, never in a request.

A file a station uploads is data from outside, and reading it may take without bound (a
``.csv.gz`` that inflates to gigabytes, a GeoPackage whose layer is a view that never ends).
So every step that reads an upload runs as a job of kind ``import`` (:mod:`gridplan.web.jobs`):
the first look at a grid or incident file, the column preview, the import with the columns
the officer chose, and the grid stored with the repairs the officer confirmed. The readers get
the server's :class:`~gridplan.io.limits.ReadLimits`; the job process limits its own address
space to ``IMPORT_MEMORY_MB`` before it reads, and the dispatcher kills it after
``IMPORT_TIME_LIMIT_S`` seconds. Whatever the job ends with, the officer gets a page: the
import report, the overview, the column mapping, the repairs, or the import page with the
reason in the page's language.

The job writes what the next page needs beside the upload (:mod:`gridplan.web.uploads`): an
*outcome* per job (``next``: ``stored``, ``rejected``, ``mapping`` or ``repairs``, with the
messages as ``{"id", "params"}`` records) and, for a step that waits for the officer, the
column preview or the proposed repairs in the upload's options.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from gridplan._errors import ColumnError
from gridplan._errors import GridplanError
from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import exceeded
from gridplan.web import store
from gridplan.web import uploads

_E_GONE = define(
    "imports.gone",
    N_(
        "%(name)s is no longer waiting (the import was cancelled or is more than a few hours "
        "old); upload the file again"
    ),
)
_E_NO_GRID = define(
    "imports.no_grid",
    N_("Import the station's grid first: incidents are placed in its micro-grids."),
)
_E_NONE_REPAIRABLE = define(
    "imports.none_repairable",
    N_(
        "%(name)s was not imported: %(n)d problems must be fixed first (see the list); "
        "none of them can be repaired automatically."
    ),
)
_E_SOME_REPAIRABLE = define(
    "imports.some_repairable",
    N_(
        "%(name)s was not imported: %(r)d problems can be repaired automatically, but the %(n)d "
        "listed here cannot; fix them in the file and upload it again."
    ),
)
_E_REPAIRS_CHANGED = define(
    "imports.repairs_changed",
    N_(
        "%(name)s was not imported: its repairs are no longer the ones shown (the station "
        "settings changed meanwhile); upload the file again."
    ),
)

#: The steps of an import, as the views queue them (``params["step"]``).
STEPS = ("grid", "grid_repair", "incidents", "columns", "targets", "tracks")


class _Cancelled(Exception):
    """The officer cancelled the import while its job ran: store nothing, say nothing."""


@dataclasses.dataclass(frozen=True)
class _Job:
    """One import job: its row, the upload it reads and the limits it reads it with."""

    con: sqlite3.Connection
    id: int
    station_id: str
    username: str
    ip: str
    pending: uploads.Pending
    limits: ReadLimits

    def local(self, value: Any) -> Any:
        """``value`` (text or a message, its nested ones too) without the upload's folder."""
        if isinstance(value, Message):
            return value.template(**{k: self.local(v) for k, v in value.params.items()})
        folder = str(self.pending.path.parent) + "/"
        return value.replace(folder, "") if type(value) is str else value

    def record(self, value: Any) -> Any:
        """``value`` for the outcome's JSON: a message as its record, without the folder."""
        return store.message_record(self.local(value))

    def audit(self, action: str, **detail: Any) -> None:
        """Log ``action`` on this upload in the audit log, as the officer who sent it."""
        detail = {k: self.local(v) for k, v in detail.items()}
        store.audit(
            self.con, self.username, self.station_id, action, self.pending.name, detail, self.ip
        )

    def stage(self, stage: str) -> None:
        """Show ``stage`` on the job page; stop here if the officer cancelled meanwhile."""
        row = self.con.execute("SELECT status FROM jobs WHERE id=?", (self.id,)).fetchone()
        if row is None or row["status"] != "running":
            raise _Cancelled
        store.update_job(self.con, self.id, stage=stage)


def run_import(
    con, job, params: dict[str, Any], options: dict[str, Any]
) -> tuple[int | None, bool]:
    """Run import job ``job``: ``(stored grid or batch id, whether hot spots are due)``.

    ``params``: ``token`` (the kept upload), ``step`` (one of :data:`STEPS`) and the step's
    choices; ``options``: the server's ``uploads`` folder and ``limits``. The outcome is
    written beside the upload.

    Raises
    ------
    GridplanError
        When the upload is gone (cancelled or expired): the job fails with that message.
    """
    pending = uploads.load(options["uploads"], params.get("token", ""))
    if pending is None:
        raise GridplanError(_E_GONE(name=params.get("name", "?")))
    limits = ReadLimits(**options.get("limits", {}))
    ctx = _Job(
        con, job["id"], job["station_id"], job["created_by"], params.get("ip", ""), pending, limits
    )
    try:
        outcome = _STEPS[params["step"]](ctx, params)
    except _Cancelled:
        return None, False
    except Exception as exc:
        if _out_of_memory(exc):
            outcome = _rejected(ctx, _memory_message(ctx, exc))
        elif isinstance(exc, GridplanError):
            outcome = _rejected(ctx, exc.message or str(exc))
        else:
            raise
    if outcome["next"] in ("stored", "rejected"):
        uploads.used(pending)
    uploads.save_outcome(pending, job["id"], outcome)
    return outcome.get("result_id"), bool(outcome.get("hotspots"))


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed allocation (Python's, or a C or C++ library's).

    Pandas' parser, GEOS and GDAL say "out of memory" or ``std::bad_alloc``, also inside a
    reader's message that calls the file unreadable.
    """
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or "bad_alloc" in text or "out of memory" in text


def _memory_message(ctx: _Job, exc: BaseException) -> Message:
    """The ``IMPORT_MEMORY_MB`` message: the memory the reader asked for, when known."""
    limit = ctx.limits.max_memory_bytes
    asked = int(getattr(exc, "_total_size", 0) or 0)  # NumPy says how much it wanted
    try:
        status = Path("/proc/self/status").read_text()
        used = int(re.search(r"VmSize:\s+(\d+)", status).group(1)) * 1024
    except (OSError, AttributeError):
        used = 0
    return exceeded("max_memory_bytes", max(used + asked, limit), limit, ctx.pending.name)


def _rejected(
    ctx: _Job, message: Any, *, status: int = 422, report=None, audit: bool = True
) -> dict[str, Any]:
    """The outcome of an upload that stores nothing: the import page with ``message``."""
    if audit:
        ctx.audit(f"import_{ctx.pending.kind}_rejected", error=message)
    outcome = {"next": "rejected", "status": status, "error": ctx.record(message)}
    if report is not None:
        outcome["report"] = _report(ctx, report)
    return outcome


def _report(ctx: _Job, report) -> dict[str, Any]:
    """A :class:`~gridplan.geo.validate.ValidationReport` for the page (messages as records)."""
    issues = [
        {
            "severity": i.severity,
            "code": i.code,
            "feature_id": i.feature_id,
            "other_id": i.other_id,
            "message": ctx.record(i.message),
            "fix": ctx.record(i.fix),
        }
        for i in report.issues
    ]
    return {"ok": report.ok, "issues": issues}


def _with_limits(reader: Callable, *args: Any, limits: ReadLimits, **kwargs: Any) -> Any:
    """Call ``reader`` with ``limits=`` when it takes them (each reader checks its own)."""
    if "limits" in inspect.signature(reader).parameters:
        kwargs["limits"] = limits
    return reader(*args, **kwargs)


# --------------------------------------------------------------------------- grids


def _grid(ctx: _Job, params: dict[str, Any]) -> dict[str, Any]:
    """First look at a grid file: store it, offer its repairs, or reject it."""
    g, report, flashes = _check_grid(ctx)
    fixed, repairs, after = _repairs(ctx, g, report)
    if report.ok and (not repairs or not after.ok):
        return _store_grid(ctx, g, report.summary(), warnings=report.warnings, flashes=flashes)
    if not repairs or not after.ok:
        if repairs:
            msg = _E_SOME_REPAIRABLE(name=ctx.pending.name, r=len(repairs), n=len(after.errors))
        else:
            msg = _E_NONE_REPAIRABLE(name=ctx.pending.name, n=len(report.errors))
        return {**_rejected(ctx, msg, report=after), "flashes": flashes}
    records = [r.to_record() for r in repairs]
    uploads.update(
        ctx.pending,
        repairs=records,
        repair_rows=_repair_rows(ctx, g, fixed, report, repairs),
        repair_report={"ok": report.ok},
    )
    ctx.audit("import_grid_repairs_offered", repairs=len(records))
    return {"next": "repairs", "status": 200 if report.ok else 422, "flashes": flashes}


def _grid_repair(ctx: _Job, params: dict[str, Any]) -> dict[str, Any]:
    """Store a kept grid with the repairs the officer saw (or as it is, if valid)."""
    g, report, flashes = _check_grid(ctx)
    name = ctx.pending.name
    if params.get("as_is") and report.ok:  # valid as it is: the officer keeps it so
        return _store_grid(ctx, g, report.summary(), warnings=report.warnings, flashes=flashes)
    fixed, repairs, after = _repairs(ctx, g, report)
    records = [r.to_record() for r in repairs]
    if records != ctx.pending.options.get("repairs") or not after.ok:
        ctx.audit("import_grid_rejected", error="repairs changed")
        return _rejected(ctx, _E_REPAIRS_CHANGED(name=name), status=409, audit=False)
    summary = {**after.summary(), "repaired": True, "repairs": records}
    summary["before_repair"] = report.summary()
    return _store_grid(
        ctx, fixed, summary, warnings=after.warnings, flashes=flashes, repairs=records
    )


def _check_grid(ctx: _Job):
    """Load and validate the kept grid: ``(grid, report, the reader's warnings as records)``."""
    from gridplan.geo.grid import load_grid
    from gridplan.geo.validate import validate_grid

    ctx.stage("read")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        g = _with_limits(
            load_grid, ctx.pending.path, crs=ctx.pending.options.get("crs"), limits=ctx.limits
        )
        ctx.stage("check")
        report = validate_grid(g, config=store.station_config(ctx.con, ctx.station_id))
    flashes = []
    for w in caught:
        if issubclass(w.category, GridplanWarning):
            flashes.append(ctx.record(w.message.args[0]))
        else:  # not ours: on to the usual handling
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return g, report, flashes


def _repairs(ctx: _Job, g, report):
    """What ``fix_grid`` changes: ``(repaired grid, repairs, its report)``."""
    from gridplan.geo.validate import fix_grid
    from gridplan.geo.validate import validate_grid

    if not report.issues:
        return g, (), report
    ctx.stage("repair")
    cfg = store.station_config(ctx.con, ctx.station_id)
    fixed, repairs = fix_grid(g, config=cfg)
    return fixed, repairs, validate_grid(fixed, config=cfg)


def _repair_rows(ctx: _Job, before, after, report, repairs) -> list[dict]:
    """One row per proposed repair: feature, its problems, the repair, the area it changes."""
    from gridplan.geo.validate import changed_area_m2

    cfg = store.station_config(ctx.con, ctx.station_id)
    areas = changed_area_m2(before, after, config=cfg)
    parent = dict(zip(before["id"].astype(str), before["parent_id"], strict=True))
    return [
        {
            "feature_id": r.feature_id,
            "problems": _problems_of(r, report, parent.get(r.feature_id)),
            "action": r.action,
            "detail": ctx.record(r.detail),
            "area_m2": float(areas.get(r.feature_id, 0.0)),
        }
        for r in repairs
    ]


def _problems_of(repair, report, parent_id) -> list[str]:
    """The codes of the issues a repair answers (a gap is reported on the parent it is in)."""
    codes = {i.code for i in report.issues if repair.feature_id in (i.feature_id, i.other_id)}
    if repair.action == "fill_gap":
        codes |= {i.code for i in report.issues if i.feature_id == parent_id and "gap" in i.code}
    return sorted(codes)


def _store_grid(ctx: _Job, g, summary: dict, *, warnings=(), flashes=(), repairs=None):
    """Store ``g`` as the station's next grid version and audit it."""
    ctx.stage("store")
    try:
        grid_id, version = store.save_grid(
            ctx.con,
            ctx.station_id,
            g,
            source_name=ctx.pending.name,
            username=ctx.username,
            report=summary,
        )
    except GridplanError as exc:
        return _rejected(ctx, exc.message or str(exc))
    detail = {"grid_id": grid_id, "version": version, "micro": int((g["level"] == "micro").sum())}
    if repairs is not None:
        detail.update(repaired=True, repairs=repairs)
    ctx.audit("import_grid", **detail)
    return {
        "next": "stored",
        "result_id": grid_id,
        "version": version,
        "repairs": len(repairs or ()),
        "warnings": [ctx.record(w.message) for w in warnings[:1]],
        "n_warnings": len(warnings),
        "flashes": list(flashes),
        "hotspots": True,
    }


# --------------------------------------------------------------------------- incidents


def _incidents(ctx: _Job, params: dict[str, Any]) -> dict[str, Any]:
    """Import an incident file; the column mapping when asked for or its columns do not fit."""
    if params.get("review"):
        return _mapping(ctx, None, status=200)
    return _import_incidents(ctx, None)


def _columns(ctx: _Job, params: dict[str, Any]) -> dict[str, Any]:
    """Import a kept incident file with the columns the officer chose."""
    return _import_incidents(ctx, dict(params.get("columns") or {}))


def _import_incidents(ctx: _Job, columns: dict[str, str] | None) -> dict[str, Any]:
    from gridplan.geo.incidents import import_incidents

    grid_row = store.latest_grid(ctx.con, ctx.station_id)
    if grid_row is None:
        return _rejected(ctx, _E_NO_GRID(), status=409)
    ctx.stage("read")
    try:
        result = _with_limits(
            import_incidents,
            ctx.pending.path,
            config=store.station_config(ctx.con, ctx.station_id),
            station=store.load_grid(ctx.con, grid_row["id"]),
            columns=columns,
            limits=ctx.limits,
        )
    except ColumnError as exc:
        ctx.audit("import_incidents_columns", missing=list(exc.roles))
        return _mapping(ctx, columns, missing=exc.roles)
    except InputError as exc:  # the wrong columns, perhaps: let the officer choose
        if not _is_limit(exc) and not _out_of_memory(exc):
            ctx.audit("import_incidents_rejected", error=exc.message or str(exc))
            return _mapping(ctx, columns, error=exc.message or str(exc))
        raise
    ctx.stage("store")
    batch_id, added, already = store.save_incident_batch(
        ctx.con, ctx.station_id, result, source_name=ctx.pending.name, username=ctx.username
    )
    detail = {"batch_id": batch_id, "added": added, "already": already}
    if columns is not None:
        detail["columns"] = {k: v for k, v in columns.items() if v}
    ctx.audit("import_incidents", rejected=len(result.rejects), **detail)
    return {"next": "stored", "result_id": batch_id, "hotspots": bool(added)}


def _is_limit(exc: GridplanError) -> bool:
    """Whether ``exc`` is a read limit (no column choice makes such a file readable)."""
    return isinstance(exc.message, Message) and exc.message.id.startswith("limits.")


def _mapping(ctx: _Job, columns, *, missing=(), error=None, status: int = 422) -> dict:
    """The column mapping's outcome; the preview it shows is kept with the upload."""
    from gridplan.geo.incidents import preview_columns

    ctx.stage("preview")
    try:
        preview = _with_limits(preview_columns, ctx.pending.path, limits=ctx.limits)
    except GridplanError as exc:
        if _out_of_memory(exc) or _is_limit(exc):
            raise
        return _rejected(ctx, error or exc.message or str(exc), audit=error is None)
    uploads.update(
        ctx.pending,
        preview={
            "source": ctx.pending.name,
            "file_format": preview.file_format,
            "columns": list(preview.columns),
            "samples": {k: list(v) for k, v in preview.samples.items()},
            "guessed": dict(preview.guessed),
        },
    )
    return {
        "next": "mapping",
        "status": status,
        "columns": columns,
        "missing": list(missing),
        "error": None if error is None else ctx.record(error),
    }


# --------------------------------------------------------------------------- targets


def _targets(ctx: _Job, params: dict[str, Any]) -> dict[str, Any]:
    """Store the key road sections and timed targets of a layer; each bad feature named."""
    from gridplan.routing.targets import read_targets

    ctx.stage("read")
    targets, rejected = read_targets(ctx.pending.path, limits=ctx.limits)
    ctx.stage("store")
    store.save_targets(ctx.con, ctx.station_id, targets, ctx.username)
    ctx.audit("import_targets", targets=[t.id for t in targets], rejected=len(rejected))
    return {
        "next": "stored",
        "result_id": None,
        "n": len(targets),
        "warnings": [ctx.record(m) for m in rejected[:20]],
        "n_warnings": len(rejected),
    }


# --------------------------------------------------------------------------- tracks

#: Rejected fixes kept with a track batch for its report (the first ones, in row order).
MAX_TRACK_REJECTS = 1000

_E_TRACK_COLUMNS = define(
    "imports.track_columns",
    N_(
        "%(name)s: no column was recognised as %(roles)s; the file's columns are %(columns)s. "
        "Write the column's name in the form's Columns fields and upload it again."
    ),
)


def _tracks(ctx: _Job, params: dict[str, Any]) -> dict[str, Any]:
    """Read a patrol track (GPX, CSV, XLSX), clean it and store its fixes as one batch.

    ``params``: ``patroller`` (roster id; empty: the file's patroller column), ``datum``
    (empty: WGS 84 for GPX, the station's ``crs.coordinates`` for tables), ``mode`` (how they
    moved; empty: each patroller's roster mode, on foot for one not in the roster) and
    ``columns`` (role -> header, the roles left empty are found by name).
    """
    from gridplan.tracks.fixes import import_track

    cfg = store.station_config(ctx.con, ctx.station_id)
    columns = {k: v for k, v in dict(params.get("columns") or {}).items() if v}
    ctx.stage("read")
    try:
        result = import_track(
            ctx.pending.path,
            patroller=params.get("patroller") or None,
            mode=params.get("mode") or {p.id: p.mode for p in cfg.roster},
            config=cfg,
            datum=params.get("datum") or None,
            columns=columns or None,
            limits=ctx.limits,
        )
    except ColumnError as exc:
        roles = ", ".join(exc.roles) or "?"
        msg = _E_TRACK_COLUMNS(
            name=ctx.pending.name, roles=roles, columns=", ".join(exc.columns[:30]) or "-"
        )
        return _rejected(ctx, msg, status=422)
    ctx.stage("store")
    batch_id, _n = store.save_track_batch(
        ctx.con,
        ctx.station_id,
        result.fixes,
        patroller_id=params.get("patroller") or ", ".join(result.patrollers)[:200],
        source_name=ctx.pending.name,
        username=ctx.username,
        n_rejected=len(result.rejects),
        summary=_track_summary(ctx, result),
        ip=ctx.ip,
    )
    return {"next": "stored", "result_id": batch_id}


def _track_summary(ctx: _Job, result) -> dict[str, Any]:
    """A track import's summary for its report: counts, choices, rejects and warnings."""
    summary = result.summary()
    summary["source"] = ctx.pending.name
    summary["warnings"] = [ctx.record(w) for w in result.warnings]
    rejects = result.rejects.head(MAX_TRACK_REJECTS)
    summary["rejects"] = [
        {
            "row": None if pd.isna(r.row) else int(r.row),
            "patroller": str(r.patroller),
            "time": str(r.time),
            "column": str(r.column),
            "value": str(r.value),
            "reason": ctx.record(r.reason),
        }
        for r in rejects.itertuples()
    ]
    return summary


_STEPS: dict[str, Callable[[_Job, dict[str, Any]], dict[str, Any]]] = {
    "grid": _grid,
    "grid_repair": _grid_repair,
    "incidents": _incidents,
    "columns": _columns,
    "targets": _targets,
    "tracks": _tracks,
}
