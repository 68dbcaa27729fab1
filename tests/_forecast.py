"""A tiny station for the forecast tests: four 200 m micro-grids in a row, metres (UTM 51N).

``M1`` .. ``M4`` from west to east; incidents are put at the centre of a micro-grid at a
local time of the default Asia/Shanghai station (slices morning 06-10, day 10-16, evening
16-22, night 22-06).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from gridplan.station.config import config_from_mapping

X0, Y0, SIZE = 500_000.0, 3_400_000.0, 200.0
CRS = "EPSG:32651"
TZ = "Asia/Shanghai"
CONFIG = config_from_mapping({"crs": {"metric": CRS}})


def row_grid(n: int = 4) -> gpd.GeoDataFrame:
    """``n`` 200 m micro-grids in a row (a station and one base grid around them)."""
    cells = [shapely.box(X0 + i * SIZE, Y0, X0 + (i + 1) * SIZE, Y0 + SIZE) for i in range(n)]
    whole = shapely.union_all(cells)
    rows = [
        {"id": "S01", "level": "station", "parent_id": None, "name": "站", "geometry": whole},
        {"id": "S01-B1", "level": "base", "parent_id": "S01", "name": "基", "geometry": whole},
    ]
    rows += [
        {"id": f"M{i + 1}", "level": "micro", "parent_id": "S01-B1", "name": "", "geometry": c}
        for i, c in enumerate(cells)
    ]
    return gpd.GeoDataFrame(rows, crs=CRS)


def incidents(spec: list[tuple[int, str] | tuple[int, str, float]]) -> gpd.GeoDataFrame:
    """Incidents from ``(micro-grid number 1.., local time[, weight])``."""
    x = [X0 + (s[0] - 0.5) * SIZE for s in spec]
    return gpd.GeoDataFrame(
        {
            "id": [f"I{k}" for k in range(len(spec))],
            "time": pd.Series(pd.to_datetime([s[1] for s in spec])).dt.tz_localize(TZ),
            "weight": [float(s[2]) if len(s) > 2 else 1.0 for s in spec],
        },
        geometry=gpd.points_from_xy(x, [Y0 + SIZE / 2] * len(spec)),
        crs=CRS,
    )
