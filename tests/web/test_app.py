"""The web UI through Flask's test client: login, roles x stations, pages, security headers."""

import re

import pytest
from _web import PASSWORD
from _web import ROLES
from _web import csrf_token
from _web import login

from gridplan.web import create_app

#: page -> roles that may open it (the others get 403, or are sent to their sheets)
PAGES = {
    "/": {"admin", "officer", "analyst"},
    "/map/": {"admin", "officer", "analyst"},
    "/map/frame": {"admin", "officer", "analyst"},
    "/import/": {"admin", "officer"},
    "/plans/": set(ROLES),
    "/downloads/": {"admin", "officer", "analyst"},
    "/downloads/grid.geojson": {"admin", "officer", "analyst"},
    "/downloads/hotspots.csv": {"admin", "officer", "analyst"},
    "/admin/users": {"admin"},
    "/admin/audit": {"admin"},
    "/patrol/": {"volunteer_lead", "patroller"},
}


def as_user(client, web_store, station, role):
    resp = login(client, web_store["users"][(station, role)])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def test_factory_creates_the_store_and_reads_test_config(tmp_path):
    app = create_app({"TESTING": True, "TILES": "none"}, instance_path=str(tmp_path))
    assert app.testing
    assert (tmp_path / "gridplan.sqlite").exists()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    # a second app on the same instance keeps the same session key and store
    again = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_every_page_needs_a_login(client):
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert "/login?next=" in resp.headers["Location"]


def test_wrong_password_is_refused_and_audited(client, web_store):
    resp = login(client, web_store["users"][("S01", "officer")], "not-the-password")
    assert resp.status_code == 401
    assert "Wrong user name or password" in resp.get_data(as_text=True) or "用户名或密码错误" in (
        resp.get_data(as_text=True)
    )
    assert client.get("/").status_code == 302


def test_login_attempts_are_rate_limited(web_app):
    web_app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    client = web_app.test_client()
    codes = [login(client, "nobody", "wrong-password-1").status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def client_at(web_app, address):
    client = web_app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_shipped_login_limits(web_app):
    # the tests below run these defaults; web/test_browser.py relaxes them for its own logins
    assert web_app.config["LOGIN_RATE_LIMIT"] == "10 per minute"
    assert web_app.config["LOGIN_RATE_LIMIT_PER_USER"] == "30 per hour"
    assert web_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"] == "100 per minute"


def test_one_users_typos_do_not_lock_the_station_address(web_app, web_store):
    # every computer of the station reaches the server from one NAT address
    typist = client_at(web_app, "10.1.1.1")
    user = web_store["users"][("S01", "officer")]
    codes = [login(typist, user, f"typo-{k}").status_code for k in range(11)]
    assert codes == [401] * 10 + [429]
    text = login(typist, user).get_data(as_text=True)  # locked, the right password too
    assert "from this computer" in text or "这台电脑" in text
    # a colleague at the same address logs in; the typist can from another address
    colleague = client_at(web_app, "10.1.1.1")
    assert login(colleague, web_store["users"][("S01", "admin")]).status_code == 302
    assert login(client_at(web_app, "10.1.1.2"), user).status_code == 302


def test_guessing_one_users_password_from_many_addresses_is_limited(web_app, web_store):
    user = web_store["users"][("S01", "admin")]
    codes = []
    for k in range(31):  # ten guesses per address stay below the per-address-and-user lock
        codes.append(login(client_at(web_app, f"10.0.0.{k // 10 + 1}"), user, f"guess-{k}"))
    assert [r.status_code for r in codes] == [401] * 30 + [429]
    # the right password is refused too while the limit holds (no oracle), from anywhere
    assert login(client_at(web_app, "10.0.9.9"), user).status_code == 429
    # others are not locked
    assert (
        login(client_at(web_app, "10.0.9.9"), web_store["users"][("S01", "officer")]).status_code
        == 302
    )


def test_spraying_many_user_names_from_one_address_is_limited(web_app, web_store):
    sprayer = client_at(web_app, "10.2.2.2")
    codes = [login(sprayer, f"user{k}", "Password1").status_code for k in range(101)]
    assert codes == [401] * 100 + [429]
    resp = login(sprayer, web_store["users"][("S01", "officer")])
    assert resp.status_code == 429
    assert "from this address" in resp.get_data(as_text=True) or "此地址" in resp.get_data(
        as_text=True
    )
    assert login(client_at(web_app, "10.2.2.3"), "user0", "Password1").status_code == 401


def test_a_malformed_login_limit_fails_at_start(tmp_path):
    with pytest.raises(ValueError, match=r"LOGIN_RATE_LIMIT_PER_ADDRESS: rate limit '100/min'"):
        create_app(
            {"TESTING": True, "LOGIN_RATE_LIMIT_PER_ADDRESS": "100/min"},
            instance_path=str(tmp_path),
        )


def test_forms_without_a_csrf_token_are_refused(client, web_store):
    resp = client.post(
        "/login", data={"username": web_store["users"][("S01", "admin")], "password": PASSWORD}
    )
    assert resp.status_code == 400
    assert client.get("/").status_code == 302  # not logged in


def test_logout_is_a_post_with_the_token(client, web_store):
    as_user(client, web_store, "S01", "officer")
    assert client.get("/logout").status_code == 405
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client, web_store, role):
    as_user(client, web_store, "S01", role)
    for path, allowed in PAGES.items():
        resp = client.get(path)
        if role in allowed:
            assert resp.status_code == 200, (role, path, resp.status_code)
        elif path == "/":  # leads to their route sheets, patrollers to the phone page
            home = "/patrol/" if role == "patroller" else "/plans/"
            assert resp.status_code == 302 and resp.headers["Location"].endswith(home)
        else:
            assert resp.status_code == 403, (role, path, resp.status_code)


def plan_urls(plan_id):
    return [
        f"/plans/{plan_id}",
        f"/plans/{plan_id}/map",
        f"/plans/{plan_id}/sheets",
        f"/plans/{plan_id}/sheets.pdf",
        f"/downloads/plans/{plan_id}.geojson",
        f"/downloads/plans/{plan_id}.plan.json",
    ]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("mine", "theirs"), [("S01", "S02"), ("S02", "S01")])
def test_no_user_sees_another_stations_plan(client, web_store, role, mine, theirs):
    as_user(client, web_store, mine, role)
    for url in plan_urls(web_store["plans"][theirs]):
        # 404 (no such plan here), or 403 where the role may not open such pages at all
        resp = client.get(url)
        assert resp.status_code in (403, 404), (role, url)
        assert theirs + "-B1" not in resp.get_data(as_text=True)
    # and their own plan opens (for the lead: the sheets of their team)
    own = web_store["plans"][mine]
    resp = client.get(f"/plans/{own}/sheets")
    assert resp.status_code == 200


@pytest.mark.both_stores
@pytest.mark.parametrize(("station", "other"), [("S01", "S02"), ("S02", "S01")])
def test_station_data_stays_in_its_station(client, web_store, station, other):
    as_user(client, web_store, station, "admin")
    pages = "".join(
        client.get(p).get_data(as_text=True)
        for p in ("/", "/map/frame", "/plans/", "/downloads/", "/admin/users", "/admin/audit")
    )
    assert f"{other}-B1" not in pages
    assert f"{other.lower()}-officer" not in pages
    grid = client.get("/downloads/grid.geojson").get_json()
    assert {f["properties"]["id"][:3] for f in grid["features"]} == {station}


@pytest.mark.parametrize("role", ["volunteer_lead", "patroller"])
def test_volunteer_leads_see_only_their_teams_sheets(client, web_store, role):
    as_user(client, web_store, "S01", role)
    plan_id = web_store["plans"]["S01"]
    html = client.get(f"/plans/{plan_id}/sheets").get_data(as_text=True)
    assert "V01" in html
    for other in ("A01", "V02", "C01"):
        assert f">{other}<" not in html and f"{other} " not in html
    assert client.get(f"/plans/{plan_id}/sheets?patroller=V02").status_code == 404
    assert client.get(f"/plans/{plan_id}").status_code == 302  # to the sheets
    assert client.get(f"/plans/{plan_id}/map").status_code == 403
    assert client.get(f"/downloads/plans/{plan_id}.gpx").status_code == 403
    listing = client.get("/plans/").get_data(as_text=True)
    assert f"/plans/{plan_id}/sheets" in listing


def test_security_headers(client, web_store):
    as_user(client, web_store, "S01", "officer")
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cookie = client.get_cookie("gridplan_session")
    assert cookie is not None and cookie.secure and cookie.http_only
    # folium's inline scripts carry the response's nonce, and no other script runs
    frame = client.get("/map/frame")
    nonce = re.search(r"'nonce-([^']+)'", frame.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", frame.get_data(as_text=True))
    assert scripts and all(f'nonce="{nonce}"' in s or "src=" in s for s in scripts)


EXTERNAL = re.compile(
    r"""(?:src|href)=["'](?:https?:)?//([^/"']+)|url\(["']?(?:https?:)?//([^/)"']+)"""
)


@pytest.mark.parametrize("tiles", ["none", "http://tiles.station.local/{z}/{x}/{y}.png"])
def test_pages_reference_no_outside_host_but_the_tile_server(web_app, web_store, tiles):
    web_app.config["TILES"] = tiles
    client = web_app.test_client()
    as_user(client, web_store, "S01", "officer")
    plan_id = web_store["plans"]["S01"]
    hosts = set()
    for path in (
        "/",
        "/map/",
        "/map/frame",
        "/import/",
        "/plans/",
        f"/plans/{plan_id}",
        f"/plans/{plan_id}/map",
        f"/plans/{plan_id}/sheets",
        "/downloads/",
    ):
        html = client.get(path).get_data(as_text=True)
        hosts |= {a or b for a, b in EXTERNAL.findall(html)}
        # tile templates live in script text, not in src/href: look for any http(s) URL
        hosts |= set(re.findall(r"https?://([^/\"'\s]+)", html))
    allowed = set() if tiles == "none" else {"tiles.station.local"}
    # the SVG namespace is an identifier, not something the browser loads
    assert hosts - {"www.w3.org"} <= allowed


def test_language_switch(client, web_store):
    as_user(client, web_store, "S01", "officer")
    client.get("/lang/en?next=/")
    assert "Patrol plans" in client.get("/").get_data(as_text=True)
    client.get("/lang/zh?next=/")
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    # no open redirect through the switch
    resp = client.get("/lang/en?next=//evil.example/")
    assert resp.headers["Location"] == "/"


def test_unknown_item_is_a_404_page_not_a_traceback(client, web_store):
    as_user(client, web_store, "S01", "officer")
    resp = client.get("/plans/999999")
    assert resp.status_code == 404
    assert "Traceback" not in resp.get_data(as_text=True)
    assert client.get("/plans/jobs/999999.json").status_code == 404
