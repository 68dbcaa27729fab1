"""Upgrades of SQLite stores made before Alembic, one step per version, up to version 7.

Schema versions after 7 are Alembic revisions (:mod:`gridplan.web.schema_tool`); these steps
only bring an older SQLite store to the baseline, which is then stamped. ``STEPS[v]`` is the
SQL script that turns a store of schema version ``v`` into version ``v + 1``.
:func:`gridplan.web.db.upgrade_legacy` runs the steps a store needs, in one transaction,
after copying the store to ``<name>.v<old>.bak`` beside it: an upgrade that fails leaves the
store as it was, and the copy stays for a user who goes back to the older gridplan. A new
store is created at the current version from ``schema.sql`` directly, so each step must leave
a store equal to what ``schema.sql`` creates (``tests/web/test_store_upgrade.py`` compares the two).
"""

from __future__ import annotations

#: version 1 -> 2: jobs can be ``interrupted``, carry a heartbeat, their runner and an error
#: code (SQLite cannot change a CHECK constraint in place: the table is rebuilt)
_JOBS_V2 = """
CREATE TABLE jobs_v2 (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    params_json TEXT NOT NULL,
    result_id INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    finished_at TEXT,
    -- why a job failed, language-independent ('error', 'internal', 'crashed', 'interrupted')
    error_code TEXT,
    -- the job process's last sign of life (ISO UTC) and who runs it (host:pid)
    heartbeat_at TEXT,
    runner TEXT
);
INSERT INTO jobs_v2 (id, station_id, kind, status, done, total, stage, params_json, result_id,
                     error, created_at, created_by, finished_at, error_code)
    SELECT id, station_id, kind, status, done, total, stage, params_json, result_id, error,
           created_at, created_by, finished_at,
           CASE WHEN status = 'failed' THEN 'error' END
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_status ON jobs (status, id);
"""

#: version 2 -> 3: a job's error also as a message (id and parameters), to show in either
#: language; older rows keep their English text
_JOBS_V3 = """
ALTER TABLE jobs ADD COLUMN error_json TEXT;
"""

#: version 3 -> 4: users are looked up by their login key (:func:`gridplan.web.db.login_key`:
#: NFKC, case-folded, stripped), and every login is a row of ``sessions`` that logout, a
#: password change and disabling the user end. Of users whose names share a key, the first
#: added keeps it; the later ones are disabled without a key (they cannot log in; the audit log
#: says why) and the station's admin adds them again under another name.
_USERS_V4 = """
ALTER TABLE users ADD COLUMN login_key TEXT;
UPDATE users SET login_key = gridplan_login_key(username)
    WHERE id = (SELECT MIN(u.id) FROM users AS u
                WHERE gridplan_login_key(u.username) = gridplan_login_key(users.username));
INSERT INTO audit (at, username, station_id, action, target, detail_json)
    SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'upgrade', station_id, 'disable_user',
           username, '{"reason": "name_collision"}'
    FROM users WHERE login_key IS NULL AND active = 1;
UPDATE users SET active = 0 WHERE login_key IS NULL;
CREATE UNIQUE INDEX users_login_key ON users (login_key);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
"""

#: version 4 -> 5: a station's key road sections and timed targets
_TARGETS_V5 = """
CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    target_id TEXT NOT NULL,              -- the officer's id (gridplan.routing.targets.Target)
    target_json TEXT NOT NULL,            -- Target.to_dict(): name, coords, windows, value ...
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (station_id, target_id)
);
"""

#: version 5 -> 6: red/yellow/blue alerts on micro-grids, per station (三色预警)
_ALERTS_V6 = """
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    level TEXT NOT NULL CHECK (level IN ('red', 'yellow', 'blue')),
    micro_ids_json TEXT NOT NULL,
    -- ISO 8601 UTC times: active from starts_at until ends_at (or ended_at, when ended early)
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT,
    ended_by TEXT,
    -- the drawn or uploaded area (GeoJSON geometry, EPSG:4326), kept for the map
    area_geojson TEXT
);
CREATE INDEX alerts_station ON alerts (station_id, ends_at);
"""

#: version 6 -> 7: the ``patroller`` role (tied to one roster entry, as a volunteer lead to
#: their team; the CHECK constraints change, so the users table is rebuilt), check-ins from
#: the phone page, imported track fixes and their batches, and presence per micro-grid (what
#: is kept of fixes after the station's retention period)
_PATROL_V7 = """
CREATE TABLE users_v7 (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    station_id TEXT NOT NULL REFERENCES stations(id),
    role TEXT NOT NULL
        CHECK (role IN ('admin', 'officer', 'volunteer_lead', 'analyst', 'patroller')),
    team_id TEXT,                         -- roster id of a volunteer lead's team or a patroller
    display_name TEXT NOT NULL DEFAULT '',
    lang TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    -- the name as logins look it up (gridplan.web.db.login_key: NFKC, case-folded, stripped);
    -- NULL only for a user disabled at the upgrade to version 4 (their name's key was taken)
    login_key TEXT,
    CHECK (role NOT IN ('volunteer_lead', 'patroller') OR team_id IS NOT NULL)
);
INSERT INTO users_v7 (id, username, password_hash, station_id, role, team_id, display_name,
                      lang, active, created_at, login_key)
    SELECT id, username, password_hash, station_id, role, team_id, display_name, lang, active,
           created_at, login_key
    FROM users;
DROP TABLE users;
ALTER TABLE users_v7 RENAME TO users;
CREATE UNIQUE INDEX users_login_key ON users (login_key);
-- Patrols as they were done (issue 19). Station data like the rest: every query names the
-- station. Raw positions (fixes, check-in positions) are deleted after the station's
-- [tracks] retention_days (gridplan.web.retention); presence per micro-grid stays.

-- 到达/离开: a patroller's "arrived" or "left" at a stop of a plan, sent from the phone page
CREATE TABLE check_ins (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    -- made by the phone (crypto.randomUUID) when the button is pressed: a check-in sent again
    -- after a lost answer is stored once
    client_id TEXT NOT NULL,
    plan_id INTEGER NOT NULL REFERENCES plans(id),
    slice_id TEXT NOT NULL,
    route_index INTEGER NOT NULL,         -- the route's place in the slice's routes
    stop_index INTEGER NOT NULL,          -- the stop's place in the route
    micro_id TEXT NOT NULL,               -- the stop's micro-grid
    patroller_id TEXT NOT NULL,           -- roster id of the route
    kind TEXT NOT NULL CHECK (kind IN ('arrived', 'left')),
    client_at TEXT NOT NULL,              -- when the button was pressed, by the phone (ISO UTC)
    received_at TEXT NOT NULL,            -- when the server got it (ISO UTC)
    -- the phone's position (WGS 84) and its accuracy; NULL without one, and after retention
    lon REAL,
    lat REAL,
    accuracy_m REAL,
    inside INTEGER,                       -- 1 in the stop's micro-grid, 0 not, NULL unknown
    distance_m REAL,                      -- metres to the micro-grid (0 inside)
    note TEXT NOT NULL DEFAULT '',        -- what the patroller saw
    username TEXT NOT NULL,
    position_deleted_at TEXT,             -- when retention deleted the position
    UNIQUE (station_id, client_id)
);
CREATE INDEX check_ins_plan ON check_ins (station_id, plan_id);
CREATE INDEX check_ins_time ON check_ins (station_id, client_at);

-- imported tracks (GPX, CSV exports of location systems): one batch per file
CREATE TABLE track_batches (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    patroller_id TEXT NOT NULL,
    source_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    n_fixes INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL DEFAULT 0,
    summary_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX track_batches_station ON track_batches (station_id, created_at);

-- the fixes of the batches (the FIXES table of gridplan.tracks)
CREATE TABLE track_fixes (
    batch_id INTEGER NOT NULL REFERENCES track_batches(id),
    station_id TEXT NOT NULL REFERENCES stations(id),
    patroller_id TEXT NOT NULL,
    time TEXT NOT NULL,                   -- ISO 8601 UTC
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    accuracy_m REAL,
    source TEXT NOT NULL DEFAULT ''       -- gpx, csv, phone ...
);
CREATE INDEX track_fixes_station_time ON track_fixes (station_id, time);
CREATE INDEX track_fixes_batch ON track_fixes (batch_id);

-- minutes of presence per micro-grid, what is kept of fixes after retention; micro_id '' is
-- time outside every micro-grid, unknown_minutes time in gaps between fixes too long to bridge
CREATE TABLE presence (
    station_id TEXT NOT NULL REFERENCES stations(id),
    date TEXT NOT NULL,                   -- the shift's date (a night slice: the evening's)
    slice_id TEXT NOT NULL,               -- '' for time in no slice
    patroller_id TEXT NOT NULL,
    micro_id TEXT NOT NULL,
    minutes REAL NOT NULL,
    unknown_minutes REAL NOT NULL DEFAULT 0,
    computed_at TEXT NOT NULL,
    PRIMARY KEY (station_id, date, slice_id, patroller_id, micro_id)
);
"""

#: ``STEPS[v]`` upgrades a store from schema version ``v`` to ``v + 1``.
STEPS: dict[int, str] = {
    1: _JOBS_V2,
    2: _JOBS_V3,
    3: _USERS_V4,
    4: _TARGETS_V5,
    5: _ALERTS_V6,
    6: _PATROL_V7,
}
