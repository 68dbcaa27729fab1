"""A small station of the kind most 社区警务室 are: builders, not tests.

Station C07 in Chengdu (another city, station id and timezone than the demo): a 1.1 x 1.2 km
jurisdiction (1.32 km²) cut into 200 m micro-grids by :func:`gridplan.generate_grid` (five base
grids, 30-40 micro-grids), a street lattice every 100 m, two years of synthetic incidents with
one hot spot that peaks at night (about 60 % of its incidents between 22:00 and 06:00), two
daytime hot spots and a thin background, and a "1+3+N" roster whose volunteer teams are free
09:00-11:30 and 15:00-17:30, across the 10:00 and 16:00 slice boundaries.

:func:`small_station` writes the station's files (``station.toml``, ``boundary.geojson``,
``streets.geojson``, ``incidents.csv``) into a folder and returns them read through the same
library calls a station would use, so tests, benchmarks and the CLI see the same station.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import gridplan as gp
from gridplan.network.graphs import StreetNetwork

#: UTM zone 48N: metres around Chengdu
CRS = "EPSG:32648"
#: south-west corner of the jurisdiction in CRS metres (about 104.06 E, 30.66 N)
X0, Y0 = 410_000.0, 3_392_000.0
WIDTH_M, HEIGHT_M = 1100.0, 1200.0
#: where the night hot spot is (metres from the south-west corner) and the day hot spots
NIGHT_SPOT = (850.0, 300.0)
DAY_SPOTS = ((300.0, 900.0), (500.0, 500.0))
DATE = "2025-06-14"  # a Saturday after the incident period

STATION_TOML = """
[station]
id = "C07"
name = "玉林社区警务室"
timezone = "Asia/Shanghai"

[crs]
metric = "EPSG:32648"

[hotspots]
permutations = 199

[[roster]]
id = "C01"
name = "辅警队长 Captain"
role = "captain"
mode = "ebike"
max_duty_min = 600
availability = { daily = ["08:00-18:00"] }
break_after_min = 240
break_min = 30

[[roster]]
id = "A01"
name = "专职辅警 1"
role = "auxiliary"
mode = "walk"
max_duty_min = 480
availability = { daily = ["06:00-14:00"] }
break_after_min = 240
break_min = 30

[[roster]]
id = "A02"
name = "专职辅警 2"
role = "auxiliary"
mode = "walk"
max_duty_min = 480
availability = { daily = ["14:00-22:00"] }
break_after_min = 240
break_min = 30

[[roster]]
id = "A03"
name = "专职辅警 3"
role = "auxiliary"
mode = "ebike"
max_duty_min = 480
availability = { daily = ["22:00-06:00"] }
break_after_min = 240
break_min = 30

[[roster]]
id = "N01"
name = "季节性辅警 1"
role = "seasonal"
mode = "walk"
max_duty_min = 300
availability = { weekend = ["17:00-22:00"] }

[[roster]]
id = "V01"
name = "义警巡逻队 1"
role = "volunteer_team"
mode = "walk"
members = 2
max_duty_min = 150
availability = { daily = ["09:00-11:30", "15:00-17:30"] }

[[roster]]
id = "V02"
name = "义警巡逻队 2"
role = "volunteer_team"
mode = "walk"
members = 2
max_duty_min = 150
availability = { daily = ["09:00-11:30", "18:30-21:00"] }
"""


@dataclasses.dataclass(frozen=True)
class SmallStation:
    """The small station's files and what the library reads from them."""

    folder: Path
    config: gp.StationConfig
    grid: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    hotspots: pd.DataFrame
    network: StreetNetwork

    @property
    def night_spot(self) -> str:
        """Id of the micro-grid holding the night hot spot."""
        return _cell_at(self.grid, NIGHT_SPOT)


def _xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def _cell_at(grid: gpd.GeoDataFrame, at: tuple[float, float]) -> str:
    micro = grid[grid["level"] == "micro"].to_crs(CRS)
    hit = micro[micro.contains(shapely.Point(_xy(*at)))]
    return str(hit["id"].iloc[0])


def _streets() -> gpd.GeoDataFrame:
    """Streets every 100 m, running 50 m past the boundary so every corner is a junction."""
    xs = np.arange(0.0, WIDTH_M + 1, 100.0)
    ys = np.arange(0.0, HEIGHT_M + 1, 100.0)
    lines, names = [], []
    for y in ys:
        lines.append(shapely.LineString([_xy(-50, y), _xy(WIDTH_M + 50, y)]))
        names.append(f"玉林{int(y // 100) + 1}街")
    for x in xs:
        lines.append(shapely.LineString([_xy(x, -50), _xy(x, HEIGHT_M + 50)]))
        names.append(f"芳草{int(x // 100) + 1}路")
    return gpd.GeoDataFrame({"name": names}, geometry=lines, crs=CRS).to_crs(4326)


def _incident_times(rng: np.random.Generator, n: int, night_share: float) -> pd.DatetimeIndex:
    """``n`` local times over 2023-06-01..2025-05-31; ``night_share`` of them 22:00-06:00."""
    days = pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 731, n), unit="D")
    night = rng.random(n) < night_share
    hour = np.where(night, (22 + rng.integers(0, 8, n)) % 24, rng.integers(7, 22, n))
    minute = rng.integers(0, 60, n)
    return pd.DatetimeIndex(days + pd.to_timedelta(hour * 60 + minute, unit="min"))


def _incidents(seed: int = 7) -> pd.DataFrame:
    """Synthetic incident records (WGS84 lon/lat, local times, categories)."""
    rng = np.random.default_rng(seed)
    parts = []

    def spot(centre, n, spread_m, night_share, categories):
        xy = rng.normal(centre, spread_m, size=(n, 2))
        xy = np.clip(xy, 5, (WIDTH_M - 5, HEIGHT_M - 5))
        parts.append((xy, _incident_times(rng, n, night_share), rng.choice(categories, n)))

    spot(NIGHT_SPOT, 90, 35.0, 0.62, ["抢劫", "打架斗殴", "盗窃"])
    spot(DAY_SPOTS[0], 80, 40.0, 0.08, ["盗窃", "扒窃", "纠纷"])
    spot(DAY_SPOTS[1], 60, 40.0, 0.10, ["盗窃电动车", "盗窃", "诈骗"])
    background = rng.uniform((5, 5), (WIDTH_M - 5, HEIGHT_M - 5), size=(180, 2))
    parts.append(
        (background, _incident_times(rng, 180, 0.2), rng.choice(["盗窃", "纠纷", "诈骗"], 180))
    )
    xy = np.vstack([p[0] for p in parts])
    times = np.concatenate([p[1].to_numpy() for p in parts])
    cats = np.concatenate([p[2] for p in parts])
    pts = gpd.GeoSeries(gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs=CRS).to_crs(4326)
    return pd.DataFrame(
        {
            "警情编号": [f"C07-{k:05d}" for k in range(len(xy))],
            "报警时间": pd.DatetimeIndex(times).strftime("%Y-%m-%d %H:%M"),
            "案件类别": cats,
            "经度": pts.x.round(6),
            "纬度": pts.y.round(6),
        }
    )


def write_small_station(folder: Path) -> Path:
    """Write the small station's files into ``folder``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "station.toml").write_text(STATION_TOML, encoding="utf-8")
    boundary = shapely.box(*_xy(0, 0), *_xy(WIDTH_M, HEIGHT_M))
    gpd.GeoDataFrame({"name": ["玉林"]}, geometry=[boundary], crs=CRS).to_crs(4326).to_file(
        folder / "boundary.geojson", driver="GeoJSON"
    )
    _streets().to_file(folder / "streets.geojson", driver="GeoJSON")
    _incidents().to_csv(folder / "incidents.csv", index=False, encoding="utf-8")
    return folder


@functools.cache
def _built(folder: str) -> SmallStation:
    path = write_small_station(Path(folder))
    config = gp.load_config(path / "station.toml")
    boundary = gpd.read_file(path / "boundary.geojson")
    grid = gp.generate_grid(boundary, config=config)
    (path / "grid.geojson").write_text(grid.to_json(), encoding="utf-8")
    incidents = gp.import_incidents(path / "incidents.csv", config=config, station=grid).incidents
    hot = gp.compute_hotspots(grid, incidents, config=config)
    network = gp.build_network(path / "streets.geojson", crs=CRS)
    return SmallStation(path, config, grid, incidents, hot, network)


def small_station(folder: Path) -> SmallStation:
    """Build (once per folder and process) and return the small station in ``folder``."""
    return _built(str(folder))


def station_summary(st: SmallStation) -> str:
    """One line about the station, for benchmark output."""
    micro = st.grid[st.grid["level"] == "micro"]
    area = float(st.grid[st.grid["level"] == "station"].to_crs(CRS).area.iloc[0]) / 1e6
    return json.dumps(
        {"station": st.config.station_id, "area_km2": round(area, 2), "micro": len(micro)},
        ensure_ascii=False,
    )
