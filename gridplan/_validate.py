"""Checks on the tables that pass between pipeline stages (kept light: no numba, no folium)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from gridplan._errors import InputError


def check_hotspot_columns(hotspots: pd.DataFrame, required: Iterable[str]) -> None:
    """Raise :class:`~gridplan.InputError` naming the hot-spot columns that are missing."""
    missing = set(required) - set(hotspots.columns)
    if missing:
        msg = (
            f"hot-spot table lacks columns {', '.join(sorted(missing))}; pass the result of "
            "gridplan.compute_hotspots or a GeoJSON written by 'gridplan hotspots'"
        )
        raise InputError(msg)
