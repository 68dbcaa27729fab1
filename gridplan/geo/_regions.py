"""Base grids: micro-grid workload and its balanced, contiguous regionalisation (spopt AZP).

Part of :func:`gridplan.geo.generate.generate_grid` (step 3 of its pipeline; the method and
its reasons are described there).
"""

from __future__ import annotations

import math
import random

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from gridplan._errors import InputError
from gridplan.geo._cells import MIN_EDGE_M
from gridplan.geo.crs import require_crs

#: Weight of the incident share in a micro-grid's workload (the rest is its area share).
INCIDENT_WORKLOAD_SHARE = 0.5

# Weight of the border-length term against the balance term in the AZP objective.
_BORDER_WEIGHT = 0.01
# Up to this many micro-grids, AZP also runs from a region-k-means start (too slow beyond).
_RESTART_MAX_CELLS = 400


def incident_weights(incidents, pieces: np.ndarray, mcrs: pyproj.CRS) -> np.ndarray:
    """Sum of incident weights (or counts) per micro-grid; a point on an edge counts once."""
    out = np.zeros(len(pieces))
    if incidents is None:
        return out
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = f"incidents must be a GeoDataFrame of points, not {type(incidents).__name__}"
        raise InputError(msg)
    require_crs(incidents, where="incidents")
    pts = incidents.geometry.to_crs(mcrs).values
    if "weight" in incidents.columns:
        weight = pd.to_numeric(incidents["weight"], errors="coerce").fillna(0.0).to_numpy(float)
    else:
        weight = np.ones(len(incidents))
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    pts, weight = pts[ok], weight[ok]
    if len(pts) == 0:
        return out
    tree = shapely.STRtree(pieces)
    point_idx, piece_idx = tree.query(pts, predicate="intersects")
    order = np.lexsort((piece_idx, point_idx))
    point_idx, piece_idx = point_idx[order], piece_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    np.add.at(out, piece_idx[first], weight[point_idx[first]])
    return out


def compute_workload(areas: np.ndarray, incident_weight: np.ndarray) -> np.ndarray:
    """Workload share per micro-grid: incident and area shares mixed, or area alone."""
    area_share = areas / areas.sum()
    total = incident_weight.sum()
    if total <= 0:
        return area_share
    share = INCIDENT_WORKLOAD_SHARE
    return share * incident_weight / total + (1 - share) * area_share


def connect_components(pieces: np.ndarray, adjacency: sparse.csr_matrix) -> sparse.csr_matrix:
    """Link every connected component to its nearest other component (virtual edges)."""
    adj = adjacency.tocsr().copy()
    while True:
        n_comp, comp = csgraph.connected_components(adj, directed=False)
        if n_comp <= 1:
            return adj
        adj = _link_smallest(pieces, adj, comp, np.bincount(comp).astype(float))


def _link_smallest(
    pieces: np.ndarray, adj: sparse.csr_matrix, comp: np.ndarray, size: np.ndarray
) -> sparse.csr_matrix:
    """Add one virtual edge from the smallest component to the nearest other component."""
    small = int(np.argmin(size))
    inside = np.flatnonzero(comp == small)
    outside = np.flatnonzero(comp != small)
    tree = shapely.STRtree(pieces[outside])
    (src, dst), dist = tree.query_nearest(pieces[inside], return_distance=True, all_matches=False)
    best = int(np.argmin(dist))
    i, j = int(inside[src[best]]), int(outside[dst[best]])
    adj = adj.tolil()
    adj[i, j] = adj[j, i] = MIN_EDGE_M  # tiny length: never the preferred link elsewhere
    return adj.tocsr()


def regionalise(
    pieces: np.ndarray,
    adjacency: sparse.csr_matrix,
    workload: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """Label micro-grids with ``k`` contiguous, workload-balanced regions."""
    n = len(pieces)
    if k == 1:
        return np.zeros(n, dtype=int)
    target = workload.sum() / k
    adj = adjacency.tocsr().copy()
    # Parts of the station that cannot carry half a base on their own are tied to the nearest
    # other part; the rest keep their own bases.
    while True:
        n_comp, comp = csgraph.connected_components(adj, directed=False)
        if n_comp == 1:
            break
        load = np.bincount(comp, weights=workload, minlength=n_comp)
        counts = np.bincount(comp, minlength=n_comp)
        if n_comp <= k and load.min() >= 0.5 * target and _alloc_ok(load, counts, k):
            break
        adj = _link_smallest(pieces, adj, comp, load)
    n_comp, comp = csgraph.connected_components(adj, directed=False)
    load = np.bincount(comp, weights=workload, minlength=n_comp)
    counts = np.bincount(comp, minlength=n_comp)
    quota = _allocate(load, counts, k)

    cent = shapely.centroid(pieces)
    xy = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    area = shapely.area(pieces)
    labels = np.full(n, -1, dtype=int)
    next_label = 0
    for c in range(n_comp):
        idx = np.flatnonzero(comp == c)
        k_c = int(quota[c])
        if k_c == 1:
            labels[idx] = next_label
        else:
            sub = adj[idx][:, idx].tocsr()
            labels[idx] = next_label + _azp_balanced(
                sub, xy[idx], area[idx], workload[idx], k_c, seed
            )
        next_label += k_c
    return labels


def _alloc_ok(load: np.ndarray, counts: np.ndarray, k: int) -> bool:
    quota = _allocate(load, counts, k)
    return bool((quota >= 1).all() and (quota <= counts).all() and quota.sum() == k)


def _allocate(load: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Largest-remainder split of ``k`` regions over components (each at least one)."""
    n = len(load)
    raw = load / load.sum() * k
    quota = np.maximum(1, np.floor(raw)).astype(int)
    quota = np.minimum(quota, counts)
    while quota.sum() < k:
        room = quota < counts
        gap = np.where(room, raw - quota, -np.inf)
        quota[int(np.argmax(gap))] += 1
    while quota.sum() > k:
        spare = quota > 1
        gap = np.where(spare, quota - raw, -np.inf)
        quota[int(np.argmax(gap))] -= 1
    assert len(quota) == n
    return quota


class seeded:
    """Seed Python's and NumPy's global generators (spopt uses them) and restore them after."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self._py = random.getstate()
        self._np = np.random.get_state()  # noqa: NPY002
        random.seed(self.seed)
        np.random.seed(self.seed)  # noqa: NPY002 - spopt draws from the global generator
        return self

    def __exit__(self, *exc):
        random.setstate(self._py)
        np.random.set_state(self._np)  # noqa: NPY002
        return False


def _balance_objective_class():
    from spopt.region.objective_function import ObjectiveFunction

    class BalanceObjective(ObjectiveFunction):
        """Squared relative workload deviation plus a penalty on the length of base borders.

        ``attr`` column 0 is the workload. ``edges`` holds the shared-edge lengths between
        micro-grids divided by a length scale; the border term is the total length of edges
        whose two sides lie in different regions, which keeps base grids compact and their
        borders smooth. The change of a move is computed from the moving cell's edges only.
        """

        def __init__(self, n_regions: int, edges: sparse.csr_matrix, border_weight: float):
            super().__init__()
            self.n_regions = n_regions
            self.edges = edges.tocsr()
            self.border_weight = border_weight

        def __call__(self, labels, attr):
            load = np.bincount(labels.astype(int), weights=attr[:, 0])
            mean_load = attr[:, 0].sum() / self.n_regions
            balance = float((((load - mean_load) / mean_load) ** 2).sum())
            coo = self.edges.tocoo()
            cut = coo.data[labels[coo.row] != labels[coo.col]].sum() / 2
            return balance + self.border_weight * float(cut)

        def update(self, moving_area, recipient_region, labels, attr):
            donor = labels[moving_area]
            mean_load = attr[:, 0].sum() / self.n_regions
            w = attr[moving_area, 0]
            load_d = attr[labels == donor, 0].sum()
            load_r = attr[labels == recipient_region, 0].sum()
            balance = (
                ((load_d - w - mean_load) ** 2 + (load_r + w - mean_load) ** 2)
                - ((load_d - mean_load) ** 2 + (load_r - mean_load) ** 2)
            ) / mean_load**2
            row = slice(self.edges.indptr[moving_area], self.edges.indptr[moving_area + 1])
            nbr_labels = labels[self.edges.indices[row]]
            lengths = self.edges.data[row]
            cut = lengths[nbr_labels == donor].sum() - lengths[nbr_labels == recipient_region].sum()
            return float(balance + self.border_weight * cut)

    return BalanceObjective


def _azp_balanced(
    adj: sparse.csr_matrix,
    xy: np.ndarray,
    area: np.ndarray,
    workload: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """AZP with a balance objective, started from spatially constrained Ward clustering."""
    import warnings

    from libpysal.weights import W
    from spopt.region import RegionKMeansHeuristic
    from spopt.region import WardSpatial
    from spopt.region.azp import AZPOrig

    n = adj.shape[0]
    scale = math.sqrt(area.sum() / k)
    coords = (xy - xy.mean(axis=0)) / scale
    binary = adj.copy()
    binary.data = np.ones_like(binary.data)
    neighbors = {i: [int(j) for j in binary[i].indices if j != i] for i in range(n)}
    w = W(neighbors, silence_warnings=True)
    frame = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1]})
    # Border lengths in units of the station's side (sqrt of its area): cutting one more cell
    # edge must buy a clear gain in balance.
    edges = adj / math.sqrt(area.sum())
    objective = _balance_objective_class()(k, edges, _BORDER_WEIGHT)
    attr = workload.reshape(-1, 1)
    starts = []
    with seeded(seed):
        with warnings.catch_warnings():
            # sklearn warns when the connectivity graph needs completing; ours is connected
            warnings.simplefilter("ignore", UserWarning)
            ward = WardSpatial(frame, w, ["x", "y"], n_clusters=k)
            ward.solve()
        starts.append(np.asarray(ward.labels_, dtype=int))
        if n <= _RESTART_MAX_CELLS:
            # region-k-means is slow on thousands of cells but gives a second compact start
            rkm = RegionKMeansHeuristic(coords, k, w, drop_islands=True, seed=seed)
            rkm.solve()
            starts.append(np.asarray(rkm.labels_, dtype=int))
    best, best_value = None, math.inf
    for i, initial in enumerate(starts):
        with seeded(seed + i):
            azp = AZPOrig(random_state=seed + i)
            azp.fit_from_scipy_sparse_matrix(
                binary, attr, k, initial_labels=initial, objective_func=objective
            )
        labels = np.asarray(azp.labels_, dtype=int)
        value = objective(labels, attr)
        if value < best_value - 1e-12:
            best, best_value = labels, value
    _, labels = np.unique(best, return_inverse=True)
    return labels
