"""Hot-spot maps: an interactive choropleth per micro-grid and time slice, saved offline.

The layers come from :mod:`gridplan.maps.layers`; :func:`save_map` writes one self-contained
HTML file with the vendored libraries inlined, for station intranets without internet.
"""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd

from gridplan._validate import HOTSPOT_MAP_COLUMNS
from gridplan._validate import check_hotspot_columns
from gridplan.maps.layers import add_layer
from gridplan.maps.layers import add_layer_control
from gridplan.maps.layers import base_map
from gridplan.maps.layers import base_names
from gridplan.maps.layers import check_lang
from gridplan.maps.layers import hotspot_layer
from gridplan.maps.layers import inline_assets
from gridplan.maps.layers import outline_layer


def hotspot_map(
    hotspots: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    slice_labels: dict[str, str] | None = None,
    lang: str = "zh",
    tiles: str | None = "openstreetmap",
    attribution: str | None = None,
    static_url: str | None = None,
) -> folium.Map:
    """Make an interactive choropleth of hot spots per micro-grid and time slice.

    Parameters
    ----------
    hotspots
        The long frame from :func:`gridplan.analysis.hotspots.compute_hotspots` (one row per
        micro-grid and slice, with ``count``, ``density_km2``, ``score``, ``rank``, ``gi_z``,
        ``gi_class``).
    grid
        The 1+5+N grid; its base grids and station are drawn as outlines when given.
    slice_labels
        Display names per slice id (default: the ids; ``all`` is "全天"/"All day").
    lang
        ``"zh"`` or ``"en"`` for the control and legend texts.
    tiles, attribution, static_url
        See :func:`base_map`.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` for a self-contained offline HTML file.

    Examples
    --------
    >>> m = hotspot_map(gdf_hotspots, grid=gdf_grid, tiles="none")  # doctest: +SKIP
    >>> save_map(m, "hotspots.html")  # doctest: +SKIP
    """
    check_hotspot_columns(hotspots, HOTSPOT_MAP_COLUMNS)
    labels = check_lang(lang)
    first = hotspots[hotspots["slice"] == hotspots["slice"].iloc[0]]
    keep = [c for c in ("id", "name", "parent_id", "geometry") if c in first]
    cells = gpd.GeoDataFrame(first[keep].copy(), crs=hotspots.crs)
    m = base_map(
        tuple(cells.to_crs(4326).total_bounds),
        tiles=tiles,
        attribution=attribution,
        static_url=static_url,
    )
    layer = hotspot_layer(
        cells, hotspots, labels, slice_labels=slice_labels, bases=base_names(grid)
    )
    add_layer(m, layer, labels)
    if grid is not None:
        outlines = outline_layer(grid, labels)
        if outlines is not None:
            add_layer(m, outlines, labels)
        add_layer_control(m, labels)
    return m


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Save a map as one self-contained HTML file with its libraries inlined (works offline).

    Parameters
    ----------
    m
        A map from :func:`hotspot_map` (or any folium map made with ``static_url=None``).
    path
        The ``.html`` file to write; parent folders are created.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import gridplan as gp
    >>> cfg = gp.load_config("data/station.toml")
    >>> grid = gp.load_grid("data/boundaries/grid.geojson")
    >>> incidents = gp.import_incidents(
    ...     "tests/data/incidents_portland_2019_sample.csv", config=cfg, station=grid
    ... ).incidents
    >>> hot = gp.compute_hotspots(grid, incidents, config=cfg)
    >>> m = gp.hotspot_map(hot, grid=grid, tiles="none")
    >>> save_map(m, pathlib.Path(tempfile.mkdtemp()) / "hotspots.html").name
    'hotspots.html'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_offline(m), encoding="utf-8")
    return path


def render_offline(m: folium.Map) -> str:
    """Render a map made with ``static_url=None`` as one HTML page with its libraries inlined."""
    return inline_assets(m.get_root().render())
