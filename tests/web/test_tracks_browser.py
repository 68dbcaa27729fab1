"""Tracks and compliance in a real browser (Debian's Chromium via Playwright): an officer imports
a GPX track of today's route through the Tracks page (the import job runs in its own process, as
in production), reads the report, opens the plan's Compliance page from the plan page and sees
the bar chart of planned against present minutes and the map of presence, in Chinese."""

from __future__ import annotations

import re

import pytest
from _browser import CSP_WATCH
from _browser import chromium
from _browser import map_frame
from _browser import served_copy
from _browser import skip_without_browser
from _tracks import route_fixes
from _tracks import write_gpx
from _web import PASSWORD

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def server(patrol_store, tmp_path_factory):
    """The app on a copy of ``patrol_store``, import jobs in their own process."""
    instance = tmp_path_factory.mktemp("tracks-browser")
    with served_copy(patrol_store["database"], instance, "tracks-browser") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def v09_gpx(patrol_store, path):
    """A GPX of V09 walking today's morning route of S02 (every 5 s, 5 m noise), two stops
    skipped; returns the path and the stops skipped."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(patrol_store["database"])
    try:
        row = store.get_plan_row(con, patrol_store["plans"]["S02"], "S02")
        plan = store.plan_from_row(row)
    finally:
        con.close()
    route = next(r for s in plan.slices for r in s.routes if r.patroller_id == "V09")
    skipped = [p.order for p in route.stops][1:3]
    fixes = route_fixes(route, 26910, every_s=5.0, skip=skipped)
    return write_gpx(fixes, path), route, skipped


def test_import_a_track_and_see_compliance_with_chart_and_map(
    browser, server, patrol_store, tmp_path
):
    gpx, route, skipped = v09_gpx(patrol_store, tmp_path / "v09-晨巡.gpx")
    plan_id = patrol_store["plans"]["S02"]
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
        page.fill("input[name=username]", patrol_store["users"][("S02", "officer")])
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_load_state("load")
        # the Tracks page: choose the file and the patroller, import
        page.click("#nav-tracks")
        expect(page.locator("h1")).to_have_text("巡逻轨迹")
        page.set_input_files("#track-file", str(gpx))
        page.select_option("#track-patroller", "V09")
        page.click("#track-submit")
        page.wait_for_url(re.compile(r"/tracks/\d+$"), timeout=120_000)
        expect(page.locator("#n-fixes")).not_to_have_text("0")
        expect(page.locator("#track-patrollers")).to_contain_text("V09")
        page.screenshot(path=tmp_path / "01-track-report.png", full_page=True)

        # the plan page links to its Compliance page
        page.goto(f"/plans/{plan_id}")
        page.click("#compliance-link")
        page.wait_for_url(re.compile(rf"/plans/{plan_id}/compliance$"))
        expect(page.locator("h1")).to_contain_text("执行情况")
        for order in skipped:
            key = f"{route.slice_id}/V09/{route.part}/{order}"
            expect(page.locator(f'tr[data-stop="{key}"]')).to_have_attribute(
                "data-status", "missed"
            )
        made = page.locator('tr[data-stop*="/V09/"][data-status="visited"]')
        assert made.count() + page.locator(
            'tr[data-stop*="/V09/"][data-status="late"]'
        ).count() == (len(route.stops) - len(skipped))
        # the chart: one group per top hot spot, a planned and a present bar each
        chart = page.locator("#presence-chart")
        expect(chart).to_be_visible()
        groups = chart.locator("g.spot")
        assert groups.count() > 0
        assert chart.locator("rect.planned").count() == groups.count()
        assert chart.locator("rect.actual").count() == groups.count()
        widths = [float(w) for w in chart.locator("rect.actual").evaluate_all(
            "rs => rs.map(r => r.getAttribute('width'))")]  # fmt: skip
        assert max(widths) > 0
        # the map: micro-grids filled by the minutes present, the stops by status, a legend
        frame = map_frame(page)
        frame.wait_for_selector(".gp-presence-legend")
        drawn = frame.evaluate(
            """() => {
              const g = window.gridplanPresence, out = {filled: 0, missed: 0, stops: 0};
              g.cells.eachLayer(l => { if (l.options.fillOpacity > 0.5) out.filled += 1; });
              g.stops.eachLayer(l => {
                out.stops += 1;
                if (l.options.status === "missed") out.missed += 1;
              });
              return out;
            }"""
        )
        assert drawn["filled"] > 0 and drawn["missed"] == len(skipped), drawn
        assert drawn["stops"] == page.locator("tr[data-stop]").count()
        page.screenshot(path=tmp_path / "02-compliance.png", full_page=True)
        assert not [p for p in problems if "favicon" not in p], problems
    finally:
        context.close()
