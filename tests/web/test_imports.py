"""Imports in the web UI: what passes is stored as a new version; what fails stores nothing."""

import io
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from _web import csrf_token
from _web import follow_job
from _web import lattice_points
from _web import login
from _web import repairable_grid
from _web import s02_grid
from _web import upload

from gridplan.web import store
from gridplan.web.db import connect


def counts(app):
    con = connect(app.config["DATABASE"])
    try:
        return {
            t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("grids", "grid_features", "incident_batches", "incidents", "hotspot_runs")
        }
    finally:
        con.close()


def audit_actions(app, station):
    con = connect(app.config["DATABASE"])
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT action FROM audit WHERE station_id=? ORDER BY id", (station,)
            )
        ]
    finally:
        con.close()


@pytest.fixture
def officer(client, web_store):
    """The test client, logged in as S02's officer (the small lattice station), in English."""
    client.get("/lang/en")
    login(client, web_store["users"][("S02", "officer")])
    return client


@pytest.mark.both_stores
def test_a_valid_grid_becomes_a_new_version_and_the_old_one_stays(officer, web_app):
    before = counts(web_app)
    raw = officer.get("/downloads/grid.geojson").data
    resp = upload(officer, "grid", "第二警务室网格.geojson", raw)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    after = counts(web_app)
    assert after["grids"] == before["grids"] + 1
    con = connect(web_app.config["DATABASE"])
    rows = con.execute(
        "SELECT id, version, source_name FROM grids WHERE station_id='S02' ORDER BY version"
    ).fetchall()
    assert [r[1] for r in rows] == [1, 2] and rows[1][2] == "第二警务室网格.geojson"
    # what was downloaded and imported back is the same grid (7-decimal GeoJSON precision)
    old, new = store.load_grid(con, rows[0][0]), store.load_grid(con, rows[1][0])
    con.close()
    assert new[["id", "level", "parent_id", "name"]].equals(
        old[["id", "level", "parent_id", "name"]]
    )
    assert (old.to_crs(26910).hausdorff_distance(new.to_crs(26910)) < 0.05).all()  # metres
    assert "import_grid" in audit_actions(web_app, "S02")


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("grid.txt", b"hello", 400, "grid.txt: this file type is not accepted"),
        ("grid.geojson", b"", 400, "grid.geojson is empty"),
        ("grid.geojson", b'{"type": "FeatureCollection", "features": [', 422, "grid.geojson"),
    ],
)
def test_unreadable_grid_files_store_nothing(officer, web_app, name, content, status, message):
    before = counts(web_app)
    resp = upload(officer, "grid", name, content)
    assert resp.status_code == status
    html = resp.get_data(as_text=True)
    assert message in html
    assert "Traceback" not in html and "/tmp/" not in html
    assert counts(web_app) == before


def test_an_invalid_grid_is_reported_feature_by_feature_and_not_stored(officer, web_app):
    grid = s02_grid(officer)
    # make micro-grid M001 of B1 overlap its neighbour M002 by half a cell
    i = grid.index[grid["id"] == "S02-B1-M001"][0]
    j = grid.index[grid["id"] == "S02-B1-M002"][0]
    grid.loc[i, "geometry"] = shapely.union(grid.geometry[i], grid.geometry[j].buffer(-0.0003))
    before = counts(web_app)
    resp = upload(officer, "grid", "overlap.geojson", grid.to_json().encode())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "overlap.geojson was not imported" in html or "overlap.geojson" in html
    assert "S02-B1-M001" in html and "overlap" in html
    assert counts(web_app) == before
    assert "import_grid_rejected" in audit_actions(web_app, "S02")


def gbk_incidents(client, bad_rows=2) -> bytes:
    lines = ["案件编号,经度,纬度,案发时间,警情类别"]
    for k, p in enumerate(lattice_points(client)):
        lines.append(f"J{k},{p.x:.6f},{p.y:.6f},2024/3/{k + 1} 8:05:00,盗窃")
    lines.append("J90,999,39.9,2024/3/9 8:05:00,盗窃")  # longitude out of range
    if bad_rows > 1:
        lines.append(f"J91,{p.x:.6f},{p.y:.6f},昨天,盗窃")  # no usable time
    return ("\n".join(lines) + "\n").encode("gbk")


@pytest.mark.both_stores
def test_incidents_keep_good_rows_and_offer_the_rejected_ones(officer, web_app):
    before = counts(web_app)
    resp = upload(officer, "incidents", "警情导出.csv", gbk_incidents(officer))
    assert resp.status_code == 302
    report = officer.get(resp.headers["Location"])
    html = report.get_data(as_text=True)
    assert 'id="n-added">6<' in html and 'id="n-rejected">' in html
    after = counts(web_app)
    assert after["incidents"] == before["incidents"] + 6
    assert after["hotspot_runs"] == before["hotspot_runs"] + 1  # recomputed with them
    rejects_url = next(
        part.split('"')[0] for part in html.split('href="') if "rejects.csv" in part.split('"')[0]
    )
    csv = officer.get(rejects_url)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8-sig")
    assert "999" in text and "row" in text.splitlines()[0]
    # the same file again adds nothing: the station already has those rows
    again = upload(officer, "incidents", "警情导出.csv", gbk_incidents(officer))
    assert again.status_code == 302
    html = officer.get(again.headers["Location"]).get_data(as_text=True)
    assert 'id="n-added">0<' in html
    assert counts(web_app)["incidents"] == after["incidents"]


def test_the_same_incidents_from_a_report_with_seconds_are_not_added_twice(officer, web_app):
    # one 110 system, two exports: a CSV to the minute in Chinese, an XLSX with seconds
    points = lattice_points(officer)
    lines = ["警情编号,经度,纬度,发生时间,案件类别"]
    for k, p in enumerate(points):
        lines.append(f"M{k},{p.x:.6f},{p.y:.6f},2024年3月{k + 1}日 14时05分,盗窃")
    resp = upload(officer, "incidents", "警情.csv", ("\n".join(lines) + "\n").encode("gbk"))
    assert resp.status_code == 302
    before = counts(web_app)["incidents"]
    frame = pd.DataFrame(
        {
            "警情编号": [f"M{k}" for k in range(len(points))] + ["M99"],
            "经度": [p.x for p in points] + [points[0].x],
            "纬度": [p.y for p in points] + [points[0].y],
            "发生时间": [pd.Timestamp(2024, 3, k + 1, 14, 5, 37) for k in range(len(points))]
            + [pd.Timestamp(2024, 3, 9, 14, 5)],
            "案件类别": "盗窃",
        }
    )
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    resp = upload(officer, "incidents", "警情.xlsx", buf.getvalue())
    assert resp.status_code == 302
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="n-added">1<' in html, html  # M99 only
    assert counts(web_app)["incidents"] == before + 1


def test_an_incident_file_with_no_usable_row_stores_nothing(officer, web_app):
    before = counts(web_app)
    content = "案件编号,经度,纬度,案发时间\nX1,999,999,2024-03-05\nX2,abc,1,2024-03-05\n"
    resp = upload(officer, "incidents", "bad.csv", content.encode("gbk"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    # the file, each bad row, its value and what is wrong: all in the message
    assert "bad.csv: none of the 2 rows could be imported" in html
    assert "row 2" in html and "999" in html and "row 3" in html
    assert "/tmp/" not in html
    assert counts(web_app) == before


def test_an_oversized_upload_is_refused_with_a_message(officer, web_app):
    web_app.config["MAX_CONTENT_LENGTH"] = 10_000
    resp = upload(officer, "incidents", "big.csv", b"x" * 20_000)
    assert resp.status_code == 413
    assert "upload limit" in resp.get_data(as_text=True) or "上传" in resp.get_data(as_text=True)


def test_analysts_cannot_import(client, web_store, web_app):
    login(client, web_store["users"][("S02", "analyst")])
    before = counts(web_app)
    token = csrf_token(client, "/")
    resp = client.post(
        "/import/incidents",
        data={"csrf_token": token, "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403
    assert counts(web_app) == before


@pytest.mark.both_stores
def test_a_failed_write_leaves_the_store_as_it_was(web_app, web_store):
    """A batch whose rows break a constraint half-way is rolled back whole."""
    import pandas as pd

    from gridplan.geo.incidents import ImportResult

    con = connect(web_app.config["DATABASE"])
    before = counts(web_app)
    incidents = gpd.GeoDataFrame(
        {
            "id": ["a", "b"],
            "time": pd.to_datetime(["2024-01-01T08:00:00+08:00"] * 2),
            "category": ["x", "y"],
            "alert": [None, None],
            "weight": [1.0, float("nan")],  # SQLite stores NaN as NULL: NOT NULL fails
            "in_station": [True, True],
            "source_row": [2, 3],
        },
        geometry=[shapely.Point(120, 30), shapely.Point(120.1, 30)],
        crs=4326,
    )
    result = ImportResult(
        incidents=incidents,
        rejects=pd.DataFrame(columns=["row", "column", "value", "reason"]),
        source="x.csv",
        n_rows=2,
    )
    with pytest.raises(Exception, match=r"(?i)not[ -]null"):
        store.save_incident_batch(con, "S02", result, source_name="x.csv", username="t")
    con.close()
    assert counts(web_app) == before


def test_import_report_json_summary_is_kept(officer, web_app):
    resp = upload(officer, "incidents", "警情导出.csv", gbk_incidents(officer, bad_rows=1))
    con = connect(web_app.config["DATABASE"])
    row = con.execute("SELECT summary_json FROM incident_batches ORDER BY id DESC").fetchone()
    con.close()
    summary = json.loads(row[0])
    assert resp.status_code == 302
    assert summary["encoding"] in ("gb18030", "gbk") and summary["kept"] == 6
    # imported against the grid: a NumPy False was stored as the truthy string "False"
    assert summary["swapped"] is False
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    assert "swapped" not in html and 'id="unweighted"' not in html


def test_import_report_names_categories_without_a_weight(officer):
    lines = ["id,lon,lat,time,category"]
    for k, p in enumerate(lattice_points(officer)):
        category = ("Assault", "Assault", "Break and Enter", "盗窃", "盗窃", "Robbery")[k]
        lines.append(f"T{k},{p.x:.6f},{p.y:.6f},2014/03/02 05:00:00+00,{category}")
    resp = upload(officer, "incidents", "toronto.csv", ("\n".join(lines) + "\n").encode())
    assert resp.status_code == 302
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    block = html.split('id="unweighted"')[1].split("</div>")[0]
    assert "<code>Assault</code> (2), <code>Break and Enter</code> (1)</p>" in block
    assert "default weight 1" in block and "[scoring.category_weights]" in block
    officer.get("/lang/zh")
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    block = html.split('id="unweighted"')[1].split("</div>")[0]
    assert "<code>Assault</code>" in block and "权重" in block


def test_import_report_names_the_columns_in_the_ui_language(officer):
    resp = upload(officer, "incidents", "警情导出.csv", gbk_incidents(officer, bad_rows=1))
    assert resp.status_code == 302
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    used = html.split('id="columns-used">')[1].split("</p>")[0]
    assert "Longitude ← <code>经度</code>" in used and "Incident id ← <code>案件编号</code>" in used
    officer.get("/lang/zh")
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    used = html.split('id="columns-used">')[1].split("</p>")[0]
    assert "经度 ← <code>经度</code>" in used and "警情编号 ← <code>案件编号</code>" in used
    assert not re.search(r"\b(lon|lat|time|id|category)\b", used), used


# --------------------------------------------------------------------------- column mapping

_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def pending_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no pending upload token on the page"
    return match.group(1)


def pending_uploads(app) -> list[Path]:
    """The uploaded files kept on the server (the outcomes beside them are not the file)."""
    return sorted((Path(app.instance_path) / "uploads").glob("*/file/*"))


def odd_incidents(client, fmt: str) -> tuple[str, bytes]:
    """Six incidents in S02 whose coordinate and time headers no alias knows."""
    points = lattice_points(client)
    rows = [
        {"编号": f"Q{k}", "东经": p.x, "北纬": p.y, "何时": f"2024-04-0{k + 1} 09:30"}
        for k, p in enumerate(points)
    ]
    frame = pd.DataFrame(rows).assign(案别="盗窃")
    if fmt in ("csv-utf8", "csv-gbk"):
        text = frame.to_csv(index=False, float_format="%.6f")
        return "警情.csv", text.encode("utf-8" if fmt == "csv-utf8" else "gbk")
    if fmt == "xlsx":
        buf = io.BytesIO()
        frame.to_excel(buf, index=False)
        return "警情.xlsx", buf.getvalue()
    gdf = gpd.GeoDataFrame(frame.drop(columns=["东经", "北纬"]), geometry=points, crs="EPSG:4326")
    return "警情.geojson", gdf.to_json().encode()


def choose(client, token: str, **columns):
    data = {"csrf_token": csrf_token(client, "/import/"), "token": token}
    data.update({r: "" for r in ("lon", "lat", "time", "category", "id", "alert")})
    data.update(columns)
    return follow_job(client, client.post("/import/incidents/columns", data=data))


@pytest.mark.parametrize("fmt", ["csv-utf8", "csv-gbk", "xlsx", "geojson"])
def test_unrecognised_columns_are_chosen_in_the_mapping_form(officer, web_app, fmt):
    before = counts(web_app)
    name, content = odd_incidents(officer, fmt)
    resp = upload(officer, "incidents", name, content)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="mapping-form"' in html and "choose below which column" in html
    assert "--column" not in html  # the web points at its form, not the command line
    assert "Q0" in html and "盗窃" in html  # the file's values, beside its headers
    assert 'value="编号" selected' in html  # what was recognised is pre-filled
    has_xy = fmt != "geojson"
    assert ('id="col-lon"' in html) is has_xy  # a vector file's points are its geometry
    assert counts(web_app) == before  # nothing stored while the form waits
    assert len(pending_uploads(web_app)) == 1
    token = pending_token(html)
    chosen = {"time": "何时", "category": "案别", "id": "编号"}
    if has_xy:
        chosen.update(lon="东经", lat="北纬")
    resp = choose(officer, token, **chosen)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    report = officer.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="n-added">6<' in report
    assert counts(web_app)["incidents"] == before["incidents"] + 6
    assert pending_uploads(web_app) == []  # removed once used
    assert choose(officer, token, **chosen).status_code == 404  # and not usable again
    con = connect(web_app.config["DATABASE"])
    detail = con.execute(
        "SELECT detail_json FROM audit WHERE action='import_incidents' ORDER BY id DESC"
    ).fetchone()[0]
    con.close()
    assert json.loads(detail)["columns"]["time"] == "何时"


def test_a_wrong_choice_shows_the_form_again_with_the_reason(officer, web_app):
    before = counts(web_app)
    name, content = odd_incidents(officer, "csv-utf8")
    token = pending_token(upload(officer, "incidents", name, content).get_data(as_text=True))
    resp = choose(officer, token, lon="东经", lat="东经", time="何时")
    assert resp.status_code == 422
    assert "东经 is chosen more than once" in resp.get_data(as_text=True)
    # the category column as the time: no row has a time, so the form comes back with why
    resp = choose(officer, token, lon="东经", lat="北纬", time="案别")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="mapping-form"' in html
    assert "none of the 6 rows could be imported" in html and "/uploads/" not in html
    assert 'value="案别" selected' in html  # the officer's choice is kept
    assert counts(web_app) == before
    resp = choose(officer, token, lon="东经", lat="北纬", time="何时")
    assert resp.status_code == 302
    assert counts(web_app)["incidents"] == before["incidents"] + 6


def test_the_officer_may_check_recognised_columns_before_importing(officer, web_app):
    before = counts(web_app)
    resp = upload(officer, "incidents", "警情导出.csv", gbk_incidents(officer), review="1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    guessed = {"lon": "经度", "lat": "纬度", "time": "案发时间", "id": "案件编号"}
    for role, header in guessed.items():
        select = rf'id="col-{role}">(?:(?!</select>).)*value="{header}" selected'
        assert re.search(select, html, re.S)
    assert counts(web_app) == before
    # the officer says the file has no category column: the rows come in without one
    resp = choose(
        officer, pending_token(html), lon="经度", lat="纬度", time="案发时间", id="案件编号"
    )
    assert resp.status_code == 302
    con = connect(web_app.config["DATABASE"])
    cats = con.execute("SELECT DISTINCT category FROM incidents WHERE id LIKE 'J%'").fetchall()
    con.close()
    assert [tuple(r) for r in cats] == [(None,)]
    assert counts(web_app)["incidents"] == before["incidents"] + 6


def test_a_forged_or_foreign_token_is_refused(officer, web_app, web_store):
    name, content = odd_incidents(officer, "csv-utf8")
    token = pending_token(upload(officer, "incidents", name, content).get_data(as_text=True))
    columns = {"lon": "东经", "lat": "北纬", "time": "何时"}
    before = counts(web_app)
    for forged in ("A" * 32, "../" * 10 + "etc", token[:-1], ""):
        assert choose(officer, forged, **columns).status_code == 404
    # the same upload for another step is not found either
    data = {"csrf_token": csrf_token(officer, "/import/"), "token": token}
    assert officer.post("/import/grid/repair", data=data).status_code == 404
    # another user of the same station, and a user of another station
    for user in (("S02", "admin"), ("S01", "officer")):
        other = web_app.test_client()
        login(other, web_store["users"][user])
        resp = choose(other, token, **columns)
        assert resp.status_code == 404
        assert "upload the file again" in resp.get_data(as_text=True) or "重新上传" in (
            resp.get_data(as_text=True)
        )
    assert counts(web_app) == before
    assert choose(officer, token, **columns).status_code == 302  # the owner still can


def test_an_old_upload_has_expired(officer, web_app):
    name, content = odd_incidents(officer, "csv-utf8")
    token = pending_token(upload(officer, "incidents", name, content).get_data(as_text=True))
    web_app.config["PENDING_UPLOAD_MAX_AGE_S"] = 0
    assert choose(officer, token, lon="东经", lat="北纬", time="何时").status_code == 404
    assert pending_uploads(web_app) == []


def test_a_cancelled_upload_is_removed(officer, web_app):
    name, content = odd_incidents(officer, "csv-utf8")
    token = pending_token(upload(officer, "incidents", name, content).get_data(as_text=True))
    data = {"csrf_token": csrf_token(officer, "/import/"), "token": token, "kind": "incidents"}
    assert officer.post("/import/cancel", data=data).status_code == 302
    assert pending_uploads(web_app) == []


# --------------------------------------------------------------------------- grid repairs


def test_a_repairable_grid_lists_each_repair_and_stores_it_only_when_confirmed(officer, web_app):
    grid, edge_cell, gap_cell = repairable_grid(officer)
    gap_base = gap_cell.rsplit("-", 1)[0]
    before = counts(web_app)
    resp = upload(officer, "grid", "待修复网格.geojson", grid.to_json().encode())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    table = html[html.index('id="repairs"') : html.index("</table>", html.index('id="repairs"'))]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)<br>", table)
    assert {(fid, problem) for fid, problem, _ in rows} == {
        ("S02-B1-M002", "invalid geometry"),  # the problems as the issue table names them
        (edge_cell, "sliver outside its parent"),
        (gap_cell, "sliver gap"),  # reported on its base grid, repaired on the cell
    }
    assert "ring made valid" in table and "clipped to its parent grid" in table
    assert "gap given to this grid" in table and gap_base in table
    assert re.search(r'class="num">(99|100)\.\d</td>', table)  # the overhang's area in m2
    assert 'id="repair-as-is"' not in html  # with an error it cannot be stored as it is
    assert counts(web_app) == before  # nothing stored before the officer confirms
    data = {"csrf_token": csrf_token(officer, "/import/"), "token": pending_token(html)}
    resp = follow_job(officer, officer.post("/import/grid/repair", data=data))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert counts(web_app)["grids"] == before["grids"] + 1
    con = connect(web_app.config["DATABASE"])
    row = con.execute(
        "SELECT id, version, report_json FROM grids WHERE station_id='S02' ORDER BY version DESC"
    ).fetchone()
    stored = store.load_grid(con, row[0])
    audit_detail = con.execute(
        "SELECT detail_json FROM audit WHERE action='import_grid' ORDER BY id DESC"
    ).fetchone()[0]
    con.close()
    report = json.loads(row[2])
    assert report["repaired"] is True and report["ok"] is True
    assert {r["feature_id"] for r in report["repairs"]} == {"S02-B1-M002", edge_cell, gap_cell}
    assert report["before_repair"]["codes"]["invalid_geometry"] == 1
    assert json.loads(audit_detail)["repaired"] is True
    assert stored.geometry.is_valid.all()
    page = officer.get("/import/").get_data(as_text=True)
    assert f"v{row[1]}" in page and "repaired on import (3 repairs)" in page
    assert pending_uploads(web_app) == []


def test_a_grid_valid_but_for_slivers_may_be_stored_as_it_is(officer, web_app):
    grid, edge_cell, _ = repairable_grid(officer)
    fine = s02_grid(officer)
    grid.loc[grid["id"] == "S02-B1-M002", "geometry"] = fine.geometry[fine["id"] == "S02-B1-M002"]
    before = counts(web_app)
    resp = upload(officer, "grid", "sliver.geojson", grid.to_json().encode())
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'id="repair-as-is"' in html and edge_cell in html
    assert counts(web_app) == before
    data = {"csrf_token": csrf_token(officer, "/import/"), "token": pending_token(html)}
    resp = follow_job(officer, officer.post("/import/grid/repair", data={**data, "as_is": "1"}))
    assert resp.status_code == 302
    con = connect(web_app.config["DATABASE"])
    row = con.execute("SELECT id, report_json FROM grids ORDER BY id DESC").fetchone()
    stored = store.load_grid(con, row[0])
    con.close()
    assert "repaired" not in json.loads(row[1])
    cell = stored.geometry[stored["id"] == edge_cell].iloc[0]
    assert cell.bounds[2] > fine.geometry[fine["id"] == edge_cell].iloc[0].bounds[2]


def test_an_unrepairable_grid_is_rejected_with_what_remains(officer, web_app):
    grid, _, _ = repairable_grid(officer)
    i = grid.index[grid["id"] == "S02-B2-M001"][0]
    j = grid.index[grid["id"] == "S02-B2-M002"][0]
    grid.loc[i, "geometry"] = shapely.union(grid.geometry[i], grid.geometry[j].buffer(-0.0003))
    before = counts(web_app)
    resp = upload(officer, "grid", "overlap.geojson", grid.to_json().encode())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "can be repaired automatically, but the 1 listed here cannot" in html
    assert "S02-B2-M001" in html and "overlap" in html and 'id="repair-confirm"' not in html
    assert counts(web_app) == before
    assert pending_uploads(web_app) == []
