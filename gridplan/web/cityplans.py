"""Every stored station's plan of a day on a Dask cluster, each plan saved in the store.

``gridplan city plan --store DATABASE`` plans the stations of the web UI's store rather than
those of a city file: for each station, its newest grid, the hot spots of that grid and its
street network, as the web UI's plan job (:func:`gridplan.web.jobs.plan_job`) takes them. The
store is the web UI's SQLite file or a PostgreSQL URL (as the application's role: the command
plans every station, the scope of the command line). The inputs, the street network
included, are read here and sent with the task (:func:`gridplan.city.plans.plan_inputs`), so
a worker on another machine needs neither the store nor the instance folder; each plan is
saved as it arrives as the next version of its station's plan for the day, in one transaction
(:func:`gridplan.web.store.save_plan`): a plan is in the store whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from gridplan._errors import InputError
from gridplan._progress import ProgressCallback
from gridplan.city.plans import CityPlanParams
from gridplan.city.plans import CityPlanReport
from gridplan.city.plans import plan_inputs
from gridplan.city.plans import run_station_tasks
from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.dialect import is_postgres
from gridplan.web.dialect import redact

if TYPE_CHECKING:
    import sqlite3

    from distributed import Client

#: Who the store records as the author of the plans (``created_by``) and in the audit log.
CITY_USER = "city-plan"


def check_store(database: str | Path) -> None:
    """Raise an error that names the store unless it is there (and, on PostgreSQL, current).

    The command checks the store before it starts or reaches a cluster.

    Raises
    ------
    InputError
        If the SQLite file is missing, or the PostgreSQL server cannot be reached.
    StoreError
        If the PostgreSQL store is not at this gridplan's schema revision.
    """
    import sqlalchemy.exc

    from gridplan.web.schema_tool import check_current

    database = str(database)
    if not is_postgres(database):
        if not Path(database).is_file():
            msg = (
                f"{database}: no store there; give the web UI's instance/gridplan.sqlite or "
                "its postgresql:// URL"
            )
            raise InputError(msg)
        return
    try:
        check_current(database)
    except sqlalchemy.exc.OperationalError as exc:
        msg = (
            f"{redact(database)}: cannot connect to the store ({exc.orig}); check the URL's "
            "host, port, database and role, and that PostgreSQL runs there"
        )
        raise InputError(msg) from exc


def _station_ids(con: sqlite3.Connection, wanted: list[str] | None) -> list[str]:
    known = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
    if not wanted:
        return known
    missing = [s for s in wanted if s not in known]
    if missing:
        msg = (
            f"no station {', '.join(map(repr, missing))} in the store; it has "
            f"{', '.join(known) or 'none'} (add one with `gridplan stations add`)"
        )
        raise InputError(msg)
    return list(dict.fromkeys(wanted))


def stored_tasks(
    con: sqlite3.Connection, station_ids: list[str], params: CityPlanParams
) -> tuple[dict[str, tuple[Callable, tuple]], dict[str, tuple[int, int]], dict[str, str]]:
    """Return the stations' tasks, their ``(grid_id, hotspot_run_id)`` and those that cannot run.

    A station without a grid, or without hot spots of its newest grid, cannot be planned: it
    is returned with the reason (it counts as failed) and the others go on.
    """
    from gridplan.network.graphs import load_network

    tasks, used, skipped = {}, {}, {}
    for sid in station_ids:
        grid_row = store.latest_grid(con, sid)
        run = store.latest_hotspot_run(con, sid)
        if grid_row is None or run is None or run["grid_id"] != grid_row["id"]:
            skipped[sid] = (
                "InputError: the station has no hot spots for its current grid yet: import "
                "incidents first"
            )
            continue
        net_row = store.latest_network(con, sid)
        args = (
            store.load_grid(con, grid_row["id"]),
            store.load_hotspots(con, run["id"]),
            load_network(net_row["path"]) if net_row is not None else None,
            store.station_config(con, sid),
            params,
        )
        tasks[sid] = (plan_inputs, args)
        used[sid] = (int(grid_row["id"]), int(run["id"]))
    return tasks, used, skipped


def plan_stored_city(
    database: str | Path,
    params: CityPlanParams,
    *,
    client: Client,
    station_ids: list[str] | None = None,
    progress: ProgressCallback | None = None,
) -> CityPlanReport:
    """Plan the store's stations for ``params.date`` on a cluster; save each plan in the store.

    Parameters
    ----------
    database
        The web UI's store: its SQLite file (``instance/gridplan.sqlite``) or its
        ``postgresql://`` URL.
    params
        The day and solver settings.
    client
        A Dask client (:func:`gridplan.city.cluster.connect`).
    station_ids
        The stations to plan (default: every station of the store).
    progress
        Receives ``("plan STATION: written" or "... failed", done, total)``.

    Returns
    -------
    CityPlanReport
        ``written`` holds ``"plan ID version V"`` per station.

    Raises
    ------
    InputError
        If the store is missing or a station asked for is not in it.
    """
    database = str(database)
    check_store(database)
    con = connect(database)
    try:
        ids = _station_ids(con, station_ids)
        tasks, used, skipped = stored_tasks(con, ids, params)
        asked = {"date": params.date, "slices": params.slices, "seed": params.seed}
        asked["city"] = {"time_limit_s": params.time_limit_s}

        def write(sid: str, plan) -> str:
            grid_id, run_id = used[sid]
            plan_id, version = store.save_plan(
                con,
                sid,
                plan,
                grid_id=grid_id,
                hotspot_run_id=run_id,
                params=asked,
                username=CITY_USER,
            )
            store.audit(con, CITY_USER, sid, "plan", f"plan {plan_id}", {"city": True})
            return f"plan {plan_id} version {version}"

        done = run_station_tasks(
            tasks, client=client, retries=params.retries, write=write, progress=progress
        )
    finally:
        con.close()
    return CityPlanReport(
        written=done.written,
        failed=MappingProxyType({**skipped, **done.failed}),
        seconds=done.seconds,
    )
