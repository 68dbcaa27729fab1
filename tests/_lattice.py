"""The lattice station of the routing, map, sheet and web tests: builders, not tests.

A 3 x 3 street lattice of 200 m blocks in EPSG:26910 (offsets from ``_networks.X0, Y0``), a
station grid over it (one station, three base grids as columns, nine 200 m micro-grids), hot
spots with a chosen score per micro-grid, patrollers and a station config around a roster.
"""

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _networks import xy

from gridplan.network.graphs import build_network
from gridplan.station.config import default_config
from gridplan.station.roster import parse_patroller

SLICES = ("morning", "day", "evening", "night")


def lattice_network():
    """A 3 x 3 street lattice, 200 m blocks: junctions at x, y in {0, 200, 400}.

    Streets run 50 m past the outer junctions so the corners are junctions too (a bare
    corner would be simplified away and its micro-grid left without a node).
    """
    ticks = (-50, 0, 200, 400, 450)
    lines = [shapely.LineString([xy(x, y) for x in ticks]) for y in (0, 200, 400)]
    lines += [shapely.LineString([xy(x, y) for y in ticks]) for x in (0, 200, 400)]
    return build_network(gpd.GeoDataFrame(geometry=lines, crs=26910), crs="EPSG:26910")


def make_grid():
    """Station, three base grids (columns x = 0, 200, 400), nine 200 m micro-grids."""
    cells, ids, parents = [], [], []
    for i, x in enumerate((0, 200, 400)):
        for j, y in enumerate((0, 200, 400)):
            cells.append(shapely.box(*xy(x - 100, y - 100), *xy(x + 100, y + 100)))
            ids.append(f"S01-B{i + 1}-M{j + 1:03d}")
            parents.append(f"S01-B{i + 1}")
    bases = [shapely.union_all(cells[3 * i : 3 * i + 3]) for i in range(3)]
    station = shapely.union_all(cells)
    return gpd.GeoDataFrame(
        {
            "id": ["S01", "S01-B1", "S01-B2", "S01-B3", *ids],
            "level": ["station"] + ["base"] * 3 + ["micro"] * 9,
            "parent_id": [None, "S01", "S01", "S01", *parents],
            "name": ["警务室", "一", "二", "三"] + [f"微网格{k}" for k in range(9)],
        },
        geometry=[station, *bases, *cells],
        crs=26910,
    ).to_crs(4326)


def make_hotspots(grid, scores=None):
    """Scores per micro-grid (same in every slice); rank 1 = highest."""
    micro = grid[grid["level"] == "micro"]
    scores = np.arange(9, 0, -1, dtype=float) if scores is None else np.asarray(scores, float)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(9, dtype=int)
    rank[order] = np.arange(1, 10)
    rows = []
    for sid in (*SLICES, "all"):
        for k, mid in enumerate(micro["id"]):
            rows.append(
                {
                    "id": mid,
                    "slice": sid,
                    "score": scores[k],
                    "rank": rank[k],
                    "gi_class": "hot_95" if rank[k] <= 2 else "not_significant",
                    "count": int(scores[k]),
                }
            )
    return pd.DataFrame(rows)


def patroller(pid, availability, **kw):
    """An auxiliary on foot with ``availability`` (and any other roster fields in ``kw``)."""
    raw = {"id": pid, "role": "auxiliary", "mode": "walk", "availability": availability, **kw}
    return parse_patroller(raw, index=0, source="test")


def make_config(roster, **policy):
    """The default station config with ``roster``, patrol ``policy`` fields and Shanghai time."""
    cfg = default_config()
    pol = dataclasses.replace(cfg.patrol, **policy) if policy else cfg.patrol
    return dataclasses.replace(cfg, roster=tuple(roster), patrol=pol, timezone="Asia/Shanghai")
