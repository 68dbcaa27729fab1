"""Solving big slices base grid by base grid: who goes where, and joined plans that check."""

from _lattice import make_config
from _lattice import make_hotspots
from _lattice import patroller
from _plans import plan_checked

from gridplan.routing import planner
from gridplan.routing.decompose import assign_bases
from gridplan.routing.decompose import solve_by_base
from gridplan.routing.problem import build_problem
from gridplan.routing.request import PlanRequest
from gridplan.routing.solver import SolveParams

FAST = SolveParams(time_limit_s=4, workers=1, work_limit=200, seed=2)
MORNING = PlanRequest("2024-06-05", slices=["morning"])


def morning(grid, net, cfg):
    return build_problem(grid, make_hotspots(grid), net, cfg, date="2024-06-05", slice_id="morning")


def crew(n_free=3, volunteer_base="S01-B3"):
    roster = [patroller(f"A{i}", {"daily": ["06:00-10:00"]}, mode="ebike") for i in range(n_free)]
    roster.append(patroller("V1", {"daily": ["06:00-10:00"]}, home_bases=[volunteer_base]))
    return roster


def test_every_risky_base_gets_someone_volunteers_their_own(net, grid):
    cfg = make_config(crew())
    problem = build_problem(
        grid, make_hotspots(grid), net, cfg, date="2024-06-05", slice_id="morning"
    )
    crews = assign_bases(problem)
    ids = {b: [od.patroller.id for od in c] for b, c in crews.items()}
    assert set(ids) == {"S01-B1", "S01-B2", "S01-B3"}
    assert "V1" in ids["S01-B3"]
    assert sorted(p for crew_ids in ids.values() for p in crew_ids) == ["A0", "A1", "A2", "V1"]


def test_joined_solution_is_feasible_and_covers_every_base(net, grid):
    cfg = make_config(crew(), top_share=0.3, revisit_gap_min=30)
    problem = build_problem(
        grid, make_hotspots(grid), net, cfg, date="2024-06-05", slice_id="morning"
    )
    model = problem.to_prize_vrp()
    sol = solve_by_base(problem, model, time_limit_s=3, workers=1, work_limit=200)
    assert sol is not None and sol.is_feasible(model), sol and sol.violations(model)
    assert sol.cover_violations == ()
    # each patroller keeps to the base grid it was given
    crews = {od.patroller.id: b for b, c in assign_bases(problem).items() for od in c}
    for k, r in enumerate(sol.routes):
        bases = {problem.stop(problem.nodes[u].place).base_id for u in r.stops}
        assert bases <= {crews[problem.on_duty[k].patroller.id]}


def test_one_patroller_is_not_decomposed(net, grid):
    cfg = make_config([patroller("A0", {"daily": ["06:00-10:00"]})])
    problem = build_problem(
        grid, make_hotspots(grid), net, cfg, date="2024-06-05", slice_id="morning"
    )
    assert solve_by_base(problem, problem.to_prize_vrp(), time_limit_s=1) is None


def test_planner_decomposes_big_slices_and_the_plan_checks(net, grid, monkeypatch):
    monkeypatch.setattr(planner, "should_decompose", lambda problem, model: True)
    # three micro-grids per base are less than a 45-minute outing's work for a base's crew:
    # no minimum here (the shipped one: tests/routing/test_outings.py)
    cfg = make_config(crew(), top_share=0.3, revisit_gap_min=30, outing_min_min=0)
    plan = plan_checked(grid, make_hotspots(grid), net, cfg, MORNING, params=FAST)
    m = plan.slices[0].metrics
    assert all(m.base_visited.values()) and m.risk_covered > 0.9


def test_when_to_decompose(net, grid, monkeypatch):
    from gridplan.routing import decompose

    cfg = make_config(crew())
    problem = morning(grid, net, cfg)
    model = problem.to_prize_vrp()
    assert not decompose.should_decompose(problem, model)  # 9 micro-grids: whole
    monkeypatch.setattr(decompose, "DECOMPOSE_NODES", 5)
    assert decompose.should_decompose(problem, model)
    one = make_config([patroller("A0", {"daily": ["06:00-10:00"]})])
    solo = morning(grid, net, one)
    assert not decompose.should_decompose(solo, solo.to_prize_vrp())  # one patroller
    monkeypatch.setattr(decompose, "DECOMPOSE_NODES", 10_000)
    monkeypatch.setattr(decompose, "DECOMPOSE_NODES_CREWED", 5)
    # 4 patrollers for 3 base grids: not crewed enough to split below the big threshold
    assert not decompose.should_decompose(problem, model)
    crewed = morning(grid, net, make_config(crew(n_free=5)))
    assert decompose.should_decompose(crewed, crewed.to_prize_vrp())


def test_variants_of_a_decomposed_slice_differ_and_check(net, grid, monkeypatch):
    from _plans import checked

    monkeypatch.setattr(planner, "should_decompose", lambda problem, model: True)
    cfg = make_config(crew(n_free=2), revisit_max=1)
    days = planner.plan_variants(
        grid, make_hotspots(grid), net, cfg, MORNING, variants=2, tolerance=0.2, params=FAST
    )
    for d in days:
        checked(d, net, grid)
    assert days[1].variant["similarity"][0] < 1.0


def test_a_patroller_idle_in_its_base_grid_goes_where_hot_spots_are_left(net, grid):
    """The whole-station search after the split sends the idle patroller to the risk.

    All the risk but a trace sits in S01-B1, more than one walker does in the hour; split, the
    other walker is kept to the nearly empty base grid it was given and B1's hot spots wait.
    Continuing from the joined routes, the whole-station search sends it to them.
    """
    from gridplan.routing.solver import solve_prize_vrp

    roster = [patroller(f"A{i}", {"daily": ["06:00-07:00"]}) for i in range(2)]
    cfg = make_config(roster, top_share=0.3, revisit_gap_min=15, outing_min_min=0)
    scores = [100, 90, 80, 1, 0, 0, 1, 0, 0]
    problem = build_problem(
        grid, make_hotspots(grid, scores), net, cfg, date="2024-06-05", slice_id="morning"
    )
    model = problem.to_prize_vrp()
    split = solve_by_base(problem, model, time_limit_s=3, workers=1, work_limit=200)
    assert split is not None and split.is_feasible(model)

    def left_in_b1(sol):
        """Hot-spot visits in S01-B1 the solution leaves undone."""
        return [
            u
            for u in sol.dropped
            if model.prize[u] > 0 and problem.stop(problem.nodes[u].place).base_id == "S01-B1"
        ]

    def b1_walkers(sol):
        return sum(
            any(problem.stop(problem.nodes[u].place).base_id == "S01-B1" for u in r.stops)
            for r in sol.routes
        )

    assert left_in_b1(split) and b1_walkers(split) == 1  # the other walker is kept out
    whole = solve_prize_vrp(model, FAST, initial=split)
    assert whole.is_feasible(model)
    assert whole.collected_prize > split.collected_prize
    assert len(left_in_b1(whole)) < len(left_in_b1(split))
    # nobody stays out of S01-B1 while its hot spots wait
    assert not left_in_b1(whole) or b1_walkers(whole) == 2


def test_a_warm_start_is_never_lost(net, grid):
    """solve_prize_vrp(initial=...) returns a solution at least as good as the one given."""
    from gridplan.routing.solver import solve_prize_vrp

    cfg = make_config(crew(), top_share=0.3, revisit_gap_min=30)
    problem = morning(grid, net, cfg)
    model = problem.to_prize_vrp()
    split = solve_by_base(problem, model, time_limit_s=3, workers=1, work_limit=200)
    again = solve_prize_vrp(
        model, SolveParams(time_limit_s=2, workers=1, work_limit=1), initial=split
    )
    assert again.is_feasible(model) and again.cost() <= split.cost() + 1e-9
