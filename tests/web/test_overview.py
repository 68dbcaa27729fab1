"""The overview's 1+5+N tree: hot micro-grids per base grid, named by how they were classed."""

import geopandas as gpd
import pandas as pd
import shapely

from gridplan.web.views.overview import _tree


def _grid():
    box = shapely.box(0, 0, 1, 1)
    rows = [("S01", "station", None), ("S01-B1", "base", "S01")]
    rows += [(f"S01-B1-M00{k}", "micro", "S01-B1") for k in (1, 2, 3)]
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "parent_id": [r[2] for r in rows],
            "name": ["所", "一", "a", "b", "c"],
        },
        geometry=[box] * len(rows),
        crs=4326,
    )


def _hot(classes):
    return pd.DataFrame(
        {
            "id": ["S01-B1-M001", "S01-B1-M002", "S01-B1-M003"],
            "slice": "all",
            "count": [9, 1, 0],
            "gi_class": classes,
        }
    )


def test_a_small_station_counts_its_cells_above_the_station_mean():
    (base,) = _tree(_grid(), _hot(["above_99", "not_significant", "below_90"]))
    assert (base["hot"], base["classes"], base["incidents"]) == (1, "excess", 10)
    (base,) = _tree(_grid(), _hot(["hot_95", "hot_90", "not_significant"]))
    assert (base["hot"], base["classes"]) == (2, "gistar")
    (base,) = _tree(_grid(), None)
    assert (base["hot"], base["classes"]) == (0, "gistar")
