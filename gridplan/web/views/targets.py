"""The Targets page: a station's key road sections and timed targets (重点路段、重点时段).

An officer draws a point (a school gate) or a line (a street section, walked from its first to
its last point) on the map, or uploads a layer of them (GeoJSON/GeoPackage, read in an import
job as every upload is), and gives each a name, time windows, a value and a dwell
(:mod:`gridplan.routing.targets`). Every plan of the station then serves them inside their
windows. Targets belong to one station: no other station sees or changes them.
"""

from __future__ import annotations

import json

import shapely
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from gridplan._messages import N_
from gridplan._messages import define
from gridplan.routing.targets import Target
from gridplan.routing.targets import TargetError
from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import audit
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import translate
from gridplan.web.views import imports

bp = Blueprint("targets", __name__, url_prefix="/targets")

#: Layers a station may upload as targets.
TARGET_TYPES = (".geojson", ".json", ".gpkg")

_E_SHAPE = define(
    "targets.shape",
    N_("the shape on the map could not be read; draw the point or line again"),
)
_E_NO_SHAPE = define(
    "targets.no_shape", N_("no point or line drawn; draw one on the map before saving")
)


def _page(*, error: str | None = None, status: int = 200, form=None):
    sid = current_user.station_id
    targets = store.list_targets(get_db(), sid)
    grid_row = store.latest_grid(get_db(), sid)
    outline = None
    if grid_row is not None:
        grid = data.grid(grid_row["id"])
        outline = json.loads(grid[grid["level"] != "micro"].to_crs(4326).to_json())
    editing = request.args.get("edit", "") if form is None else form.get("original", "")
    shown = next((t for t in targets if t.id == editing), None)
    page_data = {
        "targets": [t.to_dict() for t in targets],
        "outline": outline,
        **tiles_setting(),
        "editing": shown.to_dict() if shown is not None else None,
    }
    return render_template(
        "targets.html",
        targets=targets,
        editing=shown,
        form=form,
        error=error,
        page_data=json.dumps(page_data, ensure_ascii=False),
    ), status


def tiles_setting() -> dict:
    """The map background of the server's ``TILES`` setting (``none``: the grid alone)."""
    from gridplan.maps.layers import TILE_PRESETS

    tiles = str(current_app.config.get("TILES") or "none")
    if tiles.lower() == "none":
        return {"tiles": None, "attribution": ""}
    url, attribution = TILE_PRESETS.get(tiles.lower(), (tiles, ""))
    return {"tiles": url, "attribution": current_app.config.get("TILES_ATTRIBUTION") or attribution}


@bp.get("/")
@requires("read")
def page():
    """The station's targets: the map, the list, the forms."""
    return _page()


def page_with_error(message, status: int):
    """The Targets page with ``message`` (a library message in the page's language)."""
    return _page(error=translate(message), status=status)


def stored(params: dict, outcome: dict):
    """After an uploaded layer was stored: say how many targets, name bad features."""
    flash(_("%(name)s: %(n)d targets stored.", name=params["name"], n=outcome["n"]), "success")
    for record in outcome.get("warnings", ()):
        flash(translate(record), "warning")
    return redirect(url_for("targets.page"))


def _target_from_form(form) -> Target:
    """A target from the form's fields; the drawn shape is GeoJSON in ``geometry``."""
    coords = _coords(form.get("geometry", ""))
    if coords is None and form.get("original"):  # an edit that keeps the shape
        old = [t for t in store.list_targets(get_db(), current_user.station_id)]
        coords = next((t.coords for t in old if t.id == form["original"]), None)
    if coords is None:
        raise TargetError([_E_NO_SHAPE()])
    return Target(
        id=form.get("target_id", "").strip() or form.get("original", ""),
        name=form.get("name", ""),
        coords=coords,
        windows=form.get("windows", ""),
        value=form.get("value", "").strip() or 5,
        dwell_min=form.get("dwell_min", ""),
        modes=form.getlist("modes"),
    )


def _coords(text: str):
    if not text.strip():
        return None
    try:
        geom = shapely.geometry.shape(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
        raise TargetError([_E_SHAPE()]) from None
    if geom.geom_type not in ("Point", "LineString"):
        raise TargetError([_E_SHAPE()])
    return tuple(tuple(c[:2]) for c in shapely.get_coordinates(geom).tolist())


def _save(original: str | None):
    form = request.form
    try:
        target = _target_from_form(form)
    except TargetError as exc:
        return _page(error="; ".join(translate(p) for p in exc.problems), status=422, form=form)
    sid = current_user.station_id
    taken = {t.id for t in store.list_targets(get_db(), sid)} - {original}
    if target.id in taken and not form.get("target_id"):
        target = Target.from_dict({**target.to_dict(), "id": _free_id(target.id, taken)})
    store.save_targets(get_db(), sid, [target], current_user.username, replace=original)
    audit("edit_target" if original else "add_target", target.id, shape=target.to_dict())
    flash(_("Target %(name)s saved.", name=target.name), "success")
    return redirect(url_for("targets.page"))


def _free_id(base: str, taken: set[str]) -> str:
    k = 2
    while f"{base}-{k}" in taken:
        k += 1
    return f"{base}-{k}"


@bp.post("/")
@requires("plan")
def create():
    """Add a drawn target."""
    return _save(None)


@bp.post("/<target_id>")
@requires("plan")
def update(target_id: str):
    """Change a target (its shape too when one is drawn)."""
    if not any(t.id == target_id for t in store.list_targets(get_db(), current_user.station_id)):
        return _page(error=_("No such target."), status=404)
    return _save(target_id)


@bp.post("/<target_id>/delete")
@requires("plan")
def delete(target_id: str):
    """Delete a target."""
    if not store.delete_target(get_db(), current_user.station_id, target_id):
        return _page(error=_("No such target."), status=404)
    audit("delete_target", target_id)
    flash(_("Target deleted."), "success")
    return redirect(url_for("targets.page"))


@bp.post("/upload")
@requires("import")
def upload():
    """Read a layer of targets (in an import job); the Targets page shows what came of it."""
    upload_, err = imports.upload_file("file", TARGET_TYPES)
    if err:
        return _page(error=err, status=400)
    name, content = upload_
    return imports.start_import_of("targets", name, content)
