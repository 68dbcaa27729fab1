import dataclasses
import functools
import itertools
import operator
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan import InputError
from gridplan._validate import HOT_CLASSES
from gridplan._validate import HOTSPOT_CLASSES
from gridplan._validate import HOTSPOT_COLUMNS
from gridplan._validate import format_recent
from gridplan._validate import parse_recent
from gridplan.analysis._aggregate import locate_points
from gridplan.analysis.gistar import _gi_star_larger
from gridplan.analysis.gistar import gi_star
from gridplan.analysis.gistar import queen_adjacency
from gridplan.analysis.hotspots import compute_hotspots
from gridplan.analysis.hotspots import hotspot_summary
from gridplan.analysis.hotspots import hotspot_sums
from gridplan.analysis.hotspots import hotspots_from_sums
from gridplan.geo.grid import micro_grids
from gridplan.io.export import write_csv
from gridplan.io.export import write_geodata
from gridplan.io.results import read_hotspots
from gridplan.station.config import config_from_mapping
from gridplan.station.config import default_config
from gridplan.station.timeslices import assign_slices

# Cells are 1/512 degree (about 200 m) squares near Shanghai. A power-of-two step keeps every
# edge coordinate exact in binary floating point, so points generated "on an edge" really are.
STEP = 1 / 512
X0, Y0 = 121.25, 31.0
TZ = "Asia/Shanghai"


def make_grid(nx: int, ny: int, *, extra: list[shapely.Geometry] | None = None):
    """GRID frame: station, one base, nx*ny micro-grids numbered row by row from the south-west."""
    cells = [
        shapely.box(X0 + i * STEP, Y0 + j * STEP, X0 + (i + 1) * STEP, Y0 + (j + 1) * STEP)
        for j in range(ny)
        for i in range(nx)
    ]
    cells += extra or []
    station = shapely.union_all(cells)
    rows = [
        {"id": "S01", "level": "station", "parent_id": None, "name": "警务室", "geometry": station},
        {
            "id": "S01-B1",
            "level": "base",
            "parent_id": "S01",
            "name": "一网格",
            "geometry": station,
        },
    ]
    rows += [
        {
            "id": f"S01-B1-M{k + 1:03d}",
            "level": "micro",
            "parent_id": "S01-B1",
            "name": f"微网格{k + 1}",
            "geometry": g,
        }
        for k, g in enumerate(cells)
    ]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def make_incidents(xy, times, weights=None):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    times = pd.Series(pd.to_datetime(list(times))).dt.tz_localize(TZ)
    return gpd.GeoDataFrame(
        {
            "id": [f"I{k}" for k in range(n)],
            "time": times,
            "category": pd.array([None] * n, dtype="string"),
            "alert": pd.array([None] * n, dtype="string"),
            "weight": np.ones(n) if weights is None else np.asarray(weights, dtype=float),
            "in_station": np.ones(n, dtype=bool),
            "source_row": np.arange(2, n + 2),
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:4326",
    )


def centre(i: int, j: int) -> tuple[float, float]:
    return X0 + (i + 0.5) * STEP, Y0 + (j + 0.5) * STEP


def test_columns_crs_and_long_shape():
    grid = make_grid(3, 2)
    inc = make_incidents([centre(0, 0), centre(2, 1)], ["2019-05-01 08:00", "2019-05-01 23:00"])
    hot = compute_hotspots(grid, inc, permutations=0)
    assert tuple(hot.columns) == HOTSPOT_COLUMNS
    assert hot.crs.to_epsg() == 4326
    assert list(dict.fromkeys(hot["slice"])) == ["all", "morning", "day", "evening", "night"]
    assert len(hot) == 6 * 5
    assert hot["gi_p_sim"].isna().all()  # no permutations asked for
    assert set(hot["gi_class"]) <= set(HOTSPOT_CLASSES)
    m001 = hot[(hot["id"] == "S01-B1-M001") & (hot["slice"] == "morning")].iloc[0]
    assert (m001["count"], m001["parent_id"], m001["name"]) == (1, "S01-B1", "微网格1")
    # about 188 m x 222 m at this latitude
    assert 0.035 < m001["area_km2"] < 0.047
    assert m001["density_km2"] == pytest.approx(1 / m001["area_km2"])
    night = hot[hot["slice"] == "night"].set_index("id")
    assert night.loc["S01-B1-M006", "count"] == 1
    assert night.loc["S01-B1-M006", "share"] == 1.0
    assert night.loc["S01-B1-M006", "rank"] == 1


def test_score_is_weight_times_recency_decay_from_period_end():
    grid = make_grid(2, 1)
    cfg = config_from_mapping({"scoring": {"half_life_days": 100.0}})
    # Period ends 2019-12-31, so the reference is 2020-01-01 00:00 local time.
    inc = make_incidents(
        [centre(0, 0), centre(0, 0), centre(1, 0), centre(1, 0)],
        ["2019-12-31 12:00", "2019-09-23 00:00", "2019-06-15 00:00", "2018-06-01 00:00"],
        weights=[2.0, 4.0, 1.0, 1.0],
    )
    hot = compute_hotspots(grid, inc, config=cfg, period="2019", permutations=0)
    allday = hot[hot["slice"] == "all"].set_index("id")
    # 0.5 day old weight 2, and 100 days old weight 4 -> 2 * 0.5**0.005 + 4 * 0.5
    assert allday.loc["S01-B1-M001", "score"] == pytest.approx(2 * 0.5**0.005 + 2.0)
    # the 2018 incident is outside the period; 200 days before the reference: 0.25
    assert allday.loc["S01-B1-M002", "count"] == 1
    assert allday.loc["S01-B1-M002", "score"] == pytest.approx(0.25)
    assert allday["score_share"].sum() == pytest.approx(1.0)
    assert hot.attrs["reference_time"].startswith("2020-01-01T00:00:00")
    assert hot.attrs["incidents"] == 3


def test_rank_ties_broken_by_count_then_id():
    grid = make_grid(4, 1)
    t = "2019-01-01 12:00"
    # M002: one incident of weight 2; M003: two of weight 1 (same score, more incidents);
    # M001 and M004: none (tie on score and count, then by id).
    inc = make_incidents(
        [centre(1, 0), centre(2, 0), centre(2, 0)], [t, t, t], weights=[2.0, 1.0, 1.0]
    )
    hot = compute_hotspots(grid, inc, period="2019-01-01", permutations=0)
    ranks = hot[hot["slice"] == "all"].set_index("id")["rank"]
    assert ranks.to_dict() == {
        "S01-B1-M001": 3,
        "S01-B1-M002": 2,
        "S01-B1-M003": 1,
        "S01-B1-M004": 4,
    }


def test_point_on_shared_edge_goes_to_lowest_index_once():
    grid = make_grid(2, 2)
    corner = (X0 + STEP, Y0 + STEP)  # shared by all four cells
    edge = (X0 + STEP, Y0 + 0.5 * STEP)  # shared by M001 and M002
    top_edge = (X0 + 1.5 * STEP, Y0 + STEP)  # shared by M002 and M004
    outer = (X0 + 2 * STEP, Y0 + 2 * STEP)  # the station's outer corner, only M004
    outside = (X0 - STEP, Y0)
    inc = make_incidents([corner, edge, top_edge, outer, outside], ["2019-01-01 12:00"] * 5)
    hot = compute_hotspots(grid, inc, permutations=0)
    counts = hot[hot["slice"] == "all"].set_index("id")["count"].to_dict()
    assert counts == {"S01-B1-M001": 2, "S01-B1-M002": 1, "S01-B1-M003": 0, "S01-B1-M004": 1}
    assert hot.attrs["unassigned"] == 1


half_steps = st.integers(min_value=-2, max_value=8)  # 3x3 cells span half-steps 0..6


@st.composite
def incident_points(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    pts = []
    for _ in range(n):
        if draw(st.booleans()):  # on the half-step lattice: centres, edges and corners
            pts.append((X0 + draw(half_steps) * STEP / 2, Y0 + draw(half_steps) * STEP / 2))
        else:
            u = st.floats(min_value=-0.5, max_value=3.5, allow_nan=False)
            pts.append((X0 + draw(u) * STEP, Y0 + draw(u) * STEP))
    minutes = draw(st.lists(st.integers(0, 7 * 24 * 60 - 1), min_size=n, max_size=n))
    times = [pd.Timestamp("2019-03-04") + pd.Timedelta(minutes=m) for m in minutes]
    return pts, times


GRID_3x3 = make_grid(3, 3)
SPLIT = config_from_mapping({"time": {"split_weekend": True}})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incident_points())
def test_every_point_in_the_station_is_counted_exactly_once(sample):
    pts, times = sample
    inc = make_incidents(pts, times)
    hot = compute_hotspots(GRID_3x3, inc, config=SPLIT, permutations=0)
    station = GRID_3x3.geometry.iloc[0]
    inside = np.array([station.intersects(shapely.Point(p)) for p in pts], dtype=bool)
    by_slice = hot.groupby("slice", sort=False)["count"].sum()
    assert by_slice["all"] == inside.sum()
    assert hot.attrs["unassigned"] == len(pts) - inside.sum()
    members = assign_slices(inc["time"], SPLIT).to_numpy()
    for k, s in enumerate(SPLIT.slices):
        assert by_slice[s.id] == int((members[:, k] & inside).sum())
    # weekday and weekend versions partition the day: they add up to the whole-day total
    assert by_slice.drop("all").sum() == by_slice["all"]
    # each point individually: the cell it was counted in contains it
    allday = hot[hot["slice"] == "all"]
    assert (allday["count"] >= 0).all()


def test_locate_points_matches_a_brute_force_scan():
    grid = make_grid(3, 3)
    cells = grid[grid["level"] == "micro"].geometry.to_numpy()
    rng = np.random.default_rng(5)
    lattice = rng.integers(-1, 8, size=(200, 2)) * STEP / 2
    pts = shapely.points(X0 + lattice[:, 0], Y0 + lattice[:, 1])
    got = locate_points(cells, pts)
    want = []
    for p in pts:
        hits = [k for k, c in enumerate(cells) if c.intersects(p)]
        want.append(hits[0] if hits else -1)
    np.testing.assert_array_equal(got, want)


def lattice_incidents(values: np.ndarray, nx: int):
    """One incident per unit of ``values`` (row-major cells), at the cell centres."""
    xy, times = [], []
    for k, v in enumerate(values):
        j, i = divmod(k, nx)
        xy += [centre(i, j)] * int(v)
        times += ["2019-06-01 12:00"] * int(v)
    return make_incidents(xy, times)


@pytest.mark.parametrize("inference", ["normal", "permutation"])
def test_gi_star_finds_the_hot_cluster_and_the_cold_region(inference):
    nx = ny = 9
    rng = np.random.default_rng(0)
    values = rng.integers(8, 13, size=(ny, nx))
    values[6:9, 6:9] = 40  # hot 3x3 block in the north-east corner
    values[0:3, 0:3] = 0  # empty block in the south-west corner
    cfg = config_from_mapping({"hotspots": {"inference": inference, "permutations": 999}})
    hot = compute_hotspots(make_grid(nx, ny), lattice_incidents(values.ravel(), nx), config=cfg)
    allday = hot[hot["slice"] == "all"].set_index("id")
    hot_centre = f"S01-B1-M{7 * nx + 7 + 1:03d}"
    cold_centre = f"S01-B1-M{1 * nx + 1 + 1:03d}"
    # 999 permutations cannot give a pseudo p below 0.002, which FDR then scales up
    want = {"hot_99"} if inference == "normal" else {"hot_99", "hot_95"}
    assert allday.loc[hot_centre, "gi_class"] in want
    assert allday.loc[cold_centre, "gi_class"].startswith("cold")
    assert allday.loc[hot_centre, "gi_z"] > 3
    assert allday.loc[cold_centre, "gi_z"] < -2
    # the inference p is the one FDR-corrected
    p_used = allday["gi_p_sim" if inference == "permutation" else "gi_p"]
    assert (allday["gi_p_fdr"] >= p_used - 1e-12).all()
    # slices without incidents have nothing to test
    assert (hot[hot["slice"] == "night"]["gi_class"] == "not_significant").all()
    assert hot[hot["slice"] == "night"]["gi_z"].isna().all()


def test_permutation_kernel_matches_a_direct_computation():
    grid = make_grid(3, 3)
    adj = queen_adjacency(grid[grid["level"] == "micro"].geometry)
    n = adj.shape[0]
    y = np.random.default_rng(1).poisson(3, size=(n, 2)).astype(float)
    ids = np.array([[0, 3, 7, 1, 5, 2, 6, 4], [7, 6, 5, 4, 3, 2, 1, 0], [2, 4, 6, 0, 1, 3, 5, 7]])
    got = _gi_star_larger(y, adj.indptr.astype(np.int64), adj.indices.astype(np.int64), ids)
    want = np.zeros((n, 2), dtype=np.int64)
    dense = adj.toarray()
    for i in range(n):
        nbrs = np.flatnonzero(dense[i])
        others = np.delete(np.arange(n), i)
        observed = y[i] + y[nbrs].sum(axis=0)
        for r in range(len(ids)):
            rand = others[ids[r, : len(nbrs)]]
            want[i] += (y[i] + y[rand].sum(axis=0)) >= observed
    np.testing.assert_array_equal(got, want)


def test_gi_star_z_matches_the_textbook_formula():
    grid = make_grid(4, 4)
    adj = queen_adjacency(grid[grid["level"] == "micro"].geometry)
    y = np.arange(16, dtype=float) ** 1.5
    z, p, _ = gi_star(y, adj, permutations=0, seed=1)
    w = adj.toarray() + np.eye(16)  # Gi*: the cell is its own neighbour
    n, xbar = 16, y.mean()
    s = np.sqrt((y**2).mean() - xbar**2)
    wi = w.sum(axis=1)
    num = w @ y - xbar * wi
    den = s * np.sqrt((n * (w**2).sum(axis=1) - wi**2) / (n - 1))
    np.testing.assert_allclose(z, num / den)
    assert np.all((p > 0) & (p <= 1))


def test_island_micro_grid_is_not_significant_and_quiet():
    island = shapely.box(X0 + 10 * STEP, Y0, X0 + 11 * STEP, Y0 + STEP)
    grid = make_grid(3, 3, extra=[island])
    values = np.array([5, 5, 5, 5, 30, 5, 5, 5, 5, 50])
    xy, times = [], []
    for k, v in enumerate(values):
        pt = centre(*divmod(k, 3)[::-1]) if k < 9 else (X0 + 10.5 * STEP, Y0 + 0.5 * STEP)
        xy += [pt] * int(v)
        times += ["2019-06-01 12:00"] * int(v)
    gistar = config_from_mapping({"hotspots": {"classes": "gistar"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hot = compute_hotspots(grid, make_incidents(xy, times), config=gistar, permutations=99)
        # the shipped "auto": 10 micro-grids are a small station, classed by the excess test
        auto = compute_hotspots(grid, make_incidents(xy, times), permutations=99)
    row = hot[(hot["slice"] == "all") & (hot["id"] == "S01-B1-M010")].iloc[0]
    assert row["count"] == 50
    assert np.isnan(row["gi_z"]) and np.isnan(row["gi_p"]) and np.isnan(row["gi_p_sim"])
    assert row["gi_class"] == "not_significant"
    assert hot[hot["slice"] == "all"]["gi_z"].notna().sum() == 9
    # the excess test needs no neighbours: 50 of 90 incidents in a tenth of the area is hot
    island_auto = auto[(auto["slice"] == "all") & (auto["id"] == "S01-B1-M010")].iloc[0]
    assert auto.attrs["hot_classes"] == "excess" and island_auto["gi_class"] == "above_99"


def test_fdr_off_leaves_gi_p_fdr_empty():
    cfg = config_from_mapping({"hotspots": {"fdr": False}})
    values = np.r_[np.full(20, 3), np.full(5, 30)]
    hot = compute_hotspots(
        make_grid(5, 5), lattice_incidents(values, 5), config=cfg, permutations=0
    )
    assert hot["gi_p_fdr"].isna().all()
    assert (hot[hot["slice"] == "all"]["gi_class"] != "not_significant").any()


def test_summary_per_slice():
    values = np.r_[np.zeros(8), [12]]
    hot = compute_hotspots(make_grid(3, 3), lattice_incidents(values, 3), permutations=0)
    summary = hotspot_summary(hot).set_index("slice")
    assert summary.loc["all", "incidents"] == 12
    assert summary.loc["day", "incidents"] == 12
    assert summary.loc["night", "incidents"] == 0
    assert summary.loc["all", "top_id"] == "S01-B1-M009"
    assert summary.loc["all", "active_cells"] == 1
    assert summary.loc["all", "top5pct_share"] == 1.0
    with pytest.raises(InputError, match="lacks columns"):
        hotspot_summary(hot.drop(columns="rank"))


def test_incidents_in_another_crs_are_reprojected():
    grid = make_grid(2, 1)
    inc = make_incidents([centre(1, 0)], ["2019-06-01 12:00"]).to_crs(32651)
    hot = compute_hotspots(grid, inc, permutations=0)
    assert hot[(hot["slice"] == "all") & (hot["id"] == "S01-B1-M002")]["count"].item() == 1


def test_timings_are_reported_per_stage():
    hot = compute_hotspots(
        make_grid(2, 2), make_incidents([centre(0, 0)], ["2019-06-01 12:00"]), permutations=0
    )
    assert {"join", "aggregate", "weights", "gi", "total"} <= set(hot.attrs["timings"])


def test_inputs_are_not_mutated():
    grid = make_grid(2, 2)
    inc = make_incidents([centre(0, 0)], ["2019-06-01 12:00"])
    before = (grid.copy(), inc.copy())
    compute_hotspots(grid, inc, permutations=0)
    pd.testing.assert_frame_equal(grid, before[0])
    pd.testing.assert_frame_equal(inc, before[1])


def test_errors_name_the_problem():
    grid = make_grid(2, 2)
    inc = make_incidents([centre(0, 0)], ["2019-06-01 12:00"])
    with pytest.raises(InputError, match="no micro-grids"):
        compute_hotspots(grid[grid["level"] != "micro"], inc)
    perm = config_from_mapping({"hotspots": {"inference": "permutation"}})
    with pytest.raises(InputError, match="needs permutations"):
        compute_hotspots(grid, inc, config=perm, permutations=0)
    with pytest.raises(InputError, match="'time' column"):
        compute_hotspots(grid, inc.drop(columns="time"))
    assert default_config().gi_inference == "normal"


def test_no_incidents_and_missing_times_are_handled_and_reported():
    grid = make_grid(3, 3)
    empty = compute_hotspots(grid, make_incidents([], []), permutations=99)
    assert len(empty) == 9 * 5 and empty["count"].sum() == 0
    assert (empty["gi_class"] == "not_significant").all() and empty["share"].isna().all()
    inc = make_incidents([centre(0, 0), centre(1, 1)], ["2019-01-01 12:00", "2019-01-01 13:00"])
    inc.loc[1, "time"] = pd.NaT
    calls = []
    hot = compute_hotspots(grid, inc, permutations=0, progress=lambda *a: calls.append(a))
    assert (hot.attrs["no_time"], hot.attrs["incidents"]) == (1, 1)
    assert calls[0][1:] == (0, 4) and calls[-1][1:] == (4, 4)


def test_read_hotspots_round_trip_and_errors(tmp_path):
    grid = make_grid(3, 2)
    inc = make_incidents([centre(0, 0), centre(2, 1)], ["2019-05-01 08:00", "2019-05-01 23:00"])
    hot = compute_hotspots(grid, inc, permutations=0)
    for name, writer in (("hot.geojson", write_geodata), ("hot.csv", write_csv)):
        back = read_hotspots(writer(hot, tmp_path / name))
        assert list(back["id"]) == list(hot["id"]) and list(back["slice"]) == list(hot["slice"])
        assert np.allclose(back["score"], hot["score"])
    write_geodata(grid, tmp_path / "grid.geojson")
    with pytest.raises(
        InputError,
        match="not a hot-spot file: it lacks columns slice, score, rank, gi_class",
    ):
        read_hotspots(tmp_path / "grid.geojson")


# --------------------------------------------------------------------------------------------
# Hot-spot classes on small stations (issue 17): the excess test where Gi* finds nothing
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def c07(tmp_path_factory):
    """The 36-micro-grid station C07 of tests/_small_station.py, its shipped hot-spot settings."""
    from _small_station import small_station

    return small_station(tmp_path_factory.mktemp("c07"))


def _classes(hot, slice_id):
    return hot[hot["slice"] == slice_id].set_index("id")["gi_class"]


def test_small_station_hot_spots_are_hot_in_their_slices(c07):
    from _small_station import DAY_SPOTS
    from _small_station import _cell_at

    hot = c07.hotspots
    assert (hot["slice"] == "all").sum() == 36 and hot.attrs["hot_classes"] == "excess"
    night, day = _classes(hot, "night"), _classes(hot, "day")
    assert night[c07.night_spot] in HOT_CLASSES
    assert _classes(hot, "all")[c07.night_spot] in HOT_CLASSES
    for spot in DAY_SPOTS:
        assert day[_cell_at(c07.grid, spot)] in HOT_CLASSES
    # a few hot micro-grids, not the station: at most the three spots and a neighbour
    summary = hotspot_summary(hot).set_index("slice")
    assert (summary["hot_cells"].between(1, 4)).all(), summary["hot_cells"].to_dict()


def test_gi_star_alone_finds_no_hot_spot_on_the_small_station(c07):
    """The defect: Gi* (Queen contiguity, FDR) classes none of C07's hot spots hot."""
    gistar = dataclasses.replace(c07.config, hot_classes="gistar")
    hot = compute_hotspots(c07.grid, c07.incidents, config=gistar, permutations=0)
    assert hot.attrs["hot_classes"] == "gistar"
    assert not hot["gi_class"].isin(HOT_CLASSES).any()
    # the statistics of both tests are in the frame whichever classes it
    auto = c07.hotspots
    np.testing.assert_allclose(hot["gi_z"], auto["gi_z"], equal_nan=True)
    np.testing.assert_allclose(hot["excess_p"], auto["excess_p"], equal_nan=True)


def test_uniform_incidents_make_almost_no_hot_cells(c07):
    """False positives: incidents thrown uniformly over C07 (same count and times), 10 seeds.

    Under this null the FDR keeps the chance of any hot cell in a slice at or under 10 %
    (measured: 2 of 50 slices with one hot cell each, 0 of 1800 cell tests cold).
    """
    station = c07.grid[c07.grid["level"] == "station"].to_crs(32648).geometry.iloc[0]
    x0, y0, x1, y1 = station.bounds
    slices_with_hot = cold = 0
    for seed in range(10):
        xy = np.random.default_rng(seed).uniform((x0, y0), (x1, y1), size=(len(c07.incidents), 2))
        pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=32648)
        uniform = c07.incidents.set_geometry(pts.to_crs(c07.incidents.crs).to_numpy())
        hot = compute_hotspots(c07.grid, uniform, config=c07.config, permutations=0)
        summary = hotspot_summary(hot)
        slices_with_hot += int((summary["hot_cells"] > 0).sum())
        cold += int(summary["cold_cells"].sum())
    assert slices_with_hot <= 5 and cold <= 5, (slices_with_hot, cold)


def test_one_hot_cell_among_quiet_ones_is_hot_by_excess_not_by_gi_star():
    values = np.full(25, 3)
    values[12] = 30  # the centre of a 5 x 5 station
    incidents = lattice_incidents(values, 5)
    auto = compute_hotspots(make_grid(5, 5), incidents, permutations=0)
    gistar = config_from_mapping({"hotspots": {"classes": "gistar"}})
    gi = compute_hotspots(make_grid(5, 5), incidents, config=gistar, permutations=0)
    centre_id = "S01-B1-M013"
    assert _classes(auto, "all")[centre_id] == "above_99"
    assert (_classes(auto, "all").drop(centre_id) == "not_significant").all()
    assert _classes(gi, "all")[centre_id] == "not_significant"
    row = auto[(auto["slice"] == "all") & (auto["id"] == centre_id)].iloc[0]
    assert row["expected"] == pytest.approx(102 / 25) and row["excess_p_fdr"] < 0.01


@pytest.mark.parametrize(("side", "method"), [(7, "excess"), (8, "gistar")])
def test_auto_takes_gi_star_from_small_station_cells_on(side, method):
    """49 micro-grids are a small station, 64 are not (threshold 60); large ones keep Gi*."""
    rng = np.random.default_rng(3)
    values = rng.integers(2, 6, size=side * side)
    values[: side + 2] = 25  # a hot band along the south edge
    incidents = lattice_incidents(values, side)
    auto = compute_hotspots(make_grid(side, side), incidents, permutations=0)
    assert auto.attrs["hot_classes"] == method
    forced = config_from_mapping({"hotspots": {"classes": method}})
    same = compute_hotspots(make_grid(side, side), incidents, config=forced, permutations=0)
    pd.testing.assert_series_equal(auto["gi_class"], same["gi_class"])
    assert auto["gi_class"].isin(HOT_CLASSES).any()


def test_recent_incidents_by_category_per_cell_and_slice():
    grid = make_grid(2, 1)
    # the period ends 2019-12-31 (reference 2020-01-01 00:00): 90 days back is 2019-10-03
    inc = make_incidents(
        [centre(0, 0)] * 6 + [centre(1, 0)],
        [
            "2019-12-30 23:00",  # night
            "2019-12-20 23:30",  # night
            "2019-11-01 08:00",  # morning
            "2019-10-10 23:00",  # night
            "2019-12-01 08:00",  # morning
            "2019-06-01 23:00",  # night, but older than 90 days
            "2019-06-01 08:00",  # the other cell: only old incidents
        ],
    )
    inc["category"] = pd.array(
        ["盗窃", "抢劫", "盗窃", "盗窃", None, "抢劫", "盗窃"], dtype="string"
    )
    hot = compute_hotspots(grid, inc, period="2019", permutations=0)
    rec = hot.set_index(["id", "slice"])["recent"]
    assert rec[("S01-B1-M001", "night")] == "90d to 2020-01-01: 盗窃 2; 抢劫 1"
    # ties by name; a missing category is "?"
    assert rec[("S01-B1-M001", "morning")] == "90d to 2020-01-01: ? 1; 盗窃 1"
    assert rec[("S01-B1-M001", "all")] == "90d to 2020-01-01: 盗窃 3; ? 1; 抢劫 1"  # 3 at most
    assert rec[("S01-B1-M002", "night")] == "" and rec[("S01-B1-M002", "all")] == ""
    assert parse_recent(rec[("S01-B1-M001", "all")]) == (
        90,
        "2020-01-01",
        [("盗窃", 3), ("?", 1), ("抢劫", 1)],
    )


@pytest.mark.parametrize("text", ["", None, float("nan"), "garbage", "90d to x: a b"])
def test_recent_text_that_is_empty_or_not_ours_reads_as_none(text):
    assert parse_recent(text) is None


def test_format_recent_keeps_separators_out_of_categories():
    text = format_recent(90, "2020-01-01", [("a; b", 2), ("", 1)])
    assert text == "90d to 2020-01-01: a, b 2; ? 1"
    assert parse_recent(text) == (90, "2020-01-01", [("a, b", 2), ("?", 1)])


# --------------------------------------------------------------------------------------------
# Hot spots from sums of chunks (the city's partitions): the same as over all incidents
# --------------------------------------------------------------------------------------------


def _mixed_incidents(n: int, seed: int = 5) -> gpd.GeoDataFrame:
    """``n`` incidents over a 4 x 3 grid and beyond it, on edges, of 2019 (the last quarter
    too: recent ones), some without a time, of three categories and several weights."""
    rng = np.random.default_rng(seed)
    xy = np.column_stack(
        [X0 + rng.uniform(-0.5, 4.5, n) * STEP, Y0 + rng.uniform(-0.5, 3.5, n) * STEP]
    )
    xy[::7] = np.round(xy[::7] / STEP) * STEP  # corners shared by up to four micro-grids
    days = rng.integers(0, 365, n)
    times = [
        None if k % 11 == 3 else pd.Timestamp("2019-01-01") + pd.Timedelta(days=d, hours=k % 24)
        for k, d in enumerate(days.tolist())
    ]
    inc = make_incidents(xy, times, weights=rng.choice([1.0, 1.5, 3.0], n))
    inc["category"] = pd.array(rng.choice(["盗窃", "抢劫", None], n), dtype="string")
    return inc


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(0, 80), max_size=5))
def test_hot_spots_from_the_sums_of_chunks_are_those_of_all_incidents(cuts):
    # Scores summed in chunks differ from one sum in the last bits, which can tip a tie of a
    # permuted neighbourhood with the observed one (gi_p_sim): no permutations here; one chunk
    # (the city's single-partition test) gives the same permutations bit for bit.
    grid, inc = make_grid(4, 3), _mixed_incidents(80)
    cfg = config_from_mapping({"hotspots": {"fdr": True}})
    whole = compute_hotspots(grid, inc, config=cfg, period="2019", permutations=0)
    where = locate_points(micro_grids(grid).geometry, inc.geometry.to_numpy())
    bounds = sorted({0, *cuts, len(inc)})
    parts = [
        hotspot_sums(inc.iloc[a:b], where[a:b], n_cells=12, period="2019", config=cfg)
        for a, b in itertools.pairwise(bounds)
    ]
    sums = functools.reduce(operator.add, parts)
    chunked = hotspots_from_sums(grid, sums, config=cfg, period="2019", permutations=0)
    assert_geodataframe_equal(chunked, whole)
    assert (chunked["recent"] != "").any()  # the recent text is summed too
    for key in ("incidents", "unassigned", "no_time", "period", "reference_time"):
        assert chunked.attrs[key] == whole.attrs[key], key
    assert whole.attrs["unassigned"] > 0 and whole.attrs["no_time"] > 0


def test_sums_add_only_when_made_alike():
    grid, inc = make_grid(4, 3), _mixed_incidents(20)
    where = locate_points(micro_grids(grid).geometry, inc.geometry.to_numpy())
    a = hotspot_sums(inc, where, n_cells=12, period="2019")
    b = hotspot_sums(inc, where, n_cells=12, period="2018")
    with pytest.raises(ValueError, match=r"cannot add sums .* same cells, config and period"):
        a + b
    with pytest.raises(InputError, match=r"cell_index has 19 entries .* for 20 incidents"):
        hotspot_sums(inc, where[:-1], n_cells=12, period="2019")
    with pytest.raises(InputError, match="the sums are of 12 micro-grids, the grid has 6"):
        hotspots_from_sums(make_grid(3, 2), a, period="2019")


def test_without_a_weight_column_the_config_weighs_category_and_alert():
    grid = make_grid(2, 1)
    inc = make_incidents([centre(0, 0)] * 4 + [centre(1, 0)], ["2019-12-31 12:00"] * 5)
    inc = inc.drop(columns="weight")
    inc["category"] = pd.array(["盗窃", " 盗窃 ", "抢劫", None, "其他"], dtype="string")
    inc["alert"] = pd.array(["red", None, "red", "red", None], dtype="string")
    cfg = config_from_mapping(
        {
            "scoring": {
                "half_life_days": 1e9,
                "default_weight": 0.5,
                "category_weights": {"盗窃": 2.0, "抢劫": 4.0},
                "alert_weights": {"red": 3.0},
            }
        }
    )
    hot = compute_hotspots(grid, inc, config=cfg, period="2019", permutations=0)
    score = hot[hot["slice"] == "all"].set_index("id")["score"]
    # 2*3 + 2 (the category matched trimmed) + 4*3 + 0.5*3 (no category: the default)
    assert score["S01-B1-M001"] == pytest.approx(21.5)
    assert score["S01-B1-M002"] == pytest.approx(0.5)  # an unlisted category: the default
