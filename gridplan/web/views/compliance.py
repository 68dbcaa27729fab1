"""A plan held against what the patrols did: per stop, per patroller and per top hot spot.

The Compliance page of a plan takes the check-ins of that plan (the phone page) and the stored
track fixes of the plan's day (the Tracks page) and hands them to
:func:`gridplan.tracks.compliance.compute_compliance`, which does all the measuring: whether
each stop was visited, late or missed and the dwell achieved, each patroller's stops, minutes
tracked and unknown, and the minutes planned against the minutes present at each top hot spot.
The page shows that with a bar chart of planned against present minutes per top hot spot
(inline SVG, drawn here), a map of the minutes present per micro-grid
(:func:`gridplan.maps.webmaps.presence_map`) and the warnings (coarse tracks, unknown time),
and offers the report as CSV (through :mod:`gridplan.io.csvsafe`) and GeoPackage. Like every
page of a plan, another station's plan is a 404.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import pandas as pd
from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang
from gridplan.web.i18n import translate
from gridplan.web.security import add_nonce
from gridplan.web.security import script_parts
from gridplan.web.views.patrol import check_ins_frame
from gridplan.web.views.plans import plan_row_or_404

bp = Blueprint("compliance", __name__, url_prefix="/plans")

#: How a stop went, as the page names the statuses of :data:`gridplan.tracks.compliance.STATUSES`.
STATUS_LABELS = {
    "visited": _l("visited"),
    "late": _l("late"),
    "missed": _l("missed"),
    "no_track": _l("no track"),
    "not_measured": _l("not measured"),
}

#: Fixes this long before the first slice and after the last are read too (a stop's window
#: reaches ``after_min`` past its departure, a night shift past midnight).
MARGIN = dt.timedelta(hours=2)

#: The tables of the report a CSV download can hold.
TABLES = ("stops", "patrollers", "hotspots")


def _span(plan) -> tuple[dt.datetime, dt.datetime] | None:
    if not plan.slices:
        return None
    return min(s.start for s in plan.slices) - MARGIN, max(s.end for s in plan.slices) + MARGIN


def _fingerprint(plan_id: int, span, sid: str) -> tuple:
    """What the report depends on that can change: the day's fixes and the plan's check-ins."""
    con = get_db()
    fixes = (0, 0)
    if span is not None:
        fixes = tuple(
            con.execute(
                "SELECT COUNT(*), COALESCE(MAX(batch_id), 0) FROM track_fixes "
                "WHERE station_id=? AND time>=? AND time<?",
                (sid, *(t.astimezone(dt.UTC).isoformat(timespec="seconds") for t in span)),
            ).fetchone()
        )
    check_ins = tuple(
        con.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM check_ins WHERE station_id=? AND plan_id=?",
            (sid, plan_id),
        ).fetchone()
    )
    return fixes + check_ins


def _report(row):
    """The plan's compliance report, made again only when its fixes or check-ins changed."""
    return plan_report(row, current_user.station_id)


def plan_report(row, sid: str):
    """``(plan, (report, n_fixes, n_check_ins))`` of plan ``row`` of station ``sid``, cached.

    The bureau page reads its stations' reports through this too.
    """
    from gridplan.io.track_files import check_ins_from_frame
    from gridplan.tracks.compliance import compute_compliance

    plan_id = row["id"]
    plan = data.cached(("plan", plan_id), lambda: store.plan_from_row(row))
    cfg = data.config(sid)
    span = _span(plan)

    def make():
        con = get_db()
        # a plan without slices has no day to measure: no fixes (the epoch bounds none)
        since, before = span if span is not None else (None, dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
        fixes = store.load_fixes(con, sid, cfg.timezone, since=since, before=before)
        rows = store.list_check_ins(con, sid, plan_ids=[plan_id])
        frame = check_ins_frame(plan, rows, cfg.tz, {})
        check_ins = check_ins_from_frame(frame)
        report = compute_compliance(
            plan, fixes, data.grid(row["grid_id"]), check_ins=check_ins, config=cfg
        )
        return report, len(fixes), len(rows)

    toml = store.get_station(get_db(), sid)["config_toml"]  # slices, timezone, grid CRS
    key = ("compliance", plan_id, hash(toml), *_fingerprint(plan_id, span, sid))
    return plan, data.cached(key, make, size=8)


def bar_chart(hotspots, labels: dict[str, str], *, width: int = 640) -> dict:
    """Planned against present minutes per top hot spot, laid out for the page's SVG.

    One group per row of a compliance report's ``hotspots``: a grey bar of the planned
    minutes, a blue bar of the minutes present with a whisker of their error, on one scale.
    """
    left, bar, gap = 170, 11, 10
    rows = list(hotspots.itertuples(index=False))
    top = max([1.0, *(max(r.planned_min, r.actual_min + r.error_min) for r in rows)])
    step = 10 ** math.floor(math.log10(top))
    top = math.ceil(top / step) * step
    scale = (width - left - 50) / top
    groups = []
    for k, r in enumerate(rows):
        y = 24 + k * (2 * bar + gap)
        err = r.error_min * scale
        groups.append(
            {
                "label": f"{labels.get(r.slice, r.slice)} · {r.micro_id}",
                "y": y,
                "planned": round(r.planned_min * scale, 1),
                "actual": round(r.actual_min * scale, 1),
                "err_lo": round(max(r.actual_min * scale - err, 0), 1),
                "err_hi": round(r.actual_min * scale + err, 1),
                "planned_min": r.planned_min,
                "actual_min": r.actual_min,
                "error_min": r.error_min,
                "short": r.actual_min < r.planned_min * 0.9,
            }
        )
    ticks = [
        {"x": round(left + t * step * scale, 1), "label": f"{t * step:g}"}
        for t in range(int(top / step) + 1)
    ]
    height = 24 + len(rows) * (2 * bar + gap) + 24
    return {"groups": groups, "ticks": ticks, "left": left, "bar": bar, "height": height,
            "width": width}  # fmt: skip


def _stop_rows(stops) -> list[dict]:
    """The report's stops for the table: planned and arrival times as HH:MM (station time)."""
    rows = []
    for s in stops.to_dict("records"):
        arrived = s["arrived"]
        s["planned"] = f"{s['planned_arrival']:%H:%M}-{s['planned_departure']:%H:%M}"
        s["arrived_text"] = "" if arrived is None or pd.isna(arrived) else f"{arrived:%H:%M}"
        rows.append(s)
    return rows


@bp.get("/<int:plan_id>/compliance")
@requires("read")
def page(plan_id: int):
    """The plan against the tracks and check-ins of its day."""
    from gridplan.web.retention import cutoff

    row = plan_row_or_404(plan_id)
    plan, (report, n_fixes, n_check_ins) = _report(row)
    cfg = data.config(current_user.station_id)
    labels = data.slice_labels(cfg, current_lang())
    stops = _stop_rows(report.stops)
    unknown = report.patrollers[report.patrollers["unknown_min"] > 0]
    return render_template(
        "compliance.html",
        row=row,
        plan=plan,
        report=report,
        counts=report.counts(),
        stops=stops,
        patrollers=report.patrollers.to_dict("records"),
        hotspots=report.hotspots.to_dict("records"),
        chart=bar_chart(report.hotspots, labels),
        warnings=[translate(w) for w in report.warnings],
        unknown=unknown.to_dict("records"),
        n_fixes=n_fixes,
        n_check_ins=n_check_ins,
        status_labels=STATUS_LABELS,
        slice_labels=labels,
        # the day's raw positions are gone after the station's retention (presence is kept)
        purged=plan.date < cutoff(cfg).date(),
        retention_days=cfg.track_retention_days,
    )


@bp.get("/<int:plan_id>/compliance/map")
@requires("read")
def map_frame(plan_id: int):
    """The map of the minutes present per micro-grid and the stops by status (a frame)."""
    from gridplan.maps.webmaps import presence_map

    row = plan_row_or_404(plan_id)
    _plan, (report, _n, _c) = _report(row)
    planned = report.hotspots.groupby("micro_id")["planned_min"].sum().to_dict()
    m = presence_map(
        data.grid(row["grid_id"]),
        report.presence.minutes,
        planned=planned,
        stops=report.stops,
        lang=current_lang(),
        tiles=current_app.config["TILES"],
        attribution=current_app.config["TILES_ATTRIBUTION"] or None,
        static_url=url_for("static", filename=""),
    )
    return add_nonce(script_parts(m.get_root().render()))


def _name(row, suffix: str) -> str:
    return f"{current_user.station_id}-compliance-{row['date']}-v{row['version']}{suffix}"


@bp.get("/<int:plan_id>/compliance.csv")
@requires("export")
def csv(plan_id: int):
    """One table of the report as spreadsheet-safe CSV: ``?table=stops|patrollers|hotspots``."""
    from gridplan.io.csvsafe import frame_csv_text
    from gridplan.io.track_files import compliance_tables
    from gridplan.web.views.downloads import attachment

    table = request.args.get("table", "stops")
    if table not in TABLES:
        abort(404)
    row = plan_row_or_404(plan_id)
    _plan, (report, _n, _c) = _report(row)
    name = _name(row, f"-{table}.csv")
    audit("export", name)
    return Response(
        frame_csv_text(compliance_tables(report)[table]),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(name)},
    )


@bp.get("/<int:plan_id>/compliance.gpkg")
@requires("export")
def gpkg(plan_id: int):
    """The report as a GeoPackage: stops by status, top hot spots, patrollers, presence."""
    from gridplan.io.track_files import write_compliance
    from gridplan.web.views.downloads import attachment

    row = plan_row_or_404(plan_id)
    _plan, (report, _n, _c) = _report(row)
    name = _name(row, ".gpkg")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "compliance.gpkg"
        write_compliance(report, path, grid=data.grid(row["grid_id"]))
        content = path.read_bytes()
    audit("export", name)
    return Response(
        content,
        mimetype="application/geopackage+sqlite3",
        headers={"Content-Disposition": attachment(name)},
    )
