"""Schema versions of the web store, on SQLite and PostgreSQL alike, by Alembic.

The revisions live in ``gridplan/web/store_versions/versions``; ``v0007_baseline`` is the
store as gridplan's hand-written migrations (:mod:`gridplan.web.migrations`) left it at schema
version 7. :func:`upgrade` (``gridplan db upgrade``) brings a store to the newest revision:

- a new store (no tables) is created by the revisions;
- an SQLite store of an older gridplan (a ``meta`` table, no ``alembic_version``) is first
  upgraded to version 7 the old way (a copy kept beside it, :func:`gridplan.web.db.init_store`'s
  checks and messages) and then *stamped* with the baseline, so its rows are never rewritten;
- a store that Alembic knows is upgraded from its revision.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from gridplan.web import dialect
from gridplan.web.db import SCHEMA_VERSION
from gridplan.web.db import StoreError
from gridplan.web.db import now

#: the revision of schema version 7 (the baseline every store is stamped with)
BASELINE = "0007"


def _config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "gridplan.web:store_versions")
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision this gridplan knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()


def _statements(script: str) -> list[str]:
    """The statements of an SQL script, split where SQLite says a statement is complete."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return [s for s in out if s.strip(" \n;")]


def create_baseline(bind) -> None:
    """Create the schema-7 store on ``bind`` (an Alembic revision's connection)."""
    schema = resources.files("gridplan.web").joinpath("schema.sql").read_text("utf-8")
    if bind.dialect.name == "postgresql":
        script = dialect.pg_schema(schema) + dialect.POSTGIS_DDL + dialect.rls_ddl()
        bind.exec_driver_sql(script.replace("%", "%%"))
    else:
        for statement in _statements(schema):
            bind.exec_driver_sql(statement)
    bind.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('created_at', ?)"
        if bind.dialect.name == "sqlite"
        else "INSERT INTO meta (key, value) VALUES ('schema_version', %s), ('created_at', %s)",
        (str(SCHEMA_VERSION), now()),
    )


#: tables of PostGIS itself, in a store's database before gridplan's
_EXTENSION_TABLES = frozenset({"spatial_ref_sys"})


def _tables(connection) -> set[str]:
    import sqlalchemy

    return set(sqlalchemy.inspect(connection).get_table_names()) - _EXTENSION_TABLES


def current(database: str) -> str | None:
    """The store's Alembic revision (``None``: none yet, a new or pre-Alembic store)."""
    from alembic.runtime.migration import MigrationContext

    with dialect.engine(database).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: str, *, revision: str = "head") -> str:
    """Bring the store ``database`` (a path or URL) to ``revision``; return the revision.

    Raises
    ------
    StoreError
        When the database holds other tables than a gridplan store's, or a store of a schema
        version this gridplan cannot read.
    """
    from alembic import command

    if not dialect.is_postgres(database):
        Path(dialect.sqlite_path(database)).parent.mkdir(parents=True, exist_ok=True)
    eng = dialect.engine(database)
    with eng.connect() as connection:
        tables = _tables(connection)
        if "alembic_version" in tables:
            _check_known(connection, database)
    legacy = bool(tables) and "alembic_version" not in tables
    if legacy:
        if "meta" not in tables:
            msg = (
                f"{dialect.redact(database)} holds other tables "
                f"({', '.join(sorted(tables)[:8])}), not a gridplan store; use an empty "
                "database or another instance folder"
            )
            raise StoreError(msg)
        if dialect.is_postgres(database):
            msg = (
                f"{dialect.redact(database)}: a gridplan store without schema versions; "
                "it was not made by gridplan db upgrade. Start with an empty database"
            )
            raise StoreError(msg)
        _legacy_to_baseline(database)
    with eng.begin() as connection:
        if legacy:
            command.stamp(_config(connection), BASELINE)
        command.upgrade(_config(connection), revision)
    return current(database) or ""


def _check_known(connection, database: str) -> None:
    """Raise StoreError for a store of a newer gridplan (a revision or version unknown here)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    found = MigrationContext.configure(connection).get_current_revision()
    known = {s.revision for s in ScriptDirectory.from_config(_config(None)).walk_revisions()}
    row = connection.exec_driver_sql("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = row[0] if row is not None else "none"
    if (
        (found is not None and found not in known)
        or not str(version).isdigit()
        or (int(version) > SCHEMA_VERSION)
    ):
        msg = (
            f"{dialect.redact(database)}: store schema revision {found} (version {version}), "
            f"this gridplan reads revisions up to {head()} (version {SCHEMA_VERSION}); use the "
            "gridplan version that made it, or start with a new instance folder"
        )
        raise StoreError(msg)


def _legacy_to_baseline(database: str) -> None:
    """Upgrade a pre-Alembic SQLite store to schema version 7 by the hand-written steps."""
    from gridplan.web.db import upgrade_legacy

    upgrade_legacy(dialect.sqlite_path(database))


def check_current(database: str) -> None:
    """Raise StoreError unless the PostgreSQL store ``database`` is at the newest revision.

    The web's role owns no tables, so it cannot upgrade: an administrator runs
    ``gridplan db upgrade`` with the owner's URL.
    """
    found, want = current(database), head()
    if found != want:
        msg = (
            f"{dialect.redact(database)}: store at schema revision {found or 'none'}, this "
            f"gridplan needs {want}; run gridplan db upgrade --database URL-OF-THE-OWNER first"
        )
        raise StoreError(msg)


def grant(database: str, role: str) -> None:
    """Let ``role`` read and write the PostgreSQL store's rows (the web's and jobs' role)."""
    with dialect.engine(database).begin() as connection:
        connection.exec_driver_sql(dialect.grant_ddl(role))


#: the store's tables in an order that keeps every reference (a row's targets come first)
_COPY_ORDER = (
    "stations", "users", "user_stations", "sessions", "grids", "grid_features",
    "incident_batches", "incidents",
    "hotspot_runs", "networks", "plans", "targets", "jobs", "audit", "alerts", "check_ins",
    "track_batches", "track_fixes", "presence",
)  # fmt: skip


def copy_store(source: str, target: str, *, batch_rows: int = 5000) -> dict[str, int]:
    """Copy every row of the store ``source`` into the empty store ``target``; return counts.

    Both are at the newest revision (:func:`upgrade` them first). A station's SQLite store
    moves this way into the bureau's PostgreSQL store (ids kept, so links, plans and audit
    entries stay as they were). One transaction: a failed copy leaves ``target`` empty.

    Raises
    ------
    StoreError
        When ``target`` holds stations already.
    """
    from gridplan.web.db import connect
    from gridplan.web.db import transaction

    src, dst = connect(source), connect(target)
    counts: dict[str, int] = {}
    try:
        if dst.execute("SELECT COUNT(*) FROM stations").fetchone()[0]:
            msg = f"{dialect.redact(target)} holds stations already; copy into an empty store"
            raise StoreError(msg)
        with transaction(dst):
            for table in _COPY_ORDER:
                counts[table] = _copy_table(src, dst, table, batch_rows)
            if getattr(dst, "dialect", "sqlite") == "postgresql":
                for table in sorted(dialect.ID_TABLES):
                    dst.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
    finally:
        src.close()
        dst.close()
    return counts


def _copy_table(src, dst, table: str, batch_rows: int) -> int:
    cur = src.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    n = 0
    rows = cur.fetchall()
    for start in range(0, len(rows), batch_rows):
        chunk = [tuple(r) for r in rows[start : start + batch_rows]]
        dst.executemany(insert, chunk)
        n += len(chunk)
    return n
