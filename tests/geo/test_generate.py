"""Tests of the 1+5+N grid generator on tiny inline jurisdictions (UTM 50N metres)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gridplan import CRSError
from gridplan import InputError
from gridplan.geo._blocks import block_pieces
from gridplan.geo.generate import SLIVER_SHARE
from gridplan.geo.generate import balance_table
from gridplan.geo.generate import generate_grid
from gridplan.geo.grid import load_grid
from gridplan.geo.validate import validate_grid

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0
DEMO_GRID = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "grid.geojson"
CODE = re.compile(r"^S01(-B[1-5](-M\d{3})?)?$")


def shifted(geom, dx=X0, dy=Y0):
    return shapely.transform(geom, lambda c: c + np.array([dx, dy]))


# Off the 200 m lattice by 50/30 m, so clipping leaves thin strips that must be merged.
RECT = shifted(shapely.box(50, 30, 1050, 830))
L_SHAPE = shifted(
    shapely.Polygon([(0, 0), (1200, 0), (1200, 500), (500, 500), (500, 1000), (0, 1000)])
)
HOLE = shifted(shapely.box(0, 0, 1200, 1000).difference(shapely.box(450, 350, 750, 650)))
# a 40 m river cuts the station into a west and an east bank
RIVER = shifted(shapely.box(0, 0, 1240, 1000).difference(shapely.box(600, -10, 640, 1010)))
BOUNDARIES = {"rect": RECT, "L": L_SHAPE, "hole": HOLE, "river": RIVER}


def metric(grid):
    return grid.to_crs(CRS)


def check_grid(grid, boundary, *, cell_size_m=200.0):
    """The invariants every generated grid must satisfy."""
    assert list(grid.columns) == ["id", "level", "parent_id", "name", "geometry"]
    assert grid.crs.to_epsg() == 4326
    assert grid.level.tolist() == ["station"] + ["base"] * 5 + ["micro"] * (len(grid) - 6)
    assert all(CODE.match(i) for i in grid.id), grid.id.tolist()
    assert grid.id.is_unique
    g = metric(grid)
    micros = g[g.level == "micro"]
    bases = g[g.level == "base"]
    # every micro inside the boundary, and together they cover it exactly
    assert micros.geometry.covered_by(boundary.buffer(0.01)).all()
    union = shapely.union_all(micros.geometry.values)
    assert union.area == pytest.approx(boundary.area, rel=1e-3)
    assert union.symmetric_difference(boundary).area < 1e-3 * boundary.area
    # no overlaps: the areas add up to the area of the union
    assert micros.area.sum() == pytest.approx(union.area, rel=1e-6)
    # slivers merged
    assert micros.area.min() >= SLIVER_SHARE * cell_size_m**2 * (1 - 1e-6)
    # micros nest in their base, bases in the station
    for base_id, base_geom in zip(bases.id, bases.geometry, strict=True):
        kids = micros[micros.parent_id == base_id]
        assert len(kids) > 0
        assert shapely.union_all(kids.geometry.values).symmetric_difference(base_geom).area < 1
        assert all(k.startswith(base_id + "-M") for k in kids.id)
    assert (bases.parent_id == "S01").all()
    assert grid.parent_id.iloc[0] is None
    assert validate_grid(grid).ok


@pytest.mark.parametrize("shape", ["square", "hex"])
@pytest.mark.parametrize("name", ["rect", "L", "hole"])
def test_grid_covers_nests_and_has_five_contiguous_bases(name, shape):
    boundary = BOUNDARIES[name]
    grid = generate_grid(boundary, crs=CRS, shape=shape)
    check_grid(grid, boundary)
    bases = metric(grid)[lambda d: d.level == "base"]
    assert (bases.geom_type == "Polygon").all(), "each base grid must be one connected polygon"


def test_river_splits_bases_between_banks_without_crossing():
    grid = generate_grid(RIVER, crs=CRS)
    check_grid(grid, RIVER)
    bases = metric(grid)[lambda d: d.level == "base"]
    # the banks are equal, so neither bank is tied to the other: every base stays on one bank
    assert (bases.geom_type == "Polygon").all()
    west = shifted(shapely.box(0, 0, 600, 1000))
    on_west = bases.geometry.intersection(west).area / bases.area
    assert set(np.round(on_west, 6)) <= {0.0, 1.0}


def test_small_island_joins_the_nearest_base():
    # a 30 x 30 m islet 100 m off the main body is too small to be anything on its own
    islet = shifted(shapely.box(1100, 300, 1130, 330))
    boundary = shapely.union_all([shifted(shapely.box(0, 0, 1000, 800)), islet])
    grid = generate_grid(boundary, crs=CRS)
    g = metric(grid)
    micros = g[g.level == "micro"]
    assert micros.area.min() >= SLIVER_SHARE * 200**2
    holder = micros[micros.intersects(islet.buffer(-1))]
    assert len(holder) == 1
    assert holder.geom_type.iloc[0] == "MultiPolygon"
    assert shapely.union_all(micros.geometry.values).area == pytest.approx(boundary.area)


def test_square_cells_on_lattice_and_hex_cells_equal_area():
    box = shifted(shapely.box(0, 0, 1000, 800))
    square = metric(generate_grid(box, crs=CRS, cell_size_m=100))
    micro = square[square.level == "micro"]
    assert len(micro) == 80
    np.testing.assert_allclose(micro.area, 100 * 100)
    hexes = metric(generate_grid(box, crs=CRS, cell_size_m=100, shape="hex"))
    hex_micro = hexes[hexes.level == "micro"]
    full = hex_micro[hex_micro.within(box.buffer(-1))]  # not clipped by the boundary
    assert len(full) > 20
    np.testing.assert_allclose(full.area, 100 * 100, rtol=1e-5)  # 1 mm vertex snapping


def test_codes_stable_and_row_major():
    box = shifted(shapely.box(0, 0, 1000, 800))
    first = generate_grid(box, crs=CRS)
    second = generate_grid(box.normalize(), crs=CRS)
    assert_geodataframe_equal(first, second)
    g = metric(first)
    bases = g[g.level == "base"]
    diag = bases.centroid.x - bases.centroid.y
    assert diag.is_monotonic_increasing, "bases numbered north-west to south-east"
    for base_id in bases.id:
        kids = g[g.parent_id == base_id]
        rows = list(zip(-kids.centroid.y.round(3), kids.centroid.x.round(3), strict=True))
        assert rows == sorted(rows), f"micro-grids of {base_id} not in row-major order"
        assert kids.id.tolist() == [f"{base_id}-M{i:03d}" for i in range(1, len(kids) + 1)]
    assert first.name.iloc[:3].tolist() == ["社区警务室", "第1基础网格", "第2基础网格"]
    assert first.name.iloc[-1].startswith("微网格 B5-M")


def test_skewed_incidents_are_balanced_better_than_equal_strips():
    box = shifted(shapely.box(0, 0, 1000, 800))
    rng = np.random.default_rng(0)
    hot = rng.uniform([700, 500], [1000, 800], size=(400, 2))
    cold = rng.uniform([0, 0], [1000, 800], size=(100, 2))
    xy = np.vstack([hot, cold]) + np.array([X0, Y0])
    incidents = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)
    grid = generate_grid(box, crs=CRS, incidents=incidents.to_crs(4326))
    check_grid(grid, box)

    def workload(polys):
        counts = np.array([incidents.within(p).sum() for p in polys])
        return 0.5 * counts / counts.sum() + 0.5 * shapely.area(polys) / box.area

    strips = np.array([shifted(shapely.box(200 * i, 0, 200 * (i + 1), 800)) for i in range(5)])
    naive = workload(strips)
    bases = metric(grid)[lambda d: d.level == "base"].geometry.values
    ours = workload(bases)
    assert ours.max() / ours.min() < naive.max() / naive.min()
    assert ours.max() / ours.min() < 1.3
    balance = grid.attrs["balance"]
    assert balance["workload_basis"] == "0.5 incidents + 0.5 area"
    assert balance["max_min_ratio"] == pytest.approx(ours.max() / ours.min(), rel=0.05)
    table = balance_table(grid)
    assert table["workload"].sum() == pytest.approx(1.0)
    assert table["incidents"].sum() == len(incidents)


def test_weight_column_counts_instead_of_rows():
    box = shifted(shapely.box(0, 0, 1000, 800))
    pts = gpd.GeoDataFrame(
        {"weight": [3.0, 0.5]},
        geometry=[shapely.Point(X0 + 100, Y0 + 100), shapely.Point(X0 + 900, Y0 + 700)],
        crs=CRS,
    )
    grid = generate_grid(box, crs=CRS, incidents=pts)
    assert balance_table(grid)["incidents"].sum() == pytest.approx(3.5)


def test_street_blocks_group_into_micro_grids_and_footways_do_not_cut():
    lines = [shapely.LineString([(-50, y), (1050, y)]) for y in range(0, 801, 100)]
    lines += [shapely.LineString([(x, -50), (x, 850)]) for x in range(0, 1001, 100)]
    highway = ["residential"] * len(lines) + ["footway", "service"]
    lines += [shapely.LineString([(0, 0), (1000, 800)]), shapely.LineString([(0, 800), (1000, 0)])]
    streets = gpd.GeoDataFrame(
        {"highway": highway}, geometry=[shifted(g) for g in lines], crs=CRS
    ).to_crs(4326)
    box = shifted(shapely.box(0, 0, 1000, 800))
    blocks, _ = block_pieces(box, streets, gpd.GeoSeries([box], crs=CRS).crs, 200)
    assert len(blocks) == 80  # the diagonal footway and service road cut nothing
    grid = generate_grid(box, crs=CRS, streets=streets, shape="blocks")
    check_grid(grid, box)
    micros = metric(grid)[lambda d: d.level == "micro"]
    # micro-grids are unions of whole 100 m blocks of roughly a 200 m cell's area
    assert micros.area.min() >= 0.7 * 200**2 - 1
    assert micros.area.max() <= 3 * 200**2
    coords = shapely.get_coordinates(micros.geometry.values) - [X0, Y0]
    np.testing.assert_allclose(coords, np.round(coords / 100) * 100, atol=0.01)


def test_blocks_cover_area_outside_streets():
    # streets only cover the west half: the east half must still be covered
    lines = [shapely.LineString([(-10, y), (500, y)]) for y in range(0, 801, 100)]
    lines += [shapely.LineString([(x, -10), (x, 810)]) for x in range(0, 501, 100)]
    streets = gpd.GeoDataFrame(geometry=[shifted(g) for g in lines], crs=CRS)
    box = shifted(shapely.box(0, 0, 1000, 800))
    grid = generate_grid(box, crs=CRS, streets=streets, shape="blocks")
    check_grid(grid, box)


def test_geodataframe_boundary_is_dissolved_and_not_mutated():
    parts = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[shifted(shapely.box(0, 0, 500, 800)), shifted(shapely.box(500, 0, 1000, 800))],
        crs=CRS,
    ).to_crs(4326)
    before = parts.copy()
    progress = []
    grid = generate_grid(
        parts, station_id="S01", station_name="测试警务室", progress=lambda *a: progress.append(a)
    )
    assert_geodataframe_equal(parts, before)
    check_grid(grid, shifted(shapely.box(0, 0, 1000, 800)))
    assert grid.name.iloc[0] == "测试警务室"
    assert ("base grids", 1, 1) in progress


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shape": "triangle"}, InputError, "shape='triangle'"),
        ({"shape": "blocks"}, InputError, "needs a street layer"),
        ({"cell_size_m": 600}, InputError, "fewer than base_count=5"),
        ({"cell_size_m": -1}, InputError, "positive"),
    ],
)
def test_bad_options_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        generate_grid(shifted(shapely.box(0, 0, 1000, 800)), crs=CRS, **kwargs)


def test_bare_geometry_needs_crs_and_polygons_needed():
    with pytest.raises(CRSError, match="crs="):
        generate_grid(shapely.box(0, 0, 1, 1))
    with pytest.raises(InputError, match="no polygon"):
        generate_grid(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326))


def test_bundled_demo_grid_loads_and_validates():
    grid = load_grid(DEMO_GRID)
    assert validate_grid(grid).ok
    assert (grid.level == "base").sum() == 5
    assert (grid.level == "station").sum() == 1
    assert (grid.level == "micro").sum() > 100
    assert grid.id.iloc[0] == "S01"
