"""QGIS layer styles for gridplan's exports, so grids, hot spots and routes open styled.

QGIS reads a layer's default style from the ``layer_styles`` table of a GeoPackage (the
table QGIS itself writes with *Save Style → In Database*) and from a ``.qml`` file beside
any other file with the same stem (``hotspots.qml`` beside ``hotspots.geojson``). gridplan
writes both, as QML documents in the format QGIS 3.22 (Debian 12's) writes, which later
versions read as well:

- **grid**: outlines only, station thick, base grids medium with their names, micro-grids
  thin with their codes once zoomed in past 1:8,000.
- **hot spots**: one group per time slice (only the first switched on, since slices
  overlap), coloured by hot-spot class with the web map's colours
  (``gridplan.maps.palette.GI_COLOURS``): Gi* classes, or on a small station the excess
  classes (each micro-grid against the station's mean density), named so in the legend.
- **incidents**: small points by alert colour.
- **plan routes and stops**: one colour per patroller (the web map's colour-blind-safe
  palette), stops labelled with their order.
- **tracks**: fixes as small points in their patroller's colour; a compliance report's stops
  by status (visited, late, missed, not known) and its top hot spots by the share of the
  planned minutes spent there.

Legend labels are bilingual (Chinese / English). The styles are plain data
(:class:`LayerStyle`); :func:`qml` renders one, :func:`write_gpkg_styles` and
:func:`write_qml` store them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from gridplan.maps.palette import ALERT_COLOURS
from gridplan.maps.palette import ALERTS
from gridplan.maps.palette import GI_COLOURS
from gridplan.maps.palette import LEGEND_KEYS
from gridplan.maps.palette import PATROLLER_COLOURS
from gridplan.maps.palette import STATUS_COLOURS

#: Name of every style gridplan writes (a re-export replaces it, other styles stay).
STYLE_NAME = "gridplan"

GI_LABELS = {
    "hot_99": "热点 99% / hot spot 99 %",
    "hot_95": "热点 95% / hot spot 95 %",
    "hot_90": "热点 90% / hot spot 90 %",
    "not_significant": "不显著 / not significant",
    "cold_90": "冷点 90% / cold spot 90 %",
    "cold_95": "冷点 95% / cold spot 95 %",
    "cold_99": "冷点 99% / cold spot 99 %",
    "above_99": "高于全所平均 99% / above station mean 99 %",
    "above_95": "高于全所平均 95% / above station mean 95 %",
    "above_90": "高于全所平均 90% / above station mean 90 %",
    "below_90": "低于全所平均 90% / below station mean 90 %",
    "below_95": "低于全所平均 95% / below station mean 95 %",
    "below_99": "低于全所平均 99% / below station mean 99 %",
}
#: What the hot-spot layer's legend says the classes are, per way of classing.
CLASS_DESCRIPTIONS = {
    "gistar": "Gi* 热点 / hot spots by time slice",
    "excess": (
        "热点等级：各微网格警情与全所平均密度比较（小警务室）/ hot-spot class: each micro-grid "
        "against the station's mean density (small station), by time slice"
    ),
}
ALERT_LABELS = {
    "red": "红色警情 / red alert",
    "yellow": "黄色警情 / yellow alert",
    "blue": "蓝色警情 / blue alert",
}


@dataclasses.dataclass(frozen=True)
class Symbol:
    """One QGIS symbol: a fill, a line or a marker.

    Attributes
    ----------
    kind
        ``"fill"``, ``"line"`` or ``"marker"``.
    colour
        Fill, line or marker colour as ``#rrggbb``; ``None`` is no fill.
    outline
        Outline colour of fills and markers.
    width
        Line or outline width in millimetres.
    size
        Marker diameter in millimetres.
    opacity
        0-1 for the whole symbol.
    draw_pass
        Symbol level: higher passes draw on top (used when ``symbol_levels`` is on).
    """

    kind: str
    colour: str | None
    outline: str = "#232323"
    width: float = 0.26
    size: float = 2.0
    opacity: float = 1.0
    draw_pass: int = 0


@dataclasses.dataclass(frozen=True)
class Rule:
    """A rule of a rule-based renderer: an expression filter and a symbol or child rules."""

    label: str
    filter: str | None
    symbol: Symbol | None = None
    children: tuple[Rule, ...] = ()
    checked: bool = True


@dataclasses.dataclass(frozen=True)
class LayerStyle:
    """The style of one layer, renderable as QML.

    Attributes
    ----------
    description
        Shown in QGIS's style manager.
    symbol
        Single-symbol renderer when ``categories`` and ``rules`` are empty.
    attribute, categories
        Categorised renderer: ``(value, legend label, symbol)`` per category of ``attribute``.
    rules
        Rule-based renderer (takes precedence over categories).
    label
        QGIS expression for labels, or ``None`` for none.
    label_max_scale
        Labels only when zoomed in past 1:``label_max_scale`` (0: always).
    symbol_levels
        Draw by ``Symbol.draw_pass`` (outlines of bigger units over smaller ones).
    """

    description: str
    symbol: Symbol | None = None
    attribute: str | None = None
    categories: tuple[tuple[str, str, Symbol], ...] = ()
    rules: tuple[Rule, ...] = ()
    label: str | None = None
    label_size: float = 9.0
    label_max_scale: float = 0
    symbol_levels: bool = False


# --------------------------------------------------------------------------------------------
# The styles
# --------------------------------------------------------------------------------------------

_STATION = Symbol("fill", None, outline="#1a1a1a", width=0.8, draw_pass=2)
_BASE = Symbol("fill", None, outline="#1d4f9c", width=0.5, draw_pass=1)
_MICRO = Symbol("fill", "#f7f7f7", outline="#8c8c8c", width=0.15, opacity=0.6)


def grid_style(level: str | None = None) -> LayerStyle:
    """Return the style of a grid layer: all three levels (``level=None``) or one of them."""
    if level is None:
        return LayerStyle(
            description="1+5+N 网格 / grid: 辖区 station, 基础网格 base grids, 微网格 micro-grids",
            attribute="level",
            categories=(
                ("station", "辖区 / station", _STATION),
                ("base", "基础网格 / base grid", _BASE),
                ("micro", "微网格 / micro-grid", _MICRO),
            ),
            label='CASE WHEN "level" = \'base\' THEN "name" END',
            symbol_levels=True,
        )
    symbol = {"station": _STATION, "base": _BASE, "micro": _MICRO}[level]
    return LayerStyle(
        description=f"1+5+N 网格 / grid: {level}",
        symbol=symbol,
        label={"station": None, "base": '"name"', "micro": '"id"'}[level],
        label_size=7.0 if level == "micro" else 9.0,
        label_max_scale=8000 if level == "micro" else 0,
    )


def hotspot_style(slices: Iterable[str], *, method: str = "gistar") -> LayerStyle:
    """Hot-spot classes per time slice: one group per slice, the first switched on.

    ``method`` is how the classes were made (:func:`gridplan._validate.class_method`):
    ``"gistar"`` or ``"excess"``; the legend lists that method's classes and says what they are.
    """
    groups = []
    for k, slice_id in enumerate(dict.fromkeys(slices)):
        children = tuple(
            Rule(
                GI_LABELS[cls],
                f"\"gi_class\" = '{cls}'",
                Symbol("fill", GI_COLOURS[cls], outline="#9e9e9e", width=0.1, opacity=0.8),
            )
            for cls in LEGEND_KEYS[method]
        )
        groups.append(
            Rule(f"时段 / slice {slice_id}", _eq("slice", slice_id), None, children, k == 0)
        )
    return LayerStyle(
        description=(f"{CLASS_DESCRIPTIONS[method]}: tick one slice at a time in the layer panel"),
        rules=tuple(groups),
    )


def incident_style() -> LayerStyle:
    """Incidents as small points coloured by alert level."""
    colours = dict(zip(ALERTS, ALERT_COLOURS, strict=True))
    rules = [
        Rule(label, _eq("alert", alert), Symbol("marker", colours[alert], "#ffffff", 0.1, 1.6))
        for alert, label in ALERT_LABELS.items()
    ]
    rules.append(
        Rule("其他 / other", "ELSE", Symbol("marker", colours["none"], "#ffffff", 0.1, 1.4))
    )
    return LayerStyle(description="警情 / incidents by alert level", rules=tuple(rules))


def _patroller_colours(patrollers: Iterable[str]) -> list[tuple[str, str]]:
    ids = list(dict.fromkeys(patrollers))
    return [(p, PATROLLER_COLOURS[k % len(PATROLLER_COLOURS)]) for k, p in enumerate(ids)]


def route_style(patrollers: Iterable[str], names: Mapping[str, str] | None = None) -> LayerStyle:
    """Plan routes: one colour per patroller."""
    names = names or {}
    return LayerStyle(
        description="巡逻路线 / patrol routes, one colour per patroller",
        attribute="patroller_id",
        categories=tuple(
            (p, f"{p} {names.get(p, '')}".strip(), Symbol("line", colour, width=1.0))
            for p, colour in _patroller_colours(patrollers)
        ),
    )


def stop_style(patrollers: Iterable[str], names: Mapping[str, str] | None = None) -> LayerStyle:
    """Plan stops: the patroller's colour, labelled with the stop's order."""
    names = names or {}
    return LayerStyle(
        description="巡逻停留点 / patrol stops, labelled with their order",
        attribute="patroller_id",
        categories=tuple(
            (p, f"{p} {names.get(p, '')}".strip(), Symbol("marker", colour, "#ffffff", 0.3, 3.2))
            for p, colour in _patroller_colours(patrollers)
        ),
        label='"order"',
        label_size=8.0,
    )


#: Legend labels of the statuses of a compliance report's stops.
STATUS_LABELS = {
    "visited": "已到位 / visited",
    "late": "迟到 / late",
    "missed": "未到 / missed",
    "no_track": "无轨迹 / no track",
    "not_measured": "未测 / not measured",
}


def fix_style(patrollers: Iterable[str]) -> LayerStyle:
    """Track fixes: small points in the patroller's colour."""
    return LayerStyle(
        description="巡逻轨迹点 / track fixes, one colour per patroller",
        attribute="patroller",
        categories=tuple(
            (p, p, Symbol("marker", colour, colour, 0.0, 1.2))
            for p, colour in _patroller_colours(patrollers)
        ),
    )


def compliance_stop_style() -> LayerStyle:
    """Style the stops of a compliance report: by status, labelled with their order."""
    return LayerStyle(
        description="巡逻停留点落实情况 / planned stops by status",
        attribute="status",
        categories=tuple(
            (status, label, Symbol("marker", STATUS_COLOURS[status], "#ffffff", 0.3, 3.2))
            for status, label in STATUS_LABELS.items()
        ),
        label='"order"',
        label_size=8.0,
    )


def compliance_hotspot_style() -> LayerStyle:
    """Top hot spots by the share of the planned minutes spent there."""
    rules = (
        Rule("≥ 90% 计划时长 / at least 90 % of the plan", '"ratio" >= 0.9',
             Symbol("fill", STATUS_COLOURS["visited"], "#636363", 0.2, opacity=0.6)),
        Rule("50-90% 计划时长 / 50-90 % of the plan", '"ratio" >= 0.5 AND "ratio" < 0.9',
             Symbol("fill", STATUS_COLOURS["late"], "#636363", 0.2, opacity=0.6)),
        Rule("< 50% 计划时长 / under half of the plan", '"ratio" < 0.5',
             Symbol("fill", STATUS_COLOURS["missed"], "#636363", 0.2, opacity=0.6)),
    )  # fmt: skip
    return LayerStyle(
        description="重点热点实际巡逻时长 / top hot spots: minutes present against planned",
        rules=rules,
        label='"micro_id"',
    )


def _eq(column: str, value: str) -> str:
    quoted = str(value).replace("'", "''")
    return f"\"{column}\" = '{quoted}'"


# --------------------------------------------------------------------------------------------
# QML
# --------------------------------------------------------------------------------------------


def _rgba(colour: str | None, alpha: int = 255) -> str:
    if colour is None:
        return "0,0,0,0"
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _props(symbol: Symbol) -> dict[str, str]:
    if symbol.kind == "fill":
        return {
            "color": _rgba(symbol.colour),
            "style": "no" if symbol.colour is None else "solid",
            "outline_color": _rgba(symbol.outline),
            "outline_style": "solid",
            "outline_width": f"{symbol.width:g}",
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
        }
    if symbol.kind == "line":
        return {
            "line_color": _rgba(symbol.colour),
            "line_style": "solid",
            "line_width": f"{symbol.width:g}",
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
    return {
        "name": "circle",
        "color": _rgba(symbol.colour),
        "outline_color": _rgba(symbol.outline),
        "outline_style": "solid",
        "outline_width": f"{symbol.width:g}",
        "outline_width_unit": "MM",
        "size": f"{symbol.size:g}",
        "size_unit": "MM",
    }


_LAYER_CLASS = {"fill": "SimpleFill", "line": "SimpleLine", "marker": "SimpleMarker"}


def _symbol(parent: ET.Element, name: str, symbol: Symbol) -> None:
    node = ET.SubElement(
        parent,
        "symbol",
        {
            "type": symbol.kind,
            "name": name,
            "alpha": f"{symbol.opacity:g}",
            "clip_to_extent": "1",
            "force_rhr": "0",
        },
    )
    layer = ET.SubElement(
        node,
        "layer",
        {
            "class": _LAYER_CLASS[symbol.kind],
            "enabled": "1",
            "locked": "0",
            "pass": str(symbol.draw_pass),
        },
    )
    props = _props(symbol)
    # QGIS >= 3.26 reads the Option map, older versions the prop list; 3.22 writes both
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for k, v in props.items():
        ET.SubElement(options, "Option", {"type": "QString", "name": k, "value": v})
    for k, v in props.items():
        ET.SubElement(layer, "prop", {"k": k, "v": v})


def _renderer(root: ET.Element, style: LayerStyle) -> None:
    if style.rules:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            {"type": "RuleRenderer", "symbollevels": "0", "forceraster": "0", "enableorderby": "0"},
        )
        rules = ET.SubElement(renderer, "rules", {"key": "{root}"})
        symbols = ET.SubElement(renderer, "symbols")
        count = 0

        def add(parent: ET.Element, rule: Rule, key: str) -> None:
            nonlocal count
            attrs = {"key": "{" + key + "}", "label": rule.label}
            if rule.filter:
                attrs["filter"] = rule.filter
            if not rule.checked:
                attrs["checkstate"] = "0"
            if rule.symbol is not None:
                attrs["symbol"] = str(count)
                _symbol(symbols, str(count), rule.symbol)
                count += 1
            node = ET.SubElement(parent, "rule", attrs)
            for k, child in enumerate(rule.children):
                add(node, child, f"{key}-{k}")

        for k, rule in enumerate(style.rules):
            add(rules, rule, f"r{k}")
        return
    if style.categories:
        renderer = ET.SubElement(
            root,
            "renderer-v2",
            {
                "type": "categorizedSymbol",
                "attr": style.attribute or "",
                "symbollevels": "1" if style.symbol_levels else "0",
                "forceraster": "0",
                "enableorderby": "0",
            },
        )
        cats = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for k, (value, label, symbol) in enumerate(style.categories):
            ET.SubElement(
                cats,
                "category",
                {"value": str(value), "label": label, "symbol": str(k), "render": "true"},
            )
            _symbol(symbols, str(k), symbol)
        return
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {"type": "singleSymbol", "symbollevels": "0", "forceraster": "0", "enableorderby": "0"},
    )
    symbols = ET.SubElement(renderer, "symbols")
    _symbol(symbols, "0", style.symbol or Symbol("fill", "#cccccc"))


def _labeling(root: ET.Element, style: LayerStyle) -> None:
    if style.label is None:
        return
    labeling = ET.SubElement(root, "labeling", {"type": "simple"})
    settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
    ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": style.label,
            "isExpression": "1",
            "fontSize": f"{style.label_size:g}",
            "fontSizeUnit": "Point",
            "textColor": "0,0,0,255",
            "textOpacity": "1",
            "fontWeight": "50",
            "multilineHeight": "1",
        },
    )
    ET.SubElement(
        settings,
        "text-buffer",
        {
            "bufferDraw": "1",
            "bufferSize": "0.8",
            "bufferSizeUnits": "MM",
            "bufferColor": "255,255,255,255",
            "bufferOpacity": "0.9",
            "bufferNoFill": "1",
        },
    )
    # 1 = "over point" (centred on the marker or the polygon's label point)
    ET.SubElement(settings, "placement", {"placement": "1", "centroidInside": "1"})
    rendering = {"obstacle": "1", "fontLimitPixelSize": "0"}
    if style.label_max_scale:
        rendering |= {
            "scaleVisibility": "1",
            "scaleMin": f"{style.label_max_scale:g}",
            "scaleMax": "0",
        }
    ET.SubElement(settings, "rendering", rendering)


def qml(style: LayerStyle) -> str:
    """Render ``style`` as a QGIS QML document.

    Parameters
    ----------
    style
        The layer style.

    Returns
    -------
    str
        The QML text (``<!DOCTYPE qgis ...>``), as QGIS reads from a ``.qml`` file or from
        a GeoPackage's ``layer_styles`` table.

    Examples
    --------
    >>> text = qml(grid_style("base"))
    >>> text.startswith("<!DOCTYPE qgis") and 'class="SimpleFill"' in text
    True
    """
    root = ET.Element(
        "qgis",
        {
            "version": "3.22.16-Białowieża",
            "styleCategories": "Symbology|Labeling",
            "labelsEnabled": "1" if style.label else "0",
        },
    )
    _renderer(root, style)
    _labeling(root, style)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


# --------------------------------------------------------------------------------------------
# Storing styles
# --------------------------------------------------------------------------------------------


def write_gpkg_styles(path: str | Path, styles: Mapping[str, LayerStyle]) -> Path:
    """Store styles in a GeoPackage's ``layer_styles`` table as the layers' default styles.

    Parameters
    ----------
    path
        An existing GeoPackage.
    styles
        Layer name -> style. gridplan's earlier styles of these layers are replaced; other
        layers' styles and styles saved by the user under other names are kept.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.gpkg"
    >>> gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326).to_file(p, layer="base")
    >>> write_gpkg_styles(p, {"base": grid_style("base")}).name
    'g.gpkg'
    """
    import pyogrio

    path = Path(path)
    layers = {name: geom for name, geom in pyogrio.list_layers(path)}
    rows = []
    # GDAL's OGR_CURRENT_DATE, when set, stands for "now" (byte-identical rebuilds)
    fixed = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    now = pd.Timestamp(fixed) if fixed else pd.Timestamp(dt.datetime.now(dt.UTC))
    for layer, style in styles.items():
        if layers.get(layer) is None:
            continue  # no such spatial layer (e.g. an empty part was not written)
        info = pyogrio.read_info(path, layer=layer)
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": layer,
                "f_geometry_column": info.get("geometry_name") or "geom",
                "styleName": STYLE_NAME,
                "styleQML": qml(style),
                "styleSLD": "",
                "useAsDefault": True,
                "description": style.description,
                "owner": "",
                "ui": "",
                "update_time": now,
            }
        )
    frame = pd.DataFrame(rows)
    if "layer_styles" in layers:
        old = pyogrio.read_dataframe(path, layer="layer_styles", read_geometry=False)
        replaced = old["f_table_name"].isin(styles) & (old["styleName"] == STYLE_NAME)
        # the user's own default for a layer we restyle stays, but ours becomes the default
        keep = old[~replaced].copy()
        keep.loc[keep["f_table_name"].isin(frame.get("f_table_name", [])), "useAsDefault"] = False
        frame = pd.concat([keep, frame], ignore_index=True)
    if frame.empty:
        return path
    frame["useAsDefault"] = frame["useAsDefault"].astype(bool)
    pyogrio.write_dataframe(frame, path, layer="layer_styles", layer_options={"FID": "id"})
    return path


def style_file(path: str | Path, layer: str, style: LayerStyle, *, qml: bool = True) -> Path:
    """Style a file just written: in its ``layer_styles`` table or as a ``.qml`` beside it.

    A GeoPackage gets ``style`` as the default style of ``layer``; any other file (GeoJSON)
    gets ``<stem>.qml`` unless ``qml`` is false.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        return write_gpkg_styles(path, {layer: style})
    if qml:
        write_qml(path, style)
    return path


def write_qml(data_path: str | Path, style: LayerStyle) -> Path:
    """Write ``style`` as the ``.qml`` file QGIS loads by default for ``data_path``.

    Returns
    -------
    Path
        ``data_path`` with the suffix ``.qml``.
    """
    out = Path(data_path).with_suffix(".qml")
    out.write_text(qml(style), encoding="utf-8")
    return out


__all__ = [
    "STATUS_LABELS",
    "STYLE_NAME",
    "LayerStyle",
    "Rule",
    "Symbol",
    "compliance_hotspot_style",
    "compliance_stop_style",
    "fix_style",
    "grid_style",
    "hotspot_style",
    "incident_style",
    "qml",
    "route_style",
    "stop_style",
    "style_file",
    "write_gpkg_styles",
    "write_qml",
]
