import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
B4_OSM_BZ2 = ROOT / "tests" / "data" / "network_portland_b4.osm.bz2"
# inside base grid S01-B4 of the demo station, which the B4 extract covers
B4_BBOX = "-122.6818,45.5156,-122.6728,45.5230"


def load_script():
    spec = importlib.util.spec_from_file_location(
        "bench_patrol_scale", ROOT / "benchmarks" / "patrol_scale.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roster_mix():
    bench = load_script()
    roster = bench.make_roster(40, ["B1", "B2", "B3", "B4", "B5"])
    roles = [p["role"] for p in roster]
    assert len(roster) == 40 and len({p["id"] for p in roster}) == 40
    assert roles.count("captain") == 1 and roles.count("auxiliary") == 10
    assert roles.count("seasonal") == 5 and roles.count("volunteer_team") == 24
    cfg = bench.make_config(40, ["S01-B1", "S01-B2", "S01-B3", "S01-B4", "S01-B5"])
    assert len(cfg.roster) == 40


def test_patrol_scale_runs_on_a_small_station(capsys):
    bench = load_script()
    argv = [
        "--osm",
        str(B4_OSM_BZ2),
        f"--bbox={B4_BBOX}",  # '=': the value starts with a minus sign
        "--cells",
        "30",
        "--patrollers",
        "8",
        "--n-incidents",
        "2000",
        "--time-limit",
        "1",
        "--workers",
        "1",
        "--json",
    ]
    code = bench.main(argv)
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 1)  # PASS/FAIL lines are figures, not assertions
    assert 25 <= out["micro_grids"] <= 36
    assert out["incidents"] > 1000 and out["micro_grids_with_risk"] > 0
    assert set(out["matrices"]) == {"walk", "ride"}
    assert out["matrices"]["walk"]["size"] == out["micro_grids"] + 1
    assert out["feasible"], out["violations"]
    assert set(out["slices"]) == {"morning", "day", "evening", "night"}
    assert any(s["visits"] > 0 for s in out["slices"].values())
    assert all(0 <= s["risk_covered"] <= 1 for s in out["slices"].values())
    assert {"build_problem", "solve", "slice_plan"} <= set(out["plan_stages_s"])
    assert out["peak_rss_gb"] > 0
