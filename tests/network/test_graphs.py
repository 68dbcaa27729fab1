import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyogrio
import pytest
import shapely

from gridplan import GridplanWarning
from gridplan import InputError
from gridplan.network.graphs import StreetNetwork
from gridplan.network.graphs import build_network
from gridplan.network.graphs import load_network
from gridplan.network.graphs import parse_speed_kph
from gridplan.network.graphs import save_network
from gridplan.network.graphs import way_allowed

ROOT = Path(__file__).parents[2]
DEMO_PBF = ROOT / "data" / "streets" / "portland-central-filtered.osm.pbf"
STATION = ROOT / "data" / "boundaries" / "station.geojson"
GRID = ROOT / "data" / "boundaries" / "grid.geojson"
B4_OSM_BZ2 = ROOT / "tests" / "data" / "network_portland_b4.osm.bz2"
X0, Y0 = 525_000.0, 5_040_000.0  # EPSG:26910, central Portland


def _xy(x, y):
    return (X0 + x, Y0 + y)


def street_lines() -> gpd.GeoDataFrame:
    """Seven streets on a 100 m lattice, plus an isolated one.

    A(0,0) - B(100,0) - C(200,0) - G(300,0)
    |        |          |
    D(0,100)-E(100,100)-F(200,100)          H(0,300) - I(100,300)

    B->C and C->G are one-way; E-B is a footway; H-I touches nothing.
    """
    rows = [
        ("A-B", "residential", None, [(0, 0), (100, 0)]),
        ("B-C", "residential", "yes", [(100, 0), (200, 0)]),
        ("C-F", "residential", None, [(200, 0), (200, 100)]),
        ("F-E", "residential", None, [(200, 100), (100, 100)]),
        ("E-B", "footway", None, [(100, 100), (100, 0)]),
        ("E-D", "residential", None, [(100, 100), (0, 100)]),
        ("D-A", "residential", None, [(0, 100), (0, 0)]),
        ("C-G", "residential", "yes", [(200, 0), (300, 0)]),
        ("H-I", "residential", None, [(0, 300), (100, 300)]),
    ]
    return gpd.GeoDataFrame(
        {
            "name": [r[0] for r in rows],
            "highway": [r[1] for r in rows],
            "oneway": [r[2] for r in rows],
        },
        geometry=[shapely.LineString([_xy(*p) for p in r[3]]) for r in rows],
        crs=26910,
    ).to_crs(4326)


def node_at(net: StreetNetwork, profile: str, x: float, y: float) -> int | None:
    """The node of ``profile`` within 1 m of lattice point (x, y), else None."""
    nodes = net.node_frame(profile)
    d = np.hypot(nodes["x"] - X0 - x, nodes["y"] - Y0 - y)
    return int(nodes.index[d.argmin()]) if d.min() < 1 else None


def shortest_edge(G: nx.MultiDiGraph, u: int, v: int) -> float:
    return min(d["length"] for d in G.get_edge_data(u, v).values())


@pytest.fixture
def lines_file(tmp_path) -> Path:
    path = tmp_path / "streets.geojson"
    street_lines().to_file(path)
    return path


@pytest.fixture(scope="module")
def demo_net() -> StreetNetwork:
    """The demo PBF clipped to the demo station plus 300 m (a few seconds)."""
    return build_network(DEMO_PBF, boundary=STATION, crs="EPSG:26910")


def test_line_layer_profiles_oneway_footway_and_largest_component(lines_file):
    net = build_network(lines_file, crs="EPSG:26910")
    walk, ride = net.walk, net.ride
    b, c, e = (node_at(net, "walk", *p) for p in [(100, 0), (200, 0), (100, 100)])
    # walking: the one-way B->C is walked both ways and the footway E-B is there
    assert walk.has_edge(b, c) and walk.has_edge(c, b)
    assert walk.has_edge(e, b) and walk.has_edge(b, e)
    assert node_at(net, "walk", 300, 0) is not None  # G: two-way on foot
    # riding: B->C directly, but C->B only round the block (C-F-E-D-A-B, one merged edge of
    # 500 m once simplified); no footway; G (reached by a one-way dead end) is dropped
    rb, rc = node_at(net, "ride", 100, 0), node_at(net, "ride", 200, 0)
    assert shortest_edge(ride, rb, rc) == pytest.approx(100, rel=0.01)
    assert shortest_edge(ride, rc, rb) == pytest.approx(500, rel=0.01)
    assert shortest_edge(walk, c, b) == pytest.approx(100, rel=0.01)
    assert not any("footway" in h for *_, h in ride.edges(data="highway"))
    assert node_at(net, "ride", 300, 0) is None
    # the isolated street H-I is outside the largest component of both
    for profile in ("walk", "ride"):
        assert node_at(net, profile, 0, 300) is None
        assert nx.is_strongly_connected(net.graph(profile))
    rep = net.report
    assert (rep.walk.dropped_nodes, rep.walk.dropped_edges) == (2, 2)
    assert rep.walk.dropped_km == pytest.approx(0.2, rel=0.01)
    assert (rep.ride.dropped_nodes, rep.ride.dropped_edges) == (3, 3)
    assert rep.ride.dropped_km == pytest.approx(0.3, rel=0.01)
    assert rep.walk.ways == 9 and rep.ride.ways == 8  # the footway is not ridden
    assert rep.buffer_m is None and rep.walk.coverage is None
    assert "dropped outside the largest strongly connected component: 3 nodes" in rep.to_text()
    # metric CRS, lengths in metres, geometry from u to v
    assert net.crs == "EPSG:26910"
    for u, v, d in walk.edges(data=True):
        start, end = d["geometry"].coords[0], d["geometry"].coords[-1]
        assert start == pytest.approx((walk.nodes[u]["x"], walk.nodes[u]["y"]))
        assert end == pytest.approx((walk.nodes[v]["x"], walk.nodes[v]["y"]))
        assert d["length"] == pytest.approx(d["geometry"].length, rel=0.005)


def test_line_layer_without_highway_keeps_every_line_and_reads_oneway_codes(tmp_path):
    lines = street_lines().drop(columns="highway")
    # Geofabrik's code T: one-way against the drawing direction (so C->B only)
    lines["oneway"] = ["B", "T", "B", "B", "B", "B", "B", "B", "B"]
    net = build_network(lines, crs="EPSG:26910")
    b, c = node_at(net, "ride", 100, 0), node_at(net, "ride", 200, 0)
    assert net.ride.has_edge(c, b) and not net.ride.has_edge(b, c)
    e = node_at(net, "ride", 100, 100)
    assert net.ride.has_edge(e, b)  # no highway column: the "footway" is a plain line


def _crossing_lines(**third):
    """Two lines crossing at (50, 0) with a shared vertex; a third crossing both without one."""
    return gpd.GeoDataFrame(
        {"bridge": [None, None, third.get("bridge")], "layer": [None, None, third.get("layer")]},
        geometry=[
            shapely.LineString([_xy(0, 0), _xy(50, 0), _xy(100, 0)]),
            shapely.LineString([_xy(50, -50), _xy(50, 0), _xy(50, 50)]),
            shapely.LineString([_xy(0, 20), _xy(100, 20.3)]),
        ],
        crs=26910,
    )


def test_lines_crossing_without_a_shared_vertex_meet_there():
    # survey and CAD exports often leave the junction vertex out: the crossing is a junction
    net = build_network(_crossing_lines(), crs="EPSG:26910")
    assert node_at(net, "walk", 50, 0) is not None  # a junction of degree 4
    assert node_at(net, "walk", 50, 20.15) is not None  # the crossing that had no vertex
    assert net.report.walk.dropped_nodes == 0
    assert "1 junctions added where streets meet without a shared vertex" in net.report.source


@pytest.mark.parametrize("level", [{"bridge": "yes"}, {"layer": 1}])
def test_a_bridge_or_another_layer_crosses_without_meeting(level):
    net = build_network(_crossing_lines(**level), crs="EPSG:26910")
    assert node_at(net, "walk", 50, 0) is not None
    assert net.walk.number_of_nodes() == 5  # the bridge line, unconnected, is dropped
    assert net.report.walk.dropped_nodes == 2
    assert "1 crossings kept apart as bridges, tunnels or layers" in net.report.source


def test_a_side_street_ending_short_of_the_main_street_meets_it():
    lines = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([_xy(0, 0), _xy(100, 0)]),
            shapely.LineString([_xy(40, 0.3), _xy(40, 80)]),  # ends 0.3 m short, mid-segment
        ],
        crs=26910,
    )
    net = build_network(lines, crs="EPSG:26910", snap_m=0.5)
    assert net.report.walk.dropped_nodes == 0
    assert net.walk.number_of_nodes() == 4  # both ends of the main street, the T, the end


def test_a_street_through_the_station_between_far_vertices_is_kept():
    # one straight 3 km segment crosses the station; its vertices lie far outside the clip
    station = shapely.box(*_xy(1400, -100), *_xy(1600, 100))
    lines = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([_xy(0, 0), _xy(3000, 0)]),
            shapely.LineString([_xy(1500, -1500), _xy(1500, 1500)]),
        ],
        crs=26910,
    )
    boundary = gpd.GeoSeries([station], crs=26910).to_crs(4326)
    net = build_network(lines, boundary=boundary, buffer_m=100, crs="EPSG:26910", min_coverage=0)
    assert node_at(net, "walk", 1500, 0) is not None
    # both streets, both ways, clipped to the 400 m of the buffered station (to 50 m steps)
    assert 4 * 0.3 <= net.report.walk.km <= 4 * 0.4


@pytest.mark.parametrize(
    ("tags", "walk", "ride"),
    [
        ({"highway": "residential"}, True, True),
        ({"highway": "footway"}, True, False),
        ({"highway": "steps"}, True, False),
        ({"highway": "pedestrian"}, True, False),
        ({"highway": "living_street"}, True, True),
        ({"highway": "cycleway"}, False, True),
        ({"highway": "cycleway", "foot": "designated"}, True, True),
        ({"highway": "footway", "bicycle": "yes"}, True, True),
        ({"highway": "motorway"}, False, False),
        ({"highway": "motorway_link"}, False, False),
        ({"highway": "trunk"}, False, True),
        ({"highway": "service", "service": "parking_aisle"}, True, False),
        ({"highway": "service", "service": "alley"}, True, True),
        ({"highway": "residential", "access": "private"}, False, False),
        ({"highway": "residential", "foot": "no"}, False, True),
        ({"highway": "primary", "sidewalk": "separate"}, False, True),
        ({"highway": "pedestrian", "area": "yes"}, False, False),
        ({"highway": "construction"}, False, False),
    ],
)
def test_tag_filters(tags, walk, ride):
    assert way_allowed(tags, "walk") is walk
    assert way_allowed(tags, "ride") is ride


@pytest.mark.parametrize(
    ("value", "kph"),
    [("30", 30.0), ("25 mph", 40.2336), ("50;30", 30.0), ("RU:urban", None), ("0", None)],
)
def test_parse_speed(value, kph):
    assert parse_speed_kph(value) == (pytest.approx(kph) if kph else None)


def test_unknown_profile():
    with pytest.raises(InputError, match=r"profile 'drive' is unknown; use one of 'walk', 'ride'"):
        way_allowed({"highway": "residential"}, "drive")


@pytest.mark.slow
def test_demo_pbf_builds_clipped_to_the_station(demo_net):
    rep = demo_net.report
    assert demo_net.crs == "EPSG:26910"
    assert rep.buffer_m == 300
    assert 2000 < rep.walk.nodes < 4000 and 1000 < rep.ride.nodes < 2500
    # a plain boundary: coverage is checked on its 200 m cells
    assert rep.walk.coverage == 1.0 and rep.ride.coverage == 1.0 and rep.walk.units > 130
    assert rep.ride.dropped_nodes > 0  # one-way stubs cut at the clip edge
    station = gpd.read_file(STATION).to_crs(26910).geometry.iloc[0]
    for profile in ("walk", "ride"):
        nodes = demo_net.node_frame(profile)
        assert nodes.distance(station).max() <= 300 + 1
        assert nx.is_strongly_connected(demo_net.graph(profile))
    highways = {h for *_, h in demo_net.walk.edges(data="highway")}
    assert any("footway" in h for h in highways) and any("steps" in h for h in highways)
    assert not any("motorway" in h for h in highways)
    # riders keep footways and paths only where bicycles are allowed, and never take steps
    ride_highways = [h for *_, h in demo_net.ride.edges(data="highway")]
    assert not any("steps" in h for h in ride_highways)
    assert sum("footway" in h for h in ride_highways) < 0.1 * len(ride_highways)
    assert any("maxspeed_kph" in d for *_, d in demo_net.ride.edges(data=True))
    assert any(d["oneway"] for *_, d in demo_net.ride.edges(data=True))


@pytest.mark.slow
def test_osm_xml_bz2_crop_builds_the_same_graph_as_the_pbf():
    b4 = gpd.read_file(GRID).query("id == 'S01-B4'")
    from_bz2 = build_network(B4_OSM_BZ2, boundary=b4, buffer_m=100, crs="EPSG:26910")
    from_pbf = build_network(DEMO_PBF, boundary=b4, buffer_m=100, crs="EPSG:26910")
    assert from_bz2.walk.number_of_nodes() > 300
    for profile in ("walk", "ride"):
        a, b = from_bz2.graph(profile), from_pbf.graph(profile)
        assert set(a.nodes) == set(b.nodes)
        assert set(a.edges(keys=True)) == set(b.edges(keys=True))


def test_osm_xml_with_negative_ids(tmp_path):
    # edited extracts (JOSM, OTP test data) carry negative ids; GDAL's default index rejects them
    coords = {-1: (-122.6800, 45.5200), -2: (-122.6790, 45.5200), -3: (-122.6780, 45.5200)}
    nodes = "".join(
        f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in coords.items()
    )
    path = tmp_path / "edited.osm"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6" generator="test">'
        f"{nodes}"
        '<way id="-5" version="1"><nd ref="-1"/><nd ref="-2"/><nd ref="-3"/>'
        '<tag k="highway" v="residential"/><tag k="maxspeed" v="20 mph"/></way></osm>',
        encoding="utf-8",
    )
    net = build_network(path)
    assert set(net.walk.nodes) == {-1, -3}  # -2 is interstitial, simplified away
    assert {d["osmid"] for *_, d in net.ride.edges(data=True)} == {"-5"}
    speeds = [d["maxspeed_kph"] for *_, d in net.ride.edges(data=True)]
    assert speeds == [pytest.approx(32.18688)] * 2  # 20 mph, both directions
    assert net.walk.edges[-1, -3, 0]["length"] == pytest.approx(156, abs=1)


def test_save_and_load_round_trip(lines_file, tmp_path):
    net = build_network(lines_file, crs="EPSG:26910")
    path = save_network(net, tmp_path / "net.gpkg")
    loaded = load_network(path)
    assert loaded == net
    assert loaded.report == net.report
    assert loaded.walk.edges[next(iter(loaded.walk.edges(keys=True)))].keys() >= {
        "length",
        "geometry",
        "oneway",
        "osmid",
    }
    # readable in QGIS: one nodes and one edges layer per profile
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"walk_nodes", "walk_edges", "ride_nodes", "ride_edges"} <= layers
    # overwrite in place keeps a valid file
    save_network(net, path)
    assert load_network(path) == net


def test_load_rejects_files_that_are_not_networks(tmp_path):
    with pytest.raises(InputError, match=r"grid\.gpkg: not a gridplan street network .* no "):
        load_network(ROOT / "data" / "boundaries" / "grid.gpkg")
    with pytest.raises(InputError, match=r"not a gridplan street network.*gridplan network build"):
        load_network(GRID)
    text = tmp_path / "notes.gpkg"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not a gridplan street network"):
        load_network(text)
    with pytest.raises(InputError, match="file not found"):
        load_network(tmp_path / "missing.gpkg")
    with pytest.raises(InputError, match=r"ending in \.gpkg"):
        save_network(build_network(street_lines(), crs="EPSG:26910"), tmp_path / "net.json")


def test_network_that_misses_the_station_is_refused(lines_file):
    far = shapely.box(*_xy(50_000, 50_000), *_xy(51_000, 51_000))
    boundary = gpd.GeoSeries([far], crs=26910)
    with pytest.raises(InputError, match=r"do not overlap\. Use an extract of the station's area"):
        build_network(lines_file, boundary=boundary, crs="EPSG:26910")
    # overlapping, but most of the station has no street within 200 m
    wide = gpd.GeoSeries([shapely.box(*_xy(0, 0), *_xy(2000, 1000))], crs=26910)
    with pytest.raises(InputError) as info:
        build_network(lines_file, boundary=wide, crs="EPSG:26910")
    message = str(info.value)
    assert "does not cover the station" in message
    assert "walk: 10% (5 of 50 200 m cells have a street within 200 m); ride: 10%" in message
    assert "osmium extract" in message


def test_boundary_clip_and_grid_coverage_units(lines_file):
    micro = [
        shapely.box(*_xy(-20, -20), *_xy(110, 110)),
        shapely.box(*_xy(110, -20), *_xy(220, 110)),
    ]
    grid = gpd.GeoDataFrame(
        {
            "id": ["S", "S-B1", "S-B1-M1", "S-B1-M2"],
            "level": ["station", "base", "micro", "micro"],
        },
        geometry=[shapely.union_all(micro), shapely.union_all(micro), *micro],
        crs=26910,
    )
    calls = []
    net = build_network(
        lines_file,
        boundary=grid,
        buffer_m=30,
        crs="EPSG:26910",
        progress=lambda *a: calls.append(a),
    )
    assert net.report.walk.units == 2 and net.report.walk.coverage == 1.0
    assert node_at(net, "walk", 300, 0) is None  # G is 80 m outside the boundary: clipped
    assert node_at(net, "walk", 100, 0) is not None
    assert calls[-1] == ("build networks", 2, 2)
    summary = json.loads(json.dumps(net.summary()))
    assert summary["walk"]["units"] == 2 and summary["buffer_m"] == 30


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="buffer_m=-1"):
        build_network(street_lines(), buffer_m=-1)
    with pytest.raises(InputError, match=r"missing\.osm\.pbf: file not found"):
        build_network(tmp_path / "missing.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not an osm file at all" * 10)
    with pytest.raises(InputError, match="cannot read the OpenStreetMap extract"):
        build_network(junk)
    points = gpd.GeoDataFrame(geometry=[shapely.Point(_xy(0, 0))], crs=26910)
    with pytest.raises(InputError, match="no LineString features"):
        build_network(points)


def test_street_name_for_route_sheets():
    net = build_network(B4_OSM_BZ2, crs="EPSG:26910")
    G = net.walk
    named = [
        (u, d["name"]) for u, _, d in G.edges(data=True) if d.get("name") and ";" not in d["name"]
    ]
    assert named
    for u, _ in named[:50]:
        at_node = {
            n.strip()
            for _, _, d in [*G.out_edges(u, data=True), *G.in_edges(u, data=True)]
            for n in str(d.get("name") or "").split(";")
            if n.strip()
        }
        assert net.street_name("walk", u) in at_node
    assert "Southwest 4th Avenue" in {net.street_name("walk", u) for u, _ in named}
    assert net.street_name("walk", -999) == ""  # not a node of the graph


def test_lines_that_cannot_be_streets_are_skipped_by_name_and_the_others_kept():
    with np.errstate(invalid="ignore"):  # shapely warns on the NaN it is asked to build
        nan_line = shapely.linestrings([_xy(0, 0), (np.nan, Y0), _xy(0, 100)])
    lines = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([_xy(0, 0), _xy(100, 0)]),
            nan_line,
            shapely.LineString([_xy(50, 50), _xy(50, 50)]),
            shapely.LineString([_xy(100, 0), _xy(100, 100)]),
        ],
        crs=26910,
    )
    with pytest.warns(GridplanWarning) as caught:
        net = build_network(lines, crs="EPSG:26910")
    text = str(caught[0].message)
    assert "2 street line(s) skipped: #2 (NaN or infinite coordinates), #3 (no length)" in text
    # the two good lines, joined at (100, 0): 200 m of street each way between two ends
    assert net.walk.number_of_nodes() == 2
    assert net.report.walk.km == pytest.approx(0.4)
