"""Per-app caches of what pages read often: grids, hot-spot runs, incidents, networks.

Stored grids and hot-spot runs never change (a new import makes a new version), so caching
them by id is safe; incidents are cached by the station's newest batch id. Each cache keeps
a few entries, so many stations in one process do not pile up memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import current_app

from gridplan.web import store
from gridplan.web.db import get_db

_LOCK = threading.Lock()
_MAKING: dict[tuple, threading.Lock] = {}


def _cache(family: str) -> OrderedDict:
    caches = current_app.extensions.setdefault("gridplan_cache", {})
    with _LOCK:
        return caches.setdefault(family, OrderedDict())


def cached(key: tuple, make: Callable[[], Any], *, size: int = 16) -> Any:
    """Return ``make()`` cached under ``key`` in the app (least recently used out first).

    ``key[0]`` names the family (``"grid"``, ``"plan"`` ...); each family keeps its ``size``
    newest entries, so many small entries never push out a few big ones.
    """
    cache = _cache(key[0])
    with _LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        making = _MAKING.setdefault(key, threading.Lock())
    # one thread makes a missing entry; the others wait for it instead of all making it
    with making:
        with _LOCK:
            if key in cache:
                return cache[key]
        value = make()
        with _LOCK:
            cache[key] = value
            while len(cache) > size:
                cache.popitem(last=False)
            _MAKING.pop(key, None)
    return value


def grid(grid_id: int):
    """The stored grid ``grid_id`` as a GeoDataFrame."""
    return cached(("grid", grid_id), lambda: store.load_grid(get_db(), grid_id))


def hotspots(run_id: int):
    """The stored hot-spot run ``run_id`` as a GeoDataFrame."""
    return cached(("hot", run_id), lambda: store.load_hotspots(get_db(), run_id))


def plan_summary(row) -> dict:
    """The parsed ``summary_json`` of a plan row (plans never change)."""
    import json

    return cached(("summary", row["id"]), lambda: json.loads(row["summary_json"]), size=512)


def incidents(station_id: str, timezone: str):
    """The station's incidents (cached until the next import)."""
    last = (
        get_db()
        .execute(
            "SELECT COALESCE(MAX(id), 0) FROM incident_batches WHERE station_id=?", (station_id,)
        )
        .fetchone()[0]
    )
    return cached(
        ("incidents", station_id, last),
        lambda: store.load_incidents(get_db(), station_id, timezone),
        size=16,
    )


def network(row):
    """The street network of a ``networks`` row."""
    from gridplan.network.graphs import load_network

    return cached(("network", row["path"], row["fingerprint"]), lambda: load_network(row["path"]))


def config(station_id: str):
    """The station's parsed config."""
    row = store.get_station(get_db(), station_id)
    return cached(
        ("config", station_id, row["config_toml"]),
        lambda: store.station_config(get_db(), station_id),
    )


def slice_labels(cfg, lang: str) -> dict[str, str]:
    """Display names of the station's slices in ``lang`` (plus ``all``)."""
    out = {"all": "全天" if lang == "zh" else "All day"}
    for s in cfg.slices:
        out[s.id] = getattr(s, f"name_{lang}", "") or s.id
    return out
