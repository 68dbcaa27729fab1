"""Whole routes by labelling (``lns.labels``): exact when uncapped, feasible always, and the start
of the time-window search where it is worth more."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from gridplan.routing.solver import CoverGroup
from gridplan.routing.solver import PrizeVRP
from gridplan.routing.solver import PrizeVRPSolution
from gridplan.routing.solver import RevisitGroup
from gridplan.routing.solver import Vehicle
from gridplan.routing.solver.lns import labels
from gridplan.routing.solver.lns.timed import timed_data
from gridplan.routing.solver.lns.timed import timed_search
from gridplan.routing.solver.lns.timed import warm_up
from gridplan.routing.solver.params import LnsParams
from tests._timed_models import brute_force_best
from tests._timed_models import random_model
from tests._timed_models import travel_of

ROOT = Path(__file__).resolve().parents[4]
PR05 = ROOT / "tests" / "data" / "toptw" / "pr05.txt"


@pytest.fixture(scope="module", autouse=True)
def compiled():
    warm_up()


def small_optw(seed: int, *, stops: int = 7, travel_weight: float = 0.0) -> PrizeVRP:
    """One vehicle, ``stops`` stops with random windows, services and prizes."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(stops + 1, 2))
    opens = rng.integers(0, 150, size=stops + 1)
    tw = np.stack([opens, opens + rng.integers(20, 90, size=stops + 1)], axis=1)
    tw[0] = (0, 320)
    return PrizeVRP(
        travel=(travel_of(xy, 1.0),),
        service=np.r_[0, rng.integers(5, 20, size=stops)],
        prize=np.r_[0, rng.integers(1, 30, size=stops)],
        vehicles=(Vehicle("v", earliest_start=int(rng.integers(0, 30)), latest_end=320),),
        time_windows=tw,
        travel_weight=travel_weight,
    )


@pytest.mark.parametrize("seed", range(12))
def test_with_no_cap_binding_the_labels_find_the_best_route(seed):
    """Dominance alone drops nothing that could lead to a better route: brute force agrees."""
    model = small_optw(seed)
    routes = labels.label_routes(timed_data(model), per_stop=1000)
    sol = PrizeVRPSolution.from_routes(model, routes)
    assert sol.violations(model) == []
    assert sol.collected_prize == brute_force_best(model)


def _without_ties(model: PrizeVRP) -> PrizeVRP:
    """``model`` without revisit groups and cover groups (what labelling can build)."""
    return dataclasses.replace(model, revisit_groups=(), cover_groups=())


@pytest.mark.parametrize("seed", range(8))
def test_labelled_routes_keep_every_rule_a_route_has(seed):
    """Windows, most-wait, profiles, allowed stops, shifts and longest durations; each stop once."""
    model = _without_ties(random_model(seed, n=40, vehicles=3))
    data = timed_data(model)
    assert labels.applies(data)
    routes = labels.label_routes(data, per_stop=50)
    sol = PrizeVRPSolution.from_routes(model, routes)
    assert sol.violations(model) == []
    stops = [u for r in routes for u in r[1:-1]]
    assert len(stops) == len(set(stops))
    for k, r in enumerate(routes):
        allowed = model.vehicles[k].allowed_nodes
        assert allowed is None or set(r[1:-1]) <= allowed
    assert sol.collected_prize > 0


def test_a_route_longer_than_its_vehicle_may_be_out_is_left_empty():
    model = small_optw(3)
    whole = labels.label_routes(timed_data(model), per_stop=1000)[0]
    assert len(whole) > 3
    short = dataclasses.replace(
        model, vehicles=(dataclasses.replace(model.vehicles[0], max_duration=1),)
    )
    assert labels.label_routes(timed_data(short), per_stop=1000) == [[0, 0]]


def test_labels_apply_only_where_a_route_alone_sees_every_rule():
    plain = small_optw(1)
    assert labels.applies(timed_data(plain))
    revisits = dataclasses.replace(plain, revisit_groups=(RevisitGroup((1, 2), min_gap=10),))
    covers = dataclasses.replace(plain, cover_groups=(CoverGroup((1, 2), 5),))
    assert not labels.applies(timed_data(revisits))
    assert not labels.applies(timed_data(covers))


def test_weighted_travel_is_taken_off_the_prize():
    """With travel dearer than any prize the best route visits nothing."""
    model = small_optw(2, travel_weight=100.0)
    assert labels.label_routes(timed_data(model), per_stop=100) == [[0, 0]]


def test_a_pass_with_no_time_given_is_the_one_pass_at_the_most_per_stop():
    data = timed_data(_without_ties(random_model(4, n=40, vehicles=2)))
    assert labels.label_routes_within(data, 60, None) == labels.label_routes(data, 60)


def load_toptw():
    spec = importlib.util.spec_from_file_location("bench_toptw", ROOT / "benchmarks/toptw.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def pr05_model(vehicles: int = 1) -> tuple[PrizeVRP, object, object]:
    bench = load_toptw()
    inst = bench.read_instance(PR05)
    return bench.gridplan_model(inst, vehicles), inst, bench


def test_cordeau_pr05_with_one_vehicle_gets_its_proven_optimum():
    """595 (Righini and Salani's exact labelling); the ruin-and-recreate search alone reaches
    it in about a third of its runs of 8,000 rounds and usually stops at 590-591."""
    model, inst, bench = pr05_model()
    routes = labels.label_routes(timed_data(model), per_stop=100)
    assert bench.check(inst, [r[1:-1] for r in routes], 1) == 595


def test_the_search_starts_from_the_labelled_routes_where_they_are_worth_more():
    model, inst, bench = pr05_model()
    on, _, _ = timed_search(model, None, LnsParams(), seed=0, time_limit_s=60, iteration_limit=1)
    off, _, _ = timed_search(
        model, None, LnsParams(labels=0), seed=0, time_limit_s=60, iteration_limit=1
    )
    assert bench.check(inst, [r[1:-1] for r in on], 1) == 595
    assert bench.check(inst, [r[1:-1] for r in off], 1) < 595


def test_several_vehicles_take_disjoint_stops_each_the_best_of_what_is_left():
    model, inst, bench = pr05_model(vehicles=3)
    data = timed_data(model)
    routes = labels.label_routes(data, per_stop=30)
    assert bench.check(inst, [r[1:-1] for r in routes], 3) > 0  # the checker refuses repeats
    free = np.ones(model.num_nodes, dtype=bool)
    free[routes[0][1:-1]] = False
    second = labels.label_route(data, 1, free, data.prize, 30)
    assert second == routes[1]
