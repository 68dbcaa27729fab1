import datetime as dt

import numpy as np
import pytest

from gridplan import InputError
from gridplan.forecast.history import build_history
from tests._forecast import CONFIG
from tests._forecast import incidents
from tests._forecast import row_grid


def test_counts_per_day_slice_and_cell():
    gdf = incidents(
        [(1, "2024-01-01 08:00"), (1, "2024-01-01 12:00", 3.0), (3, "2024-01-03 23:00")]
    )
    h = build_history(row_grid(), gdf, config=CONFIG)
    assert h.first_day == dt.date(2024, 1, 1) and h.days == 3
    assert h.slice_ids == ("all", "morning", "day", "evening", "night")
    # before day 3 (2024-01-04): everything; before day 1: the two of 1 January
    assert h.totals(np.array([3]))[0, 0].tolist() == [2, 0, 1, 0]
    assert h.totals(np.array([1]))[0, :, 0].tolist() == [2, 1, 1, 0, 0]
    assert h.totals(np.array([3]), severity=True)[0, 0].tolist() == [4, 0, 1, 0]
    assert h.ahead(np.array([1]), 2)[0, 0].tolist() == [0, 0, 1, 0]
    assert h.window(np.array([3]), 1)[0, 4].tolist() == [0, 0, 1, 0]
    assert h.area_m2 == pytest.approx([40_000.0] * 4)


def test_decay_halves_per_half_life():
    h = build_history(row_grid(), incidents([(2, "2024-01-01 12:00")]), config=CONFIG)
    h2 = build_history(
        row_grid(), incidents([(2, "2024-01-01 12:00")]), config=CONFIG, last_day="2024-01-31"
    )
    assert h.decayed(np.array([1]), 1.0)[0, 0, 1] == pytest.approx(0.5)
    assert h2.decayed(np.array([11]), 10.0)[0, 0, 1] == pytest.approx(0.5**1.1)
    assert h2.decayed(np.array([0]), 10.0)[0, 0, 1] == 0.0


def test_kernel_keeps_mass_near_and_loses_it_at_the_edge():
    h = build_history(row_grid(), incidents([(2, "2024-01-01 12:00")]), config=CONFIG)
    k = h.kernel(50.0)
    assert k.shape == (4, 4)
    assert k[1, 1] > k[0, 1] > k[3, 1]  # most stays, the neighbour gets more than the far one
    assert k[:, 1].sum() < 1.0  # the mass beyond the station's edge is lost
    assert np.allclose(k, k.T)  # equal cells: symmetric
    assert h.kernel(50.0) is k  # cached


def test_bad_history_arguments():
    gdf = incidents([(1, "2024-01-01 08:00")])
    with pytest.raises(InputError, match="before first_day"):
        build_history(row_grid(), gdf, config=CONFIG, first_day="2024-02-01", last_day="2024-01-01")
