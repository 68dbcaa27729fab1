"""Getis-Ord Gi*: Queen contiguity, the statistic, its permutation test and the FDR.

Local G with the focal cell included (``star``), binary Queen contiguity of the micro-grids
(built once, reused for every slice) and the score as the variable. The z-score and two-sided
normal p-value come from :class:`esda.G_Local` (the analytical inference ArcGIS reports). The
conditional-permutation pseudo p-value follows esda's ``crand`` algorithm (the same random
neighbour draws shared by every cell, Anselin 1995) in a numba kernel compiled once and cached
on disk, which runs all slices in one pass. esda's own generic kernel is recompiled in every new
process (about 30 s on a two-core machine, longer with ``n_jobs > 1`` because each worker
compiles again), which would dominate a hot-spot run; the results are the same given the same
random draws. A micro-grid without neighbours (an island) has no local neighbourhood to test:
its Gi* is NaN and ``not_significant``. :func:`fdr_bh` corrects p-values for multiple testing
(Benjamini-Hochberg).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numba
import numpy as np
from scipy import sparse
from scipy import stats


def queen_adjacency(cells: gpd.GeoSeries) -> sparse.csr_array:
    """Binary Queen contiguity of polygons as a CSR matrix without self-links.

    Built with :meth:`libpysal.graph.Graph.build_contiguity` (shared vertices, ``rook=False``).
    Islands are rows without entries.
    """
    from libpysal import graph

    geoms = gpd.GeoSeries(np.asarray(cells.values), crs=cells.crs)  # positional ids 0..n-1
    n = len(geoms)
    if n < 2:
        return sparse.csr_array((n, n), dtype=float)
    with warnings.catch_warnings():
        # libpysal warns about islands and disconnected components; an island micro-grid is
        # legitimate (a detached block) and is reported as NaN/not_significant below.
        warnings.filterwarnings("ignore", message=".*(island|disconnected|not fully connected).*")
        g = graph.Graph.build_contiguity(geoms, rook=False)
    adj = g.adjacency
    focal = adj.index.get_level_values(0).to_numpy(dtype=np.int64)
    neighbor = adj.index.get_level_values(1).to_numpy(dtype=np.int64)
    keep = (focal != neighbor) & (adj.to_numpy() > 0)
    a = sparse.csr_array(
        (np.ones(int(keep.sum())), (focal[keep], neighbor[keep])), shape=(n, n), dtype=float
    )
    a.sum_duplicates()
    a.sort_indices()
    return a


def forksafe_threads() -> None:
    """Run numba's parallel kernels on a threading layer that survives ``fork()``.

    numba's default order takes GNU OpenMP when Intel TBB is missing, and a process that
    forked after the OpenMP pool started kills itself (SIGTERM, "fork() called from a process
    already using GNU OpenMP") the first time it runs a parallel kernel: a gunicorn worker
    forked from a server that had computed hot spots, a solver worker forked by a planner.
    ``forksafe`` takes TBB (also thread-safe; installed with gridplan where wheels exist) or
    numba's own work queue. A layer the user chose with ``NUMBA_THREADING_LAYER`` is kept.
    Must run before the first parallel kernel of the process; later calls change nothing.
    """
    import os

    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "forksafe"


@numba.njit(parallel=True, cache=True)
def _gi_star_larger(y, indptr, indices, permuted_ids):  # pragma: no cover - compiled
    """Count, per cell and slice, random neighbourhoods with a Gi* lag >= the observed one.

    ``y`` is (cells, slices); binary weights with self-weight 1 (Gi*). Random neighbour j of
    cell i is ``permuted_ids[r, j]`` among the other cells (ids >= i shift up by one), as in
    esda.crand.
    """
    n, k = y.shape
    p = permuted_ids.shape[0]
    larger = np.zeros((n, k), dtype=np.int64)
    for i in numba.prange(n):
        start = indptr[i]
        card = indptr[i + 1] - start
        if card == 0:
            continue
        observed = np.empty(k)
        acc = np.empty(k)
        count = np.zeros(k, dtype=np.int64)
        for c in range(k):
            observed[c] = y[i, c]
        for j in range(card):
            nb = indices[start + j]
            for c in range(k):
                observed[c] += y[nb, c]
        for r in range(p):
            for c in range(k):
                acc[c] = y[i, c]
            for j in range(card):
                nb = permuted_ids[r, j]
                if nb >= i:
                    nb += 1
                for c in range(k):
                    acc[c] += y[nb, c]
            for c in range(k):
                if acc[c] >= observed[c]:
                    count[c] += 1
        for c in range(k):
            larger[i, c] = count[c]
    return larger


def _permuted_ids(n: int, max_card: int, permutations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((permutations, max_card), dtype=np.int64)
    for r in range(permutations):
        out[r] = rng.choice(n - 1, size=max_card, replace=False)
    return out


def gi_star(
    y: np.ndarray,
    adjacency: sparse.csr_array,
    *,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return Gi* z-scores, two-sided normal p-values and two-sided pseudo p-values.

    Parameters
    ----------
    y
        Values, shape (cells,) or (cells, slices).
    adjacency
        Binary contiguity without self-links (:func:`queen_adjacency`).
    permutations
        Conditional permutations for the pseudo p-values; 0 gives NaN pseudo p-values.
    seed
        Seed of the random neighbour draws.

    Returns
    -------
    tuple of numpy.ndarray
        ``z``, ``p_norm``, ``p_sim``, each shaped like ``y``; NaN for islands and for slices
        whose values are all zero or all equal (nothing to test).
    """
    from esda.getisord import G_Local
    from libpysal import graph

    y = np.asarray(y, dtype=float)
    flat = y.ndim == 1
    y2 = y.reshape(len(y), -1)
    n, k = y2.shape
    z = np.full((n, k), np.nan)
    p_norm = np.full((n, k), np.nan)
    p_sim = np.full((n, k), np.nan)
    card = np.diff(adjacency.indptr)
    island = card == 0
    if n < 2 or island.all():
        return (z[:, 0], p_norm[:, 0], p_sim[:, 0]) if flat else (z, p_norm, p_sim)
    star = graph.Graph.from_sparse((adjacency + sparse.eye_array(n, format="csr")).tocsr())
    testable = np.array([y2[:, c].sum() > 0 and np.ptp(y2[:, c]) > 0 for c in range(k)])
    for c in np.flatnonzero(testable):
        with np.errstate(divide="ignore", invalid="ignore"):
            g = G_Local(y2[:, c], star, transform="B", star=True, permutations=0)
        z[:, c] = g.Zs
    p_norm = 2.0 * stats.norm.sf(np.abs(z))
    if permutations > 0 and testable.any():
        ids = _permuted_ids(n, int(card.max()), permutations, seed)
        cols = np.flatnonzero(testable)
        forksafe_threads()
        larger = _gi_star_larger(
            np.ascontiguousarray(y2[:, cols]),
            adjacency.indptr.astype(np.int64),
            adjacency.indices.astype(np.int64),
            ids,
        )
        # esda's "directed" pseudo p takes the tail the observation lies in; doubling it (capped
        # at 1) gives the two-sided pseudo p comparable with the two-sided normal p.
        tail = np.minimum(larger, permutations - larger)
        p_sim[:, cols] = np.minimum(1.0, 2.0 * (tail + 1.0) / (permutations + 1.0))
    z[island] = np.nan
    p_norm[island] = np.nan
    p_sim[island] = np.nan
    if flat:
        return z[:, 0], p_norm[:, 0], p_sim[:, 0]
    return z, p_norm, p_sim


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, ignoring (and keeping) NaN."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def classify_gi(
    z: np.ndarray, p: np.ndarray, *, names: tuple[str, str] = ("hot", "cold")
) -> np.ndarray:
    """Gi* class per cell: ``hot_99`` ... ``cold_99`` from z's sign and the p-value.

    A cell is significant at confidence c when ``p < 1 - c``; NaN z or p is
    ``not_significant``. ``names`` are the prefixes for a positive and a negative ``z``: the
    excess test (:mod:`gridplan.analysis.excess`) passes ``("above", "below")`` with the
    count minus its expectation as ``z``.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    high, low = names
    out = np.full(z.shape, "not_significant", dtype=object)
    ok = np.isfinite(z) & np.isfinite(p)
    for alpha, level in ((0.10, "90"), (0.05, "95"), (0.01, "99")):
        sig = ok & (p < alpha)
        out[sig & (z > 0)] = f"{high}_{level}"
        out[sig & (z < 0)] = f"{low}_{level}"
    return out
