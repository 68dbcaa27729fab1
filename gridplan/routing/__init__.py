"""Patrol routing: the routing problem, the planner, plans and their check, the solver."""
