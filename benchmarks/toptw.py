"""Team Orienteering with Time Windows: gridplan's solver vs PyVRP (and VROOM), interleaved.

Usage::

    python benchmarks/toptw.py [NAMES...] [--m 1,2,3,4] [--time-limit S] [--workers N]
                               [--solvers gridplan,pyvrp[,vroom]] [--json] [--data DIR]

Without names it runs SAMPLE: two instances of each family (Solomon c1/r1/rc1, c2/r2/rc2,
Cordeau pr01-10 and pr11-20) from ../shared/benchmarks/toptw. Each (instance, m) pair is solved
by each solver in turn (the order alternates from pair to pair, so machine load falls on each
alike), and every solution is re-checked by :func:`check` below, independently of the
solvers: each path leaves the depot at 0, waits for windows, starts every service inside its
window, is back by the depot's closing time, and no customer is served twice.

Distances are Euclidean truncated down to one decimal (Solomon files) or two (Cordeau pr), as
the literature's values assume; every time is held in those units (x10 or x100) as integers,
so every solver and the checker see the same numbers. Best-known values come from ``bks.csv``
(proven optima for m = 1 where ``kind = optimal``; otherwise a heuristic's floor, see the
data's README).

This is issue 18's measurement of the time-window path of the solver; gridplan runs with its
default :class:`~gridplan.routing.solver.SolveParams`.

VROOM (``--solvers ...,vroom``, optional: ``pip install pyvroom``) is a third column because it
models these instances exactly. It maximises the sum of the priorities of the jobs it serves
first, and only then the number served and the travel cost (``SolutionIndicators`` in its
source), so priority = profit is the TOPTW objective as long as every profit is an integer in
VROOM's priority range 0..100: in every file of the four folders profits are integers from 1 to
50 (:func:`solve_vroom` refuses any other value rather than scale it). Jobs carry the same
service times and windows (service start inside the window, waiting allowed), vehicles are m
copies from and to the depot within [0, tmax], and the durations are the same integer matrix
as the others'. VROOM has no anytime limit: it builds one solution per heuristic setting (32
at exploration level 5, duplicates dropped), then runs a local search from each until it
converges, and keeps the best. Its ``timeout`` (given the time limit) does not bound that whole:
each search gets an equal share of it, timeout / searches per thread (``src/problems/vrp.h``;
the construction phase is not counted, and a search that converges early leaves its share
unused). So VROOM often stops well before the
limit (its ``seconds`` column says when) and a longer limit can still change its result. It
runs at exploration level 5 (its maximum and its command line's default) with 1 thread, as
PyVRP does (``--workers`` is gridplan's alone). Tested with pyvroom 1.15.2.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "toptw"
FOLDERS = ("c_r_rc_100_100", "c_r_rc_200_100", "pr01_10", "pr11_20")
SAMPLE = (
    "c101", "c105", "r101", "r106", "rc101", "rc105",
    "c201", "c205", "r201", "r206", "rc201", "rc205",
    "pr01", "pr05", "pr11", "pr15",
)  # fmt: skip


@dataclass(frozen=True)
class Instance:
    """One TOPTW file in integer time units (``unit`` per distance unit)."""

    name: str
    unit: int
    xy: np.ndarray
    service: np.ndarray
    profit: np.ndarray
    open: np.ndarray
    close: np.ndarray

    @property
    def n(self) -> int:
        """Vertices, the depot (0) included."""
        return len(self.profit)

    @property
    def tmax(self) -> int:
        """The depot's closing time: every path's budget."""
        return int(self.close[0])

    def distances(self) -> np.ndarray:
        """Euclidean distances truncated down to the file's decimals, in time units."""
        d = np.hypot(*(self.xy[:, None, :] - self.xy[None, :, :]).transpose(2, 0, 1))
        return np.floor(d * self.unit + 1e-9).astype(np.int64)


def read_instance(path: Path) -> Instance:
    """Read a Vansteenwegen-format file (the c204 header quirk included: see the README)."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    first = next(i for i, t in enumerate(lines) if t[0] == "0" and len(t) >= 9)
    rows = lines[first:]
    unit = 100 if path.stem.startswith("pr") else 10
    xy = np.array([[float(t[1]), float(t[2])] for t in rows])

    def col(k: int) -> np.ndarray:
        return np.array([round(float(t[k]) * unit) for t in rows], dtype=np.int64)

    profit = np.array([round(float(t[4])) for t in rows], dtype=np.int64)
    # the window is the last two tokens of a line (after the skipped list)
    return Instance(path.stem, unit, xy, col(3), profit, col(-2), col(-1))


def check(inst: Instance, routes: list[list[int]], m: int) -> int:
    """Return the score of ``routes`` (customer lists), raising on any broken rule."""
    if len(routes) > m:
        raise ValueError(f"{len(routes)} paths for m = {m}")
    d = inst.distances()
    seen: set[int] = set()
    for r in routes:
        t, here = 0, 0
        for c in r:
            if not 0 < c < inst.n or c in seen:
                raise ValueError(f"customer {c} unknown or served twice")
            seen.add(c)
            t = max(t + int(inst.service[here]) + int(d[here, c]), int(inst.open[c]))
            if t > inst.close[c]:
                raise ValueError(f"customer {c} served at {t} after its window {inst.close[c]}")
            here = c
        if r and t + int(inst.service[here]) + int(d[here, 0]) > inst.tmax:
            raise ValueError(f"path {r} back after tmax {inst.tmax}")
    return int(sum(int(inst.profit[c]) for c in seen))


def gridplan_model(inst: Instance, m: int):
    """Return ``inst`` with ``m`` vehicles as gridplan's PrizeVRP (depot 0, windows, service)."""
    from gridplan.routing.solver import PrizeVRP
    from gridplan.routing.solver import Vehicle

    tw = np.stack([inst.open, inst.close], axis=1)
    tw[0] = (0, inst.tmax)
    return PrizeVRP(
        travel=(inst.distances(),),
        service=inst.service,
        prize=np.where(np.arange(inst.n) == 0, 0, inst.profit),
        vehicles=tuple(Vehicle(f"v{k}", latest_end=inst.tmax) for k in range(m)),
        time_windows=tw,
        name=f"{inst.name} m={m}",
    )


def solve_gridplan(inst: Instance, m: int, time_limit: float, workers: int | None):
    """Solve with gridplan's solver (default settings); return customer lists."""
    from gridplan.routing.solver import solve_prize_vrp

    model = gridplan_model(inst, m)
    sol = solve_prize_vrp(model, time_limit_s=time_limit, workers=workers)
    return [list(r.stops) for r in sol.routes if r.stops]


def solve_pyvrp(inst: Instance, m: int, time_limit: float, workers: int | None):
    """Solve with PyVRP (optional clients with prizes, windows and service); customer lists."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    d = inst.distances()
    prize_scale = m * inst.tmax + 1  # one profit unit outweighs any total distance
    model = pyvrp.Model()
    locs = [model.add_location(x=float(x), y=float(y)) for x, y in inst.xy]
    depot = model.add_depot(locs[0], tw_early=0, tw_late=inst.tmax)
    for i in range(1, inst.n):
        model.add_client(
            locs[i],
            service_duration=int(inst.service[i]),
            tw_early=int(inst.open[i]),
            tw_late=int(inst.close[i]),
            prize=int(inst.profit[i]) * prize_scale,
            required=False,
        )
    model.add_vehicle_type(num_available=m, start_depot=depot, end_depot=depot, tw_late=inst.tmax)
    for i in range(inst.n):
        for j in range(inst.n):
            if i != j:
                model.add_edge(locs[i], locs[j], distance=int(d[i, j]), duration=int(d[i, j]))
    res = model.solve(stop=MaxRuntime(time_limit), seed=0, display=False)
    if not res.best.is_feasible():
        return []
    # clients were added as locations 1..n-1 after the depot: client index k is vertex k + 1
    return [[a.idx + 1 for a in r if a.is_client()] for r in res.best.routes()]


VROOM_EXPLORATION = 5  # VROOM's highest level (and its command line's default)
VROOM_PRIORITY_MAX = 100  # VROOM rejects a job priority above 100


def import_vroom():
    """Return the ``vroom`` module (pyvroom), or exit with how to install it."""
    try:
        import vroom
    except ImportError as exc:
        msg = "--solvers vroom needs pyvroom, an optional extra: pip install pyvroom"
        raise SystemExit(msg) from exc
    return vroom


def solve_vroom(inst: Instance, m: int, time_limit: float, workers: int | None):
    """Solve with VROOM (job priority = profit, 1 thread, ``timeout`` = the time limit)."""
    from datetime import timedelta

    vroom = import_vroom()
    profit = inst.profit[1:]
    if profit.min() < 0 or profit.max() > VROOM_PRIORITY_MAX:
        # scaling would round profits: VROOM's priority sum would no longer be the score
        msg = (
            f"{inst.name}: profits {profit.min()}..{profit.max()} are not VROOM priorities "
            f"(integers 0..{VROOM_PRIORITY_MAX}); leave vroom out of --solvers for this file"
        )
        raise SystemExit(msg)
    d = inst.distances()
    if d.max() >= 2**32:  # pyvroom holds durations as uint32
        msg = f"{inst.name}: duration {d.max()} does not fit VROOM's uint32 matrix"
        raise SystemExit(msg)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=d)
    problem.add_vehicle(
        [
            vroom.Vehicle(k, start=0, end=0, time_window=vroom.TimeWindow(0, inst.tmax))
            for k in range(m)
        ]
    )
    problem.add_job(
        [
            vroom.Job(
                i,
                location=i,
                default_service=int(inst.service[i]),
                priority=int(inst.profit[i]),
                time_windows=[vroom.TimeWindow(int(inst.open[i]), int(inst.close[i]))],
            )
            for i in range(1, inst.n)
        ]
    )
    sol = problem.solve(
        exploration_level=VROOM_EXPLORATION,
        nb_threads=1,
        timeout=timedelta(seconds=time_limit),
    )
    # job ids are the vertices; the steps of each vehicle are listed in route order
    steps = sol.routes
    jobs = steps[steps["type"] == "job"]
    return [[int(i) for i in g["id"]] for _, g in jobs.groupby("vehicle_id", sort=True)]


SOLVERS = {"gridplan": solve_gridplan, "pyvrp": solve_pyvrp, "vroom": solve_vroom}


def read_bks(data: Path) -> dict[tuple[str, int], tuple[int, str]]:
    """``(instance, m) -> (value, kind)`` from ``bks.csv``."""
    out = {}
    with (data / "bks.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            out[(row["instance"], int(row["m"]))] = (int(float(row["bks"])), row["kind"])
    return out


def find(name: str, data: Path) -> Path:
    """The file of an instance name in one of the folders."""
    for folder in FOLDERS:
        path = data / folder / f"{name}.txt"
        if path.exists():
            return path
    msg = f"no TOPTW file {name}.txt in {data} ({', '.join(FOLDERS)})"
    raise SystemExit(msg)


def run(args: argparse.Namespace) -> list[dict]:
    """Solve every pair with every solver, interleaved; return one row per pair and solver."""
    names = args.names or list(SAMPLE)
    ms = [int(x) for x in args.m.split(",")]
    solvers = args.solvers.split(",")
    bks = read_bks(args.data)
    if "gridplan" in solvers:  # numba's compile (once per installation) is no solve's time
        from gridplan.routing.solver.lns.timed import warm_up

        warm_up()
    rows = []
    for k, (name, m) in enumerate((n, m) for n in names for m in ms):
        inst = read_instance(find(name, args.data))
        order = solvers if k % 2 == 0 else solvers[::-1]
        for solver in order:
            t0 = time.perf_counter()
            routes = SOLVERS[solver](inst, m, args.time_limit, args.workers)
            seconds = time.perf_counter() - t0
            score = check(inst, routes, m)
            best, kind = bks.get((name, m), (None, ""))
            rows.append(
                {
                    "instance": name, "m": m, "solver": solver, "score": score,
                    "bks": best, "bks_kind": kind, "seconds": round(seconds, 2),
                    "gap_pct": None if not best else round(100 * (best - score) / best, 3),
                }
            )  # fmt: skip
            if not args.json:
                print(f"{name:6s} m={m} {solver:9s} {score:5d}  bks {best} ({kind})"
                      f"  {seconds:5.1f} s", flush=True)  # fmt: skip
    return rows


def summarise(rows: list[dict], solvers: list[str]) -> dict:
    """Totals per solver, the ratios between them, optima reached and pairs behind."""
    out: dict = {"load": os.getloadavg()}
    for s in solvers:
        mine = [r for r in rows if r["solver"] == s]
        optima = [r for r in mine if r["bks_kind"] == "optimal"]
        out[s] = {
            "total_score": sum(r["score"] for r in mine),
            "optima_reached": sum(r["score"] >= r["bks"] for r in optima),
            "optima": len(optima),
        }
    if {"gridplan", "pyvrp"} <= set(solvers) and out["pyvrp"]["total_score"]:
        out["gridplan_over_pyvrp"] = round(
            out["gridplan"]["total_score"] / out["pyvrp"]["total_score"], 4
        )
        by = {(r["instance"], r["m"], r["solver"]): r["score"] for r in rows}
        pairs = {(r["instance"], r["m"]) for r in rows}
        out["pairs"] = len(pairs)
        out["gridplan_behind"] = sum(by[(i, m, "gridplan")] < by[(i, m, "pyvrp")] for i, m in pairs)
        pr = [p for p in pairs if p[0].startswith("pr")]
        if pr:
            out["pr_ratio"] = round(
                sum(by[(i, m, "gridplan")] for i, m in pr)
                / max(1, sum(by[(i, m, "pyvrp")] for i, m in pr)),
                4,
            )
    if "vroom" in solvers and "pyvrp" in solvers and out["pyvrp"]["total_score"]:
        out["vroom_over_pyvrp"] = round(
            out["vroom"]["total_score"] / out["pyvrp"]["total_score"], 4
        )
    if "vroom" in solvers and "gridplan" in solvers and out["vroom"]["total_score"]:
        out["gridplan_over_vroom"] = round(
            out["gridplan"]["total_score"] / out["vroom"]["total_score"], 4
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="instance names, e.g. c101 pr05 (default: SAMPLE)")
    ap.add_argument("--m", default="1,2,3,4", help="vehicle counts (default 1,2,3,4)")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--solvers", default="gridplan,pyvrp", help="any of gridplan,pyvrp,vroom")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    solvers = args.solvers.split(",")
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        ap.error(f"unknown solver {', '.join(unknown)}: choose from {', '.join(SOLVERS)}")
    if "vroom" in solvers:
        import_vroom()  # before any solve, not after the first pair
    rows = run(args)
    summary = summarise(rows, solvers)
    if args.json:
        json.dump({"rows": rows, "summary": summary}, sys.stdout, indent=1)
        print()
    else:
        print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Instance", "check", "main", "read_instance"]
