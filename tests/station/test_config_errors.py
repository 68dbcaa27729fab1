"""Every broken station file is refused with its file, its key (or line and column), the value
and the fix, by the library and by each command that reads one (exit 2, no traceback)."""

import pytest
from click.testing import CliRunner

from gridplan import ConfigError
from gridplan.cli import main
from gridplan.station.config import load_config

A1 = '[[roster]]\nid = "A1"\nrole = "auxiliary"\nmode = "walk"\n'
DAILY = 'availability = { daily = ["08:00-12:00"] }\n'

#: (station file, what the message says); {path} is the file's path
BROKEN = {
    "syntax": ("[station]\nname = 东门\n", "not valid TOML: Invalid value (at line 2, column 8)"),
    "unclosed table": ("[station\nid = 1", "not valid TOML: "),
    "table as value": ("station = 5\n", "station = 5 (a whole number) must be a table"),
    "unknown table": ("[stations]\nid = 1\n", "unknown table [stations]"),
    "unknown key": ("[grid]\ncell_size = 100\n", "unknown key grid.cell_size;"),
    "text for number": (
        '[grid]\ncell_size_m = "big"\n',
        "grid.cell_size_m = 'big' (text) must be a number; write it like cell_size_m = 200.0",
    ),
    "number for text": ("[station]\nid = 5\n", "station.id = 5 (a whole number) must be text"),
    "text for bool": (
        '[hotspots]\nfdr = "no"\n',
        "hotspots.fdr = 'no' (text) must be true or false; write it like fdr = true",
    ),
    "fraction for count": (
        "[hotspots]\npermutations = 9.5\n",
        "hotspots.permutations = 9.5 (a number) must be a whole number",
    ),
    "not finite": ("[grid]\ncell_size_m = nan\n", "grid.cell_size_m = nan is not a finite number"),
    "bad time": (
        '[[time.slices]]\nid = "n"\nstart = "25:00"\nend = "06:00"\n',
        "time.slices[0].start = '25:00' (text) is not a time of day; write it as HH:MM",
    ),
    "slice not a table": ("[time]\nslices = [5]\n", "time.slices[0] = 5 (a whole number) must be"),
    "slices not a list": ("[time]\nslices = 5\n", "time.slices = 5 (a whole number) must be a"),
    "repeated slice": (
        '[[time.slices]]\nid = "n"\nstart = "22:00"\nend = "06:00"\n'
        '[[time.slices]]\nid = "n"\nstart = "06:00"\nend = "22:00"\n',
        "time.slices ids must be unique; repeated: n",
    ),
    "empty slice": (
        '[[time.slices]]\nid = "n"\nstart = "22:00"\nend = "22:00"\n',
        "time.slices[0]: time slice 'n' starts and ends at the same time",
    ),
    "negative category weight": (
        '[scoring.category_weights]\n"盗窃" = -1\n',
        "scoring.category_weights.盗窃 = -1.0 must be a number >= 0",
    ),
    "negative default weight": (
        "[scoring]\ndefault_weight = -1\n",
        "scoring.default_weight = -1.0 must not be negative",
    ),
    "weights not a table": (
        "[scoring]\ncategory_weights = 5\n",
        "scoring.category_weights = 5 (a whole number) must be a table",
    ),
    "unknown timezone": (
        '[station]\ntimezone = "Mars/Olympus"\n',
        "station.timezone 'Mars/Olympus' is not an IANA timezone; use a name such as",
    ),
    "unknown datum": ('[crs]\ncoordinates = "utm"\n', "crs.coordinates 'utm' is not supported"),
    "roster number as text": (
        A1 + 'speed_kph = "fast"\n' + DAILY,
        "roster 'A1': speed_kph = 'fast' (text) must be a number; write it like speed_kph = 4.5",
    ),
    "roster overlapping windows": (
        A1 + 'availability = { daily = ["08:00-12:00", "11:00-13:00"] }\n',
        "roster 'A1': availability.daily: windows overlap",
    ),
    "roster control character": (
        A1 + 'name = "A\\u001b[31m"\n' + DAILY,
        "roster 'A1': name = 'A\\x1b[31m' (text) contains the control character U+001B",
    ),
    "roster unknown role": (A1.replace("auxiliary", "boss") + DAILY, "role 'boss' is unknown"),
    "patrol text for number": (
        '[patrol]\ntop_share = "x"\n',
        "patrol.top_share = 'x' (text) must be a number",
    ),
    "patrol table as number": (
        "[patrol]\ndwell_min = 5\n",
        "patrol.dwell_min = 5 (a whole number) must be a table",
    ),
    "nested 10000 levels": ("x = " + "[" * 10_000 + "]" * 10_000, "nested hundreds of levels"),
}


def _write(tmp_path, text) -> str:
    path = tmp_path / "bad station.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("text", "says"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_station_file_names_the_file_and_the_key(tmp_path, text, says):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert says in message, message
    assert len(message) < 600  # the value is shown shortened, never the whole file


def test_a_huge_or_binary_station_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (2 << 20), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big.toml: the station file is 2.0 MiB; .* at most 1"):
        load_config(path)
    path.write_bytes('[station]\nname = "东门"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match=r"big.toml: the config is not UTF-8 text .*save it"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"is a folder, not a file"):
        load_config(tmp_path)


def test_ten_thousand_patrollers_are_read_in_linear_time(tmp_path):
    import time

    entries = "".join(A1.replace('"A1"', f'"A{k}"') + DAILY for k in range(10_000))
    path = _write(tmp_path, entries)
    started = time.perf_counter()
    cfg = load_config(path)
    assert len(cfg.roster) == 10_000 and time.perf_counter() - started < 30
    with pytest.raises(ConfigError, match="repeated: A1;"):
        load_config(_write(tmp_path, entries + A1 + DAILY))


def _commands(path: str, tmp_path) -> dict[str, list[str]]:
    out = str(tmp_path / "out.geojson")
    plan = ["plan", "--grid", "g.geojson", "--hotspots", "h.geojson", "--date", "2024-06-05"]
    return {
        "stations add": ["stations", "add", path, "--instance", str(tmp_path / "inst")],
        "stations update": ["stations", "update", path, "--instance", str(tmp_path / "inst")],
        "hotspots": ["hotspots", "--grid", "g.geojson", "--incidents", "i.csv", "--out", out],
        "plan": [*plan, "--out", str(tmp_path / "p.plan.json")],
        "grids validate": ["grids", "validate", "g.geojson"],
        "incidents import": ["incidents", "import", "i.csv", "--out", out],
    }


COMMANDS = [
    "stations add", "stations update", "hotspots", "plan", "grids validate", "incidents import",
]  # fmt: skip
CASES = ["syntax", "text for number", "roster control character", "nested 10000 levels"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES)
def test_each_command_reports_a_broken_station_file_without_a_traceback(tmp_path, command, case):
    text, says = BROKEN[case]
    path = _write(tmp_path, text)
    args = _commands(path, tmp_path)[command]
    if not command.startswith("stations"):
        args += ["--config", path]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    said = " ".join(result.stderr.split())
    assert path in said and " ".join(says.split()) in said, said
