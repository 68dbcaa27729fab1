"""The prize-collecting VRP solver: the problem, its settings and the search.

The patrol planner turns a slice into a :class:`PrizeVRP` and calls :func:`solve_prize_vrp`
with a :class:`SolveParams`; nothing outside this package drives OR-Tools or the search moves.

- :mod:`~gridplan.routing.solver.model`: :class:`PrizeVRP` and its solution types.
- :mod:`~gridplan.routing.solver.params`: :class:`SolveParams` (limits, seed, workers and the
  search settings, loadable from TOML).
- :mod:`~gridplan.routing.solver.solve`: :func:`solve_prize_vrp`, :func:`variants` and the
  process pool.
- :mod:`~gridplan.routing.solver.worker`: one search process (OR-Tools' iterated local search,
  then a large-neighbourhood search).
- :mod:`~gridplan.routing.solver.lns`: the search moves in NumPy (budgets, operators, the
  searches and the route pool).
- :mod:`~gridplan.routing.solver._ortools`: the only module that imports OR-Tools.
- :mod:`~gridplan.routing.solver.top`: Team Orienteering benchmark instances.

The model and the settings import no solver; the search functions load OR-Tools on first use.
"""

from __future__ import annotations

import importlib

from gridplan.routing.solver.model import CoverGroup
from gridplan.routing.solver.model import PrizeVRP
from gridplan.routing.solver.model import PrizeVRPSolution
from gridplan.routing.solver.model import RevisitGroup
from gridplan.routing.solver.model import Route
from gridplan.routing.solver.model import Vehicle
from gridplan.routing.solver.model import Visit
from gridplan.routing.solver.params import LnsParams
from gridplan.routing.solver.params import OrtoolsParams
from gridplan.routing.solver.params import SolveParams

#: names of :mod:`gridplan.routing.solver.solve`, imported on first use (it loads OR-Tools)
_SEARCH = "VariantSet default_workers run_calls similarity solve_prize_vrp variants".split()


def __getattr__(name: str):
    if name not in _SEARCH:
        msg = f"module 'gridplan.routing.solver' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module("gridplan.routing.solver.solve"), name)


__all__ = [
    "CoverGroup",
    "LnsParams",
    "OrtoolsParams",
    "PrizeVRP",
    "PrizeVRPSolution",
    "RevisitGroup",
    "Route",
    "SolveParams",
    "Vehicle",
    "Visit",
    *_SEARCH,
]
