"""Fuzzing load_grid and validate_grid: any GeoJSON gives a grid and a report, or a GridplanError.

Hypothesis writes FeatureCollections with broken geometries (unclosed rings, rings of 1-3
points, NaN, infinite and huge coordinates, empty and nested multi-geometries, wrong types),
odd properties (null, duplicate and mixed-type ids, parent ids pointing nowhere or in a
cycle) and random JSON. Each file is loaded with :func:`load_grid`, then validated and fixed;
the only exceptions allowed are gridplan's own.

The CI runs ``GRIDPLAN_FUZZ_EXAMPLES`` examples per test (default 150); a longer run::

    GRIDPLAN_FUZZ_EXAMPLES=5000 python3 -m pytest -q -p no:cacheprovider tests/geo/test_grid_fuzz.py
"""

import json
import os
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan._errors import GridplanError
from gridplan.geo.grid import load_grid
from gridplan.geo.validate import fix_grid
from gridplan.geo.validate import validate_grid

EXAMPLES = int(os.environ.get("GRIDPLAN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# coordinates near Hangzhou, and the values a hostile or broken export holds
ordinary = st.tuples(st.floats(120.0, 120.02), st.floats(30.0, 30.02))
odd = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0.0, 1e-300])
broken = st.one_of(st.tuples(odd, odd), st.tuples(ordinary.map(lambda c: c[0]), odd))


def ring(coordinate, closed: bool):
    points = st.lists(coordinate.map(list), min_size=0, max_size=7)
    return points.map(lambda pts: pts + pts[:1] if closed and pts else pts)


def polygons(coordinate):
    rings = st.one_of(ring(coordinate, True), ring(coordinate, True), ring(coordinate, False))
    return st.lists(rings, min_size=0, max_size=3)


def geometries(coordinate):
    simple = st.one_of(
        *[polygons(coordinate).map(lambda c: {"type": "Polygon", "coordinates": c})] * 3,
        st.lists(polygons(coordinate), max_size=3).map(
            lambda c: {"type": "MultiPolygon", "coordinates": c}
        ),
        coordinate.map(lambda c: {"type": "Point", "coordinates": list(c)}),
        st.lists(coordinate.map(list), max_size=4).map(
            lambda c: {"type": "LineString", "coordinates": c}
        ),
        st.sampled_from([None, {}, {"type": "Polygon"}, {"type": "Polygon", "coordinates": 5}]),
    )
    return st.recursive(
        simple,
        lambda inner: st.lists(inner, max_size=3).map(
            lambda g: {"type": "GeometryCollection", "geometries": g}
        ),
        max_leaves=6,
    )


# mostly ordinary coordinates, so that most files get past the CRS check to the validator
geometry = st.one_of(*[geometries(ordinary)] * 6, geometries(st.one_of(ordinary, broken)))
ident = st.one_of(
    st.just(""),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.text(max_size=4),
)
good_id = st.sampled_from(["S01", "S01-B1", "S01-B2", "S01-B1-M001", "S01-B1-M002", "X"])
level = st.sampled_from(["station", "base", "micro"])
properties = st.one_of(
    *[
        st.fixed_dictionaries(
            {"id": st.one_of(*[good_id] * 30, ident), "level": st.one_of(*[level] * 30, ident)},
            optional={
                "parent_id": st.one_of(*[good_id] * 3, ident),
                "name": st.one_of(ident, st.lists(ident, max_size=2)),
            },
        )
    ]
    * 8,
    st.none(),
)
features = st.lists(
    st.fixed_dictionaries(
        {"type": st.just("Feature"), "properties": properties, "geometry": geometry}
    ),
    min_size=1,
    max_size=8,
)
collection = features.map(lambda f: {"type": "FeatureCollection", "features": f})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


def load_and_check(text: str) -> None:
    """Write ``text`` as GeoJSON, load, validate and fix it; only a GridplanError may escape."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grid.geojson"
        path.write_text(text, encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                grid = load_grid(path)
            except GridplanError:
                return
            report = validate_grid(grid)
            fixed, _ = fix_grid(grid)
            validate_grid(fixed)
    assert len(report.counts) == 3
    assert len(fixed) == len(grid)


@FUZZ
@given(collection)
def test_any_feature_collection_gives_a_grid_or_a_gridplan_error(data):
    load_and_check(json.dumps(data, allow_nan=True))


@FUZZ
@given(json_values)
def test_any_json_gives_a_grid_or_a_gridplan_error(data):
    load_and_check(json.dumps(data, allow_nan=True))


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_give_a_grid_or_a_gridplan_error(data):
    load_and_check(data.decode("utf-8", "replace"))
