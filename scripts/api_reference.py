"""Write ``docs/api.md``, the reference of every name in ``gridplan.__all__``.

Usage::

    python scripts/api_reference.py            # rewrite docs/api.md
    python scripts/api_reference.py --check    # exit 1 if docs/api.md is out of date

Names are grouped by area, as in the README's "Python API" table (:data:`GROUPS`); each
entry shows the signature (for classes, the constructor), the first line of the docstring and
the module that defines it. A name in ``gridplan.__all__`` that no group lists, or a group
name that is not in ``__all__``, makes the script fail: add it to :data:`GROUPS` when you
export a new name. ``tests/test_api_reference.py`` runs the check, so the page cannot go
stale. The file is only rewritten when its text changes.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"
COMMAND = "python scripts/api_reference.py"

#: area -> public names, in the order they are listed
GROUPS: dict[str, tuple[str, ...]] = {
    "configuration": ("load_config", "default_config", "StationConfig", "TimeSlice"),
    "grids": (
        "load_grid",
        "write_grid",
        "validate_grid",
        "fix_grid",
        "ValidationReport",
        "GridIssue",
        "Repair",
        "generate_grid",
        "balance_table",
    ),
    "incidents": ("import_incidents", "ImportResult", "write_incidents", "write_rejects"),
    "time": ("Period", "parse_period", "assign_slices", "shift_date"),
    "hot spots": (
        "compute_hotspots",
        "hotspot_summary",
        "read_hotspots",
        "write_hotspots",
        "backtest",
        "BacktestResult",
    ),
    "output": ("write_geodata", "write_csv", "hotspot_map", "save_map"),
    "patrol force": ("Patroller", "PatrolPolicy", "resolve_home_bases"),
    "street network": (
        "build_network",
        "save_network",
        "load_network",
        "StreetNetwork",
        "access_points",
        "snap_points",
        "travel_matrix",
        "TravelMatrix",
        "route_geometry",
        "route_nodes",
    ),
    "patrol plans": (
        "plan_patrols",
        "plan_variants",
        "PlanRequest",
        "Target",
        "read_targets",
        "Alert",
        "PlanSettings",
        "build_problem",
        "PatrolProblem",
        "PatrolPlan",
        "SlicePlan",
        "PatrolRoute",
        "PlannedStop",
        "SliceMetrics",
        "Duty",
        "save_plan",
        "load_plan",
        "check_plan",
        "CheckReport",
        "export_plan",
        "stop_table",
    ),
    "patrol tracks": (
        "import_track",
        "TrackImport",
        "clean_fixes",
        "TrackParams",
        "CheckIn",
        "read_check_ins",
        "compute_presence",
        "TrackPresence",
        "presence_table",
        "compute_compliance",
        "Compliance",
        "write_fixes",
        "write_track_rejects",
        "write_compliance",
    ),
    "feedback and evaluation": (
        "actual_presence",
        "ActualPresence",
        "read_presence_table",
        "evaluate_patrols",
        "PatrolEvaluation",
    ),
    "solver core": (
        "PrizeVRP",
        "Vehicle",
        "RevisitGroup",
        "CoverGroup",
        "solve_prize_vrp",
        "SolveParams",
        "variants",
        "VariantSet",
        "similarity",
        "PrizeVRPSolution",
        "Route",
        "Visit",
        "read_top",
        "TopInstance",
    ),
    "errors": (
        "GridplanError",
        "InputError",
        "PlanRequestError",
        "CRSError",
        "ConfigError",
        "ValidationError",
        "InfeasiblePlanError",
        "GridplanWarning",
    ),
}

#: in ``__all__`` but not an API entry
NOT_LISTED = ("__version__",)

INTRO = """\
# Python API reference

<!-- Made by `python scripts/api_reference.py` from the docstrings; do not edit by hand. -->

Everything is importable from the top-level package:

```python
import gridplan as gp

grid = gp.load_grid("data/boundaries/grid.geojson")
```

Names resolve lazily on first use (PEP 562), so `import gridplan` stays fast and the
geospatial stack loads only when a function needs it. This page lists each public name with
its signature, the first line of its docstring and the module that defines it; the full
docstring, with parameters and a runnable example, is one `help(gp.NAME)` away (for example
`help(gp.plan_patrols)`). Results are GeoDataFrames and frozen dataclasses; inputs are never
modified. Every error derives from `gp.GridplanError`.
"""


def listed_names() -> list[str]:
    """Return every name of :data:`GROUPS`, in page order."""
    return [name for names in GROUPS.values() for name in names]


def check_groups(all_names: list[str]) -> list[str]:
    """Return problems with :data:`GROUPS` against ``gridplan.__all__`` (empty when fine)."""
    listed = listed_names()
    problems = []
    repeated = sorted({n for n in listed if listed.count(n) > 1})
    if repeated:
        problems.append(f"listed in more than one group: {', '.join(repeated)}")
    public = set(all_names) - set(NOT_LISTED)
    missing = sorted(public - set(listed))
    if missing:
        problems.append(
            f"in gridplan.__all__ but in no group of scripts/api_reference.py: "
            f"{', '.join(missing)}; add each to GROUPS"
        )
    unknown = sorted(set(listed) - public)
    if unknown:
        problems.append(f"listed in GROUPS but not in gridplan.__all__: {', '.join(unknown)}")
    return problems


def _signature(obj) -> str:
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return ""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return ""
    # postponed annotations are strings; show them unquoted, as written in the source
    params = [
        p.replace(annotation=_Annotation(p.annotation)) if isinstance(p.annotation, str) else p
        for p in sig.parameters.values()
    ]
    ret = sig.return_annotation
    if ret in ("None", None) or inspect.isclass(obj):
        ret = inspect.Signature.empty
    elif isinstance(ret, str):
        ret = _Annotation(ret)
    return str(sig.replace(parameters=params, return_annotation=ret))


class _Annotation:
    """An annotation string that prints without quotes."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _entry(name: str, obj) -> str:
    doc = inspect.getdoc(obj) or ""
    summary = doc.strip().splitlines()[0] if doc.strip() else "(no docstring)"
    kind = "class" if inspect.isclass(obj) else "function"
    lines = [f"### `{name}`", "", f"```python\n{name}{_signature(obj)}\n```", ""]
    lines += [summary, "", f"{kind} in `{obj.__module__}`", ""]
    return "\n".join(lines)


def render() -> str:
    """Return the text of ``docs/api.md`` for the installed ``gridplan``."""
    import gridplan

    problems = check_groups(list(gridplan.__all__))
    if problems:
        raise SystemExit("\n".join(problems))
    parts = [INTRO, "## Contents", ""]
    for area, names in GROUPS.items():
        shown = ", ".join(f"`{n}`" for n in names)
        parts.append(f"- **{area}**: {shown}")
    parts.append("")
    for area, names in GROUPS.items():
        parts += [f"## {area[0].upper()}{area[1:]}", ""]
        parts += [_entry(name, getattr(gridplan, name)) for name in names]
    return "\n".join(parts).rstrip() + "\n"


def check(path: Path = API_MD) -> list[str]:
    """Return why ``path`` is out of date (empty when it matches :func:`render`)."""
    if not path.exists():
        return [f"{path.relative_to(ROOT)} is missing; run {COMMAND}"]
    if path.read_text(encoding="utf-8") != render():
        return [f"{path.relative_to(ROOT)} is out of date; run {COMMAND}"]
    return []


def write(path: Path = API_MD) -> bool:
    """Write ``path`` if its text changed; return whether it was written."""
    text = render()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    written = write()
    print(f"{'wrote' if written else 'unchanged'} {API_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
