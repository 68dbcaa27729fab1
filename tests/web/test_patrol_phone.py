"""The patrol phone page through Flask's test client: routes of one's own team, check-ins once
per id, refusals with a message (never a 500), and the officers' table and CSV of check-ins."""

import datetime as dt
import io
import json
import re
import uuid

import pandas as pd
import pytest
from _patrol import route_stops
from _web import login

from gridplan.web.db import connect

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def as_user(client, patrol_store, station, name):
    resp = login(client, patrol_store["users"][(station, name)])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def page_token(client) -> str:
    html = client.get("/patrol/").get_data(as_text=True)
    return _CSRF_META.search(html).group(1)


def check_in(client, stop, token, **fields):
    body = {
        "client_id": str(uuid.uuid4()),
        "plan_id": stop["plan_id"],
        "slice_id": stop["slice_id"],
        "route_index": stop["route_index"],
        "stop_index": stop["stop_index"],
        "kind": "arrived",
        "client_at": dt.datetime.now(dt.UTC).isoformat(),
        "lon": stop["lon"],
        "lat": stop["lat"],
        "accuracy_m": 8.0,
        "note": "",
        **fields,
    }
    body = {k: v for k, v in body.items() if v is not ...}
    return client.post(
        "/patrol/check-ins",
        json=body,
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def stored(app, **where):
    con = connect(app.config["DATABASE"])
    try:
        sql = "SELECT * FROM check_ins" + (
            " WHERE " + " AND ".join(f"{k}=?" for k in where) if where else ""
        )
        return con.execute(sql + " ORDER BY id", tuple(where.values())).fetchall()
    finally:
        con.close()


@pytest.fixture
def patroller(patrol_app, patrol_store):
    return as_user(patrol_app.test_client(), patrol_store, "S02", "patroller")


@pytest.fixture
def v09(patrol_store):
    return route_stops(patrol_store["database"], "S02", "V09")


def test_a_patroller_lands_on_the_phone_page_with_their_teams_stops_only(
    patroller, patrol_store, v09
):
    resp = patroller.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/patrol/")
    html = patroller.get("/patrol/").get_data(as_text=True)
    assert v09, "the test plan has no V09 route"
    for stop in v09:
        assert f'id="{stop["dom_id"]}"' in html
    others = route_stops(patrol_store["database"], "S02", "A09")
    assert others and not any(f'id="{s["dom_id"]}"' in html for s in others)
    page = json.loads(
        re.search(r'data-page="([^"]+)"', html).group(1).replace("&#34;", '"').replace("&amp;", "&")
    )
    assert {r["patroller_id"] for r in page["routes"]} == {"V09"}
    assert page["urls"]["worker"] == "/patrol/sw.js"
    # the phone page's scripts are the app's own; the service worker keeps them
    sw = patroller.get("/patrol/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    text = sw.get_data(as_text=True)
    for path in ("/static/js/patrol.js", "/static/vendor/leaflet/leaflet.js", '"/patrol/"'):
        assert path in text
    assert "http" not in text.replace("https", "")


@pytest.mark.parametrize(
    ("name", "status"),
    [("officer", 403), ("analyst", 403), ("admin", 403), ("lead", 200), ("auxiliary", 200)],
)
def test_only_roles_tied_to_a_team_open_the_phone_page(patrol_app, patrol_store, name, status):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", name)
    assert client.get("/patrol/").status_code == status


@pytest.mark.both_stores
def test_a_check_in_is_stored_once_whatever_the_phone_sends_again(patroller, patrol_app, v09):
    token = page_token(patroller)
    client_id = str(uuid.uuid4())
    first = check_in(patroller, v09[0], token, client_id=client_id, note="路灯坏了")
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer["status"] == "stored" and answer["inside"] is True and answer["distance_m"] == 0
    again = check_in(patroller, v09[0], token, client_id=client_id, note="路灯坏了")
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate" and again.get_json()["id"] == answer["id"]
    rows = stored(patrol_app, client_id=client_id)
    assert len(rows) == 1
    row = rows[0]
    assert (row["kind"], row["patroller_id"]) == ("arrived", "V09")
    assert row["micro_id"] == v09[0]["micro_id"]
    assert (row["note"], row["accuracy_m"], row["inside"]) == ("路灯坏了", 8.0, 1)
    # the state the page reloads shows it
    state = patroller.get("/patrol/state.json").get_json()
    assert [c["client_id"] for c in state["check_ins"]] == [client_id]
    assert state["csrf_token"]


def test_a_check_in_away_from_the_micro_grid_says_how_far(patroller, patrol_app, v09):
    token = page_token(patroller)
    far = check_in(patroller, v09[0], token, lat=v09[0]["lat"] + 0.0045, kind="left")  # ~500 m
    assert far.status_code == 201
    answer = far.get_json()
    assert answer["inside"] is False and 350 < answer["distance_m"] < 450
    # without a position (the browser refused): recorded, inside unknown
    blind = check_in(patroller, v09[0], token, lon=None, lat=None, accuracy_m=None)
    assert blind.status_code == 201 and blind.get_json()["inside"] is None


@pytest.mark.both_stores
def test_another_teams_stop_is_refused_and_another_stations_plan_is_not_found(
    patroller, patrol_app, patrol_store
):
    token = page_token(patroller)
    theirs = route_stops(patrol_store["database"], "S02", "A09")[0]
    resp = check_in(patroller, theirs, token)
    assert resp.status_code == 403
    assert "another team" in resp.get_json()["error"] or "其他" in resp.get_json()["error"]
    elsewhere = route_stops(patrol_store["database"], "S03", "V09")[0]
    resp = check_in(patroller, elsewhere, token)
    assert resp.status_code == 404
    assert resp.get_json()["error"]
    assert stored(patrol_app) == []


def _bad_bodies(stop):
    yield "missing plan", {"plan_id": ...}, 422
    yield "missing client id", {"client_id": ...}, 422
    yield "short client id", {"client_id": "x"}, 422
    yield "wrong kind", {"kind": "sat"}, 422
    yield "huge note", {"note": "巡" * 5000}, 422
    yield "note not text", {"note": ["x"]}, 422
    yield "stop out of range", {"stop_index": 999}, 422
    yield "negative stop", {"stop_index": -1}, 422
    yield "route out of range", {"route_index": 99}, 422
    yield "stop as text", {"stop_index": "2"}, 422
    yield "unknown slice", {"slice_id": "brunch"}, 422
    yield "lon without lat", {"lat": None}, 422
    yield "latitude out of range", {"lat": 95.0}, 422
    yield "NaN accuracy", {"accuracy_m": float("inf")}, 422
    yield "no time zone", {"client_at": "2024-06-08T09:00:00"}, 422
    yield "not a time", {"client_at": "yesterday"}, 422
    yield "far future", {"client_at": "2099-01-01T00:00:00+08:00"}, 422
    yield "plan id huge", {"plan_id": 2**70}, 422
    yield "plan id zero", {"plan_id": 0}, 404


@pytest.mark.parametrize(
    ("what", "fields", "status"),
    list(_bad_bodies(None)),
    ids=[b[0] for b in _bad_bodies(None)],
)
def test_bad_check_ins_get_a_4xx_with_a_message(patroller, patrol_app, v09, what, fields, status):
    resp = check_in(patroller, v09[0], page_token(patroller), **fields)
    assert resp.status_code == status, (what, resp.get_data(as_text=True)[:300])
    assert resp.get_json()["error"]
    assert stored(patrol_app) == []


def test_malformed_requests_are_refused_without_a_server_error(patroller, patrol_app):
    token = page_token(patroller)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    for body, content_type in (
        ("not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"text"', "application/json"),
        ("a=1", "application/x-www-form-urlencoded"),
    ):
        resp = patroller.post(
            "/patrol/check-ins", data=body, content_type=content_type, headers=headers
        )
        assert resp.status_code == 422, body
        assert resp.get_json()["error"]
    big = patroller.post(
        "/patrol/check-ins",
        data=json.dumps({"note": "x" * 100_000}),
        content_type="application/json",
        headers=headers,
    )
    assert big.status_code == 413
    # without the page's token: the CSRF check refuses it
    resp = patroller.post("/patrol/check-ins", json={}, headers={"Accept": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]
    assert stored(patrol_app) == []


def test_messages_follow_the_users_language(patroller, v09):
    token = page_token(patroller)
    patroller.get("/lang/zh")
    zh = check_in(patroller, v09[0], token, kind="sat").get_json()["error"]
    patroller.get("/lang/en")
    en = check_in(patroller, v09[0], token, kind="sat").get_json()["error"]
    assert en == "kind must be arrived or left."
    assert zh != en and re.search(r"[\u4e00-\u9fff]", zh)


def test_officers_see_check_ins_per_stop_and_download_them_as_csv(
    patroller, patrol_app, patrol_store, v09
):
    token = page_token(patroller)
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    check_in(patroller, v09[0], token, client_at=t0.isoformat(), note="=HYPERLINK(1)")
    t1 = t0 + dt.timedelta(minutes=12)
    check_in(patroller, v09[0], token, kind="left", client_at=t1.isoformat())
    officer = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    plan_id = patrol_store["plans"]["S02"]
    html = officer.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert 'id="check-in-table"' in html
    local = t0.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert local.strftime("%H:%M") in html
    assert t1.astimezone(local.tzinfo).strftime("%H:%M") in html
    resp = officer.get(f"/plans/{plan_id}/check-ins.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    frame = pd.read_csv(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")))
    assert frame["kind"].tolist() == ["arrived", "left"]
    assert frame["note"].tolist()[0] == "'=HYPERLINK(1)"  # escaped for spreadsheets
    assert set(frame["patroller"]) == {"V09"}
    # the patroller does not download the officers' CSV; another station does not see it
    assert patroller.get(f"/plans/{plan_id}/check-ins.csv").status_code == 403
    other = as_user(patrol_app.test_client(), patrol_store, "S03", "officer")
    assert other.get(f"/plans/{plan_id}/check-ins.csv").status_code == 404


def test_users_page_and_command_add_a_patroller_with_a_roster_id(patrol_app, patrol_store, runner):
    from _web import PASSWORD
    from _web import csrf_token

    from gridplan.cli import main

    admin = as_user(patrol_app.test_client(), patrol_store, "S02", "admin")
    token = csrf_token(admin, "/admin/users")
    form = {"username": "walker", "password": PASSWORD, "role": "patroller", "team_id": "A09"}
    resp = admin.post("/admin/users", data={**form, "csrf_token": token})
    assert resp.status_code == 302
    no_team = admin.post(
        "/admin/users", data={**form, "username": "walker2", "team_id": "", "csrf_token": token}
    )
    assert no_team.status_code == 422
    con = connect(patrol_app.config["DATABASE"])
    row = con.execute("SELECT role, team_id FROM users WHERE username='walker'").fetchone()
    con.close()
    assert tuple(row) == ("patroller", "A09")
    result = runner.invoke(
        main,
        ["users", "add", "runner1", "--station", "S02", "--role", "patroller", "--team", "V09",
         "--password-stdin", "--instance", str(patrol_app.instance_path)],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        main,
        ["users", "add", "runner2", "--station", "S02", "--role", "patroller", "--team", "Z9",
         "--password-stdin", "--instance", str(patrol_app.instance_path)],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert bad.exit_code != 0
