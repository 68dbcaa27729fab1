"""Redirect targets, ids in URLs, the client address behind proxies and the Host header."""

import pytest
from _web import login

from gridplan.web.security import safe_next

#: targets that must never be followed: each leads off-site in some browser, or is no path
BYPASSES = [
    "//evil.example",
    "///evil.example",
    "////evil.example/x",
    "/\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%252F%252Fevil.example",
    "/%5Cevil.example",
    "/\t/evil.example",
    "\t/evil.example",
    "/\n/evil.example",
    "/x\r\nSet-Cookie: a=b",
    " /evil",
    "/ /evil",
    "/\x00/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\uff0f/evil.example",  # full-width solidus
    "/\uff3cevil.example",  # full-width reverse solidus
    "\uff0f\uff0fevil.example",
    "/\u200b/evil.example",  # zero-width space
    "/\u202e/evil.example",  # right-to-left override
    "/\u3000/evil.example",  # ideographic space
    "",
    None,
    "/" + "a" * 5000,
]

GOOD = ["/", "/plans/", "/plans/3?lang=en", "/plans/3/sheets?patroller=V01&slice=morning", "/中文"]


@pytest.mark.parametrize("target", BYPASSES)
def test_safe_next_refuses_every_known_bypass(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", GOOD)
def test_safe_next_keeps_paths_of_the_site(target):
    assert safe_next(target, "/home") == target


def _location_is_local(resp):
    location = resp.headers.get("Location", "")
    return location.startswith("/") and not location.startswith("//") and "\\" not in location


@pytest.mark.parametrize("target", [t for t in BYPASSES if t])
def test_the_language_switch_redirects_only_on_site(client, target):
    resp = client.get("/lang/en", query_string={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/", target


def test_a_raw_tab_or_newline_in_next_is_no_server_error(client):
    # what the outside tester sent: %09 and %0a in the query string itself
    for raw in ("/%09/evil.example", "/%0a/evil.example", "%0d%0aX-Evil:%201", "/%00"):
        resp = client.get(f"/lang/en?next={raw}")
        assert resp.status_code == 302 and resp.headers["Location"] == "/", raw


@pytest.mark.parametrize("target", ["//evil.example", "/%09/evil.example", "/\n/x", "https://e"])
def test_login_redirects_only_on_site(client, web_store, target):
    from _web import PASSWORD
    from _web import csrf_token

    token = csrf_token(client)
    resp = client.post(
        "/login",
        query_string={"next": target},
        data={
            "username": web_store["users"][("S01", "officer")],
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_login_follows_a_path_of_the_site(client, web_store):
    resp = client.get("/plans/")
    assert resp.status_code == 302
    target = resp.headers["Location"].split("next=")[1]
    from urllib.parse import unquote

    assert unquote(target) == "/plans/"
    from _web import PASSWORD
    from _web import csrf_token

    token = csrf_token(client)
    resp = client.post(
        resp.headers["Location"],
        data={
            "username": web_store["users"][("S01", "officer")],
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert resp.headers["Location"] == "/plans/"


def test_the_error_pages_back_link_stays_on_site(client, web_store):
    login(client, web_store["users"][("S01", "officer")])
    html = client.get("/plans/999999", headers={"Referer": "https://evil.example/x"}).get_data(
        as_text=True
    )
    assert "evil.example" not in html
    html = client.get("/plans/999999", headers={"Referer": "http://localhost/plans/"}).get_data(
        as_text=True
    )
    assert 'href="/plans/" class="back"' in html


@pytest.mark.parametrize(
    "path",
    [
        "/plans/99999999999999999999",
        "/plans/9223372036854775808",
        "/plans/" + "9" * 31 + "/sheets",
        "/plans/jobs/" + "9" * 40 + ".json",
        "/downloads/plans/" + "9" * 25 + ".geojson",
    ],
)
def test_ids_beyond_sqlite_integers_are_a_404(client, web_store, path):
    login(client, web_store["users"][("S01", "admin")])
    assert client.get(path).status_code == 404


def test_x_forwarded_for_is_ignored_without_a_proxy_setting(web_app, web_store):
    # a client cannot pick a fresh address per guess with a header of its own
    assert not web_app.config.get("PROXY_COUNT")
    client = web_app.test_client()
    codes = [
        login(client, "nobody", "wrong", headers={"X-Forwarded-For": f"10.9.{k}.1"}).status_code
        for k in range(11)
    ]
    assert codes == [401] * 10 + [429]


def test_behind_a_configured_proxy_the_forwarded_address_counts(web_store, tmp_path):
    import shutil

    from gridplan.web import create_app

    database = tmp_path / "gridplan.sqlite"
    shutil.copyfile(web_store["database"], database)
    app = create_app(
        {"TESTING": True, "DATABASE": str(database), "SECRET_KEY": "t", "PROXY_COUNT": 1},
        instance_path=str(tmp_path),
    )
    client = app.test_client()
    # the proxy appends the real address; what the client wrote before it is not trusted
    for k in range(10):
        fwd = {"X-Forwarded-For": f"6.6.6.{k}, 10.7.7.7"}
        assert login(client, "nobody", "wrong", headers=fwd).status_code == 401
    fwd = {"X-Forwarded-For": "6.6.6.99, 10.7.7.7"}
    assert login(client, "nobody", "wrong", headers=fwd).status_code == 429
    other = {"X-Forwarded-For": "10.7.7.8"}
    assert login(client, "nobody", "wrong", headers=other).status_code == 401


def test_a_forged_host_header_reaches_no_redirect_or_page(client, web_store):
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    resp = client.get("/plans/", headers=headers)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    login(client, web_store["users"][("S01", "officer")])
    for path in ("/", "/plans/", "/lang/en?next=/plans/"):
        resp = client.get(path, headers=headers)
        assert "evil.example" not in resp.headers.get("Location", "")
        assert "evil.example" not in resp.get_data(as_text=True)


def test_a_form_field_over_the_field_limit_is_named_as_such(client, web_store):
    # a field over Werkzeug's form memory limit (500 kB) is no upload: say so
    from _web import csrf_token

    token = csrf_token(client)
    resp = client.post(
        "/login",
        data={"username": "x" * 600_000, "password": "p", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 413
    text = resp.get_data(as_text=True)
    assert "A field of the form is longer than 500 KB" in text
    assert "upload limit" not in text
