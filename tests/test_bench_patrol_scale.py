import importlib.util
import json
from pathlib import Path

import pytest

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


SMALL = [
    "--osm",
    str(B4_OSM_BZ2),
    f"--bbox={B4_BBOX}",  # '=': the value starts with a minus sign
    "--cells",
    "30",
    "--patrollers",
    "8",
    "--n-incidents",
    "2000",
    "--workers",
    "1",
    "--json",
]


def test_patrol_scale_runs_on_a_small_station(capsys):
    bench = load_script()
    code = bench.main([*SMALL, "--time-limit", "1"])
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


def test_convergence_and_hog_figures(capsys):
    bench = load_script()
    argv = [*SMALL, "--time-limit", "0.5", "--convergence", "--long-factor", "2", "--hog"]
    code = bench.main(argv)
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    conv = out["convergence"]
    assert list(conv["runs"]) == ["short", "long", "hog"]
    assert [r["time_limit_s"] for r in conv["runs"].values()] == [0.5, 1.0, 0.5]
    short, long = conv["runs"]["short"], conv["runs"]["long"]
    keys = {"morning", "day", "evening", "night", "whole_day"}
    assert set(short["risk_covered"]) == keys and set(short["prize_share"]) == keys
    # the short run is the plan the benchmark times
    assert all(
        round(short["risk_covered"][k], 4) == s["risk_covered"] for k, s in out["slices"].items()
    )
    assert all(len(r["load_before"]) == len(r["load_after"]) == 3 for r in conv["runs"].values())
    assert set(conv["ratios"]) == {"short/long", "hog/long"}
    day = conv["ratios"]["short/long"]["whole_day"]
    assert day == round(short["risk_covered"]["whole_day"] / long["risk_covered"]["whole_day"], 4)
    assert {"convergence[short/long]", "convergence[hog/long]"} <= set(out["pass"])
    hog = conv["runs"]["hog"]["hog"]
    assert hog["cpu_s"] > 0 and hog["wall_s"] > 0


def test_cpu_hog_is_killed_on_an_error():
    bench = load_script()
    with pytest.raises(KeyboardInterrupt), bench.cpu_hog() as hog:
        raise KeyboardInterrupt
    assert hog["cpu_s"] is not None  # reaped by the context manager: it is gone
