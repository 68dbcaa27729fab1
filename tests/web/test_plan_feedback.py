"""A plan made in the web UI takes what patrols actually did into account (issue 19).

The patrol store's lattice station S02 has a morning plan for today. Here an officer also
plans yesterday through the form; the patrols check in at every stop of both days but one
micro-grid's, whose stops are missed twice, and A09 walks yesterday's route with a phone
track instead of checking in. The next plan, made through the form with the shipped defaults
(the box ticked, the station's ``presence_days``), carries that feedback in its request, and
its page and route sheets flag the micro-grid in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from _patrol import today
from _tracks import route_fixes
from _web import csrf_token
from _web import login

from gridplan.station.config import default_config
from gridplan.web import store
from gridplan.web.db import connect

TZ = "Asia/Shanghai"


@pytest.fixture
def app(patrol_store, tmp_path):
    """A Flask app on a private copy of the patrol store, plans of 1 s per slice, inline."""
    import shutil

    from gridplan.web import create_app

    database = tmp_path / "gridplan.sqlite"
    shutil.copyfile(patrol_store["database"], database)
    shutil.copytree(patrol_store["instance"] / "networks", tmp_path / "networks")
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(database),
            "SECRET_KEY": "test",
            "JOBS_INLINE": True,
            "PLAN_TIME_LIMIT_S": 1.0,
            "PLAN_WORKERS": 1,
        },
        instance_path=str(tmp_path),
    )


def officer(app, patrol_store, station="S02", lang="en"):
    client = app.test_client()
    client.get(f"/lang/{lang}")
    login(client, patrol_store["users"][(station, "officer")])
    return client


def plan_form(client, date: dt.date, *, shipped=True, **fields):
    """Post the plan form as the page renders it (``shipped``: the feedback box as it comes)."""
    page = client.get("/plans/").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(client, "/plans/"),
        "date": date.isoformat(),
        "slices": ["morning"],
        "patrollers": ["V09", "A09"],
        "seed": "0",
    }
    if shipped:  # what the form sends untouched: its hidden marker, the box and the days
        assert 'name="use_presence" value="1" id="use-presence" checked' in page
        days = re.search(r'name="presence_days" id="presence-days"[^>]*value="(\d+)"', page)
        data.update(presence_choice="1", use_presence="1", presence_days=days.group(1))
    data.update(fields)
    return client.post("/plans/", data=data)


def made_plan(client, resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    job = client.get(resp.headers["Location"] + ".json").get_json()
    assert job["status"] == "done", job
    return int(job["url"].rsplit("/", 1)[1])


def _plan(app, plan_id: int):
    con = connect(app.config["DATABASE"])
    try:
        row = store.get_plan_row(con, plan_id, "S02")
        return store.plan_from_row(row), json.loads(row["params_json"])
    finally:
        con.close()


def _check_in_pair(con, plan_id, s, k, i, stop):
    for kind, at in (("arrived", stop.arrival), ("left", stop.departure)):
        store.add_check_in(
            con,
            "S02",
            client_id=str(uuid.uuid4()),
            plan_id=plan_id,
            slice_id=s.slice_id,
            route_index=k,
            stop_index=i,
            micro_id=stop.micro_id,
            patroller_id=s.routes[k].patroller_id,
            kind=kind,
            client_at=at,
            username="s02-patroller",
        )


def patrol_all_but(app, plan_ids: list[int], missed: str) -> None:
    """V09 checks in at every stop but ``missed``'s; A09's phone tracks its route, skipping it."""
    con = connect(app.config["DATABASE"])
    try:
        for plan_id in plan_ids:
            plan, _params = _plan(app, plan_id)
            for s in plan.slices:
                for k, route in enumerate(s.routes):
                    skip = [p.order for p in route.stops if p.micro_id == missed]
                    if route.patroller_id == "A09" and route.deployed:
                        fixes = route_fixes(route, 26910, every_s=10.0, skip=skip, timezone=TZ)
                        store.save_track_batch(
                            con, "S02", fixes, patroller_id="A09", source_name="a09.gpx",
                            username="test",
                        )  # fmt: skip
                        continue
                    for i, stop in enumerate(route.stops):
                        if stop.micro_id != missed:
                            _check_in_pair(con, plan_id, s, k, i, stop)
    finally:
        con.close()


def _stops(plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in plan.slices:
        for r in s.routes:
            for p in r.stops:
                out[p.micro_id] = out.get(p.micro_id, 0) + 1
    return out


@pytest.fixture
def patrolled(app, patrol_store):
    """Yesterday planned through the form and today's plan, both patrolled but for one cell.

    Returns the officer's client, the micro-grid missed, its stops yesterday and the two
    plans' ids.
    """
    client = officer(app, patrol_store)
    yesterday = made_plan(client, plan_form(client, today(TZ) - dt.timedelta(days=1)))
    todays = patrol_store["plans"]["S02"]
    a, b = _stops(_plan(app, yesterday)[0]), _stops(_plan(app, todays)[0])
    missed = min(set(a) & set(b), key=lambda m: (max(a[m], b[m]), m))  # planned both days
    patrol_all_but(app, [yesterday, todays], missed)
    return client, missed, a[missed], (yesterday, todays)


def test_a_plan_made_in_the_web_ui_carries_what_patrols_did(app, patrolled):
    client, missed, _n, _plans = patrolled
    tomorrow = today(TZ) + dt.timedelta(days=1)
    plan_id = made_plan(client, plan_form(client, tomorrow, pinned=missed))
    plan, params = _plan(app, plan_id)
    got = plan.feedback
    assert got is not None and got.days == default_config().patrol.presence_days == 7
    assert params["presence_days"] == 7
    info = params["feedback"]
    assert info["used"] and info["check_ins"] > 0 and info["fixes"] > 0 and info["plans"] == 2
    assert got.missed[missed] >= 2
    assert [f.micro_id for f in plan.missed_flags()] == [missed]
    assert got.shortfall(missed) == 1.0  # planned both days, never visited
    # the stops made count as made: by check-in (V09) and by track (A09)
    visited = {m for m in got.recent_actual_min if m != missed}
    assert visited and all(got.shortfall(m) < 0.5 for m in visited)
    assert got.spent_today_min == {}  # tomorrow: nothing spent yet

    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    flag = re.search(r'<li class="flash warning missed-flag">([^<]+)</li>', page)
    assert flag and flag.group(1).startswith(f"{missed}: {got.missed[missed]} planned stops missed")
    assert "in the last 7 days" in flag.group(1)
    sheets = client.get(f"/plans/{plan_id}/sheets").get_data(as_text=True)
    assert re.search(
        rf"{missed}.*?From recent patrols: planned stops here were missed {got.missed[missed]} "
        r"times in the last 7 days",
        sheets,
        re.S,
    )

    client.get("/lang/zh")
    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    flag = re.search(r'<li class="flash warning missed-flag">([^<]+)</li>', page).group(1)
    assert missed in flag and re.search(r"[\u4e00-\u9fff]", flag) and "missed" not in flag
    assert "<h2>巡逻实况</h2>" in page
    sheets = client.get(f"/plans/{plan_id}/sheets").get_data(as_text=True)
    assert "近期巡逻情况" in sheets and "planned stops here" not in sheets


def test_minutes_spent_today_come_off_the_days_cap_of_a_replan(app, patrolled):
    client, missed, n_yesterday, (_yesterday, todays) = patrolled
    plan_id = made_plan(client, plan_form(client, today(TZ), parent_id=str(todays)))
    plan, _params = _plan(app, plan_id)
    spent = plan.feedback.spent_today_min
    assert spent and missed not in spent
    # today's stops do not count as the recent days' (those are before the plan's date)
    assert plan.feedback.missed.get(missed, 0) == n_yesterday
    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "minutes of presence on" in page and "daily cap of 90 minutes" in page


def test_unticked_the_plan_is_made_without_what_patrols_did(app, patrolled):
    client = patrolled[0]
    tomorrow = today(TZ) + dt.timedelta(days=1)
    plan_id = made_plan(client, plan_form(client, tomorrow, use_presence=""))
    plan, params = _plan(app, plan_id)
    assert plan.feedback is None and params["presence_days"] is None
    assert params["feedback"] is None and params["presence"] is None
    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert 'id="feedback"' not in page
    # the re-plan form of that plan keeps the box unticked
    assert 'name="use_presence" value="1" id="use-presence" >' in page


def test_a_station_without_check_ins_or_tracks_plans_as_before_and_says_so(app, patrol_store):
    client = officer(app, patrol_store)
    plan_id = made_plan(client, plan_form(client, today(TZ) + dt.timedelta(days=1)))
    plan, params = _plan(app, plan_id)
    assert plan.feedback is None
    assert params["feedback"] == {
        "days": 7, "used": False, "check_ins": 0, "fixes": 0, "kept_rows": 0, "plans": 0
    }  # fmt: skip
    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "No check-ins or tracks in the 7 days before this date" in page


@pytest.mark.parametrize("days", ["0", "91", "abc", "٣"])
def test_bad_days_to_look_back_get_a_422_in_the_users_language(app, patrol_store, days):
    client = officer(app, patrol_store)
    resp = plan_form(client, today(TZ), presence_days=days)
    assert resp.status_code == 422
    assert "The days to look back over must be a whole number from 1 to 90" in resp.get_data(
        as_text=True
    )
    client.get("/lang/zh")
    resp = plan_form(client, today(TZ), presence_days=days)
    assert resp.status_code == 422 and "天数" in resp.get_data(as_text=True)


def test_days_whose_positions_were_purged_count_from_the_presence_kept(app):
    """A shift date before the retention cutoff counts from the kept presence rows only (its
    check-ins are not counted again), a later one from the check-ins and fixes."""
    import dataclasses

    import pandas as pd

    from gridplan.web.feedback import station_presence
    from gridplan.web.retention import cutoff

    con = connect(app.config["DATABASE"])
    try:
        cfg = dataclasses.replace(store.station_config(con, "S02"), track_retention_days=1)
        grid = store.load_grid(con, store.latest_grid(con, "S02")["id"])
        kept, old, now = "S02-B1-M001", "S02-B2-M002", "S02-B3-M003"
        day = today(TZ)
        three_ago = (day - dt.timedelta(days=3)).isoformat()
        store.purge_positions(
            con,
            "S02",
            before=cutoff(cfg),
            presence=pd.DataFrame(
                [[three_ago, "morning", "V09", kept, 14.0, 0.0]], columns=store.PRESENCE_COLUMNS
            ),
            username="test",
            retention_days=1,
        )
        morning = dt.datetime.combine(day, dt.time(7), tzinfo=cfg.tz)
        for when, cell in ((morning - dt.timedelta(days=3), old), (morning, now)):
            for kind, minutes in (("arrived", 0), ("left", 12)):
                store.add_check_in(
                    con, "S02", client_id=str(uuid.uuid4()), plan_id=1, slice_id="morning",
                    route_index=0, stop_index=0, micro_id=cell, patroller_id="V09", kind=kind,
                    client_at=when + dt.timedelta(minutes=minutes), username="test",
                )  # fmt: skip
        got = station_presence(con, "S02", day, days=7, grid=grid, config=cfg)
    finally:
        con.close()
    assert (got.kept_rows, got.check_ins, got.fixes) == (1, 2, 0)
    assert dict(got.presence.recent_actual_min) == {kept: 14.0}  # no plan: all recent minutes
    assert dict(got.presence.spent_today_min) == {now: 12.0}
    assert got.to_dict()["used"] is True
