"""Packaged data files (the default station configuration)."""
