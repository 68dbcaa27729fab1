"""gridplan: community-policing grid management, hot-spot analysis and patrol planning.

The public API is importable from the top level (``from gridplan import compute_hotspots``).
Names are resolved on first use (PEP 562) so that ``import gridplan`` and the command line
start quickly without loading the geospatial stack.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version
from typing import TYPE_CHECKING

from gridplan._errors import ConfigError as ConfigError
from gridplan._errors import CRSError as CRSError
from gridplan._errors import GridplanError as GridplanError
from gridplan._errors import GridplanWarning as GridplanWarning
from gridplan._errors import InfeasiblePlanError as InfeasiblePlanError
from gridplan._errors import InputError as InputError
from gridplan._errors import PlanRequestError as PlanRequestError
from gridplan._errors import ValidationError as ValidationError

try:
    __version__ = _version("gridplan")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

#: public name -> module that defines it
_LAZY = {
    "StationConfig": "gridplan.station.config",
    "TimeSlice": "gridplan.station.timeslices",
    "default_config": "gridplan.station.config",
    "load_config": "gridplan.station.config",
    "load_grid": "gridplan.geo.grid",
    "write_grid": "gridplan.io.results",
    "GridIssue": "gridplan.geo.validate",
    "Repair": "gridplan.geo.validate",
    "ValidationReport": "gridplan.geo.validate",
    "fix_grid": "gridplan.geo.validate",
    "validate_grid": "gridplan.geo.validate",
    "balance_table": "gridplan.geo.generate",
    "generate_grid": "gridplan.geo.generate",
    "ImportResult": "gridplan.geo.incidents",
    "import_incidents": "gridplan.geo.incidents",
    "write_incidents": "gridplan.io.results",
    "write_rejects": "gridplan.io.results",
    "Period": "gridplan.station.timeslices",
    "assign_slices": "gridplan.station.timeslices",
    "parse_period": "gridplan.station.timeslices",
    "shift_date": "gridplan.station.timeslices",
    "compute_hotspots": "gridplan.analysis.hotspots",
    "hotspot_summary": "gridplan.analysis.hotspots",
    "BacktestResult": "gridplan.analysis.backtesting",
    "backtest": "gridplan.analysis.backtesting",
    "write_csv": "gridplan.io.export",
    "write_geodata": "gridplan.io.export",
    "hotspot_map": "gridplan.maps.hotspot_map",
    "save_map": "gridplan.maps.hotspot_map",
    "Patroller": "gridplan.station.roster",
    "PatrolPolicy": "gridplan.station.roster",
    "resolve_home_bases": "gridplan.station.roster",
    "PrizeVRP": "gridplan.routing.solver.model",
    "PrizeVRPSolution": "gridplan.routing.solver.model",
    "Vehicle": "gridplan.routing.solver.model",
    "RevisitGroup": "gridplan.routing.solver.model",
    "CoverGroup": "gridplan.routing.solver.model",
    "Route": "gridplan.routing.solver.model",
    "Visit": "gridplan.routing.solver.model",
    "read_top": "gridplan.routing.solver.top",
    "TopInstance": "gridplan.routing.solver.top",
    "solve_prize_vrp": "gridplan.routing.solver.solve",
    "variants": "gridplan.routing.solver.solve",
    "VariantSet": "gridplan.routing.solver.solve",
    "similarity": "gridplan.routing.solver.solve",
    "SolveParams": "gridplan.routing.solver.params",
    "PatrolProblem": "gridplan.routing.problem",
    "build_problem": "gridplan.routing.problem",
    "PatrolPlan": "gridplan.routing.plan",
    "SlicePlan": "gridplan.routing.plan",
    "PatrolRoute": "gridplan.routing.plan",
    "PlannedStop": "gridplan.routing.plan",
    "SliceMetrics": "gridplan.routing.plan",
    "plan_patrols": "gridplan.routing.planner",
    "plan_variants": "gridplan.routing.planner",
    "PlanSettings": "gridplan.routing.planner",
    "PlanRequest": "gridplan.routing.request",
    "Target": "gridplan.routing.targets",
    "read_targets": "gridplan.routing.targets",
    "Alert": "gridplan.routing.alerts",
    "ActualPresence": "gridplan.routing.feedback",
    "actual_presence": "gridplan.routing.feedback",
    "read_presence_table": "gridplan.io.presence_files",
    "evaluate_patrols": "gridplan.analysis.evaluation",
    "PatrolEvaluation": "gridplan.analysis.evaluation",
    "Duty": "gridplan.routing.plan",
    "save_plan": "gridplan.io.planfile",
    "load_plan": "gridplan.io.planfile",
    "check_plan": "gridplan.routing.check",
    "CheckReport": "gridplan.routing.check",
    "export_plan": "gridplan.io.plan_export",
    "stop_table": "gridplan.io.plan_export",
    "read_hotspots": "gridplan.io.results",
    "write_hotspots": "gridplan.io.results",
    "StreetNetwork": "gridplan.network.graphs",
    "build_network": "gridplan.network.graphs",
    "load_network": "gridplan.network.graphs",
    "save_network": "gridplan.network.graphs",
    "access_points": "gridplan.network.stops",
    "snap_points": "gridplan.network.stops",
    "TravelMatrix": "gridplan.network.matrix",
    "travel_matrix": "gridplan.network.matrix",
    "route_geometry": "gridplan.network.matrix",
    "route_nodes": "gridplan.network.matrix",
    "import_track": "gridplan.tracks.fixes",
    "TrackImport": "gridplan.tracks.fixes",
    "clean_fixes": "gridplan.tracks.clean",
    "TrackParams": "gridplan.tracks.params",
    "CheckIn": "gridplan.tracks.presence",
    "compute_presence": "gridplan.tracks.presence",
    "TrackPresence": "gridplan.tracks.presence",
    "compute_compliance": "gridplan.tracks.compliance",
    "Compliance": "gridplan.tracks.compliance",
    "write_fixes": "gridplan.io.track_files",
    "write_track_rejects": "gridplan.io.track_files",
    "write_compliance": "gridplan.io.track_files",
    "read_check_ins": "gridplan.io.track_files",
    "presence_table": "gridplan.tracks.presence",
}

__all__ = sorted(
    [
        "CRSError",
        "ConfigError",
        "GridplanError",
        "GridplanWarning",
        "InfeasiblePlanError",
        "InputError",
        "PlanRequestError",
        "ValidationError",
        "__version__",
        *_LAZY,
    ]
)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'gridplan' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static type checkers and IDEs see the real names
    from gridplan.analysis.backtesting import BacktestResult as BacktestResult
    from gridplan.analysis.backtesting import backtest as backtest
    from gridplan.analysis.evaluation import PatrolEvaluation as PatrolEvaluation
    from gridplan.analysis.evaluation import evaluate_patrols as evaluate_patrols
    from gridplan.analysis.hotspots import compute_hotspots as compute_hotspots
    from gridplan.analysis.hotspots import hotspot_summary as hotspot_summary
    from gridplan.geo.generate import balance_table as balance_table
    from gridplan.geo.generate import generate_grid as generate_grid
    from gridplan.geo.grid import load_grid as load_grid
    from gridplan.geo.incidents import ImportResult as ImportResult
    from gridplan.geo.incidents import import_incidents as import_incidents
    from gridplan.geo.validate import GridIssue as GridIssue
    from gridplan.geo.validate import Repair as Repair
    from gridplan.geo.validate import ValidationReport as ValidationReport
    from gridplan.geo.validate import fix_grid as fix_grid
    from gridplan.geo.validate import validate_grid as validate_grid
    from gridplan.io.export import write_csv as write_csv
    from gridplan.io.export import write_geodata as write_geodata
    from gridplan.io.plan_export import export_plan as export_plan
    from gridplan.io.plan_export import stop_table as stop_table
    from gridplan.io.planfile import load_plan as load_plan
    from gridplan.io.planfile import save_plan as save_plan
    from gridplan.io.presence_files import read_presence_table as read_presence_table
    from gridplan.io.results import read_hotspots as read_hotspots
    from gridplan.io.results import write_grid as write_grid
    from gridplan.io.results import write_hotspots as write_hotspots
    from gridplan.io.results import write_incidents as write_incidents
    from gridplan.io.results import write_rejects as write_rejects
    from gridplan.io.track_files import write_compliance as write_compliance
    from gridplan.io.track_files import write_fixes as write_fixes
    from gridplan.io.track_files import write_track_rejects as write_track_rejects
    from gridplan.maps.hotspot_map import hotspot_map as hotspot_map
    from gridplan.maps.hotspot_map import save_map as save_map
    from gridplan.network.graphs import StreetNetwork as StreetNetwork
    from gridplan.network.graphs import build_network as build_network
    from gridplan.network.graphs import load_network as load_network
    from gridplan.network.graphs import save_network as save_network
    from gridplan.network.matrix import TravelMatrix as TravelMatrix
    from gridplan.network.matrix import route_geometry as route_geometry
    from gridplan.network.matrix import route_nodes as route_nodes
    from gridplan.network.matrix import travel_matrix as travel_matrix
    from gridplan.network.stops import access_points as access_points
    from gridplan.network.stops import snap_points as snap_points
    from gridplan.routing.alerts import Alert as Alert
    from gridplan.routing.check import CheckReport as CheckReport
    from gridplan.routing.check import check_plan as check_plan
    from gridplan.routing.feedback import ActualPresence as ActualPresence
    from gridplan.routing.feedback import actual_presence as actual_presence
    from gridplan.routing.plan import Duty as Duty
    from gridplan.routing.plan import PatrolPlan as PatrolPlan
    from gridplan.routing.plan import PatrolRoute as PatrolRoute
    from gridplan.routing.plan import PlannedStop as PlannedStop
    from gridplan.routing.plan import SliceMetrics as SliceMetrics
    from gridplan.routing.plan import SlicePlan as SlicePlan
    from gridplan.routing.planner import PlanSettings as PlanSettings
    from gridplan.routing.planner import plan_patrols as plan_patrols
    from gridplan.routing.planner import plan_variants as plan_variants
    from gridplan.routing.problem import PatrolProblem as PatrolProblem
    from gridplan.routing.problem import build_problem as build_problem
    from gridplan.routing.request import PlanRequest as PlanRequest
    from gridplan.routing.solver.model import CoverGroup as CoverGroup
    from gridplan.routing.solver.model import PrizeVRP as PrizeVRP
    from gridplan.routing.solver.model import PrizeVRPSolution as PrizeVRPSolution
    from gridplan.routing.solver.model import RevisitGroup as RevisitGroup
    from gridplan.routing.solver.model import Route as Route
    from gridplan.routing.solver.model import Vehicle as Vehicle
    from gridplan.routing.solver.model import Visit as Visit
    from gridplan.routing.solver.params import SolveParams as SolveParams
    from gridplan.routing.solver.solve import VariantSet as VariantSet
    from gridplan.routing.solver.solve import similarity as similarity
    from gridplan.routing.solver.solve import solve_prize_vrp as solve_prize_vrp
    from gridplan.routing.solver.solve import variants as variants
    from gridplan.routing.solver.top import TopInstance as TopInstance
    from gridplan.routing.solver.top import read_top as read_top
    from gridplan.routing.targets import Target as Target
    from gridplan.routing.targets import read_targets as read_targets
    from gridplan.station.config import StationConfig as StationConfig
    from gridplan.station.config import default_config as default_config
    from gridplan.station.config import load_config as load_config
    from gridplan.station.roster import Patroller as Patroller
    from gridplan.station.roster import PatrolPolicy as PatrolPolicy
    from gridplan.station.roster import resolve_home_bases as resolve_home_bases
    from gridplan.station.timeslices import Period as Period
    from gridplan.station.timeslices import TimeSlice as TimeSlice
    from gridplan.station.timeslices import assign_slices as assign_slices
    from gridplan.station.timeslices import parse_period as parse_period
    from gridplan.station.timeslices import shift_date as shift_date
    from gridplan.tracks.clean import clean_fixes as clean_fixes
    from gridplan.tracks.compliance import Compliance as Compliance
    from gridplan.tracks.compliance import compute_compliance as compute_compliance
    from gridplan.tracks.fixes import TrackImport as TrackImport
    from gridplan.tracks.fixes import import_track as import_track
    from gridplan.tracks.params import TrackParams as TrackParams
    from gridplan.tracks.presence import CheckIn as CheckIn
    from gridplan.tracks.presence import TrackPresence as TrackPresence
    from gridplan.tracks.presence import compute_presence as compute_presence
