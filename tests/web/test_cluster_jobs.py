"""Plans of the web UI on a Dask cluster (``DASK_SCHEDULER``): a real ``dask scheduler`` and two
``dask worker`` processes (``tests/_dask.py``), jobs run as the server runs them (a job process
each, claimed from the store).

The server reads each plan's inputs from the store and sends them with the task, so the
workers need neither the store nor the instance folder; the plan comes back and the server
saves it in one transaction. Without the setting nothing of this runs (the last tests).
"""

from __future__ import annotations

import time

import pytest
from _dask import free_port
from _dask import start_cluster
from _web import csrf_token
from _web import login

from gridplan.web import jobs
from gridplan.web import store
from gridplan.web.db import connect

FINAL = ("done", "failed", "interrupted")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers (w1, w2) for the module."""
    with start_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


def _cluster_app(web_app, address: str, **config):
    """``web_app`` with plans sent to ``address`` and jobs run as the server runs them."""
    web_app.config.update(
        {
            "JOBS_INLINE": False,
            "DASK_SCHEDULER": address,
            "PLAN_TIME_LIMIT_S": 4.0,
            "PLAN_WORKERS": None,  # the server's default; a task on the cluster searches with one
            **config,
        }
    )
    return web_app


def _job(database: str, job_id: int):
    con = connect(database)
    try:
        return con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
    finally:
        con.close()


def _wait(database: str, job_ids: list[int], *, until=FINAL, timeout_s: float = 300.0) -> list:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = [_job(database, j) for j in job_ids]
        if all(r["status"] in until for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs still {[r['status'] for r in rows]} after {timeout_s} s")
        time.sleep(0.2)


def _plan(client, date: str) -> int:
    data = {
        "csrf_token": csrf_token(client, "/plans/"),
        "date": date,
        "slices": ["morning"],
        "patrollers": ["V09", "A09"],
    }
    resp = client.post("/plans/", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _officer(app, web_store, role: str):
    client = app.test_client()
    login(client, web_store["users"][("S02", role)])
    return client


def _stored_plan(database: str, date: str):
    con = connect(database)
    try:
        rows = con.execute(
            "SELECT * FROM plans WHERE station_id='S02' AND date=? ORDER BY version", (date,)
        ).fetchall()
        return rows, [store.plan_from_row(r) for r in rows]
    finally:
        con.close()


def _plan_tasks(stream: list[dict]) -> list[dict]:
    return [t for t in stream if str(t["key"]).startswith("gridplan-plan-")]


def _computing(task: dict) -> tuple[float, float]:
    found = [s for s in task["startstops"] if s["action"] == "compute"]
    return found[0]["start"], found[-1]["stop"]


@pytest.mark.both_stores
def test_two_officers_plans_run_at_once_on_the_cluster_and_both_land(
    web_app, web_store, dask_cluster
):
    from distributed import Client
    from distributed import get_task_stream

    app = _cluster_app(web_app, dask_cluster.address)
    database = app.config["DATABASE"]
    officer, admin = _officer(app, web_store, "officer"), _officer(app, web_store, "admin")
    with Client(dask_cluster.address, set_as_default=False) as watcher:
        with get_task_stream(client=watcher) as stream:
            first = _plan(officer, "2024-06-10")
            second = _plan(admin, "2024-06-11")
            rows = _wait(database, [first, second])
        tasks = _plan_tasks(stream.data)
    assert [r["status"] for r in rows] == ["done", "done"], [r["error"] for r in rows]
    asked = (("2024-06-10", "officer"), ("2024-06-11", "admin"))
    for row, (date, user) in zip(rows, asked, strict=True):
        # progress came from the worker: the one slice of the plan is done
        assert (row["done"], row["total"]) == (1, 1)
        plans, (plan, *more) = _stored_plan(database, date)
        assert not more and plans[0]["id"] == row["result_id"]
        assert plan.is_feasible() and [s.slice_id for s in plan.slices] == ["morning"]
        assert plans[0]["created_by"] == f"s02-{user}"
    # each plan was one task, on a worker of its own, and the two computed at the same time
    assert len(tasks) == 2, tasks
    assert {t["worker"] for t in tasks} == set(_worker_addresses(dask_cluster.address).values())
    (a0, a1), (b0, b1) = (_computing(t) for t in tasks)
    assert a0 < b1 and b0 < a1, "the two plans were computed one after the other"
    status = officer.get(f"/plans/jobs/{first}.json").get_json()
    assert status["url"] == f"/plans/{rows[0]['result_id']}" and status["error"] is None


def _worker_addresses(address: str) -> dict[str, str]:
    """Worker name -> address, from the scheduler."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        workers = client.scheduler_info()["workers"]
    return {str(w["name"]): addr for addr, w in workers.items()}


def test_an_unreachable_scheduler_fails_the_plan_with_a_message_in_the_officers_language(
    web_app, web_store
):
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    web_app.config.update(DASK_SCHEDULER=address, DASK_CONNECT_TIMEOUT_S=1.0)  # jobs inline
    officer = _officer(web_app, web_store, "officer")
    job_id = _plan(officer, "2024-06-10")
    row = _job(web_app.config["DATABASE"], job_id)
    assert row["status"] == "failed" and row["error_code"] == "cluster"
    assert f"cannot be reached (Dask scheduler {address})" in row["error"]
    assert _stored_plan(web_app.config["DATABASE"], "2024-06-10")[0] == []

    status = officer.get(f"/plans/jobs/{job_id}.json").get_json()  # the default language: zh
    assert status["status"] == "failed" and address in status["error"]
    assert "计算集群" in status["error"], status["error"]
    page = officer.get(f"/plans/jobs/{job_id}")
    assert page.status_code == 200 and "计算集群" in page.get_data(as_text=True)
    officer.get("/lang/en")
    status = officer.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["error"].startswith("the computing cluster cannot be reached")
    assert status["retry_url"] == f"/plans/?retry={job_id}#plan-form"


def test_a_scheduler_without_workers_fails_the_plan_cleanly(web_app, web_store, tmp_path):
    with start_cluster(tmp_path / "dask", workers=0) as empty:
        web_app.config.update(DASK_SCHEDULER=empty.address, DASK_CONNECT_TIMEOUT_S=1.0)
        job_id = _plan(_officer(web_app, web_store, "officer"), "2024-06-10")
    row = _job(web_app.config["DATABASE"], job_id)
    assert row["status"] == "failed" and row["error_code"] == "cluster"
    assert "has no worker running" in row["error"] and empty.address in row["error"]


def test_without_the_setting_plans_run_in_the_servers_job_process_as_before(
    web_app, web_store, monkeypatch
):
    from gridplan.city import remote

    assert web_app.config["DASK_SCHEDULER"] is None  # the shipped default
    assert web_app.config["JOB_SLOTS"] == 1
    assert jobs._kind_slots(web_app) == {"import": 2}  # plans share JOB_SLOTS
    assert jobs._options(web_app)["dask_scheduler"] is None

    def no_cluster(*args, **kwargs):
        raise AssertionError("a plan went to the cluster without DASK_SCHEDULER")

    monkeypatch.setattr(remote, "plan_on_cluster", no_cluster)
    job_id = _plan(_officer(web_app, web_store, "officer"), "2024-06-10")
    row = _job(web_app.config["DATABASE"], job_id)
    assert row["status"] == "done", row["error"]
    assert row["stage"] == "plan" and (row["done"], row["total"]) == (1, 1)
    assert _stored_plan(web_app.config["DATABASE"], "2024-06-10")[1][0].is_feasible()


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("DASK_PLAN_SLOTS", 0, "DASK_PLAN_SLOTS=0 must be a whole number, 1 or more"),
        ("DASK_PLAN_SLOTS", 2.5, "DASK_PLAN_SLOTS=2.5 must be a whole number"),
        ("DASK_CONNECT_TIMEOUT_S", -1, "DASK_CONNECT_TIMEOUT_S=-1 must be a positive number"),
        ("DASK_SCHEDULER", 8786, "DASK_SCHEDULER=8786 must be an address such as tcp://"),
    ],
)
def test_a_bad_dask_setting_stops_the_start_and_names_it(tmp_path, setting, value, error):
    from gridplan import InputError
    from gridplan.web import create_app

    config = {"TESTING": True, "DATABASE": str(tmp_path / "s.sqlite"), setting: value}
    with pytest.raises(InputError, match=error.replace(".", r"\.").replace("?", r"\?")):
        create_app(config, instance_path=str(tmp_path))


def test_a_plan_job_ended_from_outside_releases_its_task_and_stores_nothing(
    web_app, web_store, dask_cluster
):
    """What Dask can cancel: the task is released (a running one finishes on its worker
    unseen), and the job saves no plan."""
    from distributed import Client

    app = _cluster_app(web_app, dask_cluster.address, PLAN_TIME_LIMIT_S=8.0)
    database = app.config["DATABASE"]
    with Client(dask_cluster.address, set_as_default=False) as watcher:
        job_id = _plan(_officer(app, web_store, "officer"), "2024-06-12")
        while not any(_has_plan(keys) for keys in watcher.processing().values()):
            assert _job(database, job_id)["status"] not in FINAL, "the plan ended unseen"
            time.sleep(0.1)
        con = connect(database)
        try:
            store.fail_job(con, job_id, code="cancelled", error="ended by the test")
        finally:
            con.close()
        deadline = time.monotonic() + 120
        while any(_has_plan(keys) for keys in watcher.processing().values()):
            assert time.monotonic() < deadline, "the plan's task was never released"
            time.sleep(0.1)
    row = _job(database, job_id)
    assert (row["status"], row["error_code"]) == ("failed", "cancelled")
    assert row["result_id"] is None
    assert _stored_plan(database, "2024-06-12")[0] == []


def test_a_plan_whose_worker_is_killed_mid_run_is_computed_again_and_lands_whole(
    web_app, web_store, dask_cluster
):
    """Last in the module: it leaves the cluster with one worker."""
    from distributed import Client

    app = _cluster_app(web_app, dask_cluster.address, PLAN_TIME_LIMIT_S=8.0)
    database = app.config["DATABASE"]
    names = {addr: name for name, addr in _worker_addresses(dask_cluster.address).items()}
    with Client(dask_cluster.address, set_as_default=False) as watcher:
        job_id = _plan(_officer(app, web_store, "officer"), "2024-06-10")
        while True:  # the plan's task is being computed on a worker: kill that worker
            busy = [a for a, keys in watcher.processing().items() if _has_plan(keys)]
            if busy:
                break
            assert _job(database, job_id)["status"] not in FINAL, "the plan ended unseen"
            time.sleep(0.1)
        victim = names[busy[0]]
        dask_cluster.kill(victim)
        (row,) = _wait(database, [job_id])
    assert row["status"] == "done", row["error"]
    plans, (plan, *more) = _stored_plan(database, "2024-06-10")
    assert not more and plans[0]["id"] == row["result_id"]  # one version, stored whole
    assert plan.is_feasible() and [s.slice_id for s in plan.slices] == ["morning"]
    assert (row["done"], row["total"]) == (1, 1)
    assert victim not in _worker_addresses(dask_cluster.address)


def _has_plan(keys) -> bool:
    return any(str(k).startswith("gridplan-plan-") for k in keys)
