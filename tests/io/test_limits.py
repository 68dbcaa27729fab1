"""Read limits: settings, messages, gzip and zip bombs."""

from __future__ import annotations

import gzip
import zipfile

import pytest

from gridplan import InputError
from gridplan.io.limits import ReadLimits
from gridplan.io.limits import check_zip
from gridplan.io.limits import read_gzip


def test_defaults_and_settings_from_environment():
    env = {"GRIDPLAN_IMPORT_MAX_ROWS": "1000", "GRIDPLAN_IMPORT_MAX_MB": "2.5", "OTHER": "x"}
    limits = ReadLimits.from_mapping(env, prefix="GRIDPLAN_")
    assert limits.max_rows == 1000
    assert limits.max_bytes == int(2.5 * 1024 * 1024)
    assert limits.max_vertices == ReadLimits().max_vertices


@pytest.mark.parametrize("value", ["lots", "-1", "0", True])
def test_a_bad_setting_is_named(value):
    with pytest.raises(InputError, match=r"setting GRIDPLAN_IMPORT_MAX_ROWS = .*positive"):
        ReadLimits.from_mapping({"GRIDPLAN_IMPORT_MAX_ROWS": value}, prefix="GRIDPLAN_")


def test_exceeding_a_limit_names_the_file_the_limit_and_the_setting():
    with pytest.raises(InputError) as info:
        ReadLimits(max_rows=10).check("max_rows", 11, "calls.csv")
    text = str(info.value)
    assert "calls.csv: the number of rows (11) exceeds the limit of 10" in text
    assert "IMPORT_MAX_ROWS" in text and "GRIDPLAN_IMPORT_MAX_ROWS" in text
    assert info.value.message.id == "limits.exceeded"


def test_gzip_is_inflated_within_the_limit(tmp_path):
    path = tmp_path / "calls.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n" * 1000))
    assert read_gzip(path, ReadLimits()) == b"a,b\n1,2\n" * 1000
    with pytest.raises(InputError, match="unpacked size"):
        read_gzip(path, ReadLimits(max_bytes=4000))


def test_a_gzip_bomb_stops_early(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        for _ in range(64):
            fh.write(b"0" * (1024 * 1024))
    with pytest.raises(InputError, match="compression bomb"):
        read_gzip(path, ReadLimits())


def test_a_damaged_gzip_is_named(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n" * 1000)[:40])
    with pytest.raises(InputError, match=r"cut.csv.gz: the .gz file is damaged"):
        read_gzip(path, ReadLimits())


def test_zip_members_are_checked_before_unpacking(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("grid.geojson", b" " * (50 * 1024 * 1024))
    with pytest.raises(InputError, match=r"grid\.geojson inflates more than"):
        check_zip(path, ReadLimits())
    with pytest.raises(InputError, match="unpacked size"):
        check_zip(path, ReadLimits(max_bytes=1024))
    (tmp_path / "no.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match=r"not a valid \.zip"):
        check_zip(tmp_path / "no.zip", ReadLimits())


def test_the_bomb_ratio_is_a_setting_named_in_the_message(tmp_path):
    # a legitimate export of mostly empty cells may compress better than real data does
    path = tmp_path / "sparse.csv.gz"
    path.write_bytes(gzip.compress(b"a" + b"," * 300 + b"\n" + (b"," * 300 + b"\n") * 60_000))
    with pytest.raises(InputError, match=r"raise the setting IMPORT_MAX_RATIO \(environment"):
        read_gzip(path, ReadLimits())
    loose = ReadLimits.from_mapping({"GRIDPLAN_IMPORT_MAX_RATIO": "5000"}, prefix="GRIDPLAN_")
    assert loose.max_ratio == 5000
    assert len(read_gzip(path, loose)) > 10 * 1024 * 1024
