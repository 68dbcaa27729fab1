"""The street network: walking and riding graphs built offline, and their cache file.

A :class:`StreetNetwork` holds two osmnx-style ``networkx.MultiDiGraph`` objects in a
projected metric CRS, one per *profile*:

``walk``
    Volunteers on foot. Every edge exists in both directions (``oneway`` is ignored). The tag
    filter follows osmnx's ``network_type="walk"`` and also drops motorways and trunks:
    a way is kept when it has a ``highway`` tag whose value is not in
    :data:`WALK_EXCLUDED_HIGHWAYS` (``cycleway``, ``trunk`` and ``trunk_link`` are kept when
    ``foot`` is ``yes``/``designated``/``permissive``), and it is not ``area=yes``,
    ``foot=no``, ``service=private``, ``access=private|no`` (unless ``foot`` allows it) or a
    road whose sidewalk is drawn as a separate way (``sidewalk[:both|:left|:right]=separate``;
    the separate footway is kept instead). Footways, steps, paths, pedestrian streets, living
    streets, residential and service roads are in.
``ride``
    Auxiliaries on e-bikes or in cars. ``oneway`` is respected (``yes``/``true``/``1``,
    ``-1``/``reverse`` and roundabouts). The tag filter follows osmnx's
    ``network_type="drive_service"`` and adds cycleways: a way is kept when its ``highway``
    value is not in :data:`RIDE_EXCLUDED_HIGHWAYS` (``footway``, ``path`` and ``pedestrian``
    are kept when ``bicycle`` is ``yes``/``designated``/``permissive``), and it is not
    ``area=yes``, ``access=private|no``, ``motor_vehicle=no``/``motorcar=no`` (unless it is a
    cycleway or ``bicycle`` allows it) or ``service=emergency_access|parking|parking_aisle|
    private``. Edges keep the way's ``maxspeed`` as ``maxspeed_kph`` so that travel times can
    be capped by it.

Sources are an OpenStreetMap extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``; read with
pyosmium, which accepts the negative node ids of edited extracts) or a line layer (GeoJSON,
GeoPackage, zipped Shapefile). In a line layer, lines connect where they share a vertex
(within ``snap_m``), so data split at junctions and data with shared crossing vertices both
work; lines that cross without a shared vertex (bridges) do not connect. Optional columns:
``highway`` (then the tag filters above apply; without it every line is in both networks),
``oneway`` (OSM values, or Geofabrik's ``F``/``T``/``B``, or ESRI's ``FT``/``TF``/``N``) and
``maxspeed`` or ``speed`` (km/h, or ``"25 mph"``).

The graph is built from ways and nodes, simplified with :func:`osmnx.simplify_graph`, clipped
to the station boundary plus a buffer, projected, and reduced to its largest strongly
connected component; the :class:`BuildReport` says what was dropped. The build fails with
:class:`~gridplan.InputError` when the network does not cover the station.

:func:`save_network` writes a GeoPackage (layers ``walk_nodes``, ``walk_edges``,
``ride_nodes``, ``ride_edges`` and a ``gridplan_network`` table that marks the file); it can be
opened in QGIS and :func:`load_network` reads it back without osmnx and without pickle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from gridplan import settings
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import require_crs
from gridplan.geo.streets import OSM_SUFFIXES
from gridplan.io.limits import ReadLimits
from gridplan.io.vector import check_file
from gridplan.network.sources import PROFILES
from gridplan.network.sources import RIDE_EXCLUDED_HIGHWAYS
from gridplan.network.sources import WALK_EXCLUDED_HIGHWAYS
from gridplan.network.sources import Profile
from gridplan.network.sources import _check_profile
from gridplan.network.sources import _oneway
from gridplan.network.sources import _read_lines
from gridplan.network.sources import _read_osm
from gridplan.network.sources import _Source
from gridplan.network.sources import parse_speed_kph
from gridplan.network.sources import way_allowed

#: Buffer around the station boundary kept in the network, in metres: patrols cross the
#: boundary streets and short cuts just outside it.
BUFFER_M = 300.0

#: A coverage unit (micro-grid, or a 200 m cell of the boundary) is covered when a street of
#: the network passes within this many metres of it.
COVER_DISTANCE_M = 200.0

#: Share of coverage units that must be covered, per profile, or the build fails.
MIN_COVERAGE = 0.9

#: Line-layer vertices closer than this many metres are joined into one node.
SNAP_M = 0.5

_FILE_FORMAT = "gridplan-network"
_FILE_VERSION = 1
_META_LAYER = "gridplan_network"
_EDGE_COLUMNS = ("osmid", "highway", "name", "oneway", "length", "maxspeed_kph")


# --------------------------------------------------------------------------------------------
# Reports and the network object


@dataclasses.dataclass(frozen=True)
class ProfileReport:
    """What the build kept and dropped for one profile.

    ``ways`` counts the source ways (or lines) that passed the tag filter and touch the clip
    area; ``nodes``, ``edges`` and ``km`` describe the final graph (directed edges; a two-way
    street counts twice, ``km`` sums directed edges); ``dropped_*`` are the parts outside its
    largest strongly connected component; ``coverage`` is the share of coverage units with a
    street within :data:`COVER_DISTANCE_M` (``None`` without a boundary) out of ``units``.
    """

    profile: str
    ways: int
    nodes: int
    edges: int
    km: float
    dropped_nodes: int
    dropped_edges: int
    dropped_km: float
    coverage: float | None = None
    units: int = 0

    def summary(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        """Return one human line."""
        cover = (
            f", covers {self.coverage:.0%} of {self.units} units"
            if self.coverage is not None
            else ""
        )
        return (
            f"{self.profile}: {self.nodes:,} nodes, {self.edges:,} edges, {self.km:,.1f} km "
            f"from {self.ways:,} ways; dropped outside the largest strongly connected "
            f"component: {self.dropped_nodes:,} nodes, {self.dropped_edges:,} edges, "
            f"{self.dropped_km:,.2f} km{cover}"
        )


@dataclasses.dataclass(frozen=True)
class BuildReport:
    """How a :class:`StreetNetwork` was built: source, clip, per-profile counts, seconds."""

    source: str
    crs: str
    buffer_m: float | None
    seconds: float
    walk: ProfileReport
    ride: ProfileReport

    def summary(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        """Return a few human lines."""
        clip = (
            f"clipped to the boundary + {self.buffer_m:g} m"
            if self.buffer_m is not None
            else "not clipped"
        )
        return "\n".join(
            [
                f"street network from {self.source} ({clip}, {self.crs}, {self.seconds:.1f} s)",
                "  " + self.walk.to_text(),
                "  " + self.ride.to_text(),
            ]
        )

    @classmethod
    def from_summary(cls, data: Mapping[str, Any]) -> BuildReport:
        """Rebuild a report from :meth:`summary` output."""
        data = dict(data)
        for name in PROFILES:
            data[name] = ProfileReport(**data[name])
        return cls(**data)


@dataclasses.dataclass(frozen=True, eq=False)
class StreetNetwork:
    """The walking and riding street graphs of a station, in a metric CRS.

    Attributes
    ----------
    walk, ride
        osmnx-style ``networkx.MultiDiGraph``: nodes have ``x``/``y`` (metres in ``crs``),
        edges have ``length`` (m), ``geometry`` (LineString in ``crs``, from ``u`` to ``v``),
        ``osmid``, ``highway`` and ``name`` (``;``-joined when a simplified edge merged several
        ways), ``oneway`` and, on riding edges, ``maxspeed_kph`` when tagged. Treat them as
        read-only: matrices cache data derived from them.
    crs
        The projected CRS of both graphs, as ``EPSG:xxxx`` or WKT.
    source
        Human description of the input.
    report
        The :class:`BuildReport`.

    Two networks compare equal when their graphs (nodes, edges, attributes), CRS, source and
    report are equal.

    Examples
    --------
    Usually built from an OSM extract (:func:`build_network`) and cached with
    :func:`save_network`; here from a small line layer:

    >>> import geopandas as gpd, shapely
    >>> streets = gpd.GeoDataFrame(  # three short streets in central Portland
    ...     {"name": ["NW Couch St", "NW Couch St", "NW 10th Ave"], "highway": ["residential"] * 3},
    ...     geometry=[
    ...         shapely.LineString([(-122.682, 45.5235), (-122.681, 45.5235)]),
    ...         shapely.LineString([(-122.681, 45.5235), (-122.680, 45.5235)]),
    ...         shapely.LineString([(-122.681, 45.5235), (-122.681, 45.5244)]),
    ...     ],
    ...     crs=4326,
    ... )
    >>> net = build_network(streets, crs="EPSG:26910")
    >>> net.crs, net.walk.number_of_nodes(), net.walk.number_of_edges()
    ('EPSG:26910', 4, 6)
    >>> net.street_name("walk", 1)
    'NW Couch St'
    """

    walk: nx.MultiDiGraph
    ride: nx.MultiDiGraph
    crs: str
    source: str
    report: BuildReport
    _cache: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def graph(self, profile: Profile) -> nx.MultiDiGraph:
        """Return the graph of ``profile`` (``"walk"`` or ``"ride"``)."""
        return getattr(self, _check_profile(profile))

    def node_frame(self, profile: Profile) -> gpd.GeoDataFrame:
        """Return the nodes of ``profile`` as points in the network CRS, indexed by node id."""
        key = ("nodes", profile)
        if key not in self._cache:
            G = self.graph(profile)
            ids = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
            x = np.fromiter((d["x"] for _, d in G.nodes(data=True)), float, count=len(G))
            y = np.fromiter((d["y"] for _, d in G.nodes(data=True)), float, count=len(G))
            self._cache[key] = gpd.GeoDataFrame(
                {"x": x, "y": y},
                geometry=gpd.points_from_xy(x, y),
                index=pd.Index(ids, name="node"),
                crs=self.crs,
            )
        return self._cache[key]

    def summary(self) -> dict[str, Any]:
        """Return the build report as a JSON-ready dict."""
        return self.report.summary()

    def street_name(self, profile: Profile, node: int) -> str:
        """Return the name of the street at ``node``, for route sheets ("near ...").

        The most common name among the edges at the node, else among those one edge away;
        ``""`` when none is named. Simplified edges that merged ways carry ``;``-joined names.
        """
        G = self.graph(profile)
        if node not in G:
            return ""
        frontier = [node]
        for _ in range(2):
            counts: dict[str, int] = {}
            nxt = []
            for n in frontier:
                for _, other, data in itertools.chain(
                    G.out_edges(n, data=True), G.in_edges(n, data=True)
                ):
                    for name in str(data.get("name") or "").split(";"):
                        if name.strip():
                            counts[name.strip()] = counts.get(name.strip(), 0) + 1
                    nxt.append(other)
            if counts:
                return min(counts, key=lambda k: (-counts[k], k))
            frontier = nxt
        return ""

    @property
    def fingerprint(self) -> str:
        """A short hash of both graphs (node positions, edges and their lengths and speeds).

        Plans record it so a plan is checked against the network it was made on: a saved and
        reloaded network has the same fingerprint, a rebuilt one from other data does not.
        """
        if "fingerprint" not in self._cache:
            digest = hashlib.sha256(self.crs.encode())
            for profile in PROFILES:
                G = self.graph(profile)
                nodes = sorted(
                    (int(n), round(d["x"], 2), round(d["y"], 2)) for n, d in G.nodes(data=True)
                )
                edges = sorted(
                    (int(u), int(v), int(k), round(float(d["length"]), 2), d.get("maxspeed_kph"))
                    for u, v, k, d in G.edges(keys=True, data=True)
                )
                digest.update(repr((profile, nodes, edges)).encode())
            self._cache["fingerprint"] = digest.hexdigest()[:16]
        return self._cache["fingerprint"]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StreetNetwork):
            return NotImplemented
        return (
            self.crs == other.crs
            and self.source == other.source
            and self.report == other.report
            and all(_graphs_equal(self.graph(p), other.graph(p)) for p in PROFILES)
        )

    __hash__ = None  # type: ignore[assignment]


def _graphs_equal(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> bool:
    if dict(a.nodes(data=True)) != dict(b.nodes(data=True)):
        return False
    ea = {(u, v, k): d for u, v, k, d in a.edges(keys=True, data=True)}
    eb = {(u, v, k): d for u, v, k, d in b.edges(keys=True, data=True)}
    return ea == eb


# --------------------------------------------------------------------------------------------
# Building one profile


def _runs(nodes: list[int], keep: set[int] | None) -> list[list[int]]:
    """Split a way's nodes into runs inside the clip area (as truncating the graph would)."""
    if keep is None:
        return [nodes]
    runs, run = [], []
    for n in nodes:
        if n in keep:
            run.append(n)
        else:
            if len(run) >= 2:
                runs.append(run)
            run = []
    if len(run) >= 2:
        runs.append(run)
    return runs


def _raw_graph(source: _Source, profile: str, keep: set[int] | None) -> tuple[nx.MultiDiGraph, int]:
    """Return the unsimplified lon/lat graph of ``profile`` and the number of ways used."""
    edges: list[tuple[int, int, dict[str, Any]]] = []
    used = 0
    for way_id, tags, nodes in source.ways:
        if source.tagged and not way_allowed(tags, profile):
            continue
        runs = _runs(nodes, keep)
        if not runs:
            continue
        used += 1
        direction = 0 if profile == "walk" else _oneway(tags)
        attrs: dict[str, Any] = {"osmid": way_id, "oneway": direction != 0}
        for key in ("highway", "name"):
            if key in tags:
                attrs[key] = tags[key]
        if profile == "ride":
            speed = parse_speed_kph(tags.get("maxspeed"))
            if speed is not None:
                attrs["maxspeed_kph"] = speed
        for run in runs:
            ordered = run[::-1] if direction == -1 else run
            pairs = list(itertools.pairwise(ordered))
            edges.extend((u, v, attrs) for u, v in pairs)
            if direction == 0:
                edges.extend((v, u, attrs) for u, v in pairs)
    G = nx.MultiDiGraph(crs="epsg:4326")
    nodes_used = {n for u, v, _ in edges for n in (u, v)}
    G.add_nodes_from((n, {"x": source.lon[n], "y": source.lat[n]}) for n in nodes_used)
    G.add_edges_from(edges)
    return G, used


def _join(values: Any) -> str:
    if isinstance(values, list):
        return ";".join(sorted({str(v) for v in values}))
    return str(values)


def _tidy(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Return a copy with the fixed attribute schema (no lists, a geometry on every edge)."""
    out = nx.MultiDiGraph(crs=G.graph["crs"])
    out.add_nodes_from((n, {"x": float(d["x"]), "y": float(d["y"])}) for n, d in G.nodes(data=True))
    for u, v, k, d in G.edges(keys=True, data=True):
        attrs: dict[str, Any] = {"osmid": _join(d["osmid"])}
        for key in ("highway", "name"):
            if key in d:
                attrs[key] = _join(d[key])
        oneway = d.get("oneway", False)
        attrs["oneway"] = bool(any(oneway) if isinstance(oneway, list) else oneway)
        attrs["length"] = float(d["length"])
        if "maxspeed_kph" in d:
            speed = d["maxspeed_kph"]
            attrs["maxspeed_kph"] = float(min(speed) if isinstance(speed, list) else speed)
        geometry = d.get("geometry")
        if geometry is None:
            a, b = G.nodes[u], G.nodes[v]
            geometry = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        attrs["geometry"] = geometry
        out.add_edge(u, v, key=k, **attrs)
    return out


def _km(G: nx.MultiDiGraph, edges: Iterable[tuple] | None = None) -> float:
    data = G.edges(data="length") if edges is None else (G.edges[e] for e in edges)
    if edges is None:
        return float(sum(length for _, _, length in data)) / 1000.0
    return float(sum(d["length"] for d in data)) / 1000.0


def _build_profile(
    source: _Source,
    profile: str,
    *,
    keep: set[int] | None,
    metric: pyproj.CRS,
) -> tuple[nx.MultiDiGraph, ProfileReport]:
    import osmnx as ox

    G, used = _raw_graph(source, profile, keep)
    if len(G.edges) == 0:
        return G, ProfileReport(profile, used, 0, 0, 0.0, 0, 0, 0.0)
    # great-circle lengths on lon/lat, then metric coordinates before simplification, so the
    # simplified edge geometries are built in metres directly (no graph re-projection)
    G = ox.distance.add_edge_lengths(G)
    ids = list(G.nodes)
    to_metric = pyproj.Transformer.from_crs(4326, metric, always_xy=True)
    x, y = to_metric.transform([source.lon[n] for n in ids], [source.lat[n] for n in ids])
    nx.set_node_attributes(G, dict(zip(ids, x, strict=True)), "x")
    nx.set_node_attributes(G, dict(zip(ids, y, strict=True)), "y")
    differ = ["maxspeed_kph"] if profile == "ride" else None
    G = ox.simplify_graph(G, edge_attrs_differ=differ)
    G = _tidy(G)
    G.graph["crs"] = metric.to_string()
    largest = max(nx.strongly_connected_components(G), key=len)
    dropped_edges = [e for e in G.edges(keys=True) if e[0] not in largest or e[1] not in largest]
    dropped_km = _km(G, dropped_edges)
    n_before = len(G)
    G.remove_nodes_from([n for n in G if n not in largest])
    out = G
    out.graph = {"crs": G.graph["crs"], "profile": profile}
    return out, ProfileReport(
        profile=profile,
        ways=used,
        nodes=out.number_of_nodes(),
        edges=out.number_of_edges(),
        km=round(_km(out), 3),
        dropped_nodes=n_before - len(out),
        dropped_edges=len(dropped_edges),
        dropped_km=round(dropped_km, 3),
    )


# --------------------------------------------------------------------------------------------
# Boundary and coverage


def _boundary_parts(
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | str | Path,
    limits: ReadLimits,
) -> tuple[gpd.GeoSeries, gpd.GeoSeries | None, str]:
    """Return (boundary polygons, coverage units or None, description)."""
    from gridplan.io.vector import read_vector

    where = str(boundary) if isinstance(boundary, str | Path) else "boundary"
    if isinstance(boundary, str | Path):
        boundary = read_vector(Path(boundary), limits=limits)
    if isinstance(boundary, shapely.Geometry):
        boundary = gpd.GeoSeries([boundary], crs=settings.OUTPUT_CRS)
    if isinstance(boundary, gpd.GeoSeries):
        boundary = gpd.GeoDataFrame(geometry=boundary)
    if not isinstance(boundary, gpd.GeoDataFrame):
        msg = f"boundary must be a polygon layer or a file path, not {type(boundary).__name__}"
        raise InputError(msg)
    require_crs(boundary, where=where)
    polygons = boundary[
        boundary.geometry.notna() & boundary.geom_type.isin(["Polygon", "MultiPolygon"])
    ]
    if polygons.empty:
        msg = f"{where}: no polygons; give the station boundary (or its 1+5+N grid) as polygons"
        raise InputError(msg)
    units = None
    if "level" in polygons.columns:
        level = polygons["level"].astype(str)
        if (level == "micro").any():
            units = polygons.loc[level == "micro"].geometry
        if (level == "station").any():
            polygons = polygons[level == "station"]
    return polygons.geometry, units, where


def _lattice(area: shapely.Geometry, size: float) -> list[shapely.Geometry]:
    """Square cells of ``size`` metres clipped to ``area`` (the default coverage units)."""
    x0, y0, x1, y1 = area.bounds
    xs = np.arange(math.floor(x0 / size) * size, x1, size)
    ys = np.arange(math.floor(y0 / size) * size, y1, size)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    cells = shapely.intersection(boxes, area)
    keep = ~shapely.is_empty(cells) & (shapely.area(cells) > 0.05 * size * size)
    return list(cells[keep])


def _coverage(G: nx.MultiDiGraph, units: np.ndarray, distance_m: float) -> np.ndarray:
    """Return a boolean per unit: some street (edge) of ``G`` within ``distance_m``."""
    if G.number_of_edges() == 0:
        return np.zeros(len(units), dtype=bool)
    tree = shapely.STRtree([d for *_, d in G.edges(data="geometry")])
    hit = tree.query(units, predicate="dwithin", distance=distance_m)
    covered = np.zeros(len(units), dtype=bool)
    covered[np.unique(hit[0])] = True
    return covered


def _bbox_text(bounds: Iterable[float]) -> str:
    w, s, e, n = bounds
    return f"lon {w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f}"


# --------------------------------------------------------------------------------------------
# Public entry points


def build_network(
    source: gpd.GeoDataFrame | str | Path,
    *,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | str | Path | None = None,
    buffer_m: float = BUFFER_M,
    crs: str | None = None,
    snap_m: float = SNAP_M,
    min_coverage: float = MIN_COVERAGE,
    cover_distance_m: float = COVER_DISTANCE_M,
    progress: ProgressCallback | None = None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008
) -> StreetNetwork:
    """Build the walking and riding networks offline from an OSM extract or a line layer.

    Parameters
    ----------
    source
        An OpenStreetMap extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``), a line file (GeoJSON,
        GeoPackage, zipped Shapefile) or a line GeoDataFrame; see the module docstring for the
        line-layer columns and the tag filters of each profile.
    boundary
        The station boundary (polygon file, GeoDataFrame, GeoSeries, or a shapely polygon in
        EPSG:4326), or its 1+5+N GRID frame or file (the ``station`` row is the boundary and
        the micro-grids are the coverage units). The graphs are clipped to it plus
        ``buffer_m`` and must cover it. ``None`` keeps the whole source and skips the check.
    buffer_m
        Metres kept around the boundary (default :data:`BUFFER_M`).
    crs
        Projected metric CRS of the graphs (the station config's ``crs.metric``); default the
        local UTM zone.
    snap_m
        Line layers only: vertices closer than this are one node.
    min_coverage, cover_distance_m
        The build fails when, for either profile, less than ``min_coverage`` of the coverage
        units (micro-grids, else 200 m cells of the boundary) have a street within
        ``cover_distance_m``.
    progress
        Progress callback, see :mod:`gridplan._progress`.
    limits
        What the source and boundary files may take (bytes, features, vertices, time); see
        :class:`~gridplan.io.limits.ReadLimits`.

    Returns
    -------
    StreetNetwork
        Both graphs, each its largest strongly connected component, with a build report.

    Raises
    ------
    InputError
        If the source cannot be read or has no streets, or the network does not cover the
        boundary (the message gives the extents or the coverage figures and the fix).

    Examples
    --------
    >>> net = build_network(
    ...     "data/streets/portland-central-filtered.osm.pbf",
    ...     boundary="data/boundaries/station.geojson",
    ...     crs="EPSG:26910",
    ... )  # doctest: +SKIP
    >>> print(net.report.to_text())  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    if buffer_m < 0 or not math.isfinite(buffer_m):
        msg = f"buffer_m={buffer_m!r} must be a finite number of metres >= 0 (default 300)"
        raise InputError(msg)
    if isinstance(source, str | Path) and Path(source).name.lower().endswith(OSM_SUFFIXES):
        data = _read_osm(Path(source), progress, limits=limits)
    else:
        data = _read_lines(source, snap_m=snap_m, crs=crs, limits=limits)
    xy = np.column_stack(
        [np.fromiter(data.lon.values(), float), np.fromiter(data.lat.values(), float)]
    )
    extent = (*xy.min(axis=0), *xy.max(axis=0))

    keep = units = unit_series = None
    where = ""
    if boundary is not None:
        metric, keep, units, unit_series, where = _clip(boundary, data, xy, crs, buffer_m, limits)
    else:
        lonlat = gpd.GeoDataFrame(geometry=[shapely.box(*extent)], crs=4326)
        metric = metric_crs(lonlat, crs=crs)

    graphs: dict[str, nx.MultiDiGraph] = {}
    reports: dict[str, ProfileReport] = {}
    for i, profile in enumerate(PROFILES):
        report(progress, "build networks", i, len(PROFILES))
        G, rep = _build_profile(data, profile, keep=keep, metric=metric)
        if units is not None:
            covered = _coverage(G, units, cover_distance_m)
            rep = dataclasses.replace(
                rep,
                coverage=round(float(covered.mean()) if len(units) else 1.0, 4),
                units=len(units),
            )
        graphs[profile], reports[profile] = G, rep
    report(progress, "build networks", len(PROFILES), len(PROFILES))

    if units is not None:
        short = [
            r for r in reports.values() if r.coverage is not None and r.coverage < min_coverage
        ]
        if short:
            kind = "micro-grids" if unit_series is not None else f"{settings.CELL_SIZE_M:g} m cells"
            figures = "; ".join(
                f"{r.profile}: {r.coverage:.0%} ({round(r.coverage * r.units)} of {r.units} "
                f"{kind} have a street within {cover_distance_m:g} m)"
                for r in short
            )
            msg = (
                f"the street network from {data.description} does not cover the station "
                f"{where} (needed: {min_coverage:.0%}): {figures}. The extract covers "
                f"{_bbox_text(extent)}; use an extract that holds the whole station plus "
                f"{buffer_m:g} m (e.g. `osmium extract -p station.geojson city.osm.pbf`), or "
                "check that the boundary is the right one"
            )
            raise InputError(msg)
    for profile in PROFILES:
        if graphs[profile].number_of_edges() == 0:
            msg = (
                f"{data.description}: no {profile} streets remain after the tag filter and clip; "
                "check that the source holds streets of the station's area"
            )
            raise InputError(msg)

    crs_text = _crs_text(metric)
    for G in graphs.values():
        G.graph["crs"] = crs_text
    build = BuildReport(
        source=data.description,
        crs=crs_text,
        buffer_m=float(buffer_m) if boundary is not None else None,
        seconds=round(time.perf_counter() - t_start, 3),
        walk=reports["walk"],
        ride=reports["ride"],
    )
    return StreetNetwork(
        walk=graphs["walk"],
        ride=graphs["ride"],
        crs=crs_text,
        source=data.description,
        report=build,
    )


def _clip(
    boundary, data, xy: np.ndarray, crs: str | None, buffer_m: float, limits: ReadLimits
) -> tuple[pyproj.CRS, set, np.ndarray, gpd.GeoSeries | None, str]:
    """Clip the source to the boundary plus ``buffer_m``.

    Returns the metric CRS, the source nodes kept, the units whose coverage is checked
    (micro-grids, else a lattice of the boundary), the micro-grid series (or ``None``) and the
    boundary's description.

    Raises
    ------
    InputError
        If the streets and the boundary do not overlap.
    """
    extent = (*xy.min(axis=0), *xy.max(axis=0))
    polygons, unit_series, where = _boundary_parts(boundary, limits)
    metric = metric_crs(gpd.GeoDataFrame(geometry=polygons), crs=crs)
    area = shapely.union_all(polygons.to_crs(metric).values)
    wgs = gpd.GeoSeries([area], crs=metric).to_crs(4326).iloc[0]
    if not shapely.intersects(wgs, shapely.box(*extent)):
        msg = (
            f"the streets of {data.description} cover {_bbox_text(extent)}, but the "
            f"boundary {where} lies at {_bbox_text(wgs.bounds)}: they do not overlap. Use "
            "an extract of the station's area, or check the boundary's CRS"
        )
        raise InputError(msg)
    clip = gpd.GeoSeries([area.buffer(buffer_m)], crs=metric).to_crs(4326).iloc[0]
    inside = shapely.contains_xy(clip, xy[:, 0], xy[:, 1])
    keep = {n for n, hit in zip(data.lon, inside, strict=True) if hit}
    if unit_series is not None:
        units = unit_series.to_crs(metric).values
    else:
        units = np.array(_lattice(area, settings.CELL_SIZE_M), dtype=object)
    return metric, keep, units, unit_series, where


def _crs_text(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


# --------------------------------------------------------------------------------------------
# Cache file


def _frames(G: nx.MultiDiGraph, crs: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    nodes = list(G.nodes(data=True))
    x = [d["x"] for _, d in nodes]
    y = [d["y"] for _, d in nodes]
    gdf_nodes = gpd.GeoDataFrame(
        {"node": np.array([n for n, _ in nodes], dtype=np.int64), "x": x, "y": y},
        geometry=gpd.points_from_xy(x, y),
        crs=crs,
    )
    rows = list(G.edges(keys=True, data=True))
    columns: dict[str, Any] = {
        "u": np.array([u for u, _, _, _ in rows], dtype=np.int64),
        "v": np.array([v for _, v, _, _ in rows], dtype=np.int64),
        "key": np.array([k for _, _, k, _ in rows], dtype=np.int64),
    }
    for name in _EDGE_COLUMNS:
        columns[name] = [d.get(name) for _, _, _, d in rows]
    columns["oneway"] = np.array(columns["oneway"], dtype=bool)
    columns["length"] = np.array(columns["length"], dtype=float)
    columns["maxspeed_kph"] = np.array(
        [np.nan if s is None else s for s in columns["maxspeed_kph"]], dtype=float
    )
    gdf_edges = gpd.GeoDataFrame(columns, geometry=[d["geometry"] for _, _, _, d in rows], crs=crs)
    return gdf_nodes, gdf_edges


def save_network(network: StreetNetwork, path: str | Path) -> Path:
    """Write ``network`` to a GeoPackage that :func:`load_network` reads back unchanged.

    The file is written next to ``path`` and then moved into place, so a failed write never
    leaves a half-written cache behind.

    Parameters
    ----------
    network
        The network to save.
    path
        A ``.gpkg`` file; parent folders are created.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        If ``path`` does not end in ``.gpkg``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd, shapely
    >>> streets = gpd.GeoDataFrame(  # three short streets in central Portland
    ...     {"name": ["NW Couch St", "NW Couch St", "NW 10th Ave"], "highway": ["residential"] * 3},
    ...     geometry=[
    ...         shapely.LineString([(-122.682, 45.5235), (-122.681, 45.5235)]),
    ...         shapely.LineString([(-122.681, 45.5235), (-122.680, 45.5235)]),
    ...         shapely.LineString([(-122.681, 45.5235), (-122.681, 45.5244)]),
    ...     ],
    ...     crs=4326,
    ... )
    >>> net = build_network(streets, crs="EPSG:26910")
    >>> path = save_network(net, pathlib.Path(tempfile.mkdtemp()) / "station-network.gpkg")
    >>> load_network(path) == net
    True
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        msg = f"{path}: a street network is saved as a GeoPackage; give a path ending in .gpkg"
        raise InputError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        meta = pd.DataFrame(
            {
                "key": ["format", "version", "crs", "source", "report"],
                "value": [
                    _FILE_FORMAT,
                    str(_FILE_VERSION),
                    network.crs,
                    network.source,
                    json.dumps(network.report.summary(), ensure_ascii=False),
                ],
            }
        )
        pyogrio.write_dataframe(meta, tmp, layer=_META_LAYER, driver="GPKG")
        for profile in PROFILES:
            gdf_nodes, gdf_edges = _frames(network.graph(profile), network.crs)
            pyogrio.write_dataframe(gdf_nodes, tmp, layer=f"{profile}_nodes", driver="GPKG")
            pyogrio.write_dataframe(gdf_edges, tmp, layer=f"{profile}_edges", driver="GPKG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _not_a_network(path: Path, why: str) -> InputError:
    msg = (
        f"{path}: not a gridplan street network ({why}); build one with "
        f"`gridplan network build --osm EXTRACT.osm.pbf --boundary STATION --out {path.name}`"
    )
    return InputError(msg)


def load_network(path: str | Path) -> StreetNetwork:
    """Read a network written by :func:`save_network`.

    Parameters
    ----------
    path
        The ``.gpkg`` file.

    Returns
    -------
    StreetNetwork
        Equal to the network that was saved.

    Raises
    ------
    InputError
        If the file is missing, or is not a gridplan network file (another GeoPackage, a
        GeoJSON, a newer file format).

    Examples
    --------
    A network cached by ``gridplan network build`` or :func:`save_network` is read back
    equal; here a three-street layer:

    >>> import tempfile, pathlib
    >>> import geopandas as gpd, shapely
    >>> streets = gpd.GeoDataFrame(
    ...     {"name": ["NW Couch St", "NW Couch St", "NW 10th Ave"], "highway": ["residential"] * 3},
    ...     geometry=[
    ...         shapely.LineString([(-122.682, 45.5235), (-122.681, 45.5235)]),
    ...         shapely.LineString([(-122.681, 45.5235), (-122.680, 45.5235)]),
    ...         shapely.LineString([(-122.681, 45.5235), (-122.681, 45.5244)]),
    ...     ],
    ...     crs=4326,
    ... )
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "station-network.gpkg"
    >>> saved = save_network(build_network(streets, crs="EPSG:26910"), path)
    >>> net = load_network(saved)
    >>> net.crs, net.walk.number_of_nodes()
    ('EPSG:26910', 4)
    """
    path = Path(path)
    check_file(path, kinds="a .gpkg written by `gridplan network build`", what="the network")
    try:
        layers = {str(name) for name, _ in pyogrio.list_layers(path)}
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _not_a_network(path, "GDAL cannot open it as a GeoPackage") from exc
    if _META_LAYER not in layers:
        raise _not_a_network(path, f"it has no {_META_LAYER!r} table")
    meta = pyogrio.read_dataframe(path, layer=_META_LAYER, read_geometry=False)
    if not {"key", "value"} <= set(meta.columns):
        raise _not_a_network(path, f"its {_META_LAYER!r} table lacks key/value columns")
    info = dict(zip(meta["key"].astype(str), meta["value"].astype(str), strict=True))
    if info.get("format") != _FILE_FORMAT:
        raise _not_a_network(path, f"format is {info.get('format')!r}, not {_FILE_FORMAT!r}")
    if info.get("version") != str(_FILE_VERSION):
        msg = (
            f"{path}: street network file version {info.get('version')!r}; this gridplan "
            f"reads version {_FILE_VERSION}. Rebuild it with `gridplan network build`"
        )
        raise InputError(msg)
    missing = [f"{p}_{part}" for p in PROFILES for part in ("nodes", "edges")]
    missing = [name for name in missing if name not in layers]
    if missing:
        raise _not_a_network(path, f"layers {', '.join(missing)} are missing")
    crs = info["crs"]
    graphs = {}
    for profile in PROFILES:
        gdf_nodes = pyogrio.read_dataframe(path, layer=f"{profile}_nodes")
        gdf_edges = pyogrio.read_dataframe(path, layer=f"{profile}_edges")
        G = nx.MultiDiGraph(crs=crs, profile=profile)
        G.add_nodes_from(
            (int(n), {"x": float(x), "y": float(y)})
            for n, x, y in zip(gdf_nodes["node"], gdf_nodes["x"], gdf_nodes["y"], strict=True)
        )
        records = gdf_edges[["u", "v", "key", *_EDGE_COLUMNS]].to_dict("records")
        for record, geometry in zip(records, gdf_edges.geometry.values, strict=True):
            attrs: dict[str, Any] = {}
            for name in _EDGE_COLUMNS:
                value = record[name]
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                attrs[name] = value
            attrs["oneway"] = bool(attrs.get("oneway", False))
            attrs["length"] = float(attrs["length"])
            if "maxspeed_kph" in attrs:
                attrs["maxspeed_kph"] = float(attrs["maxspeed_kph"])
            attrs["geometry"] = geometry
            G.add_edge(int(record["u"]), int(record["v"]), key=int(record["key"]), **attrs)
        graphs[profile] = G
    build = BuildReport.from_summary(json.loads(info["report"]))
    return StreetNetwork(
        walk=graphs["walk"], ride=graphs["ride"], crs=crs, source=info["source"], report=build
    )


__all__ = [
    "BUFFER_M",
    "COVER_DISTANCE_M",
    "MIN_COVERAGE",
    "PROFILES",
    "RIDE_EXCLUDED_HIGHWAYS",
    "SNAP_M",
    "WALK_EXCLUDED_HIGHWAYS",
    "BuildReport",
    "Profile",
    "ProfileReport",
    "StreetNetwork",
    "build_network",
    "load_network",
    "parse_speed_kph",
    "save_network",
    "way_allowed",
]
