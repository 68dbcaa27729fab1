"""Hot-spot benchmark: 1,000,000 incidents x 10,000 micro-grids x 8 time slices.

Builds a 100 x 100 lattice of 200 m micro-grids (5 base grids of 20 columns each) near
Shanghai, draws 1,000,000 synthetic incidents (80 % around 40 Gaussian hot spots, 20 %
uniform; two years of times with an evening peak), writes them as a CSV, and times:

- the import of that CSV (``gridplan.geo.incidents.import_incidents`` when available,
  otherwise ``pandas.read_csv``, and the output says which),
- the spatial join and per-slice aggregation (``compute_hotspots`` stages ``slices``,
  ``join``, ``aggregate``),
- Gi* with 999 permutations on all 8 slices plus the whole day (stages ``weights``, ``gi``),

and reports peak resident memory (``ru_maxrss``). Targets on a 2-core machine: join +
aggregation <= 5 s, Gi* <= 15 s, peak RAM <= 2 GB.

Usage::

    python benchmarks/hotspots.py [--incidents N] [--side CELLS] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._validate import HOT_CLASSES
from gridplan.analysis.hotspots import compute_hotspots
from gridplan.station.config import config_from_mapping

TARGETS = {"join_aggregate_s": 5.0, "gi_s": 15.0, "peak_rss_gb": 2.0}
CELL_M = 200.0
ORIGIN = (350_000.0, 3_450_000.0)  # UTM 51N, near Shanghai
CATEGORIES = ["盗窃", "扒窃", "纠纷", "诈骗", "打架斗殴", "盗窃电动车", "入室盗窃", "抢劫"]
CATEGORY_P = [0.35, 0.1, 0.2, 0.12, 0.08, 0.08, 0.05, 0.02]


def make_grid(side: int) -> gpd.GeoDataFrame:
    x0, y0 = ORIGIN
    j, i = np.divmod(np.arange(side * side), side)
    xs, ys = x0 + i * CELL_M, y0 + j * CELL_M
    micro = shapely.box(xs, ys, xs + CELL_M, ys + CELL_M)
    base_of = i * 5 // side  # five vertical strips
    bases = [
        shapely.box(
            x0 + b * side // 5 * CELL_M, y0, x0 + (b + 1) * side // 5 * CELL_M, y0 + side * CELL_M
        )
        for b in range(5)
    ]
    station = shapely.box(x0, y0, x0 + side * CELL_M, y0 + side * CELL_M)
    counters = np.zeros(5, dtype=int)
    micro_ids = []
    for b in base_of:
        counters[b] += 1
        micro_ids.append(f"S01-B{b + 1}-M{counters[b]:04d}")
    frame = pd.DataFrame(
        {
            "id": ["S01", *(f"S01-B{b + 1}" for b in range(5)), *micro_ids],
            "level": ["station"] + ["base"] * 5 + ["micro"] * len(micro),
            "parent_id": [None, *["S01"] * 5, *(f"S01-B{b + 1}" for b in base_of)],
            "name": ["基准警务室", *(f"基础网格{b + 1}" for b in range(5)), *micro_ids],
        }
    )
    geoms = np.concatenate([[station], bases, micro])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:32651").to_crs("EPSG:4326")


def make_incidents_csv(path: Path, n: int, side: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    extent = side * CELL_M
    n_hot = int(n * 0.8)
    centres = rng.uniform(0.05 * extent, 0.95 * extent, size=(40, 2))
    which = rng.integers(0, len(centres), n_hot)
    hot = centres[which] + rng.normal(0, 300.0, size=(n_hot, 2))
    flat = rng.uniform(0, extent, size=(n - n_hot, 2))
    xy = np.clip(np.vstack([hot, flat]), 1.0, extent - 1.0) + np.array(ORIGIN)
    lonlat = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32651").to_crs(4326)
    # two years of times, hours weighted towards the evening
    hour_p = np.array([3, 2, 2, 1, 1, 1, 2, 3, 4, 4, 5, 5, 6, 5, 5, 6, 6, 7, 8, 8, 7, 6, 5, 4.0])
    days = rng.integers(0, 730, n)
    hours = rng.choice(24, size=n, p=hour_p / hour_p.sum())
    minutes = rng.integers(0, 60, n)
    times = (
        np.datetime64("2023-01-01T00:00")
        + days.astype("timedelta64[D]")
        + hours.astype("timedelta64[h]")
        + minutes.astype("timedelta64[m]")
    )
    df = pd.DataFrame(
        {
            "id": [f"J{k:07d}" for k in range(n)],
            "lon": np.round(lonlat.x.to_numpy(), 6),
            "lat": np.round(lonlat.y.to_numpy(), 6),
            "time": pd.Series(times).dt.strftime("%Y-%m-%d %H:%M"),
            "category": rng.choice(CATEGORIES, size=n, p=CATEGORY_P),
        }
    )
    df.to_csv(path, index=False)


def peak_rss_gb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e9


def import_csv(path: Path, cfg, grid) -> tuple[gpd.GeoDataFrame, str]:
    try:
        from gridplan.geo.incidents import import_incidents
    except ImportError:
        import_incidents = None
    if import_incidents is not None:
        result = import_incidents(path, config=cfg, station=grid)
        return result.incidents, "gridplan.geo.incidents.import_incidents"
    df = pd.read_csv(path)
    times = pd.to_datetime(df["time"], format="%Y-%m-%d %H:%M").dt.tz_localize(cfg.timezone)
    gdf = gpd.GeoDataFrame(
        {"id": df["id"], "time": times, "category": df["category"], "weight": 1.0},
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs="EPSG:4326",
    )
    return gdf, "pandas.read_csv (import_incidents not importable yet)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--side", type=int, default=100, help="micro-grids per side (100 -> 10,000)")
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)

    cfg = config_from_mapping({"time": {"split_weekend": True}})
    cache = list((Path(__file__).parents[1] / "gridplan" / "__pycache__").glob("hotspots.*.nbi"))
    t0 = time.perf_counter()
    grid = make_grid(args.side)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "incidents.csv"
        make_incidents_csv(path, args.incidents, args.side)
        setup_s = time.perf_counter() - t0
        csv_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        incidents, importer = import_csv(path, cfg, grid)
        import_s = time.perf_counter() - t0
    hot = compute_hotspots(grid, incidents, config=cfg, permutations=args.permutations)
    tm = hot.attrs["timings"]
    figures = {
        "incidents": len(incidents),
        "micro_grids": int(args.side**2),
        "slices": len(cfg.slices),
        "permutations": args.permutations,
        "csv_mb": round(csv_mb, 1),
        "importer": importer,
        "setup_s": round(setup_s, 2),
        "import_s": round(import_s, 2),
        "slices_s": round(tm["slices"], 2),
        "join_s": round(tm["join"], 2),
        "aggregate_s": round(tm["aggregate"], 2),
        "join_aggregate_s": round(tm["slices"] + tm["join"] + tm["aggregate"], 2),
        "weights_s": round(tm["weights"], 2),
        "gi_perm_s": round(tm["gi"], 2),
        "gi_s": round(tm["weights"] + tm["gi"], 2),
        "assemble_s": round(tm["assemble"], 2),
        "compute_hotspots_s": round(tm["total"], 2),
        "numba_cache": "warm" if cache else "cold (includes one-off JIT compile)",
        "unassigned": int(hot.attrs["unassigned"]),
        "hot_cells_all_day": int(
            hot[hot["slice"] == "all"]["gi_class"].astype(str).isin(HOT_CLASSES).sum()
        ),
        "peak_rss_gb": round(peak_rss_gb(), 2),
    }
    results = {k: figures[k] <= limit for k, limit in TARGETS.items()}
    if args.json:
        print(json.dumps({"figures": figures, "pass": results}, ensure_ascii=False, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k:<20} {v}")
        for k, ok in results.items():
            print(f"{'PASS' if ok else 'FAIL'}  {k} = {figures[k]} (target <= {TARGETS[k]})")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
