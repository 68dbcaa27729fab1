"""Prove Team Orienteering optima in real distances, for instances whose paths are few.

Usage::

    python benchmarks/top_exact.py FILES... [--max-states N] [--time-limit S] [--csv OUT]

For each Chao file it lists every set of customers that one path can visit within ``tmax``
(a depth-first search over partial paths, keeping for each pair of visited set and last node
only the shortest; a customer is only added when the path can still reach the end after it,
in real Euclidean distances with the same 1e-9 tolerance as ``top.py``'s checker). Then CP-SAT
chooses at most ``m`` of those sets, no customer twice, of the highest total score: a set
packing over *all* feasible paths, so its optimum is the instance's optimum. Instances with
more than ``--max-states`` partial paths are reported as too large (most of sets 4 and 7,
where a path can reach most of the map).

It exists because two rows of the best-known table (``bks.csv``) cannot be reached in real
distances: p5.3.e (table 110, optimum 95) and p6.4.k (table 546, optimum 528; with distances
rounded to one decimal 564 is reachable, so the table's value was probably found on rounded
distances). ``top.py`` measures gaps against ``top_optima.csv``, written by this script with
``--csv``, where it proves a lower optimum than the table.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from ortools.sat.python import cp_model

from gridplan.routing.solver.top import TopInstance
from gridplan.routing.solver.top import read_top

TOLERANCE = 1e-9


class TooLarge(Exception):
    """More partial paths than the search may store."""


def feasible_sets(inst: TopInstance, max_states: int) -> list[int]:
    """Every customer set (as a bit mask) that some path within ``tmax`` visits exactly."""
    d = inst.distances()
    end = inst.n - 1
    limit = inst.tmax + TOLERANCE
    reach = [j for j in range(1, end) if d[0, j] + d[j, end] <= limit]
    to_end = d[:, end]
    shortest: dict[tuple[int, int], float] = {}
    found: set[int] = set()
    stack = [(0, 0, 0.0)]
    while stack:
        node, mask, length = stack.pop()
        key = (mask, node)
        known = shortest.get(key)
        if known is not None and known <= length + 1e-12:
            continue
        shortest[key] = length
        if len(shortest) > max_states:
            raise TooLarge(len(shortest))
        if mask and length + to_end[node] <= limit:
            found.add(mask)
        row = d[node]
        for j in reach:
            if not (mask >> j) & 1 and length + row[j] + to_end[j] <= limit:
                stack.append((j, mask | (1 << j), length + row[j]))
    return sorted(found)


def best_packing(
    inst: TopInstance, sets: list[int], time_limit: float
) -> tuple[int, int, list[list[int]]]:
    """Optimum, CP-SAT bound and chosen customer sets of at most ``m`` disjoint paths."""
    cp = cp_model.CpModel()
    chosen = []
    by_node: dict[int, list] = {}
    for mask in sets:
        nodes = [i for i in range(1, inst.n - 1) if (mask >> i) & 1]
        score = int(inst.score[nodes].sum())
        if score <= 0:
            continue
        x = cp.NewBoolVar("")
        chosen.append((x, score, nodes))
        for i in nodes:
            by_node.setdefault(i, []).append(x)
    if not chosen:
        return 0, 0, []
    for xs in by_node.values():
        cp.AddAtMostOne(xs)
    cp.Add(sum(x for x, _, _ in chosen) <= inst.num_vehicles)
    cp.Maximize(sum(score * x for x, score, _ in chosen))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    status = solver.Solve(cp)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return 0, int(solver.BestObjectiveBound()), []
    paths = [nodes for x, _, nodes in chosen if solver.Value(x)]
    return int(solver.ObjectiveValue()), int(solver.BestObjectiveBound()), paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--max-states", type=int, default=2_000_000)
    ap.add_argument("--time-limit", type=float, default=600.0, help="per set packing")
    ap.add_argument("--csv", type=Path, default=None, help="write proven optima here")
    ap.add_argument("--bks", type=Path, default=None, help="extra instance,bks CSV")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from top import read_bks

    bks = read_bks(args.files, args.bks)
    print(f"{'instance':<10} {'bks':>6} {'optimum':>8} {'paths':>9} {'sec':>6}  note", flush=True)
    proven = []
    for path in args.files:
        inst = read_top(path)
        t0 = time.perf_counter()
        table = bks.get(inst.name)
        try:
            sets = feasible_sets(inst, args.max_states)
        except TooLarge:
            print(f"{inst.name:<10} {table!s:>6} {'-':>8} {'-':>9} {0:6.1f}  too many paths")
            continue
        value, bound, _ = best_packing(inst, sets, args.time_limit)
        secs = time.perf_counter() - t0
        if value != bound:
            note = f"not proven: bound {bound}"
        elif table is None:
            note = "no table value"
        elif value < table:
            note = f"table value {table} unreachable"
            proven.append((inst.name, value, table))
        elif value > table:
            note = f"above the table's {table}"
        else:
            note = "table value is optimal"
        print(f"{inst.name:<10} {table!s:>6} {value:>8} {len(sets):>9} {secs:6.1f}  {note}")
        sys.stdout.flush()
    if args.csv is not None:
        # Rows of instances not solved in this run are kept.
        rows = {}
        if args.csv.exists():
            with args.csv.open(newline="") as fh:
                rows = {r["instance"]: r for r in csv.DictReader(fh)}
        for name, value, table in proven:
            rows[name] = {"instance": name, "optimum": value, "table_bks": table}
        with args.csv.open("w", newline="") as fh:
            out = csv.DictWriter(fh, ["instance", "optimum", "table_bks"], lineterminator="\n")
            out.writeheader()
            out.writerows(rows[k] for k in sorted(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
