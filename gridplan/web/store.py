"""What the web UI keeps: stations, users, grids, incidents, hot spots, plans, alerts, jobs, audit.

Functions take an open connection (:func:`gridplan.web.db.get_db` in a request,
:func:`gridplan.web.db.connect` elsewhere) and speak gridplan's own types: grids and
incidents go in and come out as GeoDataFrames, plans as :class:`~gridplan.routing.plan.PatrolPlan`.
Writers that change several rows run in one transaction; versions are added, never replaced.

Plans are versioned per station and date: every plan saved for a date, a re-plan or a fresh
one, gets the next version number of that date, and the newest version (the highest number)
is the *current* plan of the date; the earlier ones are *superseded* by it and stay readable
(see :func:`current_plan`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import secrets
import sqlite3
import tomllib
import unicodedata
import zlib
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from gridplan._errors import InputError
from gridplan._messages import Message
from gridplan.routing.alerts import Alert
from gridplan.routing.alerts import active_in
from gridplan.routing.alerts import alert_over
from gridplan.routing.alerts import cell_problems
from gridplan.routing.alerts import unknown_alert
from gridplan.station.config import StationConfig
from gridplan.station.config import config_from_mapping
from gridplan.station.config import config_from_toml
from gridplan.web.db import login_key
from gridplan.web.db import now
from gridplan.web.db import transaction
from gridplan.web.dialect import claim_sql

ROLES = ("admin", "officer", "volunteer_lead", "analyst", "patroller", "bureau")
#: the role of a branch bureau's commanders: reads a set of stations (``user_stations``)
BUREAU = "bureau"
#: roles tied to one roster entry (``team_id``): they see that entry's routes only
TEAM_ROLES = ("volunteer_lead", "patroller")
MIN_PASSWORD_LEN = 10
#: longer passwords are refused (hashing megabytes per login attempt would be a cheap attack)
MAX_PASSWORD_LEN = 1024
MAX_USERNAME_LEN = 64


def _pack(obj: Any) -> bytes:
    return zlib.compress(json.dumps(obj, ensure_ascii=False).encode("utf-8"), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


def _is_pg(con) -> bool:
    return getattr(con, "dialect", "sqlite") == "postgresql"


def _frame(sql: str, con, *, params: Sequence[Any] = ()) -> pd.DataFrame:
    """The rows of ``sql`` as a frame (on either back-end; pandas reads only SQLite's own)."""
    cur = con.execute(sql, tuple(params))
    names = [d[0] for d in cur.description]
    return pd.DataFrame.from_records(
        [tuple(r) for r in cur.fetchall()], columns=names, coerce_float=True
    )


# --------------------------------------------------------------------------- targets


def list_targets(con: sqlite3.Connection, station_id: str):
    """Return the station's key road sections and timed targets, by name."""
    from gridplan.routing.targets import Target

    rows = con.execute(
        "SELECT target_json FROM targets WHERE station_id=? ORDER BY target_id", (station_id,)
    ).fetchall()
    return sorted(
        (Target.from_dict(json.loads(r["target_json"])) for r in rows), key=lambda t: t.name
    )


def save_targets(
    con: sqlite3.Connection, station_id: str, targets, username: str, *, replace: str | None = None
) -> None:
    """Store targets of a station; one with an id the station has replaces it.

    ``replace`` names a target the first one replaces (an edit that may change the id).
    """
    with transaction(con):
        if replace is not None:
            con.execute(
                "DELETE FROM targets WHERE station_id=? AND target_id=?", (station_id, replace)
            )
        for t in targets:
            con.execute(
                "INSERT INTO targets (station_id, target_id, target_json, created_at, created_by) "
                "VALUES (?,?,?,?,?) ON CONFLICT (station_id, target_id) DO UPDATE SET "
                "target_json=excluded.target_json, created_at=excluded.created_at, "
                "created_by=excluded.created_by",
                (station_id, t.id, json.dumps(t.to_dict(), ensure_ascii=False), now(), username),
            )


def delete_target(con: sqlite3.Connection, station_id: str, target_id: str) -> bool:
    """Delete a station's target; whether there was one."""
    with transaction(con):
        cur = con.execute(
            "DELETE FROM targets WHERE station_id=? AND target_id=?", (station_id, target_id)
        )
    return cur.rowcount > 0


# --------------------------------------------------------------------------- stations


def add_station(con: sqlite3.Connection, config_toml: str, *, source: str = "<station>") -> str:
    """Add a station from its TOML config (``[station] id``, name, phone, roster ...).

    Returns the station id. Raises :class:`~gridplan.ConfigError` for a bad config and
    :class:`~gridplan.InputError` for an id that exists.
    """
    cfg = config_from_toml(config_toml, source=source)  # syntax errors name line and column
    if con.execute("SELECT 1 FROM stations WHERE id=?", (cfg.station_id,)).fetchone():
        msg = (
            f"station {cfg.station_id!r} exists already; to change its configuration run "
            f"gridplan stations update {source}, or give a new station another [station] id"
        )
        raise InputError(msg)
    with transaction(con):
        con.execute(
            "INSERT INTO stations (id, name, phone, config_toml, created_at) VALUES (?,?,?,?,?)",
            (cfg.station_id, cfg.station_name, cfg.phone, config_toml, now()),
        )
    return cfg.station_id


def update_station(
    con: sqlite3.Connection, config_toml: str, *, source: str = "<station>"
) -> tuple[str, list[str]]:
    """Replace a station's TOML config (roster, slices, weights, name, phone ...).

    Grids, incidents, hot-spot runs and plans stay as they were. Returns the station id and
    the top-level tables that changed.

    Raises
    ------
    ConfigError
        A bad config.
    InputError
        An id the store does not have, or a roster without the team of an active volunteer
        lead or patroller.
    """
    cfg = config_from_toml(config_toml, source=source)  # syntax errors name line and column
    row = get_station(con, cfg.station_id)
    if row is None:
        known = ", ".join(r[0] for r in con.execute("SELECT id FROM stations ORDER BY id"))
        msg = (
            f"{source}: station {cfg.station_id!r} is not in the store (stations: {known or '-'}); "
            f"add it with gridplan stations add {source}, or correct [station] id"
        )
        raise InputError(msg)
    teams = {p.id for p in cfg.roster}
    leads = con.execute(
        "SELECT username, team_id FROM users WHERE station_id=? AND role IN "
        "('volunteer_lead', 'patroller') AND active=1 ORDER BY username",
        (cfg.station_id,),
    ).fetchall()
    orphans = [f"{name} (team {team})" for name, team in leads if team not in teams]
    if orphans:
        msg = (
            f"{source}: the roster has no team for the volunteer lead(s) or patroller(s) "
            f"{', '.join(orphans)}; "
            f"the roster's ids are {', '.join(sorted(teams))}. Keep those teams in [[roster]], "
            "or disable those logins under Users & audit first"
        )
        raise InputError(msg)
    old, new = tomllib.loads(row["config_toml"]), tomllib.loads(config_toml)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    with transaction(con):
        con.execute(
            "UPDATE stations SET name=?, phone=?, config_toml=? WHERE id=?",
            (cfg.station_name, cfg.phone, config_toml, cfg.station_id),
        )
    return cfg.station_id, changed


def get_station(con: sqlite3.Connection, station_id: str) -> sqlite3.Row | None:
    """Return the station's row, or ``None``."""
    return con.execute("SELECT * FROM stations WHERE id=?", (station_id,)).fetchone()


def station_config(con: sqlite3.Connection, station_id: str) -> StationConfig:
    """Return the station's parsed config."""
    row = get_station(con, station_id)
    if row is None:
        msg = f"no station {station_id!r} in the store"
        raise InputError(msg)
    return config_from_mapping(tomllib.loads(row["config_toml"]), source=f"station {station_id}")


# --------------------------------------------------------------------------- users


class UserError(InputError):
    """A user cannot be added or changed as asked; ``code`` says why, for the web's message.

    Codes: ``name`` (empty, too long, spaces or control characters), ``unavailable`` (taken in
    any station, or reserved: the same answer for both, so an admin learns no other station's
    names), ``role``, ``password_short``, ``password_long``, ``station``, ``team``.
    """

    def __init__(self, msg: str, *, code: str):
        super().__init__(msg)
        self.code = code


#: names the audit log uses for actions of no user
RESERVED_NAMES = frozenset({"-", "cli", "upgrade"})


def check_username(username: str) -> str:
    """Return ``username`` as it is stored (NFKC, stripped); raise UserError if unusable."""
    name = unicodedata.normalize("NFKC", username).strip()
    if (
        not name
        or len(name) > MAX_USERNAME_LEN
        or any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in name)
    ):
        msg = (
            f"user name {name[:80]!r}: use 1-{MAX_USERNAME_LEN} characters without spaces or "
            "control characters"
        )
        raise UserError(msg, code="name")
    return name


def check_password(password: str) -> None:
    """Raise UserError for a password shorter or longer than the limits."""
    if len(password) < MIN_PASSWORD_LEN:
        msg = f"the password is too short: use at least {MIN_PASSWORD_LEN} characters"
        raise UserError(msg, code="password_short")
    if len(password) > MAX_PASSWORD_LEN:
        msg = f"the password is too long: use at most {MAX_PASSWORD_LEN} characters"
        raise UserError(msg, code="password_long")


def _check_role(con: sqlite3.Connection, station_id: str, role: str, team_id: str | None) -> None:
    if role not in ROLES:
        msg = f"role {role!r} is unknown; use one of {', '.join(ROLES)}"
        raise UserError(msg, code="role")
    if get_station(con, station_id) is None:
        known = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
        msg = f"station {station_id!r} is unknown; stations in the store: {', '.join(known)}"
        raise UserError(msg, code="station")
    if role in TEAM_ROLES:
        roster = {p.id: p for p in station_config(con, station_id).roster}
        if team_id not in roster:
            who = "a volunteer lead" if role == "volunteer_lead" else "a patroller"
            msg = (
                f"{who} needs the roster id of their team (--team); {team_id!r} is "
                f"not in station {station_id}'s roster ({', '.join(roster)})"
            )
            raise UserError(msg, code="team")
    elif team_id:
        msg = (
            f"only volunteer leads and patrollers have a team; drop team {team_id!r} for "
            f"role {role}"
        )
        raise UserError(msg, code="team")


def add_user(
    con: sqlite3.Connection,
    username: str,
    password: str,
    *,
    station_id: str,
    role: str,
    team_id: str | None = None,
    display_name: str = "",
    stations: Sequence[str] = (),
) -> int:
    """Create a user; return its id.

    The name is stored NFKC-normalised and stripped, and must be free under its login key
    (:func:`~gridplan.web.db.login_key`: case and look-alike forms count as the same name).
    A ``bureau`` user reads ``stations`` (one or more); ``station_id``, its home, is one of them.

    Raises
    ------
    UserError
        Unknown role or station, an unusable or unavailable user name, a password too short
        or too long, a volunteer lead or patroller without a team of the station's roster, or
        a bureau user without stations (or stations given for another role).
    """
    username = check_username(username)
    _check_role(con, station_id, role, team_id)
    bureau_set = _check_stations(con, stations) if role == BUREAU or stations else ()
    if role != BUREAU and bureau_set:
        msg = f"only bureau users read a set of stations; drop the stations for role {role}"
        raise UserError(msg, code="stations")
    if role == BUREAU and station_id not in bureau_set:
        msg = f"a bureau user's home station {station_id!r} must be one of its stations"
        raise UserError(msg, code="stations")
    check_password(password)
    # hash first: a taken name answers no faster than a free one
    password_hash = generate_password_hash(password)
    key = login_key(username)
    taken = con.execute("SELECT 1 FROM users WHERE login_key=?", (key,)).fetchone()
    if taken or key in RESERVED_NAMES:
        msg = f"user name {username!r} cannot be used; choose another"
        raise UserError(msg, code="unavailable")
    with transaction(con):
        cur = con.execute(
            "INSERT INTO users (username, login_key, password_hash, station_id, role, team_id, "
            "display_name, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (username, key, password_hash, station_id, role, team_id, display_name[:200], now()),
        )
        if bureau_set:
            con.executemany(
                "INSERT INTO user_stations (user_id, station_id) VALUES (?,?)",
                [(int(cur.lastrowid), s) for s in bureau_set],
            )
    return int(cur.lastrowid)


def _check_stations(con: sqlite3.Connection, stations: Sequence[str]) -> tuple[str, ...]:
    """``stations`` without repeats, in the order given; raise UserError if none or unknown."""
    wanted = tuple(dict.fromkeys(s.strip() for s in stations if s.strip()))
    known = [r[0] for r in con.execute("SELECT id FROM stations ORDER BY id")]
    unknown = [s for s in wanted if s not in known]
    if not wanted or unknown:
        msg = (
            f"a bureau user reads one or more stations of the store; "
            f"{'unknown: ' + ', '.join(unknown) if unknown else 'none given'} "
            f"(stations in the store: {', '.join(known)}); e.g. --stations S01,S02"
        )
        raise UserError(msg, code="stations")
    return wanted


def user_stations(con: sqlite3.Connection, user_id: int) -> tuple[str, ...]:
    """The stations a bureau user reads, by id (none for the other roles)."""
    rows = con.execute(
        "SELECT station_id FROM user_stations WHERE user_id=? ORDER BY station_id", (user_id,)
    ).fetchall()
    return tuple(r[0] for r in rows)


def set_user_stations(con: sqlite3.Connection, user_id: int, stations: Sequence[str]) -> None:
    """Replace the set of stations bureau user ``user_id`` reads.

    The user's home station (``users.station_id``) becomes the first of ``stations`` when it
    is not among them. Open sessions stay: every request reads the set anew.

    Raises
    ------
    UserError
        The user is not a bureau user, or no or unknown stations.
    """
    row = get_user(con, user_id)
    if row is None or row["role"] != BUREAU:
        msg = "only a bureau user reads a set of stations; this user is not one"
        raise UserError(msg, code="role")
    wanted = _check_stations(con, stations)
    home = row["station_id"] if row["station_id"] in wanted else wanted[0]
    with transaction(con):
        con.execute("DELETE FROM user_stations WHERE user_id=?", (user_id,))
        con.executemany(
            "INSERT INTO user_stations (user_id, station_id) VALUES (?,?)",
            [(user_id, s) for s in wanted],
        )
        con.execute("UPDATE users SET station_id=? WHERE id=?", (home, user_id))


def bureau_users_of(con: sqlite3.Connection, station_id: str) -> list[sqlite3.Row]:
    """The bureau users who read ``station_id`` (for its admins to see who can)."""
    return con.execute(
        "SELECT users.id, username, display_name, active, created_at FROM users "
        "JOIN user_stations ON user_stations.user_id=users.id "
        "WHERE user_stations.station_id=? AND users.role=? ORDER BY username",
        (station_id, BUREAU),
    ).fetchall()


def check_login(con: sqlite3.Connection, username: str, password: str) -> sqlite3.Row | None:
    """Return the active user with this name (any case or form) and password, else ``None``.

    A wrong name, a disabled user and a password longer than the limit take as long as a wrong
    password (one hash each), so the answer's time tells nothing about which it was.
    """
    row = con.execute(
        "SELECT * FROM users WHERE login_key=? AND active=1", (login_key(username),)
    ).fetchone()
    if row is None or len(password) > MAX_PASSWORD_LEN:
        check_password_hash(_DUMMY_HASH, password[:MAX_PASSWORD_LEN])
        return None
    return row if check_password_hash(row["password_hash"], password) else None


def check_password_of(con: sqlite3.Connection, user_id: int, password: str) -> bool:
    """Whether ``password`` is user ``user_id``'s password."""
    row = get_user(con, user_id)
    if row is None or len(password) > MAX_PASSWORD_LEN:
        check_password_hash(_DUMMY_HASH, password[:MAX_PASSWORD_LEN])
        return False
    return check_password_hash(row["password_hash"], password)


def set_password(con: sqlite3.Connection, user_id: int, password: str) -> None:
    """Set user ``user_id``'s password and end all their sessions.

    Raises
    ------
    UserError
        A password too short or too long.
    """
    check_password(password)
    password_hash = generate_password_hash(password)
    with transaction(con):
        con.execute("UPDATE users SET password_hash=? WHERE id=?", (password_hash, user_id))
        con.execute("DELETE FROM sessions WHERE user_id=?", (user_id,))


_DUMMY_HASH = generate_password_hash("gridplan-timing-equaliser")


def get_user(con: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    """Return the user's row, or ``None``."""
    return con.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone()


def set_user_active(con: sqlite3.Connection, user_id: int, active: bool) -> None:
    """Enable or disable a login (users are never deleted: the audit log names them).

    Disabling ends the user's sessions at once.
    """
    with transaction(con):
        con.execute("UPDATE users SET active=? WHERE id=?", (int(active), user_id))
        if not active:
            con.execute("DELETE FROM sessions WHERE user_id=?", (user_id,))


# --------------------------------------------------------------------------- sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(con: sqlite3.Connection, user_id: int, *, lifetime_s: float) -> str:
    """Start a session of user ``user_id``; return its token (for the session cookie only).

    The store keeps the token's SHA-256, so a copy of the store opens no session. Sessions
    older than ``lifetime_s`` are deleted on the way.
    """
    token = secrets.token_urlsafe(32)
    cutoff = _ago(lifetime_s)
    with transaction(con):
        con.execute("DELETE FROM sessions WHERE created_at<?", (cutoff,))
        con.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?,?,?)",
            (_token_hash(token), user_id, now()),
        )
    return token


def session_user(con: sqlite3.Connection, token: str, *, lifetime_s: float) -> sqlite3.Row | None:
    """Return the active user of session ``token`` if it has not ended or expired, else None."""
    return con.execute(
        "SELECT users.* FROM sessions JOIN users ON users.id=sessions.user_id "
        "WHERE sessions.token_hash=? AND sessions.created_at>=? AND users.active=1",
        (_token_hash(token), _ago(lifetime_s)),
    ).fetchone()


def end_session(con: sqlite3.Connection, token: str) -> None:
    """End session ``token`` (logout)."""
    with transaction(con):
        con.execute("DELETE FROM sessions WHERE token_hash=?", (_token_hash(token),))


def end_sessions(con: sqlite3.Connection, user_id: int) -> None:
    """End every session of user ``user_id`` (their role or station changed)."""
    with transaction(con):
        con.execute("DELETE FROM sessions WHERE user_id=?", (user_id,))


def _ago(seconds: float) -> str:
    then = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return then.isoformat(timespec="seconds")


# --------------------------------------------------------------------------- grids


def save_grid(
    con: sqlite3.Connection,
    station_id: str,
    grid: gpd.GeoDataFrame,
    *,
    source_name: str,
    username: str,
    report: Mapping[str, Any],
) -> tuple[int, int]:
    """Store ``grid`` as the station's next grid version; return ``(grid_id, version)``."""
    g = grid.to_crs(4326)
    station_ids = g.loc[g["level"] == "station", "id"].tolist()
    if station_ids and station_ids != [station_id]:
        msg = (
            f"the grid's station polygon is {station_ids}, but it is imported into station "
            f"{station_id!r}; fix the id column or import it into that station"
        )
        raise InputError(msg)
    wkb = shapely.to_wkb(g.geometry.to_numpy())
    with transaction(con):
        version = con.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM grids WHERE station_id=?", (station_id,)
        ).fetchone()[0]
        cur = con.execute(
            "INSERT INTO grids (station_id, version, source_name, created_at, created_by, n_base, "
            "n_micro, report_json) VALUES (?,?,?,?,?,?,?,?)",
            (
                station_id,
                version,
                source_name,
                now(),
                username,
                int((g["level"] == "base").sum()),
                int((g["level"] == "micro").sum()),
                json.dumps(report, ensure_ascii=False, default=str),
            ),
        )
        grid_id = int(cur.lastrowid)
        con.executemany(
            "INSERT INTO grid_features (grid_id, seq, id, level, parent_id, name, geom) "
            "VALUES (?,?,?,?,?,?,?)",
            [
                (
                    grid_id,
                    i,
                    str(fid),
                    str(level),
                    None if parent is None or pd.isna(parent) else str(parent),
                    "" if name is None or pd.isna(name) else str(name),
                    geom,
                )
                for i, (fid, level, parent, name, geom) in enumerate(
                    zip(g["id"], g["level"], g["parent_id"], g["name"], wkb, strict=True)
                )
            ],
        )
    return grid_id, int(version)


def latest_grid(con: sqlite3.Connection, station_id: str) -> sqlite3.Row | None:
    """Return the row of the station's newest grid version, or ``None``."""
    return con.execute(
        "SELECT * FROM grids WHERE station_id=? ORDER BY version DESC LIMIT 1", (station_id,)
    ).fetchone()


def load_grid(con: sqlite3.Connection, grid_id: int) -> gpd.GeoDataFrame:
    """Return a stored grid as the 1+5+N GRID frame (EPSG:4326)."""
    rows = con.execute(
        "SELECT id, level, parent_id, name, geom FROM grid_features WHERE grid_id=? ORDER BY seq",
        (grid_id,),
    ).fetchall()
    if not rows:
        msg = f"grid {grid_id} is not in the store"
        raise InputError(msg)
    geoms = shapely.from_wkb([r["geom"] for r in rows])
    return gpd.GeoDataFrame(
        {
            # object columns with None, as gridplan.load_grid makes them
            col: pd.Series([r[col] for r in rows], dtype=object)
            for col in ("id", "level", "parent_id", "name")
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- incidents


def message_record(message: Any) -> Any:
    """Return a message as ``{"id", "params", "text"}`` (JSON), anything else as it is.

    Stored so that it can be shown in either language; ``text`` is the English text, kept for
    a gridplan that no longer knows the id.
    """
    if isinstance(message, Message):
        return {**message.to_dict(), "text": str(message)}
    return message


def _import_messages(result) -> dict[str, Any]:
    """The messages of an import's summary: warnings, rejection reasons, coordinate system."""
    reasons: dict[str, Any] = {}
    for reason in result.rejects["reason"]:
        reasons.setdefault(str(reason), message_record(reason))
    return {
        "warnings": [message_record(w) for w in result.warnings],
        "rejected_by_reason": reasons,
        "coordinate_system": message_record(result.coordinate_system),
    }


def _rejects_csv(rejects: pd.DataFrame) -> bytes | None:
    if rejects.empty:
        return None
    buf = io.StringIO()
    # the reason's parameters beside its id, so the web UI can show it in either language
    params = [
        json.dumps(r.to_dict()["params"], ensure_ascii=False) if isinstance(r, Message) else ""
        for r in rejects["reason"]
    ]
    rejects.assign(reason_params=params).to_csv(buf, index=False)
    return zlib.compress(("\ufeff" + buf.getvalue()).encode("utf-8"))


def _utc_minute(iso: str) -> str:
    # exports of one system differ in precision (2024年3月2日 14时05分 beside
    # 2024/03/02 14:05:37), so rows are compared to the minute
    return pd.Timestamp(iso).tz_convert("UTC").floor("min").isoformat()


def save_incident_batch(
    con: sqlite3.Connection,
    station_id: str,
    result,
    *,
    source_name: str,
    username: str,
) -> tuple[int, int, int]:
    """Add the incidents of an :class:`~gridplan.geo.incidents.ImportResult` as one batch.

    Rows the station already has (same id, category and time to the minute: a re-imported
    export, perhaps from another report with or without seconds) are kept as they were, not
    added twice, and counted. Returns ``(batch_id, added, already)``.
    """
    inc = result.incidents
    ids = inc["id"].astype(str).tolist()
    iso = [None if pd.isna(t) else t.isoformat() for t in inc["time"]]
    cats = [None if pd.isna(c) else str(c) for c in inc["category"]]
    known: set[tuple] = set()
    for start in range(0, len(ids), 900):
        chunk = sorted(set(ids[start : start + 900]))
        q = ",".join("?" * len(chunk))
        for r in con.execute(
            f"SELECT id, time, category FROM incidents WHERE station_id=? AND id IN ({q})",
            (station_id, *chunk),
        ):
            known.add((r[0], None if r[1] is None else _utc_minute(r[1]), r[2]))
    known_ids = {k[0] for k in known}
    new = np.array(
        [
            i not in known_ids or (i, None if t is None else _utc_minute(t), c) not in known
            for i, t, c in zip(ids, iso, cats, strict=True)
        ],
        dtype=bool,
    )
    lon = shapely.get_x(inc.geometry.to_numpy())
    lat = shapely.get_y(inc.geometry.to_numpy())

    def text(v):
        return None if v is None or pd.isna(v) else str(v)

    with transaction(con):
        cur = con.execute(
            "INSERT INTO incident_batches (station_id, source_name, created_at, created_by, "
            "n_rows, n_kept, n_rejected, n_already, summary_json, rejects_csv) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                station_id,
                source_name,
                now(),
                username,
                int(result.n_rows),
                int(new.sum()),
                len(result.rejects),
                int((~new).sum()),
                json.dumps(
                    {**result.summary(), "messages": _import_messages(result)},
                    ensure_ascii=False,
                    default=str,
                ),
                _rejects_csv(result.rejects),
            ),
        )
        batch_id = int(cur.lastrowid)
        cols = zip(
            ids,
            iso,
            inc["category"],
            inc["alert"],
            inc["weight"],
            inc["in_station"],
            inc["source_row"],
            lon,
            lat,
            strict=True,
        )
        con.executemany(
            "INSERT INTO incidents (batch_id, station_id, id, time, category, alert, weight, "
            "in_station, source_row, lon, lat) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                (batch_id, station_id, i, t, text(c), text(a), float(w), int(s), int(r), x, y)
                for keep, (i, t, c, a, w, s, r, x, y) in zip(new, cols, strict=True)
                if keep
            ),
        )
    return batch_id, int(new.sum()), int((~new).sum())


def load_incidents(con: sqlite3.Connection, station_id: str, timezone: str) -> gpd.GeoDataFrame:
    """Return every stored incident of the station as the canonical INCIDENTS frame."""
    df = _frame(
        "SELECT id, time, category, alert, weight, in_station, source_row, lon, lat "
        "FROM incidents WHERE station_id=? ORDER BY batch_id, source_row",
        con,
        params=(station_id,),
    )
    time = pd.to_datetime(df["time"], utc=True, format="ISO8601").dt.tz_convert(timezone)
    time = time.astype(f"datetime64[ns, {timezone}]")
    return gpd.GeoDataFrame(
        {
            "id": df["id"].astype("string"),
            "time": time,
            "category": df["category"].astype("string"),
            "alert": df["alert"].astype("string"),
            "weight": df["weight"].astype(float),
            "in_station": df["in_station"].astype(bool),
            "source_row": df["source_row"].astype("int64"),
        },
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs="EPSG:4326",
    )


def batch_rejects_csv(con: sqlite3.Connection, batch_id: int) -> bytes | None:
    """Return the rejected rows of an incident batch as UTF-8 CSV (with BOM), or ``None``."""
    row = con.execute("SELECT rejects_csv FROM incident_batches WHERE id=?", (batch_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    return zlib.decompress(row[0])


# --------------------------------------------------------------------------- hot spots

_HOT_GEOMETRY = "geometry"


def save_hotspots(
    con: sqlite3.Connection,
    station_id: str,
    grid_id: int,
    hotspots: pd.DataFrame,
    *,
    n_incidents: int,
    username: str,
) -> int:
    """Store a hot-spot run (the frame of :func:`gridplan.compute_hotspots`); return its id.

    The forecast chosen for the station (``attrs["forecast"]`` of
    :func:`gridplan.forecast.station.forecast_hotspots`) is kept with it, so plans take the
    prize and its back-test from the run without re-running the back-test.
    """
    table = pd.DataFrame(hotspots.drop(columns=[_HOT_GEOMETRY], errors="ignore"))
    data = {"columns": list(table.columns), "data": json.loads(table.to_json(orient="values"))}
    if hotspots.attrs.get("forecast"):
        data["forecast"] = json.loads(json.dumps(hotspots.attrs["forecast"]))
    with transaction(con):
        cur = con.execute(
            "INSERT INTO hotspot_runs (station_id, grid_id, n_incidents, created_at, created_by, "
            "data) VALUES (?,?,?,?,?,?)",
            (station_id, grid_id, n_incidents, now(), username, _pack(data)),
        )
    return int(cur.lastrowid)


def latest_hotspot_run(con: sqlite3.Connection, station_id: str) -> sqlite3.Row | None:
    """Return the newest hot-spot run of the station's newest grid, or ``None``."""
    return con.execute(
        "SELECT h.* FROM hotspot_runs h JOIN grids g ON g.id = h.grid_id WHERE h.station_id=? "
        "ORDER BY g.version DESC, h.id DESC LIMIT 1",
        (station_id,),
    ).fetchone()


def load_hotspots(con: sqlite3.Connection, run_id: int) -> gpd.GeoDataFrame:
    """Return a stored hot-spot run with its micro-grids' geometry (EPSG:4326).

    ``attrs["forecast"]`` holds the forecast that made its ``score``, when one did.
    """
    row = con.execute("SELECT grid_id, data FROM hotspot_runs WHERE id=?", (run_id,)).fetchone()
    if row is None:
        msg = f"hot-spot run {run_id} is not in the store"
        raise InputError(msg)
    data = _unpack(row["data"])
    table = pd.DataFrame(data["data"], columns=data["columns"])
    grid = load_grid(con, row["grid_id"])
    geom = grid.set_index("id").geometry
    out = gpd.GeoDataFrame(
        table, geometry=geom.reindex(table["id"]).to_numpy(), crs="EPSG:4326"
    ).reset_index(drop=True)
    if data.get("forecast"):
        out.attrs["forecast"] = data["forecast"]
    return out


# --------------------------------------------------------------------------- networks


def add_network(
    con: sqlite3.Connection, station_id: str, path: str, *, fingerprint: str, source: str
) -> int:
    """Record the street network file the station plans on; return its id."""
    with transaction(con):
        cur = con.execute(
            "INSERT INTO networks (station_id, path, fingerprint, source, created_at) "
            "VALUES (?,?,?,?,?)",
            (station_id, path, fingerprint, source, now()),
        )
    return int(cur.lastrowid)


def latest_network(con: sqlite3.Connection, station_id: str) -> sqlite3.Row | None:
    """Return the station's newest network record, or ``None``."""
    return con.execute(
        "SELECT * FROM networks WHERE station_id=? ORDER BY id DESC LIMIT 1", (station_id,)
    ).fetchone()


# --------------------------------------------------------------------------- plans


def save_plan(
    con: sqlite3.Connection,
    station_id: str,
    plan,
    *,
    grid_id: int,
    hotspot_run_id: int,
    params: Mapping[str, Any],
    username: str,
    parent_id: int | None = None,
) -> tuple[int, int]:
    """Store a plan as the next version for its date; return ``(plan_id, version)``."""
    from gridplan.io.planfile import plan_to_dict

    if plan.station_id != station_id:
        msg = f"plan of station {plan.station_id!r} cannot be stored under {station_id!r}"
        raise InputError(msg)
    date = plan.date.isoformat()
    with transaction(con):
        version = con.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM plans WHERE station_id=? AND date=?",
            (station_id, date),
        ).fetchone()[0]
        cur = con.execute(
            "INSERT INTO plans (station_id, date, version, grid_id, hotspot_run_id, parent_id, "
            "created_at, created_by, params_json, summary_json, plan) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                station_id,
                date,
                version,
                grid_id,
                hotspot_run_id,
                parent_id,
                now(),
                username,
                json.dumps(params, ensure_ascii=False, default=str),
                json.dumps(plan.summary(), ensure_ascii=False, default=str),
                _pack(plan_to_dict(plan)),
            ),
        )
    return int(cur.lastrowid), int(version)


def get_plan_row(con: sqlite3.Connection, plan_id: int, station_id: str) -> sqlite3.Row | None:
    """Return the plan's row if it belongs to ``station_id`` (else ``None``: not found)."""
    return con.execute(
        "SELECT * FROM plans WHERE id=? AND station_id=?", (plan_id, station_id)
    ).fetchone()


def plan_from_row(row: sqlite3.Row):
    """Return the :class:`~gridplan.routing.plan.PatrolPlan` stored in a plan row."""
    from gridplan.io.planfile import plan_from_dict

    return plan_from_dict(_unpack(row["plan"]), source=f"plan {row['id']}")


_CURRENT_VERSION = (
    "(SELECT MAX(c.version) FROM plans AS c WHERE c.station_id=plans.station_id "
    "AND c.date=plans.date) AS current_version"
)


def list_plans(con: sqlite3.Connection, station_id: str, limit: int = 50) -> list[sqlite3.Row]:
    """Return the station's newest plans (no plan bodies), newest date first.

    Within a date the current version comes first; each row has ``current_version``, the
    version that supersedes it when it is not that one.
    """
    rows = con.execute(
        "SELECT id, date, version, parent_id, created_at, created_by, summary_json, params_json, "
        f"{_CURRENT_VERSION} FROM plans WHERE station_id=? ORDER BY id DESC LIMIT ?",
        (station_id, limit),
    ).fetchall()
    return sorted(rows, key=lambda r: (r["date"], r["version"]), reverse=True)


def current_plan(con: sqlite3.Connection, station_id: str, date: str) -> sqlite3.Row | None:
    """Return ``(id, version)`` of the current plan of ``date``: its newest version."""
    return con.execute(
        "SELECT id, version FROM plans WHERE station_id=? AND date=? ORDER BY version DESC LIMIT 1",
        (station_id, date),
    ).fetchone()


# --------------------------------------------------------------------------- jobs


def add_job(
    con: sqlite3.Connection, station_id: str, kind: str, params: Mapping[str, Any], username: str
) -> int:
    """Queue a background job; return its id."""
    with transaction(con):
        cur = con.execute(
            "INSERT INTO jobs (station_id, kind, status, params_json, created_at, created_by) "
            "VALUES (?,?,'queued',?,?,?)",
            (station_id, kind, json.dumps(params, ensure_ascii=False), now(), username),
        )
    return int(cur.lastrowid)


def queue_daily_jobs(
    con: sqlite3.Connection, kind: str, username: str, *, every_s: float = 86400.0
) -> list[int]:
    """Queue a job of ``kind`` for each station that had none in the last ``every_s`` seconds.

    One transaction, so servers sharing the store queue each station's job once. Returns the
    ids queued.
    """
    since = _ago(every_s)
    with transaction(con):
        due = con.execute(
            "SELECT id FROM stations AS s WHERE NOT EXISTS (SELECT 1 FROM jobs AS j WHERE "
            "j.station_id=s.id AND j.kind=? AND j.created_at>=?) ORDER BY id",
            (kind, since),
        ).fetchall()
        ids = []
        for row in due:
            cur = con.execute(
                "INSERT INTO jobs (station_id, kind, status, params_json, created_at, "
                "created_by) VALUES (?,?,'queued','{}',?,?)",
                (row["id"], kind, now(), username),
            )
            ids.append(int(cur.lastrowid))
    return ids


def update_job(con: sqlite3.Connection, job_id: int, **fields: Any) -> None:
    """Set job fields (status, done, total, stage, result_id, error, error_code, finished_at)."""
    allowed = {
        "status",
        "done",
        "total",
        "stage",
        "result_id",
        "error",
        "error_code",
        "finished_at",
        "heartbeat_at",
        "runner",
    }
    bad = set(fields) - allowed
    if bad:
        msg = f"unknown job fields {sorted(bad)}"
        raise ValueError(msg)
    sets = ", ".join(f"{k}=?" for k in fields)
    with transaction(con):
        con.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*fields.values(), job_id))


def get_job(con: sqlite3.Connection, job_id: int, station_id: str) -> sqlite3.Row | None:
    """Return the job if it belongs to ``station_id``."""
    return con.execute(
        "SELECT * FROM jobs WHERE id=? AND station_id=?", (job_id, station_id)
    ).fetchone()


def claim_job(
    con: sqlite3.Connection,
    runner: str,
    *,
    slots: int,
    kind_slots: Mapping[str, int] | None = None,
) -> sqlite3.Row | None:
    """Take the oldest queued job whose kind has a free slot for ``runner``; return it.

    The store is the queue: every server process may claim, and ``BEGIN IMMEDIATE`` makes the
    claim atomic, so a job runs once, and at most ``slots`` jobs of a kind (``kind_slots[kind]``
    for the kinds it names) run at a time across the servers that share the store. The claim
    starts the job's lease (its heartbeat).
    """
    own = dict(kind_slots or {})
    cases = " ".join("WHEN ? THEN ?" for _ in own)
    limit = f"CASE q.kind {cases} ELSE ? END" if own else "?"
    args = (*(v for kind, n in own.items() for v in (kind, int(n))), int(slots))
    sql = (
        "SELECT id FROM jobs AS q WHERE status='queued' AND (SELECT COUNT(*) FROM jobs AS r "
        f"WHERE r.status='running' AND r.kind=q.kind) < {limit} ORDER BY id LIMIT 1"
    )
    if con.execute(sql, args).fetchone() is None:  # the common case: nothing to do
        return None
    with transaction(con):
        # PostgreSQL: a row another server is claiming is skipped, not waited for
        row = con.execute(sql + claim_sql(_is_pg(con)), args).fetchone()
        if row is None:
            return None
        con.execute(
            "UPDATE jobs SET status='running', stage='start', runner=?, heartbeat_at=? WHERE id=?",
            (runner, now(), row["id"]),
        )
        return con.execute("SELECT * FROM jobs WHERE id=?", (row["id"],)).fetchone()


def beat_job(con: sqlite3.Connection, job_id: int) -> None:
    """Renew a running job's lease: the job process is alive."""
    with transaction(con):
        con.execute(
            "UPDATE jobs SET heartbeat_at=? WHERE id=? AND status='running'", (now(), job_id)
        )


def expire_stale_jobs(con: sqlite3.Connection, *, lease_s: float) -> list[int]:
    """Mark running jobs with no heartbeat for ``lease_s`` seconds as interrupted.

    Their process died (killed, out of memory, its server stopped) without saying so. Returns
    the ids marked; each gets an audit entry.
    """
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lease_s)).isoformat(timespec="seconds")
    sql = (
        "SELECT id, station_id, kind, created_by, params_json, runner FROM jobs "
        "WHERE status='running' AND (heartbeat_at IS NULL OR heartbeat_at < ?)"
    )
    if con.execute(sql, (cutoff,)).fetchone() is None:  # the common case: all alive
        return []
    with transaction(con):
        rows = con.execute(sql, (cutoff,)).fetchall()
        for row in rows:
            error = (
                f"interrupted: the job's process ({row['runner'] or 'unknown'}) gave no sign "
                f"of life for {lease_s:.0f} s (it was stopped or ran out of memory); start "
                "it again"
            )
            con.execute(
                "UPDATE jobs SET status='interrupted', error=?, error_code='interrupted', "
                "finished_at=? WHERE id=? AND status='running'",
                (error, now(), row["id"]),
            )
            _audit_job_failure(con, row, "interrupted", error)
    return [int(r["id"]) for r in rows]


def fail_job(
    con: sqlite3.Connection,
    job_id: int,
    *,
    code: str,
    error: Message | str,
    status: str = "failed",
) -> None:
    """End job ``job_id`` as failed (or interrupted) with ``error``, and audit it.

    A :class:`~gridplan._messages.Message` is stored as its English text and, in
    ``error_json``, as its id and parameters, so that it is shown in the user's language.
    """
    error_json = (
        json.dumps(error.to_dict(), ensure_ascii=False) if isinstance(error, Message) else None
    )
    with transaction(con):
        row = con.execute(
            "SELECT id, station_id, kind, created_by, params_json FROM jobs WHERE id=? "
            "AND status IN ('queued', 'running')",
            (job_id,),
        ).fetchone()
        if row is None:
            return
        con.execute(
            "UPDATE jobs SET status=?, error=?, error_json=?, error_code=?, finished_at=? "
            "WHERE id=?",
            (status, str(error), error_json, code, now(), job_id),
        )
        _audit_job_failure(con, row, code, error)


def job_error(row: sqlite3.Row) -> Message | str | None:
    """Return a job's error: its message when stored as one, else the text (older rows)."""
    stored = row["error_json"] if "error_json" in row.keys() else None
    if stored:
        try:
            return Message.from_dict(json.loads(stored))
        except (LookupError, TypeError, ValueError, KeyError):
            pass  # an id this version does not know: the English text below
    return row["error"]


def _audit_job_failure(
    con: sqlite3.Connection, row: sqlite3.Row, code: str, error: Message | str
) -> None:
    detail = {"job": row["id"], "code": code, "error": error, **json.loads(row["params_json"])}
    action = f"{row['kind']}_failed"
    insert_audit(
        con, row["created_by"], row["station_id"], action, detail, target=f"job {row['id']}"
    )


def list_failed_jobs(
    con: sqlite3.Connection, station_id: str, *, kind: str, limit: int = 10
) -> list[sqlite3.Row]:
    """The station's latest failed or interrupted jobs of ``kind``, newest first."""
    return con.execute(
        "SELECT * FROM jobs WHERE station_id=? AND kind=? AND status IN ('failed', "
        "'interrupted') ORDER BY id DESC LIMIT ?",
        (station_id, kind, limit),
    ).fetchall()


# --------------------------------------------------------------------------- audit


def failed_logins(
    con: sqlite3.Connection, *, since: str, ip: str | None = None, username: str | None = None
) -> int:
    """Count failed logins at or after ``since`` (ISO UTC) from ``ip`` and/or for ``username``.

    Give ``ip``, ``username`` or both (then only failures for that name from that address
    count); user names compare by their login key (:func:`login_name`).
    """
    where, args = ["action='login_failed'", "at>=?"], [since]
    if ip is not None:
        where.append("ip=?")
        args.append(ip)
    if username is not None:
        where.append("username=?")
        args.append(login_name(username))
    if len(args) == 1:
        msg = "failed_logins needs ip=, username= or both"
        raise TypeError(msg)
    sql = f"SELECT COUNT(*) FROM audit WHERE {' AND '.join(where)}"
    return con.execute(sql, args).fetchone()[0]


def login_name(username: str) -> str:
    """The user name a login attempt is logged and counted under: its login key, 64 characters.

    Every spelling of a name that logs in as one user (padded, other case, full-width) is
    counted under one name (:func:`~gridplan.web.db.login_key`), so none escapes the throttle.
    """
    return login_key(username)[:MAX_USERNAME_LEN] or "-"


def audit(
    con: sqlite3.Connection,
    username: str,
    station_id: str | None,
    action: str,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Append an entry to the audit log (its own transaction)."""
    with transaction(con):
        insert_audit(con, username, station_id, action, detail, target=target, ip=ip)


def insert_audit(
    con: sqlite3.Connection,
    username: str,
    station_id: str | None,
    action: str,
    detail: Mapping[str, Any] | None = None,
    *,
    target: str = "",
    ip: str = "",
) -> None:
    """Append an entry to the audit log inside the caller's transaction."""
    con.execute(
        "INSERT INTO audit (at, username, station_id, action, target, detail_json, ip) "
        "VALUES (?,?,?,?,?,?,?)",
        (
            now(),
            username,
            station_id,
            action,
            target,
            json.dumps(
                {k: message_record(v) for k, v in (detail or {}).items()},
                ensure_ascii=False,
                default=str,
            ),
            ip,
        ),
    )


# --------------------------------------------------------------------------- alerts


def _micro_ids_of(con: sqlite3.Connection, station_id: str) -> tuple[str, ...]:
    """The micro-grid ids of the station's newest grid (an error when it has none)."""
    row = latest_grid(con, station_id)
    if row is None:
        msg = f"station {station_id} has no grid yet; import its grid before declaring alerts"
        raise InputError(msg)
    rows = con.execute(
        "SELECT id FROM grid_features WHERE grid_id=? AND level='micro' ORDER BY seq", (row["id"],)
    )
    return tuple(r[0] for r in rows)


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


def _alert_from_row(row: sqlite3.Row, tz: dt.tzinfo) -> Alert:
    def local(text: str | None) -> dt.datetime | None:
        return None if text is None else dt.datetime.fromisoformat(text).astimezone(tz)

    return Alert(
        id=str(row["id"]),
        level=row["level"],
        micro_ids=tuple(json.loads(row["micro_ids_json"])),
        starts=local(row["starts_at"]),
        ends=local(row["ends_at"]),
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=local(row["created_at"]),
        ended_at=local(row["ended_at"]),
        ended_by=row["ended_by"],
        area=row["area_geojson"],
    )


def add_alert(
    con: sqlite3.Connection,
    station_id: str,
    *,
    level: str,
    micro_ids: Sequence[str],
    starts: dt.datetime,
    ends: dt.datetime,
    reason: str,
    created_by: str,
    area: str | None = None,
    ip: str = "",
) -> Alert:
    """Declare an alert of the station (checked, stored and audited); return it with its id.

    Raises
    ------
    InputError
        A bad colour, window or reason (:class:`~gridplan.routing.alerts.Alert`), micro-grids
        not in the station's newest grid, a station without a grid.
    """
    tz = station_config(con, station_id).tz
    created = dt.datetime.now(dt.UTC).astimezone(tz).replace(microsecond=0)
    alert = Alert(
        "new", level, tuple(micro_ids), starts, ends, reason, created_by, created, area=area
    )
    problems = cell_problems(alert.micro_ids, _micro_ids_of(con, station_id))
    if problems:
        raise InputError(problems[0])
    with transaction(con):
        cur = con.execute(
            "INSERT INTO alerts (station_id, level, micro_ids_json, starts_at, ends_at, reason, "
            "created_by, created_at, area_geojson) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                station_id,
                alert.level,
                json.dumps(list(alert.micro_ids)),
                _utc(alert.starts),
                _utc(alert.ends),
                alert.reason,
                alert.created_by,
                _utc(created),
                area,
            ),
        )
        alert = dataclasses.replace(alert, id=str(cur.lastrowid))
        detail = {"level": alert.level, "cells": ", ".join(alert.micro_ids), "reason": reason}
        detail["ends"] = alert.ends.isoformat()
        insert_audit(con, created_by, station_id, "add_alert", detail, target=alert.id, ip=ip)
    return alert


def list_alerts(
    con: sqlite3.Connection,
    station_id: str,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Alert]:
    """Return the station's alerts, newest first; with ``start``/``end`` those active then.

    ``start`` alone: active at that moment (``end`` = ``start`` + 1 s). Times come back in
    the station's timezone.
    """
    tz = station_config(con, station_id).tz
    rows = con.execute(
        "SELECT * FROM alerts WHERE station_id=? ORDER BY starts_at DESC, id DESC", (station_id,)
    ).fetchall()
    alerts = [_alert_from_row(r, tz) for r in rows]
    if start is None:
        return alerts
    end = end or start + dt.timedelta(seconds=1)
    return [a for a in alerts if active_in(a, start, end)]


def get_alert(con: sqlite3.Connection, station_id: str, alert_id: str) -> Alert:
    """Return one of the station's alerts (never another station's).

    Raises
    ------
    InputError
        When the id is not one of the station's alerts.
    """
    row = None
    if str(alert_id).isdigit():
        row = con.execute(
            "SELECT * FROM alerts WHERE id=? AND station_id=?", (int(alert_id), station_id)
        ).fetchone()
    if row is None:
        raise InputError(unknown_alert(str(alert_id), station_id))
    return _alert_from_row(row, station_config(con, station_id).tz)


def end_alert(
    con: sqlite3.Connection, station_id: str, alert_id: str, *, by: str, ip: str = ""
) -> Alert:
    """End an active alert early (who and when recorded, audited); return it.

    Raises
    ------
    InputError
        When it is not the station's, or already over (expired or ended).
    """
    alert = get_alert(con, station_id, alert_id)
    at = dt.datetime.now(dt.UTC).astimezone(alert.starts.tzinfo).replace(microsecond=0)
    if alert.until <= at:
        raise InputError(alert_over(alert))
    with transaction(con):
        con.execute(
            "UPDATE alerts SET ended_at=?, ended_by=? WHERE id=? AND station_id=?",
            (_utc(at), by, int(alert.id), station_id),
        )
        detail = {"level": alert.level}
        insert_audit(con, by, station_id, "end_alert", detail, target=alert.id, ip=ip)
    return dataclasses.replace(alert, ended_at=at, ended_by=by)


# --------------------------------------------------------------------------- check-ins, tracks

#: what a check-in says: the patroller arrived at the stop, or left it
CHECK_IN_KINDS = ("arrived", "left")
#: the longest note a check-in keeps (characters)
MAX_NOTE_CHARS = 2000


def add_check_in(
    con: sqlite3.Connection,
    station_id: str,
    *,
    client_id: str,
    plan_id: int,
    slice_id: str,
    route_index: int,
    stop_index: int,
    micro_id: str,
    patroller_id: str,
    kind: str,
    client_at: dt.datetime,
    username: str,
    lon: float | None = None,
    lat: float | None = None,
    accuracy_m: float | None = None,
    inside: bool | None = None,
    distance_m: float | None = None,
    note: str = "",
) -> tuple[int, bool]:
    """Store a check-in of the phone page; return its id and whether it is new.

    The phone makes ``client_id`` when the button is pressed and sends the check-in until the
    server answers, so the same check-in may come twice (an answer lost on a bad connection):
    the second is not stored again, and the answer is the first one's id with ``False``.
    The caller checks that the stop is one of the user's (:mod:`gridplan.web.views.patrol`).
    """
    if kind not in CHECK_IN_KINDS:
        msg = f"check-in kind {kind!r} is unknown; use one of {', '.join(CHECK_IN_KINDS)}"
        raise InputError(msg)
    with transaction(con):
        cur = con.execute(
            "INSERT INTO check_ins (station_id, client_id, plan_id, slice_id, route_index, "
            "stop_index, micro_id, patroller_id, kind, client_at, received_at, lon, lat, "
            "accuracy_m, inside, distance_m, note, username) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (station_id, client_id) DO NOTHING",
            (
                station_id,
                client_id,
                plan_id,
                slice_id,
                route_index,
                stop_index,
                micro_id,
                patroller_id,
                kind,
                _utc(client_at),
                now(),
                lon,
                lat,
                accuracy_m,
                None if inside is None else int(inside),
                distance_m,
                note[:MAX_NOTE_CHARS],
                username,
            ),
        )
        created = cur.rowcount > 0
        row = con.execute(
            "SELECT id FROM check_ins WHERE station_id=? AND client_id=?", (station_id, client_id)
        ).fetchone()
    return int(row["id"]), created


def list_check_ins(
    con: sqlite3.Connection,
    station_id: str,
    *,
    plan_ids: Sequence[int] | None = None,
    patroller_id: str | None = None,
    since: dt.datetime | None = None,
    before: dt.datetime | None = None,
) -> list[sqlite3.Row]:
    """The station's check-ins (of ``plan_ids``, of ``patroller_id``), in the phones' order.

    ``since`` and ``before``: only check-ins made (by the phone's clock) at or after, and
    before, these moments.
    """
    where, args = ["station_id=?"], [station_id]
    if since is not None:
        where.append("client_at>=?")
        args.append(_utc(since))
    if before is not None:
        where.append("client_at<?")
        args.append(_utc(before))
    if plan_ids is not None:
        ids = [int(i) for i in plan_ids][:900]
        where.append(f"plan_id IN ({','.join('?' * len(ids)) or 'NULL'})")
        args += ids
    if patroller_id is not None:
        where.append("patroller_id=?")
        args.append(patroller_id)
    return con.execute(
        f"SELECT * FROM check_ins WHERE {' AND '.join(where)} ORDER BY client_at, id", args
    ).fetchall()


def save_track_batch(
    con: sqlite3.Connection,
    station_id: str,
    fixes: pd.DataFrame,
    *,
    patroller_id: str,
    source_name: str,
    username: str,
    n_rejected: int = 0,
    summary: Mapping[str, Any] | None = None,
    ip: str = "",
) -> tuple[int, int]:
    """Store a track's fixes as one batch (audited); return ``(batch_id, fixes stored)``.

    ``fixes`` is a FIXES table (:mod:`gridplan.tracks`): ``time`` (timezone-aware), ``lon``
    and ``lat`` (WGS 84), and optionally ``accuracy_m``, ``source`` and ``patroller`` (else
    ``patroller_id`` for every fix).
    """
    missing = {"time", "lon", "lat"} - set(fixes.columns)
    if missing:
        msg = f"track fixes need the columns time, lon and lat; missing {sorted(missing)}"
        raise InputError(msg)
    times = pd.to_datetime(fixes["time"])
    if times.dt.tz is None:
        msg = "track fix times must carry their timezone (read them with the station's)"
        raise InputError(msg)
    utc = times.dt.tz_convert("UTC").map(lambda t: t.isoformat(timespec="seconds"))
    n = len(fixes)

    def column(name: str, default: Any) -> list:
        if name not in fixes.columns:
            return [default] * n
        return [None if pd.isna(v) else v for v in fixes[name]]

    who = [str(p) if p is not None else patroller_id for p in column("patroller", patroller_id)]
    accuracy = [None if v is None else float(v) for v in column("accuracy_m", None)]
    sources = [str(v) for v in column("source", "")]
    with transaction(con):
        cur = con.execute(
            "INSERT INTO track_batches (station_id, patroller_id, source_name, created_at, "
            "created_by, n_fixes, n_rejected, summary_json) VALUES (?,?,?,?,?,?,?,?)",
            (
                station_id,
                patroller_id,
                source_name,
                now(),
                username,
                n,
                int(n_rejected),
                json.dumps(dict(summary or {}), ensure_ascii=False, default=str),
            ),
        )
        batch_id = int(cur.lastrowid)
        con.executemany(
            "INSERT INTO track_fixes (batch_id, station_id, patroller_id, time, lon, lat, "
            "accuracy_m, source) VALUES (?,?,?,?,?,?,?,?)",
            zip(
                [batch_id] * n,
                [station_id] * n,
                who,
                utc,
                fixes["lon"].astype(float),
                fixes["lat"].astype(float),
                accuracy,
                sources,
                strict=True,
            ),
        )
        detail = {"patroller": patroller_id, "added": n, "rejected": int(n_rejected)}
        detail["batch_id"] = batch_id
        insert_audit(con, username, station_id, "import_tracks", detail, target=source_name, ip=ip)
    return batch_id, n


def load_fixes(
    con: sqlite3.Connection,
    station_id: str,
    timezone: str,
    *,
    before: dt.datetime | None = None,
    since: dt.datetime | None = None,
    patroller_id: str | None = None,
) -> pd.DataFrame:
    """The station's stored fixes as a FIXES table, times in ``timezone``, by patroller and time.

    ``before``: only fixes earlier than that moment; ``since``: only those at or after it.
    """
    where, args = ["station_id=?"], [station_id]
    if since is not None:
        where.append("time>=?")
        args.append(_utc(since))
    if before is not None:
        where.append("time<?")
        args.append(_utc(before))
    if patroller_id is not None:
        where.append("patroller_id=?")
        args.append(patroller_id)
    df = _frame(
        "SELECT patroller_id AS patroller, time, lon, lat, accuracy_m, source FROM track_fixes "
        f"WHERE {' AND '.join(where)} ORDER BY patroller_id, time",
        con,
        params=args,
    )
    time = pd.to_datetime(df["time"], utc=True, format="ISO8601").dt.tz_convert(timezone)
    return df.assign(
        time=time,
        lon=df["lon"].astype(float),
        lat=df["lat"].astype(float),
        accuracy_m=df["accuracy_m"].astype(float),
    )


def next_fixes(
    con: sqlite3.Connection,
    station_id: str,
    timezone: str,
    *,
    at: dt.datetime,
    patrollers: Sequence[str],
) -> pd.DataFrame:
    """Each of ``patrollers``' first fix at or after ``at`` (a FIXES table; none: no row)."""
    rows = []
    for who in patrollers:
        row = con.execute(
            "SELECT patroller_id AS patroller, time, lon, lat, accuracy_m, source FROM "
            "track_fixes WHERE station_id=? AND patroller_id=? AND time>=? ORDER BY time LIMIT 1",
            (station_id, str(who), _utc(at)),
        ).fetchone()
        if row is not None:
            rows.append(dict(row))
    df = pd.DataFrame(rows, columns=["patroller", "time", "lon", "lat", "accuracy_m", "source"])
    time = pd.to_datetime(df["time"], utc=True, format="ISO8601").dt.tz_convert(timezone)
    return df.assign(time=time, accuracy_m=df["accuracy_m"].astype(float))


#: Columns of the kept presence (the ``presence`` table): the columns of
#: :data:`gridplan.tracks.presence.PRESENCE_TABLE_COLUMNS` under the store's names (``slice_id``,
#: ``patroller_id``, ``unknown_minutes``); micro-grid ``''`` holds the time in no micro-grid
#: and the unknown time (:func:`gridplan.web.retention.kept_presence`).
PRESENCE_COLUMNS = (
    "date", "slice_id", "patroller_id", "micro_id", "minutes", "unknown_minutes"
)  # fmt: skip


def load_presence(
    con: sqlite3.Connection, station_id: str, *, date: str | None = None
) -> pd.DataFrame:
    """The station's kept presence (minutes per date, slice, patroller and micro-grid)."""
    where, args = ["station_id=?"], [station_id]
    if date is not None:
        where.append("date=?")
        args.append(date)
    return _frame(
        f"SELECT {', '.join(PRESENCE_COLUMNS)} FROM presence WHERE {' AND '.join(where)} "
        "ORDER BY date, slice_id, patroller_id, micro_id",
        con,
        params=args,
    )


def purge_positions(
    con: sqlite3.Connection,
    station_id: str,
    *,
    before: dt.datetime,
    presence: pd.DataFrame,
    username: str,
    retention_days: int,
    ip: str = "",
) -> dict[str, int]:
    """Delete raw positions older than ``before``, keeping ``presence``; audited, one transaction.

    ``presence`` (columns :data:`PRESENCE_COLUMNS`) is what the fixes to delete amount to; its
    minutes are added to those kept already. Then the station's track fixes before ``before``
    are deleted and the positions of its check-ins before it set to NULL (the check-in, its
    time, whether it was inside the micro-grid and its note stay). Returns the counts, which
    the audit entry also records (written when anything was deleted).
    """
    cutoff = _utc(before)
    at = now()
    rows = [
        (
            station_id,
            str(r["date"]),
            str(r["slice_id"]),
            str(r["patroller_id"]),
            str(r["micro_id"]),
            float(r["minutes"]),
            float(r["unknown_minutes"]),
            at,
        )
        for r in presence.to_dict("records")
    ]
    with transaction(con):
        con.executemany(
            "INSERT INTO presence (station_id, date, slice_id, patroller_id, micro_id, minutes, "
            "unknown_minutes, computed_at) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT (station_id, date, slice_id, patroller_id, micro_id) DO UPDATE SET "
            "minutes=presence.minutes+excluded.minutes, "
            "unknown_minutes=presence.unknown_minutes+excluded.unknown_minutes, "
            "computed_at=excluded.computed_at",
            rows,
        )
        fixes = con.execute(
            "DELETE FROM track_fixes WHERE station_id=? AND time<?", (station_id, cutoff)
        ).rowcount
        positions = con.execute(
            "UPDATE check_ins SET lon=NULL, lat=NULL, accuracy_m=NULL, position_deleted_at=? "
            "WHERE station_id=? AND client_at<? AND position_deleted_at IS NULL "
            "AND (lon IS NOT NULL OR lat IS NOT NULL OR accuracy_m IS NOT NULL)",
            (now(), station_id, cutoff),
        ).rowcount
        counts = {"fixes": fixes, "positions": positions, "presence_rows": len(rows)}
        if fixes or positions:  # a daily run that deletes nothing leaves no entry
            detail = {"before": cutoff, "retention_days": retention_days, **counts}
            insert_audit(
                con,
                username,
                station_id,
                "purge_tracks",
                detail,
                target=before.date().isoformat(),  # the first day kept, station time
                ip=ip,
            )
    return counts
