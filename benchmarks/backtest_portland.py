"""Back-test on the Portland demo: fit 2015-2018, score 2019, 200 m micro-grids.

Uses the bundled demo (``data/station.toml``, ``data/boundaries/grid.geojson``,
``data/incidents/*.csv*``) when present. Otherwise it builds a station from the shared
Portland data (the Downtown, Old Town/Chinatown, Pearl District, Goose Hollow and Northwest
District neighbourhoods) with a plain 200 m square lattice clipped to it (EPSG:26910).

Prints PAI, PEI and hit rate at 1, 5 and 10 % of the area for the gridplan ranking, the
severity-weighted hot-spot score and the prior-count baseline, per slice.

Usage::

    python benchmarks/backtest_portland.py [--data DIR] [--shared DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.analysis.backtesting import backtest
from gridplan.station.config import config_from_mapping
from gridplan.station.config import load_config

ROOT = Path(__file__).parents[1]
SHARED = ROOT.parent / "shared" / "data" / "portland_central"
NEIGHBOURHOODS = (
    "PORTLAND DOWNTOWN",
    "OLD TOWN COMMUNITY ASSOCIATION",
    "PEARL DISTRICT",
    "GOOSE HOLLOW FOOTHILLS LEAGUE",
    "NORTHWEST DISTRICT ASSOCIATION",
)


def demo_inputs(data: Path):
    from gridplan.geo.grid import load_grid
    from gridplan.geo.incidents import import_incidents

    cfg = load_config(data / "station.toml")
    grid = load_grid(data / "boundaries" / "grid.geojson")
    path = sorted((data / "incidents").glob("*.csv*"))[0]
    incidents = import_incidents(path, config=cfg, station=grid).incidents
    return cfg, grid, incidents, f"demo data in {data}"


def shared_inputs(shared: Path):
    cfg = config_from_mapping(
        {"station": {"timezone": "America/Los_Angeles"}, "crs": {"metric": "EPSG:26910"}}
    )
    hoods = gpd.read_file(shared / "boundaries" / "portland_neighborhoods.geojson")
    station = hoods[hoods["NAME"].isin(NEIGHBOURHOODS)].to_crs(26910).union_all()
    x0, y0, x1, y1 = station.bounds
    size = cfg.cell_size_m
    xs, ys = np.meshgrid(
        np.arange(np.floor(x0 / size) * size, x1, size),
        np.arange(np.floor(y0 / size) * size, y1, size),
    )
    boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + size, ys.ravel() + size)
    cells = shapely.intersection(boxes, station)
    cells = cells[~shapely.is_empty(cells) & (shapely.area(cells) > 1.0)]
    n = len(cells)
    frame = pd.DataFrame(
        {
            "id": ["S01", "S01-B1", *(f"S01-B1-M{k + 1:03d}" for k in range(n))],
            "level": ["station", "base", *["micro"] * n],
            "parent_id": [None, "S01", *["S01-B1"] * n],
            "name": ["Portland central", "B1", *[""] * n],
        }
    )
    grid = gpd.GeoDataFrame(frame, geometry=[station, station, *cells], crs="EPSG:26910").to_crs(
        4326
    )
    df = pd.read_csv(shared / "incidents" / "portland_crime_central_2015_2021.csv.gz")
    times = pd.to_datetime(df["occur_datetime"], format="%Y-%m-%d %H:%M")
    incidents = gpd.GeoDataFrame(
        {
            "id": df["CaseNumber"].astype(str),
            "time": times.dt.tz_localize(cfg.timezone, ambiguous="NaT", nonexistent="NaT"),
            "category": df["OffenseCategory"],
            "weight": [cfg.weight_for(c) for c in df["OffenseCategory"]],
        },
        geometry=gpd.points_from_xy(df["OpenDataLon"], df["OpenDataLat"]),
        crs="EPSG:4326",
    )
    return cfg, grid, incidents, f"shared data in {shared} (5 neighbourhoods, own 200 m lattice)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    if (args.data / "boundaries" / "grid.geojson").is_file():
        cfg, grid, incidents, source = demo_inputs(args.data)
    else:
        cfg, grid, incidents, source = shared_inputs(args.shared)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bt = backtest(grid, incidents, fit="2015:2018", score="2019", config=cfg)
    run_s = time.perf_counter() - t0
    allday = bt.table[bt.table["slice"] == "all"]
    pai = allday.pivot(index="area_share", columns="method", values="pai")
    if args.json:
        out = bt.summary() | {"source": source, "load_s": load_s, "backtest_s": run_s}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"source: {source}; load {load_s:.1f} s, back-test {run_s:.2f} s")
    print(bt.to_text())
    print()
    print("PAI, whole day (slice 'all'):")
    print(pai[["gridplan", "severity", "baseline"]].round(3).to_string())
    verdict = {s: bt.not_worse(area_share=s) for s in (0.01, 0.05, 0.10)}
    print(
        "gridplan not worse than baseline: " + ", ".join(f"{s:.0%} {v}" for s, v in verdict.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
