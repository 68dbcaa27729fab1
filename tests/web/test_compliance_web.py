"""The Compliance page of a plan (gridplan.web.views.compliance): the stored track fixes of the
plan's day and the plan's check-ins, through compute_compliance; per stop, per patroller and per
top hot spot, the bar chart and the map of presence, the warnings, CSV and GeoPackage; another
station's plan is a 404."""

import datetime as dt
import io
import re
import uuid
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _patrol import route_stops
from _tracks import route_fixes
from _web import login

from gridplan.io.track_files import compliance_tables
from gridplan.io.track_files import read_check_ins
from gridplan.tracks.compliance import compute_compliance
from gridplan.web import store
from gridplan.web.db import connect

LATTICE_CRS = 26910


def as_user(client, patrol_store, station, name):
    resp = login(client, patrol_store["users"][(station, name)])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def plan_and_grid(app, station="S02"):
    con = connect(app.config["DATABASE"])
    try:
        row = con.execute(
            "SELECT * FROM plans WHERE station_id=? ORDER BY id DESC", (station,)
        ).fetchone()
        plan = store.plan_from_row(row)
        grid = store.load_grid(con, row["grid_id"])
    finally:
        con.close()
    return row["id"], plan, grid


def route_of(plan, patroller):
    return next(r for s in plan.slices for r in s.routes if r.patroller_id == patroller)


def store_fixes(app, fixes, patroller):
    con = connect(app.config["DATABASE"])
    try:
        store.save_track_batch(
            con, "S02", fixes, patroller_id=patroller, source_name="t.gpx", username="test"
        )
    finally:
        con.close()


def statuses(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-stop="([^"]+)" data-status="([^"]+)"', html))


@pytest.fixture
def tracked(patrol_app):
    """S02's plan with V09's walk stored (every 5 s, two stops skipped); plan id, plan, grid."""
    plan_id, plan, grid = plan_and_grid(patrol_app)
    route = route_of(plan, "V09")
    skipped = [p.order for p in route.stops][1:3]
    fixes = route_fixes(route, LATTICE_CRS, every_s=5.0, skip=skipped)
    store_fixes(patrol_app, fixes, "V09")
    return plan_id, plan, grid, route, skipped, fixes


def test_the_page_shows_each_stop_as_compute_compliance_does(patrol_app, patrol_store, tracked):
    plan_id, plan, grid, route, skipped, fixes = tracked
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    resp = client.get(f"/plans/{plan_id}/compliance")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    got = statuses(html)
    # the library on the same data, fixes as the store keeps them (to the second)
    stored = fixes.assign(time=fixes["time"].dt.floor("s"))
    want = compute_compliance(plan, stored, grid, config=None)
    assert got == dict(zip(want.stops["stop_key"], want.stops["status"], strict=True))
    mine = {k: v for k, v in got.items() if k.split("/")[1] == "V09"}
    missed = {k for k, v in mine.items() if v == "missed"}
    assert missed == {f"{route.slice_id}/V09/{route.part}/{o}" for o in skipped}
    assert set(mine.values()) <= {"visited", "late", "missed"}
    # A09 has no track: its stops are no_track, and a warning says so
    assert {v for k, v in got.items() if k.split("/")[1] == "A09"} == {"no_track"}
    assert "A09" in " ".join(re.findall(r'compliance-warning">([^<]*)<', html))
    # counts, the chart with a group per top hot spot, the map frame
    for status, n in want.counts().items():
        assert f'id="n-{status}">{n}<' in html
    assert len(missed) == 2
    assert html.count('<g class="spot') == len(want.hotspots) > 0
    assert 'id="map-frame"' in html and f"/plans/{plan_id}/compliance/map" in html
    assert 'id="compliance-link"' in client.get(f"/plans/{plan_id}").get_data(as_text=True)


def test_check_ins_count_next_to_tracks(patrol_app, patrol_store):
    plan_id, plan, _grid = plan_and_grid(patrol_app)
    stops = route_stops(patrol_store["database"], "S02", "A09")
    route = route_of(plan, "A09")
    con = connect(patrol_app.config["DATABASE"])
    try:
        for s, p in zip(stops, route.stops, strict=True):
            for kind, at in (("arrived", p.arrival), ("left", p.departure)):
                store.add_check_in(
                    con, "S02", client_id=str(uuid.uuid4()), plan_id=plan_id,
                    slice_id=s["slice_id"], route_index=s["route_index"],
                    stop_index=s["stop_index"], micro_id=s["micro_id"], patroller_id="A09",
                    kind=kind, client_at=at, username="s02-auxiliary",
                )  # fmt: skip
    finally:
        con.close()
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "analyst")
    got = statuses(client.get(f"/plans/{plan_id}/compliance").get_data(as_text=True))
    assert {v for k, v in got.items() if k.split("/")[1] == "A09"} == {"visited"}
    # the plan page's check-ins CSV reads back as the same check-ins (gridplan compliance
    # --checkins), each naming its stop as compliance does
    csv = client.get(f"/plans/{plan_id}/check-ins.csv")
    path = Path(patrol_app.instance_path) / "check-ins.csv"
    path.write_bytes(csv.data)
    read = read_check_ins(path)
    assert len(read) == 2 * len(route.stops)
    assert {c.stop for c in read} == {
        f"{route.slice_id}/A09/{route.part}/{p.order}" for p in route.stops
    }
    assert [c.time for c in read if c.kind == "arrived"] == [p.arrival for p in route.stops]


def test_downloads_hold_the_report(patrol_app, patrol_store, tracked):
    plan_id, plan, grid, _route, _skipped, fixes = tracked
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    stored = fixes.assign(time=fixes["time"].dt.floor("s"))
    want = compliance_tables(compute_compliance(plan, stored, grid))
    for table in ("stops", "patrollers", "hotspots"):
        resp = client.get(f"/plans/{plan_id}/compliance.csv?table={table}")
        assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf")
        got = pd.read_csv(io.BytesIO(resp.data), encoding="utf-8-sig")
        assert list(got.columns) == list(want[table].columns) and len(got) == len(want[table])
    resp = client.get(f"/plans/{plan_id}/compliance.gpkg")
    assert resp.status_code == 200
    path = patrol_app.instance_path + "/c.gpkg"
    with open(path, "wb") as f:
        f.write(resp.data)
    layer = gpd.read_file(path, layer="stops")
    assert sorted(layer["stop_key"]) == sorted(want["stops"]["stop_key"])
    assert client.get(f"/plans/{plan_id}/compliance.csv?table=users").status_code == 404
    analyst = as_user(patrol_app.test_client(), patrol_store, "S02", "analyst")
    assert analyst.get(f"/plans/{plan_id}/compliance.gpkg").status_code == 200


def test_the_map_frame_draws_presence_offline(patrol_app, patrol_store, tracked):
    plan_id = tracked[0]
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    resp = client.get(f"/plans/{plan_id}/compliance/map")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "gp-presence-legend" in html
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert not re.search(r"https?://(?!localhost)[^\"' ]+\.(js|css)", html)


def test_another_station_and_the_phone_roles_get_no_compliance(patrol_app, patrol_store):
    plan_id, _plan, _grid = plan_and_grid(patrol_app)
    other = as_user(patrol_app.test_client(), patrol_store, "S03", "officer")
    for path in ("", "/map", ".csv", ".gpkg"):
        assert other.get(f"/plans/{plan_id}/compliance{path}").status_code == 404
    for name in ("lead", "patroller"):
        c = as_user(patrol_app.test_client(), patrol_store, "S02", name)
        assert c.get(f"/plans/{plan_id}/compliance").status_code == 403


def test_a_plan_without_tracks_says_so(patrol_app, patrol_store):
    plan_id, _plan, _grid = plan_and_grid(patrol_app)
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    client.get("/lang/en")
    html = client.get(f"/plans/{plan_id}/compliance").get_data(as_text=True)
    assert 'id="no-tracks"' in html
    assert set(statuses(html).values()) == {"no_track"}
    # no stop made: the arrival column has no time at all, and still downloads
    stops = client.get(f"/plans/{plan_id}/compliance.csv?table=stops")
    got = pd.read_csv(io.BytesIO(stops.data), encoding="utf-8-sig", keep_default_na=False)
    assert stops.status_code == 200 and set(got["arrived"]) == {""}
    assert client.get(f"/plans/{plan_id}/compliance.gpkg").status_code == 200


def test_fixes_of_other_days_do_not_count(patrol_app, patrol_store):
    plan_id, plan, _grid = plan_and_grid(patrol_app)
    fixes = route_fixes(route_of(plan, "V09"), LATTICE_CRS, every_s=5.0)
    store_fixes(patrol_app, fixes.assign(time=fixes["time"] - dt.timedelta(days=1)), "V09")
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    html = client.get(f"/plans/{plan_id}/compliance").get_data(as_text=True)
    assert {v for k, v in statuses(html).items() if "/V09/" in k} == {"no_track"}


def test_coarse_fixes_and_unknown_time_are_reported_not_hidden(patrol_app, patrol_store):
    plan_id, plan, _grid = plan_and_grid(patrol_app)
    fixes = route_fixes(route_of(plan, "V09"), LATTICE_CRS, every_s=60.0)
    start = fixes["time"].iloc[0]
    hole = (fixes["time"] > start + dt.timedelta(minutes=20)) & (
        fixes["time"] < start + dt.timedelta(minutes=35)
    )
    store_fixes(patrol_app, fixes[~hole], "V09")
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    client.get("/lang/zh")
    html = client.get(f"/plans/{plan_id}/compliance").get_data(as_text=True)
    row = re.search(r'<tr data-patroller="V09">(.*?)</tr>', html, re.S).group(1)
    assert "badge warn" in row  # coarse
    unknown = re.search(r'id="unknown-time">([^<]*)<', html).group(1)
    assert "V09" in unknown and re.search(r"[\u4e00-\u9fff]", unknown)
    warnings = " ".join(re.findall(r'compliance-warning">([^<]*)<', html))
    assert "V09" in warnings and "60" in warnings and re.search(r"[\u4e00-\u9fff]", warnings)


def test_a_day_past_retention_says_its_tracks_are_gone(patrol_app, patrol_store, monkeypatch):
    from gridplan.web import retention

    plan_id, plan, _grid = plan_and_grid(patrol_app)
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    assert 'id="purged"' not in client.get(f"/plans/{plan_id}/compliance").get_data(as_text=True)
    later = dt.datetime.combine(plan.date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    monkeypatch.setattr(retention, "cutoff", lambda config, today=None: later)
    client.get("/lang/zh")
    html = client.get(f"/plans/{plan_id}/compliance").get_data(as_text=True)
    notice = re.search(r'id="purged">([^<]*)<', html).group(1)
    assert "90" in notice and re.search(r"[\u4e00-\u9fff]", notice)
