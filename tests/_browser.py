"""Browser helpers of the web tests: Debian's Chromium driven by Playwright.

Used by the browser tests under ``web/`` and ``test_quickstart.py``.
Call :func:`skip_without_browser` at module level before importing :mod:`playwright.sync_api`.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Records CSP violations in every frame, before any page script runs; they are also logged as
# console errors, which the watcher collects from every frame.
CSP_WATCH = """
window.__gpCsp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var v = e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
    e.sourceFile + ":" + e.lineNumber;
  window.__gpCsp.push(v);
  console.error("CSP violation: " + v);
});
"""


def skip_without_browser() -> None:
    """Skip the calling test module unless Playwright and Debian's Chromium are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(
            "needs the playwright Python package (pip install playwright)",
            allow_module_level=True,
        )
    if not CHROMIUM.exists():
        pytest.skip(
            f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
            allow_module_level=True,
        )


def map_frame(page):
    """The Frame of the page's ``#map-frame`` iframe, once its document has loaded."""
    frame = page.wait_for_selector("#map-frame").content_frame()
    frame.wait_for_load_state("load")
    return frame


@contextlib.contextmanager
def served(app, *, threads: int = 4):
    """Serve ``app`` on a free port of localhost in a thread; yield its base URL.

    Werkzeug's threaded server waits on its socket with poll(), not select(): late in a full
    test run the process holds more than 1,024 file descriptors, which select() (waitress)
    cannot watch. ``threads`` is kept for the callers; a thread serves each request.
    """
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="werkzeug", daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium():
    """Debian's Chromium launched by Playwright with :data:`ARGS`; yield the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def served_copy(database, instance: Path, secret: str):
    """The app on a copy of the store ``database`` in ``instance``, jobs as in production.

    Yields ``{"url", "database"}`` (the copy's path) while :func:`served` serves it.
    """
    import shutil

    from gridplan.web import create_app

    copy = instance / "gridplan.sqlite"
    shutil.copyfile(database, copy)
    app = create_app({"DATABASE": str(copy), "SECRET_KEY": secret}, instance_path=str(instance))
    with served(app) as url:
        yield {"url": url, "database": copy}
