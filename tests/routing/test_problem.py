"""PatrolProblem: stops, risk classes, who is on duty when, revisit copies, cover groups."""

import dataclasses
import datetime as dt
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _lattice import lattice_network
from _lattice import make_config
from _lattice import make_grid
from _lattice import make_hotspots
from _lattice import patroller
from _networks import xy

from gridplan import ConfigError
from gridplan import InputError
from gridplan.routing.problem import NO_PATH_S
from gridplan.routing.problem import build_problem
from gridplan.routing.problem import duty_window


@pytest.fixture(scope="module")
def lattice():
    """The 3 x 3 street lattice of :mod:`_lattice` (200 m blocks)."""
    return lattice_network()


@pytest.fixture(scope="module")
def grid():
    return make_grid()


@pytest.fixture(scope="module")
def hot(grid):
    return make_hotspots(grid)


# --- availability x slice ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("availability", "date", "slice_id", "expected"),
    [
        # a daily 08:00-12:00 window inside the 06-10 morning slice: 08:00-10:00
        ({"daily": ["08:00-12:00"]}, "2024-06-05", "morning", (120, 240)),
        # an overnight window written on Wednesday, night slice of Wednesday: whole slice
        ({"wed": ["22:00-06:00"]}, "2024-06-05", "night", (0, 480)),
        # the same window is Tuesday's night, not Wednesday's
        ({"tue": ["22:00-06:00"]}, "2024-06-05", "night", None),
        # Thursday 00:00-03:00 belongs to Wednesday's night shift (02:00-05:00 after 22:00)
        ({"thu": ["00:00-03:00"]}, "2024-06-05", "night", (120, 300)),
        # Tuesday's 22:00-07:00 spills into Wednesday's morning slice 06:00-07:00
        ({"tue": ["22:00-07:00"]}, "2024-06-05", "morning", (0, 60)),
        # weekend-only: on a Saturday yes, on a Friday no
        ({"weekend": ["17:00-22:00"]}, "2024-06-08", "evening", (60, 360)),
        ({"weekend": ["17:00-22:00"]}, "2024-06-07", "evening", None),
        # two windows in one slice: the longer part wins
        ({"daily": ["10:00-11:00", "13:00-16:00"]}, "2024-06-05", "day", (180, 360)),
    ],
)
def test_duty_window(availability, date, slice_id, expected):
    cfg = make_config([])
    ts = {s.id: s for s in cfg.slices}[slice_id]
    p = patroller("P1", availability)
    assert duty_window(p, ts, dt.date.fromisoformat(date)) == expected


def test_weekend_patroller_on_duty_on_saturday_only(lattice, grid, hot):
    cfg = make_config(
        [
            patroller("W1", {"weekend": ["17:00-22:00"]}),
            patroller("D1", {"daily": ["16:00-20:00"]}),
        ]
    )
    sat = build_problem(grid, hot, lattice, cfg, date="2024-06-08", slice_id="evening")
    fri = build_problem(grid, hot, lattice, cfg, date="2024-06-07", slice_id="evening")
    assert [od.patroller.id for od in sat.on_duty] == ["W1", "D1"]
    assert [od.patroller.id for od in fri.on_duty] == ["D1"]
    assert fri.off_duty == ("W1",)
    w1 = sat.on_duty[0]
    assert (w1.start_s, w1.end_s) == (3600, 6 * 3600)
    assert sat.start == dt.datetime(2024, 6, 8, 16, 0, tzinfo=cfg.tz)
    vrp = sat.to_prize_vrp()
    assert vrp.vehicles[0].earliest_start == 3600 and vrp.vehicles[0].latest_end == 6 * 3600


def test_night_slice_crossing_midnight(lattice, grid, hot):
    cfg = make_config([patroller("N1", {"sat": ["23:00-02:00"]}, max_duty_min=120)])
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-08", slice_id="night")
    (od,) = p.on_duty
    assert (od.start_s, od.end_s, od.max_duration_s) == (3600, 4 * 3600, 2 * 3600)
    assert p.start.isoformat() == "2024-06-08T22:00:00+08:00"
    assert p.horizon_s == 8 * 3600


def test_nobody_on_duty_is_a_problem_without_vehicles(lattice, grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["08:00-09:00"]})])
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="night")
    assert p.on_duty == () and p.off_duty == ("D1",)
    vrp = p.to_prize_vrp()
    assert vrp.cover_groups == ()
    assert all(not v.allowed_nodes for v in vrp.vehicles)


# --- stops, prizes, copies -------------------------------------------------------------------


def test_dwell_varies_at_random_inside_bounds(lattice, grid, hot):
    # the shipped policy: dwell_min +- dwell_spread_min (2) inside dwell_bounds_min [10, 15]
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})], top_share=0.2)
    assert cfg.patrol.dwell_spread_min == 2
    seen = set()
    for seed in range(6):
        p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning", seed=seed)
        for s in p.stops:
            centre = cfg.patrol.dwell_min[s.risk_class]
            assert 10 * 60 <= s.dwell_s <= 15 * 60
            assert abs(s.dwell_s - centre * 60) <= 2 * 60
            seen.add((s.id, s.dwell_s))
        again = build_problem(
            grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning", seed=seed
        )
        assert [s.dwell_s for s in again.stops] == [s.dwell_s for s in p.stops]
    # other seeds, other minutes: not one fixed dwell per micro-grid
    assert len(seen) > len(p.stops) + 5


def test_no_two_visits_of_a_place_in_a_row(lattice, grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})], top_share=0.2)
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")
    vrp = p.to_prize_vrp()
    a, b = p.node_of("S01-B1-M001", 0), p.node_of("S01-B1-M001", 1)
    assert vrp.travel[0][a, b] >= NO_PATH_S and vrp.travel[0][b, a] >= NO_PATH_S
    assert vrp.max_wait == cfg.patrol.wait_max_min * 60


def test_stops_classes_prizes_and_revisit_copies(lattice, grid, hot):
    cfg = make_config(
        [patroller("D1", {"daily": ["06:00-10:00"]})],
        top_share=0.2,
        revisit_max=3,
        revisit_gap_min=45,
        dwell_spread_min=0,  # the shipped spread: test_dwell_varies_at_random_inside_bounds
    )
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")
    classes = [s.risk_class for s in p.stops]
    # 9 micro-grids, top_share 0.2 -> 2 top, 2 high, 5 other; scores 9..1 in grid order
    assert classes == ["top"] * 2 + ["high"] * 2 + ["other"] * 5
    assert [s.dwell_s for s in p.stops[:5]] == [900, 900, 720, 720, 600]
    assert [s.copies for s in p.stops] == [3, 3] + [1] * 7
    vrp = p.to_prize_vrp()
    assert vrp.num_nodes == 1 + 3 + 3 + 7
    first = p.node_of("S01-B1-M001", 0)
    copies = [p.node_of("S01-B1-M001", k) for k in range(3)]
    assert [int(vrp.prize[n]) for n in copies] == [
        int(vrp.prize[first]),
        int(vrp.prize[first]) // 2,
        int(vrp.prize[first]) // 4,
    ]
    # the slice's risk is 100,000 prize units over first visits
    firsts = [p.node_of(s.id, 0) for s in p.stops]
    assert abs(int(vrp.prize[firsts].sum()) - 100_000) <= 9
    groups = {g.nodes: g.min_gap for g in vrp.revisit_groups}
    assert groups[tuple(copies)] == 45 * 60 + 900  # the gap from the end of a visit
    # copies of one place may not follow each other (a post, not a patrol); the lattice is
    # 200 m blocks at 4.5 km/h
    assert vrp.travel[0][copies[0], copies[1]] == NO_PATH_S
    j = p.node_of("S01-B1-M002", 0)
    assert vrp.travel[0][first, j] == 160
    # one cover group per base grid, holding first copies only
    assert [g.name for g in vrp.cover_groups] == ["S01-B1", "S01-B2", "S01-B3"]
    assert vrp.cover_groups[0].nodes == tuple(p.node_of(f"S01-B1-M{k:03d}", 0) for k in (1, 2, 3))


def test_dosage_used_limits_copies_and_excludes(lattice, grid, hot):
    cfg = make_config(
        [patroller("D1", {"daily": ["06:00-10:00"]})], dosage_cap_min=40, top_share=0.2
    )
    used = {"S01-B1-M001": 30.0, "S01-B1-M003": 35.0}
    p = build_problem(
        grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning", dosage_used=used
    )
    # top M001: 10 minutes left < a 15-minute dwell: excluded; top M002 has 40: 2 copies
    assert p.stop("S01-B1-M001").copies == 0
    assert p.excluded["S01-B1-M001"] == "dosage cap"
    assert p.stop("S01-B1-M002").copies == 2
    assert p.stop("S01-B1-M003").copies == 0  # 5 minutes left, 10-minute dwell
    assert p.dosage_left_min["S01-B1-M002"] == 40


def test_home_bases_become_allowed_nodes(lattice, grid, hot):
    cfg = make_config(
        [patroller("V1", {"daily": ["06:00-10:00"]}, home_bases=["S01-B2"], role="volunteer_team")]
    )
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")
    vrp = p.to_prize_vrp()
    allowed = {p.nodes[n].place for n in vrp.vehicles[0].allowed_nodes}
    assert allowed == {"S01-B2-M001", "S01-B2-M002", "S01-B2-M003"}


def test_start_at_a_micro_grid_is_its_own_depot(lattice, grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]}, start="S01-B3-M003")])
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")
    vrp = p.to_prize_vrp()
    v = vrp.vehicles[0]
    assert p.nodes[v.start].place == "S01-B3-M003" and p.nodes[v.start].copy is None
    assert p.nodes[v.end].place == "S01-B3-M003"  # end defaults to start
    assert vrp.prize[v.start] == 0
    assert int(vrp.travel[0][v.start, p.node_of("S01-B3-M003", 0)]) == 0


def test_one_way_dead_end_is_barred_for_riders():
    """A stop with no path from or to the station is barred for that profile's vehicles.

    build_network keeps the largest strongly connected component, so cut the matrix instead.
    """
    from gridplan.network.matrix import TravelMatrix
    from gridplan.routing.problem import PatrolProblem

    base = make_config([patroller("D1", {"daily": ["06:00-10:00"]})])
    grid = make_grid()
    hot = make_hotspots(grid)
    net = lattice_network()
    p = build_problem(grid, hot, net, base, date="2024-06-05", slice_id="morning")
    m = p.matrices[0]
    sec = np.array(m.seconds)
    sec[0, 5] = sec[5, 0] = -1
    cut = TravelMatrix(m.ids, sec, m.metres, m.method, m.profile, m.speed_kph, nodes=m.nodes)
    fields = {f.name: getattr(p, f.name) for f in dataclasses.fields(PatrolProblem)}
    fields["matrices"] = (cut,)
    q = PatrolProblem(**fields)
    vrp = q.to_prize_vrp()
    node = q.node_of(q.places[5], 0)
    assert node not in vrp.vehicles[0].allowed_nodes
    assert vrp.travel[0][0, node] == NO_PATH_S


# --- errors ----------------------------------------------------------------------------------


def test_unknown_slice_lists_the_valid_ones(lattice, grid, hot):
    cfg = make_config([])
    with pytest.raises(InputError, match=r"unknown time slice 'noon'.*morning, day, evening"):
        build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="noon")


def test_weekday_slice_on_a_weekend_day(lattice, grid, hot):
    cfg = dataclasses.replace(make_config([]), split_weekend=True)
    with pytest.raises(InputError, match="is for weekday shifts but 2024-06-08 is a weekend"):
        build_problem(grid, hot, lattice, cfg, date="2024-06-08", slice_id="night_wd")


def test_unknown_home_base_names_patroller_and_id(lattice, grid, hot):
    cfg = make_config([patroller("V9", {"daily": ["06:00-10:00"]}, home_bases=["S01-B7"])])
    with pytest.raises(ConfigError, match=r"roster 'V9': home_bases 'S01-B7' not in the grid"):
        build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")


def test_unknown_start_place(lattice, grid, hot):
    cfg = make_config([patroller("A1", {"daily": ["06:00-10:00"]}, start="S01-B9-M001")])
    with pytest.raises(ConfigError, match=r"roster 'A1': start = 'S01-B9-M001'"):
        build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")


def test_hotspots_without_the_slice(lattice, grid, hot):
    cfg = make_config([])
    with pytest.raises(InputError, match="no rows for slice 'night'"):
        build_problem(
            grid, hot[hot["slice"] != "night"], lattice, cfg, date="2024-06-05", slice_id="night"
        )


def test_station_far_from_the_network(lattice, grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})])
    far = gpd.GeoSeries([shapely.Point(xy(5000, 5000))], crs=26910).to_crs(4326).iloc[0]
    with pytest.raises(InputError, match="the network does not reach it"):
        build_problem(
            grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning", station_point=far
        )


def test_straight_line_fallback(grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})])
    p = build_problem(grid, hot, None, cfg, date="2024-06-05", slice_id="morning")
    assert p.matrices[0].method == "straight_line"
    i, j = p.places.index("S01-B1-M001"), p.places.index("S01-B1-M002")
    assert p.matrices[0].metres[i, j] == pytest.approx(200 * 1.3, rel=1e-3)


def test_policy_mapping_is_read_only(lattice, grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})])
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")
    assert isinstance(p.policy.dwell_min, MappingProxyType)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.date = dt.date(2024, 1, 1)


def test_zero_risk_stops_are_left_out_unless_their_base_needs_them(lattice, grid):
    # base S01-B2 has no risk at all: its micro-grids stay for its cover group
    scores = [5, 0, 3, 0, 0, 0, 2, 1, 0]
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})])
    p = build_problem(
        grid, make_hotspots(grid, scores), lattice, cfg, date="2024-06-05", slice_id="morning"
    )
    assert p.excluded == {
        "S01-B1-M002": "no risk in this slice",
        "S01-B3-M003": "no risk in this slice",
    }
    vrp = p.to_prize_vrp()
    assert [g.name for g in vrp.cover_groups] == ["S01-B1", "S01-B2", "S01-B3"]
    assert len(vrp.cover_groups[1].nodes) == 3
    assert vrp.num_nodes == 1 + 7 + 2  # station, 7 stops, 2 revisit copies of the top one


def test_night_slice_across_a_dst_change_is_an_hour_shorter(lattice, grid, hot):
    cfg = dataclasses.replace(
        make_config([patroller("N1", {"sat": ["22:00-06:00"]})]), timezone="America/Los_Angeles"
    )
    # 2024-03-10 02:00 clocks jump to 03:00 in Los Angeles: Saturday's night shift is 7 hours
    p = build_problem(grid, hot, lattice, cfg, date="2024-03-09", slice_id="night")
    assert p.horizon_s == 7 * 3600
    (od,) = p.on_duty
    assert (od.start_s, od.end_s, od.max_duration_s) == (0, 7 * 3600, 7 * 3600)
    assert p.start.utcoffset() == dt.timedelta(hours=-8)


def test_node_of_unknown_copy(lattice, grid, hot):
    cfg = make_config([patroller("D1", {"daily": ["06:00-10:00"]})])
    p = build_problem(grid, hot, lattice, cfg, date="2024-06-05", slice_id="morning")
    assert p.nodes[p.node_of("S01-B2-M001", 0)].place == "S01-B2-M001"
    with pytest.raises(InputError, match="copy 1 of 'S01-B2-M001' is not a node"):
        p.node_of("S01-B2-M001", 1)  # not top class: one visit only
