"""The gridplan web UI: a Flask application factory; one blueprint per area in ``views/``.

Nothing is configured or loaded at import time. :func:`create_app` reads defaults, then
``config.py`` from the instance folder, then ``GRIDPLAN_*`` environment variables, then the
``test_config`` mapping, and creates the store (``gridplan.sqlite`` in the instance folder) on
first use. ``gridplan serve`` runs it under gunicorn (waitress with ``--workers 1`` and on
Windows).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

_MB = 1024 * 1024


def _secret_key(instance: Path) -> str:
    """Return the instance's session key, creating it (mode 600) on first start."""
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _check_dask_settings(config) -> None:
    """Stop the start on a ``DASK_*`` setting that cannot work, naming it and the fix."""
    from importlib.util import find_spec

    from gridplan._errors import InputError

    problems = []
    address = config.get("DASK_SCHEDULER")
    if address and not isinstance(address, str):
        problems.append(f"DASK_SCHEDULER={address!r} must be an address such as tcp://HOST:8786")
    elif address and find_spec("distributed") is None:
        problems.append(
            f"DASK_SCHEDULER={address!r} needs Dask's distributed on this server: "
            "python3 -m pip install dask distributed (or unset DASK_SCHEDULER)"
        )
    slots = config.get("DASK_PLAN_SLOTS")
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        problems.append(f"DASK_PLAN_SLOTS={slots!r} must be a whole number, 1 or more")
    timeout = config.get("DASK_CONNECT_TIMEOUT_S")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(f"DASK_CONNECT_TIMEOUT_S={timeout!r} must be a positive number of seconds")
    if problems:
        msg = "the web settings are invalid:\n- " + "\n- ".join(problems)
        raise InputError(msg)


def create_app(test_config: dict[str, Any] | None = None, *, instance_path: str | None = None):
    """Create the gridplan web application.

    Parameters
    ----------
    test_config
        Settings that override everything else (tests pass ``DATABASE``, ``TESTING`` ...).
    instance_path
        The instance folder (store, session key, network files); default Flask's, or the
        ``GRIDPLAN_INSTANCE`` environment variable.

    Settings (``config.py`` in the instance folder or ``GRIDPLAN_<NAME>`` variables)
    ----------------------------------------------------------------------------------
    DATABASE_URL
        A PostgreSQL + PostGIS store shared by many stations and web servers
        (``GRIDPLAN_DATABASE_URL=postgresql://gridplan_app@dbhost/gridplan``; default none: the
        SQLite file ``gridplan.sqlite`` in the instance folder, ``DATABASE``). Connect as a
        role that owns no tables (row-level security keeps each station's rows to it); the
        owner makes and upgrades the store with ``gridplan db upgrade``.
    TILES
        ``"none"`` (default: no background map, works on any intranet), ``"openstreetmap"``,
        or the XYZ URL template of the station's own tile server.
    TILES_ATTRIBUTION
        Attribution shown for ``TILES``.
    SESSION_COOKIE_SECURE
        Send the session cookie over HTTPS only (default on; browsers accept it on
        ``http://localhost``; set ``GRIDPLAN_SESSION_COOKIE_SECURE=false`` only on a plain-HTTP
        intranet).
    MAX_CONTENT_LENGTH
        Largest upload in bytes (default 50 MB).
    LOGIN_RATE_LIMIT
        Failed logins allowed for one user name from one client address (default
        ``"10 per minute"``): the lock a person meets after typos. It does not lock the other
        users behind the same address (a station's intranet often shows one address for all
        its computers).
    LOGIN_RATE_LIMIT_PER_USER
        Failed logins allowed for one user name from any address (default ``"30 per hour"``,
        against guessing a password from many hosts).
    LOGIN_RATE_LIMIT_PER_ADDRESS
        Failed logins allowed from one client address for any user names (default
        ``"100 per minute"``, against one host trying many names; high enough that one
        person's typos never lock a station's shared address). All three are written
        ``"N per second|minute|hour|day"`` and counted in the store, so they hold across
        server processes and restarts.
    PROXY_COUNT
        Reverse proxies in front of the app (default 0). Only with a count is the client
        address (audit log, login throttle) read from ``X-Forwarded-For``, that many entries
        from the right; without one a client could pick its address with that header.
    PERMANENT_SESSION_LIFETIME
        Seconds a login lasts at most (default 8 hours); logout, a password change and
        disabling the user end it earlier, on the server.
    PLAN_TIME_LIMIT_S
        Solver seconds per slice for plans made in the UI (default 10).
    PLAN_WORKERS
        Search processes per plan (default ``None``: every core the server may use).
    JOB_SLOTS, JOB_LEASE_S
        Jobs of one kind that run at once across the servers sharing the store (default 1),
        and the seconds without a heartbeat after which a running job counts as interrupted
        (default 30); see :mod:`gridplan.web.jobs`.
    PENDING_UPLOAD_MAX_AGE_S
        How long an upload waiting for the officer (column mapping, grid repairs) is kept in
        the instance folder (default 3 hours).
    IMPORT_MAX_MB, IMPORT_MAX_ROWS, IMPORT_MAX_CELLS, IMPORT_MAX_VERTICES
        What a reader takes from one uploaded file (defaults from
        :class:`~gridplan.io.limits.ReadLimits`): megabytes after decompression (1024),
        table rows or vector features (5,000,000), rows x columns (100,000,000), and
        coordinates of all geometries (5,000,000). A file over one is refused with a message
        naming the limit and this setting.
    IMPORT_MAX_RATIO
        How many times a ``.gz`` file or a member of a ``.zip``/``.xlsx`` may inflate
        (default 200; real exports compress 3-20 times): more is refused as a compression
        bomb before it is unpacked.
    IMPORT_TIME_LIMIT_S, IMPORT_MEMORY_MB
        Uploads are read in a job process of their own, never in a request: it is killed
        after ``IMPORT_TIME_LIMIT_S`` seconds (default 120) and may use ``IMPORT_MEMORY_MB``
        megabytes of address space (default 4096; gridplan itself takes about 700).
    IMPORT_SLOTS
        Import jobs that run at once across the servers sharing the store (default 2); they
        have slots of their own, so an import never waits behind a plan.
    DASK_SCHEDULER
        The address of a Dask scheduler (``GRIDPLAN_DASK_SCHEDULER=tcp://10.0.0.5:8786``;
        default none: plans are made in a job process of the server). With it, the plans
        officers ask for are computed on that cluster's workers, with one search process
        each (``PLAN_WORKERS`` is not used), and saved by the server; see
        :mod:`gridplan.web.jobs`. Needs ``distributed`` on the server and gridplan (the same
        version) on every worker.
    DASK_PLAN_SLOTS
        Plans that run at once across the servers when they go to the cluster (default 8,
        instead of ``JOB_SLOTS``). Each waits for its task in a job process of the server
        (about 300 MB); the scheduler queues tasks beyond its workers' threads.
    DASK_CONNECT_TIMEOUT_S
        Seconds a plan job waits for the scheduler to answer, then for a worker, before it
        fails with a message to the officer (default 10).

    Examples
    --------
    >>> app = create_app({"TESTING": True, "DATABASE": "/tmp/t.sqlite"})  # doctest: +SKIP
    """
    from flask import Flask

    from gridplan.io.limits import ReadLimits
    from gridplan.web import db
    from gridplan.web import security

    instance_path = instance_path or os.environ.get("GRIDPLAN_INSTANCE")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        DATABASE=str(instance / "gridplan.sqlite"),
        TILES="none",
        TILES_ATTRIBUTION="",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="gridplan_session",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
        LOGIN_RATE_LIMIT="10 per minute",
        LOGIN_RATE_LIMIT_PER_USER="30 per hour",
        LOGIN_RATE_LIMIT_PER_ADDRESS="100 per minute",
        PROXY_COUNT=0,
        PLAN_TIME_LIMIT_S=10.0,
        PENDING_UPLOAD_MAX_AGE_S=3 * 3600,
        PLAN_WORKERS=None,
        JOB_SLOTS=1,
        JOB_LEASE_S=30.0,
        JOBS_INLINE=False,
        IMPORT_MAX_MB=ReadLimits.max_bytes // _MB,
        IMPORT_MAX_ROWS=ReadLimits.max_rows,
        IMPORT_MAX_CELLS=ReadLimits.max_cells,
        IMPORT_MAX_VERTICES=ReadLimits.max_vertices,
        IMPORT_TIME_LIMIT_S=ReadLimits.max_seconds,
        IMPORT_MEMORY_MB=ReadLimits.max_memory_bytes // _MB,
        IMPORT_MAX_RATIO=ReadLimits.max_ratio,
        IMPORT_SLOTS=2,
        DASK_SCHEDULER=None,
        DASK_PLAN_SLOTS=8,
        DASK_CONNECT_TIMEOUT_S=10.0,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="UTC",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("GRIDPLAN")
    if app.config.get("DATABASE_URL"):
        app.config["DATABASE"] = str(app.config["DATABASE_URL"])
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    ReadLimits.from_mapping(app.config)  # a bad IMPORT_* setting stops the start, named
    _check_dask_settings(app.config)

    db.init_store(app.config["DATABASE"])
    db.init_app(app)
    security.init_app(app)

    from gridplan.web import auth
    from gridplan.web import i18n
    from gridplan.web import jobs
    from gridplan.web import localtime
    from gridplan.web import views

    i18n.init_app(app)
    localtime.init_app(app)
    auth.init_app(app)
    jobs.init_app(app)
    views.register(app)
    return app
