"""The patrol phone page in a real browser (Debian's Chromium via Playwright, a 360 px phone
screen): check-ins made offline at two stops of today's plan, with the phone's position
emulated along the route, arrive once when the phone is back online, and never twice.

The app runs under waitress on a private copy of ``patrol_store`` (lattice station S02, a
morning plan for today). The browser context grants geolocation and is put offline and back
with Playwright (``set_geolocation``, ``set_offline``); the service worker keeps the page, so
it also reloads while offline.
"""

from __future__ import annotations

import re

import pytest
from _browser import CSP_WATCH
from _browser import chromium
from _browser import served_copy
from _browser import skip_without_browser
from _patrol import route_stops
from _web import PASSWORD

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402

PHONE = {"width": 360, "height": 740}
CACHED = """() => caches.open("gridplan-patrol-v1")
  .then(c => c.keys()).then(ks => ks.map(r => new URL(r.url).pathname).sort())"""


@pytest.fixture(scope="module")
def server(patrol_store, tmp_path_factory):
    """The app on a copy of ``patrol_store``, jobs as in production."""
    instance = tmp_path_factory.mktemp("patrol-browser")
    with served_copy(patrol_store["database"], instance, "patrol-browser") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def stored(database) -> list[dict]:
    from gridplan.web.db import connect

    con = connect(database)
    try:
        rows = con.execute("SELECT * FROM check_ins ORDER BY client_at, id").fetchall()
        return [dict(r) for r in rows]
    finally:
        con.close()


def test_check_ins_made_offline_along_the_route_arrive_once(
    browser, server, patrol_store, tmp_path
):
    stops = route_stops(patrol_store["database"], "S02", "V09")
    first, second = stops[0], stops[1]
    context = browser.new_context(
        base_url=server["url"],
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"longitude": first["lon"], "latitude": first["lat"], "accuracy": 8},
    )
    context.add_init_script(CSP_WATCH)
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        # a patroller logs in and lands on the phone page, in Chinese
        page.goto("/login")
        page.fill("input[name=username]", patrol_store["users"][("S02", "patroller")])
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/patrol/$"))
        expect(page.locator(f"#{first['dom_id']} button.arrived")).to_have_text("到达")
        expect(page.locator("#next-stop")).to_be_visible()
        expect(page.locator("#next-map.leaflet-container")).to_be_visible()
        # made for a phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=tmp_path / "01-online.png", full_page=True)
        # the service worker controls the page and keeps the page and its files
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
        page.wait_for_function(
            "() => caches.open('gridplan-patrol-v1').then(c => c.match('/patrol/')).then(Boolean)"
        )
        cached = page.evaluate(CACHED)
        for path in ("/patrol/", "/static/js/patrol.js", "/static/vendor/leaflet/leaflet.js"):
            assert path in cached, cached

        # offline: two stops, arrived and left at each, the phone where the route goes
        context.set_offline(True)
        expect(page.locator("#net-state")).to_contain_text("离线")
        for n, stop in enumerate((first, second)):
            context.set_geolocation(
                {"longitude": stop["lon"], "latitude": stop["lat"], "accuracy": 8}
            )
            item = page.locator(f"#{stop['dom_id']}")
            if n == 1:
                item.locator("textarea").fill("路口有积水")
            item.locator("button.arrived").click()
            expect(page.locator("#queue-count")).to_have_text(str(2 * n + 1))
            item.locator("button.left").click()
            expect(page.locator("#queue-count")).to_have_text(str(2 * n + 2))
        expect(page.locator(f"#{first['dom_id']} .stop-state .queued")).to_have_count(2)
        page.screenshot(path=tmp_path / "02-offline-queued.png", full_page=True)
        assert stored(server["database"]) == []
        kept = page.evaluate("localStorage.getItem(window.gridplanPatrol.key)")

        # the page reloads while offline (the service worker's copy); the queue is still there
        page.reload()
        expect(page.locator("#queue-count")).to_have_text("4")
        assert stored(server["database"]) == []

        # back online: the queue is sent, once
        context.set_offline(False)
        expect(page.locator("#queue-count")).to_have_text("0", timeout=20_000)
        expect(page.locator(f"#{first['dom_id']} .stop-state .sent")).to_have_count(2)
        page.screenshot(path=tmp_path / "03-sent.png", full_page=True)
        rows = stored(server["database"])
        got = [(r["stop_index"], r["kind"], r["inside"], r["note"]) for r in rows]
        assert got == [
            (first["stop_index"], "arrived", 1, ""),
            (first["stop_index"], "left", 1, ""),
            (second["stop_index"], "arrived", 1, "路口有积水"),
            (second["stop_index"], "left", 1, ""),
        ]
        assert {r["username"] for r in rows} == {patrol_store["users"][("S02", "patroller")]}
        assert all(r["accuracy_m"] == 8 and r["distance_m"] == 0 for r in rows)

        # the answers were lost: the phone sends the same check-ins again; none is doubled
        page.evaluate("(v) => localStorage.setItem(window.gridplanPatrol.key, v)", kept)
        page.reload()
        expect(page.locator("#queue-count")).to_have_text("0", timeout=20_000)
        page.evaluate("window.gridplanPatrol.sync()")
        assert [r["client_id"] for r in stored(server["database"])] == [
            r["client_id"] for r in rows
        ]
        assert problems == []
        assert page.evaluate("window.__gpCsp") == []
    finally:
        context.close()


def planned_times(database, station: str, team: str) -> list[tuple[str, str]]:
    """The planned arrival and departure of each of ``team``'s stops, ISO with offset."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(database)
    try:
        plan_id = con.execute(
            "SELECT id FROM plans WHERE station_id=? ORDER BY id DESC", (station,)
        ).fetchone()[0]
        plan = store.plan_from_row(store.get_plan_row(con, plan_id, station))
    finally:
        con.close()
    return [
        (stop.arrival.isoformat(), stop.departure.isoformat())
        for s in plan.slices
        for route in s.routes
        if route.patroller_id == team
        for stop in route.stops
    ]


def test_a_route_checked_in_stop_by_stop_shows_every_stop_visited(
    browser, server, patrol_store, tmp_path
):
    """A09 walks its whole route with the phone, arriving and leaving at the planned times
    (the browser's clock is set to them), half of it offline; compliance: every stop visited."""
    stops = route_stops(patrol_store["database"], "S02", "A09")
    times = planned_times(patrol_store["database"], "S02", "A09")
    assert len(stops) == len(times) >= 3
    context = browser.new_context(
        base_url=server["url"],
        locale="en-GB",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        permissions=["geolocation"],
        geolocation={"longitude": stops[0]["lon"], "latitude": stops[0]["lat"], "accuracy": 10},
    )
    page = context.new_page()
    try:
        page.goto("/login")
        page.fill("input[name=username]", patrol_store["users"][("S02", "auxiliary")])
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/patrol/$"))
        expect(page.locator(f"#{stops[0]['dom_id']} button.arrived")).to_be_visible()
        for n, (stop, (arrive, leave)) in enumerate(zip(stops, times, strict=True)):
            context.set_offline(n < len(stops) // 2)
            where = {"longitude": stop["lon"], "latitude": stop["lat"], "accuracy": 10}
            context.set_geolocation(where)
            item = page.locator(f"#{stop['dom_id']}")
            page.clock.set_fixed_time(arrive)
            item.locator("button.arrived").click()
            page.clock.set_fixed_time(leave)
            item.locator("button.left").click()
        context.set_offline(False)
        expect(page.locator("#queue-count")).to_have_text("0", timeout=20_000)
        for stop in stops:  # the server answered for both check-ins of every stop
            sent = page.locator(f"#{stop['dom_id']} .stop-state .sent")
            expect(sent).to_have_count(2, timeout=20_000)
    finally:
        context.close()
    rows = [r for r in stored(server["database"]) if r["username"].endswith("auxiliary")]
    assert len(rows) == 2 * len(stops)  # each once

    officer = browser.new_context(base_url=server["url"], locale="en-GB")
    page = officer.new_page()
    try:
        page.goto("/login")
        page.fill("input[name=username]", patrol_store["users"][("S02", "officer")])
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.goto(f"/plans/{stops[0]['plan_id']}/compliance")
        page.screenshot(path=tmp_path / "04-compliance.png", full_page=True)
        status = page.eval_on_selector_all(
            "#stops tr[data-stop*='/A09/']", "rs => rs.map(r => r.dataset.status)"
        )
        assert status == ["visited"] * len(stops), status
    finally:
        officer.close()
