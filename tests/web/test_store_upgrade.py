"""A store written by an older gridplan is upgraded in place, its rows kept, a copy beside it."""

import sqlite3
from pathlib import Path

from gridplan.web.db import SCHEMA_VERSION
from gridplan.web.db import connect
from gridplan.web.db import init_store

V1_SCHEMA = Path(__file__).parents[1] / "data" / "store_schema_v1.sql"


def _v1_store(path: Path) -> None:
    """A version-1 store (before job leases) with a failed and a running plan job."""
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA.read_text("utf-8"))
    with con:
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        con.execute(
            "INSERT INTO stations (id, name, config_toml, created_at) VALUES ('S9', 'x', '', '')"
        )
        for status, error in (("failed", "no patroller chosen"), ("running", None)):
            con.execute(
                "INSERT INTO jobs (station_id, kind, status, params_json, error, created_at, "
                "created_by) VALUES ('S9', 'plan', ?, '{\"date\": \"2024-06-05\"}', ?, '', 'me')",
                (status, error),
            )
    con.close()


def test_a_version_1_store_is_upgraded_to_the_current_schema(tmp_path):
    path = tmp_path / "gridplan.sqlite"
    _v1_store(path)
    assert init_store(path) is False
    backup = tmp_path / "gridplan.sqlite.v1.bak"
    assert backup.exists()
    old = sqlite3.connect(backup)
    assert old.execute("SELECT value FROM meta").fetchone()[0] == "1"  # the copy is as it was
    old.close()
    fresh_path = tmp_path / "fresh.sqlite"
    init_store(fresh_path)
    con, fresh = connect(path), connect(fresh_path)
    try:
        version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert int(version[0]) == SCHEMA_VERSION
        for table in ("jobs", "stations", "plans", "audit"):
            got = [r[1:3] for r in con.execute(f"PRAGMA table_info({table})")]
            assert got == [r[1:3] for r in fresh.execute(f"PRAGMA table_info({table})")], table
        indexes = "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='jobs'"
        assert {r[0] for r in con.execute(indexes)} == {r[0] for r in fresh.execute(indexes)}
        rows = con.execute("SELECT status, error, error_code FROM jobs ORDER BY id").fetchall()
        assert [tuple(r) for r in rows] == [
            ("failed", "no patroller chosen", "error"),
            ("running", None, None),
        ]
        # the new statuses are allowed, the old rows' references hold
        con.execute("UPDATE jobs SET status='interrupted' WHERE status='running'")
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
        fresh.close()


def test_a_store_from_a_newer_gridplan_is_refused_and_left_alone(tmp_path):
    import pytest

    from gridplan.web.db import StoreError

    path = tmp_path / "gridplan.sqlite"
    init_store(path)
    con = connect(path)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="use the gridplan version that made it"):
        init_store(path)
    assert path.read_bytes() == before


def test_users_whose_names_collide_after_normalising_keep_the_first_login(tmp_path):
    # ASCII case already collided (the name was UNIQUE COLLATE NOCASE); full-width letters and
    # German ß did not: the first user added keeps the name, the later ones are disabled
    path = tmp_path / "gridplan.sqlite"
    _v1_store(path)
    con = sqlite3.connect(path)
    with con:
        for name in ("ann", "ａｎｎ", "strasse", "STRAßE", "bob"):
            con.execute(
                "INSERT INTO users (username, password_hash, station_id, role, created_at) "
                "VALUES (?, 'x', 'S9', 'analyst', '')",
                (name,),
            )
    con.close()
    init_store(path)
    con = connect(path)
    try:
        rows = con.execute("SELECT username, login_key, active FROM users ORDER BY id").fetchall()
        assert [tuple(r) for r in rows] == [
            ("ann", "ann", 1),
            ("ａｎｎ", None, 0),
            ("strasse", "strasse", 1),
            ("STRAßE", None, 0),
            ("bob", "bob", 1),
        ]
        audit = con.execute(
            "SELECT username, action, target FROM audit WHERE station_id='S9' ORDER BY id"
        ).fetchall()
        assert [tuple(r) for r in audit] == [
            ("upgrade", "disable_user", "ａｎｎ"),
            ("upgrade", "disable_user", "STRAßE"),
        ]
        fresh = tmp_path / "fresh.sqlite"
        init_store(fresh)
        new = connect(fresh)
        for table in ("users", "sessions"):
            got = [r[1:3] for r in con.execute(f"PRAGMA table_info({table})")]
            assert got == [r[1:3] for r in new.execute(f"PRAGMA table_info({table})")], table
        indexes = (
            "SELECT name FROM sqlite_master WHERE type='index' "
            "AND tbl_name IN ('users', 'sessions') AND sql IS NOT NULL"
        )
        assert {r[0] for r in con.execute(indexes)} == {r[0] for r in new.execute(indexes)}
        new.close()
    finally:
        con.close()
