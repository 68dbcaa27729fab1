"""gridplan: community-policing grid management, hot-spot analysis and patrol planning."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from gridplan._errors import ConfigError
from gridplan._errors import CRSError
from gridplan._errors import GridplanError
from gridplan._errors import GridplanWarning
from gridplan._errors import InfeasiblePlanError
from gridplan._errors import InputError
from gridplan._errors import ValidationError
from gridplan.config import StationConfig
from gridplan.config import TimeSlice
from gridplan.config import default_config
from gridplan.config import load_config

try:
    __version__ = _version("gridplan")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CRSError",
    "ConfigError",
    "GridplanError",
    "GridplanWarning",
    "InfeasiblePlanError",
    "InputError",
    "StationConfig",
    "TimeSlice",
    "ValidationError",
    "__version__",
    "default_config",
    "load_config",
]
