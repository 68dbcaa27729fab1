"""The daily dosage cap shared over the slices by where each micro-grid's risk is.

A micro-grid may get at most ``dosage_cap_min`` minutes of presence a day. Taken first come,
the morning and day slices can spend it all and leave a hot spot that peaks at night without a
visit at night. :func:`dosage_shares` gives each slice its part in advance: first one visit in
every slice where the micro-grid has risk (the riskiest slices first, while the cap allows),
then the rest in proportion to the risk, no slice more than its visits can use. A slice may
also use what earlier slices left unused (:func:`slice_allowance`), never what later slices
are owed. Minutes a micro-grid already got that day (tracks, :mod:`~gridplan.routing.feedback`)
come off its cap before it is shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridplan.routing._shares import water_fill
from gridplan.station.roster import PatrolPolicy
from gridplan.station.timeslices import TimeSlice


def _risk_table(
    hotspots: pd.DataFrame, micro_ids: Sequence[str], slices: Sequence[TimeSlice]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score and rank per micro-grid (rows) and slice (columns), missing values filled."""
    ids = [ts.id for ts in slices]
    rows = hotspots[hotspots["slice"].astype(str).isin(ids)]
    frame = pd.DataFrame(
        {
            "id": rows["id"].astype(str).to_numpy(),
            "slice": rows["slice"].astype(str).to_numpy(),
            "score": pd.to_numeric(rows["score"], errors="coerce").to_numpy(),
            "rank": pd.to_numeric(rows["rank"], errors="coerce").to_numpy(),
        }
    ).drop_duplicates(["id", "slice"])
    score = frame.pivot(index="id", columns="slice", values="score")
    rank = frame.pivot(index="id", columns="slice", values="rank")
    score = score.reindex(index=list(micro_ids), columns=ids).fillna(0.0).clip(lower=0.0)
    rank = rank.reindex(index=list(micro_ids), columns=ids).fillna(len(micro_ids) + 1)
    return score, rank


def _visit_minutes(policy: PatrolPolicy, cls: str) -> tuple[float, float]:
    """Longest minutes one visit of a class may take, and the most a slice's visits may use."""
    longest = min(policy.dwell_min[cls] + policy.dwell_spread_min, policy.dwell_bounds_min[1])
    visits = policy.revisit_max if cls == "top" else 1
    return float(longest), float(longest * visits)


def _split(cap: float, score: np.ndarray, one: np.ndarray, most: np.ndarray) -> np.ndarray:
    """One micro-grid's cap over its slices: a visit where there is risk, then by risk.

    What is left gives a visit to slices without risk, for the micro-grids the model keeps
    there anyway (a base grid's cover, a pin).
    """
    out = np.zeros(len(score))
    left = cap
    for s in np.argsort(-score, kind="stable"):
        if score[s] > 0 and one[s] <= left:
            out[s] = one[s]
            left -= one[s]
    out = np.array(water_fill(left, most, score, start=out))
    # what the risk leaves: a visit in slices without risk (a base grid's cover, a pin)
    left = cap - out.sum()
    for s in range(len(score)):
        if score[s] <= 0 and one[s] <= left + 1e-9:
            out[s] = one[s]
            left -= one[s]
    return out


def dosage_shares(
    hotspots: pd.DataFrame,
    micro_ids: Sequence[str],
    slices: Sequence[TimeSlice],
    policy: PatrolPolicy,
    *,
    spent_today: Mapping[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """Share each micro-grid's daily ``dosage_cap_min`` over the slices by its risk in each.

    Parameters
    ----------
    hotspots
        The hot-spot frame (``id``, ``slice``, ``score``, ``rank``).
    micro_ids
        The micro-grids.
    slices
        The slices planned that day.
    policy
        The patrol policy (cap, dwell, revisits, ``top_share``).
    spent_today
        Minutes of presence each micro-grid already got that day
        (:attr:`~gridplan.routing.feedback.ActualPresence.spent_today_min`): its cap is
        ``dosage_cap_min`` less those, never below 0.

    Returns
    -------
    dict
        ``{micro_id: {slice_id: minutes}}``; a micro-grid's minutes add up to at most its cap,
        and a slice where it has no risk gets a visit only from what the risk leaves.

    Examples
    --------
    A micro-grid with a third of its risk in the morning (one visit, of at most 14 minutes,
    as it is not a top hot spot then) and two thirds at night (a top hot spot: up to three
    visits of 15 minutes):

    >>> import pandas as pd
    >>> from gridplan.station.roster import PatrolPolicy
    >>> from gridplan.station.timeslices import TimeSlice
    >>> slices = [TimeSlice("morning", 6 * 60, 10 * 60), TimeSlice("night", 22 * 60, 6 * 60)]
    >>> hot = pd.DataFrame({"id": ["M1", "M1"], "slice": ["morning", "night"],
    ...                     "score": [1.0, 2.0], "rank": [2, 1]})
    >>> shares = dosage_shares(hot, ["M1"], slices, PatrolPolicy())
    >>> {s: round(m) for s, m in shares["M1"].items()}
    {'morning': 14, 'night': 45}

    After 70 minutes of presence there today, 20 minutes are left to share: a visit in the
    riskier night, the rest by risk:

    >>> shares = dosage_shares(hot, ["M1"], slices, PatrolPolicy(), spent_today={"M1": 70})
    >>> {s: round(m) for s, m in shares["M1"].items()}
    {'morning': 2, 'night': 18}
    """
    score, rank = _risk_table(hotspots, micro_ids, slices)
    k = max(1, int(np.ceil(policy.top_share * len(micro_ids))))
    ranks = rank.to_numpy()
    one, most = np.zeros(ranks.shape), np.zeros(ranks.shape)
    for cls, inside in (("other", True), ("high", ranks <= 2 * k), ("top", ranks <= k)):
        one_cls, most_cls = _visit_minutes(policy, cls)
        one = np.where(inside, one_cls, one)
        most = np.where(inside, most_cls, most)
    values = score.to_numpy()
    spent = spent_today or {}
    out = {}
    for i, mid in enumerate(score.index):
        cap = max(0.0, policy.dosage_cap_min - float(spent.get(str(mid), 0.0)))
        split = _split(cap, values[i], one[i], most[i])
        out[str(mid)] = {str(s): float(m) for s, m in zip(score.columns, split, strict=True)}
    return out


def slice_allowance(
    shares: Mapping[str, Mapping[str, float]],
    slice_id: str,
    unused: Mapping[str, float],
) -> dict[str, float]:
    """Minutes each micro-grid may get in a slice: its share plus what earlier slices left."""
    return {
        mid: by_slice.get(slice_id, 0.0) + float(unused.get(mid, 0.0))
        for mid, by_slice in shares.items()
    }


__all__ = ["dosage_shares", "slice_allowance"]
