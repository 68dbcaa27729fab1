"""Background jobs the way the server runs them: a worker thread, plans in a spawned process."""

import time

from _web import csrf_token
from _web import login

from gridplan.web.db import connect


def wait_for(app, job_id, timeout_s=180):
    con = connect(app.config["DATABASE"])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row["status"] in ("done", "failed"):
                return row
            time.sleep(0.2)
    finally:
        con.close()
    raise AssertionError(f"job {job_id} still {row['status']} after {timeout_s} s")


def test_hot_spots_in_the_worker_thread_and_a_plan_in_its_own_process(web_app, web_store):
    web_app.config["JOBS_INLINE"] = False
    client = web_app.test_client()
    login(client, web_store["users"][("S02", "officer")])
    # hot spots (numba Gi* kernel) computed in the job thread after an import
    from gridplan.web import jobs

    with web_app.app_context():
        job_id = jobs.start_hotspots("S01", "s01-officer")
    job = wait_for(web_app, job_id)
    assert job["status"] == "done", job["error"]
    con = connect(web_app.config["DATABASE"])
    run = con.execute("SELECT * FROM hotspot_runs WHERE id=?", (job["result_id"],)).fetchone()
    con.close()
    assert run["station_id"] == "S01" and run["n_incidents"] == 47907

    # a plan solved in a spawned process, progress written to the store
    token = csrf_token(client, "/plans/")
    resp = client.post(
        "/plans/",
        data={
            "csrf_token": token,
            "date": "2024-06-05",
            "slices": ["morning"],
            "patrollers": ["V09", "A09"],
        },
    )
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    job = wait_for(web_app, job_id)
    assert job["status"] == "done", job["error"]
    assert (job["done"], job["total"]) == (1, 1)
    status = client.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["url"] == f"/plans/{job['result_id']}"
    assert client.get(status["url"]).status_code == 200


def test_jobs_left_running_by_a_stopped_server_are_marked_failed(web_app):
    from gridplan.web import create_app
    from gridplan.web import store

    con = connect(web_app.config["DATABASE"])
    job_id = store.add_job(con, "S02", "plan", {"date": "2024-06-05"}, "s02-officer")
    store.update_job(con, job_id, status="running")
    con.close()
    create_app(dict(web_app.config), instance_path=web_app.instance_path)  # a restart
    con = connect(web_app.config["DATABASE"])
    row = con.execute("SELECT status, error FROM jobs WHERE id=?", (job_id,)).fetchone()
    con.close()
    assert row["status"] == "failed" and "interrupted" in row["error"]
