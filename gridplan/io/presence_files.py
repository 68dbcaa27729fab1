"""Reading the files feedback into plans and evaluations are made from.

- :func:`read_presence_table`: a presence table (minutes per patroller, shift date, slice and
  micro-grid) as CSV (UTF-8 or GBK, ``.csv.gz`` too) or as a GeoPackage layer (``presence``
  when there is one, as the tracks stage's compliance report writes, else the first);
- :func:`read_planned`: what was planned on a past day, a plan file (``.plan.json``, or a
  whole-plan GeoPackage) or a stop list (CSV, ``gridplan export --format csv``; or the
  ``stops`` of a compliance report, CSV or GeoPackage).

Both read within :class:`~gridplan.io.limits.ReadLimits` and check GeoPackages as
:func:`~gridplan.io.vector.read_vector` does; CSV cells a spreadsheet would run were written
with a quote in front (:mod:`gridplan.io.csvsafe`), which is taken off again.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyogrio

from gridplan._errors import InputError
from gridplan._validate import presence_frame
from gridplan.io.csvsafe import unescape_cell
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import read_gzip
from gridplan.io.planfile import PLAN_TABLE
from gridplan.io.planfile import load_plan
from gridplan.io.vector import _open
from gridplan.routing.plan import PatrolPlan

_ENCODINGS = ("utf-8-sig", "gb18030")


def _csv(path: Path, limits: ReadLimits) -> pd.DataFrame:
    """Read a CSV file as text cells (``.gz`` inflated within the limits), quotes taken off."""
    if not path.is_file():
        msg = f"{path}: file not found; check the path"
        raise InputError(msg)
    limits.check("max_bytes", path.stat().st_size, path)
    raw = read_gzip(path, limits) if path.name.lower().endswith(".gz") else path.read_bytes()
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        msg = f"{path}: neither UTF-8 nor GBK text; save the table as UTF-8 CSV"
        raise InputError(msg)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            sep=None,
            engine="python",
            nrows=int(limits.max_rows) + 1,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        msg = f"{path}: not a CSV table ({str(exc).splitlines()[0][:200]}); export it again"
        raise InputError(msg) from None
    limits.check("max_rows", len(frame), path)
    limits.check("max_cells", len(frame) * max(len(frame.columns), 1), path)
    return frame.map(unescape_cell)


def _gpkg_layer(
    path: Path, preferred: tuple[str, ...], layer: str | None, limits: ReadLimits
) -> tuple[pd.DataFrame, list[str]]:
    """One layer's attributes (tables without geometry too), and the file's layers."""
    source = _open(path, limits)
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(source.gdal)]
        if layer is None:
            layer = next((n for n in preferred if n in layers), None)
        if layer is None:
            usable = [n for n in layers if n not in ("layer_styles", PLAN_TABLE)]
            layer = usable[0] if usable else None
        if layer not in layers:
            msg = f"{path}: has no layer {layer!r}; its layers are {', '.join(layers)}"
            raise InputError(msg)
        frame = pyogrio.read_dataframe(
            source.gdal, layer=layer, read_geometry=False, max_features=int(limits.max_rows) + 1
        )
    except pyogrio.errors.DataSourceError as exc:
        msg = f"{path}: cannot be read ({str(exc).splitlines()[0][:200]}); export it again"
        raise InputError(msg) from None
    limits.check("max_rows", len(frame), path)
    return pd.DataFrame(frame), layers


def read_presence_table(
    path: str | Path,
    *,
    layer: str | None = None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> pd.DataFrame:
    r"""Read a presence table: minutes per patroller, shift date, slice and micro-grid.

    Parameters
    ----------
    path
        CSV (``.csv`` or ``.csv.gz``, UTF-8 or GBK) or GeoPackage with the columns
        ``patroller``, ``date``, ``slice``, ``micro_id`` (or ``micro_grid``) and ``minutes``.
    layer
        The GeoPackage layer; default ``presence``, else the first.
    limits
        Bytes, rows and cells the file may have.

    Returns
    -------
    pandas.DataFrame
        As :func:`~gridplan._validate.presence_frame` returns it.

    Raises
    ------
    InputError
        An unreadable file, a limit exceeded, missing columns or bad rows (each named).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "presence.csv"
    >>> _ = path.write_text("patroller,date,slice,micro_id,minutes\n"
    ...                     "A01,2024-06-05,day,S01-B1-M001,12.5\n", encoding="utf-8")
    >>> read_presence_table(path)["minutes"].tolist()
    [12.5]
    """
    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        frame, _ = _gpkg_layer(path, ("presence",), layer, limits)
    else:
        frame = _csv(path, limits)
    return presence_frame(frame, what=str(path))


def read_planned(
    path: str | Path,
    *,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> PatrolPlan | pd.DataFrame:
    """Read what was planned on a past day: a plan, or a table of its stops.

    Parameters
    ----------
    path
        A plan file (``.plan.json``), a whole-plan GeoPackage of ``gridplan export``, a stop
        list (CSV of ``gridplan export --format csv``) or a compliance report's stops (its
        CSV, or the ``stops`` layer of its GeoPackage): one row per stop with ``date``,
        ``slice``, ``micro_id``, ``dwell_min`` and optionally ``status``.
    limits
        Bytes, rows and cells the file may have.

    Returns
    -------
    PatrolPlan or pandas.DataFrame
        What :func:`~gridplan.routing.feedback.actual_presence` takes as ``planned``.

    Raises
    ------
    InputError
        An unreadable file or plan, or a limit exceeded.

    Examples
    --------
    >>> plan = read_planned("2024-06-07.plan.json")  # doctest: +SKIP
    >>> plan.date  # doctest: +SKIP
    datetime.date(2024, 6, 7)
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".json"):
        return load_plan(path)
    if name.endswith(".gpkg"):
        source = _open(path, limits)
        layers = [str(n) for n, _ in pyogrio.list_layers(source.gdal)]
        if PLAN_TABLE in layers:
            return load_plan(path)
        frame, _ = _gpkg_layer(path, ("stops",), None, limits)
        return frame
    return _csv(path, limits)


__all__ = ["read_planned", "read_presence_table"]
