"""Planning in the web UI: form, background job, versions, pins, sheets, downloads, users."""

import dataclasses
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html import unescape

import pytest
from _web import PASSWORD
from _web import csrf_token
from _web import login

from gridplan.io.planfile import plan_from_dict
from gridplan.routing.request import PlanRequest
from gridplan.web import store
from gridplan.web.db import connect


@pytest.fixture
def officer(client, web_store):
    """S02's officer (the lattice station: plans take ~1 s), UI in English."""
    client.get("/lang/en")
    login(client, web_store["users"][("S02", "officer")])
    return client


def plan_form(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/plans/"),
        "date": "2024-06-05",
        "slices": ["morning"],
        "patrollers": ["V09", "A09"],
        "dwell_top": "15",
        "dwell_high": "12",
        "dwell_other": "10",
        "pinned": "",
        "exclude": "",
        "seed": "0",
    }
    data.update(fields)
    return client.post("/plans/", data=data)


def plan_rows(app, station="S02"):
    con = connect(app.config["DATABASE"])
    try:
        return con.execute(
            "SELECT id, date, version, parent_id, plan, params_json FROM plans WHERE station_id=? "
            "ORDER BY id",
            (station,),
        ).fetchall()
    finally:
        con.close()


@pytest.mark.both_stores
def test_a_replan_adds_a_version_and_keeps_the_earlier_one(officer, web_app, web_store):
    before = plan_rows(web_app)
    first = before[0]
    resp = plan_form(
        officer,
        pinned="S02-B3-M003",
        exclude="S02-B1-M001",
        parent_id=str(first["id"]),
        dwell_top="14",
    )
    assert resp.status_code == 302 and "/plans/jobs/" in resp.headers["Location"]
    job = officer.get(resp.headers["Location"] + ".json").get_json()
    assert job["status"] == "done", job
    page = officer.get(job["url"])
    assert page.status_code == 200
    after = plan_rows(web_app)
    assert len(after) == len(before) + 1
    new = after[-1]
    assert (new["date"], new["version"], new["parent_id"]) == ("2024-06-05", 2, first["id"])
    assert after[0]["plan"] == first["plan"]  # the earlier version is untouched
    params = json.loads(new["params_json"])
    assert params["pinned"] == ["S02-B3-M003"] and params["exclude"] == ["S02-B1-M001"]
    plan = plan_from_dict(json.loads(zlib.decompress(new["plan"])))
    stops = {p.micro_id for s in plan.slices for r in s.routes for p in r.stops}
    assert "S02-B3-M003" in stops and "S02-B1-M001" not in stops
    assert plan.policy.dwell_min["top"] == 14
    html = page.get_data(as_text=True)
    assert "v2" in html and f"/plans/{first['id']}" in html  # versions listed, parent linked


def test_the_forms_plan_is_the_plan_of_its_request(officer, web_app, monkeypatch):
    # the form becomes one PlanRequest, and the job plans exactly that request: its plan is
    # the one the library makes of the request (work-limited here, so it can be compared)
    from gridplan.routing import planner

    real = planner.plan_patrols
    calls = []

    def work_limited(grid, hot, net, cfg, request, *, params, progress=None):
        params = dataclasses.replace(params, work_limit=200)
        calls.append((grid, hot, net, cfg, request, params))
        return real(grid, hot, net, cfg, request, params=params, progress=progress)

    monkeypatch.setattr(planner, "plan_patrols", work_limited)
    resp = plan_form(
        officer,
        patrollers=["V09"],
        dwell_top="14",
        pinned="S02-B3-M003；S02-B2-M001",
        exclude="S02-B1-M001",
        seed="2",
    )
    assert officer.get(resp.headers["Location"] + ".json").get_json()["status"] == "done"
    ((grid, hot, net, cfg, request, params),) = calls
    assert request == PlanRequest(
        "2024-06-05",
        slices=["morning"],
        patrollers=["V09"],
        dwell_min={"top": 14, "high": 12, "other": 10},
        pinned=["S02-B2-M001", "S02-B3-M003"],
        exclude=["S02-B1-M001"],
        seed=2,
    )
    assert (params.time_limit_s, params.workers) == (1.0, 1)  # the server's settings
    row = plan_rows(web_app)[-1]
    # a form without the feedback box plans with the station's presence_days; S02 has no
    # check-ins or tracks, so the request is as the form asked (tests/web/test_plan_feedback.py)
    nothing = {"days": 7, "used": False, "check_ins": 0, "fixes": 0, "kept_rows": 0, "plans": 0}
    assert json.loads(row["params_json"]) == {
        **request.to_dict(),
        "presence_days": 7,
        "feedback": nothing,
    }
    stored = plan_from_dict(json.loads(zlib.decompress(row["plan"])))
    direct = real(grid, hot, net, cfg, request, params=params)

    def walks(plan):
        return [
            (s.slice_id, r.patroller_id, [(p.micro_id, p.arrival) for p in r.stops])
            for s in plan.slices
            for r in s.routes
        ]

    assert walks(stored) == walks(direct) and walks(stored)[0][2]
    assert stored.policy.dwell_min["top"] == 14 and stored.seed == 2


def test_bad_plan_forms_are_refused_with_every_reason(officer, web_app):
    before = plan_rows(web_app)
    resp = plan_form(
        officer,
        date="2024-13-01",
        patrollers=["V09", "ZZ"],
        dwell_top="30",
        pinned="S02-B9-M999",
        slices=["morning", "brunch"],
    )
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    for part in ("2024-13-01", "ZZ", "30", "S02-B9-M999", "brunch"):
        assert part in text, part
    assert plan_rows(web_app) == before
    con = connect(web_app.config["DATABASE"])
    assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
    con.close()


def test_plan_form_problems_are_in_the_pages_language(officer):
    # the request's problems are library messages: the page shows them in its language
    officer.get("/lang/zh")
    resp = plan_form(officer, date="2024-13-01", patrollers=[], dwell_top="30", slices=["x"])
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    zh = ("2024-13-01", "无效", "未选择巡逻力量", "未知时段", "30（重点热点）", "10-15 分钟")
    for part in zh:
        assert part in text, part
    assert "is not a date" not in text and "no patroller chosen" not in text


def test_a_failing_plan_job_says_why(officer, web_app):
    # nobody of the roster is on duty in the night slice: the plan is made, with empty routes;
    # a station without hot spots cannot be planned: the job fails with the reason
    con = connect(web_app.config["DATABASE"])
    con.execute("DELETE FROM plans WHERE station_id='S02'")
    con.execute("DELETE FROM hotspot_runs WHERE station_id='S02'")
    con.close()
    resp = plan_form(officer)
    assert resp.status_code == 409
    assert "hot spots" in resp.get_data(as_text=True)


def test_analysts_and_leads_cannot_plan(client, web_store, web_app):
    for role in ("analyst", "volunteer_lead"):
        c = web_app.test_client()
        login(c, web_store["users"][("S02", role)])
        token = csrf_token(c, "/plans/")
        resp = c.post("/plans/", data={"csrf_token": token, "date": "2024-06-05"})
        assert resp.status_code == 403, role


def test_plan_downloads_open_in_gdal_and_gps_apps(officer, web_store, tmp_path):
    plan_id = web_store["plans"]["S02"]
    gj = officer.get(f"/downloads/plans/{plan_id}.geojson")
    assert gj.mimetype == "application/geo+json"
    kinds = {f["properties"]["kind"] for f in gj.get_json()["features"]}
    assert kinds == {"route", "stop"}
    gpx = officer.get(f"/downloads/plans/{plan_id}.gpx")
    root = ET.fromstring(gpx.data)
    assert root.tag.endswith("gpx") and root.findall("{*}wpt")
    csv = officer.get(f"/downloads/plans/{plan_id}.csv")
    assert csv.data.startswith(b"\xef\xbb\xbf")
    saved = officer.get(f"/downloads/plans/{plan_id}.plan.json").get_json()
    assert plan_from_dict(saved).station_id == "S02"
    gpkg = officer.get(f"/downloads/plans/{plan_id}.gpkg")
    assert "filename*=UTF-8''S02-plan-2024-06-05-v1.gpkg" in gpkg.headers["Content-Disposition"]
    if shutil.which("ogrinfo") is None:
        pytest.skip("GDAL's ogrinfo is not installed (apt-get install gdal-bin)")
    path = tmp_path / "plan.gpkg"
    path.write_bytes(gpkg.data)
    out = subprocess.run(["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Layer name: routes" in out.stdout and "Layer name: stops" in out.stdout
    assert "EPSG" in out.stdout and "4326" in out.stdout
    hot = officer.get("/downloads/hotspots.gpkg")
    (tmp_path / "hot.gpkg").write_bytes(hot.data)
    out = subprocess.run(
        ["ogrinfo", "-so", "-al", str(tmp_path / "hot.gpkg")], capture_output=True, text=True
    )
    assert "Feature Count: 45" in out.stdout  # 9 micro-grids x (4 slices + all day)


def test_downloads_are_audited(officer, web_app, web_store):
    officer.get("/downloads/grid.csv")
    con = connect(web_app.config["DATABASE"])
    rows = con.execute(
        "SELECT username, action, target FROM audit WHERE station_id='S02' AND action='export'"
    ).fetchall()
    con.close()
    assert ("s02-officer", "export", "S02-grid-v1.csv") in [tuple(r) for r in rows]


def test_route_sheets_print_in_either_language_and_as_pdf(officer, web_store):
    plan_id = web_store["plans"]["S02"]
    zh = officer.get(f"/plans/{plan_id}/sheets?lang=zh").get_data(as_text=True)
    en = officer.get(f"/plans/{plan_id}/sheets?lang=en").get_data(as_text=True)
    assert 'lang="zh' in zh and 'lang="en' in en
    assert "Nearest street" in en
    assert zh.count('class="sheet') == en.count('class="sheet') > 0
    one = officer.get(f"/plans/{plan_id}/sheets?patroller=V09").get_data(as_text=True)
    assert "V09" in one and "A09" not in one
    assert officer.get(f"/plans/{plan_id}/sheets?patroller=NOPE").status_code == 404
    pdf = officer.get(f"/plans/{plan_id}/sheets.pdf?patroller=V09&lang=zh")
    if pdf.status_code == 501:
        pytest.skip(pdf.get_data(as_text=True))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
        ).stdout.decode()
        assert "第二警务室" in text and "0571-110" in text


@pytest.mark.both_stores
def test_admin_adds_and_disables_users_of_their_station_only(client, web_store, web_app):
    login(client, web_store["users"][("S02", "admin")])
    token = csrf_token(client, "/admin/users")
    resp = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "new-lead",
            "password": PASSWORD,
            "role": "volunteer_lead",
            "team_id": "V09",
        },
    )
    assert resp.status_code == 302
    con = connect(web_app.config["DATABASE"])
    row = con.execute("SELECT * FROM users WHERE username='new-lead'").fetchone()
    assert (row["station_id"], row["role"], row["team_id"]) == ("S02", "volunteer_lead", "V09")
    # a short password and an unknown team are refused with the reason
    bad = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "x", "password": "short", "role": "officer"},
    )
    # (in the page's language: Chinese by default)
    assert bad.status_code == 422 and "至少使用 10 个字符" in bad.get_data(as_text=True)
    # another station's user cannot be disabled from here
    other = con.execute("SELECT id FROM users WHERE username='s01-officer'").fetchone()[0]
    assert (
        client.post(f"/admin/users/{other}/active", data={"csrf_token": token}).status_code == 404
    )
    resp = client.post(
        f"/admin/users/{row['id']}/active", data={"csrf_token": token, "active": "0"}
    )
    assert resp.status_code == 302
    assert con.execute("SELECT active FROM users WHERE id=?", (row["id"],)).fetchone()[0] == 0
    con.close()
    fresh = web_app.test_client()
    assert login(fresh, "new-lead").status_code == 401  # disabled logins are refused
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "add_user" in audit and "disable_user" in audit


def test_cli_adds_stations_and_users(runner, tmp_path):
    from gridplan.cli import main

    toml = tmp_path / "s03.toml"
    toml.write_text('[station]\nid = "S03"\nname = "第三警务室"\n', encoding="utf-8")
    inst = str(tmp_path / "inst")
    res = runner.invoke(main, ["stations", "add", str(toml), "--instance", inst])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        main,
        [
            "users",
            "add",
            "chief",
            "--station",
            "S03",
            "--role",
            "admin",
            "--password-stdin",
            "--instance",
            inst,
        ],
        input=PASSWORD + "\n",
    )
    assert res.exit_code == 0, res.output
    con = connect(tmp_path / "inst" / "gridplan.sqlite")
    assert con.execute("SELECT role FROM users WHERE username='chief'").fetchone()[0] == "admin"
    con.close()
    # a street network built with `gridplan network build` is attached to the station
    from _lattice import lattice_network

    from gridplan.network.graphs import save_network

    net_file = save_network(lattice_network(), tmp_path / "lattice.gpkg")
    res = runner.invoke(main, ["stations", "network", "S03", str(net_file), "--instance", inst])
    assert res.exit_code == 0, res.output
    con = connect(tmp_path / "inst" / "gridplan.sqlite")
    row = store.latest_network(con, "S03")
    con.close()
    assert row["path"].startswith(str(tmp_path / "inst" / "networks"))
    assert row["fingerprint"] == lattice_network().fingerprint
    res = runner.invoke(main, ["stations", "network", "S09", str(net_file), "--instance", inst])
    assert res.exit_code == 2 and "station 'S09' is unknown" in res.output
    res = runner.invoke(
        main,
        [
            "users",
            "add",
            "x",
            "--station",
            "S09",
            "--role",
            "admin",
            "--password-stdin",
            "--instance",
            inst,
        ],
        input=PASSWORD + "\n",
    )
    assert res.exit_code == 2 and "station 'S09' is unknown" in res.output


ROSTER_YJ = """
[[roster]]
id = "YJ-A"
name = "平安志愿者 甲队"
role = "volunteer_team"
mode = "walk"
members = 2
availability = { daily = ["18:30-20:30"] }
"""


def test_cli_updates_a_stations_configuration(runner, tmp_path):
    # a station set up with the default roster gets its own roster, weights and phone later
    from _lattice import make_grid

    import gridplan as gp
    from gridplan.cli import main

    inst = tmp_path / "inst"
    first = tmp_path / "hz-xh07.toml"
    first.write_text('[station]\nid = "HZ-XH07"\nname = "西溪第七"\n', encoding="utf-8")
    assert (
        runner.invoke(main, ["stations", "add", str(first), "--instance", str(inst)]).exit_code == 0
    )
    con = connect(inst / "gridplan.sqlite")
    store.add_user(
        con, "lead", PASSWORD, station_id="HZ-XH07", role="volunteer_lead", team_id="V01"
    )
    grid = make_grid()
    for col in ("id", "parent_id"):
        grid[col] = grid[col].str.replace("S01", "HZ-XH07")
    store.save_grid(con, "HZ-XH07", grid, source_name="grid.geojson", username="t", report={})
    micro = grid[grid["level"] == "micro"]
    lines = ["警情编号,经度,纬度,发生时间,案件类别"] + [
        f"J{k},{p.x:.6f},{p.y:.6f},2024/3/{k + 1} 20:05,噪音扰民"
        for k, p in enumerate(micro.to_crs(4326).representative_point())
    ]
    (tmp_path / "inc.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = gp.import_incidents(tmp_path / "inc.csv", station=grid)
    store.save_incident_batch(con, "HZ-XH07", result, source_name="inc.csv", username="t")
    con.close()
    # again with `stations add`: the message names the command that changes it
    res = runner.invoke(main, ["stations", "add", str(first), "--instance", str(inst)])
    assert res.exit_code == 2 and "gridplan stations update" in res.output
    # a roster without the lead's team is refused, naming the lead and the team
    second = tmp_path / "hz-xh07-roster.toml"
    text = '[station]\nid = "HZ-XH07"\nname = "西溪第七"\nphone = "0571-110"\n' + ROSTER_YJ
    second.write_text(text, encoding="utf-8")
    res = runner.invoke(main, ["stations", "update", str(second), "--instance", str(inst)])
    assert res.exit_code == 2 and "lead (team V01)" in res.output and "YJ-A" in res.output
    # with the team it is stored; weekend slices make the hot spots follow
    text += ROSTER_YJ.replace("YJ-A", "V01").replace("甲队", "乙队")
    text += "\n[time]\nsplit_weekend = true\n"
    second.write_text(text, encoding="utf-8")
    res = runner.invoke(main, ["stations", "update", str(second), "--instance", str(inst)])
    assert res.exit_code == 0, res.output
    assert "changed [roster], [station], [time]" in res.output and "hot spots" in res.output
    con = connect(inst / "gridplan.sqlite")
    cfg = store.station_config(con, "HZ-XH07")
    assert cfg.phone == "0571-110" and [p.id for p in cfg.roster] == ["YJ-A", "V01"]
    run = con.execute("SELECT id FROM hotspot_runs WHERE station_id='HZ-XH07'").fetchone()
    slices = set(store.load_hotspots(con, run[0])["slice"])
    assert slices == {s.id for s in cfg.slices} | {"all"} and "morning_we" in slices, slices
    actions = [r[0] for r in con.execute("SELECT action FROM audit WHERE station_id='HZ-XH07'")]
    assert actions == ["add_station", "update_station"]
    con.close()
    # a station the store does not have is added, not updated
    other = tmp_path / "s09.toml"
    other.write_text('[station]\nid = "S09"\n', encoding="utf-8")
    res = runner.invoke(main, ["stations", "update", str(other), "--instance", str(inst)])
    assert res.exit_code == 2 and "gridplan stations add" in res.output


def test_a_failed_demo_seed_leaves_no_store(tmp_path, monkeypatch):
    from gridplan.web import commands

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    # the seeding child process fails (its own errors: web/test_jobs.py)
    monkeypatch.setattr(commands, "_seed_in_child", boom)
    with pytest.raises(RuntimeError):
        commands._seed_if_empty(tmp_path, None)
    assert not (tmp_path / "gridplan.sqlite").exists()


def test_store_reads_back_what_it_wrote(web_store):
    con = connect(web_store["database"])
    try:
        row = store.get_plan_row(con, web_store["plans"]["S02"], "S02")
        assert store.plan_from_row(row).slices[0].slice_id == "morning"
        assert store.get_plan_row(con, web_store["plans"]["S02"], "S01") is None
        # the stored hot spots keep each cell's recent incidents by category ("why this stop")
        run = store.latest_hotspot_run(con, "S01")
        hot = store.load_hotspots(con, run["id"])
        recent = hot["recent"][hot["recent"] != ""]
        assert len(recent) and recent.str.match(r"^90d to \d{4}-\d\d-\d\d: ").all()
    finally:
        con.close()


# --- versions: the current plan of a date and the superseded ones ---------------------------


def save_version(app, plan_id, *, drop_team=None):
    """Store plan ``plan_id`` again as the next version of its date (without ``drop_team``'s
    routes if given, as a re-plan may leave a team out); return ``(id, version)``."""
    import dataclasses

    con = connect(app.config["DATABASE"])
    try:
        row = con.execute("SELECT * FROM plans WHERE id=?", (plan_id,)).fetchone()
        plan = store.plan_from_row(row)
        if drop_team:
            plan = dataclasses.replace(
                plan,
                slices=tuple(
                    dataclasses.replace(
                        s, routes=tuple(r for r in s.routes if r.patroller_id != drop_team)
                    )
                    for s in plan.slices
                ),
            )
        return store.save_plan(
            con,
            row["station_id"],
            plan,
            grid_id=row["grid_id"],
            hotspot_run_id=row["hotspot_run_id"],
            params=json.loads(row["params_json"]),
            username="test",
            parent_id=plan_id,
        )
    finally:
        con.close()


def listed(html):
    """(plan id, version cell text) of each row of the plan list, in order."""
    import re

    rows = re.findall(r'<tr[^>]*data-plan="(\d+)"[^>]*>.*?</td><td>(.*?)</td>', html, re.S)
    return [(int(pid), re.sub(r"<[^>]+>|\s+", " ", cell).split()) for pid, cell in rows]


BANNER = "Superseded by v2 — do not use."


def test_the_officer_sees_the_current_version_first_and_the_superseded_marked(
    officer, web_app, web_store
):
    v1 = web_store["plans"]["S02"]
    v2, version = save_version(web_app, v1)
    assert version == 2
    rows = listed(officer.get("/plans/").get_data(as_text=True))
    assert [pid for pid, _ in rows] == [v2, v1]  # the current one first
    assert "current" in rows[0][1] and "superseded" not in rows[0][1]
    assert " ".join(rows[1][1]).endswith("superseded by v2")
    old = officer.get(f"/plans/{v1}").get_data(as_text=True)
    assert BANNER in old and f'href="/plans/{v2}"' in old.split(BANNER)[1][:200]
    assert "do not use" not in officer.get(f"/plans/{v2}").get_data(as_text=True)
    sheets = officer.get(f"/plans/{v1}/sheets?lang=en").get_data(as_text=True)
    assert sheets.count(BANNER) == sheets.count('<section class="sheet') > 0
    assert BANNER not in officer.get(f"/plans/{v2}/sheets?lang=en").get_data(as_text=True)


def test_the_lead_sees_which_sheets_are_superseded_on_screen_and_on_paper(
    client, web_app, web_store, tmp_path
):
    v1 = web_store["plans"]["S01"]
    v2, _ = save_version(web_app, v1)
    client.get("/lang/en")
    login(client, web_store["users"][("S01", "volunteer_lead")])
    rows = listed(client.get("/plans/").get_data(as_text=True))
    assert rows == [(v2, ["v2", "current"]), (v1, ["v1", "superseded", "by", "v2"])]
    v3, _ = save_version(web_app, v2, drop_team="V01")  # the newest leaves the team out
    rows = listed(client.get("/plans/").get_data(as_text=True))
    assert [pid for pid, _ in rows] == [v2, v1]  # v3 has no route for V01
    assert client.get(f"/plans/{v3}/sheets").status_code == 404
    note = "superseded by v3 (no route for your team in v3)"
    assert [" ".join(cell) for _, cell in rows] == [f"v2 {note}", f"v1 {note}"]
    html = client.get(f"/plans/{v2}/sheets").get_data(as_text=True)
    banner = "Superseded by v3 — do not use."
    assert html.count(banner) == html.count('<section class="sheet') > 0
    resp = client.get(f"/plans/{v1}/sheets.pdf?lang=zh")
    if resp.status_code == 501:
        pytest.skip(resp.get_data(as_text=True))
    assert "route-sheets-2024-06-08-v1-superseded-V01.pdf" in resp.headers["Content-Disposition"]
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"],
            input=resp.data,
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert text.count("已被 v3 取代") >= 1


@pytest.mark.parametrize(
    ("lang", "name", "other"), [("zh", "早间", "Morning"), ("en", "Morning", "早间")]
)
def test_plan_map_layers_name_the_slice_in_the_ui_language(client, web_store, lang, name, other):
    # the plan map's slice layers and stop popups said 早间 Morning 06:00-10:00 in either UI
    client.get(f"/lang/{lang}")
    login(client, web_store["users"][("S01", "officer")])
    html = client.get(f"/plans/{web_store['plans']['S01']}/map").get_data(as_text=True)
    labels = re.findall(r'"label":"([^"]*)"', html)
    assert f"{name} 06:00-10:00" in labels, labels
    assert not [label for label in labels if other in label], labels


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["of this slice's risk", "in the 90 days to", "Why: ", "The solver maximises"]),
        ("zh", ["占本时段风险的", "天内：", "原因: ", "求解器最大化的是奖励分"]),
    ],
)
def test_the_plan_page_and_sheets_say_what_is_optimised_and_why_each_stop(
    client, web_store, lang, words
):
    risk, recent, why, objective = words
    client.get(f"/lang/{lang}")
    login(client, web_store["users"][("S01", "officer")])
    plan_id = web_store["plans"]["S01"]
    html = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert 'id="day-metrics"' in html and objective in html
    # the demo's hot spots carry recent incidents by category: every stop says why
    items = [unescape(t) for t in re.findall(r'<li data-micro="[^"]+">([^<]*)</li>', html)]
    assert items and all(risk in item for item in items), items[:3]
    assert any(recent in item for item in items)
    assert "Incidents within 8 minutes of a patrol<" not in html  # the old "any stop" figure
    sheets = client.get(f"/plans/{plan_id}/sheets?lang={lang}").get_data(as_text=True)
    lines = re.findall(r'<tr class="why"><td></td><td colspan="7">([^<]*)</td>', sheets)
    lines = [unescape(line) for line in lines]
    assert lines and all(line.startswith(why) and risk in line for line in lines)


def test_the_demo_plan_says_which_forecast_ranked_its_stops(client, web_store):
    """The demo plan's prize is the forecast chosen for S01; the plan, its page, its route
    sheets and the hot-spot map say which, in either language."""
    login(client, web_store["users"][("S01", "officer")])
    plan_id = web_store["plans"]["S01"]
    saved = client.get(f"/downloads/plans/{plan_id}.plan.json").get_json()
    forecast = saved["settings"]["forecast"]
    assert set(forecast["names"]) >= {"all", "morning", "day", "evening", "night"}
    assert forecast["horizon_days"] == 7 and forecast["figures"]["night"]["pai_prior"] > 0
    night = forecast["names"]["night"]
    client.get("/lang/en")
    en = unescape(client.get(f"/plans/{plan_id}").get_data(as_text=True))
    assert "Risk forecast" in en and 'id="forecast-table"' in en and night in en
    client.get("/lang/zh")
    zh = unescape(client.get(f"/plans/{plan_id}").get_data(as_text=True))
    assert "风险预测" in zh and "历史计数" in zh
    sheets = unescape(client.get(f"/plans/{plan_id}/sheets?lang=en").get_data(as_text=True))
    assert "Stops ranked by the forecast" in sheets and "prior counts" in sheets
    sheets_zh = unescape(client.get(f"/plans/{plan_id}/sheets?lang=zh").get_data(as_text=True))
    assert "经回测选定的预测" in sheets_zh
    frame = client.get("/map/frame").get_data(as_text=True)
    assert f'"night":"{night}"' in frame.replace('": "', '":"')  # the map's legend names it
