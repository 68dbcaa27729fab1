"""The patrol phone page's test store: two lattice stations, each with a plan for today.

Station S02 is ``_web``'s lattice station; S03 is the same lattice under its own ids. Each has
a morning plan for *today* (the station's date when the store is built), so the phone page
has routes to show: V09 (a volunteer team) and A09 (an auxiliary) are on duty. Users, all
with ``_web.PASSWORD``: per station an admin, an officer and an analyst, a patroller of V09
and one of A09, and a volunteer lead of V09. Building it takes a few seconds (no demo seed).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from _web import PASSWORD
from _web import S02_TOML
from _web import lattice_station

#: (name, role, team) of the users of each station; names get the station's prefix
USERS = (
    ("admin", "admin", None),
    ("officer", "officer", None),
    ("analyst", "analyst", None),
    ("patroller", "patroller", "V09"),
    ("auxiliary", "patroller", "A09"),
    ("lead", "volunteer_lead", "V09"),
)


def _station(sid: str):
    """The lattice station under ids ``sid`` (TOML, grid, hot spots, network)."""
    from _lattice import make_hotspots

    grid, _hot, net = lattice_station()
    if sid != "S02":
        for col in ("id", "parent_id"):
            grid[col] = grid[col].map(
                lambda v: v.replace("S02", sid) if isinstance(v, str) else None
            )
    toml = re.sub(r'id = "S02"', f'id = "{sid}"', S02_TOML, count=1)
    return toml, grid, make_hotspots(grid), net


def today(timezone: str = "Asia/Shanghai") -> dt.date:
    """Today's date in the stations' timezone."""
    import zoneinfo

    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date()


def build_patrol_store(instance: Path, *, stations=("S02", "S03")) -> dict:
    """Create the store in ``instance``; return its path, plan ids and user names."""
    from gridplan.network.graphs import save_network
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams
    from gridplan.web import store
    from gridplan.web.db import connect
    from gridplan.web.db import init_store

    database = instance / "gridplan.sqlite"
    init_store(database)
    con = connect(database)
    plans, users = {}, {}
    try:
        for sid in stations:
            toml, grid, hot, net = _station(sid)
            store.add_station(con, toml, source=f"{sid}.toml")
            cfg = store.station_config(con, sid)
            grid_id, _ = store.save_grid(
                con, sid, grid, source_name="lattice.geojson", username="test", report={}
            )
            run_id = store.save_hotspots(con, sid, grid_id, hot, n_incidents=45, username="test")
            path = save_network(net, instance / "networks" / f"{sid}.gpkg")
            store.add_network(con, sid, str(path), fingerprint=net.fingerprint, source="lattice")
            request = PlanRequest(today(cfg.timezone).isoformat(), slices=["morning"])
            quick = SolveParams(time_limit_s=1, workers=1, work_limit=300, seed=1)
            plan = plan_patrols(grid, hot, net, cfg, request, params=quick)
            plans[sid], _ = store.save_plan(
                con, sid, plan, grid_id=grid_id, hotspot_run_id=run_id, params={}, username="test"
            )
            for name, role, team in USERS:
                username = f"{sid.lower()}-{name}"
                store.add_user(con, username, PASSWORD, station_id=sid, role=role, team_id=team)
                users[(sid, name)] = username
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return {"database": database, "plans": plans, "users": users}


def route_stops(database, station: str, team: str) -> list[dict]:
    """The stops of ``team``'s routes in the station's plan: what a check-in names, and where."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(database)
    try:
        plan_id = con.execute(
            "SELECT id FROM plans WHERE station_id=? ORDER BY id DESC", (station,)
        ).fetchone()[0]
        plan = store.plan_from_row(store.get_plan_row(con, plan_id, station))
    finally:
        con.close()
    out = []
    for s in plan.slices:
        for k, route in enumerate(s.routes):
            if route.patroller_id != team:
                continue
            for i, stop in enumerate(route.stops):
                out.append(
                    {
                        "plan_id": plan_id,
                        "slice_id": s.slice_id,
                        "route_index": k,
                        "stop_index": i,
                        "micro_id": stop.micro_id,
                        "lon": stop.lon,
                        "lat": stop.lat,
                        "dom_id": f"stop-{plan_id}-{s.slice_id}-{k}-{i}",
                    }
                )
    return out
