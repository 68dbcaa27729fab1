"""City benchmark: hot spots of a city's stations with dask-geopandas, and their nightly plans.

Builds a synthetic city: a generated partition of ``--stations`` square stations (2 km x
2 km each, 200 m micro-grids: 100 per station, 1+5+N grids from
:func:`gridplan.generate_grid`) on a lattice near Shanghai, each with a roster of three
patrollers, and ``--incidents`` synthetic incidents (70 % around three Gaussian hot spots per
station, 30 % uniform over the city; two years of times) written as GeoParquet in row groups
of 500,000. Then it times:

- city hot spots with dask-geopandas on a local cluster of 2 workers
  (:func:`gridplan.city.hotspots.city_hotspots`) against the single-process path
  (:func:`gridplan.city.hotspots.city_hotspots_local`, in a fresh process), with the peak
  resident memory of each worker and of the single process (VmHWM), the compute seconds per
  kind of task on the workers, and checks that both give the same numbers, bit for bit
  (both clocks start after the same imports: a worker's first task would otherwise pay them);
- the nightly plans of ``--plan-stations`` stations (default: all) at ``--time-limit``
  seconds per slice (straight-line travel: the synthetic city has no streets) on 1 and on 2
  workers (:func:`gridplan.city.plans.plan_city`).

Targets (issue 21): no worker over 2 GB, dask faster than one process; 2 workers >= 1.7x
faster than 1 for the plans. It prints the figures; it asserts nothing.

Usage::

    python3 benchmarks/city.py [--stations 49] [--incidents 10000000] [--plan-stations N]
                               [--time-limit 5] [--json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import gridplan as gp
from gridplan.city.cityfile import load_city
from gridplan.city.cluster import connect
from gridplan.city.hotspots import CityHotspotParams
from gridplan.city.hotspots import city_hotspots
from gridplan.city.hotspots import city_hotspots_local
from gridplan.city.hotspots import write_city_hotspots
from gridplan.city.plans import CityPlanParams
from gridplan.city.plans import plan_city

CRS = "EPSG:32651"  # UTM 51N, metres near Shanghai
ORIGIN = (350_000.0, 3_450_000.0)
STATION_M = 2000.0
DATE = "2025-06-14"
TARGETS = {"worker_peak_gb": 2.0, "plan_speedup_2_workers": 1.7}

STATION_TOML = """
[station]
id = "{sid}"
name = "City station {sid}"
timezone = "Asia/Shanghai"

[crs]
metric = "EPSG:32651"

[[roster]]
id = "A01"
name = "Auxiliary 1"
role = "auxiliary"
mode = "walk"
max_duty_min = 480
availability = {{ daily = ["06:00-14:00"] }}

[[roster]]
id = "A02"
name = "Auxiliary 2"
role = "auxiliary"
mode = "ebike"
max_duty_min = 480
availability = {{ daily = ["14:00-22:00"] }}

[[roster]]
id = "A03"
name = "Auxiliary 3"
role = "auxiliary"
mode = "ebike"
max_duty_min = 480
availability = {{ daily = ["22:00-06:00"] }}
"""


def _corners(n: int) -> list[tuple[float, float]]:
    cols = math.ceil(math.sqrt(n))
    return [
        (ORIGIN[0] + (k % cols) * STATION_M, ORIGIN[1] + (k // cols) * STATION_M) for k in range(n)
    ]


def write_stations(root: Path, n: int) -> list[str]:
    """Write each station's config and grid; return the station ids."""
    sids = []
    for k, (x, y) in enumerate(_corners(n)):
        sid = f"P{k + 1:03d}"
        folder = root / sid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "station.toml").write_text(STATION_TOML.format(sid=sid), encoding="utf-8")
        config = gp.load_config(folder / "station.toml")
        boundary = gpd.GeoDataFrame(
            geometry=[shapely.box(x, y, x + STATION_M, y + STATION_M)], crs=CRS
        ).to_crs(4326)
        grid = gp.generate_grid(boundary, config=config)
        (folder / "grid.geojson").write_text(grid.to_json(), encoding="utf-8")
        sids.append(sid)
    return sids


def write_incidents(path: Path, n_stations: int, n: int, seed: int = 1) -> None:
    """Write ``n`` synthetic incidents over the city as GeoParquet (EPSG:4326)."""
    rng = np.random.default_rng(seed)
    corners = np.array(_corners(n_stations))
    spots = (corners[:, None, :] + rng.uniform(300, STATION_M - 300, (n_stations, 3, 2))).reshape(
        -1, 2
    )
    n_spot = int(n * 0.7)
    xy = np.empty((n, 2))
    xy[:n_spot] = spots[rng.integers(0, len(spots), n_spot)] + rng.normal(0, 150, (n_spot, 2))
    lo, hi = corners.min(axis=0), corners.max(axis=0) + STATION_M
    xy[n_spot:] = rng.uniform(lo, hi, (n - n_spot, 2))
    start = pd.Timestamp("2023-06-01", tz="Asia/Shanghai")
    seconds = rng.integers(0, 731 * 86_400, n)
    frame = gpd.GeoDataFrame(
        {
            "time": start + pd.to_timedelta(seconds, unit="s"),
            "weight": rng.choice([1.0, 1.5, 3.0], n, p=[0.7, 0.2, 0.1]),
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=CRS,
    ).to_crs(4326)
    frame.to_parquet(path, row_group_size=500_000)


def write_city(path: Path, sids: list[str], *, incidents: str | None, hotspots: Path | None):
    lines = ['name = "benchmark city"']
    lines += [f'incidents = "{incidents}"'] if incidents else []
    for sid in sids:
        lines += ["", "[[stations]]", f'id = "{sid}"', f'grid = "{sid}/grid.geojson"']
        lines += [f'config = "{sid}/station.toml"']
        lines += [f'hotspots = "{hotspots / f"{sid}.hotspots.gpkg"}"'] if hotspots else []
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _peak_gb() -> float:
    """Peak resident memory of this process, GB: VmHWM, which starts anew at exec.

    ``ru_maxrss`` does not: a worker spawned by a process that holds the 10,000,000
    incidents reports that process's size, whatever the worker used.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _warm() -> None:
    """Import what the hot spots run (both paths do this before their clock starts)."""
    import dask_geopandas  # noqa: F401

    import gridplan.analysis.hotspots
    import gridplan.city.hotspots  # noqa: F401


def _local(city_path: str) -> tuple[float, float, dict]:
    """The single-process path, in a fresh process: seconds, peak GB, hot spots."""
    _warm()
    t0 = time.perf_counter()
    hot = city_hotspots_local(load_city(city_path), CityHotspotParams())
    return time.perf_counter() - t0, _peak_gb(), hot


def _task_seconds(records: list[dict]) -> dict[str, float]:
    """Compute seconds per kind of task (its function's name), summed over both workers."""
    seconds: dict[str, float] = {}
    for rec in records:
        key = rec["key"][0] if isinstance(rec["key"], tuple) else rec["key"]
        name = str(key).split("-")[0]
        for part in rec["startstops"]:
            if part["action"] == "compute":
                seconds[name] = seconds.get(name, 0.0) + part["stop"] - part["start"]
    return {k: round(v, 1) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


def bench_hotspots(city_path: Path, out: Path) -> dict:
    from distributed import get_task_stream

    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        local_s, local_gb, local = pool.submit(_local, str(city_path)).result()
    with connect(workers=2) as client:
        client.run(_warm)
        t0 = time.perf_counter()
        with get_task_stream(client=client) as stream:
            spread = city_hotspots(load_city(city_path), CityHotspotParams(), client=client)
        dask_s = time.perf_counter() - t0
        peaks = sorted(client.run(_peak_gb).values())
    write_city_hotspots(spread, out)
    same, score_diff = True, 0.0
    for k in local:
        a, b = spread[k].drop(columns="geometry"), local[k].drop(columns="geometry")
        try:  # the same partitions' sums added in the same order: equal bit for bit
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError:
            same = False
        score_diff = max(score_diff, float((a["score"] - b["score"]).abs().max()))
    return {
        "single_process_s": round(local_s, 1),
        "single_process_peak_gb": round(local_gb, 2),
        "dask_2_workers_s": round(dask_s, 1),
        "dask_worker_peak_gb": [round(p, 2) for p in peaks],
        "dask_task_seconds": _task_seconds(stream.data),
        "speedup": round(local_s / dask_s, 2),
        "same_numbers": same,
        "max_score_difference": score_diff,
    }


def bench_plans(city_path: Path, out: Path, time_limit: float) -> dict:
    figures = {}
    city = load_city(city_path)
    params = CityPlanParams(DATE, time_limit_s=time_limit)
    for workers in (1, 2):
        with connect(workers=workers) as client:
            t0 = time.perf_counter()
            done = plan_city(city, params, client=client, out=out / f"w{workers}")
            seconds = time.perf_counter() - t0
            peaks = sorted(client.run(_peak_gb).values())
        figures[f"{workers}_workers_s"] = round(seconds, 1)
        figures[f"{workers}_workers_peak_gb"] = [round(p, 2) for p in peaks]
        figures[f"{workers}_workers_failed"] = len(done.failed)
    figures["speedup"] = round(figures["1_workers_s"] / figures["2_workers_s"], 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=49)
    parser.add_argument("--incidents", type=int, default=10_000_000)
    parser.add_argument(
        "--plan-stations", type=int, help="stations planned (default: all; 0: no plans)"
    )
    parser.add_argument("--time-limit", type=float, default=5.0, help="solver seconds per slice")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gridplan-city-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        sids = write_stations(root, args.stations)
        write_incidents(root / "incidents.parquet", args.stations, args.incidents)
        write_city(root / "city.toml", sids, incidents="incidents.parquet", hotspots=None)
        made = {"stations": len(sids), "incidents": args.incidents}
        made["build_s"] = round(time.perf_counter() - t0, 1)
        hot = bench_hotspots(root / "city.toml", root / "hot")
        planned = sids[: len(sids) if args.plan_stations is None else args.plan_stations]
        plans = {}
        if planned:
            write_city(root / "plans.toml", planned, incidents=None, hotspots=root / "hot")
            plans = bench_plans(root / "plans.toml", root / "plans", args.time_limit)
            plans.update({"stations": len(planned), "time_limit_s": args.time_limit})
    result = {"city": made, "hotspots": hot, "plans": plans, "targets": TARGETS}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"city: {made}")
    print(f"hot spots: {hot}")
    print(f"plans: {plans}")


if __name__ == "__main__":
    main()
