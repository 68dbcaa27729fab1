"""The public API: docs/api.md is current, every name is documented and its examples run.

The examples are the docstrings' ``Examples`` sections, run as doctests from the repo root
(they read ``data/`` and ``tests/data/``) with the globals of the module that defines each
name, as ``python -m doctest`` would.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib.util
import inspect
import re
import sys
from pathlib import Path

import pytest

import gridplan

ROOT = Path(__file__).parents[1]
API_MD = ROOT / "docs" / "api.md"

PENDING: set[str] = set()  # public names whose docstrings are still to be written
PUBLIC = [n for n in gridplan.__all__ if n != "__version__"]
# the exception hierarchy (gridplan/_errors.py) is imported eagerly; everything else lazily,
# and only resolved inside the tests so that collecting this file stays fast
ERRORS = {n for n in PUBLIC if n not in gridplan._LAZY}
DOCUMENTED = [n for n in PUBLIC if n not in ERRORS | PENDING]


def _script():
    spec = importlib.util.spec_from_file_location(
        "api_reference", ROOT / "scripts" / "api_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(doc: str) -> set[str]:
    return set(re.findall(r"^(\w[\w ]*)\n-{3,}$", doc, flags=re.M))


def test_api_md_is_up_to_date():
    problems = _script().check()
    assert not problems, "\n".join(problems)


def test_groups_fail_on_a_name_missing_from_the_page():
    script = _script()
    problems = script.check_groups([*gridplan.__all__, "brand_new_function"])
    assert any("brand_new_function" in p for p in problems)
    assert not script.check_groups(list(gridplan.__all__))


def test_every_public_name_is_importable_and_listed():
    listed = set(re.findall(r"^### `(\w+)`$", API_MD.read_text(encoding="utf-8"), flags=re.M))
    for name in PUBLIC:
        assert getattr(gridplan, name) is not None
    assert listed == set(PUBLIC)


def test_readme_table_lists_the_same_groups():
    """The README's Python API table is the short form of the page: same areas, same names."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| area | names |") :].split("\n\n", 1)[0]
    rows = {
        row.split(" | ")[0].strip("| "): re.findall(
            r"`(\w+)`", row.split(" | ", 1)[1].split("(")[0]
        )
        for row in table.splitlines()[2:]
    }
    assert rows == {area: list(names) for area, names in _script().GROUPS.items()}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_numpy_docstring_with_examples(name):
    obj = getattr(gridplan, name)
    doc = inspect.getdoc(obj) or ""
    sections = _sections(doc)
    summary = doc.splitlines()[0] if doc else ""
    assert summary.endswith("."), f"{name}: the summary line should be one sentence"
    assert "Examples" in sections, f"{name}: no Examples section"
    assert ">>> " in doc.split("Examples\n--------", 1)[1], f"{name}: Examples has no doctest"
    if inspect.isclass(obj):
        if dataclasses.is_dataclass(obj) or hasattr(obj, "_fields"):
            assert "Attributes" in sections, f"{name}: no Attributes section"
    else:
        if inspect.signature(obj).parameters:
            assert "Parameters" in sections, f"{name}: no Parameters section"
        assert "Returns" in sections, f"{name}: no Returns section"


@pytest.mark.parametrize("name", [n for n in ERRORS if n != "GridplanError"])
def test_errors_say_when_they_are_raised(name):
    doc = inspect.getdoc(getattr(gridplan, name))
    assert len(doc.split("\n\n")) >= 2, f"{name}: say when it is raised and what callers do"


@pytest.fixture(scope="module")
def in_repo_root():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        yield


@pytest.mark.parametrize("name", [n for n in PUBLIC if n not in PENDING])
def test_examples_run(name, in_repo_root):
    obj = getattr(gridplan, name)
    module = sys.modules[obj.__module__]
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, name, module=module, globs=vars(module).copy())
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    out: list[str] = []
    for test in tests:
        runner.run(test, out=out.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"examples of gridplan.{name} failed:\n" + "".join(out)
