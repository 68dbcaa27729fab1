"""Fill an empty store with the bundled demo station, so the UI has something to show.

``gridplan serve --demo`` calls :func:`seed_demo` on first start: the demo station's config,
its 1+5+N grid, the 2015-2021 incidents, hot spots, the street network (a GeoPackage in the
instance folder) and two plans, made by the same functions an officer's imports and plans go
through: the demo day's (:data:`~gridplan.pipeline.DEMO_PLAN_DATE`, the day the README and
notebooks show) and today's, the station's own date (:func:`plan_demo_today`), so the
patrollers' phone page has routes to show whenever the demo is tried. A later
``gridplan serve --demo`` on another day plans that day too (:func:`demo_day_to_plan`). It
also creates one login per role with a random password, written to ``demo-logins.txt``
(mode 600) in the instance folder and printed by ``gridplan serve``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from gridplan.pipeline import DEMO_PLAN_DATE
from gridplan.web import store
from gridplan.web.db import connect

DEMO_USERS = (
    ("admin", "admin", None, "演示管理员 Demo admin"),
    ("officer", "officer", None, "演示民警 Demo officer"),
    ("lead", "volunteer_lead", "V01", "义警队长 Volunteer lead V01"),
    ("analyst", "analyst", None, "演示分析员 Demo analyst"),
    ("patrol", "patroller", "V01", "巡逻队员 Patroller V01"),
)
LOGINS_FILE = "demo-logins.txt"


def has_stations(database: str | Path) -> bool:
    """Whether the store holds any station."""
    con = connect(database)
    try:
        return con.execute("SELECT COUNT(*) FROM stations").fetchone()[0] > 0
    finally:
        con.close()


def seed_demo(
    database: str | Path,
    instance: str | Path,
    *,
    data_dir: str | Path | None = None,
    plan_time_limit_s: float = 3.0,
    plan_work_limit: int | None = None,
    plan_today: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, str]:
    """Load the demo station into the store at ``database``; return ``{username: password}``.

    Parameters
    ----------
    database
        The store (created by :func:`gridplan.web.db.init_store`).
    instance
        The instance folder; the street network goes to ``networks/``.
    data_dir
        The demo data (default: the bundled ``data/`` folder).
    plan_time_limit_s
        Solver seconds per slice for the demo plan; 0 skips the plan.
    plan_work_limit
        A work limit for the demo plan, so that it is the same on any machine load (tests).
    plan_today
        Also plan the station's today (:func:`plan_demo_today`), for the phone page.
    say
        Receives one line per step.
    """
    from gridplan.network.graphs import save_network
    from gridplan.pipeline import find_demo_data
    from gridplan.pipeline import run_station

    data = find_demo_data(data_dir)
    instance = Path(instance)
    con = connect(database)
    try:
        toml_path = data / "station.toml"
        sid = store.add_station(con, toml_path.read_text("utf-8"), source=str(toml_path))
        cfg = store.station_config(con, sid)
        say(f"demo station {sid}: {cfg.station_name}")
        run = run_station(
            data,
            config=cfg,
            plan_date=DEMO_PLAN_DATE if plan_time_limit_s > 0 else None,
            time_limit_s=plan_time_limit_s,
            seed=1,
            work_limit=plan_work_limit,
            progress=_stage_lines(say),
        )
        grid_id, _ = store.save_grid(
            con,
            sid,
            run.grid,
            source_name="grid.geojson",
            username="demo",
            report=run.report.summary(),
        )
        result = run.imported
        store.save_incident_batch(
            con, sid, result, source_name=run.incidents_file.name, username="demo"
        )
        say(f"  {len(result.incidents):,} incidents imported")
        run_id = store.save_hotspots(
            con, sid, grid_id, run.hotspots, n_incidents=len(result.incidents), username="demo"
        )
        say("  hot spots computed")
        if run.network is not None:
            path = save_network(run.network, instance / "networks" / f"{sid}.gpkg")
            store.add_network(
                con, sid, str(path), fingerprint=run.network.fingerprint, source=run.streets.name
            )
            say(f"  street network built from {run.streets.name}")
        if run.plan is not None:
            store.save_plan(
                con,
                sid,
                run.plan,
                grid_id=grid_id,
                hotspot_run_id=run_id,
                params={"date": DEMO_PLAN_DATE, "seed": 1, "demo": True},
                username="demo",
            )
            say(f"  patrol plan for {DEMO_PLAN_DATE} made")
        logins = {}
        for username, role, team, display in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            store.add_user(
                con,
                username,
                password,
                station_id=sid,
                role=role,
                team_id=team,
                display_name=display,
            )
            logins[username] = password
        store.audit(con, "demo", sid, "seed_demo", str(data))
    finally:
        con.close()
    _write_logins(instance / LOGINS_FILE, logins)
    if plan_today and plan_time_limit_s > 0:
        plan_demo_today(
            database, time_limit_s=plan_time_limit_s, work_limit=plan_work_limit, say=say
        )
    return logins


def demo_day_to_plan(
    database: str | Path, *, today: dt.date | None = None
) -> tuple[str, dt.date] | None:
    """The demo station and its today (station time) when that day has no plan yet, else ``None``.

    The demo station is the one :func:`seed_demo` loaded (its ``seed_demo`` audit entry); a
    store without one gives ``None``.
    """
    con = connect(database)
    try:
        row = con.execute(
            "SELECT station_id FROM audit WHERE action='seed_demo' ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None or store.get_station(con, row["station_id"]) is None:
            return None
        sid = row["station_id"]
        day = today or dt.datetime.now(store.station_config(con, sid).tz).date()
        if store.current_plan(con, sid, day.isoformat()) is not None:
            return None
        return sid, day
    finally:
        con.close()


def plan_demo_today(
    database: str | Path,
    *,
    time_limit_s: float = 3.0,
    work_limit: int | None = None,
    today: dt.date | None = None,
    say: Callable[[str], None] = print,
) -> int | None:
    """Plan the demo station's today (all its slices), unless the day has a plan; return its id.

    With the stored grid, hot spots and street network, as an officer's plan of the day
    would be; ``today`` (default: the station's date now) for tests.
    """
    from gridplan.network.graphs import load_network
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    due = demo_day_to_plan(database, today=today)
    if due is None:
        return None
    sid, day = due
    con = connect(database)
    try:
        grid_row = store.latest_grid(con, sid)
        run = store.latest_hotspot_run(con, sid)
        if grid_row is None or run is None:
            return None
        net_row = store.latest_network(con, sid)
        plan = plan_patrols(
            store.load_grid(con, grid_row["id"]),
            store.load_hotspots(con, run["id"]),
            load_network(net_row["path"]) if net_row is not None else None,
            store.station_config(con, sid),
            PlanRequest(day, seed=1),
            params=SolveParams(time_limit_s=time_limit_s, work_limit=work_limit),
        )
        plan_id, _ = store.save_plan(
            con,
            sid,
            plan,
            grid_id=grid_row["id"],
            hotspot_run_id=run["id"],
            params={"date": day.isoformat(), "seed": 1, "demo": True},
            username="demo",
        )
        store.audit(con, "demo", sid, "plan", f"plan {plan_id}", {"date": day.isoformat()})
    finally:
        con.close()
    say(f"  patrol plan for today ({day.isoformat()}) made, for the patrol phone page")
    return plan_id


def _write_logins(path: Path, logins: dict[str, str]) -> None:
    roles = {u: r for u, r, _t, _d in DEMO_USERS}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for user, password in logins.items():
            f.write(f"{user}\t{password}\t{roles.get(user, '')}\n")


def read_logins(instance: str | Path) -> list[tuple[str, str, str]]:
    """The demo logins written by :func:`seed_demo`: (user, password, role) rows."""
    path = Path(instance) / LOGINS_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows


#: what the long stages of the pipeline report, as a first start shows them
_STAGE_LINES = {
    "import incidents": "  importing the incidents…",
    "hotspots": "  computing hot spots per micro-grid and slice…",
    "read OSM": "  building the street network…",
    "build networks": "  building the street network…",
    "plan": "  planning the demo day's patrols…",
}


def _stage_lines(say: Callable[[str], None]):
    """A progress callback that says once when each long stage starts (a first start waits)."""
    said: set[str] = set()

    def progress(stage: str, _done: int, _total: int) -> None:
        for prefix, line in _STAGE_LINES.items():
            if stage.startswith(prefix) and line not in said:
                said.add(line)
                say(line)

    return progress
