"""The ``gridplan`` command line.

A thin layer over the library: it parses options, calls gridplan, prints a human summary (or a
JSON one with ``--json``) and turns library errors into one-paragraph messages.

Exit codes: 0 success; 1 the checked input is invalid (``grids validate``); 2 bad input or
usage (unreadable file, wrong option), with the reason on stderr; 3 an internal error (a bug:
re-run with ``--debug`` for the traceback and report it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class _Progress:
    """Turn library progress callbacks into tqdm bars on stderr (hidden when not a TTY)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(
                total=total,
                desc=stage,
                file=sys.stderr,
                leave=False,
                disable=None,  # only on a terminal: logs and pipes stay clean
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}]",
            )
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _fail(message: str, code: int) -> None:
    text = f"gridplan: error: {message}"
    # wrapped for a person at a terminal only: scripts, logs and tests get one line to match
    if getattr(sys.stderr, "isatty", lambda: False)():
        text = textwrap.fill(text, width=min(100, shutil.get_terminal_size().columns))
    click.echo(text, err=True)
    sys.exit(code)


def run_command(func: Callable, args: tuple, kwargs: dict, *, as_json: bool, debug: bool):
    """Run a command body: print its summary or text, map errors to exit codes, and exit."""
    from gridplan._errors import GridplanError

    ctx = click.get_current_context()
    ctx.obj = {"json": as_json, "progress": _Progress(enabled=not as_json)}
    try:
        with _user_warnings(debug):
            result = func(*args, **kwargs)
    except GridplanError as exc:
        if debug:
            raise
        ctx.obj["progress"].close()
        _fail(str(exc), EXIT_BAD_INPUT)
    except (click.ClickException, click.exceptions.Exit, SystemExit):
        raise
    except Exception as exc:
        if debug:
            raise
        ctx.obj["progress"].close()
        _fail(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug in gridplan: "
            "re-run with --debug for the traceback and report it.",
            EXIT_INTERNAL,
        )
    ctx.obj["progress"].close()
    summary, text, code = result if result is not None else ({}, "", 0)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=_json_value))
    elif text:
        click.echo(text)
    sys.exit(code)


@contextlib.contextmanager
def _user_warnings(debug: bool):
    """Show gridplan's warnings as one line each; other libraries' only with ``--debug``.

    A GridplanWarning tells the user something about their data (a ring that was closed,
    parents derived from overlaps); Python's default display adds a line of gridplan's source
    that reads like a traceback. The warnings of the libraries underneath (a RuntimeWarning of
    shapely on a NaN coordinate, pandas' parsing notes) are about code, not data: the readers
    report what they mean for the file.
    """
    from gridplan._errors import GridplanWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, GridplanWarning) or not debug:
            click.echo(f"gridplan: warning: {message}", err=True)
        else:
            click.echo(warnings.formatwarning(message, category, filename, lineno), err=True)

    with warnings.catch_warnings():
        if not debug:
            warnings.simplefilter("ignore")
        warnings.simplefilter("always", GridplanWarning)
        warnings.showwarning = show
        yield


def _json_value(value: Any) -> Any:
    """JSON types for NumPy scalars and arrays (``json.dumps`` default); text for the rest.

    ``str()`` alone made a NumPy ``False`` the truthy string ``"False"``.
    """
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable summary."
)
DEBUG_OPTION = click.option("--debug", is_flag=True, help="Show the Python traceback on errors.")


def command_options(func: Callable) -> Callable:
    """Add ``--json`` and ``--debug`` to a command and translate errors to exit codes."""

    @JSON_OPTION
    @DEBUG_OPTION
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, debug: bool, **kwargs: Any) -> None:
        run_command(func, args, kwargs, as_json=as_json, debug=debug)

    return wrapper


def _progress() -> _Progress:
    return click.get_current_context().obj["progress"]


def _config(path: Path | None):
    from gridplan.station.config import load_config

    return load_config(path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)  # hard links and symbolic links too
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _refuse_overwrite(outputs: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Stop before anything is written if an output is an input or another output.

    ``outputs`` and ``inputs`` map an option (``--out``) to a path, a tuple of paths or None.
    Nothing the user had is replaced, and one output never overwrites another.
    """
    seen = [
        (opt, Path(p))
        for opt, value in inputs.items()
        for p in (value if isinstance(value, tuple | list) else (value,))
        if p is not None
    ]
    for opt, value in outputs.items():
        if value is None:
            continue
        for other, path in seen:
            if _same_file(Path(value), path):
                msg = (
                    f"{opt} {value} is the same file as {other} {path}: gridplan never "
                    f"overwrites an input, nor one output with another; choose another {opt}"
                )
                raise click.UsageError(msg)
        seen.append((opt, Path(value)))


def _limits():
    """Read limits from GRIDPLAN_IMPORT_* environment variables (gridplan.io.limits)."""
    from gridplan.io.limits import ReadLimits

    return ReadLimits.from_mapping(os.environ, prefix="GRIDPLAN_")


def _parse_columns(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            msg = f"--column {pair!r}: write it as FIELD=HEADER, for example --column lon=经度"
            raise click.BadParameter(msg)
        out[key.strip()] = value.strip()
    return out


CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Station config (TOML); defaults when omitted.",
)


#: Maps are offline by default, as in the web UI: no background tiles, the grid alone.
TILES_OPTION = click.option(
    "--tiles",
    default="none",
    show_default=True,
    help="Background map: none (offline), openstreetmap, or an XYZ URL template.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridplan")
def main() -> None:
    """Community-policing grid management and patrol planning (社区警务网格与巡逻规划)."""


@main.group()
def grids() -> None:
    """Load, validate, repair and generate 1+5+N grids."""


@grids.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--layer", help="Layer of a multi-layer file (GeoPackage).")
@click.option("--crs", help="CRS to assume when the file has none, e.g. EPSG:4326.")
@click.option(
    "--column",
    "columns",
    multiple=True,
    help="Map a field to a header the aliases miss: id=网格编码, parent_id=所属, name=名称.",
)
@CONFIG_OPTION
@click.option("--fix", is_flag=True, help="Repair what is safely repairable and list each repair.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where --fix writes the repaired grid (.geojson or .gpkg).",
)
@command_options
def grids_validate(paths, layer, crs, columns, config_path, fix, out):
    """Validate a 1+5+N grid; exit 0 if valid, 1 if not (report printed), 2 if unreadable.

    PATHS is one file (one layer with a level column, or a GeoPackage with station/base/micro
    layers) or three files: the station, the base grids and the micro-grids, in that order.
    """
    from gridplan.geo.grid import load_grid
    from gridplan.geo.validate import fix_grid
    from gridplan.geo.validate import validate_grid
    from gridplan.io.results import write_grid

    if len(paths) not in (1, 3):
        raise click.UsageError(
            f"give one grid file or three (station, base, micro), not {len(paths)}"
        )
    if fix and out is None:
        raise click.UsageError("--fix needs --out PATH for the repaired grid")
    if out is not None and not fix:
        raise click.UsageError("--out is only used with --fix")
    _refuse_overwrite({"--out": out}, {"PATHS": paths, "--config": config_path})
    cfg = _config(config_path)
    if len(paths) == 3:
        levels = dict(zip(("station", "base", "micro"), paths, strict=True))
        gdf = load_grid(
            None,
            layers=levels,
            crs=crs,
            columns=_parse_columns(columns) or None,
            limits=_limits(),
        )
    else:
        gdf = load_grid(
            paths[0],
            layer=layer,
            crs=crs,
            columns=_parse_columns(columns) or None,
            limits=_limits(),
        )
    where = ", ".join(str(p) for p in paths)
    summary: dict[str, Any] = {"path": where, "feature_count": len(gdf)}
    lines = []
    if fix:
        gdf, repairs = fix_grid(gdf, config=cfg, progress=_progress())
        summary["repairs"] = [r.to_record() for r in repairs]
        lines.append(f"{len(repairs)} repair(s):")
        lines += [f"  {r.to_text()}" for r in repairs]
        write_grid(gdf, out)
        summary["out"] = str(out)
        lines.append(f"repaired grid written to {out}")
    report = validate_grid(gdf, config=cfg, progress=_progress())
    summary.update(report.summary())
    summary["issues"] = list(report.to_records())
    summary["valid"] = report.ok
    lines.append(report.to_text())
    lines.append(f"{where}: {'VALID' if report.ok else 'INVALID'}")
    return summary, "\n".join(lines), 0 if report.ok else EXIT_INVALID


@grids.command("generate")
@click.option("--boundary", required=True, type=click.Path(path_type=Path), help="Station area.")
@click.option("--incidents", type=click.Path(path_type=Path), help="Incidents for workload.")
@click.option("--streets", type=click.Path(path_type=Path), help="Street lines (for blocks).")
@click.option("--cell-size", type=float, help="Micro-grid size in metres (default 200).")
@click.option("--shape", type=click.Choice(["square", "hex", "blocks"]), default="square")
@click.option("--station-id", help="Station code (default from config, S01).")
@click.option("--name", "station_name", help="Station name (default from config).")
@CONFIG_OPTION
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@command_options
def grids_generate(
    boundary, incidents, streets, cell_size, shape, station_id, station_name, config_path, out
):
    """Generate a valid 1+5+N grid from a station boundary."""
    from gridplan.geo.crs import require_crs
    from gridplan.geo.generate import generate_grid
    from gridplan.geo.incidents import import_incidents
    from gridplan.geo.validate import validate_grid
    from gridplan.io.results import write_grid
    from gridplan.io.vector import read_vector

    if shape == "blocks" and streets is None:
        raise click.UsageError("--shape blocks needs --streets PATH (a street line layer)")
    inputs = {"--boundary": boundary, "--incidents": incidents, "--streets": streets}
    _refuse_overwrite({"--out": out}, {**inputs, "--config": config_path})
    cfg = _config(config_path)
    gdf_boundary = read_vector(boundary, limits=_limits())
    require_crs(gdf_boundary, where=str(boundary))
    gdf_incidents = None
    if incidents is not None:
        gdf_incidents = import_incidents(incidents, config=cfg, progress=_progress()).incidents
    grid = generate_grid(
        gdf_boundary,
        incidents=gdf_incidents,
        streets=streets,
        cell_size_m=cell_size or cfg.cell_size_m,
        shape=shape,
        station_id=station_id or cfg.station_id,
        station_name=station_name or cfg.station_name,
        base_count=cfg.base_grid_count,
        config=cfg,
        progress=_progress(),
    )
    write_grid(grid, out)
    report = validate_grid(grid, config=cfg)
    counts = grid["level"].value_counts().to_dict()
    summary = {
        "out": str(out),
        "station": counts.get("station", 0),
        "base": counts.get("base", 0),
        "micro": counts.get("micro", 0),
        "valid": report.ok,
        "balance": grid.attrs.get("balance"),
    }
    text = (
        f"1+{summary['base']}+{summary['micro']} grid written to {out} "
        f"({'valid' if report.ok else 'INVALID: ' + report.to_text()})"
    )
    return summary, text, 0


@main.group()
def incidents() -> None:
    """Import incident tables (CSV, XLSX, GeoJSON, GeoPackage)."""


@incidents.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@CONFIG_OPTION
@click.option(
    "--column",
    "columns",
    multiple=True,
    help="Map a field to a header: lon=经度, lat=纬度, time=发生时间, category=类别, id=编号.",
)
@click.option("--sheet", help="XLSX sheet name (default: first non-empty).")
@click.option("--encoding", help="Force the CSV encoding (default: detected).")
@click.option("--grid", "grid_path", type=click.Path(path_type=Path), help="Flag points outside.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@command_options
def incidents_import(path, config_path, columns, sheet, encoding, grid_path, out):
    """Import and clean an incident table; write it and its rejected rows next to it.

    The environment variables GRIDPLAN_IMPORT_MAX_MB, GRIDPLAN_IMPORT_MAX_ROWS and
    GRIDPLAN_IMPORT_MAX_CELLS bound what the file may hold (unpacked size, rows, cells).
    """
    from gridplan.geo.incidents import import_incidents

    limits = _limits()

    station = _load_grid_or_none(grid_path)
    cfg = _config(config_path)
    _refuse_overwrite(
        {"--out": out, "the rejected rows' file": _rejects_path(out)},
        {"PATH": path, "--grid": grid_path, "--config": config_path},
    )
    result = import_incidents(
        path,
        config=cfg,
        columns=_parse_columns(columns),
        station=station,
        sheet=sheet,
        encoding=encoding,
        progress=_progress(),
        limits=limits,
    )
    rejects_path = _write_incidents(result, out)
    summary = dict(result.summary())
    summary["out"] = str(out)
    summary["rejects_file"] = str(rejects_path) if rejects_path else None
    return summary, _import_text(summary), 0


def _load_grid_or_none(path: Path | None):
    if path is None:
        return None
    from gridplan.geo.grid import load_grid

    return load_grid(path, limits=_limits())


def _write_incidents(result, out: Path) -> Path | None:
    from gridplan.io.results import write_incidents
    from gridplan.io.results import write_rejects

    write_incidents(result, out)
    if len(result.rejects) == 0:
        return None
    rejects_path = _rejects_path(out)
    write_rejects(result, rejects_path)
    return rejects_path


def _rejects_path(out: Path) -> Path:
    """Where the rejected rows of an import written to ``out`` go: NAME.rejects.csv beside it."""
    return out.with_name(out.name.split(".")[0] + ".rejects.csv")


def _import_text(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary.get('source', '')}: {summary.get('rows_read')} rows read, "
        f"{summary.get('kept')} kept, {summary.get('rejected')} rejected"
    ]
    for reason, n in (summary.get("rejected_by_reason") or {}).items():
        lines.append(f"  rejected {n}: {reason}")
    if summary.get("outside_station"):
        lines.append(f"  {summary['outside_station']} kept but outside the station (flagged)")
    for w in summary.get("warnings") or ():
        lines.append(f"  warning: {w}")
    unweighted = summary.get("unweighted_categories") or {}
    if unweighted:
        weight = summary.get("default_weight", 1.0)
        lines.append(f"  warning: {_unweighted_text(unweighted, weight)}")
    lines.append(f"written to {summary['out']}")
    if summary.get("rejects_file"):
        lines.append(f"rejected rows written to {summary['rejects_file']}")
    return "\n".join(lines)


def _unweighted_text(unweighted: dict[str, int], default_weight: float) -> str:
    shown = [f"{c!r} ({n} rows)" for c, n in list(unweighted.items())[:10]]
    if len(unweighted) > 10:
        shown.append(f"and {len(unweighted) - 10} more (all in --json)")
    first = next(iter(unweighted))
    return (
        f"{len(unweighted)} categories have no weight in scoring.category_weights and count "
        f"with scoring.default_weight = {default_weight:g}: {', '.join(shown)}; give them "
        f'weights in the station config (--config), e.g. [scoring.category_weights] "{first}" '
        "= 3.0, and import again"
    )


@main.command("hotspots")
@click.option("--grid", "grid_path", required=True, type=click.Path(path_type=Path))
@click.option("--incidents", "incidents_path", required=True, type=click.Path(path_type=Path))
@CONFIG_OPTION
@click.option("--period", help="Only incidents in START:END (e.g. 2019-01-01:2019-12-31, 2019).")
@click.option("--permutations", type=int, help="Gi* permutations (default from config, 999).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path))
@TILES_OPTION
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@command_options
def hotspots_cmd(
    grid_path,
    incidents_path,
    config_path,
    period,
    permutations,
    out,
    csv_path,
    map_path,
    tiles,
    lang,
):
    """Compute hot spots per micro-grid and time slice (counts, density, score, Gi*).

    The score (what plans collect) is the forecast chosen for the station by the rolling
    back-test ([forecast] in the station config); the hot-spot score is kept as hotspot_score.
    """
    from gridplan.analysis.backtesting import parse_period
    from gridplan.analysis.hotspots import compute_hotspots
    from gridplan.forecast.station import forecast_hotspots
    from gridplan.geo.grid import load_grid
    from gridplan.geo.incidents import import_incidents
    from gridplan.io.results import write_hotspots

    _refuse_overwrite(
        {"--out": out, "--csv": csv_path, "--map": map_path},
        {"--grid": grid_path, "--incidents": incidents_path, "--config": config_path},
    )
    cfg = _config(config_path)
    grid = load_grid(grid_path, limits=_limits())
    result = import_incidents(incidents_path, config=cfg, station=grid, progress=_progress())
    hot = compute_hotspots(
        grid,
        result.incidents,
        config=cfg,
        period=parse_period(period) if period else None,
        permutations=permutations,
        progress=_progress(),
    )
    if not period:  # a period's hot spots keep their score; the forecast uses every incident
        hot = forecast_hotspots(hot, grid, result.incidents, cfg)
    write_hotspots(hot, out)
    summary: dict[str, Any] = {"out": str(out), "incidents": result.summary()}
    if csv_path:
        write_hotspots(hot, csv_path)
        summary["csv"] = str(csv_path)
    if map_path:
        write_hotspot_map(hot, grid, cfg, map_path, tiles=tiles, lang=lang)
        summary["map"] = str(map_path)
    summary["slices"] = _slice_summary(hot)
    summary["unassigned"] = int(hot.attrs.get("unassigned", 0))
    summary["classes"] = hot.attrs.get("hot_classes", "gistar")
    summary["forecast"] = hot.attrs.get("forecast")
    lines = [f"hot spots written to {out}", f"  hot-spot classes: {_CLASSES[summary['classes']]}"]
    lines += _forecast_lines(summary["forecast"])
    lines += [
        f"  {s['slice']:<12} incidents {s['incidents']:>7}  hot cells {s['hot']:>4}  "
        f"top cell {s['top_cell']} (score {s['top_score']:.1f})"
        for s in summary["slices"]
    ]
    if summary["unassigned"]:
        lines.append(f"  {summary['unassigned']} incidents fall in no micro-grid (outside)")
    lines += [f"  {k}: {v}" for k, v in summary.items() if k in ("csv", "map")]
    return summary, "\n".join(lines), 0


def _forecast_lines(forecast: dict[str, Any] | None) -> list[str]:
    """Say what made the score (the plan prize): the forecast per slice, or why not."""
    if not forecast:
        return []
    if "names" not in forecast:
        return [f"  score = the hot-spot score (severity x recency): {forecast.get('reason', '')}"]
    lines = [
        f"  score = the forecast chosen per slice ({forecast['horizon_days']} d horizon, "
        f"PAI at 5 % over the year of weekly origins to {forecast['as_of']}):"
    ]
    for sid, name in forecast["names"].items():
        f = forecast["figures"].get(sid, {})
        pai, prior = f.get("pai"), f.get("pai_prior")
        figures = f"PAI {pai:.2f} vs prior counts {prior:.2f}" if pai and prior else "no PAI"
        lines.append(f"    {sid:<12} {name}  ({figures})")
    return lines


_CLASSES = {
    "gistar": "Getis-Ord Gi* (a micro-grid and its neighbours against the station)",
    "excess": (
        "each micro-grid against the station's mean density "
        "(small station, hotspots.small_station_cells)"
    ),
}


def _slice_summary(hot) -> list[dict[str, Any]]:
    from gridplan._validate import HOT_CLASSES

    out = []
    for sid, part in hot.groupby("slice", sort=False):
        top = part.sort_values("rank").iloc[0]
        out.append(
            {
                "slice": sid,
                "incidents": int(part["count"].sum()),
                "hot": int(part["gi_class"].astype(str).isin(HOT_CLASSES).sum()),
                "top_cell": str(top["id"]),
                "top_score": float(top["score"]),
            }
        )
    return out


def write_hotspot_map(hot, grid, cfg, path: Path, *, tiles: str, lang: str) -> Path:
    """Write the offline hot-spot map with slice names from the station config."""
    from gridplan.maps.hotspot_map import hotspot_map
    from gridplan.maps.hotspot_map import save_map

    names = {s.id: s.label for s in cfg.slices}
    names["all"] = "全天 All day"
    m = hotspot_map(hot, grid=grid, slice_labels=names, lang=lang, tiles=tiles)
    return save_map(m, path)


@main.command("backtest")
@click.option("--grid", "grid_path", required=True, type=click.Path(path_type=Path))
@click.option("--incidents", "incidents_path", required=True, type=click.Path(path_type=Path))
@click.option("--fit", help="Fitting period START:END, e.g. 2015:2018 (fit/score mode).")
@click.option("--score", "score_period", help="Scoring period, e.g. 2019 (fit/score mode).")
@click.option(
    "--horizon",
    help="Rolling mode: days scored after each origin, 7d, 28d or 365d (default 7d).",
)
@click.option(
    "--origins",
    help="Rolling mode: forecast origins, weekly:2019-01-01..2019-12-31 or a number of the "
    "latest weekly origins (default 52). Methods are chosen on the year of origins before.",
)
@click.option(
    "--area-share",
    "area_shares",
    type=float,
    multiple=True,
    help="Area share(s) to evaluate (repeatable; default 0.01 0.05 0.10; rolling mode: 0.05).",
)
@CONFIG_OPTION
@command_options
def backtest_cmd(
    grid_path, incidents_path, fit, score_period, horizon, origins, area_shares, config_path
):
    """Back-test hot-spot forecasts: PAI, PEI and hit rate vs the prior-count baseline.

    With --fit and --score: one fit period and one score period. With --horizon or --origins:
    a rolling back-test of the forecast methods, chosen per slice on earlier origins.
    """
    from gridplan.analysis.backtesting import backtest
    from gridplan.analysis.backtesting import parse_period
    from gridplan.geo.grid import load_grid
    from gridplan.geo.incidents import import_incidents

    for share in area_shares:
        if not 0 < share <= 1:
            raise click.BadParameter(f"{share} is not a share in (0, 1]", param_hint="--area-share")
    rolling = horizon is not None or origins is not None
    if rolling and (fit or score_period):
        raise click.UsageError("use --fit/--score or --horizon/--origins, not both")
    if not rolling and not (fit and score_period):
        raise click.UsageError(
            "give --fit and --score (e.g. --fit 2015:2018 --score 2019), or --horizon 7d "
            "--origins weekly:2019-01-01..2019-12-31 for a rolling back-test"
        )
    if rolling and len(area_shares) > 1:
        raise click.BadParameter("rolling mode takes one share", param_hint="--area-share")
    cfg = _config(config_path)
    grid = load_grid(grid_path, limits=_limits())
    result = import_incidents(incidents_path, config=cfg, station=grid, progress=_progress())
    if rolling:
        return _rolling_backtest(
            grid, result.incidents, cfg, horizon or "7d", origins or "52", area_shares
        )
    bt = backtest(
        grid,
        result.incidents,
        fit=parse_period(fit),
        score=parse_period(score_period),
        config=cfg,
        area_shares=tuple(area_shares) or (0.01, 0.05, 0.10),
    )
    summary = bt.summary()
    summary["table"] = json.loads(bt.table.to_json(orient="records"))
    return summary, bt.to_text(), 0


def _rolling_backtest(grid, incidents, cfg, horizon, origins, area_shares):
    """Run the rolling mode of ``gridplan backtest``: (summary, text, exit code)."""
    import time

    from gridplan._errors import InputError
    from gridplan.forecast.history import build_history
    from gridplan.forecast.rolling import evaluate_forecasts
    from gridplan.forecast.rolling import parse_horizon
    from gridplan.forecast.rolling import parse_origins

    try:
        days = parse_horizon(horizon)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="--horizon") from exc
    history = build_history(grid, incidents, config=cfg)
    try:
        report = parse_origins(origins, history, days)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="--origins") from exc
    t0 = time.perf_counter()
    ev = evaluate_forecasts(
        history,
        horizon_days=days,
        origins=report,
        area_share=area_shares[0] if area_shares else 0.05,
        half_life_days=cfg.half_life_days,
    )
    summary = ev.summary() | {"seconds": round(time.perf_counter() - t0, 2)}
    return summary, ev.to_text(), 0


@main.command("evaluate")
@click.option("--grid", "grid_path", required=True, type=click.Path(path_type=Path))
@click.option("--incidents", "incidents_path", required=True, type=click.Path(path_type=Path))
@click.option(
    "--presence",
    "presence_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Minutes of presence per patroller, date, slice and micro-grid (CSV or GeoPackage).",
)
@click.option("--before", required=True, help="Period before, START:END, e.g. 2024-01:2024-03.")
@click.option(
    "--after", required=True, help="Period after (patrols counted), e.g. 2024-04:2024-06."
)
@click.option(
    "--top", "top_n", type=int, default=20, show_default=True, help="Hot spots: the busiest before."
)
@click.option(
    "--min-minutes",
    type=float,
    default=60.0,
    show_default=True,
    help="Minutes of presence in the after period that make a hot spot patrolled.",
)
@click.option("--slice", "slice_id", default="all", show_default=True, help="Time slice counted.")
@CONFIG_OPTION
@command_options
def evaluate_cmd(
    grid_path,
    incidents_path,
    presence_path,
    before,
    after,
    top_n,
    min_minutes,
    slice_id,
    config_path,
):
    """Incidents in patrolled and unpatrolled hot spots, before and after, with the caveats.

    Not a randomised trial: regression to the mean, the selection of patrolled places,
    displacement and diffusion, incidents recorded by the patrols themselves and small numbers
    can all make the figures mislead. The report says so with every result.
    """
    from gridplan.analysis.evaluation import evaluate_patrols
    from gridplan.geo.grid import load_grid
    from gridplan.geo.incidents import import_incidents
    from gridplan.io.presence_files import read_presence_table

    cfg = _config(config_path)
    grid = load_grid(grid_path, limits=_limits())
    result = import_incidents(incidents_path, config=cfg, station=grid, progress=_progress())
    presence = read_presence_table(presence_path, limits=_limits())
    ev = evaluate_patrols(
        result.incidents,
        presence,
        grid,
        before=before,
        after=after,
        top_n=top_n,
        min_minutes=min_minutes,
        slice_id=slice_id,
        config=cfg,
    )
    return ev.summary(), ev.to_text(), 0


@main.command("demo")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("gridplan-demo")
)
@TILES_OPTION
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@click.option(
    "--plan-date",
    default="2024-06-08",
    show_default=True,
    help="Date to plan patrols for ('none' to skip planning).",
)
@click.option(
    "--time-limit", type=float, default=3.0, show_default=True, help="Solver seconds per slice."
)
@command_options
def demo_cmd(data_dir, out, tiles, lang, plan_date, time_limit):
    """Run the whole pipeline on the bundled Portland demo station and write the results.

    Grid check, incident import, hot spots and map, back-test, then (unless --plan-date none)
    the street network, a checked patrol plan for one day and its GeoJSON, GPX and CSV exports.
    """
    from gridplan.analysis.backtesting import backtest
    from gridplan.analysis.backtesting import parse_period
    from gridplan.io.results import write_grid
    from gridplan.io.results import write_hotspots
    from gridplan.pipeline import find_demo_data
    from gridplan.pipeline import run_station
    from gridplan.pipeline import street_extract

    data = find_demo_data(data_dir)
    planning = plan_date.lower() != "none"
    has_streets = street_extract(data) is not None
    run = run_station(
        data,
        network=planning,
        plan_date=plan_date if planning and has_streets else None,
        time_limit_s=time_limit,
        seed=1,
        progress=_progress(),
    )
    grid, report, result, hot, cfg = run.grid, run.report, run.imported, run.hotspots, run.config
    out.mkdir(parents=True, exist_ok=True)
    rejects = _write_incidents(result, out / "incidents.geojson")
    write_hotspots(hot, out / "hotspots.geojson")
    write_hotspots(hot, out / "hotspots.csv")
    write_grid(grid, out / "grid.geojson")
    map_path = write_hotspot_map(hot, grid, cfg, out / "hotspots.html", tiles=tiles, lang=lang)
    bt = backtest(
        grid,
        result.incidents,
        fit=parse_period("2015:2018"),
        score=parse_period("2019"),
        config=cfg,
    )
    (out / "backtest.txt").write_text(bt.to_text() + "\n", encoding="utf-8")
    plan_lines, plan_summary = [], None
    if planning and not has_streets:
        plan_lines = ["no street extract in the demo data: patrol planning skipped"]
    elif planning:
        plan_summary, plan_lines = _demo_plan(run, out, plan_date)
    counts = grid["level"].value_counts()
    summary = {
        "station": cfg.station_name,
        "grid": f"1+{counts.get('base', 0)}+{counts.get('micro', 0)}",
        "grid_valid": report.ok,
        "incidents": result.summary(),
        "rejects_file": str(rejects) if rejects else None,
        "slices": _slice_summary(hot),
        "backtest": bt.summary(),
        "plan": plan_summary,
        "outputs": sorted(str(p) for p in out.iterdir()),
        "map": str(map_path.resolve()),
    }
    lines = [
        f"{cfg.station_name}: grid {summary['grid']} ({'valid' if report.ok else 'INVALID'}), "
        f"{result.summary().get('kept')} incidents",
        bt.to_text(),
        *plan_lines,
        f"outputs in {out}/: " + ", ".join(p.name for p in sorted(out.iterdir())),
        f"open the hot-spot map: file://{map_path.resolve()}",
    ]
    return summary, "\n".join(lines), 0


def _demo_plan(run, out: Path, date: str):
    """Save the run's network and plan, check and export the plan; return (summary, lines)."""
    from gridplan.io.plan_export import export_plan
    from gridplan.io.planfile import save_plan
    from gridplan.network.graphs import save_network
    from gridplan.routing.check import check_plan

    plan, net = run.plan, run.network
    save_network(net, out / "network.gpkg")
    save_plan(plan, out / "plan.plan.json")
    report = check_plan(plan, net, grid=run.grid)
    for suffix in ("geojson", "gpx", "csv"):
        export_plan(plan, out / f"plan.{suffix}")
    lines = [
        plan.to_text(),
        f"plan check: {'OK' if report.ok else 'INVALID'} ({report.legs} legs re-timed on the "
        f"street network, {len(report.errors)} errors, {len(report.warnings)} warnings)",
    ]
    return {"date": date, "feasible": plan.is_feasible(), "check_ok": report.ok}, lines


@main.group()
def network() -> None:
    """Build and cache the walking and riding street networks for patrol routing."""


@network.command("build")
@click.option(
    "--osm",
    "osm_path",
    type=click.Path(path_type=Path),
    help="OSM extract (.osm.pbf, .osm, .osm.bz2).",
)
@click.option(
    "--lines",
    "lines_path",
    type=click.Path(path_type=Path),
    help="Street line layer (GeoJSON, GeoPackage, zipped Shapefile).",
)
@click.option(
    "--boundary",
    type=click.Path(path_type=Path),
    help="Station boundary or 1+5+N grid: clip to it and check coverage.",
)
@click.option(
    "--buffer",
    "buffer_m",
    type=float,
    default=300.0,
    show_default=True,
    help="Metres kept around the boundary.",
)
@CONFIG_OPTION
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Network cache (.gpkg).",
)
@command_options
def network_build(osm_path, lines_path, boundary, buffer_m, config_path, out):
    """Build the walk and ride networks from OSM or street lines and save them to --out.

    Planning reads the saved GeoPackage instead of rebuilding the graphs.
    """
    from gridplan.geo.streets import OSM_SUFFIXES
    from gridplan.network.graphs import build_network
    from gridplan.network.graphs import save_network

    if (osm_path is None) == (lines_path is None):
        raise click.UsageError("give exactly one of --osm PATH or --lines PATH")
    if osm_path is not None and not osm_path.name.lower().endswith(OSM_SUFFIXES):
        raise click.BadParameter(
            f"{osm_path} is not an OSM extract; use --osm for .osm.pbf, .osm or .osm.bz2 and "
            "--lines for GeoJSON, GeoPackage or zipped Shapefile street lines",
            param_hint="--osm",
        )
    if out.suffix.lower() != ".gpkg":
        raise click.BadParameter(
            f"{out} must end in .gpkg (the network is saved as a GeoPackage)", param_hint="--out"
        )
    _refuse_overwrite(
        {"--out": out},
        {"--osm": osm_path, "--lines": lines_path, "--boundary": boundary, "--config": config_path},
    )
    cfg = _config(config_path)
    net = build_network(
        osm_path or lines_path,
        boundary=boundary,
        buffer_m=buffer_m,
        crs=cfg.metric_crs,
        progress=_progress(),
        limits=_limits(),
    )
    save_network(net, out)
    summary = {**net.summary(), "out": str(out)}
    return summary, f"{net.report.to_text()}\nnetwork saved to {out}", 0


def _load_network_option(path: Path | None):
    if path is None:
        return None
    from gridplan.network.graphs import load_network

    return load_network(path)


def _plan_text(plan, out: Path) -> str:
    lines = [plan.to_text()]
    bad = plan.violations()
    if bad:
        lines.append(f"{len(bad)} constraint violations: " + "; ".join(bad[:5]))
    lines += _targets_text(plan)
    if plan.settings.get("network") is None:
        lines.append(
            "travel times are straight lines x a detour factor (no --network): estimates only"
        )
    lines.append(f"plan written to {out}")
    return "\n".join(lines)


@main.group("plan", invoke_without_command=True)
@click.option("--grid", "grid_path", type=click.Path(path_type=Path), help="1+5+N grid.")
@click.option(
    "--hotspots",
    "hotspots_path",
    type=click.Path(path_type=Path),
    help="Hot spots from `gridplan hotspots --out`.",
)
@click.option(
    "--network",
    "network_path",
    type=click.Path(path_type=Path),
    help="Network cache from `gridplan network build` (straight lines when omitted).",
)
@CONFIG_OPTION
@click.option("--date", "date_text", help="Date the shifts start on, YYYY-MM-DD.")
@click.option(
    "--slices",
    "slice_ids",
    help="Comma-separated slice ids (default: every slice of that weekday).",
)
@click.option("--time-limit", type=float, default=10.0, show_default=True, help="Seconds/slice.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same plan.")
@click.option("--variants", type=int, default=1, show_default=True, help="Distinct plans to make.")
@click.option(
    "--tolerance",
    type=float,
    default=0.05,
    show_default=True,
    help="Variants: allowed score loss vs the best.",
)
@click.option("--workers", type=int, help="Solver processes (default: every core).")
@click.option(
    "--duty-split",
    type=click.Choice(["risk", "first"]),
    default="risk",
    show_default=True,
    help="Share each patroller's daily duty limit over the slices by the risk they can reach "
    "(risk), or let the slices take it in time order (first).",
)
@click.option(
    "--targets",
    "targets_path",
    type=click.Path(path_type=Path),
    help="Key road sections and timed targets (GeoJSON/GeoPackage: Point or LineString with "
    "name, windows such as 07:30-08:15;16:30-17:30, value = %% of slice risk, dwell_min).",
)
@click.option(
    "--alerts",
    "alerts_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Red/yellow/blue alerts (JSON of `gridplan alerts list --json`) to plan with.",
)
@click.option(
    "--presence",
    "presence_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where patrols actually were (repeatable): minutes per patroller, date, slice and "
    "micro-grid (CSV with patroller, date, slice, micro_id, minutes, or the GeoPackage of "
    "`gridplan compliance`). Minutes of the plan's date count against the daily dosage cap; "
    "with --planned, top hot spots under-served over the recent days are worth more and "
    "micro-grids missed repeatedly are flagged.",
)
@click.option(
    "--planned",
    "planned_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="What was planned on the recent days (repeatable): plan files, their CSV stop lists "
    "or compliance reports (their stops' status says which were missed).",
)
@click.option(
    "--presence-days",
    type=click.IntRange(min=1),
    default=None,
    help="Days before --date that --presence and --planned are looked at over (default: the "
    "station's [patrol] presence_days, 7 as shipped).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan file (.plan.json); variants 2.. go beside it as NAME.v2.plan.json, ...",
)
@JSON_OPTION
@DEBUG_OPTION
@click.pass_context
def plan_group(ctx, as_json, debug, **kwargs):
    """Plan the patrols of one date: a route per patroller on duty in every time slice.

    Writes a plan file; `gridplan export` turns it into GeoJSON, GPX, CSV or GeoPackage.

    \b
    Sub-commands:
      gridplan plan check PLAN      re-verify a saved plan
    """  # noqa: D301 - click needs the real \b (backspace) before a block it must not rewrap
    if ctx.invoked_subcommand is None:
        run_command(_plan_make, (), kwargs, as_json=as_json, debug=debug)


def _variant_path(out: Path, k: int) -> Path:
    name = out.name
    stem = name[: -len(".plan.json")] if name.endswith(".plan.json") else out.stem
    suffix = ".plan.json" if name.endswith(".plan.json") else out.suffix
    return out.with_name(f"{stem}.v{k}{suffix}")


def _plan_make(
    grid_path,
    hotspots_path,
    network_path,
    config_path,
    date_text,
    slice_ids,
    time_limit,
    seed,
    variants,
    tolerance,
    workers,
    duty_split,
    targets_path,
    alerts_path,
    presence_paths,
    planned_paths,
    presence_days,
    out,
):
    """Make the plan (``gridplan plan`` without a sub-command)."""
    import dataclasses
    from types import MappingProxyType

    from gridplan.geo.grid import load_grid
    from gridplan.io.paths import relative_reference
    from gridplan.io.planfile import save_plan
    from gridplan.io.results import read_hotspots
    from gridplan.routing.planner import plan_variants
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    _check_plan_options(
        {"--grid": grid_path, "--hotspots": hotspots_path, "--date": date_text, "--out": out},
        time_limit,
        variants,
    )
    _refuse_overwrite(
        {"--out": out, **{f"variant {k}": _variant_path(out, k) for k in range(2, variants + 1)}},
        {
            "--grid": grid_path,
            "--hotspots": hotspots_path,
            "--network": network_path,
            "--config": config_path,
            "--targets": targets_path,
            "--presence": presence_paths,
            "--planned": planned_paths,
        },
    )
    slices = [s.strip() for s in slice_ids.split(",") if s.strip()] if slice_ids else None
    targets, alerts = _read_targets_option(targets_path), _read_alerts(alerts_path)
    cfg = _config(config_path)
    days = presence_days or cfg.patrol.presence_days
    presence = _read_presence_option(presence_paths, planned_paths, date_text, days)
    request = PlanRequest(
        date_text,
        slices=slices,
        seed=seed,
        duty_split=duty_split,
        targets=targets,
        alerts=alerts,
        presence=presence,
    )
    grid = load_grid(grid_path, limits=_limits())
    hot = read_hotspots(hotspots_path)
    net = _load_network_option(network_path)
    plans = plan_variants(
        grid,
        hot,
        net,
        cfg,
        request,
        variants=variants,
        tolerance=tolerance,
        params=SolveParams(time_limit_s=time_limit, workers=workers),
        progress=_progress(),
    )
    written = []
    for k, plan in enumerate(plans, start=1):
        path = out if k == 1 else _variant_path(out, k)
        if net is not None:
            # recorded relative to the plan's folder, and only when in it (gridplan.io.paths)
            ref = relative_reference(network_path, path)
            info = {**plan.settings["network"], **({"path": ref} if ref else {})}
            plan = dataclasses.replace(
                plan, settings=MappingProxyType({**plan.settings, "network": info})
            )
        save_plan(plan, path)
        written.append((path, plan))
    first = written[0][1]
    summary = {**first.summary(), "out": [str(p) for p, _ in written]}
    text = _plan_text(first, out)
    if len(written) > 1:
        summary["variants"] = [dict(p.variant) for _, p in written]
        rows = [_variant_line(path, p) for path, p in written]
        text += "\n" + "\n".join(rows)
    code = 0 if all(p.is_feasible() for _, p in written) else EXIT_INVALID
    return summary, text, code


def _read_targets_option(path: Path | None) -> tuple:
    """Read ``--targets``: the good features; each rejected one is named on stderr."""
    if path is None:
        return ()
    from gridplan.routing.targets import read_targets

    targets, rejected = read_targets(path, limits=_limits())
    for message in rejected:
        click.echo(f"warning: target left out: {message}", err=True)
    return targets


def _check_plan_options(required: dict[str, Any], time_limit: float, variants: int) -> None:
    """Refuse a ``gridplan plan`` without its required options or with bad numbers."""
    missing = [opt for opt, value in required.items() if value is None]
    if missing:
        raise click.UsageError(
            f"gridplan plan needs {', '.join(missing)} (see gridplan plan --help), or a "
            "sub-command such as `gridplan plan check PLAN`"
        )
    if time_limit <= 0:
        raise click.BadParameter(f"{time_limit} must be > 0 seconds", param_hint="--time-limit")
    if variants < 1:
        raise click.BadParameter(f"{variants} must be at least 1", param_hint="--variants")


def _read_presence_option(presence_paths, planned_paths, date_text, days):
    """Read ``--presence`` (and ``--planned``) into the plan's feedback; ``None`` without."""
    if not presence_paths:
        if planned_paths:
            raise click.UsageError(
                "--planned needs --presence: the minutes actually spent are what the plans "
                "are held against"
            )
        return None
    import pandas as pd

    from gridplan.io.presence_files import read_planned
    from gridplan.io.presence_files import read_presence_table
    from gridplan.routing.feedback import actual_presence

    tables = [read_presence_table(p, limits=_limits()) for p in presence_paths]
    table = pd.concat(tables, ignore_index=True)
    planned = [read_planned(p, limits=_limits()) for p in planned_paths] or None
    return actual_presence(table, planned, date_text, days=days)


def _targets_text(plan) -> list[str]:
    """One line per served target stop, and the count, for the plan's text."""
    from gridplan.routing.plan import target_stops

    asked = plan.settings.get("targets") or []
    if not asked:
        return []
    served = target_stops(plan)
    lines = [
        f"targets: {len(served)} visits inside their windows, to "
        f"{len({p.target_id for *_, p in served})} of {len(asked)} targets (gridplan plan "
        "check names any window not served)"
    ]
    for slice_id, pid, p in served:
        what = "walk" if p.kind == "line" else "at"
        lines.append(
            f"  {slice_id} {pid}: {what} {p.name} {p.arrival:%H:%M}-{p.departure:%H:%M} "
            f"(window {p.window_start:%H:%M}-{p.window_end:%H:%M})"
        )
    return lines


def _read_alerts(path: Path | None) -> tuple:
    """Read the alerts of ``--alerts FILE`` (none without it); a bad file is an input error."""
    if path is None:
        return ()
    from gridplan._errors import InputError
    from gridplan.routing.alerts import alerts_from_json

    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = (
            f"{path}: cannot read the alerts file ({exc}); give the JSON that "
            "gridplan alerts list --json writes"
        )
        raise InputError(msg) from None
    return alerts_from_json(text, source=str(path))


def _variant_line(path: Path, plan) -> str:
    """Return the line of one variant in the text of ``gridplan plan --variants``.

    It gives the file, the cost and the similarity to the best, and names each slice (with
    the date and both scores) where the variant scores below the best by more than the
    tolerance, so the officer knows which slice to look at.
    """
    v = plan.variant
    line = (
        f"  variant {v['index']}: {path}  cost {plan.cost():g}, similarity to the best "
        f"{v['similarity'][0]:.2f}"
    )
    short = [
        f"slice {sid} on {plan.date.isoformat()} scores {s['score']:g}, the best "
        f"{s['best_score']:g}"
        for sid, s in v["slices"].items()
        if not s["within_tolerance"]
    ]
    if short:
        line += f"  (outside the {v['tolerance'] * 100:g} % tolerance: {'; '.join(short)})"
    return line


@plan_group.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--network",
    "network_path",
    type=click.Path(path_type=Path),
    help="Network the plan was made on (default: the one it names).",
)
@click.option(
    "--grid",
    "grid_path",
    type=click.Path(path_type=Path),
    help="Also check micro-grid ids and base grids.",
)
@command_options
def plan_check(path, network_path, grid_path):
    """Re-verify every constraint of a saved plan from the plan and the street network.

    Every leg is re-timed on the network; exits 1 when any constraint is broken.
    """
    from gridplan.geo.grid import load_grid
    from gridplan.io.paths import resolve_reference
    from gridplan.io.planfile import load_plan
    from gridplan.routing.check import check_plan

    plan = load_plan(path)
    info = plan.settings.get("network")
    if network_path is None and info is not None and info.get("path"):
        # a path inside the plan file: followed only within the plan's folder
        network_path = resolve_reference(
            info["path"], path, key="settings.network.path", option="--network"
        )
        if not network_path.is_file():
            raise click.UsageError(
                f"the plan was made on the network {info['path']} beside it, which is not "
                "there any more; pass it with --network PATH"
            )
    net = _load_network_option(network_path) if info is not None else None
    grid = load_grid(grid_path, limits=_limits()) if grid_path is not None else None
    report = check_plan(plan, net, grid=grid)
    summary = {"plan": str(path), **report.summary()}
    return summary, report.to_text(), 0 if report.ok else EXIT_INVALID


@main.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpx", "csv", "gpkg"]),
    help="Output format (default: from the --out suffix).",
)
@click.option("--patroller", help="Only this patroller's routes (e.g. one team's GPX).")
@click.option("--slices", "slice_ids", help="Comma-separated slice ids (default: all).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@command_options
def export_cmd(path, fmt, patroller, slice_ids, out):
    """Export a saved plan as GeoJSON, GPX (phones), a CSV stop list or GeoPackage."""
    from gridplan.io.plan_export import export_plan
    from gridplan.io.planfile import load_plan

    _refuse_overwrite({"--out": out}, {"PATH": path})
    plan = load_plan(path)
    slices = [s.strip() for s in slice_ids.split(",") if s.strip()] if slice_ids else None
    written = export_plan(plan, out, format=fmt, patroller=patroller, slices=slices)
    summary = {"plan": str(path), "out": str(written), "format": fmt or written.suffix[1:]}
    return summary, f"plan exported to {written}", 0


#: How patrollers move: the speed above which a fix is a jump (gridplan.tracks.params).
MODES = ("walk", "bicycle", "ebike", "car")


@main.group()
def tracks() -> None:
    """Tracks of patrols: import GPX, CSV or XLSX files; purge old positions of the web store."""


@tracks.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--patroller", help="Whose track (needed for GPX); for a table, only these rows.")
@click.option(
    "--mode", type=click.Choice(MODES), default="walk", show_default=True, help="How they moved."
)
@click.option(
    "--crs",
    "datum",
    type=click.Choice(["wgs84", "gcj02", "bd09"]),
    help="Datum of the lon/lat (default: WGS84 for GPX, crs.coordinates of --config for tables).",
)
@CONFIG_OPTION
@click.option(
    "--column",
    "columns",
    multiple=True,
    help="Map a field to a header: patroller=人员编号, time=定位时间, lon=经度, lat=纬度, "
    "accuracy=精度.",
)
@click.option("--sheet", help="XLSX sheet name (default: first non-empty).")
@click.option("--encoding", help="Force the CSV encoding (default: detected).")
@click.option("--max-accuracy", type=float, help="Worst accuracy accepted, metres (default 50).")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cleaned fixes (.gpkg, .geojson or .csv); rejected fixes go to NAME.rejects.csv.",
)
@command_options
def tracks_import(
    path, patroller, mode, datum, config_path, columns, sheet, encoding, max_accuracy, out
):
    """Read a track file, clean it and report every fix left out (file, row, reason).

    The environment variables GRIDPLAN_IMPORT_MAX_MB and GRIDPLAN_IMPORT_MAX_ROWS bound what
    the file may hold.
    """
    from gridplan.tracks.fixes import import_track

    if out is not None:
        _refuse_overwrite(
            {"--out": out, "the rejected fixes' file": _rejects_path(out)},
            {"PATH": path, "--config": config_path},
        )
    result = import_track(
        path,
        patroller=patroller,
        mode=mode,
        config=_config(config_path),
        datum=datum,
        columns=_parse_columns(columns),
        encoding=encoding,
        sheet=sheet,
        params=_track_params(max_accuracy),
        limits=_limits(),
    )
    summary = result.summary()
    written = _write_tracks(result, out) if out is not None else {}
    summary.update(written)
    return summary, _tracks_text(result, written), 0


def _track_params(max_accuracy: float | None):
    from gridplan.tracks.params import TrackParams

    if max_accuracy is None:
        return TrackParams()
    return TrackParams(max_accuracy_m=max_accuracy)


def _write_tracks(result, out: Path) -> dict[str, str | None]:
    from gridplan.io.track_files import write_fixes
    from gridplan.io.track_files import write_track_rejects

    write_fixes(result, out)
    rejects = None
    if len(result.rejects):
        rejects = write_track_rejects(result, _rejects_path(out))
    return {"out": str(out), "rejects_file": str(rejects) if rejects else None}


def _tracks_text(result, written: dict[str, str | None], shown: int = 10) -> str:
    s = result.summary()
    lines = [
        f"{s['source']}: {s['rows_read']} {'points' if s['format'] == 'gpx' else 'rows'} read "
        f"({s['format']}, {s['datum']}), {s['kept']} fixes kept, {s['rejected']} rejected"
    ]
    for pid, info in s["patrollers"].items():
        every = info["median_interval_s"]
        lines.append(
            f"  {pid}: {info['fixes']} fixes {info['first']} to {info['last']}"
            + (f", every {every:g} s (median)" if every is not None else "")
        )
    if s["rejected_by_reason"]:
        lines.append(
            "rejected: "
            + ", ".join(f"{n} {k.split('.', 1)[-1]}" for k, n in s["rejected_by_reason"].items())
        )
    for r in result.rejects.head(shown).itertuples():
        lines.append(f"  row {r.row} {r.column}={r.value!r}: {r.reason}")
    if len(result.rejects) > shown:
        lines.append(f"  ... and {len(result.rejects) - shown} more")
    lines += [f"warning: {w}" for w in s["warnings"]]
    if written.get("out"):
        lines.append(f"fixes written to {written['out']}")
    if written.get("rejects_file"):
        lines.append(f"rejected fixes written to {written['rejects_file']}")
    return "\n".join(lines)


def _track_specs(specs: tuple[str, ...], plan) -> list[tuple[str | None, Path]]:
    """``--tracks`` values: ``ID=FILE`` (one patroller's file) or ``FILE``."""
    ids = {r.patroller_id for s in plan.slices for r in s.routes}
    out = []
    for spec in specs:
        pid, sep, rest = spec.partition("=")
        if sep and pid and rest and not Path(spec).exists():
            out.append((pid, Path(rest)))
            continue
        path = Path(spec)
        stem = path.name.split(".")[0]
        gpx = path.name.lower().endswith((".gpx", ".gpx.gz"))
        if gpx and stem not in ids:
            msg = (
                f"--tracks {spec}: a GPX file does not say whose track it is; write "
                f"--tracks ID={spec} with the patroller's id (the plan has "
                f"{', '.join(sorted(ids)) or 'no routes'}), or name the file ID.gpx"
            )
            raise click.BadParameter(msg, param_hint="--tracks")
        out.append((stem if gpx else None, path))
    return out


@main.command("compliance")
@click.argument("plan_path", type=click.Path(path_type=Path))
@click.option(
    "--grid", "grid_path", required=True, type=click.Path(path_type=Path), help="1+5+N grid."
)
@click.option(
    "--tracks",
    "track_specs",
    multiple=True,
    help="A track file of the day: ID=FILE for one patroller's GPX or table, FILE for a table "
    "with a patroller column or gridplan's cleaned fixes. Repeat for each file.",
)
@click.option(
    "--checkins",
    "checkins_path",
    type=click.Path(path_type=Path),
    help="The plan's check-ins CSV (the web UI's plan page: Check-ins as CSV); each arrived/left "
    "pair counts as presence in its micro-grid, next to the tracks.",
)
@click.option(
    "--crs",
    "datum",
    type=click.Choice(["wgs84", "gcj02", "bd09"]),
    help="Datum of the tracks' lon/lat (default: WGS84 for GPX, crs.coordinates for tables).",
)
@CONFIG_OPTION
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report: NAME.csv (with NAME.patrollers.csv, NAME.hotspots.csv) or NAME.gpkg.",
)
@command_options
def compliance_cmd(plan_path, grid_path, track_specs, checkins_path, datum, config_path, out):
    """Hold a saved plan against the day's tracks: stops visited, late or missed; presence.

    Each patroller's fixes are cleaned at the speed of the mode the plan gives them; times
    without a zone are read in the plan's timezone. Give --tracks, --checkins or both.
    """
    import dataclasses

    import pandas as pd

    from gridplan.geo.grid import load_grid
    from gridplan.io.planfile import load_plan
    from gridplan.io.track_files import compliance_paths
    from gridplan.io.track_files import read_check_ins
    from gridplan.io.track_files import write_compliance
    from gridplan.tracks.compliance import compute_compliance
    from gridplan.tracks.fixes import import_track

    if not track_specs and checkins_path is None:
        msg = "give the day's tracks (--tracks ID=FILE) or the plan's check-ins (--checkins FILE)"
        raise click.UsageError(msg)
    plan = load_plan(plan_path)
    specs = _track_specs(track_specs, plan)
    if out is not None:
        outputs = {f"--out {p.name}": p for p in compliance_paths(out)}
        inputs = {"PLAN": plan_path, "--grid": grid_path, "--tracks": tuple(p for _, p in specs)}
        inputs["--checkins"] = checkins_path
        _refuse_overwrite(outputs, {**inputs, "--config": config_path})
    cfg = _config(config_path)
    if config_path is None:
        cfg = dataclasses.replace(cfg, timezone=plan.timezone)
    modes = {r.patroller_id: r.mode for s in plan.slices for r in s.routes}
    grid = load_grid(grid_path, limits=_limits())
    imports = [
        import_track(path, patroller=pid, mode=modes, config=cfg, datum=datum, limits=_limits())
        for pid, path in specs
    ]
    check_ins = [] if checkins_path is None else read_check_ins(checkins_path, limits=_limits())
    fixes = pd.concat([_no_fixes(cfg.timezone), *(i.fixes for i in imports)], ignore_index=True)
    report = compute_compliance(plan, fixes, grid, check_ins=check_ins, config=cfg)
    written = write_compliance(report, out, grid=grid) if out is not None else ()
    summary = {
        "plan": str(plan_path),
        **report.summary(),
        "imports": [i.summary() for i in imports],
        "check_ins": len(check_ins),
        "out": [str(p) for p in written],
    }
    lines = [
        f"{i.source}: {len(i.fixes)} fixes of {', '.join(i.patrollers)}, {len(i.rejects)} "
        "rejected (gridplan tracks import FILE names each)"
        for i in imports
    ]
    if checkins_path is not None:
        lines.append(f"{checkins_path}: {len(check_ins)} check-ins")
    lines.append(report.to_text())
    lines += [f"report written to {p}" for p in written]
    return summary, "\n".join(lines), 0


def _no_fixes(timezone: str):
    """Return an empty FIXES table (times in ``timezone``): check-ins and no tracks."""
    import pandas as pd

    from gridplan._validate import FIX_COLUMNS

    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in FIX_COLUMNS})
    frame["patroller"] = frame["patroller"].astype(object)
    frame["source"] = frame["source"].astype(object)
    frame["time"] = pd.Series(dtype=f"datetime64[ns, {timezone}]")
    return frame


# --------------------------------------------------------------------------- city


@main.group()
def city() -> None:
    """Many stations at once on a Dask cluster (a city file lists them).

    \b
    A city file (TOML; paths relative to it):
      name = "Portland"
      incidents = "city-incidents.parquet"   # the city's incidents (GeoParquet)
      [[stations]]
      id = "S01"
      grid = "s01/grid.geojson"
      config = "s01/station.toml"            # with the roster
      incidents = "s01/incidents.csv"        # or hotspots = "hot/S01.hotspots.gpkg"
      streets = "s01/streets.osm.pbf"        # optional
    """  # noqa: D301 (click keeps a paragraph after a real backspace, \b, as it is)


SCHEDULER_OPTION = click.option(
    "--scheduler",
    help="Address of a running `dask scheduler`, e.g. tcp://10.0.0.5:8786 (default: a local "
    "cluster on this machine).",
)
LOCAL_WORKERS_OPTION = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Worker processes of the local cluster (without --scheduler).",
)


def _station_ids(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _echo_progress(as_json: bool):
    def progress(stage: str, done: int, total: int) -> None:
        if not as_json:
            click.echo(f"[{done}/{total}] {stage}", err=True)

    return progress


@city.command("hotspots")
@click.argument("city_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--stations", "station_ids", help="Comma-separated station ids (default: all).")
@click.option("--period", help="Only incidents in START:END (default: the incidents' span).")
@click.option("--permutations", type=int, help="Gi* permutations (default: each config's).")
@click.option(
    "--single-process",
    is_flag=True,
    help="Compute in this process with geopandas, without Dask (the same numbers).",
)
@SCHEDULER_OPTION
@LOCAL_WORKERS_OPTION
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the results: OUT/STATION.hotspots.gpkg.",
)
@command_options
def city_hotspots_cmd(
    city_path, station_ids, period, permutations, single_process, scheduler, workers, out
):
    """Hot spots of every station over the city's incidents (dask-geopandas).

    The city's incidents (GeoParquet, `incidents` of the city file) are summed per station,
    micro-grid and slice in partitions, the sums added, then each station's Gi* runs as one
    task.
    """
    from gridplan._validate import HOT_CLASSES
    from gridplan.city.cityfile import load_city
    from gridplan.city.cluster import connect
    from gridplan.city.hotspots import CityHotspotParams
    from gridplan.city.hotspots import city_hotspots
    from gridplan.city.hotspots import city_hotspots_local
    from gridplan.city.hotspots import write_city_hotspots

    as_json = click.get_current_context().obj["json"]
    chosen = load_city(city_path).select(_station_ids(station_ids))
    params = CityHotspotParams(period=period, permutations=permutations)
    progress = _echo_progress(as_json)
    t0 = time.perf_counter()
    if single_process:
        hot = city_hotspots_local(chosen, params, progress=progress)
    else:
        with connect(scheduler, workers=workers) as client:
            hot = city_hotspots(chosen, params, client=client, progress=progress)
    written = write_city_hotspots(hot, out)
    seconds = time.perf_counter() - t0
    summary = {
        "stations": {
            sid: {
                "file": str(written[sid]),
                "incidents": int(frame.attrs.get("incidents", 0)),
                "hot_cells": int(frame["gi_class"].astype(str).isin(HOT_CLASSES).sum()),
            }
            for sid, frame in hot.items()
        },
        "period": next(iter(hot.values())).attrs.get("period") if hot else None,
        "seconds": round(seconds, 2),
    }
    lines = [
        f"{sid}: {v['incidents']} incidents, {v['hot_cells']} hot micro-grid slices -> {v['file']}"
        for sid, v in summary["stations"].items()
    ]
    lines.append(f"{len(hot)} stations over {summary['period']} in {seconds:.1f} s")
    return summary, "\n".join(lines), 0


@city.command("plan")
@click.argument("city_path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--date", "date_text", required=True, help="The day planned, YYYY-MM-DD.")
@click.option("--stations", "station_ids", help="Comma-separated station ids (default: all).")
@click.option("--slices", "slice_ids", help="Comma-separated slice ids (default: all).")
@click.option("--time-limit", type=float, default=5.0, show_default=True, help="Seconds/slice.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same plans.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Runs again of a station whose task failed.",
)
@SCHEDULER_OPTION
@LOCAL_WORKERS_OPTION
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the plans of the city file's stations: OUT/STATION/DATE.plan.json.",
)
@click.option(
    "--store",
    "store_path",
    help="Plan the stations of the web UI's store (instance/gridplan.sqlite, or a "
    "postgresql:// URL) from their newest grid, hot spots and network, and save each plan "
    "there (no CITY file). Default without a CITY file: $GRIDPLAN_DATABASE_URL.",
)
@command_options
def city_plan(
    city_path,
    date_text,
    station_ids,
    slice_ids,
    time_limit,
    seed,
    retries,
    scheduler,
    workers,
    out,
    store_path,
):
    """Plan every station's day in parallel, one Dask task per station.

    Each plan is written as it arrives (a plan file renamed into place, or one store
    transaction); a failed station is retried and then listed, and never stops the others.
    Exit code 1 when a station failed.
    """
    from gridplan.city.cityfile import load_city
    from gridplan.city.cluster import connect
    from gridplan.city.plans import CityPlanParams
    from gridplan.city.plans import plan_city

    if store_path is None and city_path is None and out is None:
        store_path = os.environ.get("GRIDPLAN_DATABASE_URL") or None
    if (out is None) == (store_path is None) or (out is not None) != (city_path is not None):
        msg = (
            "give a CITY file and --out DIR, or --store DATABASE (the web UI's stations; "
            "default $GRIDPLAN_DATABASE_URL)"
        )
        raise click.UsageError(msg)
    as_json = click.get_current_context().obj["json"]
    wanted = _station_ids(station_ids)
    chosen = load_city(city_path).select(wanted) if city_path is not None else None
    slices = tuple(_station_ids(slice_ids) or ()) or None
    params = CityPlanParams(
        date_text, slices=slices, time_limit_s=time_limit, seed=seed, retries=retries
    )
    progress = _echo_progress(as_json)
    if store_path is not None:  # before a cluster is started or reached
        from gridplan.web.cityplans import check_store

        check_store(store_path)
    with connect(scheduler, workers=workers) as client:
        if chosen is not None:
            done = plan_city(chosen, params, client=client, out=out, progress=progress)
        else:
            from gridplan.web.cityplans import plan_stored_city

            done = plan_stored_city(
                store_path, params, client=client, station_ids=wanted, progress=progress
            )
    from gridplan.web.dialect import redact

    where = out if out is not None else redact(store_path)
    n = len(done.written) + len(done.failed)
    lines = [f"{len(done.written)} of {n} plans written to {where} in {done.seconds:.1f} s"]
    lines += [f"  {sid}: {w}" for sid, w in done.written.items()]
    lines += [f"  {sid}: FAILED {why}" for sid, why in done.failed.items()]
    return done.summary(), "\n".join(lines), EXIT_INVALID if done.failed else 0


def _add_web_commands() -> None:
    from gridplan.web.commands import alerts
    from gridplan.web.commands import db
    from gridplan.web.commands import serve
    from gridplan.web.commands import stations
    from gridplan.web.commands import users

    main.add_command(serve)
    main.add_command(alerts)
    main.add_command(users)
    main.add_command(stations)
    main.add_command(db)
    # `gridplan tracks purge` works on the web store; a `tracks` group of the command line
    # (reading track files) gets it as one more sub-command
    from gridplan.web.commands import tracks
    from gridplan.web.commands import tracks_purge

    group = main.commands.get("tracks")
    if isinstance(group, click.Group) and group is not tracks:
        group.add_command(tracks_purge)
    else:
        main.add_command(tracks)


_add_web_commands()
