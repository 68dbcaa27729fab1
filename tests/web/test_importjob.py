"""Import jobs: an uploaded file is read in a job process with the read limits, never in a
request (``gridplan/web/importjob.py``, the import kind of ``gridplan/web/jobs.py``).

The hostile files go through the dispatcher and real job processes (``JOBS_INLINE`` off):
a gzip bomb with the shipped settings, a GeoPackage whose layer is a view that never ends
(killed at ``IMPORT_TIME_LIMIT_S``) and an export that needs more memory than
``IMPORT_MEMORY_MB``. The server (this process: the test client runs the app here) keeps
answering, and keeps its memory, meanwhile.
"""

import gzip
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import geopandas as gpd
import pytest
from _web import csrf_token
from _web import follow_job
from _web import lattice_points
from _web import login
from _web import post_upload
from _web import wait_for_job

from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.db import now

_JOB = re.compile(r"/import/jobs/(\d+)$")


@pytest.fixture
def served(web_app):
    """``web_app`` with jobs in job processes, as the server runs them."""
    web_app.config["JOBS_INLINE"] = False
    return web_app


@pytest.fixture
def officer(served, web_store):
    client = served.test_client()
    client.get("/lang/en")
    login(client, web_store["users"][("S02", "officer")])
    return client


def rss_mb() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def n_incidents(app) -> int:
    con = connect(app.config["DATABASE"])
    try:
        return con.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
    finally:
        con.close()


def comma_bomb(inflated_mb: int = 500) -> bytes:
    """A 0.5 MB ``.csv.gz`` that inflates to ``inflated_mb`` MB: one row of endless fields."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
    parts = [packer.compress(b"id,lon,lat,time,category\nJ1,120.1,30.2,2024-03-01 08:00,")]
    chunk = b"," * (1 << 20)
    parts += [packer.compress(chunk) for _ in range(inflated_mb)]
    parts.append(packer.compress(b"\n") + packer.flush())
    return b"".join(parts)


def test_a_gzip_bomb_ends_in_its_job_process_with_the_shipped_settings(officer, served):
    """The tester's case: a 0.5 MB .csv.gz of 500 MB held a request thread and gigabytes."""
    for setting, shipped in {
        "IMPORT_MAX_MB": 1024,
        "IMPORT_MAX_ROWS": 5_000_000,
        "IMPORT_MAX_CELLS": 100_000_000,
        "IMPORT_MAX_VERTICES": 5_000_000,
        "IMPORT_MAX_RATIO": 200,
        "IMPORT_TIME_LIMIT_S": 120.0,
        "IMPORT_MEMORY_MB": 4096,
        "IMPORT_SLOTS": 2,
    }.items():
        assert served.config[setting] == shipped, setting
    bomb = comma_bomb()
    assert len(bomb) < 600_000 and len(gzip.decompress(bomb)) > 500 << 20
    before_rss, before_rows = rss_mb(), n_incidents(served)
    # the server answers other pages while the job reads
    answers: list[float] = []
    done = threading.Event()

    def browse():
        other = served.test_client()
        while not done.is_set():
            started = time.monotonic()
            assert other.get("/login").status_code == 200
            answers.append(time.monotonic() - started)
            time.sleep(0.2)

    browser = threading.Thread(target=browse)
    browser.start()
    try:
        started = time.monotonic()
        resp = post_upload(officer, "incidents", "警情.csv.gz", bomb)
        assert time.monotonic() - started < 5  # the request only keeps the file
        page = officer.get(resp.headers["Location"]).get_data(as_text=True)
        assert 'http-equiv="refresh"' in page and "警情.csv.gz" in page
        wait_for_job(officer, resp)
    finally:
        done.set()
        browser.join()
    assert answers and max(answers) < 3, answers
    assert rss_mb() - before_rss < 300  # the file was never inflated in this process
    # a 4xx page naming the file, the limit and the setting that raises it
    final = officer.get(resp.headers["Location"])
    html = final.get_data(as_text=True)
    assert final.status_code == 422 and 'id="error-message"' in html, html
    message = html.split('id="error-message">')[1].split("<")[0]
    assert "警情.csv.gz" in message and re.search(r"IMPORT_(MEMORY_MB|MAX_MB|MAX_RATIO)", message)
    assert "/uploads/" not in html and "Traceback" not in html
    assert n_incidents(served) == before_rows
    # the same page in Chinese
    officer.get("/lang/zh")
    zh = officer.get(resp.headers["Location"]).get_data(as_text=True)
    message = zh.split('id="error-message">')[1].split("<")[0]
    assert "设置" in message and re.search(r"IMPORT_(MEMORY_MB|MAX_MB|MAX_RATIO)", message)
    # the upload is gone from the server
    assert not list((Path(served.instance_path) / "uploads").glob("*/file/*"))


def endless_view_gpkg(path: Path, grid: gpd.GeoDataFrame) -> bytes:
    """A GeoPackage whose only layer is a view over a recursive query that never ends."""
    grid.to_file(path, layer="real", driver="GPKG")
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE VIEW grid AS
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
          SELECT real.fid AS fid, real.geom AS geom, real.id AS id, real.level AS level,
                 real.parent_id AS parent_id, real.name AS name
          FROM real, (SELECT MAX(i) AS m FROM n) AS never WHERE never.m > 0;
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
          VALUES ('grid', 'features', 'grid', 4326);
        INSERT INTO gpkg_geometry_columns
          (table_name, column_name, geometry_type_name, srs_id, z, m)
          VALUES ('grid', 'geom', 'POLYGON', 4326, 0, 0);
        DELETE FROM gpkg_contents WHERE table_name = 'real';
        DELETE FROM gpkg_geometry_columns WHERE table_name = 'real';
        """
    )
    con.commit()
    con.close()
    return path.read_bytes()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_file_read_for_ever_is_killed_at_the_time_limit(officer, served, tmp_path):
    served.config["IMPORT_TIME_LIMIT_S"] = 4
    grid = gpd.read_file(io.BytesIO(officer.get("/downloads/grid.geojson").data))
    content = endless_view_gpkg(tmp_path / "view.gpkg", grid)
    started = time.monotonic()
    resp = post_upload(officer, "grid", "视图网格.gpkg", content)
    job_id, status = wait_for_job(officer, resp, timeout_s=60)
    took = time.monotonic() - started
    assert 4 <= took < 30, took
    assert status["status"] == "failed" and status["error_code"] == "time_limit", status
    assert "IMPORT_TIME_LIMIT_S" in status["error"] and "视图网格.gpkg" in status["error"]
    con = connect(served.config["DATABASE"])
    row = con.execute("SELECT runner FROM jobs WHERE id=?", (job_id,)).fetchone()
    audit = con.execute(
        "SELECT detail_json FROM audit WHERE action='import_failed' AND target=?",
        (f"job {job_id}",),
    ).fetchone()
    con.close()
    assert not _alive(int(row["runner"].rsplit(":", 1)[1]))  # the job process was killed
    assert json.loads(audit[0])["error"]["id"] == "limits.exceeded"
    page = officer.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "the time to read it" in html and "4 s" in html


def big_export(client, rows: int = 400_000) -> bytes:
    """A plain CSV export of ``rows`` incidents (20 MB): fine, but needs 0.5 GB to read."""
    points = lattice_points(client)
    lines = ["id,lon,lat,time,category"]
    lines += [
        f"B{k},{points[k % len(points)].x:.6f},{points[k % len(points)].y:.6f},"
        f"2024-03-01 08:{k % 60:02d}:00,theft"
        for k in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def job_process_baseline_mb() -> int:
    """The address space of an import's job process once it has loaded what it reads with."""
    code = (
        "import re, gridplan.web.jobs as j; j.preload_readers(); "
        "print(int(re.search(r'VmSize:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_a_file_that_needs_more_memory_than_allowed_ends_with_that_limit(officer, served):
    # what a job process takes before it reads (gridplan, pandas, GDAL, Arrow where installed)
    # and 100 MB for the file: reading this one takes about 500 MB more
    limit_mb = job_process_baseline_mb() + 100
    served.config["IMPORT_MEMORY_MB"] = limit_mb
    before = n_incidents(served)
    resp = post_upload(officer, "incidents", "大导出.csv", big_export(officer))
    wait_for_job(officer, resp, timeout_s=60)
    page = officer.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 422, html
    message = html.split('id="error-message">')[1].split("<")[0]
    assert "大导出.csv" in message and "IMPORT_MEMORY_MB" in message, message
    assert "the memory to read it" in message and f"{limit_mb} MB" in message
    assert n_incidents(served) == before
    # with the memory it needs, the same file is imported
    served.config["IMPORT_MEMORY_MB"] = 4096
    from gridplan.web import jobs

    jobs._DISPATCHERS.clear()  # a dispatcher with the new limit
    resp = post_upload(officer, "incidents", "大导出.csv", big_export(officer))
    _job_id, status = wait_for_job(officer, resp, timeout_s=120)
    assert status["status"] == "done", status
    report = follow_job(officer, officer.get(resp.headers["Location"]))
    assert report.status_code == 302 and "/import/incidents/" in report.headers["Location"]


def test_an_import_is_not_queued_behind_a_plan(officer, served):
    """The dispatcher watches each job from its own thread; imports have their own slots."""
    served.config["PLAN_TIME_LIMIT_S"] = 20.0
    from gridplan.web import jobs

    jobs._DISPATCHERS.clear()  # a dispatcher with the longer plan
    token = csrf_token(officer, "/plans/")
    form = {"csrf_token": token, "date": "2024-06-09", "slices": ["morning"]}
    resp = officer.post("/plans/", data={**form, "patrollers": ["V09", "A09"]})
    assert resp.status_code == 302
    plan_job = int(resp.headers["Location"].rsplit("/", 1)[1])
    con = connect(served.config["DATABASE"])
    deadline = time.monotonic() + 60
    # solving, not only claimed: the job process reads the grid and hot spots when it starts,
    # and would (rightly) refuse to plan on a grid the import below replaced meanwhile
    sql = "SELECT status, stage FROM jobs WHERE id=?"
    while tuple(con.execute(sql, (plan_job,)).fetchone()) in (("queued", ""), ("running", "start")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert con.execute(sql, (plan_job,)).fetchone()[0] == "running"
    raw = officer.get("/downloads/grid.geojson").data
    started = time.monotonic()
    _job_id, status = wait_for_job(officer, post_upload(officer, "grid", "网格.geojson", raw))
    assert status["status"] == "done" and time.monotonic() - started < 15
    # the plan was still being solved when the import was done
    row = con.execute("SELECT status, error FROM jobs WHERE id=?", (plan_job,)).fetchone()
    assert row[0] == "running", row[1]
    con.close()


def test_kind_slots_are_counted_per_kind(web_app):
    con = connect(web_app.config["DATABASE"])
    p = store.add_job(con, "S02", "plan", {"date": "2024-06-05"}, "x")
    imports = [store.add_job(con, "S02", "import", {"step": "grid"}, "x") for _ in range(3)]
    claim = {"slots": 1, "kind_slots": {"import": 2}}
    assert store.claim_job(con, "a", **claim)["id"] == p
    assert store.claim_job(con, "b", **claim)["id"] == imports[0]
    assert store.claim_job(con, "c", **claim)["id"] == imports[1]
    assert store.claim_job(con, "d", **claim) is None  # two imports run: the third waits
    store.update_job(con, imports[0], status="done", finished_at=now())
    assert store.claim_job(con, "d", **claim)["id"] == imports[2]
    con.close()


def test_two_uploads_of_one_name_at_once_do_not_meet(officer, served):
    raw = officer.get("/downloads/grid.geojson").data
    first = post_upload(officer, "grid", "网格.geojson", raw)
    second = post_upload(officer, "grid", "网格.geojson", raw.replace(b"S02-B1-M001", b"S02-B1-MX"))
    jobs = [wait_for_job(officer, r)[0] for r in (first, second)]
    con = connect(served.config["DATABASE"])
    rows = [con.execute("SELECT * FROM jobs WHERE id=?", (j,)).fetchone() for j in jobs]
    tokens = {json.loads(r["params_json"])["token"] for r in rows}
    # each job read its own file: only the second grid has the renamed cell
    ids = [set(store.load_grid(con, r["result_id"])["id"]) for r in rows]
    con.close()
    assert len(tokens) == 2
    assert "S02-B1-MX" not in ids[0] and "S02-B1-MX" in ids[1]
    for resp in (first, second):
        assert follow_job(officer, resp).status_code == 302


def test_a_name_cannot_leave_the_uploads_folder(officer, served):
    raw = officer.get("/downloads/grid.geojson").data
    for name in ("../../meta.json", "..\\..\\gridplan.sqlite.geojson", "meta.json"):
        resp = post_upload(officer, "grid", name, raw)
        _job_id, status = wait_for_job(officer, resp)
        assert status["status"] == "done"
    root = Path(served.instance_path) / "uploads"
    for folder in root.iterdir():  # each upload's own folder, its meta.json its own
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["kind"] == "grid" and "/" not in meta["name"] and "\\" not in meta["name"]
    assert not (Path(served.instance_path) / "meta.json").exists()


def test_cancelling_a_running_import_stops_its_job_process(officer, served, tmp_path):
    grid = gpd.read_file(io.BytesIO(officer.get("/downloads/grid.geojson").data))
    resp = post_upload(officer, "grid", "慢.gpkg", endless_view_gpkg(tmp_path / "v.gpkg", grid))
    url = resp.headers["Location"]
    job_id = int(_JOB.search(url).group(1))
    con = connect(served.config["DATABASE"])
    deadline = time.monotonic() + 30
    while (row := con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())[
        "stage"
    ] != "read":
        assert time.monotonic() < deadline, row["status"]
        time.sleep(0.1)
    pid = int(row["runner"].rsplit(":", 1)[1])
    page = officer.get(url).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(officer, "/import/"), "token": token, "kind": "grid"}
    assert officer.post("/import/cancel", data=data).status_code == 302
    row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
    assert row["status"] == "failed" and row["error_code"] == "cancelled"
    deadline = time.monotonic() + 15  # its next heartbeat
    while _alive(pid):
        assert time.monotonic() < deadline, "the job process of a cancelled import runs on"
        time.sleep(0.2)
    con.close()
    assert not (Path(served.instance_path) / "uploads" / token).exists()
    page = officer.get(url)
    assert page.status_code == 422 and "cancelled" in page.get_data(as_text=True)


def test_the_job_page_is_the_uploaders_alone(officer, served, web_store):
    raw = officer.get("/downloads/grid.geojson").data
    resp = post_upload(officer, "grid", "网格.geojson", raw)
    job_id, _status = wait_for_job(officer, resp)
    for user in (("S02", "admin"), ("S01", "officer")):
        other = served.test_client()
        login(other, web_store["users"][user])
        assert other.get(f"/import/jobs/{job_id}").status_code == 404
        assert other.get(f"/import/jobs/{job_id}.json").status_code == 404


def test_the_job_process_of_an_import_limits_its_address_space(tmp_path):
    """``limit_resources`` in a fresh process: the imports fit, a bigger array does not."""
    import subprocess
    import sys

    script = """
import resource, sys
from gridplan.web.jobs import limit_resources
limit_resources({"max_memory_bytes": 4096 << 20, "max_seconds": 120})
import numpy, pandas, geopandas, pyogrio, shapely
import gridplan.geo.incidents, gridplan.geo.grid, gridplan.geo.validate, gridplan.web.importjob
status = open("/proc/self/status").read()
print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20, resource.getrlimit(resource.RLIMIT_CPU)[0])
print(int(status.split("VmPeak:")[1].split()[0]) >> 10)
try:
    numpy.ones(5 << 30, dtype=numpy.uint8)
except MemoryError:
    print("MemoryError")
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    limit, cpu, peak, error = out.stdout.split()
    assert (int(limit), int(cpu)) == (4096, 250)
    assert int(peak) < 1024, peak  # about 0.3 GB: the default leaves the readers 3.7 GB
    assert error == "MemoryError"
