"""Water filling: share a budget in proportion to weights, none above its cap.

The day planner shares two budgets this way: a micro-grid's daily dosage cap over the slices
(:mod:`~gridplan.routing.dosage`) and a patroller's daily on-duty limit over its outings
(:mod:`~gridplan.routing.outings`).
"""

from __future__ import annotations

from collections.abc import Sequence


def water_fill(
    budget: float,
    caps: Sequence[float],
    weights: Sequence[float],
    start: Sequence[float] | None = None,
) -> list[float]:
    """Add ``budget`` to ``start`` (default zeros) in proportion to ``weights``, up to ``caps``.

    What a capped item cannot take goes to the others, again by weight; items of weight 0
    get nothing. Returns the shares (the budget may be left over when every item is full).

    Examples
    --------
    >>> [round(x, 2) for x in water_fill(90, [45, 45, 14], [2, 1, 1])]
    [45.0, 31.0, 14.0]
    """
    share = [0.0] * len(caps) if start is None else [float(x) for x in start]
    free = {i for i in range(len(caps)) if weights[i] > 0 and share[i] < caps[i]}
    left = float(budget)
    while free and left > 1e-9:
        total = sum(weights[i] for i in free)
        full = {i for i in free if left * weights[i] / total >= caps[i] - share[i]}
        if not full:
            for i in free:
                share[i] += left * weights[i] / total
            break
        for i in full:
            left -= caps[i] - share[i]
            share[i] = float(caps[i])
        free -= full
    return share


__all__ = ["water_fill"]
