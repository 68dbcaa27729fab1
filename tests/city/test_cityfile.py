"""The city file: stations, paths relative to it, and every problem named at once."""

from __future__ import annotations

import pytest

from gridplan._errors import InputError
from gridplan.city.cityfile import load_city


def _files(tmp_path, *names):
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")


def test_paths_are_relative_to_the_city_file(tmp_path):
    _files(tmp_path, "a/grid.geojson", "a/station.toml", "a/in.csv", "city.parquet")
    path = tmp_path / "city.toml"
    path.write_text(
        'incidents = "city.parquet"\n[[stations]]\nid = "S01"\ngrid = "a/grid.geojson"\n'
        'config = "a/station.toml"\nincidents = "a/in.csv"\n',
        encoding="utf-8",
    )
    city = load_city(path)
    assert city.name == "city" and city.incidents == tmp_path / "city.parquet"
    (station,) = city.stations
    assert station.grid == tmp_path / "a" / "grid.geojson" and station.streets is None
    assert city.select(["S01"]) == city and city.select(None) == city


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ('[[stations]]\nid = "S 1"\ngrid = "g"\nconfig = "c"\n', ["id = 'S 1' must be letters"]),
        ('[[stations]]\nid = "S1"\nconfig = "c"\n', ["station 1 (S1): grid is missing"]),
        (
            '[[stations]]\nid = "S1"\ngrid = "nope"\nconfig = "c"\nroster = "r"\n',
            ["grid = 'nope':", "does not exist", "unknown key 'roster'"],
        ),
        (
            '[[stations]]\nid = "S1"\ngrid = "g"\nconfig = "c"\n'
            '[[stations]]\nid = "S1"\ngrid = "g"\nconfig = "c"\n',
            ["station id 'S1' is listed twice"],
        ),
        ('name = "x"\n', ["no [[stations]]"]),
        ("stations = [1\n", ["not a TOML city file"]),
    ],
)
def test_a_bad_city_file_says_what_and_where(tmp_path, text, problems):
    _files(tmp_path, "g", "c")
    path = tmp_path / "city.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_city(path)
    for problem in problems:
        assert problem in str(err.value)
