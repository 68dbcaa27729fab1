"""The patrol phone page: today's routes of one's own team, and arrived/left check-ins.

For the roles tied to one roster entry (``patroller``, ``volunteer_lead``; see
:mod:`gridplan.web.auth`): the routes of that entry in the current plan of today (station
date), and in last night's plan while its slices run; the next stop on a small map, its arrival,
window and dwell; per stop a big "arrived" and "left" button that records the time and the
phone's position with its accuracy, and a note.

The page keeps working on a bad connection. A service worker (``/patrol/sw.js``, scope
``/patrol/``) keeps the page and its scripts, styles and map library; check-ins go into a
queue in the phone's storage with an id the phone makes (``crypto.randomUUID``) and are sent,
in order, whenever the phone is online (at once, on the ``online`` event and when the page
loads). The server stores a check-in once per id: one sent again after a lost answer is
answered 200 and not stored twice (:func:`gridplan.web.store.add_check_in`).

A check-in is refused, with a message in the user's language, when it is not one of the user's
team's stops (403), not a stop of a plan of the station (404), or badly formed (422); plans of
the last :data:`CHECK_IN_DAYS` days take check-ins, so a phone offline overnight still sends
what it kept.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd
from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from gridplan.web import data
from gridplan.web import store
from gridplan.web.auth import requires
from gridplan.web.db import get_db
from gridplan.web.i18n import current_lang
from gridplan.web.security import error_response
from gridplan.web.views.targets import tiles_setting

bp = Blueprint("patrol", __name__, url_prefix="/patrol")

#: plans of today and this many days before take check-ins (a phone offline overnight)
CHECK_IN_DAYS = 2
#: the largest check-in request (bytes): a note of MAX_NOTE_CHARS and the fields fit
MAX_CHECK_IN_BYTES = 64 * 1024
#: a phone's clock may be this far ahead of the server's
MAX_CLOCK_AHEAD = dt.timedelta(hours=12)
_CLIENT_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


def _hhmm(t: dt.datetime | None, tz) -> str:
    return "" if t is None else t.astimezone(tz).strftime("%H:%M")


def _cell_shapes(grid_id: int) -> dict[str, dict]:
    """The micro-grids of a grid as GeoJSON geometries (for the phone's map), by id."""
    import shapely

    def make() -> dict[str, dict]:
        grid = data.grid(grid_id)
        micro = grid[grid["level"] == "micro"]
        # ~1 m: enough for a phone's map, and a small page
        shapes = shapely.simplify(micro.geometry.to_numpy(), 0.00001)
        return {
            str(i): shapely.geometry.mapping(g) for i, g in zip(micro["id"], shapes, strict=True)
        }

    return data.cached(("cell_shapes", grid_id), make)


def _stop_data(stop, index: int, tz, shapes: dict) -> dict:
    window = ""
    if stop.window_start is not None and stop.window_end is not None:
        window = f"{_hhmm(stop.window_start, tz)}-{_hhmm(stop.window_end, tz)}"
    return {
        "stop_index": index,
        "order": stop.order,
        "micro_id": stop.micro_id,
        "name": stop.name,
        "street": stop.street,
        "arrival": _hhmm(stop.arrival, tz),
        "departure": _hhmm(stop.departure, tz),
        "window": window,
        "dwell_min": round(stop.dwell_s / 60),
        "lon": round(stop.lon, 6),
        "lat": round(stop.lat, 6),
        "cell": shapes.get(stop.micro_id),
        "risk_class": stop.risk_class,
    }


def todays_plans(con, station_id: str, tz) -> list:
    """The current plan rows of today and the :data:`CHECK_IN_DAYS` days before, newest first."""
    today = dt.datetime.now(tz).date()
    rows = []
    for back in range(CHECK_IN_DAYS + 1):
        date = (today - dt.timedelta(days=back)).isoformat()
        current = store.current_plan(con, station_id, date)
        if current is not None:
            rows.append(store.get_plan_row(con, current["id"], station_id))
    return rows


def team_routes(station_id: str, team: str, lang: str) -> tuple[list[dict], list]:
    """The team's routes to show today, in time order, and the plan rows they come from.

    Today's plan: every route of the team. Earlier days' plans: the routes whose slice has not
    ended (last night's shift after midnight).
    """
    con = get_db()
    cfg = data.config(station_id)
    tz = cfg.tz
    now = dt.datetime.now(tz)
    labels = data.slice_labels(cfg, lang)
    routes, used = [], []
    for row in todays_plans(con, station_id, tz):
        plan = data.cached(("plan", row["id"]), lambda row=row: store.plan_from_row(row))
        shapes = _cell_shapes(row["grid_id"])
        today = row["date"] == now.date().isoformat()
        found = False
        for s in plan.slices:
            if not today and s.end <= now:
                continue
            for k, r in enumerate(s.routes):
                if r.patroller_id != team or not r.stops:
                    continue
                found = True
                routes.append(
                    {
                        "plan_id": row["id"],
                        "date": row["date"],
                        "version": row["version"],
                        "slice_id": s.slice_id,
                        "slice_label": labels.get(s.slice_id, s.label),
                        "route_index": k,
                        "patroller_id": r.patroller_id,
                        "name": r.name,
                        "part": r.part,
                        "start": _hhmm(r.start, tz),
                        "end": _hhmm(r.end, tz),
                        "start_iso": r.start.isoformat(),
                        "end_iso": r.end.isoformat(),
                        "path": [[round(x, 6), round(y, 6)] for x, y in r.path.coords],
                        "stops": [_stop_data(p, i, tz, shapes) for i, p in enumerate(r.stops)],
                    }
                )
        if found:
            used.append(row)
    routes.sort(key=lambda r: r["start_iso"])
    return routes, used


def _check_in_json(row) -> dict:
    return {
        "client_id": row["client_id"],
        "plan_id": row["plan_id"],
        "slice_id": row["slice_id"],
        "route_index": row["route_index"],
        "stop_index": row["stop_index"],
        "kind": row["kind"],
        "client_at": row["client_at"],
        "inside": None if row["inside"] is None else bool(row["inside"]),
        "distance_m": row["distance_m"],
        "note": row["note"],
    }


def _team_check_ins(plan_rows) -> list[dict]:
    rows = store.list_check_ins(
        get_db(),
        current_user.station_id,
        plan_ids=[r["id"] for r in plan_rows],
        patroller_id=current_user.team_id,
    )
    return [_check_in_json(r) for r in rows]


@bp.get("/")
@requires("patrol")
def today():
    """The phone page: today's routes of the user's team with arrived/left buttons."""
    sid = current_user.station_id
    cfg = data.config(sid)
    routes, plan_rows = team_routes(sid, current_user.team_id, current_lang())
    team = next((p for p in cfg.roster if p.id == current_user.team_id), None)
    page = {
        "station": sid,
        "user": current_user.username,
        "team": current_user.team_id,
        "date": dt.datetime.now(cfg.tz).date().isoformat(),
        "routes": routes,
        "check_ins": _team_check_ins(plan_rows),
        "urls": {
            "check_in": url_for("patrol.check_in"),
            "state": url_for("patrol.state"),
            "worker": url_for("patrol.worker"),
            "scope": url_for("patrol.today"),
        },
        **tiles_setting(),
    }
    return render_template(
        "patrol.html",
        page=page,
        routes=routes,
        team=team,
        today=page["date"],
    )


@bp.get("/state.json")
@requires("patrol")
def state():
    """The team's check-ins on the plans shown today, and a fresh CSRF token for the queue."""
    _routes, plan_rows = team_routes(current_user.station_id, current_user.team_id, "en")
    return jsonify(csrf_token=generate_csrf(), check_ins=_team_check_ins(plan_rows))


@bp.get("/sw.js")
@requires("patrol")
def worker():
    """The service worker that keeps the page and its files for a bad connection."""
    static = [
        url_for("static", filename=f)
        for f in (
            "css/app.css",
            "css/patrol.css",
            "js/patrol.js",
            "vendor/leaflet/leaflet.css",
            "vendor/leaflet/leaflet.js",
            "favicon.svg",
        )
    ]
    body = render_template("patrol_sw.js", page=url_for("patrol.today"), static=static)
    return Response(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": url_for("patrol.today")},
    )


class _Refused(Exception):
    """A check-in the server does not take: HTTP status and message (user's language)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _number(body: dict, key: str, low: float, high: float) -> float | None:
    """An optional number of the check-in in ``[low, high]`` (``None`` when absent)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Refused(422, _("%(field)s must be a number.", field=key))
    if not low <= value <= high:
        raise _Refused(
            422, _("%(field)s must be from %(low)s to %(high)s.", field=key, low=low, high=high)
        )
    return float(value)


def _integer(body: dict, key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise _Refused(422, _("%(field)s must be a whole number.", field=key))
    return value


def _client_time(body: dict, tz) -> dt.datetime:
    """When the button was pressed, by the phone (ISO 8601 with its offset)."""
    text = body.get("client_at")
    try:
        t = dt.datetime.fromisoformat(text) if isinstance(text, str) and len(text) < 40 else None
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise _Refused(
            422, _("client_at must be a time with its offset, such as 2024-06-08T09:15:00+08:00.")
        )
    now = dt.datetime.now(dt.UTC)
    if t > now + MAX_CLOCK_AHEAD or t < now - dt.timedelta(days=CHECK_IN_DAYS + 2):
        raise _Refused(
            422,
            _("The phone's time %(time)s is far from today's; set the phone's clock.", time=text),
        )
    return t


def _stop_of(body: dict, sid: str):
    """The plan row, slice, route index, route and stop a check-in names (else _Refused)."""
    plan_id = _integer(body, "plan_id")
    row = store.get_plan_row(get_db(), plan_id, sid) if plan_id >= 1 else None
    if row is None:
        raise _Refused(404, _("This plan does not exist, or belongs to another station."))
    tz = data.config(sid).tz
    oldest = dt.datetime.now(tz).date() - dt.timedelta(days=CHECK_IN_DAYS)
    if row["date"] < oldest.isoformat():
        raise _Refused(
            409, _("The plan of %(date)s is over: it takes no more check-ins.", date=row["date"])
        )
    plan = data.cached(("plan", row["id"]), lambda: store.plan_from_row(row))
    slice_id = body.get("slice_id")
    s = next((s for s in plan.slices if s.slice_id == slice_id), None)
    if s is None:
        raise _Refused(422, _("The plan has no time slice %(slice)s.", slice=str(slice_id)[:40]))
    k, i = _integer(body, "route_index"), _integer(body, "stop_index")
    if k >= len(s.routes) or i >= len(s.routes[k].stops):
        raise _Refused(422, _("The plan has no such stop (route %(k)d, stop %(i)d).", k=k, i=i))
    route = s.routes[k]
    if route.patroller_id != current_user.team_id:
        raise _Refused(403, _("This stop is on another team's route, not yours."))
    return row, s, k, route, route.stops[i]


def _position(body: dict) -> tuple[float | None, float | None, float | None]:
    lon, lat = _number(body, "lon", -180, 180), _number(body, "lat", -90, 90)
    if (lon is None) != (lat is None):
        raise _Refused(422, _("Send both lon and lat, or neither."))
    accuracy = _number(body, "accuracy_m", 0, 1_000_000)
    return lon, lat, accuracy if lon is not None else None


def _distance_m(grid_id: int, micro_id: str, lon: float, lat: float) -> float | None:
    """Metres from (lon, lat) to micro-grid ``micro_id`` of a grid (0 inside); None if unknown."""
    import pyproj
    import shapely

    def make():
        grid = data.grid(grid_id)
        micro = grid[grid["level"] == "micro"]
        crs = micro.estimate_utm_crs()
        cells = micro.to_crs(crs)
        to_metric = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
        return to_metric, dict(zip(cells["id"].astype(str), cells.geometry, strict=True))

    to_metric, cells = data.cached(("cells_metric", grid_id), make)
    cell = cells.get(micro_id)
    if cell is None:
        return None
    x, y = to_metric.transform(lon, lat)
    return round(float(cell.distance(shapely.Point(x, y))), 1)


def _parse_check_in(body) -> dict:
    """The check-in of a request's JSON, checked (else _Refused)."""
    if not isinstance(body, dict):
        raise _Refused(422, _("Send the check-in as a JSON object."))
    sid = current_user.station_id
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise _Refused(422, _("client_id must be 8 to 64 letters, digits or dashes."))
    kind = body.get("kind")
    if kind not in store.CHECK_IN_KINDS:
        raise _Refused(422, _("kind must be arrived or left."))
    note = body.get("note", "")
    if not isinstance(note, str):
        raise _Refused(422, _("The note must be text."))
    if len(note) > store.MAX_NOTE_CHARS:
        raise _Refused(
            422, _("The note is too long: at most %(n)d characters.", n=store.MAX_NOTE_CHARS)
        )
    client_at = _client_time(body, data.config(sid).tz)
    lon, lat, accuracy = _position(body)
    row, s, k, route, stop = _stop_of(body, sid)
    return {
        "client_id": client_id,
        "plan_id": row["id"],
        "slice_id": s.slice_id,
        "route_index": k,
        "stop_index": int(body["stop_index"]),
        "micro_id": stop.micro_id,
        "patroller_id": route.patroller_id,
        "kind": kind,
        "client_at": client_at,
        "lon": lon,
        "lat": lat,
        "accuracy_m": accuracy,
        "note": note.strip(),
        "grid_id": row["grid_id"],
    }


@bp.post("/check-ins")
@requires("patrol")
def check_in():
    """Store one check-in (JSON); 201 when new, 200 when it was stored before (same id)."""
    if (request.content_length or 0) > MAX_CHECK_IN_BYTES:
        return error_response(413, _("The check-in is too large."))
    try:
        fields = _parse_check_in(request.get_json(silent=True))
    except _Refused as exc:
        return jsonify(error=exc.message, status=exc.status), exc.status
    grid_id = fields.pop("grid_id")
    distance = None
    if fields["lon"] is not None:
        distance = _distance_m(grid_id, fields["micro_id"], fields["lon"], fields["lat"])
    inside = None if distance is None else distance == 0
    check_in_id, created = store.add_check_in(
        get_db(),
        current_user.station_id,
        username=current_user.username,
        inside=inside,
        distance_m=distance,
        **fields,
    )
    body = {
        "id": check_in_id,
        "client_id": fields["client_id"],
        "status": "stored" if created else "duplicate",
        "inside": inside,
        "distance_m": distance,
    }
    return jsonify(body), 201 if created else 200


# --------------------------------------------------------------------------- officers' view


def stop_check_ins(plan, rows, tz, labels: dict[str, str]) -> list[dict]:
    """Per stop with check-ins: planned arrival, arrived and left times, inside, notes."""
    by_stop: dict[tuple, list] = {}
    for r in rows:
        by_stop.setdefault((r["slice_id"], r["route_index"], r["stop_index"]), []).append(r)
    out = []
    for s in plan.slices:
        for k, route in enumerate(s.routes):
            for i, stop in enumerate(route.stops):
                got = by_stop.get((s.slice_id, k, i))
                if not got:
                    continue
                arrived = [r for r in got if r["kind"] == "arrived"]
                left = [r for r in got if r["kind"] == "left"]
                first = arrived[0] if arrived else got[0]
                out.append(
                    {
                        "slice": labels.get(s.slice_id, s.slice_id),
                        "slice_id": s.slice_id,
                        "patroller": route.patroller_id,
                        "order": stop.order,
                        "micro_id": stop.micro_id,
                        "planned": _hhmm(stop.arrival, tz),
                        "arrived": _local(arrived[0]["client_at"], tz) if arrived else "",
                        "left": _local(left[-1]["client_at"], tz) if left else "",
                        "inside": None if first["inside"] is None else bool(first["inside"]),
                        "distance_m": first["distance_m"],
                        "accuracy_m": first["accuracy_m"],
                        "note": " / ".join(r["note"] for r in got if r["note"]),
                        "by": ", ".join(sorted({r["username"] for r in got})),
                    }
                )
    return out


def _local(iso: str, tz) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(tz).strftime("%H:%M")


def check_ins_frame(plan, rows, tz, labels: dict[str, str]) -> pd.DataFrame:
    """The check-ins of a plan as a table (one row per check-in), for its CSV.

    ``stop_key`` names the plan stop as compliance does
    (:func:`gridplan.tracks.compliance.stop_key`); ``gridplan compliance --checkins`` and the
    Compliance page read the table back through
    :func:`gridplan.io.track_files.check_ins_from_frame`.
    """
    from gridplan.tracks.compliance import stop_key

    stops = {
        (s.slice_id, k, i): (stop, stop_key(s.slice_id, route.patroller_id, route.part, stop.order))
        for s in plan.slices
        for k, route in enumerate(s.routes)
        for i, stop in enumerate(route.stops)
    }
    records = []
    for r in rows:
        stop, key = stops.get((r["slice_id"], r["route_index"], r["stop_index"]), (None, ""))
        records.append(
            {
                "slice": r["slice_id"],
                "slice_name": labels.get(r["slice_id"], r["slice_id"]),
                "patroller": r["patroller_id"],
                "stop": stop.order if stop is not None else r["stop_index"] + 1,
                "micro_id": r["micro_id"],
                "planned_arrival": stop.arrival.isoformat() if stop is not None else "",
                "kind": r["kind"],
                "time": dt.datetime.fromisoformat(r["client_at"]).astimezone(tz).isoformat(),
                "received": dt.datetime.fromisoformat(r["received_at"]).astimezone(tz).isoformat(),
                "lon": r["lon"],
                "lat": r["lat"],
                "accuracy_m": r["accuracy_m"],
                "inside": "" if r["inside"] is None else bool(r["inside"]),
                "distance_m": r["distance_m"],
                "note": r["note"],
                "user": r["username"],
                "stop_key": key,
            }
        )
    return pd.DataFrame.from_records(records, columns=_CSV_COLUMNS)


_CSV_COLUMNS = [
    "slice", "slice_name", "patroller", "stop", "micro_id", "planned_arrival", "kind", "time",
    "received", "lon", "lat", "accuracy_m", "inside", "distance_m", "note", "user", "stop_key",
]  # fmt: skip
