"""The stage contracts of gridplan/_validate.py: hot-spot classes and who shows them."""

import pytest

from gridplan._validate import COLD_CLASSES
from gridplan._validate import EXCESS_CLASSES
from gridplan._validate import GI_CLASSES
from gridplan._validate import HOT_CLASSES
from gridplan._validate import HOTSPOT_CLASSES
from gridplan._validate import class_method
from gridplan.io import plan_export
from gridplan.io.styles import GI_LABELS
from gridplan.maps.layers import LABELS
from gridplan.maps.palette import GI_COLOURS
from gridplan.maps.palette import LEGEND_KEYS


@pytest.mark.parametrize(
    ("classes", "method"),
    [
        (["hot_99", "not_significant"], "gistar"),
        (["not_significant", "below_90"], "excess"),
        (["above_95"], "excess"),
        (["not_significant"], "gistar"),
        ([], "gistar"),
    ],
)
def test_class_method_reads_the_classes(classes, method):
    assert class_method(classes) == method


def test_every_class_has_a_colour_labels_and_words():
    assert set(HOTSPOT_CLASSES) == set(GI_CLASSES) | set(EXCESS_CLASSES)
    assert not set(HOT_CLASSES) & set(COLD_CLASSES)
    assert set(HOT_CLASSES) | set(COLD_CLASSES) | {"not_significant"} == set(HOTSPOT_CLASSES)
    assert LEGEND_KEYS == {"gistar": GI_CLASSES, "excess": EXCESS_CLASSES}
    for cls in HOTSPOT_CLASSES:
        assert GI_COLOURS[cls] and GI_LABELS[cls], cls
        assert LABELS["zh"][cls] and LABELS["en"][cls], cls
    words = {cls: str(plan_export._word(plan_export._GI_CLASSES, cls)) for cls in HOTSPOT_CLASSES}
    assert words["above_99"] == "above the station's mean (99% confidence)"
    assert words["hot_99"] == "hot spot (99% confidence)"
    assert len(set(words.values())) == len(HOTSPOT_CLASSES)
