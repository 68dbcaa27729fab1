"""Browser helpers of the web tests: Debian's Chromium driven by Playwright.

Used by ``web/test_browser.py``, ``web/test_patrol_browser.py`` and ``test_quickstart.py``.
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
    """Serve ``app`` with waitress on a free port of localhost; yield its base URL."""
    import waitress

    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
    stopping = threading.Event()

    def run() -> None:
        try:
            srv.run()
        except (OSError, ValueError):  # the socket map closed under the loop at teardown
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{srv.effective_port}"
    finally:
        stopping.set()
        srv.close()
        thread.join(timeout=10)
