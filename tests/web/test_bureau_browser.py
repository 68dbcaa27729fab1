"""The bureau page in a real browser (Debian's Chromium via Playwright): a bureau user logs in,
sees its two stations on the city map and in the table, opens one (read-only, under the banner),
reads its plans and comes back to the bureau page, in Chinese, with no script or CSP error."""

from __future__ import annotations

import pytest
from _browser import CSP_WATCH
from _browser import chromium
from _browser import served_copy
from _browser import skip_without_browser
from _web import PASSWORD

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def server(patrol_store, tmp_path_factory):
    """The app on a copy of ``patrol_store`` with bureau user ``chief`` over S02 and S03."""
    from gridplan.web import store
    from gridplan.web.db import connect

    instance = tmp_path_factory.mktemp("bureau-browser")
    with served_copy(patrol_store["database"], instance, "bureau-browser") as running:
        con = connect(running["database"])
        try:
            store.add_user(con, "chief", PASSWORD, station_id="S02", role="bureau",
                           stations=("S02", "S03"))  # fmt: skip
        finally:
            con.close()
        yield running


def test_a_bureau_user_sees_two_stations_opens_one_and_comes_back(server, patrol_store):
    with chromium() as browser:
        context = browser.new_context(
            base_url=server["url"], locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.add_init_script(CSP_WATCH)
        problems: list[str] = []
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            page.goto("/login")
            page.fill("input[name=username]", "chief")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_load_state("load")
            # the bureau page: both stations in the table and on the city map
            expect(page).to_have_url(f"{server['url']}/bureau/")
            rows = page.locator("#bureau-table tbody tr")
            expect(rows).to_have_count(2)
            frame = page.wait_for_selector("#city-map").content_frame()
            frame.wait_for_load_state("load")
            labels = frame.locator(".gp-station-label")
            expect(labels).to_have_count(2)
            expect(labels.nth(0)).to_contain_text("警务室")
            # both stations' micro-grids (9 each) coloured by their hot spots
            assert frame.evaluate("window.gridplanHotspotLayer.getLayers().length") == 18
            # into S02 from its row: the banner, the station's plans, no editing
            page.click("tr[data-station=S02] a.open-station")
            expect(page.locator("#bureau-banner")).to_contain_text("S02")
            page.click("a[href='/plans/']")
            expect(page.locator("#bureau-banner")).to_be_visible()
            plan_id = patrol_store["plans"]["S02"]
            expect(page.locator(f"a[href='/plans/{plan_id}']").first).to_be_visible()
            assert page.locator("a[href='/import/']").count() == 0
            # and back
            page.click("#bureau-back")
            expect(page).to_have_url(f"{server['url']}/bureau/")
            expect(page.locator("#bureau-banner")).to_have_count(0)
            expect(rows).to_have_count(2)
        finally:
            context.close()
        assert not problems, problems
