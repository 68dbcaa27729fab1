-- gridplan web store, schema version 5 (SQLite; gridplan.web.migrations upgrades older stores). Every write goes through one transaction
-- (gridplan.web.db.transaction), so a failed import or a crash leaves the store as it was.
-- Nothing is updated in place that a user made: grids and plans get new versions, incident
-- batches are added, and the audit log is append-only.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE stations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    config_toml TEXT NOT NULL,            -- the station's own TOML (roster, slices, policy)
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    station_id TEXT NOT NULL REFERENCES stations(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'volunteer_lead', 'analyst')),
    team_id TEXT,                         -- roster id of a volunteer lead's team
    display_name TEXT NOT NULL DEFAULT '',
    lang TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    -- the name as logins look it up (gridplan.web.db.login_key: NFKC, case-folded, stripped);
    -- NULL only for a user disabled at the upgrade to version 4 (their name's key was taken)
    login_key TEXT,
    CHECK (role != 'volunteer_lead' OR team_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_login_key ON users (login_key);

-- one row per login: the session cookie holds the token, the store its SHA-256; logout, a
-- password change and disabling the user delete rows, which ends those sessions at once
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE grids (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    version INTEGER NOT NULL,
    source_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    n_base INTEGER NOT NULL,
    n_micro INTEGER NOT NULL,
    report_json TEXT NOT NULL,
    UNIQUE (station_id, version)
);

CREATE TABLE grid_features (
    grid_id INTEGER NOT NULL REFERENCES grids(id),
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_id TEXT,
    name TEXT NOT NULL DEFAULT '',
    geom BLOB NOT NULL,                   -- WKB, EPSG:4326
    PRIMARY KEY (grid_id, seq)
);

CREATE TABLE incident_batches (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    source_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    n_kept INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL,
    n_already INTEGER NOT NULL,           -- rows whose incident id the station already had
    summary_json TEXT NOT NULL,
    rejects_csv BLOB                      -- zlib-compressed UTF-8 CSV of the rejected rows
);

CREATE TABLE incidents (
    batch_id INTEGER NOT NULL REFERENCES incident_batches(id),
    station_id TEXT NOT NULL,
    id TEXT NOT NULL,
    time TEXT,                            -- ISO 8601 with UTC offset; NULL when unknown
    category TEXT,
    alert TEXT,
    weight REAL NOT NULL,
    in_station INTEGER NOT NULL,
    source_row INTEGER NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL
);
-- One incident may have several rows (one per offence), so ids repeat; a row counts as one the
-- station already has when its id, category and time (to the minute) match.
CREATE INDEX incidents_station_id ON incidents (station_id, id);

CREATE TABLE hotspot_runs (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    grid_id INTEGER NOT NULL REFERENCES grids(id),
    n_incidents INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    data BLOB NOT NULL                    -- zlib-compressed JSON table, one row per micro-grid x slice
);

CREATE TABLE networks (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    path TEXT NOT NULL,                   -- GeoPackage written by gridplan network build
    fingerprint TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    date TEXT NOT NULL,
    version INTEGER NOT NULL,             -- per station and date; a re-plan adds a version
    grid_id INTEGER NOT NULL REFERENCES grids(id),
    hotspot_run_id INTEGER NOT NULL REFERENCES hotspot_runs(id),
    parent_id INTEGER REFERENCES plans(id),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    params_json TEXT NOT NULL,            -- what the officer asked for (slices, who, dwell, pins)
    summary_json TEXT NOT NULL,
    plan BLOB NOT NULL,                   -- zlib-compressed gridplan-plan JSON document
    UNIQUE (station_id, date, version)
);

-- key road sections and timed targets (重点路段、重点时段) of a station, given to every plan
CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL REFERENCES stations(id),
    target_id TEXT NOT NULL,              -- the officer's id (gridplan.routing.targets.Target)
    target_json TEXT NOT NULL,            -- Target.to_dict(): name, coords, windows, value ...
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (station_id, target_id)
);

CREATE TABLE jobs (
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
    runner TEXT,
    -- the error as a message {"id", "params"} (gridplan._messages), shown in either language
    error_json TEXT
);

CREATE INDEX jobs_status ON jobs (status, id);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    station_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail_json TEXT NOT NULL DEFAULT '{}',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_station ON audit (station_id, at);
CREATE INDEX audit_action ON audit (action, at);      -- recent failed logins, for throttling

-- 三色预警: red/yellow/blue alerts on micro-grids (gridplan.routing.alerts.Alert)
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
