"""The whole chain wired once (gridplan.pipeline): station folders, run_station, StationRun."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from gridplan import InputError
from gridplan.pipeline import StationRun
from gridplan.pipeline import find_demo_data
from gridplan.pipeline import incident_file
from gridplan.pipeline import run_station
from gridplan.pipeline import street_extract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_station(tmp_path_factory) -> Path:
    """The demo station's config and grid with the 498-row 2019 incident sample, no streets."""
    folder = tmp_path_factory.mktemp("station")
    (folder / "boundaries").mkdir()
    (folder / "incidents").mkdir()
    shutil.copy(ROOT / "data" / "station.toml", folder / "station.toml")
    shutil.copy(ROOT / "data" / "boundaries" / "grid.geojson", folder / "boundaries")
    shutil.copy(
        ROOT / "tests" / "data" / "incidents_portland_2019_sample.csv", folder / "incidents"
    )
    return folder


def test_find_demo_data_names_the_folders_it_tried_and_the_fix(tmp_path):
    with pytest.raises(InputError, match=rf"demo data not found in {tmp_path}.*--data DIR"):
        find_demo_data(tmp_path)
    assert find_demo_data(ROOT / "data") == ROOT / "data"


def test_a_station_folder_without_incidents_is_refused_naming_the_folder(tmp_path):
    (tmp_path / "incidents").mkdir()
    with pytest.raises(InputError, match=r"incidents: no incident export \(\*\.csv"):
        incident_file(tmp_path)
    assert street_extract(tmp_path) is None


def test_run_station_runs_every_stage_and_plans_on_straight_lines_without_streets(small_station):
    run = run_station(small_station, plan_date="2024-06-08", slices=["morning"], time_limit_s=1)
    assert isinstance(run, StationRun)
    assert run.report.ok
    assert run.incidents_file.name == "incidents_portland_2019_sample.csv"
    kept = len(run.imported.incidents)
    assert 0 < kept <= 498
    all_day = run.hotspots[run.hotspots["slice"] == "all"]
    assert all_day["count"].sum() + run.hotspots.attrs["unassigned"] == kept
    assert run.streets is None and run.network is None
    assert [s.slice_id for s in run.plan.slices] == ["morning"]
    assert run.plan.settings["matrix_method"] == ["straight_line"]
    assert set(run.seconds) == {"grid", "validate", "import", "hotspots", "forecast", "plan"}
    # the plan's prize is the forecast chosen for the station, and the plan says so
    forecast = run.hotspots.attrs["forecast"]
    assert set(forecast["names"]) == {"all", "morning", "day", "evening", "night"}
    assert run.plan.settings["forecast"] == forecast
    assert (run.hotspots["forecast"] != "hotspot").all()
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.plan = None


def test_run_station_without_a_plan_date_stops_after_the_hot_spots(small_station):
    run = run_station(small_station, network=False, plan_date=None)
    assert run.plan is None and run.network is None
    assert "plan" not in run.seconds
