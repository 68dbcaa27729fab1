import dataclasses
import json
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from shapely.geometry import box

from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._errors import ValidationError
from gridplan.geo.grid import load_grid
from gridplan.geo.validate import GridIssue
from gridplan.geo.validate import Repair
from gridplan.geo.validate import ValidationReport
from gridplan.geo.validate import changed_area_m2
from gridplan.geo.validate import fix_grid
from gridplan.geo.validate import validate_grid
from gridplan.station.config import config_from_mapping
from gridplan.station.config import default_config

DATA = Path(__file__).parents[1] / "data"
UTM = "EPSG:32651"  # UTM 51N, where the synthetic grids lie (near Shanghai)
X0, Y0 = 350_000.0, 3_450_000.0


def make_grid(nx=1, ny=2, cell=200.0, crs=UTM):
    """1 station, 5 base columns of nx x ny square micro-grids (metres, exact areas)."""
    width = nx * cell
    rows = [("S01", "station", None, box(X0, Y0, X0 + 5 * width, Y0 + ny * cell))]
    for b in range(5):
        x = X0 + b * width
        rows.append((f"S01-B{b + 1}", "base", "S01", box(x, Y0, x + width, Y0 + ny * cell)))
    for b in range(5):
        x = X0 + b * width
        k = 0
        for ix in range(nx):
            for iy in range(ny):
                k += 1
                cell_box = box(
                    x + ix * cell, Y0 + iy * cell, x + (ix + 1) * cell, Y0 + (iy + 1) * cell
                )
                rows.append((f"S01-B{b + 1}-M{k:03d}", "micro", f"S01-B{b + 1}", cell_box))
    return gpd.GeoDataFrame(
        {
            "id": pd.Series([r[0] for r in rows], dtype=object),
            "level": pd.Series([r[1] for r in rows], dtype=object),
            "parent_id": pd.Series([r[2] for r in rows], dtype=object),
            "name": pd.Series([r[0] for r in rows], dtype=object),
        },
        geometry=[r[3] for r in rows],
        crs=crs,
    )


def with_geom(gdf, fid, geom):
    out = gdf.copy()
    geoms = out.geometry.to_numpy().copy()
    geoms[(out["id"] == fid).to_numpy()] = geom
    out["geometry"] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    return out


def geom_of(gdf, fid):
    return gdf.loc[gdf["id"] == fid, "geometry"].iloc[0]


def grow(gdf, fid, *, right=0.0, left=0.0, top=0.0, bottom=0.0):
    minx, miny, maxx, maxy = geom_of(gdf, fid).bounds
    return with_geom(gdf, fid, box(minx - left, miny - bottom, maxx + right, maxy + top))


def codes(report):
    return {(i.code, i.feature_id, i.severity) for i in report.issues}


# -- a clean grid --------------------------------------------------------------------------


def test_clean_grid_passes_with_no_issues():
    report = validate_grid(make_grid())
    assert report.ok
    assert report.issues == ()
    assert report.summary() == {
        "ok": True,
        "errors": 0,
        "warnings": 0,
        "codes": {},
        "features": {"station": 1, "base": 5, "micro": 10},
    }
    assert report.to_text() == "OK: no problems found"


def test_clean_lonlat_fixture_passes():
    # Long lon/lat edges bend in UTM; that curvature must not show up as slivers.
    assert validate_grid(load_grid(DATA / "grid_clean.geojson")).issues == ()


def test_input_frame_is_not_modified():
    grid = _bowtie(grow(make_grid(), "S01-B3-M001", top=0.1))
    before = grid.copy()
    validate_grid(grid)
    _, repairs = fix_grid(grid)
    assert len(repairs) == 2
    assert_geodataframe_equal(grid, before)


# -- each check on a minimal bad grid ------------------------------------------------------


def _bowtie(gdf):
    minx, miny, maxx, maxy = geom_of(gdf, "S01-B1-M001").bounds
    ring = [(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)]
    return with_geom(gdf, "S01-B1-M001", shapely.Polygon(ring))


def _duplicate(gdf):
    out = gdf.copy()
    out.loc[out["id"] == "S01-B1-M002", "id"] = "S01-B1-M001"
    return out


def _orphan(gdf):
    out = gdf.copy()
    out.loc[out["id"] == "S01-B2-M001", "parent_id"] = "S01-B9"
    return out


def _wrong_parent_level(gdf):
    out = gdf.copy()
    out.loc[out["id"] == "S01-B2-M001", "parent_id"] = "S01-B2-M002"
    return out


def _no_parent(gdf):
    out = gdf.copy()
    out.loc[out["id"] == "S01-B3", "parent_id"] = None
    return out


def _drop(gdf, prefix):
    return gdf[~gdf["id"].str.startswith(prefix)].reset_index(drop=True)


def _second_station(gdf):
    extra = gdf.iloc[[0]].copy()
    extra["id"] = "S02"
    return pd.concat([gdf, extra], ignore_index=True)


def _unknown_level(gdf):
    out = gdf.copy()
    out.loc[out["id"] == "S01-B5-M002", "level"] = "cell-ish"
    return out


def _line(gdf):
    return with_geom(gdf, "S01-B4-M001", geom_of(gdf, "S01-B4-M001").exterior)


CASES = {
    # name: (make bad grid, code, feature id, severity)
    "bow-tie": (_bowtie, "invalid_geometry", "S01-B1-M001", "error"),
    "empty": (
        lambda g: with_geom(g, "S01-B2-M002", None),
        "empty_geometry",
        "S01-B2-M002",
        "error",
    ),
    "zero area": (
        lambda g: with_geom(
            g, "S01-B2-M002", shapely.Polygon([(X0, Y0), (X0 + 1, Y0), (X0 + 2, Y0)])
        ),
        "empty_geometry",
        "S01-B2-M002",
        "error",
    ),
    "not a polygon": (_line, "not_polygon", "S01-B4-M001", "error"),
    "duplicate id": (_duplicate, "duplicate_id", "S01-B1-M001", "error"),
    "orphan parent": (_orphan, "orphan_parent", "S01-B2-M001", "error"),
    "parent of wrong level": (_wrong_parent_level, "orphan_parent", "S01-B2-M001", "error"),
    "base without parent": (_no_parent, "orphan_parent", "S01-B3", "error"),
    "micro crosses its base": (
        lambda g: grow(g, "S01-B2-M001", right=50),
        "outside_parent",
        "S01-B2-M001",
        "error",
    ),
    "base outside station": (
        lambda g: grow(g, "S01-B1", left=40),
        "outside_parent",
        "S01-B1",
        "error",
    ),
    "sliver overhang": (
        lambda g: grow(g, "S01-B3-M001", bottom=0.5),
        "sliver_outside",
        "S01-B3-M001",
        "warning",
    ),
    "overlap": (lambda g: grow(g, "S01-B1-M001", top=20), "overlap", "S01-B1-M001", "error"),
    "sliver overlap": (
        lambda g: grow(g, "S01-B1-M001", top=0.1),
        "sliver_overlap",
        "S01-B1-M001",
        "warning",
    ),
    "base overlap": (lambda g: grow(g, "S01-B2", right=30), "overlap", "S01-B2", "error"),
    "gap in base": (lambda g: grow(g, "S01-B4-M002", top=-50), "gap", "S01-B4", "error"),
    "gap in station": (lambda g: grow(g, "S01-B5", right=-30), "gap", "S01", "error"),
    "sliver gap": (lambda g: grow(g, "S01-B4-M002", top=-0.5), "sliver_gap", "S01-B4", "warning"),
    "four base grids": (lambda g: _drop(g, "S01-B5"), "base_count", "S01", "error"),
    "no station": (lambda g: g[g["level"] != "station"], "no_station", None, "error"),
    "two stations": (_second_station, "multiple_stations", "S02", "error"),
    "unknown level": (_unknown_level, "unknown_level", "S01-B5-M002", "error"),
    "missing id": (
        lambda g: g.assign(id=g["id"].where(g["id"] != "S01-B5-M002", None)),
        "missing_id",
        None,
        "error",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_check_triggers_with_code_and_feature(case):
    make_bad, code, fid, severity = CASES[case]
    report = validate_grid(make_bad(make_grid()))
    assert (code, fid, severity) in codes(report), report.to_text()
    assert report.ok is (severity == "warning"), report.to_text()


def test_bowtie_reason_names_the_self_intersection():
    report = validate_grid(_bowtie(make_grid()))
    (issue,) = report.by_code("invalid_geometry")
    assert "Self-intersection[" in issue.message
    assert "--fix" in issue.fix


def test_overlap_message_has_area_and_shares():
    report = validate_grid(grow(make_grid(), "S01-B1-M001", top=20))
    (issue,) = report.by_code("overlap")
    assert issue.other_id == "S01-B1-M002"
    assert issue.area_m2 == pytest.approx(200 * 20)
    assert "4,000.0 m2" in issue.message
    assert "(9.09% of S01-B1-M001, 10.0% of S01-B1-M002)" in issue.message


def test_micro_crossing_base_boundary_reports_share_and_place():
    report = validate_grid(grow(make_grid(), "S01-B2-M001", right=50))
    (issue,) = report.by_code("outside_parent")
    assert issue.other_id == "S01-B2"
    assert "10,000.0 m2 (20.0% of its area) outside its base grid S01-B2" in issue.message
    assert " near 1" in issue.message  # lon/lat of the overhang
    overlap = report.by_code("overlap")
    assert {(i.feature_id, i.other_id) for i in overlap} == {("S01-B2-M001", "S01-B3-M001")}


def test_gap_reports_uncovered_share():
    report = validate_grid(grow(make_grid(), "S01-B4-M002", top=-50))
    (issue,) = report.by_code("gap")
    assert "10,000.0 m2 (12.5% of its area) is not covered by its micro-grids" in issue.message


def test_duplicate_id_names_the_rows():
    (issue,) = validate_grid(_duplicate(make_grid())).by_code("duplicate_id")
    assert "used by 2 features (rows 7, 8)" in issue.message


def test_wrong_parent_level_is_explained():
    (issue,) = validate_grid(_wrong_parent_level(make_grid())).by_code("orphan_parent")
    assert "which is a micro-grid, not a base grid" in issue.message


def test_base_count_follows_the_config():
    grid = make_grid()
    cfg = config_from_mapping({"grid": {"base_count": 4}}, source="test.toml")
    (issue,) = validate_grid(grid, config=cfg).issues
    assert (issue.code, issue.feature_id) == ("base_count", "S01")
    assert "has 5 base grid(s); the 1+5+N rule of this station expects 4" in issue.message
    assert validate_grid(_drop(grid, "S01-B5"), config=cfg).by_code("base_count") == ()


def test_sliver_threshold_follows_the_config():
    bad = grow(make_grid(), "S01-B1-M001", top=0.1)  # 20 m2 overlap
    assert validate_grid(bad).by_code("sliver_overlap")
    strict = config_from_mapping({"grid": {"sliver_area_m2": 10.0}}, source="test.toml")
    assert validate_grid(bad, config=strict).by_code("overlap")


def test_every_problem_is_reported_at_once():
    grid = make_grid()
    grid = _bowtie(grid)
    grid = _orphan(grid)
    grid = grow(grid, "S01-B3-M001", top=20)
    grid = grow(grid, "S01-B4-M002", top=-0.5)
    grid = _drop(grid, "S01-B5")
    report = validate_grid(grid)
    found = {i.code for i in report.issues}
    assert {"invalid_geometry", "orphan_parent", "overlap", "sliver_gap", "base_count"} <= found


def test_no_micro_grids_is_a_warning_not_a_gap():
    grid = make_grid()
    report = validate_grid(grid[grid["level"] != "micro"])
    assert report.ok
    assert [i.code for i in report.issues] == ["no_micro"]


def test_base_without_micro_grids_is_a_gap():
    report = validate_grid(_drop(make_grid(), "S01-B2-M"))
    (issue,) = report.by_code("gap")
    assert issue.feature_id == "S01-B2"
    assert "has no micro-grids" in issue.message


def test_metric_crs_from_config_is_used():
    grid = make_grid().to_crs("EPSG:4326")
    cfg = config_from_mapping({"crs": {"metric": "EPSG:32651"}}, source="test.toml")
    report = validate_grid(grow(make_grid(), "S01-B1-M001", top=20).to_crs(4326), config=cfg)
    assert report.by_code("overlap")[0].area_m2 == pytest.approx(4000, rel=1e-6)
    assert validate_grid(grid, config=cfg).ok


def test_missing_columns_and_crs_raise():
    grid = make_grid()
    with pytest.raises(InputError, match="lacks column"):
        validate_grid(grid.drop(columns="parent_id"))
    with pytest.raises(CRSError, match="no coordinate reference system"):
        validate_grid(grid.set_crs(None, allow_override=True))


# -- the report objects ----------------------------------------------------------------------


def test_report_text_groups_errors_before_warnings():
    grid = grow(make_grid(), "S01-B1-M001", top=0.1)  # warning first in check order
    grid = grow(grid, "S01-B4-M002", top=-50)  # then an error
    report = validate_grid(grid)
    lines = report.to_text().splitlines()
    assert len(lines) == len(report.issues) == 2
    assert lines[0].startswith("ERROR   gap")
    assert lines[1].startswith("WARNING sliver_overlap")
    assert "Fix: " in lines[0]
    assert str(report) == report.to_text()


def test_report_records_are_json():
    report = validate_grid(_bowtie(make_grid()))
    records = json.loads(json.dumps(report.to_records()))
    assert records[0]["code"] == "invalid_geometry"
    assert set(records[0]) == {f.name for f in dataclasses.fields(GridIssue)}
    assert json.loads(json.dumps(report.summary()))["codes"] == {"invalid_geometry": 1, "gap": 1}


def test_raise_for_errors_carries_the_report():
    report = validate_grid(_duplicate(make_grid()))
    with pytest.raises(ValidationError, match="duplicate_id") as info:
        report.raise_for_errors()
    assert info.value.report is report
    validate_grid(make_grid()).raise_for_errors()  # no error: nothing raised


def test_issue_and_report_are_frozen():
    issue = GridIssue("error", "gap", "S01", "m", "f")
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.code = "x"
    with pytest.raises(ValueError, match="severity"):
        GridIssue("fatal", "gap", "S01", "m", "f")
    assert ValidationReport().ok


# -- fix_grid --------------------------------------------------------------------------------


def test_fix_repairs_the_bowtie():
    grid = load_grid(DATA / "grid_bowtie.geojson")
    fixed, repairs = fix_grid(grid)
    assert [(r.feature_id, r.action) for r in repairs] == [("S01-B1-M001", "make_valid")]
    assert "Self-intersection[" in repairs[0].detail
    assert fixed.crs == "EPSG:4326"
    assert len(fixed) == len(grid)
    assert fixed.is_valid.all()
    report = validate_grid(fixed)
    assert not report.by_code("invalid_geometry")
    # the bow-tie covers only half its cell: that gap is too large to repair
    assert [(i.code, i.feature_id) for i in report.errors] == [("gap", "S01-B1")]
    assert not grid.is_valid.all()  # input unchanged


def test_fix_clips_a_sliver_overlap_from_the_smaller_share():
    grid = make_grid()
    # M001 grows 0.1 m into M002; M002 is made smaller so the sliver is a larger share of it.
    grid = grow(grid, "S01-B1-M001", top=0.1)
    grid = grow(grid, "S01-B1-M002", top=-100)
    fixed, repairs = fix_grid(grid)
    clip = [r for r in repairs if r.action == "clip_overlap"]
    assert [r.feature_id for r in clip] == ["S01-B1-M001"]
    assert "shared with S01-B1-M002" in clip[0].detail
    assert not validate_grid(fixed).by_code("sliver_overlap")
    metric = fixed.to_crs(UTM)
    assert geom_of(metric, "S01-B1-M001").area == pytest.approx(200 * 200, abs=0.5)


def test_fix_clips_sliver_overhang_and_fills_sliver_gap():
    grid = grow(make_grid(), "S01-B3-M001", bottom=0.5)
    grid = grow(grid, "S01-B4-M002", top=-0.5)
    assert {i.code for i in validate_grid(grid).warnings} == {"sliver_outside", "sliver_gap"}
    fixed, repairs = fix_grid(grid)
    assert {(r.feature_id, r.action) for r in repairs} == {
        ("S01-B3-M001", "clip_to_parent"),
        ("S01-B4-M002", "fill_gap"),
    }
    assert validate_grid(fixed).issues == ()
    # features that needed no repair keep their exact coordinates
    untouched = make_grid().to_crs("EPSG:4326")
    for fid in ("S01", "S01-B1", "S01-B4-M001"):
        assert geom_of(fixed, fid).equals_exact(geom_of(untouched, fid), tolerance=0)


def test_changed_area_per_repaired_feature():
    # 0.5 m x 200 m overhang clipped (100 m2), 0.5 m x 200 m gap filled by M002 (100 m2)
    grid = grow(make_grid(), "S01-B3-M001", bottom=0.5)
    grid = grow(grid, "S01-B4-M002", top=-0.5)
    fixed, _ = fix_grid(grid)
    areas = changed_area_m2(grid, fixed)
    assert set(areas) == {"S01-B3-M001", "S01-B4-M002"}
    assert areas["S01-B3-M001"] == pytest.approx(100, abs=0.5)
    assert areas["S01-B4-M002"] == pytest.approx(100, abs=0.5)
    assert changed_area_m2(grid, grid) == {}
    with pytest.raises(InputError, match="pass a grid and the result of fix_grid"):
        changed_area_m2(grid, fixed.iloc[:3])


def test_fix_gives_a_gap_to_the_longest_shared_boundary():
    grid = make_grid()
    # a 2 m x 40 m notch in M001's top edge: M001 borders it on 44 m, M002 on 40 m
    notch = box(X0 + 80, Y0 + 198, X0 + 120, Y0 + 200)
    grid = with_geom(grid, "S01-B1-M001", geom_of(grid, "S01-B1-M001").difference(notch))
    fixed, repairs = fix_grid(grid)
    assert [(r.feature_id, r.action) for r in repairs] == [("S01-B1-M001", "fill_gap")]
    assert "80.0 m2 gap" in repairs[0].detail
    assert validate_grid(fixed).issues == ()

    # base S01-B1 as 2 x 2 cells (M001, M002 | M003, M004); M002 gives up a 0.4 m strip on its
    # right (200 m long), M004 a 0.4 m strip on the lower half of its left (100 m): the joint
    # gap borders M002 on 200 m and M004 on 200.4 m, so M004 takes it.
    grid = make_grid(nx=2, ny=2)
    m2, m4 = geom_of(grid, "S01-B1-M002"), geom_of(grid, "S01-B1-M004")
    grid = with_geom(
        grid, "S01-B1-M002", m2.difference(box(X0 + 199.6, Y0 + 200, X0 + 200, Y0 + 400))
    )
    grid = with_geom(
        grid, "S01-B1-M004", m4.difference(box(X0 + 200, Y0 + 200, X0 + 200.4, Y0 + 300))
    )
    _, repairs = fix_grid(grid)
    assert [(r.feature_id, r.action) for r in repairs] == [("S01-B1-M004", "fill_gap")]


def test_fix_leaves_large_problems_reported():
    grid = grow(make_grid(), "S01-B1-M001", top=20)  # 4000 m2 overlap
    grid = grow(grid, "S01-B4-M002", top=-50)  # 12.5% gap
    fixed, repairs = fix_grid(grid)
    assert repairs == ()
    assert {i.code for i in validate_grid(fixed).errors} == {"overlap", "gap"}
    assert len(fixed) == len(grid)


def test_fix_of_a_clean_grid_changes_nothing():
    grid = load_grid(DATA / "grid_clean.geojson")
    fixed, repairs = fix_grid(grid)
    assert repairs == ()
    assert_geodataframe_equal(fixed, grid)


def test_repair_is_printable_and_serialisable():
    repair = Repair("S01-B1", "fill_gap", "took 3.0 m2")
    assert repair.to_text().startswith("fill_gap")
    assert json.dumps(repair.to_record())


# -- invariants and scale ---------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nx=st.integers(1, 3),
    ny=st.integers(2, 4),
    cell=st.floats(50, 400),
    pick=st.integers(0, 10_000),
    depth=st.floats(0.0, 0.9),
    direction=st.sampled_from([(1, 0), (-1, 0), (0, 1), (0, -1)]),
)
def test_validation_never_passes_an_overlap(nx, ny, cell, pick, depth, direction):
    grid = make_grid(nx=nx, ny=ny, cell=cell)
    station = geom_of(grid, "S01")
    micros = grid[grid["level"] == "micro"]
    victim = micros.iloc[pick % len(micros)]
    centre = victim.geometry.centroid
    dx, dy = direction
    if not station.contains(shapely.Point(centre.x + dx * cell, centre.y + dy * cell)):
        dx, dy = -dx, -dy  # at the edge of the station: push the other way
    probe = shapely.Point(centre.x + dx * cell, centre.y + dy * cell)
    other = micros[micros.contains(probe)]["id"].iloc[0]
    # push one edge into the neighbour so the overlap is above the sliver threshold
    config = default_config()
    reach = max(depth * cell, 1.01 * config.sliver_area_m2 / cell)
    minx, miny, maxx, maxy = victim.geometry.bounds
    moved = box(
        minx - reach * (dx < 0),
        miny - reach * (dy < 0),
        maxx + reach * (dx > 0),
        maxy + reach * (dy > 0),
    )
    report = validate_grid(with_geom(grid, victim["id"], moved), config=config)
    assert not report.ok
    pairs = [{i.feature_id, i.other_id} for i in report.by_code("overlap")]
    assert {victim["id"], other} in pairs


def test_validates_ten_thousand_cells_in_seconds():
    grid = make_grid(nx=40, ny=50).to_crs("EPSG:4326")  # 5 bases x 2000 micro-grids
    grid = grow(grid.to_crs(UTM), "S01-B3-M100", right=0.2).to_crs("EPSG:4326")
    start = time.perf_counter()
    report = validate_grid(grid)
    elapsed = time.perf_counter() - start
    assert len(grid) == 10_006
    assert [(i.code, i.feature_id) for i in report.issues] == [("sliver_overlap", "S01-B3-M100")]
    assert elapsed < 15, f"validate_grid took {elapsed:.1f} s on 10,006 features"


# -- real boundaries: five Portland neighbourhoods as base grids (tests/data/README.md) ------


@pytest.fixture(scope="module")
def portland():
    """Station PDX = union of 5 real neighbourhoods PDX-B1..B5 (Pearl, Old Town, Downtown, ...)."""
    return load_grid(DATA / "grid_portland.geojson")


def shifted(grid, fid, dx_m):
    metric = grid.to_crs("EPSG:26910")
    moved = shapely.affinity.translate(geom_of(metric, fid), dx_m, 0)
    return with_geom(metric, fid, moved).to_crs("EPSG:4326")


def test_real_neighbourhoods_form_a_valid_one_plus_five(portland):
    report = validate_grid(portland)
    assert report.ok
    assert [i.code for i in report.issues] == ["no_micro"]


def test_real_missing_neighbourhood_is_a_station_gap(portland):
    pearl_m2 = geom_of(portland.to_crs("EPSG:26910"), "PDX-B1").area
    report = validate_grid(portland[portland["id"] != "PDX-B1"])
    assert {(i.code, i.feature_id) for i in report.errors} == {
        ("base_count", "PDX"),
        ("gap", "PDX"),
    }
    (gap,) = report.by_code("gap")
    assert gap.area_m2 == pytest.approx(pearl_m2, rel=1e-3)
    assert "12.2% of its area" in gap.message


def test_real_boundary_moved_five_metres(portland):
    # Downtown moved 5 m east: it overlaps Old Town, overhangs the station and leaves a sliver
    # gap along Goose Hollow.
    report = validate_grid(shifted(portland, "PDX-B3", 5.0))
    assert not report.ok
    assert {(i.feature_id, i.other_id) for i in report.by_code("overlap")} == {("PDX-B2", "PDX-B3")}
    assert [i.feature_id for i in report.by_code("sliver_outside")] == ["PDX-B3"]
    assert [i.feature_id for i in report.by_code("sliver_gap")] == ["PDX"]


def test_real_digitising_noise_is_fixed(portland):
    noisy = shifted(portland, "PDX-B3", 0.02)  # a 2 cm shift: a sliver overlap with Old Town
    warnings = [(i.code, i.feature_id, i.other_id) for i in validate_grid(noisy).warnings]
    assert warnings == [("sliver_overlap", "PDX-B2", "PDX-B3"), ("no_micro", None, None)]
    fixed, repairs = fix_grid(noisy)
    assert [(r.feature_id, r.action) for r in repairs] == [("PDX-B3", "clip_overlap")]
    assert [i.code for i in validate_grid(fixed).issues] == ["no_micro"]


def test_grid_without_any_geometry_is_reported_not_crashed():
    grid = make_grid().to_crs("EPSG:4326")
    grid["geometry"] = None
    report = validate_grid(grid)
    assert {i.code for i in report.errors} == {"empty_geometry"}
    assert len(report.errors) == 16


def test_progress_is_reported():
    calls = []
    validate_grid(make_grid(), progress=lambda *a: calls.append(a))
    fix_grid(make_grid(), progress=lambda *a: calls.append(a))
    assert calls[0] == ("validate: geometry", 0, 7)
    assert ("validate", 7, 7) in calls
    assert calls[-1] == ("fix", 4, 4)
