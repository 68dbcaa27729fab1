import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gridplan.cli import main
from gridplan.network.graphs import load_network

ROOT = Path(__file__).parents[1]
B4_OSM_BZ2 = ROOT / "tests" / "data" / "network_portland_b4.osm.bz2"
X0, Y0 = 525_000.0, 5_040_000.0  # EPSG:26910


@pytest.fixture
def lines_file(tmp_path) -> Path:
    """A square block of four two-way streets and a one-way diagonal, as GeoJSON."""
    corners = [(0, 0), (100, 0), (100, 100), (0, 100)]
    lines = [
        shapely.LineString([(X0 + a[0], Y0 + a[1]), (X0 + b[0], Y0 + b[1])])
        for a, b in zip(corners, corners[1:] + corners[:1], strict=True)
    ]
    lines.append(shapely.LineString([(X0, Y0), (X0 + 100, Y0 + 100)]))
    gdf = gpd.GeoDataFrame(
        {"oneway": ["no"] * 4 + ["yes"], "speed": [30, 30, 30, 30, 20]},
        geometry=lines,
        crs=26910,
    )
    path = tmp_path / "streets.geojson"
    gdf.to_crs(4326).to_file(path)
    return path


def invoke(runner, *args):
    return runner.invoke(main, ["network", "build", *map(str, args)])


def test_build_from_lines_json(runner, lines_file, tmp_path):
    out = tmp_path / "net.gpkg"
    result = invoke(runner, "--lines", lines_file, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["out"] == str(out)
    # the two corners off the diagonal are bends, simplified away
    assert summary["walk"]["nodes"] == 2 and summary["walk"]["edges"] == 6
    assert summary["ride"]["edges"] == 5  # the diagonal one way only
    assert summary["buffer_m"] is None
    net = load_network(out)
    assert net.report.summary() == {k: v for k, v in summary.items() if k != "out"}
    assert {d.get("maxspeed_kph") for *_, d in net.ride.edges(data=True)} == {30.0, 20.0}


def test_build_from_osm_with_boundary_text(runner, tmp_path):
    b4 = gpd.read_file(ROOT / "data" / "boundaries" / "grid.geojson").query("id == 'S01-B4'")
    boundary = tmp_path / "b4.geojson"
    b4.to_file(boundary)
    config = tmp_path / "station.toml"
    config.write_text('[crs]\nmetric = "EPSG:26910"\n', encoding="utf-8")
    out = tmp_path / "net.gpkg"
    result = invoke(
        runner, "--osm", B4_OSM_BZ2, "--boundary", boundary, "--buffer", 100,
        "--config", config, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "clipped to the boundary + 100 m, EPSG:26910" in result.stdout
    assert "walk: " in result.stdout and "ride: " in result.stdout
    assert f"network saved to {out}" in result.stdout
    assert load_network(out).crs == "EPSG:26910"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --osm PATH or --lines PATH"),
        (["--osm", "a.osm.pbf", "--lines", "b.geojson"], "give exactly one of --osm"),
        (["--osm", "streets.geojson"], "is not an OSM extract; use --osm for"),
        (["--lines", "missing.geojson"], "missing.geojson: file not found"),
    ],
)
def test_usage_and_input_errors_exit_2(runner, tmp_path, args, message):
    result = invoke(runner, *args, "--out", tmp_path / "net.gpkg")
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_network_not_covering_the_boundary_exits_2(runner, lines_file, tmp_path):
    boundary = tmp_path / "far.geojson"
    gpd.GeoSeries([shapely.box(X0, Y0, X0 + 3000, Y0 + 3000)], crs=26910).to_crs(4326).to_file(
        boundary
    )
    out = tmp_path / "net.gpkg"
    result = invoke(runner, "--lines", lines_file, "--boundary", boundary, "--out", out)
    assert result.exit_code == 2
    assert "does not cover the station" in " ".join(result.stderr.split())
    assert not out.exists()
    result = invoke(runner, "--lines", lines_file, "--out", tmp_path / "net.geojson")
    assert result.exit_code == 2 and "must end in .gpkg" in result.stderr
