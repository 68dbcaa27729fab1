"""The admin's users and audit pages: no other station's names leak, parameters are checked."""

import time

import pytest
from _web import PASSWORD
from _web import csrf_token
from _web import login


def _admin(web_app, web_store, station="S01"):
    client = web_app.test_client()
    assert login(client, web_store["users"][(station, "admin")]).status_code == 302
    client.get("/lang/en?next=/")
    return client


def _add(client, name, **fields):
    token = csrf_token(client, "/admin/users")
    data = {"username": name, "password": PASSWORD, "role": "analyst", "csrf_token": token}
    start = time.perf_counter()
    resp = client.post("/admin/users", data={**data, **fields})
    return resp, time.perf_counter() - start


def test_a_name_of_another_station_answers_like_any_unavailable_name(web_app, web_store):
    client = _admin(web_app, web_store, "S01")
    elsewhere, t_elsewhere = _add(client, web_store["users"][("S02", "officer")])
    here, t_here = _add(client, web_store["users"][("S01", "officer")])
    reserved, _ = _add(client, "cli")
    fresh, t_fresh = _add(client, "new-analyst-1")
    assert fresh.status_code == 302
    assert elsewhere.status_code == here.status_code == reserved.status_code == 422

    def message(resp):
        return resp.get_data(as_text=True).split('id="error-message">')[1].split("<")[0]

    assert message(elsewhere) == message(here) == message(reserved)
    assert "cannot be used" in message(elsewhere)
    assert "S02" not in elsewhere.get_data(as_text=True)
    # a taken name is hashed too: it answers no faster than a free one
    assert t_elsewhere > 0.3 * t_fresh and t_here > 0.3 * t_fresh


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "two words"}, "without spaces"),
        ({"username": "x" * 65}, "without spaces"),
        ({"username": "a\u202eb"}, "without spaces"),
        ({"password": "short"}, "too short"),
        ({"password": "p" * 1025}, "too long"),
        ({"role": "root"}, "roles offered"),
        ({"role": "volunteer_lead", "team_id": "NOPE"}, "team of the roster"),
    ],
)
def test_a_bad_new_user_is_refused_in_the_users_language(web_app, web_store, fields, message):
    client = _admin(web_app, web_store)
    resp, _ = _add(client, "someone-new", **fields)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    client.get("/lang/zh?next=/")
    resp, _ = _add(client, "someone-new", **fields)
    assert resp.status_code == 422 and message not in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("page", "status"),
    [
        ("abc", 400),
        ("1e3", 400),
        ("10^20", 400),
        ("1.5", 400),
        ("\x00", 400),
        ("-1", 200),
        ("0", 200),
        ("99999999999999999999", 200),
        ("9" * 200, 400),
        ("", 200),
    ],
)
def test_audit_page_numbers_are_checked_or_clamped(web_app, web_store, page, status):
    client = _admin(web_app, web_store)
    resp = client.get("/admin/audit", query_string={"page": page})
    assert resp.status_code == status
    if status == 400:
        assert "whole number" in resp.get_data(as_text=True)


def test_the_active_flag_must_be_0_or_1(web_app, web_store):
    client = _admin(web_app, web_store)
    from gridplan.web.db import connect

    con = connect(web_app.config["DATABASE"])
    uid = con.execute(
        "SELECT id FROM users WHERE username=?", (web_store["users"][("S01", "analyst")],)
    ).fetchone()[0]
    own = con.execute(
        "SELECT id FROM users WHERE username=?", (web_store["users"][("S01", "admin")],)
    ).fetchone()[0]
    other = con.execute(
        "SELECT id FROM users WHERE username=?", (web_store["users"][("S02", "analyst")],)
    ).fetchone()[0]
    con.close()
    token = csrf_token(client, "/admin/users")
    for flag in ("", "yes", "2", "\n"):
        resp = client.post(f"/admin/users/{uid}/active", data={"active": flag, "csrf_token": token})
        assert resp.status_code == 400, flag
    # another station's user is a 404 whatever the flag; one's own login cannot be disabled,
    # so a station always keeps the admin who is acting
    resp = client.post(f"/admin/users/{other}/active", data={"active": "0", "csrf_token": token})
    assert resp.status_code == 404
    resp = client.post(f"/admin/users/{own}/active", data={"active": "0", "csrf_token": token})
    assert resp.status_code == 409


def test_a_user_disabled_at_the_upgrade_cannot_be_enabled(web_app, web_store):
    from gridplan.web.db import connect

    con = connect(web_app.config["DATABASE"])
    name = web_store["users"][("S01", "analyst")]
    con.execute("UPDATE users SET login_key=NULL, active=0 WHERE username=?", (name,))
    uid = con.execute("SELECT id FROM users WHERE username=?", (name,)).fetchone()[0]
    con.close()
    client = _admin(web_app, web_store)
    token = csrf_token(client, "/admin/users")
    resp = client.post(f"/admin/users/{uid}/active", data={"active": "1", "csrf_token": token})
    assert resp.status_code == 409
    assert "another name" in resp.get_data(as_text=True)
