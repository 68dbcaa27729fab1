"""Imports in the web UI: what passes is stored as a new version; what fails stores nothing."""

import io
import json

import geopandas as gpd
import pytest
import shapely
from _web import csrf_token
from _web import login

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


def upload(client, kind, name, content: bytes, **fields):
    token = csrf_token(client, "/import/")
    data = {"csrf_token": token, "file": (io.BytesIO(content), name), **fields}
    return client.post(f"/import/{kind}", data=data, content_type="multipart/form-data")


def s02_grid(client) -> gpd.GeoDataFrame:
    raw = client.get("/downloads/grid.geojson").data
    return gpd.read_file(io.BytesIO(raw))


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


def lattice_points(client, n=6):
    cells = s02_grid(client)
    micro = cells[cells["level"] == "micro"]
    return [g.representative_point() for g in micro.geometry[:n]]


def gbk_incidents(client, bad_rows=2) -> bytes:
    lines = ["案件编号,经度,纬度,案发时间,警情类别"]
    for k, p in enumerate(lattice_points(client)):
        lines.append(f"J{k},{p.x:.6f},{p.y:.6f},2024/3/{k + 1} 8:05:00,盗窃")
    lines.append("J90,999,39.9,2024/3/9 8:05:00,盗窃")  # longitude out of range
    if bad_rows > 1:
        lines.append(f"J91,{p.x:.6f},{p.y:.6f},昨天,盗窃")  # no usable time
    return ("\n".join(lines) + "\n").encode("gbk")


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
    with pytest.raises(Exception, match="NOT NULL"):
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
