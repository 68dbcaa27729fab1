"""The embedded store: one SQLite file in the instance folder.

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
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from gridplan._errors import GridplanError

SCHEMA_VERSION = 1


class StoreError(GridplanError, RuntimeError):
    """The store file is missing, damaged, or from another gridplan version."""


def now() -> str:
    """Return the current UTC time as ISO 8601 text (the store's timestamps)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the store at ``path`` (autocommit mode; use :func:`transaction` to write)."""
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA busy_timeout = 30000")
    return con


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one transaction: all of its writes land, or none do."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def init_store(path: str | Path) -> bool:
    """Create the store's tables at ``path`` unless they exist; return whether it was created.

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
            if row is None or int(row[0]) != SCHEMA_VERSION:
                found = row[0] if row else "none"
                msg = (
                    f"{path}: store schema version {found}, this gridplan reads version "
                    f"{SCHEMA_VERSION}; use the gridplan version that made it, or start with a "
                    "new instance folder"
                )
                raise StoreError(msg)
            return False
        if tables:
            msg = (
                f"{path} is an SQLite file with other tables ({', '.join(sorted(tables))}), not "
                "a gridplan store; point the instance folder elsewhere"
            )
            raise StoreError(msg)
        schema = resources.files("gridplan.web").joinpath("schema.sql").read_text("utf-8")
        con.executescript("BEGIN;" + schema + "COMMIT;")
        with transaction(con):
            con.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)",
                (str(SCHEMA_VERSION), now()),
            )
        return True
    except sqlite3.DatabaseError as exc:
        msg = f"{path} is not a readable SQLite store ({exc}); move it away and start again"
        raise StoreError(msg) from exc
    finally:
        con.close()


_THREAD = threading.local()


def get_db() -> sqlite3.Connection:
    """Return this server thread's connection to the app's store, opening it on first use.

    Server threads live for many requests, so each keeps one connection open rather than
    opening one per request (connecting costs about as much as a small page's queries). A
    request that ends inside a transaction (an error half-way) is rolled back at teardown.
    """
    from flask import current_app

    path = current_app.config["DATABASE"]
    cons = getattr(_THREAD, "cons", None)
    if cons is None:
        cons = _THREAD.cons = {}
    con = cons.get(path)
    if con is None:
        con = cons[path] = connect(path)
    return con


def close_db(_exc: BaseException | None = None) -> None:
    """End the request: roll back a transaction an error left open."""
    from flask import current_app

    con = getattr(_THREAD, "cons", {}).get(current_app.config["DATABASE"])
    if con is not None and con.in_transaction:
        con.execute("ROLLBACK")


def init_app(app) -> None:
    """Register the teardown that ends each request's use of the store."""
    app.teardown_appcontext(close_db)
