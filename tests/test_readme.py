"""The README's quick start is the contract with users and CI: keep it true."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_quick_start_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    assert "gridplan serve --demo" in commands[0]  # the main job: the web UI on the demo
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quick_start_commands()[1] in ci.splitlines()


def test_python_api_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Python API.*?```python\n(.*?)```", readme, flags=re.S).group(1)
    code = code.replace('"data/', f'"{ROOT}/data/')
    monkeypatch.chdir(tmp_path)  # the example's outputs land here
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["report"].ok
    assert (tmp_path / "hotspots.html").stat().st_size > 0
    assert (tmp_path / "hotspots.geojson").stat().st_size > 0


@pytest.mark.slow
def test_patrol_planning_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    api = re.search(r"## Python API.*?```python\n(.*?)```", readme, flags=re.S).group(1)
    patrol = re.search(r"## Patrol planning.*?```python\n(.*?)```", readme, flags=re.S).group(1)
    code = (api + patrol).replace('"data/', f'"{ROOT}/data/')
    code = code.replace("time_limit_s=10", "time_limit_s=1, workers=1")  # keep the suite quick
    code = code.replace(
        "hot = gp.compute_hotspots(grid, result.incidents, config=cfg)",
        "hot = gp.compute_hotspots(grid, result.incidents, config=cfg, permutations=0)",
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    plan = namespace["plan"]
    assert plan.is_feasible()
    assert len(plan.slices) == 4
    routes = namespace["routes"]
    assert routes.crs.to_epsg() == 4326 and len(routes) > 0
