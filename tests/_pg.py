"""A throwaway PostgreSQL + PostGIS cluster for the store's tests (``pg_cluster`` fixture).

``initdb`` and ``pg_ctl`` from Debian's ``postgresql`` make a cluster in a temporary folder that
listens on a free loopback port (trust authentication: nothing else can reach it); as root they
run as the ``postgres`` user (initdb refuses root). A template database holds the postgis
extension; each store is a database made from it, owned by ``gridplan_owner`` (who runs the
Alembic revisions), and the application connects as ``gridplan_app``, which owns nothing, so
row-level security applies to it as it does in a deployment.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINDIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
OWNER, APP = "gridplan_owner", "gridplan_app"
_SEQ = itertools.count()


def bindir() -> Path | None:
    """The folder of Debian's PostgreSQL server programs, if installed with postgis."""
    for d in BINDIRS:
        if (d / "initdb").exists() and any(
            Path("/usr/share/postgresql", d.parent.name, "extension").glob("postgis.control")
        ):
            return d
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running throwaway cluster: :meth:`new_store` makes a database for one store."""

    def __init__(self):
        self.bin = bindir()
        # not under pytest's temp folders: those are root's alone, and the server runs as postgres
        self.root = root = Path(tempfile.mkdtemp(prefix="gridplan-pg-"))
        self.data = root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        run = subprocess.run
        run(_as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, capture_output=True)  # fmt: skip
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {root} -c fsync=off"
        run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w",
                          "-l", str(root / "log"), "start"]),
            check=True, capture_output=True)  # fmt: skip
        self.superuser(
            f"CREATE ROLE {OWNER} LOGIN; CREATE ROLE {APP} LOGIN; "
            "CREATE DATABASE gridplan_template;"
        )
        self.superuser("CREATE EXTENSION postgis;", database="gridplan_template")

    def url(self, database: str, user: str = APP) -> str:
        """The URL of ``database`` for ``user``."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def superuser(self, sql: str, *, database: str = "postgres") -> None:
        """Run ``sql`` as the cluster's superuser (autocommit)."""
        import psycopg

        for attempt in range(50):
            try:
                con = psycopg.connect(self.url(database, "postgres"), autocommit=True)
                break
            except psycopg.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        with con:
            for statement in sql.split(";"):
                if statement.strip():
                    con.execute(statement)

    def new_database(self, *, template: str = "gridplan_template") -> str:
        """A new database from ``template``, owned by :data:`OWNER`; return its name."""
        name = f"store_{os.getpid()}_{next(_SEQ)}"
        self.superuser(f"CREATE DATABASE {name} TEMPLATE {template} OWNER {OWNER}")
        return name

    def new_store(self) -> str:
        """An empty store at the newest revision; return the application's URL of it."""
        from gridplan.web import schema_tool

        name = self.new_database()
        schema_tool.upgrade(self.url(name, OWNER))
        schema_tool.grant(self.url(name, OWNER), APP)
        return self.url(name)

    def stop(self) -> None:
        """Stop the cluster and delete its folder."""
        from gridplan.web.dialect import dispose_engines

        dispose_engines()
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
