"""The Targets page: draw, upload, list, change, delete; one station's targets only; plans."""

import io
import json
import re

import pytest
from _targets import market_street
from _targets import school_gate
from _targets import targets_frame
from _web import csrf_token
from _web import follow_job
from _web import login

from gridplan.web.db import connect


def _login(client, web_store, station="S02", role="officer", lang="en"):
    client.get(f"/lang/{lang}")
    login(client, web_store["users"][(station, role)])
    return client


@pytest.fixture
def officer(client, web_store):
    """S02's officer (the lattice station), UI in English."""
    return _login(client, web_store)


def draw(client, target, **fields):
    """Post the Targets form as the page does after drawing ``target``'s shape."""
    data = {
        "csrf_token": csrf_token(client, "/targets/"),
        "geometry": json.dumps(target.geometry.__geo_interface__),
        "name": target.name,
        "windows": target.windows_text,
        "value": str(target.value),
        "dwell_min": str(target.dwell_min),
        **fields,
    }
    return client.post("/targets/", data=data)


def stored_targets(app, station="S02"):
    con = connect(app.config["DATABASE"])
    try:
        rows = con.execute(
            "SELECT target_id, target_json FROM targets WHERE station_id=? ORDER BY target_id",
            (station,),
        ).fetchall()
        return {r["target_id"]: json.loads(r["target_json"]) for r in rows}
    finally:
        con.close()


def audit_actions(app, action):
    con = connect(app.config["DATABASE"])
    try:
        rows = con.execute("SELECT target, username FROM audit WHERE action=?", (action,))
        return [tuple(r) for r in rows.fetchall()]
    finally:
        con.close()


def test_drawn_targets_are_listed_changed_and_deleted(officer, web_app):
    page = officer.get("/targets/").get_data(as_text=True)
    assert "No targets yet." in page and "vendor/leaflet-draw/leaflet.draw.js" in page
    assert draw(officer, school_gate()).status_code == 302
    assert draw(officer, market_street(), modes="walk").status_code == 302
    saved = stored_targets(web_app)
    assert sorted(saved) == ["一小校门", "中山路"]  # ids from the names
    assert saved["中山路"]["modes"] == ["walk"] and len(saved["中山路"]["coords"]) == 2
    page = officer.get("/targets/").get_data(as_text=True)
    assert "street section, 200 m" in page and "07:30-08:15; 16:30-17:30" in page
    assert audit_actions(web_app, "add_target") == [
        ("一小校门", "s02-officer"),
        ("中山路", "s02-officer"),
    ]
    # a change without a new shape keeps the shape
    token = csrf_token(officer, "/targets/?edit=一小校门")
    resp = officer.post(
        "/targets/一小校门",
        data={"csrf_token": token, "original": "一小校门", "name": "一小校门",
              "windows": "weekdays 07:30-08:15", "value": "20", "dwell_min": "10"},
    )  # fmt: skip
    assert resp.status_code == 302
    gate = stored_targets(web_app)["一小校门"]
    assert gate["windows"] == "weekdays 07:30-08:15" and gate["value"] == 20.0
    assert gate["coords"] == [list(school_gate().coords[0])]
    token = csrf_token(officer, "/targets/")
    assert officer.post("/targets/中山路/delete", data={"csrf_token": token}).status_code == 302
    assert sorted(stored_targets(web_app)) == ["一小校门"]
    assert audit_actions(web_app, "delete_target") == [("中山路", "s02-officer")]


@pytest.mark.parametrize(
    ("lang", "fields", "status", "said"),
    [
        ("en", {"windows": "7h30"}, 422, "window &#39;7h30&#39; is not [day ]HH:MM-HH:MM"),
        ("zh", {"windows": "7h30"}, 422, "时段 &#39;7h30&#39; 不是 [日期 ]HH:MM-HH:MM 格式"),
        ("en", {"geometry": ""}, 422, "no point or line drawn; draw one on the map"),
        ("zh", {"geometry": "{not json"}, 422, "无法读取地图上的形状"),
        ("en", {"value": "500", "name": ""}, 422, "the target has no name"),
        ("zh", {"dwell_min": "-5"}, 422, "停留 &#39;-5&#39; 必须是 0 到 240 之间的整数分钟"),
    ],
)
def test_bad_input_is_a_4xx_in_the_users_language(
    client, web_store, web_app, lang, fields, status, said
):
    _login(client, web_store, lang=lang)
    resp = draw(client, school_gate(), **fields)
    page = resp.get_data(as_text=True)
    assert resp.status_code == status and said in page, page[:3000]
    assert stored_targets(web_app) == {}


def test_a_station_never_sees_or_changes_anothers_targets(client, web_store, web_app):
    _login(client, web_store)
    draw(client, school_gate(), target_id="gate")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/targets/")})
    _login(client, web_store, station="S01")
    assert "一小校门" not in client.get("/targets/").get_data(as_text=True)
    token = csrf_token(client, "/targets/")
    assert client.post("/targets/gate/delete", data={"csrf_token": token}).status_code == 404
    assert sorted(stored_targets(web_app)) == ["gate"] and stored_targets(web_app, "S01") == {}


def test_an_analyst_reads_the_targets_but_cannot_change_them(client, web_store):
    _login(client, web_store, role="analyst")
    page = client.get("/targets/")
    assert page.status_code == 200 and 'id="target-form"' not in page.get_data(as_text=True)
    assert draw(client, school_gate()).status_code == 403


def test_an_uploaded_layer_is_read_in_a_job_keeping_good_features(officer, web_app, tmp_path):
    import shapely
    from _targets import lonlat

    layer = targets_frame([school_gate(), market_street()])
    layer.loc[2] = ["bad", "菜市场", "soon", 5.0, 10, shapely.Point(lonlat(0, 0))]
    path = tmp_path / "targets.geojson"
    layer.to_file(path, driver="GeoJSON")
    data = {
        "csrf_token": csrf_token(officer, "/targets/"),
        "file": (io.BytesIO(path.read_bytes()), "targets.geojson"),
    }
    resp = follow_job(officer, officer.post("/targets/upload", data=data))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/targets/")
    page = officer.get("/targets/").get_data(as_text=True)
    assert "targets.geojson: 2 targets stored." in page
    assert "targets.geojson, feature 3 (菜市场): window &#39;soon&#39;" in page
    assert sorted(stored_targets(web_app)) == ["gate", "market"]
    assert audit_actions(web_app, "import_targets")
    bad = {"csrf_token": csrf_token(officer, "/targets/"), "file": (io.BytesIO(b"x"), "t.csv")}
    resp = officer.post("/targets/upload", data=bad)
    assert resp.status_code == 400 and "this file type is not accepted" in resp.get_data(
        as_text=True
    )


def test_a_plan_serves_the_stations_targets(officer, web_app):
    from _targets import school_gate as gate

    draw(officer, gate(value=40), target_id="gate")
    data = {
        "csrf_token": csrf_token(officer, "/plans/"),
        "date": "2024-06-05",
        "slices": ["morning"],
        "patrollers": ["V09", "A09"],
        "seed": "0",
    }
    resp = officer.post("/plans/", data=data)
    job = officer.get(resp.headers["Location"] + ".json").get_json()
    assert job["status"] == "done", job
    plan_id = int(re.search(r"/plans/(\d+)", job["url"]).group(1))
    con = connect(web_app.config["DATABASE"])
    try:
        row = con.execute("SELECT plan, params_json FROM plans WHERE id=?", (plan_id,)).fetchone()
    finally:
        con.close()
    import zlib

    doc = json.loads(zlib.decompress(row["plan"]))
    stops = [s for r in doc["slices"][0]["routes"] for s in r["stops"] if s.get("target_id")]
    assert [s["target_id"] for s in stops] == ["gate"]
    assert stops[0]["arrival"][11:16] >= "07:30" and stops[0]["departure"][11:16] <= "08:15"
