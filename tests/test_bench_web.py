"""benchmarks/web.py on a tiny station: its figures are well-formed (their values are not)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "web.py"
PAGES = ("overview", "map page", "map frame", "plans list", "plan page", "sheets")


def load_script():
    spec = importlib.util.spec_from_file_location("bench_web", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_pg_expected() -> bool:
    """Whether the PostgreSQL figures must be there (the test cluster can run here)."""
    from _pg import bindir

    return bindir() is not None


def test_help_runs():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--clients" in out and "--cell-size" in out


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [(list(range(1, 21)), 0.95, 19), (list(range(20, 0, -1)), 0.5, 10), ([7.0], 0.95, 7.0)],
)
def test_percentile_is_the_nearest_rank(values, q, expected):
    assert load_script().percentile(values, q) == expected


@pytest.fixture(scope="module")
def figures(request):
    """One run of the benchmark on a tiny station: 400 m cells, straight lines, one slice;
    the clients again on PostgreSQL where the test cluster can run (``tests/_pg.py``)."""
    from _pg import OWNER
    from _pg import bindir

    bench = load_script()
    argv = [
        "--cell-size", "400", "--no-network", "--slices", "evening", "--plan-time-limit", "0.5",
        "--clients", "5", "--rounds", "2", "--browser-runs", "1", "--json",
    ]  # fmt: skip
    if bindir() is not None:
        cluster = request.getfixturevalue("pg_cluster")
        name = cluster.new_database()
        argv += ["--database-url", cluster.url(name, OWNER), "--app-url", cluster.url(name)]
    args = bench.parse_args(argv)
    return bench, bench.run(args, say=lambda _line: None)


def test_figures_are_well_formed(figures):
    bench, f = figures
    json.dumps(f, default=str)  # --json can print them
    assert f["n_micro"] > 5 and f["threads"] == 8 and "cores" in f["machine"]
    assert set(f["frames"]) == {"grid map frame", "plan map frame"}
    for frame in f["frames"].values():
        assert frame["status"] == 200 and frame["bytes"] > 10_000
        assert frame["cold_s"] > 0 and frame["warm_s"] > 0
    load = f["load"]
    assert load["clients"] == 5 and load["errors"] == []
    assert list(load["pages"]) == list(PAGES)
    for name, p in load["pages"].items():
        assert p["requests"] == 10 and p["not_ok"] == 0, (name, p)
        assert 0 < p["p50_ms"] <= p["p95_ms"] <= p["max_ms"]
        assert p["bytes"] > 500 and p["requests_per_s"] > 0
    if "load_postgresql" in f or bench_pg_expected():
        pg = f["load_postgresql"]
        assert pg["errors"] == [] and list(pg["pages"]) == list(PAGES)
        for name, p in pg["pages"].items():
            assert p["requests"] == 10 and p["not_ok"] == 0, (name, p)
    if bench.chromium_available():
        assert set(f["browser"]) == {"grid map", "plan page"}
        for page in f["browser"].values():
            # the page, its frame, the app's CSS and Leaflet at least, all counted
            assert page["requests"] >= 4 and page["bytes"] > 100_000
            assert 0 < page["tti_s"] and page["wall_s"] > 0
            assert page["largest"][0][0] >= page["largest"][-1][0]
    else:
        assert "skipped" in f["browser_skipped"]


def test_report_prints_every_figure_with_its_target(figures, capsys):
    bench, f = figures
    bench.print_report(f)
    out = capsys.readouterr().out
    lines = out.splitlines()
    for name in PAGES:
        assert any(line.strip().startswith(name) for line in lines), name
        assert any(
            line.strip().endswith(f"{name} p95 <= 300 ms") and line.split()[0] in {"PASS", "FAIL"}
            for line in lines
        ), name
    assert "grid map frame" in out and "plan map frame" in out
    if "browser" in f:
        assert sum("payload <= 1.5 MB" in line for line in lines) == 2
        assert sum("time to interactive <= 1.5 s" in line for line in lines) == 2
    if "load_postgresql" in f:
        assert "store on PostgreSQL (p95 ms: SQLite -> PostgreSQL)" in out
