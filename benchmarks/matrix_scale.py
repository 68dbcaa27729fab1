"""Travel-time matrices at scale on the Portland street network.

Builds the walking and riding networks of the whole demo OSM extract clipped to the central
Portland study rectangle (lon -122.708..-122.630, lat 45.492..45.545, 6.1 x 5.9 km) plus
300 m, lays a lattice of about 1,000 square cells over the rectangle, takes one access point
per cell (:func:`gridplan.network.stops.access_points`), and times the 1,000 x 1,000 matrix per
profile: the first call (which also builds the CSR graph and may compile the numba kernel)
and a second one. Target: <= 2 s per matrix.

Usage::

    python benchmarks/matrix_scale.py [--stops 1000] [--osm PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from gridplan.network.graphs import build_network
from gridplan.network.matrix import travel_matrix
from gridplan.network.stops import access_points

ROOT = Path(__file__).parents[1]
PBF = ROOT / "data" / "streets" / "portland-central-filtered.osm.pbf"
STUDY_AREA = (-122.708, 45.492, -122.630, 45.545)
METRIC = "EPSG:26910"
TARGET_S = 2.0


def lattice(n_cells: int) -> gpd.GeoDataFrame:
    """About ``n_cells`` square micro-grids covering the study rectangle."""
    area = gpd.GeoSeries([shapely.box(*STUDY_AREA)], crs=4326).to_crs(METRIC).iloc[0]
    x0, y0, x1, y1 = area.bounds
    size = math.sqrt((x1 - x0) * (y1 - y0) / n_cells)
    xs = np.arange(x0, x1 - 1e-6, size)
    ys = np.arange(y0, y1 - 1e-6, size)
    gx, gy = np.meshgrid(xs, ys)
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    ids = [f"M{i:04d}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"id": ids, "level": "micro"}, geometry=cells, crs=METRIC).to_crs(4326)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=1000)
    parser.add_argument("--osm", type=Path, default=PBF)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    boundary = gpd.GeoSeries([shapely.box(*STUDY_AREA)], crs=4326)
    t = time.perf_counter()
    net = build_network(args.osm, boundary=boundary, crs=METRIC)
    build_s = time.perf_counter() - t
    grid = lattice(args.stops)
    figures = {
        "source": str(args.osm),
        "build_s": round(build_s, 2),
        "build_report_s": net.report.seconds,
        "cells": len(grid),
        "profiles": {},
    }
    for profile in ("walk", "ride"):
        t = time.perf_counter()
        stops = access_points(grid, None, net, profile=profile)
        access_s = time.perf_counter() - t
        t = time.perf_counter()
        m1 = travel_matrix(stops, net, profile=profile)
        first_s = time.perf_counter() - t
        t = time.perf_counter()
        m2 = travel_matrix(stops, net, profile=profile)
        second_s = time.perf_counter() - t
        assert m1 == m2 and m1.is_complete()
        rep = getattr(net.report, profile)
        figures["profiles"][profile] = {
            "nodes": rep.nodes,
            "edges": rep.edges,
            "km": rep.km,
            "dropped_nodes": rep.dropped_nodes,
            "stops": len(stops),
            "distinct_nodes": int(stops["node"].nunique()),
            "inside_share": round(float(stops["inside"].mean()), 3),
            "access_s": round(access_s, 3),
            "matrix_first_s": round(first_s, 3),
            "matrix_s": round(second_s, 3),
            "max_minutes": round(int(m1.seconds.max()) / 60, 1),
            "target": "PASS" if first_s <= TARGET_S else "FAIL",
        }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"network build (both profiles, incl. reading {args.osm.name}): {build_s:.2f} s")
    print(f"{figures['cells']} lattice cells over the study rectangle")
    for profile, f in figures["profiles"].items():
        print(
            f"{profile}: {f['nodes']:,} nodes / {f['edges']:,} edges / {f['km']:,.0f} km; "
            f"{f['stops']} stops ({f['distinct_nodes']} distinct nodes, "
            f"{f['inside_share']:.0%} inside their cell), access {f['access_s']:.2f} s; "
            f"{f['stops']}x{f['stops']} matrix {f['matrix_first_s']:.2f} s first, "
            f"{f['matrix_s']:.2f} s cached (target {TARGET_S:g} s: {f['target']}); "
            f"longest trip {f['max_minutes']} min"
        )


if __name__ == "__main__":
    main()
