"""Schema revision 8: the ``bureau`` role and the stations each bureau user reads.

A branch bureau's (分局) commander reads a set of stations: ``user_stations`` holds the set of
each user of role ``bureau`` (the user's own ``station_id`` is the first of the set, its home).
The role joins the ``users`` CHECK constraint; SQLite cannot change a constraint in place, so
there the table is rebuilt, rows and ids kept (Alembic's SQLite connection runs without
foreign-key enforcement, as the hand-written version 7 step did).

On PostgreSQL the row-level security policies now read the transaction's setting
``gridplan.station`` as a set, comma-separated: a station's session sets one id and stays
exactly as strict as before; a bureau session sets the ids of its stations and sees those
(:func:`gridplan.web.dialect.rls_set_ddl`). The application's roles that could read ``users``
may read and write the new table too, so a deployment needs no second ``gridplan db grant``.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: the roles, with ``bureau``
_ROLES = "'admin', 'officer', 'volunteer_lead', 'analyst', 'patroller', 'bureau'"

_SQLITE_USERS = f"""
CREATE TABLE users_v8 (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    station_id TEXT NOT NULL REFERENCES stations(id),
    role TEXT NOT NULL
        CHECK (role IN ({_ROLES})),
    team_id TEXT,
    display_name TEXT NOT NULL DEFAULT '',
    lang TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    login_key TEXT,
    CHECK (role NOT IN ('volunteer_lead', 'patroller') OR team_id IS NOT NULL)
);
INSERT INTO users_v8 (id, username, password_hash, station_id, role, team_id, display_name,
                      lang, active, created_at, login_key)
    SELECT id, username, password_hash, station_id, role, team_id, display_name, lang, active,
           created_at, login_key
    FROM users;
DROP TABLE users;
ALTER TABLE users_v8 RENAME TO users;
CREATE UNIQUE INDEX users_login_key ON users (login_key);
"""

#: the stations a bureau user reads (its home station, ``users.station_id``, is one of them)
_USER_STATIONS = """
CREATE TABLE user_stations (
    user_id INTEGER NOT NULL REFERENCES users(id),
    station_id TEXT NOT NULL REFERENCES stations(id),
    PRIMARY KEY (user_id, station_id)
);
CREATE INDEX user_stations_station ON user_stations (station_id);
"""

_PG_USERS = f"""
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ({_ROLES}));
"""

#: who may read ``users`` (the web's and jobs' role) gets the same rights on the new table
_PG_GRANT = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
             WHERE table_schema = 'public' AND table_name = 'users' AND privilege_type = 'SELECT'
               AND grantee <> current_user
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON user_stations TO %I', r.grantee);
    END LOOP;
END $$;
"""


def upgrade() -> None:
    """Add the bureau role and ``user_stations``; RLS policies read a set of stations."""
    from gridplan.web import dialect
    from gridplan.web.schema_tool import _statements

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        script = (
            _PG_USERS
            + _USER_STATIONS.replace("INTEGER", "BIGINT")
            + dialect.rls_set_ddl()
            + _PG_GRANT
        )
        bind.exec_driver_sql(script.replace("%", "%%"))
        return
    for statement in _statements(_SQLITE_USERS + _USER_STATIONS):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """No way back: stores are only upgraded (a copy is the way back)."""
    msg = "schema revision 8 cannot be undone: restore a copy of the store made before it"
    raise NotImplementedError(msg)
