"""The demo's phone page on a real date: ``gridplan serve --demo`` also plans the station's
today, so a patroller trying the demo sees a route now, not only on the demo day.

The test store is seeded without today's plan (``tests/_web.py``); here it gets one as the
demo's first start and a later start on another day make it. (The first start itself, in a
child process with a browser, runs in ``test_quickstart``.)
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from _web import login

from gridplan.web import demo
from gridplan.web import store
from gridplan.web.db import connect

LA = zoneinfo.ZoneInfo("America/Los_Angeles")  # the demo station's timezone


def test_the_demo_phone_page_shows_todays_route(web_app, web_store):
    database = web_app.config["DATABASE"]
    today = dt.datetime.now(LA).date()
    patrol = web_app.test_client()
    patrol.get("/lang/en")
    login(patrol, web_store["users"][("S01", "patroller")])  # team V01
    before = patrol.get("/patrol/").get_data(as_text=True)
    assert 'id="no-routes"' in before  # the demo day is 2024-06-08: nothing today

    assert demo.demo_day_to_plan(database) == ("S01", today)
    said = []
    plan_id = demo.plan_demo_today(database, time_limit_s=60.0, work_limit=100, say=said.append)
    assert plan_id is not None and said == [
        f"  patrol plan for today ({today.isoformat()}) made, for the patrol phone page"
    ]
    con = connect(database)
    try:
        row = store.get_plan_row(con, plan_id, "S01")
        plan = store.plan_from_row(row)
    finally:
        con.close()
    assert row["date"] == today.isoformat() and plan.timezone == "America/Los_Angeles"
    assert [s.slice_id for s in plan.slices] == ["morning", "day", "evening", "night"]

    page = patrol.get("/patrol/").get_data(as_text=True)
    assert 'id="no-routes"' not in page
    stops = re.findall(rf'id="stop-{plan_id}-(\w+)-\d+-\d+"', page)
    v01 = [s.slice_id for s in plan.slices for r in s.routes if r.patroller_id == "V01" and r.stops]
    assert stops and set(stops) == set(v01)  # V01 walks mornings, days and evenings

    # made once: a second start the same day plans nothing
    assert demo.demo_day_to_plan(database) is None
    assert demo.plan_demo_today(database, say=said.append) is None and len(said) == 1
    tomorrow = today + dt.timedelta(days=1)
    assert demo.demo_day_to_plan(database, today=tomorrow) == ("S01", tomorrow)


def test_a_store_without_the_demo_station_has_no_demo_day(patrol_app):
    assert demo.demo_day_to_plan(patrol_app.config["DATABASE"]) is None
