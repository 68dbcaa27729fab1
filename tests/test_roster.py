import dataclasses

import pytest

from gridplan import ConfigError
from gridplan.config import config_from_mapping
from gridplan.config import default_config
from gridplan.roster import parse_windows


def test_default_roster_is_the_1_plus_3_plus_n_set_up():
    cfg = default_config()
    roles = [p.role for p in cfg.roster]
    assert roles.count("captain") == 1
    assert roles.count("auxiliary") == 3
    assert roles.count("seasonal") >= 1
    assert roles.count("volunteer_team") >= 1
    volunteers = [p for p in cfg.roster if p.role == "volunteer_team"]
    assert all(v.mode == "walk" and v.members == 2 and v.speed_kph == 4.5 for v in volunteers)
    assert all(v.home_bases for v in volunteers)
    auxiliaries = [p for p in cfg.roster if p.role == "auxiliary"]
    assert all(a.profile == "ride" and a.speed_kph == 15.0 for a in auxiliaries)
    # the three full-time auxiliaries cover the whole day between them, the night one past midnight
    covered = sorted(w for a in auxiliaries for w in a.windows_on(2))
    assert covered == [(360, 840), (840, 1320), (1320, 1800)]


def test_default_policy_follows_hot_spot_research():
    policy = default_config().patrol
    assert policy.dwell_bounds_min == (10, 15)  # Koper curve
    assert all(10 <= m <= 15 for m in policy.dwell_min.values())
    assert policy.revisit_gap_min >= 30 and policy.revisit_max >= 2
    with pytest.raises(TypeError):
        policy.dwell_min["top"] = 30  # type: ignore[index]


def test_station_roster_replaces_default_and_days_refine():
    cfg = config_from_mapping(
        {
            "roster": [
                {
                    "id": "V09",
                    "name": "夕阳红巡逻队",
                    "role": "volunteer_team",
                    "mode": "walk",
                    "availability": {"weekdays": ["09:00-11:00"], "fri": ["19:00-21:00"]},
                    "home_bases": "S01-B3",
                }
            ]
        },
        source="station.toml",
    )
    (team,) = cfg.roster
    assert team.windows_on(0) == ((540, 660),)
    assert team.windows_on(4) == ((1140, 1260),)  # Friday's own entry wins over "weekdays"
    assert team.windows_on(6) == ()
    assert team.home_bases == ("S01-B3",) and team.members == 2
    assert team.start == team.end == "station"


def test_windows_cross_midnight_and_reject_overlaps():
    assert parse_windows(["22:00-06:00"], where="w") == ((1320, 1800),)
    assert parse_windows("08:00-24:00", where="w") == ((480, 1440),)
    with pytest.raises(ConfigError, match="overlap"):
        parse_windows(["08:00-12:00", "11:00-13:00"], where="w")
    with pytest.raises(ConfigError, match="HH:MM-HH:MM"):
        parse_windows(["8-12"], where="w")


DAILY = {"daily": ["08:00-09:00"]}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"role": "boss"}, "role 'boss' is unknown"),
        ({"mode": "horse"}, "mode 'horse' is unknown"),
        ({"availability": {"someday": ["08:00-09:00"]}}, "unknown day 'someday'"),
        ({"availability": None}, "lacks availability"),
        ({"speed_kph": 200}, "implausible"),
        ({"break_min": 30}, "break_after_min and break_min"),
        ({"shift": 1}, "unknown key"),
    ],
)
def test_bad_roster_entries_name_the_patroller_and_fix(changes, match):
    entry = {"id": "X", "role": "auxiliary", "mode": "walk", "availability": DAILY, **changes}
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(ConfigError, match=match) as info:
        config_from_mapping({"roster": [entry]}, source="station.toml")
    assert "station.toml" in str(info.value)


def test_duplicate_roster_ids():
    entry = {"id": "A1", "role": "auxiliary", "mode": "ebike",
             "availability": {"daily": ["08:00-16:00"]}}  # fmt: skip
    with pytest.raises(ConfigError, match="repeated: A1"):
        config_from_mapping({"roster": [entry, entry]}, source="station.toml")


@pytest.mark.parametrize(
    ("patrol", "match"),
    [
        ({"dwell_min": {"top": 30, "high": 12, "other": 10}}, "outside dwell_bounds_min"),
        ({"dwell_bounds_min": [15, 10]}, "increasing"),
        ({"dosage_cap_min": 5}, "shorter than one stop"),
        ({"top_share": 0.9}, "top_share"),
        ({"revisit_max": 0}, "revisit_max"),
        ({"revisits": 2}, "unknown key patrol.revisits"),
    ],
)
def test_bad_patrol_policy(patrol, match):
    with pytest.raises(ConfigError, match=match):
        config_from_mapping({"patrol": patrol}, source="station.toml")


def test_policy_is_part_of_the_frozen_config():
    cfg = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.patrol = None  # type: ignore[misc]
