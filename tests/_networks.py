"""Tiny street networks for tests, drawn in metres east and north of one point in Portland.

Tests describe a network as a list of streets, each a list of ``(x, y)`` offsets in metres
from ``(X0, Y0)`` in EPSG:26910 (UTM 10N, central Portland), optionally with OSM tag columns,
and build it with :func:`street_network`. The drawing of each network stays in its test
module, next to the tests that rely on it.
"""

from collections.abc import Sequence

import geopandas as gpd
import shapely

from gridplan.network.graphs import StreetNetwork
from gridplan.network.graphs import build_network

X0, Y0 = 525_000.0, 5_040_000.0  # EPSG:26910
EPSG = 26910


def xy(x: float, y: float) -> tuple[float, float]:
    """The EPSG:26910 coordinates of the point ``x`` m east and ``y`` m north of (X0, Y0)."""
    return (X0 + x, Y0 + y)


def street_network(
    streets: Sequence[Sequence[tuple[float, float]]], **tags: Sequence
) -> StreetNetwork:
    """Build a StreetNetwork from streets drawn as offsets in metres from (X0, Y0).

    ``tags`` are columns of the street layer (``highway``, ``oneway``, ``maxspeed``, ...), one
    value per street. Streets connect where they share a vertex, as in ``build_network``.
    """
    lines = gpd.GeoDataFrame(
        dict(tags),
        geometry=[shapely.LineString([xy(*p) for p in street]) for street in streets],
        crs=EPSG,
    )
    return build_network(lines, crs=f"EPSG:{EPSG}")
