"""Save and read patrol plans: one JSON document per plan (``*.plan.json``).

The file holds everything needed to print, export and re-check a plan without the solver:
station, date, timezone, settings (seed, time limit, network source and fingerprint), the
patrol policy, and per slice the metrics, the stops left out and why, and per route the
patroller's duty (window, limits, profile, speed, home bases, start and end nodes), the street
path and every stop with its times, dwell, prize, why it was chosen and its street node.
Times are ISO 8601 with the station's UTC offset; coordinates are EPSG:4326 longitude/latitude.

The solver's model and solution are not saved (they can be rebuilt); the slice's solver cost
is, as ``objective``, beside the slice's metrics and the micro-grids they weigh (``cells``, so
``gridplan plan check`` can recompute them); the day's metrics (``day``) and a sentence on what
the solver optimises (``what_is_optimised``) are written for readers and recomputed on
reading. :func:`load_plan` returns a :class:`~gridplan.routing.plan.PatrolPlan`
equal to the one saved.

Format::

    {"format": "gridplan-plan", "version": 1, "station_id": ..., "date": "YYYY-MM-DD",
     "policy": {...}, "settings": {...}, "variant": null | {...},
     "slices": [{"slice": ..., "routes": [{"duty": {...}, "path": [[lon, lat], ...],
                                           "stops": [{...}, ...]}, ...], ...}, ...]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

import shapely

from gridplan._errors import ConfigError
from gridplan._errors import InputError
from gridplan.io.limits import ReadLimits
from gridplan.routing.plan import OBJECTIVE
from gridplan.routing.plan import CellRisk
from gridplan.routing.plan import DroppedStop
from gridplan.routing.plan import Duty
from gridplan.routing.plan import PatrolPlan
from gridplan.routing.plan import PatrolRoute
from gridplan.routing.plan import PlannedStop
from gridplan.routing.plan import SliceMetrics
from gridplan.routing.plan import SlicePlan
from gridplan.routing.plan import TopPresence
from gridplan.routing.plan import Workload
from gridplan.station.roster import PatrolPolicy
from gridplan.station.roster import parse_alert_policies

FORMAT = "gridplan-plan"
VERSION = 1
#: Attribute table of an exported plan GeoPackage that holds the plan document.
PLAN_TABLE = "plan"

#: Decimals of saved coordinates: 7 is about 1 cm.
PRECISION = 7


def _version() -> str:
    try:
        return metadata.version("gridplan")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _time(value: dt.datetime) -> str:
    return value.isoformat()


def _coords(line: shapely.LineString) -> list[list[float]]:
    return [[round(x, PRECISION), round(y, PRECISION)] for x, y in line.coords]


def _policy(policy: PatrolPolicy) -> dict[str, Any]:
    return {
        "dwell_min": dict(policy.dwell_min),
        "dwell_bounds_min": list(policy.dwell_bounds_min),
        "top_share": policy.top_share,
        "revisit_max": policy.revisit_max,
        "revisit_gap_min": policy.revisit_gap_min,
        "dosage_cap_min": policy.dosage_cap_min,
        "cover_base_grids": policy.cover_base_grids,
        "cover_penalty": policy.cover_penalty,
        "dwell_spread_min": policy.dwell_spread_min,
        "wait_max_min": policy.wait_max_min,
        "outing_min_min": policy.outing_min_min,
        "alerts": {level: dataclasses.asdict(a) for level, a in policy.alerts.items()},
        "underserved_boost": policy.underserved_boost,
        "missed_flag_after": policy.missed_flag_after,
        "presence_days": policy.presence_days,
    }


def _duty(d: Duty | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "window_start": _time(d.window_start),
        "window_end": _time(d.window_end),
        "max_duration_s": d.max_duration_s,
        "max_duty_min": d.max_duty_min,
        "profile": d.profile,
        "speed_kph": d.speed_kph,
        "home_bases": list(d.home_bases),
        "start_node": d.start_node,
        "end_node": d.end_node,
        "start_lonlat": None if d.start_lonlat is None else list(d.start_lonlat),
        "end_lonlat": None if d.end_lonlat is None else list(d.end_lonlat),
        "break_after_min": d.break_after_min,
        "break_min": d.break_min,
    }


def _stop(p: PlannedStop) -> dict[str, Any]:
    out = dataclasses.asdict(p)
    out["arrival"] = _time(p.arrival)
    out["departure"] = _time(p.departure)
    out["lon"] = round(p.lon, PRECISION)
    out["lat"] = round(p.lat, PRECISION)
    for key in ("window_start", "window_end"):  # a key road section or timed target
        out[key] = None if out[key] is None else _time(out[key])
    for key in ("end_lon", "end_lat"):
        out[key] = None if out[key] is None else round(out[key], PRECISION)
    del out["node"]  # the solver's node number means nothing without the model
    return out


def _cell(c: CellRisk) -> dict[str, Any]:
    return {
        "id": c.micro_id,
        "score": c.score,
        "incidents": c.incidents,
        "risk_class": c.risk_class,
        "access": {
            k: [node, round(lon, PRECISION), round(lat, PRECISION)]
            for k, (node, lon, lat) in c.access.items()
        },
    }


def plan_to_dict(plan: PatrolPlan) -> dict[str, Any]:
    """Return ``plan`` as the JSON-ready dict :func:`save_plan` writes."""
    slices = []
    for s in plan.slices:
        routes = []
        for r in s.routes:
            routes.append(
                {
                    "patroller_id": r.patroller_id,
                    "part": r.part,
                    "outing": r.outing,
                    "carried": r.carried,
                    "continues": r.continues,
                    "name": r.name,
                    "role": r.role,
                    "mode": r.mode,
                    "start": _time(r.start),
                    "end": _time(r.end),
                    "start_place": r.start_place,
                    "end_place": r.end_place,
                    "distance_m": round(r.distance_m, 2),
                    "duration_s": r.duration_s,
                    "duty": _duty(r.duty),
                    "path": _coords(r.path),
                    "stops": [_stop(p) for p in r.stops],
                }
            )
        slices.append(
            {
                "slice": s.slice_id,
                "label": s.label,
                "start": _time(s.start),
                "end": _time(s.end),
                "objective": s.cost(),
                "off_duty": list(s.off_duty),
                "metrics": s.metrics.to_dict(),
                "dropped": [dataclasses.asdict(d) for d in s.dropped],
                "cells": [_cell(c) for c in s.cells],
                "routes": routes,
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "gridplan": _version(),
        "station_id": plan.station_id,
        "station_name": plan.station_name,
        "timezone": plan.timezone,
        "date": plan.date.isoformat(),
        "seed": plan.seed,
        "time_limit_s": plan.time_limit_s,
        "cost": plan.cost(),
        "settings": _plain(plan.settings),
        "policy": _policy(plan.policy),
        "variant": None if plan.variant is None else _plain(plan.variant),
        # for readers of the file; recomputed from the slices when it is read
        "what_is_optimised": OBJECTIVE,
        "day": plan.day_metrics().to_dict(),
        "slices": slices,
    }


def _plain(value: Any) -> Any:
    """Read-only mappings and tuples as plain dicts and lists, for json."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def save_plan(plan: PatrolPlan, path: str | Path) -> Path:
    """Write ``plan`` as a plan file (JSON, UTF-8), atomically.

    Parameters
    ----------
    plan
        The plan, e.g. from :func:`~gridplan.routing.planner.plan_patrols`.
    path
        Where to write (``.plan.json`` by convention). The file is written beside it under a
        temporary name and then renamed, so a failed write never leaves half a plan.

    Returns
    -------
    Path

    Examples
    --------
    >>> save_plan(plan, "2024-06-01.plan.json")  # doctest: +SKIP
    PosixPath('2024-06-01.plan.json')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(plan_to_dict(plan), ensure_ascii=False, indent=1)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Reading


class _Reader:
    """Typed access to a decoded plan document; errors name the file and the JSON path."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, what: str) -> InputError:
        return InputError(
            f"{self.path}: {where}: {what}. The file is not a valid gridplan plan (was it "
            "edited by hand?); write it again with `gridplan plan`"
        )

    def get(self, obj: Any, key: str, where: str, kind: type | tuple = object) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, f"expected an object, found {type(obj).__name__}")
        if key not in obj:
            raise self.fail(where, f"missing key {key!r}")
        value = obj[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind):
            expected = (
                kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            )
            raise self.fail(f"{where}.{key}", f"expected {expected}, found {value!r}")
        return value

    def time(self, obj: Any, key: str, where: str) -> dt.datetime:
        text = self.get(obj, key, where, str)
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{where}.{key}", f"{text!r} is not an ISO 8601 time") from None
        if value.tzinfo is None:
            raise self.fail(f"{where}.{key}", f"{text!r} has no UTC offset")
        return value

    def opt(self, obj: Any, key: str, where: str, kind: type | tuple) -> Any:
        if isinstance(obj, dict) and obj.get(key) is None:
            return None
        return self.get(obj, key, where, kind)


def _read_duty(rd: _Reader, raw: Any, where: str) -> Duty | None:
    if raw is None:
        return None

    def lonlat(key: str) -> tuple[float, float] | None:
        value = rd.opt(raw, key, where, list)
        if value is None:
            return None
        if len(value) != 2 or not all(isinstance(v, int | float) for v in value):
            raise rd.fail(f"{where}.{key}", f"expected [lon, lat], found {value!r}")
        return (float(value[0]), float(value[1]))

    return Duty(
        window_start=rd.time(raw, "window_start", where),
        window_end=rd.time(raw, "window_end", where),
        max_duration_s=rd.get(raw, "max_duration_s", where, int),
        max_duty_min=rd.get(raw, "max_duty_min", where, int),
        profile=rd.get(raw, "profile", where, str),
        speed_kph=rd.get(raw, "speed_kph", where, float),
        home_bases=tuple(rd.get(raw, "home_bases", where, list)),
        start_node=rd.opt(raw, "start_node", where, int),
        end_node=rd.opt(raw, "end_node", where, int),
        start_lonlat=lonlat("start_lonlat"),
        end_lonlat=lonlat("end_lonlat"),
        break_after_min=rd.opt(raw, "break_after_min", where, int) or 0,
        break_min=rd.opt(raw, "break_min", where, int) or 0,
    )


def _read_stop(rd: _Reader, raw: Any, where: str) -> PlannedStop:
    g = rd.get
    return PlannedStop(
        order=g(raw, "order", where, int),
        micro_id=g(raw, "micro_id", where, str),
        name=g(raw, "name", where, str),
        base_id=g(raw, "base_id", where, str),
        arrival=rd.time(raw, "arrival", where),
        dwell_s=g(raw, "dwell_s", where, int),
        departure=rd.time(raw, "departure", where),
        prize=g(raw, "prize", where, int),
        score=g(raw, "score", where, float),
        risk_rank=g(raw, "risk_rank", where, int),
        gi_class=g(raw, "gi_class", where, str),
        risk_class=g(raw, "risk_class", where, str),
        copy=g(raw, "copy", where, int),
        lon=g(raw, "lon", where, float),
        lat=g(raw, "lat", where, float),
        node=-1,
        street_node=rd.opt(raw, "street_node", where, int),
        street=rd.opt(raw, "street", where, str) or "",
        risk_share=rd.opt(raw, "risk_share", where, float) or 0.0,
        recent=rd.opt(raw, "recent", where, str) or "",
        **_read_target_fields(rd, raw, where),
        alert=rd.opt(raw, "alert", where, str),
        alert_id=rd.opt(raw, "alert_id", where, str),
    )


def _read_target_fields(rd: _Reader, raw: Any, where: str) -> dict[str, Any]:
    """Return the fields of a target stop (older plan files have none: a grid stop)."""
    if not isinstance(raw, dict) or not raw.get("target_id"):
        return {}
    return {
        "kind": rd.get(raw, "kind", where, str),
        "target_id": rd.get(raw, "target_id", where, str),
        "window_start": rd.time(raw, "window_start", where),
        "window_end": rd.time(raw, "window_end", where),
        "end_lon": rd.opt(raw, "end_lon", where, float),
        "end_lat": rd.opt(raw, "end_lat", where, float),
        "end_street_node": rd.opt(raw, "end_street_node", where, int),
        "walk_m": rd.opt(raw, "walk_m", where, float) or 0.0,
        "end_street": rd.opt(raw, "end_street", where, str) or "",
    }


def _read_route(rd: _Reader, raw: Any, slice_id: str, where: str) -> PatrolRoute:
    g = rd.get
    coords = g(raw, "path", where, list)
    try:
        path = shapely.LineString(coords)
    except (TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise rd.fail(f"{where}.path", f"not a line of [lon, lat] pairs ({exc})") from None
    stops = g(raw, "stops", where, list)
    return PatrolRoute(
        patroller_id=g(raw, "patroller_id", where, str),
        name=g(raw, "name", where, str),
        role=g(raw, "role", where, str),
        mode=g(raw, "mode", where, str),
        slice_id=slice_id,
        stops=tuple(_read_stop(rd, s, f"{where}.stops[{i}]") for i, s in enumerate(stops)),
        path=path,
        distance_m=g(raw, "distance_m", where, float),
        duration_s=g(raw, "duration_s", where, int),
        start=rd.time(raw, "start", where),
        end=rd.time(raw, "end", where),
        start_place=g(raw, "start_place", where, str),
        end_place=g(raw, "end_place", where, str),
        duty=_read_duty(rd, raw.get("duty"), f"{where}.duty"),
        part=rd.opt(raw, "part", where, int) or 1,
        outing=rd.opt(raw, "outing", where, int) or 0,
        carried=bool(rd.opt(raw, "carried", where, bool)),
        continues=bool(rd.opt(raw, "continues", where, bool)),
    )


def _read_metrics(rd: _Reader, raw: Any, where: str) -> SliceMetrics:
    g = rd.get
    workload = {}
    for pid, w in g(raw, "workload", where, dict).items():
        ww = f"{where}.workload.{pid}"
        workload[pid] = Workload(
            minutes=g(w, "minutes", ww, float),
            km=g(w, "km", ww, float),
            stops=g(w, "stops", ww, int),
            waiting_min=rd.opt(w, "waiting_min", ww, float) or 0.0,
        )
    top = {}
    for mid, t in (rd.opt(raw, "top_presence", where, dict) or {}).items():
        wt = f"{where}.top_presence.{mid}"
        top[mid] = TopPresence(
            minutes=g(t, "minutes", wt, float),
            share_of_presence=g(t, "share_of_presence", wt, float),
            share_of_risk=g(t, "share_of_risk", wt, float),
        )
    # files from before issue 17 have no response coverage, waiting or top presence: read
    # as unknown/0 (their incidents_within_8min counted cells near any stop: not kept)
    return SliceMetrics(
        risk_covered=g(raw, "risk_covered", where, float),
        top_dwell_min=MappingProxyType(dict(g(raw, "top_dwell_min", where, dict))),
        top_longest_gap_min=MappingProxyType(dict(g(raw, "top_longest_gap_min", where, dict))),
        longest_top_gap_min=rd.opt(raw, "longest_top_gap_min", where, float),
        base_visited=MappingProxyType(dict(g(raw, "base_visited", where, dict))),
        cover_violations=tuple(g(raw, "cover_violations", where, list)),
        workload=MappingProxyType(workload),
        top_not_visited=MappingProxyType(dict(g(raw, "top_not_visited", where, dict))),
        response_coverage=rd.opt(raw, "response_coverage", where, float),
        waiting_min=rd.opt(raw, "waiting_min", where, float) or 0.0,
        top_presence=MappingProxyType(top),
        risk_total=rd.opt(raw, "risk_total", where, float) or 0.0,
        prize=rd.opt(raw, "prize", where, int) or 0,
    )


def _read_cells(rd: _Reader, raw: Any, where: str) -> tuple[CellRisk, ...]:
    out = []
    for i, c in enumerate(rd.opt(raw, "cells", where, list) or []):
        w = f"{where}.cells[{i}]"
        access = {}
        for profile, value in rd.get(c, "access", w, dict).items():
            ok = isinstance(value, list) and len(value) == 3
            if not ok or not all(isinstance(v, int | float) for v in value[1:]):
                raise rd.fail(
                    f"{w}.access.{profile}", f"expected [node, lon, lat], found {value!r}"
                )
            if value[0] is not None and not isinstance(value[0], int):
                raise rd.fail(f"{w}.access.{profile}", f"the node {value[0]!r} is not an integer")
            access[profile] = (value[0], float(value[1]), float(value[2]))
        out.append(
            CellRisk(
                micro_id=rd.get(c, "id", w, str),
                score=rd.get(c, "score", w, float),
                incidents=rd.get(c, "incidents", w, int),
                risk_class=rd.get(c, "risk_class", w, str),
                access=MappingProxyType(access),
            )
        )
    return tuple(out)


def _read_slice(rd: _Reader, raw: Any, where: str) -> SlicePlan:
    g = rd.get
    slice_id = g(raw, "slice", where, str)
    routes = g(raw, "routes", where, list)
    dropped = []
    for i, d in enumerate(g(raw, "dropped", where, list)):
        w = f"{where}.dropped[{i}]"
        dropped.append(
            DroppedStop(
                micro_id=g(d, "micro_id", w, str),
                risk_class=g(d, "risk_class", w, str),
                risk_rank=g(d, "risk_rank", w, int),
                reason=g(d, "reason", w, str),
            )
        )
    return SlicePlan(
        slice_id=slice_id,
        label=g(raw, "label", where, str),
        start=rd.time(raw, "start", where),
        end=rd.time(raw, "end", where),
        routes=tuple(
            _read_route(rd, r, slice_id, f"{where}.routes[{i}]") for i, r in enumerate(routes)
        ),
        dropped=tuple(dropped),
        metrics=_read_metrics(rd, g(raw, "metrics", where, dict), f"{where}.metrics"),
        off_duty=tuple(g(raw, "off_duty", where, list)),
        objective=rd.opt(raw, "objective", where, float),
        cells=_read_cells(rd, raw, where),
    )


def _read_policy(rd: _Reader, raw: Any) -> PatrolPolicy:
    g, where = rd.get, "policy"
    bounds = g(raw, "dwell_bounds_min", where, list)
    return PatrolPolicy(
        dwell_min=MappingProxyType(dict(g(raw, "dwell_min", where, dict))),
        dwell_bounds_min=(int(bounds[0]), int(bounds[1])),
        top_share=g(raw, "top_share", where, float),
        revisit_max=g(raw, "revisit_max", where, int),
        revisit_gap_min=g(raw, "revisit_gap_min", where, int),
        dosage_cap_min=g(raw, "dosage_cap_min", where, int),
        cover_base_grids=g(raw, "cover_base_grids", where, bool),
        cover_penalty=g(raw, "cover_penalty", where, float),
        # plans made before these rules are checked by the rules they were made with
        dwell_spread_min=rd.opt(raw, "dwell_spread_min", where, int) or 0,
        wait_max_min=_opt_int(rd, raw, "wait_max_min", NO_WAIT_RULE_MIN),
        outing_min_min=rd.opt(raw, "outing_min_min", where, int) or 0,
        **_read_alert_policies(rd, raw),
        **_read_feedback_policy(rd, raw),
    )


def _read_feedback_policy(rd: _Reader, raw: Any) -> dict[str, Any]:
    """Read the feedback settings (a plan file from before them has none: the defaults)."""
    out: dict[str, Any] = {}
    boost = rd.opt(raw, "underserved_boost", "policy", float)
    if boost is not None:
        out["underserved_boost"] = float(boost)
    after = rd.opt(raw, "missed_flag_after", "policy", int)
    if after is not None:
        out["missed_flag_after"] = int(after)
    days = rd.opt(raw, "presence_days", "policy", int)
    if days is not None:
        out["presence_days"] = int(days)
    return out


#: ``wait_max_min`` of a plan file from before the rule: any wait (a day of minutes).
NO_WAIT_RULE_MIN = 24 * 60


def _opt_int(rd: _Reader, raw: Any, key: str, default: int) -> int:
    value = rd.opt(raw, key, "policy", int)
    return default if value is None else int(value)


def _read_alert_policies(rd: _Reader, raw: Any) -> dict[str, Any]:
    """Read the policy's alert colours (a plan file from before alerts has none: defaults)."""
    tables = rd.opt(raw, "alerts", "policy", dict)
    if tables is None:
        return {}
    try:
        return {"alerts": parse_alert_policies(tables, source=f"{rd.path}: policy")}
    except ConfigError as exc:
        raise rd.fail("policy.alerts", str(exc)) from None


def plan_from_dict(data: Mapping[str, Any], *, source: str | Path = "<plan>") -> PatrolPlan:
    """Return the :class:`~gridplan.routing.plan.PatrolPlan` of a decoded plan document.

    Raises
    ------
    InputError
        When the document is not a gridplan plan of a version this gridplan reads; the
        message names ``source`` and the key at fault.
    """
    rd = _Reader(Path(str(source)))
    g = rd.get
    data = dict(data) if isinstance(data, Mapping) else data
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        msg = (
            f"{source}: not a gridplan plan file (format {found!r}, expected {FORMAT!r}); "
            "pass a file written by `gridplan plan` or save_plan"
        )
        raise InputError(msg)
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        msg = (
            f"{source}: plan file version {version!r} is newer than this gridplan reads "
            f"({VERSION}); upgrade gridplan"
        )
        raise InputError(msg)
    date_text = g(data, "date", "plan", str)
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError:
        raise rd.fail("plan.date", f"{date_text!r} is not a YYYY-MM-DD date") from None
    slices = g(data, "slices", "plan", list)
    variant = rd.opt(data, "variant", "plan", dict)
    return PatrolPlan(
        station_id=g(data, "station_id", "plan", str),
        station_name=g(data, "station_name", "plan", str),
        timezone=g(data, "timezone", "plan", str),
        date=date,
        seed=g(data, "seed", "plan", int),
        time_limit_s=g(data, "time_limit_s", "plan", float),
        slices=tuple(_read_slice(rd, s, f"slices[{i}]") for i, s in enumerate(slices)),
        settings=MappingProxyType(dict(g(data, "settings", "plan", dict))),
        policy=_read_policy(rd, g(data, "policy", "plan", dict)),
        variant=None if variant is None else MappingProxyType(variant),
    )


_STOP_KEYS = ("slice", "patroller_id", "order", "micro_id", "arrival", "departure")


def _layer_mismatch(plan: PatrolPlan, path: Path) -> str | None:
    """Where the ``routes``/``stops`` layers of a plan GeoPackage differ from its document."""
    import pyogrio

    routes, stops = plan.to_geodataframes()
    routes = routes[routes["stops"] > 0].reset_index(drop=True)
    layers = {}
    for name, want in (("routes", routes), ("stops", stops)):
        try:
            layers[name] = pyogrio.read_dataframe(path, layer=name)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            return f"its layer {name!r} cannot be read ({exc})"
        if len(layers[name]) != len(want):
            return f"layer {name!r} has {len(layers[name])} features, the plan {len(want)}"
    got = layers["stops"]
    for k in range(len(stops)):
        for key in _STOP_KEYS:
            a, b = got[key].iloc[k], stops[key].iloc[k]
            if str(a) != str(b):
                return f"layer 'stops' feature {k + 1}: {key} is {a!r}, the plan has {b!r}"
        moved = got.geometry.iloc[k].distance(stops.geometry.iloc[k])
        if moved > 1e-6:
            return f"layer 'stops' feature {k + 1} ({stops['micro_id'].iloc[k]}) was moved"
    return None


def _read_gpkg(path: Path) -> PatrolPlan:
    import pyogrio

    try:
        names = {name for name, _ in pyogrio.list_layers(path)}
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{path}: not a readable GeoPackage ({exc})"
        raise InputError(msg) from None
    if PLAN_TABLE not in names:
        if {"routes", "stops"} <= names:
            msg = (
                f"{path}: this GeoPackage holds routes and stops but no plan document (table "
                f"{PLAN_TABLE!r}): it is part of a plan (exported with a patroller or slice "
                "filter) or was not written by gridplan; export the whole plan with "
                "`gridplan export PLAN --format gpkg` to read it back"
            )
        else:
            msg = f"{path}: not a gridplan plan GeoPackage (no table {PLAN_TABLE!r})"
        raise InputError(msg)
    table = pyogrio.read_dataframe(path, layer=PLAN_TABLE, read_geometry=False)
    if len(table) != 1 or "document" not in table or table["format"].iloc[0] != FORMAT:
        msg = f"{path}: table {PLAN_TABLE!r} is not a gridplan plan document"
        raise InputError(msg)
    try:
        data = json.loads(table["document"].iloc[0])
    except RecursionError:
        raise InputError(_too_deep(f"{path} (table {PLAN_TABLE})")) from None
    except (json.JSONDecodeError, TypeError) as exc:
        msg = f"{path}: the plan document in table {PLAN_TABLE!r} is damaged ({exc})"
        raise InputError(msg) from None
    plan = plan_from_dict(data, source=f"{path} (table {PLAN_TABLE})")
    where = _layer_mismatch(plan, path)
    if where is not None:
        msg = (
            f"{path}: the map layers no longer match the plan document stored with them: "
            f"{where}. gridplan reads plans from that document and cannot take over edits "
            "made in a GIS; change a plan in gridplan instead (pin or exclude stops and "
            "plan again), or export it again"
        )
        raise InputError(msg)
    return plan


def load_plan(path: str | Path) -> PatrolPlan:
    """Read a plan file written by :func:`save_plan` or a GeoPackage from ``export_plan``.

    Parameters
    ----------
    path
        The ``.plan.json`` file, or a ``.gpkg`` written by
        :func:`~gridplan.io.plan_export.export_plan` for a whole plan (it stores the
        plan document beside its layers; a GeoPackage whose layers were edited since is
        refused, naming the first difference).

    Returns
    -------
    PatrolPlan
        Without the solver's model and solution (``slice.problem`` etc. are ``None``); its
        :meth:`~gridplan.routing.plan.PatrolPlan.cost` is the saved objective.

    Raises
    ------
    InputError
        Missing or unreadable file, not JSON, not a plan, or a plan with a bad field (the
        message names the file and the key).

    Examples
    --------
    >>> plan = load_plan("2024-06-01.plan.json")  # doctest: +SKIP
    >>> print(plan.to_text())  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such plan file; write one with `gridplan plan ... --out {path}`"
        raise InputError(msg)
    ReadLimits().check("max_bytes", path.stat().st_size, path)
    if path.suffix.lower() == ".gpkg":
        return _read_gpkg(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise InputError(_too_deep(path)) from None
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text ({exc.reason}); is it a plan file?"
        raise InputError(msg) from None
    except json.JSONDecodeError as exc:
        msg = (
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "the file is damaged: write it again with `gridplan plan`"
        )
        raise InputError(msg) from None
    return plan_from_dict(data, source=path)


def _too_deep(source) -> str:
    return (
        f"{source}: the JSON is nested too deeply to be a plan file (a damaged or hostile "
        "file); write the plan again with `gridplan plan`"
    )


__all__ = [
    "FORMAT",
    "PLAN_TABLE",
    "VERSION",
    "load_plan",
    "plan_from_dict",
    "plan_to_dict",
    "save_plan",
]
