"""Interactive hot-spot maps with folium (Leaflet), working offline.

Folium links Leaflet, jQuery and Bootstrap from public CDNs; station intranets have no internet,
so these maps use only Leaflet, vendored in ``gridplan/web/static/vendor/leaflet``. A saved map
inlines it (one self-contained HTML file); the web UI points the same map at its own static URL.

The micro-grid geometry is sent once. Each feature carries its figures for every time slice,
and a small control restyles the layer when the user picks another slice or measure, so a map
of 10,000 micro-grids x 9 slices stays light and fluent (canvas rendering, rounded coordinates).
"""

from __future__ import annotations

import base64
import json
import re
from importlib import resources
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from branca.element import Template

from gridplan._errors import InputError

#: Tile layer presets; any other value is taken as an XYZ URL template of the user's server.
TILE_PRESETS = {
    "openstreetmap": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; OpenStreetMap contributors",
    ),
}

_ASSET_PREFIX = "gridplan-asset:"

GI_COLOURS = {
    "hot_99": "#b2182b",
    "hot_95": "#ef8a62",
    "hot_90": "#fddbc7",
    "not_significant": "#f0f0f0",
    "cold_90": "#d1e5f0",
    "cold_95": "#67a9cf",
    "cold_99": "#2166ac",
}
SCORE_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]

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
        "all": "全天",
        "no_data": "无警情",
        "hot_border": "深红边框：Gi* 热点",
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
        "all": "All day",
        "no_data": "No incidents",
        "hot_border": "Dark red outline: Gi* hot spot",
    },
}


def _read_template(name: str) -> str:
    return resources.files("gridplan").joinpath("templates", name).read_text("utf-8")


def _vendor_dir():
    return resources.files("gridplan.web").joinpath("static", "vendor", "leaflet")


def use_local_assets(m: folium.Map, *, static_url: str | None = None) -> folium.Map:
    """Replace folium's CDN links with Leaflet served by gridplan.

    Parameters
    ----------
    m
        The map; changed in place (folium maps are builders) and returned.
    static_url
        URL prefix under which ``vendor/leaflet`` is served (the web UI's ``/static``);
        ``None`` marks the assets for inlining by :func:`save_map`.
    """
    if static_url is None:
        js = f"{_ASSET_PREFIX}leaflet.js"
        css = f"{_ASSET_PREFIX}leaflet.css"
    else:
        base = static_url.rstrip("/") + "/vendor/leaflet"
        js, css = f"{base}/leaflet.js", f"{base}/leaflet.css"
    m.default_js = [("leaflet", js)]
    m.default_css = [("leaflet_css", css)]
    return m


def _inline_assets(html: str) -> str:
    vendor = _vendor_dir()
    js = vendor.joinpath("leaflet.js").read_text("utf-8")
    css = vendor.joinpath("leaflet.css").read_text("utf-8")

    def data_uri(match: re.Match) -> str:
        png = vendor.joinpath("images", match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    css = re.sub(r"url\(images/([\w\-]+\.png)\)", data_uri, css)
    html = re.sub(
        rf'<script src="{_ASSET_PREFIX}leaflet\.js"></script>',
        lambda _m: f"<script>{js}</script>",
        html,
    )
    return re.sub(
        rf'<link rel="stylesheet" href="{_ASSET_PREFIX}leaflet\.css"\s*/>',
        lambda _m: f"<style>{css}</style>",
        html,
    )


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


class _HotspotLayer(MacroElement):
    def __init__(self, data: dict, cfg: dict):
        super().__init__()
        self._name = "GridplanHotspots"
        self._template = Template(_read_template("hotspot_layer.html"))
        # "</" would end the <script> element early if a name contained it.
        self.data_json = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        self.cfg_json = json.dumps(cfg, ensure_ascii=False).replace("</", "<\\/")


def hotspot_map(
    hotspots: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    slice_labels: dict[str, str] | None = None,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
) -> folium.Map:
    """Make an interactive choropleth of hot spots per micro-grid and time slice.

    Parameters
    ----------
    hotspots
        The long frame from :func:`gridplan.hotspots.compute_hotspots` (one row per micro-grid
        and slice, with ``count``, ``density_km2``, ``score``, ``rank``, ``gi_z``, ``gi_class``).
    grid
        The 1+5+N grid; its base grids and station are drawn as outlines when given.
    slice_labels
        Display names per slice id (default: the ids; ``all`` is "全天"/"All day").
    lang
        ``"zh"`` or ``"en"`` for the control and legend texts.
    tiles, attribution, static_url
        See :func:`base_map`.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` for a self-contained offline HTML file.

    Examples
    --------
    >>> m = hotspot_map(gdf_hotspots, grid=gdf_grid, tiles="none")  # doctest: +SKIP
    >>> save_map(m, "hotspots.html")  # doctest: +SKIP
    """
    required = {"id", "slice", "count", "density_km2", "score", "rank", "gi_z", "gi_class"}
    missing = required - set(hotspots.columns)
    if missing:
        msg = (
            f"hot-spot table lacks columns {', '.join(sorted(missing))}; pass the result of "
            "gridplan.compute_hotspots or a GeoJSON written by 'gridplan hotspots'"
        )
        raise InputError(msg)
    if lang not in LABELS:
        msg = f"lang={lang!r}; use 'zh' or 'en'"
        raise InputError(msg)
    labels = LABELS[lang]
    slices = list(dict.fromkeys(hotspots["slice"]))
    first = hotspots[hotspots["slice"] == slices[0]]
    cells = gpd.GeoDataFrame(first[["id", "geometry"]].copy(), crs=hotspots.crs)
    cells["name"] = first["name"].values if "name" in first else ""
    by_id = {
        cid: {"id": cid, "name": str(n or "")}
        for cid, n in zip(cells["id"], cells["name"], strict=True)
    }
    score_breaks, density_breaks = {}, {}
    for sid in slices:
        part = hotspots[hotspots["slice"] == sid]
        score_breaks[sid] = _score_breaks(part["score"].to_numpy(dtype=float))
        density_breaks[sid] = _score_breaks(part["density_km2"].to_numpy(dtype=float))
        cols = zip(
            part["id"],
            part["count"],
            part["density_km2"],
            part["score"],
            part["rank"],
            part["gi_z"],
            part["gi_class"],
            strict=True,
        )
        for cid, c, d, s, r, z, k in cols:
            p = by_id.get(cid)
            if p is None:
                continue
            p[f"c|{sid}"] = int(c)
            p[f"d|{sid}"] = round(float(d), 2)
            p[f"s|{sid}"] = round(float(s), 3)
            p[f"r|{sid}"] = int(r) if pd.notna(r) else None
            p[f"z|{sid}"] = round(float(z), 2) if pd.notna(z) else None
            p[f"k|{sid}"] = str(k)
    names = {
        sid: (slice_labels or {}).get(sid, labels["all"] if sid == "all" else sid) for sid in slices
    }
    data = _rounded_geojson(cells, [by_id[c] for c in cells["id"]])
    cfg = {
        "slices": [[sid, names[sid]] for sid in slices],
        "slice_names": names,
        "labels": labels,
        "gi_colours": GI_COLOURS,
        "score_colours": SCORE_COLOURS,
        "score_breaks": score_breaks,
        "density_breaks": density_breaks,
    }
    m = base_map(
        tuple(cells.to_crs(4326).total_bounds),
        tiles=tiles,
        attribution=attribution,
        static_url=static_url,
    )
    m.add_child(_HotspotLayer(data, cfg))
    if grid is not None:
        _add_outlines(m, grid, labels)
    return m


def _add_outlines(m: folium.Map, grid: gpd.GeoDataFrame, labels: dict) -> None:
    g = grid.to_crs(4326)
    bases = g[g["level"].isin(["station", "base"])]
    if bases.empty:
        return
    layer = folium.FeatureGroup(name=labels["base"], overlay=True, control=True)
    folium.GeoJson(
        bases[["id", "name", "level", "geometry"]].set_geometry(bases.geometry.set_precision(1e-6)),
        style_function=lambda f: {
            "fill": False,
            "color": "#000" if f["properties"]["level"] == "station" else "#1f4e9c",
            "weight": 3,
            "dashArray": None if f["properties"]["level"] == "station" else "8 5",
        },
        interactive=False,
    ).add_to(layer)
    layer.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Save a map as one self-contained HTML file with Leaflet inlined (works offline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = _inline_assets(m.get_root().render())
    path.write_text(html, encoding="utf-8")
    return path
