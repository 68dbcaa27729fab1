import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def load_script():
    spec = importlib.util.spec_from_file_location("bench_top", ROOT / "benchmarks" / "top.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_top_benchmark_runs_all_solvers_and_rechecks(capsys):
    bench = load_script()
    assert len(bench.SAMPLE) == 24 and len(set(bench.SAMPLE)) == 24
    argv = [
        str(DATA / "top_p2.2.k.txt"),
        "--time-limit",
        "0.5",
        "--workers",
        "1",
        "--bks",
        str(DATA / "top_bks.csv"),
        "--json",
    ]
    assert bench.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cores"] >= 1
    rows = {r["solver"]: r for r in out["rows"]}
    assert set(rows) == {"gridplan", "ortools-plain", "pyvrp"}
    for row in rows.values():
        assert row["bks"] == 275 and row["feasible"], row
        assert 0 < row["score"] <= 275 and row["gap_pct"] >= 0
    # 21 nodes: gridplan reaches the best-known score even in half a second
    assert rows["gridplan"]["score"] == 275
    assert out["gridplan_over_pyvrp_score_ratio"] > 0
    assert out["summary_by_set"]["gridplan"]["2"]["total_score"] == 275


def test_summary_per_set():
    bench = load_script()
    rows = [
        {"instance": "p4.2.j", "gap_pct": 1.0, "feasible": True, "seconds": 10.0, "score": 9},
        {"instance": "p4.3.j", "gap_pct": 3.0, "feasible": True, "seconds": 10.0, "score": 8},
        {"instance": "p7.2.a", "gap_pct": None, "feasible": False, "seconds": 1.0, "score": 0},
    ]
    assert bench.set_of("p7.2.a") == "7" and bench.set_of("top_p2.2.k") == "2"
    four = bench.summarise(rows[:2])
    assert (four["mean_gap_pct"], four["max_gap_pct"], four["total_score"]) == (2.0, 3.0, 17)
    seven = bench.summarise(rows[2:])
    assert seven["mean_gap_pct"] is None and seven["infeasible"] == 1
