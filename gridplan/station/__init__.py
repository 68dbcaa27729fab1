"""The station: its configuration, its roster of patrollers and its daily time slices."""
