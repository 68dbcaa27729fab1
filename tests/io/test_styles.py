"""QGIS styles: the hot-spot legend lists the classes the frame was classed with."""

import pytest

from gridplan._validate import EXCESS_CLASSES
from gridplan._validate import GI_CLASSES
from gridplan.io.styles import hotspot_style
from gridplan.io.styles import qml
from gridplan.maps.palette import GI_COLOURS


@pytest.mark.parametrize(
    ("method", "classes", "says"),
    [("gistar", GI_CLASSES, "Gi*"), ("excess", EXCESS_CLASSES, "station's mean density")],
)
def test_hotspot_legend_names_the_classes_and_what_they_mean(method, classes, says):
    style = hotspot_style(["all", "night"], method=method)
    assert says in style.description
    for group in style.rules:
        got = [r.filter.split("'")[1] for r in group.children]
        assert got == list(classes)
        assert [r.symbol.colour for r in group.children] == [GI_COLOURS[c] for c in classes]
    labels = [r.label for r in style.rules[0].children]
    assert ("高于全所平均 99% / above station mean 99 %" in labels) == (method == "excess")
    assert "above_99" in qml(style) if method == "excess" else "hot_99" in qml(style)
