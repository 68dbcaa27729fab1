"""Station configuration: one TOML file per community police station.

The packaged ``default_station.toml`` documents every key and its default; a station's own
file only lists what it changes. :func:`load_config` merges the two and validates the result
into a frozen :class:`StationConfig`. Nothing is read at import time.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gridplan._errors import ConfigError
from gridplan.station import _toml
from gridplan.station._toml import describe
from gridplan.station._toml import typed
from gridplan.station.roster import DEFAULT_ROSTER
from gridplan.station.roster import Patroller
from gridplan.station.roster import PatrolPolicy
from gridplan.station.roster import parse_policy
from gridplan.station.roster import parse_roster
from gridplan.station.timeslices import TimeSlice
from gridplan.station.timeslices import parse_hhmm

COORDINATE_SYSTEMS = ("wgs84", "gcj02", "bd09")
GI_INFERENCE = ("normal", "permutation")
#: ``hotspots.classes``: how micro-grids are classed hot or cold (see
#: :func:`gridplan.analysis.hotspots.compute_hotspots`)
HOTSPOT_CLASS_SETTINGS = ("auto", "gistar", "excess")
ALERT_COLOURS = ("red", "yellow", "blue")
#: ``[forecast] method``: ``auto`` (chosen per slice by the rolling back-test), one of the
#: baselines (``prior``, ``last 365d``, ``recency``), or ``hotspot`` (the hot-spot score:
#: severity x recency decay, the prize before forecasts were back-tested)
FORECAST_METHODS = ("auto", "prior", "last 365d", "recency", "hotspot")
#: ``[forecast] horizon``: what the back-test scores after each origin
FORECAST_HORIZONS = ("7d", "28d", "365d")
#: the longest ``[tracks] retention_days`` (about ten years)
MAX_RETENTION_DAYS = 3660


@dataclasses.dataclass(frozen=True)
class StationConfig:
    """Validated settings of one community police station (see ``default_station.toml``).

    Build it with :func:`load_config` (a station TOML file merged over the defaults) or
    :func:`default_config`; every field is checked on construction.

    Attributes
    ----------
    station_id, station_name, phone, timezone, location
        The ``[station]`` table: id (the prefix of grid codes), name, phone, IANA timezone and
        the station's ``(lon, lat)`` (``None`` if not set).
    input_crs, coordinates, metric_crs
        The ``[crs]`` table: CRS of input files, their datum (``wgs84``, ``gcj02``,
        ``bd09``) and the projected CRS for metres (``None``: a UTM zone is chosen).
    base_grid_count, cell_size_m, area_tolerance, sliver_area_m2
        The ``[grid]`` table: base grids per station, micro-grid size, allowed area mismatch
        (share) and the smallest gap or overlap reported.
    time_slices, split_weekend
        The ``[time]`` table: the patrol time slices and whether each is split into weekday
        and weekend slices (see :attr:`slices`).
    half_life_days, default_weight, category_weights, alert_weights
        The ``[scoring]`` table: recency half-life and incident severity weights.
    gi_permutations, gi_inference, fdr, seed, hot_classes, small_station_cells
        The ``[hotspots]`` table: Getis-Ord Gi* settings, and how micro-grids are classed
        (``classes``: ``auto`` takes the excess test on stations with fewer than
        ``small_station_cells`` micro-grids, Gi* on the others).
    roster
        The ``[[roster]]`` entries as :class:`~gridplan.station.roster.Patroller` objects.
    patrol
        The ``[patrol]`` table as a :class:`~gridplan.station.roster.PatrolPolicy`.
    forecast_method, forecast_horizon, forecast_severity
        The ``[forecast]`` table: which forecast drives the plan prize (``auto``: the method
        chosen per slice by the rolling back-test, see :mod:`gridplan.forecast`), the horizon
        it is chosen for, and whether incidents count with their severity weights.
    track_retention_days
        ``[tracks] retention_days``: days the web store keeps raw positions (track fixes,
        the positions of check-ins) before it deletes them, keeping presence per micro-grid.
    source
        The file the settings came from (used in error messages).

    Raises
    ------
    ConfigError
        On an invalid value; the message names the TOML key.

    Examples
    --------
    >>> cfg = load_config("data/station.toml")
    >>> cfg.station_id, cfg.timezone
    ('S01', 'America/Los_Angeles')
    >>> [s.id for s in cfg.slices]
    ['morning', 'day', 'evening', 'night']
    >>> cfg.roster[0].mode
    'ebike'
    """

    station_id: str = "S01"
    station_name: str = "社区警务室"
    phone: str = ""
    timezone: str = "Asia/Shanghai"
    location: tuple[float, float] | None = None
    input_crs: str = "EPSG:4326"
    coordinates: str = "wgs84"
    metric_crs: str | None = None
    base_grid_count: int = 5
    cell_size_m: float = 200.0
    area_tolerance: float = 0.01
    sliver_area_m2: float = 50.0
    time_slices: tuple[TimeSlice, ...] = ()
    split_weekend: bool = False
    half_life_days: float = 365.0
    default_weight: float = 1.0
    category_weights: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    alert_weights: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    gi_permutations: int = 999
    gi_inference: str = "normal"
    fdr: bool = True
    seed: int = 12345
    hot_classes: str = "auto"
    small_station_cells: int = 60
    roster: tuple[Patroller, ...] = ()
    patrol: PatrolPolicy = dataclasses.field(default_factory=PatrolPolicy)
    track_retention_days: int = 90
    forecast_method: str = "auto"
    forecast_horizon: str = "7d"
    forecast_severity: bool = False
    source: str = "<defaults>"

    def __post_init__(self):
        where = self.source
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", self.station_id):
            msg = (
                f"{where}: station.id {self.station_id!r} may only contain letters, digits, "
                "'_' and '-' because grid codes are built from it (for example 'S01')"
            )
            raise ConfigError(msg)
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            msg = (
                f"{where}: station.timezone {self.timezone!r} is not an IANA timezone; "
                "use a name such as 'Asia/Shanghai'"
            )
            raise ConfigError(msg) from exc
        if self.coordinates not in COORDINATE_SYSTEMS:
            msg = (
                f"{where}: crs.coordinates {self.coordinates!r} is not supported; "
                f"use one of {', '.join(COORDINATE_SYSTEMS)}"
            )
            raise ConfigError(msg)
        positive = {
            "grid.base_count": self.base_grid_count,
            "grid.cell_size_m": self.cell_size_m,
            "scoring.half_life_days": self.half_life_days,
        }
        for key, value in positive.items():
            if not value > 0:
                msg = f"{where}: {key} = {value!r} must be greater than 0; write a positive number"
                raise ConfigError(msg)
        not_negative = {
            "grid.sliver_area_m2": self.sliver_area_m2,
            "scoring.default_weight": self.default_weight,
            "hotspots.permutations": self.gi_permutations,
            "hotspots.seed": self.seed,
            "hotspots.small_station_cells": self.small_station_cells,
        }
        for key, value in not_negative.items():
            if not value >= 0:
                msg = f"{where}: {key} = {value!r} must not be negative; write 0 or more"
                raise ConfigError(msg)
        _check_retention(self.track_retention_days, where)
        _check_forecast(self.forecast_method, self.forecast_horizon, where)
        if not 0 <= self.area_tolerance < 0.5:
            msg = (
                f"{where}: grid.area_tolerance = {self.area_tolerance!r} is not a share in "
                "0..0.5; write e.g. 0.01 for 1 %"
            )
            raise ConfigError(msg)
        if self.gi_inference not in GI_INFERENCE:
            msg = (
                f"{where}: hotspots.inference = {self.gi_inference!r} is unknown; use one of "
                f"{', '.join(GI_INFERENCE)}"
            )
            raise ConfigError(msg)
        if self.hot_classes not in HOTSPOT_CLASS_SETTINGS:
            msg = (
                f"{where}: hotspots.classes = {self.hot_classes!r} is unknown; use one of "
                f"{', '.join(HOTSPOT_CLASS_SETTINGS)}"
            )
            raise ConfigError(msg)
        if self.gi_inference == "permutation" and self.gi_permutations < 99:
            msg = (
                f"{where}: hotspots.inference = 'permutation' needs hotspots.permutations >= 99 "
                f"(got {self.gi_permutations})"
            )
            raise ConfigError(msg)
        if not self.time_slices:
            msg = f"{where}: time.slices is empty; define at least one [[time.slices]] entry"
            raise ConfigError(msg)
        ids = [s.id for s in self.time_slices]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            msg = (
                f"{where}: time.slices ids must be unique; repeated: {', '.join(dupes)}; "
                "rename or remove the second one"
            )
            raise ConfigError(msg)
        for name, weights in (
            ("scoring.category_weights", self.category_weights),
            ("scoring.alert_weights", self.alert_weights),
        ):
            for key, value in weights.items():
                if not value >= 0:
                    msg = (
                        f"{where}: {name}.{key} = {value!r} must be a number >= 0 "
                        "(0 ignores the incidents, 1 is an ordinary one)"
                    )
                    raise ConfigError(msg)
        for key in self.alert_weights:
            if key not in ALERT_COLOURS:
                msg = (
                    f"{where}: scoring.alert_weights has unknown colour {key!r}; "
                    f"use {', '.join(ALERT_COLOURS)}"
                )
                raise ConfigError(msg)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The station timezone as a :class:`zoneinfo.ZoneInfo`."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def slices(self) -> tuple[TimeSlice, ...]:
        """Effective time slices: doubled into weekday/weekend ones if ``split_weekend``."""
        if not self.split_weekend:
            return self.time_slices
        out = []
        for s in self.time_slices:
            if s.days != "all":
                out.append(s)
                continue
            for days, suffix in (("weekday", "wd"), ("weekend", "we")):
                out.append(dataclasses.replace(s, id=f"{s.id}_{suffix}", days=days))
        return tuple(out)

    def weight_for(self, category: str | None) -> float:
        """Severity weight of an incident category (case-insensitive, whole text)."""
        if category is None:
            return self.default_weight
        return self._weights_folded.get(str(category).strip().casefold(), self.default_weight)

    def has_weight(self, category: str) -> bool:
        """Whether ``scoring.category_weights`` lists the category (matched as in weight_for)."""
        return str(category).strip().casefold() in self._weights_folded

    @functools.cached_property
    def _weights_folded(self) -> dict[str, float]:
        return {k.strip().casefold(): v for k, v in self.category_weights.items()}

    def alert_weight(self, colour: str | None) -> float:
        """Weight multiplier of an alert colour (1.0 when absent or unknown)."""
        if colour is None:
            return 1.0
        return self.alert_weights.get(colour, 1.0)


def _check_forecast(method: str, horizon: str, where: str) -> None:
    for key, value, allowed in (
        ("forecast.method", method, FORECAST_METHODS),
        ("forecast.horizon", horizon, FORECAST_HORIZONS),
    ):
        if value not in allowed:
            msg = (
                f"{where}: {key} = {value!r} is not known; write one of "
                f"{', '.join(repr(a) for a in allowed)}"
            )
            raise ConfigError(msg)


def _check_retention(days: int, where: str) -> None:
    if not 1 <= days <= MAX_RETENTION_DAYS:
        msg = (
            f"{where}: tracks.retention_days = {days!r} must be a whole number of days from 1 "
            f"to {MAX_RETENTION_DAYS}; write e.g. retention_days = 90"
        )
        raise ConfigError(msg)


def _read_default_toml() -> dict[str, Any]:
    text = resources.files("gridplan.data").joinpath("default_station.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            # weight tables replace rather than merge would surprise users who only add one
            # category; merging keeps the documented defaults for the rest.
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_location(value: Any, datum: str, source: str) -> tuple[float, float] | None:
    """``[lon, lat]`` in the config's coordinate datum -> WGS 84, or ``None`` when empty."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return None
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    if not ok or not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        msg = (
            f"{source}: station.location = {value!r}; write it as [longitude, latitude] in "
            "degrees, e.g. location = [121.4737, 31.2304], or [] for a point inside the "
            "station polygon"
        )
        raise ConfigError(msg)
    lon, lat = float(value[0]), float(value[1])
    if datum in ("gcj02", "bd09"):
        import numpy as np  # local: reading a config stays light unless it needs converting

        from gridplan.geo import crs as _crs

        convert = _crs.gcj02_to_wgs84 if datum == "gcj02" else _crs.bd09_to_wgs84
        x, y = convert(np.array([lon]), np.array([lat]))
        lon, lat = float(x[0]), float(y[0])
    return (lon, lat)


_KNOWN = {
    "station": {"id", "name", "phone", "timezone", "location"},
    "crs": {"input", "coordinates", "metric"},
    "grid": {"base_count", "cell_size_m", "area_tolerance", "sliver_area_m2"},
    "time": {"split_weekend", "slices"},
    "scoring": {"half_life_days", "default_weight", "alert_weights", "category_weights"},
    "hotspots": {"permutations", "inference", "fdr", "seed", "classes", "small_station_cells"},
    "tracks": {"retention_days"},
    "forecast": {"method", "horizon", "severity"},
    "patrol": {
        "dwell_min",
        "dwell_bounds_min",
        "top_share",
        "revisit_max",
        "revisit_gap_min",
        "dosage_cap_min",
        "cover_base_grids",
        "cover_penalty",
        "dwell_spread_min",
        "wait_max_min",
        "outing_min_min",
        "alerts",
        "underserved_boost",
        "missed_flag_after",
        "presence_days",
    },
}
#: Top-level arrays of tables, checked by their own parsers.
_LISTS = {"roster"}


def _check_known(data: Mapping[str, Any], source: str) -> None:
    """Refuse unknown tables and keys, and tables written as plain values."""
    for table, keys in data.items():
        if table in _LISTS:
            continue
        if table not in _KNOWN:
            msg = (
                f"{source}: unknown table [{table}]; known tables are "
                f"{', '.join(f'[{t}]' for t in _KNOWN)} and [[roster]]"
            )
            raise ConfigError(msg)
        if not isinstance(keys, Mapping):
            msg = (
                f"{source}: {table} = {describe(keys)} must be a table: write [{table}] on a "
                "line of its own with its keys below it, as in default_station.toml"
            )
            raise ConfigError(msg)
        for key in keys:
            if key not in _KNOWN[table]:
                msg = (
                    f"{source}: unknown key {table}.{key}; known keys of [{table}] are "
                    f"{', '.join(sorted(_KNOWN[table]))}"
                )
                raise ConfigError(msg)


class _Values:
    """Typed access to the merged tables; an error names the dotted key and the default."""

    def __init__(self, merged: Mapping[str, Any], defaults: Mapping[str, Any], source: str):
        self.merged, self.defaults, self.source = merged, defaults, source

    def __call__(self, key: str, kind: type) -> Any:
        table, name = key.split(".")
        example = f"{name} = {_toml_value(self.defaults[table][name])}"
        return typed(self.merged[table][name], kind, where=self.source, key=key, example=example)

    def weights(self, key: str) -> dict[str, float]:
        """Return a table of name -> weight (``scoring.category_weights``), each a number."""
        table = self(key, Mapping)
        return {
            str(k): typed(v, float, where=self.source, key=f"{key}.{k}", example=f'"{k}" = 1.5')
            for k, v in table.items()
        }


def _toml_value(value: Any) -> str:
    """Write a default value as TOML (for the example of a message)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Mapping):
        items = [f'"{k}" = {_toml_value(v)}' for k, v in list(value.items())[:2]]
        return "{ " + ", ".join(items) + (", ... }" if len(value) > 2 else " }")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value[:1]) + (", ...]" if value else "]")
    return repr(value)


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> StationConfig:
    """Build a :class:`StationConfig` from a parsed TOML mapping merged over the defaults.

    Parameters
    ----------
    data
        Parsed TOML, with the tables of ``default_station.toml`` (all optional).
    source
        Name of the file the mapping came from, used in error messages.

    Returns
    -------
    StationConfig

    Raises
    ------
    ConfigError
        On an unknown table or key, or an invalid value; the message names the file, the
        dotted key, the value found and what to write instead.
    """
    if not isinstance(data, Mapping):
        msg = f"{source}: a station config is a TOML document of tables, not {describe(data)}"
        raise ConfigError(msg)
    _check_known(data, source)
    defaults = _read_default_toml()
    time = data.get("time", {})
    merged = _merge(defaults, data)
    if "slices" in time:
        merged["time"]["slices"] = time["slices"]  # a station's slice list replaces the default
    # a station's roster replaces the default one too (merging people would be surprising)
    merged["roster"] = data.get("roster", defaults["roster"])
    roster_source = source if "roster" in data else DEFAULT_ROSTER
    get = _Values(merged, defaults, source)
    slices = get("time.slices", list)
    coordinates = get("crs.coordinates", str).lower().replace("-", "")
    return StationConfig(
        station_id=get("station.id", str),
        station_name=get("station.name", str),
        phone=get("station.phone", str),
        timezone=get("station.timezone", str),
        location=_parse_location(merged["station"].get("location"), coordinates, source),
        input_crs=get("crs.input", str),
        coordinates=coordinates,
        metric_crs=get("crs.metric", str) or None,
        base_grid_count=get("grid.base_count", int),
        cell_size_m=get("grid.cell_size_m", float),
        area_tolerance=get("grid.area_tolerance", float),
        sliver_area_m2=get("grid.sliver_area_m2", float),
        time_slices=tuple(_parse_slice(s, i, source) for i, s in enumerate(slices)),
        split_weekend=get("time.split_weekend", bool),
        half_life_days=get("scoring.half_life_days", float),
        default_weight=get("scoring.default_weight", float),
        category_weights=MappingProxyType(get.weights("scoring.category_weights")),
        alert_weights=MappingProxyType(
            {k.lower(): v for k, v in get.weights("scoring.alert_weights").items()}
        ),
        gi_permutations=get("hotspots.permutations", int),
        gi_inference=get("hotspots.inference", str),
        fdr=get("hotspots.fdr", bool),
        seed=get("hotspots.seed", int),
        hot_classes=get("hotspots.classes", str),
        small_station_cells=get("hotspots.small_station_cells", int),
        roster=parse_roster(merged["roster"], source=roster_source),
        patrol=parse_policy(merged["patrol"], source=source),
        track_retention_days=get("tracks.retention_days", int),
        forecast_method=get("forecast.method", str),
        forecast_horizon=get("forecast.horizon", str),
        forecast_severity=get("forecast.severity", bool),
        source=source,
    )


def _parse_slice(raw: Any, index: int, source: str) -> TimeSlice:
    key = f"time.slices[{index}]"
    where = f"{source}: {key}"
    if not isinstance(raw, Mapping):
        msg = (
            f"{where} = {describe(raw)} must be a table with id, start and end, e.g. "
            '{ id = "night", start = "22:00", end = "06:00" }'
        )
        raise ConfigError(msg)
    missing = [k for k in ("id", "start", "end") if k not in raw]
    if missing:
        msg = f"{where} lacks {', '.join(missing)}; each slice needs id, start and end (HH:MM)"
        raise ConfigError(msg)
    unknown = set(raw) - {"id", "start", "end", "name_zh", "name_en", "days"}
    if unknown:
        msg = (
            f"{where} has unknown keys {', '.join(sorted(unknown))}; "
            "use id, start, end, name_zh, name_en, days"
        )
        raise ConfigError(msg)
    start = parse_hhmm(raw["start"], where=f"{where}.start")
    end = parse_hhmm(raw["end"], where=f"{where}.end")
    text = {
        name: typed(raw.get(name, default), str, where=source, key=f"{key}.{name}", example=ex)
        for name, default, ex in (
            ("id", "", 'id = "night"'),
            ("name_zh", "", 'name_zh = "夜间"'),
            ("name_en", "", 'name_en = "Night"'),
            ("days", "all", 'days = "weekend"'),
        )
    }
    try:
        return TimeSlice(start_min=start, end_min=end, **text)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def default_config() -> StationConfig:
    """Return the default configuration of a Chinese community police station.

    The values of ``gridplan/data/default_station.toml``: four time slices, 200 m micro-grids, the
    Asia/Shanghai timezone and a sample roster. :func:`load_config` merges a station file
    over these.

    Returns
    -------
    StationConfig

    Examples
    --------
    >>> cfg = default_config()
    >>> cfg.timezone, cfg.cell_size_m
    ('Asia/Shanghai', 200.0)
    >>> cfg.slices[-1].label
    '夜间 Night 22:00-06:00'
    """
    return config_from_mapping({}, source="<defaults>")


def load_config(path: str | Path | None = None) -> StationConfig:
    """Load a station TOML file merged over the defaults.

    Parameters
    ----------
    path
        The station's ``.toml`` file; ``None`` returns :func:`default_config`.

    Returns
    -------
    StationConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not TOML, or has an invalid key or value.

    Examples
    --------
    >>> cfg = load_config(None)
    >>> [s.id for s in cfg.slices]
    ['morning', 'day', 'evening', 'night']
    """
    if path is None:
        return default_config()
    path = Path(path)
    return config_from_toml(_toml.read(path), source=str(path))


def config_from_toml(text: str, *, source: str = "<station>") -> StationConfig:
    r"""Build a :class:`StationConfig` from the text of a station TOML file.

    Parameters
    ----------
    text
        The file's text (at most 1 MiB).
    source
        The file's name, used in error messages.

    Returns
    -------
    StationConfig

    Raises
    ------
    ConfigError
        On a TOML syntax error (with its line and column), a file too large or too deeply
        nested, or any invalid key or value (see :func:`config_from_mapping`).

    Examples
    --------
    >>> config_from_toml('[station]\nid = "S07"', source="s07.toml").station_id
    'S07'
    """
    return config_from_mapping(parse_toml(text, source=source), source=source)


def read_config_text(path: str | Path) -> str:
    """Return the text of a station file: at most 1 MiB of UTF-8, else a ConfigError."""
    return _toml.read(path)


def parse_toml(text: str, *, source: str = "<station>") -> dict[str, Any]:
    """Parse station TOML text; a syntax error is a ConfigError naming the line and column."""
    return _toml.loads(text, source=source)
