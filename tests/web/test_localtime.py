"""Times in the web UI are the station's local time, labelled with its zone; the store keeps UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from _web import login

from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.localtime import format_local

STORED = "2024-06-08T06:05:00+00:00"  # UTC, as the store writes it
SHANGHAI = "2024-06-08 14:05"  # S02, Asia/Shanghai (UTC+8)
PORTLAND = "2024-06-07 23:05"  # S01, America/Los_Angeles (PDT, UTC-7)
SECONDS = "2024-06-08 14:05:09"
LONDON = "2024-01-01 23:30 (Europe/London)"  # GMT in winter


@pytest.mark.parametrize(
    ("value", "tz", "kwargs", "expected"),
    [
        (STORED, "Asia/Shanghai", {"label": False}, SHANGHAI),
        (STORED, "America/Los_Angeles", {}, f"{PORTLAND} (America/Los_Angeles)"),
        # naive text is UTC, as the store writes it
        ("2024-06-08T06:05:09", "Asia/Shanghai", {"label": False, "seconds": True}, SECONDS),
        (dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.UTC), "Europe/London", {}, LONDON),
        (None, "Asia/Shanghai", {}, ""),
        ("", "Asia/Shanghai", {}, ""),
        ("yesterday", "Asia/Shanghai", {}, "yesterday"),
    ],
)
def test_format_local(value, tz, kwargs, expected):
    assert format_local(value, tz, **kwargs) == expected


@pytest.mark.parametrize(("lang", "label"), [("zh", "北京时间"), ("en", "Beijing time")])
def test_china_standard_time_is_called_beijing_time(web_app, lang, label):
    from flask_babel import force_locale

    with web_app.test_request_context(), force_locale(lang):
        assert format_local(STORED, "Asia/Shanghai") == f"{SHANGHAI} ({label})"
        assert format_local(STORED, "Asia/Chongqing") == f"{SHANGHAI} ({label})"


@pytest.fixture
def stamped(web_app):
    """Every stored creation time set to STORED, so pages show one known instant."""
    con = connect(web_app.config["DATABASE"])
    for table in ("grids", "incident_batches", "hotspot_runs", "plans", "jobs"):
        con.execute(f"UPDATE {table} SET created_at=?", (STORED,))
    con.execute("UPDATE audit SET at=?", (STORED,))
    if not con.execute("SELECT 1 FROM incident_batches WHERE station_id='S02'").fetchone():
        con.execute(
            "INSERT INTO incident_batches (station_id, source_name, created_at, created_by, "
            "n_rows, n_kept, n_rejected, n_already, summary_json) "
            "VALUES ('S02', 'jq.csv', ?, 'test', 1, 1, 0, 0, '{}')",
            (STORED,),
        )
    store.audit(con, "test", "S02", "login", "")
    con.execute("UPDATE audit SET at=?", ("2024-06-08T06:05:09+00:00",))
    plan = con.execute("SELECT id FROM plans WHERE station_id='S02'").fetchone()[0]
    job = store.add_job(con, "S02", "plan", {"date": "2024-06-09"}, "test")
    con.execute("UPDATE jobs SET created_at=? WHERE id=?", (STORED, job))
    con.close()
    return {"plan": plan, "job": job}


def page(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, path
    return resp.get_data(as_text=True)


def test_every_page_shows_the_stations_local_time_labelled(client, web_store, stamped):
    login(client, web_store["users"][("S02", "admin")])  # zh: the browser default
    pages = {
        "/": [f"{SHANGHAI} (北京时间)", "时间 (北京时间)</th>", f"<td>{SHANGHAI}</td>"],
        "/import/": ["时间 (北京时间)</th>", f">{SHANGHAI}</a>"],
        "/plans/": [f"{SHANGHAI} (北京时间)"],
        f"/plans/{stamped['plan']}": [f"{SHANGHAI} (北京时间)"],
        f"/plans/jobs/{stamped['job']}": [f"{SHANGHAI} (北京时间)"],
        "/downloads/": [f"{SHANGHAI} (北京时间)"],
        "/admin/audit": ["时间 (北京时间)</th>", f"<td>{SHANGHAI}:09</td>"],
    }
    for path, expected in pages.items():
        html = page(client, path)
        for text in expected:
            assert text in html, (path, text)
        assert "06:05" not in html, path  # the stored UTC time is never shown


def test_another_station_sees_its_own_zone_in_english(client, web_store, stamped):
    client.get("/lang/en")
    login(client, web_store["users"][("S01", "officer")])
    html = page(client, "/")
    assert f"{PORTLAND} (America/Los_Angeles)" in html
    assert "When (America/Los_Angeles)</th>" in html
    assert "Beijing time" not in html and "06:05" not in html
