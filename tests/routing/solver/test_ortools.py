"""The OR-Tools adapter: search parameters, OR-Tools names, the set packing."""

import pytest

from gridplan._errors import InputError
from gridplan.routing.solver import OrtoolsParams
from gridplan.routing.solver import _ortools


def test_search_parameters_carry_the_ruin_and_recreate_settings():
    config = OrtoolsParams(
        ils_random_walk=6,
        ils_close_routes=1,
        ils_composition="RUN_ALL_RANDOMLY",
        ils_cooling="LINEAR",
        recreate="LOCAL_CHEAPEST_INSERTION",
        recreate_sorting=("RANDOM",),
    )
    params = _ortools.search_parameters(config, time_limit_s=1.0, scale=100)
    ils = params.iterated_local_search_parameters
    rr = ils.ruin_recreate_parameters
    kinds = [r.WhichOneof("strategy") for r in rr.ruin_strategies]
    assert kinds == ["sisr", "random_walk", "spatially_close_routes"]
    assert rr.ruin_strategies[1].random_walk.num_removed_visits == 6
    assert rr.ruin_composition_strategy == 2  # RUN_ALL_RANDOMLY
    sa = ils.reference_solution_acceptance_strategy.simulated_annealing
    assert sa.cooling_schedule_strategy == 2  # LINEAR
    assert (sa.initial_temperature, sa.final_temperature) == (
        OrtoolsParams().ils_temperature[0] * 100,
        OrtoolsParams().ils_temperature[1] * 100,
    )
    sorting = rr.recreate_strategy.parameters.local_cheapest_insertion
    assert list(sorting.insertion_sorting_properties) == [8]  # SORTING_PROPERTY_RANDOM


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"first_solution": "CHEAPEST"}, r"first_solution='CHEAPEST' is not one of .*'SAVINGS'"),
        ({"metaheuristic": "TABU"}, r"metaheuristic='TABU' is not one of .*'TABU_SEARCH'"),
        ({"ils_composition": "ALL"}, r"ils_composition='ALL' is not one of .*'RUN_ONE_RANDOMLY'"),
        ({"recreate_sorting": ("PENALTY", "DICE")}, r"recreate_sorting='DICE' .*'RANDOM'"),
        ({"operators": ("two_opt", "three_opt")}, r"operators='three_opt' .*'relocate'"),
    ],
)
def test_unknown_ortools_names_are_listed_with_the_valid_ones(kw, match):
    with pytest.raises(InputError, match=match) as info:
        OrtoolsParams(**kw)
    assert "UNSET" not in str(info.value)  # OR-Tools' placeholder is no choice


def test_pack_routes_takes_the_best_disjoint_set_within_the_caps():
    # Columns (class, stops, weight, hinted): 0 and 1 share stop 2, class 0 takes one route.
    columns = [
        (0, {1, 2}, 10, True),
        (0, {2, 3}, 12, False),
        (1, {4}, 5, False),
        (0, {5}, 4, False),
    ]
    assert _ortools.pack_routes(columns, [1, 1], 5.0, deterministic=True) == [1, 2]
    assert _ortools.pack_routes(columns, [2, 1], 5.0, deterministic=True) == [1, 2, 3]
