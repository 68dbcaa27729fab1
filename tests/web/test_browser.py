"""The web UI in a real browser: Debian's Chromium driven by Playwright, served by waitress.

The app runs on a private copy of the ``web_store`` store as in production: waitress in a
thread, plans solved in their own spawned process (1 s per slice). Each test opens its own
browser context (its own cookies), watches every page and frame for console errors, uncaught
exceptions and Content-Security-Policy violations, and saves a screenshot of each step under
its ``tmp_path``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from _browser import ARGS
from _browser import CHROMIUM
from _browser import CSP_WATCH
from _browser import map_frame
from _browser import skip_without_browser
from _web import PASSWORD

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

# Painted pixels of the map's overlay canvas and a checksum of them (the maps draw with
# Leaflet's canvas renderer, so the polygons are pixels, not elements).
CANVAS_PIXELS = """() => {
  const c = document.querySelector('.leaflet-overlay-pane canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0, hash = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) { painted += 1; }
    hash = (hash * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + 17 * d[i + 3]) | 0;
  }
  return {painted: painted, hash: hash};
}"""

N_MICRO = 147  # micro-grids of the demo station S01
DEMO_PLAN_DATE = "2024-06-08"


@pytest.fixture(scope="module")
def server(web_store, tmp_path_factory):
    """The app under waitress on a private copy of ``web_store`` (plans in a spawned process)."""
    import waitress

    from gridplan.web import create_app

    instance = tmp_path_factory.mktemp("browser-instance")
    database = instance / "gridplan.sqlite"
    shutil.copyfile(web_store["database"], database)
    app = create_app(
        {
            "DATABASE": str(database),
            "SECRET_KEY": "browser-test",
            "JOBS_INLINE": False,
            "PLAN_TIME_LIMIT_S": 1.0,
            "PLAN_WORKERS": 1,
            # every test logs in from 127.0.0.1; the limit itself is tested in web/test_app.py
            "LOGIN_RATE_LIMIT": "100 per minute",
            "LOGIN_RATE_LIMIT_PER_USER": "100 per minute",
        },
        instance_path=str(instance),
    )
    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    stopping = threading.Event()

    def run() -> None:
        try:
            srv.run()
        except (OSError, ValueError):  # the socket map closed under the loop at teardown
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    yield {"url": f"http://localhost:{srv.effective_port}", "database": database}
    stopping.set()
    srv.close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Session:
    """A browser context on the server with one page, its problems and numbered screenshots."""

    def __init__(self, browser, server, shots: Path, *, locale: str = "zh-CN"):
        self.context = browser.new_context(
            base_url=server["url"],
            locale=locale,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        self.context.add_init_script(CSP_WATCH)
        self.problems: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.shots = shots
        self.n = 0

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.problems.append(f"console error in {msg.location.get('url')}: {msg.text}")

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot as NN-name.png."""
        self.n += 1
        path = self.shots / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def csp_violations(self) -> list[str]:
        """CSP violations recorded in the page and every frame."""
        out: list[str] = []
        for frame in self.page.frames:
            out += frame.evaluate("window.__gpCsp || []")
        return out

    def log_in(self, username: str) -> None:
        page = self.page
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser, server, tmp_path):
    s = Session(browser, server, tmp_path)
    yield s
    s.close()


def test_officer_logs_in_and_sees_the_overview(session, web_store):
    page = session.page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))  # not logged in: the login form
    session.shot("login")
    session.log_in(web_store["users"][("S01", "officer")])
    expect(page.locator("#count-micro")).to_have_text(str(N_MICRO))
    expect(page.locator("#count-base")).to_have_text("5")
    session.shot("overview")
    assert session.problems == []
    assert session.csp_violations() == []


def test_officer_chooses_unrecognised_columns_in_chinese(session, server, web_store):
    """An export whose headers no alias knows: the mapping form, in Chinese, then the import."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(server["database"])
    grid = store.load_grid(con, store.latest_grid(con, "S02")["id"])
    con.close()
    micro = grid[grid["level"] == "micro"].geometry.representative_point()[:6]
    lines = ["单号,东经,北纬,何时,警情级别"]
    lines += [f"B{k},{p.x:.6f},{p.y:.6f},2024-05-0{k + 1} 21:15,红色" for k, p in enumerate(micro)]
    csv = ("\n".join(lines) + "\n").encode("gbk")
    page = session.page
    session.log_in(web_store["users"][("S02", "officer")])
    page.goto("/import/")
    page.set_input_files(
        "#incidents-form input[type=file]",
        files=[{"name": "五月警情.csv", "mimeType": "text/csv", "buffer": csv}],
    )
    page.click("#incidents-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("选择列")
    expect(page.locator("#mapping-message")).to_contain_text("有些列无法按列名识别")
    expect(page.locator("#mapping-message")).to_contain_text("经度")
    expect(page.locator("#file-columns")).to_contain_text("东经")
    # what was recognised is chosen already: the alert level by its Chinese name
    expect(page.locator("#col-alert")).to_have_value("警情级别")
    expect(page.locator("label[for=col-lon]")).to_have_text("经度")
    session.shot("column-mapping")
    page.select_option("#col-lon", "东经")
    page.select_option("#col-lat", "北纬")
    page.select_option("#col-time", "何时")
    page.select_option("#col-id", "单号")
    page.click("#mapping-submit")
    expect(page).to_have_url(re.compile(r"/import/incidents/\d+$"))
    expect(page.locator("#n-added")).to_have_text("6")
    expect(page.locator("#import-report")).to_contain_text("东经")  # the columns used
    session.shot("imported")
    # the form's 422 answer (nothing imported yet) is the only thing the console reports
    assert [p for p in session.problems if "status of 422" not in p] == []
    assert session.csp_violations() == []


def test_grid_map_draws_every_micro_grid_and_recolours_by_slice(session, web_store):
    page = session.page
    session.log_in(web_store["users"][("S01", "officer")])
    page.goto("/map/")
    frame = map_frame(page)
    # with hot spots the micro-grids are the hot-spot layer (gridplanMicroLayer without them)
    frame.wait_for_function("window.gridplanHotspotLayer !== undefined")
    assert frame.evaluate("window.gridplanHotspotLayer.getLayers().length") == N_MICRO
    # drawn (the maps use Leaflet's canvas renderer): every micro-grid was projected into the
    # view, and the canvas has painted pixels
    assert (
        frame.evaluate(
            "window.gridplanHotspotLayer.getLayers().filter(l => l._parts.length > 0).length"
        )
        == N_MICRO
    )
    before_px = frame.evaluate(CANVAS_PIXELS)
    assert before_px["painted"] > 10_000, before_px
    session.shot("grid-map")

    fills = "() => window.gridplanHotspotLayer.getLayers().map(l => l.options.fillColor)"
    before = frame.evaluate(fills)
    select = frame.locator("select[data-gp=slice]")
    options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) >= 2, options
    assert select.input_value() == options[0]
    select.select_option(options[-1])
    after = frame.evaluate(fills)
    assert len(after) == N_MICRO and after != before
    # the drawing itself changed, not only the options (the canvas redraws on the next frame)
    frame.wait_for_function(
        "h => { const c = document.querySelector('.leaflet-overlay-pane canvas');"
        " return c && (" + CANVAS_PIXELS + ")().hash !== h; }",
        arg=before_px["hash"],
    )
    assert frame.evaluate("location.hash") == f"#slice={options[-1]}&measure=score"
    session.shot("grid-map-other-slice")

    assert session.problems == []
    assert session.csp_violations() == []


def test_officer_makes_a_plan_and_pins_a_stop_from_the_map(session, web_store):
    page = session.page
    session.log_in(web_store["users"][("S01", "officer")])
    page.goto("/plans/")
    page.fill("#plan-date", DEMO_PLAN_DATE)
    boxes = page.locator("input[name=slices]")
    assert boxes.count() >= 2
    chosen = boxes.first.get_attribute("value")
    for k in range(1, boxes.count()):
        boxes.nth(k).uncheck()
    expect(boxes.first).to_be_checked()
    session.shot("plan-form")
    page.click("#plan-submit")
    # the progress page polls the job; the spawned solver takes a few seconds to start
    expect(page).to_have_url(re.compile(r"/plans/jobs/\d+$"))
    # the progress text keeps the placeholders app.js fills in (in either language)
    running = page.locator("#job-texts").get_attribute("data-running")
    assert "%(done)s" in running and "%(total)s" in running, running
    session.shot("plan-progress")
    page.wait_for_url(re.compile(r"/plans/\d+$"), timeout=180_000)
    # the seeded plan of that date is v1, so this one is v2 and links to the other version
    expect(page.locator("#plan-side h1")).to_contain_text(DEMO_PLAN_DATE)
    expect(page.locator("#plan-side h1 .badge")).to_have_text("v2")
    expect(page.locator("#plan-side .slice-metrics")).to_have_count(1)
    assert page.locator("#plan-side .slice-metrics").get_attribute("data-slice") == chosen

    frame = map_frame(page)
    frame.wait_for_function("window.gridplanMicroLayer !== undefined")
    assert frame.evaluate("window.gridplanMicroLayer.getLayers().length") == N_MICRO
    routes = frame.evaluate(
        """() => { let n = 0; window.gridplanMicroLayer._map.eachLayer(l => {
             if (l instanceof L.Polyline && !(l instanceof L.Polygon)) { n += 1; } });
           return n; }"""
    )
    assert routes >= 1
    stops = frame.locator(".gp-stop")
    assert stops.count() >= 1
    session.shot("new-plan")

    # a revisit's marker sits on the first visit's (same street node): open the first
    # marker's popup whatever lies on top of it
    stops.first.dispatch_event("click")
    pin = frame.locator(".leaflet-popup-content button[data-gp-act=pin]").last
    micro_id = pin.get_attribute("data-gp-id")
    assert re.fullmatch(r"S01-B\d-M\d+", micro_id), micro_id
    pin.click()
    expect(page.locator("#pinned")).to_have_value(re.compile(rf"\b{re.escape(micro_id)}\b"))
    expect(page.locator("#pinned")).to_have_class(re.compile(r"\bchanged\b"))
    session.shot("pinned")

    assert session.problems == []
    assert session.csp_violations() == []


def _deployed_routes(database: Path, plan_id: int) -> list:
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(database)
    try:
        row = store.get_plan_row(con, plan_id, "S01")
        plan = store.plan_from_row(row)
    finally:
        con.close()
    return [r for s in plan.slices for r in s.routes if r.deployed and r.stops]


def _plans_with(database: Path, patroller: str) -> int:
    """How many of S01's plans have a route with stops for ``patroller``."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(database)
    try:
        ids = [r["id"] for r in store.list_plans(con, "S01", limit=1000)]
        plans = [store.plan_from_row(store.get_plan_row(con, i, "S01")) for i in ids]
    finally:
        con.close()
    return sum(
        any(r.patroller_id == patroller and r.stops for s in p.slices for r in s.routes)
        for p in plans
    )


def _pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", str(path)], capture_output=True, text=True, check=True
        ).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def test_route_sheets_print_one_a4_page_per_sheet(session, server, web_store, tmp_path):
    page = session.page
    plan_id = web_store["plans"]["S01"]
    routes = _deployed_routes(server["database"], plan_id)
    session.log_in(web_store["users"][("S01", "officer")])
    page.goto(f"/plans/{plan_id}")
    page.click("#sheets-link")
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}/sheets$"))
    sheets = page.locator("section.sheet")
    first_pages = page.locator("section.sheet[data-page='1']")
    expect(first_pages).to_have_count(len(routes))
    shown = first_pages.evaluate_all("ss => ss.map(s => [s.dataset.slice, s.dataset.patroller])")
    assert sorted(map(tuple, shown)) == sorted((r.slice_id, r.patroller_id) for r in routes)
    n_pages = sheets.count()
    session.shot("sheets")

    # the Print button is wired by the page's own (nonce'd) script
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed++; }; }")
    page.click("#print-sheets")
    assert page.evaluate("window.__printed") == 1

    page.emulate_media(media="print")
    expect(page.locator(".toolbar")).to_be_hidden()
    session.shot("sheets-print")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    assert _pdf_pages(pdf, tmp_path) == n_pages

    assert session.problems == []
    assert session.csp_violations() == []


def test_plan_downloads_pdf_with_chinese_text_and_geojson(session, server, web_store, tmp_path):
    page = session.page
    plan_id = web_store["plans"]["S01"]
    routes = _deployed_routes(server["database"], plan_id)
    session.log_in(web_store["users"][("S01", "officer")])
    page.goto(f"/plans/{plan_id}")
    session.shot("plan")

    with page.expect_download() as info:
        page.click("#pdf-link")
    download = info.value
    # v1 is superseded once another test of this module made a plan of the same date
    assert re.fullmatch(
        r"route-sheets-2024-06-08-v1(-superseded)?-all\.pdf", download.suggested_filename
    )
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "波特兰中心示范警务室" in text  # CJK embedded as text, not boxes or images
        assert all(r.patroller_id in text for r in routes)

    with page.expect_download() as info:
        page.click("#dl-geojson")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "S01-plan-2024-06-08-v1.geojson"
    fc = json.loads(path.read_text("utf-8"))
    assert fc["type"] == "FeatureCollection"
    kinds: dict[str, set[str]] = {}
    for f in fc["features"]:
        kinds.setdefault(f["geometry"]["type"], set()).add(f["properties"]["kind"])
    assert kinds == {"LineString": {"route"}, "Point": {"stop"}}
    n_stops = sum(f["geometry"]["type"] == "Point" for f in fc["features"])
    assert n_stops == sum(len(r.stops) for r in routes)
    # downloading is no navigation: the plan page stays
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}$"))
    assert session.problems == []
    assert session.csp_violations() == []


def test_volunteer_lead_sees_only_their_team(session, server, web_store):
    page = session.page
    plan_id = web_store["plans"]["S01"]
    routes = _deployed_routes(server["database"], plan_id)
    ours = [r for r in routes if r.patroller_id == "V01"]
    assert ours and len(ours) < len(routes)  # the demo plan has V01 and others on duty
    session.log_in(web_store["users"][("S01", "volunteer_lead")])
    # no grid map or downloads in the menu, only the Patrol page and the team's sheets
    nav = page.locator("nav.mainnav a")
    expect(nav).to_have_count(2)
    expect(page.locator("#nav-patrol")).to_be_visible()
    nav.last.click()
    # every plan with a route for V01 (the module's plan test may have added one), no other
    n_plans = _plans_with(server["database"], "V01")
    expect(page.locator("#plan-list tbody tr")).to_have_count(n_plans)
    session.shot("lead-plans")
    page.locator(f"#plan-list a[href$='/plans/{plan_id}/sheets']").click()
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}/sheets$"))
    patrollers = page.locator("section.sheet").evaluate_all(
        "ss => ss.map(s => s.dataset.patroller)"
    )
    assert set(patrollers) == {"V01"}
    assert page.locator("section.sheet[data-page='1']").count() == len(ours)
    session.shot("lead-sheets")
    # another team's sheets and the officer's views are closed to the lead
    other = next(r.patroller_id for r in routes if r.patroller_id != "V01")
    response = page.goto(f"/plans/{plan_id}/sheets?patroller={other}")
    assert response.status == 404
    response = page.goto("/map/")
    assert response.status == 403
    session.shot("lead-forbidden")
    assert [p for p in session.problems if "server responded with a status of 40" not in p] == []
    assert session.csp_violations() == []


def test_language_switch_in_the_header(session, web_store):
    page = session.page
    session.log_in(web_store["users"][("S01", "officer")])
    page.goto("/plans/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-CN")  # the browser asks for Chinese
    expect(page.locator(".langs a.on")).to_have_attribute("lang", "zh")
    page.click(".langs a[lang=en]")
    expect(page).to_have_url(re.compile(r"/plans/$"))  # back on the same page
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator(".langs a.on")).to_have_attribute("lang", "en")
    expect(page.locator("nav.mainnav a.on")).to_have_text("Patrol plans")
    session.shot("english")
    page.goto("/")  # the choice stays for the session
    expect(html).to_have_attribute("lang", "en")
    page.click(".langs a[lang=zh]")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".langs a.on")).to_have_attribute("lang", "zh")
    session.shot("chinese")
    assert session.problems == []
    assert session.csp_violations() == []


def test_officer_draws_a_school_gate_and_the_plan_serves_it(session, web_store):
    """Targets page: place a point with Leaflet.draw, save it; a new plan serves it."""
    from _targets import lonlat

    page = session.page
    session.log_in(web_store["users"][("S02", "officer")])
    page.goto("/targets/")
    expect(page.locator("h1")).to_have_text("重点路段与重点时段目标")
    page.wait_for_function("window.gridplanTargetMap !== undefined")
    page.click("a.leaflet-draw-draw-marker")
    lon, lat = lonlat(400, 400)  # the lattice's far corner junction
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridplanTargetMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    page.locator("#target-map").click(position={"x": x, "y": y})
    drawn = json.loads(page.locator("#target-geometry").input_value())
    assert drawn["type"] == "Point"
    assert abs(drawn["coordinates"][0] - lon) < 1e-4 and abs(drawn["coordinates"][1] - lat) < 1e-4
    page.fill("#target-name", "一小校门")
    page.fill("#target-windows", "07:30-08:15")
    page.fill("#target-value", "40")
    page.fill("#target-dwell", "15")
    session.shot("target-drawn")
    page.click("#target-save")
    expect(page.locator("#targets tbody tr")).to_have_count(1)
    expect(page.locator("#targets")).to_contain_text("07:30-08:15")
    session.shot("targets")

    page.goto("/plans/")
    page.fill("#plan-date", "2024-06-05")
    boxes = page.locator("input[name=slices]")
    for k in range(boxes.count()):
        if boxes.nth(k).get_attribute("value") != "morning":
            boxes.nth(k).uncheck()
    page.click("#plan-submit")
    page.wait_for_url(re.compile(r"/plans/\d+$"), timeout=180_000)
    frame = map_frame(page)
    frame.wait_for_function("window.gridplanMicroLayer !== undefined")
    targets = frame.evaluate(  # the plan map's layer of targets (drawn on a canvas)
        """() => { let n = 0; window.gridplanMicroLayer._map.eachLayer(l => {
             if ((l.options.className || "").includes("gp-target-point")) { n += 1; } });
           return n; }"""
    )
    assert targets == 1
    plan_url = page.url
    page.goto(plan_url + "/sheets")
    expect(page.locator("body")).to_contain_text("在一小校门，07:30-08:15")
    session.shot("sheet-with-target")
    assert session.problems == []
    assert session.csp_violations() == []


def test_officer_declares_a_red_alert_on_the_map_and_the_plan_gives_it_its_minimum(
    session, web_store
):
    page = session.page
    session.log_in(web_store["users"][("S02", "officer")])
    page.click("#nav-alerts")
    expect(page).to_have_url(re.compile(r"/alerts/$"))
    frame = map_frame(page)
    frame.wait_for_function("window.gridplanMicroLayer !== undefined")
    cell = "S02-B3-M003"
    # click the micro-grid on the map: the point of its centre in the page
    x, y = frame.evaluate(
        """(id) => { let pt = null; const layer = window.gridplanMicroLayer;
             layer.eachLayer(l => { if (l.feature.properties.id === id) {
               pt = layer._map.latLngToContainerPoint(l.getBounds().getCenter()); } });
             const box = layer._map.getContainer().getBoundingClientRect();
             return [pt.x + box.left, pt.y + box.top]; }""",
        cell,
    )
    frame_box = page.locator("#map-frame").bounding_box()
    page.mouse.click(frame_box["x"] + x, frame_box["y"] + y)
    add = frame.locator(".leaflet-popup-content button[data-gp-act=alert]")
    expect(add).to_have_attribute("data-gp-id", cell)
    add.click()
    expect(page.locator("#alert-cells")).to_have_value(cell)
    page.select_option("#alert-level", "red")
    page.fill("#alert-hours", "72")
    page.fill("#alert-reason", "连续抢劫 robbery series")
    session.shot("alert-form")
    page.click("#alert-submit")
    expect(page.locator("#active-alerts tr.alert-red")).to_contain_text(cell)
    session.shot("alert-declared")

    # plan tomorrow's morning (the alert runs 72 hours from now)
    page.goto("/plans/")
    boxes = page.locator("input[name=slices]")
    for k in range(boxes.count()):
        if boxes.nth(k).get_attribute("value") != "morning":
            boxes.nth(k).uncheck()
    page.click("#plan-submit")
    page.wait_for_url(re.compile(r"/plans/\d+$"), timeout=180_000)
    row = page.locator(f"#plan-alerts tr[data-cell='{cell}']")
    expect(row).to_have_count(1)
    minutes, need = row.locator("td").nth(2).inner_text().split(" / ")
    plan_text = page.locator("#plan-side .slice-metrics").first.inner_text()
    assert int(need) == 30 and int(minutes) >= 30, (minutes, need, plan_text[:3000])
    assert row.get_attribute("class") != "short"
    frame = map_frame(page)
    frame.wait_for_function("window.gridplanMicroLayer !== undefined")
    stops = frame.evaluate(
        "() => Array.from(document.querySelectorAll('.gp-stop')).map(e => e.textContent)"
    )
    assert stops, "no stop on the plan map"
    session.shot("plan-with-alert")
    assert session.problems == []
    assert session.csp_violations() == []
