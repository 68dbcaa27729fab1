"""The Alerts page: declare, list and end alerts; stations kept apart; plans take them in."""

import datetime as dt
import html
import re

import pytest
from _web import csrf_token
from _web import login

from gridplan.web import store
from gridplan.web.db import connect

CELL = "S02-B3-M003"


def sign_in(client, web_store, station="S02", role="officer", lang="en"):
    client.get(f"/lang/{lang}")
    login(client, web_store["users"][(station, role)])
    return client


def declare(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/alerts/"),
        "level": "red",
        "cells": CELL,
        "hours": "72",
        "until": "",
        "reason": "robbery series",
    }
    data.update(fields)
    return client.post("/alerts/", data=data)


def station_alerts(app, station="S02"):
    con = connect(app.config["DATABASE"])
    try:
        return store.list_alerts(con, station)
    finally:
        con.close()


@pytest.mark.both_stores
def test_an_officer_declares_lists_and_ends_an_alert(client, web_app, web_store):
    sign_in(client, web_store)
    resp = declare(client, cells=f"{CELL}, S02-B3-M002")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    (alert,) = station_alerts(web_app)
    assert alert.micro_ids == ("S02-B3-M002", CELL) and alert.created_by.startswith("s02-")
    assert round((alert.ends - alert.starts).total_seconds() / 3600) == 72
    page = client.get("/alerts/").get_data(as_text=True)
    assert 'id="active-alerts"' in page and "robbery series" in page and CELL in page
    assert f'id="end-{alert.id}"' in page
    assert "Beijing time" in page  # times in the station's time, labelled
    # the grid map shows it, in the alert colour
    frame = client.get("/map/frame").get_data(as_text=True)
    assert "micro-grids under alerts" in frame and "robbery series" in frame

    token = csrf_token(client, "/alerts/")
    resp = client.post(f"/alerts/{alert.id}/end", data={"csrf_token": token})
    assert resp.status_code == 302
    (ended,) = station_alerts(web_app)
    assert ended.ended_at is not None and ended.ended_by == alert.created_by
    page = client.get("/alerts/").get_data(as_text=True)
    assert 'id="no-alerts"' in page and 'id="past-alerts"' in page
    again = client.post(f"/alerts/{alert.id}/end", data={"csrf_token": token})
    assert again.status_code == 409 and "already over" in again.get_data(as_text=True)
    con = connect(web_app.config["DATABASE"])
    try:
        actions = con.execute(
            "SELECT action, target FROM audit WHERE station_id='S02' AND action LIKE '%alert'"
        ).fetchall()
    finally:
        con.close()
    assert [tuple(r) for r in actions] == [("add_alert", alert.id), ("end_alert", alert.id)]


@pytest.mark.both_stores
def test_another_station_never_sees_or_ends_the_alert(client, web_app, web_store):
    sign_in(client, web_store)
    assert declare(client).status_code == 302
    (alert,) = station_alerts(web_app)
    client.get("/logout")
    other = web_app.test_client()
    sign_in(other, web_store, station="S01")
    page = other.get("/alerts/").get_data(as_text=True)
    assert "robbery series" not in page and CELL not in page
    token = csrf_token(other, "/alerts/")
    resp = other.post(f"/alerts/{alert.id}/end", data={"csrf_token": token})
    assert resp.status_code == 404
    assert station_alerts(web_app)[0].ended_at is None
    assert station_alerts(web_app, "S01") == []


@pytest.mark.parametrize("role", ["analyst", "volunteer_lead"])
def test_other_roles_read_but_cannot_declare(client, web_store, role):
    sign_in(client, web_store, role=role)
    page = client.get("/alerts/")
    if role == "analyst":
        assert page.status_code == 200
        assert 'id="add-alert"' not in page.get_data(as_text=True)
    else:  # a volunteer team lead sees route sheets only
        assert page.status_code == 403
    resp = client.post("/alerts/", data={"level": "red", "cells": CELL, "hours": "2"})
    assert resp.status_code in (400, 403)


@pytest.mark.parametrize(
    ("lang", "fields", "message"),
    [
        ("en", {"level": "orange"}, "alert colour 'orange' is unknown; use red, yellow or blue"),
        ("zh", {"level": "orange"}, "预警颜色"),
        ("en", {"cells": "S02-B9-M999"}, "S02-B9-M999 are not in the station's grid"),
        ("zh", {"cells": "S02-B9-M999"}, "S02-B9-M999"),
        ("en", {"until": "2001-01-01T08:00"}, "not after it starts"),  # the end wins
        ("en", {"hours": "many"}, "Duration many is not a number of hours"),
        ("zh", {"hours": "many"}, "时长"),
        ("en", {"hours": "", "until": "soon"}, "End soon is not a date and time"),
        ("en", {"reason": " "}, "the alert needs a reason"),
        ("zh", {"reason": " "}, "预警需要原因"),
    ],
)
def test_bad_alerts_are_422_in_the_users_language(
    client, web_app, web_store, lang, fields, message
):
    sign_in(client, web_store, lang=lang)
    resp = declare(client, **fields)
    assert resp.status_code == 422
    body = html.unescape(resp.get_data(as_text=True))
    assert message in body, re.sub(r"\s+", " ", body)[-2000:]
    assert station_alerts(web_app) == []


def test_a_plan_job_takes_the_alerts_of_its_day_and_lists_them(client, web_app, web_store):
    sign_in(client, web_store)
    con = connect(web_app.config["DATABASE"])
    try:
        tz = store.station_config(con, "S02").tz
        t0 = dt.datetime(2024, 6, 5, 0, tzinfo=tz)
        red = store.add_alert(
            con, "S02", level="red", micro_ids=[CELL], starts=t0,
            ends=t0 + dt.timedelta(hours=72), reason="robbery series", created_by="me",
        )  # fmt: skip
        store.add_alert(  # another day: not taken
            con, "S02", level="yellow", micro_ids=["S02-B1-M001"],
            starts=t0 + dt.timedelta(days=5), ends=t0 + dt.timedelta(days=6), reason="later",
            created_by="me",
        )  # fmt: skip
    finally:
        con.close()
    data = {
        "csrf_token": csrf_token(client, "/plans/"),
        "date": "2024-06-05",
        "slices": ["morning"],
        "patrollers": ["V09", "A09"],
        "dwell_top": "15",
        "dwell_high": "12",
        "dwell_other": "10",
        "seed": "0",
    }
    resp = client.post("/plans/", data=data)
    assert resp.status_code == 302
    status = client.get(resp.headers["Location"] + ".json").get_json()
    assert status["status"] == "done", status
    plan_page = client.get(status["url"]).get_data(as_text=True)
    section = plan_page.split('id="plan-alerts"')[1].split("</section>")[0]
    assert f'data-alert-id="{red.id}"' in section and "later" not in section
    cell_row = re.search(rf'<tr class="(\w*)" data-cell="{CELL}">.*?</tr>', section)
    assert cell_row and cell_row.group(1) == "", section  # not short of its minimum
    got = int(re.search(r"<td>(\d+) / 30</td>", cell_row.group(0)).group(1))
    assert got >= 30
    plan_id = int(status["url"].rstrip("/").split("/")[-1])
    frame = client.get(f"/plans/{plan_id}/map").get_data(as_text=True)
    assert "micro-grids under alerts" in frame and "robbery series" in frame
    sheets = client.get(f"/plans/{plan_id}/sheets").get_data(as_text=True)
    assert "Red alert until 06-08 00:00" in sheets


def test_an_end_time_in_station_time_wins_over_the_duration(client, web_app, web_store):
    sign_in(client, web_store)
    con = connect(web_app.config["DATABASE"])
    try:
        tz = store.station_config(con, "S02").tz
    finally:
        con.close()
    end = (dt.datetime.now(tz) + dt.timedelta(days=2)).replace(
        hour=20, minute=0, second=0, microsecond=0
    )
    resp = declare(client, level="yellow", until=end.strftime("%Y-%m-%dT%H:%M"))
    assert resp.status_code == 302
    (alert,) = station_alerts(web_app)
    assert alert.ends == end and alert.level == "yellow"
