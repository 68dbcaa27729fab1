"""The station overview: the 1+5+N tree with counts, latest imports, latest plans."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user

from gridplan._validate import HOT_CLASSES
from gridplan._validate import class_method
from gridplan.web import data
from gridplan.web import store
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang

bp = Blueprint("overview", __name__)


def _tree(grid, hot) -> list[dict]:
    """Base grids with their micro-grids' count, incidents and hot spots (all-day slice)."""
    allday = hot[hot["slice"] == "all"] if hot is not None else None
    counts = dict(zip(allday["id"], allday["count"], strict=True)) if allday is not None else {}
    hotspots = (
        set(allday.loc[allday["gi_class"].isin(HOT_CLASSES), "id"]) if allday is not None else set()
    )
    # a small station's classes are not Gi*: the badge says what they are
    classes = class_method(allday["gi_class"]) if allday is not None else "gistar"
    bases = grid[grid["level"] == "base"].sort_values("id")
    micros = grid[grid["level"] == "micro"]
    out = []
    for bid, name in zip(bases["id"], bases["name"], strict=True):
        kids = micros.loc[micros["parent_id"] == bid, "id"].tolist()
        out.append(
            {
                "id": bid,
                "name": name,
                "micro": len(kids),
                "incidents": int(sum(counts.get(k, 0) for k in kids)),
                "hot": sum(k in hotspots for k in kids),
                "classes": classes,
            }
        )
    return out


@bp.get("/favicon.ico")
def favicon():
    """The site icon (browsers ask for /favicon.ico on pages without an icon link)."""
    from flask import current_app
    from flask import send_from_directory

    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


@bp.get("/")
def index():
    """The overview page (volunteer leads go to their route sheets, patrollers to Patrol)."""
    if current_user.role == "patroller":
        return redirect(url_for("patrol.today"))
    if not current_user.can("read"):
        return redirect(url_for("plans.index"))
    con = get_db()
    sid = current_user.station_id
    station = store.get_station(con, sid)
    grid_row = store.latest_grid(con, sid)
    run = store.latest_hotspot_run(con, sid)
    tree, station_name = [], station["name"]
    if grid_row is not None:
        g = data.grid(grid_row["id"])
        hot = (
            data.hotspots(run["id"])
            if run is not None and run["grid_id"] == grid_row["id"]
            else None
        )
        run_id = run["id"] if hot is not None else None
        tree = data.cached(("tree", grid_row["id"], run_id), lambda: _tree(g, hot))
        st = g.loc[g["level"] == "station", "name"]
        station_name = station["name"] or (st.iloc[0] if len(st) else sid)
    n_incidents = con.execute(
        "SELECT COALESCE(SUM(n_kept), 0) FROM incident_batches WHERE station_id=?", (sid,)
    ).fetchone()[0]
    grids = con.execute(
        "SELECT id, version, source_name, created_at, created_by, n_base, n_micro FROM grids "
        "WHERE station_id=? ORDER BY version DESC LIMIT 5",
        (sid,),
    ).fetchall()
    batches = con.execute(
        "SELECT id, source_name, created_at, created_by, n_rows, n_kept, n_rejected, n_already "
        "FROM incident_batches WHERE station_id=? ORDER BY id DESC LIMIT 5",
        (sid,),
    ).fetchall()
    plans = [
        {**dict(r), "summary": data.plan_summary(r)} for r in store.list_plans(con, sid, limit=8)
    ]
    hotspot_jobs = con.execute(
        "SELECT status, error, finished_at FROM jobs WHERE station_id=? AND kind='hotspots' "
        "ORDER BY id DESC LIMIT 1",
        (sid,),
    ).fetchone()
    return render_template(
        "overview.html",
        station=station,
        station_name=station_name,
        grid_row=grid_row,
        run=run,
        tree=tree,
        n_incidents=n_incidents,
        grids=grids,
        batches=batches,
        plans=plans,
        hotspot_job=hotspot_jobs,
        slice_labels=data.slice_labels(data.config(sid), current_lang()),
    )
