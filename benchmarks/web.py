"""Web UI figures on a station of 1,000+ micro-grids: page weight, time to interactive, latency.

Builds a store in a temporary folder: the demo station's boundary cut into a square lattice of
``--cell-size`` metres by :func:`gridplan.geo.generate.generate_grid` (70 m: 1,133 micro-grids in 5
base grids), the demo's 47,907 incidents imported with
:func:`gridplan.geo.incidents.import_incidents`, hot spots from
:func:`gridplan.analysis.hotspots.compute_hotspots`, the demo street network (``--no-network``:
straight lines) and one plan over every slice (``--plan-time-limit`` solver seconds per slice). The
app is served as ``gridplan serve`` runs it (gunicorn, one process per core, 8 threads each; or
waitress with ``--workers 1``), in processes of its own (the load generator's threads would
otherwise share the server's interpreter lock). Then:

1. the first (cold: grid, hot spots and incidents read from the store, folium page rendered)
   and later (warm: cached page) responses of the grid map frame and the plan map frame;
2. in headless Chromium with an empty cache, for the grid map page and the plan page: bytes
   transferred over all resources (bodies and headers, from Playwright's request sizes) and the
   time from navigation start to the map's layers being ready in its frame (polled on each
   animation frame), with the browser's own navigation timing of the page and the frame;
   targets <= 1.5 MB and <= 1.5 s;
3. page by page (overview, map page, map frame, plans list, plan page, route sheets),
   ``--clients`` logged-in clients on loopback (threads, one keep-alive connection each) all
   requesting it ``--rounds`` times back to back (none starts a new request after
   ``--budget`` seconds): p50, p95 and max latency (time to the last byte) and throughput;
   target p95 <= 300 ms.

4. with ``--database-url URL`` (an empty PostgreSQL + PostGIS database, as its owner): the
   store copied into it (``gridplan db copy``) and step 3 again with the app on PostgreSQL
   (``--app-url``: connect as that role, which owns nothing; default the owner), for p95 on
   PostgreSQL beside SQLite.

Figures are printed, never asserted: the machine has 2 shared cores and they vary with load.

Usage::

    python benchmarks/web.py [--cell-size 70] [--clients 50] [--rounds 4] [--budget 20]
        [--plan-time-limit 1] [--no-network] [--no-browser] [--json]
        [--database-url postgresql://OWNER@HOST/DB [--app-url postgresql://APP@HOST/DB]]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

from gridplan.web import serving

PASSWORD = "benchmark-password"
TARGETS = {"payload_mb": 1.5, "tti_s": 1.5, "p95_ms": 300.0}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PLAN_DATE = "2024-06-08"  # a Saturday: the demo roster's volunteers work

# Run by the server process: the app on the store, waitress on a free port it prints.
SERVER = """
import sys
from gridplan.web import create_app
from gridplan.web import serving

database, instance, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
workers, port = int(sys.argv[4]), int(sys.argv[5])
app = create_app(
    {
        "DATABASE": database,
        "SECRET_KEY": "benchmark",
        # every client logs in as one officer from 127.0.0.1
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "LOGIN_RATE_LIMIT_PER_USER": "100000 per minute",
    },
    instance_path=instance,
)
print(port, flush=True)
serving.run(app, host="127.0.0.1", port=port, workers=workers, threads=threads)
"""

# In every frame: note when the map's micro-grid layer first has its layers (and, on a plan
# map, its stop markers), checked on each animation frame.
READY_WATCH = """
(function () {
  function check() {
    var layer = window.gridplanHotspotLayer || window.gridplanMicroLayer;
    var planMap = /\\/plans\\/\\d+\\/map/.test(location.pathname);
    if (layer && layer.getLayers().length > 0
        && (!planMap || document.querySelector('.gp-stop'))) {
      window.__gpReady = performance.timeOrigin + performance.now();
      return;
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""

NAV_TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {origin: performance.timeOrigin, ready: window.__gpReady || null,
          response_end: n.responseEnd, dom_content_loaded: n.domContentLoadedEventEnd,
          load: n.loadEventEnd};
}"""


# --------------------------------------------------------------------------- the station


def build_station(
    instance: Path,
    *,
    cell_size_m: float = 70.0,
    network: bool = True,
    slices: list[str] | None = None,
    plan_time_limit_s: float = 1.0,
    say=print,
) -> dict:
    """Fill a new store in ``instance`` with a lattice station on the demo boundary.

    Returns the database and instance paths, the plan id and the number of micro-grids. The
    station has one user, ``officer`` with password :data:`PASSWORD`.
    """
    import geopandas as gpd

    from gridplan.geo.generate import generate_grid
    from gridplan.network.graphs import save_network
    from gridplan.pipeline import find_demo_data
    from gridplan.pipeline import run_station
    from gridplan.web import store
    from gridplan.web.db import connect
    from gridplan.web.db import init_store

    data = find_demo_data(None)
    instance.mkdir(parents=True, exist_ok=True)
    database = instance / "gridplan.sqlite"
    init_store(database)
    con = connect(database)
    try:
        t = time.perf_counter()
        sid = store.add_station(con, (data / "station.toml").read_text("utf-8"), source="bench")
        cfg = store.station_config(con, sid)
        boundary = gpd.read_file(data / "boundaries" / "station.geojson")
        grid = generate_grid(boundary, cell_size_m=cell_size_m, config=cfg)
        n_micro = int((grid["level"] == "micro").sum())
        say(
            f"  grid: {n_micro:,} micro-grids of {cell_size_m:g} m "
            f"({time.perf_counter() - t:.1f} s)"
        )
        run = run_station(
            data,
            config=cfg,
            grid=grid,
            network=network,
            plan_date=PLAN_DATE,
            slices=slices,
            time_limit_s=plan_time_limit_s,
            seed=1,
        )
        sec = run.seconds
        grid_id, _ = store.save_grid(
            con, sid, grid, source_name=f"lattice-{cell_size_m:g}m", username="bench", report={}
        )
        result = run.imported
        store.save_incident_batch(con, sid, result, source_name="demo", username="bench")
        run_id = store.save_hotspots(
            con, sid, grid_id, run.hotspots, n_incidents=len(result.incidents), username="bench"
        )
        say(
            f"  {len(result.incidents):,} incidents, hot spots "
            f"({sec['import'] + sec['hotspots']:.1f} s)"
        )
        if run.network is not None:
            path = save_network(run.network, instance / "networks" / f"{sid}.gpkg")
            store.add_network(
                con, sid, str(path), fingerprint=run.network.fingerprint, source=run.streets.name
            )
            say(f"  street network ({sec['network']:.1f} s)")
        plan = run.plan
        plan_id, _ = store.save_plan(
            con, sid, plan, grid_id=grid_id, hotspot_run_id=run_id, params={}, username="bench"
        )
        n_stops = sum(len(r.stops) for s in plan.slices for r in s.routes)
        say(f"  plan {PLAN_DATE}: {len(plan.slices)} slices, {n_stops} stops ({sec['plan']:.1f} s)")
        store.add_user(con, "officer", PASSWORD, station_id=sid, role="officer")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return {
        "database": database,
        "instance": instance,
        "plan_id": plan_id,
        "n_micro": n_micro,
    }


def main_pages(plan_id: int) -> dict[str, str]:
    """The pages of the latency run: name -> path."""
    return {
        "overview": "/",
        "map page": "/map/",
        "map frame": "/map/frame",
        "plans list": "/plans/",
        "plan page": f"/plans/{plan_id}",
        "sheets": f"/plans/{plan_id}/sheets",
    }


class Server(NamedTuple):
    """A running server process: its base URL, port and process."""

    url: str
    port: int
    process: subprocess.Popen


@contextlib.contextmanager
def serve(station: dict, *, threads: int = 8, workers: int = 1) -> Iterator[Server]:
    """Run the app on ``station``'s store as ``gridplan serve`` does, in its own process(es)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    log = open(station["instance"] / "server.log", "wb")  # closed in finally
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER,
            str(station["database"]),
            str(station["instance"]),
            str(threads),
            str(workers),
            str(free),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            log.flush()
            msg = (
                f"the server process did not start (printed {line!r}); see "
                f"{station['instance'] / 'server.log'}"
            )
            raise RuntimeError(msg)
        port = int(line)
        _wait_for_port(port)
        yield Server(url=f"http://localhost:{port}", port=port, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        log.close()


def _wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    msg = f"the server did not listen on port {port} within {timeout_s:g} s"
    raise RuntimeError(msg)


# --------------------------------------------------------------------------- HTTP clients


class Client:
    """A logged-in HTTP client on one keep-alive connection, keeping its cookies."""

    _CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Host": f"localhost:{self.port}", "Accept-Language": "zh-CN,zh;q=0.9"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # the server closed an idle keep-alive connection: open a new one, as browsers do
            self.reconnect()
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        status, html = self.request("GET", "/login")
        match = self._CSRF.search(html.decode("utf-8"))
        if status != 200 or not match:
            msg = f"GET /login answered {status} without a CSRF token"
            raise RuntimeError(msg)
        form = {"username": username, "password": password, "csrf_token": match.group(1)}
        status, _ = self.request("POST", "/login", urlencode(form))
        if status != 302:
            msg = f"logging in as {username!r} answered {status}, not a redirect: wrong password?"
            raise RuntimeError(msg)

    def timed_get(self, path: str) -> tuple[int, float, int]:
        """(status, seconds to the last byte, body bytes) of GET ``path``."""
        t = time.perf_counter()
        status, data = self.request("GET", path)
        return status, time.perf_counter() - t, len(data)

    def reconnect(self) -> None:
        """Drop the connection (after an error); the next request opens a new one."""
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def close(self) -> None:
        self.conn.close()


def frame_render_times(server: Server, paths: dict[str, str], *, warm_runs: int = 5) -> dict:
    """Cold (first) and warm (median of later) response times of ``paths`` on a fresh server."""
    client = Client(server.port)
    client.log_in("officer")
    out = {}
    try:
        for name, path in paths.items():
            status, cold, size = client.timed_get(path)
            warm = [client.timed_get(path)[1] for _ in range(warm_runs)]
            out[name] = {
                "status": status,
                "bytes": size,
                "cold_s": cold,
                "warm_s": statistics.median(warm),
            }
    finally:
        client.close()
    return out


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[k]


def load_test(
    server: Server,
    pages: dict[str, str],
    *,
    clients: int,
    rounds: int,
    budget_s: float = 20.0,
) -> dict:
    """Latency of each page while ``clients`` logged-in clients request it at once.

    Clients log in first (not timed). Then, page by page, all of them start together and each
    GETs the page ``rounds`` times, back to back; a client starts no new request once the page
    has run ``budget_s`` seconds (so a slow page gets at least one request per client, not
    ``rounds``).
    """
    logged: list[Client] = []
    errors: list[str] = []
    lock = threading.Lock()

    def log_in() -> None:
        try:
            c = Client(server.port)
            c.log_in("officer")
        except Exception as exc:  # reported as a figure
            with lock:
                errors.append(f"login: {exc}")
            return
        with lock:
            logged.append(c)

    threads = [threading.Thread(target=log_in) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    per_page = {name: _one_page(logged, path, rounds, budget_s) for name, path in pages.items()}
    for c in logged:
        c.close()
    return {
        "clients": len(logged),
        "rounds": rounds,
        "budget_s": budget_s,
        "pages": per_page,
        "errors": (errors + [e for p in per_page.values() for e in p.pop("errors")])[:10],
    }


def _one_page(clients: list[Client], path: str, rounds: int, budget_s: float) -> dict:
    """All ``clients`` GET ``path`` at once, ``rounds`` times each (see :func:`load_test`)."""
    times: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []
    bad = [0]
    lock = threading.Lock()
    t0 = [0.0]
    # the clock starts when the last client is warmed up and all are released together
    start = threading.Barrier(
        len(clients) + 1, action=lambda: t0.__setitem__(0, time.perf_counter())
    )

    def run(c: Client) -> None:
        # one untimed request each first: every server process has then made and cached the
        # page (cold renders are measured on their own by frame_render_times)
        with contextlib.suppress(OSError, http.client.HTTPException):
            c.request("GET", path)
        start.wait()
        for k in range(rounds):
            if k and time.perf_counter() - t0[0] > budget_s:
                break
            try:
                status, took, size = c.timed_get(path)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    bad[0] += 1
                    errors.append(f"{path}: {exc}")
                c.reconnect()
                continue
            with lock:
                times.append(took)
                sizes.append(size)
                bad[0] += status != 200

    workers = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in workers:
        t.start()
    start.wait()
    for t in workers:
        t.join()
    wall = time.perf_counter() - t0[0]
    return {
        "path": path,
        "requests": len(times),
        "not_ok": bad[0],
        "bytes": max(sizes, default=0),
        "seconds": wall,
        "requests_per_s": len(times) / wall if wall else None,
        "p50_ms": 1000 * percentile(times, 0.50) if times else None,
        "p95_ms": 1000 * percentile(times, 0.95) if times else None,
        "max_ms": 1000 * max(times) if times else None,
        "errors": errors,
    }


# --------------------------------------------------------------------------- the browser


def chromium_available() -> bool:
    """Whether Playwright and Debian's Chromium are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def measure_pages(server: Server, pages: dict[str, str], *, runs: int = 3) -> dict:
    """Bytes transferred and time to interactive of each page, with an empty cache each run.

    Each run is a new browser context, logged in through its API requests (which share the
    context's cookies, not its cache), so the page loads every resource from the server.
    """
    from playwright.sync_api import sync_playwright

    out: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, path in pages.items():
                samples = [_measure_once(browser, server, path) for _ in range(runs)]
                out[name] = {
                    "path": path,
                    "runs": runs,
                    "bytes": statistics.median(s["bytes"] for s in samples),
                    "requests": samples[0]["requests"],
                    "largest": samples[0]["largest"],
                    "tti_s": statistics.median(s["tti_s"] for s in samples),
                    "wall_s": statistics.median(s["wall_s"] for s in samples),
                    "page_load_s": statistics.median(s["page_load_s"] for s in samples),
                    "frame_response_end_s": statistics.median(
                        s["frame_response_end_s"] for s in samples
                    ),
                    "frame_load_s": statistics.median(s["frame_load_s"] for s in samples),
                }
        finally:
            browser.close()
    return out


def _measure_once(browser, server: Server, path: str) -> dict:
    context = browser.new_context(
        base_url=server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    try:
        html = context.request.get("/login").text()
        token = Client._CSRF.search(html).group(1)
        resp = context.request.post(
            "/login",
            form={"username": "officer", "password": PASSWORD, "csrf_token": token},
            max_redirects=0,
        )
        if resp.status != 302:
            msg = f"browser login answered {resp.status}"
            raise RuntimeError(msg)
        context.add_init_script(READY_WATCH)
        page = context.new_page()
        finished = []
        page.on("requestfinished", lambda req: finished.append(req))
        t0 = time.perf_counter()
        page.goto(path)
        frame = page.wait_for_selector("#map-frame").content_frame()
        frame.wait_for_function("window.__gpReady !== undefined", timeout=60_000)
        wall = time.perf_counter() - t0
        frame.wait_for_load_state("load")
        page.wait_for_load_state("load")
        top, inner = page.evaluate(NAV_TIMING), frame.evaluate(NAV_TIMING)
        sizes = []
        for req in finished:
            s = req.sizes()
            sizes.append((s["responseBodySize"] + s["responseHeadersSize"], req.url))
        shift = inner["origin"] - top["origin"]  # frame times -> the page's clock, ms
        return {
            "bytes": sum(n for n, _ in sizes),
            "requests": len(sizes),
            "largest": [(n, u.replace(server.url, "")) for n, u in sorted(sizes, reverse=True)[:3]],
            "tti_s": (inner["ready"] - top["origin"]) / 1000,
            "wall_s": wall,
            "page_load_s": top["load"] / 1000,
            "frame_response_end_s": (shift + inner["response_end"]) / 1000,
            "frame_load_s": (shift + inner["load"]) / 1000,
        }
    finally:
        context.close()


# --------------------------------------------------------------------------- report


def machine_note() -> str:
    """Cores and load of this machine, for reading the figures."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores (shared), load average {load}; Python {sys.version.split()[0]}"


def print_report(figures: dict) -> None:
    """Print the figures as tables with the targets."""
    print(f"\nstation: {figures['n_micro']:,} micro-grids; {figures['machine']}")
    frames = figures["frames"]
    print("\nmap frames, cold (first render) vs warm (cached):")
    print(f"  {'frame':<16}{'bytes':>11}{'cold s':>9}{'warm s':>9}")
    for name, f in frames.items():
        print(f"  {name:<16}{f['bytes']:>11,}{f['cold_s']:>9.2f}{f['warm_s']:>9.3f}")
    pages = figures.get("browser")
    if pages:
        print("\nheadless Chromium, empty cache (median of runs):")
        print(
            f"  {'page':<12}{'MB':>7}{'reqs':>6}{'TTI s':>8}{'wall s':>8}{'load s':>8}"
            f"{'frame resp s':>14}{'frame load s':>14}"
        )
        for name, p in pages.items():
            print(
                f"  {name:<12}{p['bytes'] / 1e6:>7.2f}{p['requests']:>6}{p['tti_s']:>8.2f}"
                f"{p['wall_s']:>8.2f}{p['page_load_s']:>8.2f}{p['frame_response_end_s']:>14.2f}"
                f"{p['frame_load_s']:>14.2f}"
            )
            biggest = ", ".join(f"{u} {n / 1e6:.2f} MB" for n, u in p["largest"])
            print(f"  {'':<12}largest: {biggest}")
        for name, p in pages.items():
            ok_mb = p["bytes"] / 1e6 <= TARGETS["payload_mb"]
            ok_s = p["tti_s"] <= TARGETS["tti_s"]
            print(f"  {'PASS' if ok_mb else 'FAIL'}  {name} payload <= {TARGETS['payload_mb']} MB")
            print(
                f"  {'PASS' if ok_s else 'FAIL'}  {name} time to interactive "
                f"<= {TARGETS['tti_s']} s"
            )
    else:
        print(f"\nheadless Chromium: {figures.get('browser_skipped', 'not run')}")
    load = figures["load"]
    print(
        f"\n{load['clients']} concurrent clients per page, up to {load['rounds']} requests each "
        f"(no new one after {load['budget_s']:g} s), {figures.get('server', 'waitress')} "
        f"{figures.get('workers', 1)} process(es) x {figures['threads']} threads, loopback:"
    )
    print(
        f"  {'page':<12}{'bytes':>10}{'reqs':>6}{'not ok':>7}{'req/s':>7}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
    )
    for name, p in load["pages"].items():
        print(
            f"  {name:<12}{p['bytes']:>10,}{p['requests']:>6}{p['not_ok']:>7}"
            f"{p['requests_per_s']:>7.1f}{p['p50_ms']:>9.0f}{p['p95_ms']:>9.0f}{p['max_ms']:>9.0f}"
        )
    for name, p in load["pages"].items():
        ok = p["p95_ms"] <= TARGETS["p95_ms"]
        print(f"  {'PASS' if ok else 'FAIL'}  {name} p95 <= {TARGETS['p95_ms']:.0f} ms")
    for e in load["errors"]:
        print(f"  error: {e}")
    pg = figures.get("load_postgresql")
    if pg:
        print("\nthe same clients with the store on PostgreSQL (p95 ms: SQLite -> PostgreSQL):")
        for name, p in pg["pages"].items():
            before = load["pages"].get(name, {}).get("p95_ms", float("nan"))
            print(f"  {name:<12}{before:>9.0f}{p['p95_ms']:>9.0f}   ({p['not_ok']} not ok)")
        for e in pg["errors"]:
            print(f"  error: {e}")


def _load_on_postgres(args, station: dict, pages: dict, *, say=print) -> dict:
    """Copy the station's store into ``args.database_url`` and run the clients on it."""
    from urllib.parse import urlsplit

    from gridplan.web import schema_tool

    say("copying the store into PostgreSQL ...")
    schema_tool.upgrade(args.database_url)
    schema_tool.copy_store(str(station["database"]), args.database_url)
    app_url = args.app_url or args.database_url
    if args.app_url:
        schema_tool.grant(args.database_url, urlsplit(args.app_url).username)
    on_pg = {**station, "database": app_url}
    with serve(on_pg, threads=args.threads, workers=args.workers) as server:
        say(f"{args.clients} clients per page, store on PostgreSQL ...")
        return load_test(
            server, pages, clients=args.clients, rounds=args.rounds, budget_s=args.budget
        )


def run(args: argparse.Namespace, *, say=print) -> dict:
    """Build the station, serve it and measure; return the figures."""
    with tempfile.TemporaryDirectory(prefix="gridplan-bench-web-") as tmp:
        say(f"building the station ({args.cell_size:g} m cells) ...")
        station = build_station(
            Path(tmp) / "instance",
            cell_size_m=args.cell_size,
            network=not args.no_network,
            slices=args.slices,
            plan_time_limit_s=args.plan_time_limit,
            say=say,
        )
        figures: dict = {
            "n_micro": station["n_micro"],
            "machine": machine_note(),
            "threads": args.threads,
            "workers": args.workers,
            "server": "gunicorn"
            if args.workers > 1 and serving.gunicorn_available()
            else "waitress",
        }
        pages = main_pages(station["plan_id"])
        with serve(station, threads=args.threads, workers=args.workers) as server:
            say("timing the map frames ...")
            figures["frames"] = frame_render_times(
                server,
                {
                    "grid map frame": "/map/frame",
                    "plan map frame": f"/plans/{station['plan_id']}/map",
                },
            )
            if args.no_browser:
                figures["browser_skipped"] = "skipped (--no-browser)"
            elif not chromium_available():
                figures["browser_skipped"] = (
                    f"skipped: needs playwright and {CHROMIUM} (apt-get install chromium)"
                )
            else:
                say("loading the map pages in Chromium ...")
                figures["browser"] = measure_pages(
                    server,
                    {"grid map": "/map/", "plan page": pages["plan page"]},
                    runs=args.browser_runs,
                )
            say(f"{args.clients} clients per page ...")
            figures["load"] = load_test(
                server, pages, clients=args.clients, rounds=args.rounds, budget_s=args.budget
            )
        if args.database_url:
            figures["load_postgresql"] = _load_on_postgres(args, station, pages, say=say)
        figures["machine_after"] = machine_note()
    return figures


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Web UI figures on a 1,000+ micro-grid station: payload and time to "
        "interactive of the map pages in headless Chromium, map frame cold vs warm, and p95 "
        "latency of the main pages under concurrent clients (waitress, loopback).",
    )
    ap.add_argument("--cell-size", type=float, default=70.0, help="micro-grid edge in metres")
    ap.add_argument("--no-network", action="store_true", help="plan with straight lines")
    ap.add_argument("--slices", nargs="+", default=None, help="slices of the plan (default: all)")
    ap.add_argument("--plan-time-limit", type=float, default=1.0, help="solver s per slice")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients")
    ap.add_argument("--rounds", type=int, default=4, help="requests of each client per page")
    ap.add_argument(
        "--budget", type=float, default=20.0, help="seconds per page before clients stop"
    )
    ap.add_argument("--threads", type=int, default=8, help="threads per server process")
    ap.add_argument(
        "--workers",
        type=int,
        default=serving.default_workers(),
        help="server processes (default: as gridplan serve, one per core, 2 to 4)",
    )
    ap.add_argument("--browser-runs", type=int, default=3, help="cold-cache loads per page")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium figures")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--database-url",
        default=None,
        help="an empty PostgreSQL + PostGIS database (owner's URL): also measure the clients "
        "with the store there",
    )
    ap.add_argument(
        "--app-url", default=None, help="the web's role on that database (owns nothing)"
    )
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    say = (lambda _line: None) if args.json else print
    figures = run(args, say=say)
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        print_report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
