"""The analyst notebooks in notebooks/ run top to bottom on the demo data and are committed clean.

Each notebook is executed with nbclient in a fresh ``python3`` kernel, from ``notebooks/`` as
Jupyter would, with ``GRIDPLAN_NOTEBOOK_OUT`` pointing into pytest's temporary folder so that
nothing is written into the source tree. A failing cell fails the test with its source and
traceback. About two minutes for the three on two cores.
"""

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
CELL_TIMEOUT_S = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Files each notebook must leave in its output folder (``$GRIDPLAN_NOTEBOOK_OUT/<stem>/``).
EXPECTED_FILES = {
    "01_hotspots": ["hotspots.html"],
    "02_patrol_planning": ["2024-06-08.plan.json"],
    "03_export_to_gis": [
        "grid.geojson",
        "grid.gpkg",
        "grid_3layers.gpkg",
        "incidents.geojson",
        "incidents.gpkg",
        "incidents.csv",
        "incidents_rejects.csv",
        "hotspots.geojson",
        "hotspots.gpkg",
        "hotspots.csv",
        "hotspot_summary.csv",
        "hotspots.html",
        "network.gpkg",
        "2024-06-08.plan.json",
        "plan.geojson",
        "plan.gpkg",
        "plan.csv",
        "plan.gpx",
        "plan_V01.gpx",
    ],
}


def _outputs(nb, output_type=None):
    for cell in nb.cells:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if output_type is None or out.get("output_type") in output_type:
                    yield out


def _run(path: Path, out_dir: Path, monkeypatch):
    """Execute the notebook at ``path`` like Jupyter does; fail with the failing cell."""
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("GRIDPLAN_NOTEBOOK_OUT", str(out_dir))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        failure = _ANSI.sub("", str(exc))
    else:
        return nb
    # outside the except block, so that pytest shows the cell once and not nbclient's traceback
    pytest.fail(f"{path.name} failed:\n{failure}", pytrace=False)


def test_notebook_folder_is_complete():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED_FILES)


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_notebook_is_committed_clean(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"code cells {dirty} have outputs or execution counts: clear them"


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_notebook_runs(name, tmp_path, monkeypatch):
    before = sorted(NOTEBOOKS.rglob("*"))
    nb = _run(NOTEBOOKS / f"{name}.ipynb", tmp_path, monkeypatch)
    assert sorted(NOTEBOOKS.rglob("*")) == before, "the notebook wrote into notebooks/"

    assert not list(_outputs(nb, {"error"}))
    out_dir = tmp_path / name
    missing = [f for f in EXPECTED_FILES[name] if not (out_dir / f).is_file()]
    assert not missing, f"{name} did not write {missing} to {out_dir}"

    rich = list(_outputs(nb, {"display_data", "execute_result"}))
    text = "".join(o.get("text", "") for o in _outputs(nb, {"stream"}))
    if name in ("01_hotspots", "02_patrol_planning"):
        assert any("image/png" in o["data"] for o in rich), "no matplotlib figure"
    if name == "01_hotspots":
        maps = [o for o in rich if "leaflet" in o["data"].get("text/html", "").lower()]
        assert maps, "no folium map in the outputs"
        assert "PAI at   5% of the area" in text
    if name == "02_patrol_planning":
        assert "independent check: OK" in text
        whatif = next(o for o in rich if "B. +2 volunteer teams" in o["data"].get("text/plain", ""))
        assert "INVALID" not in whatif["data"]["text/plain"]
    if name == "03_export_to_gis":
        assert "round trips OK: True" in text
