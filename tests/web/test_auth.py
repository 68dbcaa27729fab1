"""Logins and sessions: user names in any form, the throttle, session end, password change."""

import re
import time

import pytest
from _web import PASSWORD
from _web import csrf_token
from _web import login

from gridplan.web.db import login_key

NEW_PASSWORD = "a-new-and-long-password"


def client_at(web_app, address):
    client = web_app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.mark.parametrize(
    "spelling",
    [
        "S01-Admin",
        "  s01-admin  ",
        "\ts01-admin\n",
        "ｓ０１－ａｄｍｉｎ",
        "S01-ADMİN".replace("İ", "I"),
    ],
)
def test_every_spelling_of_a_name_has_one_login_key(spelling):
    assert login_key(spelling) == "s01-admin"


def test_padding_or_case_does_not_escape_the_per_user_limit(web_app, web_store):
    # the outside tester's attack: 40 guesses, the name padded and cased differently each time
    user = web_store["users"][("S01", "admin")]
    spellings = [f"{' ' * k}{user}{' ' * (40 - k)}" for k in range(20)] + [
        user.upper(),
        f"\u3000{user}",
        "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in user),  # full width
    ] * 7
    codes = [
        login(client_at(web_app, f"10.3.{k}.1"), name, f"guess-{k}").status_code
        for k, name in enumerate(spellings[:40])
    ]
    assert codes[:30] == [401] * 30
    assert set(codes[30:]) == {429}
    # the right password, padded, from a fresh address: still locked
    assert login(client_at(web_app, "10.3.99.1"), f"   {user}   ").status_code == 429


@pytest.mark.both_stores
def test_a_padded_or_upper_case_name_logs_in(web_app, web_store):
    user = web_store["users"][("S01", "officer")]
    assert login(web_app.test_client(), f"  {user.upper()} ").status_code == 302


def test_a_name_that_differs_only_in_width_or_case_cannot_be_added(web_app):
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(web_app.config["DATABASE"])
    try:
        for name in ("S01-OFFICER", "ｓ０１-officer", " s01-officer"):
            with pytest.raises(store.UserError, match="cannot be used") as err:
                store.add_user(con, name, PASSWORD, station_id="S02", role="analyst")
            assert err.value.code == "unavailable"
        with pytest.raises(store.UserError, match="without spaces"):
            store.add_user(con, "a\u200bb", PASSWORD, station_id="S02", role="analyst")
    finally:
        con.close()


def _logged_in(web_app, web_store, role="officer", station="S01"):
    client = web_app.test_client()
    assert login(client, web_store["users"][(station, role)]).status_code == 302
    return client


def _replay(web_app, cookie):
    """A new client that only has a copy of ``cookie``."""
    thief = web_app.test_client()
    thief.set_cookie("gridplan_session", cookie)
    return thief


@pytest.mark.both_stores
def test_a_copied_cookie_stops_working_at_logout(web_app, web_store):
    client = _logged_in(web_app, web_store)
    cookie = client.get_cookie("gridplan_session").value
    assert _replay(web_app, cookie).get("/plans/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    resp = _replay(web_app, cookie).get("/plans/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = _replay(web_app, cookie).get(
        "/plans/jobs/1.json", headers={"Accept": "application/json"}
    )
    assert resp.status_code == 401


def user_id(web_app, name):
    from gridplan.web.db import connect

    con = connect(web_app.config["DATABASE"])
    try:
        return con.execute("SELECT id FROM users WHERE username=?", (name,)).fetchone()[0]
    finally:
        con.close()


def test_disabling_a_user_ends_their_sessions(web_app, web_store):
    victim = _logged_in(web_app, web_store, "analyst")
    assert victim.get("/plans/").status_code == 200
    admin = _logged_in(web_app, web_store, "admin")
    analyst_id = user_id(web_app, web_store["users"][("S01", "analyst")])
    token = csrf_token(admin, "/admin/users")
    resp = admin.post(
        f"/admin/users/{analyst_id}/active", data={"active": "0", "csrf_token": token}
    )
    assert resp.status_code == 302
    assert victim.get("/plans/").status_code == 302
    assert login(web_app.test_client(), web_store["users"][("S01", "analyst")]).status_code == 401


def test_a_password_change_needs_the_old_password_and_ends_other_sessions(web_app, web_store):
    user = web_store["users"][("S01", "officer")]
    other = _logged_in(web_app, web_store)
    client = _logged_in(web_app, web_store)
    old_cookie = client.get_cookie("gridplan_session").value
    token = csrf_token(client, "/account/password")
    form = {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD, "csrf_token": token}
    resp = client.post("/account/password", data={**form, "password": "wrong-old-password"})
    assert resp.status_code == 403
    resp = client.post("/account/password", data={**form, "password": ""})
    assert resp.status_code == 403
    assert other.get("/plans/").status_code == 200  # nothing changed yet
    resp = client.post("/account/password", data={**form, "password": PASSWORD})
    assert resp.status_code == 302
    # this browser goes on with a new session; the other one and a copy of the old cookie end
    assert client.get("/plans/").status_code == 200
    assert client.get_cookie("gridplan_session").value != old_cookie
    assert other.get("/plans/").status_code == 302
    assert _replay(web_app, old_cookie).get("/plans/").status_code == 302
    assert login(web_app.test_client(), user).status_code == 401
    assert login(web_app.test_client(), user, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("new", "repeat", "message"),
    [
        ("short", "short", "too short"),
        ("x" * 2000, "x" * 2000, "too long"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "differ"),
    ],
)
def test_a_bad_new_password_is_refused_with_a_reason(web_app, web_store, new, repeat, message):
    client = _logged_in(web_app, web_store)
    client.get("/lang/en?next=/")
    token = csrf_token(client, "/account/password")
    resp = client.post(
        "/account/password",
        data={
            "password": PASSWORD,
            "new_password": new,
            "repeat_password": repeat,
            "csrf_token": token,
        },
    )
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)


def test_wrong_old_passwords_count_as_failed_logins(web_app, web_store):
    client = _logged_in(web_app, web_store)
    token = csrf_token(client, "/account/password")
    form = {"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD, "csrf_token": token}
    codes = [
        client.post("/account/password", data={**form, "password": f"guess-{k}"}).status_code
        for k in range(11)
    ]
    assert codes == [403] * 10 + [429]


def test_the_session_token_is_new_at_each_login(web_app, web_store):
    # a cookie planted before the login (session fixation) carries no session afterwards
    client = web_app.test_client()
    client.get("/login")
    planted = client.get_cookie("gridplan_session")
    login(client, web_store["users"][("S01", "officer")])
    first = client.get_cookie("gridplan_session").value
    assert planted is None or planted.value != first
    login(client, web_store["users"][("S01", "officer")])
    assert client.get_cookie("gridplan_session").value != first
    # both logins are sessions of their own: the first ends with its logout only
    assert _replay(web_app, first).get("/plans/").status_code == 200


def test_a_session_expires_on_the_server_after_its_lifetime(web_app, web_store):
    client = _logged_in(web_app, web_store)
    from gridplan.web.db import connect

    con = connect(web_app.config["DATABASE"])
    con.execute("UPDATE sessions SET created_at='2000-01-01T00:00:00+00:00'")
    con.close()
    assert client.get("/plans/").status_code == 302


def test_a_huge_password_or_name_is_refused_quickly(web_app, web_store):
    user = web_store["users"][("S01", "officer")]
    client = web_app.test_client()
    start = time.perf_counter()
    assert login(client, user, "x" * 400_000).status_code == 401  # forms stop at 500 kB
    assert login(client, "x" * 100_000, PASSWORD).status_code == 400
    assert time.perf_counter() - start < 5


def test_login_answers_alike_for_a_wrong_name_and_a_wrong_password(web_app, web_store):
    user = web_store["users"][("S01", "officer")]

    def timed(name):
        client = client_at(web_app, f"10.4.{len(name)}.{ord(name[-1]) % 200}")
        start = time.perf_counter()
        resp = login(client, name, "not-the-password")
        return resp, time.perf_counter() - start

    (known, t_known), (unknown, t_unknown) = timed(user), timed("no-such-user-x")
    assert known.status_code == unknown.status_code == 401

    def text(resp):
        html = resp.get_data(as_text=True).replace(user, "").replace("no-such-user-x", "")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", html)

    assert text(known) == text(unknown)
    # both hash once: neither takes more than twice as long as the other (+ noise allowance)
    assert t_known < 2 * t_unknown + 0.05 and t_unknown < 2 * t_known + 0.05
