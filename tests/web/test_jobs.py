"""Background jobs the way the server runs them: the store is the queue, each job runs in a job
process of its own (``python -m gridplan.web.jobs``) with a heartbeat, failures are kept.

These tests run the shipped ``PLAN_WORKERS`` (every core): the plan's solver starts its own
worker processes inside the job process, which the daemon process of earlier versions forbade.
"""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from _web import csrf_token
from _web import login

from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.db import now


def wait_for(app, job_id, timeout_s=180, until=("done", "failed", "interrupted")):
    con = connect(app.config["DATABASE"])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row["status"] in until:
                return row
            time.sleep(0.2)
    finally:
        con.close()
    raise AssertionError(f"job {job_id} still {row['status']} after {timeout_s} s")


@pytest.fixture
def served_app(web_app):
    """``web_app`` with jobs run as the server runs them (not inline) and shipped workers."""
    web_app.config["JOBS_INLINE"] = False
    web_app.config["PLAN_WORKERS"] = None  # the production default: every core
    return web_app


def _plan_form(client, **extra):
    token = csrf_token(client, "/plans/")
    data = {
        "csrf_token": token,
        "date": "2024-06-05",
        "slices": ["morning"],
        "patrollers": ["V09", "A09"],
        **extra,
    }
    resp = client.post("/plans/", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.both_stores
def test_hot_spots_and_a_plan_with_the_default_workers_each_in_a_job_process(served_app, web_store):
    assert served_app.config["PLAN_WORKERS"] is None
    client = served_app.test_client()
    login(client, web_store["users"][("S02", "officer")])
    from gridplan.web import jobs

    with served_app.app_context():
        job_id = jobs.start_hotspots("S01", "s01-officer")
    job = wait_for(served_app, job_id)
    assert job["status"] == "done", job["error"]
    assert job["runner"] and int(job["runner"].rsplit(":", 1)[1]) != os.getpid()
    con = connect(served_app.config["DATABASE"])
    run = con.execute("SELECT * FROM hotspot_runs WHERE id=?", (job["result_id"],)).fetchone()
    con.close()
    assert run["station_id"] == "S01" and run["n_incidents"] == 47907

    job_id = _plan_form(client)
    job = wait_for(served_app, job_id)
    assert job["status"] == "done", job["error"]
    assert (job["done"], job["total"]) == (1, 1)
    assert job["heartbeat_at"] is not None
    status = client.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["url"] == f"/plans/{job['result_id']}" and status["error"] is None
    assert client.get(status["url"]).status_code == 200


def test_a_failed_plan_keeps_its_reason_an_audit_entry_and_a_try_again(served_app, web_store):
    client = served_app.test_client()
    login(client, web_store["users"][("S02", "officer")])
    # the roster changed between the form and the job: the job fails with the reason
    from gridplan.web import jobs

    params = {"date": "2024-06-07", "slices": ["morning"], "patrollers": ["A77"], "seed": 4}
    con = connect(served_app.config["DATABASE"])
    job_id = store.add_job(con, "S02", "plan", params, "s02-officer")
    con.close()
    jobs.dispatcher(served_app).wake.set()
    job = wait_for(served_app, job_id)
    assert job["status"] == "failed" and job["error_code"] == "error"
    assert "A77" in job["error"] and "roster" in job["error"]

    status = client.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["status"] == "failed" and "A77" in status["error"]
    assert status["retry_url"] == f"/plans/?retry={job_id}#plan-form"
    page = client.get(f"/plans/jobs/{job_id}").get_data(as_text=True)
    assert "A77" in page and f'href="/plans/?retry={job_id}#plan-form"' in page
    # the job page does not promise that a failed plan will appear
    note = page.split('id="job-note"', 1)[1].split(">", 1)[0]
    assert "hidden" in note

    listing = client.get("/plans/").get_data(as_text=True)
    assert f'id="failed-job-{job_id}"' in listing and "2024-06-07" in listing
    retry = client.get(f"/plans/?retry={job_id}").get_data(as_text=True)
    assert 'value="2024-06-07"' in retry and 'name="seed" value="4"' in retry
    assert 'id="retry-note"' in retry

    con = connect(served_app.config["DATABASE"])
    entry = con.execute(
        "SELECT * FROM audit WHERE action='plan_failed' AND target=?", (f"job {job_id}",)
    ).fetchone()
    con.close()
    detail = json.loads(entry["detail_json"])
    assert detail["code"] == "error" and "A77" in detail["error"]["text"]
    # kept as a message, so the audit page shows it in either language
    assert detail["error"]["id"] == "jobs.unknown_patrollers"
    assert detail["date"] == "2024-06-07" and entry["username"] == "s02-officer"

    # another station never sees it
    other = served_app.test_client()
    login(other, web_store["users"][("S01", "officer")])
    assert other.get(f"/plans/jobs/{job_id}.json").status_code == 404
    assert f"failed-job-{job_id}" not in other.get("/plans/").get_data(as_text=True)
    assert 'value="2024-06-07"' not in other.get(f"/plans/?retry={job_id}").get_data(as_text=True)


def test_the_failure_reason_is_in_the_pages_language(served_app, web_store):
    con = connect(served_app.config["DATABASE"])
    job_id = store.add_job(con, "S02", "plan", {"date": "2024-06-05"}, "s02-officer")
    store.update_job(con, job_id, status="running", heartbeat_at=now())
    store.fail_job(con, job_id, code="killed", error="the job's process was killed")
    con.close()
    client = served_app.test_client()
    login(client, web_store["users"][("S02", "officer")])
    client.get("/lang/zh")
    zh = client.get(f"/plans/jobs/{job_id}.json").get_json()["error"]
    assert "内存" in zh and "killed" not in zh
    client.get("/lang/en")
    en = client.get(f"/plans/jobs/{job_id}.json").get_json()["error"]
    assert "out of memory" in en


def test_a_killed_job_process_fails_the_job_at_once(served_app, web_store):
    client = served_app.test_client()
    login(client, web_store["users"][("S02", "officer")])
    served_app.config["PLAN_TIME_LIMIT_S"] = 60.0
    from gridplan.web import jobs

    jobs._DISPATCHERS.clear()  # a dispatcher with the longer time limit
    job_id = _plan_form(client, date="2024-06-08")
    row = wait_for(served_app, job_id, until=("running",))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = wait_for(served_app, job_id, until=("running", "done", "failed"))
        pid = int(row["runner"].rsplit(":", 1)[1])
        if pid != os.getpid() and row["stage"] == "plan":
            break
        time.sleep(0.2)
    children = _children(pid)
    assert children, "the plan's solver runs its search in worker processes"
    os.kill(pid, signal.SIGKILL)
    job = wait_for(served_app, job_id, timeout_s=30)
    assert job["status"] == "failed" and job["error_code"] == "killed"
    assert "signal 9" in job["error"]
    # its search processes do not run on to their time limit
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(c) for c in children)


def _children(pid: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
        if found:
            return found
        time.sleep(0.2)
    return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_job_whose_process_stops_beating_is_interrupted_within_the_lease(served_app):
    """The server that watched the job died with it: the next server to look marks it."""
    con = connect(served_app.config["DATABASE"])
    job_id = store.add_job(con, "S02", "plan", {"date": "2024-06-05"}, "s02-officer")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=31)).isoformat(timespec="seconds")
    store.update_job(con, job_id, status="running", heartbeat_at=old, runner="gone:1")
    fresh = store.add_job(con, "S02", "plan", {"date": "2024-06-06"}, "s02-officer")
    store.update_job(con, fresh, status="running", heartbeat_at=now(), runner="alive:2")
    con.close()
    assert served_app.config["JOB_LEASE_S"] == 30.0  # the shipped lease
    from gridplan.web import jobs

    jobs.dispatcher(served_app).wake.set()
    job = wait_for(served_app, job_id, timeout_s=10, until=("interrupted",))
    assert job["error_code"] == "interrupted" and "gone:1" in job["error"]
    con = connect(served_app.config["DATABASE"])
    assert con.execute("SELECT status FROM jobs WHERE id=?", (fresh,)).fetchone()[0] == "running"
    assert con.execute(
        "SELECT COUNT(*) FROM audit WHERE action='plan_failed' AND target=?", (f"job {job_id}",)
    ).fetchone()[0]
    # the restart of a server does not touch jobs that are alive elsewhere
    from gridplan.web import create_app

    create_app(dict(served_app.config), instance_path=served_app.instance_path)
    assert con.execute("SELECT status FROM jobs WHERE id=?", (fresh,)).fetchone()[0] == "running"
    con.close()


@pytest.mark.both_stores
def test_the_store_is_the_queue_one_claim_per_job_and_slots_per_kind(web_app):
    con = connect(web_app.config["DATABASE"])
    a = store.add_job(con, "S02", "plan", {"date": "2024-06-05"}, "x")
    b = store.add_job(con, "S02", "plan", {"date": "2024-06-06"}, "x")
    h = store.add_job(con, "S02", "hotspots", {}, "x")
    assert store.claim_job(con, "one", slots=1)["id"] == a
    # the second plan waits for the first; the hot-spot run has a slot of its own
    assert store.claim_job(con, "two", slots=1)["id"] == h
    assert store.claim_job(con, "three", slots=1) is None
    assert store.claim_job(con, "three", slots=2)["id"] == b
    con.close()


def test_a_process_forked_after_a_parallel_kernel_runs_parallel_kernels():
    """The numba kernels use a fork-safe threading layer.

    With GNU OpenMP (numba's default without TBB), a process forked after a parallel kernel
    ran kills itself at its first parallel kernel: a gunicorn worker forked from a server
    that seeded the demo, a solver worker forked by the planner.
    """
    script = """
import multiprocessing as mp, sys
import numpy as np, shapely
from gridplan.analysis.gistar import gi_star, queen_adjacency

import geopandas as gpd
boxes = np.array([[x, y, x + 1, y + 1] for x in range(8) for y in range(8)]).T
cells = gpd.GeoSeries(shapely.box(*boxes), crs=3857)
adj = queen_adjacency(cells)
y = np.arange(64.0) % 7

def run():
    gi_star(y, adj, permutations=99, seed=0)

run()
import numba
print(numba.threading_layer())
p = mp.get_context("fork").Process(target=run)
p.start(); p.join()
sys.exit(p.exitcode)
"""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("tbb", "workqueue")
    assert "OpenMP" not in out.stderr
    # the hazard is real: on numba's OpenMP layer the forked child kills itself
    omp = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**env, "NUMBA_THREADING_LAYER": "omp"},
        timeout=300,
    )
    if "omp" in omp.stdout:  # numba was built with OpenMP here
        assert omp.returncode != 0 and "already using GNU OpenMP" in omp.stderr


def test_demo_seeding_runs_in_a_child_process_whose_errors_reach_the_user(tmp_path):
    """``serve --demo`` seeds in a spawned child: gunicorn forks from a clean process.

    (The seeding itself, in the child, runs in ``test_quickstart``.)
    """
    from gridplan._errors import GridplanError
    from gridplan.web import commands

    with pytest.raises(GridplanError, match="nowhere"):
        commands._seed_if_empty(tmp_path, tmp_path / "nowhere")
    assert not (tmp_path / "gridplan.sqlite").exists()
