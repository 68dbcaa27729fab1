"""What an officer must act on speaks the UI's language: rejected rows, grid problems and their
fixes, import warnings, job errors, the audit log and the text inside GPX files.

Each test runs in Chinese and in English; the library makes the messages once
(:mod:`gridplan._messages`) and the web UI renders them in the page's language.
"""

import io
import json
import sqlite3
import zlib

import pandas as pd
import pytest
import shapely
from _web import login
from test_web_imports import lattice_points
from test_web_imports import s02_grid
from test_web_imports import upload

from gridplan.web import jobs
from gridplan.web import store
from gridplan.web.db import SCHEMA_VERSION
from gridplan.web.db import connect
from gridplan.web.db import init_store


def as_user(client, web_store, role, lang):
    """``client`` logged in as S02's ``role``, the UI in ``lang``."""
    client.get(f"/lang/{lang}")
    resp = login(client, web_store["users"][("S02", role)])
    assert resp.status_code == 302
    return client


def incidents_with_problems(client) -> bytes:
    """Six good rows (two share an id), one longitude out of range, one unreadable time."""
    points = lattice_points(client)
    lines = ["案件编号,经度,纬度,案发时间,警情类别"]
    for k, p in enumerate(points):
        lines.append(f"J{min(k, 4)},{p.x:.6f},{p.y:.6f},2024/3/{k + 1} 8:05:00,盗窃")
    lines.append("J90,999,39.9,2024/3/9 8:05:00,盗窃")
    lines.append(f"J91,{points[0].x:.6f},{points[0].y:.6f},昨天,盗窃")
    return ("\n".join(lines) + "\n").encode("gbk")


TEXTS = {
    "zh": {
        "lon": "经度超出 -180..180",
        "time": "时间不是可识别的日期/时间（请写成如 2024-03-05 14:30）",
        "warning": "2 行共用 1 个编号（已保留：导出表常把一个案件的每项违法各列一行）",
        "coordinates": "WGS84 经纬度",
    },
    "en": {
        "lon": "longitude is outside -180..180",
        "time": "time is not a recognised date/time (write e.g. 2024-03-05 14:30)",
        "warning": "2 rows share 1 ids (kept: exports often list one row per offense of a case)",
        "coordinates": "WGS84 lon/lat",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rejected_rows_and_import_warnings_in_the_ui_language(client, web_store, lang):
    officer = as_user(client, web_store, "officer", lang)
    resp = upload(officer, "incidents", "警情导出.csv", incidents_with_problems(officer))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    page = officer.get(resp.headers["Location"]).get_data(as_text=True)
    expected = TEXTS[lang]
    other = TEXTS["en" if lang == "zh" else "zh"]
    table = page.split('id="rejects"')[1].split("</table>")[0]
    assert f"<td>{expected['lon']}</td>" in table and f"<td>{expected['time']}</td>" in table
    for key in ("lon", "time", "warning", "coordinates"):
        assert expected[key] in page, key
        assert other[key] not in page, key
    # the CSV has the reason in the UI's language beside its language-independent id
    link = page.split('id="rejects-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    csv = officer.get(link)
    assert csv.data.startswith(b"\xef\xbb\xbf")
    rows = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig", dtype=str)
    assert list(rows.columns) == ["row", "column", "value", "reason", "reason_id"]
    assert rows[["reason", "reason_id"]].to_dict("records") == [
        {"reason": expected["lon"], "reason_id": "incidents.longitude_range"},
        {"reason": expected["time"], "reason_id": "incidents.time_unreadable"},
    ]


def test_a_batch_stored_before_messages_keeps_its_english(client, web_store, web_app):
    officer = as_user(client, web_store, "officer", "zh")
    resp = upload(officer, "incidents", "警情导出.csv", incidents_with_problems(officer))
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    # what an older gridplan stored: English reasons, no ids, no messages in the summary
    con = connect(web_app.config["DATABASE"])
    row = con.execute("SELECT * FROM incident_batches WHERE id=?", (batch_id,)).fetchone()
    old = pd.read_csv(io.BytesIO(store.batch_rejects_csv(con, batch_id)), dtype=str)
    old = old[["row", "column", "value", "reason"]]
    summary = {k: v for k, v in json.loads(row["summary_json"]).items() if k != "messages"}
    with con:
        con.execute(
            "UPDATE incident_batches SET rejects_csv=?, summary_json=? WHERE id=?",
            (
                zlib.compress(("\ufeff" + old.to_csv(index=False)).encode()),
                json.dumps(summary),
                batch_id,
            ),
        )
    con.close()
    page = officer.get(f"/import/incidents/{batch_id}").get_data(as_text=True)
    assert TEXTS["en"]["lon"] in page and TEXTS["en"]["warning"] in page
    csv = officer.get(f"/import/incidents/{batch_id}/rejects.csv").data.decode("utf-8-sig")
    assert csv.splitlines()[0] == "row,column,value,reason"
    assert TEXTS["en"]["lon"] in csv


def overlapping_grid(client) -> bytes:
    grid = s02_grid(client)
    i = grid.index[grid["id"] == "S02-B1-M001"][0]
    j = grid.index[grid["id"] == "S02-B1-M002"][0]
    grid.loc[i, "geometry"] = shapely.union(grid.geometry[i], grid.geometry[j].buffer(-0.0003))
    return grid.to_json().encode()


@pytest.mark.parametrize(
    ("lang", "problem", "fix", "code"),
    [
        (
            "zh",
            "微网格 S02-B1-M001 与 S02-B1-M002 重叠",
            "请重新绘制 S02-B1-M001 与 S02-B1-M002 的公共边界，使每处只属于一个网格",
            "<td>重叠</td>",
        ),
        (
            "en",
            "micro-grids S02-B1-M001 and S02-B1-M002 overlap by",
            "redraw the shared boundary of S02-B1-M001 and S02-B1-M002 so each place belongs "
            "to one grid",
            "<td>overlap</td>",
        ),
    ],
)
def test_grid_problems_and_their_fixes_in_the_ui_language(
    client, web_store, lang, problem, fix, code
):
    officer = as_user(client, web_store, "officer", lang)
    resp = upload(officer, "grid", "overlap.geojson", overlapping_grid(officer))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert problem in page and fix in page and code in page
    assert ("overlap by" in page) is (lang == "en")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", "未选择巡逻力量：请至少勾选一个可出勤的"),
        ("en", "no patroller chosen: tick at least one who is available"),
    ],
)
def test_a_job_error_in_the_ui_language(client, web_store, web_app, lang, expected):
    officer = as_user(client, web_store, "officer", lang)
    con = connect(web_app.config["DATABASE"])
    try:
        params = {"date": "2024-06-05", "slices": ["morning"], "patrollers": []}
        job_id = store.add_job(con, "S02", "plan", params, "s02-officer")
    finally:
        con.close()
    jobs.run_job(web_app.config["DATABASE"], job_id, {"time_limit_s": 1.0, "workers": 1})
    status = officer.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["status"] == "failed"
    assert status["error"] == expected
    # stored once, in English and as a message: the other language reads it too
    con = connect(web_app.config["DATABASE"])
    row = con.execute("SELECT error, error_json FROM jobs WHERE id=?", (job_id,)).fetchone()
    con.close()
    assert row["error"] == "no patroller chosen: tick at least one who is available"
    assert json.loads(row["error_json"]) == {"id": "jobs.no_patroller", "params": {}}


def test_an_english_job_error_of_an_older_store_still_shows(client, web_store, web_app):
    officer = as_user(client, web_store, "officer", "zh")
    con = connect(web_app.config["DATABASE"])
    job_id = store.add_job(con, "S02", "plan", {"date": "2024-06-05"}, "s02-officer")
    with con:
        con.execute(
            "UPDATE jobs SET status='failed', error='solver exploded' WHERE id=?", (job_id,)
        )
    con.close()
    assert officer.get(f"/plans/jobs/{job_id}.json").get_json()["error"] == "solver exploded"


@pytest.mark.parametrize(
    ("lang", "action", "detail"),
    [
        ("zh", "警情导入被拒绝", "bad.csv：2 行中没有一行能导入"),
        ("en", "Incident import rejected", "bad.csv: none of the 2 rows could be imported"),
    ],
)
def test_audit_actions_and_details_in_the_ui_language(client, web_store, lang, action, detail):
    admin = as_user(client, web_store, "admin", lang)
    content = "案件编号,经度,纬度,案发时间\nX1,999,999,2024-03-05\nX2,abc,1,2024-03-05\n"
    assert upload(admin, "incidents", "bad.csv", content.encode("gbk")).status_code == 422
    page = admin.get("/admin/audit").get_data(as_text=True)
    entry = page.split('id="audit"')[1].split("</tr>")[1]  # newest first, after the header
    assert f">{action}</td>" in entry and detail in entry
    assert "import_incidents_rejected" in entry  # the raw action name stays as its title
    assert "/tmp/" not in entry and "gridplan-upload-" not in entry


@pytest.mark.parametrize(
    ("lang", "words", "absent"),
    [
        ("zh", ["巡逻方案，时间为 Asia/Shanghai 时区", "沿街道", "风险排名"], "along the streets"),
        (
            "en",
            ["patrol plan, times in Asia/Shanghai", "km along the streets", "risk rank"],
            "沿街道",
        ),
    ],
)
def test_a_gpx_speaks_the_ui_language(client, web_store, lang, words, absent):
    officer = as_user(client, web_store, "officer", lang)
    resp = officer.get(f"/downloads/plans/{web_store['plans']['S02']}.gpx")
    assert resp.status_code == 200
    text = resp.data.decode("utf-8")
    assert all(w in text for w in words), text[:2000]
    assert absent not in text


def test_a_version_2_store_is_upgraded_and_its_english_job_errors_still_show(tmp_path):
    from importlib import resources

    # what gridplan wrote before job errors had ids: schema version 2, no error_json column
    schema = resources.files("gridplan.web").joinpath("schema.sql").read_text("utf-8")
    old_schema = schema.replace(
        ',\n    -- the error as a message {"id", "params"} (gridplan._messages), shown in '
        "either language\n    error_json TEXT\n",
        "\n",
    )
    assert "error_json" not in old_schema
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(old_schema)
    with con:
        con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        con.execute(
            "INSERT INTO stations (id, name, config_toml, created_at) VALUES ('S9', 'x', '', '')"
        )
        con.execute(
            "INSERT INTO jobs (station_id, kind, status, params_json, error, error_code, "
            "created_at, created_by) VALUES ('S9', 'plan', 'failed', '{}', 'old English error', "
            "'error', '', 'me')"
        )
    con.close()
    assert init_store(path) is False
    assert (tmp_path / "old.sqlite.v2.bak").exists()
    con = connect(path)
    new = tmp_path / "new.sqlite"
    init_store(new)
    fresh = connect(new)
    try:
        version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION == 3
        # the upgraded table has the columns of a new store, in the same order
        columns = [r[1] for r in con.execute("PRAGMA table_info(jobs)")]
        assert columns == [r[1] for r in fresh.execute("PRAGMA table_info(jobs)")]
        row = con.execute("SELECT * FROM jobs").fetchone()
        assert row["error_json"] is None
        assert store.job_error(row) == "old English error"
    finally:
        con.close()
        fresh.close()
