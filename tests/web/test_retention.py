"""Retention of raw positions (gridplan.web.retention): old fixes and check-in positions are
deleted, presence per micro-grid is kept, every deletion is audited; and the store upgrade to
version 7 (patroller role, check-ins, tracks) keeps users and data."""

import datetime as dt
import json
import sqlite3
import zoneinfo
from pathlib import Path

import pandas as pd
import pytest
from _patrol import route_stops
from _patrol import today

from gridplan.station.config import default_config
from gridplan.tracks.presence import compute_presence
from gridplan.web import jobs
from gridplan.web import retention
from gridplan.web import store
from gridplan.web.db import SCHEMA_VERSION
from gridplan.web.db import connect
from gridplan.web.db import init_store

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
V6_SCHEMA = Path(__file__).parents[1] / "data" / "store_schema_v6.sql"


def fixes_at(start: dt.datetime, seconds, lonlat) -> pd.DataFrame:
    """A FIXES table of patroller V09: one fix per offset in ``seconds``, at ``lonlat[k]``."""
    return pd.DataFrame(
        {
            "patroller": "V09",
            "time": [start + dt.timedelta(seconds=s) for s in seconds],
            "lon": [p[0] for p in lonlat],
            "lat": [p[1] for p in lonlat],
            "accuracy_m": 5.0,
            "source": "gpx",
        }
    )


@pytest.fixture
def con(patrol_app):
    c = connect(patrol_app.config["DATABASE"])
    yield c
    c.close()


@pytest.fixture
def cells(patrol_store):
    """Two stops of V09 in different micro-grids: (micro id, (lon, lat)) each."""
    stops = route_stops(patrol_store["database"], "S02", "V09")
    seen = {}
    for s in stops:
        seen.setdefault(s["micro_id"], (s["lon"], s["lat"]))
    (a, pa), (b, pb) = list(seen.items())[:2]
    return (a, pa), (b, pb)


def test_kept_presence_is_what_compliance_measures_with_gaps_unknown(con, cells):
    (a, pa), (b, pb) = cells
    grid = store.load_grid(con, store.latest_grid(con, "S02")["id"])
    cfg = store.station_config(con, "S02")
    start = dt.datetime(2024, 3, 1, 8, 0, tzinfo=TZ)  # the morning slice
    fixes = fixes_at(start, [0, 60, 120, 180, 600], [pa, pa, pa, pb, pb])
    got = retention.kept_presence(fixes, grid, cfg)
    assert list(got.columns) == list(store.PRESENCE_COLUMNS)
    assert set(got["slice_id"]) == {"morning"} and set(got["date"]) == {"2024-03-01"}
    minutes = {r.micro_id: (r.minutes, r.unknown_minutes) for r in got.itertuples()}
    # 2 minutes standing in a, then a walk to b that crosses micro-grids' edges; the last
    # 7 minutes are a gap longer than max_gap_s: unknown time, in no micro-grid
    assert minutes[a][0] >= 2.0 and minutes[b][0] > 0 and minutes[""][1] == pytest.approx(7.0)
    assert got["minutes"].sum() == pytest.approx(3.0)
    # the minutes per micro-grid are compute_presence's, as compliance reports them
    measured = compute_presence(fixes, grid, cfg).minutes
    cells_only = got[got["micro_id"] != ""].set_index("micro_id")["minutes"]
    assert cells_only.to_dict() == pytest.approx(
        measured.groupby("micro_id")["minutes"].sum().to_dict()
    )
    # a night fix after midnight belongs to the evening's shift date
    night = fixes_at(dt.datetime(2024, 3, 2, 1, 0, tzinfo=TZ), [0, 60], [pa, pa])
    got = retention.kept_presence(night, grid, cfg)
    assert got[["date", "slice_id", "minutes"]].values.tolist() == [["2024-03-01", "night", 1.0]]
    # fixes hours apart are two outings: the time between them is not unknown time
    two = fixes_at(start, [0, 60, 6 * 3600, 6 * 3600 + 60], [pa] * 4)
    got = retention.kept_presence(two, grid, cfg)
    assert got["unknown_minutes"].sum() == 0 and got["minutes"].sum() == pytest.approx(2.0)
    assert retention.kept_presence(two, None, cfg).empty  # no grid, no micro-grid to keep


def test_the_purge_deletes_old_raw_positions_keeps_presence_and_audits(con, cells, patrol_store):
    (a, pa), _ = cells
    day = today()
    old_start = dt.datetime.combine(day - dt.timedelta(days=100), dt.time(8), tzinfo=TZ)
    new_start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(8), tzinfo=TZ)
    store.save_track_batch(
        con, "S02", fixes_at(old_start, range(0, 601, 30), [pa] * 21),
        patroller_id="V09", source_name="old.gpx", username="test",
    )  # fmt: skip
    store.save_track_batch(
        con, "S02", fixes_at(new_start, range(0, 301, 30), [pa] * 11),
        patroller_id="V09", source_name="new.gpx", username="test",
    )  # fmt: skip
    stop = route_stops(patrol_store["database"], "S02", "V09")[0]
    for client_id, when in (("old-check-in", old_start), ("new-check-in", new_start)):
        store.add_check_in(
            con, "S02", client_id=client_id, plan_id=stop["plan_id"], slice_id="morning",
            route_index=stop["route_index"], stop_index=0, micro_id=a, patroller_id="V09",
            kind="arrived", client_at=when, username="s02-patroller", lon=pa[0], lat=pa[1],
            accuracy_m=6.0, inside=True, distance_m=0.0, note="看到可疑车辆",
        )  # fmt: skip
    # another station's data is not touched
    store.save_track_batch(
        con, "S03", fixes_at(old_start, [0, 30], [pa, pa]),
        patroller_id="V09", source_name="s03.gpx", username="test",
    )  # fmt: skip

    counts = retention.purge_station(con, "S02", today=day)
    assert counts["fixes"] == 21 and counts["positions"] == 1
    assert counts["before"] == (day - dt.timedelta(days=90)).isoformat()
    left = con.execute("SELECT station_id, COUNT(*) FROM track_fixes GROUP BY station_id")
    assert dict(left.fetchall()) == {"S02": 11, "S03": 2}
    presence = store.load_presence(con, "S02")
    assert presence.to_dict("records") == [
        {
            "date": old_start.date().isoformat(), "slice_id": "morning",
            "patroller_id": "V09", "micro_id": a, "minutes": 10.0, "unknown_minutes": 0.0,
        }
    ]  # fmt: skip
    rows = {r["client_id"]: r for r in store.list_check_ins(con, "S02")}
    old, new = rows["old-check-in"], rows["new-check-in"]
    assert (old["lon"], old["lat"], old["accuracy_m"]) == (None, None, None)
    assert old["position_deleted_at"] and old["inside"] == 1 and old["note"] == "看到可疑车辆"
    assert (new["lon"], new["lat"]) == pa and new["position_deleted_at"] is None
    audit = con.execute(
        "SELECT username, station_id, target, detail_json FROM audit WHERE action='purge_tracks'"
    ).fetchall()
    assert len(audit) == 1 and tuple(audit[0])[:3] == ("retention", "S02", counts["before"])
    assert json.loads(audit[0]["detail_json"]) == {
        "before": dt.datetime.combine(day - dt.timedelta(days=90), dt.time(), tzinfo=TZ)
        .astimezone(dt.UTC)
        .isoformat(),
        "retention_days": 90,
        "fixes": 21,
        "positions": 1,
        "presence_rows": 1,
    }
    # nothing more to delete: no second entry
    again = retention.purge_station(con, "S02", today=day)
    assert (again["fixes"], again["positions"]) == (0, 0)
    assert con.execute("SELECT COUNT(*) FROM audit WHERE action='purge_tracks'").fetchone()[0] == 1


def test_a_track_deleted_in_two_runs_counts_each_interval_once(con, cells):
    (_a, pa), _ = cells
    day = today()
    # a track from 23:50 to 00:10 local, 100 days ago: the first run deletes up to midnight
    start = dt.datetime.combine(day - dt.timedelta(days=101), dt.time(23, 50), tzinfo=TZ)
    fixes = fixes_at(start, range(0, 1201, 60), [pa] * 21)
    store.save_track_batch(
        con, "S02", fixes, patroller_id="V09", source_name="t.gpx", username="test"
    )
    whole = retention.kept_presence(
        fixes, store.load_grid(con, store.latest_grid(con, "S02")["id"]), default_config()
    )
    retention.purge_station(con, "S02", today=day - dt.timedelta(days=10))
    assert con.execute("SELECT COUNT(*) FROM track_fixes").fetchone()[0] == 11  # from 00:00
    retention.purge_station(con, "S02", today=day)
    assert con.execute("SELECT COUNT(*) FROM track_fixes").fetchone()[0] == 0
    kept = store.load_presence(con, "S02")
    assert kept["minutes"].sum() == pytest.approx(20.0) == whole["minutes"].sum()


def test_the_purge_command_and_the_daily_job(patrol_app, runner):
    from gridplan.cli import main

    instance = str(patrol_app.instance_path)
    result = runner.invoke(main, ["tracks", "purge", "--station", "S02", "--instance", instance])
    assert result.exit_code == 0, result.output
    assert "station S02: before" in result.output and "0 track fixes" in result.output
    result = runner.invoke(main, ["tracks", "purge", "--instance", instance])
    assert "station S02" in result.output and "station S03" in result.output
    result = runner.invoke(main, ["tracks", "purge", "--station", "S99", "--instance", instance])
    assert result.exit_code == 2 and "S99" in result.output
    database = patrol_app.config["DATABASE"]
    con = connect(database)
    try:
        queued = store.queue_daily_jobs(con, "purge", "retention")
        assert len(queued) == 2
        assert store.queue_daily_jobs(con, "purge", "retention") == []  # once a day each
        job_id = queued[0]
        store.update_job(con, job_id, status="running")
        jobs.run_job(database, job_id, {})
        assert con.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()[0] == "done"
    finally:
        con.close()


def _v6_store(path: Path) -> None:
    """A version-6 store: a station, its admin and volunteer lead (with a session), an audit."""
    con = sqlite3.connect(path)
    con.executescript(V6_SCHEMA.read_text("utf-8"))
    with con:
        con.execute("INSERT INTO meta VALUES ('schema_version', '6')")
        con.execute(
            "INSERT INTO stations (id, name, config_toml, created_at) VALUES ('S9', 'x', '', '')"
        )
        for name, role, team in (("ann", "admin", None), ("lea", "volunteer_lead", "V01")):
            con.execute(
                "INSERT INTO users (username, password_hash, station_id, role, team_id, "
                "created_at, login_key) VALUES (?, 'h', 'S9', ?, ?, 't', ?)",
                (name, role, team, name),
            )
        con.execute("INSERT INTO sessions VALUES ('tok', 2, 't')")
        con.execute("INSERT INTO audit (at, username, action) VALUES ('t', 'ann', 'login')")
    con.close()


def test_a_version_6_store_is_upgraded_keeping_users_sessions_and_audit(tmp_path):
    path = tmp_path / "gridplan.sqlite"
    _v6_store(path)
    assert init_store(path) is False
    assert (tmp_path / "gridplan.sqlite.v6.bak").exists()
    fresh_path = tmp_path / "fresh.sqlite"
    init_store(fresh_path)
    con, fresh = connect(path), connect(fresh_path)
    try:
        assert int(
            con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        ) == (SCHEMA_VERSION)
        tables = "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
        names = [r[0] for r in fresh.execute(tables)]
        assert [r[0] for r in con.execute(tables)] == names
        for table in names:
            got = [tuple(r) for r in con.execute(f"PRAGMA table_info({table})")]
            assert got == [tuple(r) for r in fresh.execute(f"PRAGMA table_info({table})")], table
        indexes = "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        assert {r[0] for r in con.execute(indexes)} == {r[0] for r in fresh.execute(indexes)}
        users = con.execute("SELECT id, username, role, team_id, login_key FROM users").fetchall()
        assert [tuple(r) for r in users] == [
            (1, "ann", "admin", None, "ann"),
            (2, "lea", "volunteer_lead", "V01", "lea"),
        ]
        assert con.execute("SELECT user_id FROM sessions").fetchone()[0] == 2
        assert con.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        # the new role, tied to a roster entry
        add = (
            "INSERT INTO users (username, password_hash, station_id, role, team_id, created_at, "
            "login_key) VALUES (?, 'h', 'S9', 'patroller', ?, 't', ?)"
        )
        con.execute(add, ("pat", "V01", "pat"))
        with pytest.raises(sqlite3.IntegrityError):
            con.execute(add, ("nobody", None, "nobody"))
    finally:
        con.close()
        fresh.close()
