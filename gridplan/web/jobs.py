"""Background jobs: imports of uploaded files, hot-spot runs after them, patrol plans, purges.

A job is a row of the ``jobs`` table, and the table is the queue: pages add rows and poll them
for progress; in every server process a dispatcher thread claims queued rows (atomically, in
the store, so each job runs once however many processes share the store) and runs each in a
job process of its own, ``python -m gridplan.web.jobs``. The job process

- is an ordinary process, not a daemon, so the solver can start one search process per core
  (``PLAN_WORKERS``, default every core the server may use);
- starts from a fresh interpreter (no fork of a threaded server, whose locks and OpenMP
  thread pools a child must not inherit);
- cannot take the web server down when it crashes or runs out of memory;
- writes progress, the result or the error to the store itself, and renews its lease
  (``heartbeat_at``) every few seconds. A job whose lease runs out (its process was killed,
  or the server that watched it died) is marked *interrupted* by whichever server looks next.

``JOB_SLOTS`` jobs of each kind run at once per store (default 1: a plan uses every core; a
second officer's plan waits in the queue rather than halving the first one's search), and
``IMPORT_SLOTS`` imports (default 2). The dispatcher watches each job it claims from a thread
of its own, so an import never waits behind a plan that takes minutes.

With ``DASK_SCHEDULER`` set (``tcp://HOST:8786``) plans are computed on that Dask cluster
(:mod:`gridplan.city.remote`): the job process reads the plan's inputs from the store, sends
them with the task (a worker needs neither the store nor the station's files), shows the
task's progress, and saves the plan in one transaction as it does without the cluster.
``DASK_PLAN_SLOTS`` plans (default 8) then run at once, each on a worker, instead of
``JOB_SLOTS``. A scheduler that cannot be reached, or has no worker, fails the job with a
message in the officer's language; the plan is not made on the web server instead (the
server was sized for waiting on the cluster, not for several searches at once).

An import job (:mod:`gridplan.web.importjob`) reads a file from outside. Its process limits
its own address space to ``IMPORT_MEMORY_MB`` before it reads (``RLIMIT_AS``: a reader that
asks for more gets a ``MemoryError``, which ends as the limit's message), and its watcher
kills it after ``IMPORT_TIME_LIMIT_S`` seconds; either way the job fails with a message that
names the file, the limit and the setting that raises it.

Once a day per station the dispatcher queues a ``purge`` job that deletes raw positions older
than the station's retention (:mod:`gridplan.web.retention`).

Failed and interrupted jobs keep their reason (text and a language-independent code) and get
an audit entry; the plan list shows them with "try again".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING
from typing import Any

from flask import Flask
from flask import current_app

from gridplan._errors import GridplanError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define
from gridplan.city import remote
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import exceeded
from gridplan.web import store
from gridplan.web import uploads
from gridplan.web.db import connect
from gridplan.web.db import now

if TYPE_CHECKING:
    from gridplan.routing.request import PlanRequest

log = logging.getLogger(__name__)

# Errors of plan jobs that reach the officer, stored as messages (shown in the UI's language);
# a plan request's own problems are gridplan.routing.request's.
_E_NO_HOTSPOTS = define(
    "jobs.no_hotspots",
    N_("the station has no hot spots for its current grid yet: import incidents first"),
)

_E_CANCELLED = define("jobs.cancelled", N_("%(name)s: the import was cancelled"))

# Errors of plan jobs sent to the Dask cluster (DASK_SCHEDULER)
_E_CLUSTER_UNREACHABLE = define(
    "jobs.cluster_unreachable",
    N_(
        "the computing cluster cannot be reached (Dask scheduler %(address)s), so the plan "
        "was not made; start it again in a few minutes, and tell the administrator if it "
        "happens again"
    ),
)
_E_CLUSTER_NO_WORKERS = define(
    "jobs.cluster_no_workers",
    N_(
        "the computing cluster (Dask scheduler %(address)s) has no worker running, so the "
        "plan was not made; tell the administrator, then start it again"
    ),
)
_E_CLUSTER_LOST = define(
    "jobs.cluster_lost",
    N_(
        "the computing cluster lost the plan (its workers stopped too often, or the Dask "
        "scheduler %(address)s went away); start it again"
    ),
)

#: seconds between two heartbeats of a job process
HEARTBEAT_S = 5.0
#: seconds between two looks at the queue when nobody wakes the dispatcher
POLL_S = 2.0
#: seconds between two looks for stations due a purge of old positions (one a day each), and
#: before the first look (a server that just started has pages to serve first)
PURGE_CHECK_S = 3600.0
PURGE_FIRST_S = 60.0

_DISPATCHERS: dict[tuple[int, str], _Dispatcher] = {}
_DISPATCHERS_LOCK = threading.Lock()


def init_app(app: Flask) -> None:
    """Mark jobs whose lease ran out as interrupted; start dispatchers in each server process.

    With gunicorn the app is made before the workers fork, so the dispatcher thread starts on
    a worker's first request (threads do not survive a fork).
    """
    con = connect(app.config["DATABASE"])
    try:
        stale = store.expire_stale_jobs(con, lease_s=float(app.config["JOB_LEASE_S"]))
    finally:
        con.close()
    if stale:
        log.warning("job(s) %s of a stopped server marked as interrupted", stale)
    if not app.config["JOBS_INLINE"]:
        app.before_request(_ensure_dispatcher)


def _options(app: Flask) -> dict[str, Any]:
    return {
        "time_limit_s": float(app.config["PLAN_TIME_LIMIT_S"]),
        "workers": app.config["PLAN_WORKERS"],
        "uploads": str(uploads.root(app.instance_path)),
        "limits": dataclasses.asdict(ReadLimits.from_mapping(app.config)),
        "dask_scheduler": app.config["DASK_SCHEDULER"] or None,
        "dask_timeout_s": float(app.config["DASK_CONNECT_TIMEOUT_S"]),
    }


def _kind_slots(app: Flask) -> dict[str, int]:
    """Slots of the kinds that do not share ``JOB_SLOTS``: imports, and plans on a cluster."""
    slots = {"import": int(app.config["IMPORT_SLOTS"])}
    if app.config["DASK_SCHEDULER"]:
        slots["plan"] = int(app.config["DASK_PLAN_SLOTS"])
    return slots


def _ensure_dispatcher() -> None:
    dispatcher(current_app._get_current_object())


def dispatcher(app: Flask) -> _Dispatcher:
    """Return the dispatcher of the app's store in this process, started on first use."""
    key = (os.getpid(), app.config["DATABASE"])
    with _DISPATCHERS_LOCK:
        found = _DISPATCHERS.get(key)
        if found is None:
            found = _DISPATCHERS[key] = _Dispatcher(
                app.config["DATABASE"],
                _options(app),
                slots=int(app.config["JOB_SLOTS"]),
                kind_slots=_kind_slots(app),
                lease_s=float(app.config["JOB_LEASE_S"]),
            )
        return found


class _Dispatcher:
    """Claims queued jobs of one store and runs each in its own job process.

    Each claimed job is watched by a thread of its own (it waits for the job process, kills
    an import at its time limit and fails a job whose process ended without a word), so the
    dispatcher claims the next job of another kind at once.
    """

    def __init__(
        self,
        database: str,
        options: dict[str, Any],
        *,
        slots: int,
        lease_s: float,
        kind_slots: dict[str, int] | None = None,
    ):
        self.database = database
        self.options = options
        self.slots = slots
        self.kind_slots = dict(kind_slots or {})
        self.lease_s = lease_s
        self.runner = f"{socket.gethostname()}:{os.getpid()}"
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="gridplan-jobs", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        from gridplan.web.retention import RETENTION_USER

        con = connect(self.database)
        purges_due = time.monotonic() + PURGE_FIRST_S
        while True:
            try:
                if time.monotonic() >= purges_due:
                    store.queue_daily_jobs(con, "purge", RETENTION_USER)
                    purges_due = time.monotonic() + PURGE_CHECK_S
                store.expire_stale_jobs(con, lease_s=self.lease_s)
                job = store.claim_job(
                    con, self.runner, slots=self.slots, kind_slots=self.kind_slots
                )
                if job is None:
                    self.wake.wait(POLL_S)
                    self.wake.clear()
                    continue
                threading.Thread(
                    target=self._watch, args=(job,), name=f"gridplan-job-{job['id']}", daemon=True
                ).start()
            except Exception:  # pragma: no cover - logged; the loop goes on
                log.exception("job dispatcher")
                time.sleep(POLL_S)

    def _watch(self, job) -> None:
        con = connect(self.database)
        try:
            self._run(con, job)
        except Exception:  # pragma: no cover - logged; the lease ends the job
            log.exception("job %s watcher", job["id"])
        finally:
            con.close()
            self.wake.set()  # a slot is free: look at the queue now

    def _run(self, con, job) -> None:
        # a PostgreSQL URL carries a password: it goes in the environment, not the command line
        env = {**os.environ, JOB_DATABASE_ENV: self.database}
        cmd = [
            sys.executable,
            "-m",
            "gridplan.web.jobs",
            "-",
            str(job["id"]),
            json.dumps(self.options),
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env)
        store.update_job(con, job["id"], runner=f"{socket.gethostname()}:{proc.pid}")
        limit = self.options["limits"]["max_seconds"] if job["kind"] == "import" else None
        started = time.monotonic()
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            name = json.loads(job["params_json"]).get("name", "?")
            error = exceeded("max_seconds", time.monotonic() - started, limit, name)
            store.fail_job(con, job["id"], code="time_limit", error=error)
            return
        row = con.execute("SELECT status FROM jobs WHERE id=?", (job["id"],)).fetchone()
        if row["status"] in ("queued", "running"):
            kind, error = _failure(job, code, self.options)
            store.fail_job(con, job["id"], code=kind, error=error)


#: How an import's job process ends when its reader meets ``RLIMIT_AS`` inside C code (a
#: failed allocation aborts or faults), or the kernel's OOM killer ends it.
_MEMORY_SIGNALS = {-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS}


def _failure(job, exit_code: int, options: dict[str, Any]) -> tuple[str, Message | str]:
    """``(code, message)`` of a job whose process ended without a result."""
    if job["kind"] == "import":
        name = json.loads(job["params_json"]).get("name", "?")
        limits = options["limits"]
        if exit_code in _MEMORY_SIGNALS:
            limit = limits["max_memory_bytes"]
            return "memory", exceeded("max_memory_bytes", limit, limit, name)
        if exit_code == -signal.SIGXCPU:  # the CPU backstop of an orphaned job process
            limit = limits["max_seconds"]
            return "time_limit", exceeded("max_seconds", limit, limit, name)
    return ("killed" if exit_code == -9 else "crashed"), crash_message(exit_code)


def crash_message(exit_code: int) -> str:
    """Why a job process ended without a result, from its exit code."""
    if exit_code == -9:
        return (
            "the job's process was killed (signal 9, often the system running out of memory); "
            "start it again, with fewer slices or patrollers if it happens again"
        )
    if exit_code < 0:
        return f"the job's process was stopped by signal {-exit_code}; start it again"
    return f"the job's process stopped unexpectedly (exit code {exit_code}); start it again"


def _submit(job_id: int) -> None:
    app = current_app._get_current_object()
    if app.config["JOBS_INLINE"]:
        _run_inline(app.config["DATABASE"], job_id, {**_options(app), "inline": True})
    else:
        dispatcher(app).wake.set()


def _run_inline(database: str, job_id: int, options: dict[str, Any]) -> None:
    """Run job ``job_id`` in this process (``JOBS_INLINE``: tests, no resource limits)."""
    con = connect(database)
    try:
        store.update_job(con, job_id, status="running", stage="start", heartbeat_at=now())
    finally:
        con.close()
    run_job(database, job_id, options)


def start_hotspots(station_id: str, username: str) -> int:
    """Queue a hot-spot run on the station's newest grid and all its incidents."""
    from gridplan.web.db import get_db

    job_id = store.add_job(get_db(), station_id, "hotspots", {}, username)
    _submit(job_id)
    return job_id


def start_import(station_id: str, username: str, params: dict[str, Any]) -> int:
    """Queue an import job that reads a kept upload (see :mod:`gridplan.web.importjob`).

    ``params``: ``token`` and ``name`` of the upload, the ``step`` and its choices.
    """
    from gridplan.web.db import get_db

    job_id = store.add_job(get_db(), station_id, "import", params, username)
    _submit(job_id)
    return job_id


def cancel_imports(station_id: str, token: str) -> list[int]:
    """Fail the queued or running import jobs of upload ``token``; return their ids.

    A running job process sees it at its next heartbeat and stops; an import that has read
    its file checks it before it stores anything.
    """
    from gridplan.web.db import get_db

    con = get_db()
    rows = con.execute(
        "SELECT id, params_json FROM jobs WHERE station_id=? AND kind='import' AND status IN "
        "('queued', 'running') AND json_extract(params_json, '$.token')=?",
        (station_id, token),
    ).fetchall()
    for row in rows:
        name = json.loads(row["params_json"]).get("name", "?")
        store.fail_job(con, row["id"], code="cancelled", error=_E_CANCELLED(name=name))
    return [int(r["id"]) for r in rows]


def start_plan(
    station_id: str, username: str, request: PlanRequest, *, presence_days: int | None = None
) -> int:
    """Queue a patrol plan of the officer's ``request`` (see :func:`plan_job`).

    ``presence_days``: look back this many days for what patrols actually did (check-ins,
    tracks, kept presence) and plan with it; ``None``: plan without.
    """
    from gridplan.web.db import get_db

    params = {**request.to_dict(), "presence_days": presence_days}
    job_id = store.add_job(get_db(), station_id, "plan", params, username)
    _submit(job_id)
    return job_id


class _Heartbeat:
    """Renews a job's lease every ``HEARTBEAT_S`` seconds while the job process works.

    With ``exit_when_ended`` (an import's own job process) the process ends itself at the
    first beat after the job was ended from outside (cancelled by the officer).
    """

    def __init__(self, database: str, job_id: int, *, exit_when_ended: bool = False):
        self.stop = threading.Event()
        self.exit_when_ended = exit_when_ended
        self.thread = threading.Thread(
            target=self._beat, args=(database, job_id), name="gridplan-heartbeat", daemon=True
        )

    def _beat(self, database: str, job_id: int) -> None:
        con = connect(database)
        try:
            while not self.stop.wait(HEARTBEAT_S):
                store.beat_job(con, job_id)
                if self.exit_when_ended and _ended(con, job_id):
                    log.warning("job %s was ended from outside; its process stops", job_id)
                    os._exit(0)
        finally:
            con.close()

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _ended(con, job_id: int) -> bool:
    row = con.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()
    return row is None or row["status"] != "running"


def run_job(database: str, job_id: int, options: dict[str, Any]) -> None:
    """Run claimed job ``job_id`` to its end, recording progress, result or error in the store."""
    con = connect(database)
    try:
        job = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        # PostgreSQL: the job reads and writes its own station's rows only (row-level security)
        if getattr(con, "dialect", "sqlite") == "postgresql":
            con.station = job["station_id"]
        params = json.loads(job["params_json"])
        own_process = job["kind"] == "import" and not options.get("inline")
        try:
            with _Heartbeat(database, job_id, exit_when_ended=own_process):
                result = _run_kind(database, con, job, params, options)
        except GridplanError as exc:
            code = getattr(exc, "job_code", "error")
            store.fail_job(con, job_id, code=code, error=exc.message or str(exc))
            return
        except Exception as exc:
            log.error("job %s failed:\n%s", job_id, traceback.format_exc())
            error = f"internal error ({type(exc).__name__}); the server log has the details"
            store.fail_job(con, job_id, code="internal", error=error)
            return
        if not _ended(con, job_id):  # a cancelled job stays cancelled
            store.update_job(con, job_id, status="done", result_id=result, finished_at=now())
    finally:
        con.close()


def _run_kind(database: str, con, job, params: dict, options: dict[str, Any]) -> int | None:
    if job["kind"] == "hotspots":
        return hotspot_job(con, job["station_id"], job["created_by"])
    if job["kind"] == "plan":
        return plan_job(con, job["id"], job["station_id"], job["created_by"], params, options)
    if job["kind"] == "purge":
        from gridplan.web.retention import purge_station

        purge_station(con, job["station_id"], username=job["created_by"])
        return None
    if job["kind"] == "import":
        from gridplan.web.importjob import run_import

        result, hotspots = run_import(con, job, params, options)
        if hotspots:  # the dispatcher takes it when this job ends; inline, it runs now
            hot = store.add_job(con, job["station_id"], "hotspots", {}, job["created_by"])
            if options.get("inline"):
                _run_inline(database, hot, options)
        return result
    msg = f"unknown job kind {job['kind']!r}"  # pragma: no cover - only four kinds are queued
    raise ValueError(msg)


def hotspot_job(con, station_id: str, username: str) -> int | None:
    """Compute hot spots for the station's newest grid and every incident; return the run id.

    The station's forecast is chosen here (once per import, not per plan) and becomes the
    run's ``score``, the plan prize (:func:`gridplan.forecast.station.forecast_hotspots`).
    """
    from gridplan.analysis.hotspots import compute_hotspots
    from gridplan.forecast.station import forecast_hotspots

    grid_row = store.latest_grid(con, station_id)
    if grid_row is None:
        return None
    cfg = store.station_config(con, station_id)
    incidents = store.load_incidents(con, station_id, cfg.timezone)
    if incidents.empty:
        return None
    grid = store.load_grid(con, grid_row["id"])
    hot = compute_hotspots(grid, incidents, config=cfg)
    hot = forecast_hotspots(hot, grid, incidents, config=cfg)
    return store.save_hotspots(
        con, station_id, grid_row["id"], hot, n_incidents=len(incidents), username=username
    )


def plan_job(
    con, job_id: int, station_id: str, username: str, params: dict[str, Any], options: dict
) -> int:
    """Plan the day the officer asked for and store it as a new plan version; return its id.

    ``params`` is the job's :class:`~gridplan.routing.request.PlanRequest` as JSON values and
    ``presence_days`` (see :func:`start_plan`); ``options`` the server's ``time_limit_s``
    (per slice), ``workers`` and ``dask_scheduler``. The request is checked against the
    station's config and grid as they are now (they may have changed since the form was
    sent), by the planner. The plan is computed here, or on the Dask cluster of
    ``dask_scheduler`` (:func:`compute_plan`), and stored here either way. The plan keeps
    what the feedback from patrols was made of in its params (``feedback``).
    """
    from gridplan.network.graphs import load_network
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    grid_row = store.latest_grid(con, station_id)
    run = store.latest_hotspot_run(con, station_id)
    if grid_row is None or run is None or run["grid_id"] != grid_row["id"]:
        raise GridplanError(_E_NO_HOTSPOTS())
    params = dict(params)
    days = params.pop("presence_days", None)
    request = _with_alerts(con, station_id, PlanRequest.from_dict(params))
    grid = store.load_grid(con, grid_row["id"])
    request, feedback = _with_presence(con, job_id, station_id, request, days, grid)
    net_row = store.latest_network(con, station_id)
    inputs = remote.PlanInputs(
        grid=grid,
        hotspots=store.load_hotspots(con, run["id"]),
        network=load_network(net_row["path"]) if net_row is not None else None,
        config=store.station_config(con, station_id),
        request=request,
        solve=SolveParams(
            time_limit_s=float(options["time_limit_s"]), workers=options.get("workers")
        ),
    )
    plan = compute_plan(con, job_id, inputs, options)
    asked = {**request.to_dict(), "presence_days": days, "feedback": feedback}
    plan_id, _version = store.save_plan(
        con,
        station_id,
        plan,
        grid_id=grid_row["id"],
        hotspot_run_id=run["id"],
        params=asked,
        username=username,
        parent_id=request.parent_id,
    )
    # the feedback's minutes per micro-grid stay with the plan, its sources go to the audit
    detail = {"job": job_id, **{k: v for k, v in asked.items() if k != "presence"}}
    store.audit(con, username, station_id, "plan", f"plan {plan_id}", detail)
    return plan_id


class ClusterJobError(GridplanError):
    """A plan job the Dask cluster could not take or finish (stored with code ``cluster``)."""

    job_code = "cluster"


def compute_plan(con, job_id: int, inputs: remote.PlanInputs, options: dict):
    """Plan ``inputs`` in this process, or on the cluster of ``options["dask_scheduler"]``.

    Either way the job's progress (slices done) is written to the store as it goes. On the
    cluster, a job ended from outside meanwhile cancels its task (see
    :mod:`gridplan.city.remote` for what Dask can and cannot stop).

    Raises
    ------
    ClusterJobError
        If the cluster cannot be reached, has no worker, or lost the task; the message is
        the officer's (shown in their language).
    """
    from gridplan.routing.planner import plan_patrols

    def progress(stage: str, done: int, total: int) -> None:
        store.update_job(con, job_id, stage=stage, done=int(done), total=int(total))

    address = options.get("dask_scheduler")
    if not address:
        i = inputs
        return plan_patrols(
            i.grid, i.hotspots, i.network, i.config, i.request, params=i.solve, progress=progress
        )
    store.update_job(con, job_id, stage="cluster")
    try:
        return remote.plan_on_cluster(
            inputs,
            address,
            tag=f"gridplan-plan-{job_id}-{time.time_ns()}",
            timeout_s=float(options.get("dask_timeout_s", 10.0)),
            progress=progress,
            stopped=lambda: _ended(con, job_id),
        )
    except remote.ClusterUnreachableError as exc:
        log.error("plan job %s: %s", job_id, exc)
        raise ClusterJobError(_E_CLUSTER_UNREACHABLE(address=address)) from exc
    except remote.ClusterNoWorkersError as exc:
        log.error("plan job %s: %s", job_id, exc)
        raise ClusterJobError(_E_CLUSTER_NO_WORKERS(address=address)) from exc
    except remote.ClusterLostError as exc:
        log.error("plan job %s: %s", job_id, exc)
        raise ClusterJobError(_E_CLUSTER_LOST(address=address)) from exc


def _with_presence(
    con, job_id: int, station_id: str, request: PlanRequest, days: int | None, grid
) -> tuple[PlanRequest, dict[str, Any] | None]:
    """Return the request with what patrols did over the ``days`` days before its date.

    Also returns what the feedback was made from (:class:`~gridplan.web.feedback.StationFeedback`
    as JSON values), or ``None`` when the officer switched it off (``days`` is ``None``). A
    store without check-ins or tracks of those days leaves the request as it is.
    """
    if not days:
        return request, None
    from gridplan.web.feedback import station_presence

    store.update_job(con, job_id, stage="presence")
    found = station_presence(con, station_id, request.date, days=int(days), grid=grid)
    if found.presence is not None:
        request = dataclasses.replace(request, presence=found.presence)
    return request, found.to_dict()


def _with_alerts(con, station_id: str, request: PlanRequest) -> PlanRequest:
    """Return the request with the station's alerts of the plan's day (and the night after).

    The alerts stored when the plan runs replace any the request had (a re-plan takes the
    alerts as they are now); the planner applies those active in each slice.
    """
    config = store.station_config(con, station_id)
    start = dt.datetime.combine(request.date, dt.time(), tzinfo=config.tz)
    alerts = store.list_alerts(con, station_id, start=start, end=start + dt.timedelta(days=2))
    return dataclasses.replace(request, alerts=tuple(alerts))


def preload_readers() -> None:
    """Load the readers' libraries (GDAL through pyogrio, and Arrow where pyogrio uses it).

    An import's process does this before :func:`limit_resources`, so that the address space
    the limit leaves is for the file, and a library mapped late (pyogrio maps some 80 MB of
    GDAL and Arrow) never fails in its place with a message about the wrong cause.
    """
    import geopandas  # noqa: F401
    import pyogrio  # noqa: F401


def limit_resources(limits: dict[str, Any]) -> None:
    """Limit this process to the import limits: address space, and CPU time as a backstop.

    ``RLIMIT_AS`` is ``max_memory_bytes`` (gridplan with NumPy, GDAL and numba loaded takes
    about 0.7 GB of it); ``RLIMIT_CPU`` is twice ``max_seconds`` and 10 s, for a job process
    whose watcher died with its server (the watcher kills it at ``max_seconds`` of wall time).
    Nothing is limited where the system has no ``resource`` module (Windows).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    memory = int(limits["max_memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(2 * float(limits["max_seconds"]) + 10)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


#: where a job process finds its store (a URL's password stays off the command line)
JOB_DATABASE_ENV = "GRIDPLAN_JOB_DATABASE"


def main(argv: list[str] | None = None) -> int:
    """Entry of a job process: ``python -m gridplan.web.jobs DATABASE JOB_ID OPTIONS_JSON``.

    ``DATABASE`` ``-`` reads the store's path or URL from ``$GRIDPLAN_JOB_DATABASE``.

    An import's process limits its resources (:func:`limit_resources`) before it reads.
    """
    database, job_id, options = argv if argv is not None else sys.argv[1:]
    if database == "-":
        database = os.environ[JOB_DATABASE_ENV]
    options = json.loads(options)
    logging.basicConfig(level=logging.WARNING, format="gridplan job %(process)d: %(message)s")
    con = connect(database)
    try:
        row = con.execute("SELECT kind FROM jobs WHERE id=?", (int(job_id),)).fetchone()
    finally:
        con.close()
    if row is not None and row["kind"] == "import":
        preload_readers()
        limit_resources(options["limits"])
    run_job(database, int(job_id), options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
