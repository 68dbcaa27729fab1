"""The demo day's plan metrics, with the old definitions and the honest ones, for one plan.

Runs the demo chain (:func:`gridplan.pipeline.run_station`: grid, incidents, hot spots, street
network), plans the demo day once with a work limit (the same plan on any machine load), and
prints per slice and for the day:

- ``near_stop``: the old ``incidents_within_8min`` (main before issue 17): the share of the
  slice's incidents in micro-grids within 8 minutes of any stop made at any time in the slice;
- ``response``: the time-resolved response coverage (``SliceMetrics.response_coverage``): the
  same incidents within 8 minutes of where the patrollers are, minute by minute;
- risk covered, the objective's prize share (revisits at 1/2 and 1/4), waiting minutes, and
  the top hot spots' share of presence against their share of risk.

Usage::

    PYTHONPATH=. python3 benchmarks/plan_metrics.py [--work-limit 60] [--seed 1] [--check]

About a minute on one core (the network and the solver dominate).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gridplan.network.matrix import UNREACHABLE
from gridplan.pipeline import DEMO_PLAN_DATE
from gridplan.pipeline import run_station
from gridplan.routing.check import check_plan
from gridplan.routing.planner import plan_patrols
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams

RESPONSE_S = 8 * 60


def near_a_stop(sp) -> float | None:
    """The old figure: incidents in cells within 8 min of any stop of the slice, at any time."""
    problem = sp.problem
    covered = np.zeros(len(problem.places), dtype=bool)
    for r in sp.routes:
        od = next(o for o in problem.on_duty if o.patroller.id == r.patroller_id)
        seconds = problem.matrices[od.profile].seconds
        for p in r.stops:
            row = seconds[problem.places.index(p.micro_id)]
            covered |= (row != UNREACHABLE) & (row <= RESPONSE_S)
    incidents = np.array([s.incidents for s in problem.stops], dtype=float)
    if incidents.sum() == 0:
        return None
    return float(incidents[covered[1:]].sum() / incidents.sum())


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def main() -> None:
    """Print the table (Markdown)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work-limit", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--check", action="store_true", help="also run plan check (it re-times every minute)"
    )
    args = ap.parse_args()
    run = run_station(plan_date=None)
    plan = plan_patrols(
        run.grid,
        run.hotspots,
        run.network,
        run.config,
        PlanRequest(DEMO_PLAN_DATE, seed=args.seed),
        params=SolveParams(time_limit_s=120, workers=1, work_limit=args.work_limit),
    )
    print(f"demo plan {plan.date}, seed {args.seed}, work limit {args.work_limit}")
    head = (
        "| slice | near a stop (old) | response (new) | risk covered | prize share | "
        "waiting min | longest top gap min | top spots: presence / risk |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for sp in plan.slices:
        m = sp.metrics
        tp = m.top_presence
        pres = sum(v.share_of_presence for v in tp.values())
        risk = sum(v.share_of_risk for v in tp.values())
        gap = "-" if m.longest_top_gap_min is None else f"{m.longest_top_gap_min:.0f}"
        print(
            f"| {sp.slice_id} | {_pct(near_a_stop(sp))} | {_pct(m.response_coverage)} | "
            f"{_pct(m.risk_covered)} | {_pct(m.prize_share)} | {m.waiting_min:.0f} | {gap} | "
            f"{_pct(pres)} / {_pct(risk)} |"
        )
    d = plan.day_metrics()
    pres = sum(v.share_of_presence for v in d.top_presence.values())
    risk = sum(v.share_of_risk for v in d.top_presence.values())
    print(
        f"| whole day | | {_pct(d.response_coverage)} | {_pct(d.risk_covered)} | "
        f"{_pct(d.prize_share)} | {d.waiting_min:.0f} | | {_pct(pres)} / {_pct(risk)} |"
    )
    if args.check:
        t0 = time.perf_counter()
        report = check_plan(plan, run.network)
        bad = [f.to_text() for f in report.findings if f.code == "metrics"]
        print(f"plan check: {time.perf_counter() - t0:.1f} s, metrics findings: {bad or 'none'}")


if __name__ == "__main__":
    main()
