"""Run the web app under a production WSGI server.

On Linux and macOS ``gridplan serve`` runs gunicorn with one worker process per core (up to
4), each with a pool of threads: one Python process cannot use more than one core, and a
station's 50 users at once would queue behind it. Everything workers share lives in the store
(jobs, login throttling, the audit log), so any worker can answer any request; each keeps its
own cache of what it has read. On Windows (no gunicorn) and with ``--workers 1`` it runs
waitress, a pure-Python server, in one process.
"""

from __future__ import annotations

import os
import sys


def gunicorn_available() -> bool:
    """Whether gunicorn can run here (it needs a POSIX system)."""
    if sys.platform == "win32":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def default_workers() -> int:
    """Worker processes ``gridplan serve`` starts: one per core, 2 to 4; 1 without gunicorn."""
    if not gunicorn_available():
        return 1
    return max(2, min(os.cpu_count() or 1, 4))


def run(app, *, host: str, port: int, workers: int, threads: int = 8) -> None:
    """Serve ``app`` on ``host:port`` until stopped (Ctrl+C or SIGTERM).

    ``workers`` > 1 runs gunicorn (worker processes forked from this one, threads in each);
    1 runs waitress with ``threads`` threads.
    """
    if workers > 1 and gunicorn_available():
        _run_gunicorn(app, host=host, port=port, workers=workers, threads=threads)
    else:
        from waitress import serve

        serve(app, host=host, port=port, threads=threads, ident="gridplan")


def _run_gunicorn(app, *, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # the app is made once, here, before the workers fork: start-up work (marking jobs a
        # stopped server left running as failed) runs once, not once per worker
        "preload_app": True,
        # a route-sheet PDF of a whole station-day takes a while
        "timeout": 300,
        "graceful_timeout": 20,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "gridplan",
    }

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    _Server().run()
