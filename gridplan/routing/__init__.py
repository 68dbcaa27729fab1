"""Patrol routing (issue 3): street network, OR-Tools model, plans."""
