"""The package's structure: one package per pipeline stage, imports pointing down the chain.

Read with :mod:`ast` from the source, so they hold for code paths no other test runs:

- **No import cycle** among gridplan modules. Module-level imports (also inside a module-level
  ``try`` or ``if``) must be acyclic: a cycle there leaves a half-initialised module behind
  for whichever module the interpreter reaches first. Function-level imports, which run later
  and defer heavy libraries, must not close a cycle between packages either: a stage that
  reaches back up the chain (``cli -> web.commands -> web.demo -> cli`` before
  :mod:`gridplan.pipeline`) is the tangle the layout exists to prevent. Inside one package a
  lazy import back is the package's own affair (the solver's ``params`` checks OR-Tools names
  through ``_ortools`` on demand). Imports under ``if TYPE_CHECKING:`` never run and do not
  count; nor do the parent packages a dotted import initialises (Python initialises a package
  before its modules).
- **The stages never import a front end's libraries**: nothing under ``geo/``, ``analysis/``,
  ``forecast/``, ``network/``, ``routing/``, ``station/``, ``io/`` or ``tracks/`` imports
  folium, Flask or WeasyPrint, at
  any level, nor imports (at module level, transitively) a gridplan module that does.
- **No module imports another stage's private names**: ``from gridplan.geo.grid import
  _helper`` and ``from gridplan.geo._columns import ...`` are for modules of ``geo/``; what two
  stages share is public in its stage or on the ground floor (``gridplan/_errors.py``,
  ``_messages.py``, ``_progress.py``, ``_validate.py``).
- **No function over 100 lines**, counted from ``def`` to its last line without the
  docstring.
- **One module imports OR-Tools**: the solver's adapter, ``_ortools.py``.
- **No test module imports another**: what tests share lives in ``tests/_*.py``.
- **Dask stays in the city package**: only ``city/`` imports dask, distributed and
  dask-geopandas, and only inside functions, so ``import gridplan`` never loads them; the
  city package is above the pipeline's stages (it runs them), so no stage, nor
  ``pipeline.py``, imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gridplan"
STAGES = ("geo", "analysis", "forecast", "network", "routing", "station", "io", "tracks", "city")
#: the packages below the city package: the pipeline's stages (the city runs them)
BELOW_CITY = ("geo", "analysis", "forecast", "network", "routing", "station", "io", "tracks")
DASK_LIBRARIES = ("dask", "distributed", "dask_geopandas")
FRONT_END_LIBRARIES = ("folium", "flask", "flask_babel", "flask_login", "weasyprint", "branca")
MAX_FUNCTION_LINES = 100


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


TREES = _trees()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module):
    """Yield the import statements that run when the module is imported."""
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            todo[:0] = [*node.body, *node.orelse]
        elif isinstance(node, ast.Try):
            todo[:0] = [*node.body, *node.orelse, *node.finalbody]
            for handler in node.handlers:
                todo[:0] = handler.body


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
    """Return (gridplan module, imported name or None) pairs of one import statement."""
    if isinstance(node, ast.Import):
        return [(a.name, None) for a in node.names if a.name.split(".")[0] == "gridplan"]
    base = node.module or ""
    if node.level:  # relative import
        parts = module.split(".")
        if MODULES[module].name != "__init__.py":
            parts = parts[:-1]
        base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [base])])
    if base.split(".")[0] != "gridplan":
        return []
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append((sub, None) if sub in MODULES else (base, alias.name))
    return out


def _runtime_imports(tree: ast.Module):
    """Yield every import statement that can run: all of them but ``if TYPE_CHECKING:`` ones."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for sub in node.body for n in ast.walk(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skip:
            yield node


def _graph(*, function_level: bool = False) -> dict[str, set[str]]:
    graph = {}
    for name, tree in TREES.items():
        edges = set()
        imports = _runtime_imports(tree) if function_level else _module_level_imports(tree)
        for node in imports:
            for target, _ in _targets(name, node):
                if target in MODULES and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_module_level_import_graph_has_no_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _stage_of(module: str) -> str:
    """The package a module belongs to at the top (``routing`` for the solver too), or itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else module


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_function_level_imports_close_no_cycle_between_packages():
    graph = _graph(function_level=True)
    tangled = [c for c in _components(graph) if len({_stage_of(m) for m in c}) > 1]
    cycles = [" -> ".join(_cycle({m: graph[m] & set(c) for m in c})) for c in tangled]
    assert not cycles, "import cycle between packages: " + "; ".join(cycles)


def test_the_cycle_finders_find_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"d"}}
    assert _components(graph) == [["a", "b"]]


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def _all_imports(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_folium_flask_or_weasyprint(stage):
    graph = _graph()
    direct = {
        name
        for name, tree in TREES.items()
        if any(i.split(".")[0] in FRONT_END_LIBRARIES for i in _all_imports(tree))
    }
    bad = []
    for name in (m for m in MODULES if _stage(m) == stage):
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in direct:
                bad.append(f"{name} (through {current})" if current != name else name)
                break
            todo.extend(graph[current])
    assert not bad, f"{stage}/ imports a front end's library: {bad}"


def test_writing_geopackages_with_styles_loads_no_front_end_library(tmp_path):
    """The QGIS styles take the maps' colours from maps/palette.py, which needs no folium."""
    code = f"""
import sys
import geopandas as gpd
import pandas as pd
import shapely
import gridplan as gp
grid = gp.load_grid({str(ROOT / "tests" / "data" / "grid_clean.geojson")!r})
gp.write_grid(grid, {str(tmp_path / "grid.gpkg")!r}, three_layers=True)
micro = grid[grid["level"] == "micro"]
hot = gpd.GeoDataFrame(
    {{"id": micro["id"].to_numpy(), "slice": "all", "score": 1.0, "rank": 1,
      "gi_class": "hot_99", "count": 2}}, geometry=micro.geometry.to_numpy(), crs=grid.crs)
gp.write_hotspots(hot, {str(tmp_path / "hot.gpkg")!r})
points = micro.geometry.representative_point().to_numpy()
incidents = gpd.GeoDataFrame(
    {{"id": [str(k) for k in range(len(points))],
      "time": pd.Timestamp("2024-06-08 10:00", tz="Asia/Shanghai"), "category": "theft",
      "alert": "red", "weight": 1.0, "in_station": True, "source_row": 2}},
    geometry=points, crs=grid.crs)
gp.write_incidents(incidents, {str(tmp_path / "incidents.gpkg")!r})
loaded = sorted(m for m in {FRONT_END_LIBRARIES!r} if m in sys.modules)
assert not loaded, loaded
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert {p.name for p in tmp_path.iterdir()} >= {"grid.gpkg", "hot.gpkg", "incidents.gpkg"}


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def test_no_module_imports_another_stages_private_names():
    bad = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target, imported in _targets(name, node):
                if target not in MODULES:
                    continue
                home = _package(target)
                # a package's modules, and those of its subpackages (solver/lns/ uses the
                # solver's _ortools), may use its private names; the ground floor's private
                # names stay private to it
                if _package(name) == home or (home != "gridplan" and name.startswith(home + ".")):
                    continue
                private_module = any(p.startswith("_") for p in target.split(".")[2:])
                if private_module or (imported or "").startswith("_"):
                    bad.append(f"{name} imports {target} {imported or ''}".rstrip())
    assert not bad, "private names used across stages:\n  " + "\n  ".join(sorted(bad))


def _long_functions() -> list[str]:
    out = []
    for name, tree in TREES.items():
        path = MODULES[name].relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            first = node.body[0]
            doc = 0
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                doc = first.end_lineno - first.lineno + 1
            lines = node.end_lineno - node.lineno + 1 - doc
            if lines > MAX_FUNCTION_LINES:
                out.append(f"{path}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_is_longer_than_100_lines():
    long = _long_functions()
    assert not long, "functions over 100 lines (cut them at their sections):\n  " + "\n  ".join(
        long
    )


def test_only_the_ortools_adapter_imports_ortools():
    importers = sorted(
        name
        for name, tree in TREES.items()
        if any(i.split(".")[0] == "ortools" for i in _all_imports(tree))
    )
    assert [name.rsplit(".", 1)[1] for name in importers] == ["_ortools"], importers


TESTS = ROOT / "tests"


def _test_module_imports(tree: ast.Module, test_modules: set[str]) -> list[str]:
    """The test modules ``tree`` imports (by their module name, with or without a package)."""
    return sorted(
        name for name in _all_imports(tree) if any(part in test_modules for part in name.split("."))
    )


def test_no_module_under_tests_imports_a_test_module():
    """What tests share lives in ``tests/_*.py`` (``_lattice``, ``_web``, ``_browser`` ...)."""
    test_modules = {p.stem for p in TESTS.rglob("test_*.py")}
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _test_module_imports(tree, test_modules):
            bad.append(f"{path.relative_to(ROOT).as_posix()} imports {name}")
    assert not bad, "move what they share to a tests/_*.py module:\n  " + "\n  ".join(bad)


def test_the_test_import_finder_finds_imports_at_any_level():
    tree = ast.parse(
        "import test_a\nfrom tests.geo.test_b import x\n"
        "def f():\n    from test_c import y\nfrom _helper import z\n"
    )
    assert _test_module_imports(tree, {"test_a", "test_b", "test_c"}) == [
        "test_a",
        "test_c",
        "tests.geo.test_b",
    ]


def _imports_of(tree: ast.Module, roots: tuple[str, ...], *, module_level: bool) -> list[str]:
    # imports under `if TYPE_CHECKING:` never run: type hints may name dask's classes
    nodes = _module_level_imports(tree) if module_level else _runtime_imports(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in roots]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found += [node.module] if node.module.split(".")[0] in roots else []
    return found


def test_only_the_city_package_imports_dask_and_only_inside_functions():
    outside = sorted(
        name
        for name, tree in TREES.items()
        if not name.startswith("gridplan.city")
        and _imports_of(tree, DASK_LIBRARIES, module_level=False)
    )
    assert not outside, f"dask imported outside gridplan/city: {outside}"
    eager = sorted(
        name for name, tree in TREES.items() if _imports_of(tree, DASK_LIBRARIES, module_level=True)
    )
    assert not eager, f"dask imported at module level (import it in the function): {eager}"


def test_importing_gridplan_and_its_command_line_loads_no_dask():
    code = (
        "import sys, gridplan, gridplan.cli, gridplan.city.plans, gridplan.city.hotspots\n"
        f"loaded = sorted(m for m in {DASK_LIBRARIES!r} if m in sys.modules)\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_no_stage_nor_the_pipeline_imports_the_city_package():
    below = [m for m in MODULES if _stage(m) in BELOW_CITY or m == "gridplan.pipeline"]
    bad = sorted(
        name
        for name in below
        if any(
            i.startswith("gridplan.city")
            for i in _imports_of(TREES[name], ("gridplan",), module_level=False)
        )
    )
    assert not bad, f"the city package is above the stages; these import it: {bad}"
