"""TrackParams: defaults, per-mode speeds, and values refused with the field named."""

import dataclasses

import pytest

from gridplan import InputError
from gridplan.tracks.params import TrackParams


def test_defaults_and_speeds():
    params = TrackParams()
    assert params.speed_for("walk") == 3.0 and params.speed_for("car") == 30.0
    assert (params.max_accuracy_m, params.max_gap_s, params.coarse_interval_s) == (50, 120, 30)
    assert dataclasses.replace(params, max_speed_mps={"walk": 2.0}).speed_for("walk") == 2.0
    with pytest.raises(InputError, match="mode 'ebike' is not one of walk"):
        TrackParams(max_speed_mps={"walk": 2.0}).speed_for("ebike")


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("max_gap_s", 0, "a number > 0"),
        ("max_accuracy_m", float("nan"), "a number > 0"),
        ("early_min", -1, "a number >= 0"),
        ("visit_share", 1.5, "in \\(0, 1\\]"),
        ("tracked_share", 0, "in \\(0, 1\\]"),
        ("reanchor_fixes", 1, "a whole number >= 2"),
        ("max_speed_mps", {"walk": -3}, "a number > 0"),
    ],
)
def test_bad_values_name_the_field(field, value, rule):
    with pytest.raises(InputError, match=f"TrackParams.{field}.*must be {rule}"):
        TrackParams(**{field: value})


def test_params_are_frozen():
    params = TrackParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.max_gap_s = 10
    with pytest.raises(TypeError):
        params.max_speed_mps["walk"] = 9
