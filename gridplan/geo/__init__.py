"""Geospatial stages: reading, CRS handling, the 1+5+N grid and incidents."""
