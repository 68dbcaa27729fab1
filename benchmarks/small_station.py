"""A small station's day against the issue-17 rules: dosage by risk, whole outings, no posts.

Builds the 1.32 km² test station C07 (tests/_small_station.py: 36 micro-grids in Chengdu, a
hot spot that peaks at night, volunteers free across the 10:00 and 16:00 slice boundaries),
plans its whole day and its night alone with the shipped settings and a work limit (the same
plans on any machine load), and prints per slice:

- risk covered (whole day, and the night planned alone beside it);
- minutes of presence of the slice's rank-1 hot spot in that slice;
- the longest gap at a top hot spot, response coverage and waiting minutes;
- outings: how many, the shortest, and whether any stays in one micro-grid twice in a row;
- each volunteer team's minutes out of its daily limit.

Usage::

    PYTHONPATH=.:tests python3 benchmarks/small_station.py [--work-limit 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

from _small_station import DATE
from _small_station import small_station
from _small_station import station_summary

import gridplan as gp
from gridplan.routing.check import check_plan


def _outings(plan) -> list[tuple[str, float, bool]]:
    """``(patroller, minutes, stays)`` per outing over the day."""
    chains: dict = {}
    for sp in plan.slices:
        for r in sp.routes:
            if r.deployed or r.carried:
                chains.setdefault((r.patroller_id, r.outing or (sp.slice_id, r.part)), []).append(r)
    out = []
    for (pid, _), routes in chains.items():
        stops = [p for r in routes for p in r.stops]
        if not stops:
            continue
        minutes = (routes[-1].end - routes[0].start).total_seconds() / 60
        stays = any(a.micro_id == b.micro_id for a, b in itertools.pairwise(stops))
        out.append((pid, minutes, stays))
    return out


def main() -> None:
    """Plan the small station's day and night and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work-limit", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    st = small_station(Path(tempfile.mkdtemp(prefix="c07-")))
    print(station_summary(st), "load", os.getloadavg())
    params = gp.SolveParams(workers=1, work_limit=args.work_limit, time_limit_s=60)
    t0 = time.perf_counter()
    day = gp.plan_patrols(
        st.grid, st.hotspots, st.network, st.config, gp.PlanRequest(DATE, seed=args.seed),
        params=params,
    )  # fmt: skip
    night = gp.plan_patrols(
        st.grid, st.hotspots, st.network, st.config,
        gp.PlanRequest(DATE, slices=["night"], seed=args.seed), params=params,
    )  # fmt: skip
    print(f"planned in {time.perf_counter() - t0:.1f} s")
    hot = st.hotspots
    print("slice    risk  top1-minutes  longest-top-gap  response  waiting")
    for sp in day.slices:
        top1 = str(hot[hot["slice"] == sp.slice_id].sort_values("rank")["id"].iloc[0])
        m = sp.metrics
        print(
            f"{sp.slice_id:8s} {m.risk_covered:5.3f} {m.top_dwell_min.get(top1, 0):8.0f}"
            f"      {m.longest_top_gap_min or 0:9.0f}      {m.response_coverage or 0:7.3f}"
            f"  {m.waiting_min:6.0f}"
        )
    alone = night.slice("night").metrics.risk_covered
    ratio = day.slice("night").metrics.risk_covered / alone if alone else float("nan")
    print(f"night risk covered: whole day / night alone = {ratio:.3f} (night alone {alone:.3f})")
    outings = _outings(day)
    print(
        f"outings {len(outings)}, shortest {min(m for _, m, _ in outings):.0f} min, "
        f"with a stay {sum(s for *_, s in outings)}"
    )
    for p in st.config.roster:
        if p.role == "volunteer_team":
            used = sum(
                sp.metrics.workload[p.id].minutes
                for sp in day.slices
                if p.id in sp.metrics.workload
            )
            print(f"{p.id}: {used:.0f} of {p.max_duty_min} min out")
    report = check_plan(day, st.network, grid=st.grid)
    print(report.to_text())


if __name__ == "__main__":
    main()
