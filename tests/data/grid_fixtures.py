"""Regenerate the tests/data/grid_* fixtures: ``python tests/data/grid_fixtures.py``.

The synthetic grids are lon/lat rectangles near Hangzhou (120.15E, 30.25N); the Portland grid
is cut from the real neighbourhood polygons in shared/data/portland_central (see README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import box

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))

from gridplan.geo.grid import write_grid  # noqa: E402

X0, Y0, CELL = 120.150, 30.250, 0.002
# shared/ lies beside the repository
PORTLAND = (
    HERE.resolve().parents[2]
    / "shared/data/portland_central/boundaries/portland_neighborhoods.geojson"
)
PORTLAND_BASES = [
    "PEARL DISTRICT",
    "OLD TOWN COMMUNITY ASSOCIATION",
    "PORTLAND DOWNTOWN",
    "GOOSE HOLLOW FOOTHILLS LEAGUE",
    "NORTHWEST DISTRICT ASSOCIATION",
]


def clean_rows():
    """1 station, 5 bases (one column of cells each), 2 micro-grids per base."""
    rows = [("S01", "station", None, "和平社区警务室", box(X0, Y0, X0 + 5 * CELL, Y0 + 2 * CELL))]
    for b in range(5):
        x = X0 + b * CELL
        geom = box(x, Y0, x + CELL, Y0 + 2 * CELL)
        rows.append((f"S01-B{b + 1}", "base", "S01", f"第{b + 1}基础网格", geom))
    for b in range(5):
        x = X0 + b * CELL
        for m in range(2):
            y = Y0 + m * CELL
            rows.append(
                (
                    f"S01-B{b + 1}-M{m + 1:03d}",
                    "micro",
                    f"S01-B{b + 1}",
                    f"第{b + 1}网格{m + 1}号微网格",
                    box(x, y, x + CELL, y + CELL),
                )
            )
    return rows


def frame(rows, columns=("id", "level", "parent_id", "name")):
    data = {c: pd.Series([r[k] for r in rows], dtype=object) for k, c in enumerate(columns)}
    return gpd.GeoDataFrame(data, geometry=[r[4] for r in rows], crs="EPSG:4326")


def main():
    rows = clean_rows()
    write_grid(frame(rows), HERE / "grid_clean.geojson")

    # Chinese headers and level names, ids with leading zeros.
    zh_level = {"station": "辖区", "base": "基础网格", "micro": "微网格"}
    code = {r[0]: r[0].replace("S01", "01").replace("-B", "0").replace("-M", "") for r in rows}
    zh = [(code[r[0]], zh_level[r[1]], code.get(r[2]), r[3], r[4]) for r in rows]
    pyogrio.write_dataframe(
        frame(zh, columns=("编号", "层级", "上级编号", "名称")),
        HERE / "grid_zh.geojson",
        driver="GeoJSON",
        layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"},
    )

    # A bow-tie micro-grid: the ring of S01-B1-M001 crosses itself.
    x, y = X0, Y0
    bow = shapely.Polygon([(x, y), (x + CELL, y + CELL), (x + CELL, y), (x, y + CELL)])
    bad = [r if r[0] != "S01-B1-M001" else (*r[:4], bow) for r in rows]
    path = HERE / "grid_bowtie.geojson"
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame(bad), path, driver="GeoJSON", layer_options={"WRITE_NAME": "NO"})

    # A GeoJSON file cut off in the middle, as after an interrupted download.
    text = (HERE / "grid_clean.geojson").read_text(encoding="utf-8")
    (HERE / "grid_broken.geojson").write_text(text[: len(text) // 2], encoding="utf-8")

    # Real boundaries: five Portland neighbourhoods as base grids, their union as the station.
    hoods = gpd.read_file(PORTLAND)
    hoods = hoods.set_index("NAME").loc[PORTLAND_BASES].reset_index()
    station = shapely.union_all(hoods.geometry.to_numpy())
    real = [("PDX", "station", None, "Portland West (demo station)", station)]
    real += [
        (f"PDX-B{i + 1}", "base", "PDX", str(label), geom)
        for i, (label, geom) in enumerate(zip(hoods["MAPLABEL"], hoods.geometry, strict=True))
    ]
    write_grid(frame(real), HERE / "grid_portland.geojson")


if __name__ == "__main__":
    main()
