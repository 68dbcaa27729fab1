"""Background jobs: hot-spot runs after imports, and patrol plans.

A job is a row of the ``jobs`` table; pages poll it for progress. Jobs run one at a time per
server in a worker thread. A plan is solved in a separate process (``spawn``): the solver
forks its own workers, which is only safe from a single-threaded process, and a crash of the
solver cannot take the web server down. The job process writes progress and the result to
the store itself. On start the server marks jobs a previous run left unfinished as failed.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from flask import current_app

from gridplan._errors import GridplanError
from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.db import now

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Fail jobs a stopped server left behind and create the app's job runner."""
    con = connect(app.config["DATABASE"])
    try:
        n = store.fail_interrupted_jobs(con)
    finally:
        con.close()
    if n:
        log.warning("%d unfinished job(s) of a previous run marked as failed", n)
    app.extensions["gridplan_jobs"] = ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="gridplan-job"
    )


def _submit(job_id: int) -> None:
    app = current_app._get_current_object()
    database = app.config["DATABASE"]
    options = {
        "time_limit_s": float(app.config["PLAN_TIME_LIMIT_S"]),
        "workers": app.config["PLAN_WORKERS"],
    }
    if app.config["JOBS_INLINE"]:
        run_job(database, job_id, options)
    else:
        app.extensions["gridplan_jobs"].submit(_run_in_thread, database, job_id, options)


def _run_in_thread(database: str, job_id: int, options: dict[str, Any]) -> None:
    con = connect(database)
    try:
        kind = con.execute("SELECT kind FROM jobs WHERE id=?", (job_id,)).fetchone()["kind"]
        if kind == "plan":
            ctx = multiprocessing.get_context("spawn")
            proc = ctx.Process(target=run_job, args=(database, job_id, options), daemon=True)
            proc.start()
            proc.join()
            row = con.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row["status"] not in ("done", "failed"):
                store.update_job(
                    con,
                    job_id,
                    status="failed",
                    error=f"the planning process stopped unexpectedly (exit code {proc.exitcode})",
                    finished_at=now(),
                )
        else:
            run_job(database, job_id, options)
    except Exception:  # pragma: no cover - logged; the job row says failed
        log.exception("job %s", job_id)
    finally:
        con.close()


def start_hotspots(station_id: str, username: str) -> int:
    """Queue a hot-spot run on the station's newest grid and all its incidents."""
    from gridplan.web.db import get_db

    job_id = store.add_job(get_db(), station_id, "hotspots", {}, username)
    _submit(job_id)
    return job_id


def start_plan(station_id: str, username: str, params: dict[str, Any]) -> int:
    """Queue a patrol plan with the officer's ``params`` (see :func:`plan_job`)."""
    from gridplan.web.db import get_db

    job_id = store.add_job(get_db(), station_id, "plan", params, username)
    _submit(job_id)
    return job_id


def run_job(database: str, job_id: int, options: dict[str, Any]) -> None:
    """Run job ``job_id`` to its end, recording progress, result or error in the store."""
    con = connect(database)
    try:
        job = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        store.update_job(con, job_id, status="running", stage="start")
        params = json.loads(job["params_json"])
        try:
            if job["kind"] == "hotspots":
                result = hotspot_job(con, job["station_id"], job["created_by"])
            elif job["kind"] == "plan":
                result = plan_job(
                    con, job_id, job["station_id"], job["created_by"], params, options
                )
            else:  # pragma: no cover - only the two kinds are ever queued
                msg = f"unknown job kind {job['kind']!r}"
                raise ValueError(msg)
        except GridplanError as exc:
            store.update_job(con, job_id, status="failed", error=str(exc), finished_at=now())
            return
        except Exception as exc:
            log.error("job %s failed:\n%s", job_id, traceback.format_exc())
            store.update_job(
                con,
                job_id,
                status="failed",
                error=f"internal error ({type(exc).__name__}); the server log has the details",
                finished_at=now(),
            )
            return
        store.update_job(con, job_id, status="done", result_id=result, finished_at=now())
    finally:
        con.close()


def hotspot_job(con, station_id: str, username: str) -> int | None:
    """Compute hot spots for the station's newest grid and every incident; return the run id."""
    from gridplan.hotspots import compute_hotspots

    grid_row = store.latest_grid(con, station_id)
    if grid_row is None:
        return None
    cfg = store.station_config(con, station_id)
    incidents = store.load_incidents(con, station_id, cfg.timezone)
    if incidents.empty:
        return None
    hot = compute_hotspots(store.load_grid(con, grid_row["id"]), incidents, config=cfg)
    return store.save_hotspots(
        con, station_id, grid_row["id"], hot, n_incidents=len(incidents), username=username
    )


def _configured(cfg, params: dict[str, Any]):
    """The station config with the officer's choice of patrollers and dwell minutes."""
    import dataclasses
    from types import MappingProxyType

    roster = cfg.roster
    chosen = params.get("patrollers")
    if chosen is not None:
        unknown = sorted(set(chosen) - {p.id for p in roster})
        if unknown:
            msg = f"patrollers {', '.join(unknown)} are not in the station's roster"
            raise GridplanError(msg)
        roster = tuple(p for p in roster if p.id in set(chosen))
        if not roster:
            msg = "no patroller chosen: tick at least one who is available"
            raise GridplanError(msg)
    policy = cfg.patrol
    dwell = params.get("dwell_min")
    if dwell:
        lo, hi = policy.dwell_bounds_min
        merged = {**policy.dwell_min, **{k: int(v) for k, v in dwell.items()}}
        bad = {k: v for k, v in merged.items() if not lo <= v <= hi}
        if bad:
            msg = (
                f"dwell minutes {bad} are outside the policy's {lo}-{hi} minutes (hot-spot "
                "research: 10-15 minutes of presence); choose values in that range"
            )
            raise GridplanError(msg)
        policy = dataclasses.replace(policy, dwell_min=MappingProxyType(merged))
    return dataclasses.replace(cfg, roster=roster, patrol=policy)


def plan_job(
    con, job_id: int, station_id: str, username: str, params: dict[str, Any], options: dict
) -> int:
    """Plan the day the officer asked for and store it as a new plan version; return its id."""
    from gridplan.routing.network import load_network
    from gridplan.routing.planner import plan_patrols

    grid_row = store.latest_grid(con, station_id)
    run = store.latest_hotspot_run(con, station_id)
    if grid_row is None or run is None or run["grid_id"] != grid_row["id"]:
        msg = "the station has no hot spots for its current grid yet: import incidents first"
        raise GridplanError(msg)
    net_row = store.latest_network(con, station_id)
    network = load_network(net_row["path"]) if net_row is not None else None
    cfg = _configured(store.station_config(con, station_id), params)

    def progress(stage: str, done: int, total: int) -> None:
        store.update_job(con, job_id, stage=stage, done=int(done), total=int(total))

    plan = plan_patrols(
        store.load_grid(con, grid_row["id"]),
        store.load_hotspots(con, run["id"]),
        network,
        cfg,
        date=params["date"],
        slices=params.get("slices") or None,
        time_limit_s=float(params.get("time_limit_s") or options["time_limit_s"]),
        seed=int(params.get("seed", 0)),
        workers=options.get("workers"),
        pinned=params.get("pinned", ()),
        exclude=params.get("exclude", ()),
        progress=progress,
    )
    plan_id, _version = store.save_plan(
        con,
        station_id,
        plan,
        grid_id=grid_row["id"],
        hotspot_run_id=run["id"],
        params=params,
        username=username,
        parent_id=params.get("parent_id"),
    )
    store.audit(con, username, station_id, "plan", f"plan {plan_id}", {"job": job_id, **params})
    return plan_id
