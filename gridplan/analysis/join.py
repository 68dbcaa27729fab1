"""The join of incidents to micro-grids, public for the stages after analysis.

The forecast stage (:mod:`gridplan.forecast`) counts incidents per micro-grid, slice and day
with the same join as the hot spots and the back-test, so every stage puts an incident in the
same micro-grid: :func:`micro_cells` (the micro-grids of a GRID frame, in grid order),
:func:`locate_points` (a point on a shared edge goes to the first micro-grid),
:func:`incident_weights` (severity: category x alert weight) and :func:`check_incidents`.
"""

from __future__ import annotations

from gridplan.analysis._aggregate import check_incidents
from gridplan.analysis._aggregate import incident_weights
from gridplan.analysis._aggregate import locate_points
from gridplan.analysis._aggregate import micro_cells

__all__ = ["check_incidents", "incident_weights", "locate_points", "micro_cells"]
