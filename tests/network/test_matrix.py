import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from _networks import X0
from _networks import Y0
from _networks import street_network
from _networks import xy

from gridplan import InputError
from gridplan.network.graphs import StreetNetwork
from gridplan.network.graphs import build_network
from gridplan.network.matrix import DETOUR_FACTOR
from gridplan.network.matrix import UNREACHABLE
from gridplan.network.matrix import TravelMatrix
from gridplan.network.matrix import route_geometry
from gridplan.network.matrix import route_nodes
from gridplan.network.matrix import travel_matrix

ROOT = Path(__file__).parents[2]
B4_OSM_BZ2 = ROOT / "tests" / "data" / "network_portland_b4.osm.bz2"


@pytest.fixture(scope="module")
def block() -> StreetNetwork:
    """One block on a 100 m lattice, with a one-way street, a footway and a 10 km/h street.

                     N(100,200)
                     |
    D(0,100) ------- E(100,100) --------- F(200,100)
    |                |footway             |
    A(0,0) -10 km/h- B(100,0) -one-way->- C(200,0) -- G(300,0)
    |
    S(0,-100)

    Dead ends at A, C and E make them junctions, so the simplified graphs keep them.
    """
    rows = [
        ("residential", None, "10", [(0, 0), (100, 0)]),
        ("residential", "yes", None, [(100, 0), (200, 0)]),
        ("residential", None, None, [(200, 0), (200, 100)]),
        ("residential", None, None, [(200, 100), (100, 100)]),
        ("footway", None, None, [(100, 100), (100, 0)]),
        ("residential", None, None, [(100, 100), (0, 100)]),
        ("residential", None, None, [(0, 100), (0, 0)]),
        ("residential", None, None, [(0, 0), (0, -100)]),
        ("residential", None, None, [(200, 0), (300, 0)]),
        ("residential", None, None, [(100, 100), (100, 200)]),
    ]
    return street_network(
        [r[3] for r in rows],
        highway=[r[0] for r in rows],
        oneway=[r[1] for r in rows],
        maxspeed=[r[2] for r in rows],
    )


def stops(**points) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(points)}, geometry=[shapely.Point(xy(*p)) for p in points.values()], crs=26910
    )


def test_hand_checked_times_walk_and_ride(block):
    places = stops(A=(0, 0), B=(100, 0), C=(200, 0), E=(100, 100))
    walk = travel_matrix(places, block, profile="walk")  # 4.5 km/h = 80 s per 100 m
    ride = travel_matrix(places, block, profile="ride")  # 15 km/h = 24 s per 100 m
    w, r = walk.index, ride.index
    assert walk.method == "network" and walk.detour_factor is None
    # walking ignores the one-way street and uses the footway
    assert walk.seconds[w("C"), w("B")] == pytest.approx(80, abs=1)
    assert walk.seconds[w("B"), w("C")] == pytest.approx(80, abs=1)
    assert walk.seconds[w("E"), w("B")] == pytest.approx(80, abs=1)
    assert walk.metres[w("C"), w("B")] == pytest.approx(100, rel=0.005)
    # riding: with the one-way street, C->B is round the block (500 m); no footway
    assert ride.seconds[r("B"), r("C")] == pytest.approx(24, abs=1)
    assert ride.seconds[r("C"), r("B")] == pytest.approx(120 + 12, abs=1)  # last 100 m at 10 km/h
    assert ride.metres[r("C"), r("B")] == pytest.approx(500, rel=0.005)
    # E->B: E-D-A-B, 200 m at 15 km/h (48 s) + 100 m at 10 km/h (36 s)
    assert ride.seconds[r("E"), r("B")] == pytest.approx(84, abs=1)
    assert ride.metres[r("E"), r("B")] == pytest.approx(300, rel=0.005)
    uncapped = travel_matrix(places, block, profile="ride", cap_by_maxspeed=False)
    assert uncapped.seconds[r("E"), r("B")] == pytest.approx(72, abs=1)
    fast = travel_matrix(places, block, profile="walk", speed_kph=9)
    assert fast.seconds[w("C"), w("B")] == pytest.approx(40, abs=1)
    assert np.all(np.diag(walk.seconds) == 0) and walk.is_complete()
    assert walk.seconds.dtype == np.int64 and not walk.seconds.flags.writeable


def test_slower_cap_changes_the_fastest_path_and_metres_follow_it(block):
    # from A to C by riding: A-B at 10 km/h (36 s) + B-C (24 s) = 60 s over 200 m, or
    # A-D-E-F-C: 400 m at 15 km/h = 96 s. With a 2 km/h cap the detour wins.
    places = stops(A=(0, 0), C=(200, 0))
    m = travel_matrix(places, block, profile="ride")
    assert m.metres[0, 1] == pytest.approx(200, rel=0.005)
    slow = travel_matrix(places, block, profile="ride", speed_kph=15, cap_by_maxspeed=True)
    assert slow == m
    slowed = nx.MultiDiGraph(block.ride)
    for *_, d in slowed.edges(data=True):
        if "maxspeed_kph" in d:
            d["maxspeed_kph"] = 2.0
    net = StreetNetwork(
        walk=block.walk, ride=slowed, crs=block.crs, source="test", report=block.report
    )
    detour = travel_matrix(places, net, profile="ride")
    assert detour.metres[0, 1] == pytest.approx(400, rel=0.005)
    assert detour.seconds[0, 1] == pytest.approx(96, abs=1)


def test_routes_follow_the_streets(block):
    places = stops(C=(200, 0), B=(100, 0))
    m = travel_matrix(places, block, profile="ride")
    path = route_nodes(block, "ride", m.nodes[0], m.nodes[1])
    assert path[0] == m.nodes[0] and path[-1] == m.nodes[1]
    line = route_geometry(block, "ride", m.nodes[0], m.nodes[1], crs=None)
    assert line.length == pytest.approx(500, rel=0.005)
    assert shapely.Point(line.coords[0]).distance(shapely.Point(xy(200, 0))) < 0.01
    assert shapely.Point(line.coords[-1]).distance(shapely.Point(xy(100, 0))) < 0.01
    assert shapely.Point(xy(0, 100)).distance(line) < 0.01  # round the block via D
    wgs = route_geometry(block, "ride", m.nodes[0], m.nodes[1])
    assert -123 < wgs.coords[0][0] < -122 and 45 < wgs.coords[0][1] < 46
    assert route_geometry(block, "walk", m.nodes[1], m.nodes[1], crs=None).length == 0
    with pytest.raises(InputError, match="node 123456789 is not in the walk graph"):
        route_nodes(block, "walk", 123456789, m.nodes[0])


@pytest.mark.slow
def test_matrix_equals_networkx_on_random_pairs():
    b4 = gpd.read_file(ROOT / "data" / "boundaries" / "grid.geojson").query("id == 'S01-B4'")
    net = build_network(B4_OSM_BZ2, boundary=b4, buffer_m=100, crs="EPSG:26910")
    rng = np.random.default_rng(7)
    for profile, speed in (("walk", 4.5), ("ride", 15.0)):
        G = net.graph(profile)
        nodes = net.node_frame(profile)
        pick = rng.choice(len(nodes), size=40, replace=False)
        sample = gpd.GeoDataFrame(
            {"id": [f"n{i}" for i in pick], "node": nodes.index[pick]},
            geometry=nodes.geometry.iloc[pick].to_numpy(),
            crs=nodes.crs,
        )
        m = travel_matrix(sample, net, profile=profile)

        def seconds(u, v, edges, speed=speed, profile=profile):
            return min(
                d["length"] / (min(speed, d.get("maxspeed_kph", np.inf)) / 3.6)
                if profile == "ride"
                else d["length"] / (speed / 3.6)
                for d in edges.values()
            )

        for i, j in rng.integers(len(pick), size=(60, 2)):
            a, b = m.nodes[i], m.nodes[j]
            expected = nx.shortest_path_length(G, a, b, weight=seconds)
            assert m.seconds[i, j] == round(expected)
            path = nx.shortest_path(G, a, b, weight=seconds)
            metres = sum(
                min(G.get_edge_data(u, v).values(), key=lambda d: seconds(0, 0, {0: d}))["length"]
                for u, v in itertools.pairwise(path)
            )
            assert m.metres[i, j] == pytest.approx(metres, abs=0.02)


def test_straight_line_fallback_is_flagged():
    places = stops(a=(0, 0), b=(300, 400))
    m = travel_matrix(places, profile="walk")
    assert m.method == "straight_line" and m.detour_factor == DETOUR_FACTOR == 1.3
    assert m.nodes is None
    assert m.metres[0, 1] == pytest.approx(500 * 1.3, rel=0.002)
    assert m.seconds[0, 1] == round(m.metres[0, 1] / 1.25)
    assert m.summary()["method"] == "straight_line"
    m2 = travel_matrix(places, profile="ride", detour_factor=1.0)
    assert m2.metres[0, 1] == pytest.approx(500, rel=0.002)
    assert m2.seconds[0, 1] == pytest.approx(120, abs=1)
    with pytest.raises(InputError, match=r"detour_factor=0\.5 must be >= 1"):
        travel_matrix(places, detour_factor=0.5)


def test_unreachable_pairs_are_reported(block):
    # a graph that is not strongly connected: a one-way street out of the block to X
    G = nx.MultiDiGraph(block.ride)
    c = next(
        n for n, d in G.nodes(data=True) if abs(d["x"] - X0 - 200) < 1 and abs(d["y"] - Y0) < 1
    )
    G.add_node(-7, x=X0 + 300, y=Y0)
    line = shapely.LineString([xy(200, 0), xy(300, 0)])
    G.add_edge(c, -7, length=100.0, geometry=line, oneway=True, osmid="x")
    net = StreetNetwork(walk=block.walk, ride=G, crs=block.crs, source="test", report=block.report)
    places = stops(C=(200, 0), X=(300, 0))
    with pytest.raises(InputError, match=r"1 of 4 stop pairs have no ride path: X -> C\."):
        travel_matrix(places, net, profile="ride")
    m = travel_matrix(places, net, profile="ride", allow_unreachable=True)
    assert m.unreachable_pairs() == [("X", "C")]
    assert m.seconds[1, 0] == UNREACHABLE and m.metres[1, 0] == UNREACHABLE
    assert not m.is_complete() and m.summary()["unreachable_pairs"] == 1


def test_stop_nodes_must_be_in_the_graph(block):
    places = stops(A=(0, 0))
    places["node"] = [999999]
    with pytest.raises(InputError, match=r"1 stops have a node that is not in the walk graph: A"):
        travel_matrix(places, block, profile="walk")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"profile": "drive"}, "profile 'drive' is unknown"),
        ({"speed_kph": 0}, "speed_kph=0 must be a positive number"),
    ],
)
def test_bad_options(block, kwargs, message):
    with pytest.raises(InputError, match=message):
        travel_matrix(stops(A=(0, 0)), block, **kwargs)


def test_travel_matrix_validates_itself():
    with pytest.raises(InputError, match="must both be 2 x 2"):
        TravelMatrix(("a", "b"), np.zeros((2, 3)), np.zeros((2, 2)), "network", "walk", 4.5)
    with pytest.raises(InputError, match="stop ids must be unique; repeated: a"):
        TravelMatrix(("a", "a"), np.zeros((2, 2)), np.zeros((2, 2)), "network", "walk", 4.5)
    with pytest.raises(InputError, match="method 'guess' is unknown"):
        TravelMatrix(("a",), np.zeros((1, 1)), np.zeros((1, 1)), "guess", "walk", 4.5)
    m = TravelMatrix(("a",), np.zeros((1, 1)), np.zeros((1, 1)), "straight_line", "walk", 4.5)
    with pytest.raises(InputError, match="stop 'b' is not in the matrix"):
        m.index("b")


def test_matrices_are_computed_once_per_stops_and_speed(block, monkeypatch):
    import gridplan.network.matrix as matrix_module

    net = StreetNetwork(
        walk=block.walk, ride=block.ride, crs=block.crs, source="test", report=block.report
    )
    places = stops(A=(0, 0), C=(200, 0), E=(100, 100))
    calls = []
    compute = matrix_module._network_matrix
    monkeypatch.setattr(
        matrix_module, "_network_matrix", lambda *a: calls.append(a[1:3]) or compute(*a)
    )
    first = travel_matrix(places, net, profile="ride")
    # same nodes under other ids: a cache hit, with the new ids
    renamed = places.assign(id=["a", "c", "e"])
    again = travel_matrix(renamed, net, profile="ride")
    assert calls == [("ride", 15.0)]
    assert again.ids == ("a", "c", "e")
    assert np.array_equal(again.seconds, first.seconds)
    assert np.array_equal(again.metres, first.metres)
    assert not np.shares_memory(again.seconds, first.seconds)
    travel_matrix(places, net, profile="ride", speed_kph=10)
    travel_matrix(places, net, profile="walk")
    assert calls == [("ride", 15.0), ("ride", 10.0), ("walk", 4.5)]
    # least recently used matrices go first when the cache is over its budget
    monkeypatch.setattr(matrix_module, "_MATRIX_CACHE_BYTES", 1)
    travel_matrix(places, net, profile="ride", speed_kph=20)
    assert len(net._cache["matrices"]) == 1
    travel_matrix(places, net, profile="ride", speed_kph=20)
    travel_matrix(places, net, profile="ride")
    assert calls[3:] == [("ride", 20.0), ("ride", 15.0)]
