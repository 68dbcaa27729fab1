"""Hot-spot classes for small stations: each micro-grid tested against the station's mean.

Why not Gi* there
    Getis-Ord Gi* (:mod:`gridplan.analysis.gistar`) asks whether a micro-grid *and its
    neighbours* hold more than their share: "to be a statistically significant hot spot, a
    feature will have a high value and be surrounded by other features with high values"
    (ArcGIS Pro, *How Hot Spot Analysis (Getis-Ord Gi*) works*). A 社区警务室 of 1-2 km² has
    30-40 micro-grids; its hot spots are single micro-grids (a night market, a bar street)
    among quiet ones, and a Queen neighbourhood of nine cells is a quarter of the station.
    Measured on the 36-cell test station (``tests/_small_station.py``): three micro-grids hold
    57 % of the incidents, the night hot spot 48 of the night's 91, and Gi* with the
    Benjamini-Hochberg FDR classes no micro-grid hot in any slice.

The excess test
    A per-cell test of the count against what the station's mean density predicts, as in
    Choynowski's probability map (Choynowski 1959, *Maps based on probabilities*, JASA 54,
    385-388; spdep's ``choynowski``/``probmap``; Bailey and Gatrell 1995, pp. 300-303). If the
    slice's ``N`` incidents fell anywhere in the station with equal chance per km², a micro-grid
    holding the share ``a_i / A`` of the area would get ``X_i ~ Binomial(N, a_i / A)`` of them
    (exact given ``N``; Choynowski's Poisson tail is its limit for small shares). The p-value
    doubles the smaller tail, ``P(X >= x)`` or ``P(X <= x)`` (two-sided, comparable with Gi*'s
    two-sided p); the station applies the Benjamini-Hochberg FDR per slice as it does for Gi*
    (Benjamini and Hochberg 1995). A cell significant at 90/95/99 % with more incidents than
    expected is ``above_90/95/99``, with fewer ``below_90/95/99``.

What it does and does not say
    The class says that a micro-grid has more incidents than the station's average density
    explains, which a single hot micro-grid can show where Gi* cannot; the rank and the score
    (recency and severity weighted) say how much risk it carries. The test counts incidents,
    unweighted: it assumes independent incidents, so repeat calls to one address make a cell
    look more certain than it is, and with thousands of incidents every cell away from the
    mean becomes significant (forced on the demo's 47,907 incidents it calls 46 of 147
    micro-grids hot and 93 cold all day, where Gi* calls 24 hot). Both are why large stations
    keep Gi* (see :func:`gridplan.analysis.hotspots.compute_hotspots`, setting
    ``hotspots.classes``). The mean density assumes incidents could happen anywhere in the
    station: a micro-grid that is mostly lake or park is expected to hold more than it can.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def expected_counts(counts: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Incidents each micro-grid would get at the station's mean density, per slice.

    Parameters
    ----------
    counts
        Incidents per micro-grid, shape (cells,) or (cells, slices).
    area
        Area of each micro-grid (any unit), shape (cells,).

    Returns
    -------
    numpy.ndarray
        Shaped like ``counts``: the slice's total times the micro-grid's share of the area.
    """
    counts = np.asarray(counts, dtype=float)
    area = np.asarray(area, dtype=float)
    share = area / area.sum() if area.sum() > 0 else np.full(area.shape, np.nan)
    if counts.ndim == 1:
        return share * counts.sum()
    return share[:, None] * counts.sum(axis=0)[None, :]


def excess_test(counts: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the expected counts and the two-sided binomial p of each micro-grid's count.

    Parameters
    ----------
    counts
        Incidents per micro-grid, shape (cells,) or (cells, slices).
    area
        Area of each micro-grid, shape (cells,).

    Returns
    -------
    tuple of numpy.ndarray
        ``expected`` and ``p``, shaped like ``counts``; ``p`` is NaN in a slice without
        incidents (nothing to test) and for a micro-grid without area.

    Examples
    --------
    >>> import numpy as np
    >>> expected, p = excess_test(np.array([30, 8, 9, 9]), np.ones(4))
    >>> expected.tolist(), (p < 0.01).tolist()
    ([14.0, 14.0, 14.0, 14.0], [True, False, False, False])
    """
    counts = np.asarray(counts, dtype=float)
    expected = expected_counts(counts, area)
    total = counts.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = expected / total
    upper = stats.binom.sf(counts - 1, total, share)  # P(X >= x)
    lower = stats.binom.cdf(counts, total, share)  # P(X <= x)
    p = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
    p = np.where((total > 0) & (share > 0), p, np.nan)
    return expected, p
