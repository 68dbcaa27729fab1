"""Grid comparisons shared by the grid tests (``geo/``) and the export round trips (``io/``)."""

from geopandas.testing import assert_geodataframe_equal


def assert_same_grid(left, right):
    """Equal columns and, ring orientation and start vertex aside, equal geometries."""
    assert_geodataframe_equal(
        left.set_geometry(left.normalize()),
        right.set_geometry(right.normalize()),
        check_less_precise=True,
    )
