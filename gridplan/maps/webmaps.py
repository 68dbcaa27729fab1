"""The web UI's maps: the station grid with hot spots and incidents, and patrol plans.

Both are folium maps built from the layers of :mod:`gridplan.maps.layers`, so they work offline in
the same two ways: ``static_url="/static"`` links the vendored libraries served by the web UI,
``static_url=None`` and :func:`gridplan.maps.hotspot_map.save_map` give one self-contained HTML
file.

They stay fluent on a large station: geometry is sent once with rounded coordinates and drawn
on a canvas; incidents travel as compact integer columns (not one GeoJSON feature each), are
clustered, and only the latest ``max_incidents`` are sent, with a note saying so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._validate import check_grid_columns
from gridplan._validate import check_hotspot_columns
from gridplan.maps.layers import Layer
from gridplan.maps.layers import add_layer
from gridplan.maps.layers import add_layer_control
from gridplan.maps.layers import alert_layer
from gridplan.maps.layers import base_map
from gridplan.maps.layers import base_names
from gridplan.maps.layers import check_lang
from gridplan.maps.layers import hotspot_layer
from gridplan.maps.layers import micro_layer
from gridplan.maps.layers import outline_layer
from gridplan.maps.layers import presence_layer
from gridplan.maps.layers import require_vendor
from gridplan.maps.layers import station_layer
from gridplan.maps.palette import ALERT_COLOURS
from gridplan.maps.palette import ALERTS
from gridplan.maps.palette import DASHES
from gridplan.maps.palette import PATROLLER_COLOURS

#: Incidents sent to a grid map at most (the latest ones); 20,000 take about 0.5 MB.
INCIDENT_LIMIT = 20_000


_COORD_SCALE = 100_000  # incident coordinates in steps of 1e-5 degree (about 1 m)


def _check_grid(grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    required = (
        ("id", "level") if isinstance(grid, gpd.GeoDataFrame) else ("id", "level", "geometry")
    )
    check_grid_columns(grid, required)
    if grid.crs is None:
        msg = "grid has no CRS; set it first, e.g. grid.set_crs(4326)"
        raise CRSError(msg)
    return grid.to_crs(4326)


def incident_data(
    incidents: gpd.GeoDataFrame, labels: dict, *, limit: int = INCIDENT_LIMIT
) -> dict:
    """Pack incidents as integer columns for the clustered layer.

    The latest ``limit`` incidents by ``time`` are kept (the first ``limit`` rows without a
    ``time`` column). Returns the columns ``lat``/``lon`` (steps of 1/``scale`` degree from
    ``lat0``/``lon0``), ``cat`` (index into ``categories``, most frequent first), ``alert``
    (index into :data:`ALERTS`) and ``day`` (days after ``day0`` in the incidents' own
    timezone, -1 when unknown), with ``total`` and ``shown`` counts.
    """
    if incidents.crs is None:
        msg = "incidents have no CRS; set it first, e.g. incidents.set_crs(4326)"
        raise CRSError(msg)
    geom = incidents.geometry
    gdf = incidents[geom.notna() & ~geom.is_empty & (geom.geom_type == "Point")]
    total = len(gdf)
    if "time" in gdf:
        times = gdf["time"]
        if not pd.api.types.is_datetime64_any_dtype(times):
            times = pd.to_datetime(times, errors="coerce", utc=True)
        if getattr(times.dt, "tz", None) is not None:
            times = times.dt.tz_localize(None)  # wall-clock dates of the station
        gdf = gdf.assign(_t=times.to_numpy())
        gdf = gdf.sort_values("_t", ascending=False, na_position="last", kind="stable")
    gdf = gdf.head(max(int(limit), 0))
    if len(gdf):
        gdf = gdf.to_crs(4326)
    lat = gdf.geometry.y.to_numpy() if len(gdf) else np.zeros(0)
    lon = gdf.geometry.x.to_numpy() if len(gdf) else np.zeros(0)
    lat0 = round(float(lat.min()), 5) if len(lat) else 0.0
    lon0 = round(float(lon.min()), 5) if len(lon) else 0.0

    if "category" in gdf:
        cat = gdf["category"].astype("string").str.strip()
        cat = cat.mask(cat == "").fillna(labels["uncategorised"])
    else:
        cat = pd.Series(labels["uncategorised"], index=gdf.index, dtype="string")
    counts = cat.value_counts(sort=True)
    categories = [str(c) for c in counts.index]
    cat_codes = pd.Categorical(cat, categories=categories).codes

    if "alert" in gdf:
        alert = (
            gdf["alert"].astype("string").str.lower().map({a: k for k, a in enumerate(ALERTS[:-1])})
        )
        alert_codes = alert.fillna(len(ALERTS) - 1).to_numpy(dtype=int)
    else:
        alert_codes = np.full(len(gdf), len(ALERTS) - 1, dtype=int)

    day0 = "1970-01-01"
    days = np.full(len(gdf), -1, dtype=int)
    if "_t" in gdf and gdf["_t"].notna().any():
        d = gdf["_t"].to_numpy().astype("datetime64[D]")
        known = ~np.isnat(d)
        first = d[known].min()
        day0 = str(first)
        days[known] = (d[known] - first).astype(int)

    return {
        "lat0": lat0,
        "lon0": lon0,
        "scale": _COORD_SCALE,
        "lat": np.rint((lat - lat0) * _COORD_SCALE).astype(int).tolist(),
        "lon": np.rint((lon - lon0) * _COORD_SCALE).astype(int).tolist(),
        "cat": cat_codes.astype(int).tolist(),
        "alert": alert_codes.tolist(),
        "day": days.tolist(),
        "day0": day0,
        "categories": categories,
        "cat_counts": [int(n) for n in counts.to_numpy()],
        "alert_counts": np.bincount(alert_codes, minlength=len(ALERTS)).tolist(),
        "total": total,
        "shown": len(gdf),
    }


def grid_map(
    grid: gpd.GeoDataFrame,
    hotspots: pd.DataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    slice_labels: dict[str, str] | None = None,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
    max_incidents: int = INCIDENT_LIMIT,
    alerts: Sequence = (),
) -> folium.Map:
    """Map a station's 1+5+N grid, optionally with its hot spots and incidents.

    Layers, each in the layer control: the micro-grids (code and name on hover, a popup with
    the base grid and, with ``hotspots``, the incidents, score, rank and Gi* class of every
    slice, coloured by the slice and measure picked in a control with its legend), the station
    outline and base grids with their names, and the incidents clustered, with a control to
    filter them by category and alert colour.

    Parameters
    ----------
    grid
        The 1+5+N grid (``id``, ``level``, ``parent_id``, ``name``, geometry; any CRS).
    hotspots
        The long table of :func:`gridplan.analysis.hotspots.compute_hotspots` (``id``, ``slice``,
        ``count``, ``score``, ``rank``, ``gi_class``; ``density_km2`` and ``gi_z`` are used
        when present). Its geometry, if any, is not used: the grid's is.
    incidents
        The INCIDENTS table of :func:`gridplan.geo.incidents.import_incidents` (points with
        ``category``, ``alert`` and ``time``; each optional). All given incidents are drawn,
        up to the latest ``max_incidents``.
    slice_labels
        Display names per slice id (default: the ids; ``all`` is "全天"/"All day").
    lang
        ``"zh"`` or ``"en"``.
    tiles, attribution, static_url
        See :func:`gridplan.maps.layers.base_map`.
    max_incidents
        At most this many incidents are sent to the page, the latest first; the filter control
        then says how many were left out.
    alerts
        Red/yellow/blue alerts (:class:`~gridplan.routing.alerts.Alert`) to draw as a layer of
        their micro-grids in the alert's colour (:func:`~gridplan.maps.layers.alert_layer`).

    Returns
    -------
    folium.Map
        For the web UI render it with ``static_url="/static"``; for a file use
        :func:`gridplan.maps.hotspot_map.save_map`.

    Examples
    --------
    >>> m = grid_map(gdf_grid, gdf_hotspots, gdf_incidents, static_url="/static")  # doctest: +SKIP
    >>> html = m.get_root().render()  # doctest: +SKIP
    """
    labels = check_lang(lang)
    g = _check_grid(grid)
    m = base_map(tuple(g.total_bounds), tiles=tiles, attribution=attribution, static_url=static_url)
    if hotspots is not None:
        check_hotspot_columns(hotspots)
        hotspots = pd.DataFrame(hotspots.drop(columns="geometry", errors="ignore"))
    _add_grid(m, g, hotspots, labels, slice_labels)
    if incidents is not None:
        require_vendor(m, "leaflet.markercluster")
        data = incident_data(incidents, labels, limit=max_incidents)
        cfg = {
            "name": labels["incidents"],
            "alert_names": [labels[f"alert_{a}"] for a in ALERTS],
            "alert_colours": ALERT_COLOURS,
        }
        add_layer(m, Layer("incident_layer.html", data=data, cfg=cfg), labels)
    _add_alerts(m, g, alerts, labels)
    add_layer_control(m, labels)
    return m


def _add_alerts(m: folium.Map, grid: gpd.GeoDataFrame, alerts: Sequence, labels: dict) -> None:
    layer = alert_layer(grid, alerts, labels) if alerts else None
    if layer is not None:
        add_layer(m, layer, labels)


@dataclasses.dataclass(frozen=True)
class CityStation:
    """One station on a city map (:func:`city_map`).

    Attributes
    ----------
    station_id, name
        The station's.
    grid
        Its 1+5+N grid (any CRS).
    hotspots
        Its current hot-spot table (the all-day slice is drawn), or ``None``.
    alerts
        Its active alerts (:class:`~gridplan.routing.alerts.Alert`).
    url
        Where the station's marker leads (its pages), or ``""``.
    lines
        The marker popup's lines of figures (already in the reader's language).
    """

    station_id: str
    name: str
    grid: gpd.GeoDataFrame
    hotspots: pd.DataFrame | None = None
    alerts: Sequence = ()
    url: str = ""
    lines: tuple[str, ...] = ()


def _city_ids(stations: Sequence[CityStation]) -> bool:
    """Whether grid ids repeat across stations (then each is drawn as ``STATION/ID``)."""
    seen: set[str] = set()
    for st in stations:
        ids = set(st.grid["id"].astype(str))
        if seen & ids:
            return True
        seen |= ids
    return False


def _city_station(
    st: CityStation, prefix: bool
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None, list]:
    """Return a station's grid, all-day hot spots and alerts for the city map, ids unique."""

    def rename(value):
        return f"{st.station_id}/{value}" if prefix and isinstance(value, str) else value

    g = _check_grid(st.grid).copy()
    g["id"] = g["id"].astype(str).map(rename)
    if "parent_id" in g:
        g["parent_id"] = g["parent_id"].map(rename)
    hot = None
    if st.hotspots is not None:
        check_hotspot_columns(st.hotspots)
        hot = pd.DataFrame(st.hotspots.drop(columns="geometry", errors="ignore"))
        hot = hot[hot["slice"] == "all"].assign(id=lambda h: h["id"].astype(str).map(rename))
    alerts = [
        dataclasses.replace(
            a, id=f"{st.station_id}-{a.id}", micro_ids=tuple(rename(m) for m in a.micro_ids)
        )
        for a in st.alerts
    ]
    return g, hot, alerts


def _add_grid(m, g, hotspots, labels, slice_labels) -> None:
    """Add the micro-grids (as a hot-spot layer when ``hotspots`` is a frame) and outlines."""
    if hotspots is not None:
        micro = g[g["level"] == "micro"]
        keep = [c for c in ("id", "name", "parent_id", "geometry") if c in micro]
        layer = hotspot_layer(
            micro[keep], hotspots, labels, slice_labels=slice_labels, bases=base_names(g)
        )
    else:
        layer = micro_layer(g, labels)
    add_layer(m, layer, labels)
    outlines = outline_layer(g, labels)
    if outlines is not None:
        add_layer(m, outlines, labels)


def city_map(
    stations: Sequence[CityStation],
    *,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
) -> folium.Map:
    """Map many stations at once: their grids, all-day hot spots, active alerts and markers.

    A bureau's city map. Layers: the micro-grids of every station coloured by their all-day
    hot-spot figures (stations without hot spots plain), the stations' outlines and base
    grids, the micro-grids under active alerts (alert ids prefixed with their station's), and a
    marker per station with its name, figures and a link into it. Grid ids that repeat across
    stations are drawn as ``STATION/ID``.

    Raises
    ------
    InputError
        Without any station.

    Examples
    --------
    >>> m = city_map([CityStation("S01", "一所", gdf_grid)], static_url="/static")  # doctest: +SKIP
    """
    labels = check_lang(lang)
    if not stations:
        msg = "a city map needs at least one station with a grid; import a grid first"
        raise InputError(msg)
    prefix = _city_ids(stations)
    parts = [_city_station(st, prefix) for st in stations]
    g = gpd.GeoDataFrame(pd.concat([p[0] for p in parts], ignore_index=True), crs=4326)
    hots = [p[1] for p in parts if p[1] is not None and not p[1].empty]
    m = base_map(tuple(g.total_bounds), tiles=tiles, attribution=attribution, static_url=static_url)
    hot = pd.concat(hots, ignore_index=True) if hots else None
    _add_grid(m, g, hot, labels, {"all": "全天" if lang == "zh" else "All day"})
    _add_alerts(m, g, [a for p in parts for a in p[2]], labels)
    marks = []
    for st, (sg, _hot, _alerts) in zip(stations, parts, strict=True):
        own = sg[sg["level"] == "station"]
        shape = (own if len(own) else sg).geometry.union_all()
        point = shape.representative_point()
        marks.append(
            [round(point.y, 6), round(point.x, 6), st.station_id, st.name, st.url, list(st.lines)]
        )
    add_layer(m, station_layer(marks, labels), labels)
    add_layer_control(m, labels)
    return m


def alert_pick_map(
    grid: gpd.GeoDataFrame,
    alerts: Sequence = (),
    *,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
) -> folium.Map:
    """Map the grid for declaring alerts: micro-grids to pick, the active alerts on top.

    Inside a frame a micro-grid's popup has an "Add to alert" button that posts
    ``{gridplan: "alert", id: MICRO_ID}`` to the parent page (the Alerts page).

    Examples
    --------
    >>> m = alert_pick_map(gdf_grid, alerts, static_url="/static")  # doctest: +SKIP
    """
    labels = check_lang(lang)
    g = _check_grid(grid)
    m = base_map(tuple(g.total_bounds), tiles=tiles, attribution=attribution, static_url=static_url)
    add_layer(m, micro_layer(g, labels, actions="alert"), labels)
    outlines = outline_layer(g, labels)
    if outlines is not None:
        add_layer(m, outlines, labels)
    _add_alerts(m, g, alerts, labels)
    add_layer_control(m, labels)
    return m


def _ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (stop numbers)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"


def patroller_styles(plan) -> dict[str, dict]:
    """Return patroller id -> ``colour``, ``ink`` (stop numbers) and ``dash``.

    The styles are the same in every slice of ``plan``.

    Patrollers are taken in id order, so a patroller keeps its colour when the plan is made
    again with other stops.
    """
    ids = sorted({r.patroller_id for s in plan.slices for r in s.routes})
    n = len(PATROLLER_COLOURS)
    return {
        pid: {
            "colour": PATROLLER_COLOURS[k % n],
            "ink": _ink(PATROLLER_COLOURS[k % n]),
            "dash": DASHES[(k // n) % len(DASHES)],
        }
        for k, pid in enumerate(ids)
    }


def _local(t: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return t if t.tzinfo is None else t.astimezone(tz)


def plan_data(plan, slice_labels: dict[str, str] | None = None) -> dict:
    """Return the patrollers and, per slice, the routes (path, numbered stops) of a plan.

    A slice is labelled with its name from ``slice_labels`` (the UI's language) and its hours;
    without one, with the plan's own label (both languages: ``早间 Morning 06:00-10:00``).
    """
    tz = ZoneInfo(plan.timezone)
    styles = patroller_styles(plan)
    order = {pid: k for k, pid in enumerate(styles)}
    patrollers: list[dict | None] = [None] * len(order)
    slices = []
    for s in plan.slices:
        routes, numbers = [], {}
        for r in s.routes:
            k = order[r.patroller_id]
            if patrollers[k] is None:
                patrollers[k] = {
                    "id": r.patroller_id,
                    "name": r.name,
                    "role": r.role,
                    "mode": r.mode,
                    **styles[r.patroller_id],
                }
            if not r.deployed:
                continue
            coords = [] if r.path is None or r.path.is_empty else list(r.path.coords)
            stops = []
            for p in r.stops:
                # numbers run on over the parts of a patroller's slice (after a break)
                numbers[r.patroller_id] = numbers.get(r.patroller_id, 0) + 1
                arrive, leave = _local(p.arrival, tz), _local(p.departure, tz)
                stops.append(
                    {
                        "id": p.micro_id,
                        "name": p.name,
                        "street": p.street,
                        "lat": round(p.lat, 6),
                        "lon": round(p.lon, 6),
                        "n": numbers[r.patroller_id],
                        "t": f"{arrive:%H:%M}–{leave:%H:%M}",
                        "dwell": round(p.dwell_s / 60, 1),
                        "rank": int(p.risk_rank) if p.risk_rank is not None else None,
                        "gi": p.gi_class,
                        "risk": p.risk_class,
                        **_target_fields(p, tz),
                    }
                )
            routes.append(
                {
                    "p": k,
                    "part": r.part,
                    "path": [[round(y, 6), round(x, 6)] for x, y, *_ in coords],
                    "stops": stops,
                }
            )
        name = (slice_labels or {}).get(s.slice_id)
        label = f"{name} {_local(s.start, tz):%H:%M}-{_local(s.end, tz):%H:%M}" if name else s.label
        slices.append({"id": s.slice_id, "label": label, "routes": routes})
    return {"patrollers": patrollers, "slices": slices, "targets": _targets(plan)}


def _target_fields(p, tz: ZoneInfo) -> dict:
    """Return a target stop's kind, id and window served (nothing for a micro-grid)."""
    if not p.target_id or p.window_start is None:
        return {}
    window = f"{_local(p.window_start, tz):%H:%M}–{_local(p.window_end, tz):%H:%M}"
    return {"kind": p.kind, "target": p.target_id, "win": window}


def _targets(plan) -> list[dict]:
    """Return the plan's targets (settings): name, kind, windows, ``[lat, lon]`` vertices."""
    out = []
    for t in plan.settings.get("targets") or ():
        coords = [[round(y, 6), round(x, 6)] for x, y, *_ in t.get("coords") or ()]
        if coords:
            out.append(
                {
                    "id": str(t.get("id", "")),
                    "name": str(t.get("name", "")),
                    "kind": "line" if len(coords) > 1 else "point",
                    "windows": str(t.get("windows", "")),
                    "coords": coords,
                }
            )
    return out


def _plan_bounds(data: dict) -> tuple[float, float, float, float] | None:
    pts = [
        (lat, lon)
        for s in data["slices"]
        for r in s["routes"]
        for lat, lon in [*r["path"], *((p["lat"], p["lon"]) for p in r["stops"])]
    ]
    if not pts:
        return None
    lats, lons = zip(*pts, strict=True)
    return (min(lons), min(lats), max(lons), max(lats))


def plan_map(
    plan,
    *,
    grid: gpd.GeoDataFrame | None = None,
    slice_labels: dict[str, str] | None = None,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
    alerts: Sequence = (),
) -> folium.Map:
    """Map a patrol plan: one colour per patroller, one layer per slice.

    Each slice is an overlay (the first shown) with every route's street path and numbered
    stop markers. A stop's popup gives the micro-grid code and name, the street, arrival and
    departure (HH:MM in the plan's timezone), the dwell and why it was chosen (risk rank, Gi*
    class, risk class). A legend lists the patrollers. Micro-grid and stop popups offer
    Pin/Exclude (必巡/排除) buttons when the map is inside a frame: they post
    ``{gridplan: "pin" | "exclude", id: MICRO_ID}`` to the parent page, which should check
    the message's origin; a map opened on its own shows no such buttons.

    Parameters
    ----------
    plan
        A :class:`gridplan.routing.plan.PatrolPlan`.
    grid
        The 1+5+N grid; its micro-grids, base grids and station outline are drawn when given.
    slice_labels
        Slice names in ``lang`` per slice id (default: the plan's labels, in both languages).
    lang
        ``"zh"`` or ``"en"``.
    tiles, attribution, static_url
        See :func:`gridplan.maps.layers.base_map`.
    alerts
        Alerts to draw over the grid (e.g. those the plan recorded), when ``grid`` is given.

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        If the plan has no deployed route and no ``grid`` is given (nothing to centre on).

    Examples
    --------
    >>> m = plan_map(plan, grid=gdf_grid, static_url="/static")  # doctest: +SKIP
    """
    labels = check_lang(lang)
    data = plan_data(plan, slice_labels)
    g = None if grid is None else _check_grid(grid)
    bounds = tuple(g.total_bounds) if g is not None else _plan_bounds(data)
    if bounds is None:
        msg = (
            f"plan for {plan.date} has no deployed route to show and no grid was given; "
            "pass grid= to draw the station"
        )
        raise InputError(msg)
    m = base_map(bounds, tiles=tiles, attribution=attribution, static_url=static_url)
    if g is not None:
        add_layer(m, micro_layer(g, labels, actions=True), labels)
        outlines = outline_layer(g, labels)
        if outlines is not None:
            add_layer(m, outlines, labels)
        _add_alerts(m, g, alerts, labels)
    add_layer(m, Layer("plan_layer.html", data=data), labels)
    add_layer_control(m, labels, collapsed=False)
    return m


def presence_map(
    grid: gpd.GeoDataFrame,
    presence: pd.DataFrame,
    *,
    planned: Mapping[str, float] | None = None,
    stops: pd.DataFrame | None = None,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
) -> folium.Map:
    """Map where patrols really were: minutes per micro-grid, and the plan's stops by status.

    Parameters
    ----------
    grid
        The 1+5+N grid (any CRS).
    presence
        Minutes per micro-grid (``micro_id``, ``minutes``, ``error_min``; rows of one
        micro-grid are added up), e.g. a compliance report's ``presence.minutes``.
    planned
        Planned minutes per top hot spot (outlined; the tooltip compares).
    stops
        A compliance report's stops (circles in their status colour).
    lang, tiles, attribution, static_url
        As for :func:`plan_map`.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> report = compute_compliance(plan, fixes, grid)  # doctest: +SKIP
    >>> m = presence_map(grid, report.presence.minutes, stops=report.stops)  # doctest: +SKIP
    """
    labels = check_lang(lang)
    g = _check_grid(grid)
    m = base_map(tuple(g.total_bounds), tiles=tiles, attribution=attribution, static_url=static_url)
    add_layer(m, micro_layer(g, labels), labels)
    outlines = outline_layer(g, labels)
    if outlines is not None:
        add_layer(m, outlines, labels)
    add_layer(m, presence_layer(g, presence, labels, planned=planned, stops=stops), labels)
    add_layer_control(m, labels)
    return m
