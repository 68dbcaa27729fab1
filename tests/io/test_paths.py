"""Paths inside data files are followed only within the folder of the file naming them."""

import pytest

from gridplan import InputError
from gridplan.io.paths import relative_reference
from gridplan.io.paths import resolve_reference


def test_a_file_in_or_below_the_folder_is_recorded_relative_to_it(tmp_path):
    plan = tmp_path / "day.plan.json"
    assert relative_reference(tmp_path / "net.gpkg", plan) == "net.gpkg"
    assert relative_reference(tmp_path / "a" / "n.gpkg", plan) == "a/n.gpkg"
    assert relative_reference(tmp_path.parent / "n.gpkg", plan) is None


def test_a_relative_reference_resolves_inside_the_folder(tmp_path):
    (tmp_path / "a").mkdir()
    found = resolve_reference("a/n.gpkg", tmp_path / "p.json", key="k", option="--x")
    assert found == (tmp_path / "a" / "n.gpkg").resolve()


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("/etc/passwd", "is an absolute path"),
        ("..", "steps out of the file's folder with '..'"),
        ("a/../../b", "steps out of the file's folder with '..'"),
        ("..\\b", "steps out of the file's folder with '..'"),
        ("D:b", "is an absolute path"),
        ("a\x00b", "contains a control character"),
        ("out/x", "leads out of the file's folder through a symbolic link"),
        (["a"], "is not a path (text)"),
    ],
)
def test_a_reference_leading_out_is_refused_with_the_key_and_option(tmp_path, ref, reason):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "out").symlink_to(tmp_path, target_is_directory=True)
    data_file = tmp_path / "d" / "p.json"
    with pytest.raises(InputError) as info:
        resolve_reference(ref, data_file, key="settings.network.path", option="--network")
    text = str(info.value)
    assert text.startswith(f"{data_file}: settings.network.path {ref!r} {reason};")
    assert text.endswith("Name the file on the command line instead: --network PATH")
