"""Track import through the web UI (gridplan.web.views.tracks): a GPX or CSV file read in an
import job, its fixes stored as one audited batch of the station, the report with every fix left
out (row and reason); bad files and choices refused with a message in the user's language (4xx,
never a 500); another station's batches and the roles without import see nothing."""

import io
import json
import re

import pandas as pd
import pytest
from _hostile import build_corpus
from _hostile import cases
from _patrol import route_stops
from _tracks import write_gpx
from _web import csrf_token
from _web import follow_job
from _web import login

from gridplan.web import store
from gridplan.web.db import connect
from gridplan.web.views.tracks import TRACK_TYPES

_BATCH = re.compile(r"/tracks/(\d+)$")


def as_user(client, patrol_store, station, name):
    resp = login(client, patrol_store["users"][(station, name)])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def post_track(client, name: str, content: bytes, **fields):
    """Post a track file to the tracks page; return the page its import job goes on to.

    The body is encoded in memory, as ``_web.post_upload`` does (the test client would spool
    a big file to a file it never closes).
    """
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    data = {
        "csrf_token": csrf_token(client, "/tracks/"),
        "file": FileStorage(io.BytesIO(content), name),
        "patroller": "",
        "datum": "",
        **fields,
    }
    boundary, body = encode_multipart(data)
    resp = client.post(
        "/tracks/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    return follow_job(client, resp)


def v09_fixes(patrol_store, *, every_s: float = 10.0) -> pd.DataFrame:
    """FIXES of V09 walking today's morning route of S02 as planned (5 m noise)."""
    from _tracks import route_fixes

    con = connect(patrol_store["database"])
    try:
        plan_id = patrol_store["plans"]["S02"]
        plan = store.plan_from_row(store.get_plan_row(con, plan_id, "S02"))
    finally:
        con.close()
    route = next(r for s in plan.slices for r in s.routes if r.patroller_id == "V09")
    return route_fixes(route, 26910, every_s=every_s)


def gpx_bytes(fixes: pd.DataFrame, tmp_path) -> bytes:
    return write_gpx(fixes, tmp_path / "t.gpx").read_bytes()


def batches(app) -> list[dict]:
    con = connect(app.config["DATABASE"])
    try:
        return [dict(r) for r in con.execute("SELECT * FROM track_batches ORDER BY id")]
    finally:
        con.close()


def test_a_gpx_track_is_stored_with_its_report_and_audited(patrol_app, patrol_store, tmp_path):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    fixes = v09_fixes(patrol_store)
    # a jump of 5 km between two fixes 10 s apart: left out, with its point number
    jump = fixes.index[20]
    fixes.loc[jump, "lat"] += 0.05
    resp = post_track(client, "v09 晨巡.gpx", gpx_bytes(fixes, tmp_path), patroller="V09")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    batch_id = int(_BATCH.search(resp.headers["Location"]).group(1))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    [row] = batches(patrol_app)
    assert row["id"] == batch_id and row["station_id"] == "S02" and row["patroller_id"] == "V09"
    assert row["source_name"] == "v09 晨巡.gpx" and row["created_by"] == "s02-officer"
    assert row["n_fixes"] == len(fixes) - 1 and row["n_rejected"] == 1
    assert f'id="n-fixes">{len(fixes) - 1:,}<' in page and 'id="n-rejected">1<' in page
    # the report links to the Compliance page of the plan of the track's day
    assert f'href="/plans/{patrol_store["plans"]["S02"]}/compliance"' in page
    rejects = re.search(r'<table class="data small" id="rejects">(.*?)</table>', page, re.S)
    assert f'<td class="num">{jump + 1}</td>' in rejects.group(1)
    # the reason in the page's language (Chinese by default), from the stored message
    reason = re.findall(r"<td>([^<]*)</td></tr>", rejects.group(1))[0]
    assert re.search(r"[\u4e00-\u9fff]", reason) and "jump" not in reason, reason
    con = connect(patrol_app.config["DATABASE"])
    try:
        stored = store.load_fixes(con, "S02", "Asia/Shanghai")
        audit = con.execute(
            "SELECT username, station_id, target, detail_json FROM audit "
            "WHERE action='import_tracks'"
        ).fetchall()
    finally:
        con.close()
    assert len(stored) == len(fixes) - 1 and set(stored["patroller"]) == {"V09"}
    assert len(audit) == 1 and tuple(audit[0])[:3] == ("s02-officer", "S02", "v09 晨巡.gpx")
    assert json.loads(audit[0]["detail_json"])["batch_id"] == batch_id
    csv = client.get(f"/tracks/{batch_id}/rejects.csv")
    assert csv.status_code == 200
    got = pd.read_csv(io.BytesIO(csv.data), dtype=str)
    assert got["row"].tolist() == [str(jump + 1)]
    listing = client.get("/tracks/").get_data(as_text=True)
    assert f'href="/tracks/{batch_id}"' in listing and "v09 晨巡.gpx" in listing


def test_a_gbk_csv_of_several_patrollers_in_gcj02_with_named_columns(patrol_app, patrol_store):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    stop = route_stops(patrol_store["database"], "S02", "A09")[0]
    lines = ["终端,时刻,东经,北纬"]
    for k in range(6):
        for who in ("A09", "V09"):
            lines.append(f"{who},2024-03-01 08:00:{k * 10:02d},{stop['lon']:.6f},{stop['lat']:.6f}")
    lines.append("A09,2024-03-01 08:01:00,,31.0")
    content = "\n".join(lines).encode("gbk")
    # the headers are not recognised: the page says which and what the file has
    resp = post_track(client, "avl.csv", content)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="track-error"' in page
    assert "终端" in page and "东经" in page
    assert batches(patrol_app) == []
    resp = post_track(
        client, "avl.csv", content, datum="gcj02",
        col_patroller="终端", col_time="时刻", col_lon="东经", col_lat="北纬",
    )  # fmt: skip
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    [row] = batches(patrol_app)
    assert row["n_fixes"] == 12 and row["n_rejected"] == 1 and row["patroller_id"] == "A09, V09"
    summary = json.loads(row["summary_json"])
    assert summary["datum"] == "gcj02" and summary["columns_used"]["time"] == "时刻"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert '<td class="num">14</td>' in page  # the row with no longitude, counting the header
    con = connect(patrol_app.config["DATABASE"])
    try:
        fixes = store.load_fixes(con, "S02", "Asia/Shanghai")
    finally:
        con.close()
    # the lattice station is outside China, where GCJ-02 is WGS 84 (as for incidents)
    assert fixes["lon"].round(6).eq(round(stop["lon"], 6)).all()


def test_a_vehicle_export_is_cleaned_at_the_speed_of_the_mode_chosen(patrol_app, patrol_store):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    stop = route_stops(patrol_store["database"], "S02", "A09")[0]
    # a car not in the roster at 15 m/s (54 km/h), a fix every 10 s, north along a street
    lines = ["车牌号,定位时间,经度,纬度"]
    for k in range(12):
        lat = stop["lat"] + k * 150 / 111_320
        lines.append(
            f"沪A1234,2024-03-01 08:{k // 6:02d}:{k % 6 * 10:02d},{stop['lon']:.6f},{lat:.6f}"
        )
    content = "\n".join(lines).encode("utf-8")
    resp = post_track(client, "avl.csv", content)
    assert resp.status_code == 302
    walked = batches(patrol_app)[-1]
    assert walked["n_rejected"] > 0  # on foot, most of the drive is jumps
    resp = post_track(client, "avl.csv", content, mode="car")
    assert resp.status_code == 302
    driven = batches(patrol_app)[-1]
    assert (driven["n_fixes"], driven["n_rejected"]) == (12, 0)
    assert json.loads(driven["summary_json"])["mode"] == "car"


@pytest.mark.parametrize(
    ("name", "content", "fields", "status", "words"),
    [
        ("track.gpx", b"", {"patroller": "V09"}, 400, "0"),
        ("track.shp", b"x", {"patroller": "V09"}, 400, ".gpx"),
        ("track.gpx", b"<gpx", {"patroller": "V99"}, 400, "V99"),
        ("track.gpx", b"<gpx", {"patroller": "V09", "datum": "utm"}, 400, "utm"),
        ("track.gpx", b"<gpx", {"patroller": "V09", "mode": "boat"}, 400, "boat"),
        ("track.gpx", b"<gpx><trk>broken", {"patroller": "V09"}, 422, "track.gpx"),
        ("track.gpx", b'<gpx version="1.1"></gpx>', {"patroller": "V09"}, 422, "track.gpx"),
    ],
)
def test_bad_files_and_choices_are_refused_with_a_message(
    patrol_app, patrol_store, name, content, fields, status, words
):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    client.get("/lang/en")
    resp = post_track(client, name, content, **fields)
    page = resp.get_data(as_text=True)
    assert resp.status_code == status, page[:500]
    assert 'id="track-error"' in page and words in page
    assert batches(patrol_app) == []


def test_the_messages_of_a_refused_track_are_in_chinese(patrol_app, patrol_store):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    client.get("/lang/zh")
    resp = post_track(client, "track.gpx", b"<gpx><trk>broken", patroller="V09")
    error = re.search(r'id="track-error">([^<]*)<', resp.get_data(as_text=True)).group(1)
    assert resp.status_code == 422 and re.search(r"[\u4e00-\u9fff]", error), error


def test_only_the_stations_importers_see_and_import_tracks(patrol_app, patrol_store, tmp_path):
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    fixes = v09_fixes(patrol_store, every_s=30.0)
    resp = post_track(client, "v09.gpx", gpx_bytes(fixes, tmp_path), patroller="V09")
    batch_id = int(_BATCH.search(resp.headers["Location"]).group(1))
    other = as_user(patrol_app.test_client(), patrol_store, "S03", "officer")
    assert other.get(f"/tracks/{batch_id}").status_code == 404
    assert other.get(f"/tracks/{batch_id}/rejects.csv").status_code == 404
    assert "v09.gpx" not in other.get("/tracks/").get_data(as_text=True)
    for name in ("lead", "patroller", "analyst"):
        c = as_user(patrol_app.test_client(), patrol_store, "S02", name)
        assert c.get("/tracks/").status_code == 403
        assert c.get(f"/tracks/{batch_id}").status_code == 403
        token = csrf_token(c, "/login")
        data = {"csrf_token": token, "file": (io.BytesIO(b"<gpx/>"), "x.gpx"), "patroller": "V09"}
        resp = c.post("/tracks/", data=data, content_type="multipart/form-data")
        assert resp.status_code in (400, 403)
    assert len(batches(patrol_app)) == 1


HOSTILE = [
    c
    for c in cases()
    if c.kind == "incidents" and not c.heavy and c.name.lower().endswith(TRACK_TYPES)
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-tracks")
    return {case.name: path for case, path in build_corpus(folder) if case in HOSTILE}


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_a_hostile_table_through_the_tracks_page(case, corpus, patrol_app, patrol_store):
    """The hostile corpus's tables as tracks: never a server error; a refusal names the file."""
    patrol_app.config.update({"IMPORT_MAX_ROWS": 100, "IMPORT_TIME_LIMIT_S": 20})
    client = as_user(patrol_app.test_client(), patrol_store, "S02", "officer")
    client.get("/lang/en")
    resp = post_track(client, case.name, corpus[case.name].read_bytes(), patroller="V09")
    html = resp.get_data(as_text=True)
    said = f"{case.name} ({case.what}) -> {resp.status_code}\n{html[-2000:]}"
    assert resp.status_code < 500 and "Traceback" not in html, said
    if resp.status_code == 302:  # some rows are fixes: stored, with the others listed
        assert _BATCH.search(resp.headers["Location"]), said
        assert client.get(resp.headers["Location"]).status_code == 200
        assert len(batches(patrol_app)) == 1, said
    else:
        assert 400 <= resp.status_code < 500 and 'id="track-error"' in html, said
        assert case.name in html or "is empty" in html, said
        assert batches(patrol_app) == [], said
