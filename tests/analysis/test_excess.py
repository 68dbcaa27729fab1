"""The excess test of a micro-grid's incidents against the station's mean density.

The property test runs ``GRIDPLAN_FUZZ_EXAMPLES`` examples (default 300); a longer run::

    GRIDPLAN_FUZZ_EXAMPLES=5000 python3 -m pytest -q tests/analysis/test_excess.py
"""

import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from gridplan.analysis.excess import excess_test
from gridplan.analysis.excess import expected_counts
from gridplan.analysis.gistar import classify_gi
from gridplan.analysis.gistar import fdr_bh

EXAMPLES = int(os.environ.get("GRIDPLAN_FUZZ_EXAMPLES", "300"))


def _binomial_two_sided(x: int, n: int, q: float) -> float:
    """Twice the smaller tail of Binomial(n, q) at x, summed term by term."""
    pmf = [math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)]
    return min(1.0, 2 * min(sum(pmf[x:]), sum(pmf[: x + 1])))


def test_expected_counts_follow_the_area_share_per_slice():
    counts = np.array([[6, 0], [2, 0], [4, 0]])
    got = expected_counts(counts, np.array([1.0, 1.0, 2.0]))
    np.testing.assert_allclose(got, [[3, 0], [3, 0], [6, 0]])


def test_excess_p_matches_a_direct_binomial_sum():
    counts = np.array([[9, 0, 1], [2, 0, 1], [0, 0, 1], [4, 0, 0]])
    area = np.array([0.04, 0.04, 0.02, 0.03])
    expected, p = excess_test(counts, area)
    q = area / area.sum()
    for c in (0, 2):
        n = int(counts[:, c].sum())
        want = [_binomial_two_sided(int(x), n, qi) for x, qi in zip(counts[:, c], q, strict=True)]
        np.testing.assert_allclose(p[:, c], want, rtol=1e-9)
        np.testing.assert_allclose(expected[:, c], n * q)
    # a slice without incidents has nothing to test
    assert np.isnan(p[:, 1]).all() and (expected[:, 1] == 0).all()


@pytest.mark.parametrize(("count", "hot"), [(30, True), (14, False), (6, False)])
def test_one_cell_far_above_the_mean_is_significant(count, hot):
    counts = np.array([count, 8, 9, 9, 10, 8, 9, 9])
    _, p = excess_test(counts, np.ones(len(counts)))
    assert bool(p[0] < 0.01) == hot


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.floats(0.005, 0.05)), min_size=1, max_size=40))
def test_excess_classes_never_contradict_the_counts(cells):
    counts = np.array([c for c, _ in cells])
    area = np.array([a for _, a in cells])
    expected, p = excess_test(counts, area)
    assert expected.sum() == pytest.approx(counts.sum())
    if counts.sum() == 0:
        assert np.isnan(p).all()
        return
    assert ((p > 0) & (p <= 1)).all()
    classes = classify_gi(counts - expected, fdr_bh(p), names=("above", "below"))
    above = np.char.startswith(classes.astype(str), "above")
    below = np.char.startswith(classes.astype(str), "below")
    # hot only with more incidents than expected, cold only with fewer; one cell alone is
    # exactly what it is expected to be
    assert (counts[above] > expected[above]).all() and (counts[below] < expected[below]).all()
    assert len(cells) > 1 or not (above | below).any()
