"""Web UI maps: grid_map and plan_map send what they should, offline, escaped and small."""

import dataclasses
import datetime as dt
import json
import re
import shutil
import time
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _lattice import lattice_network
from _lattice import make_config
from _lattice import make_grid
from _lattice import make_hotspots
from _lattice import patroller
from _maps import outside_refs
from _plans import plan_checked

from gridplan import InputError
from gridplan.maps.hotspot_map import save_map
from gridplan.maps.palette import PATROLLER_COLOURS
from gridplan.maps.webmaps import grid_map
from gridplan.maps.webmaps import incident_data
from gridplan.maps.webmaps import patroller_styles
from gridplan.maps.webmaps import plan_data
from gridplan.maps.webmaps import plan_map
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams

TILES = "http://tiles.station.local/{z}/{x}/{y}.png"
HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
FAST = SolveParams(time_limit_s=2, workers=1, work_limit=200, seed=3)
MORNING_DAY = PlanRequest("2024-06-05", slices=["morning", "day"])


# --- helpers ---------------------------------------------------------------------------------


def payload(m, template: str, key: str = "data"):
    """The JSON a map sends to the page for the layer drawn by ``template``."""
    layers = [c for c in m._children.values() if getattr(c, "template_name", None) == template]
    assert len(layers) == 1, [getattr(c, "template_name", None) for c in m._children.values()]
    return json.loads(getattr(layers[0], key))


def make_incidents(grid, n, *, seed=0, categories=("盗窃", "诈骗", None), start="2024-01-01"):
    """``n`` incidents spread over the grid, one a day, random category and alert."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = grid.to_crs(4326).total_bounds
    t0 = pd.Timestamp(start, tz="Asia/Shanghai") + pd.Timedelta(hours=10)
    return gpd.GeoDataFrame(
        {
            "id": [f"J{k}" for k in range(n)],
            "time": t0 + pd.to_timedelta(np.arange(n), unit="D"),
            "category": pd.array(rng.choice(categories, n), dtype="string"),
            "alert": pd.array(rng.choice(["red", "yellow", "blue", None], n), dtype="string"),
            "weight": 1.0,
            "in_station": True,
            "source_row": np.arange(2, n + 2),
        },
        geometry=gpd.points_from_xy(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)),
        crs=4326,
    )


def big_grid(nx=40, ny=25):
    """A station of 5 base grids and nx x ny 200 m micro-grids (1,000 by default)."""
    x0, y0 = 350_000, 3_450_000  # EPSG:32651, near Shanghai
    cells, ids, parents = [], [], []
    for i in range(nx):
        for j in range(ny):
            b = i * 5 // nx + 1
            cells.append(
                shapely.box(x0 + i * 200, y0 + j * 200, x0 + i * 200 + 200, y0 + j * 200 + 200)
            )
            ids.append(f"S01-B{b}-M{i * ny + j + 1:04d}")
            parents.append(f"S01-B{b}")
    bases = [
        shapely.union_all([c for c, p in zip(cells, parents, strict=True) if p == f"S01-B{k}"])
        for k in range(1, 6)
    ]
    return gpd.GeoDataFrame(
        {
            "id": ["S01", *(f"S01-B{k}" for k in range(1, 6)), *ids],
            "level": ["station"] + ["base"] * 5 + ["micro"] * len(ids),
            "parent_id": [None] + ["S01"] * 5 + parents,
            "name": [
                "警务室",
                *(f"基础网格{k}" for k in range(1, 6)),
                *(f"微网格{k}" for k in range(len(ids))),
            ],
        },
        geometry=[shapely.union_all(cells), *bases, *cells],
        crs=32651,
    ).to_crs(4326)


def full_hotspots(grid, slices=("all", "morning", "day", "evening", "night"), seed=1):
    """compute_hotspots-shaped figures for every micro-grid and slice."""
    rng = np.random.default_rng(seed)
    ids = grid.loc[grid["level"] == "micro", "id"].tolist()
    parts = []
    for sid in slices:
        score = rng.gamma(1.0, 3.0, len(ids)).round(3)
        parts.append(
            pd.DataFrame(
                {
                    "id": ids,
                    "slice": sid,
                    "count": rng.poisson(5, len(ids)),
                    "density_km2": score * 25,
                    "score": score,
                    "rank": (-score).argsort(kind="stable").argsort() + 1,
                    "gi_z": rng.normal(0, 1.5, len(ids)).round(2),
                    "gi_class": np.where(score > 8, "hot_99", "not_significant"),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lattice():
    """The 3 x 3 lattice station: network, 1+3+9 grid, hot spots (scores 9..1)."""
    grid = make_grid()
    return lattice_network(), grid, make_hotspots(grid)


@pytest.fixture(scope="module")
def plan(lattice):
    """Two walkers (P1 巡逻一, P2) in the morning and day slices of 2024-06-05, Shanghai."""
    net, grid, hot = lattice
    cfg = make_config(
        [
            patroller("P2", {"daily": ["06:00-16:00"]}),
            patroller("P1", {"daily": ["06:00-16:00"]}, name="巡逻一"),
        ],
        top_share=0.2,
    )
    return plan_checked(grid, hot, net, cfg, MORNING_DAY, params=FAST)


# --- grid_map ---------------------------------------------------------------------------------


def test_grid_map_sends_every_micro_grid_with_its_figures_per_slice(lattice):
    _, grid, hot = lattice
    m = grid_map(grid, hot, make_incidents(grid, 30), tiles="none")
    data = payload(m, "hotspot_layer.html")
    cfg = payload(m, "hotspot_layer.html", "cfg")
    micro = grid[grid["level"] == "micro"]
    assert [f["properties"]["id"] for f in data["features"]] == micro["id"].tolist()
    assert [s[0] for s in cfg["slices"]] == ["morning", "day", "evening", "night", "all"]
    # the popup's figures: [count, density, score, rank, gi_z, gi class] for every slice
    first = data["features"][0]["properties"]
    assert first["name"] == "微网格0" and first["b"] == "S01-B1"
    assert cfg["bases"]["S01-B1"] == "一"
    row = hot[(hot["id"] == "S01-B1-M001") & (hot["slice"] == "day")].iloc[0]
    count, density, score, rank, _z, gi = first["v"][1]
    assert (count, score, rank, density) == (row["count"], row["score"], row["rank"], None)
    assert cfg["gi_keys"][gi] == row["gi_class"] == "hot_95"
    # without density_km2 the density measure is not offered
    assert cfg["has_density"] is False
    # base grids drawn once with their names as labels
    marks = payload(m, "outline_layer.html", "marks")
    assert sorted(mk[2] for mk in marks) == ["一", "三", "二"]
    assert payload(m, "incident_layer.html")["shown"] == 30


def test_grid_map_without_hotspots_or_incidents(lattice):
    _, grid, _ = lattice
    m = grid_map(grid, tiles="none", static_url="/static")
    data = payload(m, "micro_layer.html")
    assert len(data["features"]) == 9
    html = m.get_root().render()
    assert "markercluster" not in html  # the library is linked only when incidents are drawn
    assert "hotspot" not in html.lower()


def test_grid_map_checks_its_inputs(lattice):
    _, grid, hot = lattice
    with pytest.raises(InputError, match="lacks columns gi_class"):
        grid_map(grid, hot.drop(columns="gi_class"))
    with pytest.raises(InputError, match="lang='fr'"):
        grid_map(grid, lang="fr")
    with pytest.raises(InputError, match="lacks columns level"):
        grid_map(grid.drop(columns="level"))


def test_incidents_travel_as_compact_columns():
    grid = make_grid()
    inc = make_incidents(grid, 200, seed=4)
    d = incident_data(inc, {"uncategorised": "未分类"})
    assert d["total"] == d["shown"] == 200
    inc = inc.iloc[::-1]  # sent latest first
    lat = d["lat0"] + np.array(d["lat"]) / d["scale"]
    lon = d["lon0"] + np.array(d["lon"]) / d["scale"]
    assert np.allclose(lat, inc.geometry.y, atol=6e-6) and np.allclose(
        lon, inc.geometry.x, atol=6e-6
    )
    # categories most frequent first, missing ones as 未分类; counts add up
    cats = inc["category"].fillna("未分类")
    assert [d["categories"][c] for c in d["cat"]] == cats.tolist()
    assert d["cat_counts"] == cats.value_counts().tolist()
    alerts = inc["alert"].fillna("none").tolist()
    assert [("red", "yellow", "blue", "none")[a] for a in d["alert"]] == alerts
    assert sum(d["alert_counts"]) == 200
    # local dates (10:00 Shanghai is 02:00 UTC: the same day either way; day k is 2024-01-01 + k)
    assert d["day0"] == "2024-01-01" and d["day"] == list(range(199, -1, -1))


def test_incident_dates_are_the_station_wall_clock_dates():
    grid = make_grid()
    inc = make_incidents(grid, 2)
    # 07:30 in Shanghai is the day before in UTC
    inc["time"] = pd.DatetimeIndex(["2024-03-05 07:30", "2024-03-07 23:30"]).tz_localize(
        "Asia/Shanghai"
    )
    d = incident_data(inc, {"uncategorised": "-"})
    assert d["day0"] == "2024-03-05"
    assert sorted(d["day"]) == [0, 2]


def test_only_the_latest_incidents_are_sent_with_a_note():
    grid = make_grid()
    inc = make_incidents(grid, 500, seed=2).sample(frac=1, random_state=3)  # shuffled rows
    m = grid_map(grid, incidents=inc, tiles="none", max_incidents=120, lang="en")
    d = payload(m, "incident_layer.html")
    assert (d["total"], d["shown"], len(d["lat"])) == (500, 120, 120)
    # one incident a day from 2024-01-01: the latest 120 are days 380..499
    assert d["day0"] == str(dt.date(2024, 1, 1) + dt.timedelta(days=380))
    assert sorted(d["day"]) == list(range(120))
    assert "Showing the latest {shown} of {total}" in m.get_root().render()


# --- plan_map ---------------------------------------------------------------------------------


def test_plan_map_sends_every_route_and_stop(plan, lattice):
    _, grid, _ = lattice
    m = plan_map(plan, grid=grid, tiles="none")
    data = payload(m, "plan_layer.html")
    assert [s["id"] for s in data["slices"]] == ["morning", "day"]
    for sent, sp in zip(data["slices"], plan.slices, strict=True):
        deployed = [r for r in sp.routes if r.deployed]
        assert len(sent["routes"]) == len(deployed) > 0
        for r_sent, r in zip(sent["routes"], deployed, strict=True):
            assert [s["id"] for s in r_sent["stops"]] == [p.micro_id for p in r.stops]
            assert [s["n"] for s in r_sent["stops"]] == list(range(1, len(r.stops) + 1))
            assert len(r_sent["path"]) == len(r.path.coords)
            lon, lat = r.path.coords[0]
            assert r_sent["path"][0] == pytest.approx([lat, lon], abs=1e-6)
    assert len(payload(m, "micro_layer.html")["features"]) == 9


def test_plan_map_names_the_slices_in_the_ui_language(plan, lattice):
    _, grid, _ = lattice
    # the plan's own labels carry both languages; the UI passes the names of its language
    assert [s.label for s in plan.slices] == ["早间 Morning 06:00-10:00", "日间 Day 10:00-16:00"]
    m = plan_map(plan, grid=grid, tiles="none", slice_labels={"morning": "早间", "day": "日间"})
    sent = [s["label"] for s in payload(m, "plan_layer.html")["slices"]]
    assert sent == ["早间 06:00-10:00", "日间 10:00-16:00"]
    m = plan_map(plan, grid=grid, tiles="none", lang="en", slice_labels={"morning": "Morning"})
    sent = [s["label"] for s in payload(m, "plan_layer.html")["slices"]]
    assert sent == ["Morning 06:00-10:00", "日间 Day 10:00-16:00"]  # no name: the plan's label


def test_each_patroller_keeps_one_colour_in_every_slice(plan):
    data = plan_data(plan)
    ids = [p["id"] for p in data["patrollers"]]
    assert ids == ["P1", "P2"]  # id order, not roster order
    colours = {p["id"]: p["colour"] for p in data["patrollers"]}
    assert len(set(colours.values())) == 2
    seen = {}
    for s in data["slices"]:
        for r in s["routes"]:
            seen.setdefault(data["patrollers"][r["p"]]["id"], set()).add(r["p"])
    # one walker may be enough for the nine micro-grids (the search then leaves the other
    # at the station): whoever walks keeps one colour in both slices
    assert all(len(v) == 1 for v in seen.values()) and seen and set(seen) <= {"P1", "P2"}
    assert {len(s["routes"]) > 0 for s in data["slices"]} == {True}
    # more patrollers than colours: the colours repeat with another line pattern
    fake = dataclasses.replace(
        plan,
        slices=tuple(
            dataclasses.replace(
                plan.slices[0],
                routes=tuple(
                    dataclasses.replace(plan.slices[0].routes[0], patroller_id=f"X{k:02d}")
                    for k in range(10)
                ),
            )
            for _ in range(1)
        ),
    )
    styles = patroller_styles(fake)
    assert [styles[f"X{k:02d}"]["colour"] for k in range(8)] == list(PATROLLER_COLOURS)
    assert styles["X08"]["colour"] == styles["X00"]["colour"]
    assert styles["X08"]["dash"] and not styles["X00"]["dash"]


def test_stop_popups_give_times_in_the_plan_timezone(plan):
    tz = ZoneInfo("Asia/Shanghai")
    utc = dt.UTC
    sp = plan.slices[0]
    r = next(r for r in sp.routes if r.deployed)
    stop = r.stops[0]
    # the same instants written in UTC still show Shanghai wall-clock times
    moved = dataclasses.replace(
        stop, arrival=stop.arrival.astimezone(utc), departure=stop.departure.astimezone(utc)
    )
    r2 = dataclasses.replace(r, stops=(moved, *r.stops[1:]))
    sp2 = dataclasses.replace(sp, routes=tuple(r2 if x is r else x for x in sp.routes))
    data = plan_data(dataclasses.replace(plan, slices=(sp2,)))
    sent = next(x for x in data["slices"][0]["routes"])["stops"][0]
    a, d = stop.arrival.astimezone(tz), stop.departure.astimezone(tz)
    assert sent["t"] == f"{a:%H:%M}–{d:%H:%M}"
    assert a.hour >= 6 and moved.arrival.hour != a.hour
    assert sent["dwell"] == stop.dwell_s / 60
    assert (sent["rank"], sent["gi"], sent["risk"]) == (
        stop.risk_rank,
        stop.gi_class,
        stop.risk_class,
    )
    assert (sent["name"], sent["street"]) == (stop.name, stop.street)


def test_plan_map_without_grid_fits_the_routes_and_needs_something_to_show(plan):
    m = plan_map(plan, tiles="none", lang="en")
    assert "Patrollers" in m.get_root().render()
    empty = dataclasses.replace(
        plan,
        slices=tuple(
            dataclasses.replace(
                s,
                routes=tuple(dataclasses.replace(r, stops=()) for r in s.routes),
            )
            for s in plan.slices
        ),
    )
    with pytest.raises(InputError, match="pass grid="):
        plan_map(empty)
    assert plan_map(empty, grid=make_grid(), tiles="none") is not None


# --- offline, escaping, size ------------------------------------------------------------------


@pytest.fixture(scope="module")
def every_map(plan, lattice):
    """Make each web map with the given tiles and asset mode."""
    _, grid, hot = lattice

    def make(kind, tiles, static_url):
        if kind == "grid":
            return grid_map(grid, hot, make_incidents(grid, 20), tiles=tiles, static_url=static_url)
        return plan_map(plan, grid=grid, tiles=tiles, static_url=static_url)

    return make


@pytest.mark.parametrize("kind", ["grid", "plan"])
@pytest.mark.parametrize("tiles", ["none", TILES, "openstreetmap"])
def test_maps_reference_no_outside_host_but_the_tiles(every_map, kind, tiles, tmp_path):
    tile_url = {"none": None, "openstreetmap": "https://tile.openstreetmap.org/"}.get(tiles, tiles)
    served = every_map(kind, tiles, "/static").get_root().render()
    assert outside_refs(served, tile_url) == []
    assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in served
    if kind == "grid":
        assert (
            '<script src="/static/vendor/leaflet.markercluster/leaflet.markercluster.js">' in served
        )
        assert 'href="/static/vendor/leaflet.markercluster/MarkerCluster.Default.css"' in served
    saved = save_map(every_map(kind, tiles, None), tmp_path / "m.html").read_text("utf-8")
    assert outside_refs(saved, tile_url) == []
    assert "gridplan-asset:" not in saved and "<script src=" not in saved
    assert ("L.MarkerClusterGroup" in saved) == (kind == "grid")
    if tile_url is None:
        assert not re.search(r"https?://", served)


def test_outside_refs_catches_a_cdn_link():
    html = '<script src="https://cdn.jsdelivr.net/npm/leaflet.js"></script><img src="/ok.png">'
    assert outside_refs(html) == ["https://cdn.jsdelivr.net/npm/leaflet.js"] * 2
    assert outside_refs("<style>a{background:url(http://x.example.com/a.png)}</style>") != []


def _hostile_grid():
    grid = make_grid()
    grid.loc[grid["id"] == "S01-B1-M001", "name"] = HOSTILE
    grid.loc[grid["id"] == "S01-B2", "name"] = HOSTILE
    return grid


def test_hostile_names_stay_text(plan):
    grid = _hostile_grid()
    inc = make_incidents(grid, 10, categories=(HOSTILE,))
    hot = make_hotspots(grid)
    hostile_plan = dataclasses.replace(
        plan,
        slices=tuple(
            dataclasses.replace(
                s,
                label=HOSTILE,
                routes=tuple(
                    dataclasses.replace(
                        r,
                        name=HOSTILE,
                        stops=tuple(
                            dataclasses.replace(p, name=HOSTILE, street=HOSTILE) for p in r.stops
                        ),
                    )
                    for r in s.routes
                ),
            )
            for s in plan.slices
        ),
    )
    pages = [
        grid_map(grid, hot, inc, slice_labels={"day": HOSTILE}, tiles="none", static_url="/s"),
        plan_map(hostile_plan, grid=grid, tiles="none", static_url="/s"),
    ]
    for m in pages:
        html = m.get_root().render()
        assert "</script><script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in html
        # every <script> element is one of ours: the name opened none
        assert html.count("<script") == html.count("</script>")


def test_large_station_page_stays_small(capsys):
    grid = big_grid()
    hot = full_hotspots(grid)
    inc = make_incidents(grid, 20_000, seed=5, categories=("盗窃", "诈骗", "纠纷", "交通", "噪音"))
    t = time.perf_counter()
    m = grid_map(grid, hot, inc, tiles="none", static_url="/static")
    html = m.get_root().render()
    took = time.perf_counter() - t
    size = len(html.encode("utf-8"))
    d = payload(m, "incident_layer.html")
    assert d["shown"] == 20_000
    assert len(payload(m, "hotspot_layer.html")["features"]) == 1_000
    with capsys.disabled():
        print(
            f"\ngrid_map 1,000 micro-grids x 5 slices + 20,000 incidents: page {size / 1e6:.2f} MB"
            f" (served), made and rendered in {took:.2f} s"
        )
    assert size < 1_500_000


# --- in a browser -----------------------------------------------------------------------------


def _chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        pytest.skip("needs playwright and a Chromium (apt-get install chromium)")
    return path


def test_in_a_browser_popups_escape_and_pin_posts_to_the_parent(plan, tmp_path):
    from playwright.sync_api import expect
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    grid = _hostile_grid()
    save_map(plan_map(plan, grid=grid, tiles="none"), tmp_path / "plan.html")
    (tmp_path / "page.html").write_text(
        '<iframe id="f" src="plan.html" style="width:900px;height:600px"></iframe><script>'
        'window.got = []; addEventListener("message", e => window.got.push(e.data));</script>',
        encoding="utf-8",
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page()
        errors, dialogs, requests = [], [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((tmp_path / "page.html").as_uri())
        frame = page.frame_locator("#f")
        # markers of two slices' stops at one micro-grid overlap: the click goes to the element
        frame.locator(".gp-stop").first.dispatch_event("click")
        popup = frame.locator(".leaflet-popup-content")
        text = popup.inner_text()
        first = next(r for r in plan.slices[0].routes if r.deployed).stops
        assert first[0].micro_id in text or any(s.micro_id in text for s in first)
        assert re.search(r"\d\d:\d\d–\d\d:\d\d", text) and "必巡" in text
        shown_id = popup.locator("button[data-gp-act=pin]").get_attribute("data-gp-id")
        popup.locator("button[data-gp-act=pin]").click()
        page.wait_for_function("window.got.length > 0")
        assert page.evaluate("window.got") == [{"gridplan": "pin", "id": shown_id}]
        # the hostile micro-grid name shows as text in its popup; no script ran
        frame.locator("body").evaluate(
            "() => window.gridplanMicroLayer.eachLayer(l => {"
            " if (l.feature.properties.id === 'S01-B1-M001') { l.openPopup(); } })"
        )
        # the stop's popup may still be fading out (Leaflet's 200 ms fade): wait until it is gone
        expect(popup).to_have_count(1)
        assert HOSTILE in popup.inner_text()
        # opened on its own the map shows no buttons; only the first slice is on at first,
        # one marker per patroller and spot (revisits share one)
        page.goto((tmp_path / "plan.html").as_uri())
        spots = {
            (r.patroller_id, round(p.lat, 6), round(p.lon, 6))
            for r in plan.slices[0].routes
            for p in r.stops
        }
        assert page.locator(".gp-stop").count() == len(spots)
        page.locator(".gp-stop").first.dispatch_event("click")
        assert page.locator(".leaflet-popup-content").count() == 1
        assert page.locator("button[data-gp-act]").count() == 0
        page.keyboard.press("Escape")
        page.get_by_label(plan.slices[1].label).check()
        spots |= {
            (r.patroller_id, round(p.lat, 6), round(p.lon, 6), 2)
            for r in plan.slices[1].routes
            for p in r.stops
        }
        assert page.locator(".gp-stop").count() == len(spots)
        browser.close()
    assert errors == [] and dialogs == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


# --- legibility: hot-spot outlines and base-grid names ----------------------------------------


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _over(colour: str, alpha: float, ground: str) -> str:
    """``colour`` at opacity ``alpha`` over ``ground``."""
    mix = [
        round(alpha * int(colour[i : i + 2], 16) + (1 - alpha) * int(ground[i : i + 2], 16))
        for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{v:02x}" for v in mix)


def test_hot_spot_outline_contrasts_with_every_fill_of_the_palette():
    from gridplan.maps.palette import FILL_OPACITY
    from gridplan.maps.palette import HOT_OUTLINE
    from gridplan.maps.palette import NO_DATA_COLOUR
    from gridplan.maps.palette import SCORE_COLOURS

    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#67000d", "#bd0026") < 3  # the old dark-red outline on the darkest class
    casing, line = HOT_OUTLINE["casing"], HOT_OUTLINE["line"]
    assert contrast(casing, line) >= 3  # the two strokes read as one double line
    assert HOT_OUTLINE["casing_px"] >= HOT_OUTLINE["line_px"] + 2  # casing shows both sides
    # every fill as drawn: the palette colour, and at its opacity over a white or grey ground
    # (no tiles: Leaflet's #ddd) or the white of a tile
    fills = [NO_DATA_COLOUR, *SCORE_COLOURS]
    drawn = fills + [_over(f, FILL_OPACITY, g) for f in fills for g in ("#ffffff", "#dddddd")]
    for fill in drawn:
        assert max(contrast(casing, fill), contrast(line, fill)) >= 3, fill


def test_in_a_browser_base_grid_names_show_above_incidents_and_hot_outlines(lattice, tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    _, grid, hot = lattice
    hot = hot.assign(gi_class=np.where(hot["score"] >= 5, "hot_99", "not_significant"))
    m = grid_map(grid, hot, make_incidents(grid, 1), tiles="none")
    marks = payload(m, "outline_layer.html", "marks")
    # a heap of incidents on every base grid's name: they cluster right under it
    lat = np.repeat([mk[0] for mk in marks], 40)
    lon = np.repeat([mk[1] for mk in marks], 40)
    incidents = make_incidents(grid, len(lat)).set_geometry(gpd.points_from_xy(lon, lat))
    save_map(grid_map(grid, hot, incidents, tiles="none"), tmp_path / "grid.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 900, "height": 700})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tmp_path / "grid.html").as_uri())
        page.wait_for_selector(".marker-cluster")
        page.screenshot(path=str(tmp_path / "grid.png"))
        # each base grid's name is stacked above the cluster bubbles under it (elementFromPoint
        # cannot tell: the names let clicks through to the bubbles)
        on_top = page.evaluate(
            """() => { const z = el => +getComputedStyle(el.closest('.leaflet-pane')).zIndex;
                 const bubbles = [...document.querySelectorAll('.marker-cluster')].map(z);
                 return [...document.querySelectorAll('.gp-base-label')].map(
                   el => z(el) > Math.max(...bubbles)); }"""
        )
        clusters = page.locator(".marker-cluster").count()
        # the hot spots of the slice shown are outlined: a black casing under a white line
        outlined = page.evaluate(
            """() => { const out = {};
                 window.gridplanHotspotLayer._map.eachLayer(l => {
                   if (l.feature && l.options.interactive === false && l.options.stroke !== false
                       && 'v' in l.feature.properties) {
                     out[l.options.color] = (out[l.options.color] || 0) + 1; } });
                 return out; }"""
        )
        browser.close()
    assert errors == []
    assert clusters >= len(marks) and on_top == [True] * len(marks)
    morning = hot[(hot["slice"] == "morning") & (hot["gi_class"] == "hot_99")]
    assert outlined == {"#000000": len(morning), "#ffffff": len(morning)} and len(morning) > 0


def test_grid_map_names_the_excess_classes_of_a_small_station(lattice):
    _, grid, hot = lattice
    hot = hot.assign(gi_class=np.where(hot["score"] >= 5, "above_99", "not_significant"))
    cfg = payload(grid_map(grid, hot, tiles="none"), "hotspot_layer.html", "cfg")
    assert cfg["classes"] == "excess" and cfg["legend_keys"][0] == "above_99"
    assert "above_99" in cfg["hot_keys"] and "hot_99" in cfg["hot_keys"]
    gistar = payload(grid_map(grid, make_hotspots(grid), tiles="none"), "hotspot_layer.html", "cfg")
    assert gistar["classes"] == "gistar" and gistar["legend_keys"][0] == "hot_99"


def test_in_a_browser_excess_classes_are_outlined_and_explained(lattice, tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    _, grid, hot = lattice
    hot = hot.assign(gi_class=np.where(hot["score"] >= 5, "above_99", "below_90"))
    save_map(grid_map(grid, hot, tiles="none"), tmp_path / "grid.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 900, "height": 700})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tmp_path / "grid.html").as_uri())
        page.wait_for_selector(".gp-legend")
        outlined = page.evaluate(
            """() => { let n = 0;
                 window.gridplanHotspotLayer._map.eachLayer(l => {
                   if (l.feature && l.options.interactive === false && l.options.stroke !== false
                       && 'v' in l.feature.properties && l.options.color === '#000000') { n++; } });
                 return n; }"""
        )
        option = page.locator("select[data-gp='measure'] option[value='gi']").inner_text()
        page.select_option("select[data-gp='measure']", "gi")
        legend = page.locator(".gp-legend").first.inner_text()
        browser.close()
    assert errors == []
    assert outlined == len(hot[(hot["slice"] == "morning") & (hot["gi_class"] == "above_99")]) > 0
    assert option == "热点等级（与全所平均比较）"
    assert "全所平均密度比较" in legend and "高于全所平均 99%" in legend
    assert "低于全所平均 90%" in legend and "热点 99%" not in legend


def test_the_plan_map_shows_targets_and_the_sections_walked():
    from _targets import market_street
    from _targets import school_gate

    grid = make_grid()
    request = PlanRequest(
        "2024-06-07",
        slices=["morning"],
        targets=[school_gate(), market_street(windows="18:00-19:00")],
    )
    config = make_config([patroller("W1", {"daily": ["06:00-10:00"]})])
    plan = plan_checked(
        grid, make_hotspots(grid), lattice_network(), config, request,
        params=SolveParams(workers=1, work_limit=2000, seed=1),
    )  # fmt: skip
    data = plan_data(plan)
    assert [(t["id"], t["kind"]) for t in data["targets"]] == [
        ("gate", "point"),
        ("market", "line"),
    ]
    stops = [s for r in data["slices"][0]["routes"] for s in r["stops"] if s.get("target")]
    assert [(s["target"], s["kind"], s["win"]) for s in stops] == [("gate", "point", "07:30–08:15")]
    html = plan_map(plan, grid=grid, lang="en", tiles=None).get_root().render()
    assert "gp-target-line" in html and "Key targets and road sections" in html


def test_alerts_are_a_layer_in_their_colours_with_their_areas():
    from gridplan.maps.layers import LABELS
    from gridplan.maps.layers import alert_layer
    from gridplan.maps.palette import ALERT_COLOURS
    from gridplan.maps.webmaps import alert_pick_map
    from gridplan.routing.alerts import Alert

    grid = make_grid()
    t0 = dt.datetime(2024, 6, 5, 6, tzinfo=ZoneInfo("Asia/Shanghai"))
    cell = grid.loc[grid["id"] == "S01-B2-M002", "geometry"].iloc[0]
    area = json.dumps(shapely.geometry.mapping(cell.buffer(-0.0001)))

    def alert(i, level, cells, **kw):
        end = t0 + dt.timedelta(hours=72)
        return Alert(i, level, cells, t0, end, HOSTILE, "me", t0, **kw)

    alerts = [
        alert("1", "yellow", ("S01-B2-M002", "S01-B1-M001")),
        alert("2", "red", ("S01-B2-M002",), area=area),
        alert("3", "blue", ("S01-B9-M999",)),  # not in this grid: left out
    ]
    layer = alert_layer(grid, alerts, LABELS["en"])
    data, areas = json.loads(layer.data), json.loads(layer.areas)
    colour = {f["properties"]["id"]: f["properties"]["c"] for f in data["features"]}
    assert colour == {"S01-B2-M002": ALERT_COLOURS[0], "S01-B1-M001": ALERT_COLOURS[1]}
    (listed,) = [
        f["properties"]["a"] for f in data["features"] if f["properties"]["id"] == "S01-B2-M002"
    ]
    assert [a[:3] for a in listed] == [["Red", "2", "06-08 06:00"], ["Yellow", "1", "06-08 06:00"]]
    assert [f["properties"]["c"] for f in areas["features"]] == [ALERT_COLOURS[0]]
    assert areas["features"][0]["geometry"]["type"] == "Polygon"
    html = grid_map(grid, alerts=alerts).get_root().render()
    marker = "micro-grids under alerts"  # the alert layer's script
    assert marker in html and HOSTILE not in html  # reasons go in as data
    assert marker not in grid_map(grid).get_root().render()
    picked = alert_pick_map(grid, alerts).get_root().render()
    assert '"actions":"alert"' in picked and "add_to_alert" in picked and marker in picked
