"""Every route of the web UI, as every role, with hostile values in every parameter: no 5xx.

The walk takes the routes from ``app.url_map`` and the parameter names from the views and
templates themselves (every ``request.args``/``request.form`` read and every form field), so a
new route or field is walked without editing this file. Each URL converter gets huge, negative,
textual and control-character values; each query and form parameter gets the hostile values
below, all parameters at once per request.
"""

import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from _web import PASSWORD
from _web import ROLES
from _web import login

WEB = Path(__file__).parents[2] / "gridplan" / "web"

HOSTILE = [
    "",
    "-1",
    "0",
    "abc",
    "1e3",
    "10^20",
    "99999999999999999999",
    "9" * 31,
    "9" * 5000,
    "\x00",
    "a\nb",
    "\r\nX-Evil: 1",
    "x" * 20_000,
    "中文\u202e\u200b",
    "２",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "/%09/evil.example",
    "NaN",
]
INT_VALUES = ["0", "1", "9223372036854775807", "9223372036854775808", "9" * 31, "-1", "abc"]


def parameter_names() -> set[str]:
    """Every request parameter the views read and every form field the templates have."""
    names = set()
    for path in WEB.rglob("*.py"):
        text = path.read_text("utf-8")
        names |= set(re.findall(r"\.get(?:list)?\(\s*\"([a-z_]+)\"", text))
        names |= set(re.findall(r"\.get(?:list)?\(\s*f\"([a-z_]+)\{", text))
    for path in WEB.rglob("*.html"):
        names |= set(re.findall(r"name=\"([a-z_]+)\"", path.read_text("utf-8")))
    names |= {f"dwell_{c}" for c in ("high", "medium", "low")}
    return names - {"csrf_token"}


@pytest.fixture(scope="module")
def walk_app(web_store, tmp_path_factory):
    from gridplan.web import create_app

    tmp = tmp_path_factory.mktemp("hostile")
    database = tmp / "gridplan.sqlite"
    shutil.copyfile(web_store["database"], database)
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(database),
            "SECRET_KEY": "test",
            "JOBS_INLINE": True,
            "PLAN_TIME_LIMIT_S": 1.0,
            "PLAN_WORKERS": 1,
            # the walk posts hostile forms only; CSRF and the throttle are tested elsewhere
            "WTF_CSRF_ENABLED": False,
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "LOGIN_RATE_LIMIT_PER_USER": "100000 per minute",
            "LOGIN_RATE_LIMIT_PER_ADDRESS": "100000 per minute",
        },
        instance_path=str(tmp),
    )


def _is_int(rule, arg) -> bool:
    from werkzeug.routing import IntegerConverter

    return isinstance(rule._converters[arg], IntegerConverter)


def _urls(rule, plan_id: int):
    """URLs of ``rule`` with hostile values in each converter (the others kept valid)."""
    valid = {a: str(plan_id) if _is_int(rule, a) else "geojson" for a in rule.arguments}
    for arg in rule.arguments:
        for value in INT_VALUES if _is_int(rule, arg) else HOSTILE:
            url = rule.rule
            for name, part in {**valid, arg: quote(value, safe="") or "x"}.items():
                url = re.sub(rf"<(?:[a-z]+:)?{name}>", part, url)
            yield url


def _requests(app, plan_id: int):
    """(method, url, params) for every route: hostile converters, then hostile parameters."""
    names = sorted(parameter_names())
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("auth.logout", "static"):
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        base = rule.rule
        for arg in rule.arguments:
            valid = str(plan_id) if _is_int(rule, arg) else "geojson"
            base = re.sub(rf"<(?:[a-z]+:)?{arg}>", valid, base)
        for method in methods:
            for url in _urls(rule, plan_id):
                yield method, url, {}
            for value in HOSTILE:
                yield method, base, {n: value for n in names}


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_a_hostile_value_with_a_server_error(walk_app, web_store, role):
    client = walk_app.test_client()
    user = web_store["users"][("S01", role)]
    assert login(client, user).status_code == 302
    failures, to_login, total = [], 0, 0
    for method, url, params in _requests(walk_app, web_store["plans"]["S01"]):
        if method == "GET":
            resp = client.get(url, query_string=params)
        else:
            resp = client.post(url, query_string={"next": params.get("next", "")}, data=params)
        resp.close()
        total += 1
        if resp.status_code >= 500:
            failures.append((resp.status_code, method, url[:80], repr(params.get("page"))[:20]))
        if "/login" in resp.headers.get("Location", "") and not url.startswith("/login"):
            to_login += 1  # logged out (a hostile password form?): log in again, go on
            login(client, user)
    assert failures == []
    # the walk ran logged in: only a few answers sent it back to the login page
    assert total > 500 and to_login < total / 50, (total, to_login)


@pytest.mark.parametrize("viewing", [None, "S01"])
def test_no_route_answers_a_bureau_user_with_a_server_error(walk_app, web_store, viewing):
    """The walk as a bureau user over S01 and S02: on its bureau page, and viewing S01 (the
    viewed station set again before each request, since the bureau page leaves it)."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(walk_app.config["DATABASE"])
    try:
        if con.execute("SELECT 1 FROM users WHERE username='walk-bureau'").fetchone() is None:
            store.add_user(con, "walk-bureau", PASSWORD, station_id="S01", role="bureau",
                           stations=("S01", "S02"))  # fmt: skip
    finally:
        con.close()
    client = walk_app.test_client()
    assert login(client, "walk-bureau").status_code == 302
    failures, total = [], 0
    for method, url, params in _requests(walk_app, web_store["plans"]["S01"]):
        if viewing:
            with client.session_transaction() as sess:
                sess["bureau_station"] = viewing
        if method == "GET":
            resp = client.get(url, query_string=params)
        else:
            resp = client.post(url, query_string={"next": params.get("next", "")}, data=params)
        resp.close()
        total += 1
        if resp.status_code >= 500:
            failures.append((resp.status_code, method, url[:80]))
        if "/login" in resp.headers.get("Location", "") and not url.startswith("/login"):
            login(client, "walk-bureau")
    assert failures == []
    assert total > 500
