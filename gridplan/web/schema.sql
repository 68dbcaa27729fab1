-- gridplan web store, schema version 7: the Alembic baseline revision 0007 (gridplan/web/store_versions; later
-- changes are revisions there). Written in SQLite's dialect; gridplan.web.dialect.pg_schema makes PostgreSQL's from it. Every write goes through one transaction
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
