"""A small synthetic city: builders, not tests.

Three or four copies of the small station (``tests/_small_station.py``), each moved 1.5 km
east of the one before and with its own id (C01, C02, ...): its grid (generated from its
boundary), config with roster, incident export and street lines, a city file listing them,
and the city's incidents (every station's imported incidents and some beyond every station)
as GeoParquet.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _small_station import CRS
from _small_station import write_small_station

import gridplan as gp

#: metres between one station's south-west corner and the next one's
STEP_M = 1500.0


def _moved(gdf: gpd.GeoDataFrame, dx: float) -> gpd.GeoDataFrame:
    out = gdf.to_crs(CRS)
    out = out.set_geometry(out.geometry.translate(xoff=dx))
    return out.to_crs(4326)


def _write_station(base: Path, folder: Path, k: int) -> str:
    sid = f"C{k + 1:02d}"
    dx = STEP_M * k
    folder.mkdir(parents=True, exist_ok=True)
    toml = (base / "station.toml").read_text(encoding="utf-8")
    (folder / "station.toml").write_text(
        toml.replace('id = "C07"', f'id = "{sid}"', 1), encoding="utf-8"
    )
    _moved(gpd.read_file(base / "streets.geojson"), dx).to_file(
        folder / "streets.geojson", driver="GeoJSON"
    )
    table = pd.read_csv(base / "incidents.csv", encoding="utf-8")
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(table["经度"], table["纬度"]), crs=4326)
    moved = _moved(points, dx).geometry
    table["经度"], table["纬度"] = moved.x.round(6), moved.y.round(6)
    table["警情编号"] = [f"{sid}-{n:05d}" for n in range(len(table))]
    table.to_csv(folder / "incidents.csv", index=False, encoding="utf-8")
    config = gp.load_config(folder / "station.toml")
    boundary = _moved(gpd.read_file(base / "boundary.geojson"), dx)
    grid = gp.generate_grid(boundary, config=config)
    (folder / "grid.geojson").write_text(grid.to_json(), encoding="utf-8")
    return sid


def _city_incidents(folder: Path, sids: list[str], seed: int = 3) -> gpd.GeoDataFrame:
    """Every station's imported incidents and 200 points north of the stations."""
    parts = []
    for sid in sids:
        config = gp.load_config(folder / sid / "station.toml")
        imported = gp.import_incidents(folder / sid / "incidents.csv", config=config)
        parts.append(imported.incidents[["time", "category", "weight", "geometry"]])
    first = parts[0]
    rng = np.random.default_rng(seed)
    x0, y0 = first.to_crs(CRS).total_bounds[[0, 3]]
    xy = rng.uniform((x0, y0 + 200), (x0 + STEP_M * len(sids), y0 + 1200), size=(200, 2))
    beyond = gpd.GeoDataFrame(
        {
            "time": first["time"].iloc[:200].to_numpy(),
            "category": "盗窃",
            "weight": 1.0,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=CRS,
    ).to_crs(first.crs)
    out = pd.concat([*parts, beyond], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=first.crs)


@functools.cache
def _built(folder: str, n: int) -> Path:
    root = Path(folder)
    base = write_small_station(root / "_base")
    sids = [_write_station(base, root / f"C{k + 1:02d}", k) for k in range(n)]
    _city_incidents(root, sids).to_parquet(root / "city-incidents.parquet", row_group_size=400)
    lines = ['name = "test city"', 'incidents = "city-incidents.parquet"', ""]
    for sid in sids:
        lines += [
            "[[stations]]",
            f'id = "{sid}"',
            f'grid = "{sid}/grid.geojson"',
            f'config = "{sid}/station.toml"',
            f'incidents = "{sid}/incidents.csv"',
            f'streets = "{sid}/streets.geojson"',
            "",
        ]
    city = root / "city.toml"
    city.write_text("\n".join(lines), encoding="utf-8")
    return city


def small_city(folder: Path, n: int = 3) -> Path:
    """Write (once per folder and process) a city of ``n`` small stations; return its file."""
    return _built(str(folder), n)


def station_box(k: int) -> shapely.Polygon:
    """The k-th station's area in :data:`CRS` metres (for checks)."""
    from _small_station import HEIGHT_M
    from _small_station import WIDTH_M
    from _small_station import X0
    from _small_station import Y0

    return shapely.box(X0 + STEP_M * k, Y0, X0 + STEP_M * k + WIDTH_M, Y0 + HEIGHT_M)
