"""Team Orienteering files read into a PrizeVRP, with conservative rounding."""

from pathlib import Path

import numpy as np
import pytest

from gridplan._errors import InputError
from gridplan.routing.solver.top import read_top

DATA = Path(__file__).parents[2] / "data"


def test_read_top_real_file():
    inst = read_top(DATA / "top_p2.2.k.txt")
    assert (inst.name, inst.n, inst.num_vehicles, inst.tmax) == ("top_p2.2.k", 21, 2, 22.5)
    assert inst.score[0] == 0 and inst.score[-1] == 0 and inst.score.sum() == 450
    m = inst.to_model()
    assert m.num_nodes == 21 and m.num_vehicles == 2
    assert all(v.start == 0 and v.end == 20 and v.max_duration == 225_000 for v in m.vehicles)
    d = inst.distances()
    # conservative rounding: integer travel never under-states real distance
    assert np.all(m.travel[0] >= d * 10_000 - 1e-6)


def test_top_rounding_is_conservative():
    inst = read_top(DATA / "top_p2.2.k.txt")
    m = inst.to_model()
    limit = m.vehicles[0].max_duration
    rng = np.random.default_rng(1)
    for _ in range(200):
        path = [0, *rng.permutation(np.arange(1, 20))[: rng.integers(1, 6)].tolist(), 20]
        if m.route_travel(0, path) <= limit:
            assert inst.route_length(path) <= inst.tmax
    score, problems = inst.check([[0, 20], [0, 20]])
    assert score == 0 and problems == []
    score, problems = inst.check([[0, 5, 5, 20]])
    assert problems == ["node 5 visited twice"]


def test_read_top_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read TOP file"):
        read_top(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("n 3\nm 1\nt 5\n0 0 0\n1 1 1\n2 2 0\n")
    with pytest.raises(InputError, match="line 3 should read 'tmax <value>'"):
        read_top(bad)
    bad.write_text("n 4\nm 1\ntmax 5\n0 0 0\n1 1 1\n2 2 0\n")
    with pytest.raises(InputError, match="header says n=4"):
        read_top(bad)


def test_unused_paths_do_not_travel():
    inst = read_top(DATA / "top_p2.2.k.txt")
    assert inst.check([[0, 20], [0, 20]]) == (0, [])
