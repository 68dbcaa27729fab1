"""Downloads: the grid, hot spots and plans as GeoJSON, GeoPackage, GPX and CSV.

Files are made with the same writers as the command line (RFC 7946 GeoJSON, GeoPackage 1.2,
UTF-8-with-BOM CSV with WKT or lon/lat), in a temporary folder, and every download is written
to the audit log.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask_babel import gettext
from flask_login import current_user

from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db

bp = Blueprint("downloads", __name__, url_prefix="/downloads")

MIME = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv",
    "gpx": "application/gpx+xml",
    "plan.json": "application/json",
}
LAYER_FORMATS = ("geojson", "gpkg", "csv")
PLAN_FORMATS = ("geojson", "gpkg", "gpx", "csv", "plan.json")


def _send(path: Path, name: str, fmt: str) -> Response:
    return Response(
        path.read_bytes(),
        mimetype=MIME[fmt],
        headers={"Content-Disposition": attachment(name)},
    )


def attachment(filename: str) -> str:
    """A Content-Disposition value for ``filename``, safe whatever the name holds.

    RFC 6266: an ASCII ``filename`` (letters, digits, ``.``, ``_``, ``-``, blanks; anything
    else ``_``) for old clients and ``filename*`` (RFC 5987, UTF-8, percent-encoded) that
    keeps Chinese names. Folders, quotes, control characters and line breaks of a name from
    uploaded data can neither split the header nor choose a folder; names are cut to 150
    characters.
    """
    from urllib.parse import quote

    name = "".join(c for c in filename.replace("\\", "/").split("/")[-1] if c.isprintable())
    name = name.strip(" .") or "download"
    if len(name) > 150:  # cut the stem, keep the suffix (.csv)
        stem, suffix = os.path.splitext(name)
        name = stem[: 150 - len(suffix[:20])] + suffix[:20]
    ascii_name = re.sub(r"[^A-Za-z0-9._\- ]", "_", name)
    # RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


@bp.get("/")
@requires("export")
def page():
    """What can be downloaded for the station."""
    con = get_db()
    sid = current_user.station_id
    return render_template(
        "downloads.html",
        grid_row=store.latest_grid(con, sid),
        run=store.latest_hotspot_run(con, sid),
        plans=store.list_plans(con, sid, limit=30),
        layer_formats=LAYER_FORMATS,
        plan_formats=PLAN_FORMATS,
    )


def _layer_file(fmt: str, name: str, write):
    """Send the file ``write(path)`` makes as ``name`` (GeoJSON, styled GeoPackage, CSV + WKT)."""
    with tempfile.TemporaryDirectory(prefix="gridplan-dl-") as tmp:
        path = Path(tmp) / name
        write(path)
        audit("export", name)
        return _send(path, name, fmt)


@bp.get("/grid.<fmt>")
@requires("export")
def grid_file(fmt: str):
    """The station's current 1+5+N grid."""
    row = store.latest_grid(get_db(), current_user.station_id)
    if fmt not in LAYER_FORMATS or row is None:
        abort(404)
    name = f"{current_user.station_id}-grid-v{row['version']}.{fmt}"
    grid = data.grid(row["id"])
    if fmt == "csv":
        from gridplan.io.export import write_csv

        return _layer_file(fmt, name, lambda path: write_csv(grid, path))
    from gridplan.io.results import write_grid

    return _layer_file(fmt, name, lambda path: write_grid(grid, path, qml=False))


@bp.get("/hotspots.<fmt>")
@requires("export")
def hotspot_file(fmt: str):
    """The newest hot-spot run: one row per micro-grid and slice."""
    run = store.latest_hotspot_run(get_db(), current_user.station_id)
    if fmt not in LAYER_FORMATS or run is None:
        abort(404)
    name = f"{current_user.station_id}-hotspots-{run['id']}.{fmt}"
    from gridplan.io.results import write_hotspots

    hot = data.hotspots(run["id"])
    return _layer_file(fmt, name, lambda path: write_hotspots(hot, path, qml=False))


@bp.get("/plans/<int:plan_id>.<path:fmt>")
@requires("export")
def plan_file(plan_id: int, fmt: str):
    """A plan: routes and stops (GeoJSON, GeoPackage), GPX for phones, CSV stop list, plan file."""
    from gridplan.io.plan_export import export_plan
    from gridplan.io.planfile import save_plan

    if fmt not in PLAN_FORMATS:
        abort(404)
    row = store.get_plan_row(get_db(), plan_id, current_user.station_id)
    if row is None:
        abort(404)
    plan = data.cached(("plan", plan_id), lambda: store.plan_from_row(row))
    name = f"{current_user.station_id}-plan-{row['date']}-v{row['version']}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="gridplan-dl-") as tmp:
        path = Path(tmp) / name
        if fmt == "plan.json":
            save_plan(plan, path)
        else:
            # the words inside a GPX file in the UI's language (read on the patrol's phone)
            export_plan(plan, path, format=fmt, gettext=gettext)
        audit("export", name)
        return _send(path, name, fmt)
