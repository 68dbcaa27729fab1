"""Colour tables of maps, QGIS styles and route sheets, with no folium import.

Writing a GeoPackage with its QGIS styles (:mod:`gridplan.io.styles`) uses the same colours as
the web maps (:mod:`gridplan.maps.layers`, :mod:`gridplan.maps.webmaps`) without loading folium.
"""

from __future__ import annotations

#: Fill per hot-spot class (:data:`gridplan._validate.HOTSPOT_CLASSES`), red hot to blue
#: cold: the Gi* classes, then the excess classes of small stations in the same colours.
GI_COLOURS = {
    "hot_99": "#b2182b",
    "hot_95": "#ef8a62",
    "hot_90": "#fddbc7",
    "not_significant": "#f0f0f0",
    "cold_90": "#d1e5f0",
    "cold_95": "#67a9cf",
    "cold_99": "#2166ac",
    "above_99": "#b2182b",
    "above_95": "#ef8a62",
    "above_90": "#fddbc7",
    "below_90": "#d1e5f0",
    "below_95": "#67a9cf",
    "below_99": "#2166ac",
}
SCORE_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
#: Fill of a micro-grid without incidents, and the opacity of every micro-grid fill.
NO_DATA_COLOUR = "#ffffff"
FILL_OPACITY = 0.7
#: Outline of a Gi* hot spot on the score and density maps: a white line on a black casing,
#: so one of the two stands out on every fill from pale yellow to dark red (WCAG contrast
#: ratio of at least 3, tested) and it cannot be taken for a fill colour.
HOT_OUTLINE = {"casing": "#000000", "line": "#ffffff", "casing_px": 4.5, "line_px": 1.5}
#: Every hot-spot class (an index into it is what the web map's features carry).
GI_KEYS = tuple(GI_COLOURS)
#: The classes in legend order, per way of classing (:data:`gridplan._validate.CLASS_METHODS`).
LEGEND_KEYS = {
    "gistar": ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99"),
    "excess": (
        "above_99",
        "above_95",
        "above_90",
        "not_significant",
        "below_90",
        "below_95",
        "below_99",
    ),
}

#: One colour per patroller: Okabe & Ito's palette, which stays distinct for the common
#: colour-vision deficiencies; yellow last as it is faint on light tiles. Past eight
#: patrollers the colours repeat with dashed, then dotted lines.
PATROLLER_COLOURS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
#: Line dashes of the routes of patrollers 9-16 and 17-24 (SVG dash arrays).
DASHES = (None, "10 6", "2 6")

#: Alert levels of the INCIDENTS table, then "none", and their marker colours.
ALERTS = ("red", "yellow", "blue", "none")
ALERT_COLOURS = ("#d7191c", "#f2c500", "#2c7bb6", "#bdbdbd")

#: Colour per status of a planned stop in a compliance report
#: (:data:`gridplan.tracks.compliance.STATUSES`): made green, late orange, missed red, not
#: known grey.
STATUS_COLOURS = {
    "visited": "#1a9641",
    "late": "#fdae61",
    "missed": "#d7191c",
    "no_track": "#9e9e9e",
    "not_measured": "#d9d9d9",
}

#: Fill of a micro-grid by the minutes patrols were present there (a compliance report's map),
#: light to dark blue, one colour per class of :data:`PRESENCE_BREAKS_MIN`.
PRESENCE_COLOURS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
#: Lower bounds (minutes) of the presence classes: under 5, 5-15, 15-30, 30-60, 60 and more.
PRESENCE_BREAKS_MIN = (0.0, 5.0, 15.0, 30.0, 60.0)
