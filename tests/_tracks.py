"""Synthetic patrol tracks for the tracks tests: builders, not tests.

A patroller who follows a plan walks each route's street path at the route's speed, waits at
the next stop when early, dwells there for its planned dwell (or walks straight through a
stop skipped) and walks back to the end place. :func:`route_fixes` samples that walk every
few seconds with Gaussian noise, :func:`truth_minutes` counts, second by second and without
noise, where the patroller really was, and :func:`write_gpx` writes fixes as a phone would.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.ops import substring

from gridplan._validate import FIX_COLUMNS


def _metric(route, crs):
    to_metric = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    path = shapely.transform(route.path, lambda xy: np.c_[to_metric.transform(*xy.T)])
    return path, to_metric


def walk(route, crs, *, skip: Collection[int] = ()):
    """Knots ``(epoch seconds, metres along the path)`` of a route followed as planned.

    ``skip`` holds the orders of stops walked through without stopping.
    """
    path, to_metric = _metric(route, crs)
    speed = route.duty.speed_kph / 3.6
    t = route.start.timestamp()
    d = 0.0
    knots = [(t, d)]
    for p in route.stops:
        rest = substring(path, d, path.length)
        at = d + rest.project(shapely.Point(to_metric.transform(p.lon, p.lat)))
        reach = t + (at - d) / speed
        if p.order in skip:
            t, d = reach, at
            knots.append((t, d))
            continue
        arrive = p.arrival.timestamp()
        if reach < arrive:  # early: wait at the stop
            knots.append((reach, at))
        t, d = max(arrive, reach), at
        knots.append((t, d))
        t = max(p.departure.timestamp(), t)
        knots.append((t, d))
    end = min(t + (path.length - d) / speed, max(route.end.timestamp(), t))
    knots.append((max(end, t), path.length))
    return np.array(knots), path


def positions(route, crs, times: np.ndarray, *, skip: Collection[int] = ()):
    """Noise-free metric x, y of the patroller at ``times`` (epoch seconds)."""
    knots, path = walk(route, crs, skip=skip)
    # np.interp needs increasing x: a wait is two knots at one place, a dwell too
    d = np.interp(times, knots[:, 0], knots[:, 1])
    points = shapely.line_interpolate_point(path, d)
    return shapely.get_x(points), shapely.get_y(points)


def route_fixes(
    route,
    crs,
    *,
    every_s: float = 5.0,
    noise_m: float = 5.0,
    seed: int = 0,
    skip: Collection[int] = (),
    timezone: str = "Asia/Shanghai",
) -> pd.DataFrame:
    """FIXES of a route followed as planned, every ``every_s`` seconds with noise."""
    knots, _ = walk(route, crs, skip=skip)
    times = np.arange(knots[0, 0], knots[-1, 0] + 1e-9, every_s)
    x, y = positions(route, crs, times, skip=skip)
    rng = np.random.default_rng(seed)
    x = x + rng.normal(0, noise_m, len(x))
    y = y + rng.normal(0, noise_m, len(y))
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    stamps = pd.to_datetime(times * 1e9, utc=True).tz_convert(timezone).round("ms")
    return pd.DataFrame(
        {
            "patroller": route.patroller_id,
            "time": stamps,
            "lon": lon,
            "lat": lat,
            "accuracy_m": float(noise_m),
            "source": "synthetic",
            "row": np.arange(1, len(times) + 1),
        }
    )[[*FIX_COLUMNS, "row"]]


def plan_fixes(plan, crs, **kwargs) -> pd.DataFrame:
    """FIXES of every deployed route of ``plan`` (``skip`` as ``{patroller: orders}``)."""
    skip = kwargs.pop("skip", {})
    parts = [
        route_fixes(r, crs, skip=skip.get(r.patroller_id, ()), **kwargs)
        for s in plan.slices
        for r in s.routes
        if r.deployed
    ]
    return pd.concat(parts, ignore_index=True)


def truth_minutes(plan, grid, crs, *, skip=None) -> dict[tuple[str, str], float]:
    """Minutes per (slice, micro-grid) where the patrollers really were, second by second."""
    skip = skip or {}
    micro = grid[grid["level"] == "micro"].to_crs(crs)
    tree = shapely.STRtree(np.asarray(micro.geometry.values))
    ids = micro["id"].to_numpy()
    out: dict[tuple[str, str], float] = {}
    for s in plan.slices:
        lo, hi = s.start.timestamp(), s.end.timestamp()
        for r in s.routes:
            if not r.deployed:
                continue
            knots, _ = walk(r, crs, skip=skip.get(r.patroller_id, ()))
            times = np.arange(knots[0, 0], knots[-1, 0], 1.0) + 0.5
            times = times[(times >= lo) & (times < hi)]
            x, y = positions(r, crs, times, skip=skip.get(r.patroller_id, ()))
            which, cell = tree.query(shapely.points(x, y), predicate="intersects")
            first = pd.Series(cell).groupby(which).first()
            for mid, n in pd.Series(ids[first.to_numpy()]).value_counts().items():
                out[(s.slice_id, mid)] = out.get((s.slice_id, mid), 0.0) + n / 60
    return out


def stop_truth(route, grid, crs, p, start: float, end: float, *, skip=()) -> float:
    """Minutes the patroller of ``route`` really was in stop ``p``'s micro-grid in a window."""
    cell = grid.loc[grid["id"] == p.micro_id].to_crs(crs).geometry.iloc[0]
    knots, _ = walk(route, crs, skip=skip)
    times = np.arange(max(start, knots[0, 0]), min(end, knots[-1, 0]), 1.0) + 0.5
    x, y = positions(route, crs, times, skip=skip)
    return float(shapely.intersects_xy(cell, x, y).sum()) / 60


def write_gpx(fixes: pd.DataFrame, path: Path, *, version: str = "1.1", zone: bool = True) -> Path:
    """Write fixes as a phone's GPX track (times UTC with ``Z``, or station time without)."""
    ns = f"http://www.topografix.com/GPX/{version.replace('.', '/')}"
    points = []
    for r in fixes.itertuples():
        when = (
            r.time.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if zone
            else r.time.tz_localize(None).strftime("%Y-%m-%dT%H:%M:%S.%f")
        )
        points.append(f'<trkpt lat="{r.lat:.8f}" lon="{r.lon:.8f}"><time>{when}</time></trkpt>')
    name = escape(str(fixes["patroller"].iloc[0])) if len(fixes) else ""
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="{version}" creator="test" '
        f'xmlns="{ns}"><trk><name>{name}</name><trkseg>' + "".join(points) + "</trkseg></trk></gpx>"
    )
    path.write_text(text, encoding="utf-8")
    return path


def two_cells(crs: int = 32651) -> gpd.GeoDataFrame:
    """A station of two 100 m micro-grids side by side (x 0-100 and 100-200, y 0-100)."""
    return gpd.GeoDataFrame(
        {
            "id": ["S", "S-B1", "S-B1-M1", "S-B1-M2"],
            "level": ["station", "base", "micro", "micro"],
            "parent_id": [None, "S", "S-B1", "S-B1"],
            "name": ["", "", "一", "二"],
        },
        geometry=[shapely.box(0, 0, 200, 100)] * 2
        + [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs=crs,
    ).to_crs(4326)


def fixes_at(points, times, *, patroller="V01", crs=32651, tz="Asia/Shanghai", accuracy=np.nan):
    """FIXES at metric ``points`` [(x, y), ...] and local ``times`` ["08:00:00", ...]."""
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(
        [p[0] for p in points], [p[1] for p in points]
    )
    stamps = pd.to_datetime([f"2024-06-05 {t}" for t in times]).tz_localize(tz)
    return pd.DataFrame(
        {
            "patroller": patroller,
            "time": stamps,
            "lon": lon,
            "lat": lat,
            "accuracy_m": accuracy,
            "source": "test",
            "row": np.arange(1, len(points) + 1),
        }
    )


def at(clock: str, tz: str = "Asia/Shanghai") -> dt.datetime:
    """A station-time datetime on 2024-06-05 (``"08:00"``)."""
    return pd.Timestamp(f"2024-06-05 {clock}", tz=tz).to_pydatetime()


#: The metric CRS of the lattice station (``_networks``).
LATTICE_CRS = 26910


@functools.cache
def lattice_day():
    """A checked morning plan of the lattice station: P1 walks 06:00-08:30, A1 rides 07:30-10:00.

    Returns ``(plan, grid, network)``; planned once per test session (a few seconds).
    """
    from _lattice import lattice_network
    from _lattice import make_config
    from _lattice import make_grid
    from _lattice import make_hotspots
    from _lattice import patroller
    from _plans import plan_checked

    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    net, grid = lattice_network(), make_grid()
    cfg = make_config(
        [
            patroller("P1", {"daily": ["06:00-08:30"]}),
            patroller("A1", {"daily": ["07:30-10:00"]}, mode="ebike"),
        ],
        top_share=0.2,
    )
    request = PlanRequest("2024-06-05", slices=["morning"])
    params = SolveParams(time_limit_s=5, workers=1, work_limit=300, seed=3)
    plan = plan_checked(grid, make_hotspots(grid), net, cfg, request, params=params)
    return plan, grid, net
