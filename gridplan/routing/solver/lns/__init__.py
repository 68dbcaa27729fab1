"""The large-neighbourhood search in NumPy: budgets, operators, searches and the route pool.

- :mod:`~gridplan.routing.solver.lns.budgets`: the duration-budget view of a model.
- :mod:`~gridplan.routing.solver.lns.operators`: ruin, recreate, 2-opt, 2-opt*, insertion,
  swaps and the repair that combines them.
- :mod:`~gridplan.routing.solver.lns.search`: :func:`~.search.budget_search` (all in Python)
  and :func:`~.search.large_neighbourhood_search` (repaired by OR-Tools' descent).
- :mod:`~gridplan.routing.solver.lns.pool`: routes met by the search, recombined by set
  packing.

Only the pool's packing and the OR-Tools LNS's descent go through
:mod:`~gridplan.routing.solver._ortools`; the moves themselves never import OR-Tools.
"""
