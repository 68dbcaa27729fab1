"""Key road sections and timed targets on the demo station: a day planned with and without.

Runs the demo chain (:func:`gridplan.pipeline.run_station`: grid, incidents, hot spots, the
street network) once, then plans one weekday over every slice twice with the same seed and
time limit: without targets, and with six timed targets placed near the riskiest
micro-grids: two school gates (points, 07:30-08:15 and 16:30-17:30), a bank (point), a
market street, a night-market street and a road by a metro exit (lines of 200-400 m along
the streets). With targets every node of a slice gets a time window, so the solver takes its
time-window path (OR-Tools only: gridplan's Python search judges duration budgets, not
windows); this measures what that costs. A third plan isolates the solver path: one target of
value 0 open all day, so every node has a window (the whole slice) but nothing else changes.

Printed side by side per slice: risk covered, target occurrences served inside their windows
(checked by :func:`gridplan.check_plan`, which re-derives the windows from the targets),
solver seconds, plus the load average before and after each plan.

Usage::

    python benchmarks/targets.py [--date 2024-06-07] [--time-limit 5] [--workers 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import gridplan as gp
from gridplan.network.matrix import route_geometry
from gridplan.network.stops import access_points
from gridplan.pipeline import run_station
from gridplan.routing.check import check_plan
from gridplan.routing.plan import target_stops
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams
from gridplan.routing.targets import Target

POINTS = [
    ("gate-1", "第一小学校门 School 1 gate", "07:30-08:15;16:30-17:30", 10.0),
    ("gate-2", "实验中学校门 Middle school", "weekdays 07:40-08:10; weekdays 16:00-16:40", 8.0),
    ("bank", "银行网点 Bank branch", "09:00-10:00;15:30-16:30", 5.0),
]
LINES = [
    ("market", "菜市场街 Market street", "17:00-19:00", 10.0),
    ("night-market", "夜市街 Night market", "21:00-23:00", 8.0),
    ("metro", "地铁口路段 Metro exit road", "07:00-09:00", 6.0),
]


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def make_targets(run) -> tuple[Target, ...]:
    """Six targets at the access nodes of the riskiest micro-grids (whole-day ranking)."""
    net, grid = run.network, run.grid
    hot = run.hotspots
    day = hot[hot["slice"] == "all"].sort_values("rank")
    access = access_points(grid, None, net, profile="walk").set_index("id")
    nodes = [int(access.loc[mid, "node"]) for mid in day["id"].astype(str) if mid in access.index]
    frame = net.node_frame("walk")
    lonlat = frame.to_crs(4326)
    out = []
    for (tid, name, windows, value), node in zip(POINTS, nodes[::3], strict=False):
        pt = lonlat.geometry.loc[node]
        out.append(Target(tid, name, ((pt.x, pt.y),), windows, value=value))
    for (tid, name, windows, value), node in zip(LINES, nodes[1::3], strict=False):
        far = np.hypot(frame["x"] - frame.loc[node, "x"], frame["y"] - frame.loc[node, "y"])
        other = int(far[(far > 200) & (far < 320)].index[0])
        line = route_geometry(net, "walk", node, other)
        out.append(Target(tid, name, tuple(line.coords), windows, value=value, dwell_min=5))
    return tuple(out)


def _window_probe(run) -> Target:
    """A target of value 0 open each whole slice: windows on every node, no prize."""
    station = run.grid[run.grid["level"] == "station"].to_crs(4326).geometry.iloc[0]
    pt = station.representative_point()

    def hhmm(m: int) -> str:
        return f"{m // 60 % 24:02d}:{m % 60:02d}"

    windows = "; ".join(
        f"{hhmm(s.start_min)}-{hhmm(s.start_min + s.duration_min)}" for s in run.config.slices
    )
    return Target("probe", "probe", ((pt.x, pt.y),), windows, value=0, dwell_min=0)


def plan_day(run, date: str, targets, params: SolveParams) -> dict:
    """Plan the day; return the figures of the plan."""
    before = _load()
    t0 = time.perf_counter()
    plan = gp.plan_patrols(
        run.grid,
        run.hotspots,
        run.network,
        run.config,
        PlanRequest(date, seed=params.seed, targets=targets),
        params=params,
    )
    seconds = time.perf_counter() - t0
    report = check_plan(plan, run.network)
    unserved = [f for f in report.warnings if f.code == "target"]
    errors = [f.to_text() for f in report.errors]
    served = [p for *_, p in target_stops(plan) if p.target_id != "probe"]
    return {
        "seconds": round(seconds, 1),
        "load_before": before,
        "load_after": _load(),
        "risk_covered": {s.slice_id: round(s.metrics.risk_covered, 4) for s in plan.slices},
        "served_in_window": len(served),
        "not_served": [f.message for f in unserved],
        "check_errors": errors,
        "feasible": plan.is_feasible(),
    }


def main(argv=None) -> int:
    """Run the benchmark; print the table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--date", default="2024-06-07")
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    run = run_station(plan_date=None)
    targets = make_targets(run)
    params = SolveParams(time_limit_s=args.time_limit, workers=args.workers, seed=args.seed)
    result = {
        "date": args.date,
        "time_limit_s": args.time_limit,
        "workers": args.workers,
        "targets": [f"{t.id} {t.kind} {t.windows_text} value {t.value:g}" for t in targets],
        "without": plan_day(run, args.date, (), params),
        "windows only": plan_day(run, args.date, (_window_probe(run),), params),
        "with": plan_day(run, args.date, targets, params),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    _print(args, result)
    return 0


def _print(args, result: dict) -> None:
    runs = {k: result[k] for k in ("without", "windows only", "with")}
    print(
        f"{args.date}, {args.time_limit:g} s per slice, {args.workers} worker(s), seed {args.seed}"
    )
    print("targets:\n  " + "\n  ".join(result["targets"]))
    print(f"{'':24}" + "".join(f"{k:>16}" for k in runs))
    for sid in runs["without"]["risk_covered"]:
        row = "".join(f"{r['risk_covered'][sid]:>16.1%}" for r in runs.values())
        print(f"risk covered {sid:11}{row}")
    print(
        f"{'target visits in window':24}"
        + "".join(f"{r['served_in_window']:>16}" for r in runs.values())
    )
    print(f"{'plan seconds':24}" + "".join(f"{r['seconds']:>16}" for r in runs.values()))
    for k, r in runs.items():
        print(f"load average {k}: before {r['load_before']}, after {r['load_after']}")
    for line in result["with"]["not_served"]:
        print("not served:", line)
    for k, r in runs.items():
        for line in r["check_errors"]:
            print(f"CHECK ERROR ({k}):", line)


if __name__ == "__main__":
    sys.exit(main())
