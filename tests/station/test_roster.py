import dataclasses

import pytest

from gridplan import ConfigError
from gridplan.station.config import config_from_mapping
from gridplan.station.config import default_config
from gridplan.station.roster import DEFAULT_ROSTER
from gridplan.station.roster import parse_windows
from gridplan.station.roster import resolve_home_bases


def test_default_roster_is_the_1_plus_3_plus_n_set_up():
    cfg = default_config()
    roles = [p.role for p in cfg.roster]
    assert roles.count("captain") == 1
    assert roles.count("auxiliary") == 3
    assert roles.count("seasonal") >= 1
    assert roles.count("volunteer_team") >= 1
    volunteers = [p for p in cfg.roster if p.role == "volunteer_team"]
    assert all(v.mode == "walk" and v.members == 2 and v.speed_kph == 4.5 for v in volunteers)
    # positions, not ids: "S01-B1" made every station with another id or grid fail to plan
    assert [v.home_bases for v in volunteers] == [(1, 2), (-2, -1)]
    assert all(p.source == f"{DEFAULT_ROSTER}: roster {p.id!r}" for p in cfg.roster)
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
    assert team.source == "station.toml: roster 'V09'"


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
        ({"home_bases": [0]}, r"home_bases = \[0\]: give base grid ids or positions"),
        ({"home_bases": [True]}, "home_bases = \\[True\\]"),
        ({"home_bases": {"a": 1}}, "home_bases = {'a': 1}"),
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


@pytest.mark.parametrize(
    ("base_ids", "first_two", "last_two"),
    [
        (["T07-B1"], ("T07-B1",), ("T07-B1",)),  # past either end: the nearest base grid
        (["T07-B3", "T07-B1", "T07-B2"], ("T07-B1", "T07-B2"), ("T07-B2", "T07-B3")),
        ([f"T07-B{k}" for k in range(12, 0, -1)], ("T07-B1", "T07-B2"), ("T07-B11", "T07-B12")),
        (["东区", "西区", "北区", "南区"], ("东区", "北区"), ("南区", "西区")),  # by code point
    ],
)
def test_default_home_bases_fit_any_grid(base_ids, first_two, last_two):
    roster = resolve_home_bases(default_config().roster, base_ids)
    teams = {p.id: p.home_bases for p in roster if p.role == "volunteer_team"}
    assert teams == {"V01": first_two, "V02": last_two}
    assert all(not p.home_bases for p in roster if p.role != "volunteer_team")


def test_home_bases_mix_ids_and_positions():
    cfg = config_from_mapping(
        {"roster": [{"id": "V1", "role": "volunteer_team", "mode": "walk",
                     "availability": DAILY, "home_bases": ["X-B9", -1, 1, "X-B1"]}]},
        source="station.toml",
    )  # fmt: skip
    (team,) = resolve_home_bases(cfg.roster, ["X-B1", "X-B2"])
    assert team.home_bases == ("X-B9", "X-B2", "X-B1")
    assert resolve_home_bases(cfg.roster, []) is cfg.roster


# --- a new station's first day: default roster, another station id, another grid -----------


def _station_t07():
    """The 3 x 3 lattice station of _lattice under the id T07 (3 base grids)."""
    from _lattice import lattice_network
    from _lattice import make_grid
    from _lattice import make_hotspots

    grid = make_grid()
    for col in ("id", "parent_id"):
        grid[col] = grid[col].map(lambda v: v.replace("S01", "T07") if isinstance(v, str) else v)
    return grid, make_hotspots(grid), lattice_network()


def test_a_new_station_plans_with_the_default_roster():
    from gridplan.routing.planner import plan_patrols
    from gridplan.routing.request import PlanRequest
    from gridplan.routing.solver import SolveParams

    grid, hot, net = _station_t07()
    cfg = config_from_mapping({"station": {"id": "T07"}}, source="t07.toml")  # no [[roster]]
    quick = SolveParams(time_limit_s=1, seed=1, workers=1, work_limit=300)
    plan = plan_patrols(grid, hot, net, cfg, PlanRequest("2024-06-05", ["morning"]), params=quick)
    assert plan.is_feasible()
    assert {r.patroller_id for r in plan.slices[0].routes} == {"C01", "A01", "V01", "V02"}
    # the two auxiliaries cover nine micro-grids alone; the volunteers' own plan:
    request = PlanRequest("2024-06-05", ["morning"], patrollers=["V01", "V02"])
    plan = plan_patrols(grid, hot, net, cfg, request, params=quick)
    assert plan.is_feasible()
    routes = {r.patroller_id: r for r in plan.slices[0].routes}
    # the volunteers (09:00-11:30) walk the first two and the last two of T07-B1..B3
    assert routes["V01"].duty.home_bases == ("T07-B1", "T07-B2")
    assert routes["V02"].duty.home_bases == ("T07-B2", "T07-B3")
    assert routes["V01"].stops or routes["V02"].stops
    for pid in ("V01", "V02"):
        assert {s.base_id for s in routes[pid].stops} <= set(routes[pid].duty.home_bases)


def test_roster_errors_name_where_the_value_came_from():
    import dataclasses

    from gridplan.routing.problem import build_problem

    grid, hot, net = _station_t07()
    cfg = config_from_mapping({"station": {"id": "T07"}}, source="t07.toml")
    roster = tuple(
        dataclasses.replace(p, home_bases=("S01-B1",)) if p.id == "V01" else p for p in cfg.roster
    )
    with pytest.raises(ConfigError) as info:
        build_problem(
            grid, hot, net, dataclasses.replace(cfg, roster=roster), date="2024-06-05",
            slice_id="morning",
        )  # fmt: skip
    assert str(info.value) == (
        f"{DEFAULT_ROSTER}: roster 'V01': home_bases 'S01-B1' not in the grid (base grids: "
        "T07-B1, T07-B2, T07-B3; or give positions, 1 = the first); replace the default "
        "roster with [[roster]] entries in t07.toml"
    )
    own = config_from_mapping(
        {"station": {"id": "T07"}, "roster": [{"id": "V09", "role": "volunteer_team",
         "mode": "walk", "availability": DAILY, "home_bases": ["B9"], "start": "M1"}]},
        source="t07.toml",
    )  # fmt: skip
    with pytest.raises(ConfigError) as info:
        build_problem(grid, hot, net, own, date="2024-06-05", slice_id="morning")
    assert str(info.value) == (
        "t07.toml: roster 'V09': home_bases 'B9' not in the grid (base grids: T07-B1, "
        "T07-B2, T07-B3; or give positions, 1 = the first); t07.toml: roster 'V09': start = "
        "'M1' is neither 'station' nor a micro-grid id of the grid; t07.toml: roster 'V09': end "
        "= 'M1' is neither 'station' nor a micro-grid id of the grid; fix the [[roster]] entries"
    )


def test_alert_policies_default_and_override_per_colour():
    from gridplan.station.roster import AlertPolicy

    policy = default_config().patrol.alerts
    assert policy["red"] == AlertPolicy(3.0, 30, 30)
    assert policy["yellow"] == AlertPolicy(1.5, 45, 15)
    assert policy["blue"] == AlertPolicy(1.0, None, 0) and not policy["blue"].changes_routes
    cfg = config_from_mapping({"patrol": {"alerts": {"yellow": {"min_presence_min": 24}}}})
    assert cfg.patrol.alerts["yellow"] == AlertPolicy(1.5, 45, 24)
    assert cfg.patrol.alerts["red"] == policy["red"]


@pytest.mark.parametrize(
    ("alerts", "match"),
    [
        ({"orange": {}}, r"patrol\.alerts: unknown colour\(s\) orange; use red, yellow, blue"),
        ({"red": {"value_factor": 0.5}}, r"value_factor = 0\.5 must be >= 1"),
        ({"red": {"min_presence": 30}}, r"patrol\.alerts\.red: unknown key\(s\) min_presence"),
        ({"red": {"revisit_gap_min": "soon"}}, r"patrol\.alerts\.red\.revisit_gap_min"),
        ({"red": 3}, r"patrol\.alerts\.red"),
    ],
)
def test_bad_alert_policies_name_the_key_and_the_fix(alerts, match):
    with pytest.raises(ConfigError, match=match):
        config_from_mapping({"patrol": {"alerts": alerts}})
