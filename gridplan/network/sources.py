"""Reading street sources for the network: OSM extracts and line layers, and the tag rules.

:func:`way_allowed` is the per-profile tag filter described in
:mod:`gridplan.network.graphs`; :func:`parse_speed_kph` reads ``maxspeed`` values. The
readers turn an OpenStreetMap extract (pyosmium) or a line layer into ways with tags and node
coordinates (:class:`_Source`), which :mod:`gridplan.network.graphs` builds graphs from.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan._errors import GridplanWarning
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import require_crs
from gridplan.geo.streets import read_street_lines
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import check_file
from gridplan.network._noding import Noding
from gridplan.network._noding import levels
from gridplan.network._noding import node_lines
from gridplan.network._noding import snap_vertices

Profile = Literal["walk", "ride"]

#: The two network profiles, in the order they are built and stored.
PROFILES: tuple[str, ...] = ("walk", "ride")

#: ``highway`` values never walked (osmnx "walk" filter plus motorways and trunks).
WALK_EXCLUDED_HIGHWAYS = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "cycleway",
        "motorway",
        "motorway_link",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "services",
        "trunk",
        "trunk_link",
    }
)

#: ``highway`` values never ridden (osmnx "drive_service" filter, cycleways allowed).
RIDE_EXCLUDED_HIGHWAYS = frozenset(
    {
        "abandoned",
        "bridleway",
        "bus_guideway",
        "construction",
        "corridor",
        "elevator",
        "escalator",
        "footway",
        "motorway",
        "motorway_link",
        "no",
        "path",
        "pedestrian",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "services",
        "steps",
        "track",
    }
)

_YES = frozenset({"yes", "designated", "permissive"})
_ONEWAY_FORWARD = frozenset({"yes", "true", "1", "f", "ft"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse", "t", "tf"})
_OSM_KEYS = (
    "highway",
    "name",
    "oneway",
    "junction",
    "maxspeed",
    "area",
    "access",
    "foot",
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "service",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
)
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$", re.IGNORECASE)


def _check_profile(profile: str) -> str:
    if profile not in PROFILES:
        msg = f"profile {profile!r} is unknown; use one of {', '.join(map(repr, PROFILES))}"
        raise InputError(msg)
    return profile


def way_allowed(tags: Mapping[str, Any], profile: Profile) -> bool:
    """Return whether a way with these OSM tags belongs to the ``profile`` network.

    Parameters
    ----------
    tags
        OSM tags, or the attributes of a line-layer row (a missing or empty ``highway`` value
        passes the ``highway`` test; :func:`build_network` applies the filter to line layers
        only when they have a ``highway`` column).
    profile
        ``"walk"`` or ``"ride"``; see the module docstring for the filters.

    Examples
    --------
    >>> way_allowed({"highway": "footway"}, "walk"), way_allowed({"highway": "footway"}, "ride")
    (True, False)
    >>> way_allowed({"highway": "motorway"}, "walk")
    False
    """
    _check_profile(profile)

    def tag(key: str) -> str:
        value = tags.get(key)
        return "" if value is None else str(value).strip().lower()

    highway = tag("highway")
    if tag("area") == "yes":
        return False
    foot, bicycle = tag("foot"), tag("bicycle")
    if profile == "walk":
        if highway in WALK_EXCLUDED_HIGHWAYS and not (
            highway in ("cycleway", "trunk", "trunk_link") and foot in _YES
        ):
            return False
        if foot == "no" or tag("service") == "private":
            return False
        if tag("access") in ("private", "no") and foot not in _YES:
            return False
        sides = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")
        return not any(tag(k) == "separate" for k in sides)
    if highway in RIDE_EXCLUDED_HIGHWAYS and not (
        highway in ("footway", "path", "pedestrian") and bicycle in _YES
    ):
        return False
    if tag("access") in ("private", "no") and bicycle not in _YES:
        return False
    if (
        (tag("motor_vehicle") == "no" or tag("motorcar") == "no")
        and highway != "cycleway"
        and bicycle not in _YES
    ):
        return False
    return tag("service") not in ("emergency_access", "parking", "parking_aisle", "private")


def parse_speed_kph(value: Any) -> float | None:
    """Parse an OSM ``maxspeed`` (``"30"``, ``"25 mph"``, ``"50;30"``) into km/h.

    Several values (``;`` or ``|`` separated) give the lowest. Non-numeric values
    (``"signals"``, ``"RU:urban"``, ``"none"``) and 0 give ``None``.

    Examples
    --------
    >>> parse_speed_kph("25 mph")
    40.2336
    >>> parse_speed_kph("signals") is None
    True
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    speeds = []
    for part in re.split(r"[;|]", str(value)):
        match = _SPEED_RE.match(part)
        if not match:
            continue
        speed = float(match.group(1))
        unit = (match.group(2) or "").lower()
        if unit == "mph":
            speed *= 1.609344
        elif unit == "knots":
            speed *= 1.852
        if speed > 0:
            speeds.append(round(speed, 4))
    return min(speeds) if speeds else None


# --------------------------------------------------------------------------------------------
# Reading sources into ways and node coordinates


@dataclasses.dataclass
class _Source:
    """Ways (id, tags, node refs) and node lon/lat of one input, plus a description."""

    description: str
    ways: list[tuple[int, dict[str, str], list[int]]]
    lon: dict[int, float]
    lat: dict[int, float]
    tagged: bool  # whether ways carry a highway tag (OSM, or a line layer with that column)


def _read_osm(
    path: Path,
    progress: ProgressCallback | None,
    *,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> _Source:
    import osmium
    import osmium.filter

    check_file(path, kinds="an .osm.pbf, .osm or .osm.bz2 extract", what="the OSM extract")
    limits.check("max_bytes", path.stat().st_size, path)
    ways = []
    refs: set[int] = set()
    try:
        report(progress, "read OSM ways", 0, 2)
        processor = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        for way in processor:
            tags = {k: way.tags[k] for k in _OSM_KEYS if k in way.tags}
            nodes = [n.ref for n in way.nodes]
            ways.append((way.id, tags, nodes))
            refs.update(nodes)
        report(progress, "read OSM nodes", 1, 2)
        lon: dict[int, float] = {}
        lat: dict[int, float] = {}
        # not osmium.filter.IdFilter: it rejects the negative ids of edited extracts
        for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
            if node.id in refs and node.location.valid():
                lon[node.id] = node.location.lon
                lat[node.id] = node.location.lat
    except RuntimeError as exc:
        msg = (
            f"{path}: cannot read the OpenStreetMap extract ({exc}); check that it is an "
            ".osm.pbf, .osm or .osm.bz2 file (download it again if it was cut short)"
        )
        raise InputError(msg) from exc
    report(progress, "read OSM nodes", 2, 2)
    if not ways:
        msg = (
            f"{path}: the extract has no ways with a highway tag, so no streets; export an "
            "extract that includes the street network (highway=*)"
        )
        raise InputError(msg)
    missing = len(refs) - len(lon)
    # ways whose nodes are missing from the extract (cut at its edge) keep their known nodes
    ways = [(i, t, [n for n in nodes if n in lon]) for i, t, nodes in ways]
    ways = [w for w in ways if len(w[2]) >= 2]
    extra = f", {missing:,} referenced nodes missing" if missing else ""
    return _Source(
        description=f"OpenStreetMap extract {path} ({len(ways):,} highway ways{extra})",
        ways=ways,
        lon=lon,
        lat=lat,
        tagged=True,
    )


def _read_lines(
    lines: gpd.GeoDataFrame | str | Path,
    *,
    snap_m: float,
    crs: str | None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> _Source:
    gdf = read_street_lines(lines, limits=limits)
    where = str(lines) if isinstance(lines, str | Path) else "street lines"
    require_crs(gdf, where=where)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geom_type.isin(["LineString", "MultiLineString"])]
    gdf = _without_broken_lines(gdf.explode(index_parts=False), where)
    if gdf.empty:
        msg = (
            f"{where}: no LineString features, so no streets; give a line layer (street "
            "centrelines), not points or polygons"
        )
        raise InputError(msg)
    columns = {c.lower(): c for c in gdf.columns if c != gdf.geometry.name}
    metric = metric_crs(gdf, crs=crs)
    level = levels(gdf, columns)
    noded, noding = node_lines(gdf.geometry.to_crs(metric).values, level, snap_m=snap_m)
    coords, owner, label = snap_vertices(noded, level, snap_m=snap_m)
    n = len(coords)
    first = pd.Series(np.arange(n)).groupby(label).first().to_numpy()
    lonlat = shapely.get_coordinates(
        gpd.GeoSeries(shapely.points(coords[first]), crs=metric).to_crs(4326).values
    )
    lon = dict(enumerate(lonlat[:, 0].tolist()))
    lat = dict(enumerate(lonlat[:, 1].tolist()))
    keys = [k for k in _OSM_KEYS if k in columns]
    speed_column = columns.get("maxspeed") or columns.get("speed")
    starts = np.searchsorted(owner, np.arange(len(gdf) + 1))
    records = gdf[[columns[k] for k in keys]].to_dict("records") if keys else [{}] * len(gdf)
    speeds = gdf[speed_column].tolist() if speed_column else [None] * len(gdf)
    ways = []
    for i, (record, speed) in enumerate(zip(records, speeds, strict=True)):
        tags = {}
        for key in keys:
            value = record[columns[key]]
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                tags[key] = str(value)
        if speed_column:
            tags.pop("maxspeed", None)
            if parse_speed_kph(speed) is not None:
                tags["maxspeed"] = str(speed)
        nodes = label[starts[i] : starts[i + 1]].tolist()
        nodes = [a for j, a in enumerate(nodes) if j == 0 or a != nodes[j - 1]]
        if len(nodes) >= 2:
            ways.append((i, tags, nodes))
    return _Source(
        description=f"line layer {where} ({len(gdf):,} lines{_noding_text(noding)})",
        ways=ways,
        lon=lon,
        lat=lat,
        tagged="highway" in columns,
    )


def _without_broken_lines(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """Drop lines that cannot be streets, naming each feature in one warning.

    A line with a NaN or infinite coordinate, fewer than two points or no length is no street;
    the other lines of the layer are kept. ``gdf`` is exploded, its index the feature's position.
    """
    geoms = gdf.geometry.values
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(gdf), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    short = shapely.get_num_points(geoms) < 2
    flat = finite & ~short & (shapely.length(geoms) == 0)  # GEOS cannot even segmentize it
    bad = ~finite | short | flat
    if bad.any():
        reasons = np.select(
            [~finite, short], ["NaN or infinite coordinates", "fewer than 2 points"], "no length"
        )[bad]
        where_bad = [f"#{int(i) + 1} ({r})" for i, r in zip(gdf.index[bad], reasons, strict=True)]
        shown = ", ".join(dict.fromkeys(where_bad[:10])) + (" ..." if len(where_bad) > 10 else "")
        msg = (
            f"{where}: {int(bad.sum())} street line(s) skipped: {shown}; the other lines are "
            "kept. Redraw those lines in your GIS if they are streets"
        )
        warnings.warn(msg, GridplanWarning, stacklevel=2)
    return gdf[~bad].reset_index(drop=True)


def _noding_text(noding: Noding) -> str:
    """Say what the noding did, for the build report (nothing when it did nothing)."""
    parts = []
    if noding.joined:
        parts.append(
            f"{noding.joined:,} junctions added where streets meet without a shared vertex"
        )
    if noding.apart:
        parts.append(f"{noding.apart:,} crossings kept apart as bridges, tunnels or layers")
    return "".join(f"; {p}" for p in parts)


def _oneway(tags: Mapping[str, str]) -> int:
    """Return 1 (forward only), -1 (backward only) or 0 (both ways)."""
    value = str(tags.get("oneway", "")).strip().lower()
    if value in _ONEWAY_FORWARD:
        return 1
    if value in _ONEWAY_REVERSE:
        return -1
    if str(tags.get("junction", "")).strip().lower() == "roundabout":
        return 1
    return 0
