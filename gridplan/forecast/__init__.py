"""Forecasting stage: per-micro-grid, per-slice risk forecasts, back-tested on rolling origins.

:mod:`~gridplan.forecast.history` counts a station's incidents per day, slice and micro-grid
once; :mod:`~gridplan.forecast.methods` holds the forecast methods (prior counts, recent
counts, recency-weighted counts, slice shrinkage, kernel density, near repeats, blends);
:mod:`~gridplan.forecast.rolling` back-tests them on many origins and chooses per slice.
"""
