"""Every public name listed in gridplan.__all__ imports and is documented."""

import importlib
import inspect
import subprocess
import sys

import pytest

import gridplan


@pytest.mark.parametrize("name", gridplan.__all__)
def test_public_name_resolves_and_has_docstring(name):
    obj = getattr(gridplan, name)
    if name != "__version__":
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gridplan.nope  # noqa: B018


def test_import_stays_light():
    code = "import sys, gridplan; print('geopandas' in sys.modules, 'esda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_names_come_from_their_modules():
    hotspots = importlib.import_module("gridplan.analysis.hotspots")
    assert gridplan.compute_hotspots is hotspots.compute_hotspots


def test_no_public_function_is_shadowed_by_a_submodule():
    # importing a submodule sets it as an attribute of the package; a function of the same
    # name would then resolve to the module (gridplan.backtest once did)
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(gridplan.__path__)}
    assert not modules & set(gridplan.__all__)
