"""The solver package's layout: OR-Tools behind one module, short functions."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
PACKAGE = ROOT / "gridplan"
SOLVER = PACKAGE / "routing" / "solver"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_adapter_imports_ortools():
    importers = sorted(
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if any(n == "ortools" or n.startswith("ortools.") for n in _imports(p))
    )
    assert importers == ["gridplan/routing/solver/_ortools.py"]


@pytest.mark.parametrize(
    "module",
    [
        "gridplan.routing.solver",  # the model, for plan files and problems
        "gridplan.routing.solver.lns.operators",
        "gridplan.routing.solver.lns.budgets",
    ],
)
def test_the_model_and_the_moves_load_without_ortools(module):
    code = f"import sys, {module}; print(any(m.startswith('ortools') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_no_function_body_over_100_lines():
    long = []
    for path in SOLVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno
                if size > 100:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {size}")
    assert not long
