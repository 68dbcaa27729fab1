"""Build the web UI's test store: the demo station S01 and a small second station S02.

S01 is the bundled Portland demo seeded as ``gridplan serve --demo`` does (grid, incidents,
hot spots, street network, one plan). S02 is the 3 x 3 lattice station of
``_lattice`` under its own ids, with its own plan. Both have one user per role, so
tests can check every role against both stations.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import geopandas as gpd
import shapely

PASSWORD = "correct-horse-battery"
ROLES = ("admin", "officer", "volunteer_lead", "analyst", "patroller")

S02_TOML = """
[station]
id = "S02"
name = "第二警务室 Second station"
phone = "0571-110"
timezone = "Asia/Shanghai"

[grid]
base_count = 3

[[roster]]
id = "V09"
name = "义警 9 Volunteers 9"
role = "volunteer_team"
mode = "walk"
members = 2
max_duty_min = 240
availability = { daily = ["06:00-10:00"] }

[[roster]]
id = "A09"
name = "辅警 9 Auxiliary 9"
role = "auxiliary"
mode = "walk"
max_duty_min = 480
availability = { daily = ["06:00-07:30"] }
"""


def lattice_station():
    """(grid, hot spots, network) of station S02: the lattice grid with S02 ids."""
    from _lattice import lattice_network
    from _lattice import make_grid
    from _lattice import make_hotspots

    grid = make_grid()
    for col in ("id", "parent_id"):
        grid[col] = grid[col].map(lambda v: v.replace("S01", "S02") if isinstance(v, str) else None)
    grid["name"] = ["第二警务室", "甲", "乙", "丙"] + [f"乙区微网格{k}" for k in range(9)]
    return grid, make_hotspots(grid), lattice_network()


def build_store(instance: Path) -> dict:
    """Create and fill the test store in ``instance``; return what tests need to know."""
    from gridplan.network.graphs import save_network
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams
    from gridplan.web import store
    from gridplan.web.db import connect
    from gridplan.web.db import init_store
    from gridplan.web.demo import seed_demo

    database = instance / "gridplan.sqlite"
    init_store(database)
    # a work limit: the same demo plan on any machine load (sheets/test_route_sheets.py counts
    # its long routes)
    # only the demo day's plan: the tests count S01's plans (today's plan is tested on its own,
    # tests/web/test_demo_today.py)
    seed_demo(
        database,
        instance,
        plan_time_limit_s=60.0,
        plan_work_limit=200,
        plan_today=False,
        say=lambda _l: None,
    )
    con = connect(database)
    try:
        sid = store.add_station(con, S02_TOML, source="S02.toml")
        cfg = store.station_config(con, sid)
        grid, hot, net = lattice_station()
        grid_id, _ = store.save_grid(
            con, sid, grid, source_name="lattice.geojson", username="test", report={}
        )
        run_id = store.save_hotspots(con, sid, grid_id, hot, n_incidents=45, username="test")
        path = save_network(net, instance / "networks" / "S02.gpkg")
        store.add_network(con, sid, str(path), fingerprint=net.fingerprint, source="lattice")
        morning = PlanRequest("2024-06-05", slices=["morning"])
        quick = SolveParams(time_limit_s=1, workers=1, work_limit=300, seed=1)
        plan = plan_patrols(grid, hot, net, cfg, morning, params=quick)
        s02_plan, _ = store.save_plan(
            con, sid, plan, grid_id=grid_id, hotspot_run_id=run_id, params={}, username="test"
        )
        s01_plan = con.execute("SELECT id FROM plans WHERE station_id='S01'").fetchone()[0]
        users = {}
        for station, team in (("S01", "V01"), ("S02", "V09")):
            for role in ROLES:
                name = f"{station.lower()}-{role}"
                store.add_user(
                    con,
                    name,
                    PASSWORD,
                    station_id=station,
                    role=role,
                    team_id=team if role in ("volunteer_lead", "patroller") else None,
                )
                users[(station, role)] = name
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return {"database": database, "plans": {"S01": s01_plan, "S02": s02_plan}, "users": users}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the form on ``path``."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, **kwargs):
    """Log ``client`` in through the login form; return the response (``kwargs``: headers ...)."""
    token = csrf_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, **kwargs
    )


# -- imports through the web UI ---------------------------------------------------------


_IMPORT_JOB = re.compile(r"/import/jobs/\d+$")


def follow_job(client, resp):
    """Return the page an import's job page goes on to, or any other response as it is.

    With ``JOBS_INLINE`` the job has run when the form's POST answers.
    """
    if resp.status_code == 302 and _IMPORT_JOB.search(resp.headers["Location"]):
        return client.get(resp.headers["Location"])
    return resp


def post_upload(client, kind: str, name: str, content: bytes):
    """Post file ``name`` to the import form of ``kind``; return the response (a redirect to
    its job's page when the upload is taken).

    The body is encoded in memory: the test client would spool a big file to a file it
    never closes.
    """
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    token = csrf_token(client, "/import/")
    boundary, body = encode_multipart(
        {"csrf_token": token, "file": FileStorage(io.BytesIO(content), name)}
    )
    return client.post(
        f"/import/{kind}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def wait_for_job(client, resp, timeout_s: float = 120):
    """Poll the job of an import's redirect until it ends: ``(job id, status JSON)``."""
    assert resp.status_code == 302, resp.get_data(as_text=True)
    url = resp.headers["Location"]
    job_id = int(re.search(r"/import/jobs/(\d+)$", url).group(1))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"{url}.json").get_json()
        if status["status"] not in ("queued", "running"):
            return job_id, status
        time.sleep(0.2)
    raise AssertionError(f"import job {job_id} still {status['status']} after {timeout_s} s")


def upload(client, kind, name, content: bytes, **fields):
    """Post ``content`` as file ``name`` to the import form of ``kind`` (grid, incidents).

    Returns the page its import job goes on to (:func:`follow_job`).
    """
    token = csrf_token(client, "/import/")
    data = {"csrf_token": token, "file": (io.BytesIO(content), name), **fields}
    resp = client.post(f"/import/{kind}", data=data, content_type="multipart/form-data")
    return follow_job(client, resp)


def s02_grid(client) -> gpd.GeoDataFrame:
    """The grid of the logged-in user's station, as downloaded."""
    raw = client.get("/downloads/grid.geojson").data
    return gpd.read_file(io.BytesIO(raw))


def lattice_points(client, n=6):
    """A point inside each of the first ``n`` micro-grids of the station's grid."""
    cells = s02_grid(client)
    micro = cells[cells["level"] == "micro"]
    return [g.representative_point() for g in micro.geometry[:n]]


def repairable_grid(client) -> tuple[gpd.GeoDataFrame, str, str]:
    """S02's grid with a spike on M002 of B1 (invalid ring: an error --fix repairs), a 0.5 m
    wide, 99 m2 overhang of an edge cell out of its base grid and a 0.5 m wide gap beside
    another (sliver warnings); returns it with the ids of those two cells."""
    grid = s02_grid(client)
    station = grid.geometry[grid["level"] == "station"].iloc[0]
    minx, _, maxx, _ = station.bounds
    micro = grid.index[grid["level"] == "micro"]
    i = next(m for m in micro if abs(grid.geometry[m].bounds[2] - maxx) < 1e-6)
    _, y0, x1, y1 = grid.geometry[i].bounds
    strip = shapely.box(x1 - 1e-9, y0 + 1e-5, x1 + 0.0000064, y1 - 1e-5)
    grid.loc[i, "geometry"] = shapely.union(grid.geometry[i], strip)
    # and a 0.5 m wide strip along the station edge of a west cell left uncovered (242 m2)
    k = next(m for m in micro if abs(grid.geometry[m].bounds[0] - minx) < 1e-6)
    strip = shapely.intersection(grid.geometry[k], station.boundary.buffer(0.0000064))
    grid.loc[k, "geometry"] = shapely.difference(grid.geometry[k], strip)
    j = grid.index[grid["id"] == "S02-B1-M002"][0]
    ring = list(grid.geometry[j].exterior.coords)
    mx, my = (ring[0][0] + ring[1][0]) / 2, (ring[0][1] + ring[1][1]) / 2
    spike = [ring[0], (mx, my), (mx + 0.0003, my), (mx, my), *ring[1:]]
    grid.loc[j, "geometry"] = shapely.Polygon(spike)
    assert not grid.geometry[j].is_valid
    return grid, str(grid["id"][i]), str(grid["id"][k])
