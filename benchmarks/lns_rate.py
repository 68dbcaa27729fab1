"""Rounds per second of the large-neighbourhood searches, on the same models, one core.

Usage::

    python benchmarks/lns_rate.py [--seconds S] [--json]

Each search runs ``--seconds`` (default 5) from empty routes on one process and prints the
rounds it made and the best prize it reached:

- ``budget`` (NumPy, :func:`~gridplan.routing.solver.lns.search.budget_search`) and ``timed``
  (numba, :func:`~gridplan.routing.solver.lns.timed.timed_search`) on Team Orienteering files
  (duration budgets only: both searches apply);
- ``ortools-lns`` (each round repaired by an OR-Tools descent,
  :func:`~gridplan.routing.solver.lns.search.large_neighbourhood_search`: the path time-window
  models took before issue 18) and ``timed`` on TOPTW files (windows).

The compiled search is compiled before the clock starts (numba's cache). Machines are shared:
compare the ratios within one run, and the load printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "benchmarks"
TOP_FILES = ("Set_100_234/p4.2.k.txt", "Set_102_234/p7.3.o.txt")
TOPTW_NAMES = ("r101", "pr05")


def top_model(name: str):
    """A Team Orienteering file as a PrizeVRP (duration budgets only)."""
    from gridplan.routing.solver.top import read_top

    return read_top(SHARED / "top_chao" / name).to_model()


def toptw_model(name: str, m: int = 2):
    """A TOPTW file as a PrizeVRP (node windows), as ``toptw.py`` builds it."""
    sys.path.insert(0, str(HERE))
    import toptw

    from gridplan.routing.solver import PrizeVRP
    from gridplan.routing.solver import Vehicle

    inst = toptw.read_instance(toptw.find(name, toptw.DEFAULT_DATA))
    tw = np.stack([inst.open, inst.close], axis=1)
    tw[0] = (0, inst.tmax)
    return PrizeVRP(
        travel=(inst.distances(),),
        service=inst.service,
        prize=np.where(np.arange(inst.n) == 0, 0, inst.profit),
        vehicles=tuple(Vehicle(f"v{k}", latest_end=inst.tmax) for k in range(m)),
        time_windows=tw,
        name=f"{name} m={m}",
    )


def empty(model) -> list[list[int]]:
    return [[v.start, v.end] for v in model.vehicles]


def prize(model, routes) -> int:
    return int(sum(int(model.prize[u]) for r in routes for u in r[1:-1]))


def run_budget(model, seconds: float) -> tuple[int, int]:
    from gridplan.routing.solver.lns.search import budget_search
    from gridplan.routing.solver.params import LnsParams

    counted = []
    params = LnsParams(pool=0)  # rounds only: no CP-SAT packing in the count
    # the search does not report its rounds: run it in calls of a known number of them
    rng = np.random.default_rng(0)
    routes, rounds, t0 = empty(model), 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        routes = budget_search(model, routes, params, rng=rng, time_limit_s=60, iteration_limit=20)
        rounds += 20
        counted.append(prize(model, routes))
    return rounds, max(counted)


def run_timed(model, seconds: float) -> tuple[int, int]:
    from gridplan.routing.solver.lns.timed import timed_search
    from gridplan.routing.solver.params import LnsParams

    routes, _, rounds = timed_search(model, None, LnsParams(), seed=0, time_limit_s=seconds)
    return rounds, prize(model, routes)


def run_ortools_lns(model, seconds: float) -> tuple[int, int]:
    from gridplan.routing.solver import _ortools
    from gridplan.routing.solver.params import LnsParams
    from gridplan.routing.solver.params import OrtoolsParams

    ortools = OrtoolsParams(iterated_local_search=False, lean_operators=True)
    built = _ortools.build(model, ortools)
    rounds = [0]
    lns = LnsParams()
    t0 = time.perf_counter()
    best = empty(model)
    while time.perf_counter() - t0 < seconds:
        found = _lns_rounds(built, ortools, lns, best, rounds)
        if found is not None:
            best = found
    return rounds[0], prize(model, best)


def _lns_rounds(built, ortools, lns, routes, rounds):
    from gridplan.routing.solver.lns.search import large_neighbourhood_search

    out = large_neighbourhood_search(
        built, ortools, lns, routes, rng=np.random.default_rng(rounds[0]), time_limit_s=60,
        iteration_limit=10,
    )  # fmt: skip
    rounds[0] += 10
    return None if out is None else out[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from gridplan.routing.solver.lns.timed import warm_up

    warm_up()
    rows = []
    cases = [(f, top_model(f), ("budget", "timed")) for f in TOP_FILES]
    cases += [(n, toptw_model(n), ("ortools-lns", "timed")) for n in TOPTW_NAMES]
    runners = {"budget": run_budget, "timed": run_timed, "ortools-lns": run_ortools_lns}
    for name, model, searches in cases:
        for search in searches:
            rounds, best = runners[search](model, args.seconds)
            rate = rounds / args.seconds
            rows.append({"model": name, "search": search, "rounds_per_s": round(rate, 1),
                         "prize": best})  # fmt: skip
            if not args.json:
                print(f"{name:28s} {search:12s} {rate:8.1f} rounds/s  prize {best}", flush=True)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"rows": rows, "load": load}, indent=1))
    else:
        print(f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
