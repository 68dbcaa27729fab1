"""Export patrol plans for other tools: GeoJSON, GeoPackage, CSV stop lists and GPX.

- **GeoJSON** (RFC 7946, EPSG:4326): one FeatureCollection with a LineString per route
  (``kind = "route"``) and a Point per stop (``kind = "stop"``), for web maps and QGIS (which
  offers the two geometry types as sub-layers).
- **GeoPackage**: layers ``routes`` and ``stops``, for QGIS and ArcGIS, with QGIS styles
  (one colour per patroller, stops labelled with their order) in ``layer_styles``. A whole
  plan also carries its plan document in the attribute table ``plan``, so
  :func:`~gridplan.io.planfile.load_plan` reads the GeoPackage back to the same plan.
- **CSV**: the stop list in time order per patroller, UTF-8 with BOM so Excel reads the
  Chinese names, with ``lon``/``lat`` and clock times.
- **GPX 1.1**: for phone navigation apps (OsmAnd, Organic Maps, Locus): per route a track
  along the streets (``trk``), a route through the stops (``rte``) and a waypoint per stop
  (``wpt``) named by its order and micro-grid, with the planned arrival time.

``patroller`` and ``slices`` narrow the export, e.g. one volunteer team's GPX for its phone.
The words inside a GPX file are English unless a ``gettext`` is given (the web UI passes its
catalogue, so a GPX made from the Chinese UI reads Chinese on the phone).
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan.io.export import write_csv
from gridplan.io.export import write_geodata
from gridplan.io.planfile import FORMAT
from gridplan.io.planfile import PLAN_TABLE
from gridplan.io.planfile import VERSION
from gridplan.io.planfile import plan_to_dict
from gridplan.io.styles import route_style
from gridplan.io.styles import stop_style
from gridplan.io.styles import write_gpkg_styles
from gridplan.routing.plan import PatrolPlan

FORMATS = ("geojson", "gpkg", "csv", "gpx")

_SUFFIX = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".csv": "csv", ".gpx": "gpx"}
_GPX_NS = "http://www.topografix.com/GPX/1/1"

# The words of a GPX file, as messages (gridplan._messages) so that they can be translated.
_GPX_CREATOR = define("gpx.creator", N_("gridplan (patrol plan)"))
_GPX_PLAN = define("gpx.plan", N_("%(station)s patrol plan, times in %(timezone)s"))
_GPX_STOP = define(
    "gpx.stop",
    N_(
        "%(slice)s %(arrival)s-%(departure)s (%(dwell)s min) %(name)s%(street)s; risk rank "
        "%(rank)s, %(gi_class)s"
    ),
)
_GPX_STREET = define("gpx.street", N_(", %(street)s"))
_GPX_TARGET = define(
    "gpx.target",
    N_("%(slice)s %(arrival)s-%(departure)s %(name)s%(street)s; key target, window %(window)s"),
)
_GPX_ROUTE = define("gpx.route", N_("%(start)s-%(end)s, %(stops)s stops"))
_GPX_TRACK = define("gpx.track", N_("%(km).2f km along the streets (%(mode)s)"))
_MODES = {
    "walk": define("mode.walk", N_("on foot")),
    "ebike": define("mode.ebike", N_("e-bike")),
    "car": define("mode.car", N_("car")),
}
_GI_CLASSES = {
    "hot_99": define("gi.hot_99", N_("hot spot (99%% confidence)")),
    "hot_95": define("gi.hot_95", N_("hot spot (95%% confidence)")),
    "hot_90": define("gi.hot_90", N_("hot spot (90%% confidence)")),
    "not_significant": define("gi.not_significant", N_("not significant")),
    "cold_90": define("gi.cold_90", N_("cold spot (90%% confidence)")),
    "cold_95": define("gi.cold_95", N_("cold spot (95%% confidence)")),
    "cold_99": define("gi.cold_99", N_("cold spot (99%% confidence)")),
    # the classes of a small station: each micro-grid against the station's mean density
    "above_99": define("gi.above_99", N_("above the station's mean (99%% confidence)")),
    "above_95": define("gi.above_95", N_("above the station's mean (95%% confidence)")),
    "above_90": define("gi.above_90", N_("above the station's mean (90%% confidence)")),
    "below_90": define("gi.below_90", N_("below the station's mean (90%% confidence)")),
    "below_95": define("gi.below_95", N_("below the station's mean (95%% confidence)")),
    "below_99": define("gi.below_99", N_("below the station's mean (99%% confidence)")),
}


def _word(words: dict, code: object) -> Message | str:
    """Return the message of an enumeration value, or the value when it is not one of them."""
    return words[code]() if code in words else str(code)


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is None:
        name = path.name.lower()
        fmt = next((f for suf, f in _SUFFIX.items() if name.endswith(suf)), None)
        if fmt is None:
            msg = (
                f"{path}: cannot tell the export format from the suffix; use .geojson, .gpkg, "
                f".csv or .gpx, or pass format= one of {', '.join(FORMATS)}"
            )
            raise InputError(msg)
    if fmt not in FORMATS:
        msg = f"export format {fmt!r} is unknown; use one of {', '.join(FORMATS)}"
        raise InputError(msg)
    return fmt


def _frames(
    plan: PatrolPlan, patroller: str | None, slices: Sequence[str] | None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    routes, stops = plan.to_geodataframes()
    if slices is not None:
        unknown = sorted(set(slices) - set(plan.slice_ids))
        if unknown:
            msg = (
                f"slice(s) {', '.join(unknown)} not in the plan; it has {', '.join(plan.slice_ids)}"
            )
            raise InputError(msg)
        routes = routes[routes["slice"].isin(slices)]
        stops = stops[stops["slice"].isin(slices)]
    if patroller is not None:
        known = sorted(set(routes["patroller_id"]))
        if patroller not in known:
            msg = (
                f"patroller {patroller!r} has no route in the plan; patrollers on duty: "
                f"{', '.join(known) or 'none'}"
            )
            raise InputError(msg)
        routes = routes[routes["patroller_id"] == patroller]
        stops = stops[stops["patroller_id"] == patroller]
    routes = routes[routes["stops"] > 0]  # patrollers on duty but not deployed have no route
    return routes.reset_index(drop=True), stops.reset_index(drop=True)


def _clock(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%H:%M")


def stop_table(
    plan: PatrolPlan, *, patroller: str | None = None, slices: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the stop list as a table: one row per stop, in slice, patroller and stop order.

    Columns: ``date``, ``slice``, ``patroller_id``, ``patroller``, ``mode``, ``order``,
    ``micro_id``, ``name``, ``base_id``, ``street``, ``arrive`` and ``leave`` (HH:MM, station time),
    ``dwell_min``, ``risk_rank``, ``gi_class``, ``risk_class``, ``visit``, ``stop_kind``
    (``grid``, or ``point``/``line`` for a key target), ``target_id``, ``window`` (a target's,
    HH:MM-HH:MM), ``arrival`` and ``departure`` (ISO 8601 with offset), ``lon``, ``lat``.

    Parameters
    ----------
    plan
        The plan (from :func:`~gridplan.plan_patrols` or :func:`~gridplan.load_plan`).
    patroller
        Only this patroller's stops; default everyone's.
    slices
        Only these slice ids; default every slice.

    Returns
    -------
    pandas.DataFrame
        The stops; write it with :func:`~gridplan.write_csv` for Excel.

    Examples
    --------
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> request = gp.PlanRequest("2019-06-01", slices=["night"])
    >>> plan = gp.plan_patrols(  # no street network: straight lines x detour factor
    ...     grid, hot, None, cfg, request, params=gp.SolveParams(workers=1, work_limit=5)
    ... )
    >>> table = stop_table(plan, patroller="A03")
    >>> table[["slice", "patroller_id", "micro_id"]].iloc[0].tolist()
    ['night', 'A03', 'S01-B...']
    >>> table["arrive"].iloc[0] >= "22:00"
    True
    """
    routes, stops = _frames(plan, patroller, slices)
    names = dict(zip(routes["patroller_id"], routes["name"], strict=True))
    modes = dict(zip(routes["patroller_id"], routes["mode"], strict=True))
    table = pd.DataFrame(
        {
            "date": stops["date"],
            "slice": stops["slice"],
            "patroller_id": stops["patroller_id"],
            "patroller": stops["patroller_id"].map(names),
            "mode": stops["patroller_id"].map(modes),
            "order": stops["order"],
            "micro_id": stops["micro_id"],
            "name": stops["name"],
            "base_id": stops["base_id"],
            "street": stops["street"],
            "arrive": stops["arrival"].map(_clock),
            "leave": stops["departure"].map(_clock),
            "dwell_min": stops["dwell_min"],
            "risk_rank": stops["risk_rank"],
            "gi_class": stops["gi_class"],
            "risk_class": stops["risk_class"],
            "visit": stops["visit"],
            "stop_kind": stops["stop_kind"],
            "target_id": stops["target_id"],
            "window": stops["window"],
            "arrival": stops["arrival"],
            "departure": stops["departure"],
            "lon": stops.geometry.x.round(7),
            "lat": stops.geometry.y.round(7),
        }
    )
    return table


def _gpx(
    plan: PatrolPlan,
    routes: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    gettext: Callable[[str], str] | None = None,
) -> ET.Element:
    ET.register_namespace("", _GPX_NS)

    def say(message: Message) -> str:
        return message if gettext is None else message.render(gettext)

    def el(parent, tag, text=None, **attrs):
        node = ET.SubElement(parent, f"{{{_GPX_NS}}}{tag}", {k: str(v) for k, v in attrs.items()})
        if text is not None:
            node.text = str(text)
        return node

    def utc(iso: str) -> str:
        return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    root = ET.Element(f"{{{_GPX_NS}}}gpx", {"version": "1.1", "creator": say(_GPX_CREATOR())})
    meta = el(root, "metadata")
    el(meta, "name", f"{plan.station_name} {plan.date.isoformat()}")
    el(meta, "desc", say(_GPX_PLAN(station=plan.station_id, timezone=plan.timezone)))
    # waypoints come first in GPX 1.1
    for _, s in stops.iterrows():
        w = el(root, "wpt", lat=f"{s.geometry.y:.7f}", lon=f"{s.geometry.x:.7f}")
        el(w, "time", utc(s["arrival"]))
        label = s["name"] if s["target_id"] else s["micro_id"]
        el(w, "name", f"{s['patroller_id']} {int(s['order'])}. {label}")
        desc = _GPX_STOP(
            slice=s["slice"],
            arrival=_clock(s["arrival"]),
            departure=_clock(s["departure"]),
            dwell=f"{s['dwell_min']:g}",
            name=s["name"],
            street=_GPX_STREET(street=s["street"]) if s["street"] else "",
            rank=s["risk_rank"],
            gi_class=_word(_GI_CLASSES, s["gi_class"]),
        )
        if s["target_id"]:
            desc = _GPX_TARGET(
                slice=s["slice"],
                arrival=_clock(s["arrival"]),
                departure=_clock(s["departure"]),
                name=s["name"],
                street=_GPX_STREET(street=s["street"]) if s["street"] else "",
                window=s["window"],
            )
        el(w, "desc", say(desc))
        el(w, "type", s["risk_class"])
    for _, r in routes.iterrows():
        title = f"{r['date']} {r['slice']} {r['patroller_id']} {r['name']}"
        rte = el(root, "rte")
        el(rte, "name", title)
        el(
            rte,
            "desc",
            say(_GPX_ROUTE(start=_clock(r["start"]), end=_clock(r["end"]), stops=r["stops"])),
        )
        mine = stops[
            (stops["slice"] == r["slice"])
            & (stops["patroller_id"] == r["patroller_id"])
            & (stops["part"] == r["part"])  # a break splits a slice into parts
        ]
        for _, s in mine.sort_values("order").iterrows():
            pt = el(rte, "rtept", lat=f"{s.geometry.y:.7f}", lon=f"{s.geometry.x:.7f}")
            el(pt, "time", utc(s["arrival"]))
            el(pt, "name", f"{int(s['order'])}. {s['micro_id']}")
    for _, r in routes.iterrows():
        trk = el(root, "trk")
        el(trk, "name", f"{r['date']} {r['slice']} {r['patroller_id']} {r['name']}")
        track = _GPX_TRACK(km=float(r["distance_m"]) / 1000, mode=_word(_MODES, r["mode"]))
        el(trk, "desc", say(track))
        seg = el(trk, "trkseg")
        for x, y in r.geometry.coords:
            el(seg, "trkpt", lat=f"{y:.7f}", lon=f"{x:.7f}")
    ET.indent(root)
    return root


def _embed_document(plan: PatrolPlan, path: Path) -> None:
    """Store the whole plan document in table ``plan`` so :func:`load_plan` reads it back."""
    table = pd.DataFrame(
        {
            "format": [FORMAT],
            "version": [VERSION],
            "station_id": [plan.station_id],
            "date": [plan.date.isoformat()],
            "document": [json.dumps(plan_to_dict(plan), ensure_ascii=False)],
        }
    )
    pyogrio.write_dataframe(table, path, layer=PLAN_TABLE)


def export_plan(
    plan: PatrolPlan,
    path: str | Path,
    *,
    format: str | None = None,
    patroller: str | None = None,
    slices: Sequence[str] | None = None,
    gettext: Callable[[str], str] | None = None,
) -> Path:
    """Write ``plan`` as GeoJSON, GeoPackage, a CSV stop list or GPX.

    Parameters
    ----------
    plan
        The plan (from :func:`~gridplan.routing.planner.plan_patrols` or
        :func:`~gridplan.io.planfile.load_plan`).
    path
        Output file; the format follows the suffix unless ``format`` is given. An existing
        file is replaced (a GeoPackage is rewritten with just the plan's layers).
    format
        ``geojson``, ``gpkg``, ``csv`` or ``gpx``.
    patroller
        Only this patroller's routes and stops.
    slices
        Only these slices.
    gettext
        GPX only: translates the words of the descriptions (e.g. a gettext catalogue's
        ``gettext``); English without it.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        Unknown format, slice or patroller (the valid ones are listed).

    Examples
    --------
    >>> export_plan(plan, "day.gpx", patroller="V01")  # doctest: +SKIP
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if isinstance(slices, str):
        slices = [slices]
    routes, stops = _frames(plan, patroller, slices)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return write_csv(stop_table(plan, patroller=patroller, slices=slices), path)
    if fmt == "gpx":
        tree = ET.ElementTree(_gpx(plan, routes, stops, gettext))
        tree.write(path, encoding="UTF-8", xml_declaration=True)
        return path
    if fmt == "gpkg":
        write_geodata(routes, path, layer="routes", replace=True)
        write_geodata(stops, path, layer="stops")
        if patroller is None and slices is None:
            _embed_document(plan, path)
        names = dict(zip(routes["patroller_id"], routes["name"], strict=True))
        ids = sorted(names)
        return write_gpkg_styles(
            path, {"routes": route_style(ids, names), "stops": stop_style(ids, names)}
        )
    # one collection: say which name is which, and keep whole numbers whole (null elsewhere)
    routes = routes.rename(columns={"name": "patroller"}).assign(kind="route")
    stops = stops.rename(columns={"name": "micro_name"}).assign(kind="stop")
    both = pd.concat([routes, stops], ignore_index=True, sort=False)
    for col in ("stops", "duration_s", "order", "prize", "risk_rank", "visit"):
        both[col] = both[col].astype("Int64")
    cols = ["kind"] + [c for c in both.columns if c not in ("kind", "geometry")] + ["geometry"]
    return write_geodata(gpd.GeoDataFrame(both[cols], geometry="geometry", crs=4326), path)


__all__ = ["FORMATS", "export_plan", "stop_table"]
