"""SolveParams: defaults, validation that names the value and the fix, TOML files."""

import dataclasses
from pathlib import Path

import pytest

from gridplan._errors import ConfigError
from gridplan._errors import InputError
from gridplan.routing.solver import LnsParams
from gridplan.routing.solver import OrtoolsParams
from gridplan.routing.solver import SolveParams

DATA = Path(__file__).parents[2] / "data"


def test_defaults_are_the_benchmarked_search():
    params = SolveParams()
    assert (params.time_limit_s, params.seed, params.workers, params.work_limit) == (
        10.0,
        0,
        None,
        None,
    )
    assert params.ortools.first_solution == "ALL_UNPERFORMED"
    assert params.ortools.iterated_local_search and params.ortools.ils_temperature == (50.0, 1.0)
    assert (params.lns.share, params.lns.pool, params.lns.noise) == (0.85, 300, 0.9)
    assert params.lns.python and params.lns.cross
    # frozen, hashable and equal by value
    assert params == SolveParams() and hash(params) == hash(SolveParams())
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.seed = 3


@pytest.mark.parametrize(
    ("kind", "kw", "match"),
    [
        (SolveParams, {"time_limit_s": 0}, r"time_limit_s=0 must be a positive number of seconds"),
        (SolveParams, {"time_limit_s": float("inf")}, r"time_limit_s=inf must be a positive"),
        (SolveParams, {"seed": -1}, r"seed=-1 must be a whole number >= 0"),
        (SolveParams, {"seed": 1.5}, r"seed=1.5 must be a whole number"),
        (SolveParams, {"workers": 0}, r"workers=0 must be at least 1, or None for one per core"),
        (SolveParams, {"work_limit": 0}, r"work_limit=0 must be a positive number of solutions"),
        (SolveParams, {"lns": OrtoolsParams()}, r"lns must be an LnsParams, got OrtoolsParams"),
        (SolveParams, {"portfolio": ((LnsParams(),),)}, r"portfolio\[0\] must be an"),
        (OrtoolsParams, {"ils_removed": 0}, r"ils_removed=0 must be a whole number >= 1"),
        (OrtoolsParams, {"jitter": -0.1}, r"jitter=-0.1 must be a number >= 0"),
        (OrtoolsParams, {"ils_temperature": (50.0,)}, r"ils_temperature=\(50.0,\) must be two"),
        (OrtoolsParams, {"ils_cooling": "FAST"}, r"'FAST' is not one of 'EXPONENTIAL', 'LINEAR'"),
        (LnsParams, {"share": 1.5}, r"share=1.5 must be a number in \[0, 1\]"),
        (LnsParams, {"epoch": 2.5}, r"epoch=2.5 must be a whole number >= 1"),
        (LnsParams, {"pool_s": 0}, r"pool_s=0 must be a positive number of seconds"),
        (LnsParams, {"epoch_start": "random"}, r"'random' is not one of 'empty', 'start', 'best'"),
    ],
)
def test_bad_values_name_the_value_and_the_allowed_range(kind, kw, match):
    with pytest.raises(InputError, match=match):
        kind(**kw)


def test_several_problems_are_reported_at_once():
    with pytest.raises(InputError) as info:
        LnsParams(noise=2, epoch=0)
    text = str(info.value)
    assert text.startswith("LnsParams is invalid:")
    assert "noise=2" in text and "epoch=0" in text


def test_override_changes_only_the_values_given():
    params = SolveParams(seed=3, work_limit=50)
    assert params.override() is params
    assert params.override(seed=None, work_limit=None) == params
    assert params.override(seed=4, workers=2) == SolveParams(seed=4, workers=2, work_limit=50)


def test_search_cycles_over_the_portfolio():
    other = (OrtoolsParams(jitter=0.0), LnsParams(cross=False))
    params = SolveParams(portfolio=(other,))
    assert params.search(0) == (params.ortools, params.lns)
    assert params.search(1) == other
    assert params.search(2) == params.search(0)


def test_from_file_reads_every_section():
    params = SolveParams.from_file(DATA / "solve_params.toml")
    assert (params.time_limit_s, params.seed, params.workers, params.work_limit) == (5, 2, 1, 300)
    assert params.ortools == OrtoolsParams(
        ils_cooling="LINEAR", ils_temperature=(40.0, 2.0), recreate_sorting=("RANDOM",)
    )
    assert params.lns == LnsParams(noise=0.5, epoch_start="start")
    assert params.portfolio == ((OrtoolsParams(jitter=0.0), LnsParams(cross=False)),)


def test_from_file_without_tables_keeps_the_defaults(tmp_path):
    path = tmp_path / "limits.toml"
    path.write_text("work_limit = 200\n", encoding="utf-8")
    assert SolveParams.from_file(path) == SolveParams(work_limit=200)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("time_limit = 5\n", r"unknown key\(s\) 'time_limit' in top level; the keys are "),
        (
            "[lns]\nlns_noise = 0.5\n",
            r"unknown key\(s\) 'lns_noise' in \[lns\]; the keys are share",
        ),
        ("[ortools]\njitter = -1\n", r"jitter=-1 must be a number >= 0"),
        ("lns = 3\n", r"lns must be a table of settings, got 3"),
        ("seed = \n", r"not a UTF-8 TOML file"),
        ("[[portfolio]]\nextra = 1\n", r"unknown key\(s\) 'extra' in portfolio\[0\]"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, text, match):
    path = tmp_path / "params.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as info:
        SolveParams.from_file(path)
    assert str(path) in str(info.value)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="solver settings file not found"):
        SolveParams.from_file(tmp_path / "none.toml")


def test_the_default_second_worker_differs_only_in_the_time_window_search():
    """Duration-budget models (the Team Orienteering figures) search alike on every worker."""
    import dataclasses

    first, second = SolveParams().search(0), SolveParams().search(1)
    assert first[0] == second[0]
    differ = {
        f.name
        for f in dataclasses.fields(LnsParams)
        if getattr(first[1], f.name) != getattr(second[1], f.name)
    }
    assert differ == {"share_timed", "most_removed"}
    assert second[1].share_timed == 1.0  # no OR-Tools ILS before it
    assert SolveParams(portfolio=()).search(1) == first
