"""Map layers with folium (Leaflet), working offline: base map, hot-spot, outline, micro-grids.

Folium links Leaflet, jQuery and Bootstrap from public CDNs; station intranets have no internet,
so these maps use only Leaflet (and leaflet.markercluster for incident layers), vendored in
``gridplan/web/static/vendor/``. A saved map inlines them (one self-contained HTML file,
:func:`gridplan.maps.hotspot_map.save_map`); the web UI points the same map at its own static
URL. :mod:`gridplan.maps.hotspot_map` and :mod:`gridplan.maps.webmaps` build the hot-spot, grid
and patrol-plan maps from the layers defined here.

The micro-grid geometry is sent once. Each feature carries its figures for every time slice,
and a small control restyles the layer when the user picks another slice or measure, so a map
of 10,000 micro-grids x 9 slices stays light and fluent (canvas rendering, rounded coordinates).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from collections.abc import Sequence
from importlib import resources

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from branca.element import MacroElement
from branca.element import Template

from gridplan._errors import InputError
from gridplan._validate import HOT_CLASSES
from gridplan._validate import class_method
from gridplan.maps.palette import ALERT_COLOURS
from gridplan.maps.palette import ALERTS
from gridplan.maps.palette import FILL_OPACITY
from gridplan.maps.palette import GI_COLOURS
from gridplan.maps.palette import GI_KEYS
from gridplan.maps.palette import HOT_OUTLINE
from gridplan.maps.palette import LEGEND_KEYS
from gridplan.maps.palette import NO_DATA_COLOUR
from gridplan.maps.palette import PRESENCE_BREAKS_MIN
from gridplan.maps.palette import PRESENCE_COLOURS
from gridplan.maps.palette import SCORE_COLOURS
from gridplan.maps.palette import STATUS_COLOURS

#: Tile layer presets; any other value is taken as an XYZ URL template of the user's server.
TILE_PRESETS = {
    "openstreetmap": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; OpenStreetMap contributors",
    ),
}

_ASSET_PREFIX = "gridplan-asset:"
MAX_ZOOM = 18

LABELS = {
    "zh": {
        "slice": "时段",
        "measure": "指标",
        "score": "风险评分",
        "density": "密度（起/平方公里）",
        "count": "警情数",
        "gi": "Gi* 热点类别",
        "rank": "排名",
        "base": "基础网格",
        "micro": "微网格",
        "hot_99": "热点 99%",
        "hot_95": "热点 95%",
        "hot_90": "热点 90%",
        "not_significant": "不显著",
        "cold_90": "冷点 90%",
        "cold_95": "冷点 95%",
        "cold_99": "冷点 99%",
        "gi_excess": "热点等级（与全所平均比较）",
        "above_99": "高于全所平均 99%",
        "above_95": "高于全所平均 95%",
        "above_90": "高于全所平均 90%",
        "below_90": "低于全所平均 90%",
        "below_95": "低于全所平均 95%",
        "below_99": "低于全所平均 99%",
        "classes_excess": "小警务室：各微网格警情数与全所平均密度比较（二项检验，FDR 校正）",
        "score_is_forecast": "风险评分即经回测为本时段选定的预测：{method}（巡逻计划据此排序）",
        "score_is_heat": "风险评分即热点评分（严重程度 × 时间衰减），巡逻计划据此排序",
        "class_head_gistar": "Gi*",
        "class_head_excess": "热点等级",
        "all": "全天",
        "no_data": "无警情",
        "hot_border": "黑白双线边框：Gi* 热点",
        "hot_border_excess": "黑白双线边框：高于全所平均",
        "station": "警务室辖区",
        "name": "名称",
        "base_grid": "所属基础网格",
        "pin": "必巡",
        "exclude": "排除",
        "incidents": "警情",
        "category": "类别",
        "alert": "预警",
        "date": "日期",
        "uncategorised": "未分类",
        "alert_red": "红色",
        "alert_yellow": "黄色",
        "alert_blue": "蓝色",
        "alert_none": "无预警",
        "capped": "仅显示最近 {shown} 起（共 {total} 起）",
        "patrollers": "巡逻人员",
        "stop": "第 {n} 站",
        "street": "街道",
        "time": "时间",
        "dwell": "停留",
        "minutes": "分钟",
        "why": "原因",
        "risk_top": "重点热点",
        "risk_high": "较高风险",
        "risk_other": "一般",
        "risk_target": "重点目标",
        "window": "时段",
        "targets": "重点目标与路段",
        "walked": "步行巡查路段",
        "mode_walk": "步巡",
        "mode_ebike": "电动车",
        "mode_car": "车巡",
        "alerts": "三色预警",
        "stations": "警务室",
        "open_station": "进入该警务室（只读）",
        "alert_until": "至",
        "add_to_alert": "加入预警",
        "presence": "实际巡逻时长",
        "presence_stops": "计划停留点（按执行情况）",
        "present_min": "实际在场",
        "planned_min": "计划",
        "top_spot": "重点热点",
        "error_pm": "误差 ±",
        "status_visited": "已到达",
        "status_late": "迟到",
        "status_missed": "未到",
        "status_no_track": "无轨迹",
        "status_not_measured": "无法衡量",
    },
    "en": {
        "slice": "Time slice",
        "measure": "Measure",
        "score": "Risk score",
        "density": "Density (per km²)",
        "count": "Incidents",
        "gi": "Gi* hot-spot class",
        "rank": "Rank",
        "base": "Base grids",
        "micro": "Micro-grids",
        "hot_99": "Hot spot 99%",
        "hot_95": "Hot spot 95%",
        "hot_90": "Hot spot 90%",
        "not_significant": "Not significant",
        "cold_90": "Cold spot 90%",
        "cold_95": "Cold spot 95%",
        "cold_99": "Cold spot 99%",
        "gi_excess": "Hot-spot class (vs. station mean)",
        "above_99": "Above station mean 99%",
        "above_95": "Above station mean 95%",
        "above_90": "Above station mean 90%",
        "below_90": "Below station mean 90%",
        "below_95": "Below station mean 95%",
        "below_99": "Below station mean 99%",
        "classes_excess": (
            "Small station: each micro-grid's incidents against the station's mean density "
            "(binomial test, FDR)"
        ),
        "score_is_forecast": (
            "Risk score = the forecast back-tested and chosen for this slice: {method} "
            "(patrol plans rank by it)"
        ),
        "score_is_heat": (
            "Risk score = the hot-spot score (severity x recency decay); patrol plans rank by it"
        ),
        "class_head_gistar": "Gi*",
        "class_head_excess": "Class",
        "all": "All day",
        "no_data": "No incidents",
        "hot_border": "Black-and-white outline: Gi* hot spot",
        "hot_border_excess": "Black-and-white outline: above the station mean",
        "station": "Station area",
        "name": "Name",
        "base_grid": "Base grid",
        "pin": "Pin",
        "exclude": "Exclude",
        "incidents": "Incidents",
        "category": "Category",
        "alert": "Alert",
        "date": "Date",
        "uncategorised": "Uncategorised",
        "alert_red": "Red",
        "alert_yellow": "Yellow",
        "alert_blue": "Blue",
        "alert_none": "No alert",
        "capped": "Showing the latest {shown} of {total}",
        "patrollers": "Patrollers",
        "stop": "stop {n}",
        "street": "Street",
        "time": "Time",
        "dwell": "dwell",
        "minutes": "min",
        "why": "Why",
        "risk_top": "top hot spot",
        "risk_high": "high risk",
        "risk_other": "other",
        "risk_target": "key target",
        "window": "window",
        "targets": "Key targets and road sections",
        "walked": "section walked",
        "mode_walk": "on foot",
        "mode_ebike": "e-bike",
        "mode_car": "car",
        "alerts": "Alerts",
        "stations": "Stations",
        "open_station": "Open this station (read-only)",
        "alert_until": "until",
        "add_to_alert": "Add to alert",
        "presence": "Time present",
        "presence_stops": "Planned stops (by status)",
        "present_min": "present",
        "planned_min": "planned",
        "top_spot": "top hot spot",
        "error_pm": "error ±",
        "status_visited": "visited",
        "status_late": "late",
        "status_missed": "missed",
        "status_no_track": "no track",
        "status_not_measured": "not measured",
    },
}


#: Vendored JavaScript libraries: folder under ``web/static/vendor`` -> (scripts, stylesheets).
VENDOR = {
    "leaflet": (("leaflet.js",), ("leaflet.css",)),
    "leaflet.markercluster": (
        ("leaflet.markercluster.js",),
        ("MarkerCluster.css", "MarkerCluster.Default.css"),
    ),
}


def _read_template(name: str) -> str:
    return resources.files("gridplan.maps").joinpath("templates", name).read_text("utf-8")


def _vendor_dir(lib: str = "leaflet"):
    return resources.files("gridplan.web").joinpath("static", "vendor", lib)


def _asset_links(libs: list[str], static_url: str | None):
    js, css = [], []
    for lib in libs:
        scripts, sheets = VENDOR[lib]
        if static_url is None:
            base = f"{_ASSET_PREFIX}{lib}"
        else:
            base = f"{static_url.rstrip('/')}/vendor/{lib}"
        js += [(f"{lib}/{f}", f"{base}/{f}") for f in scripts]
        css += [(f"{lib}/{f}", f"{base}/{f}") for f in sheets]
    return js, css


def use_local_assets(m: folium.Map, *, static_url: str | None = None) -> folium.Map:
    """Replace folium's CDN links with the JavaScript libraries vendored in gridplan.

    Leaflet always; leaflet.markercluster too when a layer of the map needs it (the incident
    layer of :func:`gridplan.maps.webmaps.grid_map`), also when that layer is added afterwards.

    Parameters
    ----------
    m
        The map; changed in place (folium maps are builders) and returned.
    static_url
        URL prefix under which ``vendor/`` is served (the web UI's ``/static``), giving links
        such as ``/static/vendor/leaflet/leaflet.js``; ``None`` marks the assets for inlining
        by :func:`save_map`.
    """
    libs = getattr(m, "_gridplan_vendor", ["leaflet"])
    m._gridplan_vendor = libs
    m._gridplan_static_url = static_url
    m.default_js, m.default_css = _asset_links(libs, static_url)
    return m


def require_vendor(m: folium.Map, lib: str) -> None:
    """Add a vendored library (such as ``leaflet.markercluster``) to the assets of ``m``."""
    libs = getattr(m, "_gridplan_vendor", ["leaflet"])
    if lib not in libs:
        m._gridplan_vendor = [*libs, lib]
    use_local_assets(m, static_url=getattr(m, "_gridplan_static_url", None))


def _vendor_text(lib: str, name: str) -> str:
    scripts, sheets = VENDOR.get(lib, ((), ()))
    if name not in scripts + sheets:
        msg = f"no vendored asset {lib}/{name}; gridplan ships {sorted(VENDOR)}"
        raise InputError(msg)
    folder = _vendor_dir(lib)
    text = folder.joinpath(name).read_text("utf-8")
    # The source maps are not shipped: drop the pointer so no browser asks for them.
    text = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", text)
    if name.endswith(".css"):

        def data_uri(match: re.Match) -> str:
            png = folder.joinpath("images", match.group(1)).read_bytes()
            return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

        return re.sub(r"url\(images/([\w\-]+\.png)\)", data_uri, text)
    return text.replace("</script", "<\\/script")


def inline_assets(html: str) -> str:
    """Replace the asset links that :func:`use_local_assets` marked by the libraries' text."""
    # Only the head holds asset links; the body's data could contain look-alike text.
    head, sep, body = html.partition("</head>")
    head = re.sub(
        rf'<script src="{_ASSET_PREFIX}([\w.\-]+)/([\w.\-]+)"></script>',
        lambda m: f"<script>{_vendor_text(m.group(1), m.group(2))}</script>",
        head,
    )
    head = re.sub(
        rf'<link rel="stylesheet" href="{_ASSET_PREFIX}([\w.\-]+)/([\w.\-]+)"\s*/>',
        lambda m: f"<style>{_vendor_text(m.group(1), m.group(2))}</style>",
        head,
    )
    return head + sep + body


def script_json(obj) -> str:
    """JSON for a ``<script>`` element: compact, with ``<``, ``>`` and ``&`` escaped.

    A name such as ``</script><script>alert(1)</script>`` then stays a string in the data
    instead of ending the script; pages build their HTML from it with an escaping helper.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def base_map(
    bounds: tuple[float, float, float, float],
    *,
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
) -> folium.Map:
    """Create an offline-capable folium map fitted to ``bounds`` (lon/lat minx, miny, maxx, maxy).

    ``tiles`` is ``"openstreetmap"``, ``None``/``"none"`` (no background: the grid alone, which
    works on any intranet) or an XYZ URL template of the station's own tile server.
    """
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_control=True)
    # Without a tile layer Leaflet has no zoom limit, which marker clustering needs; 18 is
    # the limit of folium's tile layers.
    m.options["maxZoom"] = MAX_ZOOM
    use_local_assets(m, static_url=static_url)
    if tiles and str(tiles).lower() != "none":
        url, attr = TILE_PRESETS.get(str(tiles).lower(), (tiles, attribution or ""))
        if "{z}" not in url or "{x}" not in url or "{y}" not in url:
            msg = (
                f"tile URL {tiles!r} has no {{z}}/{{x}}/{{y}} placeholders; give an XYZ template "
                "such as http://tiles.example.local/{z}/{x}/{y}.png, 'openstreetmap' or 'none'"
            )
            raise InputError(msg)
        folium.TileLayer(url, attr=attribution or attr or "tiles", control=False).add_to(m)
    minx, miny, maxx, maxy = bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _rounded_geojson(gdf: gpd.GeoDataFrame, properties: list[dict]) -> dict:
    # 6 decimals is ~0.1 m: plenty for 200 m cells, and a third smaller than full precision.
    geoms = gdf.to_crs(4326).geometry.set_precision(1e-6)
    features = [
        {"type": "Feature", "geometry": g.__geo_interface__, "properties": p}
        for g, p in zip(geoms, properties, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _score_breaks(values: np.ndarray) -> list[float]:
    positive = values[values > 0]
    if positive.size == 0:
        return []
    qs = np.quantile(positive, [0.2, 0.4, 0.6, 0.8])
    return [float(q) for q in np.unique(qs)]


class Layer(MacroElement):
    """A map part drawn by a template of ``gridplan/maps/templates``; data go in as script JSON."""

    def __init__(self, template: str, **data):
        super().__init__()
        self._name = "Gridplan" + template.split(".")[0].title().replace("_", "")
        self._template = Template(_read_template(template))
        self.template_name = template
        for key, value in data.items():
            setattr(self, key, script_json(value))


def check_lang(lang: str) -> dict:
    """Return the labels of ``lang`` or raise :class:`InputError`."""
    if lang not in LABELS:
        msg = f"lang={lang!r}; use 'zh' or 'en'"
        raise InputError(msg)
    return LABELS[lang]


def add_layer(m: folium.Map, layer: MacroElement, labels: dict) -> folium.Map:
    """Add a gridplan layer, after the shared helpers (``gridplanUI``) the first time."""
    if not getattr(m, "_gridplan_common", False):
        m.add_child(Layer("gridplan_common.html", labels=labels))
        m._gridplan_common = True
    m.add_child(layer)
    return m


def add_layer_control(m: folium.Map, labels: dict, *, collapsed: bool = True) -> folium.Map:
    """Add the control that toggles every overlay the gridplan layers registered."""
    return add_layer(m, Layer("layer_control.html", opts={"collapsed": collapsed}), labels)


def _clean(x):
    """Return a JSON-ready scalar: ``None`` for NaN/NA, Python numbers for numpy ones."""
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    if isinstance(x, np.generic):
        return x.item()
    return x


def base_names(grid: gpd.GeoDataFrame | None) -> dict[str, str]:
    """Base-grid id -> display name (the id when unnamed)."""
    if grid is None or "level" not in grid:
        return {}
    bases = grid[grid["level"] == "base"]
    names = bases["name"] if "name" in bases else bases["id"]
    return {
        str(i): str(n) if _clean(n) not in (None, "") else str(i)
        for i, n in zip(bases["id"], names, strict=True)
    }


def hotspot_layer(
    cells: gpd.GeoDataFrame,
    hotspots: pd.DataFrame,
    labels: dict,
    *,
    slice_labels: dict[str, str] | None = None,
    bases: dict[str, str] | None = None,
    actions: bool = False,
) -> MacroElement:
    """Make the micro-grid choropleth: geometry once, each feature's figures per slice.

    ``cells`` has ``id``, ``geometry`` and optionally ``name`` and ``parent_id``; ``hotspots``
    the long hot-spot table (``density_km2`` and ``gi_z`` may be missing). Micro-grids without
    a row in a slice get no figures there.
    """
    slices = list(dict.fromkeys(hotspots["slice"]))
    ids = cells["id"].astype(str).tolist()
    names = cells["name"].tolist() if "name" in cells else [""] * len(ids)
    parents = cells["parent_id"].tolist() if "parent_id" in cells else [None] * len(ids)
    props = [
        {"id": i, "name": str(_clean(n) or ""), "b": _clean(b), "v": []}
        for i, n, b in zip(ids, names, parents, strict=True)
    ]
    gi_index = {k: n for n, k in enumerate(GI_KEYS)}
    method = class_method(hotspots["gi_class"].dropna())
    has_density = "density_km2" in hotspots
    score_breaks, density_breaks = {}, {}
    for sid in slices:
        part = hotspots[hotspots["slice"] == sid].drop_duplicates("id")
        part = part.set_index(part["id"].astype(str)).reindex(ids)
        score_breaks[sid] = _score_breaks(part["score"].dropna().to_numpy(dtype=float))
        dens = part["density_km2"] if has_density else pd.Series(np.nan, index=part.index)
        density_breaks[sid] = _score_breaks(dens.dropna().to_numpy(dtype=float))
        gz = part["gi_z"] if "gi_z" in part else pd.Series(np.nan, index=part.index)
        cols = zip(
            part["count"], dens, part["score"], part["rank"], gz, part["gi_class"], strict=True
        )
        for p, (c, d, s, r, z, k) in zip(props, cols, strict=True):
            if pd.isna(c) and pd.isna(s):
                p["v"].append(None)
                continue
            p["v"].append(
                [
                    None if pd.isna(c) else int(c),
                    None if pd.isna(d) else round(float(d), 2),
                    None if pd.isna(s) else round(float(s), 3),
                    None if pd.isna(r) else int(r),
                    None if pd.isna(z) else round(float(z), 2),
                    gi_index.get(str(k)),
                ]
            )
    shown = {
        sid: (slice_labels or {}).get(sid, labels["all"] if sid == "all" else sid) for sid in slices
    }
    cfg = {
        "slices": [[sid, shown[sid]] for sid in slices],
        "gi_keys": GI_KEYS,
        "gi_colours": GI_COLOURS,
        # how the classes were made: the legend lists that method's classes and says what
        # they are; hot_keys are outlined on the score and density maps
        "classes": method,
        "legend_keys": LEGEND_KEYS[method],
        "hot_keys": HOT_CLASSES,
        "score_colours": SCORE_COLOURS,
        "no_data": NO_DATA_COLOUR,
        "fill_opacity": FILL_OPACITY,
        "hot_outline": HOT_OUTLINE,
        "score_breaks": score_breaks,
        "density_breaks": density_breaks,
        # what the score is (the plan prize): the forecast chosen per slice
        "forecast": _forecast_names(hotspots),
        "has_density": has_density,
        "bases": bases or {},
        "actions": actions,
        "name": labels["micro"],
    }
    return Layer("hotspot_layer.html", data=_rounded_geojson(cells, props), cfg=cfg)


def _forecast_names(hotspots: pd.DataFrame) -> dict[str, str]:
    """Return the forecast method per slice (``forecast`` column; ``hotspot``: hot-spot score)."""
    if "forecast" not in hotspots:
        return {}
    names = hotspots.groupby("slice", sort=False)["forecast"].first()
    return {str(k): str(v) for k, v in names.items() if isinstance(v, str) and v}


def outline_layer(grid: gpd.GeoDataFrame, labels: dict) -> MacroElement | None:
    """Station outline and base grids (dashed, with their names as permanent labels)."""
    g = grid.to_crs(4326)
    outlines = g[g["level"].isin(["station", "base"])]
    if outlines.empty:
        return None
    names = base_names(g)
    props = [{"level": str(lv)} for lv in outlines["level"]]
    bases = outlines[outlines["level"] == "base"]
    points = bases.geometry.representative_point()
    marks = [
        [round(pt.y, 6), round(pt.x, 6), names[str(i)]]
        for i, pt in zip(bases["id"], points, strict=True)
    ]
    return Layer(
        "outline_layer.html",
        data=_rounded_geojson(outlines, props),
        marks=marks,
        cfg={"name": labels["base"]},
    )


def alert_layer(grid: gpd.GeoDataFrame, alerts: Sequence, labels: dict) -> MacroElement | None:
    """Micro-grids under red/yellow/blue alerts, coloured by the strongest (``None``: none).

    ``alerts`` are :class:`~gridplan.routing.alerts.Alert` objects; a micro-grid's tooltip
    lists each alert on it with its colour, id, end (station time) and reason. The areas
    alerts were declared on are drawn dashed in their colour.
    """
    g = grid.to_crs(4326)
    micro = g[g["level"] == "micro"].set_index(g.loc[g["level"] == "micro", "id"].astype(str))
    rank = {level: k for k, level in enumerate(ALERTS)}
    on: dict[str, list] = {}
    for a in sorted(alerts, key=lambda a: rank.get(a.level, len(ALERTS))):
        for mid in a.micro_ids:
            if mid in micro.index:
                on.setdefault(mid, []).append(a)
    if not on:
        return None
    ids = list(on)
    props = [
        {
            "id": mid,
            "c": ALERT_COLOURS[rank[on[mid][0].level]],
            "a": [
                [labels[f"alert_{a.level}"], a.id, a.until.strftime("%m-%d %H:%M"), a.reason]
                for a in on[mid]
            ],
        }
        for mid in ids
    ]
    cells = micro.loc[ids].reset_index(drop=True)
    areas = [
        {"type": "Feature", "properties": {"c": ALERT_COLOURS[rank[a.level]]}, "geometry": g}
        for a in alerts
        if a.area and (g := _area_geometry(a.area)) is not None
    ]
    cfg = {"name": labels["alerts"], "until": labels["alert_until"]}
    data = _rounded_geojson(cells, props)
    area_data = {"type": "FeatureCollection", "features": areas}
    return Layer("alert_layer.html", data=data, areas=area_data, cfg=cfg)


def station_layer(marks: Sequence[Sequence], labels: dict) -> MacroElement:
    """One marker per station, named, with its figures and a link into it in a popup.

    ``marks`` are ``[lat, lon, station_id, name, url, lines]``: where the marker stands, the
    link (opened in the whole window, out of a map frame) and the popup's lines of figures.
    """
    cfg = {"name": labels["stations"], "open": labels["open_station"]}
    return Layer("station_layer.html", marks=[list(m) for m in marks], cfg=cfg)


def _area_geometry(text: str) -> dict | None:
    """Return an alert's area (GeoJSON text) rounded to 6 decimals; ``None`` if unreadable."""
    try:
        geom = shapely.geometry.shape(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
        return None
    return shapely.geometry.mapping(shapely.set_precision(geom, 1e-6))


def presence_layer(
    grid: gpd.GeoDataFrame,
    presence: pd.DataFrame,
    labels: dict,
    *,
    planned: Mapping[str, float] | None = None,
    stops: pd.DataFrame | None = None,
) -> MacroElement:
    """Micro-grids filled by the minutes patrols were there, and planned stops by status.

    ``presence`` has ``micro_id``, ``minutes`` and ``error_min`` (summed here per micro-grid);
    ``planned`` gives the planned minutes of the top hot spots (outlined, with planned against
    present in the tooltip); ``stops`` (a compliance report's stops: ``lon``, ``lat``,
    ``status``, ``slice``, ``patroller_id``, ``order``, ``micro_id``, ``present_min``,
    ``dwell_min``) are circles in their status colour
    (:data:`~gridplan.maps.palette.STATUS_COLOURS`).
    """
    g = grid.to_crs(4326)
    micro = g[g["level"] == "micro"]
    per = presence.groupby("micro_id")[["minutes", "error_min"]].sum()
    planned = dict(planned or {})
    ids = [str(i) for i in micro["id"]]
    keep = [i in per.index or i in planned for i in ids]
    cells = micro[keep]
    breaks = np.asarray(PRESENCE_BREAKS_MIN)
    props = []
    for mid in cells["id"].astype(str):
        minutes = float(per["minutes"].get(mid, 0.0))
        k = int(np.searchsorted(breaks, minutes, side="right")) - 1
        props.append(
            {
                "id": mid,
                "m": round(minutes, 1),
                "e": round(float(per["error_min"].get(mid, 0.0)), 1),
                "p": None if mid not in planned else round(float(planned[mid]), 1),
                "c": PRESENCE_COLOURS[max(k, 0)] if minutes > 0 else None,
            }
        )
    points = []
    if stops is not None:
        for r in stops.itertuples(index=False):
            label = f"{r.slice} {r.patroller_id} #{r.order} {r.micro_id}"
            points.append(
                [round(float(r.lon), 6), round(float(r.lat), 6), r.status, label,
                 round(float(r.present_min), 1), round(float(r.dwell_min), 1)]
            )  # fmt: skip
    legend = [
        [PRESENCE_COLOURS[k], f"{b:g}" + (f"-{breaks[k + 1]:g}" if k + 1 < len(breaks) else "+")]
        for k, b in enumerate(breaks)
    ]
    cfg = {
        "name": labels["presence"],
        "stops_name": labels["presence_stops"],
        "legend": legend,
        "status_colours": STATUS_COLOURS,
    }
    data = _rounded_geojson(cells, props)
    return Layer("presence_layer.html", data=data, stops=points, cfg=cfg)


def micro_layer(
    grid: gpd.GeoDataFrame, labels: dict, *, actions: bool | str = False
) -> MacroElement:
    """Plain micro-grid outlines: code and name on hover, a popup with the base grid.

    ``actions``: ``True`` offers Pin/Exclude in popups of a framed map, ``"alert"`` one
    "Add to alert" button (the Alerts page).
    """
    g = grid.to_crs(4326)
    micro = g[g["level"] == "micro"]
    names = micro["name"].tolist() if "name" in micro else [""] * len(micro)
    parents = micro["parent_id"].tolist() if "parent_id" in micro else [None] * len(micro)
    props = [
        {"id": str(i), "name": str(_clean(n) or ""), "b": _clean(b)}
        for i, n, b in zip(micro["id"], names, parents, strict=True)
    ]
    cfg = {"name": labels["micro"], "bases": base_names(g), "actions": actions}
    return Layer("micro_layer.html", data=_rounded_geojson(micro, props), cfg=cfg)
