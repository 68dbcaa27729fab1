"""Library-wide defaults.

Each value can be overridden per call (keyword arguments) or per station (the station TOML
config, see :mod:`gridplan.station.config`). Nothing here is read from disk at import time.
"""

from __future__ import annotations

#: CRS of exported and stored geometry: WGS84 longitude/latitude (RFC 7946 requires it).
OUTPUT_CRS = "EPSG:4326"

#: Edge length of generated micro-grid cells in metres. 200 m is the street-segment-to-block
#: scale used in hot-spot policing experiments (Braga et al. 2019; Sherman & Weisburd 1995).
CELL_SIZE_M = 200.0

#: The "1+5+N" rule: number of base grids (基础网格) per station jurisdiction.
BASE_GRID_COUNT = 5

#: Share of a micro-grid's area that may lie outside its base grid (or of a base grid outside
#: the station) before validation reports it; also the share of a parent's area that may be
#: left uncovered by its children. Digitised boundaries rarely match to the centimetre.
AREA_TOLERANCE = 0.01

#: Slivers (overlaps or gaps) smaller than this many square metres are treated as
#: digitising noise: ``--fix`` snaps them away, validation reports them as warnings.
SLIVER_AREA_M2 = 50.0

#: Timezone of a Chinese community police station.
TIMEZONE = "Asia/Shanghai"

#: Half-life of the exponential recency decay of incident weights, in days.
RECENCY_HALF_LIFE_DAYS = 365.0

#: Permutations for the Getis-Ord Gi* pseudo p-values.
GI_PERMUTATIONS = 999
