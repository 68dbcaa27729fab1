import dataclasses

import numpy as np
import pytest

from gridplan import ConfigError
from gridplan.geo.crs import wgs84_to_gcj02
from gridplan.station.config import StationConfig
from gridplan.station.config import config_from_mapping
from gridplan.station.config import default_config
from gridplan.station.config import load_config
from gridplan.station.timeslices import TimeSlice


def test_defaults_suit_a_chinese_station():
    cfg = default_config()
    assert cfg.timezone == "Asia/Shanghai"
    assert cfg.base_grid_count == 5
    assert cfg.cell_size_m == 200
    assert [s.id for s in cfg.slices] == ["morning", "day", "evening", "night"]
    night = cfg.slices[-1]
    assert night.crosses_midnight and night.duration_min == 8 * 60
    # the four default slices cover the whole day exactly once
    assert sum(s.duration_min for s in cfg.slices) == 24 * 60
    assert cfg.weight_for("抢劫") > cfg.weight_for("盗窃") == 1.0
    assert cfg.weight_for("  ROBBERY ") == cfg.weight_for("Robbery")
    assert cfg.weight_for("something new") == cfg.default_weight
    assert cfg.alert_weight("red") > cfg.alert_weight("blue") == 1.0
    assert cfg.alert_weight(None) == 1.0
    # feedback from tracks (gridplan plan --presence): changes nothing without presence
    assert (cfg.patrol.underserved_boost, cfg.patrol.missed_flag_after) == (0.5, 2)


def test_station_file_overrides_only_what_it_names(tmp_path):
    p = tmp_path / "station.toml"
    p.write_text(
        """
[station]
id = "S07"
name = "东门警务室"
[scoring.category_weights]
"电诈" = 0.2
[[time.slices]]
id = "late"
start = "20:00"
end = "02:00"
""",
        encoding="utf-8",
    )
    cfg = load_config(p)
    assert cfg.station_id == "S07" and cfg.station_name == "东门警务室"
    assert cfg.weight_for("电诈") == 0.2
    assert cfg.weight_for("抢劫") == 4.0  # defaults kept for categories not listed
    assert [s.id for s in cfg.slices] == ["late"]  # a slice list replaces the default one
    assert cfg.timezone == "Asia/Shanghai"


def test_split_weekend_doubles_slices():
    cfg = dataclasses.replace(default_config(), split_weekend=True)
    ids = [s.id for s in cfg.slices]
    assert len(ids) == 8
    assert ids[:2] == ["morning_wd", "morning_we"]
    assert {s.days for s in cfg.slices} == {"weekday", "weekend"}


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("[station]\nid = 'S 01'\n", "station.id 'S 01'"),
        ("[station]\ntimezone = 'Mars/Base'\n", "not an IANA timezone"),
        ("[crs]\ncoordinates = 'wgs72'\n", "wgs84, gcj02, bd09"),
        ("[grid]\ncell_size_m = -5\n", "grid.cell_size_m = -5.0 must be greater than 0"),
        ("[stations]\nid = 'x'\n", r"unknown table \[stations\]"),
        ("[station]\nnmae = 'x'\n", "unknown key station.nmae"),
        ("[[time.slices]]\nid = 'x'\nstart = '25:00'\nend = '02:00'\n", "not a time of day"),
        ("[[time.slices]]\nid = 'x'\nstart = '02:00'\nend = '02:00'\n", "same time"),
        ("[[time.slices]]\nid = 'x'\nstart = '02:00'\n", "lacks end"),
        ("[scoring.alert_weights]\npurple = 2\n", "unknown colour 'purple'"),
        ("[hotspots]\ninference = 'bayes'\n", "normal, permutation"),
        ("[hotspots]\nclasses = 'kde'\n", "hotspots.classes = 'kde' is unknown; use one of auto"),
        ("[hotspots]\nsmall_station_cells = -1\n", "small_station_cells = -1 must not be neg"),
        ("[station\nid = 1", "not valid TOML"),
        ("[tracks]\nretention_days = 0\n", "tracks.retention_days = 0 must be a whole number"),
        ("[tracks]\nretention_days = 'a year'\n", "retention_days = 90"),
        ("[tracks]\nkeep = 3\n", "unknown key tracks.keep"),
        ("[patrol]\nunderserved_boost = -0.5\n", "underserved_boost = -0.5 must be 0"),
        ("[patrol]\nmissed_flag_after = 0\n", "missed_flag_after = 0 must be 1 or more"),
        ("[patrol]\nmissed_flag_after = 1.5\n", "patrol.missed_flag_after = 1.5"),
    ],
)
def test_bad_config_names_key_and_fix(tmp_path, toml, match):
    p = tmp_path / "bad.toml"
    p.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as info:
        load_config(p)
    assert str(p) in str(info.value)


def test_track_retention_defaults_to_90_days_and_is_the_stations_own(tmp_path):
    assert load_config().track_retention_days == 90
    p = tmp_path / "s.toml"
    p.write_text("[tracks]\nretention_days = 30\n", encoding="utf-8")
    assert load_config(p).track_retention_days == 30


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_timeslice_validation():
    with pytest.raises(ConfigError, match="valid id"):
        TimeSlice(id="night shift", start_min=0, end_min=60)
    s = TimeSlice(id="n", start_min=22 * 60, end_min=6 * 60, name_zh="夜间", name_en="Night")
    assert s.label == "夜间 Night 22:00-06:00"


def test_config_is_frozen():
    cfg = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.station_id = "X"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.category_weights["抢劫"] = 1  # type: ignore[index]
    assert isinstance(config_from_mapping({}), StationConfig)


def test_station_location_wgs84_and_gcj02():
    assert default_config().location is None
    cfg = config_from_mapping({"station": {"location": [121.4737, 31.2304]}})
    assert cfg.location == (121.4737, 31.2304)
    # a location copied from 高德 (GCJ-02) is converted to WGS 84: some 500 m off in Shanghai
    gcj = config_from_mapping(
        {"station": {"location": [121.4737, 31.2304]}, "crs": {"coordinates": "gcj02"}}
    )
    lon, lat = gcj.location
    assert 0.003 < 121.4737 - lon < 0.006 and 0.001 < lat - 31.2304 < 0.003
    back = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert np.allclose([back[0][0], back[1][0]], [121.4737, 31.2304], atol=1e-7)


@pytest.mark.parametrize("value", [[121.4], [200.0, 31.0], ["121", "31"], [True, False]])
def test_bad_station_location(value):
    with pytest.raises(ConfigError, match=r"station.location .*\[longitude, latitude\]"):
        config_from_mapping({"station": {"location": value}}, source="s.toml")
