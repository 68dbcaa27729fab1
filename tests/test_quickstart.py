"""The README's quick start, as a new user runs it: ``gridplan serve --demo``, then a browser.

The server is the command itself in a subprocess with the shipped settings: a fresh instance
folder (first start: the demo is seeded), gunicorn with the default number of processes, the
default plan workers (every core), solver time and job settings; nothing is overridden (not
even the session cookie's ``Secure`` flag: Chromium sends Secure cookies to
``http://localhost``). In Debian's Chromium an officer logs in with the printed login, plans
one slice through the form, waits for it, pins one micro-grid and excludes another on the map,
re-plans, and downloads the route-sheet PDF. The server's log must stay free of tracebacks,
crashed or replaced workers and OpenMP fork warnings.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from _browser import ARGS
from _browser import CHROMIUM
from _browser import CSP_WATCH
from _browser import map_frame
from _browser import skip_without_browser

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

#: lines a healthy server never logs
BAD_LOG = re.compile(
    r"Traceback|OpenMP|daemonic|WORKER TIMEOUT|Worker \(pid:\d+\) (was sent|exited)|"
    r"internal error",
    re.IGNORECASE,
)
PLAN_DATE = "2024-06-10"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``gridplan serve --demo`` in its own session; its output is collected in a thread."""

    def __init__(self, cwd: Path, port: int):
        exe = shutil.which("gridplan")
        cmd = [exe] if exe else [sys.executable, "-c", "from gridplan.cli import main; main()"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPLAN_")}
        self.proc = subprocess.Popen(
            [*cmd, "serve", "--demo", "--port", str(port)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # its job and solver processes go with it at the end
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, prefix: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no line {prefix!r} from gridplan serve:\n{self.log}")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # job processes still running
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.reader.join(timeout=30)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("quickstart")
    port = _free_port()
    server = Server(cwd, port)
    try:
        # first start: the demo is seeded (about a minute), then the server starts
        server.wait_for_line("server:", timeout_s=600)
        url = f"http://localhost:{port}"
        for _ in range(150):
            try:
                with urllib.request.urlopen(url + "/login", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer:\n" + server.log)
        yield {"server": server, "url": url, "cwd": cwd}
    finally:
        server.stop()


def _login(log: str, role: str) -> tuple[str, str]:
    match = re.search(rf"^\s+(\S+)\s+(\S+)\s+{role}\s*$", log, re.MULTILINE)
    assert match, f"no {role} login printed:\n{log}"
    return match.group(1), match.group(2)


def test_the_first_start_prints_the_url_the_server_and_one_login_per_role(quickstart):
    log = quickstart["server"].log
    assert "first start: loading the demo station" in log
    assert f"gridplan web UI: {quickstart['url']}/" in log
    assert re.search(r"^server: gunicorn, [2-4] process\(es\) x 8 threads$", log, re.MULTILINE)
    for role in ("admin", "officer", "volunteer_lead", "analyst", "patroller"):
        _login(log, role)
    assert (quickstart["cwd"] / "instance" / "gridplan.sqlite").exists()


def test_an_officer_plans_pins_excludes_replans_and_prints(quickstart, tmp_path):
    server = quickstart["server"]
    username, password = _login(server.log, "officer")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            base_url=quickstart["url"],
            locale="zh-CN",
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        try:
            _plan_through_the_ui(page, username, password, tmp_path)
        finally:
            page.screenshot(path=tmp_path / "last.png", full_page=True)
            browser.close()
    assert problems == []
    bad = [line for line in server.lines if BAD_LOG.search(line)]
    assert bad == [], server.log


def _plan_through_the_ui(page, username: str, password: str, tmp_path: Path) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/plans/")
    page.fill("#plan-date", PLAN_DATE)
    boxes = page.locator("input[name=slices]")
    chosen = boxes.first.get_attribute("value")
    for k in range(1, boxes.count()):
        boxes.nth(k).uncheck()
    page.click("#plan-submit")
    expect(page).to_have_url(re.compile(r"/plans/jobs/\d+$"))
    page.wait_for_url(re.compile(r"/plans/\d+$"), timeout=300_000)
    first = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#plan-side h1 .badge")).to_have_text("v1")
    assert page.locator("#plan-side .slice-metrics").get_attribute("data-slice") == chosen

    frame = map_frame(page)
    frame.wait_for_function("window.gridplanMicroLayer !== undefined")
    stops = frame.locator(".gp-stop")
    assert stops.count() >= 2
    # a micro-grid's stops of two routes share one spot: the topmost marker takes a real click
    stops.first.dispatch_event("click")
    pin = frame.locator(".leaflet-popup-content button[data-gp-act=pin]").last
    pinned = pin.get_attribute("data-gp-id")
    pin.click()
    expect(page.locator("#pinned")).to_have_value(re.compile(rf"\b{re.escape(pinned)}\b"))
    excluded = None
    for k in range(1, stops.count()):
        frame.locator(".leaflet-popup-close-button").click()
        stops.nth(k).dispatch_event("click")
        button = frame.locator(".leaflet-popup-content button[data-gp-act=exclude]").last
        if button.get_attribute("data-gp-id") != pinned:
            excluded = button.get_attribute("data-gp-id")
            button.click()
            break
    assert excluded, "every stop of the plan is in the pinned micro-grid"
    expect(page.locator("#exclude")).to_have_value(re.compile(rf"\b{re.escape(excluded)}\b"))

    page.click("#plan-submit")
    page.wait_for_url(re.compile(r"/plans/(?!jobs)\d+$"), timeout=300_000)
    second = int(page.url.rsplit("/", 1)[1])
    assert second != first
    expect(page.locator("#plan-side h1 .badge")).to_have_text("v2")

    with page.expect_download(timeout=180_000) as info:
        page.click("#pdf-link")
    pdf = tmp_path / info.value.suggested_filename
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "波特兰中心示范警务室" in text and PLAN_DATE in text
    assert pinned in text and excluded not in text


def test_the_patroller_sees_a_route_today_on_the_phone_page(quickstart, tmp_path):
    """The demo plans the station's today too: trying the phone page now shows a route."""
    server = quickstart["server"]
    assert re.search(r"patrol plan for today \(\d{4}-\d{2}-\d{2}\) made", server.log)
    username, password = _login(server.log, "patroller")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            base_url=quickstart["url"], locale="zh-CN", viewport={"width": 390, "height": 844}
        )
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        try:
            page.goto("/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("form button[type=submit]")
            page.wait_for_url(re.compile(r"/patrol/$"))
            expect(page.locator("#no-routes")).to_have_count(0)
            expect(page.locator("li.stop").first).to_be_visible()
            assert page.locator("section.route").count() >= 1
        finally:
            page.screenshot(path=tmp_path / "phone.png", full_page=True)
            browser.close()
    assert problems == []
