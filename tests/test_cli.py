import io
import json
import re
import sys

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridplan._validate import EXCESS_CLASSES
from gridplan.cli import main

# A tiny station near Shanghai in UTM 51N: 1,000 m x 400 m, five 200 m wide base grids,
# each split into two 200 m micro-grids (north and south).
X0, Y0 = 350_000.0, 3_460_000.0


def _tiny_grid() -> gpd.GeoDataFrame:
    rows = [
        {
            "id": "S01",
            "level": "station",
            "parent_id": None,
            "name": "示范警务室",
            "geometry": shapely.box(X0, Y0, X0 + 1000, Y0 + 400),
        }
    ]
    for b in range(5):
        bid = f"S01-B{b + 1}"
        x = X0 + 200 * b
        rows.append(
            {
                "id": bid,
                "level": "base",
                "parent_id": "S01",
                "name": f"第{b + 1}基础网格",
                "geometry": shapely.box(x, Y0, x + 200, Y0 + 400),
            }
        )
        for m, y in enumerate((Y0 + 200, Y0)):
            rows.append(
                {
                    "id": f"{bid}-M{m + 1:03d}",
                    "level": "micro",
                    "parent_id": bid,
                    "name": f"微网格{b + 1}-{m + 1}",
                    "geometry": shapely.box(x, y, x + 200, y + 200),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:32651").to_crs(4326)


@pytest.fixture
def grid_file(tmp_path):
    """The tiny valid 1+5+10 grid as GeoJSON."""
    p = tmp_path / "grid.geojson"
    _tiny_grid().to_file(p)
    return p


@pytest.fixture
def incidents_file(tmp_path):
    """A GBK CSV with Chinese headers: 40 good rows over two years and two bad rows."""
    pts = gpd.GeoSeries(
        [
            shapely.Point(X0 + 50 + (i % 5) * 200 + (i % 3) * 10, Y0 + 30 + (i % 2) * 200)
            for i in range(40)
        ],
        crs="EPSG:32651",
    ).to_crs(4326)
    times = [f"{2018 + i % 2}-0{1 + i % 9}-1{i % 10} {(i * 5) % 24:02d}:15" for i in range(40)]
    df = pd.DataFrame(
        {
            "警情编号": [f"J{i:04d}" for i in range(40)],
            "经度": pts.x.round(6),
            "纬度": pts.y.round(6),
            "发生时间": times,
            "案件类别": ["盗窃" if i % 3 else "抢劫" for i in range(40)],
            "备注": ["" for _ in range(40)],
        }
    )
    bad = pd.DataFrame(
        {
            "警情编号": ["X1", "X2"],
            "经度": [121.4, "abc"],
            "纬度": [95.0, 31.2],
            "发生时间": ["2019-01-01 10:00", "2019-01-01 11:00"],
            "案件类别": ["盗窃", "盗窃"],
            "备注": ["坏纬度", "坏经度"],
        }
    )
    p = tmp_path / "警情.csv"
    pd.concat([df, bad]).to_csv(p, index=False, encoding="gbk")
    return p


def _run(runner, args):
    return runner.invoke(main, args, catch_exceptions=False)


def _hotspots(runner, grid_file, incidents_file, out, extra):
    args = ["hotspots", "--grid", str(grid_file), "--incidents", str(incidents_file)]
    return _run(runner, [*args, "--out", str(out), *extra])


def test_every_command_has_help(runner):
    for args in (
        [],
        ["grids", "validate"],
        ["grids", "generate"],
        ["incidents", "import"],
        ["hotspots"],
        ["backtest"],
        ["demo"],
    ):
        result = _run(runner, [*args, "--help"])
        assert result.exit_code == 0, args
        assert "Usage:" in result.output


def test_validate_valid_grid(runner, grid_file):
    result = _run(runner, ["grids", "validate", str(grid_file), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["valid"] is True and summary["feature_count"] == 16


def test_validate_invalid_grid_exits_1_with_report(runner, tmp_path):
    grid = _tiny_grid().to_crs(32651)
    # push micro-grid S01-B1-M001 50 m east into its neighbour's base grid
    i = grid.index[grid["id"] == "S01-B1-M001"][0]
    grid.loc[i, "geometry"] = shapely.affinity.translate(grid.geometry[i], 50, 0)
    p = tmp_path / "bad.geojson"
    grid.to_crs(4326).to_file(p)
    result = _run(runner, ["grids", "validate", str(p)])
    assert result.exit_code == 1
    assert "S01-B1-M001" in result.stdout and "INVALID" in result.stdout


def test_validate_fix_writes_new_file_and_keeps_input(runner, tmp_path):
    grid = _tiny_grid()
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert not bowtie.is_valid
    grid = grid.to_crs(32651)
    i = grid.index[grid["id"] == "S01-B5-M002"][0]
    g = grid.geometry[i]
    minx, miny, maxx, maxy = g.bounds
    # a self-intersecting outline of the same cell (drawn as a bow-tie plus the cell)
    grid.loc[i, "geometry"] = shapely.Polygon(
        [(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)]
    )
    p = tmp_path / "bowtie.geojson"
    grid.to_crs(4326).to_file(p)
    before = p.read_bytes()
    out = tmp_path / "fixed.geojson"
    result = _run(runner, ["grids", "validate", str(p), "--fix", "--out", str(out), "--json"])
    summary = json.loads(result.stdout)
    assert any(r["feature_id"] == "S01-B5-M002" for r in summary["repairs"])
    assert out.exists() and p.read_bytes() == before


def test_unreadable_input_exits_2_without_traceback(runner, tmp_path):
    p = tmp_path / "broken.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    result = runner.invoke(main, ["grids", "validate", str(p)])
    assert result.exit_code == 2
    assert "broken.geojson" in result.stderr and "broken JSON" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_error_message_is_one_line_whatever_the_path_length(runner, tmp_path):
    """Wrapped at 100 characters, "broken JSON" split over two lines for some temp paths."""
    for k in range(8):
        folder = tmp_path / ("d" * (k * 7 + 1))
        folder.mkdir()
        p = folder / "broken.geojson"
        p.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
        result = runner.invoke(main, ["grids", "validate", str(p)])
        assert result.exit_code == 2
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"gridplan: error: {p}") and "broken JSON" in line


def test_error_messages_wrap_at_a_terminal(monkeypatch):
    from gridplan import cli

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    with pytest.raises(SystemExit) as info:
        cli._fail("the file is unreadable " * 10, 2)
    lines = stream.getvalue().splitlines()
    assert info.value.code == 2 and len(lines) > 2 and all(len(x) <= 100 for x in lines)


def test_usage_errors_exit_2(runner, grid_file, tmp_path):
    result = runner.invoke(main, ["grids", "validate", str(grid_file), "--fix"])
    assert result.exit_code == 2 and "--fix needs --out" in result.stderr
    result = runner.invoke(main, ["backtest", "--grid", str(grid_file)])
    assert result.exit_code == 2


def test_the_command_line_keeps_its_advice_in_english(runner, tmp_path):
    """The web UI replaces this advice with its forms'; the command line keeps its flags."""
    bad = tmp_path / "bad.csv"
    bad.write_text("案件编号,经度,纬度,案发时间\nX1,999,999,2024-03-05\n", encoding="utf-8")
    result = runner.invoke(
        main, ["incidents", "import", str(bad), "--out", str(tmp_path / "o.gpkg")]
    )
    assert result.exit_code == 2
    assert (
        "none of the 1 rows could be imported. First problems: row 2 经度='999': longitude is "
        "outside -180..180. Fix the file, or name the right columns explicitly (e.g. --column "
        "lon=经度)"
    ) in result.stderr
    grid = tmp_path / "grid.geojson"
    grid.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"id": "S1", "level": "station"}, "geometry": {"type": "Polygon", "coordinates": '
        "[[[500000, 3300000], [501000, 3300000], [501000, 3301000], [500000, 3300000]]]}}]}",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["grids", "validate", str(grid)])
    assert result.exit_code == 2
    assert (
        "which are metres, not lon/lat; pass the real CRS, e.g. crs='EPSG:4547' (CLI: --crs)"
        in (result.stderr)
    )


def test_incidents_import_writes_clean_and_rejects(runner, incidents_file, grid_file, tmp_path):
    out = tmp_path / "clean.geojson"
    result = _run(
        runner,
        [
            "incidents",
            "import",
            str(incidents_file),
            "--grid",
            str(grid_file),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["kept"] == 40 and summary["rejected"] == 2
    assert summary["swapped"] is False  # was the string "False" with --grid
    assert summary["unweighted_categories"] == {}
    clean = gpd.read_file(out)
    assert len(clean) == 40 and clean["category"].isin(["盗窃", "抢劫"]).all()
    rejects = pd.read_csv(summary["rejects_file"], encoding="utf-8-sig")
    # header is line 1, the 40 good rows are lines 2-41: the bad rows are lines 42 and 43
    assert sorted(rejects["row"].tolist()) == [42, 43]


def test_incidents_import_names_categories_without_a_weight(runner, tmp_path):
    path = tmp_path / "toronto.csv"
    rows = ["Assault"] * 3 + ["Break and Enter"] * 2 + ["Robbery"]
    body = "".join(f"GO-{k},-79.4,43.7,2014/03/02 05:00:00+00,{c}\n" for k, c in enumerate(rows))
    path.write_text("id,lon,lat,time,category\n" + body, encoding="utf-8")
    result = _run(runner, ["incidents", "import", str(path), "--out", str(tmp_path / "c.geojson")])
    assert result.exit_code == 0, result.output
    assert (
        "warning: 2 categories have no weight in scoring.category_weights and count with "
        "scoring.default_weight = 1: 'Assault' (3 rows), 'Break and Enter' (2 rows); give them "
        'weights in the station config (--config), e.g. [scoring.category_weights] "Assault" = '
        "3.0, and import again"
    ) in result.stdout


def test_hotspots_and_backtest(runner, grid_file, incidents_file, tmp_path):
    out = tmp_path / "hot.geojson"
    html = tmp_path / "hot.html"
    csv = tmp_path / "hot.csv"
    result = _hotspots(
        runner,
        grid_file,
        incidents_file,
        out,
        [
            "--map",
            str(html),
            "--csv",
            str(csv),
            "--permutations",
            "99",
            "--tiles",
            "none",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    hot = gpd.read_file(out)
    assert set(hot["slice"]) == {"all", "morning", "day", "evening", "night"}
    assert hot.loc[hot["slice"] == "all", "count"].sum() == 40
    # 10 micro-grids: a small station, classed against the station's mean (shipped "auto")
    assert json.loads(result.stdout)["classes"] == "excess"
    assert set(hot["gi_class"]) <= set(EXCESS_CLASSES)
    # the score is the forecast chosen for the station; the file says which, per slice
    forecast = json.loads(result.stdout)["forecast"]
    assert set(forecast["names"]) == set(hot["slice"])
    day = hot[hot["slice"] == "day"]
    assert set(day["forecast"]) == {forecast["names"]["day"]} and "hotspot_score" in hot
    assert html.read_text(encoding="utf-8").count("S01-B1-M001") >= 1
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")

    result = _run(
        runner,
        [
            "backtest",
            "--grid",
            str(grid_file),
            "--incidents",
            str(incidents_file),
            "--fit",
            "2018",
            "--score",
            "2019",
            "--area-share",
            "0.2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.DataFrame(json.loads(result.stdout)["table"])
    assert {"gridplan", "baseline"} <= set(table["method"])
    assert (table["area_share"] == 0.2).all()


def test_backtest_rolling_mode(runner, grid_file, incidents_file):
    base = ["backtest", "--grid", str(grid_file), "--incidents", str(incidents_file)]
    args = [*base, "--horizon", "28d", "--origins", "monthly:2019-03-01..2019-08-01"]
    result = _run(runner, [*args, "--area-share", "0.2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["horizon_days"] == 28 and summary["area_share"] == 0.2
    assert summary["origins"] == 6 and summary["reported_on"] == ["2019-03-01", "2019-08-01"]
    assert summary["chosen_on"][1] < "2019-03-01"  # chosen on earlier origins only
    assert set(summary["chosen"]) == {"all", "morning", "day", "evening", "night"}
    methods = pd.DataFrame(summary["methods"])
    assert {"prior", "last 365d", "recency"} <= set(methods["method"])
    assert {"pai", "pei", "hit_rate"} <= set(methods.columns)
    text = _run(runner, args)
    assert text.exit_code == 0, text.output
    assert "horizon 28 d" in text.stdout and "CHOSEN" in text.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fit", "2018", "--horizon", "7d"], "not both"),
        ([], "give --fit and --score"),
        (["--horizon", "fortnight"], "7d, 28d, 365d"),
        (["--origins", "mondays"], "weekly:START..END"),
        (["--origins", "weekly:2030-01-01..2030-02-01"], "pick earlier origins"),
    ],
)
def test_backtest_usage_errors(runner, grid_file, incidents_file, extra, message):
    base = ["backtest", "--grid", str(grid_file), "--incidents", str(incidents_file)]
    result = runner.invoke(main, [*base, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_every_map_command_defaults_to_no_tiles():
    """Maps are offline by default, as in the web UI (issue 14)."""
    from gridplan.cli import main

    def commands(group):
        for cmd in group.commands.values():
            yield from commands(cmd) if hasattr(cmd, "commands") else [cmd]

    defaults = {
        cmd.name: p.default for cmd in commands(main) for p in cmd.params if p.name == "tiles"
    }
    assert {"hotspots", "demo"} <= set(defaults)
    assert set(defaults.values()) == {"none"}


@pytest.mark.parametrize(
    ("extra", "host"),
    [
        ([], None),
        (["--tiles", "openstreetmap"], "tile.openstreetmap.org"),
        (["--tiles", "http://tiles.station.local/{z}/{x}/{y}.png"], "tiles.station.local"),
    ],
)
def test_hotspot_map_tiles(runner, grid_file, incidents_file, tmp_path, extra, host):
    html = tmp_path / "hot.html"
    args = ["--map", str(html), "--permutations", "9", *extra]
    result = _hotspots(runner, grid_file, incidents_file, tmp_path / "hot.geojson", args)
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert "S01-B1-M001" in text
    tile_layers = re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", text)
    if host is None:
        assert tile_layers == [] and "openstreetmap.org" not in text
    else:
        assert len(tile_layers) == 1 and host in tile_layers[0]


@pytest.mark.slow
def test_demo_runs_on_bundled_data(runner, demo_dir, tmp_path):
    out = tmp_path / "demo"
    result = _run(
        runner,
        ["demo", "--data", str(demo_dir), "--out", str(out), "--tiles", "none", "--json",
         "--time-limit", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["grid_valid"] is True and summary["grid"].startswith("1+5+")
    for name in (
        "hotspots.geojson",
        "hotspots.csv",
        "hotspots.html",
        "grid.geojson",
        "backtest.txt",
        "network.gpkg",
        "plan.plan.json",
        "plan.gpx",
        "plan.csv",
        "plan.geojson",
    ):
        assert (out / name).stat().st_size > 0, name
    assert summary["plan"] == {"date": "2024-06-08", "feasible": True, "check_ok": True}


def test_validate_three_files_and_column_override(runner, tmp_path):
    grid = _tiny_grid()
    paths = []
    for level in ("station", "base", "micro"):
        part = grid[grid["level"] == level].drop(columns="level")
        part = part.rename(columns={"id": "网格编码", "parent_id": "上级"})
        p = tmp_path / f"{level}.geojson"
        part.to_file(p)
        paths.append(str(p))
    result = _run(
        runner,
        [
            "grids",
            "validate",
            *paths,
            "--column",
            "id=网格编码",
            "--column",
            "parent_id=上级",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["feature_count"] == 16
    result = runner.invoke(main, ["grids", "validate", *paths[:2]])
    assert result.exit_code == 2 and "three (station, base, micro)" in result.stderr
    result = runner.invoke(main, ["grids", "validate", paths[0], "--column", "id"])
    assert result.exit_code == 2 and "FIELD=HEADER" in result.stderr


def test_hotspot_geojson_opens_in_gdal(runner, grid_file, incidents_file, tmp_path):
    import subprocess

    out = tmp_path / "hot.geojson"
    result = _hotspots(runner, grid_file, incidents_file, out, ["--permutations", "99"])
    assert result.exit_code == 0, result.output
    info = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(out)], capture_output=True, text=True, check=True
    ).stdout
    # 10 micro-grids x (all + 4 slices), WGS 84, and the documented fields
    assert "Feature Count: 50" in info and "WGS 84" in info
    for field in (
        "id: String",
        "slice: String",
        "count: Integer",
        "gi_class: String",
        "gi_z: Real",
        "gi_p_sim: Real",
        "score: Real",
    ):
        assert field in info, field


def test_incidents_import_reads_its_limits_from_the_environment(runner, tmp_path):
    path = tmp_path / "jq.csv"
    path.write_text("经度,纬度,发生时间\n" + "116.4,39.9,2024-03-05 14:30\n" * 5, encoding="utf-8")
    args = ["incidents", "import", str(path), "--out", str(tmp_path / "o.geojson")]
    result = runner.invoke(main, args, env={"GRIDPLAN_IMPORT_MAX_ROWS": "3"})
    assert result.exit_code == 2
    assert "number of rows (5) exceeds the limit of 3" in result.stderr
    assert "GRIDPLAN_IMPORT_MAX_ROWS" in result.stderr
    result = runner.invoke(main, args, env={"GRIDPLAN_IMPORT_MAX_ROWS": "lots"})
    assert result.exit_code == 2 and "GRIDPLAN_IMPORT_MAX_ROWS = 'lots'" in result.stderr
    assert runner.invoke(main, args, env={"GRIDPLAN_IMPORT_MAX_ROWS": "5"}).exit_code == 0


def _commands(group, path=()):
    import click

    for name, cmd in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_help_text_shows_no_click_escape(path):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "\\b" not in result.output and "\b" not in result.output
