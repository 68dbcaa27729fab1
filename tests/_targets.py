"""Key road sections and timed targets on the lattice station: builders, not tests.

The lattice (``_lattice``) has junctions at x, y in {0, 200, 400} m; the station stands at
the centre junction (200, 200). :func:`school_gate` is a point at the far corner (400, 400),
:func:`market_street` the street section from (0, 200) to (200, 200), walked west to east.
"""

import geopandas as gpd
import shapely
from _networks import xy

from gridplan.routing.targets import Target


def lonlat(x: float, y: float) -> tuple[float, float]:
    """EPSG:4326 of a lattice offset (metres east and north of the lattice origin)."""
    point = gpd.GeoSeries([shapely.Point(xy(x, y))], crs=26910).to_crs(4326).iloc[0]
    return (point.x, point.y)


def school_gate(windows="07:30-08:15;16:30-17:30", **kw) -> Target:
    """A school gate at the far corner, 15 minutes, worth 30 % of a slice's risk."""
    kw = {"value": 30, **kw}
    return Target("gate", "一小校门", (lonlat(400, 400),), windows, **kw)


def market_street(windows="07:00-09:00", **kw) -> Target:
    """The street section (0, 200) -> (200, 200), 200 m, walked with 5 minutes at its end."""
    kw = {"value": 30, "dwell_min": 5, **kw}
    return Target("market", "中山路", (lonlat(0, 200), lonlat(200, 200)), windows, **kw)


def targets_frame(targets) -> gpd.GeoDataFrame:
    """The targets as a layer with the columns the readers take (name, windows, value ...)."""
    return gpd.GeoDataFrame(
        {
            "id": [t.id for t in targets],
            "name": [t.name for t in targets],
            "windows": [t.windows_text for t in targets],
            "value": [t.value for t in targets],
            "dwell_min": [t.dwell_min for t in targets],
        },
        geometry=[t.geometry for t in targets],
        crs=4326,
    )
