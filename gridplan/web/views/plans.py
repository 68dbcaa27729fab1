"""Plan patrols: the planning form, the background solve with progress, the result map.

A plan is never changed: a re-plan (after pinning or excluding micro-grids on the map) makes
a new version of the same date with a link to the plan it came from. The newest version of a
date is the current plan; lists show it first and mark the others "superseded by vN", and a
superseded plan's page and route sheets say so (see :func:`gridplan.web.store.current_plan`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import zoneinfo

from flask import Blueprint
from flask import abort
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from gridplan._errors import PlanRequestError
from gridplan.routing.request import PlanRequest
from gridplan.routing.request import build_request
from gridplan.station.roster import MAX_PRESENCE_DAYS
from gridplan.web import data
from gridplan.web import jobs
from gridplan.web import store
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang
from gridplan.web.i18n import translate
from gridplan.web.params import parse_int
from gridplan.web.params import store_id
from gridplan.web.security import add_nonce
from gridplan.web.security import error_response
from gridplan.web.security import script_parts
from gridplan.web.views.patrol import check_ins_frame
from gridplan.web.views.patrol import stop_check_ins

bp = Blueprint("plans", __name__, url_prefix="/plans")

_ID_LIST = re.compile(r"[\s,;，；]+")

#: risk classes of the dwell policy, as the plan form names them
CLASS_LABELS = {"top": _l("top hot spots"), "high": _l("high risk"), "other": _l("other")}


def plan_row_or_404(plan_id: int):
    """The station's plan row ``plan_id`` (404 for another station's or a missing plan)."""
    row = store.get_plan_row(get_db(), plan_id, current_user.station_id)
    if row is None:
        abort(404)
    return row


def superseded_by(row) -> int | None:
    """The current version of a plan row's date if the row is an earlier one, else ``None``.

    ``row`` has ``version`` and ``current_version`` (:func:`gridplan.web.store.list_plans`).
    """
    current = row["current_version"]
    return int(current) if current is not None and current != row["version"] else None


def _tomorrow(tz) -> dt.date:
    return dt.datetime.now(tz).date() + dt.timedelta(days=1)


def _micro_ids(grid_row) -> tuple[list[str], Markup]:
    """The grid's micro-grid ids, and their ``<option>`` list (made once per grid version)."""
    g = data.grid(grid_row["id"])
    ids = sorted(g.loc[g["level"] == "micro", "id"].astype(str))
    return ids, Markup("").join(Markup('<option value="{}">').format(i) for i in ids)


def _form_context(cfg, params: dict | None = None) -> dict:
    lang = current_lang()
    params = params or {}
    grid_row = store.latest_grid(get_db(), current_user.station_id)
    micro_ids: list[str] = []
    datalist = Markup("")
    if grid_row is not None:
        micro_ids, datalist = data.cached(
            ("micro_ids", grid_row["id"]), lambda: _micro_ids(grid_row)
        )
    return {
        "cfg": cfg,
        "slice_labels": data.slice_labels(cfg, lang),
        "params": params,
        "default_date": params.get("date") or _tomorrow(cfg.tz).isoformat(),
        "micro_ids": micro_ids,
        "micro_datalist": datalist,
        "windows": {
            p.id: [
                ", ".join(
                    f"{a // 60 % 24:02d}:{a % 60:02d}-{b // 60 % 24:02d}:{b % 60:02d}"
                    for a, b in p.windows_on(d)
                )
                or "-"
                for d in range(7)
            ]
            for p in cfg.roster
        },
        "policy": cfg.patrol,
        "max_presence_days": MAX_PRESENCE_DAYS,
        "CLASS_LABELS": CLASS_LABELS,
    }


@bp.get("/")
def index():
    """Plans of the station (leads and patrollers: their team's route sheets) and the plan form."""
    con = get_db()
    sid = current_user.station_id
    plans = [
        {
            **dict(r),
            "summary": data.plan_summary(r),
            "params": json.loads(r["params_json"]),
            "superseded_by": superseded_by(r),
        }
        for r in store.list_plans(con, sid, limit=60)
    ]
    if current_user.team_only:
        team = current_user.team_id
        plans = [
            p
            for p in plans
            if any(
                r["patroller_id"] == team and r["stops"]
                for s in p["summary"]["slices"]
                for r in s["routes"]
            )
        ]
        # a superseded version whose successor has no route for the team: say so
        listed = {(p["date"], p["version"]) for p in plans}
        for p in plans:
            p["successor_listed"] = (p["date"], p["superseded_by"]) in listed
        return render_template("plans_lead.html", plans=plans, team=team)
    cfg = data.config(sid)
    ready = store.latest_hotspot_run(con, sid) is not None
    running = con.execute(
        "SELECT id, status, stage, done, total FROM jobs WHERE station_id=? AND kind='plan' "
        "AND status IN ('queued','running') ORDER BY id DESC",
        (sid,),
    ).fetchall()
    failed = _unresolved_failures(con, sid, plans)
    retry = _retry_params(con, sid, request.args.get("retry", ""))
    return render_template(
        "plans.html",
        plans=plans,
        ready=ready,
        running=running,
        failed=failed,
        retrying=retry is not None,
        **_form_context(cfg, retry),
    )


def _unresolved_failures(con, sid: str, plans: list[dict]) -> list[dict]:
    """The station's recent failed plan jobs that no later plan of their date made good."""
    out = []
    for row in store.list_failed_jobs(con, sid, kind="plan", limit=10):
        params = json.loads(row["params_json"])
        later = [p for p in plans if p["date"] == params.get("date")]
        if any(p["created_at"] > row["created_at"] for p in later):
            continue
        out.append(
            {**dict(row), "params": params, "reason": job_reason(row), "retry": _retry_url(row)}
        )
    return out[:5]


def _retry_params(con, sid: str, job_id: str) -> dict | None:
    """The form values of failed plan job ``job_id`` of station ``sid``, for "try again"."""
    if store_id(job_id) is None:
        return None
    row = store.get_job(con, store_id(job_id), sid)
    if row is None or row["kind"] != "plan":
        return None
    return json.loads(row["params_json"])


#: the largest route variant (solver seed) the form takes
MAX_SEED = 2**31 - 1


def _ascii(text: str) -> str:
    """Return ``text`` stripped (100 characters), characters beyond ASCII escaped.

    A number written in other digits (``²``, ``١``) is then refused as not a number instead of
    reaching ``int()``.
    """
    return text.strip()[:100].encode("ascii", "backslashreplace").decode("ascii")


def _ids(text: str) -> list[str]:
    return sorted({t for t in _ID_LIST.split(text or "") if t})


def parse_plan_form(form, cfg, grid) -> tuple[PlanRequest | None, list[str]]:
    """The officer's plan request from ``form``, or ``None`` and what is wrong, translated.

    The request is checked against the station config ``cfg`` and its ``grid`` by
    :func:`~gridplan.routing.request.build_request`, every problem at once; the form adds
    whether the plan to re-plan from is one of the station's.
    """
    errors: list[str] = []
    dwell = {cls: _ascii(form.get(f"dwell_{cls}", "")) for cls in CLASS_LABELS}
    parent = _ascii(form.get("parent_id", ""))
    seed = _ascii(form.get("seed", ""))
    plan_request = None
    try:
        plan_request = build_request(
            cfg,
            grid,
            form.get("date", "").strip(),
            slices=form.getlist("slices") or None,
            patrollers=form.getlist("patrollers"),
            dwell_min={cls: minutes for cls, minutes in dwell.items() if minutes},
            pinned=_ids(form.get("pinned", "")),
            exclude=_ids(form.get("exclude", "")),
            seed=seed or 0,
            parent_id=parent or None,
        )
    except PlanRequestError as exc:
        errors += [translate(problem) for problem in exc.problems]
    if parse_int(parent) is not None and (
        store_id(parent) is None
        or store.get_plan_row(get_db(), store_id(parent), current_user.station_id) is None
    ):
        errors.append(_("The plan to re-plan from does not exist."))
    if (parse_int(seed) or 0) > MAX_SEED:
        errors.append(_("The route variant must be a number from 0 to %(n)d.", n=MAX_SEED))
    return (None if errors else plan_request), errors


def parse_presence_choice(form, cfg) -> tuple[int | None, list[str]]:
    """How many days of what patrols actually did the plan of ``form`` looks back over.

    ``None`` when the officer unticked the box (a form without the box, from an older page
    or a script, plans with the station's ``presence_days``), and what is wrong, translated.
    """
    if form.get("presence_choice") and not form.get("use_presence"):
        return None, []
    text = _ascii(form.get("presence_days", ""))
    if not text:
        return cfg.patrol.presence_days, []
    days = parse_int(text)
    if days is None or not 1 <= days <= MAX_PRESENCE_DAYS:
        msg = _(
            "The days to look back over must be a whole number from 1 to %(n)d, not %(value)s.",
            n=MAX_PRESENCE_DAYS,
            value=text,
        )
        return None, [msg]
    return days, []


@bp.post("/")
@requires("plan")
def create():
    """Start solving a plan in the background; go to its progress page."""
    sid = current_user.station_id
    cfg = data.config(sid)
    con = get_db()
    if store.latest_hotspot_run(con, sid) is None:
        return error_response(
            409, _("There are no hot spots yet: import the grid and incidents first.")
        )
    grid_row = store.latest_grid(con, sid)
    plan_request, errors = parse_plan_form(request.form, cfg, data.grid(grid_row["id"]))
    presence_days, more = parse_presence_choice(request.form, cfg)
    errors += more
    if errors:
        return error_response(422, "\n".join(errors))
    # the station's key road sections and timed targets go with every plan
    targets = tuple(store.list_targets(con, sid))
    if targets:
        plan_request = dataclasses.replace(plan_request, targets=targets)
    job_id = jobs.start_plan(sid, current_user.username, plan_request, presence_days=presence_days)
    return redirect(url_for("plans.job", job_id=job_id))


def _job_or_404(job_id: int):
    row = store.get_job(get_db(), job_id, current_user.station_id)
    if row is None or row["kind"] != "plan":
        abort(404)
    return row


def job_reason(row) -> str:
    """Why job ``row`` failed, in the page's language."""
    code = row["error_code"]
    if code == "interrupted":
        return _(
            "Interrupted: the planning process stopped giving signs of life (the server was "
            "stopped or ran out of memory). Start it again."
        )
    if code == "killed":
        return _(
            "The planning process was killed, often because the server ran out of memory. "
            "Start it again, with fewer slices or patrollers if it happens again."
        )
    if code == "crashed":
        return _("The planning process stopped unexpectedly. Start it again.")
    if code == "internal":
        return _("Internal error; the server log has the details. Start it again.")
    return translate(store.job_error(row))


def _retry_url(row) -> str | None:
    if row["status"] not in ("failed", "interrupted") or not current_user.can("plan"):
        return None
    return url_for("plans.index", retry=row["id"], _anchor="plan-form")


@bp.get("/jobs/<int:job_id>")
@requires("read")
def job(job_id: int):
    """The progress page of a plan being solved (it polls :func:`job_status`)."""
    row = _job_or_404(job_id)
    if row["status"] == "done" and row["result_id"]:
        return redirect(url_for("plans.show", plan_id=row["result_id"]))
    failed = row["status"] in ("failed", "interrupted")
    return render_template(
        "plan_job.html",
        job=row,
        params=json.loads(row["params_json"]),
        reason=job_reason(row) if failed else "",
        retry_url=_retry_url(row),
    )


@bp.get("/jobs/<int:job_id>.json")
@requires("read")
def job_status(job_id: int):
    """Progress of a plan job as JSON: status, done/total slices, result URL or reason."""
    row = _job_or_404(job_id)
    failed = row["status"] in ("failed", "interrupted")
    return jsonify(
        id=row["id"],
        status=row["status"],
        stage=row["stage"],
        done=row["done"],
        total=row["total"],
        error=job_reason(row) if failed else None,
        error_code=row["error_code"],
        retry_url=_retry_url(row),
        url=url_for("plans.show", plan_id=row["result_id"]) if row["result_id"] else None,
    )


def _metrics_rows(plan, labels) -> list[dict]:
    from gridplan.routing.plan import why_parts

    rows = []
    alerts = plan.settings.get("alerts") or ()
    for s in plan.slices:
        m = s.metrics
        deployed = [r for r in s.routes if r.deployed]
        rows.append(
            {
                "slice": s,
                "label": labels.get(s.slice_id, s.label),
                "m": m,
                "deployed": deployed,
                # each route's stops with why they are there (alerts add their own part)
                "why": [(r, [(p, why_parts(p, alerts)) for p in r.stops]) for r in deployed],
            }
        )
    return rows


def _forecast_rows(plan, labels) -> dict | None:
    """What ranked the plan's stops: the forecast per slice and its back-test, or why none."""
    forecast = plan.settings.get("forecast")
    if not forecast:
        return None
    names = forecast.get("names") or {}
    figures = forecast.get("figures") or {}
    rows = []
    for s in plan.slices:
        f = figures.get(s.slice_id) or {}
        rows.append(
            {
                "label": labels.get(s.slice_id, s.label),
                "method": names.get(s.slice_id, names.get("all", "")),
                "pai": f.get("pai"),
                "prior": f.get("pai_prior"),
                "best_simple": max(
                    (f[k] for k in ("pai_prior", "pai_last 365d", "pai_recency") if f.get(k)),
                    default=None,
                ),
                "hit_rate": f.get("hit_rate"),
            }
        )
    return {
        "hotspot": not names,
        "reason": forecast.get("reason", ""),
        "horizon_days": forecast.get("horizon_days"),
        "as_of": forecast.get("as_of"),
        "rows": rows,
    }


def plan_alerts(plan) -> list:
    """The alerts a plan recorded (those active in its slices when it was made)."""
    from gridplan.routing.alerts import Alert

    return [Alert.from_dict(a) for a in plan.settings.get("alerts") or ()]


def _alert_rows(plan, labels) -> list[dict]:
    """Per alert of the plan, per slice it overlaps and micro-grid: minutes planned/needed."""
    from gridplan.routing.alerts import active_in

    tz = zoneinfo.ZoneInfo(plan.timezone)
    rows = []
    for a in plan_alerts(plan):
        need = plan.policy.alerts[a.level].min_presence_min if a.level in plan.policy.alerts else 0
        cells = []
        for s in plan.slices:
            if not active_in(a, s.start, s.end):
                continue
            for mid in a.micro_ids:
                got = sum(p.dwell_s for r in s.routes for p in r.stops if p.micro_id == mid) / 60
                label = labels.get(s.slice_id, s.label)
                cells.append({"slice": label, "id": mid, "got": got, "need": need})
        rows.append({"alert": a, "until": a.until.astimezone(tz), "cells": cells})
    return rows


@bp.get("/<int:plan_id>")
def show(plan_id: int):
    """A plan: its map, metrics per slice, routes, sheets and downloads, and the re-plan form."""
    row = plan_row_or_404(plan_id)
    if not current_user.can("read"):
        return redirect(url_for("sheetviews.sheets", plan_id=plan_id))
    plan = data.cached(("plan", plan_id), lambda: store.plan_from_row(row))
    cfg = data.config(current_user.station_id)
    labels = data.slice_labels(cfg, current_lang())
    params = json.loads(row["params_json"])
    versions = (
        get_db()
        .execute(
            "SELECT id, version FROM plans WHERE station_id=? AND date=? ORDER BY version DESC",
            (current_user.station_id, row["date"]),
        )
        .fetchall()
    )
    current = versions[0]  # the newest version of the date (the row itself is one of them)
    metrics_html = data.cached(
        ("plan_metrics", plan_id, current_lang()),
        lambda: Markup(
            render_template(
                "_plan_metrics.html",
                rows=_metrics_rows(plan, labels),
                day=plan.day_metrics(),
                slice_labels=labels,
            )
        ),
        size=64,
    )
    check_ins = store.list_check_ins(get_db(), current_user.station_id, plan_ids=[plan_id])
    return render_template(
        "plan.html",
        row=row,
        plan=plan,
        check_in_rows=stop_check_ins(plan, check_ins, cfg.tz, labels),
        n_check_ins=len(check_ins),
        alert_rows=_alert_rows(plan, labels),
        feedback_notes=plan.feedback_notes(),
        n_missed=len(plan.missed_flags()),
        feedback_info=params.get("feedback"),
        forecast=_forecast_rows(plan, labels),
        metrics_html=metrics_html,
        versions=versions,
        current=current if current["id"] != row["id"] else None,
        **_form_context(cfg, params),
    )


@bp.get("/<int:plan_id>/map")
def map_frame(plan_id: int):
    """The plan's interactive map (a page of its own, shown in the plan page's frame)."""
    from flask import current_app

    from gridplan.maps.webmaps import plan_map

    row = plan_row_or_404(plan_id)
    if not current_user.can("read"):
        abort(403)
    lang = current_lang()
    tiles = current_app.config["TILES"]
    labels = data.slice_labels(data.config(current_user.station_id), lang)

    def render() -> list[str]:
        plan = data.cached(("plan", plan_id), lambda: store.plan_from_row(row))
        grid = data.grid(row["grid_id"])
        m = plan_map(
            plan,
            grid=grid,
            slice_labels=labels,
            lang=lang,
            tiles=tiles,
            attribution=current_app.config["TILES_ATTRIBUTION"] or None,
            static_url=url_for("static", filename=""),
            alerts=plan_alerts(plan),
        )
        return script_parts(m.get_root().render())

    html = data.cached(("plan_map", plan_id, lang, tiles, tuple(labels.items())), render)
    return add_nonce(html)


@bp.get("/<int:plan_id>/check-ins.csv")
@requires("export")
def check_ins_csv(plan_id: int):
    """The plan's check-ins from the phone page, one row per check-in (spreadsheet-safe CSV)."""
    from flask import Response

    from gridplan.io.csvsafe import frame_csv_text
    from gridplan.web.auth import audit
    from gridplan.web.views.downloads import attachment

    row = plan_row_or_404(plan_id)
    plan = data.cached(("plan", plan_id), lambda: store.plan_from_row(row))
    cfg = data.config(current_user.station_id)
    rows = store.list_check_ins(get_db(), current_user.station_id, plan_ids=[plan_id])
    frame = check_ins_frame(plan, rows, cfg.tz, data.slice_labels(cfg, current_lang()))
    name = f"{current_user.station_id}-check-ins-{row['date']}-v{row['version']}.csv"
    audit("export", name)
    return Response(
        frame_csv_text(frame),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(name)},
    )
