"""Library-wide defaults.

Each value can be overridden per call (keyword arguments). The defaults of a station (time
slices, weights, recency half-life, Gi* permutations, grid tolerances, timezone) are not here:
they live in ``gridplan/data/default_station.toml``, which a station's TOML file overrides (see
:mod:`gridplan.station.config`). Nothing here is read from disk at import time.
"""

from __future__ import annotations

#: CRS of exported and stored geometry: WGS84 longitude/latitude (RFC 7946 requires it).
OUTPUT_CRS = "EPSG:4326"

#: Edge length of generated micro-grid cells in metres. 200 m is the street-segment-to-block
#: scale used in hot-spot policing experiments (Braga et al. 2019; Sherman & Weisburd 1995).
CELL_SIZE_M = 200.0
