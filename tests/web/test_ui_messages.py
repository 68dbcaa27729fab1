"""What an officer must act on speaks the UI's language: rejected rows, grid problems and their
fixes, import warnings, job errors, the audit log and the text inside GPX files.

Each test runs in Chinese and in English; the library makes the messages once
(:mod:`gridplan._messages`) and the web UI renders them in the page's language.
"""

import html
import io
import json
import sqlite3
import tempfile
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest
import shapely
from _web import lattice_points
from _web import login
from _web import s02_grid
from _web import upload

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
    from gridplan.web.migrations import STEPS

    # what gridplan wrote before job errors had ids: schema version 2, no error_json column
    # (the version-1 store kept in tests/data, upgraded by the first step)
    v1 = Path(__file__).parents[1] / "data" / "store_schema_v1.sql"
    old_schema = v1.read_text(encoding="utf-8") + STEPS[1]
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
        assert int(version) == SCHEMA_VERSION
        # the upgraded table has the columns of a new store, in the same order
        columns = [r[1] for r in con.execute("PRAGMA table_info(jobs)")]
        assert columns == [r[1] for r in fresh.execute("PRAGMA table_info(jobs)")]
        row = con.execute("SELECT * FROM jobs").fetchone()
        assert row["error_json"] is None
        assert store.job_error(row) == "old English error"
    finally:
        con.close()
        fresh.close()


# --- errors of the readers, the CRS checks and the planner (issue 14: no English left) --------


def web_text(page: str) -> str:
    """The page's text with HTML entities undone (messages quote names with ' and ")."""
    return html.unescape(page)


def shapefile_zip_without_prj(client) -> bytes:
    """S02's grid as a zipped Shapefile whose .prj is missing (the file has no CRS)."""
    grid = s02_grid(client).to_crs(32650)
    folder = Path(tempfile.mkdtemp())
    grid.to_file(folder / "grid.shp", engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in folder.glob("grid.*"):
            if part.suffix != ".prj":
                zf.write(part, part.name)
    return buf.getvalue()


GRID_FILES = {
    "broken": ("网格.geojson", lambda c: b'{"type": "FeatureCollection", "features": [\n{"type"'),
    "no_crs": ("网格.zip", shapefile_zip_without_prj),
    "levels": (
        "网格.geojson",
        lambda c: s02_grid(c).assign(level=lambda g: g["level"].replace("micro", "小格")).to_json(),
    ),
}
GRID_TEXTS = {
    "zh": {
        "broken": "网格.geojson：JSON 在第 2 行第 8 列损坏",
        "no_crs": "网格.zip：文件没有坐标参考系；请在“坐标参考系”一栏填写绘制边界时所用的坐标系",
        "levels": "网格.geojson：列 'level' 中有未知的值：'小格'（要素 'S02-B1-M001'",
    },
    "en": {
        "broken": "网格.geojson: broken JSON at line 2, column 8",
        "no_crs": "网格.zip: the file has no coordinate reference system; enter the CRS the "
        "boundaries were drawn in (e.g. EPSG:4547) in the CRS field",
        "levels": "网格.geojson: unknown value(s) in column 'level': '小格' (feature 'S02-B1-M001'",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", sorted(GRID_FILES))
def test_grid_loading_errors_in_the_ui_language(client, web_store, lang, case):
    officer = as_user(client, web_store, "officer", lang)
    name, make = GRID_FILES[case]
    content = make(officer)
    resp = upload(
        officer, "grid", name, content if isinstance(content, bytes) else content.encode()
    )
    assert resp.status_code == 422
    page = web_text(resp.get_data(as_text=True))
    error = page.split('id="error-message">')[1].split("</p>")[0]
    assert GRID_TEXTS[lang][case] in error, error
    other = GRID_TEXTS["en" if lang == "zh" else "zh"][case]
    assert other not in page
    # the web's advice, not the command line's, and no server-side folder
    assert "--crs" not in error and "CLI" not in error and "gridplan-upload" not in error
    audit = as_user(client, web_store, "admin", lang).get("/admin/audit").get_data(as_text=True)
    assert GRID_TEXTS[lang][case] in web_text(audit)


FINNISH_TOML = """
[station]
id = "T14"
name = "Helsinki test"
timezone = "Europe/Helsinki"

[crs]
metric = "EPSG:26910"
"""


def finnish_officer(client, web_app, lang):
    """An officer of station T14 in Helsinki, whose config keeps the demo's UTM zone 10N."""
    from _web import PASSWORD

    con = connect(web_app.config["DATABASE"])
    try:
        store.add_station(con, FINNISH_TOML, source="T14.toml")
        store.add_user(con, "t14-officer", PASSWORD, station_id="T14", role="officer")
    finally:
        con.close()
    client.get(f"/lang/{lang}")
    assert login(client, "t14-officer").status_code == 302
    return client


def helsinki_grid() -> bytes:
    import geopandas as gpd

    station = shapely.box(24.90, 60.15, 24.96, 60.19)
    rows = [("T14", "station", None, station)]
    for k in range(5):
        base = shapely.box(24.90 + 0.012 * k, 60.15, 24.912 + 0.012 * k, 60.19)
        rows.append((f"T14-B{k + 1}", "base", "T14", base))
        rows.append((f"T14-B{k + 1}-M001", "micro", f"T14-B{k + 1}", base))
    frame = pd.DataFrame(rows, columns=["id", "level", "parent_id", "geometry"])
    return gpd.GeoDataFrame(frame, crs=4326).to_json().encode()


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        (
            "zh",
            [
                "station T14: crs.metric 'EPSG:26910'（NAD83 / UTM zone 10N）适用于",
                "但数据位于经度 24.90..24.96、纬度 60.15..60.19：距离和面积都会算错",
                '请设置 crs.metric = "EPSG:32635"（WGS 84 / UTM zone 35N），或设为 "" 以使用当地',
            ],
            "is meant for",
        ),
        (
            "en",
            [
                "station T14: crs.metric 'EPSG:26910' (NAD83 / UTM zone 10N) is meant for",
                "but the data lie at longitude 24.90..24.96, latitude 60.15..60.19: distances",
                'set crs.metric = "EPSG:32635" (WGS 84 / UTM zone 35N), or "" for the local',
            ],
            "适用于",
        ),
    ],
)
def test_a_metric_crs_for_another_continent_is_refused_in_the_ui_language(
    client, web_app, lang, expected, absent
):
    officer = finnish_officer(client, web_app, lang)
    resp = upload(officer, "grid", "helsinki.geojson", helsinki_grid())
    assert resp.status_code == 422
    page = web_text(resp.get_data(as_text=True))
    assert all(e in page for e in expected), page.split('id="error-message">')[1][:600]
    assert absent not in page


def workbook_with_notes_first() -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xlsx:
        notes = pd.DataFrame({"说明": ["本表由系统导出", "请勿修改"], "备注": ["", ""]})
        notes.to_excel(xlsx, sheet_name="说明", index=False)
        rows = pd.DataFrame({"经度": [120.15], "纬度": [30.27], "案发时间": ["2024-03-05 08:00"]})
        rows.to_excel(xlsx, sheet_name="警情", index=False)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        (
            "zh",
            [
                "第一个有数据的工作表 '说明' 没有坐标列",
                "有坐标列的工作表：'警情'",
                "这里只读取第一个工作表：请把工作表“警情”移到工作簿最前面",
            ],
            "has no coordinate columns",
        ),
        (
            "en",
            [
                "the first sheet with data, '说明', has no coordinate columns",
                "sheet(s) with coordinate columns: '警情'",
                'Only the first sheet is read here: move the sheet "警情" to the front',
            ],
            "没有坐标列",
        ),
    ],
)
def test_a_workbook_whose_first_sheet_is_notes_in_the_ui_language(
    client, web_store, lang, expected, absent
):
    officer = as_user(client, web_store, "officer", lang)
    resp = upload(officer, "incidents", "警情.xlsx", workbook_with_notes_first())
    assert resp.status_code == 422
    page = web_text(resp.get_data(as_text=True))
    assert all(e in page for e in expected), page[:3000]
    assert absent not in page
    assert "--sheet" not in page and "sheet=" not in page


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        (
            "zh",
            [
                "bad.csv：2 行中没有一行能导入。前几个问题：第 2 行 经度='999'：经度超出 "
                "-180..180；第 3 行 经度='abc'：经度不是数字。",
                "请修正文件，或在“选择列”页面中选择正确的列",
            ],
            "First problems",
        ),
        (
            "en",
            [
                "bad.csv: none of the 2 rows could be imported. First problems: row 2 经度='999': "
                "longitude is outside -180..180; row 3 经度='abc': longitude is not a number.",
                "Fix the file, or choose the right columns in the column mapping form",
            ],
            "前几个问题",
        ),
    ],
)
def test_the_first_problems_of_an_empty_import_and_the_web_advice(
    client, web_store, lang, expected, absent
):
    officer = as_user(client, web_store, "officer", lang)
    content = "案件编号,经度,纬度,案发时间\nX1,999,999,2024-03-05\nX2,abc,1,2024-03-05\n"
    resp = upload(officer, "incidents", "bad.csv", content.encode("gbk"))
    assert resp.status_code == 422
    page = web_text(resp.get_data(as_text=True))
    assert all(e in page for e in expected), page[:4000]
    assert absent not in page
    assert "--column" not in page  # the web points to its mapping form, not the CLI flag
    audit = as_user(client, web_store, "admin", lang).get("/admin/audit").get_data(as_text=True)
    assert expected[0] in web_text(audit) and "--column" not in audit


@pytest.mark.parametrize(
    ("lang", "params", "expected"),
    [
        (
            "zh",
            {"pinned": ["S02-B9-M009"]},
            "必巡/排除的微网格 S02-B9-M009 不在网格中；请使用微网格编号，如",
        ),
        (
            "en",
            {"pinned": ["S02-B9-M009"]},
            "pinned/excluded micro-grid(s) S02-B9-M009 are not in the grid; use micro-grid ids",
        ),
        ("zh", {"slices": ["morning", "morning"]}, "时段 morning 被列出不止一次；每个时段只列一次"),
        ("en", {"slices": ["nope"]}, "unknown time slice 'nope'; the station config defines"),
        ("zh", {"slices": ["nope"]}, "未知时段 'nope'；本警务室配置的时段为"),
    ],
)
def test_planning_errors_in_the_ui_language(client, web_store, web_app, lang, params, expected):
    officer = as_user(client, web_store, "officer", lang)
    con = connect(web_app.config["DATABASE"])
    try:
        job_params = {"date": "2024-06-05", "slices": ["morning"], **params}
        job_id = store.add_job(con, "S02", "plan", job_params, "s02-officer")
    finally:
        con.close()
    jobs.run_job(web_app.config["DATABASE"], job_id, {"time_limit_s": 1.0, "workers": 1})
    status = officer.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["status"] == "failed"
    assert expected in status["error"], status["error"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "zh",
            "station S02: roster 'V09'：home_bases 中的 'S02-B9' 不在网格中（基础网格：S02-B1, "
            "S02-B2, S02-B3；也可填写序号，1 表示第一个）；请修正 [[roster]] 条目",
        ),
        (
            "en",
            "station S02: roster 'V09': home_bases 'S02-B9' not in the grid (base grids: "
            "S02-B1, S02-B2, S02-B3; or give positions, 1 = the first); fix the [[roster]] entries",
        ),
    ],
)
def test_a_roster_error_names_its_entry_in_the_ui_language(
    client, web_store, web_app, lang, expected
):
    officer = as_user(client, web_store, "officer", lang)
    con = connect(web_app.config["DATABASE"])
    try:
        toml = con.execute("SELECT config_toml FROM stations WHERE id='S02'").fetchone()[0]
        toml = toml.replace("members = 2\n", 'members = 2\nhome_bases = ["S02-B9"]\n', 1)
        with con:
            con.execute("UPDATE stations SET config_toml=? WHERE id='S02'", (toml,))
        job_params = {"date": "2024-06-05", "slices": ["morning"]}
        job_id = store.add_job(con, "S02", "plan", job_params, "s02-officer")
    finally:
        con.close()
    jobs.run_job(web_app.config["DATABASE"], job_id, {"time_limit_s": 1.0, "workers": 1})
    status = officer.get(f"/plans/jobs/{job_id}.json").get_json()
    assert status["error"] == expected


def test_the_web_advice_replaces_only_advice_with_the_parameters_it_has():
    from gridplan._messages import lookup
    from gridplan.web.i18n import WEB_ADVICE

    for advice_id, web in WEB_ADVICE.items():
        assert advice_id.startswith(("advice.", "grid.")) and web.names <= lookup(advice_id).names
    # every piece of command-line advice the library gives has its web counterpart
    import importlib

    from gridplan._messages import MESSAGE_MODULES
    from gridplan._messages import templates

    for name in MESSAGE_MODULES:
        importlib.import_module(name)
    cli = {k for k in templates() if k.startswith("advice.")}
    # and so has every grid problem whose fix is `grids validate --fix` (the web offers the
    # repair on the import page)
    cli |= {k for k, t in templates().items() if k.startswith("grid.") and "--fix" in t.text}
    assert cli == set(WEB_ADVICE)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "zh",
            "9 个网格没有 parent_id；已把每个网格归入与其重叠最多的上级网格（S02-B1-M001 -> S02-B1",
        ),
        ("en", "9 grid(s) had no parent_id; each was assigned to the parent grid it overlaps most"),
    ],
)
def test_grid_warnings_of_the_reader_are_shown_in_the_ui_language(
    client, web_store, lang, expected
):
    officer = as_user(client, web_store, "officer", lang)
    grid = s02_grid(officer)
    grid.loc[grid["level"] == "micro", "parent_id"] = None
    resp = upload(officer, "grid", "无上级.geojson", grid.to_json().encode())
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = web_text(officer.get(resp.headers["Location"]).get_data(as_text=True))
    assert f"无上级.geojson{'：' if lang == 'zh' else ': '}{expected}" in page, page[:3000]
    assert "gridplan-upload" not in page


@pytest.mark.parametrize(("lang", "detail"), [("zh", "已修复为有效图形"), ("en", "made valid")])
def test_proposed_repairs_in_the_ui_language(client, web_store, lang, detail):
    from _web import repairable_grid

    officer = as_user(client, web_store, "officer", lang)
    grid, _edge, _gap = repairable_grid(officer)
    resp = upload(officer, "grid", "待修复网格.geojson", grid.to_json().encode())
    assert resp.status_code == 422
    table = resp.get_data(as_text=True).split('id="repairs"')[1].split("</table>")[0]
    problem = {"zh": "<td>几何图形无效</td>", "en": "<td>invalid geometry</td>"}[lang]
    assert problem in table and detail in table, table
    assert "invalid_geometry" not in table
