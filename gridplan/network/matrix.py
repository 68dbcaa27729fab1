"""Travel-time matrices between patrol stops (and the station), and route geometries.

With a :class:`~gridplan.network.graphs.StreetNetwork`, travel times are shortest paths on
the profile's graph, computed many-to-many by :func:`scipy.sparse.csgraph.dijkstra` on a CSR
matrix that is built once per graph, profile and speed (and cached on the network, as are the
last matrices computed, so the slices of a day share them). The time of an edge is its length
divided by the patroller's speed; for riders it is optionally capped by the edge's
``maxspeed_kph``. Distances (``metres``) are those of the fastest path.

Without a network, the fallback is the straight-line distance times a detour factor
(:data:`DETOUR_FACTOR`, 1.3: the typical ratio of street to crow-fly distance in a grid
street pattern is about 1.2-1.4), and the matrix says so (``method="straight_line"``).

Pairs that the graph does not connect are never silently infinite: by default the build
raises :class:`~gridplan.InputError` naming them; with ``allow_unreachable=True`` they hold
:data:`UNREACHABLE` and are listed by :meth:`TravelMatrix.unreachable_pairs`.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
from typing import Any

import geopandas as gpd
import networkx as nx
import numba
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from gridplan import settings
from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan._progress import report
from gridplan.geo.crs import metric_crs
from gridplan.geo.crs import require_crs
from gridplan.network.graphs import PROFILES
from gridplan.network.graphs import Profile
from gridplan.network.graphs import StreetNetwork

#: Default walking speed of volunteers, km/h.
WALK_SPEED_KPH = 4.5

#: Default riding speed of auxiliaries on e-bikes, km/h.
RIDE_SPEED_KPH = 15.0

#: Street distance / straight-line distance used when there is no network.
DETOUR_FACTOR = 1.3

#: Value of ``seconds`` and ``metres`` for pairs with no path.
UNREACHABLE = -1

#: Sources per Dijkstra call: bounds memory to chunk x nodes distances and predecessors.
_CHUNK = 256

#: Bytes of computed matrices kept on a network (least recently used dropped first): a day's
#: slices ask for the same stops at the same speeds, so each matrix is computed once.
_MATRIX_CACHE_BYTES = 256 * 2**20

METHODS = ("network", "straight_line")


def default_speed_kph(profile: Profile) -> float:
    """Return the default speed of ``profile`` (walk 4.5 km/h, ride 15 km/h)."""
    return WALK_SPEED_KPH if profile == "walk" else RIDE_SPEED_KPH


@dataclasses.dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Travel seconds and metres between stops, row = from, column = to.

    Attributes
    ----------
    ids
        Stop ids, in row/column order.
    seconds
        ``int64`` array (n x n), whole seconds; :data:`UNREACHABLE` where there is no path.
    metres
        ``float64`` array (n x n) of the fastest path's length (network) or the detoured
        straight-line distance; :data:`UNREACHABLE` where there is no path.
    method
        ``"network"`` or ``"straight_line"`` (no network: distances are estimates).
    profile, speed_kph
        Whose speed the times use.
    detour_factor
        The factor applied to straight lines (``None`` for ``"network"``).
    nodes
        The network node of each stop (``None`` for ``"straight_line"``); pass two of them to
        :func:`route_geometry` to draw the path.

    Examples
    --------
    >>> m = travel_matrix(stops, net, profile="walk")  # doctest: +SKIP
    >>> m.seconds[m.index("station"), m.index("S01-B1-M001")]  # doctest: +SKIP
    """

    ids: tuple[str, ...]
    seconds: np.ndarray
    metres: np.ndarray
    method: str
    profile: str
    speed_kph: float
    detour_factor: float | None = None
    nodes: tuple[int, ...] | None = None

    def __post_init__(self):
        n = len(self.ids)
        if self.method not in METHODS:
            msg = f"method {self.method!r} is unknown; use one of {', '.join(METHODS)}"
            raise InputError(msg)
        if self.profile not in PROFILES:
            msg = f"profile {self.profile!r} is unknown; use one of {', '.join(PROFILES)}"
            raise InputError(msg)
        seconds = np.array(self.seconds, dtype=np.int64)
        metres = np.array(self.metres, dtype=float)
        if seconds.shape != (n, n) or metres.shape != (n, n):
            msg = (
                f"seconds {seconds.shape} and metres {metres.shape} must both be {n} x {n}, "
                "one row and column per id"
            )
            raise InputError(msg)
        if len(set(self.ids)) != n:
            dup = sorted({i for i in self.ids if self.ids.count(i) > 1})[:5]
            msg = f"stop ids must be unique; repeated: {', '.join(dup)}"
            raise InputError(msg)
        if self.nodes is not None and len(self.nodes) != n:
            msg = f"nodes has {len(self.nodes)} entries for {n} ids"
            raise InputError(msg)
        seconds.flags.writeable = False
        metres.flags.writeable = False
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "metres", metres)
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TravelMatrix):
            return NotImplemented
        return (
            self.ids == other.ids
            and np.array_equal(self.seconds, other.seconds)
            and np.array_equal(self.metres, other.metres)
            and (self.method, self.profile, self.speed_kph, self.detour_factor, self.nodes)
            == (other.method, other.profile, other.speed_kph, other.detour_factor, other.nodes)
        )

    __hash__ = None  # type: ignore[assignment]

    def index(self, stop_id: str) -> int:
        """Return the row/column of ``stop_id``."""
        try:
            return self.ids.index(str(stop_id))
        except ValueError:
            msg = f"stop {stop_id!r} is not in the matrix ({len(self.ids)} stops)"
            raise InputError(msg) from None

    @property
    def reachable(self) -> np.ndarray:
        """Boolean n x n array: a path exists."""
        return self.seconds != UNREACHABLE

    def is_complete(self) -> bool:
        """Whether every pair has a path."""
        return bool(self.reachable.all())

    def unreachable_pairs(self) -> list[tuple[str, str]]:
        """Return the (from, to) id pairs without a path."""
        rows, cols = np.nonzero(~self.reachable)
        return [(self.ids[i], self.ids[j]) for i, j in zip(rows, cols, strict=True)]

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description (sizes, method, extremes, unreachable count)."""
        ok = self.reachable & ~np.eye(len(self), dtype=bool)
        return {
            "stops": len(self),
            "method": self.method,
            "profile": self.profile,
            "speed_kph": self.speed_kph,
            "detour_factor": self.detour_factor,
            "max_seconds": int(self.seconds[ok].max()) if ok.any() else 0,
            "mean_seconds": round(float(self.seconds[ok].mean()), 1) if ok.any() else 0.0,
            "unreachable_pairs": int((~self.reachable).sum()),
        }


# --------------------------------------------------------------------------------------------
# The CSR graph


@dataclasses.dataclass(frozen=True)
class _Csr:
    node_ids: np.ndarray  # graph node id per CSR index
    position: dict[int, int]  # graph node id -> CSR index
    seconds: csr_matrix  # travel seconds of the fastest parallel edge u -> v
    metres: np.ndarray  # its length, aligned with seconds.data
    keys: np.ndarray  # its edge key, aligned with seconds.data
    uniform_mps: float | None  # the one speed of every edge (m/s), None if speeds differ


def _edge_speeds(
    lengths: np.ndarray, maxspeed: np.ndarray, speed_kph: float, cap: bool
) -> np.ndarray:
    speed = np.full(len(lengths), speed_kph, dtype=float)
    if cap:
        capped = np.isfinite(maxspeed)
        speed[capped] = np.minimum(speed[capped], maxspeed[capped])
    return speed / 3.6


def _csr(network: StreetNetwork, profile: Profile, speed_kph: float, cap_by_maxspeed: bool) -> _Csr:
    """Build (once, then cache on ``network``) the CSR travel-time matrix of a graph."""
    cap = bool(cap_by_maxspeed and profile == "ride")
    key = ("csr", profile, float(speed_kph), cap)
    if key in network._cache:
        return network._cache[key]
    G = network.graph(profile)
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
    position = {int(n): i for i, n in enumerate(node_ids)}
    m = G.number_of_edges()
    u = np.empty(m, dtype=np.int64)
    v = np.empty(m, dtype=np.int64)
    k = np.empty(m, dtype=np.int64)
    length = np.empty(m, dtype=float)
    maxspeed = np.full(m, np.nan)
    for i, (a, b, kk, d) in enumerate(G.edges(keys=True, data=True)):
        u[i], v[i], k[i] = position[a], position[b], kk
        length[i] = d["length"]
        if "maxspeed_kph" in d:
            maxspeed[i] = d["maxspeed_kph"]
    # zero-length edges would be "no edge" to some sparse tools: give them a microsecond
    speeds = _edge_speeds(length, maxspeed, speed_kph, cap)
    uniform = float(speeds[0]) if len(speeds) and np.all(speeds == speeds[0]) else None
    seconds = np.maximum(length / speeds, 1e-6)
    # keep the fastest of parallel edges: sort by (u, v, seconds), take the first of each pair
    order = np.lexsort((seconds, v, u))
    u, v, k, length, seconds = u[order], v[order], k[order], length[order], seconds[order]
    first = np.r_[True, (np.diff(u) != 0) | (np.diff(v) != 0)]
    u, v, k, length, seconds = u[first], v[first], k[first], length[first], seconds[first]
    n = len(node_ids)
    # rows sorted by u then v: this is already CSR order, so data aligns with the arrays
    indptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n))]
    matrix = csr_matrix((seconds, v, indptr), shape=(n, n))
    out = _Csr(
        node_ids=node_ids,
        position=position,
        seconds=matrix,
        metres=length,
        keys=k,
        uniform_mps=uniform,
    )
    network._cache[key] = out
    return out


@numba.njit(cache=True)
def _path_metres(pred, sources, targets, indptr, indices, lengths):  # pragma: no cover - numba
    """Length of the tree path from each source to each target, following predecessors."""
    n_rows, n_nodes = pred.shape
    out = np.empty((n_rows, len(targets)))
    memo = np.empty(n_nodes)
    stack = np.empty(n_nodes, dtype=np.int64)
    for r in range(n_rows):
        memo[:] = -1.0
        memo[sources[r]] = 0.0
        for t in range(len(targets)):
            node = targets[t]
            depth = 0
            while memo[node] < 0.0 and pred[r, node] >= 0:
                stack[depth] = node
                depth += 1
                node = pred[r, node]
            if memo[node] < 0.0:  # not reachable from this source
                out[r, t] = -1.0
                continue
            acc = memo[node]
            for i in range(depth - 1, -1, -1):
                child = stack[i]
                parent = pred[r, child]
                lo = indptr[parent]
                hi = indptr[parent + 1]
                # indices are sorted within a row: binary search for the edge parent -> child
                while lo < hi:
                    mid = (lo + hi) // 2
                    if indices[mid] < child:
                        lo = mid + 1
                    else:
                        hi = mid
                acc += lengths[lo]
                memo[child] = acc
            out[r, t] = memo[targets[t]]
    return out


# --------------------------------------------------------------------------------------------
# Public entry points


def _ids(stops: gpd.GeoDataFrame) -> list[str]:
    values = stops["id"] if "id" in stops.columns else stops.index
    return [str(v) for v in values]


def _stop_nodes(stops: gpd.GeoDataFrame, network: StreetNetwork, profile: Profile) -> np.ndarray:
    G = network.graph(profile)
    if "node" in stops.columns:
        nodes = stops["node"].to_numpy()
        missing = [(i, n) for i, n in zip(_ids(stops), nodes, strict=True) if int(n) not in G]
        if missing:
            shown = ", ".join(f"{i} (node {n})" for i, n in missing[:5])
            msg = (
                f"{len(missing)} stops have a node that is not in the {profile} graph: {shown}; "
                f"snap them to this network and profile with access_points(..., "
                f"profile={profile!r}) or snap_points()"
            )
            raise InputError(msg)
        return nodes.astype(np.int64)
    frame = network.node_frame(profile)
    xy = shapely.get_coordinates(stops.to_crs(network.crs).geometry.representative_point().values)
    _, index = cKDTree(frame[["x", "y"]].to_numpy()).query(xy)
    return frame.index.to_numpy()[index]


def _network_matrix(
    network: StreetNetwork,
    profile: Profile,
    speed: float,
    cap_by_maxspeed: bool,
    nodes: np.ndarray,
    progress: ProgressCallback | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds (int64) and metres between ``nodes``, :data:`UNREACHABLE` where no path."""
    csr = _csr(network, profile, speed, cap_by_maxspeed)
    index = np.array([csr.position[int(n)] for n in nodes], dtype=np.int64)
    sources, inverse = np.unique(index, return_inverse=True)
    n = len(nodes)
    times = np.empty((len(sources), n))
    metres = np.empty((len(sources), n))
    for start in range(0, len(sources), _CHUNK):
        report(progress, f"{profile} travel times", start, len(sources))
        chunk = sources[start : start + _CHUNK]
        if csr.uniform_mps is not None:
            # one speed everywhere (walking, or no maxspeed below the speed): the fastest path
            # is the shortest, and its metres are its seconds times the speed
            dist = dijkstra(csr.seconds, directed=True, indices=chunk)[:, index]
            times[start : start + len(chunk)] = dist
            metres[start : start + len(chunk)] = dist * csr.uniform_mps
            continue
        dist, pred = dijkstra(csr.seconds, directed=True, indices=chunk, return_predecessors=True)
        times[start : start + len(chunk)] = dist[:, index]
        metres[start : start + len(chunk)] = _path_metres(
            pred.astype(np.int64),
            chunk.astype(np.int64),
            index,
            csr.seconds.indptr.astype(np.int64),
            csr.seconds.indices.astype(np.int64),
            csr.metres,
        )
    report(progress, f"{profile} travel times", len(sources), len(sources))
    times, metres = times[inverse], metres[inverse]
    unreachable = ~np.isfinite(times)
    seconds = np.where(unreachable, UNREACHABLE, np.rint(np.where(unreachable, 0, times)))
    metres = np.where(unreachable, UNREACHABLE, np.round(metres, 2))
    seconds = seconds.astype(np.int64)
    seconds.flags.writeable = False
    metres.flags.writeable = False
    return seconds, metres


def _trim(cache: collections.OrderedDict, max_bytes: int) -> None:
    """Drop the least recently used matrices until the cache holds at most ``max_bytes``."""
    total = sum(a.nbytes + b.nbytes for a, b in cache.values())
    while len(cache) > 1 and total > max_bytes:
        a, b = cache.popitem(last=False)[1]
        total -= a.nbytes + b.nbytes


def travel_matrix(
    stops: gpd.GeoDataFrame,
    network: StreetNetwork | None = None,
    *,
    profile: Profile = "walk",
    speed_kph: float | None = None,
    cap_by_maxspeed: bool = True,
    detour_factor: float = DETOUR_FACTOR,
    allow_unreachable: bool = False,
    progress: ProgressCallback | None = None,
) -> TravelMatrix:
    """Compute travel seconds and metres between every pair of stops.

    Parameters
    ----------
    stops
        Point GeoDataFrame with an ``id`` column (else the index is the id), for example
        :func:`~gridplan.network.stops.access_points` plus the station from
        :func:`~gridplan.network.stops.snap_points`. A ``node`` column gives each stop's
        network node; without it the nearest node is taken.
    network
        The street network; ``None`` falls back to straight lines x ``detour_factor``.
    profile
        ``"walk"`` or ``"ride"``.
    speed_kph
        Travel speed; default :data:`WALK_SPEED_KPH` or :data:`RIDE_SPEED_KPH`.
    cap_by_maxspeed
        Riders only: no faster than an edge's ``maxspeed_kph``.
    detour_factor
        Straight-line fallback only (default 1.3).
    allow_unreachable
        Return pairs without a path as :data:`UNREACHABLE` instead of raising.
    progress
        Progress callback, see :mod:`gridplan._progress`.

    Returns
    -------
    TravelMatrix

    Raises
    ------
    InputError
        On bad stops, speeds or profile, or (unless ``allow_unreachable``) when some pair has
        no path; the message names the pairs.

    Examples
    --------
    >>> m = travel_matrix(stops, net, profile="ride", speed_kph=15)  # doctest: +SKIP
    >>> m.method, m.seconds.shape  # doctest: +SKIP
    ('network', (148, 148))
    >>> travel_matrix(stops).method  # no network: flagged estimate  # doctest: +SKIP
    'straight_line'
    """
    if profile not in PROFILES:
        msg = f"profile {profile!r} is unknown; use one of {', '.join(map(repr, PROFILES))}"
        raise InputError(msg)
    speed = default_speed_kph(profile) if speed_kph is None else float(speed_kph)
    if not math.isfinite(speed) or speed <= 0:
        msg = f"speed_kph={speed_kph!r} must be a positive number of km/h (walk ~4.5, e-bike ~15)"
        raise InputError(msg)
    if not isinstance(stops, gpd.GeoDataFrame):
        msg = f"stops must be a point GeoDataFrame, not {type(stops).__name__}"
        raise InputError(msg)
    require_crs(stops, where="stops")
    ids = _ids(stops)
    if network is None:
        if not math.isfinite(detour_factor) or detour_factor < 1:
            msg = f"detour_factor={detour_factor!r} must be >= 1 (streets are never shorter)"
            raise InputError(msg)
        xy = shapely.get_coordinates(
            stops.to_crs(metric_crs(stops)).geometry.representative_point().values
        )
        metres = cdist(xy, xy) * detour_factor
        seconds = np.rint(metres / (speed / 3.6)).astype(np.int64)
        return TravelMatrix(
            ids=tuple(ids),
            seconds=seconds,
            metres=np.round(metres, 2),
            method="straight_line",
            profile=profile,
            speed_kph=speed,
            detour_factor=float(detour_factor),
        )

    nodes = _stop_nodes(stops, network, profile)
    n = len(ids)
    # a day's slices ask for the same stops at the same speeds: compute each matrix once
    cache = network._cache.setdefault("matrices", collections.OrderedDict())
    cap = bool(cap_by_maxspeed and profile == "ride")
    key = (profile, speed, cap, np.ascontiguousarray(nodes, dtype=np.int64).tobytes())
    if key in cache:
        cache.move_to_end(key)
        seconds, metres = cache[key]
        report(progress, f"{profile} travel times", 1, 1)
    else:
        seconds, metres = _network_matrix(network, profile, speed, cap_by_maxspeed, nodes, progress)
        cache[key] = (seconds, metres)
        _trim(cache, _MATRIX_CACHE_BYTES)
    unreachable = seconds == UNREACHABLE
    result = TravelMatrix(
        ids=tuple(ids),
        seconds=seconds,
        metres=metres,
        method="network",
        profile=profile,
        speed_kph=speed,
        nodes=tuple(int(x) for x in nodes),
    )
    if unreachable.any() and not allow_unreachable:
        pairs = result.unreachable_pairs()
        shown = ", ".join(f"{a} -> {b}" for a, b in pairs[:5])
        msg = (
            f"{len(pairs)} of {n * n} stop pairs have no {profile} path: {shown}"
            f"{' ...' if len(pairs) > 5 else ''}. The graph is not strongly connected (one-way "
            "streets or a cut-off part): rebuild it with build_network, which keeps the largest "
            "strongly connected component, or pass allow_unreachable=True to drop those stops"
        )
        raise InputError(msg)
    return result


def route_nodes(
    network: StreetNetwork,
    profile: Profile,
    node_a: int,
    node_b: int,
    *,
    speed_kph: float | None = None,
    cap_by_maxspeed: bool = True,
) -> list[int]:
    """Return the node ids of the fastest path from ``node_a`` to ``node_b`` (both included).

    Parameters
    ----------
    network
        The street network.
    profile
        ``"walk"`` or ``"ride"``.
    node_a, node_b
        Node ids of that profile's graph (e.g. ``TravelMatrix.nodes`` or the ``node`` column
        of :func:`~gridplan.network.stops.snap_points`).
    speed_kph, cap_by_maxspeed
        As in :func:`travel_matrix`: travel speed (default by profile) and whether tagged
        speed limits cap it.

    Returns
    -------
    list of int
        Node ids from ``node_a`` to ``node_b``.

    Raises
    ------
    InputError
        If a node is not in the graph or there is no path.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from gridplan.network.graphs import build_network
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
    >>> route_nodes(net, "walk", 0, 3)
    [0, 1, 3]
    """
    speed = default_speed_kph(profile) if speed_kph is None else float(speed_kph)
    csr = _csr(network, profile, speed, cap_by_maxspeed)
    for node in (node_a, node_b):
        if int(node) not in csr.position:
            msg = f"node {node} is not in the {profile} graph; snap the place to this network"
            raise InputError(msg)
    a, b = csr.position[int(node_a)], csr.position[int(node_b)]
    _, pred = dijkstra(csr.seconds, directed=True, indices=a, return_predecessors=True)
    if a != b and pred[b] < 0:
        msg = f"no {profile} path from node {node_a} to node {node_b}"
        raise InputError(msg)
    path = [b]
    while path[-1] != a:
        path.append(int(pred[path[-1]]))
    return [int(csr.node_ids[i]) for i in reversed(path)]


def route_geometry(
    network: StreetNetwork,
    profile: Profile,
    node_a: int,
    node_b: int,
    *,
    speed_kph: float | None = None,
    cap_by_maxspeed: bool = True,
    crs: str | None = settings.OUTPUT_CRS,
) -> shapely.LineString:
    """Return the fastest path from ``node_a`` to ``node_b`` as a LineString along the streets.

    Parameters
    ----------
    network, profile, node_a, node_b
        The graph and the two node ids (for example ``TravelMatrix.nodes[i]``).
    speed_kph, cap_by_maxspeed
        As for :func:`travel_matrix`, so the path is the one the matrix timed.
    crs
        Output CRS, EPSG:4326 by default; ``None`` keeps the network's metric CRS.

    Returns
    -------
    shapely.LineString
        The edge geometries joined in travel order (a zero-length line when ``a == b``).

    Examples
    --------
    >>> line = route_geometry(net, "walk", m.nodes[0], m.nodes[5])  # doctest: +SKIP
    """
    path = route_nodes(
        network, profile, node_a, node_b, speed_kph=speed_kph, cap_by_maxspeed=cap_by_maxspeed
    )
    G: nx.MultiDiGraph = network.graph(profile)
    speed = default_speed_kph(profile) if speed_kph is None else float(speed_kph)
    csr = _csr(network, profile, speed, cap_by_maxspeed)
    parts = []
    for u, v in itertools.pairwise(path):
        row = csr.position[u]
        lo, hi = csr.seconds.indptr[row], csr.seconds.indptr[row + 1]
        j = lo + int(np.searchsorted(csr.seconds.indices[lo:hi], csr.position[v]))
        coords = np.asarray(G.edges[u, v, int(csr.keys[j])]["geometry"].coords)
        parts.append(coords if not parts else coords[1:])
    if parts:
        line = shapely.LineString(np.vstack(parts))
    else:
        node = G.nodes[node_a]
        line = shapely.LineString([(node["x"], node["y"]), (node["x"], node["y"])])
    if crs is None:
        return line
    return gpd.GeoSeries([line], crs=network.crs).to_crs(crs).iloc[0]
