"""Printable route sheets: rows and totals from a real plan, the SVG map, HTML and PDF."""

import dataclasses
import datetime as dt
import gettext
import io
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _lattice import make_config
from _lattice import make_hotspots
from _lattice import patroller
from _networks import xy
from _plans import plan_checked

from gridplan import InputError
from gridplan._errors import GridplanError
from gridplan.io.planfile import plan_from_dict
from gridplan.io.planfile import plan_to_dict
from gridplan.network.graphs import build_network
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams
from gridplan.sheets import route_sheets as S

FAST = SolveParams(time_limit_s=5, workers=1, work_limit=300, seed=3)
DAY_MORNING = PlanRequest("2024-06-05", slices=["day", "morning"])
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & 义警'
PHONE = "021-6666 8888"


@pytest.fixture(scope="module")
def named_net(net):
    """The lattice of the ``net`` fixture with street names (东西路 y, 南北街 x)."""
    ticks = (-50, 0, 200, 400, 450)
    lines = [shapely.LineString([xy(x, y) for x in ticks]) for y in (0, 200, 400)]
    lines += [shapely.LineString([xy(x, y) for y in ticks]) for x in (0, 200, 400)]
    names = [f"东西路{y}号" for y in (0, 200, 400)] + [f"南北街{x}号" for x in (0, 200, 400)]
    gdf = gpd.GeoDataFrame({"name": names}, geometry=lines, crs=26910)
    out = build_network(gdf, crs="EPSG:26910")
    assert out.graph("walk").number_of_nodes() == net.graph("walk").number_of_nodes()
    return out


@pytest.fixture(scope="module")
def cfg():
    """A walker and a volunteer pair in the morning, a rider by day, one who cannot go out."""
    return make_config(
        [
            patroller("P1", {"daily": ["06:00-08:00"]}, name="巡逻一组"),
            patroller(
                "V1",
                {"daily": ["06:00-09:00"]},
                name=HOSTILE,
                role="volunteer_team",
                home_bases=["S01-B3"],
            ),
            patroller("E1", {"daily": ["10:00-12:00"]}, mode="ebike", name="电动车巡逻"),
            # ten minutes are too short for a stop and the way back: on duty, not deployed
            patroller("N1", {"daily": ["06:00-06:10"]}),
        ],
        top_share=0.2,
        revisit_gap_min=40,
        # V1's three micro-grids are a 40-minute walk: shorter than the shipped 45-minute
        # outing (tests/routing/test_outings.py runs that), so the sheets test allows 30
        outing_min_min=30,
    )


@pytest.fixture(scope="module")
def plan(named_net, grid, cfg):
    return plan_checked(grid, make_hotspots(grid), named_net, cfg, DAY_MORNING, params=FAST)


@pytest.fixture(scope="module")
def sheets(plan, cfg, grid):
    return S.route_sheets(plan, station_phone=PHONE, roster=cfg.roster, grid=grid)


@pytest.fixture(scope="module")
def long_plan(plan):
    """``plan`` with P1's morning route stretched to 34 stops, some with long names."""
    morning = plan.slice("morning")
    r = next(r for r in morning.routes if r.patroller_id == "P1")
    stops = []
    for k in range(34):
        p = r.stops[k % len(r.stops)]
        name = "幸福里小区东门北侧停车场及菜市场周边区域" if k % 3 == 0 else p.name
        street = "Zhongshan North Road Extension" if k % 2 else p.street
        stops.append(dataclasses.replace(p, order=k + 1, name=name, street=street))
    long_route = dataclasses.replace(r, stops=tuple(stops))
    return dataclasses.replace(plan, slices=(dataclasses.replace(morning, routes=(long_route,)),))


def deployed(plan):
    return [
        (s, r)
        for s in sorted(plan.slices, key=lambda s: s.start)
        for r in sorted(s.routes, key=lambda r: (r.patroller_id, r.part))
        if r.deployed
    ]


def hhmm(t):
    return f"{t.hour:02d}:{t.minute:02d}"


# --- sheets from a plan ---------------------------------------------------------------------


def test_one_sheet_per_deployed_route_in_slice_order(plan, sheets):
    # each of these routes fits on one page (long ones: test_long_routes_continue_...)
    assert [len(s.pages) for s in sheets] == [1, 1, 1]
    routes = [(s.slice_id, r.patroller_id) for s in plan.slices for r in s.routes]
    assert ("morning", "N1") in routes  # on duty ...
    assert not plan.slice("morning").routes[[r for _, r in routes].index("N1")].deployed
    got = [(s.slice_id, s.patroller_id, s.part) for s in sheets]
    assert got == [("morning", "P1", 1), ("morning", "V1", 1), ("day", "E1", 1)]
    assert got == [(s.slice_id, r.patroller_id, r.part) for s, r in deployed(plan)]


def test_rows_and_totals_match_the_plan(plan, sheets, cfg):
    for sheet, (sp, r) in zip(sheets, deployed(plan), strict=True):
        assert sheet.station_name == "社区警务室" and sheet.station_phone == PHONE
        assert sheet.date == "2024-06-05"
        assert sheet.slice_label == sp.label
        assert (sheet.name, sheet.role, sheet.mode) == (r.name, r.role, r.mode)
        assert (sheet.start, sheet.end) == (hhmm(r.start), hhmm(r.end))
        assert [
            (w.order, w.micro_id, w.name, w.base_id, w.street, w.arrival, w.dwell_min, w.departure)
            for w in sheet.rows
        ] == [
            (
                p.order,
                p.micro_id,
                p.name,
                p.base_id,
                p.street,
                hhmm(p.arrival),
                p.dwell_s / 60,
                hhmm(p.departure),
            )
            for p in r.stops
        ]
        assert sheet.total_stops == len(r.stops)
        assert sheet.total_dwell_min == sum(p.dwell_s for p in r.stops) / 60
        assert sheet.distance_km == pytest.approx(r.distance_m / 1000, abs=0.005)
        assert sheet.duration_min == pytest.approx(r.duration_s / 60, abs=0.05)
        assert all(w.street.startswith(("东西路", "南北街")) for w in sheet.rows)
    members = {s.patroller_id: s.members for s in sheets}
    assert members == {"P1": 1, "V1": 2, "E1": 1}  # volunteers walk in pairs
    # without the roster the team size is unknown, not guessed
    assert {s.members for s in S.route_sheets(plan)} == {None}
    # morning times are local (Shanghai) times inside 06:00-10:00
    p1 = sheets[0]
    assert "06:00" <= p1.rows[0].arrival and p1.rows[-1].departure <= "10:00"


def test_times_are_printed_in_the_plan_timezone(plan, sheets):
    # the same plan with every time in UTC prints the same local clock times
    def utc(t):
        return t.astimezone(dt.UTC)

    slices = []
    for s in plan.slices:
        routes = tuple(
            dataclasses.replace(
                r,
                start=utc(r.start),
                end=utc(r.end),
                stops=tuple(
                    dataclasses.replace(p, arrival=utc(p.arrival), departure=utc(p.departure))
                    for p in r.stops
                ),
            )
            for r in s.routes
        )
        slices.append(dataclasses.replace(s, routes=routes))
    again = S.route_sheets(dataclasses.replace(plan, slices=tuple(slices)), station_phone=PHONE)
    assert [(s.start, [w.arrival for w in s.rows]) for s in again] == [
        (s.start, [w.arrival for w in s.rows]) for s in sheets
    ]
    assert sheets[0].start == "06:00"


def test_sheets_from_a_saved_plan(plan, sheets, cfg, grid):
    again = S.route_sheets(
        plan_from_dict(plan_to_dict(plan)), station_phone=PHONE, roster=cfg.roster, grid=grid
    )
    assert [dataclasses.replace(s, map_svg="") for s in again] == [
        dataclasses.replace(s, map_svg="") for s in sheets
    ]


def test_filters_and_labels(plan):
    assert [s.patroller_id for s in S.route_sheets(plan, patroller="V1")] == ["V1"]
    assert [s.slice_id for s in S.route_sheets(plan, slices=["day"])] == ["day"]
    assert [s.slice_id for s in S.route_sheets(plan, slices="day")] == ["day"]
    assert S.route_sheets(plan, patroller="E1", slices=["morning"]) == []
    assert S.route_sheets(plan, patroller="N1") == []  # known, never deployed
    labels = {s.slice_id: s.slice_label for s in S.route_sheets(plan, slice_labels={"day": "白天"})}
    assert labels == {"morning": plan.slice("morning").label, "day": "白天"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patroller": "ZZ"}, r"unknown patroller 'ZZ'; this plan has E1, N1, P1, V1"),
        ({"slices": ["day", "noon"]}, r"unknown slice 'noon'; this plan has morning, day"),
    ],
)
def test_unknown_patroller_or_slice(plan, kwargs, match):
    with pytest.raises(InputError, match=match):
        S.route_sheets(plan, **kwargs)


# --- the map --------------------------------------------------------------------------------


def stop_groups(svg):
    root = ET.fromstring(svg)
    return root, [g for g in root.iter(f"{SVG}g") if g.get("class") == "stop"]


def test_map_is_svg_with_one_numbered_circle_per_stop(plan, sheets):
    for sheet, (_, r) in zip(sheets, deployed(plan), strict=True):
        root, stops = stop_groups(sheet.map_svg)
        w, h = sheet.layout.map_mm
        assert root.tag == f"{SVG}svg" and root.get("width") == f"{w:g}mm"
        assert root.get("height") == f"{h:g}mm" and w >= S.PAGE_MM[0] / 2 and h >= S.MIN_MAP_MM
        assert [g.find(f"{SVG}text").text for g in stops] == [str(p.order) for p in r.stops]
        centres = np.array(
            [[float(g.find(f"{SVG}circle").get(k)) for k in ("cx", "cy")] for g in stops]
        )
        radius = float(stops[0].find(f"{SVG}circle").get("r"))
        assert (centres >= radius).all() and (centres[:, 0] <= w - radius).all()
        assert (centres[:, 1] <= h - radius).all()
        # revisits of one place are fanned out: no two numbers cover each other
        for i in range(len(centres)):
            for j in range(i):
                assert np.hypot(*(centres[i] - centres[j])) >= 2 * radius
        classes = {e.get("class") for e in root.iter()}
        assert {"route", "start", "end", "scale-bar", "north-arrow", "micro", "base"} <= classes


def test_map_scale_bar_measures_the_map(plan):
    r = next(r for _, r in deployed(plan) if r.patroller_id == "P1")
    # the lattice's stops span 400 m east-west; a wider map draws the same 200 m longer
    bars = []
    for width in (120, 240):
        root = ET.fromstring(S.route_map_svg(r, width_mm=width, height_mm=60))
        bar = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "scale-bar")
        label = bar.find(f"{SVG}text").text
        mm = sum(float(x.get("width")) for x in bar.findall(f"{SVG}rect")[1:])
        bars.append((label, mm))
        assert not any(e.get("class") == "micro" for e in root.iter())  # no grid given
    (l1, mm1), (l2, mm2) = bars
    n1, n2 = (float(x.split()[0]) for x in (l1, l2))
    # millimetres per metre, the same for both bars of one map; the map is fitted by height
    # (60 mm for about 400 m + the station), so both widths give the same scale
    assert mm1 / n1 == pytest.approx(mm2 / n2, rel=1e-3)  # widths are written to 0.01 mm
    assert l1.endswith(" m")


def test_map_escapes_text(plan):
    r = next(r for _, r in deployed(plan) if r.patroller_id == "V1")
    svg = S.route_map_svg(r)
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == f"V1 {HOSTILE}"


# --- HTML -----------------------------------------------------------------------------------


def page_blocks(html):
    return re.findall(r'<section class="sheet[" ]', html)


def test_html_one_page_per_sheet_self_contained_and_escaped(sheets):
    html = S.render_sheets_html(sheets, lang="en")
    assert len(page_blocks(html)) == len(sheets)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    # nothing is fetched: no links, scripts or styles from elsewhere (the SVG namespace is a
    # name, not a fetch)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<link|<script[^>]*\bsrc=|<img|@import|url\(", html)
    assert "@page" in html and "size: A4" in html and ".no-print" in html
    # the print button works without inline handlers (the web UI's CSP forbids them)
    assert '<button type="button" id="print-sheets">Print</button>' in html
    assert "onclick" not in html and html.count("<script>") == 1
    assert 'getElementById("print-sheets").addEventListener("click"' in html
    assert '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif' in html
    assert HOSTILE not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    for sheet in sheets:
        for row in sheet.rows:
            assert row.micro_id in html and row.street in html
    assert html.count(PHONE) == len(sheets)
    assert "Volunteer team" in html and "E-bike" in html and "2 people" in html
    assert S.render_sheets_html([], lang="en").count("No deployed routes to print.") == 1


def _mo(messages):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def test_html_speaks_the_catalogue(sheets):
    zh = _mo(
        {
            "Patrol route sheet": "巡逻路线单",
            "Volunteer team": "义警队",
            "Page %(num)s of %(count)s": "第 %(num)s 页，共 %(count)s 页",
        }
    )
    html = S.render_sheets_html(sheets, lang="zh", translations=zh)
    assert '<html lang="zh-CN">' in html
    assert html.count("巡逻路线单</h1>") == len(sheets) and "Patrol route sheet<" not in html
    assert "义警队" in html and "第 1 页，共 1 页" in html
    # the default environment keeps the English msgids
    assert "Patrol route sheet" in S.render_sheets_html(sheets, lang="en")


def test_template_msgids_are_plain_literals():
    from jinja2.ext import babel_extract

    src = S.sheets_environment().loader.get_source(S.sheets_environment(), S.TEMPLATE)[0]
    found = list(babel_extract(io.BytesIO(src.encode()), ["_", "gettext"], [], {}))
    # a call with keyword arguments comes out as (msgid, None, ...), as pybabel reads it
    msgids = {m[2] if isinstance(m[2], str) else m[2][0] for m in found}
    assert all(isinstance(m, str) and m.strip() for m in msgids)
    assert {"Print", "Patrol route sheet", "Station phone", "Volunteer team", "On foot"} <= msgids
    # every _() in the template was extracted: none is built from a variable
    assert len(re.findall(r"_\(", src)) == len(found)


def test_long_routes_print_rows_then_a_map_page(long_plan, grid):
    (sheet,) = S.route_sheets(long_plan, station_phone=PHONE, grid=grid)
    pages = sheet.pages
    # 34 stops leave no room for a map: the rows fill two pages, the map gets the third
    assert [(len(p.rows) > 0, p.map) for p in pages] == [(True, False)] * 2 + [(False, True)]
    assert [w.order for p in pages for w in p.rows] == list(range(1, 35))
    assert sheet.layout.map_mm[1] > 200  # a map page is really a map: the page's height
    html = S.render_sheets_html([sheet], lang="en")
    blocks = re.split(r'<section class="sheet[" ]', html)[1:]
    assert len(blocks) == len(pages)
    for k, block in enumerate(blocks, start=1):
        assert "Patrol route sheet" in block and "巡逻一组" in block and PHONE in block
        assert f"Page {k} of {len(pages)}" in block
    assert ["<thead>" in b for b in blocks] == [True, True, False]
    assert [('class="route-map"' in b) for b in blocks] == [False, False, True]  # map once
    # totals and signature close the rows, on the page before the map
    assert ["Team lead signature" in b for b in blocks] == [False, True, False]
    assert "Continued on the next page." in blocks[0] and "map-page" in blocks[2]


# --- the demo station's sheets on A4 -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_plans(web_store):
    """(plan, route_sheets keywords) of the test store's plans: the Portland demo (S01) and
    the lattice station (S02)."""
    from gridplan.web import store
    from gridplan.web.db import connect

    con = connect(web_store["database"])
    try:
        out = []
        for plan_id in web_store["plans"].values():
            row = con.execute("SELECT * FROM plans WHERE id=?", (plan_id,)).fetchone()
            cfg = store.station_config(con, row["station_id"])
            grid = store.load_grid(con, row["grid_id"])
            kwargs = {"station_phone": PHONE, "roster": cfg.roster, "grid": grid}
            out.append((store.plan_from_row(row), {**kwargs, "version": row["version"]}))
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_sheets(demo_plans):
    """Every route sheet of the test store's plans."""
    return [s for plan, kwargs in demo_plans for s in S.route_sheets(plan, **kwargs)]


#: Stops that always fit on one page with a map of at least MIN_MAP_MM (the demo's routes
#: have up to 19; one-line rows take 8 mm, compact rows 7 mm, and each first visit has a
#: line of 3-5 mm saying why it is there; a page 277 mm)
ONE_PAGE_STOPS = 11


def test_every_demo_sheet_is_one_page_unless_it_has_more_stops_than_fit(demo_sheets):
    assert len(demo_sheets) > 10 and max(len(s.rows) for s in demo_sheets) > ONE_PAGE_STOPS
    for sheet in demo_sheets:
        pages = sheet.pages
        w, h = sheet.layout.map_mm
        assert w >= S.PAGE_MM[0] / 2 and h >= S.MIN_MAP_MM
        if len(sheet.rows) <= ONE_PAGE_STOPS:
            assert len(pages) == 1 and pages[0].map, (sheet.patroller_id, sheet.slice_id)
        else:
            # then the rows (a 20-stop route with its "why" lines needs two pages), and a map
            # page as tall as the page allows
            assert len(pages) == 1 or (len(pages) <= 3 and not pages[-1].rows and h > 200)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_sheets_print_on_as_many_pages_as_laid_out(demo_plans, demo_sheets, lang):
    pytest.importorskip("weasyprint")
    # a superseded plan's sheets carry a banner on top of every page; the longest routes
    plan, kwargs = demo_plans[0]
    banner = S.route_sheets(plan, **kwargs, superseded_by=2)
    banner = sorted(banner, key=lambda s: len(s.rows))[-4:]
    for sheets in (demo_sheets, banner):
        html = S.render_sheets_html(sheets, lang=lang)
        assert pdf_pages(S.render_pdf(html)) == sum(len(s.pages) for s in sheets)


def _map_marks(svg):
    """(stop discs (x, y, r), label boxes, other marks' boxes, map size) from a sheet map."""
    root = ET.fromstring(svg)
    w, h = (float(v) for v in root.get("viewBox").split()[2:])
    discs, labels, marks = [], [], []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "stop":
            c = g.find(f"{SVG}circle")
            discs.append(tuple(float(c.get(k)) for k in ("cx", "cy", "r")))
        elif g.get("class") in ("cell-label", "scale-bar"):
            r = g.find(f"{SVG}rect")
            x, y, rw, rh = (float(r.get(k)) for k in ("x", "y", "width", "height"))
            (labels if g.get("class") == "cell-label" else marks).append((x, y, x + rw, y + rh))
    for r in root.iter(f"{SVG}rect"):
        if r.get("class") in ("start", "end"):
            x, y, rw, rh = (float(r.get(k)) for k in ("x", "y", "width", "height"))
            marks.append((x, y, x + rw, y + rh))
    return discs, labels, marks, (w, h)


def _disc_box_gap(disc, box):
    x, y, r = disc
    dx = max(box[0] - x, 0, x - box[2])
    dy = max(box[1] - y, 0, y - box[3])
    return float(np.hypot(dx, dy)) - r


def assert_marks_apart(svg):
    discs, labels, marks, (w, h) = _map_marks(svg)
    for i, (x, y, r) in enumerate(discs):
        assert r <= x <= w - r and r <= y <= h - r
        for x2, y2, r2 in discs[:i]:
            assert np.hypot(x - x2, y - y2) >= r + r2, "two stop markers overlap"
        for box in labels + marks:
            assert _disc_box_gap((x, y, r), box) >= 0, "a stop marker covers a label or mark"
    for i, a in enumerate(labels):
        for b in labels[:i] + marks:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, "two labels overlap"
    return discs, labels


def test_no_two_stop_labels_on_a_sheet_map_overlap(demo_sheets, long_plan, grid):
    placed = 0
    for sheet in demo_sheets:
        discs, labels = assert_marks_apart(sheet.map_svg)
        assert len(discs) == len(sheet.rows)
        placed += len(labels)
    assert placed > 0  # micro-grid labels are drawn where there is room
    # 34 stops on the lattice's 9 micro-grids: every place is visited 3-4 times
    (long_sheet,) = S.route_sheets(long_plan, grid=grid)
    discs, _ = assert_marks_apart(long_sheet.map_svg)
    root = ET.fromstring(long_sheet.map_svg)
    leaders = [e for e in root.iter(f"{SVG}line") if e.get("class") == "leader"]
    assert len(discs) == 34 and len(leaders) >= 34 - 9  # revisits are tied to their place


def test_markers_stay_apart_on_a_small_crowded_map(long_plan):
    route = long_plan.slices[0].routes[0]
    discs, _ = assert_marks_apart(S.route_map_svg(route, width_mm=90, height_mm=70))
    assert len(discs) == 34


def test_the_map_shows_the_route_not_the_whole_station(demo_sheets):
    for sheet in demo_sheets:
        root = ET.fromstring(sheet.map_svg)
        line = next(e for e in root.iter(f"{SVG}polyline") if e.get("class") == "route")
        xy = np.array([p.split(",") for p in line.get("points").split()], dtype=float)
        discs = np.array(_map_marks(sheet.map_svg)[0])[:, :2]
        used = np.ptp(np.vstack([xy, discs]), axis=0)
        w, h = sheet.layout.map_mm
        inner = np.array([w - 18, h - 22])  # less the frame for the scale bar and arrow
        # the route fills its map one way (the other as its shape allows), unless it is so
        # short that the map shows the least span of 300 m
        bar = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "scale-bar")
        label = bar.find(f"{SVG}text").text
        metres = float(label.split()[0]) * (1000 if label.endswith("km") else 1)
        bar_mm = sum(float(x.get("width")) for x in bar.findall(f"{SVG}rect")[1:])
        span_m = used / (bar_mm / metres)
        assert (used / inner).max() > 0.9 or span_m.max() < 300, (sheet.patroller_id, used)


def test_superseded_sheets_say_so_on_every_page(long_plan, grid, tmp_path):
    (sheet,) = S.route_sheets(long_plan, grid=grid, version=1, superseded_by=3)
    assert len(sheet.pages) == 3
    html = S.render_sheets_html([sheet], lang="en")
    blocks = re.split(r'<section class="sheet[" ]', html)[1:]
    assert all("Superseded by v3 — do not use." in b for b in blocks)
    assert '<span class="version">v1</span>' in html
    current = S.render_sheets_html(S.route_sheets(long_plan, grid=grid, version=3), lang="en")
    assert "Superseded" not in current and '<span class="version">v3</span>' in current
    pytest.importorskip("weasyprint")
    pdf = S.render_pdf(html)
    assert pdf_pages(pdf) == 3
    assert pdf_text(pdf, tmp_path).count("Superseded by v3 — do not use.") == 3


# --- PDF ------------------------------------------------------------------------------------


def pdf_pages(data: bytes) -> int:
    """Count pages with pypdf, else /Type /Page objects in the (possibly compressed) PDF."""
    try:
        import pypdf
    except ImportError:
        chunks = [data]
        # up to "endstream" whatever precedes it: the data may itself end in a CR, which an
        # optional "\r?\n" before endstream swallowed (then no page was found); the
        # decompressor leaves the end-of-line after the data unused
        for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
            try:
                chunks.append(zlib.decompressobj().decompress(m.group(1)))
            except zlib.error:
                continue
        return sum(len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", c)) for c in chunks)
    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def pdf_text(data: bytes, tmp_path) -> str:
    exe = shutil.which("pdftotext")
    if exe:
        path = tmp_path / "sheets.pdf"
        path.write_bytes(data)
        return subprocess.run(
            [exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
        ).stdout
    pypdf = pytest.importorskip("pypdf", reason="no pdftotext (poppler-utils) and no pypdf")
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def pdf(sheets):
    pytest.importorskip("weasyprint")
    return S.render_pdf(S.render_sheets_html(sheets, lang="en"))


def test_pdf_has_a_page_per_sheet_and_cjk_text(pdf, sheets, tmp_path):
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == len(sheets)
    text = pdf_text(pdf, tmp_path)
    # the CJK font is embedded: Chinese names come back out of the PDF as text
    assert "社区警务室" in text and "巡逻一组" in text and "电动车巡逻" in text
    assert sheets[0].rows[0].micro_id in text and PHONE in text
    assert '<script>alert("x")</script>' in text  # printed as text, not run


def test_pdf_of_a_long_route_does_not_overflow(long_plan, grid):
    pytest.importorskip("weasyprint")
    sheets = S.route_sheets(long_plan, grid=grid)
    html = S.render_sheets_html(sheets, lang="en")
    assert pdf_pages(S.render_pdf(html)) == len(page_blocks(html)) == len(sheets[0].pages)


def test_pdf_without_weasyprint_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails
    with pytest.raises(GridplanError, match=r"pip install weasyprint.*fonts-noto-cjk"):
        S.render_pdf("<p>x</p>")


# --- hot-spot classes: Gi*, or on a small station each micro-grid against the station mean -----


def _as_small_station(plan):
    """``plan`` with its stops' Gi* classes turned into a small station's excess classes."""
    rename = {"hot_99": "above_99", "hot_95": "above_95", "hot_90": "above_90"}

    def stops(r):
        return tuple(
            dataclasses.replace(p, gi_class=rename.get(p.gi_class, p.gi_class)) for p in r.stops
        )

    slices = tuple(
        dataclasses.replace(
            s, routes=tuple(dataclasses.replace(r, stops=stops(r)) for r in s.routes)
        )
        for s in plan.slices
    )
    return dataclasses.replace(plan, slices=slices)


def test_hot_stops_are_marked_and_a_small_station_says_what_hot_means(plan, grid):
    gi = S.route_sheets(plan, grid=grid)
    small = S.route_sheets(_as_small_station(plan), grid=grid)
    hot_rows = [(k, w.order) for k, s in enumerate(gi) for w in s.rows if w.hot_class]
    assert hot_rows  # the lattice's ranks 1 and 2 are hot_95
    assert [(k, w.order) for k, s in enumerate(small) for w in s.rows if w.hot_class] == hot_rows
    assert {s.classes for s in gi} == {"gistar"} and {s.classes for s in small} == {"excess"}
    note = "Hot: significantly more incidents in the micro-grid than the station's mean density"
    en_gi, en_small = (S.render_sheets_html(s, lang="en") for s in (gi, small))
    assert "Hot 95%" in en_gi and note not in en_gi
    assert "Hot 95%" in en_small and en_small.count(note) == len(small)
    # the shipped catalogue speaks Chinese
    zh = S.render_sheets_html(small, lang="zh")
    assert "热点95%" in zh and "热点：该微网格警情数显著高于全所平均密度" in zh


def test_pdf_of_a_long_small_station_route_does_not_overflow(long_plan, grid):
    pytest.importorskip("weasyprint")
    sheets = S.route_sheets(_as_small_station(long_plan), grid=grid)
    assert sum(bool(w.hot_class) for w in sheets[0].rows) > 10
    html = S.render_sheets_html(sheets, lang="zh")
    assert pdf_pages(S.render_pdf(html)) == len(page_blocks(html)) == len(sheets[0].pages)


@pytest.fixture(scope="module")
def target_plan(named_net, grid):
    from _targets import market_street
    from _targets import school_gate

    config = make_config([patroller("P1", {"daily": ["06:00-10:00"]}, name="巡逻一组")])
    request = PlanRequest(
        "2024-06-07", slices=["morning"], targets=[school_gate(), market_street()]
    )
    return plan_checked(grid, make_hotspots(grid), named_net, config, request, params=FAST)


@pytest.mark.parametrize(
    ("lang", "walk", "at"),
    [
        (
            "en",
            "walk 中山路 from 东西路200号 to 东西路200号, 07:00-09:00",
            "at 一小校门, 07:30-08:15",
        ),
        (
            "zh",
            "步行巡查中山路：从东西路200号到东西路200号，07:00-09:00",
            "在一小校门，07:30-08:15",
        ),
    ],
)
def test_sheets_print_the_walk_of_a_street_and_the_window_of_a_gate(target_plan, lang, walk, at):
    sheets = S.route_sheets(target_plan)
    rows = [row for sheet in sheets for row in sheet.rows if row.kind]
    assert {row.kind for row in rows} == {"point", "line"}
    html = S.render_sheets_html(sheets, lang=lang)
    assert walk in html and at in html
    why = {
        "en": "key target worth 30 % of this slice's risk, to serve 07:30-08:15",
        "zh": "重点目标，价值相当于该时段风险的 30 %，须在 07:30-08:15 内到位",
    }[lang]
    assert why in html.replace("&#39;", "'")


def test_a_stop_under_an_alert_shows_its_colour_and_end(plan):
    """The alert of a stop (planned under one) is printed with its end, and the row is taller."""
    alert_end = dt.datetime(2024, 6, 7, 20, 0, tzinfo=dt.UTC)  # 06-08 04:00 in Shanghai
    morning = plan.slice("morning")
    r = next(r for r in morning.routes if r.stops)
    first = dataclasses.replace(r.stops[0], alert="red", alert_id="9")
    route = dataclasses.replace(r, stops=(first, *r.stops[1:]))
    alert = {
        "id": "9", "level": "red", "micro_ids": [first.micro_id],
        "starts": "2024-06-05T00:00:00+00:00", "ends": alert_end.isoformat(),
        "reason": "robbery", "created_by": "me", "created_at": "2024-06-05T00:00:00+00:00",
        "ended_at": None, "ended_by": None, "area": None,
    }  # fmt: skip
    marked = dataclasses.replace(
        plan,
        slices=(dataclasses.replace(morning, routes=(route,)),),
        settings={**plan.settings, "alerts": [alert]},
    )
    (sheet,) = S.route_sheets(marked)
    row = sheet.rows[0]
    assert (row.alert, row.alert_until) == ("red", "06-08 04:00")
    assert S._row_height_mm(row) > S._row_height_mm(dataclasses.replace(row, alert=""))
    html = S.render_sheets_html([sheet], lang="en")
    assert 'class="alert alert-red">Red alert until 06-08 04:00<' in html
    assert "红色预警，至 06-08 04:00" in S.render_sheets_html([sheet], lang="zh")


# --- what patrols actually did: stops missed repeatedly, top hot spots short of their plan ------


def _with_feedback(plan, *, missed: int = 3):
    """``plan`` as made with feedback: every micro-grid of it missed ``missed`` times over the
    last 7 days and, for each, 60 minutes planned of which 15 were spent there."""
    from gridplan.routing.feedback import ActualPresence

    cells = sorted({p.micro_id for s in plan.slices for r in s.routes for p in r.stops})
    presence = ActualPresence(
        plan.date,
        days=7,
        recent_planned_min=dict.fromkeys(cells, 60),
        recent_actual_min=dict.fromkeys(cells, 15),
        missed=dict.fromkeys(cells, missed),
    )
    return dataclasses.replace(plan, settings={**plan.settings, "presence": presence.to_dict()})


def test_stops_missed_repeatedly_are_flagged_under_their_first_visit(plan):
    sheets = S.route_sheets(_with_feedback(plan))
    for sheet in sheets:
        seen = set()
        for row in sheet.rows:
            texts = [str(m) for m in row.flags]
            if row.micro_id in seen:
                assert texts == []  # once per micro-grid and route
                continue
            seen.add(row.micro_id)
            missed = "planned stops here were missed 3 times in the last 7 days"
            assert texts[0].startswith(missed)
            short = "got 15 of 60 planned minutes in the last 7 days"
            assert (short in texts) == (row.risk_class == "top")  # the boost is for top stops
            plain = dataclasses.replace(row, flags=())
            assert S._row_height_mm(row) > S._row_height_mm(plain)
    assert any(row.risk_class == "top" for s in sheets for row in s.rows)
    en = S.render_sheets_html(sheets, lang="en")
    assert "From recent patrols: planned stops here were missed 3 times" in en
    zh = S.render_sheets_html(sheets, lang="zh")
    assert "近期巡逻情况: 最近 7 天这里有 3 次计划停留未到" in zh
    assert "planned stops" not in zh
    # below the policy's missed_flag_after (2) a micro-grid is not flagged as missed
    once = S.route_sheets(_with_feedback(plan, missed=1))
    assert not any("missed" in str(m) for s in once for row in s.rows for m in row.flags)
    assert S.route_sheets(plan)[0].rows[0].flags == ()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_of_a_long_route_with_flags_does_not_overflow(long_plan, grid, lang):
    pytest.importorskip("weasyprint")
    sheets = S.route_sheets(_with_feedback(long_plan), grid=grid)
    assert sum(bool(w.flags) for w in sheets[0].rows) >= 4
    html = S.render_sheets_html(sheets, lang=lang)
    assert pdf_pages(S.render_pdf(html)) == len(page_blocks(html)) == len(sheets[0].pages)
