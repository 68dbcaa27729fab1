"""The store: one SQLite file in the instance folder, or a PostgreSQL database.

``DATABASE`` (a path) is the embedded SQLite store of one station; ``DATABASE_URL``
(``postgresql://...``, setting ``GRIDPLAN_DATABASE_URL``) a PostgreSQL + PostGIS store that
several web servers and many stations share (:mod:`gridplan.web.dialect`). The schema's
versions are Alembic's on both (:mod:`gridplan.web.schema_tool`).

Like flaskr's ``db.py``, :func:`get_db` gives views their connection and ``init_app`` ends
each request's use of it; here each server thread keeps one connection open across requests.
Every write runs in :func:`transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any
error), so a failed import or a crash mid-write leaves the store as it was. WAL journaling lets
the background planner write while pages read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from gridplan._errors import GridplanError

SCHEMA_VERSION = 7


class StoreError(GridplanError, RuntimeError):
    """The store file is missing, damaged, or from another gridplan version."""


def now() -> str:
    """Return the current UTC time as ISO 8601 text (the store's timestamps)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def login_key(username: str) -> str:
    """Return the key a user name is looked up, kept unique and throttled under.

    Surrounding white space is dropped, then the name is NFKC-normalised and case-folded
    (NFKC again after the fold), so ``" Admin "``, ``"ADMIN"`` and the full-width ``"ａｄｍｉｎ"``
    are one login: no padding, case or look-alike form of a name escapes its login throttle,
    and no second user can take a name that looks the same.
    """
    text = unicodedata.normalize("NFKC", username).strip()
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def connect(path: str | Path, *, station: str | None = None):
    """Open the store at ``path`` (autocommit mode; use :func:`transaction` to write).

    ``path`` is an SQLite file or a ``postgresql://`` URL. ``station`` scopes a PostgreSQL
    connection to one station's rows (row-level security); the default sees every station
    (the command line, the job runner). On SQLite the application alone keeps stations apart.
    """
    from gridplan.web import dialect

    if dialect.is_postgres(str(path)):
        return dialect.connect_pg(str(path), station=station or dialect.ALL_STATIONS)
    path = dialect.sqlite_path(str(path))
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA busy_timeout = 30000")
    return con


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one transaction: all of its writes land, or none do.

    One writer at a time on both back-ends: SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's
    advisory lock (:data:`gridplan.web.dialect.WRITE_LOCK_KEY`).
    """
    if getattr(con, "dialect", "sqlite") == "postgresql":
        con.begin()
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        con.commit()
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def init_store(path: str | Path) -> bool:
    """Create or upgrade the store at ``path`` (file or URL); return whether it was created.

    An SQLite store is created or upgraded here (a station has no administrator to run an
    upgrade). A PostgreSQL store must be at the newest revision already: the web's role owns
    no tables, so ``gridplan db upgrade`` (as the owner) makes and upgrades it.

    Raises
    ------
    StoreError
        If the file is not a gridplan store or has another schema version.
    """
    import sqlalchemy.exc

    from gridplan.web import dialect
    from gridplan.web import schema_tool

    if dialect.is_postgres(str(path)):
        schema_tool.check_current(str(path))
        return False
    file = Path(dialect.sqlite_path(str(path)))
    existed = file.exists() and file.stat().st_size > 0
    try:
        schema_tool.upgrade(str(file))
    except (sqlite3.DatabaseError, sqlalchemy.exc.DatabaseError) as exc:
        msg = f"{file} is not a readable SQLite store ({exc}); move it away and start again"
        raise StoreError(msg) from exc
    con = connect(file)
    try:
        con.execute("PRAGMA journal_mode = WAL")
    finally:
        con.close()
    return not existed


def upgrade_legacy(path: str | Path) -> None:
    """Bring an SQLite store made before Alembic to schema version 7 (hand-written steps).

    Raises
    ------
    StoreError
        If the file is not a gridplan store or has another schema version.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            found = int(row[0]) if row is not None and str(row[0]).isdigit() else None
            if found is None or found > SCHEMA_VERSION or found not in _upgradable():
                msg = (
                    f"{path}: store schema version {row[0] if row else 'none'}, this gridplan "
                    f"reads versions {min(_upgradable())} to {SCHEMA_VERSION}; use the gridplan "
                    "version that made it, or start with a new instance folder"
                )
                raise StoreError(msg)
            if found < SCHEMA_VERSION:
                _upgrade(con, path, found)
    except sqlite3.DatabaseError as exc:
        msg = f"{path} is not a readable SQLite store ({exc}); move it away and start again"
        raise StoreError(msg) from exc
    finally:
        con.close()


def _upgradable() -> set[int]:
    """Schema versions this gridplan reads: the current one and those it can upgrade."""
    from gridplan.web.migrations import STEPS

    versions = {SCHEMA_VERSION}
    v = SCHEMA_VERSION - 1
    while v in STEPS:
        versions.add(v)
        v -= 1
    return versions


def _upgrade(con: sqlite3.Connection, path: Path, found: int) -> None:
    """Upgrade the store at ``path`` from schema version ``found``, keeping a copy first."""
    from gridplan.web.migrations import STEPS

    backup = path.with_name(f"{path.name}.v{found}.bak")
    if not backup.exists():
        dest = sqlite3.connect(backup)
        try:
            con.backup(dest)
        finally:
            dest.close()
    # a table rebuild needs foreign keys off, which SQLite ignores inside a transaction
    con.execute("PRAGMA foreign_keys = OFF")
    # steps may call gridplan's own functions (the user names' login keys)
    con.create_function("gridplan_login_key", 1, login_key, deterministic=True)
    try:
        script = "".join(STEPS[v] for v in range(found, SCHEMA_VERSION))
        con.executescript(
            "BEGIN IMMEDIATE;"
            + script
            + f"UPDATE meta SET value='{SCHEMA_VERSION}' WHERE key='schema_version';"
            + "COMMIT;"
        )
    except sqlite3.DatabaseError:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.execute("PRAGMA foreign_keys = ON")
    bad = con.execute("PRAGMA foreign_key_check").fetchall()
    if bad:  # pragma: no cover - the steps keep every reference
        msg = f"{path}: the upgrade left {len(bad)} broken references; restore {backup}"
        raise StoreError(msg)


_THREAD = threading.local()


def get_db() -> sqlite3.Connection:
    """Return the request's connection to the app's store, opening it on first use.

    SQLite: server threads live for many requests, so each keeps one connection open rather
    than opening one per request (connecting costs about as much as a small page's queries).
    PostgreSQL: the request takes a connection from the engine's pool and gives it back at
    teardown, scoped to the logged-in user's station (:func:`scope_station`). A request that
    ends inside a transaction (an error half-way) is rolled back at teardown.
    """
    from flask import current_app
    from flask import g

    from gridplan.web import dialect

    path = current_app.config["DATABASE"]
    if dialect.is_postgres(path):
        con = g.get("_gridplan_db")
        if con is None:
            con = g._gridplan_db = connect(path)
        con.station = g.get("db_station", dialect.ALL_STATIONS)
        return con
    cons = getattr(_THREAD, "cons", None)
    if cons is None:
        cons = _THREAD.cons = {}
    con = cons.get(path)
    if con is None:
        con = cons[path] = connect(path)
    return con


def scope_station(station_id: str) -> None:
    """Scope the rest of the request's store use to ``station_id`` (the logged-in user's).

    On PostgreSQL the database's row-level security then shows and takes that station's rows
    only, whatever a statement says; on SQLite the application's station filters do it alone.
    """
    from flask import g

    g.db_station = str(station_id)
    get_db()


def scope_stations(station_ids) -> None:
    """Scope the rest of the request's store use to a bureau user's stations.

    On PostgreSQL row-level security then shows those stations' rows and no others
    (:func:`gridplan.web.dialect.station_scope`); on SQLite the bureau views read each station
    by its id, as every view does.
    """
    from flask import g

    from gridplan.web import dialect

    g.db_station = dialect.station_scope(station_ids)
    get_db()


def close_db(_exc: BaseException | None = None) -> None:
    """End the request: roll back a transaction an error left open; return a pooled one."""
    from flask import current_app
    from flask import g

    pooled = g.pop("_gridplan_db", None)
    if pooled is not None:
        pooled.close()  # rolls back an open transaction first
        return
    con = getattr(_THREAD, "cons", {}).get(current_app.config["DATABASE"])
    if con is not None and con.in_transaction:
        con.execute("ROLLBACK")


def init_app(app) -> None:
    """Register the teardown that ends each request's use of the store."""
    app.teardown_appcontext(close_db)
