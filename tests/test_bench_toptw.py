"""benchmarks/toptw.py: its reader, its independent checker and one solve per solver."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
C101 = Path(__file__).parent / "data" / "toptw_c101.txt"


def load_script():
    """The benchmark script ``benchmarks/toptw.py`` as a module."""
    spec = importlib.util.spec_from_file_location("bench_toptw", ROOT / "benchmarks/toptw.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_reader_gives_the_file_in_tenths():
    bench = load_script()
    inst = bench.read_instance(C101)
    assert inst.n == 101 and inst.tmax == 12360 and int(inst.profit.sum()) == 1810
    assert inst.distances()[0, 1] == 186  # depot (40, 50) -> (45, 68): 18.68 truncated to 18.6
    assert inst.service[1] == 900 and (inst.open[1], inst.close[1]) == (9120, 9670)


def test_the_checker_refuses_what_breaks_a_rule():
    bench = load_script()
    inst = bench.read_instance(C101)
    assert bench.check(inst, [], 1) == 0
    with pytest.raises(ValueError, match="served twice"):
        bench.check(inst, [[20], [20]], 2)
    with pytest.raises(ValueError, match="after its window"):
        bench.check(inst, [[1, 20]], 1)  # 20 closes long before 1's window opens
    with pytest.raises(ValueError, match="2 paths for m = 1"):
        bench.check(inst, [[20], [21]], 1)


@pytest.mark.parametrize("solver", ["gridplan", "pyvrp", "vroom"])
def test_each_solver_gives_a_checked_solution_within_the_optimum(solver):
    bench = load_script()
    inst = bench.read_instance(C101)
    routes = bench.SOLVERS[solver](inst, 1, 1.0, 1)
    score = bench.check(inst, routes, 1)
    assert 0 < score <= 320  # the proven OPTW optimum of c101
