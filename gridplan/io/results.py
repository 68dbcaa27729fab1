"""Writing and reading the stages' results as files: grid, incidents, rejects, hot spots.

Layers are written as RFC 7946 GeoJSON or GeoPackage (:mod:`gridplan.io.export`) with their
QGIS styles (:mod:`gridplan.io.styles`: a ``.qml`` beside a GeoJSON, the ``layer_styles``
table of a GeoPackage), tables as CSV in UTF-8 with a BOM. The stages themselves
(:mod:`gridplan.geo.grid`, :mod:`gridplan.geo.incidents`, :mod:`gridplan.analysis.hotspots`)
write nothing; each file here reads back to the frame it was written from.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridplan import settings
from gridplan._errors import CRSError
from gridplan._errors import InputError
from gridplan._validate import GRID_COLUMNS
from gridplan._validate import GRID_LEVELS
from gridplan._validate import REJECT_COLUMNS
from gridplan._validate import check_grid_columns
from gridplan._validate import check_hotspot_columns
from gridplan._validate import check_incident_columns
from gridplan._validate import class_method
from gridplan.geo.crs import require_crs
from gridplan.geo.grid import id_text
from gridplan.geo.incidents import ImportResult
from gridplan.io import styles
from gridplan.io.csvsafe import unescape_cell
from gridplan.io.csvsafe import write_frame_csv
from gridplan.io.export import iso_times
from gridplan.io.export import write_csv
from gridplan.io.export import write_geodata
from gridplan.io.vector import check_file
from gridplan.io.vector import read_vector


def write_grid(
    gdf: gpd.GeoDataFrame, path: str | Path, *, three_layers: bool = False, qml: bool = True
) -> Path:
    """Write a GRID frame to GeoJSON (RFC 7946) or GeoPackage, styled for QGIS.

    Parameters
    ----------
    gdf
        A GRID frame in any CRS (written as EPSG:4326).
    path
        ``.geojson``/``.json`` or ``.gpkg``. An existing file is replaced.
    three_layers
        GeoPackage only: write layers ``station``, ``base`` and ``micro`` instead of one
        layer ``grid``.
    qml
        GeoJSON only: also write the QGIS style as ``<stem>.qml`` beside it (a GeoPackage
        always carries its styles in its ``layer_styles`` table; see :mod:`gridplan.io.styles`).

    Returns
    -------
    Path
        The written file; :func:`~gridplan.geo.grid.load_grid` reads it back unchanged.

    Raises
    ------
    InputError
        If the frame lacks GRID columns or the suffix is not .geojson/.json/.gpkg.

    Examples
    --------
    >>> from gridplan.geo.grid import load_grid
    >>> grid = load_grid("tests/data/grid_clean.geojson")
    >>> write_grid(grid, "/tmp/grid.gpkg", three_layers=True).name
    'grid.gpkg'
    """
    path = Path(path)
    check_grid_columns(
        gdf,
        what=f"cannot write {path}: the frame",
        fix=f"a grid needs {', '.join(GRID_COLUMNS)} (load it with load_grid)",
    )
    require_crs(gdf, where=f"writing {path}")
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        msg = f"cannot write {path}: unknown suffix {suffix!r}; use .geojson or .gpkg"
        raise InputError(msg)
    if three_layers and suffix != ".gpkg":
        msg = f"cannot write {path}: three layers need a GeoPackage; use a .gpkg path"
        raise InputError(msg)
    out = gdf[list(GRID_COLUMNS)].to_crs(settings.OUTPUT_CRS)
    out = gpd.GeoDataFrame(
        {
            "id": pd.Series([id_text(v) for v in out["id"]], dtype=object),
            "level": pd.Series([str(v) for v in out["level"]], dtype=object),
            "parent_id": pd.Series([id_text(v) for v in out["parent_id"]], dtype=object),
            "name": pd.Series(["" if v is None else str(v) for v in out["name"]], dtype=object),
        },
        geometry=out.geometry.to_numpy(),
        crs=settings.OUTPUT_CRS,
    )
    if not three_layers:
        write_geodata(out, path, layer="grid", replace=True)
        return styles.style_file(path, "grid", styles.grid_style(), qml=qml)
    path.unlink(missing_ok=True)
    for level in GRID_LEVELS:
        part = out[out["level"] == level]
        if len(part) or level != "micro":
            write_geodata(part.drop(columns="level"), path, layer=level)
    return styles.write_gpkg_styles(
        path, {level: styles.grid_style(level) for level in GRID_LEVELS}
    )


def write_incidents(
    data: ImportResult | gpd.GeoDataFrame, path: str | Path, *, qml: bool = True
) -> Path:
    """Write incidents as GeoJSON (RFC 7946), GeoPackage or CSV, chosen by the suffix.

    Times are written as ISO 8601 text with the UTC offset; CSV gets ``lon`` and ``lat``
    columns and a BOM so that Excel shows Chinese text. :func:`import_incidents` reads every
    one of these files back to the same incidents. An existing file is replaced. Points are
    styled for QGIS by alert colour (see :mod:`gridplan.io.styles`).

    Parameters
    ----------
    data
        An :class:`ImportResult` or an INCIDENTS GeoDataFrame.
    path
        Target file: ``.geojson``/``.json``, ``.gpkg`` or ``.csv``.
    qml
        GeoJSON only: also write the QGIS style as ``<stem>.qml`` beside it (a GeoPackage
        carries it in its ``layer_styles`` table).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        On an unknown suffix or a frame lacking the INCIDENTS columns.

    Examples
    --------
    >>> out = write_incidents(result, "incidents.geojson")  # doctest: +SKIP
    >>> import_incidents(out).incidents.equals(result.incidents)  # doctest: +SKIP
    True
    """
    gdf = data.incidents if isinstance(data, ImportResult) else data
    path = Path(path)
    check_incident_columns(gdf, what=f"{path}: the incident table")
    if gdf.crs is None:
        msg = f"{path}: the incidents have no CRS; set it with gdf.set_crs('EPSG:4326')"
        raise CRSError(msg)
    gdf = gdf.to_crs("EPSG:4326")
    out = pd.DataFrame(
        {
            "id": gdf["id"].astype(str),
            "time": iso_times(gdf["time"]),
            "category": gdf["category"].astype(object).where(gdf["category"].notna(), None),
            "alert": gdf["alert"].astype(object).where(gdf["alert"].notna(), None),
            "weight": gdf["weight"].astype(float),
            "in_station": gdf["in_station"].astype(bool),
            "source_row": gdf["source_row"].astype(np.int64),
        },
        index=gdf.index,
    )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        out["lon"] = gdf.geometry.x
        out["lat"] = gdf.geometry.y
        return write_frame_csv(out, path)
    if suffix not in (".geojson", ".json", ".gpkg"):
        msg = f"{path}: unknown output format {suffix!r}; use .geojson, .gpkg or .csv"
        raise InputError(msg)
    layer = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs="EPSG:4326")
    # 15 decimals: re-importing the file gives back exactly the same points.
    write_geodata(layer, path, layer="incidents", replace=True, precision=15)
    return styles.style_file(path, "incidents", styles.incident_style(), qml=qml)


def write_rejects(data: ImportResult | pd.DataFrame, path: str | Path) -> Path:
    """Write the rejected rows as CSV, UTF-8 with BOM so that Excel shows Chinese text.

    Parameters
    ----------
    data
        An :class:`ImportResult` or its ``rejects`` frame.
    path
        Target ``.csv`` file (replaced if it exists).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> write_rejects(result, "rejects.csv")  # doctest: +SKIP
    PosixPath('rejects.csv')
    """
    rejects = data.rejects if isinstance(data, ImportResult) else data
    path = Path(path)
    return write_frame_csv(rejects.loc[:, list(REJECT_COLUMNS)], path)


def read_hotspots(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a hot-spot file written by ``gridplan hotspots --out`` (GeoJSON or GeoPackage).

    Parameters
    ----------
    path
        The file; CSV exports of ``--csv`` work too (geometry as WKT).
    layer
        GeoPackage layer (default: the first).

    Returns
    -------
    GeoDataFrame
        The long frame of :func:`~gridplan.analysis.hotspots.compute_hotspots`: one row per
        micro-grid and slice.

    Raises
    ------
    InputError
        Missing or unreadable file, or a file without the hot-spot columns (named).

    Examples
    --------
    >>> hot = read_hotspots("out/hotspots.geojson")  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        check_file(path)
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"id": str, "slice": str})
        # the writer quoted text a spreadsheet would run (gridplan.io.csvsafe): undo it
        frame.columns = [unescape_cell(c) for c in frame.columns]
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col]):
                frame[col] = frame[col].map(unescape_cell)
        geometry = None
        if "wkt" in frame:
            geometry = gpd.GeoSeries.from_wkt(frame.pop("wkt"), crs="EPSG:4326")
        hot = gpd.GeoDataFrame(frame, geometry=geometry)
    else:
        hot = read_vector(path, layer=layer)
    check_hotspot_columns(
        hot,
        what=f"{path}: not a hot-spot file: it",
        fix="make one with `gridplan hotspots --grid GRID --incidents FILE --out PATH`",
    )
    hot = hot.copy()
    hot["id"] = hot["id"].astype(str)
    hot["slice"] = hot["slice"].astype(str)
    if "recent" in hot:  # empty cells come back as missing from a CSV (files before: no column)
        hot["recent"] = hot["recent"].map(lambda v: v if isinstance(v, str) else "")
    return hot


def write_hotspots(
    hot: gpd.GeoDataFrame, path: str | Path, *, layer: str = "hotspots", qml: bool = True
) -> Path:
    """Write hot spots as GeoJSON (RFC 7946), a GeoPackage layer or CSV with WKT, styled.

    Parameters
    ----------
    hot
        The frame of :func:`~gridplan.analysis.hotspots.compute_hotspots` (one row per micro-grid
        and slice).
    path
        ``.geojson``/``.json``, ``.gpkg`` or ``.csv`` (UTF-8 with BOM, geometry as WKT).
        An existing GeoJSON or CSV is replaced; a GeoPackage keeps its other layers.
    layer
        GeoPackage layer name.
    qml
        GeoJSON only: also write the QGIS style as ``<stem>.qml`` beside it. A GeoPackage
        carries it in its ``layer_styles`` table: hot-spot classes coloured as on gridplan's
        maps, one group per slice in QGIS's layer panel (see :mod:`gridplan.io.styles`).

    Returns
    -------
    Path
        The file written; :func:`read_hotspots` reads it back.

    Raises
    ------
    InputError
        If the frame lacks the hot-spot columns or the suffix is not supported.

    Examples
    --------
    >>> write_hotspots(hot, "hotspots.gpkg")  # doctest: +SKIP
    PosixPath('hotspots.gpkg')
    """
    path = Path(path)
    check_hotspot_columns(hot, what=f"cannot write {path}: the hot-spot table")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(hot, path)
    write_geodata(hot, path, layer=layer)
    style = styles.hotspot_style(hot["slice"].astype(str), method=class_method(hot["gi_class"]))
    return styles.style_file(path, layer, style, qml=qml)
