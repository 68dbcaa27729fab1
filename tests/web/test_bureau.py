"""The bureau role and page (gridplan.web.views.bureau, gridplan.web.bureau): a branch bureau's
commander reads a set of stations, read-only; the city map and the table of figures; the way
into one station and back; a station outside the set a 404, a write a 403; every read in the
station's audit log; the set enforced by row-level security on PostgreSQL too.

The stores are ``_patrol``'s (lattice stations S02 and S03, a morning plan for today each) on
both back-ends; bureau users are added to each test's copy.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pandas as pd
import pytest
from _web import PASSWORD
from _web import csrf_token
from _web import login

from gridplan.web import store
from gridplan.web.db import connect

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def add_bureau(app, name: str, stations: tuple[str, ...]) -> None:
    """Add bureau user ``name`` over ``stations`` to the app's store."""
    con = connect(app.config["DATABASE"])
    try:
        store.add_user(
            con, name, PASSWORD, station_id=stations[0], role="bureau", stations=stations
        )
    finally:
        con.close()


@pytest.fixture
def bureau_client(patrol_app):
    """A client logged in as ``bureau-all`` (S02 and S03); ``bureau-s02`` reads S02 only."""
    add_bureau(patrol_app, "bureau-all", ("S02", "S03"))
    add_bureau(patrol_app, "bureau-s02", ("S02",))
    client = patrol_app.test_client()
    assert login(client, "bureau-all").status_code == 302
    return client


def _audit(app, station: str, username: str) -> list[tuple[str, str]]:
    con = connect(app.config["DATABASE"])
    try:
        rows = con.execute(
            "SELECT action, target FROM audit WHERE station_id=? AND username=? ORDER BY id",
            (station, username),
        ).fetchall()
    finally:
        con.close()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.both_stores
def test_a_bureau_user_sees_its_stations_opens_one_read_only_and_comes_back(
    patrol_app, bureau_client, patrol_store
):
    client = bureau_client
    # no station of its own: station pages lead to the bureau page
    resp = client.get("/")
    assert resp.status_code == 302 and resp.location.endswith("/bureau/")
    page = client.get("/bureau/").get_data(as_text=True)
    assert 'data-station="S02"' in page and 'data-station="S03"' in page
    assert "bureau-banner" not in page
    frame = client.get("/bureau/map")
    assert frame.status_code == 200
    html = frame.get_data(as_text=True)
    assert "/bureau/stations/S02" in html and "/bureau/stations/S03" in html
    # into S02: an analyst's pages, under the banner
    resp = client.get("/bureau/stations/S02")
    assert resp.status_code == 302
    overview = client.get("/").get_data(as_text=True)
    assert 'id="bureau-banner"' in overview and "S02" in overview
    plan_id = patrol_store["plans"]["S02"]
    for path in ("/plans/", f"/plans/{plan_id}", f"/plans/{plan_id}/compliance", "/map/",
                 "/map/frame", "/alerts/", f"/plans/{plan_id}/compliance.csv",
                 f"/downloads/plans/{plan_id}.geojson"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    # back: the bureau page again, no station viewed
    assert "bureau-banner" not in client.get("/bureau/").get_data(as_text=True)
    assert client.get("/plans/").status_code == 302


@pytest.mark.both_stores
def test_the_bureau_role_never_imports_plans_or_edits(patrol_app, bureau_client):
    client = bureau_client
    token = csrf_token(client, "/bureau/")
    # outside a station every write is refused
    assert client.post("/plans/", data={"csrf_token": token}).status_code == 403
    client.get("/bureau/stations/S02")
    token = csrf_token(client, "/plans/")
    for path in ("/plans/", "/alerts/", "/targets/", "/tracks/", "/import/incidents",
                 "/admin/users"):  # fmt: skip
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    for path in ("/import/", "/tracks/", "/admin/users", "/admin/audit"):
        assert client.get(path).status_code == 403, path
    nav = client.get("/plans/").get_data(as_text=True)
    assert 'href="/import/"' not in nav and "plan-form" not in nav


@pytest.mark.both_stores
def test_a_station_outside_the_set_is_a_404_whatever_the_url(patrol_app, bureau_client,
                                                              patrol_store):  # fmt: skip
    client = patrol_app.test_client()
    login(client, "bureau-s02")
    assert client.get("/bureau/stations/S03").status_code == 404
    assert client.get("/bureau/stations/NOPE").status_code == 404
    page = client.get("/bureau/").get_data(as_text=True)
    assert 'data-station="S02"' in page and 'data-station="S03"' not in page
    client.get("/bureau/stations/S02")
    s03 = patrol_store["plans"]["S03"]
    for path in (f"/plans/{s03}", f"/plans/{s03}/compliance", f"/plans/{s03}/map",
                 f"/downloads/plans/{s03}.geojson", f"/plans/{s03}/check-ins.csv"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    # a session that names S03 (a forged or stale cookie) views nothing
    with client.session_transaction() as sess:
        sess["bureau_station"] = "S03"
    assert client.get("/plans/").status_code == 302
    # the other roles have no bureau page
    other = patrol_app.test_client()
    login(other, patrol_store["users"][("S02", "analyst")])
    assert other.get("/bureau/").status_code == 403
    assert other.get("/bureau/stations/S02").status_code == 403


@pytest.mark.both_stores
def test_a_bureau_users_reads_are_in_each_stations_audit_log(
    patrol_app, bureau_client, patrol_store
):
    client = bureau_client
    client.get("/bureau/")
    plan_id = patrol_store["plans"]["S02"]
    client.get("/bureau/stations/S02")
    client.get(f"/plans/{plan_id}")
    s02 = _audit(patrol_app, "S02", "bureau-all")
    assert ("bureau_overview", "/bureau/") in s02
    assert ("bureau_open", "S02") in s02
    assert ("bureau_read", f"/plans/{plan_id}") in s02
    s03 = _audit(patrol_app, "S03", "bureau-all")
    assert ("bureau_overview", "/bureau/") in s03
    assert not [a for a in s03 if a[0] in ("bureau_open", "bureau_read")]
    # the station's admin sees who read it, and that the user is a bureau's
    admin = patrol_app.test_client()
    login(admin, patrol_store["users"][("S02", "admin")])
    assert f"/plans/{plan_id}" in admin.get("/admin/audit").get_data(as_text=True)
    users = admin.get("/admin/users").get_data(as_text=True)
    assert 'id="bureau-users"' in users and "bureau-all" in users
    assert 'value="bureau"' not in users


@pytest.mark.both_stores
def test_a_station_admin_cannot_make_or_change_a_bureau_user(
    patrol_app, bureau_client, patrol_store
):
    admin = patrol_app.test_client()
    login(admin, patrol_store["users"][("S02", "admin")])
    token = csrf_token(admin, "/admin/users")
    resp = admin.post(
        "/admin/users",
        data={"csrf_token": token, "username": "grab", "password": PASSWORD, "role": "bureau"},
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 403
    assert "command line" in resp.get_data(as_text=True)
    con = connect(patrol_app.config["DATABASE"])
    try:
        bureau_id = con.execute("SELECT id FROM users WHERE username='bureau-all'").fetchone()[0]
    finally:
        con.close()
    resp = admin.post(f"/admin/users/{bureau_id}/active", data={"csrf_token": token, "active": 0})
    assert resp.status_code == 404


def _seed_presence(database: str) -> tuple[dt.date, dt.date]:
    """Kept presence of S02: 30 min in a micro-grid and 12 outside on a day of the window,
    45 min the day before the window (not counted); the window of ``NOW``."""
    from gridplan.web.bureau import window

    since, until = window("Asia/Shanghai", now=NOW)
    con = connect(database)
    try:
        rows = [
            ("S02", until.isoformat(), "morning", "V09", "S02-B1-M001", 30.0, 0.0, "t"),
            ("S02", until.isoformat(), "morning", "V09", "", 12.0, 3.0, "t"),
            ("S02", (since - dt.timedelta(days=1)).isoformat(), "morning", "A09",
             "S02-B1-M001", 45.0, 0.0, "t"),
        ]  # fmt: skip
        con.executemany(
            "INSERT INTO presence (station_id, date, slice_id, patroller_id, micro_id, minutes, "
            "unknown_minutes, computed_at) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
    finally:
        con.close()
    return since, until


#: two days after today (station time): today's plans are in the window
NOW = dt.datetime.combine(
    dt.datetime.now(TZ).date() + dt.timedelta(days=2), dt.time(12), tzinfo=TZ
).astimezone(dt.UTC)


@pytest.mark.both_stores
def test_the_figures_are_the_stores_plans_presence_compliance_and_alerts(patrol_app, patrol_store):
    from _lattice import make_hotspots
    from _patrol import _station
    from _tracks import plan_fixes

    from gridplan._validate import HOT_CLASSES
    from gridplan.web.bureau import station_figures
    from gridplan.web.db import get_db

    database = patrol_app.config["DATABASE"]
    since, until = _seed_presence(database)
    con = connect(database)
    try:
        row = store.get_plan_row(con, patrol_store["plans"]["S02"], "S02")
        plan = store.plan_from_row(row)
        fixes = plan_fixes(plan, 26910, every_s=10.0)
        for patroller, part in fixes.groupby("patroller"):
            store.save_track_batch(con, "S02", part, patroller_id=patroller,
                                   source_name="gpx", username="test")  # fmt: skip
        store.add_alert(con, "S02", level="red", micro_ids=["S02-B1-M001"],
                        starts=NOW - dt.timedelta(hours=1), ends=NOW + dt.timedelta(hours=5),
                        reason="robbery series", created_by="test")  # fmt: skip
    finally:
        con.close()
    grid = _station("S02")[1]
    allday = make_hotspots(grid)
    allday = allday[allday["slice"] == "all"]
    n_stops = sum(len(r.stops) for s in plan.slices for r in s.routes if r.deployed)
    with patrol_app.app_context():
        s02 = station_figures(get_db(), "S02", now=NOW)
        s03 = station_figures(get_db(), "S03", now=NOW)
        # the alert has ended by the day after
        later = station_figures(get_db(), "S02", now=NOW + dt.timedelta(days=1))
    assert (s02.since, s02.until) == (since, until)
    assert s02.plan_id == patrol_store["plans"]["S02"] and s02.plan_version == 1
    assert s02.risk_covered == pytest.approx(plan.day_metrics().risk_covered)
    assert s02.hot_spots == int(allday["gi_class"].isin(HOT_CLASSES).sum())
    # 30 kept minutes plus what the stored fixes amount to in micro-grids; the day before the
    # window and the time outside micro-grids count nowhere
    assert s02.presence_min > 30.0
    assert s02.patrollers == len({"V09"} | set(fixes["patroller"]))
    # every stop of the routes walked as planned was made
    assert s02.plans_measured == 1
    assert s02.stops["missed"] == 0
    assert s02.stops["visited"] + s02.stops["late"] == n_stops
    assert s02.compliance == 1.0
    assert s02.alerts == {"red": 1, "yellow": 0, "blue": 0} and later.open_alerts == 0
    # S03: a plan but no tracks, no check-ins, no presence: said, not invented
    assert s03.presence_min is None and s03.patrollers == 0
    assert s03.plans_measured == 1 and s03.compliance is None
    assert s03.stops["visited"] + s03.stops["late"] + s03.stops["missed"] == 0


@pytest.mark.both_stores
def test_kept_presence_counts_in_the_window_only(patrol_app, patrol_store):
    from gridplan.web.bureau import station_figures
    from gridplan.web.db import get_db

    _seed_presence(patrol_app.config["DATABASE"])
    with patrol_app.app_context():
        s02 = station_figures(get_db(), "S02", now=NOW)
    assert s02.presence_min == pytest.approx(30.0)
    assert s02.patrollers == 1


@pytest.mark.both_stores
def test_the_table_sorts_says_what_is_missing_and_downloads_as_csv(patrol_app, bureau_client):
    client = bureau_client
    con = connect(patrol_app.config["DATABASE"])
    try:
        con.execute("DELETE FROM check_ins")
    finally:
        con.close()
    page = client.get("/bureau/?sort=station&desc=1", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert text.index('data-station="S03"') < text.index('data-station="S02"')
    assert "no tracks" in text
    text = client.get("/bureau/?sort=station").get_data(as_text=True)
    assert text.index('data-station="S02"') < text.index('data-station="S03"')
    assert client.get("/bureau/?sort=nonsense").status_code == 200
    resp = client.get("/bureau/figures.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    import io

    table = pd.read_csv(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")))
    assert list(table["station_id"]) == ["S02", "S03"]
    assert table["risk_covered"].between(0, 1).all()
    assert table["presence_min"].isna().all()  # no tracks yet: empty, not 0
    zh = client.get("/bureau/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert re.search("分局|警务室", zh)


def test_the_bureau_role_on_the_command_line(runner, store_url, tmp_path, monkeypatch):
    from _web import S02_TOML

    from gridplan.cli import main

    con = connect(store_url)
    try:
        for sid in ("S02", "S03", "S04"):
            store.add_station(con, S02_TOML.replace('id = "S02"', f'id = "{sid}"'))
    finally:
        con.close()
    monkeypatch.setenv("GRIDPLAN_DATABASE_URL", store_url)
    args = ["users", "add", "chief", "--role", "bureau", "--password-stdin",
            "--instance", str(tmp_path)]  # fmt: skip
    result = runner.invoke(main, [*args, "--stations", "S02,S03"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "S02, S03" in result.output
    con = connect(store_url)
    try:
        row = con.execute(
            "SELECT id, role, station_id FROM users WHERE username='chief'"
        ).fetchone()
        assert (row["role"], row["station_id"]) == ("bureau", "S02")
        assert store.user_stations(con, row["id"]) == ("S02", "S03")
    finally:
        con.close()
    # the set changes; the home station follows; each station gained or lost is audited
    result = runner.invoke(main, ["users", "stations", "chief", "S03,S04",
                                  "--instance", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    con = connect(store_url)
    try:
        row = con.execute("SELECT id, station_id FROM users WHERE username='chief'").fetchone()
        assert store.user_stations(con, row["id"]) == ("S03", "S04")
        assert row["station_id"] == "S03"
        audit = con.execute(
            "SELECT station_id, action FROM audit WHERE target='chief' ORDER BY id"
        ).fetchall()
        assert [tuple(a) for a in audit][-2:] == [
            ("S02", "revoke_station"),
            ("S04", "grant_station"),
        ]
    finally:
        con.close()
    # refused: no stations, an unknown one, stations for another role, a set for a non-bureau
    bad = [
        ([*args[:2], "x1", *args[3:]], "needs --stations"),
        ([*args[:2], "x2", *args[3:], "--stations", "S02,S99"], "unknown: S99"),
        (["users", "add", "x3", "--role", "analyst", "--station", "S02", "--stations", "S02",
          "--password-stdin", "--instance", str(tmp_path)], "--stations is for --role bureau"),
    ]  # fmt: skip
    for argv, message in bad:
        result = runner.invoke(main, argv, input=PASSWORD + "\n")
        assert result.exit_code == 2, result.output
        assert message in result.output
    con = connect(store_url)
    try:
        store.add_user(con, "plain", PASSWORD, station_id="S02", role="analyst")
    finally:
        con.close()
    result = runner.invoke(main, ["users", "stations", "plain", "S02",
                                  "--instance", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "not one" in result.output


def test_row_level_security_gives_a_bureau_scope_its_set_and_nothing_else(pg_cluster):
    from _web import S02_TOML
    from _web import lattice_station

    from gridplan.web.dialect import station_scope

    url = pg_cluster.new_store()
    con = connect(url)
    grid, _hot, _net = lattice_station()
    try:
        for sid in ("S02", "S03", "S04"):
            store.add_station(con, S02_TOML.replace('id = "S02"', f'id = "{sid}"'))
            g = grid.assign(
                id=grid["id"].str.replace("S02", sid),
                parent_id=grid["parent_id"].map(
                    lambda v, sid=sid: v.replace("S02", sid) if isinstance(v, str) else None
                ),
            )
            store.save_grid(con, sid, g, source_name="g.geojson", username="cli", report={})
    finally:
        con.close()
    bureau = connect(url, station=station_scope(["S03", "S02"]))
    one = connect(url, station="S02")
    try:
        # raw SQL without a station filter: the set's rows, no others
        assert {r[0] for r in bureau.execute("SELECT station_id FROM grids")} == {"S02", "S03"}
        assert bureau.execute("SELECT COUNT(*) FROM grid_features").fetchone()[0] == 26
        assert (
            bureau.execute("SELECT COUNT(*) FROM grids WHERE station_id='S04'").fetchone()[0] == 0
        )
        with pytest.raises(Exception, match="row-level security"):
            bureau.execute(
                "INSERT INTO jobs (station_id, kind, status, params_json, created_at, "
                "created_by) VALUES ('S04', 'plan', 'queued', '{}', 'now', 'x')"
            )
        # one station's scope stays exactly as strict
        assert {r[0] for r in one.execute("SELECT station_id FROM grids")} == {"S02"}
        assert one.execute("SELECT COUNT(*) FROM grid_features").fetchone()[0] == 13
    finally:
        bureau.close()
        one.close()
    for bad in ([], ["S02,S04"], ["*"], ["S02", "S0 4"]):
        with pytest.raises(ValueError, match="station scope"):
            station_scope(bad)


def test_a_bureau_users_requests_run_in_its_scope_on_postgresql(pg_cluster, tmp_path):
    import flask
    from _web import S02_TOML

    from gridplan.web import create_app
    from gridplan.web.db import get_db

    url = pg_cluster.new_store()
    con = connect(url)
    try:
        for sid in ("S02", "S03", "S04"):
            store.add_station(con, S02_TOML.replace('id = "S02"', f'id = "{sid}"'))
            store.add_job(con, sid, "plan", {}, "test")
        store.add_user(con, "chief", PASSWORD, station_id="S02", role="bureau",
                       stations=("S02", "S03"))  # fmt: skip
    finally:
        con.close()
    app = create_app(
        {"TESTING": True, "DATABASE": url, "SECRET_KEY": "t", "JOBS_INLINE": True},
        instance_path=str(tmp_path),
    )
    client = app.test_client()
    login(client, "chief")
    with client:
        assert client.get("/bureau/").status_code == 200
        assert flask.g.db_station == "S02,S03"
        assert {r[0] for r in get_db().execute("SELECT station_id FROM jobs")} == {"S02", "S03"}
    client.get("/bureau/stations/S03")
    with client:
        client.get("/alerts/")
        assert flask.g.db_station == "S03"
        assert {r[0] for r in get_db().execute("SELECT station_id FROM jobs")} == {"S03"}
