"""Street lines: read a street layer or an OpenStreetMap extract as LineStrings.

The street network (:mod:`gridplan.network.sources`) builds its graphs from the same reader; the
grid generator uses the lines to polygonise street blocks.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pyogrio.errors
import shapely

from gridplan._errors import InputError
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import check_file
from gridplan.io.vector import read_vector

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2")


def read_street_lines(
    streets: gpd.GeoDataFrame | gpd.GeoSeries | str | Path,
    *,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> gpd.GeoDataFrame:
    """Return street lines as a GeoDataFrame in their own CRS.

    Parameters
    ----------
    streets
        A line GeoDataFrame/GeoSeries, a vector file (GeoJSON, GeoPackage, zipped Shapefile)
        or an OpenStreetMap extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``), whose ``lines``
        layer (with its ``highway`` tag) is read with GDAL's OSM driver.
    limits
        What the file may take (:class:`~gridplan.io.limits.ReadLimits`).

    Raises
    ------
    InputError
        If the file is missing or unreadable, or ``streets`` is of another type.

    Examples
    --------
    >>> gdf = read_street_lines("data/streets/portland-central-filtered.osm.pbf")
    >>> "highway" in gdf.columns
    True
    """
    if isinstance(streets, gpd.GeoDataFrame):
        return streets.copy()
    if isinstance(streets, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=streets)
    if not isinstance(streets, str | Path):
        msg = f"streets must be a GeoDataFrame or a file path, not {type(streets).__name__}"
        raise InputError(msg)
    path = Path(streets)
    if path.name.lower().endswith(OSM_SUFFIXES):
        return _read_osm_lines(path, limits)
    return read_vector(path, limits=limits)


def _read_osm_lines(path: Path, limits: ReadLimits) -> gpd.GeoDataFrame:
    """Read the ``lines`` layer of an OSM file with GDAL's OSM driver."""
    check_file(path, kinds="an .osm.pbf, .osm or .osm.bz2 extract", what="the OSM extract")
    limits.check("max_bytes", path.stat().st_size, path)
    # GDAL's custom node index rejects negative node ids (common in edited extracts).
    option = "OSM_USE_CUSTOM_INDEXING"
    before = pyogrio.get_gdal_config_option(option)
    pyogrio.set_gdal_config_options({option: "NO"})
    try:
        source = f"/vsicompressed/{path}" if path.name.lower().endswith(".bz2") else str(path)
        gdf = pyogrio.read_dataframe(source, layer="lines", max_features=limits.max_rows + 1)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{path}: cannot read the OSM lines layer ({exc}); export the streets as GeoJSON"
        raise InputError(msg) from exc
    finally:
        pyogrio.set_gdal_config_options({option: before})
    limits.check("max_rows", len(gdf), path)
    limits.check("max_vertices", int(shapely.get_num_coordinates(gdf.geometry.values).sum()), path)
    return gdf
